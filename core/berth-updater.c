/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-updater.h"

#include "berth-error.h"
#include "berth-private.h"

G_DEFINE_INTERFACE (BerthUpdater, berth_updater, G_TYPE_OBJECT)

static void
berth_updater_default_init (BerthUpdaterInterface *iface)
{
  g_signal_new ("update-state", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}

void
berth_updater_check_async (BerthUpdater *self, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
  BerthUpdaterInterface *iface;

  g_return_if_fail (BERTH_IS_UPDATER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_UPDATER_GET_IFACE (self);
  if (iface->check_async == NULL)
    {
      berth_task_report_not_supported (self, berth_updater_check_async, "Updater.check", callback,
                                       user_data);
      return;
    }
  iface->check_async (self, cancellable, callback, user_data);
}

JsonNode *
berth_updater_check_finish (BerthUpdater *self, GAsyncResult *result, GError **error)
{
  BerthUpdaterInterface *iface;

  g_return_val_if_fail (BERTH_IS_UPDATER (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  iface = BERTH_UPDATER_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_updater_check_async) || iface->check_finish == NULL)
    return berth_task_finish_pointer (self, result, error);
  return berth_error_convert_pointer (iface->check_finish (self, result, error), error);
}

void
berth_updater_download_async (BerthUpdater *self, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  BerthUpdaterInterface *iface;

  g_return_if_fail (BERTH_IS_UPDATER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_UPDATER_GET_IFACE (self);
  if (iface->download_async == NULL)
    {
      berth_task_report_not_supported (self, berth_updater_download_async, "Updater.download",
                                       callback, user_data);
      return;
    }
  iface->download_async (self, cancellable, callback, user_data);
}

gchar *
berth_updater_download_finish (BerthUpdater *self, GAsyncResult *result, GError **error)
{
  BerthUpdaterInterface *iface;

  g_return_val_if_fail (BERTH_IS_UPDATER (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  iface = BERTH_UPDATER_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_updater_download_async)
      || iface->download_finish == NULL)
    return berth_task_finish_pointer (self, result, error);
  return berth_error_convert_pointer (iface->download_finish (self, result, error), error);
}

void
berth_updater_apply_async (BerthUpdater *self, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
  BerthUpdaterInterface *iface;

  g_return_if_fail (BERTH_IS_UPDATER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_UPDATER_GET_IFACE (self);
  if (iface->apply_async == NULL)
    {
      berth_task_report_not_supported (self, berth_updater_apply_async, "Updater.apply", callback,
                                       user_data);
      return;
    }
  iface->apply_async (self, cancellable, callback, user_data);
}

gboolean
berth_updater_apply_finish (BerthUpdater *self, GAsyncResult *result, GError **error)
{
  BerthUpdaterInterface *iface;

  g_return_val_if_fail (BERTH_IS_UPDATER (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = BERTH_UPDATER_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_updater_apply_async) || iface->apply_finish == NULL)
    return berth_task_finish_boolean (self, result, error);
  return berth_error_convert_boolean (iface->apply_finish (self, result, error), error);
}
