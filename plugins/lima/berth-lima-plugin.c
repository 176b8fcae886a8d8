/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Berth — the QEMU backend in Lima's instance layout. */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include <berth-backend.h>
#include <berth-error.h>
#include <berth-settings.h>
#include <berth-subprocess.h>

#include "berth-lima-cidata.h"
#include "berth-lima-config.h"
#include "berth-lima-image.h"
#include "berth-lima-instance.h"
#include "berth-lima-plugin.h"
#include "berth-lima-ports.h"
#include "berth-lima-qemu.h"
#include "berth-lima-qmp.h"
#include "berth-lima-ssh.h"
#include "berth-lima-trust.h"
#include "berth-lima-yaml.h"

#define LOG_COMPONENT "lima"
#define GIB ((guint64)1 << 30)
#define MIN_DISK_GIB 10
#define STOP_TIMEOUT_DEFAULT 30
/* After "quit", how long QEMU gets before SIGKILL. */
#define QUIT_GRACE_SECONDS 5
#define QMP_TIMEOUT_MS 5000
#define SSH_MASTER_TIMEOUT_SECONDS 60
#define SERIAL_POLL_MS 100
#define SERIAL_TAIL_LINES 15
#define READY_MARKER "berth-guest: ready"
#define HEALTH_INTERVAL_SECONDS 5

struct _BerthLimaPlugin
{
  BerthPlugin parent_instance;

  BerthState state;
  gchar *state_reason;
  gchar *instance_name;
  gchar *boot_mode;
  guint boot_timeout;
  guint stop_timeout;

  BerthLimaImageCache *images;
  gulong images_progress_id;

  /* What the last start chose; kept for info() after a stop. */
  BerthLimaInstance *instance;
  BerthLimaConfig *config;
  BerthLimaImage *image;
  gchar *qemu_path;
  BerthLimaAccel accel;
  gchar *accel_reason;
  BerthLimaBootMode boot_mode_actual;
  gboolean have_run_info;

  BerthLimaSsh *ssh;     /* while running */
  BerthLimaPorts *ports; /* while running: the guest's TCP ports on 127.0.0.1 */
  GSubprocess *qemu;     /* while running */
  gint qemu_pid;

  GTask *start_task; /* the start under way */
  GCancellable *start_cancellable;
  GCancellable *caller_cancellable; /* the start's caller's, forwarded */
  gulong caller_cancel_id;
  GPtrArray *stop_waiters; /* GTask*: stops that complete when QEMU is gone */
  gboolean stopping;
  guint stop_timer_id;
  guint stop_ticks;

  /* While running: QEMU's run state, asked over QMP every few seconds. */
  guint health_id;
  gboolean health_pending;
  gchar *qemu_status;
};

static void
berth_lima_plugin_backend_init (BerthBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (BerthLimaPlugin, berth_lima_plugin, BERTH_TYPE_PLUGIN,
                               G_IMPLEMENT_INTERFACE (BERTH_TYPE_BACKEND,
                                                      berth_lima_plugin_backend_init))

BERTH_PLUGIN_DEFINE (berth_lima_plugin)

enum
{
  PROP_0,
  PROP_STATE,
  PROP_STATE_REASON,
  PROP_INSTANCE_NAME,
  PROP_BOOT_MODE,
  PROP_BOOT_TIMEOUT,
  PROP_STOP_TIMEOUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- small helpers ------------------------------------------------------ */

static const BerthPaths *
plugin_paths (BerthLimaPlugin *self)
{
  return berth_plugin_get_paths (BERTH_PLUGIN (self));
}

static void
set_state (BerthLimaPlugin *self, BerthState state, const gchar *reason)
{
  gboolean state_changed = self->state != state;
  gboolean reason_changed = g_strcmp0 (self->state_reason, reason) != 0;

  self->state = state;
  if (reason_changed)
    {
      g_free (self->state_reason);
      self->state_reason = g_strdup (reason);
    }
  if (reason_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE_REASON]);
  if (state_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
emit_progress (BerthLimaPlugin *self, const gchar *description, guint64 current, guint64 max)
{
  g_signal_emit_by_name (self, "progress", description, current, max);
}

static gchar *
timestamp_now (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();

  return g_date_time_format_iso8601 (now);
}

static void
append_line (const gchar *path, const gchar *line)
{
  int fd;
  g_autofree gchar *text = NULL;

  if (path == NULL)
    return;
  /* QEMU, started with this file as its stderr, keeps writing to the
   * rotated one until the next start; that is little. */
  berth_log_rotate_if_large (path, NULL);
  fd = g_open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    return;
  text = g_strconcat (line, "\n", NULL);
  if (write (fd, text, strlen (text)) < 0)
    g_debug ("Could not append to %s: %s", path, g_strerror (errno));
  close (fd);
}

/* A human line in ha.stderr.log (logrus's text format, as Lima's host agent
 * writes it) and in lima.log. */
static void
ha_log (BerthLimaPlugin *self, const gchar *level, const gchar *format, ...) G_GNUC_PRINTF (3, 4);

static void
ha_log (BerthLimaPlugin *self, const gchar *level, const gchar *format, ...)
{
  va_list args;
  g_autofree gchar *message = NULL;
  g_autofree gchar *stamp = timestamp_now ();
  g_autoptr (GString) quoted = g_string_new (NULL);
  g_autofree gchar *line = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  for (const gchar *p = message; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (quoted, '\\');
      if (*p == '\n')
        g_string_append (quoted, "\\n");
      else
        g_string_append_c (quoted, *p);
    }
  line = g_strdup_printf ("time=\"%s\" level=%s msg=\"%s\"", stamp, level, quoted->str);
  if (self->instance != NULL && g_file_test (self->instance->dir, G_FILE_TEST_IS_DIR))
    append_line (self->instance->ha_stderr_log, line);
  berth_log_line (plugin_paths (self)->logs, LOG_COMPONENT, "[%s] %s", self->instance_name,
                  message);
}

static void
on_ports_log (const gchar *level, const gchar *message, gpointer user_data)
{
  ha_log (user_data, level, "%s", message);
}

static void
on_ports_changed (BerthLimaPorts *ports, gpointer user_data)
{
  g_signal_emit_by_name (user_data, "port-forwards-changed");
}

/* The SSH master is up: forward the guest's TCP ports as they open. */
static void
start_port_forwarding (BerthLimaPlugin *self)
{
  g_return_if_fail (self->ports == NULL && self->ssh != NULL);

  self->ports = berth_lima_ports_new (self->ssh, on_ports_log, self);
  g_signal_connect (self->ports, "changed", G_CALLBACK (on_ports_changed), self);
  berth_lima_ports_start (self->ports);
}

/* The VM stops or died: the forwards go with its SSH master. */
static void
stop_port_forwarding (BerthLimaPlugin *self)
{
  g_autoptr (BerthLimaPorts) ports = g_steal_pointer (&self->ports);

  if (ports == NULL)
    return;
  g_signal_handlers_disconnect_by_data (ports, self);
  if (berth_lima_ports_stop (ports))
    g_signal_emit_by_name (self, "port-forwards-changed");
}

/* A JSON line in ha.stdout.log, shaped like Lima's host agent events. */
static void
ha_event (BerthLimaPlugin *self, gboolean running, gboolean degraded, gboolean exiting,
          const gchar *error_text)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree gchar *stamp = timestamp_now ();
  g_autofree gchar *text = NULL;

  if (self->instance == NULL || !g_file_test (self->instance->dir, G_FILE_TEST_IS_DIR))
    return;
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "time");
  json_builder_add_string_value (b, stamp);
  json_builder_set_member_name (b, "status");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "running");
  json_builder_add_boolean_value (b, running);
  json_builder_set_member_name (b, "degraded");
  json_builder_add_boolean_value (b, degraded);
  json_builder_set_member_name (b, "exiting");
  json_builder_add_boolean_value (b, exiting);
  if (error_text != NULL)
    {
      json_builder_set_member_name (b, "errors");
      json_builder_begin_array (b);
      json_builder_add_string_value (b, error_text);
      json_builder_end_array (b);
    }
  if (self->config != NULL && self->config->ssh_local_port != 0)
    {
      json_builder_set_member_name (b, "sshLocalPort");
      json_builder_add_int_value (b, self->config->ssh_local_port);
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  text = json_to_string (root, FALSE);
  append_line (self->instance->ha_stdout_log, text);
}

/* The last @max_lines lines of @path, each indented, or NULL. */
static gchar *
file_tail (const gchar *path, guint max_lines)
{
  g_autofree gchar *text = NULL;
  gsize length = 0;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GString) out = g_string_new (NULL);
  guint n, first;
  g_autofree gchar *valid = NULL;

  if (path == NULL || !g_file_get_contents (path, &text, &length, NULL) || length == 0)
    return NULL;
  /* The end is what matters, and a serial log can be long. */
  if (length > 64 * 1024)
    valid = g_utf8_make_valid (text + length - 64 * 1024, 64 * 1024);
  else
    valid = g_utf8_make_valid (text, (gssize)length);
  g_strdelimit (valid, "\r", '\n');
  lines = g_strsplit (valid, "\n", -1);
  n = g_strv_length (lines);
  while (n > 0 && g_strstrip (lines[n - 1])[0] == '\0')
    n--;
  first = n > max_lines ? n - max_lines : 0;
  for (guint i = first; i < n; i++)
    {
      if (lines[i][0] == '\0')
        continue;
      g_string_append_printf (out, "\n  %s", lines[i]);
    }
  if (out->len == 0)
    return NULL;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static gchar *
serial_tail_text (BerthLimaInstance *instance)
{
  g_autofree gchar *tail
      = instance != NULL ? file_tail (instance->serial_log, SERIAL_TAIL_LINES) : NULL;

  if (tail == NULL)
    return g_strdup_printf ("serial.log (%s) is empty.",
                            instance != NULL ? instance->serial_log : "?");
  return g_strdup_printf ("The last lines of serial.log (%s):%s", instance->serial_log, tail);
}

static gchar *
find_program_near (const gchar *qemu, const gchar *name)
{
  if (qemu != NULL)
    {
      g_autofree gchar *dir = g_path_get_dirname (qemu);
      g_autofree gchar *candidate = g_build_filename (dir, name, NULL);

      if (g_file_test (candidate, G_FILE_TEST_IS_EXECUTABLE))
        return g_steal_pointer (&candidate);
    }
  return g_find_program_in_path (name);
}

/* ---- settings and host checks --------------------------------------------- */

static BerthSettings *
plugin_settings (BerthLimaPlugin *self, GError **error)
{
  BerthSettings *settings = berth_plugin_get_settings (BERTH_PLUGIN (self));

  if (settings == NULL)
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_PLUGIN,
                 "The lima plugin was loaded without settings, so it cannot configure a VM");
  return settings;
}

