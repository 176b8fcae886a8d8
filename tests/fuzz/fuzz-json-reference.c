/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "fuzz-json-reference.h"

#include <math.h>
#include <string.h>

typedef struct
{
  const guint8 *p;
  const guint8 *end;
  guint max_depth;
  BerthFuzzJsonInfo *info;
} Cursor;

/* RFC 3629: the length of the well-formed UTF-8 sequence at @p (before
 * @end), or 0. NUL counts as ill-formed here: Berth takes none. */
static gsize
utf8_sequence (const guint8 *p, const guint8 *end)
{
  guint8 lead = p[0];
  gsize n;
  guint8 lo = 0x80, hi = 0xbf;

  if (lead == 0)
    return 0;
  if (lead < 0x80)
    return 1;
  if (lead >= 0xc2 && lead <= 0xdf)
    n = 2;
  else if (lead >= 0xe0 && lead <= 0xef)
    {
      n = 3;
      if (lead == 0xe0)
        lo = 0xa0; /* no overlong forms */
      else if (lead == 0xed)
        hi = 0x9f; /* no surrogates */
    }
  else if (lead >= 0xf0 && lead <= 0xf4)
    {
      n = 4;
      if (lead == 0xf0)
        lo = 0x90;
      else if (lead == 0xf4)
        hi = 0x8f; /* nothing past U+10FFFF */
    }
  else
    return 0;
  if ((gsize)(end - p) < n || p[1] < lo || p[1] > hi)
    return 0;
  for (gsize i = 2; i < n; i++)
    if (p[i] < 0x80 || p[i] > 0xbf)
      return 0;
  return n;
}

static gboolean
is_blank (guint8 c)
{
  return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d;
}

static void
skip_blanks (Cursor *c)
{
  while (c->p < c->end && is_blank (*c->p))
    c->p++;
}

static gboolean
at (Cursor *c, guint8 want)
{
  return c->p < c->end && *c->p == want;
}

static JsonNode *
read_value (Cursor *c, guint depth);

/* Four hex digits, as a code unit; -1 when they are not. */
static gint
read_code_unit (Cursor *c)
{
  gint unit = 0;

  if (c->end - c->p < 4)
    return -1;
  for (guint i = 0; i < 4; i++)
    {
      guint8 h = c->p[i];
      gint digit;

      if (h >= '0' && h <= '9')
        digit = h - '0';
      else if (h >= 'a' && h <= 'f')
        digit = h - 'a' + 10;
      else if (h >= 'A' && h <= 'F')
        digit = h - 'A' + 10;
      else
        return -1;
      unit = unit * 16 + digit;
    }
  c->p += 4;
  return unit;
}

/* Appends @cp (a scalar value) as UTF-8. */
static void
put_code_point (GString *out, guint32 cp)
{
  if (cp < 0x80)
    g_string_append_c (out, (gchar)cp);
  else if (cp < 0x800)
    {
      g_string_append_c (out, (gchar)(0xc0 | (cp >> 6)));
      g_string_append_c (out, (gchar)(0x80 | (cp & 0x3f)));
    }
  else if (cp < 0x10000)
    {
      g_string_append_c (out, (gchar)(0xe0 | (cp >> 12)));
      g_string_append_c (out, (gchar)(0x80 | ((cp >> 6) & 0x3f)));
      g_string_append_c (out, (gchar)(0x80 | (cp & 0x3f)));
    }
  else
    {
      g_string_append_c (out, (gchar)(0xf0 | (cp >> 18)));
      g_string_append_c (out, (gchar)(0x80 | ((cp >> 12) & 0x3f)));
      g_string_append_c (out, (gchar)(0x80 | ((cp >> 6) & 0x3f)));
      g_string_append_c (out, (gchar)(0x80 | (cp & 0x3f)));
    }
}

/* The string at the cursor (its opening quote), decoded; NULL when it is
 * not one. *@escaped says whether it held a backslash. */
