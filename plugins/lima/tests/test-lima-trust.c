/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the lima backend gives the guest to trust and to go through: this
 * host's CA certificates ($SSL_CERT_FILE here) and the user's file, each
 * once; this host's proxy environment made reachable from QEMU's user
 * network; both in cidata.iso as the guest reads them; and what a bad CA
 * file or setting is told. */
#include "config.h"

#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <glib/gstdio.h>

#include "berth-error.h"
#include "berth-lima-cidata.h"
#include "berth-lima-config.h"
#include "berth-lima-trust.h"
#include "berth-settings.h"
#include "berth-test-certs.h"
#include "berth-test-util.h"

typedef struct
{
  gchar *dir;
  gchar *host_pem;
  gchar *user_pem;
  gchar *host_file;
  gchar *user_file;
  BerthLimaConfig *config;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (BerthTestIdentity) host_ca = berth_test_identity_new ("Host CA", NULL, NULL);
  g_autoptr (BerthTestIdentity) user_ca = berth_test_identity_new ("Corporate CA", NULL, NULL);
  g_autofree gchar *user_text = NULL;

  f->dir = berth_test_make_root ("lima-trust");
  f->host_pem = berth_test_identity_cert_pem (host_ca);
  f->user_pem = berth_test_identity_cert_pem (user_ca);
  f->host_file = g_build_filename (f->dir, "host.pem", NULL);
  f->user_file = g_build_filename (f->dir, "corporate bundle.pem", NULL);
  berth_test_write_file (f->host_file, f->host_pem, 0644);
  /* The user's file repeats the host's CA: it goes to the guest once. */
  user_text = g_strconcat (f->user_pem, f->host_pem, NULL);
  berth_test_write_file (f->user_file, user_text, 0644);
  g_setenv ("SSL_CERT_FILE", f->host_file, TRUE);

  f->config = berth_lima_config_new ("0");
  f->config->user = g_strdup ("tester");
  f->config->uid = 1000;
  f->config->home = g_strdup ("/home/tester.linux");
  f->config->ssh_public_key = g_strdup ("ssh-ed25519 AAAAtest tester@host");
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_unsetenv ("SSL_CERT_FILE");
  berth_lima_config_free (f->config);
  berth_test_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->host_pem);
  g_free (f->user_pem);
  g_free (f->host_file);
  g_free (f->user_file);
}

/* The file @name of the ISO at @path, or NULL when it has none. */
static gchar *
iso_file (const gchar *path, const gchar *name)
{
  struct archive *archive = archive_read_new ();
  struct archive_entry *header;
  gchar *found = NULL;

  archive_read_support_format_iso9660 (archive);
  g_assert_cmpint (archive_read_open_filename (archive, path, 16384), ==, ARCHIVE_OK);
  while (found == NULL && archive_read_next_header (archive, &header) == ARCHIVE_OK)
    {
      GString *data;
      gchar buffer[4096];
      la_ssize_t n;

      if (!g_str_equal (archive_entry_pathname (header), name))
        continue;
      data = g_string_new (NULL);
      while ((n = archive_read_data (archive, buffer, sizeof buffer)) > 0)
        g_string_append_len (data, buffer, n);
      g_assert_cmpint (n, ==, 0);
      found = g_string_free (data, FALSE);
    }
  archive_read_free (archive);
  return found;
}

