/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <berth-plugin.h>

G_BEGIN_DECLS

/* The QEMU backend in Lima's instance layout: a BerthPlugin that implements
 * BerthBackend. One object drives one instance, named by the property
 * "instance-name" (default: $BERTH_INSTANCE, else "0", as Rancher Desktop
 * names its Lima instance).
 *
 * Properties besides the backend's "state" and "state-reason":
 *   "instance-name"  gchar*   the instance; changed only while stopped
 *   "boot-mode"      gchar*   "auto" (default), "kernel" or "disk";
 *                             $BERTH_BOOT_MODE when the property is "auto"
 *   "boot-timeout"   guint    seconds to wait for the guest's ready marker;
 *                             0 (default): $BERTH_BOOT_TIMEOUT, else 300
 *   "stop-timeout"   guint    seconds a graceful stop waits for the guest to
 *                             power off before QEMU is told to quit (30)
 *
 * start: settings checked against this host (memory, CPUs, disk ≥ 10 GiB and
 * never smaller than the disk already is), QEMU and its tools found, the
 * guest image built or downloaded, the instance directory written (Lima's
 * layout), the accelerator chosen, QEMU started as a child of this process,
 * the serial console watched for "berth-guest: ready", the SSH ControlMaster
 * opened: then STARTED. stop: the ACPI power button over QMP, QMP quit after
 * "stop-timeout", SIGKILL 5 s later. While running, QEMU's exit is noticed at
 * once (ERROR, with the end of serial.log; a guest that powered itself off
 * is STOPPED) and its QMP run state is read every 5 s (a VM paused on a disk
 * error or panicked is ERROR). delete stops the VM and removes the instance
 * directory.
 *
 * info() is an object with: backend, instance, instanceDir, state, arch,
 * cpus, memoryInGB, diskSizeGiB, containerEngine, accel ("kvm"/"tcg", null
 * before the first start), accelReason, bootMode, image, qemu, qemuPid,
 * qemuStatus, sshAddress, sshPort, sshUser, sshIdentityFile, sshControlPath,
 * sshOptions (ssh's arguments before "-p PORT USER@ADDRESS"), sshConfigFile,
 * serialLog. */
#define BERTH_LIMA_TYPE_PLUGIN (berth_lima_plugin_get_type ())
G_DECLARE_FINAL_TYPE (BerthLimaPlugin, berth_lima_plugin, BERTH_LIMA, PLUGIN, BerthPlugin)

G_END_DECLS
