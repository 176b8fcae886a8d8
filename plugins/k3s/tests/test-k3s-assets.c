/* SPDX-License-Identifier: GPL-3.0-or-later */
/* plugins/k3s: a release's assets — the checksum file, downloads verified
 * into the Lima-layout cache from the fake mirror (tests/k3s/fake-mirror.sh)
 * and its broken variants (a bad checksum, a truncated asset, a 500, a
 * hang), and a directory of assets for an air-gapped machine. */

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "berth-download.h"
#include "berth-error.h"
#include "berth-k3s-assets.h"
#include "berth-k3s-test-mirror.h"
#include "berth-test-util.h"

#define VERSION "v1.33.6+k3s1"

/* ---- names and the checksum file ---------------------------------------------------- */

static void
test_names (void)
{
  g_auto (GStrv) images = berth_k3s_airgap_images_names ("x86_64");
  g_autofree gchar *sums = berth_k3s_checksums_name ("aarch64");

  g_assert_cmpstr (berth_k3s_arch_normalize ("x86_64"), ==, "amd64");
  g_assert_cmpstr (berth_k3s_arch_normalize ("amd64"), ==, "amd64");
  g_assert_cmpstr (berth_k3s_arch_normalize ("aarch64"), ==, "arm64");
  g_assert_cmpstr (berth_k3s_arch_normalize ("arm64"), ==, "arm64");
  g_assert_null (berth_k3s_arch_normalize ("riscv64"));
  g_assert_null (berth_k3s_arch_normalize (NULL));
  g_assert_cmpstr (berth_k3s_binary_name ("amd64"), ==, "k3s");
  g_assert_cmpstr (berth_k3s_binary_name ("aarch64"), ==, "k3s-arm64");
  g_assert_cmpstr (sums, ==, "sha256sum-arm64.txt");
  g_assert_cmpstr (images[0], ==, "k3s-airgap-images-amd64.tar.zst");
  g_assert_cmpstr (images[g_strv_length (images) - 1], ==, "k3s-airgap-images-amd64.tar");
#if defined(__x86_64__)
  g_assert_cmpstr (berth_k3s_host_arch (), ==, "amd64");
#endif
}

/* sha256sum-amd64.txt as a k3s release publishes it. */
static const gchar release_sums[]
    = "dcc8c8be3ff07bf54a2c0e4bfa6e6d7de8e1b2a98cf1d7b81d8c2b60e7b3a8ce  e2e-passed-amd64.txt\n"
      "6d8a2c6f0c93c7e2b6a1c5f1f8e29a64f0f8d5b3f74c0b9b2f3b2a87b3f1a9a1  k3s\n"
      "0b3f4e1bd6a1f4f3b0b6f5e0a3cbd1d2e8e4a2b6c7d9e0f1a2b3c4d5e6f7a8b9  "
      "k3s-airgap-images-amd64.tar\n"
      "1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d  "
      "k3s-airgap-images-amd64.tar.gz\n"
      "2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e  "
      "k3s-airgap-images-amd64.tar.zst\n"
      "3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f  k3s-images.txt\n";

