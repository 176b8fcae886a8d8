/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Berth — k3s version strings: parsing, order, the nearest listed one. */

#include "config.h"

#include <string.h>

#include "berth-k3s-releases.h"
#include "berth-k3s-version.h"

/* Reads a decimal number without a leading zero (but "0" itself) at *@p,
 * moving *@p past it. */
static gboolean
parse_number (const gchar **p, guint *out)
{
  const gchar *start = *p;
  guint value = 0;
  gsize digits = 0;

  while (g_ascii_isdigit (**p))
    {
      if (++digits > BERTH_K3S_VERSION_MAX_DIGITS)
        return FALSE;
      value = value * 10 + (guint)(**p - '0');
      (*p)++;
    }
  if (digits == 0 || (digits > 1 && start[0] == '0'))
    return FALSE;
  *out = value;
  return TRUE;
}

gboolean
berth_k3s_version_parse (const gchar *text, BerthK3sVersion *version)
{
  BerthK3sVersion parsed = { 0 };
  const gchar *p = text;

  g_return_val_if_fail (version != NULL, FALSE);

  if (p == NULL)
    return FALSE;
  if (*p == 'v')
    p++;
  if (!parse_number (&p, &parsed.major) || *p++ != '.' || !parse_number (&p, &parsed.minor)
      || *p++ != '.' || !parse_number (&p, &parsed.patch))
    return FALSE;
  if (g_str_has_prefix (p, "+k3s"))
    {
      p += strlen ("+k3s");
      if (!parse_number (&p, &parsed.build))
        return FALSE;
      parsed.has_build = TRUE;
    }
  if (*p != '\0')
    return FALSE;
  *version = parsed;
  return TRUE;
}

gboolean
berth_k3s_version_parse_full (const gchar *text, BerthK3sVersion *version)
{
  BerthK3sVersion parsed;

  if (!berth_k3s_version_parse (text, &parsed) || !parsed.has_build)
    return FALSE;
  *version = parsed;
  return TRUE;
}

gchar *
berth_k3s_version_to_string (const BerthK3sVersion *version)
{
  g_return_val_if_fail (version != NULL, NULL);

  if (version->has_build)
    return g_strdup_printf ("v%u.%u.%u+k3s%u", version->major, version->minor, version->patch,
                            version->build);
  return g_strdup_printf ("v%u.%u.%u", version->major, version->minor, version->patch);
}

static gint
cmp_uint (guint a, guint b)
{
  return a < b ? -1 : a > b ? 1 : 0;
}

gint
berth_k3s_version_cmp (const BerthK3sVersion *a, const BerthK3sVersion *b)
{
  gint c;

  if ((c = cmp_uint (a->major, b->major)) != 0 || (c = cmp_uint (a->minor, b->minor)) != 0
      || (c = cmp_uint (a->patch, b->patch)) != 0)
    return c;
  if (a->has_build != b->has_build)
    return a->has_build ? 1 : -1;
  return a->has_build ? cmp_uint (a->build, b->build) : 0;
}

gboolean
berth_k3s_version_same_release (const BerthK3sVersion *a, const BerthK3sVersion *b)
{
  return a->major == b->major && a->minor == b->minor && a->patch == b->patch;
}

gboolean
berth_k3s_version_below_minimum (const BerthK3sVersion *version)
{
  BerthK3sVersion minimum;

  if (!berth_k3s_version_parse (BERTH_K3S_MINIMUM_VERSION, &minimum))
    g_assert_not_reached ();
  return !berth_k3s_version_same_release (version, &minimum)
         && berth_k3s_version_cmp (version, &minimum) < 0;
}

gint
berth_k3s_version_compare (const gchar *a, const gchar *b)
{
  BerthK3sVersion va;
  BerthK3sVersion vb;
  gboolean a_ok = berth_k3s_version_parse (a, &va);
  gboolean b_ok = berth_k3s_version_parse (b, &vb);

  if (a_ok && b_ok)
    return berth_k3s_version_cmp (&va, &vb);
  if (a_ok != b_ok)
    return a_ok ? -1 : 1;
  /* Neither parses: a stable order all the same. */
  return g_strcmp0 (a, b) < 0 ? -1 : g_strcmp0 (a, b) > 0 ? 1 : 0;
}

const gchar *
berth_k3s_version_nearest (const BerthK3sVersion *wanted, GPtrArray *listed)
{
  const gchar *same = NULL;
  BerthK3sVersion same_version = { 0 };
  const gchar *newer = NULL;
  BerthK3sVersion newer_version = { 0 };
  const gchar *newest = NULL;
  BerthK3sVersion newest_version = { 0 };

  g_return_val_if_fail (wanted != NULL, NULL);
  g_return_val_if_fail (listed != NULL, NULL);

  for (guint i = 0; i < listed->len; i++)
    {
      const gchar *text = g_ptr_array_index (listed, i);
      BerthK3sVersion v;

      if (!berth_k3s_version_parse (text, &v))
        continue;
      if (berth_k3s_version_same_release (&v, wanted))
        {
          if (same == NULL || berth_k3s_version_cmp (&v, &same_version) > 0)
            {
              same = text;
              same_version = v;
            }
        }
      else if (berth_k3s_version_cmp (&v, wanted) > 0)
        {
          if (newer == NULL || berth_k3s_version_cmp (&v, &newer_version) < 0)
            {
              newer = text;
              newer_version = v;
            }
        }
      if (newest == NULL || berth_k3s_version_cmp (&v, &newest_version) > 0)
        {
          newest = text;
          newest_version = v;
        }
    }
  if (same != NULL)
    return same;
  if (newer != NULL)
    return newer;
  return newest;
}
