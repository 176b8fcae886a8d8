/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-progress.h"

/* Steps come from plugins, so a step id this object has not seen is not a
 * programmer error: updating it, or setting its description, begins it, and
 * ending it does nothing. Everything runs on the main context, where the
 * manager relays its plugins' signals. */

typedef struct
{
  gchar *id;
  gchar *description; /* NULL: the step says nothing of its own */
  guint64 current;
  guint64 max; /* 0: indeterminate */
} BerthProgressStep;

struct _BerthProgress
{
  GObject parent_instance;

  /* Active steps, oldest begun first; the hash table indexes the same steps
   * by id. A handful at a time, so the walks stay cheap. */
  GPtrArray *steps;
  GHashTable *steps_by_id;

  /* What was last shown, to tell whether anything visible changed. */
  gchar *description;
  guint64 current;
  guint64 max;
  guint n_active;
};

G_DEFINE_TYPE (BerthProgress, berth_progress, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_DESCRIPTION,
  PROP_CURRENT,
  PROP_MAX,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
berth_progress_step_free (BerthProgressStep *step)
{
  g_free (step->id);
  g_free (step->description);
  g_free (step);
}

static guint64
saturating_add (guint64 a, guint64 b)
{
  return a > G_MAXUINT64 - b ? G_MAXUINT64 : a + b;
}

/* Recomputes what is shown from the active steps, notifies the properties
 * that moved, and emits "changed" once if anything did. */
static void
berth_progress_refresh (BerthProgress *self)
{
  const gchar *description = NULL;
  guint64 current = 0;
  guint64 max = 0;
  gboolean changed = FALSE;

  for (guint i = 0; i < self->steps->len; i++)
    {
      BerthProgressStep *step = g_ptr_array_index (self->steps, i);

      if (step->max > 0)
        {
          /* A step that overshoots its own size fills its share, no more. */
          current = saturating_add (current, MIN (step->current, step->max));
          max = saturating_add (max, step->max);
        }
      /* The latest begun step that has something to say wins; when it ends
       * the one begun before it speaks again. */
      if (step->description != NULL)
        description = step->description;
    }

  g_object_freeze_notify (G_OBJECT (self));
  if (g_strcmp0 (description, self->description) != 0)
    {
      g_free (self->description);
      self->description = g_strdup (description);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DESCRIPTION]);
      changed = TRUE;
    }
  if (current != self->current)
    {
      self->current = current;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CURRENT]);
      changed = TRUE;
    }
  if (max != self->max)
    {
      self->max = max;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX]);
      changed = TRUE;
    }
  /* A new indeterminate step changes no number but turns a still bar into a
   * busy one, so the count of active steps is visible too. */
  if (self->steps->len != self->n_active)
    {
      self->n_active = self->steps->len;
      changed = TRUE;
    }
  g_object_thaw_notify (G_OBJECT (self));

  if (changed)
    g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static BerthProgressStep *
berth_progress_add_step (BerthProgress *self, const gchar *step_id)
{
  BerthProgressStep *step = g_new0 (BerthProgressStep, 1);

  step->id = g_strdup (step_id);
  g_ptr_array_add (self->steps, step);
  g_hash_table_insert (self->steps_by_id, step->id, step);
  return step;
}

static void
berth_progress_remove_step (BerthProgress *self, BerthProgressStep *step)
{
  g_hash_table_remove (self->steps_by_id, step->id);
  /* The array owns the step and frees it. */
  g_ptr_array_remove (self->steps, step);
}

/**
 * berth_progress_begin:
 * @step_id: names the step for later updates
 * @description: (nullable): what the step does, for people
 * @max: its size, or 0 when it cannot be known
 *
 * Begins a step, or begins it again from 0 when @step_id is already active;
 * either way it becomes the latest begun, whose description is shown.
 */
void
berth_progress_begin (BerthProgress *self, const gchar *step_id, const gchar *description,
                      guint64 max)
{
  BerthProgressStep *step;

  g_return_if_fail (BERTH_IS_PROGRESS (self));
  g_return_if_fail (step_id != NULL);

  step = g_hash_table_lookup (self->steps_by_id, step_id);
  if (step != NULL)
    berth_progress_remove_step (self, step);
  step = berth_progress_add_step (self, step_id);
  step->description = g_strdup (description);
  step->max = max;
  berth_progress_refresh (self);
}

/**
 * berth_progress_update:
 *
 * Sets how far @step_id has come, and its size (0: indeterminate). A step
 * not yet begun is begun here, without a description.
 */
void
berth_progress_update (BerthProgress *self, const gchar *step_id, guint64 current, guint64 max)
{
  BerthProgressStep *step;

  g_return_if_fail (BERTH_IS_PROGRESS (self));
  g_return_if_fail (step_id != NULL);

  step = g_hash_table_lookup (self->steps_by_id, step_id);
  if (step == NULL)
    step = berth_progress_add_step (self, step_id);
  step->current = current;
  step->max = max;
  berth_progress_refresh (self);
}

