/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <glib/gstdio.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <libsoup/soup.h>

#include "berth-download.h"
#include "berth-error.h"

#include "berth-test-util.h"

#define GOOD_SIZE (3 * 1024 * 1024 + 4321)
#define TRUNCATED_TOTAL 1000000
#define TRUNCATED_SENT 100000
#define SLOW_TOTAL (64 * 1024 * 1024)
#define SLOW_FIRST (64 * 1024)
#define CHUNKED_PIECES 5
#define CHUNKED_PIECE_SIZE (300 * 1024)

static gchar *tmp_root;
static GBytes *good_body;

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */

static gchar *
make_cache_dir (void)
{
  g_autofree gchar *template = g_build_filename (tmp_root, "cache-XXXXXX", NULL);

  g_assert_nonnull (g_mkdtemp (template));
  return g_steal_pointer (&template);
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const gchar *const *)a, *(const gchar *const *)b);
}

/* The names in @dir, sorted and joined with spaces ("" when it is empty or missing). */
static gchar *
list_dir (const gchar *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const gchar *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (gchar **)names->pdata);
}

static void
assert_file_equals_bytes (const gchar *path, GBytes *expected)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *contents = NULL;
  gsize len = 0;

  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (contents, len, g_bytes_get_data (expected, NULL), g_bytes_get_size (expected));
}

static gchar *
digest_of (BerthChecksumType type, GBytes *bytes)
{
  return berth_checksum_data (type, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

static GBytes *
make_body (guint32 seed, gsize size)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  guint8 *data = g_malloc (size);

  for (gsize i = 0; i < size; i++)
    data[i] = (guint8)g_rand_int_range (rand, 0, 256);
  return g_bytes_new_take (data, size);
}

typedef struct
{
  GArray *received;
  GArray *totals;
} Progress;

static void
progress_cb (BerthDownloader *downloader, guint64 received, guint64 total, gpointer user_data)
{
  Progress *progress = user_data;

  g_array_append_val (progress->received, received);
  g_array_append_val (progress->totals, total);
}

static void
progress_init (Progress *progress)
{
  progress->received = g_array_new (FALSE, FALSE, sizeof (guint64));
  progress->totals = g_array_new (FALSE, FALSE, sizeof (guint64));
}

static void
progress_clear (Progress *progress)
{
  g_clear_pointer (&progress->received, g_array_unref);
  g_clear_pointer (&progress->totals, g_array_unref);
}

static gchar *
fetch (BerthDownloader *downloader, const gchar *url, const gchar *digest,
       GCancellable *cancellable, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  berth_downloader_fetch_async (downloader, url, digest, cancellable, berth_test_store_result,
                                &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return berth_downloader_fetch_finish (downloader, result, error);
}

/* Neither data nor any temporary file: what a failed fetch must leave. */
static void
assert_no_data (BerthDownloader *downloader, const gchar *url)
{
  g_autofree gchar *entry = berth_downloader_get_entry_dir (downloader, url);
  g_autofree gchar *names = list_dir (entry);

  g_assert_null (strstr (names, "data"));
  g_assert_null (strstr (names, "sha256.digest"));
}

/* Drops the last reference to @downloader and checks nothing else held one
 * (a pending task, a signal closure, the session). */
static void
assert_finalized (BerthDownloader **downloader)
{
  gpointer weak = *downloader;

  g_object_add_weak_pointer (G_OBJECT (weak), &weak);
  g_clear_object (downloader);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_null (weak);
}

/* ---------------------------------------------------------------------- */
/* A local HTTP(S) server                                                 */

typedef struct
{
  SoupServer *server;
  gchar *base;
  guint n_good;
  guint n_other;
  guint n_truncated;
  guint n_slow;
  GBytes *other_body;
  gchar *user_agent;
} TestServer;

static gboolean
shutdown_socket_cb (gpointer user_data)
{
  g_socket_shutdown (G_SOCKET (user_data), TRUE, TRUE, NULL);
  return G_SOURCE_REMOVE;
}

/* The first part of the body has gone out: drop the connection, as a server
 * that dies mid-transfer would. */
static void
truncated_wrote_chunk (SoupServerMessage *msg, gpointer user_data)
{
  GSocket *socket = soup_server_message_get_socket (msg);

  g_signal_handlers_disconnect_by_func (msg, truncated_wrote_chunk, user_data);
  g_idle_add_full (G_PRIORITY_DEFAULT, shutdown_socket_cb, g_object_ref (socket), g_object_unref);
}

static void
server_handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
                gpointer user_data)
{
  TestServer *ts = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  SoupMessageBody *body = soup_server_message_get_response_body (msg);

  g_free (ts->user_agent);
  ts->user_agent = g_strdup (
      soup_message_headers_get_one (soup_server_message_get_request_headers (msg), "User-Agent"));

  if (g_str_equal (path, "/good.bin"))
    {
      ts->n_good++;
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (msg, "application/octet-stream", SOUP_MEMORY_COPY,
                                        g_bytes_get_data (good_body, NULL),
                                        g_bytes_get_size (good_body));
    }
  else if (g_str_equal (path, "/other.bin"))
    {
      ts->n_other++;
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (msg, "application/octet-stream", SOUP_MEMORY_COPY,
                                        g_bytes_get_data (ts->other_body, NULL),
                                        g_bytes_get_size (ts->other_body));
    }
  else if (g_str_equal (path, "/truncated.bin"))
    {
      g_autoptr (GBytes) part = make_body (7, TRUNCATED_SENT);

      ts->n_truncated++;
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_message_headers_set_encoding (headers, SOUP_ENCODING_CONTENT_LENGTH);
      soup_message_headers_set_content_length (headers, TRUNCATED_TOTAL);
      /* Not completed: libsoup sends this much and waits for more. */
      soup_message_body_append_bytes (body, part);
      g_signal_connect (msg, "wrote-chunk", G_CALLBACK (truncated_wrote_chunk), NULL);
    }
  else if (g_str_equal (path, "/slow.bin"))
    {
      g_autoptr (GBytes) part = make_body (8, SLOW_FIRST);

      ts->n_slow++;
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_message_headers_set_encoding (headers, SOUP_ENCODING_CONTENT_LENGTH);
      soup_message_headers_set_content_length (headers, SLOW_TOTAL);
      /* The rest never comes: the transfer stalls until the client gives up. */
      soup_message_body_append_bytes (body, part);
    }
  else if (g_str_equal (path, "/chunked.bin"))
    {
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
      for (guint i = 0; i < CHUNKED_PIECES; i++)
        soup_message_body_append (body, SOUP_MEMORY_COPY,
                                  (const guint8 *)g_bytes_get_data (good_body, NULL)
                                      + i * CHUNKED_PIECE_SIZE,
                                  CHUNKED_PIECE_SIZE);
      soup_message_body_complete (body);
    }
  else
    {
      soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
      soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC, "no such file\n",
                                        13);
    }
}

