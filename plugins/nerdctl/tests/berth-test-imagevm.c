/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A pretend VM for the image tests: it starts and stops at once, and while
 * it runs the engine sockets a real VM forwards (docker.sock and
 * containerd.sock in the data directory) exist, as placeholder files the
 * fake CLIs never open. Its "state" can be set from outside to play a VM
 * that failed. */
#include "config.h"

#include <glib/gstdio.h>

#include <berth.h>

#define BERTH_TYPE_TEST_IMAGEVM (berth_test_imagevm_get_type ())
G_DECLARE_FINAL_TYPE (BerthTestImagevm, berth_test_imagevm, BERTH, TEST_IMAGEVM, BerthPlugin)

struct _BerthTestImagevm
{
  BerthPlugin parent_instance;

  BerthState state;
  gchar *state_reason;
};

static void
berth_test_imagevm_backend_init (BerthBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (BerthTestImagevm, berth_test_imagevm, BERTH_TYPE_PLUGIN,
                               G_IMPLEMENT_INTERFACE (BERTH_TYPE_BACKEND,
                                                      berth_test_imagevm_backend_init))

enum
{
  PROP_0,
  PROP_STATE,
  PROP_STATE_REASON,
};

static const gchar *const sockets[] = { "docker.sock", "containerd.sock" };

static void
set_state (BerthTestImagevm *self, BerthState state, const gchar *reason)
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
forward_sockets (BerthTestImagevm *self, gboolean up)
{
  const BerthPaths *paths = berth_plugin_get_paths (BERTH_PLUGIN (self));

  g_mkdir_with_parents (paths->data, 0700);
  for (gsize i = 0; i < G_N_ELEMENTS (sockets); i++)
    {
      g_autofree gchar *path = g_build_filename (paths->data, sockets[i], NULL);

      if (up)
        g_file_set_contents (path, "", 0, NULL);
      else
        g_remove (path);
    }
}

static void
berth_test_imagevm_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  BerthTestImagevm *self = BERTH_TEST_IMAGEVM (object);

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
berth_test_imagevm_set_property (GObject *object, guint prop_id, const GValue *value,
                                 GParamSpec *pspec)
{
  BerthTestImagevm *self = BERTH_TEST_IMAGEVM (object);

  switch (prop_id)
    {
    case PROP_STATE:
      set_state (self, g_value_get_enum (value), self->state_reason);
      break;
    case PROP_STATE_REASON:
      set_state (self, self->state, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
berth_test_imagevm_finalize (GObject *object)
{
  BerthTestImagevm *self = BERTH_TEST_IMAGEVM (object);

  g_free (self->state_reason);
  G_OBJECT_CLASS (berth_test_imagevm_parent_class)->finalize (object);
}

static void
berth_test_imagevm_class_init (BerthTestImagevmClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = berth_test_imagevm_get_property;
  object_class->set_property = berth_test_imagevm_set_property;
  object_class->finalize = berth_test_imagevm_finalize;
  g_object_class_override_property (object_class, PROP_STATE, "state");
  g_object_class_override_property (object_class, PROP_STATE_REASON, "state-reason");
}

static void
berth_test_imagevm_init (BerthTestImagevm *self)
{
  self->state = BERTH_STATE_STOPPED;
}

static gboolean
start_step (gpointer user_data)
{
  GTask *task = user_data;
  BerthTestImagevm *self = g_task_get_source_object (task);

  forward_sockets (self, TRUE);
  set_state (self, BERTH_STATE_STARTED, NULL);
  g_task_return_boolean (task, TRUE);
  return G_SOURCE_REMOVE;
}

static void
berth_test_imagevm_start_async (BerthBackend *backend, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  BerthTestImagevm *self = BERTH_TEST_IMAGEVM (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, berth_test_imagevm_start_async);
  set_state (self, BERTH_STATE_STARTING, NULL);
  g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, start_step, g_steal_pointer (&task), g_object_unref);
}

static gboolean
stop_step (gpointer user_data)
{
  GTask *task = user_data;
  BerthTestImagevm *self = g_task_get_source_object (task);

  forward_sockets (self, FALSE);
  set_state (self, BERTH_STATE_STOPPED, NULL);
  g_task_return_boolean (task, TRUE);
  return G_SOURCE_REMOVE;
}

static void
berth_test_imagevm_stop_async (BerthBackend *backend, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  BerthTestImagevm *self = BERTH_TEST_IMAGEVM (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, berth_test_imagevm_stop_async);
  set_state (self, BERTH_STATE_STOPPING, NULL);
  g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, stop_step, g_steal_pointer (&task), g_object_unref);
}

static void
berth_test_imagevm_backend_init (BerthBackendInterface *iface)
{
  iface->start_async = berth_test_imagevm_start_async;
  iface->stop_async = berth_test_imagevm_stop_async;
}

BERTH_PLUGIN_DEFINE (berth_test_imagevm)
