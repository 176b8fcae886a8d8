/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berthd's API calls, one _async/_finish pair each: what berthd is, its
 * settings and its VM. Each is a request (berth-client-request.c) whose
 * answer the _finish reads into what the call returns. The routes are those
 * of frontends/daemon/berth-api-server.c and, where Rancher Desktop has
 * them, rdctl's. The engine's calls are in berth-client-engine.c. */
#include "config.h"

#include "berth-client-private.h"

/**
 * berth_client_call_async:
 * @self: a #BerthClient
 * @method: the HTTP method ("GET")
 * @path: the path under berthd's address, with its query ("/v1/settings")
 * @body: (nullable): the request's JSON body, or %NULL for none
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when berthd has answered
 * @user_data: (closure): data for @callback
 *
 * Sends any request to berthd's API, for what has no call of its own.
 */
void
berth_client_call_async (BerthClient *self, const gchar *method, const gchar *path, JsonNode *body,
                         GCancellable *cancellable, GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_return_if_fail (method != NULL && path != NULL);
  berth_client_route (self, method, path, body, BERTH_CLIENT_REQUEST_LONG, berth_client_call_async,
                      cancellable, callback, user_data);
}

/**
 * berth_client_call_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): berthd's answer: its JSON, a string node for a
 *   text answer, or a null node for an empty one
 */
JsonNode *
berth_client_call_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  return berth_client_route_finish (self, result, berth_client_call_async, error);
}

/* ---- what berthd is --------------------------------------------------------- */

/**
 * berth_client_list_endpoints_async:
 * @self: a #BerthClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when berthd has answered
 * @user_data: (closure): data for @callback
 *
 * Asks which endpoints berthd has (GET /v1).
 */
void
berth_client_list_endpoints_async (BerthClient *self, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data)
{
  berth_client_route (self, "GET", "/v1", NULL, 0, berth_client_list_endpoints_async, cancellable,
                      callback, user_data);
}

/**
 * berth_client_list_endpoints_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): the endpoints, each "METHOD /path"
 */
GStrv
berth_client_list_endpoints_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  g_autoptr (JsonNode) answer
      = berth_client_route_finish (self, result, berth_client_list_endpoints_async, error);

  return answer != NULL ? berth_client_strv_from_answer (answer, "/v1", error) : NULL;
}

/**
 * berth_client_get_about_async:
 * @self: a #BerthClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when berthd has answered
 * @user_data: (closure): data for @callback
 *
 * Asks berthd about itself: version, platform, backend (GET /v1/about).
 */
void
berth_client_get_about_async (BerthClient *self, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  berth_client_route (self, "GET", "/v1/about", NULL, 0, berth_client_get_about_async, cancellable,
                      callback, user_data);
}

/**
 * berth_client_get_about_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): the object berthd answered
 */
JsonNode *
berth_client_get_about_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  return berth_client_object_answer (
      berth_client_route_finish (self, result, berth_client_get_about_async, error), "/v1/about",
      error);
}

/**
 * berth_client_get_vm_async:
 * @self: a #BerthClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when berthd has answered
 * @user_data: (closure): data for @callback
 *
 * Asks what the backend knows of its VM: resources, acceleration, how to
 * reach it (GET /v1/vm).
 */
void
berth_client_get_vm_async (BerthClient *self, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
  berth_client_route (self, "GET", "/v1/vm", NULL, 0, berth_client_get_vm_async, cancellable,
                      callback, user_data);
}

/**
 * berth_client_get_vm_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): the object berthd answered
 */
JsonNode *
berth_client_get_vm_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  return berth_client_object_answer (
      berth_client_route_finish (self, result, berth_client_get_vm_async, error), "/v1/vm", error);
}

/**
 * berth_client_list_plugins_async:
 * @self: a #BerthClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when berthd has answered
 * @user_data: (closure): data for @callback
 *
 * Asks which plugins berthd loaded, and why others failed (GET /v1/plugins).
 */
void
berth_client_list_plugins_async (BerthClient *self, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  berth_client_route (self, "GET", "/v1/plugins", NULL, 0, berth_client_list_plugins_async,
                      cancellable, callback, user_data);
}

/**
 * berth_client_list_plugins_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): the plugins, an array of objects
 */
JsonNode *
berth_client_list_plugins_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  return berth_client_route_finish (self, result, berth_client_list_plugins_async, error);
}

/**
 * berth_client_run_diagnostics_async:
 * @self: a #BerthClient
 * @check_id: (nullable): the one check to run, or %NULL for all
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when berthd has answered
 * @user_data: (closure): data for @callback
 *
 * Runs berthd's diagnostic checks (GET /v1/diagnostic_checks).
 */
