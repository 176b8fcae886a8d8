/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-k3s-guest.h"

/* ---- what goes into the guest ------------------------------------------- */

gchar *
berth_k3s_guest_config_yaml (guint port, gboolean traefik, gboolean flannel, const gchar *engine)
{
  GString *yaml
      = g_string_new ("# Written by Berth at every start of Kubernetes; edits are lost.\n");

  g_string_append_printf (yaml, "https-listen-port: %u\n", port);
  /* The host reads it over SSH as the user. */
  g_string_append (yaml, "write-kubeconfig-mode: \"0644\"\n");
  if (!traefik)
    g_string_append (yaml, "disable:\n  - traefik\n");
  if (!flannel)
    g_string_append (yaml, "flannel-backend: none\ndisable-network-policy: true\n");
  if (g_strcmp0 (engine, "containerd") == 0)
    g_string_append (yaml, "container-runtime-endpoint: unix:///run/containerd/containerd.sock\n");
  else
    g_string_append (yaml, "docker: true\n");
  return g_string_free (yaml, FALSE);
}

const gchar *
berth_k3s_guest_run_script (void)
{
  return "#!/bin/sh\n"
         "# Berth: k3s under the guest's init, which runs this again when it ends.\n"
         "# The pid first: a stop from now on ends this run, k3s or not yet.\n"
         "mkdir -p /run/berth-k3s\n"
         "echo $$ >/run/berth-k3s/k3s.pid\n"
         "# Not at once after a crash: init would spin.\n"
         "sleep 1\n"
         "exec >>" BERTH_K3S_GUEST_LOG " 2>&1\n"
         "# Kubernetes starts after the engine (Berth's guest marks it ready).\n"
         "if [ -d /run/berth-guest ]; then\n"
         "  i=0\n"
         "  while [ ! -e /run/berth-guest/engine-ready ] && [ $i -lt 300 ]; do\n"
         "    sleep 1; i=$((i + 1))\n"
         "  done\n"
         "fi\n"
         "echo \"berth-k3s: starting k3s server ($(date))\"\n"
         "exec " BERTH_K3S_GUEST_BINARY " server --config " BERTH_K3S_GUEST_CONFIG "\n";
}

const gchar *
berth_k3s_guest_systemd_unit (void)
{
  return "# Written by Berth.\n"
         "[Unit]\n"
         "Description=k3s for Berth\n"
         "After=network-online.target containerd.service docker.service\n"
         "\n"
         "[Service]\n"
         "Type=simple\n"
         "ExecStart=" BERTH_K3S_GUEST_RUN "\n"
         "KillMode=process\n"
         "Restart=always\n"
         "RestartSec=2\n"
         "\n"
         "[Install]\n"
         "WantedBy=multi-user.target\n";
}

const gchar *
berth_k3s_guest_install_script (void)
{
  return "set -eu\n"
         "version=$1 binary=$2 images=${3:-}\n"
         "mkdir -p /usr/local/bin /etc/rancher/k3s /var/lib/rancher/k3s/agent/images\n"
         "# A kubeconfig of an earlier run must not pass for this one's.\n"
         "rm -f " BERTH_K3S_GUEST_KUBECONFIG "\n"
         "chmod 0755 \"$binary\"\n"
         "mv -f \"$binary\" " BERTH_K3S_GUEST_BINARY "\n"
         "for tool in kubectl crictl ctr; do ln -sf k3s \"/usr/local/bin/$tool\"; done\n"
         "rm -f /var/lib/rancher/k3s/agent/images/k3s-airgap-images-*\n"
         "if [ -n \"$images\" ]; then\n"
         "  mv -f \"$images\" /var/lib/rancher/k3s/agent/images/\n"
         "fi\n"
         "echo \"$version\" >" BERTH_K3S_GUEST_VERSION ".tmp\n"
         "mv -f " BERTH_K3S_GUEST_VERSION ".tmp " BERTH_K3S_GUEST_VERSION "\n";
}

/* Which init runs the service: systemd, busybox init (Berth's guest), or
 * neither (a loop of our own under setsid). */
#define DETECT_INIT                                                                                \
  "if [ -d /run/systemd/system ]; then init=systemd\n"                                             \
  "elif [ -f /etc/inittab ] && readlink /proc/1/exe 2>/dev/null | grep -q busybox; then\n"         \
  "  init=busybox\n"                                                                               \
  "else init=loop; fi\n"

#define INITTAB_LINE "::respawn:" BERTH_K3S_GUEST_RUN

