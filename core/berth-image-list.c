/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "berth-error.h"
#include "berth-json.h"
#include "berth-image-list-private.h"

/* An image line is a flat object; anything nested deeper is not one, and
 * json-glib parses recursively, so depth is checked before it sees a line. */
#define MAX_LINE_DEPTH 8
#define MAX_REF_LENGTH 512
#define MAX_NAMESPACE_LENGTH 76
#define OUTPUT_KEY "berth-image-output"
#define MAX_REPORT_DEPTH 64
#define MAX_OUTPUT (256 * 1024)
#define ERROR_TAIL_LINES 3
#define ERROR_TAIL_BYTES 2000

/* An image as the result will show it, with the keys it is sorted by
 * borrowed from its object. */
typedef struct
{
  JsonObject *object;
  const gchar *id;
  const gchar *repository;
  const gchar *tag;
  const gchar *digest;   /* nullable */
  const gchar *created;  /* nullable */
  const gchar *platform; /* nullable */
  gboolean has_size;
  guint64 size;
} Entry;

static void
entry_free (Entry *entry)
{
  if (entry == NULL)
    return;
  g_clear_pointer (&entry->object, json_object_unref);
  g_free (entry);
}

/* ---- sizes and times ---------------------------------------------------- */

typedef struct
{
  const gchar *unit;
  gdouble factor;
} SizeUnit;

static const SizeUnit size_units[] = {
  { "B", 1.0 },
  { "kB", 1e3 },
  { "KB", 1e3 },
  { "MB", 1e6 },
  { "GB", 1e9 },
  { "TB", 1e12 },
  { "PB", 1e15 },
  { "EB", 1e18 },
  { "KiB", 1024.0 },
  { "MiB", 1048576.0 },
  { "GiB", 1073741824.0 },
  { "TiB", 1099511627776.0 },
  { "PiB", 1125899906842624.0 },
  { "EiB", 1152921504606846976.0 },
};

gboolean
berth_image_size_parse (const gchar *text, guint64 *bytes_out)
{
  const gchar *p = text;
  gdouble value = 0, scale = 1;
  gboolean digits = FALSE;

  g_return_val_if_fail (bytes_out != NULL, FALSE);

  *bytes_out = 0;
  if (text == NULL)
    return FALSE;
  /* Digits, an optional fraction, no sign and no exponent: what %.4g and
   * %02.1f print for the sizes an image can have. */
  for (; g_ascii_isdigit (*p); p++)
    {
      value = value * 10 + (*p - '0');
      digits = TRUE;
    }
  if (*p == '.')
    {
      for (p++; g_ascii_isdigit (*p); p++)
        {
          scale /= 10;
          value += (*p - '0') * scale;
          digits = TRUE;
        }
    }
  if (!digits || p - text > 32)
    return FALSE;
  /* nerdctl 1.x puts a space before the unit; docker and nerdctl 2.x do not. */
  if (*p == ' ')
    p++;
  for (gsize i = 0; i < G_N_ELEMENTS (size_units); i++)
    {
      gdouble bytes;

      if (!g_str_equal (p, size_units[i].unit))
        continue;
      bytes = value * size_units[i].factor + 0.5;
      if (!(bytes >= 0) || bytes >= 18446744073709551615.0)
        return FALSE;
      *bytes_out = (guint64)bytes;
      return TRUE;
    }
  return FALSE;
}

/* Reads exactly @n digits at *@p. */
static gboolean
read_digits (const gchar **p, guint n, gint *out)
{
  gint value = 0;

  for (guint i = 0; i < n; i++)
    {
      if (!g_ascii_isdigit ((*p)[i]))
        return FALSE;
      value = value * 10 + ((*p)[i] - '0');
    }
  *p += n;
  *out = value;
  return TRUE;
}

static gboolean
expect_char (const gchar **p, gchar c)
{
  if (**p != c)
    return FALSE;
  (*p)++;
  return TRUE;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), and back: plain arithmetic, as this runs for every line
 * and GDateTime allocates. */
