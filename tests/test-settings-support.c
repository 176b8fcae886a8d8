/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "berth-error.h"
#include "berth-settings-import.h"
#include "berth-settings.h"
#include "berth-settings-private.h"

#include "berth-test-util.h"

/* Settings Berth does not act on are refused when set to anything but their
 * default, with the reason, and never kept in silence: on an update, in an
 * import of Rancher Desktop's settings, and in a file from before. */

static BerthHostInfo
host_with_pkexec (gboolean has_pkexec)
{
  BerthHostInfo host;

  berth_test_host_info (&host);
  host.has_pkexec = has_pkexec;
  return host;
}

typedef struct
{
  gchar *root;
  gchar *path;
} Fixture;

static void
fixture_set_up (Fixture *fx, gconstpointer data)
{
  g_autofree gchar *dir = NULL;

  fx->root = berth_test_make_root ("berth-test-settings-support");
  dir = g_build_filename (fx->root, "config", NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  fx->path = g_build_filename (dir, "settings.json", NULL);
}

static void
fixture_tear_down (Fixture *fx, gconstpointer data)
{
  berth_test_rm_rf (fx->root);
  g_free (fx->root);
  g_free (fx->path);
}

static BerthSettings *
load (Fixture *fx, const BerthHostInfo *host)
{
  g_autoptr (BerthSettings) settings = berth_settings_new (fx->path, host);
  g_autoptr (GError) error = NULL;

  g_assert_true (berth_settings_load (settings, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&settings);
}

static const struct
{
  const gchar *update;
  const gchar *key;
  const gchar *reason;
} refused[] = {
  { "{\"application\":{\"telemetry\":{\"enabled\":true}}}", "application.telemetry.enabled",
    "Berth sends no telemetry" },
  { "{\"application\":{\"startInBackground\":true}}", "application.startInBackground",
    "no window or tray icon" },
  { "{\"containerEngine\":{\"allowedImages\":{\"enabled\":true}}}",
    "containerEngine.allowedImages.enabled", "cannot enforce an image allow-list" },
  { "{\"containerEngine\":{\"allowedImages\":{\"patterns\":[\"docker.io/library/*\"]}}}",
    "containerEngine.allowedImages.patterns", "cannot enforce an image allow-list" },
};

/* Each is refused by name and reason, the file is not touched, and the
 * default itself is taken. */
static void
test_update_refused (Fixture *fx, gconstpointer data)
{
  BerthHostInfo host = host_with_pkexec (TRUE);
  g_autoptr (BerthSettings) settings = load (fx, &host);
  g_autofree gchar *before = berth_test_read_file (fx->path);

  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree gchar *after = NULL;

      g_test_message ("update %s", refused[i].update);
      g_assert_false (berth_settings_update_from_json (settings, refused[i].update, NULL, &error));
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED);
      g_assert_true (g_str_has_prefix (error->message, refused[i].key));
      g_assert_nonnull (strstr (error->message, "not supported on this platform or build"));
      g_assert_nonnull (strstr (error->message, refused[i].reason));
      g_assert_nonnull (strstr (error->message, "only "));
      after = berth_test_read_file (fx->path);
      g_assert_cmpstr (after, ==, before);
      g_assert_cmpstr (berth_settings_get_unsupported_reason (refused[i].key, &host), !=, NULL);
    }

  /* The defaults go through, and so does what Berth acts on beside them. */
  g_assert_true (berth_settings_update_from_json (
      settings,
      "{\"application\":{\"telemetry\":{\"enabled\":false},\"startInBackground\":false,"
      "\"debug\":true},\"containerEngine\":{\"allowedImages\":{\"enabled\":false,"
      "\"patterns\":[]}}}",
      NULL, NULL));
  g_assert_true (berth_settings_get_boolean (settings, "application.debug"));
  g_assert_false (berth_settings_get_boolean (settings, "application.telemetry.enabled"));
}

/* adminAccess needs pkexec: refused without it, taken with it. */
static void
test_admin_access_needs_pkexec (Fixture *fx, gconstpointer data)
{
  BerthHostInfo without = host_with_pkexec (FALSE);
  BerthHostInfo with = host_with_pkexec (TRUE);
  g_autoptr (GError) error = NULL;

  {
    g_autoptr (BerthSettings) settings = load (fx, &without);

    g_assert_false (berth_settings_update_from_json (
        settings, "{\"application\":{\"adminAccess\":true}}", NULL, &error));
    g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED);
    g_assert_nonnull (strstr (error->message, "application.adminAccess: true"));
    g_assert_nonnull (strstr (error->message, "pkexec"));
    g_assert_false (berth_settings_get_boolean (settings, "application.adminAccess"));
  }
  {
    g_autoptr (BerthSettings) settings = load (fx, &with);

    g_assert_null (berth_settings_get_unsupported_reason ("application.adminAccess", &with));
    g_assert_true (berth_settings_update_from_json (
        settings, "{\"application\":{\"adminAccess\":true}}", NULL, NULL));
    g_assert_true (berth_settings_get_boolean (settings, "application.adminAccess"));
  }
  /* Loaded where pkexec has gone since, it is set back to false and the
   * file says so. */
  {
    g_autoptr (BerthSettings) settings = load (fx, &without);
    g_autofree gchar *text = berth_test_read_file (fx->path);

    g_assert_false (berth_settings_get_boolean (settings, "application.adminAccess"));
    g_assert_nonnull (strstr (text, "\"adminAccess\" : false"));
  }
}

/* A file of an earlier Berth, whose telemetry default was true: it loads,
 * with telemetry off, written back, and nothing else lost. */
