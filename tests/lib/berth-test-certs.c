/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Certificates made for a test with GnuTLS. */
#include "config.h"

#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "berth-test-certs.h"

struct _BerthTestIdentity
{
  gnutls_x509_privkey_t key;
  gnutls_x509_crt_t crt;
};

BerthTestIdentity *
berth_test_identity_new (const gchar *cn, const gchar *dns, BerthTestIdentity *issuer)
{
  static guint serial = 0;
  BerthTestIdentity *id = g_new0 (BerthTestIdentity, 1);
  time_t now = time (NULL);
  gboolean ca = dns == NULL;
  guchar serial_bytes[4];

  g_assert_cmpint (gnutls_x509_privkey_init (&id->key), ==, 0);
  g_assert_cmpint (gnutls_x509_privkey_generate (id->key, GNUTLS_PK_ECDSA,
                                                 GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1),
                                                 0),
                   ==, 0);
  g_assert_cmpint (gnutls_x509_crt_init (&id->crt), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_version (id->crt, 3), ==, 0);
  /* Unique within the process; the first byte keeps it positive. */
  serial++;
  serial_bytes[0] = 0x01;
  serial_bytes[1] = (serial >> 16) & 0xff;
  serial_bytes[2] = (serial >> 8) & 0xff;
  serial_bytes[3] = serial & 0xff;
  g_assert_cmpint (gnutls_x509_crt_set_serial (id->crt, serial_bytes, sizeof serial_bytes), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_activation_time (id->crt, now - 3600), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_expiration_time (id->crt, now + 86400), ==, 0);
  g_assert_cmpint (
      gnutls_x509_crt_set_dn_by_oid (id->crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen (cn)), ==,
      0);
  g_assert_cmpint (gnutls_x509_crt_set_key (id->crt, id->key), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_basic_constraints (id->crt, ca, -1), ==, 0);
  g_assert_cmpint (
      gnutls_x509_crt_set_key_usage (id->crt, ca ? GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN
                                                 : GNUTLS_KEY_DIGITAL_SIGNATURE),
      ==, 0);
  if (!ca)
    {
      g_assert_cmpint (gnutls_x509_crt_set_key_purpose_oid (id->crt, GNUTLS_KP_TLS_WWW_SERVER, 0),
                       ==, 0);
      g_assert_cmpint (gnutls_x509_crt_set_subject_alt_name (id->crt, GNUTLS_SAN_DNSNAME, dns,
                                                             strlen (dns), GNUTLS_FSAN_APPEND),
                       ==, 0);
    }
  g_assert_cmpint (gnutls_x509_crt_sign2 (id->crt, issuer != NULL ? issuer->crt : id->crt,
                                          issuer != NULL ? issuer->key : id->key, GNUTLS_DIG_SHA256,
                                          0),
                   ==, 0);
  return id;
}

void
berth_test_identity_free (BerthTestIdentity *identity)
{
  if (identity == NULL)
    return;
  gnutls_x509_crt_deinit (identity->crt);
  gnutls_x509_privkey_deinit (identity->key);
  g_free (identity);
}

gchar *
berth_test_identity_cert_pem (BerthTestIdentity *identity)
{
  gnutls_datum_t out = { NULL, 0 };
  gchar *text;

  g_assert_cmpint (gnutls_x509_crt_export2 (identity->crt, GNUTLS_X509_FMT_PEM, &out), ==, 0);
  text = g_strndup ((const gchar *)out.data, out.size);
  gnutls_free (out.data);
  return text;
}

GBytes *
berth_test_identity_cert_der (BerthTestIdentity *identity)
{
  gnutls_datum_t out = { NULL, 0 };
  GBytes *bytes;

  g_assert_cmpint (gnutls_x509_crt_export2 (identity->crt, GNUTLS_X509_FMT_DER, &out), ==, 0);
  bytes = g_bytes_new (out.data, out.size);
  gnutls_free (out.data);
  return bytes;
}

gchar *
berth_test_identity_key_pem (BerthTestIdentity *identity)
{
  gnutls_datum_t out = { NULL, 0 };
  gchar *text;

  g_assert_cmpint (gnutls_x509_privkey_export2_pkcs8 (identity->key, GNUTLS_X509_FMT_PEM, NULL,
                                                      GNUTLS_PKCS_PLAIN, &out),
                   ==, 0);
  text = g_strndup ((const gchar *)out.data, out.size);
  gnutls_free (out.data);
  return text;
}
