/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The guest image a VM boots: Berth's own, built from Debian packages by
 * data/guest/build-image.sh into <cache>/images/<recipe hash>/ (vmlinuz and
 * maybe vmlinux, initrd.img, rootfs.qcow2, manifest.json), or one downloaded from
 * virtualMachine.image.url into the Lima-style download cache and checked
 * against virtualMachine.image.sha256. A download is either a tar archive
 * holding Berth's files (vmlinuz, initrd.img, rootfs.qcow2, manifest.json;
 * unpacked next to it, under image/) or a bootable disk image (qcow2 or
 * raw) booted by the firmware. */
typedef struct
{
  gchar *dir;             /* where the files are */
  gchar *kernel;          /* NULL when the image has none */
  gchar *initrd;          /* NULL when the image has none */
  gchar *disk;            /* root disk: rootfs.qcow2, or the downloaded disk */
  gchar *disk_format;     /* "qcow2" or "raw" */
  gboolean disk_bootable; /* has a boot loader (a downloaded disk image) */
  gchar *kernel_cmdline;  /* from manifest.json; a default without one */
  gchar *source;          /* "recipe <hash>" or the URL */
} BerthLimaImage;

BerthLimaImage *
berth_lima_image_copy (const BerthLimaImage *image);
void
berth_lima_image_free (BerthLimaImage *image);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthLimaImage, berth_lima_image_free)

/* The kernel command line Berth's image is made for (console on the first
 * serial port, root on the first virtio disk). */
#define BERTH_LIMA_IMAGE_DEFAULT_CMDLINE "root=/dev/vda rw console=ttyS0 quiet"

/* The recipe directory (data/guest): $BERTH_DATA_DIR/guest, else the
 * source tree's data/guest when it exists, else the installed one. The
 * error names the directories tried. */
gchar *
berth_lima_image_find_recipe_dir (GError **error);
/* The recipe's hash, as recipe-hash.sh prints it. Blocking. */
gchar *
berth_lima_image_recipe_hash (const gchar *recipe_dir, GCancellable *cancellable, GError **error);
/* Whether @dir holds a complete image of @recipe_hash (all files, and a
 * manifest.json naming that hash). On success @image_out (may be NULL)
 * receives it. */
gboolean
berth_lima_image_load_built (const gchar *dir, const gchar *recipe_hash,
                             BerthLimaImage **image_out);

#define BERTH_LIMA_TYPE_IMAGE_CACHE (berth_lima_image_cache_get_type ())
G_DECLARE_FINAL_TYPE (BerthLimaImageCache, berth_lima_image_cache, BERTH_LIMA, IMAGE_CACHE, GObject)

/* @cache_dir: Berth's cache ($XDG_CACHE_HOME/berth); images go in its
 * images/, downloads in its download/. @logs_dir: where lima-image.log goes
 * (NULL: the default). */
BerthLimaImageCache *
berth_lima_image_cache_new (const gchar *cache_dir, const gchar *logs_dir);
/* <cache>/images */
const gchar *
berth_lima_image_cache_get_images_dir (BerthLimaImageCache *self);

/* Makes sure the image is there: downloads it when @url is not NULL or
 * empty (then @sha256 is required), else builds it from the recipe unless
 * the cache has it. Builds are serialized across processes with a lock file
 * beside the image directory. Emits "progress" (description, current, max)
 * on the caller's main context: "Building guest image: <step>" for each
 * step the recipe prints, "Downloading guest image" with byte counts. */
void
berth_lima_image_cache_ensure_async (BerthLimaImageCache *self, const gchar *url,
                                     const gchar *sha256, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data);
BerthLimaImage *
berth_lima_image_cache_ensure_finish (BerthLimaImageCache *self, GAsyncResult *result,
                                      GError **error);

/* Turns a downloaded file into an image: unpacks a tar archive of Berth's
 * files into @unpack_dir (atomically: a temporary directory, then rename),
 * or takes the file as a bootable disk. Blocking. */
BerthLimaImage *
berth_lima_image_from_download (const gchar *data_path, const gchar *unpack_dir, const gchar *url,
                                GCancellable *cancellable, GError **error);

G_END_DECLS
