/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A pretend VM whose guest is a scratch directory on the host, for the
 * Kubernetes tests that need no QEMU. It starts and stops at once. exec,
 * write_file and copy_in run for real on the host, with the guest's paths
 * that plugins/k3s uses (/usr/local/bin, /etc/rancher, /var/lib/rancher,
 * /run, /var/log, …) moved under the scratch root in every argument and
 * every file written, and "sudo -n" dropped. So k3s's install, start,
 * stop and reset scripts run as written, the fake k3s (tests/k3s) runs on
 * the host with BERTH_FAKE_K3S_ROOT pointing at the root and listens on
 * 127.0.0.1, and kubectl port-forward listens where the host sees it.
 *
 * Init is neither systemd nor busybox in the root, so the scripts take
 * their own supervising loop. Every process the "guest" ran carries
 * BERTH_TEST_SCRATCHVM=<root> in its environment; stopping the VM kills
 * them, as powering a VM off would. Never installed. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>

#include <berth.h>

#define BERTH_TYPE_TEST_SCRATCHVM (berth_test_scratchvm_get_type ())
G_DECLARE_FINAL_TYPE (BerthTestScratchvm, berth_test_scratchvm, BERTH, TEST_SCRATCHVM, BerthPlugin)

struct _BerthTestScratchvm
{
  BerthPlugin parent_instance;

  BerthState state;
  gchar *state_reason;
  gchar *root; /* the guest's "/" */
};

static void
berth_test_scratchvm_backend_init (BerthBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (BerthTestScratchvm, berth_test_scratchvm, BERTH_TYPE_PLUGIN,
                               G_IMPLEMENT_INTERFACE (BERTH_TYPE_BACKEND,
                                                      berth_test_scratchvm_backend_init))

enum
{
  PROP_0,
  PROP_STATE,
  PROP_STATE_REASON,
};

/* The guest's directories that move under the root. "/run/" covers
 * /run/systemd/system too: no systemd in the root. */
static const gchar *const guest_prefixes[] = {
  "/usr/local/",        "/etc/rancher",     "/etc/systemd", "/etc/inittab", "/var/lib/rancher",
  "/var/lib/berth-k3s", "/var/lib/kubelet", "/var/log/",    "/run/",        "/proc/1/",
};

static const gchar *const skeleton[]
    = { "etc", "run", "tmp", "usr/local/bin", "var/lib", "var/log" };

static gboolean
is_path_char (gchar c)
{
  return g_ascii_isalnum (c) || c == '/' || c == '.' || c == '_' || c == '-' || c == '$';
}

/* @text with every guest path moved under the root. */
static gchar *
rewrite (BerthTestScratchvm *self, const gchar *text)
{
  GString *out = g_string_new (NULL);

  for (const gchar *p = text; *p != '\0';)
    {
      gboolean moved = FALSE;

      if (p == text || !is_path_char (p[-1]))
        for (gsize i = 0; i < G_N_ELEMENTS (guest_prefixes) && !moved; i++)
          if (g_str_has_prefix (p, guest_prefixes[i]))
            {
              g_string_append (out, self->root);
              moved = TRUE;
            }
      g_string_append_c (out, *p);
      p++;
    }
  return g_string_free (out, FALSE);
}

static void
set_state (BerthTestScratchvm *self, BerthState state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify (G_OBJECT (self), "state");
}

static gchar **
guest_environ (BerthTestScratchvm *self)
{
  g_auto (GStrv) envp = g_get_environ ();

  envp = g_environ_setenv (envp, "BERTH_TEST_SCRATCHVM", self->root, TRUE);
  envp = g_environ_setenv (envp, "BERTH_FAKE_K3S_ROOT", self->root, TRUE);
  envp = g_environ_setenv (envp, "BERTH_FAKE_K3S_BIND_ADDRESS", "127.0.0.1", TRUE);
  return g_steal_pointer (&envp);
}

/* Every process that runs "in the guest" (the marker in its environment),
 * killed: what powering the VM off does. */
static void
kill_guest_processes (BerthTestScratchvm *self)
{
  g_autofree gchar *marker = g_strdup_printf ("BERTH_TEST_SCRATCHVM=%s", self->root);
  g_autoptr (GDir) proc = g_dir_open ("/proc", 0, NULL);
  const gchar *name;

  while (proc != NULL && (name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree gchar *path = NULL;
      g_autofree gchar *environ_text = NULL;
      gsize len = 0;
      guint64 pid = 0;

      if (!g_ascii_string_to_unsigned (name, 10, 2, G_MAXINT, &pid, NULL)
          || pid == (guint64)getpid ())
        continue;
      path = g_build_filename ("/proc", name, "environ", NULL);
      if (!g_file_get_contents (path, &environ_text, &len, NULL))
        continue;
      for (gsize i = 0; i < len; i += strlen (environ_text + i) + 1)
        if (g_str_equal (environ_text + i, marker))
          {
            g_message ("Test VM stops: killing process %" G_GUINT64_FORMAT " of its guest", pid);
            kill ((pid_t)pid, SIGKILL);
            break;
          }
    }
}

/* ---- start, stop ---------------------------------------------------------- */

static void
berth_test_scratchvm_start_async (BerthBackend *backend, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data)
{
  BerthTestScratchvm *self = BERTH_TEST_SCRATCHVM (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, berth_test_scratchvm_start_async);
  set_state (self, BERTH_STATE_STARTING);
  /* What every Linux guest has. */
  for (gsize i = 0; i < G_N_ELEMENTS (skeleton); i++)
    {
      g_autofree gchar *dir = g_build_filename (self->root, skeleton[i], NULL);

      if (g_mkdir_with_parents (dir, 0755) != 0)
        {
          set_state (self, BERTH_STATE_ERROR);
          g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_BACKEND,
                                   "The test VM's root %s cannot be made: %s", dir,
                                   g_strerror (errno));
          return;
        }
    }
  set_state (self, BERTH_STATE_STARTED);
  g_task_return_boolean (task, TRUE);
}

static void
berth_test_scratchvm_stop_async (BerthBackend *backend, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  BerthTestScratchvm *self = BERTH_TEST_SCRATCHVM (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, berth_test_scratchvm_stop_async);
  set_state (self, BERTH_STATE_STOPPING);
  kill_guest_processes (self);
  set_state (self, BERTH_STATE_STOPPED);
  g_task_return_boolean (task, TRUE);
}

/* ---- exec, files ------------------------------------------------------------ */

static void
exec_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;
  BerthSubprocessResult *done = berth_subprocess_run_finish (result, &error);

  if (done == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, done, (GDestroyNotify)berth_subprocess_result_free);
}

