/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The VM suite: the lima plugin as berthd loads it, booting the real guest
 * under QEMU's TCG (KVM is never needed).
 *
 * Each run uses throwaway HOME and XDG directories. The guest image is the
 * one thing shared between runs: $XDG_CACHE_HOME/berth/images is a link to
 * $BERTH_TEST_IMAGE_CACHE, or to vm-image-cache in the build directory, so
 * the image is built once per build tree (a few minutes) and reused. The
 * cases run in order on one instance, as a person would use it. */

#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include <berth.h>

#include "berth-test-util.h"

typedef struct
{
  gchar *root;
  gchar *home;
  gchar *lima;
  gchar *instance_dir;
  BerthSettings *settings;
  BerthPluginLoader *loader;
  BerthBackend *backend;
  GPtrArray *progress;    /* descriptions seen */
  gchar *marker;          /* what the persistence case wrote */
  guint forwards_changed; /* "port-forwards-changed" emissions */
} Fixture;

static Fixture fx;

/* ---- helpers --------------------------------------------------------------- */

static gboolean
vm_start (GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  berth_backend_start_async (fx.backend, NULL, berth_test_store_result, &result);
  return berth_backend_start_finish (fx.backend, berth_test_wait_result (&result, 0), error);
}

static gboolean
vm_stop (GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  berth_backend_stop_async (fx.backend, NULL, berth_test_store_result, &result);
  return berth_backend_stop_finish (fx.backend, berth_test_wait_result (&result, 0), error);
}

static BerthSubprocessResult *
vm_exec (const gchar *const *argv, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  berth_backend_exec_async (fx.backend, argv, NULL, NULL, berth_test_store_result, &result);
  return berth_backend_exec_finish (fx.backend, berth_test_wait_result (&result, 0), error);
}

static gchar *
result_stdout (BerthSubprocessResult *result)
{
  gsize length = 0;
  const gchar *data = g_bytes_get_data (result->stdout_bytes, &length);

  return g_strndup (data, length);
}

static void
set_settings (const gchar *json)
{
  g_autoptr (GError) error = NULL;

  berth_settings_update_from_json (fx.settings, json, NULL, &error);
  g_assert_no_error (error);
}

static JsonObject *
vm_info (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = berth_backend_info (fx.backend, &error);

  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}

static gint
read_pid_file (const gchar *path)
{
  g_autofree gchar *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  return (gint)g_ascii_strtoll (g_strstrip (text), NULL, 10);
}

static void
assert_no_qemu (void)
{
  g_autofree gchar *diffdisk = g_build_filename (fx.instance_dir, "diffdisk", NULL);

  g_assert_cmpuint (berth_test_count_processes_with_arg (diffdisk), ==, 0);
}

static void
on_forwards_changed (BerthBackend *backend, gpointer user_data)
{
  fx.forwards_changed++;
}

static void
on_progress (BerthBackend *backend, const gchar *description, guint64 current, guint64 max,
             gpointer user_data)
{
  if (fx.progress->len == 0
      || g_strcmp0 (g_ptr_array_index (fx.progress, fx.progress->len - 1), description) != 0)
    {
      g_test_message ("progress: %s", description);
      g_ptr_array_add (fx.progress, g_strdup (description));
    }
}

static gboolean
progress_seen (const gchar *prefix)
{
  for (guint i = 0; i < fx.progress->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (fx.progress, i), prefix))
      return TRUE;
  return FALSE;
}

static void
assert_started (void)
{
  g_autoptr (GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  g_ptr_array_set_size (fx.progress, 0);
  if (!vm_start (&error))
    g_error ("start failed: %s", error->message);
  g_test_message ("start took %.1f s", (g_get_monotonic_time () - start) / (gdouble)G_USEC_PER_SEC);
  g_assert_cmpint (berth_backend_get_state (fx.backend), ==, BERTH_STATE_STARTED);
}

/* ---- cases ----------------------------------------------------------------- */

/* A missing QEMU is a clear error from validate (what diagnostics shows)
 * and from start, naming what is missing and how to install it. */
static void
test_missing_qemu (void)
{
  g_autofree gchar *saved_path = g_strdup (g_getenv ("PATH"));
  g_autofree gchar *empty_bin = g_build_filename (fx.root, "empty-bin", NULL);
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (empty_bin, 0755), ==, 0);

  g_setenv ("QEMU_SYSTEM_X86_64", "/nonexistent/qemu-system-x86_64", TRUE);
  g_assert_false (berth_backend_validate (fx.backend, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "QEMU_SYSTEM_X86_64"));
  g_assert_nonnull (strstr (error->message, "/nonexistent/qemu-system-x86_64"));
  g_assert_nonnull (strstr (error->message, "does not exist"));
  g_assert_nonnull (strstr (error->message, "apt-get install qemu-system-x86"));
  g_clear_error (&error);

  g_assert_false (vm_start (&error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "/nonexistent/qemu-system-x86_64"));
  g_assert_nonnull (strstr (error->message, "apt-get install qemu-system-x86"));
  g_clear_error (&error);
  g_assert_cmpint (berth_backend_get_state (fx.backend), ==, BERTH_STATE_ERROR);
  g_assert_nonnull (strstr (berth_backend_get_state_reason (fx.backend), "QEMU"));
  /* Refused before anything was made. */
  g_assert_false (g_file_test (fx.instance_dir, G_FILE_TEST_EXISTS));

  /* No variable, and no QEMU in PATH. */
  g_unsetenv ("QEMU_SYSTEM_X86_64");
  g_setenv ("PATH", empty_bin, TRUE);
  g_assert_false (berth_backend_validate (fx.backend, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "qemu-system-x86_64 is not in PATH"));
  g_assert_nonnull (strstr (error->message, "apt-get install qemu-system-x86"));
  g_clear_error (&error);
  g_assert_false (vm_start (&error));
  g_assert_nonnull (strstr (error->message, "qemu-system-x86_64 is not in PATH"));
  g_clear_error (&error);
  g_setenv ("PATH", saved_path, TRUE);
  g_assert_false (g_file_test (fx.instance_dir, G_FILE_TEST_EXISTS));

  g_assert_true (berth_backend_validate (fx.backend, &error));
  g_assert_no_error (error);
}

