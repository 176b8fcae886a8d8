/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Kubernetes end to end without a VM: berthd from the build tree with
 * berth-k3s and the test backend berth-test-scratchvm, whose "guest" is a
 * scratch directory on the host; the fake k3s release mirror
 * (tests/k3s/fake-mirror.sh) serving releases whose binary is the fake k3s
 * (tests/k3s/fake-k3s), which the plugin downloads, verifies, installs and
 * starts as it would the real one. What a person sees from berthctl and
 * kubectl, and what a client sees on the API and its event stream: the
 * Kubernetes states, the engine staying up when k3s cannot be had, the
 * severities of kubernetes.* changes, versions online and offline,
 * services and their forwards, resets, and the kubeconfig given back. */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "berth-k3s-test-mirror.h"
#include "berth-test-util.h"

/* The whole Kubernetes start (download, install, the fake's keys) on a
 * busy machine; in the VM under software emulation, longer. */
static guint wait_seconds = 120;
#define WAIT_SECONDS wait_seconds

#define VERSION_NEW "v1.30.2+k3s1"
#define VERSION_OLD "v1.29.6+k3s2"

/* One mirror for every test: python and openssl take a while to start. */
static BerthK3sTestMirror *mirror;

typedef struct
{
  gchar *root;
  gchar *home;
  gchar *data;
  gchar *guest; /* the test VM's "/" */
  gchar *kubeconfig;
  gchar *stderr_path;
  gchar **envp;
  guint k8s_port;
  GSubprocess *berthd;
  gboolean exited;
  guint port;
  gchar *password;
  SoupSession *session;
  SoupWebsocketConnection *events;
  GPtrArray *k8s_states; /* "ready", "error: reason", … from the event stream */
  GPtrArray *vm_states;  /* "STARTED", … */
} Fixture;

typedef struct
{
  guint status;
  JsonNode *json;
} Answer;

static void
answer_free (Answer *a)
{
  g_clear_pointer (&a->json, json_node_unref);
  g_free (a);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Answer, answer_free)

typedef struct
{
  gint status;
  gchar *out;
  gchar *err;
} Run;

static void
run_free (Run *r)
{
  g_free (r->out);
  g_free (r->err);
  g_free (r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Run, run_free)

/* ---- helpers ------------------------------------------------------------ */

static JsonNode *
parse_json (const gchar *text, gsize len)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;

  json_parser_load_from_data (parser, text, (gssize)len, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

static guint
free_port (void)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) error = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, any, TRUE, &error));
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static SoupMessage *
new_message_for (Fixture *f, const gchar *method, const gchar *scheme, const gchar *path)
{
  g_autofree gchar *uri = g_strdup_printf ("%s://127.0.0.1:%u%s", scheme, f->port, path);
  g_autofree gchar *pair = g_strdup_printf ("user:%s", f->password);
  g_autofree gchar *encoded = g_base64_encode ((const guchar *)pair, strlen (pair));
  g_autofree gchar *header = g_strconcat ("Basic ", encoded, NULL);
  SoupMessage *msg = soup_message_new (method, uri);

  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", header);
  return msg;
}

static Answer *
call (Fixture *f, const gchar *method, const gchar *path, const gchar *body)
{
  g_autoptr (SoupMessage) msg = new_message_for (f, method, "http", path);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  Answer *a = g_new0 (Answer, 1);
  gsize len = 0;
  const gchar *data;

  if (body != NULL)
    {
      g_autoptr (GBytes) request = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (msg, "application/json", request);
    }
  bytes = soup_session_send_and_read (f->session, msg, NULL, &error);
  g_assert_no_error (error);
  a->status = soup_message_get_status (msg);
  data = g_bytes_get_data (bytes, &len);
  a->json = parse_json (data, len);
  return a;
}

static gchar *
backend_field (Fixture *f, const gchar *field)
{
  g_autoptr (Answer) a = call (f, "GET", "/v1/backend_state", NULL);
  JsonNode *node = json_object_get_member (json_node_get_object (a->json), field);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  return g_strdup (json_node_get_string (node));
}

static Run *
run_program (Fixture *f, const gchar *first, ...) G_GNUC_NULL_TERMINATED;

static Run *
run_program (Fixture *f, const gchar *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  Run *r = g_new0 (Run, 1);
  va_list args;

  va_start (args, first);
  for (const gchar *arg = first; arg != NULL; arg = va_arg (args, const gchar *))
    g_ptr_array_add (argv, (gpointer)arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  r->status
      = berth_test_spawn (NULL, (const gchar *const *)argv->pdata, (const gchar *const *)f->envp,
                          G_SPAWN_SEARCH_PATH, &r->out, &r->err);
  return r;
}

#define berthctl(f, ...) run_program ((f), g_getenv ("BERTHCTL"), __VA_ARGS__)

static gchar *
guest_path (Fixture *f, const gchar *path)
{
  return g_build_filename (f->guest, path, NULL);
}

static gchar *
read_or_null (const gchar *path)
{
  gchar *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  return text;
}

/* ---- the event stream ---------------------------------------------------- */

static void
on_event (SoupWebsocketConnection *conn, gint type, GBytes *message, Fixture *f)
{
  gsize len = 0;
  const gchar *data = g_bytes_get_data (message, &len);
  g_autoptr (JsonNode) event = parse_json (data, len);
  JsonObject *object = json_node_get_object (event);
  const gchar *kind = json_object_get_string_member_with_default (object, "type", "");
  const gchar *state = json_object_get_string_member_with_default (object, "state", "");
  const gchar *reason = json_object_get_string_member_with_default (object, "reason", NULL);

  if (g_str_equal (kind, "kubernetes-state-changed"))
    g_ptr_array_add (f->k8s_states,
                     reason != NULL ? g_strdup_printf ("%s: %s", state, reason) : g_strdup (state));
  else if (g_str_equal (kind, "state-changed"))
    g_ptr_array_add (f->vm_states, g_strdup (state));
}

typedef struct
{
  Fixture *f;
  GError *error;
  gboolean done;
} Connect;

static void
on_events_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Connect *c = user_data;

  c->f->events = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &c->error);
  if (c->f->events != NULL)
    g_signal_connect (c->f->events, "message", G_CALLBACK (on_event), c->f);
  c->done = TRUE;
}

