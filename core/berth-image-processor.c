/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-image-processor.h"

#include "berth-error.h"
#include "berth-private.h"

G_DEFINE_INTERFACE (BerthImageProcessor, berth_image_processor, G_TYPE_OBJECT)

static void
berth_image_processor_default_init (BerthImageProcessorInterface *iface)
{
  g_signal_new ("images-changed", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                NULL, G_TYPE_NONE, 0);
}

gboolean
berth_image_processor_activate (BerthImageProcessor *self, BerthBackend *backend, GError **error)
{
  BerthImageProcessorInterface *iface;

  g_return_val_if_fail (BERTH_IS_IMAGE_PROCESSOR (self), FALSE);
  g_return_val_if_fail (backend == NULL || BERTH_IS_BACKEND (backend), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = BERTH_IMAGE_PROCESSOR_GET_IFACE (self);
  if (iface->activate == NULL)
    return TRUE;
  return berth_error_convert_boolean (iface->activate (self, backend, error), error);
}

void
berth_image_processor_deactivate (BerthImageProcessor *self)
{
  BerthImageProcessorInterface *iface;

  g_return_if_fail (BERTH_IS_IMAGE_PROCESSOR (self));

  iface = BERTH_IMAGE_PROCESSOR_GET_IFACE (self);
  if (iface->deactivate != NULL)
    iface->deactivate (self);
}

void
berth_image_processor_list_images_async (BerthImageProcessor *self, const gchar *ns,
                                         GCancellable *cancellable, GAsyncReadyCallback callback,
                                         gpointer user_data)
{
  BerthImageProcessorInterface *iface;

  g_return_if_fail (BERTH_IS_IMAGE_PROCESSOR (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_IMAGE_PROCESSOR_GET_IFACE (self);
  if (iface->list_images_async == NULL)
    {
      berth_task_report_not_supported (self, berth_image_processor_list_images_async,
                                       "ImageProcessor.list_images", callback, user_data);
      return;
    }
  iface->list_images_async (self, ns, cancellable, callback, user_data);
}

JsonNode *
berth_image_processor_list_images_finish (BerthImageProcessor *self, GAsyncResult *result,
                                          GError **error)
{
  BerthImageProcessorInterface *iface;

  g_return_val_if_fail (BERTH_IS_IMAGE_PROCESSOR (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  iface = BERTH_IMAGE_PROCESSOR_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_image_processor_list_images_async)
      || iface->list_images_finish == NULL)
    return berth_task_finish_pointer (self, result, error);
  return berth_error_convert_pointer (iface->list_images_finish (self, result, error), error);
}

void
berth_image_processor_list_namespaces_async (BerthImageProcessor *self, GCancellable *cancellable,
                                             GAsyncReadyCallback callback, gpointer user_data)
{
  BerthImageProcessorInterface *iface;

  g_return_if_fail (BERTH_IS_IMAGE_PROCESSOR (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_IMAGE_PROCESSOR_GET_IFACE (self);
  if (iface->list_namespaces_async == NULL)
    {
      berth_task_report_not_supported (self, berth_image_processor_list_namespaces_async,
                                       "ImageProcessor.list_namespaces", callback, user_data);
      return;
    }
  iface->list_namespaces_async (self, cancellable, callback, user_data);
}

GStrv
berth_image_processor_list_namespaces_finish (BerthImageProcessor *self, GAsyncResult *result,
                                              GError **error)
{
  BerthImageProcessorInterface *iface;

  g_return_val_if_fail (BERTH_IS_IMAGE_PROCESSOR (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  iface = BERTH_IMAGE_PROCESSOR_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_image_processor_list_namespaces_async)
      || iface->list_namespaces_finish == NULL)
    return berth_task_finish_pointer (self, result, error);
  return berth_error_convert_pointer (iface->list_namespaces_finish (self, result, error), error);
}

void
berth_image_processor_pull_async (BerthImageProcessor *self, const gchar *ref, const gchar *ns,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data)
{
  BerthImageProcessorInterface *iface;

  g_return_if_fail (BERTH_IS_IMAGE_PROCESSOR (self));
  g_return_if_fail (ref != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_IMAGE_PROCESSOR_GET_IFACE (self);
  if (iface->pull_async == NULL)
    {
      berth_task_report_not_supported (self, berth_image_processor_pull_async,
                                       "ImageProcessor.pull", callback, user_data);
      return;
    }
  iface->pull_async (self, ref, ns, cancellable, callback, user_data);
}

gboolean
berth_image_processor_pull_finish (BerthImageProcessor *self, GAsyncResult *result, GError **error)
{
  BerthImageProcessorInterface *iface;

  g_return_val_if_fail (BERTH_IS_IMAGE_PROCESSOR (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = BERTH_IMAGE_PROCESSOR_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_image_processor_pull_async)
      || iface->pull_finish == NULL)
    return berth_task_finish_boolean (self, result, error);
  return berth_error_convert_boolean (iface->pull_finish (self, result, error), error);
}

void
berth_image_processor_push_async (BerthImageProcessor *self, const gchar *ref, const gchar *ns,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data)
{
  BerthImageProcessorInterface *iface;

  g_return_if_fail (BERTH_IS_IMAGE_PROCESSOR (self));
  g_return_if_fail (ref != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_IMAGE_PROCESSOR_GET_IFACE (self);
  if (iface->push_async == NULL)
    {
      berth_task_report_not_supported (self, berth_image_processor_push_async,
                                       "ImageProcessor.push", callback, user_data);
      return;
    }
  iface->push_async (self, ref, ns, cancellable, callback, user_data);
}

gboolean
berth_image_processor_push_finish (BerthImageProcessor *self, GAsyncResult *result, GError **error)
{
  BerthImageProcessorInterface *iface;

  g_return_val_if_fail (BERTH_IS_IMAGE_PROCESSOR (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = BERTH_IMAGE_PROCESSOR_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_image_processor_push_async)
      || iface->push_finish == NULL)
    return berth_task_finish_boolean (self, result, error);
  return berth_error_convert_boolean (iface->push_finish (self, result, error), error);
}

void
berth_image_processor_build_async (BerthImageProcessor *self, const gchar *context_dir,
                                   const gchar *tag, const gchar *ns, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data)
{
  BerthImageProcessorInterface *iface;

  g_return_if_fail (BERTH_IS_IMAGE_PROCESSOR (self));
  g_return_if_fail (context_dir != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_IMAGE_PROCESSOR_GET_IFACE (self);
  if (iface->build_async == NULL)
    {
      berth_task_report_not_supported (self, berth_image_processor_build_async,
                                       "ImageProcessor.build", callback, user_data);
      return;
    }
  iface->build_async (self, context_dir, tag, ns, cancellable, callback, user_data);
}

gboolean
berth_image_processor_build_finish (BerthImageProcessor *self, GAsyncResult *result, GError **error)
{
  BerthImageProcessorInterface *iface;

  g_return_val_if_fail (BERTH_IS_IMAGE_PROCESSOR (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = BERTH_IMAGE_PROCESSOR_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_image_processor_build_async)
      || iface->build_finish == NULL)
    return berth_task_finish_boolean (self, result, error);
  return berth_error_convert_boolean (iface->build_finish (self, result, error), error);
}

void
berth_image_processor_tag_async (BerthImageProcessor *self, const gchar *source,
                                 const gchar *target, const gchar *ns, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  BerthImageProcessorInterface *iface;

  g_return_if_fail (BERTH_IS_IMAGE_PROCESSOR (self));
  g_return_if_fail (source != NULL);
  g_return_if_fail (target != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_IMAGE_PROCESSOR_GET_IFACE (self);
  if (iface->tag_async == NULL)
    {
      berth_task_report_not_supported (self, berth_image_processor_tag_async, "ImageProcessor.tag",
                                       callback, user_data);
      return;
    }
  iface->tag_async (self, source, target, ns, cancellable, callback, user_data);
}

gboolean
berth_image_processor_tag_finish (BerthImageProcessor *self, GAsyncResult *result, GError **error)
{
  BerthImageProcessorInterface *iface;

  g_return_val_if_fail (BERTH_IS_IMAGE_PROCESSOR (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = BERTH_IMAGE_PROCESSOR_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_image_processor_tag_async)
      || iface->tag_finish == NULL)
    return berth_task_finish_boolean (self, result, error);
  return berth_error_convert_boolean (iface->tag_finish (self, result, error), error);
}

void
berth_image_processor_remove_async (BerthImageProcessor *self, const gchar *ref, const gchar *ns,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  BerthImageProcessorInterface *iface;

  g_return_if_fail (BERTH_IS_IMAGE_PROCESSOR (self));
  g_return_if_fail (ref != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_IMAGE_PROCESSOR_GET_IFACE (self);
  if (iface->remove_async == NULL)
    {
      berth_task_report_not_supported (self, berth_image_processor_remove_async,
                                       "ImageProcessor.remove", callback, user_data);
      return;
    }
  iface->remove_async (self, ref, ns, cancellable, callback, user_data);
}

gboolean
berth_image_processor_remove_finish (BerthImageProcessor *self, GAsyncResult *result,
                                     GError **error)
{
  BerthImageProcessorInterface *iface;

  g_return_val_if_fail (BERTH_IS_IMAGE_PROCESSOR (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  iface = BERTH_IMAGE_PROCESSOR_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_image_processor_remove_async)
      || iface->remove_finish == NULL)
    return berth_task_finish_boolean (self, result, error);
  return berth_error_convert_boolean (iface->remove_finish (self, result, error), error);
}

void
berth_image_processor_scan_async (BerthImageProcessor *self, const gchar *ref,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data)
{
  BerthImageProcessorInterface *iface;

  g_return_if_fail (BERTH_IS_IMAGE_PROCESSOR (self));
  g_return_if_fail (ref != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  iface = BERTH_IMAGE_PROCESSOR_GET_IFACE (self);
  if (iface->scan_async == NULL)
    {
      berth_task_report_not_supported (self, berth_image_processor_scan_async,
                                       "ImageProcessor.scan", callback, user_data);
      return;
    }
  iface->scan_async (self, ref, cancellable, callback, user_data);
}

JsonNode *
berth_image_processor_scan_finish (BerthImageProcessor *self, GAsyncResult *result, GError **error)
{
  BerthImageProcessorInterface *iface;

  g_return_val_if_fail (BERTH_IS_IMAGE_PROCESSOR (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  iface = BERTH_IMAGE_PROCESSOR_GET_IFACE (self);
  if (g_async_result_is_tagged (result, berth_image_processor_scan_async)
      || iface->scan_finish == NULL)
    return berth_task_finish_pointer (self, result, error);
  return berth_error_convert_pointer (iface->scan_finish (self, result, error), error);
}
