/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "berth-error.h"
#include "berth-settings-private.h"
#include "berth-settings.h"

/* Settings that only take their default value in this build, or on a host
 * that lacks what they need. Every other setting in the schema is acted on;
 * these are refused when set to anything else, so that none is stored and
 * ignored in silence. */

typedef enum
{
  SUPPORT_NEVER,        /* not in this build */
  SUPPORT_NEEDS_PKEXEC, /* only where polkit's pkexec is installed */
} SupportCondition;

typedef struct
{
  const gchar *path;
  SupportCondition condition;
  const gchar *reason;
} UnsupportedSetting;

#define ALLOW_LIST_REASON                                                                          \
  "Berth cannot enforce an image allow-list for both pulls and runs: Rancher Desktop does it "     \
  "with a registry proxy in its VM, which Berth's VM does not have"

static const UnsupportedSetting unsupported_settings[] = {
  { "application.telemetry.enabled", SUPPORT_NEVER, "Berth sends no telemetry" },
  /* Read by a window or tray icon; berthd has neither, and always runs in
   * the background. */
  { "application.startInBackground", SUPPORT_NEVER,
    "this build has no window or tray icon; berthd always starts in the background" },
  { "containerEngine.allowedImages.enabled", SUPPORT_NEVER, ALLOW_LIST_REASON },
  { "containerEngine.allowedImages.patterns", SUPPORT_NEVER, ALLOW_LIST_REASON },
  { "application.adminAccess", SUPPORT_NEEDS_PKEXEC,
    "pkexec (polkit) is not installed, so Berth cannot ask for administrator rights; install "
    "it (the Debian package pkexec) and restart berthd" },
};

static const UnsupportedSetting *
find_unsupported (const gchar *path)
{
  for (gsize i = 0; i < G_N_ELEMENTS (unsupported_settings); i++)
    if (g_str_equal (unsupported_settings[i].path, path))
      return &unsupported_settings[i];
  return NULL;
}

const gchar *
berth_settings_get_unsupported_reason (const gchar *path, const BerthHostInfo *host)
{
  const UnsupportedSetting *entry;
  BerthHostInfo detected;

  g_return_val_if_fail (path != NULL, NULL);

  entry = find_unsupported (path);
  if (entry == NULL)
    return NULL;
  switch (entry->condition)
    {
    case SUPPORT_NEVER:
      return entry->reason;
    case SUPPORT_NEEDS_PKEXEC:
      if (host == NULL)
        {
          berth_host_info_detect (&detected);
          host = &detected;
        }
      return host->has_pkexec ? NULL : entry->reason;
    default:
      g_assert_not_reached ();
      return NULL;
    }
}

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

JsonNode *
berth_settings_dup_default (const gchar *path, const BerthHostInfo *host)
{
  g_autoptr (JsonNode) defaults = NULL;
  JsonNode *node;

  g_return_val_if_fail (berth_settings_lookup_spec (path) != NULL, NULL);

  defaults = berth_settings_new_defaults (host);
  node = lookup (defaults, path);
  g_return_val_if_fail (node != NULL, NULL);
  return berth_settings_deep_copy (node);
}

gboolean
berth_settings_check_supported (const gchar *path, JsonNode *value, const BerthHostInfo *host,
                                GError **error)
{
  const gchar *reason;
  g_autoptr (JsonNode) default_value = NULL;
  g_autofree gchar *shown = NULL;
  g_autofree gchar *allowed = NULL;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  reason = berth_settings_get_unsupported_reason (path, host);
  if (reason == NULL)
    return TRUE;
  default_value = berth_settings_dup_default (path, host);
  if (default_value == NULL || json_node_equal (value, default_value))
    return TRUE;
  shown = berth_settings_describe_value (value);
  allowed = berth_settings_describe_value (default_value);
  if (JSON_NODE_HOLDS_ARRAY (default_value)
      && json_array_get_length (json_node_get_array (default_value)) == 0)
    {
      g_free (allowed);
      allowed = g_strdup ("an empty list");
    }
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
               "%s: %s is not supported on this platform or build (%s); only %s is accepted", path,
               shown, reason, allowed);
  return FALSE;
}

