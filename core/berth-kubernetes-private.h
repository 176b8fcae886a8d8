/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The manager's Kubernetes steps: bringing Kubernetes up after the engine
 * (assets, install, readiness, kubeconfig) and down before the engine stops
 * or when it is disabled. Not installed; exported for the tests. */

#include <gio/gio.h>

#include "berth-backend.h"
#include "berth-kubernetes-provider.h"
#include "berth-progress.h"

G_BEGIN_DECLS

/* Kubernetes' own state, beside the VM's. */
#define BERTH_KUBERNETES_STATE_DISABLED "disabled"
#define BERTH_KUBERNETES_STATE_STARTING "starting"
#define BERTH_KUBERNETES_STATE_READY "ready"
#define BERTH_KUBERNETES_STATE_ERROR "error"

/* How long the API server may take to answer once k3s runs: its first start
 * under software emulation takes minutes. */
#define BERTH_KUBERNETES_READY_TIMEOUT_SECONDS 600

/* Runs ensure_assets (@version as the setting says it), install, wait_ready
 * and update_kubeconfig one after the other, each as a description of
 * @step_id on @progress. The error names the part that failed, prefixed to
 * the provider's own message. */
void
berth_kubernetes_bring_up_async (BerthKubernetesProvider *provider, BerthBackend *backend,
                                 const gchar *version, BerthProgress *progress,
                                 const gchar *step_id, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
gboolean
berth_kubernetes_bring_up_finish (GAsyncResult *result, GError **error);

/* Stops Kubernetes in the guest and, when @remove_kubeconfig, removes
 * Berth's entries from the user's kubeconfig. Both are tried; the first
 * error is returned. */
void
berth_kubernetes_bring_down_async (BerthKubernetesProvider *provider, BerthBackend *backend,
                                   gboolean remove_kubeconfig, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data);
gboolean
berth_kubernetes_bring_down_finish (GAsyncResult *result, GError **error);

/* The severity a kubernetes.version change has: "reset" for a downgrade
 * (k3s cannot run on the state of a newer version), else "restart". Versions
 * that do not parse ("" for the default, a channel name) count as
 * "restart". */
const gchar *
berth_kubernetes_version_change_severity (const gchar *current, const gchar *desired);

G_END_DECLS
