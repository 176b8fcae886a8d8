/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Berth — the WSL 2 backend. */

#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include <berth-backend.h>
#include <berth-error.h>
#include <berth-integration.h>
#include <berth-settings.h>
#include <berth-subprocess.h>

#include "berth-wsl-exe.h"
#include "berth-wsl-integration.h"
#include "berth-wsl-plugin.h"
#include "berth-wsl-setup.h"

#define LOG_COMPONENT "wsl"
#define START_TIMEOUT_DEFAULT 300

struct _BerthWslPlugin
{
  BerthPlugin parent_instance;

  BerthState state;
  gchar *state_reason;

  gchar *distro_dir;
  gchar *data_dir;
  gchar *tarball;
  gchar *exe_path; /* the last wsl.exe found */
  gchar *bundled_version;
  gchar *installed_version;

  GTask *start_task;
  GCancellable *start_cancellable;
  guint start_timeout_id;
  gboolean start_timed_out;
  GPtrArray *stop_waiters; /* GTask* */
  gboolean stopping;

  GSubprocess *init; /* while running: wsl.exe … --exec wsl-init */
  gchar *init_pid;

  JsonNode *integrations; /* the last list */
  GStrv integration_warnings;
};

static void
berth_wsl_plugin_backend_init (BerthBackendInterface *iface);
static void
berth_wsl_plugin_integration_init (BerthIntegrationInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (BerthWslPlugin, berth_wsl_plugin, BERTH_TYPE_PLUGIN,
                               G_IMPLEMENT_INTERFACE (BERTH_TYPE_BACKEND,
                                                      berth_wsl_plugin_backend_init)
                                   G_IMPLEMENT_INTERFACE (BERTH_TYPE_INTEGRATION,
                                                          berth_wsl_plugin_integration_init))

BERTH_PLUGIN_DEFINE (berth_wsl_plugin)

enum
{
  PROP_0,
  PROP_STATE,
  PROP_STATE_REASON,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- small helpers ------------------------------------------------------ */

static const BerthPaths *
plugin_paths (BerthWslPlugin *self)
{
  return berth_plugin_get_paths (BERTH_PLUGIN (self));
}

static void
set_state (BerthWslPlugin *self, BerthState state, const gchar *reason)
{
  gboolean state_changed = self->state != state;
  gboolean reason_changed = g_strcmp0 (self->state_reason, reason) != 0;

  self->state = state;
  if (reason_changed)
    {
      g_free (self->state_reason);
      self->state_reason = g_strdup (reason);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE_REASON]);
    }
  if (state_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
wsl_log (BerthWslPlugin *self, const gchar *format, ...) G_GNUC_PRINTF (2, 3);

static void
wsl_log (BerthWslPlugin *self, const gchar *format, ...)
{
  va_list args;
  g_autofree gchar *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  berth_log_line (plugin_paths (self)->logs, LOG_COMPONENT, "%s", message);
}

/* The install locations and the tarball, from the paths and environment. */
static void
resolve_locations (BerthWslPlugin *self)
{
  const BerthPaths *paths = plugin_paths (self);
  const gchar *tarball = g_getenv ("BERTH_WSL_DISTRO_TARBALL");

  g_free (self->distro_dir);
  g_free (self->data_dir);
  g_free (self->tarball);
  if (paths->wsl_distro != NULL && paths->wsl_distro_data != NULL)
    {
      self->distro_dir = g_strdup (paths->wsl_distro);
      self->data_dir = g_strdup (paths->wsl_distro_data);
    }
  else
    {
      self->distro_dir = g_build_filename (paths->data, "wsl", "distro", NULL);
      self->data_dir = g_build_filename (paths->data, "wsl", "distro-data", NULL);
    }
  if (tarball != NULL && tarball[0] != '\0')
    self->tarball = g_strdup (tarball);
  else
    self->tarball = g_build_filename (BERTH_PKGDATADIR, "wsl", "distro.tar", NULL);
}

static void
fill_setup (BerthWslPlugin *self, BerthWslExe *exe, BerthWslSetup *setup)
{
  memset (setup, 0, sizeof *setup);
  setup->exe = exe;
  setup->distro = BERTH_WSL_DISTRO;
  setup->data_distro = BERTH_WSL_DATA_DISTRO;
  setup->distro_dir = self->distro_dir;
  setup->data_dir = self->data_dir;
  setup->tarball = self->tarball;
}

static BerthWslExe *
find_exe (BerthWslPlugin *self, GError **error)
{
  BerthWslExe *exe = berth_wsl_exe_find (plugin_paths (self)->logs, error);

  if (exe != NULL)
    {
      g_free (self->exe_path);
      self->exe_path = g_strdup (exe->path);
    }
  return exe;
}

/* ---- validate ------------------------------------------------------------ */

/* Cheap checks only (it runs on the main loop): wsl.exe and the tarball.
 * Whether WSL 2 works is asked of wsl.exe when the start begins. */
static gboolean
berth_wsl_plugin_validate (BerthBackend *backend, GError **error)
{
  BerthWslPlugin *self = BERTH_WSL_PLUGIN (backend);
  g_autoptr (BerthWslExe) exe = NULL;

  resolve_locations (self);
  exe = find_exe (self, error);
  if (exe == NULL)
    return FALSE;
  if (!g_file_test (self->tarball, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                   "The WSL distribution's root file system %s is missing; reinstall Berth, or "
                   "build one with data/guest/build-image.sh --wsl and name it in "
                   "BERTH_WSL_DISTRO_TARBALL",
                   self->tarball);
      return FALSE;
    }
  return TRUE;
}

static gboolean
berth_wsl_plugin_is_native (BerthBackend *backend, BerthPlatform platform)
{
  return platform == BERTH_PLATFORM_WINDOWS;
}

/* ---- start ----------------------------------------------------------------- */

typedef struct
{
  BerthWslPlugin *self; /* a reference */
  BerthWslExe *exe;
  gchar *work_dir;
  gchar *engine;
  gchar *ca_file; /* virtualMachine.caCertificates.file */
  guint timeout;
  /* From the thread. */
  BerthWslInit init;
  gchar *bundled_version;
  gchar *installed_version;
} StartData;

static void
start_data_free (StartData *data)
{
  if (data->work_dir != NULL)
    {
      g_rmdir (data->work_dir);
      g_free (data->work_dir);
    }
  berth_wsl_init_clear (&data->init);
  g_clear_pointer (&data->exe, berth_wsl_exe_free);
  g_free (data->engine);
  g_free (data->ca_file);
  g_free (data->bundled_version);
  g_free (data->installed_version);
  g_clear_object (&data->self);
  g_free (data);
}

typedef struct
{
  BerthWslPlugin *self;
  gchar *description;
} ProgressCall;

static gboolean
emit_progress_idle (gpointer user_data)
{
  ProgressCall *call = user_data;

  if (call->self->start_task != NULL || call->self->stopping)
    g_signal_emit_by_name (call->self, "progress", call->description, (guint64)0, (guint64)0);
  g_object_unref (call->self);
  g_free (call->description);
  g_free (call);
  return G_SOURCE_REMOVE;
}

/* From a worker thread: the signal is emitted on the main context. */
static void
progress_from_thread (const gchar *description, gpointer user_data)
{
  ProgressCall *call = g_new0 (ProgressCall, 1);

  call->self = g_object_ref (user_data);
  call->description = g_strdup (description);
  g_main_context_invoke (NULL, emit_progress_idle, call);
}

static void
start_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  StartData *data = task_data;
  BerthWslSetup setup;
  g_autoptr (GError) error = NULL;
  gboolean ok;

  fill_setup (data->self, data->exe, &setup);
  setup.work_dir = data->work_dir;
  setup.ca_file = data->ca_file;
  setup.progress = progress_from_thread;
  setup.progress_data = data->self;

  progress_from_thread ("Checking WSL 2", data->self);
  ok = berth_wsl_check_wsl2 (data->exe, cancellable, &error)
       && berth_wsl_setup_distributions (&setup, cancellable, &error)
       && berth_wsl_setup_guest_files (&setup, cancellable, &error);
  if (ok)
    {
      progress_from_thread ("Starting the WSL environment", data->self);
      ok = berth_wsl_run_init (data->exe, data->engine, &data->init, cancellable, &error);
    }
  data->bundled_version = g_steal_pointer (&setup.bundled_version);
  data->installed_version = g_steal_pointer (&setup.installed_version);
  berth_wsl_setup_clear (&setup);
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

static void
begin_stop (BerthWslPlugin *self);
static void
complete_stop_waiters (BerthWslPlugin *self, const GError *error);

static void
init_exited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (BerthWslPlugin) self = user_data;
  GSubprocess *init = G_SUBPROCESS (source);
  g_autofree gchar *reason = NULL;
  gint status;

  g_subprocess_wait_finish (init, result, NULL);
  if (self->init != init)
    return;
  g_clear_object (&self->init);
  g_clear_pointer (&self->init_pid, g_free);
  if (self->stopping || self->state != BERTH_STATE_STARTED)
    return;
  status = g_subprocess_get_if_exited (init) ? g_subprocess_get_exit_status (init)
                                             : 128 + g_subprocess_get_term_sig (init);
  reason = g_strdup_printf ("The WSL distribution's init (%s) exited with status %d while Berth "
                            "ran (see %s.log); start Berth again",
                            BERTH_WSL_INIT, status, BERTH_WSL_INIT_LOG);
  wsl_log (self, "%s", reason);
  set_state (self, BERTH_STATE_ERROR, reason);
}

static void
init_output_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_output_stream_splice_finish (G_OUTPUT_STREAM (source), result, NULL);
}

