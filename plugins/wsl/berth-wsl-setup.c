/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Berth — the WSL backend's sequences. */

#include "config.h"

#include <errno.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <glib/gstdio.h>

#include <berth-ca-bundle.h>
#include <berth-error.h>

#include "berth-wsl-setup.h"

typedef struct archive BerthWslArchiveReader;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthWslArchiveReader, archive_read_free)

#define OS_RELEASE_MAX (64 * 1024)
#define MAX_CA_CERTS 2000
#define CA_DIR "/usr/local/share/ca-certificates"
#define READY_MARKER "berth-guest: ready"
#define INIT_TAIL_LINES 15

/* The data distribution's directories, bind-mounted over the main one's:
 * what the engine and k3s keep (images, volumes, the cluster) survives an
 * upgrade of the main distribution. */
static const gchar *const data_dirs[] = { "/etc/rancher", "/var/lib", NULL };

/* What the data distribution needs besides its data to start in WSL. */
static const gchar *const data_required[] = {
  "/bin/busybox", "/bin/mount", "/bin/sh", "/lib", "/etc/wsl.conf", "/etc/passwd", NULL,
};

void
berth_wsl_setup_clear (BerthWslSetup *setup)
{
  g_clear_pointer (&setup->bundled_version, g_free);
  g_clear_pointer (&setup->installed_version, g_free);
}

static void
progress (BerthWslSetup *setup, const gchar *description)
{
  if (setup->progress != NULL)
    setup->progress (description, setup->progress_data);
}

static gboolean
cancelled (GCancellable *cancellable, GError **error)
{
  if (!g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  berth_error_convert (error);
  return TRUE;
}

/* ---- the tarball ----------------------------------------------------------- */

gchar *
berth_wsl_tarball_version_id (const gchar *tarball, GError **error)
{
  g_autoptr (BerthWslArchiveReader) reader = archive_read_new ();
  struct archive_entry *entry;
  g_autofree gchar *link_target = NULL;
  int status;

  archive_read_support_filter_all (reader);
  archive_read_support_format_tar (reader);
  archive_read_support_format_gnutar (reader);
  if (archive_read_open_filename (reader, tarball, 64 * 1024) != ARCHIVE_OK)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                   "Cannot read the WSL distribution's tarball %s: %s", tarball,
                   archive_error_string (reader));
      return NULL;
    }
  /* The first pass finds etc/os-release; when it is a link (Debian's points
   * at ../usr/lib/os-release), a second pass reads its target. */
  for (guint pass = 0; pass < 2; pass++)
    {
      const gchar *wanted = pass == 0 ? "etc/os-release" : link_target;

      if (pass == 1)
        {
          archive_read_free (g_steal_pointer (&reader));
          reader = archive_read_new ();
          archive_read_support_filter_all (reader);
          archive_read_support_format_tar (reader);
          archive_read_support_format_gnutar (reader);
          if (archive_read_open_filename (reader, tarball, 64 * 1024) != ARCHIVE_OK)
            break;
        }
      while ((status = archive_read_next_header (reader, &entry)) == ARCHIVE_OK
             || status == ARCHIVE_WARN)
        {
          const gchar *name = archive_entry_pathname (entry);
          g_autofree gchar *buffer = NULL;
          la_ssize_t n;
          gsize have = 0;

          if (name == NULL)
            continue;
          while (g_str_has_prefix (name, "./"))
            name += 2;
          while (name[0] == '/')
            name++;
          if (!g_str_equal (name, wanted))
            continue;
          if (pass == 0 && archive_entry_symlink (entry) != NULL)
            {
              const gchar *target = archive_entry_symlink (entry);

              /* Relative to etc/, or absolute within the tree. */
              if (target[0] == '/')
                link_target = g_strdup (target + 1);
              else if (g_str_has_prefix (target, "../"))
                link_target = g_strdup (target + 3);
              else
                link_target = g_strconcat ("etc/", target, NULL);
              break;
            }
          buffer = g_malloc (OS_RELEASE_MAX);
          while (have < OS_RELEASE_MAX
                 && (n = archive_read_data (reader, buffer + have, OS_RELEASE_MAX - have)) > 0)
            have += (gsize)n;
          {
            gchar *version = berth_wsl_os_release_version_id (buffer, have);

            if (version != NULL)
              return version;
          }
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                       "The WSL distribution's tarball %s has an os-release without a "
                       "VERSION_ID; Berth compares it to decide when to upgrade, so build the "
                       "tarball with data/guest/build-image.sh --wsl",
                       tarball);
          return NULL;
        }
      if (status == ARCHIVE_FATAL)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                       "The WSL distribution's tarball %s cannot be read: %s", tarball,
                       archive_error_string (reader));
          return NULL;
        }
      if (link_target == NULL)
        break;
    }
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
               "The WSL distribution's tarball %s has no etc/os-release with a VERSION_ID; build "
               "it with data/guest/build-image.sh --wsl",
               tarball);
  return NULL;
}

