/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The paths of one instance in Lima's layout, under <lima_root>/<name>/. */
typedef struct
{
  gchar *name;
  gchar *dir;           /* <lima_root>/<name> */
  gchar *lima_yaml;     /* <dir>/lima.yaml */
  gchar *cidata_iso;    /* <dir>/cidata.iso */
  gchar *basedisk;      /* <dir>/basedisk */
  gchar *diffdisk;      /* <dir>/diffdisk (qcow2 over basedisk) */
  gchar *kernel;        /* <dir>/kernel: the image's kernel, copied or linked */
  gchar *initrd;        /* <dir>/initrd: the image's initrd, copied or linked */
  gchar *qemu_pid;      /* <dir>/qemu.pid */
  gchar *qmp_sock;      /* see the socket rule below */
  gchar *serial_log;    /* <dir>/serial.log */
  gchar *ssh_sock;      /* see the socket rule below */
  gchar *ha_pid;        /* <dir>/ha.pid */
  gchar *ha_stdout_log; /* <dir>/ha.stdout.log (JSON lines) */
  gchar *ha_stderr_log; /* <dir>/ha.stderr.log */
  gchar *ssh_config;    /* <dir>/ssh.config */
} BerthLimaInstance;

/* Longest ssh.sock path kept in the instance directory: sun_path holds 108
 * bytes with the NUL, and OpenSSH binds a ControlMaster socket as
 * "<path>.XXXXXXXXXXXXXXXX" (17 more bytes) before renaming it:
 * 108 - 1 - 17 = 90. */
#define BERTH_LIMA_SSH_SOCK_MAX 90
/* Longest qmp.sock path kept in the instance directory: QEMU binds the path
 * itself, so only sun_path's limit counts; Lima keeps 104 (macOS) as the
 * bound, and so does Berth: paths of 104 bytes or more fall back. */
#define BERTH_LIMA_QMP_SOCK_MAX 103

/* The socket rule:
 *   ssh_sock = "<dir>/ssh.sock" when that is at most BERTH_LIMA_SSH_SOCK_MAX
 *              (90) bytes long, else "<runtime_dir>/<hash>.ssh";
 *   qmp_sock = "<dir>/qmp.sock" when that is at most BERTH_LIMA_QMP_SOCK_MAX
 *              (103) bytes long, else "<runtime_dir>/<hash>.qmp";
 * where <hash> is the first 16 hex digits of the SHA-256 of <dir>, so that
 * two instances never share a fallback socket. @runtime_dir is a short
 * private directory such as $XDG_RUNTIME_DIR/berth; NULL means
 * g_get_user_runtime_dir()/berth. The fallback is not checked against the
 * limit again: a runtime directory that long leaves nothing shorter to use,
 * and binding reports it. */
BerthLimaInstance *
berth_lima_instance_new (const gchar *lima_root, const gchar *name, const gchar *runtime_dir);
void
berth_lima_instance_free (BerthLimaInstance *instance);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthLimaInstance, berth_lima_instance_free)

/* mkdir -p the instance directory with mode 0700 (and the runtime directory,
 * 0700, when a socket falls back into it). An existing instance directory
 * is set to 0700; an existing runtime directory is left as it is (it may be
 * shared). */
gboolean
berth_lima_instance_ensure_dir (BerthLimaInstance *instance, GError **error);

/* Lima's rule for instance names: [A-Za-z0-9][A-Za-z0-9._-]*, at most 60
 * characters (so no name starts with "_", which _config uses). The error
 * (BERTH_ERROR_INVALID_SETTING) names the value and the rule. */
#define BERTH_LIMA_NAME_MAX 60
gboolean
berth_lima_validate_name (const gchar *name, GError **error);

/* The SSH identity of all instances: <lima_root>/_config/user (private key,
 * 0600) and user.pub, made on first use with
 * `ssh-keygen -q -t ed25519 -N "" -C berth`; _config is 0700. Later calls
 * reuse the key (a missing user.pub is derived again from user with
 * `ssh-keygen -y`). @public_key_out receives the public key line without its
 * newline. Both outputs may be NULL. */
gboolean
berth_lima_ensure_identity (const gchar *lima_root, gchar **private_key_path_out,
                            gchar **public_key_out, GError **error);

G_END_DECLS
