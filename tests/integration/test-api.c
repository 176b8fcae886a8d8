/* SPDX-License-Identifier: GPL-3.0-or-later */
/* berthd end to end: the real daemon from the build tree on a free port of
 * 127.0.0.1, throwaway XDG directories, the test backend plugin from
 * BERTH_PLUGIN_PATH, and what a client sees over HTTP and the WebSocket. */
#include "config.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "berth.h"

#include "berth-test-util.h"

#define WAIT_SECONDS 30
#define PASSWORD_LENGTH 32
#define N_CLIENTS 10
#define N_PUTS_PER_CLIENT 100

typedef struct
{
  gchar *root;
  gchar *config;
  gchar *data;
  gchar *cache;
  gchar *runtime;
  gchar *credentials_path;
  gchar *stderr_path;
  GSubprocess *berthd;
  gboolean exited; /* berthd was reaped */
  gint64 pid;
  guint port;
  gchar *password;
  SoupSession *session;
  const gchar *allowed_origins; /* $BERTH_API_ALLOWED_ORIGINS for berthd, or NULL */
} Fixture;

typedef enum
{
  AUTH_RIGHT,
  AUTH_NONE,
  AUTH_WRONG_PASSWORD,
  AUTH_WRONG_USER,
} AuthMode;

typedef struct
{
  guint status;
  gchar *body;
  SoupMessageHeaders *headers;
} Response;

static void
response_free (Response *r)
{
  g_free (r->body);
  g_clear_pointer (&r->headers, soup_message_headers_unref);
  g_free (r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Response, response_free)

/* ---- helpers ---------------------------------------------------------- */

static const gchar *
berthd_path (void)
{
  const gchar *path = g_getenv ("BERTHD");

  g_assert_nonnull (path);
  return path;
}

static JsonNode *
parse_json (const gchar *text)
{
  g_autoptr (GError) error = NULL;
  /* As strictly as any client may read it: RFC 8259 and nothing wider. */
  JsonNode *root = berth_json_parse (text, strlen (text), 64, "berthd's answer", &error);

  g_assert_no_error (error);
  g_assert_nonnull (root);
  return root;
}

static JsonNode *
read_json_file (const gchar *path)
{
  g_autofree gchar *text = NULL;
  g_autoptr (GError) error = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return parse_json (text);
}

static gchar *
basic_auth (const gchar *user, const gchar *password)
{
  g_autofree gchar *pair = g_strdup_printf ("%s:%s", user, password);
  g_autofree gchar *encoded = g_base64_encode ((const guchar *)pair, strlen (pair));

  return g_strconcat ("Basic ", encoded, NULL);
}

static void
add_auth (Fixture *f, SoupMessage *msg, AuthMode auth)
{
  g_autofree gchar *header = NULL;

  switch (auth)
    {
    case AUTH_RIGHT:
      header = basic_auth ("user", f->password);
      break;
    case AUTH_WRONG_PASSWORD:
      {
        g_autofree gchar *wrong = g_strdup (f->password);

        /* Same length, one character off. */
        wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
        header = basic_auth ("user", wrong);
        break;
      }
    case AUTH_WRONG_USER:
      header = basic_auth ("admin", f->password);
      break;
    case AUTH_NONE:
    default:
      return;
    }
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", header);
}

static SoupMessage *
new_message (Fixture *f, const gchar *method, const gchar *path)
{
  g_autofree gchar *uri = g_strdup_printf ("http://127.0.0.1:%u%s", f->port, path);

  return soup_message_new (method, uri);
}

static Response *
send_message (Fixture *f, SoupMessage *msg)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = soup_session_send_and_read (f->session, msg, NULL, &error);
  Response *r = g_new0 (Response, 1);

  g_assert_no_error (error);
  r->status = soup_message_get_status (msg);
  r->body = g_bytes_get_size (bytes) > 0
                ? g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes))
                : g_strdup ("");
  r->headers = soup_message_headers_ref (soup_message_get_response_headers (msg));
  return r;
}

/* A request for @path with @body (NULL: none) and @auth, not sent yet. */
static SoupMessage *
new_request (Fixture *f, const gchar *method, const gchar *path, const gchar *body, AuthMode auth)
{
  SoupMessage *msg = new_message (f, method, path);

  add_auth (f, msg, auth);
  if (body != NULL)
    {
      g_autoptr (GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
    }
  return msg;
}

static Response *
call_full (Fixture *f, const gchar *method, const gchar *path, const gchar *body, AuthMode auth)
{
  g_autoptr (SoupMessage) msg = new_request (f, method, path, body, auth);

  return send_message (f, msg);
}

static Response *
call (Fixture *f, const gchar *method, const gchar *path, const gchar *body)
{
  return call_full (f, method, path, body, AUTH_RIGHT);
}

/* A request with @header set to @value, as a browser or a proxy would send
 * it. */
static Response *
call_with_header (Fixture *f, const gchar *method, const gchar *path, const gchar *body,
                  AuthMode auth, const gchar *header, const gchar *value)
{
  g_autoptr (SoupMessage) msg = new_request (f, method, path, body, auth);

  soup_message_headers_replace (soup_message_get_request_headers (msg), header, value);
  return send_message (f, msg);
}

/* Sends @request to berthd byte for byte, for what libsoup's client would
 * not send (no Host header), and reads the answer until berthd closes the
 * connection, which @request must ask for. */
static Response *
send_raw (Fixture *f, const gchar *request)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (GByteArray) answer = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  const gchar *end_of_headers;
  gchar buffer[4096];
  gssize got;
  Response *r = g_new0 (Response, 1);

  g_socket_client_set_timeout (client, WAIT_SECONDS);
  conn = g_socket_client_connect_to_host (client, "127.0.0.1", f->port, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), request,
                             strlen (request), NULL, NULL, &error);
  g_assert_no_error (error);
  while ((got = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (conn)), buffer,
                                     sizeof buffer, NULL, &error))
         > 0)
    g_byte_array_append (answer, (const guint8 *)buffer, (guint)got);
  g_assert_no_error (error);
  g_byte_array_append (answer, (const guint8 *)"", 1);

  end_of_headers = strstr ((const gchar *)answer->data, "\r\n\r\n");
  g_assert_nonnull (end_of_headers);
  r->headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  g_assert_true (soup_headers_parse_response ((const gchar *)answer->data,
                                              (gint)(end_of_headers + 2 - (gchar *)answer->data),
                                              r->headers, NULL, &r->status, NULL));
  r->body = g_strdup (end_of_headers + 4);
  return r;
}

/* A JSON answer's root, checked to be JSON with the right content type. */
static JsonNode *
response_json (Response *r)
{
  const gchar *type = soup_message_headers_get_content_type (r->headers, NULL);

  g_assert_cmpstr (type, ==, "application/json");
  return parse_json (r->body);
}

/* An error answer: {"message", "code"}; returns the message. */
static gchar *
assert_error_response (Response *r, guint status, const gchar *code)
{
  g_autoptr (JsonNode) root = NULL;
  JsonObject *object;

  if (r->status != status)
    g_test_message ("unexpected answer %u: %s", r->status, r->body);
  g_assert_cmpuint (r->status, ==, status);
  root = response_json (r);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  object = json_node_get_object (root);
  g_assert_cmpstr (json_object_get_string_member (object, "code"), ==, code);
  g_assert_nonnull (json_object_get_string_member (object, "message"));
  return g_strdup (json_object_get_string_member (object, "message"));
}

static gchar *
get_vm_state (Fixture *f)
{
  g_autoptr (Response) r = call (f, "GET", "/v1/backend_state", NULL);
  g_autoptr (JsonNode) root = NULL;

  g_assert_cmpuint (r->status, ==, 200);
  root = response_json (r);
  return g_strdup (json_object_get_string_member (json_node_get_object (root), "vmState"));
}

typedef struct
{
  Fixture *f;
  const gchar *want;
} StateWait;

static gboolean
state_is (gpointer user_data)
{
  StateWait *w = user_data;
  g_autofree gchar *state = get_vm_state (w->f);

  return g_str_equal (state, w->want);
}

static void
wait_for_state (Fixture *f, const gchar *want)
{
  StateWait w = { f, want };

  g_assert_true (berth_test_iterate_until (state_is, &w, WAIT_SECONDS));
}

/* ---- berthd ----------------------------------------------------------- */

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->root = berth_test_make_root ("berth-api");
  f->config = g_build_filename (f->root, "config", NULL);
  f->data = g_build_filename (f->root, "share", NULL);
  f->cache = g_build_filename (f->root, "cache", NULL);
  f->runtime = g_build_filename (f->root, "run", NULL);
  g_assert_cmpint (g_mkdir (f->runtime, 0700), ==, 0);
  f->credentials_path = g_build_filename (f->data, "berth", "berth-engine.json", NULL);
  f->stderr_path = g_build_filename (f->root, "berthd.stderr", NULL);
  f->session = soup_session_new_with_options ("timeout", WAIT_SECONDS, "max-conns-per-host",
                                              N_CLIENTS, NULL);
}

static GSubprocessLauncher *
new_launcher (Fixture *f)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);

  g_subprocess_launcher_set_child_setup (launcher, berth_test_die_with_parent, NULL, NULL);

  /* Everything the daemon could write lands under the throwaway root. */
  g_subprocess_launcher_setenv (launcher, "HOME", f->root, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", f->config, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", f->data, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CACHE_HOME", f->cache, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", f->runtime, TRUE);
  g_subprocess_launcher_unsetenv (launcher, "BERTH_API_PORT");
  if (f->allowed_origins != NULL)
    g_subprocess_launcher_setenv (launcher, "BERTH_API_ALLOWED_ORIGINS", f->allowed_origins, TRUE);
  else
    g_subprocess_launcher_unsetenv (launcher, "BERTH_API_ALLOWED_ORIGINS");
  g_subprocess_launcher_set_stderr_file_path (launcher, f->stderr_path);
  return launcher;
}

typedef struct
{
  Fixture *f;
  gboolean exited;
} StartWait;

static gboolean
credentials_ready (gpointer user_data)
{
  StartWait *w = user_data;

  if (w->f->exited)
    {
      w->exited = TRUE;
      return TRUE;
    }
  /* A file from an earlier run of this test's daemon does not count. */
  return berth_test_read_credentials (w->f->credentials_path, w->f->pid, &w->f->port,
                                      &w->f->password);
}

static void
on_berthd_exited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Fixture *f = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  f->exited = TRUE;
}

