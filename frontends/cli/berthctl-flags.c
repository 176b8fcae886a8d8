/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "berthctl-flags.h"

#include "berth-error.h"

struct _BerthctlSettingFlags
{
  GArray *entries;        /* GOptionEntry, terminated */
  GHashTable *flag_paths; /* "--flag-name" → setting path */
  JsonNode *partial;      /* object, or NULL before the first flag */
  GOptionGroup *group;
};

/* rdctl's older spellings. */
static const struct
{
  const gchar *flag;
  const gchar *path;
} flag_aliases[] = {
  { "container-engine", "containerEngine.name" },
  { "kubernetes-enabled", "kubernetes.enabled" },
  { "kubernetes-version", "kubernetes.version" },
};

/* Splits camelCase words where a capital starts a word: before a capital that
 * follows a small letter, when the capital begins a run of capitals
 * ("memoryInGB" → memory-in-gb, "numberCPUs" → number-cpus) or is followed by
 * a small letter ("adminAccess"). A lone final capital stays with its word
 * ("diskSizeGiB" → disk-size-gib). */
gchar *
berthctl_flag_name_for_path (const gchar *path)
{
  GString *out = g_string_new (NULL);

  for (const gchar *p = path; *p != '\0'; p++)
    {
      gboolean starts_word = FALSE;

      if (g_ascii_isupper (*p) && p > path && g_ascii_islower (p[-1]))
        starts_word = g_ascii_islower (p[1]) || g_ascii_isupper (p[1]);
      if (starts_word)
        g_string_append_c (out, '-');
      g_string_append_c (out, g_ascii_tolower (*p));
    }
  return g_string_free (out, FALSE);
}

static JsonObject *
ensure_parent (JsonNode *root, const gchar *path, gchar **leaf_out)
{
  g_auto (GStrv) parts = g_strsplit (path, ".", -1);
  JsonObject *obj = json_node_get_object (root);
  guint n = g_strv_length (parts);

  for (guint i = 0; i + 1 < n; i++)
    {
      if (!json_object_has_member (obj, parts[i])
          || !JSON_NODE_HOLDS_OBJECT (json_object_get_member (obj, parts[i])))
        json_object_set_object_member (obj, parts[i], json_object_new ());
      obj = json_object_get_object_member (obj, parts[i]);
    }
  *leaf_out = g_strdup (parts[n - 1]);
  return obj;
}

/* Turns the flag's text into the JSON the setting's type wants. Text that does
 * not fit is passed on as a string, so that the settings validator names the
 * key, the value and what it allows, the same message the API gives. */
static gboolean
flag_set_value (BerthctlSettingFlags *self, const gchar *path, const gchar *value,
                GError **error)
{
  const BerthSettingSpec *spec = berth_settings_lookup_spec (path);
  g_autofree gchar *leaf = NULL;
  JsonObject *parent;

  if (spec == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "unknown setting %s", path);
      return FALSE;
    }
  if (self->partial == NULL)
    self->partial = json_node_init_object (json_node_alloc (), json_object_new ());
  parent = ensure_parent (self->partial, path, &leaf);

  switch (spec->type)
    {
    case BERTH_SETTING_BOOLEAN:
      if (value == NULL || g_ascii_strcasecmp (value, "true") == 0)
        json_object_set_boolean_member (parent, leaf, TRUE);
      else if (g_ascii_strcasecmp (value, "false") == 0)
        json_object_set_boolean_member (parent, leaf, FALSE);
      else
        json_object_set_string_member (parent, leaf, value);
      break;
    case BERTH_SETTING_INT:
      {
        gint64 v;
        if (value != NULL && g_ascii_string_to_signed (value, 10, G_MININT64, G_MAXINT64, &v, NULL))
          json_object_set_int_member (parent, leaf, v);
        else
          json_object_set_string_member (parent, leaf, value != NULL ? value : "");
        break;
      }
    case BERTH_SETTING_STRING:
    case BERTH_SETTING_ENUM:
      json_object_set_string_member (parent, leaf, value != NULL ? value : "");
      break;
    case BERTH_SETTING_STRING_LIST:
      {
        /* Repeated flags add; commas separate; an empty value clears. */
        JsonArray *array;
        g_auto (GStrv) items = NULL;

        if (!json_object_has_member (parent, leaf)
            || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (parent, leaf)))
          json_object_set_array_member (parent, leaf, json_array_new ());
        array = json_object_get_array_member (parent, leaf);
        items = g_strsplit (value != NULL ? value : "", ",", -1);
        for (guint i = 0; items[i] != NULL; i++)
          if (items[i][0] != '\0')
            json_array_add_string_element (array, items[i]);
        break;
      }
    case BERTH_SETTING_BOOLEAN_MAP:
      {
        /* NAME=true|false, repeatable. */
        JsonObject *map;
        const gchar *eq = value != NULL ? strchr (value, '=') : NULL;
        g_autofree gchar *name = NULL;

        if (eq == NULL || eq == value)
          {
            g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                         "%s: expected NAME=true or NAME=false, got \"%s\"", path,
                         value != NULL ? value : "");
            return FALSE;
          }
        if (!json_object_has_member (parent, leaf)
            || !JSON_NODE_HOLDS_OBJECT (json_object_get_member (parent, leaf)))
          json_object_set_object_member (parent, leaf, json_object_new ());
        map = json_object_get_object_member (parent, leaf);
        name = g_strndup (value, eq - value);
        if (g_ascii_strcasecmp (eq + 1, "true") == 0)
          json_object_set_boolean_member (map, name, TRUE);
        else if (g_ascii_strcasecmp (eq + 1, "false") == 0)
          json_object_set_boolean_member (map, name, FALSE);
        else
          json_object_set_string_member (map, name, eq + 1);
        break;
      }
    default:
      g_assert_not_reached ();
    }
  return TRUE;
}