/* Settings the host cannot give are refused before anything boots. The
 * settings object was made for a larger (pretend) host, so it takes them;
 * the backend checks the host it runs on. */
static void
test_bad_settings (void)
{
  BerthHostInfo host = { 0 };
  g_autofree gchar *json = NULL;
  g_autofree gchar *text = NULL;
  g_autoptr (GError) error = NULL;

  berth_host_info_detect (&host);

  json = g_strdup_printf ("{\"virtualMachine\": {\"memoryInGB\": %" G_GUINT64_FORMAT "}}",
                          host.total_memory_bytes / ((guint64)1 << 30) + 8);
  set_settings (json);
  g_assert_false (vm_start (&error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING);
  g_assert_nonnull (strstr (error->message, "virtualMachine.memoryInGB"));
  g_assert_nonnull (strstr (error->message, "of memory this host has"));
  g_clear_error (&error);
  set_settings ("{\"virtualMachine\": {\"memoryInGB\": 2}}");

  g_free (json);
  json = g_strdup_printf ("{\"virtualMachine\": {\"numberCPUs\": %u}}", host.n_cpus + 1);
  set_settings (json);
  g_assert_false (vm_start (&error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING);
  text = g_strdup_printf ("virtualMachine.numberCPUs: %u is more than the %u CPU", host.n_cpus + 1,
                          host.n_cpus);
  g_assert_nonnull (strstr (error->message, text));
  g_clear_error (&error);
  set_settings ("{\"virtualMachine\": {\"numberCPUs\": 2}}");

  /* A boot mode that needs what the image does not have. */
  g_object_set (fx.backend, "boot-mode", "fast", NULL);
  g_assert_false (vm_start (&error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING);
  g_assert_nonnull (strstr (error->message, "\"fast\" is not a boot mode"));
  g_clear_error (&error);
  g_object_set (fx.backend, "boot-mode", "auto", NULL);

  g_assert_false (g_file_test (fx.instance_dir, G_FILE_TEST_EXISTS));
  assert_no_qemu ();
}

/* start → `uname -a` in the guest prints Linux, through the backend and
 * through ssh run the way `berthctl shell` runs it (from info()). */
static void
test_start_and_shell (void)
{
  const gchar *uname_argv[] = { "uname", "-a", NULL };
  g_autoptr (BerthSubprocessResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) info = NULL;
  g_autofree gchar *out = NULL;
  g_autofree gchar *address = NULL;
  g_autofree gchar *port = NULL;
  g_autofree gchar *destination = NULL;
  g_autofree gchar *shell_out = NULL;
  g_autofree gchar *shell_err = NULL;
  gint status = -1;

  assert_started ();
  g_assert_true (progress_seen ("Checking the guest image"));
  g_assert_true (progress_seen ("Booting the VM (TCG"));
  g_assert_true (progress_seen ("Waiting for SSH"));

  result = vm_exec (uname_argv, &error);
  g_assert_no_error (error);
  g_assert_cmpint (result->exit_status, ==, 0);
  out = result_stdout (result);
  g_test_message ("uname -a: %s", out);
  g_assert_true (g_str_has_prefix (out, "Linux "));

  info = vm_info ();
  g_assert_cmpstr (json_object_get_string_member (info, "state"), ==, "STARTED");
  g_assert_cmpstr (json_object_get_string_member (info, "accel"), ==, "tcg");
  g_assert_nonnull (strstr (json_object_get_string_member (info, "accelReason"), "TCG"));
  g_assert_cmpstr (json_object_get_string_member (info, "bootMode"), ==, "kernel");
  g_assert_cmpstr (json_object_get_string_member (info, "instanceDir"), ==, fx.instance_dir);
  g_assert_cmpint (json_object_get_int_member (info, "cpus"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (info, "memoryInGB"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (info, "diskSizeGiB"), ==, 12);
  g_assert_cmpint (json_object_get_int_member (info, "sshPort"), >, 0);

  address = berth_backend_get_address (fx.backend, &error);
  g_assert_no_error (error);
  port = g_strdup_printf ("%" G_GINT64_FORMAT, json_object_get_int_member (info, "sshPort"));
  g_assert_true (g_str_has_suffix (address, port));

  /* What berthctl shell does with info(): ssh with its options. */
  destination = g_strdup_printf ("%s@%s", json_object_get_string_member (info, "sshUser"),
                                 json_object_get_string_member (info, "sshAddress"));
  {
    g_autoptr (GPtrArray) argv = g_ptr_array_new ();
    JsonArray *options = json_object_get_array_member (info, "sshOptions");

    g_ptr_array_add (argv, "ssh");
    for (guint i = 0; i < json_array_get_length (options); i++)
      g_ptr_array_add (argv, (gpointer)json_array_get_string_element (options, i));
    g_ptr_array_add (argv, "-p");
    g_ptr_array_add (argv, port);
    g_ptr_array_add (argv, destination);
    g_ptr_array_add (argv, "--");
    g_ptr_array_add (argv, "uname");
    g_ptr_array_add (argv, "-a");
    g_ptr_array_add (argv, NULL);
    g_assert_true (g_strv_contains ((const gchar *const *)argv->pdata,
                                    json_object_get_string_member (info, "sshIdentityFile")));
    g_assert_true (g_spawn_sync (NULL, (gchar **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                                 &shell_out, &shell_err, &status, &error));
    g_assert_no_error (error);
    if (!g_spawn_check_wait_status (status, NULL))
      g_error ("ssh as berthctl shell runs it failed: %s", shell_err);
    g_assert_true (g_str_has_prefix (shell_out, "Linux "));
  }

  /* Exit statuses come back as they are. */
  {
    const gchar *argv[] = { "sh", "-c", "exit 7", NULL };
    g_autoptr (BerthSubprocessResult) failed = vm_exec (argv, &error);

    g_assert_no_error (error);
    g_assert_cmpint (failed->exit_status, ==, 7);
  }
}

/* The guest's docker socket answers on the host through the SSH master. */
static void
test_engine_socket (void)
{
  g_autofree gchar *serial_path = g_build_filename (fx.instance_dir, "serial.log", NULL);
  g_autofree gchar *host_socket = g_build_filename (fx.root, "run", "docker.sock", NULL);
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) response = g_string_new (NULL);
  const gchar request[] = "GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n";
  gint64 deadline = g_get_monotonic_time () + 240 * G_USEC_PER_SEC;
  GStatBuf st;

  /* dockerd comes up after sshd, in the background. */
  for (;;)
    {
      g_autofree gchar *serial = NULL;

      g_file_get_contents (serial_path, &serial, NULL, NULL);
      if (serial != NULL && strstr (serial, "berth-guest: engine ready") != NULL)
        break;
      if (g_get_monotonic_time () > deadline)
        g_error ("the guest's engine did not report ready in 240 s: %s", serial);
      g_usleep (250 * 1000);
    }

  {
    g_autoptr (GAsyncResult) result = NULL;

    berth_backend_forward_socket_async (fx.backend, "/run/docker.sock", host_socket, NULL,
                                        berth_test_store_result, &result);
    berth_backend_forward_socket_finish (fx.backend, berth_test_wait_result (&result, 0), &error);
    g_assert_no_error (error);
  }
  g_assert_cmpint (g_stat (host_socket, &st), ==, 0);
  g_assert_true (S_ISSOCK (st.st_mode));

  address = g_unix_socket_address_new (host_socket);
  connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)), request,
                             strlen (request), NULL, NULL, &error);
  g_assert_no_error (error);
  for (;;)
    {
      gchar buffer[1024];
      gssize n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                                      buffer, sizeof buffer, NULL, &error);

      g_assert_no_error (error);
      if (n <= 0)
        break;
      g_string_append_len (response, buffer, n);
    }
  g_test_message ("dockerd: %s", response->str);
  g_assert_true (g_str_has_prefix (response->str, "HTTP/1.0 200 OK"));
  g_assert_true (g_str_has_suffix (response->str, "\r\n\r\nOK"));
}

/* ---- the guest's TCP ports ------------------------------------------------ */

/* A bound on each wait, not a measure: a forward takes about a second, but
 * the host may be busy (another VM, a build); bench/engine-ports times it. */
#define PORT_WAIT_SECONDS 30

typedef struct
{
  const gchar *path;
  gchar *text;
} FileText;

/* For berth_test_iterate_until(): whether the file holds the text. */
static gboolean
file_holds (gpointer data)
{
  FileText *wanted = data;
  g_autofree gchar *contents = NULL;

  return g_file_get_contents (wanted->path, &contents, NULL, NULL)
         && strstr (contents, wanted->text) != NULL;
}

/* A listener in the guest (perl is in every Debian): answers each
 * connection with @reply and a newline. Returns its pid in the guest. */
static gint
guest_listen (const gchar *address, guint16 port, const gchar *reply)
{
  static const gchar perl[]
      = "use IO::Socket::INET; my $s = IO::Socket::INET->new(LocalAddr => $ARGV[0], "
        "LocalPort => $ARGV[1], Listen => 5, ReuseAddr => 1) or die \"listen: $!\"; "
        "while (my $c = $s->accept) { print $c \"$ARGV[2]\\n\"; close $c }";
  g_autofree gchar *port_text = g_strdup_printf ("%u", port);
  const gchar *argv[] = { "sh",
                          "-c",
                          "perl -e \"$0\" \"$1\" \"$2\" \"$3\" </dev/null >/dev/null 2>&1 & "
                          "echo $!",
                          perl,
                          address,
                          port_text,
                          reply,
                          NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthSubprocessResult) result = vm_exec (argv, &error);
  g_autofree gchar *out = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (result->exit_status, ==, 0);
  out = result_stdout (result);
  g_assert_cmpint (g_ascii_strtoll (out, NULL, 10), >, 0);
  return (gint)g_ascii_strtoll (out, NULL, 10);
}

static void
guest_kill (gint pid)
{
  g_autofree gchar *pid_text = g_strdup_printf ("%d", pid);
  const gchar *argv[] = { "kill", pid_text, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthSubprocessResult) result = vm_exec (argv, &error);

  g_assert_no_error (error);
  g_assert_cmpint (result->exit_status, ==, 0);
}

/* A port no one on the host listens on now. */
static guint16
free_host_port (void)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) error = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (socket, any_port, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* What 127.0.0.1:@port on the host answers, up to a newline; NULL when
 * nothing listens there. */
static gchar *
host_port_answer (guint16 port)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GString) answer = g_string_new (NULL);
  g_autoptr (GError) error = NULL;

  g_socket_client_set_timeout (client, 3);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
  if (connection == NULL)
    return NULL;
  for (;;)
    {
      gchar buffer[256];
      gssize n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                                      buffer, sizeof buffer, NULL, NULL);

      if (n <= 0)
        break;
      g_string_append_len (answer, buffer, n);
      if (memchr (buffer, '\n', (gsize)n) != NULL)
        break;
    }
  return g_strdup (g_strstrip (answer->str));
}

