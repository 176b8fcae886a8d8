/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A k3s version as its releases are tagged: "v1.30.2+k3s1" is Kubernetes
 * 1.30.2, k3s build 1. Pre-releases ("v1.31.0-rc1+k3s1") and the dotted
 * builds of early 2020 ("v1.17.0+k3s.1") are not versions a user can pick,
 * and do not parse. */
typedef struct
{
  guint major;
  guint minor;
  guint patch;
  gboolean has_build;
  guint build; /* the N of "+k3sN" when has_build */
} BerthK3sVersion;

/* Each number of a version has at most this many digits: enough for any
 * release, and no overflow. */
#define BERTH_K3S_VERSION_MAX_DIGITS 6

/* The oldest Kubernetes release Berth offers (the seed's K3sHelper's
 * minimum): the releases pages are read until one goes below it. */
#define BERTH_K3S_MINIMUM_VERSION "v1.15.0"

/* Parses "v1.30.2+k3s1", "1.30.2+k3s1", "v1.30.2" or "1.30.2": numbers in
 * decimal without leading zeros, nothing before or after. */
gboolean
berth_k3s_version_parse (const gchar *text, BerthK3sVersion *version);

/* Parses a full version: one with its "+k3sN" build. */
gboolean
berth_k3s_version_parse_full (const gchar *text, BerthK3sVersion *version);

/* "v1.30.2+k3s1", or "v1.30.2" without a build. */
gchar *
berth_k3s_version_to_string (const BerthK3sVersion *version);

/* Orders by major, minor, patch, then build (no build before any build). */
gint
berth_k3s_version_cmp (const BerthK3sVersion *a, const BerthK3sVersion *b);

/* Whether @a and @b are the same Kubernetes release (builds aside). */
gboolean
berth_k3s_version_same_release (const BerthK3sVersion *a, const BerthK3sVersion *b);

/* Whether @version is older than BERTH_K3S_MINIMUM_VERSION. */
gboolean
berth_k3s_version_below_minimum (const BerthK3sVersion *version);

/* The version of @listed (full versions, element type gchar*, any order)
 * nearest to @wanted: a build of the same release (the newest); else the
 * oldest listed version newer than @wanted; else the newest listed. NULL
 * when @listed holds no version. Returns an element of @listed. */
const gchar *
berth_k3s_version_nearest (const BerthK3sVersion *wanted, GPtrArray *listed);

G_END_DECLS
