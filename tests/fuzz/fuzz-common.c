/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "fuzz-common.h"

#include <stdlib.h>

#include <glib/gstdio.h>

static gchar *work_dir;

void
berth_fuzz_remove_tree (const gchar *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const gchar *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree gchar *child = g_build_filename (path, name, NULL);

          berth_fuzz_remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static void
remove_work_dir (void)
{
  if (work_dir != NULL)
    berth_fuzz_remove_tree (work_dir);
  g_clear_pointer (&work_dir, g_free);
}

const gchar *
berth_fuzz_work_dir (void)
{
  g_autoptr (GError) error = NULL;

  if (work_dir != NULL)
    return work_dir;
  work_dir = g_dir_make_tmp ("berth-fuzz-XXXXXX", &error);
  if (work_dir == NULL)
    g_error ("Could not make a scratch directory for the fuzz target: %s", error->message);
  atexit (remove_work_dir);
  return work_dir;
}

static GLogWriterOutput
write_log (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  if (level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG))
    return G_LOG_WRITER_HANDLED;
  return g_log_writer_default (level, fields, n_fields, user_data);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_log_set_writer_func (write_log, NULL, NULL);
  return 0;
}
