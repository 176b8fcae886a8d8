/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "berthctl-wait.h"

#include <unistd.h>

#include "berth.h"

typedef struct
{
  GMainLoop *loop;
  SoupWebsocketConnection *ws;
  GError *error;
  gchar *target;
  /* The first state serial that came of the request waited for; -1 when
   * berthd does not say (an older one): every state counts then. */
  gint64 since;
  gchar *state;
  gchar *reason;
  gint64 serial;
  gboolean restarting;
  gchar *description;
  guint64 current, max;
  gboolean tty;
  gboolean done;
  gboolean bar_shown;
  gboolean timed_out;
} WaitState;

/* One event stream per process is enough: berthctl waits once. */
static WaitState *prepared;

static void
wait_state_free (WaitState *w)
{
  if (w->ws != NULL)
    {
      if (soup_websocket_connection_get_state (w->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (w->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_object_unref (w->ws);
    }
  g_clear_pointer (&w->loop, g_main_loop_unref);
  g_clear_error (&w->error);
  g_free (w->target);
  g_free (w->state);
  g_free (w->reason);
  g_free (w->description);
  g_free (w);
}

static void
draw (WaitState *w)
{
  if (w->description == NULL)
    return;
  if (w->tty)
    {
      const guint width = 30;
      guint filled = 0;
      g_autofree gchar *bar = NULL;

      if (w->max > 0)
        filled = (guint) MIN (width, (w->current * width) / w->max);
      bar = g_strnfill (width, ' ');
      memset (bar, '#', filled);
      if (w->max > 0)
        g_printerr ("\r\033[K[%s] %3u%% %s", bar, (guint) ((w->current * 100) / w->max),
                    w->description);
      else
        g_printerr ("\r\033[K[%s]      %s", bar, w->description);
      w->bar_shown = TRUE;
    }
}

static void
end_bar (WaitState *w)
{
  if (w->bar_shown)
    g_printerr ("\r\033[K");
  w->bar_shown = FALSE;
}

/* Takes the state in @object, an event ("state") or an answer ("vmState"),
 * as the latest seen. */
static void
take_state (WaitState *w, JsonObject *object, const gchar *state_member)
{
  g_free (w->state);
  w->state = g_strdup (json_object_get_string_member_with_default (object, state_member, ""));
  g_free (w->reason);
  w->reason = g_strdup (json_object_get_string_member_with_default (object, "reason", NULL));
  w->serial = json_object_get_int_member_with_default (object, "stateSerial", -1);
  w->restarting = json_object_get_boolean_member_with_default (object, "restarting", FALSE);
}

/* Whether the state last seen is the outcome of the request waited for. */
static gboolean
state_ends_wait (WaitState *w)
{
  if (w->target == NULL || w->state == NULL)
    return FALSE;
  /* Where things stood before the request (the ERROR a crash left, the
   * STOPPED a start begins from) says nothing of how it ends. */
  if (w->since >= 0 && w->serial < w->since)
    return FALSE;
  if (g_str_equal (w->state, w->target) || g_str_equal (w->state, "ERROR"))
    return TRUE;
  /* A start that a stop cut short ends STOPPED; the STOPPED half of a
   * restart is only half way. */
  return g_str_equal (w->target, "STARTED") && g_str_equal (w->state, "STOPPED") && !w->restarting;
}

static void
on_message (SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer data)
{
  WaitState *w = data;
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *event;
  const gchar *kind;
  gsize len = 0;
  const gchar *text = g_bytes_get_data (message, &len);

  /* Events read in the same batch as the outcome come after it. */
  if (w->done)
    return;
  if (type != SOUP_WEBSOCKET_DATA_TEXT
      || !json_parser_load_from_data (parser, text, (gssize) len, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return;
  event = json_node_get_object (json_parser_get_root (parser));
  kind = json_object_get_string_member_with_default (event, "type", "");
  if (g_str_equal (kind, "state-changed"))
    {
      /* The stream's first event can be older than the answer taken. */
      if (json_object_get_int_member_with_default (event, "stateSerial", -1) < w->serial)
        return;
      take_state (w, event, "state");
      if (state_ends_wait (w))
        {
          w->done = TRUE;
          if (w->loop != NULL)
            g_main_loop_quit (w->loop);
        }
    }
  else if (g_str_equal (kind, "progress"))
    {
      const gchar *description = json_object_get_string_member_with_default (event,
                                                                             "description",
                                                                             NULL);
      gboolean new_step = g_strcmp0 (description, w->description) != 0;

      g_free (w->description);
      w->description = g_strdup (description);
      w->current = (guint64) json_object_get_int_member_with_default (event, "current", 0);
      w->max = (guint64) json_object_get_int_member_with_default (event, "max", 0);
      if (w->target == NULL)
        return;
      if (w->tty)
        draw (w);
      else if (new_step && description != NULL && description[0] != '\0')
        g_print ("%s\n", description);
    }
}

static void
on_closed (SoupWebsocketConnection *ws, gpointer data)
{
  WaitState *w = data;

  if (!w->done && w->error == NULL)
    g_set_error_literal (&w->error, BERTH_ERROR, BERTH_ERROR_FAILED,
                         "berthd closed the event stream (did it exit? see its log)");
  if (w->loop != NULL)
    g_main_loop_quit (w->loop);
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer data)
{
  WaitState *w = data;

  w->ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &w->error);
  if (w->ws != NULL)
    {
      soup_websocket_connection_set_keepalive_interval (w->ws, 0);
      g_signal_connect (w->ws, "message", G_CALLBACK (on_message), w);
      g_signal_connect (w->ws, "closed", G_CALLBACK (on_closed), w);
    }
  g_main_loop_quit (w->loop);
}

gboolean
berthctl_wait_prepare (BerthctlRemote *remote, GError **error)
{
  g_autoptr (SoupMessage) msg = NULL;
  WaitState *w;

  if (prepared != NULL)
    return TRUE;
  w = g_new0 (WaitState, 1);
  w->serial = -1;
  w->tty = isatty (STDERR_FILENO);
  w->loop = g_main_loop_new (NULL, FALSE);
  msg = berthctl_remote_new_message (remote, "GET", "/v1/events");
  soup_session_websocket_connect_async (berthctl_remote_get_session (remote), msg, NULL, NULL,
                                        G_PRIORITY_DEFAULT, NULL, on_connected, w);
  g_main_loop_run (w->loop);
  if (w->ws == NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&w->error),
                                  "cannot follow berthd's events: ");
      wait_state_free (w);
      return FALSE;
    }
  prepared = w;
  return TRUE;
}

static gboolean
on_timeout (gpointer data)
{
  WaitState *w = data;
  w->timed_out = TRUE;
  g_main_loop_quit (w->loop);
  return G_SOURCE_REMOVE;
}

gboolean
berthctl_wait_for_state (BerthctlRemote *remote, const gchar *target, const gchar *action,
                         JsonNode *answer, guint timeout_seconds, GError **error)
{
  WaitState *w;
  guint timeout_id;
  gboolean ok = FALSE;

  if (!berthctl_wait_prepare (remote, error))
    return FALSE;
  w = g_steal_pointer (&prepared);
  w->target = g_strdup (target);
  w->since = -1;
  if (answer != NULL && JSON_NODE_HOLDS_OBJECT (answer))
    {
      JsonObject *o = json_node_get_object (answer);

      w->since = json_object_get_int_member_with_default (o, "stateSerial", -1);
      /* The answer to a start or stop says where the request left the
       * state, which may be its outcome already: starting what runs. */
      if (json_object_has_member (o, "vmState") && w->since > w->serial)
        take_state (w, o, "vmState");
    }
  w->done = state_ends_wait (w);

  timeout_id = g_timeout_add_seconds (timeout_seconds, on_timeout, w);
  if (!w->done && w->error == NULL)
    g_main_loop_run (w->loop);
  if (!w->timed_out)
    g_source_remove (timeout_id);
  end_bar (w);

  if (w->done && g_strcmp0 (w->state, target) == 0)
    ok = TRUE;
  else if (w->done && g_str_equal (w->state, "STOPPED"))
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_CANCELLED,
                 "%s failed: Berth was stopped before it ran (a stop was asked meanwhile); "
                 "start it again with berthctl start",
                 action);
  else if (w->done)
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND, "%s failed: %s", action,
                 w->reason != NULL ? w->reason : "the backend reported an error");
  else if (w->error != NULL)
    g_propagate_error (error, g_steal_pointer (&w->error));
  else
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_TIMED_OUT,
                 "timed out after %u s waiting for %s; Berth is still %s (see berthctl info "
                 "and the logs)",
                 timeout_seconds, action, w->state != NULL ? w->state : "in an unknown state");
  wait_state_free (w);
  return ok;
}
