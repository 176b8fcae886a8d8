/* berthctl end to end: the real binary, throwaway XDG directories, and what a
 * person sees on stdout and stderr. */
#include "config.h"

#include <sys/wait.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

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
  g_autoptr (GError) error = NULL;
  g_autofree gchar *config = NULL;
  g_autofree gchar *share = NULL;
  g_autofree gchar *cache = NULL;

  f->root = g_dir_make_tmp ("berthctl-XXXXXX", &error);
  g_assert_no_error (error);
  config = g_build_filename (f->root, "config", NULL);
  share = g_build_filename (f->root, "share", NULL);
  cache = g_build_filename (f->root, "cache", NULL);
  f->envp = g_get_environ ();
  f->envp = g_environ_setenv (f->envp, "HOME", f->root, TRUE);
  f->envp = g_environ_setenv (f->envp, "XDG_CONFIG_HOME", config, TRUE);
  f->envp = g_environ_setenv (f->envp, "XDG_DATA_HOME", share, TRUE);
  f->envp = g_environ_setenv (f->envp, "XDG_CACHE_HOME", cache, TRUE);
  f->envp = g_environ_unsetenv (f->envp, "XDG_RUNTIME_DIR");
}

static gboolean
rm_rf (const gchar *path)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GFileEnumerator) e = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                                             G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS,
                                                             NULL, NULL);
  if (e != NULL)
    {
      GFileInfo *info;
      while ((info = g_file_enumerator_next_file (e, NULL, NULL)) != NULL)
        {
          g_autofree gchar *child = g_build_filename (path, g_file_info_get_name (info), NULL);
          rm_rf (child);
          g_object_unref (info);
        }
    }
  return g_remove (path) == 0;
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  rm_rf (f->root);
  g_free (f->root);
  g_strfreev (f->envp);
}

static Run
berthctl (Fixture *f, const gchar *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  Run r = { 0 };
  gint wait_status = 0;
  va_list ap;

  g_ptr_array_add (argv, (gpointer) g_getenv ("BERTHCTL"));
  va_start (ap, first);
  for (const gchar *a = first; a != NULL; a = va_arg (ap, const gchar *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  g_spawn_sync (NULL, (gchar **) argv->pdata, f->envp, G_SPAWN_DEFAULT, NULL, NULL, &r.out, &r.err,
                &wait_status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait_status));
  r.status = WEXITSTATUS (wait_status);
  return r;
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

  r = berthctl (f, "set", "--kubernetes.enabled", "--kubernetes.version", "v1.30.1",
                "--virtual-machine.number-cpus", "1", "--container-engine", "containerd",
                "--kubernetes.options.traefik=false", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, "");
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

  r = berthctl (f, "list-settings", NULL);
  run_clear (&r);
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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_nonnull (g_getenv ("BERTHCTL"));
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/berthctl/version", test_version);
  ADD ("/berthctl/paths", test_paths);
  ADD ("/berthctl/list-settings/first-run", test_list_settings_first_run);
  ADD ("/berthctl/set", test_set);
  ADD ("/berthctl/set/bad-input", test_set_bad_input);
  ADD ("/berthctl/plugins", test_plugins);
  return g_test_run ();
}
