/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "berth.h"
#include "berthctl-update.h"

/* As the rest of berthctl (and rdctl). */
enum
{
  EXIT_OK = 0,
  EXIT_FAILED = 1,
  EXIT_USAGE = 2,
};

/* An apply downloads the release first: give it time. */
#define DEFAULT_TIMEOUT 1800

typedef struct
{
  const gchar *name;
  const gchar *method;
  const gchar *path;
  const gchar *summary;
} Subcommand;

static const Subcommand subcommands[] = {
  { "status", "GET", "/v1/update", "Show whether Berth updates itself and what it last found" },
  { "check", "PUT", "/v1/update/check", "Ask now for the newest release" },
  { "apply", "PUT", "/v1/update/apply",
    "Download the newer release, verify it, install it and restart berthd into it" },
};

static void
print_usage (FILE *to)
{
  fprintf (to, "Usage: berthctl update [SUBCOMMAND] [OPTION…]\n\nSubcommands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (subcommands); i++)
    fprintf (to, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
  fprintf (to, "\nWithout a subcommand, status. Run berthctl update SUBCOMMAND --help for its "
               "options.\n");
}

static const gchar *
member_string (JsonObject *object, const gchar *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
member_boolean (JsonObject *object, const gchar *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_VALUE (node)
         && json_node_get_value_type (node) == G_TYPE_BOOLEAN && json_node_get_boolean (node);
}

/* The update status berthd answers, for people. */
static void
print_status (JsonNode *node)
{
  JsonObject *status = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  JsonNode *latest_node = status != NULL ? json_object_get_member (status, "latest") : NULL;
  JsonObject *latest = latest_node != NULL && JSON_NODE_HOLDS_OBJECT (latest_node)
                           ? json_node_get_object (latest_node)
                           : NULL;
  const gchar *last = member_string (status, "lastCheck");
  const gchar *next = member_string (status, "nextCheck");

  if (!member_boolean (status, "supported"))
    g_print ("Updates:      not supported: %s\n", member_string (status, "detail"));
  else
    g_print ("Updates:      %s (application.updater.enabled), by the %s plugin\n",
             member_boolean (status, "enabled") ? "automatic" : "only when asked",
             member_string (status, "updater"));
  g_print ("This version: %s\n", member_string (status, "currentVersion"));
  if (member_boolean (status, "supported"))
    g_print ("State:        %s: %s\n", member_string (status, "state"),
             member_string (status, "detail"));
  if (latest != NULL)
    g_print ("Newest:       %s%s (from %s)\n", member_string (latest, "version"),
             member_boolean (latest, "updateAvailable") ? ", newer than this one" : "",
             member_string (latest, "source"));
  if (last != NULL)
    g_print ("Last check:   %s\n", last);
  if (next != NULL)
    g_print ("Next check:   %s\n", next);
}

static void
print_json (JsonNode *node)
{
  g_autofree gchar *text = berth_json_to_string (node, TRUE);

  g_print ("%s\n", text);
}

int
berthctl_cmd_update (BerthctlConnection *conn, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GOptionContext) ctx = NULL;
  g_autoptr (BerthctlRemote) remote = NULL;
  g_autoptr (JsonNode) answer = NULL;
  g_autofree gchar *output = NULL;
  g_autofree gchar *param = NULL;
  gint timeout = DEFAULT_TIMEOUT;
  const Subcommand *sub = &subcommands[0];
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_STRING, &output, "Output format: text or json", "FORMAT" },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout,
      "Give up waiting for berthd after this many seconds (default 1800)", "SECONDS" },
    { NULL },
  };

  g_return_val_if_fail (conn != NULL, EXIT_FAILED);
  g_return_val_if_fail (argc >= 1, EXIT_USAGE);

  if (argc >= 2 && (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "help")))
    {
      print_usage (stdout);
      return EXIT_OK;
    }
  if (argc >= 2 && argv[1][0] != '-')
    {
      sub = NULL;
      for (guint i = 0; i < G_N_ELEMENTS (subcommands); i++)
        if (g_str_equal (subcommands[i].name, argv[1]))
          sub = &subcommands[i];
      if (sub == NULL)
        {
          g_printerr ("berthctl: update has no subcommand \"%s\"\n", argv[1]);
          print_usage (stderr);
          return EXIT_USAGE;
        }
      argc--;
      argv++;
    }

  param = g_strdup_printf ("update %s", sub->name);
  ctx = g_option_context_new (param);
  g_option_context_set_summary (ctx, sub->summary);
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, berthctl_connection_option_group (conn));
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("berthctl: %s\n", error->message);
      return EXIT_USAGE;
    }
  if (argc > 1)
    {
      g_printerr ("berthctl: unexpected argument \"%s\"; see berthctl update %s --help\n", argv[1],
                  sub->name);
      return EXIT_USAGE;
    }
  if (output != NULL && !g_str_equal (output, "text") && !g_str_equal (output, "json"))
    {
      g_printerr ("berthctl: --output \"%s\" is not a format; use json or text\n", output);
      return EXIT_USAGE;
    }
  if (timeout <= 0)
    {
      g_printerr ("berthctl: --timeout must be a positive number of seconds, not %d\n", timeout);
      return EXIT_USAGE;
    }

  remote = berthctl_remote_new (conn, &error);
  if (remote == NULL)
    {
      g_printerr ("berthctl: %s\n", error->message);
      return EXIT_FAILED;
    }
  soup_session_set_timeout (berthctl_remote_get_session (remote), (guint)timeout);
  answer = berthctl_remote_call (remote, sub->method, sub->path, NULL, &error);
  if (answer == NULL)
    {
      g_printerr ("berthctl: %s\n", error->message);
      return EXIT_FAILED;
    }
  if (output != NULL && g_str_equal (output, "json"))
    print_json (answer);
  else
    {
      print_status (answer);
      if (g_str_equal (sub->name, "apply"))
        g_print ("berthd is restarting to run the new release\n");
    }
  return EXIT_OK;
}
