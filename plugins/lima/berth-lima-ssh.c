/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Berth — SSH into the guest through one ControlMaster connection. */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <glib-unix.h>

#include "berth-error.h"
#include "berth-file.h"
#include "berth-lima-ssh.h"

/* How often start_master tries again while sshd is not up yet. */
#define MASTER_RETRY_MS 250
/* How much of stderr an error quotes. */
#define STDERR_QUOTE_MAX 1000
#define KEX_ALGORITHMS "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256"

BerthLimaSsh *
berth_lima_ssh_new (const gchar *identity_file, const gchar *control_path, const gchar *user,
                    guint16 port, const gchar *logs_dir)
{
  BerthLimaSsh *ssh = g_new0 (BerthLimaSsh, 1);

  ssh->identity_file = g_strdup (identity_file);
  ssh->control_path = g_strdup (control_path);
  ssh->user = g_strdup (user);
  ssh->host = g_strdup ("127.0.0.1");
  ssh->port = port;
  ssh->logs_dir = g_strdup (logs_dir);
  ssh->component = g_strdup ("lima");
  return ssh;
}

BerthLimaSsh *
berth_lima_ssh_copy (const BerthLimaSsh *ssh)
{
  BerthLimaSsh *copy;

  if (ssh == NULL)
    return NULL;
  copy = berth_lima_ssh_new (ssh->identity_file, ssh->control_path, ssh->user, ssh->port,
                             ssh->logs_dir);
  g_free (copy->host);
  copy->host = g_strdup (ssh->host);
  g_free (copy->component);
  copy->component = g_strdup (ssh->component);
  return copy;
}

void
berth_lima_ssh_free (BerthLimaSsh *ssh)
{
  if (ssh == NULL)
    return;
  g_free (ssh->identity_file);
  g_free (ssh->control_path);
  g_free (ssh->user);
  g_free (ssh->host);
  g_free (ssh->logs_dir);
  g_free (ssh->component);
  g_free (ssh);
}

GStrv
berth_lima_ssh_options (const BerthLimaSsh *ssh)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();

  /* No user or system ssh_config: what a person's ~/.ssh/config says about
   * 127.0.0.1 must not change how Berth reaches its guest. */
  g_strv_builder_add_many (b, "-F", "/dev/null", NULL);
  /* Paths go in their own arguments (-i, -S): "-o Name=value" would be
   * parsed like a config line and split at spaces. */
  g_strv_builder_add_many (b, "-i", ssh->identity_file, "-S", ssh->control_path, NULL);
  g_strv_builder_add_many (b, "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no", "-o",
                           "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=/dev/null",
                           "-o", "NoHostAuthenticationForLocalhost=yes", "-o",
                           "PreferredAuthentications=publickey", "-o", "BatchMode=yes", "-o",
                           "LogLevel=ERROR", "-o", "ConnectTimeout=10", NULL);
  /* The post-quantum hybrid key exchange OpenSSH prefers costs the guest
   * about 0.7 s more per handshake under TCG; the connection never leaves
   * the loopback interface. */
  g_strv_builder_add_many (b, "-o", "KexAlgorithms=" KEX_ALGORITHMS, NULL);
  return g_strv_builder_end (b);
}

GStrv
berth_lima_ssh_build_argv (const BerthLimaSsh *ssh, const gchar *const *extra,
                           const gchar *const *remote_argv)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_auto (GStrv) options = berth_lima_ssh_options (ssh);
  g_autofree gchar *port = g_strdup_printf ("%u", ssh->port);
  g_autofree gchar *destination = g_strdup_printf ("%s@%s", ssh->user, ssh->host);

  g_strv_builder_add (b, "ssh");
  g_strv_builder_addv (b, (const gchar **)options);
  g_strv_builder_add_many (b, "-p", port, NULL);
  if (extra != NULL)
    g_strv_builder_addv (b, (const gchar **)extra);
  g_strv_builder_add (b, destination);
  if (remote_argv != NULL && remote_argv[0] != NULL)
    {
      g_autoptr (GString) command = g_string_new (NULL);

      /* ssh hands the guest one string for its shell: quote each word. */
      for (guint i = 0; remote_argv[i] != NULL; i++)
        {
          g_autofree gchar *quoted = g_shell_quote (remote_argv[i]);

          if (i > 0)
            g_string_append_c (command, ' ');
          g_string_append (command, quoted);
        }
      g_strv_builder_add_many (b, "--", command->str, NULL);
    }
  return g_strv_builder_end (b);
}

