/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-error.h"
#include "berth-plugin.h"
#include "berth-version.h"

#include "berth-updates.h"

#define ENABLED_SETTING "application.updater.enabled"
/* Rancher Desktop checks about once a day; Berth every few hours, as the
 * responder asks within these bounds. */
#define DEFAULT_INTERVAL_SECONDS (4 * 3600)
#define MIN_INTERVAL_SECONDS 3600
#define MAX_INTERVAL_SECONDS (24 * 3600)
/* After a failure, as Rancher Desktop retries. */
#define RETRY_SECONDS 600

struct _BerthUpdates
{
  GObject parent_instance;

  BerthSettings *settings;
  BerthUpdater *updater; /* nullable */
  gchar *unsupported_reason;
  gulong state_handler;

  gboolean started;
  guint timer_id;
  gchar *state;
  gchar *detail;
  JsonNode *latest;
  GDateTime *last_check;
  GDateTime *next_check;
};

G_DEFINE_FINAL_TYPE (BerthUpdates, berth_updates, G_TYPE_OBJECT)

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
run_scheduled_check (BerthUpdates *self);

static gboolean
is_enabled (BerthUpdates *self)
{
  return berth_settings_get_boolean (self->settings, ENABLED_SETTING);
}

static void
changed (BerthUpdates *self)
{
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

/* $BERTH_UPDATE_CHECK_INTERVAL, or 0 when unset or not a number. */
static guint
interval_override (void)
{
  const gchar *text = g_getenv ("BERTH_UPDATE_CHECK_INTERVAL");
  guint64 seconds = 0;

  if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 1, G_MAXUINT32, &seconds, NULL))
    return 0;
  return (guint)seconds;
}

static gboolean
on_timer (gpointer user_data)
{
  BerthUpdates *self = user_data;

  self->timer_id = 0;
  run_scheduled_check (self);
  return G_SOURCE_REMOVE;
}

/* The next automatic check in @seconds, while the setting asks for them. */
static void
schedule (BerthUpdates *self, guint seconds)
{
  guint override = interval_override ();
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();

  g_clear_handle_id (&self->timer_id, g_source_remove);
  g_clear_pointer (&self->next_check, g_date_time_unref);
  if (self->updater != NULL && self->started && is_enabled (self))
    {
      if (override > 0 && seconds > 0)
        seconds = override;
      self->timer_id = g_timeout_add_seconds (seconds, on_timer, self);
      self->next_check = g_date_time_add_seconds (now, seconds);
    }
  changed (self);
}

/* When to check again after @latest, a check's result. */
static guint
interval_after (JsonNode *latest)
{
  JsonObject *object = JSON_NODE_HOLDS_OBJECT (latest) ? json_node_get_object (latest) : NULL;
  JsonNode *minutes
      = object != NULL ? json_object_get_member (object, "requestIntervalInMinutes") : NULL;
  gint64 seconds;

  if (minutes == NULL || !JSON_NODE_HOLDS_VALUE (minutes)
      || json_node_get_value_type (minutes) != G_TYPE_INT64)
    return DEFAULT_INTERVAL_SECONDS;
  seconds = CLAMP (json_node_get_int (minutes), 0, G_MAXINT64 / 60) * 60;
  return (guint)CLAMP (seconds, MIN_INTERVAL_SECONDS, MAX_INTERVAL_SECONDS);
}

static gboolean
update_available (JsonNode *latest)
{
  JsonObject *object = JSON_NODE_HOLDS_OBJECT (latest) ? json_node_get_object (latest) : NULL;

  return object != NULL && json_object_has_member (object, "updateAvailable")
         && json_object_get_boolean_member (object, "updateAvailable");
}

static void
downloaded_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  /* Held until the download is told of. */
  G_GNUC_UNUSED g_autoptr (BerthUpdates) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *path = NULL;

  path = berth_updater_download_finish (BERTH_UPDATER (source), result, &error);
  if (path == NULL)
    g_message ("The update could not be downloaded: %s", error->message);
  else
    g_message ("The update is downloaded to %s, ready to apply", path);
}

