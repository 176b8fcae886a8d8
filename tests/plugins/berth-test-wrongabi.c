/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A plugin built for another plugin ABI: the loader must refuse it without
 * creating an instance (the tests check that its class was never made). */
#include "config.h"

#include <berth.h>

#define BERTH_TYPE_TEST_WRONG_ABI (berth_test_wrong_abi_get_type ())
G_DECLARE_FINAL_TYPE (BerthTestWrongAbi, berth_test_wrong_abi, BERTH, TEST_WRONG_ABI, BerthPlugin)

struct _BerthTestWrongAbi
{
  BerthPlugin parent_instance;
};

G_DEFINE_FINAL_TYPE (BerthTestWrongAbi, berth_test_wrong_abi, BERTH_TYPE_PLUGIN)

static void
berth_test_wrong_abi_class_init (BerthTestWrongAbiClass *klass)
{
}

static void
berth_test_wrong_abi_init (BerthTestWrongAbi *self)
{
}

/* What BERTH_PLUGIN_DEFINE does, with the number of a future ABI. */
G_MODULE_EXPORT GType
berth_plugin_query_type (guint32 *abi_out);

G_MODULE_EXPORT GType
berth_plugin_query_type (guint32 *abi_out)
{
  *abi_out = BERTH_PLUGIN_ABI + 1;
  return berth_test_wrong_abi_get_type ();
}