static gboolean
port_listed (guint16 port)
{
  g_autoptr (GPtrArray) forwards = berth_backend_list_port_forwards (fx.backend);

  for (guint i = 0; i < forwards->len; i++)
    {
      BerthPortForward *forward = g_ptr_array_index (forwards, i);

      if (forward->guest_port == port && forward->host_port == port
          && g_strcmp0 (forward->host_address, "127.0.0.1") == 0
          && g_strcmp0 (forward->protocol, "tcp") == 0)
        return TRUE;
    }
  return FALSE;
}

/* Runs the main context (the plugin works there) until 127.0.0.1:@port
 * answers @reply and is listed (or, with @reply NULL, refuses and is not
 * listed); returns the seconds it took, or fails after @timeout seconds.
 * A forward answers from the moment ssh makes it, a little before the
 * plugin lists it. */
static gdouble
wait_host_port (guint16 port, const gchar *reply, gdouble timeout)
{
  gint64 start = g_get_monotonic_time ();

  for (;;)
    {
      g_autofree gchar *answer = NULL;
      gdouble elapsed;

      while (g_main_context_iteration (NULL, FALSE))
        ;
      answer = host_port_answer (port);
      elapsed = (g_get_monotonic_time () - start) / (gdouble)G_USEC_PER_SEC;
      if (reply != NULL && g_strcmp0 (answer, reply) == 0 && port_listed (port))
        return elapsed;
      if (reply == NULL && answer == NULL && !port_listed (port))
        return elapsed;
      if (elapsed > timeout)
        g_error ("127.0.0.1:%u answered \"%s\" after %.1f s, listed: %s; expected %s%s%s", port,
                 answer != NULL ? answer : "(nothing listens)", elapsed,
                 port_listed (port) ? "yes" : "no", reply != NULL ? "\"" : "",
                 reply != NULL ? reply : "no listener", reply != NULL ? "\"" : "");
      g_usleep (50 * 1000);
    }
}

