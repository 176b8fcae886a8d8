/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One request to berthd: credentials, the retry when berthd restarted, the
 * launch when none answers, and the answer read into JSON or an error in
 * BERTH_CLIENT_ERROR with berthd's own message. */
#include "config.h"

#include <string.h>

#include "berth-client-private.h"

/* How much of an answer that is not berthd's JSON a message repeats. */
#define MAX_QUOTED_ANSWER 200

typedef struct
{
  gchar *method;
  gchar *path;
  GBytes *body;
  BerthClientRequestFlags flags;
  SoupMessage *msg;
  gboolean reread;   /* the credentials were read again for this request */
  gboolean launched; /* berthd was launched for it */
} Request;

static void
request_free (Request *request)
{
  g_free (request->method);
  g_free (request->path);
  g_clear_pointer (&request->body, g_bytes_unref);
  g_clear_object (&request->msg);
  g_free (request);
}

void
berth_client_update_endpoint (BerthClient *self)
{
  g_autofree gchar *pair = NULL;
  g_autofree gchar *encoded = NULL;
  const gchar *host = self->host != NULL ? self->host : "127.0.0.1";
  gboolean ipv6 = strchr (host, ':') != NULL && host[0] != '[';

  g_free (self->base_uri);
  self->base_uri
      = g_strdup_printf ("http://%s%s%s:%u", ipv6 ? "[" : "", host, ipv6 ? "]" : "", self->port);
  pair = g_strdup_printf ("%s:%s", self->user != NULL ? self->user : "",
                          self->password != NULL ? self->password : "");
  encoded = g_base64_encode ((const guchar *)pair, strlen (pair));
  explicit_bzero (pair, strlen (pair));
  if (self->authorization != NULL)
    explicit_bzero (self->authorization, strlen (self->authorization));
  g_free (self->authorization);
  self->authorization = g_strconcat ("Basic ", encoded, NULL);
  explicit_bzero (encoded, strlen (encoded));
}

SoupMessage *
berth_client_new_message (BerthClient *self, const gchar *method, const gchar *path)
{
  g_autofree gchar *uri = g_strconcat (self->base_uri, path, NULL);
  g_autoptr (GUri) parsed = g_uri_parse (uri, SOUP_HTTP_URI_FLAGS, NULL);
  SoupMessage *msg;

  if (parsed == NULL || path[0] != '/')
    return NULL;
  msg = soup_message_new_from_uri (method, parsed);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                self->authorization);
  return msg;
}

gboolean
berth_client_error_is_unreachable (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED)
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE)
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE)
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED)
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE)
         || g_error_matches (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND);
}

/* ---- answers ------------------------------------------------------------- */

static BerthClientError
code_for_status (guint status)
{
  switch (status)
    {
    case SOUP_STATUS_UNAUTHORIZED:
      return BERTH_CLIENT_ERROR_AUTH;
    case SOUP_STATUS_NOT_FOUND:
      return BERTH_CLIENT_ERROR_NOT_FOUND;
    case SOUP_STATUS_CONFLICT:
      return BERTH_CLIENT_ERROR_BUSY;
    case SOUP_STATUS_METHOD_NOT_ALLOWED:
    case SOUP_STATUS_NOT_IMPLEMENTED:
      return BERTH_CLIENT_ERROR_NOT_SUPPORTED;
    default:
      return status >= 500 ? BERTH_CLIENT_ERROR_SERVER : BERTH_CLIENT_ERROR_REFUSED;
    }
}

/* What berthd answered @request with: its JSON, a string node for text, a
 * null node for nothing; an error for an HTTP error, with berthd's message
 * ({"message", "code"}) when it sent one. */
