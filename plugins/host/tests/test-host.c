/* SPDX-License-Identifier: GPL-3.0-or-later */
/* plugins/host as berthd loads it, in a throwaway home: the tools linked
 * for each application.pathManagementStrategy with the person's own files
 * kept, Berth's block in the shells' startup files added and removed byte
 * for byte, application.autoStart through a fake systemctl or an autostart
 * entry, application.adminAccess through a fake pkexec running the real
 * helper on a scratch root. The fake docker, kubectl and berthctl only say
 * they are fakes. */
#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <berth.h>

#include "berth-host-rcfile.h"
#include "berth-test-util.h"

#define WAIT_SECONDS 30

typedef struct
{
  gchar *root;
  gchar *fake_dir; /* the fakes' logs and switches */
  gchar *fake_bin; /* PATH: fake docker, kubectl, systemctl, pkexec */
  gchar *sysroot;  /* stands for / for the helper */
  gchar *bin_dir;  /* Berth's */
  gchar *user_bin; /* ~/.local/bin */
  gchar *berthctl; /* the fake one */
  BerthPaths *paths;
  BerthSettings *settings;
  BerthPluginLoader *loader;
  BerthIntegration *integration;
} Fixture;

static void
write_file (const gchar *path, const gchar *text, gint mode)
{
  g_autofree gchar *dir = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  berth_test_write_file (path, text, mode);
}

static void
install_fake (Fixture *f, const gchar *name, const gchar *source)
{
  g_autofree gchar *text = berth_test_read_fixture (source, NULL);
  g_autofree gchar *path = g_build_filename (f->fake_bin, name, NULL);

  write_file (path, text, 0755);
}

static void
fake_tool (const gchar *path, const gchar *name)
{
  g_autofree gchar *text
      = g_strdup_printf ("#!/bin/sh\necho \"fake %s for Berth's tests: $*\"\n", name);

  write_file (path, text, 0755);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  BerthHostInfo host;

  f->root = berth_test_make_root ("berth-test-host");
  g_setenv ("HOME", f->root, TRUE);
  f->fake_dir = g_build_filename (f->root, "fake", NULL);
  f->fake_bin = g_build_filename (f->root, "fake-bin", NULL);
  f->sysroot = g_build_filename (f->root, "sysroot", NULL);
  f->berthctl = g_build_filename (f->root, "fake-install", "berthctl", NULL);
  g_assert_cmpint (g_mkdir_with_parents (f->fake_dir, 0755), ==, 0);
  install_fake (f, "systemctl", "fake-systemctl");
  install_fake (f, "pkexec", "fake-pkexec");
  {
    g_autofree gchar *docker = g_build_filename (f->fake_bin, "docker", NULL);
    g_autofree gchar *kubectl = g_build_filename (f->fake_bin, "kubectl", NULL);
    g_autofree gchar *run = g_build_filename (f->sysroot, "var", "run", NULL);

    fake_tool (docker, "docker");
    fake_tool (kubectl, "kubectl");
    fake_tool (f->berthctl, "berthctl");
    g_assert_cmpint (g_mkdir_with_parents (run, 0755), ==, 0);
  }
  /* Only the fakes: no helm, no real systemctl or pkexec. */
  g_setenv ("PATH", f->fake_bin, TRUE);
  g_setenv ("FAKE_DIR", f->fake_dir, TRUE);
  g_setenv ("BERTH_BERTHCTL", f->berthctl, TRUE);
  g_setenv ("BERTH_SYSTEM_ROOT", f->sysroot, TRUE);

  f->paths = berth_test_paths_under (f->root);
  f->bin_dir = g_build_filename (f->paths->data, "bin", NULL);
  f->user_bin = g_strdup (f->paths->integration);
  berth_test_host_info (&host);
  host.has_pkexec = TRUE;
  f->settings = berth_test_settings_new (f->paths, &host);
  f->integration
      = BERTH_INTEGRATION (berth_test_load_plugin (f->settings, f->paths, "host", &f->loader));
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->loader);
  g_clear_object (&f->settings);
  g_clear_pointer (&f->paths, berth_paths_free);
  berth_test_rm_rf (f->root);
  g_free (f->root);
  g_free (f->fake_dir);
  g_free (f->fake_bin);
  g_free (f->sysroot);
  g_free (f->bin_dir);
  g_free (f->user_bin);
  g_free (f->berthctl);
}

