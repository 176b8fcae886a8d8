/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>
#include <glib-unix.h>
#include <gio/gunixoutputstream.h>

#include "berth-error.h"
#include "berth-paths.h"
#include "berth-subprocess.h"

/* A log past this size is moved to <component>.log.1 before the next write. */
#define BERTH_LOG_ROTATE_SIZE (4 * 1024 * 1024)
/* How much of each output stream of a command goes into the log: the end,
 * where the errors are. */
#define BERTH_LOG_OUTPUT_TAIL (64 * 1024)
/* How much of stderr an error message quotes. */
#define BERTH_ERROR_TAIL_LINES 3
#define BERTH_ERROR_TAIL_BYTES 2000

/* Threads of this process append to the same files; one at a time keeps a
 * command's block of lines together and makes rotation happen once. */
static GMutex log_lock;

void
berth_subprocess_result_free (BerthSubprocessResult *result)
{
  if (result == NULL)
    return;
  g_clear_pointer (&result->stdout_bytes, g_bytes_unref);
  g_clear_pointer (&result->stderr_bytes, g_bytes_unref);
  g_free (result);
}

/* Logs */

static gboolean
check_component (const gchar *component, GError **error)
{
  if (component[0] == '\0' || strchr (component, '/') != NULL || component[0] == '.')
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "Invalid log component name “%s”: it must be a plain file name such as "
                   "“lima”, without “/” and not starting with “.”",
                   component);
      return FALSE;
    }
  return TRUE;
}

static void
set_error_from_errno (GError **error, gint saved_errno, const gchar *what)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "%s: %s", what,
               g_strerror (saved_errno));
  berth_error_convert (error);
}

gboolean
berth_log_rotate_if_large (const gchar *path, GError **error)
{
  g_autofree gchar *rotated = NULL;
  GStatBuf st;

  g_return_val_if_fail (path != NULL, FALSE);
  if (g_stat (path, &st) != 0 || st.st_size <= BERTH_LOG_ROTATE_SIZE)
    return TRUE;
  rotated = g_strconcat (path, ".1", NULL);
  if (g_rename (path, rotated) != 0)
    {
      gint saved_errno = errno;
      g_autofree gchar *what = g_strdup_printf ("Cannot rotate the log “%s” to “%s”", path, rotated);

      set_error_from_errno (error, saved_errno, what);
      return FALSE;
    }
  return TRUE;
}

GOutputStream *
berth_log_open (const gchar *logs_dir, const gchar *component, GError **error)
{
  g_autoptr (BerthPaths) paths = NULL;
  g_autofree gchar *file_name = NULL;
  g_autofree gchar *path = NULL;
  g_autoptr (GFile) file = NULL;
  GFileOutputStream *stream;

  g_return_val_if_fail (component != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_component (component, error))
    return NULL;
  if (logs_dir == NULL)
    {
      paths = berth_paths_new ();
      logs_dir = paths->logs;
    }

  if (g_mkdir_with_parents (logs_dir, 0700) != 0)
    {
      gint saved_errno = errno;
      g_autofree gchar *what = g_strdup_printf ("Cannot create the log directory “%s”", logs_dir);

      set_error_from_errno (error, saved_errno, what);
      return NULL;
    }

  file_name = g_strconcat (component, ".log", NULL);
  path = g_build_filename (logs_dir, file_name, NULL);
  if (!berth_log_rotate_if_large (path, error))
    return NULL;

  /* Private: commands and their output may carry tokens and host names. */
  file = g_file_new_for_path (path);
  stream = g_file_append_to (file, G_FILE_CREATE_PRIVATE, NULL, error);
  if (stream == NULL)
    {
      berth_error_convert (error);
      return NULL;
    }
  return G_OUTPUT_STREAM (stream);
}

/* "2026-11-22T05:01:02.123Z" */
static gchar *
format_timestamp (GDateTime *time)
{
  g_autoptr (GDateTime) utc = g_date_time_to_utc (time);
  g_autofree gchar *seconds = g_date_time_format (utc, "%Y-%m-%dT%H:%M:%S");

  return g_strdup_printf ("%s.%03dZ", seconds, g_date_time_get_microsecond (utc) / 1000);
}