static TestServer *
test_server_new (GTlsCertificate *certificate)
{
  TestServer *ts = g_new0 (TestServer, 1);
  g_autoptr (GError) error = NULL;
  GSList *uris;
  SoupServerListenOptions options = SOUP_SERVER_LISTEN_IPV4_ONLY;

  if (certificate != NULL)
    {
      ts->server = soup_server_new ("tls-certificate", certificate, NULL);
      options |= SOUP_SERVER_LISTEN_HTTPS;
    }
  else
    {
      ts->server = soup_server_new (NULL, NULL);
    }
  soup_server_add_handler (ts->server, NULL, server_handler, ts, NULL);
  soup_server_listen_local (ts->server, 0, options, &error);
  g_assert_no_error (error);

  uris = soup_server_get_uris (ts->server);
  g_assert_nonnull (uris);
  ts->base = g_uri_to_string (uris->data);
  g_slist_free_full (uris, (GDestroyNotify)g_uri_unref);
  /* "http://127.0.0.1:PORT/": drop the slash, paths start with one. */
  if (g_str_has_suffix (ts->base, "/"))
    ts->base[strlen (ts->base) - 1] = '\0';
  ts->other_body = make_body (3, 12345);
  return ts;
}

static void
test_server_free (TestServer *ts)
{
  soup_server_disconnect (ts->server);
  g_object_unref (ts->server);
  /* Let the disconnected connections finish. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_bytes_unref (ts->other_body);
  g_free (ts->user_agent);
  g_free (ts->base);
  g_free (ts);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestServer, test_server_free)

static gchar *
test_url (TestServer *ts, const gchar *path)
{
  return g_strconcat (ts->base, path, NULL);
}

/* ---------------------------------------------------------------------- */
/* Checksums                                                              */

static void
test_checksum_data (void)
{
  g_autofree gchar *sha256 = berth_checksum_data (BERTH_CHECKSUM_SHA256, (const guint8 *)"abc", 3);
  g_autofree gchar *sha512 = berth_checksum_data (BERTH_CHECKSUM_SHA512, (const guint8 *)"abc", 3);
  g_autofree gchar *empty = berth_checksum_data (BERTH_CHECKSUM_SHA256, NULL, 0);

  g_assert_cmpstr (sha256, ==, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  g_assert_cmpstr (sha512, ==,
                   "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                   "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  g_assert_cmpstr (empty, ==, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void
test_checksum_file (void)
{
  g_autofree gchar *dir = make_cache_dir ();
  g_autofree gchar *path = g_build_filename (dir, "blob", NULL);
  g_autofree gchar *missing = g_build_filename (dir, "missing", NULL);
  g_autofree gchar *expected256 = digest_of (BERTH_CHECKSUM_SHA256, good_body);
  g_autofree gchar *expected512 = digest_of (BERTH_CHECKSUM_SHA512, good_body);
  g_autofree gchar *actual256 = NULL;
  g_autofree gchar *actual512 = NULL;
  g_autofree gchar *none = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;

  /* Larger than one 1 MiB read, and not a multiple of it. */
  g_file_set_contents (path, g_bytes_get_data (good_body, NULL),
                       (gssize)g_bytes_get_size (good_body), &error);
  g_assert_no_error (error);

  actual256 = berth_checksum_file (BERTH_CHECKSUM_SHA256, path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (actual256, ==, expected256);
  actual512 = berth_checksum_file (BERTH_CHECKSUM_SHA512, path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (actual512, ==, expected512);

  none = berth_checksum_file (BERTH_CHECKSUM_SHA256, missing, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, missing));
  g_assert_nonnull (strstr (error->message, "sha256"));
  g_clear_error (&error);

  g_cancellable_cancel (cancellable);
  none = berth_checksum_file (BERTH_CHECKSUM_SHA256, path, cancellable, &error);
  g_assert_null (none);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_CANCELLED);
  g_test_message ("%s", error->message);
}

static void
test_checksum_parse (void)
{
  const gchar *hex64 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  const gchar *hex128 = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
  g_autofree gchar *prefixed256 = g_strconcat ("sha256:", hex64, NULL);
  g_autofree gchar *prefixed512 = g_strconcat ("sha512:", hex128, NULL);
  g_autofree gchar *upper = g_ascii_strup (prefixed256, -1);
  g_autofree gchar *md5 = g_strconcat ("md5:", hex64, NULL);
  g_autofree gchar *short256 = g_strndup (prefixed256, strlen (prefixed256) - 1);
  g_autofree gchar *not_hex = g_strdup (prefixed256);
  g_autofree gchar *long_value = g_strnfill (500, 'z');
  const struct
  {
    const gchar *spec;
    BerthChecksumType type;
    const gchar *hex;
  } good[] = {
    { prefixed256, BERTH_CHECKSUM_SHA256, hex64 }, { prefixed512, BERTH_CHECKSUM_SHA512, hex128 },
    { hex64, BERTH_CHECKSUM_SHA256, hex64 },       { hex128, BERTH_CHECKSUM_SHA512, hex128 },
    { upper, BERTH_CHECKSUM_SHA256, hex64 },
  };
  const struct
  {
    const gchar *spec;
    const gchar *reason;
  } bad[] = {
    { md5, "unknown algorithm “md5”" },
    { short256, "sha256 needs 64 hex digits, found 63" },
    { not_hex, "“g” at position 8 is not a hex digit" },
    { "", "found 0 characters" },
    { "abc", "found 3 characters" },
  };

  not_hex[7] = 'g';

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree gchar *hex = NULL;
      BerthChecksumType type = 99;

      g_assert_true (berth_checksum_parse (good[i].spec, &type, &hex, &error));
      g_assert_no_error (error);
      g_assert_cmpint (type, ==, good[i].type);
      g_assert_cmpstr (hex, ==, good[i].hex);
    }

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree gchar *hex = NULL;
      g_autofree gchar *quoted = g_strdup_printf ("“%s”", bad[i].spec);

      g_assert_false (berth_checksum_parse (bad[i].spec, NULL, &hex, &error));
      g_assert_null (hex);
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, quoted));
      g_assert_nonnull (strstr (error->message, bad[i].reason));
      g_assert_nonnull (strstr (error->message, "“sha256:<64 hex digits>”"));
      g_assert_nonnull (strstr (error->message, "“sha512:<128 hex digits>”"));
    }

  /* A huge value is cut in the message, not copied whole. */
  {
    g_autoptr (GError) error = NULL;

    g_assert_false (berth_checksum_parse (long_value, NULL, NULL, &error));
    g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
    g_test_message ("%s", error->message);
    g_assert_nonnull (strstr (error->message, "zzz…"));
    g_assert_cmpuint (strlen (error->message), <, 400);
  }
}

/* ---------------------------------------------------------------------- */
/* Downloads over HTTP                                                    */

static void
test_fetch_and_cache (void)
{
  g_autoptr (TestServer) ts = test_server_new (NULL);
  g_autofree gchar *cache = make_cache_dir ();
  g_autoptr (BerthDownloader) downloader = berth_downloader_new (cache);
  g_autofree gchar *url = test_url (ts, "/good.bin");
  g_autofree gchar *url_hash
      = berth_checksum_data (BERTH_CHECKSUM_SHA256, (const guint8 *)url, strlen (url));
  g_autofree gchar *entry = g_build_filename (cache, "by-url-sha256", url_hash, NULL);
  g_autofree gchar *expected_data = g_build_filename (entry, "data", NULL);
  g_autofree gchar *url_file = g_build_filename (entry, "url", NULL);
  g_autofree gchar *digest_file = g_build_filename (entry, "sha256.digest", NULL);
  g_autofree gchar *body_hex = digest_of (BERTH_CHECKSUM_SHA256, good_body);
  g_autofree gchar *body_digest = g_strconcat ("sha256:", body_hex, NULL);
  g_autofree gchar *entry_from_api = berth_downloader_get_entry_dir (downloader, url);
  g_autofree gchar *path = NULL;
  g_autofree gchar *again = NULL;
  g_autofree gchar *again_any = NULL;
  g_autofree gchar *names = NULL;
  g_autofree gchar *url_text = NULL;
  g_autofree gchar *digest_text = NULL;
  g_autoptr (GError) error = NULL;
  Progress progress;
  GStatBuf st;
  guint64 total = g_bytes_get_size (good_body);

  g_assert_cmpstr (berth_downloader_get_cache_dir (downloader), ==, cache);
  g_assert_cmpstr (entry_from_api, ==, entry);

  progress_init (&progress);
  g_signal_connect (downloader, "progress", G_CALLBACK (progress_cb), &progress);

  path = fetch (downloader, url, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (path, ==, expected_data);
  g_assert_cmpuint (ts->n_good, ==, 1);
  g_assert_true (g_str_has_prefix (ts->user_agent, "berth/"));

  /* The layout Lima uses, and nothing else left behind. */
  names = list_dir (entry);
  g_assert_cmpstr (names, ==, "data sha256.digest url");
  assert_file_equals_bytes (path, good_body);
  url_text = berth_test_read_file (url_file);
  g_assert_cmpstr (url_text, ==, url);
  digest_text = berth_test_read_file (digest_file);
  g_assert_cmpstr (digest_text, ==, body_digest);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0644);

  /* Progress: at least a start and an end, never backwards, ends at the total. */
  g_assert_cmpuint (progress.received->len, >=, 2);
  for (guint i = 0; i < progress.received->len; i++)
    {
      g_assert_cmpuint (g_array_index (progress.totals, guint64, i), ==, total);
      g_assert_cmpuint (g_array_index (progress.received, guint64, i), <=, total);
      if (i > 0)
        g_assert_cmpuint (g_array_index (progress.received, guint64, i), >=,
                          g_array_index (progress.received, guint64, i - 1));
    }
  g_assert_cmpuint (g_array_index (progress.received, guint64, progress.received->len - 1), ==,
                    total);

  /* Cache hits: the server is not asked again, and no progress is reported. */
  g_array_set_size (progress.received, 0);
  again = fetch (downloader, url, body_digest, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again, ==, expected_data);
  again_any = fetch (downloader, url, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again_any, ==, expected_data);
  g_assert_cmpuint (ts->n_good, ==, 1);
  g_assert_cmpuint (progress.received->len, ==, 0);

  /* A bare, upper-case digest is the same digest. */
  {
    g_autofree gchar *upper = g_ascii_strup (body_hex, -1);
    g_autofree gchar *third = fetch (downloader, url, upper, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (third, ==, expected_data);
    g_assert_cmpuint (ts->n_good, ==, 1);
  }

  assert_finalized (&downloader);
  progress_clear (&progress);
}

static void
test_fetch_sha512 (void)
{
  g_autoptr (TestServer) ts = test_server_new (NULL);
  g_autofree gchar *cache = make_cache_dir ();
  g_autoptr (BerthDownloader) downloader = berth_downloader_new (cache);
  g_autofree gchar *url = test_url (ts, "/good.bin");
  g_autofree gchar *hex512 = digest_of (BERTH_CHECKSUM_SHA512, good_body);
  g_autofree gchar *hex256 = digest_of (BERTH_CHECKSUM_SHA256, good_body);
  g_autofree gchar *digest512 = g_strconcat ("sha512:", hex512, NULL);
  g_autofree gchar *digest256 = g_strconcat ("sha256:", hex256, NULL);
  g_autofree gchar *wrong512 = g_strconcat ("sha512:", hex512, NULL);
  g_autofree gchar *entry = berth_downloader_get_entry_dir (downloader, url);
  g_autofree gchar *digest_file = g_build_filename (entry, "sha256.digest", NULL);
  g_autofree gchar *path = NULL;
  g_autofree gchar *again = NULL;
  g_autofree gchar *recorded = NULL;
  g_autofree gchar *names = NULL;
  g_autoptr (GError) error = NULL;

  path = fetch (downloader, url, digest512, NULL, &error);
  g_assert_no_error (error);
  assert_file_equals_bytes (path, good_body);
  /* The record is always the sha256, whatever was asked for. */
  recorded = berth_test_read_file (digest_file);
  g_assert_cmpstr (recorded, ==, digest256);
  g_assert_cmpuint (ts->n_good, ==, 1);

  /* A sha512 is checked against the cached data itself: a hit. */
  again = fetch (downloader, url, digest512, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again, ==, path);
  g_assert_cmpuint (ts->n_good, ==, 1);

  /* A sha512 the cached data does not have: downloaded again, and refused. */
  wrong512[strlen (wrong512) - 1] = wrong512[strlen (wrong512) - 1] == '0' ? '1' : '0';
  g_clear_pointer (&again, g_free);
  again = fetch (downloader, url, wrong512, NULL, &error);
  g_assert_null (again);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_CHECKSUM);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, url));
  g_assert_nonnull (strstr (error->message, wrong512));
  g_assert_nonnull (strstr (error->message, digest512));
  g_assert_cmpuint (ts->n_good, ==, 2);
  /* The earlier, correct entry is untouched and no temporary file is left. */
  names = list_dir (entry);
  g_assert_cmpstr (names, ==, "data sha256.digest url");
  assert_file_equals_bytes (path, good_body);
}

