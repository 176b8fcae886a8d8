/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Berth — k3s release data: the channels document, GitHub's releases pages,
 * k3s-versions.json. */

#include "config.h"

#include <string.h>

#include "berth-error.h"
#include "berth-json.h"
#include "berth-k3s-assets.h"
#include "berth-k3s-release-data.h"
#include "berth-k3s-releases.h"

/* Channel names are words ("stable") or branches ("v1.30"); longer or
 * stranger ones are not k3s's. */
#define CHANNEL_NAME_MAX 64

/* ---- the list ------------------------------------------------------------- */

BerthK3sVersionList *
berth_k3s_version_list_new (void)
{
  BerthK3sVersionList *list = g_new0 (BerthK3sVersionList, 1);

  list->versions = g_ptr_array_new_with_free_func (g_free);
  list->channels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return list;
}

BerthK3sVersionList *
berth_k3s_version_list_copy (const BerthK3sVersionList *list)
{
  BerthK3sVersionList *copy = berth_k3s_version_list_new ();
  GHashTableIter iter;
  gpointer key;
  gpointer value;

  for (guint i = 0; i < list->versions->len; i++)
    g_ptr_array_add (copy->versions, g_strdup (g_ptr_array_index (list->versions, i)));
  g_hash_table_iter_init (&iter, list->channels);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_insert (copy->channels, g_strdup (key), g_strdup (value));
  return copy;
}

void
berth_k3s_version_list_free (BerthK3sVersionList *list)
{
  if (list == NULL)
    return;
  g_ptr_array_unref (list->versions);
  g_hash_table_unref (list->channels);
  g_free (list);
}

static void
replace_build (BerthK3sVersionList *list, guint index, const BerthK3sVersion *version)
{
  gchar *old = g_ptr_array_index (list->versions, index);
  gchar *text = berth_k3s_version_to_string (version);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, list->channels);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (g_str_equal (value, old))
      g_hash_table_iter_replace (&iter, g_strdup (text));
  g_ptr_array_index (list->versions, index) = text;
  g_free (old);
}

gboolean
berth_k3s_version_list_add (BerthK3sVersionList *list, const BerthK3sVersion *version)
{
  g_autofree gchar *text = NULL;
  guint position = list->versions->len;

  g_return_val_if_fail (version->has_build, FALSE);

  for (guint i = 0; i < list->versions->len; i++)
    {
      BerthK3sVersion listed;

      if (!berth_k3s_version_parse (g_ptr_array_index (list->versions, i), &listed))
        g_assert_not_reached ();
      if (berth_k3s_version_same_release (&listed, version))
        {
          if (listed.build >= version->build)
            return FALSE;
          /* An older build of it: the newer takes its place, and the
           * channels that named the release name the new build. */
          replace_build (list, i, version);
          return TRUE;
        }
      if (position == list->versions->len && berth_k3s_version_cmp (version, &listed) > 0)
        position = i;
    }
  text = berth_k3s_version_to_string (version);
  g_ptr_array_insert (list->versions, (gint)position, g_steal_pointer (&text));
  return TRUE;
}

gboolean
berth_k3s_version_list_contains (const BerthK3sVersionList *list, const gchar *full_version)
{
  for (guint i = 0; i < list->versions->len; i++)
    if (g_str_equal (g_ptr_array_index (list->versions, i), full_version))
      return TRUE;
  return FALSE;
}

const gchar *
berth_k3s_version_list_find_release (const BerthK3sVersionList *list,
                                     const BerthK3sVersion *version)
{
  for (guint i = 0; i < list->versions->len; i++)
    {
      const gchar *text = g_ptr_array_index (list->versions, i);
      BerthK3sVersion listed;

      if (berth_k3s_version_parse (text, &listed)
          && berth_k3s_version_same_release (&listed, version))
        return text;
    }
  return NULL;
}

void
berth_k3s_version_list_set_channels (BerthK3sVersionList *list, GHashTable *channels)
{
  GHashTableIter iter;
  gpointer key;
  gpointer value;

  g_hash_table_remove_all (list->channels);
  g_hash_table_iter_init (&iter, channels);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      BerthK3sVersion version;
      const gchar *listed;

      if (!berth_k3s_version_parse (value, &version))
        continue;
      listed = berth_k3s_version_list_find_release (list, &version);
      if (listed != NULL)
        g_hash_table_insert (list->channels, g_strdup (key), g_strdup (listed));
    }
}

