/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A valid shared object that is not a Berth plugin: it exports a symbol, just
 * not berth_plugin_query_type. */
#include "config.h"

#include <gmodule.h>

G_MODULE_EXPORT int
berth_test_nosymbol_answer (void);

G_MODULE_EXPORT int
berth_test_nosymbol_answer (void)
{
  return 42;
}