/* A port that opens in the guest answers on 127.0.0.1 on the host within
 * seconds, is listed and signalled, and goes when it closes: on the
 * wildcard and on the guest's loopback alike. A host port that is taken is
 * left out and said so, and tried again when the guest's ports change. */
static void
test_guest_ports (void)
{
  guint16 port = free_host_port ();
  guint16 loopback_port = free_host_port ();
  guint16 taken_port = free_host_port ();
  g_autofree gchar *reply = g_strdup_printf ("berth port test %u", port);
  g_autofree gchar *loopback_reply = g_strdup_printf ("berth loopback test %u", loopback_port);
  g_autofree gchar *taken_reply = g_strdup_printf ("berth taken test %u", taken_port);
  g_autofree gchar *log_path = g_build_filename (fx.instance_dir, "ha.stderr.log", NULL);
  FileText taken = { 0 };
  g_autoptr (GSocketListener) squatter = g_socket_listener_new ();
  g_autoptr (GError) error = NULL;
  guint changed_before = fx.forwards_changed;
  gdouble seconds;
  gint pid, loopback_pid, taken_pid;

  g_assert_true (port != loopback_port && port != taken_port && loopback_port != taken_port);

  /* Open on 0.0.0.0 in the guest. */
  pid = guest_listen ("0.0.0.0", port, reply);
  seconds = wait_host_port (port, reply, PORT_WAIT_SECONDS);
  g_test_message ("guest listener on 0.0.0.0:%u answered on the host after %.2f s", port, seconds);
  g_assert_true (port_listed (port));
  g_assert_cmpuint (fx.forwards_changed, >, changed_before);
  /* The guest's sshd is QEMU's forward, listed once, not forwarded again. */
  g_assert_false (port_listed (22));

  /* Closed: refused and unlisted. */
  changed_before = fx.forwards_changed;
  guest_kill (pid);
  seconds = wait_host_port (port, NULL, PORT_WAIT_SECONDS);
  g_test_message ("the forward of %u was gone %.2f s after the listener was killed", port, seconds);
  g_assert_cmpuint (fx.forwards_changed, >, changed_before);

  /* Bound to the guest's 127.0.0.1 only: still reachable from the host. */
  loopback_pid = guest_listen ("127.0.0.1", loopback_port, loopback_reply);
  seconds = wait_host_port (loopback_port, loopback_reply, PORT_WAIT_SECONDS);
  g_test_message ("guest listener on 127.0.0.1:%u answered on the host after %.2f s", loopback_port,
                  seconds);

  /* A host port that another program holds: left out, and the log says
   * which. */
  g_socket_listener_add_inet_port (squatter, taken_port, NULL, &error);
  g_assert_no_error (error);
  taken_pid = guest_listen ("0.0.0.0", taken_port, taken_reply);
  taken.path = log_path;
  taken.text = g_strdup_printf ("Cannot forward 127.0.0.1:%u to the guest's port %u: the host "
                                "port is in use by another program",
                                taken_port, taken_port);
  if (!berth_test_iterate_until (file_holds, &taken, PORT_WAIT_SECONDS))
    g_error ("%s does not say \"%s\" after %d s", log_path, taken.text, PORT_WAIT_SECONDS);
  g_assert_false (port_listed (taken_port));
  /* Freed on the host, it is tried again at the next change of the
   * guest's ports: another one opening. */
  g_socket_listener_close (squatter);
  pid = guest_listen ("0.0.0.0", port, reply);
  wait_host_port (port, reply, PORT_WAIT_SECONDS);
  seconds = wait_host_port (taken_port, taken_reply, PORT_WAIT_SECONDS);
  g_test_message ("the freed host port %u answered %.2f s after the guest's ports changed",
                  taken_port, seconds);
  g_assert_true (port_listed (taken_port));
  guest_kill (pid);

  guest_kill (loopback_pid);
  guest_kill (taken_pid);
  wait_host_port (loopback_port, NULL, PORT_WAIT_SECONDS);
  wait_host_port (taken_port, NULL, PORT_WAIT_SECONDS);
  wait_host_port (port, NULL, PORT_WAIT_SECONDS);
  g_free (taken.text);
}

