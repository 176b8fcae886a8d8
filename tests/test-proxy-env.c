/* SPDX-License-Identifier: GPL-3.0-or-later */
/* This host's proxy environment as the guest gets it: which variables are
 * read and which case wins, loopback proxies made reachable from the guest,
 * NO_PROXY completed, bad values refused, and the shell file the guest's
 * engine and k3s read, checked by reading it back with a real shell. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "berth-error.h"
#include "berth-proxy-env.h"
#include "berth-test-util.h"

#define GATEWAY "10.0.2.2"

static void
test_rewrite_loopback (void)
{
  struct
  {
    const gchar *in;
    const gchar *out;
  } cases[] = {
    { "http://127.0.0.1:3128", "http://10.0.2.2:3128" },
    { "http://127.0.0.1:3128/", "http://10.0.2.2:3128/" },
    { "http://localhost:3128", "http://10.0.2.2:3128" },
    { "http://LocalHost.:8080", "http://10.0.2.2:8080" },
    { "http://127.4.5.6", "http://10.0.2.2" },
    { "http://[::1]:3128", "http://10.0.2.2:3128" },
    { "https://user:p%40ss@localhost:8443/path?q=localhost",
      "https://user:p%40ss@10.0.2.2:8443/path?q=localhost" },
    { "socks5://localhost:1080", "socks5://10.0.2.2:1080" },
    { "127.0.0.1:3128", "10.0.2.2:3128" },
    { "localhost", "10.0.2.2" },
    /* Not loopback: kept as they are. */
    { "http://proxy.corp.example:3128", "http://proxy.corp.example:3128" },
    { "http://localhost.corp.example:3128", "http://localhost.corp.example:3128" },
    { "http://10.1.2.3:3128/localhost", "http://10.1.2.3:3128/localhost" },
    { "http://127.0.0.1@proxy.corp.example:3128", "http://127.0.0.1@proxy.corp.example:3128" },
    { "http://128.0.0.1:3128", "http://128.0.0.1:3128" },
    { "http://[::2]:3128", "http://[::2]:3128" },
    { "http://[::1:3128", "http://[::1:3128" },
    { "", "" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *out = berth_proxy_env_rewrite_loopback (cases[i].in, GATEWAY);
      g_autofree gchar *twice = berth_proxy_env_rewrite_loopback (out, GATEWAY);

      g_test_message ("%s", cases[i].in);
      g_assert_cmpstr (out, ==, cases[i].out);
      g_assert_cmpstr (twice, ==, out);
    }
  {
    g_autofree gchar *v6 = berth_proxy_env_rewrite_loopback ("http://localhost:3128", "fec0::2");

    g_assert_cmpstr (v6, ==, "http://[fec0::2]:3128");
  }
}

static gchar *
joined (GStrv env)
{
  return g_strjoinv ("\n", env);
}

