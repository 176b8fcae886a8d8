/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for k3s's channels document (update.k3s.io's
 * /v1-release/channels, or BERTH_K3S_CHANNELS_URL): the bytes are the
 * body. berth_k3s_channels_parse() must refuse it with an error or return
 * channel names that are k3s's kind of name, each mapped to a full version
 * in its canonical form; never crash. What it returns is held against a
 * second reading: fuzz-json-reference.c's tree, walked here by the rules
 * the header gives ("name", else "id"; "latest" a full version; the first
 * of a name wins), and the two must agree exactly. The channels then go
 * through k3s-versions.json and back unchanged. Built by
 * tests/fuzz/meson.build; run with G_DEBUG=fatal-criticals. */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "berth-error.h"
#include "berth-k3s-release-data.h"

#include "fuzz-common.h"
#include "fuzz-json-reference.h"

static gboolean
is_string (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node)
         && json_node_get_value_type (node) == G_TYPE_STRING;
}

static gboolean
name_allowed (const gchar *name)
{
  gsize len = strlen (name);

  if (len == 0 || len > 64)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (name[i]) && strchr ("._-", name[i]) == NULL)
      return FALSE;
  return TRUE;
}

/* The channels @root holds, by the documented rules; NULL when it is not a
 * channels document. */
static GHashTable *
expected_channels (JsonNode *root)
{
  g_autoptr (GHashTable) table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  JsonNode *data;
  JsonArray *array;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  data = json_object_get_member (json_node_get_object (root), "data");
  if (data == NULL || !JSON_NODE_HOLDS_ARRAY (data))
    return NULL;
  array = json_node_get_array (data);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      JsonObject *channel;
      JsonNode *name;
      JsonNode *latest;
      BerthK3sVersion version;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        continue;
      channel = json_node_get_object (element);
      name = json_object_get_member (channel, "name");
      if (!is_string (name))
        name = json_object_get_member (channel, "id");
      latest = json_object_get_member (channel, "latest");
      if (!is_string (name) || !is_string (latest) || !name_allowed (json_node_get_string (name))
          || !berth_k3s_version_parse_full (json_node_get_string (latest), &version)
          || g_hash_table_contains (table, json_node_get_string (name)))
        continue;
      g_hash_table_insert (table, g_strdup (json_node_get_string (name)),
                           berth_k3s_version_to_string (&version));
    }
  return g_steal_pointer (&table);
}

static gboolean
tables_equal (GHashTable *a, GHashTable *b)
{
  GHashTableIter iter;
  gpointer key;
  gpointer value;

  if (g_hash_table_size (a) != g_hash_table_size (b))
    return FALSE;
  g_hash_table_iter_init (&iter, a);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (g_strcmp0 (value, g_hash_table_lookup (b, key)) != 0)
      return FALSE;
  return TRUE;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) channels = NULL;
  g_autoptr (GHashTable) expected = NULL;
  g_autoptr (JsonNode) reference = NULL;
  g_autoptr (BerthK3sVersionList) list = berth_k3s_version_list_new ();
  g_autoptr (BerthK3sVersionList) again = NULL;
  g_autofree gchar *file = NULL;
  GHashTableIter iter;
  gpointer key;
  gpointer value;

  channels = berth_k3s_channels_parse ((const gchar *)data, size, "https://fuzz.invalid/channels",
                                       &error);
  if (size <= BERTH_K3S_CHANNELS_MAX_SIZE)
    {
      reference = berth_fuzz_json_reference_parse (data, size, BERTH_K3S_JSON_MAX_DEPTH, NULL);
      expected = expected_channels (reference);
    }
  if (channels == NULL)
    {
      /* Refused: with an error that names the URL, and only what is not a
       * channels document. */
      if (error == NULL || error->domain != BERTH_ERROR
          || strstr (error->message, "https://fuzz.invalid/channels") == NULL || expected != NULL)
        abort ();
      return 0;
    }
  if (error != NULL || expected == NULL || !tables_equal (channels, expected))
    abort ();

  /* Each names a canonical full version, and goes into a list and back. */
  g_hash_table_iter_init (&iter, channels);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      BerthK3sVersion version;
      g_autofree gchar *canonical = NULL;

      if (!name_allowed (key) || !berth_k3s_version_parse_full (value, &version))
        abort ();
      canonical = berth_k3s_version_to_string (&version);
      if (!g_str_equal (canonical, value))
        abort ();
      berth_k3s_version_list_add (list, &version);
    }
  berth_k3s_version_list_set_channels (list, channels);
  /* Builds of one release collapse to the newest; the channels follow. */
  if (g_hash_table_size (list->channels) != g_hash_table_size (channels))
    abort ();
  file = berth_k3s_version_list_to_file (list, NULL);
  again = berth_k3s_version_list_parse_file (file, strlen (file), "the written list", &error);
  if (again == NULL || !berth_k3s_version_list_equal (list, again))
    abort ();
  return 0;
}
