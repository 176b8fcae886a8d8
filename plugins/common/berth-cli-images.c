/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-cli-images.h"

#define DEFAULT_REFRESH_MS 3000
#define MIN_REFRESH_MS 100

struct _BerthCliImages
{
  BerthPlugin *plugin; /* not owned: it owns us */
  const BerthCliImagesEngine *engine;

  gboolean active;
  BerthBackend *backend; /* nullable: the engine may be on the host */
  guint refresh_id;
  GCancellable *refresh_cancellable;
  gboolean refreshing;    /* a refresh's list is under way */
  gboolean refresh_again; /* asked for while one ran */
  gboolean refresh_failing;
  JsonNode *images; /* the last list seen, nullable */
};

/* Where the mechanics hang on their plugin. */
static GQuark
cli_images_quark (void)
{
  return g_quark_from_static_string ("berth-cli-images");
}

typedef enum
{
  OP_LIST,   /* returns the parsed list */
  OP_OUTPUT, /* returns TRUE, with the CLI's output attached */
  OP_SCAN,   /* returns the scanner's report */
  OP_PARSE,  /* completed by the caller's BerthCliImagesParseFunc */
} OpKind;

typedef struct
{
  BerthCliImages *cli; /* alive while the task is: the task holds the plugin */
  OpKind kind;
  GStrv argv;
  GStrv envp;
  gchar *ns;        /* the namespace it ran in; nullable */
  gboolean watched; /* a list of the watched namespace */
  BerthCliImagesParseFunc parse;
} OpData;

static void
op_data_free (OpData *op)
{
  g_strfreev (op->argv);
  g_strfreev (op->envp);
  g_free (op->ns);
  g_free (op);
}

static void
refresh (BerthCliImages *self);

static void
berth_cli_images_free (BerthCliImages *self)
{
  /* The plugin's dispose has deactivated us; this is what is left. */
  g_clear_handle_id (&self->refresh_id, g_source_remove);
  g_clear_object (&self->refresh_cancellable);
  g_clear_object (&self->backend);
  g_clear_pointer (&self->images, json_node_unref);
  g_free (self);
}

void
berth_cli_images_attach (BerthPlugin *plugin, const BerthCliImagesEngine *engine)
{
  BerthCliImages *self;

  g_return_if_fail (BERTH_IS_PLUGIN (plugin));
  g_return_if_fail (BERTH_IS_IMAGE_PROCESSOR (plugin));
  g_return_if_fail (engine != NULL);

  self = g_new0 (BerthCliImages, 1);
  self->plugin = plugin;
  self->engine = engine;
  g_object_set_qdata_full (G_OBJECT (plugin), cli_images_quark (), self,
                           (GDestroyNotify)berth_cli_images_free);
}

BerthCliImages *
berth_cli_images_get (BerthPlugin *plugin)
{
  BerthCliImages *self = g_object_get_qdata (G_OBJECT (plugin), cli_images_quark ());

  g_return_val_if_fail (self != NULL, NULL);
  return self;
}

static BerthCliImages *
from_processor (BerthImageProcessor *processor)
{
  return berth_cli_images_get (BERTH_PLUGIN (processor));
}

/* ---- commands ----------------------------------------------------------- */

static const gchar *
logs_dir (BerthCliImages *self)
{
  return berth_plugin_get_paths (self->plugin)->logs;
}

static gchar *
socket_path (BerthCliImages *self)
{
  return g_build_filename (berth_plugin_get_paths (self->plugin)->data, self->engine->socket_name,
                           NULL);
}

/* $@variable when set, else @name from PATH. */
static gchar *
find_program (const gchar *variable, const gchar *name, const gchar *install_hint, GError **error)
{
  const gchar *from_env = g_getenv (variable);
  gchar *found;

  if (from_env != NULL && from_env[0] != '\0')
    {
      if (g_file_test (from_env, G_FILE_TEST_IS_EXECUTABLE)
          && !g_file_test (from_env, G_FILE_TEST_IS_DIR))
        return g_strdup (from_env);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                   "$%s names %s, which is not an executable file; point it at %s or unset it "
                   "to use the one in PATH",
                   variable, from_env, name);
      return NULL;
    }
  found = g_find_program_in_path (name);
  if (found == NULL)
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                 "%s is not in PATH and $%s is not set; %s, or set $%s to its path", name, variable,
                 install_hint, variable);
  return found;
}