gboolean
berth_k3s_version_list_equal (const BerthK3sVersionList *a, const BerthK3sVersionList *b)
{
  GHashTableIter iter;
  gpointer key;
  gpointer value;

  if (a->versions->len != b->versions->len
      || g_hash_table_size (a->channels) != g_hash_table_size (b->channels))
    return FALSE;
  for (guint i = 0; i < a->versions->len; i++)
    if (!g_str_equal (g_ptr_array_index (a->versions, i), g_ptr_array_index (b->versions, i)))
      return FALSE;
  g_hash_table_iter_init (&iter, a->channels);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (g_strcmp0 (value, g_hash_table_lookup (b->channels, key)) != 0)
      return FALSE;
  return TRUE;
}

/* A "vX.Y" channel: its numbers, for ordering. */
static gboolean
parse_branch_channel (const gchar *name, guint *major, guint *minor)
{
  g_autofree gchar *as_version = g_strconcat (name, ".0", NULL);
  BerthK3sVersion version;

  if (name[0] != 'v' || !berth_k3s_version_parse (as_version, &version) || version.has_build)
    return FALSE;
  *major = version.major;
  *minor = version.minor;
  return TRUE;
}

static gint
compare_channel_names (gconstpointer pa, gconstpointer pb)
{
  const gchar *a = *(const gchar *const *)pa;
  const gchar *b = *(const gchar *const *)pb;
  guint a_major, a_minor, b_major, b_minor;
  gboolean a_branch = parse_branch_channel (a, &a_major, &a_minor);
  gboolean b_branch = parse_branch_channel (b, &b_major, &b_minor);

  if (g_str_equal (a, "stable") || g_str_equal (b, "stable"))
    return g_str_equal (a, "stable") ? (g_str_equal (b, "stable") ? 0 : -1) : 1;
  if (a_branch != b_branch)
    return a_branch ? 1 : -1;
  if (a_branch)
    {
      if (a_major != b_major)
        return a_major > b_major ? -1 : 1;
      if (a_minor != b_minor)
        return a_minor > b_minor ? -1 : 1;
    }
  return strcmp (a, b);
}

GStrv
berth_k3s_version_list_channel_names (const BerthK3sVersionList *list)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, list->channels);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (names, g_strdup (key));
  g_ptr_array_sort (names, compare_channel_names);
  g_ptr_array_add (names, NULL);
  return (GStrv)g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

/* ---- k3s-versions.json ------------------------------------------------------ */

static gboolean
node_is_string (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node)
         && json_node_get_value_type (node) == G_TYPE_STRING;
}

static gboolean
node_is_boolean (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node)
         && json_node_get_value_type (node) == G_TYPE_BOOLEAN;
}

/* A string for a message: escaped, and cut short. */
static gchar *
quote_for_message (const gchar *text)
{
  g_autofree gchar *escaped = g_strescape (text, NULL);

  if (strlen (escaped) > 80)
    {
      escaped[77] = '\0';
      return g_strconcat (escaped, "...", NULL);
    }
  return g_steal_pointer (&escaped);
}

