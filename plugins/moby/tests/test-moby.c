/* SPDX-License-Identifier: GPL-3.0-or-later */
/* berth-moby as berthd loads it, with a fake docker (tests/fake-docker)
 * named by $BERTH_DOCKER that answers from docker's recorded outputs and
 * records each command line: every operation's command line and result, the
 * messages for what docker cannot do, and the refresh that runs only while
 * active and emits images-changed only when the list really changed. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include <berth.h>

#include "berth-test-util.h"

#define WAIT_SECONDS 20

typedef struct
{
  gchar *root;
  gchar *fake_dir;
  gchar *docker;
  gchar *socket;
  BerthPaths *paths;
  BerthSettings *settings;
  BerthPluginLoader *loader;
  BerthImageProcessor *processor;
  guint n_changed;
} Fixture;

/* ---- helpers ------------------------------------------------------------ */

/* Puts fixture @name into the fake's directory as @as. */
static void
install_fixture (Fixture *f, const gchar *name, const gchar *as)
{
  g_autofree gchar *text = berth_test_read_fixture (name, NULL);
  g_autofree gchar *path = g_build_filename (f->fake_dir, as, NULL);

  berth_test_write_file (path, text, 0644);
}

/* What a command line of the fake looks like, from "images" on. */
static gchar *
expected_command (Fixture *f, const gchar *rest)
{
  return g_strdup_printf ("--host|unix://%s|%s", f->socket, rest);
}

static void
assert_one_command (Fixture *f, const gchar *rest)
{
  g_auto (GStrv) commands = berth_test_take_commands (f->fake_dir);
  g_autofree gchar *expected = expected_command (f, rest);

  g_assert_cmpuint (g_strv_length (commands), ==, 1);
  g_assert_cmpstr (commands[0], ==, expected);
}

static guint
count_commands (Fixture *f, const gchar *rest)
{
  g_auto (GStrv) commands = berth_test_take_commands (f->fake_dir);
  g_autofree gchar *expected = expected_command (f, rest);
  guint n = 0;

  for (gsize i = 0; commands[i] != NULL; i++)
    if (g_str_equal (commands[i], expected))
      n++;
  return n;
}

static void
on_images_changed (BerthImageProcessor *processor, Fixture *f)
{
  f->n_changed++;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autofree gchar *script = NULL;
  BerthPlugin *plugin;

  f->root = berth_test_make_root ("berth-moby");
  f->paths = berth_test_paths_under (f->root);
  g_assert_cmpint (g_mkdir_with_parents (f->paths->data, 0700), ==, 0);

  /* The socket Berth forwards from the VM: here a placeholder file. */
  f->socket = g_build_filename (f->paths->data, "docker.sock", NULL);
  berth_test_write_file (f->socket, "", 0600);

  f->fake_dir = g_build_filename (f->root, "fake", NULL);
  g_assert_cmpint (g_mkdir (f->fake_dir, 0700), ==, 0);
  f->docker = g_build_filename (f->fake_dir, "docker", NULL);
  script = berth_test_read_fixture ("fake-docker", NULL);
  berth_test_write_file (f->docker, script, 0755);
  install_fixture (f, "docker-images.jsonl", "images.jsonl");
  install_fixture (f, "docker-pull.txt", "pull.txt");
  install_fixture (f, "docker-build.txt", "build.txt");
  install_fixture (f, "docker-rmi-missing.txt", "rmi-missing.txt");
  g_setenv ("FAKE_DIR", f->fake_dir, TRUE);
  g_setenv ("BERTH_DOCKER", f->docker, TRUE);
  g_unsetenv ("BERTH_TRIVY");
  g_setenv ("BERTH_IMAGES_REFRESH_MS", "100", TRUE);

  f->settings = berth_test_settings_new (f->paths, NULL);

  /* BERTH_PLUGIN_PATH names the directory the module was built in. */
  plugin = berth_test_load_plugin (f->settings, f->paths, "moby", &f->loader);
  g_assert_true (BERTH_IS_IMAGE_PROCESSOR (plugin));
  f->processor = BERTH_IMAGE_PROCESSOR (plugin);
  g_signal_connect (f->processor, "images-changed", G_CALLBACK (on_images_changed), f);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_signal_handlers_disconnect_by_data (f->processor, f);
  berth_image_processor_deactivate (f->processor);
  g_clear_object (&f->loader);
  g_clear_object (&f->settings);
  g_clear_pointer (&f->paths, berth_paths_free);
  berth_test_rm_rf (f->root);
  g_free (f->root);
  g_free (f->fake_dir);
  g_free (f->docker);
  g_free (f->socket);
}

