/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Tests of plugins/lima's file-making half: configuration, lima.yaml,
 * cidata.iso, instance paths, names and the SSH identity. */

#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <glib/gstdio.h>
#include <yaml.h>

#include "berth-error.h"
#include "berth-lima-cidata.h"
#include "berth-lima-config.h"
#include "berth-lima-instance.h"
#include "berth-lima-yaml.h"
#include "berth-settings.h"

#include "berth-test-util.h"

#define GIB ((guint64)1 << 30)
#define TEST_KEY                                                                                   \
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBerthTestKeyOnlyForTestsXXXXXXXXXXXXXXXXX berth"

static gchar *test_root; /* the throwaway directory of this run */
static gchar *test_home; /* $HOME, with a space and a quote in its name */

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

/* A fresh directory under this run's root. */
static gchar *
make_case_dir (void)
{
  static guint counter;
  g_autofree gchar *name = g_strdup_printf ("case-%u", ++counter);
  gchar *path = g_build_filename (test_root, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
  return path;
}

static guint
file_mode (const gchar *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_mode & 07777;
}

/* Whether @text is one well-formed YAML stream (checked with libyaml). */
static gboolean
is_valid_yaml (const gchar *text)
{
  yaml_parser_t parser;
  yaml_event_t event;
  gboolean ok = TRUE;
  gboolean done = FALSE;

  g_assert_true (yaml_parser_initialize (&parser));
  yaml_parser_set_input_string (&parser, (const unsigned char *)text, strlen (text));
  while (ok && !done)
    {
      if (!yaml_parser_parse (&parser, &event))
        ok = FALSE;
      else
        {
          done = event.type == YAML_STREAM_END_EVENT;
          yaml_event_delete (&event);
        }
    }
  yaml_parser_delete (&parser);
  return ok;
}

static BerthLimaConfig *
sample_config (void)
{
  BerthLimaConfig *config = berth_lima_config_new ("default");

  config->cpus = 3;
  config->memory_bytes = 6 * GIB;
  config->disk_bytes = 64 * GIB;
  config->user = g_strdup ("alice");
  config->uid = 1001;
  config->home = g_strdup ("/home/o'brien x.linux");
  config->ssh_public_key = g_strdup (TEST_KEY);
  config->ssh_local_port = 60022;
  berth_lima_config_add_mount (config, "/home/o'brien x", "/home/o'brien x", TRUE, "9p");
  berth_lima_config_add_mount (config, "/srv/data", "/mnt/data", FALSE, "9p");
  berth_lima_config_add_provision (config, "system", "#!/bin/sh\nset -eu\necho one\n");
  berth_lima_config_add_provision (config, "user", "#!/bin/sh\necho as user\n");
  berth_lima_config_add_provision (config, "system", "#!/bin/sh\n# two\n  indented line\n");
  g_hash_table_insert (config->env, g_strdup ("FOO"), g_strdup ("bar baz"));
  g_hash_table_insert (config->env, g_strdup ("A"), g_strdup ("1"));
  g_hash_table_insert (config->env, g_strdup ("FLAG"), g_strdup ("true"));
  return config;
}

/* ------------------------------------------------------------------------ */
/* Configuration                                                            */
/* ------------------------------------------------------------------------ */

static void
test_config_defaults (void)
{
  g_autoptr (BerthLimaConfig) config = berth_lima_config_new ("default");
  g_autoptr (BerthLimaConfig) unnamed = berth_lima_config_new (NULL);

  g_assert_cmpstr (config->name, ==, "default");
  g_assert_cmpstr (unnamed->name, ==, "0");
#if defined(__x86_64__)
  g_assert_cmpstr (config->arch, ==, "x86_64");
#elif defined(__aarch64__)
  g_assert_cmpstr (config->arch, ==, "aarch64");
#endif
  g_assert_cmpuint (config->cpus, ==, 2);
  g_assert_cmpuint (config->memory_bytes, ==, 4 * GIB);
  g_assert_cmpuint (config->disk_bytes, ==, 100 * GIB);
  g_assert_cmpstr (config->container_engine, ==, "moby");
  g_assert_cmpstr (config->accel, ==, "auto");
  g_assert_cmpstr (config->boot_mode, ==, "auto");
  g_assert_cmpuint (config->boot_timeout_seconds, ==, 0);
  g_assert_cmpuint (config->mounts->len, ==, 0);
  g_assert_cmpuint (config->provisions->len, ==, 0);
  g_assert_cmpuint (g_hash_table_size (config->env), ==, 0);
  g_assert_cmpuint (config->ssh_local_port, ==, 0);
}

static BerthSettings *
make_settings (const gchar *json)
{
  g_autofree gchar *dir = make_case_dir ();
  g_autofree gchar *path = g_build_filename (dir, "settings.json", NULL);
  BerthHostInfo host = { 0 };
  BerthSettings *settings;
  g_autoptr (GError) error = NULL;

  host.platform = BERTH_PLATFORM_LINUX;
  host.total_memory_bytes = 16 * GIB;
  host.n_cpus = 8;
  settings = berth_settings_new (path, &host);
  berth_settings_load (settings, &error);
  g_assert_no_error (error);
  if (json != NULL)
    {
      berth_settings_update_from_json (settings, json, NULL, &error);
      g_assert_no_error (error);
    }
  return settings;
}

static void
test_config_from_settings (void)
{
  g_autoptr (BerthSettings) settings = make_settings (
      "{\"virtualMachine\": {\"memoryInGB\": 3, \"numberCPUs\": 5, \"diskSizeGiB\": 40, "
      "\"accel\": \"tcg\", \"mount\": {\"type\": \"reverse-sshfs\"}}, "
      "\"containerEngine\": {\"name\": \"containerd\"}}");
  g_autoptr (BerthLimaConfig) config = NULL;
  g_autoptr (GError) error = NULL;
  const BerthLimaMount *mount;

  config = berth_lima_config_new_from_settings ("0", settings, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (config->name, ==, "0");
  g_assert_cmpuint (config->memory_bytes, ==, 3 * GIB);
  g_assert_cmpuint (config->cpus, ==, 5);
  g_assert_cmpuint (config->disk_bytes, ==, 40 * GIB);
  g_assert_cmpstr (config->accel, ==, "tcg");
  g_assert_cmpstr (config->container_engine, ==, "containerd");

  if (getuid () == 0 || !berth_lima_is_valid_user_name (g_get_user_name ()))
    {
      g_assert_cmpstr (config->user, ==, "berth");
      g_assert_cmpuint (config->uid, ==, 1000);
      g_assert_cmpstr (config->home, ==, "/home/berth.linux");
    }
  else
    {
      g_autofree gchar *home = g_strdup_printf ("/home/%s.linux", g_get_user_name ());

      g_assert_cmpstr (config->user, ==, g_get_user_name ());
      g_assert_cmpuint (config->uid, ==, getuid ());
      g_assert_cmpstr (config->home, ==, home);
    }

  /* The host's home, at the same path, writable, of the settings' type. */
  g_assert_cmpuint (config->mounts->len, ==, 1);
  mount = g_ptr_array_index (config->mounts, 0);
  g_assert_cmpstr (mount->location, ==, test_home);
  g_assert_cmpstr (mount->mount_point, ==, test_home);
  g_assert_true (mount->writable);
  g_assert_cmpstr (mount->type, ==, "reverse-sshfs");
}

static void
test_config_from_settings_defaults (void)
{
  g_autoptr (BerthSettings) settings = make_settings (NULL);
  g_autoptr (BerthLimaConfig) config = NULL;
  g_autoptr (GError) error = NULL;
  const BerthLimaMount *mount;

  config = berth_lima_config_new_from_settings (NULL, settings, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (config->name, ==, "0");
  g_assert_cmpstr (config->container_engine, ==, "moby");
  g_assert_cmpstr (config->accel, ==, "auto");
  g_assert_cmpuint (config->disk_bytes, ==, 100 * GIB);
  mount = g_ptr_array_index (config->mounts, 0);
  g_assert_cmpstr (mount->type, ==, "9p");

  g_clear_pointer (&config, berth_lima_config_free);
  config = berth_lima_config_new_from_settings ("_config", settings, &error);
  g_assert_null (config);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING);
  g_assert_nonnull (strstr (error->message, "\"_config\""));
}

/* ------------------------------------------------------------------------ */
/* lima.yaml                                                                */
/* ------------------------------------------------------------------------ */

static void
assert_same_config (const BerthLimaConfig *a, const BerthLimaConfig *b)
{
  GHashTableIter iter;
  gpointer key, value;

  g_assert_cmpstr (a->name, ==, b->name);
  g_assert_cmpstr (a->arch, ==, b->arch);
  g_assert_cmpuint (a->cpus, ==, b->cpus);
  g_assert_cmpuint (a->memory_bytes, ==, b->memory_bytes);
  g_assert_cmpuint (a->disk_bytes, ==, b->disk_bytes);
  g_assert_cmpstr (a->container_engine, ==, b->container_engine);
  g_assert_cmpstr (a->accel, ==, b->accel);
  g_assert_cmpstr (a->boot_mode, ==, b->boot_mode);
  g_assert_cmpuint (a->boot_timeout_seconds, ==, b->boot_timeout_seconds);
  g_assert_cmpuint (a->ssh_local_port, ==, b->ssh_local_port);
  g_assert_cmpstr (a->user, ==, b->user);
  g_assert_cmpuint (a->uid, ==, b->uid);
  g_assert_cmpstr (a->home, ==, b->home);

  g_assert_cmpuint (a->mounts->len, ==, b->mounts->len);
  for (guint i = 0; i < a->mounts->len; i++)
    {
      const BerthLimaMount *ma = g_ptr_array_index (a->mounts, i);
      const BerthLimaMount *mb = g_ptr_array_index (b->mounts, i);

      g_assert_cmpstr (ma->location, ==, mb->location);
      g_assert_cmpstr (ma->mount_point, ==, mb->mount_point);
      g_assert_cmpint (ma->writable, ==, mb->writable);
      g_assert_cmpstr (ma->type, ==, mb->type);
    }
  g_assert_cmpuint (a->provisions->len, ==, b->provisions->len);
  for (guint i = 0; i < a->provisions->len; i++)
    {
      const BerthLimaProvision *pa = g_ptr_array_index (a->provisions, i);
      const BerthLimaProvision *pb = g_ptr_array_index (b->provisions, i);

      g_assert_cmpstr (pa->mode, ==, pb->mode);
      g_assert_cmpstr (pa->script, ==, pb->script);
    }
  g_assert_cmpuint (g_hash_table_size (a->env), ==, g_hash_table_size (b->env));
  g_hash_table_iter_init (&iter, a->env);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_assert_cmpstr (g_hash_table_lookup (b->env, key), ==, value);
}

static void
test_yaml_round_trip (void)
{
  g_autofree gchar *dir = make_case_dir ();
  g_autofree gchar *instance = g_build_filename (dir, "default", NULL);
  g_autofree gchar *path = g_build_filename (instance, "lima.yaml", NULL);
  g_autoptr (BerthLimaConfig) config = sample_config ();
  g_autoptr (BerthLimaConfig) back = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir (instance, 0700), ==, 0);
  g_free (config->accel);
  config->accel = g_strdup ("kvm");
  g_free (config->boot_mode);
  config->boot_mode = g_strdup ("kernel");
  config->boot_timeout_seconds = 90;
  config->memory_bytes = 1536ULL << 20; /* 1.5 GiB: written in MiB */
  /* Values a careless writer would turn into other types or break. */
  g_hash_table_insert (config->env, g_strdup ("EMPTY"), g_strdup (""));
  g_hash_table_insert (config->env, g_strdup ("NUM"), g_strdup ("0755"));
  g_hash_table_insert (config->env, g_strdup ("COLON"), g_strdup ("a: b # c"));
  g_hash_table_insert (config->env, g_strdup ("UNICODE"), g_strdup ("grüße ☃"));
  g_hash_table_insert (config->env, g_strdup ("NUL_WORD"), g_strdup ("null"));

  berth_lima_yaml_write (path, config, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (file_mode (path), ==, 0644);

  back = berth_lima_yaml_read (path, &error);
  g_assert_no_error (error);
  assert_same_config (config, back);

  /* A second write over the first gives the same text. */
  {
    g_autofree gchar *first = berth_test_read_file (path);
    g_autofree gchar *second = NULL;

    berth_lima_yaml_write (path, back, &error);
    g_assert_no_error (error);
    second = berth_test_read_file (path);
    g_assert_cmpstr (first, ==, second);
  }

  /* containerd round-trips too, and a missing berth.name falls back to the
   * directory's name. */
  g_free (config->container_engine);
  config->container_engine = g_strdup ("containerd");
  berth_lima_yaml_write (path, config, &error);
  g_assert_no_error (error);
  g_clear_pointer (&back, berth_lima_config_free);
  back = berth_lima_yaml_read (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->container_engine, ==, "containerd");

  g_clear_pointer (&back, berth_lima_config_free);
  back = berth_lima_yaml_parse ("cpus: 4\n", 8, "from-dir", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->name, ==, "from-dir");
  g_assert_cmpuint (back->cpus, ==, 4);
  g_assert_cmpuint (back->memory_bytes, ==, 4 * GIB);
}

static void
test_yaml_shape (void)
{
  g_autofree gchar *dir = make_case_dir ();
  g_autofree gchar *path = g_build_filename (dir, "lima.yaml", NULL);
  g_autofree gchar *basedisk_line = g_strdup_printf ("- location: %s/basedisk\n", dir);
  g_autoptr (BerthLimaConfig) config = sample_config ();
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = NULL;

  g_free (config->name);
  config->name = g_strdup ("0");
  berth_lima_yaml_write (path, config, &error);
  g_assert_no_error (error);
  text = berth_test_read_file (path);

  g_assert_true (g_str_has_prefix (text, "# Written by Berth; edits are overwritten on start\n"));
  g_assert_true (is_valid_yaml (text));
  g_assert_nonnull (strstr (text, "\nvmType: qemu\n"));
  g_assert_nonnull (strstr (text, "\ncpus: 3\n"));
  g_assert_nonnull (strstr (text, "\nmemory: 6GiB\n"));
  g_assert_nonnull (strstr (text, "\ndisk: 64GiB\n"));
  g_assert_nonnull (strstr (text, basedisk_line));
  g_assert_nonnull (strstr (text, "\nmountType: 9p\n"));
  g_assert_nonnull (strstr (text, "  writable: true\n  9p:\n"));
  g_assert_nonnull (strstr (text, "  localPort: 60022\n  loadDotSSHPubKeys: false\n"
                                  "  forwardAgent: false\n"));
  g_assert_nonnull (strstr (text, "\ncontainerd:\n  system: false\n  user: false\n"));
  /* Scripts as block scalars, kept line for line. */
  g_assert_nonnull (strstr (text, "- mode: system\n  script: |\n    #!/bin/sh\n    set -eu\n"
                                  "    echo one\n"));
  g_assert_nonnull (strstr (text, "    # two\n      indented line\n"));
  g_assert_nonnull (strstr (text, "  guestPortRange: [1, 65535]\n  hostIP: 127.0.0.1\n"));
  /* Strings that plain YAML would read as numbers or booleans are quoted. */
  g_assert_nonnull (strstr (text, "  FLAG: \"true\"\n"));
  g_assert_nonnull (strstr (text, "  A: \"1\"\n"));
  g_assert_nonnull (strstr (text, "\nberth:\n  name: \"0\"\n"));
  /* No temporary file is left beside it. */
  {
    g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
    guint n = 0;

    while (g_dir_read_name (listing) != NULL)
      n++;
    g_assert_cmpuint (n, ==, 1);
  }
}

static void
test_yaml_sizes (void)
{
  struct
  {
    guint64 bytes;
    const gchar *text;
  } formats[] = {
    { 4 * GIB, "4GiB" }, { 512 << 20, "512MiB" }, { 1536ULL << 20, "1536MiB" },
    { 3 << 10, "3KiB" }, { 1000, "1000" },        { 0, "0" },
  };
  struct
  {
    const gchar *text;
    guint64 bytes;
  } parses[] = {
    { "4GiB", 4 * GIB }, { "4G", 4 * GIB },      { "4gb", 4 * GIB },    { "4 GiB", 4 * GIB },
    { "2048", 2048 },    { "1TiB", 1ULL << 40 }, { "16MiB", 16 << 20 }, { "8b", 8 },
  };
  const gchar *refused[] = { "",
                             "GiB",
                             "4XiB",
                             "-1",
                             "4.5GiB",
                             "4GiBs",
                             " 4",
                             "4 ",
                             "99999999999999999999",
                             "17179869184GiB",
                             NULL };

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_autofree gchar *text = berth_lima_format_size (formats[i].bytes);

      g_assert_cmpstr (text, ==, formats[i].text);
    }
  for (guint i = 0; i < G_N_ELEMENTS (parses); i++)
    {
      guint64 bytes = 0;

      g_assert_true (berth_lima_parse_size (parses[i].text, &bytes));
      g_assert_cmpuint (bytes, ==, parses[i].bytes);
    }
  for (guint i = 0; refused[i] != NULL; i++)
    {
      guint64 bytes = 0;

      if (berth_lima_parse_size (refused[i], &bytes))
        g_error ("size \"%s\" was accepted as %" G_GUINT64_FORMAT, refused[i], bytes);
    }
}

static gchar *
repeat (const gchar *unit, guint times)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < times; i++)
    g_string_append (out, unit);
  return g_string_free (out, FALSE);
}

