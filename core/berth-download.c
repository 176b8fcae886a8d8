/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-download.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <gio/gunixoutputstream.h>
#include <glib/gstdio.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <libsoup/soup.h>

#include "berth-error.h"
#include "berth-version.h"

/* Files are hashed in pieces this big; large enough that GnuTLS's SHA
 * instructions, not the read() calls, set the pace. */
#define CHECKSUM_FILE_CHUNK (1024 * 1024)
/* Bodies are read (and written to the temporary file) in pieces this big. */
#define DOWNLOAD_CHUNK (256 * 1024)
/* "progress" is emitted at most this often, plus once at the end. */
#define PROGRESS_INTERVAL_USEC (G_USEC_PER_SEC / 20)
/* Values quoted in messages are cut to this many characters. */
#define QUOTE_MAX 80

static void
berth_gnutls_hash_free (gnutls_hash_hd_t hash)
{
  gnutls_hash_deinit (hash, NULL);
}

G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_hash_hd_t, berth_gnutls_hash_free, NULL)

/* ---------------------------------------------------------------------- */
/* Checksums                                                              */

static gnutls_digest_algorithm_t
checksum_algorithm (BerthChecksumType type)
{
  return type == BERTH_CHECKSUM_SHA512 ? GNUTLS_DIG_SHA512 : GNUTLS_DIG_SHA256;
}

static const gchar *
checksum_name (BerthChecksumType type)
{
  return type == BERTH_CHECKSUM_SHA512 ? "sha512" : "sha256";
}

static gsize
checksum_hex_length (BerthChecksumType type)
{
  return type == BERTH_CHECKSUM_SHA512 ? 128 : 64;
}

static gboolean
checksum_type_is_valid (BerthChecksumType type)
{
  return type == BERTH_CHECKSUM_SHA256 || type == BERTH_CHECKSUM_SHA512;
}

static gchar *
hex_encode (const guint8 *digest, gsize len)
{
  static const gchar hex[] = "0123456789abcdef";
  gchar *out = g_malloc (len * 2 + 1);

  for (gsize i = 0; i < len; i++)
    {
      out[i * 2] = hex[digest[i] >> 4];
      out[i * 2 + 1] = hex[digest[i] & 0x0f];
    }
  out[len * 2] = '\0';
  return out;
}

/* The current digest of @hash as lower-case hex; @hash is reset. */
static gchar *
hash_output_hex (gnutls_hash_hd_t hash, BerthChecksumType type)
{
  guint8 digest[64];

  gnutls_hash_output (hash, digest);
  return hex_encode (digest, gnutls_hash_get_len (checksum_algorithm (type)));
}

static gboolean
hash_init (gnutls_hash_hd_t *hash, BerthChecksumType type, GError **error)
{
  int ret = gnutls_hash_init (hash, checksum_algorithm (type));

  if (ret < 0)
    {
      *hash = NULL;
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "could not start a %s hash: %s",
                   checksum_name (type), gnutls_strerror (ret));
      return FALSE;
    }
  return TRUE;
}

/* A value cut to a readable length, for messages. */
static gchar *
quote_value (const gchar *value)
{
  g_autofree gchar *head = NULL;

  if (!g_utf8_validate (value, -1, NULL))
    return g_strdup ("(not valid UTF-8)");
  if (g_utf8_strlen (value, -1) <= QUOTE_MAX)
    return g_strdup (value);
  head = g_utf8_substring (value, 0, QUOTE_MAX);
  return g_strconcat (head, "…", NULL);
}

static gboolean
hash_fd (int fd, gnutls_hash_hd_t hash, const gchar *path, BerthChecksumType type,
         GCancellable *cancellable, GError **error)
{
  g_autofree guint8 *buffer = g_malloc (CHECKSUM_FILE_CHUNK);

  for (;;)
    {
      gssize n;

      if (g_cancellable_is_cancelled (cancellable))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_CANCELLED,
                       "computing the %s of %s was cancelled", checksum_name (type), path);
          return FALSE;
        }
      n = read (fd, buffer, CHECKSUM_FILE_CHUNK);
      if (n < 0)
        {
          int errsv = errno;

          if (errsv == EINTR)
            continue;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                       "could not read %s to compute its %s: %s", path, checksum_name (type),
                       g_strerror (errsv));
          berth_error_convert (error);
          return FALSE;
        }
      if (n == 0)
        return TRUE;
      gnutls_hash (hash, buffer, (size_t)n);
    }
}

gchar *
berth_checksum_file (BerthChecksumType type, const gchar *path, GCancellable *cancellable,
                     GError **error)
{
  g_auto (gnutls_hash_hd_t) hash = NULL;
  gboolean ok;
  int fd;

  g_return_val_if_fail (checksum_type_is_valid (type), NULL);
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!hash_init (&hash, type, error))
    return NULL;

  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int errsv = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   "could not open %s to compute its %s: %s", path, checksum_name (type),
                   g_strerror (errsv));
      berth_error_convert (error);
      return NULL;
    }
  ok = hash_fd (fd, hash, path, type, cancellable, error);
  g_close (fd, NULL);
  if (!ok)
    return NULL;
  return hash_output_hex (hash, type);
}

