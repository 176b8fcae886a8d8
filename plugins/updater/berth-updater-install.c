/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <glib/gstdio.h>

#include "berth-error.h"

#include "berth-updater-install.h"

#define MAX_ENTRIES 100000
#define MAX_UNPACKED_BYTES (G_GUINT64_CONSTANT (4) << 30)
#define COPY_BUFFER 65536

typedef struct archive Archive;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Archive, archive_read_free)

/* ---- helpers ------------------------------------------------------------- */

static gboolean
set_errno_error (GError **error, int saved_errno, const gchar *what, const gchar *path)
{
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "could not %s %s: %s", what, path,
               g_strerror (saved_errno));
  return FALSE;
}

/* Removes @path and, when it is a directory (not a link to one), all in it. */
static void
remove_tree (const gchar *path)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const gchar *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree gchar *child = g_build_filename (path, name, NULL);

          remove_tree (child);
        }
      if (g_rmdir (path) != 0)
        g_warning ("could not remove %s: %s", path, g_strerror (errno));
      return;
    }
  if (g_unlink (path) != 0)
    g_warning ("could not remove %s: %s", path, g_strerror (errno));
}

static gboolean
sync_directory (const gchar *path, GError **error)
{
  int fd = g_open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);

  if (fd < 0)
    return set_errno_error (error, errno, "open", path);
  if (fsync (fd) != 0)
    {
      int errsv = errno;

      g_close (fd, NULL);
      return set_errno_error (error, errsv, "flush", path);
    }
  g_close (fd, NULL);
  return TRUE;
}

/* A version as it may name a directory: what berth_updater_version_parse()
 * accepts has no slash and does not start with a dot. */
static gboolean
check_version_name (const gchar *version, GError **error)
{
  if (version[0] != '\0' && version[0] != '.' && strchr (version, '/') == NULL)
    return TRUE;
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
               "\"%s\" cannot name a release directory", version);
  return FALSE;
}

/* ---- finding the release ------------------------------------------------- */

gchar *
berth_updater_install_get_current (const gchar *root, GError **error)
{
  g_autofree gchar *link = g_build_filename (root, "current", NULL);
  g_autofree gchar *target = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree gchar *version_dir = NULL;
  const gchar *version;

  g_return_val_if_fail (root != NULL, NULL);

  target = g_file_read_link (link, &local_error);
  if (target == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                   "%s is not a link to the running release (%s)", link, local_error->message);
      return NULL;
    }
  if (!g_str_has_prefix (target, "versions/") || strchr (target + 9, '/') != NULL
      || target[9] == '\0' || target[9] == '.')
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                   "%s leads to %s; a release's current link leads to versions/<version>", link,
                   target);
      return NULL;
    }
  version = target + 9;
  version_dir = g_build_filename (root, "versions", version, NULL);
  if (!g_file_test (version_dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND, "%s leads to %s, which is missing",
                   link, version_dir);
      return NULL;
    }
  return g_strdup (version);
}

gchar *
berth_updater_install_find_root (const gchar *executable, GError **error)
{
  g_autofree gchar *real = NULL;
  g_autofree gchar *bin = NULL;
  g_autofree gchar *version_dir = NULL;
  g_autofree gchar *versions = NULL;
  g_autofree gchar *root = NULL;
  g_autofree gchar *bin_name = NULL;
  g_autofree gchar *versions_name = NULL;
  g_autofree gchar *version = NULL;
  g_autofree gchar *current = NULL;
  g_autoptr (GError) local_error = NULL;

  g_return_val_if_fail (executable != NULL, NULL);

  real = realpath (executable, NULL);
  if (real == NULL)
    {
      set_errno_error (error, errno, "resolve", executable);
      return NULL;
    }
  bin = g_path_get_dirname (real);
  version_dir = g_path_get_dirname (bin);
  versions = g_path_get_dirname (version_dir);
  root = g_path_get_dirname (versions);
  bin_name = g_path_get_basename (bin);
  versions_name = g_path_get_basename (versions);
  version = g_path_get_basename (version_dir);
  if (!g_str_equal (bin_name, "bin") || !g_str_equal (versions_name, "versions"))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                   "%s is not in a Berth release unpacked as <root>/versions/<version>/bin/", real);
      return NULL;
    }
  current = berth_updater_install_get_current (root, &local_error);
  if (current == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED, "%s is in %s, but %s", real,
                   version_dir, local_error->message);
      return NULL;
    }
  if (!g_str_equal (current, version))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                   "%s is release %s, but %s/current leads to %s: this program is not the "
                   "current release",
                   real, version, root, current);
      return NULL;
    }
  return g_steal_pointer (&root);
}

