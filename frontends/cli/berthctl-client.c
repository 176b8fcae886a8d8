#include "config.h"

#include "berthctl-client.h"

#include "berth.h"

struct _BerthctlClient
{
  BerthSettings *settings;
  BerthPluginLoader *loader;
  BerthPaths *paths;
};

BerthctlClient *
berthctl_client_new_local (GError **error)
{
  g_autoptr (BerthPaths) paths = berth_paths_new ();
  g_autofree gchar *settings_file = berth_paths_get_settings_file (paths);
  g_autoptr (BerthSettings) settings = berth_settings_new (settings_file, NULL);
  BerthctlClient *client;

  if (!berth_settings_load (settings, error))
    return NULL;
  if (berth_settings_get_corrupt_path (settings) != NULL)
    g_printerr ("berthctl: %s did not parse; it was kept as %s and defaults are in use\n",
                settings_file, berth_settings_get_corrupt_path (settings));
  client = g_new0 (BerthctlClient, 1);
  client->settings = g_steal_pointer (&settings);
  client->paths = g_steal_pointer (&paths);
  return client;
}

void
berthctl_client_free (BerthctlClient *client)
{
  if (client == NULL)
    return;
  g_clear_object (&client->settings);
  g_clear_object (&client->loader);
  g_clear_pointer (&client->paths, berth_paths_free);
  g_free (client);
}

static BerthPluginLoader *
ensure_loader (BerthctlClient *client, GError **error)
{
  if (client->loader == NULL)
    {
      g_autoptr (BerthPluginLoader) loader = berth_plugin_loader_new (client->settings,
                                                                      client->paths);
      if (!berth_plugin_loader_load_all (loader, NULL, error))
        return NULL;
      client->loader = g_steal_pointer (&loader);
    }
  return client->loader;
}

static JsonNode *
about_node (void)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_string_value (b, BERTH_VERSION_STRING);
  json_builder_set_member_name (b, "platform");
  json_builder_add_string_value (b, berth_platform_to_string (berth_platform_current ()));
  json_builder_set_member_name (b, "pluginAbi");
  json_builder_add_int_value (b, BERTH_PLUGIN_ABI);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static JsonNode *
pending_node (void)
{
  /* Nothing runs in-process, so nothing waits for a restart. */
  JsonObject *answer = json_object_new ();
  json_object_set_object_member (answer, "pending", json_object_new ());
  return json_node_init_object (json_node_alloc (), answer);
}

JsonNode *
berthctl_client_call (BerthctlClient *client, const gchar *method, const gchar *path,
                      JsonNode *body, GError **error)
{
  if (g_str_equal (path, "/v1/settings") && g_str_equal (method, "GET"))
    return berth_settings_dup_node (client->settings);
  if (g_str_equal (path, "/v1/settings") && g_str_equal (method, "PUT"))
    {
      if (body == NULL || !JSON_NODE_HOLDS_OBJECT (body))
        {
          g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                               "the settings body must be a JSON object");
          return NULL;
        }
      if (!berth_settings_update (client->settings, body, NULL, error))
        return NULL;
      return pending_node ();
    }
  if (g_str_equal (path, "/v1/plugins") && g_str_equal (method, "GET"))
    {
      BerthPluginLoader *loader = ensure_loader (client, error);
      return loader != NULL ? berth_plugin_loader_to_json (loader) : NULL;
    }
  if (g_str_equal (path, "/v1/about") && g_str_equal (method, "GET"))
    return about_node ();
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND, "%s %s: no such endpoint", method, path);
  return NULL;
}
