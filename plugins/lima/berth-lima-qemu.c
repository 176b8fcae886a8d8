/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Berth — QEMU for the Lima-layout backend: finding it, its command line,
 * the accelerator and the boot mode. */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "berth-error.h"
#include "berth-file.h"
#include "berth-lima-cidata.h"
#include "berth-lima-qemu.h"

#define MIB ((guint64)1 << 20)

const gchar *
berth_lima_accel_to_string (BerthLimaAccel accel)
{
  return accel == BERTH_LIMA_ACCEL_KVM ? "kvm" : "tcg";
}

const gchar *
berth_lima_boot_mode_to_string (BerthLimaBootMode mode)
{
  switch (mode)
    {
    case BERTH_LIMA_BOOT_KERNEL:
      return "kernel";
    case BERTH_LIMA_BOOT_DISK:
      return "disk";
    case BERTH_LIMA_BOOT_AUTO:
    default:
      return "auto";
    }
}

gboolean
berth_lima_boot_mode_parse (const gchar *text, const gchar *what, BerthLimaBootMode *mode_out,
                            GError **error)
{
  g_return_val_if_fail (mode_out != NULL, FALSE);

  if (text == NULL || text[0] == '\0' || g_str_equal (text, "auto"))
    *mode_out = BERTH_LIMA_BOOT_AUTO;
  else if (g_str_equal (text, "kernel"))
    *mode_out = BERTH_LIMA_BOOT_KERNEL;
  else if (g_str_equal (text, "disk"))
    *mode_out = BERTH_LIMA_BOOT_DISK;
  else
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "%s: \"%s\" is not a boot mode; allowed: auto, kernel (kernel and initrd "
                   "given to QEMU) or disk (the disk's own boot loader)",
                   what != NULL ? what : "boot mode", text);
      return FALSE;
    }
  return TRUE;
}

gboolean
berth_lima_boot_mode_resolve (BerthLimaBootMode requested, const gchar *kernel, const gchar *initrd,
                              const gchar *disk, gboolean disk_bootable,
                              BerthLimaBootMode *actual_out, GError **error)
{
  gboolean have_kernel = kernel != NULL && g_file_test (kernel, G_FILE_TEST_IS_REGULAR);
  gboolean have_initrd = initrd != NULL && g_file_test (initrd, G_FILE_TEST_IS_REGULAR);
  gboolean have_disk = disk != NULL && g_file_test (disk, G_FILE_TEST_IS_REGULAR);

  g_return_val_if_fail (actual_out != NULL, FALSE);

  switch (requested)
    {
    case BERTH_LIMA_BOOT_KERNEL:
      if (!have_kernel || !have_initrd)
        {
          const gchar *missing = !have_kernel ? kernel : initrd;
          const gchar *which = !have_kernel ? "kernel" : "initrd";

          if (missing == NULL)
            g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                         "Boot mode \"kernel\" needs a kernel and an initrd, but the guest "
                         "image has no %s; use boot mode \"disk\" or \"auto\"",
                         which);
          else
            g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                         "Boot mode \"kernel\" needs the %s %s, which does not exist; rebuild "
                         "the guest image or use boot mode \"auto\"",
                         which, missing);
          return FALSE;
        }
      if (!have_disk)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                       "Boot mode \"kernel\" needs the root disk %s, which does not exist",
                       disk != NULL ? disk : "(none)");
          return FALSE;
        }
      *actual_out = BERTH_LIMA_BOOT_KERNEL;
      return TRUE;

    case BERTH_LIMA_BOOT_DISK:
      if (!have_disk)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                       "Boot mode \"disk\" needs the disk image %s, which does not exist",
                       disk != NULL ? disk : "(none)");
          return FALSE;
        }
      if (!disk_bootable)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                       "Boot mode \"disk\" needs a disk with a boot loader, but %s is a bare "
                       "root file system (Berth's own guest image boots with its kernel and "
                       "initrd); use boot mode \"kernel\" or \"auto\"",
                       disk);
          return FALSE;
        }
      *actual_out = BERTH_LIMA_BOOT_DISK;
      return TRUE;

    case BERTH_LIMA_BOOT_AUTO:
    default:
      if (have_kernel && have_initrd && have_disk)
        {
          *actual_out = BERTH_LIMA_BOOT_KERNEL;
          return TRUE;
        }
      if (have_disk && disk_bootable)
        {
          *actual_out = BERTH_LIMA_BOOT_DISK;
          return TRUE;
        }
      if (!have_disk)
        g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                     "The VM cannot boot: its disk image %s does not exist",
                     disk != NULL ? disk : "(none)");
      else
        g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                     "The VM cannot boot: %s is a bare root file system and the %s %s does "
                     "not exist; rebuild the guest image (remove its cache directory)",
                     disk, !have_kernel ? "kernel" : "initrd",
                     !have_kernel ? (kernel != NULL ? kernel : "(none)")
                                  : (initrd != NULL ? initrd : "(none)"));
      return FALSE;
    }
}

