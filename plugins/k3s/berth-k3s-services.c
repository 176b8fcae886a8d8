/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <libsoup/soup.h>
#include <string.h>

#include <berth.h>

#include "berth-k3s-services.h"

/* Service objects are small; a list of thousands stays well under this. */
#define MAX_LIST_BYTES (16 * 1024 * 1024)
#define MAX_EVENT_BYTES (1024 * 1024)
#define MAX_DEPTH 32
/* A failed watch is tried again after this long. */
#define RETRY_SECONDS 2

struct _BerthK3sServices
{
  GObject parent_instance;

  guint port;
  SoupSession *session;
  GTlsCertificate *client;
  GTlsCertificate *ca;
  GHashTable *services; /* "namespace/name" → JsonObject */
  gchar *resource_version;
  GCancellable *cancellable;
  guint retry_id;
  GString *pending; /* the watch's partial line */
  gboolean running;
};

G_DEFINE_FINAL_TYPE (BerthK3sServices, berth_k3s_services, G_TYPE_OBJECT)

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* ---- parsing -------------------------------------------------------------- */

static JsonObject *
member_object (JsonObject *object, const gchar *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static const gchar *
member_string (JsonObject *object, const gchar *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gint64
member_port (JsonObject *object, const gchar *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;
  gint64 value;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_INT64)
    return 0;
  value = json_node_get_int (node);
  return value >= 1 && value <= 65535 ? value : 0;
}

JsonObject *
berth_k3s_service_from_api (JsonNode *node, GError **error)
{
  JsonObject *object, *metadata, *spec;
  const gchar *ns, *name;
  g_autoptr (JsonObject) service = json_object_new ();
  g_autoptr (JsonArray) ports = json_array_new ();
  JsonNode *ports_node;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                           "A service is not a JSON object");
      return NULL;
    }
  object = json_node_get_object (node);
  metadata = member_object (object, "metadata");
  spec = member_object (object, "spec");
  ns = member_string (metadata, "namespace");
  name = member_string (metadata, "name");
  if (ns == NULL || name == NULL || ns[0] == '\0' || name[0] == '\0')
    {
      g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                           "A service has no metadata.namespace and metadata.name");
      return NULL;
    }
  json_object_set_string_member (service, "namespace", ns);
  json_object_set_string_member (service, "name", name);
  json_object_set_string_member (service, "type",
                                 member_string (spec, "type") != NULL ? member_string (spec, "type")
                                                                      : "ClusterIP");
  if (member_string (spec, "clusterIP") != NULL)
    json_object_set_string_member (service, "clusterIP", member_string (spec, "clusterIP"));
  else
    json_object_set_null_member (service, "clusterIP");
  ports_node = spec != NULL ? json_object_get_member (spec, "ports") : NULL;
  if (ports_node != NULL && JSON_NODE_HOLDS_ARRAY (ports_node))
    {
      JsonArray *array = json_node_get_array (ports_node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *item = json_array_get_element (array, i);
          JsonObject *port, *entry;

          if (!JSON_NODE_HOLDS_OBJECT (item))
            continue;
          port = json_node_get_object (item);
          if (member_port (port, "port") == 0)
            continue;
          entry = json_object_new ();
          if (member_string (port, "name") != NULL)
            json_object_set_string_member (entry, "name", member_string (port, "name"));
          else
            json_object_set_null_member (entry, "name");
          json_object_set_int_member (entry, "port", member_port (port, "port"));
          json_object_set_string_member (
              entry, "protocol",
              member_string (port, "protocol") != NULL ? member_string (port, "protocol") : "TCP");
          if (member_port (port, "nodePort") != 0)
            json_object_set_int_member (entry, "nodePort", member_port (port, "nodePort"));
          else
            json_object_set_null_member (entry, "nodePort");
          json_array_add_object_element (ports, entry);
        }
    }
  json_object_set_array_member (service, "ports", g_steal_pointer (&ports));
  return g_steal_pointer (&service);
}

