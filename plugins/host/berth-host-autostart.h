/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* application.autoStart: berthd starts when the person logs in. Where a
 * systemd user instance runs, through its unit (systemctl --user enable
 * berthd.service); otherwise through an XDG autostart entry,
 * $XDG_CONFIG_HOME/autostart/berth.desktop, which Berth marks as its own
 * (BERTH_HOST_AUTOSTART_MARKER) and removes only then. */

#define BERTH_HOST_AUTOSTART_UNIT "berthd.service"
#define BERTH_HOST_AUTOSTART_MARKER "X-Berth-Managed=true"

typedef struct
{
  gchar *systemctl;      /* nullable: not on PATH */
  gchar *autostart_file; /* the XDG entry */
  gchar *berthd;         /* what the entry runs */
  gchar *logs_dir;       /* where systemctl's output is logged */
} BerthHostAutostartConfig;

void
berth_host_autostart_config_clear (BerthHostAutostartConfig *config);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (BerthHostAutostartConfig, berth_host_autostart_config_clear)

/* Turns starting at login on or off; *@how_out (may be NULL) receives how:
 * "systemd" or "xdg-autostart". A foreign autostart entry is left alone and
 * reported in @warnings. Worker threads only: it runs systemctl. */
gboolean
berth_host_autostart_apply (const BerthHostAutostartConfig *config, gboolean enabled,
                            const gchar **how_out, GPtrArray *warnings, GError **error);

G_END_DECLS
