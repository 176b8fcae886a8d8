/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Berth — the guest image cache: build from the recipe, or download. */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "berth-download.h"
#include "berth-error.h"
#include "berth-lima-image.h"
#include "berth-subprocess.h"

#define LOG_COMPONENT "lima-image"
#define STEP_PREFIX "Building guest image: "
/* Lines of the recipe's output an error quotes. */
#define ERROR_TAIL_LINES 12
/* Largest file accepted from a downloaded image archive. */
#define MAX_ENTRY_SIZE ((gint64)256 << 30)
/* Where the recipe finds the inherited lock; out of the way of its shell. */
#define LOCK_FD_IN_CHILD 200

typedef struct archive BerthLimaArchive;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthLimaArchive, archive_read_free)

/* ---- BerthLimaImage ------------------------------------------------------ */

BerthLimaImage *
berth_lima_image_copy (const BerthLimaImage *image)
{
  BerthLimaImage *copy;

  if (image == NULL)
    return NULL;
  copy = g_new0 (BerthLimaImage, 1);
  copy->dir = g_strdup (image->dir);
  copy->kernel = g_strdup (image->kernel);
  copy->initrd = g_strdup (image->initrd);
  copy->disk = g_strdup (image->disk);
  copy->disk_format = g_strdup (image->disk_format);
  copy->disk_bootable = image->disk_bootable;
  copy->kernel_cmdline = g_strdup (image->kernel_cmdline);
  copy->source = g_strdup (image->source);
  return copy;
}

void
berth_lima_image_free (BerthLimaImage *image)
{
  if (image == NULL)
    return;
  g_free (image->dir);
  g_free (image->kernel);
  g_free (image->initrd);
  g_free (image->disk);
  g_free (image->disk_format);
  g_free (image->kernel_cmdline);
  g_free (image->source);
  g_free (image);
}

/* ---- the recipe ---------------------------------------------------------- */

gchar *
berth_lima_image_find_recipe_dir (GError **error)
{
  const gchar *env = g_getenv ("BERTH_DATA_DIR");
  g_autofree gchar *from_env = NULL;
  g_autofree gchar *from_source = g_build_filename (BERTH_SOURCE_DATADIR, "guest", NULL);
  g_autofree gchar *installed = g_build_filename (BERTH_PKGDATADIR, "guest", NULL);
  g_autofree gchar *script = NULL;

  if (env != NULL && env[0] != '\0')
    {
      from_env = g_build_filename (env, "guest", NULL);
      script = g_build_filename (from_env, "build-image.sh", NULL);
      if (g_file_test (script, G_FILE_TEST_IS_REGULAR))
        return g_steal_pointer (&from_env);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                   "The guest image recipe is missing: BERTH_DATA_DIR is %s, but %s does not "
                   "exist; point BERTH_DATA_DIR at Berth's data directory or unset it",
                   env, script);
      return NULL;
    }
  g_free (script);
  script = g_build_filename (from_source, "build-image.sh", NULL);
  if (g_file_test (script, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&from_source);
  g_free (script);
  script = g_build_filename (installed, "build-image.sh", NULL);
  if (g_file_test (script, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&installed);
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
               "The guest image recipe is missing: neither %s/build-image.sh nor "
               "%s/build-image.sh exists; reinstall Berth, set BERTH_DATA_DIR to its data "
               "directory, or set virtualMachine.image.url to a prebuilt image",
               from_source, installed);
  return NULL;
}

gchar *
berth_lima_image_recipe_hash (const gchar *recipe_dir, GCancellable *cancellable, GError **error)
{
  g_autofree gchar *script = g_build_filename (recipe_dir, "recipe-hash.sh", NULL);
  const gchar *argv[] = { script, NULL };
  g_autofree gchar *out = NULL;

  out = berth_subprocess_check_output (argv, NULL, NULL, cancellable, error);
  if (out == NULL)
    {
      berth_error_convert (error);
      return NULL;
    }
  g_strstrip (out);
  if (strlen (out) != 64 || strspn (out, "0123456789abcdef") != 64)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s printed \"%s\", not a SHA-256 in hexadecimal", script, out);
      return NULL;
    }
  return g_steal_pointer (&out);
}

