/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for the Kubernetes API's services as Berth reads them
 * (plugins/k3s/berth-k3s-services.c): the input is read both as a
 * ServiceList body and, line by line, as a watch stream. What is accepted
 * must be in Berth's shape (namespace and name non-empty, ports 1-65535);
 * what is refused comes with an error.
 * Run with G_DEBUG=fatal-criticals; built by tests/fuzz/meson.build. */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "berth-k3s-services.h"

#include "fuzz-common.h"

static void
check_service (JsonObject *service)
{
  JsonArray *ports;

  if (json_object_get_string_member_with_default (service, "namespace", "")[0] == '\0'
      || json_object_get_string_member_with_default (service, "name", "")[0] == '\0'
      || json_object_get_string_member_with_default (service, "type", NULL) == NULL)
    abort ();
  ports = json_object_get_array_member (service, "ports");
  if (ports == NULL)
    abort ();
  for (guint i = 0; i < json_array_get_length (ports); i++)
    {
      JsonObject *port = json_array_get_object_element (ports, i);
      gint64 number;

      if (port == NULL)
        abort ();
      number = json_object_get_int_member_with_default (port, "port", 0);
      if (number < 1 || number > 65535)
        abort ();
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const gchar *text = size > 0 ? (const gchar *)data : "";
  g_autoptr (GError) error = NULL;
  g_autofree gchar *version = NULL;
  g_autoptr (GPtrArray) services = NULL;
  gsize start = 0;

  services = berth_k3s_service_list_parse (text, size, &version, &error);
  if (services == NULL && error == NULL)
    abort ();
  for (guint i = 0; services != NULL && i < services->len; i++)
    check_service (g_ptr_array_index (services, i));

  while (start < size)
    {
      const gchar *newline = memchr (text + start, '\n', size - start);
      gsize end = newline != NULL ? (gsize)(newline - text) : size;
      g_autoptr (GError) line_error = NULL;
      g_autofree gchar *type = NULL;
      g_autofree gchar *line_version = NULL;
      g_autoptr (JsonObject) service = berth_k3s_service_event_parse (
          text + start, end - start, &type, &line_version, &line_error);

      if (service != NULL)
        {
          if (type == NULL
              || (!g_str_equal (type, "ADDED") && !g_str_equal (type, "MODIFIED")
                  && !g_str_equal (type, "DELETED")))
            abort ();
          check_service (service);
        }
      else if (line_error == NULL
               && (type == NULL
                   || (!g_str_equal (type, "BOOKMARK") && !g_str_equal (type, "ERROR"))))
        abort ();
      start = end + 1;
    }
  return 0;
}