static gboolean
check_socket (BerthCliImages *self, GError **error)
{
  g_autofree gchar *socket = socket_path (self);

  if (g_file_test (socket, G_FILE_TEST_EXISTS))
    return TRUE;
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND,
               "The %s socket %s does not exist, so the engine cannot be reached; start "
               "Berth (berthctl start) and try again once it is STARTED",
               self->engine->engine_name, socket);
  return FALSE;
}

/* <program> <engine args for the socket and @ns> @args… */
static GStrv
cli_argv (BerthCliImages *self, const gchar *ns, const gchar *const *args, GError **error)
{
  const BerthCliImagesEngine *engine = self->engine;
  g_autofree gchar *program = NULL;
  g_autofree gchar *socket = NULL;
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  program = find_program (engine->program_variable, engine->program, engine->install_hint, error);
  if (program == NULL || !check_socket (self, error))
    return NULL;
  socket = socket_path (self);
  g_strv_builder_add (builder, program);
  engine->add_engine_args (builder, socket, ns);
  g_strv_builder_addv (builder, (const gchar **)args);
  return g_strv_builder_end (builder);
}

static gchar *
dup_watched_namespace (BerthCliImages *self)
{
  if (self->engine->dup_watched_namespace == NULL)
    return NULL;
  return self->engine->dup_watched_namespace (self->plugin);
}

/* Whether the images of @list differ from the last ones seen: the first
 * list is what later ones are measured against. */
static void
note_images (BerthCliImages *self, JsonNode *list)
{
  gboolean had_list = self->images != NULL;

  if (berth_image_list_equal (self->images, list))
    return;
  g_clear_pointer (&self->images, json_node_unref);
  self->images = json_node_ref (list);
  if (had_list && self->active)
    {
      g_log (self->engine->log_domain, G_LOG_LEVEL_DEBUG, "The image list changed");
      g_signal_emit_by_name (self->plugin, "images-changed");
    }
}

static void
complete_list (BerthCliImages *self, GTask *task, OpData *op, const BerthSubprocessResult *result)
{
  BerthImageListStats stats;
  gsize len = 0;
  const gchar *data = g_bytes_get_data (result->stdout_bytes, &len);
  g_autoptr (JsonNode) list = berth_image_list_parse (data, len, op->ns, &stats);

  if (stats.n_skipped > 0 || stats.n_dropped > 0)
    {
      g_autofree gchar *where = op->ns != NULL ? g_strconcat (" in ", op->ns, NULL) : NULL;

      berth_log_line (logs_dir (self), self->engine->component,
                      "%s images%s: %u lines were not images and were skipped; %u images past "
                      "the limit of %d were left out",
                      self->engine->program, where != NULL ? where : "", stats.n_skipped,
                      stats.n_dropped, BERTH_IMAGE_LIST_MAX_IMAGES);
    }
  if (op->watched)
    note_images (self, list);
  g_task_return_pointer (task, g_steal_pointer (&list), (GDestroyNotify)json_node_unref);
}

static void
on_op_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  OpData *op = g_task_get_task_data (task);
  BerthCliImages *self = op->cli;
  g_autoptr (BerthSubprocessResult) result = NULL;
  g_autoptr (GError) error = NULL;

  result = berth_subprocess_run_finish (res, &error);
  if (result == NULL || !berth_image_cli_check ((const gchar *const *)op->argv, result, &error))
    {
      berth_error_convert (&error);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  switch (op->kind)
    {
    case OP_LIST:
      complete_list (self, task, op, result);
      return;
    case OP_PARSE:
      op->parse (task, result);
      return;
    case OP_SCAN:
      {
        gsize len = 0;
        const gchar *data = g_bytes_get_data (result->stdout_bytes, &len);
        JsonNode *report = berth_image_scan_report_parse (data, len, "trivy", &error);

        if (report == NULL)
          g_task_return_error (task, g_steal_pointer (&error));
        else
          g_task_return_pointer (task, report, (GDestroyNotify)json_node_unref);
        return;
      }
    case OP_OUTPUT:
    default:
      {
        g_autofree gchar *output = berth_image_cli_output (result);

        berth_image_result_set_output (task, output);
        g_task_return_boolean (task, TRUE);
        /* Whoever watches sees the change now, not at the next tick. */
        refresh (self);
        return;
      }
    }
}

