/* SPDX-License-Identifier: GPL-3.0-or-later */
/* BerthManager and the image processors, in process: berth-moby and
 * berth-nerdctl against fake CLIs, with a pretend VM (berth-test-imagevm)
 * whose sockets exist while it runs. The processor follows
 * containerEngine.name from one start to the next, watches the images only
 * while Berth is STARTED and someone holds a watch, and its images-changed
 * comes out of the manager as a plugin event. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include <berth.h>

#include "berth-test-util.h"

#define WAIT_SECONDS 20
#define DOCKER_LIST "images|--digests|--format|{{json .}}"

typedef struct
{
  gchar *root;
  gchar *fake_dir;
  BerthPaths *paths;
  BerthManager *manager;
  GPtrArray *plugin_events; /* "plugin signal" */
} Fixture;

static gchar *
read_source (const gchar *first, ...) G_GNUC_NULL_TERMINATED;

/* A file of the source tree, by path parts under the plugins directory. */
static gchar *
read_source (const gchar *first, ...)
{
  g_autoptr (GPtrArray) parts = g_ptr_array_new ();
  g_autofree gchar *path = NULL;
  g_autoptr (GError) error = NULL;
  gchar *text = NULL;
  const gchar *part;
  va_list args;

  g_ptr_array_add (parts, (gpointer)g_getenv ("BERTH_PLUGINS_SRCDIR"));
  va_start (args, first);
  for (part = first; part != NULL; part = va_arg (args, const gchar *))
    g_ptr_array_add (parts, (gpointer)part);
  va_end (args);
  g_ptr_array_add (parts, NULL);
  path = g_build_filenamev ((gchar **)parts->pdata);
  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

static void
write_fake (Fixture *f, const gchar *name, const gchar *text, gint mode)
{
  g_autofree gchar *path = g_build_filename (f->fake_dir, name, NULL);

  berth_test_write_file (path, text, mode);
}

/* Positive checks wait for what they expect, up to a bound, rather than
 * pausing a fixed time: this machine may be loaded (VM tests beside us). */
static guint
wait_for_commands (Fixture *f, const gchar *suffix, guint n)
{
  guint count = 0;

  /* Counting takes the lines it reads: add them up. */
  for (guint i = 0; i < 200; i++)
    {
      count += berth_test_count_commands_ending (f->fake_dir, suffix);
      if (count >= n)
        break;
      berth_test_pause_ms (100);
    }
  return count;
}

/* After the refresh was told to stop: at most one list already on its way,
 * where a running refresh makes six or seven in the same time. */
static void
assert_stopped_refreshing (Fixture *f)
{
  berth_test_pause_ms (300);
  berth_test_count_commands_ending (f->fake_dir, DOCKER_LIST);
  berth_test_pause_ms (700);
  g_assert_cmpuint (berth_test_count_commands_ending (f->fake_dir, DOCKER_LIST), <=, 1);
}

static void
on_plugin_event (BerthManager *manager, const gchar *plugin, const gchar *signal_name,
                 JsonNode *args, Fixture *f)
{
  g_ptr_array_add (f->plugin_events, g_strdup_printf ("%s %s", plugin, signal_name));
}

static guint
count_events (Fixture *f, const gchar *event)
{
  guint n = 0;

  for (guint i = 0; i < f->plugin_events->len; i++)
    if (g_str_equal (g_ptr_array_index (f->plugin_events, i), event))
      n++;
  return n;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *docker = NULL;
  g_autofree gchar *nerdctl = NULL;
  g_autofree gchar *docker_path = NULL;
  g_autofree gchar *nerdctl_path = NULL;

  f->root = berth_test_make_root ("berth-images-manager");
  f->paths = berth_test_paths_under (f->root);

  f->fake_dir = g_build_filename (f->root, "fake", NULL);
  g_assert_cmpint (g_mkdir (f->fake_dir, 0700), ==, 0);
  docker = read_source ("moby", "tests", "fake-docker", NULL);
  nerdctl = read_source ("nerdctl", "tests", "fake-nerdctl", NULL);
  write_fake (f, "docker", docker, 0755);
  write_fake (f, "nerdctl", nerdctl, 0755);
  {
    g_autofree gchar *images = read_source ("moby", "tests", "docker-images.jsonl", NULL);
    g_autofree gchar *k8s = read_source ("nerdctl", "tests", "nerdctl-images-k8s.io.jsonl", NULL);

    write_fake (f, "images.jsonl", images, 0644);
    write_fake (f, "images-k8s.io.jsonl", k8s, 0644);
  }
  docker_path = g_build_filename (f->fake_dir, "docker", NULL);
  nerdctl_path = g_build_filename (f->fake_dir, "nerdctl", NULL);
  g_setenv ("FAKE_DIR", f->fake_dir, TRUE);
  g_setenv ("BERTH_DOCKER", docker_path, TRUE);
  g_setenv ("BERTH_NERDCTL", nerdctl_path, TRUE);
  g_setenv ("BERTH_IMAGES_REFRESH_MS", "100", TRUE);

  f->plugin_events = g_ptr_array_new_with_free_func (g_free);
  /* BERTH_PLUGIN_PATH: the pretend VM, berth-moby and berth-nerdctl. */
  f->manager = berth_manager_new (f->paths, NULL);
  g_signal_connect (f->manager, "plugin-event", G_CALLBACK (on_plugin_event), f);
  berth_manager_load (f->manager, NULL, &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->manager);
  g_clear_pointer (&f->paths, berth_paths_free);
  g_clear_pointer (&f->plugin_events, g_ptr_array_unref);
  berth_test_rm_rf (f->root);
  g_free (f->root);
  g_free (f->fake_dir);
}

static void
start (Fixture *f)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;

  berth_manager_start_async (f->manager, NULL, berth_test_store_result, &result);
  berth_test_wait_result (&result, WAIT_SECONDS);
  g_assert_true (berth_manager_start_finish (f->manager, result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (berth_manager_get_state (f->manager), ==, BERTH_STATE_STARTED);
}

static void
stop (Fixture *f)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;

  berth_manager_stop_async (f->manager, NULL, berth_test_store_result, &result);
  berth_test_wait_result (&result, WAIT_SECONDS);
  g_assert_true (berth_manager_stop_finish (f->manager, result, &error));
  g_assert_no_error (error);
}

static const gchar *
processor_name (Fixture *f)
{
  BerthImageProcessor *processor = berth_manager_get_image_processor (f->manager);

  return processor != NULL ? berth_plugin_get_name (BERTH_PLUGIN (processor)) : NULL;
}

/* ---- tests -------------------------------------------------------------- */

/* Watching needs both: STARTED and a watcher. */
static void
test_watch_needs_started_and_watcher (Fixture *f, gconstpointer data)
{
  g_assert_cmpstr (processor_name (f), ==, "moby");
  g_assert_cmpuint (berth_manager_get_n_watchers (f->manager), ==, 0);

  /* A watcher while STOPPED: nothing to watch. */
  berth_manager_hold_watch (f->manager);
  berth_test_pause_ms (300);
  g_assert_cmpuint (berth_test_count_commands_ending (f->fake_dir, DOCKER_LIST), ==, 0);
  berth_manager_release_watch (f->manager);

  /* STARTED without a watcher: no refresh either. */
  start (f);
  berth_test_pause_ms (300);
  g_assert_cmpuint (berth_test_count_commands_ending (f->fake_dir, DOCKER_LIST), ==, 0);

  /* Both: docker images every 100 ms. */
  berth_manager_hold_watch (f->manager);
  berth_manager_hold_watch (f->manager);
  g_assert_cmpuint (berth_manager_get_n_watchers (f->manager), ==, 2);
  g_assert_cmpuint (wait_for_commands (f, DOCKER_LIST, 2), >=, 2);

  /* One of two watchers left: still watching. */
  berth_manager_release_watch (f->manager);
  berth_test_count_commands_ending (f->fake_dir, DOCKER_LIST);
  g_assert_cmpuint (wait_for_commands (f, DOCKER_LIST, 2), >=, 2);

  /* The last one left: the refresh stops. */
  berth_manager_release_watch (f->manager);
  assert_stopped_refreshing (f);

  /* A watcher again, then Berth stops: the refresh stops with it. */
  berth_manager_hold_watch (f->manager);
  g_assert_cmpuint (wait_for_commands (f, DOCKER_LIST, 1), >=, 1);
  stop (f);
  assert_stopped_refreshing (f);
  berth_manager_release_watch (f->manager);
}

/* The processor's images-changed reaches frontends as a plugin event. */
static void
test_images_changed_event (Fixture *f, gconstpointer data)
{
  g_autofree gchar *changed = read_source ("moby", "tests", "docker-images-changed.jsonl", NULL);

  start (f);
  berth_manager_hold_watch (f->manager);
  berth_test_pause_ms (300);
  g_assert_cmpuint (count_events (f, "moby images-changed"), ==, 0);

  write_fake (f, "images.jsonl", changed, 0644);
  for (guint i = 0; i < 200 && count_events (f, "moby images-changed") == 0; i++)
    berth_test_pause_ms (100);
  berth_test_pause_ms (300);
  g_assert_cmpuint (count_events (f, "moby images-changed"), ==, 1);
  berth_manager_release_watch (f->manager);
}

/* A VM that fails stops the watching. */
static void
test_error_deactivates (Fixture *f, gconstpointer data)
{
  BerthBackend *backend;

  start (f);
  berth_manager_hold_watch (f->manager);
  g_assert_cmpuint (wait_for_commands (f, DOCKER_LIST, 1), >=, 1);

  backend = berth_manager_get_backend (f->manager);
  g_assert_nonnull (backend);
  g_object_set (backend, "state-reason", "the VM crashed", "state", BERTH_STATE_ERROR, NULL);
  g_assert_cmpint (berth_manager_get_state (f->manager), ==, BERTH_STATE_ERROR);
  assert_stopped_refreshing (f);
  berth_manager_release_watch (f->manager);
}

/* For berth_test_iterate_until(): the restart that a change of
 * containerEngine.name made while running is over, and nerdctl serves. */
static gboolean
restarted_with_nerdctl (gpointer data)
{
  Fixture *f = data;

  return !berth_manager_is_restarting (f->manager)
         && berth_manager_get_state (f->manager) == BERTH_STATE_STARTED
         && g_strcmp0 (processor_name (f), "nerdctl") == 0;
}

/* containerEngine.name changed while Berth runs restarts the VM, as
 * Rancher Desktop does: moby lists images until then, nerdctl (in
 * images.namespace, k8s.io) after it. */
static void
test_engine_switch (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();

  start (f);
  berth_manager_hold_watch (f->manager);
  g_assert_cmpstr (processor_name (f), ==, "moby");
  g_assert_cmpuint (wait_for_commands (f, DOCKER_LIST, 1), >=, 1);

  json_parser_load_from_data (parser, "{\"containerEngine\": {\"name\": \"containerd\"}}", -1,
                              &error);
  g_assert_no_error (error);
  berth_manager_update_settings (f->manager, json_parser_get_root (parser), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (berth_test_iterate_until (restarted_with_nerdctl, f, WAIT_SECONDS));
  /* Drop what was logged before the switch. A docker list that was on its
   * way when the VM stopped may still log after that (its process had
   * been spawned); a moby refresh still running would log one every few
   * hundred milliseconds. So: three nerdctl lists, and at most one docker
   * list among what came with them. */
  g_strfreev (berth_test_take_commands (f->fake_dir));
  {
    guint nerdctl_lists = 0;
    guint docker_lists = 0;

    for (guint i = 0; i < 200 && nerdctl_lists < 3; i++)
      {
        g_auto (GStrv) commands = berth_test_take_commands (f->fake_dir);

        for (gsize j = 0; commands[j] != NULL; j++)
          {
            if (g_str_has_suffix (commands[j], "--namespace|k8s.io|images|--format|{{json .}}"))
              nerdctl_lists++;
            if (strstr (commands[j], "--host|unix://") != NULL)
              docker_lists++;
          }
        if (nerdctl_lists < 3)
          berth_test_pause_ms (100);
      }
    g_assert_cmpuint (nerdctl_lists, >=, 3);
    g_assert_cmpuint (docker_lists, <=, 1);
  }
  berth_manager_release_watch (f->manager);
}

int
main (int argc, char **argv)
{
  berth_test_watch_leftovers ();
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/images-manager/watch-needs-started-and-watcher", test_watch_needs_started_and_watcher);
  ADD ("/images-manager/images-changed-event", test_images_changed_event);
  ADD ("/images-manager/error-deactivates", test_error_deactivates);
  ADD ("/images-manager/engine-switch", test_engine_switch);
#undef ADD
  return g_test_run ();
}
