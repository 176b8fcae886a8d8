/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-plugin-loader.h"

#include <stdio.h>
#include <string.h>

#include "berth-error.h"

#define MODULE_PREFIX "berth-"
#define MODULE_SUFFIX ".so"
#define DISABLED_SETTING "application.disabledPlugins"

G_DEFINE_BOXED_TYPE (BerthPluginFailure, berth_plugin_failure, berth_plugin_failure_copy,
                     berth_plugin_failure_free)

static BerthPluginFailure *
berth_plugin_failure_new (const gchar *name, const gchar *file, const gchar *reason,
                          gboolean disabled)
{
  BerthPluginFailure *failure = g_new0 (BerthPluginFailure, 1);

  failure->name = g_strdup (name);
  failure->file = g_strdup (file);
  failure->reason = g_strdup (reason);
  failure->disabled = disabled;
  return failure;
}

BerthPluginFailure *
berth_plugin_failure_copy (const BerthPluginFailure *failure)
{
  g_return_val_if_fail (failure != NULL, NULL);
  return berth_plugin_failure_new (failure->name, failure->file, failure->reason,
                                   failure->disabled);
}

void
berth_plugin_failure_free (BerthPluginFailure *failure)
{
  if (failure == NULL)
    return;
  g_free (failure->name);
  g_free (failure->file);
  g_free (failure->reason);
  g_free (failure);
}

/* One module found on the search path, in the order found; exactly one of
 * plugin and failure is set (both borrowed from the loader's arrays). */
typedef struct
{
  BerthPlugin *plugin;
  BerthPluginFailure *failure;
} BerthPluginEntry;

struct _BerthPluginLoader
{
  GObject parent_instance;

  BerthSettings *settings; /* nullable */
  BerthPaths *paths;       /* nullable */
  GPtrArray *search_path;  /* gchar*, searched first to last */
  GPtrArray *plugins;      /* BerthPlugin* */
  GPtrArray *failures;     /* BerthPluginFailure* */
  GArray *entries;         /* BerthPluginEntry */
  GHashTable *first_file;  /* name → path of the first module of that name */
  gboolean loaded;
};

G_DEFINE_FINAL_TYPE (BerthPluginLoader, berth_plugin_loader, G_TYPE_OBJECT)

static void
berth_plugin_loader_finalize (GObject *object)
{
  BerthPluginLoader *self = BERTH_PLUGIN_LOADER (object);

  g_clear_object (&self->settings);
  g_clear_pointer (&self->paths, berth_paths_free);
  g_clear_pointer (&self->search_path, g_ptr_array_unref);
  g_clear_pointer (&self->entries, g_array_unref);
  g_clear_pointer (&self->plugins, g_ptr_array_unref);
  g_clear_pointer (&self->failures, g_ptr_array_unref);
  g_clear_pointer (&self->first_file, g_hash_table_unref);

  G_OBJECT_CLASS (berth_plugin_loader_parent_class)->finalize (object);
}

static void
berth_plugin_loader_class_init (BerthPluginLoaderClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = berth_plugin_loader_finalize;
}

static void
berth_plugin_loader_init (BerthPluginLoader *self)
{
  const gchar *env = g_getenv ("BERTH_PLUGIN_PATH");

  self->search_path = g_ptr_array_new_with_free_func (g_free);
  self->plugins = g_ptr_array_new_with_free_func (g_object_unref);
  self->failures = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_plugin_failure_free);
  self->entries = g_array_new (FALSE, TRUE, sizeof (BerthPluginEntry));
  self->first_file = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  if (env != NULL)
    {
      g_auto (GStrv) dirs = g_strsplit (env, G_SEARCHPATH_SEPARATOR_S, -1);

      for (guint i = 0; dirs[i] != NULL; i++)
        {
          if (dirs[i][0] == '\0')
            continue;
          g_ptr_array_add (self->search_path, g_canonicalize_filename (dirs[i], NULL));
        }
    }
  g_ptr_array_add (self->search_path, g_strdup (BERTH_PLUGIN_DIR));
}

