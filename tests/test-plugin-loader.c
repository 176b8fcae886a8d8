/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "berth.h"

#include "berth-test-util.h"

/* The modules built by tests/plugins/meson.build. */
static gchar *
test_plugin_dir (void)
{
  g_autofree gchar *dir = g_test_build_filename (G_TEST_BUILT, "plugins", NULL);

  /* The loader keeps absolute paths; so must the expectations. */
  return g_canonicalize_filename (dir, NULL);
}

static gchar *
test_plugin_file (const gchar *name)
{
  g_autofree gchar *dir = test_plugin_dir ();
  g_autofree gchar *basename = g_strdup_printf ("berth-%s.so", name);

  return g_build_filename (dir, basename, NULL);
}

static BerthPluginLoader *
load_test_dir (BerthSettings *settings)
{
  g_autoptr (BerthPluginLoader) loader = berth_plugin_loader_new (settings, NULL);
  g_autofree gchar *dir = test_plugin_dir ();
  g_autoptr (GError) error = NULL;

  berth_plugin_loader_add_search_path (loader, dir);
  g_assert_true (berth_plugin_loader_load_all (loader, NULL, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&loader);
}

static BerthPluginFailure *
find_failure (BerthPluginLoader *loader, const gchar *name)
{
  GPtrArray *failures = berth_plugin_loader_get_failures (loader);

  for (guint i = 0; i < failures->len; i++)
    {
      BerthPluginFailure *failure = g_ptr_array_index (failures, i);

      if (g_strcmp0 (failure->name, name) == 0)
        return failure;
    }
  return NULL;
}

/* The failure of @name, from @file, whose reason contains @reason_part. */
static void
assert_failed (BerthPluginLoader *loader, const gchar *name, const gchar *file,
               const gchar *reason_part)
{
  BerthPluginFailure *failure = find_failure (loader, name);

  g_assert (failure != NULL);
  g_assert_cmpstr (failure->file, ==, file);
  g_assert_false (failure->disabled);
  if (strstr (failure->reason, reason_part) == NULL)
    g_error ("reason for %s is \"%s\", expected it to contain \"%s\"", name, failure->reason,
             reason_part);
  g_assert_null (berth_plugin_loader_find (loader, name));
}

static BerthPluginFailure *
find_failure_by_file (BerthPluginLoader *loader, const gchar *file)
{
  GPtrArray *failures = berth_plugin_loader_get_failures (loader);

  for (guint i = 0; i < failures->len; i++)
    {
      BerthPluginFailure *failure = g_ptr_array_index (failures, i);

      if (g_strcmp0 (failure->file, file) == 0)
        return failure;
    }
  return NULL;
}

static JsonObject *
find_json_entry (JsonNode *root, const gchar *name, const gchar *status)
{
  JsonArray *array = json_node_get_array (root);

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *entry = json_array_get_object_element (array, i);

      if (g_strcmp0 (json_object_get_string_member (entry, "name"), name) == 0
          && g_strcmp0 (json_object_get_string_member (entry, "status"), status) == 0)
        return entry;
    }
  return NULL;
}

static void
test_good_plugin_loaded (void)
{
  g_autoptr (BerthPluginLoader) loader = load_test_dir (NULL);
  g_autofree gchar *file = test_plugin_file ("test-good");
  g_auto (GStrv) interfaces = NULL;
  g_autoptr (GPtrArray) backends = NULL;
  g_autoptr (GPtrArray) updaters = NULL;
  const gchar *const expected[] = { "Backend", "ImageProcessor", NULL };
  BerthPlugin *plugin;

  plugin = berth_plugin_loader_find (loader, "test-good");
  g_assert (plugin != NULL);
  g_assert_cmpstr (berth_plugin_get_name (plugin), ==, "test-good");
  g_assert_cmpstr (berth_plugin_get_file (plugin), ==, file);
  g_assert_null (berth_plugin_get_settings (plugin));
  g_assert_true (g_ptr_array_find (berth_plugin_loader_get_plugins (loader), plugin, NULL));
  g_assert_null (find_failure (loader, "test-good"));

  interfaces = berth_plugin_dup_interface_names (plugin);
  g_assert_cmpstrv (interfaces, expected);
  g_assert_true (BERTH_IS_BACKEND (plugin));
  g_assert_true (BERTH_IS_IMAGE_PROCESSOR (plugin));

  backends = berth_plugin_loader_find_by_interface (loader, BERTH_TYPE_BACKEND);
  g_assert_true (g_ptr_array_find (backends, plugin, NULL));
  updaters = berth_plugin_loader_find_by_interface (loader, BERTH_TYPE_UPDATER);
  g_assert_false (g_ptr_array_find (updaters, plugin, NULL));
}

