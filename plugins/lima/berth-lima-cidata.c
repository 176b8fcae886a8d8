/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Berth — cidata.iso: what the guest reads at boot (Lima's cidata contract,
 * cloud-init's NoCloud data source), written with libarchive. */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <glib/gstdio.h>

#include "berth-error.h"
#include "berth-proxy-env.h"
#include "berth-lima-cidata.h"
#include "berth-lima-instance.h"
#include "berth-lima-yaml.h"

typedef struct archive ArchiveWriter;
typedef struct archive_entry ArchiveEntry;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ArchiveWriter, archive_write_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ArchiveEntry, archive_entry_free)

#define UID_MAX_VALUE 999999999
#define PROVISION_MAX 99999999

gchar *
berth_lima_mount_tag (guint index)
{
  return g_strdup_printf ("mount%u", index);
}

gchar *
berth_lima_hostname (const gchar *name)
{
  g_autofree gchar *host = g_strconcat ("lima-", name, NULL);

  g_strdelimit (host, "._", '-');
  return g_steal_pointer (&host);
}

/* Characters that mean nothing special to sh, nor to the guest's
 * NAME=VALUE reader: values made only of them are written bare. */
static gboolean
is_bare_safe (const gchar *value)
{
  if (value[0] == '\0')
    return FALSE;
  for (const gchar *p = value; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr ("_./:@%+=,-", *p) == NULL)
      return FALSE;
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Checks: what the guest would refuse or misread                           */
/* ------------------------------------------------------------------------ */

/* A value that fits on one line of a NAME=VALUE file. */
static gboolean
check_line_value (const gchar *key, const gchar *value, GError **error)
{
  for (const gchar *p = value; *p != '\0'; p++)
    if ((guchar)*p < 0x20 || *p == 0x7f)
      {
        g_autofree gchar *escaped = g_strescape (value, NULL);

        g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                     "%s \"%s\" holds a control character (such as a newline); the guest reads "
                     "one value a line",
                     key, escaped);
        return FALSE;
      }
  if (!g_utf8_validate (value, -1, NULL))
    {
      g_autofree gchar *escaped = g_strescape (value, NULL);

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING, "%s \"%s\" is not valid UTF-8",
                   key, escaped);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_absolute_path (const gchar *key, const gchar *value, GError **error)
{
  if (value == NULL || !g_path_is_absolute (value))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "%s \"%s\" is not allowed: the guest needs an absolute path", key,
                   value != NULL ? value : "");
      return FALSE;
    }
  return check_line_value (key, value, error);
}

static gboolean
check_user (const BerthLimaConfig *config, GError **error)
{
  if (!berth_lima_is_valid_user_name (config->user))
    {
      g_autofree gchar *escaped = g_strescape (config->user != NULL ? config->user : "", NULL);

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "Guest user name \"%s\" is not allowed: use lower-case letters, digits, '_', "
                   "'.' or '-', starting with a letter or '_', at most 32, and not root",
                   escaped);
      return FALSE;
    }
  if (config->uid == 0 || config->uid > UID_MAX_VALUE)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "Guest uid %u of %s is not allowed: use a number from 1 to %d", config->uid,
                   config->user, UID_MAX_VALUE);
      return FALSE;
    }
  return check_absolute_path ("Guest home", config->home, error);
}

