/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdlib.h>

#include "berthctl-k8s.h"

#define EXIT_OK 0
#define EXIT_FAILED 1
#define EXIT_USAGE 2

static const gchar usage[]
    = "Usage: berthctl k8s COMMAND [OPTIONS]\n"
      "\n"
      "  versions                            the Kubernetes versions to choose from\n"
      "  services                            the cluster's services and their forwards\n"
      "  forward NAMESPACE/SERVICE PORT [HOST_PORT]\n"
      "                                      serve PORT (number or name) on 127.0.0.1\n"
      "  unforward NAMESPACE/SERVICE PORT    stop serving it\n"
      "\n"
      "Options: -o, --output text|json, and berthd's connection flags (--host, --port,\n"
      "--user, --password, --config-path).\n";

static int
fail (const GError *error)
{
  g_printerr ("berthctl: %s\n", error->message);
  return EXIT_FAILED;
}

static int
usage_error (const gchar *message)
{
  g_printerr ("berthctl: %s\n%s", message, usage);
  return EXIT_USAGE;
}

static void
print_json (JsonNode *node)
{
  g_autofree gchar *text = json_to_string (node, TRUE);

  g_print ("%s\n", text);
}

static int
show_versions (BerthctlRemote *remote, gboolean json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) answer
      = berthctl_remote_call (remote, "GET", "/v1/k8s_versions", NULL, &error);
  JsonArray *versions;

  if (answer == NULL)
    return fail (error);
  if (json)
    {
      print_json (answer);
      return EXIT_OK;
    }
  versions = JSON_NODE_HOLDS_OBJECT (answer)
                 ? json_object_get_array_member (json_node_get_object (answer), "versions")
                 : NULL;
  for (guint i = 0; versions != NULL && i < json_array_get_length (versions); i++)
    g_print ("%s\n", json_array_get_string_element (versions, i));
  return EXIT_OK;
}

static int
show_services (BerthctlRemote *remote, gboolean json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) answer
      = berthctl_remote_call (remote, "GET", "/v1/k8s_services", NULL, &error);
  JsonArray *services;

  if (answer == NULL)
    return fail (error);
  if (json || !JSON_NODE_HOLDS_ARRAY (answer))
    {
      print_json (answer);
      return EXIT_OK;
    }
  services = json_node_get_array (answer);
  g_print ("%-16s %-24s %-12s %-8s %-10s %s\n", "NAMESPACE", "NAME", "TYPE", "PORT", "PROTOCOL",
           "FORWARDED");
  for (guint i = 0; i < json_array_get_length (services); i++)
    {
      JsonObject *service = json_array_get_object_element (services, i);
      JsonArray *ports = service != NULL ? json_object_get_array_member (service, "ports") : NULL;

      for (guint j = 0; ports != NULL && j < json_array_get_length (ports); j++)
        {
          JsonObject *port = json_array_get_object_element (ports, j);
          JsonNode *host = json_object_get_member (port, "hostPort");
          g_autofree gchar *forwarded
              = host != NULL && JSON_NODE_HOLDS_VALUE (host)
                    ? g_strdup_printf ("127.0.0.1:%" G_GINT64_FORMAT, json_node_get_int (host))
                    : g_strdup ("-");

          g_print ("%-16s %-24s %-12s %-8" G_GINT64_FORMAT " %-10s %s\n",
                   json_object_get_string_member_with_default (service, "namespace", ""),
                   json_object_get_string_member_with_default (service, "name", ""),
                   json_object_get_string_member_with_default (service, "type", ""),
                   json_object_get_int_member_with_default (port, "port", 0),
                   json_object_get_string_member_with_default (port, "protocol", ""), forwarded);
        }
    }
  return EXIT_OK;
}

/* "namespace/service", or "service" in namespace "default". */
static void
split_service (const gchar *arg, gchar **ns_out, gchar **name_out)
{
  const gchar *slash = strchr (arg, '/');

  if (slash == NULL)
    {
      *ns_out = g_strdup ("default");
      *name_out = g_strdup (arg);
      return;
    }
  *ns_out = g_strndup (arg, (gsize)(slash - arg));
  *name_out = g_strdup (slash + 1);
}

