/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The fake k3s's HTTP/1.1 request reader: enough of RFC 9112 for kubectl
 * and libsoup (request line, a few headers, Content-Length bodies). */
#include "fake-k3s.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_BODY (1024 * 1024)

static bool
copy_field (char *out, size_t size, const char *from, size_t len)
{
  if (len >= size)
    return false;
  memcpy (out, from, len);
  out[len] = '\0';
  return true;
}

static bool
is_token (const char *text, size_t len)
{
  if (len == 0)
    return false;
  for (size_t i = 0; i < len; i++)
    if (!isalnum ((unsigned char)text[i]) && strchr ("!#$%&'*+-.^_`|~", text[i]) == NULL)
      return false;
  return true;
}

/* Whether the comma-separated @value holds @word, ignoring case. */
static bool
list_has (const char *value, size_t len, const char *word)
{
  size_t word_len = strlen (word);

  for (size_t i = 0; i < len;)
    {
      size_t start, end;

      while (i < len && (value[i] == ' ' || value[i] == '\t' || value[i] == ','))
        i++;
      start = i;
      while (i < len && value[i] != ',')
        i++;
      end = i;
      while (end > start && (value[end - 1] == ' ' || value[end - 1] == '\t'))
        end--;
      if (end - start == word_len && strncasecmp (value + start, word, word_len) == 0)
        return true;
    }
  return false;
}

int
fake_http_parse_head (const char *head, size_t len, FakeRequest *request)
{
  const char *end = head + len;
  const char *line_end = memchr (head, '\n', len);
  const char *sp1, *sp2, *target_end, *question;
  bool http10;
  bool keep_alive = false;

  memset (request, 0, sizeof *request);
  if (line_end == NULL || memchr (head, '\0', len) != NULL)
    return 400;
  /* METHOD SP TARGET SP HTTP/1.x CRLF */
  sp1 = memchr (head, ' ', (size_t)(line_end - head));
  if (sp1 == NULL || !is_token (head, (size_t)(sp1 - head))
      || !copy_field (request->method, sizeof request->method, head, (size_t)(sp1 - head)))
    return 400;
  sp2 = memchr (sp1 + 1, ' ', (size_t)(line_end - sp1 - 1));
  if (sp2 == NULL || sp1[1] != '/')
    return 400;
  target_end = sp2;
  if ((size_t)(line_end - sp2) < 9 || strncmp (sp2 + 1, "HTTP/1.", 7) != 0
      || (sp2[8] != '0' && sp2[8] != '1')
      || !(sp2 + 9 == line_end || (sp2[9] == '\r' && sp2 + 10 == line_end)))
    return 400;
  http10 = sp2[8] == '0';
  question = memchr (sp1 + 1, '?', (size_t)(target_end - sp1 - 1));
  if (!copy_field (request->path, sizeof request->path, sp1 + 1,
                   (size_t)((question != NULL ? question : target_end) - sp1 - 1)))
    return 414;
  if (question != NULL
      && !copy_field (request->query, sizeof request->query, question + 1,
                      (size_t)(target_end - question - 1)))
    return 414;

  for (const char *line = line_end + 1; line < end;)
    {
      const char *next = memchr (line, '\n', (size_t)(end - line));
      const char *stop = next != NULL ? next : end;
      const char *colon;
      const char *value;
      size_t value_len;

      if (stop > line && stop[-1] == '\r')
        stop--;
      if (stop == line)
        break; /* the empty line that ends the head */
      colon = memchr (line, ':', (size_t)(stop - line));
      if (colon == NULL || !is_token (line, (size_t)(colon - line)))
        return 400;
      value = colon + 1;
      while (value < stop && (*value == ' ' || *value == '\t'))
        value++;
      value_len = (size_t)(stop - value);
      while (value_len > 0 && (value[value_len - 1] == ' ' || value[value_len - 1] == '\t'))
        value_len--;
      if ((size_t)(colon - line) == 6 && strncasecmp (line, "Accept", 6) == 0)
        {
          /* Several Accept headers make one list. */
          size_t used = strlen (request->accept);

          if (used + value_len + 2 < sizeof request->accept)
            {
              if (used > 0)
                request->accept[used++] = ',';
              copy_field (request->accept + used, sizeof request->accept - used, value, value_len);
            }
        }
      else if ((size_t)(colon - line) == 14 && strncasecmp (line, "Content-Length", 14) == 0)
        {
          char number[24];
          char *number_end = NULL;
          unsigned long long length;

          if (!copy_field (number, sizeof number, value, value_len) || number[0] < '0'
              || number[0] > '9')
            return 400;
          errno = 0;
          length = strtoull (number, &number_end, 10);
          if (errno != 0 || *number_end != '\0')
            return 400;
          if (length > MAX_BODY)
            return 413;
          request->content_length = (size_t)length;
        }
      else if ((size_t)(colon - line) == 17 && strncasecmp (line, "Transfer-Encoding", 17) == 0)
        return 501;
      else if ((size_t)(colon - line) == 10 && strncasecmp (line, "Connection", 10) == 0)
        {
          if (list_has (value, value_len, "close"))
            request->close = true;
          if (list_has (value, value_len, "keep-alive"))
            keep_alive = true;
        }
      line = next != NULL ? next + 1 : end;
    }
  if (http10 && !keep_alive)
    request->close = true;
  return 0;
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

bool
fake_http_query_get (const char *query, const char *name, char *out, size_t size)
{
  size_t name_len = strlen (name);

  for (const char *p = query; *p != '\0';)
    {
      const char *amp = strchr (p, '&');
      const char *stop = amp != NULL ? amp : p + strlen (p);
      const char *eq = memchr (p, '=', (size_t)(stop - p));
      const char *key_end = eq != NULL ? eq : stop;

      if ((size_t)(key_end - p) == name_len && strncmp (p, name, name_len) == 0)
        {
          size_t n = 0;

          for (const char *v = eq != NULL ? eq + 1 : stop; v < stop; v++)
            {
              char c = *v;

              if (c == '+')
                c = ' ';
              else if (c == '%' && stop - v >= 3 && hex_value (v[1]) >= 0 && hex_value (v[2]) >= 0)
                {
                  c = (char)(hex_value (v[1]) * 16 + hex_value (v[2]));
                  v += 2;
                }
              if (n + 1 >= size)
                return false;
              out[n++] = c;
            }
          out[n] = '\0';
          return true;
        }
      p = amp != NULL ? amp + 1 : stop;
    }
  return false;
}