static gboolean
check_env_name (const gchar *name, GError **error)
{
  gboolean ok = name[0] != '\0' && (g_ascii_isalpha (name[0]) || name[0] == '_');

  for (const gchar *p = name; ok && *p != '\0'; p++)
    ok = g_ascii_isalnum (*p) || *p == '_';
  if (!ok)
    {
      g_autofree gchar *escaped = g_strescape (name, NULL);

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "Environment variable name \"%s\" is not allowed: use letters, digits and "
                   "'_', not starting with a digit",
                   escaped);
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* The files                                                                */
/* ------------------------------------------------------------------------ */

/* lima.env is read a line at a time and each line exported as it is
 * (Lima's boot.sh does `export "$line"`, and so does the Berth guest), so a
 * value is written verbatim: quotes would reach the guest as part of it. A
 * value that cannot be one line is refused; the first refusal is kept in
 * @error and later lines are skipped. */
static void
env_line (GString *out, const gchar *name, const gchar *value, GError **error)
{
  if (*error != NULL || !check_line_value (name, value, error))
    return;
  g_string_append_printf (out, "%s=%s\n", name, value);
}

/* The mount point of the host's home directory, if it is shared. */
static const gchar *
host_home_mount_point (const BerthLimaConfig *config)
{
  const gchar *home = g_get_home_dir ();

  for (guint i = 0; i < config->mounts->len; i++)
    {
      const BerthLimaMount *mount = g_ptr_array_index (config->mounts, i);

      if (home != NULL && g_str_equal (mount->location, home))
        return mount->mount_point != NULL ? mount->mount_point : mount->location;
    }
  return "";
}

gchar *
berth_lima_cidata_lima_env (const BerthLimaConfig *config, GError **error)
{
  g_autoptr (GString) out = g_string_new (NULL);
  gboolean containerd = g_strcmp0 (config->container_engine, "containerd") == 0;
  g_autofree gchar *uid = NULL;
  g_autofree gchar *n_mounts = NULL;
  const gchar *mount_type = "9p";
  g_autoptr (GError) line_error = NULL;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!berth_lima_validate_name (config->name, error) || !check_user (config, error))
    return NULL;
  if (config->container_engine == NULL
      || !(g_str_equal (config->container_engine, "moby") || containerd))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "Container engine \"%s\" is not allowed: use moby or containerd",
                   config->container_engine != NULL ? config->container_engine : "");
      return NULL;
    }

  uid = g_strdup_printf ("%u", config->uid);
  n_mounts = g_strdup_printf ("%u", config->mounts->len);
  env_line (out, "LIMA_CIDATA_MNT", BERTH_LIMA_CIDATA_MNT, &line_error);
  env_line (out, "LIMA_CIDATA_NAME", config->name, &line_error);
  env_line (out, "LIMA_CIDATA_USER", config->user, &line_error);
  env_line (out, "LIMA_CIDATA_UID", uid, &line_error);
  env_line (out, "LIMA_CIDATA_HOME", config->home, &line_error);
  env_line (out, "LIMA_CIDATA_HOSTHOME_MOUNTPOINT", host_home_mount_point (config), &line_error);
  env_line (out, "LIMA_CIDATA_MOUNTS", n_mounts, &line_error);
  for (guint i = 0; i < config->mounts->len; i++)
    {
      const BerthLimaMount *mount = g_ptr_array_index (config->mounts, i);
      const gchar *point = mount->mount_point != NULL ? mount->mount_point : mount->location;
      g_autofree gchar *prefix = g_strdup_printf ("LIMA_CIDATA_MOUNTS_%u_", i);
      g_autofree gchar *point_key = g_strconcat (prefix, "MOUNTPOINT", NULL);
      g_autofree gchar *writable_key = g_strconcat (prefix, "WRITABLE", NULL);
      g_autofree gchar *type_key = g_strconcat (prefix, "TYPE", NULL);
      g_autofree gchar *tag_key = g_strconcat (prefix, "TAG", NULL);
      g_autofree gchar *tag = berth_lima_mount_tag (i);

      if (!check_absolute_path (point_key, point, error))
        return NULL;
      if (i == 0 && mount->type != NULL)
        mount_type = mount->type;
      env_line (out, point_key, point, &line_error);
      env_line (out, writable_key, mount->writable ? "1" : "0", &line_error);
      env_line (out, type_key, mount->type != NULL ? mount->type : "9p", &line_error);
      env_line (out, tag_key, tag, &line_error);
    }
  env_line (out, "LIMA_CIDATA_MOUNTTYPE", mount_type, &line_error);
  env_line (out, "LIMA_CIDATA_CONTAINERD_SYSTEM", containerd ? "1" : "0", &line_error);
  env_line (out, "LIMA_CIDATA_CONTAINERD_USER", "0", &line_error);
  env_line (out, "LIMA_CIDATA_CONTAINER_ENGINE", config->container_engine, &line_error);
  /* QEMU's own user-network addresses, not Lima's 192.168.5.0/24: Berth
   * starts QEMU with a plain -netdev user. */
  env_line (out, "LIMA_CIDATA_SLIRP_GATEWAY", BERTH_LIMA_SLIRP_GATEWAY, &line_error);
  env_line (out, "LIMA_CIDATA_SLIRP_DNS", BERTH_LIMA_SLIRP_DNS, &line_error);
  env_line (out, "LIMA_CIDATA_SLIRP_IP_ADDRESS", BERTH_LIMA_SLIRP_IP_ADDRESS, &line_error);
  if (line_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&line_error));
      return NULL;
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const gchar *const *)a, *(const gchar *const *)b);
}