static gint64
days_from_civil (gint64 y, gint m, gint d)
{
  gint64 era, yoe, doy, doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void
civil_from_days (gint64 z, gint64 *y_out, gint *m_out, gint *d_out)
{
  gint64 era, doe, yoe, y, doy, mp;

  z += 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = z - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = yoe + era * 400;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *d_out = (gint)(doy - (153 * mp + 2) / 5 + 1);
  *m_out = (gint)(mp < 10 ? mp + 3 : mp - 9);
  *y_out = y + (*m_out <= 2);
}

static gboolean
is_leap_year (gint year)
{
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static gint
days_in_month (gint year, gint month)
{
  static const gint days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

  return month == 2 && is_leap_year (year) ? 29 : days[month - 1];
}

/* Writes @value (>= 0) as exactly @n digits at @out. */
static void
write_digits (gchar *out, gint value, guint n)
{
  for (guint i = n; i > 0; i--)
    {
      out[i - 1] = (gchar)('0' + value % 10);
      value /= 10;
    }
}

gchar *
berth_image_created_to_iso8601 (const gchar *text)
{
  const gchar *p = text;
  gint year, month, day, hour, minute, second, off_hours, off_minutes, sign;
  gint64 seconds, days, utc_year;
  gint utc_month, utc_day;
  glong rest;
  gchar *iso;

  if (text == NULL)
    return NULL;
  if (!read_digits (&p, 4, &year) || !expect_char (&p, '-') || !read_digits (&p, 2, &month)
      || !expect_char (&p, '-') || !read_digits (&p, 2, &day) || !expect_char (&p, ' ')
      || !read_digits (&p, 2, &hour) || !expect_char (&p, ':') || !read_digits (&p, 2, &minute)
      || !expect_char (&p, ':') || !read_digits (&p, 2, &second))
    return NULL;
  if (*p == '.')
    {
      p++;
      if (!g_ascii_isdigit (*p))
        return NULL;
      while (g_ascii_isdigit (*p))
        p++;
    }
  if (!expect_char (&p, ' '))
    return NULL;
  if (*p != '+' && *p != '-')
    return NULL;
  sign = *p == '-' ? -1 : 1;
  p++;
  if (!read_digits (&p, 2, &off_hours) || !read_digits (&p, 2, &off_minutes))
    return NULL;
  /* The zone's abbreviation, if any, says nothing the offset does not. */
  if (*p != '\0' && *p != ' ')
    return NULL;
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month (year, month)
      || hour > 23 || minute > 59 || second > 59 || off_hours > 23 || off_minutes > 59)
    return NULL;

  seconds = days_from_civil (year, month, day) * 86400 + hour * 3600 + minute * 60 + second
            - sign * (off_hours * 3600 + off_minutes * 60);
  days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
  rest = (glong)(seconds - days * 86400);
  civil_from_days (days, &utc_year, &utc_month, &utc_day);
  if (utc_year < 1 || utc_year > 9999)
    return NULL;
  /* What "%04d-%02d-%02dT%02d:%02d:%02dZ" prints, without printf's cost on
   * every line. */
  iso = g_malloc (sizeof "YYYY-MM-DDThh:mm:ssZ");
  write_digits (iso, (gint)utc_year, 4);
  iso[4] = '-';
  write_digits (iso + 5, utc_month, 2);
  iso[7] = '-';
  write_digits (iso + 8, utc_day, 2);
  iso[10] = 'T';
  write_digits (iso + 11, (gint)(rest / 3600), 2);
  iso[13] = ':';
  write_digits (iso + 14, (gint)(rest / 60 % 60), 2);
  iso[16] = ':';
  write_digits (iso + 17, (gint)(rest % 60), 2);
  iso[19] = 'Z';
  iso[20] = '\0';
  return iso;
}

/* ---- lines -------------------------------------------------------------- */

/* The members of a CLI line Berth keeps, and the names it gives them. The
 * rest (CreatedSince, VirtualSize, BlobSize, Name…) is dropped before
 * json-glib sees the line: parsing what is thrown away was most of the cost. */
typedef struct
{
  const gchar *cli;
  gsize cli_len;
  const gchar *ours;
} KeptMember;

#define KEPT(cli, ours)                                                                            \
  {                                                                                                \
    cli, sizeof (cli) - 1, ours                                                                    \
  }
static const KeptMember kept_members[] = {
  KEPT ("ID", "id"),
  KEPT ("Repository", "repository"),
  KEPT ("Tag", "tag"),
  KEPT ("Digest", "digest"),
  KEPT ("Size", "size"),
  KEPT ("CreatedAt", "created"),
  KEPT ("Platform", "platform"),
};
#undef KEPT

/* Indexes into kept_members. */
enum
{
  KEPT_ID,
  KEPT_REPOSITORY,
  KEPT_TAG,
  KEPT_DIGEST,
  KEPT_SIZE,
  KEPT_CREATED,
  KEPT_PLATFORM,
  N_KEPT
};

static gsize
skip_space (const gchar *line, gsize i, gsize len)
{
  while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n'))
    i++;
  return i;
}

/* Index just past the string starting at @i (a '"'), or 0 when it does not
 * end on the line. A quote ends it unless an odd number of backslashes
 * stands right before it; memchr() finds the quotes quicker than a loop
 * over every byte. */
static gsize
skip_string (const gchar *line, gsize i, gsize len)
{
  gsize start = i + 1;

  for (i = start; i < len; i++)
    {
      const gchar *quote = memchr (line + i, '"', len - i);
      gsize backslashes = 0;

      if (quote == NULL)
        return 0;
      i = (gsize)(quote - line);
      while (i - backslashes > start && line[i - backslashes - 1] == '\\')
        backslashes++;
      if (backslashes % 2 == 0)
        return i + 1;
    }
  return 0;
}

/* Index just past the value starting at @i, or 0 when it is not one (as far
 * as the shape goes: json-glib or the fast scanner judges the rest). Nesting
 * is bounded. */
static gsize
skip_value (const gchar *line, gsize i, gsize len)
{
  guint depth = 0;

  if (i >= len)
    return 0;
  if (line[i] == '"')
    return skip_string (line, i, len);
  if (line[i] != '{' && line[i] != '[')
    {
      gsize start = i;

      while (i < len
             && (g_ascii_isalnum (line[i]) || line[i] == '-' || line[i] == '+' || line[i] == '.'))
        i++;
      return i > start ? i : 0;
    }
  for (; i < len; i++)
    {
      gchar c = line[i];

      if (c == '"')
        {
          i = skip_string (line, i, len);
          if (i == 0)
            return 0;
          i--;
        }
      else if (c == '{' || c == '[')
        {
          if (++depth > MAX_LINE_DEPTH)
            return 0;
        }
      else if (c == '}' || c == ']')
        {
          if (--depth == 0)
            return i + 1;
        }
    }
  return 0;
}

/* Called for each kept member with its value as written (@value_len bytes
 * at @value, quotes included for a string); FALSE stops the walk. */
typedef gboolean (*KeptValueFunc) (const KeptMember *kept, const gchar *value, gsize value_len,
                                   gpointer user_data);

/* Walks the object on @line and hands its kept members to @func in the
 * order they are written; FALSE when @line is not one flat-enough object or
 * @func stopped the walk. Both ways of reading a line go through here, so
 * that they agree on which lines have the shape of an image. Keys are
 * compared as written: docker and nerdctl never escape them. */
static gboolean
walk_line (const gchar *line, gsize len, KeptValueFunc func, gpointer user_data)
{
  gsize i = skip_space (line, 0, len);

  if (i >= len || line[i] != '{')
    return FALSE;
  i = skip_space (line, i + 1, len);
  if (i < len && line[i] == '}')
    return skip_space (line, i + 1, len) == len;
  while (i < len)
    {
      gsize key_start, key_len, key_end, value_start, value_end;
      const KeptMember *kept = NULL;

      if (line[i] != '"' || (key_end = skip_string (line, i, len)) == 0)
        return FALSE;
      key_start = i + 1;
      key_len = key_end - 1 - key_start;
      i = skip_space (line, key_end, len);
      if (i >= len || line[i] != ':')
        return FALSE;
      value_start = skip_space (line, i + 1, len);
      value_end = skip_value (line, value_start, len);
      if (value_end == 0)
        return FALSE;
      for (gsize k = 0; k < G_N_ELEMENTS (kept_members); k++)
        if (key_len == kept_members[k].cli_len
            && memcmp (line + key_start, kept_members[k].cli, key_len) == 0)
          {
            kept = &kept_members[k];
            break;
          }
      if (kept != NULL && !func (kept, line + value_start, value_end - value_start, user_data))
        return FALSE;
      i = skip_space (line, value_end, len);
      if (i < len && line[i] == ',')
        {
          i = skip_space (line, i + 1, len);
          continue;
        }
      if (i < len && line[i] == '}')
        return skip_space (line, i + 1, len) == len;
      return FALSE;
    }
  return FALSE;
}

/* ---- the json-glib way: a reduced line through JsonParser --------------- */

static gboolean
append_kept (const KeptMember *kept, const gchar *value, gsize value_len, gpointer user_data)
{
  GString *out = user_data;

  if (out->len > 1)
    g_string_append_c (out, ',');
  g_string_append_c (out, '"');
  g_string_append (out, kept->ours);
  g_string_append (out, "\":");
  g_string_append_len (out, value, (gssize)value_len);
  return TRUE;
}

/* Writes into @out the object on @line with only the kept members, renamed;
 * FALSE when @line is not one flat-enough object. */
static gboolean
reduce_line (const gchar *line, gsize len, GString *out)
{
  g_string_assign (out, "{");
  if (!walk_line (line, len, append_kept, out))
    return FALSE;
  g_string_append_c (out, '}');
  return TRUE;
}

/* The reduced line's object as json-glib makes it; NULL when json-glib
 * refuses it (or it is not an object). Only what is kept has to be UTF-8
 * text. */
static JsonObject *
parse_line_json_glib (JsonParser *parser, const gchar *line, gsize len, GString *reduced)
{
  g_autoptr (JsonNode) root = NULL;

  if (!reduce_line (line, len, reduced)
      || !g_utf8_validate (reduced->str, (gssize)reduced->len, NULL)
      || !json_parser_load_from_data (parser, reduced->str, (gssize)reduced->len, NULL))
    return NULL;
  root = json_parser_steal_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  return json_object_ref (json_node_get_object (root));
}

/* ---- images ------------------------------------------------------------- */

/* A member that is a non-empty string, else NULL. */
static const gchar *
get_string (JsonObject *object, const gchar *member)
{
  JsonNode *node = json_object_get_member (object, member);
  const gchar *value;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  value = json_node_get_string (node);
  return value != NULL && value[0] != '\0' ? value : NULL;
}

static gboolean
is_none (const gchar *value)
{
  return value == NULL || g_str_equal (value, "<none>");
}

/* A member's string as the result object holds it. */
static const gchar *
object_string (JsonObject *object, const gchar *member)
{
  JsonNode *node = json_object_get_member (object, member);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) ? json_node_get_string (node) : NULL;
}

