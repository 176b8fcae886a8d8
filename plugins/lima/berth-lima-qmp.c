/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Berth — a QMP client for QEMU's control socket. */

#include "config.h"

#include <string.h>

#include <gio/gunixsocketaddress.h>

#include "berth-error.h"
#include "berth-json.h"
#include "berth-lima-qmp.h"

/* QMP's messages nest a few levels; more is not QEMU talking. */
#define QMP_MAX_DEPTH 32

struct _BerthLimaQmp
{
  GObject parent_instance;

  gchar *socket_path;
  GSocket *socket;
  GByteArray *buffer; /* received bytes not yet returned as lines */
  gint64 timeout_us;
  gchar *qemu_version;
};

G_DEFINE_TYPE (BerthLimaQmp, berth_lima_qmp, G_TYPE_OBJECT)

static void
berth_lima_qmp_finalize (GObject *object)
{
  BerthLimaQmp *self = BERTH_LIMA_QMP (object);

  berth_lima_qmp_close (self);
  g_free (self->socket_path);
  g_byte_array_unref (self->buffer);
  g_free (self->qemu_version);
  G_OBJECT_CLASS (berth_lima_qmp_parent_class)->finalize (object);
}

static void
berth_lima_qmp_class_init (BerthLimaQmpClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = berth_lima_qmp_finalize;
}

static void
berth_lima_qmp_init (BerthLimaQmp *self)
{
  self->buffer = g_byte_array_new ();
}

void
berth_lima_qmp_close (BerthLimaQmp *self)
{
  g_return_if_fail (BERTH_LIMA_IS_QMP (self));

  if (self->socket != NULL)
    g_socket_close (self->socket, NULL);
  g_clear_object (&self->socket);
}

const gchar *
berth_lima_qmp_get_qemu_version (BerthLimaQmp *self)
{
  g_return_val_if_fail (BERTH_LIMA_IS_QMP (self), NULL);
  return self->qemu_version;
}

/* Waits for @condition until @deadline (monotonic µs). */
static gboolean
wait_for (BerthLimaQmp *self, GIOCondition condition, gint64 deadline, GCancellable *cancellable,
          GError **error)
{
  gint64 left = deadline - g_get_monotonic_time ();

  if (left <= 0)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_TIMED_OUT,
                   "QEMU did not answer on its QMP socket %s within %" G_GINT64_FORMAT " ms",
                   self->socket_path, self->timeout_us / 1000);
      return FALSE;
    }
  if (!g_socket_condition_timed_wait (self->socket, condition, left, cancellable, error))
    {
      if (g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        {
          g_clear_error (error);
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_TIMED_OUT,
                       "QEMU did not answer on its QMP socket %s within %" G_GINT64_FORMAT " ms",
                       self->socket_path, self->timeout_us / 1000);
        }
      else
        berth_error_convert (error);
      return FALSE;
    }
  return TRUE;
}

/* The next line from QEMU, without its line ending. */
static gchar *
read_line (BerthLimaQmp *self, GCancellable *cancellable, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + self->timeout_us;

  if (self->socket == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "The QMP connection to %s is closed",
                   self->socket_path);
      return NULL;
    }
  for (;;)
    {
      guint8 chunk[4096];
      gssize n;
      /* An empty GByteArray's data is NULL, which memchr() may not be given. */
      guint8 *newline
          = self->buffer->len > 0 ? memchr (self->buffer->data, '\n', self->buffer->len) : NULL;

      if (newline != NULL)
        {
          gsize length = newline - self->buffer->data;
          gchar *line = g_strndup ((const gchar *)self->buffer->data, length);

          g_byte_array_remove_range (self->buffer, 0, length + 1);
          g_strchomp (line);
          return line;
        }
      if (self->buffer->len > BERTH_LIMA_QMP_MAX_LINE)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "QEMU sent a line longer than %d bytes on %s; closing the connection",
                       BERTH_LIMA_QMP_MAX_LINE, self->socket_path);
          berth_lima_qmp_close (self);
          return NULL;
        }
      if (!wait_for (self, G_IO_IN, deadline, cancellable, error))
        return NULL;
      n = g_socket_receive_with_blocking (self->socket, (gchar *)chunk, sizeof chunk, FALSE,
                                          cancellable, error);
      if (n < 0)
        {
          if (g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              g_clear_error (error);
              continue;
            }
          berth_error_convert (error);
          return NULL;
        }
      if (n == 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                       "QEMU closed its QMP socket %s", self->socket_path);
          berth_error_convert (error);
          return NULL;
        }
      g_byte_array_append (self->buffer, chunk, (guint)n);
    }
}

