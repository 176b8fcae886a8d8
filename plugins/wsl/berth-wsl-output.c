/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Berth — reading what wsl.exe prints. */

#include "config.h"

#include <string.h>

#include <berth-error.h>

#include "berth-wsl-output.h"

#define REPLACEMENT 0xFFFD
#define MAX_NAME 64
#define MAX_VERSION_ID 64

/* ---- decoding ------------------------------------------------------------- */

static void
append_unichar (GString *out, gunichar c)
{
  if (c == 0 || !g_unichar_validate (c))
    c = REPLACEMENT;
  g_string_append_unichar (out, c);
}

static gchar *
decode_utf16le (const guint8 *data, gsize length)
{
  GString *out = g_string_sized_new (length / 2 + 1);
  gsize i = 0;

  while (i + 1 < length)
    {
      gunichar unit = data[i] | ((gunichar)data[i + 1] << 8);

      i += 2;
      if (unit >= 0xD800 && unit <= 0xDBFF)
        {
          gunichar low;

          if (i + 1 >= length)
            {
              append_unichar (out, REPLACEMENT);
              continue;
            }
          low = data[i] | ((gunichar)data[i + 1] << 8);
          if (low < 0xDC00 || low > 0xDFFF)
            {
              /* The next unit is read again on its own. */
              append_unichar (out, REPLACEMENT);
              continue;
            }
          i += 2;
          append_unichar (out, 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00));
        }
      else if (unit >= 0xDC00 && unit <= 0xDFFF)
        append_unichar (out, REPLACEMENT);
      else
        append_unichar (out, unit);
    }
  if (i < length)
    append_unichar (out, REPLACEMENT);
  return g_string_free (out, FALSE);
}

/* g_utf8_make_valid replaces what is not UTF-8, a NUL byte included. */
static gchar *
decode_utf8 (const guint8 *data, gsize length)
{
  if (length == 0)
    return g_strdup ("");
  return g_utf8_make_valid ((const gchar *)data, (gssize)length);
}

gchar *
berth_wsl_decode (const guint8 *data, gsize length)
{
  g_return_val_if_fail (data != NULL || length == 0, NULL);

  if (length > BERTH_WSL_MAX_OUTPUT)
    length = BERTH_WSL_MAX_OUTPUT;
  if (length >= 2 && data[0] == 0xFF && data[1] == 0xFE)
    return decode_utf16le (data + 2, length - 2);
  if (length >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF)
    return decode_utf8 (data + 3, length - 3);
  /* Without a mark: UTF-16LE text of ASCII letters has every other byte 0. */
  if (length >= 2 && data[0] != 0 && data[1] == 0)
    return decode_utf16le (data, length);
  return decode_utf8 (data, length);
}

/* ---- listings -------------------------------------------------------------- */

void
berth_wsl_distro_free (BerthWslDistro *distro)
{
  if (distro == NULL)
    return;
  g_free (distro->name);
  g_free (distro->state);
  g_free (distro);
}

gboolean
berth_wsl_distro_is_running (const BerthWslDistro *distro)
{
  g_return_val_if_fail (distro != NULL, FALSE);
  return g_strcmp0 (distro->state, "Running") == 0;
}

static gboolean
is_blank (gunichar c)
{
  /* wsl.exe pads its columns with spaces; a localised one may use others. */
  return g_unichar_isspace (c) || c == 0xFEFF;
}

/* The lines of @text without their "\r", blank ones dropped. */
static GPtrArray *
text_lines (const gchar *text)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      gchar *line = lines[i];
      gboolean blank = TRUE;

      g_strdelimit (line, "\r", ' ');
      for (const gchar *p = line; *p != '\0'; p = g_utf8_next_char (p))
        if (!is_blank (g_utf8_get_char (p)))
          {
            blank = FALSE;
            break;
          }
      if (!blank)
        g_ptr_array_add (out, g_strdup (line));
    }
  return out;
}

/* The whitespace-separated words of @line, as offsets: starts[i], ends[i]. */
static guint
split_words (const gchar *line, gsize *starts, gsize *ends, guint max)
{
  guint n = 0;
  const gchar *p = line;

  while (*p != '\0')
    {
      while (*p != '\0' && is_blank (g_utf8_get_char (p)))
        p = g_utf8_next_char (p);
      if (*p == '\0')
        break;
      if (n == max)
        return max + 1;
      starts[n] = (gsize)(p - line);
      while (*p != '\0' && !is_blank (g_utf8_get_char (p)))
        p = g_utf8_next_char (p);
      ends[n] = (gsize)(p - line);
      n++;
    }
  return n;
}

