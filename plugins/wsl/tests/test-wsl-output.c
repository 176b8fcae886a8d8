/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What wsl.exe prints, read as plugins/wsl reads it: UTF-16LE with and
 * without a byte order mark, UTF-8 (WSL_UTF8=1), listings with odd names,
 * --status of a working WSL 2 and of WSL 1 only, os-release, versions and
 * mountinfo. */
#include "config.h"

#include <string.h>

#include <berth.h>

#include "berth-wsl-output.h"

/* @text as wsl.exe writes it: UTF-16LE, a byte order mark, CRLF. */
static GBytes *
utf16 (const gchar *text, gboolean bom)
{
  g_autoptr (GString) crlf = g_string_new (NULL);
  g_autofree gunichar2 *units = NULL;
  glong n = 0;
  GByteArray *out = g_byte_array_new ();

  for (const gchar *p = text; *p != '\0'; p++)
    {
      if (*p == '\n')
        g_string_append_c (crlf, '\r');
      g_string_append_c (crlf, *p);
    }
  units = g_utf8_to_utf16 (crlf->str, -1, NULL, &n, NULL);
  g_assert_nonnull (units);
  if (bom)
    g_byte_array_append (out, (const guint8 *)"\xff\xfe", 2);
  for (glong i = 0; i < n; i++)
    {
      guint8 pair[2] = { units[i] & 0xff, units[i] >> 8 };

      g_byte_array_append (out, pair, 2);
    }
  return g_byte_array_free_to_bytes (out);
}

static gchar *
decode_bytes (GBytes *bytes)
{
  gsize length = 0;
  const guint8 *data = g_bytes_get_data (bytes, &length);

  return berth_wsl_decode (data, length);
}

static void
test_decode (void)
{
  g_autoptr (GBytes) with_bom = utf16 ("Ubuntu-22.04\nDébian ✓ 𝄞\n", TRUE);
  g_autoptr (GBytes) without = utf16 ("kali-linux\n", FALSE);
  g_autofree gchar *a = decode_bytes (with_bom);
  g_autofree gchar *b = decode_bytes (without);
  g_autofree gchar *c = berth_wsl_decode ((const guint8 *)"\xef\xbb\xbfplain\n", 9);
  g_autofree gchar *d = berth_wsl_decode ((const guint8 *)"caf\xc3\xa9", 5);
  /* A lone high surrogate, then an odd last byte. */
  static const guint8 broken[] = { 0xff, 0xfe, 'a', 0, 0x00, 0xd8, 'b', 0, 'c' };
  g_autofree gchar *e = berth_wsl_decode (broken, sizeof broken);
  static const guint8 nul[] = { 0xff, 0xfe, 'x', 0, 0, 0, 'y', 0 };
  g_autofree gchar *f = berth_wsl_decode (nul, sizeof nul);
  g_autofree gchar *empty = berth_wsl_decode (NULL, 0);

  g_assert_cmpstr (a, ==, "Ubuntu-22.04\r\nDébian ✓ 𝄞\r\n");
  g_assert_cmpstr (b, ==, "kali-linux\r\n");
  g_assert_cmpstr (c, ==, "plain\n");
  g_assert_cmpstr (d, ==, "café");
  g_assert_cmpstr (e, ==,
                   "a\xef\xbf\xbd"
                   "b\xef\xbf\xbd");
  g_assert_cmpstr (f, ==, "x\xef\xbf\xbdy");
  g_assert_cmpstr (empty, ==, "");
  g_assert_true (g_utf8_validate (e, -1, NULL));
}

