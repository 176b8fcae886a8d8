/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include <archive.h>
#include <archive_entry.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <glib/gstdio.h>

#include "berth-test-util.h"
#include "updater-fixture.h"

#define START_SECONDS 30

/* ---- archives ------------------------------------------------------------ */

void
updater_write_archive (const gchar *path, const ArchiveEntrySpec *entries, gsize n_entries)
{
  struct archive *writer = archive_write_new ();

  g_assert_cmpint (archive_write_add_filter_gzip (writer), ==, ARCHIVE_OK);
  g_assert_cmpint (archive_write_set_format_pax_restricted (writer), ==, ARCHIVE_OK);
  g_assert_cmpint (archive_write_open_filename (writer, path), ==, ARCHIVE_OK);
  for (gsize i = 0; i < n_entries; i++)
    {
      const ArchiveEntrySpec *spec = &entries[i];
      struct archive_entry *entry = archive_entry_new ();
      gsize size = spec->type == ENTRY_FILE && spec->data != NULL ? strlen (spec->data) : 0;

      archive_entry_set_pathname (entry, spec->path);
      archive_entry_set_perm (entry, spec->mode != 0 ? spec->mode : 0644);
      archive_entry_set_mtime (entry, 1700000000, 0);
      switch (spec->type)
        {
        case ENTRY_FILE:
          archive_entry_set_filetype (entry, AE_IFREG);
          archive_entry_set_size (entry, (la_int64_t)size);
          break;
        case ENTRY_DIR:
          archive_entry_set_filetype (entry, AE_IFDIR);
          archive_entry_set_perm (entry, 0755);
          break;
        case ENTRY_SYMLINK:
          archive_entry_set_filetype (entry, AE_IFLNK);
          archive_entry_set_symlink (entry, spec->data);
          break;
        case ENTRY_HARDLINK:
          archive_entry_set_filetype (entry, AE_IFREG);
          archive_entry_set_hardlink (entry, spec->data);
          break;
        default:
          g_assert_not_reached ();
        }
      g_assert_cmpint (archive_write_header (writer, entry), ==, ARCHIVE_OK);
      if (size > 0)
        g_assert_cmpint (archive_write_data (writer, spec->data, size), ==, (la_ssize_t)size);
      archive_entry_free (entry);
    }
  g_assert_cmpint (archive_write_close (writer), ==, ARCHIVE_OK);
  archive_write_free (writer);
}

void
updater_write_release (const gchar *path, const gchar *version, const gchar *berthd)
{
  g_autofree gchar *top = g_strdup_printf ("berth-%s", version);
  g_autofree gchar *bin = g_strconcat (top, "/bin", NULL);
  g_autofree gchar *berthd_path = g_strconcat (top, "/bin/berthd", NULL);
  g_autofree gchar *berthctl_path = g_strconcat (top, "/bin/berthctl", NULL);
  g_autofree gchar *lib = g_strconcat (top, "/lib", NULL);
  g_autofree gchar *library = g_strconcat (top, "/lib/libberth-1.so.0", NULL);
  g_autofree gchar *library_link = g_strconcat (top, "/lib/libberth-1.so", NULL);
  const ArchiveEntrySpec entries[] = {
    { top, ENTRY_DIR, NULL, 0755 },
    { bin, ENTRY_DIR, NULL, 0755 },
    { berthd_path, ENTRY_FILE, berthd, 0755 },
    { berthctl_path, ENTRY_FILE, "#!/bin/sh\necho 'a fake berthctl of a fake release'\n", 0755 },
    { lib, ENTRY_DIR, NULL, 0755 },
    { library, ENTRY_FILE, "a fake library of a fake release\n", 0644 },
    { library_link, ENTRY_SYMLINK, "libberth-1.so.0", 0777 },
  };

  updater_write_archive (path, entries, G_N_ELEMENTS (entries));
}

const gchar *
updater_arch (void)
{
  static gchar machine[sizeof (((struct utsname *)NULL)->machine)];

  if (machine[0] == '\0')
    {
      struct utsname name;

      g_assert_cmpint (uname (&name), ==, 0);
      g_strlcpy (machine, name.machine, sizeof machine);
    }
  return machine;
}

