/* SPDX-License-Identifier: GPL-3.0-or-later */
/* CA certificate bundles as Berth reads them for the guest's trust store:
 * PEM files as people have them (text around the blocks, CRLF, several
 * certificates), what is refused and how it is said, the file checks,
 * SSL_CERT_FILE as this host's store, and merging without duplicates. The
 * certificates are made here with GnuTLS. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "berth-ca-bundle.h"
#include "berth-error.h"
#include "berth-test-certs.h"
#include "berth-test-util.h"

/* A CA certificate named @cn, as PEM; its DER in @der_out. */
static gchar *
make_ca (const gchar *cn, GBytes **der_out)
{
  g_autoptr (BerthTestIdentity) ca = berth_test_identity_new (cn, NULL, NULL);

  *der_out = berth_test_identity_cert_der (ca);
  return berth_test_identity_cert_pem (ca);
}

typedef struct
{
  gchar *dir;
  gchar *pem_a;
  gchar *pem_b;
  GBytes *der_a;
  GBytes *der_b;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = berth_test_make_root ("ca-bundle");
  f->pem_a = make_ca ("Berth test CA A", &f->der_a);
  f->pem_b = make_ca ("Berth test CA B", &f->der_b);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  berth_test_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->pem_a);
  g_free (f->pem_b);
  g_bytes_unref (f->der_a);
  g_bytes_unref (f->der_b);
}

static GPtrArray *
parse_text (const gchar *text, GError **error)
{
  return berth_ca_bundle_parse (text, strlen (text), "bundle.pem", error);
}

/* @text with every "\n" made "\r\n". */
static gchar *
crlf (const gchar *text)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  return g_strjoinv ("\r\n", lines);
}

/* A bundle as `openssl x509 -text` and hand editing leave them: text
 * before, between and after the blocks, CRLF, blanks at line ends. */
