/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "berth-client-event.h"

/* How each kind is named as a signal and as an event's "type", and where a
 * typed event keeps its list. */
typedef struct
{
  BerthClientEventKind kind;
  const gchar *name;
  const gchar *list_member; /* NULL: not a list-carrying kind */
} KindInfo;

static const KindInfo kinds[] = {
  { BERTH_CLIENT_EVENT_STATE_CHANGED, "state-changed", NULL },
  { BERTH_CLIENT_EVENT_PROGRESS, "progress", NULL },
  { BERTH_CLIENT_EVENT_SETTINGS_CHANGED, "settings-changed", NULL },
  { BERTH_CLIENT_EVENT_IMAGES_CHANGED, "images-changed", "images" },
  { BERTH_CLIENT_EVENT_PORT_FORWARDS_CHANGED, "port-forwards-changed", "forwards" },
  { BERTH_CLIENT_EVENT_SERVICES_CHANGED, "services-changed", "services" },
  { BERTH_CLIENT_EVENT_VERSIONS_CHANGED, "versions-changed", "versions" },
  { BERTH_CLIENT_EVENT_KUBERNETES_STATE_CHANGED, "kubernetes-state-changed", NULL },
  { BERTH_CLIENT_EVENT_UPDATE_STATE, "update-state", NULL },
  { BERTH_CLIENT_EVENT_DIAGNOSTICS_CHANGED, "diagnostics-changed", "checks" },
  { BERTH_CLIENT_EVENT_PLUGIN, "plugin-event", NULL },
};

/* A plugin's signal (as BerthManager passes it on today, {"type": "plugin",
 * "signal": S, "args": [...]}) that has a typed signal of its own. */
static const struct
{
  const gchar *signal;
  BerthClientEventKind kind;
} plugin_signals[] = {
  { "images-changed", BERTH_CLIENT_EVENT_IMAGES_CHANGED },
  { "port-forwards-changed", BERTH_CLIENT_EVENT_PORT_FORWARDS_CHANGED },
  { "services-changed", BERTH_CLIENT_EVENT_SERVICES_CHANGED },
  { "versions-changed", BERTH_CLIENT_EVENT_VERSIONS_CHANGED },
  /* The KubernetesProvider interface's name for it. */
  { "versions-updated", BERTH_CLIENT_EVENT_VERSIONS_CHANGED },
  { "kubernetes-state-changed", BERTH_CLIENT_EVENT_KUBERNETES_STATE_CHANGED },
  { "update-state", BERTH_CLIENT_EVENT_UPDATE_STATE },
  { "diagnostics-changed", BERTH_CLIENT_EVENT_DIAGNOSTICS_CHANGED },
};

static const KindInfo *
kind_info (BerthClientEventKind kind)
{
  for (gsize i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (kinds[i].kind == kind)
      return &kinds[i];
  return NULL;
}

const gchar *
berth_client_event_kind_to_signal (BerthClientEventKind kind)
{
  const KindInfo *info = kind_info (kind);

  return info != NULL ? info->name : NULL;
}

void
berth_client_event_free (BerthClientEvent *event)
{
  if (event == NULL)
    return;
  g_free (event->type);
  g_free (event->reason);
  g_free (event->state_text);
  g_free (event->description);
  g_strfreev (event->keys);
  g_clear_pointer (&event->list, json_node_unref);
  g_clear_pointer (&event->data, json_node_unref);
  g_free (event->plugin);
  g_free (event->signal);
  g_free (event);
}

/* ---- members ----------------------------------------------------------- */

static gboolean
node_is_string (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING;
}

static gboolean
node_is_int (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64;
}

/* A string member: TRUE with *@out set (NULL when absent or null and
 * @required is FALSE); FALSE with the error set otherwise. */
static gboolean
get_string (JsonObject *object, const gchar *type, const gchar *member, gboolean required,
            gchar **out, GError **error)
{
  JsonNode *node = json_object_get_member (object, member);

  *out = NULL;
  if ((node == NULL || JSON_NODE_HOLDS_NULL (node)) && !required)
    return TRUE;
  if (node == NULL || !node_is_string (node))
    {
      g_set_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL,
                   "A %s event has %s \"%s\"; it must be a string%s", type,
                   node == NULL ? "no" : "a wrong", member, required ? "" : " or null");
      return FALSE;
    }
  *out = g_strdup (json_node_get_string (node));
  return TRUE;
}