static void
test_load_settles_old_values (Fixture *fx, gconstpointer data)
{
  BerthHostInfo host = host_with_pkexec (FALSE);
  g_autoptr (BerthSettings) settings = NULL;
  g_autofree gchar *text = NULL;

  berth_test_write_file (
      fx->path,
      "{\"version\":5,\"application\":{\"telemetry\":{\"enabled\":true},"
      "\"startInBackground\":true,\"debug\":true},\"containerEngine\":{\"name\":\"containerd\","
      "\"allowedImages\":{\"enabled\":true,\"patterns\":[\"busybox\"]}},"
      "\"virtualMachine\":{\"memoryInGB\":3}}",
      0600);
  settings = load (fx, &host);
  g_assert_false (berth_settings_get_boolean (settings, "application.telemetry.enabled"));
  g_assert_false (berth_settings_get_boolean (settings, "application.startInBackground"));
  g_assert_false (berth_settings_get_boolean (settings, "containerEngine.allowedImages.enabled"));
  g_assert_cmpuint (json_array_get_length (json_node_get_array (berth_settings_get_node (
                        settings, "containerEngine.allowedImages.patterns"))),
                    ==, 0);
  g_assert_true (berth_settings_get_boolean (settings, "application.debug"));
  g_assert_cmpstr (berth_settings_get_string (settings, "containerEngine.name"), ==, "containerd");
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.memoryInGB"), ==, 3);
  text = berth_test_read_file (fx->path);
  g_assert_nonnull (strstr (text, "\"enabled\" : false"));
  g_assert_null (strstr (text, "busybox"));
}

/* Rancher Desktop's settings import with those values dropped and named
 * with the reason, not failed. */
static void
test_import_drops_unsupported (Fixture *fx, gconstpointer data)
{
  BerthHostInfo host = host_with_pkexec (FALSE);
  g_autoptr (BerthSettings) settings = load (fx, &host);
  g_autoptr (JsonNode) rd = NULL;
  g_autoptr (BerthSettingsImport) import = NULL;
  g_autoptr (GError) error = NULL;
  JsonObject *refused_values;
  const gchar *const *dropped;

  rd = json_from_string (
      "{\"version\":10,\"application\":{\"adminAccess\":true,\"telemetry\":{\"enabled\":true},"
      "\"startInBackground\":true,\"debug\":true},\"containerEngine\":{\"name\":\"moby\","
      "\"allowedImages\":{\"enabled\":true,\"patterns\":[\"busybox\"]}},"
      "\"kubernetes\":{\"enabled\":false,\"version\":\"1.29.4\"}}",
      &error);
  g_assert_no_error (error);
  g_assert_true (berth_settings_import_rancher_desktop (settings, rd, &import, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (berth_settings_get_boolean (settings, "application.debug"));
  g_assert_false (berth_settings_get_boolean (settings, "application.telemetry.enabled"));
  dropped = berth_settings_import_get_dropped (import, NULL);
  g_assert_true (g_strv_contains (dropped, "application.telemetry.enabled"));
  g_assert_true (g_strv_contains (dropped, "application.adminAccess"));
  g_assert_true (g_strv_contains (dropped, "containerEngine.allowedImages.enabled"));
  g_assert_true (g_strv_contains (dropped, "containerEngine.allowedImages.patterns"));
  g_assert_true (g_strv_contains (dropped, "application.startInBackground"));
  refused_values = berth_settings_import_get_refused (import);
  g_assert_nonnull (
      strstr (json_object_get_string_member (refused_values, "application.telemetry.enabled"),
              "Berth sends no telemetry"));
  g_assert_nonnull (
      strstr (json_object_get_string_member (refused_values, "application.adminAccess"), "pkexec"));
}

/* The description frontends read marks each unsupported setting. */
static void
test_describe_schema (void)
{
  BerthHostInfo host = host_with_pkexec (TRUE);
  g_autoptr (JsonNode) schema = berth_settings_describe_schema (&host);
  JsonArray *array = json_node_get_array (schema);
  guint n_specs = 0;
  gboolean saw_telemetry = FALSE, saw_admin = FALSE, saw_debug = FALSE;

  berth_settings_get_schema (&n_specs);
  g_assert_cmpuint (json_array_get_length (array), ==, n_specs);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *entry = json_array_get_object_element (array, i);
      const gchar *key = json_object_get_string_member (entry, "key");

      if (g_str_equal (key, "application.telemetry.enabled"))
        {
          saw_telemetry = TRUE;
          g_assert_false (json_object_get_boolean_member (entry, "supported"));
          g_assert_cmpstr (json_object_get_string_member (entry, "unsupportedReason"), ==,
                           "Berth sends no telemetry");
          g_assert_false (json_object_get_boolean_member (entry, "default"));
        }
      else if (g_str_equal (key, "application.adminAccess"))
        {
          saw_admin = TRUE;
          g_assert_true (json_object_get_boolean_member (entry, "supported"));
          g_assert_false (json_object_has_member (entry, "unsupportedReason"));
        }
      else if (g_str_equal (key, "application.debug"))
        {
          saw_debug = TRUE;
          g_assert_true (json_object_get_boolean_member (entry, "supported"));
          g_assert_cmpstr (json_object_get_string_member (entry, "type"), ==, "boolean");
        }
    }
  g_assert_true (saw_telemetry && saw_admin && saw_debug);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func)                                                                            \
  g_test_add ("/settings-support/" name, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("update-refused", test_update_refused);
  ADD ("admin-access-needs-pkexec", test_admin_access_needs_pkexec);
  ADD ("load-settles-old-values", test_load_settles_old_values);
  ADD ("import-drops-unsupported", test_import_drops_unsupported);
#undef ADD
  g_test_add_func ("/settings-support/describe-schema", test_describe_schema);
  return g_test_run ();
}