/* Runs @argv for @task (stealing both) in @ns and completes it as @kind
 * says. */
static void
start_op (BerthCliImages *self, GTask *task, OpKind kind, GStrv argv, GStrv envp, const gchar *ns,
          BerthCliImagesParseFunc parse)
{
  OpData *op = g_new0 (OpData, 1);
  g_autofree gchar *watched = NULL;

  if (kind == OP_LIST)
    watched = dup_watched_namespace (self);
  op->cli = self;
  op->kind = kind;
  op->argv = argv;
  op->envp = envp;
  op->ns = g_strdup (ns);
  op->watched = kind == OP_LIST && g_strcmp0 (ns, watched) == 0;
  op->parse = parse;
  g_task_set_task_data (task, op, (GDestroyNotify)op_data_free);
  berth_subprocess_run_async ((const gchar *const *)op->argv, (const gchar *const *)op->envp, NULL,
                              logs_dir (self), self->engine->component,
                              g_task_get_cancellable (task), on_op_done, task);
}

/* Starts the CLI with @args in @ns for @task (stolen), or completes it with
 * the error that kept it from starting. */
static void
run_cli (BerthCliImages *self, GTask *task, OpKind kind, const gchar *ns, const gchar *const *args,
         BerthCliImagesParseFunc parse)
{
  g_autoptr (GError) error = NULL;
  GStrv argv = cli_argv (self, ns, args, &error);

  if (argv == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  start_op (self, task, kind, argv, self->engine->dup_environ (), ns, parse);
}

void
berth_cli_images_run (BerthCliImages *self, GTask *task, const gchar *ns, const gchar *const *args,
                      BerthCliImagesParseFunc parse)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (G_IS_TASK (task));
  g_return_if_fail (parse != NULL);

  run_cli (self, task, OP_PARSE, ns, args, parse);
}

/* A new GTask for an operation and the namespace it runs in (@ns_out); NULL
 * (with the task completed) when the engine cannot use @ns. */
static GTask *
new_op_task (BerthCliImages *self, gpointer source_tag, const gchar *ns, gchar **ns_out,
             GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self->plugin, cancellable, callback, user_data);
  g_autoptr (GError) error = NULL;

  g_task_set_source_tag (task, source_tag);
  *ns_out = NULL;
  if (!self->engine->resolve_namespace (self->plugin, ns, ns_out, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return NULL;
    }
  return g_steal_pointer (&task);
}

/* Completes @task (taken) with @error (taken) when it is set. */
static gboolean
fail_op (GTask *task, GError *error)
{
  if (error == NULL)
    return FALSE;
  g_task_return_error (task, error);
  g_object_unref (task);
  return TRUE;
}

/* ---- refresh ------------------------------------------------------------ */

static void
list_images (BerthCliImages *self, GTask *task, const gchar *ns)
{
  run_cli (self, task, OP_LIST, ns, self->engine->list_args, NULL);
}

static void
refresh_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BerthCliImages *self = user_data;
  const gchar *component = self->engine->component;
  g_autoptr (JsonNode) list = NULL;
  g_autoptr (GError) error = NULL;

  self->refreshing = FALSE;
  list = g_task_propagate_pointer (G_TASK (result), &error);
  if (list == NULL)
    {
      berth_error_convert (&error);
      /* Said once, not every few seconds, until it works again. */
      if (!g_error_matches (error, BERTH_ERROR, BERTH_ERROR_CANCELLED) && !self->refresh_failing)
        {
          berth_log_line (logs_dir (self), component,
                          "Refreshing the image list failed: %s (retrying quietly)",
                          error->message);
          g_log (self->engine->log_domain, G_LOG_LEVEL_DEBUG,
                 "Refreshing the image list failed: %s", error->message);
          self->refresh_failing = TRUE;
        }
    }
  else if (self->refresh_failing)
    {
      berth_log_line (logs_dir (self), component, "Refreshing the image list works again");
      self->refresh_failing = FALSE;
    }
  if (self->refresh_again && self->active)
    {
      self->refresh_again = FALSE;
      refresh (self);
    }
}

