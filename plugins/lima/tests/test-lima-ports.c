/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The guest's listening ports: what the watcher prints, how the host reads
 * it, which forwards it keeps, and the object driving a stand-in ssh. No
 * VM: test-lima-vm covers the real guest. */

#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include <berth-backend.h>
#include <berth-error.h>

#include "berth-lima-ports.h"
#include "berth-lima-ssh.h"

/* A /proc/net/tcp as a guest with dockerd, a published port and sshd shows
 * it: wildcard 8080 and 22, loopback 5000 and 127.0.0.53:53, a specific
 * 10.0.2.15:9000, and established connections (state 01) and a TIME_WAIT
 * (06) that are no listeners. */
static const gchar PROC_TCP[]
    = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
      "timeout inode\n"
      "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        "
      "0 21345 1 0000000000000000 100 0 0 10 0\n"
      "   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        "
      "0 11007 1 0000000000000000 100 0 0 10 0\n"
      "   2: 0100007F:1388 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        "
      "0 30021 1 0000000000000000 100 0 0 10 0\n"
      "   3: 3500007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        "
      "0 9921 1 0000000000000000 100 0 0 10 0\n"
      "   4: 0F02000A:2328 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        "
      "0 30500 1 0000000000000000 100 0 0 10 0\n"
      "   5: 0F02000A:0016 0202000A:D3C4 01 00000000:00000000 02:0009A3F2 00000000     0        "
      "0 31002 4 0000000000000000 20 4 30 10 -1\n"
      "   6: 0100007F:1388 0100007F:B0A2 06 00000000:00000000 03:00001609 00000000     0        "
      "0 0 3 0000000000000000\n";

/* And its tcp6: a wildcard on 8080 too (dockerd's proxy listens on both),
 * ::1 on 6000, an IPv4-mapped 10.0.2.15 on 7000, fd00::1234 on 7001, a
 * link-local fe80::1 on 7002, and a connection. */
static const gchar PROC_TCP6[]
    = "  sl  local_address                         remote_address                        st "
      "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
      "   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A "
      "00000000:00000000 00:00000000 00000000     0        0 21350 1 0000000000000000 100 0 0 "
      "10 0\n"
      "   1: 00000000000000000000000001000000:1770 00000000000000000000000000000000:0000 0A "
      "00000000:00000000 00:00000000 00000000  1000        0 30100 1 0000000000000000 100 0 0 "
      "10 0\n"
      "   2: 0000000000000000FFFF00000F02000A:1B58 00000000000000000000000000000000:0000 0A "
      "00000000:00000000 00:00000000 00000000     0        0 30200 1 0000000000000000 100 0 0 "
      "10 0\n"
      "   3: 000000FD000000000000000034120000:1B59 00000000000000000000000000000000:0000 0A "
      "00000000:00000000 00:00000000 00000000     0        0 30300 1 0000000000000000 100 0 0 "
      "10 0\n"
      "   4: 000080FE000000000000000001000000:1B5A 00000000000000000000000000000000:0000 0A "
      "00000000:00000000 00:00000000 00000000     0        0 30400 1 0000000000000000 100 0 0 "
      "10 0\n"
      "   5: 00000000000000000000000001000000:1770 00000000000000000000000001000000:A1B2 01 "
      "00000000:00000000 00:00000000 00000000     0        0 30101 1 0000000000000000 20 4 30 "
      "10 -1\n";

/* ---- helpers --------------------------------------------------------------- */

static BerthLimaPortSet *
parse_block (const gchar *text, GPtrArray **warnings_out)
{
  g_autoptr (BerthLimaPortsReader) reader = berth_lima_ports_reader_new ();
  g_autoptr (GPtrArray) sets
      = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_lima_port_set_free);
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);

  berth_lima_ports_reader_feed (reader, text, strlen (text), sets, warnings);
  if (warnings_out != NULL)
    *warnings_out = g_ptr_array_ref (warnings);
  if (sets->len == 0)
    return NULL;
  g_assert_cmpuint (sets->len, ==, 1);
  return g_ptr_array_steal_index (sets, 0);
}

static gchar *
ports_text (const BerthLimaPortSet *set)
{
  g_autoptr (GArray) ports = berth_lima_port_set_ports (set);
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < ports->len; i++)
    {
      guint16 port = g_array_index (ports, guint16, i);

      g_string_append_printf (text, "%s%u=%s", i > 0 ? " " : "", port,
                              berth_lima_port_set_lookup (set, port));
    }
  return g_string_free (text, FALSE);
}

