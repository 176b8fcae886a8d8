/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A well-behaved plugin: a pretend VM (BerthBackend) whose start and stop walk
 * the state machine with progress, and an image processor that can only list
 * images, so every other image operation answers NOT_SUPPORTED.
 *
 * A test can make the pretend VM fail the way a real one does: the file that
 * BERTH_TEST_GOOD_FAULTS names holds one word. "fail-start" makes the next
 * start fail at its last step; "crash" makes the running VM report a crash
 * at its next health check (a real backend polls its VM the same way). A
 * fault is used up, and the file removed, when it acts.
 *
 * While it runs, the pretend VM forwards guest port 80 to 127.0.0.1:8080.
 * A test can change its forwards as ports opening and closing in a guest
 * would: the file that BERTH_TEST_GOOD_FORWARDS names holds one forward a
 * line, "PROTOCOL HOST-ADDRESS HOST-PORT GUEST-PORT" ("tcp 127.0.0.1 9090
 * 90"); an empty file is no forward, and no file the default one. The
 * plugin reads it while started, as often as a real backend hears from its
 * guest, and emits "port-forwards-changed" when what it says changes. */
#include "config.h"

#include <berth.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <string.h>

#define START_STEPS 3
#define HEALTH_CHECK_MS 20
#define FAULTS_ENV "BERTH_TEST_GOOD_FAULTS"
#define FORWARDS_ENV "BERTH_TEST_GOOD_FORWARDS"
#define FAILED_BOOT                                                                                \
  "test-good (a test plugin): its pretend VM did not boot, as the test asked through " FAULTS_ENV
#define CRASHED                                                                                    \
  "test-good (a test plugin): its pretend VM crashed, as the test asked through " FAULTS_ENV       \
  "; start it again"

#define BERTH_TYPE_TEST_GOOD (berth_test_good_get_type ())
G_DECLARE_FINAL_TYPE (BerthTestGood, berth_test_good, BERTH, TEST_GOOD, BerthPlugin)

struct _BerthTestGood
{
  BerthPlugin parent_instance;

  BerthState state;
  gchar *state_reason;
  GHashTable *engines;    /* host path → GSocketService, while started */
  gboolean failing_start; /* the start under way fails, as a test asked */
  guint health_id;        /* polls for a "crash" fault while started */
  guint forwards_id;      /* polls the forwards file while started */
  gchar *forwards_text;   /* the forwards file as last read; NULL: no file */
  GPtrArray *forwards;    /* BerthPortForward, from that file; NULL: the default */
};

static void
berth_test_good_backend_init (BerthBackendInterface *iface);
static void
berth_test_good_image_processor_init (BerthImageProcessorInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (BerthTestGood, berth_test_good, BERTH_TYPE_PLUGIN,
                               G_IMPLEMENT_INTERFACE (BERTH_TYPE_BACKEND,
                                                      berth_test_good_backend_init)
                                   G_IMPLEMENT_INTERFACE (BERTH_TYPE_IMAGE_PROCESSOR,
                                                          berth_test_good_image_processor_init))

enum
{
  PROP_0,
  PROP_STATE,
  PROP_STATE_REASON,
};

static void
berth_test_good_set_state (BerthTestGood *self, BerthState state, const gchar *reason)
{
  g_object_freeze_notify (G_OBJECT (self));
  if (g_strcmp0 (self->state_reason, reason) != 0)
    {
      g_free (self->state_reason);
      self->state_reason = g_strdup (reason);
      g_object_notify (G_OBJECT (self), "state-reason");
    }
  if (self->state != state)
    {
      self->state = state;
      g_object_notify (G_OBJECT (self), "state");
    }
  g_object_thaw_notify (G_OBJECT (self));
}

static void
berth_test_good_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  BerthTestGood *self = BERTH_TEST_GOOD (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_STATE_REASON:
      g_value_set_string (value, self->state_reason);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
berth_test_good_set_property (GObject *object, guint prop_id, const GValue *value,
                              GParamSpec *pspec)
{
  BerthTestGood *self = BERTH_TEST_GOOD (object);

  switch (prop_id)
    {
    case PROP_STATE:
      berth_test_good_set_state (self, g_value_get_enum (value), self->state_reason);
      break;
    case PROP_STATE_REASON:
      berth_test_good_set_state (self, self->state, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
berth_test_good_engine_free (gpointer data)
{
  GSocketService *service = data;

  g_socket_service_stop (service);
  g_socket_listener_close (G_SOCKET_LISTENER (service));
  g_object_unref (service);
}

static void
berth_test_good_finalize (GObject *object)
{
  BerthTestGood *self = BERTH_TEST_GOOD (object);

  g_clear_handle_id (&self->health_id, g_source_remove);
  g_clear_handle_id (&self->forwards_id, g_source_remove);
  g_free (self->forwards_text);
  g_clear_pointer (&self->forwards, g_ptr_array_unref);
  g_free (self->state_reason);
  g_hash_table_unref (self->engines);
  G_OBJECT_CLASS (berth_test_good_parent_class)->finalize (object);
}

static void
berth_test_good_class_init (BerthTestGoodClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = berth_test_good_get_property;
  object_class->set_property = berth_test_good_set_property;
  object_class->finalize = berth_test_good_finalize;
  g_object_class_override_property (object_class, PROP_STATE, "state");
  g_object_class_override_property (object_class, PROP_STATE_REASON, "state-reason");
}

static void
berth_test_good_init (BerthTestGood *self)
{
  self->state = BERTH_STATE_STOPPED;
  self->engines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         berth_test_good_engine_free);
}

/* Backend */

/* The forwards the file's text @text names; a line that is not a forward is
 * logged and skipped. */
static GPtrArray *
berth_test_good_parse_forwards (const gchar *text)
{
  GPtrArray *forwards = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_port_forward_free);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  for (gsize i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) fields = g_strsplit_set (g_strstrip (lines[i]), " \t", -1);
      guint64 host_port = 0;
      guint64 guest_port = 0;

      if (lines[i][0] == '\0')
        continue;
      if (g_strv_length (fields) != 4
          || (!g_str_equal (fields[0], "tcp") && !g_str_equal (fields[0], "udp"))
          || !g_ascii_string_to_unsigned (fields[2], 10, 1, G_MAXUINT16, &host_port, NULL)
          || !g_ascii_string_to_unsigned (fields[3], 10, 1, G_MAXUINT16, &guest_port, NULL))
        {
          g_message ("test-good (a test plugin): line %" G_GSIZE_FORMAT " of " FORWARDS_ENV
                     " is not \"tcp|udp HOST-ADDRESS HOST-PORT GUEST-PORT\"; skipped",
                     i + 1);
          continue;
        }
      g_ptr_array_add (forwards, berth_port_forward_new (fields[0], fields[1], (guint16)host_port,
                                                         (guint16)guest_port));
    }
  return forwards;
}

/* Takes what the forwards file says now, and tells when it changed. */
static gboolean
berth_test_good_poll_forwards (gpointer user_data)
{
  BerthTestGood *self = user_data;
  g_autofree gchar *text = NULL;

  if (!g_file_get_contents (g_getenv (FORWARDS_ENV), &text, NULL, NULL))
    g_clear_pointer (&text, g_free);
  if (g_strcmp0 (text, self->forwards_text) == 0)
    return G_SOURCE_CONTINUE;
  g_free (self->forwards_text);
  self->forwards_text = g_steal_pointer (&text);
  g_clear_pointer (&self->forwards, g_ptr_array_unref);
  if (self->forwards_text != NULL)
    self->forwards = berth_test_good_parse_forwards (self->forwards_text);
  g_signal_emit_by_name (self, "port-forwards-changed");
  return G_SOURCE_CONTINUE;
}

static void
berth_test_good_stop_forwards (BerthTestGood *self)
{
  g_clear_handle_id (&self->forwards_id, g_source_remove);
  g_clear_pointer (&self->forwards_text, g_free);
  g_clear_pointer (&self->forwards, g_ptr_array_unref);
}

/* TRUE, and the fault file removed, when it asks for @fault. */
static gboolean
berth_test_good_take_fault (const gchar *fault)
{
  const gchar *path = g_getenv (FAULTS_ENV);
  g_autofree gchar *contents = NULL;

  if (path == NULL || !g_file_get_contents (path, &contents, NULL, NULL)
      || !g_str_equal (g_strstrip (contents), fault))
    return FALSE;
  g_unlink (path);
  return TRUE;
}

static gboolean
berth_test_good_health_check (gpointer user_data)
{
  BerthTestGood *self = user_data;

  if (!berth_test_good_take_fault ("crash"))
    return G_SOURCE_CONTINUE;
  self->health_id = 0;
  g_hash_table_remove_all (self->engines);
  berth_test_good_stop_forwards (self);
  berth_test_good_set_state (self, BERTH_STATE_ERROR, CRASHED);
  return G_SOURCE_REMOVE;
}

static gboolean
berth_test_good_refuse_busy (BerthTestGood *self, GTask *task, const gchar *what)
{
  g_task_return_new_error (
      task, BERTH_ERROR, BERTH_ERROR_BUSY, "%s cannot %s while it is %s; wait until it is %s",
      berth_plugin_get_name (BERTH_PLUGIN (self)), what, berth_state_to_string (self->state),
      g_str_equal (what, "start") ? "STOPPED" : "STARTED or STOPPED");
  return FALSE;
}

/* One step of the pretend boot per main-loop iteration, so a caller's
 * cancellation between steps is seen. */
static gboolean
berth_test_good_start_step (gpointer user_data)
{
  GTask *task = user_data;
  BerthTestGood *self = g_task_get_source_object (task);
  guint step = GPOINTER_TO_UINT (g_task_get_task_data (task)) + 1;
  g_autoptr (GError) error = NULL;

  if (g_cancellable_set_error_if_cancelled (g_task_get_cancellable (task), &error))
    {
      berth_error_convert (&error);
      berth_test_good_set_state (self, BERTH_STATE_STOPPED, "start was cancelled");
      g_task_return_error (task, g_steal_pointer (&error));
      return G_SOURCE_REMOVE;
    }

  g_task_set_task_data (task, GUINT_TO_POINTER (step), NULL);
  g_signal_emit_by_name (self, "progress", "Booting the test VM", (guint64)step,
                         (guint64)START_STEPS);
  if (step < START_STEPS)
    return G_SOURCE_CONTINUE;

  if (self->failing_start)
    {
      self->failing_start = FALSE;
      berth_test_good_set_state (self, BERTH_STATE_ERROR, FAILED_BOOT);
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_BACKEND, "%s", FAILED_BOOT);
      return G_SOURCE_REMOVE;
    }
  berth_test_good_set_state (self, BERTH_STATE_STARTED, NULL);
  if (g_getenv (FAULTS_ENV) != NULL && self->health_id == 0)
    self->health_id = g_timeout_add (HEALTH_CHECK_MS, berth_test_good_health_check, self);
  if (g_getenv (FORWARDS_ENV) != NULL && self->forwards_id == 0)
    self->forwards_id = g_timeout_add (HEALTH_CHECK_MS, berth_test_good_poll_forwards, self);
  g_task_return_boolean (task, TRUE);
  return G_SOURCE_REMOVE;
}

static void
berth_test_good_start_async (BerthBackend *backend, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  BerthTestGood *self = BERTH_TEST_GOOD (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, berth_test_good_start_async);
  /* After a crash, as after a stop, the VM starts again. */
  if (self->state != BERTH_STATE_STOPPED && self->state != BERTH_STATE_ERROR)
    {
      berth_test_good_refuse_busy (self, task, "start");
      return;
    }
  self->failing_start = berth_test_good_take_fault ("fail-start");
  berth_test_good_set_state (self, BERTH_STATE_STARTING, NULL);
  g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, berth_test_good_start_step, g_steal_pointer (&task),
                   g_object_unref);
}

static gboolean
berth_test_good_start_finish (BerthBackend *backend, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static gboolean
berth_test_good_stop_step (gpointer user_data)
{
  GTask *task = user_data;
  BerthTestGood *self = g_task_get_source_object (task);

  g_signal_emit_by_name (self, "progress", "Stopping the test VM", (guint64)1, (guint64)1);
  g_hash_table_remove_all (self->engines);
  berth_test_good_stop_forwards (self);
  berth_test_good_set_state (self, BERTH_STATE_STOPPED, NULL);
  g_task_return_boolean (task, TRUE);
  return G_SOURCE_REMOVE;
}

/* No stop_finish: the core propagates the GTask's boolean itself. */
static void
berth_test_good_stop_async (BerthBackend *backend, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  BerthTestGood *self = BERTH_TEST_GOOD (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, berth_test_good_stop_async);
  if (self->state == BERTH_STATE_STOPPED)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  /* What a crash left behind is cleaned up. */
  if (self->state != BERTH_STATE_STARTED && self->state != BERTH_STATE_ERROR)
    {
      berth_test_good_refuse_busy (self, task, "stop");
      return;
    }
  g_clear_handle_id (&self->health_id, g_source_remove);
  berth_test_good_set_state (self, BERTH_STATE_STOPPING, NULL);
  g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, berth_test_good_stop_step, g_steal_pointer (&task),
                   g_object_unref);
}

static gchar *
berth_test_good_get_address (BerthBackend *backend, GError **error)
{
  BerthTestGood *self = BERTH_TEST_GOOD (backend);

  if (self->state != BERTH_STATE_STARTED)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND,
                   "%s has no SSH address while it is %s; start it first",
                   berth_plugin_get_name (BERTH_PLUGIN (self)),
                   berth_state_to_string (self->state));
      return NULL;
    }
  return g_strdup ("127.0.0.1:2222");
}