gboolean
berth_lima_boot_timeout (guint option_seconds, guint *seconds_out, const gchar **source_out,
                         GError **error)
{
  const gchar *env = g_getenv ("BERTH_BOOT_TIMEOUT");
  const gchar *source = "default";
  guint seconds = BERTH_LIMA_BOOT_TIMEOUT_DEFAULT;

  g_return_val_if_fail (seconds_out != NULL, FALSE);

  if (option_seconds != 0)
    {
      seconds = option_seconds;
      source = "option";
    }
  else if (env != NULL && env[0] != '\0')
    {
      guint64 value = 0;

      if (!g_ascii_string_to_unsigned (env, 10, 1, 24 * 3600, &value, NULL))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                       "BERTH_BOOT_TIMEOUT=%s is not a number of seconds; allowed: 1 to 86400 "
                       "(or unset it for the default of %d)",
                       env, BERTH_LIMA_BOOT_TIMEOUT_DEFAULT);
          return FALSE;
        }
      seconds = (guint)value;
      source = "BERTH_BOOT_TIMEOUT";
    }
  *seconds_out = seconds;
  if (source_out != NULL)
    *source_out = source;
  return TRUE;
}

const gchar *
berth_lima_qemu_env_var (const gchar *arch)
{
  if (g_strcmp0 (arch, "x86_64") == 0)
    return "QEMU_SYSTEM_X86_64";
  if (g_strcmp0 (arch, "aarch64") == 0)
    return "QEMU_SYSTEM_AARCH64";
  return NULL;
}

const gchar *
berth_lima_qemu_package (const gchar *arch)
{
  return g_strcmp0 (arch, "aarch64") == 0 ? "qemu-system-arm" : "qemu-system-x86";
}

gchar *
berth_lima_qemu_find (const gchar *arch, GError **error)
{
  const gchar *var = berth_lima_qemu_env_var (arch);
  const gchar *value;
  g_autofree gchar *program = NULL;
  g_autofree gchar *found = NULL;

  if (var == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                   "The VM's architecture %s is not supported; allowed: x86_64, aarch64",
                   arch != NULL ? arch : "(none)");
      return NULL;
    }
  program = g_strdup_printf ("qemu-system-%s", arch);
  value = g_getenv (var);
  if (value != NULL && value[0] != '\0')
    {
      if (g_file_test (value, G_FILE_TEST_IS_REGULAR)
          && g_file_test (value, G_FILE_TEST_IS_EXECUTABLE))
        return g_strdup (value);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                   "QEMU was not found: %s is set to %s, which %s. Install QEMU with "
                   "`sudo apt-get install %s` (Debian, Ubuntu) and unset %s, or set it to the "
                   "path of %s",
                   var, value,
                   g_file_test (value, G_FILE_TEST_EXISTS) ? "is not an executable file"
                                                           : "does not exist",
                   berth_lima_qemu_package (arch), var, program);
      return NULL;
    }
  found = g_find_program_in_path (program);
  if (found == NULL)
    {
      const gchar *path = g_getenv ("PATH");

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                   "QEMU is not installed: %s is not in PATH (%s). Install it with "
                   "`sudo apt-get install %s` (Debian, Ubuntu), or set %s to its path",
                   program, path != NULL ? path : "unset", berth_lima_qemu_package (arch), var);
      return NULL;
    }
  return g_steal_pointer (&found);
}