static gchar *
array_text (GArray *ports)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < ports->len; i++)
    g_string_append_printf (text, "%s%u", i > 0 ? " " : "", g_array_index (ports, guint16, i));
  return g_string_free (text, FALSE);
}

static gboolean
warnings_mention (GPtrArray *warnings, const gchar *needle)
{
  for (guint i = 0; i < warnings->len; i++)
    if (strstr (g_ptr_array_index (warnings, i), needle) != NULL)
      return TRUE;
  return FALSE;
}

/* ---- one line -------------------------------------------------------------- */

static void
test_parse_lines (void)
{
  static const struct
  {
    const gchar *line;
    guint16 port;
    const gchar *target;
  } good[] = {
    { "00000000:1F90", 8080, "127.0.0.1" },                          /* 0.0.0.0 */
    { "0100007F:0050", 80, "127.0.0.1" },                            /* 127.0.0.1 */
    { "3500007F:0035", 53, "127.0.0.53" },                           /* 127.0.0.53 */
    { "0F02000A:2328", 9000, "10.0.2.15" },                          /* the guest's own */
    { "0f02000a:2328", 9000, "10.0.2.15" },                          /* lower case */
    { "00000000000000000000000000000000:0BB8", 3000, "::1" },        /* :: */
    { "00000000000000000000000001000000:1770", 6000, "::1" },        /* ::1 */
    { "0000000000000000FFFF00000F02000A:1B58", 7000, "10.0.2.15" },  /* ::ffff:10.0.2.15 */
    { "0000000000000000FFFF00000100007F:1B58", 7000, "127.0.0.1" },  /* ::ffff:127.0.0.1 */
    { "000000FD000000000000000034120000:1B59", 7001, "fd00::1234" }, /* a ULA */
    { "B80D0120000000000000000001000000:FFFF", 65535, "2001:db8::1" },
  };
  static const gchar *const bad[] = {
    "",
    ":",
    "0100007F",
    "0100007F:",
    "0100007F:12345",
    "0100007F:0000",
    "0100007F:1F90:1",
    "0100007:1F90",
    "0100007F0:1F90",
    "0100007F:1F9G",
    "0100007X:1F90",
    " 0100007F:1F90",
    "0100007F:1F90 ",
    "0000000000000000000000000000000:1F90",
    "000000000000000000000000000000000:1F90",
    "0100007F:-1F9",
    "0100007F:+1F9",
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr (BerthLimaPortSet) set = berth_lima_port_set_new ();
      g_autoptr (GError) error = NULL;

      g_test_message ("good: %s", good[i].line);
      g_assert_true (berth_lima_port_set_add_line (set, good[i].line, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (berth_lima_port_set_size (set), ==, 1);
      g_assert_cmpstr (berth_lima_port_set_lookup (set, good[i].port), ==, good[i].target);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (BerthLimaPortSet) set = berth_lima_port_set_new ();
      g_autoptr (GError) error = NULL;

      g_test_message ("bad: \"%s\"", bad[i]);
      g_assert_false (berth_lima_port_set_add_line (set, bad[i], &error));
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
      g_assert_cmpuint (berth_lima_port_set_size (set), ==, 0);
    }

  /* fe80::1 listens, but nothing can reach it without an interface. */
  {
    g_autoptr (BerthLimaPortSet) set = berth_lima_port_set_new ();
    g_autoptr (GError) error = NULL;

    g_assert_true (
        berth_lima_port_set_add_line (set, "000080FE000000000000000001000000:1B5A", &error));
    g_assert_no_error (error);
    g_assert_cmpuint (berth_lima_port_set_size (set), ==, 0);
  }
}

/* When sockets share a port: the wildcard, then IPv4, then loopback. */
static void
test_target_choice (void)
{
  static const struct
  {
    const gchar *first;
    const gchar *second;
    const gchar *target;
  } cases[] = {
    { "0F02000A:1F90", "00000000:1F90", "127.0.0.1" },
    { "00000000:1F90", "0F02000A:1F90", "127.0.0.1" },
    { "0100007F:1F90", "0F02000A:1F90", "127.0.0.1" },
    { "0F02000A:1F90", "3500007F:1F90", "127.0.0.53" },
    { "00000000000000000000000000000000:1F90", "0F02000A:1F90", "::1" },
    { "00000000000000000000000000000000:1F90", "00000000:1F90", "127.0.0.1" },
    { "00000000000000000000000001000000:1F90", "0100007F:1F90", "127.0.0.1" },
    { "000000FD000000000000000034120000:1F90", "0F02000A:1F90", "10.0.2.15" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (BerthLimaPortSet) set = berth_lima_port_set_new ();

      g_assert_true (berth_lima_port_set_add_line (set, cases[i].first, NULL));
      g_assert_true (berth_lima_port_set_add_line (set, cases[i].second, NULL));
      g_assert_cmpuint (berth_lima_port_set_size (set), ==, 1);
      g_assert_cmpstr (berth_lima_port_set_lookup (set, 8080), ==, cases[i].target);
    }
}

/* ---- the guest's script, run here on sample files ----------------------- */

typedef struct
{
  GSubprocess *process;
  GDataInputStream *out;
} Script;

/* Runs the watch script with @dir/tcp and @dir/tcp6 in place of /proc's. */
static Script
run_script (const gchar *dir)
{
  g_autofree gchar *tcp = g_build_filename (dir, "tcp", NULL);
  g_autofree gchar *tcp6 = g_build_filename (dir, "tcp6", NULL);
  g_autofree gchar *files = g_strdup_printf ("%s %s", tcp, tcp6);
  g_auto (GStrv) parts
      = g_strsplit (berth_lima_ports_watch_script (), "/proc/net/tcp /proc/net/tcp6", -1);
  g_autofree gchar *script = NULL;
  g_autoptr (GError) error = NULL;
  Script run = { 0 };

  g_assert_cmpuint (g_strv_length (parts), ==, 2);
  script = g_strjoinv (files, parts);
  run.process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "sh", "-c", script, NULL);
  g_assert_no_error (error);
  run.out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (run.process));
  return run;
}

/* The next block the script prints, as text ending in an empty line. */
static gchar *
read_block (Script *run)
{
  GString *block = g_string_new (NULL);

  for (;;)
    {
      g_autoptr (GError) error = NULL;
      g_autofree gchar *line = g_data_input_stream_read_line (run->out, NULL, NULL, &error);

      g_assert_no_error (error);
      g_assert_nonnull (line);
      if (g_str_equal (line, "."))
        continue;
      g_string_append_printf (block, "%s\n", line);
      if (line[0] == '\0')
        return g_string_free (block, FALSE);
    }
}

static void
write_file (const gchar *dir, const gchar *name, const gchar *contents)
{
  g_autofree gchar *path = g_build_filename (dir, name, NULL);
  g_autofree gchar *tmp = g_strconcat (path, ".new", NULL);

  g_assert_true (g_file_set_contents (tmp, contents, -1, NULL));
  g_assert_cmpint (g_rename (tmp, path), ==, 0);
}

static void
test_watch_script (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *dir = g_dir_make_tmp ("berth-ports-XXXXXX", &error);
  g_autofree gchar *block = NULL;
  g_autofree gchar *text = NULL;
  g_autoptr (BerthLimaPortSet) set = NULL;
  g_autoptr (GPtrArray) warnings = NULL;
  Script run;
  gint64 before;

  g_assert_no_error (error);
  write_file (dir, "tcp", PROC_TCP);
  write_file (dir, "tcp6", PROC_TCP6);
  run = run_script (dir);

  /* The first block comes at once, listeners only. */
  block = read_block (&run);
  g_test_message ("first block:\n%s", block);
  g_assert_cmpstr (block, ==,
                   "00000000:1F90\n00000000:0016\n0100007F:1388\n3500007F:0035\n0F02000A:2328\n"
                   "00000000000000000000000000000000:1F90\n"
                   "00000000000000000000000001000000:1770\n"
                   "0000000000000000FFFF00000F02000A:1B58\n"
                   "000000FD000000000000000034120000:1B59\n"
                   "000080FE000000000000000001000000:1B5A\n\n");
  set = parse_block (block, &warnings);
  g_assert_cmpuint (warnings->len, ==, 0);
  text = ports_text (set);
  g_assert_cmpstr (text, ==,
                   "22=127.0.0.1 53=127.0.0.53 5000=127.0.0.1 6000=::1 7000=10.0.2.15 "
                   "7001=fd00::1234 8080=127.0.0.1 9000=10.0.2.15");

  /* A port closes: the next block within a second, without it. */
  before = g_get_monotonic_time ();
  write_file (dir, "tcp6", "  sl  local_address remote_address st\n");
  g_free (block);
  block = read_block (&run);
  g_test_message ("after tcp6 emptied (%.2f s):\n%s",
                  (g_get_monotonic_time () - before) / (gdouble)G_USEC_PER_SEC, block);
  g_assert_cmpfloat ((g_get_monotonic_time () - before) / (gdouble)G_USEC_PER_SEC, <, 3.0);
  g_assert_cmpstr (block, ==,
                   "00000000:1F90\n00000000:0016\n0100007F:1388\n3500007F:0035\n0F02000A:2328\n\n");

  /* No listener at all (tcp6 gone too: a guest without IPv6): an empty
   * block, which is the empty set, not nothing. */
  write_file (dir, "tcp", "  sl  local_address rem_address   st\n");
  {
    g_autofree gchar *tcp6 = g_build_filename (dir, "tcp6", NULL);

    g_assert_cmpint (g_unlink (tcp6), ==, 0);
  }
  g_free (block);
  block = read_block (&run);
  g_assert_cmpstr (block, ==, "\n");
  g_clear_pointer (&set, berth_lima_port_set_free);
  set = parse_block (block, NULL);
  g_assert_nonnull (set);
  g_assert_cmpuint (berth_lima_port_set_size (set), ==, 0);

  g_subprocess_force_exit (run.process);
  g_subprocess_wait (run.process, NULL, NULL);
  g_clear_object (&run.out);
  g_clear_object (&run.process);
  {
    g_autofree gchar *tcp = g_build_filename (dir, "tcp", NULL);

    g_unlink (tcp);
    g_rmdir (dir);
  }
}

/* ---- the reader ------------------------------------------------------------ */

static void
test_reader_chunks (void)
{
  const gchar stream[] = "00000000:1F90\n0100007F:1388\n\n.\n0F02000A:2328\n\n\n0100007F:0050\n";
  g_autoptr (BerthLimaPortsReader) reader = berth_lima_ports_reader_new ();
  g_autoptr (GPtrArray) sets
      = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_lima_port_set_free);
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autofree gchar *first = NULL;
  g_autofree gchar *second = NULL;

  /* One byte at a time: the same blocks as all at once. */
  for (gsize i = 0; i < strlen (stream); i++)
    berth_lima_ports_reader_feed (reader, stream + i, 1, sets, warnings);
  g_assert_cmpuint (warnings->len, ==, 0);
  /* The last block is not complete: not reported. */
  g_assert_cmpuint (sets->len, ==, 3);
  first = ports_text (g_ptr_array_index (sets, 0));
  g_assert_cmpstr (first, ==, "5000=127.0.0.1 8080=127.0.0.1");
  second = ports_text (g_ptr_array_index (sets, 1));
  g_assert_cmpstr (second, ==, "9000=10.0.2.15");
  g_assert_cmpuint (berth_lima_port_set_size (g_ptr_array_index (sets, 2)), ==, 0);

  /* Its end completes it. */
  g_ptr_array_set_size (sets, 0);
  berth_lima_ports_reader_feed (reader, "\n", 1, sets, warnings);
  g_assert_cmpuint (sets->len, ==, 1);
  g_assert_cmpstr (berth_lima_port_set_lookup (g_ptr_array_index (sets, 0), 80), ==, "127.0.0.1");
}

