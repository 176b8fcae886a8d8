/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "berth-test-util.h"
#include "berth-updater-install.h"
#include "berth-updater-release.h"
#include "updater-fixture.h"

#define WAIT_SECONDS 60
#define NEWER "9.9.9"
#define FAKE_BERTHD "#!/bin/sh\necho 'the berthd of a fake Berth release'\n"

/* ---- what is sent and read ------------------------------------------------ */

static void
test_request_body (void)
{
  g_autofree gchar *x64 = berth_updater_platform ("x86_64");
  g_autofree gchar *arm64 = berth_updater_platform ("aarch64");
  g_autofree gchar *body = berth_updater_responder_request ("0.1.0", x64, "0.0.0");

  /* As Rancher Desktop names platforms: Node.js's architectures. */
  g_assert_cmpstr (x64, ==, "linux-x64");
  g_assert_cmpstr (arm64, ==, "linux-arm64");
  g_assert_cmpstr (body, ==,
                   "{\"appVersion\":\"0.1.0\",\"extraInfo\":{\"platform\":\"linux-x64\","
                   "\"platformVersion\":\"0.0.0\"}}");
}

static void
test_versions (void)
{
  const gchar *const ordered[]
      = { "0.9.9",        "1.0.0-alpha",   "1.0.0-alpha.1", "1.0.0-beta",
          "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",    "v1.0.0+build.5",
          "1.0.1",        "1.10.0",        "10.0.0" };
  const gchar *const invalid[] = { "",
                                   "1",
                                   "1.2",
                                   "1.2.3.4",
                                   "01.2.3",
                                   "1.2.3-",
                                   "1.2.3-a..b",
                                   "1.2.x",
                                   "version 1",
                                   "1.2.3 ",
                                   "99999999999999999999.0.0" };

  for (gsize i = 0; i + 1 < G_N_ELEMENTS (ordered); i++)
    {
      g_auto (BerthUpdaterVersion) a = { 0 };
      g_auto (BerthUpdaterVersion) b = { 0 };

      g_assert_true (berth_updater_version_parse (ordered[i], &a, NULL));
      g_assert_true (berth_updater_version_parse (ordered[i + 1], &b, NULL));
      g_assert_cmpint (berth_updater_version_compare (&a, &b), <, 0);
      g_assert_cmpint (berth_updater_version_compare (&b, &a), >, 0);
      g_assert_cmpint (berth_updater_version_compare (&a, &a), ==, 0);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_auto (BerthUpdaterVersion) v = { 0 };
      g_autoptr (GError) error = NULL;

      g_assert_false (berth_updater_version_parse (invalid[i], &v, &error));
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
      g_assert_nonnull (strstr (error->message, "is not a version"));
    }
}

static BerthUpdaterResponderAnswer *
parse_answer (const gchar *text, GError **error)
{
  return berth_updater_responder_parse (text, strlen (text), error);
}