/* manifest.json's kernel_cmdline when it is a sane string. */
static gchar *
manifest_cmdline (JsonObject *manifest)
{
  JsonNode *node = json_object_get_member (manifest, "kernel_cmdline");
  const gchar *value;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return g_strdup (BERTH_LIMA_IMAGE_DEFAULT_CMDLINE);
  value = json_node_get_string (node);
  if (value[0] == '\0' || strlen (value) > 1024 || strchr (value, '\n') != NULL)
    return g_strdup (BERTH_LIMA_IMAGE_DEFAULT_CMDLINE);
  return g_strdup (value);
}

static JsonObject *
load_manifest (const gchar *path)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonNode *root;
  GStatBuf st;

  if (g_stat (path, &st) != 0 || st.st_size > 1024 * 1024)
    return NULL;
  if (!json_parser_load_from_file (parser, path, NULL))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  return json_object_ref (json_node_get_object (root));
}

/* The uncompressed kernel (ELF with a PVH entry) boots sooner under TCG
 * than vmlinuz; the recipe writes it when the host has xz. */
static gchar *
prefer_vmlinux (const gchar *dir, gchar *vmlinuz)
{
  g_autofree gchar *vmlinux = g_build_filename (dir, "vmlinux", NULL);

  if (g_file_test (vmlinux, G_FILE_TEST_IS_REGULAR))
    {
      g_free (vmlinuz);
      return g_steal_pointer (&vmlinux);
    }
  return vmlinuz;
}

gboolean
berth_lima_image_load_built (const gchar *dir, const gchar *recipe_hash, BerthLimaImage **image_out)
{
  g_autofree gchar *manifest_path = g_build_filename (dir, "manifest.json", NULL);
  g_autofree gchar *kernel = g_build_filename (dir, "vmlinuz", NULL);
  g_autofree gchar *initrd = g_build_filename (dir, "initrd.img", NULL);
  g_autofree gchar *disk = g_build_filename (dir, "rootfs.qcow2", NULL);
  g_autoptr (JsonObject) manifest = NULL;
  BerthLimaImage *image;

  if (!g_file_test (kernel, G_FILE_TEST_IS_REGULAR) || !g_file_test (initrd, G_FILE_TEST_IS_REGULAR)
      || !g_file_test (disk, G_FILE_TEST_IS_REGULAR))
    return FALSE;
  manifest = load_manifest (manifest_path);
  if (manifest == NULL)
    return FALSE;
  if (recipe_hash != NULL
      && g_strcmp0 (json_object_get_string_member_with_default (manifest, "recipe_sha256", ""),
                    recipe_hash)
             != 0)
    return FALSE;
  if (g_strcmp0 (json_object_get_string_member_with_default (manifest, "variant", "berth"), "berth")
      != 0)
    return FALSE;
  if (image_out == NULL)
    return TRUE;

  image = g_new0 (BerthLimaImage, 1);
  image->dir = g_strdup (dir);
  image->kernel = prefer_vmlinux (dir, g_steal_pointer (&kernel));
  image->initrd = g_steal_pointer (&initrd);
  image->disk = g_steal_pointer (&disk);
  image->disk_format = g_strdup ("qcow2");
  image->disk_bootable = FALSE;
  image->kernel_cmdline = manifest_cmdline (manifest);
  image->source = g_strdup_printf (
      "recipe %s", json_object_get_string_member_with_default (manifest, "recipe_sha256", "?"));
  *image_out = image;
  return TRUE;
}

/* ---- downloads ----------------------------------------------------------- */

