/* SPDX-License-Identifier: GPL-3.0-or-later */
/* berthctl end to end: the real binary, throwaway XDG directories, and what a
 * person sees on stdout and stderr. */
/* posix_openpt() and its friends, for the terminal tests. */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "berth-test-util.h"

typedef struct
{
  gchar *root;
  gchar **envp;
} Fixture;

typedef struct
{
  gint status;
  gchar *out;
  gchar *err;
} Run;

static void
run_clear (Run *r)
{
  g_free (r->out);
  g_free (r->err);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->root = berth_test_make_root ("berthctl");
  f->envp = g_get_environ ();
  f->envp = g_environ_setenv (f->envp, "HOME", f->root, TRUE);
  f->envp = berth_test_environ_under (f->envp, f->root);
  f->envp = g_environ_unsetenv (f->envp, "XDG_RUNTIME_DIR");
  /* Any free port: tests run side by side. */
  f->envp = g_environ_setenv (f->envp, "BERTH_API_PORT", "0", TRUE);
}

static gchar *
credentials_path (Fixture *f)
{
  return g_build_filename (f->root, "share", "berth", "berth-engine.json", NULL);
}

/* Ends a berthd a test left running: it would outlive the test otherwise. */
static void
stop_leftover_daemon (Fixture *f)
{
  g_autofree gchar *path = credentials_path (f);
  g_autoptr (JsonParser) parser = json_parser_new ();
  gint64 pid;

  if (!json_parser_load_from_file (parser, path, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return;
  pid = json_object_get_int_member_with_default (
      json_node_get_object (json_parser_get_root (parser)), "pid", 0);
  if (pid > 1)
    {
      kill ((pid_t) pid, SIGTERM);
      for (gint i = 0; i < 100 && kill ((pid_t) pid, 0) == 0; i++)
        g_usleep (G_USEC_PER_SEC / 20);
    }
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  stop_leftover_daemon (f);
  berth_test_rm_rf (f->root);
  g_free (f->root);
  g_strfreev (f->envp);
}

static Run
run_argv (Fixture *f, GPtrArray *argv)
{
  Run r = { 0 };

  g_ptr_array_add (argv, NULL);
  r.status = berth_test_spawn (NULL, (const gchar *const *) argv->pdata,
                               (const gchar *const *) f->envp, G_SPAWN_SEARCH_PATH, &r.out, &r.err);
  return r;
}

static Run
berthctl (Fixture *f, const gchar *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  va_list ap;

  g_ptr_array_add (argv, (gpointer) g_getenv ("BERTHCTL"));
  va_start (ap, first);
  for (const gchar *a = first; a != NULL; a = va_arg (ap, const gchar *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  return run_argv (f, argv);
}

/* Another program (docker, tar) in the fixture's environment, on PATH. */
static Run
run_program (Fixture *f, const gchar *program, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  va_list ap;

  g_ptr_array_add (argv, (gpointer) program);
  va_start (ap, program);
  for (const gchar *a = va_arg (ap, const gchar *); a != NULL; a = va_arg (ap, const gchar *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  return run_argv (f, argv);
}

/* Asserts a zero exit, showing the output otherwise. */
static void
assert_ran (Run *r, const gchar *what)
{
  if (r->status != 0)
    g_printerr ("%s exited with %d:\n%s%s\n", what, r->status, r->out, r->err);
  g_assert_cmpint (r->status, ==, 0);
}

static JsonObject *
parse_object (const gchar *text, JsonParser *parser)
{
  g_autoptr (GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_node_get_object (json_parser_get_root (parser));
}

static void
start_daemon (Fixture *f)
{
  Run r = berthctl (f, "start", "--wait", "--wait-timeout", "60", NULL);

  if (r.status != 0)
    g_printerr ("start failed: %s%s", r.out, r.err);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "Berth is running"));
  run_clear (&r);
}

static void
test_version (Fixture *f, gconstpointer data)
{
  Run r = berthctl (f, "version", NULL);
  g_autofree gchar *want = g_strdup_printf ("berthctl %s (plugin ABI", BERTH_VERSION);

  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_str_has_prefix (r.out, want));
  run_clear (&r);
}

static void
test_paths (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree gchar *config = g_build_filename (f->root, "config", "berth", NULL);
  g_autofree gchar *lima = g_build_filename (f->root, "share", "berth", "lima", NULL);
  g_autofree gchar *bin = g_build_filename (f->root, ".local", "bin", NULL);
  Run r = berthctl (f, "paths", "-o", "json", NULL);
  JsonObject *o;

  g_assert_cmpint (r.status, ==, 0);
  o = parse_object (r.out, parser);
  g_assert_cmpstr (json_object_get_string_member (o, "config"), ==, config);
  g_assert_cmpstr (json_object_get_string_member (o, "lima"), ==, lima);
  g_assert_cmpstr (json_object_get_string_member (o, "integration"), ==, bin);
  g_assert_false (json_object_has_member (o, "wslDistro"));
  run_clear (&r);

  r = berthctl (f, "paths", "-o", "yaml", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "\"yaml\" is not a format; use json or text"));
  run_clear (&r);
}

static void
test_list_settings_first_run (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree gchar *file = g_build_filename (f->root, "config", "berth", "settings.json", NULL);
  Run r = berthctl (f, "list-settings", NULL);
  JsonObject *o;

  /* Without berthd there is nothing to ask, and berthctl says how to fix it. */
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "berthd is not running"));
  g_assert_nonnull (strstr (r.err, "berthctl start"));
  run_clear (&r);

  start_daemon (f);
  r = berthctl (f, "list-settings", NULL);
  g_assert_cmpint (r.status, ==, 0);
  o = parse_object (r.out, parser);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (o,
                                                                                 "containerEngine"),
                                                  "name"),
                   ==, "moby");
  g_assert_false (json_object_get_boolean_member (json_object_get_object_member (o, "kubernetes"),
                                                  "enabled"));
  /* First run writes the defaults out. */
  g_assert_true (g_file_test (file, G_FILE_TEST_IS_REGULAR));
  run_clear (&r);
}

static void
test_set (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o, *vm, *k8s;
  Run r;

  start_daemon (f);
  r = berthctl (f, "set", "--wait", "--wait-timeout", "60", "--kubernetes.enabled",
                "--kubernetes.version", "v1.30.1", "--virtual-machine.number-cpus", "1",
                "--container-engine", "containerd", "--kubernetes.options.traefik=false", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, "");
  /* The VM ran: berthd restarts it to apply what needs a restart, and
   * berthctl says so and waits for it. */
  g_assert_nonnull (strstr (r.out, "virtualMachine.numberCPUs: the VM is restarting to apply it"));
  g_assert_nonnull (strstr (r.out, "containerEngine.name: the VM is restarting to apply it"));
  g_assert_nonnull (strstr (r.out, "Berth is running"));
  run_clear (&r);
  r = berthctl (f, "info", "--field", "vmState", NULL);
  g_assert_cmpstr (r.out, ==, "STARTED\n");
  run_clear (&r);
  /* The engine it restarted with answers on its socket: containerd's now. */
  r = berthctl (f, "info", "--field", "engineSocket", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_str_has_suffix (r.out, "/containerd.sock\n"));
  run_clear (&r);

  r = berthctl (f, "list-settings", NULL);
  g_assert_cmpint (r.status, ==, 0);
  o = parse_object (r.out, parser);
  k8s = json_object_get_object_member (o, "kubernetes");
  vm = json_object_get_object_member (o, "virtualMachine");
  g_assert_true (json_object_get_boolean_member (k8s, "enabled"));
  g_assert_cmpstr (json_object_get_string_member (k8s, "version"), ==, "v1.30.1");
  g_assert_false (json_object_get_boolean_member (json_object_get_object_member (k8s, "options"),
                                                  "traefik"));
  g_assert_cmpint (json_object_get_int_member (vm, "numberCPUs"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (o,
                                                                                 "containerEngine"),
                                                  "name"),
                   ==, "containerd");
  run_clear (&r);

  /* rdctl's alias and the = form of a boolean. */
  r = berthctl (f, "set", "--kubernetes-enabled=false", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  r = berthctl (f, "list-settings", NULL);
  o = parse_object (r.out, parser);
  g_assert_false (json_object_get_boolean_member (json_object_get_object_member (o, "kubernetes"),
                                                  "enabled"));
  run_clear (&r);
}

static void
test_set_bad_input (Fixture *f, gconstpointer data)
{
  g_autofree gchar *file = g_build_filename (f->root, "config", "berth", "settings.json", NULL);
  g_autofree gchar *before = NULL;
  g_autofree gchar *after = NULL;
  Run r;

  start_daemon (f);
  g_assert_true (g_file_get_contents (file, &before, NULL, NULL));

  /* A refused value: exit 1, the key, the value, what is allowed; nothing written. */
  r = berthctl (f, "set", "--container-engine.name", "podman", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "containerEngine.name"));
  g_assert_nonnull (strstr (r.err, "podman"));
  g_assert_nonnull (strstr (r.err, "moby"));
  g_assert_nonnull (strstr (r.err, "containerd"));
  run_clear (&r);

  r = berthctl (f, "set", "--virtual-machine.memory-in-gb", "four", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "virtualMachine.memoryInGB"));
  g_assert_nonnull (strstr (r.err, "four"));
  run_clear (&r);

  r = berthctl (f, "set", "--virtual-machine.number-cpus", "4096", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "virtualMachine.numberCPUs"));
  g_assert_nonnull (strstr (r.err, "4096"));
  run_clear (&r);

  r = berthctl (f, "set", "--kubernetes.enabled=maybe", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "kubernetes.enabled"));
  run_clear (&r);

  /* Usage mistakes: exit 2. */
  r = berthctl (f, "set", "--no-such-setting", "1", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "--no-such-setting"));
  run_clear (&r);
  r = berthctl (f, "set", NULL);
  g_assert_cmpint (r.status, ==, 2);
  run_clear (&r);
  r = berthctl (f, "set", "--kubernetes.version", NULL);
  g_assert_cmpint (r.status, ==, 2);
  run_clear (&r);
  r = berthctl (f, "frobnicate", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "unknown command \"frobnicate\""));
  run_clear (&r);

  g_assert_true (g_file_get_contents (file, &after, NULL, NULL));
  g_assert_cmpstr (before, ==, after);
}