static void
test_responder_answers (void)
{
  g_autoptr (BerthUpdaterResponderAnswer) answer = NULL;
  g_autoptr (GError) error = NULL;
  const struct
  {
    const gchar *text;
    const gchar *message;
  } refused[] = {
    { "", "is empty" },
    { "[]", "is an array; expected a JSON object" },
    { "{}", "has no \"versions\"" },
    { "{\"versions\": {}}", "versions is an object; expected an array" },
    { "{\"versions\": []}", "lists no versions" },
    { "{\"versions\": [{\"Name\": \"1.0.0\", \"Supported\": false}]}", "no supported version" },
    { "{\"versions\": [{\"Name\": 1}]}", "versions[0].Name is a number; expected a string" },
    { "{\"versions\": [{}]}", "versions[0].Name is missing" },
    { "{\"versions\": [{\"Name\": \"latest\"}]}", "versions[0].Name: \"latest\" is not a version" },
    { "{\"versions\": [{\"Name\": \"1.0.0\", \"Supported\": \"yes\"}]}",
      "versions[0].Supported is a string" },
    { "{\"versions\": [{\"Name\": \"1.0.0\"}], \"requestIntervalInMinutes\": -5}",
      "requestIntervalInMinutes is a number; expected a whole number" },
    { "{\"versions\": [{\"Name\": \"1.0.0\", \"Name\": \"2.0.0\"}]}", "Name" },
  };

  /* The newest supported, whatever the order; a newer unsupported one is
   * noted; Supported defaults to true. */
  answer = parse_answer ("{\"versions\": ["
                         "{\"Name\": \"v1.2.0\", \"ReleaseDate\": \"2024-01-01T00:00:00Z\", "
                         "\"Tags\": [\"v1.2.0\"]},"
                         "{\"Name\": \"v1.10.0\", \"ReleaseDate\": \"2024-06-01T00:00:00Z\", "
                         "\"Supported\": true, \"Tags\": [\"latest\"]},"
                         "{\"Name\": \"v2.0.0\", \"Supported\": false},"
                         "{\"Name\": \"v1.9.0\"}],"
                         "\"requestIntervalInMinutes\": 120, \"extra\": \"ignored\"}",
                         &error);
  g_assert_no_error (error);
  g_assert_cmpstr (answer->latest, ==, "v1.10.0");
  g_assert_cmpstr (answer->latest_date, ==, "2024-06-01T00:00:00Z");
  g_assert_true (answer->newer_unsupported);
  g_assert_cmpint (answer->request_interval_minutes, ==, 120);
  g_assert_cmpuint (answer->n_versions, ==, 4);
  g_clear_pointer (&answer, berth_updater_responder_answer_free);

  answer = parse_answer ("{\"versions\": [{\"Name\": \"0.1.0\"}]}", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (answer->latest, ==, "0.1.0");
  g_assert_false (answer->newer_unsupported);
  g_assert_cmpint (answer->request_interval_minutes, ==, 0);

  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr (GError) local_error = NULL;

      g_test_message ("refused: %s", refused[i].text);
      g_assert_null (parse_answer (refused[i].text, &local_error));
      g_assert_error (local_error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
      g_test_message ("  %s", local_error->message);
      g_assert_nonnull (strstr (local_error->message, refused[i].message));
    }
}

static void
test_github_release (void)
{
  const gchar *good
      = "{\"tag_name\": \"v1.2.3\", \"name\": \"Berth 1.2.3\", \"body\": \"Notes\", "
        "\"draft\": false, \"prerelease\": false, \"published_at\": \"2024-01-01T00:00:00Z\", "
        "\"assets\": [{\"name\": \"berth-1.2.3-linux-x86_64.tar.gz\", \"size\": 10, "
        "\"browser_download_url\": \"https://example.invalid/a.tar.gz\", \"label\": null}]}";
  const struct
  {
    const gchar *text;
    const gchar *message;
  } refused[] = {
    { "{\"assets\": []}", "tag_name is missing" },
    { "{\"tag_name\": \"nightly\", \"assets\": []}", "tag_name: \"nightly\" is not a version" },
    { "{\"tag_name\": \"v1.0.0\"}", "assets is missing" },
    { "{\"tag_name\": \"v1.0.0\", \"assets\": [{\"name\": \"a\", \"browser_download_url\": "
      "\"http://example.invalid/a\"}]}",
      "is not an https:// URL" },
    { "{\"tag_name\": \"v1.0.0\", \"assets\": [{\"name\": \"a\", \"browser_download_url\": "
      "\"file:///etc/passwd\"}]}",
      "is not an https:// URL" },
    { "{\"tag_name\": \"v1.0.0\", \"assets\": [{\"name\": \"a\", \"size\": -1, "
      "\"browser_download_url\": \"https://example.invalid/a\"}]}",
      "assets[0].size" },
  };
  g_autoptr (BerthUpdaterRelease) release = NULL;
  g_autoptr (GError) error = NULL;
  const BerthUpdaterAsset *asset;

  release = berth_updater_release_parse (good, strlen (good), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (release->tag, ==, "v1.2.3");
  g_assert_cmpstr (release->version, ==, "1.2.3");
  g_assert_cmpstr (release->notes, ==, "Notes");
  asset = berth_updater_release_find_asset (release, "berth-1.2.3-linux-x86_64.tar.gz");
  g_assert_nonnull (asset);
  g_assert_cmpint (asset->size, ==, 10);
  g_assert_null (berth_updater_release_find_asset (release, "berth-1.2.3-linux-aarch64.tar.gz"));

  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr (GError) local_error = NULL;

      g_assert_null (
          berth_updater_release_parse (refused[i].text, strlen (refused[i].text), &local_error));
      g_assert_error (local_error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
      g_test_message ("%s", local_error->message);
      g_assert_nonnull (strstr (local_error->message, refused[i].message));
    }
}

static void
test_sha512sum (void)
{
  g_autofree gchar *hex = g_strnfill (128, 'A');
  g_autofree gchar *lower = g_strnfill (128, 'a');
  g_autofree gchar *line = g_strdup_printf ("%s  berth.tar.gz\n", hex);
  g_autofree gchar *binary = g_strdup_printf ("%s *berth.tar.gz\n", hex);
  g_autofree gchar *other = g_strdup_printf ("%s  other.tar.gz\n", hex);
  g_autofree gchar *shorter = g_strnfill (127, 'a');
  g_autofree gchar *html = g_strdup ("<html>Not Found</html>");
  const gchar *const good[] = { line, binary, hex };
  const gchar *const bad[] = { other, shorter, html, "" };

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree gchar *digest
          = berth_updater_sha512sum_parse (good[i], strlen (good[i]), "berth.tar.gz", &error);

      g_assert_no_error (error);
      g_assert_cmpstr (digest, ==, lower);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;

      g_assert_null (
          berth_updater_sha512sum_parse (bad[i], strlen (bad[i]), "berth.tar.gz", &error));
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
    }
}

/* ---- installing ------------------------------------------------------------ */

typedef struct
{
  gchar *root;    /* the release root */
  gchar *scratch; /* archives */
} Bundle;

/* A release root with 0.1.0 unpacked and current. */
static void
bundle_setup (Bundle *b, gconstpointer data)
{
  g_autofree gchar *bin = NULL;
  g_autofree gchar *berthd = NULL;
  g_autofree gchar *current = NULL;

  b->scratch = berth_test_make_root ("berth-updater-install");
  b->root = g_build_filename (b->scratch, "berth", NULL);
  bin = g_build_filename (b->root, "versions", "0.1.0", "bin", NULL);
  g_assert_cmpint (g_mkdir_with_parents (bin, 0755), ==, 0);
  berthd = g_build_filename (bin, "berthd", NULL);
  berth_test_write_file (berthd, "#!/bin/sh\necho 'the fake running release'\n", 0755);
  current = g_build_filename (b->root, "current", NULL);
  g_assert_cmpint (symlink ("versions/0.1.0", current), ==, 0);
}

static void
bundle_teardown (Bundle *b, gconstpointer data)
{
  berth_test_rm_rf (b->scratch);
  g_free (b->scratch);
  g_free (b->root);
}

static gchar *
bundle_current (Bundle *b)
{
  g_autofree gchar *link = g_build_filename (b->root, "current", NULL);

  return g_file_read_link (link, NULL);
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const gchar *const *)a, *(const gchar *const *)b);
}

