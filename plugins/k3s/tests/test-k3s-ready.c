/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Waiting for the Kubernetes API server, against GnuTLS servers in this
 * process whose certificates are made for each case: a good one, one for
 * another address, one not valid yet, an expired one, one from another CA;
 * a server that is not ready for a while, one never ready, and no server. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "berth-error.h"
#include "berth-k3s-ready.h"
#include "berth-test-util.h"

#define HOUR (60 * 60)
#define DAY (24 * HOUR)

/* ---- certificates ------------------------------------------------------- */

typedef struct
{
  gnutls_x509_privkey_t key;
  gnutls_x509_crt_t crt;
} Identity;

static void
identity_clear (Identity *id)
{
  g_clear_pointer (&id->crt, gnutls_x509_crt_deinit);
  g_clear_pointer (&id->key, gnutls_x509_privkey_deinit);
}

typedef struct
{
  const gchar *cn;
  gboolean ca;
  const gchar *ip;  /* subjectAltName IP, or NULL */
  const gchar *dns; /* subjectAltName DNS, or NULL */
  time_t from;
  time_t to;
  gboolean client;
} CertSpec;

/* A new key and a certificate for it, signed by @issuer (self-signed when
 * NULL). */
static void
make_identity (Identity *id, const CertSpec *spec, Identity *issuer)
{
  static guint serial = 1;
  guchar serial_bytes[4];

  g_assert_cmpint (gnutls_x509_privkey_init (&id->key), ==, 0);
  g_assert_cmpint (gnutls_x509_privkey_generate (id->key, GNUTLS_PK_ECDSA,
                                                 GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1),
                                                 0),
                   ==, 0);
  g_assert_cmpint (gnutls_x509_crt_init (&id->crt), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_version (id->crt, 3), ==, 0);
  serial++;
  serial_bytes[0] = 0x01;
  serial_bytes[1] = (serial >> 16) & 0xff;
  serial_bytes[2] = (serial >> 8) & 0xff;
  serial_bytes[3] = serial & 0xff;
  g_assert_cmpint (gnutls_x509_crt_set_serial (id->crt, serial_bytes, sizeof serial_bytes), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_activation_time (id->crt, spec->from), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_expiration_time (id->crt, spec->to), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_dn_by_oid (id->crt, GNUTLS_OID_X520_COMMON_NAME, 0, spec->cn,
                                                  strlen (spec->cn)),
                   ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_key (id->crt, id->key), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_basic_constraints (id->crt, spec->ca, -1), ==, 0);
  g_assert_cmpint (gnutls_x509_crt_set_key_usage (id->crt, spec->ca ? GNUTLS_KEY_KEY_CERT_SIGN
                                                                    : GNUTLS_KEY_DIGITAL_SIGNATURE),
                   ==, 0);
  if (!spec->ca)
    g_assert_cmpint (
        gnutls_x509_crt_set_key_purpose_oid (
            id->crt, spec->client ? GNUTLS_KP_TLS_WWW_CLIENT : GNUTLS_KP_TLS_WWW_SERVER, 0),
        ==, 0);
  if (spec->ip != NULL)
    {
      struct in_addr addr;

      g_assert_cmpint (inet_pton (AF_INET, spec->ip, &addr), ==, 1);
      g_assert_cmpint (gnutls_x509_crt_set_subject_alt_name (id->crt, GNUTLS_SAN_IPADDRESS, &addr,
                                                             sizeof addr, GNUTLS_FSAN_APPEND),
                       ==, 0);
    }
  if (spec->dns != NULL)
    g_assert_cmpint (gnutls_x509_crt_set_subject_alt_name (id->crt, GNUTLS_SAN_DNSNAME, spec->dns,
                                                           strlen (spec->dns), GNUTLS_FSAN_APPEND),
                     ==, 0);
  g_assert_cmpint (gnutls_x509_crt_sign2 (id->crt, issuer != NULL ? issuer->crt : id->crt,
                                          issuer != NULL ? issuer->key : id->key, GNUTLS_DIG_SHA256,
                                          0),
                   ==, 0);
}

