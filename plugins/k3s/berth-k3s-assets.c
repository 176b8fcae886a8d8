/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Berth — the k3s binary, air-gap images and checksums of one release,
 * downloaded and verified, or taken from a directory the user has. */

#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include "berth-download.h"
#include "berth-error.h"
#include "berth-k3s-assets.h"
#include "berth-k3s-version.h"

#define DEFAULT_DOWNLOAD_URL "https://github.com/k3s-io/k3s/releases/download"
#define SHA256_HEX_LENGTH 64

struct _BerthK3sAssets
{
  GObject parent_instance;

  gchar *download_cache;
  GPtrArray *ca_files;  /* PEM files trusted on top of the system's, checked */
  GError *env_ca_error; /* BERTH_K3S_CA_FILE names a file that cannot be used */
};

G_DEFINE_FINAL_TYPE (BerthK3sAssets, berth_k3s_assets, G_TYPE_OBJECT)

enum
{
  SIGNAL_PROGRESS,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* ---- names ------------------------------------------------------------------ */

const gchar *
berth_k3s_arch_normalize (const gchar *arch)
{
  if (arch == NULL)
    return NULL;
  if (g_str_equal (arch, "amd64") || g_str_equal (arch, "x86_64"))
    return "amd64";
  if (g_str_equal (arch, "arm64") || g_str_equal (arch, "aarch64"))
    return "arm64";
  return NULL;
}

const gchar *
berth_k3s_host_arch (void)
{
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#else
  return NULL;
#endif
}

const gchar *
berth_k3s_binary_name (const gchar *arch)
{
  const gchar *normal = berth_k3s_arch_normalize (arch);

  g_return_val_if_fail (normal != NULL, NULL);
  return g_str_equal (normal, "amd64") ? "k3s" : "k3s-arm64";
}

gchar *
berth_k3s_checksums_name (const gchar *arch)
{
  const gchar *normal = berth_k3s_arch_normalize (arch);

  g_return_val_if_fail (normal != NULL, NULL);
  return g_strdup_printf ("sha256sum-%s.txt", normal);
}

GStrv
berth_k3s_airgap_images_names (const gchar *arch)
{
  const gchar *normal = berth_k3s_arch_normalize (arch);
  GStrv names;

  g_return_val_if_fail (normal != NULL, NULL);
  /* Smallest first: k3s imports each of these forms. */
  names = g_new0 (gchar *, 4);
  names[0] = g_strdup_printf ("k3s-airgap-images-%s.tar.zst", normal);
  names[1] = g_strdup_printf ("k3s-airgap-images-%s.tar.gz", normal);
  names[2] = g_strdup_printf ("k3s-airgap-images-%s.tar", normal);
  return names;
}

/* ---- the checksum file -------------------------------------------------------- */

static gchar *
quote_line (const gchar *line)
{
  g_autofree gchar *escaped = g_strescape (line, NULL);

  if (strlen (escaped) > 80)
    {
      escaped[77] = '\0';
      return g_strconcat (escaped, "...", NULL);
    }
  return g_steal_pointer (&escaped);
}

GHashTable *
berth_k3s_checksums_parse (const gchar *data, gsize length, const gchar *what, GError **error)
{
  g_autoptr (GHashTable) sums = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  gsize pos = 0;
  guint line_number = 0;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (what != NULL, NULL);

  if (length > BERTH_K3S_CHECKSUMS_MAX_SIZE)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is %" G_GSIZE_FORMAT " bytes, more than the %u a checksum file may have",
                   what, length, (guint)BERTH_K3S_CHECKSUMS_MAX_SIZE);
      return NULL;
    }
  if (length > 0 && memchr (data, '\0', length) != NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s holds a NUL byte; a checksum file is text, as sha256sum writes it", what);
      return NULL;
    }

  while (pos < length)
    {
      const gchar *start = data + pos;
      const gchar *newline = memchr (start, '\n', length - pos);
      gsize line_length = newline != NULL ? (gsize)(newline - start) : length - pos;
      g_autofree gchar *line = g_strndup (start, line_length);
      const gchar *p = line;
      const gchar *name;
      g_autofree gchar *hex = NULL;
      const gchar *listed;

      pos += line_length + (newline != NULL ? 1 : 0);
      line_number++;
      g_strchomp (line);
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p == '\0')
        continue;

      for (gsize i = 0; i < SHA256_HEX_LENGTH; i++)
        if (!g_ascii_isxdigit (p[i]))
          {
            p = NULL;
            break;
          }
      if (p != NULL && p[SHA256_HEX_LENGTH] != ' ' && p[SHA256_HEX_LENGTH] != '\t')
        p = NULL;
      if (p != NULL)
        {
          hex = g_ascii_strdown (p, SHA256_HEX_LENGTH);
          name = p + SHA256_HEX_LENGTH;
          while (*name == ' ' || *name == '\t')
            name++;
          /* sha256sum marks binary mode with '*' before the name. */
          if (*name == '*')
            name++;
        }
      if (p == NULL || *name == '\0' || !g_utf8_validate (name, -1, NULL))
        {
          g_autofree gchar *quoted = g_utf8_validate (line, -1, NULL)
                                         ? quote_line (line)
                                         : g_strdup ("(not valid UTF-8)");

          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "%s, line %u: “%s” is not a checksum line; each line is "
                       "“<64 hex digits>  <file name>” as sha256sum writes it",
                       what, line_number, quoted);
          return NULL;
        }
      listed = g_hash_table_lookup (sums, name);
      if (listed != NULL && !g_str_equal (listed, hex))
        {
          g_autofree gchar *quoted = quote_line (name);

          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "%s, line %u: “%s” is listed again with another digest (%s, then %s); "
                       "the file cannot say which is right",
                       what, line_number, quoted, listed, hex);
          return NULL;
        }
      g_hash_table_insert (sums, g_strdup (name), g_steal_pointer (&hex));
    }
  return g_steal_pointer (&sums);
}