static void
test_yaml_hostile (void)
{
  g_autofree gchar *huge_value = NULL;
  g_autofree gchar *huge = NULL;
  g_autofree gchar *deep = NULL;
  g_autofree gchar *deep_map = NULL;
  g_autofree gchar *many = NULL;
  struct
  {
    const gchar *yaml;
    gssize length; /* -1: strlen */
    const gchar *expected[3];
  } cases[] = {
    { "cpus: two\n", -1, { "cpus must be a whole number from 1 to 1024", "\"two\"" } },
    { "cpus: \"2\"\n", -1, { "cpus must be a whole number", "\"2\"" } },
    { "cpus: [1]\n", -1, { "cpus must be a whole number", "not a list" } },
    { "cpus: 0\n", -1, { "cpus must be a whole number from 1 to 1024", "\"0\"" } },
    { "cpus: -3\n", -1, { "cpus must be", "\"-3\"" } },
    { "cpus: 99999999999999999999999\n", -1, { "cpus must be" } },
    { "memory: lots\n", -1, { "memory must be a size such as 4GiB", "\"lots\"" } },
    { "memory: {a: 1}\n", -1, { "memory must be a size", "a mapping" } },
    { "disk: 0\n", -1, { "disk must be a size" } },
    { "vmType: vz\n", -1, { "vmType must be one of qemu", "\"vz\"" } },
    { "arch: ../../x\n", -1, { "arch \"../../x\" is not an architecture name" } },
    { "mounts: {}\n", -1, { "mounts must be a list", "a mapping" } },
    { "mounts: [1]\n", -1, { "mounts[0] must be a mapping", "\"1\"" } },
    { "mounts: [{mountPoint: /x}]\n", -1, { "mounts[0].location is missing" } },
    { "mounts: [{location: /x, writable: yes}]\n",
      -1,
      { "mounts[0].writable must be true or false", "\"yes\"" } },
    { "mounts: [{location: [a]}]\n", -1, { "mounts[0].location must be a string" } },
    { "provision: [{mode: root, script: x}]\n",
      -1,
      { "provision[0].mode must be one of system, user", "\"root\"" } },
    { "provision: [{mode: system}]\n", -1, { "provision[0].script is missing" } },
    { "env: [a]\n", -1, { "env must be a mapping", "a list" } },
    { "env: {A: [1]}\n", -1, { "env.A must be a string", "a list" } },
    { "env: {A: \"x\\0y\"}\n", -1, { "env.A holds a NUL character" } },
    { "ssh: {localPort: 70000}\n", -1, { "ssh.localPort must be a whole number from 0 to 65535" } },
    { "ssh: 22\n", -1, { "ssh must be a mapping" } },
    { "user: {name: a, uid: -1}\n", -1, { "user.uid must be a whole number" } },
    { "user: {uid: 5}\n", -1, { "user.name is missing" } },
    { "user: {name: a}\n", -1, { "user.uid is missing" } },
    { "berth: {name: ../etc}\n", -1, { "Instance name \"../etc\" is not allowed" } },
    { "berth: {accel: hvf}\n", -1, { "berth.accel must be one of auto, kvm, tcg", "\"hvf\"" } },
    { "berth: {bootTimeoutSeconds: 1e9}\n", -1, { "berth.bootTimeoutSeconds must be" } },
    { "cpus: 2\ncpus: 3\n", -1, { "cpus is given twice", "line 2" } },
    { "a: &x [1, 2]\nb: *x\n", -1, { "aliases", "not allowed" } },
    { "? [a, b]\n: c\n", -1, { "a mapping key must be a plain value" } },
    { "- just\n- a list\n", -1, { "the document must be a mapping of settings", "a list" } },
    { "scalar\n", -1, { "the document must be a mapping of settings" } },
    { "", -1, { "is empty" } },
    { "cpus: 2\n---\ncpus: 3\n", -1, { "more than one YAML document" } },
    { "cpus: [1, 2\n", -1, { "is not valid YAML", "line" } },
    { "arch: \"\xff\xfe\"\n", -1, { "is not UTF-8 text" } },
    { "arch: x\0y\n", 10, { "is not UTF-8 text" } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (BerthLimaConfig) config = NULL;
      gsize length = cases[i].length < 0 ? strlen (cases[i].yaml) : (gsize)cases[i].length;

      config = berth_lima_yaml_parse (cases[i].yaml, length, "hostile", "hostile.yaml", &error);
      if (config != NULL)
        g_error ("case %u (%s) was accepted", i, cases[i].yaml);
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
      g_assert_true (g_str_has_prefix (error->message, "hostile.yaml"));
      for (guint j = 0; j < G_N_ELEMENTS (cases[i].expected) && cases[i].expected[j] != NULL; j++)
        if (strstr (error->message, cases[i].expected[j]) == NULL)
          g_error ("case %u: \"%s\" not in the message: %s", i, cases[i].expected[j],
                   error->message);
    }

  /* A 2 MiB value, nesting 10 000 deep (and only 17 deep), 200 000 values:
   * refused by the bounds, not by running out of stack or memory. */
  huge_value = g_strnfill (2 * 1024 * 1024, 'a');
  huge = g_strdup_printf ("arch: %s\n", huge_value);
  deep = repeat ("[", 10000);
  deep_map = repeat ("{a: ", 17);
  {
    g_autofree gchar *items = repeat ("1, ", 200000);

    many = g_strconcat ("env: [", items, "1]\n", NULL);
  }
  {
    const gchar *inputs[] = { huge, deep, deep_map, many };
    const gchar *expected[] = { "longer than the 1048576 allowed", "nested deeper than 16",
                                "nested deeper than 16", "more than 100000 values" };

    for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
      {
        g_autoptr (GError) error = NULL;
        g_autoptr (BerthLimaConfig) config = NULL;

        config = berth_lima_yaml_parse (inputs[i], strlen (inputs[i]), "x", NULL, &error);
        g_assert_null (config);
        g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
        if (strstr (error->message, expected[i]) == NULL)
          g_error ("bound %u: \"%s\" not in: %.200s", i, expected[i], error->message);
      }
  }

  /* Files: too large to read whole, and missing. */
  {
    g_autofree gchar *dir = make_case_dir ();
    g_autofree gchar *path = g_build_filename (dir, "lima.yaml", NULL);
    g_autofree gchar *missing = g_build_filename (dir, "none", "lima.yaml", NULL);
    g_autofree gchar *big = g_strnfill (BERTH_LIMA_YAML_MAX_FILE_SIZE + 1, '#');
    g_autoptr (GError) error = NULL;
    g_autoptr (BerthLimaConfig) config = NULL;

    g_assert_true (g_file_set_contents (path, big, -1, NULL));
    config = berth_lima_yaml_read (path, &error);
    g_assert_null (config);
    g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
    g_assert_nonnull (strstr (error->message, "larger than 4194304 bytes"));
    g_clear_error (&error);

    config = berth_lima_yaml_read (missing, &error);
    g_assert_null (config);
    g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
    g_assert_nonnull (strstr (error->message, missing));
  }
}

static void
test_yaml_write_refused (void)
{
  g_autofree gchar *dir = make_case_dir ();
  g_autofree gchar *path = g_build_filename (dir, "lima.yaml", NULL);
  g_autoptr (BerthLimaConfig) config = sample_config ();
  g_autoptr (GError) error = NULL;

  /* Lima has one mountType: mixed types cannot be written. */
  berth_lima_config_add_mount (config, "/opt", "/opt", FALSE, "reverse-sshfs");
  g_assert_false (berth_lima_yaml_write (path, config, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING);
  g_assert_nonnull (strstr (error->message, "reverse-sshfs for /opt"));
  g_assert_nonnull (strstr (error->message, path));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_clear_error (&error);
  g_ptr_array_remove_index (config->mounts, 2);

  /* Bytes that are not UTF-8 are refused, naming the key. */
  g_hash_table_insert (config->env, g_strdup ("BAD"), g_strdup ("\xc3\x28"));
  g_assert_false (berth_lima_yaml_write (path, config, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "key BAD"));
  g_assert_nonnull (strstr (error->message, "not valid UTF-8"));
}

/* ------------------------------------------------------------------------ */
/* cidata.iso                                                               */
/* ------------------------------------------------------------------------ */

typedef struct
{
  gchar *contents;
  guint mode;
  gboolean is_dir;
} IsoEntry;

static void
iso_entry_free (IsoEntry *entry)
{
  g_free (entry->contents);
  g_free (entry);
}

/* The ISO's entries by path, read back with libarchive. */
static GHashTable *
read_iso (const gchar *path)
{
  GHashTable *entries
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)iso_entry_free);
  struct archive *archive = archive_read_new ();
  struct archive_entry *header;
  int r;

  archive_read_support_format_iso9660 (archive);
  g_assert_cmpint (archive_read_open_filename (archive, path, 16384), ==, ARCHIVE_OK);
  while ((r = archive_read_next_header (archive, &header)) == ARCHIVE_OK)
    {
      IsoEntry *entry = g_new0 (IsoEntry, 1);
      g_autofree gchar *name = g_strdup (archive_entry_pathname (header));
      GString *data = g_string_new (NULL);
      gchar buffer[4096];
      la_ssize_t n;

      if (g_str_has_suffix (name, "/"))
        name[strlen (name) - 1] = '\0';
      if (g_str_equal (name, "."))
        {
          /* The root directory itself. */
          g_free (entry);
          g_string_free (data, TRUE);
          continue;
        }
      entry->mode = archive_entry_perm (header);
      entry->is_dir = archive_entry_filetype (header) == AE_IFDIR;
      while ((n = archive_read_data (archive, buffer, sizeof buffer)) > 0)
        g_string_append_len (data, buffer, n);
      g_assert_cmpint (n, ==, 0);
      entry->contents = g_string_free (data, FALSE);
      g_hash_table_insert (entries, g_steal_pointer (&name), entry);
    }
  g_assert_cmpint (r, ==, ARCHIVE_EOF);
  archive_read_free (archive);
  return entries;
}

