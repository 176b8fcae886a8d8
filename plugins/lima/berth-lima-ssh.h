/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "berth-subprocess.h"

G_BEGIN_DECLS

/* SSH into the guest: OpenSSH's ssh with Berth's identity, to the port QEMU
 * forwards on 127.0.0.1, through one ControlMaster connection whose socket is
 * the instance's ssh.sock. Every call here blocks (worker threads only). The
 * guest's host key is new with each instance and is not recorded, as Lima
 * does: the port is on the loopback interface and the key authenticates the
 * user. */
typedef struct
{
  gchar *identity_file; /* private key: <lima>/_config/user */
  gchar *control_path;  /* ssh.sock */
  gchar *user;
  gchar *host; /* "127.0.0.1" */
  guint16 port;
  gchar *logs_dir;  /* for berth_subprocess_* logs; NULL: the default */
  gchar *component; /* log component, "lima" */
} BerthLimaSsh;

BerthLimaSsh *
berth_lima_ssh_new (const gchar *identity_file, const gchar *control_path, const gchar *user,
                    guint16 port, const gchar *logs_dir);
BerthLimaSsh *
berth_lima_ssh_copy (const BerthLimaSsh *ssh);
void
berth_lima_ssh_free (BerthLimaSsh *ssh);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthLimaSsh, berth_lima_ssh_free)

/* The options every connection uses, without -p and the destination: -F
 * /dev/null (no ssh_config), -i <identity>, -S <control path>, and "-o"
 * "Name=value" pairs. For callers that run ssh themselves (`berthctl
 * shell`, through info()'s "sshOptions"). */
GStrv
berth_lima_ssh_options (const BerthLimaSsh *ssh);
/* ssh [options] -p PORT [@extra…] USER@HOST [-- REMOTE]: @remote_argv is
 * quoted for the guest's shell, one word per element; NULL runs nothing
 * (for -N and -O). */
GStrv
berth_lima_ssh_build_argv (const BerthLimaSsh *ssh, const gchar *const *extra,
                           const gchar *const *remote_argv);

/* Opens the ControlMaster (ssh -fN -o ControlMaster=yes -o
 * ControlPersist=yes) and returns when it is up. Tries again while the
 * guest's sshd does not take connections yet, until @timeout_seconds. */
gboolean
berth_lima_ssh_start_master (BerthLimaSsh *ssh, guint timeout_seconds, GCancellable *cancellable,
                             GError **error);
/* ssh -O check: whether the master answers. */
gboolean
berth_lima_ssh_check_master (BerthLimaSsh *ssh, GCancellable *cancellable);
/* ssh -O exit, and the socket file removed. Never fails loudly. */
void
berth_lima_ssh_stop_master (BerthLimaSsh *ssh);

/* Runs @argv in the guest as the user; a non-zero status is in the result,
 * not an error. */
BerthSubprocessResult *
berth_lima_ssh_exec (BerthLimaSsh *ssh, const gchar *const *argv, GBytes *stdin_bytes,
                     GCancellable *cancellable, GError **error);
/* Writes @contents to @guest_path (absolute) as root through sudo, with
 * @mode, creating its directory; atomic in the guest (temporary file, then
 * mv). */
gboolean
berth_lima_ssh_write_file (BerthLimaSsh *ssh, const gchar *guest_path, GBytes *contents, guint mode,
                           GCancellable *cancellable, GError **error);
/* Copies the host file or directory @host_path to @guest_path (absolute),
 * as root: a file keeps its mode; a directory's contents replace what
 * @guest_path held (streamed as a tar archive). */
gboolean
berth_lima_ssh_copy_in (BerthLimaSsh *ssh, const gchar *host_path, const gchar *guest_path,
                        GCancellable *cancellable, GError **error);
/* Makes the guest's UNIX socket @guest_path answer at @host_path, through
 * the master (ssh -O forward -L host:guest). A stale @host_path is removed
 * first. The forward lasts as long as the master. */
gboolean
berth_lima_ssh_forward_socket (BerthLimaSsh *ssh, const gchar *guest_path, const gchar *host_path,
                               GCancellable *cancellable, GError **error);
/* The -L argument for a TCP forward from 127.0.0.1:@host_port on the host
 * to @target:@guest_port as the guest sees it ("127.0.0.1:8080:[::1]:8080":
 * an IPv6 @target in brackets). NULL when @target is not an IP address. */
gchar *
berth_lima_ssh_port_forward_spec (guint16 host_port, const gchar *target, guint16 guest_port);
/* Makes @target:@guest_port in the guest answer at 127.0.0.1:@host_port,
 * through the master (ssh -O forward). BERTH_ERROR_BUSY when the master
 * could not bind the host port (another program has it). */
gboolean
berth_lima_ssh_forward_port (BerthLimaSsh *ssh, guint16 host_port, const gchar *target,
                             guint16 guest_port, GCancellable *cancellable, GError **error);
/* Ends a forward made by berth_lima_ssh_forward_port (ssh -O cancel, with
 * the same arguments). */
gboolean
berth_lima_ssh_cancel_port_forward (BerthLimaSsh *ssh, guint16 host_port, const gchar *target,
                                    guint16 guest_port, GCancellable *cancellable, GError **error);
/* An ssh_config(5) file: `ssh -F <path> <host_alias>` reaches the guest. */
gboolean
berth_lima_ssh_write_config (const BerthLimaSsh *ssh, const gchar *path, const gchar *host_alias,
                             GError **error);

G_END_DECLS