/* A count (an integer of at least 0) member; @absent when it is missing. */
static gboolean
get_count (JsonObject *object, const gchar *type, const gchar *member, gint64 absent, gint64 *out,
           GError **error)
{
  JsonNode *node = json_object_get_member (object, member);

  *out = absent;
  if (node == NULL)
    return TRUE;
  if (!node_is_int (node) || json_node_get_int (node) < 0)
    {
      g_set_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL,
                   "A %s event's \"%s\" must be a whole number of at least 0", type, member);
      return FALSE;
    }
  *out = json_node_get_int (node);
  return TRUE;
}

/* An array member, or NULL with no error when it is missing. */
static gboolean
get_array (JsonObject *object, const gchar *type, const gchar *member, JsonNode **out,
           GError **error)
{
  JsonNode *node = json_object_get_member (object, member);

  *out = NULL;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL,
                   "A %s event's \"%s\" must be an array", type, member);
      return FALSE;
    }
  *out = json_node_copy (node);
  return TRUE;
}

static gboolean
parse_state (BerthClientEvent *event, JsonObject *object, GError **error)
{
  g_autofree gchar *state = NULL;
  JsonNode *restarting = json_object_get_member (object, "restarting");

  if (!get_string (object, event->type, "state", TRUE, &state, error)
      || !get_string (object, event->type, "reason", FALSE, &event->reason, error)
      || !get_count (object, event->type, "stateSerial", -1, &event->serial, error))
    return FALSE;
  if (!berth_client_state_from_string (state, &event->state))
    {
      g_set_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL,
                   "A state-changed event names state \"%s\"; berthd's states are STOPPED, "
                   "STARTING, STARTED, STOPPING and ERROR",
                   state);
      return FALSE;
    }
  if (restarting != NULL
      && !(JSON_NODE_HOLDS_VALUE (restarting)
           && json_node_get_value_type (restarting) == G_TYPE_BOOLEAN))
    {
      g_set_error_literal (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL,
                           "A state-changed event's \"restarting\" must be true or false");
      return FALSE;
    }
  event->restarting = restarting != NULL && json_node_get_boolean (restarting);
  return TRUE;
}

static gboolean
parse_progress (BerthClientEvent *event, JsonObject *object, GError **error)
{
  gint64 current = 0;
  gint64 max = 0;

  if (!get_string (object, event->type, "description", FALSE, &event->description, error)
      || !get_count (object, event->type, "current", 0, &current, error)
      || !get_count (object, event->type, "max", 0, &max, error))
    return FALSE;
  event->current = (guint64)current;
  event->max = (guint64)max;
  return TRUE;
}

static gboolean
parse_settings (BerthClientEvent *event, JsonObject *object, GError **error)
{
  JsonNode *keys = json_object_get_member (object, "keys");
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  JsonArray *array;

  if (keys == NULL || !JSON_NODE_HOLDS_ARRAY (keys))
    {
      g_set_error_literal (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL,
                           "A settings-changed event needs \"keys\", an array of strings");
      return FALSE;
    }
  array = json_node_get_array (keys);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *key = json_array_get_element (array, i);

      if (!node_is_string (key))
        {
          g_set_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL,
                       "Key %u of a settings-changed event is not a string", i);
          return FALSE;
        }
      g_strv_builder_add (builder, json_node_get_string (key));
    }
  event->keys = g_strv_builder_end (builder);
  return TRUE;
}

static gboolean
parse_update_state (BerthClientEvent *event, JsonObject *object, GError **error)
{
  g_autoptr (JsonObject) data = json_object_new ();
  JsonObjectIter iter;
  const gchar *name;
  JsonNode *value;

  if (!get_string (object, event->type, "state", TRUE, &event->state_text, error)
      || !get_string (object, event->type, "detail", FALSE, &event->reason, error))
    return FALSE;
  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &name, &value))
    if (!g_str_equal (name, "type"))
      json_object_set_member (data, name, json_node_copy (value));
  event->data = json_node_init_object (json_node_alloc (), data);
  return TRUE;
}

/* The string argument @index of a plugin's signal, NULL when absent or
 * null. */
static gboolean
get_string_arg (JsonArray *args, guint index, const gchar *signal, const gchar *what, gchar **out,
                GError **error)
{
  JsonNode *node
      = index < json_array_get_length (args) ? json_array_get_element (args, index) : NULL;

  *out = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!node_is_string (node))
    {
      g_set_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL,
                   "The %s of a plugin's %s event must be a string", what, signal);
      return FALSE;
    }
  *out = g_strdup (json_node_get_string (node));
  return TRUE;
}

