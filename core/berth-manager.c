/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "berth-engine-private.h"
#include "berth-error.h"
#include "berth-integration.h"
#include "berth-kubernetes-private.h"
#include "berth-settings-import.h"
#include "berth-updater.h"
#include "berth-updates.h"
#include "berth-version.h"

#include "berth-manager.h"

#define GIB (G_GUINT64_CONSTANT (1024) * 1024 * 1024)
/* What a VM with a container engine and a few images needs at least. */
#define MIN_FREE_DISK_GIB 10
/* sizeof (struct sockaddr_un.sun_path) on Linux, the NUL included. */
#define UNIX_PATH_MAX 108
/* The Lima instance name Berth uses, as Rancher Desktop does. */
#define LIMA_INSTANCE "0"

/* How long the engine may take to answer once the VM is up: dockerd's first
 * start under software emulation takes tens of seconds. */
#define ENGINE_TIMEOUT_SECONDS 300

/* Progress step ids. */
#define STEP_VALIDATE "validate"
#define STEP_BACKEND_START "backend-start"
#define STEP_ENGINE "engine"
#define STEP_BACKEND_STOP "backend-stop"
#define STEP_BACKEND_DELETE "backend-delete"
#define STEP_KUBERNETES "kubernetes"
#define STEP_KUBERNETES_STOP "kubernetes-stop"
#define STEP_KUBERNETES_RESET "kubernetes-reset"
#define STEP_REMOVE_FILES "remove-files"

typedef enum
{
  OP_NONE,
  OP_START,
  OP_STOP,
  OP_KUBERNETES, /* Kubernetes alone restarts; the VM keeps running */
} Operation;

typedef struct
{
  gpointer instance; /* a plugin, kept alive by the loader */
  gulong handler_id;
} PluginHandler;

struct _BerthManager
{
  GObject parent_instance;

  BerthPaths *paths;
  BerthHostInfo host;
  BerthSettings *settings;
  BerthPluginLoader *loader;
  BerthProgress *progress;
  gboolean loaded;

  BerthBackend *backend;
  BerthKubernetesProvider *kubernetes;
  BerthImageProcessor *image_processor;
  GPtrArray *integrations; /* BerthIntegration, every one loaded */
  BerthUpdates *updates;   /* Berth's own updates, once loaded */
  /* A factory reset took back what they made: the defaults it writes and
   * the state it ends in do not bring it back. */
  gboolean integrations_removed;
  /* The image processor watches (refreshes its list, emits images-changed)
   * while Berth is STARTED and someone holds a watch. */
  gboolean image_processor_active;
  guint n_watchers;
  gulong backend_progress_id;
  gulong backend_state_id;
  gulong kubernetes_progress_id;
  GArray *plugin_handlers; /* PluginHandler */

  BerthState state;
  gchar *state_reason;
  gboolean locked;

  /* Kubernetes' own state (BERTH_KUBERNETES_STATE_* or "stopped"): a
   * Kubernetes that cannot start leaves the engine up, with the reason. */
  const gchar *kubernetes_state;
  gchar *kubernetes_reason;

  /* One operation at a time; a stop that arrives during a start cancels it
   * and runs once the start has wound down. */
  Operation op;
  GCancellable *op_cancellable;
  gboolean stop_after_start;
  GPtrArray *start_waiters;  /* GTask, completed when the start ends */
  GPtrArray *stop_waiters;   /* GTask, completed when the stop ends */
  const gchar *backend_step; /* the progress step the backend's "progress" feeds */
  const gchar *kubernetes_step; /* the one the Kubernetes provider's "progress" feeds */
  /* A reset runs start and stop as its parts; nothing else may meanwhile. */
  gboolean resetting;
  /* A settings change stopped the VM to apply itself: start it again. */
  gboolean restart_after_stop;

  /* The settings the VM was started with, while it runs; what a restart
   * would change is measured against it. */
  JsonNode *started_settings;
};

G_DEFINE_FINAL_TYPE (BerthManager, berth_manager, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_STATE,
  PROP_STATE_REASON,
  PROP_LOCKED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  SIGNAL_STATE_CHANGED,
  SIGNAL_PROGRESS_CHANGED,
  SIGNAL_SETTINGS_CHANGED,
  SIGNAL_PLUGIN_EVENT,
  SIGNAL_KUBERNETES_STATE_CHANGED,
  SIGNAL_UPDATE_STATE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
begin_start (BerthManager *self, GCancellable *caller_cancellable);
static void
begin_stop (BerthManager *self);
static void
begin_kubernetes_restart (BerthManager *self, const gchar *keys);
static void
update_image_processor (BerthManager *self);
static void
apply_integrations (BerthManager *self);
static void
remove_integrations (BerthManager *self, GTask *reset_task, void (*next) (GTask *reset_task));
static void
select_image_processor (BerthManager *self);
static BerthPlugin *
pick_plugin (BerthPluginLoader *loader, GType iface, const gchar *const *preferred, gboolean any);
static gboolean
check_updates_setting (BerthManager *self, JsonNode *partial, GError **error);

/* ---- state ------------------------------------------------------------ */

/* While the VM does not run, Kubernetes is "disabled" or "stopped". */
#define KUBERNETES_STATE_STOPPED "stopped"

static void
set_kubernetes_state (BerthManager *self, const gchar *state, const gchar *reason)
{
  if (g_strcmp0 (self->kubernetes_state, state) == 0
      && g_strcmp0 (self->kubernetes_reason, reason) == 0)
    return;
  self->kubernetes_state = state;
  g_free (self->kubernetes_reason);
  self->kubernetes_reason = g_strdup (reason);
  if (reason != NULL)
    g_message ("Kubernetes %s: %s", state, reason);
  else
    g_message ("Kubernetes %s", state);
  g_signal_emit (self, signals[SIGNAL_KUBERNETES_STATE_CHANGED], 0, state, reason);
}

/* Kubernetes' state while nothing runs it, as the settings say. */
static const gchar *
kubernetes_idle_state (BerthManager *self)
{
  if (self->kubernetes == NULL || self->settings == NULL
      || !berth_settings_get_boolean (self->settings, "kubernetes.enabled"))
    return BERTH_KUBERNETES_STATE_DISABLED;
  return KUBERNETES_STATE_STOPPED;
}

static void
set_state (BerthManager *self, BerthState state, const gchar *reason)
{
  if (self->state == state && g_strcmp0 (self->state_reason, reason) == 0)
    return;

  g_object_freeze_notify (G_OBJECT (self));
  if (self->state != state)
    {
      self->state = state;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
    }
  if (g_strcmp0 (self->state_reason, reason) != 0)
    {
      g_free (self->state_reason);
      self->state_reason = g_strdup (reason);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE_REASON]);
    }
  /* The host ends of the engine's sockets lead nowhere once the VM is down. */
  if ((state == BERTH_STATE_STOPPED || state == BERTH_STATE_ERROR) && self->paths != NULL)
    berth_engine_sockets_remove (self->paths->data);
  /* Kubernetes runs in the VM: it is down with it. */
  if (state == BERTH_STATE_STOPPED || state == BERTH_STATE_ERROR)
    set_kubernetes_state (self, kubernetes_idle_state (self), NULL);
  if (reason != NULL)
    g_message ("State %s: %s", berth_state_to_string (state), reason);
  else
    g_message ("State %s", berth_state_to_string (state));
  update_image_processor (self);
  if (state == BERTH_STATE_STARTED || state == BERTH_STATE_STOPPED)
    apply_integrations (self);
  g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0, state, reason);
  g_object_thaw_notify (G_OBJECT (self));
}

/* Completes and empties @waiters: with @error when set, else TRUE. */
static void
complete_waiters (GPtrArray *waiters, const GError *error)
{
  g_autoptr (GPtrArray) tasks = g_ptr_array_new_with_free_func (g_object_unref);

  /* Taken out first: a callback may start the next operation, which adds
   * waiters of its own. */
  while (waiters->len > 0)
    g_ptr_array_add (tasks, g_ptr_array_steal_index (waiters, 0));
  for (guint i = 0; i < tasks->len; i++)
    {
      GTask *task = g_ptr_array_index (tasks, i);

      if (error != NULL)
        g_task_return_error (task, g_error_copy (error));
      else
        g_task_return_boolean (task, TRUE);
    }
}

static gboolean
set_locked_error (BerthManager *self, GError **error)
{
  if (!self->locked)
    return TRUE;
  g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_BUSY,
                       "Berth's backend is locked against start, stop and reset; unlock it first "
                       "(backend_state locked: false)");
  return FALSE;
}

static gboolean
check_loaded (BerthManager *self, GError **error)
{
  if (self->loaded)
    return TRUE;
  g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                       "Berth's settings and plugins are not loaded yet");
  return FALSE;
}

gboolean
berth_manager_check_start (BerthManager *self, GError **error)
{
  g_return_val_if_fail (BERTH_IS_MANAGER (self), FALSE);

  if (!check_loaded (self, error) || !set_locked_error (self, error))
    return FALSE;
  if (self->resetting)
    {
      g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_BUSY,
                           "Berth is being reset; start it once the reset is done");
      return FALSE;
    }
  if (self->op == OP_STOP || self->stop_after_start)
    {
      g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_BUSY,
                           "Berth is stopping; start it again once it is STOPPED");
      return FALSE;
    }
  return TRUE;
}

gboolean
berth_manager_check_stop (BerthManager *self, GError **error)
{
  g_return_val_if_fail (BERTH_IS_MANAGER (self), FALSE);

  if (!check_loaded (self, error) || !set_locked_error (self, error))
    return FALSE;
  if (self->resetting)
    {
      g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_BUSY,
                           "Berth is being reset; the reset stops what it needs to");
      return FALSE;
    }
  return TRUE;
}

static const gchar *
reset_kind_to_string (BerthResetKind kind)
{
  switch (kind)
    {
    case BERTH_RESET_KUBERNETES_FAST:
      return "Kubernetes reset (fast)";
    case BERTH_RESET_KUBERNETES_WIPE:
      return "Kubernetes reset (wipe)";
    case BERTH_RESET_VM:
      return "VM reset";
    case BERTH_RESET_FACTORY:
      return "factory reset";
    default:
      return "reset";
    }
}

gboolean
berth_manager_check_reset (BerthManager *self, BerthResetKind kind, GError **error)
{
  g_return_val_if_fail (BERTH_IS_MANAGER (self), FALSE);

  if (!check_loaded (self, error) || !set_locked_error (self, error))
    return FALSE;
  if (kind > BERTH_RESET_FACTORY)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA, "Reset kind %d is not known",
                   (gint)kind);
      return FALSE;
    }
  if ((kind == BERTH_RESET_KUBERNETES_FAST || kind == BERTH_RESET_KUBERNETES_WIPE)
      && self->kubernetes == NULL)
    {
      g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                           "Kubernetes cannot be reset: no Kubernetes provider plugin (such as "
                           "berth-k3s) is loaded; `berthctl plugins` lists what is");
      return FALSE;
    }
  if (kind == BERTH_RESET_VM && self->backend == NULL)
    {
      g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                           "The VM cannot be reset: no backend plugin is loaded");
      return FALSE;
    }
  if (self->resetting || self->op != OP_NONE)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_BUSY,
                   "Berth is busy (%s); ask for the %s again when it is STARTED or STOPPED",
                   self->resetting ? "resetting" : berth_state_to_string (self->state),
                   reset_kind_to_string (kind));
      return FALSE;
    }
  if ((kind == BERTH_RESET_KUBERNETES_FAST || kind == BERTH_RESET_KUBERNETES_WIPE)
      && self->state != BERTH_STATE_STARTED)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_BUSY,
                   "Kubernetes can be reset only while Berth runs (it is %s); start it first",
                   berth_state_to_string (self->state));
      return FALSE;
    }
  return TRUE;
}

/* ---- settings snapshot and pending changes ------------------------------ */

/* A copy that shares nothing with @node: json_node_copy() shares objects
 * and arrays. */
static JsonNode *
json_deep_copy (JsonNode *node)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *from = json_node_get_object (node);
      g_autoptr (JsonObject) to = json_object_new ();
      g_autoptr (GList) members = json_object_get_members (from);

      for (GList *l = members; l != NULL; l = l->next)
        json_object_set_member (to, l->data,
                                json_deep_copy (json_object_get_member (from, l->data)));
      return json_node_init_object (json_node_alloc (), to);
    }
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *from = json_node_get_array (node);
      g_autoptr (JsonArray) to = json_array_sized_new (json_array_get_length (from));

      for (guint i = 0; i < json_array_get_length (from); i++)
        json_array_add_element (to, json_deep_copy (json_array_get_element (from, i)));
      return json_node_init_array (json_node_alloc (), to);
    }
  return json_node_copy (node);
}