/* The next message that is not an event, as an object node. */
static JsonNode *
read_reply (BerthLimaQmp *self, GCancellable *cancellable, GError **error)
{
  for (;;)
    {
      g_autofree gchar *line = read_line (self, cancellable, error);
      g_autoptr (GError) parse_error = NULL;
      g_autoptr (JsonNode) root = NULL;

      if (line == NULL)
        return NULL;
      if (line[0] == '\0')
        continue;
      /* RFC 8259, checked before json-glib sees it: json-glib alone reads
       * wider JSON as other values, and leaks what it built of a line it
       * then refuses. */
      root = berth_json_parse (line, strlen (line), QMP_MAX_DEPTH, "the message", &parse_error);
      if (root == NULL)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "QEMU sent something that is not JSON on %s: %s", self->socket_path,
                       parse_error->message);
          return NULL;
        }
      if (!JSON_NODE_HOLDS_OBJECT (root))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "QEMU sent a QMP message that is not an object on %s", self->socket_path);
          return NULL;
        }
      if (json_object_has_member (json_node_get_object (root), "event"))
        continue;
      return g_steal_pointer (&root);
    }
}

static gboolean
send_all (BerthLimaQmp *self, const gchar *data, gsize length, GCancellable *cancellable,
          GError **error)
{
  gint64 deadline = g_get_monotonic_time () + self->timeout_us;

  if (self->socket == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "The QMP connection to %s is closed",
                   self->socket_path);
      return FALSE;
    }
  while (length > 0)
    {
      gssize n;

      if (!wait_for (self, G_IO_OUT, deadline, cancellable, error))
        return FALSE;
      n = g_socket_send_with_blocking (self->socket, data, length, FALSE, cancellable, error);
      if (n < 0)
        {
          if (g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              g_clear_error (error);
              continue;
            }
          berth_error_convert (error);
          return FALSE;
        }
      data += n;
      length -= (gsize)n;
    }
  return TRUE;
}

JsonNode *
berth_lima_qmp_execute_sync (BerthLimaQmp *self, const gchar *command, JsonObject *arguments,
                             GCancellable *cancellable, GError **error)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) request = NULL;
  g_autoptr (JsonNode) reply = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *line = NULL;
  JsonObject *object;

  g_return_val_if_fail (BERTH_LIMA_IS_QMP (self), NULL);
  g_return_val_if_fail (command != NULL, NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "execute");
  json_builder_add_string_value (builder, command);
  if (arguments != NULL)
    {
      json_builder_set_member_name (builder, "arguments");
      json_builder_add_value (builder, json_node_init_object (json_node_alloc (), arguments));
    }
  json_builder_end_object (builder);
  request = json_builder_get_root (builder);
  text = json_to_string (request, FALSE);
  line = g_strconcat (text, "\n", NULL);
  if (!send_all (self, line, strlen (line), cancellable, error))
    return NULL;

  reply = read_reply (self, cancellable, error);
  if (reply == NULL)
    return NULL;
  object = json_node_get_object (reply);
  if (json_object_has_member (object, "return"))
    return json_node_copy (json_object_get_member (object, "return"));
  if (json_object_has_member (object, "error")
      && JSON_NODE_HOLDS_OBJECT (json_object_get_member (object, "error")))
    {
      JsonObject *err = json_object_get_object_member (object, "error");

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND,
                   "QEMU refused the QMP command %s: %s (%s)", command,
                   json_object_get_string_member_with_default (err, "desc", "no description"),
                   json_object_get_string_member_with_default (err, "class", "no class"));
      return NULL;
    }
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
               "QEMU answered the QMP command %s with neither \"return\" nor \"error\"", command);
  return NULL;
}

static gboolean
read_greeting (BerthLimaQmp *self, GCancellable *cancellable, GError **error)
{
  g_autoptr (JsonNode) greeting = read_reply (self, cancellable, error);
  JsonObject *qmp;
  JsonObject *version;
  JsonObject *qemu;

  if (greeting == NULL)
    return FALSE;
  if (!json_object_has_member (json_node_get_object (greeting), "QMP")
      || !JSON_NODE_HOLDS_OBJECT (json_object_get_member (json_node_get_object (greeting), "QMP")))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s did not greet with QMP's {\"QMP\": …}; is it QEMU's QMP socket?",
                   self->socket_path);
      return FALSE;
    }
  qmp = json_object_get_object_member (json_node_get_object (greeting), "QMP");
  version = json_object_has_member (qmp, "version")
                    && JSON_NODE_HOLDS_OBJECT (json_object_get_member (qmp, "version"))
                ? json_object_get_object_member (qmp, "version")
                : NULL;
  qemu = version != NULL && json_object_has_member (version, "qemu")
                 && JSON_NODE_HOLDS_OBJECT (json_object_get_member (version, "qemu"))
             ? json_object_get_object_member (version, "qemu")
             : NULL;
  if (qemu != NULL)
    self->qemu_version
        = g_strdup_printf ("%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT,
                           json_object_get_int_member_with_default (qemu, "major", 0),
                           json_object_get_int_member_with_default (qemu, "minor", 0),
                           json_object_get_int_member_with_default (qemu, "micro", 0));
  return TRUE;
}

