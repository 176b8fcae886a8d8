/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* BerthClient: the object, its properties and signals, and connecting.
 * The calls are in berth-client-calls.c, the requests under them in
 * berth-client-request.c, finding and launching berthd in
 * berth-client-credentials.c, and the event stream in
 * berth-client-events.c. */
#include "config.h"

#include <string.h>

#include "berth-client-private.h"

/**
 * BerthClient:
 *
 * berthd for a frontend. A client finds berthd through the credentials
 * file berthd writes ($XDG_DATA_HOME/berth/berth-engine.json), or through
 * the host, port, user and password set on it; it launches berthd when
 * asked to and none answers; it offers each call of berthd's API as an
 * _async/_finish pair; and once connected it follows berthd's event stream,
 * emitting a typed signal for each event, and reconnects when berthd
 * restarts.
 *
 * Every call and signal runs on the thread-default main context of the
 * thread that made the client; none blocks it.
 */

enum
{
  PROP_0,
  PROP_HOST,
  PROP_PORT,
  PROP_USER,
  PROP_PASSWORD,
  PROP_CREDENTIALS_PATH,
  PROP_BERTHD_PATH,
  PROP_CONNECTED,
  PROP_STATE,
  PROP_STATE_REASON,
  PROP_STATE_SERIAL,
  PROP_DAEMON_PID,
  PROP_DAEMON_VERSION,
  N_PROPS
};

static GParamSpec *props[N_PROPS];
guint berth_client_signals[BERTH_CLIENT_N_SIGNALS];

G_DEFINE_FINAL_TYPE (BerthClient, berth_client, G_TYPE_OBJECT)

/* ---- state ---------------------------------------------------------------- */

GSource *
berth_client_timeout_add (BerthClient *self, guint ms, GSourceFunc func, gpointer data)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, func, data, NULL);
  g_source_attach (source, self->context);
  return source;
}

void
berth_client_clear_source (GSource **source)
{
  if (*source == NULL)
    return;
  g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

void
berth_client_set_connected (BerthClient *self, gboolean connected)
{
  if (self->connected == connected)
    return;
  self->connected = connected;
  g_debug ("%s berthd", connected ? "Connected to" : "Lost");
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_CONNECTED]);
  g_signal_emit (self, berth_client_signals[BERTH_CLIENT_SIGNAL_CONNECTION_CHANGED], 0, connected);
}

void
berth_client_take_state (BerthClient *self, BerthClientState state, const gchar *reason,
                         gint64 serial, gboolean restarting)
{
  GObject *object = G_OBJECT (self);

  g_object_freeze_notify (object);
  if (self->state != state)
    {
      self->state = state;
      g_object_notify_by_pspec (object, props[PROP_STATE]);
    }
  if (g_strcmp0 (self->state_reason, reason) != 0)
    {
      g_free (self->state_reason);
      self->state_reason = g_strdup (reason);
      g_object_notify_by_pspec (object, props[PROP_STATE_REASON]);
    }
  if (self->state_serial != serial)
    {
      self->state_serial = serial;
      g_object_notify_by_pspec (object, props[PROP_STATE_SERIAL]);
    }
  g_object_thaw_notify (object);
  g_signal_emit (self, berth_client_signals[BERTH_CLIENT_SIGNAL_STATE_CHANGED], 0, state, reason,
                 serial, restarting);
}

/* ---- connecting ------------------------------------------------------------- */

static void
about_answered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthClient *self = BERTH_CLIENT (source);
  BerthClientConnectFlags flags = GPOINTER_TO_UINT (g_task_get_task_data (task));
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) about = berth_client_request_finish (self, result, &error);
  const gchar *version = NULL;

  if (about == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (JSON_NODE_HOLDS_OBJECT (about))
    version = json_object_get_string_member_with_default (json_node_get_object (about), "version",
                                                          NULL);
  if (g_strcmp0 (version, self->daemon_version) != 0)
    {
      g_free (self->daemon_version);
      self->daemon_version = g_strdup (version);
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_DAEMON_VERSION]);
    }
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_DAEMON_PID]);
  if ((flags & BERTH_CLIENT_CONNECT_FLAGS_NO_EVENTS) != 0)
    {
      berth_client_set_connected (self, TRUE);
      g_task_return_boolean (task, TRUE);
      return;
    }
  berth_client_events_start (self, g_steal_pointer (&task));
}