static void
test_reader_malformed (void)
{
  g_autoptr (GPtrArray) warnings = NULL;
  g_autoptr (BerthLimaPortSet) set
      = parse_block ("00000000:1F90\ngarbage\n0100007F\n\x01\xff:zz\n0F02000A:2328\n\n", &warnings);
  g_autofree gchar *text = ports_text (set);

  /* The good lines count; the bad ones are one warning, quoting the first. */
  g_assert_cmpstr (text, ==, "8080=127.0.0.1 9000=10.0.2.15");
  g_assert_cmpuint (warnings->len, ==, 1);
  g_test_message ("%s", (const gchar *)g_ptr_array_index (warnings, 0));
  g_assert_true (warnings_mention (warnings, "3 malformed lines"));
  g_assert_true (warnings_mention (warnings, "\"garbage\""));

  /* A NUL inside a line makes it malformed, not shorter. */
  {
    g_autoptr (BerthLimaPortsReader) reader = berth_lima_ports_reader_new ();
    g_autoptr (GPtrArray) sets
        = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_lima_port_set_free);
    g_autoptr (GPtrArray) nul_warnings = g_ptr_array_new_with_free_func (g_free);
    const gchar data[] = "0100007F:1F90\0junk\n\n";

    berth_lima_ports_reader_feed (reader, data, sizeof data - 1, sets, nul_warnings);
    g_assert_cmpuint (sets->len, ==, 1);
    g_assert_cmpuint (berth_lima_port_set_size (g_ptr_array_index (sets, 0)), ==, 0);
    g_assert_true (warnings_mention (nul_warnings, "NUL"));
  }
}