static void
test_plugins (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  gboolean saw_good = FALSE, saw_wrong_abi = FALSE;
  JsonArray *array;
  Run r;

  if (g_getenv ("BERTH_PLUGIN_PATH") == NULL)
    {
      g_test_skip ("BERTH_PLUGIN_PATH is not set");
      return;
    }
  start_daemon (f);
  r = berthctl (f, "plugins", "-o", "json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  json_parser_load_from_data (parser, r.out, -1, NULL);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)));
  array = json_node_get_array (json_parser_get_root (parser));
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *p = json_array_get_object_element (array, i);
      const gchar *name = json_object_get_string_member (p, "name");
      if (g_str_equal (name, "test-good"))
        {
          saw_good = TRUE;
          g_assert_cmpstr (json_object_get_string_member (p, "status"), ==, "loaded");
        }
      if (g_str_equal (name, "test-wrongabi"))
        {
          saw_wrong_abi = TRUE;
          g_assert_cmpstr (json_object_get_string_member (p, "status"), ==, "failed");
          g_assert_nonnull (strstr (json_object_get_string_member (p, "reason"), "ABI"));
        }
    }
  g_assert_true (saw_good);
  g_assert_true (saw_wrong_abi);
  run_clear (&r);

  /* The text form names each plugin and says why a broken one did not load. */
  r = berthctl (f, "plugins", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "test-good"));
  g_assert_nonnull (strstr (r.out, "Backend"));
  g_assert_nonnull (strstr (r.out, "berth-test-wrongabi.so"));
  run_clear (&r);
}

static void
test_lifecycle (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree gchar *credentials = credentials_path (f);
  g_autofree gchar *docker_socket
      = g_build_filename (f->root, "share", "berth", "docker.sock", NULL);
  g_autofree gchar *docker_socket_line = g_strconcat (docker_socket, "\n", NULL);
  g_autofree gchar *docker_line = g_strdup_printf (
      "\ndocker             DOCKER_HOST=unix://%s docker COMMAND\n", docker_socket);
  JsonObject *o;
  Run r;

  /* start launches berthd, applies setting flags first, and waits. */
  r = berthctl (f, "start", "--wait", "--virtual-machine.number-cpus", "1", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "Berth is running"));
  run_clear (&r);
  g_assert_true (g_file_test (credentials, G_FILE_TEST_IS_REGULAR));

  r = berthctl (f, "info", "-o", "json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  o = parse_object (r.out, parser);
  g_assert_cmpstr (json_object_get_string_member (o, "vmState"), ==, "STARTED");
  g_assert_cmpstr (json_object_get_string_member (o, "version"), ==, BERTH_VERSION);
  g_assert_cmpint (json_object_get_int_member (o, "numberCPUs"), ==, 1);
  run_clear (&r);

  r = berthctl (f, "info", "--field", "vmState", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.out, ==, "STARTED\n");
  run_clear (&r);
  r = berthctl (f, "info", "--field", "colour", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "no field \"colour\""));
  g_assert_nonnull (strstr (r.err, "vmState"));
  run_clear (&r);
  r = berthctl (f, "info", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "vmState"));
  g_assert_nonnull (strstr (r.out, "STARTED"));
  /* With dockerd running, info says how other tools reach it. */
  g_assert_nonnull (strstr (r.out, docker_line));
  run_clear (&r);
  r = berthctl (f, "info", "--field", "dockerSocket", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.out, ==, docker_socket_line);
  run_clear (&r);

  /* A second start finds the running berthd and does not start another. */
  r = berthctl (f, "start", "--wait", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);

  r = berthctl (f, "stop", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "Berth is stopped"));
  run_clear (&r);
  r = berthctl (f, "info", "--field", "vmState", NULL);
  g_assert_cmpstr (r.out, ==, "STOPPED\n");
  run_clear (&r);
  r = berthctl (f, "info", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_null (strstr (r.out, "dockerSocket"));
  g_assert_null (strstr (r.out, "DOCKER_HOST"));
  run_clear (&r);

  r = berthctl (f, "shutdown", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "berthd has shut down"));
  run_clear (&r);
  g_assert_false (g_file_test (credentials, G_FILE_TEST_EXISTS));

  r = berthctl (f, "info", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "berthd is not running"));
  run_clear (&r);
}

/* vmState once it is @want, polling for at most 10 s; what it last was
 * otherwise. */
static gchar *
wait_vm_state (Fixture *f, const gchar *want)
{
  g_autofree gchar *line = g_strconcat (want, "\n", NULL);
  Run r = { 0 };

  for (guint i = 0; i < 100; i++)
    {
      run_clear (&r);
      r = berthctl (f, "info", "--field", "vmState", NULL);
      if (g_strcmp0 (r.out, line) == 0)
        break;
      g_usleep (G_USEC_PER_SEC / 10);
    }
  g_free (r.err);
  return g_strchomp (r.out);
}

/* Asks the test backend for @fault (see tests/plugins/berth-test-good.c). */
static void
ask_fault (const gchar *faults, const gchar *fault)
{
  g_autoptr (GError) error = NULL;

  g_file_set_contents (faults, fault, -1, &error);
  g_assert_no_error (error);
}

/* The VM crashes: Berth is in ERROR, with the crash as the reason. */
static void
crash_vm (Fixture *f, const gchar *faults)
{
  g_autofree gchar *state = NULL;
  Run r;

  ask_fault (faults, "crash");
  state = wait_vm_state (f, "ERROR");
  g_assert_cmpstr (state, ==, "ERROR");
  r = berthctl (f, "info", "--field", "reason", NULL);
  g_assert_nonnull (strstr (r.out, "pretend VM crashed"));
  run_clear (&r);
}

/* After a crash, start --wait and stop --wait follow the start or stop they
 * asked for to its end, instead of taking the crash's ERROR for its outcome;
 * a new start that fails is reported with its own reason. */
static void
test_wait_after_crash (Fixture *f, gconstpointer data)
{
  g_autofree gchar *faults = g_build_filename (f->root, "faults", NULL);
  g_autofree gchar *state = NULL;
  Run r;

  f->envp = g_environ_setenv (f->envp, "BERTH_TEST_GOOD_FAULTS", faults, TRUE);
  start_daemon (f);

  /* Whether a wait that took the crash's ERROR for the outcome saw it
   * first depended on when berthctl read the stream's first event: a few
   * rounds make such a race show. */
  for (guint round = 0; round < 8; round++)
    {
      crash_vm (f, faults);
      r = berthctl (f, "start", "--wait", "--wait-timeout", "60", NULL);
      assert_ran (&r, "berthctl start --wait after a crash");
      g_assert_nonnull (strstr (r.out, "Berth is running"));
      run_clear (&r);
      r = berthctl (f, "info", "--field", "vmState", NULL);
      g_assert_cmpstr (r.out, ==, "STARTED\n");
      run_clear (&r);
    }

  /* The new start fails: its reason is told, not the crash's. */
  crash_vm (f, faults);
  ask_fault (faults, "fail-start");
  r = berthctl (f, "start", "--wait", "--wait-timeout", "60", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "start failed: "));
  g_assert_nonnull (strstr (r.err, "pretend VM did not boot"));
  g_assert_null (strstr (r.err, "crashed"));
  run_clear (&r);
  g_assert_false (g_file_test (faults, G_FILE_TEST_EXISTS));

  /* Stopping what failed is a stop, not the failure again. */
  r = berthctl (f, "stop", "--wait-timeout", "60", NULL);
  assert_ran (&r, "berthctl stop after a failed start");
  g_assert_nonnull (strstr (r.out, "Berth is stopped"));
  run_clear (&r);

  start_daemon (f);
  crash_vm (f, faults);
  r = berthctl (f, "stop", "--wait-timeout", "60", NULL);
  assert_ran (&r, "berthctl stop after a crash");
  g_assert_nonnull (strstr (r.out, "Berth is stopped"));
  run_clear (&r);
  state = wait_vm_state (f, "STOPPED");
  g_assert_cmpstr (state, ==, "STOPPED");
}

/* set --wait follows the restart it caused: when its start fails, that is
 * said at once, with the start's reason. */
