/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <sys/socket.h>

#include "berth-error.h"
#include "berth-image-list.h"
#include "berth-json.h"
#include "berth-settings-import.h"

#include "berth-api-credentials.h"
#include "berth-api-server.h"
#include "berth-api-server-private.h"

#define BERTH_API_REALM "berth"
/* The event stream only talks; what a client sends is read and dropped. */
#define BERTH_API_MAX_INCOMING_FRAME 4096
#define BERTH_API_KEEPALIVE_SECONDS 30

struct _BerthApiServer
{
  GObject parent_instance;

  BerthManager *manager;
  SoupServer *server;
  SoupAuthDomain *auth_domain;
  gchar *user;
  gchar *password;
  guint port;
  GPtrArray *event_sockets; /* SoupWebsocketConnection, in the order they came */
  gboolean shutdown_requested;
  gboolean restart_requested;
  GStrv allowed_origins; /* browser pages that may ask; empty: none */
  /* Counts the manager's state changes. Events and the answers to requests
   * carry it, so that a client can tell the state its request led to from
   * one that was there before, such as the ERROR a crash left. */
  gint64 state_serial;
};

G_DEFINE_FINAL_TYPE (BerthApiServer, berth_api_server, G_TYPE_OBJECT)

enum
{
  SIGNAL_SHUTDOWN_REQUESTED,
  SIGNAL_RESTART_REQUESTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* @body is what read_body() made of the request body: NULL, or an object
 * with only the route's members, each of its type. */
typedef void (*RouteFunc) (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                           GHashTable *query);

typedef struct
{
  const gchar *method;
  const gchar *path;
  BerthApiBodyKind body;
  /* For an object: the body's name in messages ("images/pull") and the
   * members it may have, ended by a NULL name; NULL when the route hands
   * the object on as it is. */
  const gchar *what;
  const BerthApiMember *members;
  RouteFunc func;
} Route;

/* ---- answers ---------------------------------------------------------- */

static void
respond_json (SoupServerMessage *msg, guint status, JsonNode *node)
{
  g_autofree gchar *data = berth_json_to_string (node, FALSE);
  gsize len = strlen (data);

  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE,
                                    g_steal_pointer (&data), len);
}

static void
respond_message (SoupServerMessage *msg, guint status, const gchar *code, const gchar *message)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) node = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, message);
  if (code != NULL)
    {
      json_builder_set_member_name (builder, "code");
      json_builder_add_string_value (builder, code);
    }
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);
  respond_json (msg, status, node);
}

static guint
status_for_error (const GError *error)
{
  if (error->domain != BERTH_ERROR)
    return SOUP_STATUS_INTERNAL_SERVER_ERROR;
  switch ((BerthError)error->code)
    {
    case BERTH_ERROR_INVALID_SETTING:
    case BERTH_ERROR_INVALID_DATA:
      return SOUP_STATUS_BAD_REQUEST;
    case BERTH_ERROR_NOT_FOUND:
      return SOUP_STATUS_NOT_FOUND;
    case BERTH_ERROR_BUSY:
      return SOUP_STATUS_CONFLICT;
    case BERTH_ERROR_NOT_SUPPORTED:
      return SOUP_STATUS_NOT_IMPLEMENTED;
    default:
      return SOUP_STATUS_INTERNAL_SERVER_ERROR;
    }
}

static void
respond_error (SoupServerMessage *msg, const GError *error)
{
  g_autoptr (GError) converted = g_error_copy (error);

  berth_error_convert (&converted);
  respond_message (msg, status_for_error (converted), berth_error_code_to_string (converted->code),
                   converted->message);
}

static void
respond_error_literal (SoupServerMessage *msg, gint code, const gchar *message)
{
  g_autoptr (GError) error = g_error_new_literal (BERTH_ERROR, code, message);

  respond_error (msg, error);
}

static void
respond_too_large (SoupServerMessage *msg)
{
  g_autofree gchar *message = g_strdup_printf (
      "The request body is larger than the %d bytes the API accepts", BERTH_API_MAX_BODY);

  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                "close");
  respond_message (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "invalid-data", message);
}

/* libsoup writes the realm as a bare token; clients (and the API's
 * description) expect the quoted form. */
static void
set_challenge (SoupServerMessage *msg)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "WWW-Authenticate",
                                "Basic realm=\"" BERTH_API_REALM "\"");
}

/* ---- who may ask ------------------------------------------------------ */

/* What a client on this machine sends as Host, alone or followed by
 * ":PORT"; BERTH_API_HOSTS_TEXT names them in messages. */
static const gchar *const loopback_hosts[] = { "127.0.0.1", "localhost", "[::1]" };
#define BERTH_API_HOSTS_TEXT "127.0.0.1, localhost or [::1]"
/* Characters of a refused header's value that a message repeats. */
#define BERTH_API_MAX_QUOTED_HEADER 100

/* A header's value for a message: valid UTF-8, and cut short when long. */
static gchar *
quote_header (const gchar *value)
{
  g_autofree gchar *valid = g_utf8_make_valid (value, -1);
  g_autofree gchar *cut = NULL;

  if (g_utf8_strlen (valid, -1) <= BERTH_API_MAX_QUOTED_HEADER)
    return g_strdup_printf ("\"%s\"", valid);
  cut = g_utf8_substring (valid, 0, BERTH_API_MAX_QUOTED_HEADER);
  return g_strdup_printf ("\"%s…\"", cut);
}

static gboolean
host_is_loopback (const gchar *host)
{
  for (gsize i = 0; i < G_N_ELEMENTS (loopback_hosts); i++)
    {
      gsize len = strlen (loopback_hosts[i]);
      const gchar *rest;

      /* Only "localhost" has letters to be in either case. */
      if (g_ascii_strncasecmp (host, loopback_hosts[i], len) != 0)
        continue;
      rest = host + len;
      if (*rest == '\0')
        return TRUE;
      if (*rest == ':' && g_ascii_string_to_unsigned (rest + 1, 10, 1, G_MAXUINT16, NULL, NULL))
        return TRUE;
    }
  return FALSE;
}

static gboolean
origin_is_allowed (BerthApiServer *self, const gchar *origin)
{
  for (gsize i = 0; self->allowed_origins[i] != NULL; i++)
    if (g_ascii_strcasecmp (origin, self->allowed_origins[i]) == 0)
      return TRUE;
  return FALSE;
}

/* Answers a request that no handler may see: one addressed to a name other
 * than this machine's (DNS rebinding: a page whose name was made to resolve
 * to 127.0.0.1 still sends that name as Host), or one a browser sends for a
 * page of an origin not allowed. Clients that are not browsers send no
 * Origin. FALSE when it answered. */
static gboolean
check_request_source (BerthApiServer *self, SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  /* Every value, joined: two Host headers are refused as one bad value. */
  const gchar *host = soup_message_headers_get_list (headers, "Host");
  const gchar *origin = soup_message_headers_get_list (headers, "Origin");

  if (host == NULL)
    {
      g_autofree gchar *message
          = g_strdup_printf ("The request has no Host header; berthd answers only requests for "
                             "Host " BERTH_API_HOSTS_TEXT " (with :PORT or without): send "
                             "Host: 127.0.0.1:%u",
                             self->port);

      respond_message (msg, SOUP_STATUS_BAD_REQUEST, "invalid-data", message);
      return FALSE;
    }
  if (!host_is_loopback (host))
    {
      g_autofree gchar *quoted = quote_header (host);
      g_autofree gchar *message
          = g_strdup_printf ("Refused a request for Host %s: berthd answers only requests for "
                             "Host " BERTH_API_HOSTS_TEXT " (with :PORT or without), so that "
                             "no web page can reach it under a name of its own; use "
                             "http://127.0.0.1:%u/",
                             quoted, self->port);

      g_debug ("Refused a request from %s for Host %s", soup_server_message_get_remote_host (msg),
               quoted);
      respond_message (msg, SOUP_STATUS_BAD_REQUEST, "invalid-data", message);
      return FALSE;
    }
  if (origin != NULL && !origin_is_allowed (self, origin))
    {
      g_autofree gchar *quoted = quote_header (origin);
      g_autofree gchar *allowed = g_strjoinv (", ", self->allowed_origins);
      g_autofree gchar *message = g_strdup_printf (
          "Refused a request from a web page of origin %s: berthd answers browsers only for "
          "the origins in $BERTH_API_ALLOWED_ORIGINS when it starts (%s%s); to allow this "
          "page, add its origin there and restart berthd",
          quoted, allowed[0] != '\0' ? "now: " : "none now", allowed);

      g_debug ("Refused a request from %s for a page of origin %s",
               soup_server_message_get_remote_host (msg), quoted);
      respond_message (msg, SOUP_STATUS_FORBIDDEN, "auth", message);
      return FALSE;
    }
  return TRUE;
}