BerthPluginLoader *
berth_plugin_loader_new (BerthSettings *settings, const BerthPaths *paths)
{
  BerthPluginLoader *self;

  g_return_val_if_fail (settings == NULL || BERTH_IS_SETTINGS (settings), NULL);

  self = g_object_new (BERTH_TYPE_PLUGIN_LOADER, NULL);
  if (settings != NULL)
    self->settings = g_object_ref (settings);
  if (paths != NULL)
    self->paths = berth_paths_copy (paths);
  return self;
}

void
berth_plugin_loader_add_search_path (BerthPluginLoader *self, const gchar *dir)
{
  g_autofree gchar *canonical = NULL;

  g_return_if_fail (BERTH_IS_PLUGIN_LOADER (self));
  g_return_if_fail (dir != NULL && dir[0] != '\0');
  g_return_if_fail (!self->loaded);

  canonical = g_canonicalize_filename (dir, NULL);
  for (guint i = 0; i < self->search_path->len; i++)
    {
      if (g_strcmp0 (g_ptr_array_index (self->search_path, i), canonical) == 0)
        {
          g_ptr_array_remove_index (self->search_path, i);
          break;
        }
    }
  g_ptr_array_insert (self->search_path, 0, g_steal_pointer (&canonical));
}

GStrv
berth_plugin_loader_dup_search_path (BerthPluginLoader *self)
{
  g_autoptr (GStrvBuilder) builder = NULL;

  g_return_val_if_fail (BERTH_IS_PLUGIN_LOADER (self), NULL);

  builder = g_strv_builder_new ();
  for (guint i = 0; i < self->search_path->len; i++)
    g_strv_builder_add (builder, g_ptr_array_index (self->search_path, i));
  return g_strv_builder_end (builder);
}

static void
berth_plugin_loader_add_failure (BerthPluginLoader *self, const gchar *name, const gchar *file,
                                 const gchar *reason, gboolean disabled)
{
  BerthPluginEntry entry = { NULL, NULL };

  entry.failure = berth_plugin_failure_new (name, file, reason, disabled);
  g_ptr_array_add (self->failures, entry.failure);
  g_array_append_val (self->entries, entry);
  /* Failures are data, shown by the frontends; the log only needs them when debugging. */
  g_debug ("Plugin %s (%s) not loaded: %s", name, file, reason);
}

static void
berth_plugin_loader_add_plugin (BerthPluginLoader *self, BerthPlugin *plugin)
{
  BerthPluginEntry entry = { NULL, NULL };

  entry.plugin = plugin;
  g_ptr_array_add (self->plugins, g_object_ref (plugin));
  g_array_append_val (self->entries, entry);
  g_debug ("Plugin %s loaded from %s", berth_plugin_get_name (plugin),
           berth_plugin_get_file (plugin));
}

/* The names in application.disabledPlugins, as a set. */
static GHashTable *
berth_plugin_loader_dup_disabled (BerthPluginLoader *self)
{
  GHashTable *disabled = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  JsonNode *node;
  JsonArray *array;

  if (self->settings == NULL || berth_settings_lookup_spec (DISABLED_SETTING) == NULL)
    return disabled;
  node = berth_settings_get_node (self->settings, DISABLED_SETTING);
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return disabled;
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);

      if (JSON_NODE_HOLDS_VALUE (element) && json_node_get_value_type (element) == G_TYPE_STRING)
        g_hash_table_add (disabled, g_strdup (json_node_get_string (element)));
    }
  return disabled;
}

/* "berth-*.so" regular files in @dir, sorted by name. A directory that does
 * not exist is simply empty: the installed one is absent in a build tree. */