static GPtrArray *
berth_test_good_list_port_forwards (BerthBackend *backend)
{
  BerthTestGood *self = BERTH_TEST_GOOD (backend);
  GPtrArray *forwards = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_port_forward_free);

  if (self->state != BERTH_STATE_STARTED)
    return forwards;
  if (self->forwards == NULL)
    {
      g_ptr_array_add (forwards, berth_port_forward_new ("tcp", "127.0.0.1", 8080, 80));
      return forwards;
    }
  for (guint i = 0; i < self->forwards->len; i++)
    g_ptr_array_add (forwards, berth_port_forward_copy (g_ptr_array_index (self->forwards, i)));
  return forwards;
}

/* A pretend engine behind each forwarded socket: dockerd's /_ping answers
 * OK, and a gRPC (HTTP/2) client gets a SETTINGS frame, as from containerd. */
static gboolean
berth_test_good_engine_run (GThreadedSocketService *service, GSocketConnection *connection,
                            GObject *source_object, gpointer user_data)
{
  static const gchar pong[] = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nOK";
  static const gchar settings[] = "\x00\x00\x00\x04\x00\x00\x00\x00\x00";
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  /* The whole request is read first: closing a UNIX socket with unread
   * data resets the peer's connection. */
  gchar request[64] = { 0 };
  gsize want = 0;
  gsize got = 0;

  if (!g_input_stream_read_all (in, request, 3, &got, NULL, NULL) || got < 3)
    return TRUE;
  if (g_str_has_prefix (request, "PRI"))
    want = 24 + 9; /* the client preface and an empty SETTINGS frame */
  else
    want = strlen ("GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n");
  if (!g_input_stream_read_all (in, request + 3, want - 3, &got, NULL, NULL) || got < want - 3)
    return TRUE;
  if (g_str_has_prefix (request, "PRI"))
    g_output_stream_write_all (out, settings, sizeof settings - 1, NULL, NULL, NULL);
  else
    g_output_stream_write_all (out, pong, sizeof pong - 1, NULL, NULL, NULL);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  return TRUE;
}

