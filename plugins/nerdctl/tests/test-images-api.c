/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The image endpoints and `berthctl images`, end to end: berthd from the
 * build tree on a free port of 127.0.0.1, throwaway XDG directories, the
 * pretend VM (berth-test-imagevm) and berth-moby against the fake docker
 * that answers from docker's recorded outputs. What a client sees over HTTP
 * and the event stream, and what a person sees from berthctl. */
#include "config.h"

#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "berth-test-util.h"

#define WAIT_SECONDS 30

typedef struct
{
  gchar *root;
  gchar *data;
  gchar *fake_dir;
  gchar *stderr_path;
  gchar **envp;
  GSubprocess *berthd;
  gboolean exited;
  guint port;
  gchar *password;
  SoupSession *session;
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

/* ---- helpers ------------------------------------------------------------ */

static gchar *
read_source (const gchar *dir, const gchar *name)
{
  g_autofree gchar *path
      = g_build_filename (g_getenv ("BERTH_PLUGINS_SRCDIR"), dir, "tests", name, NULL);
  g_autoptr (GError) error = NULL;
  gchar *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

static void
write_fake (Fixture *f, const gchar *name, const gchar *text, gint mode)
{
  g_autofree gchar *path = g_build_filename (f->fake_dir, name, NULL);

  berth_test_write_file (path, text, mode);
}

static JsonNode *
parse_json (const gchar *text, gsize len)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;

  json_parser_load_from_data (parser, text, (gssize)len, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
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

static SoupMessage *
new_message (Fixture *f, const gchar *method, const gchar *path)
{
  return new_message_for (f, method, "http", path);
}

static Answer *
call (Fixture *f, const gchar *method, const gchar *path, const gchar *body)
{
  g_autoptr (SoupMessage) msg = new_message (f, method, path);
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
  g_assert_cmpstr (
      soup_message_headers_get_content_type (soup_message_get_response_headers (msg), NULL), ==,
      "application/json");
  a->json = parse_json (data, len);
  return a;
}

/* An error answer's message, checked for status and code. */
static const gchar *
error_message (Answer *a, guint status, const gchar *code)
{
  JsonObject *object;

  g_assert_true (JSON_NODE_HOLDS_OBJECT (a->json));
  object = json_node_get_object (a->json);
  if (a->status != status)
    g_test_message ("answer %u: %s", a->status,
                    json_object_get_string_member_with_default (object, "message", "?"));
  g_assert_cmpuint (a->status, ==, status);
  g_assert_cmpstr (json_object_get_string_member (object, "code"), ==, code);
  return json_object_get_string_member (object, "message");
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

static gchar *
vm_state (Fixture *f)
{
  g_autoptr (Answer) a = call (f, "GET", "/v1/backend_state", NULL);

  return g_strdup (json_object_get_string_member (json_node_get_object (a->json), "vmState"));
}

static gboolean
is_started (gpointer user_data)
{
  g_autofree gchar *state = vm_state (user_data);

  return g_str_equal (state, "STARTED");
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autofree gchar *runtime = NULL;
  g_autofree gchar *docker = NULL;
  g_autofree gchar *docker_path = NULL;
  const gchar *berthd = g_getenv ("BERTHD");

  if (berthd == NULL || !g_file_test (berthd, G_FILE_TEST_IS_EXECUTABLE))
    return;

  f->root = berth_test_make_root ("berth-images-api");
  f->data = g_build_filename (f->root, "share", NULL);
  runtime = g_build_filename (f->root, "run", NULL);
  g_assert_cmpint (g_mkdir (runtime, 0700), ==, 0);
  f->stderr_path = g_build_filename (f->root, "berthd.stderr", NULL);

  f->fake_dir = g_build_filename (f->root, "fake", NULL);
  g_assert_cmpint (g_mkdir (f->fake_dir, 0700), ==, 0);
  docker = read_source ("moby", "fake-docker");
  write_fake (f, "docker", docker, 0755);
  {
    const gchar *fixtures[][2] = {
      { "docker-images.jsonl", "images.jsonl" },
      { "docker-pull.txt", "pull.txt" },
      { "docker-build.txt", "build.txt" },
      { "docker-rmi-missing.txt", "rmi-missing.txt" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS (fixtures); i++)
      {
        g_autofree gchar *text = read_source ("moby", fixtures[i][0]);

        write_fake (f, fixtures[i][1], text, 0644);
      }
  }
  docker_path = g_build_filename (f->fake_dir, "docker", NULL);

  /* berthd and berthctl alike: everything under the throwaway root. */
  f->envp = g_get_environ ();
  f->envp = g_environ_setenv (f->envp, "HOME", f->root, TRUE);
  f->envp = berth_test_environ_under (f->envp, f->root);
  f->envp = g_environ_setenv (f->envp, "XDG_RUNTIME_DIR", runtime, TRUE);
  f->envp = g_environ_setenv (f->envp, "FAKE_DIR", f->fake_dir, TRUE);
  f->envp = g_environ_setenv (f->envp, "BERTH_DOCKER", docker_path, TRUE);
  f->envp = g_environ_setenv (f->envp, "BERTH_IMAGES_REFRESH_MS", "100", TRUE);
  f->envp = g_environ_unsetenv (f->envp, "BERTH_API_PORT");

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, berth_test_die_with_parent, NULL, NULL);
  g_subprocess_launcher_set_environ (launcher, f->envp);
  g_subprocess_launcher_set_stderr_file_path (launcher, f->stderr_path);
  f->berthd = g_subprocess_launcher_spawn (launcher, &error, berthd, "--foreground", "--verbose",
                                           "--port", "0", NULL);
  g_assert_no_error (error);
  g_subprocess_wait_async (f->berthd, NULL, on_berthd_exited, f);
  g_assert_true (berth_test_iterate_until (credentials_ready, f, WAIT_SECONDS));
  if (f->exited)
    berth_test_show_stderr ("berthd", f->stderr_path);
  g_assert_false (f->exited);
  f->session = soup_session_new_with_options ("timeout", WAIT_SECONDS, NULL);
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
            g_subprocess_force_exit (f->berthd);
          while (!f->exited)
            g_main_context_iteration (NULL, TRUE);
        }
      g_clear_object (&f->berthd);
    }
  g_clear_object (&f->session);
  if (f->root != NULL)
    berth_test_rm_rf (f->root);
  g_free (f->root);
  g_free (f->data);
  g_free (f->fake_dir);
  g_free (f->stderr_path);
  g_free (f->password);
  g_strfreev (f->envp);
}

static gboolean
skip_without_berthd (Fixture *f)
{
  if (f->berthd != NULL)
    return FALSE;
  g_test_skip ("berthd is not built ($BERTHD)");
  return TRUE;
}

static void
start_berth (Fixture *f)
{
  g_autoptr (Answer) a = call (f, "PUT", "/v1/backend_state", "{\"vmState\": \"STARTED\"}");

  g_assert_cmpuint (a->status, ==, 202);
  g_assert_true (berth_test_iterate_until (is_started, f, WAIT_SECONDS));
}

/* ---- berthctl ----------------------------------------------------------- */

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

/* Runs `berthctl images @args…` (through the test driver) in @cwd. */
static Run *
berthctl (Fixture *f, const gchar *cwd, ...) G_GNUC_NULL_TERMINATED;

static Run *
berthctl (Fixture *f, const gchar *cwd, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  Run *r = g_new0 (Run, 1);
  const gchar *arg;
  va_list args;

  g_ptr_array_add (argv, (gpointer)g_getenv ("BERTHCTL_IMAGES"));
  g_ptr_array_add (argv, (gpointer) "images");
  va_start (args, cwd);
  for (arg = va_arg (args, const gchar *); arg != NULL; arg = va_arg (args, const gchar *))
    g_ptr_array_add (argv, (gpointer)arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  r->status = berth_test_spawn (cwd, (const gchar *const *)argv->pdata,
                                (const gchar *const *)f->envp, G_SPAWN_DEFAULT, &r->out, &r->err);
  return r;
}

/* ---- tests -------------------------------------------------------------- */

static void
test_not_started (Fixture *f, gconstpointer data)
{
  g_autoptr (Answer) list = NULL;
  g_autoptr (Answer) pull = NULL;
  g_autoptr (Run) r = NULL;

  if (skip_without_berthd (f))
    return;
  list = call (f, "GET", "/v1/images", NULL);
  g_assert_cmpstr (error_message (list, 409, "busy"), ==,
                   "Images live in the running engine, and Berth is STOPPED; start it first "
                   "(berthctl start --wait)");
  pull = call (f, "POST", "/v1/images/pull", "{\"ref\": \"busybox\"}");
  error_message (pull, 409, "busy");

  r = berthctl (f, NULL, "ls", NULL);
  g_assert_cmpint (r->status, ==, 1);
  g_assert_cmpstr (r->err, ==,
                   "berthctl: Images live in the running engine, and Berth is STOPPED; start it "
                   "first (berthctl start --wait)\n");
}

static void
test_routes_listed (Fixture *f, gconstpointer data)
{
  g_autoptr (Answer) a = NULL;
  const gchar *wanted[]
      = { "GET /v1/images",        "GET /v1/images/namespaces", "POST /v1/images/pull",
          "POST /v1/images/build", "POST /v1/images/tag",       "POST /v1/images/remove" };
  JsonArray *routes;

  if (skip_without_berthd (f))
    return;
  a = call (f, "GET", "/v1", NULL);
  routes = json_node_get_array (a->json);
  for (gsize w = 0; w < G_N_ELEMENTS (wanted); w++)
    {
      gboolean found = FALSE;

      for (guint i = 0; i < json_array_get_length (routes); i++)
        found |= g_str_equal (json_array_get_string_element (routes, i), wanted[w]);
      g_test_message ("route %s", wanted[w]);
      g_assert_true (found);
    }
}

static void
test_list (Fixture *f, gconstpointer data)
{
  g_autoptr (Answer) a = NULL;
  g_autoptr (Answer) ns = NULL;
  g_autoptr (Answer) names = NULL;
  JsonArray *images;
  JsonObject *busybox;

  if (skip_without_berthd (f))
    return;
  start_berth (f);
  a = call (f, "GET", "/v1/images", NULL);
  g_assert_cmpuint (a->status, ==, 200);
  images = json_node_get_array (a->json);
  g_assert_cmpuint (json_array_get_length (images), ==, 6);
  busybox = json_array_get_object_element (images, 4);
  g_assert_cmpstr (json_object_get_string_member (busybox, "repository"), ==, "busybox");
  g_assert_cmpstr (json_object_get_string_member (busybox, "tag"), ==, "latest");
  g_assert_cmpint (json_object_get_int_member (busybox, "size"), ==, 4260000);

  /* docker has no namespaces, and says so. */
  ns = call (f, "GET", "/v1/images?namespace=k8s.io", NULL);
  g_assert_nonnull (strstr (error_message (ns, 501, "not-supported"),
                            "The moby engine (docker) has no image namespaces"));
  names = call (f, "GET", "/v1/images/namespaces", NULL);
  g_assert_cmpstr (error_message (names, 501, "not-supported"), ==,
                   "The moby engine (docker) has no image namespaces; they belong to containerd: "
                   "set containerEngine.name to containerd to use them");
}

/* The line docker prints for one image. */
static gchar *
docker_image_line (const gchar *id, const gchar *repository, const gchar *tag)
{
  return g_strdup_printf (
      "{\"CreatedAt\":\"2024-05-31 12:53:20 +0000 UTC\",\"Digest\":\"<none>\",\"ID\":\"%s\","
      "\"Repository\":\"%s\",\"Size\":\"7.8MB\",\"Tag\":\"%s\"}\n",
      id, repository, tag);
}

static guint
count_repository (JsonArray *images, const gchar *repository)
{
  guint n = 0;

  for (guint i = 0; i < json_array_get_length (images); i++)
    n += g_str_equal (
        json_object_get_string_member (json_array_get_object_element (images, i), "repository"),
        repository);
  return n;
}

/* images.showAll false hides Kubernetes' own images and buildkit's from
 * the k8s.io list, as Rancher Desktop does; another namespace shows all. */
static void
test_show_all (Fixture *f, gconstpointer data)
{
  g_autofree gchar *pause = docker_image_line ("6270bb605e12", "rancher/mirrored-pause", "3.6");
  g_autofree gchar *buildkit = docker_image_line ("0e4a6a7a1b2c", "moby/buildkit", "v0.12");
  g_autofree gchar *busybox = docker_image_line ("8135583d97fe", "busybox", "latest");
  g_autofree gchar *lines = g_strconcat (pause, buildkit, busybox, NULL);
  const struct
  {
    const gchar *settings;
    guint n_images;
  } cases[] = {
    { "{\"images\": {\"showAll\": true, \"namespace\": \"k8s.io\"}}", 3 },
    { "{\"images\": {\"showAll\": false}}", 1 },
    { "{\"images\": {\"namespace\": \"default\"}}", 3 },
  };

  if (skip_without_berthd (f))
    return;
  write_fake (f, "images.jsonl", lines, 0644);
  start_berth (f);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (Answer) set = call (f, "PUT", "/v1/settings", cases[i].settings);
      g_autoptr (Answer) list = NULL;
      JsonArray *images;

      g_test_message ("%s", cases[i].settings);
      g_assert_cmpuint (set->status, ==, 202);
      list = call (f, "GET", "/v1/images", NULL);
      g_assert_cmpuint (list->status, ==, 200);
      images = json_node_get_array (list->json);
      g_assert_cmpuint (json_array_get_length (images), ==, cases[i].n_images);
      g_assert_cmpuint (count_repository (images, "busybox"), ==, 1);
      g_assert_cmpuint (count_repository (images, "rancher/mirrored-pause"), ==,
                        cases[i].n_images == 3 ? 1 : 0);
    }
}

static void
test_operations (Fixture *f, gconstpointer data)
{
  g_autoptr (Answer) pull = NULL;
  g_autoptr (Answer) tag = NULL;
  g_autoptr (Answer) build = NULL;
  g_autoptr (Answer) missing = NULL;
  g_autofree gchar *expected = read_source ("moby", "docker-pull.txt");
  g_autofree gchar *context = NULL;
  g_autofree gchar *body = NULL;
  JsonObject *object;

  if (skip_without_berthd (f))
    return;
  start_berth (f);

  /* The answer comes when docker is done, with what it printed. */
  pull = call (f, "POST", "/v1/images/pull",
               "{\"ref\": \"registry.example.test/library/busybox:latest\"}");
  g_assert_cmpuint (pull->status, ==, 200);
  object = json_node_get_object (pull->json);
  g_assert_cmpstr (json_object_get_string_member (object, "message"), ==,
                   "Done: pull registry.example.test/library/busybox:latest");
  g_assert_cmpstr (json_object_get_string_member (object, "output"), ==, expected);

  tag = call (f, "POST", "/v1/images/tag",
              "{\"source\": \"busybox:latest\", \"target\": \"busybox:mine\"}");
  g_assert_cmpuint (tag->status, ==, 200);

  context = g_build_filename (f->root, "context", NULL);
  g_assert_cmpint (g_mkdir (context, 0700), ==, 0);
  body = g_strdup_printf ("{\"context\": \"%s\", \"tag\": \"berth-built:latest\"}", context);
  build = call (f, "POST", "/v1/images/build", body);
  g_assert_cmpuint (build->status, ==, 200);
  g_assert_true (g_str_has_suffix (
      json_object_get_string_member (json_node_get_object (build->json), "output"),
      "Successfully tagged berth-built:latest\n"));

  missing = call (f, "POST", "/v1/images/remove", "{\"ref\": \"missing:latest\"}");
  g_assert_true (g_str_has_suffix (error_message (missing, 404, "not-found"),
                                   "Error response from daemon: No such image: missing:latest"));
}

static void
test_bad_requests (Fixture *f, gconstpointer data)
{
  const struct
  {
    const gchar *path;
    const gchar *body;
    const gchar *message;
  } cases[] = {
    { "/v1/images/pull", "{}", "images/pull needs \"ref\", a non-empty string" },
    { "/v1/images/pull", "{\"ref\": 5}", "images/pull \"ref\" is a number; it must be a string" },
    { "/v1/images/pull", "{\"ref\": \"busybox\", \"force\": true}",
      "images/pull does not take \"force\"; it takes: ref, namespace" },
    { "/v1/images/tag", "{\"source\": \"busybox\"}",
      "images/tag needs \"target\", a non-empty string" },
    { "/v1/images/build", "{\"tag\": \"x\"}",
      "images/build needs \"context\", a non-empty string" },
    { "/v1/images/build", "{\"context\": \"relative\"}",
      "The build context \"relative\" is not an absolute path; give the directory's full path "
      "(berthctl images build does this for you)" },
    { "/v1/images/remove", "{\"ref\": \"-f\"}",
      "The image to remove \"-f\" starts with '-'; an image reference starts with a letter or a "
      "digit" },
  };

  if (skip_without_berthd (f))
    return;
  start_berth (f);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (Answer) a = call (f, "POST", cases[i].path, cases[i].body);

      g_test_message ("%s %s", cases[i].path, cases[i].body);
      g_assert_cmpstr (error_message (a, 400, "invalid-data"), ==, cases[i].message);
    }
  {
    g_autoptr (Answer) a = call (f, "GET", "/v1/images/pull", NULL);

    error_message (a, 405, "not-supported");
  }
}

/* ---- the event stream --------------------------------------------------- */

typedef struct
{
  SoupWebsocketConnection *conn;
  GError *error;
  gboolean connect_done;
  guint n_images_changed;
} Events;

static void
on_ws_message (SoupWebsocketConnection *conn, gint type, GBytes *message, Events *ev)
{
  gsize len = 0;
  const gchar *data = g_bytes_get_data (message, &len);
  g_autoptr (JsonNode) event = parse_json (data, len);
  JsonObject *object = json_node_get_object (event);

  if (g_strcmp0 (json_object_get_string_member (object, "type"), "plugin") == 0
      && g_strcmp0 (json_object_get_string_member (object, "plugin"), "moby") == 0
      && g_strcmp0 (json_object_get_string_member (object, "signal"), "images-changed") == 0)
    ev->n_images_changed++;
}

static void
on_ws_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Events *ev = user_data;

  ev->conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &ev->error);
  if (ev->conn != NULL)
    g_signal_connect (ev->conn, "message", G_CALLBACK (on_ws_message), ev);
  ev->connect_done = TRUE;
}