static gboolean
connect_done (gpointer user_data)
{
  return ((Connect *)user_data)->done;
}

static void
listen_events (Fixture *f)
{
  g_autoptr (SoupMessage) msg = new_message_for (f, "GET", "ws", "/v1/events");
  Connect c = { f, NULL, FALSE };

  soup_session_websocket_connect_async (f->session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        on_events_connected, &c);
  g_assert_true (berth_test_iterate_until (connect_done, &c, WAIT_SECONDS));
  g_assert_no_error (c.error);
}

typedef struct
{
  Fixture *f;
  const gchar *prefix;
} StateWait;

static gboolean
k8s_event_seen (gpointer user_data)
{
  StateWait *w = user_data;

  for (guint i = 0; i < w->f->k8s_states->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (w->f->k8s_states, i), w->prefix))
      return TRUE;
  return FALSE;
}

/* Waits for a kubernetes-state-changed event starting with @prefix. */
static void
wait_k8s_event (Fixture *f, const gchar *prefix)
{
  StateWait w = { f, prefix };

  if (!berth_test_iterate_until (k8s_event_seen, &w, WAIT_SECONDS))
    {
      g_autofree gchar *seen = NULL;

      g_ptr_array_add (f->k8s_states, NULL);
      seen = g_strjoinv (" | ", (gchar **)f->k8s_states->pdata);
      g_ptr_array_remove_index (f->k8s_states, f->k8s_states->len - 1);
      g_error ("no Kubernetes state \"%s\" within %d s; seen: %s", prefix, WAIT_SECONDS, seen);
    }
}

/* The events seen, joined, and forgotten. */
static gchar *
take_states (GPtrArray *states)
{
  gchar *joined;

  g_ptr_array_add (states, NULL);
  joined = g_strjoinv (" > ", (gchar **)states->pdata);
  g_ptr_array_set_size (states, 0);
  return joined;
}

/* ---- berthd ------------------------------------------------------------- */

static void
on_berthd_exited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Fixture *f = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  f->exited = TRUE;
}

static gboolean
credentials_ready (gpointer user_data)
{
  Fixture *f = user_data;
  g_autofree gchar *path = g_build_filename (f->data, "berth", "berth-engine.json", NULL);

  if (f->exited)
    return TRUE;
  return berth_test_read_credentials (path, 0, &f->port, &f->password);
}

static gboolean
has_exited (gpointer user_data)
{
  return ((Fixture *)user_data)->exited;
}

/* A kubeconfig of the user's own, as kubectl writes one, that Berth must
 * give back as it was. */
static void
write_user_kubeconfig (Fixture *f)
{
  g_autofree gchar *dir = g_path_get_dirname (f->kubeconfig);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  berth_test_write_file (f->kubeconfig,
                         "apiVersion: v1\n"
                         "clusters:\n"
                         "- cluster:\n"
                         "    server: https://prod.example.invalid:6443\n"
                         "  name: prod\n"
                         "contexts:\n"
                         "- context:\n"
                         "    cluster: prod\n"
                         "    namespace: shop\n"
                         "    user: alice\n"
                         "  name: prod\n"
                         "current-context: prod\n"
                         "kind: Config\n"
                         "preferences: {}\n"
                         "users:\n"
                         "- name: alice\n"
                         "  user:\n"
                         "    token: not-a-real-token\n",
                         0600);
}

/* berthd with the mirror's URLs, each under /broken/<variant>/ when given. */
static void
start_berthd (Fixture *f, const gchar *broken_index, const gchar *broken_download)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autofree gchar *runtime = g_build_filename (f->root, "run", NULL);
  /* The real VM (lima), or the scratch guest. */
  const gchar *vm_plugins = g_getenv ("BERTH_TEST_VM_PLUGIN_PATH");
  g_autofree gchar *plugin_path
      = g_strjoin (":", vm_plugins != NULL ? vm_plugins : g_getenv ("BERTH_TEST_SCRATCHVM_DIR"),
                   g_getenv ("BERTH_TEST_K3S_DIR"), NULL);
  g_autofree gchar *settings_dir = g_build_filename (f->root, "config", "berth", NULL);
  g_autofree gchar *settings_path = g_build_filename (settings_dir, "settings.json", NULL);
  g_autofree gchar *settings = NULL;

  g_assert_cmpint (g_mkdir_with_parents (runtime, 0700), ==, 0);
  f->k8s_port = free_port ();
  settings = g_strdup_printf ("{\"version\": 5, \"kubernetes\": {\"enabled\": false, "
                              "\"version\": \"%s\", \"port\": %u}}",
                              VERSION_NEW, f->k8s_port);
  g_assert_cmpint (g_mkdir_with_parents (settings_dir, 0700), ==, 0);
  berth_test_write_file (settings_path, settings, 0600);

  berth_k3s_test_mirror_set_env (mirror, broken_index, broken_index, broken_download);
  f->envp = g_get_environ ();
  berth_k3s_test_mirror_unset_env ();
  f->envp = g_environ_setenv (f->envp, "HOME", f->home, TRUE);
  f->envp = berth_test_environ_under (f->envp, f->root);
  f->envp = g_environ_setenv (f->envp, "XDG_RUNTIME_DIR", runtime, TRUE);
  f->envp = g_environ_setenv (f->envp, "BERTH_PLUGIN_PATH", plugin_path, TRUE);
  f->envp = g_environ_unsetenv (f->envp, "KUBECONFIG");
  f->envp = g_environ_unsetenv (f->envp, "BERTH_API_PORT");
  f->envp = g_environ_unsetenv (f->envp, "BERTH_K3S_ASSETS_DIR");

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, berth_test_die_with_parent, NULL, NULL);
  g_subprocess_launcher_set_environ (launcher, f->envp);
  g_subprocess_launcher_set_stderr_file_path (launcher, f->stderr_path);
  f->berthd = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("BERTHD"), "--foreground",
                                           "--verbose", "--port", "0", NULL);
  g_assert_no_error (error);
  g_subprocess_wait_async (f->berthd, NULL, on_berthd_exited, f);
  g_assert_true (berth_test_iterate_until (credentials_ready, f, WAIT_SECONDS));
  if (f->exited)
    berth_test_show_stderr ("berthd", f->stderr_path);
  g_assert_false (f->exited);
  f->session = soup_session_new_with_options ("timeout", WAIT_SECONDS, NULL);
  listen_events (f);
}

