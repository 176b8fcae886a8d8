/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <gio/gunixinputstream.h>

#include "berth.h"
#include "berthctl-flags.h"
#include "berthctl-images.h"
#include "berthctl-k8s.h"
#include "berthctl-launch.h"
#include "berthctl-logs.h"
#include "berthctl-remote.h"
#include "berthctl-update.h"
#include "berthctl-wait.h"

/* Exit codes, as rdctl. */
enum
{
  EXIT_OK = 0,
  EXIT_FAILED = 1,
  EXIT_USAGE = 2,
};

#define DEFAULT_WAIT_TIMEOUT 900
/* As berthd's API reads a request body. */
#define IMPORT_MAX_DEPTH 64

typedef struct
{
  BerthctlConnection conn;
  gchar *output; /* -o json|text */
} BerthctlOptions;

typedef int (*BerthctlCommandFunc) (BerthctlOptions *opts, int argc, char **argv);

typedef struct
{
  const gchar *name;
  const gchar *summary;
  BerthctlCommandFunc run;
} BerthctlCommand;

/* Errors from parsing the command line are usage errors (exit 2); anything
 * berthd refuses is a failure (exit 1). */
static int
fail (GError *error)
{
  g_printerr ("berthctl: %s\n", error->message);
  return error->domain == G_OPTION_ERROR ? EXIT_USAGE : EXIT_FAILED;
}

static gchar *
node_to_json_text (JsonNode *node, gboolean pretty)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();

  json_generator_set_pretty (gen, pretty);
  json_generator_set_indent (gen, 2);
  json_generator_set_root (gen, node);
  return json_generator_to_data (gen, NULL);
}

static void
print_json (JsonNode *node)
{
  g_autofree gchar *text = node_to_json_text (node, TRUE);
  g_print ("%s\n", text);
}

static gboolean
parse_options (BerthctlOptions *opts, const gchar *command, const gchar *parameter,
               const gchar *summary, GOptionEntry *entries, GOptionGroup *extra,
               gboolean connection, int *argc, char ***argv, GError **error)
{
  g_autoptr (GOptionContext) ctx = NULL;
  g_autofree gchar *prgname = g_strdup_printf ("berthctl %s", command);

  /* GOption's usage line is "<prgname> [OPTION…] <parameter>": "berthctl
   * start [OPTION…] …", not the command's name twice. */
  g_set_prgname (prgname);
  ctx = g_option_context_new (parameter);
  g_option_context_set_summary (ctx, summary);
  if (entries != NULL)
    g_option_context_add_main_entries (ctx, entries, NULL);
  if (extra != NULL)
    g_option_context_add_group (ctx, extra);
  if (connection)
    g_option_context_add_group (ctx, berthctl_connection_option_group (&opts->conn));
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

static gboolean
check_wait_timeout (gint wait_timeout, GError **error)
{
  if (wait_timeout > 0)
    return TRUE;
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               "--wait-timeout must be a positive number of seconds, not %d", wait_timeout);
  return FALSE;
}

static BerthctlRemote *
connect_daemon (BerthctlOptions *opts, GError **error)
{
  return berthctl_remote_new (&opts->conn, error);
}

#define OUTPUT_ENTRY                                                                              \
  { "output", 'o', 0, G_OPTION_ARG_STRING, &opts->output, "Output format: text or json",         \
    "FORMAT" }

/* --wait-timeout for a wait of DEFAULT_WAIT_TIMEOUT seconds into @variable. */
#define WAIT_TIMEOUT_ENTRY(variable)                                                              \
  { "wait-timeout", 0, 0, G_OPTION_ARG_INT, &(variable),                                         \
    "Give up waiting after this many seconds (default 900)", "SECONDS" }

/* Follows berthd until the start or restart that it answered with @answer
 * has the VM running; @action names what is waited for. */
static gboolean
wait_until_running (BerthctlRemote *remote, const gchar *action, JsonNode *answer,
                    gint wait_timeout, GError **error)
{
  if (!berthctl_wait_for_state (remote, "STARTED", action, answer, (guint)wait_timeout, error))
    return FALSE;
  g_print ("Berth is running\n");
  return TRUE;
}

static int
cmd_version (BerthctlOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  if (!parse_options (opts, "version", NULL, "Show berthctl's version.", NULL, NULL, FALSE, &argc,
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
  GOptionEntry entries[] = { OUTPUT_ENTRY, { NULL } };
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

  if (!parse_options (opts, "paths", NULL, "Show where Berth keeps its files.", entries, NULL,
                      FALSE, &argc, &argv, &error)
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
cmd_logs (BerthctlOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthPaths) paths = berth_paths_new ();
  g_autoptr (GPtrArray) names = NULL;
  gboolean follow = FALSE;
  GOptionEntry entries[] = {
    { "follow", 'f', 0, G_OPTION_ARG_NONE, &follow, "Keep printing what is appended", NULL },
    OUTPUT_ENTRY,
    { NULL },
  };

  if (!parse_options (opts, "logs", "[COMPONENT]",
                      "Show the log of a component of Berth (berthd, lima, …), or list them.",
                      entries, NULL, FALSE, &argc, &argv, &error)
      || !check_output_option (opts, &error))
    return fail (error);
  if (argc > 2)
    {
      g_set_error (&error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                   "unexpected argument \"%s\"; see berthctl logs --help", argv[2]);
      return fail (error);
    }
  if (argc == 2)
    {
      if (want_json (opts))
        {
          g_set_error (&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "-o json lists the logs; a log itself is printed as it is");
          return fail (error);
        }
      return berthctl_logs_show (paths->logs, argv[1], follow, &error) ? EXIT_OK : fail (error);
    }
  if (follow)
    {
      g_set_error (&error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                   "--follow needs a COMPONENT; berthctl logs lists them");
      return fail (error);
    }
  names = berthctl_logs_list (paths->logs, &error);
  if (names == NULL)
    return fail (error);
  if (want_json (opts))
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      g_autoptr (JsonNode) root = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "directory");
      json_builder_add_string_value (b, paths->logs);
      json_builder_set_member_name (b, "components");
      json_builder_begin_array (b);
      for (guint i = 0; i < names->len; i++)
        json_builder_add_string_value (b, g_ptr_array_index (names, i));
      json_builder_end_array (b);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      print_json (root);
      return EXIT_OK;
    }
  if (names->len == 0)
    g_print ("No logs yet in %s\n", paths->logs);
  for (guint i = 0; i < names->len; i++)
    g_print ("%s\n", (const gchar *)g_ptr_array_index (names, i));
  return EXIT_OK;
}

static int
cmd_plugins (BerthctlOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthctlRemote) remote = NULL;
  g_autoptr (JsonNode) plugins = NULL;
  GOptionEntry entries[] = { OUTPUT_ENTRY, { NULL } };
  JsonArray *array;

  if (!parse_options (opts, "plugins", NULL,
                      "List the plugins found, what each provides, or why it did not load.",
                      entries, NULL, TRUE, &argc, &argv, &error)
      || !no_extra_args (argc, argv, &error) || !check_output_option (opts, &error))
    return fail (error);
  remote = connect_daemon (opts, &error);
  if (remote == NULL)
    return fail (error);
  plugins = berthctl_remote_call (remote, "GET", "/v1/plugins", NULL, &error);
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
          g_print ("%-14s loaded    %s\n", name, list->len > 0 ? list->str : "(no interfaces)");
        }
      else
        g_print ("%-14s %-9s %s: %s\n", name, status,
                 json_object_get_string_member_with_default (p, "file", ""),
                 json_object_get_string_member_with_default (p, "reason", ""));
    }
  return EXIT_OK;
}

