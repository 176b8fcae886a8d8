/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Not installed: what tests reach in berth-file.c. */

#include "berth-file.h"

G_BEGIN_DECLS

/* Called after berth_file_replace_contents() has written and flushed the
 * temporary file, just before it renames it over the target. Tests use it
 * to die at that moment. */
typedef void (*BerthFileWriteHook) (const gchar *tmp_path, gpointer user_data);
void
berth_file_set_before_rename_hook (BerthFileWriteHook hook, gpointer user_data);

G_END_DECLS
