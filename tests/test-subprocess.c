/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "berth-error.h"
#include "berth-subprocess.h"

#include "berth-test-util.h"

/* Every test writes under this throwaway directory. */
static gchar *test_root;

static gchar *
make_logs_dir (void)
{
  static guint counter;
  g_autofree gchar *name = g_strdup_printf ("logs-%u", counter++);

  return g_build_filename (test_root, name, NULL);
}

static gchar *
read_log (const gchar *logs_dir, const gchar *component)
{
  g_autofree gchar *name = g_strconcat (component, ".log", NULL);
  g_autofree gchar *path = g_build_filename (logs_dir, name, NULL);
  g_autoptr (GError) error = NULL;
  gchar *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return contents;
}

static void
assert_bytes_eq (GBytes *bytes, const gchar *expected)
{
  gsize len = 0;
  const gchar *data = g_bytes_get_data (bytes, &len);
  g_autofree gchar *copy = g_strndup (data != NULL ? data : "", len);

  g_assert_cmpstr (copy, ==, expected);
  g_assert_cmpuint (len, ==, strlen (expected));
}

/* Every line of a log starts with a UTC time to the millisecond. */
static void
assert_log_lines_stamped (const gchar *log)
{
  g_auto (GStrv) lines = g_strsplit (log, "\n", -1);
  guint n = g_strv_length (lines);

  g_assert_cmpuint (n, >=, 2);
  g_assert_cmpstr (lines[n - 1], ==, "");
  for (guint i = 0; i + 1 < n; i++)
    {
      if (!g_regex_match_simple ("^\\[\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\] ",
                                 lines[i], 0, 0))
        g_error ("Log line %u is not stamped: “%s”", i, lines[i]);
    }
}

