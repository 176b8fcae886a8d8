/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <gio/gio.h>
#include <sys/utsname.h>

#include "berth-k3s-assets.h"
#include "berth-k3s-guest.h"
#include "berth-k3s-kubeconfig.h"
#include "berth-k3s-plugin.h"
#include "berth-k3s-ready.h"
#include "berth-k3s-releases.h"
#include "berth-k3s-services.h"

/* How often the guest is asked whether k3s wrote its k3s.yaml yet. */
#define KUBECONFIG_POLL_MS 1000

struct _BerthK3sPlugin
{
  BerthPlugin parent_instance;

  BerthK3sReleases *releases;
  BerthK3sAssets *assets;
  gchar *ca_file;
  BerthK3sAssetFiles *files; /* of the last ensure_assets */

  /* While Kubernetes runs: */
  BerthBackend *backend;
  guint port;
  gchar *k3s_yaml;
  BerthK3sServices *services;
  GHashTable *forwards; /* "namespace/name:port" → host port (GUINT_TO_POINTER) */
  GCancellable *refresh_cancellable;
};

static void
berth_k3s_plugin_kubernetes_init (BerthKubernetesProviderInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (BerthK3sPlugin, berth_k3s_plugin, BERTH_TYPE_PLUGIN,
                               G_IMPLEMENT_INTERFACE (BERTH_TYPE_KUBERNETES_PROVIDER,
                                                      berth_k3s_plugin_kubernetes_init))

static const gchar *
host_arch (void)
{
  struct utsname uts;

  if (uname (&uts) == 0
      && (g_str_equal (uts.machine, "aarch64") || g_str_equal (uts.machine, "arm64")))
    return "arm64";
  return "amd64";
}

static BerthSettings *
settings_of (BerthK3sPlugin *self)
{
  return berth_plugin_get_settings (BERTH_PLUGIN (self));
}

/* ---- versions --------------------------------------------------------------- */

static void
releases_refreshed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!berth_k3s_releases_refresh_finish (BERTH_K3S_RELEASES (source), result, &error)
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_message ("The k3s versions could not be refreshed (%s); the list from %s is used",
               error->message,
               berth_k3s_releases_get_source (BERTH_K3S_RELEASES (source))
                       == BERTH_K3S_RELEASES_SOURCE_CACHE
                   ? "the cache"
                   : "Berth's package");
}

static void
on_releases_changed (BerthK3sReleases *releases, BerthK3sPlugin *self)
{
  g_signal_emit_by_name (self, "versions-updated");
}

static void
berth_k3s_plugin_list_versions_async (BerthKubernetesProvider *provider, GCancellable *cancellable,
                                      GAsyncReadyCallback callback, gpointer user_data)
{
  BerthK3sPlugin *self = BERTH_K3S_PLUGIN (provider);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  GPtrArray *versions = berth_k3s_releases_get_versions (self->releases);

  g_task_set_source_tag (task, berth_k3s_plugin_list_versions_async);
  g_task_return_pointer (task, g_ptr_array_ref (versions), (GDestroyNotify)g_ptr_array_unref);
}

static GPtrArray *
berth_k3s_plugin_list_versions_finish (BerthKubernetesProvider *provider, GAsyncResult *result,
                                       GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, provider), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- assets ------------------------------------------------------------------ */

static void
on_assets_progress (BerthK3sAssets *assets, const gchar *file_name, guint64 current, guint64 total,
                    BerthK3sPlugin *self)
{
  g_autofree gchar *description = g_strdup_printf ("Downloading %s", file_name);

  g_signal_emit_by_name (self, "progress", description, current, total);
}