/* ---- request bodies --------------------------------------------------- */

static const gchar *
json_node_kind (JsonNode *node)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    return "an object";
  if (JSON_NODE_HOLDS_ARRAY (node))
    return "an array";
  if (JSON_NODE_HOLDS_NULL (node))
    return "null";
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING:
      return "a string";
    case G_TYPE_BOOLEAN:
      return "a boolean";
    default:
      return "a number";
    }
}

/* Refuses what @route does not take in @object: a member it does not name
 * (the first one, by name), or a member of the wrong type. */
static gboolean
check_members (const Route *route, JsonObject *object, GError **error)
{
  g_autoptr (GList) names = json_object_get_members (object);

  for (GList *l = names; l != NULL; l = l->next)
    {
      gboolean known = FALSE;

      for (const BerthApiMember *m = route->members; m->name != NULL && !known; m++)
        known = g_str_equal (m->name, l->data);
      if (!known)
        {
          g_autoptr (GString) list = g_string_new (NULL);

          for (const BerthApiMember *m = route->members; m->name != NULL; m++)
            g_string_append_printf (list, "%s%s", list->len > 0 ? ", " : "", m->name);
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "%s does not take \"%s\"; it takes: %s", route->what, (const gchar *)l->data,
                       list->str);
          return FALSE;
        }
    }

  for (const BerthApiMember *m = route->members; m->name != NULL; m++)
    {
      JsonNode *node = json_object_get_member (object, m->name);
      GType type = node != NULL && JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node)
                                                                : G_TYPE_INVALID;

      switch (m->type)
        {
        case BERTH_API_MEMBER_STRING:
        case BERTH_API_MEMBER_REQUIRED_STRING:
          if (node != NULL && type != G_TYPE_STRING)
            {
              g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                           "%s \"%s\" is %s; it must be a string", route->what, m->name,
                           json_node_kind (node));
              return FALSE;
            }
          if (m->type == BERTH_API_MEMBER_REQUIRED_STRING
              && (node == NULL || json_node_get_string (node)[0] == '\0'))
            {
              g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                           "%s needs \"%s\", a non-empty string", route->what, m->name);
              return FALSE;
            }
          break;
        case BERTH_API_MEMBER_BOOLEAN:
          if (node != NULL && type != G_TYPE_BOOLEAN)
            {
              g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                           "%s \"%s\" is %s; it must be true or false", route->what, m->name,
                           json_node_kind (node));
              return FALSE;
            }
          break;
        case BERTH_API_MEMBER_PORT:
          if (node != NULL
              && (type != G_TYPE_INT64 || json_node_get_int (node) < 0
                  || json_node_get_int (node) > 65535))
            {
              g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                           "%s \"%s\" must be a port number from 0 (any free port) to 65535",
                           route->what, m->name);
              return FALSE;
            }
          break;
        case BERTH_API_MEMBER_REQUIRED_PORT_OR_NAME:
          if ((type == G_TYPE_STRING && json_node_get_string (node)[0] == '\0')
              || (type != G_TYPE_STRING
                  && (type != G_TYPE_INT64 || json_node_get_int (node) < 1
                      || json_node_get_int (node) > 65535)))
            {
              g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                           "%s needs \"%s\": a port number from 1 to 65535 or a port's name",
                           route->what, m->name);
              return FALSE;
            }
          break;
        default:
          g_assert_not_reached ();
        }
    }
  return TRUE;
}

/* NULL with no error for an empty body where @route allows one, and for a
 * route that takes none. */
static JsonNode *
read_body (const Route *route, const gchar *data, gsize len, GError **error)
{
  g_autoptr (JsonNode) root = NULL;

  if (route->body == BERTH_API_BODY_NONE)
    return NULL;

  /* JSON's whitespace only counts as empty; and only JSON's is trimmed, so
   * that "{}\f" is refused as it would be with the "\f" in front. */
  while (len > 0
         && (data[len - 1] == ' ' || data[len - 1] == '\t' || data[len - 1] == '\n'
             || data[len - 1] == '\r'))
    len--;
  if (len == 0)
    {
      if (route->body == BERTH_API_BODY_OPTIONAL_OBJECT)
        return NULL;
      g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                           "The request body is empty; this endpoint takes a JSON object");
      return NULL;
    }
  if (memchr (data, '\0', len) != NULL || !g_utf8_validate (data, (gssize)len, NULL))
    {
      g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                           "The request body is not UTF-8 text; send a JSON object");
      return NULL;
    }
  root = berth_json_parse (data, len, BERTH_API_MAX_JSON_DEPTH, "The request body", error);
  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "The request body is %s; this endpoint takes a JSON object",
                   json_node_kind (root));
      return NULL;
    }
  if (route->members != NULL && !check_members (route, json_node_get_object (root), error))
    return NULL;
  return g_steal_pointer (&root);
}

/* A string member of a body read_body() checked; NULL when absent. */
static const gchar *
body_string (JsonNode *body, const gchar *member)
{
  JsonNode *node
      = body != NULL ? json_object_get_member (json_node_get_object (body), member) : NULL;

  return node != NULL ? json_node_get_string (node) : NULL;
}

/* A boolean member of a body read_body() checked; @present_out says whether
 * it was there. */
static gboolean
body_boolean (JsonNode *body, const gchar *member, gboolean *present_out)
{
  JsonNode *node
      = body != NULL ? json_object_get_member (json_node_get_object (body), member) : NULL;

  *present_out = node != NULL;
  return node != NULL && json_node_get_boolean (node);
}

/* ---- events ----------------------------------------------------------- */

static void
broadcast (BerthApiServer *self, JsonNode *event)
{
  g_autofree gchar *text = NULL;

  if (self->event_sockets->len == 0)
    return;
  text = berth_json_to_string (event, FALSE);
  for (guint i = 0; i < self->event_sockets->len; i++)
    {
      SoupWebsocketConnection *conn = g_ptr_array_index (self->event_sockets, i);

      if (soup_websocket_connection_get_state (conn) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_send_text (conn, text);
    }
}

static JsonNode *
build_state_event (BerthApiServer *self, BerthState state, const gchar *reason)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "state-changed");
  json_builder_set_member_name (builder, "state");
  json_builder_add_string_value (builder, berth_state_to_string (state));
  json_builder_set_member_name (builder, "reason");
  if (reason != NULL)
    json_builder_add_string_value (builder, reason);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "stateSerial");
  json_builder_add_int_value (builder, self->state_serial);
  /* The STOPPING and STOPPED of a restart are not where it ends. */
  json_builder_set_member_name (builder, "restarting");
  json_builder_add_boolean_value (builder, berth_manager_is_restarting (self->manager));
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static void
on_state_changed (BerthManager *manager, BerthState state, const gchar *reason,
                  BerthApiServer *self)
{
  g_autoptr (JsonNode) event = NULL;

  self->state_serial++;
  event = build_state_event (self, state, reason);

  broadcast (self, event);
}

static void
on_progress_changed (BerthManager *manager, BerthApiServer *self)
{
  BerthProgress *progress = berth_manager_get_progress (manager);
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) event = NULL;
  const gchar *description = berth_progress_get_description (progress);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "progress");
  json_builder_set_member_name (builder, "description");
  if (description != NULL)
    json_builder_add_string_value (builder, description);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "current");
  json_builder_add_int_value (builder, (gint64)berth_progress_get_current (progress));
  json_builder_set_member_name (builder, "max");
  json_builder_add_int_value (builder, (gint64)berth_progress_get_max (progress));
  json_builder_end_object (builder);
  event = json_builder_get_root (builder);
  broadcast (self, event);
}

static void
on_settings_changed (BerthManager *manager, const gchar *const *keys, BerthApiServer *self)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) event = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "settings-changed");
  json_builder_set_member_name (builder, "keys");
  json_builder_begin_array (builder);
  for (gsize i = 0; keys != NULL && keys[i] != NULL; i++)
    json_builder_add_string_value (builder, keys[i]);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  event = json_builder_get_root (builder);
  broadcast (self, event);
}

static void
on_kubernetes_state_changed (BerthManager *manager, const gchar *state, const gchar *reason,
                             BerthApiServer *self)
{
  g_autoptr (JsonObject) object = json_object_new ();
  g_autoptr (JsonNode) event = NULL;

  json_object_set_string_member (object, "type", "kubernetes-state-changed");
  json_object_set_string_member (object, "state", state);
  if (reason != NULL)
    json_object_set_string_member (object, "reason", reason);
  else
    json_object_set_null_member (object, "reason");
  event = json_node_init_object (json_node_alloc (), object);
  broadcast (self, event);
}