static gchar *
crt_pem (gnutls_x509_crt_t crt)
{
  gnutls_datum_t out = { NULL, 0 };
  gchar *text;

  g_assert_cmpint (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &out), ==, 0);
  text = g_strndup ((const gchar *)out.data, out.size);
  gnutls_free (out.data);
  return text;
}

static gchar *
key_pem (gnutls_x509_privkey_t key)
{
  gnutls_datum_t out = { NULL, 0 };
  gchar *text;

  g_assert_cmpint (gnutls_x509_privkey_export2 (key, GNUTLS_X509_FMT_PEM, &out), ==, 0);
  text = g_strndup ((const gchar *)out.data, out.size);
  gnutls_free (out.data);
  return text;
}

/* ---- the server ----------------------------------------------------------- */

typedef struct
{
  gint listen_fd;
  guint port;
  gnutls_certificate_credentials_t credentials;
  guint not_ready_answers; /* /readyz answers 500 this many times, then 200 */
  gboolean never_ready;
  gint requests;     /* atomic */
  gint client_certs; /* atomic: requests that came with a client certificate */
  gint stop;         /* atomic */
  GThread *thread;
} Server;

static void
serve_one (Server *server, gint fd)
{
  gnutls_session_t session = NULL;
  gchar buf[4096];
  gsize got = 0;
  gint ret;

  gnutls_init (&session, GNUTLS_SERVER);
  gnutls_set_default_priority (session);
  gnutls_credentials_set (session, GNUTLS_CRD_CERTIFICATE, server->credentials);
  gnutls_certificate_server_set_request (session, GNUTLS_CERT_REQUEST);
  gnutls_transport_set_int (session, fd);
  gnutls_handshake_set_timeout (session, 5000);
  do
    ret = gnutls_handshake (session);
  while (ret < 0 && !gnutls_error_is_fatal (ret));
  if (ret == 0)
    {
      while (got < sizeof buf - 1)
        {
          ssize_t n = gnutls_record_recv (session, buf + got, sizeof buf - 1 - got);

          if (n <= 0)
            break;
          got += (gsize)n;
          buf[got] = '\0';
          if (strstr (buf, "\r\n\r\n") != NULL)
            break;
        }
      buf[got] = '\0';
      if (g_str_has_prefix (buf, "GET /readyz "))
        {
          guint n = (guint)g_atomic_int_add (&server->requests, 1);
          gboolean ready = !server->never_ready && n >= server->not_ready_answers;
          const gchar *answer = ready ? "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                                      : "HTTP/1.1 500 Internal Server Error\r\n"
                                        "Content-Length: 9\r\n\r\nnot ready";
          unsigned int n_peers = 0;

          if (gnutls_certificate_get_peers (session, &n_peers) != NULL && n_peers > 0)
            g_atomic_int_inc (&server->client_certs);
          gnutls_record_send (session, answer, strlen (answer));
        }
      gnutls_bye (session, GNUTLS_SHUT_WR);
    }
  gnutls_deinit (session);
  close (fd);
}

static gpointer
server_thread (gpointer data)
{
  Server *server = data;

  while (!g_atomic_int_get (&server->stop))
    {
      gint fd = accept (server->listen_fd, NULL, NULL);

      if (fd < 0)
        continue;
      if (g_atomic_int_get (&server->stop))
        {
          close (fd);
          break;
        }
      serve_one (server, fd);
    }
  return NULL;
}

/* A listening socket on a free port of 127.0.0.1. */
static gint
listen_any (guint *port)
{
  struct sockaddr_in addr = { 0 };
  socklen_t len = sizeof addr;
  gint fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (bind (fd, (struct sockaddr *)&addr, sizeof addr), ==, 0);
  g_assert_cmpint (listen (fd, 16), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *)&addr, &len), ==, 0);
  *port = ntohs (addr.sin_port);
  return fd;
}