static void
test_broken_plugins_reported (void)
{
  g_autoptr (BerthPluginLoader) loader = load_test_dir (NULL);
  g_autofree gchar *nosymbol = test_plugin_file ("test-nosymbol");
  g_autofree gchar *wrongabi = test_plugin_file ("test-wrongabi");
  g_autofree gchar *notplugin = test_plugin_file ("test-notplugin");
  g_autofree gchar *failsetup = test_plugin_file ("test-failsetup");
  g_autofree gchar *notelf = test_plugin_file ("test-notelf");
  g_autofree gchar *abi_reason = g_strdup_printf (
      "built for plugin ABI %u, this Berth loads ABI %u", BERTH_PLUGIN_ABI + 1, BERTH_PLUGIN_ABI);
  BerthPluginFailure *failure;
  GType wrong_abi_type;

  assert_failed (loader, "test-nosymbol", nosymbol, "does not export berth_plugin_query_type");
  assert_failed (loader, "test-wrongabi", wrongabi, abi_reason);
  assert_failed (loader, "test-notplugin", notplugin,
                 "type BerthTestNotPlugin is not a BerthPlugin");
  assert_failed (loader, "test-failsetup", failsetup,
                 "setup failed: test-failsetup cannot run on this host: it is a test module that "
                 "always refuses");
  assert_failed (loader, "test-notelf", notelf, "not a shared object: ");
  /* The dynamic linker's own words follow, naming the file. */
  failure = find_failure (loader, "test-notelf");
  g_assert (failure != NULL);
  g_assert_true (g_str_has_prefix (failure->reason, "not a shared object: "));
  g_assert_nonnull (strstr (failure->reason, "berth-test-notelf.so"));

  /* The refused ABI's type was asked for but never instantiated: its class
   * was never even created. */
  wrong_abi_type = g_type_from_name ("BerthTestWrongAbi");
  g_assert_cmpuint (wrong_abi_type, !=, G_TYPE_INVALID);
  g_assert_null (g_type_class_peek (wrong_abi_type));

  /* Broken neighbours do not stop the good one. */
  g_assert_nonnull (berth_plugin_loader_find (loader, "test-good"));
}