/**
 * berth_client_connect_async:
 * @self: a #BerthClient
 * @flags: how to connect
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when connected, or when that failed
 * @user_data: (closure): data for @callback
 *
 * Connects to berthd: checks that it answers and takes the credentials,
 * launching berthd first when @flags ask for it and none answers; then,
 * unless @flags say otherwise, opens its event stream and waits for the
 * state it sends first, so that #BerthClient:state is berthd's when this
 * completes.
 *
 * While the event stream is wanted, the client keeps it open: when it
 * closes, or when this connect fails after berthd answered, the client
 * tries again in the background, each time reading the credentials file
 * anew, and emits #BerthClient::connection-changed when it is back.
 * berth_client_disconnect() stops that.
 */
void
berth_client_connect_async (BerthClient *self, BerthClientConnectFlags flags,
                            GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (BERTH_IS_CLIENT (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, berth_client_connect_async);
  g_task_set_task_data (task, GUINT_TO_POINTER (flags), NULL);
  self->flags = flags;
  berth_client_request_async (self, "GET", "/v1/about", NULL, BERTH_CLIENT_REQUEST_NONE,
                              cancellable, about_answered, g_steal_pointer (&task));
}

/**
 * berth_client_connect_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: whether berthd answered (and its event stream opened)
 */
gboolean
berth_client_connect_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (BERTH_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == berth_client_connect_async,
                        FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * berth_client_disconnect:
 * @self: a #BerthClient
 *
 * Closes the event stream and stops reconnecting; calls still work.
 */
void
berth_client_disconnect (BerthClient *self)
{
  g_return_if_fail (BERTH_IS_CLIENT (self));

  berth_client_events_stop (self);
  berth_client_set_connected (self, FALSE);
}

/* ---- properties --------------------------------------------------------------- */

/* A changed override: the next request reads the credentials again. */
static void
forget_credentials (BerthClient *self)
{
  self->have_credentials = FALSE;
}

static gboolean
replace_string (gchar **slot, const gchar *value)
{
  if (g_strcmp0 (*slot, value) == 0)
    return FALSE;
  if (*slot != NULL)
    explicit_bzero (*slot, strlen (*slot));
  g_free (*slot);
  *slot = g_strdup (value);
  return TRUE;
}

const gchar *
berth_client_get_host (BerthClient *self)
{
  g_return_val_if_fail (BERTH_IS_CLIENT (self), NULL);
  return self->host != NULL ? self->host : "127.0.0.1";
}

void
berth_client_set_host (BerthClient *self, const gchar *host)
{
  g_return_if_fail (BERTH_IS_CLIENT (self));
  if (!replace_string (&self->host, host))
    return;
  forget_credentials (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_HOST]);
}

guint
berth_client_get_port (BerthClient *self)
{
  g_return_val_if_fail (BERTH_IS_CLIENT (self), 0);
  return self->port_override != 0 ? self->port_override : self->port;
}

void
berth_client_set_port (BerthClient *self, guint port)
{
  g_return_if_fail (BERTH_IS_CLIENT (self));
  g_return_if_fail (port <= G_MAXUINT16);
  if (self->port_override == port)
    return;
  self->port_override = port;
  forget_credentials (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PORT]);
}

const gchar *
berth_client_get_user (BerthClient *self)
{
  g_return_val_if_fail (BERTH_IS_CLIENT (self), NULL);
  return self->user_override != NULL ? self->user_override : self->user;
}

void
berth_client_set_user (BerthClient *self, const gchar *user)
{
  g_return_if_fail (BERTH_IS_CLIENT (self));
  if (!replace_string (&self->user_override, user))
    return;
  forget_credentials (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_USER]);
}

