/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-json.h"

#include <math.h>
#include <string.h>

#include "berth-error.h"

/* One pass over the text before json-glib sees it: the grammar of RFC 8259,
 * with the path of the value being read for messages. Recursion is bounded
 * by max_depth. */
typedef struct
{
  const gchar *data;
  gsize length;
  gsize pos;
  guint max_depth;
  const gchar *what;
  GString *path; /* "a.b[2].c" of the value being read; empty at the top */
  GError **error;
} Reader;

static gboolean
fail_at (Reader *r, gsize at, const gchar *format, ...) G_GNUC_PRINTF (3, 4);

/* Line and column (in characters: the text is UTF-8 up to @at, checked
 * first) of byte @at. */
static void
locate (Reader *r, gsize at, guint *line, glong *column)
{
  const gchar *line_start = r->data;

  at = MIN (at, r->length);
  *line = 1;
  for (const gchar *p = r->data; p < r->data + at; p++)
    if (*p == '\n')
      {
        (*line)++;
        line_start = p + 1;
      }
  *column = g_utf8_strlen (line_start, r->data + at - line_start) + 1;
}

static gboolean
fail_at (Reader *r, gsize at, const gchar *format, ...)
{
  g_autofree gchar *detail = NULL;
  guint line;
  glong column;
  va_list args;

  locate (r, at, &line, &column);
  va_start (args, format);
  detail = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (r->error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
               "%s is not valid JSON: line %u, column %ld%s%s: %s", r->what, line, column,
               r->path->len > 0 ? ", at " : "", r->path->str, detail);
  return FALSE;
}

static void
skip_space (Reader *r)
{
  while (r->pos < r->length)
    {
      gchar c = r->data[r->pos];

      if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
        break;
      r->pos++;
    }
}

/* Names what stands at @at for a message: a character, or the end. */
static gchar *
describe_char (Reader *r, gsize at)
{
  gunichar c;

  if (at >= r->length)
    return g_strdup ("the end of the text");
  c = g_utf8_get_char (r->data + at);
  if (c == '/')
    return g_strdup ("'/' (JSON has no comments)");
  if (c >= 0x20 && c < 0x7f)
    return g_strdup_printf ("'%c'", (gchar)c);
  return g_strdup_printf ("U+%04X", c);
}

static gboolean
read_value (Reader *r, guint depth);

