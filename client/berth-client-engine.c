/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berthd's API calls for what runs in the VM: the engine's images,
 * Kubernetes' versions, services and forwards, and Berth's own updates. As
 * in berth-client-calls.c, each is a request whose answer the _finish
 * reads. */
#include "config.h"

#include "berth-client-private.h"

/* ---- images ------------------------------------------------------------------ */

/**
 * berth_client_list_images_async:
 * @self: a #BerthClient
 * @ns: (nullable): the engine's namespace (containerd), or %NULL
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when berthd has answered
 * @user_data: (closure): data for @callback
 *
 * Lists the engine's images (GET /v1/images); the VM must run.
 */
void
berth_client_list_images_async (BerthClient *self, const gchar *ns, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  g_autofree gchar *path = berth_client_path_with_query ("/v1/images", "namespace", ns, NULL);

  berth_client_route (self, "GET", path, NULL, BERTH_CLIENT_REQUEST_LONG,
                      berth_client_list_images_async, cancellable, callback, user_data);
}

/**
 * berth_client_list_images_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): the images, an array of objects
 */
JsonNode *
berth_client_list_images_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  return berth_client_route_finish (self, result, berth_client_list_images_async, error);
}

/**
 * berth_client_list_image_namespaces_async:
 * @self: a #BerthClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when berthd has answered
 * @user_data: (closure): data for @callback
 *
 * Lists the engine's namespaces (GET /v1/images/namespaces).
 */
void
berth_client_list_image_namespaces_async (BerthClient *self, GCancellable *cancellable,
                                          GAsyncReadyCallback callback, gpointer user_data)
{
  berth_client_route (self, "GET", "/v1/images/namespaces", NULL, BERTH_CLIENT_REQUEST_LONG,
                      berth_client_list_image_namespaces_async, cancellable, callback, user_data);
}

/**
 * berth_client_list_image_namespaces_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): the namespaces
 */
GStrv
berth_client_list_image_namespaces_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  g_autoptr (JsonNode) answer
      = berth_client_route_finish (self, result, berth_client_list_image_namespaces_async, error);

  return answer != NULL ? berth_client_strv_from_answer (answer, "/v1/images/namespaces", error)
                        : NULL;
}

/* What an image operation's answer, {"message", "output"}, printed. */
static gchar *
image_output (BerthClient *self, GAsyncResult *result, gpointer source_tag, const gchar *path,
              GError **error)
{
  g_autoptr (JsonNode) answer = berth_client_object_answer (
      berth_client_route_finish (self, result, source_tag, error), path, error);

  if (answer == NULL)
    return NULL;
  return g_strdup (
      json_object_get_string_member_with_default (json_node_get_object (answer), "output", ""));
}

/**
 * berth_client_pull_image_async:
 * @self: a #BerthClient
 * @ref: the image to pull ("busybox:latest")
 * @ns: (nullable): the engine's namespace, or %NULL
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the engine is done
 * @user_data: (closure): data for @callback
 *
 * Pulls an image (POST /v1/images/pull); berthd answers when it is done.
 */
void
berth_client_pull_image_async (BerthClient *self, const gchar *ref, const gchar *ns,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data)
{
  g_autoptr (JsonNode) body = berth_client_string_body ("ref", ref, "namespace", ns, NULL);

  g_return_if_fail (ref != NULL);
  berth_client_route (self, "POST", "/v1/images/pull", body, BERTH_CLIENT_REQUEST_LONG,
                      berth_client_pull_image_async, cancellable, callback, user_data);
}

/**
 * berth_client_pull_image_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): what the engine's CLI printed
 */
gchar *
berth_client_pull_image_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  return image_output (self, result, berth_client_pull_image_async, "/v1/images/pull", error);
}

/**
 * berth_client_build_image_async:
 * @self: a #BerthClient
 * @context: the build context, a directory on this machine
 * @tag: (nullable): the tag of the image built, or %NULL
 * @ns: (nullable): the engine's namespace, or %NULL
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the engine is done
 * @user_data: (closure): data for @callback
 *
 * Builds an image (POST /v1/images/build); berthd answers when it is done.
 */
void
berth_client_build_image_async (BerthClient *self, const gchar *context, const gchar *tag,
                                const gchar *ns, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (JsonNode) body
      = berth_client_string_body ("context", context, "tag", tag, "namespace", ns, NULL);

  g_return_if_fail (context != NULL);
  berth_client_route (self, "POST", "/v1/images/build", body, BERTH_CLIENT_REQUEST_LONG,
                      berth_client_build_image_async, cancellable, callback, user_data);
}

/**
 * berth_client_build_image_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): what the engine's CLI printed
 */
gchar *
berth_client_build_image_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  return image_output (self, result, berth_client_build_image_async, "/v1/images/build", error);
}

/**
 * berth_client_tag_image_async:
 * @self: a #BerthClient
 * @source: the image to tag
 * @target: its new name
 * @ns: (nullable): the engine's namespace, or %NULL
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the engine is done
 * @user_data: (closure): data for @callback
 *
 * Tags an image (POST /v1/images/tag).
 */
