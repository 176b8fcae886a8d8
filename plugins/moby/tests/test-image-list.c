/* The image list parser and the checks image processors share
 * (core/berth-image-list.c): docker's recorded `images --digests --format
 * '{{json .}}'` output, empty, malformed and huge input, sizes and times as
 * the CLIs print them, references and namespaces, and what a failed command
 * turns into. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include <berth.h>

static gchar *
read_fixture (const gchar *name, gsize *len)
{
  g_autofree gchar *path = g_test_build_filename (G_TEST_DIST, name, NULL);
  g_autoptr (GError) error = NULL;
  gchar *text = NULL;

  g_file_get_contents (path, &text, len, &error);
  g_assert_no_error (error);
  return text;
}

static JsonObject *
image_at (JsonNode *list, guint i)
{
  JsonArray *array = json_node_get_array (list);

  g_assert_cmpuint (i, <, json_array_get_length (array));
  return json_array_get_object_element (array, i);
}

static void
assert_image (JsonObject *image, const gchar *id, const gchar *repository, const gchar *tag)
{
  g_assert_cmpstr (json_object_get_string_member (image, "id"), ==, id);
  g_assert_cmpstr (json_object_get_string_member (image, "repository"), ==, repository);
  g_assert_cmpstr (json_object_get_string_member (image, "tag"), ==, tag);
}

static JsonNode *
parse_text (const gchar *text, BerthImageListStats *stats)
{
  return berth_image_list_parse (text, strlen (text), NULL, stats);
}

/* ---- recorded output ---------------------------------------------------- */

static void
test_docker_recorded (void)
{
  gsize len = 0;
  g_autofree gchar *text = read_fixture ("docker-images.jsonl", &len);
  BerthImageListStats stats;
  g_autoptr (JsonNode) list = berth_image_list_parse (text, len, NULL, &stats);
  JsonObject *image;

  g_assert_cmpuint (stats.n_images, ==, 6);
  g_assert_cmpuint (stats.n_skipped, ==, 0);
  g_assert_cmpuint (stats.n_dropped, ==, 0);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 6);

  /* Sorted by id, then repository and tag. */
  assert_image (image_at (list, 0), "0f5b3c7e8d2a", "<none>", "<none>");
  assert_image (image_at (list, 1), "1d34ffeaf190", "alpine", "3.20");
  assert_image (image_at (list, 2), "3f57d9401f8d", "registry.example.test/big/ml-model", "2024.1");
  assert_image (image_at (list, 3), "8135583d97fe", "busybox", "1.36");
  assert_image (image_at (list, 4), "8135583d97fe", "busybox", "latest");
  assert_image (image_at (list, 5), "a416a98b71e2", "localhost:5000/berth/test-app", "v1.2.3");

  image = image_at (list, 4);
  g_assert_cmpstr (json_object_get_string_member (image, "digest"), ==,
                   "sha256:f85340bf132ae937d2c2a763b8335c9bab35d6e8293f70f606b9c6178d84f42b");
  g_assert_cmpint (json_object_get_int_member (image, "size"), ==, 4260000);
  g_assert_cmpstr (json_object_get_string_member (image, "created"), ==, "2023-05-22T19:21:08Z");
  g_assert_false (json_object_has_member (image, "namespace"));
  g_assert_false (json_object_has_member (image, "platform"));

  /* "<none>" digests are null; sizes in kB and GB. */
  image = image_at (list, 0);
  g_assert_true (json_object_get_null_member (image, "digest"));
  g_assert_cmpint (json_object_get_int_member (image, "size"), ==, 13300);
  g_assert_cmpint (json_object_get_int_member (image_at (list, 2), "size"), ==, 2350000000);
  g_assert_cmpint (json_object_get_int_member (image_at (list, 5), "size"), ==, 188000000);
}

static void
test_namespace_member (void)
{
  const gchar *line = "{\"ID\":\"abc\",\"Repository\":\"r\",\"Tag\":\"t\",\"Size\":\"1B\"}\n";
  g_autoptr (JsonNode) list = berth_image_list_parse (line, strlen (line), "k8s.io", NULL);

  g_assert_cmpstr (json_object_get_string_member (image_at (list, 0), "namespace"), ==, "k8s.io");
}

/* ---- empty, malformed, huge --------------------------------------------- */

