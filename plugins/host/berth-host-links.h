/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The CLI tools Berth puts on PATH (application.pathManagementStrategy):
 * docker, kubectl and helm as the host has them, nerdctl as a wrapper that
 * runs it in the VM through berthctl, and berthctl itself. Berth's own bin
 * directory (<data>/bin, ~/.local/share/berth/bin) holds them; then
 *   notset:  each is linked from ~/.local/bin, which most distributions put
 *            on PATH;
 *   manual:  the person puts the bin directory on PATH;
 *   rcfiles: Berth's block in the shells' startup files does
 *            (berth-host-rcfile.h).
 * A file that is not Berth's is never replaced: it is reported. In
 * ~/.local/bin, Berth's are the symbolic links into its bin directory; in
 * the bin directory, which is Berth's, the symbolic links and the files that
 * carry BERTH_HOST_WRAPPER_MARKER. */

#define BERTH_HOST_WRAPPER_MARKER "# Berth's nerdctl wrapper"

typedef struct
{
  gchar *bin_dir;     /* Berth's */
  gchar *user_bin;    /* ~/.local/bin */
  gchar *strategy;    /* notset, manual or rcfiles */
  gchar *berthctl;    /* nullable: not found */
  gchar *search_path; /* where the host's tools are looked for ($PATH) */
  gchar **rc_files;   /* bash's first (created when missing), then those edited when present */
} BerthHostLinksConfig;

void
berth_host_links_config_clear (BerthHostLinksConfig *config);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (BerthHostLinksConfig, berth_host_links_config_clear)

/* The tools, NULL-terminated. */
const gchar *const *
berth_host_links_tools (void);

/* Brings the links and startup files in line with @config. @status receives
 * each tool's name → TRUE when it is on PATH through Berth, or why not;
 * @warnings (strings) what the person should do. Every tool is tried;
 * FALSE only when something could not be written or read, with the first
 * such error (the others are in @warnings). */
gboolean
berth_host_links_apply (const BerthHostLinksConfig *config, JsonObject *status, GPtrArray *warnings,
                        GError **error);

/* Removes Berth's links, wrappers and startup-file blocks, nothing else. */
gboolean
berth_host_links_remove (const BerthHostLinksConfig *config, GPtrArray *warnings, GError **error);

G_END_DECLS