/* The names in <root>/versions, sorted, joined by spaces. */
static gchar *
bundle_versions (Bundle *b)
{
  g_autofree gchar *path = g_build_filename (b->root, "versions", NULL);
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const gchar *name;

  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (gchar **)names->pdata);
}

static gchar *
bundle_archive (Bundle *b, const gchar *version)
{
  g_autofree gchar *name = g_strdup_printf ("berth-%s.tar.gz", version);
  gchar *path = g_build_filename (b->scratch, name, NULL);

  updater_write_release (path, version, FAKE_BERTHD);
  return path;
}

static void
test_install_switches (Bundle *b, gconstpointer data)
{
  g_autofree gchar *archive = bundle_archive (b, "0.2.0");
  g_autofree gchar *archive3 = bundle_archive (b, "0.3.0");
  g_autofree gchar *berthd = g_build_filename (b->root, "current", "bin", "berthd", NULL);
  g_autofree gchar *library = g_build_filename (b->root, "current", "lib", "libberth-1.so", NULL);
  g_autofree gchar *text = NULL;
  g_autofree gchar *current = NULL;
  g_autofree gchar *versions = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (berth_updater_install_unpack (b->root, "0.2.0", archive, NULL, &error));
  g_assert_no_error (error);
  /* Unpacked beside it, the running release is still current. */
  current = bundle_current (b);
  g_assert_cmpstr (current, ==, "versions/0.1.0");
  versions = bundle_versions (b);
  g_assert_cmpstr (versions, ==, "0.1.0 0.2.0");

  g_assert_true (berth_updater_install_switch (b->root, "0.2.0", &error));
  g_assert_no_error (error);
  g_free (current);
  current = bundle_current (b);
  g_assert_cmpstr (current, ==, "versions/0.2.0");
  text = berth_test_read_file (berthd);
  g_assert_cmpstr (text, ==, FAKE_BERTHD);
  g_assert_true (g_file_test (berthd, G_FILE_TEST_IS_EXECUTABLE));
  g_assert_true (g_file_test (library, G_FILE_TEST_IS_REGULAR));

  /* The next one keeps the one before it, and no older. */
  g_assert_true (berth_updater_install_unpack (b->root, "0.3.0", archive3, NULL, &error));
  g_assert_true (berth_updater_install_switch (b->root, "0.3.0", &error));
  g_assert_no_error (error);
  g_free (versions);
  versions = bundle_versions (b);
  g_assert_cmpstr (versions, ==, "0.2.0 0.3.0");

  /* The running release is not unpacked over. */
  g_assert_false (berth_updater_install_unpack (b->root, "0.3.0", archive3, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_BUSY);
}

static void
test_install_refuses (Bundle *b, gconstpointer data)
{
  const ArchiveEntrySpec climbs[] = {
    { "berth-0.2.0/", ENTRY_DIR, NULL, 0755 },
    { "berth-0.2.0/bin/berthd", ENTRY_FILE, FAKE_BERTHD, 0755 },
    { "berth-0.2.0/../../escaped", ENTRY_FILE, "fake", 0644 },
  };
  const ArchiveEntrySpec absolute[] = {
    { "/tmp/berth-fake-absolute", ENTRY_FILE, "fake", 0644 },
  };
  const ArchiveEntrySpec link_out[] = {
    { "berth-0.2.0/bin/berthd", ENTRY_FILE, FAKE_BERTHD, 0755 },
    { "berth-0.2.0/lib", ENTRY_SYMLINK, "../../..", 0777 },
  };
  const ArchiveEntrySpec hard[] = {
    { "berth-0.2.0/bin/berthd", ENTRY_FILE, FAKE_BERTHD, 0755 },
    { "berth-0.2.0/bin/other", ENTRY_HARDLINK, "berth-0.2.0/bin/berthd", 0755 },
  };
  const ArchiveEntrySpec two_tops[] = {
    { "berth-0.2.0/bin/berthd", ENTRY_FILE, FAKE_BERTHD, 0755 },
    { "elsewhere/file", ENTRY_FILE, "fake", 0644 },
  };
  const ArchiveEntrySpec no_berthd[] = {
    { "berth-0.2.0/bin/berthctl", ENTRY_FILE, "#!/bin/sh\n", 0755 },
  };
  const struct
  {
    const ArchiveEntrySpec *entries;
    gsize n;
    const gchar *message;
  } cases[] = {
    { climbs, G_N_ELEMENTS (climbs), "climbs out" },
    { absolute, G_N_ELEMENTS (absolute), "is an absolute path" },
    { link_out, G_N_ELEMENTS (link_out), "leading outside the release" },
    { hard, G_N_ELEMENTS (hard), "hard link" },
    { two_tops, G_N_ELEMENTS (two_tops), "outside its top directory" },
    { no_berthd, G_N_ELEMENTS (no_berthd), "no executable bin/berthd" },
  };
  g_autofree gchar *archive = g_build_filename (b->scratch, "bad.tar.gz", NULL);
  g_autofree gchar *escaped = g_build_filename (b->root, "escaped", NULL);
  g_autofree gchar *truncated = g_build_filename (b->scratch, "truncated.tar.gz", NULL);
  g_autofree gchar *good = bundle_archive (b, "0.2.0");
  g_autofree gchar *contents = NULL;
  gsize length;

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree gchar *versions = NULL;
      g_autofree gchar *current = NULL;

      updater_write_archive (archive, cases[i].entries, cases[i].n);
      g_assert_false (berth_updater_install_unpack (b->root, "0.2.0", archive, NULL, &error));
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, cases[i].message));
      /* Nothing is left of it, and the running release stays current. */
      versions = bundle_versions (b);
      g_assert_cmpstr (versions, ==, "0.1.0");
      current = bundle_current (b);
      g_assert_cmpstr (current, ==, "versions/0.1.0");
      g_assert_false (g_file_test (escaped, G_FILE_TEST_EXISTS));
      g_assert_false (g_file_test ("/tmp/berth-fake-absolute", G_FILE_TEST_EXISTS));
    }

  /* An archive cut short (a download that went wrong) leaves nothing. */
  g_assert_true (g_file_get_contents (good, &contents, &length, NULL));
  g_assert_true (g_file_set_contents (truncated, contents, (gssize)(length / 2), NULL));
  {
    g_autoptr (GError) error = NULL;
    g_autofree gchar *versions = NULL;

    g_assert_false (berth_updater_install_unpack (b->root, "0.2.0", truncated, NULL, &error));
    g_assert_nonnull (error);
    versions = bundle_versions (b);
    g_assert_cmpstr (versions, ==, "0.1.0");
  }
}