/* ---- the server ---------------------------------------------------------- */

/* A self-signed certificate for 127.0.0.1 that is its own CA. */
static void
make_certificate (gchar **cert_pem, gchar **key_pem)
{
  gnutls_x509_privkey_t key = NULL;
  gnutls_x509_crt_t crt = NULL;
  gnutls_datum_t out = { NULL, 0 };
  const guint8 ip[4] = { 127, 0, 0, 1 };
  const gchar name[] = "Berth's fake update server";
  guint8 serial[8];
  guint8 key_id[64];
  size_t key_id_size = sizeof key_id;
  time_t now = time (NULL);

  for (gsize i = 0; i < sizeof serial; i++)
    serial[i] = (guint8)g_random_int_range (1, 128);
  g_assert_cmpint (gnutls_x509_privkey_init (&key), ==, 0);
  g_assert_cmpint (gnutls_x509_privkey_generate (
                       key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0),
                   ==, 0);
  g_assert_cmpint (gnutls_x509_crt_init (&crt), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_version (crt, 3), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_serial (crt, serial, sizeof serial), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_activation_time (crt, now - 3600), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_expiration_time (crt, now + 86400), ==, 0);
  g_assert_cmpint (
      gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, name, strlen (name)), ==,
      0);
  g_assert_cmpint (gnutls_x509_crt_set_key (crt, key), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_basic_constraints (crt, 1, -1), ==, 0);
  g_assert_cmpint (
      gnutls_x509_crt_set_key_usage (crt, GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_CERT_SIGN),
      ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_SERVER, 0), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_IPADDRESS, ip, sizeof ip,
                                                         GNUTLS_FSAN_APPEND),
                   ==, 0);
  g_assert_cmpint (gnutls_x509_crt_get_key_id (crt, 0, key_id, &key_id_size), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_subject_key_id (crt, key_id, key_id_size), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &out), ==, 0);
  *cert_pem = g_strndup ((const gchar *)out.data, out.size);
  gnutls_free (out.data);
  g_assert_cmpint (
      gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &out),
      ==, 0);
  *key_pem = g_strndup ((const gchar *)out.data, out.size);
  gnutls_free (out.data);
  gnutls_x509_crt_deinit (crt);
  gnutls_x509_privkey_deinit (key);
}

typedef struct
{
  UpdaterFixture *fixture;
  gchar *port_file;
} PortWait;

static gboolean
port_written (gpointer user_data)
{
  PortWait *wait = user_data;
  g_autofree gchar *text = NULL;

  if (g_subprocess_get_identifier (wait->fixture->server) == NULL)
    return TRUE;
  return g_file_get_contents (wait->port_file, &text, NULL, NULL) && text[0] != '\0';
}

