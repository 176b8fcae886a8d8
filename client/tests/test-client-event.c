/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What libberth-client makes of each shape of event berthd sends (or will
 * send): client/berth-client-event.c, without a berthd. */
#include "config.h"

#include <string.h>

#include "berth-client-event.h"

static BerthClientEvent *
parse_ok (const gchar *text)
{
  g_autoptr (GError) error = NULL;
  BerthClientEvent *event = berth_client_event_parse (text, strlen (text), &error);

  g_assert_no_error (error);
  g_assert_nonnull (event);
  return event;
}

static gchar *
parse_error (const gchar *text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthClientEvent) event = berth_client_event_parse (text, strlen (text), &error);

  g_assert_null (event);
  g_assert_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL);
  return g_strdup (error->message);
}

static void
test_state (void)
{
  g_autoptr (BerthClientEvent) event
      = parse_ok ("{\"type\":\"state-changed\",\"state\":\"ERROR\",\"reason\":\"it crashed\","
                  "\"stateSerial\":7,\"restarting\":true}");
  g_autoptr (BerthClientEvent) bare
      = parse_ok ("{\"type\":\"state-changed\",\"state\":\"STARTING\"}");
  g_autofree gchar *unknown
      = parse_error ("{\"type\":\"state-changed\",\"state\":\"RUNNING\",\"stateSerial\":1}");
  g_autofree gchar *negative
      = parse_error ("{\"type\":\"state-changed\",\"state\":\"STARTED\",\"stateSerial\":-1}");

  g_assert_cmpint (event->kind, ==, BERTH_CLIENT_EVENT_STATE_CHANGED);
  g_assert_cmpint (event->state, ==, BERTH_CLIENT_STATE_ERROR);
  g_assert_cmpstr (event->reason, ==, "it crashed");
  g_assert_cmpint (event->serial, ==, 7);
  g_assert_true (event->restarting);

  g_assert_cmpint (bare->state, ==, BERTH_CLIENT_STATE_STARTING);
  g_assert_null (bare->reason);
  g_assert_cmpint (bare->serial, ==, -1);
  g_assert_false (bare->restarting);

  g_assert_cmpstr (unknown, ==,
                   "A state-changed event names state \"RUNNING\"; berthd's states are STOPPED, "
                   "STARTING, STARTED, STOPPING and ERROR");
  g_assert_nonnull (strstr (negative, "\"stateSerial\" must be a whole number"));
}

static void
test_progress_and_settings (void)
{
  g_autoptr (BerthClientEvent) progress
      = parse_ok ("{\"type\":\"progress\",\"description\":\"Booting\",\"current\":2,\"max\":3}");
  g_autoptr (BerthClientEvent) settings
      = parse_ok ("{\"type\":\"settings-changed\",\"keys\":[\"a.b\",\"c\"]}");
  g_autofree gchar *no_keys = parse_error ("{\"type\":\"settings-changed\"}");
  const gchar *const want[] = { "a.b", "c", NULL };

  g_assert_cmpint (progress->kind, ==, BERTH_CLIENT_EVENT_PROGRESS);
  g_assert_cmpstr (progress->description, ==, "Booting");
  g_assert_cmpuint (progress->current, ==, 2);
  g_assert_cmpuint (progress->max, ==, 3);
  g_assert_cmpint (settings->kind, ==, BERTH_CLIENT_EVENT_SETTINGS_CHANGED);
  g_assert_cmpstrv (settings->keys, want);
  g_assert_nonnull (strstr (no_keys, "\"keys\""));
}

/* berthd today: a plugin's signal as {"type": "plugin", ...}, with no data. */
static void
test_plugin_signals (void)
{
  g_autoptr (BerthClientEvent) forwards
      = parse_ok ("{\"type\":\"plugin\",\"plugin\":\"lima\",\"signal\":\"port-forwards-changed\","
                  "\"args\":[]}");
  g_autoptr (BerthClientEvent) images = parse_ok (
      "{\"type\":\"plugin\",\"plugin\":\"moby\",\"signal\":\"images-changed\",\"args\":[]}");
  g_autoptr (BerthClientEvent) versions = parse_ok (
      "{\"type\":\"plugin\",\"plugin\":\"k3s\",\"signal\":\"versions-updated\",\"args\":[]}");
  g_autoptr (BerthClientEvent) update
      = parse_ok ("{\"type\":\"plugin\",\"plugin\":\"updater\",\"signal\":\"update-state\","
                  "\"args\":[\"available\",\"0.2.0\"]}");
  g_autoptr (BerthClientEvent) other = parse_ok (
      "{\"type\":\"plugin\",\"plugin\":\"test-good\",\"signal\":\"progress\",\"args\":[\"x\",1,"
      "3]}");

  g_assert_cmpint (forwards->kind, ==, BERTH_CLIENT_EVENT_PORT_FORWARDS_CHANGED);
  g_assert_null (forwards->list); /* to be asked for */
  g_assert_cmpstr (forwards->plugin, ==, "lima");
  g_assert_cmpint (images->kind, ==, BERTH_CLIENT_EVENT_IMAGES_CHANGED);
  g_assert_cmpint (versions->kind, ==, BERTH_CLIENT_EVENT_VERSIONS_CHANGED);
  g_assert_cmpint (update->kind, ==, BERTH_CLIENT_EVENT_UPDATE_STATE);
  g_assert_cmpstr (update->state_text, ==, "available");
  g_assert_cmpstr (update->reason, ==, "0.2.0");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (update->data), "state"), ==,
                   "available");
  /* The backend's progress is berthd's own progress event already. */
  g_assert_cmpint (other->kind, ==, BERTH_CLIENT_EVENT_PLUGIN);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (other->data)), ==, 3);
}