static gint
hex_value (gchar c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Four hex digits after "\u" at r->pos. */
static gboolean
read_hex4 (Reader *r, gunichar *out)
{
  *out = 0;
  if (r->length - r->pos < 4)
    return fail_at (r, r->pos, "\"\\u\" must be followed by four hexadecimal digits");
  for (guint i = 0; i < 4; i++)
    {
      gint v = hex_value (r->data[r->pos + i]);

      if (v < 0)
        return fail_at (r, r->pos, "\"\\u\" must be followed by four hexadecimal digits");
      *out = (*out << 4) | (gunichar)v;
    }
  r->pos += 4;
  return TRUE;
}

/* A string at r->pos (its opening quote); its text in @out when not NULL. */
static gboolean
read_string (Reader *r, GString *out)
{
  gsize start = r->pos;

  r->pos++;
  for (;;)
    {
      guchar c;

      if (r->pos >= r->length)
        return fail_at (r, start, "this string is not closed");
      c = (guchar)r->data[r->pos];
      if (c == '"')
        {
          r->pos++;
          return TRUE;
        }
      if (c < 0x20)
        return fail_at (r, r->pos,
                        "a control character (U+%04X) in a string must be written "
                        "as an escape such as \\n or \\u%04X",
                        c, c);
      if (c != '\\')
        {
          if (out != NULL)
            g_string_append_c (out, (gchar)c);
          r->pos++;
          continue;
        }
      r->pos++;
      if (r->pos >= r->length)
        return fail_at (r, start, "this string is not closed");
      c = (guchar)r->data[r->pos++];
      switch (c)
        {
        case '"':
        case '\\':
        case '/':
          if (out != NULL)
            g_string_append_c (out, (gchar)c);
          break;
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
          if (out != NULL)
            g_string_append_c (out, c == 'b'   ? '\b'
                                    : c == 'f' ? '\f'
                                    : c == 'n' ? '\n'
                                    : c == 'r' ? '\r'
                                               : '\t');
          break;
        case 'u':
          {
            gsize escape_at = r->pos - 2;
            gunichar code, low;

            if (!read_hex4 (r, &code))
              return FALSE;
            if (code == 0)
              return fail_at (r, escape_at,
                              "a string holds \\u0000 (NUL), which Berth does not take");
            if (code >= 0xdc00 && code <= 0xdfff)
              return fail_at (r, escape_at, "\\u%04X is half of a surrogate pair, alone", code);
            if (code >= 0xd800 && code <= 0xdbff)
              {
                if (r->length - r->pos < 2 || r->data[r->pos] != '\\' || r->data[r->pos + 1] != 'u')
                  return fail_at (r, escape_at, "\\u%04X is half of a surrogate pair, alone", code);
                r->pos += 2;
                if (!read_hex4 (r, &low))
                  return FALSE;
                if (low < 0xdc00 || low > 0xdfff)
                  return fail_at (r, escape_at, "\\u%04X is half of a surrogate pair, alone", code);
                code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
              }
            if (out != NULL)
              g_string_append_unichar (out, code);
            break;
          }
        default:
          {
            g_autofree gchar *what = describe_char (r, r->pos - 1);

            return fail_at (r, r->pos - 2,
                            "\"\\\" followed by %s is not a JSON escape; JSON has \\\" \\\\ \\/ "
                            "\\b \\f \\n \\r \\t and \\uXXXX",
                            what);
          }
        }
    }
}

static gboolean
is_digit (Reader *r, gsize at)
{
  return at < r->length && g_ascii_isdigit (r->data[at]);
}

static gboolean
read_number (Reader *r)
{
  gsize start = r->pos;
  gboolean integer = TRUE;
  g_autofree gchar *text = NULL;

  if (r->data[r->pos] == '-')
    r->pos++;
  if (!is_digit (r, r->pos))
    return fail_at (r, start, "'-' must be followed by digits");
  if (r->data[r->pos] == '0' && is_digit (r, r->pos + 1))
    return fail_at (r, start, "a number may not start with 0 (JSON has no octal numbers)");
  while (is_digit (r, r->pos))
    r->pos++;
  if (r->pos < r->length && r->data[r->pos] == '.')
    {
      integer = FALSE;
      r->pos++;
      if (!is_digit (r, r->pos))
        return fail_at (r, start, "a '.' in a number must be followed by digits");
      while (is_digit (r, r->pos))
        r->pos++;
    }
  if (r->pos < r->length && (r->data[r->pos] == 'e' || r->data[r->pos] == 'E'))
    {
      integer = FALSE;
      r->pos++;
      if (r->pos < r->length && (r->data[r->pos] == '+' || r->data[r->pos] == '-'))
        r->pos++;
      if (!is_digit (r, r->pos))
        return fail_at (r, start, "an exponent in a number must have digits");
      while (is_digit (r, r->pos))
        r->pos++;
    }
  /* "0x1F", "1.2.3", "12abc": one token, not a number and something else. */
  if (r->pos < r->length
      && (g_ascii_isalnum (r->data[r->pos]) || strchr ("._+-", r->data[r->pos]) != NULL))
    {
      gsize end = r->pos;

      while (end < r->length
             && (g_ascii_isalnum (r->data[end]) || strchr ("._+-", r->data[end]) != NULL))
        end++;
      return fail_at (r, start,
                      "%.*s is not a JSON number (JSON numbers are decimal, such as 42, -7 or "
                      "1.5e3)",
                      (int)MIN (end - start, 64), r->data + start);
    }

  text = g_strndup (r->data + start, r->pos - start);
  if (integer)
    {
      if (!g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, NULL, NULL))
        return fail_at (r, start,
                        "the number %s does not fit in a 64-bit integer (%" G_GINT64_FORMAT
                        " to %" G_GINT64_FORMAT ")",
                        text, G_MININT64, G_MAXINT64);
    }
  else if (!isfinite (g_ascii_strtod (text, NULL)))
    return fail_at (r, start, "the number %s is too large for a double", text);
  return TRUE;
}

static gboolean
read_literal (Reader *r, const gchar *word)
{
  gsize n = strlen (word);

  if (r->length - r->pos < n || memcmp (r->data + r->pos, word, n) != 0
      || (r->pos + n < r->length && g_ascii_isalnum (r->data[r->pos + n])))
    {
      gsize end = r->pos;

      while (end < r->length && end - r->pos < 32 && g_ascii_isalnum (r->data[end]))
        end++;
      return fail_at (r, r->pos,
                      "%.*s is not a JSON value (JSON has strings in double quotes, numbers, "
                      "objects, lists, true, false and null)",
                      (int)MAX (end - r->pos, 1), r->data + r->pos);
    }
  r->pos += n;
  return TRUE;
}

/* What follows a member or a list element: ',' and another (*@more), or
 * @close and the end. */
