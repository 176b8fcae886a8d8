/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* A FAKE k3s for Berth's tests: one program that the plugin installs as it
 * would install the real k3s, with libc and GnuTLS only, so that it runs in
 * Berth's guest (which has no GLib) as well as on the host. Everything it
 * prints says it is a fake. */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define FAKE_K3S_DEFAULT_VERSION "v0.0.0+fake"

/* ---- small helpers (fake-k3s-util.c) -------------------------------------- */

typedef struct
{
  char *data;
  size_t len;
  size_t cap;
} FakeBuf;

void
fake_buf_init (FakeBuf *buf);
void
fake_buf_free (FakeBuf *buf);
void
fake_buf_append (FakeBuf *buf, const char *data, size_t len);
void
fake_buf_puts (FakeBuf *buf, const char *text);
void
fake_buf_printf (FakeBuf *buf, const char *format, ...) __attribute__ ((format (printf, 2, 3)));
/* @text as a JSON string, quotes included. */
void
fake_buf_json_string (FakeBuf *buf, const char *text);
/* Standard base64 of @len bytes. */
void
fake_buf_base64 (FakeBuf *buf, const unsigned char *data, size_t len);

/* Messages on stderr, each line starting "fake k3s: ". */
void
fake_log (const char *format, ...) __attribute__ ((format (printf, 1, 2)));
/* Logs and exits with status 1. */
void
fake_die (const char *format, ...) __attribute__ ((format (printf, 1, 2), noreturn));

/* A path under the fake's root: BERTH_FAKE_K3S_ROOT (tests on the host put
 * the fake's files in a scratch directory), else "/" as in the guest.
 * Returns a new string. */
char *
fake_root_path (const char *absolute);
/* The whole file, NUL-terminated, or NULL (errno set); at most @max bytes. */
char *
fake_read_file (const char *path, size_t max, size_t *len_out);
/* Writes through a temporary name and a rename, with @mode; false on failure. */
bool
fake_write_file (const char *path, const char *data, size_t len, unsigned mode);
/* mkdir -p */
bool
fake_mkdir_p (const char *path, unsigned mode);
/* RFC 3339 in UTC. */
void
fake_format_time (time_t when, char out[32]);
/* "5m", "2h", "3d", as kubectl shows an age. */
void
fake_format_age (time_t since, char out[16]);
/* The k3s version the fake plays: the plugin's persisted version file in
 * the root when there is one, else FAKE_K3S_DEFAULT_VERSION. */
char *
fake_version (void);
/* The first IPv4 address that is not loopback, dotted, or "" when none. */
void
fake_primary_address (char out[16]);

/* ---- the services of the fake cluster (fake-k3s-services.c) ---------------- */

/* A service as the fake keeps it. */
typedef struct
{
  char *namespace_;
  char *name;
  char *type;       /* ClusterIP, NodePort, LoadBalancer */
  char *cluster_ip; /* assigned by the fake */
  size_t n_ports;
  struct
  {
    char name[64]; /* "" when unnamed */
    unsigned port;
    char protocol[8];   /* TCP, UDP, SCTP */
    unsigned node_port; /* 0 for ClusterIP */
  } ports[16];
  time_t created;
  unsigned long uid;
  unsigned long resource_version;
} FakeService;

/* Reads the services file: a line per service, '#' comments and blank
 * lines skipped,
 *     NAMESPACE NAME TYPE PORT[/PROTOCOL][:PORTNAME]...
 * e.g. "default web ClusterIP 80:http 8443/TCP:https". A line that does
 * not read is skipped with a message naming it (@what names the file).
 * Returns how many services were read into @out (at most @max). */
size_t
fake_services_parse (const char *text, size_t len, const char *what, FakeService *out, size_t max);
void
fake_service_clear (FakeService *service);

/* The server side: the services file is watched, and changes become
 * ADDED, MODIFIED and DELETED events with rising resource versions. */
void
fake_services_start (const char *path);
/* The resource version of the newest change. */
unsigned long
fake_services_resource_version (void);
/* A ServiceList (or, @table, a meta.k8s.io/v1 Table), of @namespace_ only
 * when it is not NULL. */