/* Objects merge, everything else replaces: what berth_settings_update does. */
static void
json_merge_into (JsonObject *target, JsonObject *partial)
{
  g_autoptr (GList) members = json_object_get_members (partial);

  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *from = json_object_get_member (partial, l->data);
      JsonNode *into = json_object_get_member (target, l->data);

      if (into != NULL && JSON_NODE_HOLDS_OBJECT (into) && JSON_NODE_HOLDS_OBJECT (from))
        json_merge_into (json_node_get_object (into), json_node_get_object (from));
      else
        json_object_set_member (target, l->data, json_deep_copy (from));
    }
}

/* Borrowed; NULL when a part of the dotted @path is missing. */
static JsonNode *
lookup_path (JsonNode *root, const gchar *path)
{
  g_auto (GStrv) parts = g_strsplit (path, ".", -1);
  JsonNode *node = root;

  for (gsize i = 0; parts[i] != NULL; i++)
    {
      if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
        return NULL;
      node = json_object_get_member (json_node_get_object (node), parts[i]);
    }
  return node;
}

/* The schema entry for a diff path: the path itself, or the nearest parent
 * that is a setting (a map's members). */
static const BerthSettingSpec *
lookup_spec_for (const gchar *path)
{
  g_autofree gchar *prefix = g_strdup (path);

  while (TRUE)
    {
      const BerthSettingSpec *spec = berth_settings_lookup_spec (prefix);
      gchar *dot;

      if (spec != NULL)
        return spec;
      dot = strrchr (prefix, '.');
      if (dot == NULL)
        return NULL;
      *dot = '\0';
    }
}

/* {key: {current, desired, severity}} for what differs between @running
 * and @desired and needs a restart or a reset. */
static JsonNode *
compute_pending (JsonNode *running, JsonNode *desired)
{
  g_autoptr (JsonObject) pending = json_object_new ();
  g_auto (GStrv) changed = NULL;

  if (running != NULL)
    changed = berth_settings_diff (running, desired);
  for (gsize i = 0; changed != NULL && changed[i] != NULL; i++)
    {
      const BerthSettingSpec *spec = lookup_spec_for (changed[i]);
      JsonNode *current = lookup_path (running, changed[i]);
      JsonNode *wanted = lookup_path (desired, changed[i]);
      g_autoptr (JsonObject) entry = NULL;

      if (spec == NULL || spec->effect == BERTH_SETTING_EFFECT_NONE)
        continue;
      entry = json_object_new ();
      json_object_set_member (entry, "current",
                              current != NULL ? json_deep_copy (current)
                                              : json_node_new (JSON_NODE_NULL));
      json_object_set_member (entry, "desired",
                              wanted != NULL ? json_deep_copy (wanted)
                                             : json_node_new (JSON_NODE_NULL));
      /* A downgrade of Kubernetes needs its state deleted: a reset. */
      if (g_str_equal (changed[i], "kubernetes.version") && current != NULL && wanted != NULL
          && JSON_NODE_HOLDS_VALUE (current) && JSON_NODE_HOLDS_VALUE (wanted))
        json_object_set_string_member (
            entry, "severity",
            berth_kubernetes_version_change_severity (json_node_get_string (current),
                                                      json_node_get_string (wanted)));
      else
        json_object_set_string_member (entry, "severity",
                                       berth_setting_effect_to_string (spec->effect));
      json_object_set_object_member (pending, changed[i], g_steal_pointer (&entry));
    }
  return json_node_init_object (json_node_alloc (), pending);
}

JsonNode *
berth_manager_dup_pending (BerthManager *self)
{
  g_autoptr (JsonNode) current = NULL;

  g_return_val_if_fail (BERTH_IS_MANAGER (self), NULL);

  current = berth_settings_dup_node (self->settings);
  return compute_pending (self->started_settings, current);
}

/* A change that needs a restart, made while Berth runs and nothing else is
 * under way, restarts the VM at once, as Rancher Desktop does — or, when
 * only kubernetes.* settings changed, Kubernetes alone, with the VM and its
 * engine left running. A change that needs a reset stays pending until the
 * user resets. */
static void
restart_for_pending (BerthManager *self, JsonNode *pending)
{
  g_autoptr (GString) keys = g_string_new (NULL);
  gboolean kubernetes_only = TRUE;
  JsonObjectIter iter;
  const gchar *key;
  JsonNode *entry;

  if (self->state != BERTH_STATE_STARTED || self->op != OP_NONE || self->resetting
      || self->locked)
    return;
  json_object_iter_init (&iter, json_node_get_object (pending));
  while (json_object_iter_next (&iter, &key, &entry))
    {
      if (!JSON_NODE_HOLDS_OBJECT (entry)
          || g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (entry),
                                                                    "severity", ""),
                        "restart")
                 != 0)
        continue;
      g_string_append_printf (keys, "%s%s", keys->len > 0 ? ", " : "", key);
      if (!g_str_has_prefix (key, "kubernetes."))
        kubernetes_only = FALSE;
    }
  if (keys->len == 0)
    return;
  if (kubernetes_only && self->kubernetes != NULL && self->backend != NULL)
    {
      begin_kubernetes_restart (self, keys->str);
      return;
    }
  g_message ("Restarting the VM to apply %s", keys->str);
  self->restart_after_stop = TRUE;
  begin_stop (self);
}

gboolean
berth_manager_is_restarting (BerthManager *self)
{
  g_return_val_if_fail (BERTH_IS_MANAGER (self), FALSE);
  return self->restart_after_stop;
}

gboolean
berth_manager_is_restarting_kubernetes (BerthManager *self)
{
  g_return_val_if_fail (BERTH_IS_MANAGER (self), FALSE);
  return self->op == OP_KUBERNETES;
}

gboolean
berth_manager_update_settings (BerthManager *self, JsonNode *partial, JsonNode **pending_out,
                               GError **error)
{
  g_auto (GStrv) changed = NULL;
  g_autoptr (JsonNode) pending = NULL;

  g_return_val_if_fail (BERTH_IS_MANAGER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (pending_out != NULL)
    *pending_out = NULL;
  if (!check_loaded (self, error) || !check_updates_setting (self, partial, error))
    return FALSE;
  /* BerthSettings validates the whole result before it writes anything and
   * emits "changed", which is re-emitted as "settings-changed". */
  if (!berth_settings_update (self->settings, partial, &changed, error))
    return FALSE;
  if (changed != NULL && changed[0] != NULL)
    {
      g_autofree gchar *list = g_strjoinv (", ", changed);

      g_message ("Settings changed: %s", list);
    }
  /* The restart's stop half keeps the started settings: what is pending
   * now is what the answer reports. */
  pending = berth_manager_dup_pending (self);
  restart_for_pending (self, pending);
  if (pending_out != NULL)
    *pending_out = g_steal_pointer (&pending);
  return TRUE;
}

gboolean
berth_manager_import_settings (BerthManager *self, JsonNode *rancher_desktop,
                               BerthSettingsImport **import_out, GStrv *changed_out,
                               JsonNode **pending_out, GError **error)
{
  g_autoptr (BerthSettingsImport) import = NULL;
  g_auto (GStrv) changed = NULL;
  g_autoptr (JsonNode) pending = NULL;
  g_autofree gchar *changed_list = NULL;
  g_autofree gchar *dropped = NULL;

  g_return_val_if_fail (BERTH_IS_MANAGER (self), FALSE);
  g_return_val_if_fail (rancher_desktop != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (import_out != NULL)
    *import_out = NULL;
  if (changed_out != NULL)
    *changed_out = NULL;
  if (pending_out != NULL)
    *pending_out = NULL;
  if (!check_loaded (self, error))
    return FALSE;
  if (!berth_settings_import_rancher_desktop (self->settings, rancher_desktop, &import, &changed,
                                              error))
    return FALSE;
  changed_list = changed[0] != NULL ? g_strjoinv (", ", changed) : g_strdup ("nothing");
  dropped = berth_settings_import_describe_dropped (import, 40);
  g_message ("Rancher Desktop's settings (version %" G_GINT64_FORMAT
             ") imported; changed: %s; not carried over: %s",
             berth_settings_import_get_version (import), changed_list, dropped);
  pending = berth_manager_dup_pending (self);
  restart_for_pending (self, pending);
  if (import_out != NULL)
    *import_out = g_steal_pointer (&import);
  if (changed_out != NULL)
    *changed_out = g_steal_pointer (&changed);
  if (pending_out != NULL)
    *pending_out = g_steal_pointer (&pending);
  return TRUE;
}

JsonNode *
berth_manager_propose_settings (BerthManager *self, JsonNode *partial, GError **error)
{
  g_autoptr (JsonNode) candidate = NULL;
  JsonNode *version;

  g_return_val_if_fail (BERTH_IS_MANAGER (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_loaded (self, error))
    return NULL;
  if (partial == NULL || !JSON_NODE_HOLDS_OBJECT (partial))
    {
      g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                           "proposed settings must be a JSON object");
      return NULL;
    }
  version = json_object_get_member (json_node_get_object (partial), "version");
  if (version != NULL
      && (!JSON_NODE_HOLDS_VALUE (version) || json_node_get_value_type (version) != G_TYPE_INT64
          || json_node_get_int (version) != BERTH_SETTINGS_VERSION))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "version: a proposal may only repeat the current version %d",
                   BERTH_SETTINGS_VERSION);
      return NULL;
    }

  if (!check_updates_setting (self, partial, error))
    return NULL;
  candidate = berth_settings_dup_node (self->settings);
  json_merge_into (json_node_get_object (candidate), json_node_get_object (partial));
  if (!berth_settings_validate (candidate, berth_settings_get_host (self->settings), error))
    return NULL;
  return compute_pending (self->started_settings, candidate);
}

/* ---- progress --------------------------------------------------------- */

static void
on_progress_changed (BerthProgress *progress, BerthManager *self)
{
  g_signal_emit (self, signals[SIGNAL_PROGRESS_CHANGED], 0);
}

static void
on_backend_progress (BerthBackend *backend, const gchar *description, guint64 current, guint64 max,
                     BerthManager *self)
{
  if (self->backend_step == NULL)
    return;
  if (description != NULL && description[0] != '\0')
    berth_progress_set_description (self->progress, self->backend_step, description);
  berth_progress_update (self->progress, self->backend_step, current, max);
}

static void
on_kubernetes_progress (BerthKubernetesProvider *provider, const gchar *description,
                        guint64 current, guint64 max, BerthManager *self)
{
  if (self->kubernetes_step == NULL)
    return;
  if (description != NULL && description[0] != '\0')
    berth_progress_set_description (self->progress, self->kubernetes_step, description);
  berth_progress_update (self->progress, self->kubernetes_step, current, max);
}

/* The VM changed on its own (it crashed, or was stopped behind Berth's
 * back): follow it when nothing of ours is under way. */
static void
on_backend_state (BerthBackend *backend, GParamSpec *pspec, BerthManager *self)
{
  BerthState backend_state = berth_backend_get_state (backend);

  if (self->op != OP_NONE || self->resetting || self->state != BERTH_STATE_STARTED)
    return;
  if (backend_state == BERTH_STATE_ERROR)
    {
      const gchar *reason = berth_backend_get_state_reason (backend);

      set_state (self, BERTH_STATE_ERROR, reason != NULL ? reason : "The VM failed while running");
    }
  else if (backend_state == BERTH_STATE_STOPPED)
    {
      g_clear_pointer (&self->started_settings, json_node_unref);
      set_state (self, BERTH_STATE_STOPPED, NULL);
    }
}

/* ---- start ------------------------------------------------------------ */

/* The start runs in phases; the steps of a phase run at once and the next
 * phase begins when all of them are done. Asset downloads, the VM's
 * configuration and checks go in the first; the VM in the second; k3s, CA
 * certificates and helpers in the third. */
typedef struct _StartStep StartStep;
struct _StartStep
{
  const gchar *id;
  const gchar *description;
  gboolean (*wanted) (BerthManager *self);
  void (*run) (BerthManager *self, GCancellable *cancellable, GAsyncReadyCallback callback,
               gpointer user_data);
  gboolean (*finish) (BerthManager *self, GAsyncResult *result, GError **error);
};

static void
step_backend_start (BerthManager *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                    gpointer user_data)
{
  self->backend_step = STEP_BACKEND_START;
  berth_backend_start_async (self->backend, cancellable, callback, user_data);
}

static gboolean
step_backend_start_finish (BerthManager *self, GAsyncResult *result, GError **error)
{
  self->backend_step = NULL;
  return berth_backend_start_finish (self->backend, result, error);
}

/* The engine's sockets, one after the other: forwarded from the guest to
 * <data>, then waited for until the engine answers on the host's end. */
typedef struct
{
  BerthManager *self;
  GPtrArray *sockets; /* const BerthEngineSocket *, this engine's */
  guint next;
} EngineRun;

static void
engine_run_free (EngineRun *run)
{
  g_ptr_array_unref (run->sockets);
  g_free (run);
}

static void
engine_next (GTask *task);