/* etc_environment is read by pam_env (and Lima's boot.sh the same way):
 * KEY="VALUE" loses its outer quotes, nothing inside is unescaped, and '#'
 * ends the value. So quote when needed and refuse what cannot be said. */
gchar *
berth_lima_cidata_etc_environment (const BerthLimaConfig *config, GError **error)
{
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (config->env != NULL)
    {
      g_hash_table_iter_init (&iter, config->env);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        g_ptr_array_add (names, key);
    }
  g_ptr_array_sort (names, compare_strings);
  for (guint i = 0; i < names->len; i++)
    {
      const gchar *name = g_ptr_array_index (names, i);
      const gchar *value = g_hash_table_lookup (config->env, name);
      g_autofree gchar *what = g_strdup_printf ("Environment variable %s", name);

      if (value == NULL)
        value = "";
      if (!check_env_name (name, error) || !check_line_value (what, value, error))
        return NULL;
      if (strchr (value, '#') != NULL)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                       "Environment variable %s=\"%s\" is not allowed: /etc/environment ends a "
                       "value at '#'",
                       name, value);
          return NULL;
        }
      if (is_bare_safe (value))
        g_string_append_printf (out, "%s=%s\n", name, value);
      else
        g_string_append_printf (out, "%s=\"%s\"\n", name, value);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static gboolean
check_public_key (const BerthLimaConfig *config, GError **error)
{
  const gchar *key = config->ssh_public_key;

  if (key == NULL || key[0] == '\0')
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "Instance %s has no SSH public key: nobody could log in to the guest; make "
                   "the identity (_config/user.pub) first",
                   config->name);
      return FALSE;
    }
  return check_line_value ("SSH public key", key, error);
}

/* The per-boot hook Lima puts in user-data, for images that run cloud-init
 * rather than Berth's own init: mount cidata and run its boot.sh. */
static const gchar boot_hook[]
    = "#!/bin/sh\n"
      "set -eu\n"
      "LIMA_CIDATA_MNT=" BERTH_LIMA_CIDATA_MNT "\n"
      "mkdir -p -m 700 \"$LIMA_CIDATA_MNT\"\n"
      "mountpoint -q \"$LIMA_CIDATA_MNT\" ||\n"
      "  mount -o ro,mode=0700,dmode=0700,overriderockperm,exec,uid=0 /dev/disk/by-label/cidata "
      "\"$LIMA_CIDATA_MNT\"\n"
      "export LIMA_CIDATA_MNT\n"
      "exec \"$LIMA_CIDATA_MNT/boot.sh\"\n";

static gchar *
user_data_text (const BerthLimaConfig *config, gboolean with_boot_hook, GError **error)
{
  g_autoptr (BerthLimaYamlWriter) w = NULL;
  g_autofree gchar *hostname = NULL;

  if (!berth_lima_validate_name (config->name, error) || !check_user (config, error)
      || !check_public_key (config, error))
    return NULL;

  hostname = berth_lima_hostname (config->name);
  w = berth_lima_yaml_writer_new ("#cloud-config\n");
  berth_lima_yaml_writer_mapping_start (w);
  berth_lima_yaml_writer_string (w, "hostname", hostname);

  berth_lima_yaml_writer_scalar (w, "growpart", BERTH_LIMA_YAML_STRING);
  berth_lima_yaml_writer_mapping_start (w);
  berth_lima_yaml_writer_string (w, "mode", "auto");
  berth_lima_yaml_writer_scalar (w, "devices", BERTH_LIMA_YAML_STRING);
  berth_lima_yaml_writer_sequence_start (w, TRUE);
  berth_lima_yaml_writer_scalar (w, "/", BERTH_LIMA_YAML_STRING);
  berth_lima_yaml_writer_sequence_end (w);
  berth_lima_yaml_writer_mapping_end (w);

  berth_lima_yaml_writer_scalar (w, "users", BERTH_LIMA_YAML_STRING);
  berth_lima_yaml_writer_sequence_start (w, FALSE);
  berth_lima_yaml_writer_mapping_start (w);
  berth_lima_yaml_writer_string (w, "name", config->user);
  berth_lima_yaml_writer_uint (w, "uid", config->uid);
  berth_lima_yaml_writer_string (w, "homedir", config->home);
  berth_lima_yaml_writer_string (w, "shell", "/bin/bash");
  berth_lima_yaml_writer_string (w, "sudo", "ALL=(ALL) NOPASSWD:ALL");
  berth_lima_yaml_writer_boolean (w, "lock_passwd", TRUE);
  berth_lima_yaml_writer_scalar (w, "ssh-authorized-keys", BERTH_LIMA_YAML_STRING);
  berth_lima_yaml_writer_sequence_start (w, FALSE);
  berth_lima_yaml_writer_scalar (w, config->ssh_public_key, BERTH_LIMA_YAML_STRING);
  berth_lima_yaml_writer_sequence_end (w);
  berth_lima_yaml_writer_mapping_end (w);
  berth_lima_yaml_writer_sequence_end (w);

  if (with_boot_hook)
    {
      berth_lima_yaml_writer_scalar (w, "write_files", BERTH_LIMA_YAML_STRING);
      berth_lima_yaml_writer_sequence_start (w, FALSE);
      berth_lima_yaml_writer_mapping_start (w);
      berth_lima_yaml_writer_string (w, "path", "/var/lib/cloud/scripts/per-boot/00-lima.boot.sh");
      berth_lima_yaml_writer_string (w, "owner", "root:root");
      berth_lima_yaml_writer_string (w, "permissions", "0755");
      berth_lima_yaml_writer_scalar (w, "content", BERTH_LIMA_YAML_STRING);
      berth_lima_yaml_writer_scalar (w, boot_hook, BERTH_LIMA_YAML_LITERAL);
      berth_lima_yaml_writer_mapping_end (w);
      berth_lima_yaml_writer_sequence_end (w);
    }

  berth_lima_yaml_writer_mapping_end (w);
  return berth_lima_yaml_writer_finish (w, NULL, error);
}