static void
assets_ensured (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthK3sPlugin *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  BerthK3sAssetFiles *files
      = berth_k3s_assets_ensure_finish (BERTH_K3S_ASSETS (source), result, &error);

  if (files == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_clear_pointer (&self->files, berth_k3s_asset_files_free);
  self->files = files;
  g_task_return_boolean (task, TRUE);
}

static void
berth_k3s_plugin_ensure_assets_async (BerthKubernetesProvider *provider, const gchar *version,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data)
{
  BerthK3sPlugin *self = BERTH_K3S_PLUGIN (provider);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *resolved = NULL;
  const gchar *local_dir = g_getenv ("BERTH_K3S_ASSETS_DIR");

  g_task_set_source_tag (task, berth_k3s_plugin_ensure_assets_async);
  /* A saved version that is not listed is named, with the nearest one;
   * it is never replaced silently. */
  resolved = berth_k3s_releases_resolve (self->releases, version, &error);
  if (resolved == NULL)
    {
      g_prefix_error (&error, "kubernetes.version: ");
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  berth_k3s_assets_ensure_async (self->assets, resolved, host_arch (),
                                 local_dir != NULL && local_dir[0] != '\0' ? local_dir : NULL,
                                 cancellable, assets_ensured, g_steal_pointer (&task));
}

/* ---- install ------------------------------------------------------------------ */

typedef struct
{
  BerthBackend *backend;
  gchar *version;
} InstallData;

static void
install_data_free (InstallData *data)
{
  g_object_unref (data->backend);
  g_free (data->version);
  g_free (data);
}

static void
installed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthK3sPlugin *self = g_task_get_source_object (task);
  InstallData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  if (!berth_k3s_guest_run_finish (result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_message ("k3s %s is installed in the VM and starting", data->version);
  g_set_object (&self->backend, data->backend);
  g_task_return_boolean (task, TRUE);
}

/* After the persisted version is known: a downgrade deletes the state first,
 * then the files, the configuration, the service. */
static void
persisted_version_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthK3sPlugin *self = g_task_get_source_object (task);
  InstallData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthSubprocessResult) done
      = berth_backend_exec_finish (BERTH_BACKEND (source), result, &error);
  g_autoptr (GPtrArray) steps
      = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_k3s_guest_step_free);
  g_autofree gchar *persisted = NULL;
  g_autofree gchar *config = NULL;
  g_autofree gchar *staged_binary = g_build_filename (BERTH_K3S_GUEST_STAGING, "k3s", NULL);
  g_autofree gchar *staged_images = NULL;
  BerthSettings *settings = settings_of (self);
  gint64 port = berth_settings_get_int (settings, "kubernetes.port");
  GCancellable *cancellable;

  if (done == NULL)
    {
      g_prefix_error (&error, "Could not read the k3s version in the VM: ");
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (done->exit_status == 0 && done->stdout_bytes != NULL)
    {
      gsize size = 0;
      const gchar *text = g_bytes_get_data (done->stdout_bytes, &size);

      persisted = g_strstrip (g_strndup (text, MIN (size, 200)));
    }
  if (persisted != NULL && persisted[0] != '\0'
      && berth_k3s_version_compare (persisted, data->version) > 0)
    {
      const gchar *const args[] = { NULL };

      g_message ("Deleting Kubernetes' state: k3s goes down from %s to %s", persisted,
                 data->version);
      g_ptr_array_add (steps,
                       berth_k3s_guest_step_script ("Deleting the state of the newer k3s",
                                                    berth_k3s_guest_delete_state_script (), args));
    }
  g_ptr_array_add (steps, berth_k3s_guest_step_copy ("Copying the k3s binary into the VM",
                                                     self->files->binary, staged_binary));
  if (self->files->airgap_images != NULL)
    {
      g_autofree gchar *base = g_path_get_basename (self->files->airgap_images);

      staged_images = g_build_filename (BERTH_K3S_GUEST_STAGING, base, NULL);
      g_ptr_array_add (steps,
                       berth_k3s_guest_step_copy ("Copying k3s' air-gap images into the VM",
                                                  self->files->airgap_images, staged_images));
    }
  {
    const gchar *const args[] = { data->version, staged_binary, staged_images, NULL };

    g_ptr_array_add (steps, berth_k3s_guest_step_script ("Installing k3s",
                                                         berth_k3s_guest_install_script (), args));
  }
  config = berth_k3s_guest_config_yaml (
      (guint)port, berth_settings_get_boolean (settings, "kubernetes.options.traefik"),
      berth_settings_get_boolean (settings, "kubernetes.options.flannel"),
      berth_settings_get_string (settings, "containerEngine.name"));
  g_ptr_array_add (steps, berth_k3s_guest_step_write ("Writing k3s' configuration",
                                                      BERTH_K3S_GUEST_CONFIG, config, 0644));
  g_ptr_array_add (steps,
                   berth_k3s_guest_step_write ("Writing the k3s service", BERTH_K3S_GUEST_RUN,
                                               berth_k3s_guest_run_script (), 0755));
  g_ptr_array_add (steps,
                   berth_k3s_guest_step_write ("Writing the k3s systemd unit", BERTH_K3S_GUEST_UNIT,
                                               berth_k3s_guest_systemd_unit (), 0644));
  {
    const gchar *const args[] = { NULL };

    g_ptr_array_add (steps, berth_k3s_guest_step_script ("Starting the k3s service",
                                                         berth_k3s_guest_start_script (), args));
  }
  self->port = (guint)port;
  /* Read before the call, whose arguments are evaluated in no set order. */
  cancellable = g_task_get_cancellable (task);
  berth_k3s_guest_run_async (data->backend, g_steal_pointer (&steps), cancellable, installed,
                             g_steal_pointer (&task));
}

static void
berth_k3s_plugin_install_async (BerthKubernetesProvider *provider, BerthBackend *backend,
                                const gchar *version, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  BerthK3sPlugin *self = BERTH_K3S_PLUGIN (provider);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *resolved = NULL;
  InstallData *data;
  const gchar *argv[] = { "cat", BERTH_K3S_GUEST_VERSION, NULL };

  g_task_set_source_tag (task, berth_k3s_plugin_install_async);
  resolved = berth_k3s_releases_resolve (self->releases, version, &error);
  if (resolved == NULL)
    {
      g_prefix_error (&error, "kubernetes.version: ");
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (self->files == NULL || g_strcmp0 (self->files->version, resolved) != 0)
    {
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_FAILED,
                               "The assets of k3s %s are not there yet; ensure_assets comes "
                               "first",
                               resolved);
      return;
    }
  data = g_new0 (InstallData, 1);
  data->backend = g_object_ref (backend);
  data->version = g_steal_pointer (&resolved);
  g_task_set_task_data (task, data, (GDestroyNotify)install_data_free);
  g_clear_pointer (&self->k3s_yaml, g_free);
  berth_backend_exec_async (backend, argv, NULL, cancellable, persisted_version_read,
                            g_steal_pointer (&task));
}

/* ---- readiness ------------------------------------------------------------------ */

typedef struct
{
  BerthBackend *backend;
  gint64 deadline; /* monotonic µs */
  guint timeout_seconds;
  guint poll_id;
} ReadyData;

static void
ready_data_free (ReadyData *data)
{
  g_clear_handle_id (&data->poll_id, g_source_remove);
  g_object_unref (data->backend);
  g_free (data);
}

static void
poll_kubeconfig (GTask *task);

static void
server_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;

  if (!berth_k3s_wait_ready_finish (result, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static gboolean
poll_again (gpointer user_data)
{
  GTask *task = user_data;
  ReadyData *data = g_task_get_task_data (task);

  data->poll_id = 0;
  poll_kubeconfig (task);
  return G_SOURCE_REMOVE;
}

/* The end of k3s' log in the guest, for the error when it never came up. */
static void
log_tail_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  ReadyData *data = g_task_get_task_data (task);
  g_autoptr (BerthSubprocessResult) done
      = berth_backend_exec_finish (BERTH_BACKEND (source), result, NULL);
  g_autofree gchar *tail = NULL;

  if (done != NULL && done->stdout_bytes != NULL && g_bytes_get_size (done->stdout_bytes) > 0)
    {
      gsize size = 0;
      const gchar *text = g_bytes_get_data (done->stdout_bytes, &size);
      g_autofree gchar *valid = g_utf8_make_valid (text, (gssize)size);

      tail = g_strdup (g_strstrip (valid));
    }
  g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_FAILED,
                           "k3s wrote no %s within %u s; the end of its log in the VM (%s): %s. "
                           "`berthctl shell` to look further, or `berthctl reset --k8s`",
                           BERTH_K3S_GUEST_KUBECONFIG, data->timeout_seconds, BERTH_K3S_GUEST_LOG,
                           tail != NULL ? tail : "(empty)");
}

static void
kubeconfig_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthK3sPlugin *self = g_task_get_source_object (task);
  ReadyData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthSubprocessResult) done
      = berth_backend_exec_finish (BERTH_BACKEND (source), result, &error);
  g_autoptr (BerthK3sCredentials) credentials = NULL;
  GCancellable *cancellable;
  gint64 left;

  if (done == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (done->exit_status != 0 || done->stdout_bytes == NULL
      || g_bytes_get_size (done->stdout_bytes) == 0)
    {
      if (g_get_monotonic_time () < data->deadline)
        {
          data->poll_id = g_timeout_add (KUBECONFIG_POLL_MS, poll_again, g_steal_pointer (&task));
          return;
        }
      {
        const gchar *argv[] = { "tail", "-c", "800", BERTH_K3S_GUEST_LOG, NULL };

        cancellable = g_task_get_cancellable (task);
        berth_backend_exec_async (data->backend, argv, NULL, cancellable, log_tail_read,
                                  g_steal_pointer (&task));
      }
      return;
    }
  g_free (self->k3s_yaml);
  self->k3s_yaml = g_strndup (g_bytes_get_data (done->stdout_bytes, NULL),
                              g_bytes_get_size (done->stdout_bytes));
  credentials = berth_k3s_credentials_from_k3s_yaml (self->k3s_yaml, &error);
  if (credentials == NULL)
    {
      g_prefix_error (&error, "%s in the VM cannot be used: ", BERTH_K3S_GUEST_KUBECONFIG);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  left = (data->deadline - g_get_monotonic_time ()) / G_USEC_PER_SEC;
  cancellable = g_task_get_cancellable (task);
  berth_k3s_wait_ready_async (self->port, credentials, (guint)MAX (left, 1), cancellable,
                              server_ready, g_steal_pointer (&task));
}

static void
poll_kubeconfig (GTask *task)
{
  ReadyData *data = g_task_get_task_data (task);
  const gchar *argv[] = { "cat", BERTH_K3S_GUEST_KUBECONFIG, NULL };

  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }
  berth_backend_exec_async (data->backend, argv, NULL, g_task_get_cancellable (task),
                            kubeconfig_read, task);
}

