/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "berth.h"

#include "berth-test-util.h"

/* A plugin with every capability and no operations: each one must answer
 * NOT_SUPPORTED (async and sync) or its documented default. */
#define TEST_TYPE_ALL_NULL (test_all_null_get_type ())
G_DECLARE_FINAL_TYPE (TestAllNull, test_all_null, TEST, ALL_NULL, BerthPlugin)

struct _TestAllNull
{
  BerthPlugin parent_instance;
};

static void
test_all_null_backend_init (BerthBackendInterface *iface)
{
}

static void
test_all_null_kubernetes_init (BerthKubernetesProviderInterface *iface)
{
}

static void
test_all_null_images_init (BerthImageProcessorInterface *iface)
{
}

static void
test_all_null_integration_init (BerthIntegrationInterface *iface)
{
}

static void
test_all_null_updater_init (BerthUpdaterInterface *iface)
{
}

/* Added in a scrambled order: the names still come out in a fixed one. */
G_DEFINE_FINAL_TYPE_WITH_CODE (
    TestAllNull, test_all_null, BERTH_TYPE_PLUGIN,
    G_IMPLEMENT_INTERFACE (BERTH_TYPE_UPDATER, test_all_null_updater_init)
        G_IMPLEMENT_INTERFACE (BERTH_TYPE_IMAGE_PROCESSOR, test_all_null_images_init)
            G_IMPLEMENT_INTERFACE (BERTH_TYPE_BACKEND, test_all_null_backend_init)
                G_IMPLEMENT_INTERFACE (BERTH_TYPE_INTEGRATION, test_all_null_integration_init)
                    G_IMPLEMENT_INTERFACE (BERTH_TYPE_KUBERNETES_PROVIDER,
                                           test_all_null_kubernetes_init))

enum
{
  PROP_0,
  PROP_STATE,
  PROP_STATE_REASON,
};

static void
test_all_null_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_enum (value, BERTH_STATE_ERROR);
      break;
    case PROP_STATE_REASON:
      g_value_set_string (value, "it does nothing");
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
test_all_null_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
test_all_null_class_init (TestAllNullClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = test_all_null_get_property;
  object_class->set_property = test_all_null_set_property;
  g_object_class_override_property (object_class, PROP_STATE, "state");
  g_object_class_override_property (object_class, PROP_STATE_REASON, "state-reason");
}

static void
test_all_null_init (TestAllNull *self)
{
}

/* Not a plugin: the message names its type instead. The updater's check is a
 * GTask with no _finish vfunc, which the core propagates itself. */
#define TEST_TYPE_BARE_UPDATER (test_bare_updater_get_type ())
G_DECLARE_FINAL_TYPE (TestBareUpdater, test_bare_updater, TEST, BARE_UPDATER, GObject)

struct _TestBareUpdater
{
  GObject parent_instance;
};

static void
test_bare_updater_check_async (BerthUpdater *updater, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (updater, cancellable, callback, user_data);
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "version");
  json_builder_add_string_value (builder, "9.9.9");
  json_builder_end_object (builder);
  g_task_set_source_tag (task, test_bare_updater_check_async);
  g_task_return_pointer (task, json_builder_get_root (builder), (GDestroyNotify)json_node_unref);
}

static void
test_bare_updater_iface_init (BerthUpdaterInterface *iface)
{
  iface->check_async = test_bare_updater_check_async;
}

G_DEFINE_FINAL_TYPE_WITH_CODE (TestBareUpdater, test_bare_updater, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (BERTH_TYPE_UPDATER,
                                                      test_bare_updater_iface_init))

static void
test_bare_updater_class_init (TestBareUpdaterClass *klass)
{
}

static void
test_bare_updater_init (TestBareUpdater *self)
{
}

/* Async plumbing: each call's result lands in a slot, the test spins the main
 * context until it is there. */
static void
store_result (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **slot = user_data;

  g_assert_null (*slot);
  *slot = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

static void
assert_not_supported (GError *error, const gchar *message)
{
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED);
  g_assert_cmpstr (error->message, ==, message);
}