/* Spawns berthd with @launcher and the NULL-terminated arguments after it. */
static void
daemon_spawn (Fixture *f, GSubprocessLauncher *launcher, const gchar *first_arg, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  const gchar *arg;
  va_list args;

  g_ptr_array_add (argv, (gpointer)berthd_path ());
  va_start (args, first_arg);
  for (arg = first_arg; arg != NULL; arg = va_arg (args, const gchar *))
    g_ptr_array_add (argv, (gpointer)arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  g_clear_object (&f->berthd);
  f->exited = FALSE;
  f->berthd = g_subprocess_launcher_spawnv (launcher, (const gchar *const *)argv->pdata, &error);
  g_assert_no_error (error);
  f->pid = g_ascii_strtoll (g_subprocess_get_identifier (f->berthd), NULL, 10);
  g_subprocess_wait_async (f->berthd, NULL, on_berthd_exited, f);
}

/* Starts berthd with @port_arg ("0" for any free port) and waits until its
 * credentials file names it. */
static void
daemon_start_on (Fixture *f, const gchar *port_arg)
{
  g_autoptr (GSubprocessLauncher) launcher = new_launcher (f);
  StartWait w = { f, FALSE };

  daemon_spawn (f, launcher, "--foreground", "--verbose", "--port", port_arg, NULL);
  g_assert_true (berth_test_iterate_until (credentials_ready, &w, WAIT_SECONDS));
  if (w.exited)
    berth_test_show_stderr ("berthd", f->stderr_path);
  g_assert_false (w.exited);
  g_assert_cmpuint (f->port, >, 0);
}

static void
daemon_start (Fixture *f)
{
  daemon_start_on (f, "0");
}

static gboolean
has_exited (gpointer user_data)
{
  return ((Fixture *)user_data)->exited;
}

/* Waits for berthd to exit by itself; returns its exit status. */
static gint
daemon_wait_exit (Fixture *f)
{
  g_assert_true (berth_test_iterate_until (has_exited, f, WAIT_SECONDS));
  if (!g_subprocess_get_if_exited (f->berthd))
    berth_test_show_stderr ("berthd", f->stderr_path);
  g_assert_true (g_subprocess_get_if_exited (f->berthd));
  return g_subprocess_get_exit_status (f->berthd);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  if (f->berthd != NULL)
    {
      if (g_test_failed ())
        berth_test_show_stderr ("berthd", f->stderr_path);
      if (!f->exited)
        {
          g_subprocess_send_signal (f->berthd, SIGTERM);
          if (!berth_test_iterate_until (has_exited, f, WAIT_SECONDS))
            {
              g_subprocess_force_exit (f->berthd);
              g_subprocess_wait (f->berthd, NULL, NULL);
            }
        }
      g_clear_object (&f->berthd);
    }
  g_clear_object (&f->session);
  berth_test_rm_rf (f->root);
  g_free (f->root);
  g_free (f->config);
  g_free (f->data);
  g_free (f->cache);
  g_free (f->runtime);
  g_free (f->credentials_path);
  g_free (f->stderr_path);
  g_free (f->password);
}

/* ---- tests ------------------------------------------------------------ */

static void
test_auth (Fixture *f, gconstpointer data)
{
  const AuthMode refused[] = { AUTH_NONE, AUTH_WRONG_PASSWORD, AUTH_WRONG_USER };
  const gchar *paths[] = { "/v1/settings", "/v1/no-such-endpoint", "/v1" };

  daemon_start (f);

  /* Refused, with a challenge and not a word more, whatever the path. */
  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    for (gsize p = 0; p < G_N_ELEMENTS (paths); p++)
      {
        g_autoptr (Response) r = call_full (f, "GET", paths[p], NULL, refused[i]);

        g_assert_cmpuint (r->status, ==, 401);
        g_assert_cmpstr (r->body, ==, "");
        g_assert_cmpstr (soup_message_headers_get_one (r->headers, "WWW-Authenticate"), ==,
                         "Basic realm=\"berth\"");
      }
  {
    g_autoptr (Response) r
        = call_full (f, "PUT", "/v1/settings", "{\"images\": {\"namespace\": \"refused\"}}",
                     AUTH_WRONG_PASSWORD);
    g_autoptr (Response) after = call (f, "GET", "/v1/settings", NULL);
    g_autoptr (JsonNode) settings = NULL;

    g_assert_cmpuint (r->status, ==, 401);
    settings = response_json (after);
    g_assert_cmpstr (
        json_object_get_string_member (
            json_object_get_object_member (json_node_get_object (settings), "images"), "namespace"),
        !=, "refused");
  }

  /* Accepted. */
  {
    g_autoptr (Response) r = call (f, "GET", "/v1/settings", NULL);
    g_autoptr (JsonNode) settings = NULL;

    g_assert_cmpuint (r->status, ==, 200);
    settings = response_json (r);
    g_assert_true (JSON_NODE_HOLDS_OBJECT (settings));
    g_assert_true (json_object_has_member (json_node_get_object (settings), "virtualMachine"));
  }
}

static void
test_credentials (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonNode) root = NULL;
  JsonObject *object;
  const gchar *password;
  GStatBuf st;
  g_autofree gchar *data_dir = g_path_get_dirname (f->credentials_path);
  g_autofree gchar *stale_credentials = g_strconcat (f->credentials_path, ".tmp-a1B2c3", NULL);
  g_autofree gchar *stale_settings
      = g_build_filename (f->config, "berth", "settings.json.tmp-Z9y8X7", NULL);
  g_autofree gchar *settings_dir = g_path_get_dirname (stale_settings);

  /* What a berthd killed while writing left behind: gone after a start. */
  g_assert_cmpint (g_mkdir_with_parents (data_dir, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (settings_dir, 0700), ==, 0);
  berth_test_write_file (stale_credentials, "{\"user\": \"us", 0600);
  berth_test_write_file (stale_settings, "{\"version\": 5, \"kub", 0644);

  daemon_start (f);
  g_assert_false (g_file_test (stale_credentials, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (stale_settings, G_FILE_TEST_EXISTS));

  g_assert_cmpint (g_stat (f->credentials_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (st.st_uid, ==, getuid ());

  root = read_json_file (f->credentials_path);
  object = json_node_get_object (root);
  g_assert_cmpstr (json_object_get_string_member (object, "user"), ==, "user");
  g_assert_cmpint (json_object_get_int_member (object, "port"), ==, f->port);
  g_assert_cmpint (json_object_get_int_member (object, "pid"), ==, f->pid);
  password = json_object_get_string_member (object, "password");
  g_assert_cmpuint (strlen (password), ==, PASSWORD_LENGTH);
  for (const gchar *p = password; *p != '\0'; p++)
    g_assert_true (g_ascii_isalnum (*p) || *p == '-' || *p == '_');

  /* No temporary file is left beside it. */
  {
    g_autofree gchar *dir_path = g_path_get_dirname (f->credentials_path);
    g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
    const gchar *name;

    g_assert_nonnull (dir);
    while ((name = g_dir_read_name (dir)) != NULL)
      g_assert_false (g_str_has_prefix (name, "berth-engine.json."));
  }
}

/* The listening sockets of @port in /proc/net/tcp{,6}: local addresses in
 * the kernel's hex notation. */
static GPtrArray *
listening_addresses (const gchar *table, guint port)
{
  g_autofree gchar *text = NULL;
  g_auto (GStrv) lines = NULL;
  GPtrArray *found = g_ptr_array_new_with_free_func (g_free);
  g_autofree gchar *port_hex = g_strdup_printf (":%04X", port);

  if (!g_file_get_contents (table, &text, NULL, NULL))
    return found;
  lines = g_strsplit (text, "\n", -1);
  for (gsize i = 1; lines[i] != NULL; i++)
    {
      g_auto (GStrv) fields = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
      g_autoptr (GPtrArray) cols = g_ptr_array_new ();

      for (gsize c = 0; fields[c] != NULL; c++)
        if (fields[c][0] != '\0')
          g_ptr_array_add (cols, fields[c]);
      /* sl local_address rem_address st … ; st 0A is LISTEN. */
      if (cols->len < 4 || !g_str_equal (g_ptr_array_index (cols, 3), "0A"))
        continue;
      if (g_str_has_suffix (g_ptr_array_index (cols, 1), port_hex))
        g_ptr_array_add (found, g_strdup (g_ptr_array_index (cols, 1)));
    }
  return found;
}

static void
test_loopback_only (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) v4 = NULL;
  g_autoptr (GPtrArray) v6 = NULL;
  g_autofree gchar *loopback = NULL;
  struct ifaddrs *ifaddrs = NULL;
  guint tried = 0;

  daemon_start (f);

  /* One listening socket for the port, bound to 127.0.0.1 and nothing else. */
  v4 = listening_addresses ("/proc/net/tcp", f->port);
  v6 = listening_addresses ("/proc/net/tcp6", f->port);
  loopback = g_strdup_printf ("0100007F:%04X", f->port);
  g_assert_cmpuint (v4->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (v4, 0), ==, loopback);
  g_assert_cmpuint (v6->len, ==, 0);

  /* And from the machine's other addresses, nobody answers. */
  g_assert_cmpint (getifaddrs (&ifaddrs), ==, 0);
  for (struct ifaddrs *i = ifaddrs; i != NULL; i = i->ifa_next)
    {
      g_autoptr (GSocketClient) client = NULL;
      g_autoptr (GSocketConnection) conn = NULL;
      g_autoptr (GError) error = NULL;
      g_autoptr (GInetAddress) address = NULL;
      g_autoptr (GSocketAddress) target = NULL;

      if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
        continue;
      address = g_inet_address_new_from_bytes (
          (const guint8 *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr, G_SOCKET_FAMILY_IPV4);
      if (g_inet_address_get_is_loopback (address))
        continue;
      target = g_inet_socket_address_new (address, f->port);
      client = g_socket_client_new ();
      g_socket_client_set_timeout (client, 5);
      conn = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (target), NULL, &error);
      g_assert_null (conn);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
      tried++;
    }
  freeifaddrs (ifaddrs);
  if (tried == 0)
    g_test_message ("This machine has no non-loopback IPv4 address to try");
}

static void
test_port_taken (Fixture *f, gconstpointer data)
{
  g_autoptr (GSocketListener) listener = g_socket_listener_new ();
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_autoptr (GSocketAddress) effective = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *taken = NULL;
  guint taken_port;

  g_socket_listener_add_address (listener, address, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                 NULL, &effective, &error);
  g_assert_no_error (error);
  taken_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  taken = g_strdup_printf ("%u", taken_port);

  /* Asked for a taken port, berthd takes a free one and says which. */
  daemon_start_on (f, taken);
  g_assert_cmpuint (f->port, !=, taken_port);
  {
    g_autoptr (Response) r = call (f, "GET", "/v1/about", NULL);
    g_autoptr (JsonNode) about = NULL;

    g_assert_cmpuint (r->status, ==, 200);
    about = response_json (r);
    g_assert_cmpint (json_object_get_int_member (json_node_get_object (about), "apiPort"), ==,
                     f->port);
  }
}

static void
test_bad_port (Fixture *f, gconstpointer data)
{
  g_autoptr (GSubprocessLauncher) launcher = new_launcher (f);
  g_autofree gchar *err = NULL;

  daemon_spawn (f, launcher, "--port", "65536", NULL);
  g_assert_cmpint (daemon_wait_exit (f), ==, 2);
  g_file_get_contents (f->stderr_path, &err, NULL, NULL);
  g_assert_nonnull (strstr (err, "--port \"65536\" is not a port"));
  g_assert_nonnull (strstr (err, "0 (any free port) to 65535"));
  g_assert_false (g_file_test (f->credentials_path, G_FILE_TEST_EXISTS));
}

static void
test_routing (Fixture *f, gconstpointer data)
{
  daemon_start (f);

  {
    g_autoptr (Response) r = call (f, "GET", "/v1/no-such-endpoint", NULL);
    g_autofree gchar *message = assert_error_response (r, 404, "not-found");

    g_assert_nonnull (strstr (message, "/v1/no-such-endpoint"));
  }
  {
    g_autoptr (Response) r = call (f, "DELETE", "/v1/settings", NULL);
    g_autofree gchar *message = assert_error_response (r, 405, "not-supported");

    g_assert_cmpstr (soup_message_headers_get_one (r->headers, "Allow"), ==, "GET, PUT");
    g_assert_nonnull (strstr (message, "DELETE"));
  }
  {
    g_autoptr (Response) r = call (f, "GET", "/v1/shutdown", NULL);
    g_free (assert_error_response (r, 405, "not-supported"));

    g_assert_cmpstr (soup_message_headers_get_one (r->headers, "Allow"), ==, "PUT");
  }
  {
    g_autoptr (Response) r = call (f, "GET", "/v1", NULL);
    g_autoptr (JsonNode) list = response_json (r);
    g_autofree gchar *text = json_to_string (list, FALSE);

    g_assert_cmpuint (r->status, ==, 200);
    g_assert_true (JSON_NODE_HOLDS_ARRAY (list));
    for (const gchar *const *e
         = (const gchar *const[]){ "GET /v1/about", "GET /v1/settings", "PUT /v1/settings",
                                   "PUT /v1/propose_settings", "GET /v1/backend_state",
                                   "PUT /v1/backend_state", "PUT /v1/shutdown",
                                   "PUT /v1/factory_reset", "PUT /v1/k8s_reset", "GET /v1/plugins",
                                   "GET /v1/diagnostic_checks", "GET /v1/events", NULL };
         *e != NULL; e++)
      {
        g_autofree gchar *quoted = g_strdup_printf ("\"%s\"", *e);

        g_assert_nonnull (strstr (text, quoted));
      }
  }
  /* The event stream is a WebSocket, not a page. */
  {
    g_autoptr (Response) r = call (f, "GET", "/v1/events", NULL);
    g_autofree gchar *message = assert_error_response (r, 400, "invalid-data");

    g_assert_nonnull (strstr (message, "WebSocket"));
  }
}

static void
test_about_plugins_diagnostics (Fixture *f, gconstpointer data)
{
  daemon_start (f);

  {
    g_autoptr (Response) r = call (f, "GET", "/v1/about", NULL);
    g_autoptr (JsonNode) root = response_json (r);
    JsonObject *about = json_node_get_object (root);

    g_assert_cmpuint (r->status, ==, 200);
    g_assert_cmpstr (json_object_get_string_member (about, "version"), ==, BERTH_VERSION_STRING);
    g_assert_cmpstr (json_object_get_string_member (about, "platform"), ==, "linux");
    g_assert_cmpint (json_object_get_int_member (about, "pluginAbi"), ==, BERTH_PLUGIN_ABI);
    g_assert_cmpint (json_object_get_int_member (about, "pid"), ==, f->pid);
    g_assert_cmpint (json_object_get_int_member (about, "apiPort"), ==, f->port);
  }
  {
    g_autoptr (Response) r = call (f, "GET", "/v1/plugins", NULL);
    g_autoptr (JsonNode) root = response_json (r);
    JsonArray *plugins = json_node_get_array (root);
    gboolean good = FALSE, wrong_abi = FALSE;

    g_assert_cmpuint (r->status, ==, 200);
    for (guint i = 0; i < json_array_get_length (plugins); i++)
      {
        JsonObject *p = json_array_get_object_element (plugins, i);
        const gchar *name = json_object_get_string_member (p, "name");
        const gchar *status = json_object_get_string_member (p, "status");

        if (g_str_equal (name, "test-good"))
          {
            good = TRUE;
            g_assert_cmpstr (status, ==, "loaded");
          }
        else if (g_str_equal (name, "test-wrongabi"))
          {
            wrong_abi = TRUE;
            g_assert_cmpstr (status, ==, "failed");
            g_assert_nonnull (json_object_get_string_member (p, "reason"));
          }
      }
    g_assert_true (good);
    g_assert_true (wrong_abi);
  }
  {
    g_autoptr (Response) r = call (f, "GET", "/v1/diagnostic_checks", NULL);
    g_autoptr (JsonNode) root = response_json (r);
    JsonArray *checks = json_object_get_array_member (json_node_get_object (root), "checks");
    const gchar *wanted[]
        = { "VIRTUALIZATION", "QEMU_PRESENT", "FREE_DISK", "SOCKET_PATH_LENGTH", "BACKEND" };

    g_assert_cmpuint (r->status, ==, 200);
    for (gsize w = 0; w < G_N_ELEMENTS (wanted); w++)
      {
        JsonObject *found = NULL;

        for (guint i = 0; i < json_array_get_length (checks); i++)
          {
            JsonObject *c = json_array_get_object_element (checks, i);

            if (g_str_equal (json_object_get_string_member (c, "id"), wanted[w]))
              found = c;
          }
        g_assert_nonnull (found);
        g_assert_nonnull (json_object_get_string_member (found, "description"));
        g_assert_true (json_object_has_member (found, "passed"));
        g_assert_true (JSON_NODE_HOLDS_ARRAY (json_object_get_member (found, "fixes")));
        /* KVM or TCG: either way the VM can run. */
        if (g_str_equal (wanted[w], "VIRTUALIZATION"))
          g_assert_true (json_object_get_boolean_member (found, "passed"));
        if (g_str_equal (wanted[w], "FREE_DISK"))
          g_assert_nonnull (strstr (json_object_get_string_member (found, "description"), "free"));
        /* The test backend can run anywhere. */
        if (g_str_equal (wanted[w], "BACKEND"))
          {
            g_assert_true (json_object_get_boolean_member (found, "passed"));
            g_assert_nonnull (
                strstr (json_object_get_string_member (found, "description"), "test-good"));
          }
        /* The throwaway paths are short. */
        if (g_str_equal (wanted[w], "SOCKET_PATH_LENGTH"))
          g_assert_true (json_object_get_boolean_member (found, "passed"));
      }
  }
  {
    g_autoptr (Response) r = call (f, "GET", "/v1/diagnostic_checks?checkID=FREE_DISK", NULL);
    g_autoptr (JsonNode) root = response_json (r);
    JsonArray *checks = json_object_get_array_member (json_node_get_object (root), "checks");

    g_assert_cmpuint (json_array_get_length (checks), ==, 1);
  }
}

static gchar *
settings_file (Fixture *f)
{
  return g_build_filename (f->config, "berth", "settings.json", NULL);
}

static void
test_bad_settings (Fixture *f, gconstpointer data)
{
  const struct
  {
    const gchar *body;
    const gchar *message_part;
  } bad[] = {
    { "{\"virtualMachine\": {\"memoryInGB\": 2", "not valid JSON" },
    { "[1, 2, 3]", "an array" },
    { "\"memoryInGB\"", "a string" },
    { "{\"virtualMachine\": {\"memoryInGB\": \"lots\"}}", "virtualMachine.memoryInGB" },
    { "{\"virtualMachine\": {\"numberCPUs\": true}}", "virtualMachine.numberCPUs" },
    { "{\"kubernetes\": {\"enabled\": \"yes\"}}", "kubernetes.enabled" },
    { "{\"noSuchSetting\": 1}", "noSuchSetting" },
    { "{\"virtualMachine\": {\"noSuchThing\": 1}}", "noSuchThing" },
    { "{\"containerEngine\": {\"name\": \"rkt\"}}", "rkt" },
    /* One good key and one bad: nothing of it is taken. */
    { "{\"images\": {\"namespace\": \"half\"}, \"virtualMachine\": {\"memoryInGB\": -1}}",
      "virtualMachine.memoryInGB" },
  };
  g_autofree gchar *path = settings_file (f);
  g_autofree gchar *file_before = NULL;
  g_autofree gchar *get_before = NULL;

  daemon_start (f);
  g_assert_true (g_file_get_contents (path, &file_before, NULL, NULL));
  {
    g_autoptr (Response) r = call (f, "GET", "/v1/settings", NULL);

    get_before = g_steal_pointer (&r->body);
  }

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (Response) r = call (f, "PUT", "/v1/settings", bad[i].body);
      g_autoptr (Response) after = NULL;
      g_autofree gchar *file_after = NULL;
      g_autofree gchar *message = NULL;

      g_test_message ("PUT %s", bad[i].body);
      g_assert_cmpuint (r->status, ==, 400);
      message = g_strdup (
          json_object_get_string_member (json_node_get_object (response_json (r)), "message"));
      if (strstr (message, bad[i].message_part) == NULL)
        g_test_message ("message: %s", message);
      g_assert_nonnull (strstr (message, bad[i].message_part));

      /* Untouched, in the file and in what the API says. */
      g_assert_true (g_file_get_contents (path, &file_after, NULL, NULL));
      g_assert_cmpstr (file_after, ==, file_before);
      after = call (f, "GET", "/v1/settings", NULL);
      g_assert_cmpstr (after->body, ==, get_before);
    }

  /* The same for proposals. */
  {
    g_autoptr (Response) r
        = call (f, "PUT", "/v1/propose_settings", "{\"virtualMachine\": {\"memoryInGB\": \"x\"}}");
    g_autofree gchar *message = assert_error_response (r, 400, "invalid-setting");

    g_assert_nonnull (strstr (message, "virtualMachine.memoryInGB"));
  }
  /* Only RFC 8259 JSON: json-glib alone would store these as other values
   * (3363, 31, 4, "x6b8s.io", "k8s"). */
  {
    static const gchar *const bodies[][2] = {
      { "{\"kubernetes\": {\"port\": 06443}}", "JSON has no octal" },
      { "{\"kubernetes\": {\"port\": 0x1F}}", "0x1F is not a JSON number" },
      { "{\"kubernetes\": {\"port\": -18446744073709551612}}",
        "at kubernetes.port: the number -18446744073709551612 does not fit" },
      { "{\"kubernetes\": /* the API port */ {\"port\": 6444}}", "JSON has no comments" },
      { "{\"images\": {\"namespace\": \"\\x6b8s.io\"}}", "not a JSON escape" },
      { "{\"images\": {\"namespace\": \"k8s\\u0000io\"}}", "at images.namespace" },
      /* Whitespace is JSON's four characters, after the value as before it. */
      { "{\"kubernetes\": {\"port\": 6444}}\f", "U+000C follows the JSON value" },
      { "{\"kubernetes\": {\"port\": 6444}}\f\n", "U+000C follows the JSON value" },
      { "\f{\"kubernetes\": {\"port\": 6444}}", "expected a value, found U+000C" },
      { "{\"kubernetes\": {\"port\": 6444}}\v", "U+000B follows the JSON value" },
    };
    g_autoptr (Response) before = call (f, "GET", "/v1/settings", NULL);

    for (gsize i = 0; i < G_N_ELEMENTS (bodies); i++)
      {
        g_autoptr (Response) r = call (f, "PUT", "/v1/settings", bodies[i][0]);
        g_autoptr (Response) after = NULL;
        g_autofree gchar *message = assert_error_response (r, 400, "invalid-data");

        g_assert_nonnull (strstr (message, "The request body is not valid JSON"));
        g_assert_nonnull (strstr (message, bodies[i][1]));
        after = call (f, "GET", "/v1/settings", NULL);
        g_assert_cmpstr (after->body, ==, before->body);
      }
  }
  /* Deep nesting is refused before it is parsed. */
  {
    g_autoptr (GString) deep = g_string_new (NULL);
    g_autoptr (Response) r = NULL;
    g_autofree gchar *message = NULL;

    for (gint i = 0; i < 10000; i++)
      g_string_append_c (deep, '[');
    r = call (f, "PUT", "/v1/settings", deep->str);
    message = assert_error_response (r, 400, "invalid-data");
    g_assert_nonnull (strstr (message, "nests objects or lists more than 64 deep"));
  }
}

/* A Rancher Desktop version-4 settings.json (Rancher Desktop 1.0 to 1.7),
 * which berthd used to refuse to start with: it starts, with the values
 * imported, the original kept, and /v1/about naming what was dropped. */
static void
test_settings_imported_at_start (Fixture *f, gconstpointer data)
{
  g_autofree gchar *path = settings_file (f);
  g_autofree gchar *dir = g_path_get_dirname (path);
  g_autofree gchar *text = berth_test_read_fixture ("settings", "rd-v4.json", NULL);
  g_autofree gchar *kept_text = NULL;
  g_autofree gchar *kept_dir = NULL;
  g_autofree gchar *log = NULL;
  const gchar *kept;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  berth_test_write_file (path, text, 0644);
  daemon_start (f);

  {
    g_autoptr (Response) r = call (f, "GET", "/v1/settings", NULL);
    g_autoptr (JsonNode) root = response_json (r);
    JsonObject *settings = json_node_get_object (root);
    JsonObject *vm = json_object_get_object_member (settings, "virtualMachine");
    JsonObject *k8s = json_object_get_object_member (settings, "kubernetes");

    g_assert_cmpint (json_object_get_int_member (settings, "version"), ==, 5);
    g_assert_cmpint (json_object_get_int_member (vm, "memoryInGB"), ==, 6);
    g_assert_cmpint (json_object_get_int_member (vm, "numberCPUs"), ==, 4);
    g_assert_cmpstr (json_object_get_string_member (k8s, "version"), ==, "v1.25.4");
    g_assert_true (json_object_get_boolean_member (k8s, "enabled"));
    g_assert_false (json_object_get_boolean_member (
        json_object_get_object_member (settings, "application"), "adminAccess"));
  }
  {
    g_autoptr (Response) r = call (f, "GET", "/v1/about", NULL);
    g_autoptr (JsonNode) root = response_json (r);
    JsonObject *about = json_node_get_object (root);
    JsonArray *dropped = json_object_get_array_member (about, "droppedSettings");
    /* The allow-list with the reason: this build does not enforce one. */
    const gchar *const expected[] = { "containerEngine.imageAllowList.enabled",
                                      "containerEngine.imageAllowList.locked",
                                      "containerEngine.imageAllowList.patterns",
                                      "diagnostics.mutedChecks",
                                      "diagnostics.showMuted",
                                      "kubernetes.checkForExistingKimBuilder",
                                      "kubernetes.experimental.socketVMNet",
                                      "kubernetes.hostResolver" };

    g_assert_cmpint (json_object_get_int_member (about, "rancherDesktopSettingsVersion"), ==, 4);
    g_assert_nonnull (dropped);
    g_assert_cmpuint (json_array_get_length (dropped), ==, G_N_ELEMENTS (expected));
    for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
      g_assert_cmpstr (json_array_get_string_element (dropped, i), ==, expected[i]);
    g_assert_nonnull (strstr (
        json_object_get_string_member (json_object_get_object_member (about, "refusedValues"),
                                       "containerEngine.imageAllowList.enabled"),
        "not supported on this platform or build"));

    /* The original, byte for byte, beside the settings. */
    kept = json_object_get_string_member (about, "importedFrom");
    kept_dir = g_path_get_dirname (kept);
    g_assert_cmpstr (kept_dir, ==, dir);
    g_assert_true (g_str_has_prefix (kept, path));
    g_assert_nonnull (strstr (kept, ".rancher-desktop-"));
    g_assert_true (g_file_get_contents (kept, &kept_text, NULL, NULL));
    g_assert_cmpstr (kept_text, ==, text);
  }
  g_assert_true (g_file_get_contents (f->stderr_path, &log, NULL, NULL));
  g_assert_nonnull (strstr (log, "were Rancher Desktop's (settings version 4) and are imported"));
  g_assert_nonnull (strstr (log, "kubernetes.hostResolver"));

  /* The next start reads Berth's own file, and has nothing to report. */
  g_subprocess_send_signal (f->berthd, SIGTERM);
  g_assert_cmpint (daemon_wait_exit (f), ==, 0);
  daemon_start (f);
  {
    g_autoptr (Response) r = call (f, "GET", "/v1/about", NULL);
    g_autoptr (JsonNode) root = response_json (r);

    g_assert_false (json_object_has_member (json_node_get_object (root), "importedFrom"));
    g_assert_false (json_object_has_member (json_node_get_object (root), "droppedSettings"));
  }
}

/* PUT /v1/settings/import takes Rancher Desktop's settings.json: what it
 * changes, what that takes, and what was dropped; bad input changes
 * nothing. */
static void
test_settings_import (Fixture *f, gconstpointer data)
{
  /* As Rancher Desktop 1.8 writes it (settings version 6), with values
   * that fit any host, and one that fits none. */
  const gchar *rancher_desktop
      = "{\"version\":6,\"application\":{\"adminAccess\":false,\"debug\":true,"
        "\"pathManagementStrategy\":\"notset\",\"telemetry\":{\"enabled\":false},"
        "\"updater\":{\"enabled\":false},\"autoStart\":false,\"startInBackground\":false,"
        "\"hideNotificationIcon\":false,\"window\":{\"quitOnClose\":false}},"
        "\"containerEngine\":{\"allowedImages\":{\"enabled\":false,\"patterns\":[]},"
        "\"name\":\"containerd\"},"
        "\"virtualMachine\":{\"memoryInGB\":1,\"numberCPUs\":4096,\"hostResolver\":true},"
        "\"WSL\":{\"integrations\":{}},"
        "\"kubernetes\":{\"version\":\"1.25.9\",\"port\":6443,\"enabled\":true,"
        "\"options\":{\"traefik\":true,\"flannel\":true},\"ingress\":{\"localhostOnly\":false}},"
        "\"portForwarding\":{\"includeKubernetesServices\":false},"
        "\"images\":{\"showAll\":true,\"namespace\":\"k8s.io\"},"
        "\"diagnostics\":{\"showMuted\":false,\"mutedChecks\":{}},"
        "\"experimental\":{\"virtualMachine\":{\"type\":\"qemu\",\"useRosetta\":false,"
        "\"socketVMNet\":false,\"mount\":{\"type\":\"reverse-sshfs\",\"9p\":{"
        "\"securityModel\":\"none\",\"protocolVersion\":\"9p2000.L\",\"msizeInKB\":128,"
        "\"cacheMode\":\"mmap\"}},\"networkingTunnel\":false}}}";
  g_autofree gchar *path = settings_file (f);
  g_autofree gchar *file_before = NULL;
  g_autofree gchar *berth_settings = NULL;

  daemon_start (f);
  {
    g_autoptr (Response) r = call (f, "GET", "/v1", NULL);

    g_assert_nonnull (strstr (r->body, "\"PUT /v1/settings/import\""));
  }

  /* Bad input: a 400 that says what is wrong, and nothing changes. */
  g_assert_true (g_file_get_contents (path, &file_before, NULL, NULL));
  {
    g_autoptr (Response) r = call (f, "GET", "/v1/settings", NULL);

    berth_settings = g_steal_pointer (&r->body);
  }
  {
    const struct
    {
      const gchar *body;
      const gchar *message_part;
    } bad[] = {
      { "[\"version\", 4]", "an array" },
      { "{\"version\": 4, \"kubernetes\": ", "not valid JSON" },
      { "{}", "no \"version\"" },
      { "{\"version\": \"4\", \"diagnostics\": {}}",
        "version: expected a Rancher Desktop settings version, a whole number from 1 to 19, got "
        "\"4\"" },
      { "{\"version\": 9, \"editor\": {\"tabSize\": 2}}",
        "none of the keys is one Rancher Desktop writes" },
      { berth_settings, "is a setting of Berth's own, which Rancher Desktop does not have" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autoptr (Response) r = call (f, "PUT", "/v1/settings/import", bad[i].body);
        g_autofree gchar *message = assert_error_response (r, 400, "invalid-data");
        g_autofree gchar *file_after = NULL;

        g_test_message ("%s", message);
        g_assert_nonnull (strstr (message, bad[i].message_part));
        g_assert_true (g_file_get_contents (path, &file_after, NULL, NULL));
        g_assert_cmpstr (file_after, ==, file_before);
      }
  }

  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/settings/import", rancher_desktop);
    g_autoptr (JsonNode) root = NULL;
    JsonObject *answer;
    JsonArray *changed, *dropped;
    JsonObject *refused;

    g_assert_cmpuint (r->status, ==, 202);
    root = response_json (r);
    answer = json_node_get_object (root);
    g_assert_cmpint (json_object_get_int_member (answer, "rancherDesktopSettingsVersion"), ==, 6);
    /* Stopped: nothing is pending, nothing restarts. */
    g_assert_cmpuint (json_object_get_size (json_object_get_object_member (answer, "pending")), ==,
                      0);
    g_assert_false (json_object_get_boolean_member (answer, "restarting"));
    changed = json_object_get_array_member (answer, "changed");
    {
      const gchar *const expected[]
          = { "application.debug",        "application.pathManagementStrategy",
              "containerEngine.name",     "kubernetes.enabled",
              "kubernetes.version",       "virtualMachine.memoryInGB",
              "virtualMachine.mount.type" };

      g_assert_cmpuint (json_array_get_length (changed), ==, G_N_ELEMENTS (expected));
      for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
        g_assert_cmpstr (json_array_get_string_element (changed, i), ==, expected[i]);
    }
    dropped = json_object_get_array_member (answer, "droppedSettings");
    {
      const gchar *const expected[] = { "application.hideNotificationIcon",
                                        "application.window.quitOnClose",
                                        "diagnostics.mutedChecks",
                                        "diagnostics.showMuted",
                                        "experimental.virtualMachine.mount.9p.cacheMode",
                                        "experimental.virtualMachine.mount.9p.msizeInKB",
                                        "experimental.virtualMachine.mount.9p.protocolVersion",
                                        "experimental.virtualMachine.mount.9p.securityModel",
                                        "experimental.virtualMachine.networkingTunnel",
                                        "experimental.virtualMachine.socketVMNet",
                                        "experimental.virtualMachine.type",
                                        "experimental.virtualMachine.useRosetta",
                                        "kubernetes.ingress.localhostOnly",
                                        "virtualMachine.hostResolver",
                                        "virtualMachine.numberCPUs" };

      g_assert_cmpuint (json_array_get_length (dropped), ==, G_N_ELEMENTS (expected));
      for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
        g_assert_cmpstr (json_array_get_string_element (dropped, i), ==, expected[i]);
    }
    refused = json_object_get_object_member (answer, "refusedValues");
    g_assert_nonnull (refused);
    g_assert_nonnull (strstr (json_object_get_string_member (refused, "virtualMachine.numberCPUs"),
                              "virtualMachine.numberCPUs: 4096 is"));
  }
  {
    g_autoptr (Response) r = call (f, "GET", "/v1/settings", NULL);
    g_autoptr (JsonNode) root = response_json (r);
    JsonObject *settings = json_node_get_object (root);

    g_assert_cmpstr (json_object_get_string_member (
                         json_object_get_object_member (settings, "kubernetes"), "version"),
                     ==, "v1.25.9");
    /* "notset" became the platform's choice in Rancher Desktop 1.9. */
    g_assert_cmpstr (
        json_object_get_string_member (json_object_get_object_member (settings, "application"),
                                       "pathManagementStrategy"),
        ==, "rcfiles");
    /* Only load's own import is reported by /v1/about. */
    {
      g_autoptr (Response) about = call (f, "GET", "/v1/about", NULL);

      g_assert_null (strstr (about->body, "importedFrom"));
    }
  }

  /* Running: an imported change that needs a restart restarts the VM, as
   * PUT /v1/settings does. */
  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/backend_state", "{\"vmState\": \"STARTED\"}");

    g_assert_cmpuint (r->status, ==, 202);
  }
  wait_for_state (f, "STARTED");
  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/settings/import",
                                   "{\"version\":4,\"kubernetes\":{\"memoryInGB\":2}}");
    g_autoptr (JsonNode) root = NULL;
    JsonObject *entry;

    g_assert_cmpuint (r->status, ==, 202);
    root = response_json (r);
    entry = json_object_get_object_member (
        json_object_get_object_member (json_node_get_object (root), "pending"),
        "virtualMachine.memoryInGB");
    g_assert_nonnull (entry);
    g_assert_cmpint (json_object_get_int_member (entry, "current"), ==, 1);
    g_assert_cmpint (json_object_get_int_member (entry, "desired"), ==, 2);
    g_assert_cmpstr (json_object_get_string_member (entry, "severity"), ==, "restart");
    g_assert_true (json_object_get_boolean_member (json_node_get_object (root), "restarting"));
  }
  wait_for_state (f, "STARTED");
}