static void
test_set_wait_failed_restart (Fixture *f, gconstpointer data)
{
  g_autofree gchar *faults = g_build_filename (f->root, "faults", NULL);
  Run r;

  f->envp = g_environ_setenv (f->envp, "BERTH_TEST_GOOD_FAULTS", faults, TRUE);
  start_daemon (f);
  ask_fault (faults, "fail-start");
  r = berthctl (f, "set", "--wait", "--wait-timeout", "60", "--virtual-machine.number-cpus", "1",
                NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.out, "the VM is restarting to apply it"));
  g_assert_nonnull (strstr (r.err, "restart failed: "));
  g_assert_nonnull (strstr (r.err, "pretend VM did not boot"));
  run_clear (&r);

  /* And a restart that works is waited for until it runs. */
  r = berthctl (f, "start", "--wait", "--wait-timeout", "60", NULL);
  assert_ran (&r, "berthctl start --wait after a failed restart");
  run_clear (&r);
  r = berthctl (f, "set", "--wait", "--wait-timeout", "60", "--virtual-machine.number-cpus", "2",
                NULL);
  assert_ran (&r, "berthctl set --wait");
  g_assert_nonnull (strstr (r.out, "Berth is running"));
  run_clear (&r);
  r = berthctl (f, "info", "--field", "vmState", NULL);
  g_assert_cmpstr (r.out, ==, "STARTED\n");
  run_clear (&r);
}

static void
test_start_usage (Fixture *f, gconstpointer data)
{
  Run r = berthctl (f, "start", "--wait-timeout", "0", NULL);

  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "--wait-timeout must be a positive number"));
  run_clear (&r);
  r = berthctl (f, "start", "extra", NULL);
  g_assert_cmpint (r.status, ==, 2);
  run_clear (&r);
}

static void
test_api (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree gchar *input = g_build_filename (f->root, "body.json", NULL);
  JsonObject *o;
  Run r;

  start_daemon (f);
  r = berthctl (f, "api", "/v1/settings", NULL);
  g_assert_cmpint (r.status, ==, 0);
  o = parse_object (r.out, parser);
  g_assert_true (json_object_has_member (o, "virtualMachine"));
  run_clear (&r);

  /* rdctl's short form, an explicit method and a body. */
  r = berthctl (f, "api", "settings", "-X", "put", "--body",
                "{\"images\":{\"showAll\":false}}", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  g_assert_true (g_file_set_contents (input, "{\"images\":{\"namespace\":\"default\"}}", -1,
                                      NULL));
  r = berthctl (f, "api", "/v1/settings", "--input", input, NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  r = berthctl (f, "api", "/v1/settings", NULL);
  o = parse_object (r.out, parser);
  o = json_object_get_object_member (o, "images");
  g_assert_false (json_object_get_boolean_member (o, "showAll"));
  g_assert_cmpstr (json_object_get_string_member (o, "namespace"), ==, "default");
  run_clear (&r);

  /* The API's own message comes through. */
  r = berthctl (f, "api", "/v1/settings", "-X", "PUT", "--body", "{\"images\":{\"bogus\":1}}",
                NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "images.bogus"));
  run_clear (&r);
  r = berthctl (f, "api", "/v1/nowhere", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "/v1/nowhere"));
  run_clear (&r);

  r = berthctl (f, "api", NULL);
  g_assert_cmpint (r.status, ==, 2);
  run_clear (&r);
  r = berthctl (f, "api", "/v1/settings", "--body", "{}", "--input", input, NULL);
  g_assert_cmpint (r.status, ==, 2);
  run_clear (&r);
}

static void
test_auth (Fixture *f, gconstpointer data)
{
  Run r;

  start_daemon (f);
  r = berthctl (f, "info", "--password", "not-the-password", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "refused the credentials"));
  run_clear (&r);
  r = berthctl (f, "info", "--user", "someone", NULL);
  g_assert_cmpint (r.status, ==, 1);
  run_clear (&r);
}

static void
test_port_option (Fixture *f, gconstpointer data)
{
  g_autofree gchar *credentials = credentials_path (f);
  g_autofree gchar *password = NULL;
  g_autofree gchar *port_text = NULL;
  g_autofree gchar *want = NULL;
  guint port = 0;
  Run r;

  /* Not a port: a mistake on the command line, said before anything is
   * tried, whatever the credentials file says. */
  for (const gchar *const *p = (const gchar *const[]){ "99999", "0", "-1", "65536", "http", NULL };
       *p != NULL; p++)
    {
      g_autofree gchar *expected
          = g_strdup_printf ("berthctl: --port %s is not a port; use 1 to 65535", *p);
      g_autofree gchar *joined = g_strdup_printf ("--port=%s", *p);

      r = berthctl (f, "info", "--port", *p, NULL);
      g_test_message ("info --port %s: %s", *p, r.err);
      g_assert_cmpint (r.status, ==, 2);
      g_assert_nonnull (strstr (r.err, expected));
      run_clear (&r);
      r = berthctl (f, "images", "ls", joined, NULL);
      g_assert_cmpint (r.status, ==, 2);
      g_assert_nonnull (strstr (r.err, expected));
      run_clear (&r);
    }

  /* A port is used as given, over the credentials file's. */
  start_daemon (f);
  g_assert_true (berth_test_read_credentials (credentials, 0, &port, &password));
  port_text = g_strdup_printf ("%u", port);
  r = berthctl (f, "info", "--port", port_text, "--field", "apiPort", NULL);
  assert_ran (&r, "info --port");
  want = g_strdup_printf ("%u\n", port);
  g_assert_cmpstr (r.out, ==, want);
  run_clear (&r);
  /* Nothing listens on port 1. */
  r = berthctl (f, "info", "--port", "1", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "127.0.0.1:1"));
  run_clear (&r);
}

