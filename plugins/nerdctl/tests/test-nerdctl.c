/* SPDX-License-Identifier: GPL-3.0-or-later */
/* berth-nerdctl as berthd loads it. nerdctl cannot be had on this machine,
 * so a fake nerdctl (tests/fake-nerdctl) named by $BERTH_NERDCTL answers
 * from outputs written in nerdctl's documented `--format '{{json .}}'`
 * shape (the fields of its imagePrintable: CreatedAt, CreatedSince, Digest,
 * ID, Repository, Tag, Name, Size, BlobSize, Platform; 1.x sizes like
 * "672.0 KiB", 2.x sizes like "87.58MB") and records each command line:
 * namespaces, every operation's command line and result, trivy pointed at
 * containerd, and the refresh following images.namespace. */
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
  gchar *nerdctl;
  gchar *socket;
  BerthPaths *paths;
  BerthSettings *settings;
  BerthPluginLoader *loader;
  BerthImageProcessor *processor;
  guint n_changed;
} Fixture;

/* ---- helpers ------------------------------------------------------------ */

static void
install_fixture (Fixture *f, const gchar *name, const gchar *as)
{
  g_autofree gchar *text = berth_test_read_fixture (name, NULL);
  g_autofree gchar *path = g_build_filename (f->fake_dir, as, NULL);

  berth_test_write_file (path, text, 0644);
}

/* "--address|<socket>|--namespace|@ns|@rest", or without the namespace when
 * @ns is NULL. */
static gchar *
expected_command (Fixture *f, const gchar *ns, const gchar *rest)
{
  if (ns == NULL)
    return g_strdup_printf ("--address|%s|%s", f->socket, rest);
  return g_strdup_printf ("--address|%s|--namespace|%s|%s", f->socket, ns, rest);
}

static void
assert_one_command (Fixture *f, const gchar *ns, const gchar *rest)
{
  g_auto (GStrv) commands = berth_test_take_commands (f->fake_dir);
  g_autofree gchar *expected = expected_command (f, ns, rest);

  g_assert_cmpuint (g_strv_length (commands), ==, 1);
  g_assert_cmpstr (commands[0], ==, expected);
}