static gboolean
versions_listed (gpointer user_data)
{
  Fixture *f = user_data;
  g_autoptr (Answer) a = call (f, "GET", "/v1/k8s_versions", NULL);
  JsonArray *versions = json_object_get_array_member (json_node_get_object (a->json), "versions");

  for (guint i = 0; i < json_array_get_length (versions); i++)
    if (g_str_equal (json_array_get_string_element (versions, i), VERSION_NEW))
      return TRUE;
  return FALSE;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->root = berth_test_make_root ("berth-k3s-e2e");
  f->home = g_build_filename (f->root, "home", NULL);
  f->data = g_build_filename (f->root, "share", NULL);
  f->guest = g_build_filename (f->data, "berth", "scratchvm-root", NULL);
  f->kubeconfig = g_build_filename (f->home, ".kube", "config", NULL);
  f->stderr_path = g_build_filename (f->root, "berthd.stderr", NULL);
  f->k8s_states = g_ptr_array_new_with_free_func (g_free);
  f->vm_states = g_ptr_array_new_with_free_func (g_free);
  g_assert_cmpint (g_mkdir_with_parents (f->home, 0700), ==, 0);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  if (f->events != NULL)
    soup_websocket_connection_close (f->events, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_clear_object (&f->events);
  if (f->berthd != NULL)
    {
      if (g_test_failed ())
        berth_test_show_stderr ("berthd", f->stderr_path);
      if (!f->exited)
        {
          g_subprocess_send_signal (f->berthd, SIGTERM);
          if (!berth_test_iterate_until (has_exited, f, WAIT_SECONDS))
            g_subprocess_force_exit (f->berthd);
          while (!f->exited)
            g_main_context_iteration (NULL, TRUE);
        }
      g_clear_object (&f->berthd);
    }
  g_clear_object (&f->session);
  berth_test_rm_rf (f->root);
  g_free (f->root);
  g_free (f->home);
  g_free (f->data);
  g_free (f->guest);
  g_free (f->kubeconfig);
  g_free (f->stderr_path);
  g_free (f->password);
  g_strfreev (f->envp);
  g_ptr_array_unref (f->k8s_states);
  g_ptr_array_unref (f->vm_states);
}

static gboolean
vm_started_seen (gpointer user_data)
{
  Fixture *f = user_data;

  for (guint i = 0; i < f->vm_states->len; i++)
    if (g_str_equal (g_ptr_array_index (f->vm_states, i), "STARTED"))
      return TRUE;
  return FALSE;
}

/* berthctl start --wait; returns once this client saw STARTED too, with
 * the VM's states seen so far forgotten. */
static void
start_vm (Fixture *f)
{
  g_autoptr (Run) r = berthctl (f, "start", "--wait", "--wait-timeout", "120", NULL);

  if (r->status != 0)
    {
      g_test_message ("berthctl start: %s%s", r->out, r->err);
      berth_test_show_stderr ("berthd", f->stderr_path);
    }
  g_assert_cmpint (r->status, ==, 0);
  g_assert_true (berth_test_iterate_until (vm_started_seen, f, WAIT_SECONDS));
  g_ptr_array_set_size (f->vm_states, 0);
}

/* ---- kubectl ----------------------------------------------------------- */

static gboolean
have_kubectl (void)
{
  g_autofree gchar *kubectl = g_find_program_in_path ("kubectl");

  return kubectl != NULL;
}

/* ---- tests -------------------------------------------------------------- */

/* The versions come from the mirror's channels and releases; offline (the
 * mirror answers 500) from the list Berth ships, never an empty list. */
static void
test_versions (Fixture *f, gconstpointer data)
{
  const gchar *broken = data;
  g_autoptr (Run) r = NULL;
  g_autoptr (Run) again = NULL;

  start_berthd (f, broken, NULL);
  if (broken == NULL)
    {
      g_assert_true (berth_test_iterate_until (versions_listed, f, WAIT_SECONDS));
      r = berthctl (f, "k8s", "versions", NULL);
      g_assert_cmpint (r->status, ==, 0);
      g_assert_cmpstr (r->out, ==, VERSION_NEW "\n" VERSION_OLD "\n");
      return;
    }
  /* The refresh fails in the background; the list answers all the same. */
  r = berthctl (f, "k8s", "versions", NULL);
  g_assert_cmpint (r->status, ==, 0);
  g_assert_true (g_str_has_prefix (r->out, "v1.35.1+k3s1\nv1.35.0+k3s1\n"));
  g_assert_null (strstr (r->out, VERSION_NEW));
  berth_test_pause_ms (300);
  again = berthctl (f, "k8s", "versions", "-o", "json", NULL);
  g_assert_cmpint (again->status, ==, 0);
  g_assert_nonnull (strstr (again->out, "\"v1.31.12+k3s1\""));
}

/* k3s cannot be had: the VM and its engine stay up, and Kubernetes' state
 * says what failed, on the event stream and in `berthctl info`. */
static void
test_engine_stays_up (Fixture *f, gconstpointer data)
{
  const gchar *broken = data;
  g_autoptr (Run) set = NULL;
  g_autoptr (Run) info = NULL;
  g_autofree gchar *reason = NULL;
  g_autofree gchar *vm = NULL;
  g_autofree gchar *states = NULL;

  start_berthd (f, NULL, broken);
  g_assert_true (berth_test_iterate_until (versions_listed, f, WAIT_SECONDS));
  set = berthctl (f, "set", "--kubernetes.enabled=true", NULL);
  g_assert_cmpint (set->status, ==, 0);
  /* Enabled while the VM is stopped: "stopped", not "disabled", then the
   * start's own states. */
  start_vm (f);
  wait_k8s_event (f, "error");
  vm = backend_field (f, "vmState");
  g_assert_cmpstr (vm, ==, "STARTED");
  reason = backend_field (f, "kubernetesReason");
  g_test_message ("reason: %s", reason);
  g_assert_true (g_str_has_prefix (reason, "Could not get k3s " VERSION_NEW ": "));
  /* And what to do about it. */
  g_assert_true (g_str_has_suffix (reason, ". Kubernetes stays off until Berth starts again "
                                           "(berthctl stop, then berthctl start); offline, put "
                                           "the release's files in a directory named by "
                                           "BERTH_K3S_ASSETS_DIR"));
  if (g_str_equal (broken, "bad-checksum"))
    {
      /* Names the file, its URL and both digests. */
      g_assert_nonnull (strstr (reason, "checksum mismatch for https://127.0.0.1:"));
      g_assert_nonnull (strstr (reason, "/download/v1.30.2%2Bk3s1/k3s: expected sha256:"));
      g_assert_nonnull (strstr (reason, ", got sha256:"));
    }
  else
    g_assert_nonnull (strstr (reason, "500"));
  states = take_states (f->k8s_states);
  g_test_message ("Kubernetes' states: %s", states);
  g_assert_true (g_str_has_prefix (states, "stopped > starting > error: Could not get k3s"));
  info = berthctl (f, "info", "--field", "kubernetesState", NULL);
  g_assert_cmpstr (info->out, ==, "error\n");
  /* Nothing of k3s reached the guest. */
  {
    g_autofree gchar *binary = guest_path (f, "/usr/local/bin/k3s");

    g_assert_false (g_file_test (binary, G_FILE_TEST_EXISTS));
  }
}

typedef struct
{
  guint port;
  gchar *text; /* what it answered */
} Banner;

static gboolean
banner_read (gpointer user_data)
{
  Banner *b = user_data;
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) conn = NULL;
  gchar buf[512];
  gssize n;

  conn = g_socket_client_connect_to_host (client, "127.0.0.1", (guint16)b->port, NULL, NULL);
  if (conn == NULL)
    return FALSE;
  n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (conn)), buf, sizeof buf - 1,
                           NULL, NULL);
  if (n <= 0)
    return FALSE;
  buf[n] = '\0';
  g_free (b->text);
  b->text = g_strdup (buf);
  return TRUE;
}