void
berth_client_set_password (BerthClient *self, const gchar *password)
{
  g_return_if_fail (BERTH_IS_CLIENT (self));
  if (!replace_string (&self->password_override, password))
    return;
  forget_credentials (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PASSWORD]);
}

/**
 * berth_client_dup_credentials_path:
 * @self: a #BerthClient
 *
 * Returns: (transfer full): the credentials file the client reads: the one
 *   set, or berthd's, $XDG_DATA_HOME/berth/berth-engine.json
 */
gchar *
berth_client_dup_credentials_path (BerthClient *self)
{
  g_return_val_if_fail (BERTH_IS_CLIENT (self), NULL);
  if (self->credentials_path != NULL)
    return g_strdup (self->credentials_path);
  return g_build_filename (g_get_user_data_dir (), "berth", "berth-engine.json", NULL);
}

void
berth_client_set_credentials_path (BerthClient *self, const gchar *path)
{
  g_return_if_fail (BERTH_IS_CLIENT (self));
  if (!replace_string (&self->credentials_path, path))
    return;
  forget_credentials (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_CREDENTIALS_PATH]);
}

const gchar *
berth_client_get_berthd_path (BerthClient *self)
{
  g_return_val_if_fail (BERTH_IS_CLIENT (self), NULL);
  return self->berthd_path;
}

void
berth_client_set_berthd_path (BerthClient *self, const gchar *path)
{
  g_return_if_fail (BERTH_IS_CLIENT (self));
  if (replace_string (&self->berthd_path, path))
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_BERTHD_PATH]);
}

gboolean
berth_client_get_connected (BerthClient *self)
{
  g_return_val_if_fail (BERTH_IS_CLIENT (self), FALSE);
  return self->connected;
}

BerthClientState
berth_client_get_state (BerthClient *self)
{
  g_return_val_if_fail (BERTH_IS_CLIENT (self), BERTH_CLIENT_STATE_STOPPED);
  return self->state;
}

const gchar *
berth_client_get_state_reason (BerthClient *self)
{
  g_return_val_if_fail (BERTH_IS_CLIENT (self), NULL);
  return self->state_reason;
}

gint64
berth_client_get_state_serial (BerthClient *self)
{
  g_return_val_if_fail (BERTH_IS_CLIENT (self), -1);
  return self->state_serial;
}

gint64
berth_client_get_daemon_pid (BerthClient *self)
{
  g_return_val_if_fail (BERTH_IS_CLIENT (self), 0);
  return self->daemon_pid;
}

const gchar *
berth_client_get_daemon_version (BerthClient *self)
{
  g_return_val_if_fail (BERTH_IS_CLIENT (self), NULL);
  return self->daemon_version;
}