static const IsoEntry *
iso_file (GHashTable *entries, const gchar *name, guint mode)
{
  const IsoEntry *entry = g_hash_table_lookup (entries, name);

  if (entry == NULL)
    g_error ("cidata.iso has no %s", name);
  g_assert_false (entry->is_dir);
  if (entry->mode != mode)
    g_error ("%s has mode %04o, expected %04o", name, entry->mode, mode);
  return entry;
}

/* What sh makes of a lima.env line's value: the file sourced, the variable
 * printed. */
static gchar *
sourced_value (const gchar *env_path, const gchar *name)
{
  g_autofree gchar *script = g_strdup_printf (
      "while IFS= read -r line; do export \"$line\"; done <\"$1\"; printf '%%s' \"$%s\"", name);
  const gchar *argv[] = { "sh", "-c", script, "sh", env_path, NULL };
  g_autofree gchar *out = NULL;
  g_autoptr (GError) error = NULL;
  gint status = 0;

  g_spawn_sync (NULL, (gchar **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, NULL, &status,
                &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  return g_steal_pointer (&out);
}

static void
test_cidata_contents (void)
{
  g_autofree gchar *dir = make_case_dir ();
  g_autofree gchar *iso = g_build_filename (dir, "cidata.iso", NULL);
  g_autofree gchar *env_path = g_build_filename (dir, "lima.env", NULL);
  g_autoptr (BerthLimaConfig) config = sample_config ();
  g_autoptr (GHashTable) entries = NULL;
  g_autoptr (GError) error = NULL;
  const gchar *boot_sh = "#!/bin/sh\necho boot\n";
  const IsoEntry *entry;
  const gchar *expected_names[] = { "user-data",
                                    "meta-data",
                                    "network-config",
                                    "lima.env",
                                    "ssh_authorized_keys",
                                    "boot.sh",
                                    "etc_environment",
                                    "provision.system",
                                    "provision.system/00000000",
                                    "provision.system/00000001",
                                    "provision.user",
                                    "provision.user/00000000" };

  berth_lima_cidata_write (iso, config, boot_sh, &error);
  g_assert_no_error (error);
  entries = read_iso (iso);

  /* Exactly these files, no more. */
  g_assert_cmpuint (g_hash_table_size (entries), ==, G_N_ELEMENTS (expected_names));
  for (guint i = 0; i < G_N_ELEMENTS (expected_names); i++)
    {
      g_assert_true (g_hash_table_contains (entries, expected_names[i]));
      g_assert_cmpuint (strlen (strrchr (expected_names[i], '/') != NULL
                                    ? strrchr (expected_names[i], '/') + 1
                                    : expected_names[i]),
                        <=, 30);
    }

  entry = iso_file (entries, "boot.sh", 0755);
  g_assert_cmpstr (entry->contents, ==, boot_sh);
  entry = iso_file (entries, "provision.system/00000000", 0755);
  g_assert_cmpstr (entry->contents, ==, "#!/bin/sh\nset -eu\necho one\n");
  entry = iso_file (entries, "provision.system/00000001", 0755);
  g_assert_cmpstr (entry->contents, ==, "#!/bin/sh\n# two\n  indented line\n");
  entry = iso_file (entries, "provision.user/00000000", 0755);
  g_assert_cmpstr (entry->contents, ==, "#!/bin/sh\necho as user\n");
  g_assert_true (((IsoEntry *)g_hash_table_lookup (entries, "provision.system"))->is_dir);

  entry = iso_file (entries, "ssh_authorized_keys", 0644);
  g_assert_cmpstr (entry->contents, ==, TEST_KEY "\n");

  entry = iso_file (entries, "user-data", 0644);
  g_assert_true (g_str_has_prefix (entry->contents, "#cloud-config\n"));
  g_assert_true (is_valid_yaml (entry->contents));
  g_assert_nonnull (strstr (entry->contents, "\nhostname: lima-default\n"));
  g_assert_nonnull (strstr (entry->contents, "\n- name: alice\n  uid: 1001\n"
                                             "  homedir: /home/o'brien x.linux\n"
                                             "  shell: /bin/bash\n"
                                             "  sudo: ALL=(ALL) NOPASSWD:ALL\n"
                                             "  lock_passwd: true\n"
                                             "  ssh-authorized-keys:\n  - " TEST_KEY "\n"));
  g_assert_nonnull (strstr (entry->contents, "00-lima.boot.sh"));

  entry = iso_file (entries, "meta-data", 0644);
  g_assert_true (is_valid_yaml (entry->contents));
  g_assert_true (g_str_has_prefix (entry->contents, "instance-id: default-"));
  g_assert_nonnull (strstr (entry->contents, "\nlocal-hostname: lima-default\n"));

  entry = iso_file (entries, "network-config", 0644);
  g_assert_true (is_valid_yaml (entry->contents));
  g_assert_cmpstr (entry->contents, ==,
                   "version: 2\nethernets:\n  eth0:\n    dhcp4: false\n    addresses:\n"
                   "    - 10.0.2.15/24\n    routes:\n    - to: 0.0.0.0/0\n      via: 10.0.2.2\n"
                   "    nameservers:\n      addresses:\n      - 10.0.2.3\n");

  entry = iso_file (entries, "etc_environment", 0644);
  g_assert_cmpstr (entry->contents, ==, "A=1\nFLAG=true\nFOO=\"bar baz\"\n");

  entry = iso_file (entries, "lima.env", 0644);
  {
    const gchar *lines[] = {
      "LIMA_CIDATA_MNT=/mnt/lima-cidata\n",
      "LIMA_CIDATA_NAME=default\n",
      "LIMA_CIDATA_USER=alice\n",
      "LIMA_CIDATA_UID=1001\n",
      "LIMA_CIDATA_HOME=/home/o'brien x.linux\n",
      "LIMA_CIDATA_MOUNTS=2\n",
      "LIMA_CIDATA_MOUNTS_0_MOUNTPOINT=/home/o'brien x\n",
      "LIMA_CIDATA_MOUNTS_0_WRITABLE=1\n",
      "LIMA_CIDATA_MOUNTS_0_TYPE=9p\n",
      "LIMA_CIDATA_MOUNTS_0_TAG=mount0\n",
      "LIMA_CIDATA_MOUNTS_1_MOUNTPOINT=/mnt/data\n",
      "LIMA_CIDATA_MOUNTS_1_WRITABLE=0\n",
      "LIMA_CIDATA_MOUNTS_1_TAG=mount1\n",
      "LIMA_CIDATA_MOUNTTYPE=9p\n",
      "LIMA_CIDATA_CONTAINERD_SYSTEM=0\n",
      "LIMA_CIDATA_CONTAINERD_USER=0\n",
      "LIMA_CIDATA_CONTAINER_ENGINE=moby\n",
      "LIMA_CIDATA_SLIRP_GATEWAY=10.0.2.2\n",
      "LIMA_CIDATA_SLIRP_DNS=10.0.2.3\n",
      "LIMA_CIDATA_SLIRP_IP_ADDRESS=10.0.2.15\n",
    };
    g_autofree gchar *home = NULL;
    g_autofree gchar *point = NULL;

    g_assert_true (g_str_has_prefix (entry->contents, lines[0]));
    for (guint i = 0; i < G_N_ELEMENTS (lines); i++)
      if (strstr (entry->contents, lines[i]) == NULL)
        g_error ("lima.env lacks %s:\n%s", lines[i], entry->contents);

    /* Read as the guest reads it (a line at a time, exported as it is),
     * the values come back exactly. */
    g_assert_true (g_file_set_contents (env_path, entry->contents, -1, NULL));
    home = sourced_value (env_path, "LIMA_CIDATA_HOME");
    g_assert_cmpstr (home, ==, "/home/o'brien x.linux");
    point = sourced_value (env_path, "LIMA_CIDATA_MOUNTS_0_MOUNTPOINT");
    g_assert_cmpstr (point, ==, "/home/o'brien x");
  }

  /* Only the ISO is left in the directory: no temporary file. */
  {
    g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
    const gchar *name;

    while ((name = g_dir_read_name (listing)) != NULL)
      g_assert_true (g_str_equal (name, "cidata.iso") || g_str_equal (name, "lima.env"));
  }
}

static void
test_cidata_label (void)
{
  g_autofree gchar *dir = make_case_dir ();
  g_autofree gchar *iso = g_build_filename (dir, "cidata.iso", NULL);
  g_autofree gchar *blkid = g_find_program_in_path ("blkid");
  g_autofree gchar *xorriso = g_find_program_in_path ("xorriso");
  g_autoptr (BerthLimaConfig) config = sample_config ();
  g_autoptr (GError) error = NULL;

  if (blkid == NULL && xorriso == NULL)
    {
      g_test_skip ("neither blkid nor xorriso is installed to read the volume label");
      return;
    }
  berth_lima_cidata_write (iso, config, NULL, &error);
  g_assert_no_error (error);

  if (blkid != NULL)
    {
      /* What the guest (blkid -L cidata) and cloud-init see. */
      const gchar *argv[] = { blkid, "-p", "-o", "value", "-s", "LABEL", iso, NULL };
      g_autofree gchar *out = NULL;
      gint status = 0;

      g_spawn_sync (NULL, (gchar **)argv, NULL, 0, NULL, NULL, &out, NULL, &status, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (g_strstrip (out), ==, "cidata");
    }
  if (xorriso != NULL)
    {
      /* The primary volume descriptor holds it in ISO 9660's upper case. */
      const gchar *argv[] = { xorriso, "-indev", iso, "-pvd_info", NULL };
      g_autofree gchar *out = NULL;
      g_autofree gchar *err = NULL;
      gint status = 0;

      g_spawn_sync (NULL, (gchar **)argv, NULL, 0, NULL, NULL, &out, &err, &status, &error);
      g_assert_no_error (error);
      g_assert_nonnull (strstr (out, "Volume Id    : CIDATA\n"));
    }
}

static void
test_cidata_containerd (void)
{
  g_autoptr (BerthLimaConfig) config = sample_config ();
  g_autoptr (GError) error = NULL;
  g_autofree gchar *env = NULL;

  g_free (config->container_engine);
  config->container_engine = g_strdup ("containerd");
  g_ptr_array_set_size (config->mounts, 0);
  env = berth_lima_cidata_lima_env (config, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (env, "\nLIMA_CIDATA_CONTAINERD_SYSTEM=1\n"));
  g_assert_nonnull (strstr (env, "\nLIMA_CIDATA_CONTAINER_ENGINE=containerd\n"));
  g_assert_nonnull (strstr (env, "\nLIMA_CIDATA_MOUNTS=0\n"));
  g_assert_null (strstr (env, "MOUNTS_0"));
}

static void
replace_string (gchar **field, const gchar *value)
{
  g_free (*field);
  *field = g_strdup (value);
}

static void
test_cidata_refused (void)
{
  struct
  {
    const gchar *field;
    const gchar *value;
    const gchar *expected;
  } cases[] = {
    { "user", "root", "Guest user name \"root\" is not allowed" },
    { "user", "Alice", "Guest user name \"Alice\" is not allowed" },
    { "user", "a b", "Guest user name \"a b\" is not allowed" },
    { "home", "home/alice",
      "Guest home \"home/alice\" is not allowed: the guest needs an absolute path" },
    { "home", "/home/a\nLIMA_CIDATA_USER=root", "holds a control character" },
    { "key", NULL, "has no SSH public key" },
    { "key", "ssh-ed25519 AAAA\nssh-rsa BBBB", "SSH public key" },
    { "engine", "podman", "Container engine \"podman\" is not allowed: use moby or containerd" },
    { "name", "_config", "Instance name \"_config\" is not allowed" },
    { "env-name", "1ABC", "Environment variable name \"1ABC\" is not allowed" },
    { "env-name", "A-B", "Environment variable name \"A-B\" is not allowed" },
    { "env-value", "a\nb", "Environment variable X" },
    { "env-value", "a#b", "ends a value at '#'" },
    { "mount", "relative/dir", "LIMA_CIDATA_MOUNTS_0_MOUNTPOINT \"relative/dir\" is not allowed" },
    { "mount", "/srv/a\nLIMA_CIDATA_USER=root", "holds a control character" },
    { "provision", "root", "Provision script 0 has mode \"root\"; allowed: system, user" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *dir = make_case_dir ();
      g_autofree gchar *iso = g_build_filename (dir, "cidata.iso", NULL);
      g_autoptr (BerthLimaConfig) config = sample_config ();
      g_autoptr (GError) error = NULL;
      const gchar *field = cases[i].field;

      if (g_str_equal (field, "user"))
        replace_string (&config->user, cases[i].value);
      else if (g_str_equal (field, "home"))
        replace_string (&config->home, cases[i].value);
      else if (g_str_equal (field, "key"))
        replace_string (&config->ssh_public_key, cases[i].value);
      else if (g_str_equal (field, "engine"))
        replace_string (&config->container_engine, cases[i].value);
      else if (g_str_equal (field, "name"))
        replace_string (&config->name, cases[i].value);
      else if (g_str_equal (field, "env-name"))
        g_hash_table_insert (config->env, g_strdup (cases[i].value), g_strdup ("v"));
      else if (g_str_equal (field, "env-value"))
        g_hash_table_insert (config->env, g_strdup ("X"), g_strdup (cases[i].value));
      else if (g_str_equal (field, "mount"))
        {
          g_ptr_array_set_size (config->mounts, 0);
          berth_lima_config_add_mount (config, "/x", cases[i].value, TRUE, "9p");
        }
      else if (g_str_equal (field, "provision"))
        {
          g_ptr_array_set_size (config->provisions, 0);
          berth_lima_config_add_provision (config, cases[i].value, "#!/bin/sh\n");
        }

      g_assert_false (berth_lima_cidata_write (iso, config, "#!/bin/sh\n", &error));
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING);
      if (strstr (error->message, cases[i].expected) == NULL)
        g_error ("case %u: \"%s\" not in: %s", i, cases[i].expected, error->message);
      /* Nothing is written, not even a temporary file. */
      {
        g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);

        g_assert_null (g_dir_read_name (listing));
      }
    }
}

static void
test_names (void)
{
  {
    g_autofree gchar *tag = berth_lima_mount_tag (3);
    g_autofree gchar *host = berth_lima_hostname ("my.vm_1");

    g_assert_cmpstr (tag, ==, "mount3");
    g_assert_cmpstr (host, ==, "lima-my-vm-1");
  }
}

/* ------------------------------------------------------------------------ */
/* Instances                                                                */
/* ------------------------------------------------------------------------ */

static void
test_instance_paths (void)
{
  g_autoptr (BerthLimaInstance) instance
      = berth_lima_instance_new ("/data/berth/lima", "0", "/run/user/1000/berth");

  g_assert_cmpstr (instance->name, ==, "0");
  g_assert_cmpstr (instance->dir, ==, "/data/berth/lima/0");
  g_assert_cmpstr (instance->lima_yaml, ==, "/data/berth/lima/0/lima.yaml");
  g_assert_cmpstr (instance->cidata_iso, ==, "/data/berth/lima/0/cidata.iso");
  g_assert_cmpstr (instance->basedisk, ==, "/data/berth/lima/0/basedisk");
  g_assert_cmpstr (instance->diffdisk, ==, "/data/berth/lima/0/diffdisk");
  g_assert_cmpstr (instance->kernel, ==, "/data/berth/lima/0/kernel");
  g_assert_cmpstr (instance->initrd, ==, "/data/berth/lima/0/initrd");
  g_assert_cmpstr (instance->qemu_pid, ==, "/data/berth/lima/0/qemu.pid");
  g_assert_cmpstr (instance->qmp_sock, ==, "/data/berth/lima/0/qmp.sock");
  g_assert_cmpstr (instance->serial_log, ==, "/data/berth/lima/0/serial.log");
  g_assert_cmpstr (instance->ssh_sock, ==, "/data/berth/lima/0/ssh.sock");
  g_assert_cmpstr (instance->ha_pid, ==, "/data/berth/lima/0/ha.pid");
  g_assert_cmpstr (instance->ha_stdout_log, ==, "/data/berth/lima/0/ha.stdout.log");
  g_assert_cmpstr (instance->ha_stderr_log, ==, "/data/berth/lima/0/ha.stderr.log");
  g_assert_cmpstr (instance->ssh_config, ==, "/data/berth/lima/0/ssh.config");
}

/* A lima root such that <root>/<name> is @dir_length bytes long. */
static gchar *
root_for_dir_length (const gchar *base, const gchar *name, gsize dir_length)
{
  gsize fill = dir_length - strlen (base) - 1 - strlen (name) - 1;
  g_autofree gchar *padding = g_strnfill (fill, 'p');

  g_assert_cmpuint (strlen (base) + 1 + strlen (name) + 1, <, dir_length);
  return g_build_filename (base, padding, NULL);
}

static void
test_instance_sockets (void)
{
  g_autofree gchar *base = make_case_dir ();
  g_autofree gchar *runtime = g_build_filename (base, "run", NULL);
  g_autofree gchar *root81 = root_for_dir_length ("/l", "vm", 81);
  g_autofree gchar *root82 = root_for_dir_length ("/l", "vm", 82);
  g_autofree gchar *root94 = root_for_dir_length ("/l", "vm", 94);
  g_autofree gchar *root95 = root_for_dir_length ("/l", "vm", 95);
  g_autoptr (BerthLimaInstance) at_limit = berth_lima_instance_new (root81, "vm", runtime);
  g_autoptr (BerthLimaInstance) over = berth_lima_instance_new (root82, "vm", runtime);
  g_autoptr (BerthLimaInstance) qmp_at_limit = berth_lima_instance_new (root94, "vm", runtime);
  g_autoptr (BerthLimaInstance) qmp_over = berth_lima_instance_new (root95, "vm", runtime);
  g_autofree gchar *digest = NULL;
  g_autofree gchar *expected_ssh = NULL;
  g_autofree gchar *expected_qmp = NULL;

  /* ssh.sock: 90 bytes stay in the directory, 91 fall back. */
  g_assert_cmpuint (strlen (at_limit->dir), ==, 81);
  g_assert_cmpuint (strlen (at_limit->ssh_sock), ==, 90);
  g_assert_true (g_str_has_prefix (at_limit->ssh_sock, at_limit->dir));
  g_assert_true (g_str_has_prefix (over->ssh_sock, runtime));
  digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, over->dir, -1);
  expected_ssh = g_strdup_printf ("%s/%.16s.ssh", runtime, digest);
  g_assert_cmpstr (over->ssh_sock, ==, expected_ssh);
  /* … while its qmp.sock, 91 bytes, is still in the directory. */
  g_assert_cmpstr (over->qmp_sock + strlen (over->dir), ==, "/qmp.sock");

  /* qmp.sock: 103 bytes stay, 104 fall back. */
  g_assert_cmpuint (strlen (qmp_at_limit->qmp_sock), ==, 103);
  g_assert_true (g_str_has_prefix (qmp_at_limit->qmp_sock, qmp_at_limit->dir));
  g_clear_pointer (&digest, g_free);
  digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, qmp_over->dir, -1);
  expected_qmp = g_strdup_printf ("%s/%.16s.qmp", runtime, digest);
  g_assert_cmpstr (qmp_over->qmp_sock, ==, expected_qmp);
  /* Different directories never share a fallback socket. */
  g_assert_cmpstr (qmp_over->ssh_sock, !=, over->ssh_sock);

  /* ensure_dir makes the instance directory and the runtime one, 0700. */
  {
    g_autofree gchar *long_root = root_for_dir_length (base, "vm", strlen (base) + 120);
    g_autoptr (BerthLimaInstance) real = berth_lima_instance_new (long_root, "vm", runtime);
    g_autoptr (GError) error = NULL;

    g_assert_true (g_str_has_prefix (real->ssh_sock, runtime));
    berth_lima_instance_ensure_dir (real, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (file_mode (real->dir), ==, 0700);
    g_assert_cmpuint (file_mode (runtime), ==, 0700);

    /* An existing directory with a looser mode is tightened. */
    g_assert_cmpint (g_chmod (real->dir, 0755), ==, 0);
    berth_lima_instance_ensure_dir (real, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (file_mode (real->dir), ==, 0700);
  }
}

static void
test_instance_names (void)
{
  g_autofree gchar *longest = g_strnfill (60, 'a');
  g_autofree gchar *too_long = g_strnfill (61, 'a');
  const gchar *valid[] = { "0", "default", "a.b_c-d", "Berth2", longest, NULL };
  const gchar *invalid[]
      = { "", "_config", "-x", ".x", "a/b", "a b", "ä", "x\n", "..", too_long, NULL };

  for (guint i = 0; valid[i] != NULL; i++)
    {
      g_autoptr (GError) error = NULL;

      berth_lima_validate_name (valid[i], &error);
      g_assert_no_error (error);
    }
  for (guint i = 0; invalid[i] != NULL; i++)
    {
      g_autoptr (GError) error = NULL;

      g_assert_false (berth_lima_validate_name (invalid[i], &error));
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING);
      g_assert_nonnull (strstr (error->message,
                                "is not allowed: use 1 to 60 letters, digits, "
                                "'.', '_' or '-', starting with a letter or digit"));
    }
  {
    g_autoptr (GError) error = NULL;

    berth_lima_validate_name ("a b", &error);
    g_assert_true (g_str_has_prefix (error->message, "Instance name \"a b\" is not allowed"));
    g_clear_error (&error);
    berth_lima_validate_name ("x\n", &error);
    g_assert_true (g_str_has_prefix (error->message, "Instance name \"x\\n\" is not allowed"));
    g_clear_error (&error);
    berth_lima_validate_name (too_long, &error);
    g_assert_nonnull (strstr (error->message, too_long));
    g_clear_error (&error);
    /* A huge name is shown cut short. */
    {
      g_autofree gchar *huge = g_strnfill (100000, 'b');
      g_autofree gchar *shown = g_strnfill (80, 'b');
      g_autofree gchar *expected = g_strdup_printf ("\"%s…\" is not allowed", shown);

      berth_lima_validate_name (huge, &error);
      g_assert_nonnull (strstr (error->message, expected));
      g_assert_cmpuint (strlen (error->message), <, 400);
    }
  }
}

static void
test_identity (void)
{
  g_autofree gchar *ssh_keygen = g_find_program_in_path ("ssh-keygen");
  g_autofree gchar *root = make_case_dir ();
  g_autofree gchar *config_dir = g_build_filename (root, "_config", NULL);
  g_autofree gchar *pub_path = g_build_filename (config_dir, "user.pub", NULL);
  g_autofree gchar *private_path = NULL;
  g_autofree gchar *public_key = NULL;
  g_autofree gchar *private_first = NULL;
  g_autoptr (GError) error = NULL;

  if (ssh_keygen == NULL)
    {
      g_test_skip ("ssh-keygen is not installed");
      return;
    }

  g_assert_true (berth_lima_ensure_identity (root, &private_path, &public_key, &error));
  g_assert_no_error (error);
  {
    g_autofree gchar *expected = g_build_filename (config_dir, "user", NULL);

    g_assert_cmpstr (private_path, ==, expected);
  }
  g_assert_cmpuint (file_mode (private_path), ==, 0600);
  g_assert_cmpuint (file_mode (config_dir), ==, 0700);
  g_assert_true (g_str_has_prefix (public_key, "ssh-ed25519 "));
  g_assert_true (g_str_has_suffix (public_key, " berth"));
  g_assert_null (strchr (public_key, '\n'));
  private_first = berth_test_read_file (private_path);
  g_assert_nonnull (strstr (private_first, "PRIVATE KEY"));
  /* Only the two files: no temporary names left. */
  {
    g_autoptr (GDir) listing = g_dir_open (config_dir, 0, NULL);
    guint n = 0;

    while (g_dir_read_name (listing) != NULL)
      n++;
    g_assert_cmpuint (n, ==, 2);
  }

  /* Made once: the second call returns the same key. */
  {
    g_autofree gchar *again_path = NULL;
    g_autofree gchar *again_key = NULL;
    g_autofree gchar *private_again = NULL;

    g_assert_true (berth_lima_ensure_identity (root, &again_path, &again_key, &error));
    g_assert_cmpstr (again_key, ==, public_key);
    private_again = berth_test_read_file (private_path);
    g_assert_cmpstr (private_again, ==, private_first);
  }

  /* A lost user.pub is derived again from the same private key; a loosened
   * private key is made 0600 again. */
  g_assert_cmpint (g_unlink (pub_path), ==, 0);
  g_assert_cmpint (g_chmod (private_path, 0644), ==, 0);
  {
    g_autofree gchar *again_key = NULL;
    g_auto (GStrv) fields_first = g_strsplit (public_key, " ", 3);
    g_auto (GStrv) fields_again = NULL;

    g_assert_true (berth_lima_ensure_identity (root, NULL, &again_key, &error));
    g_assert_no_error (error);
    fields_again = g_strsplit (again_key, " ", 3);
    g_assert_cmpstr (fields_again[0], ==, fields_first[0]);
    g_assert_cmpstr (fields_again[1], ==, fields_first[1]);
    g_assert_true (g_file_test (pub_path, G_FILE_TEST_IS_REGULAR));
    g_assert_cmpuint (file_mode (private_path), ==, 0600);
  }

  /* A user.pub that is not one line is refused, naming the file. */
  g_assert_true (g_file_set_contents (pub_path, "ssh-ed25519 A\nssh-ed25519 B\n", -1, NULL));
  g_assert_false (berth_lima_ensure_identity (root, NULL, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, pub_path));
}

int
main (int argc, char **argv)
{
  g_autofree gchar *xdg = NULL;
  int status;

  /* Everything this test touches lives under one throwaway directory,
   * including $HOME, whose name has a space and a quote on purpose. */
  test_root = berth_test_make_root ("berth-lima-files");
  test_home = g_build_filename (test_root, "home o'brien", NULL);
  g_assert_cmpint (g_mkdir (test_home, 0700), ==, 0);
  g_setenv ("HOME", test_home, TRUE);
  for (guint i = 0; i < 4; i++)
    {
      const gchar *names[]
          = { "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR" };
      const gchar *dirs[] = { "config", "data", "cache", "run" };

      g_free (xdg);
      xdg = g_build_filename (test_root, dirs[i], NULL);
      g_mkdir (xdg, 0700);
      g_setenv (names[i], xdg, TRUE);
    }

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lima/config/defaults", test_config_defaults);
  g_test_add_func ("/lima/config/from-settings", test_config_from_settings);
  g_test_add_func ("/lima/config/from-settings-defaults", test_config_from_settings_defaults);
  g_test_add_func ("/lima/yaml/round-trip", test_yaml_round_trip);
  g_test_add_func ("/lima/yaml/shape", test_yaml_shape);
  g_test_add_func ("/lima/yaml/sizes", test_yaml_sizes);
  g_test_add_func ("/lima/yaml/hostile", test_yaml_hostile);
  g_test_add_func ("/lima/yaml/write-refused", test_yaml_write_refused);
  g_test_add_func ("/lima/cidata/contents", test_cidata_contents);
  g_test_add_func ("/lima/cidata/label", test_cidata_label);
  g_test_add_func ("/lima/cidata/containerd", test_cidata_containerd);
  g_test_add_func ("/lima/cidata/refused", test_cidata_refused);
  g_test_add_func ("/lima/cidata/names", test_names);
  g_test_add_func ("/lima/instance/paths", test_instance_paths);
  g_test_add_func ("/lima/instance/sockets", test_instance_sockets);
  g_test_add_func ("/lima/instance/names", test_instance_names);
  g_test_add_func ("/lima/instance/identity", test_identity);
  status = g_test_run ();

  berth_test_rm_rf (test_root);
  g_free (test_root);
  g_free (test_home);
  return status;
}
