/* SPDX-License-Identifier: GPL-3.0-or-later */
/* plugins/host through berthd and berthctl, as a person uses them: berthd
 * from the build tree with only berth-host loaded, in a throwaway home with
 * fake docker, systemctl and pkexec on PATH (each says it is a fake), the
 * real berth-admin-helper on a scratch root. A setting changed with
 * berthctl set acts on the host; berthctl diagnostics reports a file Berth
 * left alone; berthctl factory-reset takes back what Berth made, and only
 * that. */
#include "config.h"

#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>

#include "berth-test-util.h"

#define WAIT_SECONDS 60

typedef struct
{
  gchar *root;
  gchar *fake_dir;
  gchar *sysroot;
  gchar *stderr_path;
  gchar **envp;
  GSubprocess *berthd;
  gboolean exited;
} Fixture;

static void
write_file (const gchar *path, const gchar *text, gint mode)
{
  g_autofree gchar *dir = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  berth_test_write_file (path, text, mode);
}

static void
on_exited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ((Fixture *)user_data)->exited = TRUE;
}

static gboolean
has_exited (gpointer user_data)
{
  return ((Fixture *)user_data)->exited;
}

static gboolean
credentials_ready (gpointer user_data)
{
  Fixture *f = user_data;
  g_autofree gchar *path = g_build_filename (f->root, "share", "berth", "berth-engine.json", NULL);
  g_autofree gchar *password = NULL;
  guint port = 0;

  return f->exited || berth_test_read_credentials (path, 0, &port, &password);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *fake_bin = NULL;
  g_autofree gchar *runtime = NULL;
  const gchar *build = g_getenv ("BERTH_BUILD_ROOT");
  g_autofree gchar *berthd = g_build_filename (build, "frontends", "daemon", "berthd", NULL);
  g_autofree gchar *berthctl = g_build_filename (build, "frontends", "cli", "berthctl", NULL);

  f->root = berth_test_make_root ("berth-test-host-daemon");
  f->fake_dir = g_build_filename (f->root, "fake", NULL);
  f->sysroot = g_build_filename (f->root, "sysroot", NULL);
  f->stderr_path = g_build_filename (f->root, "berthd.stderr", NULL);
  fake_bin = g_build_filename (f->root, "fake-bin", NULL);
  runtime = g_build_filename (f->root, "run", NULL);
  g_assert_cmpint (g_mkdir_with_parents (runtime, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (f->fake_dir, 0755), ==, 0);
  {
    g_autofree gchar *run = g_build_filename (f->sysroot, "var", "run", NULL);
    g_autofree gchar *docker = g_build_filename (fake_bin, "docker", NULL);
    const gchar *fakes[] = { "systemctl", "pkexec" };

    g_assert_cmpint (g_mkdir_with_parents (run, 0755), ==, 0);
    g_autofree gchar *kubectl = g_build_filename (fake_bin, "kubectl", NULL);

    write_file (docker, "#!/bin/sh\necho \"fake docker for Berth's tests: $*\"\n", 0755);
    write_file (kubectl, "#!/bin/sh\necho \"fake kubectl for Berth's tests: $*\"\n", 0755);
    for (gsize i = 0; i < G_N_ELEMENTS (fakes); i++)
      {
        g_autofree gchar *name = g_strconcat ("fake-", fakes[i], NULL);
        g_autofree gchar *text = berth_test_read_fixture (name, NULL);
        g_autofree gchar *path = g_build_filename (fake_bin, fakes[i], NULL);

        write_file (path, text, 0755);
      }
  }

  f->envp = g_get_environ ();
  f->envp = g_environ_setenv (f->envp, "HOME", f->root, TRUE);
  f->envp = berth_test_environ_under (f->envp, f->root);
  f->envp = g_environ_setenv (f->envp, "XDG_STATE_HOME", f->root, TRUE);
  f->envp = g_environ_setenv (f->envp, "XDG_RUNTIME_DIR", runtime, TRUE);
  f->envp = g_environ_setenv (f->envp, "PATH", fake_bin, TRUE);
  f->envp = g_environ_setenv (f->envp, "FAKE_DIR", f->fake_dir, TRUE);
  f->envp = g_environ_setenv (f->envp, "BERTH_SYSTEM_ROOT", f->sysroot, TRUE);
  f->envp = g_environ_setenv (f->envp, "BERTH_BERTHCTL", berthctl, TRUE);
  f->envp = g_environ_setenv (f->envp, "BERTHCTL", berthctl, TRUE);
  f->envp = g_environ_unsetenv (f->envp, "BERTH_API_PORT");
  f->envp = g_environ_unsetenv (f->envp, "INVOCATION_ID");
  f->envp = g_environ_unsetenv (f->envp, "JOURNAL_STREAM");

  /* The person's own kubectl in ~/.local/bin, before Berth starts. */
  {
    g_autofree gchar *own = g_build_filename (f->root, ".local", "bin", "kubectl", NULL);

    write_file (own, "#!/bin/sh\necho mine\n", 0755);
  }

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, berth_test_die_with_parent, NULL, NULL);
  g_subprocess_launcher_set_environ (launcher, f->envp);
  g_subprocess_launcher_set_stderr_file_path (launcher, f->stderr_path);
  f->berthd
      = g_subprocess_launcher_spawn (launcher, &error, berthd, "--foreground", "--port", "0", NULL);
  g_assert_no_error (error);
  g_subprocess_wait_async (f->berthd, NULL, on_exited, f);
  g_assert_true (berth_test_iterate_until (credentials_ready, f, WAIT_SECONDS));
  if (f->exited)
    berth_test_show_stderr ("berthd", f->stderr_path);
  g_assert_false (f->exited);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  if (g_test_failed ())
    berth_test_show_stderr ("berthd", f->stderr_path);
  if (!f->exited)
    {
      g_subprocess_send_signal (f->berthd, SIGTERM);
      if (!berth_test_iterate_until (has_exited, f, WAIT_SECONDS))
        g_subprocess_force_exit (f->berthd);
      while (!f->exited)
        g_main_context_iteration (NULL, TRUE);
    }
  g_clear_object (&f->berthd);
  berth_test_rm_rf (f->root);
  g_free (f->root);
  g_free (f->fake_dir);
  g_free (f->sysroot);
  g_free (f->stderr_path);
  g_strfreev (f->envp);
}