static void
berth_test_good_forward_socket_async (BerthBackend *backend, const gchar *guest_path,
                                      const gchar *host_path, GCancellable *cancellable,
                                      GAsyncReadyCallback callback, gpointer user_data)
{
  BerthTestGood *self = BERTH_TEST_GOOD (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (GSocketService) service = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GError) error = NULL;

  g_task_set_source_tag (task, berth_test_good_forward_socket_async);
  if (self->state != BERTH_STATE_STARTED)
    {
      berth_test_good_refuse_busy (self, task, "forward a socket");
      return;
    }
  g_unlink (host_path);
  service = g_threaded_socket_service_new (2);
  address = g_unix_socket_address_new (host_path);
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (service), address, G_SOCKET_TYPE_STREAM,
                                      G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_signal_connect (service, "run", G_CALLBACK (berth_test_good_engine_run), NULL);
  g_socket_service_start (service);
  g_hash_table_replace (self->engines, g_strdup (host_path), g_steal_pointer (&service));
  g_task_return_boolean (task, TRUE);
}

static JsonNode *
berth_test_good_info (BerthBackend *backend, GError **error)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "cpus");
  json_builder_add_int_value (builder, 2);
  json_builder_set_member_name (builder, "memoryInGB");
  json_builder_add_int_value (builder, 4);
  json_builder_set_member_name (builder, "diskSizeGiB");
  json_builder_add_int_value (builder, 100);
  json_builder_set_member_name (builder, "arch");
  json_builder_add_string_value (builder, "x86_64");
  json_builder_set_member_name (builder, "accel");
  json_builder_add_string_value (builder, "none");
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static void
berth_test_good_backend_init (BerthBackendInterface *iface)
{
  iface->start_async = berth_test_good_start_async;
  iface->start_finish = berth_test_good_start_finish;
  iface->stop_async = berth_test_good_stop_async;
  iface->get_address = berth_test_good_get_address;
  iface->forward_socket_async = berth_test_good_forward_socket_async;
  iface->list_port_forwards = berth_test_good_list_port_forwards;
  iface->info = berth_test_good_info;
}