void
fake_services_list_json (FakeBuf *out, const char *namespace_, bool table);
/* An ADDED event for each service there is now, as a watch from no
 * resource version starts; returns the current resource version. */
unsigned long
fake_services_current_events (FakeBuf *out, const char *namespace_);
/* One service as JSON; false when there is no such service. */
bool
fake_services_get_json (FakeBuf *out, const char *namespace_, const char *name);
/* The events after @after_version, each one JSON line, of @namespace_ only
 * when it is not NULL; returns the version of the last event written (or
 * @after_version). *@too_old is set when events that old are no longer kept. */
unsigned long
fake_services_events_since (FakeBuf *out, const char *namespace_, unsigned long after_version,
                            bool *too_old);
/* A service of the file or the cluster's own ("default/kubernetes"), read
 * now; false when there is none. */
bool
fake_services_lookup (const char *services_path, const char *namespace_, const char *name,
                      FakeService *out);

/* ---- certificates and k3s.yaml (fake-k3s-certs.c) -------------------------- */

/* PEM text of the cluster's CA, the server's certificate and key, and the
 * admin's client certificate and key. */
typedef struct
{
  char *ca_cert;
  char *ca_key;
  char *server_cert;
  char *server_key;
  char *client_cert;
  char *client_key;
} FakeCerts;

/* Loads the CA and the admin's certificate from @tls_dir, or makes them
 * (ECDSA P-256) the first time, as k3s keeps its CA across restarts; makes
 * a fresh server certificate for 127.0.0.1, localhost, kubernetes and
 * @address (when not ""). Dies on failure. */
void
fake_certs_setup (FakeCerts *certs, const char *tls_dir, const char *address);
/* k3s.yaml as k3s writes it: cluster, user and context "default". */
void
fake_k3s_yaml (FakeBuf *out, const FakeCerts *certs, unsigned port);

/* ---- HTTP requests (fake-k3s-http.c) --------------------------------------- */

#define FAKE_HTTP_MAX_HEAD (16 * 1024)

typedef struct
{
  char method[16];
  char path[1024];  /* without the query */
  char query[1024]; /* after '?', or "" */
  char accept[1024];
  size_t content_length;
  bool close; /* "Connection: close", or HTTP/1.0 without keep-alive */
} FakeRequest;

/* Reads a request's head (request line and headers, up to and including
 * the empty line). Returns 0, or the HTTP status to refuse it with: 400
 * for what is not HTTP/1.x, 414 for a target too long, 413 for a body too
 * large, 501 for chunked bodies. */
int
fake_http_parse_head (const char *head, size_t len, FakeRequest *request);
/* The value of @name in a query string, percent-decoded, into @out; false
 * when it is not there or does not fit. */
bool
fake_http_query_get (const char *query, const char *name, char *out, size_t size);

/* ---- the API server (fake-k3s-server.c, fake-k3s-api.c) --------------------- */

/* k3s's configuration file: "key: value" lines at the top level (the flags'
 * names without "--"); lists and nested keys are passed over. Calls @set
 * for each key; returns false (with a message) when the file cannot be read. */
bool
fake_config_read (const char *path, void (*set) (const char *key, const char *value));

typedef struct
{
  char *node_name;
  char *address;
  char *version;
  time_t started;
} FakeCluster;

/* Answers one request; returns false when the connection must close. A
 * watch is answered here too, and streams until the client goes or
 * timeoutSeconds pass. */
typedef struct FakeConnection FakeConnection;
bool
fake_api_answer (FakeConnection *connection, const FakeRequest *request, bool authenticated,
                 const FakeCluster *cluster);
/* What fake_api_answer writes with. */
bool
fake_connection_write (FakeConnection *connection, const char *data, size_t len);
/* Waits up to @ms for the client to send or close; false when it closed. */
bool
fake_connection_alive (FakeConnection *connection, int ms);

int
fake_server_main (int argc, char **argv);

/* ---- the tools k3s bundles (fake-k3s-tools.c) ------------------------------ */

int
fake_kubectl_main (int argc, char **argv);
int
fake_crictl_main (int argc, char **argv, const char *tool);
