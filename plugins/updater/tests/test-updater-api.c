/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Berth's updates end to end: berthd from this build with the updater
 * module, asked through berthctl and watched on /v1/events, against the
 * fake responder and releases API (fake-update-server.py) over HTTPS with a
 * test CA, installing into a scratch release root. */

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "berth-test-util.h"
#include "updater-fixture.h"

#define WAIT_SECONDS 60
#define NEWER "9.9.9"
#define FAKE_BERTHD "#!/bin/sh\necho 'the berthd of a fake Berth release'\n"

typedef struct
{
  gchar *root;
  gchar *release_root;
  gchar **envp;
  gchar *credentials;
  gchar *stderr_path;
  GSubprocess *berthd;
  UpdaterFixture *server;
  SoupSession *session;
  SoupWebsocketConnection *events_conn;
  GPtrArray *events; /* JsonNode, update-state events */
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autofree gchar *bin = NULL;
  g_autofree gchar *berthd = NULL;
  g_autofree gchar *current = NULL;
  g_autofree gchar *responder = NULL;
  g_autofree gchar *runtime = NULL;

  f->root = berth_test_make_root ("berth-updater-api");
  f->server = updater_fixture_new ("{\"responder\": \"ok\", \"versions\": [{\"Name\": \"" NEWER
                                   "\"}], \"interval\": 240, "
                                   "\"latest\": \"" NEWER "\", \"releases\": [\"" NEWER "\"]}");
  updater_fixture_add_release (f->server, NEWER, FAKE_BERTHD, NULL);

  /* The release berthd is taken to run from: 0.1.0, current. */
  f->release_root = g_build_filename (f->root, "berth", NULL);
  bin = g_build_filename (f->release_root, "versions", "0.1.0", "bin", NULL);
  g_assert_cmpint (g_mkdir_with_parents (bin, 0755), ==, 0);
  berthd = g_build_filename (bin, "berthd", NULL);
  berth_test_write_file (berthd, "#!/bin/sh\necho 'a fake installed release'\n", 0755);
  current = g_build_filename (f->release_root, "current", NULL);
  g_assert_cmpint (symlink ("versions/0.1.0", current), ==, 0);

  runtime = g_build_filename (f->root, "run", NULL);
  g_assert_cmpint (g_mkdir (runtime, 0700), ==, 0);
  responder = g_strconcat (f->server->base_url, "/v1/checkupgrade", NULL);
  f->envp = berth_test_environ_under (g_get_environ (), f->root);
  f->envp = g_environ_setenv (f->envp, "HOME", f->root, TRUE);
  f->envp = g_environ_setenv (f->envp, "XDG_RUNTIME_DIR", runtime, TRUE);
  f->envp = g_environ_unsetenv (f->envp, "BERTH_API_PORT");
  f->envp = g_environ_setenv (f->envp, "BERTH_UPDATE_RESPONDER_URL", responder, TRUE);
  f->envp = g_environ_setenv (f->envp, "BERTH_UPDATE_RELEASES_URL", f->server->base_url, TRUE);
  f->envp = g_environ_setenv (f->envp, "BERTH_UPDATE_CA_FILE", f->server->ca_file, TRUE);
  f->envp = g_environ_setenv (f->envp, "BERTH_UPDATE_INSTALL_ROOT", f->release_root, TRUE);
  f->envp = g_environ_setenv (f->envp, "BERTH_UPDATE_TIMEOUT", "10", TRUE);
  f->credentials = g_build_filename (f->root, "share", "berth", "berth-engine.json", NULL);
  f->stderr_path = g_build_filename (f->root, "berthd.stderr", NULL);
  f->session = soup_session_new_with_options ("timeout", WAIT_SECONDS, NULL);
  f->events = g_ptr_array_new_with_free_func ((GDestroyNotify)json_node_unref);
}

