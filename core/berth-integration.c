/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-integration.h"

#include "berth-error.h"
#include "berth-private.h"

G_DEFINE_INTERFACE (BerthIntegration, berth_integration, G_TYPE_OBJECT)

/* Plugins built before apply and remove existed must keep loading. */
G_STATIC_ASSERT (sizeof (BerthIntegrationInterface)
                 == sizeof (GTypeInterface) + 16 * sizeof (gpointer));

static void
berth_integration_default_init (BerthIntegrationInterface *iface)
{
  g_signal_new ("changed", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                G_TYPE_NONE, 0);
}

JsonNode *
berth_integration_list (BerthIntegration *self)
{
  BerthIntegrationInterface *iface;
  JsonNode *list = NULL;

  g_return_val_if_fail (BERTH_IS_INTEGRATION (self), NULL);

  iface = BERTH_INTEGRATION_GET_IFACE (self);
  if (iface->list != NULL)
    list = iface->list (self);
  if (list == NULL)
    {
      list = json_node_new (JSON_NODE_OBJECT);
      json_node_take_object (list, json_object_new ());
    }
  return list;
}

void
berth_integration_set_async (BerthIntegration *self, const gchar *name, gboolean enabled,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data)
{
  BerthIntegrationInterface *iface;

  g_return_if_fail (BERTH_IS_INTEGRATION (self));
  g_return_if_fail (name != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_INTEGRATION_GET_IFACE (self);
  if (iface->set_async == NULL)
    {
      berth_task_report_not_supported (self, berth_integration_set_async, "Integration.set",
                                       callback, user_data);
      return;
    }
  iface->set_async (self, name, enabled, cancellable, callback, user_data);
}

gboolean
berth_integration_set_finish (BerthIntegration *self, GAsyncResult *result, GError **error)
{
  BerthIntegrationInterface *iface;

  g_return_val_if_fail (BERTH_IS_INTEGRATION (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = BERTH_INTEGRATION_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_integration_set_async) || iface->set_finish == NULL)
    return berth_task_finish_boolean (self, result, error);
  return berth_error_convert_boolean (iface->set_finish (self, result, error), error);
}

GStrv
berth_integration_dup_warnings (BerthIntegration *self)
{
  BerthIntegrationInterface *iface;
  GStrv warnings = NULL;

  g_return_val_if_fail (BERTH_IS_INTEGRATION (self), NULL);

  iface = BERTH_INTEGRATION_GET_IFACE (self);
  if (iface->dup_warnings != NULL)
    warnings = iface->dup_warnings (self);
  if (warnings == NULL)
    warnings = g_new0 (gchar *, 1);
  return warnings;
}

/* What a NULL apply_async or remove_async means: nothing to do. */
static void
berth_integration_report_nothing_to_do (BerthIntegration *self, gpointer source_tag,
                                        const gchar *task_name, GAsyncReadyCallback callback,
                                        gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, NULL, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_name (task, task_name);
  g_task_return_boolean (task, TRUE);
}

void
berth_integration_apply_async (BerthIntegration *self, BerthState state, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  BerthIntegrationInterface *iface;

  g_return_if_fail (BERTH_IS_INTEGRATION (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_INTEGRATION_GET_IFACE (self);
  if (iface->apply_async == NULL)
    {
      berth_integration_report_nothing_to_do (self, berth_integration_apply_async,
                                              "Integration.apply", callback, user_data);
      return;
    }
  iface->apply_async (self, state, cancellable, callback, user_data);
}

gboolean
berth_integration_apply_finish (BerthIntegration *self, GAsyncResult *result, GError **error)
{
  BerthIntegrationInterface *iface;

  g_return_val_if_fail (BERTH_IS_INTEGRATION (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = BERTH_INTEGRATION_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_integration_apply_async)
      || iface->apply_finish == NULL)
    return berth_task_finish_boolean (self, result, error);
  return berth_error_convert_boolean (iface->apply_finish (self, result, error), error);
}

void
berth_integration_remove_async (BerthIntegration *self, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  BerthIntegrationInterface *iface;

  g_return_if_fail (BERTH_IS_INTEGRATION (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_INTEGRATION_GET_IFACE (self);
  if (iface->remove_async == NULL)
    {
      berth_integration_report_nothing_to_do (self, berth_integration_remove_async,
                                              "Integration.remove", callback, user_data);
      return;
    }
  iface->remove_async (self, cancellable, callback, user_data);
}

gboolean
berth_integration_remove_finish (BerthIntegration *self, GAsyncResult *result, GError **error)
{
  BerthIntegrationInterface *iface;

  g_return_val_if_fail (BERTH_IS_INTEGRATION (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = BERTH_INTEGRATION_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_integration_remove_async)
      || iface->remove_finish == NULL)
    return berth_task_finish_boolean (self, result, error);
  return berth_error_convert_boolean (iface->remove_finish (self, result, error), error);
}
