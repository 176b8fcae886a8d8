/* SPDX-License-Identifier: GPL-3.0-or-later */
/* BerthManager in process, with the test backends from BERTH_PLUGIN_PATH
 * (test-good) and from this directory (test-failstart): the state machine,
 * stop during start, failures, pending changes, the lock, resets, the
 * re-emitted plugin signals and the diagnostics. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "berth.h"

#include "berth-test-util.h"

#define WAIT_SECONDS 30

typedef struct
{
  gchar *root;
  BerthPaths *paths;
  BerthManager *manager;
  GPtrArray *states;          /* gchar*: "STARTING", "STARTED: reason", … */
  GPtrArray *plugin_events;   /* gchar*: "plugin signal [args]" */
  GPtrArray *settings_events; /* gchar*: keys joined by "," */
  guint progress_events;
} Fixture;

static void
on_state_changed (BerthManager *manager, BerthState state, const gchar *reason, Fixture *f)
{
  g_ptr_array_add (
      f->states, reason != NULL ? g_strdup_printf ("%s: %s", berth_state_to_string (state), reason)
                                : g_strdup (berth_state_to_string (state)));
}

static void
on_plugin_event (BerthManager *manager, const gchar *plugin, const gchar *signal_name,
                 JsonNode *args, Fixture *f)
{
  g_autofree gchar *text = json_to_string (args, FALSE);

  g_ptr_array_add (f->plugin_events, g_strdup_printf ("%s %s %s", plugin, signal_name, text));
}

static void
on_settings_changed (BerthManager *manager, const gchar *const *keys, Fixture *f)
{
  g_ptr_array_add (f->settings_events, g_strjoinv (",", (gchar **)keys));
}

static void
on_progress_changed (BerthManager *manager, Fixture *f)
{
  f->progress_events++;
}

/* A manager over throwaway directories, loading plugins from @plugin_dir
 * only. */
static void
load_manager (Fixture *f, const gchar *plugin_dir)
{
  g_autoptr (GError) error = NULL;

  g_setenv ("BERTH_PLUGIN_PATH", plugin_dir, TRUE);
  f->manager = berth_manager_new (f->paths, NULL);
  g_signal_connect (f->manager, "state-changed", G_CALLBACK (on_state_changed), f);
  g_signal_connect (f->manager, "plugin-event", G_CALLBACK (on_plugin_event), f);
  g_signal_connect (f->manager, "settings-changed", G_CALLBACK (on_settings_changed), f);
  g_signal_connect (f->manager, "progress-changed", G_CALLBACK (on_progress_changed), f);
  berth_manager_load (f->manager, NULL, &error);
  g_assert_no_error (error);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->root = berth_test_make_root ("berth-manager");
  f->paths = berth_test_paths_under (f->root);
  f->states = g_ptr_array_new_with_free_func (g_free);
  f->plugin_events = g_ptr_array_new_with_free_func (g_free);
  f->settings_events = g_ptr_array_new_with_free_func (g_free);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->manager);
  g_clear_pointer (&f->paths, berth_paths_free);
  g_clear_pointer (&f->states, g_ptr_array_unref);
  g_clear_pointer (&f->plugin_events, g_ptr_array_unref);
  g_clear_pointer (&f->settings_events, g_ptr_array_unref);
  berth_test_rm_rf (f->root);
  g_free (f->root);
}

static const gchar *
good_plugin_dir (void)
{
  const gchar *dir = g_getenv ("BERTH_TEST_GOOD_PLUGIN_DIR");

  g_assert_nonnull (dir);
  return dir;
}

static const gchar *
failstart_plugin_dir (void)
{
  const gchar *dir = g_getenv ("BERTH_TEST_FAILSTART_PLUGIN_DIR");

  g_assert_nonnull (dir);
  return dir;
}

/* ---- async plumbing --------------------------------------------------- */

typedef struct
{
  gboolean done;
  gboolean ok;
  GError *error;
} Result;

static void
on_start_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Result *r = user_data;

  r->ok = berth_manager_start_finish (BERTH_MANAGER (source), result, &r->error);
  r->done = TRUE;
}

static void
on_stop_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Result *r = user_data;

  r->ok = berth_manager_stop_finish (BERTH_MANAGER (source), result, &r->error);
  r->done = TRUE;
}

static void
on_reset_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Result *r = user_data;

  r->ok = berth_manager_reset_finish (BERTH_MANAGER (source), result, &r->error);
  r->done = TRUE;
}

