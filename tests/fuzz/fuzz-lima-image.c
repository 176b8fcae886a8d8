/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for downloaded guest images: the bytes are the file at
 * virtualMachine.image.url (already checked against its sha256, but made by
 * whoever made it). berth_lima_image_from_download() must unpack a tar
 * archive's image files into its directory and nothing else anywhere, or
 * take the file as a disk, or refuse it; never crash. Run with
 * G_DEBUG=fatal-criticals; built by tests/fuzz/meson.build. Point TMPDIR
 * at a RAM-backed directory to spare the disk. */

#include "config.h"

#include <stdlib.h>

#include <glib/gstdio.h>

#include "berth-lima-image.h"

#include "fuzz-common.h"

/* Names allowed to exist in @dir after a run. */
static gboolean
only_expected (const gchar *dir)
{
  static const gchar *const allowed[] = { "data",       "image",        "vmlinuz",       "vmlinux",
                                          "initrd.img", "rootfs.qcow2", "manifest.json", NULL };
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const gchar *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree gchar *path = g_build_filename (dir, name, NULL);

      if (!g_strv_contains (allowed, name))
        return FALSE;
      if (g_str_equal (name, "image") && !only_expected (path))
        return FALSE;
    }
  return TRUE;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree gchar *entry = NULL;
  g_autofree gchar *data_path = NULL;
  g_autofree gchar *unpack = NULL;
  g_autoptr (BerthLimaImage) image = NULL;
  g_autoptr (GError) error = NULL;
  const gchar *work_dir = berth_fuzz_work_dir ();

  entry = g_build_filename (work_dir, "entry", NULL);
  g_mkdir_with_parents (entry, 0700);
  data_path = g_build_filename (entry, "data", NULL);
  unpack = g_build_filename (entry, "image", NULL);
  if (!g_file_set_contents (data_path, (const gchar *)data, (gssize)size, NULL))
    abort ();

  image = berth_lima_image_from_download (data_path, unpack, "https://example.invalid/image", NULL,
                                          &error);
  if (image == NULL && error == NULL)
    abort ();
  if (image != NULL && (image->disk == NULL || !g_file_test (image->disk, G_FILE_TEST_EXISTS)))
    abort ();
  /* Nothing was written outside the entry, and nothing but image files in it. */
  if (!only_expected (entry))
    abort ();
  {
    g_autoptr (GDir) d = g_dir_open (work_dir, 0, NULL);
    const gchar *name;

    while ((name = g_dir_read_name (d)) != NULL)
      if (!g_str_equal (name, "entry"))
        abort ();
  }
  berth_fuzz_remove_tree (entry);
  return 0;
}
