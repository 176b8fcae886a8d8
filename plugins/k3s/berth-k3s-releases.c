/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Berth — the k3s versions a user may pick: channels and GitHub releases,
 * cached in k3s-versions.json, with a bundled list for offline use. */

#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "berth-error.h"
#include "berth-file.h"
#include "berth-k3s-assets.h"
#include "berth-k3s-release-data.h"
#include "berth-k3s-releases.h"

#define DEFAULT_CHANNELS_URL "https://update.k3s.io/v1-release/channels"
#define DEFAULT_RELEASES_URL "https://api.github.com/repos/k3s-io/k3s/releases?per_page=100"
#define CACHE_FILE_NAME "k3s-versions.json"
#define BUNDLED_FILE_NAME "k3s-versions.json"
/* k3s has some 900 releases, pre-releases included: 10 pages of 100. A
 * server that links on and on is cut off here. */
#define MAX_PAGES 100
/* Seconds without progress after which a request is given up. */
#define HTTP_TIMEOUT_SECONDS 60

struct _BerthK3sReleases
{
  GObject parent_instance;

  gchar *cache_path;
  gchar *bundled_path;
  BerthK3sVersionList *list;
  BerthK3sReleasesSource source;
};

G_DEFINE_FINAL_TYPE (BerthK3sReleases, berth_k3s_releases, G_TYPE_OBJECT)

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
berth_k3s_releases_finalize (GObject *object)
{
  BerthK3sReleases *self = BERTH_K3S_RELEASES (object);

  g_free (self->cache_path);
  g_free (self->bundled_path);
  berth_k3s_version_list_free (self->list);
  G_OBJECT_CLASS (berth_k3s_releases_parent_class)->finalize (object);
}

static void
berth_k3s_releases_class_init (BerthK3sReleasesClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = berth_k3s_releases_finalize;

  /**
   * BerthK3sReleases::changed:
   *
   * The versions or the channels changed, after a refresh. Emitted on the
   * main context of the refresh's caller.
   */
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
berth_k3s_releases_init (BerthK3sReleases *self)
{
  self->list = berth_k3s_version_list_new ();
}

/* The list in @path, or NULL with an error (NOT_FOUND when there is none). */
static BerthK3sVersionList *
load_list (const gchar *path, GError **error)
{
  g_autofree gchar *contents = NULL;
  g_autoptr (GError) local_error = NULL;
  GStatBuf st;
  gsize length = 0;

  if (g_stat (path, &st) != 0)
    {
      int errsv = errno;

      g_set_error (error, BERTH_ERROR, errsv == ENOENT ? BERTH_ERROR_NOT_FOUND : BERTH_ERROR_FAILED,
                   "could not read %s: %s", path, g_strerror (errsv));
      return NULL;
    }
  if (!S_ISREG (st.st_mode) || (guint64)st.st_size > BERTH_K3S_VERSIONS_FILE_MAX_SIZE)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is not a list of k3s versions: %s", path,
                   S_ISREG (st.st_mode) ? "it is too large" : "it is not a regular file");
      return NULL;
    }
  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "%s", local_error->message);
      return NULL;
    }
  return berth_k3s_version_list_parse_file (contents, length, path, error);
}

BerthK3sReleases *
berth_k3s_releases_new (const gchar *cache_dir, const gchar *bundled_path)
{
  BerthK3sReleases *self;
  g_autoptr (BerthK3sVersionList) list = NULL;
  g_autoptr (GError) error = NULL;

  g_return_val_if_fail (cache_dir != NULL, NULL);

  self = g_object_new (BERTH_TYPE_K3S_RELEASES, NULL);
  self->cache_path = g_build_filename (cache_dir, CACHE_FILE_NAME, NULL);
  self->bundled_path = g_strdup (bundled_path);

  berth_file_remove_stale_temporaries (self->cache_path);
  list = load_list (self->cache_path, &error);
  if (list != NULL && list->versions->len > 0)
    {
      berth_k3s_version_list_free (self->list);
      self->list = g_steal_pointer (&list);
      self->source = BERTH_K3S_RELEASES_SOURCE_CACHE;
      return self;
    }
  if (error != NULL && !g_error_matches (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND))
    g_warning ("The cached list of k3s versions is unusable, the bundled one is used until the "
               "next refresh: %s",
               error->message);
  g_clear_error (&error);

  self->source = BERTH_K3S_RELEASES_SOURCE_BUNDLED;
  if (bundled_path == NULL)
    {
      g_warning ("No list of k3s versions is cached and none is bundled: the versions are "
                 "known after the first refresh");
      return self;
    }
  list = load_list (bundled_path, &error);
  if (list == NULL)
    {
      g_warning ("The bundled list of k3s versions is unusable (reinstall Berth, or set "
                 "BERTH_DATA_DIR to its data directory): %s",
                 error->message);
      return self;
    }
  berth_k3s_version_list_free (self->list);
  self->list = g_steal_pointer (&list);
  return self;
}