static void
test_prepare_and_cidata (Fixture *f, gconstpointer data)
{
  const gchar *const envp[] = { "HOME=/home/tester", "http_proxy=http://localhost:3128/",
                                "NO_PROXY=.corp.example", NULL };
  const gchar *no_proxy = ".corp.example,127.0.0.1,localhost,10.42.0.0/16,10.43.0.0/16,"
                          "10.0.2.15,lima-0,10.0.2.2,host.berth.internal,host.docker.internal,"
                          "host.lima.internal";
  g_autofree gchar *iso = g_build_filename (f->dir, "cidata.iso", NULL);
  g_autofree gchar *both = g_strconcat (f->host_pem, f->user_pem, NULL);
  g_autofree gchar *proxy_env = NULL;
  g_autofree gchar *etc_environment = NULL;
  g_autofree gchar *expected_env = NULL;
  g_autofree gchar *pem = NULL;
  g_autoptr (GError) error = NULL;
  guint n = 0;

  f->config->ca_certificates_file = g_strdup (f->user_file);
  g_assert_true (berth_lima_trust_prepare (f->config, envp, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpstr (f->config->ca_certificates, ==, both);
  g_assert_cmpuint (g_strv_length (f->config->proxy_env), ==, 4);
  g_assert_cmpstr (f->config->proxy_env[0], ==, "HTTP_PROXY=http://10.0.2.2:3128/");
  g_assert_cmpstr (f->config->proxy_env[1], ==, "http_proxy=http://10.0.2.2:3128/");
  g_assert_true (g_str_has_suffix (f->config->proxy_env[2], no_proxy));
  /* The same in the guest's /etc/environment and SSH sessions. */
  g_assert_cmpstr (g_hash_table_lookup (f->config->env, "http_proxy"), ==, "http://10.0.2.2:3128/");
  g_assert_cmpstr (g_hash_table_lookup (f->config->env, "no_proxy"), ==, no_proxy);

  g_assert_true (berth_lima_cidata_write (iso, f->config, NULL, &error));
  g_assert_no_error (error);
  pem = iso_file (iso, "ca-certificates.pem");
  g_assert_cmpstr (pem, ==, both);
  proxy_env = iso_file (iso, "proxy.env");
  g_assert_nonnull (proxy_env);
  expected_env = g_strdup_printf ("\nHTTP_PROXY='http://10.0.2.2:3128/'\n"
                                  "http_proxy='http://10.0.2.2:3128/'\n"
                                  "NO_PROXY='%s'\n"
                                  "no_proxy='%s'\n",
                                  no_proxy, no_proxy);
  g_assert_true (g_str_has_suffix (proxy_env, expected_env));
  etc_environment = iso_file (iso, "etc_environment");
  g_assert_nonnull (strstr (etc_environment, "HTTP_PROXY=http://10.0.2.2:3128/\n"));
}

/* Proxy off: proxy.env says there is none (the guest then drops its
 * own), and without certificates no bundle is written. */
static void
test_nothing_to_give (Fixture *f, gconstpointer data)
{
  const gchar *const envp[] = { "HTTPS_PROXY=http://proxy.corp.example:3128", NULL };
  g_autofree gchar *iso = g_build_filename (f->dir, "cidata.iso", NULL);
  g_autofree gchar *proxy_env = NULL;
  g_autofree gchar *pem = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) lines = NULL;
  guint n = 0;

  f->config->proxy_from_host = FALSE;
  g_assert_true (berth_lima_trust_prepare (f->config, envp, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpuint (g_strv_length (f->config->proxy_env), ==, 0);
  g_assert_null (g_hash_table_lookup (f->config->env, "HTTPS_PROXY"));

  g_clear_pointer (&f->config->ca_certificates, g_free);
  g_assert_true (berth_lima_cidata_write (iso, f->config, NULL, &error));
  g_assert_no_error (error);
  proxy_env = iso_file (iso, "proxy.env");
  g_assert_nonnull (proxy_env);
  lines = g_strsplit (proxy_env, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    g_assert_true (lines[i][0] == '\0' || lines[i][0] == '#');
  pem = iso_file (iso, "ca-certificates.pem");
  g_assert_null (pem);
}

/* A CA file Berth cannot use stops the start, naming the setting. */
static void
test_bad_ca_file (Fixture *f, gconstpointer data)
{
  const gchar *const envp[] = { NULL };
  g_autofree gchar *missing = g_build_filename (f->dir, "missing.pem", NULL);
  g_autofree gchar *key = g_build_filename (f->dir, "key.pem", NULL);
  g_autoptr (GError) error = NULL;

  f->config->ca_certificates_file = g_strdup (missing);
  g_assert_false (berth_lima_trust_prepare (f->config, envp, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING);
  g_assert_true (g_str_has_prefix (error->message, "virtualMachine.caCertificates.file: Cannot "
                                                   "read the CA certificates in "));
  g_assert_nonnull (strstr (error->message, missing));
  g_assert_true (g_str_has_suffix (error->message, "; name a PEM file of CA certificates, or set "
                                                   "it to \"\" for none"));
  g_clear_error (&error);

  berth_test_write_file (key, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                         0600);
  g_free (f->config->ca_certificates_file);
  f->config->ca_certificates_file = g_strdup (key);
  g_assert_false (berth_lima_trust_prepare (f->config, envp, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING);
  g_assert_nonnull (strstr (error->message, ", line 1: a \"PRIVATE KEY\" block"));
}

/* The settings reach the configuration. */
static void
test_from_settings (Fixture *f, gconstpointer data)
{
  g_autofree gchar *path = g_build_filename (f->dir, "settings.json", NULL);
  g_autoptr (BerthSettings) settings = berth_settings_new (path, NULL);
  g_autoptr (BerthLimaConfig) config = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *update = g_strdup_printf (
      "{\"virtualMachine\":{\"caCertificates\":{\"file\":\"%s\"},\"proxy\":{\"fromHost\":false}}}",
      f->user_file);

  g_assert_true (berth_settings_load (settings, &error));
  config = berth_lima_config_new_from_settings ("0", settings, &error);
  g_assert_no_error (error);
  g_assert_null (config->ca_certificates_file);
  g_assert_true (config->proxy_from_host);
  g_clear_pointer (&config, berth_lima_config_free);

  g_assert_true (berth_settings_update_from_json (settings, update, NULL, &error));
  config = berth_lima_config_new_from_settings ("0", settings, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (config->ca_certificates_file, ==, f->user_file);
  g_assert_false (config->proxy_from_host);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/lima/trust/prepare-and-cidata", test_prepare_and_cidata);
  ADD ("/lima/trust/nothing-to-give", test_nothing_to_give);
  ADD ("/lima/trust/bad-ca-file", test_bad_ca_file);
  ADD ("/lima/trust/from-settings", test_from_settings);
  return g_test_run ();
}