/* The instance directory holds Lima's layout; cidata.iso is labelled
 * cidata. */
static void
test_layout (void)
{
  static const gchar *const files[]
      = { "lima.yaml", "cidata.iso",    "basedisk",      "diffdisk", "qemu.pid", "serial.log",
          "ha.pid",    "ha.stdout.log", "ha.stderr.log", "kernel",   "initrd",   NULL };
  g_autoptr (JsonObject) info = vm_info ();
  g_autoptr (GError) error = NULL;
  g_autofree gchar *yaml = NULL;
  g_autofree gchar *serial = NULL;
  g_autofree gchar *events = NULL;
  g_autofree gchar *label = NULL;
  g_autofree gchar *disk_info = NULL;
  g_autofree gchar *iso = g_build_filename (fx.instance_dir, "cidata.iso", NULL);
  g_autofree gchar *diffdisk = g_build_filename (fx.instance_dir, "diffdisk", NULL);
  g_autofree gchar *key = g_build_filename (fx.lima, "_config", "user", NULL);
  g_autofree gchar *pub = g_build_filename (fx.lima, "_config", "user.pub", NULL);
  g_autofree gchar *path = NULL;
  g_auto (GStrv) lines = NULL;
  GStatBuf st;
  gint status = -1;
  gint pid;

  for (guint i = 0; files[i] != NULL; i++)
    {
      g_free (path);
      path = g_build_filename (fx.instance_dir, files[i], NULL);
      if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
        g_error ("%s is missing from the instance directory", path);
    }
  /* The sockets: in the directory unless the path is too long. */
  g_assert_cmpint (g_stat (json_object_get_string_member (info, "sshControlPath"), &st), ==, 0);
  g_assert_true (S_ISSOCK (st.st_mode));
  g_free (path);
  path = g_build_filename (fx.instance_dir, "qmp.sock", NULL);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_true (S_ISSOCK (st.st_mode));

  g_free (path);
  path = g_build_filename (fx.instance_dir, "qemu.pid", NULL);
  pid = read_pid_file (path);
  g_assert_cmpint (pid, ==, json_object_get_int_member (info, "qemuPid"));
  g_assert_cmpint (kill (pid, 0), ==, 0);
  g_free (path);
  path = g_build_filename (fx.instance_dir, "ha.pid", NULL);
  g_assert_cmpint (read_pid_file (path), ==, getpid ());

  g_free (path);
  path = g_build_filename (fx.instance_dir, "lima.yaml", NULL);
  g_assert_true (g_file_get_contents (path, &yaml, NULL, NULL));
  g_assert_true (g_str_has_prefix (yaml, "# Written by Berth"));
  g_assert_nonnull (strstr (yaml, "vmType: qemu"));

  g_free (path);
  path = g_build_filename (fx.instance_dir, "serial.log", NULL);
  g_assert_true (g_file_get_contents (path, &serial, NULL, NULL));
  g_assert_nonnull (strstr (serial, "berth-guest: ready"));

  /* ha.stdout.log: JSON lines as Lima's host agent writes them. */
  g_free (path);
  path = g_build_filename (fx.instance_dir, "ha.stdout.log", NULL);
  g_assert_true (g_file_get_contents (path, &events, NULL, NULL));
  lines = g_strsplit (g_strstrip (events), "\n", -1);
  {
    g_autoptr (JsonParser) parser = json_parser_new ();
    JsonObject *event;
    JsonObject *status_object;

    g_assert_true (
        json_parser_load_from_data (parser, lines[g_strv_length (lines) - 1], -1, &error));
    g_assert_no_error (error);
    event = json_node_get_object (json_parser_get_root (parser));
    g_assert_true (json_object_has_member (event, "time"));
    status_object = json_object_get_object_member (event, "status");
    g_assert_true (json_object_get_boolean_member (status_object, "running"));
    g_assert_cmpint (json_object_get_int_member (status_object, "sshLocalPort"), ==,
                     json_object_get_int_member (info, "sshPort"));
  }

  /* The identity: made once, private. */
  g_assert_cmpint (g_stat (key, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_true (g_file_test (pub, G_FILE_TEST_IS_REGULAR));

  /* cidata.iso is labelled cidata. */
  {
    const gchar *argv[] = { "blkid", "-o", "value", "-s", "LABEL", iso, NULL };

    g_assert_true (g_spawn_sync (NULL, (gchar **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                                 &label, NULL, &status, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (g_strstrip (label), ==, "cidata");
  }

  /* diffdisk is a qcow2 over basedisk. */
  {
    const gchar *argv[] = { "qemu-img", "info", "-U", "--output=json", diffdisk, NULL };
    g_autoptr (JsonParser) parser = json_parser_new ();
    JsonObject *object;

    g_assert_true (g_spawn_sync (NULL, (gchar **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                                 &disk_info, NULL, &status, &error));
    g_assert_no_error (error);
    g_assert_true (json_parser_load_from_data (parser, disk_info, -1, &error));
    object = json_node_get_object (json_parser_get_root (parser));
    g_assert_cmpstr (json_object_get_string_member (object, "format"), ==, "qcow2");
    g_assert_true (
        g_str_has_suffix (json_object_get_string_member (object, "backing-filename"), "/basedisk"));
    g_assert_cmpint (json_object_get_int_member (object, "virtual-size"), ==, (gint64)12 << 30);
  }
}

/* A file written in the guest survives stop and start; stop leaves no
 * QEMU; a disk cannot shrink, and that is refused before boot. */
static void
test_persist_and_stop (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) contents = NULL;
  g_autofree gchar *pid_file = g_build_filename (fx.instance_dir, "qemu.pid", NULL);
  const gchar *cat_argv[] = { "sudo", "cat", "/var/lib/berth-test/marker", NULL };
  gint pid;

  fx.marker = g_strdup_printf ("written at %" G_GINT64_FORMAT, g_get_real_time ());
  contents = g_bytes_new (fx.marker, strlen (fx.marker));
  {
    g_autoptr (GAsyncResult) result = NULL;

    berth_backend_write_file_async (fx.backend, "/var/lib/berth-test/marker", contents, 0640, NULL,
                                    berth_test_store_result, &result);
    berth_backend_write_file_finish (fx.backend, berth_test_wait_result (&result, 0), &error);
    g_assert_no_error (error);
  }
  {
    const gchar *argv[] = { "sudo", "stat", "-c", "%a %U", "/var/lib/berth-test/marker", NULL };
    g_autoptr (BerthSubprocessResult) result = vm_exec (argv, &error);
    g_autofree gchar *out = NULL;

    g_assert_no_error (error);
    out = result_stdout (result);
    g_assert_cmpstr (g_strstrip (out), ==, "640 root");
  }

  /* copy_in: a directory (replacing what was there) and a file, modes kept. */
  {
    g_autofree gchar *dir = g_build_filename (fx.root, "copy-in", NULL);
    g_autofree gchar *sub = g_build_filename (dir, "sub", NULL);
    g_autofree gchar *secret = g_build_filename (dir, "secret.txt", NULL);
    g_autofree gchar *nested = g_build_filename (sub, "b.txt", NULL);
    g_autofree gchar *script = g_build_filename (fx.root, "berth-hello", NULL);
    const gchar *check_argv[] = { "sudo", "sh", "-c",
                                  "cat /opt/berth-test/dir/sub/b.txt; stat -c '%a %U' "
                                  "/opt/berth-test/dir/secret.txt; berth-hello",
                                  NULL };
    g_autoptr (BerthSubprocessResult) result = NULL;
    g_autofree gchar *out = NULL;

    g_assert_cmpint (g_mkdir_with_parents (sub, 0755), ==, 0);
    g_assert_true (g_file_set_contents (nested, "nested file\n", -1, NULL));
    g_assert_true (g_file_set_contents (secret, "s\n", -1, NULL));
    g_assert_cmpint (g_chmod (secret, 0600), ==, 0);
    g_assert_true (g_file_set_contents (script, "#!/bin/sh\necho hello from the host\n", -1, NULL));
    g_assert_cmpint (g_chmod (script, 0755), ==, 0);
    for (guint i = 0; i < 2; i++)
      {
        g_autoptr (GAsyncResult) copied = NULL;

        berth_backend_copy_in_async (fx.backend, i == 0 ? dir : script,
                                     i == 0 ? "/opt/berth-test/dir" : "/usr/local/bin/berth-hello",
                                     NULL, berth_test_store_result, &copied);
        berth_backend_copy_in_finish (fx.backend, berth_test_wait_result (&copied, 0), &error);
        g_assert_no_error (error);
      }
    result = vm_exec (check_argv, &error);
    g_assert_no_error (error);
    out = result_stdout (result);
    g_assert_cmpstr (out, ==, "nested file\n600 root\nhello from the host\n");
  }

  pid = read_pid_file (pid_file);
  g_assert_cmpint (pid, >, 0);
  if (!vm_stop (&error))
    g_error ("stop failed: %s", error->message);
  g_assert_cmpint (berth_backend_get_state (fx.backend), ==, BERTH_STATE_STOPPED);
  g_assert_cmpint (kill (pid, 0), ==, -1);
  g_assert_cmpint (errno, ==, ESRCH);
  assert_no_qemu ();
  g_assert_false (g_file_test (pid_file, G_FILE_TEST_EXISTS));
  {
    g_autofree gchar *serial_path = g_build_filename (fx.instance_dir, "serial.log", NULL);
    g_autofree gchar *serial = NULL;

    /* The guest shut down on its own (ACPI), not killed. */
    g_assert_true (g_file_get_contents (serial_path, &serial, NULL, NULL));
    g_assert_nonnull (strstr (serial, "berth-guest: stopped"));
  }

  set_settings ("{\"virtualMachine\": {\"diskSizeGiB\": 10}}");
  g_assert_false (vm_start (&error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING);
  g_assert_nonnull (strstr (error->message, "virtualMachine.diskSizeGiB: 10 GiB is smaller"));
  g_assert_nonnull (strstr (error->message, "cannot shrink"));
  g_clear_error (&error);
  assert_no_qemu ();
  set_settings ("{\"virtualMachine\": {\"diskSizeGiB\": 12}}");

  /* A boot mode whose files are not there is an error naming the file. */
  g_object_set (fx.backend, "boot-mode", "disk", NULL);
  g_assert_false (vm_start (&error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED);
  {
    g_autofree gchar *basedisk = g_build_filename (fx.instance_dir, "basedisk", NULL);

    g_assert_nonnull (strstr (error->message, basedisk));
    g_assert_nonnull (
        strstr (error->message, "Boot mode \"disk\" needs a disk with a boot loader"));
  }
  g_clear_error (&error);
  assert_no_qemu ();
  g_object_set (fx.backend, "boot-mode", "auto", NULL);

  assert_started ();
  {
    g_autoptr (BerthSubprocessResult) result = vm_exec (cat_argv, &error);
    g_autofree gchar *out = NULL;

    g_assert_no_error (error);
    g_assert_cmpint (result->exit_status, ==, 0);
    out = result_stdout (result);
    g_assert_cmpstr (out, ==, fx.marker);
  }
}

/* Killing QEMU is noticed within seconds: ERROR, with the serial log's last
 * lines in the reason; the next start comes up clean, disk intact. */
static void
test_crash_and_recover (void)
{
  g_autofree gchar *pid_file = g_build_filename (fx.instance_dir, "qemu.pid", NULL);
  const gchar *cat_argv[] = { "sudo", "cat", "/var/lib/berth-test/marker", NULL };
  g_autoptr (GError) error = NULL;
  const gchar *reason;
  gint64 killed_at;
  gdouble noticed;
  gint pid;

  pid = read_pid_file (pid_file);
  g_assert_cmpint (pid, >, 0);
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  killed_at = g_get_monotonic_time ();
  while (berth_backend_get_state (fx.backend) == BERTH_STATE_STARTED
         && g_get_monotonic_time () - killed_at < 30 * G_USEC_PER_SEC)
    g_main_context_iteration (NULL, TRUE);
  noticed = (g_get_monotonic_time () - killed_at) / (gdouble)G_USEC_PER_SEC;
  g_test_message ("QEMU's death noticed after %.2f s", noticed);
  g_assert_cmpint (berth_backend_get_state (fx.backend), ==, BERTH_STATE_ERROR);
  g_assert_cmpfloat (noticed, <, 5.0);
  reason = berth_backend_get_state_reason (fx.backend);
  g_test_message ("reason: %s", reason);
  g_assert_nonnull (strstr (reason, "was killed by signal 9"));
  g_assert_nonnull (strstr (reason, "serial.log"));
  g_assert_nonnull (strstr (reason, "berth-guest:"));

  assert_started ();
  {
    g_autoptr (BerthSubprocessResult) result = vm_exec (cat_argv, &error);
    g_autofree gchar *out = NULL;

    g_assert_no_error (error);
    g_assert_cmpint (result->exit_status, ==, 0);
    out = result_stdout (result);
    g_assert_cmpstr (out, ==, fx.marker);
  }
}

/* `poweroff` in the guest: QEMU ends, the VM is STOPPED (not an error), no
 * QEMU is left; then delete removes the instance directory. */
static void
test_poweroff_and_delete (void)
{
  const gchar *argv[] = { "sudo", "poweroff", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (BerthSubprocessResult) done = NULL;
  gint64 deadline;

  done = vm_exec (argv, &error);
  g_clear_error (&error); /* the connection may end with the guest */
  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (berth_backend_get_state (fx.backend) == BERTH_STATE_STARTED
         && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (berth_backend_get_state (fx.backend), ==, BERTH_STATE_STOPPED);
  g_assert_null (berth_backend_get_state_reason (fx.backend));
  assert_no_qemu ();

  berth_backend_delete_async (fx.backend, NULL, berth_test_store_result, &result);
  berth_backend_delete_finish (fx.backend, berth_test_wait_result (&result, 0), &error);
  g_assert_no_error (error);
  g_assert_false (g_file_test (fx.instance_dir, G_FILE_TEST_EXISTS));
  g_assert_cmpint (berth_backend_get_state (fx.backend), ==, BERTH_STATE_STOPPED);
}

/* ---- setup ----------------------------------------------------------------- */

static gchar *
make_dir (const gchar *parent, const gchar *name)
{
  gchar *path = g_build_filename (parent, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
  return path;
}

static void
setup (void)
{
  const gchar *shared = g_getenv ("BERTH_TEST_IMAGE_CACHE");
  g_autofree gchar *shared_default = NULL;
  g_autofree gchar *cache = NULL;
  g_autofree gchar *config = NULL;
  g_autofree gchar *data = NULL;
  g_autofree gchar *runtime = NULL;
  g_autofree gchar *berth_cache = NULL;
  g_autofree gchar *images_link = NULL;
  g_autoptr (BerthPaths) paths = NULL;
  BerthHostInfo host = { 0 };
  BerthPlugin *plugin;

  fx.root = berth_test_make_root ("berth-vm");
  fx.home = make_dir (fx.root, "home");
  config = make_dir (fx.root, "config");
  data = make_dir (fx.root, "data");
  cache = make_dir (fx.root, "cache");
  runtime = make_dir (fx.root, "run");
  g_setenv ("HOME", fx.home, TRUE);
  g_setenv ("XDG_CONFIG_HOME", config, TRUE);
  g_setenv ("XDG_DATA_HOME", data, TRUE);
  g_setenv ("XDG_CACHE_HOME", cache, TRUE);
  g_setenv ("XDG_RUNTIME_DIR", runtime, TRUE);
  g_unsetenv ("BERTH_INSTANCE");
  g_unsetenv ("BERTH_BOOT_MODE");
  g_unsetenv ("QEMU_SYSTEM_X86_64");

  /* The image cache shared by runs. */
  if (shared == NULL || shared[0] == '\0')
    {
      shared_default = g_build_filename (
          g_getenv ("G_TEST_BUILDDIR") != NULL ? g_getenv ("G_TEST_BUILDDIR") : ".",
          "vm-image-cache", NULL);
      shared = shared_default;
    }
  g_assert_cmpint (g_mkdir_with_parents (shared, 0755), ==, 0);
  berth_cache = make_dir (cache, "berth");
  images_link = g_build_filename (berth_cache, "images", NULL);
  {
    g_autofree gchar *absolute = g_canonicalize_filename (shared, NULL);

    g_assert_cmpint (symlink (absolute, images_link), ==, 0);
    g_test_message ("guest image cache: %s", absolute);
  }

  paths = berth_paths_new ();
  fx.lima = g_strdup (paths->lima);
  fx.instance_dir = g_build_filename (paths->lima, "0", NULL);

  /* A pretend host with room for any setting, so that the backend's own
   * check against this host is what refuses too much. */
  berth_host_info_detect (&host);
  host.total_memory_bytes = (guint64)1024 << 30;
  host.n_cpus = 1024;
  fx.settings = berth_test_settings_new (paths, &host);
  set_settings ("{\"virtualMachine\": {\"memoryInGB\": 2, \"numberCPUs\": 2, "
                "\"diskSizeGiB\": 12, \"accel\": \"tcg\"}}");

  plugin = berth_test_load_plugin (fx.settings, paths, "lima", &fx.loader);
  g_assert_true (BERTH_IS_BACKEND (plugin));
  fx.backend = BERTH_BACKEND (plugin);
  fx.progress = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (fx.backend, "progress", G_CALLBACK (on_progress), NULL);
  g_signal_connect (fx.backend, "port-forwards-changed", G_CALLBACK (on_forwards_changed), NULL);
}

static void
teardown (void)
{
  /* Nothing left running whatever happened above. */
  if (fx.backend != NULL && berth_backend_get_state (fx.backend) != BERTH_STATE_STOPPED)
    {
      g_autoptr (GError) error = NULL;

      vm_stop (&error);
    }
  g_clear_object (&fx.loader);
  g_clear_object (&fx.settings);
  if (fx.root != NULL && g_getenv ("BERTH_TEST_KEEP") == NULL)
    berth_test_rm_rf (fx.root);
  g_free (fx.root);
  g_free (fx.home);
  g_free (fx.lima);
  g_free (fx.instance_dir);
  g_free (fx.marker);
  g_clear_pointer (&fx.progress, g_ptr_array_unref);
}

int
main (int argc, char **argv)
{
  int status;

  berth_test_watch_leftovers ();
  g_test_init (&argc, &argv, NULL);
  setup ();
  g_test_add_func ("/lima/vm/missing-qemu", test_missing_qemu);
  g_test_add_func ("/lima/vm/bad-settings", test_bad_settings);
  g_test_add_func ("/lima/vm/start-and-shell", test_start_and_shell);
  g_test_add_func ("/lima/vm/engine-socket", test_engine_socket);
  g_test_add_func ("/lima/vm/guest-ports", test_guest_ports);
  g_test_add_func ("/lima/vm/layout", test_layout);
  g_test_add_func ("/lima/vm/persist-and-stop", test_persist_and_stop);
  g_test_add_func ("/lima/vm/crash-and-recover", test_crash_and_recover);
  g_test_add_func ("/lima/vm/poweroff-and-delete", test_poweroff_and_delete);
  status = g_test_run ();
  teardown ();
  return status;
}