static void
test_reader_huge (void)
{
  g_autoptr (BerthLimaPortsReader) reader = berth_lima_ports_reader_new ();
  g_autoptr (GPtrArray) sets
      = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_lima_port_set_free);
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) stream = g_string_new (NULL);
  g_autofree gchar *long_line = g_strnfill (1024 * 1024, 'A');
  g_autofree gchar *text = NULL;

  /* A line of 1 MiB inside a block: ignored, the block kept. */
  g_string_append (stream, "00000000:1F90\n");
  g_string_append (stream, long_line);
  g_string_append (stream, "\n0100007F:1388\n\n");
  /* Then more ports than the bound in one block: the block ignored. */
  for (guint i = 0; i < BERTH_LIMA_PORTS_MAX_BLOCK + 10; i++)
    g_string_append_printf (stream, "00000000:%04X\n", (i % 60000) + 1024);
  g_string_append (stream, "\n");
  /* And a normal block after them. */
  g_string_append (stream, "0F02000A:2328\n\n");

  for (gsize offset = 0; offset < stream->len; offset += 3000)
    berth_lima_ports_reader_feed (reader, stream->str + offset, MIN (3000, stream->len - offset),
                                  sets, warnings);
  for (guint i = 0; i < warnings->len; i++)
    g_test_message ("warning: %s", (const gchar *)g_ptr_array_index (warnings, i));
  g_assert_cmpuint (sets->len, ==, 2);
  text = ports_text (g_ptr_array_index (sets, 0));
  g_assert_cmpstr (text, ==, "5000=127.0.0.1 8080=127.0.0.1");
  g_free (text);
  text = ports_text (g_ptr_array_index (sets, 1));
  g_assert_cmpstr (text, ==, "9000=10.0.2.15");
  g_assert_cmpuint (warnings->len, ==, 2);
  g_assert_true (warnings_mention (warnings, "a line of more than 256 bytes"));
  g_assert_true (warnings_mention (warnings, "more than 4096 sockets"));

  /* A block of exactly the bound is taken. */
  {
    g_autoptr (GString) full = g_string_new (NULL);

    g_ptr_array_set_size (sets, 0);
    g_ptr_array_set_size (warnings, 0);
    for (guint i = 0; i < BERTH_LIMA_PORTS_MAX_BLOCK; i++)
      g_string_append_printf (full, "00000000:%04X\n", i + 1024);
    g_string_append (full, "\n");
    berth_lima_ports_reader_feed (reader, full->str, full->len, sets, warnings);
    g_assert_cmpuint (warnings->len, ==, 0);
    g_assert_cmpuint (sets->len, ==, 1);
    g_assert_cmpuint (berth_lima_port_set_size (g_ptr_array_index (sets, 0)), ==,
                      BERTH_LIMA_PORTS_MAX_BLOCK);
  }
}

