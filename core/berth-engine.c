/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <gio/gunixsocketaddress.h>
#include <string.h>

#include "berth-engine-private.h"
#include "berth-error.h"

/* The guest paths are the engines' defaults (dockerd's -H, containerd's
 * address, buildkitd's --addr), which the seed's start sequence keeps;
 * /var/run is /run in every guest Berth boots. */
static const BerthEngineSocket engine_sockets[] = {
  { "moby", "dockerd", "/var/run/docker.sock", "docker.sock", BERTH_ENGINE_PROBE_DOCKER_PING },
  { "containerd", "containerd", "/run/containerd/containerd.sock", "containerd.sock",
    BERTH_ENGINE_PROBE_HTTP2 },
  /* For nerdctl build; answers only where the guest runs buildkitd. */
  { "containerd", "buildkitd", "/run/buildkit/buildkitd.sock", "buildkitd.sock",
    BERTH_ENGINE_PROBE_NONE },
};

#define PROBE_INTERVAL_MS 200
#define PROBE_ATTEMPT_MS 2000
#define HUNG_UP "the connection closed without an answer (nothing listens in the VM yet)"
/* An answer longer than this is not a ping's. */
#define PING_REPLY_MAX 4096

const BerthEngineSocket *
berth_engine_sockets (guint *n_out)
{
  g_return_val_if_fail (n_out != NULL, NULL);
  *n_out = G_N_ELEMENTS (engine_sockets);
  return engine_sockets;
}

GPtrArray *
berth_engine_sockets_for (const gchar *engine)
{
  GPtrArray *sockets = g_ptr_array_new ();

  for (gsize i = 0; i < G_N_ELEMENTS (engine_sockets); i++)
    if (g_strcmp0 (engine_sockets[i].engine, engine) == 0)
      g_ptr_array_add (sockets, (gpointer)&engine_sockets[i]);
  return sockets;
}

gchar *
berth_engine_socket_host_path (const BerthEngineSocket *socket, const gchar *data_dir)
{
  return g_build_filename (data_dir, socket->host_name, NULL);
}

void
berth_engine_sockets_remove (const gchar *data_dir)
{
  for (gsize i = 0; i < G_N_ELEMENTS (engine_sockets); i++)
    {
      g_autofree gchar *path = berth_engine_socket_host_path (&engine_sockets[i], data_dir);
      GStatBuf st;

      if (g_lstat (path, &st) == 0 && S_ISSOCK (st.st_mode) && g_unlink (path) != 0)
        g_message ("Cannot remove the stale socket %s: %s", path, g_strerror (errno));
    }
}

/* ---- probes ------------------------------------------------------------- */

static gboolean
send_all (GSocket *socket, const gchar *data, gsize len, GCancellable *cancellable, GError **error)
{
  while (len > 0)
    {
      gssize sent = g_socket_send (socket, data, len, cancellable, error);

      if (sent < 0)
        return FALSE;
      data += sent;
      len -= (gsize)sent;
    }
  return TRUE;
}

/* Reads until EOF, @max bytes or @want bytes (0: no such limit). */
static GByteArray *
receive_some (GSocket *socket, gsize want, gsize max, GCancellable *cancellable, GError **error)
{
  g_autoptr (GByteArray) buffer = g_byte_array_new ();
  guint8 chunk[1024];

  while (buffer->len < max && (want == 0 || buffer->len < want))
    {
      gssize got = g_socket_receive (socket, (gchar *)chunk, MIN (sizeof chunk, max - buffer->len),
                                     cancellable, error);

      if (got < 0)
        return NULL;
      if (got == 0)
        break;
      g_byte_array_append (buffer, chunk, (guint)got);
    }
  return g_steal_pointer (&buffer);
}

static gboolean
check_docker_ping (GByteArray *reply, GError **error)
{
  g_autofree gchar *text = NULL;
  const gchar *body;
  const gchar *line_end;

  if (reply->len == 0)
    {
      g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_FAILED, HUNG_UP);
      return FALSE;
    }
  text = g_strndup ((const gchar *)reply->data, reply->len);
  line_end = strstr (text, "\r\n");
  body = strstr (text, "\r\n\r\n");
  if ((g_str_has_prefix (text, "HTTP/1.1 200 ") || g_str_has_prefix (text, "HTTP/1.0 200 "))
      && body != NULL && g_str_has_prefix (body + 4, "OK"))
    return TRUE;
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "/_ping answered \"%.*s\"",
               line_end != NULL ? (int)MIN (line_end - text, 120) : 120, text);
  return FALSE;
}

static gboolean
check_http2_settings (GByteArray *reply, GError **error)
{
  /* A frame header: 24-bit length, type (0x4 is SETTINGS), flags, stream. */
  if (reply->len >= 9 && reply->data[3] == 0x4)
    return TRUE;
  g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                       reply->len == 0 ? HUNG_UP : "the answer is not an HTTP/2 SETTINGS frame");
  return FALSE;
}