/* {"type": "plugin", "plugin": P, "signal": S, "args": [...]}: a signal
 * with a typed one becomes that kind, its data from the arguments (a list
 * as the first); any other stays PLUGIN. */
static gboolean
parse_plugin (BerthClientEvent *event, JsonObject *object, GError **error)
{
  JsonArray *args;
  JsonNode *first;
  g_autofree gchar *state = NULL;

  if (!get_string (object, event->type, "plugin", TRUE, &event->plugin, error)
      || !get_string (object, event->type, "signal", TRUE, &event->signal, error)
      || !get_array (object, event->type, "args", &event->data, error))
    return FALSE;
  if (event->data == NULL)
    {
      event->data = json_node_new (JSON_NODE_ARRAY);
      json_node_take_array (event->data, json_array_new ());
    }
  args = json_node_get_array (event->data);
  first = json_array_get_length (args) > 0 ? json_array_get_element (args, 0) : NULL;

  event->kind = BERTH_CLIENT_EVENT_PLUGIN;
  for (gsize i = 0; i < G_N_ELEMENTS (plugin_signals); i++)
    if (g_str_equal (event->signal, plugin_signals[i].signal))
      event->kind = plugin_signals[i].kind;

  switch (event->kind)
    {
    case BERTH_CLIENT_EVENT_KUBERNETES_STATE_CHANGED:
    case BERTH_CLIENT_EVENT_UPDATE_STATE:
      if (!get_string_arg (args, 0, event->signal, "state", &state, error)
          || !get_string_arg (args, 1, event->signal, "second argument", &event->reason, error))
        return FALSE;
      if (state == NULL)
        {
          g_set_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL,
                       "A plugin's %s event has no state as its first argument", event->signal);
          return FALSE;
        }
      event->state_text = g_steal_pointer (&state);
      g_clear_pointer (&event->data, json_node_unref);
      if (event->kind == BERTH_CLIENT_EVENT_UPDATE_STATE)
        {
          JsonObject *data = json_object_new ();

          json_object_set_string_member (data, "state", event->state_text);
          if (event->reason != NULL)
            json_object_set_string_member (data, "detail", event->reason);
          else
            json_object_set_null_member (data, "detail");
          event->data = json_node_new (JSON_NODE_OBJECT);
          json_node_take_object (event->data, data);
        }
      break;
    case BERTH_CLIENT_EVENT_PLUGIN:
      break;
    default:
      /* A list-carrying kind: the list when the signal carries one. */
      if (first != NULL && JSON_NODE_HOLDS_ARRAY (first))
        event->list = json_node_copy (first);
      g_clear_pointer (&event->data, json_node_unref);
      break;
    }
  return TRUE;
}

BerthClientEvent *
berth_client_event_parse (const gchar *data, gsize length, GError **error)
{
  g_autoptr (BerthClientEvent) event = g_new0 (BerthClientEvent, 1);
  g_autoptr (JsonNode) root = berth_client_parse_json (data, length, "An event", error);
  JsonObject *object;
  JsonNode *type;
  const KindInfo *info = NULL;
  gboolean ok = TRUE;

  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL,
                           "An event is not a JSON object");
      return NULL;
    }
  object = json_node_get_object (root);
  type = json_object_get_member (object, "type");
  if (type == NULL || !node_is_string (type))
    {
      g_set_error_literal (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL,
                           "An event has no \"type\" string");
      return NULL;
    }
  event->type = g_strdup (json_node_get_string (type));
  event->serial = -1;

  if (g_str_equal (event->type, "plugin"))
    {
      if (!parse_plugin (event, object, error))
        return NULL;
      return g_steal_pointer (&event);
    }

  event->kind = BERTH_CLIENT_EVENT_UNKNOWN;
  for (gsize i = 0; i < G_N_ELEMENTS (kinds); i++)
    /* plugin-event is the signal's name, not an event's type. */
    if (kinds[i].kind != BERTH_CLIENT_EVENT_PLUGIN && g_str_equal (event->type, kinds[i].name))
      info = &kinds[i];
  if (info == NULL)
    return g_steal_pointer (&event);
  event->kind = info->kind;

  switch (event->kind)
    {
    case BERTH_CLIENT_EVENT_STATE_CHANGED:
      ok = parse_state (event, object, error);
      break;
    case BERTH_CLIENT_EVENT_PROGRESS:
      ok = parse_progress (event, object, error);
      break;
    case BERTH_CLIENT_EVENT_SETTINGS_CHANGED:
      ok = parse_settings (event, object, error);
      break;
    case BERTH_CLIENT_EVENT_KUBERNETES_STATE_CHANGED:
      ok = get_string (object, event->type, "state", TRUE, &event->state_text, error)
           && get_string (object, event->type, "reason", FALSE, &event->reason, error);
      break;
    case BERTH_CLIENT_EVENT_UPDATE_STATE:
      ok = parse_update_state (event, object, error);
      break;
    default:
      ok = get_array (object, event->type, info->list_member, &event->list, error);
      /* The member's other name, as GET /v1/backend_state has it. */
      if (ok && event->list == NULL && event->kind == BERTH_CLIENT_EVENT_PORT_FORWARDS_CHANGED)
        ok = get_array (object, event->type, "portForwards", &event->list, error);
      break;
    }
  return ok ? g_steal_pointer (&event) : NULL;
}