GPtrArray *
berth_k3s_service_list_parse (const gchar *data, gsize length, gchar **resource_version_out,
                              GError **error)
{
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GPtrArray) services
      = g_ptr_array_new_with_free_func ((GDestroyNotify)json_object_unref);
  JsonObject *object;
  JsonNode *items;

  *resource_version_out = NULL;
  if (length > MAX_LIST_BYTES)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "The service list is larger than %d MiB", MAX_LIST_BYTES / 1024 / 1024);
      return NULL;
    }
  root = berth_json_parse (data, length, MAX_DEPTH, "The Kubernetes API's service list", error);
  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root)
      || g_strcmp0 (member_string (json_node_get_object (root), "kind"), "ServiceList") != 0)
    {
      g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                           "The Kubernetes API answered with something other than a "
                           "ServiceList");
      return NULL;
    }
  object = json_node_get_object (root);
  items = json_object_get_member (object, "items");
  if (items != NULL && JSON_NODE_HOLDS_ARRAY (items))
    {
      JsonArray *array = json_node_get_array (items);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          g_autoptr (GError) item_error = NULL;
          JsonObject *service
              = berth_k3s_service_from_api (json_array_get_element (array, i), &item_error);

          if (service == NULL)
            g_debug ("Service %u of the list skipped: %s", i, item_error->message);
          else
            g_ptr_array_add (services, service);
        }
    }
  else if (items != NULL && !JSON_NODE_HOLDS_NULL (items))
    {
      g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                           "The ServiceList's items is not an array");
      return NULL;
    }
  *resource_version_out
      = g_strdup (member_string (member_object (object, "metadata"), "resourceVersion"));
  return g_steal_pointer (&services);
}

JsonObject *
berth_k3s_service_event_parse (const gchar *line, gsize length, gchar **type_out,
                               gchar **resource_version_out, GError **error)
{
  g_autoptr (JsonNode) root = NULL;
  JsonObject *object;
  JsonNode *service;
  const gchar *type;

  *type_out = NULL;
  *resource_version_out = NULL;
  if (length > MAX_EVENT_BYTES)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "A watch event is larger than %d KiB", MAX_EVENT_BYTES / 1024);
      return NULL;
    }
  root = berth_json_parse (line, length, MAX_DEPTH, "A Kubernetes watch event", error);
  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root)
      || (type = member_string (json_node_get_object (root), "type")) == NULL)
    {
      g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                           "A Kubernetes watch event has no type");
      return NULL;
    }
  object = json_node_get_object (root);
  if (!g_str_equal (type, "ADDED") && !g_str_equal (type, "MODIFIED")
      && !g_str_equal (type, "DELETED") && !g_str_equal (type, "BOOKMARK")
      && !g_str_equal (type, "ERROR"))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "A Kubernetes watch event has the unknown type \"%s\"", type);
      return NULL;
    }
  *type_out = g_strdup (type);
  service = json_object_get_member (object, "object");
  if (service != NULL && JSON_NODE_HOLDS_OBJECT (service))
    *resource_version_out = g_strdup (member_string (
        member_object (json_node_get_object (service), "metadata"), "resourceVersion"));
  if (g_str_equal (type, "BOOKMARK") || g_str_equal (type, "ERROR"))
    return NULL;
  return berth_k3s_service_from_api (service, error);
}

/* ---- the watch ------------------------------------------------------------ */

static gchar *
service_key (JsonObject *service)
{
  return g_strdup_printf ("%s/%s", json_object_get_string_member (service, "namespace"),
                          json_object_get_string_member (service, "name"));
}

static void
begin_list (BerthK3sServices *self);

static gboolean
retry_cb (gpointer user_data)
{
  BerthK3sServices *self = user_data;

  self->retry_id = 0;
  begin_list (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_retry (BerthK3sServices *self)
{
  if (!self->running || self->retry_id != 0)
    return;
  self->retry_id = g_timeout_add_seconds (RETRY_SECONDS, retry_cb, self);
}

static void
apply_event_line (BerthK3sServices *self, const gchar *line, gsize length)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *type = NULL;
  g_autofree gchar *version = NULL;
  g_autoptr (JsonObject) service = NULL;
  g_autofree gchar *key = NULL;

  if (length == 0)
    return;
  service = berth_k3s_service_event_parse (line, length, &type, &version, &error);
  if (version != NULL)
    {
      g_free (self->resource_version);
      self->resource_version = g_steal_pointer (&version);
    }
  if (service == NULL)
    {
      if (error != NULL)
        g_message ("Ignored a services watch event: %s", error->message);
      return;
    }
  key = service_key (service);
  if (g_str_equal (type, "DELETED"))
    {
      if (!g_hash_table_remove (self->services, key))
        return;
    }
  else
    g_hash_table_replace (self->services, g_steal_pointer (&key), json_object_ref (service));
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
watch_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BerthK3sServices *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes
      = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  gsize size = 0;
  const gchar *data;
  gchar *newline;

  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_object_unref (self);
          return;
        }
      if (error != NULL)
        g_message ("The services watch ended: %s", error->message);
      g_string_truncate (self->pending, 0);
      schedule_retry (self);
      g_object_unref (self);
      return;
    }
  data = g_bytes_get_data (bytes, &size);
  g_string_append_len (self->pending, data, (gssize)size);
  while ((newline = memchr (self->pending->str, '\n', self->pending->len)) != NULL)
    {
      gsize line_length = (gsize)(newline - self->pending->str);

      apply_event_line (self, self->pending->str, line_length);
      g_string_erase (self->pending, 0, (gssize)line_length + 1);
    }
  if (self->pending->len > MAX_EVENT_BYTES)
    {
      g_message ("A services watch event is larger than %d KiB; listing again",
                 MAX_EVENT_BYTES / 1024);
      g_string_truncate (self->pending, 0);
      g_input_stream_close_async (G_INPUT_STREAM (source), G_PRIORITY_DEFAULT, NULL, NULL, NULL);
      schedule_retry (self);
      g_object_unref (self);
      return;
    }
  g_input_stream_read_bytes_async (G_INPUT_STREAM (source), 16384, G_PRIORITY_DEFAULT,
                                   self->cancellable, watch_read, self);
}

