/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "berthctl-remote.h"

G_BEGIN_DECLS

/* `berthctl images [ls|pull|build|tag|rm|namespaces] …`, with argv[0] being
 * "images" and no subcommand meaning ls. Parses its own options, rdctl's
 * connection flags included (into @conn, whose fields already set are kept),
 * talks to berthd and prints what it answered. Returns 0 when done, 1 when
 * berthd or the engine refused, 2 for a usage error, as every berthctl
 * command does. */
int
berthctl_cmd_images (BerthctlConnection *conn, int argc, char **argv);

G_END_DECLS
