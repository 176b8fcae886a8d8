/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for lima.yaml input (plugins/lima/berth-lima-yaml.c):
 * the bytes are parsed as lima.yaml, and what parses must be what the file
 * says and survive Berth's own round trip:
 *
 * - read apart, through libyaml's document API rather than Berth's event
 *   reader, every setting the file gives is the value Berth took: arch,
 *   cpus, the mounts, the provisioning scripts (to the byte: literal block
 *   scalars keep their line breaks), env, the guest user and Berth's own
 *   berth.* keys;
 * - written back (berth_lima_yaml_write()) and read again, it is the same
 *   configuration, field by field, env included; and writing that again
 *   gives the same bytes;
 * - turned into cidata's lima.env and etc_environment, it may be refused,
 *   never crash.
 *
 * Built by tests/fuzz/meson.build; run with G_DEBUG=fatal-criticals so that
 * a critical reached from input counts as a crash. Round trips are written
 * to a temporary directory; point TMPDIR at a RAM-backed directory to spare
 * the disk. */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>
#include <yaml.h>

#include "berth-lima-cidata.h"
#include "berth-lima-yaml.h"

#include "fuzz-common.h"

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (yaml_document_t, yaml_document_delete)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (yaml_parser_t, yaml_parser_delete)

static void
assert_same (const BerthLimaConfig *a, const BerthLimaConfig *b)
{
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
  g_assert_cmpstr (a->ssh_public_key, ==, b->ssh_public_key);
  g_assert_cmpuint (g_hash_table_size (a->env), ==, g_hash_table_size (b->env));
  {
    GHashTableIter iter;
    gpointer name, value;

    g_hash_table_iter_init (&iter, a->env);
    while (g_hash_table_iter_next (&iter, &name, &value))
      g_assert_cmpstr (g_hash_table_lookup (b->env, name), ==, value);
  }
}

/* ---- the file read apart, with libyaml's document API ------------------ */

static yaml_node_t *
value_of (yaml_document_t *doc, yaml_node_t *mapping, const gchar *key)
{
  if (mapping == NULL || mapping->type != YAML_MAPPING_NODE)
    return NULL;
  for (yaml_node_pair_t *pair = mapping->data.mapping.pairs.start;
       pair < mapping->data.mapping.pairs.top; pair++)
    {
      yaml_node_t *k = yaml_document_get_node (doc, pair->key);

      if (k != NULL && k->type == YAML_SCALAR_NODE && k->data.scalar.length == strlen (key)
          && memcmp (k->data.scalar.value, key, k->data.scalar.length) == 0)
        return yaml_document_get_node (doc, pair->value);
    }
  return NULL;
}

/* A scalar's text; NULL for anything else. */
static const gchar *
text_of (yaml_node_t *node)
{
  return node != NULL && node->type == YAML_SCALAR_NODE ? (const gchar *)node->data.scalar.value
                                                        : NULL;
}

static void
assert_text (yaml_node_t *node, const gchar *taken, const gchar *key)
{
  const gchar *text = text_of (node);

  if (text != NULL && g_strcmp0 (text, taken) != 0)
    g_error ("lima.yaml says %s is \"%s\", and Berth took \"%s\"", key, text, taken);
}

static void
assert_number (yaml_node_t *node, guint64 taken, const gchar *key)
{
  const gchar *text = text_of (node);

  if (text != NULL && g_ascii_strtoull (text, NULL, 10) != taken)
    g_error ("lima.yaml says %s is %s, and Berth took %" G_GUINT64_FORMAT, key, text, taken);
}