static gboolean
accept_certificate (SoupMessage *msg, GTlsCertificate *certificate, GTlsCertificateFlags errors,
                    gpointer user_data)
{
  BerthK3sServices *self = user_data;
  g_autoptr (GSocketConnectable) identity = g_network_address_new ("127.0.0.1", self->port);

  /* Trusted when the cluster's own CA signed it, for 127.0.0.1, valid now. */
  return g_tls_certificate_verify (certificate, identity, self->ca) == 0;
}

static SoupMessage *
new_message (BerthK3sServices *self, const gchar *path_and_query)
{
  g_autofree gchar *uri = g_strdup_printf ("https://127.0.0.1:%u%s", self->port, path_and_query);
  SoupMessage *msg = soup_message_new ("GET", uri);

  soup_message_set_tls_client_certificate (msg, self->client);
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (accept_certificate), self);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Accept",
                                "application/json");
  return msg;
}

static void
watch_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BerthK3sServices *self = user_data;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr (GError) error = NULL;
  g_autoptr (GInputStream) stream
      = soup_session_send_finish (SOUP_SESSION (source), result, &error);

  if (stream == NULL || soup_message_get_status (msg) != SOUP_STATUS_OK)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_message ("Could not watch the services: %s",
                     error != NULL ? error->message : soup_message_get_reason_phrase (msg));
          schedule_retry (self);
        }
      g_object_unref (self);
      return;
    }
  g_string_truncate (self->pending, 0);
  g_input_stream_read_bytes_async (stream, 16384, G_PRIORITY_DEFAULT, self->cancellable, watch_read,
                                   self);
}

static void
begin_watch (BerthK3sServices *self)
{
  g_autofree gchar *escaped = g_uri_escape_string (
      self->resource_version != NULL ? self->resource_version : "", NULL, FALSE);
  g_autofree gchar *path = g_strdup_printf ("/api/v1/services?watch=1&resourceVersion=%s", escaped);
  g_autoptr (SoupMessage) msg = new_message (self, path);

  soup_session_send_async (self->session, msg, G_PRIORITY_DEFAULT, self->cancellable, watch_sent,
                           g_object_ref (self));
}

static gboolean
same_services (GHashTable *a, GHashTable *b)
{
  GHashTableIter iter;
  gpointer key, value;

  if (g_hash_table_size (a) != g_hash_table_size (b))
    return FALSE;
  g_hash_table_iter_init (&iter, a);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      JsonObject *other = g_hash_table_lookup (b, key);
      g_autoptr (JsonNode) x = NULL, y = NULL;

      if (other == NULL)
        return FALSE;
      x = json_node_init_object (json_node_alloc (), value);
      y = json_node_init_object (json_node_alloc (), other);
      if (!json_node_equal (x, y))
        return FALSE;
    }
  return TRUE;
}

static void
list_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BerthK3sServices *self = user_data;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body
      = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  g_autoptr (GPtrArray) services = NULL;
  g_autoptr (GHashTable) table = NULL;
  gchar *version = NULL;
  gsize size = 0;
  const gchar *data;

  if (body == NULL || soup_message_get_status (msg) != SOUP_STATUS_OK)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_message ("Could not list the services: %s",
                     error != NULL ? error->message : soup_message_get_reason_phrase (msg));
          schedule_retry (self);
        }
      g_object_unref (self);
      return;
    }
  data = g_bytes_get_data (body, &size);
  services = berth_k3s_service_list_parse (data != NULL ? data : "", size, &version, &error);
  if (services == NULL)
    {
      g_message ("Could not read the services: %s", error->message);
      schedule_retry (self);
      g_object_unref (self);
      return;
    }
  table
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)json_object_unref);
  for (guint i = 0; i < services->len; i++)
    {
      JsonObject *service = g_ptr_array_index (services, i);

      g_hash_table_replace (table, service_key (service), json_object_ref (service));
    }
  g_free (self->resource_version);
  self->resource_version = version;
  if (!same_services (table, self->services))
    {
      g_hash_table_unref (self->services);
      self->services = g_steal_pointer (&table);
      g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
    }
  if (self->running)
    begin_watch (self);
  g_object_unref (self);
}