/* Memory and CPUs within the host's, a disk Berth can use. The settings
 * check these against the host they were made on; the VM runs on this one. */
static gboolean
check_config_against_host (const BerthLimaConfig *config, GError **error)
{
  BerthHostInfo host = { 0 };
  guint64 host_gib;

  berth_host_info_detect (&host);
  host_gib = host.total_memory_bytes / GIB;
  if (host.total_memory_bytes > 0 && config->memory_bytes > host.total_memory_bytes)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "virtualMachine.memoryInGB: %" G_GUINT64_FORMAT
                   " GiB is more than the %" G_GUINT64_FORMAT
                   " GiB of memory this host has; set it to at most %" G_GUINT64_FORMAT,
                   config->memory_bytes / GIB, host_gib, MAX (host_gib, 1));
      return FALSE;
    }
  if (host.n_cpus > 0 && config->cpus > host.n_cpus)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "virtualMachine.numberCPUs: %u is more than the %u CPU%s this host has; set "
                   "it to at most %u",
                   config->cpus, host.n_cpus, host.n_cpus == 1 ? "" : "s", host.n_cpus);
      return FALSE;
    }
  if (config->cpus == 0)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "virtualMachine.numberCPUs: 0 is not allowed; use 1 to %u",
                   MAX (host.n_cpus, 1));
      return FALSE;
    }
  if (config->disk_bytes < (guint64)MIN_DISK_GIB * GIB)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "virtualMachine.diskSizeGiB: %" G_GUINT64_FORMAT " GiB is too small for the "
                   "VM; use at least %d",
                   config->disk_bytes / GIB, MIN_DISK_GIB);
      return FALSE;
    }
  return TRUE;
}

/* The tools every start needs besides QEMU. */
static gboolean
check_tools (const gchar *qemu, GError **error)
{
  static const struct
  {
    const gchar *program;
    const gchar *package;
  } tools[] = {
    { "qemu-img", "qemu-utils" },
    { "ssh", "openssh-client" },
    { "ssh-keygen", "openssh-client" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (tools); i++)
    {
      g_autofree gchar *found = find_program_near (qemu, tools[i].program);

      if (found == NULL)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                       "%s is not installed (not in PATH); the VM needs it. Install it with "
                       "`sudo apt-get install %s` (Debian, Ubuntu)",
                       tools[i].program, tools[i].package);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
resolve_boot_request (BerthLimaPlugin *self, BerthLimaBootMode *mode_out, GError **error)
{
  const gchar *env = g_getenv ("BERTH_BOOT_MODE");

  if (self->boot_mode != NULL && !g_str_equal (self->boot_mode, "auto"))
    return berth_lima_boot_mode_parse (self->boot_mode, "boot-mode", mode_out, error);
  return berth_lima_boot_mode_parse (env, "BERTH_BOOT_MODE", mode_out, error);
}

/* ---- validate ------------------------------------------------------------ */

static gboolean
berth_lima_plugin_validate (BerthBackend *backend, GError **error)
{
  BerthLimaPlugin *self = BERTH_LIMA_PLUGIN (backend);
  BerthSettings *settings = berth_plugin_get_settings (BERTH_PLUGIN (self));
  g_autoptr (BerthLimaConfig) config = NULL;
  g_autofree gchar *qemu = NULL;
  const gchar *url = NULL;

  if (plugin_paths (self)->lima == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                   "The lima backend does not run on %s",
                   berth_platform_to_string (plugin_paths (self)->platform));
      return FALSE;
    }
  config = berth_lima_config_new (self->instance_name);
  qemu = berth_lima_qemu_find (config->arch, error);
  if (qemu == NULL)
    return FALSE;
  if (!check_tools (qemu, error))
    return FALSE;
  if (settings != NULL)
    url = berth_settings_get_string (settings, "virtualMachine.image.url");
  if ((url == NULL || url[0] == '\0') && !g_str_equal (config->arch, "x86_64"))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                   "Berth's guest image recipe builds x86_64 guests only, and this host is %s; "
                   "set virtualMachine.image.url (and .sha256) to an %s image",
                   config->arch, config->arch);
      return FALSE;
    }
  if (url == NULL || url[0] == '\0')
    {
      g_autofree gchar *recipe = berth_lima_image_find_recipe_dir (error);

      if (recipe == NULL)
        return FALSE;
    }
  return TRUE;
}

/* ---- start ---------------------------------------------------------------- */

typedef struct
{
  BerthLimaInstance *instance;
  BerthLimaConfig *config;
  BerthLimaImage *image;
  gchar *qemu;
  gchar *lima_root;
  gchar *cache_dir;
  gchar *logs_dir;
  BerthLimaBootMode boot_request;
  guint boot_timeout;
  const gchar *boot_timeout_source;

  /* From the prepare thread. */
  gchar *identity;
  BerthLimaAccel accel;
  gchar *accel_reason;
  BerthLimaBootMode boot_mode;
  GStrv argv;
  GPtrArray *notes; /* gchar*: what the thread wants logged */

  /* Waiting for the guest. */
  gint64 spawned_at;
  gint64 deadline;
  guint poll_id;
  goffset serial_offset;
  GString *serial_pending; /* a partial last line */
} StartData;

static void
start_data_free (StartData *data)
{
  g_clear_pointer (&data->instance, berth_lima_instance_free);
  g_clear_pointer (&data->config, berth_lima_config_free);
  g_clear_pointer (&data->image, berth_lima_image_free);
  g_free (data->qemu);
  g_free (data->lima_root);
  g_free (data->cache_dir);
  g_free (data->logs_dir);
  g_free (data->identity);
  g_free (data->accel_reason);
  g_strfreev (data->argv);
  g_clear_pointer (&data->notes, g_ptr_array_unref);
  g_clear_handle_id (&data->poll_id, g_source_remove);
  if (data->serial_pending != NULL)
    g_string_free (data->serial_pending, TRUE);
  g_free (data);
}

static void
begin_stop (BerthLimaPlugin *self);
static void
complete_stop_waiters (BerthLimaPlugin *self, GError *error);
static void
start_ssh_step (BerthLimaPlugin *self);
static gboolean
health_tick (gpointer user_data);

/* Ends the start under way. On failure QEMU is killed and the state is
 * ERROR (STOPPED when the start was cancelled). */
