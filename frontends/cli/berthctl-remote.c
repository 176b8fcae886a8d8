/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "berthctl-remote.h"

#include <libsoup/soup.h>

#include "berth.h"

struct _BerthctlRemote
{
  SoupSession *session;
  gchar *base_uri; /* http://127.0.0.1:PORT */
  gchar *authorization;
};

/* Reads berth-engine.json; fills what the flags left unset. */
static gboolean
read_credentials (BerthctlConnection *conn, GError **error)
{
  g_autofree gchar *path = NULL;
  g_autofree gchar *text = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local_error = NULL;
  JsonObject *o;

  if (conn->user != NULL && conn->password != NULL && conn->port > 0)
    return TRUE;
  path = berthctl_connection_get_config_path (conn);
  if (!g_file_get_contents (path, &text, NULL, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                     "berthd is not running (no %s); start it with berthctl start", path);
      else
        g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "cannot read %s: %s", path,
                     local_error->message);
      return FALSE;
    }
  if (!json_parser_load_from_data (parser, text, -1, &local_error)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is not a berthd credentials file", path);
      return FALSE;
    }
  o = json_node_get_object (json_parser_get_root (parser));
  if (conn->user == NULL)
    conn->user = g_strdup (json_object_get_string_member_with_default (o, "user", ""));
  if (conn->password == NULL)
    conn->password = g_strdup (json_object_get_string_member_with_default (o, "password", ""));
  if (conn->port <= 0)
    conn->port = (gint) json_object_get_int_member_with_default (o, "port", 0);
  if (conn->port <= 0 || conn->port > 65535)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA, "%s names no valid port", path);
      return FALSE;
    }
  return TRUE;
}

/* --port: 0 stands for "not given" in BerthctlConnection, so a value that
 * is no port (0 included) is refused here as a command-line mistake rather
 * than left for the credentials file's port to replace. */
static gboolean
parse_port_option (const gchar *option_name, const gchar *value, gpointer data, GError **error)
{
  BerthctlConnection *conn = data;
  guint64 port = 0;

  if (!g_ascii_string_to_unsigned (value, 10, 1, G_MAXUINT16, &port, NULL))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "%s %s is not a port; use 1 to 65535", option_name, value);
      return FALSE;
    }
  conn->port = (gint)port;
  return TRUE;
}

GOptionGroup *
berthctl_connection_option_group (BerthctlConnection *conn)
{
  GOptionEntry entries[]
      = { { "host", 0, 0, G_OPTION_ARG_STRING, &conn->host, "berthd's address (127.0.0.1)",
            "HOST" },
          { "port", 0, 0, G_OPTION_ARG_CALLBACK, parse_port_option, "berthd's port (1 to 65535)",
            "PORT" },
          { "user", 0, 0, G_OPTION_ARG_STRING, &conn->user, "API user", "USER" },
          { "password", 0, 0, G_OPTION_ARG_STRING, &conn->password, "API password", "PASSWORD" },
          { "config-path", 0, 0, G_OPTION_ARG_FILENAME, &conn->config_path,
            "Credentials file (default: <data>/berth-engine.json)", "FILE" },
          { NULL } };
  GOptionGroup *group
      = g_option_group_new ("connection", "Connection:", "Show how to reach berthd", conn, NULL);

  g_option_group_add_entries (group, entries);
  return group;
}

gchar *
berthctl_connection_get_config_path (const BerthctlConnection *conn)
{
  g_autoptr (BerthPaths) paths = NULL;

  if (conn->config_path != NULL)
    return g_strdup (conn->config_path);
  paths = berth_paths_new ();
  return g_build_filename (paths->data, "berth-engine.json", NULL);
}

void
berthctl_connection_clear (BerthctlConnection *conn)
{
  g_clear_pointer (&conn->host, g_free);
  g_clear_pointer (&conn->user, g_free);
  g_clear_pointer (&conn->password, g_free);
  g_clear_pointer (&conn->config_path, g_free);
}

BerthctlRemote *
berthctl_remote_new (const BerthctlConnection *conn_in, GError **error)
{
  BerthctlConnection conn = { 0 };
  BerthctlRemote *self;
  g_autofree gchar *userpass = NULL;
  g_autofree gchar *b64 = NULL;

  conn.host = g_strdup (conn_in->host != NULL ? conn_in->host : "127.0.0.1");
  conn.port = conn_in->port;
  conn.user = g_strdup (conn_in->user);
  conn.password = g_strdup (conn_in->password);
  conn.config_path = g_strdup (conn_in->config_path);
  if (!read_credentials (&conn, error))
    {
      berthctl_connection_clear (&conn);
      return NULL;
    }
  self = g_new0 (BerthctlRemote, 1);
  self->session = soup_session_new_with_options ("timeout", 60, "idle-timeout", 60, NULL);
  soup_session_set_user_agent (self->session, "berthctl/" BERTH_VERSION_STRING);
  self->base_uri = g_strdup_printf ("http://%s:%d", conn.host, conn.port);
  userpass = g_strdup_printf ("%s:%s", conn.user, conn.password);
  b64 = g_base64_encode ((const guchar *) userpass, strlen (userpass));
  self->authorization = g_strdup_printf ("Basic %s", b64);
  berthctl_connection_clear (&conn);
  return self;
}