/* Makes the line's object (from json-glib or the fast scanner, which build
 * the same one) the image as the result shows it; NULL when the line has no
 * ID. */
static Entry *
entry_from_object (JsonObject *object, const gchar *ns)
{
  const gchar *created = get_string (object, "created");
  JsonNode *size = json_object_get_member (object, "size");
  Entry *entry;

  if (get_string (object, "id") == NULL)
    return NULL;
  entry = g_new0 (Entry, 1);
  entry->object = json_object_ref (object);

  if (size != NULL && JSON_NODE_HOLDS_VALUE (size))
    {
      if (json_node_get_value_type (size) == G_TYPE_STRING)
        entry->has_size = berth_image_size_parse (json_node_get_string (size), &entry->size);
      else if (json_node_get_value_type (size) == G_TYPE_INT64 && json_node_get_int (size) >= 0)
        {
          entry->has_size = TRUE;
          entry->size = (guint64)json_node_get_int (size);
        }
    }
  if (entry->has_size && entry->size <= (guint64)G_MAXINT64)
    json_object_set_int_member (object, "size", (gint64)entry->size);
  else
    {
      entry->has_size = FALSE;
      json_object_set_null_member (object, "size");
    }
  if (get_string (object, "repository") == NULL)
    json_object_set_string_member (object, "repository", "<none>");
  if (get_string (object, "tag") == NULL)
    json_object_set_string_member (object, "tag", "<none>");
  if (is_none (get_string (object, "digest")))
    json_object_set_null_member (object, "digest");
  if (created != NULL)
    {
      g_autofree gchar *iso = berth_image_created_to_iso8601 (created);

      if (iso != NULL)
        json_object_set_string_member (object, "created", iso);
    }
  else
    json_object_set_null_member (object, "created");
  if (ns != NULL)
    json_object_set_string_member (object, "namespace", ns);
  else
    json_object_remove_member (object, "namespace");
  if (json_object_has_member (object, "platform") && get_string (object, "platform") == NULL)
    json_object_remove_member (object, "platform");

  entry->id = object_string (object, "id");
  entry->repository = object_string (object, "repository");
  entry->tag = object_string (object, "tag");
  entry->digest = object_string (object, "digest");
  entry->created = object_string (object, "created");
  entry->platform = object_string (object, "platform");
  return entry;
}