static void
finish_start (BerthLimaPlugin *self, GError *error)
{
  g_autoptr (GTask) task = g_steal_pointer (&self->start_task);
  g_autoptr (GError) owned = error;
  StartData *data;

  if (task == NULL)
    return;
  data = g_task_get_task_data (task);
  g_clear_handle_id (&data->poll_id, g_source_remove);
  if (self->caller_cancellable != NULL)
    g_cancellable_disconnect (self->caller_cancellable, self->caller_cancel_id);
  self->caller_cancel_id = 0;
  g_clear_object (&self->caller_cancellable);
  g_clear_object (&self->start_cancellable);

  if (owned == NULL)
    {
      set_state (self, BERTH_STATE_STARTED, NULL);
      ha_event (self, TRUE, FALSE, FALSE, NULL);
      g_clear_handle_id (&self->health_id, g_source_remove);
      self->health_id = g_timeout_add_seconds (HEALTH_INTERVAL_SECONDS, health_tick, self);
      health_tick (self);
      ha_log (self, "info", "READY. Run `ssh -F %s lima-%s` to open a shell.",
              self->instance->ssh_config, self->instance_name);
      start_port_forwarding (self);
      g_task_return_boolean (task, TRUE);
      /* A stop that came while starting. */
      if (self->stop_waiters->len > 0)
        begin_stop (self);
      return;
    }

  if (self->qemu != NULL)
    {
      g_subprocess_force_exit (self->qemu);
      g_clear_object (&self->qemu);
    }
  if (self->instance != NULL)
    {
      g_unlink (self->instance->qemu_pid);
      g_unlink (self->instance->ha_pid);
    }
  if (self->ssh != NULL)
    {
      /* The master, if it came up, is bound to a QEMU that is gone. */
      g_unlink (self->ssh->control_path);
      g_clear_pointer (&self->ssh, berth_lima_ssh_free);
    }
  self->qemu_pid = 0;

  if (g_error_matches (owned, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      || g_error_matches (owned, BERTH_ERROR, BERTH_ERROR_CANCELLED))
    {
      ha_log (self, "info", "The start was cancelled");
      ha_event (self, FALSE, FALSE, TRUE, NULL);
      set_state (self, BERTH_STATE_STOPPED, NULL);
    }
  else
    {
      berth_error_convert (&owned);
      ha_log (self, "error", "The start failed: %s", owned->message);
      ha_event (self, FALSE, FALSE, TRUE, owned->message);
      /* A stop was asked for meanwhile: the VM is stopped, as asked. */
      if (self->stop_waiters->len > 0)
        set_state (self, BERTH_STATE_STOPPED, NULL);
      else
        set_state (self, BERTH_STATE_ERROR, owned->message);
    }
  g_task_return_error (task, g_steal_pointer (&owned));
  complete_stop_waiters (self, NULL);
}

/* -- the guest's serial console -- */

static gboolean
poll_serial (gpointer user_data)
{
  BerthLimaPlugin *self = user_data;
  StartData *data;
  g_autofree gchar *chunk = NULL;
  gssize n = 0;
  int fd;

  if (self->start_task == NULL)
    return G_SOURCE_REMOVE;
  data = g_task_get_task_data (self->start_task);

  if (g_cancellable_is_cancelled (self->start_cancellable))
    {
      data->poll_id = 0;
      finish_start (self, g_error_new_literal (BERTH_ERROR, BERTH_ERROR_CANCELLED,
                                               "The start was cancelled"));
      return G_SOURCE_REMOVE;
    }

  fd = g_open (data->instance->serial_log, O_RDONLY | O_CLOEXEC, 0);
  if (fd >= 0)
    {
      chunk = g_malloc (64 * 1024 + 1);
      n = pread (fd, chunk, 64 * 1024, data->serial_offset);
      close (fd);
    }
  if (n > 0)
    {
      gchar *line_start;
      gchar *newline;

      data->serial_offset += n;
      g_string_append_len (data->serial_pending, chunk, n);
      line_start = data->serial_pending->str;
      while ((newline = strchr (line_start, '\n')) != NULL)
        {
          *newline = '\0';
          g_strchomp (line_start);
          if (strstr (line_start, READY_MARKER) != NULL)
            {
              data->poll_id = 0;
              g_string_truncate (data->serial_pending, 0);
              start_ssh_step (self);
              return G_SOURCE_REMOVE;
            }
          if (strstr (line_start, "berth-initrd: error:") != NULL
              || strstr (line_start, "Kernel panic") != NULL)
            {
              g_autofree gchar *tail = serial_tail_text (data->instance);

              data->poll_id = 0;
              finish_start (self,
                            g_error_new (BERTH_ERROR, BERTH_ERROR_BACKEND,
                                         "The guest failed to boot: %s; %s", line_start, tail));
              return G_SOURCE_REMOVE;
            }
          line_start = newline + 1;
        }
      g_string_erase (data->serial_pending, 0, line_start - data->serial_pending->str);
      /* A console that never ends a line is not kept without bound. */
      if (data->serial_pending->len > 64 * 1024)
        g_string_truncate (data->serial_pending, 0);
    }

  if (g_get_monotonic_time () > data->deadline)
    {
      g_autofree gchar *tail = serial_tail_text (data->instance);

      data->poll_id = 0;
      finish_start (
          self, g_error_new (BERTH_ERROR, BERTH_ERROR_TIMED_OUT,
                             "The guest did not report \"%s\" within %u s (the boot timeout, "
                             "from %s; set BERTH_BOOT_TIMEOUT to wait longer); %s",
                             READY_MARKER, data->boot_timeout, data->boot_timeout_source, tail));
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

/* -- the prepare thread: disks, files, accelerator -- */

typedef struct
{
  BerthLimaPlugin *self;
  gchar *description;
} ThreadProgress;

static gboolean
thread_progress_emit (gpointer user_data)
{
  ThreadProgress *p = user_data;

  if (p->self->start_task != NULL)
    emit_progress (p->self, p->description, 0, 0);
  return G_SOURCE_REMOVE;
}

static void
thread_progress_free (ThreadProgress *p)
{
  g_object_unref (p->self);
  g_free (p->description);
  g_free (p);
}

static void
thread_progress (GTask *task, const gchar *description)
{
  ThreadProgress *p = g_new0 (ThreadProgress, 1);

  p->self = g_object_ref (g_task_get_source_object (task));
  p->description = g_strdup (description);
  g_main_context_invoke_full (g_task_get_context (task), G_PRIORITY_DEFAULT, thread_progress_emit,
                              p, (GDestroyNotify)thread_progress_free);
}

/* @dest as a hard link to @src (instant, and it outlives the image cache),
 * else a copy; atomically. */
static gboolean
link_or_copy (const gchar *src, const gchar *dest, GCancellable *cancellable, GError **error)
{
  g_autofree gchar *tmp = g_strdup_printf ("%s.berth-new", dest);

  g_unlink (tmp);
  if (link (src, tmp) != 0)
    {
      g_autoptr (GFile) from = g_file_new_for_path (src);
      g_autoptr (GFile) to = g_file_new_for_path (tmp);

      if (!g_file_copy (from, to, G_FILE_COPY_OVERWRITE, cancellable, NULL, NULL, error))
        {
          g_unlink (tmp);
          berth_error_convert (error);
          g_prefix_error (error, "Cannot copy %s to %s: ", src, dest);
          return FALSE;
        }
    }
  if (g_rename (tmp, dest) != 0)
    {
      int saved = errno;

      g_unlink (tmp);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Cannot rename %s to %s: %s", tmp, dest,
                   g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

static gboolean
run_tool (const gchar *const *argv, const gchar *logs_dir, GCancellable *cancellable,
          GError **error)
{
  g_autofree gchar *out
      = berth_subprocess_check_output (argv, logs_dir, LOG_COMPONENT, cancellable, error);

  if (out == NULL)
    {
      berth_error_convert (error);
      return FALSE;
    }
  return TRUE;
}

/* The virtual size of a disk image, with qemu-img info. */
static gboolean
disk_virtual_size (const gchar *qemu_img, const gchar *path, const gchar *logs_dir,
                   GCancellable *cancellable, guint64 *size_out, GError **error)
{
  const gchar *argv[] = { qemu_img, "info", "-U", "--output=json", path, NULL };
  g_autofree gchar *out = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonNode *size;

  out = berth_subprocess_check_output (argv, logs_dir, LOG_COMPONENT, cancellable, error);
  if (out == NULL)
    {
      berth_error_convert (error);
      return FALSE;
    }
  if (!json_parser_load_from_data (parser, out, -1, NULL)
      || (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root)
      || (size = json_object_get_member (json_node_get_object (root), "virtual-size")) == NULL
      || !JSON_NODE_HOLDS_VALUE (size) || json_node_get_int (size) <= 0)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "qemu-img info gave no virtual size for %s", path);
      return FALSE;
    }
  *size_out = (guint64)json_node_get_int (size);
  return TRUE;
}

/* basedisk, diffdisk, kernel and initrd. The diffdisk is the VM's disk: it
 * is made once and never replaced; its base and the kernel (whose modules
 * live on that disk) stay with it. */
static gboolean
prepare_disks (GTask *task, StartData *data, GCancellable *cancellable, GError **error)
{
  BerthLimaInstance *inst = data->instance;
  BerthLimaImage *image = data->image;
  g_autofree gchar *qemu_img = find_program_near (data->qemu, "qemu-img");
  g_autofree gchar *size = g_strdup_printf ("%" G_GUINT64_FORMAT, data->config->disk_bytes);

  if (qemu_img == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                   "qemu-img is not installed (not in PATH); install it with `sudo apt-get "
                   "install qemu-utils`");
      return FALSE;
    }

  if (!g_file_test (inst->diffdisk, G_FILE_TEST_EXISTS))
    {
      g_autofree gchar *tmp = g_strdup_printf ("%s.berth-new", inst->diffdisk);
      const gchar *argv[] = { qemu_img,           "create", "-q",           "-f", "qcow2", "-F",
                              image->disk_format, "-b",     inst->basedisk, tmp,  size,    NULL };

      thread_progress (task, "Creating the VM's disk");
      if (!link_or_copy (image->disk, inst->basedisk, cancellable, error))
        return FALSE;
      for (guint i = 0; i < 2; i++)
        {
          const gchar *src = i == 0 ? image->kernel : image->initrd;
          const gchar *dest = i == 0 ? inst->kernel : inst->initrd;

          if (src != NULL)
            {
              if (!link_or_copy (src, dest, cancellable, error))
                return FALSE;
            }
          else
            g_unlink (dest);
        }
      g_unlink (tmp);
      if (!run_tool (argv, data->logs_dir, cancellable, error))
        {
          g_unlink (tmp);
          return FALSE;
        }
      if (g_rename (tmp, inst->diffdisk) != 0)
        {
          int saved = errno;

          g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Cannot rename %s to %s: %s", tmp,
                       inst->diffdisk, g_strerror (saved));
          return FALSE;
        }
      g_ptr_array_add (data->notes,
                       g_strdup_printf ("Created diffdisk (%" G_GUINT64_FORMAT
                                        " GiB, qcow2 over basedisk from %s)",
                                        data->config->disk_bytes / GIB, image->source));
      return TRUE;
    }

  /* The disk exists: it is the VM's data. */
  if (!g_file_test (inst->basedisk, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                   "The VM's disk %s is there but its base %s is missing, so it cannot be "
                   "used; restore basedisk, or delete the VM (a factory reset) to start over",
                   inst->diffdisk, inst->basedisk);
      return FALSE;
    }
  for (guint i = 0; i < 2; i++)
    {
      const gchar *src = i == 0 ? image->kernel : image->initrd;
      const gchar *dest = i == 0 ? inst->kernel : inst->initrd;

      if (src != NULL && !g_file_test (dest, G_FILE_TEST_EXISTS))
        {
          if (!link_or_copy (src, dest, cancellable, error))
            return FALSE;
          g_ptr_array_add (data->notes,
                           g_strdup_printf ("%s was missing; took the image's (its kernel "
                                            "modules may differ from those on the disk)",
                                            dest));
        }
    }
  {
    guint64 current = 0;

    if (!disk_virtual_size (qemu_img, inst->diffdisk, data->logs_dir, cancellable, &current, error))
      return FALSE;
    if (data->config->disk_bytes < current)
      {
        g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                     "virtualMachine.diskSizeGiB: %" G_GUINT64_FORMAT " GiB is smaller than the "
                     "VM's disk, which is already %" G_GUINT64_FORMAT " GiB (%s); a disk cannot "
                     "shrink: set at least %" G_GUINT64_FORMAT ", or delete the VM to start "
                     "over with a smaller disk",
                     data->config->disk_bytes / GIB, current / GIB, inst->diffdisk,
                     (current + GIB - 1) / GIB);
        return FALSE;
      }
    if (data->config->disk_bytes > current)
      {
        const gchar *argv[] = { qemu_img, "resize", "-q", inst->diffdisk, size, NULL };

        thread_progress (task, "Growing the VM's disk");
        if (!run_tool (argv, data->logs_dir, cancellable, error))
          return FALSE;
        g_ptr_array_add (data->notes,
                         g_strdup_printf ("Grew diffdisk from %" G_GUINT64_FORMAT
                                          " to %" G_GUINT64_FORMAT " GiB",
                                          current / GIB, data->config->disk_bytes / GIB));
      }
  }
  return TRUE;
}

/* A QEMU left running on this instance's disk (by a berthd that died
 * without its child) is ended before a new one starts. */
static void
stop_stale_qemu (StartData *data)
{
  g_autofree gchar *text = NULL;
  gint64 pid;

  if (!g_file_get_contents (data->instance->qemu_pid, &text, NULL, NULL))
    return;
  pid = g_ascii_strtoll (g_strstrip (text), NULL, 10);
  if (pid <= 1 || pid > G_MAXINT || !berth_process_is_running ((gint)pid))
    {
      g_unlink (data->instance->qemu_pid);
      return;
    }
  if (!berth_process_has_argument ((gint)pid, data->instance->diffdisk))
    {
      /* The pid was reused by something else. */
      g_unlink (data->instance->qemu_pid);
      return;
    }
  kill ((pid_t)pid, SIGTERM);
  for (guint i = 0; i < 50 && berth_process_is_running ((gint)pid); i++)
    g_usleep (100 * 1000);
  if (berth_process_is_running ((gint)pid))
    kill ((pid_t)pid, SIGKILL);
  for (guint i = 0; i < 50 && berth_process_is_running ((gint)pid); i++)
    g_usleep (100 * 1000);
  g_unlink (data->instance->qemu_pid);
  g_ptr_array_add (data->notes,
                   g_strdup_printf ("Ended QEMU (pid %" G_GINT64_FORMAT ") left running on "
                                    "this instance by an earlier berthd",
                                    pid));
}