static guint
count_commands (Fixture *f, const gchar *ns, const gchar *rest)
{
  g_auto (GStrv) commands = berth_test_take_commands (f->fake_dir);
  g_autofree gchar *expected = expected_command (f, ns, rest);
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

  f->root = berth_test_make_root ("berth-nerdctl");
  f->paths = berth_test_paths_under (f->root);
  g_assert_cmpint (g_mkdir_with_parents (f->paths->data, 0700), ==, 0);

  /* containerd's socket as the VM would forward it: a placeholder here. */
  f->socket = g_build_filename (f->paths->data, "containerd.sock", NULL);
  berth_test_write_file (f->socket, "", 0600);

  f->fake_dir = g_build_filename (f->root, "fake", NULL);
  g_assert_cmpint (g_mkdir (f->fake_dir, 0700), ==, 0);
  f->nerdctl = g_build_filename (f->fake_dir, "nerdctl", NULL);
  script = berth_test_read_fixture ("fake-nerdctl", NULL);
  berth_test_write_file (f->nerdctl, script, 0755);
  install_fixture (f, "nerdctl-images-k8s.io.jsonl", "images-k8s.io.jsonl");
  install_fixture (f, "nerdctl-images-default.jsonl", "images-default.jsonl");
  install_fixture (f, "nerdctl-namespaces.txt", "namespaces.txt");
  install_fixture (f, "nerdctl-pull.txt", "pull.txt");
  g_setenv ("FAKE_DIR", f->fake_dir, TRUE);
  g_setenv ("BERTH_NERDCTL", f->nerdctl, TRUE);
  g_unsetenv ("BERTH_TRIVY");
  g_setenv ("BERTH_IMAGES_REFRESH_MS", "100", TRUE);

  f->settings = berth_test_settings_new (f->paths, NULL);

  plugin = berth_test_load_plugin (f->settings, f->paths, "nerdctl", &f->loader);
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
  g_free (f->nerdctl);
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

static JsonObject *
image_at (JsonNode *list, guint i)
{
  JsonArray *array = json_node_get_array (list);

  g_assert_cmpuint (i, <, json_array_get_length (array));
  return json_array_get_object_element (array, i);
}

/* ---- tests -------------------------------------------------------------- */

/* No namespace asked for: images.namespace, "k8s.io" by default. */
static void
test_list_watched_namespace (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) images = list_images (f, NULL, &error);
  JsonObject *image;

  g_assert_no_error (error);
  assert_one_command (f, "k8s.io", "images|--format|{{json .}}");
  /* Five lines, the stderr warning not among them; sorted by id. */
  g_assert_cmpuint (json_array_get_length (json_node_get_array (images)), ==, 5);

  image = image_at (images, 0);
  g_assert_cmpstr (json_object_get_string_member (image, "id"), ==, "1ff6c18fbef2");
  g_assert_cmpstr (json_object_get_string_member (image, "repository"), ==, "<none>");
  g_assert_cmpstr (json_object_get_string_member (image, "tag"), ==, "<none>");
  image = image_at (images, 1);
  g_assert_cmpstr (json_object_get_string_member (image, "repository"), ==,
                   "registry.example.test/rancher/mirrored-pause");
  g_assert_cmpstr (json_object_get_string_member (image, "tag"), ==, "3.6");
  g_assert_cmpstr (json_object_get_string_member (image, "digest"), ==,
                   "sha256:1ff6c18fbef2045af6b9c16bf034cc421a29027b800e4f9b68ae9b1cb3e9ae07");
  g_assert_cmpint (json_object_get_int_member (image, "size"), ==, 688128);
  g_assert_cmpstr (json_object_get_string_member (image, "namespace"), ==, "k8s.io");
  g_assert_cmpstr (json_object_get_string_member (image, "platform"), ==, "linux/amd64");
  g_assert_cmpstr (json_object_get_string_member (image, "created"), ==, "2024-03-01T10:15:42Z");

  /* A multi-platform image: one entry per platform, the one not unpacked
   * with size 0. */
  image = image_at (images, 2);
  g_assert_cmpstr (json_object_get_string_member (image, "repository"), ==,
                   "registry.example.test/library/busybox");
  g_assert_cmpstr (json_object_get_string_member (image, "platform"), ==, "linux/amd64");
  g_assert_cmpint (json_object_get_int_member (image, "size"), ==, 4299162);
  image = image_at (images, 3);
  g_assert_cmpstr (json_object_get_string_member (image, "platform"), ==, "linux/arm64/v8");
  g_assert_cmpint (json_object_get_int_member (image, "size"), ==, 0);

  /* CEST is two hours ahead of UTC. */
  image = image_at (images, 4);
  g_assert_cmpstr (json_object_get_string_member (image, "repository"), ==,
                   "registry.example.test/rancher/mirrored-coredns-coredns");
  g_assert_cmpstr (json_object_get_string_member (image, "created"), ==, "2024-05-10T06:00:01Z");
}

static void
test_list_other_namespace (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) images = list_images (f, "default", &error);
  g_autoptr (JsonNode) none = NULL;
  g_autoptr (JsonNode) bad = NULL;
  JsonObject *image;

  g_assert_no_error (error);
  assert_one_command (f, "default", "images|--format|{{json .}}");
  g_assert_cmpuint (json_array_get_length (json_node_get_array (images)), ==, 2);
  /* nerdctl 2.x prints sizes as docker does. */
  image = image_at (images, 0);
  g_assert_cmpstr (json_object_get_string_member (image, "repository"), ==, "test");
  g_assert_cmpint (json_object_get_int_member (image, "size"), ==, 87580000);
  g_assert_cmpstr (json_object_get_string_member (image, "namespace"), ==, "default");
  g_assert_cmpint (json_object_get_int_member (image_at (images, 1), "size"), ==, 688100);

  /* An empty namespace lists nothing, which is not an error. */
  none = list_images (f, "moby", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (none)), ==, 0);
  g_strfreev (berth_test_take_commands (f->fake_dir));

  /* What is not a namespace never reaches nerdctl. */
  bad = list_images (f, "--all", &error);
  g_assert_null (bad);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "namespace \"--all\" is not a containerd namespace"));
  {
    g_auto (GStrv) commands = berth_test_take_commands (f->fake_dir);

    g_assert_cmpuint (g_strv_length (commands), ==, 0);
  }
}

static void
test_namespaces (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_auto (GStrv) names = NULL;
  const gchar *expected[] = { "buildkit", "default", "k8s.io", "moby", NULL };

  berth_image_processor_list_namespaces_async (f->processor, NULL, berth_test_store_result,
                                               &result);
  names = berth_image_processor_list_namespaces_finish (
      f->processor, berth_test_wait_result (&result, WAIT_SECONDS), &error);
  g_assert_no_error (error);
  /* "default" is added when nerdctl does not list it, as Rancher Desktop
   * does; sorted. */
  g_assert_true (g_strv_equal ((const gchar *const *)names, expected));
  assert_one_command (f, NULL, "namespace|list|--quiet");
}

