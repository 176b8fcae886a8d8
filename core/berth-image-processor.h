/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "berth-backend.h"

G_BEGIN_DECLS

/* Images through a container engine's CLI (docker, nerdctl). @ns is the
 * containerd namespace where the engine has them; NULL means the engine's
 * default. Refreshes only while active.
 *
 * Signal: "images-changed" ()
 *
 * Every vfunc is optional: a NULL async vfunc makes the wrapper complete with
 * BERTH_ERROR_NOT_SUPPORTED "<plugin> does not support ImageProcessor.<op>".
 * A NULL _finish vfunc is allowed when the async vfunc completes a GTask whose
 * source object is the processor. */
#define BERTH_TYPE_IMAGE_PROCESSOR (berth_image_processor_get_type ())
G_DECLARE_INTERFACE (BerthImageProcessor, berth_image_processor, BERTH, IMAGE_PROCESSOR, GObject)

struct _BerthImageProcessorInterface
{
  GTypeInterface parent_iface;

  gboolean (*activate) (BerthImageProcessor *self, BerthBackend *backend, GError **error);
  void (*deactivate) (BerthImageProcessor *self);

  void (*list_images_async) (BerthImageProcessor *self, const gchar *ns, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);
  JsonNode *(*list_images_finish) (BerthImageProcessor *self, GAsyncResult *result, GError **error);
  void (*list_namespaces_async) (BerthImageProcessor *self, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
  GStrv (*list_namespaces_finish) (BerthImageProcessor *self, GAsyncResult *result, GError **error);
  void (*pull_async) (BerthImageProcessor *self, const gchar *ref, const gchar *ns,
                      GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
  gboolean (*pull_finish) (BerthImageProcessor *self, GAsyncResult *result, GError **error);
  void (*push_async) (BerthImageProcessor *self, const gchar *ref, const gchar *ns,
                      GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
  gboolean (*push_finish) (BerthImageProcessor *self, GAsyncResult *result, GError **error);
  void (*build_async) (BerthImageProcessor *self, const gchar *context_dir, const gchar *tag,
                       const gchar *ns, GCancellable *cancellable, GAsyncReadyCallback callback,
                       gpointer user_data);
  gboolean (*build_finish) (BerthImageProcessor *self, GAsyncResult *result, GError **error);
  void (*tag_async) (BerthImageProcessor *self, const gchar *source, const gchar *target,
                     const gchar *ns, GCancellable *cancellable, GAsyncReadyCallback callback,
                     gpointer user_data);
  gboolean (*tag_finish) (BerthImageProcessor *self, GAsyncResult *result, GError **error);
  void (*remove_async) (BerthImageProcessor *self, const gchar *ref, const gchar *ns,
                        GCancellable *cancellable, GAsyncReadyCallback callback,
                        gpointer user_data);
  gboolean (*remove_finish) (BerthImageProcessor *self, GAsyncResult *result, GError **error);
  void (*scan_async) (BerthImageProcessor *self, const gchar *ref, GCancellable *cancellable,
                      GAsyncReadyCallback callback, gpointer user_data);
  JsonNode *(*scan_finish) (BerthImageProcessor *self, GAsyncResult *result, GError **error);

  gpointer padding[12];
};

/* Starts watching the engine reached through @backend (may be NULL when the
 * engine is on the host). A NULL vfunc: nothing to prepare, TRUE. */
gboolean berth_image_processor_activate (BerthImageProcessor *self, BerthBackend *backend,
                                         GError **error);
/* Stops watching. A NULL vfunc does nothing. */
void berth_image_processor_deactivate (BerthImageProcessor *self);

/* A JSON array of objects {id, repository, tag, size, created?}. */
void berth_image_processor_list_images_async (BerthImageProcessor *self, const gchar *ns,
                                              GCancellable *cancellable,
                                              GAsyncReadyCallback callback, gpointer user_data);
JsonNode *berth_image_processor_list_images_finish (BerthImageProcessor *self, GAsyncResult *result,
                                                    GError **error);
void berth_image_processor_list_namespaces_async (BerthImageProcessor *self,
                                                  GCancellable *cancellable,
                                                  GAsyncReadyCallback callback, gpointer user_data);
GStrv berth_image_processor_list_namespaces_finish (BerthImageProcessor *self, GAsyncResult *result,
                                                    GError **error);
void berth_image_processor_pull_async (BerthImageProcessor *self, const gchar *ref, const gchar *ns,
                                       GCancellable *cancellable, GAsyncReadyCallback callback,
                                       gpointer user_data);
gboolean berth_image_processor_pull_finish (BerthImageProcessor *self, GAsyncResult *result,
                                            GError **error);
void berth_image_processor_push_async (BerthImageProcessor *self, const gchar *ref, const gchar *ns,
                                       GCancellable *cancellable, GAsyncReadyCallback callback,
                                       gpointer user_data);
gboolean berth_image_processor_push_finish (BerthImageProcessor *self, GAsyncResult *result,
                                            GError **error);
void berth_image_processor_build_async (BerthImageProcessor *self, const gchar *context_dir,
                                        const gchar *tag, const gchar *ns,
                                        GCancellable *cancellable, GAsyncReadyCallback callback,
                                        gpointer user_data);
gboolean berth_image_processor_build_finish (BerthImageProcessor *self, GAsyncResult *result,
                                             GError **error);
void berth_image_processor_tag_async (BerthImageProcessor *self, const gchar *source,
                                      const gchar *target, const gchar *ns,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data);
gboolean berth_image_processor_tag_finish (BerthImageProcessor *self, GAsyncResult *result,
                                           GError **error);
void berth_image_processor_remove_async (BerthImageProcessor *self, const gchar *ref,
                                         const gchar *ns, GCancellable *cancellable,
                                         GAsyncReadyCallback callback, gpointer user_data);
gboolean berth_image_processor_remove_finish (BerthImageProcessor *self, GAsyncResult *result,
                                              GError **error);
/* A vulnerability report for @ref, as a JSON node. */
void berth_image_processor_scan_async (BerthImageProcessor *self, const gchar *ref,
                                       GCancellable *cancellable, GAsyncReadyCallback callback,
                                       gpointer user_data);
JsonNode *berth_image_processor_scan_finish (BerthImageProcessor *self, GAsyncResult *result,
                                             GError **error);

G_END_DECLS
