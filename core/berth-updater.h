/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Finds, downloads and applies new Berth releases.
 *
 * Signal: "update-state" (const gchar *state, const gchar *detail)
 *
 * Every vfunc is optional: a NULL async vfunc makes the wrapper complete with
 * BERTH_ERROR_NOT_SUPPORTED "<plugin> does not support Updater.<op>". A NULL
 * _finish vfunc is allowed when the async vfunc completes a GTask whose source
 * object is the updater. */
#define BERTH_TYPE_UPDATER (berth_updater_get_type ())
G_DECLARE_INTERFACE (BerthUpdater, berth_updater, BERTH, UPDATER, GObject)

struct _BerthUpdaterInterface
{
  GTypeInterface parent_iface;

  void (*check_async) (BerthUpdater *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                       gpointer user_data);
  JsonNode *(*check_finish) (BerthUpdater *self, GAsyncResult *result, GError **error);
  void (*download_async) (BerthUpdater *self, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data);
  gchar *(*download_finish) (BerthUpdater *self, GAsyncResult *result, GError **error);
  void (*apply_async) (BerthUpdater *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                       gpointer user_data);
  gboolean (*apply_finish) (BerthUpdater *self, GAsyncResult *result, GError **error);

  gpointer padding[12];
};

/* A JSON object {version, notes, url} for the newest release. */
void berth_updater_check_async (BerthUpdater *self, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);
JsonNode *berth_updater_check_finish (BerthUpdater *self, GAsyncResult *result, GError **error);
/* The path of the downloaded and verified update. */
void berth_updater_download_async (BerthUpdater *self, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data);
gchar *berth_updater_download_finish (BerthUpdater *self, GAsyncResult *result, GError **error);
void berth_updater_apply_async (BerthUpdater *self, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);
gboolean berth_updater_apply_finish (BerthUpdater *self, GAsyncResult *result, GError **error);

G_END_DECLS
