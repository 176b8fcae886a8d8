/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* What an update check reads from outside: the upgrade responder's answer
 * (Longhorn's upgrade-responder, as Rancher Desktop asks it), a GitHub
 * release and a ".sha512sum" file. Every reader takes the bytes as they came
 * and refuses what is not the documented shape with a message naming the
 * member; none of them touches the network. */

/* Bodies larger than these are refused before they are parsed. */
#define BERTH_UPDATER_MAX_RESPONDER_BYTES (1024 * 1024)
#define BERTH_UPDATER_MAX_RELEASE_BYTES (8 * 1024 * 1024)
#define BERTH_UPDATER_MAX_CHECKSUM_BYTES (64 * 1024)

/* A version as releases are named: an optional "v", MAJOR.MINOR.PATCH, an
 * optional "-" pre-release of dot-separated identifiers, and an optional
 * "+" build that comparisons ignore (Semantic Versioning 2.0.0). */
typedef struct
{
  guint64 major, minor, patch;
  gchar *prerelease; /* NULL for a release */
} BerthUpdaterVersion;

gboolean
berth_updater_version_parse (const gchar *text, BerthUpdaterVersion *version, GError **error);
void
berth_updater_version_clear (BerthUpdaterVersion *version);
/* <0, 0 or >0 as @a is older than, the same as or newer than @b. */
gint
berth_updater_version_compare (const BerthUpdaterVersion *a, const BerthUpdaterVersion *b);
/* "1.2.3" or "1.2.3-rc.1": no "v", no build. */
gchar *
berth_updater_version_to_string (const BerthUpdaterVersion *version);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (BerthUpdaterVersion, berth_updater_version_clear)

/* The JSON body Rancher Desktop POSTs to the upgrade responder:
 * {"appVersion": …, "extraInfo": {"platform": "linux-x64", "platformVersion": …}}. */
gchar *
berth_updater_responder_request (const gchar *app_version, const gchar *platform,
                                 const gchar *platform_version);

typedef struct
{
  gchar *latest;                   /* the newest supported version, as its Name was written */
  gchar *latest_date;              /* its ReleaseDate; NULL when not given */
  gboolean newer_unsupported;      /* a newer version is listed, marked unsupported */
  gint64 request_interval_minutes; /* 0 when the answer does not say */
  guint n_versions;
} BerthUpdaterResponderAnswer;

/* {"versions": [{"Name", "ReleaseDate", "Supported", "Tags"}…],
 * "requestIntervalInMinutes": N}. A version without "Supported" is
 * supported. Fails when no version is listed, none is supported, or a Name
 * is not a version. */
BerthUpdaterResponderAnswer *
berth_updater_responder_parse (const gchar *data, gsize length, GError **error);
void
berth_updater_responder_answer_free (BerthUpdaterResponderAnswer *answer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthUpdaterResponderAnswer, berth_updater_responder_answer_free)

typedef struct
{
  gchar *name;
  gchar *url;  /* browser_download_url, https */
  gint64 size; /* -1 when not given */
} BerthUpdaterAsset;

typedef struct
{
  gchar *tag;          /* tag_name, e.g. "v1.2.3" */
  gchar *version;      /* the tag as a version, e.g. "1.2.3" */
  gchar *name;         /* may be empty */
  gchar *notes;        /* body, Markdown; may be empty */
  gchar *published_at; /* NULL when not given */
  gboolean draft;
  gboolean prerelease;
  GPtrArray *assets; /* BerthUpdaterAsset */
} BerthUpdaterRelease;

/* One release as GitHub's REST API answers /repos/O/R/releases/tags/T and
 * /repos/O/R/releases/latest. Fails when tag_name is not a version or an
 * asset's URL is not https. */
BerthUpdaterRelease *
berth_updater_release_parse (const gchar *data, gsize length, GError **error);
void
berth_updater_release_free (BerthUpdaterRelease *release);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthUpdaterRelease, berth_updater_release_free)
/* The asset named @name, or NULL. */
const BerthUpdaterAsset *
berth_updater_release_find_asset (const BerthUpdaterRelease *release, const gchar *name);

/* The digest in a ".sha512sum" file as sha512sum(1) writes it ("<hex>  <name>"
 * or "<hex> *<name>", or the hex alone): 128 hexadecimal digits, lower-cased.
 * A file naming another file than @asset_name is refused. */
gchar *
berth_updater_sha512sum_parse (const gchar *data, gsize length, const gchar *asset_name,
                               GError **error);

/* The release archive for @version on this architecture:
 * "berth-<version>-linux-<arch>.tar.gz", with @arch as uname(2) names it
 * (x86_64, aarch64). */
gchar *
berth_updater_asset_name (const gchar *version, const gchar *arch);
/* The platform as Rancher Desktop reports it to the responder, Node.js's
 * names: "linux-x64" for x86_64, "linux-arm64" for aarch64. */
gchar *
berth_updater_platform (const gchar *arch);

G_END_DECLS
