/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berthd's event stream, GET /v1/events (a WebSocket of JSON texts), turned
 * into BerthClient's typed signals. When the stream closes (berthd quit,
 * was killed or restarted), the client reconnects with a growing delay,
 * reading the credentials file again each time: a new berthd has a new
 * password, and maybe a new port. */
#include "config.h"

#include "berth-client-private.h"

#define RECONNECT_FIRST_DELAY_MS 100
#define RECONNECT_MAX_DELAY_MS 2000

/* One attempt to open the stream; an attempt that a stop or a newer
 * attempt overtook finds a generation other than the client's. */
typedef struct
{
  BerthClient *client;
  guint generation;
} Attempt;

static Attempt *
attempt_new (BerthClient *self)
{
  Attempt *attempt = g_new0 (Attempt, 1);

  attempt->client = g_object_ref (self);
  attempt->generation = ++self->events_generation;
  return attempt;
}

static gboolean
attempt_is_current (Attempt *attempt)
{
  return attempt->client->want_events && attempt->client->events_generation == attempt->generation;
}

static void
attempt_free (Attempt *attempt)
{
  g_object_unref (attempt->client);
  g_free (attempt);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Attempt, attempt_free)

/* Completes the connects waiting for the first state. */
static void
complete_ready_waiters (BerthClient *self, const GError *error)
{
  g_autoptr (GPtrArray) waiters = g_steal_pointer (&self->ready_waiters);

  self->ready_waiters = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < waiters->len; i++)
    {
      GTask *task = g_ptr_array_index (waiters, i);

      if (error != NULL)
        g_task_return_error (task, g_error_copy (error));
      else
        g_task_return_boolean (task, TRUE);
    }
}

static void
events_open (BerthClient *self);