static void
test_first_of_a_name_wins (void)
{
  g_autoptr (BerthPluginLoader) loader = berth_plugin_loader_new (NULL, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *build_dir = test_plugin_dir ();
  g_autofree gchar *tmp = g_dir_make_tmp ("berth-plugins-XXXXXX", &error);
  g_autofree gchar *good_build = test_plugin_file ("test-good");
  g_autofree gchar *good_tmp = NULL;
  g_autofree gchar *failsetup_build = test_plugin_file ("test-failsetup");
  g_autofree gchar *failsetup_tmp = NULL;
  g_autofree gchar *nosymbol = test_plugin_file ("test-nosymbol");
  g_autofree gchar *contents = NULL;
  g_autofree gchar *shadowed_good = NULL;
  g_autofree gchar *shadowed_failsetup = NULL;
  g_auto (GStrv) search_path = NULL;
  gsize length = 0;
  BerthPluginFailure *shadowed;
  BerthPlugin *plugin;

  g_assert_no_error (error);
  good_tmp = g_build_filename (tmp, "berth-test-good.so", NULL);
  failsetup_tmp = g_build_filename (tmp, "berth-test-failsetup.so", NULL);
  /* A link, not a copy: the same module, so its types register once. */
  g_assert_cmpint (symlink (good_build, good_tmp), ==, 0);
  /* A module that fails still takes its name from later directories. */
  g_assert_true (g_file_get_contents (nosymbol, &contents, &length, &error));
  g_assert_true (g_file_set_contents (failsetup_tmp, contents, length, &error));

  berth_plugin_loader_add_search_path (loader, build_dir);
  berth_plugin_loader_add_search_path (loader, tmp);
  search_path = berth_plugin_loader_dup_search_path (loader);
  g_assert_cmpstr (search_path[0], ==, tmp);
  g_assert_cmpstr (search_path[1], ==, build_dir);

  g_assert_true (berth_plugin_loader_load_all (loader, NULL, &error));
  g_assert_no_error (error);

  plugin = berth_plugin_loader_find (loader, "test-good");
  g_assert (plugin != NULL);
  g_assert_cmpstr (berth_plugin_get_file (plugin), ==, good_tmp);
  shadowed_good = g_strdup_printf ("shadowed by %s", good_tmp);
  shadowed = find_failure_by_file (loader, good_build);
  g_assert (shadowed != NULL);
  g_assert_cmpstr (shadowed->name, ==, "test-good");
  g_assert_cmpstr (shadowed->reason, ==, shadowed_good);

  assert_failed (loader, "test-failsetup", failsetup_tmp,
                 "does not export berth_plugin_query_type");
  shadowed_failsetup = g_strdup_printf ("shadowed by %s", failsetup_tmp);
  shadowed = find_failure_by_file (loader, failsetup_build);
  g_assert (shadowed != NULL);
  g_assert_cmpstr (shadowed->name, ==, "test-failsetup");
  g_assert_cmpstr (shadowed->reason, ==, shadowed_failsetup);

  g_assert_cmpint (g_unlink (good_tmp), ==, 0);
  g_assert_cmpint (g_unlink (failsetup_tmp), ==, 0);
  g_assert_cmpint (g_rmdir (tmp), ==, 0);
}

static void
test_search_path (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *tmp = g_dir_make_tmp ("berth-search-XXXXXX", &error);
  g_autofree gchar *a = g_build_filename (tmp, "a", NULL);
  g_autofree gchar *b = g_build_filename (tmp, "b", NULL);
  g_autofree gchar *c = g_build_filename (tmp, "c", NULL);
  g_autofree gchar *env = g_strdup_printf ("%s::%s/", a, b);
  g_autofree gchar *saved = g_strdup (g_getenv ("BERTH_PLUGIN_PATH"));
  g_autoptr (BerthPluginLoader) loader = NULL;
  g_auto (GStrv) initial = NULL;
  g_auto (GStrv) after_c = NULL;
  g_auto (GStrv) after_b = NULL;

  g_assert_no_error (error);
  g_setenv ("BERTH_PLUGIN_PATH", env, TRUE);
  loader = berth_plugin_loader_new (NULL, NULL);
  if (saved != NULL)
    g_setenv ("BERTH_PLUGIN_PATH", saved, TRUE);
  else
    g_unsetenv ("BERTH_PLUGIN_PATH");

  /* Empty entries are skipped, then the installed directory comes last. */
  initial = berth_plugin_loader_dup_search_path (loader);
  {
    const gchar *const expected[] = { a, b, BERTH_PLUGIN_DIR, NULL };
    g_assert_cmpstrv (initial, expected);
  }
  berth_plugin_loader_add_search_path (loader, c);
  after_c = berth_plugin_loader_dup_search_path (loader);
  {
    const gchar *const expected[] = { c, a, b, BERTH_PLUGIN_DIR, NULL };
    g_assert_cmpstrv (after_c, expected);
  }
  /* Adding one already there moves it to the front rather than scanning it twice. */
  berth_plugin_loader_add_search_path (loader, b);
  after_b = berth_plugin_loader_dup_search_path (loader);
  {
    const gchar *const expected[] = { b, c, a, BERTH_PLUGIN_DIR, NULL };
    g_assert_cmpstrv (after_b, expected);
  }

  /* Directories that do not exist are not errors. */
  g_assert_true (berth_plugin_loader_load_all (loader, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_rmdir (tmp), ==, 0);
}

static void
test_disabled_by_settings (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *tmp = g_dir_make_tmp ("berth-settings-XXXXXX", &error);
  g_autofree gchar *path = g_build_filename (tmp, "settings.json", NULL);
  g_autofree gchar *file = test_plugin_file ("test-good");
  g_autofree gchar *contents = NULL;
  g_autoptr (BerthSettings) settings = NULL;
  g_autoptr (BerthPluginLoader) loader = NULL;
  g_autoptr (JsonNode) json = NULL;
  BerthPluginFailure *failure;
  JsonObject *entry;

  g_assert_no_error (error);
  contents = g_strdup_printf ("{\"version\": %d, \"application\": "
                              "{\"disabledPlugins\": [\"test-good\"]}}",
                              BERTH_SETTINGS_VERSION);
  g_assert_true (g_file_set_contents (path, contents, -1, &error));
  settings = berth_settings_new (path, NULL);
  g_assert_true (berth_settings_load (settings, &error));
  g_assert_no_error (error);

  loader = load_test_dir (settings);
  g_assert_null (berth_plugin_loader_find (loader, "test-good"));
  failure = find_failure (loader, "test-good");
  g_assert (failure != NULL);
  g_assert_true (failure->disabled);
  g_assert_cmpstr (failure->file, ==, file);
  g_assert_cmpstr (failure->reason, ==, "disabled in settings (application.disabledPlugins)");

  json = berth_plugin_loader_to_json (loader);
  entry = find_json_entry (json, "test-good", "disabled");
  g_assert (entry != NULL);
  g_assert_null (find_json_entry (json, "test-good", "failed"));
  g_assert_null (find_json_entry (json, "test-good", "loaded"));
  g_assert_cmpstr (json_object_get_string_member (entry, "reason"), ==,
                   "disabled in settings (application.disabledPlugins)");

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (tmp), ==, 0);
}

static void
test_plugin_gets_settings (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *tmp = g_dir_make_tmp ("berth-settings-XXXXXX", &error);
  g_autofree gchar *path = g_build_filename (tmp, "settings.json", NULL);
  g_autoptr (BerthSettings) settings = NULL;
  g_autoptr (BerthPluginLoader) loader = NULL;
  BerthPlugin *plugin;

  g_assert_no_error (error);
  settings = berth_settings_new (path, NULL);
  g_assert_true (berth_settings_load (settings, &error));
  g_assert_no_error (error);

  loader = load_test_dir (settings);
  plugin = berth_plugin_loader_find (loader, "test-good");
  g_assert (plugin != NULL);
  g_assert_true (berth_plugin_get_settings (plugin) == settings);

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (tmp), ==, 0);
}