static GPtrArray *
berth_plugin_loader_list_modules (const gchar *dir)
{
  GPtrArray *files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) gdir = NULL;
  g_autoptr (GError) error = NULL;
  const gchar *basename;

  gdir = g_dir_open (dir, 0, &error);
  if (gdir == NULL)
    {
      if (g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_debug ("Plugin directory %s does not exist", dir);
      else
        g_message ("Plugin directory %s cannot be read, skipping it: %s", dir, error->message);
      return files;
    }
  while ((basename = g_dir_read_name (gdir)) != NULL)
    {
      g_autofree gchar *path = NULL;

      if (!g_str_has_prefix (basename, MODULE_PREFIX) || !g_str_has_suffix (basename, MODULE_SUFFIX)
          || strlen (basename) < strlen (MODULE_PREFIX MODULE_SUFFIX))
        continue;
      path = g_build_filename (dir, basename, NULL);
      if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
        continue;
      g_ptr_array_add (files, g_steal_pointer (&path));
    }
  g_ptr_array_sort (files, (GCompareFunc)g_strcmp0);
  return files;
}

/* Only the first bytes: a module that is not ELF gets a plainer message than
 * the dynamic linker's. */
static gboolean
berth_file_is_elf (const gchar *path)
{
  static const guchar elf_magic[4] = { 0x7f, 'E', 'L', 'F' };
  guchar head[4] = { 0 };
  FILE *fp = fopen (path, "rb");
  gsize n;

  if (fp == NULL)
    return FALSE;
  n = fread (head, 1, sizeof head, fp);
  fclose (fp);
  return n == sizeof head && memcmp (head, elf_magic, sizeof head) == 0;
}

/* Opens, checks and sets up one module. Returns the plugin, or NULL with the
 * reason (for people) in @reason_out. */
static BerthPlugin *
berth_plugin_loader_open_one (BerthPluginLoader *self, const gchar *name, const gchar *path,
                              GCancellable *cancellable, gchar **reason_out)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthPlugin) plugin = NULL;
  BerthPluginQueryTypeFunc query_type = NULL;
  GModule *module;
  guint32 abi = 0;
  GType type;

  /* Symbols resolved now (no LAZY), so a plugin that needs a function this
   * libberth lacks fails here, with the reason, instead of crashing later. */
  module = g_module_open_full (path, G_MODULE_BIND_LOCAL, &error);
  if (module == NULL)
    {
      if (!berth_file_is_elf (path))
        *reason_out = g_strdup_printf ("not a shared object: %s", error->message);
      else
        *reason_out = g_strdup_printf ("cannot be opened: %s", error->message);
      return NULL;
    }
  if (!g_module_symbol (module, BERTH_PLUGIN_QUERY_SYMBOL, (gpointer *)&query_type)
      || query_type == NULL)
    {
      *reason_out = g_strdup ("does not export " BERTH_PLUGIN_QUERY_SYMBOL
                              "; a plugin module must contain BERTH_PLUGIN_DEFINE");
      g_module_close (module);
      return NULL;
    }

  type = query_type (&abi);

  /* From here on the module may have registered types, whose names and class
   * functions live in its memory: unloading it would leave GObject pointing
   * into unmapped pages. It stays mapped even when refused; it is never
   * instantiated unless every check passes. */
  g_module_make_resident (module);
  g_module_close (module);

  if (abi != BERTH_PLUGIN_ABI)
    {
      *reason_out = g_strdup_printf ("built for plugin ABI %u, this Berth loads ABI %u; "
                                     "rebuild the plugin against this Berth",
                                     (guint)abi, (guint)BERTH_PLUGIN_ABI);
      return NULL;
    }
  if (type == G_TYPE_INVALID)
    {
      *reason_out = g_strdup (BERTH_PLUGIN_QUERY_SYMBOL " returned G_TYPE_INVALID, "
                                                        "which is not a BerthPlugin type");
      return NULL;
    }
  if (!g_type_is_a (type, BERTH_TYPE_PLUGIN))
    {
      *reason_out = g_strdup_printf ("type %s is not a BerthPlugin; " BERTH_PLUGIN_QUERY_SYMBOL
                                     " must return a subclass of BerthPlugin",
                                     g_type_name (type));
      return NULL;
    }
  if (G_TYPE_IS_ABSTRACT (type))
    {
      *reason_out = g_strdup_printf ("type %s is abstract, not a BerthPlugin that can be "
                                     "created; return its concrete subclass",
                                     g_type_name (type));
      return NULL;
    }

  plugin = g_object_new (type, "name", name, "file", path, "settings", self->settings, "paths",
                         self->paths, NULL);
  if (!berth_plugin_setup (plugin, cancellable, &error))
    {
      *reason_out = g_strdup_printf ("setup failed: %s",
                                     error != NULL ? error->message : "the plugin gave no reason");
      return NULL;
    }
  return g_steal_pointer (&plugin);
}

