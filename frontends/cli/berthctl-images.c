/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "berth.h"
#include "berthctl-images.h"

/* As the rest of berthctl (and rdctl). */
enum
{
  EXIT_OK = 0,
  EXIT_FAILED = 1,
  EXIT_USAGE = 2,
};

/* A pull or a build answers when it is done: give it time. */
#define DEFAULT_OPERATION_TIMEOUT 3600

typedef struct
{
  BerthctlConnection *conn;
  gchar *output; /* -o json|text */
  gchar *ns;     /* --namespace */
  gchar *tag;    /* build --tag */
  gint timeout;  /* --timeout, seconds */
} ImagesOptions;

typedef int (*SubcommandFunc) (ImagesOptions *opts, int argc, char **argv);

/* Which options a subcommand takes, besides the connection's. */
typedef enum
{
  TAKES_OUTPUT,    /* --output, --namespace */
  TAKES_OPERATION, /* --namespace, --timeout */
  TAKES_BUILD,     /* --tag, --namespace, --timeout */
} Takes;

typedef struct
{
  const gchar *name;
  const gchar *parameter;
  const gchar *summary;
  Takes takes;
  SubcommandFunc run;
} Subcommand;

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
parse_options (ImagesOptions *opts, const Subcommand *sub, GOptionEntry *entries, int *argc,
               char ***argv, GError **error)
{
  g_autoptr (GOptionContext) ctx = NULL;
  g_autofree gchar *prgname = g_strdup_printf ("berthctl images %s", sub->name);

  /* "berthctl images ls [OPTION…]", as berthctl's own commands. */
  g_set_prgname (prgname);
  ctx = g_option_context_new (sub->parameter);
  g_option_context_set_summary (ctx, sub->summary);
  if (entries != NULL)
    g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, berthctl_connection_option_group (opts->conn));
  return g_option_context_parse (ctx, argc, argv, error);
}

static gboolean
check_output_option (ImagesOptions *opts, GError **error)
{
  if (opts->output == NULL || g_str_equal (opts->output, "text")
      || g_str_equal (opts->output, "json"))
    return TRUE;
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               "--output \"%s\" is not a format; use json or text", opts->output);
  return FALSE;
}

static gboolean
want_json (ImagesOptions *opts)
{
  return opts->output != NULL && g_str_equal (opts->output, "json");
}

/* After the options, exactly @n arguments besides the subcommand itself
 * (at least @n when @at_least). */
static gboolean
check_args (int argc, char **argv, int n, gboolean at_least, const gchar *what, GError **error)
{
  int given = argc - 1;

  if (given == n || (at_least && given > n))
    return TRUE;
  if (given > n)
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                 "unexpected argument \"%s\"; see berthctl images %s --help", argv[n + 1], argv[0]);
  else
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                 "images %s needs %s; see berthctl images %s --help", argv[0], what, argv[0]);
  return FALSE;
}

static gboolean
check_timeout (ImagesOptions *opts, GError **error)
{
  if (opts->timeout > 0)
    return TRUE;
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               "--timeout must be a positive number of seconds, not %d", opts->timeout);
  return FALSE;
}

static BerthctlRemote *
connect_daemon (ImagesOptions *opts, GError **error)
{
  BerthctlRemote *remote = berthctl_remote_new (opts->conn, error);

  /* berthd answers a pull or a build when the engine is done with it. */
  if (remote != NULL)
    soup_session_set_timeout (berthctl_remote_get_session (remote), (guint)opts->timeout);
  return remote;
}

/* {…@member: @value…} with the namespace when one was given. */
static JsonObject *
new_body (ImagesOptions *opts)
{
  JsonObject *body = json_object_new ();

  if (opts->ns != NULL)
    json_object_set_string_member (body, "namespace", opts->ns);
  return body;
}

/* POSTs @body (taken) to @path and prints what the CLI printed. */
static gboolean
post_operation (BerthctlRemote *remote, const gchar *path, JsonObject *body, GError **error)
{
  g_autoptr (JsonNode) request = json_node_init_object (json_node_alloc (), body);
  g_autoptr (JsonNode) answer = NULL;
  const gchar *output = NULL;

  json_object_unref (body);
  answer = berthctl_remote_call (remote, "POST", path, request, error);
  if (answer == NULL)
    return FALSE;
  if (JSON_NODE_HOLDS_OBJECT (answer))
    output = json_object_get_string_member_with_default (json_node_get_object (answer), "output",
                                                         NULL);
  if (output != NULL && output[0] != '\0')
    g_print ("%s%s", output, g_str_has_suffix (output, "\n") ? "" : "\n");
  return TRUE;
}

