/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Berth — paths of a Lima-layout instance, names, and the SSH identity. */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "berth-error.h"
#include "berth-file.h"
#include "berth-lima-instance.h"
#include "berth-subprocess.h"

#define PUBLIC_KEY_MAX (16 * 1024)

/* A fallback socket path: <runtime_dir>/<16 hex of sha256(dir)><suffix>. */
static gchar *
fallback_socket (const gchar *runtime_dir, const gchar *dir, const gchar *suffix)
{
  g_autofree gchar *digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, dir, -1);
  g_autofree gchar *base = g_strdup_printf ("%.16s%s", digest, suffix);

  return g_build_filename (runtime_dir, base, NULL);
}

BerthLimaInstance *
berth_lima_instance_new (const gchar *lima_root, const gchar *name, const gchar *runtime_dir)
{
  BerthLimaInstance *instance;
  g_autofree gchar *default_runtime = NULL;
  g_autofree gchar *ssh_sock = NULL;
  g_autofree gchar *qmp_sock = NULL;

  g_return_val_if_fail (lima_root != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if (runtime_dir == NULL)
    runtime_dir = default_runtime = g_build_filename (g_get_user_runtime_dir (), "berth", NULL);

  instance = g_new0 (BerthLimaInstance, 1);
  instance->name = g_strdup (name);
  instance->dir = g_build_filename (lima_root, name, NULL);
  instance->lima_yaml = g_build_filename (instance->dir, "lima.yaml", NULL);
  instance->cidata_iso = g_build_filename (instance->dir, "cidata.iso", NULL);
  instance->basedisk = g_build_filename (instance->dir, "basedisk", NULL);
  instance->diffdisk = g_build_filename (instance->dir, "diffdisk", NULL);
  instance->kernel = g_build_filename (instance->dir, "kernel", NULL);
  instance->initrd = g_build_filename (instance->dir, "initrd", NULL);
  instance->qemu_pid = g_build_filename (instance->dir, "qemu.pid", NULL);
  instance->serial_log = g_build_filename (instance->dir, "serial.log", NULL);
  instance->ha_pid = g_build_filename (instance->dir, "ha.pid", NULL);
  instance->ha_stdout_log = g_build_filename (instance->dir, "ha.stdout.log", NULL);
  instance->ha_stderr_log = g_build_filename (instance->dir, "ha.stderr.log", NULL);
  instance->ssh_config = g_build_filename (instance->dir, "ssh.config", NULL);

  ssh_sock = g_build_filename (instance->dir, "ssh.sock", NULL);
  if (strlen (ssh_sock) > BERTH_LIMA_SSH_SOCK_MAX)
    instance->ssh_sock = fallback_socket (runtime_dir, instance->dir, ".ssh");
  else
    instance->ssh_sock = g_steal_pointer (&ssh_sock);

  qmp_sock = g_build_filename (instance->dir, "qmp.sock", NULL);
  if (strlen (qmp_sock) > BERTH_LIMA_QMP_SOCK_MAX)
    instance->qmp_sock = fallback_socket (runtime_dir, instance->dir, ".qmp");
  else
    instance->qmp_sock = g_steal_pointer (&qmp_sock);

  return instance;
}

void
berth_lima_instance_free (BerthLimaInstance *instance)
{
  if (instance == NULL)
    return;
  g_free (instance->name);
  g_free (instance->dir);
  g_free (instance->lima_yaml);
  g_free (instance->cidata_iso);
  g_free (instance->basedisk);
  g_free (instance->diffdisk);
  g_free (instance->kernel);
  g_free (instance->initrd);
  g_free (instance->qemu_pid);
  g_free (instance->qmp_sock);
  g_free (instance->serial_log);
  g_free (instance->ssh_sock);
  g_free (instance->ha_pid);
  g_free (instance->ha_stdout_log);
  g_free (instance->ha_stderr_log);
  g_free (instance->ssh_config);
  g_free (instance);
}

/* mkdir -p @path with mode 0700; with @tighten, an existing @path is made
 * 0700 too (only for directories that are Berth's alone). */
static gboolean
ensure_private_dir (const gchar *path, const gchar *what, gboolean tighten, GError **error)
{
  if (g_mkdir_with_parents (path, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Could not create the %s %s: %s", what,
                   path, g_strerror (saved_errno));
      return FALSE;
    }
  if (tighten && g_chmod (path, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                   "Could not make the %s %s private (mode 0700): %s", what, path,
                   g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

gboolean
berth_lima_instance_ensure_dir (BerthLimaInstance *instance, GError **error)
{
  g_return_val_if_fail (instance != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!ensure_private_dir (instance->dir, "instance directory", TRUE, error))
    return FALSE;
  /* A socket outside the instance directory lives in the runtime one. */
  for (guint i = 0; i < 2; i++)
    {
      const gchar *socket_path = i == 0 ? instance->ssh_sock : instance->qmp_sock;
      g_autofree gchar *parent = g_path_get_dirname (socket_path);

      if (!g_str_equal (parent, instance->dir)
          && !ensure_private_dir (parent, "runtime directory", FALSE, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
berth_lima_validate_name (const gchar *name, GError **error)
{
  gsize length;
  gboolean ok = TRUE;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (name == NULL)
    name = "";
  length = strlen (name);
  if (length == 0 || length > BERTH_LIMA_NAME_MAX || !g_ascii_isalnum (name[0]))
    ok = FALSE;
  for (gsize i = 1; ok && i < length; i++)
    {
      gchar c = name[i];

      if (!(g_ascii_isalnum (c) || c == '.' || c == '_' || c == '-'))
        ok = FALSE;
    }
  if (!ok)
    {
      /* Quote the name readably whatever bytes it holds, and not all of a
       * huge one. */
      g_autofree gchar *shown = g_strndup (name, MIN (length, 80));
      g_autofree gchar *escaped = g_strescape (shown, NULL);

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "Instance name \"%s%s\" is not allowed: use 1 to %d letters, digits, '.', '_' "
                   "or '-', starting with a letter or digit (names starting with '_' are "
                   "reserved)",
                   escaped, length > 80 ? "…" : "", BERTH_LIMA_NAME_MAX);
      return FALSE;
    }
  return TRUE;
}

/* Runs ssh-keygen with @argv; the error says what it was for. @stdout_out
 * (may be NULL) receives its output. */
static gboolean
run_ssh_keygen (const gchar *const *argv, const gchar *purpose, gchar **stdout_out, GError **error)
{
  g_autoptr (BerthSubprocessResult) result = NULL;
  g_autoptr (GError) local_error = NULL;

  result = berth_subprocess_run_sync (argv, NULL, NULL, NULL, NULL, NULL, &local_error);
  if (result == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                   "Could not run ssh-keygen to %s: %s; install OpenSSH's client tools "
                   "(openssh-client)",
                   purpose, local_error->message);
      return FALSE;
    }
  if (result->exit_status != 0)
    {
      gsize size = 0;
      const gchar *data
          = result->stderr_bytes != NULL ? g_bytes_get_data (result->stderr_bytes, &size) : NULL;
      g_autofree gchar *text = g_utf8_make_valid (data != NULL ? data : "", size);

      g_strstrip (text);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                   "ssh-keygen failed to %s (exit status %d)%s%s", purpose, result->exit_status,
                   text[0] != '\0' ? ": " : "", text);
      return FALSE;
    }
  if (stdout_out != NULL)
    {
      gsize size = 0;
      const gchar *data
          = result->stdout_bytes != NULL ? g_bytes_get_data (result->stdout_bytes, &size) : NULL;

      *stdout_out = g_strndup (data != NULL ? data : "", size);
    }
  return TRUE;
}

/* The one line of a public key, checked; @source names it in messages. */
static gchar *
check_public_key (const gchar *contents, gsize length, const gchar *source, GError **error)
{
  g_autofree gchar *line = NULL;

  if (length > PUBLIC_KEY_MAX || memchr (contents, '\0', length) != NULL
      || !g_utf8_validate (contents, length, NULL))
    line = NULL;
  else
    {
      line = g_strndup (contents, length);
      g_strstrip (line);
    }
  if (line == NULL || line[0] == '\0' || strpbrk (line, "\r\n") != NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "The SSH public key %s is not one line of text; remove it and its private key "
                   "to have Berth make a new identity",
                   source);
      return NULL;
    }
  return g_steal_pointer (&line);
}

gboolean
berth_lima_ensure_identity (const gchar *lima_root, gchar **private_key_path_out,
                            gchar **public_key_out, GError **error)
{
  g_autofree gchar *config_dir = NULL;
  g_autofree gchar *private_path = NULL;
  g_autofree gchar *public_path = NULL;
  g_autofree gchar *public_key = NULL;

  g_return_val_if_fail (lima_root != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  config_dir = g_build_filename (lima_root, "_config", NULL);
  private_path = g_build_filename (config_dir, "user", NULL);
  public_path = g_build_filename (config_dir, "user.pub", NULL);
  if (!ensure_private_dir (config_dir, "SSH identity directory", TRUE, error))
    return FALSE;

  if (!g_file_test (private_path, G_FILE_TEST_EXISTS))
    {
      /* Made under a temporary name and renamed, so that an interrupted or
       * concurrent first run never leaves half an identity behind. */
      g_autofree gchar *nonce = g_strdup_printf ("%08x", g_random_int ());
      g_autofree gchar *temp_base = g_strdup_printf (".user-%s", nonce);
      g_autofree gchar *temp_path = g_build_filename (config_dir, temp_base, NULL);
      g_autofree gchar *temp_public = g_strconcat (temp_path, ".pub", NULL);
      const gchar *argv[]
          = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "berth", "-f", temp_path, NULL };

      if (!run_ssh_keygen (argv, "make Berth's SSH identity", NULL, error))
        {
          g_unlink (temp_path);
          g_unlink (temp_public);
          return FALSE;
        }
      if (g_rename (temp_public, public_path) != 0 || g_rename (temp_path, private_path) != 0)
        {
          int saved_errno = errno;

          g_unlink (temp_path);
          g_unlink (temp_public);
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                       "Could not move the new SSH identity into place as %s: %s", private_path,
                       g_strerror (saved_errno));
          return FALSE;
        }
    }
  /* OpenSSH refuses a private key others can read, ssh-keygen -y too. */
  if (g_chmod (private_path, 0600) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                   "Could not make the SSH private key %s private (mode 0600): %s", private_path,
                   g_strerror (saved_errno));
      return FALSE;
    }

  if (!g_file_test (public_path, G_FILE_TEST_EXISTS))
    {
      const gchar *argv[] = { "ssh-keygen", "-y", "-f", private_path, NULL };
      g_autofree gchar *output = NULL;
      g_autofree gchar *line = NULL;
      g_autofree gchar *text = NULL;

      /* The private key is the identity; its public half can be made again. */
      if (!run_ssh_keygen (argv, "derive user.pub from the private key", &output, error))
        return FALSE;
      line = check_public_key (output, strlen (output), "printed by ssh-keygen -y", error);
      if (line == NULL)
        return FALSE;
      text = g_strconcat (line, "\n", NULL);
      if (!berth_file_replace_contents (public_path, text, strlen (text), 0644, error))
        return FALSE;
    }

  {
    g_autofree gchar *contents = NULL;
    gsize length = 0;
    g_autoptr (GError) local_error = NULL;

    if (!g_file_get_contents (public_path, &contents, &length, &local_error))
      {
        g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                     "Could not read the SSH public key %s: %s", public_path, local_error->message);
        return FALSE;
      }
    public_key = check_public_key (contents, length, public_path, error);
    if (public_key == NULL)
      return FALSE;
  }

  if (private_key_path_out != NULL)
    *private_key_path_out = g_steal_pointer (&private_path);
  if (public_key_out != NULL)
    *public_key_out = g_steal_pointer (&public_key);
  return TRUE;
}