gchar *
berth_checksum_data (BerthChecksumType type, const guint8 *data, gsize len)
{
  guint8 digest[64];
  int ret;

  g_return_val_if_fail (checksum_type_is_valid (type), NULL);
  g_return_val_if_fail (data != NULL || len == 0, NULL);

  ret = gnutls_hash_fast (checksum_algorithm (type), data != NULL ? data : (const guint8 *)"", len,
                          digest);
  if (ret < 0)
    {
      /* Only when the algorithm is disabled (a FIPS policy, say), never because of the data. */
      g_warning ("could not compute a %s digest: %s", checksum_name (type), gnutls_strerror (ret));
      return NULL;
    }
  return hex_encode (digest, gnutls_hash_get_len (checksum_algorithm (type)));
}

static void
set_parse_error (GError **error, const gchar *spec, const gchar *reason)
{
  g_autofree gchar *quoted = quote_value (spec);

  g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
               "invalid checksum “%s”: %s; allowed forms are “sha256:<64 hex digits>”, "
               "“sha512:<128 hex digits>”, or the bare 64 or 128 hex digits",
               quoted, reason);
}

gboolean
berth_checksum_parse (const gchar *spec, BerthChecksumType *type_out, gchar **hex_out,
                      GError **error)
{
  const gchar *colon;
  const gchar *hex;
  BerthChecksumType type;
  gsize len;

  g_return_val_if_fail (spec != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  colon = strchr (spec, ':');
  if (colon != NULL)
    {
      gsize name_len = (gsize)(colon - spec);

      if (name_len == 6 && g_ascii_strncasecmp (spec, "sha256", 6) == 0)
        type = BERTH_CHECKSUM_SHA256;
      else if (name_len == 6 && g_ascii_strncasecmp (spec, "sha512", 6) == 0)
        type = BERTH_CHECKSUM_SHA512;
      else
        {
          g_autofree gchar *name = g_strndup (spec, name_len);
          g_autofree gchar *quoted = quote_value (name);
          g_autofree gchar *reason = g_strdup_printf ("unknown algorithm “%s”", quoted);

          set_parse_error (error, spec, reason);
          return FALSE;
        }
      hex = colon + 1;
      len = strlen (hex);
      if (len != checksum_hex_length (type))
        {
          g_autofree gchar *reason
              = g_strdup_printf ("%s needs %" G_GSIZE_FORMAT " hex digits, found %" G_GSIZE_FORMAT,
                                 checksum_name (type), checksum_hex_length (type), len);

          set_parse_error (error, spec, reason);
          return FALSE;
        }
    }
  else
    {
      hex = spec;
      len = strlen (hex);
      if (len == 64)
        type = BERTH_CHECKSUM_SHA256;
      else if (len == 128)
        type = BERTH_CHECKSUM_SHA512;
      else
        {
          g_autofree gchar *reason = g_strdup_printf (
              "a bare digest has 64 or 128 hex digits, found %" G_GSIZE_FORMAT " characters", len);

          set_parse_error (error, spec, reason);
          return FALSE;
        }
    }

  for (gsize i = 0; i < len; i++)
    {
      if (!g_ascii_isxdigit (hex[i]))
        {
          g_autofree gchar *reason = NULL;

          if (g_ascii_isprint (hex[i]))
            reason = g_strdup_printf ("“%c” at position %" G_GSIZE_FORMAT " is not a hex digit",
                                      hex[i], (gsize)(hex - spec) + i + 1);
          else
            reason
                = g_strdup_printf ("byte 0x%02x at position %" G_GSIZE_FORMAT " is not a hex digit",
                                   (guint)(guchar)hex[i], (gsize)(hex - spec) + i + 1);
          set_parse_error (error, spec, reason);
          return FALSE;
        }
    }

  if (type_out != NULL)
    *type_out = type;
  if (hex_out != NULL)
    *hex_out = g_ascii_strdown (hex, (gssize)len);
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* Trust: the session's previous database, then the CA files added to it.  */

/* GTlsDatabase has no way to add anchors to the system's store, so a CA file
 * is layered over what the session trusted before: a chain either store
 * accepts is accepted. This keeps public mirrors (and redirects to them)
 * working while a private CA is trusted too. The in-handshake checks GnuTLS
 * does only with its own database type (OCSP stapling) are then skipped for
 * this downloader. */
#define BERTH_TYPE_TLS_LAYERED_DATABASE (berth_tls_layered_database_get_type ())
G_DECLARE_FINAL_TYPE (BerthTlsLayeredDatabase, berth_tls_layered_database, BERTH,
                      TLS_LAYERED_DATABASE, GTlsDatabase)

struct _BerthTlsLayeredDatabase
{
  GTlsDatabase parent_instance;
  GTlsDatabase *lower; /* what was trusted before */
  GTlsDatabase *upper; /* the added CA file */
};

G_DEFINE_FINAL_TYPE (BerthTlsLayeredDatabase, berth_tls_layered_database, G_TYPE_TLS_DATABASE)

static GTlsCertificateFlags
berth_tls_layered_database_verify_chain (GTlsDatabase *database, GTlsCertificate *chain,
                                         const gchar *purpose, GSocketConnectable *identity,
                                         GTlsInteraction *interaction,
                                         GTlsDatabaseVerifyFlags flags, GCancellable *cancellable,
                                         GError **error)
{
  BerthTlsLayeredDatabase *self = BERTH_TLS_LAYERED_DATABASE (database);
  g_autoptr (GError) lower_error = NULL;
  g_autoptr (GError) upper_error = NULL;
  GTlsCertificateFlags lower;
  GTlsCertificateFlags upper;

  lower = g_tls_database_verify_chain (self->lower, chain, purpose, identity, interaction, flags,
                                       cancellable, &lower_error);
  if (lower == 0 && lower_error == NULL)
    return 0;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return G_TLS_CERTIFICATE_GENERIC_ERROR;

  upper = g_tls_database_verify_chain (self->upper, chain, purpose, identity, interaction, flags,
                                       cancellable, &upper_error);
  if (upper == 0 && upper_error == NULL)
    return 0;

  /* Report the view of the store that knew the issuer, if one did. */
  if (lower_error == NULL && (lower & G_TLS_CERTIFICATE_UNKNOWN_CA) == 0)
    return lower;
  if (upper_error != NULL)
    g_propagate_error (error, g_steal_pointer (&upper_error));
  return upper;
}

static GTlsCertificate *
berth_tls_layered_database_lookup_certificate_issuer (GTlsDatabase *database,
                                                      GTlsCertificate *certificate,
                                                      GTlsInteraction *interaction,
                                                      GTlsDatabaseLookupFlags flags,
                                                      GCancellable *cancellable, GError **error)
{
  BerthTlsLayeredDatabase *self = BERTH_TLS_LAYERED_DATABASE (database);
  GTlsCertificate *issuer;

  issuer = g_tls_database_lookup_certificate_issuer (self->upper, certificate, interaction, flags,
                                                     cancellable, error);
  if (issuer != NULL || (error != NULL && *error != NULL))
    return issuer;
  return g_tls_database_lookup_certificate_issuer (self->lower, certificate, interaction, flags,
                                                   cancellable, error);
}

static GList *
berth_tls_layered_database_lookup_certificates_issued_by (GTlsDatabase *database,
                                                          GByteArray *issuer_raw_dn,
                                                          GTlsInteraction *interaction,
                                                          GTlsDatabaseLookupFlags flags,
                                                          GCancellable *cancellable, GError **error)
{
  BerthTlsLayeredDatabase *self = BERTH_TLS_LAYERED_DATABASE (database);
  GList *upper;
  GList *lower;

  upper = g_tls_database_lookup_certificates_issued_by (self->upper, issuer_raw_dn, interaction,
                                                        flags, cancellable, error);
  if (error != NULL && *error != NULL)
    return upper;
  lower = g_tls_database_lookup_certificates_issued_by (self->lower, issuer_raw_dn, interaction,
                                                        flags, cancellable, error);
  return g_list_concat (upper, lower);
}

static gchar *
berth_tls_layered_database_create_certificate_handle (GTlsDatabase *database,
                                                      GTlsCertificate *certificate)
{
  BerthTlsLayeredDatabase *self = BERTH_TLS_LAYERED_DATABASE (database);
  gchar *handle = g_tls_database_create_certificate_handle (self->upper, certificate);

  if (handle != NULL)
    return handle;
  return g_tls_database_create_certificate_handle (self->lower, certificate);
}

static GTlsCertificate *
berth_tls_layered_database_lookup_certificate_for_handle (GTlsDatabase *database,
                                                          const gchar *handle,
                                                          GTlsInteraction *interaction,
                                                          GTlsDatabaseLookupFlags flags,
                                                          GCancellable *cancellable, GError **error)
{
  BerthTlsLayeredDatabase *self = BERTH_TLS_LAYERED_DATABASE (database);
  GTlsCertificate *certificate;

  certificate = g_tls_database_lookup_certificate_for_handle (self->upper, handle, interaction,
                                                              flags, cancellable, error);
  if (certificate != NULL || (error != NULL && *error != NULL))
    return certificate;
  return g_tls_database_lookup_certificate_for_handle (self->lower, handle, interaction, flags,
                                                       cancellable, error);
}

static void
berth_tls_layered_database_finalize (GObject *object)
{
  BerthTlsLayeredDatabase *self = BERTH_TLS_LAYERED_DATABASE (object);

  g_clear_object (&self->lower);
  g_clear_object (&self->upper);
  G_OBJECT_CLASS (berth_tls_layered_database_parent_class)->finalize (object);
}

static void
berth_tls_layered_database_class_init (BerthTlsLayeredDatabaseClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GTlsDatabaseClass *database_class = G_TLS_DATABASE_CLASS (klass);

  object_class->finalize = berth_tls_layered_database_finalize;
  database_class->verify_chain = berth_tls_layered_database_verify_chain;
  database_class->lookup_certificate_issuer = berth_tls_layered_database_lookup_certificate_issuer;
  database_class->lookup_certificates_issued_by
      = berth_tls_layered_database_lookup_certificates_issued_by;
  database_class->create_certificate_handle = berth_tls_layered_database_create_certificate_handle;
  database_class->lookup_certificate_for_handle
      = berth_tls_layered_database_lookup_certificate_for_handle;
}

static void
berth_tls_layered_database_init (BerthTlsLayeredDatabase *self)
{
}

static GTlsDatabase *
berth_tls_layered_database_new (GTlsDatabase *lower, GTlsDatabase *upper)
{
  BerthTlsLayeredDatabase *self = g_object_new (BERTH_TYPE_TLS_LAYERED_DATABASE, NULL);

  self->lower = g_object_ref (lower);
  self->upper = g_object_ref (upper);
  return G_TLS_DATABASE (self);
}

/* ---------------------------------------------------------------------- */
/* BerthDownloader                                                        */

struct _BerthDownloader
{
  GObject parent_instance;
  gchar *cache_dir;
  SoupSession *session;
};

G_DEFINE_FINAL_TYPE (BerthDownloader, berth_downloader, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_CACHE_DIR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  SIGNAL_PROGRESS,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
berth_downloader_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  BerthDownloader *self = BERTH_DOWNLOADER (object);

  switch (prop_id)
    {
    case PROP_CACHE_DIR:
      g_value_set_string (value, self->cache_dir);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
berth_downloader_set_property (GObject *object, guint prop_id, const GValue *value,
                               GParamSpec *pspec)
{
  BerthDownloader *self = BERTH_DOWNLOADER (object);

  switch (prop_id)
    {
    case PROP_CACHE_DIR:
      g_free (self->cache_dir);
      self->cache_dir = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
berth_downloader_dispose (GObject *object)
{
  BerthDownloader *self = BERTH_DOWNLOADER (object);

  g_clear_object (&self->session);
  G_OBJECT_CLASS (berth_downloader_parent_class)->dispose (object);
}

static void
berth_downloader_finalize (GObject *object)
{
  BerthDownloader *self = BERTH_DOWNLOADER (object);

  g_free (self->cache_dir);
  G_OBJECT_CLASS (berth_downloader_parent_class)->finalize (object);
}

static void
berth_downloader_class_init (BerthDownloaderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = berth_downloader_get_property;
  object_class->set_property = berth_downloader_set_property;
  object_class->dispose = berth_downloader_dispose;
  object_class->finalize = berth_downloader_finalize;

  /**
   * BerthDownloader:cache-dir:
   *
   * The directory holding "by-url-sha256/".
   */
  properties[PROP_CACHE_DIR]
      = g_param_spec_string ("cache-dir", NULL, NULL, NULL,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * BerthDownloader::progress:
   * @received: bytes received so far
   * @total: the body's size from Content-Length (or the file's size), 0 when unknown
   *
   * Emitted at most about 20 times a second while a body arrives, and once at the end
   * with @received equal to @total (for a body of unknown size the last emission
   * gives @received as @total). Not emitted for a cache hit.
   */
  signals[SIGNAL_PROGRESS]
      = g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 2, G_TYPE_UINT64, G_TYPE_UINT64);
}

static void
berth_downloader_init (BerthDownloader *self)
{
  self->session = soup_session_new_with_options ("user-agent", "berth/" BERTH_VERSION_STRING, NULL);
  /* Digests are of the bytes as served: never let libsoup undo a Content-Encoding. */
  soup_session_remove_feature_by_type (self->session, SOUP_TYPE_CONTENT_DECODER);
}

BerthDownloader *
berth_downloader_new (const gchar *cache_dir)
{
  g_return_val_if_fail (cache_dir != NULL, NULL);

  return g_object_new (BERTH_TYPE_DOWNLOADER, "cache-dir", cache_dir, NULL);
}

const gchar *
berth_downloader_get_cache_dir (BerthDownloader *self)
{
  g_return_val_if_fail (BERTH_IS_DOWNLOADER (self), NULL);

  return self->cache_dir;
}

/* Each call trusts one more CA file, on top of the system's store and of the
 * files given before (see BerthTlsLayeredDatabase). */
gboolean
berth_downloader_set_tls_ca_file (BerthDownloader *self, const gchar *pem_file, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GTlsDatabase) file_database = NULL;
  GList *certificates;
  GTlsDatabase *current;
  guint n_certificates;

  g_return_val_if_fail (BERTH_IS_DOWNLOADER (self), FALSE);
  g_return_val_if_fail (pem_file != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!g_file_test (pem_file, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                   "cannot use the CA file %s: it does not exist; give the path of a PEM file "
                   "holding the CA certificate",
                   pem_file);
      return FALSE;
    }

  certificates = g_tls_certificate_list_new_from_file (pem_file, &local_error);
  n_certificates = g_list_length (certificates);
  g_list_free_full (certificates, g_object_unref);
  if (local_error != NULL || n_certificates == 0)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "cannot use the CA file %s: %s; expected a PEM file with one or more "
                   "“-----BEGIN CERTIFICATE-----” blocks",
                   pem_file,
                   local_error != NULL ? local_error->message : "it holds no certificate");
      return FALSE;
    }

  file_database = g_tls_file_database_new (pem_file, &local_error);
  if (file_database == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED, "cannot use the CA file %s: %s",
                   pem_file, local_error->message);
      return FALSE;
    }

  current = soup_session_get_tls_database (self->session);
  if (current == NULL)
    {
      soup_session_set_tls_database (self->session, file_database);
    }
  else
    {
      g_autoptr (GTlsDatabase) layered = berth_tls_layered_database_new (current, file_database);

      soup_session_set_tls_database (self->session, layered);
    }
  return TRUE;
}

GTlsDatabase *
berth_downloader_get_tls_database (BerthDownloader *self)
{
  g_return_val_if_fail (BERTH_IS_DOWNLOADER (self), NULL);

  return soup_session_get_tls_database (self->session);
}

static gchar *
entry_dir_for_url (BerthDownloader *self, const gchar *url)
{
  g_autofree gchar *url_hash
      = berth_checksum_data (BERTH_CHECKSUM_SHA256, (const guint8 *)url, strlen (url));

  return g_build_filename (self->cache_dir, "by-url-sha256", url_hash, NULL);
}

gchar *
berth_downloader_get_entry_dir (BerthDownloader *self, const gchar *url)
{
  g_return_val_if_fail (BERTH_IS_DOWNLOADER (self), NULL);
  g_return_val_if_fail (url != NULL, NULL);

  return entry_dir_for_url (self, url);
}

/* ---------------------------------------------------------------------- */
/* Fetching                                                               */

typedef struct
{
  gchar *url;
  gboolean is_file;
  GUri *uri; /* http and https only */
  gchar *entry_dir;
  gchar *data_path;
  gchar *digest_path;
  gchar *url_path;

  gboolean has_expected;
  BerthChecksumType expected_type;
  gchar *expected_hex;

  gchar *tmp_path; /* set while the temporary file is ours to remove */
  GOutputStream *output;
  GInputStream *input;
  SoupMessage *message;
  GBytes *pending; /* the chunk being written */

  gnutls_hash_hd_t sha256;
  gnutls_hash_hd_t sha512; /* only when a sha512 digest is expected */
  guint64 received;
  guint64 total;
  gint64 last_progress_usec;
  gchar *sha256_hex;
} FetchData;

/* Closes and removes the temporary file, if there is one. */
static void
fetch_data_discard_temp (FetchData *data)
{
  if (data->output != NULL)
    {
      g_output_stream_close (data->output, NULL, NULL);
      g_clear_object (&data->output);
    }
  if (data->tmp_path != NULL)
    {
      if (g_unlink (data->tmp_path) != 0)
        {
          int errsv = errno;

          if (errsv != ENOENT)
            g_warning ("could not remove the partial download %s: %s", data->tmp_path,
                       g_strerror (errsv));
        }
      g_clear_pointer (&data->tmp_path, g_free);
    }
}

static void
fetch_data_close_input (FetchData *data)
{
  if (data->input != NULL)
    {
      /* An unfinished HTTP body is not drained: libsoup drops the connection. */
      g_input_stream_close (data->input, NULL, NULL);
      g_clear_object (&data->input);
    }
}

static void
fetch_data_free (FetchData *data)
{
  fetch_data_close_input (data);
  fetch_data_discard_temp (data);
  g_clear_pointer (&data->sha256, berth_gnutls_hash_free);
  g_clear_pointer (&data->sha512, berth_gnutls_hash_free);
  g_clear_pointer (&data->pending, g_bytes_unref);
  g_clear_object (&data->message);
  g_clear_pointer (&data->uri, g_uri_unref);
  g_free (data->url);
  g_free (data->entry_dir);
  g_free (data->data_path);
  g_free (data->digest_path);
  g_free (data->url_path);
  g_free (data->expected_hex);
  g_free (data->sha256_hex);
  g_free (data);
}

static void
fetch_fail (GTask *task, GError *error)
{
  FetchData *data = g_task_get_task_data (task);

  fetch_data_close_input (data);
  fetch_data_discard_temp (data);
  g_task_return_error (task, error);
}

/* A GIO, TLS, resolver or libsoup error while transferring, as a BERTH_ERROR that
 * names the URL. */
static GError *
transfer_error (GTask *task, const GError *cause)
{
  FetchData *data = g_task_get_task_data (task);

  if (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      || g_cancellable_is_cancelled (g_task_get_cancellable (task)))
    return g_error_new (BERTH_ERROR, BERTH_ERROR_CANCELLED, "downloading %s was cancelled",
                        data->url);
  if (cause->domain == BERTH_ERROR)
    return g_error_copy (cause);
  if (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return g_error_new (BERTH_ERROR, BERTH_ERROR_DOWNLOAD,
                        "downloading %s failed: the connection was refused (%s); check that the "
                        "server is running and that the URL's host and port are right",
                        data->url, cause->message);
  if (cause->domain == G_RESOLVER_ERROR)
    return g_error_new (BERTH_ERROR, BERTH_ERROR_DOWNLOAD,
                        "downloading %s failed: the host name could not be resolved (%s); check "
                        "the URL and the network connection",
                        data->url, cause->message);
  if (cause->domain == G_TLS_ERROR)
    return g_error_new (BERTH_ERROR, BERTH_ERROR_DOWNLOAD,
                        "downloading %s failed: the TLS connection failed: %s; if the server "
                        "uses a private certificate authority, give its CA file",
                        data->url, cause->message);
  return g_error_new (BERTH_ERROR, BERTH_ERROR_DOWNLOAD, "downloading %s failed: %s", data->url,
                      cause->message);
}

static void
fetch_fail_transfer (GTask *task, const GError *cause)
{
  fetch_fail (task, transfer_error (task, cause));
}

static void
emit_progress (GTask *task, gboolean last)
{
  FetchData *data = g_task_get_task_data (task);
  gint64 now = g_get_monotonic_time ();
  guint64 total = data->total;

  if (!last && data->last_progress_usec != 0
      && now - data->last_progress_usec < PROGRESS_INTERVAL_USEC)
    return;
  data->last_progress_usec = now;
  if (last && total == 0)
    total = data->received;
  g_signal_emit (g_task_get_source_object (task), signals[SIGNAL_PROGRESS], 0, data->received,
                 total);
}

/* Runs in a worker: fsync, close, then url, data and sha256.digest, in an order
 * that never pairs a recorded digest with other data. */
static void
commit_thread (GTask *subtask, gpointer source_object, gpointer task_data,
               GCancellable *cancellable)
{
  FetchData *data = task_data;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *digest = g_strconcat ("sha256:", data->sha256_hex, NULL);
  int fd = g_unix_output_stream_get_fd (G_UNIX_OUTPUT_STREAM (data->output));
  int dir_fd;

  if (fsync (fd) != 0)
    {
      int errsv = errno;

      g_task_return_new_error (subtask, BERTH_ERROR, BERTH_ERROR_FAILED,
                               "could not store the download of %s: flushing %s failed: %s",
                               data->url, data->tmp_path, g_strerror (errsv));
      return;
    }
  if (!g_output_stream_close (data->output, NULL, &error))
    {
      g_task_return_new_error (subtask, BERTH_ERROR, BERTH_ERROR_FAILED,
                               "could not store the download of %s: closing %s failed: %s",
                               data->url, data->tmp_path, error->message);
      return;
    }
  if (!g_file_set_contents_full (data->url_path, data->url, -1, G_FILE_SET_CONTENTS_CONSISTENT,
                                 0644, &error))
    {
      g_task_return_new_error (subtask, BERTH_ERROR, BERTH_ERROR_FAILED,
                               "could not store the download of %s: %s", data->url, error->message);
      return;
    }
  /* Without a digest file the entry is not a cache hit, so a reader never
   * takes the old digest for the new data, nor the reverse. */
  if (g_unlink (data->digest_path) != 0 && errno != ENOENT)
    {
      int errsv = errno;

      g_task_return_new_error (subtask, BERTH_ERROR, BERTH_ERROR_FAILED,
                               "could not store the download of %s: removing the old %s failed: "
                               "%s",
                               data->url, data->digest_path, g_strerror (errsv));
      return;
    }
  if (g_rename (data->tmp_path, data->data_path) != 0)
    {
      int errsv = errno;

      g_task_return_new_error (subtask, BERTH_ERROR, BERTH_ERROR_FAILED,
                               "could not store the download of %s: renaming %s to %s failed: %s",
                               data->url, data->tmp_path, data->data_path, g_strerror (errsv));
      return;
    }
  if (!g_file_set_contents_full (data->digest_path, digest, -1, G_FILE_SET_CONTENTS_CONSISTENT,
                                 0644, &error))
    {
      /* Data without its digest would never be used: do not leave it. */
      g_unlink (data->data_path);
      g_task_return_new_error (subtask, BERTH_ERROR, BERTH_ERROR_FAILED,
                               "could not store the download of %s: %s", data->url, error->message);
      return;
    }

  /* Make the rename itself durable. */
  dir_fd = g_open (data->entry_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (dir_fd >= 0)
    {
      fsync (dir_fd);
      g_close (dir_fd, NULL);
    }
  g_task_return_boolean (subtask, TRUE);
}

static void
commit_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  FetchData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  g_clear_object (&data->output);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      fetch_fail (task, g_steal_pointer (&error));
      return;
    }
  /* Renamed into place: no longer ours to remove. */
  g_clear_pointer (&data->tmp_path, g_free);
  g_task_return_pointer (task, g_strdup (data->data_path), g_free);
}

static void
finish_transfer (GTask *task)
{
  FetchData *data = g_task_get_task_data (task);
  g_autoptr (GTask) subtask = NULL;

  fetch_data_close_input (data);
  emit_progress (task, TRUE);

  data->sha256_hex = hash_output_hex (data->sha256, BERTH_CHECKSUM_SHA256);
  if (data->has_expected)
    {
      g_autofree gchar *actual = NULL;

      if (data->expected_type == BERTH_CHECKSUM_SHA512)
        actual = hash_output_hex (data->sha512, BERTH_CHECKSUM_SHA512);
      else
        actual = g_strdup (data->sha256_hex);
      if (g_strcmp0 (actual, data->expected_hex) != 0)
        {
          const gchar *name = checksum_name (data->expected_type);

          fetch_fail (task, g_error_new (BERTH_ERROR, BERTH_ERROR_CHECKSUM,
                                         "checksum mismatch for %s: expected %s:%s, got %s:%s; "
                                         "the download was discarded (check the URL and the "
                                         "expected digest)",
                                         data->url, name, data->expected_hex, name, actual));
          return;
        }
    }

  /* No source object: the worker must not hold the last reference to the
   * downloader (its SoupSession belongs to this thread). */
  subtask = g_task_new (NULL, NULL, commit_cb, g_object_ref (task));
  g_task_set_source_tag (subtask, finish_transfer);
  g_task_set_task_data (subtask, data, NULL);
  g_task_run_in_thread (subtask, commit_thread);
}

static void
read_next (GTask *task);

static void
write_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  FetchData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  g_clear_pointer (&data->pending, g_bytes_unref);
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
          || g_cancellable_is_cancelled (g_task_get_cancellable (task)))
        {
          fetch_fail_transfer (task, error);
          return;
        }
      fetch_fail (task, g_error_new (BERTH_ERROR, BERTH_ERROR_DOWNLOAD,
                                     "downloading %s failed: could not write to %s: %s; check "
                                     "the free space in %s",
                                     data->url, data->tmp_path, error->message, data->entry_dir));
      return;
    }
  emit_progress (task, FALSE);
  read_next (task);
}

