/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "berth-wsl-exe.h"

G_BEGIN_DECLS

/* WSL integrations (the setting WSL.integrations): in each other WSL 2
 * distribution the user turns on, Berth's docker socket (shared through
 * /mnt/wsl/berth/docker.sock, which every distribution of the WSL 2 VM sees)
 * linked at /var/run/docker.sock, and the host's kubeconfig linked at the
 * default user's ~/.kube/config, as Rancher Desktop's wsl-helper does.
 * Blocking: worker threads only. */

#define BERTH_WSL_SHARED_DOCKER_SOCKET "/mnt/wsl/berth/docker.sock"

/* Brings every other distribution in line with @wanted (name → boolean;
 * NULL: all off, the factory reset), then reads where each stands. Returns
 * the integration list: name → true/false, or a string saying why that
 * distribution cannot take it (WSL 1, its own docker socket …); @warnings
 * gets the same reasons as sentences. @kubeconfig is the host's. */
JsonNode *
berth_wsl_integration_sync (BerthWslExe *exe, JsonObject *wanted, const gchar *kubeconfig,
                            GStrv *warnings, GCancellable *cancellable, GError **error);

/* Whether Berth integrates with a distribution of this name at all (not its
 * own, nor Docker Desktop's). */
gboolean
berth_wsl_integration_is_candidate (const gchar *name);

/* Called on the main context with what a sync found. */
typedef void (*BerthWslSyncedFunc) (GObject *source, JsonNode *list, GStrv warnings,
                                    gpointer user_data);

/* berth_wsl_integration_sync() in a worker thread, with the settings'
 * WSL.integrations @wanted (or, with @remove, everything turned off); @synced
 * gets the list when it is done. Completes a boolean GTask of @source tagged
 * @source_tag. Without wsl.exe there is nothing to do, and it succeeds. */
void
berth_wsl_integration_sync_async (GObject *source, gpointer source_tag, const gchar *logs_dir,
                                  gboolean remove, JsonNode *wanted, BerthWslSyncedFunc synced,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data);

G_END_DECLS