static const gchar *const image_members[]
    = { "vmlinuz", "vmlinux", "initrd.img", "rootfs.qcow2", "manifest.json", NULL };

/* "vmlinuz" for "vmlinuz" or "./vmlinuz"; NULL for anything else. */
static const gchar *
member_name (const gchar *pathname)
{
  if (pathname == NULL)
    return NULL;
  while (g_str_has_prefix (pathname, "./"))
    pathname += 2;
  for (guint i = 0; image_members[i] != NULL; i++)
    if (g_str_equal (pathname, image_members[i]))
      return image_members[i];
  return NULL;
}

static gboolean
copy_entry_data (struct archive *a, const gchar *path, const gchar *name, GCancellable *cancellable,
                 GError **error)
{
  int fd = g_open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  gint64 total = 0;

  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Cannot create %s: %s", path,
                   g_strerror (saved));
      return FALSE;
    }
  for (;;)
    {
      const void *block;
      size_t size;
      la_int64_t offset;
      int r = archive_read_data_block (a, &block, &size, &offset);

      if (r == ARCHIVE_EOF)
        break;
      if (r != ARCHIVE_OK)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "The downloaded image archive is damaged at %s: %s", name,
                       archive_error_string (a));
          close (fd);
          return FALSE;
        }
      if (offset < 0 || offset > MAX_ENTRY_SIZE || (gint64)size > MAX_ENTRY_SIZE - offset)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "%s in the downloaded image archive is larger than %" G_GINT64_FORMAT
                       " bytes",
                       name, MAX_ENTRY_SIZE);
          close (fd);
          return FALSE;
        }
      if (pwrite (fd, block, size, offset) != (ssize_t)size)
        {
          int saved = errno;

          g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Cannot write %s: %s", path,
                       g_strerror (saved));
          close (fd);
          return FALSE;
        }
      total = MAX (total, offset + (gint64)size);
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          berth_error_convert (error);
          close (fd);
          return FALSE;
        }
    }
  /* Sparse files end in a hole: give the file its full length. */
  if (ftruncate (fd, total) != 0 || fsync (fd) != 0)
    {
      int saved = errno;

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Cannot write %s: %s", path,
                   g_strerror (saved));
      close (fd);
      return FALSE;
    }
  close (fd);
  return TRUE;
}

/* Unpacks the image members of the tar archive @data_path into @dir.
 * *@is_archive_out is FALSE when the file is not an archive at all. */
static gboolean
unpack_image_archive (const gchar *data_path, const gchar *dir, GCancellable *cancellable,
                      gboolean *is_archive_out, GError **error)
{
  g_autoptr (BerthLimaArchive) a = archive_read_new ();
  struct archive_entry *entry;
  guint n_entries = 0;
  int r;

  *is_archive_out = FALSE;
  archive_read_support_filter_all (a);
  archive_read_support_format_tar (a);
  archive_read_support_format_gnutar (a);
  if (archive_read_open_filename (a, data_path, 1 << 16) != ARCHIVE_OK)
    return TRUE;
  while ((r = archive_read_next_header (a, &entry)) == ARCHIVE_OK || r == ARCHIVE_WARN)
    {
      const gchar *name = member_name (archive_entry_pathname (entry));
      g_autofree gchar *path = NULL;

      if (n_entries++ == 0)
        *is_archive_out = TRUE;
      if (n_entries > 10000)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "The downloaded image archive %s has more than 10000 entries; it is not "
                       "a Berth guest image",
                       data_path);
          return FALSE;
        }
      /* Only Berth's own files, as regular files, at the top: nothing else
       * is ever written, so no path can leave @dir. */
      if (name == NULL || archive_entry_filetype (entry) != AE_IFREG)
        continue;
      path = g_build_filename (dir, name, NULL);
      if (!copy_entry_data (a, path, name, cancellable, error))
        return FALSE;
    }
  if (r != ARCHIVE_EOF && *is_archive_out)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "The downloaded image archive %s is damaged: %s", data_path,
                   archive_error_string (a));
      return FALSE;
    }
  return TRUE;
}

