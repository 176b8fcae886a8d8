/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-kubernetes-provider.h"

#include "berth-error.h"
#include "berth-private.h"

G_DEFINE_INTERFACE (BerthKubernetesProvider, berth_kubernetes_provider, G_TYPE_OBJECT)

static void
berth_kubernetes_provider_default_init (BerthKubernetesProviderInterface *iface)
{
  g_signal_new ("versions-updated", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                NULL, G_TYPE_NONE, 0);
  g_signal_new ("services-changed", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                NULL, G_TYPE_NONE, 0);
  g_signal_new ("progress", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_UINT64, G_TYPE_UINT64);
}

void
berth_kubernetes_provider_list_versions_async (BerthKubernetesProvider *self,
                                               GCancellable *cancellable,
                                               GAsyncReadyCallback callback, gpointer user_data)
{
  BerthKubernetesProviderInterface *iface;

  g_return_if_fail (BERTH_IS_KUBERNETES_PROVIDER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_KUBERNETES_PROVIDER_GET_IFACE (self);
  if (iface->list_versions_async == NULL)
    {
      berth_task_report_not_supported (self, berth_kubernetes_provider_list_versions_async,
                                       "KubernetesProvider.list_versions", callback, user_data);
      return;
    }
  iface->list_versions_async (self, cancellable, callback, user_data);
}

GPtrArray *
berth_kubernetes_provider_list_versions_finish (BerthKubernetesProvider *self, GAsyncResult *result,
                                                GError **error)
{
  BerthKubernetesProviderInterface *iface;

  g_return_val_if_fail (BERTH_IS_KUBERNETES_PROVIDER (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  iface = BERTH_KUBERNETES_PROVIDER_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_kubernetes_provider_list_versions_async)
      || iface->list_versions_finish == NULL)
    return berth_task_finish_pointer (self, result, error);
  return berth_error_convert_pointer (iface->list_versions_finish (self, result, error), error);
}

void
berth_kubernetes_provider_ensure_assets_async (BerthKubernetesProvider *self, const gchar *version,
                                               GCancellable *cancellable,
                                               GAsyncReadyCallback callback, gpointer user_data)
{
  BerthKubernetesProviderInterface *iface;

  g_return_if_fail (BERTH_IS_KUBERNETES_PROVIDER (self));
  g_return_if_fail (version != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_KUBERNETES_PROVIDER_GET_IFACE (self);
  if (iface->ensure_assets_async == NULL)
    {
      berth_task_report_not_supported (self, berth_kubernetes_provider_ensure_assets_async,
                                       "KubernetesProvider.ensure_assets", callback, user_data);
      return;
    }
  iface->ensure_assets_async (self, version, cancellable, callback, user_data);
}

gboolean
berth_kubernetes_provider_ensure_assets_finish (BerthKubernetesProvider *self, GAsyncResult *result,
                                                GError **error)
{
  BerthKubernetesProviderInterface *iface;

  g_return_val_if_fail (BERTH_IS_KUBERNETES_PROVIDER (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = BERTH_KUBERNETES_PROVIDER_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_kubernetes_provider_ensure_assets_async)
      || iface->ensure_assets_finish == NULL)
    return berth_task_finish_boolean (self, result, error);
  return berth_error_convert_boolean (iface->ensure_assets_finish (self, result, error), error);
}

void
berth_kubernetes_provider_install_async (BerthKubernetesProvider *self, BerthBackend *backend,
                                         const gchar *version, GCancellable *cancellable,
                                         GAsyncReadyCallback callback, gpointer user_data)
{
  BerthKubernetesProviderInterface *iface;

  g_return_if_fail (BERTH_IS_KUBERNETES_PROVIDER (self));
  g_return_if_fail (BERTH_IS_BACKEND (backend));
  g_return_if_fail (version != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_KUBERNETES_PROVIDER_GET_IFACE (self);
  if (iface->install_async == NULL)
    {
      berth_task_report_not_supported (self, berth_kubernetes_provider_install_async,
                                       "KubernetesProvider.install", callback, user_data);
      return;
    }
  iface->install_async (self, backend, version, cancellable, callback, user_data);
}

gboolean
berth_kubernetes_provider_install_finish (BerthKubernetesProvider *self, GAsyncResult *result,
                                          GError **error)
{
  BerthKubernetesProviderInterface *iface;

  g_return_val_if_fail (BERTH_IS_KUBERNETES_PROVIDER (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = BERTH_KUBERNETES_PROVIDER_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_kubernetes_provider_install_async)
      || iface->install_finish == NULL)
    return berth_task_finish_boolean (self, result, error);
  return berth_error_convert_boolean (iface->install_finish (self, result, error), error);
}

void
berth_kubernetes_provider_wait_ready_async (BerthKubernetesProvider *self, BerthBackend *backend,
                                            guint timeout_seconds, GCancellable *cancellable,
                                            GAsyncReadyCallback callback, gpointer user_data)
{
  BerthKubernetesProviderInterface *iface;

  g_return_if_fail (BERTH_IS_KUBERNETES_PROVIDER (self));
  g_return_if_fail (BERTH_IS_BACKEND (backend));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_KUBERNETES_PROVIDER_GET_IFACE (self);
  if (iface->wait_ready_async == NULL)
    {
      berth_task_report_not_supported (self, berth_kubernetes_provider_wait_ready_async,
                                       "KubernetesProvider.wait_ready", callback, user_data);
      return;
    }
  iface->wait_ready_async (self, backend, timeout_seconds, cancellable, callback, user_data);
}

gboolean
berth_kubernetes_provider_wait_ready_finish (BerthKubernetesProvider *self, GAsyncResult *result,
                                             GError **error)
{
  BerthKubernetesProviderInterface *iface;

  g_return_val_if_fail (BERTH_IS_KUBERNETES_PROVIDER (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = BERTH_KUBERNETES_PROVIDER_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_kubernetes_provider_wait_ready_async)
      || iface->wait_ready_finish == NULL)
    return berth_task_finish_boolean (self, result, error);
  return berth_error_convert_boolean (iface->wait_ready_finish (self, result, error), error);
}

void
berth_kubernetes_provider_update_kubeconfig_async (BerthKubernetesProvider *self,
                                                   BerthBackend *backend, GCancellable *cancellable,
                                                   GAsyncReadyCallback callback, gpointer user_data)
{
  BerthKubernetesProviderInterface *iface;

  g_return_if_fail (BERTH_IS_KUBERNETES_PROVIDER (self));
  g_return_if_fail (BERTH_IS_BACKEND (backend));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_KUBERNETES_PROVIDER_GET_IFACE (self);
  if (iface->update_kubeconfig_async == NULL)
    {
      berth_task_report_not_supported (self, berth_kubernetes_provider_update_kubeconfig_async,
                                       "KubernetesProvider.update_kubeconfig", callback, user_data);
      return;
    }
  iface->update_kubeconfig_async (self, backend, cancellable, callback, user_data);
}

gboolean
berth_kubernetes_provider_update_kubeconfig_finish (BerthKubernetesProvider *self,
                                                    GAsyncResult *result, GError **error)
{
  BerthKubernetesProviderInterface *iface;

  g_return_val_if_fail (BERTH_IS_KUBERNETES_PROVIDER (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = BERTH_KUBERNETES_PROVIDER_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_kubernetes_provider_update_kubeconfig_async)
      || iface->update_kubeconfig_finish == NULL)
    return berth_task_finish_boolean (self, result, error);
  return berth_error_convert_boolean (iface->update_kubeconfig_finish (self, result, error), error);
}

void
berth_kubernetes_provider_delete_state_async (BerthKubernetesProvider *self, BerthBackend *backend,
                                              gboolean wipe, GCancellable *cancellable,
                                              GAsyncReadyCallback callback, gpointer user_data)
{
  BerthKubernetesProviderInterface *iface;

  g_return_if_fail (BERTH_IS_KUBERNETES_PROVIDER (self));
  g_return_if_fail (BERTH_IS_BACKEND (backend));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_KUBERNETES_PROVIDER_GET_IFACE (self);
  if (iface->delete_state_async == NULL)
    {
      berth_task_report_not_supported (self, berth_kubernetes_provider_delete_state_async,
                                       "KubernetesProvider.delete_state", callback, user_data);
      return;
    }
  iface->delete_state_async (self, backend, wipe, cancellable, callback, user_data);
}

gboolean
berth_kubernetes_provider_delete_state_finish (BerthKubernetesProvider *self, GAsyncResult *result,
                                               GError **error)
{
  BerthKubernetesProviderInterface *iface;

  g_return_val_if_fail (BERTH_IS_KUBERNETES_PROVIDER (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = BERTH_KUBERNETES_PROVIDER_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_kubernetes_provider_delete_state_async)
      || iface->delete_state_finish == NULL)
    return berth_task_finish_boolean (self, result, error);
  return berth_error_convert_boolean (iface->delete_state_finish (self, result, error), error);
}

JsonNode *
berth_kubernetes_provider_list_services (BerthKubernetesProvider *self)
{
  BerthKubernetesProviderInterface *iface;
  JsonNode *services = NULL;

  g_return_val_if_fail (BERTH_IS_KUBERNETES_PROVIDER (self), NULL);

  iface = BERTH_KUBERNETES_PROVIDER_GET_IFACE (self);
  if (iface->list_services != NULL)
    services = iface->list_services (self);
  if (services == NULL)
    {
      services = json_node_new (JSON_NODE_ARRAY);
      json_node_take_array (services, json_array_new ());
    }
  return services;
}

void
berth_kubernetes_provider_stop_async (BerthKubernetesProvider *self, BerthBackend *backend,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data)
{
  BerthKubernetesProviderInterface *iface;

  g_return_if_fail (BERTH_IS_KUBERNETES_PROVIDER (self));
  g_return_if_fail (BERTH_IS_BACKEND (backend));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_KUBERNETES_PROVIDER_GET_IFACE (self);
  if (iface->stop_async == NULL)
    {
      berth_task_report_not_supported (self, berth_kubernetes_provider_stop_async,
                                       "KubernetesProvider.stop", callback, user_data);
      return;
    }
  iface->stop_async (self, backend, cancellable, callback, user_data);
}

gboolean
berth_kubernetes_provider_stop_finish (BerthKubernetesProvider *self, GAsyncResult *result,
                                       GError **error)
{
  BerthKubernetesProviderInterface *iface;

  g_return_val_if_fail (BERTH_IS_KUBERNETES_PROVIDER (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = BERTH_KUBERNETES_PROVIDER_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_kubernetes_provider_stop_async)
      || iface->stop_finish == NULL)
    return berth_task_finish_boolean (self, result, error);
  return berth_error_convert_boolean (iface->stop_finish (self, result, error), error);
}

void
berth_kubernetes_provider_remove_kubeconfig_async (BerthKubernetesProvider *self,
                                                   GCancellable *cancellable,
                                                   GAsyncReadyCallback callback, gpointer user_data)
{
  BerthKubernetesProviderInterface *iface;

  g_return_if_fail (BERTH_IS_KUBERNETES_PROVIDER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_KUBERNETES_PROVIDER_GET_IFACE (self);
  if (iface->remove_kubeconfig_async == NULL)
    {
      berth_task_report_not_supported (self, berth_kubernetes_provider_remove_kubeconfig_async,
                                       "KubernetesProvider.remove_kubeconfig", callback, user_data);
      return;
    }
  iface->remove_kubeconfig_async (self, cancellable, callback, user_data);
}

gboolean
berth_kubernetes_provider_remove_kubeconfig_finish (BerthKubernetesProvider *self,
                                                    GAsyncResult *result, GError **error)
{
  BerthKubernetesProviderInterface *iface;

  g_return_val_if_fail (BERTH_IS_KUBERNETES_PROVIDER (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = BERTH_KUBERNETES_PROVIDER_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_kubernetes_provider_remove_kubeconfig_async)
      || iface->remove_kubeconfig_finish == NULL)
    return berth_task_finish_boolean (self, result, error);
  return berth_error_convert_boolean (iface->remove_kubeconfig_finish (self, result, error), error);
}

void
berth_kubernetes_provider_forward_service_async (BerthKubernetesProvider *self,
                                                 BerthBackend *backend, const gchar *namespace_,
                                                 const gchar *service, const gchar *port,
                                                 guint host_port, GCancellable *cancellable,
                                                 GAsyncReadyCallback callback, gpointer user_data)
{
  BerthKubernetesProviderInterface *iface;

  g_return_if_fail (BERTH_IS_KUBERNETES_PROVIDER (self));
  g_return_if_fail (BERTH_IS_BACKEND (backend));
  g_return_if_fail (namespace_ != NULL && service != NULL && port != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_KUBERNETES_PROVIDER_GET_IFACE (self);
  if (iface->forward_service_async == NULL)
    {
      berth_task_report_not_supported (self, berth_kubernetes_provider_forward_service_async,
                                       "KubernetesProvider.forward_service", callback, user_data);
      return;
    }
  iface->forward_service_async (self, backend, namespace_, service, port, host_port, cancellable,
                                callback, user_data);
}

guint
berth_kubernetes_provider_forward_service_finish (BerthKubernetesProvider *self,
                                                  GAsyncResult *result, GError **error)
{
  BerthKubernetesProviderInterface *iface;
  gssize port;

  g_return_val_if_fail (BERTH_IS_KUBERNETES_PROVIDER (self), 0);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  iface = BERTH_KUBERNETES_PROVIDER_GET_IFACE (self);
  if (!g_async_result_is_tagged (result, berth_kubernetes_provider_forward_service_async)
      && iface->forward_service_finish != NULL)
    {
      guint host_port = iface->forward_service_finish (self, result, error);

      berth_error_convert (error);
      return host_port;
    }
  g_return_val_if_fail (g_task_is_valid (result, self), 0);
  port = g_task_propagate_int (G_TASK (result), error);
  berth_error_convert (error);
  return port > 0 && port <= G_MAXUINT16 ? (guint)port : 0;
}

void
berth_kubernetes_provider_unforward_service_async (BerthKubernetesProvider *self,
                                                   BerthBackend *backend, const gchar *namespace_,
                                                   const gchar *service, const gchar *port,
                                                   GCancellable *cancellable,
                                                   GAsyncReadyCallback callback, gpointer user_data)
{
  BerthKubernetesProviderInterface *iface;

  g_return_if_fail (BERTH_IS_KUBERNETES_PROVIDER (self));
  g_return_if_fail (BERTH_IS_BACKEND (backend));
  g_return_if_fail (namespace_ != NULL && service != NULL && port != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_KUBERNETES_PROVIDER_GET_IFACE (self);
  if (iface->unforward_service_async == NULL)
    {
      berth_task_report_not_supported (self, berth_kubernetes_provider_unforward_service_async,
                                       "KubernetesProvider.unforward_service", callback, user_data);
      return;
    }
  iface->unforward_service_async (self, backend, namespace_, service, port, cancellable, callback,
                                  user_data);
}

gboolean
berth_kubernetes_provider_unforward_service_finish (BerthKubernetesProvider *self,
                                                    GAsyncResult *result, GError **error)
{
  BerthKubernetesProviderInterface *iface;

  g_return_val_if_fail (BERTH_IS_KUBERNETES_PROVIDER (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = BERTH_KUBERNETES_PROVIDER_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_kubernetes_provider_unforward_service_async)
      || iface->unforward_service_finish == NULL)
    return berth_task_finish_boolean (self, result, error);
  return berth_error_convert_boolean (iface->unforward_service_finish (self, result, error), error);
}
