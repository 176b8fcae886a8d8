/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "berth-enums.h"
#include "berth-subprocess.h"

G_BEGIN_DECLS

/* A guest port listening on the host. */
typedef struct
{
  gchar *protocol;     /* "tcp" or "udp" */
  gchar *host_address; /* e.g. "127.0.0.1" */
  guint16 host_port;
  guint16 guest_port;
} BerthPortForward;

#define BERTH_TYPE_PORT_FORWARD (berth_port_forward_get_type ())
GType berth_port_forward_get_type (void);
BerthPortForward *berth_port_forward_new (const gchar *protocol, const gchar *host_address,
                                          guint16 host_port, guint16 guest_port);
BerthPortForward *berth_port_forward_copy (const BerthPortForward *forward);
void berth_port_forward_free (BerthPortForward *forward);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthPortForward, berth_port_forward_free)

/* A VM that runs the container engine.
 *
 * Properties (declared here, overridden by the implementation with
 * g_object_class_override_property; notify is explicit, so the implementation
 * calls g_object_notify when the value really changes):
 *   "state"        BerthState
 *   "state-reason" gchar*, nullable: why the state is ERROR, or what it waits on
 * Signals:
 *   "progress" (const gchar *description, guint64 current, guint64 max)
 *   "port-forwards-changed" ()
 *
 * Every vfunc is optional. A NULL async vfunc makes the wrapper complete with
 * BERTH_ERROR_NOT_SUPPORTED "<plugin> does not support Backend.<op>". A NULL
 * _finish vfunc is allowed when the async vfunc completes a GTask whose
 * source object is the backend (boolean or pointer, as the wrapper returns). */
#define BERTH_TYPE_BACKEND (berth_backend_get_type ())
G_DECLARE_INTERFACE (BerthBackend, berth_backend, BERTH, BACKEND, GObject)

struct _BerthBackendInterface
{
  GTypeInterface parent_iface;

  /* Why this backend cannot run on this host (no QEMU, no WSL, …). NULL: it can. */
  gboolean (*validate) (BerthBackend *self, GError **error);

  void (*start_async) (BerthBackend *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                       gpointer user_data);
  gboolean (*start_finish) (BerthBackend *self, GAsyncResult *result, GError **error);
  void (*stop_async) (BerthBackend *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                      gpointer user_data);
  gboolean (*stop_finish) (BerthBackend *self, GAsyncResult *result, GError **error);
  void (*delete_async) (BerthBackend *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                        gpointer user_data);
  gboolean (*delete_finish) (BerthBackend *self, GAsyncResult *result, GError **error);

  void (*exec_async) (BerthBackend *self, const gchar *const *argv, GBytes *stdin_bytes,
                      GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
  BerthSubprocessResult *(*exec_finish) (BerthBackend *self, GAsyncResult *result, GError **error);
  void (*write_file_async) (BerthBackend *self, const gchar *guest_path, GBytes *contents,
                            guint mode, GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data);
  gboolean (*write_file_finish) (BerthBackend *self, GAsyncResult *result, GError **error);
  void (*copy_in_async) (BerthBackend *self, const gchar *host_path, const gchar *guest_path,
                         GCancellable *cancellable, GAsyncReadyCallback callback,
                         gpointer user_data);
  gboolean (*copy_in_finish) (BerthBackend *self, GAsyncResult *result, GError **error);

  /* "host:port" where the guest's SSH server answers. */
  gchar *(*get_address) (BerthBackend *self, GError **error);
  void (*forward_socket_async) (BerthBackend *self, const gchar *guest_path, const gchar *host_path,
                                GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data);
  gboolean (*forward_socket_finish) (BerthBackend *self, GAsyncResult *result, GError **error);
  /* Element type BerthPortForward. */
  GPtrArray *(*list_port_forwards) (BerthBackend *self);
  /* Object: cpus, memoryInGB, diskSizeGiB, arch, accel, and what else the backend knows. */
  JsonNode *(*info) (BerthBackend *self, GError **error);
  /* Whether this is the backend to use on @platform when nobody asks for
   * another (lima on Linux and macOS, wsl on Windows). */
  gboolean (*is_native) (BerthBackend *self, BerthPlatform platform);

  /* One slot went to is_native: the struct keeps its size. */
  gpointer padding[11];
};

/* TRUE when the backend can run here; a NULL vfunc means it always can. */
gboolean berth_backend_validate (BerthBackend *self, GError **error);

void berth_backend_start_async (BerthBackend *self, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);
gboolean berth_backend_start_finish (BerthBackend *self, GAsyncResult *result, GError **error);
void berth_backend_stop_async (BerthBackend *self, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
gboolean berth_backend_stop_finish (BerthBackend *self, GAsyncResult *result, GError **error);
/* Removes the VM and its disks. */
void berth_backend_delete_async (BerthBackend *self, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
gboolean berth_backend_delete_finish (BerthBackend *self, GAsyncResult *result, GError **error);

/* Runs @argv in the guest; @stdin_bytes may be NULL. A non-zero exit status is
 * not an error: it is in the result. */
void berth_backend_exec_async (BerthBackend *self, const gchar *const *argv, GBytes *stdin_bytes,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data);
BerthSubprocessResult *berth_backend_exec_finish (BerthBackend *self, GAsyncResult *result,
                                                  GError **error);
void berth_backend_write_file_async (BerthBackend *self, const gchar *guest_path, GBytes *contents,
                                     guint mode, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data);
gboolean berth_backend_write_file_finish (BerthBackend *self, GAsyncResult *result, GError **error);
void berth_backend_copy_in_async (BerthBackend *self, const gchar *host_path,
                                  const gchar *guest_path, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);
gboolean berth_backend_copy_in_finish (BerthBackend *self, GAsyncResult *result, GError **error);

/* "host:port" for SSH, or NULL with an error (NOT_SUPPORTED when the vfunc is NULL). */
gchar *berth_backend_get_address (BerthBackend *self, GError **error);
/* Makes the guest's UNIX socket @guest_path answer at @host_path. */
void berth_backend_forward_socket_async (BerthBackend *self, const gchar *guest_path,
                                         const gchar *host_path, GCancellable *cancellable,
                                         GAsyncReadyCallback callback, gpointer user_data);
gboolean berth_backend_forward_socket_finish (BerthBackend *self, GAsyncResult *result,
                                              GError **error);
/* Never NULL; empty when the vfunc is NULL. Element type BerthPortForward. */
GPtrArray *berth_backend_list_port_forwards (BerthBackend *self);
/* A JSON object, or NULL with an error (NOT_SUPPORTED when the vfunc is NULL). */
JsonNode *berth_backend_info (BerthBackend *self, GError **error);

/* FALSE when the vfunc is NULL: such a backend is chosen only when it is
 * asked for or when no native one is loaded. */
gboolean
berth_backend_is_native (BerthBackend *self, BerthPlatform platform);

BerthState berth_backend_get_state (BerthBackend *self);
/* Borrowed; valid until the next call on this backend. */
const gchar *berth_backend_get_state_reason (BerthBackend *self);

G_END_DECLS