static void
on_plugin_event (BerthManager *manager, const gchar *plugin, const gchar *signal_name,
                 JsonNode *args, BerthApiServer *self)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) event = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "plugin");
  json_builder_set_member_name (builder, "plugin");
  json_builder_add_string_value (builder, plugin);
  json_builder_set_member_name (builder, "signal");
  json_builder_add_string_value (builder, signal_name);
  json_builder_set_member_name (builder, "args");
  if (args != NULL)
    json_builder_add_value (builder, json_node_copy (args));
  else
    {
      json_builder_begin_array (builder);
      json_builder_end_array (builder);
    }
  json_builder_end_object (builder);
  event = json_builder_get_root (builder);
  broadcast (self, event);
}

/* {"type": "update-state", and the members of the update status}. */
static void
on_update_state (BerthManager *manager, JsonNode *status, BerthApiServer *self)
{
  g_autoptr (JsonObject) object = json_object_new ();
  g_autoptr (JsonNode) event = NULL;

  json_object_set_string_member (object, "type", "update-state");
  if (status != NULL && JSON_NODE_HOLDS_OBJECT (status))
    {
      JsonObjectIter iter;
      const gchar *name;
      JsonNode *value;

      json_object_iter_init (&iter, json_node_get_object (status));
      while (json_object_iter_next (&iter, &name, &value))
        json_object_set_member (object, name, json_node_copy (value));
    }
  event = json_node_init_object (json_node_alloc (), g_steal_pointer (&object));
  broadcast (self, event);
}

static void
on_event_socket_closed (SoupWebsocketConnection *conn, BerthApiServer *self)
{
  g_debug ("Event stream %p closed (code %u)", (gpointer)conn,
           soup_websocket_connection_get_close_code (conn));
  /* Each stream watches the images while it is open. */
  if (g_ptr_array_remove (self->event_sockets, conn) && self->manager != NULL)
    berth_manager_release_watch (self->manager);
}

static void
on_event_socket (SoupServer *server, SoupServerMessage *msg, const gchar *path,
                 SoupWebsocketConnection *conn, gpointer user_data)
{
  BerthApiServer *self = BERTH_API_SERVER (user_data);
  g_autoptr (JsonNode) hello = NULL;
  g_autofree gchar *text = NULL;

  soup_websocket_connection_set_max_incoming_payload_size (conn, BERTH_API_MAX_INCOMING_FRAME);
  soup_websocket_connection_set_keepalive_interval (conn, BERTH_API_KEEPALIVE_SECONDS);
  g_signal_connect_object (conn, "closed", G_CALLBACK (on_event_socket_closed), self, 0);
  g_ptr_array_add (self->event_sockets, g_object_ref (conn));
  berth_manager_hold_watch (self->manager);
  g_debug ("Event stream %p opened from %s", (gpointer)conn,
           soup_server_message_get_remote_host (msg));

  /* The current state first, so a client knows where it stands before the
   * first change. */
  hello = build_state_event (self, berth_manager_get_state (self->manager),
                             berth_manager_get_state_reason (self->manager));
  text = berth_json_to_string (hello, FALSE);
  soup_websocket_connection_send_text (conn, text);
}

/* ---- routes ----------------------------------------------------------- */

static void
route_list (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query);
static void
route_about (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query);
static void
route_vm (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query);
static void
route_get_settings (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                    GHashTable *query);
static void
route_put_settings (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                    GHashTable *query);
static void
route_propose_settings (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                        GHashTable *query);
static void
route_import_settings (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                       GHashTable *query);
static void
route_settings_description (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                            GHashTable *query);
static void
route_get_backend_state (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                         GHashTable *query);
static void
route_put_backend_state (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                         GHashTable *query);
static void
route_shutdown (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query);
static void
route_factory_reset (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                     GHashTable *query);
static void
route_k8s_reset (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query);
static void
route_vm_reset (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query);
static void
route_k8s_versions (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                    GHashTable *query);
static void
route_k8s_services (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                    GHashTable *query);
static void
route_port_forward (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                    GHashTable *query);
static void
route_port_unforward (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                      GHashTable *query);
static void
route_plugins (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query);
static void
route_diagnostic_checks (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                         GHashTable *query);
static void
route_events (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query);
static void
route_images (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query);
static void
route_update (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query);
static void
route_update_check (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                    GHashTable *query);
static void
route_update_apply (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                    GHashTable *query);
static void
route_image_namespaces (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                        GHashTable *query);
static void
route_image_pull (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query);
static void
route_image_build (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query);
static void
route_image_tag (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query);
static void
route_image_remove (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                    GHashTable *query);

#define STRING BERTH_API_MEMBER_STRING
#define REQUIRED_STRING BERTH_API_MEMBER_REQUIRED_STRING
#define BOOLEAN BERTH_API_MEMBER_BOOLEAN
#define PORT BERTH_API_MEMBER_PORT
#define REQUIRED_PORT_OR_NAME BERTH_API_MEMBER_REQUIRED_PORT_OR_NAME
static const BerthApiMember backend_state_members[]
    = { { "vmState", STRING }, { "locked", BOOLEAN }, { NULL } };
static const BerthApiMember factory_reset_members[] = { { "keepSystemImages", BOOLEAN }, { NULL } };
static const BerthApiMember k8s_reset_members[] = { { "mode", STRING }, { NULL } };
static const BerthApiMember port_forwarding_members[] = { { "namespace", STRING },
                                                          { "service", REQUIRED_STRING },
                                                          { "k8sPort", REQUIRED_PORT_OR_NAME },
                                                          { "hostPort", PORT },
                                                          { NULL } };
static const BerthApiMember image_pull_members[]
    = { { "ref", REQUIRED_STRING }, { "namespace", STRING }, { NULL } };
static const BerthApiMember image_build_members[]
    = { { "context", REQUIRED_STRING }, { "tag", STRING }, { "namespace", STRING }, { NULL } };
static const BerthApiMember image_tag_members[] = {
  { "source", REQUIRED_STRING }, { "target", REQUIRED_STRING }, { "namespace", STRING }, { NULL }
};
static const BerthApiMember image_remove_members[]
    = { { "ref", REQUIRED_STRING }, { "namespace", STRING }, { NULL } };
#undef STRING
#undef REQUIRED_STRING
#undef BOOLEAN

#define NO_BODY BERTH_API_BODY_NONE, NULL, NULL
static const Route routes[] = {
  { "GET", "/v1", NO_BODY, route_list },
  { "GET", "/v1/about", NO_BODY, route_about },
  { "GET", "/v1/vm", NO_BODY, route_vm },
  { "GET", "/v1/settings", NO_BODY, route_get_settings },
  { "PUT", "/v1/settings", BERTH_API_BODY_OBJECT, NULL, NULL, route_put_settings },
  { "PUT", "/v1/propose_settings", BERTH_API_BODY_OBJECT, NULL, NULL, route_propose_settings },
  { "PUT", "/v1/settings/import", BERTH_API_BODY_OBJECT, NULL, NULL, route_import_settings },
  { "GET", "/v1/settings/description", NO_BODY, route_settings_description },
  { "GET", "/v1/backend_state", NO_BODY, route_get_backend_state },
  { "PUT", "/v1/backend_state", BERTH_API_BODY_OBJECT, "backend_state", backend_state_members,
    route_put_backend_state },
  { "PUT", "/v1/shutdown", NO_BODY, route_shutdown },
  { "PUT", "/v1/factory_reset", BERTH_API_BODY_OPTIONAL_OBJECT, "factory_reset",
    factory_reset_members, route_factory_reset },
  { "PUT", "/v1/k8s_reset", BERTH_API_BODY_OPTIONAL_OBJECT, "k8s_reset", k8s_reset_members,
    route_k8s_reset },
  { "PUT", "/v1/vm_reset", NO_BODY, route_vm_reset },
  { "GET", "/v1/k8s_versions", NO_BODY, route_k8s_versions },
  { "GET", "/v1/k8s_services", NO_BODY, route_k8s_services },
  { "POST", "/v1/port_forwarding", BERTH_API_BODY_OBJECT, "port_forwarding",
    port_forwarding_members, route_port_forward },
  { "DELETE", "/v1/port_forwarding", NO_BODY, route_port_unforward },
  { "GET", "/v1/plugins", NO_BODY, route_plugins },
  { "GET", "/v1/diagnostic_checks", NO_BODY, route_diagnostic_checks },
  { "GET", "/v1/events", NO_BODY, route_events },
  { "GET", "/v1/images", NO_BODY, route_images },
  { "GET", "/v1/images/namespaces", NO_BODY, route_image_namespaces },
  { "POST", "/v1/images/pull", BERTH_API_BODY_OBJECT, "images/pull", image_pull_members,
    route_image_pull },
  { "POST", "/v1/images/build", BERTH_API_BODY_OBJECT, "images/build", image_build_members,
    route_image_build },
  { "POST", "/v1/images/tag", BERTH_API_BODY_OBJECT, "images/tag", image_tag_members,
    route_image_tag },
  { "POST", "/v1/images/remove", BERTH_API_BODY_OBJECT, "images/remove", image_remove_members,
    route_image_remove },
  /* Rancher Desktop's API has no updates: these are Berth's. */
  { "GET", "/v1/update", NO_BODY, route_update },
  { "PUT", "/v1/update/check", NO_BODY, route_update_check },
  { "PUT", "/v1/update/apply", NO_BODY, route_update_apply },
};
#undef NO_BODY

