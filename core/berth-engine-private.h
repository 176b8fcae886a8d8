/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The container engine's sockets, as the manager forwards them from the guest
 * to the host, and the check that the engine answers on one. Not installed;
 * exported for the tests. */

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  BERTH_ENGINE_PROBE_NONE,        /* forwarded, never waited for */
  BERTH_ENGINE_PROBE_DOCKER_PING, /* Docker Engine API: GET /_ping answers 200 OK */
  BERTH_ENGINE_PROBE_HTTP2,       /* gRPC (containerd): the server's SETTINGS frame */
} BerthEngineProbe;

typedef struct
{
  const gchar *engine;     /* containerEngine.name */
  const gchar *daemon;     /* for messages: "dockerd" */
  const gchar *guest_path; /* in the VM */
  const gchar *host_name;  /* under BerthPaths->data */
  BerthEngineProbe probe;
} BerthEngineSocket;

/* Every socket Berth forwards for any engine; @n_out is set. */
const BerthEngineSocket *
berth_engine_sockets (guint *n_out);
/* The sockets of @engine (containerEngine.name), its own first; element type
 * const BerthEngineSocket *, empty when @engine has none. */
GPtrArray *
berth_engine_sockets_for (const gchar *engine);
/* Where @socket answers on the host: "<data_dir>/<host_name>". */
gchar *
berth_engine_socket_host_path (const BerthEngineSocket *socket, const gchar *data_dir);

/* One attempt: TRUE when the engine answers on the UNIX socket @path as
 * @probe expects. Blocks for at most @timeout_ms. */
gboolean
berth_engine_socket_probe (const gchar *path, BerthEngineProbe probe, guint timeout_ms,
                           GCancellable *cancellable, GError **error);

/* Probes @path every 200 ms until the engine answers or @timeout_seconds
 * pass; the error then names @daemon, @path and the last failure. */
void
berth_engine_socket_wait_async (const gchar *path, BerthEngineProbe probe, const gchar *daemon,
                                guint timeout_seconds, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);
gboolean
berth_engine_socket_wait_finish (GAsyncResult *result, GError **error);

/* Removes the host ends of every engine socket under @data_dir that are
 * sockets (a file of another kind is left alone). */
void
berth_engine_sockets_remove (const gchar *data_dir);

G_END_DECLS
