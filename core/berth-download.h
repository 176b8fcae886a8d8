/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  BERTH_CHECKSUM_SHA256,
  BERTH_CHECKSUM_SHA512,
} BerthChecksumType;

/* Hex digest of a file or bytes, with GnuTLS (uses the CPU's SHA instructions). */
gchar *berth_checksum_file (BerthChecksumType type, const gchar *path,
                            GCancellable *cancellable, GError **error);
gchar *berth_checksum_data (BerthChecksumType type, const guint8 *data, gsize len);
/* Parses "sha256:<hex>", "sha512:<hex>" or a bare hex string (its length says
 * which). FALSE with an error naming the value and the allowed forms. */
gboolean berth_checksum_parse (const gchar *spec, BerthChecksumType *type_out,
                               gchar **hex_out, GError **error);

/* Downloads into the Lima-style cache:
 *   <cache_dir>/by-url-sha256/<sha256 of url>/{url,data,sha256.digest}
 * The body is streamed to a temporary file beside data, hashed as it arrives,
 * checked against the expected digest and the Content-Length, and only then
 * renamed into place. A cached entry whose digest matches is used without any
 * network access. */
#define BERTH_TYPE_DOWNLOADER (berth_downloader_get_type ())
G_DECLARE_FINAL_TYPE (BerthDownloader, berth_downloader, BERTH, DOWNLOADER, GObject)

BerthDownloader *berth_downloader_new (const gchar *cache_dir);
const gchar *berth_downloader_get_cache_dir (BerthDownloader *self);
/* Accept this CA (PEM file) in addition to the system's: for tests and for
 * private mirrors. */
gboolean berth_downloader_set_tls_ca_file (BerthDownloader *self, const gchar *pem_file,
                                           GError **error);
/* What the downloader trusts (the system's store with the CA files added to
 * it), for other HTTPS requests that must trust the same; NULL while it
 * uses libsoup's default. */
GTlsDatabase *
berth_downloader_get_tls_database (BerthDownloader *self);
/* The directory an URL is cached in (it need not exist). */
gchar *berth_downloader_get_entry_dir (BerthDownloader *self, const gchar *url);

/* @expected_digest: "sha256:<hex>" or "sha512:<hex>", or NULL to accept any
 * body (its sha256 is still recorded). Emits "progress" (guint64 received,
 * guint64 total — 0 when unknown) on the caller's main context. Returns the
 * path of the cached data file. */
void berth_downloader_fetch_async (BerthDownloader *self, const gchar *url,
                                   const gchar *expected_digest, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data);
gchar *berth_downloader_fetch_finish (BerthDownloader *self, GAsyncResult *result,
                                      GError **error);

G_END_DECLS