gchar *
berth_k3s_releases_find_bundled (void)
{
  const gchar *env = g_getenv ("BERTH_DATA_DIR");
  g_autofree gchar *from_source = g_build_filename (BERTH_SOURCE_DATADIR, BUNDLED_FILE_NAME, NULL);
  g_autofree gchar *installed = g_build_filename (BERTH_PKGDATADIR, BUNDLED_FILE_NAME, NULL);

  if (env != NULL && env[0] != '\0')
    return g_build_filename (env, BUNDLED_FILE_NAME, NULL);
  if (g_file_test (from_source, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&from_source);
  return g_steal_pointer (&installed);
}

BerthK3sReleasesSource
berth_k3s_releases_get_source (BerthK3sReleases *self)
{
  g_return_val_if_fail (BERTH_IS_K3S_RELEASES (self), BERTH_K3S_RELEASES_SOURCE_BUNDLED);

  return self->source;
}

GPtrArray *
berth_k3s_releases_get_versions (BerthK3sReleases *self)
{
  g_return_val_if_fail (BERTH_IS_K3S_RELEASES (self), NULL);

  return self->list->versions;
}

GHashTable *
berth_k3s_releases_get_channels (BerthK3sReleases *self)
{
  g_return_val_if_fail (BERTH_IS_K3S_RELEASES (self), NULL);

  return self->list->channels;
}

GStrv
berth_k3s_releases_get_channel_names (BerthK3sReleases *self)
{
  g_return_val_if_fail (BERTH_IS_K3S_RELEASES (self), NULL);

  return berth_k3s_version_list_channel_names (self->list);
}

/* ---- what a setting means -------------------------------------------------------- */

static const gchar *
source_description (BerthK3sReleasesSource source)
{
  switch (source)
    {
    case BERTH_K3S_RELEASES_SOURCE_NETWORK:
      return "read from the network";
    case BERTH_K3S_RELEASES_SOURCE_CACHE:
      return "cached from the last refresh";
    case BERTH_K3S_RELEASES_SOURCE_BUNDLED:
    default:
      return "bundled with Berth";
    }
}

const gchar *
berth_k3s_releases_get_nearest (BerthK3sReleases *self, const gchar *wanted)
{
  BerthK3sVersion version;

  g_return_val_if_fail (BERTH_IS_K3S_RELEASES (self), NULL);

  if (wanted == NULL || !berth_k3s_version_parse (wanted, &version))
    return NULL;
  return berth_k3s_version_nearest (&version, self->list->versions);
}

/* A value a person typed, for a message: control characters escaped, the
 * rest as it is. */
static gchar *
quote_setting (const gchar *text)
{
  gchar non_ascii[129];

  if (!g_utf8_validate (text, -1, NULL))
    return g_strdup ("(not valid UTF-8)");
  for (guint i = 0; i < 128; i++)
    non_ascii[i] = (gchar)(0x80 + i);
  non_ascii[128] = '\0';
  return g_strescape (text, non_ascii);
}

gchar *
berth_k3s_releases_resolve (BerthK3sReleases *self, const gchar *wanted, GError **error)
{
  g_autofree gchar *trimmed = NULL;
  g_autofree gchar *as_branch = NULL;
  g_autofree gchar *quoted = NULL;
  BerthK3sVersion version;
  const gchar *found;

  g_return_val_if_fail (BERTH_IS_K3S_RELEASES (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  trimmed = g_strstrip (g_strdup (wanted != NULL ? wanted : ""));
  quoted = quote_setting (trimmed);
  if (self->list->versions->len == 0)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                   "No k3s versions are known yet, so kubernetes.version “%s” cannot be "
                   "checked; connect to the network so that Berth can read the k3s releases",
                   quoted);
      return NULL;
    }

  if (trimmed[0] == '\0')
    {
      found = g_hash_table_lookup (self->list->channels, "stable");
      /* Without channels, the newest is what "stable" would be closest to. */
      return g_strdup (found != NULL ? found : g_ptr_array_index (self->list->versions, 0));
    }

  found = g_hash_table_lookup (self->list->channels, trimmed);
  if (found != NULL)
    return g_strdup (found);
  /* "1.30" for the channel "v1.30". */
  as_branch = g_strconcat ("v", trimmed, NULL);
  if (trimmed[0] != 'v' && (found = g_hash_table_lookup (self->list->channels, as_branch)) != NULL)
    return g_strdup (found);

  if (berth_k3s_version_parse (trimmed, &version))
    {
      const gchar *nearest;
      g_autofree gchar *canonical = berth_k3s_version_to_string (&version);

      found = berth_k3s_version_list_find_release (self->list, &version);
      if (found != NULL && (!version.has_build || g_str_equal (found, canonical)))
        return g_strdup (found);
      nearest = berth_k3s_version_nearest (&version, self->list->versions);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "kubernetes.version: k3s %s is not available (it is not among the %u versions "
                   "%s); the nearest available is %s: choose it or another listed version",
                   canonical, self->list->versions->len, source_description (self->source),
                   nearest);
      return NULL;
    }

  {
    g_auto (GStrv) names = berth_k3s_version_list_channel_names (self->list);
    g_autofree gchar *channels = g_strjoinv (", ", names);

    g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                 "kubernetes.version: “%s” is neither a k3s version nor a channel; give a "
                 "version such as %s (or without its “+k3s” build), or one of the channels "
                 "%s",
                 quoted, (const gchar *)g_ptr_array_index (self->list->versions, 0),
                 channels[0] != '\0' ? channels : "(none known)");
    return NULL;
  }
}

