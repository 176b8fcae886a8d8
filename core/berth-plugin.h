/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <gmodule.h>

#include "berth-paths.h"
#include "berth-settings.h"
#include "berth-version.h"

G_BEGIN_DECLS

/* The base of every plugin. A plugin subclasses it and implements the
 * capability interfaces it provides (BerthBackend, BerthImageProcessor, …) on
 * that same type; the loader sets its name, file, settings and paths and then
 * calls setup(). */
#define BERTH_TYPE_PLUGIN (berth_plugin_get_type ())
G_DECLARE_DERIVABLE_TYPE (BerthPlugin, berth_plugin, BERTH, PLUGIN, GObject)

struct _BerthPluginClass
{
  GObjectClass parent_class;

  /* Optional. Cheap checks only; heavy work belongs in the interfaces' async
   * calls. Returning FALSE reports the plugin as failed with the error. */
  gboolean (*setup) (BerthPlugin *self, GCancellable *cancellable, GError **error);

  gpointer padding[15];
};

const gchar *berth_plugin_get_name (BerthPlugin *self);
const gchar *berth_plugin_get_file (BerthPlugin *self);
BerthSettings *berth_plugin_get_settings (BerthPlugin *self);
const BerthPaths *berth_plugin_get_paths (BerthPlugin *self);
gboolean berth_plugin_setup (BerthPlugin *self, GCancellable *cancellable, GError **error);
/* Short names of the capability interfaces this plugin implements, e.g.
 * {"Backend", "ImageProcessor", NULL}. */
GStrv berth_plugin_dup_interface_names (BerthPlugin *self);

/* The one symbol a plugin module exports. The loader passes nothing in; the
 * plugin writes the ABI it was built for, which the loader checks before it
 * touches the type. */
typedef GType (*BerthPluginQueryTypeFunc) (guint32 *abi_out);
#define BERTH_PLUGIN_QUERY_SYMBOL "berth_plugin_query_type"

/* Put once in a plugin module: BERTH_PLUGIN_DEFINE (berth_lima_plugin) */
#define BERTH_PLUGIN_DEFINE(type_prefix)                                                          \
  G_MODULE_EXPORT GType berth_plugin_query_type (guint32 *abi_out);                               \
  G_MODULE_EXPORT GType berth_plugin_query_type (guint32 *abi_out)                                \
  {                                                                                               \
    *abi_out = BERTH_PLUGIN_ABI;                                                                  \
    return type_prefix##_get_type ();                                                             \
  }

G_END_DECLS