static gboolean
port_closed (gpointer user_data)
{
  Banner *b = user_data;

  return !banner_read (b);
}

static gboolean
service_listed (gpointer user_data)
{
  Fixture *f = user_data;
  g_autoptr (Run) r = berthctl (f, "k8s", "services", NULL);

  return r->status == 0 && strstr (r->out, "default          web ") != NULL;
}

static gboolean
k3s_answers (gpointer user_data)
{
  Fixture *f = user_data;
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) conn
      = g_socket_client_connect_to_host (client, "127.0.0.1", (guint16)f->k8s_port, NULL, NULL);

  return conn != NULL;
}

static gchar *
guest_pid (Fixture *f)
{
  g_autofree gchar *path = guest_path (f, "/run/berth-k3s/k3s.pid");
  gchar *pid = read_or_null (path);

  return pid != NULL ? g_strstrip (pid) : NULL;
}

typedef struct
{
  Fixture *f;
  const gchar *old_pid;
} Respawn;

static gboolean
respawned (gpointer user_data)
{
  Respawn *w = user_data;
  g_autofree gchar *pid = guest_pid (w->f);

  return pid != NULL && !g_str_equal (pid, w->old_pid) && k3s_answers (w->f);
}

/* Enabled while Berth runs: Kubernetes alone starts, the VM stays up.
 * kubectl reads the merged kubeconfig; a service is watched and forwarded;
 * a killed k3s comes back; disabled, the kubeconfig is as it was. */
