/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "berth-progress.h"

/* Counts "changed" and each property's notify. */
typedef struct
{
  guint changed;
  guint description;
  guint current;
  guint max;
} Counts;

static void
on_changed (BerthProgress *progress, Counts *counts)
{
  counts->changed++;
}

static void
on_notify (GObject *object, GParamSpec *pspec, Counts *counts)
{
  if (g_str_equal (pspec->name, "description"))
    counts->description++;
  else if (g_str_equal (pspec->name, "current"))
    counts->current++;
  else if (g_str_equal (pspec->name, "max"))
    counts->max++;
}

static void
watch (BerthProgress *progress, Counts *counts)
{
  g_signal_connect (progress, "changed", G_CALLBACK (on_changed), counts);
  g_signal_connect (progress, "notify", G_CALLBACK (on_notify), counts);
}

static void
test_empty (void)
{
  g_autoptr (BerthProgress) progress = berth_progress_new ();

  g_assert_null (berth_progress_get_description (progress));
  g_assert_cmpuint (berth_progress_get_current (progress), ==, 0);
  g_assert_cmpuint (berth_progress_get_max (progress), ==, 0);
  g_assert_cmpuint (berth_progress_get_n_active (progress), ==, 0);
  g_assert_cmpfloat (berth_progress_get_fraction (progress), ==, -1.0);
}

static void
test_parallel_steps (void)
{
  g_autoptr (BerthProgress) progress = berth_progress_new ();

  berth_progress_begin (progress, "assets", "Downloading k3s", 1000);
  berth_progress_begin (progress, "vm-config", "Writing the VM configuration", 10);
  berth_progress_update (progress, "assets", 250, 1000);
  berth_progress_update (progress, "vm-config", 5, 10);

  g_assert_cmpuint (berth_progress_get_n_active (progress), ==, 2);
  g_assert_cmpuint (berth_progress_get_current (progress), ==, 255);
  g_assert_cmpuint (berth_progress_get_max (progress), ==, 1010);
  g_assert_cmpfloat_with_epsilon (berth_progress_get_fraction (progress), 255.0 / 1010.0, 1e-9);

  /* The size may change as a step learns it. */
  berth_progress_update (progress, "assets", 500, 2000);
  g_assert_cmpuint (berth_progress_get_current (progress), ==, 505);
  g_assert_cmpuint (berth_progress_get_max (progress), ==, 2010);

  /* An ended step leaves the sums. */
  berth_progress_end (progress, "vm-config");
  g_assert_cmpuint (berth_progress_get_n_active (progress), ==, 1);
  g_assert_cmpuint (berth_progress_get_current (progress), ==, 500);
  g_assert_cmpuint (berth_progress_get_max (progress), ==, 2000);
  g_assert_cmpfloat_with_epsilon (berth_progress_get_fraction (progress), 0.25, 1e-9);

  berth_progress_end (progress, "assets");
  g_assert_cmpuint (berth_progress_get_n_active (progress), ==, 0);
  g_assert_cmpuint (berth_progress_get_current (progress), ==, 0);
  g_assert_cmpuint (berth_progress_get_max (progress), ==, 0);
  g_assert_null (berth_progress_get_description (progress));
}

static void
test_indeterminate (void)
{
  g_autoptr (BerthProgress) progress = berth_progress_new ();

  berth_progress_begin (progress, "virt-check", "Checking virtualization", 0);
  g_assert_cmpuint (berth_progress_get_n_active (progress), ==, 1);
  g_assert_cmpuint (berth_progress_get_max (progress), ==, 0);
  g_assert_cmpfloat (berth_progress_get_fraction (progress), ==, -1.0);
  g_assert_cmpstr (berth_progress_get_description (progress), ==, "Checking virtualization");

  /* An indeterminate step's current adds nothing, even when it reports one. */
  berth_progress_update (progress, "virt-check", 7, 0);
  g_assert_cmpuint (berth_progress_get_current (progress), ==, 0);

  berth_progress_begin (progress, "assets", "Downloading", 200);
  berth_progress_update (progress, "assets", 50, 200);
  g_assert_cmpuint (berth_progress_get_n_active (progress), ==, 2);
  g_assert_cmpuint (berth_progress_get_current (progress), ==, 50);
  g_assert_cmpuint (berth_progress_get_max (progress), ==, 200);
  g_assert_cmpfloat_with_epsilon (berth_progress_get_fraction (progress), 0.25, 1e-9);

  /* A known step turning indeterminate leaves the sums too. */
  berth_progress_update (progress, "assets", 60, 0);
  g_assert_cmpuint (berth_progress_get_max (progress), ==, 0);
  g_assert_cmpfloat (berth_progress_get_fraction (progress), ==, -1.0);
}