static gchar *
quote_line (const gchar *line)
{
  g_autofree gchar *shown = g_strndup (line, 200);

  return g_strescape (shown, NULL);
}

GPtrArray *
berth_wsl_parse_list_verbose (const gchar *text, GError **error)
{
  g_autoptr (GPtrArray) lines = NULL;
  g_autoptr (GPtrArray) distros = NULL;

  g_return_val_if_fail (text != NULL, NULL);

  lines = text_lines (text);
  distros = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_wsl_distro_free);
  /* The first line is the header (NAME STATE VERSION, localised). */
  for (guint i = 1; i < lines->len; i++)
    {
      const gchar *line = g_ptr_array_index (lines, i);
      g_autoptr (BerthWslDistro) distro = g_new0 (BerthWslDistro, 1);
      gsize starts[64], ends[64];
      guint n;
      g_autofree gchar *version_word = NULL;
      guint64 number = 0;

      if (distros->len >= BERTH_WSL_MAX_DISTROS)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                       "wsl.exe --list --verbose listed more than %d distributions",
                       BERTH_WSL_MAX_DISTROS);
          return NULL;
        }
      n = split_words (line, starts, ends, G_N_ELEMENTS (starts));
      /* "*" alone in the first column marks the default distribution. */
      if (n >= 1 && ends[0] - starts[0] == 1 && line[starts[0]] == '*')
        {
          distro->is_default = TRUE;
          memmove (starts, starts + 1, (n - 1) * sizeof starts[0]);
          memmove (ends, ends + 1, (n - 1) * sizeof ends[0]);
          n--;
        }
      else if (n >= 1 && line[starts[0]] == '*')
        {
          /* "*Name": the mark without its space. */
          distro->is_default = TRUE;
          starts[0]++;
        }
      if (n < 3 || n > G_N_ELEMENTS (starts))
        {
          g_autofree gchar *shown = quote_line (line);

          g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                       "wsl.exe --list --verbose printed line %u as \"%s\", which is not a "
                       "distribution's name, state and version",
                       i + 1, shown);
          return NULL;
        }
      version_word = g_strndup (line + starts[n - 1], ends[n - 1] - starts[n - 1]);
      if (!g_ascii_string_to_unsigned (version_word, 10, 1, 99, &number, NULL))
        {
          g_autofree gchar *shown = quote_line (line);

          g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                       "wsl.exe --list --verbose printed line %u as \"%s\", whose last column "
                       "is not a WSL version",
                       i + 1, shown);
          return NULL;
        }
      distro->version = (guint)number;
      /* WSL's names have no spaces; a localised state may ("Wird ausgeführt"). */
      distro->name = g_strndup (line + starts[0], ends[0] - starts[0]);
      distro->state = g_strndup (line + starts[1], ends[n - 2] - starts[1]);
      g_ptr_array_add (distros, g_steal_pointer (&distro));
    }
  return g_steal_pointer (&distros);
}

GStrv
berth_wsl_parse_list_quiet (const gchar *text)
{
  g_autoptr (GPtrArray) lines = NULL;
  g_autoptr (GStrvBuilder) names = g_strv_builder_new ();

  g_return_val_if_fail (text != NULL, NULL);

  lines = text_lines (text);
  for (guint i = 0; i < lines->len && i < BERTH_WSL_MAX_DISTROS; i++)
    g_strv_builder_add (names, g_strstrip ((gchar *)g_ptr_array_index (lines, i)));
  return g_strv_builder_end (names);
}

gboolean
berth_wsl_text_says_no_distributions (const gchar *text)
{
  g_return_val_if_fail (text != NULL, FALSE);
  return strstr (text, "WSL_E_DEFAULT_DISTRO_NOT_FOUND") != NULL
         || strstr (text, "has no installed distributions") != NULL;
}

/* ---- --status -------------------------------------------------------------- */

void
berth_wsl_status_free (BerthWslStatus *status)
{
  if (status == NULL)
    return;
  g_free (status->default_distribution);
  g_free (status->wsl2_problem);
  g_free (status);
}

/* Phrases of wsl.exe's messages (English) and what a person does about
 * them. The error codes are not translated, so they come first. */