static gchar *
detect_disk_format (const gchar *path)
{
  guint8 magic[4] = { 0 };
  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  ssize_t n = -1;

  if (fd >= 0)
    {
      n = read (fd, magic, sizeof magic);
      close (fd);
    }
  if (n == 4 && memcmp (magic, "QFI\xfb", 4) == 0)
    return g_strdup ("qcow2");
  return g_strdup ("raw");
}

static gboolean
remove_tree (const gchar *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const gchar *name;

  if (dir == NULL)
    return g_unlink (path) == 0 || errno == ENOENT;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  return g_rmdir (path) == 0;
}

BerthLimaImage *
berth_lima_image_from_download (const gchar *data_path, const gchar *unpack_dir, const gchar *url,
                                GCancellable *cancellable, GError **error)
{
  g_autoptr (BerthLimaImage) image = NULL;
  g_autofree gchar *tmp = NULL;
  gboolean is_archive = FALSE;

  /* Unpacked before: the digest of data was checked by the downloader. */
  if (berth_lima_image_load_built (unpack_dir, NULL, &image))
    {
      g_free (image->source);
      image->source = g_strdup (url);
      return g_steal_pointer (&image);
    }

  tmp = g_strdup_printf ("%s.tmp-%d", unpack_dir, (int)getpid ());
  remove_tree (tmp);
  if (g_mkdir_with_parents (tmp, 0755) != 0)
    {
      int saved = errno;

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Cannot create %s: %s", tmp,
                   g_strerror (saved));
      return NULL;
    }
  if (!unpack_image_archive (data_path, tmp, cancellable, &is_archive, error))
    {
      remove_tree (tmp);
      return NULL;
    }
  if (!is_archive)
    {
      remove_tree (tmp);
      image = g_new0 (BerthLimaImage, 1);
      image->dir = g_path_get_dirname (data_path);
      image->disk = g_strdup (data_path);
      image->disk_format = detect_disk_format (data_path);
      image->disk_bootable = TRUE;
      image->kernel_cmdline = g_strdup (BERTH_LIMA_IMAGE_DEFAULT_CMDLINE);
      image->source = g_strdup (url);
      return g_steal_pointer (&image);
    }

  {
    g_autofree gchar *disk = g_build_filename (tmp, "rootfs.qcow2", NULL);

    if (!g_file_test (disk, G_FILE_TEST_IS_REGULAR))
      {
        g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                     "The image archive from %s has no rootfs.qcow2; a Berth guest image "
                     "archive holds vmlinuz, initrd.img, rootfs.qcow2 and manifest.json",
                     url);
        remove_tree (tmp);
        return NULL;
      }
  }
  remove_tree (unpack_dir);
  if (g_rename (tmp, unpack_dir) != 0)
    {
      int saved = errno;

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Cannot rename %s to %s: %s", tmp,
                   unpack_dir, g_strerror (saved));
      remove_tree (tmp);
      return NULL;
    }

  image = g_new0 (BerthLimaImage, 1);
  image->dir = g_strdup (unpack_dir);
  image->disk = g_build_filename (unpack_dir, "rootfs.qcow2", NULL);
  image->disk_format = detect_disk_format (image->disk);
  image->kernel = prefer_vmlinux (unpack_dir, g_build_filename (unpack_dir, "vmlinuz", NULL));
  image->initrd = g_build_filename (unpack_dir, "initrd.img", NULL);
  if (!g_file_test (image->kernel, G_FILE_TEST_IS_REGULAR))
    g_clear_pointer (&image->kernel, g_free);
  if (!g_file_test (image->initrd, G_FILE_TEST_IS_REGULAR))
    g_clear_pointer (&image->initrd, g_free);
  {
    g_autofree gchar *manifest_path = g_build_filename (unpack_dir, "manifest.json", NULL);
    g_autoptr (JsonObject) manifest = load_manifest (manifest_path);

    image->kernel_cmdline = manifest != NULL ? manifest_cmdline (manifest)
                                             : g_strdup (BERTH_LIMA_IMAGE_DEFAULT_CMDLINE);
  }
  image->disk_bootable = FALSE;
  image->source = g_strdup (url);
  return g_steal_pointer (&image);
}

