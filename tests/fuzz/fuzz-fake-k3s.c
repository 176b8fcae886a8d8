/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for the fake k3s's readers (tests/k3s/fake-k3s/): an
 * HTTP request's head and its query, and the services file. The fake is
 * test code, but it reads what a client or a test sends it, and a crash
 * there would pass for Berth's. What a head is accepted with must hold
 * fields that fit; every service read must be in the file's grammar.
 * Built by tests/fuzz/meson.build. */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fake-k3s.h"

#include "fuzz-common.h"

static void
check_service (const FakeService *service)
{
  if (service->namespace_ == NULL || service->name == NULL || service->type == NULL
      || service->n_ports == 0 || service->n_ports > 16)
    abort ();
  for (size_t i = 0; i < service->n_ports; i++)
    if (service->ports[i].port < 1 || service->ports[i].port > 65535
        || strlen (service->ports[i].name) > 15)
      abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static FakeService services[64];
  const char *text = size > 0 ? (const char *)data : "";
  FakeRequest request;
  size_t n;
  int status;

  status = fake_http_parse_head (text, size, &request);
  if (status == 0)
    {
      char value[64];

      if (strlen (request.method) >= sizeof request.method || request.path[0] != '/'
          || strlen (request.accept) >= sizeof request.accept)
        abort ();
      fake_http_query_get (request.query, "watch", value, sizeof value);
      fake_http_query_get (request.query, "resourceVersion", value, sizeof value);
    }
  else if (status != 400 && status != 413 && status != 414 && status != 501)
    abort ();

  n = fake_services_parse (text, size, "fuzz input", services, G_N_ELEMENTS (services));
  if (n > G_N_ELEMENTS (services))
    abort ();
  for (size_t i = 0; i < n; i++)
    {
      check_service (&services[i]);
      fake_service_clear (&services[i]);
    }
  return 0;
}
