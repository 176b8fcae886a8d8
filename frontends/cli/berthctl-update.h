/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "berthctl-remote.h"

G_BEGIN_DECLS

/* `berthctl update [status|check|apply] …`, with argv[0] being "update" and
 * no subcommand meaning status. Parses its own options, rdctl's connection
 * flags included (into @conn), talks to berthd and prints what it answered.
 * Returns 0 when done, 1 when berthd refused (updates not supported in this
 * build, no newer release, a failed download), 2 for a usage error. */
int
berthctl_cmd_update (BerthctlConnection *conn, int argc, char **argv);

G_END_DECLS
