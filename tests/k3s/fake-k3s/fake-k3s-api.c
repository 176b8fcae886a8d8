/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The part of the Kubernetes API the fake k3s answers: health and version
 * for anyone, and for the cluster's admin (the client certificate of
 * k3s.yaml) discovery (/api, /apis, /api/v1), its one node, its namespaces
 * and its services, as lists, as the Tables kubectl asks for, and as a
 * watch. Everything else is a 404 that says it is a fake. */
#include "fake-k3s.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

static const char *const namespaces[]
    = { "default", "kube-system", "kube-public", "kube-node-lease", NULL };

static bool
respond (FakeConnection *c, const FakeRequest *request, int status, const char *reason,
         const char *content_type, const FakeBuf *body)
{
  FakeBuf head;
  bool ok;

  fake_buf_init (&head);
  fake_buf_printf (&head,
                   "HTTP/1.1 %d %s\r\n"
                   "Content-Type: %s\r\n"
                   "Content-Length: %zu\r\n"
                   "Cache-Control: no-cache, private\r\n"
                   "X-Fake-K3s: this API server is a fake, for Berth's tests\r\n"
                   "%s"
                   "\r\n",
                   status, reason, content_type, body->len,
                   request->close ? "Connection: close\r\n" : "");
  ok = fake_connection_write (c, head.data, head.len)
       && (strcmp (request->method, "HEAD") == 0
           || fake_connection_write (c, body->data, body->len));
  fake_buf_free (&head);
  return ok && !request->close;
}

static bool
respond_json (FakeConnection *c, const FakeRequest *request, FakeBuf *body)
{
  bool ok = respond (c, request, 200, "OK", "application/json", body);

  fake_buf_free (body);
  return ok;
}

static bool
respond_status (FakeConnection *c, const FakeRequest *request, int code, const char *reason,
                const char *message)
{
  FakeBuf body;
  bool ok;

  fake_buf_init (&body);
  fake_buf_puts (&body, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                        "\"status\":\"Failure\",\"message\":");
  fake_buf_json_string (&body, message);
  fake_buf_printf (&body, ",\"reason\":\"%s\",\"code\":%d}", reason, code);
  ok = respond (c, request, code, reason, "application/json", &body);
  fake_buf_free (&body);
  return ok;
}

static bool
wants_table (const FakeRequest *request)
{
  return strstr (request->accept, "as=Table") != NULL;
}

/* ---- the node ------------------------------------------------------------------ */