#define STOP_SERVICE                                                                               \
  "case $init in\n"                                                                                \
  "systemd) systemctl disable --now berth-k3s.service >/dev/null 2>&1 || true ;;\n"                \
  "busybox)\n"                                                                                     \
  "  if grep -q '" BERTH_K3S_GUEST_RUN "' /etc/inittab; then\n"                                    \
  "    grep -v '" BERTH_K3S_GUEST_RUN "' /etc/inittab >/etc/inittab.berth-k3s\n"                   \
  "    mv -f /etc/inittab.berth-k3s /etc/inittab\n"                                                \
  "    kill -HUP 1\n"                                                                              \
  "  fi ;;\n"                                                                                      \
  "esac\n"                                                                                         \
  "if [ -f /run/berth-k3s/supervisor.pid ]; then\n"                                                \
  "  kill \"$(cat /run/berth-k3s/supervisor.pid)\" 2>/dev/null || true\n"                          \
  "  rm -f /run/berth-k3s/supervisor.pid\n"                                                        \
  "fi\n"                                                                                           \
  "if [ -f /run/berth-k3s/k3s.pid ]; then\n"                                                       \
  "  pid=$(cat /run/berth-k3s/k3s.pid)\n"                                                          \
  "  kill \"$pid\" 2>/dev/null || true\n"                                                          \
  "  i=0\n"                                                                                        \
  "  while kill -0 \"$pid\" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done\n"     \
  "  kill -KILL \"$pid\" 2>/dev/null || true\n"                                                    \
  "  rm -f /run/berth-k3s/k3s.pid\n"                                                               \
  "fi\n"

const gchar *
berth_k3s_guest_start_script (void)
{
  return "set -eu\n" DETECT_INIT STOP_SERVICE "mkdir -p /run/berth-k3s\n"
         "case $init in\n"
         "systemd)\n"
         "  systemctl daemon-reload\n"
         "  systemctl enable --now berth-k3s.service ;;\n"
         "busybox)\n"
         "  echo '" INITTAB_LINE "' >>/etc/inittab\n"
         "  kill -HUP 1 ;;\n"
         "loop)\n"
         "  # No init to ask: a loop of our own starts k3s again when it ends.\n"
         "  setsid sh -c 'echo $$ >/run/berth-k3s/supervisor.pid; "
         "while :; do " BERTH_K3S_GUEST_RUN "; done' </dev/null >/dev/null 2>&1 &\n"
         "  ;;\n"
         "esac\n"
         "echo \"berth-k3s: k3s runs under $init\"\n";
}

const gchar *
berth_k3s_guest_stop_script (void)
{
  return "set -eu\n" DETECT_INIT STOP_SERVICE;
}

const gchar *
berth_k3s_guest_delete_state_script (void)
{
  return "set -eu\n" DETECT_INIT STOP_SERVICE
         "rm -rf /var/lib/kubelet /var/lib/rancher/k3s/data /var/lib/rancher/k3s/server \\\n"
         "  /var/lib/rancher/k3s/storage /etc/rancher/k3s /run/k3s\n"
         "if [ \"${1:-}\" = wipe ]; then\n"
         "  rm -rf /var/lib/rancher/k3s/agent\n"
         "fi\n";
}

/* ---- running steps --------------------------------------------------------- */

typedef enum
{
  STEP_SCRIPT,
  STEP_WRITE,
  STEP_COPY,
} StepKind;

struct _BerthK3sGuestStep
{
  StepKind kind;
  gchar *what;
  GStrv argv;      /* STEP_SCRIPT */
  gchar *path;     /* the guest's */
  gchar *source;   /* STEP_COPY: the host's */
  GBytes *content; /* STEP_WRITE */
  guint mode;
};

void
berth_k3s_guest_step_free (BerthK3sGuestStep *step)
{
  if (step == NULL)
    return;
  g_free (step->what);
  g_strfreev (step->argv);
  g_free (step->path);
  g_free (step->source);
  g_clear_pointer (&step->content, g_bytes_unref);
  g_free (step);
}

BerthK3sGuestStep *
berth_k3s_guest_step_script (const gchar *what, const gchar *script, const gchar *const *args)
{
  BerthK3sGuestStep *step = g_new0 (BerthK3sGuestStep, 1);
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  step->kind = STEP_SCRIPT;
  step->what = g_strdup (what);
  g_strv_builder_add_many (builder, "sudo", "-n", "sh", "-c", script, "sh", NULL);
  for (gsize i = 0; args != NULL && args[i] != NULL; i++)
    g_strv_builder_add (builder, args[i]);
  step->argv = g_strv_builder_end (builder);
  return step;
}

