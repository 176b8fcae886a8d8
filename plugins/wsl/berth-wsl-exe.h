/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include <berth-subprocess.h>

#include "berth-wsl-output.h"

G_BEGIN_DECLS

/* wsl.exe, run. Every call blocks: worker threads only.
 *
 * Which wsl.exe: $BERTH_WSL_EXE when set (tests point it at a fake), else
 * on Windows %SystemRoot%\System32\wsl.exe, else wsl.exe from PATH. Each
 * command line, its exit status and what wsl.exe itself printed go to
 * <logs>/wsl.log. */
typedef struct
{
  gchar *path;
  gchar *logs_dir;
} BerthWslExe;

/* NULL with an error saying that WSL is not installed and how to install it
 * (or that $BERTH_WSL_EXE names no program). */
BerthWslExe *
berth_wsl_exe_find (const gchar *logs_dir, GError **error);
void
berth_wsl_exe_free (BerthWslExe *exe);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthWslExe, berth_wsl_exe_free)

typedef struct
{
  /* NAME=VALUE added to wsl.exe's environment and named in WSLENV, so that
   * WSL passes them into the Linux side (as NAME/u: Windows to Linux);
   * NAME/p=VALUE for a host path that WSL translates (NAME/up). */
  const gchar *const *linux_env;
  GBytes *stdin_bytes;      /* or */
  const gchar *stdin_path;  /* a file given as standard input */
  const gchar *stdout_path; /* standard output into this file instead */
} BerthWslRunOptions;

/* Runs wsl.exe @args. A non-zero exit status is not an error here; failing to
 * run it is. */
BerthSubprocessResult *
berth_wsl_exe_run (BerthWslExe *exe, const gchar *const *args, const BerthWslRunOptions *options,
                   GCancellable *cancellable, GError **error);

/* What wsl.exe printed (its own messages, decoded), both streams, trimmed. */
gchar *
berth_wsl_result_text (BerthSubprocessResult *result);

/* Runs wsl.exe @args and fails unless it exits with 0; the error quotes what
 * it printed and, when Berth knows the failure, what to do. @what says what
 * was being done ("registering the WSL distribution berth"). */
gboolean
berth_wsl_exe_check (BerthWslExe *exe, const gchar *what, const gchar *const *args,
                     GCancellable *cancellable, GError **error);

/* `--list --verbose`; an empty array when no distribution is installed.
 * Element type BerthWslDistro. */
GPtrArray *
berth_wsl_exe_list (BerthWslExe *exe, GCancellable *cancellable, GError **error);

/* `--status`. An old wsl.exe without --status answers with its usage: then
 * an empty status (nothing known), not an error. */
BerthWslStatus *
berth_wsl_exe_status (BerthWslExe *exe, GCancellable *cancellable, GError **error);

/* Runs @argv in @distro (as @user, NULL: the distribution's default) through
 * `--distribution D [--user U] --exec ARGV…`. Its output passes through
 * untouched. */
BerthSubprocessResult *
berth_wsl_exe_exec (BerthWslExe *exe, const gchar *distro, const gchar *user,
                    const gchar *const *argv, const BerthWslRunOptions *options,
                    GCancellable *cancellable, GError **error);

/* The same, failing unless the command exits with 0; returns its stdout. */
gchar *
berth_wsl_exe_exec_check (BerthWslExe *exe, const gchar *distro, const gchar *user,
                          const gchar *const *argv, const BerthWslRunOptions *options,
                          GCancellable *cancellable, GError **error);

/* The distribution named @name in @distros, or NULL. Names compare without
 * regard to ASCII case, as WSL compares them. */
BerthWslDistro *
berth_wsl_find_distro (GPtrArray *distros, const gchar *name);

G_END_DECLS
