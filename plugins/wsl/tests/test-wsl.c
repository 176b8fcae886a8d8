/* SPDX-License-Identifier: GPL-3.0-or-later */
/* berth-wsl as berthd loads it, against the fake wsl.exe (tests/fake-wsl),
 * which keeps its distributions in a scratch directory and runs --exec
 * commands with the imported tarball as their root. The tarball is made
 * here: busybox, an os-release with VERSION_ID, and the guest's real
 * wsl-init and lib.sh from data/guest. What is asserted is what a person
 * would see: the distributions `wsl.exe --list --verbose` shows, the files
 * in them, exec's output and status, the states and the error messages.
 * Nothing here is real WSL. */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>
#include <glib/gstdio.h>

#include <berth.h>

#include "berth-test-certs.h"
#include "berth-test-util.h"
#include "berth-wsl-output.h"

#define WAIT_SECONDS 120

typedef struct archive TestArchive;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestArchive, archive_write_free)

typedef struct
{
  gchar *root;
  gchar *fake_dir;
  gchar *tarball;
  BerthPaths *paths;
  BerthSettings *settings;
  BerthPluginLoader *loader;
  BerthBackend *backend;
} Fixture;

/* ---- the tarball ---------------------------------------------------------- */

static void
add_entry (struct archive *writer, const gchar *name, mode_t type, guint mode, const gchar *data,
           gsize length, const gchar *link)
{
  struct archive_entry *entry = archive_entry_new ();

  archive_entry_set_pathname (entry, name);
  archive_entry_set_filetype (entry, type);
  archive_entry_set_perm (entry, mode);
  archive_entry_set_uid (entry, 0);
  archive_entry_set_gid (entry, 0);
  if (link != NULL)
    archive_entry_set_symlink (entry, link);
  archive_entry_set_size (entry, type == AE_IFREG ? (la_int64_t)length : 0);
  g_assert_cmpint (archive_write_header (writer, entry), ==, ARCHIVE_OK);
  if (type == AE_IFREG && length > 0)
    g_assert_cmpint (archive_write_data (writer, data, length), ==, (la_ssize_t)length);
  archive_entry_free (entry);
}

static void
add_file_from (struct archive *writer, const gchar *name, const gchar *path, guint mode)
{
  g_autofree gchar *data = NULL;
  gsize length = 0;

  g_assert_true (g_file_get_contents (path, &data, &length, NULL));
  add_entry (writer, name, AE_IFREG, mode, data, length, NULL);
}

/* A root file system WSL would import: busybox and its applets, the guest's
 * init, an os-release saying @version (NULL: none). Without @with_init, no
 * wsl-init (a broken distribution). */
static gchar *
make_tarball (Fixture *f, const gchar *name, const gchar *version, gboolean with_init)
{
  g_autofree gchar *path = g_build_filename (f->root, name, NULL);
  g_autofree gchar *busybox = g_find_program_in_path ("busybox");
  g_autoptr (TestArchive) writer = archive_write_new ();
  const gchar *guest = g_getenv ("BERTH_TEST_GUEST_DIR");
  const gchar *const *dirs = (const gchar *const[]){
    "bin",  "etc",     "lib",     "proc", "run",     "tmp",
    "var",  "var/lib", "var/log", "usr",  "usr/lib", "usr/lib/berth-guest",
    "root", "mnt",     "dev",     "sys",  NULL,
  };
  g_autofree gchar *applets = NULL;
  g_auto (GStrv) names = NULL;
  static const gchar passwd[] = "root:x:0:0:root:/root:/bin/sh\n";

  g_assert_nonnull (busybox);
  g_assert_nonnull (guest);
  archive_write_set_format_pax_restricted (writer);
  g_assert_cmpint (archive_write_open_filename (writer, path), ==, ARCHIVE_OK);
  for (guint i = 0; dirs[i] != NULL; i++)
    add_entry (writer, dirs[i], AE_IFDIR, 0755, NULL, 0, NULL);
  add_file_from (writer, "bin/busybox", busybox, 0755);
  {
    const gchar *const argv[] = { busybox, "--list", NULL };

    g_assert_cmpint (berth_test_spawn (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, &applets, NULL), ==,
                     0);
  }
  names = g_strsplit (applets, "\n", -1);
  for (guint i = 0; names[i] != NULL; i++)
    if (names[i][0] != '\0' && !g_str_equal (names[i], "busybox"))
      {
        g_autofree gchar *link = g_strconcat ("bin/", names[i], NULL);

        add_entry (writer, link, AE_IFLNK, 0777, NULL, 0, "busybox");
      }
  if (version != NULL)
    {
      g_autofree gchar *text
          = g_strdup_printf ("ID=berth\nID_LIKE=debian\nVERSION_ID=\"%s\"\n", version);

      add_entry (writer, "etc/os-release", AE_IFREG, 0644, text, strlen (text), NULL);
    }
  add_entry (writer, "etc/passwd", AE_IFREG, 0644, passwd, strlen (passwd), NULL);
  {
    g_autofree gchar *conf = g_build_filename (guest, "wsl", "wsl.conf", NULL);
    g_autofree gchar *lib
        = g_build_filename (guest, "rootfs", "usr", "lib", "berth-guest", "lib.sh", NULL);
    g_autofree gchar *init = g_build_filename (guest, "wsl", "wsl-init", NULL);

    add_file_from (writer, "etc/wsl.conf", conf, 0644);
    add_file_from (writer, "usr/lib/berth-guest/lib.sh", lib, 0644);
    if (with_init)
      add_file_from (writer, "usr/lib/berth-guest/wsl-init", init, 0755);
  }
  g_assert_cmpint (archive_write_close (writer), ==, ARCHIVE_OK);
  return g_steal_pointer (&path);
}