gboolean
berth_plugin_loader_load_all (BerthPluginLoader *self, GCancellable *cancellable, GError **error)
{
  g_autoptr (GHashTable) disabled = NULL;

  g_return_val_if_fail (BERTH_IS_PLUGIN_LOADER (self), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->loaded)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_BUSY,
                   "Plugins were already loaded by this loader (%u loaded, %u not); create a "
                   "new BerthPluginLoader to load them again",
                   self->plugins->len, self->failures->len);
      return FALSE;
    }
  self->loaded = TRUE;

  disabled = berth_plugin_loader_dup_disabled (self);
  for (guint d = 0; d < self->search_path->len; d++)
    {
      const gchar *dir = g_ptr_array_index (self->search_path, d);
      g_autoptr (GPtrArray) files = berth_plugin_loader_list_modules (dir);

      for (guint i = 0; i < files->len; i++)
        {
          const gchar *path = g_ptr_array_index (files, i);
          g_autofree gchar *basename = g_path_get_basename (path);
          g_autofree gchar *name = NULL;
          g_autofree gchar *reason = NULL;
          const gchar *first;
          BerthPlugin *plugin;

          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            {
              berth_error_convert (error);
              return FALSE;
            }

          name = g_strndup (basename + strlen (MODULE_PREFIX),
                            strlen (basename) - strlen (MODULE_PREFIX MODULE_SUFFIX));
          if (name[0] == '\0')
            {
              berth_plugin_loader_add_failure (
                  self, name, path,
                  "has no plugin name; a module must be named berth-<name>" MODULE_SUFFIX, FALSE);
              continue;
            }
          first = g_hash_table_lookup (self->first_file, name);
          if (first != NULL)
            {
              g_autofree gchar *shadowed = g_strdup_printf ("shadowed by %s", first);

              berth_plugin_loader_add_failure (self, name, path, shadowed, FALSE);
              continue;
            }
          g_hash_table_insert (self->first_file, g_strdup (name), g_strdup (path));

          if (g_hash_table_contains (disabled, name))
            {
              berth_plugin_loader_add_failure (self, name, path,
                                               "disabled in settings (" DISABLED_SETTING ")", TRUE);
              continue;
            }

          plugin = berth_plugin_loader_open_one (self, name, path, cancellable, &reason);
          if (plugin == NULL)
            {
              berth_plugin_loader_add_failure (self, name, path, reason, FALSE);
              continue;
            }
          berth_plugin_loader_add_plugin (self, plugin);
          g_object_unref (plugin);
        }
    }
  return TRUE;
}

GPtrArray *
berth_plugin_loader_get_plugins (BerthPluginLoader *self)
{
  g_return_val_if_fail (BERTH_IS_PLUGIN_LOADER (self), NULL);
  return self->plugins;
}