static gchar *
stderr_text (BerthSubprocessResult *result)
{
  gsize length = 0;
  const gchar *data;
  g_autofree gchar *text = NULL;

  if (result->stderr_bytes == NULL)
    return g_strdup ("");
  data = g_bytes_get_data (result->stderr_bytes, &length);
  if (length > STDERR_QUOTE_MAX)
    {
      data += length - STDERR_QUOTE_MAX;
      length = STDERR_QUOTE_MAX;
    }
  text = g_utf8_make_valid (data, (gssize)length);
  return g_strdup (g_strstrip (text));
}

static BerthSubprocessResult *
run (BerthLimaSsh *ssh, GStrv argv, GBytes *stdin_bytes, GCancellable *cancellable, GError **error)
{
  BerthSubprocessResult *result
      = berth_subprocess_run_sync ((const gchar *const *)argv, NULL, stdin_bytes, ssh->logs_dir,
                                   ssh->component, cancellable, error);

  if (result == NULL)
    berth_error_convert (error);
  return result;
}

gboolean
berth_lima_ssh_check_master (BerthLimaSsh *ssh, GCancellable *cancellable)
{
  const gchar *extra[] = { "-O", "check", NULL };
  g_auto (GStrv) argv = NULL;
  g_autoptr (BerthSubprocessResult) result = NULL;

  if (!g_file_test (ssh->control_path, G_FILE_TEST_EXISTS))
    return FALSE;
  argv = berth_lima_ssh_build_argv (ssh, extra, NULL);
  result = berth_subprocess_run_sync ((const gchar *const *)argv, NULL, NULL, NULL, NULL,
                                      cancellable, NULL);
  return result != NULL && result->exit_status == 0;
}

void
berth_lima_ssh_stop_master (BerthLimaSsh *ssh)
{
  const gchar *extra[] = { "-O", "exit", NULL };
  g_auto (GStrv) argv = NULL;
  g_autoptr (BerthSubprocessResult) result = NULL;

  if (g_file_test (ssh->control_path, G_FILE_TEST_EXISTS))
    {
      argv = berth_lima_ssh_build_argv (ssh, extra, NULL);
      result = berth_subprocess_run_sync ((const gchar *const *)argv, NULL, NULL, NULL, NULL, NULL,
                                          NULL);
    }
  g_unlink (ssh->control_path);
}