static void
test_pull_push (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) pulled = NULL;
  g_autoptr (GAsyncResult) pushed = NULL;
  g_autofree gchar *output = NULL;
  g_autofree gchar *expected = berth_test_read_fixture ("nerdctl-pull.txt", NULL);

  berth_image_processor_pull_async (f->processor, "alpine:3.20", "default", NULL,
                                    berth_test_store_result, &pulled);
  output = finish_operation (f, &pulled, berth_image_processor_pull_finish, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (output, ==, expected);
  assert_one_command (f, "default", "pull|alpine:3.20");

  g_free (output);
  berth_image_processor_push_async (f->processor, "localhost:5000/alpine:3.20", NULL, NULL,
                                    berth_test_store_result, &pushed);
  output = finish_operation (f, &pushed, berth_image_processor_push_finish, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (output, "manifest-sha256:"));
  assert_one_command (f, "k8s.io", "push|localhost:5000/alpine:3.20");
}

static void
test_build (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autofree gchar *context = g_build_filename (f->root, "context", NULL);
  g_autofree gchar *output = NULL;
  g_autofree gchar *rest = NULL;

  g_assert_cmpint (g_mkdir (context, 0700), ==, 0);
  berth_image_processor_build_async (f->processor, context, "berth-built:latest", NULL, NULL,
                                     berth_test_store_result, &result);
  output = finish_operation (f, &result, berth_image_processor_build_finish, &error);
  g_assert_no_error (error);
  g_assert_nonnull (
      strstr (output, "naming to registry.example.test/library/berth-built:latest done"));
  /* BuildKit is reached through the socket the VM forwards next to
   * containerd's. */
  rest = g_strdup_printf ("build|--buildkit-host|unix://%s/buildkitd.sock|--tag|"
                          "berth-built:latest|%s",
                          f->paths->data, context);
  assert_one_command (f, "k8s.io", rest);
}

static void
test_tag_and_remove (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) tagged = NULL;
  g_autoptr (GAsyncResult) removed = NULL;
  g_autoptr (GAsyncResult) missing = NULL;
  g_autofree gchar *output = NULL;

  berth_image_processor_tag_async (f->processor, "busybox:latest", "busybox:mine", "default", NULL,
                                   berth_test_store_result, &tagged);
  output = finish_operation (f, &tagged, berth_image_processor_tag_finish, &error);
  g_assert_no_error (error);
  assert_one_command (f, "default", "tag|busybox:latest|busybox:mine");

  g_free (output);
  berth_image_processor_remove_async (f->processor, "busybox:mine", NULL, NULL,
                                      berth_test_store_result, &removed);
  output = finish_operation (f, &removed, berth_image_processor_remove_finish, &error);
  g_assert_no_error (error);
  g_assert_true (
      g_str_has_prefix (output, "Untagged: registry.example.test/library/busybox:mine\nDeleted: "));
  assert_one_command (f, "k8s.io", "rmi|busybox:mine");

  berth_image_processor_remove_async (f->processor, "missing:1", NULL, NULL,
                                      berth_test_store_result, &missing);
  g_assert_false (berth_image_processor_remove_finish (
      f->processor, berth_test_wait_result (&missing, WAIT_SECONDS), &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "rmi missing:1` failed with exit status 1: "));
  g_assert_nonnull (strstr (error->message, "no such image: missing:1"));
}