gboolean
berth_api_server_get_route (guint index, const gchar **method_out, const gchar **path_out,
                            BerthApiBodyKind *kind_out, const BerthApiMember **members_out)
{
  if (index >= G_N_ELEMENTS (routes))
    return FALSE;
  if (method_out != NULL)
    *method_out = routes[index].method;
  if (path_out != NULL)
    *path_out = routes[index].path;
  if (kind_out != NULL)
    *kind_out = routes[index].body;
  if (members_out != NULL)
    *members_out = routes[index].members;
  return TRUE;
}

JsonNode *
berth_api_server_read_body (const gchar *method, const gchar *path, const gchar *data, gsize length,
                            GError **error)
{
  g_return_val_if_fail (method != NULL && path != NULL, NULL);
  g_return_val_if_fail (data != NULL || length == 0, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (routes); i++)
    if (g_str_equal (routes[i].method, method) && g_str_equal (routes[i].path, path))
      return read_body (&routes[i], data != NULL ? data : "", length, error);
  g_return_val_if_reached (NULL);
}

static void
route_list (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) node = NULL;

  json_builder_begin_array (builder);
  for (gsize i = 0; i < G_N_ELEMENTS (routes); i++)
    {
      g_autofree gchar *entry = g_strdup_printf ("%s %s", routes[i].method, routes[i].path);

      json_builder_add_string_value (builder, entry);
    }
  json_builder_end_array (builder);
  node = json_builder_get_root (builder);
  respond_json (msg, SOUP_STATUS_OK, node);
}

static void
route_about (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query)
{
  g_autoptr (JsonNode) about = berth_manager_dup_about (self->manager);

  if (JSON_NODE_HOLDS_OBJECT (about))
    json_object_set_int_member (json_node_get_object (about), "apiPort", self->port);
  respond_json (msg, SOUP_STATUS_OK, about);
}

/* What the backend knows of its VM: resources, acceleration, and how to
 * reach it over SSH (berthctl shell uses this). */
static void
route_vm (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query)
{
  BerthBackend *backend = berth_manager_get_backend (self->manager);
  g_autoptr (JsonNode) info = NULL;
  g_autoptr (GError) error = NULL;

  if (backend == NULL)
    {
      respond_error_literal (msg, BERTH_ERROR_NOT_FOUND,
                             "No backend plugin is loaded, so there is no VM; see berthctl "
                             "plugins");
      return;
    }
  info = berth_backend_info (backend, &error);
  if (info == NULL)
    {
      respond_error (msg, error);
      return;
    }
  respond_json (msg, SOUP_STATUS_OK, info);
}

static void
route_get_settings (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query)
{
  g_autoptr (JsonNode) settings
      = berth_settings_dup_node (berth_manager_get_settings (self->manager));

  respond_json (msg, SOUP_STATUS_OK, settings);
}

/* Every setting: its type, default, effect and whether berthd acts on it
 * here (supported, unsupportedReason), for berthctl list-settings and
 * other frontends. */
static void
route_settings_description (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                            GHashTable *query)
{
  BerthSettings *settings = berth_manager_get_settings (self->manager);
  g_autoptr (JsonNode) description
      = berth_settings_describe_schema (berth_settings_get_host (settings));

  respond_json (msg, SOUP_STATUS_OK, description);
}

static void
route_put_settings (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query)
{
  g_autoptr (JsonNode) pending = NULL;
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) answer = NULL;
  g_autoptr (GError) error = NULL;

  if (!berth_manager_update_settings (self->manager, body, &pending, &error))
    {
      respond_error (msg, error);
      return;
    }
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "pending");
  if (pending != NULL)
    json_builder_add_value (builder, g_steal_pointer (&pending));
  else
    {
      json_builder_begin_object (builder);
      json_builder_end_object (builder);
    }
  /* The pending changes are being applied by a restart now: its state
   * changes are those from this serial on. */
  json_builder_set_member_name (builder, "restarting");
  json_builder_add_boolean_value (builder, berth_manager_is_restarting (self->manager));
  /* Or Kubernetes alone restarts for them, with the VM left running. */
  json_builder_set_member_name (builder, "kubernetesRestarting");
  json_builder_add_boolean_value (builder, berth_manager_is_restarting_kubernetes (self->manager));
  json_builder_set_member_name (builder, "stateSerial");
  json_builder_add_int_value (builder, self->state_serial);
  json_builder_end_object (builder);
  answer = json_builder_get_root (builder);
  respond_json (msg, SOUP_STATUS_ACCEPTED, answer);
}

static void
route_propose_settings (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                        GHashTable *query)
{
  g_autoptr (JsonNode) proposal = NULL;
  g_autoptr (GError) error = NULL;

  proposal = berth_manager_propose_settings (self->manager, body, &error);
  if (proposal == NULL)
    {
      respond_error (msg, error);
      return;
    }
  respond_json (msg, SOUP_STATUS_ACCEPTED, proposal);
}

/* The manager's backend state and the serial of its state: after a PUT,
 * the state changes the request led to are those from that serial on. */
static JsonNode *
dup_backend_state (BerthApiServer *self)
{
  JsonNode *state = berth_manager_dup_backend_state (self->manager);

  json_object_set_int_member (json_node_get_object (state), "stateSerial", self->state_serial);
  return state;
}

/* The body is Rancher Desktop's settings.json. The answer says what
 * changed and what that takes, as PUT /v1/settings does, and what was not
 * carried over. */
static void
route_import_settings (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                       GHashTable *query)
{
  g_autoptr (BerthSettingsImport) import = NULL;
  g_auto (GStrv) changed = NULL;
  g_autoptr (JsonNode) pending = NULL;
  g_autoptr (JsonObject) answer = json_object_new ();
  g_autoptr (JsonArray) changed_array = json_array_new ();
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GError) error = NULL;

  if (!berth_manager_import_settings (self->manager, body, &import, &changed, &pending, &error))
    {
      respond_error (msg, error);
      return;
    }
  for (gsize i = 0; changed[i] != NULL; i++)
    json_array_add_string_element (changed_array, changed[i]);
  json_object_set_array_member (answer, "changed", g_steal_pointer (&changed_array));
  json_object_set_member (answer, "pending", g_steal_pointer (&pending));
  json_object_set_boolean_member (answer, "restarting",
                                  berth_manager_is_restarting (self->manager));
  json_object_set_boolean_member (answer, "kubernetesRestarting",
                                  berth_manager_is_restarting_kubernetes (self->manager));
  json_object_set_int_member (answer, "stateSerial", self->state_serial);
  berth_settings_import_add_to_json (import, answer);
  node = json_node_init_object (json_node_alloc (), answer);
  respond_json (msg, SOUP_STATUS_ACCEPTED, node);
}

static void
route_get_backend_state (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                         GHashTable *query)
{
  g_autoptr (JsonNode) state = dup_backend_state (self);

  respond_json (msg, SOUP_STATUS_OK, state);
}

static void
start_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  /* The manager reports the failure itself (ERROR state with the reason);
   * this is only the log's copy. */
  if (!berth_manager_start_finish (BERTH_MANAGER (source), result, &error))
    g_message ("Start asked through the API failed: %s", error->message);
}

static void
stop_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!berth_manager_stop_finish (BERTH_MANAGER (source), result, &error))
    g_message ("Stop asked through the API failed: %s", error->message);
}

static void
reset_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!berth_manager_reset_finish (BERTH_MANAGER (source), result, &error))
    g_message ("Reset asked through the API failed: %s", error->message);
}

/* As Rancher Desktop quits after a factory reset: nothing of it is left to
 * serve. A failed reset leaves berthd up, to be asked again. */
static void
factory_reset_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (BerthApiServer) self = user_data;
  g_autoptr (GError) error = NULL;

  if (!berth_manager_reset_finish (BERTH_MANAGER (source), result, &error))
    {
      g_message ("The factory reset failed, so berthd stays: %s", error->message);
      return;
    }
  g_message ("Factory reset done; berthd quits");
  if (!self->shutdown_requested)
    {
      self->shutdown_requested = TRUE;
      g_signal_emit (self, signals[SIGNAL_SHUTDOWN_REQUESTED], 0);
    }
}

