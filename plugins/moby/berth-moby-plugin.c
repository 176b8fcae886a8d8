#include "config.h"

#include <string.h>

#include <berth.h>

#include "berth-moby-plugin.h"

#define COMPONENT "moby"
#define DEFAULT_REFRESH_MS 3000
#define MIN_REFRESH_MS 100

struct _BerthMobyPlugin
{
  BerthPlugin parent_instance;

  gboolean active;
  BerthBackend *backend; /* nullable: the engine may be on the host */
  guint refresh_id;
  GCancellable *refresh_cancellable;
  gboolean refreshing;    /* a refresh's list is under way */
  gboolean refresh_again; /* asked for while one ran */
  gboolean refresh_failing;
  JsonNode *images; /* the last list seen, nullable */
};

static void
berth_moby_plugin_image_processor_init (BerthImageProcessorInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (BerthMobyPlugin, berth_moby_plugin, BERTH_TYPE_PLUGIN,
                               G_IMPLEMENT_INTERFACE (BERTH_TYPE_IMAGE_PROCESSOR,
                                                      berth_moby_plugin_image_processor_init))

BERTH_PLUGIN_DEFINE (berth_moby_plugin)

typedef enum
{
  OP_LIST,   /* returns the parsed list */
  OP_OUTPUT, /* returns TRUE, with the CLI's output attached */
  OP_SCAN,   /* returns the scanner's report */
} OpKind;

typedef struct
{
  OpKind kind;
  GStrv argv;
  GStrv envp;
} OpData;

static void
op_data_free (OpData *op)
{
  g_strfreev (op->argv);
  g_strfreev (op->envp);
  g_free (op);
}

static void
refresh (BerthMobyPlugin *self);

/* ---- commands ----------------------------------------------------------- */

static const gchar *
logs_dir (BerthMobyPlugin *self)
{
  return berth_plugin_get_paths (BERTH_PLUGIN (self))->logs;
}

static gchar *
socket_path (BerthMobyPlugin *self)
{
  return g_build_filename (berth_plugin_get_paths (BERTH_PLUGIN (self))->data, "docker.sock", NULL);
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
check_socket (BerthMobyPlugin *self, GError **error)
{
  g_autofree gchar *socket = socket_path (self);

  if (g_file_test (socket, G_FILE_TEST_EXISTS))
    return TRUE;
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND,
               "The docker socket %s does not exist, so the engine cannot be reached; start "
               "Berth (berthctl start) and try again once it is STARTED",
               socket);
  return FALSE;
}

/* docker --host unix://<socket> @args… */
static GStrv
docker_argv (BerthMobyPlugin *self, const gchar *const *args, GError **error)
{
  g_autofree gchar *docker = NULL;
  g_autofree gchar *socket = NULL;
  g_autofree gchar *host = NULL;
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  docker
      = find_program ("BERTH_DOCKER", "docker",
                      "install the docker CLI (the docker.io package on Debian and Ubuntu)", error);
  if (docker == NULL || !check_socket (self, error))
    return NULL;
  socket = socket_path (self);
  host = g_strconcat ("unix://", socket, NULL);
  g_strv_builder_add_many (builder, docker, "--host", host, NULL);
  g_strv_builder_addv (builder, (const gchar **)args);
  return g_strv_builder_end (builder);
}

/* The caller's environment, without what would point docker elsewhere. */
static GStrv
docker_envp (void)
{
  GStrv envp = g_get_environ ();

  envp = g_environ_unsetenv (envp, "DOCKER_HOST");
  envp = g_environ_unsetenv (envp, "DOCKER_CONTEXT");
  envp = g_environ_setenv (envp, "DOCKER_CLI_HINTS", "false", TRUE);
  return envp;
}

/* Whether the images of @list differ from the last ones seen: the first
 * list is what later ones are measured against. */
static void
note_images (BerthMobyPlugin *self, JsonNode *list)
{
  gboolean had_list = self->images != NULL;

  if (berth_image_list_equal (self->images, list))
    return;
  g_clear_pointer (&self->images, json_node_unref);
  self->images = json_node_ref (list);
  if (had_list && self->active)
    {
      g_debug ("The image list changed");
      g_signal_emit_by_name (self, "images-changed");
    }
}

static void
on_op_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthMobyPlugin *self = g_task_get_source_object (task);
  OpData *op = g_task_get_task_data (task);
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
      {
        BerthImageListStats stats;
        gsize len = 0;
        const gchar *data = g_bytes_get_data (result->stdout_bytes, &len);
        g_autoptr (JsonNode) list = berth_image_list_parse (data, len, NULL, &stats);

        if (stats.n_skipped > 0 || stats.n_dropped > 0)
          berth_log_line (logs_dir (self), COMPONENT,
                          "docker images: %u lines were not images and were skipped; %u images "
                          "past the limit of %d were left out",
                          stats.n_skipped, stats.n_dropped, BERTH_IMAGE_LIST_MAX_IMAGES);
        note_images (self, list);
        g_task_return_pointer (task, g_steal_pointer (&list), (GDestroyNotify)json_node_unref);
        return;
      }
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

/* Runs @argv for @task (stealing both) and completes it as @kind says. */
static void
start_op (BerthMobyPlugin *self, GTask *task, OpKind kind, GStrv argv, GStrv envp)
{
  OpData *op = g_new0 (OpData, 1);

  op->kind = kind;
  op->argv = argv;
  op->envp = envp;
  g_task_set_task_data (task, op, (GDestroyNotify)op_data_free);
  berth_subprocess_run_async ((const gchar *const *)op->argv, (const gchar *const *)op->envp, NULL,
                              logs_dir (self), COMPONENT, g_task_get_cancellable (task), on_op_done,
                              task);
}

/* Starts `docker @args…` for @task (stolen), or completes it with the error
 * that kept it from starting. */
static void
run_docker (BerthMobyPlugin *self, GTask *task, OpKind kind, const gchar *const *args)
{
  g_autoptr (GError) error = NULL;
  GStrv argv = docker_argv (self, args, &error);

  if (argv == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  start_op (self, task, kind, argv, docker_envp ());
}

/* docker has no namespaces; one asked for is refused rather than ignored. */
static gboolean
refuse_namespace (GTask *task, const gchar *ns)
{
  if (ns == NULL)
    return FALSE;
  g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                           "The moby engine (docker) has no image namespaces, so namespace "
                           "\"%s\" cannot be used; leave the namespace out, or set "
                           "containerEngine.name to containerd to use containerd's namespaces",
                           ns);
  return TRUE;
}

/* A new GTask for an operation; NULL (with the task completed) when a check
 * on its input failed. */
static GTask *
new_op_task (BerthMobyPlugin *self, gpointer source_tag, const gchar *ns, GCancellable *cancellable,
             GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  if (refuse_namespace (task, ns))
    return NULL;
  return g_steal_pointer (&task);
}

/* ---- refresh ------------------------------------------------------------ */

static void
list_images (BerthMobyPlugin *self, GTask *task)
{
  static const gchar *const args[] = { "images", "--digests", "--format", "{{json .}}", NULL };

  run_docker (self, task, OP_LIST, args);
}

static void
refresh_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BerthMobyPlugin *self = BERTH_MOBY_PLUGIN (source);
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
          berth_log_line (logs_dir (self), COMPONENT,
                          "Refreshing the image list failed: %s (retrying quietly)",
                          error->message);
          g_debug ("Refreshing the image list failed: %s", error->message);
          self->refresh_failing = TRUE;
        }
    }
  else if (self->refresh_failing)
    {
      berth_log_line (logs_dir (self), COMPONENT, "Refreshing the image list works again");
      self->refresh_failing = FALSE;
    }
  if (self->refresh_again && self->active)
    {
      self->refresh_again = FALSE;
      refresh (self);
    }
}