gchar *
berth_lima_qemu_get_version (const gchar *qemu, GCancellable *cancellable, GError **error)
{
  const gchar *argv[] = { qemu, "--version", NULL };
  g_autoptr (GSubprocess) process = NULL;
  g_autofree gchar *out = NULL;
  gchar *newline;

  process = g_subprocess_newv (
      argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, error);
  if (process == NULL)
    {
      berth_error_convert (error);
      return NULL;
    }
  if (!g_subprocess_communicate_utf8 (process, NULL, cancellable, &out, NULL, error))
    {
      berth_error_convert (error);
      return NULL;
    }
  if (!g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0
      || out == NULL || out[0] == '\0')
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND,
                   "%s --version failed; is it a working QEMU? Reinstall it, or set "
                   "QEMU_SYSTEM_X86_64 (QEMU_SYSTEM_AARCH64 on arm64) to another one",
                   qemu);
      return NULL;
    }
  newline = strchr (out, '\n');
  if (newline != NULL)
    *newline = '\0';
  return g_strdup (g_strstrip (out));
}

GStrv
berth_lima_qemu_build_argv (const BerthLimaQemuSpec *spec)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  gboolean arm = g_strcmp0 (spec->arch, "aarch64") == 0;
  gboolean kvm = spec->accel == BERTH_LIMA_ACCEL_KVM;
  g_autofree gchar *smp = g_strdup_printf ("%u", MAX (spec->cpus, 1));
  g_autofree gchar *mem = g_strdup_printf ("%" G_GUINT64_FORMAT "M", spec->memory_bytes / MIB);
  g_autofree gchar *root_drive = NULL;
  g_autofree gchar *netdev = NULL;

  g_strv_builder_add (b, spec->qemu);
  /* Nothing the VM does not use: no default devices, no option ROMs, no
   * user config. Each costs boot time under TCG. */
  g_strv_builder_add_many (b, "-nodefaults", "-no-user-config", "-display", "none", NULL);
  if (arm)
    g_strv_builder_add_many (b, "-machine", kvm ? "virt,gic-version=host" : "virt,gic-version=max",
                             NULL);
  else
    /* i440fx ("pc") boots measurably faster than q35 under TCG, and the
     * guest needs nothing of q35's (PCIe, AHCI). */
    g_strv_builder_add_many (b, "-machine", "pc", NULL);
  g_strv_builder_add_many (b, "-accel", kvm ? "kvm" : "tcg,thread=multi", "-cpu",
                           kvm ? "host" : "max", "-smp", smp, "-m", mem, NULL);

  if (spec->boot_mode == BERTH_LIMA_BOOT_KERNEL)
    {
      g_strv_builder_add_many (b, "-kernel", spec->kernel, "-initrd", spec->initrd, NULL);
      if (spec->append != NULL)
        g_strv_builder_add_many (b, "-append", spec->append, NULL);
    }
  else
    g_strv_builder_add_many (b, "-boot", "order=c,strict=on", NULL);

  root_drive = g_strdup_printf ("file=%s,if=virtio,format=qcow2,discard=unmap,cache=writeback",
                                spec->diffdisk);
  g_strv_builder_add_many (b, "-drive", root_drive, NULL);
  if (spec->cidata_iso != NULL)
    {
      /* A read-only virtio disk, not a CD-ROM: the guest finds it by its
       * label without loading the CD-ROM and ATA drivers. */
      g_autofree gchar *cidata = g_strdup_printf (
          "file=%s,if=virtio,format=raw,readonly=on,media=disk", spec->cidata_iso);
      g_strv_builder_add_many (b, "-drive", cidata, NULL);
    }

  netdev = g_strdup_printf ("user,id=net0,hostfwd=tcp:127.0.0.1:%u-:22", spec->ssh_port);
  g_strv_builder_add_many (b, "-netdev", netdev, "-device", "virtio-net-pci,netdev=net0", NULL);
  /* No virtio-rng: -cpu max (TCG) and host (KVM) give the guest RDRAND. */

  for (guint i = 0; spec->share_paths != NULL && spec->share_paths[i] != NULL; i++)
    {
      g_autofree gchar *tag = berth_lima_mount_tag (i);
      g_autofree gchar *fsdev = NULL;
      g_autofree gchar *device = NULL;
      gboolean writable = spec->share_writable == NULL || spec->share_writable[i];

      /* security_model=none works for root and for other users alike; a
       * comma in the path must be doubled for QEMU's option parser. */
      g_auto (GStrv) parts = g_strsplit (spec->share_paths[i], ",", -1);
      g_autofree gchar *escaped = g_strjoinv (",,", parts);

      fsdev = g_strdup_printf ("local,id=fsdev%u,path=%s,security_model=none%s", i, escaped,
                               writable ? "" : ",readonly=on");
      device = g_strdup_printf ("virtio-9p-pci,fsdev=fsdev%u,mount_tag=%s", i, tag);
      g_strv_builder_add_many (b, "-fsdev", fsdev, "-device", device, NULL);
    }

  if (spec->qmp_sock != NULL)
    {
      g_autofree gchar *qmp = g_strdup_printf ("unix:%s,server=on,wait=off", spec->qmp_sock);
      g_strv_builder_add_many (b, "-qmp", qmp, NULL);
    }
  if (spec->serial_log != NULL)
    {
      g_autofree gchar *chardev = g_strdup_printf ("file,id=serial0,path=%s", spec->serial_log);
      g_strv_builder_add_many (b, "-chardev", chardev, "-serial", "chardev:serial0", NULL);
    }
  return g_strv_builder_end (b);
}

