/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "berthctl-remote.h"

G_BEGIN_DECLS

/* A connection to berthd: the one that answers, or a new one started in the
 * background (its own session, output to its log) when none does. */
BerthctlRemote *berthctl_launch_daemon (const BerthctlConnection *conn, GError **error);

/* Where berthd is: $BERTHD, beside this berthctl in a build tree or an
 * installed bindir, then PATH. */
gchar *berthctl_find_berthd (GError **error);

G_END_DECLS
