/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include <berth.h>

#include "berth-host-rcfile.h"

gchar *
berth_host_rc_body (BerthHostRcShell shell, const gchar *bin_dir)
{
  g_autofree gchar *quoted = g_shell_quote (bin_dir);

  if (shell == BERTH_HOST_RC_SHELL_FISH)
    return g_strdup_printf ("set --global --export PATH %s $PATH\n", quoted);
  return g_strdup_printf ("export PATH=%s:\"$PATH\"\n", quoted);
}

typedef struct
{
  gsize start;     /* offset of the begin line */
  gsize end;       /* offset just past the end line and its line break */
  gboolean joined; /* the begin line says Berth added a line break before it */
} Block;

/* Whether the line of @len bytes at @line is @marker, ignoring a trailing
 * carriage return. */
static gboolean
line_is (const gchar *line, gsize len, const gchar *marker)
{
  gsize mlen = strlen (marker);

  if (len > 0 && line[len - 1] == '\r')
    len--;
  return len == mlen && memcmp (line, marker, mlen) == 0;
}

static gboolean
line_starts (const gchar *line, gsize len, const gchar *prefix)
{
  gsize plen = strlen (prefix);

  return len >= plen && memcmp (line, prefix, plen) == 0;
}

/* Finds Berth's block. TRUE with *@found FALSE when there is none. */
static gboolean
find_block (const gchar *text, gsize len, const gchar *what, Block *block, gboolean *found,
            GError **error)
{
  gsize pos = 0;
  guint n_begin = 0, n_end = 0;
  gboolean end_first = FALSE;

  *found = FALSE;
  memset (block, 0, sizeof (*block));
  while (pos < len)
    {
      const gchar *line = text + pos;
      const gchar *newline = memchr (line, '\n', len - pos);
      gsize line_len = newline != NULL ? (gsize)(newline - line) : len - pos;
      gsize next = pos + line_len + (newline != NULL ? 1 : 0);

      if (line_starts (line, line_len, BERTH_HOST_RC_BEGIN_PREFIX))
        {
          n_begin++;
          block->start = pos;
          block->joined = line_is (line, line_len, BERTH_HOST_RC_BEGIN_JOINED);
        }
      else if (line_is (line, line_len, BERTH_HOST_RC_END))
        {
          if (n_begin == n_end)
            end_first = TRUE;
          n_end++;
          block->end = next;
        }
      pos = next;
    }
  if (n_begin == 0 && n_end == 0)
    return TRUE;
  if (n_begin != 1 || n_end != 1 || end_first)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s holds %u line%s beginning Berth's PATH block and %u ending it, where one "
                   "of each, in that order, was expected; Berth leaves the file alone: remove "
                   "the lines between \"%s\" and \"%s\" and those lines, then apply the setting "
                   "again",
                   what, n_begin, n_begin == 1 ? "" : "s", n_end, BERTH_HOST_RC_BEGIN_PREFIX,
                   BERTH_HOST_RC_END);
      return FALSE;
    }
  *found = TRUE;
  return TRUE;
}

gboolean
berth_host_rc_has_block (const gchar *text, gsize len)
{
  Block block;
  gboolean found = FALSE;

  return find_block (text, len, "", &block, &found, NULL) && found;
}

gchar *
berth_host_rc_edit (const gchar *text, gsize len, const gchar *body, const gchar *what,
                    gsize *out_len, GError **error)
{
  g_autoptr (GString) out = NULL;
  Block block;
  gboolean found = FALSE;

  g_return_val_if_fail (text != NULL || len == 0, NULL);
  g_return_val_if_fail (what != NULL && out_len != NULL, NULL);

  if (len > BERTH_HOST_RC_MAX_BYTES)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is %" G_GSIZE_FORMAT " bytes, more than the %d Berth edits; Berth leaves "
                   "it alone",
                   what, len, BERTH_HOST_RC_MAX_BYTES);
      return NULL;
    }
  if (!find_block (text, len, what, &block, &found, error))
    return NULL;

  out = g_string_sized_new (len + 256);
  if (found)
    {
      gsize head = block.start;

      /* The line break Berth added goes with the block, when nothing was
       * written after it. */
      if (body == NULL && block.joined && block.end == len && head > 0 && text[head - 1] == '\n')
        head--;
      g_string_append_len (out, text, (gssize)head);
      if (body != NULL)
        {
          g_string_append (out, block.joined ? BERTH_HOST_RC_BEGIN_JOINED : BERTH_HOST_RC_BEGIN);
          g_string_append_c (out, '\n');
          g_string_append (out, body);
          g_string_append (out, BERTH_HOST_RC_END "\n");
        }
      g_string_append_len (out, text + block.end, (gssize)(len - block.end));
    }
  else
    {
      g_string_append_len (out, text, (gssize)len);
      if (body != NULL)
        {
          gboolean joined = len > 0 && text[len - 1] != '\n';

          if (joined)
            g_string_append_c (out, '\n');
          g_string_append (out, joined ? BERTH_HOST_RC_BEGIN_JOINED : BERTH_HOST_RC_BEGIN);
          g_string_append_c (out, '\n');
          g_string_append (out, body);
          g_string_append (out, BERTH_HOST_RC_END "\n");
        }
    }
  *out_len = out->len;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

gboolean
berth_host_rc_file_apply (const gchar *path, const gchar *body, gboolean create,
                          gboolean *changed_out, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *edited = NULL;
  gsize len = 0, edited_len = 0;
  guint mode = 0644;
  struct stat st;

  if (changed_out != NULL)
    *changed_out = FALSE;
  if (g_stat (path, &st) == 0)
    {
      if (!S_ISREG (st.st_mode))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "%s is not a regular file; Berth leaves it alone", path);
          return FALSE;
        }
      if (st.st_size > BERTH_HOST_RC_MAX_BYTES)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "%s is %" G_GINT64_FORMAT " bytes, more than the %d Berth edits; Berth "
                       "leaves it alone",
                       path, (gint64)st.st_size, BERTH_HOST_RC_MAX_BYTES);
          return FALSE;
        }
      mode = st.st_mode & 07777;
      if (!g_file_get_contents (path, &text, &len, &local_error))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Could not read %s: %s", path,
                       local_error->message);
          return FALSE;
        }
    }
  else if (errno != ENOENT)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Could not look at %s: %s", path,
                   g_strerror (errno));
      return FALSE;
    }
  else if (body == NULL || !create)
    return TRUE;

  edited = berth_host_rc_edit (text, len, body, path, &edited_len, error);
  if (edited == NULL)
    return FALSE;
  if (text != NULL && edited_len == len && memcmp (edited, text, len) == 0)
    return TRUE;
  if (!berth_file_replace_contents (path, edited, edited_len, mode, error))
    return FALSE;
  if (changed_out != NULL)
    *changed_out = TRUE;
  return TRUE;
}