/* ---- refreshing ---------------------------------------------------------------------- */

typedef struct
{
  gchar *channels_url;
  gchar *releases_url;
  GPtrArray *ca_files;
  gchar *arch;
  gchar *cache_path;
  BerthK3sVersionList *known; /* from an earlier refresh, or NULL */
  GTlsDatabase **ca_databases;
  guint n_ca_databases;
} RefreshData;

static void
refresh_data_free (RefreshData *data)
{
  g_free (data->channels_url);
  g_free (data->releases_url);
  g_ptr_array_unref (data->ca_files);
  g_free (data->arch);
  g_free (data->cache_path);
  berth_k3s_version_list_free (data->known);
  for (guint i = 0; i < data->n_ca_databases; i++)
    g_clear_object (&data->ca_databases[i]);
  g_free (data->ca_databases);
  g_free (data);
}

/* A peer certificate the system does not trust is accepted when one of the
 * extra CAs vouches for it, for the host asked for: verification is widened,
 * never turned off. */
static gboolean
on_accept_certificate (SoupMessage *message, GTlsCertificate *certificate,
                       GTlsCertificateFlags errors, gpointer user_data)
{
  RefreshData *data = user_data;
  GUri *uri = soup_message_get_uri (message);
  g_autoptr (GSocketConnectable) identity = NULL;

  identity = g_network_address_new (g_uri_get_host (uri), (guint16)g_uri_get_port (uri));
  for (guint i = 0; i < data->n_ca_databases; i++)
    {
      g_autoptr (GError) error = NULL;
      GTlsCertificateFlags flags = g_tls_database_verify_chain (
          data->ca_databases[i], certificate, G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER, identity,
          NULL, G_TLS_DATABASE_VERIFY_NONE, NULL, &error);

      if (flags == 0 && error == NULL)
        return TRUE;
    }
  return FALSE;
}

