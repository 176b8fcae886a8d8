/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "berth-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

/* ---- leftovers ------------------------------------------------------------ */

#define WATCHDOG_VARIABLE "BERTH_TEST_WATCHDOG"
/* berthd stops its VM on SIGTERM; QEMU, ssh and the rest end at once. */
#define WATCHDOG_GRACE_SECONDS 20

static guint
count_threads (void)
{
  g_autoptr (GDir) tasks = g_dir_open ("/proc/self/task", 0, NULL);
  guint n = 0;

  while (tasks != NULL && g_dir_read_name (tasks) != NULL)
    n++;
  return n;
}

/* Whether @env, NUL-separated as /proc/<pid>/environ is and with a NUL
 * after @length, holds @entry. */
static gboolean
environ_holds (const gchar *env, gsize length, const gchar *entry)
{
  for (gsize at = 0; at < length; at += strlen (env + at) + 1)
    if (strcmp (env + at, entry) == 0)
      return TRUE;
  return FALSE;
}

guint
berth_test_count_processes_with_arg (const gchar *needle)
{
  g_autoptr (GDir) proc = g_dir_open ("/proc", 0, NULL);
  const gchar *name;
  guint count = 0;

  while (proc != NULL && (name = g_dir_read_name (proc)) != NULL)
    {
      gint pid = atoi (name);

      /* A zombie still lists its command line until it is collected. */
      if (berth_process_has_argument (pid, needle) && berth_process_is_running (pid))
        count++;
    }
  return count;
}

/* The processes but this one that still run with @entry in their
 * environment. */
static GArray *
find_leftovers (const gchar *entry)
{
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (pid_t));
  g_autoptr (GDir) proc = g_dir_open ("/proc", 0, NULL);
  const gchar *name;

  while (proc != NULL && (name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree gchar *path = NULL;
      g_autofree gchar *env = NULL;
      gsize length = 0;
      pid_t pid = (pid_t)atoi (name);

      if (pid <= 0 || pid == getpid ())
        continue;
      path = g_build_filename ("/proc", name, "environ", NULL);
      if (g_file_get_contents (path, &env, &length, NULL) && environ_holds (env, length, entry)
          && berth_process_is_running (pid))
        g_array_append_val (pids, pid);
    }
  return pids;
}

static gchar *
process_name (pid_t pid)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/%d/comm", (gint)pid);
  gchar *name = NULL;

  if (!g_file_get_contents (path, &name, NULL, NULL))
    return g_strdup ("a process");
  return g_strstrip (name);
}

static void G_GNUC_NORETURN
watchdog_run (gint ended_fd, const gchar *entry)
{
  /* pid → the last signal sent to it */
  g_autoptr (GHashTable) sent = g_hash_table_new (NULL, NULL);
  gint64 deadline;
  gchar byte;

  /* End of file: the test process is gone, and its end of the pipe with it. */
  while (read (ended_fd, &byte, 1) < 0 && errno == EINTR)
    ;
  deadline = g_get_monotonic_time () + WATCHDOG_GRACE_SECONDS * G_USEC_PER_SEC;
  for (;;)
    {
      g_autoptr (GArray) pids = find_leftovers (entry);
      gint signal = g_get_monotonic_time () < deadline ? SIGTERM : SIGKILL;

      if (pids->len == 0)
        break;
      for (guint i = 0; i < pids->len; i++)
        {
          pid_t pid = g_array_index (pids, pid_t, i);
          gpointer key = GINT_TO_POINTER (pid);

          if (GPOINTER_TO_INT (g_hash_table_lookup (sent, key)) == signal)
            continue;
          if (!g_hash_table_contains (sent, key))
            {
              g_autofree gchar *name = process_name (pid);

              g_printerr ("# watchdog: the test left %s (pid %d) running; stopping it\n", name,
                          (gint)pid);
            }
          else
            g_printerr ("# watchdog: pid %d outlived SIGTERM by %d s; killing it\n", (gint)pid,
                        WATCHDOG_GRACE_SECONDS);
          g_hash_table_insert (sent, key, GINT_TO_POINTER (signal));
          kill (pid, signal);
        }
      g_usleep (G_USEC_PER_SEC / 20);
    }
  _exit (0);
}