/* ---- the fast way: one pass, no tree ------------------------------------ */

/* The code unit written as four hex digits at @text, or -1. */
static gint
read_hex4 (const gchar *text)
{
  gint unit = 0;

  for (guint i = 0; i < 4; i++)
    {
      gint digit = g_ascii_xdigit_value (text[i]);

      if (digit < 0)
        return -1;
      unit = unit << 4 | digit;
    }
  return unit;
}

/* Writes into @out the text of the JSON string whose @len bytes between the
 * quotes are at @text. FALSE wherever json-glib has ways of its own (an
 * unknown escape, a lone surrogate, \u0000, a raw control character) or the
 * bytes are not UTF-8: the line then goes through json-glib, so that what it
 * does with them stays the outcome. */
static gboolean
unescape_string (const gchar *text, gsize len, GString *out)
{
  guchar high_bits = 0;
  gsize i = 0;

  g_string_truncate (out, 0);
  while (i < len)
    {
      gsize run = i;
      gint unit;
      gunichar c;

      while (i < len && (guchar)text[i] >= 0x20 && text[i] != '\\')
        high_bits |= (guchar)text[i++];
      if (i > run)
        g_string_append_len (out, text + run, (gssize)(i - run));
      if (i == len)
        break;
      /* A raw control character, or a backslash with nothing after it. */
      if (text[i] != '\\' || i + 1 == len)
        return FALSE;
      switch (text[i + 1])
        {
        case '"':
        case '\\':
        case '/':
          g_string_append_c (out, text[i + 1]);
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
          unit = len - i >= 6 ? read_hex4 (text + i + 2) : -1;
          if (unit <= 0 || (unit >= 0xdc00 && unit <= 0xdfff))
            return FALSE;
          c = (gunichar)unit;
          if (unit >= 0xd800 && unit <= 0xdbff)
            {
              gint low;

              /* A high surrogate and the low one right after it. */
              if (len - i < 12 || text[i + 6] != '\\' || text[i + 7] != 'u')
                return FALSE;
              low = read_hex4 (text + i + 8);
              if (low < 0xdc00 || low > 0xdfff)
                return FALSE;
              c = 0x10000 + (((gunichar)unit - 0xd800) << 10) + ((gunichar)low - 0xdc00);
              i += 6;
            }
          g_string_append_unichar (out, c);
          i += 4;
          break;
        default:
          return FALSE;
        }
      i += 2;
    }
  return (high_bits & 0x80) == 0 || g_utf8_validate (text, (gssize)len, NULL);
}

typedef enum
{
  VALUE_ABSENT,
  VALUE_STRING,
  VALUE_INT,
  VALUE_BOOLEAN,
  VALUE_NULL,
} ValueKind;

/* A kept member as the scanner read it: its last value, and the place of
 * its first one (json-glib keeps a member written twice there, with the
 * last value). */
typedef struct
{
  ValueKind kind;
  guint place;
  GString *text; /* VALUE_STRING, unescaped */
  gint64 number; /* VALUE_INT */
} Slot;

typedef struct
{
  Slot slots[N_KEPT];
  guint n_places;
} ScanState;

static void
scan_state_init (ScanState *state)
{
  for (guint k = 0; k < N_KEPT; k++)
    state->slots[k].text = g_string_sized_new (128);
}

static void
scan_state_clear (ScanState *state)
{
  for (guint k = 0; k < N_KEPT; k++)
    g_string_free (g_steal_pointer (&state->slots[k].text), TRUE);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ScanState, scan_state_clear)

/* Reads the value written as @value (@len bytes, as skip_value() delimits
 * it) into @slot; FALSE when this scanner is not sure what json-glib makes
 * of it: nested values, numbers other than plain integers, anything
 * unexpected. */
static gboolean
scan_value (const gchar *value, gsize len, Slot *slot)
{
  gsize start = value[0] == '-' ? 1 : 0;
  gint64 number = 0;

  if (value[0] == '"')
    {
      slot->kind = VALUE_STRING;
      return unescape_string (value + 1, len - 2, slot->text);
    }
  if (len == 4 && memcmp (value, "null", 4) == 0)
    {
      slot->kind = VALUE_NULL;
      return TRUE;
    }
  if ((len == 4 && memcmp (value, "true", 4) == 0) || (len == 5 && memcmp (value, "false", 5) == 0))
    {
      slot->kind = VALUE_BOOLEAN;
      return TRUE;
    }
  /* Up to 18 digits always fit; a leading zero, "-0" and longer numbers are
   * left to json-glib. */
  if (len == 1 && value[0] == '0')
    start = 0;
  else if (len == start || len - start > 18 || value[start] < '1' || value[start] > '9')
    return FALSE;
  for (gsize i = start; i < len; i++)
    {
      if (!g_ascii_isdigit (value[i]))
        return FALSE;
      number = number * 10 + (value[i] - '0');
    }
  slot->kind = VALUE_INT;
  slot->number = start == 1 ? -number : number;
  return TRUE;
}

static gboolean
scan_kept (const KeptMember *kept, const gchar *value, gsize value_len, gpointer user_data)
{
  ScanState *state = user_data;
  Slot *slot = &state->slots[kept - kept_members];

  if (slot->kind == VALUE_ABSENT)
    slot->place = state->n_places++;
  return scan_value (value, value_len, slot);
}

/* The member as get_string() would see it: a non-empty string, else NULL. */
static const gchar *
slot_string (const Slot *slot)
{
  return slot->kind == VALUE_STRING && slot->text->len > 0 ? slot->text->str : NULL;
}

