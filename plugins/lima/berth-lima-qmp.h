/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* A client of QEMU's machine protocol (QMP) on its UNIX socket: one JSON
 * object a line. Connecting reads the greeting and negotiates capabilities
 * (qmp_capabilities); each command then waits for its "return" or "error",
 * skipping the asynchronous events QEMU sends in between. The _sync calls
 * block (worker threads only); every read and write is bounded by the
 * timeout given at connect time. */
#define BERTH_LIMA_TYPE_QMP (berth_lima_qmp_get_type ())
G_DECLARE_FINAL_TYPE (BerthLimaQmp, berth_lima_qmp, BERTH_LIMA, QMP, GObject)

/* Longest line accepted from QEMU: its replies are far smaller. */
#define BERTH_LIMA_QMP_MAX_LINE (1024 * 1024)

BerthLimaQmp *
berth_lima_qmp_connect_sync (const gchar *socket_path, guint timeout_ms, GCancellable *cancellable,
                             GError **error);
/* The QEMU version from the greeting, e.g. "7.2.22". */
const gchar *
berth_lima_qmp_get_qemu_version (BerthLimaQmp *self);
/* Runs @command with @arguments (may be NULL) and returns the "return"
 * member (an empty object for most commands). A QMP "error" reply is
 * BERTH_ERROR_BACKEND with QEMU's class and description. */
JsonNode *
berth_lima_qmp_execute_sync (BerthLimaQmp *self, const gchar *command, JsonObject *arguments,
                             GCancellable *cancellable, GError **error);
/* query-status: the run state ("running", "paused", "shutdown", …). */
gchar *
berth_lima_qmp_query_status_sync (BerthLimaQmp *self, gboolean *running_out,
                                  GCancellable *cancellable, GError **error);
/* system_powerdown: the ACPI power button. The guest decides what to do. */
gboolean
berth_lima_qmp_system_powerdown_sync (BerthLimaQmp *self, GCancellable *cancellable,
                                      GError **error);
/* quit: QEMU exits at once. QEMU may close the socket before it answers;
 * that counts as success. */
gboolean
berth_lima_qmp_quit_sync (BerthLimaQmp *self, GCancellable *cancellable, GError **error);
void
berth_lima_qmp_close (BerthLimaQmp *self);

/* One command on a fresh connection, in a worker thread: connect, negotiate,
 * run @command ("query-status", "system_powerdown", "quit", …), close.
 * _finish returns the "return" member. */
void
berth_lima_qmp_call_async (const gchar *socket_path, const gchar *command, guint timeout_ms,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data);
JsonNode *
berth_lima_qmp_call_finish (GAsyncResult *result, GError **error);

G_END_DECLS