static void
set (Fixture *f, const gchar *json)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (berth_settings_update_from_json (f->settings, json, NULL, &error));
  g_assert_no_error (error);
}

/* Applies and waits; returns the error, if any. */
static GError *
apply (Fixture *f)
{
  g_autoptr (GAsyncResult) result = NULL;
  GError *error = NULL;

  berth_integration_apply_async (f->integration, BERTH_STATE_STOPPED, NULL, berth_test_store_result,
                                 &result);
  berth_test_wait_result (&result, WAIT_SECONDS);
  berth_integration_apply_finish (f->integration, result, &error);
  return error;
}

static void
apply_ok (Fixture *f)
{
  g_autoptr (GError) error = apply (f);

  g_assert_no_error (error);
}

static void
remove_all (Fixture *f)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;

  berth_integration_remove_async (f->integration, NULL, berth_test_store_result, &result);
  berth_test_wait_result (&result, WAIT_SECONDS);
  berth_integration_remove_finish (f->integration, result, &error);
  g_assert_no_error (error);
}

static gchar *
link_target (const gchar *dir, const gchar *name)
{
  g_autofree gchar *path = g_build_filename (dir, name, NULL);

  return g_file_read_link (path, NULL);
}

static gboolean
exists (const gchar *dir, const gchar *name)
{
  g_autofree gchar *path = g_build_filename (dir, name, NULL);

  return g_file_test (path, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK);
}

/* What list() says of @name: NULL for true, "false", or the reason. */
static gchar *
status_of (Fixture *f, const gchar *name)
{
  g_autoptr (JsonNode) list = berth_integration_list (f->integration);
  JsonNode *node = json_object_get_member (json_node_get_object (list), name);

  g_assert_nonnull (node);
  if (json_node_get_value_type (node) == G_TYPE_BOOLEAN)
    return json_node_get_boolean (node) ? NULL : g_strdup ("false");
  return g_strdup (json_node_get_string (node));
}

static gboolean
warnings_mention (Fixture *f, const gchar *text)
{
  g_auto (GStrv) warnings = berth_integration_dup_warnings (f->integration);

  for (guint i = 0; warnings[i] != NULL; i++)
    if (strstr (warnings[i], text) != NULL)
      return TRUE;
  return FALSE;
}

/* ---- tool links ---------------------------------------------------------- */

