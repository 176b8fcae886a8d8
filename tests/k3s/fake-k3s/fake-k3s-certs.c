/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The fake k3s's certificates: a cluster CA kept across restarts (as k3s
 * keeps its own under server/tls), the admin's client certificate, and a
 * serving certificate made at every start for the addresses it answers on;
 * and k3s.yaml, which hands them to clients. ECDSA P-256 keys: quick to
 * make under software emulation. */
#include "fake-k3s.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define ONE_YEAR (365L * 24 * 3600)
/* Clocks of a guest and its host may differ a little. */
#define BACKDATE 60

static void
check (int ret, const char *what)
{
  if (ret < 0)
    fake_die ("%s: %s", what, gnutls_strerror (ret));
}

static char *
datum_to_string (gnutls_datum_t *datum)
{
  char *text = malloc (datum->size + 1);

  if (text == NULL)
    fake_die ("out of memory");
  memcpy (text, datum->data, datum->size);
  text[datum->size] = '\0';
  gnutls_free (datum->data);
  datum->data = NULL;
  return text;
}

static gnutls_x509_privkey_t
new_key (void)
{
  gnutls_x509_privkey_t key;

  check (gnutls_x509_privkey_init (&key), "a private key");
  check (gnutls_x509_privkey_generate (key, GNUTLS_PK_ECDSA,
                                       GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0),
         "making an ECDSA P-256 key");
  return key;
}

static char *
key_pem (gnutls_x509_privkey_t key)
{
  gnutls_datum_t out = { NULL, 0 };

  /* "EC PRIVATE KEY", as k3s writes its keys. */
  check (gnutls_x509_privkey_export2 (key, GNUTLS_X509_FMT_PEM, &out), "exporting a key");
  return datum_to_string (&out);
}

static char *
cert_pem (gnutls_x509_crt_t crt)
{
  gnutls_datum_t out = { NULL, 0 };

  check (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &out), "exporting a certificate");
  return datum_to_string (&out);
}

typedef enum
{
  KIND_CA,
  KIND_SERVER,
  KIND_CLIENT,
} CertKind;

