/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Berth — the docker socket and kubeconfig in other WSL distributions. */

#include "config.h"

#include <string.h>

#include <berth-error.h>

#include "berth-wsl-integration.h"
#include "berth-wsl-setup.h"

/* Run as root in the other distribution: the docker socket. $1 is show,
 * enable or disable; it prints true, false, or why it cannot. A socket or
 * file that is not Berth's link (a docker installed there) is left alone. */
static const gchar socket_script[]
    = "sock=" BERTH_WSL_SHARED_DOCKER_SOCKET "; link=/var/run/docker.sock; "
      "ours() { [ -L \"$link\" ] && [ \"$(readlink \"$link\")\" = \"$sock\" ]; }; "
      "case $1 in "
      "show) if ours; then echo true; elif [ -e \"$link\" ] || [ -L \"$link\" ]; then "
      "echo \"$link belongs to another docker\"; else echo false; fi ;; "
      "enable) if ours; then echo true; elif [ -e \"$link\" ] || [ -L \"$link\" ]; then "
      "echo \"$link belongs to another docker\"; else mkdir -p /var/run && "
      "ln -s \"$sock\" \"$link\" && echo true; fi ;; "
      "disable) if ours; then rm -f \"$link\"; fi; echo false ;; "
      "esac";

/* Run as the default user: ~/.kube/config as a link to the host's kubeconfig
 * ($BERTH_KUBECONFIG, translated by WSL). A file of the user's own is left
 * alone. */
static const gchar kubeconfig_script[]
    = "link=$HOME/.kube/config; target=$BERTH_KUBECONFIG; "
      "ours() { [ -L \"$link\" ] && [ \"$(readlink \"$link\")\" = \"$target\" ]; }; "
      "case $1 in "
      "show) if ours; then echo true; elif [ -e \"$link\" ] && [ ! -L \"$link\" ]; then "
      "echo \"$link is a file of its own\"; else echo false; fi ;; "
      "enable) if ours; then echo true; elif [ -e \"$link\" ] && [ ! -L \"$link\" ]; then "
      "echo \"$link is a file of its own\"; else mkdir -p \"$HOME/.kube\" && "
      "ln -sfn \"$target\" \"$link\" && echo true; fi ;; "
      "disable) if ours; then rm -f \"$link\"; fi; echo false ;; "
      "esac";

gboolean
berth_wsl_integration_is_candidate (const gchar *name)
{
  static const gchar *const never[] = {
    BERTH_WSL_DISTRO,
    BERTH_WSL_DATA_DISTRO,
    "docker-desktop",
    "docker-desktop-data",
    "rancher-desktop",
    "rancher-desktop-data",
    NULL,
  };

  for (guint i = 0; never[i] != NULL; i++)
    if (g_ascii_strcasecmp (name, never[i]) == 0)
      return FALSE;
  return TRUE;
}

/* Runs one of the scripts in @distro; its one line of output. */
static gchar *
run_script (BerthWslExe *exe, const gchar *distro, const gchar *user, const gchar *script,
            const gchar *mode, const gchar *kubeconfig, GCancellable *cancellable, GError **error)
{
  const gchar *const argv[] = { "/bin/sh", "-c", script, "sh", mode, NULL };
  g_autofree gchar *env = g_strconcat ("BERTH_KUBECONFIG/p=", kubeconfig, NULL);
  const gchar *const linux_env[] = { env, NULL };
  BerthWslRunOptions options = { 0 };
  g_autofree gchar *out = NULL;

  options.linux_env = linux_env;
  out = berth_wsl_exe_exec_check (exe, distro, user, argv, &options, cancellable, error);
  if (out == NULL)
    return NULL;
  return g_strstrip (g_strndup (out, 512));
}

/* Combines the two parts' states: both true, both false, or the reason. */
static void
set_state (JsonObject *list, GPtrArray *warnings, const gchar *name, const gchar *socket,
           const gchar *kube)
{
  if (g_str_equal (socket, "true") && g_str_equal (kube, "true"))
    json_object_set_boolean_member (list, name, TRUE);
  else if (g_str_equal (socket, "false") && g_str_equal (kube, "false"))
    json_object_set_boolean_member (list, name, FALSE);
  else
    {
      const gchar *reason = !g_str_equal (socket, "true") && !g_str_equal (socket, "false") ? socket
                            : !g_str_equal (kube, "true") && !g_str_equal (kube, "false")
                                ? kube
                                : "only half set up (run the integration again)";

      json_object_set_string_member (list, name, reason);
      g_ptr_array_add (warnings, g_strdup_printf ("The WSL distribution %s cannot take Berth's "
                                                  "integration: %s",
                                                  name, reason));
    }
}