static const struct
{
  const gchar *phrase;
  const gchar *advice;
} advice_table[] = {
  { "HCS_E_HYPERV_NOT_INSTALLED",
    "turn on the Virtual Machine Platform Windows feature (`wsl.exe --install --no-distribution` "
    "as administrator, or Windows Features), make sure virtualization is enabled in the "
    "firmware (BIOS/UEFI), and restart Windows" },
  { "Virtual Machine Platform",
    "turn on the Virtual Machine Platform Windows feature (`wsl.exe --install --no-distribution` "
    "as administrator, or Windows Features), make sure virtualization is enabled in the "
    "firmware (BIOS/UEFI), and restart Windows" },
  { "ensure virtualization is enabled",
    "enable virtualization in the firmware (BIOS/UEFI) and the Virtual Machine Platform "
    "Windows feature, then restart Windows" },
  { "0x80370102",
    "enable virtualization in the firmware (BIOS/UEFI) and the Virtual Machine Platform "
    "Windows feature, then restart Windows" },
  { "kernel file is not found", "install WSL 2's kernel with `wsl.exe --update`" },
  { "update to its kernel component", "install WSL 2's kernel with `wsl.exe --update`" },
  { "aka.ms/wsl2kernel", "install WSL 2's kernel with `wsl.exe --update`" },
  { "0x1bc", "install WSL 2's kernel with `wsl.exe --update`" },
  { "aka.ms/wsl2-install",
    "only WSL 1 is installed: install WSL 2 with `wsl.exe --install --no-distribution` "
    "(as administrator), then `wsl.exe --update`" },
};

const gchar *
berth_wsl_advice_for (const gchar *text)
{
  g_return_val_if_fail (text != NULL, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (advice_table); i++)
    if (strstr (text, advice_table[i].phrase) != NULL)
      return advice_table[i].advice;
  return NULL;
}

BerthWslStatus *
berth_wsl_parse_status (const gchar *text)
{
  g_autoptr (GPtrArray) lines = NULL;
  BerthWslStatus *status = g_new0 (BerthWslStatus, 1);
  const gchar *advice;

  g_return_val_if_fail (text != NULL, status);

  lines = text_lines (text);
  for (guint i = 0; i < lines->len; i++)
    {
      gchar *line = g_strstrip ((gchar *)g_ptr_array_index (lines, i));
      const gchar *value;

      if (g_str_has_prefix (line, "Default Distribution:"))
        {
          value = line + strlen ("Default Distribution:");
          while (*value == ' ')
            value++;
          g_free (status->default_distribution);
          status->default_distribution = *value != '\0' ? g_strndup (value, 256) : NULL;
        }
      else if (g_str_has_prefix (line, "Default Version:"))
        {
          guint64 number = 0;

          value = line + strlen ("Default Version:");
          while (*value == ' ')
            value++;
          if (g_ascii_string_to_unsigned (value, 10, 1, 2, &number, NULL))
            status->default_version = (guint)number;
        }
    }
  advice = berth_wsl_advice_for (text);
  if (advice != NULL)
    status->wsl2_problem = g_strdup (advice);
  return status;
}

/* ---- os-release and versions ----------------------------------------------- */

static gboolean
version_char_ok (gchar c)
{
  return g_ascii_isalnum (c) || c == '.' || c == '_' || c == '-' || c == '+' || c == '~';
}

gchar *
berth_wsl_os_release_version_id (const gchar *text, gsize length)
{
  g_autofree gchar *copy = NULL;
  g_auto (GStrv) lines = NULL;
  gchar *found = NULL;

  g_return_val_if_fail (text != NULL || length == 0, NULL);

  /* os-release files are short; only the start of a large one is read. */
  copy = g_strndup (text, MIN (length, (gsize)64 * 1024));
  lines = g_strsplit (copy, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      gchar *value = lines[i];
      gsize n;

      g_strstrip (value);
      if (!g_str_has_prefix (value, "VERSION_ID="))
        continue;
      value += strlen ("VERSION_ID=");
      n = strlen (value);
      if (n >= 2 && (value[0] == '"' || value[0] == '\'') && value[n - 1] == value[0])
        {
          value[n - 1] = '\0';
          value++;
          n -= 2;
        }
      if (n == 0 || n > MAX_VERSION_ID)
        {
          g_clear_pointer (&found, g_free);
          continue;
        }
      for (gsize k = 0; k < n; k++)
        if (!version_char_ok (value[k]))
          n = 0;
      g_clear_pointer (&found, g_free);
      /* The last assignment wins, as when the file is sourced. */
      if (n > 0)
        found = g_strdup (value);
    }
  return found;
}

/* The next part of a version and where the one after it starts. */
static const gchar *
next_part (const gchar *p, gchar **part)
{
  const gchar *start = p;

  while (*p != '\0' && *p != '.' && *p != '-' && *p != '+' && *p != '_' && *p != '~')
    p++;
  *part = g_strndup (start, (gsize)(p - start));
  return *p != '\0' ? p + 1 : p;
}