gboolean
berth_lima_kvm_usable (gchar **reason_out)
{
  int fd = open ("/dev/kvm", O_RDWR | O_CLOEXEC);

  if (fd < 0)
    {
      int saved = errno;

      if (reason_out != NULL)
        *reason_out = g_strdup_printf ("/dev/kvm cannot be opened (%s)", g_strerror (saved));
      return FALSE;
    }
  close (fd);
  return TRUE;
}

/* ---- the KVM probe ------------------------------------------------------ */

static gchar *
host_kernel_release (void)
{
  struct utsname u;

  if (uname (&u) != 0)
    return g_strdup ("unknown");
  return g_strdup (u.release);
}

/* Boots @kernel under KVM with its console in a file and waits for
 * "Linux version". TRUE when it came in time; else @detail_out says what
 * happened instead. */
static gboolean
probe_kvm (const gchar *qemu, const gchar *arch, const gchar *kernel, GCancellable *cancellable,
           gchar **detail_out, GError **error)
{
  g_autofree gchar *dir = NULL;
  g_autofree gchar *console = NULL;
  g_autofree gchar *errors = NULL;
  g_autofree gchar *chardev = NULL;
  g_autofree gchar *said = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) process = NULL;
  gboolean arm = g_strcmp0 (arch, "aarch64") == 0;
  gboolean seen = FALSE;
  gboolean exited = FALSE;
  gint64 deadline;

  dir = g_dir_make_tmp ("berth-kvm-probe-XXXXXX", error);
  if (dir == NULL)
    {
      berth_error_convert (error);
      return FALSE;
    }
  console = g_build_filename (dir, "console.log", NULL);
  errors = g_build_filename (dir, "stderr.log", NULL);
  chardev = g_strdup_printf ("file,id=c0,path=%s", console);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_set_stderr_file_path (launcher, errors);
  {
    const gchar *argv[] = { qemu,
                            "-nodefaults",
                            "-no-user-config",
                            "-display",
                            "none",
                            "-no-reboot",
                            "-machine",
                            arm ? "virt,gic-version=host" : "pc",
                            "-accel",
                            "kvm",
                            "-cpu",
                            "host",
                            "-m",
                            "256M",
                            "-kernel",
                            kernel,
                            "-append",
                            arm ? "console=ttyAMA0 panic=-1 loglevel=7"
                                : "console=ttyS0 earlyprintk=serial,ttyS0 panic=-1 loglevel=7",
                            "-chardev",
                            chardev,
                            "-serial",
                            "chardev:c0",
                            NULL };

    process = g_subprocess_launcher_spawnv (launcher, argv, error);
  }
  if (process == NULL)
    {
      berth_error_convert (error);
      g_rmdir (dir);
      return FALSE;
    }

  deadline = g_get_monotonic_time () + BERTH_LIMA_KVM_PROBE_SECONDS * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline && !g_cancellable_is_cancelled (cancellable))
    {
      g_autofree gchar *text = NULL;
      gsize length = 0;

      if (g_file_get_contents (console, &text, &length, NULL)
          && g_strstr_len (text, length, "Linux version") != NULL)
        {
          seen = TRUE;
          break;
        }
      /* QEMU gone before any output: KVM refused the VM. */
      if (g_subprocess_get_identifier (process) == NULL)
        {
          exited = TRUE;
          break;
        }
      g_usleep (100 * 1000);
    }
  g_subprocess_force_exit (process);
  g_subprocess_wait (process, NULL, NULL);
  if (g_file_get_contents (errors, &said, NULL, NULL))
    {
      gchar *newline = strchr (said, '\n');

      if (newline != NULL)
        *newline = '\0';
      g_strstrip (said);
    }
  g_unlink (console);
  g_unlink (errors);
  g_rmdir (dir);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      berth_error_convert (error);
      return FALSE;
    }
  if (detail_out == NULL)
    return seen;
  if (seen)
    *detail_out = g_strdup_printf ("a probe boot under KVM printed kernel output in less than %d s",
                                   BERTH_LIMA_KVM_PROBE_SECONDS);
  else if (exited)
    *detail_out = g_strdup_printf ("/dev/kvm opens, but QEMU stopped at once when asked to use "
                                   "it (%s)",
                                   said != NULL && said[0] != '\0' ? said : "it said nothing");
  else
    *detail_out = g_strdup_printf ("/dev/kvm opens, but a probe boot under KVM printed no kernel "
                                   "output within %d s (nested KVM that hangs its guests)",
                                   BERTH_LIMA_KVM_PROBE_SECONDS);
  return seen;
}

