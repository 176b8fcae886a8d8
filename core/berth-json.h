/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Parses @data (@length bytes, not necessarily NUL-terminated) as RFC 8259
 * JSON and nothing wider. json-glib alone also takes comments, octal and
 * hexadecimal numbers, "\x" escapes and integers that wrap around 64 bits,
 * each read as some other value; here those are refused, as are a NUL byte
 * or "\u0000" in a string (C strings would cut it short), a lone surrogate,
 * text that is not UTF-8, a name twice in one object, a number that does
 * not fit in a 64-bit integer or a double, and nesting deeper than
 * @max_depth. @what names the input in messages ("the settings update");
 * they give the line and column, and the member ("kubernetes.port") of a
 * value that is refused. Returns a node of any type. */
JsonNode *
berth_json_parse (const gchar *data, gsize length, guint max_depth, const gchar *what,
                  GError **error);

/* @node as RFC 8259 text that berth_json_parse() reads back as the same
 * tree, for what Berth writes to files and to its clients. json-glib 1.6's
 * generator is not used for that: it writes U+001F raw inside strings, and
 * a double such as 1e20 as "1e+20.0", neither of which is JSON. Strings
 * that are not UTF-8 are written with U+FFFD in place of the bad bytes, and
 * doubles that are not finite, which JSON cannot hold, as null. @pretty
 * puts each member and element on its own line, indented by two spaces, as
 * json-glib's pretty output does ("name" : value). */
gchar *
berth_json_to_string (JsonNode *node, gboolean pretty);

G_END_DECLS