static void
test_fetch_mismatch (void)
{
  g_autoptr (TestServer) ts = test_server_new (NULL);
  g_autofree gchar *cache = make_cache_dir ();
  g_autoptr (BerthDownloader) downloader = berth_downloader_new (cache);
  g_autofree gchar *url = test_url (ts, "/good.bin");
  g_autofree gchar *actual_hex = digest_of (BERTH_CHECKSUM_SHA256, good_body);
  g_autofree gchar *wrong_hex = digest_of (BERTH_CHECKSUM_SHA256, ts->other_body);
  g_autofree gchar *wrong = g_strconcat ("sha256:", wrong_hex, NULL);
  g_autofree gchar *actual = g_strconcat ("sha256:", actual_hex, NULL);
  g_autofree gchar *entry = berth_downloader_get_entry_dir (downloader, url);
  g_autofree gchar *names = NULL;
  g_autofree gchar *path = NULL;
  g_autoptr (GError) error = NULL;

  path = fetch (downloader, url, wrong, NULL, &error);
  g_assert_null (path);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_CHECKSUM);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, url));
  g_assert_nonnull (strstr (error->message, wrong));
  g_assert_nonnull (strstr (error->message, actual));
  g_assert_cmpuint (ts->n_good, ==, 1);

  /* Nothing at all: no data, no digest, no temporary file. */
  names = list_dir (entry);
  g_assert_cmpstr (names, ==, "");
  assert_no_data (downloader, url);
}