static void
test_checksums_parse (void)
{
  g_autoptr (GHashTable) sums = NULL;
  g_autoptr (GError) error = NULL;
  static const struct
  {
    const gchar *text;
    const gchar *in_message;
  } refused[] = {
    { "not a checksum line\n", "line 1" },
    { "\n\n6d8a2c6f0c93c7e2b6a1c5f1f8e29a64f0f8d5b3f74c0b9b2f3b2a87b3f1a9a  k3s\n", "line 3" },
    { "6d8a2c6f0c93c7e2b6a1c5f1f8e29a64f0f8d5b3f74c0b9b2f3b2a87b3f1a9a1\n", "line 1" },
    { "6d8a2c6f0c93c7e2b6a1c5f1f8e29a64f0f8d5b3f74c0b9b2f3b2a87b3f1a9a1k3s\n", "line 1" },
    { "6d8a2c6f0c93c7e2b6a1c5f1f8e29a64f0f8d5b3f74c0b9b2f3b2a87b3f1a9g1  k3s\n", "line 1" },
    { "\\6d8a2c6f0c93c7e2b6a1c5f1f8e29a64f0f8d5b3f74c0b9b2f3b2a87b3f1a9a1  k\\\\3s\n", "line 1" },
    { "SHA256 (k3s) = 6d8a2c6f0c93c7e2b6a1c5f1f8e29a64f0f8d5b3f74c0b9b2f3b2a87b3f1a9a1\n",
      "line 1" },
    { "6d8a2c6f0c93c7e2b6a1c5f1f8e29a64f0f8d5b3f74c0b9b2f3b2a87b3f1a9a1  k3s\n"
      "7d8a2c6f0c93c7e2b6a1c5f1f8e29a64f0f8d5b3f74c0b9b2f3b2a87b3f1a9a1  k3s\n",
      "another digest" },
  };

  sums = berth_k3s_checksums_parse (release_sums, strlen (release_sums), "sha256sum-amd64.txt",
                                    &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (sums), ==, 6);
  g_assert_cmpstr (g_hash_table_lookup (sums, "k3s"), ==,
                   "6d8a2c6f0c93c7e2b6a1c5f1f8e29a64f0f8d5b3f74c0b9b2f3b2a87b3f1a9a1");
  g_clear_pointer (&sums, g_hash_table_unref);

  /* Binary mode, CRLF, blank lines, upper case, a repeat with the same digest,
   * no final newline. */
  {
    const gchar text[] = "\r\n  6D8A2C6F0C93C7E2B6A1C5F1F8E29A64F0F8D5B3F74C0B9B2F3B2A87B3F1A9A1 "
                         "*k3s\r\n\n"
                         "6d8a2c6f0c93c7e2b6a1c5f1f8e29a64f0f8d5b3f74c0b9b2f3b2a87b3f1a9a1  k3s\n"
                         "0b3f4e1bd6a1f4f3b0b6f5e0a3cbd1d2e8e4a2b6c7d9e0f1a2b3c4d5e6f7a8b9  "
                         "a name with spaces";

    sums = berth_k3s_checksums_parse (text, strlen (text), "sums", &error);
    g_assert_no_error (error);
    g_assert_cmpuint (g_hash_table_size (sums), ==, 2);
    g_assert_cmpstr (g_hash_table_lookup (sums, "k3s"), ==,
                     "6d8a2c6f0c93c7e2b6a1c5f1f8e29a64f0f8d5b3f74c0b9b2f3b2a87b3f1a9a1");
    g_assert_nonnull (g_hash_table_lookup (sums, "a name with spaces"));
    g_clear_pointer (&sums, g_hash_table_unref);
  }

  /* An empty file lists nothing, and is no error by itself. */
  sums = berth_k3s_checksums_parse ("", 0, "empty", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (sums), ==, 0);
  g_clear_pointer (&sums, g_hash_table_unref);

  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_clear_error (&error);
      sums = berth_k3s_checksums_parse (refused[i].text, strlen (refused[i].text), "the sums",
                                        &error);
      g_assert_null (sums);
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, "the sums"));
      g_assert_nonnull (strstr (error->message, refused[i].in_message));
    }

  /* A NUL byte, and a file far larger than any checksum file. */
  g_clear_error (&error);
  sums = berth_k3s_checksums_parse ("a\0b", 3, "the sums", &error);
  g_assert_null (sums);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_clear_error (&error);
  {
    g_autofree gchar *huge = g_malloc0 (BERTH_K3S_CHECKSUMS_MAX_SIZE + 1);

    memset (huge, '\n', BERTH_K3S_CHECKSUMS_MAX_SIZE + 1);
    sums = berth_k3s_checksums_parse (huge, BERTH_K3S_CHECKSUMS_MAX_SIZE + 1, "the sums", &error);
    g_assert_null (sums);
    g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  }
}

/* ---- downloads from the fake mirror -------------------------------------------------- */

typedef struct
{
  gchar *root;
  gchar *releases_dir;
  gchar *cache_dir;
  BerthK3sTestMirror *mirror;
  GPtrArray *progress; /* "file current total" */
} Fixture;