void
berth_client_run_diagnostics_async (BerthClient *self, const gchar *check_id,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  g_autofree gchar *path
      = berth_client_path_with_query ("/v1/diagnostic_checks", "checkID", check_id, NULL);

  berth_client_route (self, "GET", path, NULL, 0, berth_client_run_diagnostics_async, cancellable,
                      callback, user_data);
}

/**
 * berth_client_run_diagnostics_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): {"last_update", "checks": [...]}, as rdctl's
 */
JsonNode *
berth_client_run_diagnostics_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  return berth_client_object_answer (
      berth_client_route_finish (self, result, berth_client_run_diagnostics_async, error),
      "/v1/diagnostic_checks", error);
}

/* ---- settings --------------------------------------------------------------- */

/**
 * berth_client_get_settings_async:
 * @self: a #BerthClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when berthd has answered
 * @user_data: (closure): data for @callback
 *
 * Asks for the settings (GET /v1/settings).
 */
void
berth_client_get_settings_async (BerthClient *self, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  berth_client_route (self, "GET", "/v1/settings", NULL, 0, berth_client_get_settings_async,
                      cancellable, callback, user_data);
}

/**
 * berth_client_get_settings_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): the settings, an object as settings.json has them
 */
JsonNode *
berth_client_get_settings_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  return berth_client_object_answer (
      berth_client_route_finish (self, result, berth_client_get_settings_async, error),
      "/v1/settings", error);
}

/**
 * berth_client_set_settings_async:
 * @self: a #BerthClient
 * @changes: the settings to change, an object shaped as settings.json
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when berthd has answered
 * @user_data: (closure): data for @callback
 *
 * Changes settings (PUT /v1/settings). berthd refuses an unknown key or a
 * bad value with a message naming it (%BERTH_CLIENT_ERROR_REFUSED); a
 * change that needs a restart restarts a running VM.
 */
void
berth_client_set_settings_async (BerthClient *self, JsonNode *changes, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (changes != NULL);
  berth_client_route (self, "PUT", "/v1/settings", changes, 0, berth_client_set_settings_async,
                      cancellable, callback, user_data);
}

/* The "stateSerial" of @answer, -1 when it has none. */
static gint64
answer_serial (JsonNode *answer)
{
  JsonNode *serial = JSON_NODE_HOLDS_OBJECT (answer)
                         ? json_object_get_member (json_node_get_object (answer), "stateSerial")
                         : NULL;

  if (serial == NULL || !JSON_NODE_HOLDS_VALUE (serial)
      || json_node_get_value_type (serial) != G_TYPE_INT64)
    return -1;
  return json_node_get_int (serial);
}

/**
 * berth_client_set_settings_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @out_state_serial: (out) (optional): the state serial from which the
 *   state changes are those the change led to (a restart), or -1
 * @error: return location for an error
 *
 * Returns: (transfer full): berthd's answer: {"pending", "restarting",
 *   "stateSerial"}
 */
JsonNode *
berth_client_set_settings_finish (BerthClient *self, GAsyncResult *result, gint64 *out_state_serial,
                                  GError **error)
{
  JsonNode *answer = berth_client_object_answer (
      berth_client_route_finish (self, result, berth_client_set_settings_async, error),
      "/v1/settings", error);

  if (out_state_serial != NULL)
    *out_state_serial = answer != NULL ? answer_serial (answer) : -1;
  return answer;
}

/**
 * berth_client_propose_settings_async:
 * @self: a #BerthClient
 * @changes: the settings a change would set, shaped as settings.json
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when berthd has answered
 * @user_data: (closure): data for @callback
 *
 * Asks what a change would restart or reset, changing nothing (PUT
 * /v1/propose_settings).
 */
void
berth_client_propose_settings_async (BerthClient *self, JsonNode *changes,
                                     GCancellable *cancellable, GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  g_return_if_fail (changes != NULL);
  berth_client_route (self, "PUT", "/v1/propose_settings", changes, 0,
                      berth_client_propose_settings_async, cancellable, callback, user_data);
}

/**
 * berth_client_propose_settings_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): each setting that would change, with its
 *   current and desired values and the severity (restart or reset)
 */
JsonNode *
berth_client_propose_settings_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  return berth_client_route_finish (self, result, berth_client_propose_settings_async, error);
}

/**
 * berth_client_import_settings_async:
 * @self: a #BerthClient
 * @settings: a Rancher Desktop settings.json, read as JSON
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when berthd has answered
 * @user_data: (closure): data for @callback
 *
 * Imports Rancher Desktop's settings (PUT /v1/settings/import).
 */