static void
start_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (BerthWslPlugin) self = user_data;
  g_autoptr (GTask) task = g_steal_pointer (&self->start_task);
  StartData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;

  g_clear_handle_id (&self->start_timeout_id, g_source_remove);
  g_free (self->bundled_version);
  self->bundled_version = g_strdup (data->bundled_version);
  g_free (self->installed_version);
  self->installed_version = g_strdup (data->installed_version);
  if (g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_autoptr (GOutputStream) log
          = berth_log_open (plugin_paths (self)->logs, BERTH_WSL_INIT_LOG, NULL);

      self->init = g_steal_pointer (&data->init.process);
      self->init_pid = g_strdup (g_subprocess_get_identifier (self->init));
      /* The rest of its output goes on into its log (a full pipe would stop it). */
      if (log != NULL)
        g_output_stream_splice_async (log, G_INPUT_STREAM (data->init.output),
                                      G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE
                                          | G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                                      G_PRIORITY_DEFAULT, NULL, init_output_done, NULL);
      g_subprocess_wait_async (self->init, NULL, init_exited, g_object_ref (self));
      g_clear_object (&self->start_cancellable);
      wsl_log (self, "The WSL distribution %s is ready (init pid %s)", BERTH_WSL_DISTRO,
               self->init_pid != NULL ? self->init_pid : "?");
      set_state (self, BERTH_STATE_STARTED, NULL);
      g_task_return_boolean (task, TRUE);
      if (self->stop_waiters->len > 0)
        begin_stop (self);
      return;
    }

  berth_error_convert (&error);
  if (self->start_timed_out)
    {
      g_autofree gchar *tail = berth_wsl_init_tail (&data->init);

      g_clear_error (&error);
      g_set_error (&error, BERTH_ERROR, BERTH_ERROR_TIMED_OUT,
                   "The WSL distribution %s was not ready within %u s (BERTH_BOOT_TIMEOUT "
                   "waits longer); the last lines of its init:%s",
                   BERTH_WSL_DISTRO, data->timeout, tail);
    }
  g_clear_object (&self->start_cancellable);
  wsl_log (self, "The start failed: %s", error->message);
  if (g_error_matches (error, BERTH_ERROR, BERTH_ERROR_CANCELLED) || self->stop_waiters->len > 0)
    {
      /* Asked to stop meanwhile: whatever runs in the distribution goes. */
      g_task_return_error (task, g_steal_pointer (&error));
      begin_stop (self);
      return;
    }
  set_state (self, BERTH_STATE_ERROR, error->message);
  g_task_return_error (task, g_steal_pointer (&error));
}