static int
forward (BerthctlRemote *remote, int argc, char **argv)
{
  g_autofree gchar *ns = NULL, *name = NULL;
  g_autoptr (JsonObject) body = json_object_new ();
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (JsonNode) answer = NULL;
  g_autoptr (GError) error = NULL;
  guint64 number = 0;

  if (argc < 3 || argc > 4)
    return usage_error ("k8s forward takes NAMESPACE/SERVICE PORT [HOST_PORT]");
  split_service (argv[1], &ns, &name);
  json_object_set_string_member (body, "namespace", ns);
  json_object_set_string_member (body, "service", name);
  if (g_ascii_string_to_unsigned (argv[2], 10, 1, 65535, &number, NULL))
    json_object_set_int_member (body, "k8sPort", (gint64)number);
  else
    json_object_set_string_member (body, "k8sPort", argv[2]);
  if (argc == 4)
    {
      if (!g_ascii_string_to_unsigned (argv[3], 10, 0, 65535, &number, NULL))
        return usage_error ("k8s forward: HOST_PORT must be a port number from 0 to 65535");
      json_object_set_int_member (body, "hostPort", (gint64)number);
    }
  node = json_node_init_object (json_node_alloc (), body);
  answer = berthctl_remote_call (remote, "POST", "/v1/port_forwarding", node, &error);
  if (answer == NULL)
    return fail (error);
  if (JSON_NODE_HOLDS_VALUE (answer) && json_node_get_value_type (answer) == G_TYPE_INT64)
    g_print ("%s/%s:%s is on 127.0.0.1:%" G_GINT64_FORMAT "\n", ns, name, argv[2],
             json_node_get_int (answer));
  else if (JSON_NODE_HOLDS_VALUE (answer) && json_node_get_value_type (answer) == G_TYPE_STRING)
    g_print ("%s/%s:%s is on 127.0.0.1:%s\n", ns, name, argv[2], json_node_get_string (answer));
  return EXIT_OK;
}

static int
unforward (BerthctlRemote *remote, int argc, char **argv)
{
  g_autofree gchar *ns = NULL, *name = NULL;
  g_autofree gchar *ns_q = NULL, *name_q = NULL, *port_q = NULL, *path = NULL;
  g_autoptr (JsonNode) answer = NULL;
  g_autoptr (GError) error = NULL;

  if (argc != 3)
    return usage_error ("k8s unforward takes NAMESPACE/SERVICE PORT");
  split_service (argv[1], &ns, &name);
  ns_q = g_uri_escape_string (ns, NULL, FALSE);
  name_q = g_uri_escape_string (name, NULL, FALSE);
  port_q = g_uri_escape_string (argv[2], NULL, FALSE);
  path = g_strdup_printf ("/v1/port_forwarding?namespace=%s&service=%s&k8sPort=%s", ns_q, name_q,
                          port_q);
  answer = berthctl_remote_call (remote, "DELETE", path, NULL, &error);
  if (answer == NULL)
    return fail (error);
  g_print ("%s/%s:%s is not forwarded\n", ns, name, argv[2]);
  return EXIT_OK;
}

int
berthctl_cmd_k8s (BerthctlConnection *conn, int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthctlRemote) remote = NULL;
  g_autofree gchar *output = NULL;
  gboolean json;
  GOptionEntry entries[] = { { "output", 'o', 0, G_OPTION_ARG_STRING, &output,
                               "Output format: text or json", "FORMAT" },
                             { NULL } };

  g_return_val_if_fail (conn != NULL, EXIT_FAILED);

  /* GOption's own help is off (the usage above says more): --help is ours. */
  for (gint i = 1; i < argc; i++)
    if (g_str_equal (argv[i], "--help") || g_str_equal (argv[i], "-h"))
      {
        g_print ("%s", usage);
        return EXIT_OK;
      }
  context = g_option_context_new ("COMMAND");
  g_option_context_set_help_enabled (context, FALSE);
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_group (context, berthctl_connection_option_group (conn));
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error (error->message);
  if (argc < 2 || g_str_equal (argv[1], "help") || g_str_equal (argv[1], "--help"))
    {
      g_print ("%s", usage);
      return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
  if (output != NULL && !g_str_equal (output, "json") && !g_str_equal (output, "text"))
    return usage_error ("--output takes text or json");
  json = g_strcmp0 (output, "json") == 0;
  remote = berthctl_remote_new (conn, &error);
  if (remote == NULL)
    return fail (error);
  if (g_str_equal (argv[1], "versions") && argc == 2)
    return show_versions (remote, json);
  if (g_str_equal (argv[1], "services") && argc == 2)
    return show_services (remote, json);
  if (g_str_equal (argv[1], "forward"))
    return forward (remote, argc - 1, argv + 1);
  if (g_str_equal (argv[1], "unforward"))
    return unforward (remote, argc - 1, argv + 1);
  return usage_error ("k8s: unknown command or extra arguments");
}