/* Strings with control characters come back as they were sent, in answers
 * that are JSON: json-glib's generator writes U+001F raw, which clients
 * that read JSON strictly refuse. */
static void
test_settings_control_characters (Fixture *f, gconstpointer data)
{
  g_autoptr (Response) put = NULL;
  g_autoptr (Response) get = NULL;
  g_autoptr (JsonNode) root = NULL;
  JsonArray *plugins;

  daemon_start (f);
  put = call (f, "PUT", "/v1/settings",
              "{\"application\": {\"disabledPlugins\": [\"a\\u001fb\", \"c\\u0001\\td\"]}}");
  g_assert_cmpuint (put->status, ==, 202);
  get = call (f, "GET", "/v1/settings", NULL);
  g_assert_cmpuint (get->status, ==, 200);
  root = response_json (get);
  plugins = json_object_get_array_member (
      json_object_get_object_member (json_node_get_object (root), "application"),
      "disabledPlugins");
  g_assert_cmpuint (json_array_get_length (plugins), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (plugins, 0), ==, "a\037b");
  g_assert_cmpstr (json_array_get_string_element (plugins, 1), ==, "c\001\td");
}

static void
test_body_too_large (Fixture *f, gconstpointer data)
{
  gsize size = 1024 * 1024 + 1;
  g_autofree gchar *big = g_malloc (size + 1);
  g_autofree gchar *path = settings_file (f);
  g_autofree gchar *file_before = NULL;
  g_autofree gchar *file_after = NULL;

  daemon_start (f);
  g_assert_true (g_file_get_contents (path, &file_before, NULL, NULL));

  /* A JSON object padded with spaces past 1 MiB. */
  memset (big, ' ', size);
  big[0] = '{';
  big[size - 1] = '}';
  big[size] = '\0';

  /* With a Content-Length. */
  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/settings", big);
    g_autofree gchar *message = assert_error_response (r, 413, "invalid-data");

    g_assert_nonnull (strstr (message, "1048576"));
  }
  /* Chunked, with no length said up front. */
  {
    g_autoptr (SoupMessage) msg = new_message (f, "PUT", "/v1/settings");
    g_autoptr (GInputStream) stream = g_memory_input_stream_new_from_data (big, size, NULL);
    g_autoptr (Response) r = NULL;
    g_autofree gchar *message = NULL;

    add_auth (f, msg, AUTH_RIGHT);
    soup_message_set_request_body (msg, "application/json", stream, -1);
    r = send_message (f, msg);
    message = assert_error_response (r, 413, "invalid-data");
  }
  /* Exactly 1 MiB is still read (and then judged on its content). */
  {
    g_autoptr (Response) r = NULL;

    big[size - 2] = '}';
    big[size - 1] = '\0';
    r = call (f, "PUT", "/v1/settings", big);
    g_assert_cmpuint (r->status, ==, 202);
  }
  g_assert_true (g_file_get_contents (path, &file_after, NULL, NULL));
  g_assert_cmpstr (file_after, ==, file_before);

  /* Two bodies that each fit, whose values together would not: the second
   * is refused by name, so that what was accepted loads at the next start
   * (it was moved aside as corrupt, every setting lost). */
  {
    g_autoptr (GString) plugins = g_string_new ("{\"application\": {\"disabledPlugins\": [");
    g_autoptr (GString) integrations = g_string_new ("{\"WSL\": {\"integrations\": {");
    g_autofree gchar *long_string = g_strnfill (4000, 'x');
    g_autoptr (Response) first = NULL;
    g_autoptr (Response) second = NULL;
    g_autoptr (Response) after = NULL;
    g_autoptr (JsonNode) settings = NULL;
    g_autofree gchar *message = NULL;
    JsonObject *object;

    for (guint i = 0; i < 150; i++)
      {
        g_string_append_printf (plugins, "%s\"%u%s\"", i > 0 ? "," : "", i, long_string);
        g_string_append_printf (integrations, "%s\"%u%s\": true", i > 0 ? "," : "", i, long_string);
      }
    g_string_append (plugins, "]}}");
    g_string_append (integrations, "}}}");
    first = call (f, "PUT", "/v1/settings", plugins->str);
    g_assert_cmpuint (first->status, ==, 202);
    second = call (f, "PUT", "/v1/settings", integrations->str);
    message = assert_error_response (second, 400, "invalid-setting");
    g_assert_nonnull (strstr (message, "WSL.integrations"));
    g_assert_nonnull (strstr (message, "1048576"));
    after = call (f, "GET", "/v1/settings", NULL);
    settings = response_json (after);
    object = json_node_get_object (settings);
    g_assert_cmpuint (json_object_get_size (json_object_get_object_member (
                          json_object_get_object_member (object, "WSL"), "integrations")),
                      ==, 0);
    g_assert_cmpuint (
        json_array_get_length (json_object_get_array_member (
            json_object_get_object_member (object, "application"), "disabledPlugins")),
        ==, 150);
  }

  /* berthd is still there. */
  {
    g_autoptr (Response) r = call (f, "GET", "/v1/about", NULL);

    g_assert_cmpuint (r->status, ==, 200);
  }
}