void
berth_client_import_settings_async (BerthClient *self, JsonNode *settings,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  g_return_if_fail (settings != NULL);
  berth_client_route (self, "PUT", "/v1/settings/import", settings, 0,
                      berth_client_import_settings_async, cancellable, callback, user_data);
}

/**
 * berth_client_import_settings_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): what changed, what it takes, and which keys
 *   were dropped
 */
JsonNode *
berth_client_import_settings_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  return berth_client_object_answer (
      berth_client_route_finish (self, result, berth_client_import_settings_async, error),
      "/v1/settings/import", error);
}

/* ---- the VM ------------------------------------------------------------------ */

/**
 * berth_client_get_backend_state_async:
 * @self: a #BerthClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when berthd has answered
 * @user_data: (closure): data for @callback
 *
 * Asks for the VM's state, and while it runs its engine sockets and port
 * forwards (GET /v1/backend_state).
 */
void
berth_client_get_backend_state_async (BerthClient *self, GCancellable *cancellable,
                                      GAsyncReadyCallback callback, gpointer user_data)
{
  berth_client_route (self, "GET", "/v1/backend_state", NULL, 0,
                      berth_client_get_backend_state_async, cancellable, callback, user_data);
}

/**
 * berth_client_get_backend_state_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: (transfer full): {"vmState", "locked", "reason", "stateSerial",
 *   ...}
 */
JsonNode *
berth_client_get_backend_state_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  return berth_client_object_answer (
      berth_client_route_finish (self, result, berth_client_get_backend_state_async, error),
      "/v1/backend_state", error);
}

/* What a PUT /v1/backend_state answered: the state it left and its
 * serial. */
static gboolean
backend_state_finish (BerthClient *self, GAsyncResult *result, gpointer source_tag,
                      BerthClientState *out_state, gint64 *out_state_serial, GError **error)
{
  g_autoptr (JsonNode) answer = berth_client_object_answer (
      berth_client_route_finish (self, result, source_tag, error), "/v1/backend_state", error);
  const gchar *state;
  BerthClientState parsed = BERTH_CLIENT_STATE_STOPPED;

  if (answer == NULL)
    return FALSE;
  state
      = json_object_get_string_member_with_default (json_node_get_object (answer), "vmState", NULL);
  if (!berth_client_state_from_string (state, &parsed))
    return berth_client_protocol_error (error, "/v1/backend_state",
                                        "a backend state with its vmState");
  if (out_state != NULL)
    *out_state = parsed;
  if (out_state_serial != NULL)
    *out_state_serial = answer_serial (answer);
  return TRUE;
}

/**
 * berth_client_start_async:
 * @self: a #BerthClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when berthd has accepted the start
 * @user_data: (closure): data for @callback
 *
 * Asks berthd to start the VM (PUT /v1/backend_state {"vmState":
 * "STARTED"}). It answers at once; #BerthClient::state-changed tells how
 * the start goes, from the serial the finish gives.
 */
void
berth_client_start_async (BerthClient *self, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (JsonNode) body = berth_client_string_body ("vmState", "STARTED", NULL);

  berth_client_route (self, "PUT", "/v1/backend_state", body, 0, berth_client_start_async,
                      cancellable, callback, user_data);
}

/**
 * berth_client_start_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @out_state: (out) (optional): the state the request left (STARTED when
 *   the VM ran already)
 * @out_state_serial: (out) (optional): the serial from which the states
 *   are those the start led to, or -1 when berthd does not say
 * @error: return location for an error
 *
 * Returns: whether berthd accepted the start
 */
gboolean
berth_client_start_finish (BerthClient *self, GAsyncResult *result, BerthClientState *out_state,
                           gint64 *out_state_serial, GError **error)
{
  return backend_state_finish (self, result, berth_client_start_async, out_state, out_state_serial,
                               error);
}

/**
 * berth_client_stop_async:
 * @self: a #BerthClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when berthd has accepted the stop
 * @user_data: (closure): data for @callback
 *
 * Asks berthd to stop the VM (PUT /v1/backend_state {"vmState":
 * "STOPPED"}); berthd keeps running.
 */
void
berth_client_stop_async (BerthClient *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_autoptr (JsonNode) body = berth_client_string_body ("vmState", "STOPPED", NULL);

  berth_client_route (self, "PUT", "/v1/backend_state", body, 0, berth_client_stop_async,
                      cancellable, callback, user_data);
}

/**
 * berth_client_stop_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @out_state: (out) (optional): the state the request left
 * @out_state_serial: (out) (optional): the serial from which the states
 *   are those the stop led to, or -1 when berthd does not say
 * @error: return location for an error
 *
 * Returns: whether berthd accepted the stop
 */
