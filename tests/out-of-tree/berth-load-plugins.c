/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Loads the plugins in one directory with Berth's loader, prints what
 * `berthctl plugins` would, and fails unless the named plugin loaded.
 * Usage: berth-load-plugins DIR NAME */
#include "config.h"

#include <stdio.h>

#include "berth.h"

int
main (int argc, char **argv)
{
  g_autoptr (BerthPluginLoader) loader = NULL;
  g_autoptr (JsonNode) json = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = NULL;
  GPtrArray *failures;

  if (argc != 3)
    {
      g_printerr ("Usage: %s DIR NAME\n", argv[0]);
      return 2;
    }

  g_unsetenv ("BERTH_PLUGIN_PATH");
  loader = berth_plugin_loader_new (NULL, NULL);
  berth_plugin_loader_add_search_path (loader, argv[1]);
  if (!berth_plugin_loader_load_all (loader, NULL, &error))
    {
      g_printerr ("Loading plugins from %s failed: %s\n", argv[1], error->message);
      return 1;
    }
  json = berth_plugin_loader_to_json (loader);
  text = json_to_string (json, TRUE);
  g_print ("%s\n", text);

  if (berth_plugin_loader_find (loader, argv[2]) != NULL)
    return 0;
  failures = berth_plugin_loader_get_failures (loader);
  for (guint i = 0; i < failures->len; i++)
    {
      BerthPluginFailure *failure = g_ptr_array_index (failures, i);

      if (g_strcmp0 (failure->name, argv[2]) == 0)
        {
          g_printerr ("Plugin %s (%s) did not load: %s\n", failure->name, failure->file,
                      failure->reason);
          return 1;
        }
    }
  g_printerr ("No plugin named %s in %s\n", argv[2], argv[1]);
  return 1;
}