static void
test_settings_and_pending (Fixture *f, gconstpointer data)
{
  g_autofree gchar *path = settings_file (f);
  gint64 memory;

  daemon_start (f);

  /* Stopped: a change applies at the next start, nothing is pending. */
  {
    g_autoptr (Response) r
        = call (f, "PUT", "/v1/settings", "{\"images\": {\"namespace\": \"default\"}}");
    g_autoptr (JsonNode) root = NULL;
    g_autoptr (JsonNode) file = NULL;

    g_assert_cmpuint (r->status, ==, 202);
    root = response_json (r);
    g_assert_cmpuint (json_object_get_size (
                          json_object_get_object_member (json_node_get_object (root), "pending")),
                      ==, 0);
    file = read_json_file (path);
    g_assert_cmpstr (
        json_object_get_string_member (
            json_object_get_object_member (json_node_get_object (file), "images"), "namespace"),
        ==, "default");
  }

  {
    g_autoptr (Response) r = call (f, "GET", "/v1/settings", NULL);
    g_autoptr (JsonNode) root = response_json (r);

    memory = json_object_get_int_member (
        json_object_get_object_member (json_node_get_object (root), "virtualMachine"),
        "memoryInGB");
  }

  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/backend_state", "{\"vmState\": \"STARTED\"}");

    g_assert_cmpuint (r->status, ==, 202);
  }
  wait_for_state (f, "STARTED");

  /* Running: switching the engine is a restart, and the proposal says so
   * before anything changes. */
  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/propose_settings",
                                   "{\"containerEngine\": {\"name\": \"containerd\"}}");
    g_autoptr (JsonNode) root = NULL;
    JsonObject *entry;

    g_assert_cmpuint (r->status, ==, 202);
    root = response_json (r);
    entry = json_object_get_object_member (json_node_get_object (root), "containerEngine.name");
    g_assert_nonnull (entry);
    g_assert_cmpstr (json_object_get_string_member (entry, "current"), ==, "moby");
    g_assert_cmpstr (json_object_get_string_member (entry, "desired"), ==, "containerd");
    g_assert_cmpstr (json_object_get_string_member (entry, "severity"), ==, "restart");
  }

  /* Running: a proposal says what a restart would change, and changes
   * nothing. */
  {
    g_autofree gchar *body
        = g_strdup_printf ("{\"virtualMachine\": {\"memoryInGB\": %" G_GINT64_FORMAT "}}",
                           memory == 1 ? memory + 1 : memory - 1);
    g_autoptr (Response) r = call (f, "PUT", "/v1/propose_settings", body);
    g_autoptr (JsonNode) root = NULL;
    g_autoptr (Response) again = NULL;
    g_autoptr (JsonNode) settings = NULL;
    JsonObject *entry;

    g_assert_cmpuint (r->status, ==, 202);
    root = response_json (r);
    entry
        = json_object_get_object_member (json_node_get_object (root), "virtualMachine.memoryInGB");
    g_assert_nonnull (entry);
    g_assert_cmpint (json_object_get_int_member (entry, "current"), ==, memory);
    g_assert_cmpint (json_object_get_int_member (entry, "desired"), ==,
                     memory == 1 ? memory + 1 : memory - 1);
    g_assert_cmpstr (json_object_get_string_member (entry, "severity"), ==, "restart");

    again = call (f, "GET", "/v1/settings", NULL);
    settings = response_json (again);
    g_assert_cmpint (
        json_object_get_int_member (
            json_object_get_object_member (json_node_get_object (settings), "virtualMachine"),
            "memoryInGB"),
        ==, memory);

    /* Applied: the answer says what the restart applies, and the VM
     * restarts at once. */
    {
      g_autoptr (Response) put = call (f, "PUT", "/v1/settings", body);
      g_autoptr (JsonNode) answer = NULL;
      JsonObject *pending;

      g_assert_cmpuint (put->status, ==, 202);
      answer = response_json (put);
      pending = json_object_get_object_member (json_node_get_object (answer), "pending");
      entry = json_object_get_object_member (pending, "virtualMachine.memoryInGB");
      g_assert_nonnull (entry);
      g_assert_cmpint (json_object_get_int_member (entry, "current"), ==, memory);
      g_assert_cmpstr (json_object_get_string_member (entry, "severity"), ==, "restart");
      g_assert_true (json_object_get_boolean_member (json_node_get_object (answer), "restarting"));
      /* A live setting is never pending. */
      g_assert_false (json_object_has_member (pending, "images.namespace"));
    }
    /* It was STOPPING when the answer came: STARTED is the restart done. */
    wait_for_state (f, "STARTED");
    {
      g_autoptr (Response) proposed = call (f, "PUT", "/v1/propose_settings", body);
      g_autoptr (JsonNode) proposal = response_json (proposed);

      /* Running with it now: proposing it again changes nothing. */
      g_assert_cmpuint (json_object_get_size (json_node_get_object (proposal)), ==, 0);
    }
  }
  /* A live change while running: applied, and not pending. */
  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/settings", "{\"images\": {\"showAll\": false}}");
    g_autoptr (JsonNode) root = NULL;

    g_assert_cmpuint (r->status, ==, 202);
    root = response_json (r);
    g_assert_false (json_object_has_member (
        json_object_get_object_member (json_node_get_object (root), "pending"), "images.showAll"));
  }
}

