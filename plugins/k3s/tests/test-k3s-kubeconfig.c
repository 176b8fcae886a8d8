/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Berth's entries in the user's kubeconfig, against files as kubectl writes
 * them and as people write them, read back by kubectl itself. */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "berth-error.h"
#include "berth-k3s-kubeconfig.h"
#include "berth-test-util.h"

typedef struct
{
  gchar *home;
  gchar *config; /* <home>/.kube/config */
  gchar *k3s_yaml;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autofree gchar *kube = NULL;

  f->home = berth_test_make_root ("berth-k3s-kubeconfig");
  kube = g_build_filename (f->home, ".kube", NULL);
  g_assert_cmpint (g_mkdir_with_parents (kube, 0700), ==, 0);
  f->config = g_build_filename (kube, "config", NULL);
  f->k3s_yaml = berth_test_read_fixture ("kubeconfig", "k3s.yaml", NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  berth_test_rm_rf (f->home);
  g_free (f->home);
  g_free (f->config);
  g_free (f->k3s_yaml);
}

static void
install_fixture (const gchar *name, const gchar *path)
{
  g_autofree gchar *text = berth_test_read_fixture ("kubeconfig", name, NULL);

  berth_test_write_file (path, text, 0600);
}

/* What kubectl reads from @kubeconfig (a path or a colon list):
 * `kubectl config view --raw -o jsonpath=@jsonpath`. */
static gchar *
kubectl_view (const gchar *kubeconfig, const gchar *jsonpath)
{
  g_autofree gchar *expr = g_strdup_printf ("jsonpath=%s", jsonpath);
  const gchar *argv[] = { "kubectl", "config", "view", "--raw", "-o", expr, NULL };
  g_auto (GStrv) envp = g_environ_setenv (g_get_environ (), "KUBECONFIG", kubeconfig, TRUE);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *err = NULL;
  gchar *out = NULL;
  gint status = 0;

  g_spawn_sync (NULL, (gchar **)argv, envp, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status,
                &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("kubectl could not read %s: %s", kubeconfig, err);
  return out;
}

static void
assert_kubectl_sees (const gchar *kubeconfig, const gchar *jsonpath, const gchar *expected)
{
  g_autofree gchar *seen = kubectl_view (kubeconfig, jsonpath);

  g_assert_cmpstr (seen, ==, expected);
}

static guint
file_mode (const gchar *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_mode & 07777;
}

/* No kubeconfig yet: Berth's file is complete, private and current; removing
 * Berth's entries removes the file it made. */
static void
test_new_file (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *path = NULL;
  g_autoptr (BerthK3sCredentials) credentials = NULL;
  g_autofree gchar *key = NULL;

  g_unlink (f->config);
  path = berth_k3s_kubeconfig_merge (f->k3s_yaml, 16443, NULL, f->home, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (path, ==, f->config);
  g_assert_cmpuint (file_mode (path), ==, 0600);

  assert_kubectl_sees (path, "{.current-context}", "berth");
  assert_kubectl_sees (path, "{.contexts[*].name}", "berth");
  assert_kubectl_sees (path, "{.contexts[0].context.cluster}/{.contexts[0].context.user}",
                       "berth/berth");
  assert_kubectl_sees (path, "{.clusters[0].name} {.clusters[0].cluster.server}",
                       "berth https://127.0.0.1:16443");
  credentials = berth_k3s_credentials_from_k3s_yaml (f->k3s_yaml, &error);
  g_assert_no_error (error);
  key = kubectl_view (path, "{.users[?(@.name==\"berth\")].user.client-key-data}");
  {
    g_autofree guchar *decoded = NULL;
    gsize length = 0;

    decoded = g_base64_decode (key, &length);
    g_assert_cmpmem (decoded, length, credentials->client_key, strlen (credentials->client_key));
  }

  g_assert_true (berth_k3s_kubeconfig_remove (NULL, f->home, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (f->config, G_FILE_TEST_EXISTS));
  /* Nothing left to remove is not an error. */
  g_assert_true (berth_k3s_kubeconfig_remove (NULL, f->home, &error));
  g_assert_no_error (error);
}

/* A file kubectl wrote (several clusters, an exec plugin, embedded
 * certificates): everything else is kept, its current context stands, and
 * after removal the file is byte for byte what it was. */
static void
test_kubectl_written (Fixture *f, gconstpointer data)
{
  g_autofree gchar *before = berth_test_read_fixture ("kubeconfig", "kubectl-written.yaml", NULL);
  g_autofree gchar *after = NULL;
  g_autofree gchar *path = NULL;
  g_autoptr (GError) error = NULL;

  install_fixture ("kubectl-written.yaml", f->config);
  g_assert_cmpint (g_chmod (f->config, 0644), ==, 0);
  path = berth_k3s_kubeconfig_merge (f->k3s_yaml, 6443, NULL, f->home, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (path, ==, f->config);
  g_assert_cmpuint (file_mode (path), ==, 0600);
  assert_kubectl_sees (path, "{.current-context}", "production");
  assert_kubectl_sees (path, "{.contexts[*].name}", "berth production staging");
  assert_kubectl_sees (path, "{.clusters[*].name}", "berth production staging");
  assert_kubectl_sees (path, "{.users[*].name}", "berth gke-user prod-admin");
  assert_kubectl_sees (path,
                       "{.users[?(@.name==\"gke-user\")].user.exec.command} "
                       "{.users[?(@.name==\"gke-user\")].user.exec.args[0]}",
                       "gke-gcloud-auth-plugin --verbose");
  assert_kubectl_sees (path, "{.contexts[?(@.name==\"production\")].context.namespace}", "web");

  /* Again, on another port: still one "berth" of each, in the same place. */
  g_clear_pointer (&path, g_free);
  path = berth_k3s_kubeconfig_merge (f->k3s_yaml, 7443, NULL, f->home, &error);
  g_assert_no_error (error);
  assert_kubectl_sees (path, "{.clusters[*].name}", "berth production staging");
  assert_kubectl_sees (path, "{.clusters[?(@.name==\"berth\")].cluster.server}",
                       "https://127.0.0.1:7443");

  g_assert_true (berth_k3s_kubeconfig_remove (NULL, f->home, &error));
  g_assert_no_error (error);
  after = berth_test_read_file (f->config);
  g_assert_cmpstr (after, ==, before);
}

/* A file written by hand, with comments, flow style, indented lists and
 * extensions: kubectl still reads every entry; "berth" becomes current
 * because no context was; removal gives kubectl the same view as before. */
static void
test_hand_written (Fixture *f, gconstpointer data)
{
  g_autofree gchar *view_before = NULL;
  g_autofree gchar *view_after = NULL;
  g_autofree gchar *path = NULL;
  g_autoptr (GError) error = NULL;

  install_fixture ("hand-written.yaml", f->config);
  view_before = kubectl_view (f->config, "{}");
  path = berth_k3s_kubeconfig_merge (f->k3s_yaml, 6443, NULL, f->home, &error);
  g_assert_no_error (error);
  assert_kubectl_sees (path, "{.current-context}", "berth");
  assert_kubectl_sees (path, "{.contexts[*].name}", "berth kind-dev lab");
  assert_kubectl_sees (
      path, "{.clusters[?(@.name==\"lab\")].cluster.extensions[0].extension.region}", "eu-west-1");
  assert_kubectl_sees (path, "{.users[?(@.name==\"lab-oidc\")].user.exec.args[2]}",
                       "--oidc-issuer-url=https://sso.example.com");
  assert_kubectl_sees (path, "{.extensions[0].extension.owner}", "ops");
  assert_kubectl_sees (path, "{.preferences.colors}", "true");

  g_assert_true (berth_k3s_kubeconfig_remove (NULL, f->home, &error));
  g_assert_no_error (error);
  view_after = kubectl_view (f->config, "{}");
  g_assert_cmpstr (view_after, ==, view_before);
}

/* $KUBECONFIG with several files: Berth's entries go to the file that
 * holds them, else to ~/.kube/config; a current context in any file of the
 * list stands. */
static void
test_kubeconfig_env (Fixture *f, gconstpointer data)
{
  g_autofree gchar *first = g_build_filename (f->home, "first.yaml", NULL);
  g_autofree gchar *second = g_build_filename (f->home, "second.yaml", NULL);
  g_autofree gchar *list = g_strjoin (":", first, second, NULL);
  g_autofree gchar *with_home = g_strjoin (":", first, second, f->config, NULL);
  g_autofree gchar *path = NULL;
  g_autofree gchar *chosen = NULL;
  g_autoptr (GError) error = NULL;

  install_fixture ("kubectl-written.yaml", first);
  install_fixture ("hand-written.yaml", second);
  g_unlink (f->config);

  chosen = berth_k3s_kubeconfig_choose_file (list, f->home);
  g_assert_cmpstr (chosen, ==, f->config);
  path = berth_k3s_kubeconfig_merge (f->k3s_yaml, 6443, with_home, f->home, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (path, ==, f->config);
  /* first.yaml names "production", so "berth" is not made current. */
  assert_kubectl_sees (with_home, "{.current-context}", "production");
  assert_kubectl_sees (with_home, "{.contexts[*].name}", "berth kind-dev lab production staging");
  g_assert_true (berth_k3s_kubeconfig_remove (with_home, f->home, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (f->config, G_FILE_TEST_EXISTS));

  /* Entries that are already in second.yaml are updated there. */
  g_clear_pointer (&path, g_free);
  path = berth_k3s_kubeconfig_merge (f->k3s_yaml, 6443, second, f->home, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (path, ==, f->config);
  g_clear_pointer (&path, g_free);
  /* Move them by hand into second.yaml, as a user might. */
  g_assert_cmpint (g_rename (f->config, second), ==, 0);
  chosen = (g_free (chosen), berth_k3s_kubeconfig_choose_file (list, f->home));
  g_assert_cmpstr (chosen, ==, second);
  path = berth_k3s_kubeconfig_merge (f->k3s_yaml, 9443, list, f->home, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (path, ==, second);
  g_assert_false (g_file_test (f->config, G_FILE_TEST_EXISTS));
  assert_kubectl_sees (list, "{.clusters[?(@.name==\"berth\")].cluster.server}",
                       "https://127.0.0.1:9443");
}

/* A kubeconfig that is a symbolic link (dotfiles) stays one. */
static void
test_symlink (Fixture *f, gconstpointer data)
{
  g_autofree gchar *dotfiles = g_build_filename (f->home, "dotfiles", NULL);
  g_autofree gchar *target = g_build_filename (dotfiles, "kube.yaml", NULL);
  g_autofree gchar *before = berth_test_read_fixture ("kubeconfig", "kubectl-written.yaml", NULL);
  g_autofree gchar *after = NULL;
  g_autofree gchar *path = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dotfiles, 0700), ==, 0);
  install_fixture ("kubectl-written.yaml", target);
  g_unlink (f->config);
  g_assert_cmpint (symlink (target, f->config), ==, 0);

  path = berth_k3s_kubeconfig_merge (f->k3s_yaml, 6443, NULL, f->home, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_test (f->config, G_FILE_TEST_IS_SYMLINK));
  assert_kubectl_sees (target, "{.clusters[*].name}", "berth production staging");
  g_assert_true (berth_k3s_kubeconfig_remove (NULL, f->home, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (f->config, G_FILE_TEST_IS_SYMLINK));
  after = berth_test_read_file (target);
  g_assert_cmpstr (after, ==, before);

  /* A link to nowhere is named, not replaced by a file. */
  g_assert_cmpint (g_unlink (target), ==, 0);
  g_clear_pointer (&path, g_free);
  path = berth_k3s_kubeconfig_merge (f->k3s_yaml, 6443, NULL, f->home, &error);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, f->config));
  g_assert_null (path);
  g_assert_true (g_file_test (f->config, G_FILE_TEST_IS_SYMLINK));
}

/* An empty file is a kubeconfig with nothing in it. */
static void
test_empty_file (Fixture *f, gconstpointer data)
{
  g_autofree gchar *path = NULL;
  g_autoptr (GError) error = NULL;

  berth_test_write_file (f->config, "", 0600);
  path = berth_k3s_kubeconfig_merge (f->k3s_yaml, 6443, NULL, f->home, &error);
  g_assert_no_error (error);
  assert_kubectl_sees (path, "{.current-context} {.clusters[*].name}", "berth berth");
}

/* Files Berth cannot change safely are named with what is wrong, and left
 * exactly as they were. */
static void
test_bad_files (Fixture *f, gconstpointer data)
{
  static const struct
  {
    const gchar *text;
    const gchar *message;
  } cases[] = {
    { "apiVersion: v1\nclusters: [\n", "is not valid YAML" },
    { "- just\n- a list\n", "top level is not a mapping" },
    { "apiVersion: v1\n---\napiVersion: v1\n", "more than one YAML document" },
    { "apiVersion: v1\nclusters: production\n", "\"clusters\" (line 2) is not a list" },
    { "users: {berth: {}}\n", "\"users\" (line 1) is not a list" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree gchar *path = NULL;
      g_autofree gchar *after = NULL;

      berth_test_write_file (f->config, cases[i].text, 0644);
      path = berth_k3s_kubeconfig_merge (f->k3s_yaml, 6443, NULL, f->home, &error);
      g_assert_null (path);
      g_assert_nonnull (error);
      if (strstr (error->message, cases[i].message) == NULL
          || strstr (error->message, f->config) == NULL)
        g_error ("case %zu: \"%s\" does not say \"%s\" about %s", i, error->message,
                 cases[i].message, f->config);
      after = berth_test_read_file (f->config);
      g_assert_cmpstr (after, ==, cases[i].text);
      g_assert_cmpuint (file_mode (f->config), ==, 0644);
    }

  /* kubectl is writing it: its lock file is there. */
  {
    g_autofree gchar *lock = g_strconcat (f->config, ".lock", NULL);
    g_autoptr (GError) error = NULL;
    g_autofree gchar *path = NULL;

    install_fixture ("kubectl-written.yaml", f->config);
    berth_test_write_file (lock, "", 0600);
    path = berth_k3s_kubeconfig_merge (f->k3s_yaml, 6443, NULL, f->home, &error);
    g_assert_error (error, BERTH_ERROR, BERTH_ERROR_BUSY);
    g_assert_nonnull (strstr (error->message, lock));
    g_assert_true (g_file_test (lock, G_FILE_TEST_EXISTS));
  }
}

/* The credentials the readiness check and the services watch use. */
static void
test_credentials (Fixture *f, gconstpointer data)
{
  g_autoptr (BerthK3sCredentials) credentials = NULL;
  g_autoptr (GError) error = NULL;
  static const struct
  {
    const gchar *text;
    const gchar *message;
  } bad[] = {
    { "", "is empty" },
    { "apiVersion: v1\n", "lists no cluster" },
    { "clusters:\n- name: default\n  cluster: {server: 'https://127.0.0.1:6443'}\n"
      "users:\n- name: default\n  user: {}\n",
      "no certificate-authority-data" },
    { "clusters:\n- name: default\n  cluster: {certificate-authority-data: '%%%'}\n"
      "users:\n- name: default\n  user: {}\n",
      "is not base64" },
    { "clusters:\n- name: default\n  cluster: {certificate-authority-data: aGVsbG8=}\n"
      "users:\n- name: default\n  user: {}\n",
      "is not a PEM" },
    { "clusters:\n- name: default\n  cluster: {}\n", "lists no user" },
  };

  credentials = berth_k3s_credentials_from_k3s_yaml (f->k3s_yaml, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (credentials->server, ==, "https://127.0.0.1:6443");
  g_assert_true (g_str_has_prefix (credentials->ca_pem, "-----BEGIN CERTIFICATE-----"));
  g_assert_true (g_str_has_prefix (credentials->client_cert, "-----BEGIN CERTIFICATE-----"));
  g_assert_true (g_str_has_prefix (credentials->client_key, "-----BEGIN EC PRIVATE KEY-----"));

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (BerthK3sCredentials) none = NULL;
      g_autoptr (GError) local_error = NULL;

      none = berth_k3s_credentials_from_k3s_yaml (bad[i].text, &local_error);
      g_assert_null (none);
      g_assert_nonnull (local_error);
      if (strstr (local_error->message, bad[i].message) == NULL)
        g_error ("case %zu: \"%s\" does not say \"%s\"", i, local_error->message, bad[i].message);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/k3s/kubeconfig/new-file", test_new_file);
  ADD ("/k3s/kubeconfig/kubectl-written", test_kubectl_written);
  ADD ("/k3s/kubeconfig/hand-written", test_hand_written);
  ADD ("/k3s/kubeconfig/kubeconfig-env", test_kubeconfig_env);
  ADD ("/k3s/kubeconfig/symlink", test_symlink);
  ADD ("/k3s/kubeconfig/empty-file", test_empty_file);
  ADD ("/k3s/kubeconfig/bad-files", test_bad_files);
  ADD ("/k3s/kubeconfig/credentials", test_credentials);
#undef ADD
  return g_test_run ();
}