/* ---- WSL itself ------------------------------------------------------------ */

gboolean
berth_wsl_check_wsl2 (BerthWslExe *exe, GCancellable *cancellable, GError **error)
{
  g_autoptr (BerthWslStatus) status = berth_wsl_exe_status (exe, cancellable, error);

  if (status == NULL)
    return FALSE;
  if (status->wsl2_problem != NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                   "WSL 2 cannot run on this Windows (`wsl.exe --status` says so); Berth needs "
                   "WSL 2. To fix it, %s",
                   status->wsl2_problem);
      return FALSE;
    }
  if (status->default_version == 1)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                   "WSL's default version is 1 (`wsl.exe --status`): this Windows runs WSL 1 "
                   "only, and Berth needs WSL 2. Run `wsl.exe --set-default-version 2`; if it "
                   "fails, turn on the Virtual Machine Platform feature with `wsl.exe --install "
                   "--no-distribution` (as administrator), run `wsl.exe --update` and restart "
                   "Windows");
      return FALSE;
    }
  return TRUE;
}

gboolean
berth_wsl_terminate (BerthWslExe *exe, const gchar *distro, GCancellable *cancellable,
                     GError **error)
{
  const gchar *const args[] = { "--terminate", distro, NULL };
  g_autoptr (BerthSubprocessResult) result = NULL;
  g_autoptr (GPtrArray) distros = NULL;
  g_autofree gchar *what = NULL;

  result = berth_wsl_exe_run (exe, args, NULL, cancellable, error);
  if (result == NULL)
    return FALSE;
  if (result->exit_status == 0)
    return TRUE;
  /* A distribution that is not registered (yet) has nothing to stop; one
   * that is registered and still runs is a failure. */
  distros = berth_wsl_exe_list (exe, cancellable, error);
  if (distros == NULL)
    return FALSE;
  {
    BerthWslDistro *found = berth_wsl_find_distro (distros, distro);

    if (found == NULL || !berth_wsl_distro_is_running (found))
      return TRUE;
  }
  what = g_strdup_printf ("Stopping the WSL distribution %s", distro);
  return berth_wsl_exe_check (exe, what, args, cancellable, error);
}

static gboolean
is_registered (BerthWslExe *exe, const gchar *name, BerthWslDistro **copy_out,
               GCancellable *cancellable, GError **error, gboolean *registered)
{
  g_autoptr (GPtrArray) distros = berth_wsl_exe_list (exe, cancellable, error);
  BerthWslDistro *found;

  if (distros == NULL)
    return FALSE;
  found = berth_wsl_find_distro (distros, name);
  *registered = found != NULL;
  if (copy_out != NULL && found != NULL)
    {
      *copy_out = g_new0 (BerthWslDistro, 1);
      (*copy_out)->name = g_strdup (found->name);
      (*copy_out)->state = g_strdup (found->state);
      (*copy_out)->version = found->version;
      (*copy_out)->is_default = found->is_default;
    }
  return TRUE;
}