static void
test_install_find_root (Bundle *b, gconstpointer data)
{
  g_autofree gchar *berthd = g_build_filename (b->root, "current", "bin", "berthd", NULL);
  g_autofree gchar *loose = g_build_filename (b->scratch, "berthd", NULL);
  g_autofree gchar *root = NULL;
  g_autoptr (GError) error = NULL;

  /* Run through current, the program's real path is in versions/. */
  root = berth_updater_install_find_root (berthd, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (root, ==, b->root);

  berth_test_write_file (loose, "#!/bin/sh\n", 0755);
  g_assert_null (berth_updater_install_find_root (loose, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "versions/<version>/bin"));
}

/* ---- the plugin against the fake servers ---------------------------------- */

typedef struct
{
  gchar *home;
  BerthPaths *paths;
  BerthSettings *settings;
  BerthPluginLoader *loader;
  BerthUpdater *updater;
  UpdaterFixture *server;
  Bundle bundle;
  GPtrArray *states; /* "state: detail" */
} Fixture;

static void
on_update_state (BerthUpdater *updater, const gchar *state, const gchar *detail, Fixture *f)
{
  g_ptr_array_add (f->states, g_strdup (state));
}

static const gchar *
default_config (void)
{
  return "{\"responder\": \"ok\", \"versions\": [{\"Name\": \"" NEWER "\", \"Supported\": true}, "
         "{\"Name\": \"0.1.0\"}], \"interval\": 90, \"latest\": \"" NEWER "\", "
         "\"releases\": [\"" NEWER "\"]}";
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  BerthPlugin *plugin;

  f->home = berth_test_isolate_home ("berth-updater-plugin");
  f->server = updater_fixture_new (data != NULL ? data : default_config ());
  updater_fixture_add_release (f->server, NEWER, FAKE_BERTHD, NULL);
  updater_fixture_setenv (f->server);
  g_setenv ("BERTH_UPDATE_TIMEOUT", "3", TRUE);
  bundle_setup (&f->bundle, NULL);
  g_setenv ("BERTH_UPDATE_INSTALL_ROOT", f->bundle.root, TRUE);

  f->paths = berth_paths_new ();
  f->settings = berth_test_settings_new (f->paths, NULL);
  plugin = berth_test_load_plugin (f->settings, f->paths, "updater", &f->loader);
  g_assert_nonnull (plugin);
  g_assert_true (BERTH_IS_UPDATER (plugin));
  f->updater = BERTH_UPDATER (plugin);
  f->states = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (f->updater, "update-state", G_CALLBACK (on_update_state), f);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_signal_handlers_disconnect_by_data (f->updater, f);
  g_clear_object (&f->loader);
  g_clear_object (&f->settings);
  g_clear_pointer (&f->paths, berth_paths_free);
  g_clear_pointer (&f->server, updater_fixture_free);
  bundle_teardown (&f->bundle, NULL);
  g_ptr_array_unref (f->states);
  berth_test_rm_rf (f->home);
  g_free (f->home);
}

static JsonNode *
check (Fixture *f, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  berth_updater_check_async (f->updater, NULL, berth_test_store_result, &result);
  berth_test_wait_result (&result, WAIT_SECONDS);
  return berth_updater_check_finish (f->updater, result, error);
}

static gboolean
apply (Fixture *f, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  berth_updater_apply_async (f->updater, NULL, berth_test_store_result, &result);
  berth_test_wait_result (&result, WAIT_SECONDS);
  return berth_updater_apply_finish (f->updater, result, error);
}

static gchar *
states (Fixture *f)
{
  g_autoptr (GPtrArray) copy
      = g_ptr_array_copy (f->states, (GCopyFunc)(void (*) (void))g_strdup, NULL);

  g_ptr_array_set_free_func (copy, g_free);
  g_ptr_array_add (copy, NULL);
  return g_strjoinv (" ", (gchar **)copy->pdata);
}

static const gchar *
member (JsonNode *node, const gchar *name)
{
  return json_object_get_string_member_with_default (json_node_get_object (node), name, NULL);
}

static void
test_check_newer (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) latest = check (f, &error);
  g_autoptr (JsonArray) requests = updater_fixture_take_requests (f->server);
  g_autofree gchar *platform = berth_updater_platform (updater_arch ());
  g_autofree gchar *expected_body
      = g_strdup_printf ("{\"appVersion\":\"%s\",\"extraInfo\":{\"platform\":\"%s\","
                         "\"platformVersion\":\"0.0.0\"}}",
                         BERTH_VERSION_STRING, platform);
  g_autofree gchar *asset = g_strdup_printf ("berth-" NEWER "-linux-%s.tar.gz", updater_arch ());
  g_autofree gchar *url = g_strdup_printf ("%s/assets/%s", f->server->base_url, asset);
  g_autofree gchar *seen = NULL;
  JsonObject *responder;

  g_assert_no_error (error);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (latest), "updateAvailable"));
  g_assert_cmpstr (member (latest, "version"), ==, NEWER);
  g_assert_cmpstr (member (latest, "currentVersion"), ==, BERTH_VERSION_STRING);
  g_assert_cmpstr (member (latest, "source"), ==, "upgrade-responder");
  g_assert_cmpstr (member (latest, "url"), ==, url);
  g_assert_cmpuint (strlen (member (latest, "sha512")), ==, 128);
  g_assert_cmpint (
      json_object_get_int_member (json_node_get_object (latest), "requestIntervalInMinutes"), ==,
      90);
  seen = states (f);
  g_assert_cmpstr (seen, ==, "checking available");

  /* What the responder was sent, as Rancher Desktop sends it, then the
   * release by its v-tag, then the digest. */
  g_assert_cmpuint (json_array_get_length (requests), ==, 3);
  responder = json_array_get_object_element (requests, 0);
  g_assert_cmpstr (json_object_get_string_member (responder, "method"), ==, "POST");
  g_assert_cmpstr (json_object_get_string_member (responder, "path"), ==, "/v1/checkupgrade");
  g_assert_cmpstr (json_object_get_string_member (responder, "body"), ==, expected_body);
  g_assert_cmpstr (
      json_object_get_string_member (json_array_get_object_element (requests, 1), "path"), ==,
      "/repos/berth-desktop/berth/releases/tags/v" NEWER);
  g_assert_true (g_str_has_suffix (
      json_object_get_string_member (json_array_get_object_element (requests, 2), "path"),
      ".sha512sum"));
}

