/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <berth.h>

#include "berth-cli-images.h"
#include "berth-nerdctl-plugin.h"

#define COMPONENT "nerdctl"

struct _BerthNerdctlPlugin
{
  BerthPlugin parent_instance;
};

static void
berth_nerdctl_plugin_image_processor_init (BerthImageProcessorInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (BerthNerdctlPlugin, berth_nerdctl_plugin, BERTH_TYPE_PLUGIN,
                               G_IMPLEMENT_INTERFACE (BERTH_TYPE_IMAGE_PROCESSOR,
                                                      berth_nerdctl_plugin_image_processor_init))

BERTH_PLUGIN_DEFINE (berth_nerdctl_plugin)

/* ---- what nerdctl needs ------------------------------------------------- */

/* The namespace a NULL one stands for: images.namespace, else "default". */
static gchar *
dup_watched_namespace (BerthPlugin *plugin)
{
  BerthSettings *settings = berth_plugin_get_settings (plugin);
  const gchar *ns
      = settings != NULL ? berth_settings_get_string (settings, "images.namespace") : NULL;

  if (ns == NULL || !berth_image_namespace_check (ns, NULL))
    return g_strdup ("default");
  return g_strdup (ns);
}

/* @ns checked, or the watched namespace when NULL. */
static gboolean
resolve_namespace (BerthPlugin *plugin, const gchar *ns, gchar **ns_out, GError **error)
{
  if (ns == NULL)
    {
      *ns_out = dup_watched_namespace (plugin);
      return TRUE;
    }
  if (!berth_image_namespace_check (ns, error))
    return FALSE;
  *ns_out = g_strdup (ns);
  return TRUE;
}

/* nerdctl --address <socket> [--namespace @ns] … */
static void
add_engine_args (GStrvBuilder *argv, const gchar *socket, const gchar *ns)
{
  g_strv_builder_add_many (argv, "--address", socket, NULL);
  if (ns != NULL)
    g_strv_builder_add_many (argv, "--namespace", ns, NULL);
}

/* The caller's environment, without what would point nerdctl elsewhere. */
static GStrv
dup_environ (void)
{
  GStrv envp = g_get_environ ();

  envp = g_environ_unsetenv (envp, "CONTAINERD_ADDRESS");
  envp = g_environ_unsetenv (envp, "CONTAINERD_NAMESPACE");
  envp = g_environ_unsetenv (envp, "BUILDKIT_HOST");
  return envp;
}

/* trivy reads containerd's images through these. */
static GStrv
scan_environ (BerthPlugin *plugin, GStrv envp, const gchar *socket)
{
  g_autofree gchar *ns = dup_watched_namespace (plugin);

  envp = g_environ_setenv (envp, "CONTAINERD_ADDRESS", socket, TRUE);
  return g_environ_setenv (envp, "CONTAINERD_NAMESPACE", ns, TRUE);
}

/* Builds go to the BuildKit the VM forwards next to containerd. */
static GStrv
dup_build_options (BerthPlugin *plugin)
{
  g_autofree gchar *path
      = g_build_filename (berth_plugin_get_paths (plugin)->data, "buildkitd.sock", NULL);
  g_autofree gchar *host = g_strconcat ("unix://", path, NULL);
  const gchar *options[] = { "--buildkit-host", host, NULL };

  return g_strdupv ((gchar **)options);
}

static const gchar *const list_args[] = { "images", "--format", "{{json .}}", NULL };

static const BerthCliImagesEngine nerdctl_engine = {
  .log_domain = G_LOG_DOMAIN,
  .component = COMPONENT,
  .program = "nerdctl",
  .program_variable = "BERTH_NERDCTL",
  .install_hint = "install nerdctl (containerd's Docker-compatible CLI)",
  .engine_name = "containerd",
  .socket_name = "containerd.sock",
  .list_args = list_args,
  .add_engine_args = add_engine_args,
  .dup_environ = dup_environ,
  .scan_environ = scan_environ,
  .resolve_namespace = resolve_namespace,
  .dup_watched_namespace = dup_watched_namespace,
  .dup_build_options = dup_build_options,
};

/* ---- namespaces --------------------------------------------------------- */

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const gchar *const *)a, *(const gchar *const *)b);
}

/* `nerdctl namespace list --quiet`: one name a line, with "default" added
 * when missing, sorted. */
static void
complete_namespaces (GTask *task, const BerthSubprocessResult *result)
{
  BerthPlugin *plugin = g_task_get_source_object (task);
  gsize len = 0;
  const gchar *data = g_bytes_get_data (result->stdout_bytes, &len);
  g_autofree gchar *text = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  guint n_skipped = 0;

  /* Only stdout holds names; stderr may carry warnings. */
  text = g_utf8_make_valid (data != NULL ? data : "", (gssize)len);
  lines = g_strsplit (text, "\n", -1);
  for (gsize i = 0; lines[i] != NULL; i++)
    {
      g_strstrip (lines[i]);
      if (lines[i][0] == '\0')
        continue;
      if (!berth_image_namespace_check (lines[i], NULL))
        {
          n_skipped++;
          continue;
        }
      if (!g_ptr_array_find_with_equal_func (names, lines[i], g_str_equal, NULL))
        g_ptr_array_add (names, g_strdup (lines[i]));
    }
  if (n_skipped > 0)
    berth_log_line (berth_plugin_get_paths (plugin)->logs, COMPONENT,
                    "nerdctl namespace list: %u lines were not namespace names and were skipped",
                    n_skipped);
  if (!g_ptr_array_find_with_equal_func (names, "default", g_str_equal, NULL))
    g_ptr_array_add (names, g_strdup ("default"));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  g_task_return_pointer (task, g_ptr_array_free (g_steal_pointer (&names), FALSE),
                         (GDestroyNotify)g_strfreev);
}

/* ---- BerthImageProcessor ------------------------------------------------ */

static void
berth_nerdctl_plugin_list_namespaces_async (BerthImageProcessor *processor,
                                            GCancellable *cancellable, GAsyncReadyCallback callback,
                                            gpointer user_data)
{
  static const gchar *const args[] = { "namespace", "list", "--quiet", NULL };
  GTask *task = g_task_new (processor, cancellable, callback, user_data);

  g_task_set_source_tag (task, berth_nerdctl_plugin_list_namespaces_async);
  berth_cli_images_run (berth_cli_images_get (BERTH_PLUGIN (processor)), task, NULL, args,
                        complete_namespaces);
}

static void
berth_nerdctl_plugin_image_processor_init (BerthImageProcessorInterface *iface)
{
  berth_cli_images_implement (iface);
  iface->list_namespaces_async = berth_nerdctl_plugin_list_namespaces_async;
}

/* ---- object ------------------------------------------------------------- */

static void
berth_nerdctl_plugin_dispose (GObject *object)
{
  berth_image_processor_deactivate (BERTH_IMAGE_PROCESSOR (object));
  G_OBJECT_CLASS (berth_nerdctl_plugin_parent_class)->dispose (object);
}

static void
berth_nerdctl_plugin_class_init (BerthNerdctlPluginClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = berth_nerdctl_plugin_dispose;
}

static void
berth_nerdctl_plugin_init (BerthNerdctlPlugin *self)
{
  berth_cli_images_attach (BERTH_PLUGIN (self), &nerdctl_engine);
}