static BerthPluginLoader *
load_test_plugins (void)
{
  g_autoptr (BerthPluginLoader) loader = berth_plugin_loader_new (NULL, NULL);
  g_autofree gchar *dir = g_test_build_filename (G_TEST_BUILT, "plugins", NULL);
  g_autoptr (GError) error = NULL;

  berth_plugin_loader_add_search_path (loader, dir);
  g_assert_true (berth_plugin_loader_load_all (loader, NULL, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&loader);
}

static void
test_all_null_async_not_supported (void)
{
  g_autoptr (TestAllNull) plugin = g_object_new (TEST_TYPE_ALL_NULL, "name", "all-null", NULL);
  BerthBackend *backend = BERTH_BACKEND (plugin);
  BerthKubernetesProvider *kubernetes = BERTH_KUBERNETES_PROVIDER (plugin);
  BerthImageProcessor *images = BERTH_IMAGE_PROCESSOR (plugin);
  BerthIntegration *integration = BERTH_INTEGRATION (plugin);
  BerthUpdater *updater = BERTH_UPDATER (plugin);
  const gchar *argv[] = { "true", NULL };
  g_autoptr (GBytes) contents = g_bytes_new_static ("x", 1);

  /* Each call, its _finish, and the message a person would read. */
#define CHECK_BOOLEAN(call, finish, obj, message)                                                  \
  G_STMT_START                                                                                     \
  {                                                                                                \
    g_autoptr (GAsyncResult) result = NULL;                                                        \
    g_autoptr (GError) error = NULL;                                                               \
    call;                                                                                          \
    g_assert_false (finish (obj, wait_for (&result), &error));                                     \
    assert_not_supported (error, message);                                                         \
  }                                                                                                \
  G_STMT_END
#define CHECK_POINTER(call, finish, obj, message)                                                  \
  G_STMT_START                                                                                     \
  {                                                                                                \
    g_autoptr (GAsyncResult) result = NULL;                                                        \
    g_autoptr (GError) error = NULL;                                                               \
    g_assert_null (finish (obj, wait_for (&result), &error));                                      \
    assert_not_supported (error, message);                                                         \
  }                                                                                                \
  G_STMT_END

  CHECK_BOOLEAN (berth_backend_start_async (backend, NULL, store_result, &result),
                 berth_backend_start_finish, backend, "all-null does not support Backend.start");
  CHECK_BOOLEAN (berth_backend_stop_async (backend, NULL, store_result, &result),
                 berth_backend_stop_finish, backend, "all-null does not support Backend.stop");
  CHECK_BOOLEAN (berth_backend_delete_async (backend, NULL, store_result, &result),
                 berth_backend_delete_finish, backend, "all-null does not support Backend.delete");
  CHECK_BOOLEAN (berth_backend_write_file_async (backend, "/etc/x", contents, 0644, NULL,
                                                 store_result, &result),
                 berth_backend_write_file_finish, backend,
                 "all-null does not support Backend.write_file");
  CHECK_BOOLEAN (
      berth_backend_copy_in_async (backend, "/tmp/a", "/tmp/b", NULL, store_result, &result),
      berth_backend_copy_in_finish, backend, "all-null does not support Backend.copy_in");
  CHECK_BOOLEAN (berth_backend_forward_socket_async (backend, "/run/docker.sock", "/tmp/d.sock",
                                                     NULL, store_result, &result),
                 berth_backend_forward_socket_finish, backend,
                 "all-null does not support Backend.forward_socket");
  {
    g_autoptr (GAsyncResult) result = NULL;
    g_autoptr (GError) error = NULL;

    berth_backend_exec_async (backend, argv, NULL, NULL, store_result, &result);
    g_assert_null (berth_backend_exec_finish (backend, wait_for (&result), &error));
    assert_not_supported (error, "all-null does not support Backend.exec");
  }

  {
    g_autoptr (GAsyncResult) result = NULL;
    g_autoptr (GError) error = NULL;

    berth_kubernetes_provider_list_versions_async (kubernetes, NULL, store_result, &result);
    g_assert_null (
        berth_kubernetes_provider_list_versions_finish (kubernetes, wait_for (&result), &error));
    assert_not_supported (error, "all-null does not support KubernetesProvider.list_versions");
  }
  CHECK_BOOLEAN (berth_kubernetes_provider_ensure_assets_async (kubernetes, "v1.30.1+k3s1", NULL,
                                                                store_result, &result),
                 berth_kubernetes_provider_ensure_assets_finish, kubernetes,
                 "all-null does not support KubernetesProvider.ensure_assets");
  CHECK_BOOLEAN (berth_kubernetes_provider_install_async (kubernetes, backend, "v1.30.1+k3s1", NULL,
                                                          store_result, &result),
                 berth_kubernetes_provider_install_finish, kubernetes,
                 "all-null does not support KubernetesProvider.install");
  CHECK_BOOLEAN (berth_kubernetes_provider_wait_ready_async (kubernetes, backend, 10, NULL,
                                                             store_result, &result),
                 berth_kubernetes_provider_wait_ready_finish, kubernetes,
                 "all-null does not support KubernetesProvider.wait_ready");
  CHECK_BOOLEAN (berth_kubernetes_provider_update_kubeconfig_async (kubernetes, backend, NULL,
                                                                    store_result, &result),
                 berth_kubernetes_provider_update_kubeconfig_finish, kubernetes,
                 "all-null does not support KubernetesProvider.update_kubeconfig");
  CHECK_BOOLEAN (berth_kubernetes_provider_delete_state_async (kubernetes, backend, TRUE, NULL,
                                                               store_result, &result),
                 berth_kubernetes_provider_delete_state_finish, kubernetes,
                 "all-null does not support KubernetesProvider.delete_state");
  CHECK_BOOLEAN (
      berth_kubernetes_provider_stop_async (kubernetes, backend, NULL, store_result, &result),
      berth_kubernetes_provider_stop_finish, kubernetes,
      "all-null does not support KubernetesProvider.stop");
  CHECK_BOOLEAN (
      berth_kubernetes_provider_remove_kubeconfig_async (kubernetes, NULL, store_result, &result),
      berth_kubernetes_provider_remove_kubeconfig_finish, kubernetes,
      "all-null does not support KubernetesProvider.remove_kubeconfig");
  CHECK_BOOLEAN (berth_kubernetes_provider_unforward_service_async (
                     kubernetes, backend, "default", "web", "80", NULL, store_result, &result),
                 berth_kubernetes_provider_unforward_service_finish, kubernetes,
                 "all-null does not support KubernetesProvider.unforward_service");
  {
    g_autoptr (GAsyncResult) result = NULL;
    g_autoptr (GError) error = NULL;

    berth_kubernetes_provider_forward_service_async (kubernetes, backend, "default", "web", "80", 0,
                                                     NULL, store_result, &result);
    g_assert_cmpuint (
        berth_kubernetes_provider_forward_service_finish (kubernetes, wait_for (&result), &error),
        ==, 0);
    assert_not_supported (error, "all-null does not support KubernetesProvider.forward_service");
  }

  {
    g_autoptr (GAsyncResult) result = NULL;
    g_autoptr (GError) error = NULL;

    berth_image_processor_list_images_async (images, NULL, NULL, store_result, &result);
    g_assert_null (berth_image_processor_list_images_finish (images, wait_for (&result), &error));
    assert_not_supported (error, "all-null does not support ImageProcessor.list_images");
  }
  {
    g_autoptr (GAsyncResult) result = NULL;
    g_autoptr (GError) error = NULL;

    berth_image_processor_list_namespaces_async (images, NULL, store_result, &result);
    g_assert_null (
        berth_image_processor_list_namespaces_finish (images, wait_for (&result), &error));
    assert_not_supported (error, "all-null does not support ImageProcessor.list_namespaces");
  }
  CHECK_BOOLEAN (
      berth_image_processor_pull_async (images, "busybox", NULL, NULL, store_result, &result),
      berth_image_processor_pull_finish, images, "all-null does not support ImageProcessor.pull");
  CHECK_BOOLEAN (
      berth_image_processor_push_async (images, "busybox", "k8s.io", NULL, store_result, &result),
      berth_image_processor_push_finish, images, "all-null does not support ImageProcessor.push");
  CHECK_BOOLEAN (berth_image_processor_build_async (images, "/tmp", "me/app:1", NULL, NULL,
                                                    store_result, &result),
                 berth_image_processor_build_finish, images,
                 "all-null does not support ImageProcessor.build");
  CHECK_BOOLEAN (berth_image_processor_tag_async (images, "busybox", "mine:1", NULL, NULL,
                                                  store_result, &result),
                 berth_image_processor_tag_finish, images,
                 "all-null does not support ImageProcessor.tag");
  CHECK_BOOLEAN (
      berth_image_processor_remove_async (images, "busybox", NULL, NULL, store_result, &result),
      berth_image_processor_remove_finish, images,
      "all-null does not support ImageProcessor.remove");
  {
    g_autoptr (GAsyncResult) result = NULL;
    g_autoptr (GError) error = NULL;

    berth_image_processor_scan_async (images, "busybox", NULL, store_result, &result);
    g_assert_null (berth_image_processor_scan_finish (images, wait_for (&result), &error));
    assert_not_supported (error, "all-null does not support ImageProcessor.scan");
  }

  CHECK_BOOLEAN (berth_integration_set_async (integration, "docker-context", TRUE, NULL,
                                              store_result, &result),
                 berth_integration_set_finish, integration,
                 "all-null does not support Integration.set");

  {
    g_autoptr (GAsyncResult) result = NULL;
    g_autoptr (GError) error = NULL;

    berth_updater_check_async (updater, NULL, store_result, &result);
    g_assert_null (berth_updater_check_finish (updater, wait_for (&result), &error));
    assert_not_supported (error, "all-null does not support Updater.check");
  }
  {
    g_autoptr (GAsyncResult) result = NULL;
    g_autoptr (GError) error = NULL;

    berth_updater_download_async (updater, NULL, store_result, &result);
    g_assert_null (berth_updater_download_finish (updater, wait_for (&result), &error));
    assert_not_supported (error, "all-null does not support Updater.download");
  }
  CHECK_BOOLEAN (berth_updater_apply_async (updater, NULL, store_result, &result),
                 berth_updater_apply_finish, updater, "all-null does not support Updater.apply");
#undef CHECK_BOOLEAN
#undef CHECK_POINTER
}

static void
test_all_null_sync_defaults (void)
{
  g_autoptr (TestAllNull) plugin = g_object_new (TEST_TYPE_ALL_NULL, "name", "all-null", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) forwards = NULL;
  g_autoptr (JsonNode) services = NULL;
  g_autoptr (JsonNode) integrations = NULL;
  g_auto (GStrv) warnings = NULL;
  g_auto (GStrv) interfaces = NULL;
  const gchar *const all[]
      = { "Backend", "KubernetesProvider", "ImageProcessor", "Integration", "Updater", NULL };
  gchar *address;
  JsonNode *info;

  interfaces = berth_plugin_dup_interface_names (BERTH_PLUGIN (plugin));
  g_assert_cmpstrv (interfaces, all);

  /* Nothing to check means it can run. */
  g_assert_true (berth_backend_validate (BERTH_BACKEND (plugin), &error));
  g_assert_no_error (error);
  address = berth_backend_get_address (BERTH_BACKEND (plugin), &error);
  g_assert_null (address);
  assert_not_supported (error, "all-null does not support Backend.get_address");
  g_clear_error (&error);
  info = berth_backend_info (BERTH_BACKEND (plugin), &error);
  g_assert_null (info);
  assert_not_supported (error, "all-null does not support Backend.info");
  g_clear_error (&error);
  forwards = berth_backend_list_port_forwards (BERTH_BACKEND (plugin));
  g_assert_cmpuint (forwards->len, ==, 0);
  g_assert_cmpint (berth_backend_get_state (BERTH_BACKEND (plugin)), ==, BERTH_STATE_ERROR);
  g_assert_cmpstr (berth_backend_get_state_reason (BERTH_BACKEND (plugin)), ==, "it does nothing");

  services = berth_kubernetes_provider_list_services (BERTH_KUBERNETES_PROVIDER (plugin));
  g_assert_true (JSON_NODE_HOLDS_ARRAY (services));
  g_assert_cmpuint (json_array_get_length (json_node_get_array (services)), ==, 0);

  g_assert_true (berth_image_processor_activate (BERTH_IMAGE_PROCESSOR (plugin), NULL, &error));
  g_assert_no_error (error);
  berth_image_processor_deactivate (BERTH_IMAGE_PROCESSOR (plugin));

  integrations = berth_integration_list (BERTH_INTEGRATION (plugin));
  g_assert_true (JSON_NODE_HOLDS_OBJECT (integrations));
  g_assert_cmpuint (json_object_get_size (json_node_get_object (integrations)), ==, 0);
  warnings = berth_integration_dup_warnings (BERTH_INTEGRATION (plugin));
  g_assert_cmpuint (g_strv_length (warnings), ==, 0);
}

/* An integration with nothing to apply or remove completes with TRUE, no
 * error, and nothing emitted. */
static void
on_integration_changed (BerthIntegration *integration, guint *n_changed)
{
  (*n_changed)++;
}

static void
test_all_null_apply_remove_nothing_to_do (void)
{
  g_autoptr (TestAllNull) plugin = g_object_new (TEST_TYPE_ALL_NULL, "name", "all-null", NULL);
  BerthIntegration *integration = BERTH_INTEGRATION (plugin);
  const BerthState states[] = { BERTH_STATE_STARTED, BERTH_STATE_STOPPED };
  guint n_changed = 0;

  g_signal_connect (integration, "changed", G_CALLBACK (on_integration_changed), &n_changed);
  for (gsize i = 0; i < G_N_ELEMENTS (states); i++)
    {
      g_autoptr (GAsyncResult) result = NULL;
      g_autoptr (GError) error = NULL;

      berth_integration_apply_async (integration, states[i], NULL, store_result, &result);
      g_assert_true (berth_integration_apply_finish (integration, wait_for (&result), &error));
      g_assert_no_error (error);
      g_assert_true (g_async_result_is_tagged (result, berth_integration_apply_async));
    }
  {
    g_autoptr (GAsyncResult) result = NULL;
    g_autoptr (GError) error = NULL;

    berth_integration_remove_async (integration, NULL, store_result, &result);
    g_assert_true (berth_integration_remove_finish (integration, wait_for (&result), &error));
    g_assert_no_error (error);
    g_assert_true (g_async_result_is_tagged (result, berth_integration_remove_async));
  }
  g_assert_cmpuint (n_changed, ==, 0);
}

static void
test_not_plugin_named_by_type (void)
{
  g_autoptr (TestBareUpdater) updater = g_object_new (TEST_TYPE_BARE_UPDATER, NULL);
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GAsyncResult) result2 = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) latest = NULL;

  berth_updater_apply_async (BERTH_UPDATER (updater), NULL, store_result, &result);
  g_assert_false (berth_updater_apply_finish (BERTH_UPDATER (updater), wait_for (&result), &error));
  assert_not_supported (error, "TestBareUpdater does not support Updater.apply");

  /* check has no _finish vfunc: the wrapper propagates the GTask's value. */
  berth_updater_check_async (BERTH_UPDATER (updater), NULL, store_result, &result2);
  g_clear_error (&error);
  latest = berth_updater_check_finish (BERTH_UPDATER (updater), wait_for (&result2), &error);
  g_assert_no_error (error);
  g_assert (latest != NULL);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (latest), "version"), ==,
                   "9.9.9");
}

