/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers shared by libberth's own files. Not installed. */

#include <gio/gio.h>

G_BEGIN_DECLS

/* Completes an async call whose vfunc is NULL: the callback receives
 * BERTH_ERROR_NOT_SUPPORTED "<plugin name or type name> does not support
 * <operation>". @source_tag is the public wrapper, so its _finish can
 * recognise the result with g_async_result_is_tagged(). */
G_GNUC_INTERNAL
void berth_task_report_not_supported (gpointer source_object, gpointer source_tag,
                                      const gchar *operation, GAsyncReadyCallback callback,
                                      gpointer user_data);

/* Sets BERTH_ERROR_NOT_SUPPORTED on @error for a NULL sync vfunc. */
G_GNUC_INTERNAL
void berth_set_not_supported (gpointer source_object, const gchar *operation, GError **error);

/* What a _finish wrapper does when the result is the core's own report or when
 * the implementation left its _finish vfunc NULL: the result must then be a
 * GTask of @source_object. */
G_GNUC_INTERNAL
gboolean berth_task_finish_boolean (gpointer source_object, GAsyncResult *result, GError **error);
G_GNUC_INTERNAL
gpointer berth_task_finish_pointer (gpointer source_object, GAsyncResult *result, GError **error);

/* Every error that leaves an interface wrapper is in BERTH_ERROR: a plugin's
 * GIO error (GTask's own G_IO_ERROR_CANCELLED included) is converted here. */
G_GNUC_INTERNAL
gboolean berth_error_convert_boolean (gboolean ok, GError **error);
G_GNUC_INTERNAL
gpointer berth_error_convert_pointer (gpointer result, GError **error);

/* Sets @error (BERTH_ERROR, from @saved_errno) to "Could not @what @path:
 * <strerror>"; returns FALSE. */
G_GNUC_INTERNAL
gboolean berth_set_errno_error (GError **error, int saved_errno, const gchar *what,
                                const gchar *path);

G_END_DECLS
