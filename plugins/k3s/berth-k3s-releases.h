/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The k3s versions a user may pick: the release channels
 * (https://update.k3s.io/v1-release/channels, or BERTH_K3S_CHANNELS_URL) and
 * the GitHub releases of k3s-io/k3s (paged, per_page=100, or
 * BERTH_K3S_RELEASES_URL), as Rancher Desktop's K3sHelper reads them.
 *
 * The list is cached as <cache_dir>/k3s-versions.json and refreshed in the
 * background; a list shipped in data/ (@bundled_path) answers when neither
 * the network nor the cache does, so the list is never empty.
 *
 * Only releases that publish the k3s binary and its checksums for this
 * machine's architecture are listed, one build per Kubernetes release (the
 * newest), down to v1.15.0. A refresh after an earlier one reads pages only
 * until it meets a release it already knows. BERTH_K3S_CA_FILE, when set,
 * names one more trusted CA (PEM), as @ca_file does.
 *
 * Signals:
 *   "changed" () — the versions or channels changed (after a refresh). */
#define BERTH_TYPE_K3S_RELEASES (berth_k3s_releases_get_type ())
G_DECLARE_FINAL_TYPE (BerthK3sReleases, berth_k3s_releases, BERTH, K3S_RELEASES, GObject)

typedef enum
{
  BERTH_K3S_RELEASES_SOURCE_BUNDLED, /* the list shipped in data/ */
  BERTH_K3S_RELEASES_SOURCE_CACHE,   /* k3s-versions.json from an earlier refresh */
  BERTH_K3S_RELEASES_SOURCE_NETWORK, /* this process read the channels and releases */
} BerthK3sReleasesSource;

/* Loads the cache, else the bundled list, synchronously (both are local). */
BerthK3sReleases *berth_k3s_releases_new (const gchar *cache_dir, const gchar *bundled_path);
/* Where the bundled list is: $BERTH_DATA_DIR/k3s-versions.json when that is
 * set, else the source tree's data/ when it has one, else the installed
 * data directory's. */
gchar *berth_k3s_releases_find_bundled (void);

/* Reads channels and every releases page; on success rewrites the cache
 * atomically and emits "changed" when anything differs. On failure the list
 * in memory stays as it was. @ca_file: an extra trusted CA (PEM) or NULL. */
void berth_k3s_releases_refresh_async (BerthK3sReleases *self, const gchar *ca_file,
                                       GCancellable *cancellable, GAsyncReadyCallback callback,
                                       gpointer user_data);
gboolean berth_k3s_releases_refresh_finish (BerthK3sReleases *self, GAsyncResult *result,
                                            GError **error);

BerthK3sReleasesSource berth_k3s_releases_get_source (BerthK3sReleases *self);
/* Full versions ("v1.30.2+k3s1"), newest first; element type gchar*.
 * Owned by @self, valid until the next "changed". */
GPtrArray *berth_k3s_releases_get_versions (BerthK3sReleases *self);
/* Channel name ("stable", "latest", "v1.30") → full version. Owned by
 * @self, valid until the next "changed". */
GHashTable *berth_k3s_releases_get_channels (BerthK3sReleases *self);
/* The channel names in the order to show them: "stable", the other words,
 * then "vX.Y" newest first. */
GStrv berth_k3s_releases_get_channel_names (BerthK3sReleases *self);

/* What a kubernetes.version setting means: "" → the stable channel's
 * version; a channel name → its version ("1.30" for "v1.30" too);
 * "v1.30.2" or "1.30.2" → the newest "+k3sN" build of it; a full version →
 * itself when listed. An unknown version fails with
 * BERTH_ERROR_INVALID_SETTING naming it and the nearest listed version
 * (never replaced silently); with no versions known at all, NOT_FOUND. */
gchar *berth_k3s_releases_resolve (BerthK3sReleases *self, const gchar *wanted, GError **error);
/* The listed version nearest to the version @wanted (a build of the same
 * release, else the oldest newer one, else the newest); NULL when @wanted
 * is no version or nothing is listed. Owned by @self. */
const gchar *berth_k3s_releases_get_nearest (BerthK3sReleases *self, const gchar *wanted);

/* Compares two full versions (major, minor, patch, then k3s build): <0, 0, >0.
 * Unparseable versions sort after parseable ones. */
gint berth_k3s_version_compare (const gchar *a, const gchar *b);

G_END_DECLS