/* ---- ls --------------------------------------------------------------- */

/* As docker prints sizes: three significant digits, decimal units. */
static gchar *
format_size (JsonNode *node)
{
  static const gchar *const units[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB" };
  gdouble size;
  guint unit = 0;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_INT64)
    return g_strdup ("N/A");
  size = (gdouble)json_node_get_int (node);
  while (size >= 1000 && unit + 1 < G_N_ELEMENTS (units))
    {
      size /= 1000;
      unit++;
    }
  return g_strdup_printf ("%.3g%s", size, units[unit]);
}

/* "sha256:8135583d97feb8…" as docker shows it: 8135583d97fe. */
static gchar *
short_id (const gchar *id)
{
  const gchar *colon = strchr (id, ':');

  if (colon != NULL)
    id = colon + 1;
  return g_strndup (id, 12);
}

static const gchar *
member_text (JsonObject *object, const gchar *member)
{
  return json_object_get_string_member_with_default (object, member, "<none>");
}

static void
print_table (JsonArray *images)
{
  const gchar *headers[] = { "REPOSITORY", "TAG", "IMAGE ID", "SIZE" };
  guint n = json_array_get_length (images);
  g_autoptr (GPtrArray) cells = g_ptr_array_new_with_free_func (g_free);
  gsize widths[G_N_ELEMENTS (headers)];

  for (guint c = 0; c < G_N_ELEMENTS (headers); c++)
    {
      g_ptr_array_add (cells, g_strdup (headers[c]));
      widths[c] = strlen (headers[c]);
    }
  for (guint i = 0; i < n; i++)
    {
      JsonNode *element = json_array_get_element (images, i);
      JsonObject *image;
      gchar *row[G_N_ELEMENTS (headers)];

      if (!JSON_NODE_HOLDS_OBJECT (element))
        continue;
      image = json_node_get_object (element);
      row[0] = g_strdup (member_text (image, "repository"));
      row[1] = g_strdup (member_text (image, "tag"));
      row[2] = short_id (member_text (image, "id"));
      row[3] = format_size (json_object_get_member (image, "size"));
      for (guint c = 0; c < G_N_ELEMENTS (headers); c++)
        {
          widths[c] = MAX (widths[c], (gsize)g_utf8_strlen (row[c], -1));
          g_ptr_array_add (cells, row[c]);
        }
    }
  for (guint k = 0; k < cells->len; k++)
    {
      guint c = k % G_N_ELEMENTS (headers);
      const gchar *cell = g_ptr_array_index (cells, k);

      if (c + 1 < G_N_ELEMENTS (headers))
        g_print ("%s%*s", cell, (int)(widths[c] - (gsize)g_utf8_strlen (cell, -1) + 3), "");
      else
        g_print ("%s\n", cell);
    }
}

static int
images_ls (ImagesOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthctlRemote) remote = NULL;
  g_autoptr (JsonNode) images = NULL;
  g_autofree gchar *path = NULL;

  if (!check_output_option (opts, &error) || !check_args (argc, argv, 0, FALSE, NULL, &error))
    return fail (error);
  remote = connect_daemon (opts, &error);
  if (remote == NULL)
    return fail (error);
  if (opts->ns != NULL)
    {
      g_autofree gchar *escaped = g_uri_escape_string (opts->ns, NULL, FALSE);

      path = g_strconcat ("/v1/images?namespace=", escaped, NULL);
    }
  images = berthctl_remote_call (remote, "GET", path != NULL ? path : "/v1/images", NULL, &error);
  if (images == NULL)
    return fail (error);
  if (want_json (opts) || !JSON_NODE_HOLDS_ARRAY (images))
    print_json (images);
  else
    print_table (json_node_get_array (images));
  return EXIT_OK;
}

/* ---- operations ------------------------------------------------------- */