static void
test_overshoot (void)
{
  g_autoptr (BerthProgress) progress = berth_progress_new ();

  /* A plugin that reports more than its size fills its share, no more. */
  berth_progress_begin (progress, "a", "A", 100);
  berth_progress_begin (progress, "b", "B", 100);
  berth_progress_update (progress, "a", 150, 100);
  g_assert_cmpuint (berth_progress_get_current (progress), ==, 100);
  g_assert_cmpuint (berth_progress_get_max (progress), ==, 200);
  g_assert_cmpfloat_with_epsilon (berth_progress_get_fraction (progress), 0.5, 1e-9);

  /* Sums saturate rather than wrap. */
  berth_progress_update (progress, "a", G_MAXUINT64, G_MAXUINT64);
  g_assert_cmpuint (berth_progress_get_max (progress), ==, G_MAXUINT64);
  g_assert_cmpuint (berth_progress_get_current (progress), ==, G_MAXUINT64);
}

static void
test_description_fallback (void)
{
  g_autoptr (BerthProgress) progress = berth_progress_new ();

  berth_progress_begin (progress, "assets", "Downloading k3s", 100);
  berth_progress_begin (progress, "vm", "Starting the VM", 0);
  g_assert_cmpstr (berth_progress_get_description (progress), ==, "Starting the VM");

  /* Changing an older step's words does not make it the latest. */
  berth_progress_set_description (progress, "assets", "Downloading k3s (50%)");
  g_assert_cmpstr (berth_progress_get_description (progress), ==, "Starting the VM");

  /* A step without words of its own lets the one before it speak. */
  berth_progress_begin (progress, "quiet", NULL, 0);
  g_assert_cmpstr (berth_progress_get_description (progress), ==, "Starting the VM");

  berth_progress_end (progress, "vm");
  g_assert_cmpstr (berth_progress_get_description (progress), ==, "Downloading k3s (50%)");

  /* Beginning an active step again makes it the latest. */
  berth_progress_begin (progress, "vm", "Restarting the VM", 0);
  berth_progress_begin (progress, "assets", "Verifying k3s", 100);
  g_assert_cmpstr (berth_progress_get_description (progress), ==, "Verifying k3s");
  g_assert_cmpuint (berth_progress_get_n_active (progress), ==, 3);
  berth_progress_end (progress, "assets");
  g_assert_cmpstr (berth_progress_get_description (progress), ==, "Restarting the VM");

  berth_progress_end (progress, "vm");
  g_assert_null (berth_progress_get_description (progress));
  g_assert_cmpuint (berth_progress_get_n_active (progress), ==, 1);
}

static void
test_begin_again_restarts (void)
{
  g_autoptr (BerthProgress) progress = berth_progress_new ();

  berth_progress_begin (progress, "assets", "Downloading", 100);
  berth_progress_update (progress, "assets", 80, 100);
  berth_progress_begin (progress, "assets", "Downloading again", 40);
  g_assert_cmpuint (berth_progress_get_n_active (progress), ==, 1);
  g_assert_cmpuint (berth_progress_get_current (progress), ==, 0);
  g_assert_cmpuint (berth_progress_get_max (progress), ==, 40);
  g_assert_cmpstr (berth_progress_get_description (progress), ==, "Downloading again");
}

static void
test_unknown_steps (void)
{
  g_autoptr (BerthProgress) progress = berth_progress_new ();
  Counts counts = { 0 };

  watch (progress, &counts);

  /* Plugins may report a step they never began: it begins. */
  berth_progress_update (progress, "helpers", 3, 4);
  g_assert_cmpuint (berth_progress_get_n_active (progress), ==, 1);
  g_assert_cmpuint (berth_progress_get_current (progress), ==, 3);
  g_assert_cmpuint (berth_progress_get_max (progress), ==, 4);
  g_assert_null (berth_progress_get_description (progress));
  g_assert_cmpuint (counts.changed, ==, 1);

  berth_progress_set_description (progress, "certs", "Installing CA certificates");
  g_assert_cmpuint (berth_progress_get_n_active (progress), ==, 2);
  g_assert_cmpuint (berth_progress_get_max (progress), ==, 4);
  g_assert_cmpstr (berth_progress_get_description (progress), ==, "Installing CA certificates");
  g_assert_cmpuint (counts.changed, ==, 2);

  /* Ending a step that is not there is nothing. */
  berth_progress_end (progress, "never-begun");
  g_assert_cmpuint (berth_progress_get_n_active (progress), ==, 2);
  g_assert_cmpuint (counts.changed, ==, 2);
}

