/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The lima backend's runtime pieces without a VM: QEMU's command line, the
 * boot mode and timeout rules, finding QEMU, the accelerator choice and its
 * cache (with a stand-in QEMU), QMP against a stand-in QEMU socket, SSH
 * command lines, and the guest image cache (a stand-in recipe, and
 * downloads from file:// URLs). */

#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sys/utsname.h>

#include <archive.h>
#include <archive_entry.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>

#include <berth.h>

#include "berth-lima-image.h"
#include "berth-lima-qemu.h"
#include "berth-lima-qmp.h"
#include "berth-lima-ssh.h"

#include "berth-test-util.h"

static gchar *tmp_root;

static gchar *
make_tmp (const gchar *name)
{
  gchar *path = g_build_filename (tmp_root, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
  return path;
}

static gboolean
strv_has (GStrv argv, const gchar *value)
{
  return g_strv_contains ((const gchar *const *)argv, value);
}

/* The argument after @option, or NULL. */
static const gchar *
arg_after (GStrv argv, const gchar *option, guint nth)
{
  for (guint i = 0; argv[i] != NULL && argv[i + 1] != NULL; i++)
    if (g_str_equal (argv[i], option) && nth-- == 0)
      return argv[i + 1];
  return NULL;
}

/* ---- QEMU's command line ------------------------------------------------- */

static void
test_qemu_argv (void)
{
  const gchar *shares[] = { "/home/a,b", "/srv", NULL };
  const gboolean writable[] = { TRUE, FALSE };
  BerthLimaQemuSpec spec = {
    .qemu = "/usr/bin/qemu-system-x86_64",
    .arch = "x86_64",
    .accel = BERTH_LIMA_ACCEL_TCG,
    .cpus = 2,
    .memory_bytes = (guint64)4 << 30,
    .boot_mode = BERTH_LIMA_BOOT_KERNEL,
    .kernel = "/i/kernel",
    .initrd = "/i/initrd",
    .append = "root=/dev/vda rw console=ttyS0",
    .diffdisk = "/i/diffdisk",
    .cidata_iso = "/i/cidata.iso",
    .ssh_port = 40022,
    .qmp_sock = "/i/qmp.sock",
    .serial_log = "/i/serial.log",
    .share_paths = shares,
    .share_writable = writable,
  };
  g_auto (GStrv) argv = berth_lima_qemu_build_argv (&spec);
  g_auto (GStrv) kvm_argv = NULL;
  g_auto (GStrv) disk_argv = NULL;

  g_assert_cmpstr (argv[0], ==, "/usr/bin/qemu-system-x86_64");
  g_assert_true (strv_has (argv, "-nodefaults"));
  g_assert_true (strv_has (argv, "-no-user-config"));
  g_assert_cmpstr (arg_after (argv, "-accel", 0), ==, "tcg,thread=multi");
  g_assert_cmpstr (arg_after (argv, "-cpu", 0), ==, "max");
  g_assert_cmpstr (arg_after (argv, "-smp", 0), ==, "2");
  g_assert_cmpstr (arg_after (argv, "-m", 0), ==, "4096M");
  g_assert_cmpstr (arg_after (argv, "-kernel", 0), ==, "/i/kernel");
  g_assert_cmpstr (arg_after (argv, "-initrd", 0), ==, "/i/initrd");
  g_assert_cmpstr (arg_after (argv, "-append", 0), ==, "root=/dev/vda rw console=ttyS0");
  g_assert_true (
      g_str_has_prefix (arg_after (argv, "-drive", 0), "file=/i/diffdisk,if=virtio,format=qcow2"));
  g_assert_cmpstr (arg_after (argv, "-drive", 1), ==,
                   "file=/i/cidata.iso,if=virtio,format=raw,readonly=on,media=disk");
  g_assert_cmpstr (arg_after (argv, "-netdev", 0), ==,
                   "user,id=net0,hostfwd=tcp:127.0.0.1:40022-:22");
  g_assert_cmpstr (arg_after (argv, "-qmp", 0), ==, "unix:/i/qmp.sock,server=on,wait=off");
  g_assert_cmpstr (arg_after (argv, "-chardev", 0), ==, "file,id=serial0,path=/i/serial.log");
  /* 9p shares: tags mount0, mount1; commas doubled; read-only honoured. */
  g_assert_cmpstr (arg_after (argv, "-fsdev", 0), ==,
                   "local,id=fsdev0,path=/home/a,,b,security_model=none");
  g_assert_cmpstr (arg_after (argv, "-fsdev", 1), ==,
                   "local,id=fsdev1,path=/srv,security_model=none,readonly=on");
  g_assert_true (strv_has (argv, "virtio-9p-pci,fsdev=fsdev0,mount_tag=mount0"));
  g_assert_true (strv_has (argv, "virtio-9p-pci,fsdev=fsdev1,mount_tag=mount1"));
  g_assert_null (arg_after (argv, "-boot", 0));

  spec.accel = BERTH_LIMA_ACCEL_KVM;
  kvm_argv = berth_lima_qemu_build_argv (&spec);
  g_assert_cmpstr (arg_after (kvm_argv, "-accel", 0), ==, "kvm");
  g_assert_cmpstr (arg_after (kvm_argv, "-cpu", 0), ==, "host");

  spec.boot_mode = BERTH_LIMA_BOOT_DISK;
  spec.share_paths = NULL;
  disk_argv = berth_lima_qemu_build_argv (&spec);
  g_assert_null (arg_after (disk_argv, "-kernel", 0));
  g_assert_null (arg_after (disk_argv, "-fsdev", 0));
  g_assert_cmpstr (arg_after (disk_argv, "-boot", 0), ==, "order=c,strict=on");
}

/* ---- boot mode and timeout --------------------------------------------------- */

static void
test_boot_mode (void)
{
  g_autofree gchar *dir = make_tmp ("boot-mode");
  g_autofree gchar *kernel = g_build_filename (dir, "kernel", NULL);
  g_autofree gchar *initrd = g_build_filename (dir, "initrd", NULL);
  g_autofree gchar *disk = g_build_filename (dir, "basedisk", NULL);
  g_autofree gchar *missing = g_build_filename (dir, "no-such-kernel", NULL);
  g_autoptr (GError) error = NULL;
  BerthLimaBootMode mode = BERTH_LIMA_BOOT_AUTO;

  berth_test_write_file (kernel, "k", 0644);
  berth_test_write_file (initrd, "i", 0644);
  berth_test_write_file (disk, "d", 0644);

  g_assert_true (berth_lima_boot_mode_parse ("kernel", "boot-mode", &mode, &error));
  g_assert_cmpint (mode, ==, BERTH_LIMA_BOOT_KERNEL);
  g_assert_true (berth_lima_boot_mode_parse (NULL, "boot-mode", &mode, &error));
  g_assert_cmpint (mode, ==, BERTH_LIMA_BOOT_AUTO);
  g_assert_false (berth_lima_boot_mode_parse ("vhdx", "BERTH_BOOT_MODE", &mode, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING);
  g_assert_nonnull (strstr (error->message, "BERTH_BOOT_MODE: \"vhdx\" is not a boot mode"));
  g_assert_nonnull (strstr (error->message, "auto, kernel"));
  g_clear_error (&error);

  /* auto: kernel+initrd when both are there, else a bootable disk. */
  g_assert_true (berth_lima_boot_mode_resolve (BERTH_LIMA_BOOT_AUTO, kernel, initrd, disk, FALSE,
                                               &mode, &error));
  g_assert_cmpint (mode, ==, BERTH_LIMA_BOOT_KERNEL);
  g_assert_true (berth_lima_boot_mode_resolve (BERTH_LIMA_BOOT_AUTO, missing, initrd, disk, TRUE,
                                               &mode, &error));
  g_assert_cmpint (mode, ==, BERTH_LIMA_BOOT_DISK);
  g_assert_no_error (error);

  /* auto with nothing bootable names what is missing. */
  g_assert_false (berth_lima_boot_mode_resolve (BERTH_LIMA_BOOT_AUTO, missing, initrd, disk, FALSE,
                                                &mode, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);

  /* A requested mode with a missing file names the file. */
  g_assert_false (berth_lima_boot_mode_resolve (BERTH_LIMA_BOOT_KERNEL, missing, initrd, disk, TRUE,
                                                &mode, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "Boot mode \"kernel\" needs the kernel"));
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);
  g_assert_false (
      berth_lima_boot_mode_resolve (BERTH_LIMA_BOOT_KERNEL, NULL, NULL, disk, TRUE, &mode, &error));
  g_assert_nonnull (strstr (error->message, "the guest image has no kernel"));
  g_clear_error (&error);
  g_assert_false (berth_lima_boot_mode_resolve (BERTH_LIMA_BOOT_DISK, kernel, initrd, missing, TRUE,
                                                &mode, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);
  g_assert_false (berth_lima_boot_mode_resolve (BERTH_LIMA_BOOT_DISK, kernel, initrd, disk, FALSE,
                                                &mode, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "bare root file system"));
  g_clear_error (&error);
  g_assert_true (berth_lima_boot_mode_resolve (BERTH_LIMA_BOOT_DISK, kernel, initrd, disk, TRUE,
                                               &mode, &error));
  g_assert_cmpint (mode, ==, BERTH_LIMA_BOOT_DISK);
}

static void
test_boot_timeout (void)
{
  g_autoptr (GError) error = NULL;
  const gchar *source = NULL;
  guint seconds = 0;

  g_unsetenv ("BERTH_BOOT_TIMEOUT");
  g_assert_true (berth_lima_boot_timeout (0, &seconds, &source, &error));
  g_assert_cmpuint (seconds, ==, BERTH_LIMA_BOOT_TIMEOUT_DEFAULT);
  g_assert_cmpstr (source, ==, "default");

  g_setenv ("BERTH_BOOT_TIMEOUT", "42", TRUE);
  g_assert_true (berth_lima_boot_timeout (0, &seconds, &source, &error));
  g_assert_cmpuint (seconds, ==, 42);
  g_assert_cmpstr (source, ==, "BERTH_BOOT_TIMEOUT");

  /* The option wins over the environment. */
  g_assert_true (berth_lima_boot_timeout (7, &seconds, &source, &error));
  g_assert_cmpuint (seconds, ==, 7);
  g_assert_cmpstr (source, ==, "option");

  g_setenv ("BERTH_BOOT_TIMEOUT", "soon", TRUE);
  g_assert_false (berth_lima_boot_timeout (0, &seconds, &source, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING);
  g_assert_nonnull (strstr (error->message, "BERTH_BOOT_TIMEOUT=soon"));
  g_unsetenv ("BERTH_BOOT_TIMEOUT");
}

/* ---- finding QEMU ----------------------------------------------------------- */

static void
test_qemu_find (void)
{
  g_autofree gchar *dir = make_tmp ("find-qemu");
  g_autofree gchar *fake = g_build_filename (dir, "qemu-system-x86_64", NULL);
  g_autofree gchar *plain = g_build_filename (dir, "not-executable", NULL);
  g_autofree gchar *saved_path = g_strdup (g_getenv ("PATH"));
  g_autoptr (GError) error = NULL;
  g_autofree gchar *found = NULL;

  berth_test_write_file (fake, "#!/bin/sh\necho 'QEMU emulator version 9.9.9'\n", 0755);
  berth_test_write_file (plain, "", 0644);

  g_setenv ("QEMU_SYSTEM_X86_64", fake, TRUE);
  found = berth_lima_qemu_find ("x86_64", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (found, ==, fake);
  g_clear_pointer (&found, g_free);

  g_setenv ("QEMU_SYSTEM_X86_64", plain, TRUE);
  g_assert_null (berth_lima_qemu_find ("x86_64", &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "is not an executable file"));
  g_assert_nonnull (strstr (error->message, "apt-get install qemu-system-x86"));
  g_clear_error (&error);

  /* From PATH when the variable is not set. */
  g_unsetenv ("QEMU_SYSTEM_X86_64");
  g_setenv ("PATH", dir, TRUE);
  found = berth_lima_qemu_find ("x86_64", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (found, ==, fake);
  g_clear_pointer (&found, g_free);
  g_assert_null (berth_lima_qemu_find ("aarch64", &error));
  g_assert_nonnull (strstr (error->message, "qemu-system-aarch64 is not in PATH"));
  g_assert_nonnull (strstr (error->message, "apt-get install qemu-system-arm"));
  g_assert_nonnull (strstr (error->message, "QEMU_SYSTEM_AARCH64"));
  g_clear_error (&error);
  g_setenv ("PATH", saved_path, TRUE);

  g_assert_null (berth_lima_qemu_find ("riscv64", &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);

  found = berth_lima_qemu_get_version (fake, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (found, ==, "QEMU emulator version 9.9.9");
}

/* ---- the accelerator ------------------------------------------------------- */

static void
test_accel_forced (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *reason = NULL;
  BerthLimaAccel accel = BERTH_LIMA_ACCEL_KVM;

  g_assert_true (berth_lima_accel_choose ("tcg", "/nonexistent", "x86_64", NULL, NULL, NULL, &accel,
                                          &reason, &error));
  g_assert_no_error (error);
  g_assert_cmpint (accel, ==, BERTH_LIMA_ACCEL_TCG);
  g_assert_nonnull (strstr (reason, "virtualMachine.accel is \"tcg\""));
  g_clear_pointer (&reason, g_free);

  g_assert_false (berth_lima_accel_choose ("hvf", "/nonexistent", "x86_64", NULL, NULL, NULL,
                                           &accel, &reason, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING);
  g_assert_nonnull (strstr (error->message, "\"hvf\""));
  g_clear_error (&error);

  if (!berth_lima_kvm_usable (NULL))
    {
      g_assert_false (berth_lima_accel_choose ("kvm", "/nonexistent", "x86_64", NULL, NULL, NULL,
                                               &accel, &reason, &error));
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED);
      g_assert_nonnull (strstr (error->message, "/dev/kvm"));
    }
}

/* A stand-in QEMU: answers --version, and when booted writes @console_text
 * into the console file named by its -chardev argument, then waits. */
static gchar *
fake_qemu (const gchar *dir, const gchar *console_text, const gchar *count_file)
{
  g_autofree gchar *path = g_build_filename (dir, "qemu-system-x86_64", NULL);
  g_autofree gchar *script = g_strdup_printf (
      "#!/bin/sh\n"
      "if [ \"$1\" = --version ]; then echo 'QEMU emulator version 9.9.9 (test)'; exit 0; fi\n"
      "echo boot >>'%s'\n"
      "while [ $# -gt 0 ]; do\n"
      "  case $1 in -chardev) out=${2##*path=} ;; esac\n"
      "  shift\n"
      "done\n"
      "printf '%%s\\n' '%s' >\"$out\"\n"
      "exec sleep 30\n",
      count_file, console_text);

  berth_test_write_file (path, script, 0755);
  return g_steal_pointer (&path);
}

static guint
count_lines (const gchar *path)
{
  g_autofree gchar *text = NULL;
  guint n = 0;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  for (const gchar *p = text; *p != '\0'; p++)
    n += *p == '\n';
  return n;
}

static void
test_accel_probe_and_cache (void)
{
  g_autofree gchar *dir = make_tmp ("accel");
  g_autofree gchar *kernel = g_build_filename (dir, "vmlinuz", NULL);
  g_autofree gchar *count = g_build_filename (dir, "boots", NULL);
  g_autofree gchar *cache = g_build_filename (dir, "cache", "accel-probe.json", NULL);
  g_autofree gchar *qemu = NULL;
  g_autofree gchar *reason = NULL;
  g_autofree gchar *cached = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  struct utsname u;
  g_autofree gchar *key = NULL;
  BerthLimaAccel accel = BERTH_LIMA_ACCEL_TCG;
  gint64 start;

  if (!berth_lima_kvm_usable (NULL))
    {
      /* No KVM: auto is TCG at once, saying why, with no probe. */
      g_assert_true (berth_lima_accel_choose ("auto", "/nonexistent", "x86_64", NULL, cache, NULL,
                                              &accel, &reason, &error));
      g_assert_cmpint (accel, ==, BERTH_LIMA_ACCEL_TCG);
      g_assert_nonnull (strstr (reason, "/dev/kvm cannot be opened"));
      return;
    }

  berth_test_write_file (kernel, "not really a kernel", 0644);
  qemu = fake_qemu (dir, "[    0.000000] Linux version 6.1.0 (test)", count);

  /* The probe sees kernel output: KVM, recorded in the cache. */
  start = g_get_monotonic_time ();
  g_assert_true (berth_lima_accel_choose ("auto", qemu, "x86_64", kernel, cache, NULL, &accel,
                                          &reason, &error));
  g_assert_no_error (error);
  g_assert_cmpint (accel, ==, BERTH_LIMA_ACCEL_KVM);
  g_assert_true (g_str_has_prefix (reason, "KVM: a probe boot under KVM printed kernel output"));
  g_assert_cmpint (g_get_monotonic_time () - start, <, 4 * G_USEC_PER_SEC);
  g_assert_cmpuint (count_lines (count), ==, 1);

  g_assert_true (json_parser_load_from_file (parser, cache, &error));
  uname (&u);
  key = g_strdup_printf ("QEMU emulator version 9.9.9 (test)|%s", u.release);
  {
    JsonObject *entries = json_object_get_object_member (
        json_node_get_object (json_parser_get_root (parser)), "entries");
    JsonObject *entry = json_object_get_object_member (entries, key);

    g_assert_nonnull (entry);
    g_assert_cmpstr (json_object_get_string_member (entry, "accel"), ==, "kvm");
  }

  /* The second time, the cache answers: no probe boot. */
  g_assert_true (berth_lima_accel_choose ("auto", qemu, "x86_64", kernel, cache, NULL, &accel,
                                          &cached, &error));
  g_assert_cmpint (accel, ==, BERTH_LIMA_ACCEL_KVM);
  g_assert_cmpstr (cached, ==, reason);
  g_assert_cmpuint (count_lines (count), ==, 1);

  /* A QEMU whose guest says nothing in time (nested KVM that hangs): TCG,
   * and the reason says so. A new QEMU version is a new cache key. */
  g_clear_pointer (&qemu, g_free);
  g_clear_pointer (&reason, g_free);
  qemu = fake_qemu (dir, "", count);
  {
    g_autofree gchar *script = NULL;

    g_assert_true (g_file_get_contents (qemu, &script, NULL, NULL));
    {
      g_autoptr (GString) changed = g_string_new (script);

      g_string_replace (changed, "9.9.9", "9.9.10", 0);
      berth_test_write_file (qemu, changed->str, 0755);
    }
  }
  start = g_get_monotonic_time ();
  g_assert_true (berth_lima_accel_choose ("auto", qemu, "x86_64", kernel, cache, NULL, &accel,
                                          &reason, &error));
  g_assert_cmpint (accel, ==, BERTH_LIMA_ACCEL_TCG);
  g_assert_nonnull (strstr (reason, "printed no kernel output within 5 s"));
  g_assert_cmpint (g_get_monotonic_time () - start, >=,
                   (BERTH_LIMA_KVM_PROBE_SECONDS - 1) * G_USEC_PER_SEC);
  g_assert_cmpuint (count_lines (count), ==, 2);

  /* A QEMU that gives up at once under KVM (as with nested KVM that
   * refuses the host CPU's MSRs): TCG, with QEMU's words. */
  g_clear_pointer (&reason, g_free);
  berth_test_write_file (
      qemu,
      "#!/bin/sh\n"
      "if [ \"$1\" = --version ]; then echo 'QEMU emulator version 9.9.11'; exit 0; fi\n"
      "echo 'qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69' >&2\n"
      "exit 134\n",
      0755);
  start = g_get_monotonic_time ();
  g_assert_true (berth_lima_accel_choose ("auto", qemu, "x86_64", kernel, cache, NULL, &accel,
                                          &reason, &error));
  g_assert_cmpint (accel, ==, BERTH_LIMA_ACCEL_TCG);
  g_assert_nonnull (strstr (reason, "QEMU stopped at once"));
  g_assert_nonnull (strstr (reason, "failed to set MSR 0x10a"));
  g_assert_cmpint (g_get_monotonic_time () - start, <, 3 * G_USEC_PER_SEC);
}

/* ---- QMP --------------------------------------------------------------------- */

typedef struct
{
  GSocketListener *listener;
  GPtrArray *received; /* lines from the client */
  gboolean long_line;  /* answer query-status with an endless line */
  const gchar *reply;  /* answer query-status with this line instead */
} FakeQemu;

static void
send_line (GOutputStream *out, const gchar *line)
{
  g_autofree gchar *text = g_strconcat (line, "\r\n", NULL);

  g_output_stream_write_all (out, text, strlen (text), NULL, NULL, NULL);
}

static gpointer
fake_qemu_thread (gpointer user_data)
{
  FakeQemu *fake = user_data;
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GDataInputStream) in = NULL;
  GOutputStream *out;

  connection = g_socket_listener_accept (fake->listener, NULL, NULL, NULL);
  if (connection == NULL)
    return NULL;
  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  send_line (out, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": "
                  "7}, \"package\": \"test\"}, \"capabilities\": [\"oob\"]}}");
  for (;;)
    {
      g_autofree gchar *line = g_data_input_stream_read_line (in, NULL, NULL, NULL);

      if (line == NULL)
        break;
      g_ptr_array_add (fake->received, g_strdup (line));
      if (strstr (line, "qmp_capabilities") != NULL)
        send_line (out, "{\"return\": {}}");
      else if (strstr (line, "query-status") != NULL)
        {
          if (fake->long_line)
            {
              g_autofree gchar *big = g_strnfill (BERTH_LIMA_QMP_MAX_LINE + 10, 'x');

              g_output_stream_write_all (out, big, strlen (big), NULL, NULL, NULL);
              continue;
            }
          if (fake->reply != NULL)
            {
              send_line (out, fake->reply);
              continue;
            }
          /* An event first: the client must skip it. */
          send_line (out, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": "
                          "\"RTC_CHANGE\", \"data\": {\"offset\": 0}}");
          send_line (out, "{\"return\": {\"status\": \"running\", \"singlestep\": false, "
                          "\"running\": true}}");
        }
      else if (strstr (line, "system_powerdown") != NULL)
        send_line (out, "{\"return\": {}}");
      else if (strstr (line, "quit") != NULL)
        break; /* QEMU goes away before it answers */
      else
        send_line (out, "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command "
                        "nonsense has not been found\"}}");
    }
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  return NULL;
}

static void
test_qmp (void)
{
  g_autofree gchar *dir = make_tmp ("qmp");
  g_autofree gchar *path = g_build_filename (dir, "qmp.sock", NULL);
  g_autoptr (GSocketAddress) address = g_unix_socket_address_new (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthLimaQmp) qmp = NULL;
  g_autoptr (JsonNode) reply = NULL;
  g_autofree gchar *status = NULL;
  FakeQemu fake = { 0 };
  GThread *thread;
  gboolean running = FALSE;

  fake.listener = g_socket_listener_new ();
  fake.received = g_ptr_array_new_with_free_func (g_free);
  g_socket_listener_add_address (fake.listener, address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, &error);
  g_assert_no_error (error);
  thread = g_thread_new ("fake-qemu", fake_qemu_thread, &fake);

  qmp = berth_lima_qmp_connect_sync (path, 2000, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (berth_lima_qmp_get_qemu_version (qmp), ==, "7.2.22");
  status = berth_lima_qmp_query_status_sync (qmp, &running, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (status, ==, "running");
  g_assert_true (running);
  g_assert_true (berth_lima_qmp_system_powerdown_sync (qmp, NULL, &error));
  reply = berth_lima_qmp_execute_sync (qmp, "nonsense", NULL, NULL, &error);
  g_assert_null (reply);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND);
  g_assert_nonnull (strstr (error->message, "nonsense"));
  g_assert_nonnull (strstr (error->message, "CommandNotFound"));
  g_clear_error (&error);
  g_assert_true (berth_lima_qmp_quit_sync (qmp, NULL, &error));
  g_assert_no_error (error);
  g_thread_join (thread);

  g_assert_cmpuint (fake.received->len, ==, 5);
  g_assert_nonnull (
      strstr (g_ptr_array_index (fake.received, 0), "\"execute\":\"qmp_capabilities\""));
  g_assert_nonnull (
      strstr (g_ptr_array_index (fake.received, 2), "\"execute\":\"system_powerdown\""));
  g_ptr_array_set_size (fake.received, 0);

  /* A line without end is refused, not buffered forever. */
  fake.long_line = TRUE;
  g_clear_object (&qmp);
  thread = g_thread_new ("fake-qemu", fake_qemu_thread, &fake);
  qmp = berth_lima_qmp_connect_sync (path, 5000, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&status, g_free);
  status = berth_lima_qmp_query_status_sync (qmp, NULL, NULL, &error);
  g_assert_null (status);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "longer than"));
  g_clear_error (&error);
  g_clear_object (&qmp);
  g_thread_join (thread);

  /* Only JSON: neither a reply cut short nor one that json-glib alone
   * would read as something else (010 as 8). */
  fake.long_line = FALSE;
  for (guint i = 0; i < 2; i++)
    {
      fake.reply = i == 0
                       ? "{\"return\": {\"status\": \"running\", \"running\": tr"
                       : "{\"return\": {\"status\": \"running\", \"running\": true, \"n\": 010}}";
      thread = g_thread_new ("fake-qemu", fake_qemu_thread, &fake);
      qmp = berth_lima_qmp_connect_sync (path, 5000, NULL, &error);
      g_assert_no_error (error);
      g_clear_pointer (&status, g_free);
      status = berth_lima_qmp_query_status_sync (qmp, NULL, NULL, &error);
      g_assert_null (status);
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
      g_assert_nonnull (strstr (error->message, "QEMU sent something that is not JSON"));
      g_clear_error (&error);
      g_clear_object (&qmp);
      g_thread_join (thread);
    }

  /* Nothing listening: the error names the socket. */
  g_socket_listener_close (fake.listener);
  g_unlink (path);
  g_assert_null (berth_lima_qmp_connect_sync (path, 500, NULL, &error));
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);

  g_object_unref (fake.listener);
  g_ptr_array_unref (fake.received);
}

/* ---- SSH ------------------------------------------------------------------- */

static void
test_ssh_argv (void)
{
  g_autoptr (BerthLimaSsh) ssh
      = berth_lima_ssh_new ("/lima/_config/user", "/lima/0/ssh.sock", "berth", 40022, NULL);
  const gchar *remote[] = { "echo", "a b", "it's", "$HOME", NULL };
  const gchar *extra[] = { "-O", "check", NULL };
  g_auto (GStrv) argv = berth_lima_ssh_build_argv (ssh, NULL, remote);
  g_auto (GStrv) check = berth_lima_ssh_build_argv (ssh, extra, NULL);
  guint n = g_strv_length (argv);

  g_assert_cmpstr (argv[0], ==, "ssh");
  g_assert_cmpstr (arg_after (argv, "-F", 0), ==, "/dev/null");
  g_assert_cmpstr (arg_after (argv, "-i", 0), ==, "/lima/_config/user");
  g_assert_cmpstr (arg_after (argv, "-S", 0), ==, "/lima/0/ssh.sock");
  g_assert_cmpstr (arg_after (argv, "-p", 0), ==, "40022");
  g_assert_true (strv_has (argv, "StrictHostKeyChecking=no"));
  g_assert_true (strv_has (argv, "BatchMode=yes"));
  g_assert_cmpstr (argv[n - 3], ==, "berth@127.0.0.1");
  g_assert_cmpstr (argv[n - 2], ==, "--");
  /* One string for the guest's shell, each word quoted. */
  g_assert_cmpstr (argv[n - 1], ==, "'echo' 'a b' 'it'\\''s' '$HOME'");

  n = g_strv_length (check);
  g_assert_cmpstr (check[n - 1], ==, "berth@127.0.0.1");
  g_assert_cmpstr (check[n - 2], ==, "check");
  g_assert_cmpstr (check[n - 3], ==, "-O");
}

static void
test_ssh_config (void)
{
  g_autofree gchar *dir = make_tmp ("ssh-config");
  g_autofree gchar *path = g_build_filename (dir, "ssh.config", NULL);
  g_autoptr (BerthLimaSsh) ssh
      = berth_lima_ssh_new ("/li ma/_config/user", "/li ma/0/ssh.sock", "berth", 40022, NULL);
  g_autoptr (BerthLimaSsh) bad
      = berth_lima_ssh_new ("/li\"ma/_config/user", "/lima/0/ssh.sock", "berth", 40022, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = NULL;
  GStatBuf st;

  g_assert_true (berth_lima_ssh_write_config (ssh, path, "lima-0", &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "\nHost lima-0\n"));
  g_assert_nonnull (strstr (text, "  Port 40022\n"));
  g_assert_nonnull (strstr (text, "  User berth\n"));
  g_assert_nonnull (strstr (text, "  IdentityFile \"/li ma/_config/user\"\n"));
  g_assert_nonnull (strstr (text, "  ControlPath \"/li ma/0/ssh.sock\"\n"));
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  g_assert_false (berth_lima_ssh_write_config (bad, path, "lima-0", &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
}

/* ---- the image cache -------------------------------------------------------- */

#define FAKE_HASH "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define OLD_HASH "1111111111111111111111111111111111111111111111111111111111111111"
#define BUSY_HASH "2222222222222222222222222222222222222222222222222222222222222222"

/* A stand-in recipe that prints step lines, counts its runs, and writes a
 * complete image (or fails, when @fail). */
static gchar *
fake_recipe (const gchar *name, gboolean fail)
{
  g_autofree gchar *data = make_tmp (name);
  g_autofree gchar *guest = g_build_filename (data, "guest", NULL);
  g_autofree gchar *build = g_build_filename (guest, "build-image.sh", NULL);
  g_autofree gchar *hash = g_build_filename (guest, "recipe-hash.sh", NULL);
  g_autofree gchar *script = NULL;

  g_assert_cmpint (g_mkdir_with_parents (guest, 0755), ==, 0);
  berth_test_write_file (hash, "#!/bin/sh\necho " FAKE_HASH "\n", 0755);
  if (fail)
    script = g_strdup ("#!/bin/sh\n"
                       "echo 'Building guest image: reading the Debian mirrors'\n"
                       "echo 'build-image.sh: error: mmdebstrap failed (no network)' >&2\n"
                       "exit 3\n");
  else
    script = g_strdup_printf (
        "#!/bin/sh\n"
        "set -e\n"
        "[ \"$1\" = --out ] && [ \"$3\" = --cache ]\n"
        "# The cache's lock is held by the build itself.\n"
        "[ -e /proc/$$/fd/200 ]\n"
        "echo run >>'%s/runs'\n"
        "echo 'Building guest image: installing packages'\n"
        "echo 'some other output'\n"
        "echo 'Building guest image: making the disk'\n"
        "mkdir -p \"$2\"\n"
        "echo k >\"$2/vmlinuz\"; echo i >\"$2/initrd.img\"; echo d >\"$2/rootfs.qcow2\"\n"
        "printf '{\"format\": 1, \"variant\": \"berth\", \"recipe_sha256\": \"%s\", "
        "\"kernel_cmdline\": \"root=/dev/vda rw console=ttyS0 quiet test\"}\\n' "
        ">\"$2/manifest.json\"\n",
        data, FAKE_HASH);
  berth_test_write_file (build, script, 0755);
  return g_steal_pointer (&data);
}

static void
on_image_progress (BerthLimaImageCache *cache, const gchar *description, guint64 current,
                   guint64 max, GPtrArray *seen)
{
  g_ptr_array_add (seen, g_strdup (description));
}

static BerthLimaImage *
ensure_image (BerthLimaImageCache *cache, const gchar *url, const gchar *sha256, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  berth_lima_image_cache_ensure_async (cache, url, sha256, NULL, berth_test_store_result, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return berth_lima_image_cache_ensure_finish (cache, result, error);
}

static gboolean
seen_has (GPtrArray *seen, const gchar *text)
{
  for (guint i = 0; i < seen->len; i++)
    if (g_str_equal (g_ptr_array_index (seen, i), text))
      return TRUE;
  return FALSE;
}

static void
test_image_build (void)
{
  g_autofree gchar *data = fake_recipe ("recipe-ok", FALSE);
  g_autofree gchar *cache_dir = make_tmp ("image-cache");
  g_autofree gchar *logs = make_tmp ("image-logs");
  g_autofree gchar *runs = g_build_filename (data, "runs", NULL);
  g_autofree gchar *expected_dir = g_build_filename (cache_dir, "images", FAKE_HASH, NULL);
  g_autoptr (BerthLimaImageCache) cache = berth_lima_image_cache_new (cache_dir, logs);
  g_autoptr (GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (BerthLimaImage) image = NULL;
  g_autoptr (BerthLimaImage) again = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *log_text = NULL;
  g_autofree gchar *log_path = g_build_filename (logs, "lima-image.log", NULL);

  /* Images of older recipes: pruned after the build, unless another
   * process holds one locked. */
  g_autofree gchar *old_image = g_build_filename (cache_dir, "images", OLD_HASH, "vmlinuz", NULL);
  g_autofree gchar *busy_image = g_build_filename (cache_dir, "images", BUSY_HASH, "vmlinuz", NULL);
  g_autofree gchar *busy_lock = g_build_filename (cache_dir, "images", BUSY_HASH ".lock", NULL);
  g_autofree gchar *apt = g_build_filename (cache_dir, "images", "apt-archives", "x.deb", NULL);
  int busy_fd;

  for (guint i = 0; i < 3; i++)
    {
      const gchar *path = i == 0 ? old_image : i == 1 ? busy_image : apt;
      g_autofree gchar *parent = g_path_get_dirname (path);

      g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
      berth_test_write_file (path, "x", 0644);
    }
  busy_fd = g_open (busy_lock, O_RDWR | O_CREAT, 0644);
  g_assert_cmpint (flock (busy_fd, LOCK_EX), ==, 0);

  g_setenv ("BERTH_DATA_DIR", data, TRUE);
  g_signal_connect (cache, "progress", G_CALLBACK (on_image_progress), seen);
  image = ensure_image (cache, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (image->dir, ==, expected_dir);
  g_assert_true (g_str_has_suffix (image->kernel, "/vmlinuz"));
  g_assert_true (g_str_has_suffix (image->disk, "/rootfs.qcow2"));
  g_assert_false (image->disk_bootable);
  g_assert_cmpstr (image->kernel_cmdline, ==, "root=/dev/vda rw console=ttyS0 quiet test");
  /* Each step line of the recipe became progress, as it printed it. */
  g_assert_true (seen_has (seen, "Building guest image: installing packages"));
  g_assert_true (seen_has (seen, "Building guest image: making the disk"));
  g_assert_false (seen_has (seen, "some other output"));
  g_assert_cmpuint (count_lines (runs), ==, 1);
  g_assert_false (g_file_test (old_image, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (busy_image, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (apt, G_FILE_TEST_EXISTS));
  close (busy_fd);
  g_assert_true (g_file_get_contents (log_path, &log_text, NULL, NULL));
  g_assert_nonnull (strstr (log_text, "some other output"));

  /* The second time it is cached: no rebuild. */
  g_ptr_array_set_size (seen, 0);
  again = ensure_image (cache, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again->dir, ==, expected_dir);
  g_assert_cmpuint (count_lines (runs), ==, 1);
  g_assert_false (seen_has (seen, "Building guest image: installing packages"));
  g_unsetenv ("BERTH_DATA_DIR");
}

static void
test_image_build_fails (void)
{
  g_autofree gchar *data = fake_recipe ("recipe-bad", TRUE);
  g_autofree gchar *cache_dir = make_tmp ("image-cache-bad");
  g_autoptr (BerthLimaImageCache) cache = berth_lima_image_cache_new (cache_dir, tmp_root);
  g_autoptr (BerthLimaImage) image = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *missing = g_build_filename (tmp_root, "no-data", NULL);

  g_setenv ("BERTH_DATA_DIR", data, TRUE);
  image = ensure_image (cache, NULL, NULL, &error);
  g_assert_null (image);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND);
  g_assert_nonnull (strstr (error->message, "exited with status 3"));
  g_assert_nonnull (strstr (error->message, "mmdebstrap failed (no network)"));
  g_clear_error (&error);

  g_setenv ("BERTH_DATA_DIR", missing, TRUE);
  image = ensure_image (cache, NULL, NULL, &error);
  g_assert_null (image);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "BERTH_DATA_DIR"));
  g_assert_nonnull (strstr (error->message, missing));
  g_unsetenv ("BERTH_DATA_DIR");
}

typedef struct archive BerthTestArchive;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthTestArchive, archive_write_free)

static void
add_tar_entry (struct archive *a, const gchar *name, const gchar *contents)
{
  struct archive_entry *entry = archive_entry_new ();

  archive_entry_set_pathname (entry, name);
  archive_entry_set_filetype (entry, AE_IFREG);
  archive_entry_set_perm (entry, 0644);
  archive_entry_set_size (entry, (la_int64_t)strlen (contents));
  g_assert_cmpint (archive_write_header (a, entry), ==, ARCHIVE_OK);
  g_assert_cmpint (archive_write_data (a, contents, strlen (contents)), ==,
                   (la_ssize_t)strlen (contents));
  archive_entry_free (entry);
}

static void
test_image_download (void)
{
  g_autofree gchar *dir = make_tmp ("download");
  g_autofree gchar *tarball = g_build_filename (dir, "berth-guest.tar.gz", NULL);
  g_autofree gchar *diskfile = g_build_filename (dir, "cloud.qcow2", NULL);
  g_autofree gchar *cache_dir = make_tmp ("download-cache");
  g_autofree gchar *url = NULL;
  g_autofree gchar *disk_url = NULL;
  g_autofree gchar *sha = NULL;
  g_autofree gchar *disk_sha = NULL;
  g_autofree gchar *escaped = NULL;
  g_autofree gchar *cmdline = NULL;
  g_autoptr (BerthLimaImageCache) cache = berth_lima_image_cache_new (cache_dir, tmp_root);
  g_autoptr (BerthLimaImage) image = NULL;
  g_autoptr (BerthLimaImage) disk_image = NULL;
  g_autoptr (GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;

  {
    g_autoptr (BerthTestArchive) a = archive_write_new ();

    archive_write_set_format_pax_restricted (a);
    archive_write_add_filter_gzip (a);
    g_assert_cmpint (archive_write_open_filename (a, tarball), ==, ARCHIVE_OK);
    add_tar_entry (a, "./vmlinuz", "kernel");
    add_tar_entry (a, "./initrd.img", "initrd");
    add_tar_entry (a, "./rootfs.qcow2", "QFI\xfb disk");
    add_tar_entry (a, "./manifest.json",
                   "{\"variant\": \"berth\", \"kernel_cmdline\": \"root=/dev/vda console=ttyS0\"}");
    /* Never written: not one of the image's files, or outside it. */
    add_tar_entry (a, "../escaped", "no");
    add_tar_entry (a, "etc/passwd", "no");
    g_assert_cmpint (archive_write_close (a), ==, ARCHIVE_OK);
  }
  sha = berth_checksum_file (BERTH_CHECKSUM_SHA256, tarball, NULL, &error);
  g_assert_no_error (error);
  url = g_filename_to_uri (tarball, NULL, &error);
  g_assert_no_error (error);

  /* A wrong digest is refused. */
  image = ensure_image (cache, url,
                        "0000000000000000000000000000000000000000000000000000000000000000", &error);
  g_assert_null (image);
  g_assert_nonnull (error);
  g_test_message ("wrong digest: %s", error->message);
  g_clear_error (&error);
  image = ensure_image (cache, url, "", &error);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING);
  g_assert_nonnull (strstr (error->message, "virtualMachine.image.sha256"));
  g_clear_error (&error);

  g_signal_connect (cache, "progress", G_CALLBACK (on_image_progress), seen);
  image = ensure_image (cache, url, sha, &error);
  g_assert_no_error (error);
  g_assert_true (seen_has (seen, "Downloading guest image"));
  g_assert_true (g_str_has_prefix (image->dir, cache_dir));
  g_assert_true (g_str_has_suffix (image->dir, "/image"));
  g_assert_nonnull (image->kernel);
  g_assert_nonnull (image->initrd);
  g_assert_cmpstr (image->disk_format, ==, "qcow2");
  g_assert_false (image->disk_bootable);
  g_assert_cmpstr (image->kernel_cmdline, ==, "root=/dev/vda console=ttyS0");
  g_assert_cmpstr (image->source, ==, url);
  escaped = g_build_filename (image->dir, "..", "escaped", NULL);
  g_assert_false (g_file_test (escaped, G_FILE_TEST_EXISTS));
  cmdline = g_build_filename (image->dir, "etc", NULL);
  g_assert_false (g_file_test (cmdline, G_FILE_TEST_EXISTS));

  /* A bare disk image is a bootable disk: boot mode "disk". */
  berth_test_write_file (diskfile, "not a tar archive, a raw disk", 0644);
  disk_sha = berth_checksum_file (BERTH_CHECKSUM_SHA256, diskfile, NULL, &error);
  disk_url = g_filename_to_uri (diskfile, NULL, &error);
  disk_image = ensure_image (cache, disk_url, disk_sha, &error);
  g_assert_no_error (error);
  g_assert_null (disk_image->kernel);
  g_assert_true (disk_image->disk_bootable);
  g_assert_cmpstr (disk_image->disk_format, ==, "raw");
  g_assert_true (g_str_has_suffix (disk_image->disk, "/data"));
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_root = berth_test_make_root ("berth-lima-runtime");

  g_test_add_func ("/lima/runtime/qemu-argv", test_qemu_argv);
  g_test_add_func ("/lima/runtime/boot-mode", test_boot_mode);
  g_test_add_func ("/lima/runtime/boot-timeout", test_boot_timeout);
  g_test_add_func ("/lima/runtime/qemu-find", test_qemu_find);
  g_test_add_func ("/lima/runtime/accel-forced", test_accel_forced);
  g_test_add_func ("/lima/runtime/accel-probe-and-cache", test_accel_probe_and_cache);
  g_test_add_func ("/lima/runtime/qmp", test_qmp);
  g_test_add_func ("/lima/runtime/ssh-argv", test_ssh_argv);
  g_test_add_func ("/lima/runtime/ssh-config", test_ssh_config);
  g_test_add_func ("/lima/runtime/image-build", test_image_build);
  g_test_add_func ("/lima/runtime/image-build-fails", test_image_build_fails);
  g_test_add_func ("/lima/runtime/image-download", test_image_download);
  status = g_test_run ();
  berth_test_rm_rf (tmp_root);
  g_free (tmp_root);
  return status;
}