static gboolean
reconnect_cb (gpointer user_data)
{
  BerthClient *self = user_data;

  berth_client_clear_source (&self->reconnect_source);
  events_open (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_reconnect (BerthClient *self)
{
  if (!self->want_events || self->reconnect_source != NULL)
    return;
  g_debug ("Reconnecting to berthd's events in %u ms", self->reconnect_delay_ms);
  self->reconnect_source
      = berth_client_timeout_add (self, self->reconnect_delay_ms, reconnect_cb, self);
  self->reconnect_delay_ms = MIN (self->reconnect_delay_ms * 2, RECONNECT_MAX_DELAY_MS);
}

/* The attempt failed: the connects waiting hear why, and the client keeps
 * trying in the background. */
static void
open_failed (BerthClient *self, GError *error)
{
  self->events_opening = FALSE;
  g_debug ("Could not open berthd's event stream: %s", error->message);
  complete_ready_waiters (self, error);
  schedule_reconnect (self);
}

/* ---- lists the events did not carry ---------------------------------------- */

static const struct
{
  BerthClientSignal signal;
  const gchar *path;
  const gchar *member; /* the list inside the answer's object; NULL: the answer */
} list_sources[BERTH_CLIENT_N_LISTS] = {
  [BERTH_CLIENT_LIST_IMAGES] = { BERTH_CLIENT_SIGNAL_IMAGES_CHANGED, "/v1/images", NULL },
  [BERTH_CLIENT_LIST_PORT_FORWARDS]
  = { BERTH_CLIENT_SIGNAL_PORT_FORWARDS_CHANGED, "/v1/backend_state", "portForwards" },
  [BERTH_CLIENT_LIST_SERVICES] = { BERTH_CLIENT_SIGNAL_SERVICES_CHANGED, "/v1/k8s_services", NULL },
  [BERTH_CLIENT_LIST_VERSIONS] = { BERTH_CLIENT_SIGNAL_VERSIONS_CHANGED, "/v1/k8s_versions", NULL },
  [BERTH_CLIENT_LIST_DIAGNOSTICS]
  = { BERTH_CLIENT_SIGNAL_DIAGNOSTICS_CHANGED, "/v1/diagnostic_checks", "checks" },
};

typedef struct
{
  BerthClient *client;
  BerthClientList list;
} ListFetch;

static void
fetch_list (BerthClient *self, BerthClientList list);

/* The list in @answer: the member that holds it, or the answer itself. A
 * backend state without port forwards (the VM is not running) has none. */
static JsonNode *
list_from_answer (BerthClientList list, JsonNode *answer)
{
  const gchar *member = list_sources[list].member;
  JsonNode *node;

  if (member == NULL)
    return json_node_ref (answer);
  if (!JSON_NODE_HOLDS_OBJECT (answer))
    return NULL;
  node = json_object_get_member (json_node_get_object (answer), member);
  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    return json_node_copy (node);
  if (node == NULL && list == BERTH_CLIENT_LIST_PORT_FORWARDS)
    {
      JsonNode *empty = json_node_new (JSON_NODE_ARRAY);

      json_node_take_array (empty, json_array_new ());
      return empty;
    }
  return NULL;
}

static void
list_fetched (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree ListFetch *fetch = user_data;
  g_autoptr (BerthClient) self = fetch->client;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) answer = berth_client_request_finish (self, result, &error);
  g_autoptr (JsonNode) list = NULL;

  self->list_fetching[fetch->list] = FALSE;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  /* Another change came meanwhile: what was fetched may be older than it. */
  if (self->list_stale[fetch->list])
    {
      self->list_stale[fetch->list] = FALSE;
      fetch_list (self, fetch->list);
      return;
    }
  if (answer != NULL)
    list = list_from_answer (fetch->list, answer);
  if (list == NULL)
    g_debug ("The event came without its list, and GET %s did not give it: %s",
             list_sources[fetch->list].path,
             error != NULL ? error->message : "not the answer expected");
  g_signal_emit (self, berth_client_signals[list_sources[fetch->list].signal], 0, list);
}

static void
fetch_list (BerthClient *self, BerthClientList list)
{
  ListFetch *fetch;

  if (self->list_fetching[list])
    {
      self->list_stale[list] = TRUE;
      return;
    }
  self->list_fetching[list] = TRUE;
  fetch = g_new0 (ListFetch, 1);
  fetch->client = g_object_ref (self);
  fetch->list = list;
  berth_client_request_async (self, "GET", list_sources[list].path, NULL,
                              BERTH_CLIENT_REQUEST_LONG | BERTH_CLIENT_REQUEST_NO_LAUNCH,
                              self->events_cancellable, list_fetched, fetch);
}

/* ---- events ---------------------------------------------------------------- */

static void
emit_list (BerthClient *self, BerthClientList list, BerthClientEvent *event)
{
  if (event->list != NULL)
    g_signal_emit (self, berth_client_signals[list_sources[list].signal], 0, event->list);
  else
    fetch_list (self, list);
}

static void
dispatch (BerthClient *self, BerthClientEvent *event)
{
  switch (event->kind)
    {
    case BERTH_CLIENT_EVENT_STATE_CHANGED:
      /* The stream's first event is where things stand: connected now. */
      if (!self->connected)
        {
          self->reconnect_delay_ms = RECONNECT_FIRST_DELAY_MS;
          berth_client_set_connected (self, TRUE);
        }
      berth_client_take_state (self, event->state, event->reason, event->serial, event->restarting);
      complete_ready_waiters (self, NULL);
      break;
    case BERTH_CLIENT_EVENT_PROGRESS:
      g_signal_emit (self, berth_client_signals[BERTH_CLIENT_SIGNAL_PROGRESS], 0,
                     event->description, event->current, event->max);
      break;
    case BERTH_CLIENT_EVENT_SETTINGS_CHANGED:
      g_signal_emit (self, berth_client_signals[BERTH_CLIENT_SIGNAL_SETTINGS_CHANGED], 0,
                     event->keys);
      break;
    case BERTH_CLIENT_EVENT_IMAGES_CHANGED:
      emit_list (self, BERTH_CLIENT_LIST_IMAGES, event);
      break;
    case BERTH_CLIENT_EVENT_PORT_FORWARDS_CHANGED:
      emit_list (self, BERTH_CLIENT_LIST_PORT_FORWARDS, event);
      break;
    case BERTH_CLIENT_EVENT_SERVICES_CHANGED:
      emit_list (self, BERTH_CLIENT_LIST_SERVICES, event);
      break;
    case BERTH_CLIENT_EVENT_VERSIONS_CHANGED:
      emit_list (self, BERTH_CLIENT_LIST_VERSIONS, event);
      break;
    case BERTH_CLIENT_EVENT_DIAGNOSTICS_CHANGED:
      emit_list (self, BERTH_CLIENT_LIST_DIAGNOSTICS, event);
      break;
    case BERTH_CLIENT_EVENT_KUBERNETES_STATE_CHANGED:
      g_signal_emit (self, berth_client_signals[BERTH_CLIENT_SIGNAL_KUBERNETES_STATE_CHANGED], 0,
                     event->state_text, event->reason);
      break;
    case BERTH_CLIENT_EVENT_UPDATE_STATE:
      g_signal_emit (self, berth_client_signals[BERTH_CLIENT_SIGNAL_UPDATE_STATE], 0,
                     event->state_text, event->reason, event->data);
      break;
    case BERTH_CLIENT_EVENT_PLUGIN:
      g_signal_emit (self, berth_client_signals[BERTH_CLIENT_SIGNAL_PLUGIN_EVENT], 0, event->plugin,
                     event->signal, event->data);
      break;
    case BERTH_CLIENT_EVENT_UNKNOWN:
    default:
      g_debug ("Ignored berthd's event of type \"%s\", which this client does not know",
               event->type);
      break;
    }
}

static void
on_message (SoupWebsocketConnection *conn, gint type, GBytes *message, gpointer user_data)
{
  BerthClient *self = user_data;
  g_autoptr (BerthClientEvent) event = NULL;
  g_autoptr (GError) error = NULL;
  gsize length = 0;
  const gchar *data = g_bytes_get_data (message, &length);

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    return;
  event = berth_client_event_parse (data != NULL ? data : "", length, &error);
  if (event == NULL)
    {
      g_message ("Ignored an event from berthd: %s", error->message);
      return;
    }
  /* A handler may drop the last reference but its own. */
  g_object_ref (self);
  dispatch (self, event);
  g_object_unref (self);
}

static void
on_closed (SoupWebsocketConnection *conn, gpointer user_data)
{
  BerthClient *self = user_data;
  g_autoptr (GError) error = NULL;

  if (conn != self->events)
    return;
  g_debug ("berthd closed the event stream (code %u)",
           soup_websocket_connection_get_close_code (conn));
  g_signal_handlers_disconnect_by_data (conn, self);
  g_clear_object (&self->events);
  error = g_error_new_literal (BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_NOT_RUNNING,
                               "berthd closed its event stream before it said its state");
  complete_ready_waiters (self, error);
  g_object_ref (self);
  berth_client_set_connected (self, FALSE);
  schedule_reconnect (self);
  g_object_unref (self);
}

static void
websocket_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (Attempt) attempt = user_data;
  BerthClient *self = attempt->client;
  g_autoptr (GError) error = NULL;
  g_autoptr (SoupWebsocketConnection) conn
      = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  guint status = msg != NULL ? soup_message_get_status (msg) : 0;

  if (!attempt_is_current (attempt))
    {
      if (conn != NULL)
        soup_websocket_connection_close (conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      return;
    }
  if (conn == NULL)
    {
      g_autoptr (GError) failed = NULL;

      if (status == SOUP_STATUS_UNAUTHORIZED)
        failed = g_error_new (BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_AUTH,
                              "berthd at %s refused the credentials for its event stream (HTTP "
                              "401); check the user and the password, or the credentials file "
                              "they come from",
                              self->base_uri);
      else if (berth_client_error_is_unreachable (error))
        failed = g_error_new (BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_NOT_RUNNING,
                              "berthd is not running: nothing answers at %s (%s)", self->base_uri,
                              error->message);
      else
        failed = g_error_new (BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL,
                              "Could not open berthd's event stream at %s/v1/events: %s",
                              self->base_uri, error->message);
      open_failed (self, g_steal_pointer (&failed));
      return;
    }
  self->events_opening = FALSE;
  self->events = g_steal_pointer (&conn);
  soup_websocket_connection_set_max_incoming_payload_size (self->events,
                                                           BERTH_CLIENT_MAX_EVENT_SIZE);
  g_signal_connect (self->events, "message", G_CALLBACK (on_message), self);
  g_signal_connect (self->events, "closed", G_CALLBACK (on_closed), self);
  g_debug ("Following berthd's events at %s", self->base_uri);
}

static void
open_websocket (Attempt *attempt)
{
  BerthClient *self = attempt->client;
  g_autoptr (SoupMessage) msg = berth_client_new_message (self, "GET", "/v1/events");

  /* The stream stays open for as long as it lasts: no timeout (berthd
   * pings it every 30 s, and its closing tells when it went). */
  soup_session_websocket_connect_async (self->long_session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        self->events_cancellable, websocket_connected, attempt);
}

static void
credentials_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (Attempt) attempt = user_data;
  g_autoptr (GError) error = NULL;

  if (!berth_client_load_credentials_finish (BERTH_CLIENT (source), result, &error))
    {
      if (attempt_is_current (attempt))
        open_failed (attempt->client, g_steal_pointer (&error));
      return;
    }
  if (!attempt_is_current (attempt))
    return;
  open_websocket (g_steal_pointer (&attempt));
}