static int
images_pull (ImagesOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthctlRemote) remote = NULL;
  JsonObject *body;

  if (!check_args (argc, argv, 1, FALSE, "the image to pull, such as busybox:latest", &error)
      || !check_timeout (opts, &error))
    return fail (error);
  remote = connect_daemon (opts, &error);
  if (remote == NULL)
    return fail (error);
  body = new_body (opts);
  json_object_set_string_member (body, "ref", argv[1]);
  if (!post_operation (remote, "/v1/images/pull", body, &error))
    return fail (error);
  return EXIT_OK;
}

static int
images_build (ImagesOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthctlRemote) remote = NULL;
  g_autofree gchar *cwd = g_get_current_dir ();
  g_autofree gchar *context = NULL;
  JsonObject *body;

  if (!check_args (argc, argv, 1, FALSE, "the directory to build (the one with the Dockerfile)",
                   &error)
      || !check_timeout (opts, &error))
    return fail (error);
  /* berthd does not share our working directory. */
  context = g_canonicalize_filename (argv[1], cwd);
  remote = connect_daemon (opts, &error);
  if (remote == NULL)
    return fail (error);
  body = new_body (opts);
  json_object_set_string_member (body, "context", context);
  if (opts->tag != NULL)
    json_object_set_string_member (body, "tag", opts->tag);
  if (!post_operation (remote, "/v1/images/build", body, &error))
    return fail (error);
  return EXIT_OK;
}

static int
images_tag (ImagesOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthctlRemote) remote = NULL;
  JsonObject *body;

  if (!check_args (argc, argv, 2, FALSE, "the image and its new name: SOURCE TARGET", &error)
      || !check_timeout (opts, &error))
    return fail (error);
  remote = connect_daemon (opts, &error);
  if (remote == NULL)
    return fail (error);
  body = new_body (opts);
  json_object_set_string_member (body, "source", argv[1]);
  json_object_set_string_member (body, "target", argv[2]);
  if (!post_operation (remote, "/v1/images/tag", body, &error))
    return fail (error);
  return EXIT_OK;
}

/* Each image in turn; one that cannot be removed does not stop the rest. */
static int
images_rm (ImagesOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthctlRemote) remote = NULL;
  int status = EXIT_OK;

  if (!check_args (argc, argv, 1, TRUE, "at least one image to remove", &error)
      || !check_timeout (opts, &error))
    return fail (error);
  remote = connect_daemon (opts, &error);
  if (remote == NULL)
    return fail (error);
  for (int i = 1; i < argc; i++)
    {
      g_autoptr (GError) one_error = NULL;
      JsonObject *body = new_body (opts);

      json_object_set_string_member (body, "ref", argv[i]);
      if (!post_operation (remote, "/v1/images/remove", body, &one_error))
        {
          g_printerr ("berthctl: %s\n", one_error->message);
          status = EXIT_FAILED;
        }
    }
  return status;
}

static int
images_namespaces (ImagesOptions *opts, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthctlRemote) remote = NULL;
  g_autoptr (JsonNode) names = NULL;

  if (!check_output_option (opts, &error) || !check_args (argc, argv, 0, FALSE, NULL, &error))
    return fail (error);
  remote = connect_daemon (opts, &error);
  if (remote == NULL)
    return fail (error);
  names = berthctl_remote_call (remote, "GET", "/v1/images/namespaces", NULL, &error);
  if (names == NULL)
    return fail (error);
  if (want_json (opts) || !JSON_NODE_HOLDS_ARRAY (names))
    {
      print_json (names);
      return EXIT_OK;
    }
  for (guint i = 0; i < json_array_get_length (json_node_get_array (names)); i++)
    {
      const gchar *name = json_array_get_string_element (json_node_get_array (names), i);

      if (name != NULL)
        g_print ("%s\n", name);
    }
  return EXIT_OK;
}

/* ---- dispatch --------------------------------------------------------- */

