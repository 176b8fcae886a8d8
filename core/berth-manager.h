/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "berth-backend.h"
#include "berth-image-processor.h"
#include "berth-kubernetes-provider.h"
#include "berth-paths.h"
#include "berth-plugin-loader.h"
#include "berth-progress.h"
#include "berth-settings.h"

G_BEGIN_DECLS

typedef enum
{
  BERTH_RESET_KUBERNETES_FAST, /* Kubernetes state only */
  BERTH_RESET_KUBERNETES_WIPE, /* Kubernetes state and its images */
  BERTH_RESET_VM,              /* the VM's disk */
  BERTH_RESET_FACTORY,         /* everything Berth wrote: VM, cache, settings */
} BerthResetKind;

/* The heart of berthd: settings, plugins, the state machine STOPPED →
 * STARTING → STARTED → STOPPING → STOPPED | ERROR, progress, and what a
 * pending settings change needs. Frontends listen to its signals only. */
#define BERTH_TYPE_MANAGER (berth_manager_get_type ())
G_DECLARE_FINAL_TYPE (BerthManager, berth_manager, BERTH, MANAGER, GObject)

/* @paths, @host: NULL for this process's. */
BerthManager *
berth_manager_new (const BerthPaths *paths, const BerthHostInfo *host);
/* Loads settings (migrating, setting a corrupt file aside) and plugins, and
 * picks the backend, image processor and Kubernetes provider. */
gboolean
berth_manager_load (BerthManager *self, GCancellable *cancellable, GError **error);

const BerthPaths *
berth_manager_get_paths (BerthManager *self);
BerthSettings *
berth_manager_get_settings (BerthManager *self);
BerthPluginLoader *
berth_manager_get_plugin_loader (BerthManager *self);
BerthProgress *
berth_manager_get_progress (BerthManager *self);
BerthBackend *
berth_manager_get_backend (BerthManager *self); /* nullable */
BerthKubernetesProvider *
berth_manager_get_kubernetes_provider (BerthManager *self); /* nullable */
BerthImageProcessor *
berth_manager_get_image_processor (BerthManager *self); /* nullable */

/* Someone watches the images (a frontend's event stream, a window showing
 * them): while Berth is STARTED and at least one watch is held, the image
 * processor is active, refreshing its list and emitting "images-changed"
 * (re-emitted as "plugin-event"). Each hold is released once. */
void
berth_manager_hold_watch (BerthManager *self);
void
berth_manager_release_watch (BerthManager *self);
guint
berth_manager_get_n_watchers (BerthManager *self);

BerthState
berth_manager_get_state (BerthManager *self);
const gchar *
berth_manager_get_state_reason (BerthManager *self); /* nullable */
/* A locked backend refuses start/stop/reset from frontends (rdctl's
 * backend_state "locked"). */
gboolean
berth_manager_get_locked (BerthManager *self);
void
berth_manager_set_locked (BerthManager *self, gboolean locked);

void
berth_manager_start_async (BerthManager *self, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);
gboolean
berth_manager_start_finish (BerthManager *self, GAsyncResult *result, GError **error);
void
berth_manager_stop_async (BerthManager *self, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data);
gboolean
berth_manager_stop_finish (BerthManager *self, GAsyncResult *result, GError **error);
void
berth_manager_reset_async (BerthManager *self, BerthResetKind kind, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);
gboolean
berth_manager_reset_finish (BerthManager *self, GAsyncResult *result, GError **error);
/* A factory reset that, when @keep_system_images, keeps Berth's cache
 * ($XDG_CACHE_HOME/berth: the guest image, Kubernetes' downloads), as
 * Rancher Desktop's keepSystemImages keeps its Kubernetes images. Finish
 * with berth_manager_reset_finish(). */
void
berth_manager_factory_reset_async (BerthManager *self, gboolean keep_system_images,
                                   GCancellable *cancellable, GAsyncReadyCallback callback,
                                   gpointer user_data);

/* Whether start, stop or a reset of @kind asked now would be taken, and if
 * not why: BUSY (locked, or another operation under way) or NOT_SUPPORTED
 * (no plugin for it). The _async calls make the same checks; frontends call
 * these first to answer at once while the operation runs on. Starting what
 * is started or starting, and stopping what is stopped or stopping, is taken
 * (it joins or does nothing). */
gboolean
berth_manager_check_start (BerthManager *self, GError **error);
gboolean
berth_manager_check_stop (BerthManager *self, GError **error);
gboolean
berth_manager_check_reset (BerthManager *self, BerthResetKind kind, GError **error);

/* Validates and applies a partial settings object. @pending_out (nullable)
 * receives, for each changed setting that needs more than a live change while
 * the VM runs, {key: {current, desired, severity: "restart"|"reset"}}, where
 * current is the value the running VM was started with. When a "restart"
 * entry is among them and Berth is STARTED with nothing else under way, the
 * VM restarts at once to apply it (berth_manager_is_restarting() says so
 * until the stop half is over); "reset" entries wait for a reset. */
gboolean
berth_manager_update_settings (BerthManager *self, JsonNode *partial, JsonNode **pending_out,
                               GError **error);