static GString *
read_string (Cursor *c, gboolean *escaped)
{
  g_autoptr (GString) out = g_string_new (NULL);

  *escaped = FALSE;
  if (!at (c, '"'))
    return NULL;
  c->p++;
  while (c->p < c->end)
    {
      guint8 b = *c->p;
      gint unit;

      if (b == '"')
        {
          c->p++;
          return g_steal_pointer (&out);
        }
      if (b < 0x20)
        return NULL; /* raw control characters must be escaped */
      if (b != '\\')
        {
          /* The whole text was checked as UTF-8 before. */
          gsize n = utf8_sequence (c->p, c->end);

          g_string_append_len (out, (const gchar *)c->p, (gssize)n);
          c->p += n;
          continue;
        }
      *escaped = TRUE;
      if (c->end - c->p < 2)
        return NULL;
      b = c->p[1];
      c->p += 2;
      switch (b)
        {
        case '"':
        case '\\':
        case '/':
          g_string_append_c (out, (gchar)b);
          break;
        case 'b':
          g_string_append_c (out, '\b');
          break;
        case 'f':
          g_string_append_c (out, '\f');
          break;
        case 'n':
          g_string_append_c (out, '\n');
          break;
        case 'r':
          g_string_append_c (out, '\r');
          break;
        case 't':
          g_string_append_c (out, '\t');
          break;
        case 'u':
          unit = read_code_unit (c);
          if (unit <= 0 || (unit >= 0xdc00 && unit <= 0xdfff))
            return NULL; /* not hex, \u0000, or a low surrogate first */
          if (unit >= 0xd800 && unit <= 0xdbff)
            {
              gint low;

              if (c->end - c->p < 2 || c->p[0] != '\\' || c->p[1] != 'u')
                return NULL;
              c->p += 2;
              low = read_code_unit (c);
              if (low < 0xdc00 || low > 0xdfff)
                return NULL;
              put_code_point (out,
                              0x10000 + (((guint32)unit - 0xd800) << 10) + ((guint32)low - 0xdc00));
            }
          else
            put_code_point (out, (guint32)unit);
          break;
        default:
          return NULL;
        }
    }
  return NULL;
}

/* A number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static JsonNode *
read_number (Cursor *c)
{
  const guint8 *start = c->p;
  gboolean negative = FALSE, integral = TRUE;
  guint64 magnitude = 0;
  gboolean overflow = FALSE;

  if (at (c, '-'))
    {
      negative = TRUE;
      c->p++;
    }
  if (!(c->p < c->end && g_ascii_isdigit (*c->p)))
    return NULL;
  if (*c->p == '0')
    c->p++;
  else
    while (c->p < c->end && g_ascii_isdigit (*c->p))
      {
        guint digit = *c->p - '0';

        if (magnitude > (G_MAXUINT64 - digit) / 10)
          overflow = TRUE;
        else
          magnitude = magnitude * 10 + digit;
        c->p++;
      }
  if (at (c, '.'))
    {
      integral = FALSE;
      c->p++;
      if (!(c->p < c->end && g_ascii_isdigit (*c->p)))
        return NULL;
      while (c->p < c->end && g_ascii_isdigit (*c->p))
        c->p++;
    }
  if (at (c, 'e') || at (c, 'E'))
    {
      integral = FALSE;
      c->p++;
      if (at (c, '+') || at (c, '-'))
        c->p++;
      if (!(c->p < c->end && g_ascii_isdigit (*c->p)))
        return NULL;
      while (c->p < c->end && g_ascii_isdigit (*c->p))
        c->p++;
    }

  if (integral)
    {
      /* 64 bits: -2^63 to 2^63 - 1. */
      if (overflow || magnitude > (guint64)G_MAXINT64 + (negative ? 1 : 0))
        return NULL;
      return json_node_init_int (json_node_alloc (),
                                 negative ? (gint64)(0 - magnitude) : (gint64)magnitude);
    }
  {
    g_autofree gchar *text = g_strndup ((const gchar *)start, (gsize)(c->p - start));
    gdouble value = g_ascii_strtod (text, NULL);

    if (!isfinite (value))
      return NULL;
    return json_node_init_double (json_node_alloc (), value);
  }
}

