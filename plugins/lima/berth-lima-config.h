/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "berth-settings.h"

G_BEGIN_DECLS

/* One instance's configuration, from the settings: what lima.yaml records and
 * what the cidata ISO and the QEMU command line are made from. */
typedef struct
{
  gchar *location;    /* host path */
  gchar *mount_point; /* guest path; the same as location for $HOME */
  gboolean writable;
  gchar *type; /* "9p" or "reverse-sshfs" */
} BerthLimaMount;

typedef struct
{
  gchar *mode;   /* "system" or "user" */
  gchar *script; /* shell script text, starting with #! */
} BerthLimaProvision;

typedef struct
{
  gchar *name; /* instance name, "0" by default */
  gchar *arch; /* "x86_64" or "aarch64" */
  guint cpus;
  guint64 memory_bytes;
  guint64 disk_bytes;
  gchar *container_engine; /* "moby" or "containerd" */
  gchar *accel;            /* "auto", "kvm" or "tcg" as set; the chosen one is in info */
  gchar *boot_mode;        /* "auto", "kernel" or "disk" */
  guint boot_timeout_seconds;
  GPtrArray *mounts;      /* BerthLimaMount* */
  GPtrArray *provisions;  /* BerthLimaProvision* */
  guint16 ssh_local_port; /* chosen at start; 0 before */
  gchar *user;            /* guest user name */
  guint uid;
  gchar *home;           /* guest home directory */
  gchar *ssh_public_key; /* contents of _config/user.pub */
  GHashTable *env;       /* etc_environment: name → value */
  /* From the settings: what the guest trusts and which proxy it uses. */
  gchar *ca_certificates_file; /* virtualMachine.caCertificates.file; NULL: none */
  gboolean proxy_from_host;    /* virtualMachine.proxy.fromHost */
  /* Made at start (berth-lima-trust.h) for cidata. */
  gchar *ca_certificates; /* PEM: this host's and the file's CAs; NULL: none */
  GStrv proxy_env;        /* "NAME=VALUE" for the engine and k3s; NULL: none */
} BerthLimaConfig;

BerthLimaConfig *
berth_lima_config_new (const gchar *name);
void
berth_lima_config_free (BerthLimaConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthLimaConfig, berth_lima_config_free)
void
berth_lima_config_add_mount (BerthLimaConfig *config, const gchar *location,
                             const gchar *mount_point, gboolean writable, const gchar *type);
void
berth_lima_config_add_provision (BerthLimaConfig *config, const gchar *mode, const gchar *script);

/* The guest user when the host user is root or has a name the guest refuses
 * (Lima uses "lima" the same way). */
#define BERTH_LIMA_FALLBACK_USER "berth"
#define BERTH_LIMA_FALLBACK_UID 1000

/* Whether the guest accepts @user as a user name: [a-z_][a-z0-9_.-]*, at
 * most 32 bytes, not "root". */
gboolean
berth_lima_is_valid_user_name (const gchar *user);

/* A configuration for instance @name from the settings:
 * virtualMachine.{memoryInGB,numberCPUs,diskSizeGiB,accel,mount.type} and
 * containerEngine.name, virtualMachine.caCertificates.file and
 * virtualMachine.proxy.fromHost. The guest user is the host's (g_get_user_name(),
 * getuid()) with home "/home/<user>.linux", as Lima does: the guest home is
 * never the host's home, which is shared at its own path and would hide the
 * guest's ~/.ssh. When the host user is root (uid 0), or its name is not a
 * Linux user name the guest accepts ([a-z_][a-z0-9_.-]*, at most 32), the
 * guest user is "berth", uid 1000, home /home/berth.linux. One mount: the
 * host's home directory (g_get_home_dir()) at the same path, writable, of
 * the settings' mount type. Checks against the host (memory, CPUs) are the
 * backend's. */
BerthLimaConfig *
berth_lima_config_new_from_settings (const gchar *name, BerthSettings *settings, GError **error);

G_END_DECLS
