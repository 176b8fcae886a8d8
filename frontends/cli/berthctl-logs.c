/* SPDX-License-Identifier: GPL-3.0-or-later */
/* berthctl logs: the log files Berth keeps, listed, printed and followed.
 * Reading files needs no berthd, so this works when berthd does not start,
 * which is when logs are wanted most. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "berth-error.h"
#include "berth-daemon-log.h"
#include "berthctl-logs.h"

#define LOG_SUFFIX ".log"
#define READ_CHUNK 65536

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const gchar *const *)a, *(const gchar *const *)b);
}

/* The components that have a log: "<name>.log" in @logs_dir, sorted. */
GPtrArray *
berthctl_logs_list (const gchar *logs_dir, GError **error)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) dir = NULL;
  g_autoptr (GError) local_error = NULL;
  const gchar *entry;

  dir = g_dir_open (logs_dir, 0, &local_error);
  if (dir == NULL)
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&names);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Cannot read the logs in %s: %s",
                   logs_dir, local_error->message);
      return NULL;
    }
  while ((entry = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (entry, LOG_SUFFIX) && strlen (entry) > strlen (LOG_SUFFIX)
        && entry[0] != '.')
      g_ptr_array_add (names, g_strndup (entry, strlen (entry) - strlen (LOG_SUFFIX)));
  g_ptr_array_sort (names, compare_strings);
  return g_steal_pointer (&names);
}

static gboolean
check_component (const gchar *logs_dir, const gchar *component, GError **error)
{
  g_autoptr (GPtrArray) names = NULL;
  g_autoptr (GString) known = g_string_new (NULL);

  if (component[0] != '\0' && strchr (component, '/') == NULL && component[0] != '.')
    {
      g_autofree gchar *file = g_strconcat (component, LOG_SUFFIX, NULL);
      g_autofree gchar *path = g_build_filename (logs_dir, file, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return TRUE;
    }
  names = berthctl_logs_list (logs_dir, error);
  if (names == NULL)
    return FALSE;
  for (guint i = 0; i < names->len; i++)
    g_string_append_printf (known, "%s%s", i > 0 ? ", " : "",
                            (const gchar *)g_ptr_array_index (names, i));
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND, "There is no log of \"%s\" in %s; %s%s",
               component, logs_dir, names->len > 0 ? "the logs are: " : "there is no log yet",
               known->str);
  return FALSE;
}

/* Copies what @fd holds from its offset on to stdout. */
static gboolean
copy_to_stdout (gint fd, const gchar *path, GError **error)
{
  g_autofree gchar *buffer = g_malloc (READ_CHUNK);

  for (;;)
    {
      ssize_t n = read (fd, buffer, READ_CHUNK);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Cannot read %s: %s", path,
                       g_strerror (errno));
          return FALSE;
        }
      if (n == 0)
        break;
      if (fwrite (buffer, 1, (gsize)n, stdout) != (gsize)n)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Cannot write the log out: %s",
                       g_strerror (errno));
          return FALSE;
        }
    }
  fflush (stdout);
  return TRUE;
}

/* berthd under systemd logs to the journal; its file says so last. */
static gboolean
sent_to_journal (const gchar *path)
{
  g_autofree gchar *text = NULL;
  gsize length = 0;
  gchar *last;

  if (!g_file_get_contents (path, &text, &length, NULL) || length == 0)
    return FALSE;
  while (length > 0 && text[length - 1] == '\n')
    text[--length] = '\0';
  last = strrchr (text, '\n');
  return g_str_has_suffix (last != NULL ? last : text, BERTH_DAEMON_LOG_JOURNAL_NOTE);
}

static gint
run_journalctl (gboolean follow, GError **error)
{
  const gchar *argv[] = { "journalctl", "--user",
                          "--unit",     "berthd.service",
                          "--no-pager", follow ? "--follow" : NULL,
                          NULL };
  g_autofree gchar *journalctl = g_find_program_in_path ("journalctl");

  if (journalctl == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                   "berthd logs to the systemd journal, and journalctl is not on PATH");
      return -1;
    }
  fflush (stdout);
  execv (journalctl, (gchar **)argv);
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Cannot run %s: %s", journalctl,
               g_strerror (errno));
  return -1;
}

typedef struct
{
  gchar *path;
  gint fd;
  ino_t inode;
  GMainLoop *loop;
  GError *error;
} Follow;

/* Reads what was appended; starts again from the top of a new file when the
 * log was rotated (renamed, and a new one made). */
static void
follow_catch_up (Follow *follow)
{
  GStatBuf st;

  if (!copy_to_stdout (follow->fd, follow->path, &follow->error))
    {
      g_main_loop_quit (follow->loop);
      return;
    }
  if (g_stat (follow->path, &st) == 0 && st.st_ino != follow->inode)
    {
      gint fd = g_open (follow->path, O_RDONLY | O_CLOEXEC, 0);

      if (fd < 0)
        return; /* between the rename and the new file: the next event */
      close (follow->fd);
      follow->fd = fd;
      follow->inode = st.st_ino;
      copy_to_stdout (follow->fd, follow->path, NULL);
    }
}

static void
on_logs_dir_changed (GFileMonitor *monitor, GFile *file, GFile *other, GFileMonitorEvent event,
                     Follow *follow)
{
  follow_catch_up (follow);
}

gboolean
berthctl_logs_show (const gchar *logs_dir, const gchar *component, gboolean follow_it,
                    GError **error)
{
  g_autofree gchar *file_name = NULL;
  g_autofree gchar *path = NULL;
  g_autoptr (GFile) dir = NULL;
  g_autoptr (GFileMonitor) monitor = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  Follow follow = { 0 };
  GStatBuf st;
  gint fd;
  gboolean ok;

  if (!check_component (logs_dir, component, error))
    return FALSE;
  file_name = g_strconcat (component, LOG_SUFFIX, NULL);
  path = g_build_filename (logs_dir, file_name, NULL);
  if (g_str_equal (component, "berthd") && sent_to_journal (path))
    return run_journalctl (follow_it, error) == 0;

  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0 || fstat (fd, &st) != 0)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Cannot open %s: %s", path,
                   g_strerror (errno));
      if (fd >= 0)
        close (fd);
      return FALSE;
    }
  ok = copy_to_stdout (fd, path, error);
  if (!ok || !follow_it)
    {
      close (fd);
      return ok;
    }

  /* Follow: the directory is watched, so that a rotation (a rename and a
   * new file) is seen as well as writes. */
  dir = g_file_new_for_path (logs_dir);
  monitor = g_file_monitor_directory (dir, G_FILE_MONITOR_NONE, NULL, error);
  if (monitor == NULL)
    {
      close (fd);
      return FALSE;
    }
  loop = g_main_loop_new (NULL, FALSE);
  follow.path = path;
  follow.fd = fd;
  follow.inode = st.st_ino;
  follow.loop = loop;
  g_signal_connect (monitor, "changed", G_CALLBACK (on_logs_dir_changed), &follow);
  /* What came between the first read and the watch. */
  follow_catch_up (&follow);
  if (follow.error == NULL)
    g_main_loop_run (loop);
  close (follow.fd);
  if (follow.error != NULL)
    {
      g_propagate_error (error, follow.error);
      return FALSE;
    }
  return TRUE;
}