/* ---- writing ------------------------------------------------------------ */

static void
set_nullable_string (JsonObject *object, const gchar *member, const gchar *value)
{
  if (value != NULL)
    json_object_set_string_member (object, member, value);
  else
    json_object_set_null_member (object, member);
}

JsonNode *
berth_client_event_to_json (const BerthClientEvent *event)
{
  g_autoptr (JsonObject) object = json_object_new ();
  const KindInfo *info = kind_info (event->kind);

  g_return_val_if_fail (event != NULL, NULL);

  switch (event->kind)
    {
    case BERTH_CLIENT_EVENT_STATE_CHANGED:
      json_object_set_string_member (object, "type", info->name);
      json_object_set_string_member (object, "state", berth_client_state_to_string (event->state));
      set_nullable_string (object, "reason", event->reason);
      if (event->serial >= 0)
        json_object_set_int_member (object, "stateSerial", event->serial);
      json_object_set_boolean_member (object, "restarting", event->restarting);
      break;
    case BERTH_CLIENT_EVENT_PROGRESS:
      json_object_set_string_member (object, "type", info->name);
      set_nullable_string (object, "description", event->description);
      json_object_set_int_member (object, "current", (gint64)MIN (event->current, G_MAXINT64));
      json_object_set_int_member (object, "max", (gint64)MIN (event->max, G_MAXINT64));
      break;
    case BERTH_CLIENT_EVENT_SETTINGS_CHANGED:
      {
        JsonArray *keys = json_array_new ();

        for (gsize i = 0; event->keys != NULL && event->keys[i] != NULL; i++)
          json_array_add_string_element (keys, event->keys[i]);
        json_object_set_string_member (object, "type", info->name);
        json_object_set_array_member (object, "keys", keys);
        break;
      }
    case BERTH_CLIENT_EVENT_KUBERNETES_STATE_CHANGED:
      json_object_set_string_member (object, "type", info->name);
      json_object_set_string_member (object, "state", event->state_text);
      set_nullable_string (object, "reason", event->reason);
      break;
    case BERTH_CLIENT_EVENT_UPDATE_STATE:
      {
        JsonObjectIter iter;
        const gchar *name;
        JsonNode *value;

        json_object_set_string_member (object, "type", info->name);
        json_object_iter_init_ordered (&iter, json_node_get_object (event->data));
        while (json_object_iter_next_ordered (&iter, &name, &value))
          json_object_set_member (object, name, json_node_copy (value));
        json_object_set_string_member (object, "state", event->state_text);
        set_nullable_string (object, "detail", event->reason);
        break;
      }
    case BERTH_CLIENT_EVENT_PLUGIN:
      json_object_set_string_member (object, "type", "plugin");
      json_object_set_string_member (object, "plugin", event->plugin);
      json_object_set_string_member (object, "signal", event->signal);
      json_object_set_member (object, "args", json_node_copy (event->data));
      break;
    case BERTH_CLIENT_EVENT_UNKNOWN:
      json_object_set_string_member (object, "type", event->type);
      break;
    default:
      json_object_set_string_member (object, "type", info->name);
      if (event->list != NULL)
        json_object_set_member (object, info->list_member, json_node_copy (event->list));
      break;
    }
  return json_node_init_object (json_node_alloc (), object);
}
