/* SPDX-License-Identifier: GPL-3.0-or-later */
/* plugins/k3s: the k3s versions — parsing and order, the channels document,
 * GitHub's releases pages and their paging, k3s-versions.json, the bundled
 * list, what a kubernetes.version setting means, and refreshes against the
 * fake mirror (tests/k3s/fake-mirror.sh) with its broken variants. */

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "berth-error.h"
#include "berth-k3s-assets.h"
#include "berth-k3s-release-data.h"
#include "berth-k3s-releases.h"
#include "berth-k3s-test-mirror.h"
#include "berth-test-util.h"

/* ---- versions ---------------------------------------------------------------- */

static void
test_version_parse (void)
{
  static const struct
  {
    const gchar *text;
    gboolean ok;
    gboolean full;
    const gchar *canonical;
  } cases[] = {
    { "v1.30.2+k3s1", TRUE, TRUE, "v1.30.2+k3s1" },
    { "1.30.2+k3s1", TRUE, TRUE, "v1.30.2+k3s1" },
    { "v1.30.2", TRUE, FALSE, "v1.30.2" },
    { "1.30.2", TRUE, FALSE, "v1.30.2" },
    { "v1.34.10+k3s12", TRUE, TRUE, "v1.34.10+k3s12" },
    { "v0.0.0+k3s0", TRUE, TRUE, "v0.0.0+k3s0" },
    { "v1.31.0-rc1+k3s1", FALSE, FALSE, NULL }, /* a pre-release */
    { "v1.17.0+k3s.1", FALSE, FALSE, NULL },    /* early 2020's dotted builds */
    { "v1.30.2+rke2r1", FALSE, FALSE, NULL },   /* not k3s */
    { "v1.30", FALSE, FALSE, NULL },
    { "v1.30.02+k3s1", FALSE, FALSE, NULL }, /* a leading zero */
    { "v1.30.2+k3s", FALSE, FALSE, NULL },
    { "v1.30.2+k3s1 ", FALSE, FALSE, NULL },
    { " v1.30.2", FALSE, FALSE, NULL },
    { "vv1.30.2", FALSE, FALSE, NULL },
    { "v1.30.2+k3s1+k3s2", FALSE, FALSE, NULL },
    { "v1234567.0.0", FALSE, FALSE, NULL }, /* more digits than any release */
    { "v4294967296.0.0", FALSE, FALSE, NULL },
    { "", FALSE, FALSE, NULL },
    { "stable", FALSE, FALSE, NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      BerthK3sVersion version;
      gboolean ok = berth_k3s_version_parse (cases[i].text, &version);

      g_test_message ("%s", cases[i].text);
      g_assert_cmpint (ok, ==, cases[i].ok);
      g_assert_cmpint (berth_k3s_version_parse_full (cases[i].text, &version), ==, cases[i].full);
      if (ok)
        {
          g_autofree gchar *text = NULL;

          berth_k3s_version_parse (cases[i].text, &version);
          text = berth_k3s_version_to_string (&version);
          g_assert_cmpstr (text, ==, cases[i].canonical);
        }
    }
  g_assert_false (berth_k3s_version_parse (NULL, &(BerthK3sVersion){ 0 }));
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return berth_k3s_version_compare (*(const gchar *const *)a, *(const gchar *const *)b);
}

static void
test_version_order (void)
{
  const gchar *shuffled[]
      = { "v1.9.1+k3s1",  "nonsense",    "v1.30.2+k3s1", "v1.30.10+k3s1", "v1.30.2+k3s10",
          "v1.30.2+k3s2", "v2.0.0+k3s1", "v1.30.2",      "v1.31.0+k3s1",  "v1.30.2-rc1+k3s1" };
  /* Numbers compare as numbers, a build after none, and what does not parse
   * after every version. */
  const gchar *sorted[]
      = { "v1.9.1+k3s1",   "v1.30.2",      "v1.30.2+k3s1", "v1.30.2+k3s2", "v1.30.2+k3s10",
          "v1.30.10+k3s1", "v1.31.0+k3s1", "v2.0.0+k3s1",  "nonsense",     "v1.30.2-rc1+k3s1" };
  g_autoptr (GPtrArray) list = g_ptr_array_new ();

  for (gsize i = 0; i < G_N_ELEMENTS (shuffled); i++)
    g_ptr_array_add (list, (gpointer)shuffled[i]);
  g_ptr_array_sort (list, compare_strings);
  for (gsize i = 0; i < G_N_ELEMENTS (sorted); i++)
    g_assert_cmpstr (g_ptr_array_index (list, i), ==, sorted[i]);
  g_assert_cmpint (berth_k3s_version_compare ("v1.30.2+k3s1", "1.30.2+k3s1"), ==, 0);
  g_assert_cmpint (berth_k3s_version_compare ("nonsense", "v1.0.0+k3s1"), >, 0);
  g_assert_cmpint (berth_k3s_version_compare ("v1.0.0+k3s1", "nonsense"), <, 0);
  g_assert_cmpint (berth_k3s_version_compare ("a", "b"), <, 0);
  g_assert_cmpint (berth_k3s_version_compare ("b", "b"), ==, 0);
}

static void
test_version_nearest (void)
{
  /* wanted, listed, nearest */
  static const struct
  {
    const gchar *wanted;
    const gchar *listed[5];
    const gchar *nearest;
  } cases[] = {
    /* The oldest of the newer releases. */
    { "v3.1.2+k3s3",
      { "v1.2.9+k3s1", "v1.2.9+k3s4", "v4.2.8+k3s1", "v4.3.0+k3s1" },
      "v4.2.8+k3s1" },
    { "v1.12.2+k3s3",
      { "v1.2.9+k3s1", "v1.7.0+k3s1", "v1.23.9+k3s4", "v2.12.8+k3s1" },
      "v1.23.9+k3s4" },
    { "v1.12.10+k3s9", { "v1.12.4+k3s1", "v1.12.8+k3s1", "v1.12.20+k3s4" }, "v1.12.20+k3s4" },
    /* Else the newest of the older. */
    { "v1.12.11+k3s5", { "v1.12.4+k3s1", "v1.12.8+k3s1", "v1.12.9+k3s4" }, "v1.12.9+k3s4" },
    /* Another build of the same release before a newer release. */
    { "v1.2.9+k3s2", { "v1.2.8+k3s1", "v1.2.9+k3s1", "v1.2.10+k3s1" }, "v1.2.9+k3s1" },
    { "v1.2.9", { "v1.2.9+k3s1", "v1.2.9+k3s4", "v1.3.0+k3s1" }, "v1.2.9+k3s4" },
    /* What does not parse in the list is passed over. */
    { "v1.2.3+k3s4", { "v1.2.2+k3s1", "oswald", "v1.2.4+k3s4" }, "v1.2.4+k3s4" },
    { "v1.2.3+k3s4", { "rabbit" }, NULL },
    { "v1.2.3+k3s4", { NULL }, NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GPtrArray) listed = g_ptr_array_new ();
      BerthK3sVersion wanted;

      for (gsize j = 0; j < G_N_ELEMENTS (cases[i].listed) && cases[i].listed[j] != NULL; j++)
        g_ptr_array_add (listed, (gpointer)cases[i].listed[j]);
      g_assert_true (berth_k3s_version_parse (cases[i].wanted, &wanted));
      g_assert_cmpstr (berth_k3s_version_nearest (&wanted, listed), ==, cases[i].nearest);
    }
}

static void
test_version_list (void)
{
  g_autoptr (BerthK3sVersionList) list = berth_k3s_version_list_new ();
  g_autoptr (BerthK3sVersionList) copy = NULL;
  g_autoptr (GHashTable) channels = g_hash_table_new (g_str_hash, g_str_equal);
  g_auto (GStrv) names = NULL;
  const gchar *adds[] = { "v1.30.2+k3s1", "v1.31.1+k3s1", "v1.29.9+k3s2", "v1.30.2+k3s2",
                          "v1.30.2+k3s1", "v1.29.9+k3s1", "v1.31.10+k3s1" };
  const gboolean changes[] = { TRUE, TRUE, TRUE, TRUE, FALSE, FALSE, TRUE };
  const gchar *expected[] = { "v1.31.10+k3s1", "v1.31.1+k3s1", "v1.30.2+k3s2", "v1.29.9+k3s2" };

  for (gsize i = 0; i < G_N_ELEMENTS (adds); i++)
    {
      BerthK3sVersion version;

      g_assert_true (berth_k3s_version_parse_full (adds[i], &version));
      g_assert_cmpint (berth_k3s_version_list_add (list, &version), ==, changes[i]);
    }
  g_assert_cmpuint (list->versions->len, ==, G_N_ELEMENTS (expected));
  for (gsize i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_cmpstr (g_ptr_array_index (list->versions, i), ==, expected[i]);

  /* Channels point at the listed build of their release, or are dropped. */
  g_hash_table_insert (channels, "stable", "v1.30.2+k3s1");
  g_hash_table_insert (channels, "latest", "v1.31.10+k3s1");
  g_hash_table_insert (channels, "v1.31", "v1.31.10+k3s1");
  g_hash_table_insert (channels, "v1.28", "v1.28.15+k3s1");
  g_hash_table_insert (channels, "testing", "v1.32.0+k3s1");
  g_hash_table_insert (channels, "v1.29", "v1.29.9+k3s2");
  berth_k3s_version_list_set_channels (list, channels);
  g_assert_cmpuint (g_hash_table_size (list->channels), ==, 4);
  g_assert_cmpstr (g_hash_table_lookup (list->channels, "stable"), ==, "v1.30.2+k3s2");
  g_assert_null (g_hash_table_lookup (list->channels, "v1.28"));
  names = berth_k3s_version_list_channel_names (list);
  g_assert_cmpstrv (names, ((const gchar *const[]){ "stable", "latest", "v1.31", "v1.29", NULL }));

  copy = berth_k3s_version_list_copy (list);
  g_assert_true (berth_k3s_version_list_equal (list, copy));
  {
    BerthK3sVersion newer;

    /* A newer build takes the old one's place in the channels too. */
    g_assert_true (berth_k3s_version_parse_full ("v1.29.9+k3s3", &newer));
    g_assert_true (berth_k3s_version_list_add (copy, &newer));
    g_assert_cmpstr (g_hash_table_lookup (copy->channels, "v1.29"), ==, "v1.29.9+k3s3");
    g_assert_false (berth_k3s_version_list_equal (list, copy));
  }
}

/* ---- the channels document ---------------------------------------------------------- */

/* The shape of https://update.k3s.io/v1-release/channels (trimmed). */
static const gchar channels_json[]
    = "{\"id\":\"\",\"type\":\"collection\",\"links\":{\"self\":\"https://update.k3s.io/"
      "v1-release/channels\"},\"actions\":{},\"resourceType\":\"channel\",\"data\":["
      "{\"id\":\"stable\",\"type\":\"channel\",\"links\":{\"self\":\"https://update.k3s.io/"
      "v1-release/channels/stable\"},\"name\":\"stable\",\"latest\":\"v1.34.3+k3s1\"},"
      "{\"id\":\"latest\",\"type\":\"channel\",\"links\":{},\"name\":\"latest\","
      "\"latest\":\"v1.35.1+k3s1\",\"latestRegexp\":\".*\",\"excludeRegexp\":\"^[^+]+-\"},"
      "{\"id\":\"testing\",\"type\":\"channel\",\"links\":{},\"name\":\"testing\","
      "\"latest\":\"v1.36.0-rc1+k3s1\",\"latestRegexp\":\"-(alpha|beta|rc)\"},"
      "{\"id\":\"v1.35\",\"type\":\"channel\",\"links\":{},\"latest\":\"1.35.1+k3s1\"},"
      "{\"id\":\"v1.16\",\"type\":\"channel\",\"links\":{},\"name\":\"v1.16\","
      "\"latest\":\"v1.16.15+k3s1\"},"
      "{\"name\":\"latest\",\"latest\":\"v9.9.9+k3s1\"},"
      "{\"name\":\"no latest\"},{\"name\":\"a/b\",\"latest\":\"v1.2.3+k3s1\"},7,null]}";

static void
test_channels_parse (void)
{
  g_autoptr (GHashTable) channels = NULL;
  g_autoptr (GError) error = NULL;
  const gchar *refused[] = {
    "[]",
    "{}",
    "{\"data\":{}}",
    "{\"data\":[],",
    "not json",
    "",
    "{\"data\":[]} []",
    "{\"data\":[{\"name\":\"stable\",\"latest\":\"v1.2.3+k3s1\",\"name\":\"again\"}]}",
  };

  channels = berth_k3s_channels_parse (channels_json, strlen (channels_json),
                                       "https://update.k3s.io/v1-release/channels", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (channels), ==, 4);
  g_assert_cmpstr (g_hash_table_lookup (channels, "stable"), ==, "v1.34.3+k3s1");
  /* The first of two channels by a name counts. */
  g_assert_cmpstr (g_hash_table_lookup (channels, "latest"), ==, "v1.35.1+k3s1");
  /* "id" when there is no "name"; a "v" added. */
  g_assert_cmpstr (g_hash_table_lookup (channels, "v1.35"), ==, "v1.35.1+k3s1");
  g_assert_cmpstr (g_hash_table_lookup (channels, "v1.16"), ==, "v1.16.15+k3s1");
  /* A pre-release is no version to offer. */
  g_assert_false (g_hash_table_contains (channels, "testing"));
  g_clear_pointer (&channels, g_hash_table_unref);

  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_clear_error (&error);
      channels = berth_k3s_channels_parse (refused[i], strlen (refused[i]),
                                           "https://mirror.example/channels", &error);
      g_assert_null (channels);
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
      g_assert_nonnull (strstr (error->message, "https://mirror.example/channels"));
    }
}

/* ---- releases pages ---------------------------------------------------------------- */

static gchar *
release_json (const gchar *tag, gboolean draft, gboolean prerelease, const gchar *const *assets)
{
  g_autoptr (GString) text = g_string_new (NULL);

  g_string_append_printf (text,
                          "{\"url\":\"https://api.github.com/repos/k3s-io/k3s/releases/1\","
                          "\"id\":1,\"tag_name\":\"%s\",\"target_commitish\":\"master\","
                          "\"name\":\"%s\",\"draft\":%s,\"prerelease\":%s,"
                          "\"author\":{\"login\":\"k3s-io\",\"id\":2},\"assets\":[",
                          tag, tag, draft ? "true" : "false", prerelease ? "true" : "false");
  for (guint i = 0; assets != NULL && assets[i] != NULL; i++)
    g_string_append_printf (text,
                            "%s{\"name\":\"%s\",\"size\":1,\"state\":\"uploaded\","
                            "\"browser_download_url\":\"https://github.com/k3s-io/k3s/releases/"
                            "download/x/%s\"}",
                            i > 0 ? "," : "", assets[i], assets[i]);
  g_string_append (text, "],\"body\":\"notes\"}");
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
test_releases_page (void)
{
  const gchar *amd64[] = { "k3s", "k3s-airgap-images-amd64.tar.zst", "sha256sum-amd64.txt", NULL };
  const gchar *arm64[] = { "k3s-arm64", "sha256sum-arm64.txt", NULL };
  const gchar *no_sums[] = { "k3s", NULL };
  const gchar *both[] = { "k3s", "sha256sum-amd64.txt", "k3s-arm64", "sha256sum-arm64.txt", NULL };
  g_autoptr (GPtrArray) entries = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (BerthK3sVersionList) list = berth_k3s_version_list_new ();
  g_autoptr (BerthK3sVersionList) arm = berth_k3s_version_list_new ();
  g_autoptr (BerthK3sVersionList) known = berth_k3s_version_list_new ();
  g_autoptr (BerthK3sVersionList) incremental = berth_k3s_version_list_new ();
  g_autoptr (GError) error = NULL;
  g_autofree gchar *page = NULL;
  BerthK3sReleasesPage info;
  BerthK3sVersion version;

  g_ptr_array_add (entries, release_json ("v1.35.1+k3s1", FALSE, FALSE, both));
  g_ptr_array_add (entries, release_json ("v1.36.0-rc1+k3s1", FALSE, TRUE, amd64));
  g_ptr_array_add (entries, release_json ("v1.35.2+k3s1", TRUE, FALSE, amd64)); /* a draft */
  g_ptr_array_add (entries, release_json ("v1.34.3+k3s2", FALSE, FALSE, amd64));
  g_ptr_array_add (entries, release_json ("v1.34.3+k3s1", FALSE, FALSE, amd64)); /* older build */
  g_ptr_array_add (entries, release_json ("v1.33.9+k3s1", FALSE, FALSE, no_sums));
  g_ptr_array_add (entries, release_json ("v1.33.8+k3s1", FALSE, FALSE, arm64));
  g_ptr_array_add (entries, release_json ("1.33.7+k3s1", FALSE, FALSE, amd64)); /* not canonical */
  g_ptr_array_add (entries, release_json ("v1.33.6+k3s1", FALSE, TRUE, amd64)); /* marked */
  g_ptr_array_add (entries, release_json ("v1.17.0+k3s.1", FALSE, FALSE, amd64));
  g_ptr_array_add (entries, g_strdup ("\"not a release\""));
  g_ptr_array_add (entries, g_strdup ("{\"tag_name\":\"v1.32.1+k3s1\",\"draft\":\"no\","
                                      "\"assets\":[{\"name\":\"k3s\"},{\"name\":"
                                      "\"sha256sum-amd64.txt\"}]}"));
  g_ptr_array_add (entries, g_strdup ("{\"tag_name\":\"v1.32.0+k3s1\",\"draft\":null,"
                                      "\"assets\":[{\"name\":\"k3s\"},{\"name\":"
                                      "\"sha256sum-amd64.txt\"}]}"));
  g_ptr_array_add (entries, release_json ("v1.14.10+k3s1", FALSE, FALSE, amd64));
  g_ptr_array_add (entries, release_json ("v1.15.0+k3s1", FALSE, FALSE, amd64));
  g_ptr_array_add (entries, NULL);
  {
    g_autofree gchar *joined = g_strjoinv (",", (gchar **)entries->pdata);

    page = g_strconcat ("[", joined, "]", NULL);
  }

  g_assert_true (berth_k3s_releases_page_parse (page, strlen (page), "https://p/1", "amd64", NULL,
                                                list, &info, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (info.n_releases, ==, 15);
  g_assert_cmpuint (info.n_added, ==, 4);
  g_assert_true (info.below_minimum);
  g_assert_false (info.reached_known);
  g_assert_cmpuint (list->versions->len, ==, 4);
  g_assert_cmpstr (g_ptr_array_index (list->versions, 0), ==, "v1.35.1+k3s1");
  g_assert_cmpstr (g_ptr_array_index (list->versions, 1), ==, "v1.34.3+k3s2");
  g_assert_cmpstr (g_ptr_array_index (list->versions, 2), ==, "v1.32.0+k3s1");
  /* The minimum itself is offered. */
  g_assert_cmpstr (g_ptr_array_index (list->versions, 3), ==, "v1.15.0+k3s1");

  /* The same page for arm64: what publishes for arm64. */
  g_assert_true (berth_k3s_releases_page_parse (page, strlen (page), "https://p/1", "aarch64", NULL,
                                                arm, &info, &error));
  g_assert_cmpuint (arm->versions->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (arm->versions, 1), ==, "v1.33.8+k3s1");

  /* With what an earlier refresh found, reading stops at the first of it. */
  g_assert_true (berth_k3s_version_parse_full ("v1.34.3+k3s1", &version));
  berth_k3s_version_list_add (known, &version);
  g_assert_true (berth_k3s_releases_page_parse (page, strlen (page), "https://p/1", "amd64", known,
                                                incremental, &info, &error));
  g_assert_true (info.reached_known);
  g_assert_false (info.below_minimum);
  g_assert_cmpuint (incremental->versions->len, ==, 2);

  /* Not a page of releases. */
  g_assert_false (berth_k3s_releases_page_parse ("{\"message\":\"Not Found\"}", 23, "https://p/2",
                                                 "amd64", NULL, list, &info, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "https://p/2"));
  g_clear_error (&error);
  g_assert_false (
      berth_k3s_releases_page_parse ("[{]", 3, "https://p/3", "amd64", NULL, list, &info, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_clear_error (&error);
  /* An empty page is a page. */
  g_assert_true (
      berth_k3s_releases_page_parse ("[]", 2, "https://p/4", "amd64", NULL, list, &info, &error));
  g_assert_cmpuint (info.n_releases, ==, 0);
}

static void
test_link_header (void)
{
  static const struct
  {
    const gchar *header;
    const gchar *next;
  } cases[] = {
    /* GitHub's. */
    { "<https://api.github.com/repositories/135516270/releases?per_page=100&page=2>; rel=\"next\", "
      "<https://api.github.com/repositories/135516270/releases?per_page=100&page=9>; rel=\"last\"",
      "https://api.github.com/repositories/135516270/releases?per_page=100&page=2" },
    { "<https://a/?page=1>; rel=\"prev\", <https://a/?page=3>; rel=\"next\"", "https://a/?page=3" },
    { "<https://a/?page=1>; rel=\"first\", <https://a/?page=1>; rel=\"prev\"", NULL },
    { "<https://a/2>;rel=next", "https://a/2" },
    { "<https://a/2>; title=\"x, y\"; REL=\"last next\"", "https://a/2" },
    { "<https://a/2>; rel=\"nextish\"", NULL },
    { "<>; rel=\"next\"", NULL },
    { "<https://a/2; rel=\"next\"", NULL },
    { "rel=\"next\"", NULL },
    { "", NULL },
    { NULL, NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *next = berth_k3s_link_header_next (cases[i].header);

      g_assert_cmpstr (next, ==, cases[i].next);
    }
}

/* ---- k3s-versions.json ----------------------------------------------------------------- */

static void
test_versions_file (void)
{
  const gchar file[] = "{\"formatVersion\":1,\"updated\":\"2026-11-30T10:00:00Z\",\"versions\":"
                       "[\"v1.33.1+k3s1\",\"v1.34.2+k3s1\",\"v1.34.2+k3s3\",\"v1.32.0+k3s1\"],"
                       "\"channels\":{\"latest\":\"v1.34.2+k3s1\",\"stable\":\"v1.33.1+k3s1\","
                       "\"v1.31\":\"v1.31.9+k3s1\"},\"futureMember\":true}";
  const gchar *refused[] = {
    "[]",
    "{\"versions\":[],\"channels\":{}}",
    "{\"formatVersion\":2,\"versions\":[],\"channels\":{}}",
    "{\"formatVersion\":\"1\",\"versions\":[],\"channels\":{}}",
    "{\"formatVersion\":1,\"channels\":{}}",
    "{\"formatVersion\":1,\"versions\":[\"v1.2.3\"],\"channels\":{}}",
    "{\"formatVersion\":1,\"versions\":[7],\"channels\":{}}",
    "{\"formatVersion\":1,\"versions\":[]}",
    "{\"formatVersion\":1,\"versions\":[],\"channels\":{\"stable\":\"soon\"}}",
    "{\"formatVersion\":1,\"versions\":[],\"channels\":[]}",
  };
  g_autoptr (BerthK3sVersionList) list = NULL;
  g_autoptr (BerthK3sVersionList) again = NULL;
  g_autoptr (GDateTime) when = g_date_time_new_utc (2026, 12, 1, 8, 30, 0);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = NULL;

  list = berth_k3s_version_list_parse_file (file, strlen (file), "the test file", &error);
  g_assert_no_error (error);
  /* Sorted, one build a release; a channel of an unlisted release dropped. */
  g_assert_cmpuint (list->versions->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (list->versions, 0), ==, "v1.34.2+k3s3");
  g_assert_cmpstr (g_ptr_array_index (list->versions, 2), ==, "v1.32.0+k3s1");
  g_assert_cmpstr (g_hash_table_lookup (list->channels, "latest"), ==, "v1.34.2+k3s3");
  g_assert_cmpuint (g_hash_table_size (list->channels), ==, 2);

  text = berth_k3s_version_list_to_file (list, when);
  g_assert_nonnull (strstr (text, "\"updated\" : \"2026-12-01T08:30:00Z\""));
  /* "stable" written first. */
  g_assert_true (strstr (text, "\"stable\"") < strstr (text, "\"latest\""));
  again = berth_k3s_version_list_parse_file (text, strlen (text), "the written file", &error);
  g_assert_no_error (error);
  g_assert_true (berth_k3s_version_list_equal (list, again));

  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr (BerthK3sVersionList) bad = NULL;

      g_clear_error (&error);
      bad = berth_k3s_version_list_parse_file (refused[i], strlen (refused[i]), "the bad file",
                                               &error);
      g_assert_null (bad);
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
      g_assert_nonnull (strstr (error->message, "the bad file"));
    }
}

/* The list shipped in data/: what a user offline with no cache is offered. */
static void
test_bundled_list (void)
{
  g_autofree gchar *bundled = berth_k3s_releases_find_bundled ();
  g_autofree gchar *root = berth_test_make_root ("k3s-bundled");
  g_autoptr (BerthK3sReleases) releases = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *stable = NULL;
  g_autofree gchar *latest = NULL;
  GPtrArray *versions;
  GHashTable *channels;
  const gchar *minors[] = { "v1.31.", "v1.32.", "v1.33.", "v1.34." };

  g_assert_true (g_str_has_prefix (bundled, g_getenv ("BERTH_DATA_DIR")));
  g_assert_true (g_file_test (bundled, G_FILE_TEST_IS_REGULAR));

  releases = berth_k3s_releases_new (root, bundled);
  g_assert_cmpint (berth_k3s_releases_get_source (releases), ==, BERTH_K3S_RELEASES_SOURCE_BUNDLED);
  versions = berth_k3s_releases_get_versions (releases);
  channels = berth_k3s_releases_get_channels (releases);
  g_assert_cmpuint (versions->len, >=, 10);
  for (guint i = 0; i < versions->len; i++)
    {
      BerthK3sVersion version;

      g_assert_true (berth_k3s_version_parse_full (g_ptr_array_index (versions, i), &version));
      if (i > 0)
        g_assert_cmpint (berth_k3s_version_compare (g_ptr_array_index (versions, i - 1),
                                                    g_ptr_array_index (versions, i)),
                         >, 0);
    }
  for (gsize m = 0; m < G_N_ELEMENTS (minors); m++)
    {
      gboolean found = FALSE;

      for (guint i = 0; i < versions->len && !found; i++)
        found = g_str_has_prefix (g_ptr_array_index (versions, i), minors[m]);
      g_assert_true (found);
    }
  g_assert_nonnull (g_hash_table_lookup (channels, "stable"));
  g_assert_cmpstr (g_hash_table_lookup (channels, "latest"), ==, g_ptr_array_index (versions, 0));

  stable = berth_k3s_releases_resolve (releases, "", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (stable, ==, g_hash_table_lookup (channels, "stable"));
  latest = berth_k3s_releases_resolve (releases, "latest", &error);
  g_assert_cmpstr (latest, ==, g_ptr_array_index (versions, 0));
  /* Nothing was written to the cache by reading. */
  {
    g_autofree gchar *cache = g_build_filename (root, "k3s-versions.json", NULL);

    g_assert_false (g_file_test (cache, G_FILE_TEST_EXISTS));
  }
  berth_test_rm_rf (root);
}

static void
test_cache_preferred (void)
{
  g_autofree gchar *root = berth_test_make_root ("k3s-cache");
  g_autofree gchar *bundled = berth_k3s_releases_find_bundled ();
  g_autofree gchar *cache = g_build_filename (root, "k3s-versions.json", NULL);
  g_autofree gchar *stale = g_build_filename (root, "k3s-versions.json.tmp-AbC123", NULL);
  g_autoptr (BerthK3sReleases) releases = NULL;
  g_autoptr (BerthK3sReleases) fallback = NULL;
  g_autoptr (BerthK3sReleases) nothing = NULL;

  berth_test_write_file (cache,
                         "{\"formatVersion\":1,\"versions\":[\"v1.99.1+k3s1\",\"v1.98.0+k3s2\"],"
                         "\"channels\":{\"stable\":\"v1.98.0+k3s2\"}}",
                         0644);
  /* What a refresh killed mid-write leaves is cleaned up. */
  berth_test_write_file (stale, "{\"formatVersion\":1,", 0600);
  releases = berth_k3s_releases_new (root, bundled);
  g_assert_cmpint (berth_k3s_releases_get_source (releases), ==, BERTH_K3S_RELEASES_SOURCE_CACHE);
  g_assert_cmpuint (berth_k3s_releases_get_versions (releases)->len, ==, 2);
  g_assert_false (g_file_test (stale, G_FILE_TEST_EXISTS));

  /* A cache that does not parse: said, and the bundled list is used. */
  berth_test_write_file (cache, "{\"formatVersion\":1,\"versions\":[\"v1.99.1+k3s1\"", 0644);
  g_test_expect_message ("BerthK3s", G_LOG_LEVEL_WARNING, "*cached list of k3s versions*unusable*");
  fallback = berth_k3s_releases_new (root, bundled);
  g_test_assert_expected_messages ();
  g_assert_cmpint (berth_k3s_releases_get_source (fallback), ==, BERTH_K3S_RELEASES_SOURCE_BUNDLED);
  g_assert_cmpuint (berth_k3s_releases_get_versions (fallback)->len, >=, 10);

  /* Neither: empty, and said. */
  g_unlink (cache);
  g_test_expect_message ("BerthK3s", G_LOG_LEVEL_WARNING, "*bundled list*unusable*");
  {
    g_autofree gchar *absent = g_build_filename (root, "absent.json", NULL);

    nothing = berth_k3s_releases_new (root, absent);
  }
  g_test_assert_expected_messages ();
  g_assert_cmpuint (berth_k3s_releases_get_versions (nothing)->len, ==, 0);
  {
    g_autoptr (GError) error = NULL;
    g_autofree gchar *resolved = berth_k3s_releases_resolve (nothing, "", &error);

    g_assert_null (resolved);
    g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
    g_assert_nonnull (strstr (error->message, "connect to the network"));
  }
  berth_test_rm_rf (root);
}

static void
test_resolve (void)
{
  g_autofree gchar *root = berth_test_make_root ("k3s-resolve");
  g_autofree gchar *cache = g_build_filename (root, "k3s-versions.json", NULL);
  g_autoptr (BerthK3sReleases) releases = NULL;
  static const struct
  {
    const gchar *wanted;
    const gchar *resolved;
  } ok[] = {
    { "", "v1.33.4+k3s1" },
    { NULL, "v1.33.4+k3s1" },
    { "  ", "v1.33.4+k3s1" },
    { "stable", "v1.33.4+k3s1" },
    { "latest", "v1.34.2+k3s2" },
    { "v1.32", "v1.32.9+k3s1" },
    { "1.32", "v1.32.9+k3s1" },
    { "v1.34.2", "v1.34.2+k3s2" },
    { "1.34.2", "v1.34.2+k3s2" },
    { " v1.33.4+k3s1 ", "v1.33.4+k3s1" },
    { "1.33.4+k3s1", "v1.33.4+k3s1" },
  };
  static const struct
  {
    const gchar *wanted;
    const gchar *nearest; /* in the message */
  } unknown[] = {
    /* An older build of a listed release: not swapped for the newer one. */
    { "v1.34.2+k3s1", "v1.34.2+k3s2" },
    { "v1.33.0", "v1.33.4+k3s1" },
    { "v1.30.2+k3s1", "v1.32.9+k3s1" },
    { "v1.99.0", "v1.34.2+k3s2" },
  };

  berth_test_write_file (cache,
                         "{\"formatVersion\":1,\"versions\":[\"v1.34.2+k3s2\",\"v1.34.1+k3s1\","
                         "\"v1.33.4+k3s1\",\"v1.32.9+k3s1\"],\"channels\":{\"stable\":"
                         "\"v1.33.4+k3s1\",\"latest\":\"v1.34.2+k3s2\",\"v1.32\":"
                         "\"v1.32.9+k3s1\"}}",
                         0644);
  releases = berth_k3s_releases_new (root, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (ok); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree gchar *resolved = berth_k3s_releases_resolve (releases, ok[i].wanted, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (resolved, ==, ok[i].resolved);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (unknown); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree gchar *resolved = berth_k3s_releases_resolve (releases, unknown[i].wanted, &error);
      g_autofree gchar *canonical = NULL;
      BerthK3sVersion version;

      g_assert_null (resolved);
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING);
      g_test_message ("%s", error->message);
      g_assert_true (berth_k3s_version_parse (unknown[i].wanted, &version));
      canonical = berth_k3s_version_to_string (&version);
      /* Named, with the nearest offered. */
      g_assert_nonnull (strstr (error->message, canonical));
      g_assert_nonnull (strstr (error->message, unknown[i].nearest));
      g_assert_nonnull (strstr (error->message, "kubernetes.version"));
      g_assert_cmpstr (berth_k3s_releases_get_nearest (releases, unknown[i].wanted), ==,
                       unknown[i].nearest);
    }
  {
    g_autoptr (GError) error = NULL;
    g_autofree gchar *resolved = berth_k3s_releases_resolve (releases, "edge\n", &error);

    g_assert_null (resolved);
    g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING);
    /* What was given, and what is allowed: a version, or the channels. */
    g_assert_nonnull (strstr (error->message, "“edge”"));
    g_assert_nonnull (strstr (error->message, "stable, latest, v1.32"));
  }
  {
    g_autoptr (GError) error = NULL;
    g_autofree gchar *resolved = berth_k3s_releases_resolve (releases, "stäble\tx", &error);

    g_assert_null (resolved);
    g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING);
    g_assert_nonnull (strstr (error->message, "“stäble\\tx”"));
  }
  g_assert_null (berth_k3s_releases_get_nearest (releases, "stable"));
  berth_test_rm_rf (root);
}

/* ---- against the fake mirror ---------------------------------------------------------- */

typedef struct
{
  gchar *root;
  gchar *releases_dir;
  gchar *cache_dir;
  gchar *bundled;
  BerthK3sTestMirror *mirror;
  guint changed;
} MirrorFixture;

static void
on_changed (BerthK3sReleases *releases, gpointer user_data)
{
  MirrorFixture *fx = user_data;

  fx->changed++;
}

static void
mirror_fixture_set_up (MirrorFixture *fx, gconstpointer user_data)
{
  /* Releases in publishing order: the mirror lists them newest first. */
  const gchar *tags[] = { "v1.34.2+k3s1", "v1.34.1+k3s1", "v1.33.6+k3s2",    "v1.33.6+k3s1",
                          "v1.33.5+k3s1", "v1.32.9+k3s1", "v1.35.0-rc1+k3s1" };

  fx->root = berth_test_make_root ("k3s-mirror");
  fx->releases_dir = g_build_filename (fx->root, "releases", NULL);
  fx->cache_dir = g_build_filename (fx->root, "cache", NULL);
  fx->bundled = berth_k3s_releases_find_bundled ();
  g_mkdir_with_parents (fx->cache_dir, 0700);
  if (!berth_k3s_test_mirror_available ())
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (tags); i++)
    berth_k3s_test_make_release (fx->releases_dir, tags[i], "amd64");
  /* A draft, a release without amd64 files, one older than the minimum. */
  berth_k3s_test_make_release (fx->releases_dir, "v1.34.3+k3s1", "amd64");
  {
    g_autofree gchar *draft = g_build_filename (fx->releases_dir, "v1.34.3+k3s1", ".draft", NULL);

    berth_test_write_file (draft, "", 0644);
  }
  berth_k3s_test_make_release (fx->releases_dir, "v1.33.3+k3s1", "arm64");
  berth_k3s_test_make_release (fx->releases_dir, "v1.14.9+k3s1", "amd64");
  fx->mirror = berth_k3s_test_mirror_start (fx->releases_dir);
  berth_k3s_test_mirror_set_env (fx->mirror, NULL, NULL, NULL);
}

static void
mirror_fixture_tear_down (MirrorFixture *fx, gconstpointer user_data)
{
  berth_k3s_test_mirror_unset_env ();
  g_clear_pointer (&fx->mirror, berth_k3s_test_mirror_free);
  berth_test_rm_rf (fx->root);
  g_free (fx->root);
  g_free (fx->releases_dir);
  g_free (fx->cache_dir);
  g_free (fx->bundled);
}

static gboolean
refresh (BerthK3sReleases *releases, const gchar *ca_file, GCancellable *cancellable,
         GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  berth_k3s_releases_refresh_async (releases, ca_file, cancellable, berth_test_store_result,
                                    &result);
  berth_test_wait_result (&result, 120);
  return berth_k3s_releases_refresh_finish (releases, result, error);
}

static void
set_page_size (MirrorFixture *fx, guint size)
{
  g_autofree gchar *path = g_build_filename (fx->releases_dir, ".mirror", "page-size", NULL);
  g_autofree gchar *text = g_strdup_printf ("%u\n", size);

  berth_test_write_file (path, text, 0644);
}

static guint
count_requests (GStrv requests, const gchar *needle)
{
  guint n = 0;

  for (guint i = 0; requests[i] != NULL; i++)
    if (strstr (requests[i], needle) != NULL)
      n++;
  return n;
}

static void
test_refresh_pages (MirrorFixture *fx, gconstpointer user_data)
{
  const gchar *expected[]
      = { "v1.34.2+k3s1", "v1.34.1+k3s1", "v1.33.6+k3s2", "v1.33.5+k3s1", "v1.32.9+k3s1" };
  g_autoptr (BerthK3sReleases) releases = NULL;
  g_autoptr (BerthK3sReleases) reloaded = NULL;
  g_autoptr (BerthK3sVersionList) cached = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *cache = g_build_filename (fx->cache_dir, "k3s-versions.json", NULL);
  g_autofree gchar *cache_text = NULL;
  g_auto (GStrv) requests = NULL;
  GPtrArray *versions;
  GHashTable *channels;

  if (fx->mirror == NULL)
    return;
  releases = berth_k3s_releases_new (fx->cache_dir, fx->bundled);
  g_signal_connect (releases, "changed", G_CALLBACK (on_changed), fx);
  g_assert_cmpint (berth_k3s_releases_get_source (releases), ==, BERTH_K3S_RELEASES_SOURCE_BUNDLED);

  g_assert_true (refresh (releases, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fx->changed, ==, 1);
  g_assert_cmpint (berth_k3s_releases_get_source (releases), ==, BERTH_K3S_RELEASES_SOURCE_NETWORK);

  versions = berth_k3s_releases_get_versions (releases);
  for (guint i = 0; i < versions->len; i++)
    g_test_message ("listed: %s", (const gchar *)g_ptr_array_index (versions, i));
  g_assert_cmpuint (versions->len, ==, G_N_ELEMENTS (expected));
  for (gsize i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_cmpstr (g_ptr_array_index (versions, i), ==, expected[i]);
  channels = berth_k3s_releases_get_channels (releases);
  /* The mirror's channels, as k3s's: stable a minor behind latest. */
  g_assert_cmpstr (g_hash_table_lookup (channels, "latest"), ==, "v1.34.2+k3s1");
  g_assert_cmpstr (g_hash_table_lookup (channels, "stable"), ==, "v1.33.6+k3s2");
  g_assert_cmpstr (g_hash_table_lookup (channels, "v1.32"), ==, "v1.32.9+k3s1");
  /* Its testing channel names a pre-release, and v1.14 one below the minimum. */
  g_assert_false (g_hash_table_contains (channels, "testing"));
  g_assert_false (g_hash_table_contains (channels, "v1.14"));

  /* The channels, then GitHub's two pages, asked with per_page=100. */
  requests = berth_k3s_test_mirror_take_requests (fx->mirror);
  g_assert_cmpuint (g_strv_length (requests), ==, 3);
  g_assert_cmpstr (requests[0], ==, "GET /v1-release/channels");
  g_assert_cmpstr (requests[1], ==, "GET /repos/k3s-io/k3s/releases?per_page=100");
  g_assert_cmpstr (requests[2], ==, "GET /repos/k3s-io/k3s/releases?per_page=100&page=2");

  /* The cache holds what was read, and a new start reads it back. */
  cache_text = berth_test_read_file (cache);
  cached = berth_k3s_version_list_parse_file (cache_text, strlen (cache_text), cache, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (cached->versions->len, ==, G_N_ELEMENTS (expected));
  g_assert_nonnull (strstr (cache_text, "\"updated\""));
  reloaded = berth_k3s_releases_new (fx->cache_dir, fx->bundled);
  g_assert_cmpint (berth_k3s_releases_get_source (reloaded), ==, BERTH_K3S_RELEASES_SOURCE_CACHE);
  g_assert_cmpuint (berth_k3s_releases_get_versions (reloaded)->len, ==, G_N_ELEMENTS (expected));
}

/* Reading stops below the minimum version, and at what a refresh already read. */
static void
test_refresh_stops (MirrorFixture *fx, gconstpointer user_data)
{
  g_autoptr (BerthK3sReleases) releases = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) requests = NULL;
  g_auto (GStrv) again = NULL;
  g_auto (GStrv) third = NULL;
  GPtrArray *versions;

  if (fx->mirror == NULL)
    return;
  /* Thirteen releases in pages of three, newest first: the fourth page has
   * v1.14.10, older than the minimum, and reading stops there; the fifth
   * (v1.14.9) is not asked for. */
  set_page_size (fx, 3);
  berth_k3s_test_make_release (fx->releases_dir, "v1.14.10+k3s1", "amd64");
  berth_k3s_test_make_release (fx->releases_dir, "v1.33.1+k3s1", "amd64");
  berth_k3s_test_make_release (fx->releases_dir, "v1.32.0+k3s1", "amd64");
  /* 1.35.0-rc1, 1.34.3 (draft), 1.34.2 | 1.34.1, 1.33.6+k3s2, 1.33.6+k3s1 |
   * 1.33.5, 1.33.3 (arm64), 1.33.1 | 1.32.9, 1.32.0, 1.14.10 | 1.14.9 */
  releases = berth_k3s_releases_new (fx->cache_dir, fx->bundled);
  g_assert_true (refresh (releases, NULL, NULL, &error));
  g_assert_no_error (error);
  requests = berth_k3s_test_mirror_take_requests (fx->mirror);
  g_assert_cmpuint (count_requests (requests, "/releases"), ==, 4);
  g_assert_cmpuint (count_requests (requests, "page=5"), ==, 0);
  versions = berth_k3s_releases_get_versions (releases);
  g_assert_cmpstr (g_ptr_array_index (versions, versions->len - 1), ==, "v1.32.0+k3s1");

  /* A new release: the next refresh reads the first page, meets what it
   * knows there (v1.34.2, now fourth), and keeps the rest. */
  set_page_size (fx, 4);
  fx->changed = 0;
  g_signal_connect (releases, "changed", G_CALLBACK (on_changed), fx);
  berth_k3s_test_make_release (fx->releases_dir, "v1.35.0+k3s1", "amd64");
  g_assert_true (refresh (releases, NULL, NULL, &error));
  again = berth_k3s_test_mirror_take_requests (fx->mirror);
  g_assert_cmpuint (count_requests (again, "/releases"), ==, 1);
  g_assert_cmpuint (fx->changed, ==, 1);
  versions = berth_k3s_releases_get_versions (releases);
  g_assert_cmpstr (g_ptr_array_index (versions, 0), ==, "v1.35.0+k3s1");
  g_assert_cmpstr (g_ptr_array_index (versions, versions->len - 1), ==, "v1.32.0+k3s1");
  g_assert_cmpuint (versions->len, ==, 8);
  g_assert_cmpstr (g_hash_table_lookup (berth_k3s_releases_get_channels (releases), "stable"), ==,
                   "v1.34.2+k3s1");

  /* Nothing new: nothing changed, and no "changed". */
  g_assert_true (refresh (releases, NULL, NULL, &error));
  third = berth_k3s_test_mirror_take_requests (fx->mirror);
  g_assert_cmpuint (count_requests (third, "/releases"), ==, 1);
  g_assert_cmpuint (fx->changed, ==, 1);
}

/* A failed refresh keeps the list and the cache as they were, and says what
 * failed where. */
static void
test_refresh_failures (MirrorFixture *fx, gconstpointer user_data)
{
  g_autoptr (BerthK3sReleases) releases = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *cache = g_build_filename (fx->cache_dir, "k3s-versions.json", NULL);
  g_autofree gchar *channels_override
      = g_build_filename (fx->releases_dir, ".mirror", "channels.json", NULL);
  g_autofree gchar *before = NULL;
  g_autofree gchar *after = NULL;
  g_autofree gchar *first = NULL;
  g_autofree gchar *url = NULL;
  guint n_versions;

  if (fx->mirror == NULL)
    return;
  releases = berth_k3s_releases_new (fx->cache_dir, fx->bundled);
  g_signal_connect (releases, "changed", G_CALLBACK (on_changed), fx);

  /* The mirror's CA not trusted: the TLS check is not skipped. */
  g_unsetenv ("BERTH_K3S_CA_FILE");
  g_assert_false (refresh (releases, NULL, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_DOWNLOAD);
  g_assert_nonnull (strstr (error->message, "TLS"));
  g_assert_nonnull (strstr (error->message, "BERTH_K3S_CA_FILE"));
  g_clear_error (&error);
  g_assert_cmpint (berth_k3s_releases_get_source (releases), ==, BERTH_K3S_RELEASES_SOURCE_BUNDLED);
  g_assert_false (g_file_test (cache, G_FILE_TEST_EXISTS));
  /* Given as an argument instead, it is trusted. */
  g_assert_true (refresh (releases, fx->mirror->ca_file, NULL, &error));
  g_assert_no_error (error);
  g_setenv ("BERTH_K3S_CA_FILE", fx->mirror->ca_file, TRUE);
  before = berth_test_read_file (cache);
  n_versions = berth_k3s_releases_get_versions (releases)->len;
  first = g_strdup (g_ptr_array_index (berth_k3s_releases_get_versions (releases), 0));
  g_assert_cmpuint (fx->changed, ==, 1);

  /* HTTP 500 on the releases. */
  berth_k3s_test_mirror_set_env (fx->mirror, NULL, "status-500", NULL);
  g_assert_false (refresh (releases, NULL, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_DOWNLOAD);
  url = berth_k3s_test_mirror_url (fx->mirror, "status-500",
                                   "/repos/k3s-io/k3s/releases?per_page=100");
  g_assert_nonnull (strstr (error->message, url));
  g_assert_nonnull (strstr (error->message, "HTTP 500"));
  g_clear_error (&error);
  g_clear_pointer (&url, g_free);

  /* HTTP 500 on the channels. */
  berth_k3s_test_mirror_set_env (fx->mirror, "status-500", NULL, NULL);
  g_assert_false (refresh (releases, NULL, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_DOWNLOAD);
  url = berth_k3s_test_mirror_url (fx->mirror, "status-500", "/v1-release/channels");
  g_assert_nonnull (strstr (error->message, url));
  g_clear_error (&error);
  g_clear_pointer (&url, g_free);

  /* Channels that are not a channels document. */
  berth_k3s_test_mirror_set_env (fx->mirror, NULL, NULL, NULL);
  berth_test_write_file (channels_override, "{\"data\": \"stable\"}", 0644);
  g_assert_false (refresh (releases, NULL, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "/v1-release/channels"));
  g_clear_error (&error);
  g_unlink (channels_override);

  /* Nobody listening: the network is down. */
  g_setenv ("BERTH_K3S_CHANNELS_URL", "https://127.0.0.1:1/v1-release/channels", TRUE);
  g_assert_false (refresh (releases, NULL, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_DOWNLOAD);
  g_assert_nonnull (strstr (error->message, "https://127.0.0.1:1/v1-release/channels"));
  g_clear_error (&error);

  /* A server that never answers: a cancel ends the refresh at once. */
  berth_k3s_test_mirror_set_env (fx->mirror, NULL, "hang", NULL);
  {
    g_autoptr (GCancellable) cancellable = g_cancellable_new ();
    g_autoptr (GAsyncResult) result = NULL;
    gint64 cancelled_at;

    berth_k3s_releases_refresh_async (releases, NULL, cancellable, berth_test_store_result,
                                      &result);
    g_assert_true (berth_k3s_test_mirror_wait_request (fx->mirror, "/broken/hang/", 60));
    cancelled_at = g_get_monotonic_time ();
    g_cancellable_cancel (cancellable);
    berth_test_wait_result (&result, 30);
    g_assert_false (berth_k3s_releases_refresh_finish (releases, result, &error));
    g_assert_error (error, BERTH_ERROR, BERTH_ERROR_CANCELLED);
    /* Well before any timeout of the HTTP client's. */
    g_assert_cmpint (g_get_monotonic_time () - cancelled_at, <, 20 * G_USEC_PER_SEC);
    g_clear_error (&error);
  }

  /* Through it all: the same list, the same cache, no "changed". */
  g_assert_cmpuint (fx->changed, ==, 1);
  g_assert_cmpint (berth_k3s_releases_get_source (releases), ==, BERTH_K3S_RELEASES_SOURCE_NETWORK);
  g_assert_cmpuint (berth_k3s_releases_get_versions (releases)->len, ==, n_versions);
  g_assert_cmpstr (g_ptr_array_index (berth_k3s_releases_get_versions (releases), 0), ==, first);
  after = berth_test_read_file (cache);
  g_assert_cmpstr (after, ==, before);
}

/* Offline with no cache: the bundled list, and a failed refresh keeps it. */
static void
test_refresh_offline (MirrorFixture *fx, gconstpointer user_data)
{
  g_autoptr (BerthK3sReleases) releases = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *resolved = NULL;
  g_autofree gchar *cache = g_build_filename (fx->cache_dir, "k3s-versions.json", NULL);

  g_setenv ("BERTH_K3S_CHANNELS_URL", "https://127.0.0.1:1/v1-release/channels", TRUE);
  g_setenv ("BERTH_K3S_RELEASES_URL", "https://127.0.0.1:1/releases?per_page=100", TRUE);
  releases = berth_k3s_releases_new (fx->cache_dir, fx->bundled);
  g_assert_false (refresh (releases, NULL, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_DOWNLOAD);
  g_assert_cmpint (berth_k3s_releases_get_source (releases), ==, BERTH_K3S_RELEASES_SOURCE_BUNDLED);
  g_assert_cmpuint (berth_k3s_releases_get_versions (releases)->len, >=, 10);
  resolved = berth_k3s_releases_resolve (releases, "stable", NULL);
  g_assert_nonnull (resolved);
  g_assert_false (g_file_test (cache, G_FILE_TEST_EXISTS));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/k3s/version/parse", test_version_parse);
  g_test_add_func ("/k3s/version/order", test_version_order);
  g_test_add_func ("/k3s/version/nearest", test_version_nearest);
  g_test_add_func ("/k3s/version/list", test_version_list);
  g_test_add_func ("/k3s/channels/parse", test_channels_parse);
  g_test_add_func ("/k3s/releases/page", test_releases_page);
  g_test_add_func ("/k3s/releases/link-header", test_link_header);
  g_test_add_func ("/k3s/versions-file", test_versions_file);
  g_test_add_func ("/k3s/releases/bundled", test_bundled_list);
  g_test_add_func ("/k3s/releases/cache", test_cache_preferred);
  g_test_add_func ("/k3s/releases/resolve", test_resolve);
  g_test_add ("/k3s/releases/refresh/pages", MirrorFixture, NULL, mirror_fixture_set_up,
              test_refresh_pages, mirror_fixture_tear_down);
  g_test_add ("/k3s/releases/refresh/stops", MirrorFixture, NULL, mirror_fixture_set_up,
              test_refresh_stops, mirror_fixture_tear_down);
  g_test_add ("/k3s/releases/refresh/failures", MirrorFixture, NULL, mirror_fixture_set_up,
              test_refresh_failures, mirror_fixture_tear_down);
  g_test_add ("/k3s/releases/refresh/offline", MirrorFixture, NULL, mirror_fixture_set_up,
              test_refresh_offline, mirror_fixture_tear_down);
  return g_test_run ();
}
