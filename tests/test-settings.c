/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "berth-error.h"
#include "berth-file-private.h"
#include "berth-settings-import.h"
#include "berth-settings.h"
#include "berth-settings-private.h"

#include "berth-test-util.h"

#define GIB ((guint64)1 << 30)

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static BerthHostInfo
make_host (guint64 memory_gib, guint n_cpus, BerthPlatform platform, gboolean bundle)
{
  BerthHostInfo host = { 0 };

  host.platform = platform;
  host.total_memory_bytes = memory_gib * GIB;
  host.n_cpus = n_cpus;
  host.self_updating_bundle = bundle;
  return host;
}

/* The host most tests run against: 16 GiB, 8 CPUs, Linux. */
static BerthHostInfo
test_host (void)
{
  BerthHostInfo host = make_host (16, 8, BERTH_PLATFORM_LINUX, FALSE);

  /* adminAccess can act (test-settings-support.c covers a host without). */
  host.has_pkexec = TRUE;
  return host;
}

/* A throwaway home for one test: XDG_CONFIG_HOME points into it and the
 * settings file is $XDG_CONFIG_HOME/berth/settings.json, not yet created. */
typedef struct
{
  gchar *dir;
  gchar *config_dir;
  gchar *path;
} Fixture;

static void
fixture_set_up (Fixture *fx, gconstpointer data)
{
  fx->dir = berth_test_make_root ("berth-test-settings");
  fx->config_dir = g_build_filename (fx->dir, "config", NULL);
  g_setenv ("HOME", fx->dir, TRUE);
  g_setenv ("XDG_CONFIG_HOME", fx->config_dir, TRUE);
  g_setenv ("XDG_DATA_HOME", fx->dir, TRUE);
  g_setenv ("XDG_CACHE_HOME", fx->dir, TRUE);
  g_setenv ("XDG_STATE_HOME", fx->dir, TRUE);
  g_setenv ("XDG_RUNTIME_DIR", fx->dir, TRUE);
  fx->path = g_build_filename (fx->config_dir, "berth", "settings.json", NULL);
}

static void
fixture_tear_down (Fixture *fx, gconstpointer data)
{
  berth_test_rm_rf (fx->dir);
  g_free (fx->dir);
  g_free (fx->config_dir);
  g_free (fx->path);
}

static void
write_settings_file (Fixture *fx, const gchar *contents)
{
  g_autofree gchar *dir = g_path_get_dirname (fx->path);
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (fx->path, contents, -1, &error);
  g_assert_no_error (error);
}

static JsonNode *
parse (const gchar *json)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = json_from_string (json, &error);

  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
}

/* Names in the settings directory that start with @prefix. */
static GPtrArray *
list_with_prefix (Fixture *fx, const gchar *prefix)
{
  g_autofree gchar *dir_path = g_path_get_dirname (fx->path);
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const gchar *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, prefix))
      g_ptr_array_add (names, g_strdup (name));
  return names;
}

static BerthSettings *
load_settings (Fixture *fx, const BerthHostInfo *host)
{
  g_autoptr (GError) error = NULL;
  BerthSettings *settings = berth_settings_new (fx->path, host);

  berth_settings_load (settings, &error);
  g_assert_no_error (error);
  return settings;
}

static void
assert_error_contains (GError *error, gint code, const gchar *const *parts)
{
  g_assert_nonnull (error);
  if (error->domain != BERTH_ERROR || error->code != code)
    g_error ("expected BERTH_ERROR %s, got %s %d: %s", berth_error_code_to_string (code),
             g_quark_to_string (error->domain), error->code, error->message);
  for (guint i = 0; parts[i] != NULL; i++)
    if (strstr (error->message, parts[i]) == NULL)
      g_error ("error message \"%s\" lacks \"%s\"", error->message, parts[i]);
}

static gchar *
member_string (JsonNode *root, const gchar *group, const gchar *name)
{
  JsonObject *obj = json_node_get_object (root);
  JsonNode *node;

  if (group != NULL)
    {
      node = json_object_get_member (obj, group);
      if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
        return NULL;
      obj = json_node_get_object (node);
    }
  node = json_object_get_member (obj, name);
  return node != NULL ? json_to_string (node, FALSE) : NULL;
}

/* ------------------------------------------------------------------------ */
/* Host and defaults                                                        */
/* ------------------------------------------------------------------------ */

static void
test_host_detect (void)
{
  BerthHostInfo host;

  g_unsetenv ("APPIMAGE");
  berth_host_info_detect (&host);
  g_assert_cmpint (host.platform, ==, berth_platform_current ());
  g_assert_cmpuint (host.total_memory_bytes, >, 64 * 1024 * 1024);
  g_assert_cmpuint (host.n_cpus, ==, g_get_num_processors ());
  g_assert_false (host.self_updating_bundle);

  g_setenv ("APPIMAGE", "Berth-x86_64.AppImage", TRUE);
  berth_host_info_detect (&host);
  g_assert_true (host.self_updating_bundle);
  g_unsetenv ("APPIMAGE");
}

static gint64
default_int (const BerthHostInfo *host, const gchar *group, const gchar *name)
{
  g_autoptr (JsonNode) defaults = berth_settings_new_defaults (host);
  JsonObject *obj = json_object_get_object_member (json_node_get_object (defaults), group);

  return json_object_get_int_member (obj, name);
}

static void
test_defaults_resources (void)
{
  struct
  {
    guint64 gib;
    guint cpus;
    gint64 memory;
    gint64 numberCPUs;
  } cases[] = {
    { 24, 2, 6, 2 }, { 64, 16, 6, 2 }, { 16, 8, 4, 2 },
    { 8, 4, 2, 2 },  { 10, 4, 3, 2 }, /* 2.5 rounds up to 3 */
    { 2, 1, 1, 1 },                   /* 0.5 rounds up to 1 */
    { 1, 1, 1, 1 },                   /* 0.25 rounds to 0; at least 1 */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      BerthHostInfo host = make_host (cases[i].gib, cases[i].cpus, BERTH_PLATFORM_LINUX, FALSE);
      g_autoptr (JsonNode) defaults = berth_settings_new_defaults (&host);
      g_autoptr (GError) error = NULL;

      g_test_message ("host with %" G_GUINT64_FORMAT " GiB and %u CPUs", cases[i].gib,
                      cases[i].cpus);
      g_assert_cmpint (default_int (&host, "virtualMachine", "memoryInGB"), ==, cases[i].memory);
      g_assert_cmpint (default_int (&host, "virtualMachine", "numberCPUs"), ==,
                       cases[i].numberCPUs);
      /* The defaults always fit the host they were made for. */
      berth_settings_validate (defaults, &host, &error);
      g_assert_no_error (error);
    }
}

static void
test_defaults_values (Fixture *fx, gconstpointer data)
{
  BerthHostInfo host = test_host ();
  g_autoptr (BerthSettings) settings = berth_settings_new (fx->path, &host);
  JsonNode *integrations;

  g_assert_cmpint (berth_settings_get_int (settings, "kubernetes.port"), ==, 6443);
  g_assert_cmpstr (berth_settings_get_string (settings, "containerEngine.name"), ==, "moby");
  g_assert_false (berth_settings_get_boolean (settings, "kubernetes.enabled"));
  g_assert_cmpstr (berth_settings_get_string (settings, "kubernetes.version"), ==, "");
  g_assert_true (berth_settings_get_boolean (settings, "kubernetes.options.traefik"));
  g_assert_true (berth_settings_get_boolean (settings, "kubernetes.options.flannel"));
  g_assert_false (berth_settings_get_boolean (settings, "application.telemetry.enabled"));
  g_assert_false (berth_settings_get_boolean (settings, "application.adminAccess"));
  g_assert_cmpstr (berth_settings_get_string (settings, "application.pathManagementStrategy"), ==,
                   "notset");
  g_assert_cmpstr (berth_settings_get_string (settings, "virtualMachine.accel"), ==, "auto");
  g_assert_cmpstr (berth_settings_get_string (settings, "virtualMachine.mount.type"), ==, "9p");
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.diskSizeGiB"), ==, 100);
  g_assert_cmpstr (berth_settings_get_string (settings, "virtualMachine.image.url"), ==, "");
  g_assert_cmpstr (berth_settings_get_string (settings, "virtualMachine.image.sha256"), ==, "");
  g_assert_cmpstr (berth_settings_get_string (settings, "virtualMachine.caCertificates.file"), ==,
                   "");
  g_assert_true (berth_settings_get_boolean (settings, "virtualMachine.proxy.fromHost"));
  g_assert_true (berth_settings_get_boolean (settings, "images.showAll"));
  g_assert_cmpstr (berth_settings_get_string (settings, "images.namespace"), ==, "k8s.io");
  g_assert_false (
      berth_settings_get_boolean (settings, "portForwarding.includeKubernetesServices"));
  integrations = berth_settings_get_node (settings, "WSL.integrations");
  g_assert_true (JSON_NODE_HOLDS_OBJECT (integrations));
  g_assert_cmpuint (json_object_get_size (json_node_get_object (integrations)), ==, 0);
}

