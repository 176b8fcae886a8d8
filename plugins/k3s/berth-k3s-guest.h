/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <berth.h>

G_BEGIN_DECLS

/* What k3s is in the guest: where its files go, its configuration, the
 * service that keeps it running under the guest's init, and the scripts that
 * install, stop and reset it — and a runner that does a list of such steps
 * in the guest through a BerthBackend, one after the other. */

#define BERTH_K3S_GUEST_BINARY "/usr/local/bin/k3s"
#define BERTH_K3S_GUEST_CONFIG "/etc/rancher/k3s/config.yaml"
#define BERTH_K3S_GUEST_KUBECONFIG "/etc/rancher/k3s/k3s.yaml"
#define BERTH_K3S_GUEST_VERSION "/var/lib/rancher/k3s/version"
#define BERTH_K3S_GUEST_LOG "/var/log/k3s.log"
#define BERTH_K3S_GUEST_LIBDIR "/usr/local/lib/berth-k3s"
#define BERTH_K3S_GUEST_RUN BERTH_K3S_GUEST_LIBDIR "/run"
#define BERTH_K3S_GUEST_UNIT "/etc/systemd/system/berth-k3s.service"
#define BERTH_K3S_GUEST_STAGING "/var/lib/berth-k3s/staging"

/* k3s' configuration file (its flags as YAML keys): the API port, traefik
 * and flannel as kubernetes.options say, and the container runtime for
 * @engine ("moby": dockerd; "containerd": the guest's containerd). */
gchar *
berth_k3s_guest_config_yaml (guint port, gboolean traefik, gboolean flannel, const gchar *engine);

/* The program the guest's init runs (and runs again when it ends): waits
 * for the engine, then execs k3s server with the configuration. */
const gchar *
berth_k3s_guest_run_script (void);
/* The systemd unit for guests with systemd (Restart=always). */
const gchar *
berth_k3s_guest_systemd_unit (void);

/* sh scripts, run as root with positional arguments:
 * install VERSION BINARY [IMAGES]: moves the staged binary to
 *   /usr/local/bin/k3s with its kubectl, crictl and ctr links, the air-gap
 *   images into k3s' images directory, and persists VERSION;
 * start: registers the service with the guest's init (systemd, busybox
 *   init's inittab with respawn, else a supervising loop) and (re)starts it;
 * stop: takes the service out and ends k3s;
 * delete-state [wipe]: stop, then removes what the seed's deleteKubeState
 *   lists (with "wipe", also k3s' images and all of /var/lib/rancher/k3s). */
const gchar *
berth_k3s_guest_install_script (void);
const gchar *
berth_k3s_guest_start_script (void);
const gchar *
berth_k3s_guest_stop_script (void);
const gchar *
berth_k3s_guest_delete_state_script (void);

/* One step in the guest. */
typedef struct _BerthK3sGuestStep BerthK3sGuestStep;

/* Runs @script as root ("sudo -n sh -c SCRIPT sh ARGS…"); @args ends with
 * NULL. @what names it in errors ("installing k3s"). */
BerthK3sGuestStep *
berth_k3s_guest_step_script (const gchar *what, const gchar *script, const gchar *const *args);
BerthK3sGuestStep *
berth_k3s_guest_step_write (const gchar *what, const gchar *guest_path, const gchar *contents,
                            guint mode);
BerthK3sGuestStep *
berth_k3s_guest_step_copy (const gchar *what, const gchar *host_path, const gchar *guest_path);
void
berth_k3s_guest_step_free (BerthK3sGuestStep *step);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthK3sGuestStep, berth_k3s_guest_step_free)

/* Runs @steps (element type BerthK3sGuestStep, taken) in order; the first
 * failure ends the run with an error naming the step, the exit status and
 * the end of what it printed. */
void
berth_k3s_guest_run_async (BerthBackend *backend, GPtrArray *steps, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);
gboolean
berth_k3s_guest_run_finish (GAsyncResult *result, GError **error);

G_END_DECLS
