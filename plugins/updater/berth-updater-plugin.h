/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <berth-plugin.h>

G_BEGIN_DECLS

/* Berth's own updates, found as Rancher Desktop finds its own (its
 * LonghornProvider) and installed into the self-contained release layout of
 * berth-updater-install.h.
 *
 * check: POSTs {"appVersion", "extraInfo": {"platform", "platformVersion"}}
 *   to the upgrade responder ($BERTH_UPDATE_RESPONDER_URL, default
 *   https://updates.berth.dev/v1/checkupgrade), takes the newest supported
 *   version of its answer and reads that release, tag v<version>, from
 *   GitHub's API ($BERTH_UPDATE_RELEASES_URL, default https://api.github.com,
 *   repository berth-desktop/berth). When the responder cannot be reached or
 *   answers badly, the repository's latest release is read instead. A newer
 *   release must carry berth-<version>-linux-<arch>.tar.gz and its
 *   .sha512sum; the digest is read then.
 * download: fetches the archive through BerthDownloader, verified against
 *   that SHA-512; a mismatch is discarded and never installed.
 * apply: unpacks it beside the running release and switches <root>/current
 *   (the root is $BERTH_UPDATE_INSTALL_ROOT, else found from the running
 *   program). berthd then restarts into it.
 *
 * download and apply check first when nothing is known yet, and apply
 * downloads first. One operation runs at a time; another asked meanwhile is
 * refused as busy. $BERTH_UPDATE_CA_FILE (a PEM file) is trusted beside the
 * system's CAs for all of it, and $BERTH_UPDATE_TIMEOUT (seconds, default
 * 30) bounds each wait for a server. "update-state" (state, detail) says
 * where it stands: checking, up-to-date, available, downloading,
 * downloaded, applying, applied or error. */
#define BERTH_UPDATER_TYPE_PLUGIN (berth_updater_plugin_get_type ())
G_DECLARE_FINAL_TYPE (BerthUpdaterPlugin, berth_updater_plugin, BERTH_UPDATER, PLUGIN, BerthPlugin)

G_END_DECLS
