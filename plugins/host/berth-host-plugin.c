/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <berth.h>

#include "berth-host-admin.h"
#include "berth-host-autostart.h"
#include "berth-host-links.h"
#include "berth-host-plugin.h"

#define STRATEGY_SETTING "application.pathManagementStrategy"
#define AUTOSTART_SETTING "application.autoStart"
#define ADMIN_SETTING "application.adminAccess"

struct _BerthHostPlugin
{
  BerthPlugin parent_instance;

  GQueue pending;   /* GTask, waiting for the running one */
  GTask *running;   /* nullable */
  JsonNode *status; /* what list() says */
  GStrv warnings;
  /* The adminAccess value pkexec was last run for: it is not run again for
   * it (a refused password stays refused) until the setting changes. */
  gint admin_asked_for; /* -1: never */
};

static void
berth_host_plugin_integration_init (BerthIntegrationInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (BerthHostPlugin, berth_host_plugin, BERTH_TYPE_PLUGIN,
                               G_IMPLEMENT_INTERFACE (BERTH_TYPE_INTEGRATION,
                                                      berth_host_plugin_integration_init))

BERTH_PLUGIN_DEFINE (berth_host_plugin)

/* ---- a job: the settings of the moment, done in a worker thread --------- */

typedef struct
{
  gboolean remove;
  gboolean auto_start;
  gboolean admin_access;
  gboolean admin_may_ask;
  BerthHostLinksConfig links;
  BerthHostAutostartConfig autostart;
  BerthHostAdminConfig admin;

  /* Results. */
  JsonObject *status;
  GPtrArray *warnings;
  gboolean admin_asked;
} Job;

static void
job_free (Job *job)
{
  berth_host_links_config_clear (&job->links);
  berth_host_autostart_config_clear (&job->autostart);
  berth_host_admin_config_clear (&job->admin);
  g_clear_pointer (&job->status, json_object_unref);
  g_clear_pointer (&job->warnings, g_ptr_array_unref);
  g_free (job);
}

/* The first error is the job's; every one is among the warnings. */
static void
keep_error (GError **first, GPtrArray *warnings, GError *error, gboolean listed)
{
  if (!listed)
    g_ptr_array_add (warnings, g_strdup (error->message));
  if (*first == NULL)
    *first = error;
  else
    g_error_free (error);
}

static void
job_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  Job *job = task_data;
  GError *first = NULL;
  GError *error = NULL;
  const gchar *how = NULL;

  if (job->remove)
    {
      if (!berth_host_links_remove (&job->links, job->warnings, &error))
        keep_error (&first, job->warnings, error, TRUE);
      error = NULL;
      if (!berth_host_autostart_apply (&job->autostart, FALSE, NULL, job->warnings, &error))
        keep_error (&first, job->warnings, error, FALSE);
      error = NULL;
      if (!berth_host_admin_apply (&job->admin, FALSE, TRUE, &job->admin_asked, &error))
        keep_error (&first, job->warnings, error, FALSE);
    }
  else
    {
      if (job->links.user_bin != NULL
          && !berth_host_links_apply (&job->links, job->status, job->warnings, &error))
        keep_error (&first, job->warnings, error, TRUE);
      error = NULL;
      if (!berth_host_autostart_apply (&job->autostart, job->auto_start, &how, job->warnings,
                                       &error))
        keep_error (&first, job->warnings, error, FALSE);
      else if (job->auto_start)
        json_object_set_string_member (job->status, "autostart", how);
      else
        json_object_set_boolean_member (job->status, "autostart", FALSE);
      error = NULL;
      if (!berth_host_admin_apply (&job->admin, job->admin_access, job->admin_may_ask,
                                   &job->admin_asked, &error))
        {
          json_object_set_string_member (job->status, "admin-access", error->message);
          keep_error (&first, job->warnings, error, FALSE);
        }
      else
        json_object_set_boolean_member (job->status, "admin-access",
                                        berth_host_admin_link_state (&job->admin)
                                            == BERTH_HOST_ADMIN_LINK_BERTHS);
    }
  if (first != NULL)
    g_task_return_error (task, first);
  else
    g_task_return_boolean (task, TRUE);
}