static void
test_empty (void)
{
  BerthImageListStats stats;
  g_autoptr (JsonNode) none = berth_image_list_parse (NULL, 0, NULL, &stats);
  g_autoptr (JsonNode) blank = NULL;

  g_assert_true (JSON_NODE_HOLDS_ARRAY (none));
  g_assert_cmpuint (json_array_get_length (json_node_get_array (none)), ==, 0);
  g_assert_cmpuint (stats.n_images, ==, 0);
  g_assert_cmpuint (stats.n_skipped, ==, 0);

  /* Blank lines are not garbage. */
  blank = parse_text ("\n\n   \r\n\t\n", &stats);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (blank)), ==, 0);
  g_assert_cmpuint (stats.n_skipped, ==, 0);
}

static void
test_malformed (void)
{
  static const gchar text[]
      = "hello\n"
        "{\n"
        "[1,2,3]\n"
        "\"a string\"\n"
        "{\"Repository\":\"no-id\",\"Tag\":\"x\"}\n"
        "{\"ID\":5,\"Repository\":\"numeric-id\"}\n"
        "{\"ID\":\"\",\"Repository\":\"empty-id\"}\n"
        "{\"ID\":\"deep\",\"x\":[[[[[[[[[[[[1]]]]]]]]]]]]}\n"
        "{\"ID\":\"bad-utf8-\xff\xfe\"}\n"
        "{\"ID\":\"good-1\",\"Repository\":\"one\",\"Tag\":\"1\",\"Size\":\"N/A\"}\r\n"
        "{\"ID\":\"trailing\"} garbage\n"
        "{\"ID\":\"good-2\",\"Repository\":\"two\",\"Tag\":\"2\",\"Size\":42,\"CreatedAt\":"
        "\"yesterday\"}";
  BerthImageListStats stats;
  g_autoptr (JsonNode) list = parse_text (text, &stats);
  JsonObject *image;

  g_assert_cmpuint (stats.n_images, ==, 2);
  g_assert_cmpuint (stats.n_skipped, ==, 10);
  assert_image (image_at (list, 0), "good-1", "one", "1");
  assert_image (image_at (list, 1), "good-2", "two", "2");

  /* What is not a size is null, a number is taken as bytes, and a time
   * that is not Go's is kept as the CLI wrote it. */
  image = image_at (list, 0);
  g_assert_true (json_object_get_null_member (image, "size"));
  g_assert_true (json_object_get_null_member (image, "created"));
  image = image_at (list, 1);
  g_assert_cmpint (json_object_get_int_member (image, "size"), ==, 42);
  g_assert_cmpstr (json_object_get_string_member (image, "created"), ==, "yesterday");
}

static void
test_nul_in_line (void)
{
  static const gchar text[] = "{\"ID\":\"a\0b\"}\n{\"ID\":\"ok\"}\n";
  BerthImageListStats stats;
  g_autoptr (JsonNode) list = berth_image_list_parse (text, sizeof text - 1, NULL, &stats);

  g_assert_cmpuint (stats.n_images, ==, 1);
  g_assert_cmpuint (stats.n_skipped, ==, 1);
  assert_image (image_at (list, 0), "ok", "<none>", "<none>");
}

static void
test_huge_line (void)
{
  g_autoptr (GString) text = g_string_new ("{\"ID\":\"long\",\"Repository\":\"");
  BerthImageListStats stats;
  g_autoptr (JsonNode) list = NULL;
  g_autofree gchar *no_newline = NULL;
  g_autoptr (JsonNode) list2 = NULL;

  for (gsize i = 0; i < BERTH_IMAGE_LIST_MAX_LINE; i++)
    g_string_append_c (text, 'a');
  g_string_append (text, "\"}\n{\"ID\":\"short\"}\n");
  list = berth_image_list_parse (text->str, text->len, NULL, &stats);
  g_assert_cmpuint (stats.n_images, ==, 1);
  g_assert_cmpuint (stats.n_skipped, ==, 1);
  assert_image (image_at (list, 0), "short", "<none>", "<none>");

  /* Megabytes without a newline are one line, and no image. */
  no_newline = g_strnfill (4 * 1024 * 1024, '[');
  list2 = parse_text (no_newline, &stats);
  g_assert_cmpuint (stats.n_images, ==, 0);
  g_assert_cmpuint (stats.n_skipped, ==, 1);
}

