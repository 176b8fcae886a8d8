/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "berthctl-launch.h"

#include <unistd.h>

#include "berth.h"

static BerthctlRemote *
try_connect (const BerthctlConnection *conn)
{
  g_autoptr (BerthctlRemote) remote = berthctl_remote_new (conn, NULL);
  g_autoptr (JsonNode) about = NULL;

  if (remote == NULL)
    return NULL;
  about = berthctl_remote_call (remote, "GET", "/v1/about", NULL, NULL);
  return about != NULL ? g_steal_pointer (&remote) : NULL;
}

gchar *
berthctl_find_berthd (GError **error)
{
  const gchar *env = g_getenv ("BERTHD");
  g_autofree gchar *self = g_file_read_link ("/proc/self/exe", NULL);
  gchar *found;

  if (env != NULL && env[0] != '\0')
    return g_strdup (env);
  if (self != NULL)
    {
      g_autofree gchar *dir = g_path_get_dirname (self);
      /* The build tree keeps berthd in frontends/daemon/, beside frontends/cli/. */
      g_autofree gchar *in_tree = g_build_filename (dir, "..", "daemon", "berthd", NULL);
      g_autofree gchar *beside = g_build_filename (dir, "berthd", NULL);

      if (g_file_test (in_tree, G_FILE_TEST_IS_EXECUTABLE))
        return g_steal_pointer (&in_tree);
      if (g_file_test (beside, G_FILE_TEST_IS_EXECUTABLE))
        return g_steal_pointer (&beside);
    }
  found = g_find_program_in_path ("berthd");
  if (found == NULL)
    g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                         "berthd is not running and cannot be found: install it beside "
                         "berthctl, put it on PATH, or set BERTHD to its path");
  return found;
}

static void
child_setup (gpointer data)
{
  /* Out of the terminal's session, so that closing the terminal does not end
   * berthd. */
  setsid ();
}

BerthctlRemote *
berthctl_launch_daemon (const BerthctlConnection *conn, GError **error)
{
  BerthctlRemote *remote = try_connect (conn);
  g_autofree gchar *berthd = NULL;
  g_autofree gchar *port = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) child = NULL;

  if (remote != NULL)
    return remote;
  if (conn->host != NULL && !g_str_equal (conn->host, "127.0.0.1")
      && !g_str_equal (conn->host, "localhost"))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND, "no berthd answers at %s",
                   conn->host);
      return NULL;
    }
  berthd = berthctl_find_berthd (error);
  if (berthd == NULL)
    return NULL;
  g_ptr_array_add (argv, berthd);
  if (conn->port > 0)
    {
      port = g_strdup_printf ("--port=%d", conn->port);
      g_ptr_array_add (argv, port);
    }
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_INHERIT
                                        | G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                        | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  child = g_subprocess_launcher_spawnv (launcher, (const gchar *const *) argv->pdata, error);
  if (child == NULL)
    return NULL;

  /* berthd writes its credentials file once it listens. */
  for (guint i = 0; i < 300; i++)
    {
      BerthctlConnection probe = *conn;

      if (g_subprocess_get_identifier (child) == NULL)
        break; /* it exited */
      remote = try_connect (&probe);
      if (remote != NULL)
        return remote;
      g_usleep (G_USEC_PER_SEC / 20);
      /* Lets GSubprocess notice (and reap) a berthd that gave up. */
      while (g_main_context_iteration (NULL, FALSE))
        ;
    }
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
               "berthd (%s) did not come up; see its log in the Berth logs directory "
               "(berthctl paths)",
               berthd);
  return NULL;
}