static void
engine_wait_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;

  if (!berth_engine_socket_wait_finish (result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  engine_next (g_steal_pointer (&task));
}

static void
engine_forward_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  EngineRun *run = g_task_get_task_data (task);
  const BerthEngineSocket *socket = g_ptr_array_index (run->sockets, run->next - 1);
  g_autofree gchar *host_path = berth_engine_socket_host_path (socket, run->self->paths->data);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *description = NULL;

  if (!berth_backend_forward_socket_finish (BERTH_BACKEND (source), result, &error))
    {
      /* A backend without forwarding puts the engine's sockets where they
       * belong itself (or has no guest): nothing to forward or wait for. */
      if (g_error_matches (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED))
        {
          g_message ("%s; the engine is reached as the backend provides it", error->message);
          g_task_return_boolean (task, TRUE);
          return;
        }
      g_prefix_error (&error, "The %s socket could not be forwarded: ", socket->daemon);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_message ("Forwarded the guest's %s to %s", socket->guest_path, host_path);
  if (socket->probe == BERTH_ENGINE_PROBE_NONE)
    {
      engine_next (g_steal_pointer (&task));
      return;
    }
  description = g_strdup_printf ("Waiting for %s", socket->daemon);
  berth_progress_set_description (run->self->progress, STEP_ENGINE, description);
  berth_engine_socket_wait_async (host_path, socket->probe, socket->daemon,
                                  ENGINE_TIMEOUT_SECONDS, g_task_get_cancellable (task),
                                  engine_wait_done, g_object_ref (task));
}

static void
engine_next (GTask *task)
{
  EngineRun *run = g_task_get_task_data (task);
  const BerthEngineSocket *socket;
  g_autofree gchar *host_path = NULL;

  if (run->next >= run->sockets->len)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  socket = g_ptr_array_index (run->sockets, run->next++);
  host_path = berth_engine_socket_host_path (socket, run->self->paths->data);
  berth_backend_forward_socket_async (run->self->backend, socket->guest_path, host_path,
                                      g_task_get_cancellable (task), engine_forward_done, task);
}

static gboolean
step_engine_wanted (BerthManager *self)
{
  return self->backend != NULL;
}

static void
step_engine (BerthManager *self, GCancellable *cancellable, GAsyncReadyCallback callback,
             gpointer user_data)
{
  const gchar *engine = berth_settings_get_string (self->settings, "containerEngine.name");
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  EngineRun *run;

  g_task_set_source_tag (task, step_engine);
  run = g_new0 (EngineRun, 1);
  run->self = self;
  run->sockets = berth_engine_sockets_for (engine);
  g_task_set_task_data (task, run, (GDestroyNotify)engine_run_free);
  /* Another engine's socket from an earlier start must not look usable. */
  berth_engine_sockets_remove (self->paths->data);
  if (g_mkdir_with_parents (self->paths->data, 0700) != 0)
    {
      int saved = errno;

      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_FAILED,
                               "Cannot create %s for the engine's socket: %s", self->paths->data,
                               g_strerror (saved));
      g_object_unref (task);
      return;
    }
  engine_next (task);
}

static gboolean
step_engine_finish (BerthManager *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Kubernetes comes after the engine. When it cannot start, the engine
 * stays up: the step succeeds and Kubernetes' own state says what failed. */
static gboolean
step_kubernetes_wanted (BerthManager *self)
{
  return self->backend != NULL && self->kubernetes != NULL;
}

static void
kubernetes_up_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthManager *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;

  self->kubernetes_step = NULL;
  if (berth_kubernetes_bring_up_finish (result, &error))
    {
      set_kubernetes_state (self, BERTH_KUBERNETES_STATE_READY, NULL);
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      || g_error_matches (error, BERTH_ERROR, BERTH_ERROR_CANCELLED))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  berth_error_convert (&error);
  set_kubernetes_state (self, BERTH_KUBERNETES_STATE_ERROR, error->message);
  g_message ("Kubernetes did not start; the container engine keeps running");
  g_task_return_boolean (task, TRUE);
}

static void
kubernetes_disabled_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthManager *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;

  if (!berth_kubernetes_bring_down_finish (result, &error))
    g_message ("Kubernetes is disabled, but: %s", error->message);
  set_kubernetes_state (self, BERTH_KUBERNETES_STATE_DISABLED, NULL);
  g_task_return_boolean (task, TRUE);
}

static void
step_kubernetes (BerthManager *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                 gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, step_kubernetes);
  if (!berth_settings_get_boolean (self->settings, "kubernetes.enabled"))
    {
      /* What an earlier run installed must not come back with the VM. */
      berth_progress_set_description (self->progress, STEP_KUBERNETES,
                                      "Making sure Kubernetes is off");
      berth_kubernetes_bring_down_async (self->kubernetes, self->backend, TRUE, cancellable,
                                         kubernetes_disabled_done, task);
      return;
    }
  set_kubernetes_state (self, BERTH_KUBERNETES_STATE_STARTING, NULL);
  self->kubernetes_step = STEP_KUBERNETES;
  berth_kubernetes_bring_up_async (self->kubernetes, self->backend,
                                   berth_settings_get_string (self->settings, "kubernetes.version"),
                                   self->progress, STEP_KUBERNETES, cancellable, kubernetes_up_done,
                                   task);
}

static gboolean
step_kubernetes_finish (BerthManager *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static const StartStep start_phase_vm[] = {
  { STEP_BACKEND_START, "Starting the VM", NULL, step_backend_start, step_backend_start_finish },
  { NULL },
};

static const StartStep start_phase_engine[] = {
  { STEP_ENGINE, "Connecting to the container engine", step_engine_wanted, step_engine,
    step_engine_finish },
  { NULL },
};

static const StartStep start_phase_kubernetes[] = {
  { STEP_KUBERNETES, "Starting Kubernetes", step_kubernetes_wanted, step_kubernetes,
    step_kubernetes_finish },
  { NULL },
};

static const StartStep *const start_phases[] = {
  start_phase_vm,
  start_phase_engine,
  start_phase_kubernetes,
};

typedef struct
{
  BerthManager *self;
  guint phase;
  guint n_running;
  GError *error; /* the first step error */
} StartRun;

typedef struct
{
  StartRun *run;
  const StartStep *step;
} StartStepCall;

static void
run_start_phase (StartRun *run);

static void
finish_start (BerthManager *self, GError *error)
{
  g_autoptr (GError) owned = error;
  gboolean cancelled;

  /* A stop asked meanwhile explains whatever the start ended with. */
  cancelled = owned != NULL
              && (g_error_matches (owned, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                  || g_error_matches (owned, BERTH_ERROR, BERTH_ERROR_CANCELLED)
                  || self->stop_after_start);
  self->op = OP_NONE;
  self->backend_step = NULL;
  self->kubernetes_step = NULL;
  g_clear_object (&self->op_cancellable);
  berth_progress_clear (self->progress);

  if (owned == NULL)
    {
      set_state (self, BERTH_STATE_STARTED, NULL);
      complete_waiters (self->start_waiters, NULL);
    }
  else if (cancelled)
    {
      g_autoptr (GError) reported = g_error_new_literal (
          BERTH_ERROR, BERTH_ERROR_CANCELLED, "The start was cancelled before the VM was up");

      g_message ("Start cancelled (%s)", owned->message);
      complete_waiters (self->start_waiters, reported);
      /* Whatever the backend brought up is taken down again. */
      self->stop_after_start = TRUE;
    }
  else
    {
      berth_error_convert (&owned);
      set_state (self, BERTH_STATE_ERROR, owned->message);
      complete_waiters (self->start_waiters, owned);
    }

  if (self->stop_after_start && self->op == OP_NONE)
    begin_stop (self);
}

static void
start_step_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree StartStepCall *call = user_data;
  StartRun *run = call->run;
  BerthManager *self = run->self;
  g_autoptr (GError) error = NULL;

  if (!call->step->finish (self, result, &error))
    {
      g_debug ("Start step %s failed: %s", call->step->id, error->message);
      if (run->error == NULL)
        {
          run->error = g_steal_pointer (&error);
          /* The others have no point now. */
          g_cancellable_cancel (self->op_cancellable);
        }
    }
  berth_progress_end (self->progress, call->step->id);

  if (--run->n_running > 0)
    return;
  if (run->error != NULL)
    {
      GError *failed = g_steal_pointer (&run->error);

      g_free (run);
      finish_start (self, failed);
      return;
    }
  run->phase++;
  run_start_phase (run);
}

static void
run_start_phase (StartRun *run)
{
  BerthManager *self = run->self;

  while (run->phase < G_N_ELEMENTS (start_phases))
    {
      const StartStep *steps = start_phases[run->phase];

      if (g_cancellable_is_cancelled (self->op_cancellable))
        {
          g_free (run);
          finish_start (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                   "Operation was cancelled"));
          return;
        }

      /* Counted up front so a step that completes at once cannot end the
       * phase while the others are still being started. */
      run->n_running = 1;
      for (gsize i = 0; steps[i].id != NULL; i++)
        {
          StartStepCall *call;

          if (steps[i].wanted != NULL && !steps[i].wanted (self))
            continue;
          call = g_new0 (StartStepCall, 1);
          call->run = run;
          call->step = &steps[i];
          run->n_running++;
          berth_progress_begin (self->progress, steps[i].id, steps[i].description, 0);
          steps[i].run (self, self->op_cancellable, start_step_done, call);
        }
      if (--run->n_running > 0)
        return;
      /* Nothing wanted in this phase (or all done synchronously, which
       * GTask does not do): on to the next. */
      if (run->error != NULL)
        {
          GError *failed = g_steal_pointer (&run->error);

          g_free (run);
          finish_start (self, failed);
          return;
        }
      run->phase++;
    }

  g_free (run);
  finish_start (self, NULL);
}

static void
on_caller_cancelled (GCancellable *caller, gpointer user_data)
{
  GCancellable *op = user_data;

  g_cancellable_cancel (op);
}

static void
begin_start (BerthManager *self, GCancellable *caller_cancellable)
{
  g_autoptr (GError) error = NULL;
  StartRun *run;

  self->op = OP_START;
  self->stop_after_start = FALSE;
  self->op_cancellable = g_cancellable_new ();
  if (caller_cancellable != NULL)
    g_cancellable_connect (caller_cancellable, G_CALLBACK (on_caller_cancelled),
                           g_object_ref (self->op_cancellable), g_object_unref);

  g_clear_pointer (&self->started_settings, json_node_unref);
  self->started_settings = berth_settings_dup_node (self->settings);
  berth_progress_clear (self->progress);
  set_state (self, BERTH_STATE_STARTING, NULL);
  /* containerEngine.name takes effect with a restart: now. */
  select_image_processor (self);

  berth_progress_begin (self->progress, STEP_VALIDATE, "Checking that the VM can run here", 0);
  if (self->backend == NULL)
    g_set_error_literal (&error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                         "No backend plugin is loaded, so there is no VM to start; install one "
                         "(such as berth-lima) or see `berthctl plugins` for why none loaded");
  else
    berth_backend_validate (self->backend, &error);
  berth_progress_end (self->progress, STEP_VALIDATE);
  if (error != NULL)
    {
      finish_start (self, g_steal_pointer (&error));
      return;
    }

  run = g_new0 (StartRun, 1);
  run->self = self;
  run_start_phase (run);
}

void
berth_manager_start_async (BerthManager *self, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GError) error = NULL;

  g_return_if_fail (BERTH_IS_MANAGER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, berth_manager_start_async);

  if (!berth_manager_check_start (self, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (self->op == OP_START)
    {
      /* Joins the start under way. */
      g_ptr_array_add (self->start_waiters, g_steal_pointer (&task));
      return;
    }
  if (self->state == BERTH_STATE_STARTED)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  g_ptr_array_add (self->start_waiters, g_steal_pointer (&task));
  begin_start (self, cancellable);
}

gboolean
berth_manager_start_finish (BerthManager *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, berth_manager_start_async), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- Kubernetes alone ----------------------------------------------------- */

static void
kubernetes_restart_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (BerthManager) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) pending = NULL;

  /* Only a cancel fails the step: Kubernetes' own errors are its state. */
  if (!step_kubernetes_finish (self, result, &error))
    {
      g_message ("Kubernetes' restart ended early: %s", error->message);
      set_kubernetes_state (self, kubernetes_idle_state (self), NULL);
    }
  berth_progress_end (self->progress, STEP_KUBERNETES);
  self->op = OP_NONE;
  self->kubernetes_step = NULL;
  g_clear_object (&self->op_cancellable);
  berth_progress_clear (self->progress);
  if (self->stop_after_start)
    {
      begin_stop (self);
      return;
    }
  /* Changed again meanwhile: once more. */
  pending = berth_manager_dup_pending (self);
  restart_for_pending (self, pending);
}

static void
kubernetes_restart_up (BerthManager *self)
{
  berth_progress_begin (self->progress, STEP_KUBERNETES, "Starting Kubernetes", 0);
  step_kubernetes (self, self->op_cancellable, kubernetes_restart_done, g_object_ref (self));
}