static void
test_links_notset (Fixture *f, gconstpointer data)
{
  g_autofree gchar *own_kubectl = g_build_filename (f->user_bin, "kubectl", NULL);
  g_autofree gchar *docker_host = g_build_filename (f->fake_bin, "docker", NULL);
  g_autofree gchar *kubectl_host = g_build_filename (f->fake_bin, "kubectl", NULL);
  g_autofree gchar *docker_berth = g_build_filename (f->bin_dir, "docker", NULL);
  g_autofree gchar *nerdctl_path = g_build_filename (f->bin_dir, "nerdctl", NULL);
  static const gchar own_text[] = "#!/bin/sh\necho the person's own kubectl\n";
  g_autofree gchar *target = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *why = NULL;
  g_autofree gchar *out = NULL;
  g_autofree gchar *user_docker = g_build_filename (f->user_bin, "docker", NULL);

  /* The person's own kubectl in ~/.local/bin. */
  write_file (own_kubectl, own_text, 0755);
  apply_ok (f);

  /* docker: host's → Berth's bin directory → ~/.local/bin, and it runs. */
  target = link_target (f->bin_dir, "docker");
  g_assert_cmpstr (target, ==, docker_host);
  g_clear_pointer (&target, g_free);
  target = link_target (f->user_bin, "docker");
  g_assert_cmpstr (target, ==, docker_berth);
  g_assert_cmpint (berth_test_spawn (NULL, (const gchar *const[]){ user_docker, "ps", NULL }, NULL,
                                     G_SPAWN_DEFAULT, &out, NULL),
                   ==, 0);
  g_assert_cmpstr (out, ==, "fake docker for Berth's tests: ps\n");
  g_assert_null (status_of (f, "docker"));

  /* kubectl: Berth's bin directory has it; the person's own is kept. */
  g_clear_pointer (&target, g_free);
  target = link_target (f->bin_dir, "kubectl");
  g_assert_cmpstr (target, ==, kubectl_host);
  text = berth_test_read_file (own_kubectl);
  g_assert_cmpstr (text, ==, own_text);
  why = status_of (f, "kubectl");
  g_assert_nonnull (strstr (why, "is not Berth's; Berth left it alone"));
  g_assert_true (warnings_mention (f, own_kubectl));

  /* helm: not on this host's PATH, said so. */
  g_clear_pointer (&why, g_free);
  why = status_of (f, "helm");
  g_assert_nonnull (strstr (why, "not found on PATH"));
  g_assert_false (exists (f->bin_dir, "helm"));
  g_assert_false (exists (f->user_bin, "helm"));

  /* nerdctl: Berth's wrapper through berthctl; berthctl itself. */
  g_clear_pointer (&text, g_free);
  text = berth_test_read_file (nerdctl_path);
  g_assert_nonnull (strstr (text, "# Berth's nerdctl wrapper"));
  g_assert_nonnull (strstr (text, f->berthctl));
  g_assert_nonnull (strstr (text, "shell -- nerdctl \"$@\""));
  g_assert_true (exists (f->user_bin, "nerdctl"));
  g_clear_pointer (&target, g_free);
  target = link_target (f->bin_dir, "berthctl");
  g_assert_cmpstr (target, ==, f->berthctl);

  /* manual: ~/.local/bin loses Berth's links only. */
  set (f, "{\"application\": {\"pathManagementStrategy\": \"manual\"}}");
  apply_ok (f);
  g_assert_false (exists (f->user_bin, "docker"));
  g_assert_false (exists (f->user_bin, "nerdctl"));
  g_clear_pointer (&text, g_free);
  text = berth_test_read_file (own_kubectl);
  g_assert_cmpstr (text, ==, own_text);
  g_assert_true (exists (f->bin_dir, "docker"));
  g_assert_true (warnings_mention (f, "application.pathManagementStrategy is manual: add"));

  /* Removed: Berth's go, the person's stay. */
  remove_all (f);
  g_assert_false (g_file_test (f->bin_dir, G_FILE_TEST_EXISTS));
  g_clear_pointer (&text, g_free);
  text = berth_test_read_file (own_kubectl);
  g_assert_cmpstr (text, ==, own_text);
}

/* A file of the person's in Berth's own bin directory is kept too. */
static void
test_links_foreign_in_bin_dir (Fixture *f, gconstpointer data)
{
  g_autofree gchar *own = g_build_filename (f->bin_dir, "docker", NULL);
  g_autofree gchar *text = NULL;
  g_autofree gchar *why = NULL;

  write_file (own, "#!/bin/sh\necho mine\n", 0755);
  apply_ok (f);
  text = berth_test_read_file (own);
  g_assert_cmpstr (text, ==, "#!/bin/sh\necho mine\n");
  why = status_of (f, "docker");
  g_assert_nonnull (strstr (why, "is not Berth's"));
  remove_all (f);
  g_assert_true (g_file_test (own, G_FILE_TEST_IS_REGULAR));
}

/* With Berth's bin directory on PATH (as rcfiles puts it), however
 * spelled, the tools still lead to the host's, never to themselves. */