static gboolean
read_after_item (Reader *r, gchar close, const gchar *item, gboolean *more)
{
  g_autofree gchar *got = NULL;

  skip_space (r);
  if (r->pos < r->length && (r->data[r->pos] == ',' || r->data[r->pos] == close))
    {
      *more = r->data[r->pos++] == ',';
      return TRUE;
    }
  got = describe_char (r, r->pos);
  return fail_at (r, r->pos, "expected ',' or '%c' after %s, found %s", close, item, got);
}

static gboolean
read_object (Reader *r, guint depth)
{
  gsize path_length = r->path->len;
  gboolean more = FALSE;
  g_autoptr (GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  r->pos++;
  skip_space (r);
  if (r->pos < r->length && r->data[r->pos] == '}')
    {
      r->pos++;
      return TRUE;
    }
  for (;;)
    {
      g_autoptr (GString) name = g_string_new (NULL);
      gsize name_at;

      skip_space (r);
      name_at = r->pos;
      if (r->pos >= r->length || r->data[r->pos] != '"')
        {
          g_autofree gchar *got = describe_char (r, r->pos);

          return fail_at (r, r->pos, "expected a member name in double quotes, found %s", got);
        }
      if (!read_string (r, name))
        return FALSE;
      if (memchr (name->str, '\0', name->len) != NULL)
        return fail_at (r, name_at, "a member name holds a NUL");
      if (g_hash_table_contains (names, name->str))
        return fail_at (r, name_at, "the member \"%s\" is given twice", name->str);
      skip_space (r);
      if (r->pos >= r->length || r->data[r->pos] != ':')
        {
          g_autofree gchar *got = describe_char (r, r->pos);

          return fail_at (r, r->pos, "expected ':' after the member name \"%s\", found %s",
                          name->str, got);
        }
      r->pos++;
      if (path_length > 0)
        g_string_append_c (r->path, '.');
      g_string_append_len (r->path, name->str, (gssize)name->len);
      g_hash_table_add (names, g_string_free (g_steal_pointer (&name), FALSE));
      if (!read_value (r, depth))
        return FALSE;
      g_string_truncate (r->path, path_length);
      if (!read_after_item (r, '}', "a member", &more))
        return FALSE;
      if (!more)
        return TRUE;
    }
}

static gboolean
read_array (Reader *r, guint depth)
{
  gsize path_length = r->path->len;
  gboolean more = FALSE;

  r->pos++;
  skip_space (r);
  if (r->pos < r->length && r->data[r->pos] == ']')
    {
      r->pos++;
      return TRUE;
    }
  for (guint index = 0;; index++)
    {
      g_string_append_printf (r->path, "[%u]", index);
      if (!read_value (r, depth))
        return FALSE;
      g_string_truncate (r->path, path_length);
      if (!read_after_item (r, ']', "a list element", &more))
        return FALSE;
      if (!more)
        return TRUE;
    }
}

static gboolean
read_value (Reader *r, guint depth)
{
  skip_space (r);
  if (r->pos >= r->length)
    return fail_at (r, r->pos, "the text ends where a value should be");
  switch (r->data[r->pos])
    {
    case '{':
    case '[':
      if (depth + 1 > r->max_depth)
        {
          guint line;
          glong column;

          /* Valid JSON, but past what Berth reads. */
          locate (r, r->pos, &line, &column);
          g_set_error (r->error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "%s nests objects or lists more than %u deep (line %u, column %ld)", r->what,
                       r->max_depth, line, column);
          return FALSE;
        }
      return r->data[r->pos] == '{' ? read_object (r, depth + 1) : read_array (r, depth + 1);
    case '"':
      return read_string (r, NULL);
    case 't':
      return read_literal (r, "true");
    case 'f':
      return read_literal (r, "false");
    case 'n':
      return read_literal (r, "null");
    default:
      if (r->data[r->pos] == '-' || g_ascii_isdigit (r->data[r->pos]))
        return read_number (r);
      if (g_ascii_isalpha (r->data[r->pos]))
        return read_literal (r, "null");
      {
        g_autofree gchar *got = describe_char (r, r->pos);

        return fail_at (r, r->pos, "expected a value, found %s", got);
      }
    }
}

JsonNode *
berth_json_parse (const gchar *data, gsize length, guint max_depth, const gchar *what,
                  GError **error)
{
  g_autoptr (GString) path = g_string_new (NULL);
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GError) local_error = NULL;
  Reader r = { data, length, 0, max_depth, what, path, error };
  const gchar *invalid = NULL;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (what != NULL, NULL);

  if (memchr (data, '\0', length) != NULL)
    {
      fail_at (&r, (gsize)((const gchar *)memchr (data, '\0', length) - data),
               "the text holds a NUL byte");
      return NULL;
    }
  if (!g_utf8_validate_len (data, length, &invalid))
    {
      fail_at (&r, (gsize)(invalid - data), "the text is not UTF-8 (byte 0x%02X)",
               (guchar)*invalid);
      return NULL;
    }
  skip_space (&r);
  if (r.pos == length)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is empty; expected a JSON value", what);
      return NULL;
    }
  if (!read_value (&r, 0))
    return NULL;
  skip_space (&r);
  if (r.pos < length)
    {
      g_autofree gchar *got = describe_char (&r, r.pos);

      fail_at (&r, r.pos, "%s follows the JSON value; only one value is allowed", got);
      return NULL;
    }

  /* Valid RFC 8259 text: json-glib reads it as written. The tree stays
   * mutable: settings migrations edit it. */
  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, data, (gssize)length, &local_error))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA, "%s could not be read: %s", what,
                   local_error->message);
      return NULL;
    }
  return json_node_ref (json_parser_get_root (parser));
}

