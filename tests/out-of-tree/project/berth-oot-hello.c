/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The smallest useful plugin: an Integration that reports one entry. */
#include <berth.h>

#define BERTH_TYPE_OOT_HELLO (berth_oot_hello_get_type ())
G_DECLARE_FINAL_TYPE (BerthOotHello, berth_oot_hello, BERTH, OOT_HELLO, BerthPlugin)

struct _BerthOotHello
{
  BerthPlugin parent_instance;
};

static JsonNode *
berth_oot_hello_list (BerthIntegration *integration)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "hello");
  json_builder_add_boolean_value (builder, TRUE);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static void
berth_oot_hello_integration_init (BerthIntegrationInterface *iface)
{
  iface->list = berth_oot_hello_list;
}

G_DEFINE_FINAL_TYPE_WITH_CODE (BerthOotHello, berth_oot_hello, BERTH_TYPE_PLUGIN,
                               G_IMPLEMENT_INTERFACE (BERTH_TYPE_INTEGRATION,
                                                      berth_oot_hello_integration_init))

static void
berth_oot_hello_class_init (BerthOotHelloClass *klass)
{
}

static void
berth_oot_hello_init (BerthOotHello *self)
{
}

BERTH_PLUGIN_DEFINE (berth_oot_hello)
