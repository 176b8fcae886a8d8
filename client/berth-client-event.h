/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "berth-client-enums.h"

G_BEGIN_DECLS

/* One event of berthd's /v1/events stream, read and checked: what
 * BerthClient turns into one of its signals. Private to the library (and
 * its tests and fuzz target); client/README.md lists the shapes. */

/* The most an event or an answer may weigh, and how deep its JSON may nest:
 * more is refused before json-glib, which recurses, sees it. */
#define BERTH_CLIENT_MAX_EVENT_SIZE (8 * 1024 * 1024)
#define BERTH_CLIENT_MAX_JSON_DEPTH 64

typedef enum
{
  BERTH_CLIENT_EVENT_STATE_CHANGED,
  BERTH_CLIENT_EVENT_PROGRESS,
  BERTH_CLIENT_EVENT_SETTINGS_CHANGED,
  BERTH_CLIENT_EVENT_IMAGES_CHANGED,
  BERTH_CLIENT_EVENT_PORT_FORWARDS_CHANGED,
  BERTH_CLIENT_EVENT_SERVICES_CHANGED,
  BERTH_CLIENT_EVENT_VERSIONS_CHANGED,
  BERTH_CLIENT_EVENT_KUBERNETES_STATE_CHANGED,
  BERTH_CLIENT_EVENT_UPDATE_STATE,
  BERTH_CLIENT_EVENT_DIAGNOSTICS_CHANGED,
  /* A plugin's signal that has no typed one: passed on as plugin-event. */
  BERTH_CLIENT_EVENT_PLUGIN,
  /* A type this client does not know (a newer berthd's): ignored. */
  BERTH_CLIENT_EVENT_UNKNOWN,
} BerthClientEventKind;

typedef struct
{
  BerthClientEventKind kind;
  /* The event's "type" as berthd sent it ("plugin" for a plugin's). */
  gchar *type;

  /* STATE_CHANGED */
  BerthClientState state;
  gint64 serial; /* -1: berthd did not say */
  gboolean restarting;
  /* STATE_CHANGED, KUBERNETES_STATE_CHANGED: why; UPDATE_STATE: the
   * detail. NULL when none. */
  gchar *reason;
  /* KUBERNETES_STATE_CHANGED, UPDATE_STATE: the state, as berthd words it. */
  gchar *state_text;

  /* PROGRESS */
  gchar *description; /* NULL when none */
  guint64 current;
  guint64 max;

  /* SETTINGS_CHANGED */
  GStrv keys;

  /* The *_CHANGED kinds that carry a list: the list (an array), or NULL
   * when the event carried none and the client must ask for it. */
  JsonNode *list;
  /* UPDATE_STATE: the whole status (an object, without "type"); PLUGIN: the
   * signal's arguments (an array). */
  JsonNode *data;

  /* PLUGIN, and the kinds that came as a plugin's signal. */
  gchar *plugin;
  gchar *signal;
} BerthClientEvent;

G_GNUC_INTERNAL
void
berth_client_event_free (BerthClientEvent *event);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthClientEvent, berth_client_event_free)

/* Reads @length bytes of @data as one event. BERTH_CLIENT_ERROR_PROTOCOL,
 * naming what is wrong, for anything berthd does not send: text that is
 * not UTF-8 JSON within the limits above, no object, no "type", or a known
 * type whose members are missing or of the wrong type. An unknown type is
 * not an error (kind UNKNOWN). */
G_GNUC_INTERNAL
BerthClientEvent *
berth_client_event_parse (const gchar *data, gsize length, GError **error);

/* @event in the typed shape berthd is to send ({"type":
 * "port-forwards-changed", "forwards": [...]}), which
 * berth_client_event_parse() reads back as the same event, for logs and
 * for the fuzz target's round trip. */
G_GNUC_INTERNAL
JsonNode *
berth_client_event_to_json (const BerthClientEvent *event);

/* The signal name BerthClient emits for @kind ("state-changed"); NULL for
 * UNKNOWN. */
G_GNUC_INTERNAL
const gchar *
berth_client_event_kind_to_signal (BerthClientEventKind kind);

/* berth-client-json.c: parses @length bytes of @data as JSON of any type,
 * within the limits above, its strings UTF-8; @what names the text in
 * messages ("berthd's answer"). */
G_GNUC_INTERNAL
JsonNode *
berth_client_parse_json (const gchar *data, gsize length, const gchar *what, GError **error);
/* @node as RFC 8259 text (strings that are not UTF-8 are written as they
 * are: the client builds its own from UTF-8, and reads only UTF-8). */
G_GNUC_INTERNAL
gchar *
berth_client_json_to_string (JsonNode *node);

G_END_DECLS