/* ---- async plumbing ----------------------------------------------------- */

static JsonNode *
list_images (Fixture *f, const gchar *ns, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  berth_image_processor_list_images_async (f->processor, ns, NULL, berth_test_store_result,
                                           &result);
  return berth_image_processor_list_images_finish (
      f->processor, berth_test_wait_result (&result, WAIT_SECONDS), error);
}

/* Runs an operation; returns the CLI's output it carried, or NULL. */
typedef gboolean (*FinishFunc) (BerthImageProcessor *, GAsyncResult *, GError **);

static gchar *
finish_operation (Fixture *f, GAsyncResult **slot, FinishFunc finish, GError **error)
{
  GAsyncResult *result = berth_test_wait_result (slot, WAIT_SECONDS);
  g_autofree gchar *output = g_strdup (berth_image_result_get_output (result));

  if (!finish (f->processor, result, error))
    return NULL;
  return g_steal_pointer (&output);
}

/* ---- tests -------------------------------------------------------------- */

static void
test_list (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) images = list_images (f, NULL, &error);
  JsonArray *array;
  JsonObject *busybox;

  g_assert_no_error (error);
  assert_one_command (f, "images|--digests|--format|{{json .}}");
  array = json_node_get_array (images);
  g_assert_cmpuint (json_array_get_length (array), ==, 6);
  busybox = json_array_get_object_element (array, 4);
  g_assert_cmpstr (json_object_get_string_member (busybox, "id"), ==, "8135583d97fe");
  g_assert_cmpstr (json_object_get_string_member (busybox, "repository"), ==, "busybox");
  g_assert_cmpstr (json_object_get_string_member (busybox, "tag"), ==, "latest");
  g_assert_cmpint (json_object_get_int_member (busybox, "size"), ==, 4260000);
  g_assert_cmpstr (json_object_get_string_member (busybox, "created"), ==, "2023-05-22T19:21:08Z");
  g_assert_false (json_object_has_member (busybox, "namespace"));
}

static void
test_pull (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autofree gchar *output = NULL;
  g_autofree gchar *expected = berth_test_read_fixture ("docker-pull.txt", NULL);
  g_autofree gchar *log_path = g_build_filename (f->paths->logs, "moby.log", NULL);
  g_autofree gchar *log = NULL;

  berth_image_processor_pull_async (f->processor, "registry.example.test/library/busybox:latest",
                                    NULL, NULL, berth_test_store_result, &result);
  output = finish_operation (f, &result, berth_image_processor_pull_finish, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (output, ==, expected);
  assert_one_command (f, "pull|registry.example.test/library/busybox:latest");

  /* The command and what it printed are in the component's log. */
  g_file_get_contents (log_path, &log, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (log, "pull registry.example.test/library/busybox:latest"));
  g_assert_nonnull (strstr (log, "Status: Downloaded newer image for "
                                 "registry.example.test/library/busybox:latest"));
}

static void
test_pull_fails (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autofree gchar *output = NULL;

  berth_image_processor_pull_async (f->processor, "missing:latest", NULL, NULL,
                                    berth_test_store_result, &result);
  output = finish_operation (f, &result, berth_image_processor_pull_finish, &error);
  g_assert_null (output);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "pull missing:latest` failed with exit status 1: "
                                            "Error response from daemon: pull access denied for "
                                            "missing"));
}

static void
test_push (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autofree gchar *output = NULL;

  berth_image_processor_push_async (f->processor, "localhost:5000/berth/test-app:v1.2.3", NULL,
                                    NULL, berth_test_store_result, &result);
  output = finish_operation (f, &result, berth_image_processor_push_finish, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (output, "The push refers to repository "
                                           "[localhost:5000/berth/test-app:v1.2.3]\n"));
  assert_one_command (f, "push|localhost:5000/berth/test-app:v1.2.3");
}