gchar *
berth_lima_cidata_user_data (const BerthLimaConfig *config, GError **error)
{
  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return user_data_text (config, TRUE, error);
}

/* instance-id changes only when what cloud-init acts on (user-data) does:
 * a new id would make cloud-init set the instance up afresh. */
static gchar *
meta_data_text (const BerthLimaConfig *config, const gchar *user_data, GError **error)
{
  g_autoptr (BerthLimaYamlWriter) w = berth_lima_yaml_writer_new (NULL);
  g_autofree gchar *digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, user_data, -1);
  g_autofree gchar *instance_id = g_strdup_printf ("%s-%.12s", config->name, digest);
  g_autofree gchar *hostname = berth_lima_hostname (config->name);

  berth_lima_yaml_writer_mapping_start (w);
  berth_lima_yaml_writer_string (w, "instance-id", instance_id);
  berth_lima_yaml_writer_string (w, "local-hostname", hostname);
  berth_lima_yaml_writer_mapping_end (w);
  return berth_lima_yaml_writer_finish (w, NULL, error);
}

gchar *
berth_lima_cidata_meta_data (const BerthLimaConfig *config, GError **error)
{
  g_autofree gchar *user_data = NULL;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  user_data = user_data_text (config, TRUE, error);
  if (user_data == NULL)
    return NULL;
  return meta_data_text (config, user_data, error);
}

gchar *
berth_lima_cidata_network_config (GError **error)
{
  g_autoptr (BerthLimaYamlWriter) w = berth_lima_yaml_writer_new (NULL);

  /* Static, on QEMU's user network: the same addresses lima.env gives. */
  berth_lima_yaml_writer_mapping_start (w);
  berth_lima_yaml_writer_uint (w, "version", 2);
  berth_lima_yaml_writer_scalar (w, "ethernets", BERTH_LIMA_YAML_STRING);
  berth_lima_yaml_writer_mapping_start (w);
  berth_lima_yaml_writer_scalar (w, "eth0", BERTH_LIMA_YAML_STRING);
  berth_lima_yaml_writer_mapping_start (w);
  berth_lima_yaml_writer_boolean (w, "dhcp4", FALSE);
  berth_lima_yaml_writer_scalar (w, "addresses", BERTH_LIMA_YAML_STRING);
  berth_lima_yaml_writer_sequence_start (w, FALSE);
  berth_lima_yaml_writer_scalar (w, BERTH_LIMA_SLIRP_IP_ADDRESS "/24", BERTH_LIMA_YAML_STRING);
  berth_lima_yaml_writer_sequence_end (w);
  berth_lima_yaml_writer_scalar (w, "routes", BERTH_LIMA_YAML_STRING);
  berth_lima_yaml_writer_sequence_start (w, FALSE);
  berth_lima_yaml_writer_mapping_start (w);
  berth_lima_yaml_writer_string (w, "to", "0.0.0.0/0");
  berth_lima_yaml_writer_string (w, "via", BERTH_LIMA_SLIRP_GATEWAY);
  berth_lima_yaml_writer_mapping_end (w);
  berth_lima_yaml_writer_sequence_end (w);
  berth_lima_yaml_writer_scalar (w, "nameservers", BERTH_LIMA_YAML_STRING);
  berth_lima_yaml_writer_mapping_start (w);
  berth_lima_yaml_writer_scalar (w, "addresses", BERTH_LIMA_YAML_STRING);
  berth_lima_yaml_writer_sequence_start (w, FALSE);
  berth_lima_yaml_writer_scalar (w, BERTH_LIMA_SLIRP_DNS, BERTH_LIMA_YAML_STRING);
  berth_lima_yaml_writer_sequence_end (w);
  berth_lima_yaml_writer_mapping_end (w);
  berth_lima_yaml_writer_mapping_end (w);
  berth_lima_yaml_writer_mapping_end (w);
  berth_lima_yaml_writer_mapping_end (w);
  return berth_lima_yaml_writer_finish (w, NULL, error);
}