/* ---- set arithmetic -------------------------------------------------------- */

static void
test_diff (void)
{
  g_autoptr (BerthLimaPortSet) old = berth_lima_port_set_new ();
  g_autoptr (BerthLimaPortSet) new = berth_lima_port_set_new ();
  g_autoptr (BerthLimaPortSet) empty = berth_lima_port_set_new ();
  g_autoptr (BerthLimaPortSet) copy = NULL;
  g_autoptr (GArray) added = NULL;
  g_autoptr (GArray) removed = NULL;
  g_autofree gchar *added_text = NULL;
  g_autofree gchar *removed_text = NULL;

  berth_lima_port_set_add (old, 80, "127.0.0.1", 0);
  berth_lima_port_set_add (old, 8080, "127.0.0.1", 0);
  berth_lima_port_set_add (old, 9000, "10.0.2.15", 4);
  berth_lima_port_set_add (new, 8080, "127.0.0.1", 0);
  berth_lima_port_set_add (new, 9000, "127.0.0.1", 0); /* moved to the wildcard */
  berth_lima_port_set_add (new, 3000, "::1", 1);

  berth_lima_port_set_diff (old, new, &added, &removed);
  added_text = array_text (added);
  removed_text = array_text (removed);
  g_assert_cmpstr (added_text, ==, "3000 9000");
  g_assert_cmpstr (removed_text, ==, "80 9000");
  g_clear_pointer (&added, g_array_unref);
  g_clear_pointer (&removed, g_array_unref);

  /* Equal sets: nothing to do. */
  copy = berth_lima_port_set_copy (new);
  berth_lima_port_set_diff (new, copy, &added, &removed);
  g_assert_cmpuint (added->len, ==, 0);
  g_assert_cmpuint (removed->len, ==, 0);
  g_clear_pointer (&added, g_array_unref);
  g_clear_pointer (&removed, g_array_unref);

  /* From nothing and to nothing. */
  berth_lima_port_set_diff (empty, new, &added, &removed);
  g_assert_cmpuint (added->len, ==, 3);
  g_assert_cmpuint (removed->len, ==, 0);
  g_clear_pointer (&added, g_array_unref);
  g_clear_pointer (&removed, g_array_unref);
  berth_lima_port_set_diff (new, empty, &added, &removed);
  g_assert_cmpuint (added->len, ==, 0);
  g_assert_cmpuint (removed->len, ==, 3);
}