static void
test_build (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) tagged = NULL;
  g_autoptr (GAsyncResult) untagged = NULL;
  g_autoptr (GAsyncResult) relative = NULL;
  g_autoptr (GAsyncResult) missing = NULL;
  g_autofree gchar *context = g_build_filename (f->root, "context", NULL);
  g_autofree gchar *gone = g_build_filename (f->root, "gone", NULL);
  g_autofree gchar *dockerfile = g_build_filename (context, "Dockerfile", NULL);
  g_autofree gchar *output = NULL;
  g_autofree gchar *expected = NULL;
  g_autofree gchar *built = berth_test_read_fixture ("docker-build.txt", NULL);

  g_assert_cmpint (g_mkdir (context, 0700), ==, 0);
  berth_test_write_file (dockerfile, "FROM busybox:latest\nRUN echo hello > /hello\n", 0644);

  berth_image_processor_build_async (f->processor, context, "berth-built:latest", NULL, NULL,
                                     berth_test_store_result, &tagged);
  output = finish_operation (f, &tagged, berth_image_processor_build_finish, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (output, ==, built);
  expected = g_strdup_printf ("build|--tag|berth-built:latest|%s", context);
  assert_one_command (f, expected);

  g_free (output);
  g_free (expected);
  berth_image_processor_build_async (f->processor, context, NULL, NULL, NULL,
                                     berth_test_store_result, &untagged);
  output = finish_operation (f, &untagged, berth_image_processor_build_finish, &error);
  g_assert_no_error (error);
  expected = g_strdup_printf ("build|%s", context);
  assert_one_command (f, expected);

  /* A context berthd cannot find is refused before docker runs. */
  berth_image_processor_build_async (f->processor, "context", NULL, NULL, NULL,
                                     berth_test_store_result, &relative);
  g_assert_false (berth_image_processor_build_finish (
      f->processor, berth_test_wait_result (&relative, WAIT_SECONDS), &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "\"context\" is not an absolute path"));
  g_clear_error (&error);
  berth_image_processor_build_async (f->processor, gone, NULL, NULL, NULL, berth_test_store_result,
                                     &missing);
  g_assert_false (berth_image_processor_build_finish (
      f->processor, berth_test_wait_result (&missing, WAIT_SECONDS), &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "is not a directory"));
  g_clear_error (&error);
  g_assert_cmpuint (count_commands (f, "images|--digests|--format|{{json .}}"), ==, 0);
}

