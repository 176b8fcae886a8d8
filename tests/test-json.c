/* SPDX-License-Identifier: GPL-3.0-or-later */
/* berth_json_parse(): RFC 8259 and nothing wider. Each refusal here is
 * something json-glib alone reads as another value. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <berth.h>

static JsonNode *
parse (const gchar *text, GError **error)
{
  return berth_json_parse (text, strlen (text), 8, "the input", error);
}

/* Refused, with a message holding each of @fragments. */
static void
assert_refused (const gchar *text, const gchar *const *fragments)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = parse (text, &error);

  g_assert_null (node);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_test_message ("%s", error->message);
  for (gsize i = 0; fragments[i] != NULL; i++)
    if (strstr (error->message, fragments[i]) == NULL)
      g_error ("message for %s lacks \"%s\": %s", text, fragments[i], error->message);
}

#define REFUSED(text, ...)                                                                         \
  do                                                                                               \
    {                                                                                              \
      const gchar *fragments[] = { __VA_ARGS__, NULL };                                            \
      assert_refused (text, fragments);                                                            \
    }                                                                                              \
  while (0)

/* What json-glib takes and turns into something else. */
static void
test_lenient_forms_refused (void)
{
  REFUSED ("{\"mode\": 06443}", "line 1, column 10", "at mode", "JSON has no octal");
  REFUSED ("{\"n\": 0x1F}", "at n", "0x1F is not a JSON number");
  REFUSED ("{\"kubernetes\": {\"port\": -18446744073709551612}}", "at kubernetes.port",
           "-18446744073709551612 does not fit in a 64-bit integer");
  REFUSED ("{\"n\": 9223372036854775808}", "9223372036854775808 does not fit");
  REFUSED ("{\"n\": 1e999}", "1e999 is too large");
  REFUSED ("{/* comment */ \"a\": 1}", "JSON has no comments");
  REFUSED ("{\"a\": 1} // comment", "follows the JSON value");
  REFUSED ("{\"ns\": \"\\x6b8s.io\"}", "at ns", "not a JSON escape");
  REFUSED ("{\"a\": 'single'}", "expected a value");
  REFUSED ("{a: 1}", "expected a member name in double quotes");
  REFUSED ("{\"a\": 1,}", "expected a member name");
  REFUSED ("[1, 2,]", "at [2]", "expected a value");
  REFUSED ("{\"a\": True}", "True is not a JSON value");
  REFUSED ("{\"a\": nul}", "nul is not a JSON value");
  REFUSED ("{\"a\": .5}", "expected a value");
  REFUSED ("{\"a\": 1.}", "must be followed by digits");
  REFUSED ("{\"a\": +1}", "expected a value");
  REFUSED ("{\"a\": NaN}", "NaN is not a JSON value");
  REFUSED ("{\"a\": 1} {\"b\": 2}", "only one value is allowed");
  REFUSED ("{\"a\": \"x\ty\"}", "control character (U+0009)");
  REFUSED ("{\"a\": \"open", "not closed");
  REFUSED ("{\"a\": 1, \"a\": 2}", "\"a\" is given twice");
  REFUSED ("{\"a\": {\"b\": 1}\n, \"c\": [1, \"\\uD800\"]}", "line 2, column", "at c[1]",
           "surrogate");
  REFUSED ("\xef\xbb\xbf{}", "expected a value, found U+FEFF");
  REFUSED ("{\"a\": \"\xff\"}", "not UTF-8");
  REFUSED ("[[[[[[[[[1]]]]]]]]]", "nests objects or lists more than 8 deep");
}

/* C strings end at NUL: a value holding one would be stored cut short. */
static void
test_nul_refused (void)
{
  static const gchar with_nul[] = "{\"a\": \"k8s\0io\"}";
  g_autoptr (GError) error = NULL;

  REFUSED ("{\"images\": {\"namespace\": \"k8s\\u0000io\"}}", "at images.namespace",
           "\\u0000 (NUL)");
  g_assert_null (berth_json_parse (with_nul, sizeof with_nul - 1, 8, "the input", &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "NUL byte"));
}