static gboolean
read_word (Cursor *c, const gchar *word)
{
  gsize n = strlen (word);

  if ((gsize)(c->end - c->p) < n || memcmp (c->p, word, n) != 0)
    return FALSE;
  c->p += n;
  return TRUE;
}

static JsonNode *
read_object (Cursor *c, guint depth)
{
  g_autoptr (JsonObject) object = json_object_new ();

  c->p++;
  skip_blanks (c);
  if (at (c, '}'))
    {
      c->p++;
      return json_node_init_object (json_node_alloc (), object);
    }
  for (;;)
    {
      g_autoptr (GString) name = NULL;
      JsonNode *value;
      gboolean escaped;

      skip_blanks (c);
      name = read_string (c, &escaped);
      if (name == NULL || json_object_has_member (object, name->str))
        return NULL;
      if (escaped && c->info != NULL)
        c->info->escaped_names = TRUE;
      skip_blanks (c);
      if (!at (c, ':'))
        return NULL;
      c->p++;
      value = read_value (c, depth);
      if (value == NULL)
        return NULL;
      json_object_set_member (object, name->str, value);
      skip_blanks (c);
      if (at (c, ','))
        {
          c->p++;
          continue;
        }
      if (!at (c, '}'))
        return NULL;
      c->p++;
      return json_node_init_object (json_node_alloc (), object);
    }
}

static JsonNode *
read_array (Cursor *c, guint depth)
{
  g_autoptr (JsonArray) array = json_array_new ();

  c->p++;
  skip_blanks (c);
  if (at (c, ']'))
    {
      c->p++;
      return json_node_init_array (json_node_alloc (), array);
    }
  for (;;)
    {
      JsonNode *element = read_value (c, depth);

      if (element == NULL)
        return NULL;
      json_array_add_element (array, element);
      skip_blanks (c);
      if (at (c, ','))
        {
          c->p++;
          continue;
        }
      if (!at (c, ']'))
        return NULL;
      c->p++;
      return json_node_init_array (json_node_alloc (), array);
    }
}

static JsonNode *
read_value (Cursor *c, guint depth)
{
  skip_blanks (c);
  if (c->p >= c->end)
    return NULL;
  switch (*c->p)
    {
    case '{':
    case '[':
      if (depth + 1 > c->max_depth)
        return NULL;
      if (c->info != NULL)
        c->info->depth = MAX (c->info->depth, depth + 1);
      return *c->p == '{' ? read_object (c, depth + 1) : read_array (c, depth + 1);
    case '"':
      {
        gboolean escaped;
        g_autoptr (GString) text = read_string (c, &escaped);

        return text != NULL ? json_node_init_string (json_node_alloc (), text->str) : NULL;
      }
    case 't':
      return read_word (c, "true") ? json_node_init_boolean (json_node_alloc (), TRUE) : NULL;
    case 'f':
      return read_word (c, "false") ? json_node_init_boolean (json_node_alloc (), FALSE) : NULL;
    case 'n':
      return read_word (c, "null") ? json_node_init_null (json_node_alloc ()) : NULL;
    default:
      return read_number (c);
    }
}

JsonNode *
berth_fuzz_json_reference_parse (const guint8 *data, gsize length, guint max_depth,
                                 BerthFuzzJsonInfo *info)
{
  Cursor c = { data, data + length, max_depth, info };
  g_autoptr (JsonNode) value = NULL;

  if (info != NULL)
    memset (info, 0, sizeof *info);
  for (const guint8 *p = data; p < c.end;)
    {
      gsize n = utf8_sequence (p, c.end);

      if (n == 0)
        return NULL;
      p += n;
    }
  value = read_value (&c, 0);
  if (value == NULL)
    return NULL;
  skip_blanks (&c);
  if (c.p != c.end)
    return NULL;
  return g_steal_pointer (&value);
}

