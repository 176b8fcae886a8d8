/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The components that have a log in @logs_dir ("berthd", "lima", …), sorted;
 * empty when there is no log yet. */
GPtrArray *
berthctl_logs_list (const gchar *logs_dir, GError **error);

/* Prints @component's log; with @follow, then what is appended to it, across
 * rotations, until interrupted. berthd's log, when berthd logs to the systemd
 * journal, is read with journalctl. An unknown component is an error that
 * lists the known ones. */
gboolean
berthctl_logs_show (const gchar *logs_dir, const gchar *component, gboolean follow, GError **error);

G_END_DECLS