/* ---- main context -------------------------------------------------------- */

static gchar *
find_berthctl (void)
{
  const gchar *from_env = g_getenv ("BERTH_BERTHCTL");
  g_autofree gchar *installed = g_build_filename (BERTH_BINDIR, "berthctl", NULL);

  if (from_env != NULL && from_env[0] != '\0')
    return g_strdup (from_env);
  if (g_file_test (installed, G_FILE_TEST_IS_EXECUTABLE))
    return g_steal_pointer (&installed);
  return g_find_program_in_path ("berthctl");
}

static Job *
job_new (BerthHostPlugin *self, gboolean remove)
{
  BerthSettings *settings = berth_plugin_get_settings (BERTH_PLUGIN (self));
  const BerthPaths *paths = berth_plugin_get_paths (BERTH_PLUGIN (self));
  const gchar *home = g_getenv ("HOME") != NULL ? g_getenv ("HOME") : g_get_home_dir ();
  g_autofree gchar *config_home = g_path_get_dirname (paths->config);
  const gchar *helper = g_getenv ("BERTH_ADMIN_HELPER");
  const gchar *root = g_getenv ("BERTH_SYSTEM_ROOT");
  Job *job = g_new0 (Job, 1);

  job->remove = remove;
  job->auto_start = settings != NULL && berth_settings_get_boolean (settings, AUTOSTART_SETTING);
  job->admin_access = settings != NULL && berth_settings_get_boolean (settings, ADMIN_SETTING);
  job->admin_may_ask = remove || self->admin_asked_for != (gint)job->admin_access;

  job->links.bin_dir = g_build_filename (paths->data, "bin", NULL);
  job->links.user_bin = g_strdup (paths->integration);
  job->links.strategy = g_strdup (
      settings != NULL ? berth_settings_get_string (settings, STRATEGY_SETTING) : "notset");
  job->links.berthctl = find_berthctl ();
  job->links.search_path = g_strdup (g_getenv ("PATH"));
  job->links.rc_files = g_new0 (gchar *, 4);
  job->links.rc_files[0] = g_build_filename (home, ".bashrc", NULL);
  job->links.rc_files[1] = g_build_filename (home, ".zshrc", NULL);
  job->links.rc_files[2] = g_build_filename (config_home, "fish", "config.fish", NULL);

  job->autostart.systemctl = g_find_program_in_path ("systemctl");
  job->autostart.autostart_file
      = g_build_filename (config_home, "autostart", "berth.desktop", NULL);
  job->autostart.berthd = g_build_filename (BERTH_BINDIR, "berthd", NULL);
  job->autostart.logs_dir = g_strdup (paths->logs);

  job->admin.pkexec = g_find_program_in_path ("pkexec");
  job->admin.helper = helper != NULL && helper[0] != '\0'
                          ? g_strdup (helper)
                          : g_build_filename (BERTH_LIBEXECDIR, "berth-admin-helper", NULL);
  job->admin.root = root != NULL && root[0] != '\0' ? g_strdup (root) : NULL;
  job->admin.socket = g_build_filename (paths->data, "docker.sock", NULL);
  job->admin.logs_dir = g_strdup (paths->logs);

  job->status = json_object_new ();
  job->warnings = g_ptr_array_new_with_free_func (g_free);
  return job;
}

static void
run_next (BerthHostPlugin *self);

static gboolean
strv_equal0 (GStrv a, GStrv b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return g_strv_equal ((const gchar *const *)a, (const gchar *const *)b);
}

static void
job_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BerthHostPlugin *self = BERTH_HOST_PLUGIN (source);
  g_autoptr (GTask) outer = user_data;
  Job *job = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) status = NULL;
  GStrv warnings;
  gboolean changed;

  g_assert (self->running == outer);
  self->running = NULL;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    g_message ("%s: %s", g_task_get_name (outer), error->message);
  if (job->admin_asked)
    self->admin_asked_for = (gint)(job->remove ? FALSE : job->admin_access);

  status = json_node_init_object (json_node_alloc (), job->status);
  g_ptr_array_add (job->warnings, NULL);
  warnings = g_strdupv ((gchar **)job->warnings->pdata);
  changed = self->status == NULL || !json_node_equal (status, self->status)
            || !strv_equal0 (warnings, self->warnings);
  g_clear_pointer (&self->status, json_node_unref);
  self->status = g_steal_pointer (&status);
  g_strfreev (self->warnings);
  self->warnings = warnings;
  if (changed)
    g_signal_emit_by_name (self, "changed");

  if (error != NULL)
    g_task_return_error (outer, g_steal_pointer (&error));
  else
    g_task_return_boolean (outer, TRUE);
  run_next (self);
}

