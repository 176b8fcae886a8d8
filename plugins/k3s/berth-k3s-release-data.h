/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "berth-k3s-version.h"

G_BEGIN_DECLS

/* What the network says about k3s releases, read strictly, and the
 * k3s-versions.json file Berth keeps it in. Everything here is a parser of
 * outside input (fuzzed in tests/fuzz/fuzz-k3s-*.c) or its writer. */

/* Largest channels document and releases page accepted. A page of GitHub's
 * with 100 releases, their notes and assets is a few megabytes. */
#define BERTH_K3S_CHANNELS_MAX_SIZE (1024 * 1024)
#define BERTH_K3S_RELEASES_PAGE_MAX_SIZE (32 * 1024 * 1024)
#define BERTH_K3S_VERSIONS_FILE_MAX_SIZE (4 * 1024 * 1024)
/* JSON nesting accepted: GitHub's releases nest four levels. */
#define BERTH_K3S_JSON_MAX_DEPTH 16
/* The format of k3s-versions.json written by this code. */
#define BERTH_K3S_VERSIONS_FILE_FORMAT 1

/* The versions a user may pick and the channels that name some of them. */
typedef struct
{
  GPtrArray *versions;  /* full versions ("v1.30.2+k3s1"), newest first, one build a release */
  GHashTable *channels; /* channel name → one of @versions */
} BerthK3sVersionList;

BerthK3sVersionList *
berth_k3s_version_list_new (void);
BerthK3sVersionList *
berth_k3s_version_list_copy (const BerthK3sVersionList *list);
void
berth_k3s_version_list_free (BerthK3sVersionList *list);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthK3sVersionList, berth_k3s_version_list_free)

/* Adds @version (which has a build) unless the list holds the same release
 * with a newer or the same build; a listed older build is replaced. Keeps
 * the list newest first. Returns whether the list changed. */
gboolean
berth_k3s_version_list_add (BerthK3sVersionList *list, const BerthK3sVersion *version);
/* Whether the list holds exactly this full version. */
gboolean
berth_k3s_version_list_contains (const BerthK3sVersionList *list, const gchar *full_version);
/* The listed build of @version's release, or NULL. */
const gchar *
berth_k3s_version_list_find_release (const BerthK3sVersionList *list,
                                     const BerthK3sVersion *version);
/* Sets the channels from @channels (name → full version, as from
 * berth_k3s_channels_parse()): each one whose release is listed, pointing at
 * the listed build; the others are dropped. */
void
berth_k3s_version_list_set_channels (BerthK3sVersionList *list, GHashTable *channels);
gboolean
berth_k3s_version_list_equal (const BerthK3sVersionList *a, const BerthK3sVersionList *b);
/* The channel names, "stable" first, then the other words, then the
 * "vX.Y" channels newest first. Free with g_strfreev(); the names belong
 * to the list's table, copied. */
GStrv
berth_k3s_version_list_channel_names (const BerthK3sVersionList *list);

/* k3s-versions.json:
 *   { "formatVersion": 1, "updated": "<ISO 8601>" (optional),
 *     "versions": ["v1.34.3+k3s1", …], "channels": { "stable": "v1.34.3+k3s1", … } }
 * Reading sorts the versions (newest first, one build a release) whatever
 * their order in the file, leaves out those older than the minimum, and
 * drops channels that name no listed version.
 * Refused: not this shape, another format, a version that is not a full k3s
 * version. @what names the file in messages. */
BerthK3sVersionList *
berth_k3s_version_list_parse_file (const gchar *data, gsize length, const gchar *what,
                                   GError **error);
/* The file's text for @list; @updated (nullable) is when it was read from
 * the network. */
gchar *
berth_k3s_version_list_to_file (const BerthK3sVersionList *list, GDateTime *updated);

/* The channels document (https://update.k3s.io/v1-release/channels):
 *   { "data": [ { "id": "stable", "name": "stable", "latest": "v1.34.3+k3s1", … }, … ], … }
 * Returns channel name ("name", else "id") → full version ("v" added when
 * missing). Channels whose latest is no full version (a pre-release, or
 * none) are left out. Refused: not this shape. @url names it in messages. */
GHashTable *
berth_k3s_channels_parse (const gchar *data, gsize length, const gchar *url, GError **error);

/* What one releases page told. */
typedef struct
{
  guint n_releases;       /* entries on the page */
  guint n_added;          /* versions that went into the list */
  gboolean below_minimum; /* a release older than BERTH_K3S_MINIMUM_VERSION was on it */
  gboolean reached_known; /* a release of @known was on it */
} BerthK3sReleasesPage;

/* One page of GitHub's releases of k3s-io/k3s (an array of release
 * objects: "tag_name", "draft", "prerelease", "assets": [{ "name", … }]).
 * Adds to @into each release that is not a draft, not a pre-release, is a
 * full version no older than the minimum, and publishes the k3s binary and
 * checksums for @arch ("amd64", "arm64"). Reading stops at the first
 * release that @known (nullable) already holds. Entries that are not
 * release objects are skipped; a page that is not an array is refused. */
gboolean
berth_k3s_releases_page_parse (const gchar *data, gsize length, const gchar *url, const gchar *arch,
                               const BerthK3sVersionList *known, BerthK3sVersionList *into,
                               BerthK3sReleasesPage *page, GError **error);

/* The rel="next" URL of an HTTP Link header (RFC 8288), or NULL. */
gchar *
berth_k3s_link_header_next (const gchar *link_header);

G_END_DECLS