JsonNode *
berth_wsl_integration_sync (BerthWslExe *exe, JsonObject *wanted, const gchar *kubeconfig,
                            GStrv *warnings_out, GCancellable *cancellable, GError **error)
{
  g_autoptr (GPtrArray) distros = berth_wsl_exe_list (exe, cancellable, error);
  g_autoptr (JsonObject) list = json_object_new ();
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  JsonNode *node;

  if (distros == NULL)
    return NULL;
  for (guint i = 0; i < distros->len; i++)
    {
      BerthWslDistro *distro = g_ptr_array_index (distros, i);
      gboolean want = FALSE;
      const gchar *mode;
      g_autofree gchar *socket = NULL;
      g_autofree gchar *kube = NULL;
      g_autoptr (GError) local = NULL;

      if (!berth_wsl_integration_is_candidate (distro->name)
          || !berth_wsl_distro_name_is_valid (distro->name))
        continue;
      if (wanted != NULL && json_object_has_member (wanted, distro->name))
        {
          JsonNode *value = json_object_get_member (wanted, distro->name);

          want = JSON_NODE_HOLDS_VALUE (value) && json_node_get_value_type (value) == G_TYPE_BOOLEAN
                 && json_node_get_boolean (value);
        }
      if (distro->version != 2)
        {
          const gchar *reason = "a WSL 1 distribution; Berth's integration needs WSL 2";

          json_object_set_string_member (list, distro->name, reason);
          if (want)
            g_ptr_array_add (warnings,
                             g_strdup_printf ("The WSL distribution %s is WSL %u: convert it with "
                                              "`wsl.exe --set-version %s 2` to integrate Berth "
                                              "with it",
                                              distro->name, distro->version, distro->name));
          continue;
        }
      mode = wanted == NULL ? "disable" : want ? "enable" : "show";
      /* Turned off in the settings: undone only where it is Berth's. */
      if (wanted != NULL && !want)
        mode = "disable";
      socket = run_script (exe, distro->name, "root", socket_script, mode, kubeconfig, cancellable,
                           &local);
      if (socket != NULL)
        kube = run_script (exe, distro->name, NULL, kubeconfig_script, mode, kubeconfig,
                           cancellable, &local);
      if (local != NULL)
        {
          if (g_cancellable_is_cancelled (cancellable))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return NULL;
            }
          json_object_set_string_member (list, distro->name, local->message);
          g_ptr_array_add (warnings, g_strdup_printf ("The WSL distribution %s: %s", distro->name,
                                                      local->message));
          continue;
        }
      set_state (list, warnings, distro->name, socket, kube);
    }
  if (warnings_out != NULL)
    {
      g_ptr_array_add (warnings, NULL);
      *warnings_out = (GStrv)g_ptr_array_free (g_steal_pointer (&warnings), FALSE);
    }
  node = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (node, list);
  return node;
}

/* ---- in a worker thread, for the plugin --------------------------------------- */

typedef struct
{
  JsonObject *wanted; /* NULL: remove everything */
  gchar *kubeconfig;
  gchar *logs_dir;
  BerthWslSyncedFunc synced;
  JsonNode *list;
  GStrv warnings;
} SyncData;

static void
sync_data_free (SyncData *data)
{
  g_clear_pointer (&data->wanted, json_object_unref);
  g_free (data->kubeconfig);
  g_free (data->logs_dir);
  g_clear_pointer (&data->list, json_node_unref);
  g_strfreev (data->warnings);
  g_free (data);
}

static void
sync_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  SyncData *data = task_data;
  g_autoptr (BerthWslExe) exe = NULL;
  g_autoptr (GError) error = NULL;

  /* No wsl.exe: no distribution to integrate with. */
  exe = berth_wsl_exe_find (data->logs_dir, NULL);
  if (exe == NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  data->list = berth_wsl_integration_sync (exe, data->wanted, data->kubeconfig, &data->warnings,
                                           cancellable, &error);
  if (data->list == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
sync_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SyncData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      berth_error_convert (&error);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (data->list != NULL)
    data->synced (source, data->list, data->warnings, NULL);
  g_task_return_boolean (task, TRUE);
}

/* The host's kubeconfig: the first of $KUBECONFIG, else ~/.kube/config. */
static gchar *
host_kubeconfig (void)
{
  const gchar *env = g_getenv ("KUBECONFIG");

  if (env != NULL && env[0] != '\0')
    {
      g_auto (GStrv) parts = g_strsplit (env, G_SEARCHPATH_SEPARATOR_S, 2);

      return g_strdup (parts[0]);
    }
  return g_build_filename (g_get_home_dir (), ".kube", "config", NULL);
}

void
berth_wsl_integration_sync_async (GObject *source, gpointer source_tag, const gchar *logs_dir,
                                  gboolean remove, JsonNode *wanted, BerthWslSyncedFunc synced,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data)
{
  GTask *task = g_task_new (source, cancellable, callback, user_data);
  g_autoptr (GTask) inner = NULL;
  SyncData *data = g_new0 (SyncData, 1);

  g_task_set_source_tag (task, source_tag);
  data->kubeconfig = host_kubeconfig ();
  data->logs_dir = g_strdup (logs_dir);
  data->synced = synced;
  if (!remove)
    data->wanted = wanted != NULL && JSON_NODE_HOLDS_OBJECT (wanted)
                       ? json_object_ref (json_node_get_object (wanted))
                       : json_object_new ();
  inner = g_task_new (source, cancellable, sync_done, task);
  g_task_set_task_data (inner, data, (GDestroyNotify)sync_data_free);
  g_task_run_in_thread (inner, sync_thread);
}
