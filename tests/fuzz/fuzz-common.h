/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* What the fuzz targets share: their entry point, and a scratch directory
 * that is removed when the process ends. */

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

G_BEGIN_DECLS

/* libFuzzer's entry point, which each target defines; fuzz-replay.c calls it
 * too. */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Called once before the first input, by libFuzzer and by fuzz-replay.c:
 * drops the code under test's messages, info and debug output (a line for
 * every input buries libFuzzer's own); warnings and criticals still show. */
int
LLVMFuzzerInitialize (int *argc, char ***argv);

/* A directory of this process's own under $TMPDIR, made on the first call
 * and removed with everything in it at exit. */
const gchar *
berth_fuzz_work_dir (void);

/* Removes @path and, when it is a directory (not a link to one), everything
 * in it. */
void
berth_fuzz_remove_tree (const gchar *path);

G_END_DECLS