static void
refresh (BerthCliImages *self)
{
  g_autofree gchar *ns = NULL;

  if (!self->active)
    return;
  if (self->refreshing)
    {
      self->refresh_again = TRUE;
      return;
    }
  self->refreshing = TRUE;
  ns = dup_watched_namespace (self);
  list_images (self, g_task_new (self->plugin, self->refresh_cancellable, refresh_done, self), ns);
}

static gboolean
on_refresh_tick (gpointer user_data)
{
  refresh (user_data);
  return G_SOURCE_CONTINUE;
}

static guint
refresh_interval_ms (void)
{
  const gchar *text = g_getenv ("BERTH_IMAGES_REFRESH_MS");
  guint64 value = 0;

  if (text == NULL
      || !g_ascii_string_to_unsigned (text, 10, MIN_REFRESH_MS, G_MAXUINT, &value, NULL))
    return DEFAULT_REFRESH_MS;
  return (guint)value;
}

/* ---- BerthImageProcessor ------------------------------------------------ */

static gboolean
cli_images_activate (BerthImageProcessor *processor, BerthBackend *backend, GError **error)
{
  BerthCliImages *self = from_processor (processor);
  guint interval = refresh_interval_ms ();

  g_set_object (&self->backend, backend);
  if (self->active)
    return TRUE;
  self->active = TRUE;
  self->refresh_again = FALSE;
  self->refresh_cancellable = g_cancellable_new ();
  self->refresh_id = g_timeout_add (interval, on_refresh_tick, self);
  berth_log_line (logs_dir (self), self->engine->component, "Watching the images every %u ms",
                  interval);
  refresh (self);
  return TRUE;
}

static void
cli_images_deactivate (BerthImageProcessor *processor)
{
  BerthCliImages *self = from_processor (processor);

  if (!self->active)
    return;
  self->active = FALSE;
  self->refresh_again = FALSE;
  g_clear_handle_id (&self->refresh_id, g_source_remove);
  g_cancellable_cancel (self->refresh_cancellable);
  g_clear_object (&self->refresh_cancellable);
  g_clear_object (&self->backend);
  berth_log_line (logs_dir (self), self->engine->component, "No longer watching the images");
}

static void
cli_images_list_images_async (BerthImageProcessor *processor, const gchar *ns,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  BerthCliImages *self = from_processor (processor);
  g_autofree gchar *in_ns = NULL;
  GTask *task = new_op_task (self, cli_images_list_images_async, ns, &in_ns, cancellable, callback,
                             user_data);

  if (task != NULL)
    list_images (self, task, in_ns);
}

/* `<command> @ref` for the operations on one image: pull, push, rmi. */
static void
run_on_ref (BerthImageProcessor *processor, gpointer source_tag, const gchar *command,
            const gchar *what, const gchar *ref, const gchar *ns, GCancellable *cancellable,
            GAsyncReadyCallback callback, gpointer user_data)
{
  BerthCliImages *self = from_processor (processor);
  g_autofree gchar *in_ns = NULL;
  GTask *task = new_op_task (self, source_tag, ns, &in_ns, cancellable, callback, user_data);
  GError *error = NULL;
  const gchar *args[] = { command, ref, NULL };

  if (task == NULL)
    return;
  berth_image_ref_check (ref, what, &error);
  if (!fail_op (task, error))
    run_cli (self, task, OP_OUTPUT, in_ns, args, NULL);
}

static void
cli_images_pull_async (BerthImageProcessor *processor, const gchar *ref, const gchar *ns,
                       GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  run_on_ref (processor, cli_images_pull_async, "pull", "The image to pull", ref, ns, cancellable,
              callback, user_data);
}

static void
cli_images_push_async (BerthImageProcessor *processor, const gchar *ref, const gchar *ns,
                       GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  run_on_ref (processor, cli_images_push_async, "push", "The image to push", ref, ns, cancellable,
              callback, user_data);
}

