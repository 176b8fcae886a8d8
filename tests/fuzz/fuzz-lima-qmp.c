/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for what QEMU says on its QMP socket: a stand-in QEMU
 * sends the bytes (greeting, replies, events, garbage) and closes; the
 * client connects, negotiates and asks query-status. It may fail, with an
 * error; it must not crash, hang past its timeout or read without bound.
 * Run with G_DEBUG=fatal-criticals; built by tests/fuzz/meson.build. */

#include "config.h"

#include <stdlib.h>

#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>

#include "berth-lima-qmp.h"

#include "fuzz-common.h"

typedef struct
{
  GSocketListener *listener;
  const guint8 *data;
  gsize size;
} Server;

static gpointer
serve (gpointer user_data)
{
  Server *server = user_data;
  g_autoptr (GSocketConnection) connection
      = g_socket_listener_accept (server->listener, NULL, NULL, NULL);

  if (connection != NULL)
    {
      g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                                 server->data, server->size, NULL, NULL, NULL);
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
    }
  return NULL;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree gchar *path = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (BerthLimaQmp) qmp = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *status = NULL;
  Server server = { 0 };
  GThread *thread;

  path = g_build_filename (berth_fuzz_work_dir (), "qmp.sock", NULL);
  g_unlink (path);
  address = g_unix_socket_address_new (path);
  server.listener = g_socket_listener_new ();
  server.data = data;
  server.size = size;
  if (!g_socket_listener_add_address (server.listener, address, G_SOCKET_TYPE_STREAM,
                                      G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, NULL))
    abort ();
  thread = g_thread_new ("qemu", serve, &server);

  qmp = berth_lima_qmp_connect_sync (path, 500, NULL, &error);
  if (qmp != NULL)
    status = berth_lima_qmp_query_status_sync (qmp, NULL, NULL, &error);
  if (qmp == NULL && error == NULL)
    abort ();

  g_thread_join (thread);
  g_socket_listener_close (server.listener);
  g_object_unref (server.listener);
  return 0;
}