static void
test_good_not_supported (void)
{
  g_autoptr (BerthPluginLoader) loader = load_test_plugins ();
  BerthPlugin *plugin = berth_plugin_loader_find (loader, "test-good");
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GAsyncResult) result2 = NULL;
  g_autoptr (GError) error = NULL;
  const gchar *argv[] = { "uname", "-a", NULL };

  g_assert (plugin != NULL);
  berth_image_processor_pull_async (BERTH_IMAGE_PROCESSOR (plugin), "busybox:latest", NULL, NULL,
                                    store_result, &result);
  g_assert_false (berth_image_processor_pull_finish (BERTH_IMAGE_PROCESSOR (plugin),
                                                     wait_for (&result), &error));
  assert_not_supported (error, "test-good does not support ImageProcessor.pull");
  g_clear_error (&error);

  berth_backend_exec_async (BERTH_BACKEND (plugin), argv, NULL, NULL, store_result, &result2);
  g_assert_null (berth_backend_exec_finish (BERTH_BACKEND (plugin), wait_for (&result2), &error));
  assert_not_supported (error, "test-good does not support Backend.exec");
}

static void
test_good_list_images (void)
{
  g_autoptr (BerthPluginLoader) loader = load_test_plugins ();
  BerthImageProcessor *images
      = BERTH_IMAGE_PROCESSOR (berth_plugin_loader_find (loader, "test-good"));
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GAsyncResult) result2 = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) list = NULL;
  g_autoptr (JsonNode) none = NULL;
  JsonObject *image;

  berth_image_processor_list_images_async (images, NULL, NULL, store_result, &result);
  list = berth_image_processor_list_images_finish (images, wait_for (&result), &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (list));
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 1);
  image = json_array_get_object_element (json_node_get_array (list), 0);
  g_assert_cmpstr (json_object_get_string_member (image, "repository"), ==, "busybox");
  g_assert_cmpstr (json_object_get_string_member (image, "tag"), ==, "latest");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (image, "id"), "sha256:"));
  g_assert_cmpint (json_object_get_int_member (image, "size"), ==, 4261550);

  berth_image_processor_list_images_async (images, "k8s.io", NULL, store_result, &result2);
  none = berth_image_processor_list_images_finish (images, wait_for (&result2), &error);
  g_assert_null (none);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==,
                   "namespace \"k8s.io\" does not exist in test-good; the only one is \"default\"");
}

