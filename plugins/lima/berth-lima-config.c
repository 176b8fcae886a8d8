/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Berth — the configuration of one Lima-layout instance. */

#include "config.h"

#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-lima-config.h"
#include "berth-lima-instance.h"

#define GIB ((guint64)1 << 30)
#define USER_NAME_MAX 32

static void
berth_lima_mount_free (BerthLimaMount *mount)
{
  g_free (mount->location);
  g_free (mount->mount_point);
  g_free (mount->type);
  g_free (mount);
}

static void
berth_lima_provision_free (BerthLimaProvision *provision)
{
  g_free (provision->mode);
  g_free (provision->script);
  g_free (provision);
}

/* The host's architecture in Lima's words. */
static gchar *
host_arch (void)
{
  struct utsname u;

  if (uname (&u) != 0)
    return g_strdup ("x86_64");
  if (g_str_equal (u.machine, "arm64") || g_str_equal (u.machine, "aarch64"))
    return g_strdup ("aarch64");
  if (g_str_equal (u.machine, "amd64"))
    return g_strdup ("x86_64");
  return g_strdup (u.machine);
}

BerthLimaConfig *
berth_lima_config_new (const gchar *name)
{
  BerthLimaConfig *config = g_new0 (BerthLimaConfig, 1);

  config->name = g_strdup (name != NULL ? name : "0");
  config->arch = host_arch ();
  config->cpus = 2;
  config->memory_bytes = 4 * GIB;
  config->disk_bytes = 100 * GIB;
  config->container_engine = g_strdup ("moby");
  config->accel = g_strdup ("auto");
  config->boot_mode = g_strdup ("auto");
  config->boot_timeout_seconds = 0;
  config->mounts = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_lima_mount_free);
  config->provisions = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_lima_provision_free);
  config->ssh_local_port = 0;
  config->env = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  config->proxy_from_host = TRUE;
  return config;
}

void
berth_lima_config_free (BerthLimaConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->name);
  g_free (config->arch);
  g_free (config->container_engine);
  g_free (config->accel);
  g_free (config->boot_mode);
  g_clear_pointer (&config->mounts, g_ptr_array_unref);
  g_clear_pointer (&config->provisions, g_ptr_array_unref);
  g_free (config->user);
  g_free (config->home);
  g_free (config->ssh_public_key);
  g_clear_pointer (&config->env, g_hash_table_unref);
  g_free (config->ca_certificates_file);
  g_free (config->ca_certificates);
  g_strfreev (config->proxy_env);
  g_free (config);
}

void
berth_lima_config_add_mount (BerthLimaConfig *config, const gchar *location,
                             const gchar *mount_point, gboolean writable, const gchar *type)
{
  BerthLimaMount *mount;

  g_return_if_fail (config != NULL);
  g_return_if_fail (location != NULL);

  mount = g_new0 (BerthLimaMount, 1);
  mount->location = g_strdup (location);
  mount->mount_point = g_strdup (mount_point != NULL ? mount_point : location);
  mount->writable = writable;
  mount->type = g_strdup (type != NULL ? type : "9p");
  g_ptr_array_add (config->mounts, mount);
}

void
berth_lima_config_add_provision (BerthLimaConfig *config, const gchar *mode, const gchar *script)
{
  BerthLimaProvision *provision;

  g_return_if_fail (config != NULL);
  g_return_if_fail (script != NULL);

  provision = g_new0 (BerthLimaProvision, 1);
  provision->mode = g_strdup (mode != NULL ? mode : "system");
  provision->script = g_strdup (script);
  g_ptr_array_add (config->provisions, provision);
}

gboolean
berth_lima_is_valid_user_name (const gchar *user)
{
  gsize length;

  if (user == NULL || user[0] == '\0' || g_str_equal (user, "root"))
    return FALSE;
  length = strlen (user);
  if (length > USER_NAME_MAX)
    return FALSE;
  if (!(g_ascii_islower (user[0]) || user[0] == '_'))
    return FALSE;
  for (gsize i = 1; i < length; i++)
    {
      gchar c = user[i];

      if (!(g_ascii_islower (c) || g_ascii_isdigit (c) || c == '_' || c == '.' || c == '-'))
        return FALSE;
    }
  return TRUE;
}

/* An INT setting as a positive count, refusing what the schema should
 * already have refused rather than wrapping it. */
static gboolean
positive_setting (BerthSettings *settings, const gchar *path, guint64 max, guint64 *value_out,
                  GError **error)
{
  gint64 value = berth_settings_get_int (settings, path);

  if (value <= 0 || (guint64)value > max)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "%s: %" G_GINT64_FORMAT " is not allowed for the VM; use a number from 1 to "
                   "%" G_GUINT64_FORMAT,
                   path, value, max);
      return FALSE;
    }
  *value_out = (guint64)value;
  return TRUE;
}

static const gchar *
string_setting (BerthSettings *settings, const gchar *path, const gchar *fallback)
{
  const gchar *value = berth_settings_get_string (settings, path);

  return value != NULL && value[0] != '\0' ? value : fallback;
}

BerthLimaConfig *
berth_lima_config_new_from_settings (const gchar *name, BerthSettings *settings, GError **error)
{
  g_autoptr (BerthLimaConfig) config = NULL;
  guint64 memory_gib = 0, cpus = 0, disk_gib = 0;
  const gchar *host_user = g_get_user_name ();
  const gchar *host_home = g_get_home_dir ();
  guint uid = (guint)getuid ();

  g_return_val_if_fail (BERTH_IS_SETTINGS (settings), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (name == NULL)
    name = "0";
  if (!berth_lima_validate_name (name, error))
    return NULL;
  if (!positive_setting (settings, "virtualMachine.memoryInGB", 1024 * 1024, &memory_gib, error)
      || !positive_setting (settings, "virtualMachine.numberCPUs", G_MAXUINT16, &cpus, error)
      || !positive_setting (settings, "virtualMachine.diskSizeGiB", 1024 * 1024, &disk_gib, error))
    return NULL;

  config = berth_lima_config_new (name);
  config->cpus = (guint)cpus;
  config->memory_bytes = memory_gib * GIB;
  config->disk_bytes = disk_gib * GIB;
  g_free (config->accel);
  config->accel = g_strdup (string_setting (settings, "virtualMachine.accel", "auto"));
  g_free (config->container_engine);
  config->container_engine = g_strdup (string_setting (settings, "containerEngine.name", "moby"));
  config->ca_certificates_file
      = g_strdup (string_setting (settings, "virtualMachine.caCertificates.file", NULL));
  config->proxy_from_host = berth_settings_get_boolean (settings, "virtualMachine.proxy.fromHost");

  /* Root and names the guest refuses get Berth's own guest user, as Lima
   * falls back to "lima": a uid 0 guest login would be root itself. */
  if (uid == 0 || !berth_lima_is_valid_user_name (host_user))
    {
      config->user = g_strdup (BERTH_LIMA_FALLBACK_USER);
      config->uid = BERTH_LIMA_FALLBACK_UID;
    }
  else
    {
      config->user = g_strdup (host_user);
      config->uid = uid;
    }
  config->home = g_strdup_printf ("/home/%s.linux", config->user);

  if (host_home != NULL && g_path_is_absolute (host_home) && !g_str_equal (host_home, "/"))
    berth_lima_config_add_mount (config, host_home, host_home, TRUE,
                                 string_setting (settings, "virtualMachine.mount.type", "9p"));

  return g_steal_pointer (&config);
}