gboolean
berth_lima_ssh_start_master (BerthLimaSsh *ssh, guint timeout_seconds, GCancellable *cancellable,
                             GError **error)
{
  const gchar *extra[] = { "-o", "ControlMaster=yes",         "-o", "ControlPersist=yes",
                           "-o", "ServerAliveInterval=5",     "-o", "ServerAliveCountMax=3",
                           "-o", "StreamLocalBindUnlink=yes", "-f", "-N",
                           NULL };
  g_auto (GStrv) argv = berth_lima_ssh_build_argv (ssh, extra, NULL);
  gint64 deadline = g_get_monotonic_time () + (gint64)timeout_seconds * G_USEC_PER_SEC;
  g_autofree gchar *last = NULL;
  guint attempts = 0;

  /* A socket left by a master that died makes ssh give up multiplexing and
   * stay in the foreground as a plain connection. */
  if (g_file_test (ssh->control_path, G_FILE_TEST_EXISTS))
    {
      if (berth_lima_ssh_check_master (ssh, cancellable))
        return TRUE;
      g_unlink (ssh->control_path);
    }

  for (;;)
    {
      g_autoptr (BerthSubprocessResult) result = run (ssh, argv, NULL, cancellable, error);

      attempts++;
      if (result == NULL)
        return FALSE;
      if (result->exit_status == 0)
        return TRUE;
      g_free (last);
      last = stderr_text (result);
      if (g_get_monotonic_time () + MASTER_RETRY_MS * 1000 > deadline)
        break;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          berth_error_convert (error);
          return FALSE;
        }
      g_usleep (MASTER_RETRY_MS * 1000);
      g_unlink (ssh->control_path);
    }
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND,
               "SSH to the guest (%s@%s port %u, key %s) failed %u times in %u s; the last "
               "error: %s",
               ssh->user, ssh->host, ssh->port, ssh->identity_file, attempts, timeout_seconds,
               last != NULL && last[0] != '\0' ? last : "(ssh said nothing)");
  return FALSE;
}

BerthSubprocessResult *
berth_lima_ssh_exec (BerthLimaSsh *ssh, const gchar *const *argv, GBytes *stdin_bytes,
                     GCancellable *cancellable, GError **error)
{
  const gchar *extra[] = { "-o", "ControlMaster=no", NULL };
  g_auto (GStrv) ssh_argv = NULL;
  g_autoptr (BerthSubprocessResult) result = NULL;

  g_return_val_if_fail (argv != NULL && argv[0] != NULL, NULL);

  ssh_argv = berth_lima_ssh_build_argv (ssh, extra, argv);
  result = run (ssh, ssh_argv, stdin_bytes, cancellable, error);
  if (result == NULL)
    return NULL;
  /* 255 is ssh's own failure; a command may exit 255 too, so ask the
   * master whether the connection is still there. */
  if (result->exit_status == 255 && !berth_lima_ssh_check_master (ssh, cancellable))
    {
      g_autofree gchar *text = stderr_text (result);

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND,
                   "Cannot reach the guest over SSH (%s@%s port %u) to run %s: %s", ssh->user,
                   ssh->host, ssh->port, argv[0], text[0] != '\0' ? text : "(ssh said nothing)");
      return NULL;
    }
  return g_steal_pointer (&result);
}

/* A command run as root that failed: an error naming @what and quoting
 * stderr. */
static gboolean
check_root_command (BerthSubprocessResult *result, const gchar *what, GError **error)
{
  g_autofree gchar *text = NULL;

  if (result->exit_status == 0)
    return TRUE;
  text = stderr_text (result);
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND, "%s failed in the guest (status %d): %s",
               what, result->exit_status, text[0] != '\0' ? text : "(no message)");
  return FALSE;
}

static gboolean
check_guest_path (const gchar *guest_path, GError **error)
{
  if (guest_path == NULL || !g_path_is_absolute (guest_path) || strchr (guest_path, '\n') != NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "The guest path \"%s\" is not allowed; use an absolute path without newlines",
                   guest_path != NULL ? guest_path : "(null)");
      return FALSE;
    }
  return TRUE;
}

gboolean
berth_lima_ssh_write_file (BerthLimaSsh *ssh, const gchar *guest_path, GBytes *contents, guint mode,
                           GCancellable *cancellable, GError **error)
{
  /* The positional parameters carry the path and mode, so nothing from the
   * caller is parsed by the guest's shell. */
  static const gchar script[]
      = "set -e; dir=$(dirname \"$1\"); mkdir -p \"$dir\"; tmp=\"$1.berth-new.$$\"; "
        "trap 'rm -f \"$tmp\"' EXIT; cat >\"$tmp\"; chmod \"$2\" \"$tmp\"; mv -f \"$tmp\" \"$1\"; "
        "trap - EXIT";
  g_autofree gchar *mode_text = g_strdup_printf ("%04o", mode & 07777);
  const gchar *argv[] = { "sudo", "-n", "sh", "-c", script, "sh", guest_path, mode_text, NULL };
  g_autoptr (BerthSubprocessResult) result = NULL;
  g_autofree gchar *what = NULL;

  if (!check_guest_path (guest_path, error))
    return FALSE;
  result = berth_lima_ssh_exec (ssh, argv, contents, cancellable, error);
  if (result == NULL)
    return FALSE;
  what = g_strdup_printf ("Writing %s", guest_path);
  return check_root_command (result, what, error);
}