/* Runs berthctl with @args; asserts it exited with 0 (or, for
 * diagnostics, 1: a check failed) and returns its stdout. */
static gchar *
berthctl (Fixture *f, const gchar *first, ...) G_GNUC_NULL_TERMINATED;

static gchar *
berthctl (Fixture *f, const gchar *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autofree gchar *err = NULL;
  gchar *out = NULL;
  va_list args;
  gint status;

  g_ptr_array_add (argv, (gpointer)g_environ_getenv (f->envp, "BERTHCTL"));
  va_start (args, first);
  for (const gchar *a = first; a != NULL; a = va_arg (args, const gchar *))
    g_ptr_array_add (argv, (gpointer)a);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  status = berth_test_spawn (NULL, (const gchar *const *)argv->pdata, (const gchar *const *)f->envp,
                             G_SPAWN_DEFAULT, &out, &err);
  if (status != 0 && !(status == 1 && g_str_equal (first, "diagnostics")))
    g_error ("berthctl %s exited with %d: %s", first, status, err);
  return out;
}

typedef struct
{
  const gchar *path;
  const gchar *needle; /* NULL: the path exists (a link or not) */
  gboolean absent;     /* wait for it to be gone instead */
} FileWait;

static gboolean
file_is_so (gpointer user_data)
{
  const FileWait *w = user_data;
  g_autofree gchar *text = NULL;

  if (w->absent)
    return !g_file_test (w->path, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK);
  if (w->needle == NULL)
    return g_file_test (w->path, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK);
  return g_file_get_contents (w->path, &text, NULL, NULL) && strstr (text, w->needle) != NULL;
}

static void
wait_file (const gchar *path, const gchar *needle, gboolean absent)
{
  FileWait w = { path, needle, absent };

  if (!berth_test_iterate_until (file_is_so, &w, WAIT_SECONDS))
    g_error ("%s did not become %s%s in %d s", path,
             absent           ? "absent"
             : needle != NULL ? "a file holding "
                              : "present",
             needle != NULL ? needle : "", WAIT_SECONDS);
}