/* Appends @text as one write. Logging must never break what is logged, so a
 * failure is only a debug message. */
static void
append_to_log (const gchar *logs_dir, const gchar *component, const gchar *text, gsize len)
{
  g_autoptr (GOutputStream) stream = NULL;
  g_autoptr (GError) error = NULL;
  G_GNUC_UNUSED g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&log_lock);

  stream = berth_log_open (logs_dir, component, &error);
  if (stream == NULL || !g_output_stream_write_all (stream, text, len, NULL, NULL, &error)
      || !g_output_stream_close (stream, NULL, &error))
    g_debug ("Cannot write to the log of “%s”: %s", component, error->message);
}

void
berth_log_line (const gchar *logs_dir, const gchar *component, const gchar *format, ...)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree gchar *stamp = format_timestamp (now);
  g_autofree gchar *message = NULL;
  g_autoptr (GString) line = NULL;
  va_list args;

  g_return_if_fail (component != NULL);
  g_return_if_fail (format != NULL);

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  line = g_string_new (NULL);
  g_string_append_printf (line, "[%s] %s", stamp, message);
  if (line->str[line->len - 1] != '\n')
    g_string_append_c (line, '\n');
  append_to_log (logs_dir, component, line->str, line->len);
}

/* The command as a person would type it, quoting only where needed. For
 * reading in the log: the command itself never goes through a shell. */
static gchar *
format_command_line (const gchar *const *argv)
{
  g_autoptr (GString) line = g_string_new (NULL);

  for (gsize i = 0; argv[i] != NULL; i++)
    {
      const gchar *arg = argv[i];
      gboolean plain = arg[0] != '\0';

      for (const gchar *c = arg; *c != '\0' && plain; c++)
        plain = g_ascii_isalnum (*c) || strchr ("-_./:=@%+,", *c) != NULL;
      if (i > 0)
        g_string_append_c (line, ' ');
      if (plain)
        g_string_append (line, arg);
      else
        {
          g_autofree gchar *quoted = g_shell_quote (arg);
          g_string_append (line, quoted);
        }
    }
  return g_string_free (g_steal_pointer (&line), FALSE);
}

/* Each line of the last BERTH_LOG_OUTPUT_TAIL bytes of @bytes, prefixed with
 * the time and @label. */
static void
append_output_to_log_text (GString *text, const gchar *stamp, const gchar *label, GBytes *bytes)
{
  gsize len = 0;
  const gchar *data = bytes != NULL ? g_bytes_get_data (bytes, &len) : NULL;
  const gchar *end;

  if (len == 0)
    return;
  if (len > BERTH_LOG_OUTPUT_TAIL)
    {
      gsize skip = len - BERTH_LOG_OUTPUT_TAIL;
      const gchar *newline = memchr (data + skip, '\n', len - skip);

      /* Start at a line when there is one to start at. */
      if (newline != NULL && newline + 1 < data + len)
        skip = newline + 1 - data;
      g_string_append_printf (text, "[%s] %s: (%" G_GSIZE_FORMAT " earlier bytes not logged)\n",
                              stamp, label, skip);
      data += skip;
      len -= skip;
    }

  end = data + len;
  while (data < end)
    {
      const gchar *newline = memchr (data, '\n', end - data);
      gsize line_len = newline != NULL ? (gsize)(newline - data) : (gsize)(end - data);

      g_string_append_printf (text, "[%s] %s: ", stamp, label);
      g_string_append_len (text, data, line_len);
      g_string_append_c (text, '\n');
      data += line_len + (newline != NULL ? 1 : 0);
    }
}

/* Running */