static void
berth_k3s_plugin_wait_ready_async (BerthKubernetesProvider *provider, BerthBackend *backend,
                                   guint timeout_seconds, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data)
{
  BerthK3sPlugin *self = BERTH_K3S_PLUGIN (provider);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  ReadyData *data = g_new0 (ReadyData, 1);

  g_task_set_source_tag (task, berth_k3s_plugin_wait_ready_async);
  data->backend = g_object_ref (backend);
  data->timeout_seconds = timeout_seconds;
  data->deadline = g_get_monotonic_time () + (gint64)timeout_seconds * G_USEC_PER_SEC;
  g_task_set_task_data (task, data, (GDestroyNotify)ready_data_free);
  poll_kubeconfig (task);
}

/* ---- services ------------------------------------------------------------------ */

static void
forward_all_services (BerthK3sPlugin *self);

static void
on_services_changed (BerthK3sServices *services, BerthK3sPlugin *self)
{
  g_signal_emit_by_name (self, "services-changed");
  forward_all_services (self);
}

static void
start_services_watch (BerthK3sPlugin *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthK3sCredentials) credentials = NULL;

  if (self->services != NULL || self->k3s_yaml == NULL)
    return;
  credentials = berth_k3s_credentials_from_k3s_yaml (self->k3s_yaml, &error);
  if (credentials != NULL)
    self->services = berth_k3s_services_new (self->port, credentials, &error);
  if (self->services == NULL)
    {
      g_message ("Services cannot be watched: %s", error->message);
      return;
    }
  g_signal_connect_object (self->services, "changed", G_CALLBACK (on_services_changed), self, 0);
  berth_k3s_services_start (self->services);
}