static void
test_enable_services_disable (Fixture *f, gconstpointer data)
{
  g_autoptr (Run) set = NULL;
  g_autoptr (Run) get = NULL;
  g_autoptr (Run) forward = NULL;
  g_autoptr (Run) unforward = NULL;
  g_autoptr (Run) off = NULL;
  g_autofree gchar *before = NULL;
  g_autofree gchar *after = NULL;
  g_autofree gchar *merged = NULL;
  g_autofree gchar *states = NULL;
  g_autofree gchar *vm_states = NULL;
  g_autofree gchar *services_file = NULL;
  g_autofree gchar *version = NULL;
  g_autofree gchar *old_pid = NULL;
  g_autofree gchar *server = NULL;
  Banner banner = { 0 };
  guint64 host_port = 0;
  const gchar *on;

  write_user_kubeconfig (f);
  before = berth_test_read_file (f->kubeconfig);
  start_berthd (f, NULL, NULL);
  g_assert_true (berth_test_iterate_until (versions_listed, f, WAIT_SECONDS));
  start_vm (f);
  /* Disabled, it stays so through the start. */
  g_assert_cmpstr (take_states (f->k8s_states), ==, "");

  set = berthctl (f, "set", "--wait", "--wait-timeout", "120", "--kubernetes.enabled=true", NULL);
  g_test_message ("berthctl set: %s%s", set->out, set->err);
  if (set->status != 0)
    berth_test_show_stderr ("berthd", f->stderr_path);
  g_assert_cmpint (set->status, ==, 0);
  g_assert_cmpstr (set->out, ==,
                   "kubernetes.enabled: Kubernetes is restarting to apply it (the VM keeps "
                   "running)\nKubernetes is ready\n");
  wait_k8s_event (f, "ready");
  states = take_states (f->k8s_states);
  g_assert_cmpstr (states, ==, "starting > ready");
  vm_states = take_states (f->vm_states);
  g_assert_cmpstr (vm_states, ==, "");

  /* Installed as k3s is: the binary, its tools, the persisted version. */
  {
    g_autofree gchar *kubectl = guest_path (f, "/usr/local/bin/kubectl");
    g_autofree gchar *target = g_file_read_link (kubectl, NULL);
    g_autofree gchar *version_file = guest_path (f, "/var/lib/rancher/k3s/version");

    g_assert_cmpstr (target, ==, "k3s");
    version = berth_test_read_file (version_file);
    g_assert_cmpstr (version, ==, VERSION_NEW "\n");
  }

  /* The kubeconfig: Berth's entries beside the user's, who keeps prod. */
  merged = berth_test_read_file (f->kubeconfig);
  g_assert_nonnull (strstr (merged, "name: prod"));
  server = g_strdup_printf ("server: https://127.0.0.1:%u", f->k8s_port);
  g_assert_nonnull (strstr (merged, server));
  g_assert_nonnull (strstr (merged, "current-context: prod"));
  if (have_kubectl ())
    {
      get = run_program (f, "kubectl", "--context", "berth", "get", "nodes", NULL);
      g_test_message ("kubectl: %s%s", get->out, get->err);
      g_assert_cmpint (get->status, ==, 0);
      g_assert_nonnull (strstr (get->out, "Ready"));
      g_assert_nonnull (strstr (get->out, VERSION_NEW));
    }
  else
    g_test_message ("no kubectl on PATH: the kubeconfig is not tried with it");

  /* A service appears in the cluster: watched, listed, forwarded. */
  services_file = guest_path (f, "/var/lib/rancher/k3s/fake-services");
  berth_test_write_file (services_file, "default web ClusterIP 80:http\n", 0644);
  g_assert_true (berth_test_iterate_until (service_listed, f, WAIT_SECONDS));
  forward = berthctl (f, "k8s", "forward", "default/web", "http", NULL);
  g_test_message ("forward: %s%s", forward->out, forward->err);
  g_assert_cmpint (forward->status, ==, 0);
  g_assert_true (g_str_has_prefix (forward->out, "default/web:http is on 127.0.0.1:"));
  on = forward->out + strlen ("default/web:http is on 127.0.0.1:");
  g_assert_true (
      g_ascii_string_to_unsigned (g_strstrip ((gchar *)on), 10, 1, 65535, &host_port, NULL));
  banner.port = (guint)host_port;
  g_assert_true (berth_test_iterate_until (banner_read, &banner, WAIT_SECONDS));
  g_assert_cmpstr (banner.text, ==,
                   g_strdup_printf ("fake k3s port-forward: service default/web port 80 through "
                                    "127.0.0.1:%u (a fake, no pod behind it)\n",
                                    banner.port));
  {
    g_autoptr (Run) listed = berthctl (f, "k8s", "services", NULL);
    g_autofree gchar *row = g_strdup_printf ("127.0.0.1:%u", banner.port);

    g_assert_nonnull (strstr (listed->out, row));
  }
  unforward = berthctl (f, "k8s", "unforward", "default/web", "http", NULL);
  g_assert_cmpint (unforward->status, ==, 0);
  g_assert_true (berth_test_iterate_until (port_closed, &banner, WAIT_SECONDS));
  g_free (banner.text);

  /* k3s dies: the guest's supervisor starts it again. */
  old_pid = guest_pid (f);
  g_assert_nonnull (old_pid);
  g_assert_cmpint (kill ((pid_t)g_ascii_strtoll (old_pid, NULL, 10), SIGKILL), ==, 0);
  {
    Respawn w = { f, old_pid };

    g_assert_true (berth_test_iterate_until (respawned, &w, WAIT_SECONDS));
  }

  /* Disabled: k3s stops, the kubeconfig is byte for byte the user's. */
  off = berthctl (f, "set", "--wait", "--kubernetes.enabled=false", NULL);
  g_assert_cmpint (off->status, ==, 0);
  g_assert_cmpstr (off->out, ==,
                   "kubernetes.enabled: Kubernetes is restarting to apply it (the VM keeps "
                   "running)\nKubernetes is disabled\n");
  wait_k8s_event (f, "disabled");
  after = berth_test_read_file (f->kubeconfig);
  g_assert_cmpstr (after, ==, before);
  g_assert_false (k3s_answers (f));
  g_assert_cmpstr (take_states (f->vm_states), ==, "");
}

/* What a kubernetes.* change would do, asked beforehand; then a port
 * change applied: Kubernetes alone restarts on the new port. */