static JsonNode *
read_answer (Request *request, GBytes *bytes, GError **error)
{
  guint status = soup_message_get_status (request->msg);
  const gchar *type = soup_message_headers_get_content_type (
      soup_message_get_response_headers (request->msg), NULL);
  gsize length = 0;
  const gchar *data = bytes != NULL ? g_bytes_get_data (bytes, &length) : NULL;
  gboolean json = g_strcmp0 (type, "application/json") == 0;
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree gchar *what
      = g_strdup_printf ("berthd's answer to %s %s", request->method, request->path);

  if (length > 0 && json)
    root = berth_client_parse_json (data, length, what, &local_error);

  if (SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      if (length == 0)
        return json_node_new (JSON_NODE_NULL);
      if (json)
        {
          if (root == NULL)
            g_propagate_error (error, g_steal_pointer (&local_error));
          return g_steal_pointer (&root);
        }
      if (memchr (data, '\0', length) != NULL || !g_utf8_validate (data, (gssize)length, NULL))
        {
          g_set_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL,
                       "%s is neither JSON nor text", what);
          return NULL;
        }
      {
        g_autofree gchar *text = g_strndup (data, length);

        return json_node_init_string (json_node_alloc (), text);
      }
    }

  if (root != NULL && JSON_NODE_HOLDS_OBJECT (root))
    {
      JsonNode *message = json_object_get_member (json_node_get_object (root), "message");

      if (message != NULL && JSON_NODE_HOLDS_VALUE (message)
          && json_node_get_value_type (message) == G_TYPE_STRING)
        {
          g_set_error_literal (error, BERTH_CLIENT_ERROR, code_for_status (status),
                               json_node_get_string (message));
          return NULL;
        }
    }
  if (status == SOUP_STATUS_UNAUTHORIZED)
    {
      g_set_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_AUTH,
                   "berthd at %s refused the credentials (HTTP 401); check the user and the "
                   "password, or the credentials file they come from",
                   request->msg != NULL ? g_uri_get_host (soup_message_get_uri (request->msg))
                                        : "?");
      return NULL;
    }
  if (length > 0 && g_utf8_validate (data, (gssize)MIN (length, MAX_QUOTED_ANSWER), NULL)
      && memchr (data, '\0', MIN (length, MAX_QUOTED_ANSWER)) == NULL)
    g_set_error (error, BERTH_CLIENT_ERROR, code_for_status (status),
                 "%s %s failed: HTTP %u %s: %.*s%s", request->method, request->path, status,
                 soup_status_get_phrase (status), (int)MIN (length, MAX_QUOTED_ANSWER), data,
                 length > MAX_QUOTED_ANSWER ? "…" : "");
  else
    g_set_error (error, BERTH_CLIENT_ERROR, code_for_status (status), "%s %s failed: HTTP %u %s",
                 request->method, request->path, status, soup_status_get_phrase (status));
  return NULL;
}

/* ---- the request's steps -------------------------------------------------- */

static void
request_send (GTask *task);

