/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "berth-error.h"
#include "berth-kubernetes-private.h"
#include "berth-manager.h"

/* ---- bring up ------------------------------------------------------------ */

typedef enum
{
  UP_ASSETS,
  UP_INSTALL,
  UP_READY,
  UP_KUBECONFIG,
  UP_DONE,
} UpPart;

typedef struct
{
  BerthKubernetesProvider *provider;
  BerthBackend *backend;
  gchar *version;
  BerthProgress *progress;
  gchar *step_id;
  UpPart part;
} BringUp;

static void
bring_up_free (BringUp *up)
{
  g_object_unref (up->provider);
  g_object_unref (up->backend);
  g_free (up->version);
  g_object_unref (up->progress);
  g_free (up->step_id);
  g_free (up);
}

static const gchar *
version_shown (const gchar *version)
{
  return version[0] != '\0' ? version : "(the stable channel's)";
}

static void
bring_up_next (GTask *task);

static void
bring_up_part_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BringUp *up = g_task_get_task_data (task);
  BerthKubernetesProvider *provider = BERTH_KUBERNETES_PROVIDER (source);
  g_autoptr (GError) error = NULL;
  gboolean ok = FALSE;

  switch (up->part)
    {
    case UP_ASSETS:
      ok = berth_kubernetes_provider_ensure_assets_finish (provider, result, &error);
      if (!ok && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
          && !g_error_matches (error, BERTH_ERROR, BERTH_ERROR_CANCELLED))
        {
          g_autofree gchar *message = g_strdup_printf (
              "Could not get k3s %s: %s. Kubernetes stays off until Berth starts again "
              "(berthctl stop, then berthctl start); offline, put the release's files in a "
              "directory named by BERTH_K3S_ASSETS_DIR",
              version_shown (up->version), error->message);

          g_free (error->message);
          error->message = g_steal_pointer (&message);
        }
      break;
    case UP_INSTALL:
      ok = berth_kubernetes_provider_install_finish (provider, result, &error);
      if (!ok)
        g_prefix_error (&error, "Could not install or start k3s in the VM: ");
      break;
    case UP_READY:
      ok = berth_kubernetes_provider_wait_ready_finish (provider, result, &error);
      if (!ok)
        g_prefix_error (&error, "The Kubernetes API server did not become ready: ");
      break;
    case UP_KUBECONFIG:
      ok = berth_kubernetes_provider_update_kubeconfig_finish (provider, result, &error);
      if (!ok)
        g_prefix_error (&error, "Kubernetes runs, but the kubeconfig could not be written: ");
      break;
    case UP_DONE:
    default:
      g_assert_not_reached ();
    }
  if (!ok)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  up->part++;
  bring_up_next (g_steal_pointer (&task));
}

static void
bring_up_next (GTask *task)
{
  BringUp *up = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);

  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }
  switch (up->part)
    {
    case UP_ASSETS:
      berth_progress_set_description (up->progress, up->step_id, "Getting k3s");
      berth_kubernetes_provider_ensure_assets_async (up->provider, up->version, cancellable,
                                                     bring_up_part_done, task);
      break;
    case UP_INSTALL:
      berth_progress_set_description (up->progress, up->step_id, "Installing and starting k3s");
      berth_kubernetes_provider_install_async (up->provider, up->backend, up->version, cancellable,
                                               bring_up_part_done, task);
      break;
    case UP_READY:
      berth_progress_set_description (up->progress, up->step_id,
                                      "Waiting for the Kubernetes API server");
      berth_kubernetes_provider_wait_ready_async (up->provider, up->backend,
                                                  BERTH_KUBERNETES_READY_TIMEOUT_SECONDS,
                                                  cancellable, bring_up_part_done, task);
      break;
    case UP_KUBECONFIG:
      berth_progress_set_description (up->progress, up->step_id, "Updating the kubeconfig");
      berth_kubernetes_provider_update_kubeconfig_async (up->provider, up->backend, cancellable,
                                                         bring_up_part_done, task);
      break;
    case UP_DONE:
    default:
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      break;
    }
}