static void
fixture_set_up (Fixture *fx, gconstpointer user_data)
{
  fx->root = berth_test_make_root ("k3s-assets");
  fx->releases_dir = g_build_filename (fx->root, "releases", NULL);
  fx->cache_dir = g_build_filename (fx->root, "cache", "download", NULL);
  fx->progress = g_ptr_array_new_with_free_func (g_free);
  if (!berth_k3s_test_mirror_available ())
    return;
  berth_k3s_test_make_release (fx->releases_dir, VERSION, "amd64");
  berth_k3s_test_make_release (fx->releases_dir, VERSION, "arm64");
  fx->mirror = berth_k3s_test_mirror_start (fx->releases_dir);
  berth_k3s_test_mirror_set_env (fx->mirror, NULL, NULL, NULL);
}

static void
fixture_tear_down (Fixture *fx, gconstpointer user_data)
{
  berth_k3s_test_mirror_unset_env ();
  g_clear_pointer (&fx->mirror, berth_k3s_test_mirror_free);
  berth_test_rm_rf (fx->root);
  g_free (fx->root);
  g_free (fx->releases_dir);
  g_free (fx->cache_dir);
  g_ptr_array_unref (fx->progress);
}

static void
on_progress (BerthK3sAssets *assets, const gchar *file, guint64 current, guint64 total,
             gpointer user_data)
{
  Fixture *fx = user_data;

  g_assert_cmpuint (current, <=, total == 0 ? current : total);
  g_ptr_array_add (fx->progress, g_strdup_printf ("%s %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT,
                                                  file, current, total));
}

static BerthK3sAssetFiles *
ensure (BerthK3sAssets *assets, const gchar *version, const gchar *arch, const gchar *local_dir,
        GCancellable *cancellable, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  berth_k3s_assets_ensure_async (assets, version, arch, local_dir, cancellable,
                                 berth_test_store_result, &result);
  berth_test_wait_result (&result, 120);
  return berth_k3s_assets_ensure_finish (assets, result, error);
}

static gchar *
release_file (Fixture *fx, const gchar *name)
{
  return g_build_filename (fx->releases_dir, VERSION, name, NULL);
}

static void
assert_same_contents (const gchar *a, const gchar *b)
{
  g_autofree gchar *ca = berth_test_read_file (a);
  g_autofree gchar *cb = berth_test_read_file (b);

  g_assert_cmpuint (strlen (ca), ==, strlen (cb));
  g_assert_true (g_str_equal (ca, cb));
}

/* The digest of the file @name of the release, from its checksum file. */
static gchar *
listed_digest (Fixture *fx, const gchar *name)
{
  g_autofree gchar *path = release_file (fx, "sha256sum-amd64.txt");
  g_autofree gchar *text = berth_test_read_file (path);
  g_autoptr (GHashTable) sums = berth_k3s_checksums_parse (text, strlen (text), path, NULL);

  g_assert_nonnull (sums);
  return g_strdup (g_hash_table_lookup (sums, name));
}

/* The entry of @url in the download cache holds no data, finished or not. */
static void
assert_not_cached (Fixture *fx, const gchar *url)
{
  g_autoptr (BerthDownloader) downloader = berth_downloader_new (fx->cache_dir);
  g_autofree gchar *entry = berth_downloader_get_entry_dir (downloader, url);
  g_autoptr (GDir) dir = g_dir_open (entry, 0, NULL);
  const gchar *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_test_message ("%s holds %s", entry, name);
      g_assert_false (g_str_has_prefix (name, "data"));
      g_assert_cmpstr (name, !=, "sha256.digest");
    }
}

static gboolean
progress_ends_with (Fixture *fx, const gchar *file, goffset size)
{
  g_autofree gchar *last
      = g_strdup_printf ("%s %" G_GOFFSET_FORMAT " %" G_GOFFSET_FORMAT, file, size, size);

  for (guint i = 0; i < fx->progress->len; i++)
    if (g_str_equal (g_ptr_array_index (fx->progress, i), last))
      return TRUE;
  return FALSE;
}

static goffset
file_size (const gchar *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_size;
}