static gchar *
load_boot_sh (void)
{
  g_autofree gchar *recipe = berth_lima_image_find_recipe_dir (NULL);
  g_autofree gchar *path = NULL;
  gchar *contents = NULL;

  if (recipe != NULL)
    {
      path = g_build_filename (recipe, "boot.sh", NULL);
      if (g_file_get_contents (path, &contents, NULL, NULL))
        return contents;
    }
  /* Berth's guest does its own setup from lima.env; boot.sh is there for
   * the layout Lima's guests expect, and runs before provision.system/. */
  return g_strdup ("#!/bin/sh\n"
                   "# Written by Berth: run as root by the guest's init before the\n"
                   "# provision.system scripts, with lima.env in the environment.\n"
                   "set -eu\n"
                   "mkdir -p /run/berth-guest\n"
                   "echo \"${LIMA_CIDATA_NAME:-}\" >/run/berth-guest/instance\n");
}

static gboolean
prepare (GTask *task, StartData *data, GCancellable *cancellable, GError **error)
{
  g_autofree gchar *public_key = NULL;
  g_autofree gchar *boot_sh = NULL;
  g_autofree gchar *accel_cache = NULL;
  g_autoptr (GPtrArray) shares = g_ptr_array_new ();
  g_autoptr (GArray) writable = g_array_new (FALSE, FALSE, sizeof (gboolean));
  g_autoptr (BerthLimaSsh) ssh = NULL;
  guint16 port;
  BerthLimaQemuSpec spec = { 0 };

  /* First: a CA file that cannot be used stops the start before the VM
   * changes. */
  thread_progress (task, "Collecting CA certificates and the proxy environment");
  {
    g_auto (GStrv) envp = g_get_environ ();
    guint n_certificates = 0;

    if (!berth_lima_trust_prepare (data->config, (const gchar *const *)envp, &n_certificates,
                                   error))
      return FALSE;
    g_ptr_array_add (data->notes,
                     g_strdup_printf ("The guest gets %u CA certificates and %s", n_certificates,
                                      data->config->proxy_env[0] != NULL
                                          ? "this host's proxy environment"
                                          : "no proxy environment"));
  }

  thread_progress (task, "Preparing the VM's instance directory");
  if (!berth_lima_instance_ensure_dir (data->instance, error))
    return FALSE;
  stop_stale_qemu (data);
  {
    /* Lima's host agent is berthd here. */
    g_autofree gchar *pid = g_strdup_printf ("%d\n", (int)getpid ());

    if (!g_file_set_contents (data->instance->ha_pid, pid, -1, error))
      {
        berth_error_convert (error);
        return FALSE;
      }
  }
  if (!berth_lima_ensure_identity (data->lima_root, &data->identity, &public_key, error))
    return FALSE;
  g_free (data->config->ssh_public_key);
  data->config->ssh_public_key = g_steal_pointer (&public_key);

  if (!prepare_disks (task, data, cancellable, error))
    return FALSE;
  if (!berth_lima_boot_mode_resolve (data->boot_request, data->instance->kernel,
                                     data->instance->initrd, data->instance->basedisk,
                                     data->image->disk_bootable, &data->boot_mode, error))
    return FALSE;

  port = berth_lima_find_free_port (error);
  if (port == 0)
    return FALSE;
  data->config->ssh_local_port = port;
  g_free (data->config->boot_mode);
  data->config->boot_mode = g_strdup (berth_lima_boot_mode_to_string (data->boot_mode));
  data->config->boot_timeout_seconds = data->boot_timeout;

  thread_progress (task, "Writing lima.yaml and cidata.iso");
  if (!berth_lima_yaml_write (data->instance->lima_yaml, data->config, error))
    return FALSE;
  boot_sh = load_boot_sh ();
  if (!berth_lima_cidata_write (data->instance->cidata_iso, data->config, boot_sh, error))
    return FALSE;
  ssh = berth_lima_ssh_new (data->identity, data->instance->ssh_sock, data->config->user, port,
                            data->logs_dir);
  {
    g_autofree gchar *alias = g_strdup_printf ("lima-%s", data->config->name);

    if (!berth_lima_ssh_write_config (ssh, data->instance->ssh_config, alias, error))
      return FALSE;
  }

  thread_progress (task, "Checking virtualization (KVM or TCG)");
  accel_cache = g_build_filename (data->cache_dir, "accel-probe.json", NULL);
  if (!berth_lima_accel_choose (data->config->accel, data->qemu, data->config->arch,
                                data->instance->kernel, accel_cache, cancellable, &data->accel,
                                &data->accel_reason, error))
    return FALSE;

  for (guint i = 0; i < data->config->mounts->len; i++)
    {
      BerthLimaMount *mount = g_ptr_array_index (data->config->mounts, i);

      if (g_strcmp0 (mount->type, "9p") != 0)
        {
          g_ptr_array_add (data->notes,
                           g_strdup_printf ("The mount of %s is of type %s, which this backend "
                                            "does not serve; only 9p mounts are shared",
                                            mount->location, mount->type));
          continue;
        }
      g_ptr_array_add (shares, mount->location);
      g_array_append_val (writable, mount->writable);
    }
  g_ptr_array_add (shares, NULL);

  g_unlink (data->instance->qmp_sock);
  spec.qemu = data->qemu;
  spec.arch = data->config->arch;
  spec.accel = data->accel;
  spec.cpus = data->config->cpus;
  spec.memory_bytes = data->config->memory_bytes;
  spec.boot_mode = data->boot_mode;
  spec.kernel = data->instance->kernel;
  spec.initrd = data->instance->initrd;
  spec.append = data->image->kernel_cmdline;
  spec.diffdisk = data->instance->diffdisk;
  spec.cidata_iso = data->instance->cidata_iso;
  spec.ssh_port = port;
  spec.qmp_sock = data->instance->qmp_sock;
  spec.serial_log = data->instance->serial_log;
  spec.share_paths = (const gchar *const *)shares->pdata;
  spec.share_writable = (const gboolean *)(gpointer)writable->data;
  data->argv = berth_lima_qemu_build_argv (&spec);
  return TRUE;
}

static void
prepare_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  g_autoptr (GError) error = NULL;
  StartData *data = g_task_get_task_data (G_TASK (task_data));

  if (prepare (task, data, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

/* -- QEMU -- */

static void
qemu_child_setup (gpointer user_data)
{
  /* Its own session (a Ctrl-C to berthd is berthd's to handle), and gone
   * with berthd rather than left holding the disk. */
  setsid ();
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static gchar *
describe_exit (GSubprocess *process)
{
  if (g_subprocess_get_if_signaled (process))
    {
      gint sig = g_subprocess_get_term_sig (process);

      return g_strdup_printf ("was killed by signal %d (SIG%s)", sig,
                              sig == SIGKILL   ? "KILL"
                              : sig == SIGTERM ? "TERM"
                              : sig == SIGSEGV ? "SEGV"
                              : sig == SIGABRT ? "ABRT"
                              : sig == SIGINT  ? "INT"
                                               : "…");
    }
  return g_strdup_printf ("exited with status %d", g_subprocess_get_exit_status (process));
}

/* QEMU's own complaints, which land in ha.stderr.log between Berth's lines. */
static gchar *
qemu_stderr_tail (BerthLimaInstance *instance)
{
  g_autofree gchar *text = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GString) out = g_string_new (NULL);
  guint n, count = 0;

  if (instance == NULL || !g_file_get_contents (instance->ha_stderr_log, &text, NULL, NULL))
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  n = g_strv_length (lines);
  for (guint i = n; i > 0 && count < 5; i--)
    {
      const gchar *line = lines[i - 1];

      if (line[0] == '\0')
        continue;
      if (g_str_has_prefix (line, "time="))
        break;
      g_string_prepend (out, line);
      g_string_prepend (out, "\n  ");
      count++;
    }
  if (out->len == 0)
    return NULL;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
stop_after_exit (BerthLimaPlugin *self);

static void
ssh_stop_master_thread (GTask *task, gpointer source_object, gpointer task_data,
                        GCancellable *cancellable)
{
  berth_lima_ssh_stop_master (task_data);
  g_task_return_boolean (task, TRUE);
}

static void
on_qemu_exited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (BerthLimaPlugin) self = user_data;
  GSubprocess *process = G_SUBPROCESS (source);
  g_autofree gchar *how = NULL;
  gint pid = self->qemu_pid;

  g_subprocess_wait_finish (process, result, NULL);
  if (process != self->qemu)
    return;
  how = describe_exit (process);
  g_clear_object (&self->qemu);
  self->qemu_pid = 0;
  if (self->instance != NULL)
    {
      g_unlink (self->instance->qemu_pid);
      ha_log (self, self->stopping ? "info" : "error", "QEMU (pid %d) %s", pid, how);
    }

  if (self->stopping)
    {
      stop_after_exit (self);
      return;
    }
  if (self->start_task != NULL)
    {
      g_autofree gchar *tail = serial_tail_text (self->instance);
      g_autofree gchar *qemu_said = qemu_stderr_tail (self->instance);

      finish_start (self, g_error_new (BERTH_ERROR, BERTH_ERROR_BACKEND,
                                       "QEMU (pid %d) %s while the VM was booting%s%s; %s", pid,
                                       how, qemu_said != NULL ? "; QEMU said:" : "",
                                       qemu_said != NULL ? qemu_said : "", tail));
      return;
    }
  if (self->state == BERTH_STATE_STARTED || self->state == BERTH_STATE_ERROR)
    {
      gboolean powered_off = g_subprocess_get_if_exited (process)
                             && g_subprocess_get_exit_status (process) == 0
                             && self->state == BERTH_STATE_STARTED;
      g_autofree gchar *tail = serial_tail_text (self->instance);
      g_autofree gchar *reason = NULL;
      g_autoptr (GTask) task = NULL;

      g_clear_handle_id (&self->health_id, g_source_remove);
      stop_port_forwarding (self);
      if (self->ssh != NULL)
        {
          task = g_task_new (NULL, NULL, NULL, NULL);
          g_task_set_task_data (task, g_steal_pointer (&self->ssh),
                                (GDestroyNotify)berth_lima_ssh_free);
          g_task_run_in_thread (task, ssh_stop_master_thread);
        }
      if (self->instance != NULL)
        g_unlink (self->instance->ha_pid);
      /* `poweroff` in the guest: QEMU ends cleanly, and so does the VM. */
      if (powered_off)
        {
          ha_log (self, "info", "The guest powered itself off");
          ha_event (self, FALSE, FALSE, TRUE, NULL);
          set_state (self, BERTH_STATE_STOPPED, NULL);
          return;
        }
      reason = g_strdup_printf ("QEMU (pid %d) %s: the VM is no longer running. Start it again; "
                                "its disk is kept. %s",
                                pid, how, tail);
      ha_event (self, FALSE, FALSE, TRUE, reason);
      set_state (self, BERTH_STATE_ERROR, reason);
    }
}

static void
health_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (BerthLimaPlugin) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = berth_lima_qmp_call_finish (result, &error);
  const gchar *status = NULL;

  self->health_pending = FALSE;
  if (self->state != BERTH_STATE_STARTED || self->qemu == NULL)
    return;
  if (reply == NULL)
    {
      /* QEMU's exit, if that is what this is, is reported by its watch. */
      g_debug ("QMP query-status failed: %s", error->message);
      return;
    }
  if (JSON_NODE_HOLDS_OBJECT (reply))
    status
        = json_object_get_string_member_with_default (json_node_get_object (reply), "status", NULL);
  if (status == NULL)
    return;
  if (g_strcmp0 (self->qemu_status, status) != 0)
    {
      g_free (self->qemu_status);
      self->qemu_status = g_strdup (status);
      ha_log (self, "info", "QEMU run state: %s", status);
    }
  /* States in which the guest runs no more while QEMU lives on. */
  if (g_str_equal (status, "io-error") || g_str_equal (status, "guest-panicked")
      || g_str_equal (status, "internal-error") || g_str_equal (status, "shutdown"))
    {
      g_autofree gchar *tail = serial_tail_text (self->instance);
      g_autofree gchar *reason = g_strdup_printf (
          "QEMU (pid %d) reports the VM as \"%s\"%s; stop and start it again. %s", self->qemu_pid,
          status,
          g_str_equal (status, "io-error")
              ? " (a disk write failed: is the disk holding the instance directory full?)"
              : "",
          tail);

      ha_log (self, "error", "%s", reason);
      ha_event (self, FALSE, TRUE, FALSE, reason);
      set_state (self, BERTH_STATE_ERROR, reason);
    }
}

static gboolean
health_tick (gpointer user_data)
{
  BerthLimaPlugin *self = user_data;

  if (self->state != BERTH_STATE_STARTED || self->qemu == NULL)
    {
      self->health_id = 0;
      return G_SOURCE_REMOVE;
    }
  if (!self->health_pending)
    {
      self->health_pending = TRUE;
      berth_lima_qmp_call_async (self->instance->qmp_sock, "query-status", QMP_TIMEOUT_MS, NULL,
                                 health_done, g_object_ref (self));
    }
  return G_SOURCE_CONTINUE;
}

static void
master_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (BerthLimaPlugin) self = user_data;
  g_autoptr (GError) error = NULL;
  StartData *data;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    berth_error_convert (&error);
  if (self->start_task == NULL)
    return;
  data = g_task_get_task_data (self->start_task);
  if (error != NULL)
    {
      finish_start (self, g_steal_pointer (&error));
      return;
    }
  ha_log (self, "info", "SSH is up on 127.0.0.1:%u (%.1f s after QEMU started)",
          data->config->ssh_local_port,
          (g_get_monotonic_time () - data->spawned_at) / (gdouble)G_USEC_PER_SEC);
  finish_start (self, NULL);
}

