/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bench/vm-start: how long the lima backend takes from start to SSH-ready,
 * with the guest image cached, as berthd runs it (the plugin module loaded
 * through libberth). Not a test: it prints figures.
 *
 *   berth-bench-vm-start [-n RUNS] [--image-cache DIR] [--accel tcg|kvm|auto]
 *                        [--baseline-seconds S] [--keep]
 *
 * Each run starts the same instance (made by a first, uncounted start that
 * also builds the image when the cache lacks it), times start → STARTED
 * (the guest's sshd answered and the SSH ControlMaster is up), checks that
 * a command runs, and stops it. HOME and the XDG directories are throwaway;
 * only the image cache (--image-cache, default $BERTH_TEST_IMAGE_CACHE, else
 * $XDG_CACHE_HOME/berth/images) is shared. BERTH_PLUGIN_PATH must name the
 * directory holding berth-lima.so and BERTH_DATA_DIR Berth's data/ (run.sh
 * next to this file sets both). */

#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <berth.h>

static BerthBackend *backend;

static void
got_result (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **)user_data = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

static gboolean
vm_start (GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  berth_backend_start_async (backend, NULL, got_result, &result);
  return berth_backend_start_finish (backend, wait_result (&result), error);
}

static gboolean
vm_stop (GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  berth_backend_stop_async (backend, NULL, got_result, &result);
  return berth_backend_stop_finish (backend, wait_result (&result), error);
}

static gboolean
vm_true (GError **error)
{
  const gchar *argv[] = { "true", NULL };
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (BerthSubprocessResult) done = NULL;

  berth_backend_exec_async (backend, argv, NULL, NULL, got_result, &result);
  done = berth_backend_exec_finish (backend, wait_result (&result), error);
  if (done == NULL)
    return FALSE;
  if (done->exit_status != 0)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND, "`true` in the guest exited %d",
                   done->exit_status);
      return FALSE;
    }
  return TRUE;
}

static void
on_progress (BerthBackend *b, const gchar *description, guint64 current, guint64 max,
             gpointer user_data)
{
  static gchar *last;

  if (g_strcmp0 (last, description) == 0)
    return;
  g_free (last);
  last = g_strdup (description);
  if (g_str_has_prefix (description, "Building guest image"))
    g_printerr ("  %s\n", description);
}

static gint
compare_doubles (gconstpointer a, gconstpointer b)
{
  gdouble x = *(const gdouble *)a, y = *(const gdouble *)b;

  return x < y ? -1 : x > y ? 1 : 0;
}

static gdouble
median (GArray *values)
{
  guint n = values->len;

  g_array_sort (values, compare_doubles);
  if (n == 0)
    return 0;
  if (n % 2 == 1)
    return g_array_index (values, gdouble, n / 2);
  return (g_array_index (values, gdouble, n / 2 - 1) + g_array_index (values, gdouble, n / 2)) / 2;
}

static void
remove_tree (const gchar *path)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const gchar *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree gchar *child = g_build_filename (path, name, NULL);

          remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static gchar *
make_dir (const gchar *parent, const gchar *name)
{
  gchar *path = g_build_filename (parent, name, NULL);

  if (g_mkdir_with_parents (path, 0700) != 0)
    g_error ("cannot create %s", path);
  return path;
}