static gboolean
copy_directory (BerthLimaSsh *ssh, const gchar *host_path, const gchar *guest_path,
                GCancellable *cancellable, GError **error)
{
  static const gchar script[]
      = "set -e; rm -rf \"$1\"; mkdir -p \"$1\"; tar -x -f - -C \"$1\" --no-same-owner";
  const gchar *remote[] = { "sudo", "-n", "sh", "-c", script, "sh", guest_path, NULL };
  const gchar *extra[] = { "-o", "ControlMaster=no", NULL };
  const gchar *tar_argv[] = { "tar", "-C", host_path, "-c", "-f", "-", ".", NULL };
  g_auto (GStrv) ssh_argv = berth_lima_ssh_build_argv (ssh, extra, remote);
  g_autoptr (GSubprocessLauncher) tar_launcher = NULL;
  g_autoptr (GSubprocessLauncher) ssh_launcher = NULL;
  g_autoptr (GSubprocess) tar = NULL;
  g_autoptr (GSubprocess) remote_tar = NULL;
  g_autofree gchar *ssh_stderr = NULL;
  g_autofree gchar *tar_stderr = NULL;
  gint fds[2];

  if (!g_unix_open_pipe (fds, FD_CLOEXEC, error))
    {
      berth_error_convert (error);
      return FALSE;
    }
  tar_launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_take_stdout_fd (tar_launcher, fds[1]);
  ssh_launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_PIPE
                                            | G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_take_stdin_fd (ssh_launcher, fds[0]);

  tar = g_subprocess_launcher_spawnv (tar_launcher, tar_argv, error);
  if (tar == NULL)
    {
      /* The launchers own both ends and close them. */
      berth_error_convert (error);
      return FALSE;
    }
  remote_tar = g_subprocess_launcher_spawnv (ssh_launcher, (const gchar *const *)ssh_argv, error);
  /* The launchers hold the pipe's ends until they go: let them go now so
   * that the reader sees the end of the archive. */
  g_clear_object (&tar_launcher);
  g_clear_object (&ssh_launcher);
  if (remote_tar == NULL)
    {
      g_subprocess_force_exit (tar);
      g_subprocess_wait (tar, NULL, NULL);
      berth_error_convert (error);
      return FALSE;
    }
  if (!g_subprocess_communicate_utf8 (tar, NULL, cancellable, NULL, &tar_stderr, error)
      || !g_subprocess_communicate_utf8 (remote_tar, NULL, cancellable, NULL, &ssh_stderr, error))
    {
      g_subprocess_force_exit (tar);
      g_subprocess_force_exit (remote_tar);
      berth_error_convert (error);
      return FALSE;
    }
  if (g_subprocess_get_exit_status (tar) != 0)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                   "tar could not read %s to copy it into the guest: %s", host_path,
                   tar_stderr != NULL ? g_strstrip (tar_stderr) : "(no message)");
      return FALSE;
    }
  if (g_subprocess_get_exit_status (remote_tar) != 0)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND,
                   "Copying %s to %s in the guest failed (status %d): %s", host_path, guest_path,
                   g_subprocess_get_exit_status (remote_tar),
                   ssh_stderr != NULL ? g_strstrip (ssh_stderr) : "(no message)");
      return FALSE;
    }
  return TRUE;
}