static void
test_list_verbose (void)
{
  /* As WSL 2 prints it, with names that look like its columns. */
  g_autoptr (GBytes) bytes = utf16 ("  NAME                   STATE           VERSION\n"
                                    "* Ubuntu-22.04           Running         2\n"
                                    "  berth                  Stopped         2\n"
                                    "  Running                Stopped         2\n"
                                    "  my.distro_2-x          Installing      1\n"
                                    "\n",
                                    TRUE);
  g_autofree gchar *text = decode_bytes (bytes);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) distros = berth_wsl_parse_list_verbose (text, &error);
  BerthWslDistro *d;

  g_assert_no_error (error);
  g_assert_cmpuint (distros->len, ==, 4);
  d = g_ptr_array_index (distros, 0);
  g_assert_cmpstr (d->name, ==, "Ubuntu-22.04");
  g_assert_cmpstr (d->state, ==, "Running");
  g_assert_true (berth_wsl_distro_is_running (d));
  g_assert_cmpuint (d->version, ==, 2);
  g_assert_true (d->is_default);
  d = g_ptr_array_index (distros, 1);
  g_assert_cmpstr (d->name, ==, "berth");
  g_assert_false (d->is_default);
  g_assert_false (berth_wsl_distro_is_running (d));
  d = g_ptr_array_index (distros, 2);
  g_assert_cmpstr (d->name, ==, "Running");
  g_assert_cmpstr (d->state, ==, "Stopped");
  d = g_ptr_array_index (distros, 3);
  g_assert_cmpstr (d->name, ==, "my.distro_2-x");
  g_assert_cmpuint (d->version, ==, 1);

  /* A localised header and state are taken as they are. */
  {
    g_autoptr (GPtrArray) de = berth_wsl_parse_list_verbose (
        "  NAME      STATUS          VERSION\n* Debian    Wird ausgeführt 2\n", &error);

    g_assert_no_error (error);
    g_assert_cmpuint (de->len, ==, 1);
    d = g_ptr_array_index (de, 0);
    g_assert_cmpstr (d->name, ==, "Debian");
    g_assert_cmpstr (d->state, ==, "Wird ausgeführt");
    g_assert_false (berth_wsl_distro_is_running (d));
  }
}

static void
test_list_errors (void)
{
  static const struct
  {
    const gchar *text;
    const gchar *message;
  } cases[] = {
    { "  NAME STATE VERSION\n  lonely\n", "line 2" },
    { "  NAME STATE VERSION\n  a Running two\n", "not a WSL version" },
    { "  NAME STATE VERSION\n  a Running 0\n", "not a WSL version" },
    { "  NAME STATE VERSION\n  a Running 99999999999999999999\n", "not a WSL version" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) distros = berth_wsl_parse_list_verbose (cases[i].text, &error);

      g_assert_null (distros);
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_FAILED);
      g_assert_nonnull (strstr (error->message, cases[i].message));
      g_assert_nonnull (strstr (error->message, "wsl.exe --list --verbose"));
    }
}

static void
test_list_quiet (void)
{
  g_autoptr (GBytes) bytes = utf16 ("Ubuntu\nberth\n\nberth-data\n", TRUE);
  g_autofree gchar *text = decode_bytes (bytes);
  g_auto (GStrv) names = berth_wsl_parse_list_quiet (text);
  const gchar *const expected[] = { "Ubuntu", "berth", "berth-data", NULL };

  g_assert_true (g_strv_equal ((const gchar *const *)names, expected));
  g_assert_true (berth_wsl_text_says_no_distributions (
      "Windows Subsystem for Linux has no installed distributions.\r\n"));
  g_assert_true (
      berth_wsl_text_says_no_distributions ("Error code: Wsl/WSL_E_DEFAULT_DISTRO_NOT_FOUND"));
  g_assert_false (berth_wsl_text_says_no_distributions ("  NAME STATE VERSION"));
}

static void
test_status (void)
{
  g_autoptr (BerthWslStatus) ok = berth_wsl_parse_status (
      "Default Distribution: Ubuntu\r\nDefault Version: 2\r\n\r\nKernel version: 5.15.90.1\r\n");
  g_autoptr (BerthWslStatus) wsl1 = berth_wsl_parse_status (
      "Default Version: 1\r\n\r\nThe WSL 2 kernel file is not found. To update or restore the "
      "kernel please run 'wsl.exe --update'.\r\n");
  g_autoptr (BerthWslStatus) vmp = berth_wsl_parse_status (
      "Please enable the Virtual Machine Platform Windows feature and ensure virtualization is "
      "enabled in the BIOS.\r\nError code: Wsl/Service/CreateVm/HCS/HCS_E_HYPERV_NOT_INSTALLED");
  g_autoptr (BerthWslStatus) localised = berth_wsl_parse_status ("Standardversion: 2\r\n");

  g_assert_cmpstr (ok->default_distribution, ==, "Ubuntu");
  g_assert_cmpuint (ok->default_version, ==, 2);
  g_assert_null (ok->wsl2_problem);
  g_assert_cmpuint (wsl1->default_version, ==, 1);
  g_assert_nonnull (strstr (wsl1->wsl2_problem, "wsl.exe --update"));
  g_assert_nonnull (strstr (vmp->wsl2_problem, "Virtual Machine Platform"));
  g_assert_nonnull (strstr (vmp->wsl2_problem, "--install --no-distribution"));
  g_assert_cmpuint (localised->default_version, ==, 0);
  g_assert_null (localised->default_distribution);
}