static gboolean
connect_done (gpointer user_data)
{
  return ((Events *)user_data)->connect_done;
}

static gboolean
changed_once (gpointer user_data)
{
  return ((Events *)user_data)->n_images_changed >= 1;
}

static guint
count_list_commands (Fixture *f)
{
  return berth_test_count_commands_ending (f->fake_dir, "|images|--digests|--format|{{json .}}");
}

/* A client on the event stream is someone watching: the list is refreshed
 * while it is connected, and a change reaches it as an event. */
static void
test_events (Fixture *f, gconstpointer data)
{
  g_autoptr (SoupMessage) msg = NULL;
  g_autofree gchar *changed = NULL;
  Events ev = { 0 };

  if (skip_without_berthd (f))
    return;
  start_berth (f);
  berth_test_pause_ms (400);
  g_assert_cmpuint (count_list_commands (f), ==, 0);

  msg = new_message_for (f, "GET", "ws", "/v1/events");
  soup_session_websocket_connect_async (f->session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        on_ws_connected, &ev);
  g_assert_true (berth_test_iterate_until (connect_done, &ev, WAIT_SECONDS));
  g_assert_no_error (ev.error);
  {
    /* The refresh runs while someone watches: lists keep coming. */
    guint lists = 0;

    for (guint i = 0; i < WAIT_SECONDS * 10 && lists < 2; i++)
      {
        lists += count_list_commands (f);
        if (lists < 2)
          berth_test_pause_ms (100);
      }
    g_assert_cmpuint (lists, >=, 2);
  }
  g_assert_cmpuint (ev.n_images_changed, ==, 0);

  changed = read_source ("moby", "docker-images-changed.jsonl");
  write_fake (f, "images.jsonl", changed, 0644);
  g_assert_true (berth_test_iterate_until (changed_once, &ev, WAIT_SECONDS));
  berth_test_pause_ms (400);
  g_assert_cmpuint (ev.n_images_changed, ==, 1);

  /* The client goes: nobody watches, the refresh stops. */
  soup_websocket_connection_close (ev.conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  {
    /* berthd sees the close when it sees it (later on a loaded machine);
     * from then on, a window of 700 ms holds at most the one list already
     * on its way, where a running refresh makes six or seven. */
    gboolean stopped = FALSE;

    count_list_commands (f);
    for (guint i = 0; i < 30 && !stopped; i++)
      {
        berth_test_pause_ms (700);
        stopped = count_list_commands (f) <= 1;
      }
    g_assert_true (stopped);
  }
  g_clear_object (&ev.conn);
}

/* ---- berthctl images ---------------------------------------------------- */

static void
test_berthctl (Fixture *f, gconstpointer data)
{
  g_autoptr (Run) ls = NULL;
  g_autoptr (Run) json = NULL;
  g_autoptr (Run) pull = NULL;
  g_autoptr (Run) rm = NULL;
  g_autoptr (Run) ns = NULL;
  g_autoptr (Run) build = NULL;
  g_autoptr (Run) bogus = NULL;
  g_autoptr (Run) missing_arg = NULL;
  g_autoptr (Run) bad_output = NULL;
  g_autoptr (Run) help = NULL;
  g_autoptr (JsonNode) parsed = NULL;
  g_autofree gchar *expected_pull = read_source ("moby", "docker-pull.txt");
  g_autofree gchar *context = NULL;
  g_autofree gchar *log_path = NULL;
  g_autofree gchar *log = NULL;
  g_autofree gchar *expected_build = NULL;

  if (skip_without_berthd (f))
    return;
  start_berth (f);

  /* A table like docker images'. */
  ls = berthctl (f, NULL, NULL);
  g_assert_cmpint (ls->status, ==, 0);
  g_assert_cmpstr (ls->out, ==,
                   "REPOSITORY                           TAG      IMAGE ID       SIZE\n"
                   "<none>                               <none>   0f5b3c7e8d2a   13.3kB\n"
                   "alpine                               3.20     1d34ffeaf190   7.8MB\n"
                   "registry.example.test/big/ml-model   2024.1   3f57d9401f8d   2.35GB\n"
                   "busybox                              1.36     8135583d97fe   4.26MB\n"
                   "busybox                              latest   8135583d97fe   4.26MB\n"
                   "localhost:5000/berth/test-app        v1.2.3   a416a98b71e2   188MB\n");

  json = berthctl (f, NULL, "ls", "-o", "json", NULL);
  g_assert_cmpint (json->status, ==, 0);
  parsed = parse_json (json->out, strlen (json->out));
  g_assert_cmpuint (json_array_get_length (json_node_get_array (parsed)), ==, 6);

  /* pull waits and prints what docker printed. */
  pull = berthctl (f, NULL, "pull", "registry.example.test/library/busybox:latest", NULL);
  g_assert_cmpint (pull->status, ==, 0);
  g_assert_cmpstr (pull->out, ==, expected_pull);

  /* rm goes on past an image it cannot remove, and fails at the end. */
  rm = berthctl (f, NULL, "rm", "missing:latest", "busybox:old", NULL);
  g_assert_cmpint (rm->status, ==, 1);
  g_assert_cmpstr (rm->out, ==, "Untagged: busybox:old\n");
  g_assert_true (g_str_has_suffix (rm->err, "Error response from daemon: No such image: "
                                            "missing:latest\n"));

  ns = berthctl (f, NULL, "namespaces", NULL);
  g_assert_cmpint (ns->status, ==, 1);
  g_assert_cmpstr (ns->err, ==,
                   "berthctl: The moby engine (docker) has no image namespaces; they belong to "
                   "containerd: set containerEngine.name to containerd to use them\n");

  /* A relative DIR is berthctl's working directory's, not berthd's. */
  context = g_build_filename (f->root, "app", NULL);
  g_assert_cmpint (g_mkdir (context, 0700), ==, 0);
  build = berthctl (f, f->root, "build", "--tag", "berth-built:latest", "app", NULL);
  g_assert_cmpint (build->status, ==, 0);
  g_assert_true (g_str_has_suffix (build->out, "Successfully tagged berth-built:latest\n"));
  log_path = g_build_filename (f->fake_dir, "argv.log", NULL);
  g_assert_true (g_file_get_contents (log_path, &log, NULL, NULL));
  expected_build = g_strdup_printf ("|build|--tag|berth-built:latest|%s\n", context);
  g_assert_nonnull (strstr (log, expected_build));

  /* Usage errors are exit status 2. */
  bogus = berthctl (f, NULL, "frobnicate", NULL);
  g_assert_cmpint (bogus->status, ==, 2);
  g_assert_true (
      g_str_has_prefix (bogus->err, "berthctl: images has no subcommand \"frobnicate\"\n"));
  missing_arg = berthctl (f, NULL, "tag", "busybox", NULL);
  g_assert_cmpint (missing_arg->status, ==, 2);
  g_assert_cmpstr (missing_arg->err, ==,
                   "berthctl: images tag needs the image and its new name: SOURCE TARGET; see "
                   "berthctl images tag --help\n");
  bad_output = berthctl (f, NULL, "ls", "-o", "yaml", NULL);
  g_assert_cmpint (bad_output->status, ==, 2);
  g_assert_cmpstr (bad_output->err, ==,
                   "berthctl: --output \"yaml\" is not a format; use json or text\n");
  help = berthctl (f, NULL, "--help", NULL);
  g_assert_cmpint (help->status, ==, 0);
  g_assert_true (g_str_has_prefix (help->out, "Usage: berthctl images [SUBCOMMAND] [OPTION…]"));
}

int
main (int argc, char **argv)
{
  berth_test_watch_leftovers ();
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/images-api/not-started", test_not_started);
  ADD ("/images-api/routes-listed", test_routes_listed);
  ADD ("/images-api/list", test_list);
  ADD ("/images-api/show-all", test_show_all);
  ADD ("/images-api/operations", test_operations);
  ADD ("/images-api/bad-requests", test_bad_requests);
  ADD ("/images-api/events", test_events);
  ADD ("/images-api/berthctl", test_berthctl);
#undef ADD
  return g_test_run ();
}