static gboolean
result_done (gpointer user_data)
{
  return ((Result *)user_data)->done;
}

static void
wait_for (Result *r)
{
  berth_test_iterate_until (result_done, r, WAIT_SECONDS);
  g_assert_true (r->done);
}

static void
result_clear (Result *r)
{
  g_clear_error (&r->error);
  r->done = FALSE;
  r->ok = FALSE;
}

static void
start_and_wait (Fixture *f)
{
  Result r = { 0 };

  berth_manager_start_async (f->manager, NULL, on_start_done, &r);
  wait_for (&r);
  g_assert_no_error (r.error);
  g_assert_true (r.ok);
}

static void
stop_and_wait (Fixture *f)
{
  Result r = { 0 };

  berth_manager_stop_async (f->manager, NULL, on_stop_done, &r);
  wait_for (&r);
  g_assert_no_error (r.error);
  g_assert_true (r.ok);
}

typedef struct
{
  Fixture *f;
  BerthState state;
} StateWait;

static gboolean
state_reached (gpointer user_data)
{
  StateWait *w = user_data;

  return berth_manager_get_state (w->f->manager) == w->state;
}

static void
wait_for_state (Fixture *f, BerthState state)
{
  StateWait w = { f, state };

  berth_test_iterate_until (state_reached, &w, WAIT_SECONDS);
  g_assert_cmpstr (berth_state_to_string (berth_manager_get_state (f->manager)), ==,
                   berth_state_to_string (state));
}

static gchar *
joined (GPtrArray *array)
{
  g_ptr_array_add (array, NULL);
  g_ptr_array_remove_index (array, array->len - 1);
  return g_strjoinv (" | ", (gchar **)array->pdata);
}

/* ---- tests ------------------------------------------------------------ */

/* The backend named by the manager's about (berthctl info's "backend"). */
static gchar *
chosen_backend (Fixture *f)
{
  g_autoptr (JsonNode) about = berth_manager_dup_about (f->manager);
  JsonObject *object = json_node_get_object (about);

  if (json_object_get_null_member (object, "backend"))
    return NULL;
  return g_strdup (json_object_get_string_member (object, "backend"));
}

/* Two backends, neither native to any platform: the first loaded is the
 * default, and BERTH_BACKEND picks either by name; a name that is not loaded
 * stops the load with a message that lists what is. */
static void
test_backend_choice (Fixture *f, gconstpointer data)
{
  g_autofree gchar *both = g_strjoin (":", good_plugin_dir (), failstart_plugin_dir (), NULL);
  g_autofree gchar *chosen = NULL;
  g_autoptr (GError) error = NULL;

  g_setenv ("BERTH_BACKEND", "test-failstart", TRUE);
  load_manager (f, both);
  chosen = chosen_backend (f);
  g_assert_cmpstr (chosen, ==, "test-failstart");
  g_clear_object (&f->manager);
  g_clear_pointer (&chosen, g_free);

  g_setenv ("BERTH_BACKEND", "test-good", TRUE);
  load_manager (f, both);
  chosen = chosen_backend (f);
  g_assert_cmpstr (chosen, ==, "test-good");
  g_clear_object (&f->manager);
  g_clear_pointer (&chosen, g_free);

  g_setenv ("BERTH_BACKEND", "hyperkit", TRUE);
  g_setenv ("BERTH_PLUGIN_PATH", both, TRUE);
  f->manager = berth_manager_new (f->paths, NULL);
  g_assert_false (berth_manager_load (f->manager, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "BERTH_BACKEND=hyperkit"));
  g_assert_nonnull (strstr (error->message, "test-good"));
  g_assert_nonnull (strstr (error->message, "test-failstart"));
  g_clear_object (&f->manager);

  g_unsetenv ("BERTH_BACKEND");
  load_manager (f, both);
  chosen = chosen_backend (f);
  g_assert_nonnull (chosen);
  g_assert_true (g_str_equal (chosen, "test-good") || g_str_equal (chosen, "test-failstart"));
}