static void
test_download (Fixture *fx, gconstpointer user_data)
{
  g_autoptr (BerthK3sAssets) assets = NULL;
  g_autoptr (BerthK3sAssetFiles) files = NULL;
  g_autoptr (BerthK3sAssetFiles) again = NULL;
  g_autoptr (BerthK3sAssetFiles) arm = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *binary = release_file (fx, "k3s");
  g_autofree gchar *images = release_file (fx, "k3s-airgap-images-amd64.tar.zst");
  g_autofree gchar *sums = release_file (fx, "sha256sum-amd64.txt");
  g_autofree gchar *cache_prefix = g_build_filename (fx->cache_dir, "by-url-sha256", NULL);
  g_auto (GStrv) requests = NULL;

  if (fx->mirror == NULL)
    return;
  assets = berth_k3s_assets_new (fx->cache_dir);
  g_signal_connect (assets, "progress", G_CALLBACK (on_progress), fx);
  files = ensure (assets, VERSION, "x86_64", NULL, NULL, &error);
  g_assert_no_error (error);

  g_assert_cmpstr (files->version, ==, VERSION);
  g_assert_true (g_str_has_prefix (files->binary, cache_prefix));
  g_assert_true (g_str_has_prefix (files->airgap_images, cache_prefix));
  g_assert_true (g_str_has_prefix (files->checksums, cache_prefix));
  g_assert_cmpstr (files->airgap_images_name, ==, "k3s-airgap-images-amd64.tar.zst");
  assert_same_contents (files->binary, binary);
  assert_same_contents (files->airgap_images, images);
  assert_same_contents (files->checksums, sums);

  /* Progress for each file, ending at its size. */
  g_assert_true (progress_ends_with (fx, "sha256sum-amd64.txt", file_size (sums)));
  g_assert_true (progress_ends_with (fx, "k3s", file_size (binary)));
  g_assert_true (progress_ends_with (fx, "k3s-airgap-images-amd64.tar.zst", file_size (images)));

  /* From the release layout, the version's "+" escaped as GitHub's URLs have it. */
  requests = berth_k3s_test_mirror_take_requests (fx->mirror);
  g_assert_cmpuint (g_strv_length (requests), ==, 3);
  g_assert_cmpstr (requests[0], ==, "GET /download/v1.33.6%2Bk3s1/sha256sum-amd64.txt");
  g_assert_cmpstr (requests[1], ==, "GET /download/v1.33.6%2Bk3s1/k3s");
  g_assert_cmpstr (requests[2], ==, "GET /download/v1.33.6%2Bk3s1/k3s-airgap-images-amd64.tar.zst");

  /* Again with the mirror gone: all from the cache. */
  g_clear_pointer (&fx->mirror, berth_k3s_test_mirror_free);
  again = ensure (assets, VERSION, "amd64", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again->binary, ==, files->binary);
  g_assert_cmpstr (again->airgap_images, ==, files->airgap_images);

  /* Another architecture is other files, which the cache does not have. */
  arm = ensure (assets, VERSION, "arm64", NULL, NULL, &error);
  g_assert_null (arm);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_DOWNLOAD);
  g_assert_nonnull (strstr (error->message, "sha256sum-arm64.txt"));
  g_assert_nonnull (strstr (error->message, "v1.33.6%2Bk3s1/sha256sum-arm64.txt"));
}

static void
test_download_arm64 (Fixture *fx, gconstpointer user_data)
{
  g_autoptr (BerthK3sAssets) assets = NULL;
  g_autoptr (BerthK3sAssetFiles) files = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *binary = g_build_filename (fx->releases_dir, VERSION, "k3s-arm64", NULL);

  if (fx->mirror == NULL)
    return;
  assets = berth_k3s_assets_new (fx->cache_dir);
  files = ensure (assets, "1.33.6+k3s1", "aarch64", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (files->version, ==, VERSION);
  assert_same_contents (files->binary, binary);
  g_assert_cmpstr (files->airgap_images_name, ==, "k3s-airgap-images-arm64.tar.zst");
}

/* The checksum file lies about the binary: the error names the file, the
 * URL and both digests, and the binary does not land in the cache. */
static void
test_bad_checksum (Fixture *fx, gconstpointer user_data)
{
  g_autoptr (BerthK3sAssets) assets = NULL;
  g_autoptr (BerthK3sAssetFiles) files = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *url = NULL;
  g_autofree gchar *actual = NULL;
  g_autofree gchar *expected = NULL;
  g_autofree gchar *binary = release_file (fx, "k3s");

  if (fx->mirror == NULL)
    return;
  berth_k3s_test_mirror_set_env (fx->mirror, NULL, NULL, "bad-checksum");
  assets = berth_k3s_assets_new (fx->cache_dir);
  files = ensure (assets, VERSION, "amd64", NULL, NULL, &error);
  g_assert_null (files);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_CHECKSUM);
  g_test_message ("%s", error->message);

  url = berth_k3s_test_mirror_url (fx->mirror, "bad-checksum", "/download/v1.33.6%2Bk3s1/k3s");
  actual = berth_checksum_file (BERTH_CHECKSUM_SHA256, binary, NULL, NULL);
  /* What the spoiled checksum file says: the digest of the real digest. */
  {
    g_autofree gchar *real = listed_digest (fx, "k3s");

    g_assert_cmpstr (real, ==, actual);
    expected = berth_checksum_data (BERTH_CHECKSUM_SHA256, (const guint8 *)real, strlen (real));
  }
  g_assert_nonnull (strstr (error->message, "“k3s”"));
  g_assert_nonnull (strstr (error->message, url));
  g_assert_nonnull (strstr (error->message, expected));
  g_assert_nonnull (strstr (error->message, actual));
  g_assert_nonnull (strstr (error->message, VERSION));
  assert_not_cached (fx, url);
}