static void
test_too_many (void)
{
  g_autoptr (GString) text = g_string_new (NULL);
  BerthImageListStats stats;
  g_autoptr (JsonNode) list = NULL;

  for (guint i = 0; i < BERTH_IMAGE_LIST_MAX_IMAGES + 5; i++)
    g_string_append_printf (text, "{\"ID\":\"%012x\",\"Repository\":\"r%u\",\"Tag\":\"t\"}\n", i,
                            i);
  list = berth_image_list_parse (text->str, text->len, NULL, &stats);
  g_assert_cmpuint (stats.n_images, ==, BERTH_IMAGE_LIST_MAX_IMAGES);
  g_assert_cmpuint (stats.n_dropped, ==, 5);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==,
                    BERTH_IMAGE_LIST_MAX_IMAGES);
}

/* ---- equality ----------------------------------------------------------- */

static void
test_equal (void)
{
  const gchar *a = "{\"ID\":\"1\",\"Repository\":\"a\",\"Tag\":\"x\",\"Size\":\"1kB\"}\n"
                   "{\"ID\":\"2\",\"Repository\":\"b\",\"Tag\":\"y\",\"Size\":\"2kB\"}\n";
  const gchar *reordered = "{\"Size\":\"2kB\",\"Tag\":\"y\",\"Repository\":\"b\",\"ID\":\"2\"}\n"
                           "\n"
                           "{\"ID\":\"1\",\"Repository\":\"a\",\"Tag\":\"x\",\"Size\":\"1kB\"}\n";
  const gchar *resized = "{\"ID\":\"1\",\"Repository\":\"a\",\"Tag\":\"x\",\"Size\":\"1kB\"}\n"
                         "{\"ID\":\"2\",\"Repository\":\"b\",\"Tag\":\"y\",\"Size\":\"3kB\"}\n";
  const gchar *retagged = "{\"ID\":\"1\",\"Repository\":\"a\",\"Tag\":\"x\",\"Size\":\"1kB\"}\n"
                          "{\"ID\":\"2\",\"Repository\":\"b\",\"Tag\":\"z\",\"Size\":\"2kB\"}\n";
  g_autoptr (JsonNode) la = parse_text (a, NULL);
  g_autoptr (JsonNode) lr = parse_text (reordered, NULL);
  g_autoptr (JsonNode) ls = parse_text (resized, NULL);
  g_autoptr (JsonNode) lt = parse_text (retagged, NULL);
  g_autoptr (JsonNode) empty = parse_text ("", NULL);

  g_assert_true (berth_image_list_equal (la, lr));
  g_assert_false (berth_image_list_equal (la, ls));
  g_assert_false (berth_image_list_equal (la, lt));
  g_assert_false (berth_image_list_equal (la, empty));
  g_assert_false (berth_image_list_equal (NULL, empty));
  g_assert_true (berth_image_list_equal (NULL, NULL));
}

/* ---- sizes and times ---------------------------------------------------- */

