/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-backend.h"

#include "berth-error.h"
#include "berth-private.h"

G_DEFINE_BOXED_TYPE (BerthPortForward, berth_port_forward, berth_port_forward_copy,
                     berth_port_forward_free)

BerthPortForward *
berth_port_forward_new (const gchar *protocol, const gchar *host_address, guint16 host_port,
                        guint16 guest_port)
{
  BerthPortForward *forward = g_new0 (BerthPortForward, 1);

  forward->protocol = g_strdup (protocol);
  forward->host_address = g_strdup (host_address);
  forward->host_port = host_port;
  forward->guest_port = guest_port;
  return forward;
}

BerthPortForward *
berth_port_forward_copy (const BerthPortForward *forward)
{
  g_return_val_if_fail (forward != NULL, NULL);
  return berth_port_forward_new (forward->protocol, forward->host_address, forward->host_port,
                                 forward->guest_port);
}

void
berth_port_forward_free (BerthPortForward *forward)
{
  if (forward == NULL)
    return;
  g_free (forward->protocol);
  g_free (forward->host_address);
  g_free (forward);
}

G_DEFINE_INTERFACE (BerthBackend, berth_backend, G_TYPE_OBJECT)

/* Plugins built before is_native existed must keep loading. */
G_STATIC_ASSERT (sizeof (BerthBackendInterface)
                 == sizeof (GTypeInterface) + 30 * sizeof (gpointer));

static GQuark
berth_backend_state_reason_quark (void)
{
  return g_quark_from_static_string ("berth-backend-state-reason");
}

static void
berth_backend_default_init (BerthBackendInterface *iface)
{
  g_object_interface_install_property (
      iface,
      g_param_spec_enum ("state", "State", "Where the VM is in its life", BERTH_TYPE_STATE,
                         BERTH_STATE_STOPPED,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY));
  g_object_interface_install_property (
      iface,
      g_param_spec_string ("state-reason", "State reason",
                           "Why the state is what it is (an error's message), or NULL", NULL,
                           G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY));

  g_signal_new ("progress", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_UINT64, G_TYPE_UINT64);
  g_signal_new ("port-forwards-changed", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0, NULL,
                NULL, NULL, G_TYPE_NONE, 0);
}