/* On stderr: each setting berthd does not act on here, with why. */
static void
print_unsupported_settings (JsonNode *description)
{
  JsonArray *array = JSON_NODE_HOLDS_ARRAY (description) ? json_node_get_array (description) : NULL;
  gboolean first = TRUE;

  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      JsonObject *entry = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      g_autofree gchar *shown = NULL;

      if (entry == NULL || json_object_get_boolean_member_with_default (entry, "supported", TRUE))
        continue;
      if (first)
        g_printerr ("Not supported on this platform or build (only the value shown is "
                    "accepted):\n");
      first = FALSE;
      shown = json_object_has_member (entry, "default")
                  ? json_to_string (json_object_get_member (entry, "default"), FALSE)
                  : g_strdup ("?");
      g_printerr ("  %s = %s: %s\n", json_object_get_string_member_with_default (entry, "key", "?"),
                  shown,
                  json_object_get_string_member_with_default (entry, "unsupportedReason", ""));
    }
}

static int
cmd_list_settings (BerthctlOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthctlRemote) remote = NULL;
  g_autoptr (JsonNode) settings = NULL;
  g_autoptr (JsonNode) description = NULL;

  if (!parse_options (opts, "list-settings", NULL,
                      "Print the current settings as JSON, and on stderr the settings Berth does "
                      "not act on here.",
                      NULL, NULL, TRUE, &argc, &argv, &error)
      || !no_extra_args (argc, argv, &error))
    return fail (error);
  remote = connect_daemon (opts, &error);
  if (remote == NULL)
    return fail (error);
  settings = berthctl_remote_call (remote, "GET", "/v1/settings", NULL, &error);
  if (settings == NULL)
    return fail (error);
  print_json (settings);
  /* The JSON stays what a script reads; a person reads the marks. */
  description = berthctl_remote_call (remote, "GET", "/v1/settings/description", NULL, NULL);
  if (description != NULL)
    print_unsupported_settings (description);
  return EXIT_OK;
}

static void
print_pending (JsonNode *answer)
{
  JsonObject *pending;
  GList *keys;
  gboolean restarting;
  gboolean kubernetes_restarting;

  if (answer == NULL || !JSON_NODE_HOLDS_OBJECT (answer))
    return;
  pending = json_object_get_object_member (json_node_get_object (answer), "pending");
  if (pending == NULL)
    return;
  restarting = json_object_get_boolean_member_with_default (json_node_get_object (answer),
                                                            "restarting", FALSE);
  kubernetes_restarting = json_object_get_boolean_member_with_default (
      json_node_get_object (answer), "kubernetesRestarting", FALSE);
  keys = json_object_get_members (pending);
  for (GList *l = keys; l != NULL; l = l->next)
    {
      JsonObject *change = json_object_get_object_member (pending, l->data);
      const gchar *severity = change != NULL
                                ? json_object_get_string_member_with_default (change, "severity",
                                                                              "restart")
                                : "restart";
      if (g_str_equal (severity, "reset"))
        g_print ("%s: takes effect after a reset (berthctl reset %s)\n", (const gchar *)l->data,
                 g_str_has_prefix (l->data, "kubernetes.") ? "--k8s" : "--vm");
      else if (restarting)
        g_print ("%s: the VM is restarting to apply it\n", (const gchar *)l->data);
      else if (kubernetes_restarting && g_str_has_prefix (l->data, "kubernetes."))
        g_print ("%s: Kubernetes is restarting to apply it (the VM keeps running)\n",
                 (const gchar *)l->data);
      else
        g_print ("%s: takes effect after a restart (berthctl stop && berthctl start)\n",
                 (const gchar *)l->data);
    }
  g_list_free (keys);
}

/* Polls berthd until Kubernetes' restart for a settings change is over
 * (at most @wait_timeout seconds), then says where Kubernetes ended. */
static gboolean
wait_for_kubernetes (BerthctlRemote *remote, gint wait_timeout, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64)wait_timeout * G_USEC_PER_SEC;

  while (TRUE)
    {
      g_autoptr (JsonNode) state
          = berthctl_remote_call (remote, "GET", "/v1/backend_state", NULL, error);
      JsonObject *object;
      const gchar *k8s, *reason;

      if (state == NULL)
        return FALSE;
      object = JSON_NODE_HOLDS_OBJECT (state) ? json_node_get_object (state) : NULL;
      if (object != NULL
          && !json_object_get_boolean_member_with_default (object, "kubernetesRestarting", FALSE))
        {
          k8s = json_object_get_string_member_with_default (object, "kubernetesState", "?");
          reason = json_object_get_string_member_with_default (object, "kubernetesReason", NULL);
          if (g_str_equal (k8s, "error"))
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                           "Kubernetes did not start: %s (the VM and its engine keep running)",
                           reason != NULL ? reason : "no reason given");
              return FALSE;
            }
          g_print ("Kubernetes is %s\n", k8s);
          return TRUE;
        }
      if (g_get_monotonic_time () >= deadline)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       "Kubernetes was still restarting after %d s; `berthctl info` shows how "
                       "it goes",
                       wait_timeout);
          return FALSE;
        }
      g_usleep (G_USEC_PER_SEC / 5);
    }
}

/* Returns berthd's answer; @restarting_out: whether berthd restarts the VM
 * to apply the change. */
static JsonNode *
apply_settings (BerthctlRemote *remote, JsonNode *partial, gboolean *restarting_out, GError **error)
{
  JsonNode *answer = berthctl_remote_call (remote, "PUT", "/v1/settings", partial, error);

  if (answer == NULL)
    return NULL;
  print_pending (answer);
  *restarting_out = JSON_NODE_HOLDS_OBJECT (answer)
                    && json_object_get_boolean_member_with_default (json_node_get_object (answer),
                                                                    "restarting", FALSE);
  return answer;
}

static int
cmd_set (BerthctlOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthctlSettingFlags) flags = berthctl_setting_flags_new ();
  g_autoptr (BerthctlRemote) remote = NULL;
  g_autoptr (JsonNode) partial = NULL;
  g_autoptr (JsonNode) answer = NULL;
  gboolean restarting = FALSE;
  gboolean wait = FALSE;
  gint wait_timeout = DEFAULT_WAIT_TIMEOUT;
  GOptionEntry entries[] = {
    { "wait", 'w', 0, G_OPTION_ARG_NONE, &wait,
      "When the change restarts the VM (or Kubernetes), wait until it runs again", NULL },
    WAIT_TIMEOUT_ENTRY (wait_timeout),
    { NULL }
  };

  if (!parse_options (opts, "set", "--SETTING[=VALUE]…",
                      "Change settings; each flag names one setting (see --help-settings). A "
                      "change that needs a restart restarts a running VM.",
                      entries, berthctl_setting_flags_get_group (flags), TRUE, &argc, &argv,
                      &error)
      || !no_extra_args (argc, argv, &error) || !check_wait_timeout (wait_timeout, &error))
    return fail (error);
  partial = berthctl_setting_flags_dup_partial (flags);
  if (partial == NULL)
    {
      g_printerr ("berthctl: set needs at least one setting flag, such as "
                  "--kubernetes.enabled=true; see berthctl set --help-settings\n");
      return EXIT_USAGE;
    }
  remote = connect_daemon (opts, &error);
  if (remote == NULL)
    return fail (error);
  /* Listen before asking, so that the restart's every state is seen. */
  if (wait && !berthctl_wait_prepare (remote, &error))
    return fail (error);
  answer = apply_settings (remote, partial, &restarting, &error);
  if (answer == NULL)
    return fail (error);
  if (wait && !restarting && JSON_NODE_HOLDS_OBJECT (answer)
      && json_object_get_boolean_member_with_default (json_node_get_object (answer),
                                                      "kubernetesRestarting", FALSE))
    return wait_for_kubernetes (remote, wait_timeout, &error) ? EXIT_OK : fail (error);
  if (!restarting || !wait)
    return EXIT_OK;
  if (!wait_until_running (remote, "restart", answer, wait_timeout, &error))
    return fail (error);
  return EXIT_OK;
}