static void
berth_test_scratchvm_exec_async (BerthBackend *backend, const gchar *const *argv,
                                 GBytes *stdin_bytes, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  BerthTestScratchvm *self = BERTH_TEST_SCRATCHVM (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (GPtrArray) moved = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) envp = guest_environ (self);
  gsize first = 0;

  g_task_set_source_tag (task, berth_test_scratchvm_exec_async);
  if (self->state != BERTH_STATE_STARTED)
    {
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_BACKEND, "The test VM does not run");
      return;
    }
  /* Root already, as in the guest's sudo. */
  if (argv[0] != NULL && g_str_equal (argv[0], "sudo"))
    for (first = 1; argv[first] != NULL && argv[first][0] == '-'; first++)
      ;
  for (gsize i = first; argv[i] != NULL; i++)
    g_ptr_array_add (moved, rewrite (self, argv[i]));
  g_ptr_array_add (moved, NULL);
  berth_subprocess_run_async ((const gchar *const *)moved->pdata, (const gchar *const *)envp,
                              stdin_bytes, berth_plugin_get_paths (BERTH_PLUGIN (self))->logs,
                              "test-scratchvm", cancellable, exec_done, g_steal_pointer (&task));
}

static BerthSubprocessResult *
berth_test_scratchvm_exec_finish (BerthBackend *backend, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static gboolean
put_file (BerthTestScratchvm *self, const gchar *guest_path, const gchar *data, gsize len,
          guint mode, GError **error)
{
  g_autofree gchar *path = rewrite (self, guest_path);
  g_autofree gchar *dir = g_path_get_dirname (path);

  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND, "Cannot make %s in the test VM: %s",
                   dir, g_strerror (errno));
      return FALSE;
    }
  if (!g_file_set_contents_full (path, data, (gssize)len, G_FILE_SET_CONTENTS_CONSISTENT,
                                 (gint)mode, error))
    return FALSE;
  return TRUE;
}

