/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Finding QEMU, choosing the accelerator and the boot mode, and building
 * QEMU's command line. Nothing here touches the main loop: the functions
 * that wait (the version query, the KVM probe) are for worker threads. */

typedef enum
{
  BERTH_LIMA_ACCEL_TCG,
  BERTH_LIMA_ACCEL_KVM,
} BerthLimaAccel;

const gchar *
berth_lima_accel_to_string (BerthLimaAccel accel);

typedef enum
{
  BERTH_LIMA_BOOT_AUTO,
  BERTH_LIMA_BOOT_KERNEL, /* -kernel/-initrd/-append; the disk holds the root file system */
  BERTH_LIMA_BOOT_DISK,   /* the firmware boots the disk's own boot loader */
} BerthLimaBootMode;

const gchar *
berth_lima_boot_mode_to_string (BerthLimaBootMode mode);
/* "auto", "kernel" or "disk"; NULL or "" is auto. The error
 * (BERTH_ERROR_INVALID_SETTING) names @what (the option) and the value. */
gboolean
berth_lima_boot_mode_parse (const gchar *text, const gchar *what, BerthLimaBootMode *mode_out,
                            GError **error);

/* The boot mode, after opengcs: a requested mode needs its files, and a
 * missing one is an error naming it (BERTH_ERROR_NOT_FOUND); "auto" takes
 * kernel+initrd when both exist, else a bootable disk. @kernel and @initrd
 * may be NULL (the image has none); @disk_bootable says whether @disk has a
 * boot loader (a downloaded cloud image) or is a bare root file system (the
 * image Berth builds). */
gboolean
berth_lima_boot_mode_resolve (BerthLimaBootMode requested, const gchar *kernel, const gchar *initrd,
                              const gchar *disk, gboolean disk_bootable,
                              BerthLimaBootMode *actual_out, GError **error);

/* Seconds to wait for the guest's ready marker: @option_seconds when not 0,
 * else $BERTH_BOOT_TIMEOUT when set (a positive integer; anything else is an
 * error naming the variable and its value), else the default. @source_out
 * (may be NULL) receives "option", "BERTH_BOOT_TIMEOUT" or "default". */
#define BERTH_LIMA_BOOT_TIMEOUT_DEFAULT 300
gboolean
berth_lima_boot_timeout (guint option_seconds, guint *seconds_out, const gchar **source_out,
                         GError **error);

/* "QEMU_SYSTEM_X86_64" or "QEMU_SYSTEM_AARCH64" for @arch ("x86_64",
 * "aarch64"); NULL for an architecture Berth does not run. */
const gchar *
berth_lima_qemu_env_var (const gchar *arch);
/* The QEMU binary for @arch: $QEMU_SYSTEM_<ARCH> when set (it must be an
 * executable file), else qemu-system-<arch> from PATH. The error
 * (BERTH_ERROR_NOT_FOUND) says what was looked for, where, and how to
 * install QEMU (the Debian package name). */
gchar *
berth_lima_qemu_find (const gchar *arch, GError **error);
/* The Debian package that has qemu-system-@arch. */
const gchar *
berth_lima_qemu_package (const gchar *arch);
/* The first line of `qemu --version`. Blocking. */
gchar *
berth_lima_qemu_get_version (const gchar *qemu, GCancellable *cancellable, GError **error);

/* What QEMU runs. Paths are absolute; NULL members are left out. */
typedef struct
{
  const gchar *qemu;
  const gchar *arch; /* "x86_64" or "aarch64" */
  BerthLimaAccel accel;
  guint cpus;
  guint64 memory_bytes;
  BerthLimaBootMode boot_mode; /* KERNEL or DISK (resolved) */
  const gchar *kernel;         /* KERNEL mode */
  const gchar *initrd;         /* KERNEL mode */
  const gchar *append;         /* KERNEL mode: the kernel command line */
  const gchar *diffdisk;       /* qcow2, the root disk */
  const gchar *cidata_iso;     /* attached read-only as a virtio disk */
  guint16 ssh_port;            /* 127.0.0.1:<port> → guest:22 */
  const gchar *qmp_sock;
  const gchar *serial_log;
  /* 9p shares: host path i has the tag "mount<i>" (berth_lima_mount_tag). */
  const gchar *const *share_paths;
  const gboolean *share_writable;
} BerthLimaQemuSpec;

/* The command line, argv[0] = spec->qemu. */
GStrv
berth_lima_qemu_build_argv (const BerthLimaQemuSpec *spec);

/* Whether /dev/kvm opens read-write; FALSE with the reason (errno's text). */
gboolean
berth_lima_kvm_usable (gchar **reason_out);

/* Chooses the accelerator. @requested is "tcg", "kvm" or "auto":
 *   tcg   TCG, no questions;
 *   kvm   KVM; an error when /dev/kvm does not open;
 *   auto  KVM when /dev/kvm opens and a probe boot of @kernel under KVM
 *         prints "Linux version" on its console within
 *         BERTH_LIMA_KVM_PROBE_SECONDS (nested KVM can accept a VM and then
 *         hang it), else TCG.
 * The probe's result is cached in @cache_file (JSON, keyed by the QEMU
 * version line and the host kernel release); @cache_file NULL disables the
 * cache. @reason_out receives a sentence for people saying why this
 * accelerator ("KVM: ...", "TCG (software emulation, slower): ..."). Blocking:
 * the probe takes up to the probe time. */
#define BERTH_LIMA_KVM_PROBE_SECONDS 5
gboolean
berth_lima_accel_choose (const gchar *requested, const gchar *qemu, const gchar *arch,
                         const gchar *kernel, const gchar *cache_file, GCancellable *cancellable,
                         BerthLimaAccel *accel_out, gchar **reason_out, GError **error);

/* A TCP port on 127.0.0.1 that nothing listens on now. */
guint16
berth_lima_find_free_port (GError **error);

G_END_DECLS