static void
test_sizes (void)
{
  const struct
  {
    const gchar *text;
    gboolean ok;
    guint64 bytes;
  } cases[] = {
    { "0B", TRUE, 0 },
    { "527B", TRUE, 527 },
    { "13.3kB", TRUE, 13300 },
    { "688.1kB", TRUE, 688100 },
    { "4.26MB", TRUE, 4260000 },
    { "87.58MB", TRUE, 87580000 },
    { "2.35GB", TRUE, 2350000000 },
    { "1.5TB", TRUE, 1500000000000 },
    /* containerd's progress.Bytes, as nerdctl 1.x prints it. */
    { "0.0 B", TRUE, 0 },
    { "672.0 KiB", TRUE, 688128 },
    { "5.6 MiB", TRUE, 5872026 },
    { "1.0 GiB", TRUE, 1073741824 },
    { "N/A", FALSE, 0 },
    { "", FALSE, 0 },
    { "MB", FALSE, 0 },
    { "-1MB", FALSE, 0 },
    { "1e3MB", FALSE, 0 },
    { "12XB", FALSE, 0 },
    { "12 mb", FALSE, 0 },
    { "1.2.3MB", FALSE, 0 },
    { "12  MB", FALSE, 0 },
    { "99999999999EB", FALSE, 0 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint64 bytes = 1;
      gboolean ok = berth_image_size_parse (cases[i].text, &bytes);

      g_test_message ("size \"%s\"", cases[i].text);
      g_assert_cmpint (ok, ==, cases[i].ok);
      g_assert_cmpuint (bytes, ==, cases[i].bytes);
    }
}

static void
test_created (void)
{
  const struct
  {
    const gchar *text;
    const gchar *iso;
  } cases[] = {
    { "2023-05-22 19:21:08 +0000 UTC", "2023-05-22T19:21:08Z" },
    { "2023-05-23 04:21:08 +0900 JST", "2023-05-22T19:21:08Z" },
    { "2024-05-10 08:00:01 +0200 CEST", "2024-05-10T06:00:01Z" },
    { "2021-08-07 02:19:45 -0430", "2021-08-07T06:49:45Z" },
    { "2021-08-07 02:19:45.123456789 +0000 UTC", "2021-08-07T02:19:45Z" },
    { "2021-02-30 02:19:45 +0000 UTC", NULL },
    { "2021-08-07T02:19:45Z", NULL },
    { "3 years ago", NULL },
    { "2021-08-07 02:19:45 +2500 XXX", NULL },
    { "", NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *iso = berth_image_created_to_iso8601 (cases[i].text);

      g_test_message ("created \"%s\"", cases[i].text);
      g_assert_cmpstr (iso, ==, cases[i].iso);
    }
}

/* ---- checks ------------------------------------------------------------- */

static void
test_ref_check (void)
{
  const gchar *good[] = {
    "busybox",
    "busybox:latest",
    "registry.example.test/library/busybox:1.36",
    "localhost:5000/berth/test-app:v1.2.3",
    "busybox@sha256:f85340bf132ae937d2c2a763b8335c9bab35d6e8293f70f606b9c6178d84f42b",
    "8135583d97fe",
  };
  g_autoptr (GError) error = NULL;
  g_autofree gchar *too_long = g_strnfill (513, 'a');

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      berth_image_ref_check (good[i], "The image", &error);
      g_assert_no_error (error);
    }

  g_assert_false (berth_image_ref_check ("-rf", "The image to remove", &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_assert_cmpstr (error->message, ==,
                   "The image to remove \"-rf\" starts with '-'; an image reference starts with "
                   "a letter or a digit");
  g_clear_error (&error);

  g_assert_false (berth_image_ref_check ("busy box", "The image to pull", &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "\"busy box\" has a character an image reference "
                                            "cannot have (byte 5)"));
  g_clear_error (&error);

  g_assert_false (berth_image_ref_check ("a\nb", "The image", &error));
  g_assert_nonnull (strstr (error->message, "\"a\\nb\""));
  g_clear_error (&error);

  g_assert_false (berth_image_ref_check ("", "The image to pull", &error));
  g_assert_cmpstr (error->message, ==,
                   "The image to pull is empty; give an image reference such as busybox:latest");
  g_clear_error (&error);

  g_assert_false (berth_image_ref_check (too_long, "The image", &error));
  g_assert_nonnull (
      strstr (error->message, "is 513 bytes long; an image reference has at most 512"));
}

static void
test_namespace_check (void)
{
  const gchar *good[] = { "default", "k8s.io", "moby", "a-b_c.d", "x1" };
  const gchar *bad[] = { "", "-x", "x-", "a..b", "a b", "k8s.io/", "ns;rm", "Ünicode" };
  g_autoptr (GError) error = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      berth_image_namespace_check (good[i], &error);
      g_assert_no_error (error);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_test_message ("namespace \"%s\"", bad[i]);
      g_assert_false (berth_image_namespace_check (bad[i], &error));
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
      g_assert_nonnull (strstr (error->message, "is not a containerd namespace"));
      g_clear_error (&error);
    }
}

static void
test_context_check (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *dir = g_dir_make_tmp ("berth-context-XXXXXX", &error);
  g_autofree gchar *missing = g_build_filename (dir, "missing", NULL);

  g_assert_no_error (error);
  g_assert_true (berth_image_context_check (dir, &error));
  g_assert_false (berth_image_context_check ("relative/dir", &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "\"relative/dir\" is not an absolute path"));
  g_clear_error (&error);
  g_assert_false (berth_image_context_check (missing, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "is not a directory"));
  g_rmdir (dir);
}

/* ---- command results ---------------------------------------------------- */

static BerthSubprocessResult *
fake_result (gint status, const gchar *out, const gchar *err)
{
  BerthSubprocessResult *result = g_new0 (BerthSubprocessResult, 1);

  result->exit_status = status;
  result->stdout_bytes = g_bytes_new (out, strlen (out));
  result->stderr_bytes = g_bytes_new (err, strlen (err));
  return result;
}

static void
test_cli_check (void)
{
  const gchar *argv[] = { "/usr/local/bin/docker", "--host", "unix:///x/docker.sock", "rmi",
                          "missing:latest",        NULL };
  g_autoptr (BerthSubprocessResult) ok = fake_result (0, "Untagged: a\n", "");
  g_autoptr (BerthSubprocessResult) missing
      = fake_result (1, "", "Error response from daemon: No such image: missing:latest\n");
  g_autoptr (BerthSubprocessResult) down = fake_result (
      1, "",
      "Cannot connect to the Docker daemon at unix:///x/docker.sock. Is the docker daemon "
      "running?\n");
  g_autoptr (BerthSubprocessResult) silent = fake_result (2, "", "");
  g_autoptr (BerthSubprocessResult) many = fake_result (1, "", "one\ntwo\n\nthree\nfour\n");
  g_autoptr (GError) error = NULL;

  g_assert_true (berth_image_cli_check (argv, ok, &error));
  g_assert_no_error (error);

  g_assert_false (berth_image_cli_check (argv, missing, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==,
                   "`docker --host unix:///x/docker.sock rmi missing:latest` failed with exit "
                   "status 1: Error response from daemon: No such image: missing:latest");
  g_clear_error (&error);

  g_assert_false (berth_image_cli_check (argv, down, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND);
  g_clear_error (&error);

  g_assert_false (berth_image_cli_check (argv, silent, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_FAILED);
  g_assert_true (
      g_str_has_suffix (error->message, "failed with exit status 2 and printed nothing"));
  g_clear_error (&error);

  /* The last three lines that say something. */
  g_assert_false (berth_image_cli_check (argv, many, &error));
  g_assert_true (g_str_has_suffix (error->message, ": two / three / four"));
}

static void
test_cli_output (void)
{
  g_autoptr (BerthSubprocessResult) both = fake_result (0, "pulled", "a warning\n");
  g_autoptr (BerthSubprocessResult) invalid = fake_result (0, "caf\xc3\xa9 \xff\n", "");
  g_autoptr (BerthSubprocessResult) huge = NULL;
  g_autofree gchar *text = berth_image_cli_output (both);
  g_autofree gchar *valid = berth_image_cli_output (invalid);
  g_autofree gchar *big = g_strnfill (300 * 1024, 'x');
  g_autofree gchar *tail = NULL;

  g_assert_cmpstr (text, ==, "pulled\na warning\n");
  g_assert_true (g_utf8_validate (valid, -1, NULL));
  g_assert_true (g_str_has_prefix (valid, "caf\xc3\xa9 "));

  huge = fake_result (0, big, "");
  tail = berth_image_cli_output (huge);
  g_assert_true (g_str_has_prefix (tail, "…\n"));
  g_assert_cmpuint (strlen (tail), <=, 256 * 1024 + strlen ("…\n"));
}

static void
test_scan_report (void)
{
  const gchar *report = "{\"SchemaVersion\":2,\"Results\":[]}";
  g_autofree gchar *deep = g_strnfill (100, '[');
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node
      = berth_image_scan_report_parse (report, strlen (report), "trivy", &error);

  g_assert_no_error (error);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (node), "SchemaVersion"), ==,
                   2);
  g_assert_null (berth_image_scan_report_parse (deep, strlen (deep), "trivy", &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "trivy printed JSON nested more than 64 levels deep"));
  g_clear_error (&error);
  g_assert_null (berth_image_scan_report_parse ("FATAL no db", 11, "trivy", &error));
  g_assert_nonnull (strstr (error->message, "trivy printed something that is not a JSON report"));
  g_clear_error (&error);
  g_assert_null (berth_image_scan_report_parse ("", 0, "trivy", &error));
  g_assert_cmpstr (error->message, ==, "trivy printed nothing where a JSON report was expected");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/image-list/docker-recorded", test_docker_recorded);
  g_test_add_func ("/image-list/namespace-member", test_namespace_member);
  g_test_add_func ("/image-list/empty", test_empty);
  g_test_add_func ("/image-list/malformed", test_malformed);
  g_test_add_func ("/image-list/nul-in-line", test_nul_in_line);
  g_test_add_func ("/image-list/huge-line", test_huge_line);
  g_test_add_func ("/image-list/too-many", test_too_many);
  g_test_add_func ("/image-list/equal", test_equal);
  g_test_add_func ("/image-list/sizes", test_sizes);
  g_test_add_func ("/image-list/created", test_created);
  g_test_add_func ("/image-list/ref-check", test_ref_check);
  g_test_add_func ("/image-list/namespace-check", test_namespace_check);
  g_test_add_func ("/image-list/context-check", test_context_check);
  g_test_add_func ("/image-list/cli-check", test_cli_check);
  g_test_add_func ("/image-list/cli-output", test_cli_output);
  g_test_add_func ("/image-list/scan-report", test_scan_report);
  return g_test_run ();
}