/* What the manager sees of a start and a stop, in order. */
typedef struct
{
  GPtrArray *events;
} EventLog;

static void
on_state_notify (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  EventLog *log = user_data;
  BerthBackend *backend = BERTH_BACKEND (object);

  g_ptr_array_add (
      log->events,
      g_strdup_printf ("state %s", berth_state_to_string (berth_backend_get_state (backend))));
}

static void
on_progress (BerthBackend *backend, const gchar *description, guint64 current, guint64 max,
             gpointer user_data)
{
  EventLog *log = user_data;

  g_ptr_array_add (log->events,
                   g_strdup_printf ("progress %s %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT,
                                    description, current, max));
}

static void
assert_events (EventLog *log, const gchar *const *expected)
{
  g_ptr_array_add (log->events, NULL);
  g_assert_cmpstrv ((const gchar *const *)log->events->pdata, expected);
  g_ptr_array_set_size (log->events, 0);
}

static void
test_good_backend_states (void)
{
  g_autoptr (BerthPluginLoader) loader = load_test_plugins ();
  BerthBackend *backend = BERTH_BACKEND (berth_plugin_loader_find (loader, "test-good"));
  EventLog log = { g_ptr_array_new_with_free_func (g_free) };
  g_autoptr (GAsyncResult) started = NULL;
  g_autoptr (GAsyncResult) busy = NULL;
  g_autoptr (GAsyncResult) stopped = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) forwards = NULL;
  g_autoptr (JsonNode) info = NULL;
  g_autofree gchar *address = NULL;
  BerthPortForward *forward;
  gulong notify_id, progress_id;
  const gchar *const start_events[] = {
    "state STARTING",
    "progress Booting the test VM 1/3",
    "progress Booting the test VM 2/3",
    "progress Booting the test VM 3/3",
    "state STARTED",
    NULL,
  };
  const gchar *const stop_events[] = {
    "state STOPPING",
    "progress Stopping the test VM 1/1",
    "state STOPPED",
    NULL,
  };

  g_assert_cmpint (berth_backend_get_state (backend), ==, BERTH_STATE_STOPPED);
  address = berth_backend_get_address (backend, &error);
  g_assert_null (address);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND);
  g_assert_cmpstr (error->message, ==,
                   "test-good has no SSH address while it is STOPPED; start it first");
  g_clear_error (&error);

  notify_id = g_signal_connect (backend, "notify::state", G_CALLBACK (on_state_notify), &log);
  progress_id = g_signal_connect (backend, "progress", G_CALLBACK (on_progress), &log);

  berth_backend_start_async (backend, NULL, store_result, &started);
  /* A second start while the first runs is refused, and says why. */
  berth_backend_start_async (backend, NULL, store_result, &busy);
  g_assert_false (berth_backend_start_finish (backend, wait_for (&busy), &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_BUSY);
  g_assert_cmpstr (error->message, ==,
                   "test-good cannot start while it is STARTING; wait until it is STOPPED");
  g_clear_error (&error);

  g_assert_true (berth_backend_start_finish (backend, wait_for (&started), &error));
  g_assert_no_error (error);
  assert_events (&log, start_events);
  g_assert_cmpint (berth_backend_get_state (backend), ==, BERTH_STATE_STARTED);
  g_assert_null (berth_backend_get_state_reason (backend));

  address = berth_backend_get_address (backend, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (address, ==, "127.0.0.1:2222");
  forwards = berth_backend_list_port_forwards (backend);
  g_assert_cmpuint (forwards->len, ==, 1);
  forward = g_ptr_array_index (forwards, 0);
  g_assert_cmpstr (forward->protocol, ==, "tcp");
  g_assert_cmpstr (forward->host_address, ==, "127.0.0.1");
  g_assert_cmpuint (forward->host_port, ==, 8080);
  g_assert_cmpuint (forward->guest_port, ==, 80);
  info = berth_backend_info (backend, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (info), "cpus"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (info), "accel"), ==,
                   "none");

  /* stop has no _finish vfunc in the plugin: the wrapper's fallback. */
  berth_backend_stop_async (backend, NULL, store_result, &stopped);
  g_assert_true (berth_backend_stop_finish (backend, wait_for (&stopped), &error));
  g_assert_no_error (error);
  assert_events (&log, stop_events);
  g_assert_cmpint (berth_backend_get_state (backend), ==, BERTH_STATE_STOPPED);

  g_signal_handler_disconnect (backend, notify_id);
  g_signal_handler_disconnect (backend, progress_id);
  g_ptr_array_unref (log.events);
}