/* ---- concurrency ------------------------------------------------------ */

typedef struct
{
  guint outstanding;
  guint accepted;
  guint refused;
} Concurrent;

static void
on_put_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Concurrent *c = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes
      = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);

  g_assert_no_error (error);
  if (soup_message_get_status (msg) == 202)
    c->accepted++;
  else
    {
      g_test_message ("PUT answered %u: %.*s", soup_message_get_status (msg),
                      (gint)g_bytes_get_size (bytes),
                      (const gchar *)g_bytes_get_data (bytes, NULL));
      c->refused++;
    }
  c->outstanding--;
}

static gboolean
all_done (gpointer user_data)
{
  Concurrent *c = user_data;

  return c->outstanding == 0;
}

static void
test_concurrent_puts (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) sessions = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree gchar *auth = NULL;
  g_autofree gchar *path = settings_file (f);
  Concurrent c = { 0 };

  daemon_start (f);
  auth = basic_auth ("user", f->password);

  for (guint client = 0; client < N_CLIENTS; client++)
    {
      SoupSession *session
          = soup_session_new_with_options ("timeout", 120, "max-conns-per-host", N_CLIENTS, NULL);

      g_ptr_array_add (sessions, session);
      for (guint i = 0; i < N_PUTS_PER_CLIENT; i++)
        {
          g_autoptr (SoupMessage) msg = new_message (f, "PUT", "/v1/settings");
          /* Two settings per PUT, tied by the same numbers: the result must
           * hold both from one PUT, never a mix of two. */
          g_autofree gchar *body = g_strdup_printf (
              "{\"images\": {\"namespace\": \"c%u-n%u\"}, \"kubernetes\": {\"port\": %u}}", client,
              i, 10000 + client * N_PUTS_PER_CLIENT + i);
          g_autoptr (GBytes) bytes = g_bytes_new (body, strlen (body));

          soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                        auth);
          soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
          c.outstanding++;
          soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, NULL, on_put_done,
                                            &c);
        }
    }
  g_assert_true (berth_test_iterate_until (all_done, &c, WAIT_SECONDS));
  g_assert_cmpuint (c.accepted, ==, N_CLIENTS * N_PUTS_PER_CLIENT);
  g_assert_cmpuint (c.refused, ==, 0);

  /* The file parses, validates, and is what the API says. */
  {
    g_autoptr (JsonNode) file = read_json_file (path);
    g_autoptr (Response) r = call (f, "GET", "/v1/settings", NULL);
    g_autoptr (JsonNode) api = response_json (r);
    g_autoptr (GError) error = NULL;
    BerthHostInfo host;
    const gchar *ns;
    gint64 port;
    guint client = 0, i = 0;

    berth_host_info_detect (&host);
    berth_settings_validate (file, &host, &error);
    g_assert_no_error (error);
    g_assert_true (json_node_equal (file, api));

    ns = json_object_get_string_member (
        json_object_get_object_member (json_node_get_object (file), "images"), "namespace");
    port = json_object_get_int_member (
        json_object_get_object_member (json_node_get_object (file), "kubernetes"), "port");
    g_assert_cmpint (sscanf (ns, "c%u-n%u", &client, &i), ==, 2);
    g_assert_cmpint (port, ==, 10000 + client * N_PUTS_PER_CLIENT + i);
  }

  /* And nothing half-written lies beside it. */
  {
    g_autofree gchar *dir_path = g_path_get_dirname (path);
    g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
    const gchar *name;

    while ((name = g_dir_read_name (dir)) != NULL)
      g_assert_cmpstr (name, ==, "settings.json");
  }
}