static void
credentials_reloaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;

  if (!berth_client_load_credentials_finish (BERTH_CLIENT (source), result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  request_send (g_steal_pointer (&task));
}

static void
launched (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;

  if (!berth_client_launch_finish (BERTH_CLIENT (source), result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  /* The event stream, when it waits, need not wait longer. */
  berth_client_events_kick (BERTH_CLIENT (source));
  request_send (g_steal_pointer (&task));
}

/* Nothing answers: launch berthd when that was asked, else say so. */
static void
request_not_running (GTask *task, GError *error)
{
  BerthClient *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);

  if ((self->flags & BERTH_CLIENT_CONNECT_FLAGS_NO_EVENTS) != 0)
    berth_client_set_connected (self, FALSE);
  if (!request->launched && (request->flags & BERTH_CLIENT_REQUEST_NO_LAUNCH) == 0
      && berth_client_may_launch (self))
    {
      request->launched = TRUE;
      g_clear_error (&error);
      berth_client_launch_async (self, g_task_get_cancellable (task), launched, task);
      return;
    }
  g_task_return_error (task, error);
  g_object_unref (task);
}

static void
request_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthClient *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes
      = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  JsonNode *answer;

  if (bytes == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      if (!berth_client_error_is_unreachable (error))
        {
          g_task_return_new_error (task, BERTH_CLIENT_ERROR,
                                   g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)
                                       ? BERTH_CLIENT_ERROR_FAILED
                                       : BERTH_CLIENT_ERROR_NOT_RUNNING,
                                   "berthd at %s did not answer %s %s: %s", self->base_uri,
                                   request->method, request->path, error->message);
          return;
        }
      /* berthd may have restarted elsewhere: its credentials file says. */
      if (!request->reread && berth_client_uses_credentials_file (self))
        {
          request->reread = TRUE;
          berth_client_load_credentials_async (self, cancellable, credentials_reloaded,
                                               g_steal_pointer (&task));
          return;
        }
      request_not_running (g_steal_pointer (&task),
                           g_error_new (BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_NOT_RUNNING,
                                        "berthd is not running: nothing answers at %s%s (%s); "
                                        "start it (berthctl start)",
                                        self->base_uri,
                                        berth_client_uses_credentials_file (self)
                                            ? ", where its credentials file says it listens"
                                            : "",
                                        error->message));
      return;
    }

  /* A berthd restarted on the same port has a new password. */
  if (soup_message_get_status (request->msg) == SOUP_STATUS_UNAUTHORIZED && !request->reread
      && berth_client_uses_credentials_file (self))
    {
      request->reread = TRUE;
      berth_client_load_credentials_async (self, cancellable, credentials_reloaded,
                                           g_steal_pointer (&task));
      return;
    }

  if ((self->flags & BERTH_CLIENT_CONNECT_FLAGS_NO_EVENTS) != 0)
    berth_client_set_connected (self, TRUE);
  answer = read_answer (request, bytes, &error);
  if (answer == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, answer, (GDestroyNotify)json_node_unref);
}

static void
request_send (GTask *task)
{
  BerthClient *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);
  SoupSession *session
      = (request->flags & BERTH_CLIENT_REQUEST_LONG) != 0 ? self->long_session : self->session;

  g_clear_object (&request->msg);
  request->msg = berth_client_new_message (self, request->method, request->path);
  if (request->msg == NULL)
    {
      g_task_return_new_error (task, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_FAILED,
                               "\"%s\" is not a path of berthd's API (such as /v1/settings)",
                               request->path);
      g_object_unref (task);
      return;
    }
  if (request->body != NULL)
    soup_message_set_request_body_from_bytes (request->msg, "application/json", request->body);
  soup_session_send_and_read_async (session, request->msg, G_PRIORITY_DEFAULT,
                                    g_task_get_cancellable (task), request_sent, task);
}

static void
credentials_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;

  if (!berth_client_load_credentials_finish (BERTH_CLIENT (source), result, &error))
    {
      if (g_error_matches (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_NOT_RUNNING))
        request_not_running (g_steal_pointer (&task), g_steal_pointer (&error));
      else
        g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  ((Request *)g_task_get_task_data (task))->reread = TRUE;
  request_send (g_steal_pointer (&task));
}

void
berth_client_request_async (BerthClient *self, const gchar *method, const gchar *path,
                            JsonNode *body, BerthClientRequestFlags flags,
                            GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  Request *request = g_new0 (Request, 1);

  g_task_set_source_tag (task, berth_client_request_async);
  request->method = g_strdup (method);
  request->path = g_strdup (path);
  request->flags = flags;
  if (body != NULL)
    {
      gsize length = 0;
      gchar *text = berth_client_json_to_string (body);

      length = strlen (text);
      request->body = g_bytes_new_take (text, length);
    }
  g_task_set_task_data (task, request, (GDestroyNotify)request_free);

  if (!self->have_credentials)
    {
      berth_client_load_credentials_async (self, cancellable, credentials_loaded,
                                           g_steal_pointer (&task));
      return;
    }
  request_send (g_steal_pointer (&task));
}

