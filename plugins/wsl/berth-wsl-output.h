/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What wsl.exe prints, read. wsl.exe writes its own messages (--list,
 * --status, errors) in UTF-16LE, usually with a byte order mark, or in UTF-8
 * when WSL_UTF8=1 is set; what a command run with --exec prints passes
 * through as it is. Every reader here takes bytes from outside and bounds
 * what it keeps. */

/* Most distributions and bytes a listing may have before it is refused. */
#define BERTH_WSL_MAX_DISTROS 1024
#define BERTH_WSL_MAX_OUTPUT (4 * 1024 * 1024)

/* @data as UTF-8 text: UTF-16LE after a UTF-16LE byte order mark, or when
 * its first character's high byte is zero; UTF-8 after a UTF-8 byte order
 * mark or otherwise. Invalid sequences (a lone surrogate, an odd last byte,
 * bad UTF-8) and NUL characters become U+FFFD. Never NULL. */
gchar *
berth_wsl_decode (const guint8 *data, gsize length);

/* One row of `wsl.exe --list --verbose`. */
typedef struct
{
  gchar *name;
  gchar *state;  /* as printed: "Running", "Stopped", "Installing", … (localised) */
  guint version; /* 1 or 2 */
  gboolean is_default;
} BerthWslDistro;

void
berth_wsl_distro_free (BerthWslDistro *distro);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthWslDistro, berth_wsl_distro_free)

/* Whether the state a listing printed is WSL's "Running" (English; other
 * locales say it otherwise, and then `--list --running` is the authority). */
gboolean
berth_wsl_distro_is_running (const BerthWslDistro *distro);

/* The rows of `wsl.exe --list --verbose` (decoded): a header line, then one
 * line per distribution, "*" marking the default one, the name, the state
 * and the WSL version in columns. The header's words are localised and not
 * read; a name is one word (WSL allows no spaces), a state may be several. Element type
 * BerthWslDistro; NULL with an error naming the line that is not such a row. */
GPtrArray *
berth_wsl_parse_list_verbose (const gchar *text, GError **error);

/* The names of `wsl.exe --list --quiet` (decoded), one a line. */
GStrv
berth_wsl_parse_list_quiet (const gchar *text);

/* Whether wsl.exe's text (of a failed --list) says that no distribution is
 * installed, which wsl.exe reports as a failure. */
gboolean
berth_wsl_text_says_no_distributions (const gchar *text);

/* What `wsl.exe --status` says. */
typedef struct
{
  gchar *default_distribution; /* NULL when it names none */
  guint default_version;       /* 1 or 2; 0 when it does not say (localised) */
  /* Why WSL 2 cannot run (its kernel is missing, the Virtual Machine
   * Platform is off), with what to do; NULL when nothing says so. */
  gchar *wsl2_problem;
} BerthWslStatus;

void
berth_wsl_status_free (BerthWslStatus *status);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthWslStatus, berth_wsl_status_free)

BerthWslStatus *
berth_wsl_parse_status (const gchar *text);

/* What to do about a failure wsl.exe described in @text: NULL when the text
 * is none Berth knows. */
const gchar *
berth_wsl_advice_for (const gchar *text);

/* VERSION_ID of an os-release(5) file, unquoted; NULL when it has none or
 * its value is not a version (digits, letters, ".", "_", "-", "+", ~"). */
gchar *
berth_wsl_os_release_version_id (const gchar *text, gsize length);

/* Compares two versions ("0.8", "1.2.10", "2024.1-rc1") part by part:
 * numbers as numbers, a missing part as 0, other parts as text.
 * <0, 0 or >0. */
gint
berth_wsl_version_compare (const gchar *a, const gchar *b);

/* Whether @name is a name WSL gives a distribution: 1 to 64 of ASCII
 * letters, digits, ".", "_" and "-", not starting with "-" (wsl.exe would take
 * it for an option). */
gboolean
berth_wsl_distro_name_is_valid (const gchar *name);

/* A mount point of /proc/self/mountinfo and its source. */
typedef struct
{
  gchar *mount_point;
  gchar *source;
} BerthWslMount;

void
berth_wsl_mount_free (BerthWslMount *mount);

/* The mounts of a /proc/<pid>/mountinfo text (proc(5): the fifth field is
 * the mount point, the source follows " - " and the file system type; "\040"
 * style escapes are undone). Lines that are not such a line are skipped.
 * Element type BerthWslMount; never NULL. */
GPtrArray *
berth_wsl_parse_mountinfo (const gchar *text);

G_END_DECLS
