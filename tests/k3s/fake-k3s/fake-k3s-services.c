/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The fake cluster's services: the cluster's own default/kubernetes and
 * those a test writes into the services file, a line each. A thread watches
 * the file; what changed becomes watch events with rising resource versions,
 * kept so that a watch can start from the version of an earlier list. */
#include "fake-k3s.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SERVICES 256
#define MAX_EVENTS 4096
#define MAX_FILE_SIZE (256 * 1024)
#define POLL_MS 100

/* ---- the file ---------------------------------------------------------------- */

static bool
is_label (const char *text, size_t max)
{
  size_t len = strlen (text);

  if (len == 0 || len > max || text[0] == '-' || text[len - 1] == '-')
    return false;
  for (size_t i = 0; i < len; i++)
    if (!((text[i] >= 'a' && text[i] <= 'z') || (text[i] >= '0' && text[i] <= '9')
          || text[i] == '-'))
      return false;
  return true;
}

static bool
parse_number (const char *text, unsigned long min, unsigned long max, unsigned *out)
{
  char *end = NULL;
  unsigned long value;

  if (text[0] < '0' || text[0] > '9')
    return false;
  errno = 0;
  value = strtoul (text, &end, 10);
  if (errno != 0 || *end != '\0' || value < min || value > max)
    return false;
  *out = (unsigned)value;
  return true;
}

/* PORT[/PROTOCOL][:NAME] */
static bool
parse_port (char *spec, FakeService *service)
{
  char *name = strchr (spec, ':');
  char *protocol = strchr (spec, '/');
  size_t i = service->n_ports;

  if (i >= sizeof service->ports / sizeof service->ports[0])
    return false;
  if (name != NULL)
    *name++ = '\0';
  if (protocol != NULL && (name == NULL || protocol < name))
    *protocol++ = '\0';
  else
    protocol = NULL;
  if (!parse_number (spec, 1, 65535, &service->ports[i].port))
    return false;
  if (protocol == NULL)
    protocol = (char *)"TCP";
  if (strcmp (protocol, "TCP") != 0 && strcmp (protocol, "UDP") != 0
      && strcmp (protocol, "SCTP") != 0)
    return false;
  snprintf (service->ports[i].protocol, sizeof service->ports[i].protocol, "%s", protocol);
  if (name != NULL && !is_label (name, 15))
    return false;
  snprintf (service->ports[i].name, sizeof service->ports[i].name, "%s", name ? name : "");
  service->ports[i].node_port = 0;
  service->n_ports++;
  return true;
}

void
fake_service_clear (FakeService *service)
{
  free (service->namespace_);
  free (service->name);
  free (service->type);
  free (service->cluster_ip);
  memset (service, 0, sizeof *service);
}

static bool
parse_line (char *line, FakeService *service)
{
  char *save = NULL;
  char *words[2 + 1 + 16 + 1];
  size_t n = 0;

  memset (service, 0, sizeof *service);
  for (char *word = strtok_r (line, " \t\r", &save); word != NULL;
       word = strtok_r (NULL, " \t\r", &save))
    {
      if (n == sizeof words / sizeof words[0])
        return false;
      words[n++] = word;
    }
  if (n < 4 || !is_label (words[0], 63) || !is_label (words[1], 63)
      || (strcmp (words[2], "ClusterIP") != 0 && strcmp (words[2], "NodePort") != 0
          && strcmp (words[2], "LoadBalancer") != 0))
    return false;
  for (size_t i = 3; i < n; i++)
    if (!parse_port (words[i], service))
      return false;
  service->namespace_ = strdup (words[0]);
  service->name = strdup (words[1]);
  service->type = strdup (words[2]);
  return service->namespace_ != NULL && service->name != NULL && service->type != NULL;
}