void
berth_test_watch_leftovers (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *token = NULL;
  gint fds[2];
  pid_t pid;

  /* fork() copies this thread only: another could hold a lock forever. */
  g_assert_cmpuint (count_threads (), ==, 1);
  token = g_strdup_printf ("%d-%08x", (gint)getpid (), g_random_int ());
  g_unix_open_pipe (fds, FD_CLOEXEC, &error);
  g_assert_no_error (error);
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      g_autofree gchar *entry = g_strconcat (WATCHDOG_VARIABLE "=", token, NULL);

      close (fds[1]);
      setsid ();
      /* This process's stdout is the TAP stream. */
      dup2 (STDERR_FILENO, STDOUT_FILENO);
      watchdog_run (fds[0], entry);
    }
  /* The write end stays open, unseen by the programs this one runs
   * (close-on-exec), until this process ends. */
  close (fds[0]);
  g_setenv (WATCHDOG_VARIABLE, token, TRUE);
}

/* ---- directories --------------------------------------------------------- */

gboolean
berth_test_rm_rf (const gchar *path)
{
  GStatBuf st;

  /* lstat, not stat: a link into a shared directory (an image cache, the
   * real home) goes, and what it points at stays. */
  if (g_lstat (path, &st) != 0)
    return TRUE;
  if (S_ISDIR (st.st_mode))
    {
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const gchar *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree gchar *child = g_build_filename (path, name, NULL);

          berth_test_rm_rf (child);
        }
      return g_rmdir (path) == 0;
    }
  return g_unlink (path) == 0;
}

gchar *
berth_test_make_root (const gchar *prefix)
{
  g_autofree gchar *template = g_strconcat (prefix, "-XXXXXX", NULL);
  g_autoptr (GError) error = NULL;
  gchar *root = g_dir_make_tmp (template, &error);

  g_assert_no_error (error);
  return root;
}

gchar **
berth_test_environ_under (gchar **envp, const gchar *root)
{
  g_autofree gchar *config = g_build_filename (root, "config", NULL);
  g_autofree gchar *share = g_build_filename (root, "share", NULL);
  g_autofree gchar *cache = g_build_filename (root, "cache", NULL);
  g_autofree gchar *state = g_build_filename (root, "state", NULL);

  envp = g_environ_setenv (envp, "XDG_CONFIG_HOME", config, TRUE);
  envp = g_environ_setenv (envp, "XDG_DATA_HOME", share, TRUE);
  envp = g_environ_setenv (envp, "XDG_CACHE_HOME", cache, TRUE);
  envp = g_environ_setenv (envp, "XDG_STATE_HOME", state, TRUE);
  return envp;
}

BerthPaths *
berth_test_paths_under (const gchar *root)
{
  g_auto (GStrv) envp = berth_test_environ_under (NULL, root);

  return berth_paths_new_for_platform (BERTH_PLATFORM_LINUX, (const gchar *const *)envp, root);
}

gchar *
berth_test_isolate_home (const gchar *prefix)
{
  const gchar *xdg_vars[]
      = { "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME",
          "XDG_RUNTIME_DIR" };
  gchar *home = berth_test_make_root (prefix);

  g_setenv ("HOME", home, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (xdg_vars); i++)
    {
      g_autofree gchar *dir = g_build_filename (home, xdg_vars[i], NULL);

      g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
      g_setenv (xdg_vars[i], dir, TRUE);
    }
  return home;
}

/* ---- settings and plugins ------------------------------------------------ */

void
berth_test_host_info (BerthHostInfo *host)
{
  memset (host, 0, sizeof (*host));
  host->platform = BERTH_PLATFORM_LINUX;
  host->total_memory_bytes = (guint64)8 << 30;
  host->n_cpus = 4;
}

BerthSettings *
berth_test_settings_new (const BerthPaths *paths, const BerthHostInfo *host)
{
  g_autofree gchar *path = berth_paths_get_settings_file (paths);
  g_autoptr (BerthSettings) settings = NULL;
  g_autoptr (GError) error = NULL;
  BerthHostInfo standard;

  if (host == NULL)
    {
      berth_test_host_info (&standard);
      host = &standard;
    }
  settings = berth_settings_new (path, host);
  berth_settings_load (settings, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&settings);
}

BerthPlugin *
berth_test_load_plugin (BerthSettings *settings, const BerthPaths *paths, const gchar *name,
                        BerthPluginLoader **loader)
{
  g_autoptr (GError) error = NULL;
  BerthPlugin *plugin;

  g_assert_nonnull (loader);
  *loader = berth_plugin_loader_new (settings, paths);
  berth_plugin_loader_load_all (*loader, NULL, &error);
  g_assert_no_error (error);
  plugin = berth_plugin_loader_find (*loader, name);
  if (plugin == NULL)
    {
      GPtrArray *failures = berth_plugin_loader_get_failures (*loader);

      for (guint i = 0; i < failures->len; i++)
        {
          BerthPluginFailure *failure = g_ptr_array_index (failures, i);

          g_test_message ("plugin %s: %s", failure->name, failure->reason);
        }
      g_test_message ("the %s plugin did not load (BERTH_PLUGIN_PATH=%s)", name,
                      g_getenv ("BERTH_PLUGIN_PATH"));
    }
  g_assert_nonnull (plugin);
  return plugin;
}