void
berth_kubernetes_bring_up_async (BerthKubernetesProvider *provider, BerthBackend *backend,
                                 const gchar *version, BerthProgress *progress,
                                 const gchar *step_id, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;
  BringUp *up;

  g_return_if_fail (BERTH_IS_KUBERNETES_PROVIDER (provider));
  g_return_if_fail (BERTH_IS_BACKEND (backend));
  g_return_if_fail (BERTH_IS_PROGRESS (progress));
  g_return_if_fail (step_id != NULL);

  task = g_task_new (provider, cancellable, callback, user_data);
  g_task_set_source_tag (task, berth_kubernetes_bring_up_async);
  up = g_new0 (BringUp, 1);
  up->provider = g_object_ref (provider);
  up->backend = g_object_ref (backend);
  up->version = g_strdup (version != NULL ? version : "");
  up->progress = g_object_ref (progress);
  up->step_id = g_strdup (step_id);
  up->part = UP_ASSETS;
  g_task_set_task_data (task, up, (GDestroyNotify)bring_up_free);
  bring_up_next (task);
}

gboolean
berth_kubernetes_bring_up_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (G_IS_TASK (result), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, berth_kubernetes_bring_up_async), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- bring down ---------------------------------------------------------- */

typedef struct
{
  gboolean remove_kubeconfig;
  GError *error; /* the first */
} BringDown;

static void
bring_down_free (BringDown *down)
{
  g_clear_error (&down->error);
  g_free (down);
}

