/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The host's CA certificates and proxy in the real VM, as a person behind a
 * corporate TLS-intercepting proxy meets them: berthd starts with a proxy
 * on this host's loopback in its environment, this host's store
 * ($SSL_CERT_FILE) and a CA file named in the settings; once the VM runs,
 * the guest's trust store holds both CAs, and `docker pull` goes through
 * the proxy, which presents a certificate of the named CA for the registry
 * (a fake registry on this host: there is no network here). A registry
 * name whose certificate comes from another CA fails with dockerd's x509
 * error, in the same boot. */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "berth-test-certs.h"
#include "berth-test-util.h"

#define REGISTRY "registry.berth.test"
#define UNTRUSTED "untrusted.berth.test"
#define IMAGE "berth-test/hello:1"

typedef struct
{
  gchar *root;
  gchar **envp;
  GSubprocess *registry;
  GSubprocess *proxy;
  gchar *registry_log;
  gchar *proxy_log;
} Fixture;

typedef struct
{
  gint status;
  gchar *out;
  gchar *err;
} Run;

static void
run_clear (Run *r)
{
  g_free (r->out);
  g_free (r->err);
}

static Run
run (Fixture *f, const gchar *first, ...) G_GNUC_NULL_TERMINATED;

static Run
run (Fixture *f, const gchar *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  Run r = { 0 };
  va_list ap;

  va_start (ap, first);
  for (const gchar *a = first; a != NULL; a = va_arg (ap, const gchar *))
    g_ptr_array_add (argv, (gpointer)a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  r.status = berth_test_spawn (NULL, (const gchar *const *)argv->pdata,
                               (const gchar *const *)f->envp, G_SPAWN_SEARCH_PATH, &r.out, &r.err);
  return r;
}

static void
assert_ran (Run *r, const gchar *what)
{
  if (r->status != 0)
    g_printerr ("%s exited with %d:\n%s%s\n", what, r->status, r->out, r->err);
  g_assert_cmpint (r->status, ==, 0);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->root = berth_test_make_root ("ca-proxy-vm");
  f->envp = g_get_environ ();
  f->envp = g_environ_setenv (f->envp, "HOME", f->root, TRUE);
  f->envp = berth_test_environ_under (f->envp, f->root);
  f->envp = g_environ_unsetenv (f->envp, "XDG_RUNTIME_DIR");
  f->envp = g_environ_setenv (f->envp, "BERTH_API_PORT", "0", TRUE);
  f->envp = g_environ_setenv (f->envp, "BERTH_PLUGIN_PATH", g_getenv ("BERTH_TEST_VM_PLUGIN_PATH"),
                              TRUE);
  f->envp = g_environ_unsetenv (f->envp, "DOCKER_CONFIG");
  f->envp = g_environ_unsetenv (f->envp, "DOCKER_HOST");
  f->envp = g_environ_unsetenv (f->envp, "DOCKER_CONTEXT");
  f->registry_log = g_build_filename (f->root, "registry.log", NULL);
  f->proxy_log = g_build_filename (f->root, "proxy.log", NULL);
}

static void
stop_helper (GSubprocess **process)
{
  if (*process == NULL)
    return;
  g_subprocess_send_signal (*process, SIGTERM);
  g_subprocess_wait (*process, NULL, NULL);
  g_clear_object (process);
}

/* Ends a berthd the test left running (it failed midway). */
static void
stop_leftover_daemon (Fixture *f)
{
  g_autofree gchar *path = g_build_filename (f->root, "share", "berth", "berth-engine.json", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  gint64 pid;

  if (!json_parser_load_from_file (parser, path, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return;
  pid = json_object_get_int_member_with_default (
      json_node_get_object (json_parser_get_root (parser)), "pid", 0);
  if (pid <= 1)
    return;
  kill ((pid_t)pid, SIGTERM);
  /* berthd stops the VM first: up to a minute under load. */
  for (gint i = 0; i < 600 && kill ((pid_t)pid, 0) == 0; i++)
    g_usleep (G_USEC_PER_SEC / 10);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  stop_leftover_daemon (f);
  stop_helper (&f->registry);
  stop_helper (&f->proxy);
  berth_test_show_stderr ("fake registry", f->registry_log);
  berth_test_show_stderr ("fake TLS proxy", f->proxy_log);
  berth_test_rm_rf (f->root);
  g_free (f->root);
  g_strfreev (f->envp);
  g_free (f->registry_log);
  g_free (f->proxy_log);
}

/* Starts a helper script with python3; its first line of output is the
 * port it listens on, waited for at most 60 s. */
static GSubprocess *
start_helper (Fixture *f, const gchar *const *argv, const gchar *log_path, guint *port_out)
{
  g_autoptr (GSubprocessLauncher) launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GDataInputStream) lines = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *line = NULL;

  g_subprocess_launcher_set_stderr_file_path (launcher, log_path);
  g_subprocess_launcher_set_child_setup (launcher, berth_test_die_with_parent, NULL, NULL);
  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  g_data_input_stream_read_line_async (lines, G_PRIORITY_DEFAULT, NULL, berth_test_store_result,
                                       &result);
  g_assert_true (berth_test_wait_result (&result, 60));
  line = g_data_input_stream_read_line_finish (lines, result, NULL, &error);
  g_assert_no_error (error);
  if (line == NULL)
    berth_test_show_stderr (argv[1], log_path);
  g_assert_nonnull (line);
  *port_out = (guint)g_ascii_strtoull (line, NULL, 10);
  g_assert_cmpuint (*port_out, >, 0);
  return g_steal_pointer (&process);
}

static gchar *
write_pem (Fixture *f, const gchar *name, gchar *text)
{
  gchar *path = g_build_filename (f->root, name, NULL);

  berth_test_write_file (path, text, 0600);
  g_free (text);
  return path;
}

static gchar *
read_log (const gchar *path)
{
  gchar *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

/* The fake registry's image, as its log names it: "config sha256:…". */
static gchar *
registry_image_id (Fixture *f)
{
  g_autofree gchar *log = read_log (f->registry_log);
  const gchar *at = strstr (log, "(config ");

  g_assert_nonnull (at);
  at += strlen ("(config ");
  return g_strndup (at, strcspn (at, ")"));
}

static void
test_ca_and_proxy (Fixture *f, gconstpointer data)
{
  g_autoptr (BerthTestIdentity) corporate_ca
      = berth_test_identity_new ("Berth test corporate CA", NULL, NULL);
  g_autoptr (BerthTestIdentity) host_ca
      = berth_test_identity_new ("Berth test host CA", NULL, NULL);
  g_autoptr (BerthTestIdentity) other_ca
      = berth_test_identity_new ("Berth test CA nobody trusts", NULL, NULL);
  g_autoptr (BerthTestIdentity) registry_site
      = berth_test_identity_new (REGISTRY, REGISTRY, corporate_ca);
  g_autoptr (BerthTestIdentity) untrusted_site
      = berth_test_identity_new (UNTRUSTED, UNTRUSTED, other_ca);
  g_autofree gchar *corporate_pem = berth_test_identity_cert_pem (corporate_ca);
  g_autofree gchar *host_pem = berth_test_identity_cert_pem (host_ca);
  g_autofree gchar *corporate_file = write_pem (f, "corporate-ca.pem", g_strdup (corporate_pem));
  g_autofree gchar *host_file = write_pem (f, "host-ca.pem", g_strdup (host_pem));
  g_autofree gchar *registry_cert
      = write_pem (f, "registry.pem", berth_test_identity_cert_pem (registry_site));
  g_autofree gchar *registry_key
      = write_pem (f, "registry.key", berth_test_identity_key_pem (registry_site));
  g_autofree gchar *untrusted_cert
      = write_pem (f, "untrusted.pem", berth_test_identity_cert_pem (untrusted_site));
  g_autofree gchar *untrusted_key
      = write_pem (f, "untrusted.key", berth_test_identity_key_pem (untrusted_site));
  g_autofree gchar *registry_script
      = g_test_build_filename (G_TEST_DIST, "ca-proxy", "fake-registry.py", NULL);
  g_autofree gchar *proxy_script
      = g_test_build_filename (G_TEST_DIST, "ca-proxy", "tls-proxy.py", NULL);
  const gchar *python = g_getenv ("BERTH_TEST_PYTHON3");
  const gchar *shared = g_getenv ("BERTH_TEST_IMAGE_CACHE");
  g_autofree gchar *cache = g_build_filename (f->root, "cache", "berth", NULL);
  g_autofree gchar *images = g_build_filename (cache, "images", NULL);
  g_autofree gchar *socket = g_build_filename (f->root, "share", "berth", "docker.sock", NULL);
  g_autofree gchar *docker_host = g_strconcat ("unix://", socket, NULL);
  g_autofree gchar *registry_port_text = NULL;
  g_autofree gchar *registry_site_arg = NULL;
  g_autofree gchar *untrusted_site_arg = NULL;
  g_autofree gchar *https_proxy = NULL;
  g_autofree gchar *http_proxy = NULL;
  g_autofree gchar *guest_proxy_line = NULL;
  g_autofree gchar *docker_line = NULL;
  g_autofree gchar *image_id = NULL;
  g_autofree gchar *image_id_line = NULL;
  g_autofree gchar *proxy_log = NULL;
  guint registry_port = 0, proxy_port = 0;
  Run r;

  g_assert_nonnull (python);
  g_assert_nonnull (shared);

  /* The registry, and the proxy in front of it. */
  {
    const gchar *argv[] = { python, registry_script, NULL };

    f->registry = start_helper (f, argv, f->registry_log, &registry_port);
  }
  registry_port_text = g_strdup_printf ("%u", registry_port);
  registry_site_arg = g_strdup_printf ("%s=%s,%s", REGISTRY, registry_cert, registry_key);
  untrusted_site_arg = g_strdup_printf ("%s=%s,%s", UNTRUSTED, untrusted_cert, untrusted_key);
  {
    const gchar *argv[] = { python,   proxy_script,      "--upstream", registry_port_text,
                            "--site", registry_site_arg, "--site",     untrusted_site_arg,
                            NULL };

    f->proxy = start_helper (f, argv, f->proxy_log, &proxy_port);
  }

  /* berthd's environment: the proxy by both of the loopback names, this
   * host's store; nothing local goes through the proxy. */
  https_proxy = g_strdup_printf ("http://127.0.0.1:%u", proxy_port);
  http_proxy = g_strdup_printf ("http://localhost:%u/", proxy_port);
  f->envp = g_environ_setenv (f->envp, "HTTPS_PROXY", https_proxy, TRUE);
  f->envp = g_environ_setenv (f->envp, "http_proxy", http_proxy, TRUE);
  f->envp = g_environ_setenv (f->envp, "NO_PROXY", "127.0.0.1,localhost", TRUE);
  f->envp = g_environ_unsetenv (f->envp, "HTTP_PROXY");
  f->envp = g_environ_unsetenv (f->envp, "https_proxy");
  f->envp = g_environ_unsetenv (f->envp, "no_proxy");
  f->envp = g_environ_setenv (f->envp, "SSL_CERT_FILE", host_file, TRUE);

  /* The guest image is built once per build tree and shared. */
  g_assert_cmpint (g_mkdir_with_parents (shared, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (cache, 0700), ==, 0);
  g_assert_cmpint (symlink (shared, images), ==, 0);

  r = run (f, g_getenv ("BERTHCTL"), "start", "--wait", "--wait-timeout", "1500",
           "--virtual-machine.ca-certificates.file", corporate_file, NULL);
  assert_ran (&r, "berthctl start");
  run_clear (&r);

  /* (a) Both CAs are in the guest's trust store, which dockerd reads. */
  r = run (f, g_getenv ("BERTHCTL"), "shell", "--", "cat", "/etc/ssl/certs/ca-certificates.crt",
           NULL);
  assert_ran (&r, "cat ca-certificates.crt in the guest");
  g_assert_nonnull (strstr (r.out, corporate_pem));
  g_assert_nonnull (strstr (r.out, host_pem));
  run_clear (&r);

  /* What installing them cost, from the guest's own log (uptime stamps):
   * the engine's start waited from "ready" to the certificates' line. */
  r = run (f, g_getenv ("BERTHCTL"), "shell", "--", "grep", "-E",
           "ready|CA certificates|proxy environment|started", "/var/log/berth-guest.log", NULL);
  assert_ran (&r, "grep the guest's log");
  g_test_message ("The guest's log:\n%s", r.out);
  g_assert_nonnull (strstr (
      r.out, "CA certificates: 2 of the host's were not the guest's own and are trusted now"));
  run_clear (&r);

  /* The proxy, reachable from the guest, for the engine and k3s. */
  r = run (f, g_getenv ("BERTHCTL"), "shell", "--", "cat", "/etc/berth/proxy.env", NULL);
  assert_ran (&r, "cat /etc/berth/proxy.env in the guest");
  guest_proxy_line = g_strdup_printf ("\nHTTPS_PROXY='http://10.0.2.2:%u'\n", proxy_port);
  g_assert_nonnull (strstr (r.out, guest_proxy_line));
  g_clear_pointer (&guest_proxy_line, g_free);
  guest_proxy_line = g_strdup_printf ("\nhttp_proxy='http://10.0.2.2:%u/'\n", proxy_port);
  g_assert_nonnull (strstr (r.out, guest_proxy_line));
  g_assert_nonnull (strstr (r.out, "\nno_proxy='127.0.0.1,localhost,10.42.0.0/16,10.43.0.0/16,"));
  run_clear (&r);

  /* (b) A pull through the intercepting proxy succeeds, and it went
   * through the proxy. */
  r = run (f, "docker", "-H", docker_host, "pull", REGISTRY "/" IMAGE, NULL);
  assert_ran (&r, "docker pull " REGISTRY "/" IMAGE);
  run_clear (&r);
  image_id = registry_image_id (f);
  image_id_line = g_strconcat (image_id, "\n", NULL);
  r = run (f, "docker", "-H", docker_host, "image", "inspect", "--format", "{{.Id}}",
           REGISTRY "/" IMAGE, NULL);
  assert_ran (&r, "docker image inspect");
  g_assert_cmpstr (r.out, ==, image_id_line);
  run_clear (&r);
  proxy_log = read_log (f->proxy_log);
  g_assert_nonnull (strstr (proxy_log, "CONNECT " REGISTRY ":443\n"));
  g_assert_nonnull (strstr (proxy_log, "TLS established for " REGISTRY "\n"));
  g_clear_pointer (&proxy_log, g_free);

  /* A certificate from a CA the guest was not given is refused. */
  r = run (f, "docker", "-H", docker_host, "pull", UNTRUSTED "/" IMAGE, NULL);
  g_assert_cmpint (r.status, !=, 0);
  if (strstr (r.err, "x509") == NULL)
    g_printerr ("docker pull " UNTRUSTED " said: %s%s\n", r.out, r.err);
  g_assert_nonnull (strstr (r.err, "x509: certificate signed by unknown authority"));
  run_clear (&r);
  proxy_log = read_log (f->proxy_log);
  g_assert_nonnull (strstr (proxy_log, "CONNECT " UNTRUSTED ":443\n"));
  g_assert_null (strstr (proxy_log, "TLS established for " UNTRUSTED "\n"));

  /* info says how other tools reach the engine. */
  docker_line = g_strdup_printf ("\ndocker             docker --context berth COMMAND, or "
                                 "DOCKER_HOST=unix://%s\n",
                                 socket);
  r = run (f, g_getenv ("BERTHCTL"), "info", NULL);
  assert_ran (&r, "berthctl info");
  g_assert_nonnull (strstr (r.out, docker_line));
  run_clear (&r);

  r = run (f, g_getenv ("BERTHCTL"), "shutdown", NULL);
  assert_ran (&r, "berthctl shutdown");
  run_clear (&r);
}

int
main (int argc, char **argv)
{
  berth_test_watch_leftovers ();
  g_test_init (&argc, &argv, NULL);
  g_assert_nonnull (g_getenv ("BERTHCTL"));
  g_test_add ("/vm/ca-and-proxy", Fixture, NULL, fixture_setup, test_ca_and_proxy,
              fixture_teardown);
  return g_test_run ();
}