static void
test_signal_counts (void)
{
  g_autoptr (BerthProgress) progress = berth_progress_new ();
  Counts counts = { 0 };

  watch (progress, &counts);

  berth_progress_begin (progress, "assets", "Downloading", 100);
  g_assert_cmpuint (counts.changed, ==, 1);
  g_assert_cmpuint (counts.description, ==, 1);
  g_assert_cmpuint (counts.max, ==, 1);
  g_assert_cmpuint (counts.current, ==, 0);

  berth_progress_update (progress, "assets", 10, 100);
  g_assert_cmpuint (counts.changed, ==, 2);
  g_assert_cmpuint (counts.current, ==, 1);
  g_assert_cmpuint (counts.max, ==, 1);
  g_assert_cmpuint (counts.description, ==, 1);

  /* Nothing visible changes: no signal, no notify. */
  berth_progress_update (progress, "assets", 10, 100);
  berth_progress_set_description (progress, "assets", "Downloading");
  berth_progress_end (progress, "unknown");
  g_assert_cmpuint (counts.changed, ==, 2);
  g_assert_cmpuint (counts.current, ==, 1);
  g_assert_cmpuint (counts.description, ==, 1);

  /* A silent indeterminate step changes no number, but the bar gets busy. */
  berth_progress_begin (progress, "quiet", NULL, 0);
  g_assert_cmpuint (counts.changed, ==, 3);
  g_assert_cmpuint (counts.current, ==, 1);
  g_assert_cmpuint (counts.max, ==, 1);
  g_assert_cmpuint (counts.description, ==, 1);

  /* Hidden progress of an indeterminate step shows nothing new. */
  berth_progress_update (progress, "quiet", 5, 0);
  g_assert_cmpuint (counts.changed, ==, 3);

  /* One call, several properties: one "changed". */
  berth_progress_begin (progress, "vm", "Starting the VM", 50);
  g_assert_cmpuint (counts.changed, ==, 4);
  g_assert_cmpuint (counts.description, ==, 2);
  g_assert_cmpuint (counts.max, ==, 2);

  berth_progress_clear (progress);
  g_assert_cmpuint (counts.changed, ==, 5);
  g_assert_cmpuint (counts.description, ==, 3);
  g_assert_cmpuint (counts.current, ==, 2);
  g_assert_cmpuint (counts.max, ==, 3);
  g_assert_cmpuint (berth_progress_get_n_active (progress), ==, 0);

  /* Clearing nothing is nothing. */
  berth_progress_clear (progress);
  g_assert_cmpuint (counts.changed, ==, 5);
}

static void
test_properties (void)
{
  g_autoptr (BerthProgress) progress = berth_progress_new ();
  g_autofree gchar *description = NULL;
  guint64 current = 0;
  guint64 max = 0;
  GParamSpec *pspec;

  berth_progress_begin (progress, "assets", "Downloading", 300);
  berth_progress_update (progress, "assets", 120, 300);
  g_object_get (progress, "description", &description, "current", &current, "max", &max, NULL);
  g_assert_cmpstr (description, ==, "Downloading");
  g_assert_cmpuint (current, ==, 120);
  g_assert_cmpuint (max, ==, 300);

  /* Read-only: a frontend watches, it does not steer. */
  pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (progress), "current");
  g_assert_nonnull (pspec);
  g_assert_true (pspec->flags & G_PARAM_READABLE);
  g_assert_false (pspec->flags & G_PARAM_WRITABLE);
  pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (progress), "description");
  g_assert_nonnull (pspec);
  g_assert_false (pspec->flags & G_PARAM_WRITABLE);
  pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (progress), "max");
  g_assert_nonnull (pspec);
  g_assert_false (pspec->flags & G_PARAM_WRITABLE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/progress/empty", test_empty);
  g_test_add_func ("/progress/parallel-steps", test_parallel_steps);
  g_test_add_func ("/progress/indeterminate", test_indeterminate);
  g_test_add_func ("/progress/overshoot", test_overshoot);
  g_test_add_func ("/progress/description-fallback", test_description_fallback);
  g_test_add_func ("/progress/begin-again-restarts", test_begin_again_restarts);
  g_test_add_func ("/progress/unknown-steps", test_unknown_steps);
  g_test_add_func ("/progress/signal-counts", test_signal_counts);
  g_test_add_func ("/progress/properties", test_properties);

  return g_test_run ();
}