static void
stop_services_watch (BerthK3sPlugin *self)
{
  if (self->services == NULL)
    return;
  berth_k3s_services_stop (self->services);
  g_clear_object (&self->services);
  g_hash_table_remove_all (self->forwards);
  g_signal_emit_by_name (self, "services-changed");
}

static JsonNode *
berth_k3s_plugin_list_services (BerthKubernetesProvider *provider)
{
  BerthK3sPlugin *self = BERTH_K3S_PLUGIN (provider);
  JsonNode *list;
  JsonArray *array;

  if (self->services == NULL)
    return NULL;
  list = berth_k3s_services_dup_list (self->services);
  array = json_node_get_array (list);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *service = json_array_get_object_element (array, i);
      JsonArray *ports = json_object_get_array_member (service, "ports");

      for (guint j = 0; j < json_array_get_length (ports); j++)
        {
          JsonObject *port = json_array_get_object_element (ports, j);
          g_autofree gchar *key = g_strdup_printf (
              "%s/%s:%" G_GINT64_FORMAT, json_object_get_string_member (service, "namespace"),
              json_object_get_string_member (service, "name"),
              json_object_get_int_member (port, "port"));
          gpointer host_port = g_hash_table_lookup (self->forwards, key);

          if (host_port != NULL)
            json_object_set_int_member (port, "hostPort", GPOINTER_TO_UINT (host_port));
          else
            json_object_set_null_member (port, "hostPort");
        }
    }
  return list;
}

/* @port by number or name in @service's ports: the number, or 0. */
static guint
find_service_port (JsonObject *service, const gchar *port)
{
  JsonArray *ports = json_object_get_array_member (service, "ports");

  for (guint i = 0; i < json_array_get_length (ports); i++)
    {
      JsonObject *entry = json_array_get_object_element (ports, i);
      gint64 number = json_object_get_int_member (entry, "port");
      g_autofree gchar *text = g_strdup_printf ("%" G_GINT64_FORMAT, number);
      const gchar *name = json_object_get_string_member_with_default (entry, "name", NULL);

      if (g_str_equal (text, port) || g_strcmp0 (name, port) == 0)
        return (guint)number;
    }
  return 0;
}

