/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Berth's self-contained release on Linux, as the updater installs into it:
 *
 *   <root>/versions/<version>/          one release archive, unpacked:
 *                                       bin/berthd, bin/berthctl, lib/…
 *   <root>/current -> versions/<version>  the release that runs
 *
 * berthd and berthctl are run as <root>/current/bin/…, so that switching the
 * link is what changes the version; a restarted berthd runs the new one. A
 * new version is unpacked beside the running one and the link switched by a
 * single rename(2): at every moment <root>/current is the old release, whole,
 * or the new one, whole. */

/* The root of the release @executable (the running program's real path)
 * belongs to: @executable is <root>/versions/<v>/bin/<name> and
 * <root>/current leads to <root>/versions/<v>. NULL with an error saying
 * which of these does not hold. */
gchar *
berth_updater_install_find_root (const gchar *executable, GError **error);

/* The version <root>/current leads to, or NULL (with an error) when it is
 * missing or leads elsewhere than versions/<v>. */
gchar *
berth_updater_install_get_current (const gchar *root, GError **error);

/* Unpacks the release archive @archive (tar, gzip- or xz-compressed) into
 * <root>/versions/<version>. It is unpacked into a hidden directory in
 * <root>/versions first, flushed to disk, checked to hold an executable
 * bin/berthd, and only then renamed into place; on any failure nothing is
 * left. The archive must hold one top-level directory, whose contents are
 * taken. Refused: paths that are absolute or climb out with "..", links
 * that lead outside the release, hard links, devices, FIFOs and sockets,
 * more than 100000 entries or 4 GiB unpacked. @version may not be the
 * version <root>/current leads to. */
gboolean
berth_updater_install_unpack (const gchar *root, const gchar *version, const gchar *archive,
                              GCancellable *cancellable, GError **error);

/* Points <root>/current at versions/<version> (which must be unpacked) by
 * renaming a new link over it, and flushes <root>. Then removes what is in
 * <root>/versions besides that version and the one current led to before:
 * older releases, and what an interrupted unpack left. */
gboolean
berth_updater_install_switch (const gchar *root, const gchar *version, GError **error);

G_END_DECLS