/* ---- events ----------------------------------------------------------- */

typedef struct
{
  SoupWebsocketConnection *conn;
  GError *error;
  GPtrArray *events; /* JsonNode */
  gboolean connect_done;
  guint status; /* of the upgrade request */
} Events;

static void
on_ws_message (SoupWebsocketConnection *conn, gint type, GBytes *message, Events *ev)
{
  g_assert_cmpint (type, ==, SOUP_WEBSOCKET_DATA_TEXT);
  g_ptr_array_add (ev->events, parse_json (g_bytes_get_data (message, NULL)));
}

static void
on_ws_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Events *ev = user_data;

  ev->conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &ev->error);
  ev->status = soup_message_get_status (
      soup_session_get_async_result_message (SOUP_SESSION (source), result));
  if (ev->conn != NULL)
    g_signal_connect (ev->conn, "message", G_CALLBACK (on_ws_message), ev);
  ev->connect_done = TRUE;
}

static gboolean
connect_done (gpointer user_data)
{
  return ((Events *)user_data)->connect_done;
}

/* Opens the event stream as a page of @origin would (NULL: as a client that
 * is not a browser). */
static void
events_connect_from (Fixture *f, Events *ev, AuthMode auth, const gchar *origin)
{
  g_autoptr (SoupMessage) msg = NULL;
  g_autofree gchar *uri = g_strdup_printf ("ws://127.0.0.1:%u/v1/events", f->port);

  ev->events = g_ptr_array_new_with_free_func ((GDestroyNotify)json_node_unref);
  ev->connect_done = FALSE;
  msg = soup_message_new ("GET", uri);
  add_auth (f, msg, auth);
  soup_session_websocket_connect_async (f->session, msg, origin, NULL, G_PRIORITY_DEFAULT, NULL,
                                        on_ws_connected, ev);
  g_assert_true (berth_test_iterate_until (connect_done, ev, WAIT_SECONDS));
}

static void
events_connect (Fixture *f, Events *ev, AuthMode auth)
{
  events_connect_from (f, ev, auth, NULL);
}

static void
events_clear (Events *ev)
{
  if (ev->conn != NULL
      && soup_websocket_connection_get_state (ev->conn) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (ev->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_clear_object (&ev->conn);
  g_clear_error (&ev->error);
  g_clear_pointer (&ev->events, g_ptr_array_unref);
}

typedef struct
{
  Events *ev;
  guint from;
  const gchar *type;
  const gchar *key;   /* member to look at */
  const gchar *value; /* its string value, or an element of it when an array */
  guint found;        /* index + 1 */
} EventWait;

static gboolean
event_matches (JsonNode *event, const EventWait *w)
{
  JsonObject *object = json_node_get_object (event);
  JsonNode *member;

  if (g_strcmp0 (json_object_get_string_member (object, "type"), w->type) != 0)
    return FALSE;
  if (w->key == NULL)
    return TRUE;
  member = json_object_get_member (object, w->key);
  if (member == NULL)
    return FALSE;
  if (JSON_NODE_HOLDS_ARRAY (member))
    {
      JsonArray *array = json_node_get_array (member);

      for (guint i = 0; i < json_array_get_length (array); i++)
        if (g_strcmp0 (json_array_get_string_element (array, i), w->value) == 0)
          return TRUE;
      return FALSE;
    }
  return JSON_NODE_HOLDS_VALUE (member) && g_strcmp0 (json_node_get_string (member), w->value) == 0;
}

static gboolean
event_seen (gpointer user_data)
{
  EventWait *w = user_data;

  for (guint i = w->from; i < w->ev->events->len; i++)
    if (event_matches (g_ptr_array_index (w->ev->events, i), w))
      {
        w->found = i + 1;
        return TRUE;
      }
  return FALSE;
}

/* Waits for an event after index @from; returns its index. */
static guint
wait_event (Events *ev, guint from, const gchar *type, const gchar *key, const gchar *value)
{
  EventWait w = { ev, from, type, key, value, 0 };

  if (!berth_test_iterate_until (event_seen, &w, WAIT_SECONDS))
    {
      for (guint i = 0; i < ev->events->len; i++)
        {
          g_autofree gchar *text = json_to_string (g_ptr_array_index (ev->events, i), FALSE);

          g_test_message ("event %u: %s", i, text);
        }
      g_test_message ("no %s event with %s = %s after %u", type, key, value, from);
    }
  g_assert_cmpuint (w.found, >, 0);
  return w.found - 1;
}

static void
test_events (Fixture *f, gconstpointer data)
{
  Events ev = { 0 };
  Events refused = { 0 };
  guint at, starting, started, stopped;

  daemon_start (f);

  /* The upgrade needs the same auth. */
  events_connect (f, &refused, AUTH_WRONG_PASSWORD);
  g_assert_null (refused.conn);
  g_assert_nonnull (refused.error);
  events_clear (&refused);

  events_connect (f, &ev, AUTH_RIGHT);
  g_assert_no_error (ev.error);
  g_assert_nonnull (ev.conn);

  /* First, where things stand. */
  at = wait_event (&ev, 0, "state-changed", "state", "STOPPED");
  g_assert_cmpuint (at, ==, 0);

  {
    g_autoptr (Response) r
        = call (f, "PUT", "/v1/settings", "{\"images\": {\"namespace\": \"events\"}}");

    g_assert_cmpuint (r->status, ==, 202);
  }
  wait_event (&ev, 1, "settings-changed", "keys", "images.namespace");

  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/backend_state", "{\"vmState\": \"STARTED\"}");
    g_autoptr (JsonNode) root = NULL;

    g_assert_cmpuint (r->status, ==, 202);
    root = response_json (r);
    g_assert_true (json_object_has_member (json_node_get_object (root), "locked"));
  }
  starting = wait_event (&ev, 1, "state-changed", "state", "STARTING");
  /* The test backend's own signal, passed on as it came. */
  at = wait_event (&ev, starting, "plugin", "signal", "progress");
  {
    JsonObject *event = json_node_get_object (g_ptr_array_index (ev.events, at));
    JsonArray *args = json_object_get_array_member (event, "args");

    g_assert_cmpstr (json_object_get_string_member (event, "plugin"), ==, "test-good");
    g_assert_cmpuint (json_array_get_length (args), ==, 3);
    g_assert_cmpstr (json_array_get_string_element (args, 0), ==, "Booting the test VM");
    g_assert_cmpint (json_array_get_int_element (args, 2), ==, 3);
  }
  wait_event (&ev, starting, "progress", "description", "Booting the test VM");
  started = wait_event (&ev, starting, "state-changed", "state", "STARTED");
  g_assert_cmpuint (started, >, starting);

  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/backend_state", "{\"vmState\": \"STOPPED\"}");

    g_assert_cmpuint (r->status, ==, 202);
  }
  at = wait_event (&ev, started, "state-changed", "state", "STOPPING");
  stopped = wait_event (&ev, at, "state-changed", "state", "STOPPED");
  {
    JsonObject *event = json_node_get_object (g_ptr_array_index (ev.events, stopped));

    g_assert_true (json_object_has_member (event, "reason"));
    g_assert_true (JSON_NODE_HOLDS_NULL (json_object_get_member (event, "reason")));
  }
  events_clear (&ev);
}

/* ---- who may ask ------------------------------------------------------ */