/* ImageProcessor */

static JsonNode *
berth_test_good_images (void)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  json_builder_begin_array (builder);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (
      builder, "sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741");
  json_builder_set_member_name (builder, "repository");
  json_builder_add_string_value (builder, "busybox");
  json_builder_set_member_name (builder, "tag");
  json_builder_add_string_value (builder, "latest");
  json_builder_set_member_name (builder, "size");
  json_builder_add_int_value (builder, 4261550);
  json_builder_end_object (builder);
  json_builder_end_array (builder);
  return json_builder_get_root (builder);
}

static void
berth_test_good_list_images_async (BerthImageProcessor *processor, const gchar *ns,
                                   GCancellable *cancellable, GAsyncReadyCallback callback,
                                   gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (processor, cancellable, callback, user_data);

  g_task_set_source_tag (task, berth_test_good_list_images_async);
  if (ns != NULL && !g_str_equal (ns, "default"))
    {
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                               "namespace \"%s\" does not exist in %s; the only one is "
                               "\"default\"",
                               ns, berth_plugin_get_name (BERTH_PLUGIN (processor)));
      return;
    }
  g_task_return_pointer (task, berth_test_good_images (), (GDestroyNotify)json_node_unref);
}

static JsonNode *
berth_test_good_list_images_finish (BerthImageProcessor *processor, GAsyncResult *result,
                                    GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, processor), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
berth_test_good_image_processor_init (BerthImageProcessorInterface *iface)
{
  iface->list_images_async = berth_test_good_list_images_async;
  iface->list_images_finish = berth_test_good_list_images_finish;
}

BERTH_PLUGIN_DEFINE (berth_test_good)