static GError *
transfer_error (const gchar *url, GError *cause, GCancellable *cancellable)
{
  if (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      || g_cancellable_is_cancelled (cancellable))
    return g_error_new (BERTH_ERROR, BERTH_ERROR_CANCELLED, "reading %s was cancelled", url);
  if (cause->domain == G_TLS_ERROR)
    return g_error_new (BERTH_ERROR, BERTH_ERROR_DOWNLOAD,
                        "could not read %s: the TLS connection failed: %s; if the server uses a "
                        "private certificate authority, give its CA file (BERTH_K3S_CA_FILE)",
                        url, cause->message);
  return g_error_new (BERTH_ERROR, BERTH_ERROR_DOWNLOAD, "could not read %s: %s", url,
                      cause->message);
}

/* GETs @url into memory, at most @max_size bytes. @link_out (nullable) gets
 * the Link header. */
static GBytes *
http_get (RefreshData *data, SoupSession *session, const gchar *url, const gchar *accept,
          gsize max_size, gchar **link_out, GCancellable *cancellable, GError **error)
{
  g_autoptr (SoupMessage) message = NULL;
  g_autoptr (GInputStream) stream = NULL;
  g_autoptr (GByteArray) body = g_byte_array_new ();
  g_autoptr (GError) local_error = NULL;
  g_autofree guint8 *buffer = NULL;
  SoupMessageHeaders *headers;
  guint status;
  goffset expected = -1;

  message = soup_message_new (SOUP_METHOD_GET, url);
  if (message == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "“%s” is not an http:// or https:// URL", url);
      return NULL;
    }
  soup_message_headers_replace (soup_message_get_request_headers (message), "Accept", accept);
  if (data->n_ca_databases > 0)
    g_signal_connect (message, "accept-certificate", G_CALLBACK (on_accept_certificate), data);

  stream = soup_session_send (session, message, cancellable, &local_error);
  if (stream == NULL)
    {
      g_propagate_error (error, transfer_error (url, local_error, cancellable));
      return NULL;
    }

  headers = soup_message_get_response_headers (message);
  status = soup_message_get_status (message);
  if ((status == 403 || status == 429)
      && g_strcmp0 (soup_message_headers_get_one (headers, "X-RateLimit-Remaining"), "0") == 0)
    {
      const gchar *reset = soup_message_headers_get_one (headers, "X-RateLimit-Reset");
      gint64 reset_at = reset != NULL ? g_ascii_strtoll (reset, NULL, 10) : 0;
      g_autoptr (GDateTime) when = reset_at > 0 ? g_date_time_new_from_unix_local (reset_at) : NULL;
      g_autofree gchar *at = when != NULL ? g_date_time_format (when, " until %H:%M") : NULL;

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_DOWNLOAD,
                   "could not read %s: the server's rate limit for this address is used up%s; "
                   "the list of versions is refreshed again later",
                   url, at != NULL ? at : "");
      return NULL;
    }
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      const gchar *reason = soup_message_get_reason_phrase (message);

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_DOWNLOAD, "could not read %s: HTTP %u %s", url,
                   status,
                   reason != NULL && reason[0] != '\0' ? reason : soup_status_get_phrase (status));
      return NULL;
    }
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH)
    expected = soup_message_headers_get_content_length (headers);

  buffer = g_malloc (64 * 1024);
  for (;;)
    {
      gssize n = g_input_stream_read (stream, buffer, 64 * 1024, cancellable, &local_error);

      if (n < 0)
        {
          g_propagate_error (error, transfer_error (url, local_error, cancellable));
          return NULL;
        }
      if (n == 0)
        break;
      if (body->len + (gsize)n > max_size)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "could not read %s: it is larger than the %" G_GSIZE_FORMAT " bytes allowed",
                       url, max_size);
          return NULL;
        }
      g_byte_array_append (body, buffer, (guint)n);
    }
  if (expected >= 0 && (goffset)body->len != expected)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_DOWNLOAD,
                   "could not read %s: the body is truncated: received %u of %" G_GOFFSET_FORMAT
                   " bytes",
                   url, body->len, expected);
      return NULL;
    }
  if (link_out != NULL)
    *link_out = g_strdup (soup_message_headers_get_list (headers, "Link"));
  return g_byte_array_free_to_bytes (g_steal_pointer (&body));
}