static void
kubernetes_restart_stopped (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (BerthManager) self = user_data;
  g_autoptr (GError) error = NULL;

  if (!berth_kubernetes_bring_down_finish (result, &error))
    g_message ("%s; starting it again all the same", error->message);
  berth_progress_end (self->progress, STEP_KUBERNETES_STOP);
  set_kubernetes_state (self, KUBERNETES_STATE_STOPPED, NULL);
  kubernetes_restart_up (self);
}

/* kubernetes.* settings need k3s restarted, not the VM: stop Kubernetes
 * (when it runs and stays enabled), then bring it up or down as the
 * settings now say. The VM stays STARTED throughout. */
static void
begin_kubernetes_restart (BerthManager *self, const gchar *keys)
{
  g_autoptr (JsonNode) current = berth_settings_dup_node (self->settings);
  JsonNode *wanted = lookup_path (current, "kubernetes");
  gboolean running;

  g_message ("Restarting Kubernetes to apply %s; the VM keeps running", keys);
  self->op = OP_KUBERNETES;
  self->stop_after_start = FALSE;
  self->op_cancellable = g_cancellable_new ();
  berth_progress_clear (self->progress);
  /* What a restart would change is measured against what runs now. */
  if (self->started_settings != NULL && JSON_NODE_HOLDS_OBJECT (self->started_settings)
      && wanted != NULL)
    json_object_set_member (json_node_get_object (self->started_settings), "kubernetes",
                            json_node_copy (wanted));
  running = self->kubernetes_state != NULL
            && !g_str_equal (self->kubernetes_state, BERTH_KUBERNETES_STATE_DISABLED)
            && !g_str_equal (self->kubernetes_state, KUBERNETES_STATE_STOPPED);
  /* Disabling stops it (and removes Berth's kubeconfig entries) in the step. */
  if (running && berth_settings_get_boolean (self->settings, "kubernetes.enabled"))
    {
      berth_progress_begin (self->progress, STEP_KUBERNETES_STOP, "Stopping Kubernetes", 0);
      berth_kubernetes_bring_down_async (self->kubernetes, self->backend, FALSE, NULL,
                                         kubernetes_restart_stopped, g_object_ref (self));
      return;
    }
  kubernetes_restart_up (self);
}

/* ---- stop ------------------------------------------------------------- */

static void
finish_stop (BerthManager *self, GError *error)
{
  g_autoptr (GError) owned = error;

  self->op = OP_NONE;
  self->backend_step = NULL;
  berth_progress_clear (self->progress);
  if (owned == NULL)
    {
      g_clear_pointer (&self->started_settings, json_node_unref);
      set_state (self, BERTH_STATE_STOPPED, NULL);
      complete_waiters (self->stop_waiters, NULL);
    }
  else
    {
      berth_error_convert (&owned);
      set_state (self, BERTH_STATE_ERROR, owned->message);
      complete_waiters (self->stop_waiters, owned);
    }
  /* A restart for a settings change goes on, unless a waiter's callback
   * started something else or the stop failed. */
  if (self->restart_after_stop)
    {
      self->restart_after_stop = FALSE;
      if (owned == NULL && self->op == OP_NONE && self->state == BERTH_STATE_STOPPED)
        begin_start (self, NULL);
    }
}

static void
backend_stop_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (BerthManager) self = user_data;
  g_autoptr (GError) error = NULL;

  berth_backend_stop_finish (BERTH_BACKEND (source), result, &error);
  berth_progress_end (self->progress, STEP_BACKEND_STOP);
  finish_stop (self, g_steal_pointer (&error));
}

static void
stop_backend (BerthManager *self)
{
  self->backend_step = STEP_BACKEND_STOP;
  berth_progress_begin (self->progress, STEP_BACKEND_STOP, "Stopping the VM", 0);
  berth_backend_stop_async (self->backend, NULL, backend_stop_done, g_object_ref (self));
}

static void
kubernetes_stop_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (BerthManager) self = user_data;
  g_autoptr (GError) error = NULL;

  /* The VM stops all the same; k3s goes down with it, less cleanly. */
  if (!berth_kubernetes_bring_down_finish (result, &error))
    g_message ("%s; stopping the VM anyway", error->message);
  berth_progress_end (self->progress, STEP_KUBERNETES_STOP);
  set_kubernetes_state (self, kubernetes_idle_state (self), NULL);
  stop_backend (self);
}

static void
begin_stop (BerthManager *self)
{
  self->op = OP_STOP;
  self->stop_after_start = FALSE;
  set_state (self, BERTH_STATE_STOPPING, NULL);
  if (self->backend == NULL)
    {
      finish_stop (self, NULL);
      return;
    }
  /* Kubernetes stops before the engine it runs on. */
  if (self->kubernetes != NULL && self->kubernetes_state != NULL
      && !g_str_equal (self->kubernetes_state, BERTH_KUBERNETES_STATE_DISABLED)
      && !g_str_equal (self->kubernetes_state, KUBERNETES_STATE_STOPPED))
    {
      berth_progress_begin (self->progress, STEP_KUBERNETES_STOP, "Stopping Kubernetes", 0);
      berth_kubernetes_bring_down_async (self->kubernetes, self->backend, FALSE, NULL,
                                         kubernetes_stop_done, g_object_ref (self));
      return;
    }
  stop_backend (self);
}

/* Queues @task on the stop and starts one when none is under way. */
static void
stop_internal (BerthManager *self, GTask *task)
{
  /* Asked to stop: a restart under way ends stopped. */
  self->restart_after_stop = FALSE;
  if (self->op == OP_STOP)
    {
      g_ptr_array_add (self->stop_waiters, task);
      return;
    }
  if (self->op == OP_START || self->op == OP_KUBERNETES)
    {
      g_ptr_array_add (self->stop_waiters, task);
      self->stop_after_start = TRUE;
      g_message (self->op == OP_START ? "Stop asked while starting: cancelling the start"
                                      : "Stop asked while Kubernetes restarts: cancelling that");
      g_cancellable_cancel (self->op_cancellable);
      return;
    }
  if (self->state == BERTH_STATE_STOPPED)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  g_ptr_array_add (self->stop_waiters, task);
  begin_stop (self);
}

void
berth_manager_stop_async (BerthManager *self, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GError) error = NULL;

  g_return_if_fail (BERTH_IS_MANAGER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, berth_manager_stop_async);

  if (!berth_manager_check_stop (self, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  stop_internal (self, g_steal_pointer (&task));
}

gboolean
berth_manager_stop_finish (BerthManager *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, berth_manager_stop_async), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- reset ------------------------------------------------------------ */

typedef struct
{
  BerthResetKind kind;
  gboolean was_running;
  gboolean keep_cache; /* a factory reset's keepSystemImages */
} ResetData;

static void
reset_after_stop (GObject *source, GAsyncResult *result, gpointer user_data);
static void
reset_after_delete (GObject *source, GAsyncResult *result, gpointer user_data);
static void
reset_after_remove (GObject *source, GAsyncResult *result, gpointer user_data);
static void
reset_after_kubernetes (GObject *source, GAsyncResult *result, gpointer user_data);
static void
reset_after_restart_stop (GObject *source, GAsyncResult *result, gpointer user_data);
static void
reset_after_start (GObject *source, GAsyncResult *result, gpointer user_data);

static void
reset_fail (GTask *task, GError *error)
{
  BerthManager *self = g_task_get_source_object (task);

  self->resetting = FALSE;
  self->integrations_removed = FALSE;
  berth_progress_clear (self->progress);
  berth_error_convert (&error);
  g_message ("%s failed: %s",
             reset_kind_to_string (((ResetData *)g_task_get_task_data (task))->kind),
             error->message);
  g_task_return_error (task, error);
}

static void
reset_succeed (GTask *task)
{
  BerthManager *self = g_task_get_source_object (task);

  self->resetting = FALSE;
  self->integrations_removed = FALSE;
  berth_progress_clear (self->progress);
  g_message ("%s done", reset_kind_to_string (((ResetData *)g_task_get_task_data (task))->kind));
  g_task_return_boolean (task, TRUE);
}

/* A GTask of the manager's own, for a reset that waits on a start or stop. */
static GTask *
internal_task (BerthManager *self, GAsyncReadyCallback callback, GTask *reset_task)
{
  return g_task_new (self, NULL, callback, g_object_ref (reset_task));
}

/* Removes @path and everything under it, without following symbolic links,
 * keeping the entries named in @keep (full paths) and what leads to them. */
static gboolean
remove_tree (const gchar *path, const gchar *const *keep, GError **error)
{
  GStatBuf st;

  if (keep != NULL && g_strv_contains (keep, path))
    return TRUE;
  if (g_lstat (path, &st) != 0)
    {
      if (errno == ENOENT)
        return TRUE;
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Could not look at %s: %s", path,
                   g_strerror (errno));
      return FALSE;
    }
  if (S_ISDIR (st.st_mode))
    {
      g_autoptr (GDir) dir = NULL;
      g_autoptr (GError) local_error = NULL;
      gboolean kept = FALSE;
      const gchar *name;

      dir = g_dir_open (path, 0, &local_error);
      if (dir == NULL)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Could not list %s: %s", path,
                       local_error->message);
          return FALSE;
        }
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree gchar *child = g_build_filename (path, name, NULL);

          if (keep != NULL && g_strv_contains (keep, child))
            {
              kept = TRUE;
              continue;
            }
          if (!remove_tree (child, keep, error))
            return FALSE;
          /* Still there: something under it was kept. */
          if (g_lstat (child, &st) == 0)
            kept = TRUE;
        }
      if (kept)
        return TRUE;
      if (g_rmdir (path) != 0 && errno != ENOENT)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Could not remove %s: %s", path,
                       g_strerror (errno));
          return FALSE;
        }
      return TRUE;
    }
  if (g_unlink (path) != 0 && errno != ENOENT)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Could not remove %s: %s", path,
                   g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

/* Only Berth's own directories are ever removed: their last or second to
 * last component is "berth" (…/berth, …/berth/lima, …\berth\cache). */
static gboolean
is_berth_dir (const gchar *path)
{
  g_autofree gchar *base = NULL;
  g_autofree gchar *parent = NULL;
  g_autofree gchar *parent_base = NULL;

  if (path == NULL || !g_path_is_absolute (path))
    return FALSE;
  base = g_path_get_basename (path);
  parent = g_path_get_dirname (path);
  parent_base = g_path_get_basename (parent);
  return g_str_equal (base, PACKAGE_NAME) || g_str_equal (parent_base, PACKAGE_NAME);
}

static void
remove_files_thread (GTask *task, gpointer source_object, gpointer task_data,
                     GCancellable *cancellable)
{
  BerthPaths *paths = task_data;
  g_autofree gchar *credentials = g_build_filename (paths->data, "berth-engine.json", NULL);
  /* The logs stay (they tell what happened, the reset included), and so does
   * the running berthd's credentials file: its clients still need it. */
  const gchar *keep[] = { paths->logs, credentials, NULL };
  const gchar *dirs[] = { paths->cache, paths->lima, paths->data, paths->config };
  GError *error = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      if (dirs[i] == NULL)
        continue;
      if (!is_berth_dir (dirs[i]))
        {
          g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_FAILED,
                                   "Refusing to remove %s: it is not a Berth directory", dirs[i]);
          return;
        }
      if (!remove_tree (dirs[i], keep, &error))
        {
          g_task_return_error (task, error);
          return;
        }
    }
  g_task_return_boolean (task, TRUE);
}

static void
reset_remove_files (GTask *reset_task)
{
  BerthManager *self = g_task_get_source_object (reset_task);
  ResetData *data = g_task_get_task_data (reset_task);
  g_autoptr (GTask) task = g_task_new (self, NULL, reset_after_remove, g_object_ref (reset_task));
  BerthPaths *paths = berth_paths_copy (self->paths);

  /* keepSystemImages: the guest image and Kubernetes' downloads stay. */
  if (data->keep_cache)
    g_clear_pointer (&paths->cache, g_free);
  berth_progress_begin (self->progress, STEP_REMOVE_FILES,
                        data->keep_cache ? "Removing Berth's data and settings, keeping its cache"
                                         : "Removing Berth's data, caches and settings",
                        0);
  g_task_set_task_data (task, paths, (GDestroyNotify)berth_paths_free);
  g_task_run_in_thread (task, remove_files_thread);
}

static void
reset_delete_vm (GTask *reset_task)
{
  BerthManager *self = g_task_get_source_object (reset_task);

  if (self->backend == NULL)
    {
      reset_after_delete (NULL, NULL, g_object_ref (reset_task));
      return;
    }
  self->backend_step = STEP_BACKEND_DELETE;
  berth_progress_begin (self->progress, STEP_BACKEND_DELETE, "Deleting the VM", 0);
  berth_backend_delete_async (self->backend, NULL, reset_after_delete, g_object_ref (reset_task));
}

static void
reset_after_kubeconfig (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) reset_task = user_data;
  BerthManager *self = g_task_get_source_object (reset_task);
  g_autoptr (GError) error = NULL;

  if (!berth_kubernetes_bring_down_finish (result, &error))
    g_message ("%s; the factory reset goes on", error->message);
  remove_integrations (self, reset_task, reset_remove_files);
}