static void
test_links_bin_dir_on_path (Fixture *f, gconstpointer data)
{
  g_autofree gchar *docker_host = g_build_filename (f->fake_bin, "docker", NULL);
  g_autofree gchar *path = NULL;

  apply_ok (f);
  path = g_strdup_printf ("%s/:%s/../bin:%s", f->bin_dir, f->bin_dir, f->fake_bin);
  g_setenv ("PATH", path, TRUE);
  apply_ok (f);
  {
    g_autofree gchar *target = link_target (f->bin_dir, "docker");

    g_assert_cmpstr (target, ==, docker_host);
  }
  g_setenv ("PATH", f->fake_bin, TRUE);
}

/* ---- shell startup files ------------------------------------------------- */

static void
test_rcfiles (Fixture *f, gconstpointer data)
{
  g_autofree gchar *bashrc = g_build_filename (f->root, ".bashrc", NULL);
  g_autofree gchar *zshrc = g_build_filename (f->root, ".zshrc", NULL);
  g_autofree gchar *fish = g_build_filename (f->paths->config, "..", "fish", "config.fish", NULL);
  /* No line break at the end of .bashrc, one at the end of the others. */
  static const gchar bash_text[] = "# mine\nalias ll='ls -l'\nexport EDITOR=vi";
  static const gchar zsh_text[] = "setopt autocd\n";
  static const gchar fish_text[] = "set -gx EDITOR vi\n";
  g_autofree gchar *text = NULL;
  g_autofree gchar *out = NULL;
  g_autofree gchar *command = NULL;
  g_autofree gchar *expected_path = NULL;

  write_file (bashrc, bash_text, 0600);
  write_file (zshrc, zsh_text, 0644);
  write_file (fish, fish_text, 0644);
  set (f, "{\"application\": {\"pathManagementStrategy\": \"rcfiles\"}}");
  apply_ok (f);

  text = berth_test_read_file (bashrc);
  g_assert_true (g_str_has_prefix (text, bash_text));
  g_assert_true (berth_host_rc_has_block (text, strlen (text)));
  g_clear_pointer (&text, g_free);
  text = berth_test_read_file (fish);
  g_assert_nonnull (strstr (text, "set --global --export PATH"));
  /* The mode stays. */
  {
    GStatBuf st;

    g_assert_cmpint (g_stat (bashrc, &st), ==, 0);
    g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  }
  /* A shell that reads it has Berth's bin directory first on PATH. */
  command = g_strdup_printf (". '%s'; echo \"$PATH\"", bashrc);
  g_assert_cmpint (berth_test_spawn (NULL, (const gchar *const[]){ "/bin/sh", "-c", command, NULL },
                                     NULL, G_SPAWN_DEFAULT, &out, NULL),
                   ==, 0);
  expected_path = g_strdup_printf ("%s:%s\n", f->bin_dir, f->fake_bin);
  g_assert_cmpstr (out, ==, expected_path);

  /* Applying again changes nothing. */
  g_clear_pointer (&text, g_free);
  text = berth_test_read_file (zshrc);
  apply_ok (f);
  {
    g_autofree gchar *again = berth_test_read_file (zshrc);

    g_assert_cmpstr (again, ==, text);
  }

  /* manual: each file is as it was, byte for byte. */
  set (f, "{\"application\": {\"pathManagementStrategy\": \"manual\"}}");
  apply_ok (f);
  g_clear_pointer (&text, g_free);
  text = berth_test_read_file (bashrc);
  g_assert_cmpstr (text, ==, bash_text);
  g_clear_pointer (&text, g_free);
  text = berth_test_read_file (zshrc);
  g_assert_cmpstr (text, ==, zsh_text);
  g_clear_pointer (&text, g_free);
  text = berth_test_read_file (fish);
  g_assert_cmpstr (text, ==, fish_text);
}

/* A block Berth cannot read is left to the person, and said so; the other
 * files are still done. */