static void
test_fetch_redownload (void)
{
  g_autoptr (TestServer) ts = test_server_new (NULL);
  g_autofree gchar *cache = make_cache_dir ();
  g_autoptr (BerthDownloader) downloader = berth_downloader_new (cache);
  g_autofree gchar *url = test_url (ts, "/other.bin");
  g_autoptr (GBytes) new_body = make_body (4, 54321);
  g_autofree gchar *new_hex = digest_of (BERTH_CHECKSUM_SHA256, new_body);
  g_autofree gchar *new_digest = g_strconcat ("sha256:", new_hex, NULL);
  g_autofree gchar *entry = berth_downloader_get_entry_dir (downloader, url);
  g_autofree gchar *digest_file = g_build_filename (entry, "sha256.digest", NULL);
  g_autofree gchar *first = NULL;
  g_autofree gchar *second = NULL;
  g_autofree gchar *recorded = NULL;
  g_autofree gchar *names = NULL;
  g_autoptr (GError) error = NULL;

  first = fetch (downloader, url, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_file_equals_bytes (first, ts->other_body);

  /* The file changed upstream and the caller knows its new digest: the
   * recorded digest disagrees, so it is fetched again. */
  g_bytes_unref (ts->other_body);
  ts->other_body = g_bytes_ref (new_body);
  second = fetch (downloader, url, new_digest, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (second, ==, first);
  g_assert_cmpuint (ts->n_other, ==, 2);
  assert_file_equals_bytes (second, new_body);
  recorded = berth_test_read_file (digest_file);
  g_assert_cmpstr (recorded, ==, new_digest);
  names = list_dir (entry);
  g_assert_cmpstr (names, ==, "data sha256.digest url");
}

static void
test_fetch_concurrent (void)
{
  g_autoptr (TestServer) ts = test_server_new (NULL);
  g_autofree gchar *cache = make_cache_dir ();
  g_autoptr (BerthDownloader) downloader = berth_downloader_new (cache);
  g_autofree gchar *url = test_url (ts, "/good.bin");
  g_autofree gchar *entry = berth_downloader_get_entry_dir (downloader, url);
  g_autoptr (GAsyncResult) result_a = NULL;
  g_autoptr (GAsyncResult) result_b = NULL;
  g_autofree gchar *path_a = NULL;
  g_autofree gchar *path_b = NULL;
  g_autofree gchar *names = NULL;
  g_autoptr (GError) error = NULL;

  berth_downloader_fetch_async (downloader, url, NULL, NULL, berth_test_store_result, &result_a);
  berth_downloader_fetch_async (downloader, url, NULL, NULL, berth_test_store_result, &result_b);
  while (result_a == NULL || result_b == NULL)
    g_main_context_iteration (NULL, TRUE);

  path_a = berth_downloader_fetch_finish (downloader, result_a, &error);
  g_assert_no_error (error);
  path_b = berth_downloader_fetch_finish (downloader, result_b, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (path_a, ==, path_b);
  g_assert_cmpuint (ts->n_good, ==, 2);
  /* Each wrote its own temporary file; one whole body is left. */
  names = list_dir (entry);
  g_assert_cmpstr (names, ==, "data sha256.digest url");
  assert_file_equals_bytes (path_a, good_body);
}

static void
test_fetch_not_found (void)
{
  g_autoptr (TestServer) ts = test_server_new (NULL);
  g_autofree gchar *cache = make_cache_dir ();
  g_autoptr (BerthDownloader) downloader = berth_downloader_new (cache);
  g_autofree gchar *url = test_url (ts, "/missing.bin");
  g_autofree gchar *expected = g_strdup_printf ("downloading %s failed: HTTP 404 Not Found", url);
  g_autofree gchar *path = NULL;
  g_autoptr (GError) error = NULL;

  path = fetch (downloader, url, NULL, NULL, &error);
  g_assert_null (path);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_DOWNLOAD);
  g_test_message ("%s", error->message);
  g_assert_cmpstr (error->message, ==, expected);
  assert_no_data (downloader, url);
}

static void
test_fetch_truncated (void)
{
  g_autoptr (TestServer) ts = test_server_new (NULL);
  g_autofree gchar *cache = make_cache_dir ();
  g_autoptr (BerthDownloader) downloader = berth_downloader_new (cache);
  g_autofree gchar *url = test_url (ts, "/truncated.bin");
  g_autofree gchar *counts
      = g_strdup_printf ("received %d of %d bytes", TRUNCATED_SENT, TRUNCATED_TOTAL);
  g_autofree gchar *path = NULL;
  g_autoptr (GError) error = NULL;
  Progress progress;

  progress_init (&progress);
  g_signal_connect (downloader, "progress", G_CALLBACK (progress_cb), &progress);

  path = fetch (downloader, url, NULL, NULL, &error);
  g_assert_null (path);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_DOWNLOAD);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, url));
  g_assert_nonnull (strstr (error->message, "truncated"));
  g_assert_nonnull (strstr (error->message, counts));
  g_assert_cmpuint (ts->n_truncated, ==, 1);
  assert_no_data (downloader, url);
  /* The total announced was reported while it lasted. */
  g_assert_cmpuint (progress.totals->len, >=, 1);
  g_assert_cmpuint (g_array_index (progress.totals, guint64, 0), ==, TRUNCATED_TOTAL);
  progress_clear (&progress);
}