/* ---- the cache object ---------------------------------------------------- */

struct _BerthLimaImageCache
{
  GObject parent_instance;

  gchar *cache_dir;
  gchar *images_dir;
  gchar *logs_dir;
};

G_DEFINE_TYPE (BerthLimaImageCache, berth_lima_image_cache, G_TYPE_OBJECT)

enum
{
  SIGNAL_PROGRESS,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
berth_lima_image_cache_finalize (GObject *object)
{
  BerthLimaImageCache *self = BERTH_LIMA_IMAGE_CACHE (object);

  g_free (self->cache_dir);
  g_free (self->images_dir);
  g_free (self->logs_dir);
  G_OBJECT_CLASS (berth_lima_image_cache_parent_class)->finalize (object);
}

static void
berth_lima_image_cache_class_init (BerthLimaImageCacheClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = berth_lima_image_cache_finalize;

  signals[SIGNAL_PROGRESS]
      = g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_UINT64, G_TYPE_UINT64);
}

static void
berth_lima_image_cache_init (BerthLimaImageCache *self)
{
}

BerthLimaImageCache *
berth_lima_image_cache_new (const gchar *cache_dir, const gchar *logs_dir)
{
  BerthLimaImageCache *self;

  g_return_val_if_fail (cache_dir != NULL, NULL);

  self = g_object_new (BERTH_LIMA_TYPE_IMAGE_CACHE, NULL);
  self->cache_dir = g_strdup (cache_dir);
  self->images_dir = g_build_filename (cache_dir, "images", NULL);
  self->logs_dir = g_strdup (logs_dir);
  return self;
}

const gchar *
berth_lima_image_cache_get_images_dir (BerthLimaImageCache *self)
{
  g_return_val_if_fail (BERTH_LIMA_IS_IMAGE_CACHE (self), NULL);
  return self->images_dir;
}

typedef struct
{
  BerthLimaImageCache *self;
  gchar *description;
  guint64 current;
  guint64 max;
} ProgressCall;

static gboolean
emit_progress_cb (gpointer user_data)
{
  ProgressCall *call = user_data;

  g_signal_emit (call->self, signals[SIGNAL_PROGRESS], 0, call->description, call->current,
                 call->max);
  return G_SOURCE_REMOVE;
}

static void
progress_call_free (ProgressCall *call)
{
  g_object_unref (call->self);
  g_free (call->description);
  g_free (call);
}

/* From any thread: the signal runs on @task's main context. */
static void
emit_progress (GTask *task, const gchar *description, guint64 current, guint64 max)
{
  ProgressCall *call = g_new0 (ProgressCall, 1);

  call->self = g_object_ref (g_task_get_source_object (task));
  call->description = g_strdup (description);
  call->current = current;
  call->max = max;
  g_main_context_invoke_full (g_task_get_context (task), G_PRIORITY_DEFAULT, emit_progress_cb, call,
                              (GDestroyNotify)progress_call_free);
}

typedef struct
{
  gchar *url;
  gchar *sha256;
  gchar *data_path; /* the downloaded file */
  gchar *entry_dir;
} EnsureData;

static void
ensure_data_free (EnsureData *data)
{
  g_free (data->url);
  g_free (data->sha256);
  g_free (data->data_path);
  g_free (data->entry_dir);
  g_free (data);
}

