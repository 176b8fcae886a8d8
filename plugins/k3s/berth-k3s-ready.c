/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Berth — waiting for the Kubernetes API server, as Rancher Desktop's
 * waitForServerReady does: the TLS handshake must succeed with a certificate
 * that the cluster's CA signed, that names the address we dial and that is
 * valid now (k3s rewrites its certificate when the address changes, so an old
 * one is waited out, not trusted), then /readyz must answer 200.
 *
 * The attempts are blocking socket calls in a worker thread, each bounded by
 * socket timeouts; the thread checks the cancellable between them. */

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "berth-error.h"
#include "berth-k3s-ready.h"

#define ADDRESS "127.0.0.1"
#define IO_TIMEOUT_SECONDS 5
#define RETRY_MS 500
#define MAX_RESPONSE_HEAD 8192

typedef struct
{
  guint port;
  guint timeout_seconds;
  gchar *ca_pem;
  gchar *client_cert;
  gchar *client_key;
} ReadyData;

static void
ready_data_free (ReadyData *data)
{
  g_free (data->ca_pem);
  g_free (data->client_cert);
  if (data->client_key != NULL)
    explicit_bzero (data->client_key, strlen (data->client_key));
  g_free (data->client_key);
  g_free (data);
}

G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_certificate_credentials_t,
                                 gnutls_certificate_free_credentials, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_session_t, gnutls_deinit, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_x509_crt_t, gnutls_x509_crt_deinit, NULL)

static void
close_fd (gint *fd)
{
  if (*fd >= 0)
    close (*fd);
}

static gchar *
format_time (time_t t)
{
  g_autoptr (GDateTime) when = g_date_time_new_from_unix_utc (t);

  return when != NULL ? g_date_time_format (when, "%Y-%m-%d %H:%M:%S UTC") : g_strdup ("?");
}

/* Why the server's certificate was not accepted, in a person's words. */
static gchar *
describe_verify_failure (gnutls_session_t session, guint status)
{
  const gnutls_datum_t *peers;
  g_auto (gnutls_x509_crt_t) crt = NULL;
  unsigned int n_peers = 0;
  gnutls_datum_t printed = { NULL, 0 };
  g_autofree gchar *text = NULL;

  peers = gnutls_certificate_get_peers (session, &n_peers);
  if (peers != NULL && n_peers > 0 && gnutls_x509_crt_init (&crt) == 0
      && gnutls_x509_crt_import (crt, &peers[0], GNUTLS_X509_FMT_DER) != 0)
    g_clear_pointer (&crt, gnutls_x509_crt_deinit);

  if (status & GNUTLS_CERT_NOT_ACTIVATED)
    {
      g_autofree gchar *when = crt != NULL ? format_time (gnutls_x509_crt_get_activation_time (crt))
                                           : g_strdup ("a later time");

      return g_strdup_printf ("its certificate is not valid before %s (check the clocks of the "
                              "host and the VM)",
                              when);
    }
  if (status & GNUTLS_CERT_EXPIRED)
    {
      g_autofree gchar *when = crt != NULL ? format_time (gnutls_x509_crt_get_expiration_time (crt))
                                           : g_strdup ("an earlier time");

      return g_strdup_printf ("its certificate expired at %s", when);
    }
  if (status & GNUTLS_CERT_UNEXPECTED_OWNER)
    return g_strdup ("its certificate does not name " ADDRESS
                     " (k3s has not yet rewritten it for this address)");
  if (status & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA))
    return g_strdup ("its certificate is not signed by the cluster's CA from k3s.yaml");
  if (gnutls_certificate_verification_status_print (status, GNUTLS_CRT_X509, &printed, 0) == 0)
    {
      text = g_strdup_printf ("its certificate was refused: %s", (const gchar *)printed.data);
      gnutls_free (printed.data);
      return g_steal_pointer (&text);
    }
  return g_strdup ("its certificate was refused");
}

static gboolean
send_all (gnutls_session_t session, const gchar *data, gsize length)
{
  while (length > 0)
    {
      ssize_t n = gnutls_record_send (session, data, length);

      if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      length -= (gsize)n;
    }
  return TRUE;
}