/* Takes a check's result; downloads what is newer when updates are on, as
 * Rancher Desktop does. */
static void
take_result (BerthUpdates *self, JsonNode *latest)
{
  g_clear_pointer (&self->last_check, g_date_time_unref);
  self->last_check = g_date_time_new_now_utc ();
  g_clear_pointer (&self->latest, json_node_unref);
  self->latest = json_node_copy (latest);
  changed (self);
  if (is_enabled (self) && update_available (latest))
    berth_updater_download_async (self->updater, NULL, downloaded_cb, g_object_ref (self));
}

static void
scheduled_check_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (BerthUpdates) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) latest = NULL;

  latest = berth_updater_check_finish (BERTH_UPDATER (source), result, &error);
  if (latest == NULL)
    {
      g_message ("Checking for updates failed: %s; trying again in %d minutes", error->message,
                 RETRY_SECONDS / 60);
      schedule (self, RETRY_SECONDS);
      return;
    }
  take_result (self, latest);
  schedule (self, interval_after (latest));
}

static void
run_scheduled_check (BerthUpdates *self)
{
  g_clear_pointer (&self->next_check, g_date_time_unref);
  berth_updater_check_async (self->updater, NULL, scheduled_check_cb, g_object_ref (self));
}

static void
on_update_state (BerthUpdater *updater, const gchar *state, const gchar *detail, BerthUpdates *self)
{
  g_free (self->state);
  self->state = g_strdup (state);
  g_free (self->detail);
  self->detail = g_strdup (detail);
  changed (self);
}

/* ---- public ------------------------------------------------------------ */

BerthUpdates *
berth_updates_new (BerthSettings *settings, BerthUpdater *updater, const gchar *unsupported_reason)
{
  BerthUpdates *self;

  g_return_val_if_fail (BERTH_IS_SETTINGS (settings), NULL);
  g_return_val_if_fail (updater == NULL || BERTH_IS_UPDATER (updater), NULL);
  g_return_val_if_fail (updater != NULL || unsupported_reason != NULL, NULL);

  self = g_object_new (BERTH_TYPE_UPDATES, NULL);
  self->settings = g_object_ref (settings);
  if (updater != NULL)
    {
      self->updater = g_object_ref (updater);
      self->state_handler
          = g_signal_connect (updater, "update-state", G_CALLBACK (on_update_state), self);
      self->state = g_strdup ("idle");
      self->detail = g_strdup ("No check has run yet");
    }
  else
    {
      self->unsupported_reason = g_strdup (unsupported_reason);
      self->state = g_strdup ("unsupported");
      self->detail = g_strdup (unsupported_reason);
    }
  return self;
}

void
berth_updates_start (BerthUpdates *self)
{
  g_return_if_fail (BERTH_IS_UPDATES (self));

  self->started = TRUE;
  if (self->updater == NULL)
    {
      if (is_enabled (self))
        g_message ("%s is true, but %s", ENABLED_SETTING, self->unsupported_reason);
      return;
    }
  /* The first check at once, as Rancher Desktop's at its start. */
  schedule (self, 0);
}

void
berth_updates_settings_changed (BerthUpdates *self, const gchar *const *changed_paths)
{
  g_return_if_fail (BERTH_IS_UPDATES (self));

  if (changed_paths == NULL || !g_strv_contains (changed_paths, ENABLED_SETTING))
    return;
  if (self->updater == NULL || !self->started)
    {
      changed (self);
      return;
    }
  /* On: check now. Off: no more checks. */
  schedule (self, 0);
}

gboolean
berth_updates_is_supported (BerthUpdates *self)
{
  g_return_val_if_fail (BERTH_IS_UPDATES (self), FALSE);
  return self->updater != NULL;
}

const gchar *
berth_updates_get_unsupported_reason (BerthUpdates *self)
{
  g_return_val_if_fail (BERTH_IS_UPDATES (self), NULL);
  return self->unsupported_reason;
}