GStrv
berth_settings_settle_unsupported (JsonNode *root, const BerthHostInfo *host)
{
  g_autoptr (GPtrArray) settled = g_ptr_array_new_with_free_func (g_free);

  g_return_val_if_fail (root != NULL && JSON_NODE_HOLDS_OBJECT (root), NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (unsupported_settings); i++)
    {
      const gchar *path = unsupported_settings[i].path;
      JsonNode *node = lookup (root, path);
      g_autoptr (GError) error = NULL;
      g_autofree gchar *parent_path = NULL;
      const gchar *dot;
      JsonNode *parent;

      if (node == NULL || berth_settings_check_supported (path, node, host, &error))
        continue;
      dot = strrchr (path, '.');
      parent_path = g_strndup (path, (gsize)(dot - path));
      parent = lookup (root, parent_path);
      g_assert (parent != NULL && JSON_NODE_HOLDS_OBJECT (parent));
      json_object_set_member (json_node_get_object (parent), dot + 1,
                              berth_settings_dup_default (path, host));
      g_message ("settings.json: %s; the setting is set back to its default", error->message);
      g_ptr_array_add (settled, g_strdup (path));
    }
  g_ptr_array_add (settled, NULL);
  return (GStrv)g_ptr_array_free (g_steal_pointer (&settled), FALSE);
}

static const gchar *
type_to_string (BerthSettingType type)
{
  switch (type)
    {
    case BERTH_SETTING_BOOLEAN:
      return "boolean";
    case BERTH_SETTING_INT:
      return "integer";
    case BERTH_SETTING_STRING:
      return "string";
    case BERTH_SETTING_ENUM:
      return "enum";
    case BERTH_SETTING_STRING_LIST:
      return "string-list";
    case BERTH_SETTING_BOOLEAN_MAP:
      return "boolean-map";
    default:
      return "unknown";
    }
}

JsonNode *
berth_settings_describe_schema (const BerthHostInfo *host)
{
  g_autoptr (JsonArray) array = json_array_new ();
  g_autoptr (JsonNode) defaults = NULL;
  const BerthSettingSpec *schema;
  BerthHostInfo detected;
  guint n = 0;

  if (host == NULL)
    {
      berth_host_info_detect (&detected);
      host = &detected;
    }
  defaults = berth_settings_new_defaults (host);
  schema = berth_settings_get_schema (&n);
  for (guint i = 0; i < n; i++)
    {
      const BerthSettingSpec *spec = &schema[i];
      g_autoptr (JsonObject) entry = json_object_new ();
      const gchar *reason = berth_settings_get_unsupported_reason (spec->path, host);

      json_object_set_string_member (entry, "key", spec->path);
      json_object_set_string_member (entry, "type", type_to_string (spec->type));
      if (spec->type == BERTH_SETTING_ENUM)
        {
          g_autoptr (JsonArray) choices = json_array_new ();

          for (guint c = 0; spec->choices[c] != NULL; c++)
            json_array_add_string_element (choices, spec->choices[c]);
          json_object_set_array_member (entry, "choices", g_steal_pointer (&choices));
        }
      if (spec->type == BERTH_SETTING_INT)
        {
          json_object_set_int_member (entry, "min", spec->min);
          json_object_set_int_member (entry, "max", spec->max);
        }
      json_object_set_member (entry, "default",
                              berth_settings_deep_copy (lookup (defaults, spec->path)));
      json_object_set_string_member (entry, "effect",
                                     berth_setting_effect_to_string (spec->effect));
      json_object_set_string_member (entry, "description", spec->description);
      json_object_set_boolean_member (entry, "supported", reason == NULL);
      if (reason != NULL)
        json_object_set_string_member (entry, "unsupportedReason", reason);
      json_array_add_object_element (array, g_steal_pointer (&entry));
    }
  return json_node_init_array (json_node_alloc (), array);
}