static void
read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  FetchData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  gsize size;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  if (bytes == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT) && data->total > 0
          && !g_cancellable_is_cancelled (g_task_get_cancellable (task)))
        {
          fetch_fail (task, g_error_new (BERTH_ERROR, BERTH_ERROR_DOWNLOAD,
                                         "downloading %s failed: the body is truncated: received "
                                         "%" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                                         " bytes before the connection closed; try again",
                                         data->url, data->received, data->total));
          return;
        }
      fetch_fail_transfer (task, error);
      return;
    }

  size = g_bytes_get_size (bytes);
  if (size == 0)
    {
      if (data->total > 0 && data->received < data->total)
        {
          fetch_fail (task, g_error_new (BERTH_ERROR, BERTH_ERROR_DOWNLOAD,
                                         "downloading %s failed: the body is truncated: received "
                                         "%" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                                         " bytes; try again",
                                         data->url, data->received, data->total));
          return;
        }
      if (data->total > 0 && data->received > data->total)
        {
          fetch_fail (task, g_error_new (BERTH_ERROR, BERTH_ERROR_DOWNLOAD,
                                         "downloading %s failed: received %" G_GUINT64_FORMAT
                                         " bytes, more than the %" G_GUINT64_FORMAT
                                         " announced (did the file change while it was being "
                                         "copied?); try again",
                                         data->url, data->received, data->total));
          return;
        }
      finish_transfer (task);
      return;
    }

  gnutls_hash (data->sha256, g_bytes_get_data (bytes, NULL), size);
  if (data->sha512 != NULL)
    gnutls_hash (data->sha512, g_bytes_get_data (bytes, NULL), size);
  data->received += size;

  data->pending = g_steal_pointer (&bytes);
  g_output_stream_write_all_async (data->output, g_bytes_get_data (data->pending, NULL), size,
                                   G_PRIORITY_DEFAULT, g_task_get_cancellable (task), write_cb,
                                   g_object_ref (task));
}