static void
events_open (BerthClient *self)
{
  Attempt *attempt;

  if (!self->want_events || self->events != NULL || self->events_opening)
    return;
  self->events_opening = TRUE;
  if (self->events_cancellable == NULL)
    self->events_cancellable = g_cancellable_new ();
  attempt = attempt_new (self);
  /* A berthd that restarted wrote new credentials. */
  if (!self->have_credentials || berth_client_uses_credentials_file (self))
    berth_client_load_credentials_async (self, self->events_cancellable, credentials_loaded,
                                         attempt);
  else
    open_websocket (attempt);
}

void
berth_client_events_start (BerthClient *self, GTask *task)
{
  self->want_events = TRUE;
  if (task != NULL)
    {
      if (self->connected)
        {
          g_task_return_boolean (task, TRUE);
          g_object_unref (task);
        }
      else
        g_ptr_array_add (self->ready_waiters, task);
    }
  if (self->events == NULL && !self->events_opening)
    {
      berth_client_clear_source (&self->reconnect_source);
      self->reconnect_delay_ms = RECONNECT_FIRST_DELAY_MS;
      events_open (self);
    }
}

void
berth_client_events_kick (BerthClient *self)
{
  if (!self->want_events || self->events != NULL || self->events_opening)
    return;
  berth_client_clear_source (&self->reconnect_source);
  events_open (self);
}

void
berth_client_events_stop (BerthClient *self)
{
  g_autoptr (GError) error
      = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "The client was disconnected");

  self->want_events = FALSE;
  self->events_opening = FALSE;
  self->events_generation++;
  berth_client_clear_source (&self->reconnect_source);
  if (self->events_cancellable != NULL)
    {
      g_cancellable_cancel (self->events_cancellable);
      g_clear_object (&self->events_cancellable);
    }
  for (guint i = 0; i < BERTH_CLIENT_N_LISTS; i++)
    self->list_stale[i] = FALSE;
  if (self->events != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->events, self);
      if (soup_websocket_connection_get_state (self->events) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (self->events, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_clear_object (&self->events);
    }
  if (self->ready_waiters != NULL)
    complete_ready_waiters (self, error);
}