static void
test_rcfiles_malformed (Fixture *f, gconstpointer data)
{
  g_autofree gchar *bashrc = g_build_filename (f->root, ".bashrc", NULL);
  g_autofree gchar *zshrc = g_build_filename (f->root, ".zshrc", NULL);
  static const gchar zsh_text[] = "a\n" BERTH_HOST_RC_BEGIN "\nexport PATH=/x:$PATH\nb\n";
  g_autofree gchar *text = NULL;
  g_autoptr (GError) error = NULL;

  write_file (zshrc, zsh_text, 0644);
  set (f, "{\"application\": {\"pathManagementStrategy\": \"rcfiles\"}}");
  error = apply (f);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, zshrc));
  g_assert_true (warnings_mention (f, "Berth leaves the file alone"));
  text = berth_test_read_file (zshrc);
  g_assert_cmpstr (text, ==, zsh_text);
  /* .bashrc did not exist: it is made, with the block alone. */
  g_clear_pointer (&text, g_free);
  text = berth_test_read_file (bashrc);
  g_assert_true (g_str_has_prefix (text, BERTH_HOST_RC_BEGIN "\n"));
}

/* ---- autoStart ----------------------------------------------------------- */

static guint
count_lines (Fixture *f, const gchar *log, const gchar *line)
{
  g_autofree gchar *path = g_build_filename (f->fake_dir, log, NULL);
  g_autofree gchar *text = NULL;
  g_auto (GStrv) lines = NULL;
  guint n = 0;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    n += g_str_equal (lines[i], line);
  return n;
}

static void
test_autostart_systemd (Fixture *f, gconstpointer data)
{
  g_autofree gchar *how = NULL;
  g_autofree gchar *entry
      = g_build_filename (f->paths->config, "..", "autostart", "berth.desktop", NULL);

  apply_ok (f);
  g_assert_cmpuint (count_lines (f, "systemctl.log", "--user enable berthd.service"), ==, 0);
  how = status_of (f, "autostart");
  g_assert_cmpstr (how, ==, "false");

  set (f, "{\"application\": {\"autoStart\": true}}");
  apply_ok (f);
  g_assert_cmpuint (count_lines (f, "systemctl.log", "--user enable berthd.service"), ==, 1);
  g_clear_pointer (&how, g_free);
  how = status_of (f, "autostart");
  g_assert_cmpstr (how, ==, "systemd");
  g_assert_false (g_file_test (entry, G_FILE_TEST_EXISTS));
  /* Already enabled: not again. */
  apply_ok (f);
  g_assert_cmpuint (count_lines (f, "systemctl.log", "--user enable berthd.service"), ==, 1);

  set (f, "{\"application\": {\"autoStart\": false}}");
  apply_ok (f);
  g_assert_cmpuint (count_lines (f, "systemctl.log", "--user disable berthd.service"), ==, 1);
}

static void
test_autostart_xdg (Fixture *f, gconstpointer data)
{
  g_autofree gchar *flag = g_build_filename (f->fake_dir, "no-user-instance", NULL);
  g_autofree gchar *entry
      = g_build_filename (f->paths->config, "..", "autostart", "berth.desktop", NULL);
  g_autofree gchar *text = NULL;
  g_autofree gchar *how = NULL;

  write_file (flag, "", 0644);
  set (f, "{\"application\": {\"autoStart\": true}}");
  apply_ok (f);
  text = berth_test_read_file (entry);
  g_assert_nonnull (strstr (text, "[Desktop Entry]\n"));
  g_assert_nonnull (strstr (text, "\nExec="));
  g_assert_nonnull (strstr (text, "berthd"));
  how = status_of (f, "autostart");
  g_assert_cmpstr (how, ==, "xdg-autostart");
  g_assert_cmpuint (count_lines (f, "systemctl.log", "--user enable berthd.service"), ==, 0);

  set (f, "{\"application\": {\"autoStart\": false}}");
  apply_ok (f);
  g_assert_false (g_file_test (entry, G_FILE_TEST_EXISTS));

  /* An entry of the person's own is kept, and said so. */
  write_file (entry, "[Desktop Entry]\nExec=mine\n", 0644);
  set (f, "{\"application\": {\"autoStart\": true}}");
  apply_ok (f);
  g_clear_pointer (&text, g_free);
  text = berth_test_read_file (entry);
  g_assert_cmpstr (text, ==, "[Desktop Entry]\nExec=mine\n");
  g_assert_true (warnings_mention (f, "is not Berth's"));
  set (f, "{\"application\": {\"autoStart\": false}}");
  apply_ok (f);
  g_assert_true (g_file_test (entry, G_FILE_TEST_EXISTS));
}