/* Takes the lock file @path, waiting while another process builds. */
static int
take_lock (GTask *task, const gchar *path, GCancellable *cancellable, GError **error)
{
  int fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  gboolean said = FALSE;

  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Cannot open the lock file %s: %s", path,
                   g_strerror (saved));
      return -1;
    }
  while (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      if (errno != EWOULDBLOCK && errno != EINTR)
        {
          int saved = errno;

          g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Cannot lock %s: %s", path,
                       g_strerror (saved));
          close (fd);
          return -1;
        }
      if (!said)
        {
          emit_progress (task, STEP_PREFIX "waiting for another build of the same image", 0, 0);
          said = TRUE;
        }
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          berth_error_convert (error);
          close (fd);
          return -1;
        }
      g_usleep (200 * 1000);
    }
  return fd;
}

static void
child_setsid (gpointer user_data)
{
  setsid ();
}

static void
on_cancel_kill_group (GCancellable *cancellable, gpointer user_data)
{
  pid_t pid = GPOINTER_TO_INT (user_data);

  if (pid > 0)
    kill (-pid, SIGTERM);
}

/* Runs build-image.sh into @out_dir, turning its step lines into progress
 * and keeping the rest for the log and the error. */
static gboolean
run_recipe (GTask *task, BerthLimaImageCache *self, const gchar *recipe_dir, const gchar *out_dir,
            int lock_fd, GCancellable *cancellable, GError **error)
{
  g_autofree gchar *script = g_build_filename (recipe_dir, "build-image.sh", NULL);
  g_autofree gchar *apt_cache = g_build_filename (self->images_dir, "apt-archives", NULL);
  const gchar *argv[] = { script, "--out", out_dir, "--cache", apt_cache, NULL };
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GDataInputStream) lines = NULL;
  g_autoptr (GQueue) tail = g_queue_new ();
  g_autoptr (GError) read_error = NULL;
  g_autofree gchar *log_file = NULL;
  gulong cancel_id = 0;
  pid_t pid = 0;
  gboolean ok;

  launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE
                                   | G_SUBPROCESS_FLAGS_STDIN_INHERIT);
  /* Its own process group, so that a cancel ends mmdebstrap too. */
  g_subprocess_launcher_set_child_setup (launcher, child_setsid, NULL, NULL);
  /* The build holds the cache's lock too: should this process die, the
   * build goes on, and the next start waits for it instead of racing it. */
  {
    int inherited = dup (lock_fd);

    if (inherited >= 0)
      g_subprocess_launcher_take_fd (launcher, inherited, LOCK_FD_IN_CHILD);
  }
  process = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (process == NULL)
    {
      berth_error_convert (error);
      return FALSE;
    }
  {
    /* NULL once the child has exited and been reaped, which a recipe that
     * fails at once can do before we get here. */
    const gchar *identifier = g_subprocess_get_identifier (process);

    pid = identifier != NULL ? (pid_t)g_ascii_strtoll (identifier, NULL, 10) : 0;
  }
  berth_log_line (self->logs_dir, LOG_COMPONENT, "Building the guest image: %s --out %s", script,
                  out_dir);
  if (cancellable != NULL && pid > 0)
    cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (on_cancel_kill_group),
                                       GINT_TO_POINTER (pid), NULL);

  lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  for (;;)
    {
      gsize length = 0;
      g_autofree gchar *raw = g_data_input_stream_read_line (lines, &length, NULL, &read_error);
      g_autofree gchar *line = NULL;

      if (raw == NULL)
        break;
      line = g_utf8_make_valid (raw, (gssize)length);
      berth_log_line (self->logs_dir, LOG_COMPONENT, "%s", line);
      if (g_str_has_prefix (line, STEP_PREFIX))
        emit_progress (task, line, 0, 0);
      else
        {
          g_queue_push_tail (tail, g_steal_pointer (&line));
          if (g_queue_get_length (tail) > ERROR_TAIL_LINES)
            g_free (g_queue_pop_head (tail));
        }
    }
  ok = g_subprocess_wait (process, NULL, NULL);
  if (cancel_id != 0)
    g_cancellable_disconnect (cancellable, cancel_id);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      g_queue_free_full (g_steal_pointer (&tail), g_free);
      berth_error_convert (error);
      return FALSE;
    }
  log_file
      = g_build_filename (self->logs_dir != NULL ? self->logs_dir : "", LOG_COMPONENT ".log", NULL);
  if (!ok || !g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0)
    {
      g_autoptr (GString) quoted = g_string_new (NULL);

      for (GList *l = tail->head; l != NULL; l = l->next)
        g_string_append_printf (quoted, "\n  %s", (const gchar *)l->data);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND,
                   "Building the guest image failed: %s exited with status %d. Its last "
                   "lines:%s\nThe whole output is in %s",
                   script,
                   g_subprocess_get_if_exited (process) ? g_subprocess_get_exit_status (process)
                                                        : 128 + g_subprocess_get_term_sig (process),
                   quoted->len > 0 ? quoted->str : " (none)", log_file);
      g_queue_free_full (g_steal_pointer (&tail), g_free);
      return FALSE;
    }
  g_queue_free_full (g_steal_pointer (&tail), g_free);
  return TRUE;
}

