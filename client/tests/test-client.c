/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libberth-client end to end: BerthClient against the real berthd of the
 * build tree, on a free port of 127.0.0.1, in throwaway XDG directories,
 * with the test backend plugin (tests/plugins/berth-test-good.c) from
 * BERTH_PLUGIN_PATH: the calls and their errors, the typed signals for
 * berthd's events, reconnecting after berthd is killed, and launching
 * berthd. The event shapes berthd does not send yet come from a fake
 * berthd in this process, which says it is a fake. */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <berth-client.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "berth-test-util.h"

#define WAIT_SECONDS 30

typedef struct
{
  BerthClientState state;
  gchar *reason;
  gint64 serial;
} StateEvent;

static void
state_event_free (StateEvent *event)
{
  g_free (event->reason);
  g_free (event);
}

typedef struct
{
  gchar *root;
  gchar *data;
  gchar *credentials_path;
  gchar *stderr_path;
  gchar *forwards_path;
  GSubprocess *berthd;
  gboolean exited;
  gint64 pid;
  guint port;
  gchar *password;
  gint64 launched_pid; /* a berthd the client launched, for the teardown */

  BerthClient *client;
  GPtrArray *states;        /* StateEvent */
  GPtrArray *progress;      /* gchar *, descriptions */
  GPtrArray *settings_keys; /* gchar *, every key of every settings-changed */
  GPtrArray *forwards;      /* JsonNode, or NULL: each port-forwards-changed */
  GPtrArray *typed;         /* gchar *, "signal arg…", for the fake's events */
  guint connection_changes;
} Fixture;

/* ---- berthd ------------------------------------------------------------ */

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

  return f->exited
         || berth_test_read_credentials (f->credentials_path, f->pid, &f->port, &f->password);
}

/* Starts berthd on any free port and waits until its credentials file
 * names it. */
static void
daemon_start (Fixture *f)
{
  g_autoptr (GSubprocessLauncher) launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr (GError) error = NULL;
  const gchar *berthd = g_getenv ("BERTHD");

  g_assert_nonnull (berthd);
  g_subprocess_launcher_set_child_setup (launcher, berth_test_die_with_parent, NULL, NULL);
  g_subprocess_launcher_set_stderr_file_path (launcher, f->stderr_path);
  g_clear_object (&f->berthd);
  f->exited = FALSE;
  f->berthd = g_subprocess_launcher_spawn (launcher, &error, berthd, "--foreground", "--verbose",
                                           "--port", "0", NULL);
  g_assert_no_error (error);
  f->pid = g_ascii_strtoll (g_subprocess_get_identifier (f->berthd), NULL, 10);
  g_subprocess_wait_async (f->berthd, NULL, on_berthd_exited, f);
  g_assert_true (berth_test_iterate_until (credentials_ready, f, WAIT_SECONDS));
  if (f->exited)
    berth_test_show_stderr ("berthd", f->stderr_path);
  g_assert_false (f->exited);
}

static gboolean
berthd_exited (gpointer user_data)
{
  return ((Fixture *)user_data)->exited;
}

static void
daemon_kill (Fixture *f)
{
  g_subprocess_send_signal (f->berthd, SIGKILL);
  g_assert_true (berth_test_iterate_until (berthd_exited, f, WAIT_SECONDS));
}

/* ---- the client and what it emits ----------------------------------------- */

static void
on_state_changed (BerthClient *client, BerthClientState state, const gchar *reason, gint64 serial,
                  gboolean restarting, Fixture *f)
{
  StateEvent *event = g_new0 (StateEvent, 1);

  event->state = state;
  event->reason = g_strdup (reason);
  event->serial = serial;
  g_ptr_array_add (f->states, event);
}

static void
on_progress (BerthClient *client, const gchar *description, guint64 current, guint64 max,
             Fixture *f)
{
  g_ptr_array_add (f->progress, g_strdup_printf ("%s %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT,
                                                 description, current, max));
}

static void
on_settings_changed (BerthClient *client, const gchar *const *keys, Fixture *f)
{
  for (gsize i = 0; keys[i] != NULL; i++)
    g_ptr_array_add (f->settings_keys, g_strdup (keys[i]));
}

static void
on_port_forwards_changed (BerthClient *client, JsonNode *forwards, Fixture *f)
{
  g_ptr_array_add (f->forwards, forwards != NULL ? json_node_copy (forwards) : NULL);
}

static void
on_connection_changed (BerthClient *client, gboolean connected, Fixture *f)
{
  g_assert_cmpint (connected, ==, berth_client_get_connected (client));
  f->connection_changes++;
}

static BerthClient *
new_client (Fixture *f)
{
  BerthClient *client = berth_client_new ();

  berth_client_set_credentials_path (client, f->credentials_path);
  return client;
}