BerthLimaQmp *
berth_lima_qmp_connect_sync (const gchar *socket_path, guint timeout_ms, GCancellable *cancellable,
                             GError **error)
{
  g_autoptr (BerthLimaQmp) self = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (JsonNode) capabilities = NULL;

  g_return_val_if_fail (socket_path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (BERTH_LIMA_TYPE_QMP, NULL);
  self->socket_path = g_strdup (socket_path);
  self->timeout_us = (gint64)MAX (timeout_ms, 1) * 1000;
  self->socket
      = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, error);
  if (self->socket == NULL)
    {
      berth_error_convert (error);
      return NULL;
    }
  g_socket_set_blocking (self->socket, FALSE);
  address = g_unix_socket_address_new (socket_path);
  if (!g_socket_connect (self->socket, address, cancellable, error))
    {
      if (g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_PENDING))
        {
          g_clear_error (error);
          if (!wait_for (self, G_IO_OUT, g_get_monotonic_time () + self->timeout_us, cancellable,
                         error)
              || !g_socket_check_connect_result (self->socket, error))
            {
              berth_error_convert (error);
              return NULL;
            }
        }
      else
        {
          g_autofree gchar *message = g_strdup ((*error)->message);

          g_clear_error (error);
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND,
                       "Cannot connect to QEMU's QMP socket %s: %s", socket_path, message);
          return NULL;
        }
    }
  if (!read_greeting (self, cancellable, error))
    return NULL;
  capabilities = berth_lima_qmp_execute_sync (self, "qmp_capabilities", NULL, cancellable, error);
  if (capabilities == NULL)
    return NULL;
  return g_steal_pointer (&self);
}

gchar *
berth_lima_qmp_query_status_sync (BerthLimaQmp *self, gboolean *running_out,
                                  GCancellable *cancellable, GError **error)
{
  g_autoptr (JsonNode) reply = NULL;
  JsonObject *object;
  const gchar *status;

  reply = berth_lima_qmp_execute_sync (self, "query-status", NULL, cancellable, error);
  if (reply == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (reply))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "QEMU's answer to query-status is not an object");
      return NULL;
    }
  object = json_node_get_object (reply);
  status = json_object_get_string_member_with_default (object, "status", NULL);
  if (status == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "QEMU's answer to query-status has no \"status\" string");
      return NULL;
    }
  if (running_out != NULL)
    *running_out = json_object_get_boolean_member_with_default (object, "running", FALSE);
  return g_strdup (status);
}

gboolean
berth_lima_qmp_system_powerdown_sync (BerthLimaQmp *self, GCancellable *cancellable, GError **error)
{
  g_autoptr (JsonNode) reply
      = berth_lima_qmp_execute_sync (self, "system_powerdown", NULL, cancellable, error);

  return reply != NULL;
}

gboolean
berth_lima_qmp_quit_sync (BerthLimaQmp *self, GCancellable *cancellable, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (JsonNode) reply
      = berth_lima_qmp_execute_sync (self, "quit", NULL, cancellable, &local);

  if (reply != NULL)
    return TRUE;
  /* QEMU exits while answering: a closed connection is the expected end. */
  if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED)
      || g_error_matches (local, BERTH_ERROR, BERTH_ERROR_FAILED))
    return TRUE;
  g_propagate_error (error, g_steal_pointer (&local));
  return FALSE;
}

typedef struct
{
  gchar *socket_path;
  gchar *command;
  guint timeout_ms;
} CallData;

static void
call_data_free (CallData *data)
{
  g_free (data->socket_path);
  g_free (data->command);
  g_free (data);
}

static void
call_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  CallData *data = task_data;
  g_autoptr (BerthLimaQmp) qmp = NULL;
  g_autoptr (GError) error = NULL;
  JsonNode *reply = NULL;

  qmp = berth_lima_qmp_connect_sync (data->socket_path, data->timeout_ms, cancellable, &error);
  if (qmp == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (g_str_equal (data->command, "quit"))
    {
      if (berth_lima_qmp_quit_sync (qmp, cancellable, &error))
        reply = json_node_init_object (json_node_alloc (), json_object_new ());
    }
  else
    reply = berth_lima_qmp_execute_sync (qmp, data->command, NULL, cancellable, &error);
  if (reply == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, reply, (GDestroyNotify)json_node_unref);
}

void
berth_lima_qmp_call_async (const gchar *socket_path, const gchar *command, guint timeout_ms,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  CallData *data;

  g_return_if_fail (socket_path != NULL);
  g_return_if_fail (command != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, berth_lima_qmp_call_async);
  data = g_new0 (CallData, 1);
  data->socket_path = g_strdup (socket_path);
  data->command = g_strdup (command);
  data->timeout_ms = timeout_ms;
  g_task_set_task_data (task, data, (GDestroyNotify)call_data_free);
  g_task_run_in_thread (task, call_thread);
}

JsonNode *
berth_lima_qmp_call_finish (GAsyncResult *result, GError **error)
{
  JsonNode *reply;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, berth_lima_qmp_call_async), NULL);

  reply = g_task_propagate_pointer (G_TASK (result), error);
  berth_error_convert (error);
  return reply;
}
