/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for a page of GitHub's releases of k3s (the releases API,
 * or BERTH_K3S_RELEASES_URL) and for k3s-versions.json, which the same
 * bytes are also read as, and for the Link header, which they are also read
 * as. berth_k3s_releases_page_parse() must refuse what is not a list, with
 * an error naming the page, or add versions that are full, canonical, no
 * older than the minimum, one build a release, newest first; never crash.
 * Held against fuzz-json-reference.c's reading of the page: every release
 * object it sees that qualifies by the header's rules is in the list, at its
 * build or a newer one, and the list holds nothing else. The same page read
 * twice gives the same list, and the list survives k3s-versions.json. Built
 * by tests/fuzz/meson.build; run with G_DEBUG=fatal-criticals. */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "berth-error.h"
#include "berth-k3s-release-data.h"

#include "fuzz-common.h"
#include "fuzz-json-reference.h"

#define URL "https://fuzz.invalid/releases?per_page=100"

static gboolean
has_type (JsonNode *node, GType type)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

static gboolean
has_asset (JsonNode *assets, const gchar *name)
{
  JsonArray *array = json_node_get_array (assets);

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      JsonNode *asset_name;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        continue;
      asset_name = json_object_get_member (json_node_get_object (element), "name");
      if (has_type (asset_name, G_TYPE_STRING)
          && g_str_equal (json_node_get_string (asset_name), name))
        return TRUE;
    }
  return FALSE;
}

/* A flag that is absent or null counts as false; of another type, the
 * release is passed over. */
static gboolean
flag_false (JsonObject *release, const gchar *member)
{
  JsonNode *node = json_object_get_member (release, member);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  return has_type (node, G_TYPE_BOOLEAN) && !json_node_get_boolean (node);
}

/* The releases of @root (an array) to offer for amd64, by the header's rules. */
static GPtrArray *
qualifying (JsonNode *root)
{
  GPtrArray *tags = g_ptr_array_new ();
  JsonArray *array = json_node_get_array (root);

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      JsonObject *release;
      JsonNode *tag;
      JsonNode *assets;
      BerthK3sVersion version;
      g_autofree gchar *canonical = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        continue;
      release = json_node_get_object (element);
      tag = json_object_get_member (release, "tag_name");
      assets = json_object_get_member (release, "assets");
      if (!has_type (tag, G_TYPE_STRING)
          || !berth_k3s_version_parse_full (json_node_get_string (tag), &version)
          || berth_k3s_version_below_minimum (&version) || !flag_false (release, "draft")
          || !flag_false (release, "prerelease") || assets == NULL
          || !JSON_NODE_HOLDS_ARRAY (assets) || !has_asset (assets, "k3s")
          || !has_asset (assets, "sha256sum-amd64.txt"))
        continue;
      canonical = berth_k3s_version_to_string (&version);
      if (g_str_equal (canonical, json_node_get_string (tag)))
        g_ptr_array_add (tags, (gpointer)json_node_get_string (tag));
    }
  return tags;
}

static void
check_list (BerthK3sVersionList *list)
{
  GHashTableIter iter;
  gpointer value;

  for (guint i = 0; i < list->versions->len; i++)
    {
      const gchar *text = g_ptr_array_index (list->versions, i);
      BerthK3sVersion version;
      g_autofree gchar *canonical = NULL;

      if (!berth_k3s_version_parse_full (text, &version)
          || berth_k3s_version_below_minimum (&version))
        abort ();
      canonical = berth_k3s_version_to_string (&version);
      if (!g_str_equal (canonical, text))
        abort ();
      if (i > 0)
        {
          BerthK3sVersion before;

          berth_k3s_version_parse_full (g_ptr_array_index (list->versions, i - 1), &before);
          /* Strictly newer, and another release. */
          if (berth_k3s_version_cmp (&before, &version) <= 0
              || berth_k3s_version_same_release (&before, &version))
            abort ();
        }
    }
  g_hash_table_iter_init (&iter, list->channels);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (!berth_k3s_version_list_contains (list, value))
      abort ();
}

static void
check_versions_file (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthK3sVersionList) list = NULL;
  g_autoptr (BerthK3sVersionList) again = NULL;
  g_autofree gchar *text = NULL;

  list = berth_k3s_version_list_parse_file ((const gchar *)data, size, "the fuzzed file", &error);
  if (list == NULL)
    {
      if (error == NULL || strstr (error->message, "the fuzzed file") == NULL)
        abort ();
      return;
    }
  check_list (list);
  text = berth_k3s_version_list_to_file (list, NULL);
  again = berth_k3s_version_list_parse_file (text, strlen (text), "the written file", &error);
  if (again == NULL || !berth_k3s_version_list_equal (list, again))
    abort ();
}

static void
check_link_header (const uint8_t *data, size_t size)
{
  g_autofree gchar *text = g_strndup ((const gchar *)data, size);
  g_autofree gchar *next = berth_k3s_link_header_next (text);

  if (next != NULL
      && (next[0] == '\0' || strchr (next, '>') != NULL || strstr (text, next) == NULL))
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthK3sVersionList) list = berth_k3s_version_list_new ();
  g_autoptr (BerthK3sVersionList) twice = berth_k3s_version_list_new ();
  g_autoptr (JsonNode) reference = NULL;
  g_autoptr (GPtrArray) tags = NULL;
  BerthK3sReleasesPage page;
  guint n_found = 0;

  check_versions_file (data, size);
  check_link_header (data, size);

  reference = size <= BERTH_K3S_RELEASES_PAGE_MAX_SIZE
                  ? berth_fuzz_json_reference_parse (data, size, BERTH_K3S_JSON_MAX_DEPTH, NULL)
                  : NULL;
  if (!berth_k3s_releases_page_parse ((const gchar *)data, size, URL, "amd64", NULL, list, &page,
                                      &error))
    {
      if (error == NULL || error->domain != BERTH_ERROR || strstr (error->message, URL) == NULL
          || (reference != NULL && JSON_NODE_HOLDS_ARRAY (reference)))
        abort ();
      return 0;
    }
  if (reference == NULL || !JSON_NODE_HOLDS_ARRAY (reference) || page.reached_known
      || page.n_added > page.n_releases
      || page.n_releases != json_array_get_length (json_node_get_array (reference)))
    abort ();
  check_list (list);

  /* Each qualifying release is listed, at its build or a newer one. */
  tags = qualifying (reference);
  for (guint i = 0; i < tags->len; i++)
    {
      BerthK3sVersion version;
      BerthK3sVersion listed;
      const gchar *found;

      berth_k3s_version_parse_full (g_ptr_array_index (tags, i), &version);
      found = berth_k3s_version_list_find_release (list, &version);
      if (found == NULL || !berth_k3s_version_parse_full (found, &listed)
          || listed.build < version.build)
        abort ();
      if (g_str_equal (found, g_ptr_array_index (tags, i)))
        n_found++;
    }
  /* And nothing else: every listed version is one of them. */
  for (guint i = 0; i < list->versions->len; i++)
    {
      gboolean seen = FALSE;

      for (guint j = 0; j < tags->len && !seen; j++)
        seen = g_str_equal (g_ptr_array_index (list->versions, i), g_ptr_array_index (tags, j));
      if (!seen)
        abort ();
    }
  if (n_found < list->versions->len)
    abort ();

  /* Read again: the same. */
  if (!berth_k3s_releases_page_parse ((const gchar *)data, size, URL, "amd64", NULL, twice, NULL,
                                      &error)
      || !berth_k3s_version_list_equal (list, twice))
    abort ();
  return 0;
}
