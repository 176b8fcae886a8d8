/* libFuzzer target for downloaded guest images: the bytes are the file at
 * virtualMachine.image.url (already checked against its sha256, but made by
 * whoever made it). berth_lima_image_from_download() must unpack a tar
 * archive's image files into its directory and nothing else anywhere, or
 * take the file as a disk, or refuse it; never crash. Run with
 * G_DEBUG=fatal-criticals. Not built by meson; by hand, e.g.:
 *
 *   clang -g -fsanitize=fuzzer,address,undefined -Icore -Iplugins/lima -I<builddir> \
 *     -I<builddir>/core plugins/lima/tests/fuzz-lima-image.c plugins/lima/berth-lima-image.c \
 *     <builddir>/core/libberth-1.so \
 *     $(pkg-config --cflags --libs json-glib-1.0 gio-2.0 libarchive)
 *
 * Point TMPDIR at a RAM-backed directory to spare the disk. */

#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <glib/gstdio.h>

#include "berth-lima-image.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static gchar *work_dir;

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

static void
clear_dir (const gchar *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const gchar *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree gchar *path = g_build_filename (dir, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        {
          clear_dir (path);
          g_rmdir (path);
        }
      else
        g_unlink (path);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree gchar *entry = NULL;
  g_autofree gchar *data_path = NULL;
  g_autofree gchar *unpack = NULL;
  g_autoptr (BerthLimaImage) image = NULL;
  g_autoptr (GError) error = NULL;

  if (work_dir == NULL)
    {
      work_dir = g_dir_make_tmp ("fuzz-lima-image-XXXXXX", NULL);
      if (work_dir == NULL)
        abort ();
    }
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
  clear_dir (entry);
  return 0;
}