static void
route_put_backend_state (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                         GHashTable *query)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) answer = NULL;
  const gchar *vm_state = body_string (body, "vmState");
  gboolean has_locked = FALSE;
  gboolean locked = body_boolean (body, "locked", &has_locked);
  gboolean want_started = FALSE;

  if (vm_state != NULL)
    {
      if (g_ascii_strcasecmp (vm_state, "STARTED") == 0)
        want_started = TRUE;
      else if (g_ascii_strcasecmp (vm_state, "STOPPED") != 0)
        {
          g_autofree gchar *message = g_strdup_printf (
              "backend_state vmState \"%s\" cannot be asked for; use \"STARTED\" or \"STOPPED\"",
              vm_state);

          respond_error_literal (msg, BERTH_ERROR_INVALID_DATA, message);
          return;
        }
    }

  /* Unlock before acting and lock after, so {vmState, locked: false} acts
   * on an unlocked backend and {vmState, locked: true} acts, then locks. */
  if (has_locked && !locked)
    berth_manager_set_locked (self->manager, FALSE);
  if (vm_state != NULL)
    {
      gboolean ok = want_started ? berth_manager_check_start (self->manager, &error)
                                 : berth_manager_check_stop (self->manager, &error);

      if (!ok)
        {
          respond_error (msg, error);
          return;
        }
      if (want_started)
        berth_manager_start_async (self->manager, NULL, start_done, NULL);
      else
        berth_manager_stop_async (self->manager, NULL, stop_done, NULL);
    }
  if (has_locked && locked)
    berth_manager_set_locked (self->manager, TRUE);

  answer = dup_backend_state (self);
  respond_json (msg, SOUP_STATUS_ACCEPTED, answer);
}

static void
emit_shutdown_requested (SoupServerMessage *msg, BerthApiServer *self)
{
  if (self->shutdown_requested)
    return;
  self->shutdown_requested = TRUE;
  g_signal_emit (self, signals[SIGNAL_SHUTDOWN_REQUESTED], 0);
}

static void
route_shutdown (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query)
{
  /* Told once the answer is on its way, so the client hears 202 before
   * berthd goes. */
  g_signal_connect_object (msg, "finished", G_CALLBACK (emit_shutdown_requested), self, 0);
  respond_message (msg, SOUP_STATUS_ACCEPTED, NULL, "Berth is shutting down");
}

/* ---- Berth's own updates ------------------------------------------------ */

static void
route_update (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query)
{
  g_autoptr (JsonNode) status = berth_manager_dup_update_status (self->manager);

  respond_json (msg, SOUP_STATUS_OK, status);
}

typedef struct
{
  BerthApiServer *server;
  SoupServerMessage *msg;
} UpdateCall;

static UpdateCall *
update_call_new (BerthApiServer *self, SoupServerMessage *msg)
{
  UpdateCall *call = g_new0 (UpdateCall, 1);

  call->server = g_object_ref (self);
  call->msg = g_object_ref (msg);
  soup_server_message_pause (msg);
  return call;
}

static void
update_call_done (UpdateCall *call)
{
  soup_server_message_unpause (call->msg);
  g_object_unref (call->msg);
  g_object_unref (call->server);
  g_free (call);
}

static void
update_checked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  UpdateCall *call = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) status
      = berth_manager_check_update_finish (BERTH_MANAGER (source), result, &error);

  if (status == NULL)
    respond_error (call->msg, error);
  else
    respond_json (call->msg, SOUP_STATUS_OK, status);
  update_call_done (call);
}

static void
route_update_check (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query)
{
  berth_manager_check_update_async (self->manager, NULL, update_checked,
                                    update_call_new (self, msg));
}

static void
emit_restart_requested (SoupServerMessage *msg, BerthApiServer *self)
{
  if (self->restart_requested)
    return;
  self->restart_requested = TRUE;
  g_signal_emit (self, signals[SIGNAL_RESTART_REQUESTED], 0);
}

static void
update_applied (GObject *source, GAsyncResult *result, gpointer user_data)
{
  UpdateCall *call = user_data;
  g_autoptr (GError) error = NULL;

  if (!berth_manager_apply_update_finish (BERTH_MANAGER (source), result, &error))
    respond_error (call->msg, error);
  else
    {
      g_autoptr (JsonNode) status = berth_manager_dup_update_status (call->server->manager);

      /* berthd restarts into the new release once the answer is out. */
      g_signal_connect_object (call->msg, "finished", G_CALLBACK (emit_restart_requested),
                               call->server, 0);
      respond_json (call->msg, SOUP_STATUS_ACCEPTED, status);
    }
  update_call_done (call);
}

static void
route_update_apply (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query)
{
  berth_manager_apply_update_async (self->manager, NULL, update_applied,
                                    update_call_new (self, msg));
}

static void
route_factory_reset (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                     GHashTable *query)
{
  g_autoptr (GError) error = NULL;
  gboolean present;
  gboolean keep;

  if (!berth_manager_check_reset (self->manager, BERTH_RESET_FACTORY, &error))
    {
      respond_error (msg, error);
      return;
    }
  keep = body_boolean (body, "keepSystemImages", &present);
  berth_manager_factory_reset_async (self->manager, keep, NULL, factory_reset_done,
                                     g_object_ref (self));
  respond_message (msg, SOUP_STATUS_ACCEPTED, NULL,
                   keep ? "Berth is doing a factory reset: the VM, its data and the settings are "
                          "being removed, the cache (the guest image, Kubernetes' downloads) "
                          "stays (keepSystemImages), then berthd quits"
                        : "Berth is doing a factory reset: the VM, its data, the caches and the "
                          "settings are being removed, then berthd quits");
}

static void
route_k8s_reset (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query)
{
  g_autoptr (GError) error = NULL;
  const gchar *mode = body_string (body, "mode");
  BerthResetKind kind = BERTH_RESET_KUBERNETES_FAST;
  g_autofree gchar *message = NULL;

  if (mode == NULL || g_str_equal (mode, "fast"))
    kind = BERTH_RESET_KUBERNETES_FAST;
  else if (g_str_equal (mode, "wipe"))
    kind = BERTH_RESET_KUBERNETES_WIPE;
  else
    {
      message = g_strdup_printf ("k8s_reset mode \"%s\" is not known; use \"fast\" (Kubernetes "
                                 "state only) or \"wipe\" (its images too)",
                                 mode);
      respond_error_literal (msg, BERTH_ERROR_INVALID_DATA, message);
      return;
    }
  if (!berth_manager_check_reset (self->manager, kind, &error))
    {
      respond_error (msg, error);
      return;
    }
  berth_manager_reset_async (self->manager, kind, NULL, reset_done, NULL);
  message = g_strdup_printf ("Kubernetes is being reset (%s)",
                             kind == BERTH_RESET_KUBERNETES_FAST ? "fast" : "wipe");
  respond_message (msg, SOUP_STATUS_ACCEPTED, NULL, message);
}

/* Berth's own: wipes the VM's disk (and with it Kubernetes and the images),
 * keeping settings and caches. rdctl has no such endpoint. */
static void
route_vm_reset (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query)
{
  g_autoptr (GError) error = NULL;

  if (!berth_manager_check_reset (self->manager, BERTH_RESET_VM, &error))
    {
      respond_error (msg, error);
      return;
    }
  berth_manager_reset_async (self->manager, BERTH_RESET_VM, NULL, reset_done, NULL);
  respond_message (msg, SOUP_STATUS_ACCEPTED, NULL,
                   "The VM is being reset: its disk is removed and made anew on the next start");
}

/* ---- Kubernetes --------------------------------------------------------- */

/* A paused request, answered when the manager's call is done. */
typedef struct
{
  BerthApiServer *self;
  SoupServerMessage *msg;
  gchar *what; /* "default/web:80", for the log */
} KubernetesCall;

static KubernetesCall *
kubernetes_call_new (BerthApiServer *self, SoupServerMessage *msg, gchar *what)
{
  KubernetesCall *call = g_new0 (KubernetesCall, 1);

  call->self = g_object_ref (self);
  call->msg = g_object_ref (msg);
  call->what = what;
  soup_server_message_pause (msg);
  return call;
}

static void
kubernetes_call_done (KubernetesCall *call)
{
  soup_server_message_unpause (call->msg);
  g_object_unref (call->msg);
  g_object_unref (call->self);
  g_free (call->what);
  g_free (call);
}

static void
k8s_versions_listed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  KubernetesCall *call = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) versions
      = berth_manager_list_kubernetes_versions_finish (BERTH_MANAGER (source), result, &error);

  if (versions == NULL)
    respond_error (call->msg, error);
  else
    {
      g_autoptr (JsonArray) array = json_array_sized_new (versions->len);
      g_autoptr (JsonObject) answer = json_object_new ();
      g_autoptr (JsonNode) node = NULL;

      for (guint i = 0; i < versions->len; i++)
        json_array_add_string_element (array, g_ptr_array_index (versions, i));
      json_object_set_array_member (answer, "versions", g_steal_pointer (&array));
      node = json_node_init_object (json_node_alloc (), answer);
      respond_json (call->msg, SOUP_STATUS_OK, node);
    }
  kubernetes_call_done (call);
}