gboolean
berth_lima_ssh_copy_in (BerthLimaSsh *ssh, const gchar *host_path, const gchar *guest_path,
                        GCancellable *cancellable, GError **error)
{
  GStatBuf st;

  if (!check_guest_path (guest_path, error))
    return FALSE;
  if (g_stat (host_path, &st) != 0)
    {
      int saved = errno;

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND, "Cannot copy %s into the guest: %s",
                   host_path, g_strerror (saved));
      return FALSE;
    }
  if (S_ISDIR (st.st_mode))
    return copy_directory (ssh, host_path, guest_path, cancellable, error);
  if (S_ISREG (st.st_mode))
    {
      g_autoptr (GMappedFile) mapped = g_mapped_file_new (host_path, FALSE, error);
      g_autoptr (GBytes) bytes = NULL;

      if (mapped == NULL)
        {
          berth_error_convert (error);
          return FALSE;
        }
      bytes = g_mapped_file_get_bytes (mapped);
      return berth_lima_ssh_write_file (ssh, guest_path, bytes, st.st_mode & 07777, cancellable,
                                        error);
    }
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
               "Cannot copy %s into the guest: it is neither a file nor a directory", host_path);
  return FALSE;
}

gboolean
berth_lima_ssh_forward_socket (BerthLimaSsh *ssh, const gchar *guest_path, const gchar *host_path,
                               GCancellable *cancellable, GError **error)
{
  g_autofree gchar *spec = NULL;
  g_autofree gchar *dir = NULL;
  g_auto (GStrv) argv = NULL;
  g_autoptr (BerthSubprocessResult) result = NULL;

  if (!check_guest_path (guest_path, error))
    return FALSE;
  if (!g_path_is_absolute (host_path) || strchr (host_path, ':') != NULL
      || strchr (guest_path, ':') != NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "Cannot forward %s to %s: both must be absolute paths without ':' (ssh -L "
                   "splits at ':')",
                   guest_path, host_path);
      return FALSE;
    }
  dir = g_path_get_dirname (host_path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Cannot create %s for %s: %s", dir,
                   host_path, g_strerror (saved));
      return FALSE;
    }
  g_unlink (host_path);
  spec = g_strdup_printf ("%s:%s", host_path, guest_path);
  {
    const gchar *extra[] = { "-O", "forward", "-L", spec, NULL };

    argv = berth_lima_ssh_build_argv (ssh, extra, NULL);
  }
  result = run (ssh, argv, NULL, cancellable, error);
  if (result == NULL)
    return FALSE;
  if (result->exit_status != 0)
    {
      g_autofree gchar *text = stderr_text (result);

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND,
                   "Forwarding the guest's %s to %s failed: %s", guest_path, host_path,
                   text[0] != '\0' ? text : "(ssh said nothing)");
      return FALSE;
    }
  return TRUE;
}

gchar *
berth_lima_ssh_port_forward_spec (guint16 host_port, const gchar *target, guint16 guest_port)
{
  g_autoptr (GInetAddress) address = NULL;

  if (target == NULL || host_port == 0 || guest_port == 0)
    return NULL;
  address = g_inet_address_new_from_string (target);
  if (address == NULL)
    return NULL;
  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("127.0.0.1:%u:[%s]:%u", host_port, target, guest_port);
  return g_strdup_printf ("127.0.0.1:%u:%s:%u", host_port, target, guest_port);
}