static void
test_to_json (void)
{
  g_autoptr (BerthPluginLoader) loader = load_test_dir (NULL);
  g_autoptr (JsonNode) json = berth_plugin_loader_to_json (loader);
  g_autofree gchar *good_file = test_plugin_file ("test-good");
  g_autofree gchar *notelf_file = test_plugin_file ("test-notelf");
  g_autofree gchar *good_text = NULL;
  g_autofree gchar *expected_good = NULL;
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) good_node = NULL;
  JsonArray *array;
  JsonObject *good;
  JsonObject *notelf;
  const gchar *previous = "";

  g_assert_true (JSON_NODE_HOLDS_ARRAY (json));
  array = json_node_get_array (json);
  /* Every module found is there, sorted by name. */
  g_assert_cmpuint (json_array_get_length (array), ==,
                    berth_plugin_loader_get_plugins (loader)->len
                        + berth_plugin_loader_get_failures (loader)->len);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *entry = json_array_get_object_element (array, i);
      const gchar *name = json_object_get_string_member (entry, "name");
      const gchar *status = json_object_get_string_member (entry, "status");

      g_assert_cmpstr (previous, <=, name);
      previous = name;
      g_assert_true (json_object_has_member (entry, "file"));
      g_assert_true (JSON_NODE_HOLDS_ARRAY (json_object_get_member (entry, "interfaces")));
      g_assert_true (g_str_equal (status, "loaded") || g_str_equal (status, "failed")
                     || g_str_equal (status, "disabled"));
      g_assert_cmpint (json_object_has_member (entry, "reason"), ==,
                       !g_str_equal (status, "loaded"));
    }

  /* Exactly what `berthctl plugins` prints for the good one. */
  good = find_json_entry (json, "test-good", "loaded");
  g_assert (good != NULL);
  good_node = json_node_init_object (json_node_alloc (), good);
  json_generator_set_root (generator, good_node);
  good_text = json_generator_to_data (generator, NULL);
  expected_good = g_strdup_printf ("{\"name\":\"test-good\",\"file\":\"%s\",\"interfaces\":"
                                   "[\"Backend\",\"ImageProcessor\"],\"status\":\"loaded\"}",
                                   good_file);
  g_assert_cmpstr (good_text, ==, expected_good);

  notelf = find_json_entry (json, "test-notelf", "failed");
  g_assert (notelf != NULL);
  g_assert_cmpstr (json_object_get_string_member (notelf, "file"), ==, notelf_file);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (notelf, "interfaces")), ==,
                    0);
  g_assert_true (
      g_str_has_prefix (json_object_get_string_member (notelf, "reason"), "not a shared object: "));
}