static void
test_tag_and_remove (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) tagged = NULL;
  g_autoptr (GAsyncResult) removed = NULL;
  g_autoptr (GAsyncResult) missing = NULL;
  g_autofree gchar *output = NULL;

  berth_image_processor_tag_async (f->processor, "busybox:latest", "busybox:mine", NULL, NULL,
                                   berth_test_store_result, &tagged);
  output = finish_operation (f, &tagged, berth_image_processor_tag_finish, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (output, ==, "");
  assert_one_command (f, "tag|busybox:latest|busybox:mine");

  g_free (output);
  berth_image_processor_remove_async (f->processor, "busybox:mine", NULL, NULL,
                                      berth_test_store_result, &removed);
  output = finish_operation (f, &removed, berth_image_processor_remove_finish, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (output, ==, "Untagged: busybox:mine\n");
  assert_one_command (f, "rmi|busybox:mine");

  /* docker's "No such image" is NOT_FOUND, with docker's words in it. */
  berth_image_processor_remove_async (f->processor, "missing:latest", NULL, NULL,
                                      berth_test_store_result, &missing);
  g_assert_false (berth_image_processor_remove_finish (
      f->processor, berth_test_wait_result (&missing, WAIT_SECONDS), &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_suffix (error->message, "rmi missing:latest` failed with exit status 1: "
                                                   "Error response from daemon: No such image: "
                                                   "missing:latest"));
  g_assert_true (g_str_has_prefix (error->message, "`docker --host unix://"));
}

static void
test_bad_references (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) option = NULL;
  g_autoptr (GAsyncResult) spaced = NULL;
  g_autoptr (GAsyncResult) target = NULL;

  berth_image_processor_remove_async (f->processor, "--force", NULL, NULL, berth_test_store_result,
                                      &option);
  g_assert_false (berth_image_processor_remove_finish (
      f->processor, berth_test_wait_result (&option, WAIT_SECONDS), &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_assert_cmpstr (error->message, ==,
                   "The image to remove \"--force\" starts with '-'; an image reference starts "
                   "with a letter or a digit");
  g_clear_error (&error);

  berth_image_processor_pull_async (f->processor, "busybox latest", NULL, NULL,
                                    berth_test_store_result, &spaced);
  g_assert_false (berth_image_processor_pull_finish (
      f->processor, berth_test_wait_result (&spaced, WAIT_SECONDS), &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_clear_error (&error);

  berth_image_processor_tag_async (f->processor, "busybox", "-x", NULL, NULL,
                                   berth_test_store_result, &target);
  g_assert_false (berth_image_processor_tag_finish (
      f->processor, berth_test_wait_result (&target, WAIT_SECONDS), &error));
  g_assert_nonnull (strstr (error->message, "The new tag \"-x\""));

  /* None of them reached docker. */
  {
    g_auto (GStrv) commands = berth_test_take_commands (f->fake_dir);

    g_assert_cmpuint (g_strv_length (commands), ==, 0);
  }
}

static void
test_namespaces_not_supported (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GAsyncResult) pull = NULL;
  g_auto (GStrv) names = NULL;
  g_autoptr (JsonNode) images = NULL;

  berth_image_processor_list_namespaces_async (f->processor, NULL, berth_test_store_result,
                                               &result);
  names = berth_image_processor_list_namespaces_finish (
      f->processor, berth_test_wait_result (&result, WAIT_SECONDS), &error);
  g_assert_null (names);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED);
  g_assert_cmpstr (error->message, ==,
                   "The moby engine (docker) has no image namespaces; they belong to containerd: "
                   "set containerEngine.name to containerd to use them");
  g_clear_error (&error);

  images = list_images (f, "k8s.io", &error);
  g_assert_null (images);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "namespace \"k8s.io\" cannot be used"));
  g_clear_error (&error);

  berth_image_processor_pull_async (f->processor, "busybox", "default", NULL,
                                    berth_test_store_result, &pull);
  g_assert_false (berth_image_processor_pull_finish (
      f->processor, berth_test_wait_result (&pull, WAIT_SECONDS), &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED);
}

static void
test_scan (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) without = NULL;
  g_autoptr (GAsyncResult) with = NULL;
  g_autoptr (JsonNode) report = NULL;
  g_autofree gchar *trivy = g_build_filename (f->fake_dir, "trivy", NULL);
  g_autofree gchar *script = berth_test_read_fixture ("fake-trivy", NULL);
  g_autofree gchar *env_path = g_build_filename (f->fake_dir, "trivy-env.txt", NULL);
  g_autofree gchar *env = NULL;
  g_autofree gchar *expected_env = NULL;
  g_autofree gchar *empty_dir = g_build_filename (f->root, "empty-bin", NULL);
  g_autofree gchar *saved_path = g_strdup (g_getenv ("PATH"));
  JsonArray *results;

  /* No trivy anywhere: not supported, and why. */
  g_assert_cmpint (g_mkdir (empty_dir, 0700), ==, 0);
  g_setenv ("PATH", empty_dir, TRUE);
  berth_image_processor_scan_async (f->processor, "alpine:3.20", NULL, berth_test_store_result,
                                    &without);
  report = berth_image_processor_scan_finish (
      f->processor, berth_test_wait_result (&without, WAIT_SECONDS), &error);
  g_setenv ("PATH", saved_path, TRUE);
  g_assert_null (report);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED);
  g_assert_cmpstr (error->message, ==,
                   "Images cannot be scanned for vulnerabilities: trivy is not in PATH and "
                   "$BERTH_TRIVY is not set; install Aqua Security's trivy, or set $BERTH_TRIVY "
                   "to its path");
  g_clear_error (&error);

  berth_test_write_file (trivy, script, 0755);
  g_setenv ("BERTH_TRIVY", trivy, TRUE);
  berth_image_processor_scan_async (f->processor, "alpine:3.20", NULL, berth_test_store_result,
                                    &with);
  report = berth_image_processor_scan_finish (f->processor,
                                              berth_test_wait_result (&with, WAIT_SECONDS), &error);
  g_unsetenv ("BERTH_TRIVY");
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (report), "ArtifactName"),
                   ==, "alpine:3.20");
  results = json_object_get_array_member (json_node_get_object (report), "Results");
  g_assert_cmpuint (json_array_get_length (results), ==, 1);

  /* trivy was pointed at Berth's docker socket. */
  g_file_get_contents (env_path, &env, NULL, &error);
  g_assert_no_error (error);
  expected_env = g_strdup_printf ("DOCKER_HOST=unix://%s\n", f->socket);
  g_assert_true (g_str_has_prefix (env, expected_env));
}

