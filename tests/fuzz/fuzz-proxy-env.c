/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for this host's proxy environment as the guest gets it:
 * the input is an environment, one NAME=VALUE a line. Whatever it holds,
 * the result is the six proxy variables in pairs (or nothing), each value
 * UTF-8 without control characters, never a loopback proxy; rewriting a
 * URL a second time changes nothing; and the shell file's single quotes,
 * read back, give each value byte for byte. Run with
 * G_DEBUG=fatal-criticals; built by tests/fuzz/meson.build. */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "berth-error.h"
#include "berth-proxy-env.h"

#include "fuzz-common.h"

#define GATEWAY "10.0.2.2"

/* The values of the assignments in @text, as a POSIX shell reads
 * NAME='...' lines whose quotes are closed with '\'' inside. */
static GPtrArray *
read_shell_values (const gchar *text)
{
  g_autoptr (GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const gchar *p = strchr (lines[i], '=');
      GString *value;

      if (lines[i][0] == '#' || lines[i][0] == '\0')
        continue;
      if (p == NULL || p[1] != '\'')
        abort ();
      value = g_string_new (NULL);
      p += 2;
      while (*p != '\0')
        {
          if (g_str_has_prefix (p, "'\\''"))
            {
              g_string_append_c (value, '\'');
              p += 4;
            }
          else if (*p == '\'')
            {
              if (p[1] != '\0')
                abort ();
              p++;
            }
          else
            g_string_append_c (value, *p++);
        }
      g_ptr_array_add (values, g_string_free (value, FALSE));
    }
  return g_steal_pointer (&values);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const gchar *const names[]
      = { "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy" };
  const gchar *const extra[] = { "10.0.2.15", "host.docker.internal", NULL };
  g_autofree gchar *text = g_strndup ((const gchar *)data, size);
  g_auto (GStrv) envp = g_strsplit (text, "\n", -1);
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) env = NULL;
  g_autofree gchar *shell = NULL;
  g_autoptr (GPtrArray) values = NULL;
  guint n, next_name = 0;

  for (guint i = 0; envp[i] != NULL; i++)
    {
      g_autofree gchar *once = berth_proxy_env_rewrite_loopback (envp[i], GATEWAY);
      g_autofree gchar *twice = berth_proxy_env_rewrite_loopback (once, GATEWAY);

      if (strcmp (once, twice) != 0)
        abort ();
    }

  env = berth_proxy_env_for_guest ((const gchar *const *)envp, GATEWAY, extra, &error);
  if (env == NULL)
    {
      if (!g_error_matches (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA)
          || !g_utf8_validate (error->message, -1, NULL))
        abort ();
      return 0;
    }
  n = g_strv_length (env);
  if (n % 2 != 0 || n > G_N_ELEMENTS (names))
    abort ();
  for (guint i = 0; i < n; i++)
    {
      const gchar *equals = strchr (env[i], '=');

      if (equals == NULL || !g_utf8_validate (env[i], -1, NULL))
        abort ();
      /* The names come in their order, upper case then lower case. */
      while (next_name < G_N_ELEMENTS (names)
             && strncmp (env[i], names[next_name], (gsize)(equals - env[i])) != 0)
        next_name++;
      if (next_name == G_N_ELEMENTS (names)
          || strlen (names[next_name]) != (gsize)(equals - env[i]))
        abort ();
      if (i % 2 == 1 && strcmp (strchr (env[i - 1], '='), equals) != 0)
        abort ();
      for (const gchar *p = equals + 1; *p != '\0'; p++)
        if ((guchar)*p < 0x20 || *p == 0x7f)
          abort ();
      if (next_name < 4)
        {
          g_autofree gchar *rewritten = berth_proxy_env_rewrite_loopback (equals + 1, GATEWAY);

          if (strcmp (rewritten, equals + 1) != 0)
            abort ();
        }
      next_name++;
    }

  shell = berth_proxy_env_to_shell ((const gchar *const *)env);
  values = read_shell_values (shell);
  if (values->len != n)
    abort ();
  for (guint i = 0; i < n; i++)
    if (strcmp (g_ptr_array_index (values, i), strchr (env[i], '=') + 1) != 0)
      abort ();
  return 0;
}