typedef struct
{
  gchar **argv;
  gchar *logs_dir;
  gchar *component;
  gboolean log_in_caller; /* run_sync: already off the main loop */
  GDateTime *started;
  GBytes *stdin_bytes;

  GSubprocess *process;
  GOutputStream *stdin_stream; /* our end of the child's stdin */
  GCancellable *stdin_cancellable;
  guint pending; /* operations still running: output, reaping, stdin */

  GBytes *stdout_bytes;
  GBytes *stderr_bytes;
  GError *error;
  BerthSubprocessResult *result;
} RunData;

static void
run_data_free (RunData *data)
{
  g_strfreev (data->argv);
  g_free (data->logs_dir);
  g_free (data->component);
  g_clear_pointer (&data->started, g_date_time_unref);
  g_clear_pointer (&data->stdin_bytes, g_bytes_unref);
  g_clear_object (&data->process);
  g_clear_object (&data->stdin_stream);
  g_clear_object (&data->stdin_cancellable);
  g_clear_pointer (&data->stdout_bytes, g_bytes_unref);
  g_clear_pointer (&data->stderr_bytes, g_bytes_unref);
  g_clear_error (&data->error);
  g_clear_pointer (&data->result, berth_subprocess_result_free);
  g_free (data);
}

/* Writing to the stdin of a child that has exited raises SIGPIPE, which
 * kills the writer by default; GSubprocess in later GLib ignores it
 * process-wide for the same reason. A handler the program installed itself
 * is left alone. */
static void
ignore_sigpipe_once (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      struct sigaction action;

      if (sigaction (SIGPIPE, NULL, &action) == 0 && action.sa_handler == SIG_DFL)
        {
          action.sa_handler = SIG_IGN;
          sigaction (SIGPIPE, &action, NULL);
        }
      g_once_init_leave (&done, 1);
    }
}

static GSubprocess *
spawn (const gchar *const *argv, const gchar *const *envp, gboolean with_stdin,
       GOutputStream **stdin_stream, GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GOutputStream) stream = NULL;
  g_autoptr (GError) local_error = NULL;

  launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  if (envp != NULL)
    g_subprocess_launcher_set_environ (launcher, (gchar **)envp);

  /* The child's stdin is a pipe of ours rather than GSubprocess's, so that a
   * child which exits without reading all of it (EPIPE) costs only the
   * unread input, not the output g_subprocess_communicate() would drop with
   * its error. */
  if (with_stdin)
    {
      gint fds[2];

      ignore_sigpipe_once ();
      if (!g_unix_open_pipe (fds, FD_CLOEXEC, &local_error))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                       "Cannot run `%s`: cannot make a pipe for its input: %s", argv[0],
                       local_error->message);
          return NULL;
        }
      /* GIO's async writes need a non-blocking fd, as communicate() does. */
      g_unix_set_fd_nonblocking (fds[1], TRUE, NULL);
      g_subprocess_launcher_take_stdin_fd (launcher, fds[0]);
      stream = g_unix_output_stream_new (fds[1], TRUE);
    }

  process = g_subprocess_launcher_spawnv (launcher, argv, &local_error);
  /* Our copy of the read end must go now: with it open, a child that exits
   * early would never give us EPIPE. */
  g_subprocess_launcher_close (launcher);
  if (process == NULL)
    {
      if (g_error_matches (local_error, G_SPAWN_ERROR, G_SPAWN_ERROR_NOENT))
        {
          if (strchr (argv[0], '/') != NULL)
            g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND, "Cannot run `%s`: no such file",
                         argv[0]);
          else
            g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                         "Cannot run `%s`: no such program in PATH; install it or add its "
                         "directory to PATH",
                         argv[0]);
        }
      else
        g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Cannot run `%s`: %s", argv[0],
                     local_error->message);
      return NULL;
    }

  if (stdin_stream != NULL)
    *stdin_stream = g_steal_pointer (&stream);
  return g_steal_pointer (&process);
}

