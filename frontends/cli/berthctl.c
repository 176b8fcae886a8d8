#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>

#include "berth.h"
#include "berthctl-client.h"
#include "berthctl-flags.h"

/* Exit codes, as rdctl. */
enum
{
  EXIT_OK = 0,
  EXIT_FAILED = 1,
  EXIT_USAGE = 2,
};

typedef struct
{
  gchar *output; /* -o json|text */
} BerthctlOptions;

typedef int (*BerthctlCommandFunc) (BerthctlOptions *opts, int argc, char **argv);

typedef struct
{
  const gchar *name;
  const gchar *summary;
  BerthctlCommandFunc run;
} BerthctlCommand;

static const BerthctlCommand *command_lookup (const gchar *name);

/* Errors from parsing the command line are usage errors (exit 2); anything
 * the core refuses is a failure (exit 1). */
static int
fail (GError *error)
{
  g_printerr ("berthctl: %s\n", error->message);
  return error->domain == G_OPTION_ERROR ? EXIT_USAGE : EXIT_FAILED;
}

static void
print_json (JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autofree gchar *text = NULL;

  json_generator_set_pretty (gen, TRUE);
  json_generator_set_indent (gen, 2);
  json_generator_set_root (gen, node);
  text = json_generator_to_data (gen, NULL);
  g_print ("%s\n", text);
}

static gboolean
parse_command_options (const gchar *command, const gchar *parameter, const gchar *summary,
                       GOptionEntry *entries, GOptionGroup *extra, int *argc, char ***argv,
                       GError **error)
{
  g_autoptr (GOptionContext) ctx = NULL;
  g_autofree gchar *param = g_strdup_printf ("%s%s%s", command, parameter ? " " : "",
                                             parameter ? parameter : "");

  ctx = g_option_context_new (param);
  g_option_context_set_summary (ctx, summary);
  if (entries != NULL)
    g_option_context_add_main_entries (ctx, entries, NULL);
  if (extra != NULL)
    g_option_context_add_group (ctx, extra);
  return g_option_context_parse (ctx, argc, argv, error);
}

static gboolean
check_output_option (BerthctlOptions *opts, GError **error)
{
  if (opts->output == NULL || g_str_equal (opts->output, "text")
      || g_str_equal (opts->output, "json"))
    return TRUE;
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               "--output \"%s\" is not a format; use json or text", opts->output);
  return FALSE;
}

static gboolean
want_json (BerthctlOptions *opts)
{
  return opts->output != NULL && g_str_equal (opts->output, "json");
}

static gboolean
no_extra_args (int argc, char **argv, GError **error)
{
  if (argc <= 1)
    return TRUE;
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
               "unexpected argument \"%s\"; see berthctl %s --help", argv[1], argv[0]);
  return FALSE;
}

static int
cmd_version (BerthctlOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  if (!parse_command_options ("version", NULL, "Show berthctl's version.", NULL, NULL, &argc,
                              &argv, &error)
      || !no_extra_args (argc, argv, &error))
    return fail (error);
  g_print ("berthctl %s (plugin ABI %d)\n", BERTH_VERSION_STRING, BERTH_PLUGIN_ABI);
  return EXIT_OK;
}

static int
cmd_paths (BerthctlOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthPaths) paths = berth_paths_new ();
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_STRING, &opts->output, "Output format: text or json",
      "FORMAT" },
    { NULL }
  };
  const struct
  {
    const gchar *key;
    const gchar *value;
  } rows[] = {
    { "config", paths->config },
    { "data", paths->data },
    { "logs", paths->logs },
    { "cache", paths->cache },
    { "lima", paths->lima },
    { "integration", paths->integration },
    { "wslDistro", paths->wsl_distro },
    { "wslDistroData", paths->wsl_distro_data },
    { "runtime", paths->runtime },
  };

  if (!parse_command_options ("paths", NULL, "Show where Berth keeps its files.", entries, NULL,
                              &argc, &argv, &error)
      || !no_extra_args (argc, argv, &error) || !check_output_option (opts, &error))
    return fail (error);

  json_builder_begin_object (b);
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      if (rows[i].value == NULL)
        continue;
      if (want_json (opts))
        {
          json_builder_set_member_name (b, rows[i].key);
          json_builder_add_string_value (b, rows[i].value);
        }
      else
        g_print ("%-14s %s\n", rows[i].key, rows[i].value);
    }
  json_builder_end_object (b);
  if (want_json (opts))
    {
      root = json_builder_get_root (b);
      print_json (root);
    }
  return EXIT_OK;
}