static JsonObject *
find_service (JsonNode *list, const gchar *namespace_, const gchar *name)
{
  JsonArray *array = json_node_get_array (list);

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *service = json_array_get_object_element (array, i);

      if (g_str_equal (json_object_get_string_member (service, "namespace"), namespace_)
          && g_str_equal (json_object_get_string_member (service, "name"), name))
        return service;
    }
  return NULL;
}

/* A free port of 127.0.0.1 on the host, now. */
static guint
pick_free_port (GError **error)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL || !g_socket_bind (socket, any, FALSE, error))
    return 0;
  bound = g_socket_get_local_address (socket, error);
  if (bound == NULL)
    return 0;
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* kubectl port-forward in the guest listens on its 127.0.0.1:<host port>,
 * which the backend forwards to the same port of the host's 127.0.0.1. */
static const gchar forward_script[]
    = "set -eu\n"
      "ns=$1 svc=$2 port=$3 host_port=$4 id=$5\n"
      "mkdir -p /run/berth-k3s/forwards\n"
      "pidfile=/run/berth-k3s/forwards/$id.pid\n"
      "[ -f \"$pidfile\" ] && kill \"$(cat \"$pidfile\")\" 2>/dev/null || true\n"
      "setsid /usr/local/bin/kubectl --kubeconfig " BERTH_K3S_GUEST_KUBECONFIG
      " port-forward --address 127.0.0.1 -n \"$ns\" \"service/$svc\" \"$host_port:$port\" "
      "</dev/null >>/var/log/berth-k3s-forwards.log 2>&1 &\n"
      "echo $! >\"$pidfile\"\n";

static const gchar unforward_script[] = "set -eu\n"
                                        "pidfile=/run/berth-k3s/forwards/$1.pid\n"
                                        "if [ -f \"$pidfile\" ]; then\n"
                                        "  kill \"$(cat \"$pidfile\")\" 2>/dev/null || true\n"
                                        "  rm -f \"$pidfile\"\n"
                                        "fi\n";

/* A file name for a forward: namespaces and names are DNS labels, ports
 * numbers. */
static gchar *
forward_id (const gchar *namespace_, const gchar *service, guint port)
{
  return g_strdup_printf ("%s_%s_%u", namespace_, service, port);
}

typedef struct
{
  gchar *key;
  guint host_port;
} ForwardData;

static void
forward_data_free (ForwardData *data)
{
  g_free (data->key);
  g_free (data);
}

static void
forwarded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthK3sPlugin *self = g_task_get_source_object (task);
  ForwardData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  if (!berth_k3s_guest_run_finish (result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_hash_table_replace (self->forwards, g_strdup (data->key), GUINT_TO_POINTER (data->host_port));
  g_signal_emit_by_name (self, "services-changed");
  g_task_return_int (task, data->host_port);
}

static void
berth_k3s_plugin_forward_service_async (BerthKubernetesProvider *provider, BerthBackend *backend,
                                        const gchar *namespace_, const gchar *service,
                                        const gchar *port, guint host_port,
                                        GCancellable *cancellable, GAsyncReadyCallback callback,
                                        gpointer user_data)
{
  BerthK3sPlugin *self = BERTH_K3S_PLUGIN (provider);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (JsonNode) list = berth_k3s_plugin_list_services (provider);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) steps
      = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_k3s_guest_step_free);
  g_autofree gchar *id = NULL;
  g_autofree gchar *port_text = NULL;
  g_autofree gchar *host_text = NULL;
  JsonObject *found;
  ForwardData *data;
  guint number;

  g_task_set_source_tag (task, berth_k3s_plugin_forward_service_async);
  found = list != NULL ? find_service (list, namespace_, service) : NULL;
  if (found == NULL)
    {
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                               "There is no service %s in namespace %s; `berthctl k8s services` "
                               "lists them",
                               service, namespace_);
      return;
    }
  number = find_service_port (found, port);
  if (number == 0)
    {
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                               "Service %s/%s has no port %s; `berthctl k8s services` lists its "
                               "ports",
                               namespace_, service, port);
      return;
    }
  if (host_port == 0)
    host_port = pick_free_port (&error);
  if (host_port == 0)
    {
      g_prefix_error (&error, "No free port on 127.0.0.1 for %s/%s: ", namespace_, service);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  id = forward_id (namespace_, service, number);
  port_text = g_strdup_printf ("%u", number);
  host_text = g_strdup_printf ("%u", host_port);
  {
    const gchar *const args[] = { namespace_, service, port_text, host_text, id, NULL };
    g_autofree gchar *what = g_strdup_printf ("Forwarding %s/%s:%u", namespace_, service, number);

    g_ptr_array_add (steps, berth_k3s_guest_step_script (what, forward_script, args));
  }
  data = g_new0 (ForwardData, 1);
  data->key = g_strdup_printf ("%s/%s:%u", namespace_, service, number);
  data->host_port = host_port;
  g_task_set_task_data (task, data, (GDestroyNotify)forward_data_free);
  berth_k3s_guest_run_async (backend, g_steal_pointer (&steps), cancellable, forwarded,
                             g_steal_pointer (&task));
}