static JsonNode *
put_backend_state (BerthctlRemote *remote, const gchar *state, GError **error)
{
  g_autoptr (JsonNode) body = json_node_init_object (json_node_alloc (), json_object_new ());

  json_object_set_string_member (json_node_get_object (body), "vmState", state);
  return berthctl_remote_call (remote, "PUT", "/v1/backend_state", body, error);
}

static int
cmd_start (BerthctlOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthctlSettingFlags) flags = berthctl_setting_flags_new ();
  g_autoptr (BerthctlRemote) remote = NULL;
  g_autoptr (JsonNode) partial = NULL;
  g_autoptr (JsonNode) answer = NULL;
  gboolean restarting = FALSE;
  gboolean wait = FALSE;
  gint wait_timeout = DEFAULT_WAIT_TIMEOUT;
  GOptionEntry entries[] = {
    { "wait", 'w', 0, G_OPTION_ARG_NONE, &wait, "Wait until Berth has started, showing progress",
      NULL },
    WAIT_TIMEOUT_ENTRY (wait_timeout),
    { NULL }
  };

  if (!parse_options (opts, "start", "[--SETTING[=VALUE]…]",
                      "Start berthd when none answers, apply any setting flags, and start the "
                      "VM.",
                      entries, berthctl_setting_flags_get_group (flags), TRUE, &argc, &argv,
                      &error)
      || !no_extra_args (argc, argv, &error) || !check_wait_timeout (wait_timeout, &error))
    return fail (error);
  remote = berthctl_launch_daemon (&opts->conn, &error);
  if (remote == NULL)
    return fail (error);
  /* Listen before asking, so that no state change is missed and the state
   * from before the start (a crash's ERROR) is told from its outcome. */
  if (wait && !berthctl_wait_prepare (remote, &error))
    return fail (error);
  partial = berthctl_setting_flags_dup_partial (flags);
  if (partial != NULL)
    {
      answer = apply_settings (remote, partial, &restarting, &error);
      if (answer == NULL)
        return fail (error);
    }
  /* A restart for the new settings is a start already under way. */
  if (!restarting)
    {
      g_clear_pointer (&answer, json_node_unref);
      answer = put_backend_state (remote, "STARTED", &error);
      if (answer == NULL)
        return fail (error);
    }
  if (!wait)
    {
      g_print ("Berth is starting; follow it with berthctl info or berthctl start --wait\n");
      return EXIT_OK;
    }
  if (!wait_until_running (remote, "start", answer, wait_timeout, &error))
    return fail (error);
  return EXIT_OK;
}

static int
cmd_stop (BerthctlOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthctlRemote) remote = NULL;
  g_autoptr (JsonNode) answer = NULL;
  gboolean no_wait = FALSE;
  gint wait_timeout = DEFAULT_WAIT_TIMEOUT;
  GOptionEntry entries[] = {
    { "no-wait", 0, 0, G_OPTION_ARG_NONE, &no_wait, "Return once the stop is under way", NULL },
    WAIT_TIMEOUT_ENTRY (wait_timeout),
    { NULL }
  };

  if (!parse_options (opts, "stop", NULL, "Stop the VM; berthd keeps running.", entries, NULL,
                      TRUE, &argc, &argv, &error)
      || !no_extra_args (argc, argv, &error) || !check_wait_timeout (wait_timeout, &error))
    return fail (error);
  remote = connect_daemon (opts, &error);
  if (remote == NULL)
    return fail (error);
  if (!no_wait && !berthctl_wait_prepare (remote, &error))
    return fail (error);
  answer = put_backend_state (remote, "STOPPED", &error);
  if (answer == NULL)
    return fail (error);
  if (no_wait)
    return EXIT_OK;
  if (!berthctl_wait_for_state (remote, "STOPPED", "stop", answer, (guint)wait_timeout, &error))
    return fail (error);
  g_print ("Berth is stopped\n");
  return EXIT_OK;
}

static int
cmd_shutdown (BerthctlOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthctlRemote) remote = NULL;
  g_autoptr (JsonNode) answer = NULL;
  g_autofree gchar *credentials = NULL;
  gint wait_timeout = 120;
  GOptionEntry entries[] = {
    { "wait-timeout", 0, 0, G_OPTION_ARG_INT, &wait_timeout,
      "Give up waiting after this many seconds (default 120)", "SECONDS" },
    { NULL }
  };

  if (!parse_options (opts, "shutdown", NULL, "Stop the VM and quit berthd.", entries, NULL,
                      TRUE, &argc, &argv, &error)
      || !no_extra_args (argc, argv, &error))
    return fail (error);
  remote = connect_daemon (opts, &error);
  if (remote == NULL)
    return fail (error);
  answer = berthctl_remote_call (remote, "PUT", "/v1/shutdown", NULL, &error);
  if (answer == NULL)
    return fail (error);
  /* berthd removes its credentials file as the last thing before exiting. */
  credentials = berthctl_connection_get_config_path (&opts->conn);
  for (gint i = 0; i < wait_timeout * 10; i++)
    {
      if (!g_file_test (credentials, G_FILE_TEST_EXISTS))
        {
          g_print ("berthd has shut down\n");
          return EXIT_OK;
        }
      g_usleep (G_USEC_PER_SEC / 10);
    }
  g_printerr ("berthctl: berthd accepted the shutdown but was still running after %d s\n",
              wait_timeout);
  return EXIT_FAILED;
}

/* Everything `info` knows, from /v1/about, /v1/backend_state and
 * /v1/settings, as one flat object. */
