/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "berth-client-enum-types.h"
#include "berth-client-enums.h"

G_BEGIN_DECLS

/* BerthClient: berthd for a frontend (berthctl, the GNOME app, a script
 * through the typelib). It finds berthd through its credentials file, or
 * launches it, authenticates every call, offers each API call as an
 * _async/_finish pair, and turns berthd's event stream back into typed
 * signals, reconnecting when berthd restarts. client/README.md describes
 * the events it reads. */
#define BERTH_TYPE_CLIENT (berth_client_get_type ())
G_DECLARE_FINAL_TYPE (BerthClient, berth_client, BERTH, CLIENT, GObject)

BerthClient *
berth_client_new (void);

/* Where berthd answers; each unset value comes from the credentials file. */
const gchar *
berth_client_get_host (BerthClient *self);
void
berth_client_set_host (BerthClient *self, const gchar *host);
guint
berth_client_get_port (BerthClient *self);
void
berth_client_set_port (BerthClient *self, guint port);
const gchar *
berth_client_get_user (BerthClient *self);
void
berth_client_set_user (BerthClient *self, const gchar *user);
void
berth_client_set_password (BerthClient *self, const gchar *password);
gchar *
berth_client_dup_credentials_path (BerthClient *self);
void
berth_client_set_credentials_path (BerthClient *self, const gchar *path);
const gchar *
berth_client_get_berthd_path (BerthClient *self);
void
berth_client_set_berthd_path (BerthClient *self, const gchar *path);

/* What the event stream last said. */
gboolean
berth_client_get_connected (BerthClient *self);
BerthClientState
berth_client_get_state (BerthClient *self);
const gchar *
berth_client_get_state_reason (BerthClient *self);
gint64
berth_client_get_state_serial (BerthClient *self);
gint64
berth_client_get_daemon_pid (BerthClient *self);
const gchar *
berth_client_get_daemon_version (BerthClient *self);

void
berth_client_connect_async (BerthClient *self, BerthClientConnectFlags flags,
                            GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data);
gboolean
berth_client_connect_finish (BerthClient *self, GAsyncResult *result, GError **error);
void
berth_client_disconnect (BerthClient *self);

/* Any request, for what has no call of its own (berthctl api). */
void
berth_client_call_async (BerthClient *self, const gchar *method, const gchar *path, JsonNode *body,
                         GCancellable *cancellable, GAsyncReadyCallback callback,
                         gpointer user_data);
JsonNode *
berth_client_call_finish (BerthClient *self, GAsyncResult *result, GError **error);