/* ---- the object ------------------------------------------------------------------ */

void
berth_k3s_asset_files_free (BerthK3sAssetFiles *files)
{
  if (files == NULL)
    return;
  g_free (files->version);
  g_free (files->binary);
  g_free (files->airgap_images);
  g_free (files->checksums);
  g_free (files->airgap_images_name);
  g_free (files);
}

static void
berth_k3s_assets_constructed (GObject *object)
{
  BerthK3sAssets *self = BERTH_K3S_ASSETS (object);
  const gchar *env_ca = g_getenv ("BERTH_K3S_CA_FILE");

  G_OBJECT_CLASS (berth_k3s_assets_parent_class)->constructed (object);

  if (env_ca != NULL && env_ca[0] != '\0')
    {
      g_autoptr (GError) error = NULL;

      if (!berth_k3s_assets_set_tls_ca_file (self, env_ca, &error))
        self->env_ca_error
            = g_error_new (error->domain, error->code, "BERTH_K3S_CA_FILE: %s", error->message);
    }
}

static void
berth_k3s_assets_finalize (GObject *object)
{
  BerthK3sAssets *self = BERTH_K3S_ASSETS (object);

  g_free (self->download_cache);
  g_ptr_array_unref (self->ca_files);
  g_clear_error (&self->env_ca_error);
  G_OBJECT_CLASS (berth_k3s_assets_parent_class)->finalize (object);
}

static void
berth_k3s_assets_class_init (BerthK3sAssetsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = berth_k3s_assets_constructed;
  object_class->finalize = berth_k3s_assets_finalize;

  /**
   * BerthK3sAssets::progress:
   * @file_name: the file being downloaded ("k3s", "sha256sum-amd64.txt", …)
   * @current: bytes received
   * @total: its size, 0 while unknown
   *
   * As BerthDownloader::progress, for each file in turn. Not emitted for a
   * file already in the cache, nor for a directory of assets.
   */
  signals[SIGNAL_PROGRESS]
      = g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_UINT64, G_TYPE_UINT64);
}

static void
berth_k3s_assets_init (BerthK3sAssets *self)
{
  self->ca_files = g_ptr_array_new_with_free_func (g_free);
}

