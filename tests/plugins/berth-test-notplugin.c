/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Exports the right symbol and ABI but hands back a plain GObject type. */
#include "config.h"

#include <berth.h>

#define BERTH_TYPE_TEST_NOT_PLUGIN (berth_test_not_plugin_get_type ())
G_DECLARE_FINAL_TYPE (BerthTestNotPlugin, berth_test_not_plugin, BERTH, TEST_NOT_PLUGIN, GObject)

struct _BerthTestNotPlugin
{
  GObject parent_instance;
};

G_DEFINE_FINAL_TYPE (BerthTestNotPlugin, berth_test_not_plugin, G_TYPE_OBJECT)

static void
berth_test_not_plugin_class_init (BerthTestNotPluginClass *klass)
{
}

static void
berth_test_not_plugin_init (BerthTestNotPlugin *self)
{
}

BERTH_PLUGIN_DEFINE (berth_test_not_plugin)