/* Whether @a and @b have the same scheme, host and port. */
static gboolean
same_origin (const gchar *a, const gchar *b)
{
  g_autoptr (GUri) ua = g_uri_parse (a, SOUP_HTTP_URI_FLAGS, NULL);
  g_autoptr (GUri) ub = g_uri_parse (b, SOUP_HTTP_URI_FLAGS, NULL);

  return ua != NULL && ub != NULL
         && g_ascii_strcasecmp (g_uri_get_scheme (ua), g_uri_get_scheme (ub)) == 0
         && g_ascii_strcasecmp (g_uri_get_host (ua), g_uri_get_host (ub)) == 0
         && g_uri_get_port (ua) == g_uri_get_port (ub);
}

static BerthK3sVersionList *
refresh_sync (RefreshData *data, GCancellable *cancellable, GError **error)
{
  g_autoptr (SoupSession) session = NULL;
  g_autoptr (BerthK3sVersionList) result = berth_k3s_version_list_new ();
  g_autoptr (GHashTable) channels = NULL;
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GBytes) channels_body = NULL;
  g_autofree gchar *url = g_strdup (data->releases_url);
  g_autofree gchar *text = NULL;
  g_autoptr (GDateTime) now = NULL;
  g_autoptr (GError) write_error = NULL;
  gboolean reached_known = FALSE;
  guint pages = 0;

  data->n_ca_databases = data->ca_files->len;
  data->ca_databases = g_new0 (GTlsDatabase *, data->ca_files->len + 1);
  for (guint i = 0; i < data->ca_files->len; i++)
    {
      g_autoptr (GError) local_error = NULL;
      const gchar *ca_file = g_ptr_array_index (data->ca_files, i);

      data->ca_databases[i] = g_tls_file_database_new (ca_file, &local_error);
      if (data->ca_databases[i] == NULL)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "cannot use the CA file %s: %s; give a PEM file with the CA certificate",
                       ca_file, local_error->message);
          return NULL;
        }
    }

  session = soup_session_new_with_options ("user-agent", "berth/" BERTH_VERSION, "timeout",
                                           HTTP_TIMEOUT_SECONDS, NULL);

  channels_body = http_get (data, session, data->channels_url, "application/json",
                            BERTH_K3S_CHANNELS_MAX_SIZE, NULL, cancellable, error);
  if (channels_body == NULL)
    return NULL;
  channels = berth_k3s_channels_parse (g_bytes_get_data (channels_body, NULL),
                                       g_bytes_get_size (channels_body), data->channels_url, error);
  if (channels == NULL)
    return NULL;

  while (url != NULL)
    {
      g_autoptr (GBytes) body = NULL;
      g_autofree gchar *link = NULL;
      g_autofree gchar *next = NULL;
      BerthK3sReleasesPage page;

      if (++pages > MAX_PAGES)
        {
          g_warning ("The k3s releases go on past %d pages (at %s); the rest is not read",
                     MAX_PAGES, url);
          break;
        }
      g_hash_table_add (seen, g_strdup (url));
      body = http_get (data, session, url, "application/vnd.github+json",
                       BERTH_K3S_RELEASES_PAGE_MAX_SIZE, &link, cancellable, error);
      if (body == NULL)
        return NULL;
      if (!berth_k3s_releases_page_parse (g_bytes_get_data (body, NULL), g_bytes_get_size (body),
                                          url, data->arch, data->known, result, &page, error))
        return NULL;
      g_debug ("%s: %u releases, %u versions added", url, page.n_releases, page.n_added);
      if (page.reached_known)
        {
          reached_known = TRUE;
          break;
        }
      if (page.below_minimum || page.n_releases == 0)
        break;
      next = berth_k3s_link_header_next (link);
      if (next != NULL && !same_origin (next, data->releases_url))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_DOWNLOAD,
                       "could not read the k3s releases: the page %s links to the next one on "
                       "another server (%s), which is not followed",
                       url, next);
          return NULL;
        }
      g_free (url);
      url = next != NULL && !g_hash_table_contains (seen, next) ? g_steal_pointer (&next) : NULL;
    }

  /* Only what is new was read: the rest is what the last refresh found. */
  if (reached_known)
    for (guint i = 0; i < data->known->versions->len; i++)
      {
        BerthK3sVersion version;

        if (berth_k3s_version_parse_full (g_ptr_array_index (data->known->versions, i), &version))
          berth_k3s_version_list_add (result, &version);
      }
  berth_k3s_version_list_set_channels (result, channels);

  if (result->versions->len == 0)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                   "%s lists no k3s release that publishes a k3s binary and checksums for %s",
                   data->releases_url, data->arch);
      return NULL;
    }

  now = g_date_time_new_now_utc ();
  text = berth_k3s_version_list_to_file (result, now);
  if (!berth_file_replace_contents (data->cache_path, text, strlen (text), 0644, &write_error))
    g_warning ("Could not cache the list of k3s versions (it is read again at the next start): "
               "%s",
               write_error->message);
  return g_steal_pointer (&result);
}