gboolean
berth_fuzz_json_equal (JsonNode *a, JsonNode *b)
{
  if (JSON_NODE_TYPE (a) != JSON_NODE_TYPE (b))
    return FALSE;
  switch (JSON_NODE_TYPE (a))
    {
    case JSON_NODE_NULL:
      return TRUE;
    case JSON_NODE_VALUE:
      if (json_node_get_value_type (a) != json_node_get_value_type (b))
        return FALSE;
      switch (json_node_get_value_type (a))
        {
        case G_TYPE_INT64:
          return json_node_get_int (a) == json_node_get_int (b);
        case G_TYPE_DOUBLE:
          {
            gdouble x = json_node_get_double (a), y = json_node_get_double (b);

            return memcmp (&x, &y, sizeof x) == 0;
          }
        case G_TYPE_BOOLEAN:
          return !json_node_get_boolean (a) == !json_node_get_boolean (b);
        case G_TYPE_STRING:
          return g_strcmp0 (json_node_get_string (a), json_node_get_string (b)) == 0;
        default:
          return FALSE;
        }
    case JSON_NODE_ARRAY:
      {
        JsonArray *x = json_node_get_array (a), *y = json_node_get_array (b);
        guint n = json_array_get_length (x);

        if (json_array_get_length (y) != n)
          return FALSE;
        for (guint i = 0; i < n; i++)
          if (!berth_fuzz_json_equal (json_array_get_element (x, i), json_array_get_element (y, i)))
            return FALSE;
        return TRUE;
      }
    case JSON_NODE_OBJECT:
      {
        JsonObject *x = json_node_get_object (a), *y = json_node_get_object (b);
        g_autoptr (GList) names_x = json_object_get_members (x);
        g_autoptr (GList) names_y = json_object_get_members (y);
        GList *l, *m;

        for (l = names_x, m = names_y; l != NULL && m != NULL; l = l->next, m = m->next)
          if (strcmp (l->data, m->data) != 0
              || !berth_fuzz_json_equal (json_object_get_member (x, l->data),
                                         json_object_get_member (y, m->data)))
            return FALSE;
        return l == NULL && m == NULL;
      }
    default:
      return FALSE;
    }
}

/* For messages only: json-glib's text, which is good enough to look at. */
static gchar *
show (JsonNode *node)
{
  g_autofree gchar *text = node != NULL ? json_to_string (node, FALSE) : g_strdup ("(nothing)");
  g_autofree gchar *valid = g_utf8_make_valid (text, -1);

  return g_strescape (valid, NULL);
}

void
berth_fuzz_json_assert_equal (JsonNode *got, JsonNode *expected, const gchar *what)
{
  if (got != NULL && expected != NULL && berth_fuzz_json_equal (got, expected))
    return;
  {
    g_autofree gchar *got_text = show (got);
    g_autofree gchar *expected_text = show (expected);

    g_error ("%s: got %s, expected %s", what, got_text, expected_text);
  }
}

void
berth_fuzz_json_assert_contains (JsonNode *stored, JsonNode *sent, const gchar *path)
{
  if (stored != NULL && JSON_NODE_HOLDS_OBJECT (sent) && JSON_NODE_HOLDS_OBJECT (stored))
    {
      JsonObject *s = json_node_get_object (sent);
      g_autoptr (GList) names = json_object_get_members (s);

      for (GList *l = names; l != NULL; l = l->next)
        {
          g_autofree gchar *child
              = *path != '\0' ? g_strconcat (path, ".", l->data, NULL) : g_strdup (l->data);

          berth_fuzz_json_assert_contains (
              json_object_get_member (json_node_get_object (stored), l->data),
              json_object_get_member (s, l->data), child);
        }
      return;
    }
  berth_fuzz_json_assert_equal (stored, sent, path);
}