void
berthctl_remote_free (BerthctlRemote *self)
{
  if (self == NULL)
    return;
  g_clear_object (&self->session);
  g_free (self->base_uri);
  g_free (self->authorization);
  g_free (self);
}

SoupMessage *
berthctl_remote_new_message (BerthctlRemote *self, const gchar *method, const gchar *path)
{
  g_autofree gchar *uri = g_strconcat (self->base_uri, path, NULL);
  SoupMessage *msg = soup_message_new (method, uri);

  if (msg != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                  self->authorization);
  return msg;
}

SoupSession *
berthctl_remote_get_session (BerthctlRemote *self)
{
  return self->session;
}

static gint
error_code_from_string (const gchar *code)
{
  for (gint i = BERTH_ERROR_FAILED; i <= BERTH_ERROR_TIMED_OUT; i++)
    if (g_strcmp0 (berth_error_code_to_string (i), code) == 0)
      return i;
  return BERTH_ERROR_FAILED;
}

JsonNode *
berthctl_remote_call_raw (BerthctlRemote *self, const gchar *method, const gchar *path,
                          GBytes *body, guint *status_out, GError **error)
{
  g_autoptr (SoupMessage) msg = berthctl_remote_new_message (self, method, path);
  g_autoptr (GBytes) answer = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  const gchar *data;
  gsize len = 0;
  guint status;

  if (msg == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA, "\"%s\" is not an API path",
                   path);
      return NULL;
    }
  if (body != NULL)
    soup_message_set_request_body_from_bytes (msg, "application/json", body);
  answer = soup_session_send_and_read (self->session, msg, NULL, &local_error);
  if (answer == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                   "cannot reach berthd at %s: %s", self->base_uri, local_error->message);
      return NULL;
    }
  status = soup_message_get_status (msg);
  if (status_out != NULL)
    *status_out = status;
  data = g_bytes_get_data (answer, &len);

  if (status == SOUP_STATUS_UNAUTHORIZED)
    {
      g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_AUTH,
                           "berthd refused the credentials (HTTP 401); check --user and "
                           "--password or the credentials file");
      return NULL;
    }
  if (len == 0)
    {
      if (status >= 400)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "%s %s: HTTP %u %s", method, path,
                       status, soup_status_get_phrase (status));
          return NULL;
        }
      return json_node_new (JSON_NODE_NULL);
    }
  if (!json_parser_load_from_data (parser, data, (gssize) len, &local_error))
    {
      if (status >= 400)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "%s %s: HTTP %u: %.*s", method,
                       path, status, (int) MIN (len, 512), data);
          return NULL;
        }
      /* Not JSON (text/plain answers): hand it over as a string. */
      {
        JsonNode *node = json_node_new (JSON_NODE_VALUE);
        g_autofree gchar *text = g_strndup (data, len);
        json_node_set_string (node, text);
        return node;
      }
    }
  if (status >= 400)
    {
      JsonNode *root = json_parser_get_root (parser);
      const gchar *message = NULL;
      const gchar *code = NULL;

      if (root != NULL && JSON_NODE_HOLDS_OBJECT (root))
        {
          JsonObject *o = json_node_get_object (root);
          message = json_object_get_string_member_with_default (o, "message", NULL);
          code = json_object_get_string_member_with_default (o, "code", NULL);
        }
      if (message != NULL)
        g_set_error_literal (error, BERTH_ERROR, error_code_from_string (code), message);
      else
        g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "%s %s: HTTP %u %s", method, path,
                     status, soup_status_get_phrase (status));
      return NULL;
    }
  return json_parser_steal_root (parser);
}

JsonNode *
berthctl_remote_call (BerthctlRemote *self, const gchar *method, const gchar *path,
                      JsonNode *body, GError **error)
{
  g_autoptr (GBytes) bytes = NULL;

  if (body != NULL)
    {
      g_autoptr (JsonGenerator) gen = json_generator_new ();
      gsize len = 0;
      gchar *text;

      json_generator_set_root (gen, body);
      text = json_generator_to_data (gen, &len);
      bytes = g_bytes_new_take (text, len);
    }
  return berthctl_remote_call_raw (self, method, path, bytes, NULL, error);
}