gboolean
berth_backend_validate (BerthBackend *self, GError **error)
{
  BerthBackendInterface *iface;

  g_return_val_if_fail (BERTH_IS_BACKEND (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = BERTH_BACKEND_GET_IFACE (self);
  if (iface->validate == NULL)
    return TRUE;
  return berth_error_convert_boolean (iface->validate (self, error), error);
}

void
berth_backend_start_async (BerthBackend *self, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
  BerthBackendInterface *iface;

  g_return_if_fail (BERTH_IS_BACKEND (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_BACKEND_GET_IFACE (self);
  if (iface->start_async == NULL)
    {
      berth_task_report_not_supported (self, berth_backend_start_async, "Backend.start", callback,
                                       user_data);
      return;
    }
  iface->start_async (self, cancellable, callback, user_data);
}

gboolean
berth_backend_start_finish (BerthBackend *self, GAsyncResult *result, GError **error)
{
  BerthBackendInterface *iface;

  g_return_val_if_fail (BERTH_IS_BACKEND (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = BERTH_BACKEND_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_backend_start_async) || iface->start_finish == NULL)
    return berth_task_finish_boolean (self, result, error);
  return berth_error_convert_boolean (iface->start_finish (self, result, error), error);
}

void
berth_backend_stop_async (BerthBackend *self, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  BerthBackendInterface *iface;

  g_return_if_fail (BERTH_IS_BACKEND (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_BACKEND_GET_IFACE (self);
  if (iface->stop_async == NULL)
    {
      berth_task_report_not_supported (self, berth_backend_stop_async, "Backend.stop", callback,
                                       user_data);
      return;
    }
  iface->stop_async (self, cancellable, callback, user_data);
}

gboolean
berth_backend_stop_finish (BerthBackend *self, GAsyncResult *result, GError **error)
{
  BerthBackendInterface *iface;

  g_return_val_if_fail (BERTH_IS_BACKEND (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = BERTH_BACKEND_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_backend_stop_async) || iface->stop_finish == NULL)
    return berth_task_finish_boolean (self, result, error);
  return berth_error_convert_boolean (iface->stop_finish (self, result, error), error);
}

void
berth_backend_delete_async (BerthBackend *self, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  BerthBackendInterface *iface;

  g_return_if_fail (BERTH_IS_BACKEND (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_BACKEND_GET_IFACE (self);
  if (iface->delete_async == NULL)
    {
      berth_task_report_not_supported (self, berth_backend_delete_async, "Backend.delete", callback,
                                       user_data);
      return;
    }
  iface->delete_async (self, cancellable, callback, user_data);
}

gboolean
berth_backend_delete_finish (BerthBackend *self, GAsyncResult *result, GError **error)
{
  BerthBackendInterface *iface;

  g_return_val_if_fail (BERTH_IS_BACKEND (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = BERTH_BACKEND_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_backend_delete_async) || iface->delete_finish == NULL)
    return berth_task_finish_boolean (self, result, error);
  return berth_error_convert_boolean (iface->delete_finish (self, result, error), error);
}

void
berth_backend_exec_async (BerthBackend *self, const gchar *const *argv, GBytes *stdin_bytes,
                          GCancellable *cancellable, GAsyncReadyCallback callback,
                          gpointer user_data)
{
  BerthBackendInterface *iface;

  g_return_if_fail (BERTH_IS_BACKEND (self));
  g_return_if_fail (argv != NULL && argv[0] != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_BACKEND_GET_IFACE (self);
  if (iface->exec_async == NULL)
    {
      berth_task_report_not_supported (self, berth_backend_exec_async, "Backend.exec", callback,
                                       user_data);
      return;
    }
  iface->exec_async (self, argv, stdin_bytes, cancellable, callback, user_data);
}

BerthSubprocessResult *
berth_backend_exec_finish (BerthBackend *self, GAsyncResult *result, GError **error)
{
  BerthBackendInterface *iface;

  g_return_val_if_fail (BERTH_IS_BACKEND (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  iface = BERTH_BACKEND_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_backend_exec_async) || iface->exec_finish == NULL)
    return berth_task_finish_pointer (self, result, error);
  return berth_error_convert_pointer (iface->exec_finish (self, result, error), error);
}

void
berth_backend_write_file_async (BerthBackend *self, const gchar *guest_path, GBytes *contents,
                                guint mode, GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data)
{
  BerthBackendInterface *iface;

  g_return_if_fail (BERTH_IS_BACKEND (self));
  g_return_if_fail (guest_path != NULL);
  g_return_if_fail (contents != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_BACKEND_GET_IFACE (self);
  if (iface->write_file_async == NULL)
    {
      berth_task_report_not_supported (self, berth_backend_write_file_async, "Backend.write_file",
                                       callback, user_data);
      return;
    }
  iface->write_file_async (self, guest_path, contents, mode, cancellable, callback, user_data);
}

gboolean
berth_backend_write_file_finish (BerthBackend *self, GAsyncResult *result, GError **error)
{
  BerthBackendInterface *iface;

  g_return_val_if_fail (BERTH_IS_BACKEND (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = BERTH_BACKEND_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_backend_write_file_async)
      || iface->write_file_finish == NULL)
    return berth_task_finish_boolean (self, result, error);
  return berth_error_convert_boolean (iface->write_file_finish (self, result, error), error);
}

void
berth_backend_copy_in_async (BerthBackend *self, const gchar *host_path, const gchar *guest_path,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data)
{
  BerthBackendInterface *iface;

  g_return_if_fail (BERTH_IS_BACKEND (self));
  g_return_if_fail (host_path != NULL);
  g_return_if_fail (guest_path != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_BACKEND_GET_IFACE (self);
  if (iface->copy_in_async == NULL)
    {
      berth_task_report_not_supported (self, berth_backend_copy_in_async, "Backend.copy_in",
                                       callback, user_data);
      return;
    }
  iface->copy_in_async (self, host_path, guest_path, cancellable, callback, user_data);
}

gboolean
berth_backend_copy_in_finish (BerthBackend *self, GAsyncResult *result, GError **error)
{
  BerthBackendInterface *iface;

  g_return_val_if_fail (BERTH_IS_BACKEND (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = BERTH_BACKEND_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_backend_copy_in_async)
      || iface->copy_in_finish == NULL)
    return berth_task_finish_boolean (self, result, error);
  return berth_error_convert_boolean (iface->copy_in_finish (self, result, error), error);
}

gchar *
berth_backend_get_address (BerthBackend *self, GError **error)
{
  BerthBackendInterface *iface;

  g_return_val_if_fail (BERTH_IS_BACKEND (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  iface = BERTH_BACKEND_GET_IFACE (self);
  if (iface->get_address == NULL)
    {
      berth_set_not_supported (self, "Backend.get_address", error);
      return NULL;
    }
  return berth_error_convert_pointer (iface->get_address (self, error), error);
}

void
berth_backend_forward_socket_async (BerthBackend *self, const gchar *guest_path,
                                    const gchar *host_path, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data)
{
  BerthBackendInterface *iface;

  g_return_if_fail (BERTH_IS_BACKEND (self));
  g_return_if_fail (guest_path != NULL);
  g_return_if_fail (host_path != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_BACKEND_GET_IFACE (self);
  if (iface->forward_socket_async == NULL)
    {
      berth_task_report_not_supported (self, berth_backend_forward_socket_async,
                                       "Backend.forward_socket", callback, user_data);
      return;
    }
  iface->forward_socket_async (self, guest_path, host_path, cancellable, callback, user_data);
}

gboolean
berth_backend_forward_socket_finish (BerthBackend *self, GAsyncResult *result, GError **error)
{
  BerthBackendInterface *iface;

  g_return_val_if_fail (BERTH_IS_BACKEND (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = BERTH_BACKEND_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_backend_forward_socket_async)
      || iface->forward_socket_finish == NULL)
    return berth_task_finish_boolean (self, result, error);
  return berth_error_convert_boolean (iface->forward_socket_finish (self, result, error), error);
}

GPtrArray *
berth_backend_list_port_forwards (BerthBackend *self)
{
  BerthBackendInterface *iface;
  GPtrArray *forwards = NULL;

  g_return_val_if_fail (BERTH_IS_BACKEND (self), NULL);

  iface = BERTH_BACKEND_GET_IFACE (self);
  if (iface->list_port_forwards != NULL)
    forwards = iface->list_port_forwards (self);
  if (forwards == NULL)
    forwards = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_port_forward_free);
  return forwards;
}

JsonNode *
berth_backend_info (BerthBackend *self, GError **error)
{
  BerthBackendInterface *iface;

  g_return_val_if_fail (BERTH_IS_BACKEND (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  iface = BERTH_BACKEND_GET_IFACE (self);
  if (iface->info == NULL)
    {
      berth_set_not_supported (self, "Backend.info", error);
      return NULL;
    }
  return berth_error_convert_pointer (iface->info (self, error), error);
}

gboolean
berth_backend_is_native (BerthBackend *self, BerthPlatform platform)
{
  BerthBackendInterface *iface;

  g_return_val_if_fail (BERTH_IS_BACKEND (self), FALSE);

  iface = BERTH_BACKEND_GET_IFACE (self);
  if (iface->is_native == NULL)
    return FALSE;
  return iface->is_native (self, platform);
}

BerthState
berth_backend_get_state (BerthBackend *self)
{
  BerthState state = BERTH_STATE_STOPPED;

  g_return_val_if_fail (BERTH_IS_BACKEND (self), BERTH_STATE_ERROR);
  g_object_get (self, "state", &state, NULL);
  return state;
}

/* The property getter hands out a copy; keep it on the object so the caller
 * can borrow it. Valid until the next call. */
const gchar *
berth_backend_get_state_reason (BerthBackend *self)
{
  gchar *reason = NULL;

  g_return_val_if_fail (BERTH_IS_BACKEND (self), NULL);
  g_object_get (self, "state-reason", &reason, NULL);
  g_object_set_qdata_full (G_OBJECT (self), berth_backend_state_reason_quark (), reason, g_free);
  return reason;
}