static void
test_os_release (void)
{
  static const struct
  {
    const gchar *text;
    const gchar *version;
  } cases[] = {
    { "ID=berth\nVERSION_ID=\"0.8\"\n", "0.8" },
    { "VERSION_ID='1.2.3'\n", "1.2.3" },
    { "VERSION_ID=12\n", "12" },
    { "  VERSION_ID=0.1  \r\n", "0.1" },
    { "VERSION_ID=1\nVERSION_ID=2\n", "2" },
    { "VERSION_ID=\"$(reboot)\"\n", NULL },
    { "VERSION_ID=\n", NULL },
    { "ID=debian\n", NULL },
    { "", NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *version
          = berth_wsl_os_release_version_id (cases[i].text, strlen (cases[i].text));

      g_assert_cmpstr (version, ==, cases[i].version);
    }
}

static void
test_versions (void)
{
  g_assert_cmpint (berth_wsl_version_compare ("0.8", "0.8.0"), ==, 0);
  g_assert_cmpint (berth_wsl_version_compare ("0.7", "0.8"), <, 0);
  g_assert_cmpint (berth_wsl_version_compare ("0.10", "0.9"), >, 0);
  g_assert_cmpint (berth_wsl_version_compare ("1.0-rc1", "1.0"), <, 0);
  g_assert_cmpint (berth_wsl_version_compare ("0.1", "0.2"), <, 0);
  g_assert_cmpint (berth_wsl_version_compare ("00012", "12"), ==, 0);
  g_assert_cmpint (berth_wsl_version_compare ("99999999999999999999999", "1"), >, 0);
  g_assert_cmpint (berth_wsl_version_compare ("", ""), ==, 0);
}

static void
test_names (void)
{
  g_assert_true (berth_wsl_distro_name_is_valid ("Ubuntu-22.04"));
  g_assert_true (berth_wsl_distro_name_is_valid ("my_distro.2"));
  g_assert_false (berth_wsl_distro_name_is_valid ("--unregister"));
  g_assert_false (berth_wsl_distro_name_is_valid ("two words"));
  g_assert_false (berth_wsl_distro_name_is_valid (""));
  g_assert_false (berth_wsl_distro_name_is_valid ("Débian"));
  g_assert_false (berth_wsl_distro_name_is_valid (
      "a123456789012345678901234567890123456789012345678901234567890123456789"));
}

static void
test_mountinfo (void)
{
  g_autoptr (GPtrArray) mounts = berth_wsl_parse_mountinfo (
      "36 35 8:48 / / rw,relatime - ext4 /dev/sdd rw,discard\n"
      "120 36 8:48 / /mnt/wsl/berth/run/data rw,relatime shared:1 - ext4 /dev/sde rw\n"
      "121 36 0:5 / /mnt/with\\040space rw master:2 - 9p C:\\134 rw\n"
      "broken line\n");
  BerthWslMount *m;

  g_assert_cmpuint (mounts->len, ==, 3);
  m = g_ptr_array_index (mounts, 1);
  g_assert_cmpstr (m->mount_point, ==, "/mnt/wsl/berth/run/data");
  g_assert_cmpstr (m->source, ==, "/dev/sde");
  m = g_ptr_array_index (mounts, 2);
  g_assert_cmpstr (m->mount_point, ==, "/mnt/with space");
  g_assert_cmpstr (m->source, ==, "C:\\");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/wsl-output/decode", test_decode);
  g_test_add_func ("/wsl-output/list-verbose", test_list_verbose);
  g_test_add_func ("/wsl-output/list-errors", test_list_errors);
  g_test_add_func ("/wsl-output/list-quiet", test_list_quiet);
  g_test_add_func ("/wsl-output/status", test_status);
  g_test_add_func ("/wsl-output/os-release", test_os_release);
  g_test_add_func ("/wsl-output/versions", test_versions);
  g_test_add_func ("/wsl-output/names", test_names);
  g_test_add_func ("/wsl-output/mountinfo", test_mountinfo);
  return g_test_run ();
}