static void
test_parse_as_people_have_them (Fixture *f, gconstpointer data)
{
  g_autofree gchar *b_crlf = crlf (f->pem_b);
  g_autofree gchar *text = g_strconcat ("Certificate:\n    Data:\n        Version: 3 (0x2)\n",
                                        f->pem_a, "\n# the second one, from Windows\n", b_crlf,
                                        "trailing words without a newline", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) certificates = parse_text (text, &error);
  g_autofree gchar *pem = NULL;
  g_autofree gchar *both = g_strconcat (f->pem_a, f->pem_b, NULL);
  g_autoptr (GPtrArray) again = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (certificates->len, ==, 2);
  g_assert_true (g_bytes_equal (g_ptr_array_index (certificates, 0), f->der_a));
  g_assert_true (g_bytes_equal (g_ptr_array_index (certificates, 1), f->der_b));

  /* Written back: the same certificates, in GnuTLS's own PEM for each. */
  pem = berth_ca_bundle_to_pem (certificates);
  g_assert_cmpstr (pem, ==, both);
  again = parse_text (pem, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (again->len, ==, 2);
  g_assert_true (g_bytes_equal (g_ptr_array_index (again, 1), f->der_b));
}

/* Each refusal names the input, the line, and what is wrong. */
static void
test_parse_refusals (Fixture *f, gconstpointer data)
{
  g_autofree gchar *a_body = g_strdup (strchr (f->pem_a, '\n') + 1);
  g_autofree gchar *not_base64 = g_strdup (f->pem_a);
  g_autofree gchar *bad_padding = NULL;
  g_autofree gchar *no_end = NULL;
  g_autofree gchar *wrong_end = NULL;
  g_autofree gchar *nested = NULL;
  struct
  {
    const gchar *text;
    gint code;
    const gchar *message;
  } cases[] = {
    { "", BERTH_ERROR_INVALID_DATA,
      "bundle.pem: holds no PEM certificate (a \"-----BEGIN CERTIFICATE-----\" block); a DER "
      "file converts with `openssl x509 -inform der -in FILE -out FILE.pem`" },
    { "\x30\x82\x01\x0a\x02\x82", BERTH_ERROR_INVALID_DATA,
      "bundle.pem: holds no PEM certificate" },
    { "# keys\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
      BERTH_ERROR_INVALID_DATA,
      "bundle.pem, line 2: a \"PRIVATE KEY\" block; only CERTIFICATE blocks are allowed in a file "
      "of CA certificates" },
    { "-----BEGIN TRUSTED CERTIFICATE-----\nAAAA\n-----END TRUSTED CERTIFICATE-----\n",
      BERTH_ERROR_INVALID_DATA, "bundle.pem, line 1: a \"TRUSTED CERTIFICATE\" block" },
    { "-----BEGIN \x01\x02-----\n", BERTH_ERROR_INVALID_DATA,
      "bundle.pem, line 1: a BEGIN line that is not PEM" },
    { "text\n-----END CERTIFICATE-----\n", BERTH_ERROR_INVALID_DATA,
      "bundle.pem, line 2: an END line without its BEGIN line" },
    { "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", BERTH_ERROR_INVALID_DATA,
      "bundle.pem, line 1: the block is not an X.509 certificate" },
    { "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", BERTH_ERROR_INVALID_DATA,
      "bundle.pem, line 1: the certificate's body is not base64" },
  };

  /* One character of the body made '*'; the padding moved into the middle;
   * the END line cut off; another END label; a BEGIN inside. */
  not_base64[strlen ("-----BEGIN CERTIFICATE-----\n") + 10] = '*';
  bad_padding = g_strdup (f->pem_a);
  bad_padding[strlen ("-----BEGIN CERTIFICATE-----\n") + 4] = '=';
  no_end = g_strndup (f->pem_a, strstr (f->pem_a, "-----END") - f->pem_a);
  wrong_end = g_strconcat ("-----BEGIN CERTIFICATE-----\n", a_body, NULL);
  *strstr (wrong_end, "-----END CERTIFICATE-----") = '\0';
  {
    g_autofree gchar *body = g_strdup (wrong_end);

    g_free (wrong_end);
    wrong_end = g_strconcat (body, "-----END X509 CRL-----\n", NULL);
  }
  nested = g_strconcat ("-----BEGIN CERTIFICATE-----\nAAAA\n", f->pem_a, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) certificates = parse_text (cases[i].text, &error);

      g_test_message ("case %" G_GSIZE_FORMAT, i);
      g_assert_null (certificates);
      g_assert_error (error, BERTH_ERROR, cases[i].code);
      g_assert_true (g_str_has_prefix (error->message, cases[i].message));
    }

  {
    struct
    {
      const gchar *text;
      const gchar *message;
    } more[] = {
      { not_base64, "bundle.pem, line 2: a character that is not base64 (byte 0x2a) in the "
                    "certificate begun at line 1" },
      { bad_padding, "bundle.pem, line 1: the certificate's body is not base64" },
      { no_end, "bundle.pem, line 1: the certificate begun here has no END line" },
      { wrong_end, "the certificate begun at line 1 ends with another END line than -----END "
                   "CERTIFICATE-----" },
      { nested, "bundle.pem, line 3: a BEGIN line inside the certificate begun at line 1" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS (more); i++)
      {
        g_autoptr (GError) error = NULL;
        g_autoptr (GPtrArray) certificates = parse_text (more[i].text, &error);

        g_test_message ("more %" G_GSIZE_FORMAT ": %s", i, error != NULL ? error->message : "");
        g_assert_null (certificates);
        g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
        g_assert_nonnull (strstr (error->message, more[i].message));
      }
  }
}

/* At most BERTH_CA_BUNDLE_MAX_CERTIFICATES in one bundle. */
static void
test_parse_bound (Fixture *f, gconstpointer data)
{
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) certificates = NULL;

  for (guint i = 0; i < BERTH_CA_BUNDLE_MAX_CERTIFICATES; i++)
    g_string_append (text, f->pem_a);
  certificates = parse_text (text->str, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (certificates->len, ==, BERTH_CA_BUNDLE_MAX_CERTIFICATES);
  g_clear_pointer (&certificates, g_ptr_array_unref);

  g_string_append (text, f->pem_b);
  certificates = parse_text (text->str, &error);
  g_assert_null (certificates);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "more than 5000 certificates"));
}