static guint
berth_k3s_plugin_forward_service_finish (BerthKubernetesProvider *provider, GAsyncResult *result,
                                         GError **error)
{
  gssize port;

  g_return_val_if_fail (g_task_is_valid (result, provider), 0);
  port = g_task_propagate_int (G_TASK (result), error);
  return port > 0 ? (guint)port : 0;
}

static void
unforwarded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthK3sPlugin *self = g_task_get_source_object (task);
  ForwardData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  if (!berth_k3s_guest_run_finish (result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (g_hash_table_remove (self->forwards, data->key))
    g_signal_emit_by_name (self, "services-changed");
  g_task_return_boolean (task, TRUE);
}

static void
berth_k3s_plugin_unforward_service_async (BerthKubernetesProvider *provider, BerthBackend *backend,
                                          const gchar *namespace_, const gchar *service,
                                          const gchar *port, GCancellable *cancellable,
                                          GAsyncReadyCallback callback, gpointer user_data)
{
  BerthK3sPlugin *self = BERTH_K3S_PLUGIN (provider);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (JsonNode) list = berth_k3s_plugin_list_services (provider);
  g_autoptr (GPtrArray) steps
      = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_k3s_guest_step_free);
  JsonObject *found = list != NULL ? find_service (list, namespace_, service) : NULL;
  guint number = found != NULL ? find_service_port (found, port) : 0;
  g_autofree gchar *id = NULL;
  ForwardData *data;

  g_task_set_source_tag (task, berth_k3s_plugin_unforward_service_async);
  /* A port given by number ends its forward even when the service is gone. */
  if (number == 0)
    {
      guint64 parsed = 0;

      if (!g_ascii_string_to_unsigned (port, 10, 1, 65535, &parsed, NULL))
        {
          g_task_return_boolean (task, TRUE);
          return;
        }
      number = (guint)parsed;
    }
  id = forward_id (namespace_, service, number);
  {
    const gchar *const args[] = { id, NULL };

    g_ptr_array_add (
        steps, berth_k3s_guest_step_script ("Ending a service's forward", unforward_script, args));
  }
  data = g_new0 (ForwardData, 1);
  data->key = g_strdup_printf ("%s/%s:%u", namespace_, service, number);
  g_task_set_task_data (task, data, (GDestroyNotify)forward_data_free);
  berth_k3s_guest_run_async (backend, g_steal_pointer (&steps), cancellable, unforwarded,
                             g_steal_pointer (&task));
}

static void
auto_forwarded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (berth_kubernetes_provider_forward_service_finish (BERTH_KUBERNETES_PROVIDER (source), result,
                                                        &error)
      == 0)
    g_message ("A service could not be forwarded on its own: %s", error->message);
}

/* With portForwarding.includeKubernetesServices, every TCP port of every
 * service is forwarded, to the same port of the host when it is free. */
static void
forward_all_services (BerthK3sPlugin *self)
{
  g_autoptr (JsonNode) list = NULL;
  JsonArray *array;

  if (self->backend == NULL
      || !berth_settings_get_boolean (settings_of (self),
                                      "portForwarding.includeKubernetesServices"))
    return;
  list = berth_k3s_plugin_list_services (BERTH_KUBERNETES_PROVIDER (self));
  if (list == NULL)
    return;
  array = json_node_get_array (list);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *service = json_array_get_object_element (array, i);
      JsonArray *ports = json_object_get_array_member (service, "ports");

      for (guint j = 0; j < json_array_get_length (ports); j++)
        {
          JsonObject *port = json_array_get_object_element (ports, j);
          gint64 number = json_object_get_int_member (port, "port");
          g_autofree gchar *text = g_strdup_printf ("%" G_GINT64_FORMAT, number);

          if (!JSON_NODE_HOLDS_NULL (json_object_get_member (port, "hostPort"))
              || g_strcmp0 (json_object_get_string_member (port, "protocol"), "TCP") != 0)
            continue;
          berth_kubernetes_provider_forward_service_async (
              BERTH_KUBERNETES_PROVIDER (self), self->backend,
              json_object_get_string_member (service, "namespace"),
              json_object_get_string_member (service, "name"), text,
              number >= 1024 ? (guint)number : 0, NULL, auto_forwarded, NULL);
        }
    }
}

