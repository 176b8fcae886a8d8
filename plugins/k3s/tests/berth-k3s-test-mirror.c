/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The fake k3s release mirror, from plugins/k3s's tests. */

#include "config.h"

#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>

#include "berth-k3s-test-mirror.h"
#include "berth-test-util.h"

/* A busy machine may take a while to start python and make the keys. */
#define START_TIMEOUT_SECONDS 60

static gchar *
script_path (const gchar *name)
{
  const gchar *dir = g_getenv ("BERTH_K3S_TESTS_DIR");

  g_assert_nonnull (dir);
  return g_build_filename (dir, name, NULL);
}

gboolean
berth_k3s_test_mirror_available (void)
{
  g_autofree gchar *python = g_find_program_in_path ("python3");
  g_autofree gchar *openssl = g_find_program_in_path ("openssl");

  if (python == NULL || openssl == NULL)
    {
      g_test_skip ("the fake k3s mirror needs python3 and openssl on PATH");
      return FALSE;
    }
  return TRUE;
}

void
berth_k3s_test_make_release (const gchar *dir, const gchar *version, const gchar *arch)
{
  g_autofree gchar *script = script_path ("make-fake-release.sh");
  const gchar *argv[] = { script, dir, version, arch, NULL };
  g_autofree gchar *err = NULL;
  gint status;

  status = berth_test_spawn (NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, &err);
  if (status != 0)
    g_error ("make-fake-release.sh %s %s failed (%d): %s", dir, version, status, err);
}

typedef struct
{
  const gchar *ready;
  GSubprocess *process;
} StartWait;

static gboolean
is_ready (gpointer user_data)
{
  StartWait *wait = user_data;

  return g_file_test (wait->ready, G_FILE_TEST_EXISTS)
         || g_subprocess_get_identifier (wait->process) == NULL;
}

BerthK3sTestMirror *
berth_k3s_test_mirror_start (const gchar *dir)
{
  g_autoptr (BerthK3sTestMirror) mirror = g_new0 (BerthK3sTestMirror, 1);
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *script = script_path ("fake-mirror.sh");
  g_autofree gchar *state = g_build_filename (dir, ".mirror", NULL);
  g_autofree gchar *ready = g_build_filename (state, "ready", NULL);
  g_autofree gchar *port_file = g_build_filename (state, "port", NULL);
  g_autofree gchar *port = NULL;
  StartWait wait = { ready, NULL };

  mirror->dir = g_strdup (dir);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_child_setup (launcher, berth_test_die_with_parent, NULL, NULL);
  mirror->process = g_subprocess_launcher_spawn (launcher, &error, script, dir, "0", NULL);
  g_assert_no_error (error);

  wait.process = mirror->process;
  if (!berth_test_iterate_until (is_ready, &wait, START_TIMEOUT_SECONDS)
      || !g_file_test (ready, G_FILE_TEST_EXISTS))
    g_error ("the fake k3s mirror on %s did not get ready within %d s (see its messages above)",
             dir, START_TIMEOUT_SECONDS);

  g_file_get_contents (port_file, &port, NULL, &error);
  g_assert_no_error (error);
  g_strstrip (port);
  mirror->base = g_strdup_printf ("https://127.0.0.1:%s", port);
  mirror->ca_file = g_build_filename (state, "ca.pem", NULL);
  g_assert_true (g_file_test (mirror->ca_file, G_FILE_TEST_IS_REGULAR));
  return g_steal_pointer (&mirror);
}

static gboolean
has_exited (gpointer user_data)
{
  return g_subprocess_get_identifier (user_data) == NULL;
}

void
berth_k3s_test_mirror_free (BerthK3sTestMirror *mirror)
{
  if (mirror == NULL)
    return;
  if (mirror->process != NULL)
    {
      g_subprocess_send_signal (mirror->process, SIGTERM);
      if (!berth_test_iterate_until (has_exited, mirror->process, 30))
        g_subprocess_force_exit (mirror->process);
      g_subprocess_wait (mirror->process, NULL, NULL);
      g_clear_object (&mirror->process);
    }
  g_free (mirror->dir);
  g_free (mirror->base);
  g_free (mirror->ca_file);
  g_free (mirror);
}

gchar *
berth_k3s_test_mirror_url (BerthK3sTestMirror *mirror, const gchar *broken, const gchar *path)
{
  if (broken != NULL)
    return g_strconcat (mirror->base, "/broken/", broken, path, NULL);
  return g_strconcat (mirror->base, path, NULL);
}

void
berth_k3s_test_mirror_set_env (BerthK3sTestMirror *mirror, const gchar *broken_channels,
                               const gchar *broken_releases, const gchar *broken_download)
{
  g_autofree gchar *channels
      = berth_k3s_test_mirror_url (mirror, broken_channels, "/v1-release/channels");
  g_autofree gchar *releases = berth_k3s_test_mirror_url (
      mirror, broken_releases, "/repos/k3s-io/k3s/releases?per_page=100");
  g_autofree gchar *download = berth_k3s_test_mirror_url (mirror, broken_download, "/download");

  g_setenv ("BERTH_K3S_CHANNELS_URL", channels, TRUE);
  g_setenv ("BERTH_K3S_RELEASES_URL", releases, TRUE);
  g_setenv ("BERTH_K3S_DOWNLOAD_URL", download, TRUE);
  g_setenv ("BERTH_K3S_CA_FILE", mirror->ca_file, TRUE);
}

void
berth_k3s_test_mirror_unset_env (void)
{
  g_unsetenv ("BERTH_K3S_CHANNELS_URL");
  g_unsetenv ("BERTH_K3S_RELEASES_URL");
  g_unsetenv ("BERTH_K3S_DOWNLOAD_URL");
  g_unsetenv ("BERTH_K3S_CA_FILE");
}

static gchar *
log_path (BerthK3sTestMirror *mirror)
{
  return g_build_filename (mirror->dir, ".mirror", "requests.log", NULL);
}

GStrv
berth_k3s_test_mirror_take_requests (BerthK3sTestMirror *mirror)
{
  g_autofree gchar *path = log_path (mirror);
  g_autofree gchar *contents = NULL;
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  if (g_file_get_contents (path, &contents, NULL, NULL))
    {
      g_auto (GStrv) lines = g_strsplit (contents, "\n", -1);

      for (guint i = 0; lines[i] != NULL; i++)
        if (lines[i][0] != '\0')
          g_strv_builder_add (builder, lines[i]);
      g_assert_true (g_file_set_contents (path, "", 0, NULL));
    }
  return g_strv_builder_end (builder);
}

typedef struct
{
  gchar *path;
  const gchar *needle;
} RequestWait;

static gboolean
has_request (gpointer user_data)
{
  RequestWait *wait = user_data;
  g_autofree gchar *contents = NULL;

  return g_file_get_contents (wait->path, &contents, NULL, NULL)
         && strstr (contents, wait->needle) != NULL;
}

gboolean
berth_k3s_test_mirror_wait_request (BerthK3sTestMirror *mirror, const gchar *needle,
                                    guint timeout_seconds)
{
  g_autofree gchar *path = log_path (mirror);
  RequestWait wait = { path, needle };

  return berth_test_iterate_until (has_request, &wait, timeout_seconds);
}