static void
watch_client (Fixture *f, BerthClient *client)
{
  g_set_object (&f->client, client);
  g_signal_connect (client, "state-changed", G_CALLBACK (on_state_changed), f);
  g_signal_connect (client, "progress", G_CALLBACK (on_progress), f);
  g_signal_connect (client, "settings-changed", G_CALLBACK (on_settings_changed), f);
  g_signal_connect (client, "port-forwards-changed", G_CALLBACK (on_port_forwards_changed), f);
  g_signal_connect (client, "connection-changed", G_CALLBACK (on_connection_changed), f);
}

static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  GAsyncResult *result = berth_test_wait_result (slot, WAIT_SECONDS);

  g_assert_nonnull (result);
  return result;
}

/* Connects @client with @flags; the error, or NULL. */
static GError *
client_connect (BerthClient *client, BerthClientConnectFlags flags)
{
  g_autoptr (GAsyncResult) result = NULL;
  GError *error = NULL;

  berth_client_connect_async (client, flags, NULL, berth_test_store_result, &result);
  berth_client_connect_finish (client, wait_result (&result), &error);
  return error;
}

static JsonNode *
client_get_settings (BerthClient *client, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  berth_client_get_settings_async (client, NULL, berth_test_store_result, &result);
  return berth_client_get_settings_finish (client, wait_result (&result), error);
}

static JsonNode *
client_call (BerthClient *client, const gchar *method, const gchar *path, const gchar *body,
             GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (JsonNode) node = body != NULL ? json_from_string (body, NULL) : NULL;

  berth_client_call_async (client, method, path, node, NULL, berth_test_store_result, &result);
  return berth_client_call_finish (client, wait_result (&result), error);
}

typedef struct
{
  Fixture *f;
  BerthClientState state;
  gint64 since;
  guint found; /* index + 1 */
} StateWait;

static gboolean
state_seen (gpointer user_data)
{
  StateWait *w = user_data;

  for (guint i = 0; i < w->f->states->len; i++)
    {
      StateEvent *event = g_ptr_array_index (w->f->states, i);

      if (event->state == w->state && event->serial >= w->since)
        {
          w->found = i + 1;
          return TRUE;
        }
    }
  return FALSE;
}

/* Waits for a state-changed to @state with a serial of at least @since;
 * returns its index. */
static guint
wait_state (Fixture *f, BerthClientState state, gint64 since)
{
  StateWait w = { f, state, since, 0 };

  if (!berth_test_iterate_until (state_seen, &w, WAIT_SECONDS))
    for (guint i = 0; i < f->states->len; i++)
      {
        StateEvent *event = g_ptr_array_index (f->states, i);

        g_test_message ("state-changed %u: %s (%s) serial %" G_GINT64_FORMAT, i,
                        berth_client_state_to_string (event->state), event->reason, event->serial);
      }
  g_assert_cmpuint (w.found, >, 0);
  return w.found - 1;
}

static gboolean
is_connected (gpointer user_data)
{
  return berth_client_get_connected (user_data);
}

static gboolean
is_disconnected (gpointer user_data)
{
  return !berth_client_get_connected (user_data);
}

/* ---- fixture ------------------------------------------------------------- */

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autofree gchar *runtime = NULL;

  f->root = berth_test_make_root ("berth-client");
  f->data = g_build_filename (f->root, "share", NULL);
  f->credentials_path = g_build_filename (f->data, "berth", "berth-engine.json", NULL);
  f->stderr_path = g_build_filename (f->root, "berthd.stderr", NULL);
  f->forwards_path = g_build_filename (f->root, "forwards", NULL);
  runtime = g_build_filename (f->root, "run", NULL);
  g_assert_cmpint (g_mkdir (runtime, 0700), ==, 0);

  /* Every berthd of this test, the ones the client launches included,
   * writes under the throwaway root. */
  g_setenv ("HOME", f->root, TRUE);
  g_setenv ("XDG_DATA_HOME", f->data, TRUE);
  g_setenv ("XDG_RUNTIME_DIR", runtime, TRUE);
  {
    g_autofree gchar *config = g_build_filename (f->root, "config", NULL);
    g_autofree gchar *cache = g_build_filename (f->root, "cache", NULL);
    g_autofree gchar *state = g_build_filename (f->root, "state", NULL);

    g_setenv ("XDG_CONFIG_HOME", config, TRUE);
    g_setenv ("XDG_CACHE_HOME", cache, TRUE);
    g_setenv ("XDG_STATE_HOME", state, TRUE);
  }
  g_setenv ("BERTH_TEST_GOOD_FORWARDS", f->forwards_path, TRUE);
  g_unsetenv ("BERTH_API_PORT");

  f->states = g_ptr_array_new_with_free_func ((GDestroyNotify)state_event_free);
  f->progress = g_ptr_array_new_with_free_func (g_free);
  f->settings_keys = g_ptr_array_new_with_free_func (g_free);
  f->forwards = g_ptr_array_new_with_free_func ((GDestroyNotify)json_node_unref);
  f->typed = g_ptr_array_new_with_free_func (g_free);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  if (f->client != NULL)
    {
      berth_client_disconnect (f->client);
      g_signal_handlers_disconnect_by_data (f->client, f);
      g_clear_object (&f->client);
    }
  /* A berthd the client launched is in a session of its own. */
  if (f->launched_pid > 0)
    kill ((pid_t)f->launched_pid, SIGKILL);
  if (f->berthd != NULL)
    {
      if (g_test_failed ())
        berth_test_show_stderr ("berthd", f->stderr_path);
      if (!f->exited)
        {
          g_subprocess_send_signal (f->berthd, SIGTERM);
          if (!berth_test_iterate_until (berthd_exited, f, WAIT_SECONDS))
            g_subprocess_force_exit (f->berthd);
        }
      g_clear_object (&f->berthd);
    }
  berth_test_rm_rf (f->root);
  g_free (f->root);
  g_free (f->data);
  g_free (f->credentials_path);
  g_free (f->stderr_path);
  g_free (f->forwards_path);
  g_free (f->password);
  g_ptr_array_unref (f->states);
  g_ptr_array_unref (f->progress);
  g_ptr_array_unref (f->settings_keys);
  g_ptr_array_unref (f->forwards);
  g_ptr_array_unref (f->typed);
}