/* A factory reset takes Berth's entries out of the user's kubeconfig. */
static void
reset_remove_kubeconfig (GTask *reset_task)
{
  BerthManager *self = g_task_get_source_object (reset_task);

  if (self->kubernetes == NULL)
    {
      remove_integrations (self, reset_task, reset_remove_files);
      return;
    }
  berth_kubernetes_bring_down_async (self->kubernetes, NULL, TRUE, NULL, reset_after_kubeconfig,
                                     g_object_ref (reset_task));
}

static void
reset_after_stop (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) reset_task = user_data;
  g_autoptr (GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      ResetData *data = g_task_get_task_data (reset_task);

      /* A factory reset goes on: removing the VM is what it is for. */
      if (data->kind != BERTH_RESET_FACTORY)
        {
          g_prefix_error (&error,
                          "Could not stop the VM for the %s: ", reset_kind_to_string (data->kind));
          reset_fail (reset_task, g_steal_pointer (&error));
          return;
        }
      g_message ("Could not stop the VM cleanly for the factory reset (%s); deleting it anyway",
                 error->message);
    }
  reset_delete_vm (reset_task);
}

static void
reset_after_delete (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) reset_task = user_data;
  BerthManager *self = g_task_get_source_object (reset_task);
  ResetData *data = g_task_get_task_data (reset_task);
  g_autoptr (GError) error = NULL;

  if (result != NULL)
    {
      self->backend_step = NULL;
      berth_progress_end (self->progress, STEP_BACKEND_DELETE);
      if (!berth_backend_delete_finish (BERTH_BACKEND (source), result, &error))
        {
          if (!g_error_matches (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED)
              || data->kind == BERTH_RESET_VM)
            {
              g_prefix_error (&error, "Could not delete the VM for the %s: ",
                              reset_kind_to_string (data->kind));
              reset_fail (reset_task, g_steal_pointer (&error));
              return;
            }
          g_message ("%s; its files go with the data directory", error->message);
        }
    }

  if (data->kind == BERTH_RESET_FACTORY)
    {
      self->integrations_removed = TRUE;
      reset_remove_kubeconfig (reset_task);
      return;
    }
  /* A VM reset brings back what ran. */
  if (data->was_running)
    {
      g_ptr_array_add (self->start_waiters, internal_task (self, reset_after_start, reset_task));
      begin_start (self, NULL);
      return;
    }
  reset_succeed (reset_task);
}

static void
reset_after_remove (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) reset_task = user_data;
  BerthManager *self = g_task_get_source_object (reset_task);
  g_autoptr (GError) error = NULL;

  berth_progress_end (self->progress, STEP_REMOVE_FILES);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      reset_fail (reset_task, g_steal_pointer (&error));
      return;
    }
  if (!berth_settings_reset (self->settings, &error))
    {
      g_prefix_error (&error, "Could not write default settings after the factory reset: ");
      reset_fail (reset_task, g_steal_pointer (&error));
      return;
    }
  g_clear_pointer (&self->started_settings, json_node_unref);
  set_state (self, BERTH_STATE_STOPPED, NULL);
  reset_succeed (reset_task);
}

static void
reset_after_kubernetes (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) reset_task = user_data;
  BerthManager *self = g_task_get_source_object (reset_task);
  g_autoptr (GError) error = NULL;

  berth_progress_end (self->progress, STEP_KUBERNETES_RESET);
  if (!berth_kubernetes_provider_delete_state_finish (BERTH_KUBERNETES_PROVIDER (source), result,
                                                      &error))
    {
      g_prefix_error (&error, "Could not delete Kubernetes' state: ");
      reset_fail (reset_task, g_steal_pointer (&error));
      return;
    }
  /* Kubernetes comes back fresh with a restart of the VM. */
  stop_internal (self, internal_task (self, reset_after_restart_stop, reset_task));
}

static void
reset_after_restart_stop (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) reset_task = user_data;
  BerthManager *self = g_task_get_source_object (reset_task);
  g_autoptr (GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      reset_fail (reset_task, g_steal_pointer (&error));
      return;
    }
  g_ptr_array_add (self->start_waiters, internal_task (self, reset_after_start, reset_task));
  begin_start (self, NULL);
}

static void
reset_after_start (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) reset_task = user_data;
  g_autoptr (GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_prefix_error (&error, "The VM did not start again after the reset: ");
      reset_fail (reset_task, g_steal_pointer (&error));
      return;
    }
  reset_succeed (reset_task);
}

static void
begin_reset (BerthManager *self, BerthResetKind kind, gboolean keep_cache,
             GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GError) error = NULL;
  ResetData *data;

  g_return_if_fail (BERTH_IS_MANAGER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, berth_manager_reset_async);
  if (!berth_manager_check_reset (self, kind, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  data = g_new0 (ResetData, 1);
  data->kind = kind;
  data->was_running = self->state == BERTH_STATE_STARTED;
  data->keep_cache = keep_cache;
  g_task_set_task_data (task, data, g_free);
  self->resetting = TRUE;
  g_message ("Beginning the %s", reset_kind_to_string (kind));

  switch (kind)
    {
    case BERTH_RESET_KUBERNETES_FAST:
    case BERTH_RESET_KUBERNETES_WIPE:
      berth_progress_begin (self->progress, STEP_KUBERNETES_RESET,
                            kind == BERTH_RESET_KUBERNETES_WIPE
                                ? "Deleting Kubernetes' state and images"
                                : "Deleting Kubernetes' state",
                            0);
      berth_kubernetes_provider_delete_state_async (self->kubernetes, self->backend,
                                                    kind == BERTH_RESET_KUBERNETES_WIPE, NULL,
                                                    reset_after_kubernetes, g_object_ref (task));
      break;
    case BERTH_RESET_VM:
    case BERTH_RESET_FACTORY:
    default:
      stop_internal (self, internal_task (self, reset_after_stop, task));
      break;
    }
}

void
berth_manager_reset_async (BerthManager *self, BerthResetKind kind, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
  begin_reset (self, kind, FALSE, cancellable, callback, user_data);
}

void
berth_manager_factory_reset_async (BerthManager *self, gboolean keep_system_images,
                                   GCancellable *cancellable, GAsyncReadyCallback callback,
                                   gpointer user_data)
{
  begin_reset (self, BERTH_RESET_FACTORY, keep_system_images, cancellable, callback, user_data);
}

gboolean
berth_manager_reset_finish (BerthManager *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, berth_manager_reset_async), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- plugin signals --------------------------------------------------- */

typedef struct
{
  GClosure closure;
  BerthManager *manager; /* not a reference: the handlers go in dispose */
  gchar *plugin_name;
  const gchar *signal_name; /* GLib's, static */
} PluginClosure;

static JsonNode *
string_to_json (const gchar *value)
{
  g_autofree gchar *valid = NULL;

  if (value == NULL)
    return json_node_new (JSON_NODE_NULL);
  valid = g_utf8_make_valid (value, -1);
  return json_node_init_string (json_node_alloc (), valid);
}

/* Strings, numbers, booleans, enums (by nick), flags (nicks), string
 * arrays, JSON nodes and variants as themselves; anything else as null. */
static JsonNode *
value_to_json (const GValue *value)
{
  GType type = G_VALUE_TYPE (value);

  if (type == JSON_TYPE_NODE)
    {
      JsonNode *node = g_value_get_boxed (value);

      return node != NULL ? json_deep_copy (node) : json_node_new (JSON_NODE_NULL);
    }
  if (type == G_TYPE_STRV)
    {
      const gchar *const *strv = g_value_get_boxed (value);
      g_autoptr (JsonArray) array = json_array_new ();

      for (gsize i = 0; strv != NULL && strv[i] != NULL; i++)
        json_array_add_element (array, string_to_json (strv[i]));
      return json_node_init_array (json_node_alloc (), array);
    }

  switch (G_TYPE_FUNDAMENTAL (type))
    {
    case G_TYPE_STRING:
      return string_to_json (g_value_get_string (value));
    case G_TYPE_BOOLEAN:
      return json_node_init_boolean (json_node_alloc (), g_value_get_boolean (value));
    case G_TYPE_CHAR:
      return json_node_init_int (json_node_alloc (), g_value_get_schar (value));
    case G_TYPE_UCHAR:
      return json_node_init_int (json_node_alloc (), g_value_get_uchar (value));
    case G_TYPE_INT:
      return json_node_init_int (json_node_alloc (), g_value_get_int (value));
    case G_TYPE_UINT:
      return json_node_init_int (json_node_alloc (), g_value_get_uint (value));
    case G_TYPE_LONG:
      return json_node_init_int (json_node_alloc (), g_value_get_long (value));
    case G_TYPE_ULONG:
      return json_node_init_int (json_node_alloc (),
                                 (gint64)MIN (g_value_get_ulong (value), (gulong)G_MAXINT64));
    case G_TYPE_INT64:
      return json_node_init_int (json_node_alloc (), g_value_get_int64 (value));
    case G_TYPE_UINT64:
      return json_node_init_int (json_node_alloc (),
                                 (gint64)MIN (g_value_get_uint64 (value), (guint64)G_MAXINT64));
    case G_TYPE_FLOAT:
      return json_node_init_double (json_node_alloc (), g_value_get_float (value));
    case G_TYPE_DOUBLE:
      return json_node_init_double (json_node_alloc (), g_value_get_double (value));
    case G_TYPE_ENUM:
      {
        g_autoptr (GEnumClass) klass = g_type_class_ref (type);
        GEnumValue *v = g_enum_get_value (klass, g_value_get_enum (value));

        if (v != NULL)
          return json_node_init_string (json_node_alloc (), v->value_nick);
        return json_node_init_int (json_node_alloc (), g_value_get_enum (value));
      }
    case G_TYPE_FLAGS:
      {
        g_autoptr (GFlagsClass) klass = g_type_class_ref (type);
        g_autoptr (JsonArray) array = json_array_new ();
        guint flags = g_value_get_flags (value);

        for (guint i = 0; i < klass->n_values; i++)
          {
            if (klass->values[i].value != 0
                && (flags & klass->values[i].value) == klass->values[i].value)
              json_array_add_string_element (array, klass->values[i].value_nick);
          }
        return json_node_init_array (json_node_alloc (), array);
      }
    case G_TYPE_VARIANT:
      {
        GVariant *variant = g_value_get_variant (value);

        return variant != NULL ? json_gvariant_serialize (variant) : json_node_new (JSON_NODE_NULL);
      }
    default:
      return json_node_new (JSON_NODE_NULL);
    }
}

static void
plugin_closure_marshal (GClosure *closure, GValue *return_value, guint n_param_values,
                        const GValue *param_values, gpointer invocation_hint, gpointer marshal_data)
{
  PluginClosure *pc = (PluginClosure *)closure;
  g_autoptr (JsonArray) args = json_array_sized_new (n_param_values);
  g_autoptr (JsonNode) node = NULL;

  /* The first value is the plugin itself. */
  for (guint i = 1; i < n_param_values; i++)
    json_array_add_element (args, value_to_json (&param_values[i]));
  node = json_node_init_array (json_node_alloc (), args);
  g_signal_emit (pc->manager, signals[SIGNAL_PLUGIN_EVENT], 0, pc->plugin_name, pc->signal_name,
                 node);
}

static void
plugin_closure_finalize (gpointer data, GClosure *closure)
{
  PluginClosure *pc = (PluginClosure *)closure;

  g_free (pc->plugin_name);
}

static void
connect_plugin_signals (BerthManager *self, BerthPlugin *plugin)
{
  const GType ifaces[] = {
    BERTH_TYPE_BACKEND,         BERTH_TYPE_KUBERNETES_PROVIDER,
    BERTH_TYPE_IMAGE_PROCESSOR, BERTH_TYPE_INTEGRATION,
    BERTH_TYPE_UPDATER,
  };

  for (gsize k = 0; k < G_N_ELEMENTS (ifaces); k++)
    {
      g_autofree guint *ids = NULL;
      guint n_ids = 0;

      if (!g_type_is_a (G_OBJECT_TYPE (plugin), ifaces[k]))
        continue;
      ids = g_signal_list_ids (ifaces[k], &n_ids);
      for (guint i = 0; i < n_ids; i++)
        {
          GSignalQuery query;
          PluginClosure *pc;
          PluginHandler handler;

          g_signal_query (ids[i], &query);
          pc = (PluginClosure *)g_closure_new_simple (sizeof (PluginClosure), NULL);
          pc->manager = self;
          pc->plugin_name = g_strdup (berth_plugin_get_name (plugin));
          pc->signal_name = query.signal_name;
          g_closure_add_finalize_notifier (&pc->closure, NULL, plugin_closure_finalize);
          g_closure_set_marshal (&pc->closure, plugin_closure_marshal);
          handler.instance = plugin;
          handler.handler_id
              = g_signal_connect_closure_by_id (plugin, ids[i], 0, &pc->closure, FALSE);
          g_array_append_val (self->plugin_handlers, handler);
        }
    }
}

/* ---- image processor ---------------------------------------------------- */

/* Activates or deactivates the image processor as the state and the
 * watchers say. */
static void
update_image_processor (BerthManager *self)
{
  gboolean want
      = self->image_processor != NULL && self->state == BERTH_STATE_STARTED && self->n_watchers > 0;
  const gchar *name;
  g_autoptr (GError) error = NULL;

  if (want == self->image_processor_active)
    return;
  name = berth_plugin_get_name (BERTH_PLUGIN (self->image_processor));
  if (!want)
    {
      berth_image_processor_deactivate (self->image_processor);
      self->image_processor_active = FALSE;
      g_debug ("Image processor %s no longer watches the images", name);
      return;
    }
  if (!berth_image_processor_activate (self->image_processor, self->backend, &error))
    {
      g_message ("Image processor %s could not start watching the images: %s", name,
                 error->message);
      return;
    }
  self->image_processor_active = TRUE;
  g_debug ("Image processor %s watches the images", name);
}

/* The image processor for containerEngine.name: nerdctl for containerd,
 * moby for moby. A change of engine switches processors here, at a start. */
static void
select_image_processor (BerthManager *self)
{
  static const gchar *const moby_processors[] = { "moby", NULL };
  static const gchar *const containerd_processors[] = { "nerdctl", NULL };
  const gchar *engine = berth_settings_get_string (self->settings, "containerEngine.name");
  gboolean containerd = g_strcmp0 (engine, "containerd") == 0;
  BerthPlugin *plugin;

  plugin = pick_plugin (self->loader, BERTH_TYPE_IMAGE_PROCESSOR,
                        containerd ? containerd_processors : moby_processors, FALSE);
  if (plugin != NULL && (gpointer)plugin == (gpointer)self->image_processor)
    return;
  if (self->image_processor_active)
    {
      berth_image_processor_deactivate (self->image_processor);
      self->image_processor_active = FALSE;
    }
  g_clear_object (&self->image_processor);
  if (plugin == NULL)
    {
      g_message ("No image processor plugin for containerEngine.name %s is loaded (it would be "
                 "berth-%s): images cannot be listed",
                 engine != NULL ? engine : "moby", containerd ? "nerdctl" : "moby");
      return;
    }
  self->image_processor = g_object_ref (BERTH_IMAGE_PROCESSOR (plugin));
  g_message ("Image processor: %s (containerEngine.name %s)", berth_plugin_get_name (plugin),
             engine != NULL ? engine : "moby");
  update_image_processor (self);
}

void
berth_manager_hold_watch (BerthManager *self)
{
  g_return_if_fail (BERTH_IS_MANAGER (self));

  self->n_watchers++;
  update_image_processor (self);
}

void
berth_manager_release_watch (BerthManager *self)
{
  g_return_if_fail (BERTH_IS_MANAGER (self));
  g_return_if_fail (self->n_watchers > 0);

  self->n_watchers--;
  update_image_processor (self);
}

guint
berth_manager_get_n_watchers (BerthManager *self)
{
  g_return_val_if_fail (BERTH_IS_MANAGER (self), 0);
  return self->n_watchers;
}

/* ---- loading ---------------------------------------------------------- */

static void
on_settings_changed (BerthSettings *settings, const gchar *const *changed, BerthManager *self)
{
  /* While nothing runs it, Kubernetes' state follows kubernetes.enabled;
   * while the VM runs, the restart that applies it changes the state. */
  if (self->op == OP_NONE && !self->resetting
      && (self->state == BERTH_STATE_STOPPED || self->state == BERTH_STATE_ERROR))
    set_kubernetes_state (self, kubernetes_idle_state (self), NULL);
  apply_integrations (self);
  if (self->updates != NULL)
    berth_updates_settings_changed (self->updates, changed);
  g_signal_emit (self, signals[SIGNAL_SETTINGS_CHANGED], 0, changed);
}

/* ---- integrations ------------------------------------------------------- */

static void
integration_applied (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!berth_integration_apply_finish (BERTH_INTEGRATION (source), result, &error))
    g_message ("Integration %s could not apply the settings: %s",
               berth_plugin_get_name (BERTH_PLUGIN (source)), error->message);
}

