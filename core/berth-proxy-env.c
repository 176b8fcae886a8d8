/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Berth — this host's proxy environment, made fit for a guest. */
#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "berth-error.h"
#include "berth-proxy-env.h"

/* Upper case first: the one taken when both are set. */
static const gchar *const proxy_names[][2] = {
  { "HTTP_PROXY", "http_proxy" },
  { "HTTPS_PROXY", "https_proxy" },
  { "NO_PROXY", "no_proxy" },
};

static gboolean
is_scheme (const gchar *text, gsize length)
{
  if (length == 0 || !g_ascii_isalpha (text[0]))
    return FALSE;
  for (gsize i = 1; i < length; i++)
    if (!g_ascii_isalnum (text[i]) && text[i] != '+' && text[i] != '-' && text[i] != '.')
      return FALSE;
  return TRUE;
}

static gboolean
is_loopback_host (const gchar *host, gsize length)
{
  g_autofree gchar *name = NULL;
  g_autoptr (GInetAddress) address = NULL;

  if (length >= 2 && host[0] == '[' && host[length - 1] == ']')
    {
      host++;
      length -= 2;
    }
  name = g_strndup (host, length);
  if (g_ascii_strcasecmp (name, "localhost") == 0 || g_ascii_strcasecmp (name, "localhost.") == 0)
    return TRUE;
  if (!g_hostname_is_ip_address (name))
    return FALSE;
  address = g_inet_address_new_from_string (name);
  return address != NULL && g_inet_address_get_is_loopback (address);
}

gchar *
berth_proxy_env_rewrite_loopback (const gchar *url, const gchar *host_address)
{
  const gchar *authority = url;
  const gchar *separator;
  const gchar *authority_end;
  const gchar *host;
  const gchar *host_end;
  const gchar *at;
  GString *out;

  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (host_address != NULL, NULL);

  separator = strstr (url, "://");
  if (separator != NULL && is_scheme (url, (gsize)(separator - url)))
    authority = separator + 3;
  authority_end = authority + strcspn (authority, "/?#");
  /* The host follows the last '@' of the authority (user names may hold
   * none, but a password may hold a percent-encoded one only). */
  host = authority;
  for (at = authority; at < authority_end; at++)
    if (*at == '@')
      host = at + 1;
  if (*host == '[')
    {
      const gchar *close = memchr (host, ']', (gsize)(authority_end - host));

      host_end = close != NULL ? close + 1 : authority_end;
    }
  else
    {
      const gchar *colon = memchr (host, ':', (gsize)(authority_end - host));

      host_end = colon != NULL ? colon : authority_end;
    }
  if (!is_loopback_host (host, (gsize)(host_end - host)))
    return g_strdup (url);

  out = g_string_new_len (url, host - url);
  if (strchr (host_address, ':') != NULL)
    g_string_append_printf (out, "[%s]", host_address);
  else
    g_string_append (out, host_address);
  g_string_append (out, host_end);
  return g_string_free (out, FALSE);
}

static gboolean
check_value (const gchar *name, const gchar *value, GError **error)
{
  if (!g_utf8_validate (value, -1, NULL))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "The proxy variable %s is not UTF-8 text; fix it in the environment Berth "
                   "starts from, or turn virtualMachine.proxy.fromHost off",
                   name);
      return FALSE;
    }
  for (const gchar *p = value; *p != '\0'; p++)
    if ((guchar)*p < 0x20 || *p == 0x7f)
      {
        g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                     "The proxy variable %s holds a control character (0x%02x); fix it in the "
                     "environment Berth starts from, or turn virtualMachine.proxy.fromHost off",
                     name, (guint)(guchar)*p);
        return FALSE;
      }
  return TRUE;
}

/* The value of the pair at @index: upper case first, NULL when neither is
 * set (or only to ""). */
static const gchar *
pick_value (const gchar *const *envp, guint index)
{
  const gchar *upper = g_environ_getenv ((gchar **)envp, proxy_names[index][0]);
  const gchar *lower = g_environ_getenv ((gchar **)envp, proxy_names[index][1]);

  if (upper != NULL && upper[0] != '\0')
    {
      if (lower != NULL && lower[0] != '\0' && !g_str_equal (upper, lower))
        g_message ("%s and %s differ; the VM gets %s's value, as Go programs read it",
                   proxy_names[index][0], proxy_names[index][1], proxy_names[index][0]);
      return upper;
    }
  return lower != NULL && lower[0] != '\0' ? lower : NULL;
}