static gboolean
on_start_timeout (gpointer user_data)
{
  BerthWslPlugin *self = user_data;

  self->start_timeout_id = 0;
  self->start_timed_out = TRUE;
  g_cancellable_cancel (self->start_cancellable);
  return G_SOURCE_REMOVE;
}

static guint
start_timeout (void)
{
  const gchar *env = g_getenv ("BERTH_BOOT_TIMEOUT");
  guint64 seconds = 0;

  if (env != NULL && g_ascii_string_to_unsigned (env, 10, 1, 24 * 3600, &seconds, NULL))
    return (guint)seconds;
  return START_TIMEOUT_DEFAULT;
}

static void
forward_cancel (GCancellable *cancellable, gpointer user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

static void
berth_wsl_plugin_start_async (BerthBackend *backend, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  BerthWslPlugin *self = BERTH_WSL_PLUGIN (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (GTask) inner = NULL;
  g_autoptr (GError) error = NULL;
  BerthSettings *settings = berth_plugin_get_settings (BERTH_PLUGIN (self));
  const gchar *engine
      = settings != NULL ? berth_settings_get_string (settings, "containerEngine.name") : NULL;
  StartData *data;

  g_task_set_source_tag (task, berth_wsl_plugin_start_async);
  if (self->state == BERTH_STATE_STARTED)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (self->start_task != NULL || self->stopping)
    {
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_BUSY,
                               "The WSL distribution %s is %s; wait until that is done",
                               BERTH_WSL_DISTRO, self->stopping ? "stopping" : "already starting");
      return;
    }
  data = g_new0 (StartData, 1);
  data->self = g_object_ref (self);
  data->engine = g_strdup (engine != NULL ? engine : "moby");
  if (settings != NULL)
    data->ca_file
        = g_strdup (berth_settings_get_string (settings, "virtualMachine.caCertificates.file"));
  data->timeout = start_timeout ();
  if (berth_wsl_plugin_validate (backend, &error))
    data->exe = find_exe (self, &error);
  if (data->exe != NULL)
    data->work_dir = g_dir_make_tmp ("berth-wsl-XXXXXX", &error);
  if (error != NULL)
    {
      start_data_free (data);
      berth_error_convert (&error);
      set_state (self, BERTH_STATE_ERROR, error->message);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  self->start_task = g_steal_pointer (&task);
  self->start_cancellable = g_cancellable_new ();
  self->start_timed_out = FALSE;
  if (cancellable != NULL)
    g_cancellable_connect (cancellable, G_CALLBACK (forward_cancel),
                           g_object_ref (self->start_cancellable), g_object_unref);
  self->start_timeout_id = g_timeout_add_seconds (data->timeout, on_start_timeout, self);
  set_state (self, BERTH_STATE_STARTING, NULL);
  wsl_log (self, "Starting the WSL distribution %s from %s (wsl.exe: %s)", BERTH_WSL_DISTRO,
           self->tarball, data->exe->path);

  inner = g_task_new (self, self->start_cancellable, start_done, g_object_ref (self));
  g_task_set_source_tag (inner, start_thread);
  g_task_set_task_data (inner, data, (GDestroyNotify)start_data_free);
  g_task_run_in_thread (inner, start_thread);
}

static gboolean
berth_wsl_plugin_boolean_finish (BerthBackend *backend, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- stop and delete --------------------------------------------------------- */

static void
complete_stop_waiters (BerthWslPlugin *self, const GError *error)
{
  g_autoptr (GPtrArray) waiters = g_steal_pointer (&self->stop_waiters);

  self->stop_waiters = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < waiters->len; i++)
    {
      GTask *task = g_ptr_array_index (waiters, i);

      if (error != NULL)
        g_task_return_error (task, g_error_copy (error));
      else
        g_task_return_boolean (task, TRUE);
    }
}

static void
stop_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  BerthWslPlugin *self = source_object;
  g_autoptr (BerthWslExe) exe = NULL;
  g_autoptr (GError) error = NULL;

  exe = berth_wsl_exe_find (plugin_paths (self)->logs, &error);
  /* No wsl.exe: nothing of Berth's can run in WSL. */
  if (exe == NULL || berth_wsl_terminate (exe, BERTH_WSL_DISTRO, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

static void
stop_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (BerthWslPlugin) self = user_data;
  g_autoptr (GError) error = NULL;

  self->stopping = FALSE;
  if (self->init != NULL)
    g_subprocess_force_exit (self->init);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      berth_error_convert (&error);
      wsl_log (self, "The stop failed: %s", error->message);
      set_state (self, BERTH_STATE_ERROR, error->message);
      complete_stop_waiters (self, error);
      return;
    }
  wsl_log (self, "Stopped the WSL distribution %s", BERTH_WSL_DISTRO);
  set_state (self, BERTH_STATE_STOPPED, NULL);
  complete_stop_waiters (self, NULL);
}

static void
begin_stop (BerthWslPlugin *self)
{
  g_autoptr (GTask) task = NULL;

  if (self->stopping)
    return;
  self->stopping = TRUE;
  set_state (self, BERTH_STATE_STOPPING, NULL);
  g_signal_emit_by_name (self, "progress", "Stopping the WSL distribution", (guint64)0, (guint64)0);
  task = g_task_new (self, NULL, stop_done, g_object_ref (self));
  g_task_run_in_thread (task, stop_thread);
}

static void
berth_wsl_plugin_stop_async (BerthBackend *backend, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  BerthWslPlugin *self = BERTH_WSL_PLUGIN (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, berth_wsl_plugin_stop_async);
  if (self->state == BERTH_STATE_STOPPED && self->init == NULL && !self->stopping
      && self->start_task == NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  g_ptr_array_add (self->stop_waiters, g_object_ref (task));
  if (self->start_task != NULL)
    {
      /* The start ends, cancelled, and then the stop runs. */
      g_cancellable_cancel (self->start_cancellable);
      return;
    }
  begin_stop (self);
}

static void
delete_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  BerthWslPlugin *self = source_object;
  g_autoptr (BerthWslExe) exe = NULL;
  g_autoptr (GError) error = NULL;
  BerthWslSetup setup;

  exe = berth_wsl_exe_find (plugin_paths (self)->logs, &error);
  if (exe == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  fill_setup (self, exe, &setup);
  if (berth_wsl_unregister_all (&setup, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

static void
delete_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthWslPlugin *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      berth_error_convert (&error);
      g_prefix_error (&error, "Deleting Berth's WSL distributions: ");
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  wsl_log (self, "Unregistered the WSL distributions %s and %s", BERTH_WSL_DISTRO,
           BERTH_WSL_DATA_DISTRO);
  g_clear_pointer (&self->installed_version, g_free);
  set_state (self, BERTH_STATE_STOPPED, NULL);
  g_task_return_boolean (task, TRUE);
}

static void
run_delete (GTask *task)
{
  BerthWslPlugin *self = g_task_get_source_object (task);
  GTask *inner = g_task_new (self, g_task_get_cancellable (task), delete_done, task);

  resolve_locations (self);
  g_task_run_in_thread (inner, delete_thread);
  g_object_unref (inner);
}

static void
delete_after_stop (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  g_autoptr (GError) error = NULL;

  if (!berth_backend_stop_finish (BERTH_BACKEND (source), result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  run_delete (task);
}

static void
berth_wsl_plugin_delete_async (BerthBackend *backend, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  BerthWslPlugin *self = BERTH_WSL_PLUGIN (backend);
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, berth_wsl_plugin_delete_async);
  if (self->state != BERTH_STATE_STOPPED || self->init != NULL || self->stopping)
    {
      berth_backend_stop_async (backend, cancellable, delete_after_stop, task);
      return;
    }
  run_delete (task);
}

/* ---- exec and files ------------------------------------------------------------ */

typedef struct
{
  BerthWslExe *exe;
  GStrv argv;
  GBytes *bytes;
  gchar *host_path;
  gchar *guest_path;
  guint mode;
} GuestOp;

static void
guest_op_free (GuestOp *op)
{
  berth_wsl_exe_free (op->exe);
  g_strfreev (op->argv);
  g_clear_pointer (&op->bytes, g_bytes_unref);
  g_free (op->host_path);
  g_free (op->guest_path);
  g_free (op);
}

static void
exec_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  GuestOp *op = task_data;
  BerthWslRunOptions options = { 0 };
  g_autoptr (GError) error = NULL;
  BerthSubprocessResult *result;

  options.stdin_bytes = op->bytes;
  result = berth_wsl_exe_exec (op->exe, BERTH_WSL_DISTRO, "root", (const gchar *const *)op->argv,
                               &options, cancellable, &error);
  if (result == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, result, (GDestroyNotify)berth_subprocess_result_free);
}

static void
write_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  GuestOp *op = task_data;
  g_autoptr (GError) error = NULL;
  guint mode = op->mode;

  if (op->host_path != NULL)
    {
      GStatBuf st;

      if (g_stat (op->host_path, &st) != 0)
        {
          int saved = errno;

          g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                                   "Cannot copy %s into the WSL distribution: %s", op->host_path,
                                   g_strerror (saved));
          return;
        }
      mode = st.st_mode & 0777;
    }
  if (berth_wsl_write_file (op->exe, BERTH_WSL_DISTRO, op->guest_path, op->bytes, op->host_path,
                            mode, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

/* Starts @func on @op in a worker thread, or fails at once when the
 * distribution does not run. */
static void
run_guest_op (BerthWslPlugin *self, gpointer source_tag, const gchar *what, GuestOp *op,
              GTaskThreadFunc func, GCancellable *cancellable, GAsyncReadyCallback callback,
              gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (GError) error = NULL;

  g_task_set_source_tag (task, source_tag);
  if (self->state != BERTH_STATE_STARTED)
    {
      guest_op_free (op);
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                               "Cannot %s: the WSL distribution %s is %s, not running; start "
                               "Berth first",
                               what, BERTH_WSL_DISTRO, berth_state_to_string (self->state));
      return;
    }
  op->exe = berth_wsl_exe_find (plugin_paths (self)->logs, &error);
  if (op->exe == NULL)
    {
      guest_op_free (op);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_set_task_data (task, op, (GDestroyNotify)guest_op_free);
  g_task_run_in_thread (task, func);
}

static void
berth_wsl_plugin_exec_async (BerthBackend *backend, const gchar *const *argv, GBytes *stdin_bytes,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data)
{
  GuestOp *op = g_new0 (GuestOp, 1);
  g_autofree gchar *what = g_strdup_printf ("run %s in WSL", argv[0]);

  op->argv = g_strdupv ((gchar **)argv);
  op->bytes = stdin_bytes != NULL ? g_bytes_ref (stdin_bytes) : NULL;
  run_guest_op (BERTH_WSL_PLUGIN (backend), berth_wsl_plugin_exec_async, what, op, exec_thread,
                cancellable, callback, user_data);
}

static BerthSubprocessResult *
berth_wsl_plugin_exec_finish (BerthBackend *backend, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
berth_wsl_plugin_write_file_async (BerthBackend *backend, const gchar *guest_path, GBytes *contents,
                                   guint mode, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data)
{
  GuestOp *op = g_new0 (GuestOp, 1);
  g_autofree gchar *what = g_strdup_printf ("write %s in WSL", guest_path);

  op->guest_path = g_strdup (guest_path);
  op->bytes = g_bytes_ref (contents);
  op->mode = mode;
  run_guest_op (BERTH_WSL_PLUGIN (backend), berth_wsl_plugin_write_file_async, what, op,
                write_thread, cancellable, callback, user_data);
}

static void
berth_wsl_plugin_copy_in_async (BerthBackend *backend, const gchar *host_path,
                                const gchar *guest_path, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  GuestOp *op = g_new0 (GuestOp, 1);
  g_autofree gchar *what = g_strdup_printf ("copy %s into WSL", host_path);

  op->host_path = g_strdup (host_path);
  op->guest_path = g_strdup (guest_path);
  run_guest_op (BERTH_WSL_PLUGIN (backend), berth_wsl_plugin_copy_in_async, what, op, write_thread,
                cancellable, callback, user_data);
}

/* ---- info ------------------------------------------------------------------------ */

static void
add_string_or_null (JsonBuilder *b, const gchar *name, const gchar *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static JsonNode *
berth_wsl_plugin_info (BerthBackend *backend, GError **error)
{
  BerthWslPlugin *self = BERTH_WSL_PLUGIN (backend);
  g_autoptr (JsonBuilder) b = json_builder_new ();

  resolve_locations (self);
  json_builder_begin_object (b);
  add_string_or_null (b, "backend", "wsl");
  add_string_or_null (b, "state", berth_state_to_string (self->state));
  add_string_or_null (b, "distribution", BERTH_WSL_DISTRO);
  add_string_or_null (b, "dataDistribution", BERTH_WSL_DATA_DISTRO);
  add_string_or_null (b, "distroDir", self->distro_dir);
  add_string_or_null (b, "distroDataDir", self->data_dir);
  add_string_or_null (b, "distroTarball", self->tarball);
  add_string_or_null (b, "distroVersion", self->bundled_version);
  add_string_or_null (b, "installedDistroVersion", self->installed_version);
  add_string_or_null (b, "wslExe", self->exe_path);
  add_string_or_null (b, "initPid", self->init_pid);
  /* WSL 2 sizes one VM for every distribution in .wslconfig: not Berth's. */
  add_string_or_null (b, "cpus", NULL);
  add_string_or_null (b, "memoryInGB", NULL);
  add_string_or_null (b, "accel", "wsl2");
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* ---- integration ----------------------------------------------------------------- */

static JsonNode *
berth_wsl_plugin_list (BerthIntegration *integration)
{
  BerthWslPlugin *self = BERTH_WSL_PLUGIN (integration);

  return self->integrations != NULL ? json_node_copy (self->integrations) : NULL;
}

static GStrv
berth_wsl_plugin_dup_warnings (BerthIntegration *integration)
{
  BerthWslPlugin *self = BERTH_WSL_PLUGIN (integration);

  return self->integration_warnings != NULL ? g_strdupv (self->integration_warnings)
                                            : g_new0 (gchar *, 1);
}

/* The sync's result, kept for list() and dup_warnings(). */
static void
on_integration_synced (GObject *source, JsonNode *list, GStrv warnings, gpointer user_data)
{
  BerthWslPlugin *self = BERTH_WSL_PLUGIN (source);

  g_clear_pointer (&self->integrations, json_node_unref);
  self->integrations = json_node_copy (list);
  g_strfreev (self->integration_warnings);
  self->integration_warnings = g_strdupv (warnings);
  g_signal_emit_by_name (self, "changed");
}

static void
start_sync (BerthWslPlugin *self, gboolean remove, GCancellable *cancellable,
            GAsyncReadyCallback callback, gpointer user_data, gpointer source_tag)
{
  BerthSettings *settings = berth_plugin_get_settings (BERTH_PLUGIN (self));
  JsonNode *node = NULL;

  if (!remove && settings != NULL)
    node = berth_settings_get_node (settings, "WSL.integrations");
  berth_wsl_integration_sync_async (G_OBJECT (self), source_tag, plugin_paths (self)->logs, remove,
                                    node, on_integration_synced, cancellable, callback, user_data);
}

static void
berth_wsl_plugin_apply_async (BerthIntegration *integration, BerthState state,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  BerthWslPlugin *self = BERTH_WSL_PLUGIN (integration);

  /* Only while this backend runs: the socket the links lead to is its own. */
  if (state != BERTH_STATE_STARTED || self->state != BERTH_STATE_STARTED)
    {
      g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

      g_task_set_source_tag (task, berth_wsl_plugin_apply_async);
      g_task_return_boolean (task, TRUE);
      return;
    }
  start_sync (self, FALSE, cancellable, callback, user_data, berth_wsl_plugin_apply_async);
}

static void
berth_wsl_plugin_remove_async (BerthIntegration *integration, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  start_sync (BERTH_WSL_PLUGIN (integration), TRUE, cancellable, callback, user_data,
              berth_wsl_plugin_remove_async);
}

static gboolean
berth_wsl_plugin_integration_finish (BerthIntegration *integration, GAsyncResult *result,
                                     GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, integration), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- GObject ----------------------------------------------------------------------- */

static void
berth_wsl_plugin_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  BerthWslPlugin *self = BERTH_WSL_PLUGIN (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_STATE_REASON:
      g_value_set_string (value, self->state_reason);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
berth_wsl_plugin_set_property (GObject *object, guint prop_id, const GValue *value,
                               GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_STATE:
    case PROP_STATE_REASON:
      g_warning ("The wsl backend's %s is read-only", pspec->name);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
berth_wsl_plugin_dispose (GObject *object)
{
  BerthWslPlugin *self = BERTH_WSL_PLUGIN (object);

  g_clear_handle_id (&self->start_timeout_id, g_source_remove);
  /* wsl.exe goes; what it started in the distribution ends with the next
   * start's --terminate (or WSL's own idle timeout). */
  if (self->init != NULL)
    g_subprocess_force_exit (self->init);
  g_clear_object (&self->init);
  G_OBJECT_CLASS (berth_wsl_plugin_parent_class)->dispose (object);
}

static void
berth_wsl_plugin_finalize (GObject *object)
{
  BerthWslPlugin *self = BERTH_WSL_PLUGIN (object);

  g_free (self->state_reason);
  g_free (self->distro_dir);
  g_free (self->data_dir);
  g_free (self->tarball);
  g_free (self->exe_path);
  g_free (self->bundled_version);
  g_free (self->installed_version);
  g_free (self->init_pid);
  g_clear_object (&self->start_cancellable);
  g_clear_pointer (&self->stop_waiters, g_ptr_array_unref);
  g_clear_pointer (&self->integrations, json_node_unref);
  g_strfreev (self->integration_warnings);
  G_OBJECT_CLASS (berth_wsl_plugin_parent_class)->finalize (object);
}

static void
berth_wsl_plugin_class_init (BerthWslPluginClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = berth_wsl_plugin_get_property;
  object_class->set_property = berth_wsl_plugin_set_property;
  object_class->dispose = berth_wsl_plugin_dispose;
  object_class->finalize = berth_wsl_plugin_finalize;

  g_object_class_override_property (object_class, PROP_STATE, "state");
  properties[PROP_STATE] = g_object_class_find_property (object_class, "state");
  g_object_class_override_property (object_class, PROP_STATE_REASON, "state-reason");
  properties[PROP_STATE_REASON] = g_object_class_find_property (object_class, "state-reason");
}

static void
berth_wsl_plugin_init (BerthWslPlugin *self)
{
  self->state = BERTH_STATE_STOPPED;
  self->stop_waiters = g_ptr_array_new_with_free_func (g_object_unref);
}

static void
berth_wsl_plugin_backend_init (BerthBackendInterface *iface)
{
  iface->validate = berth_wsl_plugin_validate;
  iface->is_native = berth_wsl_plugin_is_native;
  iface->start_async = berth_wsl_plugin_start_async;
  iface->start_finish = berth_wsl_plugin_boolean_finish;
  iface->stop_async = berth_wsl_plugin_stop_async;
  iface->stop_finish = berth_wsl_plugin_boolean_finish;
  iface->delete_async = berth_wsl_plugin_delete_async;
  iface->delete_finish = berth_wsl_plugin_boolean_finish;
  iface->exec_async = berth_wsl_plugin_exec_async;
  iface->exec_finish = berth_wsl_plugin_exec_finish;
  iface->write_file_async = berth_wsl_plugin_write_file_async;
  iface->write_file_finish = berth_wsl_plugin_boolean_finish;
  iface->copy_in_async = berth_wsl_plugin_copy_in_async;
  iface->copy_in_finish = berth_wsl_plugin_boolean_finish;
  iface->info = berth_wsl_plugin_info;
}

static void
berth_wsl_plugin_integration_init (BerthIntegrationInterface *iface)
{
  iface->list = berth_wsl_plugin_list;
  iface->dup_warnings = berth_wsl_plugin_dup_warnings;
  iface->apply_async = berth_wsl_plugin_apply_async;
  iface->apply_finish = berth_wsl_plugin_integration_finish;
  iface->remove_async = berth_wsl_plugin_remove_async;
  iface->remove_finish = berth_wsl_plugin_integration_finish;
}
