#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* berthd's log: every message goes to <logs>/berthd.log (through
 * berth_log_open, which rotates it), and to stderr as well with --foreground.
 * Debug messages are kept when @verbose or when G_MESSAGES_DEBUG asks. */
gboolean
berth_daemon_log_init (const gchar *logs_dir, gboolean to_stderr, gboolean verbose, GError **error);
/* Flushes and closes the file; later messages go to stderr only. */
void
berth_daemon_log_close (void);

G_END_DECLS
