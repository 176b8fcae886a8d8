/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The image list parser and the checks image processors share
 * (core/berth-image-list.c): docker's recorded `images --digests --format
 * '{{json .}}'` output, empty, malformed and huge input, sizes and times as
 * the CLIs print them, references and namespaces, and what a failed command
 * turns into. The fast scanner is checked against json-glib, which reads
 * every line it is not sure of: both must give the same list, to the byte,
 * for escapes, unicode, members in any order or written twice, extra
 * members, whitespace, truncated and huge lines, and the fuzz corpus. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include <berth.h>

#include "berth-image-list-private.h"

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

/* ---- the fast scanner against json-glib ---------------------------------- */

/* Parses @len bytes of @text with the fast scanner and with json-glib for
 * every line, checks that both give the same counts and the same list to
 * the byte (members, their order, their values), and returns how many lines
 * the scanner left to json-glib. *@list_out (nullable) gets the list. */
static guint
parse_both_ways (const gchar *text, gsize len, const gchar *ns, JsonNode **list_out)
{
  BerthImageListStats fast_stats, slow_stats;
  guint n_json_glib = G_MAXUINT, n_slow = 0;
  g_autoptr (JsonNode) fast = berth_image_list_parse_with_flags (
      text, len, ns, BERTH_IMAGE_LIST_PARSE_DEFAULT, &fast_stats, &n_json_glib);
  g_autoptr (JsonNode) slow = berth_image_list_parse_with_flags (
      text, len, ns, BERTH_IMAGE_LIST_PARSE_JSON_GLIB_ONLY, &slow_stats, &n_slow);
  g_autofree gchar *fast_text = json_to_string (fast, FALSE);
  g_autofree gchar *slow_text = json_to_string (slow, FALSE);

  g_assert_cmpstr (fast_text, ==, slow_text);
  g_assert_true (berth_image_list_equal (fast, slow));
  g_assert_cmpuint (fast_stats.n_images, ==, slow_stats.n_images);
  g_assert_cmpuint (fast_stats.n_skipped, ==, slow_stats.n_skipped);
  g_assert_cmpuint (fast_stats.n_dropped, ==, slow_stats.n_dropped);
  g_assert_cmpuint (n_json_glib, <=, n_slow);
  if (list_out != NULL)
    *list_out = g_steal_pointer (&fast);
  return n_json_glib;
}

/* A single line that the scanner must read itself: the image it makes, the
 * same as json-glib's. */
static JsonObject *
scan_image (const gchar *line)
{
  gboolean skipped = TRUE;
  JsonObject *image = berth_image_list_scan_line (line, strlen (line), NULL, &skipped);
  g_autofree gchar *shown = g_strescape (line, NULL);

  g_test_message ("line %s", shown);
  g_assert_nonnull (image);
  g_assert_false (skipped);
  g_assert_cmpuint (parse_both_ways (line, strlen (line), NULL, NULL), ==, 0);
  return image;
}

/* A single line the scanner must leave to json-glib. */
static void
assert_not_sure (const gchar *line, gsize len)
{
  gboolean skipped = TRUE;
  g_autoptr (JsonObject) image = berth_image_list_scan_line (line, len, NULL, &skipped);
  g_autofree gchar *shown = g_strescape (line, NULL);

  g_test_message ("line %s", shown);
  g_assert_null (image);
  g_assert_false (skipped);
  g_assert_cmpuint (parse_both_ways (line, len, NULL, NULL), ==, 1);
}

static void
test_scan_escapes (void)
{
  g_autoptr (JsonObject) image
      = scan_image ("{\"ID\":\"esc\",\"Repository\":\"a\\\"b\\\\c\\/"
                    "d\\be\\ff\\ng\\rh\\ti\",\"Tag\":\"\\u003cnone\\u003e\"}");

  g_assert_cmpstr (json_object_get_string_member (image, "repository"), ==,
                   "a\"b\\c/d\be\ff\ng\rh\ti");
  /* docker writes < and > as \u003c and \u003e: "<none>" is still none. */
  g_assert_cmpstr (json_object_get_string_member (image, "tag"), ==, "<none>");
}

static void
test_scan_unicode (void)
{
  g_autoptr (JsonObject) image = scan_image (
      "{\"ID\":\"u\",\"Repository\":\"caf\xc3\xa9/\\u00e9\\u00C9\\u4e2d\\u20ac\",\"Tag\":"
      "\"\\ud83d\\ude00\\uD834\\uDD1E\\udbff\\udfff\",\"Platform\":\"\xf0\x9f\x90\xb3\"}");

  g_assert_cmpstr (json_object_get_string_member (image, "repository"), ==,
                   "caf\xc3\xa9/\xc3\xa9\xc3\x89\xe4\xb8\xad\xe2\x82\xac");
  /* Surrogate pairs are one character each: U+1F600, U+1D11E, U+10FFFF. */
  g_assert_cmpstr (json_object_get_string_member (image, "tag"), ==,
                   "\xf0\x9f\x98\x80\xf0\x9d\x84\x9e\xf4\x8f\xbf\xbf");
  g_assert_cmpstr (json_object_get_string_member (image, "platform"), ==, "\xf0\x9f\x90\xb3");
}

static void
test_scan_not_sure (void)
{
  const gchar *lines[] = {
    /* What json-glib does its own way: lone or broken surrogates, NUL,
     * escapes JSON does not have, short \u, raw control characters. */
    "{\"ID\":\"x\",\"Tag\":\"\\ud800\"}",
    "{\"ID\":\"x\",\"Tag\":\"\\ud800x\"}",
    "{\"ID\":\"x\",\"Tag\":\"\\udc00\"}",
    "{\"ID\":\"x\",\"Tag\":\"\\ud800\\u0041\"}",
    "{\"ID\":\"x\",\"Tag\":\"\\ud800\\ud800\"}",
    "{\"ID\":\"x\",\"Tag\":\"a\\u0000b\"}",
    "{\"ID\":\"x\",\"Tag\":\"\\a\"}",
    "{\"ID\":\"x\",\"Tag\":\"\\u12\"}",
    "{\"ID\":\"x\",\"Tag\":\"\\u12g4\"}",
    "{\"ID\":\"x\",\"Tag\":\"\\U0041\"}",
    "{\"ID\":\"x\",\"Tag\":\"a\tb\"}",
    "{\"ID\":\"x\",\"Tag\":\"\x01\"}",
    /* Not UTF-8 in a kept member. */
    "{\"ID\":\"x\",\"Tag\":\"\xff\"}",
    "{\"ID\":\"x\",\"Tag\":\"\xed\xa0\x80\"}",
    /* Values that are not strings, plain integers, true, false or null. */
    "{\"ID\":{\"a\":1}}",
    "{\"ID\":\"x\",\"Tag\":[\"a\"]}",
    "{\"ID\":\"x\",\"Size\":1.5}",
    "{\"ID\":\"x\",\"Size\":1e3}",
    "{\"ID\":\"x\",\"Size\":01}",
    "{\"ID\":\"x\",\"Size\":-0}",
    "{\"ID\":\"x\",\"Size\":9223372036854775808}",
    "{\"ID\":\"x\",\"Size\":True}",
    "{\"ID\":\"x\",\"Size\":nul}",
    /* Not an object of the right shape. */
    "[1,2]",
    "{\"ID\":\"x\"} trailing",
    "{\"ID\" \"x\"}",
    /* A bad value written first and overwritten still counts. */
    "{\"ID\":\"x\",\"Tag\":\"\\ud800\",\"Tag\":\"ok\"}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (lines); i++)
    assert_not_sure (lines[i], strlen (lines[i]));
  /* A NUL byte never reaches either: the line is skipped first. */
  g_assert_cmpuint (parse_both_ways ("{\"ID\":\"a\0\"}", 10, NULL, NULL), ==, 0);
}

static GStrv
member_names (JsonObject *image)
{
  g_autoptr (GList) members = json_object_get_members (image);
  g_autoptr (GStrvBuilder) names = g_strv_builder_new ();

  for (GList *l = members; l != NULL; l = l->next)
    g_strv_builder_add (names, l->data);
  return g_strv_builder_end (names);
}

static void
test_scan_member_order (void)
{
  const gchar *in_order = "{\"ID\":\"i\",\"Repository\":\"r\",\"Tag\":\"t\",\"Size\":\"1kB\"}";
  const gchar *reversed = "{\"Size\":\"1kB\",\"Tag\":\"t\",\"Repository\":\"r\",\"ID\":\"i\"}";
  const gchar *const expected_in_order[]
      = { "id", "repository", "tag", "size", "digest", "created", NULL };
  const gchar *const expected_reversed[]
      = { "size", "tag", "repository", "id", "digest", "created", NULL };
  g_autoptr (JsonObject) a = scan_image (in_order);
  g_autoptr (JsonObject) b = scan_image (reversed);
  g_auto (GStrv) names_a = member_names (a);
  g_auto (GStrv) names_b = member_names (b);
  g_autoptr (JsonNode) node_a = json_node_init_object (json_node_alloc (), a);
  g_autoptr (JsonNode) node_b = json_node_init_object (json_node_alloc (), b);
  g_autoptr (JsonNode) list = NULL;
  g_autofree gchar *both = g_strconcat (in_order, "\n", reversed, "\n", NULL);

  /* Members the CLI wrote keep its order (as json-glib keeps them), the
   * ones Berth adds come after: the same values either way. */
  g_assert_cmpstrv (names_a, expected_in_order);
  g_assert_cmpstrv (names_b, expected_reversed);
  g_assert_true (json_node_equal (node_a, node_b));
  g_assert_cmpuint (parse_both_ways (both, strlen (both), "k8s.io", &list), ==, 0);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 2);
}

static void
test_scan_duplicates (void)
{
  g_autoptr (JsonObject) image
      = scan_image ("{\"ID\":\"a\",\"Tag\":\"t1\",\"ID\":\"b\",\"Repository\":\"r\",\"Tag\":\"t2\","
                    "\"Digest\":\"sha256:1\",\"Digest\":null,\"Size\":\"1kB\",\"Size\":7}");
  g_autoptr (JsonObject) emptied
      = scan_image ("{\"ID\":\"x\",\"Platform\":\"linux/arm64\",\"Platform\":\"\"}");
  g_auto (GStrv) names = member_names (image);
  const gchar *const expected[] = { "id", "tag", "repository", "digest", "size", "created", NULL };
  const gchar *emptied_id = "{\"ID\":\"a\",\"ID\":\"\"}";
  gboolean skipped = FALSE;
  g_autoptr (JsonObject) none = NULL;

  /* json-glib keeps the last value, in the place of the first. */
  g_assert_cmpstr (json_object_get_string_member (image, "id"), ==, "b");
  g_assert_cmpstr (json_object_get_string_member (image, "tag"), ==, "t2");
  g_assert_true (json_object_get_null_member (image, "digest"));
  g_assert_cmpint (json_object_get_int_member (image, "size"), ==, 7);
  g_assert_cmpstrv (names, expected);
  g_assert_false (json_object_has_member (emptied, "platform"));

  /* An ID emptied by a later one: no image, and the scanner says so. */
  none = berth_image_list_scan_line (emptied_id, strlen (emptied_id), NULL, &skipped);
  g_assert_null (none);
  g_assert_true (skipped);
  g_assert_cmpuint (parse_both_ways (emptied_id, strlen (emptied_id), NULL, NULL), ==, 0);
}

static void
test_scan_extra_members (void)
{
  const gchar *line
      = "{\"Containers\":\"N/A\",\"Labels\":{\"a\":[1,{\"b\":\"}\"}],\"c\":null},\"ID\":\"x\","
        "\"VirtualSize\":\"\\ud800 not kept\",\"Name\":\"\xff\xfe\",\"Count\":1.5e3,\"Flag\":true,"
        "\"Empty\":{},\"List\":[],\"Tag\":\"t\",\"X\":-,\"I\\u0044\":\"escaped key\"}";
  g_autoptr (JsonObject) image = scan_image (line);

  /* Members Berth drops are never read: what they hold does not matter,
   * and a key written with escapes is not the member it spells. */
  g_assert_cmpstr (json_object_get_string_member (image, "id"), ==, "x");
  g_assert_cmpstr (json_object_get_string_member (image, "tag"), ==, "t");
  g_assert_cmpuint (json_object_get_size (image), ==, 6);
}

static void
test_scan_whitespace (void)
{
  g_autoptr (JsonObject) spaced
      = scan_image (" \t{ \"ID\" :\t\"x\" ,\r\"Tag\"\t:  \"t\"  , \"Size\" : 42 }\t ");
  g_autoptr (JsonObject) empty = NULL;
  const gchar *crlf = "{\"ID\":\"a\"}\r\n\r\n  {\"ID\":\"b\",\"Tag\":\"t\"}  \r\n";
  g_autoptr (JsonNode) list = NULL;
  gboolean skipped = FALSE;

  g_assert_cmpstr (json_object_get_string_member (spaced, "tag"), ==, "t");
  g_assert_cmpint (json_object_get_int_member (spaced, "size"), ==, 42);
  g_assert_cmpuint (parse_both_ways (crlf, strlen (crlf), NULL, &list), ==, 0);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 2);
  empty = berth_image_list_scan_line ("{ }", 3, NULL, &skipped);
  g_assert_null (empty);
  g_assert_true (skipped);
}

static void
test_scan_literals (void)
{
  g_autoptr (JsonObject) numbers
      = scan_image ("{\"ID\":\"n\",\"Size\":123456789012345678,\"Tag\":0,\"Digest\":\"<none>\"}");
  g_autoptr (JsonObject) negative = scan_image (
      "{\"ID\":\"m\",\"Size\":-5,\"CreatedAt\":true,\"Platform\":false,\"Tag\":null}");
  g_autoptr (JsonObject) times = scan_image (
      "{\"ID\":\"t\",\"Size\":\"5.6 MiB\",\"CreatedAt\":\"2024-05-10 08:00:01 +0200 CEST\"}");

  g_assert_cmpint (json_object_get_int_member (numbers, "size"), ==, 123456789012345678);
  g_assert_cmpstr (json_object_get_string_member (numbers, "tag"), ==, "<none>");
  g_assert_true (json_object_get_null_member (numbers, "digest"));
  g_assert_true (json_object_get_null_member (negative, "size"));
  g_assert_true (json_object_get_null_member (negative, "created"));
  g_assert_false (json_object_has_member (negative, "platform"));
  g_assert_cmpint (json_object_get_int_member (times, "size"), ==, 5872026);
  g_assert_cmpstr (json_object_get_string_member (times, "created"), ==, "2024-05-10T06:00:01Z");
}

static void
test_scan_sizes_out_of_range (void)
{
  /* Sizes too big for the result are null, but still sort the images the
   * way json-glib's path sorts them: the members come out in the same
   * order. */
  const gchar *text = "{\"Size\":\"11EB\",\"ID\":\"x\"}\n"
                      "{\"ID\":\"x\",\"Size\":\"10EB\"}\n"
                      "{\"Tag\":\"t\",\"ID\":\"x\",\"Size\":-1}\n";
  g_autoptr (JsonNode) list = NULL;

  g_assert_cmpuint (parse_both_ways (text, strlen (text), NULL, &list), ==, 0);
  g_assert_true (json_object_get_null_member (image_at (list, 0), "size"));
  g_assert_true (json_object_get_null_member (image_at (list, 1), "size"));
}

static void
test_scan_truncated (void)
{
  gsize len = 0;
  g_autofree gchar *text = read_fixture ("docker-images.jsonl", &len);
  const gchar *newline = memchr (text, '\n', len);
  gsize line_len = (gsize)(newline - text);

  /* Every cut of a real line: the same verdict both ways, and only the
   * whole line is an image. */
  for (gsize cut = 1; cut <= line_len; cut++)
    {
      BerthImageListStats stats;
      g_autoptr (JsonNode) list = NULL;

      parse_both_ways (text, cut, NULL, &list);
      berth_image_list_parse (text, cut, NULL, &stats);
      g_assert_cmpuint (stats.n_images, ==, cut == line_len ? 1 : 0);
      g_assert_cmpuint (stats.n_skipped, ==, cut == line_len ? 0 : 1);
    }
}

static void
test_scan_huge (void)
{
  g_autoptr (GString) line = g_string_new ("{\"ID\":\"huge\",\"Repository\":\"");
  g_autoptr (GString) over = NULL;
  g_autoptr (JsonNode) list = NULL;
  JsonObject *image;
  const gchar *repository;

  /* Just under the line limit, with an escape every so often. */
  while (line->len < BERTH_IMAGE_LIST_MAX_LINE - 64)
    g_string_append (line, "abcdefghijklmnopqrstuvwxyz\\u00e9\\ud83d\\ude00/");
  g_string_append (line, "\",\"Tag\":\"t\"}");
  g_assert_cmpuint (line->len, <=, BERTH_IMAGE_LIST_MAX_LINE);
  g_assert_cmpuint (parse_both_ways (line->str, line->len, NULL, &list), ==, 0);
  image = image_at (list, 0);
  repository = json_object_get_string_member (image, "repository");
  g_assert_true (
      g_str_has_prefix (repository, "abcdefghijklmnopqrstuvwxyz\xc3\xa9\xf0\x9f\x98\x80/"));
  g_assert_true (g_utf8_validate (repository, -1, NULL));

  /* Past the limit, it is skipped whichever way. */
  over = g_string_new (line->str);
  g_string_insert (over, 30,
                   "abcdefghijklmnopqrstuvwxyz\\u00e9\\ud83d\\ude00/abcdefghijklmnopqrstuvwxyz");
  g_assert_cmpuint (over->len, >, BERTH_IMAGE_LIST_MAX_LINE);
  g_assert_cmpuint (parse_both_ways (over->str, over->len, NULL, NULL), ==, 0);
  g_clear_pointer (&list, json_node_unref);
  list = berth_image_list_parse (over->str, over->len, NULL, NULL);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 0);
}

static void
test_scan_recorded (void)
{
  const gchar *const fixtures[] = { "docker-images.jsonl", "docker-images-changed.jsonl" };

  /* What docker prints never needs json-glib. */
  for (gsize i = 0; i < G_N_ELEMENTS (fixtures); i++)
    {
      gsize len = 0;
      g_autofree gchar *text = read_fixture (fixtures[i], &len);

      g_assert_cmpuint (parse_both_ways (text, len, NULL, NULL), ==, 0);
      g_assert_cmpuint (parse_both_ways (text, len, "default", NULL), ==, 0);
    }
}

/* Every input the fuzz target keeps in its corpus, both ways. */
static void
test_fuzz_corpus (void)
{
  g_autofree gchar *dir_path = g_test_build_filename (G_TEST_DIST, "..", "..", "..", "tests",
                                                      "fuzz", "corpus", "image-list", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, &error);
  const gchar *name;
  guint n_inputs = 0;

  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *path = g_build_filename (dir_path, name, NULL);
      g_autofree gchar *data = NULL;
      gsize len = 0;

      g_test_message ("corpus input %s", name);
      g_file_get_contents (path, &data, &len, &error);
      g_assert_no_error (error);
      parse_both_ways (data, len, NULL, NULL);
      parse_both_ways (data, len, "k8s.io", NULL);
      n_inputs++;
    }
  g_assert_cmpuint (n_inputs, >=, 7);
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
  static const gchar *const not_json[] = {
    "{\"SchemaVersion\": 02}",
    "{\"Results\": [{\"Target\": \"x\", \"Vulnerabilities\": [{\"ID\": 1}, }",
    "{\"SchemaVersion\": 2} trailing",
  };
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
  /* JSON and nothing wider, nor a document cut short (json-glib leaked
   * what it had read of one). */
  for (gsize i = 0; i < G_N_ELEMENTS (not_json); i++)
    {
      g_assert_null (
          berth_image_scan_report_parse (not_json[i], strlen (not_json[i]), "trivy", &error));
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
      g_assert_nonnull (strstr (error->message,
                                "trivy printed something that is not a JSON report: "
                                "the report is not valid JSON"));
      g_clear_error (&error);
    }
  g_assert_null (berth_image_scan_report_parse ("", 0, "trivy", &error));
  g_assert_cmpstr (error->message, ==, "trivy printed nothing where a JSON report was expected");
}

/* What images.showAll false hides: Kubernetes' own and buildkit's, and
 * nothing that only looks like them. */
static void
test_system_images (void)
{
  static const gchar lines[]
      = "{\"ID\":\"1\",\"Repository\":\"rancher/mirrored-pause\",\"Tag\":\"3.6\"}\n"
        "{\"ID\":\"2\",\"Repository\":\"moby/buildkit\",\"Tag\":\"v0.12\"}\n"
        "{\"ID\":\"3\",\"Repository\":\"busybox\",\"Tag\":\"latest\"}\n"
        "{\"ID\":\"4\",\"Repository\":\"registry.example/rancher/app\",\"Tag\":\"1\"}\n"
        "{\"ID\":\"5\",\"Repository\":\"moby/buildkit-extra\",\"Tag\":\"1\"}\n";
  g_autoptr (JsonNode) all = berth_image_list_parse (lines, strlen (lines), NULL, NULL);
  g_autoptr (JsonNode) shown = berth_image_list_without_system_images (all);
  JsonArray *array = json_node_get_array (shown);

  g_assert_cmpuint (json_array_get_length (json_node_get_array (all)), ==, 5);
  g_assert_cmpuint (json_array_get_length (array), ==, 3);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      const gchar *repository
          = json_object_get_string_member (json_array_get_object_element (array, i), "repository");

      g_assert_false (berth_image_list_is_system_image (repository));
      g_assert_cmpstr (repository, !=, "rancher/mirrored-pause");
      g_assert_cmpstr (repository, !=, "moby/buildkit");
    }
  g_assert_true (berth_image_list_is_system_image ("rancher/klipper-helm"));
  g_assert_false (berth_image_list_is_system_image ("rancher"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/image-list/docker-recorded", test_docker_recorded);
  g_test_add_func ("/image-list/system-images", test_system_images);
  g_test_add_func ("/image-list/namespace-member", test_namespace_member);
  g_test_add_func ("/image-list/empty", test_empty);
  g_test_add_func ("/image-list/malformed", test_malformed);
  g_test_add_func ("/image-list/nul-in-line", test_nul_in_line);
  g_test_add_func ("/image-list/huge-line", test_huge_line);
  g_test_add_func ("/image-list/too-many", test_too_many);
  g_test_add_func ("/image-list/scan/escapes", test_scan_escapes);
  g_test_add_func ("/image-list/scan/unicode", test_scan_unicode);
  g_test_add_func ("/image-list/scan/not-sure", test_scan_not_sure);
  g_test_add_func ("/image-list/scan/member-order", test_scan_member_order);
  g_test_add_func ("/image-list/scan/duplicates", test_scan_duplicates);
  g_test_add_func ("/image-list/scan/extra-members", test_scan_extra_members);
  g_test_add_func ("/image-list/scan/whitespace", test_scan_whitespace);
  g_test_add_func ("/image-list/scan/literals", test_scan_literals);
  g_test_add_func ("/image-list/scan/sizes-out-of-range", test_scan_sizes_out_of_range);
  g_test_add_func ("/image-list/scan/truncated", test_scan_truncated);
  g_test_add_func ("/image-list/scan/huge", test_scan_huge);
  g_test_add_func ("/image-list/scan/recorded", test_scan_recorded);
  g_test_add_func ("/image-list/fuzz-corpus", test_fuzz_corpus);
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