static void
node_json (FakeBuf *out, const FakeCluster *cluster)
{
  struct utsname uts;
  char created[32];
  char now[32];

  uname (&uts);
  fake_format_time (cluster->started, created);
  fake_format_time (time (NULL), now);
  fake_buf_puts (out, "{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":");
  fake_buf_json_string (out, cluster->node_name);
  fake_buf_printf (out,
                   ",\"uid\":\"fake-node-1\",\"resourceVersion\":\"1\","
                   "\"creationTimestamp\":\"%s\",\"labels\":{\"kubernetes.io/hostname\":",
                   created);
  fake_buf_json_string (out, cluster->node_name);
  fake_buf_printf (out,
                   ",\"kubernetes.io/os\":\"linux\",\"node-role.kubernetes.io/control-plane\":"
                   "\"true\",\"node-role.kubernetes.io/master\":\"true\","
                   "\"berth.fake/k3s\":\"true\"}},"
                   "\"spec\":{\"podCIDR\":\"10.42.0.0/24\"},"
                   "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
                   "\"lastHeartbeatTime\":\"%s\",\"lastTransitionTime\":\"%s\","
                   "\"reason\":\"KubeletReady\",\"message\":\"fake k3s: this node is a fake "
                   "and runs nothing\"}],\"addresses\":[",
                   now, created);
  if (cluster->address[0] != '\0')
    fake_buf_printf (out, "{\"type\":\"InternalIP\",\"address\":\"%s\"},", cluster->address);
  fake_buf_puts (out, "{\"type\":\"Hostname\",\"address\":");
  fake_buf_json_string (out, cluster->node_name);
  fake_buf_puts (out, "}],\"nodeInfo\":{\"kernelVersion\":");
  fake_buf_json_string (out, uts.release);
  fake_buf_puts (out, ",\"osImage\":\"fake k3s (not Kubernetes)\","
                      "\"containerRuntimeVersion\":\"fake://0\",\"kubeletVersion\":");
  fake_buf_json_string (out, cluster->version);
  fake_buf_puts (out, ",\"kubeProxyVersion\":");
  fake_buf_json_string (out, cluster->version);
  fake_buf_printf (out, ",\"operatingSystem\":\"linux\",\"architecture\":\"%s\"}}}",
                   strcmp (uts.machine, "aarch64") == 0 ? "arm64" : "amd64");
}

static void
node_table (FakeBuf *out, const FakeCluster *cluster)
{
  struct utsname uts;
  char age[16];
  char created[32];

  uname (&uts);
  fake_format_age (cluster->started, age);
  fake_format_time (cluster->started, created);
  fake_buf_puts (out,
                 "{\"kind\":\"Table\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":"
                 "{\"resourceVersion\":\"1\"},\"columnDefinitions\":["
                 "{\"name\":\"Name\",\"type\":\"string\",\"format\":\"name\",\"description\":"
                 "\"Name of the node (fake k3s)\",\"priority\":0},"
                 "{\"name\":\"Status\",\"type\":\"string\",\"format\":\"\",\"description\":\"\","
                 "\"priority\":0},"
                 "{\"name\":\"Roles\",\"type\":\"string\",\"format\":\"\",\"description\":\"\","
                 "\"priority\":0},"
                 "{\"name\":\"Age\",\"type\":\"string\",\"format\":\"\",\"description\":\"\","
                 "\"priority\":0},"
                 "{\"name\":\"Version\",\"type\":\"string\",\"format\":\"\",\"description\":\"\","
                 "\"priority\":0},"
                 "{\"name\":\"Internal-IP\",\"type\":\"string\",\"format\":\"\","
                 "\"description\":\"\",\"priority\":1},"
                 "{\"name\":\"OS-Image\",\"type\":\"string\",\"format\":\"\",\"description\":"
                 "\"\",\"priority\":1},"
                 "{\"name\":\"Kernel-Version\",\"type\":\"string\",\"format\":\"\","
                 "\"description\":\"\",\"priority\":1}],\"rows\":[{\"cells\":[");
  fake_buf_json_string (out, cluster->node_name);
  fake_buf_printf (out, ",\"Ready\",\"control-plane,master\",\"%s\",", age);
  fake_buf_json_string (out, cluster->version);
  fake_buf_printf (out, ",\"%s\",\"fake k3s (not Kubernetes)\",",
                   cluster->address[0] != '\0' ? cluster->address : "<none>");
  fake_buf_json_string (out, uts.release);
  fake_buf_puts (out, "],\"object\":{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":"
                      "\"meta.k8s.io/v1\",\"metadata\":{\"name\":");
  fake_buf_json_string (out, cluster->node_name);
  fake_buf_printf (out,
                   ",\"uid\":\"fake-node-1\",\"resourceVersion\":\"1\","
                   "\"creationTimestamp\":\"%s\"}}}]}",
                   created);
}

/* ---- namespaces ------------------------------------------------------------------ */

static void
namespace_json (FakeBuf *out, const char *name, const FakeCluster *cluster)
{
  char created[32];

  fake_format_time (cluster->started, created);
  fake_buf_printf (out,
                   "{\"kind\":\"Namespace\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\","
                   "\"uid\":\"fake-namespace-%s\",\"resourceVersion\":\"1\","
                   "\"creationTimestamp\":\"%s\"},\"spec\":{\"finalizers\":[\"kubernetes\"]},"
                   "\"status\":{\"phase\":\"Active\"}}",
                   name, name, created);
}

static void
namespaces_answer (FakeBuf *out, bool table, const FakeCluster *cluster)
{
  char age[16];
  char created[32];

  fake_format_age (cluster->started, age);
  fake_format_time (cluster->started, created);
  if (table)
    fake_buf_puts (out, "{\"kind\":\"Table\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":"
                        "{\"resourceVersion\":\"1\"},\"columnDefinitions\":["
                        "{\"name\":\"Name\",\"type\":\"string\",\"format\":\"name\","
                        "\"description\":\"Name of the namespace (fake k3s)\",\"priority\":0},"
                        "{\"name\":\"Status\",\"type\":\"string\",\"format\":\"\","
                        "\"description\":\"\",\"priority\":0},"
                        "{\"name\":\"Age\",\"type\":\"string\",\"format\":\"\","
                        "\"description\":\"\",\"priority\":0}],\"rows\":[");
  else
    fake_buf_puts (out, "{\"kind\":\"NamespaceList\",\"apiVersion\":\"v1\",\"metadata\":"
                        "{\"resourceVersion\":\"1\"},\"items\":[");
  for (size_t i = 0; namespaces[i] != NULL; i++)
    {
      if (i > 0)
        fake_buf_puts (out, ",");
      if (table)
        fake_buf_printf (out,
                         "{\"cells\":[\"%s\",\"Active\",\"%s\"],\"object\":{\"kind\":"
                         "\"PartialObjectMetadata\",\"apiVersion\":\"meta.k8s.io/v1\","
                         "\"metadata\":{\"name\":\"%s\",\"uid\":\"fake-namespace-%s\","
                         "\"resourceVersion\":\"1\",\"creationTimestamp\":\"%s\"}}}",
                         namespaces[i], age, namespaces[i], namespaces[i], created);
      else
        namespace_json (out, namespaces[i], cluster);
    }
  fake_buf_puts (out, "]}");
}

static bool
is_namespace (const char *name)
{
  for (size_t i = 0; namespaces[i] != NULL; i++)
    if (strcmp (namespaces[i], name) == 0)
      return true;
  return false;
}

/* ---- services: lists and watches ------------------------------------------------- */

static bool
send_chunk (FakeConnection *c, const FakeBuf *data)
{
  char size[32];
  int n;

  if (data->len == 0)
    return true;
  n = snprintf (size, sizeof size, "%zx\r\n", data->len);
  return fake_connection_write (c, size, (size_t)n)
         && fake_connection_write (c, data->data, data->len)
         && fake_connection_write (c, "\r\n", 2);
}

static bool
watch_services (FakeConnection *c, const FakeRequest *request, const char *namespace_)
{
  static const char head[] = "HTTP/1.1 200 OK\r\n"
                             "Content-Type: application/json\r\n"
                             "Transfer-Encoding: chunked\r\n"
                             "Cache-Control: no-cache, private\r\n"
                             "X-Fake-K3s: this API server is a fake, for Berth's tests\r\n"
                             "\r\n";
  char value[64];
  unsigned long version = 0;
  long timeout_seconds = 1800;
  time_t deadline;
  FakeBuf events;
  bool too_old = false;

  if (fake_http_query_get (request->query, "timeoutSeconds", value, sizeof value)
      && atol (value) > 0)
    timeout_seconds = atol (value);
  deadline = time (NULL) + timeout_seconds;
  if (!fake_connection_write (c, head, sizeof head - 1))
    return false;
  fake_buf_init (&events);
  if (!fake_http_query_get (request->query, "resourceVersion", value, sizeof value)
      || value[0] == '\0' || strcmp (value, "0") == 0)
    version = fake_services_current_events (&events, namespace_);
  else
    {
      char *end = NULL;

      version = strtoul (value, &end, 10);
      if (end == value || *end != '\0')
        too_old = true;
      else
        version = fake_services_events_since (&events, namespace_, version, &too_old);
    }
  if (too_old)
    {
      fake_buf_puts (&events, "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
                              "\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                              "\"message\":\"fake k3s: too old resource version\","
                              "\"reason\":\"Expired\",\"code\":410}}\n");
      send_chunk (c, &events);
      fake_buf_free (&events);
      fake_connection_write (c, "0\r\n\r\n", 5);
      return false;
    }
  for (;;)
    {
      if (!send_chunk (c, &events))
        break;
      events.len = 0;
      if (time (NULL) >= deadline)
        {
          fake_connection_write (c, "0\r\n\r\n", 5);
          break;
        }
      if (!fake_connection_alive (c, 100))
        break;
      version = fake_services_events_since (&events, namespace_, version, &too_old);
    }
  fake_buf_free (&events);
  /* The stream ended: the connection is not reused. */
  return false;
}

static bool
answer_services (FakeConnection *c, const FakeRequest *request, const char *namespace_,
                 const char *name)
{
  char value[16];
  FakeBuf body;

  fake_buf_init (&body);
  if (name != NULL)
    {
      if (!fake_services_get_json (&body, namespace_, name))
        {
          FakeBuf message;
          bool ok;

          fake_buf_init (&message);
          fake_buf_printf (&message, "services \"%s\" not found (fake k3s)", name);
          ok = respond_status (c, request, 404, "NotFound", message.data);
          fake_buf_free (&message);
          fake_buf_free (&body);
          return ok;
        }
      return respond_json (c, request, &body);
    }
  if (fake_http_query_get (request->query, "watch", value, sizeof value)
      && (strcmp (value, "1") == 0 || strcmp (value, "true") == 0))
    return watch_services (c, request, namespace_);
  fake_services_list_json (&body, namespace_, wants_table (request));
  return respond_json (c, request, &body);
}

/* ---- discovery --------------------------------------------------------------------- */

static void
resource_list (FakeBuf *out)
{
  fake_buf_puts (out,
                 "{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\",\"groupVersion\":\"v1\","
                 "\"resources\":["
                 "{\"name\":\"namespaces\",\"singularName\":\"namespace\",\"namespaced\":false,"
                 "\"kind\":\"Namespace\",\"verbs\":[\"get\",\"list\"],\"shortNames\":[\"ns\"]},"
                 "{\"name\":\"nodes\",\"singularName\":\"node\",\"namespaced\":false,"
                 "\"kind\":\"Node\",\"verbs\":[\"get\",\"list\"],\"shortNames\":[\"no\"]},"
                 "{\"name\":\"services\",\"singularName\":\"service\",\"namespaced\":true,"
                 "\"kind\":\"Service\",\"verbs\":[\"get\",\"list\",\"watch\"],"
                 "\"shortNames\":[\"svc\"],\"categories\":[\"all\"]}]}");
}

static bool
path_is (const char *path, const char *expected)
{
  size_t len = strlen (expected);

  return strncmp (path, expected, len) == 0 && (path[len] == '\0' || strcmp (path + len, "/") == 0);
}

/* /api/v1/namespaces/NS/services[/NAME] */
static bool
split_namespaced (const char *path, char *namespace_, size_t ns_size, const char **rest)
{
  const char *prefix = "/api/v1/namespaces/";
  const char *start, *slash;

  if (strncmp (path, prefix, strlen (prefix)) != 0)
    return false;
  start = path + strlen (prefix);
  slash = strchr (start, '/');
  if (slash == NULL)
    slash = start + strlen (start);
  if (slash == start || (size_t)(slash - start) >= ns_size)
    return false;
  memcpy (namespace_, start, (size_t)(slash - start));
  namespace_[slash - start] = '\0';
  *rest = slash;
  return true;
}

bool
fake_api_answer (FakeConnection *c, const FakeRequest *request, bool authenticated,
                 const FakeCluster *cluster)
{
  const char *path = request->path;
  FakeBuf body;
  char namespace_[128];
  const char *rest = NULL;

  fake_buf_init (&body);
  if (strcmp (request->method, "GET") != 0 && strcmp (request->method, "HEAD") != 0)
    return respond_status (c, request, 405, "MethodNotAllowed",
                           "fake k3s: this fake API server only answers GET");
  if (path_is (path, "/readyz") || path_is (path, "/livez") || path_is (path, "/healthz"))
    {
      bool ok;

      fake_buf_puts (&body, "ok");
      ok = respond (c, request, 200, "OK", "text/plain; charset=utf-8", &body);
      fake_buf_free (&body);
      return ok;
    }
  if (path_is (path, "/version"))
    {
      unsigned major = 1, minor = 0;

      sscanf (cluster->version, "v%u.%u", &major, &minor);
      fake_buf_printf (&body, "{\"major\":\"%u\",\"minor\":\"%u\",\"gitVersion\":", major, minor);
      fake_buf_json_string (&body, cluster->version);
      fake_buf_puts (&body, ",\"gitCommit\":\"fake\",\"gitTreeState\":\"clean\","
                            "\"buildDate\":\"1970-01-01T00:00:00Z\",\"goVersion\":\"fake k3s "
                            "(written in C for Berth's tests)\",\"compiler\":\"gc\","
                            "\"platform\":\"linux/amd64\"}");
      return respond_json (c, request, &body);
    }
  if (!authenticated)
    return respond_status (c, request, 401, "Unauthorized",
                           "fake k3s: Unauthorized (present the client certificate of k3s.yaml)");
  if (path_is (path, "/api"))
    {
      fake_buf_puts (&body, "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"],"
                            "\"serverAddressByClientCIDRs\":[{\"clientCIDR\":\"0.0.0.0/0\","
                            "\"serverAddress\":\"127.0.0.1:6443\"}]}");
      return respond_json (c, request, &body);
    }
  if (path_is (path, "/apis"))
    {
      fake_buf_puts (&body, "{\"kind\":\"APIGroupList\",\"apiVersion\":\"v1\",\"groups\":[]}");
      return respond_json (c, request, &body);
    }
  if (path_is (path, "/api/v1"))
    {
      resource_list (&body);
      return respond_json (c, request, &body);
    }
  if (path_is (path, "/api/v1/nodes"))
    {
      if (wants_table (request))
        node_table (&body, cluster);
      else
        {
          fake_buf_puts (&body, "{\"kind\":\"NodeList\",\"apiVersion\":\"v1\",\"metadata\":"
                                "{\"resourceVersion\":\"1\"},\"items\":[");
          node_json (&body, cluster);
          fake_buf_puts (&body, "]}");
        }
      return respond_json (c, request, &body);
    }
  if (strncmp (path, "/api/v1/nodes/", 14) == 0)
    {
      if (strcmp (path + 14, cluster->node_name) != 0)
        return respond_status (c, request, 404, "NotFound", "fake k3s: no such node");
      node_json (&body, cluster);
      return respond_json (c, request, &body);
    }
  if (path_is (path, "/api/v1/namespaces"))
    {
      namespaces_answer (&body, wants_table (request), cluster);
      return respond_json (c, request, &body);
    }
  if (path_is (path, "/api/v1/services"))
    return answer_services (c, request, NULL, NULL);
  if (split_namespaced (path, namespace_, sizeof namespace_, &rest))
    {
      if (!is_namespace (namespace_))
        return respond_status (c, request, 404, "NotFound",
                               "fake k3s: the fake cluster has no such namespace");
      if (rest[0] == '\0' || strcmp (rest, "/") == 0)
        {
          namespace_json (&body, namespace_, cluster);
          return respond_json (c, request, &body);
        }
      if (path_is (rest, "/services"))
        return answer_services (c, request, namespace_, NULL);
      if (strncmp (rest, "/services/", 10) == 0 && rest[10] != '\0'
          && strchr (rest + 10, '/') == NULL)
        return answer_services (c, request, namespace_, rest + 10);
    }
  return respond_status (c, request, 404, "NotFound",
                         "fake k3s: the fake API server does not serve this path");
}