static JsonNode *
string_node (const gchar *text)
{
  return json_node_init_string (json_node_alloc (), text);
}

/* A string node's text; NULL for a null node or none. */
static const gchar *
node_string (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) ? json_node_get_string (node) : NULL;
}

static JsonNode *
string_node_or_none (const gchar *text)
{
  return string_node (text != NULL ? text : "<none>");
}

typedef enum
{
  SCAN_NOT_SURE,
  SCAN_SKIPPED,
  SCAN_IMAGE,
} ScanVerdict;

/* The image on @line as entry_from_object() would make it from json-glib's
 * object, built in one go from what the scanner read: the same members,
 * values and order. SCAN_NOT_SURE sends the line to json-glib. */
static ScanVerdict
scan_line (const gchar *line, gsize len, const gchar *ns, ScanState *state, Entry **entry_out)
{
  static const guint appended[]
      = { KEPT_SIZE, KEPT_REPOSITORY, KEPT_TAG, KEPT_DIGEST, KEPT_CREATED };
  Slot *slots = state->slots;
  JsonNode *nodes[N_KEPT] = { NULL };
  guint by_place[N_KEPT];
  const gchar *created;
  g_autofree gchar *iso = NULL;
  gboolean has_size = FALSE;
  guint64 size = 0;
  Entry *entry;

  *entry_out = NULL;
  for (guint k = 0; k < N_KEPT; k++)
    slots[k].kind = VALUE_ABSENT;
  state->n_places = 0;
  if (!walk_line (line, len, scan_kept, state))
    return SCAN_NOT_SURE;
  if (slot_string (&slots[KEPT_ID]) == NULL)
    return SCAN_SKIPPED;

  if (slots[KEPT_SIZE].kind == VALUE_STRING)
    has_size = berth_image_size_parse (slots[KEPT_SIZE].text->str, &size);
  else if (slots[KEPT_SIZE].kind == VALUE_INT && slots[KEPT_SIZE].number >= 0)
    {
      has_size = TRUE;
      size = (guint64)slots[KEPT_SIZE].number;
    }
  has_size = has_size && size <= (guint64)G_MAXINT64;
  created = slot_string (&slots[KEPT_CREATED]);
  if (created != NULL)
    iso = berth_image_created_to_iso8601 (created);

  nodes[KEPT_ID] = string_node (slots[KEPT_ID].text->str);
  entry = g_new0 (Entry, 1);
  nodes[KEPT_REPOSITORY] = string_node_or_none (slot_string (&slots[KEPT_REPOSITORY]));
  nodes[KEPT_TAG] = string_node_or_none (slot_string (&slots[KEPT_TAG]));
  nodes[KEPT_DIGEST] = is_none (slot_string (&slots[KEPT_DIGEST]))
                           ? json_node_init_null (json_node_alloc ())
                           : string_node (slots[KEPT_DIGEST].text->str);
  nodes[KEPT_SIZE] = has_size ? json_node_init_int (json_node_alloc (), (gint64)size)
                              : json_node_init_null (json_node_alloc ());
  nodes[KEPT_CREATED] = created != NULL ? string_node (iso != NULL ? iso : created)
                                        : json_node_init_null (json_node_alloc ());
  /* A platform that is not a non-empty string is dropped. */
  if (slot_string (&slots[KEPT_PLATFORM]) != NULL)
    nodes[KEPT_PLATFORM] = string_node (slots[KEPT_PLATFORM].text->str);

  /* The sort keys, borrowed from the nodes the object will own. */
  entry->id = json_node_get_string (nodes[KEPT_ID]);
  entry->repository = json_node_get_string (nodes[KEPT_REPOSITORY]);
  entry->tag = json_node_get_string (nodes[KEPT_TAG]);
  entry->digest = node_string (nodes[KEPT_DIGEST]);
  entry->created = node_string (nodes[KEPT_CREATED]);
  entry->platform = node_string (nodes[KEPT_PLATFORM]);
  entry->object = json_object_new ();
  /* A size past G_MAXINT64 is null in the result but, as in
   * entry_from_object(), still sorts. */
  entry->has_size = has_size;
  entry->size = size;
  /* Members the line had stay where it had them; the others come after, in
   * the order entry_from_object() adds them, then the namespace. */
  for (guint k = 0; k < N_KEPT; k++)
    if (slots[k].kind != VALUE_ABSENT)
      by_place[slots[k].place] = k;
  for (guint p = 0; p < state->n_places; p++)
    if (nodes[by_place[p]] != NULL)
      json_object_set_member (entry->object, kept_members[by_place[p]].ours,
                              g_steal_pointer (&nodes[by_place[p]]));
  for (guint i = 0; i < G_N_ELEMENTS (appended); i++)
    if (nodes[appended[i]] != NULL)
      json_object_set_member (entry->object, kept_members[appended[i]].ours,
                              g_steal_pointer (&nodes[appended[i]]));
  if (ns != NULL)
    json_object_set_string_member (entry->object, "namespace", ns);

  *entry_out = entry;
  return SCAN_IMAGE;
}

JsonObject *
berth_image_list_scan_line (const gchar *line, gsize len, const gchar *ns, gboolean *skipped_out)
{
  g_auto (ScanState) state = { 0 };
  Entry *entry = NULL;
  ScanVerdict verdict;
  JsonObject *object;

  g_return_val_if_fail (line != NULL || len == 0, NULL);
  g_return_val_if_fail (skipped_out != NULL, NULL);

  scan_state_init (&state);
  verdict = scan_line (line, len, ns, &state, &entry);
  *skipped_out = verdict == SCAN_SKIPPED;
  if (entry == NULL)
    return NULL;
  object = g_steal_pointer (&entry->object);
  entry_free (entry);
  return object;
}