/* Images of other recipes, now that this one is built: instances keep their
 * own links or copies of what they boot, so nothing uses them any more.
 * One that another process holds locked (building it) is left alone. */
static guint
prune_other_images (const gchar *images_dir, const gchar *keep_hash)
{
  g_autoptr (GDir) dir = g_dir_open (images_dir, 0, NULL);
  const gchar *name;
  guint removed = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *path = NULL;
      g_autofree gchar *lock_path = NULL;
      int fd;

      if (strlen (name) != 64 || strspn (name, "0123456789abcdef") != 64
          || g_str_equal (name, keep_hash))
        continue;
      path = g_build_filename (images_dir, name, NULL);
      lock_path = g_strdup_printf ("%s.lock", path);
      fd = g_open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
      if (fd < 0)
        continue;
      if (flock (fd, LOCK_EX | LOCK_NB) == 0)
        {
          if (remove_tree (path))
            removed++;
          g_unlink (lock_path);
        }
      close (fd);
    }
  return removed;
}

static void
build_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  BerthLimaImageCache *self = source_object;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *recipe_dir = NULL;
  g_autofree gchar *hash = NULL;
  g_autofree gchar *image_dir = NULL;
  g_autofree gchar *lock_path = NULL;
  BerthLimaImage *image = NULL;
  int lock_fd;

  recipe_dir = berth_lima_image_find_recipe_dir (&error);
  if (recipe_dir == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  hash = berth_lima_image_recipe_hash (recipe_dir, cancellable, &error);
  if (hash == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  image_dir = g_build_filename (self->images_dir, hash, NULL);
  if (berth_lima_image_load_built (image_dir, hash, &image))
    {
      g_task_return_pointer (task, image, (GDestroyNotify)berth_lima_image_free);
      return;
    }

  if (g_mkdir_with_parents (self->images_dir, 0755) != 0)
    {
      int saved = errno;

      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_FAILED,
                               "Cannot create the image cache %s: %s", self->images_dir,
                               g_strerror (saved));
      return;
    }
  lock_path = g_strdup_printf ("%s.lock", image_dir);
  lock_fd = take_lock (task, lock_path, cancellable, &error);
  if (lock_fd < 0)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  /* Another process may have built it while this one waited. */
  if (!berth_lima_image_load_built (image_dir, hash, &image))
    {
      emit_progress (task, STEP_PREFIX "starting (the first start builds it once)", 0, 0);
      if (run_recipe (task, self, recipe_dir, image_dir, lock_fd, cancellable, &error)
          && !berth_lima_image_load_built (image_dir, hash, &image))
        g_set_error (&error, BERTH_ERROR, BERTH_ERROR_BACKEND,
                     "The guest image recipe finished but %s does not hold a complete image of "
                     "recipe %s (vmlinuz, initrd.img, rootfs.qcow2, manifest.json)",
                     image_dir, hash);
    }
  close (lock_fd);
  if (image != NULL)
    {
      guint pruned = prune_other_images (self->images_dir, hash);

      if (pruned > 0)
        berth_log_line (self->logs_dir, LOG_COMPONENT,
                        "Removed %u guest image%s of older recipes from %s", pruned,
                        pruned == 1 ? "" : "s", self->images_dir);
    }
  if (image == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, image, (GDestroyNotify)berth_lima_image_free);
}