static JsonNode *
collect_info (BerthctlRemote *remote, GError **error)
{
  g_autoptr (JsonNode) about = berthctl_remote_call (remote, "GET", "/v1/about", NULL, error);
  g_autoptr (JsonNode) state = NULL;
  g_autoptr (JsonNode) settings = NULL;
  JsonObject *info = json_object_new ();
  JsonObject *s;

  if (about == NULL)
    return NULL;
  state = berthctl_remote_call (remote, "GET", "/v1/backend_state", NULL, error);
  if (state == NULL)
    return NULL;
  settings = berthctl_remote_call (remote, "GET", "/v1/settings", NULL, error);
  if (settings == NULL)
    return NULL;

  if (JSON_NODE_HOLDS_OBJECT (about))
    {
      g_autoptr (GList) members = json_object_get_members (json_node_get_object (about));
      for (GList *l = members; l != NULL; l = l->next)
        json_object_set_member (info, l->data,
                                json_object_dup_member (json_node_get_object (about), l->data));
    }
  if (JSON_NODE_HOLDS_OBJECT (state))
    {
      g_autoptr (GList) members = json_object_get_members (json_node_get_object (state));
      for (GList *l = members; l != NULL; l = l->next)
        json_object_set_member (info, l->data,
                                json_object_dup_member (json_node_get_object (state), l->data));
    }
  if (JSON_NODE_HOLDS_OBJECT (settings))
    {
      JsonObject *engine, *k8s, *vm;

      s = json_node_get_object (settings);
      engine = json_object_get_object_member (s, "containerEngine");
      k8s = json_object_get_object_member (s, "kubernetes");
      vm = json_object_get_object_member (s, "virtualMachine");
      if (engine != NULL)
        json_object_set_string_member (
          info, "containerEngine",
          json_object_get_string_member_with_default (engine, "name", ""));
      if (k8s != NULL)
        {
          json_object_set_boolean_member (
            info, "kubernetesEnabled",
            json_object_get_boolean_member_with_default (k8s, "enabled", FALSE));
          json_object_set_string_member (
            info, "kubernetesVersion",
            json_object_get_string_member_with_default (k8s, "version", ""));
        }
      if (vm != NULL)
        {
          json_object_set_int_member (info, "memoryInGB",
                                      json_object_get_int_member_with_default (vm, "memoryInGB",
                                                                               0));
          json_object_set_int_member (info, "numberCPUs",
                                      json_object_get_int_member_with_default (vm, "numberCPUs",
                                                                               0));
        }
    }
  /* dockerd's socket on this host, while it runs (the API's sockets list
   * it by daemon), for tools that take DOCKER_HOST. */
  {
    JsonNode *sockets = json_object_get_member (info, "sockets");
    JsonNode *dockerd = NULL;

    if (sockets != NULL && JSON_NODE_HOLDS_OBJECT (sockets))
      dockerd = json_object_get_member (json_node_get_object (sockets), "dockerd");
    if (dockerd != NULL && JSON_NODE_HOLDS_VALUE (dockerd)
        && json_node_get_value_type (dockerd) == G_TYPE_STRING)
      json_object_set_string_member (info, "dockerSocket", json_node_get_string (dockerd));
  }
  /* What the VM itself says, when there is one: acceleration and access. */
  {
    g_autoptr (JsonNode) vm = berthctl_remote_call (remote, "GET", "/v1/vm", NULL, NULL);
    const gchar *keys[] = { "accel", "accelReason", "arch", "instanceDir", "sshPort" };

    if (vm != NULL && JSON_NODE_HOLDS_OBJECT (vm))
      for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
        if (json_object_has_member (json_node_get_object (vm), keys[i]))
          json_object_set_member (info, keys[i],
                                  json_object_dup_member (json_node_get_object (vm), keys[i]));
  }
  return json_node_init_object (json_node_alloc (), info);
}

static gchar *
node_to_text (JsonNode *node)
{
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return g_strdup ("");
  if (JSON_NODE_HOLDS_VALUE (node))
    {
      GType t = json_node_get_value_type (node);
      if (t == G_TYPE_STRING)
        return g_strdup (json_node_get_string (node));
      if (t == G_TYPE_BOOLEAN)
        return g_strdup (json_node_get_boolean (node) ? "true" : "false");
      if (t == G_TYPE_INT64)
        return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
      if (t == G_TYPE_DOUBLE)
        return g_strdup_printf ("%g", json_node_get_double (node));
    }
  return node_to_json_text (node, FALSE);
}

/* Whether berthd loaded the integration that keeps the docker context
 * "berth" (plugins/docker-context). */
static gboolean
docker_context_loaded (BerthctlRemote *remote)
{
  g_autoptr (JsonNode) plugins = berthctl_remote_call (remote, "GET", "/v1/plugins", NULL, NULL);
  JsonArray *array;

  if (plugins == NULL || !JSON_NODE_HOLDS_ARRAY (plugins))
    return FALSE;
  array = json_node_get_array (plugins);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      JsonObject *plugin;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      plugin = json_node_get_object (node);
      if (g_strcmp0 (json_object_get_string_member_with_default (plugin, "name", NULL),
                     "docker-context")
              == 0
          && g_strcmp0 (json_object_get_string_member_with_default (plugin, "status", NULL),
                        "loaded")
                 == 0)
        return TRUE;
    }
  return FALSE;
}

static int
cmd_info (BerthctlOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthctlRemote) remote = NULL;
  g_autoptr (JsonNode) info = NULL;
  g_autofree gchar *field = NULL;
  GOptionEntry entries[] = {
    OUTPUT_ENTRY,
    { "field", 'f', 0, G_OPTION_ARG_STRING, &field, "Print only this field's value", "NAME" },
    { NULL }
  };
  JsonObject *o;

  if (!parse_options (opts, "info", NULL, "Show Berth's state and configuration.", entries, NULL,
                      TRUE, &argc, &argv, &error)
      || !no_extra_args (argc, argv, &error) || !check_output_option (opts, &error))
    return fail (error);
  remote = connect_daemon (opts, &error);
  if (remote == NULL)
    return fail (error);
  info = collect_info (remote, &error);
  if (info == NULL)
    return fail (error);
  o = json_node_get_object (info);
  if (field != NULL)
    {
      g_autofree gchar *text = NULL;
      if (!json_object_has_member (o, field))
        {
          g_autoptr (GList) members = json_object_get_members (o);
          g_autoptr (GString) names = g_string_new (NULL);
          for (GList *l = members; l != NULL; l = l->next)
            g_string_append_printf (names, "%s%s", names->len ? ", " : "",
                                    (const gchar *) l->data);
          g_printerr ("berthctl: info has no field \"%s\"; fields: %s\n", field, names->str);
          return EXIT_USAGE;
        }
      text = node_to_text (json_object_get_member (o, field));
      g_print ("%s\n", text);
      return EXIT_OK;
    }
  if (want_json (opts))
    {
      print_json (info);
      return EXIT_OK;
    }
  {
    g_autoptr (GList) members = json_object_get_members (o);
    for (GList *l = members; l != NULL; l = l->next)
      {
        g_autofree gchar *text = node_to_text (json_object_get_member (o, l->data));
        g_print ("%-18s %s\n", (const gchar *) l->data, text);
      }
  }
  /* How to point the docker CLI and other tools at the engine. */
  if (json_object_has_member (o, "dockerSocket"))
    {
      const gchar *socket = json_object_get_string_member (o, "dockerSocket");

      if (docker_context_loaded (remote))
        g_print ("%-18s docker --context berth COMMAND, or DOCKER_HOST=unix://%s\n", "docker",
                 socket);
      else
        g_print ("%-18s DOCKER_HOST=unix://%s docker COMMAND\n", "docker", socket);
    }
  return EXIT_OK;
}

static GBytes *
read_input (const gchar *input, GError **error)
{
  if (g_str_equal (input, "-"))
    {
      g_autoptr (GInputStream) in = g_unix_input_stream_new (STDIN_FILENO, FALSE);
      g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();

      if (g_output_stream_splice (out, in, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, error) < 0)
        return NULL;
      return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
    }
  else
    {
      gchar *data = NULL;
      gsize len = 0;
      if (!g_file_get_contents (input, &data, &len, error))
        return NULL;
      return g_bytes_new_take (data, len);
    }
}

