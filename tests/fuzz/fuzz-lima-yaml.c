/* libFuzzer target for lima.yaml input: the bytes are parsed as lima.yaml;
 * what parses is written back, read again (it must, and say the same), and
 * turned into cidata's lima.env and etc_environment (which may refuse it,
 * never crash). Built by tests/fuzz/meson.build; run with
 * G_DEBUG=fatal-criticals so that a critical reached from input counts as a
 * crash.
 *
 * Round trips are written to a temporary directory; point TMPDIR at a
 * RAM-backed directory to spare the disk. */

#include "config.h"

#include <glib/gstdio.h>

#include "berth-lima-cidata.h"
#include "berth-lima-yaml.h"

#include "fuzz-common.h"

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
  g_assert_cmpuint (g_hash_table_size (a->env), ==, g_hash_table_size (b->env));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthLimaConfig) config = NULL;
  g_autoptr (BerthLimaConfig) again = NULL;
  g_autofree gchar *instance = NULL;
  g_autofree gchar *path = NULL;
  g_autofree gchar *lima_env = NULL;
  g_autofree gchar *etc_environment = NULL;

  config = berth_lima_yaml_parse ((const gchar *)data, size, "fuzz", "fuzz.yaml", &error);
  if (config == NULL)
    {
      g_assert_nonnull (error);
      return 0;
    }

  instance = g_build_filename (berth_fuzz_work_dir (), config->name, NULL);
  g_mkdir (instance, 0700);
  path = g_build_filename (instance, "lima.yaml", NULL);
  if (!berth_lima_yaml_write (path, config, &error))
    g_error ("what lima.yaml gave could not be written: %s", error->message);
  again = berth_lima_yaml_read (path, &error);
  if (again == NULL)
    g_error ("what Berth wrote could not be read: %s", error->message);
  assert_same (config, again);
  g_unlink (path);
  g_rmdir (instance);

  /* The user comes from the host, not from lima.yaml, in real use; here
   * whatever the file said goes through cidata's checks. */
  if (config->ssh_public_key == NULL)
    config->ssh_public_key = g_strdup ("ssh-ed25519 AAAA fuzz");
  lima_env = berth_lima_cidata_lima_env (config, NULL);
  etc_environment = berth_lima_cidata_etc_environment (config, NULL);
  return 0;
}