static void
test_check_up_to_date (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) latest = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autofree gchar *seen = NULL;

  updater_fixture_set_config (f->server, "{\"versions\": [{\"Name\": \"" BERTH_VERSION_STRING
                                         "\"}], \"releases\": [\"" BERTH_VERSION_STRING "\"]}");
  latest = check (f, &error);
  g_assert_no_error (error);
  g_assert_false (
      json_object_get_boolean_member (json_node_get_object (latest), "updateAvailable"));
  g_assert_cmpstr (member (latest, "version"), ==, BERTH_VERSION_STRING);
  seen = states (f);
  g_assert_cmpstr (seen, ==, "checking up-to-date");

  /* Nothing to download or apply. */
  berth_updater_download_async (f->updater, NULL, berth_test_store_result, &result);
  berth_test_wait_result (&result, WAIT_SECONDS);
  g_assert_null (berth_updater_download_finish (f->updater, result, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
}

/* The responder failing in @mode: GitHub's latest release is read instead,
 * and @reason says why. */
static void
check_falls_back (Fixture *f, const gchar *mode, const gchar *reason)
{
  g_autofree gchar *config = g_strdup_printf (
      "{\"responder\": \"%s\", \"latest\": \"" NEWER "\", \"releases\": [\"" NEWER "\"]}", mode);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) latest = NULL;
  g_autoptr (JsonArray) requests = NULL;

  updater_fixture_set_config (f->server, config);
  latest = check (f, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (member (latest, "source"), ==, "github");
  g_assert_cmpstr (member (latest, "version"), ==, NEWER);
  g_test_message ("fallback: %s", member (latest, "fallbackReason"));
  g_assert_nonnull (strstr (member (latest, "fallbackReason"), reason));
  requests = updater_fixture_take_requests (f->server);
  g_assert_cmpstr (
      json_object_get_string_member (json_array_get_object_element (requests, 1), "path"), ==,
      "/repos/berth-desktop/berth/releases/latest");
}

static void
test_check_fallback (Fixture *f, gconstpointer data)
{
  check_falls_back (f, "500", "HTTP 500");
  check_falls_back (f, "malformed", "\"fake-not-a-version\" is not a version");
}

static void
test_check_hang (Fixture *f, gconstpointer data)
{
  gint64 start = g_get_monotonic_time ();

  /* BERTH_UPDATE_TIMEOUT is 3 s here. */
  check_falls_back (f, "hang", "did not answer within 3 s");
  g_assert_cmpint (g_get_monotonic_time () - start, <, 30 * G_USEC_PER_SEC);
}

static void
test_check_nothing_answers (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *seen = NULL;

  updater_fixture_set_config (f->server, "{\"responder\": \"500\", \"latest\": null}");
  g_assert_null (check (f, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_DOWNLOAD);
  g_assert_nonnull (strstr (error->message, "/releases/latest answered HTTP 404"));
  seen = states (f);
  g_assert_cmpstr (seen, ==, "checking error");
}

static void
test_untrusted_server (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  /* Without the fake's CA, nothing it says is taken. */
  g_unsetenv ("BERTH_UPDATE_CA_FILE");
  g_clear_object (&f->loader);
  f->updater
      = BERTH_UPDATER (berth_test_load_plugin (f->settings, f->paths, "updater", &f->loader));
  g_signal_connect (f->updater, "update-state", G_CALLBACK (on_update_state), f);
  g_assert_null (check (f, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "$BERTH_UPDATE_CA_FILE"));
}

static void
test_apply (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *berthd = g_build_filename (f->bundle.root, "current", "bin", "berthd", NULL);
  g_autofree gchar *current = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *seen = NULL;

  /* Apply checks and downloads first. */
  g_assert_true (apply (f, &error));
  g_assert_no_error (error);
  current = bundle_current (&f->bundle);
  g_assert_cmpstr (current, ==, "versions/" NEWER);
  text = berth_test_read_file (berthd);
  g_assert_cmpstr (text, ==, FAKE_BERTHD);
  seen = states (f);
  g_assert_true (g_str_has_prefix (seen, "checking available downloading"));
  g_assert_true (g_str_has_suffix (seen, "downloaded applying applied"));
}

static void
test_checksum_mismatch (Fixture *f, gconstpointer data)
{
  g_autofree gchar *wrong = g_strnfill (128, 'f');
  g_autofree gchar *asset = g_strdup_printf ("berth-" NEWER "-linux-%s.tar.gz", updater_arch ());
  g_autofree gchar *sum = g_strdup_printf ("%s  %s\n", wrong, asset);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *versions = NULL;
  g_autofree gchar *current = NULL;
  g_autofree gchar *seen = NULL;

  updater_fixture_add_release (f->server, NEWER, FAKE_BERTHD, sum);
  g_assert_false (apply (f, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_CHECKSUM);
  g_test_message ("%s", error->message);
  /* Never unpacked, never switched to. */
  versions = bundle_versions (&f->bundle);
  g_assert_cmpstr (versions, ==, "0.1.0");
  current = bundle_current (&f->bundle);
  g_assert_cmpstr (current, ==, "versions/0.1.0");
  seen = states (f);
  g_assert_true (g_str_has_suffix (seen, "downloading error"));
}

static void
test_busy (Fixture *f, gconstpointer data)
{
  g_autoptr (GAsyncResult) first = NULL;
  g_autoptr (GAsyncResult) second = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) latest = NULL;

  berth_updater_check_async (f->updater, NULL, berth_test_store_result, &first);
  berth_updater_apply_async (f->updater, NULL, berth_test_store_result, &second);
  berth_test_wait_result (&second, WAIT_SECONDS);
  g_assert_false (berth_updater_apply_finish (f->updater, second, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_BUSY);
  berth_test_wait_result (&first, WAIT_SECONDS);
  latest = berth_updater_check_finish (f->updater, first, NULL);
  g_assert_nonnull (latest);
}

int
main (int argc, char **argv)
{
  berth_test_watch_leftovers ();
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/updater/request-body", test_request_body);
  g_test_add_func ("/updater/versions", test_versions);
  g_test_add_func ("/updater/responder-answers", test_responder_answers);
  g_test_add_func ("/updater/github-release", test_github_release);
  g_test_add_func ("/updater/sha512sum", test_sha512sum);
  g_test_add ("/updater/install/switches", Bundle, NULL, bundle_setup, test_install_switches,
              bundle_teardown);
  g_test_add ("/updater/install/refuses", Bundle, NULL, bundle_setup, test_install_refuses,
              bundle_teardown);
  g_test_add ("/updater/install/find-root", Bundle, NULL, bundle_setup, test_install_find_root,
              bundle_teardown);
  g_test_add ("/updater/check/newer", Fixture, NULL, fixture_setup, test_check_newer,
              fixture_teardown);
  g_test_add ("/updater/check/up-to-date", Fixture, NULL, fixture_setup, test_check_up_to_date,
              fixture_teardown);
  g_test_add ("/updater/check/fallback", Fixture, NULL, fixture_setup, test_check_fallback,
              fixture_teardown);
  g_test_add ("/updater/check/hang", Fixture, NULL, fixture_setup, test_check_hang,
              fixture_teardown);
  g_test_add ("/updater/check/nothing-answers", Fixture, NULL, fixture_setup,
              test_check_nothing_answers, fixture_teardown);
  g_test_add ("/updater/check/untrusted", Fixture, NULL, fixture_setup, test_untrusted_server,
              fixture_teardown);
  g_test_add ("/updater/apply", Fixture, NULL, fixture_setup, test_apply, fixture_teardown);
  g_test_add ("/updater/apply/checksum-mismatch", Fixture, NULL, fixture_setup,
              test_checksum_mismatch, fixture_teardown);
  g_test_add ("/updater/busy", Fixture, NULL, fixture_setup, test_busy, fixture_teardown);
  return g_test_run ();
}