static gint
compare_nullable (const gchar *a, const gchar *b)
{
  if (a == NULL || b == NULL)
    return (a != NULL) - (b != NULL);
  return strcmp (a, b);
}

static gint
compare_entries (gconstpointer pa, gconstpointer pb)
{
  const Entry *a = *(const Entry *const *)pa;
  const Entry *b = *(const Entry *const *)pb;
  gint c;

  if ((c = strcmp (a->id, b->id)) != 0 || (c = strcmp (a->repository, b->repository)) != 0
      || (c = strcmp (a->tag, b->tag)) != 0
      || (c = compare_nullable (a->platform, b->platform)) != 0
      || (c = compare_nullable (a->digest, b->digest)) != 0
      || (c = compare_nullable (a->created, b->created)) != 0)
    return c;
  if (a->has_size != b->has_size)
    return a->has_size ? 1 : -1;
  return a->size < b->size ? -1 : a->size > b->size;
}

/* A run of whole lines, parsed on its own (on a worker thread when the
 * output is large). */
typedef struct
{
  const gchar *data;
  gsize len;
  const gchar *ns;
  BerthImageListParseFlags flags;
  GPtrArray *entries; /* Entry */
  guint n_skipped;
  guint n_json_glib;
} Chunk;

static void
parse_chunk (Chunk *chunk)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GString) reduced = g_string_sized_new (1024);
  g_auto (ScanState) state = { 0 };
  gboolean fast = (chunk->flags & BERTH_IMAGE_LIST_PARSE_JSON_GLIB_ONLY) == 0;
  const gchar *data = chunk->data;
  gsize len = chunk->len;
  gsize pos = 0;

  scan_state_init (&state);
  chunk->entries = g_ptr_array_new_with_free_func ((GDestroyNotify)entry_free);
  while (pos < len)
    {
      const gchar *line = data + pos;
      const gchar *newline = memchr (line, '\n', len - pos);
      gsize line_len = newline != NULL ? (gsize)(newline - line) : len - pos;
      ScanVerdict verdict;
      Entry *entry = NULL;
      gsize blank = 0;

      pos += line_len + (newline != NULL ? 1 : 0);
      while (line_len > 0 && (line[line_len - 1] == '\r' || line[line_len - 1] == ' '))
        line_len--;
      while (blank < line_len && g_ascii_isspace (line[blank]))
        blank++;
      if (blank == line_len)
        continue;
      if (line_len > BERTH_IMAGE_LIST_MAX_LINE || memchr (line, '\0', line_len) != NULL)
        {
          chunk->n_skipped++;
          continue;
        }

      /* The scanner reads what the CLIs print; whatever it is not sure of
       * goes through json-glib as before, which has the last word. */
      verdict = fast ? scan_line (line, line_len, chunk->ns, &state, &entry) : SCAN_NOT_SURE;
      if (verdict == SCAN_NOT_SURE)
        {
          g_autoptr (JsonObject) object = NULL;

          if (parser == NULL)
            parser = json_parser_new ();
          chunk->n_json_glib++;
          object = parse_line_json_glib (parser, line, line_len, reduced);
          entry = object != NULL ? entry_from_object (object, chunk->ns) : NULL;
        }
      if (entry == NULL)
        {
          chunk->n_skipped++;
          continue;
        }
      g_ptr_array_add (chunk->entries, entry);
    }
}

static gpointer
parse_chunk_thread (gpointer data)
{
  parse_chunk (data);
  return NULL;
}

/* Below this much output one thread is quicker than starting more. */
#define PARALLEL_MIN_BYTES (256 * 1024)
#define MAX_THREADS 8

JsonNode *
berth_image_list_parse (const gchar *data, gsize len, const gchar *ns, BerthImageListStats *stats)
{
  return berth_image_list_parse_with_flags (data, len, ns, BERTH_IMAGE_LIST_PARSE_DEFAULT, stats,
                                            NULL);
}

JsonNode *
berth_image_list_parse_with_flags (const gchar *data, gsize len, const gchar *ns,
                                   BerthImageListParseFlags flags, BerthImageListStats *stats,
                                   guint *n_json_glib_out)
{
  Chunk chunks[MAX_THREADS] = { { 0 } };
  GThread *threads[MAX_THREADS] = { NULL };
  g_autoptr (GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify)entry_free);
  g_autoptr (JsonArray) array = NULL;
  BerthImageListStats local = { 0 };
  guint n_json_glib = 0;
  guint n_chunks = 1;
  gsize start = 0;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  if (len >= PARALLEL_MIN_BYTES)
    n_chunks = CLAMP (g_get_num_processors (), 1, MAX_THREADS);
  /* Chunks of whole lines: each but the last ends just after a newline. */
  for (guint i = 0; i < n_chunks; i++)
    {
      gsize end = i + 1 == n_chunks ? len : MAX (start, len / n_chunks * (i + 1));
      const gchar *newline;

      if (end < len && (newline = memchr (data + end, '\n', len - end)) != NULL)
        end = (gsize)(newline - data) + 1;
      else if (end < len)
        end = len;
      chunks[i].data = data + start;
      chunks[i].len = end - start;
      chunks[i].ns = ns;
      chunks[i].flags = flags;
      start = end;
    }
  for (guint i = 1; i < n_chunks; i++)
    threads[i] = g_thread_try_new ("berth-image-list", parse_chunk_thread, &chunks[i], NULL);
  parse_chunk (&chunks[0]);
  for (guint i = 1; i < n_chunks; i++)
    {
      if (threads[i] != NULL)
        g_thread_join (threads[i]);
      else
        parse_chunk (&chunks[i]);
    }

  /* In the CLI's order, so that the images past the limit are the last. */
  for (guint i = 0; i < n_chunks; i++)
    {
      local.n_skipped += chunks[i].n_skipped;
      n_json_glib += chunks[i].n_json_glib;
      for (guint j = 0; j < chunks[i].entries->len; j++)
        {
          if (entries->len >= BERTH_IMAGE_LIST_MAX_IMAGES)
            {
              local.n_dropped++;
              continue;
            }
          g_ptr_array_add (entries, g_ptr_array_index (chunks[i].entries, j));
          chunks[i].entries->pdata[j] = NULL;
        }
      g_ptr_array_unref (chunks[i].entries);
    }

  g_ptr_array_sort (entries, compare_entries);
  array = json_array_sized_new (entries->len);
  for (guint i = 0; i < entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (entries, i);

      json_array_add_object_element (array, g_steal_pointer (&entry->object));
    }
  local.n_images = entries->len;
  if (stats != NULL)
    *stats = local;
  if (n_json_glib_out != NULL)
    *n_json_glib_out = n_json_glib;
  /* The node takes its own reference: @array's goes with it at return. */
  return json_node_init_array (json_node_alloc (), array);
}

