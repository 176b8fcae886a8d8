/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "berth-enums.h"

G_BEGIN_DECLS

/* Something Berth sets up on the host for the user: CLI tool links, the
 * kubeconfig, a docker context, WSL distributions.
 *
 * Signal: "changed" ()
 *
 * Every vfunc is optional: a NULL set_async makes the wrapper complete with
 * BERTH_ERROR_NOT_SUPPORTED "<plugin> does not support Integration.set"; a
 * NULL apply_async or remove_async means there is nothing to do, and the
 * wrapper completes with TRUE. A NULL _finish is allowed when its async vfunc
 * completes a boolean GTask whose source object is the integration. */
#define BERTH_TYPE_INTEGRATION (berth_integration_get_type ())
G_DECLARE_INTERFACE (BerthIntegration, berth_integration, BERTH, INTEGRATION, GObject)

struct _BerthIntegrationInterface
{
  GTypeInterface parent_iface;

  JsonNode *(*list) (BerthIntegration *self);
  void (*set_async) (BerthIntegration *self, const gchar *name, gboolean enabled,
                     GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
  gboolean (*set_finish) (BerthIntegration *self, GAsyncResult *result, GError **error);
  GStrv (*dup_warnings) (BerthIntegration *self);
  void (*apply_async) (BerthIntegration *self, BerthState state, GCancellable *cancellable,
                       GAsyncReadyCallback callback, gpointer user_data);
  gboolean (*apply_finish) (BerthIntegration *self, GAsyncResult *result, GError **error);
  void (*remove_async) (BerthIntegration *self, GCancellable *cancellable,
                        GAsyncReadyCallback callback, gpointer user_data);
  gboolean (*remove_finish) (BerthIntegration *self, GAsyncResult *result, GError **error);

  /* Four slots went to apply and remove: the struct keeps its size. */
  gpointer padding[8];
};

/* A JSON object: name → true/false, or a string saying why it cannot be
 * used. Never NULL (empty when the vfunc is NULL). */
JsonNode *berth_integration_list (BerthIntegration *self);
void berth_integration_set_async (BerthIntegration *self, const gchar *name, gboolean enabled,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data);
gboolean berth_integration_set_finish (BerthIntegration *self, GAsyncResult *result,
                                       GError **error);
/* What the user should know (e.g. "~/.local/bin is not in PATH"). Never NULL. */
GStrv berth_integration_dup_warnings (BerthIntegration *self);
/* Makes what this integration manages on the host match the settings
 * (berth_plugin_get_settings) and Berth's @state. The manager calls it when
 * the state becomes STARTED or STOPPED and when settings change. */
void berth_integration_apply_async (BerthIntegration *self, BerthState state,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data);
gboolean berth_integration_apply_finish (BerthIntegration *self, GAsyncResult *result,
                                         GError **error);
/* Undoes all of it (factory reset). */
void berth_integration_remove_async (BerthIntegration *self, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data);
gboolean berth_integration_remove_finish (BerthIntegration *self, GAsyncResult *result,
                                          GError **error);

G_END_DECLS