/* ---- calls ----------------------------------------------------------------- */

static gboolean
strv_has (const gchar *const *strv, const gchar *item)
{
  return strv != NULL && g_strv_contains (strv, item);
}

static void
test_calls (Fixture *f, gconstpointer data)
{
  g_autoptr (BerthClient) client = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) settings = NULL;
  g_autoptr (JsonNode) answer = NULL;

  daemon_start (f);
  client = new_client (f);
  watch_client (f, client);
  error = client_connect (client, BERTH_CLIENT_CONNECT_FLAGS_NONE);
  g_assert_no_error (error);

  /* Connected, where berthd stands. */
  g_assert_true (berth_client_get_connected (client));
  g_assert_cmpuint (f->connection_changes, ==, 1);
  g_assert_cmpint (berth_client_get_state (client), ==, BERTH_CLIENT_STATE_STOPPED);
  g_assert_cmpint (berth_client_get_state_serial (client), ==, 0);
  g_assert_cmpuint (f->states->len, ==, 1);
  g_assert_cmpstr (berth_client_get_daemon_version (client), ==, BERTH_VERSION);
  g_assert_cmpint (berth_client_get_daemon_pid (client), ==, f->pid);
  g_assert_cmpuint (berth_client_get_port (client), ==, f->port);

  settings = client_get_settings (client, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_has_member (json_node_get_object (settings), "virtualMachine"));

  {
    g_autoptr (GAsyncResult) result = NULL;
    g_auto (GStrv) endpoints = NULL;

    berth_client_list_endpoints_async (client, NULL, berth_test_store_result, &result);
    endpoints = berth_client_list_endpoints_finish (client, wait_result (&result), &error);
    g_assert_no_error (error);
    g_assert_true (strv_has ((const gchar *const *)endpoints, "GET /v1/settings"));
    g_assert_true (strv_has ((const gchar *const *)endpoints, "PUT /v1/backend_state"));
  }
  {
    g_autoptr (GAsyncResult) result = NULL;

    berth_client_get_vm_async (client, NULL, berth_test_store_result, &result);
    answer = berth_client_get_vm_finish (client, wait_result (&result), &error);
    g_assert_no_error (error);
    g_assert_cmpint (json_object_get_int_member (json_node_get_object (answer), "cpus"), ==, 2);
    g_clear_pointer (&answer, json_node_unref);
  }
  {
    g_autoptr (GAsyncResult) result = NULL;

    berth_client_run_diagnostics_async (client, NULL, NULL, berth_test_store_result, &result);
    answer = berth_client_run_diagnostics_finish (client, wait_result (&result), &error);
    g_assert_no_error (error);
    g_assert_true (json_object_has_member (json_node_get_object (answer), "checks"));
    g_clear_pointer (&answer, json_node_unref);
  }

  /* A bad value: refused, with berthd's message naming the key. */
  {
    g_autoptr (GAsyncResult) result = NULL;
    g_autoptr (JsonNode) changes
        = json_from_string ("{\"virtualMachine\": {\"memoryInGB\": \"lots\"}}", NULL);

    berth_client_set_settings_async (client, changes, NULL, berth_test_store_result, &result);
    answer = berth_client_set_settings_finish (client, wait_result (&result), NULL, &error);
    g_assert_null (answer);
    g_assert_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_REFUSED);
    g_test_message ("refused: %s", error->message);
    g_assert_nonnull (strstr (error->message, "virtualMachine.memoryInGB"));
    g_clear_error (&error);
  }
  /* A route berthd does not have, in its own words. */
  answer = client_call (client, "GET", "/v1/no-such-endpoint", NULL, &error);
  g_assert_null (answer);
  g_assert_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==,
                   "There is no endpoint /v1/no-such-endpoint; GET /v1 lists the endpoints");
  g_clear_error (&error);
  /* What this berthd has no plugin for. */
  {
    g_autoptr (GAsyncResult) result = NULL;

    berth_client_list_images_async (client, NULL, NULL, berth_test_store_result, &result);
    answer = berth_client_list_images_finish (client, wait_result (&result), &error);
    g_assert_null (answer);
    g_assert_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_NOT_FOUND);
    g_assert_true (g_str_has_prefix (error->message, "No image processor plugin"));
    g_clear_error (&error);
  }
  /* A method the route does not take. */
  answer = client_call (client, "DELETE", "/v1/settings", NULL, &error);
  g_assert_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "it takes GET, PUT"));
  g_clear_error (&error);
}