BerthK3sVersionList *
berth_k3s_version_list_parse_file (const gchar *data, gsize length, const gchar *what,
                                   GError **error)
{
  g_autoptr (BerthK3sVersionList) list = berth_k3s_version_list_new ();
  g_autoptr (GHashTable) channels = NULL;
  g_autoptr (JsonNode) root = NULL;
  JsonObject *object;
  JsonNode *format;
  JsonNode *versions;
  JsonNode *channels_node;
  JsonArray *array;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (what != NULL, NULL);

  if (length > BERTH_K3S_VERSIONS_FILE_MAX_SIZE)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is %" G_GSIZE_FORMAT " bytes, more than the %u allowed for a list of k3s "
                   "versions",
                   what, length, (guint)BERTH_K3S_VERSIONS_FILE_MAX_SIZE);
      return NULL;
    }
  root = berth_json_parse (data != NULL ? data : "", length, BERTH_K3S_JSON_MAX_DEPTH, what, error);
  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is not a list of k3s versions: expected a JSON object with "
                   "\"formatVersion\", \"versions\" and \"channels\"",
                   what);
      return NULL;
    }
  object = json_node_get_object (root);
  format = json_object_get_member (object, "formatVersion");
  if (format == NULL || !JSON_NODE_HOLDS_VALUE (format)
      || json_node_get_value_type (format) != G_TYPE_INT64)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s has no \"formatVersion\" number; it is not a list of k3s versions that "
                   "Berth wrote",
                   what);
      return NULL;
    }
  if (json_node_get_int (format) != BERTH_K3S_VERSIONS_FILE_FORMAT)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s has format %" G_GINT64_FORMAT ", and this Berth reads format %d only", what,
                   json_node_get_int (format), BERTH_K3S_VERSIONS_FILE_FORMAT);
      return NULL;
    }

  versions = json_object_get_member (object, "versions");
  if (versions == NULL || !JSON_NODE_HOLDS_ARRAY (versions))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA, "%s has no \"versions\" list",
                   what);
      return NULL;
    }
  array = json_node_get_array (versions);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      BerthK3sVersion version;

      if (!node_is_string (element))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "%s: versions[%u] is not a string; each version is written like "
                       "\"v1.30.2+k3s1\"",
                       what, i);
          return NULL;
        }
      if (!berth_k3s_version_parse_full (json_node_get_string (element), &version))
        {
          g_autofree gchar *quoted = quote_for_message (json_node_get_string (element));

          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "%s: versions[%u] “%s” is not a k3s version; each is written like "
                       "\"v1.30.2+k3s1\"",
                       what, i, quoted);
          return NULL;
        }
      /* Never offered, whoever wrote the file. */
      if (!berth_k3s_version_below_minimum (&version))
        berth_k3s_version_list_add (list, &version);
    }

  channels_node = json_object_get_member (object, "channels");
  if (channels_node == NULL || !JSON_NODE_HOLDS_OBJECT (channels_node))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA, "%s has no \"channels\" object",
                   what);
      return NULL;
    }
  channels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  {
    JsonObject *channels_object = json_node_get_object (channels_node);
    g_autoptr (GList) names = json_object_get_members (channels_object);

    for (GList *l = names; l != NULL; l = l->next)
      {
        JsonNode *value = json_object_get_member (channels_object, l->data);
        BerthK3sVersion version;

        if (!node_is_string (value)
            || !berth_k3s_version_parse_full (json_node_get_string (value), &version))
          {
            g_autofree gchar *quoted = quote_for_message (l->data);

            g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                         "%s: the channel “%s” does not name a k3s version like "
                         "\"v1.30.2+k3s1\"",
                         what, quoted);
            return NULL;
          }
        g_hash_table_insert (channels, g_strdup (l->data), g_strdup (json_node_get_string (value)));
      }
  }
  berth_k3s_version_list_set_channels (list, channels);
  return g_steal_pointer (&list);
}

gchar *
berth_k3s_version_list_to_file (const BerthK3sVersionList *list, GDateTime *updated)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_auto (GStrv) names = berth_k3s_version_list_channel_names (list);
  g_autofree gchar *text = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "formatVersion");
  json_builder_add_int_value (builder, BERTH_K3S_VERSIONS_FILE_FORMAT);
  if (updated != NULL)
    {
      g_autofree gchar *iso = g_date_time_format_iso8601 (updated);

      json_builder_set_member_name (builder, "updated");
      json_builder_add_string_value (builder, iso);
    }
  json_builder_set_member_name (builder, "versions");
  json_builder_begin_array (builder);
  for (guint i = 0; i < list->versions->len; i++)
    json_builder_add_string_value (builder, g_ptr_array_index (list->versions, i));
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "channels");
  json_builder_begin_object (builder);
  for (guint i = 0; names[i] != NULL; i++)
    {
      json_builder_set_member_name (builder, names[i]);
      json_builder_add_string_value (builder, g_hash_table_lookup (list->channels, names[i]));
    }
  json_builder_end_object (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  text = berth_json_to_string (root, TRUE);
  return g_strconcat (text, "\n", NULL);
}

/* ---- the channels document ---------------------------------------------------- */

