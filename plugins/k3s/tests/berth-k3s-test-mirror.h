/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The fake k3s release mirror (tests/k3s/fake-mirror.sh) for plugins/k3s's
 * tests: started on a directory of fake releases, on a free port, waited for,
 * and stopped. Every function asserts on failure. The scripts are found
 * through BERTH_K3S_TESTS_DIR (set by meson). */

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  gchar *dir;     /* the releases it serves: <dir>/<version>/<file> */
  gchar *base;    /* https://127.0.0.1:<port> */
  gchar *ca_file; /* the test CA that signed its certificate */
  GSubprocess *process;
} BerthK3sTestMirror;

/* Whether this machine can run the mirror (python3 and openssl on PATH); if
 * not, skips the test, saying why. */
gboolean
berth_k3s_test_mirror_available (void);

/* Makes a fake release <dir>/<version>/ for @arch (make-fake-release.sh). */
void
berth_k3s_test_make_release (const gchar *dir, const gchar *version, const gchar *arch);

/* Starts the mirror on @dir and waits until it accepts connections. */
BerthK3sTestMirror *
berth_k3s_test_mirror_start (const gchar *dir);

/* Stops it (SIGTERM) and waits for it to exit. */
void
berth_k3s_test_mirror_free (BerthK3sTestMirror *mirror);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthK3sTestMirror, berth_k3s_test_mirror_free)

/* The mirror's URL for @path ("/v1-release/channels", …), under
 * /broken/@broken/ when @broken is not NULL. */
gchar *
berth_k3s_test_mirror_url (BerthK3sTestMirror *mirror, const gchar *broken, const gchar *path);

/* Points BERTH_K3S_CHANNELS_URL, BERTH_K3S_RELEASES_URL and
 * BERTH_K3S_DOWNLOAD_URL at the mirror (each under /broken/<variant>/ when
 * its @broken_* is not NULL) and BERTH_K3S_CA_FILE at its CA. */
void
berth_k3s_test_mirror_set_env (BerthK3sTestMirror *mirror, const gchar *broken_channels,
                               const gchar *broken_releases, const gchar *broken_download);

/* Unsets what berth_k3s_test_mirror_set_env() set. */
void
berth_k3s_test_mirror_unset_env (void);

/* The requests the mirror answered since the last call ("GET /path?query"),
 * in order; its log is emptied. */
GStrv
berth_k3s_test_mirror_take_requests (BerthK3sTestMirror *mirror);

/* Waits (at most @timeout_seconds) until the mirror has logged a request
 * whose line contains @needle. */
gboolean
berth_k3s_test_mirror_wait_request (BerthK3sTestMirror *mirror, const gchar *needle,
                                    guint timeout_seconds);

G_END_DECLS
