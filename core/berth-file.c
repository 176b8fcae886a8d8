/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "berth-error.h"
#include "berth-file-private.h"
#include "berth-private.h"

#define TEMPORARY_INFIX ".tmp-"
#define TEMPORARY_RANDOM "XXXXXX"
/* Linux's own bound on a chain of links (ELOOP). */
#define MAX_LINKS 40

static BerthFileWriteHook before_rename_hook;
static gpointer before_rename_hook_data;

void
berth_file_set_before_rename_hook (BerthFileWriteHook hook, gpointer user_data)
{
  before_rename_hook = hook;
  before_rename_hook_data = user_data;
}

gboolean
berth_set_errno_error (GError **error, int saved_errno, const gchar *what, const gchar *path)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "Could not %s %s: %s", what,
               path, g_strerror (saved_errno));
  berth_error_convert (error);
  return FALSE;
}

/* The file @path leads to after every symbolic link; @path itself when it
 * is no link, and the missing end of a dangling chain. */
static gchar *
follow_links (const gchar *path, GError **error)
{
  g_autofree gchar *current = g_strdup (path);

  for (guint i = 0; i < MAX_LINKS; i++)
    {
      g_autofree gchar *target = NULL;
      GStatBuf st;

      if (g_lstat (current, &st) != 0 || !S_ISLNK (st.st_mode))
        return g_steal_pointer (&current);
      target = g_file_read_link (current, error);
      if (target == NULL)
        {
          berth_error_convert (error);
          return NULL;
        }
      if (!g_path_is_absolute (target))
        {
          g_autofree gchar *dir = g_path_get_dirname (current);

          g_free (current);
          current = g_build_filename (dir, target, NULL);
        }
      else
        {
          g_free (current);
          current = g_steal_pointer (&target);
        }
    }
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
               "%s leads through more than %d symbolic links; make it a file or a shorter chain",
               path, MAX_LINKS);
  return NULL;
}

static gboolean
write_all_and_sync (int fd, const gchar *data, gsize length, guint mode, const gchar *tmp_path,
                    GError **error)
{
  gsize done = 0;

  if (fchmod (fd, mode) != 0)
    return berth_set_errno_error (error, errno, "set the mode of", tmp_path);
  while (done < length)
    {
      ssize_t n = write (fd, data + done, length - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return berth_set_errno_error (error, errno, "write", tmp_path);
      done += (gsize)n;
    }
  if (fsync (fd) != 0)
    return berth_set_errno_error (error, errno, "flush", tmp_path);
  return TRUE;
}

gboolean
berth_file_replace_contents (const gchar *path, const gchar *data, gsize length, guint mode,
                             GError **error)
{
  g_autofree gchar *target = NULL;
  g_autofree gchar *dir = NULL;
  g_autofree gchar *tmp_path = NULL;
  int fd, dir_fd;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (data != NULL || length == 0, FALSE);

  target = follow_links (path, error);
  if (target == NULL)
    return FALSE;
  dir = g_path_get_dirname (target);
  tmp_path = g_strconcat (target, TEMPORARY_INFIX TEMPORARY_RANDOM, NULL);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    return berth_set_errno_error (error, errno, "create the directory", dir);

  fd = g_mkstemp_full (tmp_path, O_RDWR | O_CLOEXEC, (gint)mode);
  if (fd < 0)
    return berth_set_errno_error (error, errno, "create a temporary file beside", target);
  if (!write_all_and_sync (fd, data, length, mode, tmp_path, error))
    {
      close (fd);
      g_unlink (tmp_path);
      return FALSE;
    }
  if (close (fd) != 0)
    {
      int saved_errno = errno;

      g_unlink (tmp_path);
      return berth_set_errno_error (error, saved_errno, "write", tmp_path);
    }

  if (before_rename_hook != NULL)
    before_rename_hook (tmp_path, before_rename_hook_data);

  if (g_rename (tmp_path, target) != 0)
    {
      int saved_errno = errno;

      g_unlink (tmp_path);
      return berth_set_errno_error (error, saved_errno, "replace", target);
    }

  /* The rename itself survives a crash once the directory is flushed. */
  dir_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0 || fsync (dir_fd) != 0)
    g_debug ("Could not flush the directory %s: %s", dir, g_strerror (errno));
  if (dir_fd >= 0)
    close (dir_fd);
  return TRUE;
}

/* Whether @name is @base followed by the temporary suffix g_mkstemp fills
 * in: ".tmp-" and six letters or digits. */
static gboolean
is_temporary_of (const gchar *name, const gchar *base)
{
  gsize base_length = strlen (base);
  const gchar *suffix;

  if (strncmp (name, base, base_length) != 0
      || !g_str_has_prefix (name + base_length, TEMPORARY_INFIX))
    return FALSE;
  suffix = name + base_length + strlen (TEMPORARY_INFIX);
  if (strlen (suffix) != strlen (TEMPORARY_RANDOM))
    return FALSE;
  for (const gchar *p = suffix; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p))
      return FALSE;
  return TRUE;
}

guint
berth_file_remove_stale_temporaries (const gchar *path)
{
  g_autofree gchar *target = NULL;
  g_autofree gchar *dir_path = NULL;
  g_autofree gchar *base = NULL;
  g_autoptr (GDir) dir = NULL;
  const gchar *name;
  guint removed = 0;

  g_return_val_if_fail (path != NULL, 0);

  target = follow_links (path, NULL);
  if (target == NULL)
    return 0;
  dir_path = g_path_get_dirname (target);
  base = g_path_get_basename (target);
  dir = g_dir_open (dir_path, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *stale = NULL;

      if (!is_temporary_of (name, base))
        continue;
      stale = g_build_filename (dir_path, name, NULL);
      if (g_unlink (stale) == 0)
        {
          g_message ("Removed %s, left by a write of %s that did not finish", stale, target);
          removed++;
        }
      else
        g_warning ("Could not remove %s, left by a write of %s that did not finish: %s", stale,
                   target, g_strerror (errno));
    }
  return removed;
}