static void
on_settings_changed (BerthSettings *settings, const gchar *const *changed, BerthK3sPlugin *self)
{
  if (changed != NULL && g_strv_contains (changed, "portForwarding.includeKubernetesServices"))
    forward_all_services (self);
}

/* ---- kubeconfig ------------------------------------------------------------------ */

static void
kubeconfig_merge_thread (GTask *task, gpointer source_object, gpointer task_data,
                         GCancellable *cancellable)
{
  BerthK3sPlugin *self = source_object;
  GError *error = NULL;
  g_autofree gchar *written = berth_k3s_kubeconfig_merge (
      self->k3s_yaml, self->port, g_getenv ("KUBECONFIG"), g_get_home_dir (), &error);

  if (written == NULL)
    g_task_return_error (task, error);
  else
    {
      g_message ("Kubernetes' cluster is \"berth\" in %s", written);
      g_task_return_boolean (task, TRUE);
    }
}

static void
kubeconfig_merged (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthK3sPlugin *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  start_services_watch (self);
  g_task_return_boolean (task, TRUE);
}

static void
berth_k3s_plugin_update_kubeconfig_async (BerthKubernetesProvider *provider, BerthBackend *backend,
                                          GCancellable *cancellable, GAsyncReadyCallback callback,
                                          gpointer user_data)
{
  BerthK3sPlugin *self = BERTH_K3S_PLUGIN (provider);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (GTask) worker = NULL;

  g_task_set_source_tag (task, berth_k3s_plugin_update_kubeconfig_async);
  if (self->k3s_yaml == NULL)
    {
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_FAILED,
                               "k3s' kubeconfig has not been read yet; wait_ready comes first");
      return;
    }
  worker = g_task_new (self, cancellable, kubeconfig_merged, g_steal_pointer (&task));
  g_task_run_in_thread (worker, kubeconfig_merge_thread);
}