gboolean
berth_image_list_equal (JsonNode *a, JsonNode *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return json_node_equal (a, b);
}

/* ---- checks ------------------------------------------------------------- */

gboolean
berth_image_ref_check (const gchar *ref, const gchar *what, GError **error)
{
  gsize len;

  g_return_val_if_fail (what != NULL, FALSE);

  if (ref == NULL || ref[0] == '\0')
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is empty; give an image reference such as busybox:latest", what);
      return FALSE;
    }
  len = strlen (ref);
  if (len > MAX_REF_LENGTH)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is %" G_GSIZE_FORMAT " bytes long; an image reference has at most %d", what,
                   len, MAX_REF_LENGTH);
      return FALSE;
    }
  if (ref[0] == '-')
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s \"%s\" starts with '-'; an image reference starts with a letter or a digit",
                   what, ref);
      return FALSE;
    }
  for (gsize i = 0; i < len; i++)
    {
      guchar c = (guchar)ref[i];

      if (g_ascii_isalnum (c) || strchr ("._-:/@+", c) != NULL)
        continue;
      {
        g_autofree gchar *shown = g_utf8_make_valid (ref, (gssize)len);
        g_autofree gchar *escaped = g_strescape (shown, NULL);

        g_set_error (
            error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
            "%s \"%s\" has a character an image reference cannot have (byte %" G_GSIZE_FORMAT
            "); use letters, digits and . _ - : / @ +",
            what, escaped, i + 1);
        return FALSE;
      }
    }
  return TRUE;
}

gboolean
berth_image_namespace_check (const gchar *ns, GError **error)
{
  gsize len = ns != NULL ? strlen (ns) : 0;
  gboolean valid = len > 0 && len <= MAX_NAMESPACE_LENGTH;

  for (gsize i = 0; valid && i < len; i++)
    {
      gchar c = ns[i];

      if (g_ascii_isalnum (c))
        continue;
      /* A separator sits between two letters or digits. */
      valid = strchr ("._-", c) != NULL && i > 0 && i + 1 < len && g_ascii_isalnum (ns[i - 1])
              && g_ascii_isalnum (ns[i + 1]);
    }
  if (valid)
    return TRUE;
  {
    g_autofree gchar *shown = g_utf8_make_valid (ns != NULL ? ns : "", -1);
    g_autofree gchar *escaped = g_strescape (shown, NULL);

    g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                 "namespace \"%s\" is not a containerd namespace; use letters and digits, with "
                 "single '.', '_' or '-' between them, like \"k8s.io\" (at most %d characters)",
                 escaped, MAX_NAMESPACE_LENGTH);
  }
  return FALSE;
}

gboolean
berth_image_context_check (const gchar *dir, GError **error)
{
  if (dir == NULL || !g_path_is_absolute (dir))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "The build context \"%s\" is not an absolute path; give the directory's full "
                   "path (berthctl images build does this for you)",
                   dir != NULL ? dir : "");
      return FALSE;
    }
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                   "The build context %s is not a directory; give the directory holding the "
                   "Dockerfile",
                   dir);
      return FALSE;
    }
  return TRUE;
}

/* ---- CLI results -------------------------------------------------------- */

/* TRUE when @data nests arrays and objects at most @max_depth deep. */
static gboolean
json_depth_ok (const gchar *data, gsize len, guint max_depth)
{
  guint depth = 0;
  gboolean in_string = FALSE;

  for (gsize i = 0; i < len; i++)
    {
      gchar c = data[i];

      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }
      if (c == '"')
        in_string = TRUE;
      else if (c == '{' || c == '[')
        {
          if (++depth > max_depth)
            return FALSE;
        }
      else if ((c == '}' || c == ']') && depth > 0)
        depth--;
    }
  return TRUE;
}

JsonNode *
berth_image_scan_report_parse (const gchar *data, gsize len, const gchar *program, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  JsonNode *root;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (program != NULL, NULL);

  if (len == 0 || memchr (data, '\0', len) != NULL || !g_utf8_validate (data, (gssize)len, NULL))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s printed %s where a JSON report was expected", program,
                   len == 0 ? "nothing" : "something that is not UTF-8 text");
      return NULL;
    }
  if (!json_depth_ok (data, len, MAX_REPORT_DEPTH))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s printed JSON nested more than %d levels deep; that is not a report", program,
                   MAX_REPORT_DEPTH);
      return NULL;
    }
  /* RFC 8259 only: json-glib alone reads wider JSON as other values, and
   * leaks what it built of a document it then refuses. */
  root = berth_json_parse (data, len, MAX_REPORT_DEPTH, "the report", &local_error);
  if (root == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s printed something that is not a JSON report: %s", program,
                   local_error->message);
      return NULL;
    }
  return root;
}