/* GET /v1, /v1/about, /v1/vm, /v1/plugins, /v1/diagnostic_checks */
void
berth_client_list_endpoints_async (BerthClient *self, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data);
GStrv
berth_client_list_endpoints_finish (BerthClient *self, GAsyncResult *result, GError **error);
void
berth_client_get_about_async (BerthClient *self, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data);
JsonNode *
berth_client_get_about_finish (BerthClient *self, GAsyncResult *result, GError **error);
void
berth_client_get_vm_async (BerthClient *self, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);
JsonNode *
berth_client_get_vm_finish (BerthClient *self, GAsyncResult *result, GError **error);
void
berth_client_list_plugins_async (BerthClient *self, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
JsonNode *
berth_client_list_plugins_finish (BerthClient *self, GAsyncResult *result, GError **error);
void
berth_client_run_diagnostics_async (BerthClient *self, const gchar *check_id,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data);
JsonNode *
berth_client_run_diagnostics_finish (BerthClient *self, GAsyncResult *result, GError **error);

/* Settings: GET and PUT /v1/settings, PUT /v1/propose_settings and
 * /v1/settings/import. */
void
berth_client_get_settings_async (BerthClient *self, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
JsonNode *
berth_client_get_settings_finish (BerthClient *self, GAsyncResult *result, GError **error);
void
berth_client_set_settings_async (BerthClient *self, JsonNode *changes, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
JsonNode *
berth_client_set_settings_finish (BerthClient *self, GAsyncResult *result, gint64 *out_state_serial,
                                  GError **error);
void
berth_client_propose_settings_async (BerthClient *self, JsonNode *changes,
                                     GCancellable *cancellable, GAsyncReadyCallback callback,
                                     gpointer user_data);
JsonNode *
berth_client_propose_settings_finish (BerthClient *self, GAsyncResult *result, GError **error);
void
berth_client_import_settings_async (BerthClient *self, JsonNode *settings,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data);
JsonNode *
berth_client_import_settings_finish (BerthClient *self, GAsyncResult *result, GError **error);

/* The VM: GET and PUT /v1/backend_state, PUT /v1/shutdown and the resets. */
void
berth_client_get_backend_state_async (BerthClient *self, GCancellable *cancellable,
                                      GAsyncReadyCallback callback, gpointer user_data);
JsonNode *
berth_client_get_backend_state_finish (BerthClient *self, GAsyncResult *result, GError **error);
void
berth_client_start_async (BerthClient *self, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data);
gboolean
berth_client_start_finish (BerthClient *self, GAsyncResult *result, BerthClientState *out_state,
                           gint64 *out_state_serial, GError **error);
void
berth_client_stop_async (BerthClient *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                         gpointer user_data);
gboolean
berth_client_stop_finish (BerthClient *self, GAsyncResult *result, BerthClientState *out_state,
                          gint64 *out_state_serial, GError **error);
void
berth_client_set_locked_async (BerthClient *self, gboolean locked, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
gboolean
berth_client_set_locked_finish (BerthClient *self, GAsyncResult *result, GError **error);
void
berth_client_shutdown_async (BerthClient *self, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);
gboolean
berth_client_shutdown_finish (BerthClient *self, GAsyncResult *result, GError **error);
void
berth_client_factory_reset_async (BerthClient *self, gboolean keep_system_images,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data);
gboolean
berth_client_factory_reset_finish (BerthClient *self, GAsyncResult *result, GError **error);
void
berth_client_reset_kubernetes_async (BerthClient *self, gboolean wipe, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data);
gboolean
berth_client_reset_kubernetes_finish (BerthClient *self, GAsyncResult *result, GError **error);
void
berth_client_reset_vm_async (BerthClient *self, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);
gboolean
berth_client_reset_vm_finish (BerthClient *self, GAsyncResult *result, GError **error);

/* Images: GET /v1/images, /v1/images/namespaces; POST /v1/images/pull,
 * build, tag and remove (these answer when the engine is done). */
void
berth_client_list_images_async (BerthClient *self, const gchar *ns, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);
JsonNode *
berth_client_list_images_finish (BerthClient *self, GAsyncResult *result, GError **error);
void
berth_client_list_image_namespaces_async (BerthClient *self, GCancellable *cancellable,
                                          GAsyncReadyCallback callback, gpointer user_data);
GStrv
berth_client_list_image_namespaces_finish (BerthClient *self, GAsyncResult *result, GError **error);
void
berth_client_pull_image_async (BerthClient *self, const gchar *ref, const gchar *ns,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data);
gchar *
berth_client_pull_image_finish (BerthClient *self, GAsyncResult *result, GError **error);
void
berth_client_build_image_async (BerthClient *self, const gchar *context, const gchar *tag,
                                const gchar *ns, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);
gchar *
berth_client_build_image_finish (BerthClient *self, GAsyncResult *result, GError **error);
void
berth_client_tag_image_async (BerthClient *self, const gchar *source, const gchar *target,
                              const gchar *ns, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data);
gchar *
berth_client_tag_image_finish (BerthClient *self, GAsyncResult *result, GError **error);
void
berth_client_remove_image_async (BerthClient *self, const gchar *ref, const gchar *ns,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data);
gchar *
berth_client_remove_image_finish (BerthClient *self, GAsyncResult *result, GError **error);

/* Kubernetes: GET /v1/k8s_versions, /v1/k8s_services; POST and DELETE
 * /v1/port_forwarding. */
void
berth_client_list_kubernetes_versions_async (BerthClient *self, GCancellable *cancellable,
                                             GAsyncReadyCallback callback, gpointer user_data);
JsonNode *
berth_client_list_kubernetes_versions_finish (BerthClient *self, GAsyncResult *result,
                                              GError **error);
void
berth_client_list_kubernetes_services_async (BerthClient *self, GCancellable *cancellable,
                                             GAsyncReadyCallback callback, gpointer user_data);
JsonNode *
berth_client_list_kubernetes_services_finish (BerthClient *self, GAsyncResult *result,
                                              GError **error);
void
berth_client_forward_service_async (BerthClient *self, const gchar *ns, const gchar *service,
                                    const gchar *k8s_port, guint host_port,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data);
guint
berth_client_forward_service_finish (BerthClient *self, GAsyncResult *result, GError **error);
void
berth_client_unforward_service_async (BerthClient *self, const gchar *ns, const gchar *service,
                                      const gchar *k8s_port, GCancellable *cancellable,
                                      GAsyncReadyCallback callback, gpointer user_data);
gboolean
berth_client_unforward_service_finish (BerthClient *self, GAsyncResult *result, GError **error);

/* Berth's own updates: GET /v1/update, PUT /v1/update/check and apply. */
void
berth_client_get_update_async (BerthClient *self, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
JsonNode *
berth_client_get_update_finish (BerthClient *self, GAsyncResult *result, GError **error);
void
berth_client_check_update_async (BerthClient *self, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
JsonNode *
berth_client_check_update_finish (BerthClient *self, GAsyncResult *result, GError **error);
void
berth_client_apply_update_async (BerthClient *self, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
gboolean
berth_client_apply_update_finish (BerthClient *self, GAsyncResult *result, GError **error);

G_END_DECLS