/* ---- the fake's side -------------------------------------------------------- */

/* `wsl.exe ARGS…` through the fake, as a person would run it: its decoded
 * output, and its exit status in @status. */
static gchar *
run_fake (gint *status, const gchar *first, ...) G_GNUC_NULL_TERMINATED;

static gchar *
run_fake (gint *status, const gchar *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GBytes) out = NULL;
  g_autoptr (GError) error = NULL;
  gsize length = 0;
  const guint8 *data;
  va_list args;

  g_ptr_array_add (argv, (gpointer)g_getenv ("BERTH_WSL_EXE"));
  va_start (args, first);
  for (const gchar *a = first; a != NULL; a = va_arg (args, const gchar *))
    g_ptr_array_add (argv, (gpointer)a);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  /* Its UTF-16 has NUL bytes: read as bytes, not as a string. */
  process = g_subprocess_newv ((const gchar *const *)argv->pdata, G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                               &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate (process, NULL, NULL, &out, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  if (status != NULL)
    *status = g_subprocess_get_exit_status (process);
  data = g_bytes_get_data (out, &length);
  return berth_wsl_decode (data, length);
}

/* The fake's listing, parsed. */
static GPtrArray *
fake_list (void)
{
  g_autoptr (GError) error = NULL;
  gint status = 0;
  g_autofree gchar *text = run_fake (&status, "--list", "--verbose", NULL);
  GPtrArray *distros;

  if (status != 0)
    {
      g_assert_true (berth_wsl_text_says_no_distributions (text));
      return g_ptr_array_new ();
    }
  distros = berth_wsl_parse_list_verbose (text, &error);
  g_assert_no_error (error);
  return distros;
}

static BerthWslDistro *
listed (GPtrArray *distros, const gchar *name)
{
  for (guint i = 0; i < distros->len; i++)
    if (g_str_equal (((BerthWslDistro *)g_ptr_array_index (distros, i))->name, name))
      return g_ptr_array_index (distros, i);
  return NULL;
}

/* The distribution @name of the listing, which must be there. */
static BerthWslDistro *
must_list (GPtrArray *distros, const gchar *name)
{
  BerthWslDistro *distro = listed (distros, name);

  if (distro == NULL)
    g_error ("wsl.exe --list --verbose does not show %s", name);
  return distro;
}

static gchar *
rootfs_path (Fixture *f, const gchar *distro, const gchar *path)
{
  return g_build_filename (f->fake_dir, "distros", distro, "rootfs", path, NULL);
}

/* The fake's command log: one JSON array of arguments a line. */
static gchar *
commands (Fixture *f)
{
  g_autofree gchar *path = g_build_filename (f->fake_dir, "commands.log", NULL);
  gchar *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

static void
forget_commands (Fixture *f)
{
  g_autofree gchar *path = g_build_filename (f->fake_dir, "commands.log", NULL);

  g_unlink (path);
}

/* ---- the plugin ----------------------------------------------------------------- */

static gboolean
run_boolean (Fixture *f,
             void (*start) (BerthBackend *, GCancellable *, GAsyncReadyCallback, gpointer),
             gboolean (*finish) (BerthBackend *, GAsyncResult *, GError **), GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  start (f->backend, NULL, berth_test_store_result, &result);
  berth_test_wait_result (&result, WAIT_SECONDS);
  g_assert_nonnull (result);
  return finish (f->backend, result, error);
}

static void
start_ok (Fixture *f)
{
  g_autoptr (GError) error = NULL;

  run_boolean (f, berth_backend_start_async, berth_backend_start_finish, &error);
  g_assert_no_error (error);
  g_assert_cmpint (berth_backend_get_state (f->backend), ==, BERTH_STATE_STARTED);
}

static void
stop_ok (Fixture *f)
{
  g_autoptr (GError) error = NULL;

  run_boolean (f, berth_backend_stop_async, berth_backend_stop_finish, &error);
  g_assert_no_error (error);
  g_assert_cmpint (berth_backend_get_state (f->backend), ==, BERTH_STATE_STOPPED);
}

static BerthSubprocessResult *
exec (Fixture *f, const gchar *const *argv, const gchar *input)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = input != NULL ? g_bytes_new (input, strlen (input)) : NULL;
  BerthSubprocessResult *out;

  berth_backend_exec_async (f->backend, argv, bytes, NULL, berth_test_store_result, &result);
  berth_test_wait_result (&result, WAIT_SECONDS);
  out = berth_backend_exec_finish (f->backend, result, &error);
  g_assert_no_error (error);
  return out;
}

static gchar *
bytes_string (GBytes *bytes)
{
  gsize length = 0;
  const gchar *data = g_bytes_get_data (bytes, &length);

  return g_strndup (data, length);
}

static JsonNode *
info (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = berth_backend_info (f->backend, &error);

  g_assert_no_error (error);
  return node;
}

static void
load_plugin (Fixture *f)
{
  BerthPlugin *plugin = berth_test_load_plugin (f->settings, f->paths, "wsl", &f->loader);

  g_assert_nonnull (plugin);
  g_assert_true (BERTH_IS_BACKEND (plugin));
  g_assert_true (BERTH_IS_INTEGRATION (plugin));
  f->backend = BERTH_BACKEND (plugin);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  const gchar *fake = g_getenv ("BERTH_TEST_FAKE_WSL");

  f->root = berth_test_make_root ("berth-wsl");
  f->paths = berth_test_paths_under (f->root);
  f->fake_dir = g_build_filename (f->root, "fake-wsl", NULL);
  g_assert_cmpint (g_mkdir_with_parents (f->fake_dir, 0700), ==, 0);
  g_assert_nonnull (fake);
  g_setenv ("BERTH_WSL_EXE", fake, TRUE);
  g_setenv ("BERTH_FAKE_WSL_DIR", f->fake_dir, TRUE);
  g_unsetenv ("BERTH_FAKE_WSL_SCENARIO");
  g_setenv ("BERTH_BOOT_TIMEOUT", "240", TRUE);
  f->tarball = make_tarball (f, "distro.tar", "0.1", TRUE);
  g_setenv ("BERTH_WSL_DISTRO_TARBALL", f->tarball, TRUE);
  f->settings = berth_test_settings_new (f->paths, NULL);
  load_plugin (f);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  /* Nothing of the fake's keeps running. */
  if (f->backend != NULL && berth_backend_get_state (f->backend) == BERTH_STATE_STARTED)
    stop_ok (f);
  g_clear_object (&f->loader);
  g_clear_object (&f->settings);
  g_clear_pointer (&f->paths, berth_paths_free);
  berth_test_rm_rf (f->root);
  g_free (f->root);
  g_free (f->fake_dir);
  g_free (f->tarball);
}

/* ---- tests ---------------------------------------------------------------------- */

static void
test_native (Fixture *f, gconstpointer data)
{
  g_assert_true (berth_backend_is_native (f->backend, BERTH_PLATFORM_WINDOWS));
  g_assert_false (berth_backend_is_native (f->backend, BERTH_PLATFORM_LINUX));
  g_assert_false (berth_backend_is_native (f->backend, BERTH_PLATFORM_DARWIN));
}

/* The start sequence: both distributions imported, the data mounted, the
 * guest's files written, its init running; then exec, files, stop. */
static void
test_start_stop (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) distros = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autofree gchar *log = NULL;
  g_autofree gchar *import = NULL;
  g_autofree gchar *vhdx = NULL;
  g_autofree gchar *rotate = NULL;
  g_autofree gchar *certs = NULL;
  g_autofree gchar *mounts = NULL;
  g_autofree gchar *mounts_path = g_build_filename (f->fake_dir, "mounts.json", NULL);
  g_autofree gchar *distro_dir = g_build_filename (f->paths->data, "wsl", "distro", NULL);
  JsonObject *object;

  g_assert_true (berth_backend_validate (f->backend, NULL));
  start_ok (f);

  distros = fake_list ();
  g_assert_nonnull (listed (distros, "berth"));
  g_assert_nonnull (listed (distros, "berth-data"));
  g_assert_cmpuint (must_list (distros, "berth")->version, ==, 2);
  g_assert_cmpuint (must_list (distros, "berth-data")->version, ==, 2);
  g_assert_cmpstr (must_list (distros, "berth")->state, ==, "Running");

  log = commands (f);
  import = g_strdup_printf ("[\"--import\", \"berth\", \"%s\", \"%s\", \"--version\", \"2\"]",
                            distro_dir, f->tarball);
  g_assert_nonnull (strstr (log, import));
  g_assert_nonnull (strstr (log, "[\"--terminate\", \"berth\"]"));
  vhdx = g_build_filename (distro_dir, "ext4.vhdx", NULL);
  g_assert_true (g_file_test (vhdx, G_FILE_TEST_IS_REGULAR));

  /* The data distribution holds the data directories and what WSL needs. */
  {
    g_autofree gchar *var_lib = rootfs_path (f, "berth-data", "var/lib");
    g_autofree gchar *rancher = rootfs_path (f, "berth-data", "etc/rancher");
    g_autofree gchar *sh = rootfs_path (f, "berth-data", "bin/busybox");

    g_assert_true (g_file_test (var_lib, G_FILE_TEST_IS_DIR));
    g_assert_true (g_file_test (rancher, G_FILE_TEST_IS_DIR));
    g_assert_true (g_file_test (sh, G_FILE_TEST_IS_REGULAR));
  }
  /* Its root over /mnt/wsl, its directories over berth's (recorded by the
   * fake: a bind mount cannot outlive a command here). */
  mounts = berth_test_read_file (mounts_path);
  g_assert_nonnull (strstr (mounts, "\"distro\": \"berth-data\", \"source\": \"/\", "
                                    "\"target\": \"/mnt/wsl/berth/run/data\""));
  g_assert_nonnull (strstr (mounts,
                            "\"distro\": \"berth\", \"source\": "
                            "\"/mnt/wsl/berth/run/data/var/lib\", \"target\": \"/var/lib\""));

  rotate = rootfs_path (f, "berth", "etc/logrotate.d/berth-engine");
  g_assert_nonnull (strstr (berth_test_read_file (rotate), "copytruncate"));
  certs = rootfs_path (f, "berth", "usr/local/share/ca-certificates/berth-0.crt");
  {
    g_autofree gchar *pem = berth_test_read_file (certs);

    g_assert_true (g_str_has_prefix (pem, "-----BEGIN CERTIFICATE-----"));
  }

  node = info (f);
  object = json_node_get_object (node);
  g_assert_cmpstr (json_object_get_string_member (object, "backend"), ==, "wsl");
  g_assert_cmpstr (json_object_get_string_member (object, "state"), ==, "STARTED");
  g_assert_cmpstr (json_object_get_string_member (object, "distroVersion"), ==, "0.1");
  g_assert_cmpstr (json_object_get_string_member (object, "distroTarball"), ==, f->tarball);
  g_assert_false (json_object_get_null_member (object, "initPid"));

  /* exec: output through, status kept, standard input given. */
  {
    const gchar *const argv[] = { "/bin/sh", "-c", "cat; echo out; echo err >&2; exit 7", NULL };
    g_autoptr (BerthSubprocessResult) result = exec (f, argv, "in\n");
    g_autofree gchar *out = bytes_string (result->stdout_bytes);
    g_autofree gchar *err = bytes_string (result->stderr_bytes);

    g_assert_cmpint (result->exit_status, ==, 7);
    g_assert_cmpstr (out, ==, "in\nout\n");
    g_assert_cmpstr (err, ==, "err\n");
  }
  {
    const gchar *const argv[] = { "/bin/sh", "-c", ". /etc/os-release; echo $VERSION_ID", NULL };
    g_autoptr (BerthSubprocessResult) result = exec (f, argv, NULL);
    g_autofree gchar *out = bytes_string (result->stdout_bytes);

    g_assert_cmpint (result->exit_status, ==, 0);
    g_assert_cmpstr (out, ==, "0.1\n");
  }

  /* write_file and copy_in land in the distribution with their modes. */
  {
    g_autoptr (GAsyncResult) result = NULL;
    g_autoptr (GError) error = NULL;
    g_autoptr (GBytes) bytes = g_bytes_new_static ("PORT=6443\n", 10);
    g_autofree gchar *written = rootfs_path (f, "berth", "etc/conf.d/k3s");
    g_autofree gchar *host = g_build_filename (f->root, "k3s-binary", NULL);
    g_autofree gchar *copied = rootfs_path (f, "berth", "usr/local/bin/k3s");
    GStatBuf st;

    berth_backend_write_file_async (f->backend, "/etc/conf.d/k3s", bytes, 0600, NULL,
                                    berth_test_store_result, &result);
    berth_test_wait_result (&result, WAIT_SECONDS);
    g_assert_true (berth_backend_write_file_finish (f->backend, result, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (berth_test_read_file (written), ==, "PORT=6443\n");
    g_assert_cmpint (g_stat (written, &st), ==, 0);
    g_assert_cmpint (st.st_mode & 0777, ==, 0600);

    g_clear_object (&result);
    berth_test_write_file (host, "#!/bin/sh\necho k3s\n", 0755);
    berth_backend_copy_in_async (f->backend, host, "/usr/local/bin/k3s", NULL,
                                 berth_test_store_result, &result);
    berth_test_wait_result (&result, WAIT_SECONDS);
    g_assert_true (berth_backend_copy_in_finish (f->backend, result, &error));
    g_assert_no_error (error);
    g_assert_cmpint (g_stat (copied, &st), ==, 0);
    g_assert_cmpint (st.st_mode & 0777, ==, 0755);
  }

  stop_ok (f);
  g_clear_pointer (&distros, g_ptr_array_unref);
  distros = fake_list ();
  g_assert_cmpstr (must_list (distros, "berth")->state, ==, "Stopped");
  /* Stopped: exec is refused, saying why. */
  {
    const gchar *const argv[] = { "true", NULL };
    g_autoptr (GAsyncResult) result = NULL;
    g_autoptr (GError) error = NULL;
    g_autoptr (BerthSubprocessResult) out = NULL;

    berth_backend_exec_async (f->backend, argv, NULL, NULL, berth_test_store_result, &result);
    berth_test_wait_result (&result, WAIT_SECONDS);
    out = berth_backend_exec_finish (f->backend, result, &error);
    g_assert_null (out);
    g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED);
    g_assert_nonnull (strstr (error->message, "start Berth first"));
  }

  /* A second start registers nothing again and finds the data mounted. */
  forget_commands (f);
  start_ok (f);
  g_free (log);
  log = commands (f);
  g_assert_null (strstr (log, "--import"));
  g_assert_null (strstr (log, "\"mount\", \"--bind\", \"/\""));
}

/* A newer bundled VERSION_ID replaces berth; berth-data and its files stay. */
static void
test_upgrade (Fixture *f, gconstpointer data)
{
  g_autofree gchar *newer = NULL;
  g_autofree gchar *marker = NULL;
  g_autofree gchar *log = NULL;
  g_autoptr (JsonNode) node = NULL;
  JsonObject *object;

  start_ok (f);
  stop_ok (f);
  marker = rootfs_path (f, "berth-data", "var/lib/kept");
  berth_test_write_file (marker, "images and volumes\n", 0644);

  newer = make_tarball (f, "distro-0.2.tar", "0.2", TRUE);
  g_setenv ("BERTH_WSL_DISTRO_TARBALL", newer, TRUE);
  forget_commands (f);
  start_ok (f);
  log = commands (f);
  g_assert_nonnull (strstr (log, "[\"--unregister\", \"berth\"]"));
  g_assert_nonnull (strstr (log, "[\"--import\", \"berth\""));
  g_assert_null (strstr (log, "[\"--import\", \"berth-data\""));
  g_assert_null (strstr (log, "[\"--unregister\", \"berth-data\"]"));
  g_assert_cmpstr (berth_test_read_file (marker), ==, "images and volumes\n");

  node = info (f);
  object = json_node_get_object (node);
  g_assert_cmpstr (json_object_get_string_member (object, "installedDistroVersion"), ==, "0.1");
  g_assert_cmpstr (json_object_get_string_member (object, "distroVersion"), ==, "0.2");
  {
    const gchar *const argv[] = { "/bin/sh", "-c", ". /etc/os-release; echo $VERSION_ID", NULL };
    g_autoptr (BerthSubprocessResult) result = exec (f, argv, NULL);
    g_autofree gchar *out = bytes_string (result->stdout_bytes);

    g_assert_cmpstr (out, ==, "0.2\n");
  }
  stop_ok (f);

  /* An older tarball does not downgrade. */
  g_setenv ("BERTH_WSL_DISTRO_TARBALL", f->tarball, TRUE);
  forget_commands (f);
  start_ok (f);
  g_free (log);
  log = commands (f);
  g_assert_null (strstr (log, "--unregister"));
  g_assert_null (strstr (log, "--import"));
}

/* delete (the VM reset and the factory reset): both distributions go, and
 * their install locations. */
static void
test_delete (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) distros = NULL;
  g_autofree gchar *distro_dir = g_build_filename (f->paths->data, "wsl", "distro", NULL);
  g_autofree gchar *data_dir = g_build_filename (f->paths->data, "wsl", "distro-data", NULL);

  start_ok (f);
  g_assert_true (g_file_test (data_dir, G_FILE_TEST_IS_DIR));
  run_boolean (f, berth_backend_delete_async, berth_backend_delete_finish, &error);
  g_assert_no_error (error);
  g_assert_cmpint (berth_backend_get_state (f->backend), ==, BERTH_STATE_STOPPED);
  distros = fake_list ();
  g_assert_cmpuint (distros->len, ==, 0);
  g_assert_false (g_file_test (distro_dir, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (data_dir, G_FILE_TEST_EXISTS));
  /* And it starts afresh. */
  start_ok (f);
}

static void
expect_start_error (Fixture *f, const gchar *const *phrases)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (run_boolean (f, berth_backend_start_async, berth_backend_start_finish, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  for (guint i = 0; phrases[i] != NULL; i++)
    if (strstr (error->message, phrases[i]) == NULL)
      g_error ("\"%s\" is not in the error: %s", phrases[i], error->message);
  g_assert_cmpint (berth_backend_get_state (f->backend), ==, BERTH_STATE_ERROR);
  g_assert_cmpstr (berth_backend_get_state_reason (f->backend), ==, error->message);
}

static void
test_errors (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *missing = g_build_filename (f->root, "no-wsl.exe", NULL);
  g_autofree gchar *old_path = g_strdup (g_getenv ("PATH"));

  /* No WSL at all. */
  g_unsetenv ("BERTH_WSL_EXE");
  g_setenv ("PATH", f->root, TRUE);
  g_assert_false (berth_backend_validate (f->backend, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "not installed"));
  g_assert_nonnull (strstr (error->message, "wsl.exe --install --no-distribution"));
  g_clear_error (&error);
  expect_start_error (f, (const gchar *const[]){ "wsl.exe --install", NULL });
  g_setenv ("PATH", old_path, TRUE);

  g_setenv ("BERTH_WSL_EXE", missing, TRUE);
  g_assert_false (berth_backend_validate (f->backend, &error));
  g_assert_nonnull (strstr (error->message, "BERTH_WSL_EXE="));
  g_clear_error (&error);
  g_setenv ("BERTH_WSL_EXE", g_getenv ("BERTH_TEST_FAKE_WSL"), TRUE);

  /* No tarball. */
  g_setenv ("BERTH_WSL_DISTRO_TARBALL", missing, TRUE);
  g_assert_false (berth_backend_validate (f->backend, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "build-image.sh --wsl"));
  g_clear_error (&error);
  g_setenv ("BERTH_WSL_DISTRO_TARBALL", f->tarball, TRUE);

  /* WSL 1 only. */
  g_setenv ("BERTH_FAKE_WSL_SCENARIO", "wsl1", TRUE);
  expect_start_error (f, (const gchar *const[]){ "WSL 2", "wsl.exe --update", NULL });
  /* No Virtual Machine Platform: found when the import fails. */
  g_setenv ("BERTH_FAKE_WSL_SCENARIO", "no-vmp", TRUE);
  expect_start_error (f, (const gchar *const[]){ "Registering the WSL distribution berth failed",
                                                 "Virtual Machine Platform",
                                                 "--install --no-distribution", NULL });
  /* A tarball wsl.exe refuses. */
  g_setenv ("BERTH_FAKE_WSL_SCENARIO", "import-fails", TRUE);
  expect_start_error (f, (const gchar *const[]){ "Registering the WSL distribution berth failed",
                                                 "not a valid tar file", "(fake wsl.exe)", NULL });
  /* An old wsl.exe without --status is no reason to stop. */
  g_setenv ("BERTH_FAKE_WSL_SCENARIO", "old", TRUE);
  start_ok (f);
  stop_ok (f);
  g_unsetenv ("BERTH_FAKE_WSL_SCENARIO");
  {
    g_autoptr (GPtrArray) distros = fake_list ();

    g_assert_nonnull (listed (distros, "berth"));
  }
}

/* This host's CAs ($SSL_CERT_FILE here) and the file the settings name go
 * into the distribution's store, each once; a file Berth cannot use stops
 * the start, naming the setting. */
static void
test_ca_file (Fixture *f, gconstpointer data)
{
  g_autoptr (BerthTestIdentity) host_ca = berth_test_identity_new ("Host CA", NULL, NULL);
  g_autoptr (BerthTestIdentity) user_ca = berth_test_identity_new ("Corporate CA", NULL, NULL);
  g_autofree gchar *host_pem = berth_test_identity_cert_pem (host_ca);
  g_autofree gchar *user_pem = berth_test_identity_cert_pem (user_ca);
  g_autofree gchar *host_file = g_build_filename (f->root, "host-ca.pem", NULL);
  g_autofree gchar *user_file = g_build_filename (f->root, "corporate-ca.pem", NULL);
  g_autofree gchar *user_text = g_strconcat (host_pem, user_pem, NULL);
  g_autofree gchar *first = rootfs_path (f, "berth", "usr/local/share/ca-certificates/berth-0.crt");
  g_autofree gchar *second
      = rootfs_path (f, "berth", "usr/local/share/ca-certificates/berth-1.crt");
  g_autofree gchar *third = rootfs_path (f, "berth", "usr/local/share/ca-certificates/berth-2.crt");
  g_autofree gchar *update = NULL;
  g_autoptr (GError) error = NULL;

  berth_test_write_file (host_file, host_pem, 0644);
  berth_test_write_file (user_file, user_text, 0644);
  g_setenv ("SSL_CERT_FILE", host_file, TRUE);
  update
      = g_strdup_printf ("{\"virtualMachine\":{\"caCertificates\":{\"file\":\"%s\"}}}", user_file);
  g_assert_true (berth_settings_update_from_json (f->settings, update, NULL, &error));
  g_assert_no_error (error);

  start_ok (f);
  {
    g_autofree gchar *first_pem = berth_test_read_file (first);
    g_autofree gchar *second_pem = berth_test_read_file (second);

    g_assert_cmpstr (first_pem, ==, host_pem);
    g_assert_cmpstr (second_pem, ==, user_pem);
  }
  g_assert_false (g_file_test (third, G_FILE_TEST_EXISTS));
  stop_ok (f);

  g_unlink (user_file);
  expect_start_error (f, (const gchar *const[]){ "virtualMachine.caCertificates.file: ", user_file,
                                                 "No such file", NULL });
  g_unsetenv ("SSL_CERT_FILE");
}

/* A distribution without the guest's init: the start says so. */
static void
test_init_fails (Fixture *f, gconstpointer data)
{
  g_autofree gchar *broken = make_tarball (f, "broken.tar", "0.1", FALSE);

  g_setenv ("BERTH_WSL_DISTRO_TARBALL", broken, TRUE);
  expect_start_error (f, (const gchar *const[]){ "/usr/lib/berth-guest/wsl-init",
                                                 "ended before it was ready", NULL });
}

/* WSL.integrations: the socket and kubeconfig links in the distributions
 * asked for, a reason for those that cannot take them, all undone by the
 * removal. */
static void
test_integrations (Fixture *f, gconstpointer data)
{
  BerthIntegration *integration = BERTH_INTEGRATION (f->backend);
  g_autofree gchar *other = make_tarball (f, "other.tar", "12", TRUE);
  g_autofree gchar *loc1 = g_build_filename (f->root, "loc-ubuntu", NULL);
  g_autofree gchar *loc2 = g_build_filename (f->root, "loc-legacy", NULL);
  g_autofree gchar *loc3 = g_build_filename (f->root, "loc-docker", NULL);
  g_autofree gchar *sock_link = NULL;
  g_autofree gchar *kube_link = NULL;
  g_autofree gchar *own_sock = NULL;
  g_autofree gchar *target = NULL;
  g_autoptr (JsonNode) list = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) warnings = NULL;
  g_autofree gchar *kubeconfig = g_build_filename (f->root, "kubeconfig", NULL);
  JsonObject *object;
  gint status = 0;

  g_setenv ("KUBECONFIG", kubeconfig, TRUE);
  g_assert_cmpint (g_mkdir (loc1, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (loc2, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (loc3, 0700), ==, 0);
  g_free (run_fake (&status, "--import", "Ubuntu-Odd.1", loc1, other, "--version", "2", NULL));
  g_assert_cmpint (status, ==, 0);
  g_free (run_fake (&status, "--import", "legacy", loc2, other, "--version", "1", NULL));
  g_assert_cmpint (status, ==, 0);
  g_free (run_fake (&status, "--import", "docker-own", loc3, other, "--version", "2", NULL));
  g_assert_cmpint (status, ==, 0);
  own_sock = rootfs_path (f, "docker-own", "var/run/docker.sock");
  g_assert_cmpint (g_mkdir_with_parents (rootfs_path (f, "docker-own", "var/run"), 0755), ==, 0);
  berth_test_write_file (own_sock, "", 0600);

  g_assert_true (berth_settings_update_from_json (
      f->settings,
      "{\"WSL\":{\"integrations\":{\"Ubuntu-Odd.1\":true,\"legacy\":true,\"docker-own\":true}}}",
      NULL, &error));
  g_assert_no_error (error);

  /* Not running: nothing is touched. */
  berth_integration_apply_async (integration, BERTH_STATE_STOPPED, NULL, berth_test_store_result,
                                 &result);
  berth_test_wait_result (&result, WAIT_SECONDS);
  g_assert_true (berth_integration_apply_finish (integration, result, &error));
  sock_link = rootfs_path (f, "Ubuntu-Odd.1", "var/run/docker.sock");
  g_assert_false (g_file_test (sock_link, G_FILE_TEST_IS_SYMLINK));

  start_ok (f);
  g_clear_object (&result);
  berth_integration_apply_async (integration, BERTH_STATE_STARTED, NULL, berth_test_store_result,
                                 &result);
  berth_test_wait_result (&result, WAIT_SECONDS);
  g_assert_true (berth_integration_apply_finish (integration, result, &error));
  g_assert_no_error (error);

  target = g_file_read_link (sock_link, NULL);
  g_assert_cmpstr (target, ==, "/mnt/wsl/berth/docker.sock");
  g_free (target);
  kube_link = rootfs_path (f, "Ubuntu-Odd.1", "root/.kube/config");
  target = g_file_read_link (kube_link, NULL);
  g_assert_cmpstr (target, ==, kubeconfig);
  /* Another docker's socket is left alone. */
  g_assert_true (g_file_test (own_sock, G_FILE_TEST_IS_REGULAR));

  list = berth_integration_list (integration);
  object = json_node_get_object (list);
  g_assert_true (json_object_get_boolean_member (object, "Ubuntu-Odd.1"));
  g_assert_nonnull (strstr (json_object_get_string_member (object, "legacy"), "WSL 1"));
  g_assert_nonnull (
      strstr (json_object_get_string_member (object, "docker-own"), "another docker"));
  g_assert_false (json_object_has_member (object, "berth"));
  g_assert_false (json_object_has_member (object, "berth-data"));
  warnings = berth_integration_dup_warnings (integration);
  g_assert_cmpuint (g_strv_length (warnings), ==, 2);
  g_assert_nonnull (strstr (warnings[0], "wsl.exe --set-version legacy 2"));

  /* Turned off in the settings: the links go. */
  g_assert_true (berth_settings_update_from_json (
      f->settings, "{\"WSL\":{\"integrations\":{\"Ubuntu-Odd.1\":false}}}", NULL, &error));
  g_clear_object (&result);
  berth_integration_apply_async (integration, BERTH_STATE_STARTED, NULL, berth_test_store_result,
                                 &result);
  berth_test_wait_result (&result, WAIT_SECONDS);
  g_assert_true (berth_integration_apply_finish (integration, result, &error));
  g_assert_false (g_file_test (sock_link, G_FILE_TEST_IS_SYMLINK));
  g_assert_false (g_file_test (kube_link, G_FILE_TEST_IS_SYMLINK));
  g_clear_pointer (&list, json_node_unref);
  list = berth_integration_list (integration);
  g_assert_false (json_object_get_boolean_member (json_node_get_object (list), "Ubuntu-Odd.1"));
  g_unsetenv ("KUBECONFIG");
}

int
main (int argc, char **argv)
{
  berth_test_watch_leftovers ();
  g_test_init (&argc, &argv, NULL);

  if (g_getenv ("BERTH_TEST_FAKE_WSL") == NULL || g_find_program_in_path ("busybox") == NULL)
    {
      g_test_skip ("Run through meson test, with busybox installed");
      return g_test_run ();
    }

#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/wsl/native", test_native);
  ADD ("/wsl/start-stop", test_start_stop);
  ADD ("/wsl/upgrade", test_upgrade);
  ADD ("/wsl/delete", test_delete);
  ADD ("/wsl/errors", test_errors);
  ADD ("/wsl/init-fails", test_init_fails);
  ADD ("/wsl/ca-file", test_ca_file);
  ADD ("/wsl/integrations", test_integrations);
#undef ADD
  return g_test_run ();
}