BerthPlugin *
berth_plugin_loader_find (BerthPluginLoader *self, const gchar *name)
{
  g_return_val_if_fail (BERTH_IS_PLUGIN_LOADER (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  for (guint i = 0; i < self->plugins->len; i++)
    {
      BerthPlugin *plugin = g_ptr_array_index (self->plugins, i);

      if (g_strcmp0 (berth_plugin_get_name (plugin), name) == 0)
        return plugin;
    }
  return NULL;
}

GPtrArray *
berth_plugin_loader_find_by_interface (BerthPluginLoader *self, GType iface)
{
  GPtrArray *found;

  g_return_val_if_fail (BERTH_IS_PLUGIN_LOADER (self), NULL);
  g_return_val_if_fail (G_TYPE_IS_INTERFACE (iface), NULL);

  found = g_ptr_array_new ();
  for (guint i = 0; i < self->plugins->len; i++)
    {
      BerthPlugin *plugin = g_ptr_array_index (self->plugins, i);

      if (g_type_is_a (G_OBJECT_TYPE (plugin), iface))
        g_ptr_array_add (found, plugin);
    }
  return found;
}

GPtrArray *
berth_plugin_loader_get_failures (BerthPluginLoader *self)
{
  g_return_val_if_fail (BERTH_IS_PLUGIN_LOADER (self), NULL);
  return self->failures;
}

static const gchar *
berth_plugin_entry_get_name (const BerthPluginEntry *entry)
{
  if (entry->plugin != NULL)
    return berth_plugin_get_name (entry->plugin);
  return entry->failure->name;
}

/* By name; of the same name, the one found first comes first. */
static gint
berth_plugin_entry_compare (gconstpointer a, gconstpointer b)
{
  const BerthPluginEntry *const *ea = a;
  const BerthPluginEntry *const *eb = b;
  gint by_name = g_strcmp0 (berth_plugin_entry_get_name (*ea), berth_plugin_entry_get_name (*eb));

  if (by_name != 0)
    return by_name;
  return (*ea < *eb) ? -1 : (*ea > *eb);
}

static JsonNode *
berth_plugin_entry_to_json (const BerthPluginEntry *entry)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, berth_plugin_entry_get_name (entry));
  json_builder_set_member_name (builder, "file");
  json_builder_add_string_value (builder, entry->plugin != NULL
                                              ? berth_plugin_get_file (entry->plugin)
                                              : entry->failure->file);
  json_builder_set_member_name (builder, "interfaces");
  json_builder_begin_array (builder);
  if (entry->plugin != NULL)
    {
      g_auto (GStrv) interfaces = berth_plugin_dup_interface_names (entry->plugin);

      for (guint i = 0; interfaces[i] != NULL; i++)
        json_builder_add_string_value (builder, interfaces[i]);
    }
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "status");
  if (entry->plugin != NULL)
    json_builder_add_string_value (builder, "loaded");
  else
    json_builder_add_string_value (builder, entry->failure->disabled ? "disabled" : "failed");
  if (entry->failure != NULL)
    {
      json_builder_set_member_name (builder, "reason");
      json_builder_add_string_value (builder, entry->failure->reason);
    }
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

JsonNode *
berth_plugin_loader_to_json (BerthPluginLoader *self)
{
  g_autoptr (GPtrArray) sorted = NULL;
  JsonArray *array;
  JsonNode *root;

  g_return_val_if_fail (BERTH_IS_PLUGIN_LOADER (self), NULL);

  /* Pointers into self->entries keep the order found, for the tie-break. */
  sorted = g_ptr_array_sized_new (self->entries->len);
  for (guint i = 0; i < self->entries->len; i++)
    g_ptr_array_add (sorted, &g_array_index (self->entries, BerthPluginEntry, i));
  g_ptr_array_sort (sorted, berth_plugin_entry_compare);

  array = json_array_sized_new (sorted->len);
  for (guint i = 0; i < sorted->len; i++)
    json_array_add_element (array, berth_plugin_entry_to_json (g_ptr_array_index (sorted, i)));
  root = json_node_new (JSON_NODE_ARRAY);
  json_node_take_array (root, array);
  return root;
}