static void
test_defaults_updater (void)
{
  struct
  {
    BerthPlatform platform;
    gboolean bundle;
    gboolean expected;
  } cases[] = {
    { BERTH_PLATFORM_LINUX, FALSE, FALSE },
    { BERTH_PLATFORM_LINUX, TRUE, TRUE },
    { BERTH_PLATFORM_DARWIN, FALSE, TRUE },
    { BERTH_PLATFORM_WINDOWS, FALSE, TRUE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      BerthHostInfo host = make_host (16, 8, cases[i].platform, cases[i].bundle);
      g_autoptr (JsonNode) defaults = berth_settings_new_defaults (&host);
      JsonObject *app
          = json_object_get_object_member (json_node_get_object (defaults), "application");
      JsonObject *updater = json_object_get_object_member (app, "updater");

      g_assert_cmpint (json_object_get_boolean_member (updater, "enabled"), ==, cases[i].expected);
    }
}

static void
test_schema (void)
{
  guint n = 0;
  const BerthSettingSpec *schema = berth_settings_get_schema (&n);
  BerthHostInfo hosts[] = {
    make_host (16, 8, BERTH_PLATFORM_LINUX, FALSE),
    make_host (1, 1, BERTH_PLATFORM_LINUX, FALSE),
    make_host (256, 128, BERTH_PLATFORM_DARWIN, FALSE),
  };
  struct
  {
    const gchar *path;
    BerthSettingEffect effect;
  } effects[] = {
    { "containerEngine.name", BERTH_SETTING_EFFECT_RESTART },
    { "virtualMachine.memoryInGB", BERTH_SETTING_EFFECT_RESTART },
    { "virtualMachine.numberCPUs", BERTH_SETTING_EFFECT_RESTART },
    { "virtualMachine.diskSizeGiB", BERTH_SETTING_EFFECT_RESTART },
    { "virtualMachine.mount.type", BERTH_SETTING_EFFECT_RESTART },
    { "virtualMachine.accel", BERTH_SETTING_EFFECT_RESTART },
    { "virtualMachine.image.url", BERTH_SETTING_EFFECT_RESET },
    { "virtualMachine.image.sha256", BERTH_SETTING_EFFECT_RESET },
    { "virtualMachine.caCertificates.file", BERTH_SETTING_EFFECT_RESTART },
    { "virtualMachine.proxy.fromHost", BERTH_SETTING_EFFECT_RESTART },
    { "kubernetes.enabled", BERTH_SETTING_EFFECT_RESTART },
    { "kubernetes.version", BERTH_SETTING_EFFECT_RESTART },
    { "kubernetes.port", BERTH_SETTING_EFFECT_RESTART },
    { "kubernetes.options.traefik", BERTH_SETTING_EFFECT_RESTART },
    { "application.telemetry.enabled", BERTH_SETTING_EFFECT_NONE },
    { "images.namespace", BERTH_SETTING_EFFECT_NONE },
    { "portForwarding.includeKubernetesServices", BERTH_SETTING_EFFECT_NONE },
    { "WSL.integrations", BERTH_SETTING_EFFECT_NONE },
    { "containerEngine.dockerContext.makeCurrent", BERTH_SETTING_EFFECT_NONE },
  };

  g_assert_cmpuint (n, ==, 30);
  for (gsize h = 0; h < G_N_ELEMENTS (hosts); h++)
    {
      g_autoptr (JsonNode) defaults = berth_settings_new_defaults (&hosts[h]);
      g_autoptr (GError) error = NULL;
      g_autoptr (BerthSettings) settings = berth_settings_new ("unused", &hosts[h]);

      berth_settings_validate (defaults, &hosts[h], &error);
      g_assert_no_error (error);

      for (guint i = 0; i < n; i++)
        {
          const BerthSettingSpec *spec = &schema[i];
          JsonNode *node = berth_settings_get_node (settings, spec->path);

          g_test_message ("%s", spec->path);
          g_assert_nonnull (node);
          g_assert_true (berth_settings_lookup_spec (spec->path) == spec);
          g_assert_nonnull (spec->description);
          g_assert_cmpuint (strlen (spec->description), >, 10);
          switch (spec->type)
            {
            case BERTH_SETTING_BOOLEAN:
              g_assert_cmpint (json_node_get_value_type (node), ==, G_TYPE_BOOLEAN);
              break;
            case BERTH_SETTING_INT:
              g_assert_cmpint (json_node_get_value_type (node), ==, G_TYPE_INT64);
              g_assert_cmpint (spec->min, <=, json_node_get_int (node));
              g_assert_cmpint (json_node_get_int (node), <=, spec->max);
              break;
            case BERTH_SETTING_STRING:
              g_assert_cmpint (json_node_get_value_type (node), ==, G_TYPE_STRING);
              break;
            case BERTH_SETTING_ENUM:
              g_assert_nonnull (spec->choices);
              g_assert_true (g_strv_contains (spec->choices, json_node_get_string (node)));
              break;
            case BERTH_SETTING_STRING_LIST:
              g_assert_true (JSON_NODE_HOLDS_ARRAY (node));
              break;
            case BERTH_SETTING_BOOLEAN_MAP:
              g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
              break;
            default:
              g_assert_not_reached ();
            }
        }
    }

  for (gsize i = 0; i < G_N_ELEMENTS (effects); i++)
    {
      const BerthSettingSpec *spec = berth_settings_lookup_spec (effects[i].path);
      g_assert_nonnull (spec);
      g_test_message ("%s", effects[i].path);
      g_assert_cmpstr (berth_setting_effect_to_string (spec->effect), ==,
                       berth_setting_effect_to_string (effects[i].effect));
    }
  for (guint i = 0; i < n; i++)
    if (g_str_has_prefix (schema[i].path, "application."))
      g_assert_cmpint (schema[i].effect, ==, BERTH_SETTING_EFFECT_NONE);

  g_assert_null (berth_settings_lookup_spec ("virtualMachine"));
  g_assert_null (berth_settings_lookup_spec ("virtualMachine.foo"));
  g_assert_cmpstr (berth_setting_effect_to_string (BERTH_SETTING_EFFECT_RESET), ==, "reset");
}

/* ------------------------------------------------------------------------ */
/* Load                                                                     */
/* ------------------------------------------------------------------------ */

static void
test_first_run (Fixture *fx, gconstpointer data)
{
  BerthHostInfo host = make_host (24, 2, BERTH_PLATFORM_LINUX, FALSE);
  g_autoptr (BerthSettings) settings = NULL;
  g_autoptr (BerthSettings) again = NULL;
  g_autoptr (JsonNode) written = NULL;
  g_autoptr (JsonNode) defaults = berth_settings_new_defaults (&host);
  g_autofree gchar *contents = NULL;
  g_autofree gchar *dir = g_path_get_dirname (fx->path);
  GStatBuf st;
  mode_t old_umask;

  g_assert_false (g_file_test (fx->config_dir, G_FILE_TEST_EXISTS));
  /* The file's mode does not depend on the umask. */
  old_umask = umask (0077);
  settings = load_settings (fx, &host);
  umask (old_umask);

  g_assert_true (berth_settings_is_first_run (settings));
  g_assert_null (berth_settings_get_corrupt_path (settings));
  g_assert_cmpstr (berth_settings_get_path (settings), ==, fx->path);
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.memoryInGB"), ==, 6);

  g_assert_cmpint (g_stat (fx->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0644);
  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  contents = berth_test_read_file (fx->path);
  g_assert_true (g_str_has_suffix (contents, "}\n"));
  written = parse (contents);
  g_assert_true (json_node_equal (written, defaults));

  again = load_settings (fx, &host);
  g_assert_false (berth_settings_is_first_run (again));
  g_assert_cmpint (berth_settings_get_int (again, "virtualMachine.memoryInGB"), ==, 6);
}

static void
test_load_fills_missing_keys (Fixture *fx, gconstpointer data)
{
  const gchar *text = "{ \"version\": 5, \"kubernetes\": { \"port\": 7000 } }";
  BerthHostInfo host = test_host ();
  g_autoptr (BerthSettings) settings = NULL;
  g_autofree gchar *after = NULL;

  write_settings_file (fx, text);
  settings = load_settings (fx, &host);
  g_assert_false (berth_settings_is_first_run (settings));
  g_assert_cmpint (berth_settings_get_int (settings, "kubernetes.port"), ==, 7000);
  g_assert_false (berth_settings_get_boolean (settings, "kubernetes.enabled"));
  g_assert_true (berth_settings_get_boolean (settings, "kubernetes.options.traefik"));
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.memoryInGB"), ==, 4);
  /* A current file is not rewritten just to add defaults. */
  after = berth_test_read_file (fx->path);
  g_assert_cmpstr (after, ==, text);
}

static void
test_load_beyond_host (Fixture *fx, gconstpointer data)
{
  /* A file from a bigger machine loads with its values kept; the host's
   * limits apply to changes (and to starting the VM), not to loading. */
  const gchar *text = "{ \"version\": 5, \"virtualMachine\": { \"memoryInGB\": 64 } }";
  BerthHostInfo host = test_host ();
  g_autoptr (BerthSettings) settings = berth_settings_new (fx->path, &host);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *after = NULL;

  write_settings_file (fx, text);
  g_assert_true (berth_settings_load (settings, &error));
  g_assert_no_error (error);
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.memoryInGB"), ==, 64);
  after = berth_test_read_file (fx->path);
  g_assert_cmpstr (after, ==, text);

  /* Another key can still change; the kept value is not re-judged. */
  g_assert_true (
      berth_settings_update_from_json (settings, "{\"images\":{\"showAll\":false}}", NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.memoryInGB"), ==, 64);

  /* Setting it again, to any value past the host, is refused. */
  g_assert_false (berth_settings_update_from_json (
      settings, "{\"virtualMachine\":{\"memoryInGB\":32}}", NULL, &error));
  assert_error_contains (error, BERTH_ERROR_INVALID_SETTING,
                         (const gchar *[]){ "virtualMachine.memoryInGB: 32 is more than the 16 GiB "
                                            "of memory this host has; allowed: 1 to 16",
                                            NULL });
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.memoryInGB"), ==, 64);
}

static void
test_load_invalid_value (Fixture *fx, gconstpointer data)
{
  const gchar *text = "{ \"version\": 5, \"virtualMachine\": { \"accel\": \"hvf\" } }";
  BerthHostInfo host = test_host ();
  g_autoptr (BerthSettings) settings = berth_settings_new (fx->path, &host);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *after = NULL;
  g_autoptr (GPtrArray) corrupt = NULL;

  write_settings_file (fx, text);
  g_assert_false (berth_settings_load (settings, &error));
  assert_error_contains (error, BERTH_ERROR_INVALID_SETTING,
                         (const gchar *[]){ fx->path, "virtualMachine.accel", "hvf", NULL });
  after = berth_test_read_file (fx->path);
  g_assert_cmpstr (after, ==, text);
  corrupt = list_with_prefix (fx, "settings.json.");
  g_assert_cmpuint (corrupt->len, ==, 0);
}

static void
check_corrupt_moved_aside (Fixture *fx, const gchar *text)
{
  BerthHostInfo host = test_host ();
  g_autoptr (BerthSettings) settings = NULL;
  g_autoptr (GPtrArray) aside = NULL;
  g_autoptr (JsonNode) now = NULL;
  g_autoptr (JsonNode) defaults = berth_settings_new_defaults (&host);
  g_autofree gchar *kept = NULL;
  g_autofree gchar *now_text = NULL;
  g_autofree gchar *basename = NULL;
  const gchar *corrupt_path;

  write_settings_file (fx, text);
  settings = load_settings (fx, &host);

  corrupt_path = berth_settings_get_corrupt_path (settings);
  g_assert_nonnull (corrupt_path);
  basename = g_path_get_basename (corrupt_path);
  g_assert_true (
      g_regex_match_simple ("^settings\\.json\\.corrupt-[0-9]{8}T[0-9]{6}Z$", basename, 0, 0));
  aside = list_with_prefix (fx, "settings.json.corrupt-");
  g_assert_cmpuint (aside->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (aside, 0), ==, basename);

  /* What the person wrote is kept, byte for byte. */
  kept = berth_test_read_file (corrupt_path);
  g_assert_cmpstr (kept, ==, text);

  /* Defaults are in use and on disk. */
  g_assert_false (berth_settings_is_first_run (settings));
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.memoryInGB"), ==, 4);
  now_text = berth_test_read_file (fx->path);
  now = parse (now_text);
  g_assert_true (json_node_equal (now, defaults));
}

static void
test_load_corrupt (Fixture *fx, gconstpointer data)
{
  g_autofree gchar *text = berth_test_read_fixture ("settings", "corrupt.json", NULL);
  check_corrupt_moved_aside (fx, text);
}

static void
test_load_not_an_object (Fixture *fx, gconstpointer data)
{
  check_corrupt_moved_aside (fx, "[ \"version\", 5 ]\n");
}

static void
test_load_too_deep (Fixture *fx, gconstpointer data)
{
  g_autoptr (GString) text = g_string_new (NULL);

  for (guint i = 0; i < 100000; i++)
    g_string_append_c (text, '[');
  check_corrupt_moved_aside (fx, text->str);
}

static void
test_load_newer_version (Fixture *fx, gconstpointer data)
{
  g_autofree gchar *text = berth_test_read_fixture ("settings", "newer.json", NULL);
  BerthHostInfo host = test_host ();
  g_autoptr (BerthSettings) settings = berth_settings_new (fx->path, &host);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *after = NULL;
  g_autoptr (GPtrArray) others = NULL;

  write_settings_file (fx, text);
  g_assert_false (berth_settings_load (settings, &error));
  assert_error_contains (
      error, BERTH_ERROR_NOT_SUPPORTED,
      (const gchar *[]){
          fx->path,
          "settings.json is version 9, written by a newer Berth; this Berth reads up "
          "to version 5",
          NULL });
  after = berth_test_read_file (fx->path);
  g_assert_cmpstr (after, ==, text);
  others = list_with_prefix (fx, "settings.json.");
  g_assert_cmpuint (others->len, ==, 0);
  g_assert_null (berth_settings_get_corrupt_path (settings));
}

static void
test_load_unrecognised_shape (Fixture *fx, gconstpointer data)
{
  const gchar *text = "{ \"memory\": 4 }\n";
  BerthHostInfo host = test_host ();
  g_autoptr (BerthSettings) settings = berth_settings_new (fx->path, &host);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *after = NULL;

  write_settings_file (fx, text);
  g_assert_false (berth_settings_load (settings, &error));
  assert_error_contains (error, BERTH_ERROR_INVALID_SETTING,
                         (const gchar *[]){ "no \"version\"",
                                            "do not look like an early Rancher Desktop file",
                                            NULL });
  after = berth_test_read_file (fx->path);
  g_assert_cmpstr (after, ==, text);
}

/* A crash while writing leaves a stale temporary file behind; it is not
 * settings.json and must not be read as such, and the next start removes
 * it (and only it). */
static void
test_load_removes_stale_temporary (Fixture *fx, gconstpointer data)
{
  BerthHostInfo host = test_host ();
  g_autoptr (BerthSettings) settings = NULL;
  g_autofree gchar *stale = g_strconcat (fx->path, ".tmp-Q1w2E3", NULL);
  g_autofree gchar *stale2 = g_strconcat (fx->path, ".tmp-000000", NULL);
  g_autofree gchar *kept = g_strconcat (fx->path, ".tmp-backup-of-mine", NULL);
  g_autofree gchar *kept2 = g_strconcat (fx->path, ".backup", NULL);

  write_settings_file (fx, "{ \"version\": 5, \"virtualMachine\": { \"memoryInGB\": 3 } }");
  berth_test_write_file (stale, "{ \"version\": 5, \"virtualMachine\": { \"memo", 0644);
  berth_test_write_file (stale2, "", 0600);
  berth_test_write_file (kept, "mine", 0644);
  berth_test_write_file (kept2, "mine too", 0644);

  settings = load_settings (fx, &host);
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.memoryInGB"), ==, 3);
  g_assert_null (berth_settings_get_corrupt_path (settings));
  g_assert_false (g_file_test (stale, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (stale2, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (kept, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (kept2, G_FILE_TEST_EXISTS));
}

/* Accepted must mean it loads again: an update that would make the file
 * larger than load reads is refused, naming the value, and nothing is
 * written. */
static void
test_update_too_large (Fixture *fx, gconstpointer data)
{
  BerthHostInfo host = test_host ();
  g_autoptr (BerthSettings) settings = load_settings (fx, &host);
  g_autoptr (BerthSettings) reloaded = NULL;
  g_autoptr (GString) plugins = g_string_new ("{\"application\":{\"disabledPlugins\":[");
  g_autoptr (GString) integrations = g_string_new ("{\"WSL\":{\"integrations\":{");
  g_autofree gchar *long_string = g_strnfill (4000, 'p');
  g_autofree gchar *before = NULL;
  g_autofree gchar *after = NULL;
  g_autoptr (GError) error = NULL;
  JsonNode *list;

  /* About 0.6 MB each: one fits, both do not. */
  for (guint i = 0; i < 150; i++)
    {
      g_string_append_printf (plugins, "%s\"%u%s\"", i > 0 ? "," : "", i, long_string);
      g_string_append_printf (integrations, "%s\"%u%s\":true", i > 0 ? "," : "", i, long_string);
    }
  g_string_append (plugins, "]}}");
  g_string_append (integrations, "}}}");
  g_assert_true (
      berth_settings_update_from_json (settings, "{\"kubernetes\":{\"port\":6444}}", NULL, &error));
  g_assert_true (berth_settings_update_from_json (settings, plugins->str, NULL, &error));
  g_assert_no_error (error);
  before = berth_test_read_file (fx->path);

  g_assert_false (berth_settings_update_from_json (settings, integrations->str, NULL, &error));
  assert_error_contains (error, BERTH_ERROR_INVALID_SETTING,
                         (const gchar *[]){ "WSL.integrations: with this value",
                                            "more than the 1048576", fx->path, NULL });
  after = berth_test_read_file (fx->path);
  g_assert_cmpstr (after, ==, before);
  list = berth_settings_get_node (settings, "WSL.integrations");
  g_assert_cmpuint (json_object_get_size (json_node_get_object (list)), ==, 0);

  /* What was accepted loads again, every setting with it. */
  reloaded = load_settings (fx, &host);
  g_assert_null (berth_settings_get_corrupt_path (reloaded));
  g_assert_cmpint (berth_settings_get_int (reloaded, "kubernetes.port"), ==, 6444);
  list = berth_settings_get_node (reloaded, "application.disabledPlugins");
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 150);
}

/* Only RFC 8259 JSON: what json-glib alone reads as another value is
 * refused, from an update and from the file, and nothing is stored. */
static void
test_update_strict_json (Fixture *fx, gconstpointer data)
{
  static const struct
  {
    const gchar *json;
    const gchar *message;
  } cases[] = {
    { "{\"kubernetes\":{\"port\":06443}}", "JSON has no octal" },
    { "{\"kubernetes\":{\"port\":0x1F}}", "0x1F is not a JSON number" },
    { "{\"kubernetes\":{\"port\":-18446744073709551612}}",
      "at kubernetes.port: the number -18446744073709551612 does not fit" },
    { "{/* comment */\"kubernetes\":{\"port\":6444}}", "JSON has no comments" },
    { "{\"images\":{\"namespace\":\"\\x6b8s.io\"}}", "not a JSON escape" },
    { "{\"images\":{\"namespace\":\"k8s\\u0000io\"}}", "at images.namespace: a string holds "
                                                       "\\u0000" },
  };
  BerthHostInfo host = test_host ();
  g_autoptr (BerthSettings) settings = load_settings (fx, &host);
  g_autofree gchar *before = berth_test_read_file (fx->path);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (BerthSettings) from_file = berth_settings_new (fx->path, &host);
      g_autofree gchar *after = NULL;

      g_assert_false (berth_settings_update_from_json (settings, cases[i].json, NULL, &error));
      assert_error_contains (
          error, BERTH_ERROR_INVALID_DATA,
          (const gchar *[]){ "the settings update is not valid JSON", cases[i].message, NULL });
      after = berth_test_read_file (fx->path);
      g_assert_cmpstr (after, ==, before);

      /* In the file: not read as another value, but kept aside as
       * unreadable, with defaults in its place. */
      g_clear_error (&error);
      write_settings_file (fx, cases[i].json);
      g_assert_true (berth_settings_load (from_file, &error));
      g_assert_no_error (error);
      g_assert_nonnull (berth_settings_get_corrupt_path (from_file));
      g_assert_cmpint (berth_settings_get_int (from_file, "kubernetes.port"), ==, 6443);
      g_assert_cmpstr (berth_settings_get_string (from_file, "images.namespace"), ==, "k8s.io");
      g_unlink (berth_settings_get_corrupt_path (from_file));
      write_settings_file (fx, before);
    }
}

/* Every control character a string may hold is written escaped, and the
 * file loads again with the same values: json-glib's generator wrote U+001F
 * raw, the file no longer parsed, and the next start moved it aside and
 * began again from defaults. */
static void
test_update_control_characters (Fixture *fx, gconstpointer data)
{
  BerthHostInfo host = test_host ();
  g_autoptr (BerthSettings) settings = load_settings (fx, &host);
  g_autoptr (BerthSettings) again = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) update = g_string_new ("{\"application\": {\"disabledPlugins\": [");
  g_autoptr (JsonNode) before_reload = NULL;
  g_autoptr (JsonNode) after_reload = NULL;
  g_autofree gchar *text = NULL;
  JsonArray *plugins;

  for (guint c = 1; c < 0x20; c++)
    g_string_append_printf (update, "%s\"a\\u%04xb\"", c > 1 ? ", " : "", c);
  g_string_append (update, "]}, \"WSL\": {\"integrations\": {\"x\\u001fy\": true}}}");
  g_assert_true (berth_settings_update_from_json (settings, update->str, NULL, &error));
  g_assert_no_error (error);

  text = berth_test_read_file (fx->path);
  for (const gchar *p = text; *p != '\0'; p++)
    if ((guchar)*p < 0x20 && *p != '\n')
      g_error ("settings.json holds U+%04X unescaped", (guint)(guchar)*p);

  again = load_settings (fx, &host);
  g_assert_null (berth_settings_get_corrupt_path (again));
  plugins = json_node_get_array (berth_settings_get_node (again, "application.disabledPlugins"));
  g_assert_cmpuint (json_array_get_length (plugins), ==, 0x1f);
  for (guint c = 1; c < 0x20; c++)
    {
      const gchar *value = json_array_get_string_element (plugins, c - 1);

      g_assert_cmpuint (strlen (value), ==, 3);
      g_assert_cmpint (value[1], ==, (gchar)c);
    }
  g_assert_true (json_object_get_boolean_member (
      json_node_get_object (berth_settings_get_node (again, "WSL.integrations")), "x\x1fy"));
  before_reload = berth_settings_dup_node (settings);
  after_reload = berth_settings_dup_node (again);
  g_assert_true (json_node_equal (after_reload, before_reload));
}

/* Only a regular file is read: a FIFO would block berthd forever, and a
 * link to /dev/zero would read until memory ran out. Either is reported
 * and left alone. */
static void
test_load_not_regular (Fixture *fx, gconstpointer data)
{
  BerthHostInfo host = test_host ();
  g_autofree gchar *dir = g_path_get_dirname (fx->path);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_cmpint (mkfifo (fx->path, 0600), ==, 0);
  {
    g_autoptr (BerthSettings) settings = berth_settings_new (fx->path, &host);
    g_autoptr (GError) error = NULL;
    GStatBuf st;

    g_assert_false (berth_settings_load (settings, &error));
    assert_error_contains (
        error, BERTH_ERROR_INVALID_DATA,
        (const gchar *[]){ fx->path, "is a FIFO (named pipe)", "only from a regular file", NULL });
    g_assert_cmpint (g_lstat (fx->path, &st), ==, 0);
    g_assert_true (S_ISFIFO (st.st_mode));
  }
  g_assert_cmpint (g_unlink (fx->path), ==, 0);

  g_assert_cmpint (symlink ("/dev/zero", fx->path), ==, 0);
  {
    g_autoptr (BerthSettings) settings = berth_settings_new (fx->path, &host);
    g_autoptr (GError) error = NULL;
    g_autofree gchar *target = NULL;

    g_assert_false (berth_settings_load (settings, &error));
    assert_error_contains (error, BERTH_ERROR_INVALID_DATA,
                           (const gchar *[]){ "is a character device", NULL });
    target = g_file_read_link (fx->path, NULL);
    g_assert_cmpstr (target, ==, "/dev/zero");
  }
}

/* A settings.json that is a symbolic link (a dotfile manager's) stays one:
 * writes go to the file it leads to. A dangling one is reported, not
 * replaced by defaults. */
static void
test_symlinked_file (Fixture *fx, gconstpointer data)
{
  BerthHostInfo host = test_host ();
  g_autofree gchar *dir = g_path_get_dirname (fx->path);
  g_autofree gchar *dotfiles = g_build_filename (fx->dir, "dotfiles", NULL);
  g_autofree gchar *real = g_build_filename (dotfiles, "berth-settings.json", NULL);
  g_autofree gchar *link_target = NULL;
  g_autofree gchar *text = NULL;
  g_autoptr (GPtrArray) leftovers = NULL;
  GStatBuf st;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (dotfiles, 0700), ==, 0);
  berth_test_write_file (real, "{ \"version\": 5, \"virtualMachine\": { \"memoryInGB\": 3 } }",
                         0644);
  /* Relative, as dotfile managers make them. */
  g_assert_cmpint (symlink ("../../dotfiles/berth-settings.json", fx->path), ==, 0);
  {
    g_autoptr (BerthSettings) settings = load_settings (fx, &host);
    g_autoptr (GError) error = NULL;

    g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.memoryInGB"), ==, 3);
    g_assert_true (berth_settings_update_from_json (
        settings, "{\"virtualMachine\":{\"memoryInGB\":2}}", NULL, &error));
    g_assert_no_error (error);
  }
  g_assert_cmpint (g_lstat (fx->path, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  link_target = g_file_read_link (fx->path, NULL);
  g_assert_cmpstr (link_target, ==, "../../dotfiles/berth-settings.json");
  text = berth_test_read_file (real);
  g_assert_nonnull (strstr (text, "\"memoryInGB\" : 2"));
  leftovers = list_with_prefix (fx, "settings.json.");
  g_assert_cmpuint (leftovers->len, ==, 0);

  /* Dangling: an error naming both, and the link left as it is. */
  g_assert_cmpint (g_unlink (real), ==, 0);
  {
    g_autoptr (BerthSettings) settings = berth_settings_new (fx->path, &host);
    g_autoptr (GError) error = NULL;

    g_assert_false (berth_settings_load (settings, &error));
    assert_error_contains (error, BERTH_ERROR_NOT_FOUND,
                           (const gchar *[]){ fx->path,
                                              "is a symbolic link to "
                                              "../../dotfiles/berth-settings.json, "
                                              "which does not exist",
                                              NULL });
  }
  g_assert_cmpint (g_lstat (fx->path, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  g_assert_false (g_file_test (real, G_FILE_TEST_EXISTS));
}

static void
die_before_rename (const gchar *tmp_path, gpointer user_data)
{
  _exit (42);
}

static void
test_crash_before_rename (Fixture *fx, gconstpointer data)
{
  BerthHostInfo host = test_host ();
  g_autoptr (BerthSettings) settings = load_settings (fx, &host);
  g_autoptr (BerthSettings) reloaded = NULL;
  g_autofree gchar *before = berth_test_read_file (fx->path);
  g_autofree gchar *after = NULL;
  g_autofree gchar *tmp_text = NULL;
  g_autofree gchar *tmp_path = NULL;
  g_autoptr (GPtrArray) tmps = NULL;
  g_autofree gchar *dir = g_path_get_dirname (fx->path);
  int status = 0;
  pid_t pid;

  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.memoryInGB"), ==, 4);

  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      /* The child writes the new settings and dies just before the rename. */
      berth_file_set_before_rename_hook (die_before_rename, NULL);
      berth_settings_update_from_json (settings, "{\"virtualMachine\":{\"memoryInGB\":3}}", NULL,
                                       NULL);
      _exit (1);
    }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 42);

  /* The new settings reached the temporary file, complete... */
  tmps = list_with_prefix (fx, "settings.json.tmp-");
  g_assert_cmpuint (tmps->len, ==, 1);
  tmp_path = g_build_filename (dir, g_ptr_array_index (tmps, 0), NULL);
  tmp_text = berth_test_read_file (tmp_path);
  g_assert_nonnull (strstr (tmp_text, "\"memoryInGB\" : 3"));

  /* ...and the old file is whole and still what loads. */
  after = berth_test_read_file (fx->path);
  g_assert_cmpstr (after, ==, before);
  reloaded = load_settings (fx, &host);
  g_assert_cmpint (berth_settings_get_int (reloaded, "virtualMachine.memoryInGB"), ==, 4);
  g_assert_null (berth_settings_get_corrupt_path (reloaded));
}

/* ------------------------------------------------------------------------ */
/* Migrations                                                               */
/* ------------------------------------------------------------------------ */

static void
assert_json_equal (JsonNode *actual, const gchar *expected_json)
{
  g_autoptr (JsonNode) expected = parse (expected_json);

  if (!json_node_equal (actual, expected))
    {
      g_autofree gchar *a = json_to_string (actual, TRUE);
      g_autofree gchar *e = json_to_string (expected, TRUE);
      g_error ("JSON differs:\nactual: %s\nexpected: %s", a, e);
    }
}

static void
run_step (const gchar *input, gint64 from, const gchar *expected)
{
  g_autoptr (JsonNode) root = parse (input);
  g_autoptr (GError) error = NULL;

  berth_settings_migrate_step (json_node_get_object (root), from, &error);
  g_assert_no_error (error);
  assert_json_equal (root, expected);
}

static void
test_migrate_1_to_2 (void)
{
  run_step ("{\"version\":1,\"kubernetes\":{\"rancherMode\":true,\"memoryInGB\":4,"
            "\"containerEngine\":\"\"},\"telemetry\":false}",
            1,
            "{\"version\":2,\"kubernetes\":{\"memoryInGB\":4,\"containerEngine\":\"\"},"
            "\"telemetry\":false}");
  /* Nothing to drop: only the version moves. */
  run_step ("{\"version\":1,\"kubernetes\":{\"port\":6443}}", 1,
            "{\"version\":2,\"kubernetes\":{\"port\":6443}}");
}

static void
test_migrate_2_to_3 (void)
{
  run_step ("{\"version\":2,\"kubernetes\":{\"containerEngine\":\"\",\"port\":6443}}", 2,
            "{\"version\":3,\"kubernetes\":{\"containerEngine\":\"containerd\",\"port\":6443}}");
  /* Before the engine could be chosen, it was containerd. */
  run_step ("{\"version\":2,\"kubernetes\":{\"memoryInGB\":4}}", 2,
            "{\"version\":3,\"kubernetes\":{\"memoryInGB\":4,\"containerEngine\":\"containerd\"}}");
  run_step ("{\"version\":2,\"kubernetes\":{\"containerEngine\":\"moby\"}}", 2,
            "{\"version\":3,\"kubernetes\":{\"containerEngine\":\"moby\"}}");
}

static void
test_migrate_3_to_4 (void)
{
  g_autoptr (JsonNode) unknown = NULL;
  g_autoptr (JsonNode) wrong_type = NULL;
  g_autoptr (GError) error = NULL;
  const gchar *unknown_json = "{\"version\":3,\"kubernetes\":{\"port\":6443,"
                              "\"hostResolver\":true},\"telemetry\":true}";

  run_step ("{\"version\":3,"
            "\"kubernetes\":{\"version\":\"1.23.6\",\"memoryInGB\":3,\"numberCPUs\":5,"
            "\"port\":6444,\"containerEngine\":\"moby\",\"suppressSudo\":true,"
            "\"rancherMode\":false},"
            "\"portForwarding\":{\"includeKubernetesServices\":true},"
            "\"images\":{\"showAll\":false,\"namespace\":\"default\"},"
            "\"telemetry\":false,\"updater\":true,\"debug\":true,"
            "\"pathManagementStrategy\":\"rcfiles\"}",
            3,
            "{\"version\":4,"
            "\"kubernetes\":{\"version\":\"1.23.6\",\"port\":6444},"
            "\"virtualMachine\":{\"memoryInGB\":3,\"numberCPUs\":5},"
            "\"containerEngine\":{\"name\":\"moby\"},"
            "\"application\":{\"adminAccess\":false,\"telemetry\":{\"enabled\":false},"
            "\"updater\":{\"enabled\":true},\"debug\":true,"
            "\"pathManagementStrategy\":\"rcfiles\"},"
            "\"portForwarding\":{\"includeKubernetesServices\":true},"
            "\"images\":{\"showAll\":false,\"namespace\":\"default\"}}");
  run_step ("{\"version\":3,\"kubernetes\":{\"suppressSudo\":false}}", 3,
            "{\"version\":4,\"application\":{\"adminAccess\":true}}");

  /* A key the migration does not know is refused by name, and the step
   * leaves the object as it was. */
  unknown = parse (unknown_json);
  g_assert_false (berth_settings_migrate_step (json_node_get_object (unknown), 3, &error));
  assert_error_contains (error, BERTH_ERROR_INVALID_SETTING,
                         (const gchar *[]){ "cannot migrate from version 3",
                                            "\"kubernetes.hostResolver\" is not a setting", NULL });
  assert_json_equal (unknown, unknown_json);
  g_clear_error (&error);

  wrong_type = parse ("{\"version\":3,\"telemetry\":\"yes\"}");
  g_assert_false (berth_settings_migrate_step (json_node_get_object (wrong_type), 3, &error));
  assert_error_contains (error, BERTH_ERROR_INVALID_SETTING,
                         (const gchar *[]){ "cannot migrate from version 3: telemetry: expected a "
                                            "boolean (true or false), got \"yes\"",
                                            NULL });
}

static void
test_migrate_4_to_5 (void)
{
  /* An existing cluster stays on, and the version gains its "v". */
  run_step ("{\"version\":4,\"kubernetes\":{\"version\":\"1.23.6\",\"port\":6444}}", 4,
            "{\"version\":5,\"kubernetes\":{\"version\":\"v1.23.6\",\"port\":6444,"
            "\"enabled\":true}}");
  run_step ("{\"version\":4,\"kubernetes\":{\"version\":\"v1.30.1+k3s1\"}}", 4,
            "{\"version\":5,\"kubernetes\":{\"version\":\"v1.30.1+k3s1\",\"enabled\":true}}");
  /* The default version also ran Kubernetes. */
  run_step ("{\"version\":4,\"kubernetes\":{\"version\":\"\"}}", 4,
            "{\"version\":5,\"kubernetes\":{\"version\":\"\",\"enabled\":true}}");
  /* No Kubernetes version, no Kubernetes to keep on. */
  run_step ("{\"version\":4,\"kubernetes\":{\"port\":6444}}", 4,
            "{\"version\":5,\"kubernetes\":{\"port\":6444}}");
  run_step ("{\"version\":4,\"kubernetes\":{\"version\":\"v1.2.3\",\"enabled\":false}}", 4,
            "{\"version\":5,\"kubernetes\":{\"version\":\"v1.2.3\",\"enabled\":false}}");
}

static void
test_migrate_version_checks (void)
{
  struct
  {
    const gchar *json;
    gint code;
    const gchar *message;
  } refused[] = {
    { "{\"version\":6}", BERTH_ERROR_NOT_SUPPORTED,
      "settings.json is version 6, written by a newer Berth; this Berth reads up to version 5" },
    { "{\"application\":{\"debug\":true}}", BERTH_ERROR_INVALID_SETTING,
      "the settings have no \"version\" and do not look like an early Rancher Desktop file" },
    { "{\"version\":\"5\",\"kubernetes\":{\"port\":1}}", BERTH_ERROR_INVALID_SETTING,
      "version: expected an integer from 1 to 5, got \"5\"" },
    { "{\"version\":0}", BERTH_ERROR_INVALID_SETTING,
      "version: expected an integer from 1 to 5, got 0" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr (JsonNode) root = parse (refused[i].json);
      g_autoptr (GError) error = NULL;

      g_test_message ("%s", refused[i].json);
      g_assert_false (berth_settings_migrate (json_node_get_object (root), &error));
      assert_error_contains (error, refused[i].code, (const gchar *[]){ refused[i].message, NULL });
      assert_json_equal (root, refused[i].json);
    }

  {
    /* No usable version, but the early shape: read as version 1. */
    g_autoptr (JsonNode) root = parse ("{\"version\":\"1\",\"kubernetes\":{\"memoryInGB\":2}}");
    g_autoptr (GError) error = NULL;

    berth_settings_migrate (json_node_get_object (root), &error);
    g_assert_no_error (error);
    assert_json_equal (root, "{\"version\":5,\"virtualMachine\":{\"memoryInGB\":2},"
                             "\"containerEngine\":{\"name\":\"containerd\"}}");
  }
}

/* A Rancher Desktop version-3 file with a non-default value in every key,
 * loaded end to end. */
static void
test_migrate_rd_v3_file (Fixture *fx, gconstpointer data)
{
  g_autofree gchar *text = berth_test_read_fixture ("settings", "rd-v3.json", NULL);
  BerthHostInfo host = test_host ();
  g_autoptr (BerthSettings) settings = NULL;
  g_autoptr (BerthSettings) reloaded = NULL;
  g_autoptr (JsonNode) written = NULL;
  g_autoptr (JsonNode) current = NULL;
  g_autofree gchar *written_text = NULL;
  g_autofree gchar *rewritten_text = NULL;
  g_autofree gchar *version = NULL;
  g_autofree gchar *telemetry = NULL;

  write_settings_file (fx, text);
  settings = load_settings (fx, &host);
  g_assert_false (berth_settings_is_first_run (settings));

  g_assert_cmpstr (berth_settings_get_string (settings, "kubernetes.version"), ==, "v1.23.6");
  g_assert_true (berth_settings_get_boolean (settings, "kubernetes.enabled"));
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.memoryInGB"), ==, 3);
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.numberCPUs"), ==, 3);
  g_assert_cmpint (berth_settings_get_int (settings, "kubernetes.port"), ==, 6444);
  g_assert_cmpstr (berth_settings_get_string (settings, "containerEngine.name"), ==, "containerd");
  g_assert_true (berth_settings_get_boolean (settings, "application.adminAccess"));
  g_assert_true (berth_settings_get_boolean (settings, "portForwarding.includeKubernetesServices"));
  g_assert_false (berth_settings_get_boolean (settings, "images.showAll"));
  g_assert_cmpstr (berth_settings_get_string (settings, "images.namespace"), ==, "default");
  g_assert_false (berth_settings_get_boolean (settings, "application.telemetry.enabled"));
  g_assert_true (berth_settings_get_boolean (settings, "application.updater.enabled"));
  g_assert_true (berth_settings_get_boolean (settings, "application.debug"));
  g_assert_cmpstr (berth_settings_get_string (settings, "application.pathManagementStrategy"), ==,
                   "manual");
  /* What the old file did not have takes its default. */
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.diskSizeGiB"), ==, 100);
  g_assert_true (berth_settings_get_boolean (settings, "kubernetes.options.traefik"));

  /* The migrated settings were written back as version 5... */
  written_text = berth_test_read_file (fx->path);
  written = parse (written_text);
  version = member_string (written, NULL, "version");
  g_assert_cmpstr (version, ==, "5");
  telemetry = json_to_string (
      json_object_get_member (
          json_object_get_object_member (
              json_object_get_object_member (json_node_get_object (written), "application"),
              "telemetry"),
          "enabled"),
      FALSE);
  g_assert_cmpstr (telemetry, ==, "false");
  current = berth_settings_dup_node (settings);
  g_assert_true (json_node_equal (written, current));

  /* ...and read back as they are, without another rewrite. */
  reloaded = load_settings (fx, &host);
  g_assert_cmpint (berth_settings_get_int (reloaded, "kubernetes.port"), ==, 6444);
  rewritten_text = berth_test_read_file (fx->path);
  g_assert_cmpstr (rewritten_text, ==, written_text);
}

static void
test_migrate_rd_unversioned_file (Fixture *fx, gconstpointer data)
{
  g_autofree gchar *text = berth_test_read_fixture ("settings", "rd-v1-unversioned.json", NULL);
  BerthHostInfo host = test_host ();
  g_autoptr (BerthSettings) settings = NULL;

  write_settings_file (fx, text);
  settings = load_settings (fx, &host);
  g_assert_cmpstr (berth_settings_get_string (settings, "kubernetes.version"), ==, "v1.19.2");
  g_assert_true (berth_settings_get_boolean (settings, "kubernetes.enabled"));
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.memoryInGB"), ==, 2);
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.numberCPUs"), ==, 4);
  g_assert_cmpstr (berth_settings_get_string (settings, "containerEngine.name"), ==, "containerd");
  g_assert_false (berth_settings_get_boolean (settings, "application.updater.enabled"));
  g_assert_false (berth_settings_get_boolean (settings, "application.telemetry.enabled"));
}

/* ------------------------------------------------------------------------ */
/* Validation and updates                                                   */
/* ------------------------------------------------------------------------ */

typedef struct
{
  guint count;
  gchar **paths;
} ChangedRecord;

static void
on_changed (BerthSettings *settings, GStrv paths, ChangedRecord *record)
{
  record->count++;
  g_strfreev (record->paths);
  record->paths = g_strdupv (paths);
}

static gchar *
long_string_update (const gchar *group, const gchar *key, gsize length)
{
  g_autofree gchar *value = g_strnfill (length, 'a');
  return g_strdup_printf ("{\"%s\":{\"%s\":\"%s\"}}", group, key, value);
}

static gchar *
long_list_update (guint n)
{
  g_autoptr (GString) s = g_string_new ("{\"application\":{\"disabledPlugins\":[");

  for (guint i = 0; i < n; i++)
    g_string_append_printf (s, "%s\"p%u\"", i > 0 ? "," : "", i);
  g_string_append (s, "]}}");
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static gchar *
deep_update (guint depth)
{
  g_autoptr (GString) s = g_string_new (NULL);

  for (guint i = 0; i < depth; i++)
    g_string_append (s, "{\"a\":");
  g_string_append (s, "1");
  for (guint i = 0; i < depth; i++)
    g_string_append_c (s, '}');
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
test_validation_messages (Fixture *fx, gconstpointer data)
{
  BerthHostInfo host = test_host ();
  g_autoptr (BerthSettings) settings = load_settings (fx, &host);
  g_autofree gchar *before = berth_test_read_file (fx->path);
  g_autofree gchar *long_version = long_string_update ("kubernetes", "version", 5000);
  g_autofree gchar *long_list = long_list_update (1001);
  g_autofree gchar *too_deep = deep_update (40);
  ChangedRecord record = { 0 };
  struct
  {
    const gchar *update;
    gint code;
    const gchar *message;
  } cases[] = {
    /* types */
    { "{\"virtualMachine\":{\"memoryInGB\":\"four\"}}", BERTH_ERROR_INVALID_SETTING,
      "virtualMachine.memoryInGB: expected an integer, got \"four\"" },
    { "{\"virtualMachine\":{\"memoryInGB\":4.5}}", BERTH_ERROR_INVALID_SETTING,
      "virtualMachine.memoryInGB: expected an integer, got 4.5" },
    { "{\"application\":{\"debug\":\"yes\"}}", BERTH_ERROR_INVALID_SETTING,
      "application.debug: expected a boolean (true or false), got \"yes\"" },
    { "{\"images\":{\"showAll\":null}}", BERTH_ERROR_INVALID_SETTING,
      "images.showAll: expected a boolean (true or false), got null" },
    { "{\"kubernetes\":{\"version\":3}}", BERTH_ERROR_INVALID_SETTING,
      "kubernetes.version: expected a string, got 3" },
    { "{\"application\":{\"disabledPlugins\":\"lima\"}}", BERTH_ERROR_INVALID_SETTING,
      "application.disabledPlugins: expected a list of strings, got \"lima\"" },
    { "{\"application\":{\"disabledPlugins\":[\"lima\",3]}}", BERTH_ERROR_INVALID_SETTING,
      "application.disabledPlugins[1]: expected a string, got 3" },
    { "{\"WSL\":{\"integrations\":{\"Ubuntu-22.04\":\"yes\"}}}", BERTH_ERROR_INVALID_SETTING,
      "WSL.integrations[\"Ubuntu-22.04\"]: expected a boolean (true or false), got \"yes\"" },
    { "{\"WSL\":{\"integrations\":[]}}", BERTH_ERROR_INVALID_SETTING,
      "WSL.integrations: expected an object of names to true or false, got a list" },
    { "{\"kubernetes\":5}", BERTH_ERROR_INVALID_SETTING, "kubernetes: expected an object, got 5" },
    { "{\"virtualMachine\":{\"mount\":\"9p\"}}", BERTH_ERROR_INVALID_SETTING,
      "virtualMachine.mount: expected an object, got \"9p\"" },
    /* ranges, with the host's limits */
    { "{\"virtualMachine\":{\"memoryInGB\":17}}", BERTH_ERROR_INVALID_SETTING,
      "virtualMachine.memoryInGB: 17 is more than the 16 GiB of memory this host has; allowed: 1 "
      "to 16 (this host's limit)" },
    { "{\"virtualMachine\":{\"memoryInGB\":0}}", BERTH_ERROR_INVALID_SETTING,
      "virtualMachine.memoryInGB: 0 is out of range; allowed: 1 to 16" },
    { "{\"virtualMachine\":{\"numberCPUs\":9}}", BERTH_ERROR_INVALID_SETTING,
      "virtualMachine.numberCPUs: 9 is more than the 8 CPUs this host has; allowed: 1 to 8 (this "
      "host's limit)" },
    { "{\"virtualMachine\":{\"numberCPUs\":-1}}", BERTH_ERROR_INVALID_SETTING,
      "virtualMachine.numberCPUs: -1 is out of range; allowed: 1 to 8" },
    { "{\"virtualMachine\":{\"diskSizeGiB\":5}}", BERTH_ERROR_INVALID_SETTING,
      "virtualMachine.diskSizeGiB: 5 is out of range; allowed: 10 to 2048" },
    { "{\"kubernetes\":{\"port\":70000}}", BERTH_ERROR_INVALID_SETTING,
      "kubernetes.port: 70000 is out of range; allowed: 1 to 65535" },
    /* enums */
    { "{\"containerEngine\":{\"name\":\"docker\"}}", BERTH_ERROR_INVALID_SETTING,
      "containerEngine.name: \"docker\" is not allowed; expected one of moby, containerd" },
    { "{\"virtualMachine\":{\"accel\":1}}", BERTH_ERROR_INVALID_SETTING,
      "virtualMachine.accel: expected one of auto, kvm, tcg, got 1" },
    { "{\"virtualMachine\":{\"mount\":{\"type\":\"nfs\"}}}", BERTH_ERROR_INVALID_SETTING,
      "virtualMachine.mount.type: \"nfs\" is not allowed; expected one of 9p, reverse-sshfs" },
    { "{\"application\":{\"pathManagementStrategy\":\"auto\"}}", BERTH_ERROR_INVALID_SETTING,
      "application.pathManagementStrategy: \"auto\" is not allowed; expected one of notset, "
      "manual, rcfiles" },
    /* unknown keys */
    { "{\"virtualMachine\":{\"foo\":1}}", BERTH_ERROR_INVALID_SETTING,
      "unknown setting \"virtualMachine.foo\"; known settings under virtualMachine: memoryInGB, "
      "numberCPUs, diskSizeGiB, accel, mount, image" },
    { "{\"virtualMachine\":{\"memoryInGb\":4}}", BERTH_ERROR_INVALID_SETTING,
      "unknown setting \"virtualMachine.memoryInGb\"; did you mean "
      "\"virtualMachine.memoryInGB\"?" },
    { "{\"kubernetes\":{\"options\":{\"traefic\":false}}}", BERTH_ERROR_INVALID_SETTING,
      "unknown setting \"kubernetes.options.traefic\"; did you mean "
      "\"kubernetes.options.traefik\"?" },
    { "{\"telemetry\":false}", BERTH_ERROR_INVALID_SETTING,
      "unknown setting \"telemetry\"; known settings at the top level: application, "
      "containerEngine, virtualMachine, kubernetes, portForwarding, images, WSL" },
    { "{\"kubernetes.port\":7000}", BERTH_ERROR_INVALID_SETTING,
      "unknown setting \"kubernetes.port\"" },
    /* string rules */
    { "{\"kubernetes\":{\"version\":\"1.30.1\"}}", BERTH_ERROR_INVALID_SETTING,
      "kubernetes.version: \"1.30.1\" is not a Kubernetes version; use \"\" for the default, or "
      "a version like \"v1.30.1\" or \"v1.30.1+k3s1\"" },
    { "{\"kubernetes\":{\"version\":\"v1.30\"}}", BERTH_ERROR_INVALID_SETTING,
      "kubernetes.version: \"v1.30\" is not a Kubernetes version" },
    { "{\"kubernetes\":{\"version\":\"v1.30.1+k3s\"}}", BERTH_ERROR_INVALID_SETTING,
      "kubernetes.version: \"v1.30.1+k3s\" is not a Kubernetes version" },
    { "{\"kubernetes\":{\"version\":\"v1.030.1\"}}", BERTH_ERROR_INVALID_SETTING,
      "kubernetes.version: \"v1.030.1\" is not a Kubernetes version" },
    { "{\"virtualMachine\":{\"image\":{\"url\":\"ftp://example.invalid/guest.qcow2\","
      "\"sha256\":\""
      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
      "\"}}}",
      BERTH_ERROR_INVALID_SETTING,
      "virtualMachine.image.url: \"ftp://example.invalid/guest.qcow2\" is not allowed; use an "
      "https://, http:// or file:// URL, or \"\" for the built-in image" },
    { "{\"virtualMachine\":{\"image\":{\"url\":\"https://\"}}}", BERTH_ERROR_INVALID_SETTING,
      "virtualMachine.image.url: \"https://\" is not allowed" },
    { "{\"virtualMachine\":{\"image\":{\"url\":\"https://example.invalid/guest.qcow2\"}}}",
      BERTH_ERROR_INVALID_SETTING,
      "virtualMachine.image.sha256: required when virtualMachine.image.url is set" },
    { "{\"virtualMachine\":{\"image\":{\"sha256\":\"abc\"}}}", BERTH_ERROR_INVALID_SETTING,
      "virtualMachine.image.sha256: \"abc\" is not a SHA-256 digest; expected 64 hexadecimal "
      "digits" },
    { "{\"virtualMachine\":{\"caCertificates\":{\"file\":\"certs/corp.pem\"}}}",
      BERTH_ERROR_INVALID_SETTING,
      "virtualMachine.caCertificates.file: \"certs/corp.pem\" is not an absolute path; name a "
      "PEM file of CA certificates by its full path, or \"\" for none" },
    { "{\"virtualMachine\":{\"proxy\":{\"fromHost\":\"yes\"}}}", BERTH_ERROR_INVALID_SETTING,
      "virtualMachine.proxy.fromHost" },
    { "{\"images\":{\"namespace\":\"Bad Name\"}}", BERTH_ERROR_INVALID_SETTING,
      "images.namespace: \"Bad Name\" is not a containerd namespace" },
    /* sizes */
    { long_version, BERTH_ERROR_INVALID_SETTING,
      "kubernetes.version: a string of 5000 bytes is too long; at most 4096 are allowed" },
    { long_list, BERTH_ERROR_INVALID_SETTING,
      "application.disabledPlugins: a list of 1001 entries is too long; at most 1000 are "
      "allowed" },
    { too_deep, BERTH_ERROR_INVALID_DATA,
      "the settings update nests objects or lists more than 32 deep" },
    /* the update itself */
    { "{\"version\":4}", BERTH_ERROR_INVALID_SETTING,
      "version: an update may only repeat the current version 5, got 4" },
    { "[1]", BERTH_ERROR_INVALID_SETTING, "a settings update must be a JSON object, got a list" },
    { "{\n  \"kubernetes\": {\n    \"port\": }\n}", BERTH_ERROR_INVALID_DATA,
      "the settings update is not valid JSON: line 3, column" },
    { "", BERTH_ERROR_INVALID_DATA, "the settings update is empty; expected a JSON object" },
  };

  g_signal_connect (settings, "changed", G_CALLBACK (on_changed), &record);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_auto (GStrv) changed = NULL;
      g_autofree gchar *after = NULL;
      g_autoptr (GPtrArray) tmps = NULL;

      g_test_message ("update: %.100s", cases[i].update);
      g_assert_false (
          berth_settings_update_from_json (settings, cases[i].update, &changed, &error));
      assert_error_contains (error, cases[i].code, (const gchar *[]){ cases[i].message, NULL });
      g_assert_null (changed);

      /* A refused update changes nothing, on disk or in memory. */
      after = berth_test_read_file (fx->path);
      g_assert_cmpstr (after, ==, before);
      tmps = list_with_prefix (fx, "settings.json.tmp-");
      g_assert_cmpuint (tmps->len, ==, 0);
    }
  g_assert_cmpuint (record.count, ==, 0);
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.memoryInGB"), ==, 4);
}

static void
test_validation_accepts (Fixture *fx, gconstpointer data)
{
  BerthHostInfo host = test_host ();
  g_autoptr (BerthSettings) settings = load_settings (fx, &host);
  const gchar *accepted[] = {
    "{\"kubernetes\":{\"version\":\"v1.30.1\"}}",
    "{\"kubernetes\":{\"version\":\"v1.30.1+k3s1\"}}",
    "{\"kubernetes\":{\"version\":\"\"}}",
    "{\"virtualMachine\":{\"memoryInGB\":16,\"numberCPUs\":8}}",
    ("{\"virtualMachine\":{\"image\":{\"url\":\"https://example.invalid/guest.qcow2\","
     "\"sha256\":\"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\"}}}"),
    "{\"virtualMachine\":{\"image\":{\"url\":\"file:///guest.qcow2\"}}}",
    "{\"virtualMachine\":{\"image\":{\"url\":\"\",\"sha256\":\"\"}}}",
    "{\"images\":{\"namespace\":\"buildkit_history-2\"}}",
    "{\"virtualMachine\":{\"caCertificates\":{\"file\":\"/etc/corp/root-ca.pem\"}}}",
    "{\"virtualMachine\":{\"proxy\":{\"fromHost\":false}}}",
    "{\"version\":5,\"kubernetes\":{\"port\":1}}",
    "{}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (accepted); i++)
    {
      g_autoptr (GError) error = NULL;

      g_test_message ("update: %s", accepted[i]);
      berth_settings_update_from_json (settings, accepted[i], NULL, &error);
      g_assert_no_error (error);
    }
  g_assert_cmpint (berth_settings_get_int (settings, "kubernetes.port"), ==, 1);
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.numberCPUs"), ==, 8);
  g_assert_cmpstr (berth_settings_get_string (settings, "images.namespace"), ==,
                   "buildkit_history-2");
  g_assert_cmpstr (berth_settings_get_string (settings, "virtualMachine.image.url"), ==, "");
  g_assert_cmpstr (berth_settings_get_string (settings, "virtualMachine.caCertificates.file"), ==,
                   "/etc/corp/root-ca.pem");
  g_assert_false (berth_settings_get_boolean (settings, "virtualMachine.proxy.fromHost"));
}

static void
test_validate_direct (void)
{
  BerthHostInfo host = test_host ();
  BerthHostInfo small = make_host (2, 1, BERTH_PLATFORM_LINUX, FALSE);
  g_autoptr (JsonNode) not_object = parse ("[]");
  g_autoptr (JsonNode) no_version = parse ("{\"kubernetes\":{\"port\":1}}");
  g_autoptr (JsonNode) fits_big = parse ("{\"version\":5,\"virtualMachine\":{\"memoryInGB\":8}}");
  g_autoptr (GError) error = NULL;

  g_assert_false (berth_settings_validate (not_object, &host, &error));
  assert_error_contains (error, BERTH_ERROR_INVALID_SETTING,
                         (const gchar *[]){ "settings must be a JSON object, got a list", NULL });
  g_clear_error (&error);

  g_assert_false (berth_settings_validate (no_version, &host, &error));
  assert_error_contains (error, BERTH_ERROR_INVALID_SETTING,
                         (const gchar *[]){ "version: expected 5, got nothing", NULL });
  g_clear_error (&error);

  /* The same value fits one host and not another. */
  g_assert_true (berth_settings_validate (fits_big, &host, &error));
  g_assert_no_error (error);
  g_assert_false (berth_settings_validate (fits_big, &small, &error));
  assert_error_contains (
      error, BERTH_ERROR_INVALID_SETTING,
      (const gchar *[]){ "8 is more than the 2 GiB of memory this host has", NULL });
}

/* One update, whole: a bad key anywhere refuses all of it. */
static void
test_update_validated_whole (Fixture *fx, gconstpointer data)
{
  BerthHostInfo host = test_host ();
  g_autoptr (BerthSettings) settings = load_settings (fx, &host);
  g_autofree gchar *before = berth_test_read_file (fx->path);
  g_autofree gchar *after = NULL;
  g_autoptr (GError) error = NULL;
  GStatBuf st_before, st_after;

  g_assert_cmpint (g_stat (fx->path, &st_before), ==, 0);
  g_assert_false (berth_settings_update_from_json (
      settings, "{\"virtualMachine\":{\"memoryInGB\":2,\"numberCPUs\":99}}", NULL, &error));
  assert_error_contains (error, BERTH_ERROR_INVALID_SETTING,
                         (const gchar *[]){ "virtualMachine.numberCPUs: 99", NULL });
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.memoryInGB"), ==, 4);
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.numberCPUs"), ==, 2);
  after = berth_test_read_file (fx->path);
  g_assert_cmpstr (after, ==, before);
  g_assert_cmpint (g_stat (fx->path, &st_after), ==, 0);
  g_assert_cmpuint (st_after.st_ino, ==, st_before.st_ino);
}

static void
test_update_changed (Fixture *fx, gconstpointer data)
{
  BerthHostInfo host = test_host ();
  g_autoptr (BerthSettings) settings = load_settings (fx, &host);
  g_autoptr (BerthSettings) reloaded = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) changed = NULL;
  g_auto (GStrv) unchanged = NULL;
  ChangedRecord record = { 0 };
  const gchar *expected[] = { "kubernetes.enabled", "virtualMachine.memoryInGB", NULL };
  GStatBuf st_before, st_after;
  g_autofree gchar *text = NULL;

  g_signal_connect (settings, "changed", G_CALLBACK (on_changed), &record);

  g_assert_true (berth_settings_update_from_json (
      settings,
      "{\"virtualMachine\":{\"memoryInGB\":3,\"numberCPUs\":2},\"kubernetes\":{\"enabled\":true}}",
      &changed, &error));
  g_assert_no_error (error);
  g_assert_true (g_strv_equal ((const gchar *const *)changed, expected));
  g_assert_cmpuint (record.count, ==, 1);
  g_assert_true (g_strv_equal ((const gchar *const *)record.paths, expected));
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.memoryInGB"), ==, 3);

  /* On disk, with the mode kept. */
  g_assert_cmpint (g_stat (fx->path, &st_before), ==, 0);
  g_assert_cmpint (st_before.st_mode & 0777, ==, 0644);
  reloaded = load_settings (fx, &host);
  g_assert_cmpint (berth_settings_get_int (reloaded, "virtualMachine.memoryInGB"), ==, 3);
  g_assert_true (berth_settings_get_boolean (reloaded, "kubernetes.enabled"));

  /* The same values again: nothing changed, no signal, the file is not
   * rewritten (a rewrite would be a new inode). */
  g_assert_true (berth_settings_update_from_json (
      settings, "{\"virtualMachine\":{\"memoryInGB\":3},\"kubernetes\":{\"enabled\":true}}",
      &unchanged, &error));
  g_assert_no_error (error);
  g_assert_nonnull (unchanged);
  g_assert_null (unchanged[0]);
  g_assert_cmpuint (record.count, ==, 1);
  g_assert_cmpint (g_stat (fx->path, &st_after), ==, 0);
  g_assert_cmpuint (st_after.st_ino, ==, st_before.st_ino);

  /* Lists replace; name maps merge. */
  g_assert_true (berth_settings_update_from_json (
      settings, "{\"application\":{\"disabledPlugins\":[\"wsl\",\"moby\"]}}", NULL, &error));
  g_assert_true (berth_settings_update_from_json (
      settings, "{\"application\":{\"disabledPlugins\":[\"nerdctl\"]}}", NULL, &error));
  g_assert_true (berth_settings_update_from_json (
      settings, "{\"WSL\":{\"integrations\":{\"Ubuntu\":true}}}", NULL, &error));
  g_assert_true (berth_settings_update_from_json (
      settings, "{\"WSL\":{\"integrations\":{\"Debian\":false}}}", NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (record.paths[0], ==, "WSL.integrations");
  g_assert_null (record.paths[1]);
  g_assert_cmpuint (record.count, ==, 5);
  text = berth_settings_to_json (settings, FALSE);
  g_assert_nonnull (strstr (text, "\"disabledPlugins\":[\"nerdctl\"]"));
  g_assert_nonnull (strstr (text, "\"integrations\":{\"Ubuntu\":true,\"Debian\":false}"));

  g_strfreev (record.paths);
}

static void
test_update_does_not_share (Fixture *fx, gconstpointer data)
{
  BerthHostInfo host = test_host ();
  g_autoptr (BerthSettings) settings = load_settings (fx, &host);
  g_autoptr (JsonNode) partial = parse ("{\"kubernetes\":{\"options\":{\"traefik\":false}}}");
  g_autoptr (JsonNode) copy = NULL;
  g_autoptr (GError) error = NULL;
  JsonObject *options;

  berth_settings_update (settings, partial, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (berth_settings_get_boolean (settings, "kubernetes.options.traefik"));

  /* Neither the caller's partial nor a copy handed out reaches back in. */
  options = json_object_get_object_member (
      json_object_get_object_member (json_node_get_object (partial), "kubernetes"), "options");
  json_object_set_boolean_member (options, "traefik", TRUE);
  copy = berth_settings_dup_node (settings);
  json_object_set_int_member (
      json_object_get_object_member (json_node_get_object (copy), "kubernetes"), "port", 1);
  json_object_remove_member (json_node_get_object (copy), "images");

  g_assert_false (berth_settings_get_boolean (settings, "kubernetes.options.traefik"));
  g_assert_cmpint (berth_settings_get_int (settings, "kubernetes.port"), ==, 6443);
  g_assert_true (berth_settings_get_boolean (settings, "images.showAll"));
}

static void
test_reset (Fixture *fx, gconstpointer data)
{
  BerthHostInfo host = test_host ();
  g_autoptr (BerthSettings) settings = load_settings (fx, &host);
  g_autoptr (JsonNode) defaults = berth_settings_new_defaults (&host);
  g_autoptr (JsonNode) on_disk = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = NULL;
  ChangedRecord record = { 0 };
  const gchar *expected[] = { "images.namespace", "kubernetes.port", NULL };

  berth_settings_update_from_json (
      settings, "{\"kubernetes\":{\"port\":7443},\"images\":{\"namespace\":\"default\"}}", NULL,
      &error);
  g_assert_no_error (error);
  g_signal_connect (settings, "changed", G_CALLBACK (on_changed), &record);

  g_assert_true (berth_settings_reset (settings, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (record.count, ==, 1);
  g_assert_true (g_strv_equal ((const gchar *const *)record.paths, expected));
  g_assert_cmpint (berth_settings_get_int (settings, "kubernetes.port"), ==, 6443);
  text = berth_test_read_file (fx->path);
  on_disk = parse (text);
  g_assert_true (json_node_equal (on_disk, defaults));
  g_strfreev (record.paths);
}

static void
test_diff (void)
{
  g_autoptr (JsonNode) a = parse ("{\"version\":5,\"kubernetes\":{\"port\":1,\"options\":"
                                  "{\"traefik\":true}},\"WSL\":{\"integrations\":{\"x\":true}}}");
  g_autoptr (JsonNode) b = parse ("{\"version\":5,\"kubernetes\":{\"port\":2,\"options\":"
                                  "{\"traefik\":true,\"flannel\":false}},\"WSL\":{\"integrations\":"
                                  "{\"x\":false}},\"images\":{\"showAll\":true}}");
  g_auto (GStrv) forward = berth_settings_diff (a, b);
  g_auto (GStrv) same = berth_settings_diff (a, a);
  const gchar *expected[] = { "WSL.integrations", "images.showAll", "kubernetes.options.flannel",
                              "kubernetes.port", NULL };

  g_assert_true (g_strv_equal ((const gchar *const *)forward, expected));
  g_assert_cmpuint (g_strv_length (same), ==, 0);
}

static void
test_getter_unknown_path (void)
{
  if (g_test_subprocess ())
    {
      BerthHostInfo host = test_host ();
      g_autoptr (BerthSettings) settings = berth_settings_new ("unused", &host);

      g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
      berth_settings_get_int (settings, "virtualMachine.memory");
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*spec != NULL*");
}

static void
test_getter_group_node (void)
{
  BerthHostInfo host = test_host ();
  g_autoptr (BerthSettings) settings = berth_settings_new ("unused", &host);
  JsonNode *options = berth_settings_get_node (settings, "kubernetes.options");

  g_assert_true (JSON_NODE_HOLDS_OBJECT (options));
  g_assert_true (json_object_get_boolean_member (json_node_get_object (options), "flannel"));
  g_assert_true (berth_settings_get_host (settings)->n_cpus == 8);
}

/* ------------------------------------------------------------------------ */
/* Rancher Desktop's files                                                  */
/* ------------------------------------------------------------------------ */

/* The copies of Rancher Desktop's files load kept, oldest first. */
static GPtrArray *
list_kept (Fixture *fx)
{
  GPtrArray *kept = list_with_prefix (fx, "settings.json.rancher-desktop-");

  g_ptr_array_sort (kept, (GCompareFunc)g_strcmp0);
  return kept;
}

static void
assert_kept_original (Fixture *fx, BerthSettings *settings, const gchar *text)
{
  const gchar *kept = berth_settings_get_imported_original_path (settings);
  g_autofree gchar *dir = g_path_get_dirname (fx->path);
  g_autofree gchar *kept_dir = NULL;
  g_autofree gchar *basename = NULL;
  g_autofree gchar *kept_text = NULL;
  GStatBuf st;

  g_assert_nonnull (kept);
  kept_dir = g_path_get_dirname (kept);
  g_assert_cmpstr (kept_dir, ==, dir);
  basename = g_path_get_basename (kept);
  g_assert_true (g_regex_match_simple (
      "^settings\\.json\\.rancher-desktop-[0-9]{8}T[0-9]{6}Z(-[0-9]+)?$", basename, 0, 0));
  /* Byte for byte, and for its owner only: it may hold a proxy password. */
  kept_text = berth_test_read_file (kept);
  g_assert_cmpstr (kept_text, ==, text);
  g_assert_cmpint (g_stat (kept, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
}

/* A file of Rancher Desktop 1.0 to 1.7 (settings version 4), which Berth
 * used to refuse ("unknown setting kubernetes.memoryInGB"): imported at
 * load, the original kept aside, and what Berth has no setting for named. */
static void
test_load_rancher_desktop_v4 (Fixture *fx, gconstpointer data)
{
  g_autofree gchar *text = berth_test_read_fixture ("settings", "rd-v4.json", NULL);
  BerthHostInfo host = test_host ();
  g_autoptr (BerthSettings) settings = NULL;
  g_autoptr (BerthSettings) reloaded = NULL;
  g_autoptr (JsonNode) written = NULL;
  g_autoptr (JsonNode) current = NULL;
  g_autoptr (GPtrArray) kept = NULL;
  g_autofree gchar *written_text = NULL;
  g_autofree gchar *version = NULL;
  g_autofree gchar *patterns = NULL;
  BerthSettingsImport *import;

  write_settings_file (fx, text);
  settings = load_settings (fx, &host);
  g_assert_false (berth_settings_is_first_run (settings));
  g_assert_null (berth_settings_get_corrupt_path (settings));

  g_assert_cmpstr (berth_settings_get_string (settings, "kubernetes.version"), ==, "v1.25.4");
  g_assert_true (berth_settings_get_boolean (settings, "kubernetes.enabled"));
  g_assert_cmpint (berth_settings_get_int (settings, "kubernetes.port"), ==, 6443);
  g_assert_false (berth_settings_get_boolean (settings, "kubernetes.options.traefik"));
  g_assert_true (berth_settings_get_boolean (settings, "kubernetes.options.flannel"));
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.memoryInGB"), ==, 6);
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.numberCPUs"), ==, 4);
  g_assert_cmpstr (berth_settings_get_string (settings, "containerEngine.name"), ==, "moby");
  /* The allow-list is not enforced by this build: dropped, with why. */
  g_assert_false (berth_settings_get_boolean (settings, "containerEngine.allowedImages.enabled"));
  patterns = json_to_string (
      berth_settings_get_node (settings, "containerEngine.allowedImages.patterns"), FALSE);
  g_assert_cmpstr (patterns, ==, "[]");
  g_assert_false (berth_settings_get_boolean (settings, "application.adminAccess"));
  g_assert_true (berth_settings_get_boolean (settings, "application.debug"));
  g_assert_false (berth_settings_get_boolean (settings, "application.telemetry.enabled"));
  g_assert_false (berth_settings_get_boolean (settings, "application.updater.enabled"));
  g_assert_cmpstr (berth_settings_get_string (settings, "application.pathManagementStrategy"), ==,
                   "rcfiles");
  g_assert_true (berth_settings_get_boolean (settings, "portForwarding.includeKubernetesServices"));
  g_assert_false (berth_settings_get_boolean (settings, "images.showAll"));
  g_assert_cmpstr (berth_settings_get_string (settings, "images.namespace"), ==, "k8s.io");
  /* What the file did not have takes Berth's default. */
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.diskSizeGiB"), ==, 100);
  g_assert_cmpstr (berth_settings_get_string (settings, "virtualMachine.accel"), ==, "auto");

  import = berth_settings_get_import (settings);
  g_assert_nonnull (import);
  g_assert_cmpint (berth_settings_import_get_version (import), ==, 4);
  g_assert_true (g_strv_equal (
      berth_settings_import_get_dropped (import, NULL),
      (const gchar *const[]){
          "containerEngine.imageAllowList.enabled", "containerEngine.imageAllowList.locked",
          "containerEngine.imageAllowList.patterns", "diagnostics.mutedChecks",
          "diagnostics.showMuted", "kubernetes.checkForExistingKimBuilder",
          "kubernetes.experimental.socketVMNet", "kubernetes.hostResolver", NULL }));
  assert_kept_original (fx, settings, text);

  /* Berth's settings were written in its place... */
  written_text = berth_test_read_file (fx->path);
  written = parse (written_text);
  version = member_string (written, NULL, "version");
  g_assert_cmpstr (version, ==, "5");
  current = berth_settings_dup_node (settings);
  g_assert_true (json_node_equal (written, current));

  /* ...and are read as Berth's from then on: no second import. */
  reloaded = load_settings (fx, &host);
  g_assert_null (berth_settings_get_import (reloaded));
  g_assert_null (berth_settings_get_imported_original_path (reloaded));
  g_assert_cmpint (berth_settings_get_int (reloaded, "virtualMachine.memoryInGB"), ==, 6);
  kept = list_kept (fx);
  g_assert_cmpuint (kept->len, ==, 1);
  g_free (written_text);
  written_text = berth_test_read_file (fx->path);
  g_assert_true (json_node_equal (parse (written_text), current));
}

/* One file of each era of Rancher Desktop loads, and each original is
 * kept. */
static void
test_load_rancher_desktop_every_version (Fixture *fx, gconstpointer data)
{
  const struct
  {
    const gchar *fixture;
    gint64 version;
    gint64 memory;
  } files[] = {
    { "rd-v1-unversioned.json", 1, 2 }, { "rd-v3.json", 3, 3 },   { "rd-v4.json", 4, 6 },
    { "rd-v10.json", 10, 8 },           { "rd-v14.json", 14, 4 }, { "rd-v19.json", 19, 5 },
  };
  BerthHostInfo host = test_host ();

  for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree gchar *text = berth_test_read_fixture ("settings", files[i].fixture, NULL);
      g_autoptr (BerthSettings) settings = NULL;
      g_autoptr (GPtrArray) kept = NULL;

      g_test_message ("%s", files[i].fixture);
      write_settings_file (fx, text);
      settings = load_settings (fx, &host);
      g_assert_nonnull (berth_settings_get_import (settings));
      g_assert_cmpint (berth_settings_import_get_version (berth_settings_get_import (settings)), ==,
                       files[i].version);
      g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.memoryInGB"), ==,
                       files[i].memory);
      assert_kept_original (fx, settings, text);
      /* Never over an earlier copy. */
      kept = list_kept (fx);
      g_assert_cmpuint (kept->len, ==, i + 1);
    }
}

/* The second import of the same moment gets a name of its own. */
static void
test_load_rancher_desktop_kept_twice (Fixture *fx, gconstpointer data)
{
  g_autofree gchar *text = berth_test_read_fixture ("settings", "rd-v19.json", NULL);
  g_autoptr (GString) other = g_string_new (text);
  BerthHostInfo host = test_host ();
  g_autoptr (BerthSettings) first = NULL;
  g_autoptr (BerthSettings) second = NULL;
  g_autofree gchar *first_text = NULL;

  write_settings_file (fx, text);
  first = load_settings (fx, &host);
  /* Rancher Desktop ran again and wrote its file over Berth's. */
  g_assert_cmpuint (g_string_replace (other, "\"adminAccess\":false", "\"adminAccess\":true", 1),
                    ==, 1);
  write_settings_file (fx, other->str);
  second = load_settings (fx, &host);

  g_assert_cmpstr (berth_settings_get_imported_original_path (first), !=,
                   berth_settings_get_imported_original_path (second));
  first_text = berth_test_read_file (berth_settings_get_imported_original_path (first));
  g_assert_cmpstr (first_text, ==, text);
  assert_kept_original (fx, second, other->str);
  g_assert_true (berth_settings_get_boolean (second, "application.adminAccess"));
}

/* Berth's version 4 (the grouped shape, before kubernetes.enabled) is
 * Berth's own and migrates as before: nothing kept aside. */
static void
test_load_berth_v4 (Fixture *fx, gconstpointer data)
{
  BerthHostInfo host = test_host ();
  g_autoptr (BerthSettings) settings = NULL;
  g_autoptr (GPtrArray) kept = NULL;

  write_settings_file (fx, "{\"version\": 4, \"virtualMachine\": {\"memoryInGB\": 3}, "
                           "\"kubernetes\": {\"version\": \"1.23.6\"}}");
  settings = load_settings (fx, &host);
  g_assert_null (berth_settings_get_import (settings));
  g_assert_cmpstr (berth_settings_get_string (settings, "kubernetes.version"), ==, "v1.23.6");
  g_assert_true (berth_settings_get_boolean (settings, "kubernetes.enabled"));
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.memoryInGB"), ==, 3);
  kept = list_kept (fx);
  g_assert_cmpuint (kept->len, ==, 0);
}

/* A file of a Rancher Desktop newer than Berth knows loads too, read as the
 * latest shape Berth knows. */
static void
test_load_rancher_desktop_newer (Fixture *fx, gconstpointer data)
{
  const gchar *text = "{\"version\":23,\"virtualMachine\":{\"memoryInGB\":3,\"numberCPUs\":2},"
                      "\"application\":{\"theme\":\"dark\",\"assistant\":{\"enabled\":true}}}";
  BerthHostInfo host = test_host ();
  g_autoptr (BerthSettings) settings = NULL;

  write_settings_file (fx, text);
  settings = load_settings (fx, &host);
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.memoryInGB"), ==, 3);
  g_assert_true (g_strv_equal (
      berth_settings_import_get_dropped (berth_settings_get_import (settings), NULL),
      (const gchar *const[]){ "application.assistant.enabled", "application.theme", NULL }));
  assert_kept_original (fx, settings, text);
}

/* berthctl import-settings: Rancher Desktop's values over the current
 * ones, checked against this host; Berth's own settings stay. */
static void
test_import_on_request (Fixture *fx, gconstpointer data)
{
  g_autofree gchar *text = berth_test_read_fixture ("settings", "rd-v14.json", NULL);
  BerthHostInfo host = test_host ();
  g_autoptr (BerthSettings) settings = load_settings (fx, &host);
  g_autoptr (BerthSettingsImport) import = NULL;
  g_autoptr (JsonNode) rancher_desktop = parse (text);
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) changed = NULL;
  g_autofree gchar *before = NULL;
  g_autofree gchar *after = NULL;
  ChangedRecord record = { 0 };

  g_assert_true (berth_settings_update_from_json (
      settings, "{\"virtualMachine\":{\"accel\":\"tcg\"}}", NULL, &error));
  g_assert_no_error (error);
  g_signal_connect (settings, "changed", G_CALLBACK (on_changed), &record);

  g_assert_true (
      berth_settings_import_rancher_desktop (settings, rancher_desktop, &import, &changed, &error));
  g_assert_no_error (error);
  g_assert_cmpint (berth_settings_import_get_version (import), ==, 14);
  g_assert_true (g_strv_equal (
      (const gchar *const *)changed,
      (const gchar *const[]){ "WSL.integrations", "application.pathManagementStrategy",
                              "application.updater.enabled", "images.namespace", "images.showAll",
                              "kubernetes.enabled", "kubernetes.options.traefik",
                              "kubernetes.version", "portForwarding.includeKubernetesServices",
                              "virtualMachine.mount.type", NULL }));
  g_assert_cmpuint (record.count, ==, 1);
  g_assert_cmpstr (berth_settings_get_string (settings, "kubernetes.version"), ==, "v1.29.4");
  g_assert_cmpstr (berth_settings_get_string (settings, "virtualMachine.mount.type"), ==,
                   "reverse-sshfs");
  g_assert_cmpstr (berth_settings_get_string (settings, "virtualMachine.accel"), ==, "tcg");
  /* Only load's own import is remembered as where the settings came from. */
  g_assert_null (berth_settings_get_import (settings));
  g_clear_pointer (&changed, g_strfreev);
  g_clear_object (&import);

  /* A value past this host is dropped with the reason, the rest taken. */
  g_clear_pointer (&rancher_desktop, json_node_unref);
  rancher_desktop = parse ("{\"version\":19,\"virtualMachine\":{\"memoryInGB\":64,"
                           "\"numberCPUs\":3}}");
  g_assert_true (
      berth_settings_import_rancher_desktop (settings, rancher_desktop, &import, &changed, &error));
  g_assert_no_error (error);
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.memoryInGB"), ==, 4);
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.numberCPUs"), ==, 3);
  g_assert_nonnull (
      strstr (json_object_get_string_member (berth_settings_import_get_refused (import),
                                             "virtualMachine.memoryInGB"),
              "64 is more than the 16 GiB of memory this host has"));
  g_clear_object (&import);

  /* Berth's own settings are no Rancher Desktop file: refused, nothing
   * changes. */
  before = berth_test_read_file (fx->path);
  g_clear_pointer (&rancher_desktop, json_node_unref);
  rancher_desktop = berth_settings_dup_node (settings);
  g_assert_false (
      berth_settings_import_rancher_desktop (settings, rancher_desktop, &import, NULL, &error));
  assert_error_contains (error, BERTH_ERROR_INVALID_DATA,
                         (const gchar *[]){ "is a setting of Berth's own", NULL });
  g_assert_null (import);
  after = berth_test_read_file (fx->path);
  g_assert_cmpstr (after, ==, before);
  g_strfreev (record.paths);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD_FX(name, func)                                                                         \
  g_test_add ("/settings/" name, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  g_test_add_func ("/settings/host/detect", test_host_detect);
  g_test_add_func ("/settings/defaults/resources", test_defaults_resources);
  g_test_add_func ("/settings/defaults/updater", test_defaults_updater);
  ADD_FX ("defaults/values", test_defaults_values);
  g_test_add_func ("/settings/schema", test_schema);
  ADD_FX ("load/first-run", test_first_run);
  ADD_FX ("load/fills-missing-keys", test_load_fills_missing_keys);
  ADD_FX ("load/invalid-value", test_load_invalid_value);
  ADD_FX ("load/beyond-host", test_load_beyond_host);
  ADD_FX ("load/corrupt", test_load_corrupt);
  ADD_FX ("load/not-an-object", test_load_not_an_object);
  ADD_FX ("load/too-deep", test_load_too_deep);
  ADD_FX ("load/newer-version", test_load_newer_version);
  ADD_FX ("load/unrecognised-shape", test_load_unrecognised_shape);
  ADD_FX ("load/removes-stale-temporary", test_load_removes_stale_temporary);
  ADD_FX ("load/not-regular", test_load_not_regular);
  ADD_FX ("load/symlinked-file", test_symlinked_file);
  ADD_FX ("update/too-large", test_update_too_large);
  ADD_FX ("update/strict-json", test_update_strict_json);
  ADD_FX ("update/control-characters", test_update_control_characters);
  ADD_FX ("write/crash-before-rename", test_crash_before_rename);
  g_test_add_func ("/settings/migrate/1-to-2", test_migrate_1_to_2);
  g_test_add_func ("/settings/migrate/2-to-3", test_migrate_2_to_3);
  g_test_add_func ("/settings/migrate/3-to-4", test_migrate_3_to_4);
  g_test_add_func ("/settings/migrate/4-to-5", test_migrate_4_to_5);
  g_test_add_func ("/settings/migrate/version-checks", test_migrate_version_checks);
  ADD_FX ("migrate/rancher-desktop-v3-file", test_migrate_rd_v3_file);
  ADD_FX ("migrate/rancher-desktop-unversioned-file", test_migrate_rd_unversioned_file);
  ADD_FX ("load/rancher-desktop-v4", test_load_rancher_desktop_v4);
  ADD_FX ("load/rancher-desktop-every-version", test_load_rancher_desktop_every_version);
  ADD_FX ("load/rancher-desktop-kept-twice", test_load_rancher_desktop_kept_twice);
  ADD_FX ("load/rancher-desktop-newer", test_load_rancher_desktop_newer);
  ADD_FX ("load/berth-v4", test_load_berth_v4);
  ADD_FX ("import/on-request", test_import_on_request);
  ADD_FX ("validate/messages", test_validation_messages);
  ADD_FX ("validate/accepts", test_validation_accepts);
  g_test_add_func ("/settings/validate/direct", test_validate_direct);
  ADD_FX ("update/validated-whole", test_update_validated_whole);
  ADD_FX ("update/changed", test_update_changed);
  ADD_FX ("update/does-not-share", test_update_does_not_share);
  ADD_FX ("update/reset", test_reset);
  g_test_add_func ("/settings/diff", test_diff);
  g_test_add_func ("/settings/get/unknown-path", test_getter_unknown_path);
  g_test_add_func ("/settings/get/group-node", test_getter_group_node);

#undef ADD_FX

  return g_test_run ();
}