static gboolean
cancel_cb (gpointer user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
  return G_SOURCE_REMOVE;
}

/* Cancel a little after the first bytes, while the next read waits on the stalled server. */
static void
cancel_on_progress (BerthDownloader *downloader, guint64 received, guint64 total,
                    gpointer user_data)
{
  g_signal_handlers_disconnect_by_func (downloader, cancel_on_progress, user_data);
  g_timeout_add_full (G_PRIORITY_DEFAULT, 50, cancel_cb, g_object_ref (user_data), g_object_unref);
}

static void
test_fetch_cancel (void)
{
  g_autoptr (TestServer) ts = test_server_new (NULL);
  g_autofree gchar *cache = make_cache_dir ();
  g_autoptr (BerthDownloader) downloader = berth_downloader_new (cache);
  g_autofree gchar *url = test_url (ts, "/slow.bin");
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autofree gchar *path = NULL;
  g_autofree gchar *entry = NULL;
  g_autofree gchar *names = NULL;
  g_autoptr (GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  g_signal_connect (downloader, "progress", G_CALLBACK (cancel_on_progress), cancellable);
  path = fetch (downloader, url, NULL, cancellable, &error);
  g_assert_null (path);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_CANCELLED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, url));
  g_assert_cmpuint (ts->n_slow, ==, 1);
  /* Cancelled promptly, not after some timeout. */
  g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_USEC_PER_SEC);
  entry = berth_downloader_get_entry_dir (downloader, url);
  names = list_dir (entry);
  g_assert_cmpstr (names, ==, "");

  /* Cancelled before it starts: no request at all. */
  {
    g_autoptr (GCancellable) cancelled = g_cancellable_new ();
    g_autoptr (GError) early_error = NULL;
    g_autofree gchar *none = NULL;

    g_cancellable_cancel (cancelled);
    none = fetch (downloader, url, NULL, cancelled, &early_error);
    g_assert_null (none);
    g_assert_error (early_error, BERTH_ERROR, BERTH_ERROR_CANCELLED);
    g_test_message ("%s", early_error->message);
    g_assert_cmpuint (ts->n_slow, ==, 1);
  }

  assert_finalized (&downloader);
}