static void
assert_reads_as_written (const uint8_t *data, size_t size, const BerthLimaConfig *config)
{
  g_auto (yaml_parser_t) parser = { 0 };
  g_auto (yaml_document_t) doc = { 0 };
  yaml_node_t *root, *berth, *user, *env, *list;
  const gchar *system;

  g_assert_true (yaml_parser_initialize (&parser));
  yaml_parser_set_input_string (&parser, data, size);
  /* Berth read it: libyaml does too. */
  g_assert_true (yaml_parser_load (&parser, &doc));
  root = yaml_document_get_root_node (&doc);
  g_assert_nonnull (root);

  assert_text (value_of (&doc, root, "arch"), config->arch, "arch");
  assert_number (value_of (&doc, root, "cpus"), config->cpus, "cpus");

  berth = value_of (&doc, root, "berth");
  assert_text (value_of (&doc, berth, "name"), config->name, "berth.name");
  assert_text (value_of (&doc, berth, "accel"), config->accel, "berth.accel");
  assert_text (value_of (&doc, berth, "bootMode"), config->boot_mode, "berth.bootMode");
  assert_number (value_of (&doc, berth, "bootTimeoutSeconds"), config->boot_timeout_seconds,
                 "berth.bootTimeoutSeconds");
  /* berth.containerEngine when given; else containerd.system: true says
   * containerd. */
  system = text_of (value_of (&doc, value_of (&doc, root, "containerd"), "system"));
  if (text_of (value_of (&doc, berth, "containerEngine")) != NULL)
    assert_text (value_of (&doc, berth, "containerEngine"), config->container_engine,
                 "berth.containerEngine");
  else if (system != NULL && g_ascii_strcasecmp (system, "true") == 0)
    g_assert_cmpstr (config->container_engine, ==, "containerd");

  user = value_of (&doc, root, "user");
  if (user != NULL)
    {
      assert_text (value_of (&doc, user, "name"), config->user, "user.name");
      assert_text (value_of (&doc, user, "home"), config->home, "user.home");
      assert_number (value_of (&doc, user, "uid"), config->uid, "user.uid");
    }

  env = value_of (&doc, root, "env");
  if (env != NULL)
    {
      g_assert_cmpint (env->type, ==, YAML_MAPPING_NODE);
      g_assert_cmpuint (g_hash_table_size (config->env), ==,
                        env->data.mapping.pairs.top - env->data.mapping.pairs.start);
      for (yaml_node_pair_t *pair = env->data.mapping.pairs.start;
           pair < env->data.mapping.pairs.top; pair++)
        {
          const gchar *name = text_of (yaml_document_get_node (&doc, pair->key));

          assert_text (yaml_document_get_node (&doc, pair->value),
                       g_hash_table_lookup (config->env, name), name);
        }
    }
  else
    g_assert_cmpuint (g_hash_table_size (config->env), ==, 0);

  list = value_of (&doc, root, "provision");
  g_assert_cmpuint (list != NULL ? list->data.sequence.items.top - list->data.sequence.items.start
                                 : 0,
                    ==, config->provisions->len);
  for (guint i = 0; i < config->provisions->len; i++)
    {
      const BerthLimaProvision *provision = g_ptr_array_index (config->provisions, i);
      yaml_node_t *item = yaml_document_get_node (&doc, list->data.sequence.items.start[i]);
      yaml_node_t *mode = value_of (&doc, item, "mode");

      assert_text (value_of (&doc, item, "script"), provision->script, "provision[].script");
      g_assert_cmpstr (provision->mode, ==, mode != NULL ? text_of (mode) : "system");
    }

  list = value_of (&doc, root, "mounts");
  g_assert_cmpuint (list != NULL ? list->data.sequence.items.top - list->data.sequence.items.start
                                 : 0,
                    ==, config->mounts->len);
  for (guint i = 0; i < config->mounts->len; i++)
    {
      const BerthLimaMount *mount = g_ptr_array_index (config->mounts, i);
      yaml_node_t *item = yaml_document_get_node (&doc, list->data.sequence.items.start[i]);

      assert_text (value_of (&doc, item, "location"), mount->location, "mounts[].location");
      assert_text (value_of (&doc, item, "mountPoint"), mount->mount_point, "mounts[].mountPoint");
    }
}

/* ---- written and read again --------------------------------------------- */

static gchar *
write_text (const gchar *path, const BerthLimaConfig *config)
{
  g_autoptr (GError) error = NULL;
  gchar *text = NULL;

  if (!berth_lima_yaml_write (path, config, &error))
    g_error ("what lima.yaml gave could not be written: %s", error->message);
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthLimaConfig) config = NULL;
  g_autoptr (BerthLimaConfig) again = NULL;
  g_autofree gchar *instance = NULL;
  g_autofree gchar *path = NULL;
  g_autofree gchar *written = NULL;
  g_autofree gchar *rewritten = NULL;
  g_autofree gchar *lima_env = NULL;
  g_autofree gchar *etc_environment = NULL;

  config = berth_lima_yaml_parse ((const gchar *)data, size, "fuzz", "fuzz.yaml", &error);
  if (config == NULL)
    {
      g_assert_nonnull (error);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      return 0;
    }
  assert_reads_as_written (data, size, config);

  instance = g_build_filename (berth_fuzz_work_dir (), config->name, NULL);
  g_mkdir (instance, 0700);
  path = g_build_filename (instance, "lima.yaml", NULL);
  written = write_text (path, config);
  again = berth_lima_yaml_read (path, &error);
  if (again == NULL)
    g_error ("what Berth wrote could not be read: %s", error->message);
  assert_same (config, again);
  rewritten = write_text (path, again);
  g_assert_cmpstr (rewritten, ==, written);
  berth_fuzz_remove_tree (instance);

  /* The user comes from the host, not from lima.yaml, in real use; here
   * whatever the file said goes through cidata's checks. */
  if (config->ssh_public_key == NULL)
    config->ssh_public_key = g_strdup ("ssh-ed25519 AAAA fuzz");
  lima_env = berth_lima_cidata_lima_env (config, NULL);
  etc_environment = berth_lima_cidata_etc_environment (config, NULL);
  return 0;
}