/* ---- unpacking ----------------------------------------------------------- */

typedef struct
{
  const gchar *archive;
  gchar *top;    /* the archive's one top-level directory */
  guint64 total; /* bytes unpacked so far */
  guint entries;
} Unpack;

static gboolean
refuse (GError **error, const Unpack *unpack, const gchar *path, const gchar *why)
{
  g_autofree gchar *valid = g_utf8_make_valid (path, -1);

  g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
               "the release archive %s cannot be installed: its entry \"%s\" %s", unpack->archive,
               valid, why);
  return FALSE;
}

/* The part of @path below the archive's top directory ("" for the top
 * itself), or NULL with an error for a path that is absolute, climbs with
 * "..", or lies in another top directory. */
static gchar *
relative_path (Unpack *unpack, const gchar *path, GError **error)
{
  g_auto (GStrv) parts = NULL;
  g_autoptr (GPtrArray) kept = g_ptr_array_new ();
  const gchar *top = NULL;

  if (path[0] == '/')
    {
      refuse (error, unpack, path, "is an absolute path");
      return NULL;
    }
  parts = g_strsplit (path, "/", -1);
  for (gsize i = 0; parts[i] != NULL; i++)
    {
      if (parts[i][0] == '\0' || g_str_equal (parts[i], "."))
        continue;
      if (g_str_equal (parts[i], ".."))
        {
          refuse (error, unpack, path, "climbs out with \"..\"");
          return NULL;
        }
      if (top == NULL)
        top = parts[i];
      else
        g_ptr_array_add (kept, parts[i]);
    }
  if (top == NULL)
    {
      refuse (error, unpack, path, "names no file");
      return NULL;
    }
  if (unpack->top == NULL)
    unpack->top = g_strdup (top);
  else if (!g_str_equal (unpack->top, top))
    {
      g_autofree gchar *why = g_strdup_printf (
          "is outside its top directory %s; a release archive holds one directory", unpack->top);

      refuse (error, unpack, path, why);
      return NULL;
    }
  g_ptr_array_add (kept, NULL);
  return g_strjoinv ("/", (gchar **)kept->pdata);
}

/* Whether the link at @relative (below the release) leading to @target
 * stays inside the release. */
static gboolean
link_stays_inside (const gchar *relative, const gchar *target)
{
  g_auto (GStrv) parts = NULL;
  gint depth = 0;

  if (target[0] == '\0' || target[0] == '/')
    return FALSE;
  for (const gchar *p = relative; *p != '\0'; p++)
    if (*p == '/')
      depth++;
  parts = g_strsplit (target, "/", -1);
  for (gsize i = 0; parts[i] != NULL; i++)
    {
      if (parts[i][0] == '\0' || g_str_equal (parts[i], "."))
        continue;
      if (g_str_equal (parts[i], ".."))
        {
          if (--depth < 0)
            return FALSE;
        }
      else
        depth++;
    }
  return TRUE;
}

static gboolean
make_parent (const gchar *path, GError **error)
{
  g_autofree gchar *parent = g_path_get_dirname (path);

  if (g_mkdir_with_parents (parent, 0755) != 0)
    return set_errno_error (error, errno, "create the directory", parent);
  return TRUE;
}

static gboolean
write_file (Unpack *unpack, struct archive *reader, struct archive_entry *entry,
            const gchar *relative, const gchar *dest, GError **error)
{
  g_autofree guint8 *buffer = g_malloc (COPY_BUFFER);
  mode_t mode = (archive_entry_perm (entry) & 0111) != 0 ? 0755 : 0644;
  int fd;

  if (!make_parent (dest, error))
    return FALSE;
  fd = g_open (dest, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0)
    {
      if (errno == EEXIST)
        return refuse (error, unpack, relative, "is in the archive twice");
      return set_errno_error (error, errno, "create", dest);
    }
  while (TRUE)
    {
      la_ssize_t n = archive_read_data (reader, buffer, COPY_BUFFER);

      if (n == 0)
        break;
      if (n < 0)
        {
          g_close (fd, NULL);
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "the release archive %s cannot be read at %s: %s", unpack->archive, relative,
                       archive_error_string (reader));
          return FALSE;
        }
      unpack->total += (guint64)n;
      if (unpack->total > MAX_UNPACKED_BYTES)
        {
          g_close (fd, NULL);
          return refuse (error, unpack, relative, "takes the release past 4 GiB unpacked");
        }
      for (gssize done = 0; done < n;)
        {
          gssize w = write (fd, buffer + done, (gsize)(n - done));

          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            {
              int errsv = errno;

              g_close (fd, NULL);
              return set_errno_error (error, errsv, "write", dest);
            }
          done += w;
        }
    }
  if (!g_close (fd, NULL))
    return set_errno_error (error, errno, "close", dest);
  return TRUE;
}