BerthK3sAssets *
berth_k3s_assets_new (const gchar *download_cache)
{
  BerthK3sAssets *self;

  g_return_val_if_fail (download_cache != NULL, NULL);

  self = g_object_new (BERTH_TYPE_K3S_ASSETS, NULL);
  self->download_cache = g_strdup (download_cache);
  return self;
}

gboolean
berth_k3s_assets_set_tls_ca_file (BerthK3sAssets *self, const gchar *pem_file, GError **error)
{
  g_autoptr (BerthDownloader) probe = NULL;

  g_return_val_if_fail (BERTH_IS_K3S_ASSETS (self), FALSE);
  g_return_val_if_fail (pem_file != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* The downloader checks the file as it will use it. */
  probe = berth_downloader_new (self->download_cache != NULL ? self->download_cache : "/");
  if (!berth_downloader_set_tls_ca_file (probe, pem_file, error))
    return FALSE;
  g_ptr_array_add (self->ca_files, g_strdup (pem_file));
  return TRUE;
}

/* ---- ensuring ---------------------------------------------------------------------- */

typedef struct
{
  gchar *version;
  gchar *arch;
  gchar *local_dir;
  gchar *prefix; /* where releases are downloaded from, without a final '/' */

  BerthDownloader *downloader;
  gulong progress_id;
  const gchar *current_file; /* the name being downloaded, for "progress" */

  gchar *binary_name;
  gchar *checksums_name;
  GStrv images_names;
  gchar *checksums_url;
  GHashTable *sums;
  BerthK3sAssetFiles *files;
} EnsureData;

static void
ensure_data_free (EnsureData *data)
{
  if (data->downloader != NULL && data->progress_id != 0)
    g_signal_handler_disconnect (data->downloader, data->progress_id);
  g_clear_object (&data->downloader);
  g_free (data->version);
  g_free (data->arch);
  g_free (data->local_dir);
  g_free (data->prefix);
  g_free (data->binary_name);
  g_free (data->checksums_name);
  g_strfreev (data->images_names);
  g_free (data->checksums_url);
  g_clear_pointer (&data->sums, g_hash_table_unref);
  g_clear_pointer (&data->files, berth_k3s_asset_files_free);
  g_free (data);
}

static gchar *
asset_url (EnsureData *data, const gchar *name)
{
  g_autofree gchar *version = g_uri_escape_string (data->version, NULL, FALSE);
  g_autofree gchar *file = g_uri_escape_string (name, NULL, FALSE);

  return g_strconcat (data->prefix, "/", version, "/", file, NULL);
}

/* Fails @task with @error prefixed by what was being fetched. */
static void
ensure_fail (GTask *task, GError *error, const gchar *what)
{
  EnsureData *data = g_task_get_task_data (task);

  if (!g_error_matches (error, BERTH_ERROR, BERTH_ERROR_CANCELLED))
    g_prefix_error (&error, "Could not get %s of k3s %s for %s: ", what, data->version, data->arch);
  g_task_return_error (task, error);
}

/* Makes the cached checksum file no cache hit, so that the next try reads
 * it again: after it did not parse, or an asset did not match it (either
 * may be the one at fault). */
static void
forget_checksums (EnsureData *data)
{
  g_autofree gchar *entry = berth_downloader_get_entry_dir (data->downloader, data->checksums_url);
  g_autofree gchar *digest = g_build_filename (entry, "sha256.digest", NULL);

  if (g_unlink (digest) != 0 && errno != ENOENT)
    g_warning ("could not remove %s: %s", digest, g_strerror (errno));
}

static void
on_download_progress (BerthDownloader *downloader, guint64 current, guint64 total,
                      gpointer user_data)
{
  GTask *task = user_data;
  EnsureData *data = g_task_get_task_data (task);

  if (data->current_file != NULL)
    g_signal_emit (g_task_get_source_object (task), signals[SIGNAL_PROGRESS], 0, data->current_file,
                   current, total);
}

static void
fetch_next_asset (GTask *task);

static void
images_fetched_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  EnsureData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *path = NULL;
  g_autofree gchar *what
      = g_strdup_printf ("the air-gap images “%s”", data->files->airgap_images_name);

  data->current_file = NULL;
  path = berth_downloader_fetch_finish (BERTH_DOWNLOADER (source), result, &error);
  if (path == NULL)
    {
      if (g_error_matches (error, BERTH_ERROR, BERTH_ERROR_CHECKSUM))
        forget_checksums (data);
      ensure_fail (task, g_steal_pointer (&error), what);
      return;
    }
  data->files->airgap_images = g_steal_pointer (&path);
  g_task_return_pointer (task, g_steal_pointer (&data->files),
                         (GDestroyNotify)berth_k3s_asset_files_free);
}