static void
test_reset_and_diagnostics (Fixture *f, gconstpointer data)
{
  g_autofree gchar *file = g_build_filename (f->root, "config", "berth", "settings.json", NULL);
  g_autofree gchar *text = NULL;
  Run r;

  start_daemon (f);
  r = berthctl (f, "reset", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "exactly one of --k8s, --vm or --factory"));
  run_clear (&r);
  r = berthctl (f, "reset", "--wipe", "--vm", NULL);
  g_assert_cmpint (r.status, ==, 2);
  run_clear (&r);
  r = berthctl (f, "reset", "--vm", "--keep-system-images", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "--keep-system-images goes with --factory"));
  run_clear (&r);

  /* No Kubernetes provider is loaded in this test: said plainly. */
  r = berthctl (f, "reset", "--k8s", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "Kubernetes"));
  run_clear (&r);

  /* A VM reset removes the disk and leaves the VM stopped. */
  r = berthctl (f, "reset", "--vm", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  for (gint i = 0; i < 100; i++)
    {
      r = berthctl (f, "info", "--field", "vmState", NULL);
      if (g_str_equal (r.out, "STOPPED\n"))
        break;
      run_clear (&r);
      g_usleep (G_USEC_PER_SEC / 10);
    }
  g_assert_cmpstr (r.out, ==, "STOPPED\n");
  run_clear (&r);

  r = berthctl (f, "diagnostics", NULL);
  g_assert_nonnull (strstr (r.out, "SOCKET_PATH_LENGTH"));
  g_assert_nonnull (strstr (r.out, "FREE_DISK"));
  g_assert_nonnull (strstr (r.out, "QEMU_PRESENT"));
  g_assert_nonnull (strstr (r.out, "VIRTUALIZATION"));
  {
    /* The same exit status in JSON as in text. */
    gint text_status = r.status;

    run_clear (&r);
    r = berthctl (f, "diagnostics", "-o", "json", NULL);
    g_assert_cmpint (r.status, ==, text_status);
    g_assert_cmpint (r.status, ==, strstr (r.out, "\"passed\" : false") != NULL ? 1 : 0);
  }
  run_clear (&r);

  r = berthctl (f, "set", "--images.show-all=false", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  /* Not on a terminal here: no question asked. It returns once berthd
   * has removed everything and quit. */
  r = berthctl (f, "factory-reset", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.out, ==, "Berth was reset to its first state, and berthd has quit\n");
  run_clear (&r);
  {
    g_autofree gchar *credentials = credentials_path (f);

    g_assert_false (g_file_test (credentials, G_FILE_TEST_EXISTS));
  }
  g_assert_true (g_file_get_contents (file, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "\"showAll\" : true"));
}

/* Rancher Desktop 1.8's settings.json (version 6), with values that fit
 * any host but one. */
static const gchar rancher_desktop_v6[]
    = "{\"version\":6,\"application\":{\"adminAccess\":false,\"debug\":true,"
      "\"pathManagementStrategy\":\"rcfiles\",\"telemetry\":{\"enabled\":false},"
      "\"updater\":{\"enabled\":false},\"autoStart\":false,\"startInBackground\":false,"
      "\"hideNotificationIcon\":false,\"window\":{\"quitOnClose\":false}},"
      "\"containerEngine\":{\"allowedImages\":{\"enabled\":false,\"patterns\":[]},"
      "\"name\":\"moby\"},"
      "\"virtualMachine\":{\"memoryInGB\":1,\"numberCPUs\":4096,\"hostResolver\":true},"
      "\"WSL\":{\"integrations\":{}},"
      "\"kubernetes\":{\"version\":\"1.25.9\",\"port\":6443,\"enabled\":true,"
      "\"options\":{\"traefik\":true,\"flannel\":true},\"ingress\":{\"localhostOnly\":false}},"
      "\"portForwarding\":{\"includeKubernetesServices\":false},"
      "\"images\":{\"showAll\":true,\"namespace\":\"k8s.io\"},"
      "\"diagnostics\":{\"showMuted\":false,\"mutedChecks\":{}},"
      "\"experimental\":{\"virtualMachine\":{\"type\":\"qemu\",\"useRosetta\":false,"
      "\"socketVMNet\":false,\"mount\":{\"type\":\"virtiofs\"},\"networkingTunnel\":false}}}";

static void
test_import_settings (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree gchar *file = g_build_filename (f->root, "config", "berth", "settings.json", NULL);
  g_autofree gchar *rd = g_build_filename (f->root, "rancher-desktop-settings.json", NULL);
  g_autofree gchar *not_json = g_build_filename (f->root, "not.json", NULL);
  g_autofree gchar *a_list = g_build_filename (f->root, "list.json", NULL);
  g_autofree gchar *missing = g_build_filename (f->root, "missing.json", NULL);
  g_autofree gchar *before = NULL;
  g_autofree gchar *after = NULL;
  g_autofree gchar *header = NULL;
  JsonObject *o;
  Run r;

  berth_test_write_file (rd, rancher_desktop_v6, 0644);
  berth_test_write_file (not_json, "{\"version\": 6,", 0644);
  berth_test_write_file (a_list, "[\"version\", 6]", 0644);

  /* Usage mistakes: exit 2. */
  r = berthctl (f, "import-settings", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "import-settings needs one FILE"));
  run_clear (&r);
  r = berthctl (f, "import-settings", rd, rd, NULL);
  g_assert_cmpint (r.status, ==, 2);
  run_clear (&r);
  /* Nothing to import into without berthd. */
  r = berthctl (f, "import-settings", rd, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "berthd is not running"));
  run_clear (&r);

  start_daemon (f);
  g_assert_true (g_file_get_contents (file, &before, NULL, NULL));

  /* Bad input: exit 1, a message naming the file and what is wrong, and
   * the settings as they were. */
  {
    const struct
    {
      const gchar *path;
      const gchar *message;
    } bad[] = {
      { missing, "missing.json" },
      { not_json, "not.json is not valid JSON: line 1, column 15" },
      { a_list, "list.json holds a list, not Rancher Desktop's settings" },
      { file, "settings.json: application.disabledPlugins is a setting of Berth's own" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        r = berthctl (f, "import-settings", bad[i].path, NULL);
        g_test_message ("%s", r.err);
        g_assert_cmpint (r.status, ==, 1);
        g_assert_cmpstr (r.out, ==, "");
        g_assert_nonnull (strstr (r.err, bad[i].message));
        run_clear (&r);
      }
  }
  g_assert_true (g_file_get_contents (file, &after, NULL, NULL));
  g_assert_cmpstr (after, ==, before);

  /* The VM runs: what needs a restart restarts it, and --wait waits. */
  r = berthctl (f, "import-settings", "--wait", "--wait-timeout", "60", rd, NULL);
  assert_ran (&r, "import-settings");
  header = g_strdup_printf ("Imported Rancher Desktop's settings (version 6) from %s\n"
                            "Changed:\n"
                            "  application.debug\n"
                            "  application.pathManagementStrategy\n"
                            "  kubernetes.enabled\n"
                            "  kubernetes.version\n"
                            "  virtualMachine.memoryInGB\n",
                            rd);
  g_assert_true (g_str_has_prefix (r.out, header));
  g_assert_nonnull (strstr (r.out, "kubernetes.version: the VM is restarting to apply it\n"));
  g_assert_nonnull (strstr (r.out, "Not carried over, Berth has no such setting:\n"
                                   "  application.hideNotificationIcon\n"
                                   "  application.window.quitOnClose\n"
                                   "  diagnostics.mutedChecks\n"));
  g_assert_nonnull (strstr (r.out, "  virtualMachine.hostResolver\n"
                                   "Not carried over, Berth does not take the value:\n"
                                   "  experimental.virtualMachine.mount.type "
                                   "(virtualMachine.mount.type: \"virtiofs\" is not allowed"));
  g_assert_nonnull (strstr (r.out, "\n  virtualMachine.numberCPUs: 4096 is "));
  g_assert_true (g_str_has_suffix (r.out, "Berth is running\n"));
  g_assert_cmpstr (r.err, ==, "");
  run_clear (&r);

  r = berthctl (f, "list-settings", NULL);
  o = parse_object (r.out, parser);
  g_assert_cmpstr (
      json_object_get_string_member (json_object_get_object_member (o, "kubernetes"), "version"),
      ==, "v1.25.9");
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (o, "virtualMachine"),
                                               "memoryInGB"),
                   ==, 1);
  run_clear (&r);

  /* Again, from stdin, as JSON: nothing left to change. */
  {
    g_autoptr (GPtrArray) argv = g_ptr_array_new ();
    g_autofree gchar *command
        = g_strdup_printf ("exec \"$BERTHCTL\" import-settings -o json - < '%s'", rd);

    g_ptr_array_add (argv, "sh");
    g_ptr_array_add (argv, "-c");
    g_ptr_array_add (argv, command);
    r = run_argv (f, argv);
  }
  assert_ran (&r, "import-settings -o json -");
  o = parse_object (r.out, parser);
  g_assert_cmpint (json_object_get_int_member (o, "rancherDesktopSettingsVersion"), ==, 6);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "changed")), ==, 0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "droppedSettings")), ==,
                    12);
  g_assert_true (json_object_has_member (json_object_get_object_member (o, "refusedValues"),
                                         "virtualMachine.numberCPUs"));
  run_clear (&r);
}

/* berthd started on Rancher Desktop's settings.json imports it, and info
 * says so. */
static void
test_import_at_start (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree gchar *dir = g_build_filename (f->root, "config", "berth", NULL);
  g_autofree gchar *file = g_build_filename (dir, "settings.json", NULL);
  g_autofree gchar *text = berth_test_read_fixture ("settings", "rd-v4.json", NULL);
  g_autofree gchar *kept = NULL;
  JsonObject *o;
  JsonArray *dropped;
  Run r;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  berth_test_write_file (file, text, 0644);
  start_daemon (f);

  r = berthctl (f, "info", "-o", "json", NULL);
  assert_ran (&r, "info");
  o = parse_object (r.out, parser);
  g_assert_cmpint (json_object_get_int_member (o, "memoryInGB"), ==, 6);
  g_assert_cmpstr (json_object_get_string_member (o, "kubernetesVersion"), ==, "v1.25.4");
  g_assert_cmpint (json_object_get_int_member (o, "rancherDesktopSettingsVersion"), ==, 4);
  dropped = json_object_get_array_member (o, "droppedSettings");
  /* With the image allow-list, which this build does not enforce. */
  g_assert_cmpuint (json_array_get_length (dropped), ==, 8);
  g_assert_cmpstr (json_array_get_string_element (dropped, 0), ==,
                   "containerEngine.imageAllowList.enabled");
  g_assert_cmpstr (json_array_get_string_element (dropped, 7), ==, "kubernetes.hostResolver");
  g_assert_true (
      g_file_get_contents (json_object_get_string_member (o, "importedFrom"), &kept, NULL, NULL));
  g_assert_cmpstr (kept, ==, text);
  run_clear (&r);

  r = berthctl (f, "info", NULL);
  g_assert_nonnull (strstr (r.out, "importedFrom"));
  g_assert_nonnull (strstr (r.out, "\"kubernetes.checkForExistingKimBuilder\""));
  run_clear (&r);
}

static void
test_completion (Fixture *f, gconstpointer data)
{
  Run r = berthctl (f, "completion", "bash", NULL);

  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "complete -F _berthctl berthctl"));
  g_assert_nonnull (strstr (r.out, "--virtual-machine.number-cpus"));
  g_assert_nonnull (strstr (r.out, "factory-reset"));
  g_assert_nonnull (strstr (r.out, "import-settings) COMPREPLY=( $(compgen -f -W"));
  run_clear (&r);
  r = berthctl (f, "completion", "fish", NULL);
  g_assert_cmpint (r.status, ==, 2);
  run_clear (&r);
}

/* A free TCP port on 127.0.0.1, for a container to publish. */
static guint16
free_port (void)
{
  g_autoptr (GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                             G_SOCKET_PROTOCOL_DEFAULT, NULL);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (socket, any, TRUE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* GET / from 127.0.0.1:@port, retried for up to @seconds; the body, or NULL. */
static gchar *
http_get (guint16 port, guint seconds, gdouble *took_out)
{
  gint64 started = g_get_monotonic_time ();
  gint64 deadline = started + (gint64)seconds * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr (GSocketClient) client = g_socket_client_new ();
      g_autoptr (GSocketConnection) connection = NULL;
      g_autofree gchar *request = g_strdup_printf ("GET / HTTP/1.0\r\nHost: 127.0.0.1:%u\r\n\r\n",
                                                   port);
      gchar buffer[4096] = { 0 };
      gsize got = 0;
      const gchar *body;

      g_socket_client_set_timeout (client, 5);
      connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, NULL);
      if (connection != NULL
          && g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                                        request, strlen (request), NULL, NULL, NULL)
          && g_input_stream_read_all (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                                      buffer, sizeof buffer - 1, &got, NULL, NULL)
          && g_str_has_prefix (buffer, "HTTP/1.") && strstr (buffer, " 200 ") != NULL
          && (body = strstr (buffer, "\r\n\r\n")) != NULL)
        {
          if (took_out != NULL)
            *took_out = (g_get_monotonic_time () - started) / (gdouble)G_USEC_PER_SEC;
          return g_strdup (body + 4);
        }
      g_usleep (100 * 1000);
    }
  return NULL;
}