static GString *
format_run_log (RunData *data)
{
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree gchar *start_stamp = format_timestamp (data->started);
  g_autofree gchar *stamp = format_timestamp (now);
  g_autofree gchar *command = format_command_line ((const gchar *const *)data->argv);

  g_string_append_printf (text, "[%s] $ %s", start_stamp, command);
  if (data->stdin_bytes != NULL)
    g_string_append_printf (text, " (%" G_GSIZE_FORMAT " bytes on stdin)",
                            g_bytes_get_size (data->stdin_bytes));
  g_string_append_c (text, '\n');

  append_output_to_log_text (text, stamp, "stdout", data->stdout_bytes);
  append_output_to_log_text (text, stamp, "stderr", data->stderr_bytes);
  if (data->result != NULL)
    {
      g_string_append_printf (text, "[%s] exit %d", stamp, data->result->exit_status);
      if (g_subprocess_get_if_signaled (data->process))
        g_string_append_printf (text, " (killed by signal %d)",
                                g_subprocess_get_term_sig (data->process));
      g_string_append_c (text, '\n');
    }
  else if (data->error != NULL)
    g_string_append_printf (text, "[%s] %s\n", stamp, data->error->message);

  return g_steal_pointer (&text);
}

/* Writes the log (in a worker thread when called from the main loop) and
 * hands the outcome to the caller. */
static void
run_log_and_return (GTask *task, gpointer source_object, gpointer task_data,
                    GCancellable *cancellable)
{
  RunData *data = task_data;

  if (data->component != NULL)
    {
      /* Output may hold NUL bytes: the length is the GString's. */
      g_autoptr (GString) text = format_run_log (data);
      append_to_log (data->logs_dir, data->component, text->str, text->len);
    }

  if (data->error != NULL)
    g_task_return_error (task, g_steal_pointer (&data->error));
  else
    g_task_return_pointer (task, g_steal_pointer (&data->result),
                           (GDestroyNotify)berth_subprocess_result_free);
}

static void
run_complete (GTask *task)
{
  RunData *data = g_task_get_task_data (task);

  if (data->error == NULL)
    {
      BerthSubprocessResult *result = g_new0 (BerthSubprocessResult, 1);

      if (g_subprocess_get_if_exited (data->process))
        result->exit_status = g_subprocess_get_exit_status (data->process);
      else if (g_subprocess_get_if_signaled (data->process))
        result->exit_status = 128 + g_subprocess_get_term_sig (data->process);
      else
        result->exit_status = 255;
      result->stdout_bytes
          = data->stdout_bytes != NULL ? g_bytes_ref (data->stdout_bytes) : g_bytes_new (NULL, 0);
      result->stderr_bytes
          = data->stderr_bytes != NULL ? g_bytes_ref (data->stderr_bytes) : g_bytes_new (NULL, 0);
      data->result = result;
    }
  else if (g_error_matches (data->error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_clear_error (&data->error);
      g_set_error (&data->error, BERTH_ERROR, BERTH_ERROR_CANCELLED,
                   "`%s` was cancelled and has been killed", data->argv[0]);
    }
  else if (data->error->domain != BERTH_ERROR)
    {
      g_autoptr (GError) io_error = g_steal_pointer (&data->error);

      g_set_error (&data->error, BERTH_ERROR, BERTH_ERROR_FAILED,
                   "Reading the output of `%s` failed, so it has been killed: %s", data->argv[0],
                   io_error->message);
    }

  if (data->component == NULL || data->log_in_caller)
    run_log_and_return (task, NULL, data, NULL);
  else
    g_task_run_in_thread (task, run_log_and_return);
}

/* Called as each of the operations in flight ends, with the reference it
 * held on @task. */
static void
run_operation_done (GTask *task)
{
  RunData *data = g_task_get_task_data (task);

  g_assert (data->pending > 0);
  data->pending--;
  if (data->pending == 0)
    run_complete (task);
}

static void
on_stdin_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;

  /* A child may stop reading (EPIPE) or be done before reading everything
   * (cancelled here): what it did with its input shows in its output and its
   * status, so neither is an error of ours. */
  if (g_output_stream_splice_finish (G_OUTPUT_STREAM (source), result, &error) < 0)
    g_debug ("Input to the child was cut short: %s", error->message);
  run_operation_done (task);
}

