/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "berth-wsl-exe.h"

G_BEGIN_DECLS

/* The WSL backend's sequences, after Rancher Desktop's WSL backend: the
 * distributions registered, upgraded and mounted, the guest's files written.
 * Every function blocks (it runs wsl.exe): worker threads only. */

#define BERTH_WSL_DISTRO "berth"
#define BERTH_WSL_DATA_DISTRO "berth-data"
/* Where the data distribution's root is bind-mounted, in /mnt/wsl, which
 * every distribution of the WSL 2 VM shares. */
#define BERTH_WSL_DATA_MOUNT "/mnt/wsl/berth/run/data"
/* The guest's init, run by the host for as long as Berth runs. */
#define BERTH_WSL_INIT "/usr/lib/berth-guest/wsl-init"

/* The log (<logs>/wsl-init.log) of what the init prints. */
#define BERTH_WSL_INIT_LOG "wsl-init"

/* The guest's init as the host runs it: `wsl.exe --distribution berth --user
 * root --exec wsl-init`, its output read until "berth-guest: ready". */
typedef struct
{
  GSubprocess *process;
  GDataInputStream *output; /* the rest of its output, once ready */
  GPtrArray *tail;          /* gchar*: its last lines */
} BerthWslInit;

/* Runs the init with the container engine @engine and waits until it is
 * ready; an init that ends first, or says it failed, is an error quoting its
 * last lines. */
gboolean
berth_wsl_run_init (BerthWslExe *exe, const gchar *engine, BerthWslInit *init,
                    GCancellable *cancellable, GError **error);
/* Its last lines, indented, for a message. */
gchar *
berth_wsl_init_tail (const BerthWslInit *init);
/* Ends the process, if still there, and frees the rest. */
void
berth_wsl_init_clear (BerthWslInit *init);

typedef void (*BerthWslProgressFunc) (const gchar *description, gpointer user_data);

typedef struct
{
  BerthWslExe *exe;
  const gchar *distro;      /* "berth": the engine and k3s */
  const gchar *data_distro; /* "berth-data": what survives an upgrade */
  const gchar *distro_dir;  /* install locations (wsl --import's) */
  const gchar *data_dir;
  const gchar *tarball;  /* the bundled root file system */
  const gchar *work_dir; /* scratch files (the data distribution's tarball) */
  const gchar *ca_file;  /* virtualMachine.caCertificates.file; NULL or "": none */
  BerthWslProgressFunc progress;
  gpointer progress_data;

  /* Out. */
  gchar *bundled_version;   /* the tarball's VERSION_ID */
  gchar *installed_version; /* the registered distribution's, before an upgrade */
  gboolean upgraded;
  gboolean imported;
} BerthWslSetup;

void
berth_wsl_setup_clear (BerthWslSetup *setup);

/* VERSION_ID of the tarball's etc/os-release (usr/lib/os-release when that
 * is the link's target), read with libarchive without unpacking. */
gchar *
berth_wsl_tarball_version_id (const gchar *tarball, GError **error);

/* Fails with what to do when WSL 2 cannot run here (no WSL, WSL 1 only). */
gboolean
berth_wsl_check_wsl2 (BerthWslExe *exe, GCancellable *cancellable, GError **error);

/* The start's first half: upgrade when the bundled VERSION_ID is newer (the
 * data copied to the data distribution first), register (wsl --import …
 * --version 2), create or update the data distribution, terminate what runs
 * (stale processes), mount the data distribution's directories. */
gboolean
berth_wsl_setup_distributions (BerthWslSetup *setup, GCancellable *cancellable, GError **error);

/* The guest's configuration: logrotate for the engine's logs, this host's CA
 * certificates (berth_ca_bundle_load_host()) and those of setup->ca_file,
 * each once (update-ca-certificates when the distribution has it). A CA
 * file that cannot be used fails, naming the setting. */
gboolean
berth_wsl_setup_guest_files (BerthWslSetup *setup, GCancellable *cancellable, GError **error);

/* Terminates @distro; terminating one that does not run is not an error. */
gboolean
berth_wsl_terminate (BerthWslExe *exe, const gchar *distro, GCancellable *cancellable,
                     GError **error);

/* Unregisters both distributions (those registered) and removes their
 * install locations: delete, and the factory reset. */
gboolean
berth_wsl_unregister_all (BerthWslSetup *setup, GCancellable *cancellable, GError **error);

/* Writes @contents to @guest_path in @distro with @mode, through a temporary
 * name and a rename, creating its directory. */
gboolean
berth_wsl_write_file (BerthWslExe *exe, const gchar *distro, const gchar *guest_path,
                      GBytes *contents, const gchar *host_path, guint mode,
                      GCancellable *cancellable, GError **error);

G_END_DECLS