static void
test_filter (void)
{
  g_autoptr (BerthLimaPortSet) set = berth_lima_port_set_new ();
  g_autoptr (BerthLimaPortSet) as_root = NULL;
  g_autoptr (GArray) privileged = g_array_new (FALSE, FALSE, sizeof (guint16));
  g_autofree gchar *text = NULL;
  g_autofree gchar *dropped = NULL;

  for (guint16 port = 20; port < 25; port++)
    berth_lima_port_set_add (set, port, "127.0.0.1", 0);
  berth_lima_port_set_add (set, 443, "127.0.0.1", 0);
  berth_lima_port_set_add (set, 1023, "127.0.0.1", 0);
  berth_lima_port_set_add (set, 1024, "127.0.0.1", 0);
  berth_lima_port_set_add (set, 8080, "10.0.2.15", 4);
  as_root = berth_lima_port_set_copy (set);

  berth_lima_port_set_filter (set, 1024, privileged);
  text = ports_text (set);
  g_assert_cmpstr (text, ==, "1024=127.0.0.1 8080=10.0.2.15");
  dropped = array_text (privileged);
  /* 22 is the guest's sshd: dropped, but not for being privileged. */
  g_assert_cmpstr (dropped, ==, "20 21 23 24 443 1023");

  g_free (text);
  berth_lima_port_set_filter (as_root, 1, NULL);
  text = ports_text (as_root);
  g_assert_cmpstr (text, ==,
                   "20=127.0.0.1 21=127.0.0.1 23=127.0.0.1 24=127.0.0.1 443=127.0.0.1 "
                   "1023=127.0.0.1 1024=127.0.0.1 8080=10.0.2.15");
}

static void
test_forward_spec (void)
{
  g_autofree gchar *v4 = berth_lima_ssh_port_forward_spec (8080, "127.0.0.1", 8080);
  g_autofree gchar *specific = berth_lima_ssh_port_forward_spec (9000, "10.0.2.15", 9000);
  g_autofree gchar *v6 = berth_lima_ssh_port_forward_spec (3000, "::1", 3000);
  g_autofree gchar *v6_global = berth_lima_ssh_port_forward_spec (7001, "fd00::1234", 7001);

  g_assert_cmpstr (v4, ==, "127.0.0.1:8080:127.0.0.1:8080");
  g_assert_cmpstr (specific, ==, "127.0.0.1:9000:10.0.2.15:9000");
  g_assert_cmpstr (v6, ==, "127.0.0.1:3000:[::1]:3000");
  g_assert_cmpstr (v6_global, ==, "127.0.0.1:7001:[fd00::1234]:7001");
  g_assert_null (berth_lima_ssh_port_forward_spec (80, "localhost", 80));
  g_assert_null (berth_lima_ssh_port_forward_spec (80, "127.0.0.1:1", 80));
  g_assert_null (berth_lima_ssh_port_forward_spec (80, "", 80));
  g_assert_null (berth_lima_ssh_port_forward_spec (80, NULL, 80));
  g_assert_null (berth_lima_ssh_port_forward_spec (0, "127.0.0.1", 80));
}

/* ---- the object, with a stand-in ssh ----------------------------------------- */

/* The stand-in: `-O forward|cancel -L SPEC` appends "OP SPEC" to ops.log and
 * fails as OpenSSH's master does when SPEC's host port is listed in
 * taken; `-O check` succeeds; anything else is the watcher, which prints
 * the blocks file as it grows. */