static void
test_load_all_twice (void)
{
  g_autoptr (BerthPluginLoader) loader = load_test_dir (NULL);
  g_autoptr (GError) error = NULL;
  guint n_plugins = berth_plugin_loader_get_plugins (loader)->len;

  g_assert_false (berth_plugin_loader_load_all (loader, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_BUSY);
  g_assert_nonnull (strstr (error->message, "already loaded"));
  g_assert_cmpuint (berth_plugin_loader_get_plugins (loader)->len, ==, n_plugins);
}

static void
test_cancelled (void)
{
  g_autoptr (BerthPluginLoader) loader = berth_plugin_loader_new (NULL, NULL);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  g_autofree gchar *dir = test_plugin_dir ();

  berth_plugin_loader_add_search_path (loader, dir);
  g_cancellable_cancel (cancellable);
  g_assert_false (berth_plugin_loader_load_all (loader, cancellable, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_CANCELLED);
  g_assert_cmpuint (berth_plugin_loader_get_plugins (loader)->len, ==, 0);
}

/* BERTH_PLUGIN_DEFINE in a module built with hidden visibility exports one
 * symbol and nothing else. */
static void
test_exports_one_symbol (void)
{
  g_autofree gchar *file = test_plugin_file ("test-good");
  g_autofree gchar *nm = g_find_program_in_path ("nm");
  GModule *module;
  g_autoptr (GError) error = NULL;
  gpointer symbol = NULL;

  module = g_module_open_full (file, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL, &error);
  g_assert_no_error (error);
  g_assert_true (g_module_symbol (module, "berth_plugin_query_type", &symbol));
  g_assert (symbol != NULL);
  g_assert_false (g_module_symbol (module, "berth_test_good_get_type", &symbol));
  g_assert_false (g_module_symbol (module, "berth_test_good_start_async", &symbol));
  g_module_close (module);

  if (nm != NULL)
    {
      const gchar *argv[] = { nm, "-D", "--defined-only", "--format=posix", file, NULL };
      g_autofree gchar *out = NULL;
      g_autofree gchar *err = NULL;
      g_auto (GStrv) lines = NULL;
      g_autoptr (GPtrArray) exported = g_ptr_array_new_with_free_func (g_free);
      gint status = 0;

      g_assert_true (g_spawn_sync (NULL, (gchar **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                                   &err, &status, &error));
      g_assert_no_error (error);
      g_assert_true (g_spawn_check_wait_status (status, &error));
      g_assert_no_error (error);
      lines = g_strsplit (out, "\n", -1);
      for (guint i = 0; lines[i] != NULL; i++)
        {
          g_auto (GStrv) fields = g_strsplit (lines[i], " ", 3);

          if (fields[0] == NULL || fields[0][0] == '\0')
            continue;
          g_ptr_array_add (exported, g_strdup (fields[0]));
        }
      g_ptr_array_add (exported, NULL);
      {
        const gchar *const expected[] = { "berth_plugin_query_type", NULL };
        g_assert_cmpstrv ((const gchar *const *)exported->pdata, expected);
      }
    }
}

int
main (int argc, char **argv)
{
  g_autofree gchar *home = NULL;
  gint ret;

  g_test_init (&argc, &argv, NULL);

  /* Nothing here may touch the real home. */
  home = berth_test_isolate_home ("berth-test-home");

  g_test_add_func ("/plugin-loader/good-plugin-loaded", test_good_plugin_loaded);
  g_test_add_func ("/plugin-loader/broken-plugins-reported", test_broken_plugins_reported);
  g_test_add_func ("/plugin-loader/first-of-a-name-wins", test_first_of_a_name_wins);
  g_test_add_func ("/plugin-loader/search-path", test_search_path);
  g_test_add_func ("/plugin-loader/disabled-by-settings", test_disabled_by_settings);
  g_test_add_func ("/plugin-loader/plugin-gets-settings", test_plugin_gets_settings);
  g_test_add_func ("/plugin-loader/to-json", test_to_json);
  g_test_add_func ("/plugin-loader/load-all-twice", test_load_all_twice);
  g_test_add_func ("/plugin-loader/cancelled", test_cancelled);
  g_test_add_func ("/plugin-loader/exports-one-symbol", test_exports_one_symbol);

  ret = g_test_run ();
  berth_test_rm_rf (home);
  return ret;
}
