/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "berth-paths.h"
#include "berth-plugin.h"
#include "berth-settings.h"

G_BEGIN_DECLS

/* A module that was found but not loaded: it failed (with the reason), was
 * shadowed by an earlier one of the same name, or is disabled in settings. */
typedef struct
{
  gchar *name;       /* e.g. "lima" for berth-lima.so */
  gchar *file;       /* the module's path */
  gchar *reason;     /* for people: what was wrong, or why it was skipped */
  gboolean disabled; /* TRUE: listed in application.disabledPlugins, not an error */
} BerthPluginFailure;

#define BERTH_TYPE_PLUGIN_FAILURE (berth_plugin_failure_get_type ())
GType berth_plugin_failure_get_type (void);
BerthPluginFailure *berth_plugin_failure_copy (const BerthPluginFailure *failure);
void berth_plugin_failure_free (BerthPluginFailure *failure);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthPluginFailure, berth_plugin_failure_free)

/* Finds plugin modules ("berth-<name>.so"), loads them and keeps them. */
#define BERTH_TYPE_PLUGIN_LOADER (berth_plugin_loader_get_type ())
G_DECLARE_FINAL_TYPE (BerthPluginLoader, berth_plugin_loader, BERTH, PLUGIN_LOADER, GObject)

/* @settings and @paths may be NULL; they are handed to every plugin. The
 * search path starts as each entry of $BERTH_PLUGIN_PATH (a colon list, read
 * now), then the installed plugin directory. */
BerthPluginLoader *berth_plugin_loader_new (BerthSettings *settings, const BerthPaths *paths);
/* Puts @dir in front of the search path, so it is searched before every
 * directory already there: of two calls, the later one's directory wins. A
 * directory already in the path moves to the front. Call before load_all. */
void berth_plugin_loader_add_search_path (BerthPluginLoader *self, const gchar *dir);
/* The directories, in the order they are searched. */
GStrv berth_plugin_loader_dup_search_path (BerthPluginLoader *self);

/* Scans the search path in order, each directory's "berth-*.so" sorted by
 * name; the first module of a name wins and later ones are recorded as
 * shadowed. Plugins named in the setting application.disabledPlugins are
 * recorded as disabled. Every other module is opened, checked (ABI, type) and
 * set up; one that fails is recorded in get_failures() and the rest still
 * load. Returns FALSE only when it was cancelled or already ran. */
gboolean berth_plugin_loader_load_all (BerthPluginLoader *self, GCancellable *cancellable,
                                       GError **error);

/* Loaded plugins in load order; borrowed. */
GPtrArray *berth_plugin_loader_get_plugins (BerthPluginLoader *self);
/* Borrowed; NULL when no plugin of that name is loaded. */
BerthPlugin *berth_plugin_loader_find (BerthPluginLoader *self, const gchar *name);
/* Loaded plugins implementing @iface (e.g. BERTH_TYPE_BACKEND), in load
 * order: a new array of borrowed plugins. */
GPtrArray *berth_plugin_loader_find_by_interface (BerthPluginLoader *self, GType iface);
/* Element type BerthPluginFailure; borrowed. */
GPtrArray *berth_plugin_loader_get_failures (BerthPluginLoader *self);

/* What `berthctl plugins` and GET /v1/plugins show: an array, sorted by name,
 * of {"name", "file", "interfaces": [...], "status": "loaded"|"failed"|"disabled",
 * "reason" (not for loaded ones)}. */
JsonNode *berth_plugin_loader_to_json (BerthPluginLoader *self);

G_END_DECLS