/* ---- adminAccess ---------------------------------------------------------- */

static void
test_admin_access (Fixture *f, gconstpointer data)
{
  g_autofree gchar *link = g_build_filename (f->sysroot, "var", "run", "docker.sock", NULL);
  g_autofree gchar *socket = g_build_filename (f->paths->data, "docker.sock", NULL);
  g_autofree gchar *helper_line = g_strdup_printf (
      "%s --root %s link %s", g_getenv ("BERTH_ADMIN_HELPER"), f->sysroot, socket);
  g_autofree gchar *unlink_line = g_strdup_printf (
      "%s --root %s unlink %s", g_getenv ("BERTH_ADMIN_HELPER"), f->sysroot, socket);
  g_autofree gchar *target = NULL;
  g_autofree gchar *status = NULL;

  /* Off by default: nothing asked, nothing made. */
  apply_ok (f);
  g_assert_cmpuint (count_lines (f, "pkexec.log", helper_line), ==, 0);
  g_assert_false (g_file_test (link, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK));

  set (f, "{\"application\": {\"adminAccess\": true}}");
  apply_ok (f);
  target = g_file_read_link (link, NULL);
  g_assert_cmpstr (target, ==, socket);
  g_assert_cmpuint (count_lines (f, "pkexec.log", helper_line), ==, 1);
  status = status_of (f, "admin-access");
  g_assert_null (status);
  /* In place: not asked again. */
  apply_ok (f);
  g_assert_cmpuint (count_lines (f, "pkexec.log", helper_line), ==, 1);

  set (f, "{\"application\": {\"adminAccess\": false}}");
  apply_ok (f);
  g_assert_false (g_file_test (link, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK));
  g_assert_cmpuint (count_lines (f, "pkexec.log", unlink_line), ==, 1);
}

/* A system docker's socket is never touched, and pkexec is not asked. */
static void
test_admin_access_foreign (Fixture *f, gconstpointer data)
{
  g_autofree gchar *link = g_build_filename (f->sysroot, "var", "run", "docker.sock", NULL);
  g_autofree gchar *log = g_build_filename (f->fake_dir, "pkexec.log", NULL);
  g_autofree gchar *text = NULL;
  g_autofree gchar *status = NULL;
  g_autoptr (GError) error = NULL;

  write_file (link, "a system dockerd's socket stands here", 0644);
  set (f, "{\"application\": {\"adminAccess\": true}}");
  error = apply (f);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "is not Berth's link"));
  status = status_of (f, "admin-access");
  g_assert_nonnull (strstr (status, "is not Berth's link"));
  text = berth_test_read_file (link);
  g_assert_cmpstr (text, ==, "a system dockerd's socket stands here");
  g_assert_false (g_file_test (log, G_FILE_TEST_EXISTS));
  set (f, "{\"application\": {\"adminAccess\": false}}");
  apply_ok (f);
  g_assert_true (g_file_test (link, G_FILE_TEST_IS_REGULAR));
}

