/* SPDX-License-Identifier: GPL-3.0-or-later */
/* berth-docker-context as berthd loads it, on a scratch docker configuration
 * directory ($DOCKER_CONFIG, or ~/.docker under a scratch $HOME) and a
 * scratch data directory: where the context is written and what it says,
 * what the real docker CLI makes of it (skipped when docker is not on PATH),
 * the current context switched only when the setting asks and given back
 * afterwards, everything else in config.json kept, and the errors a person
 * sees. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include <berth.h>

#include "berth-test-util.h"

#define WAIT_SECONDS 20
/* sha256 of "berth", as docker names a context's directory. */
#define BERTH_DIGEST "5c2f64c7f21efd5fb5e3d6a499abe5eacb248ae6f6f0085387c9a056d10ef5fd"

typedef struct
{
  gchar *root;
  gchar *docker_config; /* $DOCKER_CONFIG, not created up front */
  gchar *meta_dir;
  gchar *meta_file;
  gchar *config_file;
  gchar *state_file;
  gchar *host; /* unix://<data>/docker.sock */
  BerthPaths *paths;
  BerthSettings *settings;
  BerthPluginLoader *loader;
  BerthIntegration *integration;
  guint n_changed;
} Fixture;

/* ---- helpers ------------------------------------------------------------ */

static void
write_file (const gchar *path, const gchar *text, gint mode)
{
  g_autofree gchar *dir = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  berth_test_write_file (path, text, mode);
}

static guint
file_mode (const gchar *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_mode & 0777;
}

static JsonNode *
parse (const gchar *text)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);

  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
}

static JsonNode *
read_json (const gchar *path)
{
  g_autofree gchar *text = berth_test_read_file (path);

  return parse (text);
}

/* config.json's currentContext: NULL when the member is absent. */
static gchar *
current_context (Fixture *f)
{
  g_autoptr (JsonNode) root = read_json (f->config_file);
  JsonObject *object;

  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  object = json_node_get_object (root);
  if (!json_object_has_member (object, "currentContext"))
    return NULL;
  return g_strdup (json_object_get_string_member (object, "currentContext"));
}

static void
on_changed (BerthIntegration *integration, Fixture *f)
{
  f->n_changed++;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autofree gchar *socket = NULL;
  BerthPlugin *plugin;

  f->root = berth_test_make_root ("berth-docker-context");
  f->paths = berth_test_paths_under (f->root);

  f->docker_config = g_build_filename (f->root, "docker-config", NULL);
  g_setenv ("DOCKER_CONFIG", f->docker_config, TRUE);
  g_unsetenv ("DOCKER_HOST");
  g_unsetenv ("DOCKER_CONTEXT");
  f->meta_dir = g_build_filename (f->docker_config, "contexts", "meta", BERTH_DIGEST, NULL);
  f->meta_file = g_build_filename (f->meta_dir, "meta.json", NULL);
  f->config_file = g_build_filename (f->docker_config, "config.json", NULL);
  f->state_file = g_build_filename (f->paths->data, "docker-context.json", NULL);
  socket = g_build_filename (f->paths->data, "docker.sock", NULL);
  f->host = g_strconcat ("unix://", socket, NULL);

  f->settings = berth_test_settings_new (f->paths, NULL);

  /* BERTH_PLUGIN_PATH names the directory the module was built in. */
  plugin = berth_test_load_plugin (f->settings, f->paths, "docker-context", &f->loader);
  g_assert_true (BERTH_IS_INTEGRATION (plugin));
  f->integration = BERTH_INTEGRATION (plugin);
  g_signal_connect (f->integration, "changed", G_CALLBACK (on_changed), f);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_signal_handlers_disconnect_by_data (f->integration, f);
  g_clear_object (&f->loader);
  g_clear_object (&f->settings);
  g_clear_pointer (&f->paths, berth_paths_free);
  berth_test_rm_rf (f->root);
  g_unsetenv ("DOCKER_CONFIG");
  g_unsetenv ("DOCKER_HOST");
  g_unsetenv ("DOCKER_CONTEXT");
  g_free (f->root);
  g_free (f->docker_config);
  g_free (f->meta_dir);
  g_free (f->meta_file);
  g_free (f->config_file);
  g_free (f->state_file);
  g_free (f->host);
}