static gboolean
has_exited (gpointer user_data)
{
  return g_subprocess_get_identifier (G_SUBPROCESS (user_data)) == NULL;
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  if (f->events_conn != NULL
      && soup_websocket_connection_get_state (f->events_conn) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (f->events_conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_clear_object (&f->events_conn);
  if (f->berthd != NULL)
    {
      if (g_test_failed ())
        berth_test_show_stderr ("berthd", f->stderr_path);
      g_subprocess_send_signal (f->berthd, SIGTERM);
      if (!berth_test_iterate_until (has_exited, f->berthd, WAIT_SECONDS))
        g_subprocess_force_exit (f->berthd);
      g_subprocess_wait (f->berthd, NULL, NULL);
      g_clear_object (&f->berthd);
    }
  g_clear_object (&f->session);
  g_clear_pointer (&f->server, updater_fixture_free);
  g_ptr_array_unref (f->events);
  berth_test_rm_rf (f->root);
  g_free (f->root);
  g_free (f->release_root);
  g_strfreev (f->envp);
  g_free (f->credentials);
  g_free (f->stderr_path);
}

/* How many times berthd said it started, in its log on stderr. */
static guint
count_starts (Fixture *f)
{
  g_autofree gchar *text = NULL;
  guint n = 0;

  if (!g_file_get_contents (f->stderr_path, &text, NULL, NULL))
    return 0;
  for (const gchar *p = text; (p = strstr (p, " starting (pid ")) != NULL; p++)
    n++;
  return n;
}

typedef struct
{
  Fixture *f;
  guint starts;
  guint port;
  gchar *password;
} StartWait;

static gboolean
berthd_ready (gpointer user_data)
{
  StartWait *w = user_data;

  if (has_exited (w->f->berthd))
    return TRUE;
  return count_starts (w->f) >= w->starts
         && berth_test_read_credentials (w->f->credentials, 0, &w->port, &w->password);
}

/* Waits until berthd has started @starts times and answers. */
static void
wait_berthd (Fixture *f, guint starts, guint *port, gchar **password)
{
  StartWait w = { f, starts, 0, NULL };

  g_assert_true (berth_test_iterate_until (berthd_ready, &w, WAIT_SECONDS));
  if (has_exited (f->berthd))
    berth_test_show_stderr ("berthd", f->stderr_path);
  g_assert_false (has_exited (f->berthd));
  *port = w.port;
  *password = w.password;
}

static void
start_berthd (Fixture *f, const gchar *plugin_path)
{
  g_autoptr (GSubprocessLauncher) launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *password = NULL;
  guint port;

  g_subprocess_launcher_set_environ (launcher, f->envp);
  g_subprocess_launcher_setenv (launcher, "BERTH_PLUGIN_PATH", plugin_path, TRUE);
  g_subprocess_launcher_set_child_setup (launcher, berth_test_die_with_parent, NULL, NULL);
  g_subprocess_launcher_set_stderr_file_path (launcher, f->stderr_path);
  f->berthd = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("BERTHD"), "--foreground",
                                           "--verbose", "--port", "0", NULL);
  g_assert_no_error (error);
  wait_berthd (f, 1, &port, &password);
}

/* Runs berthctl with @args; returns its exit status, and what it printed. */
static gint
berthctl (Fixture *f, gchar **out, gchar **err, const gchar *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  va_list args;

  g_ptr_array_add (argv, (gpointer)g_getenv ("BERTHCTL"));
  va_start (args, first);
  for (const gchar *arg = first; arg != NULL; arg = va_arg (args, const gchar *))
    g_ptr_array_add (argv, (gpointer)arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  return berth_test_spawn (NULL, (const gchar *const *)argv->pdata, (const gchar *const *)f->envp,
                           G_SPAWN_DEFAULT, out, err);
}

static JsonObject *
parse_object (const gchar *text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node
      = berth_json_parse (text, strlen (text), 32, "berthctl's answer", &error);

  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}

/* ---- the event stream ------------------------------------------------------ */

static void
on_event (SoupWebsocketConnection *conn, gint type, GBytes *message, Fixture *f)
{
  gsize length;
  const gchar *data = g_bytes_get_data (message, &length);
  g_autoptr (JsonNode) node = berth_json_parse (data, length, 32, "an event", NULL);

  g_assert_nonnull (node);
  if (g_strcmp0 (
          json_object_get_string_member_with_default (json_node_get_object (node), "type", NULL),
          "update-state")
      == 0)
    g_ptr_array_add (f->events, g_steal_pointer (&node));
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **slot = user_data;

  *slot = g_object_ref (result);
}

static void
open_events (Fixture *f)
{
  g_autofree gchar *password = NULL;
  g_autofree gchar *uri = NULL;
  g_autofree gchar *auth = NULL;
  g_autofree gchar *encoded = NULL;
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  guint port = 0;

  g_assert_true (berth_test_read_credentials (f->credentials, 0, &port, &password));
  uri = g_strdup_printf ("ws://127.0.0.1:%u/v1/events", port);
  auth = g_strdup_printf ("user:%s", password);
  encoded = g_base64_encode ((const guchar *)auth, strlen (auth));
  msg = soup_message_new ("GET", uri);
  {
    g_autofree gchar *header = g_strconcat ("Basic ", encoded, NULL);

    soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", header);
  }
  soup_session_websocket_connect_async (f->session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        on_connected, &result);
  berth_test_wait_result (&result, WAIT_SECONDS);
  f->events_conn = soup_session_websocket_connect_finish (f->session, result, &error);
  g_assert_no_error (error);
  g_signal_connect (f->events_conn, "message", G_CALLBACK (on_event), f);
}

typedef struct
{
  Fixture *f;
  const gchar *state;
} EventWait;

static gboolean
has_event (gpointer user_data)
{
  EventWait *w = user_data;

  for (guint i = 0; i < w->f->events->len; i++)
    {
      JsonObject *event = json_node_get_object (g_ptr_array_index (w->f->events, i));

      if (g_strcmp0 (json_object_get_string_member_with_default (event, "state", NULL), w->state)
          == 0)
        return TRUE;
    }
  return FALSE;
}

static void
wait_event (Fixture *f, const gchar *state)
{
  EventWait w = { f, state };

  g_assert_true (berth_test_iterate_until (has_event, &w, WAIT_SECONDS));
}

/* ---- tests ----------------------------------------------------------------- */

static void
test_check_and_apply (Fixture *f, gconstpointer data)
{
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;
  g_autofree gchar *current = NULL;
  g_autofree gchar *link = g_build_filename (f->release_root, "current", NULL);
  g_autofree gchar *installed = NULL;
  g_autofree gchar *berthd_path
      = g_build_filename (f->release_root, "current", "bin", "berthd", NULL);
  g_autofree gchar *password = NULL;
  g_autoptr (JsonObject) status = NULL;
  JsonObject *latest;
  guint port;

  start_berthd (f, g_getenv ("BERTH_UPDATER_PLUGIN_DIR"));
  open_events (f);

  /* Off by default here (Linux, not run from a release); asking works. */
  g_assert_cmpint (berthctl (f, &out, &err, "update", "-o", "json", NULL), ==, 0);
  status = parse_object (out);
  g_assert_true (json_object_get_boolean_member (status, "supported"));
  g_assert_false (json_object_get_boolean_member (status, "enabled"));
  g_assert_cmpstr (json_object_get_string_member (status, "updater"), ==, "updater");
  g_assert_cmpstr (json_object_get_string_member (status, "state"), ==, "idle");
  g_clear_pointer (&status, json_object_unref);
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (berthctl (f, &out, &err, "update", "check", "-o", "json", NULL), ==, 0);
  status = parse_object (out);
  g_assert_cmpstr (json_object_get_string_member (status, "state"), ==, "available");
  latest = json_object_get_object_member (status, "latest");
  g_assert_cmpstr (json_object_get_string_member (latest, "version"), ==, NEWER);
  g_assert_true (json_object_get_boolean_member (latest, "updateAvailable"));
  g_assert_nonnull (json_object_get_string_member (status, "lastCheck"));
  wait_event (f, "checking");
  wait_event (f, "available");
  g_clear_pointer (&out, g_free);

  /* Turned on, berthd checks at once and downloads what is newer. */
  g_assert_cmpint (berthctl (f, &out, &err, "set", "--application.updater.enabled", NULL), ==, 0);
  wait_event (f, "downloaded");
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (berthctl (f, &out, &err, "update", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "Updates:      automatic"));
  g_assert_nonnull (strstr (out, "Next check:"));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (berthctl (f, &out, &err, "update", "apply", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "berthd is restarting"));
  current = g_file_read_link (link, NULL);
  g_assert_cmpstr (current, ==, "versions/" NEWER);
  installed = berth_test_read_file (berthd_path);
  g_assert_cmpstr (installed, ==, FAKE_BERTHD);

  /* berthd stops and runs again (here the same build: the release it
   * installed is a fake), with its settings. */
  wait_berthd (f, 2, &port, &password);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (berthctl (f, &out, &err, "update", "-o", "json", NULL), ==, 0);
  g_clear_pointer (&status, json_object_unref);
  status = parse_object (out);
  g_assert_true (json_object_get_boolean_member (status, "enabled"));
}

static void
test_no_updater (Fixture *f, gconstpointer data)
{
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;
  g_autofree gchar *empty = g_build_filename (f->root, "no-plugins", NULL);
  g_autofree gchar *settings = NULL;
  g_autofree gchar *settings_path
      = g_build_filename (f->root, "config", "berth", "settings.json", NULL);

  g_assert_cmpint (g_mkdir (empty, 0700), ==, 0);
  start_berthd (f, empty);

  g_assert_cmpint (berthctl (f, &out, &err, "update", "check", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "no Updater plugin is loaded"));
  g_clear_pointer (&err, g_free);
  g_clear_pointer (&out, g_free);

  /* Not kept and ignored: refused, saying why. */
  g_assert_cmpint (berthctl (f, &out, &err, "set", "--application.updater.enabled", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "application.updater.enabled: true is not supported here"));
  settings = berth_test_read_file (settings_path);
  {
    g_autoptr (JsonObject) root = parse_object (settings);
    JsonObject *updater = json_object_get_object_member (
        json_object_get_object_member (root, "application"), "updater");

    g_assert_false (json_object_get_boolean_member (updater, "enabled"));
  }
  g_clear_pointer (&err, g_free);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (berthctl (f, &out, &err, "set", "--application.updater.enabled=false", NULL), ==,
                   0);
}

int
main (int argc, char **argv)
{
  berth_test_watch_leftovers ();
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/updater-api/check-and-apply", Fixture, NULL, fixture_setup, test_check_and_apply,
              fixture_teardown);
  g_test_add ("/updater-api/no-updater", Fixture, NULL, fixture_setup, test_no_updater,
              fixture_teardown);
  return g_test_run ();
}