/* ---- in a distribution ------------------------------------------------------ */

static gchar *
exec_text (BerthWslSetup *setup, const gchar *distro, const gchar *const *argv,
           GCancellable *cancellable, GError **error)
{
  return berth_wsl_exe_exec_check (setup->exe, distro, "root", argv, NULL, cancellable, error);
}

static gboolean
exec_ok (BerthWslSetup *setup, const gchar *distro, const gchar *const *argv,
         const BerthWslRunOptions *options, GCancellable *cancellable, GError **error)
{
  g_autofree gchar *out
      = berth_wsl_exe_exec_check (setup->exe, distro, "root", argv, options, cancellable, error);

  return out != NULL;
}

/* Whether `busybox [ -e PATH ]` (or -d) holds in @distro. */
static gboolean
path_test (BerthWslSetup *setup, const gchar *distro, const gchar *test, const gchar *path,
           gboolean *holds, GCancellable *cancellable, GError **error)
{
  const gchar *const argv[] = { "/bin/busybox", "test", test, path, NULL };
  g_autoptr (BerthSubprocessResult) result
      = berth_wsl_exe_exec (setup->exe, distro, "root", argv, NULL, cancellable, error);

  if (result == NULL)
    return FALSE;
  *holds = result->exit_status == 0;
  return TRUE;
}

gboolean
berth_wsl_write_file (BerthWslExe *exe, const gchar *distro, const gchar *guest_path,
                      GBytes *contents, const gchar *host_path, guint mode,
                      GCancellable *cancellable, GError **error)
{
  /* The path and mode are arguments, never part of the script. */
  static const gchar script[]
      = "set -e; dir=$(dirname \"$1\"); mkdir -p \"$dir\"; tmp=\"$1.berth-new\"; "
        "cat > \"$tmp\"; chmod \"$2\" \"$tmp\"; mv -f \"$tmp\" \"$1\"";
  g_autofree gchar *mode_text = g_strdup_printf ("%o", mode & 07777);
  const gchar *const argv[] = { "/bin/sh", "-c", script, "sh", guest_path, mode_text, NULL };
  BerthWslRunOptions options = { 0 };
  g_autofree gchar *out = NULL;

  if (guest_path[0] != '/')
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is not an absolute path in the WSL distribution %s", guest_path, distro);
      return FALSE;
    }
  options.stdin_bytes = contents;
  options.stdin_path = host_path;
  out = berth_wsl_exe_exec_check (exe, distro, "root", argv, &options, cancellable, error);
  if (out == NULL)
    {
      g_prefix_error (error, "Writing %s in the WSL distribution %s: ", guest_path, distro);
      return FALSE;
    }
  return TRUE;
}

/* ---- the distributions ------------------------------------------------------- */

static gboolean
import_distro (BerthWslSetup *setup, const gchar *name, const gchar *dir, const gchar *tarball,
               GCancellable *cancellable, GError **error)
{
  const gchar *const args[] = { "--import", name, dir, tarball, "--version", "2", NULL };
  g_autofree gchar *what = g_strdup_printf ("Registering the WSL distribution %s", name);
  g_autoptr (BerthWslDistro) found = NULL;
  gboolean registered = FALSE;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                   "Cannot create %s for the WSL distribution %s: %s", dir, name,
                   g_strerror (saved));
      return FALSE;
    }
  if (!berth_wsl_exe_check (setup->exe, what, args, cancellable, error))
    return FALSE;
  if (!is_registered (setup->exe, name, &found, cancellable, error, &registered))
    return FALSE;
  if (!registered)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND,
                   "wsl.exe --import said it registered %s from %s, but `wsl.exe --list` does "
                   "not show it; see wsl.log, run `wsl.exe --update` and try again",
                   name, tarball);
      return FALSE;
    }
  if (found->version != 2)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                   "The WSL distribution %s was registered as WSL %u, and Berth needs WSL 2: "
                   "turn on the Virtual Machine Platform feature (`wsl.exe --install "
                   "--no-distribution` as administrator), run `wsl.exe --update`, then reset "
                   "Berth (`berthctl factory-reset`)",
                   name, found->version);
      return FALSE;
    }
  return TRUE;
}

