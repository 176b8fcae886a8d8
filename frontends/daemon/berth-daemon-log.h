/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* berthd's log: every message goes to <logs>/berthd.log (through
 * berth_log_open, which rotates it), and to stderr as well with --foreground.
 * When stderr is the systemd journal (berthd.service), messages go to the
 * journal with their fields instead, and berthd.log gets one line saying so
 * (BERTH_DAEMON_LOG_JOURNAL_NOTE, which berthctl logs looks for).
 * Debug messages are kept when @verbose or when G_MESSAGES_DEBUG asks. */
#define BERTH_DAEMON_LOG_JOURNAL_NOTE                                                              \
  "logging to the systemd journal; read it with journalctl --user -u berthd.service"

gboolean
berth_daemon_log_init (const gchar *logs_dir, gboolean to_stderr, gboolean verbose, GError **error);
/* Keeps debug messages too while @debug (application.debug), whatever
 * @verbose and G_MESSAGES_DEBUG say. */
void
berth_daemon_log_set_debug (gboolean debug);
/* Flushes and closes the file; later messages go to stderr only. */
void
berth_daemon_log_close (void);

G_END_DECLS