static void
test_fetch_refused (void)
{
  g_autofree gchar *cache = make_cache_dir ();
  g_autoptr (BerthDownloader) downloader = berth_downloader_new (cache);
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autofree gchar *url = NULL;
  g_autofree gchar *path = NULL;
  g_autoptr (GError) error = NULL;

  /* A port that was free a moment ago and has no listener. */
  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (socket, any, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  url = g_strdup_printf ("http://127.0.0.1:%u/file.bin",
                         g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  g_socket_close (socket, NULL);

  path = fetch (downloader, url, NULL, NULL, &error);
  g_assert_null (path);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_DOWNLOAD);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, url) || strstr (error->message, url) != NULL);
  g_assert_nonnull (strstr (error->message, "connection was refused"));
  assert_no_data (downloader, url);
}

static void
test_fetch_chunked (void)
{
  g_autoptr (TestServer) ts = test_server_new (NULL);
  g_autofree gchar *cache = make_cache_dir ();
  g_autoptr (BerthDownloader) downloader = berth_downloader_new (cache);
  g_autofree gchar *url = test_url (ts, "/chunked.bin");
  g_autoptr (GBytes) expected
      = g_bytes_new_from_bytes (good_body, 0, CHUNKED_PIECES * CHUNKED_PIECE_SIZE);
  g_autofree gchar *path = NULL;
  g_autoptr (GError) error = NULL;
  Progress progress;
  guint last;

  progress_init (&progress);
  g_signal_connect (downloader, "progress", G_CALLBACK (progress_cb), &progress);
  path = fetch (downloader, url, NULL, NULL, &error);
  g_assert_no_error (error);
  assert_file_equals_bytes (path, expected);

  /* No Content-Length: the total is 0 until the end, then the size received. */
  g_assert_cmpuint (progress.received->len, >=, 2);
  last = progress.received->len - 1;
  for (guint i = 0; i < last; i++)
    g_assert_cmpuint (g_array_index (progress.totals, guint64, i), ==, 0);
  g_assert_cmpuint (g_array_index (progress.received, guint64, last), ==,
                    CHUNKED_PIECES * CHUNKED_PIECE_SIZE);
  g_assert_cmpuint (g_array_index (progress.totals, guint64, last), ==,
                    CHUNKED_PIECES * CHUNKED_PIECE_SIZE);
  progress_clear (&progress);
}

static void
test_fetch_file_url (void)
{
  g_autofree gchar *cache = make_cache_dir ();
  g_autofree gchar *source_dir = make_cache_dir ();
  g_autoptr (BerthDownloader) downloader = berth_downloader_new (cache);
  g_autofree gchar *source = g_build_filename (source_dir, "image.qcow2", NULL);
  g_autofree gchar *missing = g_build_filename (source_dir, "missing.qcow2", NULL);
  g_autofree gchar *url = g_filename_to_uri (source, NULL, NULL);
  g_autofree gchar *missing_url = g_filename_to_uri (missing, NULL, NULL);
  g_autofree gchar *hex = digest_of (BERTH_CHECKSUM_SHA256, good_body);
  g_autofree gchar *digest = g_strconcat ("sha256:", hex, NULL);
  g_autofree gchar *entry = berth_downloader_get_entry_dir (downloader, url);
  g_autofree gchar *url_file = g_build_filename (entry, "url", NULL);
  g_autofree gchar *url_text = NULL;
  g_autofree gchar *path = NULL;
  g_autofree gchar *none = NULL;
  g_autoptr (GError) error = NULL;
  Progress progress;

  g_file_set_contents (source, g_bytes_get_data (good_body, NULL),
                       (gssize)g_bytes_get_size (good_body), &error);
  g_assert_no_error (error);

  progress_init (&progress);
  g_signal_connect (downloader, "progress", G_CALLBACK (progress_cb), &progress);
  path = fetch (downloader, url, digest, NULL, &error);
  g_assert_no_error (error);
  assert_file_equals_bytes (path, good_body);
  url_text = berth_test_read_file (url_file);
  g_assert_cmpstr (url_text, ==, url);
  g_assert_cmpuint (progress.received->len, >=, 1);
  g_assert_cmpuint (g_array_index (progress.totals, guint64, 0), ==, g_bytes_get_size (good_body));
  g_assert_cmpuint (g_array_index (progress.received, guint64, progress.received->len - 1), ==,
                    g_bytes_get_size (good_body));
  progress_clear (&progress);

  none = fetch (downloader, missing_url, NULL, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_DOWNLOAD);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, missing_url));
  assert_no_data (downloader, missing_url);
}

