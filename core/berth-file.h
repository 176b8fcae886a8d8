/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Replaces the contents of @path with @length bytes of @data, with @mode,
 * so that a reader (or a crash, or a power cut) sees the old contents or
 * the new, never a part: the data goes to "<name>.tmp-XXXXXX" beside the
 * file, reaches the disk, and is renamed over it; the directory is then
 * flushed. A symbolic link at @path (a dotfile manager's) stays: the file
 * it leads to is replaced, and created when missing. The directory is
 * created (0700) when missing. */
gboolean
berth_file_replace_contents (const gchar *path, const gchar *data, gsize length, guint mode,
                             GError **error);

/* Removes the "<name>.tmp-XXXXXX" files that a writer of @path (through
 * berth_file_replace_contents()) killed mid-write left beside the file it
 * leads to. Call it where nothing else writes @path yet, at start. Returns
 * how many it removed. */
guint
berth_file_remove_stale_temporaries (const gchar *path);

G_END_DECLS
