/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for a k3s release's checksum file (sha256sum-<arch>.txt,
 * from the release or from a directory the user gives): the bytes are the
 * file. berth_k3s_checksums_parse() must refuse it with an error that names
 * the file, or return names each with 64 lower-case hex digits; never
 * crash. What it returns is written back as sha256sum writes it (binary
 * mode) and read again to the same table. Built by tests/fuzz/meson.build;
 * run with G_DEBUG=fatal-criticals. */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "berth-error.h"
#include "berth-k3s-assets.h"

#include "fuzz-common.h"

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const gchar *const *)a, *(const gchar *const *)b);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) sums = NULL;
  g_autoptr (GHashTable) again = NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  g_autoptr (GString) written = g_string_new (NULL);
  GHashTableIter iter;
  gpointer key;
  gpointer value;

  sums = berth_k3s_checksums_parse ((const gchar *)data, size, "the fuzzed sums", &error);
  if (sums == NULL)
    {
      if (error == NULL || error->domain != BERTH_ERROR
          || strstr (error->message, "the fuzzed sums") == NULL)
        abort ();
      return 0;
    }
  if (error != NULL)
    abort ();

  g_hash_table_iter_init (&iter, sums);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const gchar *name = key;
      const gchar *hex = value;

      if (name[0] == '\0' || strchr (name, '\n') != NULL || !g_utf8_validate (name, -1, NULL)
          || strlen (hex) != 64)
        abort ();
      for (gsize i = 0; i < 64; i++)
        if (!g_ascii_isdigit (hex[i]) && (hex[i] < 'a' || hex[i] > 'f'))
          abort ();
      g_ptr_array_add (names, key);
    }

  /* Written back as sha256sum -b writes it, and read again. */
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    g_string_append_printf (written, "%s *%s\n",
                            (const gchar *)g_hash_table_lookup (sums, names->pdata[i]),
                            (const gchar *)names->pdata[i]);
  /* " *" may be a byte longer than what separated a name: past the limit,
   * the written file is refused for its size alone. */
  if (written->len > BERTH_K3S_CHECKSUMS_MAX_SIZE)
    return 0;
  again = berth_k3s_checksums_parse (written->str, written->len, "the written sums", &error);
  if (again == NULL || g_hash_table_size (again) != g_hash_table_size (sums))
    abort ();
  g_hash_table_iter_init (&iter, sums);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (g_strcmp0 (g_hash_table_lookup (again, key), value) != 0)
      abort ();
  return 0;
}