static void
kubeconfig_remove_thread (GTask *task, gpointer source_object, gpointer task_data,
                          GCancellable *cancellable)
{
  GError *error = NULL;

  if (berth_k3s_kubeconfig_remove (g_getenv ("KUBECONFIG"), g_get_home_dir (), &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
berth_k3s_plugin_remove_kubeconfig_async (BerthKubernetesProvider *provider,
                                          GCancellable *cancellable, GAsyncReadyCallback callback,
                                          gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (provider, cancellable, callback, user_data);

  g_task_set_source_tag (task, berth_k3s_plugin_remove_kubeconfig_async);
  g_task_run_in_thread (task, kubeconfig_remove_thread);
}

/* ---- stop and delete ------------------------------------------------------------- */

static void
guest_steps_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;

  if (!berth_k3s_guest_run_finish (result, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
run_script (BerthK3sPlugin *self, BerthBackend *backend, gpointer source_tag, const gchar *what,
            const gchar *script, const gchar *const *args, GCancellable *cancellable,
            GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  GPtrArray *steps = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_k3s_guest_step_free);

  g_task_set_source_tag (task, source_tag);
  g_ptr_array_add (steps, berth_k3s_guest_step_script (what, script, args));
  berth_k3s_guest_run_async (backend, steps, cancellable, guest_steps_done, task);
}

static void
berth_k3s_plugin_stop_async (BerthKubernetesProvider *provider, BerthBackend *backend,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data)
{
  BerthK3sPlugin *self = BERTH_K3S_PLUGIN (provider);
  const gchar *const args[] = { NULL };

  stop_services_watch (self);
  g_clear_object (&self->backend);
  g_clear_pointer (&self->k3s_yaml, g_free);
  run_script (self, backend, berth_k3s_plugin_stop_async, "Stopping k3s",
              berth_k3s_guest_stop_script (), args, cancellable, callback, user_data);
}

static void
berth_k3s_plugin_delete_state_async (BerthKubernetesProvider *provider, BerthBackend *backend,
                                     gboolean wipe, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data)
{
  BerthK3sPlugin *self = BERTH_K3S_PLUGIN (provider);
  const gchar *const args[] = { wipe ? "wipe" : "fast", NULL };

  stop_services_watch (self);
  g_clear_object (&self->backend);
  g_clear_pointer (&self->k3s_yaml, g_free);
  run_script (self, backend, berth_k3s_plugin_delete_state_async,
              wipe ? "Deleting Kubernetes' state and images" : "Deleting Kubernetes' state",
              berth_k3s_guest_delete_state_script (), args, cancellable, callback, user_data);
}

/* ---- plugin ------------------------------------------------------------------------ */

static gchar *
bundled_versions_path (void)
{
  g_autofree gchar *installed = g_build_filename (BERTH_PKGDATADIR, "k3s-versions.json", NULL);

  if (g_file_test (installed, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&installed);
  return g_build_filename (BERTH_SOURCE_DATADIR, "k3s-versions.json", NULL);
}

static gboolean
berth_k3s_plugin_setup (BerthPlugin *plugin, GCancellable *cancellable, GError **error)
{
  BerthK3sPlugin *self = BERTH_K3S_PLUGIN (plugin);
  const BerthPaths *paths = berth_plugin_get_paths (plugin);
  g_autofree gchar *bundled = bundled_versions_path ();
  g_autofree gchar *download_cache = berth_paths_get_download_cache (paths);
  const gchar *ca_file = g_getenv ("BERTH_K3S_CA_FILE");

  self->releases = berth_k3s_releases_new (paths->cache, bundled);
  self->assets = berth_k3s_assets_new (download_cache);
  if (ca_file != NULL && ca_file[0] != '\0')
    {
      if (!berth_k3s_assets_set_tls_ca_file (self->assets, ca_file, error))
        {
          g_prefix_error (error, "BERTH_K3S_CA_FILE: ");
          return FALSE;
        }
      self->ca_file = g_strdup (ca_file);
    }
  g_signal_connect_object (self->releases, "changed", G_CALLBACK (on_releases_changed), self, 0);
  g_signal_connect_object (self->assets, "progress", G_CALLBACK (on_assets_progress), self, 0);
  g_signal_connect_object (berth_plugin_get_settings (plugin), "changed",
                           G_CALLBACK (on_settings_changed), self, 0);
  /* The version list is refreshed in the background; until it answers, the
   * cache or the bundled list does. */
  self->refresh_cancellable = g_cancellable_new ();
  berth_k3s_releases_refresh_async (self->releases, self->ca_file, self->refresh_cancellable,
                                    releases_refreshed, NULL);
  return TRUE;
}

static void
berth_k3s_plugin_dispose (GObject *object)
{
  BerthK3sPlugin *self = BERTH_K3S_PLUGIN (object);

  if (self->refresh_cancellable != NULL)
    g_cancellable_cancel (self->refresh_cancellable);
  if (self->services != NULL)
    berth_k3s_services_stop (self->services);
  g_clear_object (&self->services);
  g_clear_object (&self->backend);
  G_OBJECT_CLASS (berth_k3s_plugin_parent_class)->dispose (object);
}

static void
berth_k3s_plugin_finalize (GObject *object)
{
  BerthK3sPlugin *self = BERTH_K3S_PLUGIN (object);

  g_clear_object (&self->releases);
  g_clear_object (&self->assets);
  g_clear_object (&self->refresh_cancellable);
  g_clear_pointer (&self->files, berth_k3s_asset_files_free);
  g_free (self->ca_file);
  g_free (self->k3s_yaml);
  g_hash_table_unref (self->forwards);
  G_OBJECT_CLASS (berth_k3s_plugin_parent_class)->finalize (object);
}

static void
berth_k3s_plugin_class_init (BerthK3sPluginClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  BerthPluginClass *plugin_class = BERTH_PLUGIN_CLASS (klass);

  object_class->dispose = berth_k3s_plugin_dispose;
  object_class->finalize = berth_k3s_plugin_finalize;
  plugin_class->setup = berth_k3s_plugin_setup;
}

static void
berth_k3s_plugin_init (BerthK3sPlugin *self)
{
  self->forwards = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

static void
berth_k3s_plugin_kubernetes_init (BerthKubernetesProviderInterface *iface)
{
  iface->list_versions_async = berth_k3s_plugin_list_versions_async;
  iface->list_versions_finish = berth_k3s_plugin_list_versions_finish;
  iface->ensure_assets_async = berth_k3s_plugin_ensure_assets_async;
  iface->install_async = berth_k3s_plugin_install_async;
  iface->wait_ready_async = berth_k3s_plugin_wait_ready_async;
  iface->update_kubeconfig_async = berth_k3s_plugin_update_kubeconfig_async;
  iface->delete_state_async = berth_k3s_plugin_delete_state_async;
  iface->list_services = berth_k3s_plugin_list_services;
  iface->stop_async = berth_k3s_plugin_stop_async;
  iface->remove_kubeconfig_async = berth_k3s_plugin_remove_kubeconfig_async;
  iface->forward_service_async = berth_k3s_plugin_forward_service_async;
  iface->forward_service_finish = berth_k3s_plugin_forward_service_finish;
  iface->unforward_service_async = berth_k3s_plugin_unforward_service_async;
}

BERTH_PLUGIN_DEFINE (berth_k3s_plugin)