static void
test_auth (Fixture *f, gconstpointer data)
{
  g_autoptr (BerthClient) wrong = NULL;
  g_autoptr (BerthClient) missing = NULL;
  g_autoptr (BerthClient) stale = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *missing_path = g_build_filename (f->root, "no-such.json", NULL);
  g_autofree gchar *stale_path = g_build_filename (f->root, "stale.json", NULL);
  g_autoptr (JsonNode) settings = NULL;

  daemon_start (f);

  /* A wrong password, given: refused, and said so. */
  wrong = new_client (f);
  berth_client_set_password (wrong, "not-the-password");
  error = client_connect (wrong, BERTH_CLIENT_CONNECT_FLAGS_NONE);
  g_assert_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_AUTH);
  g_assert_nonnull (strstr (error->message, "refused the credentials"));
  g_assert_false (berth_client_get_connected (wrong));
  g_clear_error (&error);
  /* The right one, given with the port: the file is not read at all. */
  berth_client_set_credentials_path (wrong, missing_path);
  berth_client_set_password (wrong, f->password);
  berth_client_set_port (wrong, f->port);
  berth_client_set_user (wrong, "user");
  settings = client_get_settings (wrong, &error);
  g_assert_no_error (error);
  g_assert_nonnull (settings);

  /* No credentials file: berthd is not running, and the file is named. */
  missing = berth_client_new ();
  berth_client_set_credentials_path (missing, missing_path);
  error = client_connect (missing, BERTH_CLIENT_CONNECT_FLAGS_NONE);
  g_assert_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_NOT_RUNNING);
  g_assert_nonnull (strstr (error->message, missing_path));
  g_clear_error (&error);

  /* A file a killed berthd left: nothing answers at its port. */
  {
    g_autoptr (GSocketListener) listener = g_socket_listener_new ();
    g_autofree gchar *text = NULL;
    guint16 closed_port = g_socket_listener_add_any_inet_port (listener, NULL, &error);

    g_assert_no_error (error);
    g_socket_listener_close (listener);
    text = g_strdup_printf ("{\"user\": \"user\", \"password\": \"x\", \"port\": %u, \"pid\": 1}",
                            closed_port);
    berth_test_write_file (stale_path, text, 0600);
  }
  stale = berth_client_new ();
  berth_client_set_credentials_path (stale, stale_path);
  error = client_connect (stale, BERTH_CLIENT_CONNECT_FLAGS_NONE);
  g_assert_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_NOT_RUNNING);
  g_assert_nonnull (strstr (error->message, "nothing answers"));
  g_clear_error (&error);

  /* A file that is not berthd's. */
  berth_test_write_file (stale_path, "{\"user\": \"user\"}", 0600);
  error = client_connect (stale, BERTH_CLIENT_CONNECT_FLAGS_NONE);
  g_assert_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (error->message, "\"password\""));
}

/* ---- events ----------------------------------------------------------------- */