static void
begin_list (BerthK3sServices *self)
{
  g_autoptr (SoupMessage) msg = NULL;

  if (!self->running)
    return;
  msg = new_message (self, "/api/v1/services");
  soup_session_send_and_read_async (self->session, msg, G_PRIORITY_DEFAULT, self->cancellable,
                                    list_done, g_object_ref (self));
}

void
berth_k3s_services_start (BerthK3sServices *self)
{
  g_return_if_fail (BERTH_IS_K3S_SERVICES (self));

  if (self->running)
    return;
  self->running = TRUE;
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  begin_list (self);
}

void
berth_k3s_services_stop (BerthK3sServices *self)
{
  g_return_if_fail (BERTH_IS_K3S_SERVICES (self));

  self->running = FALSE;
  g_clear_handle_id (&self->retry_id, g_source_remove);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  if (g_hash_table_size (self->services) > 0)
    {
      g_hash_table_remove_all (self->services);
      g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
    }
}

static gint
compare_services (gconstpointer a, gconstpointer b)
{
  JsonObject *x = *(JsonObject *const *)a;
  JsonObject *y = *(JsonObject *const *)b;
  gint by_namespace = g_strcmp0 (json_object_get_string_member (x, "namespace"),
                                 json_object_get_string_member (y, "namespace"));

  if (by_namespace != 0)
    return by_namespace;
  return g_strcmp0 (json_object_get_string_member (x, "name"),
                    json_object_get_string_member (y, "name"));
}

JsonNode *
berth_k3s_services_dup_list (BerthK3sServices *self)
{
  g_autoptr (GPtrArray) sorted = g_ptr_array_new ();
  g_autoptr (JsonArray) array = json_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (BERTH_IS_K3S_SERVICES (self), NULL);

  g_hash_table_iter_init (&iter, self->services);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (sorted, value);
  g_ptr_array_sort (sorted, compare_services);
  for (guint i = 0; i < sorted->len; i++)
    {
      g_autoptr (JsonNode) node
          = json_node_init_object (json_node_alloc (), g_ptr_array_index (sorted, i));

      json_array_add_element (array, json_node_copy (node));
    }
  return json_node_init_array (json_node_alloc (), array);
}

BerthK3sServices *
berth_k3s_services_new (guint port, const BerthK3sCredentials *credentials, GError **error)
{
  g_autoptr (BerthK3sServices) self = NULL;
  g_autofree gchar *pair = NULL;
  g_autoptr (GError) local_error = NULL;

  g_return_val_if_fail (credentials != NULL, NULL);

  self = g_object_new (BERTH_TYPE_K3S_SERVICES, NULL);
  self->port = port;
  pair = g_strconcat (credentials->client_cert, "\n", credentials->client_key, NULL);
  self->client = g_tls_certificate_new_from_pem (pair, -1, &local_error);
  if (self->client == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "k3s.yaml's client certificate and key cannot be used: %s",
                   local_error->message);
      return NULL;
    }
  self->ca = g_tls_certificate_new_from_pem (credentials->ca_pem, -1, &local_error);
  if (self->ca == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "k3s.yaml's certificate authority cannot be used: %s", local_error->message);
      return NULL;
    }
  return g_steal_pointer (&self);
}

static void
berth_k3s_services_dispose (GObject *object)
{
  BerthK3sServices *self = BERTH_K3S_SERVICES (object);

  self->running = FALSE;
  g_clear_handle_id (&self->retry_id, g_source_remove);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  G_OBJECT_CLASS (berth_k3s_services_parent_class)->dispose (object);
}

static void
berth_k3s_services_finalize (GObject *object)
{
  BerthK3sServices *self = BERTH_K3S_SERVICES (object);

  g_clear_object (&self->session);
  g_clear_object (&self->client);
  g_clear_object (&self->ca);
  g_clear_object (&self->cancellable);
  g_hash_table_unref (self->services);
  g_free (self->resource_version);
  g_string_free (self->pending, TRUE);
  G_OBJECT_CLASS (berth_k3s_services_parent_class)->finalize (object);
}

static void
berth_k3s_services_class_init (BerthK3sServicesClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = berth_k3s_services_dispose;
  object_class->finalize = berth_k3s_services_finalize;
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
berth_k3s_services_init (BerthK3sServices *self)
{
  /* A watch stays open for as long as the server keeps it. */
  self->session = soup_session_new_with_options ("timeout", 0, "idle-timeout", 0, NULL);
  self->services
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)json_object_unref);
  self->pending = g_string_new (NULL);
}