/* A certificate for @key; self-signed when @issuer is NULL. */
static gnutls_x509_crt_t
new_cert (CertKind kind, const char *common_name, const char *organization,
          gnutls_x509_privkey_t key, gnutls_x509_crt_t issuer, gnutls_x509_privkey_t issuer_key,
          const char *const *dns_names, const char *const *ip_addresses)
{
  gnutls_x509_crt_t crt;
  unsigned char serial[16];
  unsigned char key_id[64];
  size_t key_id_size = sizeof key_id;
  time_t now = time (NULL);

  check (gnutls_x509_crt_init (&crt), "a certificate");
  check (gnutls_x509_crt_set_version (crt, 3), "the certificate's version");
  check (gnutls_rnd (GNUTLS_RND_NONCE, serial, sizeof serial), "a serial number");
  serial[0] &= 0x7f;
  check (gnutls_x509_crt_set_serial (crt, serial, sizeof serial), "the serial number");
  check (gnutls_x509_crt_set_activation_time (crt, now - BACKDATE), "the start of validity");
  check (gnutls_x509_crt_set_expiration_time (crt, now + (kind == KIND_CA ? 10 : 1) * ONE_YEAR),
         "the end of validity");
  check (gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, common_name,
                                        (unsigned)strlen (common_name)),
         "the common name");
  if (organization != NULL)
    check (gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, organization,
                                          (unsigned)strlen (organization)),
           "the organization");
  check (gnutls_x509_crt_set_key (crt, key), "the certificate's key");
  check (gnutls_x509_crt_get_key_id (crt, 0, key_id, &key_id_size), "the key id");
  check (gnutls_x509_crt_set_subject_key_id (crt, key_id, key_id_size), "the subject key id");
  if (kind == KIND_CA)
    {
      check (gnutls_x509_crt_set_basic_constraints (crt, 1, -1), "the basic constraints");
      check (gnutls_x509_crt_set_key_usage (crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN
                                                     | GNUTLS_KEY_DIGITAL_SIGNATURE),
             "the key usage");
    }
  else
    {
      check (gnutls_x509_crt_set_basic_constraints (crt, 0, -1), "the basic constraints");
      check (gnutls_x509_crt_set_key_usage (crt, GNUTLS_KEY_DIGITAL_SIGNATURE
                                                     | GNUTLS_KEY_KEY_ENCIPHERMENT),
             "the key usage");
      check (gnutls_x509_crt_set_key_purpose_oid (
                 crt, kind == KIND_SERVER ? GNUTLS_KP_TLS_WWW_SERVER : GNUTLS_KP_TLS_WWW_CLIENT, 0),
             "the extended key usage");
    }
  for (size_t i = 0; dns_names != NULL && dns_names[i] != NULL; i++)
    check (gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_DNSNAME, dns_names[i],
                                                 (unsigned)strlen (dns_names[i]),
                                                 GNUTLS_FSAN_APPEND),
           "a DNS name");
  for (size_t i = 0; ip_addresses != NULL && ip_addresses[i] != NULL; i++)
    {
      unsigned char raw[4];

      if (inet_pton (AF_INET, ip_addresses[i], raw) != 1)
        fake_die ("%s is no IPv4 address", ip_addresses[i]);
      check (gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_IPADDRESS, raw, sizeof raw,
                                                   GNUTLS_FSAN_APPEND),
             "an IP address");
    }
  if (issuer != NULL)
    {
      key_id_size = sizeof key_id;
      check (gnutls_x509_crt_get_subject_key_id (issuer, key_id, &key_id_size, NULL),
             "the issuer's key id");
      check (gnutls_x509_crt_set_authority_key_id (crt, key_id, key_id_size),
             "the authority key id");
    }
  check (gnutls_x509_crt_sign2 (crt, issuer != NULL ? issuer : crt,
                                issuer_key != NULL ? issuer_key : key, GNUTLS_DIG_SHA256, 0),
         "signing a certificate");
  return crt;
}

static char *
tls_file (const char *tls_dir, const char *name)
{
  FakeBuf path;

  fake_buf_init (&path);
  fake_buf_printf (&path, "%s/%s", tls_dir, name);
  return path.data;
}

static char *
read_pem (const char *tls_dir, const char *name)
{
  char *path = tls_file (tls_dir, name);
  char *text = fake_read_file (path, 64 * 1024, NULL);

  free (path);
  return text;
}

static void
write_pem (const char *tls_dir, const char *name, const char *pem, unsigned mode)
{
  char *path = tls_file (tls_dir, name);

  if (!fake_write_file (path, pem, strlen (pem), mode))
    fake_die ("cannot write %s: %s", path, strerror (errno));
  free (path);
}

static gnutls_x509_crt_t
import_cert (const char *pem)
{
  gnutls_x509_crt_t crt;
  gnutls_datum_t datum = { (unsigned char *)pem, (unsigned)strlen (pem) };

  check (gnutls_x509_crt_init (&crt), "a certificate");
  check (gnutls_x509_crt_import (crt, &datum, GNUTLS_X509_FMT_PEM), "reading the CA certificate");
  return crt;
}

static gnutls_x509_privkey_t
import_key (const char *pem)
{
  gnutls_x509_privkey_t key;
  gnutls_datum_t datum = { (unsigned char *)pem, (unsigned)strlen (pem) };

  check (gnutls_x509_privkey_init (&key), "a private key");
  check (gnutls_x509_privkey_import (key, &datum, GNUTLS_X509_FMT_PEM), "reading the CA key");
  return key;
}

