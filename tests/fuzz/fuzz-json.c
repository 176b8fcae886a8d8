/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for berth_json_parse() (core/berth-json.c), the reader of
 * settings files, settings updates and API request bodies. The bytes are
 * read by it and by a second reader written apart (fuzz-json-reference.c):
 *
 * - both accept or both refuse: nothing wider than RFC 8259 gets in, and
 *   nothing valid is turned away;
 * - what is accepted is the same tree, node by node: what is stored is what
 *   was sent (06443 is not 3363, "a\u0000b" is not "a", 1 is not 1.0);
 * - the depth bound is exact: the text is read with the depth it has, and
 *   refused with one less;
 * - what berth_json_to_string() writes of the tree, compact and pretty,
 *   reads back as the same tree.
 *
 * Built by tests/fuzz/meson.build; run with G_DEBUG=fatal-criticals and
 * json.dict. */

#include "config.h"

#include <string.h>

#include "berth-error.h"
#include "berth-json.h"

#include "fuzz-common.h"
#include "fuzz-json-reference.h"

#define MAX_DEPTH 32

static void
assert_refused (const uint8_t *data, size_t size, guint max_depth, const gchar *why)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node
      = berth_json_parse ((const gchar *)data, size, max_depth, "the input", &error);

  if (node != NULL)
    g_error ("berth_json_parse accepted what it must refuse (%s)", why);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_assert_true (g_str_has_prefix (error->message, "the input "));
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
}

static void
assert_reads_back (JsonNode *node, gboolean pretty)
{
  g_autofree gchar *text = berth_json_to_string (node, pretty);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) again
      = berth_json_parse (text, strlen (text), MAX_DEPTH, "what Berth wrote", &error);

  if (again == NULL)
    g_error ("berth_json_parse refused what berth_json_to_string wrote (%s): %s",
             pretty ? "pretty" : "compact", error->message);
  berth_fuzz_json_assert_equal (again, node, "written and read back");
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  BerthFuzzJsonInfo info;
  g_autoptr (JsonNode) expected = berth_fuzz_json_reference_parse (data, size, MAX_DEPTH, &info);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = NULL;

  if (expected == NULL)
    {
      assert_refused (data, size, MAX_DEPTH, "the reference reader refuses it");
      return 0;
    }

  node = berth_json_parse ((const gchar *)data, size, MAX_DEPTH, "the input", &error);
  if (node == NULL)
    g_error ("berth_json_parse refused valid JSON: %s", error->message);
  berth_fuzz_json_assert_equal (node, expected, "berth_json_parse against the reference");

  /* Nested exactly as deep as allowed is fine; one level more is not. */
  if (info.depth > 0)
    {
      g_autoptr (JsonNode) at_bound
          = berth_json_parse ((const gchar *)data, size, info.depth, "the input", NULL);

      g_assert_nonnull (at_bound);
      assert_refused (data, size, info.depth - 1, "nested deeper than max_depth");
    }

  assert_reads_back (node, FALSE);
  assert_reads_back (node, TRUE);
  return 0;
}
