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

G_END_DECLS