/* An asset cut short: an error naming it, and nothing in the cache. */
static void
test_truncated (Fixture *fx, gconstpointer user_data)
{
  g_autoptr (BerthK3sAssets) assets = NULL;
  g_autoptr (BerthK3sAssetFiles) files = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *url = NULL;

  if (fx->mirror == NULL)
    return;
  berth_k3s_test_mirror_set_env (fx->mirror, NULL, NULL, "truncated");
  assets = berth_k3s_assets_new (fx->cache_dir);
  files = ensure (assets, VERSION, "amd64", NULL, NULL, &error);
  g_assert_null (files);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_DOWNLOAD);
  g_test_message ("%s", error->message);
  url = berth_k3s_test_mirror_url (fx->mirror, "truncated", "/download/v1.33.6%2Bk3s1/k3s");
  g_assert_nonnull (strstr (error->message, "“k3s”"));
  g_assert_nonnull (strstr (error->message, url));
  g_assert_nonnull (strstr (error->message, "truncated"));
  assert_not_cached (fx, url);
}

static void
test_server_error (Fixture *fx, gconstpointer user_data)
{
  g_autoptr (BerthK3sAssets) assets = NULL;
  g_autoptr (BerthK3sAssetFiles) files = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *url = NULL;

  if (fx->mirror == NULL)
    return;
  berth_k3s_test_mirror_set_env (fx->mirror, NULL, NULL, "status-500");
  assets = berth_k3s_assets_new (fx->cache_dir);
  files = ensure (assets, VERSION, "amd64", NULL, NULL, &error);
  g_assert_null (files);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_DOWNLOAD);
  url = berth_k3s_test_mirror_url (fx->mirror, "status-500",
                                   "/download/v1.33.6%2Bk3s1/sha256sum-amd64.txt");
  g_assert_nonnull (strstr (error->message, url));
  g_assert_nonnull (strstr (error->message, "HTTP 500"));
  assert_not_cached (fx, url);

  /* A release the mirror does not have: 404, named. */
  g_clear_error (&error);
  berth_k3s_test_mirror_set_env (fx->mirror, NULL, NULL, NULL);
  files = ensure (assets, "v1.99.0+k3s1", "amd64", NULL, NULL, &error);
  g_assert_null (files);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_DOWNLOAD);
  g_assert_nonnull (strstr (error->message, "HTTP 404"));
  g_assert_nonnull (strstr (error->message, "v1.99.0%2Bk3s1/sha256sum-amd64.txt"));
}

/* A mirror that never answers: a cancel ends the download at once. */
static void
test_hang_cancelled (Fixture *fx, gconstpointer user_data)
{
  g_autoptr (BerthK3sAssets) assets = NULL;
  g_autoptr (BerthK3sAssetFiles) files = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  gint64 cancelled_at;

  if (fx->mirror == NULL)
    return;
  berth_k3s_test_mirror_set_env (fx->mirror, NULL, NULL, "hang");
  assets = berth_k3s_assets_new (fx->cache_dir);
  berth_k3s_assets_ensure_async (assets, VERSION, "amd64", NULL, cancellable,
                                 berth_test_store_result, &result);
  g_assert_true (berth_k3s_test_mirror_wait_request (fx->mirror, "/broken/hang/", 60));
  cancelled_at = g_get_monotonic_time ();
  g_cancellable_cancel (cancellable);
  berth_test_wait_result (&result, 30);
  files = berth_k3s_assets_ensure_finish (assets, result, &error);
  g_assert_null (files);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - cancelled_at, <, 20 * G_USEC_PER_SEC);
}