UpdaterFixture *
updater_fixture_new (const gchar *config)
{
  UpdaterFixture *fixture = g_new0 (UpdaterFixture, 1);
  g_autofree gchar *cert_pem = NULL;
  g_autofree gchar *key_pem = NULL;
  g_autofree gchar *key_file = NULL;
  g_autofree gchar *assets = NULL;
  g_autofree gchar *script = NULL;
  g_autofree gchar *port = NULL;
  g_autofree gchar *log_file = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  const gchar *python = g_getenv ("PYTHON3");
  PortWait wait = { fixture, NULL };

  fixture->root = berth_test_make_root ("berth-updater");
  fixture->dir = g_build_filename (fixture->root, "server", NULL);
  assets = g_build_filename (fixture->dir, "assets", NULL);
  g_assert_cmpint (g_mkdir_with_parents (assets, 0700), ==, 0);
  updater_fixture_set_config (fixture, config);

  make_certificate (&cert_pem, &key_pem);
  fixture->ca_file = g_build_filename (fixture->root, "fake-ca.pem", NULL);
  key_file = g_build_filename (fixture->root, "fake-key.pem", NULL);
  berth_test_write_file (fixture->ca_file, cert_pem, 0600);
  berth_test_write_file (key_file, key_pem, 0600);

  script = g_test_build_filename (G_TEST_DIST, "fake-update-server.py", NULL);
  log_file = g_build_filename (fixture->root, "server.log", NULL);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_child_setup (launcher, berth_test_die_with_parent, NULL, NULL);
  g_subprocess_launcher_set_stderr_file_path (launcher, log_file);
  fixture->server
      = g_subprocess_launcher_spawn (launcher, &error, python != NULL ? python : "python3", script,
                                     fixture->dir, fixture->ca_file, key_file, NULL);
  g_assert_no_error (error);

  wait.port_file = g_build_filename (fixture->dir, "port", NULL);
  g_assert_true (berth_test_iterate_until (port_written, &wait, START_SECONDS));
  if (g_subprocess_get_identifier (fixture->server) == NULL)
    berth_test_show_stderr ("the fake update server", log_file);
  g_assert_nonnull (g_subprocess_get_identifier (fixture->server));
  port = berth_test_read_file (wait.port_file);
  fixture->base_url = g_strdup_printf ("https://127.0.0.1:%s", port);
  g_free (wait.port_file);
  return fixture;
}

void
updater_fixture_free (UpdaterFixture *fixture)
{
  if (fixture == NULL)
    return;
  if (fixture->server != NULL)
    {
      g_subprocess_force_exit (fixture->server);
      g_subprocess_wait (fixture->server, NULL, NULL);
      g_clear_object (&fixture->server);
    }
  berth_test_rm_rf (fixture->root);
  g_free (fixture->root);
  g_free (fixture->dir);
  g_free (fixture->ca_file);
  g_free (fixture->base_url);
  g_free (fixture);
}

void
updater_fixture_set_config (UpdaterFixture *fixture, const gchar *config)
{
  g_autofree gchar *path = g_build_filename (fixture->dir, "config.json", NULL);
  g_autoptr (GError) error = NULL;

  g_file_set_contents (path, config, -1, &error);
  g_assert_no_error (error);
}

void
updater_fixture_add_release (UpdaterFixture *fixture, const gchar *version, const gchar *berthd,
                             const gchar *sha512sum)
{
  g_autofree gchar *name = g_strdup_printf ("berth-%s-linux-%s.tar.gz", version, updater_arch ());
  g_autofree gchar *path = g_build_filename (fixture->dir, "assets", name, NULL);

  updater_write_release (path, version, berthd);
  if (sha512sum != NULL)
    {
      g_autofree gchar *sum_path = g_strconcat (path, ".sha512sum", NULL);

      berth_test_write_file (sum_path, sha512sum, 0644);
    }
}

JsonArray *
updater_fixture_take_requests (UpdaterFixture *fixture)
{
  g_autofree gchar *path = g_build_filename (fixture->dir, "requests.jsonl", NULL);
  g_autofree gchar *text = NULL;
  g_auto (GStrv) lines = NULL;
  JsonArray *requests = json_array_new ();

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return requests;
  g_assert_cmpint (g_unlink (path), ==, 0);
  lines = g_strsplit (text, "\n", -1);
  for (gsize i = 0; lines[i] != NULL; i++)
    {
      g_autoptr (GError) error = NULL;
      JsonNode *node;

      if (lines[i][0] == '\0')
        continue;
      node = berth_json_parse (lines[i], strlen (lines[i]), 8, "a request log line", &error);
      g_assert_no_error (error);
      json_array_add_element (requests, node);
    }
  return requests;
}

void
updater_fixture_setenv (UpdaterFixture *fixture)
{
  g_autofree gchar *responder = g_strconcat (fixture->base_url, "/v1/checkupgrade", NULL);

  g_setenv ("BERTH_UPDATE_RESPONDER_URL", responder, TRUE);
  g_setenv ("BERTH_UPDATE_RELEASES_URL", fixture->base_url, TRUE);
  g_setenv ("BERTH_UPDATE_CA_FILE", fixture->ca_file, TRUE);
}
