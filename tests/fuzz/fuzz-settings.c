/* libFuzzer target for settings input: the bytes are read as a settings
 * file (parse, migrate, fill in, validate, diff) and as an update (merge,
 * validate, write). Built by tests/fuzz/meson.build; run with
 * G_DEBUG=fatal-criticals so that a critical reached from input counts as a
 * crash.
 *
 * Successful updates are written to a temporary directory; point TMPDIR at
 * a RAM-backed directory to spare the disk. */

#include "config.h"

#include "berth-settings.h"
#include "berth-settings-private.h"

#include "fuzz-common.h"

static BerthSettings *settings;

static BerthHostInfo
fuzz_host (void)
{
  BerthHostInfo host = { 0 };

  host.platform = BERTH_PLATFORM_LINUX;
  host.total_memory_bytes = (guint64)16 << 30;
  host.n_cpus = 8;
  return host;
}

static void
ensure_settings (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *path = NULL;
  BerthHostInfo host = fuzz_host ();

  if (settings != NULL)
    return;
  path = g_build_filename (berth_fuzz_work_dir (), "settings.json", NULL);
  settings = berth_settings_new (path, &host);
  berth_settings_load (settings, &error);
  g_assert_no_error (error);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  BerthHostInfo host = fuzz_host ();
  BerthHostInfo unlimited = { .platform = BERTH_PLATFORM_LINUX };
  g_autoptr (JsonNode) as_update = NULL;
  g_autoptr (JsonNode) as_file = NULL;
  g_autoptr (JsonNode) as_rancher_desktop = NULL;
  g_autoptr (JsonNode) unchanged = NULL;
  g_autoptr (BerthSettingsImport) import = NULL;
  g_autoptr (JsonNode) defaults = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) changed = NULL;
  g_auto (GStrv) diff = NULL;
  gboolean migrated = FALSE;

  ensure_settings ();

  as_update = berth_settings_parse_data ((const gchar *)data, size, "fuzz input", &error);
  if (as_update == NULL)
    return 0;

  /* As an update: a refused one must leave the settings valid. */
  if (!berth_settings_update (settings, as_update, &changed, &error))
    g_clear_error (&error);
  {
    g_autoptr (JsonNode) current = berth_settings_dup_node (settings);
    g_assert_true (berth_settings_validate (current, &host, NULL));
  }

  /* As a file: parse again, since the update may not be changed in place. */
  as_file = berth_settings_parse_data ((const gchar *)data, size, "fuzz input", NULL);
  g_assert_nonnull (as_file);
  if (berth_settings_prepare (as_file, &host, &migrated, NULL, &error))
    {
      /* Whatever load accepts, validation accepts, and diff can compare.
       * Load does not hold a file to this host's limits (one from a bigger
       * machine loads), so neither does this check. */
      g_assert_true (berth_settings_validate (as_file, &unlimited, NULL));
      defaults = berth_settings_new_defaults (&host);
      diff = berth_settings_diff (defaults, as_file);
      g_assert_nonnull (diff);
    }

  /* As Rancher Desktop's: what is carried over, validation takes, and the
   * input is left as it was. */
  g_clear_error (&error);
  as_rancher_desktop = berth_settings_parse_data ((const gchar *)data, size, "fuzz input", NULL);
  g_assert_nonnull (as_rancher_desktop);
  unchanged = berth_settings_parse_data ((const gchar *)data, size, "fuzz input", NULL);
  berth_settings_is_rancher_desktop (as_rancher_desktop);
  import = berth_settings_import_new (as_rancher_desktop, &host, &error);
  if (import != NULL)
    g_assert_true (
        berth_settings_validate (berth_settings_import_get_settings (import), &host, NULL));
  g_assert_true (json_node_equal (as_rancher_desktop, unchanged));
  return 0;
}