/* The shapes berthd is to send: typed, with the data. */
static void
test_typed_shapes (void)
{
  g_autoptr (BerthClientEvent) forwards
      = parse_ok ("{\"type\":\"port-forwards-changed\",\"forwards\":[{\"protocol\":\"tcp\","
                  "\"hostAddress\":\"127.0.0.1\",\"hostPort\":9090,\"guestPort\":90}]}");
  g_autoptr (BerthClientEvent) kubernetes
      = parse_ok ("{\"type\":\"kubernetes-state-changed\",\"state\":\"STARTING\",\"reason\":null}");
  g_autoptr (BerthClientEvent) update
      = parse_ok ("{\"type\":\"update-state\",\"state\":\"downloading\",\"detail\":\"0.2.0\","
                  "\"latest\":{\"version\":\"0.2.0\"}}");
  g_autoptr (BerthClientEvent) future = parse_ok ("{\"type\":\"something-new\",\"x\":1}");
  g_autofree gchar *not_list
      = parse_error ("{\"type\":\"services-changed\",\"services\":{\"a\":1}}");
  JsonArray *list;

  g_assert_cmpint (forwards->kind, ==, BERTH_CLIENT_EVENT_PORT_FORWARDS_CHANGED);
  list = json_node_get_array (forwards->list);
  g_assert_cmpuint (json_array_get_length (list), ==, 1);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (list, 0), "hostPort"),
                   ==, 9090);
  g_assert_cmpint (kubernetes->kind, ==, BERTH_CLIENT_EVENT_KUBERNETES_STATE_CHANGED);
  g_assert_cmpstr (kubernetes->state_text, ==, "STARTING");
  g_assert_null (kubernetes->reason);
  g_assert_cmpint (update->kind, ==, BERTH_CLIENT_EVENT_UPDATE_STATE);
  g_assert_true (json_object_has_member (json_node_get_object (update->data), "latest"));
  g_assert_cmpint (future->kind, ==, BERTH_CLIENT_EVENT_UNKNOWN);
  g_assert_cmpstr (not_list, ==, "A services-changed event's \"services\" must be an array");
}

static void
test_not_events (void)
{
  g_autofree gchar *array = parse_error ("[1]");
  g_autofree gchar *untyped = parse_error ("{\"state\":\"STOPPED\"}");
  g_autofree gchar *comment = parse_error ("/* \" */ {\"type\":\"progress\"}");
  g_autofree gchar *surrogate = parse_error ("{\"type\":\"progress\",\"description\":\"\\ud800\"}");
  g_autoptr (GString) deep = g_string_new ("{\"type\":\"plugin\",\"plugin\":\"p\",\"signal\":\"s\","
                                           "\"args\":");
  g_autofree gchar *too_deep = NULL;

  for (guint i = 0; i < BERTH_CLIENT_MAX_JSON_DEPTH; i++)
    g_string_append_c (deep, '[');
  for (guint i = 0; i < BERTH_CLIENT_MAX_JSON_DEPTH; i++)
    g_string_append_c (deep, ']');
  g_string_append_c (deep, '}');
  too_deep = parse_error (deep->str);

  g_assert_cmpstr (array, ==, "An event is not a JSON object");
  g_assert_cmpstr (untyped, ==, "An event has no \"type\" string");
  g_assert_nonnull (strstr (comment, "only inside strings"));
  /* json-glib refuses it, or else this reader would. */
  g_assert_true (g_str_has_prefix (surrogate, "An event is not"));
  g_assert_nonnull (strstr (too_deep, "nests deeper than the 64 levels"));
}

/* What the client sends berthd is JSON that berthd's strict reader takes. */
static void
test_json_writer (void)
{
  g_autoptr (JsonNode) node = json_from_string (
      "{\"s\":\"a\\u001fb\\\"\\\\\",\"d\":1e20,\"w\":2.0,\"i\":-3,\"n\":null,\"b\":[true,false]}",
      NULL);
  g_autofree gchar *text = berth_client_json_to_string (node);

  g_assert_cmpstr (text, ==,
                   "{\"s\":\"a\\u001fb\\\"\\\\\",\"d\":1e+20,\"w\":2.0,\"i\":-3,\"n\":null,"
                   "\"b\":[true,false]}");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/client-event/state", test_state);
  g_test_add_func ("/client-event/progress-and-settings", test_progress_and_settings);
  g_test_add_func ("/client-event/plugin-signals", test_plugin_signals);
  g_test_add_func ("/client-event/typed-shapes", test_typed_shapes);
  g_test_add_func ("/client-event/not-events", test_not_events);
  g_test_add_func ("/client-event/json-writer", test_json_writer);
  return g_test_run ();
}