static gboolean
unpack_entry (Unpack *unpack, struct archive *reader, struct archive_entry *entry,
              const gchar *into, GError **error)
{
  const gchar *path = archive_entry_pathname (entry);
  g_autofree gchar *relative = NULL;
  g_autofree gchar *dest = NULL;
  mode_t type = archive_entry_filetype (entry);

  if (path == NULL)
    return refuse (error, unpack, "", "has no name");
  if (++unpack->entries > MAX_ENTRIES)
    return refuse (error, unpack, path, "is past the 100000 entries a release may hold");
  relative = relative_path (unpack, path, error);
  if (relative == NULL)
    return FALSE;
  if (archive_entry_hardlink (entry) != NULL)
    return refuse (error, unpack, path, "is a hard link; releases hold none");
  if (relative[0] == '\0')
    {
      if (type != AE_IFDIR)
        return refuse (error, unpack, path, "is the top of the archive but not a directory");
      return TRUE;
    }
  dest = g_build_filename (into, relative, NULL);

  switch (type)
    {
    case AE_IFDIR:
      if (g_mkdir_with_parents (dest, 0755) != 0)
        return set_errno_error (error, errno, "create the directory", dest);
      return TRUE;
    case AE_IFREG:
      return write_file (unpack, reader, entry, relative, dest, error);
    case AE_IFLNK:
      {
        const gchar *target = archive_entry_symlink (entry);

        if (target == NULL || !link_stays_inside (relative, target))
          return refuse (error, unpack, path, "is a link leading outside the release");
        if (!make_parent (dest, error))
          return FALSE;
        if (symlink (target, dest) != 0)
          {
            if (errno == EEXIST)
              return refuse (error, unpack, path, "is in the archive twice");
            return set_errno_error (error, errno, "create the link", dest);
          }
        return TRUE;
      }
    default:
      return refuse (error, unpack, path,
                     "is a device, FIFO or socket; releases hold files, directories and links");
    }
}

static gboolean
unpack_into (Unpack *unpack, const gchar *into, GCancellable *cancellable, GError **error)
{
  g_autoptr (Archive) reader = archive_read_new ();
  struct archive_entry *entry;
  int status;

  archive_read_support_filter_gzip (reader);
  archive_read_support_filter_xz (reader);
  archive_read_support_format_tar (reader);
  if (archive_read_open_filename (reader, unpack->archive, COPY_BUFFER) != ARCHIVE_OK)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "the release archive %s cannot be opened: %s", unpack->archive,
                   archive_error_string (reader));
      return FALSE;
    }
  while ((status = archive_read_next_header (reader, &entry)) == ARCHIVE_OK
         || status == ARCHIVE_WARN)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (!unpack_entry (unpack, reader, entry, into, error))
        return FALSE;
    }
  if (status != ARCHIVE_EOF)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "the release archive %s cannot be read: %s", unpack->archive,
                   archive_error_string (reader));
      return FALSE;
    }
  return TRUE;
}

/* Puts everything written on disk before the release is renamed into
 * place: sync(2) flushes a whole release, its directories included, at once,
 * and an update is rare enough for it. */
static void
flush_to_disk (void)
{
  sync ();
}