static void
test_scan (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) without = NULL;
  g_autoptr (GAsyncResult) with = NULL;
  g_autoptr (JsonNode) report = NULL;
  g_autofree gchar *trivy = g_build_filename (f->fake_dir, "trivy", NULL);
  g_autofree gchar *script = NULL;
  g_autofree gchar *env_path = g_build_filename (f->fake_dir, "trivy-env.txt", NULL);
  g_autofree gchar *env = NULL;
  g_autofree gchar *expected_env = NULL;
  g_autofree gchar *empty_dir = g_build_filename (f->root, "empty-bin", NULL);
  g_autofree gchar *saved_path = g_strdup (g_getenv ("PATH"));

  g_assert_cmpint (g_mkdir (empty_dir, 0700), ==, 0);
  g_setenv ("PATH", empty_dir, TRUE);
  berth_image_processor_scan_async (f->processor, "alpine:3.20", NULL, berth_test_store_result,
                                    &without);
  report = berth_image_processor_scan_finish (
      f->processor, berth_test_wait_result (&without, WAIT_SECONDS), &error);
  g_setenv ("PATH", saved_path, TRUE);
  g_assert_null (report);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED);
  g_assert_true (g_str_has_prefix (error->message, "Images cannot be scanned for "
                                                   "vulnerabilities: trivy is not in PATH"));
  g_clear_error (&error);

  script = berth_test_read_fixture ("fake-trivy", NULL);
  berth_test_write_file (trivy, script, 0755);
  g_setenv ("BERTH_TRIVY", trivy, TRUE);
  berth_image_processor_scan_async (f->processor, "alpine:3.20", NULL, berth_test_store_result,
                                    &with);
  report = berth_image_processor_scan_finish (f->processor,
                                              berth_test_wait_result (&with, WAIT_SECONDS), &error);
  g_unsetenv ("BERTH_TRIVY");
  g_assert_no_error (error);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (report), "SchemaVersion"), ==,
                   2);

  /* trivy reads the images from containerd, in the watched namespace. */
  g_file_get_contents (env_path, &env, NULL, &error);
  g_assert_no_error (error);
  expected_env = g_strdup_printf ("DOCKER_HOST=\nCONTAINERD_ADDRESS=%s\n"
                                  "CONTAINERD_NAMESPACE=k8s.io\n",
                                  f->socket);
  g_assert_cmpstr (env, ==, expected_env);
}

static void
test_no_nerdctl (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) images = NULL;
  g_autofree gchar *empty_dir = g_build_filename (f->root, "empty-bin", NULL);
  g_autofree gchar *saved_path = g_strdup (g_getenv ("PATH"));

  g_assert_cmpint (g_mkdir (empty_dir, 0700), ==, 0);
  g_unsetenv ("BERTH_NERDCTL");
  g_setenv ("PATH", empty_dir, TRUE);
  images = list_images (f, NULL, &error);
  g_setenv ("PATH", saved_path, TRUE);
  g_setenv ("BERTH_NERDCTL", f->nerdctl, TRUE);
  g_assert_null (images);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==,
                   "nerdctl is not in PATH and $BERTH_NERDCTL is not set; install nerdctl "
                   "(containerd's Docker-compatible CLI), or set $BERTH_NERDCTL to its path");
}

/* The refresh watches images.namespace: changing it is a change of list. */
static void
test_refresh_follows_namespace (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_auto (GStrv) changed_keys = NULL;
  JsonNode *partial;

  berth_test_pause_ms (300);
  g_assert_cmpuint (count_commands (f, "k8s.io", "images|--format|{{json .}}"), ==, 0);

  g_assert_true (berth_image_processor_activate (f->processor, NULL, &error));
  berth_test_pause_ms (450);
  g_assert_cmpuint (count_commands (f, "k8s.io", "images|--format|{{json .}}"), >=, 2);
  g_assert_cmpuint (f->n_changed, ==, 0);

  json_parser_load_from_data (parser, "{\"images\": {\"namespace\": \"default\"}}", -1, &error);
  g_assert_no_error (error);
  partial = json_parser_get_root (parser);
  berth_settings_update (f->settings, partial, &changed_keys, &error);
  g_assert_no_error (error);
  berth_test_pause_ms (450);
  g_assert_cmpuint (count_commands (f, "default", "images|--format|{{json .}}"), >=, 2);
  g_assert_cmpuint (f->n_changed, ==, 1);

  berth_image_processor_deactivate (f->processor);
  berth_test_pause_ms (300);
  g_strfreev (berth_test_take_commands (f->fake_dir));
  berth_test_pause_ms (700);
  /* At most one already on its way; a running refresh makes six or seven. */
  g_assert_cmpuint (count_commands (f, "default", "images|--format|{{json .}}"), <=, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/nerdctl/list-watched-namespace", test_list_watched_namespace);
  ADD ("/nerdctl/list-other-namespace", test_list_other_namespace);
  ADD ("/nerdctl/namespaces", test_namespaces);
  ADD ("/nerdctl/pull-push", test_pull_push);
  ADD ("/nerdctl/build", test_build);
  ADD ("/nerdctl/tag-and-remove", test_tag_and_remove);
  ADD ("/nerdctl/scan", test_scan);
  ADD ("/nerdctl/no-nerdctl", test_no_nerdctl);
  ADD ("/nerdctl/refresh-follows-namespace", test_refresh_follows_namespace);
#undef ADD
  return g_test_run ();
}