static int
cmd_plugins (BerthctlOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthctlClient) client = NULL;
  g_autoptr (JsonNode) plugins = NULL;
  JsonArray *array;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_STRING, &opts->output, "Output format: text or json",
      "FORMAT" },
    { NULL }
  };

  if (!parse_command_options ("plugins", NULL,
                              "List the plugins found, what each provides, or why it did not "
                              "load.",
                              entries, NULL, &argc, &argv, &error)
      || !no_extra_args (argc, argv, &error) || !check_output_option (opts, &error))
    return fail (error);
  client = berthctl_client_new_local (&error);
  if (client == NULL)
    return fail (error);
  plugins = berthctl_client_call (client, "GET", "/v1/plugins", NULL, &error);
  if (plugins == NULL)
    return fail (error);
  if (want_json (opts) || !JSON_NODE_HOLDS_ARRAY (plugins))
    {
      print_json (plugins);
      return EXIT_OK;
    }
  array = json_node_get_array (plugins);
  if (json_array_get_length (array) == 0)
    g_print ("No plugins found. Set BERTH_PLUGIN_PATH or install them into %s.\n",
             BERTH_PLUGIN_DIR);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *p = json_array_get_object_element (array, i);
      const gchar *name = json_object_get_string_member_with_default (p, "name", "?");
      const gchar *status = json_object_get_string_member_with_default (p, "status", "?");

      if (g_str_equal (status, "loaded"))
        {
          JsonArray *ifaces = json_object_get_array_member (p, "interfaces");
          g_autoptr (GString) list = g_string_new (NULL);

          for (guint j = 0; ifaces != NULL && j < json_array_get_length (ifaces); j++)
            g_string_append_printf (list, "%s%s", j > 0 ? ", " : "",
                                    json_array_get_string_element (ifaces, j));
          g_print ("%-12s loaded    %s\n", name, list->len > 0 ? list->str : "(no interfaces)");
        }
      else
        g_print ("%-12s %-9s %s: %s\n", name, status,
                 json_object_get_string_member_with_default (p, "file", ""),
                 json_object_get_string_member_with_default (p, "reason", ""));
    }
  return EXIT_OK;
}

static int
cmd_list_settings (BerthctlOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthctlClient) client = NULL;
  g_autoptr (JsonNode) settings = NULL;

  if (!parse_command_options ("list-settings", NULL, "Print the current settings as JSON.",
                              NULL, NULL, &argc, &argv, &error)
      || !no_extra_args (argc, argv, &error))
    return fail (error);
  client = berthctl_client_new_local (&error);
  if (client == NULL)
    return fail (error);
  settings = berthctl_client_call (client, "GET", "/v1/settings", NULL, &error);
  if (settings == NULL)
    return fail (error);
  print_json (settings);
  return EXIT_OK;
}

static void
print_pending (JsonNode *answer)
{
  JsonObject *pending;
  GList *keys;

  if (answer == NULL || !JSON_NODE_HOLDS_OBJECT (answer))
    return;
  pending = json_object_get_object_member (json_node_get_object (answer), "pending");
  if (pending == NULL)
    return;
  keys = json_object_get_members (pending);
  for (GList *l = keys; l != NULL; l = l->next)
    {
      JsonObject *change = json_object_get_object_member (pending, l->data);
      const gchar *severity = change != NULL
                                ? json_object_get_string_member_with_default (change, "severity",
                                                                              "restart")
                                : "restart";
      g_print ("%s: takes effect after a %s\n", (const gchar *) l->data,
               g_str_equal (severity, "reset") ? "reset" : "restart");
    }
  g_list_free (keys);
}

static int
cmd_set (BerthctlOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthctlSettingFlags) flags = berthctl_setting_flags_new ();
  g_autoptr (BerthctlClient) client = NULL;
  g_autoptr (JsonNode) partial = NULL;
  g_autoptr (JsonNode) answer = NULL;

  if (!parse_command_options ("set", "--SETTING[=VALUE]…",
                              "Change settings; each flag names one setting "
                              "(see --help-settings).",
                              NULL, berthctl_setting_flags_get_group (flags), &argc, &argv,
                              &error)
      || !no_extra_args (argc, argv, &error))
    return fail (error);
  partial = berthctl_setting_flags_dup_partial (flags);
  if (partial == NULL)
    {
      g_printerr ("berthctl: set needs at least one setting flag, such as "
                  "--kubernetes.enabled=true; see berthctl set --help-settings\n");
      return EXIT_USAGE;
    }
  client = berthctl_client_new_local (&error);
  if (client == NULL)
    return fail (error);
  answer = berthctl_client_call (client, "PUT", "/v1/settings", partial, &error);
  if (answer == NULL)
    return fail (error);
  print_pending (answer);
  return EXIT_OK;
}

static const BerthctlCommand commands[] = {
  { "version", "Show the version", cmd_version },
  { "paths", "Show where Berth keeps its files", cmd_paths },
  { "plugins", "List plugins and what they provide", cmd_plugins },
  { "list-settings", "Print the current settings as JSON", cmd_list_settings },
  { "set", "Change settings", cmd_set },
};

static const BerthctlCommand *
command_lookup (const gchar *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (commands[i].name, name))
      return &commands[i];
  return NULL;
}

static void
print_usage (FILE *to)
{
  fprintf (to, "Usage: berthctl COMMAND [OPTION…]\n\nCommands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (to, "  %-16s %s\n", commands[i].name, commands[i].summary);
  fprintf (to, "\nRun berthctl COMMAND --help for a command's options.\n");
}

int
main (int argc, char **argv)
{
  BerthctlOptions opts = { 0 };
  const BerthctlCommand *command;
  int status;

  setlocale (LC_ALL, "");
  if (argc < 2)
    {
      print_usage (stderr);
      return EXIT_USAGE;
    }
  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h")
      || g_str_equal (argv[1], "help"))
    {
      print_usage (stdout);
      return EXIT_OK;
    }
  if (g_str_equal (argv[1], "--version"))
    return cmd_version (&opts, 1, argv);
  command = command_lookup (argv[1]);
  if (command == NULL)
    {
      g_printerr ("berthctl: unknown command \"%s\"\n", argv[1]);
      print_usage (stderr);
      return EXIT_USAGE;
    }
  status = command->run (&opts, argc - 1, argv + 1);
  g_free (opts.output);
  return status;
}