static void
test_for_guest (void)
{
  const gchar *const extra[] = { "10.0.2.15,lima-0", "host.docker.internal", NULL };
  const gchar *default_no_proxy = BERTH_PROXY_ENV_GUEST_NO_PROXY ",10.0.2.15,lima-0,"
                                                                 "host.docker.internal";
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) env = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *expected = NULL;

  /* No proxy: nothing, not even NO_PROXY. */
  {
    const gchar *const envp[] = { "PATH=/usr/bin", "NO_PROXY=.corp", "HTTP_PROXY=", NULL };

    env = berth_proxy_env_for_guest (envp, GATEWAY, extra, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (g_strv_length (env), ==, 0);
    g_clear_pointer (&env, g_strfreev);
  }

  /* One case set: both go to the guest; a loopback proxy is rewritten. */
  {
    const gchar *const envp[] = { "https_proxy=http://127.0.0.1:3128", NULL };

    env = berth_proxy_env_for_guest (envp, GATEWAY, extra, &error);
    g_assert_no_error (error);
    text = joined (env);
    expected = g_strdup_printf ("HTTPS_PROXY=http://10.0.2.2:3128\n"
                                "https_proxy=http://10.0.2.2:3128\n"
                                "NO_PROXY=%s\n"
                                "no_proxy=%s",
                                default_no_proxy, default_no_proxy);
    g_assert_cmpstr (text, ==, expected);
    g_clear_pointer (&env, g_strfreev);
    g_clear_pointer (&text, g_free);
    g_clear_pointer (&expected, g_free);
  }

  /* Both cases set and different: the upper-case one, as Go reads them.
   * The host's NO_PROXY comes first, trimmed, each entry once. */
  {
    const gchar *const envp[]
        = { "HTTP_PROXY=http://proxy.corp:3128", "http_proxy=http://other.corp:3128",
            "no_proxy= .corp.example ,localhost,,10.0.2.15 ", NULL };

    env = berth_proxy_env_for_guest (envp, GATEWAY, extra, &error);
    g_assert_no_error (error);
    text = joined (env);
    g_assert_cmpstr (text, ==,
                     "HTTP_PROXY=http://proxy.corp:3128\n"
                     "http_proxy=http://proxy.corp:3128\n"
                     "NO_PROXY=.corp.example,localhost,10.0.2.15,127.0.0.1,10.42.0.0/16,"
                     "10.43.0.0/16,lima-0,host.docker.internal\n"
                     "no_proxy=.corp.example,localhost,10.0.2.15,127.0.0.1,10.42.0.0/16,"
                     "10.43.0.0/16,lima-0,host.docker.internal");
    g_clear_pointer (&env, g_strfreev);
    g_clear_pointer (&text, g_free);
  }

  /* Values the guest's files cannot hold. */
  {
    const gchar *const control[] = { "HTTP_PROXY=http://proxy:3128\r", NULL };
    const gchar *const not_utf8[] = { "NO_PROXY=\xff", "HTTPS_PROXY=http://p:1", NULL };

    g_assert_null (berth_proxy_env_for_guest (control, GATEWAY, NULL, &error));
    g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
    g_assert_cmpstr (error->message, ==,
                     "The proxy variable HTTP_PROXY holds a control character (0x0d); fix it in "
                     "the environment Berth starts from, or turn virtualMachine.proxy.fromHost "
                     "off");
    g_clear_error (&error);
    g_assert_null (berth_proxy_env_for_guest (not_utf8, GATEWAY, NULL, &error));
    g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
    g_assert_true (g_str_has_prefix (error->message, "The proxy variable NO_PROXY is not UTF-8"));
  }
}

/* The file, sourced by a POSIX shell as the guest does, gives back each
 * value byte for byte, quotes and dollars included. */
static void
test_shell_file (void)
{
  const gchar *const env[]
      = { "HTTP_PROXY=http://u:it's$HOME`x`\\@proxy:3128", "NO_PROXY=a b,*.corp", NULL };
  g_autofree gchar *text = berth_proxy_env_to_shell (env);
  g_autofree gchar *dir = berth_test_make_root ("proxy-env");
  g_autofree gchar *path = g_build_filename (dir, "proxy.env", NULL);
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;
  const gchar *argv[] = { "sh",
                          "-c",
                          "set -a; . \"$1\"; set +a; printf '%s|%s' \"$HTTP_PROXY\" "
                          "\"$NO_PROXY\"",
                          "sh",
                          path,
                          NULL };
  gint status;

  g_assert_true (g_str_has_prefix (text, "# Written by Berth at each start"));
  g_assert_nonnull (strstr (text, "\nHTTP_PROXY='http://u:it'\\''s$HOME`x`\\@proxy:3128'\n"));
  berth_test_write_file (path, text, 0644);
  status = berth_test_spawn (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, &out, &err);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (out, ==, "http://u:it's$HOME`x`\\@proxy:3128|a b,*.corp");
  berth_test_rm_rf (dir);

  /* No variables: only the comment, which a shell reads as nothing. */
  {
    const gchar *const none[] = { NULL };
    g_autofree gchar *empty = berth_proxy_env_to_shell (none);
    g_auto (GStrv) lines = g_strsplit (empty, "\n", -1);

    for (guint i = 0; lines[i] != NULL; i++)
      g_assert_true (lines[i][0] == '\0' || lines[i][0] == '#');
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/proxy-env/rewrite-loopback", test_rewrite_loopback);
  g_test_add_func ("/proxy-env/for-guest", test_for_guest);
  g_test_add_func ("/proxy-env/shell-file", test_shell_file);
  return g_test_run ();
}
