/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for what the guest's port watcher prints: the bytes
 * arrive in chunks (the first byte picks the chunk size) and the reader
 * splits them into blocks. It may ignore input, with a warning; it must not
 * crash, keep a line or a block past its bound, or hold an unparsable port.
 * Run with G_DEBUG=fatal-criticals; built by tests/fuzz/meson.build. */

#include "config.h"

#include <stdlib.h>

#include "berth-lima-ports.h"

#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (BerthLimaPortsReader) reader = berth_lima_ports_reader_new ();
  g_autoptr (GPtrArray) sets
      = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_lima_port_set_free);
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  gsize chunk;

  if (size == 0)
    return 0;
  chunk = (gsize)data[0] + 1;
  data++;
  size--;
  for (gsize offset = 0; offset < size; offset += chunk)
    berth_lima_ports_reader_feed (reader, (const gchar *)data + offset, MIN (chunk, size - offset),
                                  sets, warnings);
  for (guint i = 0; i < sets->len; i++)
    {
      BerthLimaPortSet *set = g_ptr_array_index (sets, i);
      g_autoptr (GArray) ports = berth_lima_port_set_ports (set);

      if (berth_lima_port_set_size (set) > BERTH_LIMA_PORTS_MAX_BLOCK)
        abort ();
      for (guint j = 0; j < ports->len; j++)
        {
          guint16 port = g_array_index (ports, guint16, j);
          g_autoptr (GInetAddress) target
              = g_inet_address_new_from_string (berth_lima_port_set_lookup (set, port));

          if (port == 0 || target == NULL)
            abort ();
        }
    }
  return 0;
}
