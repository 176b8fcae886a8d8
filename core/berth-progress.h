/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* What the manager is doing now, for a progress bar. Several steps may run at
 * once (asset download ∥ VM config ∥ virtualization check): the numbers shown
 * are the sums of current and max over the active steps, and the description
 * is the most recently begun active step's. A step with max 0 is
 * indeterminate and adds nothing to the sums. */
#define BERTH_TYPE_PROGRESS (berth_progress_get_type ())
G_DECLARE_FINAL_TYPE (BerthProgress, berth_progress, BERTH, PROGRESS, GObject)

BerthProgress *berth_progress_new (void);
void berth_progress_begin (BerthProgress *self, const gchar *step_id,
                           const gchar *description, guint64 max);
void berth_progress_update (BerthProgress *self, const gchar *step_id, guint64 current,
                            guint64 max);
void berth_progress_set_description (BerthProgress *self, const gchar *step_id,
                                     const gchar *description);
void berth_progress_end (BerthProgress *self, const gchar *step_id);
void berth_progress_clear (BerthProgress *self);

const gchar *berth_progress_get_description (BerthProgress *self);
guint64 berth_progress_get_current (BerthProgress *self);
guint64 berth_progress_get_max (BerthProgress *self);
guint berth_progress_get_n_active (BerthProgress *self);
/* 0.0 … 1.0, or -1.0 when nothing active has a known size. */
gdouble berth_progress_get_fraction (BerthProgress *self);

/* Signal "changed" (no arguments) after any of the above change. */

G_END_DECLS