static gboolean
flag_callback (const gchar *option_name, const gchar *value, gpointer data, GError **error)
{
  BerthctlSettingFlags *self = data;
  const gchar *path = g_hash_table_lookup (self->flag_paths, option_name);

  if (path == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION, "unknown option %s",
                   option_name);
      return FALSE;
    }
  return flag_set_value (self, path, value, error);
}

static void
add_entry (BerthctlSettingFlags *self, const gchar *flag, const gchar *path,
           const BerthSettingSpec *spec, gboolean hidden)
{
  GOptionEntry entry = { 0 };
  g_autofree gchar *choices = NULL;

  g_hash_table_insert (self->flag_paths, g_strconcat ("--", flag, NULL), g_strdup (path));
  entry.long_name = g_strdup (flag);
  entry.arg = G_OPTION_ARG_CALLBACK;
  entry.arg_data = (gpointer) flag_callback;
  entry.flags = hidden ? G_OPTION_FLAG_HIDDEN : 0;
  switch (spec->type)
    {
    case BERTH_SETTING_BOOLEAN:
      entry.flags |= G_OPTION_FLAG_OPTIONAL_ARG;
      entry.arg_description = g_strdup ("[true|false]");
      break;
    case BERTH_SETTING_INT:
      entry.arg_description = g_strdup_printf ("%" G_GINT64_FORMAT "..%" G_GINT64_FORMAT,
                                               spec->min, spec->max);
      break;
    case BERTH_SETTING_ENUM:
      choices = g_strjoinv ("|", (gchar **) spec->choices);
      entry.arg_description = g_steal_pointer (&choices);
      break;
    case BERTH_SETTING_STRING_LIST:
      entry.arg_description = g_strdup ("A,B,…");
      break;
    case BERTH_SETTING_BOOLEAN_MAP:
      entry.arg_description = g_strdup ("NAME=true|false");
      break;
    case BERTH_SETTING_STRING:
    default:
      entry.arg_description = g_strdup ("STRING");
      break;
    }
  entry.description = hidden ? g_strdup_printf ("alias of --%s", path)
                             : g_strdup (spec->description != NULL ? spec->description : path);
  /* As berthd on this machine will refuse it (berth-settings-support.c). */
  if (!hidden && berth_settings_get_unsupported_reason (path, NULL) != NULL)
    {
      gchar *marked = g_strdup_printf ("%s [not supported here: %s]", entry.description,
                                       berth_settings_get_unsupported_reason (path, NULL));

      g_free ((gchar *)entry.description);
      entry.description = marked;
    }
  g_array_append_val (self->entries, entry);
}

BerthctlSettingFlags *
berthctl_setting_flags_new (void)
{
  BerthctlSettingFlags *self = g_new0 (BerthctlSettingFlags, 1);
  const BerthSettingSpec *schema;
  guint n = 0;
  GOptionEntry end = { 0 };

  self->entries = g_array_new (FALSE, TRUE, sizeof (GOptionEntry));
  self->flag_paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  schema = berth_settings_get_schema (&n);
  for (guint i = 0; i < n; i++)
    {
      g_autofree gchar *flag = berthctl_flag_name_for_path (schema[i].path);
      add_entry (self, flag, schema[i].path, &schema[i], FALSE);
    }
  for (guint i = 0; i < G_N_ELEMENTS (flag_aliases); i++)
    {
      const BerthSettingSpec *spec = berth_settings_lookup_spec (flag_aliases[i].path);
      if (spec != NULL)
        add_entry (self, flag_aliases[i].flag, flag_aliases[i].path, spec, TRUE);
    }
  g_array_append_val (self->entries, end);
  return self;
}

void
berthctl_setting_flags_free (BerthctlSettingFlags *self)
{
  if (self == NULL)
    return;
  for (guint i = 0; i < self->entries->len; i++)
    {
      GOptionEntry *e = &g_array_index (self->entries, GOptionEntry, i);
      g_free ((gchar *) e->long_name);
      g_free ((gchar *) e->description);
      g_free ((gchar *) e->arg_description);
    }
  g_array_unref (self->entries);
  g_hash_table_unref (self->flag_paths);
  if (self->partial != NULL)
    json_node_unref (self->partial);
  g_free (self);
}

GOptionGroup *
berthctl_setting_flags_get_group (BerthctlSettingFlags *self)
{
  GOptionGroup *group = g_option_group_new ("settings", "Settings:", "Show the setting flags",
                                            self, NULL);
  g_option_group_add_entries (group, (GOptionEntry *) self->entries->data);
  return group;
}

JsonNode *
berthctl_setting_flags_dup_partial (BerthctlSettingFlags *self)
{
  return self->partial != NULL ? json_node_copy (self->partial) : NULL;
}