JsonNode *
berth_client_request_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == berth_client_request_async,
                        NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- what the calls share ---------------------------------------------------- */

static void
route_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  JsonNode *answer = berth_client_request_finish (BERTH_CLIENT (source), result, &error);

  if (answer == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, answer, (GDestroyNotify)json_node_unref);
}

void
berth_client_route (BerthClient *self, const gchar *method, const gchar *path, JsonNode *body,
                    BerthClientRequestFlags flags, gpointer source_tag, GCancellable *cancellable,
                    GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (BERTH_IS_CLIENT (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);
  berth_client_request_async (self, method, path, body, flags, cancellable, route_done,
                              g_steal_pointer (&task));
}

JsonNode *
berth_client_route_finish (BerthClient *self, GAsyncResult *result, gpointer source_tag,
                           GError **error)
{
  g_return_val_if_fail (BERTH_IS_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
berth_client_route_finish_boolean (BerthClient *self, GAsyncResult *result, gpointer source_tag,
                                   GError **error)
{
  g_autoptr (JsonNode) answer = berth_client_route_finish (self, result, source_tag, error);

  return answer != NULL;
}

gboolean
berth_client_protocol_error (GError **error, const gchar *path, const gchar *expected)
{
  g_set_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL,
               "berthd's answer to %s is not %s", path, expected);
  return FALSE;
}

/* @answer, an array of strings, as a GStrv; NULL with an error otherwise. */
GStrv
berth_client_strv_from_answer (JsonNode *answer, const gchar *path, GError **error)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  JsonArray *array;

  if (!JSON_NODE_HOLDS_ARRAY (answer))
    {
      berth_client_protocol_error (error, path, "an array of strings");
      return NULL;
    }
  array = json_node_get_array (answer);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);

      if (!JSON_NODE_HOLDS_VALUE (element) || json_node_get_value_type (element) != G_TYPE_STRING)
        {
          berth_client_protocol_error (error, path, "an array of strings");
          return NULL;
        }
      g_strv_builder_add (builder, json_node_get_string (element));
    }
  return g_strv_builder_end (builder);
}

/* @answer if it is an object, else NULL with an error. */
JsonNode *
berth_client_object_answer (JsonNode *answer, const gchar *path, GError **error)
{
  if (answer == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (answer))
    {
      berth_client_protocol_error (error, path, "a JSON object");
      json_node_unref (answer);
      return NULL;
    }
  return answer;
}

/* A JSON body of @first_member and its value and the pairs after it,
 * ended by NULL; a NULL value leaves its member out. Values are strings. */
JsonNode *
berth_client_string_body (const gchar *first_member, ...)
{
  JsonObject *object = json_object_new ();
  JsonNode *node;
  va_list args;

  va_start (args, first_member);
  for (const gchar *member = first_member; member != NULL; member = va_arg (args, const gchar *))
    {
      const gchar *value = va_arg (args, const gchar *);

      if (value != NULL)
        json_object_set_string_member (object, member, value);
    }
  va_end (args);
  node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, object);
  return node;
}

/* A path with its query, each value escaped; NULL values are left out. */
gchar *
berth_client_path_with_query (const gchar *path, const gchar *first_name, ...)
{
  GString *uri = g_string_new (path);
  gboolean first = TRUE;
  va_list args;

  va_start (args, first_name);
  for (const gchar *name = first_name; name != NULL; name = va_arg (args, const gchar *))
    {
      const gchar *value = va_arg (args, const gchar *);

      if (value == NULL)
        continue;
      g_string_append_c (uri, first ? '?' : '&');
      g_string_append_uri_escaped (uri, name, NULL, FALSE);
      g_string_append_c (uri, '=');
      g_string_append_uri_escaped (uri, value, NULL, FALSE);
      first = FALSE;
    }
  va_end (args);
  return g_string_free (uri, FALSE);
}