static gchar *
distro_version (BerthWslSetup *setup, GCancellable *cancellable, GError **error)
{
  static const gchar *const argv[] = {
    "/bin/sh",
    "-c",
    "[ -e /etc/os-release ] && . /etc/os-release; echo \"${VERSION_ID:-0.1}\"",
    NULL,
  };
  g_autofree gchar *out = exec_text (setup, setup->distro, argv, cancellable, error);

  if (out == NULL)
    return NULL;
  return g_strstrip (g_strdup (out));
}

/* Creates the data distribution from the main one's skeleton and data
 * directories, or copies into it the data directories it lacks. */
static gboolean
init_data_distribution (BerthWslSetup *setup, GCancellable *cancellable, GError **error)
{
  gboolean registered = FALSE;
  g_autoptr (GStrvBuilder) members = g_strv_builder_new ();
  g_autofree gchar *archive_path = g_build_filename (setup->work_dir, "data.tar", NULL);
  BerthWslRunOptions options = { 0 };
  g_auto (GStrv) argv = NULL;
  gboolean ok;

  if (!is_registered (setup->exe, setup->data_distro, NULL, cancellable, error, &registered))
    return FALSE;
  g_strv_builder_add_many (members, "/bin/busybox", "tar", "-cf", "-", "-C", "/", NULL);
  if (!registered)
    {
      static const gchar script[] = "for d in /etc/rancher /var/lib; do mkdir -p \"$d\"; done; "
                                    "shift; for f; do [ -e \"$f\" ] && echo \"${f#/}\"; done; true";
      g_autoptr (GStrvBuilder) probe = g_strv_builder_new ();
      g_auto (GStrv) probe_argv = NULL;
      g_auto (GStrv) found = NULL;
      g_autofree gchar *out = NULL;

      progress (setup, "Initializing the WSL data distribution");
      /* One call: the data directories made, the required files that exist
       * named (they differ between versions of the distribution). */
      g_strv_builder_add_many (probe, "/bin/busybox", "sh", "-c", script, "sh", "-", NULL);
      g_strv_builder_addv (probe, (const char **)data_required);
      probe_argv = g_strv_builder_end (probe);
      out = exec_text (setup, setup->distro, (const gchar *const *)probe_argv, cancellable, error);
      if (out == NULL)
        return FALSE;
      found = g_strsplit (out, "\n", -1);
      for (guint i = 0; found[i] != NULL; i++)
        for (guint k = 0; data_required[k] != NULL; k++)
          if (g_str_equal (found[i], data_required[k] + 1))
            g_strv_builder_add (members, data_required[k] + 1);
      for (guint i = 0; data_dirs[i] != NULL; i++)
        g_strv_builder_add (members, data_dirs[i] + 1);
    }
  else
    {
      guint missing = 0;

      progress (setup, "Updating the WSL data distribution");
      for (guint i = 0; data_dirs[i] != NULL; i++)
        {
          gboolean exists = FALSE;

          if (!path_test (setup, setup->data_distro, "-d", data_dirs[i], &exists, cancellable,
                          error))
            return FALSE;
          if (!exists)
            {
              g_strv_builder_add (members, data_dirs[i] + 1);
              missing++;
            }
        }
      if (missing == 0)
        return TRUE;
    }

  /* The archive comes out on standard output, into a file of the host's:
   * no path needs translating between Windows and Linux. */
  argv = g_strv_builder_end (members);
  options.stdout_path = archive_path;
  ok = exec_ok (setup, setup->distro, (const gchar *const *)argv, &options, cancellable, error);
  if (ok && !registered)
    ok = import_distro (setup, setup->data_distro, setup->data_dir, archive_path, cancellable,
                        error);
  else if (ok)
    {
      static const gchar *const extract[] = { "/bin/busybox", "tar", "-xf", "-", "-C", "/", NULL };
      BerthWslRunOptions in = { 0 };

      in.stdin_path = archive_path;
      ok = exec_ok (setup, setup->data_distro, extract, &in, cancellable, error);
    }
  g_unlink (archive_path);
  return ok;
}