/* A root file system of busybox alone, as a tar: an image with nothing
 * downloaded. */
static gchar *
busybox_rootfs_tar (Fixture *f)
{
  static const gchar *const applets[] = { "sh", "cat", "echo", "ls", "httpd", "sleep", NULL };
  g_autofree gchar *rootfs = g_build_filename (f->root, "rootfs", NULL);
  g_autofree gchar *bin = g_build_filename (rootfs, "bin", NULL);
  g_autofree gchar *busybox = g_build_filename (bin, "busybox", NULL);
  g_autofree gchar *www = g_build_filename (rootfs, "www", NULL);
  g_autofree gchar *contents = NULL;
  gchar *tar = g_build_filename (f->root, "rootfs.tar", NULL);
  gsize length = 0;
  Run r;

  g_assert_true (g_file_get_contents ("/bin/busybox", &contents, &length, NULL));
  g_assert_cmpint (g_mkdir_with_parents (bin, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (www, 0755), ==, 0);
  g_assert_true (g_file_set_contents_full (busybox, contents, (gssize)length,
                                           G_FILE_SET_CONTENTS_NONE, 0755, NULL));
  for (gsize i = 0; applets[i] != NULL; i++)
    {
      g_autofree gchar *link = g_build_filename (bin, applets[i], NULL);

      g_assert_cmpint (symlink ("busybox", link), ==, 0);
    }
  r = run_program (f, "tar", "-C", rootfs, "-cf", tar, ".", NULL);
  assert_ran (&r, "tar");
  run_clear (&r);
  return tar;
}

/* The images berthctl lists, as "repository:tag" lines. */
static gboolean
images_list_has (Fixture *f, const gchar *reference)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree gchar *repository = g_strndup (reference, strrchr (reference, ':') - reference);
  const gchar *tag = strrchr (reference, ':') + 1;
  gboolean found = FALSE;
  JsonArray *images;
  Run r = berthctl (f, "images", "ls", "-o", "json", NULL);

  assert_ran (&r, "berthctl images ls");
  g_assert_true (json_parser_load_from_data (parser, r.out, -1, NULL));
  g_assert_true (JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)));
  images = json_node_get_array (json_parser_get_root (parser));
  for (guint i = 0; i < json_array_get_length (images); i++)
    {
      JsonObject *image = json_array_get_object_element (images, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (image, "repository", ""),
                     repository)
              == 0
          && g_strcmp0 (json_object_get_string_member_with_default (image, "tag", ""), tag) == 0)
        found = TRUE;
    }
  run_clear (&r);
  return found;
}

/* The current docker context, as every supported docker CLI says it:
 * `docker context inspect` without a name shows the current one (20.10,
 * Debian 12's, has no `docker context show`). */
static Run
docker_current_context (Fixture *f)
{
  return run_program (f, "docker", "context", "inspect", "--format", "{{.Name}}", NULL);
}

/* TRUE once the current docker context is @name (the integration applies a
 * setting in the background); gives up after 10 s. */
static gboolean
docker_context_becomes (Fixture *f, const gchar *name)
{
  g_autofree gchar *want = g_strconcat (name, "\n", NULL);

  for (guint i = 0; i < 100; i++)
    {
      Run r = docker_current_context (f);
      gboolean done = r.status == 0 && g_strcmp0 (r.out, want) == 0;

      run_clear (&r);
      if (done)
        return TRUE;
      g_usleep (100 * 1000);
    }
  return FALSE;
}

/* Containers, as a docker user meets them: the docker CLI on the host talks
 * to the guest's dockerd through Berth's socket and context, images are
 * imported, built, listed, tagged and removed, a published port answers on
 * the host, $HOME is seen in a container, and the engine can be switched
 * to containerd and back. */
