/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for settings input (core/berth-settings.c): the bytes are
 * an update (PUT /v1/settings, berthctl set) and a settings.json file, and
 * what is accepted must be kept exactly as it was sent:
 *
 * - the text is read as a second reader reads it (fuzz-json-reference.c):
 *   whatever berth_settings_parse_data() accepts, that reader accepts, with
 *   the same tree: strings decoded the same, with no NUL, integers equal to
 *   their decimal text;
 * - an update that is accepted leaves each value it sent in the settings, as
 *   sent, through berth_settings_get_node() and the typed getters; one that
 *   is refused changes nothing;
 * - the settings are then written to settings.json, and loading that file
 *   again gives the same settings: a round trip through the file loses
 *   nothing and is not taken for a corrupt file;
 * - as a file, a version 5 settings.json that loads holds every value that
 *   was in it (but for a value this host does not support, set back to its
 *   default); one that does not parse is moved aside intact; one that is
 *   refused is left alone;
 * - as Rancher Desktop's settings to import, what is carried over passes
 *   Berth's validation, and the input is not changed.
 *
 * Built by tests/fuzz/meson.build; run with G_DEBUG=fatal-criticals so that
 * a critical reached from input counts as a crash. Each input writes a few
 * small files in a scratch directory: point TMPDIR at a RAM-backed
 * directory to spare the disk. */

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "berth-settings-import.h"
#include "berth-settings.h"
#include "berth-settings-private.h"

#include "fuzz-common.h"
#include "fuzz-json-reference.h"

static BerthHostInfo
fuzz_host (void)
{
  BerthHostInfo host = { 0 };

  host.platform = BERTH_PLATFORM_LINUX;
  host.total_memory_bytes = (guint64)16 << 30;
  host.n_cpus = 8;
  return host;
}

/* The leaf at dotted @path, or NULL. */
static JsonNode *
lookup (JsonNode *root, const gchar *path)
{
  g_auto (GStrv) parts = g_strsplit (path, ".", -1);
  JsonNode *node = root;

  for (guint i = 0; parts[i] != NULL && node != NULL; i++)
    node = JSON_NODE_HOLDS_OBJECT (node)
               ? json_object_get_member (json_node_get_object (node), parts[i])
               : NULL;
  return node;
}

/* Every schema leaf that @sent holds reads back through the getters as it
 * was sent. */
static void
assert_getters_give (BerthSettings *settings, JsonNode *sent)
{
  guint n_specs = 0;
  const BerthSettingSpec *specs = berth_settings_get_schema (&n_specs);

  for (guint i = 0; i < n_specs; i++)
    {
      const BerthSettingSpec *spec = &specs[i];
      JsonNode *value = lookup (sent, spec->path);

      if (value == NULL)
        continue;
      switch (spec->type)
        {
        case BERTH_SETTING_BOOLEAN:
          g_assert_cmpint (berth_settings_get_boolean (settings, spec->path), ==,
                           json_node_get_boolean (value));
          break;
        case BERTH_SETTING_INT:
          g_assert_cmpint (berth_settings_get_int (settings, spec->path), ==,
                           json_node_get_int (value));
          break;
        case BERTH_SETTING_STRING:
        case BERTH_SETTING_ENUM:
          {
            const gchar *stored = berth_settings_get_string (settings, spec->path);

            /* Not cut short by a NUL, not changed. */
            g_assert_cmpuint (strlen (stored), ==, strlen (json_node_get_string (value)));
            g_assert_cmpstr (stored, ==, json_node_get_string (value));
            break;
          }
        case BERTH_SETTING_STRING_LIST:
          berth_fuzz_json_assert_equal (berth_settings_get_node (settings, spec->path), value,
                                        spec->path);
          break;
        case BERTH_SETTING_BOOLEAN_MAP:
        default:
          /* Merged into the map: each name sent is there, as sent. */
          berth_fuzz_json_assert_contains (berth_settings_get_node (settings, spec->path), value,
                                           spec->path);
          break;
        }
    }
}

/* Loads @path into a new BerthSettings, which must read it as it is. */
static BerthSettings *
load_again (const gchar *path, const BerthHostInfo *host)
{
  g_autoptr (BerthSettings) settings = berth_settings_new (path, host);
  g_autoptr (GError) error = NULL;

  if (!berth_settings_load (settings, &error))
    g_error ("settings Berth wrote do not load again: %s", error->message);
  if (berth_settings_get_corrupt_path (settings) != NULL)
    g_error ("settings Berth wrote were taken for a corrupt file");
  return g_steal_pointer (&settings);
}

static void
fuzz_update (const gchar *dir, JsonNode *update, JsonNode *sent)
{
  BerthHostInfo host = fuzz_host ();
  g_autofree gchar *path = g_build_filename (dir, "settings.json", NULL);
  g_autoptr (BerthSettings) settings = berth_settings_new (path, &host);
  g_autoptr (BerthSettings) reloaded = NULL;
  g_autoptr (JsonNode) before = berth_settings_dup_node (settings);
  g_autoptr (JsonNode) after = NULL;
  g_autoptr (JsonNode) after_load = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) changed = NULL;

  if (!berth_settings_update (settings, update, &changed, &error))
    {
      g_autoptr (JsonNode) unchanged = berth_settings_dup_node (settings);

      g_assert_nonnull (error);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      berth_fuzz_json_assert_equal (unchanged, before, "settings after a refused update");
      return;
    }
  after = berth_settings_dup_node (settings);
  g_assert_true (berth_settings_validate (after, &host, NULL));
  berth_fuzz_json_assert_contains (after, sent, "");
  assert_getters_give (settings, sent);

  /* Nothing written when nothing changed; otherwise the file holds it. */
  if (changed[0] == NULL)
    {
      g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
      berth_fuzz_json_assert_equal (after, before, "settings after an update that changed nothing");
      return;
    }
  reloaded = load_again (path, &host);
  after_load = berth_settings_dup_node (reloaded);
  berth_fuzz_json_assert_equal (after_load, after, "settings.json written and loaded again");
  assert_getters_give (reloaded, sent);
}