static void
binary_fetched_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  EnsureData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *path = NULL;
  g_autofree gchar *what = g_strdup_printf ("the k3s binary “%s”", data->binary_name);

  data->current_file = NULL;
  path = berth_downloader_fetch_finish (BERTH_DOWNLOADER (source), result, &error);
  if (path == NULL)
    {
      if (g_error_matches (error, BERTH_ERROR, BERTH_ERROR_CHECKSUM))
        forget_checksums (data);
      ensure_fail (task, g_steal_pointer (&error), what);
      return;
    }
  data->files->binary = g_steal_pointer (&path);
  fetch_next_asset (task);
}

/* The binary, then the first images tarball the checksum file lists. */
static void
fetch_next_asset (GTask *task)
{
  EnsureData *data = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  const gchar *hex;

  if (data->files->binary == NULL)
    {
      g_autofree gchar *url = asset_url (data, data->binary_name);
      g_autofree gchar *digest = NULL;

      hex = g_hash_table_lookup (data->sums, data->binary_name);
      if (hex == NULL)
        {
          g_autofree gchar *what = g_strdup_printf ("the k3s binary “%s”", data->binary_name);

          ensure_fail (task,
                       g_error_new (BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                                    "%s (%s) does not list “%s”, so it cannot be verified; "
                                    "the release may not publish k3s for %s",
                                    data->checksums_name, data->checksums_url, data->binary_name,
                                    data->arch),
                       what);
          return;
        }
      digest = g_strconcat ("sha256:", hex, NULL);
      data->current_file = data->binary_name;
      berth_downloader_fetch_async (data->downloader, url, digest, cancellable, binary_fetched_cb,
                                    g_object_ref (task));
      return;
    }

  for (guint i = 0; data->images_names[i] != NULL; i++)
    {
      g_autofree gchar *url = NULL;
      g_autofree gchar *digest = NULL;

      hex = g_hash_table_lookup (data->sums, data->images_names[i]);
      if (hex == NULL)
        continue;
      url = asset_url (data, data->images_names[i]);
      digest = g_strconcat ("sha256:", hex, NULL);
      data->files->airgap_images_name = g_strdup (data->images_names[i]);
      data->current_file = data->files->airgap_images_name;
      berth_downloader_fetch_async (data->downloader, url, digest, cancellable, images_fetched_cb,
                                    g_object_ref (task));
      return;
    }

  g_debug ("k3s %s publishes no air-gap images for %s; k3s will pull its images", data->version,
           data->arch);
  g_task_return_pointer (task, g_steal_pointer (&data->files),
                         (GDestroyNotify)berth_k3s_asset_files_free);
}

static void
checksums_loaded_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  EnsureData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *contents = NULL;
  g_autofree gchar *what = NULL;
  gsize length = 0;

  if (!g_file_load_contents_finish (G_FILE (source), result, &contents, &length, NULL, &error))
    {
      berth_error_convert (&error);
      ensure_fail (task, g_steal_pointer (&error), data->checksums_name);
      return;
    }
  what = g_strdup_printf ("%s (from %s)", data->checksums_name, data->checksums_url);
  data->sums = berth_k3s_checksums_parse (contents, length, what, &error);
  if (data->sums == NULL)
    {
      forget_checksums (data);
      ensure_fail (task, g_steal_pointer (&error), data->checksums_name);
      return;
    }
  fetch_next_asset (task);
}