static void
server_start (Server *server, Identity *id)
{
  server->listen_fd = listen_any (&server->port);
  g_assert_cmpint (gnutls_certificate_allocate_credentials (&server->credentials), ==, 0);
  g_assert_cmpint (gnutls_certificate_set_x509_key (server->credentials, &id->crt, 1, id->key), ==,
                   0);
  server->thread = g_thread_new ("readyz", server_thread, server);
}

static void
server_stop (Server *server)
{
  g_atomic_int_set (&server->stop, 1);
  shutdown (server->listen_fd, SHUT_RDWR);
  g_thread_join (server->thread);
  close (server->listen_fd);
  gnutls_certificate_free_credentials (server->credentials);
}

/* ---- the cases ------------------------------------------------------------- */

typedef struct
{
  Identity ca;
  Identity client;
  BerthK3sCredentials credentials;
  time_t now;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  CertSpec ca = { "k3s-server-ca (Berth test)", TRUE, NULL, NULL, 0, 0, FALSE };
  CertSpec client = { "system:admin (Berth test)", FALSE, NULL, NULL, 0, 0, TRUE };

  f->now = time (NULL);
  ca.from = client.from = f->now - HOUR;
  ca.to = client.to = f->now + 365 * DAY;
  make_identity (&f->ca, &ca, NULL);
  make_identity (&f->client, &client, &f->ca);
  f->credentials.server = g_strdup ("https://127.0.0.1:6443");
  f->credentials.ca_pem = crt_pem (f->ca.crt);
  f->credentials.client_cert = crt_pem (f->client.crt);
  f->credentials.client_key = key_pem (f->client.key);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  identity_clear (&f->ca);
  identity_clear (&f->client);
  g_free (f->credentials.server);
  g_free (f->credentials.ca_pem);
  g_free (f->credentials.client_cert);
  g_free (f->credentials.client_key);
}

/* Waits for readiness on @port; returns the error, or NULL when ready. */
static GError *
wait_ready (Fixture *f, guint port, guint timeout_seconds, GCancellable *cancellable)
{
  g_autoptr (GAsyncResult) result = NULL;
  GError *error = NULL;

  berth_k3s_wait_ready_async (port, &f->credentials, timeout_seconds, cancellable,
                              berth_test_store_result, &result);
  berth_test_wait_result (&result, timeout_seconds + 30);
  g_assert_nonnull (result);
  if (berth_k3s_wait_ready_finish (result, &error))
    g_assert_no_error (error);
  return error;
}

static void
assert_times_out_saying (GError *error, const gchar *what)
{
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_TIMED_OUT);
  if (strstr (error->message, what) == NULL)
    g_error ("\"%s\" does not say \"%s\"", error->message, what);
}

/* A server certificate for 127.0.0.1 from the cluster's CA, /readyz not
 * ready twice: ready on the third try, with the client certificate sent. */
static void
test_good (Fixture *f, gconstpointer data)
{
  CertSpec spec = { "k3s (Berth test)", FALSE,        "127.0.0.1", "kubernetes",
                    f->now - HOUR,      f->now + DAY, FALSE };
  Identity server_id = { 0 };
  Server server = { 0 };
  GError *error;

  make_identity (&server_id, &spec, &f->ca);
  server.not_ready_answers = 2;
  server_start (&server, &server_id);
  error = wait_ready (f, server.port, 60, NULL);
  g_assert_no_error (error);
  g_assert_cmpint (g_atomic_int_get (&server.requests), ==, 3);
  g_assert_cmpint (g_atomic_int_get (&server.client_certs), ==, 3);
  server_stop (&server);
  identity_clear (&server_id);
}