BerthK3sGuestStep *
berth_k3s_guest_step_write (const gchar *what, const gchar *guest_path, const gchar *contents,
                            guint mode)
{
  BerthK3sGuestStep *step = g_new0 (BerthK3sGuestStep, 1);

  step->kind = STEP_WRITE;
  step->what = g_strdup (what);
  step->path = g_strdup (guest_path);
  step->content = g_bytes_new (contents, strlen (contents));
  step->mode = mode;
  return step;
}

BerthK3sGuestStep *
berth_k3s_guest_step_copy (const gchar *what, const gchar *host_path, const gchar *guest_path)
{
  BerthK3sGuestStep *step = g_new0 (BerthK3sGuestStep, 1);

  step->kind = STEP_COPY;
  step->what = g_strdup (what);
  step->source = g_strdup (host_path);
  step->path = g_strdup (guest_path);
  return step;
}

typedef struct
{
  BerthBackend *backend;
  GPtrArray *steps;
  guint next;
} GuestRun;

static void
guest_run_free (GuestRun *run)
{
  g_object_unref (run->backend);
  g_ptr_array_unref (run->steps);
  g_free (run);
}

/* The last lines of @bytes, at most @max characters, as valid UTF-8. */
static gchar *
tail_text (GBytes *bytes, gsize max)
{
  gsize size = 0;
  const gchar *data = bytes != NULL ? g_bytes_get_data (bytes, &size) : NULL;
  g_autofree gchar *valid = NULL;

  if (data == NULL || size == 0)
    return g_strdup ("");
  if (size > max)
    {
      data += size - max;
      size = max;
    }
  valid = g_utf8_make_valid (data, (gssize)size);
  return g_strdup (g_strstrip (valid));
}

static void
guest_run_next (GTask *task);

static void
guest_step_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GuestRun *run = g_task_get_task_data (task);
  BerthK3sGuestStep *step = g_ptr_array_index (run->steps, run->next - 1);
  g_autoptr (GError) error = NULL;
  gboolean ok = FALSE;

  switch (step->kind)
    {
    case STEP_SCRIPT:
      {
        g_autoptr (BerthSubprocessResult) done
            = berth_backend_exec_finish (BERTH_BACKEND (source), result, &error);

        if (done != NULL && done->exit_status == 0)
          ok = TRUE;
        else if (done != NULL)
          {
            g_autofree gchar *err = tail_text (done->stderr_bytes, 600);
            g_autofree gchar *out = tail_text (done->stdout_bytes, 300);

            g_set_error (&error, BERTH_ERROR, BERTH_ERROR_BACKEND,
                         "%s in the VM failed with status %d: %s", step->what, done->exit_status,
                         err[0] != '\0' ? err : (out[0] != '\0' ? out : "(it printed nothing)"));
          }
        break;
      }
    case STEP_WRITE:
      ok = berth_backend_write_file_finish (BERTH_BACKEND (source), result, &error);
      break;
    case STEP_COPY:
    default:
      ok = berth_backend_copy_in_finish (BERTH_BACKEND (source), result, &error);
      break;
    }
  if (!ok)
    {
      if (step->kind != STEP_SCRIPT)
        g_prefix_error (&error, "%s: ", step->what);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  guest_run_next (g_steal_pointer (&task));
}

static void
guest_run_next (GTask *task)
{
  GuestRun *run = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  BerthK3sGuestStep *step;

  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }
  if (run->next >= run->steps->len)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  step = g_ptr_array_index (run->steps, run->next++);
  g_debug ("In the VM: %s", step->what);
  switch (step->kind)
    {
    case STEP_SCRIPT:
      berth_backend_exec_async (run->backend, (const gchar *const *)step->argv, NULL, cancellable,
                                guest_step_done, task);
      break;
    case STEP_WRITE:
      berth_backend_write_file_async (run->backend, step->path, step->content, step->mode,
                                      cancellable, guest_step_done, task);
      break;
    case STEP_COPY:
    default:
      berth_backend_copy_in_async (run->backend, step->source, step->path, cancellable,
                                   guest_step_done, task);
      break;
    }
}

void
berth_k3s_guest_run_async (BerthBackend *backend, GPtrArray *steps, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;
  GuestRun *run;

  g_return_if_fail (BERTH_IS_BACKEND (backend));
  g_return_if_fail (steps != NULL);

  task = g_task_new (backend, cancellable, callback, user_data);
  g_task_set_source_tag (task, berth_k3s_guest_run_async);
  run = g_new0 (GuestRun, 1);
  run->backend = g_object_ref (backend);
  run->steps = steps;
  g_task_set_task_data (task, run, (GDestroyNotify)guest_run_free);
  guest_run_next (task);
}

gboolean
berth_k3s_guest_run_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (G_IS_TASK (result), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, berth_k3s_guest_run_async), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