static const gchar FAKE_SSH[]
    = "#!/bin/sh\n"
      "dir=$(dirname \"$0\")\n"
      "op= spec=\n"
      "while [ $# -gt 0 ]; do\n"
      "  case $1 in\n"
      "    -O) op=$2; shift ;;\n"
      "    -L) spec=$2; shift ;;\n"
      "  esac\n"
      "  shift\n"
      "done\n"
      "case $op in\n"
      "  check) exit 0 ;;\n"
      "  forward|cancel)\n"
      "    port=${spec#127.0.0.1:}; port=${port%%:*}\n"
      "    if [ $op = forward ] && grep -qx \"$port\" \"$dir/taken\" 2>/dev/null; then\n"
      "      echo \"mux_client_forward: forwarding request failed: Port forwarding failed\" >&2\n"
      "      exit 255\n"
      "    fi\n"
      "    echo \"$op $spec\" >>\"$dir/ops.log\"\n"
      "    exit 0 ;;\n"
      "esac\n"
      "echo $$ >\"$dir/watcher.pid\"\n"
      "exec tail -n +1 -f \"$dir/blocks\"\n";

typedef struct
{
  gchar *dir;
  GPtrArray *log; /* "level: message" */
  guint changed;
} ObjectFixture;

static void
on_log (const gchar *level, const gchar *message, gpointer user_data)
{
  ObjectFixture *fx = user_data;

  g_test_message ("%s: %s", level, message);
  g_ptr_array_add (fx->log, g_strdup_printf ("%s: %s", level, message));
}

static void
on_changed (BerthLimaPorts *ports, gpointer user_data)
{
  ObjectFixture *fx = user_data;

  fx->changed++;
}

static gchar *
fixture_file (ObjectFixture *fx, const gchar *name)
{
  g_autofree gchar *path = g_build_filename (fx->dir, name, NULL);
  gchar *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return g_strdup ("");
  return contents;
}

static void
append_block (ObjectFixture *fx, const gchar *block)
{
  g_autofree gchar *path = g_build_filename (fx->dir, "blocks", NULL);
  FILE *file = fopen (path, "a");

  g_assert_nonnull (file);
  fputs (block, file);
  fclose (file);
}

static gchar *
list_text (BerthLimaPorts *ports)
{
  g_autoptr (GPtrArray) list = berth_lima_ports_list (ports);
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < list->len; i++)
    {
      BerthPortForward *forward = g_ptr_array_index (list, i);

      g_string_append_printf (text, "%s%s %s:%u->%u", i > 0 ? ", " : "", forward->protocol,
                              forward->host_address, forward->host_port, forward->guest_port);
    }
  return g_string_free (text, FALSE);
}

/* Iterates the main context until the list reads @want, or fails after 10 s. */
static void
wait_list (BerthLimaPorts *ports, const gchar *want)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autofree gchar *text = list_text (ports);

      if (g_str_equal (text, want))
        return;
      if (g_get_monotonic_time () > deadline)
        g_error ("forwards \"%s\", expected \"%s\"", text, want);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10 * 1000);
    }
}

static gboolean
log_mentions (ObjectFixture *fx, const gchar *needle)
{
  for (guint i = 0; i < fx->log->len; i++)
    if (strstr (g_ptr_array_index (fx->log, i), needle) != NULL)
      return TRUE;
  return FALSE;
}