/* The cache: {"version": 1, "entries": {"<qemu version>|<kernel release>":
 * {"accel": "kvm"|"tcg", "reason": "...", "probed": "<ISO 8601>"}}}. */
static gboolean
cache_lookup (const gchar *cache_file, const gchar *key, BerthLimaAccel *accel_out,
              gchar **reason_out)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonObject *entries;
  JsonObject *entry;
  const gchar *accel;
  const gchar *reason;

  if (cache_file == NULL || !json_parser_load_from_file (parser, cache_file, NULL))
    return FALSE;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return FALSE;
  entries = json_object_get_object_member (json_node_get_object (root), "entries");
  if (entries == NULL || !json_object_has_member (entries, key))
    return FALSE;
  if (!JSON_NODE_HOLDS_OBJECT (json_object_get_member (entries, key)))
    return FALSE;
  entry = json_object_get_object_member (entries, key);
  if (!JSON_NODE_HOLDS_VALUE (json_object_get_member (entry, "accel"))
      || !JSON_NODE_HOLDS_VALUE (json_object_get_member (entry, "reason")))
    return FALSE;
  accel = json_object_get_string_member_with_default (entry, "accel", NULL);
  reason = json_object_get_string_member_with_default (entry, "reason", NULL);
  if (accel == NULL || reason == NULL)
    return FALSE;
  if (g_str_equal (accel, "kvm"))
    *accel_out = BERTH_LIMA_ACCEL_KVM;
  else if (g_str_equal (accel, "tcg"))
    *accel_out = BERTH_LIMA_ACCEL_TCG;
  else
    return FALSE;
  *reason_out = g_strdup (reason);
  return TRUE;
}

static void
cache_store (const gchar *cache_file, const gchar *key, BerthLimaAccel accel, const gchar *reason)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) out = NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree gchar *stamp = g_date_time_format_iso8601 (now);
  g_autofree gchar *text = NULL;
  g_autoptr (GError) error = NULL;
  JsonObject *old_entries = NULL;

  if (cache_file == NULL)
    return;
  if (json_parser_load_from_file (parser, cache_file, NULL) && json_parser_get_root (parser) != NULL
      && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      JsonObject *root = json_node_get_object (json_parser_get_root (parser));
      JsonNode *entries = json_object_get_member (root, "entries");

      if (entries != NULL && JSON_NODE_HOLDS_OBJECT (entries))
        old_entries = json_node_get_object (entries);
    }

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "version");
  json_builder_add_int_value (builder, 1);
  json_builder_set_member_name (builder, "entries");
  json_builder_begin_object (builder);
  if (old_entries != NULL)
    {
      g_autoptr (GList) members = json_object_get_members (old_entries);

      for (GList *l = members; l != NULL; l = l->next)
        {
          if (g_str_equal (l->data, key))
            continue;
          json_builder_set_member_name (builder, l->data);
          json_builder_add_value (builder,
                                  json_node_copy (json_object_get_member (old_entries, l->data)));
        }
    }
  json_builder_set_member_name (builder, key);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "accel");
  json_builder_add_string_value (builder, berth_lima_accel_to_string (accel));
  json_builder_set_member_name (builder, "reason");
  json_builder_add_string_value (builder, reason);
  json_builder_set_member_name (builder, "probed");
  json_builder_add_string_value (builder, stamp);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  json_builder_end_object (builder);

  out = json_builder_get_root (builder);
  json_generator_set_root (generator, out);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  if (!berth_file_replace_contents (cache_file, text, strlen (text), 0644, &error))
    g_warning ("Could not record the KVM probe's result in %s: %s", cache_file, error->message);
}

