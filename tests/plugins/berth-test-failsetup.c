/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A plugin whose setup refuses, as one would on a host it cannot serve. */
#include "config.h"

#include <berth.h>

#define BERTH_TYPE_TEST_FAIL_SETUP (berth_test_fail_setup_get_type ())
G_DECLARE_FINAL_TYPE (BerthTestFailSetup, berth_test_fail_setup, BERTH, TEST_FAIL_SETUP,
                      BerthPlugin)

struct _BerthTestFailSetup
{
  BerthPlugin parent_instance;
};

G_DEFINE_FINAL_TYPE (BerthTestFailSetup, berth_test_fail_setup, BERTH_TYPE_PLUGIN)

static gboolean
berth_test_fail_setup_setup (BerthPlugin *plugin, GCancellable *cancellable, GError **error)
{
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
               "%s cannot run on this host: it is a test module that always refuses",
               berth_plugin_get_name (plugin));
  return FALSE;
}

static void
berth_test_fail_setup_class_init (BerthTestFailSetupClass *klass)
{
  BERTH_PLUGIN_CLASS (klass)->setup = berth_test_fail_setup_setup;
}

static void
berth_test_fail_setup_init (BerthTestFailSetup *self)
{
}

BERTH_PLUGIN_DEFINE (berth_test_fail_setup)