gboolean
berth_updater_install_unpack (const gchar *root, const gchar *version, const gchar *archive,
                              GCancellable *cancellable, GError **error)
{
  g_autofree gchar *versions = NULL;
  g_autofree gchar *target = NULL;
  g_autofree gchar *staging = NULL;
  g_autofree gchar *berthd = NULL;
  g_autofree gchar *current = NULL;
  Unpack unpack = { 0 };
  gboolean ok;

  g_return_val_if_fail (root != NULL, FALSE);
  g_return_val_if_fail (version != NULL, FALSE);
  g_return_val_if_fail (archive != NULL, FALSE);

  if (!check_version_name (version, error))
    return FALSE;
  current = berth_updater_install_get_current (root, NULL);
  if (g_strcmp0 (current, version) == 0)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_BUSY,
                   "release %s is the one %s/current leads to; it is installed already", version,
                   root);
      return FALSE;
    }
  versions = g_build_filename (root, "versions", NULL);
  if (g_mkdir_with_parents (versions, 0755) != 0)
    return set_errno_error (error, errno, "create the directory", versions);
  staging = g_build_filename (versions, ".unpack-XXXXXX", NULL);
  if (g_mkdtemp_full (staging, 0755) == NULL)
    return set_errno_error (error, errno, "create a directory in", versions);

  unpack.archive = archive;
  ok = unpack_into (&unpack, staging, cancellable, error);
  g_free (unpack.top);
  berthd = g_build_filename (staging, "bin", "berthd", NULL);
  if (ok && !g_file_test (berthd, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "the release archive %s holds no executable bin/berthd in its top directory; "
                   "it is not a Berth release",
                   archive);
      ok = FALSE;
    }
  if (ok)
    flush_to_disk ();

  target = g_build_filename (versions, version, NULL);
  if (ok && g_file_test (target, G_FILE_TEST_EXISTS))
    {
      /* Unpacked before and never switched to: it is not trusted to be
       * whole. */
      g_autofree gchar *aside = g_build_filename (versions, ".old-XXXXXX", NULL);

      if (g_mkdtemp_full (aside, 0755) == NULL)
        ok = set_errno_error (error, errno, "create a directory in", versions);
      else
        {
          g_autofree gchar *moved = g_build_filename (aside, version, NULL);

          if (g_rename (target, moved) != 0)
            ok = set_errno_error (error, errno, "move aside", target);
          remove_tree (aside);
        }
    }
  if (ok && g_rename (staging, target) != 0)
    ok = set_errno_error (error, errno, "rename the unpacked release to", target);
  if (!ok)
    {
      remove_tree (staging);
      return FALSE;
    }
  return sync_directory (versions, error);
}

/* ---- switching ----------------------------------------------------------- */

gboolean
berth_updater_install_switch (const gchar *root, const gchar *version, GError **error)
{
  g_autofree gchar *target = NULL;
  g_autofree gchar *version_dir = NULL;
  g_autofree gchar *current_link = NULL;
  g_autofree gchar *previous = NULL;
  g_autofree gchar *versions = NULL;
  g_autoptr (GDir) dir = NULL;
  const gchar *name;

  g_return_val_if_fail (root != NULL, FALSE);
  g_return_val_if_fail (version != NULL, FALSE);

  if (!check_version_name (version, error))
    return FALSE;
  version_dir = g_build_filename (root, "versions", version, NULL);
  if (!g_file_test (version_dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                   "cannot switch to release %s: %s is not unpacked", version, version_dir);
      return FALSE;
    }
  previous = berth_updater_install_get_current (root, NULL);
  target = g_strconcat ("versions/", version, NULL);
  current_link = g_build_filename (root, "current", NULL);

  /* A fresh name each time: a link a killed switch left is not in the way. */
  for (guint attempt = 0;; attempt++)
    {
      g_autofree gchar *name_tmp = g_strdup_printf (".current.tmp-%08x", g_random_int ());
      g_autofree gchar *link_tmp = g_build_filename (root, name_tmp, NULL);

      if (symlink (target, link_tmp) != 0)
        {
          if (errno == EEXIST && attempt < 10)
            continue;
          return set_errno_error (error, errno, "create the link", link_tmp);
        }
      if (g_rename (link_tmp, current_link) != 0)
        {
          int errsv = errno;

          g_unlink (link_tmp);
          return set_errno_error (error, errsv, "switch the link", current_link);
        }
      break;
    }
  if (!sync_directory (root, error))
    return FALSE;

  /* Keep the release that ran until now, to go back to by hand. */
  versions = g_build_filename (root, "versions", NULL);
  dir = g_dir_open (versions, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *path = NULL;

      if (g_str_equal (name, version) || g_strcmp0 (name, previous) == 0)
        continue;
      path = g_build_filename (versions, name, NULL);
      g_message ("Removing %s, neither the new release nor the one before it", path);
      remove_tree (path);
    }
  return TRUE;
}