static void
fuzz_file (const gchar *dir, const uint8_t *data, size_t size, JsonNode *sent)
{
  BerthHostInfo host = fuzz_host ();
  g_autofree gchar *path = g_build_filename (dir, "settings.json", NULL);
  g_autoptr (BerthSettings) settings = berth_settings_new (path, &host);
  g_autoptr (BerthSettings) reloaded = NULL;
  g_autoptr (JsonNode) loaded = NULL;
  g_autoptr (JsonNode) loaded_again = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *left = NULL;
  gsize left_size = 0;
  JsonNode *version = sent != NULL && JSON_NODE_HOLDS_OBJECT (sent)
                          ? json_object_get_member (json_node_get_object (sent), "version")
                          : NULL;

  if (!g_file_set_contents (path, (const gchar *)data, (gssize)size, &error))
    g_error ("Could not write %s: %s", path, error->message);

  if (!berth_settings_load (settings, &error))
    {
      /* Refused (a newer version, a value that is not allowed): the file is
       * left as it was. */
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      g_assert_true (g_file_get_contents (path, &left, &left_size, NULL));
      g_assert_cmpmem (left, left_size, data, size);
      return;
    }
  if (berth_settings_get_corrupt_path (settings) != NULL)
    {
      /* Unreadable: kept aside as it was, and never a settings object that
       * the other reader would take. */
      g_assert_true (sent == NULL || !JSON_NODE_HOLDS_OBJECT (sent)
                     || size > BERTH_SETTINGS_MAX_BYTES);
      g_assert_true (g_file_get_contents (berth_settings_get_corrupt_path (settings), &left,
                                          &left_size, NULL));
      g_assert_cmpmem (left, left_size, data, size);
    }
  else
    {
      g_assert_nonnull (sent);
      loaded = berth_settings_dup_node (settings);
      /* A current file is read as it is, with defaults added for what it
       * lacks; an older one is migrated, which moves keys around. */
      if (version != NULL && JSON_NODE_HOLDS_VALUE (version)
          && json_node_get_value_type (version) == G_TYPE_INT64
          && json_node_get_int (version) == BERTH_SETTINGS_VERSION)
        {
          /* Except a value this host does not support: it goes back to
           * its default, and is logged. */
          g_autoptr (JsonNode) expected = berth_settings_deep_copy (sent);
          g_strfreev (berth_settings_settle_unsupported (expected, &host));

          berth_fuzz_json_assert_contains (loaded, expected, "");
          assert_getters_give (settings, expected);
        }
    }

  /* Whatever load kept or wrote loads again the same. */
  g_clear_pointer (&loaded, json_node_unref);
  loaded = berth_settings_dup_node (settings);
  reloaded = load_again (path, &host);
  loaded_again = berth_settings_dup_node (reloaded);
  berth_fuzz_json_assert_equal (loaded_again, loaded, "settings.json loaded a second time");
}

/* As Rancher Desktop's settings to import: what is carried over, Berth's
 * validation takes, and the input is left as it was. */
static void
fuzz_import (JsonNode *parsed)
{
  BerthHostInfo host
      = { .platform = BERTH_PLATFORM_LINUX, .total_memory_bytes = (guint64)16 << 30, .n_cpus = 8 };
  g_autoptr (JsonNode) unchanged = json_node_copy (parsed);
  g_autoptr (BerthSettingsImport) import = NULL;

  berth_settings_is_rancher_desktop (parsed);
  import = berth_settings_import_new (parsed, &host, NULL);
  if (import != NULL)
    g_assert_true (
        berth_settings_validate (berth_settings_import_get_settings (import), &host, NULL));
  g_assert_true (json_node_equal (parsed, unchanged));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree gchar *dir = g_build_filename (berth_fuzz_work_dir (), "settings", NULL);
  g_autoptr (JsonNode) sent = NULL;
  g_autoptr (JsonNode) parsed = NULL;
  g_autoptr (GError) error = NULL;

  sent = berth_fuzz_json_reference_parse (data, size, BERTH_SETTINGS_MAX_DEPTH, NULL);
  parsed = berth_settings_parse_data ((const gchar *)data, size, "the settings update", &error);
  if (parsed == NULL)
    {
      g_assert_nonnull (error);
      /* Refused only when it is not JSON, or too large. */
      g_assert_true (sent == NULL || size > BERTH_SETTINGS_MAX_BYTES);
    }
  else
    {
      g_assert_nonnull (sent);
      berth_fuzz_json_assert_equal (parsed, sent, "the update as Berth reads it");
    }

  if (parsed != NULL)
    fuzz_import (parsed);

  g_mkdir_with_parents (dir, 0700);
  if (parsed != NULL)
    fuzz_update (dir, parsed, sent);
  berth_fuzz_remove_tree (dir);

  g_mkdir_with_parents (dir, 0700);
  fuzz_file (dir, data, size, sent);
  berth_fuzz_remove_tree (dir);
  return 0;
}