static void
test_state_changed (Fixture *f, gconstpointer data)
{
  g_autoptr (BerthClient) client = NULL;
  g_autoptr (GError) error = NULL;
  BerthClientState answered = BERTH_CLIENT_STATE_ERROR;
  gint64 since = -1;
  guint starting, started, stopping, stopped;

  daemon_start (f);
  client = new_client (f);
  watch_client (f, client);
  error = client_connect (client, BERTH_CLIENT_CONNECT_FLAGS_NONE);
  g_assert_no_error (error);

  {
    g_autoptr (GAsyncResult) result = NULL;

    berth_client_start_async (client, NULL, berth_test_store_result, &result);
    g_assert_true (
        berth_client_start_finish (client, wait_result (&result), &answered, &since, &error));
    g_assert_no_error (error);
  }
  g_assert_cmpint (since, >=, 0);
  starting = wait_state (f, BERTH_CLIENT_STATE_STARTING, since);
  started = wait_state (f, BERTH_CLIENT_STATE_STARTED, since);
  g_assert_cmpuint (started, ==, starting + 1);
  g_assert_cmpint (((StateEvent *)g_ptr_array_index (f->states, started))->serial, ==,
                   ((StateEvent *)g_ptr_array_index (f->states, starting))->serial + 1);
  g_assert_cmpint (berth_client_get_state (client), ==, BERTH_CLIENT_STATE_STARTED);
  g_assert_cmpint (berth_client_get_state_serial (client), ==,
                   ((StateEvent *)g_ptr_array_index (f->states, started))->serial);
  /* The test backend's steps, as berthd's progress events. */
  g_assert_true (
      g_ptr_array_find_with_equal_func (f->progress, "Booting the test VM 3/3", g_str_equal, NULL));

  {
    g_autoptr (GAsyncResult) result = NULL;

    berth_client_stop_async (client, NULL, berth_test_store_result, &result);
    g_assert_true (
        berth_client_stop_finish (client, wait_result (&result), &answered, &since, &error));
    g_assert_no_error (error);
  }
  stopping = wait_state (f, BERTH_CLIENT_STATE_STOPPING, since);
  stopped = wait_state (f, BERTH_CLIENT_STATE_STOPPED, since);
  g_assert_cmpuint (stopping, >, started);
  g_assert_cmpuint (stopped, ==, stopping + 1);
  g_assert_cmpint (berth_client_get_state (client), ==, BERTH_CLIENT_STATE_STOPPED);
}

typedef struct
{
  GPtrArray *items;
  const gchar *want;
} StringWait;

static gboolean
string_seen (gpointer user_data)
{
  StringWait *w = user_data;

  return g_ptr_array_find_with_equal_func (w->items, w->want, g_str_equal, NULL);
}

static void
test_settings_changed (Fixture *f, gconstpointer data)
{
  g_autoptr (BerthClient) client = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (JsonNode) changes
      = json_from_string ("{\"images\": {\"namespace\": \"client-test\"}}", NULL);
  g_autoptr (JsonNode) answer = NULL;
  StringWait w = { f->settings_keys, "images.namespace" };
  gint64 serial = -2;

  daemon_start (f);
  client = new_client (f);
  watch_client (f, client);
  error = client_connect (client, BERTH_CLIENT_CONNECT_FLAGS_NONE);
  g_assert_no_error (error);

  berth_client_set_settings_async (client, changes, NULL, berth_test_store_result, &result);
  answer = berth_client_set_settings_finish (client, wait_result (&result), &serial, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_has_member (json_node_get_object (answer), "pending"));
  g_assert_cmpint (serial, ==, 0);
  g_assert_true (berth_test_iterate_until (string_seen, &w, WAIT_SECONDS));
}

/* Writes the test backend's forwards file whole, as a rename. */
static void
write_forwards (Fixture *f, const gchar *text)
{
  g_autofree gchar *tmp = g_strconcat (f->forwards_path, ".tmp", NULL);

  berth_test_write_file (tmp, text, 0644);
  g_assert_cmpint (g_rename (tmp, f->forwards_path), ==, 0);
}

typedef struct
{
  Fixture *f;
  guint from;
  gint64 host_port; /* 0: an empty list */
} ForwardsWait;

static gboolean
forwards_seen (gpointer user_data)
{
  ForwardsWait *w = user_data;

  for (guint i = w->from; i < w->f->forwards->len; i++)
    {
      JsonNode *list = g_ptr_array_index (w->f->forwards, i);
      JsonArray *array;

      if (list == NULL || !JSON_NODE_HOLDS_ARRAY (list))
        continue;
      array = json_node_get_array (list);
      if (w->host_port == 0 && json_array_get_length (array) == 0)
        return TRUE;
      for (guint j = 0; j < json_array_get_length (array); j++)
        {
          JsonObject *forward = json_array_get_object_element (array, j);

          if (json_object_get_int_member (forward, "hostPort") == w->host_port
              && json_object_get_int_member (forward, "guestPort") == 90
              && g_strcmp0 (json_object_get_string_member (forward, "protocol"), "tcp") == 0)
            return TRUE;
        }
    }
  return FALSE;
}

static void
test_port_forwards_changed (Fixture *f, gconstpointer data)
{
  g_autoptr (BerthClient) client = NULL;
  g_autoptr (GError) error = NULL;
  gint64 since = -1;
  ForwardsWait w = { f, 0, 9090 };

  daemon_start (f);
  client = new_client (f);
  watch_client (f, client);
  error = client_connect (client, BERTH_CLIENT_CONNECT_FLAGS_NONE);
  g_assert_no_error (error);
  {
    g_autoptr (GAsyncResult) result = NULL;

    berth_client_start_async (client, NULL, berth_test_store_result, &result);
    g_assert_true (berth_client_start_finish (client, wait_result (&result), NULL, &since, &error));
  }
  wait_state (f, BERTH_CLIENT_STATE_STARTED, since);

  /* A port opens in the guest: the signal carries the list with it. */
  write_forwards (f, "tcp 127.0.0.1 9090 90\n");
  g_assert_true (berth_test_iterate_until (forwards_seen, &w, WAIT_SECONDS));

  /* And closes. */
  w.from = f->forwards->len;
  w.host_port = 0;
  write_forwards (f, "");
  g_assert_true (berth_test_iterate_until (forwards_seen, &w, WAIT_SECONDS));
}