/* The data distribution's root at BERTH_WSL_DATA_MOUNT (kept while the WSL
 * VM runs, unless its device went away), and its directories over the main
 * distribution's. */
static gboolean
mount_data (BerthWslSetup *setup, GCancellable *cancellable, GError **error)
{
  static const gchar *const mkdir_argv[]
      = { "/bin/busybox", "mkdir", "-p", BERTH_WSL_DATA_MOUNT, NULL };
  static const gchar *const mountinfo_argv[]
      = { "/bin/busybox", "cat", "/proc/self/mountinfo", NULL };
  g_autofree gchar *mountinfo = NULL;
  g_autoptr (GPtrArray) mounts = NULL;
  gboolean valid = FALSE;

  progress (setup, "Mounting the WSL data");
  if (!exec_ok (setup, setup->distro, mkdir_argv, NULL, cancellable, error))
    return FALSE;
  mountinfo = exec_text (setup, setup->data_distro, mountinfo_argv, cancellable, error);
  if (mountinfo == NULL)
    return FALSE;
  mounts = berth_wsl_parse_mountinfo (mountinfo);
  for (guint i = 0; i < mounts->len; i++)
    {
      BerthWslMount *mount = g_ptr_array_index (mounts, i);
      gboolean exists = FALSE;

      if (!g_str_equal (mount->mount_point, BERTH_WSL_DATA_MOUNT))
        continue;
      if (!path_test (setup, setup->data_distro, "-e", mount->source, &exists, cancellable, error))
        return FALSE;
      if (exists)
        {
          valid = TRUE;
          continue;
        }
      /* The device is gone (the VM restarted under it): the mount can go. */
      {
        const gchar *const umount_argv[] = { "/bin/busybox", "umount", BERTH_WSL_DATA_MOUNT, NULL };

        if (!exec_ok (setup, setup->data_distro, umount_argv, NULL, cancellable, error))
          return FALSE;
      }
    }
  if (!valid)
    {
      const gchar *const bind_argv[]
          = { "/bin/busybox", "mount", "--bind", "/", BERTH_WSL_DATA_MOUNT, NULL };

      if (!exec_ok (setup, setup->data_distro, bind_argv, NULL, cancellable, error))
        return FALSE;
    }
  for (guint i = 0; data_dirs[i] != NULL; i++)
    {
      g_autofree gchar *source = g_strconcat (BERTH_WSL_DATA_MOUNT, data_dirs[i], NULL);
      const gchar *const dir_argv[] = { "/bin/busybox", "mkdir", "-p", data_dirs[i], NULL };
      const gchar *const bind_argv[]
          = { "/bin/busybox", "mount", "-o", "bind", source, data_dirs[i], NULL };

      if (!exec_ok (setup, setup->distro, dir_argv, NULL, cancellable, error)
          || !exec_ok (setup, setup->distro, bind_argv, NULL, cancellable, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
berth_wsl_setup_distributions (BerthWslSetup *setup, GCancellable *cancellable, GError **error)
{
  gboolean registered = FALSE;

  g_clear_pointer (&setup->bundled_version, g_free);
  g_clear_pointer (&setup->installed_version, g_free);
  setup->upgraded = setup->imported = FALSE;

  progress (setup, "Checking the WSL distributions");
  setup->bundled_version = berth_wsl_tarball_version_id (setup->tarball, error);
  if (setup->bundled_version == NULL)
    return FALSE;
  if (!is_registered (setup->exe, setup->distro, NULL, cancellable, error, &registered))
    return FALSE;

  if (registered)
    {
      setup->installed_version = distro_version (setup, cancellable, error);
      if (setup->installed_version == NULL)
        return FALSE;
      if (berth_wsl_version_compare (setup->installed_version, setup->bundled_version) < 0)
        {
          const gchar *const args[] = { "--unregister", setup->distro, NULL };
          g_autofree gchar *what
              = g_strdup_printf ("Removing the old WSL distribution %s (version %s)", setup->distro,
                                 setup->installed_version);

          progress (setup, "Upgrading the WSL distribution");
          /* The data is copied out before the old distribution goes. */
          if (!init_data_distribution (setup, cancellable, error)
              || !berth_wsl_exe_check (setup->exe, what, args, cancellable, error))
            return FALSE;
          setup->upgraded = TRUE;
          registered = FALSE;
        }
    }
  if (cancelled (cancellable, error))
    return FALSE;
  if (!registered)
    {
      progress (setup, "Registering the WSL distribution");
      if (!import_distro (setup, setup->distro, setup->distro_dir, setup->tarball, cancellable,
                          error))
        return FALSE;
      setup->imported = TRUE;
    }
  if (!init_data_distribution (setup, cancellable, error))
    return FALSE;
  if (cancelled (cancellable, error))
    return FALSE;

  /* Whatever ran in the distribution before (a crashed Berth's init and its
   * engine) goes first. */
  progress (setup, "Stopping what ran before");
  if (!berth_wsl_terminate (setup->exe, setup->distro, cancellable, error))
    return FALSE;
  return mount_data (setup, cancellable, error);
}

/* ---- guest files ------------------------------------------------------------- */

static gboolean
add_tar_file (struct archive *writer, const gchar *name, const gchar *data, gsize length)
{
  struct archive_entry *entry = archive_entry_new ();
  gboolean ok;

  archive_entry_set_pathname (entry, name);
  archive_entry_set_filetype (entry, AE_IFREG);
  archive_entry_set_perm (entry, 0644);
  archive_entry_set_size (entry, (la_int64_t)length);
  ok = archive_write_header (writer, entry) == ARCHIVE_OK
       && archive_write_data (writer, data, length) == (la_ssize_t)length;
  archive_entry_free (entry);
  return ok;
}

/* This host's trusted CA certificates (the system store GnuTLS reads: the
 * Windows store on Windows) and those of @ca_file, each once, as a tar of
 * berth-<n>.crt files (PEM). */
static GBytes *
ca_certificates_tar (const gchar *ca_file, guint *count, GError **error)
{
  g_autoptr (GPtrArray) certificates = berth_ca_bundle_load_host (error);
  struct archive *writer;
  gsize size = 4 * 1024 * 1024;
  g_autofree gchar *buffer = NULL;
  size_t used = 0;
  gboolean ok = TRUE;

  *count = 0;
  if (certificates == NULL)
    return NULL;
  if (ca_file != NULL && ca_file[0] != '\0')
    {
      g_autoptr (GError) local_error = NULL;
      g_autoptr (GPtrArray) from_file = berth_ca_bundle_load_file (ca_file, &local_error);

      if (from_file == NULL)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                       "virtualMachine.caCertificates.file: %s; name a PEM file of CA "
                       "certificates, or set it to \"\" for none",
                       local_error->message);
          return NULL;
        }
      berth_ca_bundle_merge (certificates, from_file);
    }

  buffer = g_malloc (size);
  writer = archive_write_new ();
  archive_write_set_format_ustar (writer);
  archive_write_set_bytes_in_last_block (writer, 1);
  if (archive_write_open_memory (writer, buffer, size, &used) != ARCHIVE_OK)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                   "Cannot collect this host's CA certificates: out of memory");
      archive_write_free (writer);
      return NULL;
    }
  for (guint i = 0; ok && i < certificates->len && i < MAX_CA_CERTS; i++)
    {
      g_autoptr (GPtrArray) one = g_ptr_array_new ();
      g_autofree gchar *pem = NULL;
      g_autofree gchar *name = g_strdup_printf ("berth-%u.crt", i);

      g_ptr_array_add (one, g_ptr_array_index (certificates, i));
      pem = berth_ca_bundle_to_pem (one);
      ok = add_tar_file (writer, name, pem, strlen (pem));
      (*count)++;
    }
  ok = ok && archive_write_close (writer) == ARCHIVE_OK;
  archive_write_free (writer);
  if (!ok)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                   "This host's CA certificates do not fit in the %" G_GSIZE_FORMAT
                   " bytes Berth copies into the WSL distribution",
                   size);
      return NULL;
    }
  return g_bytes_new (buffer, used);
}

