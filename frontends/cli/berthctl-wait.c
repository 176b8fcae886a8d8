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
  gchar *state;
  gchar *reason;
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

static void
on_message (SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer data)
{
  WaitState *w = data;
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *event;
  const gchar *kind;
  gsize len = 0;
  const gchar *text = g_bytes_get_data (message, &len);

  if (type != SOUP_WEBSOCKET_DATA_TEXT
      || !json_parser_load_from_data (parser, text, (gssize) len, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return;
  event = json_node_get_object (json_parser_get_root (parser));
  kind = json_object_get_string_member_with_default (event, "type", "");
  if (g_str_equal (kind, "state-changed"))
    {
      g_free (w->state);
      w->state = g_strdup (json_object_get_string_member_with_default (event, "state", ""));
      g_free (w->reason);
      w->reason = g_strdup (json_object_get_string_member_with_default (event, "reason", NULL));
      if (w->target != NULL
          && (g_str_equal (w->state, w->target) || g_str_equal (w->state, "ERROR")))
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
                         guint timeout_seconds, GError **error)
{
  g_autoptr (JsonNode) backend_state = NULL;
  g_autoptr (GError) local_error = NULL;
  WaitState *w;
  guint timeout_id;
  gboolean ok = FALSE;

  if (!berthctl_wait_prepare (remote, error))
    return FALSE;
  w = g_steal_pointer (&prepared);
  w->target = g_strdup (target);

  /* The state may have been reached before the stream opened. */
  backend_state = berthctl_remote_call (remote, "GET", "/v1/backend_state", NULL, &local_error);
  if (backend_state != NULL && JSON_NODE_HOLDS_OBJECT (backend_state) && w->state == NULL)
    {
      JsonObject *o = json_node_get_object (backend_state);
      w->state = g_strdup (json_object_get_string_member_with_default (o, "vmState", ""));
      w->reason = g_strdup (json_object_get_string_member_with_default (o, "reason", NULL));
      if (g_str_equal (w->state, target) || g_str_equal (w->state, "ERROR"))
        w->done = TRUE;
    }

  timeout_id = g_timeout_add_seconds (timeout_seconds, on_timeout, w);
  if (!w->done && w->error == NULL)
    g_main_loop_run (w->loop);
  if (!w->timed_out)
    g_source_remove (timeout_id);
  end_bar (w);

  if (w->done && g_strcmp0 (w->state, target) == 0)
    ok = TRUE;
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