static void
unpack_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  EnsureData *data = task_data;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *unpack_dir = g_build_filename (data->entry_dir, "image", NULL);
  BerthLimaImage *image;

  image = berth_lima_image_from_download (data->data_path, unpack_dir, data->url, cancellable,
                                          &error);
  if (image == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, image, (GDestroyNotify)berth_lima_image_free);
}

static void
on_download_progress (BerthDownloader *downloader, guint64 received, guint64 total,
                      gpointer user_data)
{
  GTask *task = user_data;

  g_signal_emit (g_task_get_source_object (task), signals[SIGNAL_PROGRESS], 0,
                 "Downloading guest image", received, total);
}

static void
fetch_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthDownloader *downloader = BERTH_DOWNLOADER (source);
  EnsureData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  g_signal_handlers_disconnect_by_func (downloader, on_download_progress, task);
  data->data_path = berth_downloader_fetch_finish (downloader, result, &error);
  if (data->data_path == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  data->entry_dir = berth_downloader_get_entry_dir (downloader, data->url);
  g_task_run_in_thread (task, unpack_thread);
}

void
berth_lima_image_cache_ensure_async (BerthLimaImageCache *self, const gchar *url,
                                     const gchar *sha256, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  EnsureData *data;

  g_return_if_fail (BERTH_LIMA_IS_IMAGE_CACHE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, berth_lima_image_cache_ensure_async);
  data = g_new0 (EnsureData, 1);
  data->url = g_strdup (url != NULL && url[0] != '\0' ? url : NULL);
  data->sha256 = g_strdup (sha256);
  g_task_set_task_data (task, data, (GDestroyNotify)ensure_data_free);

  if (data->url == NULL)
    {
      g_task_run_in_thread (task, build_thread);
      return;
    }
  if (data->sha256 == NULL || data->sha256[0] == '\0')
    {
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                               "virtualMachine.image.sha256 is empty but virtualMachine.image.url "
                               "is %s; give the image's SHA-256 (64 hexadecimal digits)",
                               data->url);
      return;
    }
  {
    g_autofree gchar *download_dir = g_build_filename (self->cache_dir, "download", NULL);
    g_autoptr (BerthDownloader) downloader = berth_downloader_new (download_dir);
    g_autofree gchar *digest = g_str_has_prefix (data->sha256, "sha256:")
                                   ? g_strdup (data->sha256)
                                   : g_strdup_printf ("sha256:%s", data->sha256);

    g_signal_emit (self, signals[SIGNAL_PROGRESS], 0, "Downloading guest image", (guint64)0,
                   (guint64)0);
    g_signal_connect (downloader, "progress", G_CALLBACK (on_download_progress), task);
    berth_downloader_fetch_async (downloader, data->url, digest, cancellable, fetch_done,
                                  g_object_ref (task));
  }
}

BerthLimaImage *
berth_lima_image_cache_ensure_finish (BerthLimaImageCache *self, GAsyncResult *result,
                                      GError **error)
{
  BerthLimaImage *image;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, berth_lima_image_cache_ensure_async),
                        NULL);

  image = g_task_propagate_pointer (G_TASK (result), error);
  berth_error_convert (error);
  return image;
}
