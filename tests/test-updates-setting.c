/* SPDX-License-Identifier: GPL-3.0-or-later */
/* application.updater.enabled in a build without the updater (a
 * distribution's, -Dplugin_updater=disabled): only false is taken, with a
 * message saying where updates come from. Such a build's host info says
 * updates_from_packages; this test sets it on the host it gives. */

#include "config.h"

#include <string.h>

#include "berth-settings-import.h"
#include "berth-test-util.h"

#define UPDATER "application.updater.enabled"

typedef struct
{
  gchar *root;
  BerthPaths *paths;
  BerthHostInfo host;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->root = berth_test_make_root ("berth-updates-setting");
  f->paths = berth_test_paths_under (f->root);
  berth_test_host_info (&f->host);
  f->host.updates_from_packages = TRUE;
  /* Even where Rancher Desktop's rule would turn updates on. */
  f->host.self_updating_bundle = TRUE;
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  berth_paths_free (f->paths);
  berth_test_rm_rf (f->root);
  g_free (f->root);
}

static JsonNode *
parse (const gchar *text)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = berth_json_parse (text, strlen (text), 16, "the test's JSON", &error);

  g_assert_no_error (error);
  return node;
}

static void
test_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (BerthSettings) settings = berth_test_settings_new (f->paths, &f->host);
  g_autoptr (JsonNode) on = parse ("{\"application\": {\"updater\": {\"enabled\": true}}}");
  g_autoptr (JsonNode) off = parse ("{\"application\": {\"updater\": {\"enabled\": false}}}");
  g_autoptr (GError) error = NULL;

  g_assert_false (berth_settings_get_boolean (settings, UPDATER));
  g_assert_false (berth_settings_update (settings, on, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, UPDATER ": true is not supported"));
  g_assert_nonnull (strstr (error->message, "come from your distribution's packages"));
  g_assert_false (berth_settings_get_boolean (settings, UPDATER));
  g_clear_error (&error);

  /* Its default is taken. */
  g_assert_true (berth_settings_update (settings, off, NULL, &error));
  g_assert_no_error (error);
}

static void
test_file_still_loads (Fixture *f, gconstpointer data)
{
  g_autofree gchar *path = berth_paths_get_settings_file (f->paths);
  g_autofree gchar *dir = g_path_get_dirname (path);
  g_autoptr (BerthSettings) first = NULL;
  g_autoptr (BerthSettings) settings = NULL;
  g_autoptr (GError) error = NULL;
  BerthHostInfo self_updating = f->host;

  /* Written by a build that updates itself, read by one that does not:
   * it loads, nothing lost; the manager says the value is not acted on. */
  self_updating.updates_from_packages = FALSE;
  first = berth_test_settings_new (f->paths, &self_updating);
  g_assert_true (berth_settings_get_boolean (first, UPDATER));
  g_assert_true (g_file_test (dir, G_FILE_TEST_IS_DIR));

  settings = berth_settings_new (path, &f->host);
  g_assert_true (berth_settings_load (settings, &error));
  g_assert_no_error (error);
  g_assert_true (berth_settings_get_boolean (settings, UPDATER));
}

static void
test_import_drops (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonNode) rd = parse ("{\"version\": 10, \"application\": {\"updater\": "
                                   "{\"enabled\": true}, \"telemetry\": {\"enabled\": false}}}");
  g_autoptr (BerthSettingsImport) import = NULL;
  g_autoptr (GError) error = NULL;
  JsonObject *refused;

  import = berth_settings_import_new (rd, &f->host, &error);
  g_assert_no_error (error);
  refused = berth_settings_import_get_refused (import);
  g_assert_true (json_object_has_member (refused, UPDATER));
  g_assert_nonnull (
      strstr (json_object_get_string_member (refused, UPDATER), "distribution's packages"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/updates-setting/refused", Fixture, NULL, fixture_setup, test_refused,
              fixture_teardown);
  g_test_add ("/updates-setting/file-still-loads", Fixture, NULL, fixture_setup,
              test_file_still_loads, fixture_teardown);
  g_test_add ("/updates-setting/import-drops", Fixture, NULL, fixture_setup, test_import_drops,
              fixture_teardown);
  return g_test_run ();
}