gboolean
berth_client_stop_finish (BerthClient *self, GAsyncResult *result, BerthClientState *out_state,
                          gint64 *out_state_serial, GError **error)
{
  return backend_state_finish (self, result, berth_client_stop_async, out_state, out_state_serial,
                               error);
}

/**
 * berth_client_set_locked_async:
 * @self: a #BerthClient
 * @locked: whether the backend is to be locked
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when berthd has answered
 * @user_data: (closure): data for @callback
 *
 * Locks or unlocks the backend (PUT /v1/backend_state {"locked"}).
 */
void
berth_client_set_locked_async (BerthClient *self, gboolean locked, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (JsonObject) object = json_object_new ();
  g_autoptr (JsonNode) body = NULL;

  json_object_set_boolean_member (object, "locked", locked);
  body = json_node_init_object (json_node_alloc (), object);
  berth_client_route (self, "PUT", "/v1/backend_state", body, 0, berth_client_set_locked_async,
                      cancellable, callback, user_data);
}

/**
 * berth_client_set_locked_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: whether berthd did it
 */
gboolean
berth_client_set_locked_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  return backend_state_finish (self, result, berth_client_set_locked_async, NULL, NULL, error);
}

/**
 * berth_client_shutdown_async:
 * @self: a #BerthClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when berthd has accepted
 * @user_data: (closure): data for @callback
 *
 * Asks berthd to stop the VM and quit (PUT /v1/shutdown).
 */
void
berth_client_shutdown_async (BerthClient *self, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  berth_client_route (self, "PUT", "/v1/shutdown", NULL, BERTH_CLIENT_REQUEST_NO_LAUNCH,
                      berth_client_shutdown_async, cancellable, callback, user_data);
}

/**
 * berth_client_shutdown_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: whether berthd accepted
 */
gboolean
berth_client_shutdown_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  return berth_client_route_finish_boolean (self, result, berth_client_shutdown_async, error);
}

/**
 * berth_client_factory_reset_async:
 * @self: a #BerthClient
 * @keep_system_images: whether the cached VM images stay
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when berthd has accepted
 * @user_data: (closure): data for @callback
 *
 * Asks berthd to remove everything Berth wrote and quit (PUT
 * /v1/factory_reset).
 */
void
berth_client_factory_reset_async (BerthClient *self, gboolean keep_system_images,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data)
{
  g_autoptr (JsonObject) object = json_object_new ();
  g_autoptr (JsonNode) body = NULL;

  json_object_set_boolean_member (object, "keepSystemImages", keep_system_images);
  body = json_node_init_object (json_node_alloc (), object);
  berth_client_route (self, "PUT", "/v1/factory_reset", body, BERTH_CLIENT_REQUEST_NO_LAUNCH,
                      berth_client_factory_reset_async, cancellable, callback, user_data);
}

/**
 * berth_client_factory_reset_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: whether berthd accepted
 */
gboolean
berth_client_factory_reset_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  return berth_client_route_finish_boolean (self, result, berth_client_factory_reset_async, error);
}

/**
 * berth_client_reset_kubernetes_async:
 * @self: a #BerthClient
 * @wipe: %FALSE for Kubernetes' state only ("fast"), %TRUE for its images
 *   too ("wipe")
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when berthd has accepted
 * @user_data: (closure): data for @callback
 *
 * Resets Kubernetes (PUT /v1/k8s_reset).
 */
void
berth_client_reset_kubernetes_async (BerthClient *self, gboolean wipe, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (JsonNode) body = berth_client_string_body ("mode", wipe ? "wipe" : "fast", NULL);

  berth_client_route (self, "PUT", "/v1/k8s_reset", body, 0, berth_client_reset_kubernetes_async,
                      cancellable, callback, user_data);
}

/**
 * berth_client_reset_kubernetes_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: whether berthd accepted
 */
gboolean
berth_client_reset_kubernetes_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  return berth_client_route_finish_boolean (self, result, berth_client_reset_kubernetes_async,
                                            error);
}

/**
 * berth_client_reset_vm_async:
 * @self: a #BerthClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when berthd has accepted
 * @user_data: (closure): data for @callback
 *
 * Removes the VM's disk, made anew at the next start (PUT /v1/vm_reset).
 */
void
berth_client_reset_vm_async (BerthClient *self, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  berth_client_route (self, "PUT", "/v1/vm_reset", NULL, 0, berth_client_reset_vm_async,
                      cancellable, callback, user_data);
}

/**
 * berth_client_reset_vm_finish:
 * @self: a #BerthClient
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Returns: whether berthd accepted
 */
gboolean
berth_client_reset_vm_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  return berth_client_route_finish_boolean (self, result, berth_client_reset_vm_async, error);
}