/* ---- async plumbing ----------------------------------------------------- */

static void
on_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  g_assert_null (*out);
  *out = g_object_ref (result);
}

static gboolean
apply (Fixture *f, BerthState state, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  berth_integration_apply_async (f->integration, state, NULL, on_done, &result);
  return berth_integration_apply_finish (f->integration,
                                         berth_test_wait_result (&result, WAIT_SECONDS), error);
}

static void
apply_ok (Fixture *f, BerthState state)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (apply (f, state, &error));
  g_assert_no_error (error);
}

static gboolean
set_integration (Fixture *f, const gchar *name, gboolean enabled, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  berth_integration_set_async (f->integration, name, enabled, NULL, on_done, &result);
  return berth_integration_set_finish (f->integration,
                                       berth_test_wait_result (&result, WAIT_SECONDS), error);
}

static void
remove_ok (Fixture *f)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;

  berth_integration_remove_async (f->integration, NULL, on_done, &result);
  g_assert_true (berth_integration_remove_finish (
      f->integration, berth_test_wait_result (&result, WAIT_SECONDS), &error));
  g_assert_no_error (error);
}

static void
update_settings (Fixture *f, const gchar *json)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (berth_settings_update_from_json (f->settings, json, NULL, &error));
  g_assert_no_error (error);
}

static void
set_make_current (Fixture *f, gboolean make_current)
{
  update_settings (f, make_current
                          ? "{\"containerEngine\":{\"dockerContext\":{\"makeCurrent\":true}}}"
                          : "{\"containerEngine\":{\"dockerContext\":{\"makeCurrent\":false}}}");
}

/* The one member of list(): TRUE/FALSE, or -1 with *why_out set. */
static gint
listed (Fixture *f, gchar **why_out)
{
  g_autoptr (JsonNode) list = berth_integration_list (f->integration);
  JsonObject *object;
  JsonNode *value;

  g_assert_true (JSON_NODE_HOLDS_OBJECT (list));
  object = json_node_get_object (list);
  g_assert_cmpuint (json_object_get_size (object), ==, 1);
  value = json_object_get_member (object, "docker-context");
  g_assert_nonnull (value);
  if (json_node_get_value_type (value) == G_TYPE_STRING)
    {
      g_assert_nonnull (why_out);
      *why_out = g_strdup (json_node_get_string (value));
      return -1;
    }
  g_assert_cmpint (json_node_get_value_type (value), ==, G_TYPE_BOOLEAN);
  return json_node_get_boolean (value);
}

static gchar *
expected_meta (Fixture *f)
{
  return g_strdup_printf ("{\"Name\":\"berth\",\"Metadata\":{\"Description\":\"Berth\"},"
                          "\"Endpoints\":{\"docker\":{\"Host\":\"%s\",\"SkipTLSVerify\":false}}}",
                          f->host);
}

static gboolean
warnings_mention (Fixture *f, const gchar *text)
{
  g_auto (GStrv) warnings = berth_integration_dup_warnings (f->integration);

  for (gsize i = 0; warnings[i] != NULL; i++)
    if (strstr (warnings[i], text) != NULL)
      return TRUE;
  return FALSE;
}

/* ---- the real docker CLI ------------------------------------------------ */

static gboolean
have_docker (void)
{
  g_autofree gchar *docker = g_find_program_in_path ("docker");

  if (docker != NULL)
    return TRUE;
  /* scripts/deps.sh installs one: a missing CLI is a broken setup, not a
   * reason to check less. */
  g_test_message ("docker is not in PATH, so what the docker CLI reads cannot be checked; "
                  "scripts/deps.sh installs it (docker.io)");
  g_test_fail ();
  return FALSE;
}

/* Runs docker with @args on the scratch configuration; returns its exit
 * status and its output. */