static void
test_run_sync_output_and_status (void)
{
  const gchar *argv[] = { "/bin/sh", "-c", "echo out; echo err >&2; exit 3", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthSubprocessResult) result = NULL;

  result = berth_subprocess_run_sync (argv, NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (result->exit_status, ==, 3);
  assert_bytes_eq (result->stdout_bytes, "out\n");
  assert_bytes_eq (result->stderr_bytes, "err\n");
}

static void
test_run_sync_false (void)
{
  const gchar *argv[] = { "false", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthSubprocessResult) result = NULL;

  result = berth_subprocess_run_sync (argv, NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (result->exit_status, ==, 1);
  assert_bytes_eq (result->stdout_bytes, "");
  assert_bytes_eq (result->stderr_bytes, "");
}

static void
test_run_sync_signal (void)
{
  const gchar *term_argv[] = { "/bin/sh", "-c", "kill -TERM $$", NULL };
  const gchar *kill_argv[] = { "/bin/sh", "-c", "echo before; kill -KILL $$", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthSubprocessResult) term = NULL;
  g_autoptr (BerthSubprocessResult) killed = NULL;
  g_autofree gchar *logs_dir = make_logs_dir ();
  g_autofree gchar *log = NULL;

  term = berth_subprocess_run_sync (term_argv, NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (term->exit_status, ==, 128 + SIGTERM);

  killed = berth_subprocess_run_sync (kill_argv, NULL, NULL, logs_dir, "signal", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (killed->exit_status, ==, 128 + SIGKILL);
  assert_bytes_eq (killed->stdout_bytes, "before\n");

  log = read_log (logs_dir, "signal");
  g_assert_nonnull (strstr (log, "] exit 137 (killed by signal 9)\n"));
}

static void
test_stdin_through_cat (void)
{
  const gchar *argv[] = { "cat", NULL };
  g_autoptr (GBytes) input = g_bytes_new_static ("hello\nworld", 11);
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthSubprocessResult) result = NULL;

  result = berth_subprocess_run_sync (argv, NULL, input, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (result->exit_status, ==, 0);
  assert_bytes_eq (result->stdout_bytes, "hello\nworld");
}

static void
test_stdin_large (void)
{
  /* Far more than a pipe buffer, both ways at once. */
  const gchar *argv[] = { "cat", NULL };
  gsize size = 4 * 1024 * 1024;
  guint8 *data = g_malloc (size);
  g_autoptr (GBytes) input = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthSubprocessResult) result = NULL;

  for (gsize i = 0; i < size; i++)
    data[i] = (guint8)(i * 7 + i / 4096);
  input = g_bytes_new_take (data, size);

  result = berth_subprocess_run_sync (argv, NULL, input, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (result->exit_status, ==, 0);
  g_assert_true (g_bytes_equal (result->stdout_bytes, input));
}

static void
test_stdin_not_read (void)
{
  /* The child exits without reading 1 MiB of input: its output and status
   * still come back, and this process is not killed by SIGPIPE. */
  const gchar *argv[] = { "/bin/sh", "-c", "echo early; echo gone >&2; exit 4", NULL };
  g_autoptr (GBytes) input = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthSubprocessResult) result = NULL;

  input = g_bytes_new_take (g_malloc0 (1024 * 1024), 1024 * 1024);
  result = berth_subprocess_run_sync (argv, NULL, input, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (result->exit_status, ==, 4);
  assert_bytes_eq (result->stdout_bytes, "early\n");
  assert_bytes_eq (result->stderr_bytes, "gone\n");
}

static void
test_no_stdin_is_empty (void)
{
  /* Without input the child reads end-of-file, never this process's stdin. */
  const gchar *argv[] = { "cat", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthSubprocessResult) result = NULL;

  result = berth_subprocess_run_sync (argv, NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (result->exit_status, ==, 0);
  assert_bytes_eq (result->stdout_bytes, "");
}

static void
test_environment (void)
{
  const gchar *argv[] = { "/bin/sh", "-c", "echo \"${BERTH_TEST_VALUE-unset}\"", NULL };
  const gchar *envp[] = { "BERTH_TEST_VALUE=given", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthSubprocessResult) inherited = NULL;
  g_autoptr (BerthSubprocessResult) given = NULL;

  inherited = berth_subprocess_run_sync (argv, NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_bytes_eq (inherited->stdout_bytes, "inherited\n");

  given = berth_subprocess_run_sync (argv, envp, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_bytes_eq (given->stdout_bytes, "given\n");
}

static void
test_missing_program (void)
{
  const gchar *argv[] = { "berth-no-such-program", "--version", NULL };
  const gchar *path_argv[] = { "/nonexistent/berth-tool", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthSubprocessResult) result = NULL;
  g_autofree gchar *logs_dir = make_logs_dir ();
  g_autofree gchar *log = NULL;

  result = berth_subprocess_run_sync (argv, NULL, NULL, logs_dir, "missing", NULL, &error);
  g_assert_null (result);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==,
                   "Cannot run `berth-no-such-program`: no such program in PATH; install it or "
                   "add its directory to PATH");
  g_clear_error (&error);

  result = berth_subprocess_run_sync (path_argv, NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "Cannot run `/nonexistent/berth-tool`: no such file");

  /* The attempt is in the log too. */
  log = read_log (logs_dir, "missing");
  assert_log_lines_stamped (log);
  g_assert_nonnull (strstr (log, "] $ berth-no-such-program --version\n"));
  g_assert_nonnull (strstr (log, "] Cannot run `berth-no-such-program`: no such program"));
}

static void
on_run_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  g_assert_null (source);
  *out = g_object_ref (result);
}

static BerthSubprocessResult *
run_async_and_wait (const gchar *const *argv, GBytes *input, const gchar *logs_dir,
                    const gchar *component, GCancellable *cancellable, GError **error)
{
  g_autoptr (GAsyncResult) async_result = NULL;

  berth_subprocess_run_async (argv, NULL, input, logs_dir, component, cancellable, on_run_done,
                              &async_result);
  while (async_result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return berth_subprocess_run_finish (async_result, error);
}

static void
test_run_async (void)
{
  const gchar *argv[] = { "/bin/sh", "-c", "tr a-z A-Z; echo warn >&2; exit 2", NULL };
  g_autoptr (GBytes) input = g_bytes_new_static ("quiet\n", 6);
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthSubprocessResult) result = NULL;
  g_autofree gchar *logs_dir = make_logs_dir ();
  g_autofree gchar *log = NULL;

  result = run_async_and_wait (argv, input, logs_dir, "async", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (result->exit_status, ==, 2);
  assert_bytes_eq (result->stdout_bytes, "QUIET\n");
  assert_bytes_eq (result->stderr_bytes, "warn\n");

  /* Written from a worker thread, but there before the result arrives. */
  log = read_log (logs_dir, "async");
  assert_log_lines_stamped (log);
  g_assert_nonnull (
      strstr (log, "] $ /bin/sh -c 'tr a-z A-Z; echo warn >&2; exit 2' (6 bytes on stdin)\n"));
  g_assert_nonnull (strstr (log, "] stdout: QUIET\n"));
  g_assert_nonnull (strstr (log, "] stderr: warn\n"));
  g_assert_true (g_str_has_suffix (log, "] exit 2\n"));
}

static gboolean
cancel_later (gpointer user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
  return G_SOURCE_REMOVE;
}

/* Reads the pid the child wrote, once it is there. */
static GPid
wait_for_pid_file (const gchar *path)
{
  for (guint i = 0; i < 500; i++)
    {
      g_autofree gchar *contents = NULL;

      if (g_file_get_contents (path, &contents, NULL, NULL) && g_str_has_suffix (contents, "\n"))
        return (GPid)g_ascii_strtoll (contents, NULL, 10);
      g_usleep (10 * 1000);
    }
  g_assert_not_reached ();
}

static void
test_cancel_async (void)
{
  g_autofree gchar *logs_dir = make_logs_dir ();
  g_autofree gchar *pid_file = g_build_filename (test_root, "sleep-async.pid", NULL);
  g_autofree gchar *script = g_strdup_printf ("echo $$ > '%s'; exec sleep 30", pid_file);
  const gchar *argv[] = { "/bin/sh", "-c", script, NULL };
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthSubprocessResult) result = NULL;
  g_autofree gchar *log = NULL;
  gint64 started;
  gint64 elapsed;
  GPid pid;

  started = g_get_monotonic_time ();
  g_timeout_add (300, cancel_later, cancellable);
  result = run_async_and_wait (argv, NULL, logs_dir, "cancel", cancellable, &error);
  elapsed = g_get_monotonic_time () - started;

  g_assert_null (result);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_CANCELLED);
  g_assert_nonnull (strstr (error->message, "`/bin/sh` was cancelled"));
  g_assert_cmpint (elapsed, <, 1300 * 1000);

  /* The child is gone, and reaped: no such process any more. */
  pid = wait_for_pid_file (pid_file);
  g_assert_cmpint (kill (pid, 0), ==, -1);
  g_assert_cmpint (errno, ==, ESRCH);

  log = read_log (logs_dir, "cancel");
  g_assert_nonnull (strstr (log, "was cancelled and has been killed\n"));
}

static gpointer
cancel_from_thread (gpointer user_data)
{
  g_usleep (300 * 1000);
  g_cancellable_cancel (G_CANCELLABLE (user_data));
  return NULL;
}

static void
test_cancel_sync (void)
{
  const gchar *argv[] = { "sleep", "30", NULL };
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthSubprocessResult) result = NULL;
  GThread *thread;
  gint64 started;

  started = g_get_monotonic_time ();
  thread = g_thread_new ("cancel", cancel_from_thread, cancellable);
  result = berth_subprocess_run_sync (argv, NULL, NULL, NULL, NULL, cancellable, &error);
  g_thread_join (thread);

  g_assert_null (result);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - started, <, 1300 * 1000);
}

static void
test_cancel_before_start (void)
{
  g_autofree gchar *marker = g_build_filename (test_root, "should-not-exist", NULL);
  const gchar *argv[] = { "touch", marker, NULL };
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthSubprocessResult) result = NULL;

  g_cancellable_cancel (cancellable);
  result = run_async_and_wait (argv, NULL, NULL, NULL, cancellable, &error);
  g_assert_null (result);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_CANCELLED);
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
}