/* A refused password is not asked for again until the setting changes. */
static void
test_admin_access_refused (Fixture *f, gconstpointer data)
{
  g_autofree gchar *refuse = g_build_filename (f->fake_dir, "pkexec-refuses", NULL);
  g_autofree gchar *log = g_build_filename (f->fake_dir, "pkexec.log", NULL);
  g_autoptr (GError) first = NULL;
  g_autoptr (GError) second = NULL;
  g_autofree gchar *text = NULL;
  g_auto (GStrv) lines = NULL;

  write_file (refuse, "", 0644);
  set (f, "{\"application\": {\"adminAccess\": true}}");
  first = apply (f);
  g_assert_error (first, BERTH_ERROR, BERTH_ERROR_AUTH);
  g_assert_nonnull (strstr (first->message, "Not authorized (this is a fake)"));
  second = apply (f);
  g_assert_error (second, BERTH_ERROR, BERTH_ERROR_AUTH);
  g_assert_nonnull (strstr (second->message, "change application.adminAccess to ask again"));
  text = berth_test_read_file (log);
  lines = g_strsplit (text, "\n", -1);
  /* One line and the empty rest after its line break. */
  g_assert_cmpuint (g_strv_length (lines), ==, 2);
}

/* The helper refuses what it must not do, before touching anything. */
static void
test_helper_refusals (Fixture *f, gconstpointer data)
{
  const gchar *helper = g_getenv ("BERTH_ADMIN_HELPER");
  g_autofree gchar *link = g_build_filename (f->sysroot, "var", "run", "docker.sock", NULL);
  const struct
  {
    const gchar *const *argv;
    const gchar *pkexec_uid;
    const gchar *message;
  } cases[] = {
    { (const gchar *const[]){ helper, "--root", f->sysroot, "link", "/tmp/x/docker.sock", NULL },
      "1000", "--root is for tests, and is refused when run through pkexec" },
    { (const gchar *const[]){ helper, "--root", f->sysroot, "link", "relative/docker.sock", NULL },
      NULL, "is not an absolute path to a socket named docker.sock" },
    { (const gchar *const[]){ helper, "--root", f->sysroot, "link", "/tmp/x/other.sock", NULL },
      NULL, "is not an absolute path to a socket named docker.sock" },
    { (const gchar *const[]){ helper, "--root", f->sysroot, "link", "/tmp/../etc/docker.sock",
                              NULL },
      NULL, "without . or .. in it" },
    { (const gchar *const[]){ helper, "--root", f->sysroot, "chmod", "/tmp/x/docker.sock", NULL },
      NULL, "usage: berth-admin-helper" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto (GStrv) envp = g_get_environ ();
      g_autofree gchar *err = NULL;

      envp = cases[i].pkexec_uid != NULL
                 ? g_environ_setenv (envp, "PKEXEC_UID", cases[i].pkexec_uid, TRUE)
                 : g_environ_unsetenv (envp, "PKEXEC_UID");
      g_assert_cmpint (berth_test_spawn (NULL, cases[i].argv, (const gchar *const *)envp,
                                         G_SPAWN_DEFAULT, NULL, &err),
                       ==, 1);
      g_test_message ("%s", err);
      g_assert_nonnull (strstr (err, cases[i].message));
      g_assert_false (g_file_test (link, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/host/links/notset-then-manual", test_links_notset);
  ADD ("/host/links/foreign-in-bin-dir", test_links_foreign_in_bin_dir);
  ADD ("/host/links/bin-dir-on-path", test_links_bin_dir_on_path);
  ADD ("/host/rcfiles/added-and-removed", test_rcfiles);
  ADD ("/host/rcfiles/malformed", test_rcfiles_malformed);
  ADD ("/host/autostart/systemd", test_autostart_systemd);
  ADD ("/host/autostart/xdg", test_autostart_xdg);
  ADD ("/host/admin-access/link", test_admin_access);
  ADD ("/host/admin-access/foreign", test_admin_access_foreign);
  ADD ("/host/admin-access/refused", test_admin_access_refused);
  ADD ("/host/admin-access/helper-refusals", test_helper_refusals);
#undef ADD
  return g_test_run ();
}