static void
cancel_on_first_progress (BerthBackend *backend, const gchar *description, guint64 current,
                          guint64 max, gpointer user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

static void
test_good_backend_start_cancelled (void)
{
  g_autoptr (BerthPluginLoader) loader = load_test_plugins ();
  BerthBackend *backend = BERTH_BACKEND (berth_plugin_loader_find (loader, "test-good"));
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  gulong id;

  id = g_signal_connect (backend, "progress", G_CALLBACK (cancel_on_first_progress), cancellable);
  berth_backend_start_async (backend, cancellable, store_result, &result);
  g_assert_false (berth_backend_start_finish (backend, wait_for (&result), &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_CANCELLED);
  g_assert_cmpint (berth_backend_get_state (backend), ==, BERTH_STATE_STOPPED);
  g_assert_cmpstr (berth_backend_get_state_reason (backend), ==, "start was cancelled");
  g_signal_handler_disconnect (backend, id);
}

int
main (int argc, char **argv)
{
  g_autofree gchar *home = NULL;
  gint ret;

  g_test_init (&argc, &argv, NULL);

  /* Plugins may look up their paths: keep them off the real home. */
  home = berth_test_isolate_home ("berth-test-home");

  g_test_add_func ("/interfaces/all-null/async-not-supported", test_all_null_async_not_supported);
  g_test_add_func ("/interfaces/all-null/sync-defaults", test_all_null_sync_defaults);
  g_test_add_func ("/interfaces/all-null/apply-remove-nothing-to-do",
                   test_all_null_apply_remove_nothing_to_do);
  g_test_add_func ("/interfaces/not-plugin-named-by-type", test_not_plugin_named_by_type);
  g_test_add_func ("/interfaces/good/not-supported", test_good_not_supported);
  g_test_add_func ("/interfaces/good/list-images", test_good_list_images);
  g_test_add_func ("/interfaces/good/backend-states", test_good_backend_states);
  g_test_add_func ("/interfaces/good/backend-start-cancelled", test_good_backend_start_cancelled);

  ret = g_test_run ();
  berth_test_rm_rf (home);
  return ret;
}
