/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "berth-k3s-kubeconfig.h"

G_BEGIN_DECLS

/* The cluster's services, listed and then watched through the Kubernetes API
 * (GET /api/v1/services, then ?watch=1 from the list's resourceVersion) over
 * TLS with the client certificate of k3s.yaml. The watch is started again
 * (listing anew) when the server ends it.
 *
 * Signals:
 *   "changed" () — the list changed. */
#define BERTH_TYPE_K3S_SERVICES (berth_k3s_services_get_type ())
G_DECLARE_FINAL_TYPE (BerthK3sServices, berth_k3s_services, BERTH, K3S_SERVICES, GObject)

BerthK3sServices *
berth_k3s_services_new (guint port, const BerthK3sCredentials *credentials, GError **error);
void
berth_k3s_services_start (BerthK3sServices *self);
void
berth_k3s_services_stop (BerthK3sServices *self);
/* An array of {namespace, name, type, clusterIP, ports: [{name, port,
 * protocol, nodePort}]}, sorted by namespace and name. */
JsonNode *
berth_k3s_services_dup_list (BerthK3sServices *self);

/* Reads one service object of the API (a list item or a watch event's
 * object) into the shape above; NULL with an error when it is not one. */
JsonObject *
berth_k3s_service_from_api (JsonNode *node, GError **error);
/* Reads a ServiceList (the body of GET /api/v1/services): its services, in
 * the shape above, and its metadata.resourceVersion. */
GPtrArray *
berth_k3s_service_list_parse (const gchar *data, gsize length, gchar **resource_version_out,
                              GError **error);
/* Reads one line of a watch: {type: ADDED|MODIFIED|DELETED|BOOKMARK|ERROR,
 * object}. @type_out gets the type; the service is NULL for BOOKMARK and
 * ERROR. */
JsonObject *
berth_k3s_service_event_parse (const gchar *line, gsize length, gchar **type_out,
                               gchar **resource_version_out, GError **error);

G_END_DECLS