static void
read_next (GTask *task)
{
  FetchData *data = g_task_get_task_data (task);

  g_input_stream_read_bytes_async (data->input, DOWNLOAD_CHUNK, G_PRIORITY_DEFAULT,
                                   g_task_get_cancellable (task), read_cb, g_object_ref (task));
}

static void
send_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  FetchData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  SoupMessageHeaders *headers;
  guint status;

  data->input = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (data->input == NULL)
    {
      fetch_fail_transfer (task, error);
      return;
    }

  status = soup_message_get_status (data->message);
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      const gchar *reason = soup_message_get_reason_phrase (data->message);

      if (reason == NULL || *reason == '\0')
        reason = soup_status_get_phrase (status);
      fetch_fail (task,
                  g_error_new (BERTH_ERROR, BERTH_ERROR_DOWNLOAD,
                               "downloading %s failed: HTTP %u %s", data->url, status, reason));
      return;
    }

  headers = soup_message_get_response_headers (data->message);
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH)
    data->total = (guint64)soup_message_headers_get_content_length (headers);
  read_next (task);
}

static void
file_query_info_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  FetchData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GFileInfo) info = NULL;

  info = g_file_input_stream_query_info_finish (G_FILE_INPUT_STREAM (source), result, &error);
  if (info == NULL)
    {
      fetch_fail_transfer (task, error);
      return;
    }
  if (g_file_info_get_file_type (info) == G_FILE_TYPE_REGULAR)
    data->total = (guint64)g_file_info_get_size (info);
  read_next (task);
}

