/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gio/gio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "berth-subprocess.h"

#include "berth-daemon-log.h"

#define LOG_COMPONENT "berthd"
/* Reopening through berth_log_open lets it rotate a file that grew large
 * while berthd ran for days. */
#define LOG_REOPEN_BYTES (4 * 1024 * 1024)

/* Process-wide, as GLib's writer function is: the writer runs on whatever
 * thread logs, hence the lock. */
static GMutex log_lock;
static GOutputStream *log_stream;
static gchar *log_dir;
static gsize log_bytes_written;
static gboolean log_to_stderr;
static gboolean log_verbose;
static gboolean log_to_journal;
/* application.debug, changed at run time on the main context and read by
 * the writer on any thread. */
static gint log_debug_setting;

static const gchar *
level_to_string (GLogLevelFlags level)
{
  if (level & G_LOG_LEVEL_ERROR)
    return "ERROR";
  if (level & G_LOG_LEVEL_CRITICAL)
    return "CRITICAL";
  if (level & G_LOG_LEVEL_WARNING)
    return "WARNING";
  if (level & G_LOG_LEVEL_MESSAGE)
    return "MESSAGE";
  if (level & G_LOG_LEVEL_INFO)
    return "INFO";
  return "DEBUG";
}

static gchar *
format_line (GLogLevelFlags level, const GLogField *fields, gsize n_fields)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree gchar *stamp = g_date_time_format_iso8601 (now);
  const gchar *domain = NULL;
  const gchar *message = NULL;

  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0)
        domain = fields[i].value;
      else if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
        message = fields[i].value;
    }
  return g_strdup_printf ("%s %s %s[%d]: %s: %s\n", stamp, level_to_string (level), LOG_COMPONENT,
                          (gint)getpid (), domain != NULL ? domain : "default",
                          message != NULL ? message : "(no message)");
}

/* Called with log_lock held. */
static void
reopen_if_large (void)
{
  g_autoptr (GOutputStream) stream = NULL;

  if (log_stream == NULL || log_bytes_written < LOG_REOPEN_BYTES)
    return;
  g_output_stream_close (log_stream, NULL, NULL);
  g_clear_object (&log_stream);
  log_bytes_written = 0;
  /* A failure leaves stderr as the only output; logging about it from here
   * would recurse. */
  stream = berth_log_open (log_dir, LOG_COMPONENT, NULL);
  log_stream = g_steal_pointer (&stream);
}

static GLogWriterOutput
berth_daemon_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields,
                         gpointer user_data)
{
  g_autofree gchar *line = NULL;
  const gchar *domain = NULL;
  gsize len;

  for (gsize i = 0; i < n_fields; i++)
    if (g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0)
      domain = fields[i].value;

  if ((level & G_LOG_LEVEL_DEBUG) && !log_verbose && !g_atomic_int_get (&log_debug_setting)
      && g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, domain))
    return G_LOG_WRITER_HANDLED;

  /* Started by systemd: the journal keeps the fields and the priority,
   * and `journalctl --user -u berthd` reads them. */
  if (log_to_journal
      && g_log_writer_journald (level, fields, n_fields, user_data) == G_LOG_WRITER_HANDLED)
    return G_LOG_WRITER_HANDLED;

  line = format_line (level, fields, n_fields);
  len = strlen (line);

  g_mutex_lock (&log_lock);
  if (log_stream != NULL)
    {
      gsize written = 0;

      if (g_output_stream_write_all (log_stream, line, len, &written, NULL, NULL))
        g_output_stream_flush (log_stream, NULL, NULL);
      log_bytes_written += written;
      reopen_if_large ();
    }
  if (log_to_stderr || log_stream == NULL)
    {
      fputs (line, stderr);
      fflush (stderr);
    }
  g_mutex_unlock (&log_lock);

  return G_LOG_WRITER_HANDLED;
}

/* The line berthctl logs looks for to send the reader to the journal. */
static void
write_journal_note (GOutputStream *stream)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree gchar *stamp = g_date_time_format_iso8601 (now);
  g_autofree gchar *line
      = g_strdup_printf ("%s MESSAGE %s[%d]: Berth: " BERTH_DAEMON_LOG_JOURNAL_NOTE "\n", stamp,
                         LOG_COMPONENT, (gint)getpid ());

  g_output_stream_write_all (stream, line, strlen (line), NULL, NULL, NULL);
  g_output_stream_flush (stream, NULL, NULL);
}

gboolean
berth_daemon_log_init (const gchar *logs_dir, gboolean to_stderr, gboolean verbose, GError **error)
{
  g_autoptr (GOutputStream) stream = berth_log_open (logs_dir, LOG_COMPONENT, error);
  gboolean journal = g_log_writer_is_journald (fileno (stderr));

  if (stream == NULL)
    return FALSE;
  if (journal)
    write_journal_note (stream);

  g_mutex_lock (&log_lock);
  g_clear_object (&log_stream);
  log_stream = g_steal_pointer (&stream);
  g_free (log_dir);
  log_dir = g_strdup (logs_dir);
  log_bytes_written = 0;
  log_to_stderr = to_stderr && !journal;
  log_verbose = verbose;
  log_to_journal = journal;
  g_mutex_unlock (&log_lock);

  /* Only once per process, as GLib requires. */
  {
    static gsize writer_set = 0;

    if (g_once_init_enter (&writer_set))
      {
        g_log_set_writer_func (berth_daemon_log_writer, NULL, NULL);
        g_once_init_leave (&writer_set, 1);
      }
  }
  return TRUE;
}

void
berth_daemon_log_close (void)
{
  g_mutex_lock (&log_lock);
  if (log_stream != NULL)
    g_output_stream_close (log_stream, NULL, NULL);
  g_clear_object (&log_stream);
  g_clear_pointer (&log_dir, g_free);
  log_to_stderr = TRUE;
  g_mutex_unlock (&log_lock);
}

void
berth_daemon_log_set_debug (gboolean debug)
{
  g_atomic_int_set (&log_debug_setting, debug ? 1 : 0);
}