static void
master_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  g_autoptr (GError) error = NULL;

  if (berth_lima_ssh_start_master (task_data, SSH_MASTER_TIMEOUT_SECONDS, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

static void
start_ssh_step (BerthLimaPlugin *self)
{
  StartData *data = g_task_get_task_data (self->start_task);
  g_autoptr (GTask) task = NULL;

  ha_log (self, "info", "The guest is up (%.1f s after QEMU started); connecting over SSH",
          (g_get_monotonic_time () - data->spawned_at) / (gdouble)G_USEC_PER_SEC);
  emit_progress (self, "Waiting for SSH", 0, 0);
  g_clear_pointer (&self->ssh, berth_lima_ssh_free);
  self->ssh = berth_lima_ssh_new (data->identity, data->instance->ssh_sock, data->config->user,
                                  data->config->ssh_local_port, data->logs_dir);
  task = g_task_new (self, self->start_cancellable, master_done, g_object_ref (self));
  g_task_set_task_data (task, berth_lima_ssh_copy (self->ssh), (GDestroyNotify)berth_lima_ssh_free);
  g_task_run_in_thread (task, master_thread);
}

static gboolean
spawn_qemu (BerthLimaPlugin *self, StartData *data, GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autofree gchar *pid_text = NULL;
  g_autofree gchar *command = NULL;
  int log_fd;

  if (!berth_log_rotate_if_large (data->instance->ha_stderr_log, error))
    return FALSE;
  log_fd = g_open (data->instance->ha_stderr_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0)
    {
      int saved = errno;

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Cannot open %s: %s",
                   data->instance->ha_stderr_log, g_strerror (saved));
      return FALSE;
    }
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_take_stdout_fd (launcher, dup (log_fd));
  g_subprocess_launcher_take_stderr_fd (launcher, log_fd);
  g_subprocess_launcher_set_child_setup (launcher, qemu_child_setup, NULL, NULL);
  command = g_strjoinv (" ", data->argv);
  ha_log (self, "info", "Starting QEMU: %s", command);
  self->qemu = g_subprocess_launcher_spawnv (launcher, (const gchar *const *)data->argv, error);
  if (self->qemu == NULL)
    {
      berth_error_convert (error);
      g_prefix_error (error, "Cannot start QEMU (%s): ", data->qemu);
      return FALSE;
    }
  data->spawned_at = g_get_monotonic_time ();
  g_clear_pointer (&self->qemu_status, g_free);
  {
    /* NULL when QEMU has already exited (and been reaped): the exit watch
     * reports why; there is no pid to record. */
    const gchar *identifier = g_subprocess_get_identifier (self->qemu);

    self->qemu_pid = identifier != NULL ? (gint)g_ascii_strtoll (identifier, NULL, 10) : 0;
  }
  pid_text = g_strdup_printf ("%d\n", self->qemu_pid);
  if (!g_file_set_contents (data->instance->qemu_pid, pid_text, -1, error))
    {
      berth_error_convert (error);
      return FALSE;
    }
  g_subprocess_wait_async (self->qemu, NULL, on_qemu_exited, g_object_ref (self));
  return TRUE;
}

static void
prepare_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (BerthLimaPlugin) self = user_data;
  g_autoptr (GError) error = NULL;
  StartData *data;
  g_autofree gchar *booting = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    berth_error_convert (&error);
  if (self->start_task == NULL)
    return;
  data = g_task_get_task_data (self->start_task);
  for (guint i = 0; i < data->notes->len; i++)
    ha_log (self, "info", "%s", (const gchar *)g_ptr_array_index (data->notes, i));
  g_ptr_array_set_size (data->notes, 0);
  if (error != NULL)
    {
      finish_start (self, g_steal_pointer (&error));
      return;
    }
  if (g_cancellable_is_cancelled (self->start_cancellable))
    {
      finish_start (self, g_error_new_literal (BERTH_ERROR, BERTH_ERROR_CANCELLED,
                                               "The start was cancelled"));
      return;
    }

  /* What the start chose, for info() and the messages. */
  self->accel = data->accel;
  g_free (self->accel_reason);
  self->accel_reason = g_strdup (data->accel_reason);
  self->boot_mode_actual = data->boot_mode;
  g_clear_pointer (&self->config, berth_lima_config_free);
  self->config = berth_lima_config_new (data->config->name);
  {
    /* A copy of what info() shows; the start keeps its own. */
    BerthLimaConfig *c = self->config;

    g_free (c->arch);
    c->arch = g_strdup (data->config->arch);
    c->cpus = data->config->cpus;
    c->memory_bytes = data->config->memory_bytes;
    c->disk_bytes = data->config->disk_bytes;
    g_free (c->container_engine);
    c->container_engine = g_strdup (data->config->container_engine);
    g_free (c->accel);
    c->accel = g_strdup (data->config->accel);
    c->ssh_local_port = data->config->ssh_local_port;
    c->user = g_strdup (data->config->user);
    c->uid = data->config->uid;
    c->home = g_strdup (data->config->home);
  }
  g_clear_pointer (&self->image, berth_lima_image_free);
  self->image = berth_lima_image_copy (data->image);
  self->have_run_info = TRUE;

  ha_log (self, "info", "Acceleration: %s", self->accel_reason);
  if (self->accel == BERTH_LIMA_ACCEL_TCG)
    g_message ("VM %s runs under %s", self->instance_name, self->accel_reason);
  ha_log (self, "info", "Boot mode: %s (requested %s)",
          berth_lima_boot_mode_to_string (data->boot_mode),
          berth_lima_boot_mode_to_string (data->boot_request));

  if (!spawn_qemu (self, data, &error))
    {
      finish_start (self, g_steal_pointer (&error));
      return;
    }
  ha_event (self, FALSE, FALSE, FALSE, NULL);
  booting
      = g_strdup_printf ("Booting the VM (%s)",
                         self->accel == BERTH_LIMA_ACCEL_KVM ? "KVM" : "TCG, software emulation");
  emit_progress (self, booting, 0, 0);
  data->deadline = data->spawned_at + (gint64)data->boot_timeout * G_USEC_PER_SEC;
  data->serial_offset = 0;
  data->serial_pending = g_string_new (NULL);
  data->poll_id = g_timeout_add (SERIAL_POLL_MS, poll_serial, self);
}

static void
image_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (BerthLimaPlugin) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GTask) task = NULL;
  BerthLimaImage *image;
  StartData *data;

  image = berth_lima_image_cache_ensure_finish (BERTH_LIMA_IMAGE_CACHE (source), result, &error);
  if (self->start_task == NULL)
    {
      berth_lima_image_free (image);
      return;
    }
  if (image == NULL)
    {
      finish_start (self, g_steal_pointer (&error));
      return;
    }
  data = g_task_get_task_data (self->start_task);
  data->image = image;
  ha_log (self, "info", "Guest image: %s (%s)", image->dir, image->source);

  task = g_task_new (self, self->start_cancellable, prepare_done, g_object_ref (self));
  g_task_set_source_tag (task, prepare_thread);
  /* The thread works on the start's data: it keeps the start alive. */
  g_task_set_task_data (task, g_object_ref (self->start_task), g_object_unref);
  g_task_run_in_thread (task, prepare_thread);
}

static void
on_image_progress (BerthLimaImageCache *images, const gchar *description, guint64 current,
                   guint64 max, BerthLimaPlugin *self)
{
  if (self->start_task != NULL)
    emit_progress (self, description, current, max);
}

static BerthLimaImageCache *
get_images (BerthLimaPlugin *self)
{
  if (self->images == NULL)
    {
      const BerthPaths *paths = plugin_paths (self);

      self->images = berth_lima_image_cache_new (paths->cache, paths->logs);
      self->images_progress_id
          = g_signal_connect (self->images, "progress", G_CALLBACK (on_image_progress), self);
    }
  return self->images;
}

