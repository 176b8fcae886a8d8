/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Replays a fuzz target's corpus without libFuzzer: every file of each
 * directory given on the command line goes once through the target's
 * LLVMFuzzerTestOneInput(), as one GLib test case, so that the target's
 * assertions (round trips, the differential checks) run in every build and
 * with any compiler. A failing input fails its test case by name. */

#include "config.h"

#include <string.h>

#include "fuzz-common.h"

static void
replay_file (gconstpointer user_data)
{
  const gchar *path = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *contents = NULL;
  g_autofree guint8 *exact = NULL;
  gsize length = 0;

  if (!g_file_get_contents (path, &contents, &length, &error))
    g_error ("Could not read the corpus input %s: %s", path, error->message);
  /* Exactly the input's bytes, with nothing after them, as libFuzzer hands
   * them over: a read past the end is then a read past the allocation. */
  exact = g_memdup2 (contents, length);
  LLVMFuzzerTestOneInput (exact, length);
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const gchar *const *)a, *(const gchar *const *)b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  LLVMFuzzerInitialize (&argc, &argv);

  if (argc < 2)
    g_error ("usage: %s [GTEST-OPTION…] CORPUS-DIRECTORY…", argv[0]);
  for (int i = 1; i < argc; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GDir) dir = g_dir_open (argv[i], 0, &error);
      g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      g_autofree gchar *corpus = g_path_get_basename (argv[i]);
      const gchar *name;

      if (dir == NULL)
        g_error ("Could not open the corpus %s: %s", argv[i], error->message);
      while ((name = g_dir_read_name (dir)) != NULL)
        g_ptr_array_add (names, g_strdup (name));
      if (names->len == 0)
        g_error ("The corpus %s is empty; a fuzz target needs seed inputs", argv[i]);
      g_ptr_array_sort (names, compare_names);
      for (guint j = 0; j < names->len; j++)
        {
          const gchar *file = g_ptr_array_index (names, j);
          g_autofree gchar *test_path = g_strdup_printf ("/%s/%s", corpus, file);

          g_test_add_data_func_full (test_path, g_build_filename (argv[i], file, NULL), replay_file,
                                     g_free);
        }
    }
  return g_test_run ();
}