static void
test_start_stop (Fixture *f, gconstpointer data)
{
  g_autofree gchar *states = NULL;
  g_autoptr (JsonNode) backend_state = NULL;
  gboolean saw_progress = FALSE;

  load_manager (f, good_plugin_dir ());
  g_assert_cmpint (berth_manager_get_state (f->manager), ==, BERTH_STATE_STOPPED);
  g_assert_nonnull (berth_manager_get_backend (f->manager));

  start_and_wait (f);
  g_assert_cmpint (berth_manager_get_state (f->manager), ==, BERTH_STATE_STARTED);
  g_assert_null (berth_manager_get_state_reason (f->manager));
  g_assert_cmpuint (f->progress_events, >, 0);
  /* Progress is over once started. */
  g_assert_cmpuint (berth_progress_get_n_active (berth_manager_get_progress (f->manager)), ==, 0);

  /* The backend's own signal, its arguments as JSON. */
  for (guint i = 0; i < f->plugin_events->len; i++)
    if (g_str_equal (g_ptr_array_index (f->plugin_events, i),
                     "test-good progress [\"Booting the test VM\",3,3]"))
      saw_progress = TRUE;
  g_assert_true (saw_progress);

  /* Starting what is started is no error and changes nothing. */
  start_and_wait (f);

  /* The engine's socket (moby by default) answered before STARTED, and
   * the state says where it is. */
  {
    g_autofree gchar *socket = g_build_filename (berth_manager_get_paths (f->manager)->data,
                                                 "docker.sock", NULL);
    g_autoptr (JsonNode) running = berth_manager_dup_backend_state (f->manager);
    JsonObject *o = json_node_get_object (running);
    JsonArray *ports;

    g_assert_true (g_file_test (socket, G_FILE_TEST_EXISTS));
    g_assert_cmpstr (json_object_get_string_member (o, "engineSocket"), ==, socket);
    g_assert_cmpstr (
        json_object_get_string_member (json_object_get_object_member (o, "sockets"), "dockerd"),
        ==, socket);
    ports = json_object_get_array_member (o, "portForwards");
    g_assert_cmpuint (json_array_get_length (ports), ==, 1);
    g_assert_cmpint (
        json_object_get_int_member (json_array_get_object_element (ports, 0), "hostPort"), ==,
        8080);

    stop_and_wait (f);
    /* Stopped, the socket leads nowhere and is gone. */
    g_assert_false (g_file_test (socket, G_FILE_TEST_EXISTS));
  }
  states = joined (f->states);
  g_assert_cmpstr (states, ==, "STARTING | STARTED | STOPPING | STOPPED");

  backend_state = berth_manager_dup_backend_state (f->manager);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (backend_state), "vmState"),
                   ==, "STOPPED");
  g_assert_false (json_object_has_member (json_node_get_object (backend_state), "engineSocket"));
}

static void
test_stop_during_start (Fixture *f, gconstpointer data)
{
  Result start = { 0 };
  Result stop = { 0 };
  g_autofree gchar *states = NULL;

  load_manager (f, good_plugin_dir ());
  berth_manager_start_async (f->manager, NULL, on_start_done, &start);
  g_assert_cmpint (berth_manager_get_state (f->manager), ==, BERTH_STATE_STARTING);
  berth_manager_stop_async (f->manager, NULL, on_stop_done, &stop);

  wait_for (&start);
  wait_for (&stop);
  g_assert_false (start.ok);
  g_assert_error (start.error, BERTH_ERROR, BERTH_ERROR_CANCELLED);
  g_assert_no_error (stop.error);
  g_assert_true (stop.ok);
  g_assert_cmpint (berth_manager_get_state (f->manager), ==, BERTH_STATE_STOPPED);
  states = joined (f->states);
  g_assert_cmpstr (states, ==, "STARTING | STOPPING | STOPPED");
  /* While it stops, a start is refused with the reason. */
  result_clear (&start);
  result_clear (&stop);
}

static void
test_start_joins (Fixture *f, gconstpointer data)
{
  Result first = { 0 };
  Result second = { 0 };
  g_autofree gchar *states = NULL;

  load_manager (f, good_plugin_dir ());
  berth_manager_start_async (f->manager, NULL, on_start_done, &first);
  berth_manager_start_async (f->manager, NULL, on_start_done, &second);
  wait_for (&first);
  wait_for (&second);
  g_assert_true (first.ok);
  g_assert_true (second.ok);
  states = joined (f->states);
  g_assert_cmpstr (states, ==, "STARTING | STARTED");
  stop_and_wait (f);
}