static void
vm_containers (Fixture *f)
{
  g_autofree gchar *socket = g_build_filename (f->root, "share", "berth", "docker.sock", NULL);
  g_autofree gchar *socket_line = g_strconcat (socket, "\n", NULL);
  g_autofree gchar *tar = NULL;
  g_autofree gchar *context = g_build_filename (f->root, "context", NULL);
  g_autofree gchar *dockerfile = g_build_filename (context, "Dockerfile", NULL);
  g_autofree gchar *page = g_build_filename (context, "index.html", NULL);
  g_autofree gchar *shared = g_build_filename (f->root, "shared", NULL);
  g_autofree gchar *shared_file = g_build_filename (shared, "hello.txt", NULL);
  g_autofree gchar *volume = g_strconcat (shared, ":/x", NULL);
  g_autofree gchar *publish = NULL;
  g_autofree gchar *body = NULL;
  g_autofree gchar *api = NULL;
  guint16 port;
  gdouble took = 0;
  Run r;

  if (g_find_program_in_path ("docker") == NULL)
    {
      g_test_message ("no docker CLI on PATH: scripts/deps.sh installs it");
      g_test_fail ();
      return;
    }

  /* berthctl info says where the engine's socket is, and it is there. */
  r = berthctl (f, "info", "--field", "engineSocket", NULL);
  assert_ran (&r, "berthctl info");
  g_assert_cmpstr (r.out, ==, socket_line);
  run_clear (&r);

  /* Nothing of the engine's own shows up as a guest port: only SSH is
   * forwarded until a container publishes one (containerd's CRI stream
   * server is off under dockerd). */
  {
    g_autoptr (JsonParser) parser = json_parser_new ();
    JsonArray *forwards;

    r = berthctl (f, "info", "--field", "portForwards", NULL);
    assert_ran (&r, "berthctl info --field portForwards");
    g_assert_true (json_parser_load_from_data (parser, r.out, -1, NULL));
    forwards = json_node_get_array (json_parser_get_root (parser));
    if (json_array_get_length (forwards) != 1)
      g_printerr ("forwarded: %s", r.out);
    g_assert_cmpuint (json_array_get_length (forwards), ==, 1);
    g_assert_cmpint (
        json_object_get_int_member (json_array_get_object_element (forwards, 0), "guestPort"), ==,
        22);
    run_clear (&r);
  }

  /* The docker CLI reaches the guest's dockerd: through the berth context
   * that Berth made, as after the README's main command. */
  r = run_program (f, "docker", "--context", "berth", "info", "--format",
                   "{{.OperatingSystem}} {{.Name}}", NULL);
  assert_ran (&r, "docker --context berth info");
  g_assert_nonnull (strstr (r.out, "Debian"));
  run_clear (&r);
  r = run_program (f, "docker", "context", "inspect", "berth", "--format",
                   "{{.Endpoints.docker.Host}}", NULL);
  assert_ran (&r, "docker context inspect");
  g_assert_true (g_str_has_prefix (r.out, "unix://"));
  g_assert_nonnull (strstr (r.out, socket));
  run_clear (&r);
  /* Nobody asked to switch the current context, so it was not switched. */
  r = docker_current_context (f);
  assert_ran (&r, "docker context inspect (the current context)");
  g_assert_cmpstr (r.out, ==, "default\n");
  run_clear (&r);

  /* Asked to, Berth makes it current (the setting applies at once, without
   * a restart), and a plain `docker` reaches the guest; turned off, the
   * previous context is back. */
  r = berthctl (f, "set", "--container-engine.docker-context.make-current", NULL);
  assert_ran (&r, "berthctl set --container-engine.docker-context.make-current");
  g_assert_null (strstr (r.out, "restart"));
  run_clear (&r);
  g_assert_true (docker_context_becomes (f, "berth"));
  r = run_program (f, "docker", "info", "--format", "{{.OperatingSystem}}", NULL);
  assert_ran (&r, "docker info with berth current");
  g_assert_nonnull (strstr (r.out, "Debian"));
  run_clear (&r);
  r = berthctl (f, "set", "--container-engine.docker-context.make-current=false", NULL);
  assert_ran (&r, "berthctl set --container-engine.docker-context.make-current=false");
  run_clear (&r);
  g_assert_true (docker_context_becomes (f, "default"));

  /* A docker config Berth cannot edit is left as it is, and diagnostics
   * say which file and why. */
  {
    g_autofree gchar *docker_config = g_build_filename (f->root, ".docker", "config.json", NULL);
    g_autofree gchar *text = NULL;
    gboolean reported = FALSE;

    g_assert_true (g_file_set_contents (docker_config, "{\"auths\": {", -1, NULL));
    r = berthctl (f, "set", "--container-engine.docker-context.make-current", NULL);
    assert_ran (&r, "berthctl set with a broken docker config");
    run_clear (&r);
    for (guint i = 0; i < 50 && !reported; i++)
      {
        r = berthctl (f, "diagnostics", NULL);
        reported = strstr (r.out, "FAIL INTEGRATION_docker-context") != NULL
                   && strstr (r.out, docker_config) != NULL;
        if (reported)
          g_test_message ("diagnostics: %s", strstr (r.out, "FAIL INTEGRATION_docker-context"));
        run_clear (&r);
        if (!reported)
          g_usleep (100 * 1000);
      }
    g_assert_true (reported);
    g_assert_true (g_file_get_contents (docker_config, &text, NULL, NULL));
    g_assert_cmpstr (text, ==, "{\"auths\": {");
    /* Mended, and the setting off again: all clear. */
    g_assert_true (g_file_set_contents (docker_config, "{}", -1, NULL));
    r = berthctl (f, "set", "--container-engine.docker-context.make-current=false", NULL);
    assert_ran (&r, "berthctl set after mending the docker config");
    run_clear (&r);
    g_assert_true (docker_context_becomes (f, "default"));
  }

  /* An image from a local tar: nothing downloaded. */
  tar = busybox_rootfs_tar (f);
  r = run_program (f, "docker", "--context", "berth", "import", "--change",
                   "CMD [\"/bin/sh\"]", tar, "berth-test/busybox:1", NULL);
  assert_ran (&r, "docker import");
  run_clear (&r);

  /* Built through Berth (berthctl images build → the moby processor). */
  g_assert_cmpint (g_mkdir_with_parents (context, 0755), ==, 0);
  g_assert_true (g_file_set_contents (
      dockerfile,
      "FROM berth-test/busybox:1\n"
      "COPY index.html /www/index.html\n"
      "CMD [\"/bin/httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/www\"]\n",
      -1, NULL));
  g_assert_true (g_file_set_contents (page, "served from the guest\n", -1, NULL));
  r = berthctl (f, "images", "build", "--tag", "berth-test/web:1", context, NULL);
  assert_ran (&r, "berthctl images build");
  run_clear (&r);

  /* Listed by berthctl and by the API. */
  g_assert_true (images_list_has (f, "berth-test/busybox:1"));
  g_assert_true (images_list_has (f, "berth-test/web:1"));
  r = berthctl (f, "api", "/v1/images", NULL);
  assert_ran (&r, "berthctl api /v1/images");
  g_assert_nonnull (strstr (r.out, "berth-test/web"));
  run_clear (&r);

  /* Tagged, then the tag removed. */
  r = berthctl (f, "images", "tag", "berth-test/web:1", "berth-test/web:2", NULL);
  assert_ran (&r, "berthctl images tag");
  run_clear (&r);
  g_assert_true (images_list_has (f, "berth-test/web:2"));
  r = berthctl (f, "images", "rm", "berth-test/web:2", NULL);
  assert_ran (&r, "berthctl images rm");
  run_clear (&r);
  g_assert_false (images_list_has (f, "berth-test/web:2"));
  g_assert_true (images_list_has (f, "berth-test/web:1"));

  /* A published port answers on the host's loopback. */
  port = free_port ();
  publish = g_strdup_printf ("%u:80", port);
  r = run_program (f, "docker", "--context", "berth", "run", "-d", "--name", "web", "-p", publish,
                   "berth-test/web:1", NULL);
  assert_ran (&r, "docker run -p");
  run_clear (&r);
  body = http_get (port, 30, &took);
  g_assert_cmpstr (body, ==, "served from the guest\n");
  g_test_message ("127.0.0.1:%u answered %.2f s after docker run returned", port, took);
  r = berthctl (f, "api", "/v1/backend_state", NULL);
  assert_ran (&r, "berthctl api /v1/backend_state");
  api = g_strdup_printf ("\"hostPort\" : %u", port);
  g_assert_nonnull (strstr (r.out, api));
  run_clear (&r);
  /* Closed in the guest, the forward goes too. */
  r = run_program (f, "docker", "--context", "berth", "rm", "-f", "web", NULL);
  assert_ran (&r, "docker rm -f");
  run_clear (&r);
  {
    gboolean gone = FALSE;

    for (guint i = 0; i < 100 && !gone; i++)
      {
        r = berthctl (f, "api", "/v1/backend_state", NULL);
        gone = strstr (r.out, api) == NULL;
        run_clear (&r);
        if (!gone)
          g_usleep (100 * 1000);
      }
    g_assert_true (gone);
  }

  /* $HOME is in the guest at the same path: a bind mount sees host files. */
  g_assert_cmpint (g_mkdir_with_parents (shared, 0755), ==, 0);
  g_assert_true (g_file_set_contents (shared_file, "from the host's home\n", -1, NULL));
  r = run_program (f, "docker", "--context", "berth", "run", "--rm", "-v", volume,
                   "berth-test/busybox:1", "cat", "/x/hello.txt", NULL);
  assert_ran (&r, "docker run -v $HOME/…");
  g_assert_cmpstr (r.out, ==, "from the host's home\n");
  run_clear (&r);

  /* containerd: the VM restarts with it; its socket replaces docker's, and
   * the docker context, which would lead nowhere, goes. */
  r = berthctl (f, "set", "--container-engine.name", "containerd", "--wait", "--wait-timeout",
                "900", NULL);
  assert_ran (&r, "berthctl set --container-engine.name containerd");
  g_assert_nonnull (strstr (r.out, "restarting"));
  run_clear (&r);
  r = berthctl (f, "info", "--field", "engineSocket", NULL);
  assert_ran (&r, "berthctl info");
  g_assert_true (g_str_has_suffix (r.out, "/containerd.sock\n"));
  run_clear (&r);
  g_assert_false (g_file_test (socket, G_FILE_TEST_EXISTS));
  r = berthctl (f, "shell", "--", "sudo", "ctr", "--address", "/run/containerd/containerd.sock",
                "version", NULL);
  assert_ran (&r, "ctr version in the guest");
  g_assert_nonnull (strstr (r.out, "Server:"));
  run_clear (&r);
  r = run_program (f, "docker", "context", "ls", "--format", "{{.Name}}", NULL);
  assert_ran (&r, "docker context ls");
  g_assert_null (strstr (r.out, "berth"));
  run_clear (&r);

  /* And back: dockerd again, with the images it had. */
  r = berthctl (f, "set", "--container-engine.name", "moby", "--wait", "--wait-timeout", "900",
                NULL);
  assert_ran (&r, "berthctl set --container-engine.name moby");
  run_clear (&r);
  r = run_program (f, "docker", "--context", "berth", "image", "inspect", "--format", "{{.Id}}",
                   "berth-test/web:1", NULL);
  assert_ran (&r, "docker image inspect after switching back");
  g_assert_true (g_str_has_prefix (r.out, "sha256:"));
  run_clear (&r);
}

/* The pid in berthd's credentials file. */
static gint
daemon_pid (Fixture *f)
{
  g_autofree gchar *path = credentials_path (f);
  g_autoptr (JsonParser) parser = json_parser_new ();

  g_assert_true (json_parser_load_from_file (parser, path, NULL));
  return (gint)json_object_get_int_member (json_node_get_object (json_parser_get_root (parser)),
                                           "pid");
}

static gboolean
process_ended (gpointer data)
{
  return !berth_process_is_running (GPOINTER_TO_INT (data));
}

/* berthd killed (kill -9) while the VM runs: the next start never boots a
 * second QEMU on the same disk, and what the engine held is still there. */
static void
vm_berthd_killed (Fixture *f)
{
  g_autofree gchar *diffdisk
      = g_build_filename (f->root, "share", "berth", "lima", "0", "diffdisk", NULL);
  gint berthd = daemon_pid (f);
  Run r;

  g_assert_cmpuint (berth_test_count_processes_with_arg (diffdisk), ==, 1);
  g_assert_cmpint (kill (berthd, SIGKILL), ==, 0);
  g_assert_true (berth_test_iterate_until (process_ended, GINT_TO_POINTER (berthd), 60));

  r = berthctl (f, "start", "--wait", "--wait-timeout", "900", NULL);
  assert_ran (&r, "berthctl start after berthd was killed");
  run_clear (&r);
  g_assert_cmpint (daemon_pid (f), !=, berthd);
  g_assert_cmpuint (berth_test_count_processes_with_arg (diffdisk), ==, 1);
  r = run_program (f, "docker", "--context", "berth", "image", "inspect", "--format", "{{.Id}}",
                   "berth-test/web:1", NULL);
  assert_ran (&r, "docker image inspect after berthd was killed");
  g_assert_true (g_str_has_prefix (r.out, "sha256:"));
  run_clear (&r);
}