/* berthd killed -9 and started again, on another port with another
 * password: the client says it lost berthd, calls say it is not running,
 * and then it is back, with the new berthd's state. */
static void
test_reconnect (Fixture *f, gconstpointer data)
{
  g_autoptr (BerthClient) client = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) settings = NULL;
  guint old_port;
  gint64 old_pid;
  guint before;

  daemon_start (f);
  old_port = f->port;
  old_pid = f->pid;
  client = new_client (f);
  watch_client (f, client);
  error = client_connect (client, BERTH_CLIENT_CONNECT_FLAGS_NONE);
  g_assert_no_error (error);

  daemon_kill (f);
  g_assert_true (berth_test_iterate_until (is_disconnected, client, WAIT_SECONDS));
  g_assert_cmpuint (f->connection_changes, ==, 2);

  /* Meanwhile: its credentials file stays behind, and nothing answers. */
  settings = client_get_settings (client, &error);
  g_assert_null (settings);
  g_assert_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_NOT_RUNNING);
  g_test_message ("while berthd was down: %s", error->message);
  g_clear_error (&error);

  before = f->states->len;
  daemon_start (f);
  g_assert_cmpint (f->pid, !=, old_pid);
  if (f->port == old_port)
    g_test_message ("the new berthd took the old port %u again", f->port);
  g_assert_true (berth_test_iterate_until (is_connected, client, WAIT_SECONDS));
  g_assert_cmpuint (f->connection_changes, ==, 3);
  /* The new berthd's first word: where it stands, counting anew. */
  g_assert_cmpuint (f->states->len, >, before);
  g_assert_cmpint (((StateEvent *)g_ptr_array_index (f->states, before))->serial, ==, 0);
  g_assert_cmpuint (berth_client_get_port (client), ==, f->port);

  settings = client_get_settings (client, &error);
  g_assert_no_error (error);
  g_assert_nonnull (settings);
  g_assert_cmpint (berth_client_get_daemon_pid (client), ==, f->pid);
}

static gboolean
process_gone (gpointer user_data)
{
  gint64 pid = *(gint64 *)user_data;

  return kill ((pid_t)pid, 0) != 0;
}

/* No berthd: connecting with LAUNCH starts one; a call after it was killed
 * starts another; a berthd that cannot start is reported. */
static void
test_launch (Fixture *f, gconstpointer data)
{
  g_autoptr (BerthClient) client = NULL;
  g_autoptr (BerthClient) failing = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) settings = NULL;
  gint64 first, second;

  client = new_client (f);
  watch_client (f, client);
  error = client_connect (client, BERTH_CLIENT_CONNECT_FLAGS_LAUNCH);
  g_assert_no_error (error);
  g_assert_true (berth_client_get_connected (client));
  first = berth_client_get_daemon_pid (client);
  f->launched_pid = first;
  g_assert_cmpint (first, >, 0);
  g_assert_cmpint (kill ((pid_t)first, 0), ==, 0);
  g_assert_true (g_file_test (f->credentials_path, G_FILE_TEST_EXISTS));

  kill ((pid_t)first, SIGKILL);
  g_assert_true (berth_test_iterate_until (process_gone, &first, WAIT_SECONDS));
  g_assert_true (berth_test_iterate_until (is_disconnected, client, WAIT_SECONDS));

  /* A call finds it gone and launches another. */
  settings = client_get_settings (client, &error);
  g_assert_no_error (error);
  g_assert_nonnull (settings);
  second = berth_client_get_daemon_pid (client);
  f->launched_pid = second;
  g_assert_cmpint (second, >, 0);
  g_assert_cmpint (second, !=, first);
  g_assert_true (berth_test_iterate_until (is_connected, client, WAIT_SECONDS));

  /* Shut down through the client: berthd goes, and says so by closing. */
  {
    g_autoptr (GAsyncResult) result = NULL;

    berth_client_shutdown_async (client, NULL, berth_test_store_result, &result);
    g_assert_true (berth_client_shutdown_finish (client, wait_result (&result), &error));
    g_assert_no_error (error);
  }
  g_assert_true (berth_test_iterate_until (process_gone, &second, WAIT_SECONDS));
  g_assert_true (berth_test_iterate_until (is_disconnected, client, WAIT_SECONDS));

  /* A berthd that exits at once. */
  failing = berth_client_new ();
  berth_client_set_credentials_path (failing, f->credentials_path);
  berth_client_set_berthd_path (failing, "/bin/false");
  error = client_connect (failing, BERTH_CLIENT_CONNECT_FLAGS_LAUNCH);
  g_assert_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_NOT_RUNNING);
  g_assert_nonnull (strstr (error->message, "exited before it answered"));
}