static void
berth_client_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  BerthClient *self = BERTH_CLIENT (object);

  switch (prop_id)
    {
    case PROP_HOST:
      g_value_set_string (value, berth_client_get_host (self));
      break;
    case PROP_PORT:
      g_value_set_uint (value, berth_client_get_port (self));
      break;
    case PROP_USER:
      g_value_set_string (value, berth_client_get_user (self));
      break;
    case PROP_CREDENTIALS_PATH:
      g_value_take_string (value, berth_client_dup_credentials_path (self));
      break;
    case PROP_BERTHD_PATH:
      g_value_set_string (value, self->berthd_path);
      break;
    case PROP_CONNECTED:
      g_value_set_boolean (value, self->connected);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_STATE_REASON:
      g_value_set_string (value, self->state_reason);
      break;
    case PROP_STATE_SERIAL:
      g_value_set_int64 (value, self->state_serial);
      break;
    case PROP_DAEMON_PID:
      g_value_set_int64 (value, self->daemon_pid);
      break;
    case PROP_DAEMON_VERSION:
      g_value_set_string (value, self->daemon_version);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
berth_client_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  BerthClient *self = BERTH_CLIENT (object);

  switch (prop_id)
    {
    case PROP_HOST:
      berth_client_set_host (self, g_value_get_string (value));
      break;
    case PROP_PORT:
      berth_client_set_port (self, g_value_get_uint (value));
      break;
    case PROP_USER:
      berth_client_set_user (self, g_value_get_string (value));
      break;
    case PROP_PASSWORD:
      berth_client_set_password (self, g_value_get_string (value));
      break;
    case PROP_CREDENTIALS_PATH:
      berth_client_set_credentials_path (self, g_value_get_string (value));
      break;
    case PROP_BERTHD_PATH:
      berth_client_set_berthd_path (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

/* ---- object --------------------------------------------------------------------- */

static void
berth_client_dispose (GObject *object)
{
  BerthClient *self = BERTH_CLIENT (object);

  berth_client_events_stop (self);
  if (self->session != NULL)
    soup_session_abort (self->session);
  if (self->long_session != NULL)
    soup_session_abort (self->long_session);
  g_clear_object (&self->session);
  g_clear_object (&self->long_session);
  G_OBJECT_CLASS (berth_client_parent_class)->dispose (object);
}

static void
berth_client_finalize (GObject *object)
{
  BerthClient *self = BERTH_CLIENT (object);

  replace_string (&self->host, NULL);
  replace_string (&self->user_override, NULL);
  replace_string (&self->password_override, NULL);
  replace_string (&self->credentials_path, NULL);
  replace_string (&self->berthd_path, NULL);
  replace_string (&self->user, NULL);
  replace_string (&self->password, NULL);
  replace_string (&self->authorization, NULL);
  g_free (self->base_uri);
  g_free (self->daemon_version);
  g_free (self->state_reason);
  g_clear_pointer (&self->launch_waiters, g_ptr_array_unref);
  g_clear_pointer (&self->ready_waiters, g_ptr_array_unref);
  g_main_context_unref (self->context);
  G_OBJECT_CLASS (berth_client_parent_class)->finalize (object);
}

static void
berth_client_class_init (BerthClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GType type = G_TYPE_FROM_CLASS (klass);

  object_class->get_property = berth_client_get_property;
  object_class->set_property = berth_client_set_property;
  object_class->dispose = berth_client_dispose;
  object_class->finalize = berth_client_finalize;

  /**
   * BerthClient:host:
   *
   * berthd's address; 127.0.0.1 unless set.
   */
  props[PROP_HOST]
      = g_param_spec_string ("host", NULL, NULL, NULL,
                             G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * BerthClient:port:
   *
   * berthd's port; 0 for the one its credentials file names.
   */
  props[PROP_PORT]
      = g_param_spec_uint ("port", NULL, NULL, 0, G_MAXUINT16, 0,
                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * BerthClient:user:
   *
   * The API user; %NULL for the one the credentials file names.
   */
  props[PROP_USER]
      = g_param_spec_string ("user", NULL, NULL, NULL,
                             G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * BerthClient:password:
   *
   * The API password; %NULL for the one the credentials file holds. It is
   * never read back.
   */
  props[PROP_PASSWORD]
      = g_param_spec_string ("password", NULL, NULL, NULL,
                             G_PARAM_WRITABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * BerthClient:credentials-path:
   *
   * The credentials file berthd writes; unless set,
   * $XDG_DATA_HOME/berth/berth-engine.json.
   */
  props[PROP_CREDENTIALS_PATH]
      = g_param_spec_string ("credentials-path", NULL, NULL, NULL,
                             G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * BerthClient:berthd-path:
   *
   * The berthd to launch; unless set, $BERTHD, berthd beside this program,
   * or on PATH.
   */
  props[PROP_BERTHD_PATH]
      = g_param_spec_string ("berthd-path", NULL, NULL, NULL,
                             G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * BerthClient:connected:
   *
   * Whether berthd answers: with the event stream, while it is open and
   * berthd has said its state; without it, since a call was answered.
   */
  props[PROP_CONNECTED]
      = g_param_spec_boolean ("connected", NULL, NULL, FALSE,
                              G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * BerthClient:state:
   *
   * Berth's state, as the event stream last said.
   */
  props[PROP_STATE]
      = g_param_spec_enum ("state", NULL, NULL, BERTH_TYPE_CLIENT_STATE, BERTH_CLIENT_STATE_STOPPED,
                           G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * BerthClient:state-reason:
   *
   * Why the state is what it is (an ERROR's cause), or %NULL.
   */
  props[PROP_STATE_REASON]
      = g_param_spec_string ("state-reason", NULL, NULL, NULL,
                             G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * BerthClient:state-serial:
   *
   * How many state changes berthd had counted at the last state-changed
   * event; -1 before any. It counts anew when berthd restarts.
   */
  props[PROP_STATE_SERIAL]
      = g_param_spec_int64 ("state-serial", NULL, NULL, -1, G_MAXINT64, -1,
                            G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * BerthClient:daemon-pid:
   *
   * berthd's process id, as its credentials file names it; 0 when unknown.
   */
  props[PROP_DAEMON_PID]
      = g_param_spec_int64 ("daemon-pid", NULL, NULL, 0, G_MAXINT64, 0,
                            G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * BerthClient:daemon-version:
   *
   * berthd's version, once connected.
   */
  props[PROP_DAEMON_VERSION]
      = g_param_spec_string ("daemon-version", NULL, NULL, NULL,
                             G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  /**
   * BerthClient::state-changed:
   * @self: the client
   * @state: the new state
   * @reason: (nullable): why (an ERROR's cause), or %NULL
   * @serial: berthd's count of state changes with this one, or -1
   * @restarting: whether this STOPPING or STOPPED is half of a restart
   *
   * Berth's state changed; the first after connecting is where it stands.
   */
  berth_client_signals[BERTH_CLIENT_SIGNAL_STATE_CHANGED]
      = g_signal_new ("state-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 4,
                      BERTH_TYPE_CLIENT_STATE, G_TYPE_STRING, G_TYPE_INT64, G_TYPE_BOOLEAN);
  /**
   * BerthClient::progress:
   * @self: the client
   * @description: (nullable): the step under way
   * @current: how far it is
   * @max: how far it goes, or 0 when unknown
   *
   * A start or a stop made progress.
   */
  berth_client_signals[BERTH_CLIENT_SIGNAL_PROGRESS]
      = g_signal_new ("progress", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 3,
                      G_TYPE_STRING, G_TYPE_UINT64, G_TYPE_UINT64);
  /**
   * BerthClient::settings-changed:
   * @self: the client
   * @keys: the settings that changed, by dotted path ("kubernetes.enabled")
   *
   * Settings changed.
   */
  berth_client_signals[BERTH_CLIENT_SIGNAL_SETTINGS_CHANGED]
      = g_signal_new ("settings-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                      1, G_TYPE_STRV);
  /**
   * BerthClient::images-changed:
   * @self: the client
   * @images: (nullable): the engine's images, an array of objects as
   *   berth_client_list_images_finish() gives them; %NULL when berthd sent
   *   none and could not give them when asked
   *
   * The engine's images changed.
   */
  berth_client_signals[BERTH_CLIENT_SIGNAL_IMAGES_CHANGED]
      = g_signal_new ("images-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                      1, JSON_TYPE_NODE);
  /**
   * BerthClient::port-forwards-changed:
   * @self: the client
   * @forwards: (nullable): the guest's ports forwarded to the host, an
   *   array of {"protocol", "hostAddress", "hostPort", "guestPort"}; %NULL
   *   when berthd sent none and could not give them when asked
   *
   * Ports opened or closed in the guest.
   */
  berth_client_signals[BERTH_CLIENT_SIGNAL_PORT_FORWARDS_CHANGED]
      = g_signal_new ("port-forwards-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 1, JSON_TYPE_NODE);
  /**
   * BerthClient::services-changed:
   * @self: the client
   * @services: (nullable): Kubernetes' services, as GET /v1/k8s_services
   *   gives them; %NULL when berthd sent none and could not give them
   *
   * Kubernetes' services changed.
   */
  berth_client_signals[BERTH_CLIENT_SIGNAL_SERVICES_CHANGED]
      = g_signal_new ("services-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                      1, JSON_TYPE_NODE);
  /**
   * BerthClient::versions-changed:
   * @self: the client
   * @versions: (nullable): the Kubernetes versions offered, as GET
   *   /v1/k8s_versions gives them; %NULL when berthd sent none and could
   *   not give them
   *
   * The Kubernetes versions on offer changed.
   */
  berth_client_signals[BERTH_CLIENT_SIGNAL_VERSIONS_CHANGED]
      = g_signal_new ("versions-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                      1, JSON_TYPE_NODE);
  /**
   * BerthClient::kubernetes-state-changed:
   * @self: the client
   * @state: Kubernetes' own state, as berthd words it
   * @reason: (nullable): why, or %NULL
   *
   * Kubernetes' state, beside the VM's, changed.
   */
  berth_client_signals[BERTH_CLIENT_SIGNAL_KUBERNETES_STATE_CHANGED]
      = g_signal_new ("kubernetes-state-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  /**
   * BerthClient::update-state:
   * @self: the client
   * @state: where Berth's update stands (checking, available, …)
   * @detail: (nullable): what the updater said, or %NULL
   * @status: the whole update status, an object as
   *   berth_client_get_update_finish() gives it
   *
   * The state of Berth's own update changed.
   */
  berth_client_signals[BERTH_CLIENT_SIGNAL_UPDATE_STATE]
      = g_signal_new ("update-state", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 3,
                      G_TYPE_STRING, G_TYPE_STRING, JSON_TYPE_NODE);
  /**
   * BerthClient::diagnostics-changed:
   * @self: the client
   * @checks: (nullable): the diagnostic checks, an array of objects; %NULL
   *   when berthd sent none and could not give them
   *
   * The outcome of a diagnostic check changed.
   */
  berth_client_signals[BERTH_CLIENT_SIGNAL_DIAGNOSTICS_CHANGED]
      = g_signal_new ("diagnostics-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 1, JSON_TYPE_NODE);
  /**
   * BerthClient::plugin-event:
   * @self: the client
   * @plugin: the plugin's name
   * @signal: its signal
   * @args: the signal's arguments, an array
   *
   * A plugin's signal that has no typed signal of its own here.
   */
  berth_client_signals[BERTH_CLIENT_SIGNAL_PLUGIN_EVENT]
      = g_signal_new ("plugin-event", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 3,
                      G_TYPE_STRING, G_TYPE_STRING, JSON_TYPE_NODE);
  /**
   * BerthClient::connection-changed:
   * @self: the client
   * @connected: whether berthd answers now
   *
   * The event stream opened (and berthd said its state) or closed. After
   * a reconnect, berthd may be another process: the state serial counts
   * anew, and lists may have changed meanwhile.
   */
  berth_client_signals[BERTH_CLIENT_SIGNAL_CONNECTION_CHANGED]
      = g_signal_new ("connection-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
}

static void
berth_client_init (BerthClient *self)
{
  g_autofree gchar *agent = g_strdup_printf ("libberth-client/%s", BERTH_VERSION);

  self->context = g_main_context_ref_thread_default ();
  self->state = BERTH_CLIENT_STATE_STOPPED;
  self->state_serial = -1;
  self->launch_waiters = g_ptr_array_new_with_free_func (g_object_unref);
  self->ready_waiters = g_ptr_array_new_with_free_func (g_object_unref);
  self->session = soup_session_new_with_options ("timeout", BERTH_CLIENT_CALL_TIMEOUT_SECONDS,
                                                 "idle-timeout", BERTH_CLIENT_CALL_TIMEOUT_SECONDS,
                                                 "user-agent", agent, NULL);
  self->long_session
      = soup_session_new_with_options ("idle-timeout", 60, "user-agent", agent, NULL);
}

/**
 * berth_client_new:
 *
 * Returns: (transfer full): a client that reads berthd's credentials file
 *   when it first needs berthd
 */
BerthClient *
berth_client_new (void)
{
  return g_object_new (BERTH_TYPE_CLIENT, NULL);
}