static gboolean
channel_name_is_valid (const gchar *name)
{
  gsize len = strlen (name);

  if (len == 0 || len > CHANNEL_NAME_MAX)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (name[i]) && name[i] != '.' && name[i] != '-' && name[i] != '_')
      return FALSE;
  return TRUE;
}

GHashTable *
berth_k3s_channels_parse (const gchar *data, gsize length, const gchar *url, GError **error)
{
  g_autoptr (GHashTable) channels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (JsonNode) root = NULL;
  g_autofree gchar *what = g_strdup_printf ("the k3s channels from %s", url);
  JsonNode *data_node;
  JsonArray *array;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (url != NULL, NULL);

  if (length > BERTH_K3S_CHANNELS_MAX_SIZE)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s are %" G_GSIZE_FORMAT " bytes, more than the %u allowed", what, length,
                   (guint)BERTH_K3S_CHANNELS_MAX_SIZE);
      return NULL;
    }
  root = berth_json_parse (data != NULL ? data : "", length, BERTH_K3S_JSON_MAX_DEPTH, what, error);
  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root)
      || (data_node = json_object_get_member (json_node_get_object (root), "data")) == NULL
      || !JSON_NODE_HOLDS_ARRAY (data_node))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s are not a channels list: expected a JSON object whose \"data\" is a list "
                   "of channels ({\"name\": \"stable\", \"latest\": \"v1.30.2+k3s1\"})",
                   what);
      return NULL;
    }
  array = json_node_get_array (data_node);
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
      if (!node_is_string (name))
        name = json_object_get_member (channel, "id");
      latest = json_object_get_member (channel, "latest");
      if (!node_is_string (name) || !node_is_string (latest)
          || !channel_name_is_valid (json_node_get_string (name))
          || !berth_k3s_version_parse_full (json_node_get_string (latest), &version)
          || g_hash_table_contains (channels, json_node_get_string (name)))
        continue;
      g_hash_table_insert (channels, g_strdup (json_node_get_string (name)),
                           berth_k3s_version_to_string (&version));
    }
  return g_steal_pointer (&channels);
}

/* ---- GitHub's releases pages ------------------------------------------------------ */

/* Whether @assets (a release's "assets") has an asset named @name. */
static gboolean
has_asset (JsonArray *assets, const gchar *name)
{
  for (guint i = 0; i < json_array_get_length (assets); i++)
    {
      JsonNode *element = json_array_get_element (assets, i);
      JsonNode *asset_name;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        continue;
      asset_name = json_object_get_member (json_node_get_object (element), "name");
      if (node_is_string (asset_name) && g_str_equal (json_node_get_string (asset_name), name))
        return TRUE;
    }
  return FALSE;
}

/* A boolean member that is absent counts as FALSE; one of another type
 * makes the release unreadable. */
static gboolean
get_flag (JsonObject *object, const gchar *member, gboolean *flag)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      *flag = FALSE;
      return TRUE;
    }
  if (!node_is_boolean (node))
    return FALSE;
  *flag = json_node_get_boolean (node);
  return TRUE;
}