static void
on_reaped (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;

  /* Without a cancellable this only returns once the child is gone. */
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  run_operation_done (task);
}

static void
on_communicated (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  RunData *data = g_task_get_task_data (task);

  if (!g_subprocess_communicate_finish (G_SUBPROCESS (source), result, &data->stdout_bytes,
                                        &data->stderr_bytes, &data->error))
    {
      /* Cancelled, or the output could not be read: either way the child
       * must not outlive the call. */
      g_subprocess_force_exit (data->process);
    }
  /* A grandchild may still hold the child's stdin open. */
  g_cancellable_cancel (data->stdin_cancellable);

  /* Reap the child before returning, so that a cancelled call returns with
   * its child gone. The reference passes on to on_reaped. */
  g_subprocess_wait_async (data->process, NULL, on_reaped, g_steal_pointer (&task));
}

static void
run_start (const gchar *const *argv, const gchar *const *envp, GBytes *stdin_bytes,
           const gchar *logs_dir, const gchar *component, gboolean log_in_caller,
           GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GError) error = NULL;
  RunData *data;

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, berth_subprocess_run_async);
  /* Otherwise GTask would answer a late cancellation with G_IO_ERROR, or
   * with an error for a run that finished anyway. */
  g_task_set_check_cancellable (task, FALSE);

  data = g_new0 (RunData, 1);
  data->argv = g_strdupv ((gchar **)argv);
  data->logs_dir = g_strdup (logs_dir);
  data->component = g_strdup (component);
  data->log_in_caller = log_in_caller;
  data->started = g_date_time_new_now_utc ();
  data->stdin_bytes = stdin_bytes != NULL ? g_bytes_ref (stdin_bytes) : NULL;
  data->stdin_cancellable = g_cancellable_new ();
  g_task_set_task_data (task, data, (GDestroyNotify)run_data_free);

  if (component != NULL && !check_component (component, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (g_cancellable_is_cancelled (cancellable))
    {
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_CANCELLED,
                               "`%s` was cancelled before it started", argv[0]);
      return;
    }

  data->process = spawn (argv, envp, stdin_bytes != NULL, &data->stdin_stream, &data->error);
  if (data->process == NULL)
    {
      run_complete (task);
      return;
    }

  if (data->stdin_stream != NULL)
    {
      g_autoptr (GInputStream) input = g_memory_input_stream_new_from_bytes (stdin_bytes);

      g_output_stream_splice_async (
          data->stdin_stream, input,
          G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE | G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
          G_PRIORITY_DEFAULT, data->stdin_cancellable, on_stdin_written, g_object_ref (task));
      data->pending++;
    }

  /* No stdin buffer here: the stdin pipe is ours, written above. */
  g_subprocess_communicate_async (data->process, NULL, cancellable, on_communicated,
                                  g_object_ref (task));
  data->pending++;
}