void
berth_client_tag_image_async (BerthClient *self, const gchar *source, const gchar *target,
                              const gchar *ns, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (JsonNode) body
      = berth_client_string_body ("source", source, "target", target, "namespace", ns, NULL);

  g_return_if_fail (source != NULL && target != NULL);
  berth_client_route (self, "POST", "/v1/images/tag", body, BERTH_CLIENT_REQUEST_LONG,
                      berth_client_tag_image_async, cancellable, callback, user_data);
}

/**
 * berth_client_tag_image_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): what the engine's CLI printed
 */
gchar *
berth_client_tag_image_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  return image_output (self, result, berth_client_tag_image_async, "/v1/images/tag", error);
}

/**
 * berth_client_remove_image_async:
 * @self: a #BerthClient
 * @ref: the image to remove
 * @ns: (nullable): the engine's namespace, or %NULL
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the engine is done
 * @user_data: (closure): data for @callback
 *
 * Removes an image (POST /v1/images/remove).
 */
void
berth_client_remove_image_async (BerthClient *self, const gchar *ref, const gchar *ns,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  g_autoptr (JsonNode) body = berth_client_string_body ("ref", ref, "namespace", ns, NULL);

  g_return_if_fail (ref != NULL);
  berth_client_route (self, "POST", "/v1/images/remove", body, BERTH_CLIENT_REQUEST_LONG,
                      berth_client_remove_image_async, cancellable, callback, user_data);
}

/**
 * berth_client_remove_image_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): what the engine's CLI printed
 */
gchar *
berth_client_remove_image_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  return image_output (self, result, berth_client_remove_image_async, "/v1/images/remove", error);
}

/* ---- Kubernetes --------------------------------------------------------------- */

/**
 * berth_client_list_kubernetes_versions_async:
 * @self: a #BerthClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when berthd has answered
 * @user_data: (closure): data for @callback
 *
 * Lists the Kubernetes versions the provider offers (GET /v1/k8s_versions).
 */
void
berth_client_list_kubernetes_versions_async (BerthClient *self, GCancellable *cancellable,
                                             GAsyncReadyCallback callback, gpointer user_data)
{
  berth_client_route (self, "GET", "/v1/k8s_versions", NULL, BERTH_CLIENT_REQUEST_LONG,
                      berth_client_list_kubernetes_versions_async, cancellable, callback,
                      user_data);
}

/**
 * berth_client_list_kubernetes_versions_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): berthd's answer, as it gave it
 */
JsonNode *
berth_client_list_kubernetes_versions_finish (BerthClient *self, GAsyncResult *result,
                                              GError **error)
{
  return berth_client_route_finish (self, result, berth_client_list_kubernetes_versions_async,
                                    error);
}

/**
 * berth_client_list_kubernetes_services_async:
 * @self: a #BerthClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when berthd has answered
 * @user_data: (closure): data for @callback
 *
 * Lists Kubernetes' services and their forwards (GET /v1/k8s_services).
 */
void
berth_client_list_kubernetes_services_async (BerthClient *self, GCancellable *cancellable,
                                             GAsyncReadyCallback callback, gpointer user_data)
{
  berth_client_route (self, "GET", "/v1/k8s_services", NULL, BERTH_CLIENT_REQUEST_LONG,
                      berth_client_list_kubernetes_services_async, cancellable, callback,
                      user_data);
}

/**
 * berth_client_list_kubernetes_services_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): berthd's answer, as it gave it
 */
JsonNode *
berth_client_list_kubernetes_services_finish (BerthClient *self, GAsyncResult *result,
                                              GError **error)
{
  return berth_client_route_finish (self, result, berth_client_list_kubernetes_services_async,
                                    error);
}

/**
 * berth_client_forward_service_async:
 * @self: a #BerthClient
 * @ns: (nullable): the service's namespace, or %NULL for "default"
 * @service: the service's name
 * @k8s_port: its port, by number or by name
 * @host_port: the port on 127.0.0.1, or 0 for any free one
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the forward is in place
 * @user_data: (closure): data for @callback
 *
 * Forwards a Kubernetes service's port to the host (POST
 * /v1/port_forwarding, as rdctl's).
 */
void
berth_client_forward_service_async (BerthClient *self, const gchar *ns, const gchar *service,
                                    const gchar *k8s_port, guint host_port,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  g_autoptr (JsonNode) body = NULL;
  JsonObject *object;
  guint64 number = 0;

  g_return_if_fail (service != NULL && k8s_port != NULL);
  g_return_if_fail (host_port <= G_MAXUINT16);

  body = berth_client_string_body ("namespace", ns, "service", service, NULL);
  object = json_node_get_object (body);
  /* A port's number goes as a number, its name as a string, as rdctl
   * sends them. */
  if (g_ascii_string_to_unsigned (k8s_port, 10, 1, G_MAXUINT16, &number, NULL))
    json_object_set_int_member (object, "k8sPort", (gint64)number);
  else
    json_object_set_string_member (object, "k8sPort", k8s_port);
  if (host_port != 0)
    json_object_set_int_member (object, "hostPort", host_port);
  berth_client_route (self, "POST", "/v1/port_forwarding", body, BERTH_CLIENT_REQUEST_LONG,
                      berth_client_forward_service_async, cancellable, callback, user_data);
}