static void
bring_down_finish_task (GTask *task)
{
  BringDown *down = g_task_get_task_data (task);

  if (down->error != NULL)
    g_task_return_error (task, g_steal_pointer (&down->error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
bring_down_kubeconfig_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BringDown *down = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  if (!berth_kubernetes_provider_remove_kubeconfig_finish (BERTH_KUBERNETES_PROVIDER (source),
                                                           result, &error)
      && !g_error_matches (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED) && down->error == NULL)
    {
      g_prefix_error (&error, "Could not remove Berth's entries from the kubeconfig: ");
      down->error = g_steal_pointer (&error);
    }
  bring_down_finish_task (task);
}

static void
bring_down_stop_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BringDown *down = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  GCancellable *cancellable;

  if (!berth_kubernetes_provider_stop_finish (BERTH_KUBERNETES_PROVIDER (source), result, &error)
      && !g_error_matches (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED))
    {
      g_prefix_error (&error, "Could not stop k3s in the VM: ");
      down->error = g_steal_pointer (&error);
    }
  if (!down->remove_kubeconfig)
    {
      bring_down_finish_task (task);
      return;
    }
  /* Read before the call: its arguments are evaluated in no set order, and
   * one of them takes the task. */
  cancellable = g_task_get_cancellable (task);
  berth_kubernetes_provider_remove_kubeconfig_async (BERTH_KUBERNETES_PROVIDER (source),
                                                     cancellable, bring_down_kubeconfig_done,
                                                     g_steal_pointer (&task));
}

void
berth_kubernetes_bring_down_async (BerthKubernetesProvider *provider, BerthBackend *backend,
                                   gboolean remove_kubeconfig, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;
  BringDown *down;

  g_return_if_fail (BERTH_IS_KUBERNETES_PROVIDER (provider));
  g_return_if_fail (backend == NULL || BERTH_IS_BACKEND (backend));

  task = g_task_new (provider, cancellable, callback, user_data);
  g_task_set_source_tag (task, berth_kubernetes_bring_down_async);
  down = g_new0 (BringDown, 1);
  down->remove_kubeconfig = remove_kubeconfig;
  g_task_set_task_data (task, down, (GDestroyNotify)bring_down_free);
  /* Without a VM there is nothing to stop, only the kubeconfig to clean. */
  if (backend == NULL)
    {
      if (remove_kubeconfig)
        berth_kubernetes_provider_remove_kubeconfig_async (provider, cancellable,
                                                           bring_down_kubeconfig_done, task);
      else
        {
          bring_down_finish_task (task);
          g_object_unref (task);
        }
      return;
    }
  berth_kubernetes_provider_stop_async (provider, backend, cancellable, bring_down_stop_done, task);
}

gboolean
berth_kubernetes_bring_down_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (G_IS_TASK (result), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, berth_kubernetes_bring_down_async),
                        FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- version changes ----------------------------------------------------- */

/* "v1.30.2+k3s1", "1.30.2": major, minor, patch and the build number after
 * "+k3s" (G_MAXUINT64 when absent: any build of that release). FALSE for
 * anything else. */
static gboolean
parse_version (const gchar *text, guint64 parts[4])
{
  const gchar *p = text;

  if (text == NULL)
    return FALSE;
  if (*p == 'v')
    p++;
  for (guint i = 0; i < 3; i++)
    {
      gchar *end = NULL;

      if (!g_ascii_isdigit (*p))
        return FALSE;
      parts[i] = g_ascii_strtoull (p, &end, 10);
      p = end;
      if (i < 2)
        {
          if (*p != '.')
            return FALSE;
          p++;
        }
    }
  parts[3] = G_MAXUINT64;
  if (*p == '\0')
    return TRUE;
  if (!g_str_has_prefix (p, "+k3s"))
    return FALSE;
  p += strlen ("+k3s");
  if (!g_ascii_isdigit (*p))
    return FALSE;
  parts[3] = g_ascii_strtoull (p, (gchar **)&p, 10);
  return *p == '\0';
}

const gchar *
berth_kubernetes_version_change_severity (const gchar *current, const gchar *desired)
{
  guint64 a[4], b[4];

  if (!parse_version (current, a) || !parse_version (desired, b))
    return "restart";
  for (guint i = 0; i < 4; i++)
    {
      /* "v1.30.2" names the newest build of 1.30.2, whichever runs now. */
      if (i == 3 && (a[i] == G_MAXUINT64 || b[i] == G_MAXUINT64))
        break;
      if (b[i] < a[i])
        return "reset";
      if (b[i] > a[i])
        return "restart";
    }
  return "restart";
}

/* ---- the manager's Kubernetes calls -------------------------------------- */

static BerthKubernetesProvider *
require_provider (BerthManager *self, GError **error)
{
  BerthKubernetesProvider *provider = berth_manager_get_kubernetes_provider (self);

  if (provider == NULL)
    g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                         "No Kubernetes provider plugin (such as berth-k3s) is loaded; "
                         "`berthctl plugins` says why");
  return provider;
}

/* Services exist only while Kubernetes is ready. */
static gboolean
require_ready (BerthManager *self, GError **error)
{
  const gchar *state = berth_manager_get_kubernetes_state (self);

  if (g_strcmp0 (state, BERTH_KUBERNETES_STATE_READY) == 0)
    return TRUE;
  if (g_strcmp0 (state, BERTH_KUBERNETES_STATE_DISABLED) == 0)
    g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_BUSY,
                         "Kubernetes is disabled; enable it with berthctl set "
                         "--kubernetes.enabled and start Berth");
  else if (g_strcmp0 (state, BERTH_KUBERNETES_STATE_ERROR) == 0)
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_BUSY, "Kubernetes is not running: %s",
                 berth_manager_get_kubernetes_reason (self));
  else
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_BUSY,
                 "Kubernetes is %s; ask again once it is ready (berthctl start --wait)",
                 state != NULL ? state : "not running");
  return FALSE;
}

static void
versions_listed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  GPtrArray *versions = berth_kubernetes_provider_list_versions_finish (
      BERTH_KUBERNETES_PROVIDER (source), result, &error);

  if (versions == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, versions, (GDestroyNotify)g_ptr_array_unref);
}