static int
cmd_api (BerthctlOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthctlRemote) remote = NULL;
  g_autoptr (JsonNode) answer = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autofree gchar *method = NULL;
  g_autofree gchar *body_text = NULL;
  g_autofree gchar *input = NULL;
  g_autofree gchar *path = NULL;
  GOptionEntry entries[] = {
    { "method", 'X', 0, G_OPTION_ARG_STRING, &method, "HTTP method (GET, or PUT with a body)",
      "METHOD" },
    { "body", 'b', 0, G_OPTION_ARG_STRING, &body_text, "Request body", "JSON" },
    { "input", 0, 0, G_OPTION_ARG_FILENAME, &input, "Read the body from FILE (- for stdin)",
      "FILE" },
    { NULL }
  };

  if (!parse_options (opts, "api", "ENDPOINT", "Send a raw request to berthd's API.", entries,
                      NULL, TRUE, &argc, &argv, &error))
    return fail (error);
  if (argc != 2)
    {
      g_printerr ("berthctl: api needs one ENDPOINT, such as /v1/settings or settings\n");
      return EXIT_USAGE;
    }
  if (body_text != NULL && input != NULL)
    {
      g_printerr ("berthctl: give the body with --body or --input, not both\n");
      return EXIT_USAGE;
    }
  if (body_text != NULL)
    body = g_bytes_new (body_text, strlen (body_text));
  else if (input != NULL && (body = read_input (input, &error)) == NULL)
    return fail (error);
  if (method == NULL)
    method = g_strdup (body != NULL ? "PUT" : "GET");
  else
    {
      g_autofree gchar *upper = g_ascii_strup (method, -1);
      g_free (method);
      method = g_steal_pointer (&upper);
    }
  /* rdctl accepts "settings" for "/v1/settings". */
  if (argv[1][0] == '/')
    path = g_strdup (argv[1]);
  else
    path = g_strconcat ("/v1/", argv[1], NULL);

  remote = connect_daemon (opts, &error);
  if (remote == NULL)
    return fail (error);
  answer = berthctl_remote_call_raw (remote, method, path, body, NULL, &error);
  if (answer == NULL)
    return fail (error);
  if (!JSON_NODE_HOLDS_NULL (answer))
    {
      if (JSON_NODE_HOLDS_VALUE (answer) && json_node_get_value_type (answer) == G_TYPE_STRING)
        g_print ("%s\n", json_node_get_string (answer));
      else
        print_json (answer);
    }
  return EXIT_OK;
}

/* What an import carried over, what that takes, and what it did not carry
 * over, as a person reads it. */
static void
print_import (JsonNode *answer, const gchar *file)
{
  JsonObject *o = json_node_get_object (answer);
  JsonArray *changed = json_object_get_array_member (o, "changed");
  JsonArray *dropped = json_object_get_array_member (o, "droppedSettings");
  JsonObject *refused = json_object_has_member (o, "refusedValues")
                            ? json_object_get_object_member (o, "refusedValues")
                            : NULL;
  gint64 unlisted = json_object_get_int_member_with_default (o, "droppedNotListed", 0);
  guint n_changed = changed != NULL ? json_array_get_length (changed) : 0;
  guint n_dropped = dropped != NULL ? json_array_get_length (dropped) : 0;
  gboolean listed_unknown = FALSE;
  gboolean listed_refused = FALSE;

  g_print ("Imported Rancher Desktop's settings (version %" G_GINT64_FORMAT ") from %s\n",
           json_object_get_int_member_with_default (o, "rancherDesktopSettingsVersion", 0),
           g_str_equal (file, "-") ? "stdin" : file);
  if (n_changed == 0)
    g_print ("Nothing changed: Berth's settings already had these values\n");
  else
    g_print ("Changed:\n");
  for (guint i = 0; i < n_changed; i++)
    g_print ("  %s\n", json_array_get_string_element (changed, i));
  print_pending (answer);

  for (guint i = 0; i < n_dropped; i++)
    {
      const gchar *key = json_array_get_string_element (dropped, i);

      if (refused != NULL && json_object_has_member (refused, key))
        continue;
      if (!listed_unknown)
        g_print ("Not carried over, Berth has no such setting:\n");
      listed_unknown = TRUE;
      g_print ("  %s\n", key);
    }
  if (unlisted > 0)
    g_print ("%s  and %" G_GINT64_FORMAT " more\n",
             listed_unknown ? "" : "Not carried over, Berth has no such setting:\n", unlisted);
  for (guint i = 0; refused != NULL && i < n_dropped; i++)
    {
      const gchar *key = json_array_get_string_element (dropped, i);
      const gchar *reason = json_object_get_string_member_with_default (refused, key, NULL);
      g_autofree gchar *prefix = g_strconcat (key, ": ", NULL);

      if (reason == NULL)
        continue;
      if (!listed_refused)
        g_print ("Not carried over, Berth does not take the value:\n");
      listed_refused = TRUE;
      /* The reason names the setting; say the key too when it was another. */
      if (g_str_has_prefix (reason, prefix))
        g_print ("  %s\n", reason);
      else
        g_print ("  %s (%s)\n", key, reason);
    }
}

static int
cmd_import_settings (BerthctlOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthctlRemote) remote = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (JsonNode) settings = NULL;
  g_autoptr (JsonNode) answer = NULL;
  const gchar *file;
  const gchar *data;
  gsize length = 0;
  gboolean wait = FALSE;
  gint wait_timeout = DEFAULT_WAIT_TIMEOUT;
  GOptionEntry entries[] = {
    OUTPUT_ENTRY,
    { "wait", 'w', 0, G_OPTION_ARG_NONE, &wait,
      "When the change restarts the VM (or Kubernetes), wait until it runs again", NULL },
    WAIT_TIMEOUT_ENTRY (wait_timeout),
    { NULL },
  };

  if (!parse_options (opts, "import-settings", "FILE",
                      "Import Rancher Desktop's settings.json, of any of its versions (- reads "
                      "it from stdin): each value Berth has a setting for is carried over, and "
                      "the keys it has none for are listed. A change that needs a restart "
                      "restarts a running VM.",
                      entries, NULL, TRUE, &argc, &argv, &error)
      || !check_output_option (opts, &error) || !check_wait_timeout (wait_timeout, &error))
    return fail (error);
  if (argc != 2)
    {
      g_printerr ("berthctl: import-settings needs one FILE, Rancher Desktop's settings.json "
                  "(on Linux ~/.config/rancher-desktop/settings.json)\n");
      return EXIT_USAGE;
    }
  file = argv[1];
  bytes = read_input (file, &error);
  if (bytes == NULL)
    return fail (error);
  data = g_bytes_get_data (bytes, &length);
  settings = berth_json_parse (data, length, IMPORT_MAX_DEPTH, file, &error);
  if (settings == NULL)
    return fail (error);
  if (!JSON_NODE_HOLDS_OBJECT (settings))
    {
      g_printerr ("berthctl: %s holds %s, not Rancher Desktop's settings (a JSON object)\n", file,
                  JSON_NODE_HOLDS_ARRAY (settings) ? "a list" : "a single value");
      return EXIT_FAILED;
    }
  remote = connect_daemon (opts, &error);
  if (remote == NULL)
    return fail (error);
  /* Listen before asking, so that the restart's every state is seen. */
  if (wait && !berthctl_wait_prepare (remote, &error))
    return fail (error);
  answer = berthctl_remote_call (remote, "PUT", "/v1/settings/import", settings, &error);
  if (answer == NULL)
    {
      /* What berthd refused is the file's. */
      if (g_error_matches (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA)
          || g_error_matches (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING))
        g_prefix_error (&error, "%s: ", file);
      return fail (error);
    }
  if (!JSON_NODE_HOLDS_OBJECT (answer))
    {
      g_printerr ("berthctl: berthd answered the import with something that is not an object\n");
      return EXIT_FAILED;
    }
  if (want_json (opts))
    print_json (answer);
  else
    print_import (answer, file);
  if (!wait
      || !json_object_get_boolean_member_with_default (json_node_get_object (answer), "restarting",
                                                       FALSE))
    return EXIT_OK;
  if (!wait_until_running (remote, "restart", answer, wait_timeout, &error))
    return fail (error);
  return EXIT_OK;
}