/* Appends to @entries the non-empty, trimmed items of the comma list
 * @list that it does not hold yet. */
static void
add_no_proxy_items (GPtrArray *entries, const gchar *list)
{
  g_auto (GStrv) items = NULL;

  if (list == NULL)
    return;
  items = g_strsplit (list, ",", -1);
  for (guint i = 0; items[i] != NULL; i++)
    {
      gchar *item = g_strstrip (items[i]);
      gboolean seen = FALSE;

      if (item[0] == '\0')
        continue;
      for (guint j = 0; j < entries->len && !seen; j++)
        seen = g_str_equal (g_ptr_array_index (entries, j), item);
      if (!seen)
        g_ptr_array_add (entries, g_strdup (item));
    }
}

static void
add_pair (GPtrArray *out, guint index, const gchar *value)
{
  g_ptr_array_add (out, g_strdup_printf ("%s=%s", proxy_names[index][0], value));
  g_ptr_array_add (out, g_strdup_printf ("%s=%s", proxy_names[index][1], value));
}

GStrv
berth_proxy_env_for_guest (const gchar *const *envp, const gchar *host_address,
                           const gchar *const *no_proxy_extra, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) no_proxy = g_ptr_array_new_with_free_func (g_free);
  const gchar *values[G_N_ELEMENTS (proxy_names)];
  g_autofree gchar *no_proxy_text = NULL;

  g_return_val_if_fail (host_address != NULL, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (proxy_names); i++)
    {
      values[i] = envp != NULL ? pick_value (envp, i) : NULL;
      if (values[i] != NULL && !check_value (proxy_names[i][0], values[i], error))
        return NULL;
    }
  if (values[0] == NULL && values[1] == NULL)
    {
      g_ptr_array_add (out, NULL);
      return (GStrv)g_ptr_array_steal (out, NULL);
    }

  for (guint i = 0; i < 2; i++)
    if (values[i] != NULL)
      {
        g_autofree gchar *rewritten = berth_proxy_env_rewrite_loopback (values[i], host_address);

        if (!g_str_equal (rewritten, values[i]))
          g_message ("%s points at this host's loopback; the VM reaches it as %s",
                     proxy_names[i][0], rewritten);
        add_pair (out, i, rewritten);
      }
  add_no_proxy_items (no_proxy, values[2]);
  add_no_proxy_items (no_proxy, BERTH_PROXY_ENV_GUEST_NO_PROXY);
  for (guint i = 0; no_proxy_extra != NULL && no_proxy_extra[i] != NULL; i++)
    add_no_proxy_items (no_proxy, no_proxy_extra[i]);
  g_ptr_array_add (no_proxy, NULL);
  no_proxy_text = g_strjoinv (",", (gchar **)no_proxy->pdata);
  add_pair (out, 2, no_proxy_text);
  g_ptr_array_add (out, NULL);
  return (GStrv)g_ptr_array_steal (out, NULL);
}

gchar *
berth_proxy_env_to_shell (const gchar *const *env)
{
  GString *out = g_string_new ("# Written by Berth at each start: the host's proxy environment "
                               "for the engine and\n"
                               "# Kubernetes (empty when there is none). Read it with\n"
                               "#   set -a; . /etc/berth/proxy.env; set +a\n");

  for (guint i = 0; env != NULL && env[i] != NULL; i++)
    {
      const gchar *equals = strchr (env[i], '=');

      if (equals == NULL)
        continue;
      g_string_append_len (out, env[i], equals - env[i]);
      g_string_append (out, "='");
      for (const gchar *p = equals + 1; *p != '\0'; p++)
        {
          if (*p == '\'')
            g_string_append (out, "'\\''");
          else
            g_string_append_c (out, *p);
        }
      g_string_append (out, "'\n");
    }
  return g_string_free (out, FALSE);
}