gboolean
berth_k3s_releases_page_parse (const gchar *data, gsize length, const gchar *url, const gchar *arch,
                               const BerthK3sVersionList *known, BerthK3sVersionList *into,
                               BerthK3sReleasesPage *page, GError **error)
{
  g_autoptr (JsonNode) root = NULL;
  g_autofree gchar *what = g_strdup_printf ("the k3s releases page %s", url);
  g_autofree gchar *checksums_name = NULL;
  const gchar *binary_name;
  JsonArray *array;
  BerthK3sReleasesPage result = { 0 };

  g_return_val_if_fail (data != NULL || length == 0, FALSE);
  g_return_val_if_fail (url != NULL, FALSE);
  g_return_val_if_fail (into != NULL, FALSE);
  g_return_val_if_fail (berth_k3s_arch_normalize (arch) != NULL, FALSE);

  binary_name = berth_k3s_binary_name (arch);
  checksums_name = berth_k3s_checksums_name (arch);

  if (length > BERTH_K3S_RELEASES_PAGE_MAX_SIZE)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is %" G_GSIZE_FORMAT " bytes, more than the %u allowed", what, length,
                   (guint)BERTH_K3S_RELEASES_PAGE_MAX_SIZE);
      return FALSE;
    }
  root = berth_json_parse (data != NULL ? data : "", length, BERTH_K3S_JSON_MAX_DEPTH, what, error);
  if (root == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_ARRAY (root))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is not a list of releases: expected a JSON list of objects with "
                   "\"tag_name\" and \"assets\", as GitHub's releases API gives",
                   what);
      return FALSE;
    }
  array = json_node_get_array (root);
  result.n_releases = json_array_get_length (array);
  for (guint i = 0; i < result.n_releases; i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      JsonObject *release;
      JsonNode *tag;
      JsonNode *assets;
      BerthK3sVersion version;
      gboolean draft;
      gboolean prerelease;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        continue;
      release = json_node_get_object (element);
      tag = json_object_get_member (release, "tag_name");
      if (!node_is_string (tag)
          || !berth_k3s_version_parse_full (json_node_get_string (tag), &version))
        continue;
      if (known != NULL && berth_k3s_version_list_contains (known, json_node_get_string (tag)))
        {
          /* Releases are listed newest first: from here on, all were read before. */
          result.reached_known = TRUE;
          break;
        }
      if (berth_k3s_version_below_minimum (&version))
        {
          result.below_minimum = TRUE;
          continue;
        }
      assets = json_object_get_member (release, "assets");
      if (!get_flag (release, "draft", &draft) || !get_flag (release, "prerelease", &prerelease)
          || draft || prerelease || assets == NULL || !JSON_NODE_HOLDS_ARRAY (assets)
          || !has_asset (json_node_get_array (assets), binary_name)
          || !has_asset (json_node_get_array (assets), checksums_name))
        continue;
      /* A tag written differently ("1.30.2+k3s1") downloads under its own
       * name; only the canonical form is offered. */
      {
        g_autofree gchar *canonical = berth_k3s_version_to_string (&version);

        if (!g_str_equal (canonical, json_node_get_string (tag)))
          continue;
      }
      if (berth_k3s_version_list_add (into, &version))
        result.n_added++;
    }
  if (page != NULL)
    *page = result;
  return TRUE;
}

/* ---- Link headers ---------------------------------------------------------------- */

/* Whether the parameters after a link's URL (";rel=next; …") say rel="next". */
static gboolean
params_say_next (const gchar *params)
{
  g_auto (GStrv) parts = g_strsplit (params, ";", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      g_autofree gchar *part = g_strstrip (g_strdup (parts[i]));
      g_autofree gchar *value = NULL;
      g_auto (GStrv) rels = NULL;
      const gchar *eq;

      if (g_ascii_strncasecmp (part, "rel", 3) != 0)
        continue;
      eq = part + 3;
      while (*eq == ' ' || *eq == '\t')
        eq++;
      if (*eq != '=')
        continue;
      value = g_strstrip (g_strdup (eq + 1));
      if (value[0] == '"')
        {
          gsize len = strlen (value);

          if (len < 2 || value[len - 1] != '"')
            continue;
          value[len - 1] = '\0';
          memmove (value, value + 1, len - 1);
        }
      /* rel may hold several relation types, separated by spaces. */
      rels = g_strsplit_set (value, " \t", -1);
      for (guint j = 0; rels[j] != NULL; j++)
        if (g_ascii_strcasecmp (rels[j], "next") == 0)
          return TRUE;
    }
  return FALSE;
}

gchar *
berth_k3s_link_header_next (const gchar *link_header)
{
  const gchar *p = link_header;

  if (link_header == NULL)
    return NULL;
  while (*p != '\0')
    {
      const gchar *open = strchr (p, '<');
      const gchar *close;
      const gchar *end;
      g_autofree gchar *params = NULL;

      if (open == NULL)
        return NULL;
      close = strchr (open + 1, '>');
      if (close == NULL)
        return NULL;
      /* The parameters run to the next link (a comma outside quotes). */
      end = close + 1;
      {
        gboolean quoted = FALSE;

        while (*end != '\0' && (quoted || *end != ','))
          {
            if (*end == '"')
              quoted = !quoted;
            end++;
          }
      }
      params = g_strndup (close + 1, (gsize)(end - close - 1));
      if (params_say_next (params) && close > open + 1)
        return g_strndup (open + 1, (gsize)(close - open - 1));
      p = *end == ',' ? end + 1 : end;
    }
  return NULL;
}