/* Asks on the terminal before something that cannot be undone. TRUE when
 * stdin is not a terminal (scripts say --yes by running at all), when
 * @assume_yes, or when the person answers yes. */
static gboolean
confirm (const gchar *what, gboolean assume_yes)
{
  gchar answer[64] = "";

  if (assume_yes || !isatty (STDIN_FILENO))
    return TRUE;
  g_printerr ("%s\nContinue? [y/N] ", what);
  fflush (stderr);
  if (fgets (answer, sizeof answer, stdin) == NULL)
    return FALSE;
  g_strstrip (answer);
  return g_ascii_strcasecmp (answer, "y") == 0 || g_ascii_strcasecmp (answer, "yes") == 0;
}

#define YES_ENTRY                                                                                 \
  { "yes", 'y', 0, G_OPTION_ARG_NONE, &assume_yes, "Do not ask for confirmation on a terminal",   \
    NULL }

static const gchar factory_reset_warning[]
    = "This stops Berth and removes the VM with its containers, images and volumes, the caches\n"
      "and the settings (the logs stay). berthd quits afterwards.";
static const gchar vm_reset_warning[]
    = "This removes the VM's disk with its containers, images and volumes; the next start makes a\n"
      "new one.";

/* berthd's process id, from its credentials file; 0 when unknown. */
static gint64
daemon_pid (BerthctlOptions *opts)
{
  g_autofree gchar *path = berthctl_connection_get_config_path (&opts->conn);
  g_autofree gchar *text = NULL;
  g_autoptr (JsonNode) root = NULL;

  gsize length = 0;

  if (!g_file_get_contents (path, &text, &length, NULL))
    return 0;
  root = berth_json_parse (text, length, 8, path, NULL);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return 0;
  return json_object_get_int_member_with_default (json_node_get_object (root), "pid", 0);
}

static int
reset_call (BerthctlOptions *opts, const gchar *path, const gchar *mode)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthctlRemote) remote = connect_daemon (opts, &error);
  g_autoptr (JsonNode) body = NULL;
  g_autoptr (JsonNode) answer = NULL;

  if (remote == NULL)
    return fail (error);
  if (mode != NULL)
    {
      body = json_node_init_object (json_node_alloc (), json_object_new ());
      json_object_set_string_member (json_node_get_object (body), "mode", mode);
    }
  answer = berthctl_remote_call (remote, "PUT", path, body, &error);
  if (answer == NULL)
    return fail (error);
  return EXIT_OK;
}

/* PUT /v1/factory_reset, keeping Berth's cache when @keep_system_images. */
static int
factory_reset_request (BerthctlOptions *opts, gboolean keep_system_images)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthctlRemote) remote = connect_daemon (opts, &error);
  g_autoptr (JsonNode) body = NULL;
  g_autoptr (JsonNode) answer = NULL;

  if (remote == NULL)
    return fail (error);
  body = json_node_init_object (json_node_alloc (), json_object_new ());
  json_object_set_boolean_member (json_node_get_object (body), "keepSystemImages",
                                  keep_system_images);
  answer = berthctl_remote_call (remote, "PUT", "/v1/factory_reset", body, &error);
  if (answer == NULL)
    return fail (error);
  return EXIT_OK;
}

/* Asks berthd for a factory reset and waits for it to quit, which it does
 * once everything is removed. */
static int
factory_reset (BerthctlOptions *opts, gint wait_timeout, gboolean keep_system_images)
{
  gint64 pid = daemon_pid (opts);
  int status = factory_reset_request (opts, keep_system_images);

  if (status != EXIT_OK)
    return status;
  for (gint i = 0; pid > 0 && i < wait_timeout * 10; i++)
    {
      if (!berth_process_is_running ((GPid)pid))
        {
          g_print ("Berth was reset to its first state, and berthd has quit\n");
          return EXIT_OK;
        }
      g_usleep (G_USEC_PER_SEC / 10);
    }
  if (pid <= 0)
    {
      g_print ("berthd accepted the factory reset\n");
      return EXIT_OK;
    }
  g_printerr ("berthctl: berthd accepted the factory reset but was still running after %d s; "
              "berthctl logs berthd says why\n",
              wait_timeout);
  return EXIT_FAILED;
}

static int
cmd_reset (BerthctlOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  gboolean k8s = FALSE, vm = FALSE, factory = FALSE, wipe = FALSE, assume_yes = FALSE;
  gboolean keep = FALSE;
  gint wait_timeout = 120;
  GOptionEntry entries[] = {
    { "k8s", 0, 0, G_OPTION_ARG_NONE, &k8s, "Reset Kubernetes' state only", NULL },
    { "wipe", 0, 0, G_OPTION_ARG_NONE, &wipe, "With --k8s: remove its images too", NULL },
    { "vm", 0, 0, G_OPTION_ARG_NONE, &vm,
      "Remove the VM's disk; the next start makes a new one", NULL },
    { "factory", 0, 0, G_OPTION_ARG_NONE, &factory,
      "Remove everything Berth wrote; berthd quits", NULL },
    { "keep-system-images", 0, 0, G_OPTION_ARG_NONE, &keep,
      "With --factory: keep the cache (guest image, Kubernetes' downloads)", NULL },
    YES_ENTRY,
    { "wait-timeout", 0, 0, G_OPTION_ARG_INT, &wait_timeout,
      "With --factory: give up waiting for berthd to quit after this many seconds (default 120)",
      "SECONDS" },
    { NULL }
  };

  if (!parse_options (opts, "reset", NULL, "Reset Kubernetes, the VM, or everything.", entries,
                      NULL, TRUE, &argc, &argv, &error)
      || !no_extra_args (argc, argv, &error))
    return fail (error);
  if (k8s + vm + factory != 1)
    {
      g_printerr ("berthctl: reset needs exactly one of --k8s, --vm or --factory\n");
      return EXIT_USAGE;
    }
  if (wipe && !k8s)
    {
      g_printerr ("berthctl: --wipe goes with --k8s\n");
      return EXIT_USAGE;
    }
  if (keep && !factory)
    {
      g_printerr ("berthctl: --keep-system-images goes with --factory\n");
      return EXIT_USAGE;
    }
  if (k8s)
    return reset_call (opts, "/v1/k8s_reset", wipe ? "wipe" : "fast");
  if (!confirm (vm ? vm_reset_warning : factory_reset_warning, assume_yes))
    {
      g_printerr ("berthctl: nothing was reset\n");
      return EXIT_FAILED;
    }
  if (vm)
    return reset_call (opts, "/v1/vm_reset", NULL);
  return factory_reset (opts, wait_timeout, keep);
}