static void
checksums_fetched_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  EnsureData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GFile) file = NULL;

  data->current_file = NULL;
  data->files->checksums
      = berth_downloader_fetch_finish (BERTH_DOWNLOADER (source), result, &error);
  if (data->files->checksums == NULL)
    {
      ensure_fail (task, g_steal_pointer (&error), data->checksums_name);
      return;
    }
  file = g_file_new_for_path (data->files->checksums);
  g_file_load_contents_async (file, g_task_get_cancellable (task), checksums_loaded_cb,
                              g_object_ref (task));
}

/* ---- a directory the user has ------------------------------------------------------ */

/* Checks @path against @hex; the error names both digests. */
static gboolean
verify_local_file (EnsureData *data, const gchar *path, const gchar *hex, GCancellable *cancellable,
                   GError **error)
{
  g_autofree gchar *actual = berth_checksum_file (BERTH_CHECKSUM_SHA256, path, cancellable, error);

  if (actual == NULL)
    return FALSE;
  if (!g_str_equal (actual, hex))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_CHECKSUM,
                   "%s does not match %s: expected sha256:%s, got sha256:%s; copy the file "
                   "again from the release %s",
                   path, data->checksums_name, hex, actual, data->version);
      return FALSE;
    }
  return TRUE;
}

static void
local_dir_thread (GTask *task, gpointer source_object, gpointer task_data,
                  GCancellable *cancellable)
{
  EnsureData *data = task_data;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *checksums = g_build_filename (data->local_dir, data->checksums_name, NULL);
  g_autofree gchar *binary = g_build_filename (data->local_dir, data->binary_name, NULL);
  g_autofree gchar *contents = NULL;
  GStatBuf st;
  gsize length = 0;
  const gchar *hex;

  if (g_stat (checksums, &st) != 0 || !S_ISREG (st.st_mode))
    {
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                               "The k3s assets directory %s has no %s: it needs %s, %s and "
                               "(for air-gapped use) the air-gap images, as the release %s "
                               "publishes them",
                               data->local_dir, data->checksums_name, data->binary_name,
                               data->checksums_name, data->version);
      return;
    }
  if ((guint64)st.st_size > BERTH_K3S_CHECKSUMS_MAX_SIZE)
    {
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                               "%s is %" G_GUINT64_FORMAT " bytes, more than the %u a checksum "
                               "file may have",
                               checksums, (guint64)st.st_size, (guint)BERTH_K3S_CHECKSUMS_MAX_SIZE);
      return;
    }
  if (!g_file_get_contents (checksums, &contents, &length, &error))
    {
      berth_error_convert (&error);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  data->sums = berth_k3s_checksums_parse (contents, length, checksums, &error);
  if (data->sums == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  hex = g_hash_table_lookup (data->sums, data->binary_name);
  if (hex == NULL)
    {
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                               "%s does not list “%s”, so %s cannot be verified; use the "
                               "checksum file of the same release and architecture (%s, %s)",
                               checksums, data->binary_name, binary, data->version, data->arch);
      return;
    }
  if (!g_file_test (binary, G_FILE_TEST_IS_REGULAR))
    {
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                               "The k3s assets directory %s has no %s; copy it from the release "
                               "%s",
                               data->local_dir, data->binary_name, data->version);
      return;
    }
  if (!verify_local_file (data, binary, hex, cancellable, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  data->files->binary = g_steal_pointer (&binary);
  data->files->checksums = g_steal_pointer (&checksums);

  for (guint i = 0; data->images_names[i] != NULL; i++)
    {
      g_autofree gchar *images = g_build_filename (data->local_dir, data->images_names[i], NULL);

      if (!g_file_test (images, G_FILE_TEST_EXISTS))
        continue;
      hex = g_hash_table_lookup (data->sums, data->images_names[i]);
      if (hex == NULL)
        {
          g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_CHECKSUM,
                                   "%s is not listed in %s, so it cannot be verified; use the "
                                   "checksum file of the same release (%s)",
                                   images, data->files->checksums, data->version);
          return;
        }
      if (!verify_local_file (data, images, hex, cancellable, &error))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      data->files->airgap_images = g_steal_pointer (&images);
      data->files->airgap_images_name = g_strdup (data->images_names[i]);
      break;
    }
  if (data->files->airgap_images == NULL)
    g_message ("The k3s assets directory %s has no air-gap images for %s; k3s will pull its "
               "images from the network",
               data->local_dir, data->arch);

  g_task_return_pointer (task, g_steal_pointer (&data->files),
                         (GDestroyNotify)berth_k3s_asset_files_free);
}

