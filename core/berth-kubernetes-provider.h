/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "berth-backend.h"

G_BEGIN_DECLS

/* Kubernetes on top of a backend: versions, assets, install, readiness,
 * kubeconfig and services.
 *
 * Signals:
 *   "versions-updated" ()
 *   "services-changed" ()
 *   "progress" (const gchar *description, guint64 current, guint64 max)
 *
 * Every vfunc is optional: a NULL async vfunc makes the wrapper complete with
 * BERTH_ERROR_NOT_SUPPORTED "<plugin> does not support KubernetesProvider.<op>".
 * A NULL _finish vfunc is allowed when the async vfunc completes a GTask whose
 * source object is the provider. */
#define BERTH_TYPE_KUBERNETES_PROVIDER (berth_kubernetes_provider_get_type ())
G_DECLARE_INTERFACE (BerthKubernetesProvider, berth_kubernetes_provider, BERTH, KUBERNETES_PROVIDER,
                     GObject)

struct _BerthKubernetesProviderInterface
{
  GTypeInterface parent_iface;

  void (*list_versions_async) (BerthKubernetesProvider *self, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
  GPtrArray *(*list_versions_finish) (BerthKubernetesProvider *self, GAsyncResult *result,
                                      GError **error);
  void (*ensure_assets_async) (BerthKubernetesProvider *self, const gchar *version,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data);
  gboolean (*ensure_assets_finish) (BerthKubernetesProvider *self, GAsyncResult *result,
                                    GError **error);
  void (*install_async) (BerthKubernetesProvider *self, BerthBackend *backend, const gchar *version,
                         GCancellable *cancellable, GAsyncReadyCallback callback,
                         gpointer user_data);
  gboolean (*install_finish) (BerthKubernetesProvider *self, GAsyncResult *result, GError **error);
  void (*wait_ready_async) (BerthKubernetesProvider *self, BerthBackend *backend,
                            guint timeout_seconds, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data);
  gboolean (*wait_ready_finish) (BerthKubernetesProvider *self, GAsyncResult *result,
                                 GError **error);
  void (*update_kubeconfig_async) (BerthKubernetesProvider *self, BerthBackend *backend,
                                   GCancellable *cancellable, GAsyncReadyCallback callback,
                                   gpointer user_data);
  gboolean (*update_kubeconfig_finish) (BerthKubernetesProvider *self, GAsyncResult *result,
                                        GError **error);
  void (*delete_state_async) (BerthKubernetesProvider *self, BerthBackend *backend, gboolean wipe,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data);
  gboolean (*delete_state_finish) (BerthKubernetesProvider *self, GAsyncResult *result,
                                   GError **error);
  JsonNode *(*list_services) (BerthKubernetesProvider *self);
  void (*stop_async) (BerthKubernetesProvider *self, BerthBackend *backend,
                      GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
  gboolean (*stop_finish) (BerthKubernetesProvider *self, GAsyncResult *result, GError **error);
  void (*remove_kubeconfig_async) (BerthKubernetesProvider *self, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data);
  gboolean (*remove_kubeconfig_finish) (BerthKubernetesProvider *self, GAsyncResult *result,
                                        GError **error);
  void (*forward_service_async) (BerthKubernetesProvider *self, BerthBackend *backend,
                                 const gchar *namespace_, const gchar *service, const gchar *port,
                                 guint host_port, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
  guint (*forward_service_finish) (BerthKubernetesProvider *self, GAsyncResult *result,
                                   GError **error);
  void (*unforward_service_async) (BerthKubernetesProvider *self, BerthBackend *backend,
                                   const gchar *namespace_, const gchar *service, const gchar *port,
                                   GCancellable *cancellable, GAsyncReadyCallback callback,
                                   gpointer user_data);
  gboolean (*unforward_service_finish) (BerthKubernetesProvider *self, GAsyncResult *result,
                                        GError **error);

  gpointer padding[4];
};

/* Element type gchar*, newest first. */
void berth_kubernetes_provider_list_versions_async (BerthKubernetesProvider *self,
                                                    GCancellable *cancellable,
                                                    GAsyncReadyCallback callback,
                                                    gpointer user_data);
GPtrArray *berth_kubernetes_provider_list_versions_finish (BerthKubernetesProvider *self,
                                                           GAsyncResult *result, GError **error);
/* Downloads and verifies what @version needs (progress on "progress"). */
void berth_kubernetes_provider_ensure_assets_async (BerthKubernetesProvider *self,
                                                    const gchar *version, GCancellable *cancellable,
                                                    GAsyncReadyCallback callback,
                                                    gpointer user_data);
gboolean berth_kubernetes_provider_ensure_assets_finish (BerthKubernetesProvider *self,
                                                         GAsyncResult *result, GError **error);
void berth_kubernetes_provider_install_async (BerthKubernetesProvider *self, BerthBackend *backend,
                                              const gchar *version, GCancellable *cancellable,
                                              GAsyncReadyCallback callback, gpointer user_data);
gboolean berth_kubernetes_provider_install_finish (BerthKubernetesProvider *self,
                                                   GAsyncResult *result, GError **error);
void berth_kubernetes_provider_wait_ready_async (BerthKubernetesProvider *self,
                                                 BerthBackend *backend, guint timeout_seconds,
                                                 GCancellable *cancellable,
                                                 GAsyncReadyCallback callback, gpointer user_data);
gboolean berth_kubernetes_provider_wait_ready_finish (BerthKubernetesProvider *self,
                                                      GAsyncResult *result, GError **error);
void berth_kubernetes_provider_update_kubeconfig_async (BerthKubernetesProvider *self,
                                                        BerthBackend *backend,
                                                        GCancellable *cancellable,
                                                        GAsyncReadyCallback callback,
                                                        gpointer user_data);
gboolean berth_kubernetes_provider_update_kubeconfig_finish (BerthKubernetesProvider *self,
                                                             GAsyncResult *result, GError **error);
/* @wipe: also remove images and workloads, not only the cluster state. */
void berth_kubernetes_provider_delete_state_async (BerthKubernetesProvider *self,
                                                   BerthBackend *backend, gboolean wipe,
                                                   GCancellable *cancellable,
                                                   GAsyncReadyCallback callback,
                                                   gpointer user_data);
gboolean berth_kubernetes_provider_delete_state_finish (BerthKubernetesProvider *self,
                                                        GAsyncResult *result, GError **error);
/* A JSON array of service objects; never NULL (empty when the vfunc is NULL).
 * Each: {namespace, name, type, clusterIP, ports: [{name, port, protocol,
 * nodePort, hostPort}]} with hostPort set while the port is forwarded. */
JsonNode *berth_kubernetes_provider_list_services (BerthKubernetesProvider *self);
/* Stops Kubernetes in the guest (before the engine stops, or because it was
 * disabled); it runs again only after the next install. */
void
berth_kubernetes_provider_stop_async (BerthKubernetesProvider *self, BerthBackend *backend,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data);
gboolean
berth_kubernetes_provider_stop_finish (BerthKubernetesProvider *self, GAsyncResult *result,
                                       GError **error);
/* Removes what update_kubeconfig added to the user's kubeconfig, and only
 * that (Kubernetes disabled, factory reset). */
void
berth_kubernetes_provider_remove_kubeconfig_async (BerthKubernetesProvider *self,
                                                   GCancellable *cancellable,
                                                   GAsyncReadyCallback callback,
                                                   gpointer user_data);
gboolean
berth_kubernetes_provider_remove_kubeconfig_finish (BerthKubernetesProvider *self,
                                                    GAsyncResult *result, GError **error);
/* Makes @port (a port's name or number) of service @namespace_/@service
 * answer on 127.0.0.1:@host_port of the host (0: the provider picks).
 * Finishes with the host port, 0 on failure. */
void
berth_kubernetes_provider_forward_service_async (BerthKubernetesProvider *self,
                                                 BerthBackend *backend, const gchar *namespace_,
                                                 const gchar *service, const gchar *port,
                                                 guint host_port, GCancellable *cancellable,
                                                 GAsyncReadyCallback callback, gpointer user_data);
guint
berth_kubernetes_provider_forward_service_finish (BerthKubernetesProvider *self,
                                                  GAsyncResult *result, GError **error);
/* Ends that forward; one that does not exist is not an error. */
void
berth_kubernetes_provider_unforward_service_async (BerthKubernetesProvider *self,
                                                   BerthBackend *backend, const gchar *namespace_,
                                                   const gchar *service, const gchar *port,
                                                   GCancellable *cancellable,
                                                   GAsyncReadyCallback callback,
                                                   gpointer user_data);
gboolean
berth_kubernetes_provider_unforward_service_finish (BerthKubernetesProvider *self,
                                                    GAsyncResult *result, GError **error);

G_END_DECLS
