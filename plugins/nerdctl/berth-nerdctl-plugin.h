/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <berth-plugin.h>

G_BEGIN_DECLS

/* Images of the containerd engine through the nerdctl CLI. nerdctl normally
 * runs inside the VM; Berth runs it on the host against containerd's socket
 * forwarded from the guest, as Rancher Desktop's nerdctl stub does on macOS:
 *   nerdctl --address <data>/containerd.sock --namespace <ns> …
 * where <data> is the paths' data directory ($XDG_DATA_HOME/berth). Builds
 * go to BuildKit at unix://<data>/buildkitd.sock (--buildkit-host), which the
 * VM forwards the same way. The CLI is $BERTH_NERDCTL when set, else nerdctl
 * from PATH; scans use trivy ($BERTH_TRIVY, else from PATH) with
 * CONTAINERD_ADDRESS and CONTAINERD_NAMESPACE set.
 *
 * A NULL namespace means the setting images.namespace ("k8s.io" unless
 * changed), or "default" without settings; that namespace is the one watched.
 * list_namespaces is `nerdctl namespace list --quiet`, with "default" added
 * when missing, as Rancher Desktop does.
 *
 * While active the watched namespace's list is refreshed every
 * $BERTH_IMAGES_REFRESH_MS milliseconds (default 3000) and after each
 * operation, and "images-changed" is emitted when the parsed list differs
 * from the last one seen. Pull, push, build, tag and remove attach what the
 * CLI printed to their result (berth_image_result_get_output()). Commands and
 * their output go to the log of component "nerdctl". */
#define BERTH_NERDCTL_TYPE_PLUGIN (berth_nerdctl_plugin_get_type ())
G_DECLARE_FINAL_TYPE (BerthNerdctlPlugin, berth_nerdctl_plugin, BERTH_NERDCTL, PLUGIN, BerthPlugin)

G_END_DECLS
