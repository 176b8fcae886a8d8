/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <berth-plugin.h>

G_BEGIN_DECLS

/* The WSL 2 backend: a BerthPlugin that implements BerthBackend (the engine
 * and k3s in the WSL distribution "berth", their data in "berth-data") and
 * BerthIntegration (WSL.integrations: Berth's docker socket and kubeconfig in
 * the user's other distributions). Native on Windows; elsewhere it runs only
 * when asked for (BERTH_BACKEND=wsl) against a wsl.exe named by
 * BERTH_WSL_EXE, as its tests do with a fake.
 *
 * The distribution's root file system is the tarball $BERTH_WSL_DISTRO_TARBALL,
 * else <datadir>/berth/wsl/distro.tar (data/guest/build-image.sh --wsl).
 * Install locations: the platform's paths (wsl_distro, wsl_distro_data), off
 * Windows <data>/wsl/distro and <data>/wsl/distro-data.
 *
 * start: WSL 2 checked (`wsl.exe --status`), the distribution upgraded when
 * the tarball's VERSION_ID is newer than the registered one's, registered
 * (`--import … --version 2`), the data distribution created or updated,
 * stale processes ended (`--terminate`), the data mounted, the engine's log
 * rotation and this host's CA certificates written, then the guest's init
 * (/usr/lib/berth-guest/wsl-init) run and kept: STARTED when it prints
 * "berth-guest: ready" (within $BERTH_BOOT_TIMEOUT, default 300 s). Its exit
 * while running is an ERROR. stop: `--terminate`. delete: stop, then
 * `--unregister` of both distributions. */
#define BERTH_WSL_TYPE_PLUGIN (berth_wsl_plugin_get_type ())
G_DECLARE_FINAL_TYPE (BerthWslPlugin, berth_wsl_plugin, BERTH_WSL, PLUGIN, BerthPlugin)

G_END_DECLS