size_t
fake_services_parse (const char *text, size_t len, const char *what, FakeService *out, size_t max)
{
  size_t count = 0;
  size_t line_number = 0;

  for (size_t start = 0; start < len && count < max;)
    {
      const char *newline = memchr (text + start, '\n', len - start);
      size_t end = newline != NULL ? (size_t)(newline - text) : len;
      bool has_nul = memchr (text + start, '\0', end - start) != NULL;
      char *line = strndup (text + start, end - start);
      const char *p;

      line_number++;
      start = end + 1;
      if (line == NULL)
        fake_die ("out of memory");
      for (p = line; *p == ' ' || *p == '\t' || *p == '\r'; p++)
        ;
      if (*p == '\0' || *p == '#')
        {
          free (line);
          continue;
        }
      if (has_nul || !parse_line (line, &out[count]))
        {
          fake_service_clear (&out[count]);
          fake_log ("%s, line %zu: not \"NAMESPACE NAME ClusterIP|NodePort|LoadBalancer "
                    "PORT[/TCP|UDP|SCTP][:NAME]...\"; skipped",
                    what, line_number);
        }
      else
        {
          bool duplicate = false;

          for (size_t i = 0; i < count; i++)
            if (strcmp (out[i].namespace_, out[count].namespace_) == 0
                && strcmp (out[i].name, out[count].name) == 0)
              duplicate = true;
          if (duplicate)
            {
              fake_log ("%s, line %zu: service %s/%s is listed twice; skipped", what, line_number,
                        out[count].namespace_, out[count].name);
              fake_service_clear (&out[count]);
            }
          else
            count++;
        }
      free (line);
    }
  return count;
}

/* ---- JSON -------------------------------------------------------------------- */