static void
test_severities (Fixture *f, gconstpointer data)
{
  g_autoptr (Answer) port = NULL;
  g_autoptr (Answer) downgrade = NULL;
  g_autoptr (Answer) upgrade = NULL;
  g_autoptr (Run) set = NULL;
  g_autoptr (Run) enable = NULL;
  g_autofree gchar *body = NULL;
  g_autofree gchar *server = NULL;
  g_autofree gchar *merged = NULL;
  guint new_port;
  JsonObject *pending;

  start_berthd (f, NULL, NULL);
  g_assert_true (berth_test_iterate_until (versions_listed, f, WAIT_SECONDS));
  enable = berthctl (f, "set", "--kubernetes.enabled=true", NULL);
  g_assert_cmpint (enable->status, ==, 0);
  start_vm (f);
  wait_k8s_event (f, "ready");

  new_port = free_port ();
  body = g_strdup_printf ("{\"kubernetes\": {\"port\": %u}}", new_port);
  port = call (f, "PUT", "/v1/propose_settings", body);
  g_assert_cmpuint (port->status, ==, 202);
  pending = json_node_get_object (port->json);
  g_assert_cmpstr (json_object_get_string_member (
                       json_object_get_object_member (pending, "kubernetes.port"), "severity"),
                   ==, "restart");

  downgrade = call (f, "PUT", "/v1/propose_settings",
                    "{\"kubernetes\": {\"version\": \"" VERSION_OLD "\"}}");
  g_assert_cmpuint (downgrade->status, ==, 202);
  g_assert_cmpstr (json_object_get_string_member (
                       json_object_get_object_member (json_node_get_object (downgrade->json),
                                                      "kubernetes.version"),
                       "severity"),
                   ==, "reset");
  upgrade = call (f, "PUT", "/v1/propose_settings",
                  "{\"kubernetes\": {\"version\": \"v1.31.0+k3s1\"}}");
  g_assert_cmpstr (json_object_get_string_member (
                       json_object_get_object_member (json_node_get_object (upgrade->json),
                                                      "kubernetes.version"),
                       "severity"),
                   ==, "restart");

  /* Applied: the proposal changed nothing; the change itself restarts
   * Kubernetes on the new port and points the kubeconfig there. */
  g_assert_true (k3s_answers (f));
  g_ptr_array_set_size (f->k8s_states, 0);
  {
    g_autofree gchar *flag = g_strdup_printf ("--kubernetes.port=%u", new_port);

    set = berthctl (f, "set", "--wait", flag, NULL);
  }
  g_assert_cmpint (set->status, ==, 0);
  g_assert_cmpstr (set->out, ==,
                   "kubernetes.port: Kubernetes is restarting to apply it (the VM keeps "
                   "running)\nKubernetes is ready\n");
  wait_k8s_event (f, "ready");
  g_assert_cmpstr (take_states (f->k8s_states), ==, "stopped > starting > ready");
  g_assert_cmpstr (take_states (f->vm_states), ==, "");
  f->k8s_port = new_port;
  g_assert_true (k3s_answers (f));
  merged = berth_test_read_file (f->kubeconfig);
  server = g_strdup_printf ("server: https://127.0.0.1:%u", new_port);
  g_assert_nonnull (strstr (merged, server));
  {
    g_autoptr (Answer) none = call (f, "PUT", "/v1/propose_settings", "{}");

    g_assert_cmpuint (json_object_get_size (json_node_get_object (none->json)), ==, 0);
  }
}

static gchar *
cluster_ca (Fixture *f)
{
  g_autofree gchar *path = guest_path (f, "/var/lib/rancher/k3s/server/tls/server-ca.crt");

  return read_or_null (path);
}

/* berthctl reset --k8s [--wipe] and PUT /v1/k8s_reset: the cluster's state
 * goes (a new CA), Kubernetes comes back, the kubeconfig follows. */
static void
test_reset (Fixture *f, gconstpointer data)
{
  g_autoptr (Run) enable = NULL;
  g_autoptr (Run) reset = NULL;
  g_autoptr (Answer) wipe = NULL;
  g_autoptr (Answer) bad = NULL;
  g_autofree gchar *ca_before = NULL;
  g_autofree gchar *ca_fast = NULL;
  g_autofree gchar *ca_wipe = NULL;

  start_berthd (f, NULL, NULL);
  g_assert_true (berth_test_iterate_until (versions_listed, f, WAIT_SECONDS));
  enable = berthctl (f, "set", "--kubernetes.enabled=true", NULL);
  start_vm (f);
  wait_k8s_event (f, "ready");
  ca_before = cluster_ca (f);
  g_assert_nonnull (ca_before);

  g_ptr_array_set_size (f->k8s_states, 0);
  reset = berthctl (f, "reset", "--k8s", NULL);
  g_test_message ("reset: %s%s", reset->out, reset->err);
  g_assert_cmpint (reset->status, ==, 0);
  wait_k8s_event (f, "ready");
  ca_fast = cluster_ca (f);
  g_assert_nonnull (ca_fast);
  g_assert_cmpstr (ca_fast, !=, ca_before);
  if (have_kubectl ())
    {
      g_autoptr (Run) get = run_program (f, "kubectl", "--context", "berth", "get", "nodes", NULL);

      g_assert_cmpint (get->status, ==, 0);
    }

  bad = call (f, "PUT", "/v1/k8s_reset", "{\"mode\": \"everything\"}");
  g_assert_cmpuint (bad->status, ==, 400);

  g_ptr_array_set_size (f->k8s_states, 0);
  wipe = call (f, "PUT", "/v1/k8s_reset", "{\"mode\": \"wipe\"}");
  g_assert_cmpuint (wipe->status, ==, 202);
  wait_k8s_event (f, "ready");
  ca_wipe = cluster_ca (f);
  g_assert_nonnull (ca_wipe);
  g_assert_cmpstr (ca_wipe, !=, ca_fast);
}