static void
forward_cancel (GCancellable *cancellable, gpointer user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

static void
berth_lima_plugin_start_async (BerthBackend *backend, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  BerthLimaPlugin *self = BERTH_LIMA_PLUGIN (backend);
  const BerthPaths *paths = plugin_paths (self);
  g_autoptr (GTask) task = NULL;
  g_autoptr (GError) error = NULL;
  BerthSettings *settings;
  StartData *data;
  const gchar *url;
  const gchar *sha256;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, berth_lima_plugin_start_async);

  if (self->state == BERTH_STATE_STARTED)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (self->state == BERTH_STATE_STARTING || self->state == BERTH_STATE_STOPPING)
    {
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_BUSY,
                               "The VM %s is %s; wait until that is done", self->instance_name,
                               self->state == BERTH_STATE_STOPPING ? "stopping"
                                                                   : "already starting");
      return;
    }
  if (self->qemu != NULL)
    {
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_BUSY,
                               "QEMU (pid %d) of the VM %s is still there although the VM is in "
                               "error (%s); stop the VM first",
                               self->qemu_pid, self->instance_name,
                               self->qemu_status != NULL ? self->qemu_status : "unknown");
      return;
    }

  /* Everything that can be checked before anything is written. */
  settings = plugin_settings (self, &error);
  if (settings == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  data = g_new0 (StartData, 1);
  data->notes = g_ptr_array_new_with_free_func (g_free);
  g_task_set_task_data (task, data, (GDestroyNotify)start_data_free);
  data->lima_root = g_strdup (paths->lima);
  data->cache_dir = g_strdup (paths->cache);
  data->logs_dir = g_strdup (paths->logs);

  if (paths->lima == NULL)
    g_set_error (&error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                 "The lima backend does not run on %s", berth_platform_to_string (paths->platform));
  if (error == NULL)
    data->config = berth_lima_config_new_from_settings (self->instance_name, settings, &error);
  if (error == NULL)
    check_config_against_host (data->config, &error);
  if (error == NULL)
    data->qemu = berth_lima_qemu_find (data->config->arch, &error);
  if (error == NULL)
    check_tools (data->qemu, &error);
  if (error == NULL)
    resolve_boot_request (self, &data->boot_request, &error);
  if (error == NULL)
    berth_lima_boot_timeout (self->boot_timeout, &data->boot_timeout, &data->boot_timeout_source,
                             &error);
  if (error != NULL)
    {
      /* Refused before anything ran: the VM did not change. */
      berth_error_convert (&error);
      set_state (self, BERTH_STATE_ERROR, error->message);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  data->instance = berth_lima_instance_new (paths->lima, self->instance_name, paths->runtime);
  g_clear_pointer (&self->instance, berth_lima_instance_free);
  self->instance = berth_lima_instance_new (paths->lima, self->instance_name, paths->runtime);
  g_free (self->qemu_path);
  self->qemu_path = g_strdup (data->qemu);

  self->start_task = g_object_ref (task);
  self->start_cancellable = g_cancellable_new ();
  /* The start's own cancellable: a stop cancels it too. */
  if (cancellable != NULL)
    {
      self->caller_cancellable = g_object_ref (cancellable);
      self->caller_cancel_id
          = g_cancellable_connect (cancellable, G_CALLBACK (forward_cancel),
                                   g_object_ref (self->start_cancellable), g_object_unref);
    }
  set_state (self, BERTH_STATE_STARTING, NULL);
  ha_log (self, "info", "Starting instance %s", self->instance_name);
  emit_progress (self, "Checking the guest image", 0, 0);

  url = berth_settings_get_string (settings, "virtualMachine.image.url");
  sha256 = berth_settings_get_string (settings, "virtualMachine.image.sha256");
  berth_lima_image_cache_ensure_async (get_images (self), url, sha256, self->start_cancellable,
                                       image_done, g_object_ref (self));
}

static gboolean
berth_lima_plugin_start_finish (BerthBackend *backend, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- stop ------------------------------------------------------------------ */

static void
complete_stop_waiters (BerthLimaPlugin *self, GError *error)
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
stop_master_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (BerthLimaPlugin) self = user_data;

  if (self->instance != NULL)
    {
      g_unlink (self->instance->ha_pid);
      g_unlink (self->instance->qmp_sock);
    }
  self->stopping = FALSE;
  ha_log (self, "info", "Stopped");
  ha_event (self, FALSE, FALSE, TRUE, NULL);
  set_state (self, BERTH_STATE_STOPPED, NULL);
  complete_stop_waiters (self, NULL);
}

/* QEMU is gone: close the SSH master, then STOPPED. */
static void
stop_after_exit (BerthLimaPlugin *self)
{
  g_autoptr (GTask) task = NULL;

  g_clear_handle_id (&self->stop_timer_id, g_source_remove);
  task = g_task_new (self, NULL, stop_master_done, g_object_ref (self));
  if (self->ssh != NULL)
    {
      g_task_set_task_data (task, g_steal_pointer (&self->ssh),
                            (GDestroyNotify)berth_lima_ssh_free);
      g_task_run_in_thread (task, ssh_stop_master_thread);
    }
  else
    g_task_return_boolean (task, TRUE);
}

static gboolean
on_quit_grace_over (gpointer user_data)
{
  BerthLimaPlugin *self = user_data;

  self->stop_timer_id = 0;
  if (self->qemu != NULL)
    {
      ha_log (self, "warning", "QEMU (pid %d) is still there %d s after quit; killing it",
              self->qemu_pid, QUIT_GRACE_SECONDS);
      g_subprocess_force_exit (self->qemu);
    }
  return G_SOURCE_REMOVE;
}

static void
quit_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (BerthLimaPlugin) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = berth_lima_qmp_call_finish (result, &error);

  if (self->qemu == NULL || !self->stopping)
    return;
  if (reply == NULL)
    {
      ha_log (self, "warning", "QMP quit failed (%s); killing QEMU (pid %d)", error->message,
              self->qemu_pid);
      g_subprocess_force_exit (self->qemu);
      return;
    }
  g_clear_handle_id (&self->stop_timer_id, g_source_remove);
  self->stop_timer_id = g_timeout_add_seconds (QUIT_GRACE_SECONDS, on_quit_grace_over, self);
}

static void
send_quit (BerthLimaPlugin *self)
{
  berth_lima_qmp_call_async (self->instance->qmp_sock, "quit", QMP_TIMEOUT_MS, NULL, quit_done,
                             g_object_ref (self));
}

/* Whether the guest has begun to shut down (Berth's guest says so on its
 * console). */
static gboolean
guest_shutting_down (BerthLimaPlugin *self)
{
  g_autofree gchar *serial = NULL;
  gsize length = 0;

  return g_file_get_contents (self->instance->serial_log, &serial, &length, NULL)
         && g_strstr_len (serial, (gssize)length, "berth-guest: shutting down") != NULL;
}

static void
powerdown_again_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  JsonNode *reply = berth_lima_qmp_call_finish (result, NULL);

  /* Only the press matters; the reply, if any, is dropped. */
  g_clear_pointer (&reply, json_node_unref);
  g_object_unref (user_data);
}

/* Every second while a graceful stop waits: the power button again while
 * the guest has not reacted (its acpid starts a moment after sshd, and a
 * press before that is lost), then QMP quit when the time is up. */
static gboolean
on_stop_tick (gpointer user_data)
{
  BerthLimaPlugin *self = user_data;

  if (self->qemu == NULL || !self->stopping)
    {
      self->stop_timer_id = 0;
      return G_SOURCE_REMOVE;
    }
  self->stop_ticks++;
  if (self->stop_ticks >= MAX (self->stop_timeout, 1))
    {
      self->stop_timer_id = 0;
      ha_log (self, "warning",
              "The guest did not power off within %u s of the ACPI power button; telling QEMU "
              "to quit",
              self->stop_timeout);
      send_quit (self);
      return G_SOURCE_REMOVE;
    }
  if (self->stop_ticks % 2 == 0 && !guest_shutting_down (self))
    berth_lima_qmp_call_async (self->instance->qmp_sock, "system_powerdown", QMP_TIMEOUT_MS, NULL,
                               powerdown_again_done, g_object_ref (self));
  return G_SOURCE_CONTINUE;
}

static void
powerdown_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (BerthLimaPlugin) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) reply = berth_lima_qmp_call_finish (result, &error);

  if (self->qemu == NULL || !self->stopping)
    return;
  if (reply == NULL)
    {
      ha_log (self, "warning", "QMP system_powerdown failed (%s); telling QEMU to quit",
              error->message);
      send_quit (self);
      return;
    }
  g_clear_handle_id (&self->stop_timer_id, g_source_remove);
  self->stop_ticks = 0;
  self->stop_timer_id = g_timeout_add_seconds (1, on_stop_tick, self);
}

static void
begin_stop (BerthLimaPlugin *self)
{
  if (self->stopping)
    return;
  self->stopping = TRUE;
  g_clear_handle_id (&self->health_id, g_source_remove);
  stop_port_forwarding (self);
  set_state (self, BERTH_STATE_STOPPING, NULL);
  emit_progress (self, "Stopping the VM", 0, 0);
  if (self->qemu == NULL)
    {
      stop_after_exit (self);
      return;
    }
  /* A guest that is not running (paused on a disk error, panicked) cannot
   * answer the power button. */
  if (self->qemu_status != NULL && !g_str_equal (self->qemu_status, "running"))
    {
      ha_log (self, "info", "Stopping: QEMU reports \"%s\", so QMP quit", self->qemu_status);
      send_quit (self);
      return;
    }
  ha_log (self, "info", "Stopping: ACPI power button (QMP system_powerdown), %u s to power off",
          self->stop_timeout);
  ha_event (self, TRUE, FALSE, TRUE, NULL);
  berth_lima_qmp_call_async (self->instance->qmp_sock, "system_powerdown", QMP_TIMEOUT_MS, NULL,
                             powerdown_done, g_object_ref (self));
}

static void
berth_lima_plugin_stop_async (BerthBackend *backend, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  BerthLimaPlugin *self = BERTH_LIMA_PLUGIN (backend);
  g_autoptr (GTask) task = NULL;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, berth_lima_plugin_stop_async);

  if (self->state == BERTH_STATE_STOPPED && self->qemu == NULL && !self->stopping)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  g_ptr_array_add (self->stop_waiters, g_object_ref (task));
  if (self->start_task != NULL)
    {
      /* The start ends (cancelled) and then answers the stop. */
      g_cancellable_cancel (self->start_cancellable);
      return;
    }
  begin_stop (self);
}

