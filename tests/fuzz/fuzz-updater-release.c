/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for what an update check reads from servers
 * (plugins/updater/berth-updater-release.c): the upgrade responder's
 * answer, a GitHub release, a .sha512sum file and a version. The input is
 * given to each. A reader may refuse it, with an error; what one takes must
 * agree with a second reading: the responder's latest is the newest
 * supported version json-glib finds in the same text, a release's assets
 * are https and found by name, a digest is 128 lower-case hex digits, and a
 * version written out reads back as the same version.
 * Run with G_DEBUG=fatal-criticals; built by tests/fuzz/meson.build. */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "berth-updater-release.h"

#include "fuzz-common.h"

/* The newest supported Name, read with json-glib alone; NULL when there is
 * none to compare. */
static gchar *
newest_supported (const gchar *text, gsize size)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_auto (BerthUpdaterVersion) best = { 0 };
  gchar *name = NULL;
  JsonNode *root;
  JsonNode *versions;

  if (!json_parser_load_from_data (parser, text, (gssize)size, NULL))
    abort (); /* what the strict reader took, json-glib reads too */
  root = json_parser_get_root (parser);
  versions = json_object_get_member (json_node_get_object (root), "versions");
  for (guint i = 0; i < json_array_get_length (json_node_get_array (versions)); i++)
    {
      JsonObject *entry
          = json_node_get_object (json_array_get_element (json_node_get_array (versions), i));
      JsonNode *supported = json_object_get_member (entry, "Supported");
      const gchar *candidate = json_object_get_string_member (entry, "Name");
      g_auto (BerthUpdaterVersion) version = { 0 };

      if (supported != NULL && !JSON_NODE_HOLDS_NULL (supported)
          && !json_node_get_boolean (supported))
        continue;
      if (!berth_updater_version_parse (candidate, &version, NULL))
        abort ();
      if (name == NULL || berth_updater_version_compare (&version, &best) > 0)
        {
          berth_updater_version_clear (&best);
          best = version;
          version.prerelease = NULL;
          g_free (name);
          name = g_strdup (candidate);
        }
    }
  return name;
}

static void
check_responder (const gchar *text, gsize size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthUpdaterResponderAnswer) answer
      = berth_updater_responder_parse (text, size, &error);
  g_auto (BerthUpdaterVersion) latest = { 0 };
  g_autofree gchar *expected = NULL;

  if (answer == NULL)
    {
      if (error == NULL)
        abort ();
      return;
    }
  if (!berth_updater_version_parse (answer->latest, &latest, NULL)
      || answer->request_interval_minutes < 0 || answer->n_versions == 0)
    abort ();
  expected = newest_supported (text, size);
  if (expected == NULL)
    abort ();
  /* Equal versions may be spelt apart ("v1.0.0", "1.0.0+b"): compare them. */
  {
    g_auto (BerthUpdaterVersion) other = { 0 };

    if (!berth_updater_version_parse (expected, &other, NULL)
        || berth_updater_version_compare (&latest, &other) != 0)
      abort ();
  }
}

static void
check_release (const gchar *text, gsize size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthUpdaterRelease) release = berth_updater_release_parse (text, size, &error);
  g_auto (BerthUpdaterVersion) version = { 0 };
  g_auto (BerthUpdaterVersion) tag = { 0 };

  if (release == NULL)
    {
      if (error == NULL)
        abort ();
      return;
    }
  if (!berth_updater_version_parse (release->version, &version, NULL)
      || !berth_updater_version_parse (release->tag, &tag, NULL)
      || berth_updater_version_compare (&version, &tag) != 0)
    abort ();
  for (guint i = 0; i < release->assets->len; i++)
    {
      const BerthUpdaterAsset *asset = g_ptr_array_index (release->assets, i);
      const BerthUpdaterAsset *found = berth_updater_release_find_asset (release, asset->name);

      if (g_ascii_strncasecmp (asset->url, "https://", 8) != 0 || found == NULL
          || !g_str_equal (found->name, asset->name) || asset->size < -1)
        abort ();
    }
}

static void
check_checksum (const gchar *text, gsize size)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *digest = berth_updater_sha512sum_parse (text, size, "berth.tar.gz", &error);

  if (digest == NULL)
    {
      if (error == NULL)
        abort ();
      return;
    }
  if (strlen (digest) != 128 || strspn (digest, "0123456789abcdef") != 128)
    abort ();
}

static void
check_version (const gchar *text, gsize size)
{
  g_auto (BerthUpdaterVersion) version = { 0 };
  g_auto (BerthUpdaterVersion) again = { 0 };
  g_autofree gchar *written = NULL;

  if (memchr (text, '\0', size) != NULL || !berth_updater_version_parse (text, &version, NULL))
    return;
  written = berth_updater_version_to_string (&version);
  if (!berth_updater_version_parse (written, &again, NULL)
      || berth_updater_version_compare (&version, &again) != 0)
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree gchar *text = g_strndup (size > 0 ? (const gchar *)data : "", size);

  /* The readers take a length: give them the bytes, NULs and all. */
  check_responder ((const gchar *)data, size);
  check_release ((const gchar *)data, size);
  check_checksum ((const gchar *)data, size);
  check_version (text, strlen (text) == size ? size : 0);
  return 0;
}
