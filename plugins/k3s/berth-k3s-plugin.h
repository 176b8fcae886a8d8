/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <berth.h>

G_BEGIN_DECLS

/* Kubernetes through k3s: a BerthKubernetesProvider. Versions come from
 * BerthK3sReleases (refreshed in the background at setup), assets from
 * BerthK3sAssets; k3s is installed and kept running in the guest through the
 * backend (berth-k3s-guest.h), its readiness checked over TLS through the
 * forwarded API port, and its cluster merged into the user's kubeconfig as
 * "berth". Services are watched through the API (BerthK3sServices) and
 * forwarded to 127.0.0.1 on request, or all of them when
 * portForwarding.includeKubernetesServices is true.
 *
 * Environment: BERTH_K3S_CA_FILE, an extra trusted CA (PEM) for the
 * downloads (private mirrors, tests); BERTH_K3S_ASSETS_DIR, a directory
 * holding the assets already (air-gapped machines). */
#define BERTH_TYPE_K3S_PLUGIN (berth_k3s_plugin_get_type ())
G_DECLARE_FINAL_TYPE (BerthK3sPlugin, berth_k3s_plugin, BERTH, K3S_PLUGIN, BerthPlugin)

G_END_DECLS