static void
file_read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  FetchData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  GFileInputStream *stream;

  stream = g_file_read_finish (G_FILE (source), result, &error);
  if (stream == NULL)
    {
      fetch_fail_transfer (task, error);
      return;
    }
  data->input = G_INPUT_STREAM (stream);
  g_file_input_stream_query_info_async (
      stream, G_FILE_ATTRIBUTE_STANDARD_TYPE "," G_FILE_ATTRIBUTE_STANDARD_SIZE, G_PRIORITY_DEFAULT,
      g_task_get_cancellable (task), file_query_info_cb, g_object_ref (task));
}

static void
start_transfer (GTask *task)
{
  BerthDownloader *self = g_task_get_source_object (task);
  FetchData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *template = NULL;
  int fd;

  if (!hash_init (&data->sha256, BERTH_CHECKSUM_SHA256, &error)
      || (data->has_expected && data->expected_type == BERTH_CHECKSUM_SHA512
          && !hash_init (&data->sha512, BERTH_CHECKSUM_SHA512, &error)))
    {
      fetch_fail (task, g_steal_pointer (&error));
      return;
    }

  template = g_build_filename (data->entry_dir, "data.tmp-XXXXXX", NULL);
  fd = g_mkstemp_full (template, O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      int errsv = errno;

      fetch_fail (task, g_error_new (BERTH_ERROR, BERTH_ERROR_FAILED,
                                     "downloading %s failed: could not create a temporary file "
                                     "in %s: %s",
                                     data->url, data->entry_dir, g_strerror (errsv)));
      return;
    }
  data->tmp_path = g_steal_pointer (&template);
  data->output = g_unix_output_stream_new (fd, TRUE);

  if (data->is_file)
    {
      g_autoptr (GFile) file = g_file_new_for_uri (data->url);

      g_file_read_async (file, G_PRIORITY_DEFAULT, g_task_get_cancellable (task), file_read_cb,
                         g_object_ref (task));
      return;
    }

  data->message = soup_message_new_from_uri (SOUP_METHOD_GET, data->uri);
  soup_session_send_async (self->session, data->message, G_PRIORITY_DEFAULT,
                           g_task_get_cancellable (task), send_cb, g_object_ref (task));
}