static void
test_failed_start (Fixture *f, gconstpointer data)
{
  Result r = { 0 };
  g_autoptr (JsonNode) backend_state = NULL;
  JsonObject *object;

  load_manager (f, failstart_plugin_dir ());
  berth_manager_start_async (f->manager, NULL, on_start_done, &r);
  wait_for (&r);
  g_assert_false (r.ok);
  g_assert_error (r.error, BERTH_ERROR, BERTH_ERROR_BACKEND);
  g_assert_nonnull (strstr (r.error->message, "kernel panic"));

  /* The reason is kept, for the API and the frontends. */
  g_assert_cmpint (berth_manager_get_state (f->manager), ==, BERTH_STATE_ERROR);
  g_assert_nonnull (strstr (berth_manager_get_state_reason (f->manager), "did not boot"));
  backend_state = berth_manager_dup_backend_state (f->manager);
  object = json_node_get_object (backend_state);
  g_assert_cmpstr (json_object_get_string_member (object, "vmState"), ==, "ERROR");
  g_assert_nonnull (strstr (json_object_get_string_member (object, "reason"), "kernel panic"));

  /* From ERROR a stop cleans up. */
  stop_and_wait (f);
  g_assert_cmpint (berth_manager_get_state (f->manager), ==, BERTH_STATE_STOPPED);
  g_assert_null (berth_manager_get_state_reason (f->manager));
  result_clear (&r);
}

static JsonNode *
parse (const gchar *text)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

static void
test_pending (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonNode) pending = NULL;
  g_autoptr (JsonNode) proposal = NULL;
  g_autoptr (JsonNode) change = NULL;
  g_autoptr (JsonNode) live = NULL;
  g_autoptr (GError) error = NULL;
  BerthSettings *settings;
  gint64 cpus;
  JsonObject *entry;

  load_manager (f, good_plugin_dir ());
  settings = berth_manager_get_settings (f->manager);
  cpus = berth_settings_get_int (settings, "virtualMachine.numberCPUs");
  change = parse (cpus == 1 ? "{\"virtualMachine\": {\"numberCPUs\": 2}}"
                            : "{\"virtualMachine\": {\"numberCPUs\": 1}}");

  /* Stopped: nothing waits for a restart. */
  proposal = berth_manager_propose_settings (f->manager, change, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_object_get_size (json_node_get_object (proposal)), ==, 0);
  g_clear_pointer (&proposal, json_node_unref);

  start_and_wait (f);
  proposal = berth_manager_propose_settings (f->manager, change, &error);
  g_assert_no_error (error);
  entry = json_object_get_object_member (json_node_get_object (proposal),
                                         "virtualMachine.numberCPUs");
  g_assert_nonnull (entry);
  g_assert_cmpint (json_object_get_int_member (entry, "current"), ==, cpus);
  g_assert_cmpstr (json_object_get_string_member (entry, "severity"), ==, "restart");
  /* A proposal changes nothing. */
  g_assert_cmpint (berth_settings_get_int (settings, "virtualMachine.numberCPUs"), ==, cpus);
  g_assert_cmpuint (f->settings_events->len, ==, 0);

  /* A live setting changes without being pending and restarts nothing. */
  live = parse ("{\"images\": {\"showAll\": true}}");
  berth_manager_update_settings (f->manager, live, &pending, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_object_get_size (json_node_get_object (pending)), ==, 0);
  g_assert_false (berth_manager_is_restarting (f->manager));
  g_assert_cmpint (berth_manager_get_state (f->manager), ==, BERTH_STATE_STARTED);
  g_clear_pointer (&pending, json_node_unref);
  g_ptr_array_set_size (f->settings_events, 0);

  /* One that needs a restart is pending, and the VM restarts at once to
   * apply it. */
  berth_manager_update_settings (f->manager, change, &pending, &error);
  g_assert_no_error (error);
  g_assert_true (
      json_object_has_member (json_node_get_object (pending), "virtualMachine.numberCPUs"));
  g_assert_cmpuint (f->settings_events->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (f->settings_events, 0), ==, "virtualMachine.numberCPUs");
  g_assert_true (berth_manager_is_restarting (f->manager));
  g_assert_cmpint (berth_manager_get_state (f->manager), ==, BERTH_STATE_STOPPING);
  wait_for_state (f, BERTH_STATE_STARTED);
  g_assert_false (berth_manager_is_restarting (f->manager));
  /* The VM runs with it: nothing pending. */
  g_clear_pointer (&pending, json_node_unref);
  pending = berth_manager_dup_pending (f->manager);
  g_assert_cmpuint (json_object_get_size (json_node_get_object (pending)), ==, 0);

  /* A stop asked during such a restart wins: the VM stays stopped. */
  {
    g_autoptr (JsonNode) back = parse (cpus == 1 ? "{\"virtualMachine\": {\"numberCPUs\": 1}}"
                                                 : "{\"virtualMachine\": {\"numberCPUs\": 2}}");

    g_clear_pointer (&pending, json_node_unref);
    berth_manager_update_settings (f->manager, back, &pending, &error);
    g_assert_no_error (error);
    g_assert_true (berth_manager_is_restarting (f->manager));
    stop_and_wait (f);
    for (guint i = 0; i < 20; i++)
      g_main_context_iteration (NULL, FALSE);
    g_assert_cmpint (berth_manager_get_state (f->manager), ==, BERTH_STATE_STOPPED);
  }

  /* Bad input changes nothing. */
  {
    g_autoptr (JsonNode) bad = parse ("{\"virtualMachine\": {\"numberCPUs\": 0}}");
    g_autoptr (JsonNode) none = NULL;
    g_autoptr (GError) bad_error = NULL;

    g_assert_false (berth_manager_update_settings (f->manager, bad, &none, &bad_error));
    g_assert_error (bad_error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING);
    g_assert_null (none);
  }
}

