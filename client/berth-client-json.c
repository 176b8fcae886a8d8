/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JSON as libberth-client reads it from berthd and writes it to berthd:
 * bounded before json-glib sees it, and written as RFC 8259 text (json-glib
 * 1.6's generator writes U+001F raw inside strings, and 1e20 as "1e+20.0",
 * neither of which is JSON, and berthd reads JSON strictly). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "berth-client-event.h"

/* ---- reading ------------------------------------------------------------ */

/* How deep @data nests, counted outside strings; stops counting past
 * BERTH_CLIENT_MAX_JSON_DEPTH. G_MAXUINT when a character outside strings
 * is none of JSON's: json-glib also reads comments and quotes of other
 * kinds, which would hide brackets from this count. Other text that is not
 * JSON is left for the parser to refuse. */
static guint
nesting_depth (const gchar *data, gsize length)
{
  guint depth = 0;
  guint deepest = 0;
  gboolean in_string = FALSE;

  for (gsize i = 0; i < length && deepest <= BERTH_CLIENT_MAX_JSON_DEPTH; i++)
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
      else if (c == '[' || c == '{')
        deepest = MAX (deepest, ++depth);
      else if ((c == ']' || c == '}') && depth > 0)
        depth--;
      else if (!g_ascii_isalnum (c) && strchr (" \t\r\n,:]}+-.", c) == NULL)
        return G_MAXUINT;
    }
  return deepest;
}

/* Whether every string and member name under @node is UTF-8: json-glib
 * turns escapes such as a lone "\ud800" into bytes that are not. */
static gboolean
strings_are_utf8 (JsonNode *node)
{
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    return g_utf8_validate (json_node_get_string (node), -1, NULL);
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        if (!strings_are_utf8 (json_array_get_element (array, i)))
          return FALSE;
    }
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObjectIter iter;
      const gchar *name;
      JsonNode *value;

      json_object_iter_init_ordered (&iter, json_node_get_object (node));
      while (json_object_iter_next_ordered (&iter, &name, &value))
        if (!g_utf8_validate (name, -1, NULL) || !strings_are_utf8 (value))
          return FALSE;
    }
  return TRUE;
}

JsonNode *
berth_client_parse_json (const gchar *data, gsize length, const gchar *what, GError **error)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GError) local_error = NULL;
  JsonNode *root;
  guint depth;

  g_return_val_if_fail (data != NULL || length == 0, NULL);

  if (length == 0)
    {
      g_set_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL, "%s is empty", what);
      return NULL;
    }
  if (length > BERTH_CLIENT_MAX_EVENT_SIZE)
    {
      g_set_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL,
                   "%s is %" G_GSIZE_FORMAT " bytes, more than the %d this client reads", what,
                   length, BERTH_CLIENT_MAX_EVENT_SIZE);
      return NULL;
    }
  if (memchr (data, '\0', length) != NULL || !g_utf8_validate (data, (gssize)length, NULL))
    {
      g_set_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL, "%s is not UTF-8 text",
                   what);
      return NULL;
    }
  depth = nesting_depth (data, length);
  if (depth == G_MAXUINT)
    {
      g_set_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL,
                   "%s is not JSON: it has a character that JSON has only inside strings", what);
      return NULL;
    }
  if (depth > BERTH_CLIENT_MAX_JSON_DEPTH)
    {
      g_set_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL,
                   "%s nests deeper than the %d levels this client reads", what,
                   BERTH_CLIENT_MAX_JSON_DEPTH);
      return NULL;
    }
  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, data, (gssize)length, &local_error))
    {
      /* json-glib repeats the text it refused, bad escapes and all. */
      g_autofree gchar *reason = g_utf8_make_valid (local_error->message, -1);

      g_set_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL, "%s is not JSON: %s",
                   what, reason);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL)
    {
      g_set_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL, "%s is empty", what);
      return NULL;
    }
  /* Its depth was bounded above, and so is this walk. */
  if (!strings_are_utf8 (root))
    {
      g_set_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL,
                   "%s has a string that is not UTF-8 (an escape of half a surrogate pair?)", what);
      return NULL;
    }
  return json_node_ref (root);
}

/* ---- writing -------------------------------------------------------------- */

static void
append_string (GString *out, const gchar *text)
{
  g_string_append_c (out, '"');
  for (const gchar *p = text; *p != '\0'; p++)
    {
      guchar c = (guchar)*p;

      switch (c)
        {
        case '"':
          g_string_append (out, "\\\"");
          break;
        case '\\':
          g_string_append (out, "\\\\");
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
          if (c < 0x20)
            g_string_append_printf (out, "\\u%04x", c);
          else
            g_string_append_c (out, (gchar)c);
        }
    }
  g_string_append_c (out, '"');
}

static void
append_double (GString *out, gdouble value)
{
  gchar buffer[G_ASCII_DTOSTR_BUF_SIZE];

  /* JSON has no infinity and no NaN. */
  if (!isfinite (value))
    {
      g_string_append (out, "null");
      return;
    }
  g_ascii_formatd (buffer, sizeof buffer, "%.17g", value);
  g_string_append (out, buffer);
  /* Still a double when read back. */
  if (strpbrk (buffer, ".eE") == NULL)
    g_string_append (out, ".0");
}

static void
append_node (GString *out, JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        const gchar *name;
        JsonNode *value;
        gboolean first = TRUE;

        g_string_append_c (out, '{');
        json_object_iter_init_ordered (&iter, json_node_get_object (node));
        while (json_object_iter_next_ordered (&iter, &name, &value))
          {
            if (!first)
              g_string_append_c (out, ',');
            first = FALSE;
            append_string (out, name);
            g_string_append_c (out, ':');
            append_node (out, value);
          }
        g_string_append_c (out, '}');
        break;
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        g_string_append_c (out, '[');
        for (guint i = 0; i < json_array_get_length (array); i++)
          {
            if (i > 0)
              g_string_append_c (out, ',');
            append_node (out, json_array_get_element (array, i));
          }
        g_string_append_c (out, ']');
        break;
      }
    case JSON_NODE_VALUE:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_STRING:
          append_string (out, json_node_get_string (node));
          break;
        case G_TYPE_BOOLEAN:
          g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
          break;
        case G_TYPE_DOUBLE:
          append_double (out, json_node_get_double (node));
          break;
        default:
          g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
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
berth_client_json_to_string (JsonNode *node)
{
  GString *out = g_string_new (NULL);

  g_return_val_if_fail (node != NULL, NULL);
  append_node (out, node);
  return g_string_free (out, FALSE);
}