/* {versions: ["v1.30.2+k3s1", …]}, newest first. */
static void
route_k8s_versions (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query)
{
  berth_manager_list_kubernetes_versions_async (
      self->manager, NULL, k8s_versions_listed,
      kubernetes_call_new (self, msg, g_strdup ("versions")));
}

static void
route_k8s_services (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) services = berth_manager_dup_kubernetes_services (self->manager, &error);

  if (services == NULL)
    {
      respond_error (msg, error);
      return;
    }
  respond_json (msg, SOUP_STATUS_OK, services);
}

/* k8sPort as the route took it: a number or a port's name. */
static gchar *
body_port_or_name (JsonNode *body, const gchar *member)
{
  JsonNode *node = json_object_get_member (json_node_get_object (body), member);

  if (json_node_get_value_type (node) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (node));
  return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
}

static void
service_forwarded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  KubernetesCall *call = user_data;
  g_autoptr (GError) error = NULL;
  guint port
      = berth_manager_forward_kubernetes_service_finish (BERTH_MANAGER (source), result, &error);

  if (port == 0)
    {
      g_message ("Forwarding %s failed: %s", call->what, error->message);
      respond_error (call->msg, error);
    }
  else
    {
      g_autofree gchar *text = g_strdup_printf ("%u", port);

      g_message ("Forwarded %s to 127.0.0.1:%u", call->what, port);
      soup_server_message_set_status (call->msg, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (call->msg, "text/plain", SOUP_MEMORY_COPY, text,
                                        strlen (text));
    }
  kubernetes_call_done (call);
}

/* As rdctl: {namespace, service, k8sPort, hostPort}; the answer is the
 * host port, as text. */
static void
route_port_forward (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query)
{
  const gchar *ns = body_string (body, "namespace");
  const gchar *service = body_string (body, "service");
  g_autofree gchar *port = body_port_or_name (body, "k8sPort");
  JsonNode *host_node = json_object_get_member (json_node_get_object (body), "hostPort");
  guint host_port = host_node != NULL ? (guint)json_node_get_int (host_node) : 0;

  if (ns == NULL || ns[0] == '\0')
    ns = "default";
  berth_manager_forward_kubernetes_service_async (
      self->manager, ns, service, port, host_port, NULL, service_forwarded,
      kubernetes_call_new (self, msg, g_strdup_printf ("%s/%s:%s", ns, service, port)));
}

static void
service_unforwarded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  KubernetesCall *call = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *message = NULL;

  if (!berth_manager_unforward_kubernetes_service_finish (BERTH_MANAGER (source), result, &error))
    respond_error (call->msg, error);
  else
    {
      message = g_strdup_printf ("%s is not forwarded", call->what);
      respond_message (call->msg, SOUP_STATUS_OK, NULL, message);
    }
  kubernetes_call_done (call);
}

/* As rdctl: ?namespace=&service=&k8sPort=. */
static void
route_port_unforward (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                      GHashTable *query)
{
  const gchar *ns = query != NULL ? g_hash_table_lookup (query, "namespace") : NULL;
  const gchar *service = query != NULL ? g_hash_table_lookup (query, "service") : NULL;
  const gchar *port = query != NULL ? g_hash_table_lookup (query, "k8sPort") : NULL;

  if (service == NULL || service[0] == '\0' || port == NULL || port[0] == '\0')
    {
      respond_error_literal (msg, BERTH_ERROR_INVALID_DATA,
                             "DELETE /v1/port_forwarding needs the query parameters service and "
                             "k8sPort (and namespace, default \"default\")");
      return;
    }
  if (ns == NULL || ns[0] == '\0')
    ns = "default";
  berth_manager_unforward_kubernetes_service_async (
      self->manager, ns, service, port, NULL, service_unforwarded,
      kubernetes_call_new (self, msg, g_strdup_printf ("%s/%s:%s", ns, service, port)));
}

static void
route_plugins (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query)
{
  g_autoptr (JsonNode) plugins = berth_manager_dup_plugins (self->manager);

  respond_json (msg, SOUP_STATUS_OK, plugins);
}

static void
route_diagnostic_checks (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                         GHashTable *query)
{
  g_autoptr (JsonNode) checks = berth_manager_run_diagnostics (self->manager);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree gchar *stamp = g_date_time_format_iso8601 (now);
  const gchar *check_id = query != NULL ? g_hash_table_lookup (query, "checkID") : NULL;
  g_autoptr (JsonArray) selected = json_array_new ();
  g_autoptr (JsonObject) answer = json_object_new ();
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  if (checks != NULL && JSON_NODE_HOLDS_ARRAY (checks))
    {
      JsonArray *all = json_node_get_array (checks);

      for (guint i = 0; i < json_array_get_length (all); i++)
        {
          JsonNode *check = json_array_get_element (all, i);
          JsonObject *object = JSON_NODE_HOLDS_OBJECT (check) ? json_node_get_object (check) : NULL;

          /* As rdctl: an unknown checkID selects nothing, not an error. */
          if (check_id != NULL
              && (object == NULL
                  || g_strcmp0 (json_object_get_string_member_with_default (object, "id", NULL),
                                check_id)
                         != 0))
            continue;
          json_array_add_element (selected, json_node_copy (check));
        }
    }
  json_object_set_string_member (answer, "last_update", stamp);
  json_object_set_array_member (answer, "checks", g_steal_pointer (&selected));
  json_node_set_object (node, answer);
  respond_json (msg, SOUP_STATUS_OK, node);
}

static void
route_events (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query)
{
  g_autoptr (GError) error = NULL;

  /* A good handshake is left alone: libsoup answers it and hands the
   * connection to on_event_socket(). */
  if (soup_websocket_server_check_handshake (msg, NULL, NULL, NULL, &error))
    return;
  {
    g_autofree gchar *message
        = g_strdup_printf ("/v1/events is a WebSocket stream; open it with an Upgrade: websocket "
                           "request (%s)",
                           error->message);

    respond_error_literal (msg, BERTH_ERROR_INVALID_DATA, message);
  }
}

/* ---- images ----------------------------------------------------------- */

/* The image routes answer when the engine has: the request is paused
 * meanwhile. A pull or a build can take minutes; the answer is 200 with what
 * the CLI printed once it is done (clients give these requests a long
 * timeout), and the event stream tells watchers about the new list. */
typedef gboolean (*ImageFinishFunc) (BerthImageProcessor *processor, GAsyncResult *result,
                                     GError **error);

typedef struct
{
  SoupServerMessage *msg;
  ImageFinishFunc finish;
  gchar *what; /* "pull busybox:latest", for the log and the answer */
  gboolean hide_system_images; /* images.showAll false, on k8s.io's list */
} ImageCall;

static ImageCall *
image_call_new (SoupServerMessage *msg, ImageFinishFunc finish, gchar *what)
{
  ImageCall *call = g_new0 (ImageCall, 1);

  call->msg = g_object_ref (msg);
  call->finish = finish;
  call->what = what;
  soup_server_message_pause (msg);
  return call;
}

static void
image_call_done (ImageCall *call)
{
  soup_server_message_unpause (call->msg);
  g_object_unref (call->msg);
  g_free (call->what);
  g_free (call);
}

/* The image processor when Berth runs and has one; otherwise the answer
 * says why not and NULL is returned. */
static BerthImageProcessor *
image_processor_or_respond (BerthApiServer *self, SoupServerMessage *msg)
{
  BerthImageProcessor *processor = berth_manager_get_image_processor (self->manager);
  BerthState state = berth_manager_get_state (self->manager);
  g_autofree gchar *message = NULL;

  if (processor == NULL)
    {
      const gchar *engine = berth_settings_get_string (berth_manager_get_settings (self->manager),
                                                       "containerEngine.name");
      gboolean containerd = g_strcmp0 (engine, "containerd") == 0;

      message
          = g_strdup_printf ("No image processor plugin for containerEngine.name %s is "
                             "loaded (it would be berth-%s); berthctl plugins says why",
                             containerd ? "containerd" : "moby", containerd ? "nerdctl" : "moby");
      respond_error_literal (msg, BERTH_ERROR_NOT_FOUND, message);
      return NULL;
    }
  if (state != BERTH_STATE_STARTED)
    {
      message = g_strdup_printf ("Images live in the running engine, and Berth is %s; start it "
                                 "first (berthctl start --wait)",
                                 berth_state_to_string (state));
      respond_error_literal (msg, BERTH_ERROR_BUSY, message);
      return NULL;
    }
  return processor;
}

/* The optional "namespace" member of an image request's body; NULL when
 * absent or empty. */
