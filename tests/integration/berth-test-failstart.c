/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A backend whose VM never boots: start reports some progress, then fails
 * the way a real VM does when its kernel panics. Stop and delete work. For
 * the manager's ERROR path; never installed. */
#include "config.h"

#include <berth.h>

#define BERTH_TYPE_TEST_FAILSTART (berth_test_failstart_get_type ())
G_DECLARE_FINAL_TYPE (BerthTestFailstart, berth_test_failstart, BERTH, TEST_FAILSTART, BerthPlugin)

struct _BerthTestFailstart
{
  BerthPlugin parent_instance;

  BerthState state;
  gchar *state_reason;
};

static void
berth_test_failstart_backend_init (BerthBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (BerthTestFailstart, berth_test_failstart, BERTH_TYPE_PLUGIN,
                               G_IMPLEMENT_INTERFACE (BERTH_TYPE_BACKEND,
                                                      berth_test_failstart_backend_init))

enum
{
  PROP_0,
  PROP_STATE,
  PROP_STATE_REASON,
};

static void
set_state (BerthTestFailstart *self, BerthState state, const gchar *reason)
{
  g_free (self->state_reason);
  self->state_reason = g_strdup (reason);
  self->state = state;
  g_object_notify (G_OBJECT (self), "state-reason");
  g_object_notify (G_OBJECT (self), "state");
}

static void
berth_test_failstart_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  BerthTestFailstart *self = BERTH_TEST_FAILSTART (object);

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
berth_test_failstart_set_property (GObject *object, guint prop_id, const GValue *value,
                                   GParamSpec *pspec)
{
  G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
berth_test_failstart_finalize (GObject *object)
{
  BerthTestFailstart *self = BERTH_TEST_FAILSTART (object);

  g_free (self->state_reason);
  G_OBJECT_CLASS (berth_test_failstart_parent_class)->finalize (object);
}

static void
berth_test_failstart_class_init (BerthTestFailstartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = berth_test_failstart_get_property;
  object_class->set_property = berth_test_failstart_set_property;
  object_class->finalize = berth_test_failstart_finalize;
  g_object_class_override_property (object_class, PROP_STATE, "state");
  g_object_class_override_property (object_class, PROP_STATE_REASON, "state-reason");
}

static void
berth_test_failstart_init (BerthTestFailstart *self)
{
  self->state = BERTH_STATE_STOPPED;
}

static gboolean
fail_boot (gpointer user_data)
{
  GTask *task = user_data;
  BerthTestFailstart *self = g_task_get_source_object (task);

  set_state (self, BERTH_STATE_ERROR, "kernel panic");
  g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_BACKEND,
                           "%s: the test VM did not boot (kernel panic); see its serial log",
                           berth_plugin_get_name (BERTH_PLUGIN (self)));
  return G_SOURCE_REMOVE;
}

static void
berth_test_failstart_start_async (BerthBackend *backend, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data)
{
  BerthTestFailstart *self = BERTH_TEST_FAILSTART (backend);
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  set_state (self, BERTH_STATE_STARTING, NULL);
  g_signal_emit_by_name (self, "progress", "Booting the failing VM", (guint64)1, (guint64)2);
  g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, fail_boot, task, g_object_unref);
}

static void
berth_test_failstart_stop_async (BerthBackend *backend, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  BerthTestFailstart *self = BERTH_TEST_FAILSTART (backend);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  set_state (self, BERTH_STATE_STOPPED, NULL);
  g_task_return_boolean (task, TRUE);
}

static void
berth_test_failstart_delete_async (BerthBackend *backend, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (backend, cancellable, callback, user_data);

  g_task_return_boolean (task, TRUE);
}

static void
berth_test_failstart_backend_init (BerthBackendInterface *iface)
{
  iface->start_async = berth_test_failstart_start_async;
  iface->stop_async = berth_test_failstart_stop_async;
  iface->delete_async = berth_test_failstart_delete_async;
}

BERTH_PLUGIN_DEFINE (berth_test_failstart)