/* ---- files --------------------------------------------------------------- */

void
berth_test_write_file (const gchar *path, const gchar *text, gint mode)
{
  g_autoptr (GError) error = NULL;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, mode), ==, 0);
}

gchar *
berth_test_read_file (const gchar *path)
{
  g_autoptr (GError) error = NULL;
  gchar *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

gchar *
berth_test_read_fixture (const gchar *first, ...)
{
  g_autofree gchar *relative = NULL;
  g_autofree gchar *path = NULL;
  va_list args;

  va_start (args, first);
  relative = g_build_filename_valist (first, &args);
  va_end (args);
  path = g_build_filename (g_test_get_dir (G_TEST_DIST), relative, NULL);
  return berth_test_read_file (path);
}

GStrv
berth_test_take_commands (const gchar *fake_dir)
{
  g_autofree gchar *path = g_build_filename (fake_dir, "argv.log", NULL);
  g_autofree gchar *text = NULL;
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) lines = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_strv_builder_end (builder);
  g_remove (path);
  lines = g_strsplit (text, "\n", -1);
  for (gsize i = 0; lines[i] != NULL; i++)
    if (lines[i][0] != '\0')
      g_strv_builder_add (builder, lines[i]);
  return g_strv_builder_end (builder);
}

guint
berth_test_count_commands_ending (const gchar *fake_dir, const gchar *suffix)
{
  g_auto (GStrv) commands = berth_test_take_commands (fake_dir);
  guint n = 0;

  for (gsize i = 0; commands[i] != NULL; i++)
    if (g_str_has_suffix (commands[i], suffix))
      n++;
  return n;
}

/* ---- the main context ---------------------------------------------------- */

void
berth_test_store_result (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **slot = user_data;

  *slot = g_object_ref (result);
}

static gboolean
on_timeout_flag (gpointer user_data)
{
  gboolean *flag = user_data;

  *flag = TRUE;
  return G_SOURCE_REMOVE;
}

GAsyncResult *
berth_test_wait_result (GAsyncResult **slot, guint timeout_seconds)
{
  gboolean timed_out = FALSE;
  guint id = 0;

  if (timeout_seconds > 0)
    id = g_timeout_add_seconds (timeout_seconds, on_timeout_flag, &timed_out);
  while (*slot == NULL && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  if (id != 0)
    g_source_remove (id);
  return *slot;
}

static gboolean
on_tick (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

gboolean
berth_test_iterate_until (gboolean (*done) (gpointer), gpointer data, guint timeout_seconds)
{
  gboolean timed_out = FALSE;
  guint timeout_id = g_timeout_add_seconds (timeout_seconds, on_timeout_flag, &timed_out);
  guint tick_id = g_timeout_add (20, on_tick, NULL);
  gboolean ok;

  while (!(ok = done (data)) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timeout_id);
  g_source_remove (tick_id);
  return ok;
}

void
berth_test_pause_ms (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, on_timeout_flag, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

/* ---- programs ------------------------------------------------------------ */

gint
berth_test_spawn (const gchar *cwd, const gchar *const *argv, const gchar *const *envp,
                  GSpawnFlags flags, gchar **out, gchar **err)
{
  g_autoptr (GError) error = NULL;
  gint wait_status = 0;

  g_spawn_sync (cwd, (gchar **)argv, (gchar **)envp, flags, NULL, NULL, out, err, &wait_status,
                &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait_status));
  return WEXITSTATUS (wait_status);
}

void
berth_test_die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

gboolean
berth_test_read_credentials (const gchar *path, gint64 pid, guint *port, gchar **password)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *object;

  if (!json_parser_load_from_file (parser, path, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return FALSE;
  object = json_node_get_object (json_parser_get_root (parser));
  /* A file from an earlier run of this test's daemon does not count. */
  if (pid != 0 && json_object_get_int_member (object, "pid") != pid)
    return FALSE;
  *port = (guint)json_object_get_int_member (object, "port");
  g_free (*password);
  *password = g_strdup (json_object_get_string_member (object, "password"));
  return TRUE;
}

void
berth_test_show_stderr (const gchar *who, const gchar *path)
{
  g_autofree gchar *text = NULL;

  if (g_file_get_contents (path, &text, NULL, NULL))
    g_test_message ("%s's stderr:\n%s", who, text);
}