/* Runs in a worker: creates the entry directory and says whether its data can
 * be used as it is. */
static void
cache_check_thread (GTask *subtask, gpointer source_object, gpointer task_data,
                    GCancellable *cancellable)
{
  FetchData *data = task_data;
  g_autofree gchar *recorded = NULL;
  g_autofree gchar *recorded_hex = NULL;
  g_autofree gchar *actual = NULL;
  g_autoptr (GError) error = NULL;
  BerthChecksumType recorded_type;

  if (g_mkdir_with_parents (data->entry_dir, 0755) != 0)
    {
      int errsv = errno;

      g_task_return_new_error (subtask, BERTH_ERROR, BERTH_ERROR_FAILED,
                               "downloading %s failed: could not create the cache directory %s: "
                               "%s",
                               data->url, data->entry_dir, g_strerror (errsv));
      return;
    }

  if (!g_file_test (data->data_path, G_FILE_TEST_IS_REGULAR)
      || !g_file_get_contents (data->digest_path, &recorded, NULL, NULL)
      || !berth_checksum_parse (g_strstrip (recorded), &recorded_type, &recorded_hex, NULL)
      || recorded_type != BERTH_CHECKSUM_SHA256)
    {
      g_task_return_boolean (subtask, FALSE);
      return;
    }

  if (!data->has_expected)
    {
      g_task_return_boolean (subtask, TRUE);
      return;
    }
  if (data->expected_type == BERTH_CHECKSUM_SHA256)
    {
      g_task_return_boolean (subtask, g_str_equal (recorded_hex, data->expected_hex));
      return;
    }

  /* The record is a sha256: a sha512 can only be checked on the data itself. */
  actual = berth_checksum_file (data->expected_type, data->data_path, cancellable, &error);
  if (actual == NULL && g_error_matches (error, BERTH_ERROR, BERTH_ERROR_CANCELLED))
    {
      g_task_return_error (subtask, g_steal_pointer (&error));
      return;
    }
  g_task_return_boolean (subtask, actual != NULL && g_str_equal (actual, data->expected_hex));
}