void
berth_k3s_assets_ensure_async (BerthK3sAssets *self, const gchar *version, const gchar *arch,
                               const gchar *local_dir, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  EnsureData *data;
  BerthK3sVersion parsed;
  const gchar *normal_arch;
  const gchar *env_prefix;

  g_return_if_fail (BERTH_IS_K3S_ASSETS (self));
  g_return_if_fail (version != NULL);
  g_return_if_fail (arch != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, berth_k3s_assets_ensure_async);
  /* Cancellation is reported by the steps, as BERTH_ERROR_CANCELLED. */
  g_task_set_check_cancellable (task, FALSE);

  if (!berth_k3s_version_parse_full (version, &parsed))
    {
      g_autofree gchar *quoted = g_strescape (version, NULL);

      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                               "“%s” is not a full k3s version; give one with its build, such "
                               "as v1.30.2+k3s1",
                               quoted);
      return;
    }
  normal_arch = berth_k3s_arch_normalize (arch);
  if (normal_arch == NULL)
    {
      g_autofree gchar *quoted = g_strescape (arch, NULL);

      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                               "k3s publishes no release for the architecture “%s”; it has "
                               "amd64 (x86_64) and arm64 (aarch64)",
                               quoted);
      return;
    }

  data = g_new0 (EnsureData, 1);
  data->version = berth_k3s_version_to_string (&parsed);
  data->arch = g_strdup (normal_arch);
  data->local_dir = g_strdup (local_dir);
  data->binary_name = g_strdup (berth_k3s_binary_name (normal_arch));
  data->checksums_name = berth_k3s_checksums_name (normal_arch);
  data->images_names = berth_k3s_airgap_images_names (normal_arch);
  data->files = g_new0 (BerthK3sAssetFiles, 1);
  data->files->version = g_strdup (data->version);
  g_task_set_task_data (task, data, (GDestroyNotify)ensure_data_free);

  if (local_dir != NULL)
    {
      g_task_run_in_thread (task, local_dir_thread);
      return;
    }

  if (self->env_ca_error != NULL)
    {
      ensure_fail (task, g_error_copy (self->env_ca_error), data->checksums_name);
      return;
    }

  env_prefix = g_getenv ("BERTH_K3S_DOWNLOAD_URL");
  data->prefix
      = g_strdup (env_prefix != NULL && env_prefix[0] != '\0' ? env_prefix : DEFAULT_DOWNLOAD_URL);
  while (g_str_has_suffix (data->prefix, "/"))
    data->prefix[strlen (data->prefix) - 1] = '\0';

  data->downloader = berth_downloader_new (self->download_cache);
  for (guint i = 0; i < self->ca_files->len; i++)
    {
      g_autoptr (GError) error = NULL;

      /* Checked when it was added; it can only fail if the file went away since. */
      if (!berth_downloader_set_tls_ca_file (data->downloader,
                                             g_ptr_array_index (self->ca_files, i), &error))
        {
          ensure_fail (task, g_steal_pointer (&error), data->checksums_name);
          return;
        }
    }
  data->progress_id
      = g_signal_connect (data->downloader, "progress", G_CALLBACK (on_download_progress), task);

  data->checksums_url = asset_url (data, data->checksums_name);
  data->current_file = data->checksums_name;
  berth_downloader_fetch_async (data->downloader, data->checksums_url, NULL, cancellable,
                                checksums_fetched_cb, g_object_ref (task));
}

BerthK3sAssetFiles *
berth_k3s_assets_ensure_finish (BerthK3sAssets *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (BERTH_IS_K3S_ASSETS (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == berth_k3s_assets_ensure_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
