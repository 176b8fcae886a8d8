/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <berth-plugin.h>

G_BEGIN_DECLS

/* Images of the moby engine (dockerd in the VM) through the docker CLI on
 * the host, pointed at the engine's forwarded socket:
 *   docker --host unix://<data>/docker.sock …
 * where <data> is the paths' data directory ($XDG_DATA_HOME/berth). The CLI
 * is $BERTH_DOCKER when set, else docker from PATH; scans use trivy
 * ($BERTH_TRIVY, else trivy from PATH) with DOCKER_HOST set the same way.
 * docker has no namespaces: list_namespaces, and any namespace given to an
 * operation, answer BERTH_ERROR_NOT_SUPPORTED.
 *
 * While active (activate() until deactivate()) the list is refreshed every
 * $BERTH_IMAGES_REFRESH_MS milliseconds (default 3000) and after each
 * operation, and "images-changed" is emitted when the parsed list differs
 * from the last one seen. Pull, push, build, tag and remove attach what the
 * CLI printed to their result (berth_image_result_get_output()). Every
 * command and its output go to the log of component "moby". */
#define BERTH_MOBY_TYPE_PLUGIN (berth_moby_plugin_get_type ())
G_DECLARE_FINAL_TYPE (BerthMobyPlugin, berth_moby_plugin, BERTH_MOBY, PLUGIN, BerthPlugin)

G_END_DECLS