static void
test_object (void)
{
  ObjectFixture fx = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree gchar *ssh_path = NULL;
  g_autofree gchar *control = NULL;
  g_autofree gchar *taken = NULL;
  g_autofree gchar *saved_path = g_strdup (g_getenv ("PATH"));
  g_autofree gchar *new_path = NULL;
  g_autofree gchar *ops = NULL;
  g_autoptr (BerthLimaSsh) ssh = NULL;
  g_autoptr (BerthLimaPorts) ports = NULL;
  guint changed_before;

  fx.dir = g_dir_make_tmp ("berth-ports-obj-XXXXXX", &error);
  g_assert_no_error (error);
  fx.log = g_ptr_array_new_with_free_func (g_free);
  ssh_path = g_build_filename (fx.dir, "ssh", NULL);
  g_assert_true (g_file_set_contents (ssh_path, FAKE_SSH, -1, NULL));
  g_assert_cmpint (g_chmod (ssh_path, 0755), ==, 0);
  control = g_build_filename (fx.dir, "ssh.sock", NULL);
  g_assert_true (g_file_set_contents (control, "", -1, NULL));
  taken = g_build_filename (fx.dir, "taken", NULL);
  g_assert_true (g_file_set_contents (taken, "9000\n", -1, NULL));
  append_block (&fx, "");
  new_path = g_strconcat (fx.dir, ":", saved_path, NULL);
  g_setenv ("PATH", new_path, TRUE);

  ssh = berth_lima_ssh_new ("/nonexistent/key", control, "user", 60022, fx.dir);
  ports = berth_lima_ports_new (ssh, on_log, &fx);
  g_signal_connect (ports, "changed", G_CALLBACK (on_changed), &fx);
  berth_lima_ports_start (ports);

  /* Two ports open (and sshd's 22, never forwarded); 9000's host port is
   * taken: left out, and said so. */
  append_block (&fx, "00000000:1F90\n00000000:0016\n0F02000A:2328\n"
                     "00000000000000000000000001000000:0BB8\n\n");
  wait_list (ports, "tcp 127.0.0.1:3000->3000, tcp 127.0.0.1:8080->8080");
  g_assert_cmpuint (fx.changed, >=, 1);
  g_assert_true (log_mentions (&fx, "warning: Cannot forward 127.0.0.1:9000"));
  g_assert_true (log_mentions (&fx, "in use by another program"));
  ops = fixture_file (&fx, "ops.log");
  g_assert_cmpstr (ops, ==,
                   "forward 127.0.0.1:3000:[::1]:3000\nforward 127.0.0.1:8080:127.0.0.1:8080\n");

  /* 8080 closes, and 9000's host port is free now: the change retries it. */
  g_assert_true (g_file_set_contents (taken, "", -1, NULL));
  changed_before = fx.changed;
  append_block (&fx, "0F02000A:2328\n00000000000000000000000001000000:0BB8\n\n");
  wait_list (ports, "tcp 127.0.0.1:3000->3000, tcp 127.0.0.1:9000->9000");
  g_assert_cmpuint (fx.changed, >, changed_before);
  g_free (ops);
  ops = fixture_file (&fx, "ops.log");
  g_assert_true (g_str_has_suffix (
      ops, "cancel 127.0.0.1:8080:127.0.0.1:8080\nforward 127.0.0.1:9000:10.0.2.15:9000\n"));

  /* The watcher dies: said so, started again, and it catches up. */
  {
    g_autofree gchar *pid_text = fixture_file (&fx, "watcher.pid");
    gint pid = (gint)g_ascii_strtoll (pid_text, NULL, 10);

    g_assert_cmpint (pid, >, 0);
    g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  }
  append_block (&fx, "00000000000000000000000001000000:0BB8\n\n");
  wait_list (ports, "tcp 127.0.0.1:3000->3000");
  g_assert_true (log_mentions (&fx, "The guest port watcher was killed by signal 9"));

  /* Stopped: the list is dropped, and nothing more is said. */
  g_assert_true (berth_lima_ports_stop (ports));
  changed_before = fx.changed;
  {
    g_autofree gchar *text = list_text (ports);

    g_assert_cmpstr (text, ==, "");
  }
  g_ptr_array_set_size (fx.log, 0);
  append_block (&fx, "00000000:1F90\n\n");
  for (guint i = 0; i < 50; i++)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10 * 1000);
    }
  g_assert_cmpuint (fx.changed, ==, changed_before);
  g_assert_cmpuint (fx.log->len, ==, 0);
  g_assert_false (berth_lima_ports_stop (ports));

  g_setenv ("PATH", saved_path, TRUE);
  g_clear_object (&ports);
  {
    const gchar *names[]
        = { "ssh", "ssh.sock", "taken", "blocks", "ops.log", "watcher.pid", "lima.log", NULL };

    for (guint i = 0; names[i] != NULL; i++)
      {
        g_autofree gchar *path = g_build_filename (fx.dir, names[i], NULL);

        g_unlink (path);
      }
    g_rmdir (fx.dir);
  }
  g_free (fx.dir);
  g_ptr_array_unref (fx.log);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lima/ports/parse-lines", test_parse_lines);
  g_test_add_func ("/lima/ports/target-choice", test_target_choice);
  g_test_add_func ("/lima/ports/watch-script", test_watch_script);
  g_test_add_func ("/lima/ports/reader-chunks", test_reader_chunks);
  g_test_add_func ("/lima/ports/reader-malformed", test_reader_malformed);
  g_test_add_func ("/lima/ports/reader-huge", test_reader_huge);
  g_test_add_func ("/lima/ports/diff", test_diff);
  g_test_add_func ("/lima/ports/filter", test_filter);
  g_test_add_func ("/lima/ports/forward-spec", test_forward_spec);
  g_test_add_func ("/lima/ports/object", test_object);
  return g_test_run ();
}