/* The real VM, through berthd and the lima plugin, as a person uses it. */
static void
test_vm_shell (Fixture *f, gconstpointer data)
{
  g_autofree gchar *cache = g_build_filename (f->root, "cache", "berth", NULL);
  g_autofree gchar *images = g_build_filename (cache, "images", NULL);
  const gchar *shared = g_getenv ("BERTH_TEST_IMAGE_CACHE");
  Run r;

  /* The guest image is built once per build tree and shared. */
  g_assert_nonnull (shared);
  g_assert_cmpint (g_mkdir_with_parents (shared, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (cache, 0700), ==, 0);
  g_assert_cmpint (symlink (shared, images), ==, 0);
  f->envp = g_environ_setenv (f->envp, "BERTH_PLUGIN_PATH",
                             g_getenv ("BERTH_TEST_VM_PLUGIN_PATH"), TRUE);
  /* The docker CLI reads the context Berth writes under this $HOME. */
  f->envp = g_environ_unsetenv (f->envp, "DOCKER_CONFIG");
  f->envp = g_environ_unsetenv (f->envp, "DOCKER_HOST");
  f->envp = g_environ_unsetenv (f->envp, "DOCKER_CONTEXT");

  r = berthctl (f, "start", "--wait", "--wait-timeout", "1500", NULL);
  if (r.status != 0)
    g_printerr ("%s%s", r.out, r.err);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "Berth is running"));
  run_clear (&r);

  /* info and diagnostics say which acceleration the VM uses. */
  r = berthctl (f, "info", "--field", "accel", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_str_equal (r.out, "tcg\n") || g_str_equal (r.out, "kvm\n"));
  run_clear (&r);

  r = berthctl (f, "shell", "uname", "-a", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_str_has_prefix (r.out, "Linux "));
  run_clear (&r);

  /* Arguments arrive as given, and the guest command's status comes back. */
  r = berthctl (f, "shell", "--", "sh", "-c", "printf '%s|' \"$@\"; exit 7", "sh", "a b", "*",
                NULL);
  g_assert_cmpint (r.status, ==, 7);
  g_assert_cmpstr (r.out, ==, "a b|*|");
  run_clear (&r);

  vm_containers (f);
  vm_berthd_killed (f);

  r = berthctl (f, "shutdown", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
}

/* ---- settings Berth does not act on ----------------------------------- */

/* Refused by name and reason, marked by list-settings, described by the
 * API; nothing changes. */
static void
test_unsupported_settings (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree gchar *file = g_build_filename (f->root, "config", "berth", "settings.json", NULL);
  g_autofree gchar *before = NULL;
  g_autofree gchar *after = NULL;
  JsonNode *root;
  gboolean found = FALSE;
  Run r;

  start_daemon (f);
  g_assert_true (g_file_get_contents (file, &before, NULL, NULL));
  r = berthctl (f, "set", "--application.telemetry.enabled", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "application.telemetry.enabled: true is not supported on this "
                                   "platform or build (Berth sends no telemetry); only false is "
                                   "accepted"));
  run_clear (&r);
  r = berthctl (f, "set", "--container-engine.allowed-images.enabled", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "cannot enforce an image allow-list"));
  run_clear (&r);
  g_assert_true (g_file_get_contents (file, &after, NULL, NULL));
  g_assert_cmpstr (after, ==, before);

  /* The JSON on stdout is the settings alone; the marks go to stderr. */
  r = berthctl (f, "list-settings", NULL);
  assert_ran (&r, "list-settings");
  parse_object (r.out, parser);
  g_assert_nonnull (strstr (r.err, "Not supported on this platform or build"));
  g_assert_nonnull (
      strstr (r.err, "  application.telemetry.enabled = false: Berth sends no telemetry\n"));
  g_assert_nonnull (strstr (r.err, "  containerEngine.allowedImages.enabled = false: "));
  g_assert_nonnull (strstr (r.err, "  application.startInBackground = false: "));
  g_assert_null (strstr (r.err, "application.debug"));
  run_clear (&r);

  r = berthctl (f, "api", "/v1/settings/description", NULL);
  assert_ran (&r, "api /v1/settings/description");
  g_assert_true (json_parser_load_from_data (parser, r.out, -1, NULL));
  root = json_parser_get_root (parser);
  for (guint i = 0; i < json_array_get_length (json_node_get_array (root)); i++)
    {
      JsonObject *entry = json_array_get_object_element (json_node_get_array (root), i);

      if (!g_str_equal (json_object_get_string_member (entry, "key"),
                        "application.telemetry.enabled"))
        continue;
      found = TRUE;
      g_assert_false (json_object_get_boolean_member (entry, "supported"));
      g_assert_cmpstr (json_object_get_string_member (entry, "unsupportedReason"), ==,
                       "Berth sends no telemetry");
    }
  g_assert_true (found);
  run_clear (&r);
}

static guint
count_occurrences (const gchar *text, const gchar *needle)
{
  guint n = 0;

  for (const gchar *p = strstr (text, needle); p != NULL; p = strstr (p + 1, needle))
    n++;
  return n;
}

static gboolean
log_has_debug_line (gpointer data)
{
  const gchar *path = data;
  g_autofree gchar *text = NULL;

  return g_file_get_contents (path, &text, NULL, NULL) && strstr (text, " DEBUG berthd[") != NULL
         && strstr (text, "settings-changed for images.namespace") != NULL;
}

/* application.debug puts berthd's debug messages in its log at once, and
 * turned off, stops them. */
static void
test_debug_setting (Fixture *f, gconstpointer data)
{
  g_autofree gchar *log = g_build_filename (f->root, "state", "berth", "logs", "berthd.log", NULL);
  g_autofree gchar *text = NULL;
  Run r;

  start_daemon (f);
  r = berthctl (f, "set", "--images.namespace", "quiet", NULL);
  assert_ran (&r, "set");
  run_clear (&r);
  r = berthctl (f, "set", "--application.debug", NULL);
  assert_ran (&r, "set");
  run_clear (&r);
  r = berthctl (f, "set", "--images.namespace", "loud", NULL);
  assert_ran (&r, "set");
  run_clear (&r);
  g_assert_true (berth_test_iterate_until (log_has_debug_line, log, 30));
  r = berthctl (f, "set", "--application.debug=false", NULL);
  assert_ran (&r, "set");
  run_clear (&r);
  r = berthctl (f, "set", "--images.namespace", "quiet-again", NULL);
  assert_ran (&r, "set");
  run_clear (&r);
  /* berthd logs before it answers: what it logged is there. Only the
   * change made while debug was on left a debug line. */
  g_assert_true (g_file_get_contents (log, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "Debug messages logged (application.debug)"));
  g_assert_nonnull (strstr (text, "Debug messages no longer logged (application.debug)"));
  g_assert_cmpuint (count_occurrences (text, "settings-changed for images.namespace"), ==, 1);
  g_assert_cmpuint (count_occurrences (text, "settings-changed for application.debug"), ==, 1);
}

/* ---- on a terminal --------------------------------------------------------- */

/* Reads from the terminal's master side into @out until @needle shows (or,
 * with NULL, until the other side is closed), for at most 30 s. */
static gboolean
read_terminal (gint master, GString *out, const gchar *needle)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  while (needle == NULL || strstr (out->str, needle) == NULL)
    {
      struct pollfd pfd = { master, POLLIN, 0 };
      gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
      gchar buf[512];
      ssize_t n;

      if (left <= 0 || poll (&pfd, 1, (gint)left) <= 0)
        return FALSE;
      n = read (master, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) /* EIO: the last program on the terminal has gone */
        return needle == NULL;
      g_string_append_len (out, buf, n);
    }
  return TRUE;
}

/* Runs berthctl with a terminal as stdin, stdout and stderr; answers
 * @answer when @prompt shows. */
static Run
berthctl_on_terminal (Fixture *f, const gchar *prompt, const gchar *answer,
                      const gchar *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GString) out = g_string_new (NULL);
  Run r = { 0 };
  gint master = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
  const gchar *slave;
  gint status = 0;
  pid_t pid;

  g_assert_cmpint (master, >=, 0);
  g_assert_cmpint (grantpt (master), ==, 0);
  g_assert_cmpint (unlockpt (master), ==, 0);
  slave = ptsname (master);
  g_assert_nonnull (slave);
  g_ptr_array_add (argv, (gpointer) g_getenv ("BERTHCTL"));
  for (gsize i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      gint fd;

      setsid ();
      fd = open (slave, O_RDWR);
      if (fd < 0)
        _exit (127);
      dup2 (fd, 0);
      dup2 (fd, 1);
      dup2 (fd, 2);
      execve (argv->pdata[0], (gchar **) argv->pdata, f->envp);
      _exit (127);
    }
  if (!read_terminal (master, out, prompt))
    g_error ("berthctl did not ask \"%s\" on the terminal; it wrote \"%s\"", prompt, out->str);
  g_assert_cmpint (write (master, answer, strlen (answer)), ==, (gssize) strlen (answer));
  read_terminal (master, out, NULL);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  close (master);
  g_assert_true (WIFEXITED (status));
  r.status = WEXITSTATUS (status);
  r.out = g_string_free (g_steal_pointer (&out), FALSE);
  r.err = g_strdup ("");
  return r;
}

/* What cannot be undone is asked first on a terminal; "no" keeps it all,
 * "yes" goes on, and --yes does not ask. */
static void
test_confirmation (Fixture *f, gconstpointer data)
{
  g_autofree gchar *credentials = credentials_path (f);
  Run r;

  r = berthctl_on_terminal (f, "Continue? [y/N] ", "n\n",
                            (const gchar *const[]){ "factory-reset", NULL });
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.out, "removes the VM"));
  g_assert_nonnull (strstr (r.out, "nothing was reset"));
  run_clear (&r);

  start_daemon (f);
  r = berthctl_on_terminal (f, "Continue? [y/N] ", "\n",
                            (const gchar *const[]){ "reset", "--vm", NULL });
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.out, "nothing was reset"));
  run_clear (&r);
  r = berthctl_on_terminal (f, "Continue? [y/N] ", "yes\n",
                            (const gchar *const[]){ "reset", "--vm", NULL });
  g_assert_cmpint (r.status, ==, 0);
  g_assert_null (strstr (r.out, "nothing was reset"));
  run_clear (&r);
  r = berthctl_on_terminal (f, NULL, "",
                            (const gchar *const[]){ "factory-reset", "--yes", NULL });
  g_assert_cmpint (r.status, ==, 0);
  g_assert_null (strstr (r.out, "Continue?"));
  g_assert_nonnull (strstr (r.out, "berthd has quit"));
  run_clear (&r);
  g_assert_false (g_file_test (credentials, G_FILE_TEST_EXISTS));
}

