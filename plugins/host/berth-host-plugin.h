/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <berth-plugin.h>

G_BEGIN_DECLS

/* What Berth sets up on the host for the person, as the settings say: the
 * CLI tools on PATH (application.pathManagementStrategy,
 * berth-host-links.h), starting at login (application.autoStart,
 * berth-host-autostart.h) and /var/run/docker.sock (application.adminAccess,
 * berth-host-admin.h). An Integration: the manager applies it at load, when
 * Berth is STARTED or STOPPED and when settings change, and removes it in a
 * factory reset. */
#define BERTH_TYPE_HOST_PLUGIN (berth_host_plugin_get_type ())
G_DECLARE_FINAL_TYPE (BerthHostPlugin, berth_host_plugin, BERTH, HOST_PLUGIN, BerthPlugin)

G_END_DECLS