static void
test_engine_unreachable (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) images = NULL;
  g_autofree gchar *not_program = g_build_filename (f->root, "not-docker", NULL);

  /* No socket: the engine is not up (or not forwarded). */
  g_assert_cmpint (g_remove (f->socket), ==, 0);
  images = list_images (f, NULL, &error);
  g_assert_null (images);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND);
  g_assert_nonnull (strstr (error->message, "docker.sock does not exist, so the engine cannot be "
                                            "reached; start Berth (berthctl start)"));
  g_clear_error (&error);
  berth_test_write_file (f->socket, "", 0600);

  /* $BERTH_DOCKER naming something that cannot run. */
  berth_test_write_file (not_program, "not a program", 0644);
  g_setenv ("BERTH_DOCKER", not_program, TRUE);
  images = list_images (f, NULL, &error);
  g_setenv ("BERTH_DOCKER", f->docker, TRUE);
  g_assert_null (images);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "$BERTH_DOCKER names "));
  g_assert_nonnull (strstr (error->message, "which is not an executable file"));
  {
    g_auto (GStrv) commands = berth_test_take_commands (f->fake_dir);

    g_assert_cmpuint (g_strv_length (commands), ==, 0);
  }
}

/* The refresh: nothing while inactive; while active, `docker images` every
 * 100 ms ($BERTH_IMAGES_REFRESH_MS), and images-changed only when the list
 * really changed. */
static void
test_refresh (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *images_path = g_build_filename (f->fake_dir, "images.jsonl", NULL);
  g_autofree gchar *original = berth_test_read_fixture ("docker-images.jsonl", NULL);
  g_autofree gchar *changed = berth_test_read_fixture ("docker-images-changed.jsonl", NULL);
  g_auto (GStrv) lines = NULL;
  g_autoptr (GString) reversed = g_string_new (NULL);
  const gchar *list_command = "images|--digests|--format|{{json .}}";

  /* Inactive: no refresh at all. */
  berth_test_pause_ms (400);
  g_assert_cmpuint (count_commands (f, list_command), ==, 0);

  g_assert_true (berth_image_processor_activate (f->processor, NULL, &error));
  g_assert_no_error (error);
  berth_test_pause_ms (550);
  g_assert_cmpuint (count_commands (f, list_command), >=, 2);
  /* The first list is what later ones are measured against. */
  g_assert_cmpuint (f->n_changed, ==, 0);

  /* The same images in another order (and a blank line) are no change. */
  lines = g_strsplit (original, "\n", -1);
  for (gint i = (gint)g_strv_length (lines) - 1; i >= 0; i--)
    g_string_append_printf (reversed, "%s\n", lines[i]);
  berth_test_write_file (images_path, reversed->str, 0644);
  berth_test_pause_ms (400);
  g_assert_cmpuint (f->n_changed, ==, 0);

  /* A new tag and a new image: one signal, not one per refresh. */
  berth_test_write_file (images_path, changed, 0644);
  berth_test_pause_ms (500);
  g_assert_cmpuint (f->n_changed, ==, 1);

  /* A failing docker changes nothing either (the list is not "empty"). */
  g_remove (images_path);
  berth_test_pause_ms (300);
  g_assert_cmpuint (f->n_changed, ==, 1);
  berth_test_write_file (images_path, changed, 0644);
  berth_test_pause_ms (300);
  g_assert_cmpuint (f->n_changed, ==, 1);

  /* Inactive again: the refresh stops. */
  berth_image_processor_deactivate (f->processor);
  berth_test_pause_ms (300);
  g_strfreev (berth_test_take_commands (f->fake_dir));
  berth_test_write_file (images_path, original, 0644);
  berth_test_pause_ms (700);
  /* At most one that was on its way when the refresh stopped; a running
   * refresh would have made six or seven by now. */
  g_assert_cmpuint (count_commands (f, list_command), <=, 1);
  g_assert_cmpuint (f->n_changed, ==, 1);
}