static void
berth_test_scratchvm_write_file_async (BerthBackend *backend, const gchar *guest_path,
                                       GBytes *contents, guint mode, GCancellable *cancellable,
                                       GAsyncReadyCallback callback, gpointer user_data)
{
  BerthTestScratchvm *self = BERTH_TEST_SCRATCHVM (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (GError) error = NULL;
  gsize len = 0;
  const gchar *data = g_bytes_get_data (contents, &len);
  g_autofree gchar *text = g_strndup (data != NULL ? data : "", len);
  /* Text the guest runs or reads names guest paths: they move too. */
  g_autofree gchar *moved = rewrite (self, text);

  g_task_set_source_tag (task, berth_test_scratchvm_write_file_async);
  if (!put_file (self, guest_path, moved, strlen (moved), mode, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
berth_test_scratchvm_copy_in_async (BerthBackend *backend, const gchar *host_path,
                                    const gchar *guest_path, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data)
{
  BerthTestScratchvm *self = BERTH_TEST_SCRATCHVM (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *data = NULL;
  gsize len = 0;

  g_task_set_source_tag (task, berth_test_scratchvm_copy_in_async);
  if (!g_file_get_contents (host_path, &data, &len, &error)
      || !put_file (self, guest_path, data, len, 0644, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

/* ---- the object -------------------------------------------------------------- */

static gboolean
berth_test_scratchvm_setup (BerthPlugin *plugin, GCancellable *cancellable, GError **error)
{
  BerthTestScratchvm *self = BERTH_TEST_SCRATCHVM (plugin);

  self->root = g_build_filename (berth_plugin_get_paths (plugin)->data, "scratchvm-root", NULL);
  return TRUE;
}

static void
berth_test_scratchvm_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  BerthTestScratchvm *self = BERTH_TEST_SCRATCHVM (object);

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
berth_test_scratchvm_set_property (GObject *object, guint prop_id, const GValue *value,
                                   GParamSpec *pspec)
{
  G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
berth_test_scratchvm_dispose (GObject *object)
{
  BerthTestScratchvm *self = BERTH_TEST_SCRATCHVM (object);

  /* berthd going away powers the VM off. */
  if (self->root != NULL)
    kill_guest_processes (self);
  G_OBJECT_CLASS (berth_test_scratchvm_parent_class)->dispose (object);
}

static void
berth_test_scratchvm_finalize (GObject *object)
{
  BerthTestScratchvm *self = BERTH_TEST_SCRATCHVM (object);

  g_free (self->state_reason);
  g_free (self->root);
  G_OBJECT_CLASS (berth_test_scratchvm_parent_class)->finalize (object);
}

static void
berth_test_scratchvm_class_init (BerthTestScratchvmClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  BerthPluginClass *plugin_class = BERTH_PLUGIN_CLASS (klass);

  object_class->get_property = berth_test_scratchvm_get_property;
  object_class->set_property = berth_test_scratchvm_set_property;
  object_class->dispose = berth_test_scratchvm_dispose;
  object_class->finalize = berth_test_scratchvm_finalize;
  plugin_class->setup = berth_test_scratchvm_setup;
  g_object_class_override_property (object_class, PROP_STATE, "state");
  g_object_class_override_property (object_class, PROP_STATE_REASON, "state-reason");
}

static void
berth_test_scratchvm_init (BerthTestScratchvm *self)
{
  self->state = BERTH_STATE_STOPPED;
}

static void
berth_test_scratchvm_backend_init (BerthBackendInterface *iface)
{
  iface->start_async = berth_test_scratchvm_start_async;
  iface->stop_async = berth_test_scratchvm_stop_async;
  iface->exec_async = berth_test_scratchvm_exec_async;
  iface->exec_finish = berth_test_scratchvm_exec_finish;
  iface->write_file_async = berth_test_scratchvm_write_file_async;
  iface->copy_in_async = berth_test_scratchvm_copy_in_async;
}

BERTH_PLUGIN_DEFINE (berth_test_scratchvm)