/**
 * berth_client_forward_service_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: the port on 127.0.0.1 that reaches the service, 0 on error
 */
guint
berth_client_forward_service_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  g_autoptr (JsonNode) answer
      = berth_client_route_finish (self, result, berth_client_forward_service_async, error);
  guint64 port = 0;

  if (answer == NULL)
    return 0;
  /* rdctl's answer is the port as text; a JSON number is taken too. */
  if (JSON_NODE_HOLDS_VALUE (answer) && json_node_get_value_type (answer) == G_TYPE_INT64
      && json_node_get_int (answer) > 0 && json_node_get_int (answer) <= G_MAXUINT16)
    return (guint)json_node_get_int (answer);
  if (JSON_NODE_HOLDS_VALUE (answer) && json_node_get_value_type (answer) == G_TYPE_STRING)
    {
      g_autofree gchar *text = g_strstrip (g_strdup (json_node_get_string (answer)));

      if (g_ascii_string_to_unsigned (text, 10, 1, G_MAXUINT16, &port, NULL))
        return (guint)port;
    }
  berth_client_protocol_error (error, "/v1/port_forwarding", "a port number");
  return 0;
}

/**
 * berth_client_unforward_service_async:
 * @self: a #BerthClient
 * @ns: (nullable): the service's namespace, or %NULL for "default"
 * @service: the service's name
 * @k8s_port: its port, by number or by name
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the forward is gone
 * @user_data: (closure): data for @callback
 *
 * Removes a forward of a Kubernetes service (DELETE /v1/port_forwarding).
 */
void
berth_client_unforward_service_async (BerthClient *self, const gchar *ns, const gchar *service,
                                      const gchar *k8s_port, GCancellable *cancellable,
                                      GAsyncReadyCallback callback, gpointer user_data)
{
  g_autofree gchar *path = NULL;

  g_return_if_fail (service != NULL && k8s_port != NULL);
  path = berth_client_path_with_query ("/v1/port_forwarding", "namespace", ns, "service", service,
                                       "k8sPort", k8s_port, NULL);
  berth_client_route (self, "DELETE", path, NULL, BERTH_CLIENT_REQUEST_LONG,
                      berth_client_unforward_service_async, cancellable, callback, user_data);
}

/**
 * berth_client_unforward_service_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: whether the forward is gone
 */
gboolean
berth_client_unforward_service_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  return berth_client_route_finish_boolean (self, result, berth_client_unforward_service_async,
                                            error);
}

/* ---- updates ------------------------------------------------------------------ */

/**
 * berth_client_get_update_async:
 * @self: a #BerthClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when berthd has answered
 * @user_data: (closure): data for @callback
 *
 * Asks where Berth's own updates stand (GET /v1/update).
 */
void
berth_client_get_update_async (BerthClient *self, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  berth_client_route (self, "GET", "/v1/update", NULL, 0, berth_client_get_update_async,
                      cancellable, callback, user_data);
}

/**
 * berth_client_get_update_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): the update status: {"state", "detail",
 *   "latest", ...}
 */
JsonNode *
berth_client_get_update_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  return berth_client_object_answer (
      berth_client_route_finish (self, result, berth_client_get_update_async, error), "/v1/update",
      error);
}

/**
 * berth_client_check_update_async:
 * @self: a #BerthClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the check is done
 * @user_data: (closure): data for @callback
 *
 * Checks for a newer Berth now (PUT /v1/update/check).
 */
void
berth_client_check_update_async (BerthClient *self, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  berth_client_route (self, "PUT", "/v1/update/check", NULL, BERTH_CLIENT_REQUEST_LONG,
                      berth_client_check_update_async, cancellable, callback, user_data);
}

/**
 * berth_client_check_update_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): the update status after the check
 */
JsonNode *
berth_client_check_update_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  return berth_client_object_answer (
      berth_client_route_finish (self, result, berth_client_check_update_async, error),
      "/v1/update/check", error);
}

/**
 * berth_client_apply_update_async:
 * @self: a #BerthClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when berthd has answered
 * @user_data: (closure): data for @callback
 *
 * Installs a newer Berth, downloading it first when needed (PUT
 * /v1/update/apply).
 */
void
berth_client_apply_update_async (BerthClient *self, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  berth_client_route (self, "PUT", "/v1/update/apply", NULL, BERTH_CLIENT_REQUEST_LONG,
                      berth_client_apply_update_async, cancellable, callback, user_data);
}

/**
 * berth_client_apply_update_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: whether berthd did it
 */
gboolean
berth_client_apply_update_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  return berth_client_route_finish_boolean (self, result, berth_client_apply_update_async, error);
}