static void
test_lock (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  Result r = { 0 };

  load_manager (f, good_plugin_dir ());
  berth_manager_set_locked (f->manager, TRUE);
  g_assert_false (berth_manager_check_start (f->manager, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_BUSY);
  g_assert_nonnull (strstr (error->message, "locked"));
  g_clear_error (&error);
  g_assert_false (berth_manager_check_reset (f->manager, BERTH_RESET_FACTORY, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_BUSY);
  g_clear_error (&error);

  berth_manager_start_async (f->manager, NULL, on_start_done, &r);
  wait_for (&r);
  g_assert_error (r.error, BERTH_ERROR, BERTH_ERROR_BUSY);
  g_assert_cmpint (berth_manager_get_state (f->manager), ==, BERTH_STATE_STOPPED);
  g_assert_cmpuint (f->states->len, ==, 0);
  result_clear (&r);

  berth_manager_set_locked (f->manager, FALSE);
  start_and_wait (f);
  stop_and_wait (f);
}

static void
test_resets (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  Result r = { 0 };

  load_manager (f, good_plugin_dir ());

  /* No Kubernetes provider among the test plugins. */
  g_assert_null (berth_manager_get_kubernetes_provider (f->manager));
  g_assert_false (berth_manager_check_reset (f->manager, BERTH_RESET_KUBERNETES_FAST, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "no Kubernetes provider plugin"));
  g_clear_error (&error);
  berth_manager_reset_async (f->manager, BERTH_RESET_KUBERNETES_WIPE, NULL, on_reset_done, &r);
  wait_for (&r);
  g_assert_error (r.error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED);
  result_clear (&r);

  /* test-good cannot delete its VM: a VM reset says so and leaves it
   * stopped. */
  start_and_wait (f);
  berth_manager_reset_async (f->manager, BERTH_RESET_VM, NULL, on_reset_done, &r);
  /* Busy meanwhile. */
  g_assert_false (berth_manager_check_start (f->manager, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_BUSY);
  g_clear_error (&error);
  wait_for (&r);
  g_assert_false (r.ok);
  g_assert_nonnull (strstr (r.error->message, "Could not delete the VM for the VM reset"));
  g_assert_cmpint (berth_manager_get_state (f->manager), ==, BERTH_STATE_STOPPED);
  result_clear (&r);
  /* And it is not stuck. */
  start_and_wait (f);
  stop_and_wait (f);
}

static void
test_factory_reset (Fixture *f, gconstpointer data)
{
  g_autofree gchar *cached = g_build_filename (f->paths->cache, "download", "x", NULL);
  g_autofree gchar *disk = g_build_filename (f->paths->lima, "0", "diffdisk", NULL);
  g_autofree gchar *log = g_build_filename (f->paths->logs, "berthd.log", NULL);
  g_autofree gchar *credentials = g_build_filename (f->paths->data, "berth-engine.json", NULL);
  g_autofree gchar *stray = g_build_filename (f->paths->config, "stray.json", NULL);
  g_autoptr (JsonNode) change = parse ("{\"images\": {\"namespace\": \"reset-me\"}}");
  g_autoptr (GError) error = NULL;
  g_autofree gchar *default_ns = NULL;
  Result r = { 0 };

  load_manager (f, failstart_plugin_dir ());
  default_ns = g_strdup (
      berth_settings_get_string (berth_manager_get_settings (f->manager), "images.namespace"));
  berth_manager_update_settings (f->manager, change, NULL, &error);
  g_assert_no_error (error);
  for (const gchar *const *p
       = (const gchar *const[]){ cached, disk, log, credentials, stray, NULL };
       *p != NULL; p++)
    {
      g_autofree gchar *dir = g_path_get_dirname (*p);

      g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
      g_assert_true (g_file_set_contents (*p, "x", 1, NULL));
    }

  berth_manager_reset_async (f->manager, BERTH_RESET_FACTORY, NULL, on_reset_done, &r);
  wait_for (&r);
  g_assert_no_error (r.error);
  g_assert_true (r.ok);

  g_assert_false (g_file_test (cached, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (disk, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (stray, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (log, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (credentials, G_FILE_TEST_EXISTS));
  g_assert_cmpstr (
      berth_settings_get_string (berth_manager_get_settings (f->manager), "images.namespace"), ==,
      default_ns);
  g_assert_cmpint (berth_manager_get_state (f->manager), ==, BERTH_STATE_STOPPED);
  result_clear (&r);
}

/* keepSystemImages: the cache stays, the rest goes as in a factory reset. */
static void
test_factory_reset_keep_system_images (Fixture *f, gconstpointer data)
{
  g_autofree gchar *cached = g_build_filename (f->paths->cache, "download", "x", NULL);
  g_autofree gchar *disk = g_build_filename (f->paths->lima, "0", "diffdisk", NULL);
  g_autofree gchar *stray = g_build_filename (f->paths->config, "stray.json", NULL);
  Result r = { 0 };

  load_manager (f, failstart_plugin_dir ());
  for (const gchar *const *p = (const gchar *const[]){ cached, disk, stray, NULL }; *p != NULL; p++)
    {
      g_autofree gchar *dir = g_path_get_dirname (*p);

      g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
      g_assert_true (g_file_set_contents (*p, "x", 1, NULL));
    }

  berth_manager_factory_reset_async (f->manager, TRUE, NULL, on_reset_done, &r);
  wait_for (&r);
  g_assert_no_error (r.error);
  g_assert_true (r.ok);

  g_assert_true (g_file_test (cached, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (disk, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (stray, G_FILE_TEST_EXISTS));
  g_assert_cmpint (berth_manager_get_state (f->manager), ==, BERTH_STATE_STOPPED);
  result_clear (&r);
}

static void
test_plugin_events (Fixture *f, gconstpointer data)
{
  BerthBackend *backend;

  load_manager (f, good_plugin_dir ());
  backend = berth_manager_get_backend (f->manager);

  g_signal_emit_by_name (backend, "port-forwards-changed");
  g_assert_cmpuint (f->plugin_events->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (f->plugin_events, 0), ==,
                   "test-good port-forwards-changed []");

  /* Every capability's signals, not only the backend's. */
  g_signal_emit_by_name (backend, "images-changed");
  g_assert_cmpuint (f->plugin_events->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (f->plugin_events, 1), ==, "test-good images-changed []");

  /* GObject's own signals are not capability signals. */
  g_object_notify (G_OBJECT (backend), "state");
  g_assert_cmpuint (f->plugin_events->len, ==, 2);

  /* Strings that are not UTF-8 still make JSON. */
  g_signal_emit_by_name (backend, "progress", "bad \xff byte", (guint64)1, (guint64)2);
  g_assert_cmpuint (f->plugin_events->len, ==, 3);
  g_assert_true (g_utf8_validate (g_ptr_array_index (f->plugin_events, 2), -1, NULL));

  /* The plugin may outlive the manager: its signals then go nowhere. */
  g_object_ref (backend);
  g_clear_object (&f->manager);
  g_signal_emit_by_name (backend, "port-forwards-changed");
  g_assert_cmpuint (f->plugin_events->len, ==, 3);
  g_object_unref (backend);
}

static JsonObject *
find_check (JsonNode *checks, const gchar *id)
{
  JsonArray *array = json_node_get_array (checks);

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *check = json_array_get_object_element (array, i);

      if (g_str_equal (json_object_get_string_member (check, "id"), id))
        return check;
    }
  g_assert_not_reached ();
}

static void
test_diagnostics (Fixture *f, gconstpointer data)
{
  g_autofree gchar *not_program = g_build_filename (f->root, "not-qemu", NULL);
  const gchar *variable = NULL;
  g_autofree gchar *saved = NULL;

#if defined(__aarch64__)
  variable = "QEMU_SYSTEM_AARCH64";
#else
  variable = "QEMU_SYSTEM_X86_64";
#endif
  saved = g_strdup (g_getenv (variable));
  f->manager = berth_manager_new (f->paths, NULL);

  /* A QEMU named by the environment must be a program. */
  g_assert_true (g_file_set_contents (not_program, "", 0, NULL));
  g_setenv (variable, not_program, TRUE);
  {
    g_autoptr (JsonNode) checks = berth_manager_run_diagnostics (f->manager);
    JsonObject *qemu = find_check (checks, "QEMU_PRESENT");
    JsonObject *backend = find_check (checks, "BACKEND");
    JsonObject *disk = find_check (checks, "FREE_DISK");
    JsonObject *sockets = find_check (checks, "SOCKET_PATH_LENGTH");
    JsonObject *virt = find_check (checks, "VIRTUALIZATION");

    g_assert_false (json_object_get_boolean_member (qemu, "passed"));
    g_assert_nonnull (strstr (json_object_get_string_member (qemu, "description"), variable));
    g_assert_nonnull (strstr (json_object_get_string_member (qemu, "description"), not_program));
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (qemu, "fixes")), ==, 1);
    /* Not loaded: no backend. */
    g_assert_false (json_object_get_boolean_member (backend, "passed"));
    g_assert_nonnull (strstr (json_object_get_string_member (disk, "description"), "free"));
    g_assert_true (json_object_get_boolean_member (sockets, "passed"));
    g_assert_true (json_object_get_boolean_member (virt, "passed"));
    g_assert_false (json_object_get_boolean_member (virt, "mutable"));
  }
  g_setenv (variable, "/bin/true", TRUE);
  {
    g_autoptr (JsonNode) checks = berth_manager_run_diagnostics (f->manager);
    JsonObject *qemu = find_check (checks, "QEMU_PRESENT");

    g_assert_true (json_object_get_boolean_member (qemu, "passed"));
  }
  if (saved != NULL)
    g_setenv (variable, saved, TRUE);
  else
    g_unsetenv (variable);

  /* A data directory so deep that the sockets would not fit. */
  {
    g_autoptr (GString) deep = g_string_new (f->root);
    g_autoptr (BerthPaths) paths = NULL;
    g_autoptr (BerthManager) manager = NULL;
    g_autoptr (JsonNode) checks = NULL;
    JsonObject *sockets;

    while (deep->len < 120)
      g_string_append (deep, "/a-rather-long-directory-name");
    paths = berth_test_paths_under (deep->str);
    manager = berth_manager_new (paths, NULL);
    checks = berth_manager_run_diagnostics (manager);
    sockets = find_check (checks, "SOCKET_PATH_LENGTH");
    g_assert_false (json_object_get_boolean_member (sockets, "passed"));
    g_assert_nonnull (strstr (json_object_get_string_member (sockets, "description"),
                              "the kernel takes at most 107"));
  }
}

int
main (int argc, char **argv)
{
  berth_test_watch_leftovers ();
  g_test_init (&argc, &argv, NULL);

  if (g_getenv ("BERTH_TEST_GOOD_PLUGIN_DIR") == NULL
      || g_getenv ("BERTH_TEST_FAILSTART_PLUGIN_DIR") == NULL)
    {
      g_test_skip ("The test plugin directories are not set: run through meson test");
      return g_test_run ();
    }

#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/manager/backend-choice", test_backend_choice);
  ADD ("/manager/start-stop", test_start_stop);
  ADD ("/manager/stop-during-start", test_stop_during_start);
  ADD ("/manager/start-joins", test_start_joins);
  ADD ("/manager/failed-start", test_failed_start);
  ADD ("/manager/pending", test_pending);
  ADD ("/manager/lock", test_lock);
  ADD ("/manager/resets", test_resets);
  ADD ("/manager/factory-reset", test_factory_reset);
  ADD ("/manager/factory-reset-keep-system-images", test_factory_reset_keep_system_images);
  ADD ("/manager/plugin-events", test_plugin_events);
  ADD ("/manager/diagnostics", test_diagnostics);
#undef ADD

  return g_test_run ();
}