static void
refresh_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  GError *error = NULL;
  BerthK3sVersionList *result = refresh_sync (task_data, cancellable, &error);

  if (result == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, result, (GDestroyNotify)berth_k3s_version_list_free);
}

/* Back on the caller's main context: the list is taken before the caller
 * hears of it, so that "changed" and the getters agree with the result. */
static void
refresh_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthK3sReleases *self = g_task_get_source_object (task);
  g_autoptr (BerthK3sVersionList) list = NULL;
  GError *error = NULL;
  gboolean changed;

  list = g_task_propagate_pointer (G_TASK (result), &error);
  if (list == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  changed = !berth_k3s_version_list_equal (list, self->list);
  berth_k3s_version_list_free (self->list);
  self->list = g_steal_pointer (&list);
  self->source = BERTH_K3S_RELEASES_SOURCE_NETWORK;
  if (changed)
    g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  g_task_return_boolean (task, TRUE);
}

static gchar *
url_from_env (const gchar *variable, const gchar *fallback)
{
  const gchar *value = g_getenv (variable);

  return g_strdup (value != NULL && value[0] != '\0' ? value : fallback);
}

void
berth_k3s_releases_refresh_async (BerthK3sReleases *self, const gchar *ca_file,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GTask) worker = NULL;
  RefreshData *data;
  const gchar *env_ca = g_getenv ("BERTH_K3S_CA_FILE");
  const gchar *arch = berth_k3s_host_arch ();

  g_return_if_fail (BERTH_IS_K3S_RELEASES (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, berth_k3s_releases_refresh_async);
  /* Cancellation is reported by the worker, as BERTH_ERROR_CANCELLED. */
  g_task_set_check_cancellable (task, FALSE);

  if (arch == NULL)
    {
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                               "k3s publishes no release for this machine's architecture; it "
                               "has amd64 (x86_64) and arm64 (aarch64)");
      return;
    }

  data = g_new0 (RefreshData, 1);
  data->channels_url = url_from_env ("BERTH_K3S_CHANNELS_URL", DEFAULT_CHANNELS_URL);
  data->releases_url = url_from_env ("BERTH_K3S_RELEASES_URL", DEFAULT_RELEASES_URL);
  data->ca_files = g_ptr_array_new_with_free_func (g_free);
  if (ca_file != NULL)
    g_ptr_array_add (data->ca_files, g_strdup (ca_file));
  if (env_ca != NULL && env_ca[0] != '\0' && g_strcmp0 (env_ca, ca_file) != 0)
    g_ptr_array_add (data->ca_files, g_strdup (env_ca));
  data->arch = g_strdup (arch);
  data->cache_path = g_strdup (self->cache_path);
  /* A bundled list says nothing of what the network had at some moment:
   * only a refreshed list lets a refresh stop at what it already knows. */
  if (self->source != BERTH_K3S_RELEASES_SOURCE_BUNDLED)
    data->known = berth_k3s_version_list_copy (self->list);

  /* No source object: the worker must not hold the last reference to self. */
  worker = g_task_new (NULL, cancellable, refresh_done_cb, g_object_ref (task));
  g_task_set_source_tag (worker, refresh_thread);
  g_task_set_check_cancellable (worker, FALSE);
  g_task_set_task_data (worker, data, (GDestroyNotify)refresh_data_free);
  g_task_run_in_thread (worker, refresh_thread);
}

gboolean
berth_k3s_releases_refresh_finish (BerthK3sReleases *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (BERTH_IS_K3S_RELEASES (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == berth_k3s_releases_refresh_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