/* ---- the shapes berthd is to send: a fake berthd -------------------------- */

#define FAKE_PASSWORD "fake-berthd-password"

static gboolean
fake_check_password (SoupAuthDomain *domain, SoupServerMessage *msg, const gchar *user,
                     const gchar *password, gpointer user_data)
{
  return g_str_equal (user, "user") && g_str_equal (password, FAKE_PASSWORD);
}

/* GET /v1/about, and for anything else a 404 in berthd's shape, so that a
 * list the client would fetch instead of taking it from the event comes
 * out NULL. */
static void
fake_handler (SoupServer *server, SoupServerMessage *msg, const gchar *path, GHashTable *query,
              gpointer user_data)
{
  static const gchar about[] = "{\"version\":\"fake\",\"pid\":1}";
  g_autofree gchar *missing = g_strdup_printf (
      "{\"message\":\"The fake berthd of test-client has no %s\",\"code\":\"not-found\"}", path);

  if (g_str_equal (path, "/v1/about"))
    {
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC, about,
                                        strlen (about));
      return;
    }
  soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, missing,
                                    strlen (missing));
}

static void
fake_on_socket (SoupServer *server, SoupServerMessage *msg, const gchar *path,
                SoupWebsocketConnection *conn, gpointer user_data)
{
  static const gchar *const events[] = {
    "{\"type\":\"state-changed\",\"state\":\"STARTED\",\"reason\":null,\"stateSerial\":5,"
    "\"restarting\":false}",
    "this is not an event; the client drops it",
    "{\"type\":\"port-forwards-changed\",\"forwards\":[{\"protocol\":\"tcp\","
    "\"hostAddress\":\"127.0.0.1\",\"hostPort\":7070,\"guestPort\":70}]}",
    "{\"type\":\"images-changed\",\"images\":[{\"id\":\"sha256:1\"},{\"id\":\"sha256:2\"}]}",
    "{\"type\":\"services-changed\",\"services\":[{\"name\":\"web\"}]}",
    "{\"type\":\"versions-changed\",\"versions\":[{\"version\":\"v1.30.0\"}]}",
    "{\"type\":\"diagnostics-changed\",\"checks\":[]}",
    "{\"type\":\"kubernetes-state-changed\",\"state\":\"STARTING\","
    "\"reason\":\"the fake berthd of test-client says so\"}",
    "{\"type\":\"update-state\",\"state\":\"available\",\"detail\":\"0.2.0\","
    "\"latest\":{\"version\":\"0.2.0\"}}",
    "{\"type\":\"plugin\",\"plugin\":\"fake\",\"signal\":\"changed\",\"args\":[1]}",
  };

  g_object_set_data_full (G_OBJECT (server), "socket", g_object_ref (conn), g_object_unref);
  for (gsize i = 0; i < G_N_ELEMENTS (events); i++)
    soup_websocket_connection_send_text (conn, events[i]);
}

static void
record_list (Fixture *f, const gchar *signal, JsonNode *list)
{
  g_ptr_array_add (
      f->typed, list != NULL ? g_strdup_printf ("%s %u", signal,
                                                json_array_get_length (json_node_get_array (list)))
                             : g_strdup_printf ("%s NULL", signal));
}

static void
on_images_changed (BerthClient *client, JsonNode *list, Fixture *f)
{
  record_list (f, "images-changed", list);
}

static void
on_services_changed (BerthClient *client, JsonNode *list, Fixture *f)
{
  record_list (f, "services-changed", list);
}

static void
on_versions_changed (BerthClient *client, JsonNode *list, Fixture *f)
{
  record_list (f, "versions-changed", list);
}

static void
on_diagnostics_changed (BerthClient *client, JsonNode *list, Fixture *f)
{
  record_list (f, "diagnostics-changed", list);
}

static void
on_kubernetes_state_changed (BerthClient *client, const gchar *state, const gchar *reason,
                             Fixture *f)
{
  g_ptr_array_add (f->typed, g_strdup_printf ("kubernetes-state-changed %s (%s)", state, reason));
}

static void
on_update_state (BerthClient *client, const gchar *state, const gchar *detail, JsonNode *status,
                 Fixture *f)
{
  JsonObject *latest = json_object_get_object_member (json_node_get_object (status), "latest");

  g_ptr_array_add (f->typed, g_strdup_printf ("update-state %s %s latest %s", state, detail,
                                              json_object_get_string_member (latest, "version")));
}