static void
test_fetch_invalid (void)
{
  g_autofree gchar *cache = make_cache_dir ();
  g_autoptr (BerthDownloader) downloader = berth_downloader_new (cache);
  g_autofree gchar *path = NULL;
  g_autofree gchar *names = NULL;
  g_autoptr (GError) error = NULL;

  path = fetch (downloader, "ftp://127.0.0.1/file.bin", NULL, NULL, &error);
  g_assert_null (path);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "“ftp://127.0.0.1/file.bin”"));
  g_assert_nonnull (strstr (error->message, "http://, https:// or file://"));
  g_clear_error (&error);

  path = fetch (downloader, "not a url", NULL, NULL, &error);
  g_assert_null (path);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "“not a url”"));
  g_clear_error (&error);

  path = fetch (downloader, "http://127.0.0.1:1/x", "sha1:abc", NULL, &error);
  g_assert_null (path);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "“sha1:abc”"));
  g_assert_nonnull (strstr (error->message, "sha256:<64 hex digits>"));

  /* None of these touched the cache. */
  names = list_dir (cache);
  g_assert_cmpstr (names, ==, "");
}

/* ---------------------------------------------------------------------- */
/* HTTPS with a private CA                                                */

/* A self-signed certificate for 127.0.0.1 (its own CA), made with GnuTLS. */
static void
make_certificate (const gchar *common_name, gchar **cert_pem, gchar **key_pem)
{
  gnutls_x509_privkey_t key = NULL;
  gnutls_x509_crt_t crt = NULL;
  gnutls_datum_t out = { NULL, 0 };
  guint8 serial[8];
  guint8 key_id[64];
  size_t key_id_size = sizeof key_id;
  const guint8 ip[4] = { 127, 0, 0, 1 };
  time_t now = time (NULL);

  for (gsize i = 0; i < sizeof serial; i++)
    serial[i] = (guint8)g_random_int_range (1, 128);

  g_assert_cmpint (gnutls_x509_privkey_init (&key), ==, 0);
  g_assert_cmpint (gnutls_x509_privkey_generate (
                       key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0),
                   ==, 0);
  g_assert_cmpint (gnutls_x509_crt_init (&crt), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_version (crt, 3), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_serial (crt, serial, sizeof serial), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_activation_time (crt, now - 3600), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_expiration_time (crt, now + 86400), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, common_name,
                                                  strlen (common_name)),
                   ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_key (crt, key), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_basic_constraints (crt, 1, -1), ==, 0);
  g_assert_cmpint (
      gnutls_x509_crt_set_key_usage (crt, GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_CERT_SIGN),
      ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_SERVER, 0), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_IPADDRESS, ip, sizeof ip,
                                                         GNUTLS_FSAN_APPEND),
                   ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
                                                         GNUTLS_FSAN_APPEND),
                   ==, 0);
  g_assert_cmpint (gnutls_x509_crt_get_key_id (crt, 0, key_id, &key_id_size), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_subject_key_id (crt, key_id, key_id_size), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0), ==, 0);

  g_assert_cmpint (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &out), ==, 0);
  *cert_pem = g_strndup ((const gchar *)out.data, out.size);
  gnutls_free (out.data);
  g_assert_cmpint (
      gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &out),
      ==, 0);
  *key_pem = g_strndup ((const gchar *)out.data, out.size);
  gnutls_free (out.data);

  gnutls_x509_crt_deinit (crt);
  gnutls_x509_privkey_deinit (key);
}

typedef struct
{
  gchar *ca_file;
  TestServer *server;
} TlsSite;

static void
tls_site_init (TlsSite *site, const gchar *dir, const gchar *name)
{
  g_autofree gchar *cert_pem = NULL;
  g_autofree gchar *key_pem = NULL;
  g_autofree gchar *both = NULL;
  g_autofree gchar *file_name = g_strconcat (name, ".pem", NULL);
  g_autoptr (GTlsCertificate) certificate = NULL;
  g_autoptr (GError) error = NULL;

  make_certificate (name, &cert_pem, &key_pem);
  site->ca_file = g_build_filename (dir, file_name, NULL);
  g_file_set_contents (site->ca_file, cert_pem, -1, &error);
  g_assert_no_error (error);

  both = g_strconcat (cert_pem, key_pem, NULL);
  certificate = g_tls_certificate_new_from_pem (both, -1, &error);
  g_assert_no_error (error);
  site->server = test_server_new (certificate);
  g_assert_true (g_str_has_prefix (site->server->base, "https://127.0.0.1:"));
}

static void
tls_site_clear (TlsSite *site)
{
  g_clear_pointer (&site->server, test_server_free);
  g_clear_pointer (&site->ca_file, g_free);
}