/**
 * berth_progress_set_description:
 *
 * Changes what @step_id says, without making it the latest begun. A step not
 * yet begun is begun here, indeterminate.
 */
void
berth_progress_set_description (BerthProgress *self, const gchar *step_id, const gchar *description)
{
  BerthProgressStep *step;
  gchar *new_description;

  g_return_if_fail (BERTH_IS_PROGRESS (self));
  g_return_if_fail (step_id != NULL);

  step = g_hash_table_lookup (self->steps_by_id, step_id);
  if (step == NULL)
    step = berth_progress_add_step (self, step_id);
  /* Copied before the old one goes: @description may be the old one. */
  new_description = g_strdup (description);
  g_free (step->description);
  step->description = new_description;
  berth_progress_refresh (self);
}

/**
 * berth_progress_end:
 *
 * Ends @step_id; its numbers leave the sums. Ending a step that is not
 * active does nothing.
 */
void
berth_progress_end (BerthProgress *self, const gchar *step_id)
{
  BerthProgressStep *step;

  g_return_if_fail (BERTH_IS_PROGRESS (self));
  g_return_if_fail (step_id != NULL);

  step = g_hash_table_lookup (self->steps_by_id, step_id);
  if (step == NULL)
    return;
  berth_progress_remove_step (self, step);
  berth_progress_refresh (self);
}

/**
 * berth_progress_clear:
 *
 * Ends every step, as when a start is abandoned.
 */
void
berth_progress_clear (BerthProgress *self)
{
  g_return_if_fail (BERTH_IS_PROGRESS (self));

  g_hash_table_remove_all (self->steps_by_id);
  g_ptr_array_set_size (self->steps, 0);
  berth_progress_refresh (self);
}

/**
 * berth_progress_get_description:
 *
 * Returns: (nullable): the latest begun active step's description, or an
 * earlier one's when the latest has none; NULL when no active step has one.
 */
const gchar *
berth_progress_get_description (BerthProgress *self)
{
  g_return_val_if_fail (BERTH_IS_PROGRESS (self), NULL);

  return self->description;
}

guint64
berth_progress_get_current (BerthProgress *self)
{
  g_return_val_if_fail (BERTH_IS_PROGRESS (self), 0);

  return self->current;
}

guint64
berth_progress_get_max (BerthProgress *self)
{
  g_return_val_if_fail (BERTH_IS_PROGRESS (self), 0);

  return self->max;
}

guint
berth_progress_get_n_active (BerthProgress *self)
{
  g_return_val_if_fail (BERTH_IS_PROGRESS (self), 0);

  return self->n_active;
}

gdouble
berth_progress_get_fraction (BerthProgress *self)
{
  g_return_val_if_fail (BERTH_IS_PROGRESS (self), -1.0);

  if (self->max == 0)
    return -1.0;
  return (gdouble)self->current / (gdouble)self->max;
}

static void
berth_progress_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  BerthProgress *self = BERTH_PROGRESS (object);

  switch (prop_id)
    {
    case PROP_DESCRIPTION:
      g_value_set_string (value, self->description);
      break;
    case PROP_CURRENT:
      g_value_set_uint64 (value, self->current);
      break;
    case PROP_MAX:
      g_value_set_uint64 (value, self->max);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
berth_progress_finalize (GObject *object)
{
  BerthProgress *self = BERTH_PROGRESS (object);

  g_hash_table_unref (self->steps_by_id);
  g_ptr_array_unref (self->steps);
  g_free (self->description);

  G_OBJECT_CLASS (berth_progress_parent_class)->finalize (object);
}

static void
berth_progress_class_init (BerthProgressClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = berth_progress_get_property;
  object_class->finalize = berth_progress_finalize;

  properties[PROP_DESCRIPTION]
      = g_param_spec_string ("description", NULL, NULL, NULL,
                             G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CURRENT]
      = g_param_spec_uint64 ("current", NULL, NULL, 0, G_MAXUINT64, 0,
                             G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MAX]
      = g_param_spec_uint64 ("max", NULL, NULL, 0, G_MAXUINT64, 0,
                             G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * BerthProgress::changed:
   *
   * Emitted once after a call changed what a progress bar shows: the
   * description, the sums, or the number of active steps.
   */
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
berth_progress_init (BerthProgress *self)
{
  self->steps = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_progress_step_free);
  self->steps_by_id = g_hash_table_new (g_str_hash, g_str_equal);
}

BerthProgress *
berth_progress_new (void)
{
  return g_object_new (BERTH_TYPE_PROGRESS, NULL);
}