/* Imports Rancher Desktop's settings @rancher_desktop (its settings.json,
 * parsed) as berth_settings_import_rancher_desktop() does, then goes on as
 * berth_manager_update_settings(). @import_out receives what was read and
 * dropped, @changed_out the settings that changed (both nullable). */
gboolean
berth_manager_import_settings (BerthManager *self, JsonNode *rancher_desktop,
                               BerthSettingsImport **import_out, GStrv *changed_out,
                               JsonNode **pending_out, GError **error);
/* TRUE from a restart for a settings change until its stop half is done. */
gboolean
berth_manager_is_restarting (BerthManager *self);
/* TRUE while Kubernetes alone restarts to apply kubernetes.* settings (the
 * VM keeps running); Kubernetes' state then says how it went. */
gboolean
berth_manager_is_restarting_kubernetes (BerthManager *self);
/* The same computation without applying anything. */
JsonNode *
berth_manager_propose_settings (BerthManager *self, JsonNode *partial, GError **error);
/* Changes applied since the VM started that still need a restart or reset. */
JsonNode *
berth_manager_dup_pending (BerthManager *self);

/* {version, platform, pluginAbi, pid, backend}, and when load imported
 * Rancher Desktop's settings.json: importedFrom (where the original is
 * kept) and what berth_settings_import_add_to_json() adds. */
JsonNode *
berth_manager_dup_about (BerthManager *self);
/* {vmState, locked, reason, kubernetesState, kubernetesReason, …} */
JsonNode *
berth_manager_dup_backend_state (BerthManager *self);

/* Kubernetes' own state: "disabled", "stopped" (enabled, the VM is not
 * running), "starting", "ready" or "error" (with the reason). */
const gchar *
berth_manager_get_kubernetes_state (BerthManager *self);
const gchar *
berth_manager_get_kubernetes_reason (BerthManager *self); /* nullable */
/* The Kubernetes versions the provider offers, newest first (gchar*). */
void
berth_manager_list_kubernetes_versions_async (BerthManager *self, GCancellable *cancellable,
                                              GAsyncReadyCallback callback, gpointer user_data);
GPtrArray *
berth_manager_list_kubernetes_versions_finish (BerthManager *self, GAsyncResult *result,
                                               GError **error);
/* The services berth_kubernetes_provider_list_services() lists, or an error
 * saying why there are none to list (no provider, Kubernetes not ready). */
JsonNode *
berth_manager_dup_kubernetes_services (BerthManager *self, GError **error);
/* Forwards a service's port to 127.0.0.1 (@host_port 0: the provider
 * picks); finishes with the host port. */
void
berth_manager_forward_kubernetes_service_async (BerthManager *self, const gchar *namespace_,
                                                const gchar *service, const gchar *port,
                                                guint host_port, GCancellable *cancellable,
                                                GAsyncReadyCallback callback, gpointer user_data);
guint
berth_manager_forward_kubernetes_service_finish (BerthManager *self, GAsyncResult *result,
                                                 GError **error);
void
berth_manager_unforward_kubernetes_service_async (BerthManager *self, const gchar *namespace_,
                                                  const gchar *service, const gchar *port,
                                                  GCancellable *cancellable,
                                                  GAsyncReadyCallback callback, gpointer user_data);
gboolean
berth_manager_unforward_kubernetes_service_finish (BerthManager *self, GAsyncResult *result,
                                                   GError **error);
/* Array of {id, description, passed, mutable?, fixes?} as rdctl diagnostics:
 * virtualization usable, QEMU present, free disk, UNIX socket path lengths,
 * plus what the backend's validate() says. */
JsonNode *
berth_manager_run_diagnostics (BerthManager *self);
/* The plugins found, loaded or not: berth_plugin_loader_to_json()'s array. */
JsonNode *
berth_manager_dup_plugins (BerthManager *self);

/* Berth's own updates, through the loaded Updater (a distribution's build
 * has none): the status {supported, enabled, updater, currentVersion,
 * state, detail, latest, lastCheck, nextCheck} (see berth-updates.h in the
 * source), checks at start and every few hours while
 * application.updater.enabled is true. check_update asks now and returns
 * the status after; apply_update checks and downloads as needed and
 * installs the newer release (the caller restarts into it). Both fail with
 * NOT_SUPPORTED, saying why, where nothing can update. */
JsonNode *
berth_manager_dup_update_status (BerthManager *self);
void
berth_manager_check_update_async (BerthManager *self, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);
JsonNode *
berth_manager_check_update_finish (BerthManager *self, GAsyncResult *result, GError **error);
void
berth_manager_apply_update_async (BerthManager *self, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);
gboolean
berth_manager_apply_update_finish (BerthManager *self, GAsyncResult *result, GError **error);

/* Signals, all on the main context:
 *   "state-changed"    (BerthState state, const gchar *reason)
 *   "progress-changed" ()
 *   "settings-changed" (GStrv changed_paths)
 *   "kubernetes-state-changed" (const gchar *state, const gchar *reason)
 *   "plugin-event"     (const gchar *plugin, const gchar *signal, JsonNode *args)
 *       every signal of every loaded plugin's capability interfaces,
 *       its arguments turned into a JSON array.
 *   "update-state"     (JsonNode *status)
 *       the update status above, whenever it changes. */

G_END_DECLS