/* Without the mirror's CA the download is refused, not done unverified. */
static void
test_untrusted (Fixture *fx, gconstpointer user_data)
{
  g_autoptr (BerthK3sAssets) assets = NULL;
  g_autoptr (BerthK3sAssets) trusting = NULL;
  g_autoptr (BerthK3sAssets) bad_env = NULL;
  g_autoptr (BerthK3sAssetFiles) files = NULL;
  g_autoptr (GError) error = NULL;

  if (fx->mirror == NULL)
    return;
  g_unsetenv ("BERTH_K3S_CA_FILE");
  assets = berth_k3s_assets_new (fx->cache_dir);
  files = ensure (assets, VERSION, "amd64", NULL, NULL, &error);
  g_assert_null (files);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_DOWNLOAD);
  g_assert_nonnull (strstr (error->message, "TLS"));
  g_clear_error (&error);

  /* The CA given through the API. */
  trusting = berth_k3s_assets_new (fx->cache_dir);
  g_assert_true (berth_k3s_assets_set_tls_ca_file (trusting, fx->mirror->ca_file, &error));
  files = ensure (trusting, VERSION, "amd64", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (files);

  /* A CA file that is not one: said when it is used, naming the variable. */
  {
    g_autofree gchar *not_pem = g_build_filename (fx->root, "not-a-ca.pem", NULL);

    berth_test_write_file (not_pem, "hello\n", 0644);
    g_assert_false (berth_k3s_assets_set_tls_ca_file (trusting, not_pem, &error));
    g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
    g_clear_error (&error);
    g_setenv ("BERTH_K3S_CA_FILE", not_pem, TRUE);
    bad_env = berth_k3s_assets_new (fx->cache_dir);
    g_clear_pointer (&files, berth_k3s_asset_files_free);
    files = ensure (bad_env, VERSION, "amd64", NULL, NULL, &error);
    g_assert_null (files);
    g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
    g_assert_nonnull (strstr (error->message, "BERTH_K3S_CA_FILE"));
    g_assert_nonnull (strstr (error->message, not_pem));
  }
}

static void
test_bad_arguments (void)
{
  g_autofree gchar *root = berth_test_make_root ("k3s-assets-args");
  g_autoptr (BerthK3sAssets) assets = berth_k3s_assets_new (root);
  g_autoptr (BerthK3sAssetFiles) files = NULL;
  g_autoptr (GError) error = NULL;

  files = ensure (assets, "v1.33.6", "amd64", NULL, NULL, &error);
  g_assert_null (files);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "v1.30.2+k3s1"));
  g_clear_error (&error);
  files = ensure (assets, VERSION, "riscv64", NULL, NULL, &error);
  g_assert_null (files);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "riscv64"));
  berth_test_rm_rf (root);
}

/* ---- a directory the user has ------------------------------------------------------ */