/* ---- the real VM -------------------------------------------------------- */

/* `berthctl shell -- sudo sh -c SCRIPT`: the guest's answer. */
static Run *
guest_sh (Fixture *f, const gchar *script)
{
  return berthctl (f, "shell", "--", "sudo", "-n", "sh", "-c", script, NULL);
}

static gchar *
vm_guest_pid (Fixture *f)
{
  g_autoptr (Run) r = guest_sh (f, "cat /run/berth-k3s/k3s.pid");

  return r->status == 0 ? g_strstrip (g_strdup (r->out)) : NULL;
}

static gboolean
vm_respawned (gpointer user_data)
{
  Respawn *w = user_data;
  g_autofree gchar *pid = vm_guest_pid (w->f);
  g_autoptr (Run) alive = NULL;

  if (pid == NULL || pid[0] == '\0' || g_str_equal (pid, w->old_pid))
    return FALSE;
  /* The new run is k3s itself now, and answers. */
  alive = guest_sh (w->f, "test \"$(readlink /proc/$(cat /run/berth-k3s/k3s.pid)/exe)\" = "
                          "/usr/local/bin/k3s");
  return alive->status == 0 && k3s_answers (w->f);
}

static gboolean
nodes_answer (gpointer user_data)
{
  Fixture *f = user_data;
  g_autoptr (Run) get = run_program (f, "kubectl", "--context", "berth", "get", "nodes", NULL);

  return get->status == 0 && strstr (get->out, " Ready ") != NULL;
}

/* Kubernetes in the real guest (Debian, busybox init) with the fake k3s
 * from the fake mirror, in one boot: kubectl reads the merged kubeconfig;
 * a service made in the guest is listed and forwarded to the host; k3s
 * killed in the guest comes back under busybox init's respawn; disabled,
 * the kubectl-written kubeconfig is byte for byte as it was. */
