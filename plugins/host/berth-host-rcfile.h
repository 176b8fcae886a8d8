/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Berth's block in a shell's startup file (~/.bashrc, ~/.zshrc, fish's
 * config.fish), which puts Berth's bin directory on PATH when
 * application.pathManagementStrategy is rcfiles:
 *
 *   # >>> berth-managed PATH: ... >>>
 *   export PATH='/home/u/.local/share/berth/bin':"$PATH"
 *   # <<< berth-managed PATH <<<
 *
 * It goes at the end of the file. A file that does not end in a line break
 * gets one before the block, and the block's first line says so, so that
 * removing the block gives back the file byte for byte. */

#define BERTH_HOST_RC_BEGIN_PREFIX "# >>> berth-managed PATH"
#define BERTH_HOST_RC_BEGIN                                                                        \
  BERTH_HOST_RC_BEGIN_PREFIX ": Berth adds and removes this block "                                \
                             "(application.pathManagementStrategy) >>>"
#define BERTH_HOST_RC_BEGIN_JOINED                                                                 \
  BERTH_HOST_RC_BEGIN_PREFIX ", after a line break Berth added: Berth adds and removes this "      \
                             "block (application.pathManagementStrategy) >>>"
#define BERTH_HOST_RC_END "# <<< berth-managed PATH <<<"

/* Files larger than this are not edited. */
#define BERTH_HOST_RC_MAX_BYTES (1024 * 1024)

typedef enum
{
  BERTH_HOST_RC_SHELL_SH,   /* bash, zsh */
  BERTH_HOST_RC_SHELL_FISH, /* fish */
} BerthHostRcShell;

/* The lines between the markers that put @bin_dir first on PATH. */
gchar *
berth_host_rc_body (BerthHostRcShell shell, const gchar *bin_dir);

/* @len bytes of @text (a startup file, not necessarily NUL-terminated) with
 * Berth's block set to @body (lines ending in "\n"), or removed when @body
 * is NULL; *@out_len receives its length. BERTH_ERROR_INVALID_DATA, naming
 * @what, when the file holds a block Berth cannot read (a begin without an
 * end, two blocks, an end first) or is too large: such a file is left to the
 * person. */
gchar *
berth_host_rc_edit (const gchar *text, gsize len, const gchar *body, const gchar *what,
                    gsize *out_len, GError **error);

/* Whether @len bytes of @text hold a well-formed block of Berth's. */
gboolean
berth_host_rc_has_block (const gchar *text, gsize len);

/* Applies berth_host_rc_edit() to the file @path: nothing is written when
 * nothing changes, a missing file is created only when @create (and @body
 * is set), and a write keeps the file's mode and goes through a temporary
 * file. *@changed_out (may be NULL) says whether the file changed. */
gboolean
berth_host_rc_file_apply (const gchar *path, const gchar *body, gboolean create,
                          gboolean *changed_out, GError **error);

G_END_DECLS