static void
cli_images_remove_async (BerthImageProcessor *processor, const gchar *ref, const gchar *ns,
                         GCancellable *cancellable, GAsyncReadyCallback callback,
                         gpointer user_data)
{
  run_on_ref (processor, cli_images_remove_async, "rmi", "The image to remove", ref, ns,
              cancellable, callback, user_data);
}

static void
cli_images_build_async (BerthImageProcessor *processor, const gchar *context_dir, const gchar *tag,
                        const gchar *ns, GCancellable *cancellable, GAsyncReadyCallback callback,
                        gpointer user_data)
{
  BerthCliImages *self = from_processor (processor);
  g_autofree gchar *in_ns = NULL;
  GTask *task
      = new_op_task (self, cli_images_build_async, ns, &in_ns, cancellable, callback, user_data);
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) args = NULL;
  GError *error = NULL;

  if (task == NULL)
    return;
  if (berth_image_context_check (context_dir, &error) && tag != NULL)
    berth_image_ref_check (tag, "The tag to build", &error);
  if (fail_op (task, error))
    return;
  g_strv_builder_add (builder, "build");
  if (self->engine->dup_build_options != NULL)
    {
      g_auto (GStrv) options = self->engine->dup_build_options (self->plugin);

      g_strv_builder_addv (builder, (const gchar **)options);
    }
  if (tag != NULL)
    g_strv_builder_add_many (builder, "--tag", tag, NULL);
  g_strv_builder_add (builder, context_dir);
  args = g_strv_builder_end (builder);
  run_cli (self, task, OP_OUTPUT, in_ns, (const gchar *const *)args, NULL);
}

static void
cli_images_tag_async (BerthImageProcessor *processor, const gchar *source, const gchar *target,
                      const gchar *ns, GCancellable *cancellable, GAsyncReadyCallback callback,
                      gpointer user_data)
{
  BerthCliImages *self = from_processor (processor);
  g_autofree gchar *in_ns = NULL;
  GTask *task
      = new_op_task (self, cli_images_tag_async, ns, &in_ns, cancellable, callback, user_data);
  GError *error = NULL;
  const gchar *args[] = { "tag", source, target, NULL };

  if (task == NULL)
    return;
  if (berth_image_ref_check (source, "The image to tag", &error))
    berth_image_ref_check (target, "The new tag", &error);
  if (!fail_op (task, error))
    run_cli (self, task, OP_OUTPUT, in_ns, args, NULL);
}

/* trivy image --quiet --format json @ref, pointed at the engine through the
 * environment the engine's scan_environ gives. */
static void
cli_images_scan_async (BerthImageProcessor *processor, const gchar *ref, GCancellable *cancellable,
                       GAsyncReadyCallback callback, gpointer user_data)
{
  BerthCliImages *self = from_processor (processor);
  g_autoptr (GTask) task = g_task_new (processor, cancellable, callback, user_data);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *trivy = NULL;
  g_autofree gchar *socket = NULL;
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  GStrv envp;

  g_task_set_source_tag (task, cli_images_scan_async);
  if (!berth_image_ref_check (ref, "The image to scan", &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  trivy = find_program ("BERTH_TRIVY", "trivy", "install Aqua Security's trivy", &error);
  if (trivy == NULL)
    {
      /* Scanning is an extra: without a scanner it is not supported here. */
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                               "Images cannot be scanned for vulnerabilities: %s", error->message);
      return;
    }
  if (!check_socket (self, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  socket = socket_path (self);
  envp = self->engine->scan_environ (self->plugin, self->engine->dup_environ (), socket);
  g_strv_builder_add_many (builder, trivy, "image", "--quiet", "--format", "json", ref, NULL);
  start_op (self, g_steal_pointer (&task), OP_SCAN, g_strv_builder_end (builder), envp, NULL, NULL);
}

void
berth_cli_images_implement (BerthImageProcessorInterface *iface)
{
  iface->activate = cli_images_activate;
  iface->deactivate = cli_images_deactivate;
  iface->list_images_async = cli_images_list_images_async;
  iface->pull_async = cli_images_pull_async;
  iface->push_async = cli_images_push_async;
  iface->build_async = cli_images_build_async;
  iface->tag_async = cli_images_tag_async;
  iface->remove_async = cli_images_remove_async;
  iface->scan_async = cli_images_scan_async;
}