static void
refresh (BerthMobyPlugin *self)
{
  if (!self->active)
    return;
  if (self->refreshing)
    {
      self->refresh_again = TRUE;
      return;
    }
  self->refreshing = TRUE;
  list_images (self, g_task_new (self, self->refresh_cancellable, refresh_done, NULL));
}

static gboolean
on_refresh_tick (gpointer user_data)
{
  refresh (BERTH_MOBY_PLUGIN (user_data));
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
berth_moby_plugin_activate (BerthImageProcessor *processor, BerthBackend *backend, GError **error)
{
  BerthMobyPlugin *self = BERTH_MOBY_PLUGIN (processor);
  guint interval = refresh_interval_ms ();

  g_set_object (&self->backend, backend);
  if (self->active)
    return TRUE;
  self->active = TRUE;
  self->refresh_again = FALSE;
  self->refresh_cancellable = g_cancellable_new ();
  self->refresh_id = g_timeout_add (interval, on_refresh_tick, self);
  berth_log_line (logs_dir (self), COMPONENT, "Watching the images every %u ms", interval);
  refresh (self);
  return TRUE;
}

static void
berth_moby_plugin_deactivate (BerthImageProcessor *processor)
{
  BerthMobyPlugin *self = BERTH_MOBY_PLUGIN (processor);

  if (!self->active)
    return;
  self->active = FALSE;
  self->refresh_again = FALSE;
  g_clear_handle_id (&self->refresh_id, g_source_remove);
  g_cancellable_cancel (self->refresh_cancellable);
  g_clear_object (&self->refresh_cancellable);
  g_clear_object (&self->backend);
  berth_log_line (logs_dir (self), COMPONENT, "No longer watching the images");
}

static void
berth_moby_plugin_list_images_async (BerthImageProcessor *processor, const gchar *ns,
                                     GCancellable *cancellable, GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  BerthMobyPlugin *self = BERTH_MOBY_PLUGIN (processor);
  GTask *task = new_op_task (self, berth_moby_plugin_list_images_async, ns, cancellable, callback,
                             user_data);

  if (task != NULL)
    list_images (self, task);
}

static void
berth_moby_plugin_list_namespaces_async (BerthImageProcessor *processor, GCancellable *cancellable,
                                         GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (processor, cancellable, callback, user_data);

  g_task_set_source_tag (task, berth_moby_plugin_list_namespaces_async);
  g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                           "The moby engine (docker) has no image namespaces; they belong to "
                           "containerd: set containerEngine.name to containerd to use them");
}