void
berth_manager_list_kubernetes_versions_async (BerthManager *self, GCancellable *cancellable,
                                              GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GError) error = NULL;
  BerthKubernetesProvider *provider;

  g_return_if_fail (BERTH_IS_MANAGER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, berth_manager_list_kubernetes_versions_async);
  provider = require_provider (self, &error);
  if (provider == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  berth_kubernetes_provider_list_versions_async (provider, cancellable, versions_listed,
                                                 g_steal_pointer (&task));
}

GPtrArray *
berth_manager_list_kubernetes_versions_finish (BerthManager *self, GAsyncResult *result,
                                               GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

JsonNode *
berth_manager_dup_kubernetes_services (BerthManager *self, GError **error)
{
  BerthKubernetesProvider *provider;

  g_return_val_if_fail (BERTH_IS_MANAGER (self), NULL);

  provider = require_provider (self, error);
  if (provider == NULL || !require_ready (self, error))
    return NULL;
  return berth_kubernetes_provider_list_services (provider);
}

static void
service_forwarded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  guint port = berth_kubernetes_provider_forward_service_finish (BERTH_KUBERNETES_PROVIDER (source),
                                                                 result, &error);

  if (port == 0)
    {
      if (error == NULL)
        error = g_error_new_literal (BERTH_ERROR, BERTH_ERROR_FAILED,
                                     "The Kubernetes provider forwarded no port");
      g_task_return_error (task, g_steal_pointer (&error));
    }
  else
    g_task_return_int (task, port);
}

void
berth_manager_forward_kubernetes_service_async (BerthManager *self, const gchar *namespace_,
                                                const gchar *service, const gchar *port,
                                                guint host_port, GCancellable *cancellable,
                                                GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GError) error = NULL;
  BerthKubernetesProvider *provider;

  g_return_if_fail (BERTH_IS_MANAGER (self));
  g_return_if_fail (namespace_ != NULL && service != NULL && port != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, berth_manager_forward_kubernetes_service_async);
  provider = require_provider (self, &error);
  if (provider == NULL || !require_ready (self, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  berth_kubernetes_provider_forward_service_async (
      provider, berth_manager_get_backend (self), namespace_, service, port, host_port, cancellable,
      service_forwarded, g_steal_pointer (&task));
}

guint
berth_manager_forward_kubernetes_service_finish (BerthManager *self, GAsyncResult *result,
                                                 GError **error)
{
  gssize port;

  g_return_val_if_fail (g_task_is_valid (result, self), 0);
  port = g_task_propagate_int (G_TASK (result), error);
  return port > 0 ? (guint)port : 0;
}

static void
service_unforwarded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;

  if (!berth_kubernetes_provider_unforward_service_finish (BERTH_KUBERNETES_PROVIDER (source),
                                                           result, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

void
berth_manager_unforward_kubernetes_service_async (BerthManager *self, const gchar *namespace_,
                                                  const gchar *service, const gchar *port,
                                                  GCancellable *cancellable,
                                                  GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GError) error = NULL;
  BerthKubernetesProvider *provider;
  BerthBackend *backend;

  g_return_if_fail (BERTH_IS_MANAGER (self));
  g_return_if_fail (namespace_ != NULL && service != NULL && port != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, berth_manager_unforward_kubernetes_service_async);
  provider = require_provider (self, &error);
  backend = berth_manager_get_backend (self);
  if (provider == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  /* Nothing runs, so nothing is forwarded: done. */
  if (backend == NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  berth_kubernetes_provider_unforward_service_async (provider, backend, namespace_, service, port,
                                                     cancellable, service_unforwarded,
                                                     g_steal_pointer (&task));
}

gboolean
berth_manager_unforward_kubernetes_service_finish (BerthManager *self, GAsyncResult *result,
                                                   GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