gboolean
berth_wsl_setup_guest_files (BerthWslSetup *setup, GCancellable *cancellable, GError **error)
{
  static const gchar logrotate[] = "/var/log/containerd.log /var/log/dockerd.log {\n"
                                   "  missingok\n"
                                   "  notifempty\n"
                                   "  copytruncate\n"
                                   "}\n";
  static const gchar install_certs[]
      = "set -e; mkdir -p " CA_DIR "; rm -f " CA_DIR "/berth-*.crt; "
        "tar -xf - -C " CA_DIR "; "
        "if command -v update-ca-certificates >/dev/null; then "
        "update-ca-certificates >/dev/null; else "
        "echo 'no update-ca-certificates: the certificates are in " CA_DIR " only' >&2; fi";
  const gchar *const argv[] = { "/bin/sh", "-c", install_certs, NULL };
  g_autoptr (GBytes) rotate = g_bytes_new_static (logrotate, sizeof logrotate - 1);
  g_autoptr (GBytes) certs = NULL;
  BerthWslRunOptions options = { 0 };
  guint count = 0;

  progress (setup, "Writing the engine's log rotation");
  if (!berth_wsl_write_file (setup->exe, setup->distro, "/etc/logrotate.d/berth-engine", rotate,
                             NULL, 0644, cancellable, error))
    return FALSE;
  progress (setup, "Installing CA certificates");
  certs = ca_certificates_tar (setup->ca_file, &count, error);
  if (certs == NULL)
    return FALSE;
  options.stdin_bytes = certs;
  if (!exec_ok (setup, setup->distro, argv, &options, cancellable, error))
    {
      g_prefix_error (error, "Installing %u CA certificates: ", count);
      return FALSE;
    }
  return TRUE;
}