/* One try. TRUE when /readyz said 200; otherwise *why says what failed. */
static gboolean
attempt (ReadyData *data, gnutls_certificate_credentials_t credentials, gchar **why)
{
  g_auto (gnutls_session_t) session = NULL;
  g_autofree gchar *request = NULL;
  gchar head[MAX_RESPONSE_HEAD + 1];
  struct sockaddr_in addr = { 0 };
  struct timeval tv = { IO_TIMEOUT_SECONDS, 0 };
  __attribute__ ((cleanup (close_fd))) gint fd = -1;
  gsize got = 0;
  guint status_code = 0;
  gint ret;

  fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    {
      *why = g_strdup_printf ("cannot make a socket: %s", g_strerror (errno));
      return FALSE;
    }
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  addr.sin_family = AF_INET;
  addr.sin_port = g_htons ((guint16)data->port);
  addr.sin_addr.s_addr = g_htonl (INADDR_LOOPBACK);
  if (connect (fd, (struct sockaddr *)&addr, sizeof addr) != 0)
    {
      *why = g_strdup_printf ("connecting: %s", g_strerror (errno));
      return FALSE;
    }

  if (gnutls_init (&session, GNUTLS_CLIENT) != 0 || gnutls_set_default_priority (session) != 0
      || gnutls_credentials_set (session, GNUTLS_CRD_CERTIFICATE, credentials) != 0)
    {
      *why = g_strdup ("cannot set up a TLS session");
      return FALSE;
    }
  gnutls_session_set_verify_cert (session, ADDRESS, 0);
  gnutls_transport_set_int (session, fd);
  gnutls_handshake_set_timeout (session, IO_TIMEOUT_SECONDS * 1000);
  do
    ret = gnutls_handshake (session);
  while (ret < 0 && !gnutls_error_is_fatal (ret));
  if (ret == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR)
    {
      *why = describe_verify_failure (session, gnutls_session_get_verify_cert_status (session));
      return FALSE;
    }
  if (ret < 0)
    {
      *why = g_strdup_printf ("TLS handshake: %s", gnutls_strerror (ret));
      return FALSE;
    }

  request = g_strdup_printf ("GET /readyz HTTP/1.1\r\nHost: " ADDRESS ":%u\r\n"
                             "User-Agent: berth\r\nAccept: */*\r\nConnection: close\r\n\r\n",
                             data->port);
  if (!send_all (session, request, strlen (request)))
    {
      *why = g_strdup ("the connection closed while asking /readyz");
      return FALSE;
    }
  while (got < MAX_RESPONSE_HEAD && memchr (head, '\n', got) == NULL)
    {
      ssize_t n = gnutls_record_recv (session, head + got, MAX_RESPONSE_HEAD - got);

      if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
        continue;
      if (n <= 0)
        break;
      got += (gsize)n;
    }
  head[got] = '\0';
  if (sscanf (head, "HTTP/1.%*1[01] %3u", &status_code) != 1)
    {
      *why = g_strdup ("/readyz gave no HTTP answer");
      return FALSE;
    }
  gnutls_bye (session, GNUTLS_SHUT_WR);
  if (status_code != 200)
    {
      *why = g_strdup_printf ("/readyz answered %u", status_code);
      return FALSE;
    }
  return TRUE;
}

/* Sleeps @ms, waking early when @cancellable fires. */
static void
pause_cancellable (guint ms, GCancellable *cancellable)
{
  for (guint slept = 0; slept < ms && !g_cancellable_is_cancelled (cancellable); slept += 50)
    g_usleep (50 * 1000);
}

static void
ready_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  ReadyData *data = task_data;
  g_auto (gnutls_certificate_credentials_t) credentials = NULL;
  gnutls_datum_t ca = { (guchar *)data->ca_pem, (guint)strlen (data->ca_pem) };
  gnutls_datum_t cert = { (guchar *)data->client_cert, (guint)strlen (data->client_cert) };
  gnutls_datum_t key = { (guchar *)data->client_key, (guint)strlen (data->client_key) };
  gint64 deadline = g_get_monotonic_time () + (gint64)data->timeout_seconds * G_USEC_PER_SEC;
  g_autofree gchar *why = NULL;
  gint ret;

  if (gnutls_certificate_allocate_credentials (&credentials) != 0)
    {
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_FAILED, "Out of memory");
      return;
    }
  ret = gnutls_certificate_set_x509_trust_mem (credentials, &ca, GNUTLS_X509_FMT_PEM);
  if (ret <= 0)
    {
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                               "The cluster's CA certificate from k3s.yaml cannot be used: %s",
                               ret < 0 ? gnutls_strerror (ret) : "it holds no certificate");
      return;
    }
  ret = gnutls_certificate_set_x509_key_mem (credentials, &cert, &key, GNUTLS_X509_FMT_PEM);
  if (ret < 0)
    {
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                               "The client certificate and key from k3s.yaml cannot be used: %s",
                               gnutls_strerror (ret));
      return;
    }

  for (;;)
    {
      g_autofree gchar *this_try = NULL;

      if (g_cancellable_set_error_if_cancelled (cancellable, NULL))
        {
          g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_CANCELLED,
                                   "Waiting for the Kubernetes API server was cancelled");
          return;
        }
      if (attempt (data, credentials, &this_try))
        {
          g_task_return_boolean (task, TRUE);
          return;
        }
      if (g_strcmp0 (why, this_try) != 0)
        g_debug ("Kubernetes API server on " ADDRESS ":%u: %s", data->port, this_try);
      g_free (why);
      why = g_steal_pointer (&this_try);
      if (g_get_monotonic_time () >= deadline)
        break;
      pause_cancellable (RETRY_MS, cancellable);
    }
  g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_TIMED_OUT,
                           "The Kubernetes API server on https://" ADDRESS
                           ":%u was not ready after %u s: %s",
                           data->port, data->timeout_seconds, why);
}

void
berth_k3s_wait_ready_async (guint port, BerthK3sCredentials *credentials, guint timeout_seconds,
                            GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  ReadyData *data;

  g_return_if_fail (port > 0 && port <= 65535);
  g_return_if_fail (credentials != NULL);
  g_task_set_source_tag (task, berth_k3s_wait_ready_async);
  /* Cancellation is reported by the thread, as BERTH_ERROR_CANCELLED. */
  g_task_set_check_cancellable (task, FALSE);
  data = g_new0 (ReadyData, 1);
  data->port = port;
  data->timeout_seconds = timeout_seconds;
  data->ca_pem = g_strdup (credentials->ca_pem != NULL ? credentials->ca_pem : "");
  data->client_cert = g_strdup (credentials->client_cert != NULL ? credentials->client_cert : "");
  data->client_key = g_strdup (credentials->client_key != NULL ? credentials->client_key : "");
  g_task_set_task_data (task, data, (GDestroyNotify)ready_data_free);
  g_task_run_in_thread (task, ready_thread);
}

gboolean
berth_k3s_wait_ready_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