/* ------------------------------------------------------------------------ */
/* The ISO                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct
{
  gchar *name;     /* path inside the ISO */
  gchar *contents; /* NULL: a directory */
  guint mode;
} CidataFile;

static void
cidata_file_free (CidataFile *file)
{
  g_free (file->name);
  g_free (file->contents);
  g_free (file);
}

static void
add_file (GPtrArray *files, const gchar *name, gchar *contents, guint mode)
{
  CidataFile *file = g_new0 (CidataFile, 1);

  /* Lima's limit on each name in the ISO. */
  g_assert (strlen (strrchr (name, '/') != NULL ? strrchr (name, '/') + 1 : name)
            <= BERTH_LIMA_CIDATA_NAME_MAX);
  file->name = g_strdup (name);
  file->contents = contents;
  file->mode = mode;
  g_ptr_array_add (files, file);
}

/* Every file of the ISO, in order, or NULL with the error. */
static GPtrArray *
cidata_files (const BerthLimaConfig *config, const gchar *boot_sh, GError **error)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify)cidata_file_free);
  g_autofree gchar *user_data = NULL;
  g_autofree gchar *meta_data = NULL;
  g_autofree gchar *network_config = NULL;
  g_autofree gchar *lima_env = NULL;
  g_autofree gchar *etc_environment = NULL;
  guint n_system = 0, n_user = 0;

  user_data = user_data_text (config, boot_sh != NULL, error);
  if (user_data == NULL)
    return NULL;
  meta_data = meta_data_text (config, user_data, error);
  if (meta_data == NULL)
    return NULL;
  network_config = berth_lima_cidata_network_config (error);
  if (network_config == NULL)
    return NULL;
  lima_env = berth_lima_cidata_lima_env (config, error);
  if (lima_env == NULL)
    return NULL;
  etc_environment = berth_lima_cidata_etc_environment (config, error);
  if (etc_environment == NULL)
    return NULL;

  add_file (files, "user-data", g_steal_pointer (&user_data), 0644);
  add_file (files, "meta-data", g_steal_pointer (&meta_data), 0644);
  add_file (files, "network-config", g_steal_pointer (&network_config), 0644);
  add_file (files, "lima.env", g_steal_pointer (&lima_env), 0644);
  add_file (files, "ssh_authorized_keys", g_strconcat (config->ssh_public_key, "\n", NULL), 0644);
  if (boot_sh != NULL)
    add_file (files, "boot.sh", g_strdup (boot_sh), 0755);
  add_file (files, "etc_environment", g_steal_pointer (&etc_environment), 0644);
  if (config->ca_certificates != NULL)
    add_file (files, "ca-certificates.pem", g_strdup (config->ca_certificates), 0644);
  if (config->proxy_env != NULL)
    add_file (files, "proxy.env",
              berth_proxy_env_to_shell ((const gchar *const *)config->proxy_env), 0644);

  for (guint i = 0; i < config->provisions->len; i++)
    {
      const BerthLimaProvision *provision = g_ptr_array_index (config->provisions, i);
      gboolean user = g_strcmp0 (provision->mode, "user") == 0;
      guint *counter = user ? &n_user : &n_system;
      const gchar *dir = user ? "provision.user" : "provision.system";
      g_autofree gchar *name = NULL;

      if (!user && g_strcmp0 (provision->mode, "system") != 0)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                       "Provision script %u has mode \"%s\"; allowed: system, user", i,
                       provision->mode != NULL ? provision->mode : "");
          return NULL;
        }
      if (*counter > PROVISION_MAX)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                       "More than %d provision scripts of mode %s", PROVISION_MAX, provision->mode);
          return NULL;
        }
      if (*counter == 0)
        add_file (files, dir, NULL, 0755);
      name = g_strdup_printf ("%s/%08u", dir, *counter);
      (*counter)++;
      add_file (files, name, g_strdup (provision->script), 0755);
    }
  return g_steal_pointer (&files);
}