/* Certificates Berth must not accept, each named in the error. */
static void
test_refused_certificates (Fixture *f, gconstpointer data)
{
  Identity other_ca = { 0 };
  CertSpec other_ca_spec
      = { "another CA (Berth test)", TRUE, NULL, NULL, f->now - HOUR, f->now + DAY, FALSE };
  const struct
  {
    CertSpec spec;
    gboolean other_issuer;
    const gchar *message;
  } cases[] = {
    { { "k3s", FALSE, "10.43.0.1", "kubernetes", f->now - HOUR, f->now + DAY, FALSE },
      FALSE,
      "does not name 127.0.0.1" },
    { { "k3s", FALSE, "127.0.0.1", NULL, f->now + DAY, f->now + 2 * DAY, FALSE },
      FALSE,
      "not valid before" },
    { { "k3s", FALSE, "127.0.0.1", NULL, f->now - 2 * DAY, f->now - DAY, FALSE },
      FALSE,
      "expired" },
    { { "k3s", FALSE, "127.0.0.1", NULL, f->now - HOUR, f->now + DAY, FALSE },
      TRUE,
      "not signed by the cluster's CA" },
  };

  make_identity (&other_ca, &other_ca_spec, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Identity server_id = { 0 };
      Server server = { 0 };
      g_autoptr (GError) error = NULL;

      make_identity (&server_id, &cases[i].spec, cases[i].other_issuer ? &other_ca : &f->ca);
      server_start (&server, &server_id);
      error = wait_ready (f, server.port, 2, NULL);
      assert_times_out_saying (error, cases[i].message);
      /* It never got as far as asking /readyz. */
      g_assert_cmpint (g_atomic_int_get (&server.requests), ==, 0);
      server_stop (&server);
      identity_clear (&server_id);
    }
  identity_clear (&other_ca);
}

/* No server at all, and one that never becomes ready. */
static void
test_not_there (Fixture *f, gconstpointer data)
{
  CertSpec spec
      = { "k3s (Berth test)", FALSE, "127.0.0.1", NULL, f->now - HOUR, f->now + DAY, FALSE };
  Identity server_id = { 0 };
  Server server = { 0 };
  g_autoptr (GError) refused = NULL;
  g_autoptr (GError) not_ready = NULL;
  guint port;

  close (listen_any (&port));
  refused = wait_ready (f, port, 1, NULL);
  assert_times_out_saying (refused, "refused");
  g_assert_nonnull (strstr (refused->message, "https://127.0.0.1:"));

  make_identity (&server_id, &spec, &f->ca);
  server.never_ready = TRUE;
  server_start (&server, &server_id);
  not_ready = wait_ready (f, server.port, 2, NULL);
  assert_times_out_saying (not_ready, "/readyz answered 500");
  g_assert_cmpint (g_atomic_int_get (&server.requests), >=, 2);
  server_stop (&server);
  identity_clear (&server_id);
}

static gboolean
cancel_later (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

/* Cancelling ends the wait at once, with CANCELLED. */
static void
test_cancel (Fixture *f, gconstpointer data)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  gint64 started = g_get_monotonic_time ();
  guint port;

  close (listen_any (&port));
  g_timeout_add (300, cancel_later, cancellable);
  error = wait_ready (f, port, 120, cancellable);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - started, <, 60 * G_USEC_PER_SEC);
}

/* CA and client material that cannot be used is said so at once. */
static void
test_bad_credentials (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_free (f->credentials.ca_pem);
  f->credentials.ca_pem
      = g_strdup ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  error = wait_ready (f, 1, 60, NULL);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "CA certificate"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gnutls_global_init ();

#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/k3s/ready/good", test_good);
  ADD ("/k3s/ready/refused-certificates", test_refused_certificates);
  ADD ("/k3s/ready/not-there", test_not_there);
  ADD ("/k3s/ready/cancel", test_cancel);
  ADD ("/k3s/ready/bad-credentials", test_bad_credentials);
#undef ADD
  return g_test_run ();
}