/* ssh -O @operation -L <spec> through the master. */
static gboolean
control_port_forward (BerthLimaSsh *ssh, const gchar *operation, guint16 host_port,
                      const gchar *target, guint16 guest_port, GCancellable *cancellable,
                      GError **error)
{
  g_autofree gchar *spec = berth_lima_ssh_port_forward_spec (host_port, target, guest_port);
  g_auto (GStrv) argv = NULL;
  g_autoptr (BerthSubprocessResult) result = NULL;
  g_autofree gchar *text = NULL;
  gboolean forward = g_str_equal (operation, "forward");

  if (spec == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "Cannot forward the guest's %s port %u to 127.0.0.1:%u on the host: \"%s\" is "
                   "not an IP address",
                   target != NULL ? target : "(null)", guest_port, host_port,
                   target != NULL ? target : "(null)");
      return FALSE;
    }
  {
    const gchar *extra[] = { "-O", operation, "-L", spec, NULL };

    argv = berth_lima_ssh_build_argv (ssh, extra, NULL);
  }
  result = run (ssh, argv, NULL, cancellable, error);
  if (result == NULL)
    return FALSE;
  if (result->exit_status == 0)
    return TRUE;
  text = stderr_text (result);
  if (forward && !berth_lima_ssh_check_master (ssh, cancellable))
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND,
                 "Cannot forward 127.0.0.1:%u to the guest's port %u: the SSH master (%s) does "
                 "not answer: %s",
                 host_port, guest_port, ssh->control_path,
                 text[0] != '\0' ? text : "(ssh said nothing)");
  else if (forward)
    /* The master answers, so it could not listen: the port is taken. */
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_BUSY,
                 "Cannot forward 127.0.0.1:%u to the guest's port %u: the host port is in use "
                 "by another program (ssh: %s); free it, and the forward is tried again when the "
                 "guest's ports next change",
                 host_port, guest_port, text[0] != '\0' ? text : "(ssh said nothing)");
  else
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND,
                 "Cannot end the forward of 127.0.0.1:%u to the guest's port %u: %s", host_port,
                 guest_port, text[0] != '\0' ? text : "(ssh said nothing)");
  return FALSE;
}

gboolean
berth_lima_ssh_forward_port (BerthLimaSsh *ssh, guint16 host_port, const gchar *target,
                             guint16 guest_port, GCancellable *cancellable, GError **error)
{
  return control_port_forward (ssh, "forward", host_port, target, guest_port, cancellable, error);
}

gboolean
berth_lima_ssh_cancel_port_forward (BerthLimaSsh *ssh, guint16 host_port, const gchar *target,
                                    guint16 guest_port, GCancellable *cancellable, GError **error)
{
  return control_port_forward (ssh, "cancel", host_port, target, guest_port, cancellable, error);
}

gboolean
berth_lima_ssh_write_config (const BerthLimaSsh *ssh, const gchar *path, const gchar *host_alias,
                             GError **error)
{
  g_autoptr (GString) text = g_string_new (NULL);

  if (strchr (ssh->identity_file, '"') != NULL || strchr (ssh->control_path, '"') != NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "Cannot write %s: the paths %s and %s must not contain '\"' (ssh_config "
                   "cannot quote it)",
                   path, ssh->identity_file, ssh->control_path);
      return FALSE;
    }
  g_string_append_printf (text,
                          "# Written by Berth; edits are overwritten on start.\n"
                          "# ssh -F %s %s\n"
                          "Host %s\n"
                          "  HostName %s\n"
                          "  Port %u\n"
                          "  User %s\n"
                          "  IdentityFile \"%s\"\n"
                          "  IdentitiesOnly yes\n"
                          "  StrictHostKeyChecking no\n"
                          "  UserKnownHostsFile /dev/null\n"
                          "  NoHostAuthenticationForLocalhost yes\n"
                          "  PreferredAuthentications publickey\n"
                          "  BatchMode yes\n"
                          "  LogLevel ERROR\n"
                          "  KexAlgorithms " KEX_ALGORITHMS "\n"
                          "  ControlMaster auto\n"
                          "  ControlPath \"%s\"\n"
                          "  ControlPersist yes\n",
                          path, host_alias, host_alias, ssh->host, ssh->port, ssh->user,
                          ssh->identity_file, ssh->control_path);
  return berth_file_replace_contents (path, text->str, text->len, 0600, error);
}