static void
add_time (JsonBuilder *builder, const gchar *name, GDateTime *time)
{
  json_builder_set_member_name (builder, name);
  if (time != NULL)
    {
      g_autofree gchar *text = g_date_time_format_iso8601 (time);

      json_builder_add_string_value (builder, text);
    }
  else
    json_builder_add_null_value (builder);
}

JsonNode *
berth_updates_dup_status (BerthUpdates *self)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  g_return_val_if_fail (BERTH_IS_UPDATES (self), NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "supported");
  json_builder_add_boolean_value (builder, self->updater != NULL);
  json_builder_set_member_name (builder, "enabled");
  json_builder_add_boolean_value (builder, is_enabled (self));
  json_builder_set_member_name (builder, "updater");
  if (self->updater != NULL)
    json_builder_add_string_value (builder, berth_plugin_get_name (BERTH_PLUGIN (self->updater)));
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "currentVersion");
  json_builder_add_string_value (builder, BERTH_VERSION_STRING);
  json_builder_set_member_name (builder, "state");
  json_builder_add_string_value (builder, self->state);
  json_builder_set_member_name (builder, "detail");
  json_builder_add_string_value (builder, self->detail);
  json_builder_set_member_name (builder, "latest");
  if (self->latest != NULL)
    json_builder_add_value (builder, json_node_copy (self->latest));
  else
    json_builder_add_null_value (builder);
  add_time (builder, "lastCheck", self->last_check);
  add_time (builder, "nextCheck", self->next_check);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static gboolean
report_unsupported (BerthUpdates *self, GTask *task)
{
  if (self->updater != NULL)
    return FALSE;
  g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED, "%s",
                           self->unsupported_reason);
  return TRUE;
}

static void
checked_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthUpdates *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) latest = NULL;

  latest = berth_updater_check_finish (BERTH_UPDATER (source), result, &error);
  if (latest == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  take_result (self, latest);
  g_task_return_pointer (task, berth_updates_dup_status (self), (GDestroyNotify)json_node_unref);
}

void
berth_updates_check_async (BerthUpdates *self, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (BERTH_IS_UPDATES (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, berth_updates_check_async);
  if (report_unsupported (self, task))
    return;
  berth_updater_check_async (self->updater, cancellable, checked_cb, g_steal_pointer (&task));
}

JsonNode *
berth_updates_check_finish (BerthUpdates *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
applied_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;

  if (!berth_updater_apply_finish (BERTH_UPDATER (source), result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

void
berth_updates_apply_async (BerthUpdates *self, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (BERTH_IS_UPDATES (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, berth_updates_apply_async);
  if (report_unsupported (self, task))
    return;
  berth_updater_apply_async (self->updater, cancellable, applied_cb, g_steal_pointer (&task));
}

gboolean
berth_updates_apply_finish (BerthUpdates *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
berth_updates_dispose (GObject *object)
{
  BerthUpdates *self = BERTH_UPDATES (object);

  g_clear_handle_id (&self->timer_id, g_source_remove);
  if (self->updater != NULL)
    g_clear_signal_handler (&self->state_handler, self->updater);
  g_clear_object (&self->updater);
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (berth_updates_parent_class)->dispose (object);
}

static void
berth_updates_finalize (GObject *object)
{
  BerthUpdates *self = BERTH_UPDATES (object);

  g_free (self->unsupported_reason);
  g_free (self->state);
  g_free (self->detail);
  g_clear_pointer (&self->latest, json_node_unref);
  g_clear_pointer (&self->last_check, g_date_time_unref);
  g_clear_pointer (&self->next_check, g_date_time_unref);
  G_OBJECT_CLASS (berth_updates_parent_class)->finalize (object);
}

static void
berth_updates_class_init (BerthUpdatesClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = berth_updates_dispose;
  object_class->finalize = berth_updates_finalize;

  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
berth_updates_init (BerthUpdates *self)
{
}
