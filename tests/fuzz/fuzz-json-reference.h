/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* A second reading of JSON text for the fuzz targets to hold Berth's against:
 * RFC 8259's grammar (sections 2 to 8) with the limits berth_json_parse()
 * documents, written apart from core/berth-json.c and sharing nothing with
 * it or with json-glib's scanner: its own UTF-8 check, its own escapes, its
 * own integers. Only the tree it returns is json-glib's, so that the two
 * readings compare node by node. */

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct
{
  /* A member name was written with a backslash escape ("I\u0044"): the
   * image list's scanner compares names as written, on purpose. */
  gboolean escaped_names;
  /* Deepest nesting of objects and lists; 0 for a lone scalar. */
  guint depth;
} BerthFuzzJsonInfo;

/* The value @data holds, or NULL when it is not RFC 8259 JSON or breaks a
 * limit: not UTF-8, a NUL byte or "\u0000", a lone surrogate, a name twice
 * in one object, an integer (no fraction, no exponent) outside 64 bits, a
 * number that is not a finite double, nesting deeper than @max_depth.
 * @info (nullable) is filled in when the text is read. */
JsonNode *
berth_fuzz_json_reference_parse (const guint8 *data, gsize length, guint max_depth,
                                 BerthFuzzJsonInfo *info);

/* Whether @a and @b hold the same value, strictly: the same kinds, an
 * integer never equal to a double, doubles to the bit (0.0 is not -0.0),
 * strings to the byte, members in the same order. */
gboolean
berth_fuzz_json_equal (JsonNode *a, JsonNode *b);

/* Aborts, showing both, unless berth_fuzz_json_equal (@got, @expected).
 * @what says what was compared. */
void
berth_fuzz_json_assert_equal (JsonNode *got, JsonNode *expected, const gchar *what);

/* Aborts unless every member that @sent has (recursively through objects)
 * is in @stored with an equal value: what a merge of @sent into settings
 * must leave behind. @path names @sent's place in messages. */
void
berth_fuzz_json_assert_contains (JsonNode *stored, JsonNode *sent, const gchar *path);

G_END_DECLS