static void
test_settings_act (Fixture *f, gconstpointer data)
{
  g_autofree gchar *user_docker = g_build_filename (f->root, ".local", "bin", "docker", NULL);
  g_autofree gchar *own_kubectl = g_build_filename (f->root, ".local", "bin", "kubectl", NULL);
  g_autofree gchar *bashrc = g_build_filename (f->root, ".bashrc", NULL);
  g_autofree gchar *bin_dir = g_build_filename (f->root, "share", "berth", "bin", NULL);
  g_autofree gchar *link = g_build_filename (f->sysroot, "var", "run", "docker.sock", NULL);
  g_autofree gchar *systemctl_log = g_build_filename (f->fake_dir, "systemctl.log", NULL);
  g_autofree gchar *socket = g_build_filename (f->root, "share", "berth", "docker.sock", NULL);
  static const gchar bash_text[] = "# the person's own\nexport EDITOR=vi\n";
  g_autofree gchar *out = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *target = NULL;

  write_file (bashrc, bash_text, 0644);

  /* notset, from the start: ~/.local/bin has Berth's docker; the person's
   * kubectl is kept and diagnostics says so. */
  wait_file (user_docker, NULL, FALSE);
  for (gint i = 0; i < 100; i++)
    {
      g_free (out);
      out = berthctl (f, "diagnostics", "-o", "json", NULL);
      if (strstr (out, own_kubectl) != NULL)
        break;
      berth_test_pause_ms (100);
    }
  g_test_message ("%s", out);
  g_assert_nonnull (strstr (out, own_kubectl));
  g_assert_nonnull (strstr (out, "is not Berth's"));
  text = berth_test_read_file (own_kubectl);
  g_assert_cmpstr (text, ==, "#!/bin/sh\necho mine\n");

  /* rcfiles: the block in ~/.bashrc, and ~/.local/bin without Berth's. */
  g_free (berthctl (f, "set", "--application.path-management-strategy", "rcfiles", NULL));
  wait_file (bashrc, bin_dir, FALSE);
  wait_file (user_docker, NULL, TRUE);

  /* autoStart through (the fake) systemd. */
  g_free (berthctl (f, "set", "--application.auto-start", NULL));
  wait_file (systemctl_log, "--user enable berthd.service", FALSE);

  /* adminAccess: pkexec is on berthd's PATH (the fake), so it is taken. */
  g_free (berthctl (f, "set", "--application.admin-access", NULL));
  wait_file (link, NULL, FALSE);
  target = g_file_read_link (link, NULL);
  g_assert_cmpstr (target, ==, socket);

  /* A factory reset takes back all of it, and only what was Berth's. */
  g_free (berthctl (f, "factory-reset", NULL));
  wait_file (link, NULL, TRUE);
  wait_file (systemctl_log, "--user disable berthd.service", FALSE);
  wait_file (bashrc, "export EDITOR=vi\n", FALSE);
  {
    gboolean restored = FALSE;

    for (gint i = 0; i < WAIT_SECONDS * 50 && !restored; i++)
      {
        g_autofree gchar *now = berth_test_read_file (bashrc);

        restored = g_str_equal (now, bash_text);
        if (!restored)
          berth_test_pause_ms (20);
      }
    g_assert_true (restored);
  }
  g_clear_pointer (&text, g_free);
  text = berth_test_read_file (own_kubectl);
  g_assert_cmpstr (text, ==, "#!/bin/sh\necho mine\n");
  /* berthd has quit: the defaults the reset wrote did not bring the links
   * back. */
  g_assert_true (berth_test_iterate_until (has_exited, f, WAIT_SECONDS));
  g_assert_false (g_file_test (user_docker, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK));
  g_assert_false (g_file_test (bin_dir, G_FILE_TEST_EXISTS));
}

int
main (int argc, char **argv)
{
  berth_test_watch_leftovers ();
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/host-daemon/settings-act", Fixture, NULL, fixture_setup, test_settings_act,
              fixture_teardown);
  return g_test_run ();
}