/* Each integration brings what it manages on the host (the docker context,
 * tool links…) in line with the settings and the state. Failures are the
 * integration's to report; they never stop the VM. */
static void
apply_integrations (BerthManager *self)
{
  if (!self->loaded || self->integrations == NULL || self->integrations_removed)
    return;
  for (guint i = 0; i < self->integrations->len; i++)
    berth_integration_apply_async (g_ptr_array_index (self->integrations, i), self->state, NULL,
                                   integration_applied, NULL);
}

typedef struct
{
  guint outstanding;
  GTask *reset_task; /* owned */
  void (*next) (GTask *reset_task);
} IntegrationsRemoval;

static void
integration_removed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  IntegrationsRemoval *removal = user_data;
  g_autoptr (GError) error = NULL;

  if (!berth_integration_remove_finish (BERTH_INTEGRATION (source), result, &error))
    g_message ("Integration %s could not undo its changes: %s",
               berth_plugin_get_name (BERTH_PLUGIN (source)), error->message);
  if (--removal->outstanding > 0)
    return;
  removal->next (removal->reset_task);
  g_object_unref (removal->reset_task);
  g_free (removal);
}

/* Undoes every integration's changes on the host, then calls @next. */
static void
remove_integrations (BerthManager *self, GTask *reset_task, void (*next) (GTask *reset_task))
{
  IntegrationsRemoval *removal;

  if (self->integrations == NULL || self->integrations->len == 0)
    {
      next (reset_task);
      return;
    }
  removal = g_new0 (IntegrationsRemoval, 1);
  removal->outstanding = self->integrations->len;
  removal->reset_task = g_object_ref (reset_task);
  removal->next = next;
  for (guint i = 0; i < self->integrations->len; i++)
    berth_integration_remove_async (g_ptr_array_index (self->integrations, i), NULL,
                                    integration_removed, removal);
}

/* ---- Berth's own updates ------------------------------------------------ */

static void
on_updates_changed (BerthUpdates *updates, BerthManager *self)
{
  g_autoptr (JsonNode) status = berth_updates_dup_status (updates);

  g_signal_emit (self, signals[SIGNAL_UPDATE_STATE], 0, status);
}

/* The Updater, or why there is none. */
static void
load_updates (BerthManager *self)
{
  BerthPlugin *plugin = pick_plugin (self->loader, BERTH_TYPE_UPDATER, NULL, TRUE);
  const gchar *reason = NULL;

  if (plugin == NULL && self->host.updates_from_packages)
    reason = "this build of Berth does not update itself (built with -Dplugin_updater=disabled): "
             "its updates come from your distribution's packages";
  else if (plugin == NULL)
    reason = "no Updater plugin is loaded, so Berth cannot update itself; `berthctl plugins` "
             "lists the plugins found and why each did not load";
  self->updates
      = berth_updates_new (self->settings, plugin != NULL ? BERTH_UPDATER (plugin) : NULL, reason);
  g_signal_connect_object (self->updates, "changed", G_CALLBACK (on_updates_changed), self, 0);
  if (plugin != NULL)
    g_message ("Updater: %s", berth_plugin_get_name (plugin));
}

/* Turning updates on where nothing can update is refused, rather than kept
 * and ignored. */
static gboolean
check_updates_setting (BerthManager *self, JsonNode *partial, GError **error)
{
  JsonNode *node = partial != NULL && JSON_NODE_HOLDS_OBJECT (partial)
                       ? lookup_path (partial, "application.updater.enabled")
                       : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_BOOLEAN || !json_node_get_boolean (node)
      || self->updates == NULL || berth_updates_is_supported (self->updates)
      || berth_settings_get_boolean (self->settings, "application.updater.enabled"))
    return TRUE;
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
               "application.updater.enabled: true is not supported here: %s; it can only be false",
               berth_updates_get_unsupported_reason (self->updates));
  return FALSE;
}

JsonNode *
berth_manager_dup_update_status (BerthManager *self)
{
  g_return_val_if_fail (BERTH_IS_MANAGER (self), NULL);

  if (self->updates == NULL)
    return json_node_new (JSON_NODE_NULL);
  return berth_updates_dup_status (self->updates);
}

static void
update_checked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;
  JsonNode *status = berth_updates_check_finish (BERTH_UPDATES (source), result, &error);

  if (status == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, status, (GDestroyNotify)json_node_unref);
}

