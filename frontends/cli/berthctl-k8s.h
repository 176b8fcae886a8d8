/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "berthctl-remote.h"

G_BEGIN_DECLS

/* `berthctl k8s versions | services | forward NS/SERVICE PORT [HOST_PORT] |
 * unforward NS/SERVICE PORT`, with argv[0] being "k8s". Exit codes as every
 * berthctl command: 0 done, 1 refused, 2 usage. */
int
berthctl_cmd_k8s (BerthctlConnection *conn, int argc, char **argv);

G_END_DECLS