static const Subcommand subcommands[] = {
  { "ls", NULL, "List the engine's images (docker images, nerdctl images).", TAKES_OUTPUT,
    images_ls },
  { "pull", "REF", "Pull an image and print what the engine said.", TAKES_OPERATION, images_pull },
  { "build", "DIR", "Build an image from DIR and the Dockerfile in it.", TAKES_BUILD,
    images_build },
  { "tag", "SOURCE TARGET", "Give an image another name.", TAKES_OPERATION, images_tag },
  { "rm", "REF…", "Remove images.", TAKES_OPERATION, images_rm },
  { "namespaces", NULL, "List containerd's image namespaces (containerd only).", TAKES_OUTPUT,
    images_namespaces },
};

static void
print_usage (FILE *to)
{
  fprintf (to, "Usage: berthctl images [SUBCOMMAND] [OPTION…]\n\nSubcommands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (subcommands); i++)
    fprintf (to, "  %-11s %-14s %s\n", subcommands[i].name,
             subcommands[i].parameter != NULL ? subcommands[i].parameter : "",
             subcommands[i].summary);
  fprintf (to, "\nWithout a subcommand: ls. Run berthctl images SUBCOMMAND --help for its "
               "options.\n");
}

int
berthctl_cmd_images (BerthctlConnection *conn, int argc, char **argv)
{
  ImagesOptions opts = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree gchar *output = NULL;
  g_autofree gchar *ns = NULL;
  g_autofree gchar *tag = NULL;
  gint timeout = DEFAULT_OPERATION_TIMEOUT;
  gchar ls_name[] = "ls";
  g_autofree char **sub_argv = NULL;
  const Subcommand *sub = NULL;
  int sub_argc;
  GOptionEntry output_entries[] = { { "output", 'o', 0, G_OPTION_ARG_STRING, &output,
                                      "Output format: text or json", "FORMAT" },
                                    { "namespace", 'n', 0, G_OPTION_ARG_STRING, &ns,
                                      "containerd namespace (containerd only)", "NS" },
                                    { NULL } };
  GOptionEntry operation_entries[]
      = { { "namespace", 'n', 0, G_OPTION_ARG_STRING, &ns, "containerd namespace (containerd only)",
            "NS" },
          { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout,
            "Give up waiting for berthd after this many seconds (default 3600)", "SECONDS" },
          { NULL } };
  GOptionEntry build_entries[]
      = { { "tag", 't', 0, G_OPTION_ARG_STRING, &tag, "Name the image TAG", "TAG" },
          { "namespace", 'n', 0, G_OPTION_ARG_STRING, &ns, "containerd namespace (containerd only)",
            "NS" },
          { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout,
            "Give up waiting for berthd after this many seconds (default 3600)", "SECONDS" },
          { NULL } };
  GOptionEntry *const entries[] = {
    [TAKES_OUTPUT] = output_entries,
    [TAKES_OPERATION] = operation_entries,
    [TAKES_BUILD] = build_entries,
  };

  g_return_val_if_fail (conn != NULL, EXIT_FAILED);
  g_return_val_if_fail (argc >= 1, EXIT_USAGE);

  if (argc >= 2
      && (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h")
          || g_str_equal (argv[1], "help")))
    {
      print_usage (stdout);
      return EXIT_OK;
    }

  /* The subcommand's argv: its name, then what follows it. No name (or
   * options straight away) means ls. */
  sub_argv = g_new0 (char *, argc + 1);
  if (argc >= 2 && argv[1][0] != '-')
    {
      for (guint i = 0; i < G_N_ELEMENTS (subcommands); i++)
        if (g_str_equal (subcommands[i].name, argv[1]))
          sub = &subcommands[i];
      if (sub == NULL)
        {
          g_printerr ("berthctl: images has no subcommand \"%s\"\n", argv[1]);
          print_usage (stderr);
          return EXIT_USAGE;
        }
      for (int i = 1; i < argc; i++)
        sub_argv[i - 1] = argv[i];
      sub_argc = argc - 1;
    }
  else
    {
      sub = &subcommands[0];
      sub_argv[0] = ls_name;
      for (int i = 1; i < argc; i++)
        sub_argv[i] = argv[i];
      sub_argc = argc;
    }

  opts.conn = conn;
  if (!parse_options (&opts, sub, entries[sub->takes], &sub_argc, &sub_argv, &error))
    return fail (error);
  opts.output = output;
  opts.ns = ns;
  opts.tag = tag;
  opts.timeout = timeout;
  return sub->run (&opts, sub_argc, sub_argv);
}