void
berth_manager_check_update_async (BerthManager *self, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  GError *error = NULL;

  g_return_if_fail (BERTH_IS_MANAGER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, berth_manager_check_update_async);
  if (!check_loaded (self, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  berth_updates_check_async (self->updates, cancellable, update_checked, g_steal_pointer (&task));
}

JsonNode *
berth_manager_check_update_finish (BerthManager *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
update_applied (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;

  if (!berth_updates_apply_finish (BERTH_UPDATES (source), result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

void
berth_manager_apply_update_async (BerthManager *self, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  GError *error = NULL;

  g_return_if_fail (BERTH_IS_MANAGER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, berth_manager_apply_update_async);
  if (!check_loaded (self, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  berth_updates_apply_async (self->updates, cancellable, update_applied, g_steal_pointer (&task));
}

gboolean
berth_manager_apply_update_finish (BerthManager *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* The first loaded plugin implementing @iface whose name is in @preferred,
 * else (when @any) the first one at all. */
static BerthPlugin *
pick_plugin (BerthPluginLoader *loader, GType iface, const gchar *const *preferred, gboolean any)
{
  g_autoptr (GPtrArray) found = berth_plugin_loader_find_by_interface (loader, iface);

  for (gsize p = 0; preferred != NULL && preferred[p] != NULL; p++)
    for (guint i = 0; i < found->len; i++)
      if (g_strcmp0 (berth_plugin_get_name (g_ptr_array_index (found, i)), preferred[p]) == 0)
        return g_ptr_array_index (found, i);
  if (any && found->len > 0)
    return g_ptr_array_index (found, 0);
  return NULL;
}

/* The backend: the one named by $BERTH_BACKEND when it is set (an error when
 * no loaded backend has that name), else the first that says it is native
 * to this platform, else the first loaded. NULL with no error: none loaded. */
static BerthPlugin *
pick_backend (BerthManager *self, GError **error)
{
  g_autoptr (GPtrArray) found
      = berth_plugin_loader_find_by_interface (self->loader, BERTH_TYPE_BACKEND);
  const gchar *requested = g_getenv ("BERTH_BACKEND");

  if (requested != NULL && requested[0] != '\0')
    {
      const gchar *const preferred[] = { requested, NULL };
      BerthPlugin *plugin = pick_plugin (self->loader, BERTH_TYPE_BACKEND, preferred, FALSE);
      g_autoptr (GString) names = g_string_new (NULL);

      if (plugin != NULL)
        return plugin;
      for (guint i = 0; i < found->len; i++)
        g_string_append_printf (names, "%s%s", i > 0 ? ", " : "",
                                berth_plugin_get_name (g_ptr_array_index (found, i)));
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                   "BERTH_BACKEND=%s names no loaded backend plugin (loaded: %s); set it to one "
                   "of those, or unset it to let Berth choose (`berthctl plugins` says why a "
                   "plugin did not load)",
                   requested, names->len > 0 ? names->str : "none");
      return NULL;
    }
  for (guint i = 0; i < found->len; i++)
    if (berth_backend_is_native (g_ptr_array_index (found, i), self->host.platform))
      return g_ptr_array_index (found, i);
  return found->len > 0 ? g_ptr_array_index (found, 0) : NULL;
}

gboolean
berth_manager_load (BerthManager *self, GCancellable *cancellable, GError **error)
{
  g_autofree gchar *settings_path = NULL;
  g_autoptr (GError) backend_error = NULL;
  GPtrArray *failures;
  GPtrArray *plugins;
  BerthPlugin *plugin;

  g_return_val_if_fail (BERTH_IS_MANAGER (self), FALSE);
  g_return_val_if_fail (!self->loaded, FALSE);

  settings_path = berth_paths_get_settings_file (self->paths);
  self->settings = berth_settings_new (settings_path, &self->host);
  if (!berth_settings_load (self->settings, error))
    return FALSE;
  g_signal_connect_object (self->settings, "changed", G_CALLBACK (on_settings_changed), self, 0);

  self->loader = berth_plugin_loader_new (self->settings, self->paths);
  if (!berth_plugin_loader_load_all (self->loader, cancellable, error))
    return FALSE;

  failures = berth_plugin_loader_get_failures (self->loader);
  for (guint i = 0; i < failures->len; i++)
    {
      BerthPluginFailure *failure = g_ptr_array_index (failures, i);

      if (failure->disabled)
        g_message ("Plugin %s is disabled in the settings", failure->name);
      else
        g_message ("Plugin %s (%s) was not loaded: %s", failure->name, failure->file,
                   failure->reason);
    }
  plugins = berth_plugin_loader_get_plugins (self->loader);
  for (guint i = 0; i < plugins->len; i++)
    {
      BerthPlugin *p = g_ptr_array_index (plugins, i);
      g_auto (GStrv) names = berth_plugin_dup_interface_names (p);
      g_autofree gchar *list = g_strjoinv (", ", names);

      g_message ("Plugin %s loaded from %s (%s)", berth_plugin_get_name (p),
                 berth_plugin_get_file (p), list[0] != '\0' ? list : "no capabilities");
      connect_plugin_signals (self, p);
    }

  plugin = pick_backend (self, &backend_error);
  if (backend_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&backend_error));
      return FALSE;
    }
  if (plugin != NULL)
    {
      self->backend = g_object_ref (BERTH_BACKEND (plugin));
      self->backend_progress_id
          = g_signal_connect (self->backend, "progress", G_CALLBACK (on_backend_progress), self);
      self->backend_state_id
          = g_signal_connect (self->backend, "notify::state", G_CALLBACK (on_backend_state), self);
      g_message ("Backend: %s", berth_plugin_get_name (plugin));
    }
  else
    g_message ("No backend plugin is loaded: the VM cannot start");

  plugin = pick_plugin (self->loader, BERTH_TYPE_KUBERNETES_PROVIDER, NULL, TRUE);
  if (plugin != NULL)
    {
      self->kubernetes = g_object_ref (BERTH_KUBERNETES_PROVIDER (plugin));
      self->kubernetes_progress_id = g_signal_connect (self->kubernetes, "progress",
                                                       G_CALLBACK (on_kubernetes_progress), self);
      g_message ("Kubernetes provider: %s", berth_plugin_get_name (plugin));
    }
  self->kubernetes_state = kubernetes_idle_state (self);

  select_image_processor (self);

  self->integrations = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < plugins->len; i++)
    if (BERTH_IS_INTEGRATION (g_ptr_array_index (plugins, i)))
      g_ptr_array_add (self->integrations, g_object_ref (g_ptr_array_index (plugins, i)));

  load_updates (self);

  self->loaded = TRUE;
  /* What the integrations manage is brought in line from the start. */
  apply_integrations (self);
  berth_updates_start (self->updates);
  return TRUE;
}

/* ---- queries ---------------------------------------------------------- */

const BerthPaths *
berth_manager_get_paths (BerthManager *self)
{
  g_return_val_if_fail (BERTH_IS_MANAGER (self), NULL);
  return self->paths;
}

BerthSettings *
berth_manager_get_settings (BerthManager *self)
{
  g_return_val_if_fail (BERTH_IS_MANAGER (self), NULL);
  return self->settings;
}

BerthPluginLoader *
berth_manager_get_plugin_loader (BerthManager *self)
{
  g_return_val_if_fail (BERTH_IS_MANAGER (self), NULL);
  return self->loader;
}

BerthProgress *
berth_manager_get_progress (BerthManager *self)
{
  g_return_val_if_fail (BERTH_IS_MANAGER (self), NULL);
  return self->progress;
}

BerthBackend *
berth_manager_get_backend (BerthManager *self)
{
  g_return_val_if_fail (BERTH_IS_MANAGER (self), NULL);
  return self->backend;
}

BerthKubernetesProvider *
berth_manager_get_kubernetes_provider (BerthManager *self)
{
  g_return_val_if_fail (BERTH_IS_MANAGER (self), NULL);
  return self->kubernetes;
}

BerthImageProcessor *
berth_manager_get_image_processor (BerthManager *self)
{
  g_return_val_if_fail (BERTH_IS_MANAGER (self), NULL);
  return self->image_processor;
}

BerthState
berth_manager_get_state (BerthManager *self)
{
  g_return_val_if_fail (BERTH_IS_MANAGER (self), BERTH_STATE_ERROR);
  return self->state;
}

const gchar *
berth_manager_get_state_reason (BerthManager *self)
{
  g_return_val_if_fail (BERTH_IS_MANAGER (self), NULL);
  return self->state_reason;
}

const gchar *
berth_manager_get_kubernetes_state (BerthManager *self)
{
  g_return_val_if_fail (BERTH_IS_MANAGER (self), NULL);
  return self->kubernetes_state;
}

const gchar *
berth_manager_get_kubernetes_reason (BerthManager *self)
{
  g_return_val_if_fail (BERTH_IS_MANAGER (self), NULL);
  return self->kubernetes_reason;
}

gboolean
berth_manager_get_locked (BerthManager *self)
{
  g_return_val_if_fail (BERTH_IS_MANAGER (self), FALSE);
  return self->locked;
}

void
berth_manager_set_locked (BerthManager *self, gboolean locked)
{
  g_return_if_fail (BERTH_IS_MANAGER (self));

  locked = !!locked;
  if (self->locked == locked)
    return;
  self->locked = locked;
  g_message ("Backend %s", locked ? "locked" : "unlocked");
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOCKED]);
}

JsonNode *
berth_manager_dup_about (BerthManager *self)
{
  g_autoptr (JsonObject) about = json_object_new ();

  g_return_val_if_fail (BERTH_IS_MANAGER (self), NULL);

  json_object_set_string_member (about, "version", BERTH_VERSION_STRING);
  json_object_set_string_member (about, "platform", berth_platform_to_string (self->host.platform));
  json_object_set_int_member (about, "pluginAbi", BERTH_PLUGIN_ABI);
  json_object_set_int_member (about, "pid", (gint64)getpid ());
  if (self->backend != NULL)
    json_object_set_string_member (about, "backend",
                                   berth_plugin_get_name (BERTH_PLUGIN (self->backend)));
  else
    json_object_set_null_member (about, "backend");
  /* What load made of a Rancher Desktop settings.json, for this run. */
  if (self->settings != NULL && berth_settings_get_import (self->settings) != NULL)
    {
      json_object_set_string_member (about, "importedFrom",
                                     berth_settings_get_imported_original_path (self->settings));
      berth_settings_import_add_to_json (berth_settings_get_import (self->settings), about);
    }
  return json_node_init_object (json_node_alloc (), about);
}

/* What a client needs to reach the engine and the guest's ports: the
 * sockets forwarded at the start (engineSocket is the engine's own, e.g.
 * docker.sock; sockets has them all by daemon) and the ports. */
static void
add_engine_state (BerthManager *self, JsonObject *state)
{
  JsonNode *engine_node = lookup_path (self->started_settings, "containerEngine.name");
  const gchar *engine = engine_node != NULL && JSON_NODE_HOLDS_VALUE (engine_node)
                            ? json_node_get_string (engine_node)
                            : NULL;
  g_autoptr (JsonObject) sockets = json_object_new ();
  g_autoptr (JsonArray) ports = json_array_new ();
  g_autoptr (GPtrArray) engine_sockets = berth_engine_sockets_for (engine);
  g_autoptr (GPtrArray) forwards = NULL;

  for (guint i = 0; i < engine_sockets->len; i++)
    {
      const BerthEngineSocket *socket = g_ptr_array_index (engine_sockets, i);
      g_autofree gchar *path = berth_engine_socket_host_path (socket, self->paths->data);

      if (i == 0)
        json_object_set_string_member (state, "engineSocket", path);
      json_object_set_string_member (sockets, socket->daemon, path);
    }
  json_object_set_object_member (state, "sockets", g_steal_pointer (&sockets));
  forwards = berth_backend_list_port_forwards (self->backend);
  for (guint i = 0; i < forwards->len; i++)
    {
      const BerthPortForward *forward = g_ptr_array_index (forwards, i);
      JsonObject *entry = json_object_new ();

      json_object_set_string_member (entry, "protocol", forward->protocol);
      json_object_set_string_member (entry, "hostAddress", forward->host_address);
      json_object_set_int_member (entry, "hostPort", forward->host_port);
      json_object_set_int_member (entry, "guestPort", forward->guest_port);
      json_array_add_object_element (ports, entry);
    }
  json_object_set_array_member (state, "portForwards", g_steal_pointer (&ports));
}

JsonNode *
berth_manager_dup_backend_state (BerthManager *self)
{
  g_autoptr (JsonObject) state = json_object_new ();

  g_return_val_if_fail (BERTH_IS_MANAGER (self), NULL);

  json_object_set_string_member (state, "vmState", berth_state_to_string (self->state));
  json_object_set_boolean_member (state, "locked", self->locked);
  if (self->state_reason != NULL)
    json_object_set_string_member (state, "reason", self->state_reason);
  else
    json_object_set_null_member (state, "reason");
  json_object_set_string_member (state, "kubernetesState",
                                 self->kubernetes_state != NULL ? self->kubernetes_state
                                                                : BERTH_KUBERNETES_STATE_DISABLED);
  if (self->kubernetes_reason != NULL)
    json_object_set_string_member (state, "kubernetesReason", self->kubernetes_reason);
  else
    json_object_set_null_member (state, "kubernetesReason");
  json_object_set_boolean_member (state, "kubernetesRestarting", self->op == OP_KUBERNETES);
  if (self->state == BERTH_STATE_STARTED && self->started_settings != NULL)
    add_engine_state (self, state);
  return json_node_init_object (json_node_alloc (), state);
}

JsonNode *
berth_manager_dup_plugins (BerthManager *self)
{
  g_return_val_if_fail (BERTH_IS_MANAGER (self), NULL);

  if (self->loader == NULL)
    return json_node_init_array (json_node_alloc (), json_array_new ());
  return berth_plugin_loader_to_json (self->loader);
}

/* ---- diagnostics ------------------------------------------------------ */

static JsonObject *
new_check (const gchar *id, gboolean passed, const gchar *description, const gchar *fix)
{
  JsonObject *check = json_object_new ();
  g_autoptr (JsonArray) fixes = json_array_new ();

  json_object_set_string_member (check, "id", id);
  json_object_set_string_member (check, "description", description);
  json_object_set_boolean_member (check, "passed", passed);
  json_object_set_boolean_member (check, "mutable", FALSE);
  if (fix != NULL)
    {
      g_autoptr (JsonObject) entry = json_object_new ();

      json_object_set_string_member (entry, "description", fix);
      json_array_add_object_element (fixes, g_steal_pointer (&entry));
    }
  json_object_set_array_member (check, "fixes", g_steal_pointer (&fixes));
  return check;
}

/* What an integration says the user should know (a docker config it could
 * not edit, DOCKER_HOST overriding the context…): one check per integration,
 * passed when it has nothing to say. */
static JsonObject *
check_integration (BerthIntegration *integration)
{
  const gchar *name = berth_plugin_get_name (BERTH_PLUGIN (integration));
  g_auto (GStrv) warnings = berth_integration_dup_warnings (integration);
  g_autofree gchar *id = g_strdup_printf ("INTEGRATION_%s", name);
  g_autofree gchar *joined = NULL;
  g_autofree gchar *description = NULL;

  if (warnings[0] == NULL)
    {
      description = g_strdup_printf ("The %s integration has nothing to report", name);
      return new_check (id, TRUE, description, NULL);
    }
  joined = g_strjoinv ("; ", warnings);
  description = g_strdup_printf ("The %s integration: %s", name, joined);
  return new_check (id, FALSE, description, NULL);
}

/* What the backend chose, when it has chosen: its probe is what counts (a
 * /dev/kvm that opens can still hang a guest under nested virtualization). */
static JsonObject *
check_backend_accel (BerthBackend *backend)
{
  g_autoptr (JsonNode) info = NULL;
  g_autofree gchar *description = NULL;
  const gchar *accel, *reason;
  JsonObject *o;

  if (backend == NULL || (info = berth_backend_info (backend, NULL)) == NULL
      || !JSON_NODE_HOLDS_OBJECT (info))
    return NULL;
  o = json_node_get_object (info);
  accel = json_object_get_string_member_with_default (o, "accel", NULL);
  reason = json_object_get_string_member_with_default (o, "accelReason", NULL);
  if (accel == NULL)
    return NULL;
  if (g_str_equal (accel, "kvm"))
    return new_check ("VIRTUALIZATION", TRUE,
                      "The VM uses KVM (hardware virtualization)", NULL);
  description = reason != NULL ? g_strdup (reason)
                                : g_strdup ("The VM uses software emulation (TCG), which works "
                                            "but is slow");
  return new_check ("VIRTUALIZATION", TRUE, description,
                    "For hardware virtualization: enable VT-x or AMD-V in the firmware, load "
                    "kvm_intel or kvm_amd, and make /dev/kvm readable and writable for you");
}

static JsonObject *
check_virtualization (void)
{
  g_autofree gchar *description = NULL;
  gint fd = g_open ("/dev/kvm", O_RDWR | O_CLOEXEC, 0);
  int saved_errno = errno;

  if (fd >= 0)
    {
      g_close (fd, NULL);
      return new_check ("VIRTUALIZATION", TRUE,
                        "KVM is usable (/dev/kvm opens read-write): the VM runs with hardware "
                        "virtualization",
                        NULL);
    }
  description = g_strdup_printf ("KVM is not usable (/dev/kvm: %s): QEMU will use software "
                                 "emulation (TCG), which works but is slow",
                                 g_strerror (saved_errno));
  return new_check ("VIRTUALIZATION", TRUE, description,
                    saved_errno == EACCES
                        ? "Add yourself to the group that owns /dev/kvm (usually kvm) and log in "
                          "again"
                        : "Enable virtualization (VT-x or AMD-V) in the firmware settings and "
                          "load the kvm_intel or kvm_amd module");
}

static const gchar *
qemu_arch (void)
{
  struct utsname uts;

  if (uname (&uts) == 0
      && (g_str_equal (uts.machine, "aarch64") || g_str_equal (uts.machine, "arm64")))
    return "aarch64";
  return "x86_64";
}

static JsonObject *
check_qemu (void)
{
  const gchar *arch = qemu_arch ();
  const gchar *variable
      = g_str_equal (arch, "aarch64") ? "QEMU_SYSTEM_AARCH64" : "QEMU_SYSTEM_X86_64";
  const gchar *from_env = g_getenv (variable);
  g_autofree gchar *program = g_strconcat ("qemu-system-", arch, NULL);
  g_autofree gchar *found = NULL;
  g_autofree gchar *description = NULL;
  g_autofree gchar *fix = NULL;

  if (from_env != NULL && from_env[0] != '\0')
    {
      if (g_file_test (from_env, G_FILE_TEST_IS_EXECUTABLE)
          && !g_file_test (from_env, G_FILE_TEST_IS_DIR))
        {
          description = g_strdup_printf ("QEMU is %s (from $%s)", from_env, variable);
          return new_check ("QEMU_PRESENT", TRUE, description, NULL);
        }
      description
          = g_strdup_printf ("$%s names %s, which is not an executable file", variable, from_env);
      fix = g_strdup_printf ("Point $%s at the %s program, or unset it to use the one in PATH",
                             variable, program);
      return new_check ("QEMU_PRESENT", FALSE, description, fix);
    }
  found = g_find_program_in_path (program);
  if (found != NULL)
    {
      description = g_strdup_printf ("QEMU is %s", found);
      return new_check ("QEMU_PRESENT", TRUE, description, NULL);
    }
  description = g_strdup_printf ("%s is not in PATH and $%s is not set", program, variable);
  fix = g_strdup_printf ("Install QEMU (the Debian and Ubuntu package is %s), or set $%s to "
                         "the program's path",
                         g_str_equal (arch, "aarch64") ? "qemu-system-arm" : "qemu-system-x86",
                         variable);
  return new_check ("QEMU_PRESENT", FALSE, description, fix);
}

static JsonObject *
check_free_disk (const BerthPaths *paths)
{
  const gchar *target = paths->lima != NULL ? paths->lima : paths->data;
  g_autofree gchar *dir = g_strdup (target);
  g_autofree gchar *description = NULL;
  g_autofree gchar *fix = NULL;
  g_autofree gchar *shown = NULL;
  struct statvfs st;
  guint64 free_bytes;

  /* The directory may not exist yet: measure the nearest one that does. */
  while (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      gchar *parent = g_path_get_dirname (dir);

      if (g_str_equal (parent, dir))
        {
          g_free (parent);
          break;
        }
      g_free (dir);
      dir = parent;
    }
  if (statvfs (dir, &st) != 0)
    {
      description
          = g_strdup_printf ("Could not measure the free space at %s: %s", dir, g_strerror (errno));
      return new_check ("FREE_DISK", FALSE, description, NULL);
    }
  free_bytes = (guint64)st.f_bavail * (guint64)st.f_frsize;
  shown = g_format_size_full (free_bytes, G_FORMAT_SIZE_IEC_UNITS);
  description = g_strdup_printf ("%s free on the file system of %s (the VM needs at least %d GiB)",
                                 shown, target, MIN_FREE_DISK_GIB);
  if (free_bytes >= MIN_FREE_DISK_GIB * GIB)
    return new_check ("FREE_DISK", TRUE, description, NULL);
  fix = g_strdup_printf ("Free some space on the file system of %s, or point XDG_DATA_HOME at "
                         "a larger one",
                         dir);
  return new_check ("FREE_DISK", FALSE, description, fix);
}

static JsonObject *
check_socket_paths (const BerthPaths *paths)
{
  g_autoptr (GPtrArray) sockets = g_ptr_array_new_with_free_func (g_free);
  const gchar *longest = NULL;
  gsize longest_len = 0;
  g_autofree gchar *description = NULL;

  g_ptr_array_add (sockets, g_build_filename (paths->data, "docker.sock", NULL));
  g_ptr_array_add (sockets, g_build_filename (paths->data, "containerd.sock", NULL));
  if (paths->runtime != NULL)
    g_ptr_array_add (sockets, g_build_filename (paths->runtime, "docker.sock", NULL));
  if (paths->lima != NULL)
    {
      g_ptr_array_add (sockets, g_build_filename (paths->lima, LIMA_INSTANCE, "ssh.sock", NULL));
      g_ptr_array_add (sockets, g_build_filename (paths->lima, LIMA_INSTANCE, "qmp.sock", NULL));
      g_ptr_array_add (sockets, g_build_filename (paths->lima, LIMA_INSTANCE, "ha.sock", NULL));
    }
  for (guint i = 0; i < sockets->len; i++)
    {
      const gchar *path = g_ptr_array_index (sockets, i);

      if (strlen (path) > longest_len)
        {
          longest = path;
          longest_len = strlen (path);
        }
    }
  if (longest_len < UNIX_PATH_MAX)
    {
      description = g_strdup_printf ("The longest UNIX socket path Berth uses is %" G_GSIZE_FORMAT
                                     " bytes (%s), under the limit of %d",
                                     longest_len, longest, UNIX_PATH_MAX - 1);
      return new_check ("SOCKET_PATH_LENGTH", TRUE, description, NULL);
    }
  description = g_strdup_printf ("The UNIX socket path %s is %" G_GSIZE_FORMAT
                                 " bytes; the kernel takes at most %d",
                                 longest, longest_len, UNIX_PATH_MAX - 1);
  return new_check ("SOCKET_PATH_LENGTH", FALSE, description,
                    "Use a shorter XDG_DATA_HOME (Berth's data lives under it)");
}

static JsonObject *
check_backend (BerthManager *self)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *description = NULL;
  const gchar *name;

  if (self->backend == NULL)
    return new_check ("BACKEND", FALSE, "No backend plugin is loaded, so no VM can run",
                      "Install a backend plugin (such as berth-lima); `berthctl plugins` says "
                      "why the ones found did not load");
  name = berth_plugin_get_name (BERTH_PLUGIN (self->backend));
  if (berth_backend_validate (self->backend, &error))
    {
      description = g_strdup_printf ("The %s backend can run on this host", name);
      return new_check ("BACKEND", TRUE, description, NULL);
    }
  description
      = g_strdup_printf ("The %s backend cannot run on this host: %s", name, error->message);
  return new_check ("BACKEND", FALSE, description, NULL);
}

JsonNode *
berth_manager_run_diagnostics (BerthManager *self)
{
  g_autoptr (JsonArray) checks = json_array_new ();

  g_return_val_if_fail (BERTH_IS_MANAGER (self), NULL);

  {
    JsonObject *accel = check_backend_accel (self->backend);
    json_array_add_object_element (checks, accel != NULL ? accel : check_virtualization ());
  }
  json_array_add_object_element (checks, check_qemu ());
  json_array_add_object_element (checks, check_free_disk (self->paths));
  json_array_add_object_element (checks, check_socket_paths (self->paths));
  json_array_add_object_element (checks, check_backend (self));
  for (guint i = 0; self->integrations != NULL && i < self->integrations->len; i++)
    json_array_add_object_element (checks,
                                   check_integration (g_ptr_array_index (self->integrations, i)));
  return json_node_init_array (json_node_alloc (), checks);
}

/* ---- object ----------------------------------------------------------- */

static void
berth_manager_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  BerthManager *self = BERTH_MANAGER (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_STATE_REASON:
      g_value_set_string (value, self->state_reason);
      break;
    case PROP_LOCKED:
      g_value_set_boolean (value, self->locked);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
berth_manager_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  BerthManager *self = BERTH_MANAGER (object);

  switch (prop_id)
    {
    case PROP_LOCKED:
      berth_manager_set_locked (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
berth_manager_dispose (GObject *object)
{
  BerthManager *self = BERTH_MANAGER (object);

  if (self->op_cancellable != NULL)
    g_cancellable_cancel (self->op_cancellable);
  for (guint i = 0; self->plugin_handlers != NULL && i < self->plugin_handlers->len; i++)
    {
      PluginHandler *handler = &g_array_index (self->plugin_handlers, PluginHandler, i);

      if (g_signal_handler_is_connected (handler->instance, handler->handler_id))
        g_signal_handler_disconnect (handler->instance, handler->handler_id);
    }
  if (self->plugin_handlers != NULL)
    g_array_set_size (self->plugin_handlers, 0);
  if (self->backend != NULL)
    {
      g_clear_signal_handler (&self->backend_progress_id, self->backend);
      g_clear_signal_handler (&self->backend_state_id, self->backend);
    }
  if (self->kubernetes != NULL)
    g_clear_signal_handler (&self->kubernetes_progress_id, self->kubernetes);
  if (self->image_processor_active)
    {
      berth_image_processor_deactivate (self->image_processor);
      self->image_processor_active = FALSE;
    }
  g_clear_object (&self->backend);
  g_clear_object (&self->kubernetes);
  g_clear_object (&self->image_processor);
  g_clear_pointer (&self->integrations, g_ptr_array_unref);
  g_clear_object (&self->updates);
  g_clear_object (&self->loader);
  g_clear_object (&self->settings);
  g_clear_object (&self->op_cancellable);
  G_OBJECT_CLASS (berth_manager_parent_class)->dispose (object);
}

static void
berth_manager_finalize (GObject *object)
{
  BerthManager *self = BERTH_MANAGER (object);

  g_clear_object (&self->progress);
  g_clear_pointer (&self->paths, berth_paths_free);
  g_clear_pointer (&self->state_reason, g_free);
  g_clear_pointer (&self->kubernetes_reason, g_free);
  g_clear_pointer (&self->started_settings, json_node_unref);
  g_clear_pointer (&self->start_waiters, g_ptr_array_unref);
  g_clear_pointer (&self->stop_waiters, g_ptr_array_unref);
  g_clear_pointer (&self->plugin_handlers, g_array_unref);
  G_OBJECT_CLASS (berth_manager_parent_class)->finalize (object);
}

static void
berth_manager_class_init (BerthManagerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = berth_manager_get_property;
  object_class->set_property = berth_manager_set_property;
  object_class->dispose = berth_manager_dispose;
  object_class->finalize = berth_manager_finalize;

  properties[PROP_STATE] = g_param_spec_enum (
      "state", "State", "Where the state machine is", BERTH_TYPE_STATE, BERTH_STATE_STOPPED,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_STATE_REASON]
      = g_param_spec_string ("state-reason", "State reason", "Why the state is ERROR", NULL,
                             G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_LOCKED] = g_param_spec_boolean (
      "locked", "Locked", "Whether start, stop and reset are refused", FALSE,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_STATE_CHANGED]
      = g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 2, BERTH_TYPE_STATE, G_TYPE_STRING);
  signals[SIGNAL_PROGRESS_CHANGED]
      = g_signal_new ("progress-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_SETTINGS_CHANGED]
      = g_signal_new ("settings-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRV);
  signals[SIGNAL_PLUGIN_EVENT]
      = g_signal_new ("plugin-event", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, JSON_TYPE_NODE);
  /* (state: "disabled", "stopped", "starting", "ready" or "error"; reason) */
  signals[SIGNAL_KUBERNETES_STATE_CHANGED]
      = g_signal_new ("kubernetes-state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                      NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIGNAL_UPDATE_STATE]
      = g_signal_new ("update-state", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 1, JSON_TYPE_NODE);
}

static void
berth_manager_init (BerthManager *self)
{
  self->state = BERTH_STATE_STOPPED;
  self->kubernetes_state = BERTH_KUBERNETES_STATE_DISABLED;
  self->progress = berth_progress_new ();
  self->start_waiters = g_ptr_array_new_with_free_func (g_object_unref);
  self->stop_waiters = g_ptr_array_new_with_free_func (g_object_unref);
  self->plugin_handlers = g_array_new (FALSE, FALSE, sizeof (PluginHandler));
  g_signal_connect (self->progress, "changed", G_CALLBACK (on_progress_changed), self);
}

BerthManager *
berth_manager_new (const BerthPaths *paths, const BerthHostInfo *host)
{
  BerthManager *self = g_object_new (BERTH_TYPE_MANAGER, NULL);

  self->paths = paths != NULL ? berth_paths_copy (paths) : berth_paths_new ();
  if (host != NULL)
    self->host = *host;
  else
    berth_host_info_detect (&self->host);
  return self;
}