static void
test_vm (Fixture *f, gconstpointer data)
{
  g_autofree gchar *cache = g_build_filename (f->root, "cache", "berth", NULL);
  g_autofree gchar *images = g_build_filename (cache, "images", NULL);
  const gchar *shared = g_getenv ("BERTH_TEST_IMAGE_CACHE");
  g_autofree gchar *before = NULL;
  g_autofree gchar *after = NULL;
  g_autofree gchar *old_pid = NULL;
  g_autofree gchar *expected_banner = NULL;
  g_autofree gchar *states = NULL;
  g_autoptr (Run) start = NULL;
  g_autoptr (Run) get = NULL;
  g_autoptr (Run) forward = NULL;
  g_autoptr (Run) inittab = NULL;
  g_autoptr (Run) off = NULL;
  g_autoptr (Run) gone = NULL;
  g_autoptr (Run) shutdown = NULL;
  Banner banner = { 0 };
  guint64 host_port = 0;
  const gchar *on;

  if (!have_kubectl ())
    {
      g_test_skip ("kubectl is not on PATH: scripts/deps.sh installs Debian's");
      return;
    }
  /* The guest image is built once per build tree and shared. */
  g_assert_nonnull (shared);
  g_assert_cmpint (g_mkdir_with_parents (shared, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (cache, 0700), ==, 0);
  g_assert_cmpint (symlink (shared, images), ==, 0);

  start_berthd (f, NULL, NULL);
  /* The user's kubeconfig, as kubectl itself writes it: recorded from
   * kubectl's config set-cluster, set-credentials, set-context and
   * use-context. (Debian 12's kubectl 1.20, built with a newer Go, panics
   * in those commands, so they are not run here.) */
  {
    g_autofree gchar *written = berth_test_read_fixture (
        "..", "..", "..", "plugins", "k3s", "tests", "kubeconfig", "kubectl-written.yaml", NULL);
    g_autofree gchar *dir = g_path_get_dirname (f->kubeconfig);

    g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
    berth_test_write_file (f->kubeconfig, written, 0600);
  }
  before = berth_test_read_file (f->kubeconfig);
  g_assert_true (berth_test_iterate_until (versions_listed, f, WAIT_SECONDS));
  {
    g_autoptr (Run) set = berthctl (f, "set", "--kubernetes.enabled=true", NULL);

    g_assert_cmpint (set->status, ==, 0);
  }

  start = berthctl (f, "start", "--wait", "--wait-timeout", "1500", NULL);
  if (start->status != 0)
    {
      g_test_message ("berthctl start: %s%s", start->out, start->err);
      berth_test_show_stderr ("berthd", f->stderr_path);
    }
  g_assert_cmpint (start->status, ==, 0);
  g_assert_true (berth_test_iterate_until (vm_started_seen, f, WAIT_SECONDS));
  g_ptr_array_set_size (f->vm_states, 0);
  wait_k8s_event (f, "ready");
  states = take_states (f->k8s_states);
  g_test_message ("Kubernetes' states: %s", states);
  g_assert_cmpstr (states, ==, "stopped > starting > ready");

  /* kubectl against the fake API server in the guest, through the
   * forwarded port and Berth's entries in the kubeconfig. */
  get = run_program (f, "kubectl", "--context", "berth", "get", "nodes", "-o", "wide", NULL);
  g_test_message ("kubectl get nodes: %s%s", get->out, get->err);
  g_assert_cmpint (get->status, ==, 0);
  g_assert_nonnull (strstr (get->out, " Ready "));
  g_assert_nonnull (strstr (get->out, VERSION_NEW));
  g_assert_nonnull (strstr (get->out, "fake k3s (not Kubernetes)"));

  /* Under busybox init, with a respawn entry. */
  inittab = guest_sh (f, "grep -c '^::respawn:/usr/local/lib/berth-k3s/run$' /etc/inittab");
  g_assert_cmpstr (inittab->out, ==, "1\n");

  /* A service made in the guest: watched, listed, forwarded to the host. */
  {
    g_autoptr (Run) made
        = guest_sh (f, "echo 'default web ClusterIP 80:http' >/var/lib/rancher/k3s/fake-services");

    g_assert_cmpint (made->status, ==, 0);
  }
  g_assert_true (berth_test_iterate_until (service_listed, f, WAIT_SECONDS));
  forward = berthctl (f, "k8s", "forward", "default/web", "http", NULL);
  g_test_message ("forward: %s%s", forward->out, forward->err);
  g_assert_cmpint (forward->status, ==, 0);
  g_assert_true (g_str_has_prefix (forward->out, "default/web:http is on 127.0.0.1:"));
  on = forward->out + strlen ("default/web:http is on 127.0.0.1:");
  g_assert_true (
      g_ascii_string_to_unsigned (g_strstrip ((gchar *)on), 10, 1, 65535, &host_port, NULL));
  banner.port = (guint)host_port;
  g_assert_true (berth_test_iterate_until (banner_read, &banner, WAIT_SECONDS));
  expected_banner = g_strdup_printf ("fake k3s port-forward: service default/web port 80 through "
                                     "127.0.0.1:%u (a fake, no pod behind it)\n",
                                     banner.port);
  g_assert_cmpstr (banner.text, ==, expected_banner);
  g_free (banner.text);

  /* k3s killed in the guest: busybox init runs it again. */
  old_pid = vm_guest_pid (f);
  g_assert_nonnull (old_pid);
  {
    g_autofree gchar *kill_script = g_strdup_printf ("kill -KILL %s", old_pid);
    g_autoptr (Run) killed = guest_sh (f, kill_script);
    Respawn w = { f, old_pid };

    g_assert_cmpint (killed->status, ==, 0);
    g_assert_true (berth_test_iterate_until (vm_respawned, &w, WAIT_SECONDS));
  }
  g_assert_true (berth_test_iterate_until (nodes_answer, f, WAIT_SECONDS));

  /* Disabled: k3s stops for good, the kubeconfig is the user's again. */
  off = berthctl (f, "set", "--wait", "--wait-timeout", "600", "--kubernetes.enabled=false", NULL);
  g_test_message ("berthctl set: %s%s", off->out, off->err);
  g_assert_cmpint (off->status, ==, 0);
  g_assert_nonnull (strstr (off->out, "Kubernetes is disabled\n"));
  after = berth_test_read_file (f->kubeconfig);
  g_assert_cmpstr (after, ==, before);
  gone = guest_sh (f, "grep -c berth-k3s /etc/inittab; pid=$(cat /run/berth-k3s/k3s.pid "
                      "2>/dev/null); [ -z \"$pid\" ] || ! kill -0 \"$pid\" 2>/dev/null");
  g_assert_cmpstr (gone->out, ==, "0\n");
  g_assert_cmpint (gone->status, ==, 0);
  g_assert_cmpstr (take_states (f->vm_states), ==, "");

  shutdown = berthctl (f, "shutdown", NULL);
  g_assert_cmpint (shutdown->status, ==, 0);
}

int
main (int argc, char **argv)
{
  g_autofree gchar *releases = NULL;
  const gchar *fake_k3s = g_getenv ("BERTH_TEST_FAKE_K3S");
  struct utsname uts;
  int status;

  berth_test_watch_leftovers ();
  g_test_init (&argc, &argv, NULL);

#define ADD(path, data, fn) g_test_add (path, Fixture, data, fixture_setup, fn, fixture_teardown)
  if (g_getenv ("BERTH_TEST_VM_PLUGIN_PATH") != NULL)
    {
      wait_seconds = 600;
      ADD ("/k3s/vm", NULL, test_vm);
    }
  else
    {
      ADD ("/k3s/versions/mirror", NULL, test_versions);
      ADD ("/k3s/versions/offline", "status-500", test_versions);
      ADD ("/k3s/engine-stays-up/bad-checksum", "bad-checksum", test_engine_stays_up);
      ADD ("/k3s/engine-stays-up/mirror-500", "status-500", test_engine_stays_up);
      ADD ("/k3s/enable-services-disable", NULL, test_enable_services_disable);
      ADD ("/k3s/severities", NULL, test_severities);
      ADD ("/k3s/reset", NULL, test_reset);
    }
#undef ADD

  if (g_getenv ("BERTHD") == NULL || g_getenv ("BERTHCTL") == NULL || fake_k3s == NULL)
    {
      g_test_message ("berthd, berthctl or the fake k3s is not built");
      return 77;
    }
  if (!berth_k3s_test_mirror_available ())
    return 77;
  releases = berth_test_make_root ("berth-k3s-e2e-releases");
  uname (&uts);
  for (gsize i = 0; i < 2; i++)
    {
      g_autofree gchar *script
          = g_build_filename (g_getenv ("BERTH_K3S_TESTS_DIR"), "make-fake-release.sh", NULL);
      const gchar *make[] = { script,
                              releases,
                              i == 0 ? VERSION_NEW : VERSION_OLD,
                              g_str_equal (uts.machine, "aarch64") ? "arm64" : "amd64",
                              fake_k3s,
                              NULL };
      g_autofree gchar *err = NULL;

      g_assert_cmpint (berth_test_spawn (NULL, make, NULL, G_SPAWN_DEFAULT, NULL, &err), ==, 0);
    }
  mirror = berth_k3s_test_mirror_start (releases);
  status = g_test_run ();
  berth_k3s_test_mirror_free (mirror);
  berth_test_rm_rf (releases);
  return status;
}