/* ---- writing ------------------------------------------------------------ */

static void
write_string (GString *out, const gchar *text)
{
  g_autofree gchar *valid = g_utf8_make_valid (text != NULL ? text : "", -1);

  g_string_append_c (out, '"');
  for (const guchar *p = (const guchar *)valid; *p != '\0'; p++)
    {
      switch (*p)
        {
        case '"':
          g_string_append (out, "\\\"");
          break;
        case '\\':
          g_string_append (out, "\\\\");
          break;
        case '\b':
          g_string_append (out, "\\b");
          break;
        case '\f':
          g_string_append (out, "\\f");
          break;
        case '\n':
          g_string_append (out, "\\n");
          break;
        case '\r':
          g_string_append (out, "\\r");
          break;
        case '\t':
          g_string_append (out, "\\t");
          break;
        default:
          /* Every control character, U+001F included, and DEL as json-glib. */
          if (*p < 0x20 || *p == 0x7f)
            g_string_append_printf (out, "\\u%04x", *p);
          else
            g_string_append_c (out, (gchar)*p);
          break;
        }
    }
  g_string_append_c (out, '"');
}

static void
write_double (GString *out, gdouble value)
{
  gchar text[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (value))
    {
      g_string_append (out, "null");
      return;
    }
  /* Enough digits to read back the same double; ".0" keeps an integral
   * value a double when it is read again ("-0.0", "2.0"). */
  g_ascii_dtostr (text, sizeof text, value);
  g_string_append (out, text);
  if (strpbrk (text, ".eE") == NULL)
    g_string_append (out, ".0");
}

static void
write_break (GString *out, gboolean pretty, guint level)
{
  if (!pretty)
    return;
  g_string_append_c (out, '\n');
  for (guint i = 0; i < level; i++)
    g_string_append (out, "  ");
}

static void
write_node (GString *out, JsonNode *node, gboolean pretty, guint level)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_node_get_object (node);
        g_autoptr (GList) names = json_object_get_members (object);

        g_string_append_c (out, '{');
        for (GList *l = names; l != NULL; l = l->next)
          {
            write_break (out, pretty, level + 1);
            write_string (out, l->data);
            g_string_append (out, pretty ? " : " : ":");
            write_node (out, json_object_get_member (object, l->data), pretty, level + 1);
            if (l->next != NULL)
              g_string_append_c (out, ',');
          }
        if (names != NULL)
          write_break (out, pretty, level);
        g_string_append_c (out, '}');
        break;
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        guint n = json_array_get_length (array);

        g_string_append_c (out, '[');
        for (guint i = 0; i < n; i++)
          {
            write_break (out, pretty, level + 1);
            write_node (out, json_array_get_element (array, i), pretty, level + 1);
            if (i + 1 < n)
              g_string_append_c (out, ',');
          }
        if (n > 0)
          write_break (out, pretty, level);
        g_string_append_c (out, ']');
        break;
      }
    case JSON_NODE_VALUE:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_INT64:
          g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
          break;
        case G_TYPE_DOUBLE:
          write_double (out, json_node_get_double (node));
          break;
        case G_TYPE_BOOLEAN:
          g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
          break;
        case G_TYPE_STRING:
          write_string (out, json_node_get_string (node));
          break;
        default:
          g_string_append (out, "null");
          break;
        }
      break;
    case JSON_NODE_NULL:
    default:
      g_string_append (out, "null");
      break;
    }
}

gchar *
berth_json_to_string (JsonNode *node, gboolean pretty)
{
  GString *out = g_string_new (NULL);

  g_return_val_if_fail (node != NULL, NULL);

  write_node (out, node, pretty, 0);
  return g_string_free (out, FALSE);
}
