/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The outcome of a finished child process. */
typedef struct
{
  gint exit_status; /* exit code, or 128 + signal number when killed */
  GBytes *stdout_bytes;
  GBytes *stderr_bytes;
} BerthSubprocessResult;

void berth_subprocess_result_free (BerthSubprocessResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthSubprocessResult, berth_subprocess_result_free)

/* Opens (creating directories) <logs>/<component>.log for appending, rotating
 * it to .1 when it passes a few MiB. @logs_dir NULL means the default paths'. */
GOutputStream *berth_log_open (const gchar *logs_dir, const gchar *component, GError **error);
/* Renames @path to "@path.1" (replacing an older one) when it is larger than
 * the size logs rotate at (a few MiB). A missing file is not an error. For
 * logs kept outside the logs directory (a Lima instance's ha.stderr.log). */
gboolean berth_log_rotate_if_large (const gchar *path, GError **error);
/* Appends a timestamped line to the component's log. Never fails loudly. */
void berth_log_line (const gchar *logs_dir, const gchar *component, const gchar *format, ...)
  G_GNUC_PRINTF (3, 4);

/* Runs @argv (no shell) with optional @stdin_bytes, captures stdout and
 * stderr, and appends the command line, its output and its exit status to the
 * log of @component (NULL: no log). @envp NULL inherits the environment. */
void berth_subprocess_run_async (const gchar *const *argv, const gchar *const *envp,
                                 GBytes *stdin_bytes, const gchar *logs_dir,
                                 const gchar *component, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
BerthSubprocessResult *berth_subprocess_run_finish (GAsyncResult *result, GError **error);

/* The same, blocking: for worker threads and tools, never the main loop. */
BerthSubprocessResult *berth_subprocess_run_sync (const gchar *const *argv,
                                                  const gchar *const *envp,
                                                  GBytes *stdin_bytes, const gchar *logs_dir,
                                                  const gchar *component,
                                                  GCancellable *cancellable, GError **error);

/* Like run_sync, but an exit status other than 0 is an error whose message
 * names the program, the status and the last lines of stderr. Returns stdout
 * as a NUL-terminated string. */
gchar *berth_subprocess_check_output (const gchar *const *argv, const gchar *logs_dir,
                                      const gchar *component, GCancellable *cancellable,
                                      GError **error);

/* Whether process @pid runs: it exists and has not exited. A zombie (an
 * exited process whose parent has not collected it, as under a container's
 * init that collects nothing) does not run, though kill (pid, 0) still
 * finds it. */
gboolean berth_process_is_running (gint pid);

/* Whether an argument of process @pid (its command line in /proc) holds
 * @text: a pid read from a file may since belong to another program. */
gboolean berth_process_has_argument (gint pid, const gchar *text);

G_END_DECLS