/* Each command's help names it as it is typed. */
static void
test_help_usage (Fixture *f, gconstpointer data)
{
  const gchar *commands[] = { "start", "reset", "logs", "images ls", "shell", "info", NULL };

  for (gsize i = 0; commands[i] != NULL; i++)
    {
      g_autofree gchar *want = g_strdup_printf ("Usage:\n  berthctl %s [OPTION", commands[i]);
      g_auto (GStrv) words = g_strsplit (commands[i], " ", -1);
      Run r = words[1] != NULL ? berthctl (f, words[0], words[1], "--help", NULL)
                               : berthctl (f, words[0], "--help", NULL);

      g_assert_cmpint (r.status, ==, 0);
      if (!g_str_has_prefix (r.out, want))
        g_error ("berthctl %s --help begins \"%.60s\", not \"%s\"", commands[i], r.out, want);
      run_clear (&r);
    }
}

/* ---- logs ---------------------------------------------------------------- */

static gchar *
logs_dir (Fixture *f)
{
  return g_build_filename (f->root, "state", "berth", "logs", NULL);
}

/* berthctl logs -f, running, with what it printed so far. */
typedef struct
{
  GSubprocess *process;
  GString *out;
  gchar buffer[4096];
  gboolean done;
} Follower;

static void
follower_read (Follower *follower);

static void
on_follower_read (GObject *source, GAsyncResult *result, gpointer data)
{
  Follower *follower = data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, NULL);

  if (n <= 0)
    {
      follower->done = TRUE;
      return;
    }
  g_string_append_len (follower->out, follower->buffer, n);
  follower_read (follower);
}

static void
follower_read (Follower *follower)
{
  g_input_stream_read_async (g_subprocess_get_stdout_pipe (follower->process), follower->buffer,
                             sizeof follower->buffer, G_PRIORITY_DEFAULT, NULL, on_follower_read,
                             follower);
}

typedef struct
{
  Follower *follower;
  const gchar *needle;
} FollowerWait;

static gboolean
follower_printed (gpointer data)
{
  FollowerWait *wait = data;

  return strstr (wait->follower->out->str, wait->needle) != NULL || wait->follower->done;
}

static void
assert_follower_prints (Follower *follower, const gchar *needle)
{
  FollowerWait wait = { follower, needle };

  berth_test_iterate_until (follower_printed, &wait, 30);
  if (strstr (follower->out->str, needle) == NULL)
    g_error ("berthctl logs -f printed \"%s\", not \"%s\"", follower->out->str, needle);
}

/* The logs are listed, printed and followed across a rotation, without a
 * berthd; an unknown one is named with the known ones. */
static void
test_logs (Fixture *f, gconstpointer data)
{
  g_autofree gchar *dir = logs_dir (f);
  g_autofree gchar *lima_log = g_build_filename (dir, "lima.log", NULL);
  g_autofree gchar *lima_rotated = g_build_filename (dir, "lima.log.1", NULL);
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  Follower follower = { 0 };
  Run r = berthctl (f, "logs", NULL);

  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "No logs yet in"));
  run_clear (&r);

  start_daemon (f);
  r = berthctl (f, "logs", "berthd", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "starting (pid"));
  run_clear (&r);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  berth_test_write_file (lima_log, "first line\n", 0600);
  r = berthctl (f, "logs", "-o", "json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  {
    JsonObject *o = parse_object (r.out, parser);
    JsonArray *components = json_object_get_array_member (o, "components");

    g_assert_cmpstr (json_object_get_string_member (o, "directory"), ==, dir);
    g_assert_cmpuint (json_array_get_length (components), >=, 2);
    g_assert_cmpstr (json_array_get_string_element (components, 0), ==, "berthd");
  }
  run_clear (&r);

  r = berthctl (f, "logs", "nonesuch", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "There is no log of \"nonesuch\""));
  g_assert_nonnull (strstr (r.err, "berthd, "));
  g_assert_nonnull (strstr (r.err, "lima"));
  run_clear (&r);
  r = berthctl (f, "logs", "../settings", NULL);
  g_assert_cmpint (r.status, ==, 1);
  run_clear (&r);
  r = berthctl (f, "logs", "--follow", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "--follow needs a COMPONENT"));
  run_clear (&r);

  /* Follow: what is appended, then the new file after a rotation. */
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_environ (launcher, f->envp);
  g_subprocess_launcher_set_child_setup (launcher, berth_test_die_with_parent, NULL, NULL);
  follower.out = g_string_new (NULL);
  follower.process = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("BERTHCTL"), "logs",
                                                  "-f", "lima", NULL);
  g_assert_no_error (error);
  follower_read (&follower);
  assert_follower_prints (&follower, "first line\n");
  {
    g_autoptr (GFile) file = g_file_new_for_path (lima_log);
    g_autoptr (GFileOutputStream) out = g_file_append_to (file, G_FILE_CREATE_NONE, NULL, &error);

    g_assert_no_error (error);
    g_output_stream_write_all (G_OUTPUT_STREAM (out), "appended\n", 9, NULL, NULL, &error);
    g_assert_no_error (error);
  }
  assert_follower_prints (&follower, "first line\nappended\n");
  g_assert_cmpint (g_rename (lima_log, lima_rotated), ==, 0);
  berth_test_write_file (lima_log, "after rotation\n", 0600);
  assert_follower_prints (&follower, "appended\nafter rotation\n");
  g_subprocess_force_exit (follower.process);
  g_subprocess_wait (follower.process, NULL, NULL);
  g_clear_object (&follower.process);
  g_string_free (follower.out, TRUE);
}

/* berthd started by systemd logs to the journal; berthctl logs berthd
 * then reads the journal. (journalctl here is a fake that prints how it
 * was called: the container has no systemd.) */
static void
test_logs_journal (Fixture *f, gconstpointer data)
{
  g_autofree gchar *dir = logs_dir (f);
  g_autofree gchar *log = g_build_filename (dir, "berthd.log", NULL);
  g_autofree gchar *bin = g_build_filename (f->root, "bin", NULL);
  g_autofree gchar *journalctl = g_build_filename (bin, "journalctl", NULL);
  g_autofree gchar *path = g_strconcat (bin, ":", g_getenv ("PATH"), NULL);
  Run r;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (bin, 0700), ==, 0);
  berth_test_write_file (journalctl, "#!/bin/sh\necho \"fake journalctl (a test stand-in): $*\"\n",
                         0755);
  berth_test_write_file (log,
                         "2026-12-02T10:00:00Z MESSAGE berthd[1]: Berth: logging to the systemd "
                         "journal; read it with journalctl --user -u berthd.service\n",
                         0600);
  f->envp = g_environ_setenv (f->envp, "PATH", path, TRUE);
  r = berthctl (f, "logs", "-f", "berthd", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.out, ==,
                   "fake journalctl (a test stand-in): --user --unit berthd.service --no-pager "
                   "--follow\n");
  run_clear (&r);
}

int
main (int argc, char **argv)
{
  berth_test_watch_leftovers ();
  g_test_init (&argc, &argv, NULL);
  g_assert_nonnull (g_getenv ("BERTHCTL"));
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  if (g_getenv ("BERTH_TEST_LIMA_DIR") != NULL)
    {
      ADD ("/berthctl/vm/shell", test_vm_shell);
      return g_test_run ();
    }
  ADD ("/berthctl/version", test_version);
  ADD ("/berthctl/paths", test_paths);
  ADD ("/berthctl/list-settings/first-run", test_list_settings_first_run);
  ADD ("/berthctl/settings/unsupported", test_unsupported_settings);
  ADD ("/berthctl/settings/debug", test_debug_setting);
  ADD ("/berthctl/set", test_set);
  ADD ("/berthctl/set/bad-input", test_set_bad_input);
  ADD ("/berthctl/import-settings", test_import_settings);
  ADD ("/berthctl/import-settings/at-start", test_import_at_start);
  ADD ("/berthctl/plugins", test_plugins);
  ADD ("/berthctl/lifecycle", test_lifecycle);
  ADD ("/berthctl/start/usage", test_start_usage);
  ADD ("/berthctl/wait/after-crash", test_wait_after_crash);
  ADD ("/berthctl/wait/failed-restart", test_set_wait_failed_restart);
  ADD ("/berthctl/api", test_api);
  ADD ("/berthctl/auth", test_auth);
  ADD ("/berthctl/port-option", test_port_option);
  ADD ("/berthctl/reset-and-diagnostics", test_reset_and_diagnostics);
  ADD ("/berthctl/completion", test_completion);
  ADD ("/berthctl/logs", test_logs);
  ADD ("/berthctl/confirmation", test_confirmation);
  ADD ("/berthctl/help-usage", test_help_usage);
  ADD ("/berthctl/logs/journal", test_logs_journal);
  return g_test_run ();
}