static const gchar *
body_namespace (JsonNode *body)
{
  const gchar *ns = body_string (body, "namespace");

  return ns != NULL && ns[0] != '\0' ? ns : NULL;
}

static void
images_listed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ImageCall *call = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) images
      = berth_image_processor_list_images_finish (BERTH_IMAGE_PROCESSOR (source), result, &error);

  if (images == NULL)
    respond_error (call->msg, error);
  else if (call->hide_system_images)
    {
      g_autoptr (JsonNode) shown = berth_image_list_without_system_images (images);

      respond_json (call->msg, SOUP_STATUS_OK, shown);
    }
  else
    respond_json (call->msg, SOUP_STATUS_OK, images);
  image_call_done (call);
}

/* Always the engine's list as it is now, not what the last refresh saw. */
static void
route_images (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query)
{
  BerthImageProcessor *processor = image_processor_or_respond (self, msg);
  BerthSettings *settings = berth_manager_get_settings (self->manager);
  const gchar *ns = query != NULL ? g_hash_table_lookup (query, "namespace") : NULL;
  ImageCall *call;

  if (processor == NULL)
    return;
  if (ns != NULL && ns[0] == '\0')
    ns = NULL;
  call = image_call_new (msg, NULL, NULL);
  /* As Rancher Desktop: Kubernetes' own images are hidden from the k8s.io
   * list (the engine's, for moby, stands for images.namespace) unless
   * images.showAll. */
  call->hide_system_images
      = !berth_settings_get_boolean (settings, "images.showAll")
        && g_strcmp0 (ns != NULL ? ns : berth_settings_get_string (settings, "images.namespace"),
                      "k8s.io")
               == 0;
  berth_image_processor_list_images_async (processor, ns, NULL, images_listed, call);
}

static void
namespaces_listed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ImageCall *call = user_data;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) names = berth_image_processor_list_namespaces_finish (
      BERTH_IMAGE_PROCESSOR (source), result, &error);

  if (names == NULL)
    respond_error (call->msg, error);
  else
    {
      g_autoptr (JsonArray) array = json_array_new ();
      g_autoptr (JsonNode) node = NULL;

      for (gsize i = 0; names[i] != NULL; i++)
        json_array_add_string_element (array, names[i]);
      node = json_node_init_array (json_node_alloc (), array);
      respond_json (call->msg, SOUP_STATUS_OK, node);
    }
  image_call_done (call);
}

static void
route_image_namespaces (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body,
                        GHashTable *query)
{
  BerthImageProcessor *processor = image_processor_or_respond (self, msg);

  if (processor == NULL)
    return;
  berth_image_processor_list_namespaces_async (processor, NULL, namespaces_listed,
                                               image_call_new (msg, NULL, NULL));
}

/* Pull, build, tag and remove end here: {"message", "output"} or an error. */
static void
image_operation_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ImageCall *call = user_data;
  g_autoptr (GError) error = NULL;
  /* What the CLI printed travels on the processor's result. */
  g_autofree gchar *output = g_strdup (berth_image_result_get_output (result));

  if (!call->finish (BERTH_IMAGE_PROCESSOR (source), result, &error))
    {
      g_message ("Image %s asked through the API failed: %s", call->what, error->message);
      respond_error (call->msg, error);
    }
  else
    {
      g_autoptr (JsonObject) answer = json_object_new ();
      g_autoptr (JsonNode) node = NULL;
      g_autofree gchar *message = g_strdup_printf ("Done: %s", call->what);

      g_message ("Image %s asked through the API: done", call->what);
      json_object_set_string_member (answer, "message", message);
      json_object_set_string_member (answer, "output", output != NULL ? output : "");
      node = json_node_init_object (json_node_alloc (), g_steal_pointer (&answer));
      respond_json (call->msg, SOUP_STATUS_OK, node);
    }
  image_call_done (call);
}

static void
route_image_pull (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query)
{
  BerthImageProcessor *processor;
  const gchar *ref = body_string (body, "ref");
  const gchar *ns = body_namespace (body);

  if ((processor = image_processor_or_respond (self, msg)) == NULL)
    return;
  berth_image_processor_pull_async (
      processor, ref, ns, NULL, image_operation_done,
      image_call_new (msg, berth_image_processor_pull_finish, g_strdup_printf ("pull %s", ref)));
}

static void
route_image_build (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query)
{
  BerthImageProcessor *processor;
  const gchar *context = body_string (body, "context");
  const gchar *tag = body_string (body, "tag");
  const gchar *ns = body_namespace (body);

  if (tag != NULL && tag[0] == '\0')
    tag = NULL;
  if ((processor = image_processor_or_respond (self, msg)) == NULL)
    return;
  berth_image_processor_build_async (
      processor, context, tag, ns, NULL, image_operation_done,
      image_call_new (msg, berth_image_processor_build_finish,
                      g_strdup_printf ("build of %s%s%s", context, tag != NULL ? " as " : "",
                                       tag != NULL ? tag : "")));
}

static void
route_image_tag (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query)
{
  BerthImageProcessor *processor;
  const gchar *source = body_string (body, "source");
  const gchar *target = body_string (body, "target");
  const gchar *ns = body_namespace (body);

  if ((processor = image_processor_or_respond (self, msg)) == NULL)
    return;
  berth_image_processor_tag_async (
      processor, source, target, ns, NULL, image_operation_done,
      image_call_new (msg, berth_image_processor_tag_finish,
                      g_strdup_printf ("tag %s as %s", source, target)));
}

static void
route_image_remove (BerthApiServer *self, SoupServerMessage *msg, JsonNode *body, GHashTable *query)
{
  BerthImageProcessor *processor;
  const gchar *ref = body_string (body, "ref");
  const gchar *ns = body_namespace (body);

  if ((processor = image_processor_or_respond (self, msg)) == NULL)
    return;
  berth_image_processor_remove_async (processor, ref, ns, NULL, image_operation_done,
                                      image_call_new (msg, berth_image_processor_remove_finish,
                                                      g_strdup_printf ("removal of %s", ref)));
}

/* ---- dispatch --------------------------------------------------------- */

static void
handle_request (SoupServer *server, SoupServerMessage *msg, const gchar *path, GHashTable *query,
                gpointer user_data)
{
  BerthApiServer *self = BERTH_API_SERVER (user_data);
  const gchar *method = soup_server_message_get_method (msg);
  g_autofree gchar *auth_user = NULL;
  g_autoptr (GString) allowed = NULL;
  g_autoptr (JsonNode) body = NULL;
  g_autoptr (GError) error = NULL;
  const Route *route = NULL;

  /* libsoup checked already for every path under "/"; checking again here
   * also covers what that prefix does not ("*"). */
  auth_user = soup_auth_domain_accepts (self->auth_domain, msg);
  if (auth_user == NULL)
    {
      soup_auth_domain_challenge (self->auth_domain, msg);
      set_challenge (msg);
      return;
    }

  for (gsize i = 0; i < G_N_ELEMENTS (routes); i++)
    {
      if (!g_str_equal (routes[i].path, path))
        continue;
      if (allowed == NULL)
        allowed = g_string_new (NULL);
      else
        g_string_append (allowed, ", ");
      g_string_append (allowed, routes[i].method);
      if (g_str_equal (routes[i].method, method))
        route = &routes[i];
    }

  if (allowed == NULL)
    {
      g_autofree gchar *message
          = g_strdup_printf ("There is no endpoint %s; GET /v1 lists the endpoints", path);

      respond_error_literal (msg, BERTH_ERROR_NOT_FOUND, message);
      return;
    }
  if (route == NULL)
    {
      g_autofree gchar *message
          = g_strdup_printf ("%s does not take %s; it takes %s", path, method, allowed->str);

      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                    allowed->str);
      respond_message (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "not-supported", message);
      return;
    }

  if (route->body != BERTH_API_BODY_NONE)
    {
      g_autoptr (GBytes) bytes
          = soup_message_body_flatten (soup_server_message_get_request_body (msg));
      gsize length = 0;
      const gchar *data = g_bytes_get_data (bytes, &length);

      body = read_body (route, data != NULL ? data : "", length, &error);
    }
  if (error != NULL)
    {
      respond_error (msg, error);
      return;
    }
  g_debug ("%s %s", method, path);
  route->func (self, msg, body, query);
}

/* Every request gets these before its body is read: what was refused
 * (authentication) is not kept in memory, and what is too large is refused
 * as soon as its size is known. */