static int
cmd_factory_reset (BerthctlOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  gboolean assume_yes = FALSE;
  gboolean keep = FALSE;
  gint wait_timeout = 120;
  GOptionEntry entries[] = {
    { "keep-system-images", 0, 0, G_OPTION_ARG_NONE, &keep,
      "Keep the cache (the guest image, Kubernetes' downloads)", NULL },
    YES_ENTRY,
    { "wait-timeout", 0, 0, G_OPTION_ARG_INT, &wait_timeout,
      "Give up waiting for berthd to quit after this many seconds (default 120)", "SECONDS" },
    { NULL },
  };

  if (!parse_options (opts, "factory-reset", NULL,
                      "Stop Berth, remove the VM, caches and settings it wrote, and quit berthd.",
                      entries, NULL, TRUE, &argc, &argv, &error)
      || !no_extra_args (argc, argv, &error))
    return fail (error);
  if (!confirm (factory_reset_warning, assume_yes))
    {
      g_printerr ("berthctl: nothing was reset\n");
      return EXIT_FAILED;
    }
  return factory_reset (opts, wait_timeout, keep);
}

static int
cmd_diagnostics (BerthctlOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthctlRemote) remote = NULL;
  g_autoptr (JsonNode) answer = NULL;
  GOptionEntry entries[] = { OUTPUT_ENTRY, { NULL } };
  JsonArray *checks = NULL;
  gboolean all_passed = TRUE;

  if (!parse_options (opts, "diagnostics", NULL,
                      "Check that this machine can run Berth, and say how to fix what cannot.",
                      entries, NULL, TRUE, &argc, &argv, &error)
      || !no_extra_args (argc, argv, &error) || !check_output_option (opts, &error))
    return fail (error);
  remote = connect_daemon (opts, &error);
  if (remote == NULL)
    return fail (error);
  answer = berthctl_remote_call (remote, "GET", "/v1/diagnostic_checks", NULL, &error);
  if (answer == NULL)
    return fail (error);
  if (JSON_NODE_HOLDS_OBJECT (answer))
    checks = json_object_get_array_member (json_node_get_object (answer), "checks");
  /* The exit status says the same in both formats: 1 when a check failed. */
  for (guint i = 0; checks != NULL && i < json_array_get_length (checks); i++)
    all_passed &= json_object_get_boolean_member_with_default (
        json_array_get_object_element (checks, i), "passed", FALSE);
  if (want_json (opts))
    {
      print_json (answer);
      return all_passed ? EXIT_OK : EXIT_FAILED;
    }
  for (guint i = 0; checks != NULL && i < json_array_get_length (checks); i++)
    {
      JsonObject *c = json_array_get_object_element (checks, i);
      gboolean passed = json_object_get_boolean_member_with_default (c, "passed", FALSE);
      JsonArray *fixes = json_object_get_array_member (c, "fixes");

      g_print ("%s %-20s %s\n", passed ? "ok  " : "FAIL",
               json_object_get_string_member_with_default (c, "id", "?"),
               json_object_get_string_member_with_default (c, "description", ""));
      for (guint j = 0; !passed && fixes != NULL && j < json_array_get_length (fixes); j++)
        {
          JsonObject *fix = json_array_get_object_element (fixes, j);
          g_print ("     fix: %s\n",
                   json_object_get_string_member_with_default (fix, "description", ""));
        }
    }
  return all_passed ? EXIT_OK : EXIT_FAILED;
}

/* The VM's SSH endpoint, from the backend's info. */
static gboolean
build_ssh_argv (JsonObject *vm, gboolean tty, int argc, char **argv, GPtrArray *out,
                GError **error)
{
  const gchar *address = json_object_get_string_member_with_default (vm, "sshAddress", NULL);
  const gchar *user = json_object_get_string_member_with_default (vm, "sshUser", NULL);
  const gchar *identity = json_object_get_string_member_with_default (vm, "sshIdentityFile", NULL);
  const gchar *control = json_object_get_string_member_with_default (vm, "sshControlPath", NULL);
  gint64 port = json_object_get_int_member_with_default (vm, "sshPort", 0);
  JsonArray *options = json_object_has_member (vm, "sshOptions")
                           ? json_object_get_array_member (vm, "sshOptions")
                           : NULL;

  if (address == NULL || user == NULL || port <= 0)
    {
      g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                           "the VM is not reachable over SSH now (is it started? see berthctl "
                           "info)");
      return FALSE;
    }
  g_ptr_array_add (out, g_strdup ("ssh"));
  g_ptr_array_add (out, g_strdup (tty ? "-t" : "-T"));
  if (options != NULL)
    {
      /* The backend knows its own: identity, control socket, key exchange. */
      for (guint i = 0; i < json_array_get_length (options); i++)
        {
          const gchar *option = json_array_get_string_element (options, i);
          if (option != NULL)
            g_ptr_array_add (out, g_strdup (option));
        }
    }
  else
    {
      g_ptr_array_add (out, g_strdup ("-F"));
      g_ptr_array_add (out, g_strdup ("/dev/null"));
      if (identity != NULL)
        {
          g_ptr_array_add (out, g_strdup ("-i"));
          g_ptr_array_add (out, g_strdup (identity));
          g_ptr_array_add (out, g_strdup ("-o"));
          g_ptr_array_add (out, g_strdup ("IdentitiesOnly=yes"));
        }
      if (control != NULL)
        {
          /* Reuse berthd's master connection when it is up. */
          g_ptr_array_add (out, g_strdup ("-o"));
          g_ptr_array_add (out, g_strdup_printf ("ControlPath=%s", control));
          g_ptr_array_add (out, g_strdup ("-o"));
          g_ptr_array_add (out, g_strdup ("ControlMaster=no"));
        }
      g_ptr_array_add (out, g_strdup ("-o"));
      g_ptr_array_add (out, g_strdup ("StrictHostKeyChecking=no"));
      g_ptr_array_add (out, g_strdup ("-o"));
      g_ptr_array_add (out, g_strdup ("UserKnownHostsFile=/dev/null"));
      g_ptr_array_add (out, g_strdup ("-o"));
      g_ptr_array_add (out, g_strdup ("LogLevel=ERROR"));
    }
  g_ptr_array_add (out, g_strdup ("-p"));
  g_ptr_array_add (out, g_strdup_printf ("%" G_GINT64_FORMAT, port));
  g_ptr_array_add (out, g_strdup_printf ("%s@%s", user, address));
  if (argc > 0)
    {
      /* ssh joins its arguments for the remote shell: quote each, so that
       * `berthctl shell ls "a b"` means what it says. */
      g_ptr_array_add (out, g_strdup ("--"));
      for (int i = 0; i < argc; i++)
        g_ptr_array_add (out, g_shell_quote (argv[i]));
    }
  g_ptr_array_add (out, NULL);
  return TRUE;
}