static void
service_json (FakeBuf *out, const FakeService *s)
{
  char created[32];

  fake_format_time (s->created, created);
  fake_buf_puts (out, "{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":");
  fake_buf_json_string (out, s->name);
  fake_buf_puts (out, ",\"namespace\":");
  fake_buf_json_string (out, s->namespace_);
  fake_buf_printf (out,
                   ",\"uid\":\"fake-service-%lu\",\"resourceVersion\":\"%lu\","
                   "\"creationTimestamp\":\"%s\",\"labels\":{\"berth.fake/k3s\":\"true\"}},"
                   "\"spec\":{\"type\":",
                   s->uid, s->resource_version, created);
  fake_buf_json_string (out, s->type);
  fake_buf_printf (out, ",\"clusterIP\":\"%s\",\"clusterIPs\":[\"%s\"],\"ports\":[", s->cluster_ip,
                   s->cluster_ip);
  for (size_t i = 0; i < s->n_ports; i++)
    {
      fake_buf_puts (out, i > 0 ? ",{" : "{");
      if (s->ports[i].name[0] != '\0')
        {
          fake_buf_puts (out, "\"name\":");
          fake_buf_json_string (out, s->ports[i].name);
          fake_buf_puts (out, ",");
        }
      fake_buf_printf (out, "\"protocol\":\"%s\",\"port\":%u,\"targetPort\":%u",
                       s->ports[i].protocol, s->ports[i].port, s->ports[i].port);
      if (s->ports[i].node_port != 0)
        fake_buf_printf (out, ",\"nodePort\":%u", s->ports[i].node_port);
      fake_buf_puts (out, "}");
    }
  fake_buf_puts (out, "],\"sessionAffinity\":\"None\"},\"status\":{\"loadBalancer\":{}}}");
}

static void
service_table_row (FakeBuf *out, const FakeService *s)
{
  char age[16];
  char created[32];
  FakeBuf ports;

  fake_buf_init (&ports);
  fake_buf_puts (&ports, "");
  for (size_t i = 0; i < s->n_ports; i++)
    {
      fake_buf_printf (&ports, "%s%u", i > 0 ? "," : "", s->ports[i].port);
      if (s->ports[i].node_port != 0)
        fake_buf_printf (&ports, ":%u", s->ports[i].node_port);
      fake_buf_printf (&ports, "/%s", s->ports[i].protocol);
    }
  fake_format_age (s->created, age);
  fake_format_time (s->created, created);
  fake_buf_puts (out, "{\"cells\":[");
  fake_buf_json_string (out, s->name);
  fake_buf_puts (out, ",");
  fake_buf_json_string (out, s->type);
  fake_buf_printf (out, ",\"%s\",\"%s\",", s->cluster_ip,
                   strcmp (s->type, "LoadBalancer") == 0 ? "<pending>" : "<none>");
  fake_buf_json_string (out, ports.data);
  fake_buf_printf (out,
                   ",\"%s\",\"<none>\"],\"object\":{\"kind\":\"PartialObjectMetadata\","
                   "\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":{\"name\":",
                   age);
  fake_buf_json_string (out, s->name);
  fake_buf_puts (out, ",\"namespace\":");
  fake_buf_json_string (out, s->namespace_);
  fake_buf_printf (out,
                   ",\"uid\":\"fake-service-%lu\",\"resourceVersion\":\"%lu\","
                   "\"creationTimestamp\":\"%s\"}}}",
                   s->uid, s->resource_version, created);
  fake_buf_free (&ports);
}

/* ---- the server's state -------------------------------------------------------- */

typedef struct
{
  unsigned long version;
  char *namespace_;
  char *line; /* {"type":…,"object":…} */
} Event;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static FakeService services[MAX_SERVICES];
static size_t n_services;
static Event events[MAX_EVENTS];
static size_t n_events;
static unsigned long oldest_kept; /* events after this one are all kept */
static unsigned long resource_version = 1;
static unsigned long next_uid = 1;
static unsigned next_address = 100;
static unsigned next_node_port = 30000;
static char *services_file;

static void
add_event (const char *type, const FakeService *s)
{
  FakeBuf line;

  if (n_events == MAX_EVENTS)
    {
      oldest_kept = events[0].version;
      free (events[0].namespace_);
      free (events[0].line);
      memmove (events, events + 1, (MAX_EVENTS - 1) * sizeof events[0]);
      n_events--;
    }
  fake_buf_init (&line);
  fake_buf_printf (&line, "{\"type\":\"%s\",\"object\":", type);
  service_json (&line, s);
  fake_buf_puts (&line, "}\n");
  events[n_events].version = s->resource_version;
  events[n_events].namespace_ = strdup (s->namespace_);
  events[n_events].line = line.data;
  n_events++;
}

static bool
same_spec (const FakeService *a, const FakeService *b)
{
  if (strcmp (a->type, b->type) != 0 || a->n_ports != b->n_ports)
    return false;
  for (size_t i = 0; i < a->n_ports; i++)
    if (a->ports[i].port != b->ports[i].port || strcmp (a->ports[i].name, b->ports[i].name) != 0
        || strcmp (a->ports[i].protocol, b->ports[i].protocol) != 0)
      return false;
  return true;
}

static void
assign_node_ports (FakeService *s, const FakeService *before)
{
  for (size_t i = 0; i < s->n_ports; i++)
    {
      s->ports[i].node_port = 0;
      if (strcmp (s->type, "ClusterIP") == 0)
        continue;
      for (size_t j = 0; before != NULL && j < before->n_ports; j++)
        if (before->ports[j].port == s->ports[i].port && before->ports[j].node_port != 0)
          s->ports[i].node_port = before->ports[j].node_port;
      if (s->ports[i].node_port == 0)
        s->ports[i].node_port = next_node_port++;
    }
}

/* Called with the lock held: @read (taken) becomes the services of the file. */
static void
apply (FakeService *read, size_t n_read)
{
  /* Deleted: in the state (the cluster's own service aside) and not read. */
  for (size_t i = 1; i < n_services;)
    {
      bool kept = false;

      for (size_t j = 0; j < n_read && !kept; j++)
        kept = strcmp (services[i].namespace_, read[j].namespace_) == 0
               && strcmp (services[i].name, read[j].name) == 0;
      if (kept)
        {
          i++;
          continue;
        }
      services[i].resource_version = ++resource_version;
      add_event ("DELETED", &services[i]);
      fake_log ("service %s/%s deleted", services[i].namespace_, services[i].name);
      fake_service_clear (&services[i]);
      memmove (services + i, services + i + 1, (n_services - i - 1) * sizeof services[0]);
      n_services--;
    }
  /* Added or modified. */
  for (size_t j = 0; j < n_read; j++)
    {
      FakeService *s = &read[j];
      FakeService *known = NULL;

      if (strcmp (s->namespace_, "default") == 0 && strcmp (s->name, "kubernetes") == 0)
        {
          fake_log ("the services file cannot change the cluster's own default/kubernetes");
          fake_service_clear (s);
          continue;
        }
      for (size_t i = 1; i < n_services && known == NULL; i++)
        if (strcmp (services[i].namespace_, s->namespace_) == 0
            && strcmp (services[i].name, s->name) == 0)
          known = &services[i];
      if (known != NULL && same_spec (known, s))
        {
          fake_service_clear (s);
          continue;
        }
      if (known != NULL)
        {
          assign_node_ports (s, known);
          free (known->type);
          known->type = s->type;
          s->type = NULL;
          known->n_ports = s->n_ports;
          memcpy (known->ports, s->ports, sizeof s->ports);
          known->resource_version = ++resource_version;
          add_event ("MODIFIED", known);
          fake_log ("service %s/%s changed", known->namespace_, known->name);
          fake_service_clear (s);
          continue;
        }
      if (n_services == MAX_SERVICES)
        {
          fake_log ("more than %d services; %s/%s left out", MAX_SERVICES, s->namespace_, s->name);
          fake_service_clear (s);
          continue;
        }
      assign_node_ports (s, NULL);
      {
        char address[32];

        snprintf (address, sizeof address, "10.43.%u.%u", next_address / 250,
                  next_address % 250 + 2);
        next_address++;
        s->cluster_ip = strdup (address);
      }
      s->created = time (NULL);
      s->uid = next_uid++;
      s->resource_version = ++resource_version;
      services[n_services++] = *s;
      memset (s, 0, sizeof *s);
      add_event ("ADDED", &services[n_services - 1]);
      fake_log ("service %s/%s added", services[n_services - 1].namespace_,
                services[n_services - 1].name);
    }
}

static void
read_services_file (void)
{
  static FakeService read[MAX_SERVICES];
  size_t len = 0;
  char *text = fake_read_file (services_file, MAX_FILE_SIZE, &len);
  size_t n = 0;

  if (text == NULL && errno != ENOENT)
    fake_log ("cannot read %s: %s", services_file, strerror (errno));
  if (text != NULL)
    n = fake_services_parse (text, len, services_file, read, MAX_SERVICES - 1);
  free (text);
  pthread_mutex_lock (&lock);
  apply (read, n);
  pthread_mutex_unlock (&lock);
}

static void *
watch_file (void *data)
{
  struct stat last = { 0 };

  for (;;)
    {
      struct stat now = { 0 };

      if (stat (services_file, &now) != 0)
        memset (&now, 0, sizeof now);
      if (now.st_ino != last.st_ino || now.st_size != last.st_size
          || now.st_mtim.tv_sec != last.st_mtim.tv_sec
          || now.st_mtim.tv_nsec != last.st_mtim.tv_nsec)
        {
          last = now;
          read_services_file ();
        }
      usleep (POLL_MS * 1000);
    }
  return NULL;
}

static void
init_cluster_service (FakeService *s)
{
  memset (s, 0, sizeof *s);
  s->namespace_ = strdup ("default");
  s->name = strdup ("kubernetes");
  s->type = strdup ("ClusterIP");
  s->cluster_ip = strdup ("10.43.0.1");
  s->n_ports = 1;
  snprintf (s->ports[0].name, sizeof s->ports[0].name, "https");
  s->ports[0].port = 443;
  snprintf (s->ports[0].protocol, sizeof s->ports[0].protocol, "TCP");
}

void
fake_services_start (const char *path)
{
  pthread_t thread;

  services_file = strdup (path);
  init_cluster_service (&services[0]);
  services[0].created = time (NULL);
  services[0].uid = next_uid++;
  services[0].resource_version = resource_version;
  n_services = 1;
  read_services_file ();
  if (pthread_create (&thread, NULL, watch_file, NULL) != 0)
    fake_die ("cannot start the thread that watches %s", path);
  pthread_detach (thread);
}

unsigned long
fake_services_resource_version (void)
{
  unsigned long version;

  pthread_mutex_lock (&lock);
  version = resource_version;
  pthread_mutex_unlock (&lock);
  return version;
}

static const char service_columns[]
    = "[{\"name\":\"Name\",\"type\":\"string\",\"format\":\"name\",\"description\":\"Name of the "
      "service (fake k3s)\",\"priority\":0},"
      "{\"name\":\"Type\",\"type\":\"string\",\"format\":\"\",\"description\":\"\","
      "\"priority\":0},"
      "{\"name\":\"Cluster-IP\",\"type\":\"string\",\"format\":\"\",\"description\":\"\","
      "\"priority\":0},"
      "{\"name\":\"External-IP\",\"type\":\"string\",\"format\":\"\",\"description\":\"\","
      "\"priority\":0},"
      "{\"name\":\"Port(s)\",\"type\":\"string\",\"format\":\"\",\"description\":\"\","
      "\"priority\":0},"
      "{\"name\":\"Age\",\"type\":\"string\",\"format\":\"\",\"description\":\"\","
      "\"priority\":0},"
      "{\"name\":\"Selector\",\"type\":\"string\",\"format\":\"\",\"description\":\"\","
      "\"priority\":1}]";

void
fake_services_list_json (FakeBuf *out, const char *namespace_, bool table)
{
  bool first = true;

  pthread_mutex_lock (&lock);
  if (table)
    fake_buf_printf (out,
                     "{\"kind\":\"Table\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":"
                     "{\"resourceVersion\":\"%lu\"},\"columnDefinitions\":%s,\"rows\":[",
                     resource_version, service_columns);
  else
    fake_buf_printf (out,
                     "{\"kind\":\"ServiceList\",\"apiVersion\":\"v1\",\"metadata\":"
                     "{\"resourceVersion\":\"%lu\"},\"items\":[",
                     resource_version);
  for (size_t i = 0; i < n_services; i++)
    {
      if (namespace_ != NULL && strcmp (namespace_, services[i].namespace_) != 0)
        continue;
      if (!first)
        fake_buf_puts (out, ",");
      first = false;
      if (table)
        service_table_row (out, &services[i]);
      else
        service_json (out, &services[i]);
    }
  pthread_mutex_unlock (&lock);
  fake_buf_puts (out, "]}");
}

unsigned long
fake_services_current_events (FakeBuf *out, const char *namespace_)
{
  unsigned long version;

  pthread_mutex_lock (&lock);
  version = resource_version;
  for (size_t i = 0; i < n_services; i++)
    {
      if (namespace_ != NULL && strcmp (namespace_, services[i].namespace_) != 0)
        continue;
      fake_buf_puts (out, "{\"type\":\"ADDED\",\"object\":");
      service_json (out, &services[i]);
      fake_buf_puts (out, "}\n");
    }
  pthread_mutex_unlock (&lock);
  return version;
}

bool
fake_services_get_json (FakeBuf *out, const char *namespace_, const char *name)
{
  bool found = false;

  pthread_mutex_lock (&lock);
  for (size_t i = 0; i < n_services && !found; i++)
    if (strcmp (services[i].namespace_, namespace_) == 0 && strcmp (services[i].name, name) == 0)
      {
        service_json (out, &services[i]);
        found = true;
      }
  pthread_mutex_unlock (&lock);
  return found;
}

unsigned long
fake_services_events_since (FakeBuf *out, const char *namespace_, unsigned long after_version,
                            bool *too_old)
{
  unsigned long last = after_version;

  pthread_mutex_lock (&lock);
  *too_old = after_version < oldest_kept;
  for (size_t i = 0; i < n_events && !*too_old; i++)
    {
      if (events[i].version <= after_version)
        continue;
      last = events[i].version;
      if (namespace_ == NULL || strcmp (namespace_, events[i].namespace_) == 0)
        fake_buf_puts (out, events[i].line);
    }
  pthread_mutex_unlock (&lock);
  return last;
}

bool
fake_services_lookup (const char *services_path, const char *namespace_, const char *name,
                      FakeService *out)
{
  static FakeService read[MAX_SERVICES];
  size_t len = 0;
  char *text;
  size_t n = 0;
  bool found = false;

  if (strcmp (namespace_, "default") == 0 && strcmp (name, "kubernetes") == 0)
    {
      init_cluster_service (out);
      return true;
    }
  text = fake_read_file (services_path, MAX_FILE_SIZE, &len);
  if (text != NULL)
    n = fake_services_parse (text, len, services_path, read, MAX_SERVICES);
  free (text);
  for (size_t i = 0; i < n; i++)
    {
      if (!found && strcmp (read[i].namespace_, namespace_) == 0
          && strcmp (read[i].name, name) == 0)
        {
          *out = read[i];
          memset (&read[i], 0, sizeof read[i]);
          found = true;
        }
      else
        fake_service_clear (&read[i]);
    }
  return found;
}