static void
on_got_headers (SoupServerMessage *msg, gpointer user_data)
{
  BerthApiServer *self = BERTH_API_SERVER (user_data);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  guint status = soup_server_message_get_status (msg);

  /* Whatever the credentials said (libsoup checked them just before): a
   * page that is refused learns nothing more, and gets no challenge that
   * its browser would put in front of the user. */
  if ((status == 0 || status == SOUP_STATUS_UNAUTHORIZED) && !check_request_source (self, msg))
    {
      soup_message_headers_remove (soup_server_message_get_response_headers (msg),
                                   "WWW-Authenticate");
      soup_message_body_set_accumulate (body, FALSE);
      return;
    }
  if (status != 0)
    {
      if (status == SOUP_STATUS_UNAUTHORIZED)
        set_challenge (msg);
      soup_message_body_set_accumulate (body, FALSE);
      return;
    }
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH
      && soup_message_headers_get_content_length (headers) > BERTH_API_MAX_BODY)
    {
      soup_message_body_set_accumulate (body, FALSE);
      respond_too_large (msg);
    }
}

static void
on_got_chunk (SoupServerMessage *msg, GBytes *chunk, gpointer user_data)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);

  if (!soup_message_body_get_accumulate (body) || body->length <= BERTH_API_MAX_BODY)
    return;
  soup_message_body_truncate (body);
  soup_message_body_set_accumulate (body, FALSE);
  if (soup_server_message_get_status (msg) == 0)
    respond_too_large (msg);
}

static void
on_request_started (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  BerthApiServer *self = BERTH_API_SERVER (user_data);

  g_signal_connect_object (msg, "got-headers", G_CALLBACK (on_got_headers), self, 0);
  g_signal_connect (msg, "got-chunk", G_CALLBACK (on_got_chunk), NULL);
}

static gboolean
check_password (SoupAuthDomain *domain, SoupServerMessage *msg, const gchar *username,
                const gchar *password, gpointer user_data)
{
  BerthApiServer *self = BERTH_API_SERVER (user_data);
  /* Both compared every time, so timing tells nothing about which was wrong. */
  gboolean user_ok = berth_api_credentials_equal (username, self->user);
  gboolean password_ok = berth_api_credentials_equal (password, self->password);

  return user_ok & password_ok;
}

/* ---- object ----------------------------------------------------------- */

/* Loopback only, by address: nothing on another interface can reach it.
 * The socket is made here rather than by soup_server_listen() for its
 * backlog: GSocket's default of 10 drops connections when a few clients
 * open many at once. */
static gboolean
listen_on_loopback (BerthApiServer *self, guint port, GError **error)
{
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new_from_string ("127.0.0.1", port);
  g_autoptr (GSocket) socket = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return FALSE;
  g_socket_set_listen_backlog (socket, SOMAXCONN);
  /* allow_reuse: a port in TIME_WAIT from the last berthd is free to take;
   * a port another program listens on is still refused. */
  if (!g_socket_bind (socket, address, TRUE, error) || !g_socket_listen (socket, error))
    return FALSE;
  return soup_server_listen_socket (self->server, socket, 0, error);
}

gboolean
berth_api_server_listen (BerthApiServer *self, guint port, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  GSList *uris;

  g_return_val_if_fail (BERTH_IS_API_SERVER (self), FALSE);
  g_return_val_if_fail (self->port == 0, FALSE);

  if (port > G_MAXUINT16)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "API port %u is out of range; a port is 0 (any free port) to 65535", port);
      return FALSE;
    }

  if (!listen_on_loopback (self, port, &local_error))
    {
      if (port == 0 || !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                       "Could not listen on 127.0.0.1:%u: %s", port, local_error->message);
          return FALSE;
        }
      g_message ("Port %u on 127.0.0.1 is taken; listening on a free port instead "
                 "(the credentials file names it)",
                 port);
      g_clear_error (&local_error);
      if (!listen_on_loopback (self, 0, &local_error))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                       "Could not listen on a free port of 127.0.0.1: %s", local_error->message);
          return FALSE;
        }
    }

  uris = soup_server_get_uris (self->server);
  if (uris != NULL)
    self->port = (guint)g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify)g_uri_unref);
  if (self->port == 0)
    {
      g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                           "Listening on 127.0.0.1 gave no port");
      return FALSE;
    }
  g_message ("API listening on http://127.0.0.1:%u/", self->port);
  return TRUE;
}

void
berth_api_server_set_allowed_origins (BerthApiServer *self, const gchar *const *origins)
{
  g_return_if_fail (BERTH_IS_API_SERVER (self));

  g_strfreev (self->allowed_origins);
  self->allowed_origins = origins != NULL ? g_strdupv ((gchar **)origins) : g_new0 (gchar *, 1);
}

guint
berth_api_server_get_port (BerthApiServer *self)
{
  g_return_val_if_fail (BERTH_IS_API_SERVER (self), 0);
  return self->port;
}

void
berth_api_server_close (BerthApiServer *self)
{
  g_autoptr (GPtrArray) sockets = NULL;

  g_return_if_fail (BERTH_IS_API_SERVER (self));

  sockets = g_ptr_array_copy (self->event_sockets, (GCopyFunc)(void (*) (void))g_object_ref, NULL);
  g_ptr_array_set_free_func (sockets, g_object_unref);
  for (guint i = 0; i < sockets->len; i++)
    {
      SoupWebsocketConnection *conn = g_ptr_array_index (sockets, i);

      if (soup_websocket_connection_get_state (conn) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (conn, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
                                         "berthd is shutting down");
    }
  soup_server_disconnect (self->server);
}

static void
berth_api_server_dispose (GObject *object)
{
  BerthApiServer *self = BERTH_API_SERVER (object);

  if (self->server != NULL)
    soup_server_disconnect (self->server);
  g_clear_object (&self->server);
  g_clear_object (&self->auth_domain);
  if (self->event_sockets != NULL)
    {
      for (guint i = 0; self->manager != NULL && i < self->event_sockets->len; i++)
        berth_manager_release_watch (self->manager);
      g_ptr_array_set_size (self->event_sockets, 0);
    }
  g_clear_object (&self->manager);
  G_OBJECT_CLASS (berth_api_server_parent_class)->dispose (object);
}

static void
berth_api_server_finalize (GObject *object)
{
  BerthApiServer *self = BERTH_API_SERVER (object);

  g_free (self->user);
  if (self->password != NULL)
    explicit_bzero (self->password, strlen (self->password));
  g_free (self->password);
  g_clear_pointer (&self->event_sockets, g_ptr_array_unref);
  g_strfreev (self->allowed_origins);
  G_OBJECT_CLASS (berth_api_server_parent_class)->finalize (object);
}

static void
berth_api_server_class_init (BerthApiServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = berth_api_server_dispose;
  object_class->finalize = berth_api_server_finalize;

  signals[SIGNAL_SHUTDOWN_REQUESTED]
      = g_signal_new ("shutdown-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_RESTART_REQUESTED]
      = g_signal_new ("restart-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 0);
}

static void
berth_api_server_init (BerthApiServer *self)
{
  self->event_sockets = g_ptr_array_new_with_free_func (g_object_unref);
  self->allowed_origins = g_new0 (gchar *, 1);
}

BerthApiServer *
berth_api_server_new (BerthManager *manager, const gchar *user, const gchar *password)
{
  BerthApiServer *self;

  g_return_val_if_fail (BERTH_IS_MANAGER (manager), NULL);
  g_return_val_if_fail (user != NULL && password != NULL, NULL);

  self = g_object_new (BERTH_TYPE_API_SERVER, NULL);
  self->manager = g_object_ref (manager);
  self->user = g_strdup (user);
  self->password = g_strdup (password);

  self->server = soup_server_new ("server-header", "berthd/" BERTH_VERSION, NULL);
  self->auth_domain = soup_auth_domain_basic_new ("realm", BERTH_API_REALM, "auth-callback",
                                                  check_password, "auth-data", self, NULL);
  soup_auth_domain_add_path (self->auth_domain, "/");
  soup_server_add_auth_domain (self->server, self->auth_domain);

  g_signal_connect (self->server, "request-started", G_CALLBACK (on_request_started), self);
  soup_server_add_handler (self->server, NULL, handle_request, self, NULL);
  /* The same path carries the WebSocket: handle_request answers anything
   * that is not a good upgrade, and libsoup completes the rest. */
  soup_server_add_handler (self->server, "/v1/events", handle_request, self, NULL);
  soup_server_add_websocket_handler (self->server, "/v1/events", NULL, NULL, on_event_socket, self,
                                     NULL);

  g_signal_connect_object (manager, "state-changed", G_CALLBACK (on_state_changed), self, 0);
  g_signal_connect_object (manager, "progress-changed", G_CALLBACK (on_progress_changed), self, 0);
  g_signal_connect_object (manager, "settings-changed", G_CALLBACK (on_settings_changed), self, 0);
  g_signal_connect_object (manager, "plugin-event", G_CALLBACK (on_plugin_event), self, 0);
  g_signal_connect_object (manager, "kubernetes-state-changed",
                           G_CALLBACK (on_kubernetes_state_changed), self, 0);
  g_signal_connect_object (manager, "update-state", G_CALLBACK (on_update_state), self, 0);
  return self;
}