int
main (int argc, char **argv)
{
  gint runs = 5;
  gchar *image_cache = NULL;
  gchar *accel = NULL;
  gdouble baseline = 0;
  gboolean keep = FALSE;
  GOptionEntry entries[] = {
    { "keep", 0, 0, G_OPTION_ARG_NONE, &keep,
      "Keep the throwaway directory (logs, the instance's ha.stderr.log)", NULL },
    { "runs", 'n', 0, G_OPTION_ARG_INT, &runs, "Timed starts (default 5)", "N" },
    { "image-cache", 0, 0, G_OPTION_ARG_FILENAME, &image_cache,
      "Guest image cache to use (built there when missing)", "DIR" },
    { "accel", 0, 0, G_OPTION_ARG_STRING, &accel, "tcg (default), kvm or auto", "ACCEL" },
    { "baseline-seconds", 0, 0, G_OPTION_ARG_DOUBLE, &baseline,
      "The baseline's figure, to print beside ours", "S" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- time the lima backend's start");
  g_autoptr (GError) error = NULL;
  g_autofree gchar *root = NULL;
  g_autofree gchar *home = NULL;
  g_autofree gchar *cache = NULL;
  g_autofree gchar *berth_cache = NULL;
  g_autofree gchar *link = NULL;
  g_autofree gchar *settings_path = NULL;
  g_autofree gchar *settings_json = NULL;
  g_autoptr (BerthPaths) paths = NULL;
  g_autoptr (BerthSettings) settings = NULL;
  g_autoptr (BerthPluginLoader) loader = NULL;
  g_autoptr (GArray) starts = g_array_new (FALSE, FALSE, sizeof (gdouble));
  g_autoptr (GArray) stops = g_array_new (FALSE, FALSE, sizeof (gdouble));
  BerthPlugin *plugin;
  gdouble first;
  gint64 t0;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (runs < 1)
    {
      g_printerr ("-n %d: give at least one run\n", runs);
      return 2;
    }
  if (accel == NULL)
    accel = g_strdup ("tcg");
  if (image_cache == NULL && g_getenv ("BERTH_TEST_IMAGE_CACHE") != NULL)
    image_cache = g_strdup (g_getenv ("BERTH_TEST_IMAGE_CACHE"));
  if (image_cache == NULL)
    image_cache = g_build_filename (g_get_user_cache_dir (), "berth", "images", NULL);
  if (g_mkdir_with_parents (image_cache, 0755) != 0)
    {
      g_printerr ("cannot create the image cache %s\n", image_cache);
      return 1;
    }

  root = g_dir_make_tmp ("berth-bench-vm-start-XXXXXX", &error);
  if (root == NULL)
    g_error ("%s", error->message);
  home = make_dir (root, "home");
  cache = make_dir (root, "cache");
  g_setenv ("HOME", home, TRUE);
  for (guint i = 0; i < 3; i++)
    {
      static const gchar *const vars[] = { "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_RUNTIME_DIR" };
      static const gchar *const names[] = { "config", "data", "run" };
      g_autofree gchar *dir = make_dir (root, names[i]);

      g_setenv (vars[i], dir, TRUE);
    }
  g_setenv ("XDG_CACHE_HOME", cache, TRUE);
  berth_cache = make_dir (cache, "berth");
  link = g_build_filename (berth_cache, "images", NULL);
  {
    g_autofree gchar *absolute = g_canonicalize_filename (image_cache, NULL);

    if (symlink (absolute, link) != 0)
      g_error ("cannot link %s to %s", link, absolute);
  }

  paths = berth_paths_new ();
  settings_path = berth_paths_get_settings_file (paths);
  settings = berth_settings_new (settings_path, NULL);
  if (!berth_settings_load (settings, &error))
    g_error ("settings: %s", error->message);
  /* What bench/vm-boot-baseline boots: 2 vCPUs, 2 GiB. */
  settings_json = g_strdup_printf ("{\"virtualMachine\": {\"memoryInGB\": 2, \"numberCPUs\": 2, "
                                   "\"diskSizeGiB\": 20, \"accel\": \"%s\"}}",
                                   accel);
  if (!berth_settings_update_from_json (settings, settings_json, NULL, &error))
    g_error ("settings: %s", error->message);
  loader = berth_plugin_loader_new (settings, paths);
  berth_plugin_loader_load_all (loader, NULL, NULL);
  plugin = berth_plugin_loader_find (loader, "lima");
  if (plugin == NULL || !BERTH_IS_BACKEND (plugin))
    {
      g_printerr ("The lima plugin did not load; set BERTH_PLUGIN_PATH to the build directory's "
                  "plugins/lima\n");
      return 1;
    }
  backend = BERTH_BACKEND (plugin);
  g_signal_connect (backend, "progress", G_CALLBACK (on_progress), NULL);

  g_printerr ("First start (makes the instance; builds the image if %s lacks it)...\n",
              image_cache);
  t0 = g_get_monotonic_time ();
  if (!vm_start (&error))
    g_error ("start: %s", error->message);
  first = (g_get_monotonic_time () - t0) / (gdouble)G_USEC_PER_SEC;
  g_printerr ("  %.2f s\n", first);
  if (!vm_stop (&error))
    g_error ("stop: %s", error->message);

  for (gint i = 1; i <= runs; i++)
    {
      gdouble start_s, stop_s;

      t0 = g_get_monotonic_time ();
      if (!vm_start (&error))
        g_error ("start %d: %s", i, error->message);
      start_s = (g_get_monotonic_time () - t0) / (gdouble)G_USEC_PER_SEC;
      if (!vm_true (&error))
        g_error ("run %d: %s", i, error->message);
      t0 = g_get_monotonic_time ();
      if (!vm_stop (&error))
        g_error ("stop %d: %s", i, error->message);
      stop_s = (g_get_monotonic_time () - t0) / (gdouble)G_USEC_PER_SEC;
      g_array_append_val (starts, start_s);
      g_array_append_val (stops, stop_s);
      g_printerr ("run %d: start -> SSH-ready %.2f s, stop %.2f s\n", i, start_s, stop_s);
    }

  if (!keep)
    {
      g_autoptr (GAsyncResult) result = NULL;

      berth_backend_delete_async (backend, NULL, got_result, &result);
      berth_backend_delete_finish (backend, wait_result (&result), NULL);
    }

  g_print ("accel %s, 2 vCPUs, 2 GiB, %u host CPUs; first start of a new instance %.2f s; "
           "stop median %.2f s\n",
           accel, g_get_num_processors (), first, median (stops));
  if (baseline > 0)
    g_print ("berth: %.2f s (median of %d) | baseline (stock systemd guest, generic initrd, plain "
             "qemu): %.2f s\n",
             median (starts), runs, baseline);
  else
    g_print ("berth: %.2f s (median of %d) | baseline (stock systemd guest, generic initrd, plain "
             "qemu): not measured (run.sh --baseline-image DIR measures it)\n",
             median (starts), runs);

  if (keep)
    g_printerr ("kept %s\n", root);
  else
    remove_tree (root);
  g_free (image_cache);
  g_free (accel);
  return 0;
}