gboolean
berth_lima_accel_choose (const gchar *requested, const gchar *qemu, const gchar *arch,
                         const gchar *kernel, const gchar *cache_file, GCancellable *cancellable,
                         BerthLimaAccel *accel_out, gchar **reason_out, GError **error)
{
  g_autofree gchar *kvm_problem = NULL;
  g_autofree gchar *version = NULL;
  g_autofree gchar *release = NULL;
  g_autofree gchar *key = NULL;
  g_autofree gchar *cached_reason = NULL;
  g_autofree gchar *detail = NULL;
  BerthLimaAccel cached = BERTH_LIMA_ACCEL_TCG;
  gboolean ok;

  g_return_val_if_fail (accel_out != NULL && reason_out != NULL, FALSE);

  if (requested == NULL || requested[0] == '\0')
    requested = "auto";

  if (g_str_equal (requested, "tcg"))
    {
      *accel_out = BERTH_LIMA_ACCEL_TCG;
      *reason_out = g_strdup ("TCG (software emulation, slower): virtualMachine.accel is \"tcg\"");
      return TRUE;
    }
  if (g_str_equal (requested, "kvm"))
    {
      if (!berth_lima_kvm_usable (&kvm_problem))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                       "virtualMachine.accel is \"kvm\" but %s; make /dev/kvm usable (load "
                       "the kvm module, add yourself to the kvm group) or set "
                       "virtualMachine.accel to \"auto\" or \"tcg\"",
                       kvm_problem);
          return FALSE;
        }
      *accel_out = BERTH_LIMA_ACCEL_KVM;
      *reason_out = g_strdup ("KVM: virtualMachine.accel is \"kvm\"");
      return TRUE;
    }
  if (!g_str_equal (requested, "auto"))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "virtualMachine.accel: \"%s\" is not allowed; use auto, kvm or tcg", requested);
      return FALSE;
    }

  if (!berth_lima_kvm_usable (&kvm_problem))
    {
      *accel_out = BERTH_LIMA_ACCEL_TCG;
      *reason_out = g_strdup_printf ("TCG (software emulation, slower): %s", kvm_problem);
      return TRUE;
    }

  version = berth_lima_qemu_get_version (qemu, cancellable, error);
  if (version == NULL)
    return FALSE;
  release = host_kernel_release ();
  key = g_strdup_printf ("%s|%s", version, release);
  if (cache_lookup (cache_file, key, &cached, &cached_reason))
    {
      *accel_out = cached;
      *reason_out = g_steal_pointer (&cached_reason);
      return TRUE;
    }

  if (kernel == NULL || !g_file_test (kernel, G_FILE_TEST_IS_REGULAR))
    {
      /* Nothing to probe with (a disk-only image): do not trust KVM blindly,
       * and do not cache a guess. */
      *accel_out = BERTH_LIMA_ACCEL_TCG;
      *reason_out = g_strdup ("TCG (software emulation, slower): KVM could not be probed "
                              "without a kernel; set virtualMachine.accel to \"kvm\" to use it");
      return TRUE;
    }

  ok = probe_kvm (qemu, arch, kernel, cancellable, &detail, error);
  if (!ok && detail == NULL)
    return FALSE;
  if (ok)
    {
      *accel_out = BERTH_LIMA_ACCEL_KVM;
      *reason_out = g_strdup_printf ("KVM: %s", detail);
    }
  else
    {
      *accel_out = BERTH_LIMA_ACCEL_TCG;
      *reason_out = g_strdup_printf ("TCG (software emulation, slower): %s", detail);
    }
  cache_store (cache_file, key, *accel_out, *reason_out);
  return TRUE;
}

guint16
berth_lima_find_free_port (GError **error)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL || !g_socket_bind (socket, any, FALSE, error))
    {
      berth_error_convert (error);
      return 0;
    }
  bound = g_socket_get_local_address (socket, error);
  if (bound == NULL)
    {
      berth_error_convert (error);
      return 0;
    }
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}