static void
test_host_header (Fixture *f, gconstpointer data)
{
  g_autofree gchar *settings_before = NULL;

  daemon_start (f);
  {
    g_autoptr (Response) r = call (f, "GET", "/v1/settings", NULL);

    settings_before = g_steal_pointer (&r->body);
  }

  /* A page whose name was made to resolve to 127.0.0.1 sends its own name:
   * refused, with valid credentials or not, and no handler runs. */
  {
    g_autofree gchar *with_port = g_strdup_printf ("evil.example:%u", f->port);
    g_autofree gchar *suffixed = g_strdup_printf ("localhost.evil.example:%u", f->port);
    g_autofree gchar *prefixed = g_strdup_printf ("evil.127.0.0.1:%u", f->port);
    const gchar *refused[] = {
      "evil.example", with_port, suffixed, prefixed, "localhost:", "LOCALHOST.", "0.0.0.0", "",
    };
    const AuthMode auths[] = { AUTH_RIGHT, AUTH_WRONG_PASSWORD, AUTH_NONE };

    for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
      for (gsize a = 0; a < G_N_ELEMENTS (auths); a++)
        {
          g_autoptr (Response) r
              = call_with_header (f, "GET", "/v1/settings", NULL, auths[a], "Host", refused[i]);
          g_autofree gchar *message = NULL;
          g_autofree gchar *quoted = g_strdup_printf ("\"%s\"", refused[i]);

          g_test_message ("Host: %s", refused[i]);
          message = assert_error_response (r, 400, "invalid-data");
          g_assert_nonnull (strstr (message, quoted));
          g_assert_nonnull (strstr (message, "127.0.0.1, localhost or [::1]"));
          /* Not a challenge a browser would show its user. */
          g_assert_null (soup_message_headers_get_one (r->headers, "WWW-Authenticate"));
        }
  }
  {
    g_autoptr (Response) r
        = call_with_header (f, "PUT", "/v1/settings", "{\"images\": {\"namespace\": \"rebound\"}}",
                            AUTH_RIGHT, "Host", "evil.example");
    g_free (assert_error_response (r, 400, "invalid-data"));
  }
  {
    g_autoptr (Response) r
        = call_with_header (f, "PUT", "/v1/shutdown", NULL, AUTH_RIGHT, "Host", "evil.example");
    g_free (assert_error_response (r, 400, "invalid-data"));
  }

  /* The names of this machine, with the port or without, in any case for
   * localhost. */
  {
    g_autofree gchar *localhost = g_strdup_printf ("localhost:%u", f->port);
    g_autofree gchar *upper = g_strdup_printf ("LocalHost:%u", f->port);
    g_autofree gchar *v4 = g_strdup_printf ("127.0.0.1:%u", f->port);
    g_autofree gchar *v6 = g_strdup_printf ("[::1]:%u", f->port);
    const gchar *accepted[] = { localhost, upper, v4, v6, "localhost", "127.0.0.1", "[::1]" };

    for (gsize i = 0; i < G_N_ELEMENTS (accepted); i++)
      {
        g_autoptr (Response) r
            = call_with_header (f, "GET", "/v1/about", NULL, AUTH_RIGHT, "Host", accepted[i]);

        if (r->status != 200)
          g_test_message ("Host: %s answered %u: %s", accepted[i], r->status, r->body);
        g_assert_cmpuint (r->status, ==, 200);
      }
  }

  /* A Host that is no host name and port at all: libsoup refuses it before
   * berthd sees it. */
  {
    g_autofree gchar *two_ports = g_strdup_printf ("127.0.0.1:%u:1", f->port);

    for (const gchar *const *h = (const gchar *const[]){ two_ports, "127.0.0.1:http", NULL };
         *h != NULL; h++)
      {
        g_autoptr (Response) r
            = call_with_header (f, "GET", "/v1/about", NULL, AUTH_RIGHT, "Host", *h);

        g_assert_cmpuint (r->status, ==, 400);
      }
  }

  /* No Host header at all, or two: refused too. */
  {
    g_autofree gchar *auth = basic_auth ("user", f->password);
    g_autofree gchar *request
        = g_strdup_printf ("GET /v1/about HTTP/1.0\r\nAuthorization: %s\r\n\r\n", auth);
    g_autoptr (Response) r = send_raw (f, request);
    g_autofree gchar *message = assert_error_response (r, 400, "invalid-data");

    g_assert_nonnull (strstr (message, "no Host header"));
    g_assert_nonnull (strstr (message, "127.0.0.1, localhost or [::1]"));
  }
  {
    g_autofree gchar *auth = basic_auth ("user", f->password);
    g_autofree gchar *request = g_strdup_printf (
        "GET /v1/about HTTP/1.1\r\nAuthorization: %s\r\nConnection: close\r\n\r\n", auth);
    g_autoptr (Response) r = send_raw (f, request);

    g_assert_cmpuint (r->status, ==, 400);
  }
  {
    g_autofree gchar *auth = basic_auth ("user", f->password);
    g_autofree gchar *request
        = g_strdup_printf ("GET /v1/about HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nHost: evil.example\r\n"
                           "Authorization: %s\r\nConnection: close\r\n\r\n",
                           f->port, auth);
    g_autoptr (Response) r = send_raw (f, request);

    g_assert_cmpuint (r->status, ==, 400);
  }

  /* berthd is still there, settings untouched. */
  {
    g_autoptr (Response) r = call (f, "GET", "/v1/settings", NULL);

    g_assert_cmpuint (r->status, ==, 200);
    g_assert_cmpstr (r->body, ==, settings_before);
  }
}

static void
test_origin_refused (Fixture *f, gconstpointer data)
{
  const AuthMode auths[] = { AUTH_RIGHT, AUTH_NONE };
  Events ev = { 0 };

  daemon_start (f);

  /* A page of another site: refused, with valid credentials or not. */
  for (gsize a = 0; a < G_N_ELEMENTS (auths); a++)
    {
      g_autoptr (Response) r = call_with_header (f, "GET", "/v1/settings", NULL, auths[a], "Origin",
                                                 "http://evil.example");
      g_autofree gchar *message = assert_error_response (r, 403, "auth");

      g_assert_nonnull (strstr (message, "\"http://evil.example\""));
      g_assert_nonnull (strstr (message, "BERTH_API_ALLOWED_ORIGINS"));
      g_assert_null (soup_message_headers_get_one (r->headers, "WWW-Authenticate"));
    }

  /* The event stream as well: no upgrade, and the same answer. */
  events_connect_from (f, &ev, AUTH_RIGHT, "http://evil.example");
  g_assert_null (ev.conn);
  g_assert_nonnull (ev.error);
  g_assert_cmpuint (ev.status, ==, 403);
  events_clear (&ev);
  {
    g_autoptr (SoupMessage) msg = new_message (f, "GET", "/v1/events");
    g_autoptr (Response) r = NULL;
    g_autofree gchar *message = NULL;

    add_auth (f, msg, AUTH_RIGHT);
    soup_websocket_client_prepare_handshake (msg, "http://evil.example", NULL, NULL);
    r = send_message (f, msg);
    message = assert_error_response (r, 403, "auth");
    g_assert_nonnull (strstr (message, "\"http://evil.example\""));
  }

  /* Clients that are not browsers send no Origin, and are served. */
  events_connect (f, &ev, AUTH_RIGHT);
  g_assert_no_error (ev.error);
  g_assert_nonnull (ev.conn);
  wait_event (&ev, 0, "state-changed", "state", "STOPPED");
  events_clear (&ev);
}

static void
test_origin_allowed (Fixture *f, gconstpointer data)
{
  Events ev = { 0 };

  f->allowed_origins = "http://localhost:3000, https://app.example";
  daemon_start (f);

  events_connect_from (f, &ev, AUTH_RIGHT, "http://localhost:3000");
  g_assert_no_error (ev.error);
  g_assert_nonnull (ev.conn);
  wait_event (&ev, 0, "state-changed", "state", "STOPPED");
  events_clear (&ev);
  {
    g_autoptr (Response) r = call_with_header (f, "GET", "/v1/about", NULL, AUTH_RIGHT, "Origin",
                                               "https://app.example");

    g_assert_cmpuint (r->status, ==, 200);
  }
  /* An allowed origin still needs the credentials. */
  {
    g_autoptr (Response) r = call_with_header (f, "GET", "/v1/about", NULL, AUTH_WRONG_PASSWORD,
                                               "Origin", "https://app.example");

    g_assert_cmpuint (r->status, ==, 401);
  }

  /* Only those, exactly. */
  for (const gchar *const *o
       = (const gchar *const[]){ "http://evil.example", "http://localhost:3001", "http://localhost",
                                 "null", NULL };
       *o != NULL; o++)
    {
      g_autofree gchar *message = NULL;
      g_autofree gchar *quoted = g_strdup_printf ("\"%s\"", *o);

      g_test_message ("Origin: %s", *o);
      events_connect_from (f, &ev, AUTH_RIGHT, *o);
      g_assert_null (ev.conn);
      g_assert_cmpuint (ev.status, ==, 403);
      events_clear (&ev);
      {
        g_autoptr (Response) r
            = call_with_header (f, "GET", "/v1/about", NULL, AUTH_RIGHT, "Origin", *o);

        message = assert_error_response (r, 403, "auth");
      }
      g_assert_nonnull (strstr (message, quoted));
      g_assert_nonnull (strstr (message, "http://localhost:3000"));
    }
}

static void
test_origin_bad_setting (Fixture *f, gconstpointer data)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autofree gchar *err = NULL;

  f->allowed_origins = "http://localhost:3000,localhost:3001";
  launcher = new_launcher (f);
  daemon_spawn (f, launcher, "--port", "0", NULL);
  g_assert_cmpint (daemon_wait_exit (f), ==, 2);
  g_file_get_contents (f->stderr_path, &err, NULL, NULL);
  g_assert_nonnull (strstr (err, "BERTH_API_ALLOWED_ORIGINS"));
  g_assert_nonnull (strstr (err, "\"localhost:3001\" is not an origin"));
  g_assert_false (g_file_test (f->credentials_path, G_FILE_TEST_EXISTS));
}

static gint64
event_serial (Events *ev, guint at)
{
  JsonObject *event = json_node_get_object (g_ptr_array_index (ev->events, at));

  g_assert_true (json_object_has_member (event, "stateSerial"));
  return json_object_get_int_member (event, "stateSerial");
}

static gboolean
event_restarting (Events *ev, guint at)
{
  return json_object_get_boolean_member (json_node_get_object (g_ptr_array_index (ev->events, at)),
                                         "restarting");
}

/* The stateSerial of an answer to a request. */
static gint64
answer_serial (Response *r)
{
  g_autoptr (JsonNode) root = NULL;

  g_assert_cmpuint (r->status, ==, 202);
  root = response_json (r);
  g_assert_true (json_object_has_member (json_node_get_object (root), "stateSerial"));
  return json_object_get_int_member (json_node_get_object (root), "stateSerial");
}

/* A client tells the states its request led to from those before it: each
 * state-changed event has a serial, and the answer to a request the serial
 * of the state it left. After a crash, the ERROR comes before the serial
 * that the answer to a new start gives, and the new start's states from
 * it on; a restart's STOPPING and STOPPED say that it restarts. */
static void
test_state_serial (Fixture *f, gconstpointer data)
{
  g_autofree gchar *faults = g_build_filename (f->root, "faults", NULL);
  Events ev = { 0 };
  guint at, crashed, starting, started;
  gint64 since;

  /* berthd's test backend takes faults from this file (see
   * tests/plugins/berth-test-good.c). */
  g_setenv ("BERTH_TEST_GOOD_FAULTS", faults, TRUE);
  daemon_start (f);
  g_unsetenv ("BERTH_TEST_GOOD_FAULTS");
  events_connect (f, &ev, AUTH_RIGHT);
  g_assert_no_error (ev.error);

  at = wait_event (&ev, 0, "state-changed", "state", "STOPPED");
  g_assert_false (event_restarting (&ev, at));
  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/backend_state", "{\"vmState\": \"STARTED\"}");

    since = answer_serial (r);
  }
  g_assert_cmpint (since, >, event_serial (&ev, at));
  started = wait_event (&ev, at, "state-changed", "state", "STARTED");
  g_assert_cmpint (event_serial (&ev, started), >, since);

  berth_test_write_file (faults, "crash", 0600);
  crashed = wait_event (&ev, started, "state-changed", "state", "ERROR");
  g_assert_cmpint (event_serial (&ev, crashed), >, event_serial (&ev, started));
  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/backend_state", "{\"vmState\": \"STARTED\"}");

    since = answer_serial (r);
  }
  g_assert_cmpint (since, >, event_serial (&ev, crashed));
  starting = wait_event (&ev, crashed, "state-changed", "state", "STARTING");
  g_assert_cmpint (event_serial (&ev, starting), ==, since);
  started = wait_event (&ev, starting, "state-changed", "state", "STARTED");
  g_assert_cmpint (event_serial (&ev, started), >, since);
  {
    g_autoptr (Response) r = call (f, "GET", "/v1/backend_state", NULL);
    g_autoptr (JsonNode) root = response_json (r);

    g_assert_cmpint (json_object_get_int_member (json_node_get_object (root), "stateSerial"), ==,
                     event_serial (&ev, started));
  }

  /* A restart: its stop half says so, its start does not need to. */
  {
    g_autoptr (Response) r
        = call (f, "PUT", "/v1/settings", "{\"virtualMachine\": {\"numberCPUs\": 1}}");
    g_autoptr (JsonNode) root = response_json (r);

    g_assert_true (json_object_get_boolean_member (json_node_get_object (root), "restarting"));
    since = json_object_get_int_member (json_node_get_object (root), "stateSerial");
  }
  at = wait_event (&ev, started, "state-changed", "state", "STOPPING");
  g_assert_cmpint (event_serial (&ev, at), ==, since);
  g_assert_true (event_restarting (&ev, at));
  at = wait_event (&ev, at, "state-changed", "state", "STOPPED");
  g_assert_true (event_restarting (&ev, at));
  at = wait_event (&ev, at, "state-changed", "state", "STARTED");
  g_assert_false (event_restarting (&ev, at));
  events_clear (&ev);
}