void
fake_certs_setup (FakeCerts *certs, const char *tls_dir, const char *address)
{
  gnutls_x509_crt_t ca;
  gnutls_x509_privkey_t ca_key;
  gnutls_x509_privkey_t server_key;
  gnutls_x509_crt_t server;
  const char *const dns_names[]
      = { "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", NULL };
  const char *ip_addresses[] = { "127.0.0.1", "10.43.0.1", NULL, NULL };

  memset (certs, 0, sizeof *certs);
  if (!fake_mkdir_p (tls_dir, 0700))
    fake_die ("cannot make %s: %s", tls_dir, strerror (errno));

  certs->ca_cert = read_pem (tls_dir, "server-ca.crt");
  certs->ca_key = read_pem (tls_dir, "server-ca.key");
  certs->client_cert = read_pem (tls_dir, "client-admin.crt");
  certs->client_key = read_pem (tls_dir, "client-admin.key");
  if (certs->ca_cert == NULL || certs->ca_key == NULL || certs->client_cert == NULL
      || certs->client_key == NULL)
    {
      gnutls_x509_privkey_t client_key = new_key ();
      gnutls_x509_crt_t client;

      free (certs->ca_cert);
      free (certs->ca_key);
      free (certs->client_cert);
      free (certs->client_key);
      ca_key = new_key ();
      ca = new_cert (KIND_CA, "fake-k3s-server-ca (Berth's tests)", NULL, ca_key, NULL, NULL, NULL,
                     NULL);
      client = new_cert (KIND_CLIENT, "system:admin", "system:masters", client_key, ca, ca_key,
                         NULL, NULL);
      certs->ca_cert = cert_pem (ca);
      certs->ca_key = key_pem (ca_key);
      certs->client_cert = cert_pem (client);
      certs->client_key = key_pem (client_key);
      write_pem (tls_dir, "server-ca.key", certs->ca_key, 0600);
      write_pem (tls_dir, "client-admin.key", certs->client_key, 0600);
      write_pem (tls_dir, "client-admin.crt", certs->client_cert, 0644);
      /* Last: its presence says the others are there. */
      write_pem (tls_dir, "server-ca.crt", certs->ca_cert, 0644);
      gnutls_x509_crt_deinit (client);
      gnutls_x509_privkey_deinit (client_key);
      fake_log ("made a new fake cluster CA in %s", tls_dir);
    }
  else
    {
      ca = import_cert (certs->ca_cert);
      ca_key = import_key (certs->ca_key);
    }

  if (address != NULL && address[0] != '\0')
    ip_addresses[2] = address;
  server_key = new_key ();
  server = new_cert (KIND_SERVER, "k3s (fake)", "k3s", server_key, ca, ca_key, dns_names,
                     ip_addresses);
  certs->server_cert = cert_pem (server);
  certs->server_key = key_pem (server_key);
  write_pem (tls_dir, "serving-kube-apiserver.crt", certs->server_cert, 0644);
  write_pem (tls_dir, "serving-kube-apiserver.key", certs->server_key, 0600);
  gnutls_x509_crt_deinit (server);
  gnutls_x509_privkey_deinit (server_key);
  gnutls_x509_crt_deinit (ca);
  gnutls_x509_privkey_deinit (ca_key);
}

void
fake_k3s_yaml (FakeBuf *out, const FakeCerts *certs, unsigned port)
{
  fake_buf_puts (out, "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: ");
  fake_buf_base64 (out, (const unsigned char *)certs->ca_cert, strlen (certs->ca_cert));
  fake_buf_printf (out,
                   "\n    server: https://127.0.0.1:%u\n"
                   "  name: default\n"
                   "contexts:\n"
                   "- context:\n"
                   "    cluster: default\n"
                   "    user: default\n"
                   "  name: default\n"
                   "current-context: default\n"
                   "kind: Config\n"
                   "preferences: {}\n"
                   "users:\n"
                   "- name: default\n"
                   "  user:\n"
                   "    client-certificate-data: ",
                   port);
  fake_buf_base64 (out, (const unsigned char *)certs->client_cert, strlen (certs->client_cert));
  fake_buf_puts (out, "\n    client-key-data: ");
  fake_buf_base64 (out, (const unsigned char *)certs->client_key, strlen (certs->client_key));
  fake_buf_puts (out, "\n");
}
