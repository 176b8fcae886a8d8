/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <berth.h>

#include "berth-cli-images.h"
#include "berth-moby-plugin.h"

struct _BerthMobyPlugin
{
  BerthPlugin parent_instance;
};

static void
berth_moby_plugin_image_processor_init (BerthImageProcessorInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (BerthMobyPlugin, berth_moby_plugin, BERTH_TYPE_PLUGIN,
                               G_IMPLEMENT_INTERFACE (BERTH_TYPE_IMAGE_PROCESSOR,
                                                      berth_moby_plugin_image_processor_init))

BERTH_PLUGIN_DEFINE (berth_moby_plugin)

/* ---- what docker needs -------------------------------------------------- */

/* docker --host unix://<socket> … */
static void
add_engine_args (GStrvBuilder *argv, const gchar *socket, const gchar *ns)
{
  g_autofree gchar *host = g_strconcat ("unix://", socket, NULL);

  g_strv_builder_add_many (argv, "--host", host, NULL);
}

/* The caller's environment, without what would point docker elsewhere. */
static GStrv
dup_environ (void)
{
  GStrv envp = g_get_environ ();

  envp = g_environ_unsetenv (envp, "DOCKER_HOST");
  envp = g_environ_unsetenv (envp, "DOCKER_CONTEXT");
  envp = g_environ_setenv (envp, "DOCKER_CLI_HINTS", "false", TRUE);
  return envp;
}

/* trivy reaches dockerd's images through DOCKER_HOST. */
static GStrv
scan_environ (BerthPlugin *plugin, GStrv envp, const gchar *socket)
{
  g_autofree gchar *docker_host = g_strconcat ("unix://", socket, NULL);

  return g_environ_setenv (envp, "DOCKER_HOST", docker_host, TRUE);
}

/* docker has no namespaces; one asked for is refused rather than ignored. */
static gboolean
resolve_namespace (BerthPlugin *plugin, const gchar *ns, gchar **ns_out, GError **error)
{
  *ns_out = NULL;
  if (ns == NULL)
    return TRUE;
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
               "The moby engine (docker) has no image namespaces, so namespace \"%s\" cannot be "
               "used; leave the namespace out, or set containerEngine.name to containerd to use "
               "containerd's namespaces",
               ns);
  return FALSE;
}

static const gchar *const list_args[] = { "images", "--digests", "--format", "{{json .}}", NULL };

static const BerthCliImagesEngine docker_engine = {
  .log_domain = G_LOG_DOMAIN,
  .component = "moby",
  .program = "docker",
  .program_variable = "BERTH_DOCKER",
  .install_hint = "install the docker CLI (the docker.io package on Debian and Ubuntu)",
  .engine_name = "docker",
  .socket_name = "docker.sock",
  .list_args = list_args,
  .add_engine_args = add_engine_args,
  .dup_environ = dup_environ,
  .scan_environ = scan_environ,
  .resolve_namespace = resolve_namespace,
};

/* ---- BerthImageProcessor ------------------------------------------------ */

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
berth_moby_plugin_image_processor_init (BerthImageProcessorInterface *iface)
{
  berth_cli_images_implement (iface);
  iface->list_namespaces_async = berth_moby_plugin_list_namespaces_async;
}

/* ---- object ------------------------------------------------------------- */

static void
berth_moby_plugin_dispose (GObject *object)
{
  berth_image_processor_deactivate (BERTH_IMAGE_PROCESSOR (object));
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
  berth_cli_images_attach (BERTH_PLUGIN (self), &docker_engine);
}