/* ---- backend state, lock, resets ------------------------------------- */

static void
test_backend_state (Fixture *f, gconstpointer data)
{
  daemon_start (f);

  {
    g_autoptr (Response) r = call (f, "GET", "/v1/backend_state", NULL);
    g_autoptr (JsonNode) root = response_json (r);
    JsonObject *state = json_node_get_object (root);

    g_assert_cmpstr (json_object_get_string_member (state, "vmState"), ==, "STOPPED");
    g_assert_false (json_object_get_boolean_member (state, "locked"));
  }
  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/backend_state", "{\"vmState\": \"PAUSED\"}");
    g_autofree gchar *message = assert_error_response (r, 400, "invalid-data");

    g_assert_nonnull (strstr (message, "PAUSED"));
    g_assert_nonnull (strstr (message, "STARTED"));
  }
  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/backend_state", "{\"locked\": \"yes\"}");
    g_autofree gchar *message = assert_error_response (r, 400, "invalid-data");

    g_assert_nonnull (strstr (message, "locked"));
  }
  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/backend_state", "{\"vmstate\": \"STARTED\"}");
    g_autofree gchar *message = assert_error_response (r, 400, "invalid-data");

    g_assert_nonnull (strstr (message, "vmstate"));
  }

  /* Locked: start, stop and resets are refused until unlocked. */
  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/backend_state", "{\"locked\": true}");
    g_autoptr (JsonNode) root = NULL;

    g_assert_cmpuint (r->status, ==, 202);
    root = response_json (r);
    g_assert_true (json_object_get_boolean_member (json_node_get_object (root), "locked"));
  }
  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/backend_state", "{\"vmState\": \"STARTED\"}");
    g_autofree gchar *message = assert_error_response (r, 409, "busy");
    g_autofree gchar *state = get_vm_state (f);

    g_assert_nonnull (strstr (message, "locked"));
    g_assert_cmpstr (state, ==, "STOPPED");
  }
  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/factory_reset", NULL);
    g_free (assert_error_response (r, 409, "busy"));
  }
  {
    g_autoptr (Response) r
        = call (f, "PUT", "/v1/backend_state", "{\"vmState\": \"STARTED\", \"locked\": false}");

    g_assert_cmpuint (r->status, ==, 202);
  }
  wait_for_state (f, "STARTED");
  /* Starting what runs is no error. */
  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/backend_state", "{\"vmState\": \"started\"}");

    g_assert_cmpuint (r->status, ==, 202);
  }
  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/backend_state", "{\"vmState\": \"STOPPED\"}");

    g_assert_cmpuint (r->status, ==, 202);
  }
  wait_for_state (f, "STOPPED");
}

static void
test_k8s_reset_without_provider (Fixture *f, gconstpointer data)
{
  daemon_start (f);

  /* The test plugins provide no KubernetesProvider: a clear 501. */
  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/k8s_reset", "{\"mode\": \"fast\"}");
    g_autofree gchar *message = assert_error_response (r, 501, "not-supported");

    g_assert_nonnull (strstr (message, "Kubernetes provider"));
  }
  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/k8s_reset", "{\"mode\": \"wipe\"}");
    g_free (assert_error_response (r, 501, "not-supported"));
  }
  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/k8s_reset", "{\"mode\": \"gentle\"}");
    g_autofree gchar *message = assert_error_response (r, 400, "invalid-data");

    g_assert_nonnull (strstr (message, "gentle"));
    g_assert_nonnull (strstr (message, "wipe"));
  }
}

static void
test_factory_reset (Fixture *f, gconstpointer data)
{
  g_autofree gchar *cached = g_build_filename (f->cache, "berth", "download", "leftover", NULL);
  g_autofree gchar *vm_file = g_build_filename (f->data, "berth", "lima", "0", "diffdisk", NULL);
  g_autofree gchar *log = g_build_filename (f->root, ".local", "state", "berth", "logs", "berthd.log", NULL);
  g_autofree gchar *default_ns = NULL;

  daemon_start (f);
  {
    g_autoptr (Response) r = call (f, "GET", "/v1/settings", NULL);
    g_autoptr (JsonNode) root = response_json (r);

    default_ns = g_strdup (json_object_get_string_member (
        json_object_get_object_member (json_node_get_object (root), "images"), "namespace"));
  }
  {
    g_autoptr (Response) r
        = call (f, "PUT", "/v1/settings", "{\"images\": {\"namespace\": \"before-reset\"}}");

    g_assert_cmpuint (r->status, ==, 202);
  }
  for (const gchar *const *p = (const gchar *const[]){ cached, vm_file, NULL }; *p != NULL; p++)
    {
      g_autofree gchar *dir = g_path_get_dirname (*p);

      g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
      g_assert_true (g_file_set_contents (*p, "x", 1, NULL));
    }
  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/backend_state", "{\"vmState\": \"STARTED\"}");

    g_assert_cmpuint (r->status, ==, 202);
  }
  wait_for_state (f, "STARTED");

  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/factory_reset", "{\"keepSystemImages\": false}");

    g_assert_cmpuint (r->status, ==, 202);
  }
  /* Everything removed, berthd quits, as Rancher Desktop does. */
  g_assert_cmpint (daemon_wait_exit (f), ==, 0);
  g_assert_false (g_file_test (cached, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (vm_file, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (f->credentials_path, G_FILE_TEST_EXISTS));
  /* The logs stay: they say what happened. */
  g_assert_true (g_file_test (log, G_FILE_TEST_EXISTS));
  {
    g_autofree gchar *text = berth_test_read_file (log);

    g_assert_nonnull (strstr (text, "Factory reset done; berthd quits"));
  }

  /* The next berthd starts from the defaults. */
  g_clear_object (&f->berthd);
  f->exited = FALSE;
  daemon_start (f);
  {
    g_autoptr (Response) r = call (f, "GET", "/v1/settings", NULL);
    g_autoptr (JsonNode) root = response_json (r);

    g_assert_cmpstr (
        json_object_get_string_member (
            json_object_get_object_member (json_node_get_object (root), "images"), "namespace"),
        ==, default_ns);
  }
}

/* ---- shutdown --------------------------------------------------------- */

static gchar *
read_log (Fixture *f)
{
  g_autofree gchar *log = g_build_filename (f->root, ".local", "state", "berth", "logs", "berthd.log", NULL);
  gchar *text = NULL;

  g_assert_true (g_file_get_contents (log, &text, NULL, NULL));
  return text;
}

static void
test_shutdown (Fixture *f, gconstpointer data)
{
  g_autofree gchar *first_password = NULL;
  g_autofree gchar *log = NULL;
  Events ev = { 0 };

  daemon_start (f);
  first_password = g_strdup (f->password);
  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/backend_state", "{\"vmState\": \"STARTED\"}");

    g_assert_cmpuint (r->status, ==, 202);
  }
  wait_for_state (f, "STARTED");
  events_connect (f, &ev, AUTH_RIGHT);
  g_assert_nonnull (ev.conn);

  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/shutdown", NULL);
    g_autoptr (JsonNode) root = NULL;

    g_assert_cmpuint (r->status, ==, 202);
    root = response_json (r);
    g_assert_nonnull (strstr (
        json_object_get_string_member (json_node_get_object (root), "message"), "shutting down"));
  }
  /* The VM is stopped on the way out. */
  wait_event (&ev, 0, "state-changed", "state", "STOPPED");
  g_assert_cmpint (daemon_wait_exit (f), ==, 0);
  g_assert_false (g_file_test (f->credentials_path, G_FILE_TEST_EXISTS));
  log = read_log (f);
  g_assert_nonnull (strstr (log, "State STOPPED"));
  g_assert_nonnull (strstr (log, "berthd exiting (status 0)"));
  events_clear (&ev);

  /* A new start, a new password. */
  daemon_start (f);
  g_assert_cmpstr (f->password, !=, first_password);
}

static void
test_sigterm (Fixture *f, gconstpointer data)
{
  g_autofree gchar *log = NULL;

  daemon_start (f);
  {
    g_autoptr (Response) r = call (f, "PUT", "/v1/backend_state", "{\"vmState\": \"STARTED\"}");

    g_assert_cmpuint (r->status, ==, 202);
  }
  wait_for_state (f, "STARTED");
  g_subprocess_send_signal (f->berthd, SIGTERM);
  g_assert_cmpint (daemon_wait_exit (f), ==, 0);
  g_assert_false (g_file_test (f->credentials_path, G_FILE_TEST_EXISTS));
  log = read_log (f);
  g_assert_nonnull (strstr (log, "Signal received: stopping the VM and exiting"));
  g_assert_nonnull (strstr (log, "State STOPPED"));
}

static void
test_single_instance (Fixture *f, gconstpointer data)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) second = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *err = NULL;
  g_autofree gchar *second_stderr = g_build_filename (f->root, "second.stderr", NULL);
  g_autoptr (JsonNode) root = NULL;

  daemon_start (f);
  launcher = new_launcher (f);
  g_subprocess_launcher_set_stderr_file_path (launcher, second_stderr);
  second = g_subprocess_launcher_spawn (launcher, &error, berthd_path (), "--port", "0", NULL);
  g_assert_no_error (error);
  g_subprocess_wait (second, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (second));
  g_assert_cmpint (g_subprocess_get_exit_status (second), ==, 1);
  g_assert_true (g_file_get_contents (second_stderr, &err, NULL, NULL));
  g_assert_nonnull (strstr (err, "berthd is already running"));
  {
    g_autofree gchar *first = g_strdup_printf ("(pid %d,", (gint)f->pid);

    g_assert_nonnull (strstr (err, first));
  }

  /* The first one's file is untouched. */
  root = read_json_file (f->credentials_path);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (root), "pid"), ==, f->pid);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (root), "password"), ==,
                   f->password);
}

int
main (int argc, char **argv)
{
  berth_test_watch_leftovers ();
  g_test_init (&argc, &argv, NULL);

  if (g_getenv ("BERTHD") == NULL)
    {
      g_test_skip ("BERTHD is not set: run through meson test");
      return g_test_run ();
    }

#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/api/auth", test_auth);
  ADD ("/api/credentials", test_credentials);
  ADD ("/api/loopback-only", test_loopback_only);
  ADD ("/api/port-taken", test_port_taken);
  ADD ("/api/bad-port", test_bad_port);
  ADD ("/api/routing", test_routing);
  ADD ("/api/about-plugins-diagnostics", test_about_plugins_diagnostics);
  ADD ("/api/settings/bad-input", test_bad_settings);
  ADD ("/api/settings/too-large", test_body_too_large);
  ADD ("/api/settings/imported-at-start", test_settings_imported_at_start);
  ADD ("/api/settings/import", test_settings_import);
  ADD ("/api/settings/control-characters", test_settings_control_characters);
  ADD ("/api/settings/pending", test_settings_and_pending);
  ADD ("/api/settings/concurrent", test_concurrent_puts);
  ADD ("/api/events", test_events);
  ADD ("/api/host-header", test_host_header);
  ADD ("/api/origin/refused", test_origin_refused);
  ADD ("/api/origin/allowed", test_origin_allowed);
  ADD ("/api/origin/bad-setting", test_origin_bad_setting);
  ADD ("/api/events/state-serial", test_state_serial);
  ADD ("/api/backend-state", test_backend_state);
  ADD ("/api/k8s-reset-without-provider", test_k8s_reset_without_provider);
  ADD ("/api/factory-reset", test_factory_reset);
  ADD ("/api/shutdown", test_shutdown);
  ADD ("/api/sigterm", test_sigterm);
  ADD ("/api/single-instance", test_single_instance);
#undef ADD

  return g_test_run ();
}