/* ---- delete -------------------------------------------------------------------- */

static gboolean
set_errno_error (GError **error, int saved_errno, const gchar *path)
{
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Cannot remove %s: %s", path,
               g_strerror (saved_errno));
  return FALSE;
}

static gboolean
remove_location (const gchar *dir, GError **error)
{
  g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
  const gchar *name;

  if (listing == NULL)
    return TRUE;
  /* What WSL leaves there: its disk (removed by --unregister) and nothing
   * else of Berth's; an install location is never a directory of the user's. */
  while ((name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree gchar *path = g_build_filename (dir, name, NULL);

      if (g_unlink (path) != 0 && errno != ENOENT)
        return set_errno_error (error, errno, path);
    }
  if (g_rmdir (dir) != 0 && errno != ENOENT)
    return set_errno_error (error, errno, dir);
  return TRUE;
}

gboolean
berth_wsl_unregister_all (BerthWslSetup *setup, GCancellable *cancellable, GError **error)
{
  const gchar *const names[] = { setup->distro, setup->data_distro, NULL };
  const gchar *const dirs[] = { setup->distro_dir, setup->data_dir, NULL };

  for (guint i = 0; names[i] != NULL; i++)
    {
      gboolean registered = FALSE;

      if (!is_registered (setup->exe, names[i], NULL, cancellable, error, &registered))
        return FALSE;
      if (registered)
        {
          const gchar *const args[] = { "--unregister", names[i], NULL };
          g_autofree gchar *what
              = g_strdup_printf ("Unregistering the WSL distribution %s", names[i]);

          progress (setup, what);
          if (!berth_wsl_exe_check (setup->exe, what, args, cancellable, error))
            return FALSE;
        }
      if (!remove_location (dirs[i], error))
        return FALSE;
    }
  return TRUE;
}

/* ---- the init ------------------------------------------------------------------ */

void
berth_wsl_init_clear (BerthWslInit *init)
{
  if (init->process != NULL)
    g_subprocess_force_exit (init->process);
  g_clear_object (&init->process);
  g_clear_object (&init->output);
  g_clear_pointer (&init->tail, g_ptr_array_unref);
}

gchar *
berth_wsl_init_tail (const BerthWslInit *init)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; init->tail != NULL && i < init->tail->len; i++)
    g_string_append_printf (out, "\n  %s", (const gchar *)g_ptr_array_index (init->tail, i));
  if (out->len == 0)
    g_string_append (out, " (it printed nothing)");
  return g_string_free (out, FALSE);
}