static gboolean
changed_once (gpointer user_data)
{
  Fixture *f = user_data;

  return f->n_changed >= 1;
}

/* After an operation the list is looked at once, not at the next tick
 * (here a minute away). */
static void
test_refresh_after_operation (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *images_path = g_build_filename (f->fake_dir, "images.jsonl", NULL);
  g_autofree gchar *changed = berth_test_read_fixture ("docker-images-changed.jsonl", NULL);
  g_autoptr (GAsyncResult) tagged = NULL;

  g_setenv ("BERTH_IMAGES_REFRESH_MS", "60000", TRUE);
  g_assert_true (berth_image_processor_activate (f->processor, NULL, &error));
  berth_test_pause_ms (300);
  g_assert_cmpuint (f->n_changed, ==, 0);

  berth_test_write_file (images_path, changed, 0644);
  berth_image_processor_tag_async (f->processor, "busybox:latest", "busybox:mine", NULL, NULL,
                                   berth_test_store_result, &tagged);
  g_assert_true (berth_image_processor_tag_finish (
      f->processor, berth_test_wait_result (&tagged, WAIT_SECONDS), &error));
  g_assert_no_error (error);
  g_assert_true (berth_test_iterate_until (changed_once, f, WAIT_SECONDS));
  g_assert_cmpuint (f->n_changed, ==, 1);
}

/* A list asked for by a frontend counts as a refresh: it announces a
 * change, and the ticks after it do not announce it again. */
static void
test_list_feeds_refresh (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *images_path = g_build_filename (f->fake_dir, "images.jsonl", NULL);
  g_autofree gchar *changed = berth_test_read_fixture ("docker-images-changed.jsonl", NULL);
  g_autoptr (JsonNode) second = NULL;

  /* A minute between ticks: only the frontend's list can see the change. */
  g_setenv ("BERTH_IMAGES_REFRESH_MS", "60000", TRUE);
  g_assert_true (berth_image_processor_activate (f->processor, NULL, &error));
  berth_test_pause_ms (300);
  g_assert_cmpuint (f->n_changed, ==, 0);

  berth_test_write_file (images_path, changed, 0644);
  second = list_images (f, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (second)), ==, 8);
  g_assert_cmpuint (f->n_changed, ==, 1);

  berth_image_processor_deactivate (f->processor);
  g_setenv ("BERTH_IMAGES_REFRESH_MS", "100", TRUE);
  g_assert_true (berth_image_processor_activate (f->processor, NULL, &error));
  berth_test_pause_ms (400);
  g_assert_cmpuint (f->n_changed, ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/moby/list", test_list);
  ADD ("/moby/pull", test_pull);
  ADD ("/moby/pull-fails", test_pull_fails);
  ADD ("/moby/push", test_push);
  ADD ("/moby/build", test_build);
  ADD ("/moby/tag-and-remove", test_tag_and_remove);
  ADD ("/moby/bad-references", test_bad_references);
  ADD ("/moby/namespaces-not-supported", test_namespaces_not_supported);
  ADD ("/moby/scan", test_scan);
  ADD ("/moby/engine-unreachable", test_engine_unreachable);
  ADD ("/moby/refresh", test_refresh);
  ADD ("/moby/refresh-after-operation", test_refresh_after_operation);
  ADD ("/moby/list-feeds-refresh", test_list_feeds_refresh);
#undef ADD
  return g_test_run ();
}