/* Starts the oldest waiting job unless one runs; the job reads the settings
 * as they are now. */
static void
run_next (BerthHostPlugin *self)
{
  GTask *outer;
  GTask *inner;

  if (self->running != NULL)
    return;
  outer = g_queue_pop_head (&self->pending);
  if (outer == NULL)
    return;
  self->running = outer;
  inner = g_task_new (self, g_task_get_cancellable (outer), job_done, outer);
  g_task_set_source_tag (inner, run_next);
  g_task_set_name (inner, g_task_get_name (outer));
  g_task_set_task_data (inner, job_new (self, GPOINTER_TO_INT (g_task_get_task_data (outer)) != 0),
                        (GDestroyNotify)job_free);
  g_task_run_in_thread (inner, job_thread);
  g_object_unref (inner);
}

static void
queue_job (BerthHostPlugin *self, gboolean remove, GCancellable *cancellable,
           GAsyncReadyCallback callback, gpointer user_data, gpointer source_tag)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_name (task, remove ? "Removing Berth's tool links, autostart and docker.sock link"
                                : "Applying Berth's tool links, autostart and docker.sock link");
  g_task_set_task_data (task, GINT_TO_POINTER (remove ? 1 : 0), NULL);
  g_queue_push_tail (&self->pending, task);
  run_next (self);
}

static JsonNode *
berth_host_plugin_list (BerthIntegration *integration)
{
  BerthHostPlugin *self = BERTH_HOST_PLUGIN (integration);

  if (self->status == NULL)
    return json_node_init_object (json_node_alloc (), json_object_new ());
  return json_node_copy (self->status);
}

static GStrv
berth_host_plugin_dup_warnings (BerthIntegration *integration)
{
  BerthHostPlugin *self = BERTH_HOST_PLUGIN (integration);

  return self->warnings != NULL ? g_strdupv (self->warnings) : g_new0 (gchar *, 1);
}

static void
berth_host_plugin_apply_async (BerthIntegration *integration, BerthState state,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data)
{
  queue_job (BERTH_HOST_PLUGIN (integration), FALSE, cancellable, callback, user_data,
             berth_host_plugin_apply_async);
}

static void
berth_host_plugin_remove_async (BerthIntegration *integration, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  queue_job (BERTH_HOST_PLUGIN (integration), TRUE, cancellable, callback, user_data,
             berth_host_plugin_remove_async);
}

static gboolean
berth_host_plugin_finish (BerthIntegration *integration, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, integration), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
berth_host_plugin_integration_init (BerthIntegrationInterface *iface)
{
  iface->list = berth_host_plugin_list;
  iface->dup_warnings = berth_host_plugin_dup_warnings;
  iface->apply_async = berth_host_plugin_apply_async;
  iface->apply_finish = berth_host_plugin_finish;
  iface->remove_async = berth_host_plugin_remove_async;
  iface->remove_finish = berth_host_plugin_finish;
}

static void
berth_host_plugin_finalize (GObject *object)
{
  BerthHostPlugin *self = BERTH_HOST_PLUGIN (object);

  /* Every queued or running task holds a reference: none is left here. */
  g_assert (self->running == NULL && g_queue_is_empty (&self->pending));
  g_clear_pointer (&self->status, json_node_unref);
  g_strfreev (self->warnings);
  G_OBJECT_CLASS (berth_host_plugin_parent_class)->finalize (object);
}

static void
berth_host_plugin_class_init (BerthHostPluginClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = berth_host_plugin_finalize;
}

static void
berth_host_plugin_init (BerthHostPlugin *self)
{
  g_queue_init (&self->pending);
  self->admin_asked_for = -1;
}