/* Valid JSON comes back as written. */
static void
test_valid_read_as_written (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node
      = parse (" {\"s\": \"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\xc3\xa9\", "
               "\"max\": 9223372036854775807, \"min\": -9223372036854775808, \"zero\": -0, "
               "\"d\": 1.5e3, \"e\": 2E-2, \"t\": true, \"f\": false, \"n\": null, "
               "\"list\": [[], {}, [1]], \"\": 0}\r\n",
               &error);
  JsonObject *object;

  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  object = json_node_get_object (node);
  g_assert_cmpstr (json_object_get_string_member (object, "s"), ==,
                   "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80\xc3\xa9");
  g_assert_cmpint (json_object_get_int_member (object, "max"), ==, G_MAXINT64);
  g_assert_cmpint (json_object_get_int_member (object, "min"), ==, G_MININT64);
  g_assert_cmpint (json_object_get_int_member (object, "zero"), ==, 0);
  g_assert_cmpfloat (json_object_get_double_member (object, "d"), ==, 1500.0);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (object, "e"), 0.02, 1e-12);
  g_assert_true (json_object_get_boolean_member (object, "t"));
  g_assert_false (json_object_get_boolean_member (object, "f"));
  g_assert_true (json_object_get_null_member (object, "n"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (object, "list")), ==, 3);
  g_assert_true (json_object_has_member (object, ""));

  /* Any value at the top, as RFC 8259 allows; nesting up to the bound. */
  g_clear_pointer (&node, json_node_unref);
  node = parse ("\"text\"", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_node_get_string (node), ==, "text");
  g_clear_pointer (&node, json_node_unref);
  node = parse ("[[[[[[[[1]]]]]]]]", &error);
  g_assert_no_error (error);
}

static void
test_empty (void)
{
  g_autoptr (GError) error = NULL;

  g_assert_null (parse (" \n\t", &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "the input is empty"));
}

static void
assert_writes (JsonNode *node, gboolean pretty, const gchar *expected)
{
  g_autofree gchar *text = berth_json_to_string (node, pretty);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) again = NULL;

  g_assert_cmpstr (text, ==, expected);
  again = berth_json_parse (text, strlen (text), 8, "what was written", &error);
  g_assert_no_error (error);
  g_assert_true (json_node_equal (again, node));
}

/* What Berth writes reads back as the same values: json-glib 1.6 writes
 * U+001F raw and 1e20 as "1e+20.0", and neither reads back. */
static void
test_write (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node
      = parse ("{\"s\": \"\\u0001\\u001e\\u001f \\u007f\\\"\\\\/\\b\\f\\n\\r\\t\u00e9\", "
               "\"\\u001f\": [1e20, -0.0, 2.0, 0.1, -9223372036854775808, true, null], "
               "\"o\": {}, \"a\": []}",
               &error);
  static const gchar not_utf8[] = { 'a', (gchar)0xff, 'b', '\0' };
  g_autoptr (JsonNode) odd = json_node_init_string (json_node_alloc (), not_utf8);
  g_autoptr (JsonNode) infinite = json_node_init_double (json_node_alloc (), INFINITY);
  g_autofree gchar *text = NULL;

  g_assert_no_error (error);
  assert_writes (node, FALSE,
                 "{\"s\":\"\\u0001\\u001e\\u001f \\u007f\\\"\\\\/\\b\\f\\n\\r\\t\u00e9\","
                 "\"\\u001f\":[1e+20,-0.0,2.0,0.10000000000000001,-9223372036854775808,true,null],"
                 "\"o\":{},\"a\":[]}");
  assert_writes (node, TRUE,
                 "{\n"
                 "  \"s\" : \"\\u0001\\u001e\\u001f \\u007f\\\"\\\\/\\b\\f\\n\\r\\t\u00e9\",\n"
                 "  \"\\u001f\" : [\n"
                 "    1e+20,\n"
                 "    -0.0,\n"
                 "    2.0,\n"
                 "    0.10000000000000001,\n"
                 "    -9223372036854775808,\n"
                 "    true,\n"
                 "    null\n"
                 "  ],\n"
                 "  \"o\" : {},\n"
                 "  \"a\" : []\n"
                 "}");

  /* What JSON cannot hold is written as the nearest thing it can. */
  text = berth_json_to_string (odd, FALSE);
  g_assert_cmpstr (text, ==, "\"a\xef\xbf\xbd\x62\"");
  g_free (text);
  text = berth_json_to_string (infinite, FALSE);
  g_assert_cmpstr (text, ==, "null");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/json/lenient-forms-refused", test_lenient_forms_refused);
  g_test_add_func ("/json/nul-refused", test_nul_refused);
  g_test_add_func ("/json/valid-read-as-written", test_valid_read_as_written);
  g_test_add_func ("/json/empty", test_empty);
  g_test_add_func ("/json/write", test_write);
  return g_test_run ();
}