static void
test_local_dir (void)
{
  g_autofree gchar *root = berth_test_make_root ("k3s-local");
  g_autofree gchar *releases = g_build_filename (root, "assets", NULL);
  g_autofree gchar *dir = g_build_filename (releases, VERSION, NULL);
  g_autofree gchar *cache = g_build_filename (root, "cache", NULL);
  g_autofree gchar *binary = g_build_filename (dir, "k3s", NULL);
  g_autofree gchar *images = g_build_filename (dir, "k3s-airgap-images-amd64.tar.zst", NULL);
  g_autofree gchar *sums = g_build_filename (dir, "sha256sum-amd64.txt", NULL);
  g_autoptr (BerthK3sAssets) assets = NULL;
  g_autoptr (BerthK3sAssetFiles) files = NULL;
  g_autoptr (GError) error = NULL;

  if (!berth_k3s_test_mirror_available ())
    return;
  berth_k3s_test_make_release (releases, VERSION, "amd64");
  /* No URL is used: these point nowhere. */
  g_setenv ("BERTH_K3S_DOWNLOAD_URL", "https://127.0.0.1:1/download", TRUE);
  assets = berth_k3s_assets_new (cache);

  files = ensure (assets, VERSION, "amd64", dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (files->binary, ==, binary);
  g_assert_cmpstr (files->airgap_images, ==, images);
  g_assert_cmpstr (files->checksums, ==, sums);
  g_assert_cmpstr (files->airgap_images_name, ==, "k3s-airgap-images-amd64.tar.zst");
  g_assert_false (g_file_test (cache, G_FILE_TEST_EXISTS));
  g_clear_pointer (&files, berth_k3s_asset_files_free);

  /* A changed binary: named, with both digests. */
  {
    g_autofree gchar *listed = NULL;
    g_autofree gchar *actual = NULL;
    g_autofree gchar *text = berth_test_read_file (sums);
    g_autoptr (GHashTable) table = berth_k3s_checksums_parse (text, strlen (text), sums, NULL);

    listed = g_strdup (g_hash_table_lookup (table, "k3s"));
    berth_test_write_file (binary, "#!/bin/sh\necho changed\n", 0755);
    actual = berth_checksum_file (BERTH_CHECKSUM_SHA256, binary, NULL, NULL);
    files = ensure (assets, VERSION, "amd64", dir, NULL, &error);
    g_assert_null (files);
    g_assert_error (error, BERTH_ERROR, BERTH_ERROR_CHECKSUM);
    g_assert_nonnull (strstr (error->message, binary));
    g_assert_nonnull (strstr (error->message, listed));
    g_assert_nonnull (strstr (error->message, actual));
    g_clear_error (&error);
  }

  /* Made again, without the images: the binary alone will do. */
  berth_test_rm_rf (dir);
  berth_k3s_test_make_release (releases, VERSION, "amd64");
  g_unlink (images);
  files = ensure (assets, VERSION, "amd64", dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (files->airgap_images);
  g_assert_null (files->airgap_images_name);
  g_clear_pointer (&files, berth_k3s_asset_files_free);

  /* Images the checksum file does not list cannot be verified. */
  {
    g_autofree gchar *tar = g_build_filename (dir, "k3s-airgap-images-amd64.tar", NULL);

    berth_test_write_file (tar, "not listed\n", 0644);
    files = ensure (assets, VERSION, "amd64", dir, NULL, &error);
    g_assert_null (files);
    g_assert_error (error, BERTH_ERROR, BERTH_ERROR_CHECKSUM);
    g_assert_nonnull (strstr (error->message, tar));
    g_clear_error (&error);
  }

  /* No checksum file: what the directory needs. */
  g_unlink (sums);
  files = ensure (assets, VERSION, "amd64", dir, NULL, &error);
  g_assert_null (files);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "sha256sum-amd64.txt"));
  g_assert_nonnull (strstr (error->message, dir));

  g_unsetenv ("BERTH_K3S_DOWNLOAD_URL");
  berth_test_rm_rf (root);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/k3s/assets/names", test_names);
  g_test_add_func ("/k3s/assets/checksums-parse", test_checksums_parse);
  g_test_add_func ("/k3s/assets/bad-arguments", test_bad_arguments);
  g_test_add_func ("/k3s/assets/local-dir", test_local_dir);
  g_test_add ("/k3s/assets/download", Fixture, NULL, fixture_set_up, test_download,
              fixture_tear_down);
  g_test_add ("/k3s/assets/download-arm64", Fixture, NULL, fixture_set_up, test_download_arm64,
              fixture_tear_down);
  g_test_add ("/k3s/assets/bad-checksum", Fixture, NULL, fixture_set_up, test_bad_checksum,
              fixture_tear_down);
  g_test_add ("/k3s/assets/truncated", Fixture, NULL, fixture_set_up, test_truncated,
              fixture_tear_down);
  g_test_add ("/k3s/assets/server-error", Fixture, NULL, fixture_set_up, test_server_error,
              fixture_tear_down);
  g_test_add ("/k3s/assets/hang-cancelled", Fixture, NULL, fixture_set_up, test_hang_cancelled,
              fixture_tear_down);
  g_test_add ("/k3s/assets/untrusted", Fixture, NULL, fixture_set_up, test_untrusted,
              fixture_tear_down);
  return g_test_run ();
}