static void
test_log_contents (void)
{
  const gchar *argv[] = { "/bin/sh", "-c", "printf 'one\\ntwo\\n'; printf 'no newline' >&2",
                          "arg with space", NULL };
  g_autofree gchar *logs_dir = make_logs_dir ();
  g_autofree gchar *log_path = g_build_filename (logs_dir, "engine.log", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthSubprocessResult) result = NULL;
  g_autofree gchar *log = NULL;
  g_auto (GStrv) lines = NULL;
  GStatBuf st;

  result = berth_subprocess_run_sync (argv, NULL, NULL, logs_dir, "engine", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (result->exit_status, ==, 0);

  log = read_log (logs_dir, "engine");
  assert_log_lines_stamped (log);
  lines = g_strsplit (log, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 6);
  g_assert_true (g_str_has_suffix (
      lines[0], "] $ /bin/sh -c 'printf '\\''one\\ntwo\\n'\\''; printf '\\''no newline'\\'' >&2' "
                "'arg with space'"));
  g_assert_true (g_str_has_suffix (lines[1], "] stdout: one"));
  g_assert_true (g_str_has_suffix (lines[2], "] stdout: two"));
  g_assert_true (g_str_has_suffix (lines[3], "] stderr: no newline"));
  g_assert_true (g_str_has_suffix (lines[4], "] exit 0"));

  /* Logs may hold secrets: only the user reads them. */
  g_assert_cmpint (g_stat (logs_dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_cmpint (g_stat (log_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* The next command appends. */
  g_clear_pointer (&result, berth_subprocess_result_free);
  result = berth_subprocess_run_sync ((const gchar *const[]){ "true", NULL }, NULL, NULL, logs_dir,
                                      "engine", NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&log, g_free);
  log = read_log (logs_dir, "engine");
  g_assert_nonnull (strstr (log, "] $ /bin/sh -c "));
  g_assert_nonnull (strstr (log, "] $ true\n"));
}

static void
test_log_output_truncated (void)
{
  /* 20 000 lines of "line NNNNNN": 240 000 bytes, of which the log keeps the
   * last 64 KiB. */
  const gchar *argv[] = {
    "/bin/sh",
    "-c",
    "i=0; while [ $i -lt 20000 ]; do printf 'line %06d\\n' $i; i=$((i+1)); done",
    NULL,
  };
  g_autofree gchar *logs_dir = make_logs_dir ();
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthSubprocessResult) result = NULL;
  g_autofree gchar *log = NULL;
  gsize stdout_size;

  result = berth_subprocess_run_sync (argv, NULL, NULL, logs_dir, "big", NULL, &error);
  g_assert_no_error (error);
  stdout_size = g_bytes_get_size (result->stdout_bytes);
  g_assert_cmpuint (stdout_size, ==, 20000 * 12);

  log = read_log (logs_dir, "big");
  assert_log_lines_stamped (log);
  /* The whole output came back to the caller; the log has only the end,
   * starting on a whole line, and says so. */
  g_assert_null (strstr (log, "] stdout: line 000000\n"));
  g_assert_nonnull (strstr (log, " earlier bytes not logged)\n"));
  g_assert_nonnull (strstr (log, "] stdout: line 019999\n"));
  g_assert_null (strstr (log, "] stdout: ine "));
  g_assert_cmpuint (strlen (log), <, 2 * 64 * 1024 + 64 * 1024 / 12 * 40);
  g_assert_cmpuint (strlen (log), >, 64 * 1024);
}

static void
test_log_line (void)
{
  g_autofree gchar *logs_dir = make_logs_dir ();
  g_autofree gchar *log = NULL;
  g_autofree gchar *default_log = NULL;
  g_autofree gchar *default_logs_dir = NULL;

  berth_log_line (logs_dir, "manager", "state %s → %s (%d)", "STOPPED", "STARTING", 42);
  berth_log_line (logs_dir, "manager", "already ends in a newline\n");
  log = read_log (logs_dir, "manager");
  assert_log_lines_stamped (log);
  g_assert_true (g_regex_match_simple ("^\\[[-0-9T:.]{23}Z\\] state STOPPED → STARTING \\(42\\)\\n"
                                       "\\[[-0-9T:.]{23}Z\\] already ends in a newline\\n$",
                                       log, 0, 0));

  /* NULL: the default logs directory, from XDG_STATE_HOME. */
  berth_log_line (NULL, "defaults", "hello");
  default_logs_dir = g_build_filename (g_getenv ("XDG_STATE_HOME"), "berth", "logs", NULL);
  default_log = read_log (default_logs_dir, "defaults");
  g_assert_true (g_str_has_suffix (default_log, "Z] hello\n"));
}

static void
test_log_line_never_fails_loudly (void)
{
  /* A file where the directory should be: nothing written, nothing raised. */
  g_autofree gchar *blocker = g_build_filename (test_root, "not-a-dir", NULL);
  g_autofree gchar *under = g_build_filename (blocker, "logs", NULL);
  const gchar *argv[] = { "/bin/sh", "-c", "echo fine", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthSubprocessResult) result = NULL;

  g_assert_true (g_file_set_contents (blocker, "x", 1, NULL));
  berth_log_line (under, "lost", "nowhere to go");
  g_assert_false (g_file_test (under, G_FILE_TEST_EXISTS));

  /* A command still runs when its log cannot be written. */
  result = berth_subprocess_run_sync (argv, NULL, NULL, under, "lost", NULL, &error);
  g_assert_no_error (error);
  assert_bytes_eq (result->stdout_bytes, "fine\n");
}

static void
test_log_open_errors (void)
{
  g_autofree gchar *logs_dir = make_logs_dir ();
  g_autofree gchar *blocker = g_build_filename (test_root, "blocker-file", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GOutputStream) stream = NULL;

  stream = berth_log_open (logs_dir, "../escape", &error);
  g_assert_null (stream);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "“../escape”"));
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (blocker, "x", 1, NULL));
  stream = berth_log_open (blocker, "lima", &error);
  g_assert_null (stream);
  g_assert_nonnull (error);
  g_assert_true (error->domain == BERTH_ERROR);
  g_assert_nonnull (strstr (error->message, "Cannot create the log directory"));
  g_assert_nonnull (strstr (error->message, blocker));
}

static void
write_filled (const gchar *path, gsize size, gchar fill)
{
  g_autofree gchar *data = g_malloc (size);
  g_autoptr (GError) error = NULL;

  memset (data, fill, size);
  g_file_set_contents (path, data, size, &error);
  g_assert_no_error (error);
}

static goffset
file_size (const gchar *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_size;
}

/* A log kept elsewhere (a Lima instance's ha.stderr.log) rotates the same
 * way, by path. */
static void
test_log_rotate_by_path (void)
{
  g_autofree gchar *dir = g_build_filename (test_root, "instance", NULL);
  g_autofree gchar *path = g_build_filename (dir, "ha.stderr.log", NULL);
  g_autofree gchar *rotated = g_build_filename (dir, "ha.stderr.log.1", NULL);
  g_autoptr (GError) error = NULL;
  gsize limit = 4 * 1024 * 1024;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (berth_log_rotate_if_large (path, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (rotated, G_FILE_TEST_EXISTS));

  write_filled (path, limit, 'a');
  g_assert_true (berth_log_rotate_if_large (path, &error));
  g_assert_false (g_file_test (rotated, G_FILE_TEST_EXISTS));
  write_filled (path, limit + 1, 'b');
  g_assert_true (berth_log_rotate_if_large (path, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_cmpint (file_size (rotated), ==, (goffset)limit + 1);
}

static void
test_log_rotation (void)
{
  g_autofree gchar *logs_dir = make_logs_dir ();
  g_autofree gchar *log_path = g_build_filename (logs_dir, "lima.log", NULL);
  g_autofree gchar *rotated_path = g_build_filename (logs_dir, "lima.log.1", NULL);
  g_autofree gchar *log = NULL;
  g_autofree gchar *rotated = NULL;
  gsize limit = 4 * 1024 * 1024;

  g_assert_cmpint (g_mkdir_with_parents (logs_dir, 0700), ==, 0);

  /* At the limit: appended to, not rotated. */
  write_filled (log_path, limit, 'a');
  berth_log_line (logs_dir, "lima", "at the limit");
  g_assert_false (g_file_test (rotated_path, G_FILE_TEST_EXISTS));
  g_assert_cmpint (file_size (log_path), >, (goffset)limit);

  /* Past it: moved to .1 before the line is written. */
  berth_log_line (logs_dir, "lima", "after rotation");
  g_assert_true (g_file_test (rotated_path, G_FILE_TEST_EXISTS));
  g_file_get_contents (rotated_path, &rotated, NULL, NULL);
  g_assert_true (g_str_has_suffix (rotated, "Z] at the limit\n"));
  log = read_log (logs_dir, "lima");
  g_assert_true (g_str_has_suffix (log, "Z] after rotation\n"));
  g_assert_null (strstr (log, "at the limit"));
  g_assert_cmpint (file_size (log_path), <, 100);

  /* Again: the old .1 is replaced. */
  g_clear_pointer (&log, g_free);
  g_clear_pointer (&rotated, g_free);
  write_filled (log_path, limit + 1, 'b');
  berth_log_line (logs_dir, "lima", "second rotation");
  g_assert_cmpint (file_size (rotated_path), ==, (goffset)limit + 1);
  g_file_get_contents (rotated_path, &rotated, NULL, NULL);
  g_assert_cmpint (rotated[0], ==, 'b');
  log = read_log (logs_dir, "lima");
  g_assert_true (g_str_has_suffix (log, "Z] second rotation\n"));
  g_assert_cmpint (file_size (log_path), <, 100);
}

static void
test_check_output (void)
{
  const gchar *ok_argv[] = { "/bin/sh", "-c", "printf 'v1.2.3\\n'", NULL };
  const gchar *fail_argv[] = {
    "/bin/sh",
    "-c",
    "echo first >&2; echo second >&2; echo >&2; echo third >&2; echo 'fourth  ' >&2; exit 2",
    NULL,
  };
  const gchar *silent_argv[] = { "false", NULL };
  const gchar *missing_argv[] = { "berth-no-such-program", NULL };
  g_autofree gchar *logs_dir = make_logs_dir ();
  g_autoptr (GError) error = NULL;
  g_autofree gchar *out = NULL;
  g_autofree gchar *failed = NULL;
  g_autofree gchar *log = NULL;

  out = berth_subprocess_check_output (ok_argv, logs_dir, "check", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (out, ==, "v1.2.3\n");

  failed = berth_subprocess_check_output (fail_argv, logs_dir, "check", NULL, &error);
  g_assert_null (failed);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, "`/bin/sh` exited with status 2: second\nthird\nfourth");
  g_clear_error (&error);

  g_assert_null (berth_subprocess_check_output (silent_argv, NULL, NULL, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, "`false` exited with status 1: (nothing on stderr)");
  g_clear_error (&error);

  g_assert_null (berth_subprocess_check_output (missing_argv, NULL, NULL, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "`berth-no-such-program`"));

  log = read_log (logs_dir, "check");
  g_assert_nonnull (strstr (log, "] stdout: v1.2.3\n"));
  g_assert_nonnull (strstr (log, "] stderr: fourth  \n"));
  g_assert_nonnull (strstr (log, "] exit 2\n"));
}

static void
test_check_output_long_stderr (void)
{
  /* One enormous line: the message keeps its end, bounded. */
  const gchar *argv[] = { "/bin/sh", "-c",
                          "{ i=0; while [ $i -lt 1000 ]; do printf 'éééééééééé'; i=$((i+1)); done; "
                          "echo END; printf 'tail-marker'; } >&2; exit 5",
                          NULL };
  g_autoptr (GError) error = NULL;
  g_autofree gchar *out = NULL;

  out = berth_subprocess_check_output (argv, NULL, NULL, NULL, &error);
  g_assert_null (out);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_FAILED);
  g_assert_true (g_str_has_prefix (error->message, "`/bin/sh` exited with status 5: "));
  g_assert_true (g_str_has_suffix (error->message, "END\ntail-marker"));
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  g_assert_cmpuint (strlen (error->message), <=, 2100);
  g_assert_nonnull (strstr (error->message, ": éé"));
}

/* For berth_test_iterate_until(): /proc says the child has exited. */
static gboolean
is_zombie (gpointer data)
{
  g_autofree gchar *path = g_strdup_printf ("/proc/%d/stat", GPOINTER_TO_INT (data));
  g_autofree gchar *stat = NULL;

  return g_file_get_contents (path, &stat, NULL, NULL) && strstr (stat, ") Z ") != NULL;
}

/* A process that exited is not running, even while nobody has collected
 * it (kill (pid, 0) still finds a zombie): berthd and the lima plugin ask
 * this of a pid they find in a file. */
static void
test_process_is_running (void)
{
  int status = 0;
  pid_t child;

  g_assert_true (berth_process_is_running ((gint)getpid ()));
  g_assert_false (berth_process_is_running (0));
  g_assert_false (berth_process_is_running (-1));

  child = fork ();
  g_assert_cmpint (child, >=, 0);
  if (child == 0)
    _exit (0);
  g_assert_true (berth_test_iterate_until (is_zombie, GINT_TO_POINTER (child), 30));
  g_assert_cmpint (kill (child, 0), ==, 0);
  g_assert_false (berth_process_is_running (child));
  g_assert_cmpint (waitpid (child, &status, 0), ==, child);
  g_assert_false (berth_process_is_running (child));
}

/* Any argument counts, not only the program's name; a process that is
 * gone has none. sleep sums its arguments: the third is a marker that
 * changes nothing, and no grandchild outlives the test holding its
 * output. */
static void
test_process_has_argument (void)
{
  const gchar *argv[] = { "sleep", "1000", "0.000271828", NULL };
  g_autoptr (GError) error = NULL;
  GPid pid = 0;
  int status = 0;

  g_spawn_async (NULL, (gchar **)argv, NULL,
                 G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL
                     | G_SPAWN_STDERR_TO_DEV_NULL,
                 NULL, NULL, &pid, &error);
  g_assert_no_error (error);
  g_assert_true (berth_process_has_argument (pid, "sleep"));
  g_assert_true (berth_process_has_argument (pid, "1000"));
  g_assert_true (berth_process_has_argument (pid, "271828"));
  g_assert_false (berth_process_has_argument (pid, "not an argument"));
  g_assert_false (berth_process_has_argument (pid, "1000 0.0"));
  kill (pid, SIGKILL);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_false (berth_process_has_argument (pid, "sleep"));
  g_assert_false (berth_process_has_argument (-1, "sleep"));
}

int
main (int argc, char **argv)
{
  g_autofree gchar *home = NULL;
  g_autofree gchar *data_home = NULL;
  g_autofree gchar *config_home = NULL;
  g_autofree gchar *cache_home = NULL;
  g_autofree gchar *state_home = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);

  test_root = berth_test_make_root ("berth-subprocess");
  home = g_build_filename (test_root, "home", NULL);
  data_home = g_build_filename (test_root, "data", NULL);
  config_home = g_build_filename (test_root, "config", NULL);
  cache_home = g_build_filename (test_root, "cache", NULL);
  state_home = g_build_filename (test_root, "state", NULL);
  g_setenv ("HOME", home, TRUE);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_setenv ("XDG_CONFIG_HOME", config_home, TRUE);
  g_setenv ("XDG_CACHE_HOME", cache_home, TRUE);
  g_setenv ("XDG_STATE_HOME", state_home, TRUE);
  g_unsetenv ("XDG_RUNTIME_DIR");
  /* Set before any thread runs; test_environment expects it inherited. */
  g_setenv ("BERTH_TEST_VALUE", "inherited", TRUE);

  g_test_add_func ("/spawn/sync/output-and-status", test_run_sync_output_and_status);
  g_test_add_func ("/spawn/sync/false", test_run_sync_false);
  g_test_add_func ("/spawn/sync/signal", test_run_sync_signal);
  g_test_add_func ("/spawn/stdin/cat", test_stdin_through_cat);
  g_test_add_func ("/spawn/stdin/large", test_stdin_large);
  g_test_add_func ("/spawn/stdin/not-read", test_stdin_not_read);
  g_test_add_func ("/spawn/stdin/none", test_no_stdin_is_empty);
  g_test_add_func ("/spawn/environment", test_environment);
  g_test_add_func ("/spawn/missing-program", test_missing_program);
  g_test_add_func ("/spawn/async", test_run_async);
  g_test_add_func ("/spawn/cancel/async", test_cancel_async);
  g_test_add_func ("/spawn/cancel/sync", test_cancel_sync);
  g_test_add_func ("/spawn/cancel/before-start", test_cancel_before_start);
  g_test_add_func ("/spawn/log/contents", test_log_contents);
  g_test_add_func ("/spawn/log/output-truncated", test_log_output_truncated);
  g_test_add_func ("/spawn/log/line", test_log_line);
  g_test_add_func ("/spawn/log/never-fails-loudly", test_log_line_never_fails_loudly);
  g_test_add_func ("/spawn/log/open-errors", test_log_open_errors);
  g_test_add_func ("/spawn/log/rotation", test_log_rotation);
  g_test_add_func ("/spawn/log/rotate-by-path", test_log_rotate_by_path);
  g_test_add_func ("/spawn/check-output/failure", test_check_output);
  g_test_add_func ("/spawn/check-output/long-stderr", test_check_output_long_stderr);
  g_test_add_func ("/spawn/process-is-running", test_process_is_running);
  g_test_add_func ("/spawn/process-has-argument", test_process_has_argument);

  status = g_test_run ();
  berth_test_rm_rf (test_root);
  g_free (test_root);
  return status;
}