static gboolean
berth_lima_plugin_stop_finish (BerthBackend *backend, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- delete ---------------------------------------------------------------- */

static gboolean
remove_tree (const gchar *path, GError **error)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return errno == ENOENT ? TRUE : FALSE;
  if (S_ISDIR (st.st_mode))
    {
      g_autoptr (GDir) dir = g_dir_open (path, 0, error);
      const gchar *name;

      if (dir == NULL)
        {
          berth_error_convert (error);
          return FALSE;
        }
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree gchar *child = g_build_filename (path, name, NULL);

          if (!remove_tree (child, error))
            return FALSE;
        }
      if (g_rmdir (path) != 0)
        {
          int saved = errno;

          g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Cannot remove %s: %s", path,
                       g_strerror (saved));
          return FALSE;
        }
      return TRUE;
    }
  if (g_unlink (path) != 0 && errno != ENOENT)
    {
      int saved = errno;

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Cannot remove %s: %s", path,
                   g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

static void
delete_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  BerthLimaInstance *instance = task_data;
  g_autoptr (GError) error = NULL;

  /* Sockets that fell back outside the directory go too. */
  g_unlink (instance->ssh_sock);
  g_unlink (instance->qmp_sock);
  if (remove_tree (instance->dir, &error))
    g_task_return_boolean (task, TRUE);
  else
    {
      if (error == NULL)
        g_set_error (&error, BERTH_ERROR, BERTH_ERROR_FAILED, "Cannot remove %s: %s", instance->dir,
                     g_strerror (errno));
      g_prefix_error (&error, "Deleting the VM %s: ", instance->name);
      g_task_return_error (task, g_steal_pointer (&error));
    }
}

static void
delete_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthLimaPlugin *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      berth_error_convert (&error);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  berth_log_line (plugin_paths (self)->logs, LOG_COMPONENT, "[%s] Deleted the instance",
                  self->instance_name);
  self->have_run_info = FALSE;
  set_state (self, BERTH_STATE_STOPPED, NULL);
  g_task_return_boolean (task, TRUE);
}

