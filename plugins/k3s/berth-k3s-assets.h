/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* What k3s needs for one version and architecture, as its GitHub release
 * publishes them (https://github.com/k3s-io/k3s/releases/download/<version>/,
 * or BERTH_K3S_DOWNLOAD_URL in place of that prefix's
 * "https://github.com/k3s-io/k3s/releases/download"):
 *   the binary ("k3s" on amd64, "k3s-arm64" on arm64),
 *   the air-gap images ("k3s-airgap-images-<arch>.tar.zst"),
 *   the checksums ("sha256sum-<arch>.txt").
 * Fetched through BerthDownloader into the Lima-layout download cache: the
 * checksum file first, then each asset verified against it (streamed, temp
 * name then rename). A mismatch or a truncated file never lands in the cache;
 * the error names the file, the URL and both digests.
 *
 * BERTH_K3S_CA_FILE, when set, names one more trusted CA (PEM) for these
 * downloads, as berth_k3s_assets_set_tls_ca_file() does: the local mirror
 * of the tests, or a private one.
 *
 * Signals:
 *   "progress" (const gchar *file_name, guint64 current, guint64 total) */
#define BERTH_TYPE_K3S_ASSETS (berth_k3s_assets_get_type ())
G_DECLARE_FINAL_TYPE (BerthK3sAssets, berth_k3s_assets, BERTH, K3S_ASSETS, GObject)

/* @download_cache: the Lima-layout cache (berth_paths_get_download_cache()). */
BerthK3sAssets *berth_k3s_assets_new (const gchar *download_cache);
/* An extra trusted CA (PEM) for the downloads: tests and private mirrors. */
gboolean berth_k3s_assets_set_tls_ca_file (BerthK3sAssets *self, const gchar *pem_file,
                                           GError **error);

/* Ensures the assets of @version ("v1.30.2+k3s1") for @arch ("amd64",
 * "arm64"). When @local_dir is not NULL the assets are taken from that
 * directory (an air-gapped machine: the same three file names), verified
 * against its checksum file, and nothing is downloaded.
 * Finishes with a BerthK3sAssetFiles. */
void berth_k3s_assets_ensure_async (BerthK3sAssets *self, const gchar *version, const gchar *arch,
                                    const gchar *local_dir, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data);

typedef struct
{
  gchar *version;
  gchar *binary;        /* host path of the k3s binary */
  gchar *airgap_images; /* host path of the images tarball; NULL when none is published */
  gchar *checksums;     /* host path of sha256sum-<arch>.txt */
  /* The images tarball's file name as published ("k3s-airgap-images-<arch>.tar.zst", or
   * ".tar" for older releases; k3s reads its compression from the name); NULL with
   * airgap_images. */
  gchar *airgap_images_name;
} BerthK3sAssetFiles;

void berth_k3s_asset_files_free (BerthK3sAssetFiles *files);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthK3sAssetFiles, berth_k3s_asset_files_free)

BerthK3sAssetFiles *berth_k3s_assets_ensure_finish (BerthK3sAssets *self, GAsyncResult *result,
                                                    GError **error);

/* "amd64" for "amd64" or "x86_64", "arm64" for "arm64" or "aarch64" (what
 * uname and QEMU say); NULL for an architecture k3s publishes nothing for. */
const gchar *berth_k3s_arch_normalize (const gchar *arch);
/* The host's architecture as k3s names it, or NULL. */
const gchar *berth_k3s_host_arch (void);
/* The names a release publishes for @arch (normalised or not): the binary
 * ("k3s", "k3s-arm64"), the checksums ("sha256sum-<arch>.txt"), and the
 * air-gap images tarballs, preferred first. */
const gchar *berth_k3s_binary_name (const gchar *arch);
gchar *berth_k3s_checksums_name (const gchar *arch);
GStrv berth_k3s_airgap_images_names (const gchar *arch);

/* Largest checksum file accepted (k3s's are a few hundred bytes). */
#define BERTH_K3S_CHECKSUMS_MAX_SIZE (1024 * 1024)

/* Reads a checksum file as sha256sum writes it: a line per file,
 * "<64 hex digits>  <name>" (or " *<name>" for binary mode); blank lines and
 * a final CR are allowed. Returns file name → lower-case hex digest. Refused,
 * with the line named: any other line, a name listed twice with different
 * digests, a NUL byte. @what names the file in messages. */
GHashTable *berth_k3s_checksums_parse (const gchar *data, gsize length, const gchar *what,
                                       GError **error);

G_END_DECLS