static void
berth_moby_plugin_pull_async (BerthImageProcessor *processor, const gchar *ref, const gchar *ns,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  BerthMobyPlugin *self = BERTH_MOBY_PLUGIN (processor);
  GTask *task
      = new_op_task (self, berth_moby_plugin_pull_async, ns, cancellable, callback, user_data);
  g_autoptr (GError) error = NULL;
  const gchar *args[] = { "pull", ref, NULL };

  if (task == NULL)
    return;
  if (!berth_image_ref_check (ref, "The image to pull", &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  run_docker (self, task, OP_OUTPUT, args);
}

static void
berth_moby_plugin_push_async (BerthImageProcessor *processor, const gchar *ref, const gchar *ns,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  BerthMobyPlugin *self = BERTH_MOBY_PLUGIN (processor);
  GTask *task
      = new_op_task (self, berth_moby_plugin_push_async, ns, cancellable, callback, user_data);
  g_autoptr (GError) error = NULL;
  const gchar *args[] = { "push", ref, NULL };

  if (task == NULL)
    return;
  if (!berth_image_ref_check (ref, "The image to push", &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  run_docker (self, task, OP_OUTPUT, args);
}

static void
berth_moby_plugin_build_async (BerthImageProcessor *processor, const gchar *context_dir,
                               const gchar *tag, const gchar *ns, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  BerthMobyPlugin *self = BERTH_MOBY_PLUGIN (processor);
  GTask *task
      = new_op_task (self, berth_moby_plugin_build_async, ns, cancellable, callback, user_data);
  g_autoptr (GError) error = NULL;
  const gchar *tagged[] = { "build", "--tag", tag, context_dir, NULL };
  const gchar *untagged[] = { "build", context_dir, NULL };

  if (task == NULL)
    return;
  if (!berth_image_context_check (context_dir, &error)
      || (tag != NULL && !berth_image_ref_check (tag, "The tag to build", &error)))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  run_docker (self, task, OP_OUTPUT, tag != NULL ? tagged : untagged);
}

static void
berth_moby_plugin_tag_async (BerthImageProcessor *processor, const gchar *source,
                             const gchar *target, const gchar *ns, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  BerthMobyPlugin *self = BERTH_MOBY_PLUGIN (processor);
  GTask *task
      = new_op_task (self, berth_moby_plugin_tag_async, ns, cancellable, callback, user_data);
  g_autoptr (GError) error = NULL;
  const gchar *args[] = { "tag", source, target, NULL };

  if (task == NULL)
    return;
  if (!berth_image_ref_check (source, "The image to tag", &error)
      || !berth_image_ref_check (target, "The new tag", &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  run_docker (self, task, OP_OUTPUT, args);
}

static void
berth_moby_plugin_remove_async (BerthImageProcessor *processor, const gchar *ref, const gchar *ns,
                                GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data)
{
  BerthMobyPlugin *self = BERTH_MOBY_PLUGIN (processor);
  GTask *task
      = new_op_task (self, berth_moby_plugin_remove_async, ns, cancellable, callback, user_data);
  g_autoptr (GError) error = NULL;
  const gchar *args[] = { "rmi", ref, NULL };

  if (task == NULL)
    return;
  if (!berth_image_ref_check (ref, "The image to remove", &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  run_docker (self, task, OP_OUTPUT, args);
}

static void
berth_moby_plugin_scan_async (BerthImageProcessor *processor, const gchar *ref,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  BerthMobyPlugin *self = BERTH_MOBY_PLUGIN (processor);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *trivy = NULL;
  g_autofree gchar *socket = NULL;
  g_autofree gchar *docker_host = NULL;
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  GStrv envp;

  g_task_set_source_tag (task, berth_moby_plugin_scan_async);
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
  docker_host = g_strconcat ("unix://", socket, NULL);
  envp = docker_envp ();
  envp = g_environ_setenv (envp, "DOCKER_HOST", docker_host, TRUE);
  g_strv_builder_add_many (builder, trivy, "image", "--quiet", "--format", "json", ref, NULL);
  start_op (self, g_steal_pointer (&task), OP_SCAN, g_strv_builder_end (builder), envp);
}

static void
berth_moby_plugin_image_processor_init (BerthImageProcessorInterface *iface)
{
  /* The _finish vfuncs stay NULL: the core completes our GTasks itself. */
  iface->activate = berth_moby_plugin_activate;
  iface->deactivate = berth_moby_plugin_deactivate;
  iface->list_images_async = berth_moby_plugin_list_images_async;
  iface->list_namespaces_async = berth_moby_plugin_list_namespaces_async;
  iface->pull_async = berth_moby_plugin_pull_async;
  iface->push_async = berth_moby_plugin_push_async;
  iface->build_async = berth_moby_plugin_build_async;
  iface->tag_async = berth_moby_plugin_tag_async;
  iface->remove_async = berth_moby_plugin_remove_async;
  iface->scan_async = berth_moby_plugin_scan_async;
}

/* ---- object ------------------------------------------------------------- */

static void
berth_moby_plugin_dispose (GObject *object)
{
  BerthMobyPlugin *self = BERTH_MOBY_PLUGIN (object);

  berth_moby_plugin_deactivate (BERTH_IMAGE_PROCESSOR (self));
  g_clear_pointer (&self->images, json_node_unref);
  G_OBJECT_CLASS (berth_moby_plugin_parent_class)->dispose (object);
}

static void
berth_moby_plugin_class_init (BerthMobyPluginClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = berth_moby_plugin_dispose;
}

static void
berth_moby_plugin_init (BerthMobyPlugin *self)
{
}