static gboolean
archive_failed (struct archive *archive, const gchar *path, const gchar *what, GError **error)
{
  const gchar *message = archive_error_string (archive);

  g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Could not write %s: %s: %s", path, what,
               message != NULL ? message : "libarchive failed");
  return FALSE;
}

static gboolean
write_iso (int fd, const gchar *iso_path, GPtrArray *files, GError **error)
{
  g_autoptr (ArchiveWriter) archive = archive_write_new ();
  time_t now = time (NULL);

  if (archive == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Could not write %s: out of memory",
                   iso_path);
      return FALSE;
    }
  /* Rock Ridge "strict" keeps the modes as given (the default rewrites them);
   * Joliet carries the lower-case label "cidata" that blkid reports. */
  if (archive_write_set_format_iso9660 (archive) != ARCHIVE_OK
      || archive_write_set_options (archive, "iso9660:volume-id=cidata,iso9660:rockridge=strict,"
                                             "iso9660:joliet,iso9660:!pad")
             != ARCHIVE_OK)
    return archive_failed (archive, iso_path, "setting up ISO 9660", error);
  if (archive_write_open_fd (archive, fd) != ARCHIVE_OK)
    return archive_failed (archive, iso_path, "opening", error);

  for (guint i = 0; i < files->len; i++)
    {
      const CidataFile *file = g_ptr_array_index (files, i);
      g_autoptr (ArchiveEntry) entry = archive_entry_new ();
      gsize size = file->contents != NULL ? strlen (file->contents) : 0;

      archive_entry_set_pathname (entry, file->name);
      archive_entry_set_filetype (entry, file->contents != NULL ? AE_IFREG : AE_IFDIR);
      archive_entry_set_perm (entry, file->mode);
      archive_entry_set_uid (entry, 0);
      archive_entry_set_gid (entry, 0);
      archive_entry_set_mtime (entry, now, 0);
      archive_entry_set_size (entry, (la_int64_t)size);
      if (archive_write_header (archive, entry) != ARCHIVE_OK)
        return archive_failed (archive, iso_path, file->name, error);
      if (size > 0 && archive_write_data (archive, file->contents, size) != (la_ssize_t)size)
        return archive_failed (archive, iso_path, file->name, error);
    }
  if (archive_write_close (archive) != ARCHIVE_OK)
    return archive_failed (archive, iso_path, "finishing", error);
  return TRUE;
}

gboolean
berth_lima_cidata_write (const gchar *iso_path, const BerthLimaConfig *config, const gchar *boot_sh,
                         GError **error)
{
  g_autoptr (GPtrArray) files = NULL;
  g_autofree gchar *temp_path = NULL;
  int fd;
  gboolean ok;

  g_return_val_if_fail (iso_path != NULL, FALSE);
  g_return_val_if_fail (config != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  files = cidata_files (config, boot_sh, error);
  if (files == NULL)
    return FALSE;

  temp_path = g_strconcat (iso_path, ".XXXXXX", NULL);
  fd = g_mkstemp_full (temp_path, O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                   "Could not create a temporary file for %s: %s", iso_path,
                   g_strerror (saved_errno));
      return FALSE;
    }
  ok = write_iso (fd, iso_path, files, error);
  if (ok && fsync (fd) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Could not write %s: %s", iso_path,
                   g_strerror (saved_errno));
      ok = FALSE;
    }
  if (close (fd) != 0 && ok)
    {
      int saved_errno = errno;

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Could not write %s: %s", iso_path,
                   g_strerror (saved_errno));
      ok = FALSE;
    }
  if (ok && g_rename (temp_path, iso_path) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Could not move %s into place: %s",
                   iso_path, g_strerror (saved_errno));
      ok = FALSE;
    }
  if (!ok)
    g_unlink (temp_path);
  return ok;
}