static void
cache_check_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  FetchData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  gboolean hit;

  hit = g_task_propagate_boolean (G_TASK (result), &error);
  if (error != NULL)
    {
      fetch_fail_transfer (task, error);
      return;
    }
  if (g_cancellable_is_cancelled (g_task_get_cancellable (task)))
    {
      fetch_fail (task, g_error_new (BERTH_ERROR, BERTH_ERROR_CANCELLED,
                                     "downloading %s was cancelled", data->url));
      return;
    }
  if (hit)
    {
      g_debug ("%s: using the cached %s", data->url, data->data_path);
      g_task_return_pointer (task, g_strdup (data->data_path), g_free);
      return;
    }
  start_transfer (task);
}

void
berth_downloader_fetch_async (BerthDownloader *self, const gchar *url, const gchar *expected_digest,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GTask) subtask = NULL;
  g_autoptr (GError) error = NULL;
  FetchData *data;
  const gchar *scheme;

  g_return_if_fail (BERTH_IS_DOWNLOADER (self));
  g_return_if_fail (url != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, berth_downloader_fetch_async);
  /* Cancellation is reported by the steps themselves, as BERTH_ERROR_CANCELLED. */
  g_task_set_check_cancellable (task, FALSE);

  data = g_new0 (FetchData, 1);
  data->url = g_strdup (url);
  g_task_set_task_data (task, data, (GDestroyNotify)fetch_data_free);

  scheme = g_uri_peek_scheme (url);
  if (scheme == NULL)
    {
      g_autofree gchar *quoted = quote_value (url);

      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                               "cannot download “%s”: it is not a URL; give an http://, "
                               "https:// or file:// URL",
                               quoted);
      return;
    }
  if (g_str_equal (scheme, "file"))
    {
      g_autofree gchar *path = g_filename_from_uri (url, NULL, &error);

      if (path == NULL)
        {
          g_autofree gchar *quoted = quote_value (url);

          g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                                   "cannot download “%s”: %s; a file URL looks like "
                                   "file:///path/to/file",
                                   quoted, error->message);
          return;
        }
      data->is_file = TRUE;
    }
  else if (g_str_equal (scheme, "http") || g_str_equal (scheme, "https"))
    {
      data->uri = g_uri_parse (url, SOUP_HTTP_URI_FLAGS, &error);
      if (data->uri == NULL || g_uri_get_host (data->uri) == NULL
          || *g_uri_get_host (data->uri) == '\0')
        {
          g_autofree gchar *quoted = quote_value (url);

          g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                                   "cannot download “%s”: %s", quoted,
                                   error != NULL ? error->message : "the URL has no host");
          return;
        }
    }
  else
    {
      g_autofree gchar *quoted = quote_value (url);

      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                               "cannot download “%s”: the scheme “%s” is not supported; use "
                               "http://, https:// or file://",
                               quoted, scheme);
      return;
    }

  if (expected_digest != NULL)
    {
      if (!berth_checksum_parse (expected_digest, &data->expected_type, &data->expected_hex,
                                 &error))
        {
          g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                                   "cannot download %s: %s", url, error->message);
          return;
        }
      data->has_expected = TRUE;
    }

  data->entry_dir = entry_dir_for_url (self, url);
  data->data_path = g_build_filename (data->entry_dir, "data", NULL);
  data->digest_path = g_build_filename (data->entry_dir, "sha256.digest", NULL);
  data->url_path = g_build_filename (data->entry_dir, "url", NULL);

  /* No source object, as in finish_transfer (). */
  subtask = g_task_new (NULL, cancellable, cache_check_cb, g_object_ref (task));
  g_task_set_source_tag (subtask, cache_check_thread);
  g_task_set_task_data (subtask, data, NULL);
  g_task_run_in_thread (subtask, cache_check_thread);
}

gchar *
berth_downloader_fetch_finish (BerthDownloader *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (BERTH_IS_DOWNLOADER (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == berth_downloader_fetch_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