static void
on_plugin_event (BerthClient *client, const gchar *plugin, const gchar *signal, JsonNode *args,
                 Fixture *f)
{
  g_ptr_array_add (f->typed, g_strdup_printf ("plugin-event %s %s %u", plugin, signal,
                                              json_array_get_length (json_node_get_array (args))));
}

static gboolean
typed_all_seen (gpointer user_data)
{
  Fixture *f = user_data;

  return f->typed->len >= 7 && f->forwards->len >= 1;
}

/* The typed events berthd is to send, each with its data: the client
 * passes the data on without asking (the fake has nothing to ask). */
static void
test_typed_events (Fixture *f, gconstpointer data)
{
  g_autoptr (SoupServer) server = soup_server_new (NULL, NULL);
  g_autoptr (SoupAuthDomain) domain = NULL;
  g_autoptr (BerthClient) client = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *credentials = NULL;
  GSList *uris;
  guint port;
  const gchar *const want[] = {
    "images-changed 2",
    "services-changed 1",
    "versions-changed 1",
    "diagnostics-changed 0",
    "kubernetes-state-changed STARTING (the fake berthd of test-client says so)",
    "update-state available 0.2.0 latest 0.2.0",
    "plugin-event fake changed 1",
  };
  JsonObject *forward;

  domain
      = soup_auth_domain_basic_new ("realm", "berth", "auth-callback", fake_check_password, NULL);
  soup_auth_domain_add_path (domain, "/");
  soup_server_add_auth_domain (server, domain);
  soup_server_add_handler (server, NULL, fake_handler, NULL, NULL);
  soup_server_add_websocket_handler (server, "/v1/events", NULL, NULL, fake_on_socket, NULL, NULL);
  soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (server);
  port = (guint)g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify)g_uri_unref);
  credentials = g_strdup_printf ("{\"user\":\"user\",\"password\":\"" FAKE_PASSWORD
                                 "\",\"port\":%u,\"pid\":%d}",
                                 port, (int)getpid ());
  g_assert_cmpint (g_mkdir_with_parents (f->data, 0700), ==, 0);
  {
    g_autofree gchar *dir = g_path_get_dirname (f->credentials_path);

    g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  }
  berth_test_write_file (f->credentials_path, credentials, 0600);

  client = new_client (f);
  watch_client (f, client);
  g_signal_connect (client, "images-changed", G_CALLBACK (on_images_changed), f);
  g_signal_connect (client, "services-changed", G_CALLBACK (on_services_changed), f);
  g_signal_connect (client, "versions-changed", G_CALLBACK (on_versions_changed), f);
  g_signal_connect (client, "diagnostics-changed", G_CALLBACK (on_diagnostics_changed), f);
  g_signal_connect (client, "kubernetes-state-changed", G_CALLBACK (on_kubernetes_state_changed),
                    f);
  g_signal_connect (client, "update-state", G_CALLBACK (on_update_state), f);
  g_signal_connect (client, "plugin-event", G_CALLBACK (on_plugin_event), f);
  error = client_connect (client, BERTH_CLIENT_CONNECT_FLAGS_NONE);
  g_assert_no_error (error);
  g_assert_cmpint (berth_client_get_state (client), ==, BERTH_CLIENT_STATE_STARTED);
  g_assert_cmpint (berth_client_get_state_serial (client), ==, 5);
  g_assert_cmpstr (berth_client_get_daemon_version (client), ==, "fake");

  g_assert_true (berth_test_iterate_until (typed_all_seen, f, WAIT_SECONDS));
  for (guint i = 0; i < f->typed->len; i++)
    g_test_message ("%s", (const gchar *)g_ptr_array_index (f->typed, i));
  g_assert_cmpuint (f->typed->len, ==, G_N_ELEMENTS (want));
  for (gsize i = 0; i < G_N_ELEMENTS (want); i++)
    g_assert_cmpstr (g_ptr_array_index (f->typed, i), ==, want[i]);
  g_assert_cmpuint (f->forwards->len, ==, 1);
  forward
      = json_array_get_object_element (json_node_get_array (g_ptr_array_index (f->forwards, 0)), 0);
  g_assert_cmpint (json_object_get_int_member (forward, "hostPort"), ==, 7070);
  g_assert_true (berth_client_get_connected (client));

  berth_client_disconnect (client);
  soup_server_disconnect (server);
}

int
main (int argc, char **argv)
{
  berth_test_watch_leftovers ();
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/client/calls", test_calls);
  ADD ("/client/auth", test_auth);
  ADD ("/client/state-changed", test_state_changed);
  ADD ("/client/settings-changed", test_settings_changed);
  ADD ("/client/port-forwards-changed", test_port_forwards_changed);
  ADD ("/client/reconnect", test_reconnect);
  ADD ("/client/launch", test_launch);
  ADD ("/client/typed-events", test_typed_events);
#undef ADD
  return g_test_run ();
}
