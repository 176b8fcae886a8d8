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

/* A directory of this process's own under $TMPDIR, made on the first call
 * and removed with everything in it at exit. */
const gchar *
berth_fuzz_work_dir (void);

/* Removes @path and, when it is a directory (not a link to one), everything
 * in it. */
void
berth_fuzz_remove_tree (const gchar *path);

G_END_DECLS
