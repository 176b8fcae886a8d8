/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `k3s server` of the fake: its configuration as k3s reads it (flags, then
 * the config file's keys), the certificates, k3s.yaml, and a TLS listener
 * with a thread per connection. */
#include "fake-k3s.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define IDLE_SECONDS 120
#define HANDSHAKE_MS 10000
#define MAX_CONFIG_SIZE (64 * 1024)

/* ---- configuration ------------------------------------------------------------ */

static struct
{
  unsigned port;
  char *bind_address;
  char *data_dir;
  char *kubeconfig;
  unsigned kubeconfig_mode;
  char *node_name;
} config = { 6443, NULL, NULL, NULL, 0600, NULL };

static void
replace (char **slot, const char *value)
{
  free (*slot);
  *slot = strdup (value);
}

static void
set_option (const char *key, const char *value)
{
  if (strcmp (key, "https-listen-port") == 0)
    {
      char *end = NULL;
      unsigned long port = strtoul (value, &end, 10);

      if (end == value || *end != '\0' || port < 1 || port > 65535)
        fake_die ("https-listen-port: %s is no port (1-65535)", value);
      config.port = (unsigned)port;
    }
  else if (strcmp (key, "write-kubeconfig-mode") == 0)
    {
      char *end = NULL;
      unsigned long mode = strtoul (value, &end, 8);

      if (end == value || *end != '\0' || mode > 0777)
        fake_die ("write-kubeconfig-mode: %s is no file mode (such as 0644)", value);
      config.kubeconfig_mode = (unsigned)mode;
    }
  else if (strcmp (key, "write-kubeconfig") == 0)
    replace (&config.kubeconfig, value);
  else if (strcmp (key, "data-dir") == 0)
    replace (&config.data_dir, value);
  else if (strcmp (key, "node-name") == 0)
    replace (&config.node_name, value);
  else if (strcmp (key, "bind-address") == 0)
    replace (&config.bind_address, value);
  else
    fake_log ("%s: noted, but this fake has nothing to do with it", key);
}

bool
fake_config_read (const char *path, void (*set) (const char *key, const char *value))
{
  size_t len = 0;
  char *text = fake_read_file (path, MAX_CONFIG_SIZE, &len);
  char *save = NULL;

  if (text == NULL)
    {
      fake_log ("cannot read the configuration %s: %s", path, strerror (errno));
      return false;
    }
  if (memchr (text, '\0', len) != NULL)
    {
      fake_log ("the configuration %s holds a NUL byte", path);
      free (text);
      return false;
    }
  for (char *line = strtok_r (text, "\n", &save); line != NULL; line = strtok_r (NULL, "\n", &save))
    {
      char *colon, *value, *end;

      /* Comments, list items and nested keys are passed over. */
      if (line[0] == '#' || line[0] == ' ' || line[0] == '\t' || line[0] == '-')
        continue;
      colon = strstr (line, ": ");
      if (colon == NULL)
        continue;
      *colon = '\0';
      value = colon + 2;
      while (*value == ' ')
        value++;
      end = value + strlen (value);
      while (end > value && (end[-1] == ' ' || end[-1] == '\r'))
        *--end = '\0';
      if (end - value >= 2
          && ((value[0] == '"' && end[-1] == '"') || (value[0] == '\'' && end[-1] == '\'')))
        {
          end[-1] = '\0';
          value++;
        }
      set (line, value);
    }
  free (text);
  return true;
}

/* ---- connections ---------------------------------------------------------------- */

struct FakeConnection
{
  int fd;
  gnutls_session_t session;
};

static gnutls_certificate_credentials_t credentials;
static FakeCluster cluster;

bool
fake_connection_write (FakeConnection *c, const char *data, size_t len)
{
  while (len > 0)
    {
      ssize_t n = gnutls_record_send (c->session, data, len);

      if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
        continue;
      if (n <= 0)
        return false;
      data += n;
      len -= (size_t)n;
    }
  return true;
}

bool
fake_connection_alive (FakeConnection *c, int ms)
{
  struct pollfd fds = { c->fd, POLLIN, 0 };
  char scratch[1024];
  ssize_t n;

  if (gnutls_record_check_pending (c->session) == 0 && poll (&fds, 1, ms) <= 0)
    return true;
  /* The client sent something while watching: a close, or more. */
  n = gnutls_record_recv (c->session, scratch, sizeof scratch);
  return n > 0 || n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED;
}

/* Reads until a request's head is in @buf; false when the client closed. */
static bool
read_head (FakeConnection *c, FakeBuf *buf, size_t *head_len)
{
  for (;;)
    {
      char chunk[4096];
      char *end = buf->len > 0 ? strstr (buf->data, "\r\n\r\n") : NULL;
      ssize_t n;

      if (end != NULL)
        {
          *head_len = (size_t)(end - buf->data) + 4;
          return true;
        }
      if (buf->len > FAKE_HTTP_MAX_HEAD)
        {
          *head_len = buf->len;
          return true; /* refused by the parser */
        }
      n = gnutls_record_recv (c->session, chunk, sizeof chunk);
      if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
        continue;
      if (n <= 0)
        return false;
      if (memchr (chunk, '\0', (size_t)n) != NULL)
        return false;
      fake_buf_append (buf, chunk, (size_t)n);
    }
}

/* Drops @len bytes of body, from @buf first and then the connection. */
static bool
skip_body (FakeConnection *c, FakeBuf *buf, size_t len)
{
  size_t from_buf = len < buf->len ? len : buf->len;

  memmove (buf->data, buf->data + from_buf, buf->len - from_buf + 1);
  buf->len -= from_buf;
  len -= from_buf;
  while (len > 0)
    {
      char chunk[4096];
      ssize_t n = gnutls_record_recv (c->session, chunk, len < sizeof chunk ? len : sizeof chunk);

      if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
        continue;
      if (n <= 0)
        return false;
      len -= (size_t)n;
    }
  return true;
}

static bool
peer_is_admin (gnutls_session_t session)
{
  unsigned status = 0;

  if (gnutls_certificate_get_peers (session, NULL) == NULL)
    return false;
  return gnutls_certificate_verify_peers2 (session, &status) == 0 && status == 0;
}

static void
refuse (FakeConnection *c, int status)
{
  char text[256];
  int n = snprintf (text, sizeof text,
                    "HTTP/1.1 %d Bad Request\r\nContent-Type: text/plain\r\n"
                    "Content-Length: 41\r\nConnection: close\r\n\r\n"
                    "fake k3s: this request could not be read",
                    status);

  fake_connection_write (c, text, (size_t)n);
}

static void *
serve (void *data)
{
  FakeConnection c = { (int)(intptr_t)data, NULL };
  struct timeval idle = { IDLE_SECONDS, 0 };
  FakeBuf buf;
  bool admin;
  int ret;

  setsockopt (c.fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
  if (gnutls_init (&c.session, GNUTLS_SERVER) < 0)
    {
      close (c.fd);
      return NULL;
    }
  gnutls_set_default_priority (c.session);
  gnutls_credentials_set (c.session, GNUTLS_CRD_CERTIFICATE, credentials);
  gnutls_certificate_server_set_request (c.session, GNUTLS_CERT_REQUEST);
  gnutls_transport_set_int (c.session, c.fd);
  gnutls_handshake_set_timeout (c.session, HANDSHAKE_MS);
  do
    ret = gnutls_handshake (c.session);
  while (ret < 0 && !gnutls_error_is_fatal (ret));
  if (ret < 0)
    {
      gnutls_deinit (c.session);
      close (c.fd);
      return NULL;
    }
  admin = peer_is_admin (c.session);
  fake_buf_init (&buf);
  fake_buf_append (&buf, "", 0);
  for (;;)
    {
      FakeRequest request;
      size_t head_len = 0;
      int status;

      if (!read_head (&c, &buf, &head_len))
        break;
      status = fake_http_parse_head (buf.data, head_len, &request);
      if (status != 0)
        {
          refuse (&c, status);
          break;
        }
      memmove (buf.data, buf.data + head_len, buf.len - head_len + 1);
      buf.len -= head_len;
      if (!skip_body (&c, &buf, request.content_length))
        break;
      if (!fake_api_answer (&c, &request, admin, &cluster))
        break;
    }
  fake_buf_free (&buf);
  gnutls_bye (c.session, GNUTLS_SHUT_WR);
  gnutls_deinit (c.session);
  close (c.fd);
  return NULL;
}

/* ---- main ------------------------------------------------------------------------- */

static void
on_term (int signo)
{
  static const char message[] = "fake k3s: stopping on a signal\n";

  (void)!write (2, message, sizeof message - 1);
  _exit (0);
}

static const char usage[]
    = "usage: k3s server [--config FILE] [--https-listen-port PORT] [--data-dir DIR]\n"
      "                  [--write-kubeconfig FILE] [--write-kubeconfig-mode MODE]\n"
      "                  [--node-name NAME] [--bind-address ADDRESS] [other k3s flags]\n"
      "(a fake k3s for Berth's tests: it serves a small part of the Kubernetes API)\n";

int
fake_server_main (int argc, char **argv)
{
  const char *config_file = NULL;
  char *tls_dir = NULL;
  char *services_file = NULL;
  char hostname[256];
  FakeCerts certs;
  FakeBuf yaml;
  struct sockaddr_in address = { 0 };
  int listener;
  int one = 1;
  gnutls_datum_t cert_datum, key_datum, ca_datum;

  /* --config first: flags given beside it win over its keys. */
  for (int i = 1; i < argc; i++)
    if ((strcmp (argv[i], "--config") == 0 || strcmp (argv[i], "-c") == 0) && i + 1 < argc)
      config_file = argv[i + 1];
  if (config_file != NULL && !fake_config_read (config_file, set_option))
    return 1;
  for (int i = 1; i < argc; i++)
    {
      const char *arg = argv[i];

      if (strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0)
        {
          fputs (usage, stdout);
          return 0;
        }
      if (strcmp (arg, "--config") == 0 || strcmp (arg, "-c") == 0)
        {
          i++;
          continue;
        }
      if (strncmp (arg, "--", 2) != 0)
        fake_die ("unexpected argument \"%s\"\n%s", arg, usage);
      {
        const char *eq = strchr (arg, '=');
        char key[64];
        const char *value;

        snprintf (key, sizeof key, "%.*s",
                  (int)(eq != NULL ? eq - arg - 2 : (long)strlen (arg) - 2), arg + 2);
        if (eq != NULL)
          value = eq + 1;
        else if (i + 1 < argc && strncmp (argv[i + 1], "--", 2) != 0)
          value = argv[++i];
        else
          value = "true";
        set_option (key, value);
      }
    }
  if (config.data_dir == NULL)
    config.data_dir = fake_root_path ("/var/lib/rancher/k3s");
  if (config.kubeconfig == NULL)
    config.kubeconfig = fake_root_path ("/etc/rancher/k3s/k3s.yaml");
  if (config.bind_address == NULL)
    {
      const char *from_env = getenv ("BERTH_FAKE_K3S_BIND_ADDRESS");

      config.bind_address = strdup (from_env != NULL && from_env[0] != '\0' ? from_env : "0.0.0.0");
    }
  if (config.node_name == NULL)
    {
      if (gethostname (hostname, sizeof hostname) != 0)
        snprintf (hostname, sizeof hostname, "fake-k3s");
      hostname[sizeof hostname - 1] = '\0';
      config.node_name = strdup (hostname);
    }

  signal (SIGPIPE, SIG_IGN);
  signal (SIGTERM, on_term);
  signal (SIGINT, on_term);
  cluster.node_name = config.node_name;
  cluster.version = fake_version ();
  cluster.started = time (NULL);
  cluster.address = calloc (1, 16);
  fake_primary_address (cluster.address);
  fake_log ("k3s server %s starting (a fake: it runs no containers); API on %s:%u, node %s",
            cluster.version, config.bind_address, config.port, cluster.node_name);

  {
    FakeBuf path;

    fake_buf_init (&path);
    fake_buf_printf (&path, "%s/server/tls", config.data_dir);
    tls_dir = path.data;
    fake_buf_init (&path);
    fake_buf_printf (&path, "%s/fake-services", config.data_dir);
    services_file = path.data;
  }
  fake_certs_setup (&certs, tls_dir, cluster.address);
  fake_services_start (services_file);

  if (gnutls_certificate_allocate_credentials (&credentials) < 0)
    fake_die ("cannot allocate TLS credentials");
  cert_datum = (gnutls_datum_t){ (unsigned char *)certs.server_cert,
                                 (unsigned)strlen (certs.server_cert) };
  key_datum
      = (gnutls_datum_t){ (unsigned char *)certs.server_key, (unsigned)strlen (certs.server_key) };
  ca_datum = (gnutls_datum_t){ (unsigned char *)certs.ca_cert, (unsigned)strlen (certs.ca_cert) };
  if (gnutls_certificate_set_x509_key_mem (credentials, &cert_datum, &key_datum,
                                           GNUTLS_X509_FMT_PEM)
          < 0
      || gnutls_certificate_set_x509_trust_mem (credentials, &ca_datum, GNUTLS_X509_FMT_PEM) <= 0)
    fake_die ("cannot use the certificates made in %s", tls_dir);

  listener = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0)
    fake_die ("cannot make a socket: %s", strerror (errno));
  setsockopt (listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  address.sin_family = AF_INET;
  address.sin_port = htons ((uint16_t)config.port);
  if (inet_pton (AF_INET, config.bind_address, &address.sin_addr) != 1)
    fake_die ("bind-address: %s is no IPv4 address", config.bind_address);
  if (bind (listener, (struct sockaddr *)&address, sizeof address) != 0
      || listen (listener, 64) != 0)
    fake_die ("cannot listen on %s:%u: %s", config.bind_address, config.port, strerror (errno));

  /* Once it listens, as k3s writes it once its API server is up. */
  fake_buf_init (&yaml);
  fake_k3s_yaml (&yaml, &certs, config.port);
  {
    char *dir = strdup (config.kubeconfig);
    char *slash = strrchr (dir, '/');

    if (slash != NULL && slash != dir)
      {
        *slash = '\0';
        fake_mkdir_p (dir, 0755);
      }
    free (dir);
  }
  if (!fake_write_file (config.kubeconfig, yaml.data, yaml.len, config.kubeconfig_mode))
    fake_die ("cannot write %s: %s", config.kubeconfig, strerror (errno));
  fake_buf_free (&yaml);
  fake_log ("wrote %s; the fake API server answers", config.kubeconfig);

  for (;;)
    {
      int fd = accept4 (listener, NULL, NULL, SOCK_CLOEXEC);
      pthread_t thread;

      if (fd < 0)
        {
          if (errno != EINTR && errno != ECONNABORTED)
            fake_log ("accept: %s", strerror (errno));
          continue;
        }
      if (pthread_create (&thread, NULL, serve, (void *)(intptr_t)fd) != 0)
        {
          close (fd);
          continue;
        }
      pthread_detach (thread);
    }
}