static void
run_delete (GTask *task)
{
  BerthLimaPlugin *self = g_task_get_source_object (task);
  const BerthPaths *paths = plugin_paths (self);
  g_autoptr (GTask) inner = NULL;
  g_autoptr (GError) error = NULL;

  if (paths->lima == NULL || !berth_lima_validate_name (self->instance_name, &error))
    {
      if (error == NULL)
        g_set_error (&error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                     "The lima backend does not run on this platform");
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  inner = g_task_new (self, g_task_get_cancellable (task), delete_done, g_object_ref (task));
  g_task_set_task_data (inner,
                        berth_lima_instance_new (paths->lima, self->instance_name, paths->runtime),
                        (GDestroyNotify)berth_lima_instance_free);
  g_task_run_in_thread (inner, delete_thread);
}

static void
delete_after_stop (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;

  if (!berth_backend_stop_finish (BERTH_BACKEND (source), result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  run_delete (task);
}

static void
berth_lima_plugin_delete_async (BerthBackend *backend, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  BerthLimaPlugin *self = BERTH_LIMA_PLUGIN (backend);
  g_autoptr (GTask) task = NULL;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, berth_lima_plugin_delete_async);
  if (self->state != BERTH_STATE_STOPPED || self->qemu != NULL || self->stopping)
    {
      berth_backend_stop_async (backend, cancellable, delete_after_stop, g_steal_pointer (&task));
      return;
    }
  run_delete (task);
}

static gboolean
berth_lima_plugin_delete_finish (BerthBackend *backend, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- exec, files, sockets ------------------------------------------------- */

static BerthLimaSsh *
running_ssh (BerthLimaPlugin *self, const gchar *what, GError **error)
{
  if (self->state != BERTH_STATE_STARTED || self->ssh == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                   "Cannot %s: the VM %s is %s, not running; start it first", what,
                   self->instance_name, berth_state_to_string (self->state));
      return NULL;
    }
  return berth_lima_ssh_copy (self->ssh);
}

typedef struct
{
  BerthLimaSsh *ssh;
  GStrv argv;
  GBytes *bytes;
  gchar *host_path;
  gchar *guest_path;
  guint mode;
} GuestOp;

static void
guest_op_free (GuestOp *op)
{
  berth_lima_ssh_free (op->ssh);
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
  g_autoptr (GError) error = NULL;
  BerthSubprocessResult *result;

  result = berth_lima_ssh_exec (op->ssh, (const gchar *const *)op->argv, op->bytes, cancellable,
                                &error);
  if (result == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, result, (GDestroyNotify)berth_subprocess_result_free);
}

static void
write_file_thread (GTask *task, gpointer source_object, gpointer task_data,
                   GCancellable *cancellable)
{
  GuestOp *op = task_data;
  g_autoptr (GError) error = NULL;

  if (berth_lima_ssh_write_file (op->ssh, op->guest_path, op->bytes, op->mode, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

static void
copy_in_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  GuestOp *op = task_data;
  g_autoptr (GError) error = NULL;

  if (berth_lima_ssh_copy_in (op->ssh, op->host_path, op->guest_path, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

static void
forward_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  GuestOp *op = task_data;
  g_autoptr (GError) error = NULL;

  if (berth_lima_ssh_forward_socket (op->ssh, op->guest_path, op->host_path, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

/* Starts @func on a GuestOp in a worker thread, or fails at once when the
 * VM is not running. */
static void
run_guest_op (BerthLimaPlugin *self, gpointer source_tag, const gchar *what, GuestOp *op,
              GTaskThreadFunc func, GCancellable *cancellable, GAsyncReadyCallback callback,
              gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (GError) error = NULL;

  g_task_set_source_tag (task, source_tag);
  op->ssh = running_ssh (self, what, &error);
  if (op->ssh == NULL)
    {
      guest_op_free (op);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_set_task_data (task, op, (GDestroyNotify)guest_op_free);
  g_task_run_in_thread (task, func);
}

static void
berth_lima_plugin_exec_async (BerthBackend *backend, const gchar *const *argv, GBytes *stdin_bytes,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  GuestOp *op = g_new0 (GuestOp, 1);
  g_autofree gchar *what = g_strdup_printf ("run %s in the guest", argv[0]);

  op->argv = g_strdupv ((gchar **)argv);
  op->bytes = stdin_bytes != NULL ? g_bytes_ref (stdin_bytes) : NULL;
  run_guest_op (BERTH_LIMA_PLUGIN (backend), berth_lima_plugin_exec_async, what, op, exec_thread,
                cancellable, callback, user_data);
}

static BerthSubprocessResult *
berth_lima_plugin_exec_finish (BerthBackend *backend, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
berth_lima_plugin_write_file_async (BerthBackend *backend, const gchar *guest_path,
                                    GBytes *contents, guint mode, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data)
{
  GuestOp *op = g_new0 (GuestOp, 1);
  g_autofree gchar *what = g_strdup_printf ("write %s in the guest", guest_path);

  op->guest_path = g_strdup (guest_path);
  op->bytes = g_bytes_ref (contents);
  op->mode = mode;
  run_guest_op (BERTH_LIMA_PLUGIN (backend), berth_lima_plugin_write_file_async, what, op,
                write_file_thread, cancellable, callback, user_data);
}

static gboolean
berth_lima_plugin_boolean_finish (BerthBackend *backend, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
berth_lima_plugin_copy_in_async (BerthBackend *backend, const gchar *host_path,
                                 const gchar *guest_path, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  GuestOp *op = g_new0 (GuestOp, 1);
  g_autofree gchar *what = g_strdup_printf ("copy %s into the guest", host_path);

  op->host_path = g_strdup (host_path);
  op->guest_path = g_strdup (guest_path);
  run_guest_op (BERTH_LIMA_PLUGIN (backend), berth_lima_plugin_copy_in_async, what, op,
                copy_in_thread, cancellable, callback, user_data);
}

static void
berth_lima_plugin_forward_socket_async (BerthBackend *backend, const gchar *guest_path,
                                        const gchar *host_path, GCancellable *cancellable,
                                        GAsyncReadyCallback callback, gpointer user_data)
{
  GuestOp *op = g_new0 (GuestOp, 1);
  g_autofree gchar *what = g_strdup_printf ("forward the guest's %s", guest_path);

  op->host_path = g_strdup (host_path);
  op->guest_path = g_strdup (guest_path);
  run_guest_op (BERTH_LIMA_PLUGIN (backend), berth_lima_plugin_forward_socket_async, what, op,
                forward_thread, cancellable, callback, user_data);
}

static gchar *
berth_lima_plugin_get_address (BerthBackend *backend, GError **error)
{
  BerthLimaPlugin *self = BERTH_LIMA_PLUGIN (backend);

  if (self->state != BERTH_STATE_STARTED || self->ssh == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                   "The VM %s is %s, so it has no SSH address; start it first", self->instance_name,
                   berth_state_to_string (self->state));
      return NULL;
    }
  return g_strdup_printf ("%s:%u", self->ssh->host, self->ssh->port);
}

static GPtrArray *
berth_lima_plugin_list_port_forwards (BerthBackend *backend)
{
  BerthLimaPlugin *self = BERTH_LIMA_PLUGIN (backend);
  GPtrArray *forwards = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_port_forward_free);

  /* QEMU's own forward: the guest's sshd. */
  if (self->state == BERTH_STATE_STARTED && self->ssh != NULL)
    g_ptr_array_add (forwards,
                     berth_port_forward_new ("tcp", self->ssh->host, self->ssh->port, 22));
  /* The guest's own, as they open and close. */
  if (self->state == BERTH_STATE_STARTED && self->ports != NULL)
    {
      g_autoptr (GPtrArray) live = berth_lima_ports_list (self->ports);

      for (guint i = 0; i < live->len; i++)
        g_ptr_array_add (forwards, berth_port_forward_copy (g_ptr_array_index (live, i)));
    }
  return forwards;
}

static JsonNode *
berth_lima_plugin_info (BerthBackend *backend, GError **error)
{
  BerthLimaPlugin *self = BERTH_LIMA_PLUGIN (backend);
  const BerthPaths *paths = plugin_paths (self);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (BerthLimaConfig) from_settings = NULL;
  g_autoptr (BerthLimaInstance) instance = NULL;
  g_autofree gchar *identity = NULL;
  const BerthLimaConfig *config = self->config;
  BerthSettings *settings = berth_plugin_get_settings (BERTH_PLUGIN (self));
  gboolean running = self->state == BERTH_STATE_STARTED && self->ssh != NULL;

  if (paths->lima == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                   "The lima backend does not run on %s",
                   berth_platform_to_string (paths->platform));
      return NULL;
    }
  /* Before the first start, what the settings say. */
  if (config == NULL && settings != NULL)
    {
      from_settings = berth_lima_config_new_from_settings (self->instance_name, settings, NULL);
      config = from_settings;
    }
  instance = berth_lima_instance_new (paths->lima, self->instance_name, paths->runtime);
  identity = g_build_filename (paths->lima, "_config", "user", NULL);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "backend");
  json_builder_add_string_value (b, "lima");
  json_builder_set_member_name (b, "instance");
  json_builder_add_string_value (b, self->instance_name);
  json_builder_set_member_name (b, "instanceDir");
  json_builder_add_string_value (b, instance->dir);
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, berth_state_to_string (self->state));
  if (config != NULL)
    {
      json_builder_set_member_name (b, "arch");
      json_builder_add_string_value (b, config->arch);
      json_builder_set_member_name (b, "cpus");
      json_builder_add_int_value (b, config->cpus);
      json_builder_set_member_name (b, "memoryInGB");
      json_builder_add_int_value (b, (gint64)(config->memory_bytes / GIB));
      json_builder_set_member_name (b, "diskSizeGiB");
      json_builder_add_int_value (b, (gint64)(config->disk_bytes / GIB));
      json_builder_set_member_name (b, "containerEngine");
      json_builder_add_string_value (b, config->container_engine);
      json_builder_set_member_name (b, "sshUser");
      json_builder_add_string_value (b, config->user);
    }
  json_builder_set_member_name (b, "accel");
  if (self->have_run_info)
    json_builder_add_string_value (b, berth_lima_accel_to_string (self->accel));
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "accelReason");
  if (self->have_run_info)
    json_builder_add_string_value (b, self->accel_reason);
  else
    json_builder_add_string_value (b, "decided when the VM starts");
  json_builder_set_member_name (b, "bootMode");
  if (self->have_run_info)
    json_builder_add_string_value (b, berth_lima_boot_mode_to_string (self->boot_mode_actual));
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "image");
  if (self->image != NULL)
    json_builder_add_string_value (b, self->image->source);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "qemu");
  if (self->qemu_path != NULL)
    json_builder_add_string_value (b, self->qemu_path);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "qemuPid");
  if (self->qemu != NULL)
    json_builder_add_int_value (b, self->qemu_pid);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "qemuStatus");
  if (self->qemu != NULL && self->qemu_status != NULL)
    json_builder_add_string_value (b, self->qemu_status);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "sshAddress");
  json_builder_add_string_value (b, "127.0.0.1");
  json_builder_set_member_name (b, "sshPort");
  if (running)
    json_builder_add_int_value (b, self->ssh->port);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "sshIdentityFile");
  json_builder_add_string_value (b, identity);
  json_builder_set_member_name (b, "sshControlPath");
  json_builder_add_string_value (b, instance->ssh_sock);
  {
    /* What `berthctl shell` passes to ssh before "-p PORT USER@ADDRESS". */
    g_autoptr (BerthLimaSsh) ssh = berth_lima_ssh_new (identity, instance->ssh_sock, NULL, 0, NULL);
    g_auto (GStrv) options = berth_lima_ssh_options (ssh);

    json_builder_set_member_name (b, "sshOptions");
    json_builder_begin_array (b);
    for (guint i = 0; options[i] != NULL; i++)
      json_builder_add_string_value (b, options[i]);
    json_builder_end_array (b);
  }
  json_builder_set_member_name (b, "sshConfigFile");
  json_builder_add_string_value (b, instance->ssh_config);
  json_builder_set_member_name (b, "serialLog");
  json_builder_add_string_value (b, instance->serial_log);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* QEMU in Lima's layout is the VM of Linux and macOS; Windows has WSL. */
static gboolean
berth_lima_plugin_is_native (BerthBackend *backend, BerthPlatform platform)
{
  return platform != BERTH_PLATFORM_WINDOWS;
}

/* ---- GObject --------------------------------------------------------------- */

static void
berth_lima_plugin_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  BerthLimaPlugin *self = BERTH_LIMA_PLUGIN (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_STATE_REASON:
      g_value_set_string (value, self->state_reason);
      break;
    case PROP_INSTANCE_NAME:
      g_value_set_string (value, self->instance_name);
      break;
    case PROP_BOOT_MODE:
      g_value_set_string (value, self->boot_mode);
      break;
    case PROP_BOOT_TIMEOUT:
      g_value_set_uint (value, self->boot_timeout);
      break;
    case PROP_STOP_TIMEOUT:
      g_value_set_uint (value, self->stop_timeout);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
berth_lima_plugin_set_property (GObject *object, guint prop_id, const GValue *value,
                                GParamSpec *pspec)
{
  BerthLimaPlugin *self = BERTH_LIMA_PLUGIN (object);

  switch (prop_id)
    {
    case PROP_STATE:
    case PROP_STATE_REASON:
      /* The backend's own: it follows the VM, not its callers. */
      g_warning ("The lima backend's %s is read-only", pspec->name);
      break;
    case PROP_INSTANCE_NAME:
      if (self->state != BERTH_STATE_STOPPED && self->state != BERTH_STATE_ERROR)
        {
          g_warning ("The instance name cannot change while the VM %s is %s", self->instance_name,
                     berth_state_to_string (self->state));
          break;
        }
      g_free (self->instance_name);
      self->instance_name = g_value_dup_string (value);
      break;
    case PROP_BOOT_MODE:
      g_free (self->boot_mode);
      self->boot_mode = g_value_dup_string (value);
      break;
    case PROP_BOOT_TIMEOUT:
      self->boot_timeout = g_value_get_uint (value);
      break;
    case PROP_STOP_TIMEOUT:
      self->stop_timeout = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
berth_lima_plugin_constructed (GObject *object)
{
  BerthLimaPlugin *self = BERTH_LIMA_PLUGIN (object);

  G_OBJECT_CLASS (berth_lima_plugin_parent_class)->constructed (object);
  if (self->instance_name == NULL)
    {
      const gchar *env = g_getenv ("BERTH_INSTANCE");

      self->instance_name = g_strdup (env != NULL && env[0] != '\0' ? env : "0");
    }
}

static void
berth_lima_plugin_dispose (GObject *object)
{
  BerthLimaPlugin *self = BERTH_LIMA_PLUGIN (object);

  /* No signal from an object going away. */
  if (self->ports != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->ports, self);
      berth_lima_ports_stop (self->ports);
      g_clear_object (&self->ports);
    }
  /* Not left running without anyone to watch it. */
  if (self->qemu != NULL)
    g_subprocess_force_exit (self->qemu);
  g_clear_object (&self->qemu);
  if (self->images != NULL)
    g_clear_signal_handler (&self->images_progress_id, self->images);
  g_clear_object (&self->images);
  g_clear_handle_id (&self->stop_timer_id, g_source_remove);
  g_clear_handle_id (&self->health_id, g_source_remove);
  G_OBJECT_CLASS (berth_lima_plugin_parent_class)->dispose (object);
}

static void
berth_lima_plugin_finalize (GObject *object)
{
  BerthLimaPlugin *self = BERTH_LIMA_PLUGIN (object);

  g_free (self->state_reason);
  g_free (self->instance_name);
  g_free (self->boot_mode);
  g_clear_pointer (&self->instance, berth_lima_instance_free);
  g_clear_pointer (&self->config, berth_lima_config_free);
  g_clear_pointer (&self->image, berth_lima_image_free);
  g_free (self->qemu_path);
  g_free (self->accel_reason);
  g_free (self->qemu_status);
  g_clear_pointer (&self->ssh, berth_lima_ssh_free);
  g_clear_pointer (&self->stop_waiters, g_ptr_array_unref);
  G_OBJECT_CLASS (berth_lima_plugin_parent_class)->finalize (object);
}

static void
berth_lima_plugin_class_init (BerthLimaPluginClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = berth_lima_plugin_get_property;
  object_class->set_property = berth_lima_plugin_set_property;
  object_class->constructed = berth_lima_plugin_constructed;
  object_class->dispose = berth_lima_plugin_dispose;
  object_class->finalize = berth_lima_plugin_finalize;

  g_object_class_override_property (object_class, PROP_STATE, "state");
  properties[PROP_STATE] = g_object_class_find_property (object_class, "state");
  g_object_class_override_property (object_class, PROP_STATE_REASON, "state-reason");
  properties[PROP_STATE_REASON] = g_object_class_find_property (object_class, "state-reason");

  properties[PROP_INSTANCE_NAME] = g_param_spec_string (
      "instance-name", "Instance name", "The Lima instance this backend drives", NULL,
      G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_STATIC_STRINGS);
  properties[PROP_BOOT_MODE]
      = g_param_spec_string ("boot-mode", "Boot mode", "auto, kernel or disk", "auto",
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_STATIC_STRINGS);
  properties[PROP_BOOT_TIMEOUT] = g_param_spec_uint (
      "boot-timeout", "Boot timeout",
      "Seconds to wait for the guest; 0: $BERTH_BOOT_TIMEOUT or the default", 0, 24 * 3600, 0,
      G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_STATIC_STRINGS);
  properties[PROP_STOP_TIMEOUT] = g_param_spec_uint (
      "stop-timeout", "Stop timeout", "Seconds a graceful stop waits before QEMU is told to quit",
      1, 3600, STOP_TIMEOUT_DEFAULT,
      G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_STATIC_STRINGS);
  g_object_class_install_property (object_class, PROP_INSTANCE_NAME,
                                   properties[PROP_INSTANCE_NAME]);
  g_object_class_install_property (object_class, PROP_BOOT_MODE, properties[PROP_BOOT_MODE]);
  g_object_class_install_property (object_class, PROP_BOOT_TIMEOUT, properties[PROP_BOOT_TIMEOUT]);
  g_object_class_install_property (object_class, PROP_STOP_TIMEOUT, properties[PROP_STOP_TIMEOUT]);
}

static void
berth_lima_plugin_init (BerthLimaPlugin *self)
{
  self->state = BERTH_STATE_STOPPED;
  self->stop_timeout = STOP_TIMEOUT_DEFAULT;
  self->stop_waiters = g_ptr_array_new_with_free_func (g_object_unref);
}

static void
berth_lima_plugin_backend_init (BerthBackendInterface *iface)
{
  iface->validate = berth_lima_plugin_validate;
  iface->start_async = berth_lima_plugin_start_async;
  iface->start_finish = berth_lima_plugin_start_finish;
  iface->stop_async = berth_lima_plugin_stop_async;
  iface->stop_finish = berth_lima_plugin_stop_finish;
  iface->delete_async = berth_lima_plugin_delete_async;
  iface->delete_finish = berth_lima_plugin_delete_finish;
  iface->exec_async = berth_lima_plugin_exec_async;
  iface->exec_finish = berth_lima_plugin_exec_finish;
  iface->write_file_async = berth_lima_plugin_write_file_async;
  iface->write_file_finish = berth_lima_plugin_boolean_finish;
  iface->copy_in_async = berth_lima_plugin_copy_in_async;
  iface->copy_in_finish = berth_lima_plugin_boolean_finish;
  iface->get_address = berth_lima_plugin_get_address;
  iface->forward_socket_async = berth_lima_plugin_forward_socket_async;
  iface->forward_socket_finish = berth_lima_plugin_boolean_finish;
  iface->list_port_forwards = berth_lima_plugin_list_port_forwards;
  iface->info = berth_lima_plugin_info;
  iface->is_native = berth_lima_plugin_is_native;
}