static void
test_fetch_https_ca (void)
{
  g_autofree gchar *dir = make_cache_dir ();
  g_autofree gchar *not_pem = g_build_filename (dir, "not-a-ca.pem", NULL);
  g_autofree gchar *absent = g_build_filename (dir, "absent.pem", NULL);
  g_autoptr (GError) error = NULL;
  TlsSite a = { NULL, NULL };
  TlsSite b = { NULL, NULL };

  if (!g_tls_backend_supports_tls (g_tls_backend_get_default ()))
    {
      g_test_skip ("no TLS backend (glib-networking) in this GIO");
      return;
    }

  tls_site_init (&a, dir, "Berth test CA A");
  tls_site_init (&b, dir, "Berth test CA B");

  /* Without the CA: refused, and said so. */
  {
    g_autofree gchar *cache = make_cache_dir ();
    g_autoptr (BerthDownloader) downloader = berth_downloader_new (cache);
    g_autofree gchar *url = test_url (a.server, "/good.bin");
    g_autofree gchar *path = fetch (downloader, url, NULL, NULL, &error);

    g_assert_null (path);
    g_assert_error (error, BERTH_ERROR, BERTH_ERROR_DOWNLOAD);
    g_test_message ("%s", error->message);
    g_assert_nonnull (strstr (error->message, url));
    g_assert_nonnull (strstr (error->message, "TLS"));
    g_assert_cmpuint (a.server->n_good, ==, 0);
    assert_no_data (downloader, url);
    g_clear_error (&error);
  }

  /* With the CAs: both servers accepted, the first CA still trusted after the second is added. */
  {
    g_autofree gchar *cache = make_cache_dir ();
    g_autoptr (BerthDownloader) downloader = berth_downloader_new (cache);
    g_autofree gchar *url_a = test_url (a.server, "/good.bin");
    g_autofree gchar *url_b = test_url (b.server, "/good.bin");
    g_autofree gchar *path_a = NULL;
    g_autofree gchar *path_b = NULL;
    g_autofree gchar *path_b_refused = NULL;

    g_assert_true (berth_downloader_set_tls_ca_file (downloader, a.ca_file, &error));
    g_assert_no_error (error);
    path_a = fetch (downloader, url_a, NULL, NULL, &error);
    g_assert_no_error (error);
    assert_file_equals_bytes (path_a, good_body);
    g_assert_cmpuint (a.server->n_good, ==, 1);

    /* CA A does not vouch for server B. */
    path_b_refused = fetch (downloader, url_b, NULL, NULL, &error);
    g_assert_null (path_b_refused);
    g_assert_error (error, BERTH_ERROR, BERTH_ERROR_DOWNLOAD);
    g_test_message ("%s", error->message);
    g_assert_nonnull (strstr (error->message, "TLS"));
    g_clear_error (&error);

    g_assert_true (berth_downloader_set_tls_ca_file (downloader, b.ca_file, &error));
    g_assert_no_error (error);
    path_b = fetch (downloader, url_b, NULL, NULL, &error);
    g_assert_no_error (error);
    assert_file_equals_bytes (path_b, good_body);
    g_assert_cmpuint (b.server->n_good, ==, 1);

    /* A's data is removed so that A is really contacted again. */
    berth_test_rm_rf (path_a);
    g_clear_pointer (&path_a, g_free);
    path_a = fetch (downloader, url_a, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (a.server->n_good, ==, 2);

    /* Bad CA files are refused with their path. */
    g_assert_false (berth_downloader_set_tls_ca_file (downloader, absent, &error));
    g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
    g_test_message ("%s", error->message);
    g_assert_nonnull (strstr (error->message, absent));
    g_clear_error (&error);

    g_file_set_contents (not_pem, "hello\n", -1, &error);
    g_assert_no_error (error);
    g_assert_false (berth_downloader_set_tls_ca_file (downloader, not_pem, &error));
    g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
    g_test_message ("%s", error->message);
    g_assert_nonnull (strstr (error->message, not_pem));
    g_assert_nonnull (strstr (error->message, "BEGIN CERTIFICATE"));
    g_clear_error (&error);
  }

  tls_site_clear (&a);
  tls_site_clear (&b);
}

/* ---------------------------------------------------------------------- */

int
main (int argc, char **argv)
{
  const gchar *xdg[] = { "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME",
                         "XDG_RUNTIME_DIR" };
  const gchar *proxies[]
      = { "http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY" };
  int ret;

  tmp_root = berth_test_make_root ("berth-test-download");
  for (gsize i = 0; i < G_N_ELEMENTS (xdg); i++)
    {
      g_autofree gchar *path = g_build_filename (tmp_root, xdg[i], NULL);

      g_mkdir_with_parents (path, 0700);
      g_setenv (xdg[i], path, TRUE);
    }
  /* The local servers are reached directly, never through a proxy or a desktop's settings. */
  for (gsize i = 0; i < G_N_ELEMENTS (proxies); i++)
    g_unsetenv (proxies[i]);
  g_setenv ("no_proxy", "127.0.0.1,localhost", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_setenv ("GIO_USE_VFS", "local", TRUE);
  umask (022);

  g_test_init (&argc, &argv, NULL);

  good_body = make_body (1, GOOD_SIZE);

  g_test_add_func ("/download/checksum/data", test_checksum_data);
  g_test_add_func ("/download/checksum/file", test_checksum_file);
  g_test_add_func ("/download/checksum/parse", test_checksum_parse);
  g_test_add_func ("/download/http/fetch-and-cache", test_fetch_and_cache);
  g_test_add_func ("/download/http/sha512", test_fetch_sha512);
  g_test_add_func ("/download/http/mismatch", test_fetch_mismatch);
  g_test_add_func ("/download/http/redownload", test_fetch_redownload);
  g_test_add_func ("/download/http/concurrent", test_fetch_concurrent);
  g_test_add_func ("/download/http/not-found", test_fetch_not_found);
  g_test_add_func ("/download/http/truncated", test_fetch_truncated);
  g_test_add_func ("/download/http/cancel", test_fetch_cancel);
  g_test_add_func ("/download/http/refused", test_fetch_refused);
  g_test_add_func ("/download/http/chunked", test_fetch_chunked);
  g_test_add_func ("/download/file-url", test_fetch_file_url);
  g_test_add_func ("/download/invalid", test_fetch_invalid);
  g_test_add_func ("/download/https/ca-file", test_fetch_https_ca);

  ret = g_test_run ();

  g_bytes_unref (good_body);
  berth_test_rm_rf (tmp_root);
  g_free (tmp_root);
  return ret;
}