static gboolean
all_digits (const gchar *s)
{
  if (*s == '\0')
    return FALSE;
  for (; *s != '\0'; s++)
    if (!g_ascii_isdigit (*s))
      return FALSE;
  return TRUE;
}

static gint
compare_numbers (const gchar *a, const gchar *b)
{
  gsize la, lb;
  gint c;

  while (*a == '0' && a[1] != '\0')
    a++;
  while (*b == '0' && b[1] != '\0')
    b++;
  la = strlen (a);
  lb = strlen (b);
  if (la != lb)
    return la < lb ? -1 : 1;
  c = strcmp (a, b);
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

gint
berth_wsl_version_compare (const gchar *a, const gchar *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, 0);

  while (*a != '\0' || *b != '\0')
    {
      g_autofree gchar *pa = NULL;
      g_autofree gchar *pb = NULL;
      gint c;

      a = next_part (a, &pa);
      b = next_part (b, &pb);
      if (pa[0] == '\0' && pb[0] == '\0')
        continue;
      if (pa[0] == '\0' && all_digits (pb))
        c = compare_numbers ("0", pb);
      else if (pb[0] == '\0' && all_digits (pa))
        c = compare_numbers (pa, "0");
      else if (pa[0] == '\0' || pb[0] == '\0')
        /* "1.0-rc1" is older than "1.0": a label after the end marks a
         * pre-release. */
        c = pa[0] == '\0' ? 1 : -1;
      else if (all_digits (pa) && all_digits (pb))
        c = compare_numbers (pa, pb);
      else if (all_digits (pa) != all_digits (pb))
        /* "1.0" is newer than "1.0-rc1": a number beats a label. */
        c = all_digits (pa) ? 1 : -1;
      else
        {
          c = strcmp (pa, pb);
          c = c < 0 ? -1 : c > 0 ? 1 : 0;
        }
      if (c != 0)
        return c;
    }
  return 0;
}

gboolean
berth_wsl_distro_name_is_valid (const gchar *name)
{
  gsize n;

  if (name == NULL || name[0] == '\0' || name[0] == '-')
    return FALSE;
  n = strlen (name);
  if (n > MAX_NAME)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isalnum (name[i]) && name[i] != '.' && name[i] != '_' && name[i] != '-')
      return FALSE;
  return TRUE;
}

/* ---- mountinfo ------------------------------------------------------------- */

void
berth_wsl_mount_free (BerthWslMount *mount)
{
  if (mount == NULL)
    return;
  g_free (mount->mount_point);
  g_free (mount->source);
  g_free (mount);
}

/* proc(5) escapes space, tab, newline and backslash as \ooo. */
static gchar *
unescape_octal (const gchar *s)
{
  GString *out = g_string_new (NULL);

  while (*s != '\0')
    {
      if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0'
          && s[3] <= '7')
        {
          gchar c = (gchar)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));

          if (c != '\0')
            g_string_append_c (out, c);
          s += 4;
        }
      else
        g_string_append_c (out, *s++);
    }
  return g_string_free (out, FALSE);
}

GPtrArray *
berth_wsl_parse_mountinfo (const gchar *text)
{
  GPtrArray *mounts = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_wsl_mount_free);
  g_auto (GStrv) lines = NULL;

  g_return_val_if_fail (text != NULL, mounts);

  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL && mounts->len < 4096; i++)
    {
      g_auto (GStrv) fields = g_strsplit_set (lines[i], " \t\r", -1);
      guint n = 0, dash = 0;
      BerthWslMount *mount;
      g_autoptr (GPtrArray) words = g_ptr_array_new ();

      for (guint k = 0; fields[k] != NULL; k++)
        if (fields[k][0] != '\0')
          g_ptr_array_add (words, fields[k]);
      n = words->len;
      /* id parent major:minor root mount-point options [optional…] - type source super */
      for (guint k = 6; k < n; k++)
        if (g_str_equal (g_ptr_array_index (words, k), "-"))
          {
            dash = k;
            break;
          }
      if (n < 10 || dash == 0 || dash + 2 >= n)
        continue;
      mount = g_new0 (BerthWslMount, 1);
      mount->mount_point = unescape_octal (g_ptr_array_index (words, 4));
      mount->source = unescape_octal (g_ptr_array_index (words, dash + 2));
      g_ptr_array_add (mounts, mount);
    }
  return mounts;
}