static void
test_load_file (Fixture *f, gconstpointer data)
{
  g_autofree gchar *path = g_build_filename (f->dir, "corp.pem", NULL);
  g_autofree gchar *missing = g_build_filename (f->dir, "missing.pem", NULL);
  g_autofree gchar *big = g_build_filename (f->dir, "big.pem", NULL);
  g_autofree gchar *bad = g_build_filename (f->dir, "key.pem", NULL);
  g_autoptr (GPtrArray) certificates = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = g_strconcat (f->pem_b, f->pem_a, NULL);
  FILE *file;

  berth_test_write_file (path, text, 0644);
  certificates = berth_ca_bundle_load_file (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (certificates->len, ==, 2);
  g_assert_true (g_bytes_equal (g_ptr_array_index (certificates, 0), f->der_b));

  g_assert_null (berth_ca_bundle_load_file (missing, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);

  g_assert_null (berth_ca_bundle_load_file (f->dir, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_assert_true (g_str_has_prefix (error->message, f->dir));
  g_assert_true (g_str_has_suffix (error->message,
                                   " is not a regular file; name a PEM file of CA certificates"));
  g_clear_error (&error);

  /* A sparse file one byte over the bound: refused before it is read. */
  file = fopen (big, "w");
  g_assert_nonnull (file);
  g_assert_cmpint (ftruncate (fileno (file), BERTH_CA_BUNDLE_MAX_BYTES + 1), ==, 0);
  fclose (file);
  g_assert_null (berth_ca_bundle_load_file (big, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "more than the 8388608 a file of CA certificates"));
  g_clear_error (&error);

  berth_test_write_file (
      bad, "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n", 0600);
  g_assert_null (berth_ca_bundle_load_file (bad, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_assert_true (g_str_has_prefix (error->message, bad));
  g_assert_nonnull (strstr (error->message, ", line 1: a \"EC PRIVATE KEY\" block"));
}

/* SSL_CERT_FILE stands for this host's store when it is set; otherwise the
 * system store GnuTLS knows (Debian's bundle, on these machines). */
static void
test_load_host (Fixture *f, gconstpointer data)
{
  g_autofree gchar *path = g_build_filename (f->dir, "host.pem", NULL);
  g_autofree gchar *missing = g_build_filename (f->dir, "none.pem", NULL);
  g_autoptr (GPtrArray) certificates = NULL;
  g_autoptr (GError) error = NULL;

  berth_test_write_file (path, f->pem_a, 0644);
  g_setenv ("SSL_CERT_FILE", path, TRUE);
  certificates = berth_ca_bundle_load_host (&error);
  g_assert_no_error (error);
  g_assert_cmpuint (certificates->len, ==, 1);
  g_assert_true (g_bytes_equal (g_ptr_array_index (certificates, 0), f->der_a));
  g_clear_pointer (&certificates, g_ptr_array_unref);

  g_setenv ("SSL_CERT_FILE", missing, TRUE);
  g_assert_null (berth_ca_bundle_load_host (&error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_prefix (error->message,
                                   "SSL_CERT_FILE names this host's CA certificates: Cannot read "
                                   "the CA certificates in "));
  g_clear_error (&error);

  g_unsetenv ("SSL_CERT_FILE");
  certificates = berth_ca_bundle_load_host (&error);
  g_assert_no_error (error);
  if (g_file_test ("/etc/ssl/certs/ca-certificates.crt", G_FILE_TEST_IS_REGULAR))
    g_assert_cmpuint (certificates->len, >, 10);
}

static void
test_merge (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) into = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
  g_autoptr (GPtrArray) more = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
  g_autofree gchar *pem = NULL;
  g_autofree gchar *both = g_strconcat (f->pem_a, f->pem_b, NULL);

  g_ptr_array_add (into, g_bytes_ref (f->der_a));
  g_ptr_array_add (more, g_bytes_ref (f->der_b));
  g_ptr_array_add (more, g_bytes_ref (f->der_a));
  g_ptr_array_add (more, g_bytes_ref (f->der_b));
  g_assert_cmpuint (berth_ca_bundle_merge (into, more), ==, 1);
  g_assert_cmpuint (into->len, ==, 2);
  g_assert_true (g_bytes_equal (g_ptr_array_index (into, 1), f->der_b));
  g_assert_cmpuint (berth_ca_bundle_merge (into, more), ==, 0);
  pem = berth_ca_bundle_to_pem (into);
  g_assert_cmpstr (pem, ==, both);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/ca-bundle/parse/as-people-have-them", test_parse_as_people_have_them);
  ADD ("/ca-bundle/parse/refusals", test_parse_refusals);
  ADD ("/ca-bundle/parse/bound", test_parse_bound);
  ADD ("/ca-bundle/load-file", test_load_file);
  ADD ("/ca-bundle/load-host", test_load_host);
  ADD ("/ca-bundle/merge", test_merge);
  return g_test_run ();
}