static gchar *
bytes_to_text (GBytes *bytes)
{
  gsize len = 0;
  const gchar *data = bytes != NULL ? g_bytes_get_data (bytes, &len) : NULL;

  if (data == NULL || len == 0)
    return g_strdup ("");
  return g_utf8_make_valid (data, (gssize)len);
}

/* The last @max_lines non-empty lines of @text, within @max_bytes. */
static gchar *
text_tail (const gchar *text, guint max_lines, gsize max_bytes)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (GPtrArray) kept = g_ptr_array_new ();
  g_autoptr (GString) out = g_string_new (NULL);
  guint n = g_strv_length (lines);

  for (guint i = n; i > 0 && kept->len < max_lines; i--)
    {
      g_strstrip (lines[i - 1]);
      if (lines[i - 1][0] != '\0')
        g_ptr_array_insert (kept, 0, lines[i - 1]);
    }
  for (guint i = 0; i < kept->len; i++)
    {
      if (out->len > 0)
        g_string_append (out, " / ");
      g_string_append (out, g_ptr_array_index (kept, i));
    }
  if (out->len > max_bytes)
    {
      const gchar *start = g_utf8_find_next_char (out->str + out->len - max_bytes, NULL);

      return g_strconcat ("…", start != NULL ? start : "", NULL);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static gboolean
contains_nocase (const gchar *haystack, const gchar *needle)
{
  g_autofree gchar *lower = g_ascii_strdown (haystack, -1);

  return strstr (lower, needle) != NULL;
}

gboolean
berth_image_cli_check (const gchar *const *argv, const BerthSubprocessResult *result,
                       GError **error)
{
  g_autoptr (GString) command = g_string_new (NULL);
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;
  g_autofree gchar *tail = NULL;
  gint code = BERTH_ERROR_FAILED;

  g_return_val_if_fail (argv != NULL && argv[0] != NULL, FALSE);
  g_return_val_if_fail (result != NULL, FALSE);

  if (result->exit_status == 0)
    return TRUE;

  for (gsize i = 0; argv[i] != NULL; i++)
    {
      g_autofree gchar *base = i == 0 ? g_path_get_basename (argv[0]) : NULL;

      if (i > 0)
        g_string_append_c (command, ' ');
      g_string_append (command, base != NULL ? base : argv[i]);
    }
  err = bytes_to_text (result->stderr_bytes);
  out = bytes_to_text (result->stdout_bytes);
  /* What went wrong is on stderr; a CLI that says nothing there may have
   * said it on stdout. */
  tail = text_tail (err[0] != '\0' ? err : out, ERROR_TAIL_LINES, ERROR_TAIL_BYTES);
  if (contains_nocase (tail, "no such image") || contains_nocase (tail, ": not found"))
    code = BERTH_ERROR_NOT_FOUND;
  else if (contains_nocase (tail, "cannot connect to the docker daemon")
           || contains_nocase (tail, "connection refused")
           || contains_nocase (tail, "failed to dial"))
    code = BERTH_ERROR_BACKEND;
  g_set_error (error, BERTH_ERROR, code, "`%s` failed with exit status %d%s%s", command->str,
               result->exit_status, tail[0] != '\0' ? ": " : " and printed nothing", tail);
  return FALSE;
}

gchar *
berth_image_cli_output (const BerthSubprocessResult *result)
{
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;
  g_autofree gchar *all = NULL;
  gsize len;

  g_return_val_if_fail (result != NULL, NULL);

  out = bytes_to_text (result->stdout_bytes);
  err = bytes_to_text (result->stderr_bytes);
  all = g_strconcat (out,
                     out[0] != '\0' && err[0] != '\0' && !g_str_has_suffix (out, "\n") ? "\n" : "",
                     err, NULL);
  len = strlen (all);
  if (len > MAX_OUTPUT)
    {
      const gchar *start = g_utf8_find_next_char (all + len - MAX_OUTPUT, NULL);

      return g_strconcat ("…\n", start != NULL ? start : "", NULL);
    }
  return g_steal_pointer (&all);
}

/* ---- operation output --------------------------------------------------- */

void
berth_image_result_set_output (GTask *task, const gchar *output)
{
  g_return_if_fail (G_IS_TASK (task));

  g_object_set_data_full (G_OBJECT (task), OUTPUT_KEY, g_strdup (output), g_free);
}

const gchar *
berth_image_result_get_output (GAsyncResult *result)
{
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);

  return g_object_get_data (G_OBJECT (result), OUTPUT_KEY);
}

gboolean
berth_image_list_is_system_image (const gchar *repository)
{
  g_return_val_if_fail (repository != NULL, FALSE);
  return g_str_has_prefix (repository, "rancher/") || g_str_equal (repository, "moby/buildkit");
}

JsonNode *
berth_image_list_without_system_images (JsonNode *images)
{
  g_autoptr (JsonArray) kept = json_array_new ();
  JsonArray *all;

  g_return_val_if_fail (images != NULL && JSON_NODE_HOLDS_ARRAY (images), NULL);

  all = json_node_get_array (images);
  for (guint i = 0; i < json_array_get_length (all); i++)
    {
      JsonNode *image = json_array_get_element (all, i);
      const gchar *repository = NULL;

      if (JSON_NODE_HOLDS_OBJECT (image))
        {
          JsonNode *node = json_object_get_member (json_node_get_object (image), "repository");

          if (node != NULL && JSON_NODE_HOLDS_VALUE (node)
              && json_node_get_value_type (node) == G_TYPE_STRING)
            repository = json_node_get_string (node);
        }
      if (repository != NULL && berth_image_list_is_system_image (repository))
        continue;
      json_array_add_element (kept, json_node_copy (image));
    }
  return json_node_init_array (json_node_alloc (), kept);
}