static int
cmd_shell (BerthctlOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthctlRemote) remote = NULL;
  g_autoptr (JsonNode) vm = NULL;
  g_autoptr (GPtrArray) ssh_argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GOptionContext) ctx = NULL;
  gboolean tty;

  g_set_prgname ("berthctl shell");
  ctx = g_option_context_new ("[--] [COMMAND…]");

  /* Everything after the options (or after --) is the guest's command line,
   * options and all. */
  g_option_context_set_summary (ctx, "Open a shell in the VM, or run COMMAND there; the exit "
                                     "status is COMMAND's.");
  g_option_context_set_strict_posix (ctx, TRUE);
  g_option_context_add_group (ctx, berthctl_connection_option_group (&opts->conn));
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return fail (error);
  argc--, argv++;
  if (argc > 0 && g_str_equal (argv[0], "--"))
    argc--, argv++;

  remote = connect_daemon (opts, &error);
  if (remote == NULL)
    return fail (error);
  vm = berthctl_remote_call (remote, "GET", "/v1/vm", NULL, &error);
  if (vm == NULL)
    return fail (error);
  if (!JSON_NODE_HOLDS_OBJECT (vm))
    {
      g_printerr ("berthctl: berthd answered /v1/vm with something that is not an object\n");
      return EXIT_FAILED;
    }
  /* Interactive only when both ends are a terminal, as ssh itself decides. */
  tty = isatty (STDIN_FILENO) && isatty (STDOUT_FILENO);
  if (!build_ssh_argv (json_node_get_object (vm), tty, argc, argv, ssh_argv, &error))
    return fail (error);
  fflush (stdout);
  execvp ("ssh", (char **) ssh_argv->pdata);
  g_printerr ("berthctl: cannot run ssh: %s; install OpenSSH's client (apt-get install "
              "openssh-client)\n",
              g_strerror (errno));
  return EXIT_FAILED;
}

static int
cmd_images (BerthctlOptions *opts, int argc, char **argv)
{
  return berthctl_cmd_images (&opts->conn, argc, argv);
}

static int
cmd_k8s (BerthctlOptions *opts, int argc, char **argv)
{
  return berthctl_cmd_k8s (&opts->conn, argc, argv);
}

static int
cmd_update (BerthctlOptions *opts, int argc, char **argv)
{
  return berthctl_cmd_update (&opts->conn, argc, argv);
}

static int cmd_completion (BerthctlOptions *opts, int argc, char **argv);

static const BerthctlCommand commands[] = {
  { "start", "Start berthd if needed, then the VM", cmd_start },
  { "stop", "Stop the VM", cmd_stop },
  { "shutdown", "Stop the VM and quit berthd", cmd_shutdown },
  { "set", "Change settings", cmd_set },
  { "list-settings", "Print the current settings as JSON", cmd_list_settings },
  { "import-settings", "Import Rancher Desktop's settings", cmd_import_settings },
  { "info", "Show Berth's state", cmd_info },
  { "shell", "Open a shell in the VM, or run a command there", cmd_shell },
  { "api", "Send a raw request to the API", cmd_api },
  { "reset", "Reset Kubernetes, the VM or everything", cmd_reset },
  { "factory-reset", "Remove everything Berth wrote", cmd_factory_reset },
  { "images", "List, pull, build, tag and remove images", cmd_images },
  { "k8s", "Kubernetes: versions, services, forwarding service ports", cmd_k8s },
  { "update", "Check for, download and install a newer Berth", cmd_update },
  { "plugins", "List plugins and what they provide", cmd_plugins },
  { "diagnostics", "Check this machine", cmd_diagnostics },
  { "paths", "Show where Berth keeps its files", cmd_paths },
  { "logs", "Show Berth's logs (-f follows)", cmd_logs },
  { "version", "Show the version", cmd_version },
  { "completion", "Print a shell completion script (bash)", cmd_completion },
};

/* A bash completion script made from the command table and the settings
 * schema, so it never lags behind either. */
static int
cmd_completion (BerthctlOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) cmds = g_string_new (NULL);
  g_autoptr (GString) setting_flags = g_string_new (NULL);
  const BerthSettingSpec *schema;
  guint n = 0;

  if (!parse_options (opts, "completion", "bash", "Print a shell completion script.", NULL, NULL,
                      FALSE, &argc, &argv, &error))
    return fail (error);
  if (argc > 2 || (argc == 2 && !g_str_equal (argv[1], "bash")))
    {
      g_printerr ("berthctl: completion supports bash only\n");
      return EXIT_USAGE;
    }
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    g_string_append_printf (cmds, "%s%s", i ? " " : "", commands[i].name);
  schema = berth_settings_get_schema (&n);
  for (guint i = 0; i < n; i++)
    {
      g_autofree gchar *flag = berthctl_flag_name_for_path (schema[i].path);
      g_string_append_printf (setting_flags, " --%s", flag);
    }
  g_print ("# bash completion for berthctl; generated by berthctl completion bash\n"
           "_berthctl()\n"
           "{\n"
           "  local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]}\n"
           "  local conn='--host --port --user --password --config-path'\n"
           "  local settings='%s'\n"
           "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
           "    COMPREPLY=( $(compgen -W '%s --help' -- \"$cur\") )\n"
           "    return\n"
           "  fi\n"
           "  case $cmd in\n"
           "    set|start) COMPREPLY=( $(compgen -W \"--wait --wait-timeout $settings $conn\" "
           "-- \"$cur\") ) ;;\n"
           "    stop) COMPREPLY=( $(compgen -W \"--no-wait --wait-timeout $conn\" -- \"$cur\") ) "
           ";;\n"
           "    info) COMPREPLY=( $(compgen -W \"--output --field $conn\" -- \"$cur\") ) ;;\n"
           "    import-settings) COMPREPLY=( $(compgen -f -W \"--output --wait --wait-timeout "
           "$conn\" -- \"$cur\") ) ;;\n"
           "    api) COMPREPLY=( $(compgen -W \"--method --body --input $conn /v1/settings "
           "/v1/about /v1/backend_state /v1/plugins /v1/diagnostic_checks\" -- \"$cur\") ) ;;\n"
           "    reset) COMPREPLY=( $(compgen -W \"--k8s --wipe --vm --factory --keep-system-images "
           "$conn\" -- "
           "\"$cur\") ) ;;\n"
           "    plugins|diagnostics|paths) COMPREPLY=( $(compgen -W \"--output $conn\" -- "
           "\"$cur\") ) ;;\n"
           "    completion) COMPREPLY=( $(compgen -W bash -- \"$cur\") ) ;;\n"
           "    images) COMPREPLY=( $(compgen -W \"ls pull build tag rm namespaces --output "
           "--namespace --tag $conn\" -- \"$cur\") ) ;;\n"
           "    update) COMPREPLY=( $(compgen -W \"status check apply --output --timeout "
           "$conn\" -- \"$cur\") ) ;;\n"
           "    *) COMPREPLY=( $(compgen -W \"$conn\" -- \"$cur\") ) ;;\n"
           "  esac\n"
           "}\n"
           "complete -F _berthctl berthctl\n",
           setting_flags->str + (setting_flags->len ? 1 : 0), cmds->str);
  return EXIT_OK;
}

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
  berthctl_connection_clear (&opts.conn);
  g_free (opts.output);
  return status;
}