void
berth_subprocess_run_async (const gchar *const *argv, const gchar *const *envp, GBytes *stdin_bytes,
                            const gchar *logs_dir, const gchar *component,
                            GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data)
{
  g_return_if_fail (argv != NULL && argv[0] != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  run_start (argv, envp, stdin_bytes, logs_dir, component, FALSE, cancellable, callback, user_data);
}

BerthSubprocessResult *
berth_subprocess_run_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, berth_subprocess_run_async), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
store_async_result (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

BerthSubprocessResult *
berth_subprocess_run_sync (const gchar *const *argv, const gchar *const *envp, GBytes *stdin_bytes,
                           const gchar *logs_dir, const gchar *component, GCancellable *cancellable,
                           GError **error)
{
  g_autoptr (GMainContext) context = NULL;
  g_autoptr (GAsyncResult) result = NULL;

  g_return_val_if_fail (argv != NULL && argv[0] != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* The async path on a private main context, as g_subprocess_communicate()
   * itself does: one implementation of piping, cancelling and logging. */
  context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  run_start (argv, envp, stdin_bytes, logs_dir, component, TRUE, cancellable, store_async_result,
             &result);
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);

  return berth_subprocess_run_finish (result, error);
}

/* The last few non-blank lines of @bytes, as valid UTF-8, for a message. */
static gchar *
describe_stderr_tail (GBytes *bytes)
{
  gsize len = 0;
  const gchar *data = g_bytes_get_data (bytes, &len);
  g_autofree gchar *valid = g_utf8_make_valid (data != NULL ? data : "", len);
  g_auto (GStrv) lines = g_strsplit (valid, "\n", -1);
  g_autoptr (GPtrArray) kept = g_ptr_array_new ();
  g_autofree gchar *joined = NULL;
  const gchar *tail;
  gsize joined_len;

  for (gint i = (gint)g_strv_length (lines) - 1; i >= 0 && kept->len < BERTH_ERROR_TAIL_LINES; i--)
    {
      g_strchomp (lines[i]);
      if (lines[i][0] != '\0')
        g_ptr_array_insert (kept, 0, lines[i]);
    }
  if (kept->len == 0)
    return g_strdup ("(nothing on stderr)");

  g_ptr_array_add (kept, NULL);
  joined = g_strjoinv ("\n", (gchar **)kept->pdata);
  joined_len = strlen (joined);
  tail = joined;
  if (joined_len > BERTH_ERROR_TAIL_BYTES)
    {
      /* Keep the end, starting on a whole character. */
      tail = joined + joined_len - BERTH_ERROR_TAIL_BYTES;
      while ((*tail & 0xC0) == 0x80)
        tail++;
    }
  return g_strdup (tail);
}

gchar *
berth_subprocess_check_output (const gchar *const *argv, const gchar *logs_dir,
                               const gchar *component, GCancellable *cancellable, GError **error)
{
  g_autoptr (BerthSubprocessResult) result = NULL;
  const gchar *data;
  gsize len = 0;

  g_return_val_if_fail (argv != NULL && argv[0] != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  result = berth_subprocess_run_sync (argv, NULL, NULL, logs_dir, component, cancellable, error);
  if (result == NULL)
    return NULL;

  if (result->exit_status != 0)
    {
      g_autofree gchar *tail = describe_stderr_tail (result->stderr_bytes);

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "`%s` exited with status %d: %s",
                   argv[0], result->exit_status, tail);
      return NULL;
    }

  data = g_bytes_get_data (result->stdout_bytes, &len);
  return g_strndup (data != NULL ? data : "", len);
}

gboolean
berth_process_is_running (gint pid)
{
  g_autofree gchar *stat_path = NULL;
  g_autofree gchar *stat = NULL;
  const gchar *state;

  if (pid <= 0 || (kill ((pid_t)pid, 0) != 0 && errno != EPERM))
    return FALSE;
  /* Linux: the state follows the command name, which may hold ')'. */
  stat_path = g_strdup_printf ("/proc/%d/stat", pid);
  if (!g_file_get_contents (stat_path, &stat, NULL, NULL))
    return TRUE;
  state = strrchr (stat, ')');
  return state == NULL || state[1] == '\0' || (state[2] != 'Z' && state[2] != 'X');
}

gboolean
berth_process_has_argument (gint pid, const gchar *text)
{
  g_autofree gchar *path = NULL;
  g_autofree gchar *cmdline = NULL;
  gsize length = 0;

  g_return_val_if_fail (text != NULL, FALSE);

  path = g_strdup_printf ("/proc/%d/cmdline", pid);
  if (pid <= 0 || !g_file_get_contents (path, &cmdline, &length, NULL))
    return FALSE;
  /* The arguments are NUL-separated (g_strstr_len() would stop at the
   * first); g_file_get_contents() adds a NUL after the last. */
  for (gsize at = 0; at < length; at += strlen (cmdline + at) + 1)
    if (strstr (cmdline + at, text) != NULL)
      return TRUE;
  return FALSE;
}