static gint
run_docker (Fixture *f, const gchar *const *args, gchar **out, gchar **err)
{
  g_autoptr (GSubprocessLauncher) launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) argv = NULL;

  g_subprocess_launcher_setenv (launcher, "DOCKER_CONFIG", f->docker_config, TRUE);
  g_subprocess_launcher_setenv (launcher, "DOCKER_CLI_HINTS", "false", TRUE);
  g_subprocess_launcher_unsetenv (launcher, "DOCKER_HOST");
  g_subprocess_launcher_unsetenv (launcher, "DOCKER_CONTEXT");
  g_strv_builder_add (builder, "docker");
  g_strv_builder_addv (builder, (const gchar **)args);
  argv = g_strv_builder_end (builder);
  process = g_subprocess_launcher_spawnv (launcher, (const gchar *const *)argv, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, out, err, &error);
  g_assert_no_error (error);
  return g_subprocess_get_exit_status (process);
}

/* ---- tests -------------------------------------------------------------- */

static void
test_location_and_content (Fixture *f, gconstpointer data)
{
  g_autofree gchar *meta = NULL;
  g_autofree gchar *expected = expected_meta (f);
  g_autofree gchar *contexts = g_build_filename (f->docker_config, "contexts", NULL);
  g_autofree gchar *contexts_meta = g_build_filename (contexts, "meta", NULL);
  GStatBuf before, after;

  g_assert_cmpint (listed (f, NULL), ==, FALSE);
  apply_ok (f, BERTH_STATE_STOPPED);

  meta = berth_test_read_file (f->meta_file);
  g_assert_cmpstr (meta, ==, expected);
  g_assert_cmpuint (file_mode (f->meta_file), ==, 0644);
  g_assert_cmpuint (file_mode (f->meta_dir), ==, 0755);
  g_assert_cmpuint (file_mode (contexts_meta), ==, 0755);
  g_assert_cmpuint (file_mode (contexts), ==, 0755);
  /* A new docker configuration directory is private, as docker makes it. */
  g_assert_cmpuint (file_mode (f->docker_config), ==, 0700);
  g_assert_cmpint (listed (f, NULL), ==, TRUE);
  g_assert_cmpuint (f->n_changed, ==, 1);
  /* The current context is not Berth's business unless asked. */
  g_assert_false (g_file_test (f->config_file, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (f->state_file, G_FILE_TEST_EXISTS));

  /* Applying again, started this time, changes nothing. */
  g_assert_cmpint (g_stat (f->meta_file, &before), ==, 0);
  apply_ok (f, BERTH_STATE_STARTED);
  g_assert_cmpint (g_stat (f->meta_file, &after), ==, 0);
  g_assert_cmpuint (before.st_ino, ==, after.st_ino);
  g_assert_cmpuint (f->n_changed, ==, 1);
}

static void
test_home_docker_dir (Fixture *f, gconstpointer data)
{
  g_autofree gchar *home_meta = g_build_filename (g_get_home_dir (), ".docker", "contexts", "meta",
                                                  BERTH_DIGEST, "meta.json", NULL);
  g_autofree gchar *home_docker = g_build_filename (g_get_home_dir (), ".docker", NULL);
  g_autofree gchar *meta = NULL;
  g_autofree gchar *expected = expected_meta (f);

  /* main() pointed $HOME at a scratch directory. */
  g_assert_true (g_str_has_prefix (g_get_home_dir (), g_get_tmp_dir ()));
  g_unsetenv ("DOCKER_CONFIG");
  apply_ok (f, BERTH_STATE_STOPPED);
  meta = berth_test_read_file (home_meta);
  g_assert_cmpstr (meta, ==, expected);
  g_assert_false (g_file_test (f->docker_config, G_FILE_TEST_EXISTS));
  g_assert_cmpint (listed (f, NULL), ==, TRUE);
  remove_ok (f);
  g_assert_false (g_file_test (home_meta, G_FILE_TEST_EXISTS));
  berth_test_rm_rf (home_docker);
}

/* The current context as the docker CLI sees it: `docker context inspect`
 * without a name shows the current one, in docker 20.10 (Debian 12's) as in
 * today's; `docker context show` came only in 23. */
static gchar *
docker_current_context (Fixture *f)
{
  const gchar *inspect[] = { "context", "inspect", "--format", "{{.Name}}", NULL };
  g_autofree gchar *err = NULL;
  gchar *out = NULL;

  g_assert_cmpint (run_docker (f, inspect, &out, &err), ==, 0);
  return out;
}

/* What the docker CLI makes of the context Berth writes, through the
 * commands and fields every supported docker CLI has (20.10 and later). */
static void
test_docker_cli (Fixture *f, gconstpointer data)
{
  /* docker 20.10's `context ls --format '{{json .}}'` has no Error field;
   * these four are in every version. */
  const gchar *ls[] = { "context", "ls", "--format",
                        "{{.Name}}|{{.DockerEndpoint}}|{{.Description}}|{{.Current}}", NULL };
  /* `info --format` fails on a template error in 20.10 when the daemon is
   * away; `version` says why in both. */
  const gchar *version[]
      = { "--context", "berth", "version", "--format", "{{.Server.Version}}", NULL };
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;
  g_autofree gchar *berth_line = g_strdup_printf ("berth|%s|Berth|false", f->host);
  g_autofree gchar *current = NULL;
  g_auto (GStrv) lines = NULL;

  apply_ok (f, BERTH_STATE_STOPPED);
  if (!have_docker ())
    return;

  g_assert_cmpint (run_docker (f, ls, &out, &err), ==, 0);
  lines = g_strsplit (out, "\n", -1);
  g_assert_true (g_strv_contains ((const gchar *const *)lines, berth_line));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Berth is stopped: docker says it cannot reach Berth's socket, not that
   * the context is missing. */
  g_assert_cmpint (run_docker (f, version, &out, &err), !=, 0);
  g_assert_nonnull (strstr (err, f->host + strlen ("unix://")));
  g_assert_null (strstr (err, "context \"berth\" does not exist"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  current = docker_current_context (f);
  g_assert_cmpstr (current, ==, "default\n");
  g_clear_pointer (&current, g_free);

  set_make_current (f, TRUE);
  apply_ok (f, BERTH_STATE_STARTED);
  current = docker_current_context (f);
  g_assert_cmpstr (current, ==, "berth\n");
  g_clear_pointer (&current, g_free);

  set_make_current (f, FALSE);
  apply_ok (f, BERTH_STATE_STARTED);
  current = docker_current_context (f);
  g_assert_cmpstr (current, ==, "default\n");
}

static void
test_make_current_none_before (Fixture *f, gconstpointer data)
{
  g_autofree gchar *current = NULL;
  g_autoptr (JsonNode) state = NULL;

  set_make_current (f, TRUE);
  apply_ok (f, BERTH_STATE_STOPPED);
  current = current_context (f);
  g_assert_cmpstr (current, ==, "berth");
  g_assert_cmpuint (file_mode (f->config_file), ==, 0600);
  /* Berth remembers there was no current context. */
  state = read_json (f->state_file);
  g_assert_true (JSON_NODE_HOLDS_NULL (
      json_object_get_member (json_node_get_object (state), "previousCurrentContext")));

  /* Applying again keeps that memory. */
  apply_ok (f, BERTH_STATE_STARTED);
  g_clear_pointer (&state, json_node_unref);
  state = read_json (f->state_file);
  g_assert_true (JSON_NODE_HOLDS_NULL (
      json_object_get_member (json_node_get_object (state), "previousCurrentContext")));

  set_make_current (f, FALSE);
  apply_ok (f, BERTH_STATE_STARTED);
  g_clear_pointer (&current, g_free);
  current = current_context (f);
  g_assert_null (current);
  g_assert_false (g_file_test (f->state_file, G_FILE_TEST_EXISTS));
  /* The context itself stays. */
  g_assert_cmpint (listed (f, NULL), ==, TRUE);
}

static void
test_make_current_other_before (Fixture *f, gconstpointer data)
{
  const gchar *original = "{\n"
                          "  \"auths\": {\"registry.example\": {\"auth\": \"dXNlcjpwYXNz\"}},\n"
                          "  \"credsStore\": \"pass\",\n"
                          "  \"plugins\": {\"buildx\": {\"enabled\": \"true\"}},\n"
                          "  \"proxies\": {\"default\": {\"httpProxy\": \"\"}},\n"
                          "  \"currentContext\": \"other\"\n"
                          "}\n";
  g_autoptr (JsonNode) before = parse (original);
  g_autoptr (JsonNode) during = NULL;
  g_autoptr (JsonNode) after = NULL;
  g_autofree gchar *current = NULL;
  JsonObject *object;

  write_file (f->config_file, original, 0640);
  set_make_current (f, TRUE);
  apply_ok (f, BERTH_STATE_STARTED);

  current = current_context (f);
  g_assert_cmpstr (current, ==, "berth");
  during = read_json (f->config_file);
  object = json_node_get_object (during);
  g_assert_cmpuint (json_object_get_size (object), ==, 5);
  g_assert_true (json_node_equal (json_object_get_member (object, "auths"),
                                  json_object_get_member (json_node_get_object (before), "auths")));
  g_assert_cmpstr (json_object_get_string_member (object, "credsStore"), ==, "pass");
  g_assert_true (json_object_has_member (object, "plugins"));
  g_assert_true (json_object_has_member (object, "proxies"));
  /* Its mode stays the user's. */
  g_assert_cmpuint (file_mode (f->config_file), ==, 0640);

  set_make_current (f, FALSE);
  apply_ok (f, BERTH_STATE_STARTED);
  after = read_json (f->config_file);
  g_assert_true (json_node_equal (after, before));
  g_assert_false (g_file_test (f->state_file, G_FILE_TEST_EXISTS));
}

static void
test_user_choice_left_alone (Fixture *f, gconstpointer data)
{
  g_autofree gchar *current = NULL;

  set_make_current (f, TRUE);
  apply_ok (f, BERTH_STATE_STARTED);
  /* The user picks another context (docker context use mine). */
  write_file (f->config_file, "{\"currentContext\":\"mine\"}", 0600);
  /* Later applies (a restart, another setting) do not switch it back. */
  apply_ok (f, BERTH_STATE_STOPPED);
  apply_ok (f, BERTH_STATE_STARTED);
  current = current_context (f);
  g_assert_cmpstr (current, ==, "mine");
  g_clear_pointer (&current, g_free);
  set_make_current (f, FALSE);
  apply_ok (f, BERTH_STATE_STARTED);
  current = current_context (f);
  g_assert_cmpstr (current, ==, "mine");
  g_assert_false (g_file_test (f->state_file, G_FILE_TEST_EXISTS));

  /* A "berth" the user chose without the setting stays too. */
  write_file (f->config_file, "{\"currentContext\":\"berth\"}", 0600);
  apply_ok (f, BERTH_STATE_STOPPED);
  g_clear_pointer (&current, g_free);
  current = current_context (f);
  g_assert_cmpstr (current, ==, "berth");
}

static void
test_malformed_config (Fixture *f, gconstpointer data)
{
  const gchar *const bad[] = { "[\"not\", \"an object\"]\n", "{\"auths\": {\n", NULL };

  set_make_current (f, TRUE);
  for (gsize i = 0; bad[i] != NULL; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree gchar *text = NULL;

      write_file (f->config_file, bad[i], 0600);
      g_assert_false (apply (f, BERTH_STATE_STARTED, &error));
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, f->config_file));
      g_assert_nonnull (strstr (error->message, "fix or remove it"));
      text = berth_test_read_file (f->config_file);
      g_assert_cmpstr (text, ==, bad[i]);
      g_assert_false (g_file_test (f->state_file, G_FILE_TEST_EXISTS));
      /* The user sees it among the warnings too. */
      g_assert_true (warnings_mention (f, f->config_file));
    }
  /* The context itself was written; fixing the file clears the warning. */
  g_assert_cmpint (listed (f, NULL), ==, TRUE);
  write_file (f->config_file, "{}", 0600);
  apply_ok (f, BERTH_STATE_STARTED);
  g_assert_false (warnings_mention (f, f->config_file));
}

static void
test_containerd_removes (Fixture *f, gconstpointer data)
{
  g_autofree gchar *current = NULL;
  guint n_changed;

  set_make_current (f, TRUE);
  apply_ok (f, BERTH_STATE_STARTED);
  g_assert_cmpint (listed (f, NULL), ==, TRUE);
  n_changed = f->n_changed;

  update_settings (f, "{\"containerEngine\":{\"name\":\"containerd\"}}");
  apply_ok (f, BERTH_STATE_STOPPED);
  g_assert_false (g_file_test (f->meta_dir, G_FILE_TEST_EXISTS));
  g_assert_cmpint (listed (f, NULL), ==, FALSE);
  g_assert_cmpuint (f->n_changed, ==, n_changed + 1);
  /* docker is not left pointing at a context that is gone. */
  current = current_context (f);
  g_assert_null (current);
  g_assert_false (g_file_test (f->state_file, G_FILE_TEST_EXISTS));

  /* Back to moby: back again, and current, as the setting says. */
  update_settings (f, "{\"containerEngine\":{\"name\":\"moby\"}}");
  apply_ok (f, BERTH_STATE_STARTED);
  g_assert_cmpint (listed (f, NULL), ==, TRUE);
  g_clear_pointer (&current, g_free);
  current = current_context (f);
  g_assert_cmpstr (current, ==, "berth");
}

static void
test_remove_cleans_up (Fixture *f, gconstpointer data)
{
  g_autofree gchar *current = NULL;
  g_autofree gchar *tls_file = g_build_filename (f->docker_config, "contexts", "tls", BERTH_DIGEST,
                                                 "docker", "ca.pem", NULL);
  g_autofree gchar *other_meta
      = g_build_filename (f->docker_config, "contexts", "meta", "0123abcd", "meta.json", NULL);

  write_file (f->config_file, "{\"currentContext\":\"other\",\"credsStore\":\"pass\"}", 0600);
  write_file (other_meta, "{\"Name\":\"other\"}", 0644);
  set_make_current (f, TRUE);
  apply_ok (f, BERTH_STATE_STARTED);
  write_file (tls_file, "not a certificate", 0600);

  remove_ok (f);
  g_assert_false (g_file_test (f->meta_dir, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (tls_file, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (f->state_file, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (other_meta, G_FILE_TEST_EXISTS));
  current = current_context (f);
  g_assert_cmpstr (current, ==, "other");
  g_assert_cmpint (listed (f, NULL), ==, FALSE);
}

static void
test_set (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *current = NULL;

  set_make_current (f, TRUE);
  apply_ok (f, BERTH_STATE_STARTED);

  g_assert_true (set_integration (f, "docker-context", FALSE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (listed (f, NULL), ==, FALSE);
  current = current_context (f);
  g_assert_null (current);
  /* Off stays off when the state changes. */
  apply_ok (f, BERTH_STATE_STOPPED);
  g_assert_cmpint (listed (f, NULL), ==, FALSE);

  g_assert_true (set_integration (f, "docker-context", TRUE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (listed (f, NULL), ==, TRUE);
  g_clear_pointer (&current, g_free);
  current = current_context (f);
  g_assert_cmpstr (current, ==, "berth");

  g_assert_false (set_integration (f, "kubeconfig", TRUE, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==,
                   "docker-context has no integration named \"kubeconfig\"; the one it has is "
                   "\"docker-context\"");
  g_clear_error (&error);

  update_settings (f, "{\"containerEngine\":{\"name\":\"containerd\"}}");
  g_assert_false (set_integration (f, "docker-context", TRUE, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING);
  g_assert_nonnull (strstr (error->message, "needs the moby engine"));
}

static void
test_points_elsewhere (Fixture *f, gconstpointer data)
{
  g_autofree gchar *why = NULL;
  g_autofree gchar *meta = NULL;
  g_autofree gchar *expected = expected_meta (f);

  write_file (f->meta_file,
              "{\"Name\":\"berth\",\"Metadata\":{},\"Endpoints\":{\"docker\":{\"Host\":"
              "\"unix:///elsewhere/docker.sock\",\"SkipTLSVerify\":false}}}",
              0644);
  g_assert_cmpint (listed (f, &why), ==, -1);
  g_assert_nonnull (strstr (why, "points at unix:///elsewhere/docker.sock"));
  g_assert_nonnull (strstr (why, f->host));
  g_clear_pointer (&why, g_free);

  write_file (f->meta_file, "{\"Name\":\"berth\"}", 0644);
  g_assert_cmpint (listed (f, &why), ==, -1);
  g_assert_nonnull (strstr (why, "no Endpoints.docker.Host"));

  apply_ok (f, BERTH_STATE_STARTED);
  meta = berth_test_read_file (f->meta_file);
  g_assert_cmpstr (meta, ==, expected);
  g_assert_cmpint (listed (f, NULL), ==, TRUE);
  g_assert_cmpuint (f->n_changed, ==, 1);
}

static void
test_environment_warnings (Fixture *f, gconstpointer data)
{
  g_assert_false (warnings_mention (f, "DOCKER_HOST"));
  g_assert_false (warnings_mention (f, "DOCKER_CONTEXT"));
  g_setenv ("DOCKER_HOST", "tcp://127.0.0.1:2375", TRUE);
  g_setenv ("DOCKER_CONTEXT", "default", TRUE);
  g_assert_true (warnings_mention (f, "DOCKER_HOST is set (to tcp://127.0.0.1:2375)"));
  g_assert_true (warnings_mention (f, "DOCKER_CONTEXT is set (to default)"));
  g_assert_true (warnings_mention (f, "overrides the current docker context"));
}

/* A settings file written before the setting existed still loads, and the
 * setting is off. */
static void
test_settings_without_key (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonNode) root = berth_settings_dup_node (f->settings);
  g_autoptr (BerthSettings) settings = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = NULL;
  JsonObject *engine;

  engine = json_object_get_object_member (json_node_get_object (root), "containerEngine");
  g_assert_true (json_object_has_member (engine, "dockerContext"));
  json_object_remove_member (engine, "dockerContext");
  text = json_to_string (root, TRUE);
  write_file (berth_settings_get_path (f->settings), text, 0600);

  settings = berth_settings_new (berth_settings_get_path (f->settings),
                                 berth_settings_get_host (f->settings));
  g_assert_true (berth_settings_load (settings, &error));
  g_assert_no_error (error);
  g_assert_false (
      berth_settings_get_boolean (settings, "containerEngine.dockerContext.makeCurrent"));
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *home = NULL;
  int status;

  /* Before anything asks GLib for the home directory, which it keeps. */
  home = g_dir_make_tmp ("berth-docker-context-home-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv ("HOME", home, TRUE);
  umask (022);

  g_test_init (&argc, &argv, NULL);

#define ADD(path, func)                                                                            \
  g_test_add ("/docker-context/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("location-and-content", test_location_and_content);
  ADD ("home-docker-dir", test_home_docker_dir);
  ADD ("docker-cli", test_docker_cli);
  ADD ("make-current/none-before", test_make_current_none_before);
  ADD ("make-current/other-before", test_make_current_other_before);
  ADD ("make-current/user-choice-left-alone", test_user_choice_left_alone);
  ADD ("malformed-config", test_malformed_config);
  ADD ("containerd-removes", test_containerd_removes);
  ADD ("remove-cleans-up", test_remove_cleans_up);
  ADD ("set", test_set);
  ADD ("points-elsewhere", test_points_elsewhere);
  ADD ("environment-warnings", test_environment_warnings);
  ADD ("settings-without-key", test_settings_without_key);
#undef ADD

  status = g_test_run ();
  g_rmdir (home);
  return status;
}