gboolean
berth_wsl_run_init (BerthWslExe *exe, const gchar *engine, BerthWslInit *init,
                    GCancellable *cancellable, GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  const gchar *wslenv = g_getenv ("WSLENV");
  g_autofree gchar *names = NULL;

  /* The engine's name reaches the Linux side through WSLENV. */
  names = g_strconcat (wslenv != NULL && wslenv[0] != '\0' ? wslenv : "",
                       wslenv != NULL && wslenv[0] != '\0' ? ":" : "", "BERTH_CONTAINER_ENGINE/u",
                       NULL);
  g_subprocess_launcher_setenv (launcher, "BERTH_CONTAINER_ENGINE", engine, TRUE);
  g_subprocess_launcher_setenv (launcher, "WSLENV", names, TRUE);
  berth_log_line (exe->logs_dir, "wsl", "wsl.exe --distribution %s --user root --exec %s",
                  BERTH_WSL_DISTRO, BERTH_WSL_INIT);
  init->process
      = g_subprocess_launcher_spawn (launcher, error, exe->path, "--distribution", BERTH_WSL_DISTRO,
                                     "--user", "root", "--exec", BERTH_WSL_INIT, NULL);
  if (init->process == NULL)
    {
      berth_error_convert (error);
      return FALSE;
    }
  init->output = g_data_input_stream_new (g_subprocess_get_stdout_pipe (init->process));
  init->tail = g_ptr_array_new_with_free_func (g_free);
  for (;;)
    {
      g_autoptr (GError) read_error = NULL;
      g_autofree gchar *raw
          = g_data_input_stream_read_line (init->output, NULL, cancellable, &read_error);
      g_autofree gchar *line = NULL;

      if (raw == NULL)
        {
          g_autofree gchar *tail = berth_wsl_init_tail (init);

          if (read_error != NULL)
            {
              g_propagate_error (error, g_steal_pointer (&read_error));
              berth_error_convert (error);
              return FALSE;
            }
          g_subprocess_wait (init->process, NULL, NULL);
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND,
                       "The WSL distribution's init (%s) ended before it was ready, with exit "
                       "status %d; its last lines (see %s.log):%s",
                       BERTH_WSL_INIT,
                       g_subprocess_get_if_exited (init->process)
                           ? g_subprocess_get_exit_status (init->process)
                           : 128 + g_subprocess_get_term_sig (init->process),
                       BERTH_WSL_INIT_LOG, tail);
          return FALSE;
        }
      line = g_strchomp (g_utf8_make_valid (raw, -1));
      berth_log_line (exe->logs_dir, BERTH_WSL_INIT_LOG, "%s", line);
      g_ptr_array_add (init->tail, g_strdup (line));
      if (init->tail->len > INIT_TAIL_LINES)
        g_ptr_array_remove_index (init->tail, 0);
      if (strstr (line, READY_MARKER) != NULL)
        return TRUE;
      if (strstr (line, "berth-guest: ") != NULL && strstr (line, " failed") != NULL)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND,
                       "The WSL distribution's init failed: %s (see %s.log)", line,
                       BERTH_WSL_INIT_LOG);
          return FALSE;
        }
    }
}
