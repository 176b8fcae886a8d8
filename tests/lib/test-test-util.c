/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The shared test helpers do what the tests take for granted: a removal
 * that stays inside its tree, paths and settings under a throwaway root
 * whatever this process's environment says, and waits that end. */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "berth-test-util.h"

/* A link inside the tree to a directory outside it: the link goes, the
 * directory and its file stay. */
static void
test_rm_rf_keeps_link_targets (void)
{
  g_autofree gchar *root = berth_test_make_root ("berth-test-util");
  g_autofree gchar *outside = berth_test_make_root ("berth-test-util-outside");
  g_autofree gchar *kept = g_build_filename (outside, "kept", NULL);
  g_autofree gchar *deep = g_build_filename (root, "a", "b", "c", NULL);
  g_autofree gchar *file = g_build_filename (deep, "file", NULL);
  g_autofree gchar *link = g_build_filename (root, "a", "link", NULL);
  g_autofree gchar *missing = g_build_filename (root, "missing", NULL);
  g_autofree gchar *name = g_path_get_basename (root);

  g_assert_true (g_file_test (root, G_FILE_TEST_IS_DIR));
  g_assert_true (g_str_has_prefix (name, "berth-test-util-"));
  berth_test_write_file (kept, "keep me", 0600);
  g_assert_cmpint (g_mkdir_with_parents (deep, 0700), ==, 0);
  berth_test_write_file (file, "x", 0400);
  g_assert_cmpint (symlink (outside, link), ==, 0);

  g_assert_true (berth_test_rm_rf (root));
  g_assert_false (g_file_test (root, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (kept, G_FILE_TEST_IS_REGULAR));
  /* Nothing there is nothing to remove. */
  g_assert_true (berth_test_rm_rf (missing));

  g_assert_true (berth_test_rm_rf (outside));
  g_assert_false (g_file_test (outside, G_FILE_TEST_EXISTS));
}

/* The paths follow the root, not this process's XDG variables. */
static void
test_paths_under (void)
{
  g_autofree gchar *root = berth_test_make_root ("berth-test-util");
  g_autofree gchar *config = g_build_filename (root, "config", "berth", NULL);
  g_autofree gchar *data = g_build_filename (root, "share", "berth", NULL);
  g_autofree gchar *cache = g_build_filename (root, "cache", "berth", NULL);
  g_autoptr (BerthPaths) paths = NULL;

  g_setenv ("XDG_CONFIG_HOME", "/nonexistent/config", TRUE);
  g_setenv ("XDG_DATA_HOME", "/nonexistent/data", TRUE);
  paths = berth_test_paths_under (root);
  g_assert_cmpint (paths->platform, ==, BERTH_PLATFORM_LINUX);
  g_assert_cmpstr (paths->config, ==, config);
  g_assert_cmpstr (paths->data, ==, data);
  g_assert_cmpstr (paths->cache, ==, cache);
  berth_test_rm_rf (root);
}

/* Settings from a root where nothing was written yet: the defaults for the
 * pretend host, and the file where the paths say. */
static void
test_settings_new (void)
{
  g_autofree gchar *root = berth_test_make_root ("berth-test-util");
  g_autoptr (BerthPaths) paths = berth_test_paths_under (root);
  g_autoptr (BerthSettings) settings = berth_test_settings_new (paths, NULL);
  g_autofree gchar *expected = berth_paths_get_settings_file (paths);
  BerthHostInfo host;

  berth_test_host_info (&host);
  g_assert_cmpint (host.platform, ==, BERTH_PLATFORM_LINUX);
  g_assert_cmpuint (host.total_memory_bytes, ==, (guint64)8 << 30);
  g_assert_cmpuint (host.n_cpus, ==, 4);
  g_assert_cmpstr (berth_settings_get_path (settings), ==, expected);
  g_assert_cmpuint (berth_settings_get_host (settings)->n_cpus, ==, 4);
  berth_test_rm_rf (root);
}

static gboolean
after_three (gpointer user_data)
{
  guint *n = user_data;

  return ++*n >= 3;
}

static gboolean
never (gpointer user_data)
{
  return FALSE;
}

/* iterate_until asks again on its own (no other source runs here) and
 * gives up after its bound; pause_ms lets the time pass. */
static void
test_waits (void)
{
  guint n = 0;
  gint64 before;

  g_assert_true (berth_test_iterate_until (after_three, &n, 5));
  g_assert_cmpuint (n, ==, 3);

  before = g_get_monotonic_time ();
  g_assert_false (berth_test_iterate_until (never, NULL, 1));
  g_assert_cmpint (g_get_monotonic_time () - before, >=, G_USEC_PER_SEC / 2);

  before = g_get_monotonic_time ();
  berth_test_pause_ms (50);
  g_assert_cmpint (g_get_monotonic_time () - before, >=, 50 * 1000);
}

/* A program's status and output, as a test reads them. */
static void
test_spawn (void)
{
  const gchar *argv[] = { "sh", "-c", "printf out; printf err >&2; exit 3", NULL };
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;

  g_assert_cmpint (berth_test_spawn (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, &out, &err), ==, 3);
  g_assert_cmpstr (out, ==, "out");
  g_assert_cmpstr (err, ==, "err");
}

/* A fake CLI's log is read once: each command line, then nothing. */
static void
test_take_commands (void)
{
  g_autofree gchar *root = berth_test_make_root ("berth-test-util");
  g_autofree gchar *log = g_build_filename (root, "argv.log", NULL);
  g_auto (GStrv) commands = NULL;
  g_auto (GStrv) again = NULL;

  berth_test_write_file (log, "--host|x|images\n\n--host|x|pull|busybox\n", 0600);
  commands = berth_test_take_commands (root);
  g_assert_cmpuint (g_strv_length (commands), ==, 2);
  g_assert_cmpstr (commands[0], ==, "--host|x|images");
  g_assert_cmpstr (commands[1], ==, "--host|x|pull|busybox");
  g_assert_false (g_file_test (log, G_FILE_TEST_EXISTS));
  again = berth_test_take_commands (root);
  g_assert_cmpuint (g_strv_length (again), ==, 0);

  berth_test_write_file (log, "a|images\nb|images\nc|pull\n", 0600);
  g_assert_cmpuint (berth_test_count_commands_ending (root, "|images"), ==, 2);
  g_assert_cmpuint (berth_test_count_commands_ending (root, "|images"), ==, 0);
  berth_test_rm_rf (root);
}

/* The credentials count only once they are whole and, when asked, from
 * the right process. */
static void
test_read_credentials (void)
{
  g_autofree gchar *root = berth_test_make_root ("berth-test-util");
  g_autofree gchar *path = g_build_filename (root, "berth-engine.json", NULL);
  g_autofree gchar *password = g_strdup ("old");
  guint port = 0;

  g_assert_false (berth_test_read_credentials (path, 0, &port, &password));
  berth_test_write_file (path, "{\"port\": 4", 0600);
  g_assert_false (berth_test_read_credentials (path, 0, &port, &password));
  berth_test_write_file (path, "{\"pid\": 42, \"port\": 6107, \"password\": \"s3cret\"}", 0600);
  g_assert_false (berth_test_read_credentials (path, 43, &port, &password));
  g_assert_cmpuint (port, ==, 0);
  g_assert_cmpstr (password, ==, "old");
  g_assert_true (berth_test_read_credentials (path, 42, &port, &password));
  g_assert_cmpuint (port, ==, 6107);
  g_assert_cmpstr (password, ==, "s3cret");
  g_assert_true (berth_test_read_credentials (path, 0, &port, &password));
  berth_test_rm_rf (root);
}

/* setsid: out of the test's process group, as berthctl starts berthd. */
static void
own_session (gpointer user_data)
{
  setsid ();
}

static GPid
spawn_sleeper (void)
{
  const gchar *argv[] = { "sleep", "1000", NULL };
  g_autoptr (GError) error = NULL;
  GPid pid = 0;

  g_spawn_async (NULL, (gchar **)argv, NULL,
                 G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                 own_session, NULL, &pid, &error);
  g_assert_no_error (error);
  return pid;
}

/* A test that fails with a daemon of its own still running in another
 * session does not leave it behind; what others started stays. */
static void
test_watch_leftovers (void)
{
  const gchar *pid_file = g_getenv ("BERTH_TEST_LEFTOVER_PID_FILE");
  g_autofree gchar *root = NULL;
  g_autofree gchar *path = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *expected = NULL;
  GPid outsider, leftover;
  gboolean gone, outsider_gone;

  if (g_test_subprocess ())
    {
      g_autofree gchar *pid_text = g_strdup_printf ("%d", spawn_sleeper ());

      berth_test_write_file (pid_file, pid_text, 0600);
      g_assert_not_reached ();
    }

  outsider = spawn_sleeper ();
  root = berth_test_make_root ("berth-test-util");
  path = g_build_filename (root, "leftover.pid", NULL);
  g_setenv ("BERTH_TEST_LEFTOVER_PID_FILE", path, TRUE);
  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_unsetenv ("BERTH_TEST_LEFTOVER_PID_FILE");
  g_test_trap_assert_failed ();
  text = berth_test_read_file (path);
  leftover = (GPid)g_ascii_strtoll (text, NULL, 10);
  g_assert_cmpint (leftover, >, 1);
  /* The watchdog held the child's stderr until it was done. */
  expected = g_strdup_printf ("*# watchdog: the test left sleep (pid %d) running; stopping it*",
                              leftover);
  g_test_trap_assert_stderr (expected);
  gone = !berth_process_is_running (leftover);
  if (!gone)
    kill (leftover, SIGKILL);
  outsider_gone = !berth_process_is_running (outsider);
  kill (outsider, SIGKILL);
  g_spawn_close_pid (outsider);
  berth_test_rm_rf (root);
  g_assert_true (gone);
  g_assert_false (outsider_gone);
}

int
main (int argc, char **argv)
{
  berth_test_watch_leftovers ();
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/test-util/rm-rf/keeps-link-targets", test_rm_rf_keeps_link_targets);
  g_test_add_func ("/test-util/paths-under", test_paths_under);
  g_test_add_func ("/test-util/settings-new", test_settings_new);
  g_test_add_func ("/test-util/waits", test_waits);
  g_test_add_func ("/test-util/spawn", test_spawn);
  g_test_add_func ("/test-util/take-commands", test_take_commands);
  g_test_add_func ("/test-util/read-credentials", test_read_credentials);
  g_test_add_func ("/test-util/watch-leftovers", test_watch_leftovers);
  return g_test_run ();
}