/* The forward takes the connection and hangs up when nothing listens in the
 * guest: depending on timing that is an EOF, a reset or a broken pipe. */
static void
set_io_error (GError **error, const GError *io)
{
  if (g_error_matches (io, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED)
      || g_error_matches (io, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE))
    g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_FAILED, HUNG_UP);
  else
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "%s", io->message);
}

gboolean
berth_engine_socket_probe (const gchar *path, BerthEngineProbe probe, guint timeout_ms,
                           GCancellable *cancellable, GError **error)
{
  static const gchar ping[] = "GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n";
  /* The client preface, then an empty SETTINGS frame. */
  static const gchar preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                                 "\x00\x00\x00\x04\x00\x00\x00\x00\x00";
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GByteArray) reply = NULL;
  g_autoptr (GError) local = NULL;

  g_return_val_if_fail (path != NULL, FALSE);

  if (probe == BERTH_ENGINE_PROBE_NONE)
    return TRUE;
  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
                         &local);
  if (socket == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "%s", local->message);
      return FALSE;
    }
  g_socket_set_timeout (socket, (timeout_ms + 999) / 1000);
  address = g_unix_socket_address_new (path);
  if (!g_socket_connect (socket, address, cancellable, &local))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "cannot connect: %s", local->message);
      return FALSE;
    }
  if (probe == BERTH_ENGINE_PROBE_DOCKER_PING)
    {
      if (!send_all (socket, ping, sizeof ping - 1, cancellable, &local)
          || (reply = receive_some (socket, 0, PING_REPLY_MAX, cancellable, &local)) == NULL)
        {
          set_io_error (error, local);
          return FALSE;
        }
      return check_docker_ping (reply, error);
    }
  if (!send_all (socket, preface, sizeof preface - 1, cancellable, &local)
      || (reply = receive_some (socket, 9, 9, cancellable, &local)) == NULL)
    {
      set_io_error (error, local);
      return FALSE;
    }
  return check_http2_settings (reply, error);
}

/* ---- waiting ------------------------------------------------------------ */

typedef struct
{
  gchar *path;
  gchar *daemon;
  BerthEngineProbe probe;
  guint timeout_seconds;
} WaitData;

static void
wait_data_free (WaitData *data)
{
  g_free (data->path);
  g_free (data->daemon);
  g_free (data);
}

static void
wait_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  WaitData *data = task_data;
  gint64 deadline = g_get_monotonic_time () + (gint64)data->timeout_seconds * G_USEC_PER_SEC;
  g_autoptr (GError) last = NULL;
  guint attempts = 0;

  for (;;)
    {
      gint64 started = g_get_monotonic_time ();

      g_clear_error (&last);
      attempts++;
      if (berth_engine_socket_probe (data->path, data->probe, PROBE_ATTEMPT_MS, cancellable, &last))
        {
          g_debug ("%s answers on %s (attempt %u)", data->daemon, data->path, attempts);
          g_task_return_boolean (task, TRUE);
          return;
        }
      if (g_cancellable_is_cancelled (cancellable))
        {
          g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_CANCELLED,
                                   "Waiting for %s was cancelled", data->daemon);
          return;
        }
      if (started + PROBE_INTERVAL_MS * 1000 >= deadline)
        break;
      /* Sleep out the interval in short naps so a cancel is seen quickly. */
      while (g_get_monotonic_time () < started + PROBE_INTERVAL_MS * 1000
             && !g_cancellable_is_cancelled (cancellable))
        g_usleep (20 * 1000);
    }
  g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_TIMED_OUT,
                           "%s did not answer on %s within %u s (last: %s); its log in the VM "
                           "says why (berthctl shell cat /var/log/%s.log)",
                           data->daemon, data->path, data->timeout_seconds, last->message,
                           data->daemon);
}

void
berth_engine_socket_wait_async (const gchar *path, BerthEngineProbe probe, const gchar *daemon,
                                guint timeout_seconds, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  WaitData *data;

  g_return_if_fail (path != NULL && daemon != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, berth_engine_socket_wait_async);
  g_task_set_return_on_cancel (task, FALSE);
  data = g_new0 (WaitData, 1);
  data->path = g_strdup (path);
  data->daemon = g_strdup (daemon);
  data->probe = probe;
  data->timeout_seconds = timeout_seconds;
  g_task_set_task_data (task, data, (GDestroyNotify)wait_data_free);
  g_task_run_in_thread (task, wait_thread);
}

gboolean
berth_engine_socket_wait_finish (GAsyncResult *result, GError **error)
{
  g_autoptr (GError) local = NULL;

  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  if (g_task_propagate_boolean (G_TASK (result), &local))
    return TRUE;
  berth_error_convert (&local);
  g_propagate_error (error, g_steal_pointer (&local));
  return FALSE;
}
