/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The engine socket probes and the wait for an engine, against pretend
 * engines on UNIX sockets: dockerd's /_ping, containerd's HTTP/2 greeting,
 * nothing listening, a socket that hangs up, a wrong answer, a cancel. */
#include "config.h"

#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <string.h>

#include "berth-engine-private.h"
#include "berth-error.h"

typedef enum
{
  ENGINE_DOCKER,
  ENGINE_CONTAINERD,
  ENGINE_HANG_UP,
  ENGINE_TEAPOT,
} EngineKind;

typedef struct
{
  gchar *dir;
  gchar *path;
  GSocketService *service;
  EngineKind kind;
  gint connections;
} Fixture;

static gboolean
on_run (GThreadedSocketService *service, GSocketConnection *connection, GObject *source,
        gpointer user_data)
{
  Fixture *f = user_data;
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  gchar request[128] = { 0 };
  gsize got = 0;
  const gchar *reply = NULL;
  gsize reply_len = 0;

  g_atomic_int_inc (&f->connections);
  switch (f->kind)
    {
    case ENGINE_HANG_UP:
      break;
    case ENGINE_CONTAINERD:
      /* Anything but the HTTP/2 preface gets no answer. */
      g_input_stream_read_all (in, request, 24 + 9, &got, NULL, NULL);
      if (!g_str_has_prefix (request, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))
        break;
      reply = "\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x64";
      reply_len = 15;
      break;
    case ENGINE_DOCKER:
    case ENGINE_TEAPOT:
      while (got < sizeof request - 1 && strstr (request, "\r\n\r\n") == NULL)
        {
          gssize n = g_input_stream_read (in, request + got, 1, NULL, NULL);
          if (n <= 0)
            break;
          got += (gsize)n;
        }
      g_assert_true (g_str_has_prefix (request, "GET /_ping HTTP/1."));
      reply = f->kind == ENGINE_DOCKER
                  ? "HTTP/1.1 200 OK\r\nApi-Version: 1.47\r\nContent-Length: 2\r\n\r\nOK"
                  : "HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\n\r\n";
      reply_len = strlen (reply);
      break;
    }
  if (reply != NULL)
    g_output_stream_write_all (out, reply, reply_len, NULL, NULL, NULL);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  return TRUE;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->dir = g_dir_make_tmp ("berth-engine-XXXXXX", &error);
  g_assert_no_error (error);
  f->path = g_build_filename (f->dir, "engine.sock", NULL);
}

static void
listen_as (Fixture *f, EngineKind kind)
{
  g_autoptr (GSocketAddress) address = g_unix_socket_address_new (f->path);
  g_autoptr (GError) error = NULL;

  f->kind = kind;
  f->service = g_threaded_socket_service_new (4);
  g_socket_listener_add_address (G_SOCKET_LISTENER (f->service), address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (f->service, "run", G_CALLBACK (on_run), f);
  g_socket_service_start (f->service);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  if (f->service != NULL)
    {
      g_socket_service_stop (f->service);
      g_socket_listener_close (G_SOCKET_LISTENER (f->service));
      g_object_unref (f->service);
    }
  g_unlink (f->path);
  g_rmdir (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

typedef struct
{
  gboolean done;
  gboolean ok;
  GError *error;
} Result;

static void
on_waited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Result *r = user_data;

  r->ok = berth_engine_socket_wait_finish (result, &r->error);
  r->done = TRUE;
}

static void
wait_engine (Fixture *f, BerthEngineProbe probe, guint timeout, GCancellable *cancellable,
             Result *r)
{
  berth_engine_socket_wait_async (f->path, probe, "dockerd", timeout, cancellable, on_waited, r);
  while (!r->done)
    g_main_context_iteration (NULL, TRUE);
}

/* One probe from a worker thread while this thread's main loop lets the
 * pretend engine accept. */
typedef struct
{
  const gchar *path;
  BerthEngineProbe probe;
  guint timeout_ms;
  gint done;
  gboolean ok;
  GError *error;
} ProbeCall;

static gpointer
probe_thread (gpointer data)
{
  ProbeCall *call = data;

  call->ok
      = berth_engine_socket_probe (call->path, call->probe, call->timeout_ms, NULL, &call->error);
  g_atomic_int_set (&call->done, 1);
  g_main_context_wakeup (NULL);
  return NULL;
}

static gboolean
probe (Fixture *f, BerthEngineProbe kind, guint timeout_ms, GError **error)
{
  ProbeCall call = { f->path, kind, timeout_ms, 0, FALSE, NULL };
  GThread *thread = g_thread_new ("probe", probe_thread, &call);

  while (!g_atomic_int_get (&call.done))
    g_main_context_iteration (NULL, TRUE);
  g_thread_join (thread);
  if (call.error != NULL)
    g_propagate_error (error, call.error);
  return call.ok;
}

static void
test_docker_ping (Fixture *f, gconstpointer data)
{
  Result r = { 0 };

  listen_as (f, ENGINE_DOCKER);
  wait_engine (f, BERTH_ENGINE_PROBE_DOCKER_PING, 5, NULL, &r);
  g_assert_no_error (r.error);
  g_assert_true (r.ok);
  g_assert_cmpint (g_atomic_int_get (&f->connections), ==, 1);
}

static void
test_containerd_greeting (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  listen_as (f, ENGINE_CONTAINERD);
  g_assert_true (probe (f, BERTH_ENGINE_PROBE_HTTP2, 2000, &error));
  g_assert_no_error (error);
  /* A docker ping is no gRPC greeting: the same socket fails that probe. */
  g_assert_false (probe (f, BERTH_ENGINE_PROBE_DOCKER_PING, 2000, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_FAILED);
}

/* What ssh's forward does while the guest has no socket yet: it takes the
 * connection and hangs up. The wait retries, then names what it waited for. */
static void
test_hang_up_times_out (Fixture *f, gconstpointer data)
{
  Result r = { 0 };
  gint64 started = g_get_monotonic_time ();

  listen_as (f, ENGINE_HANG_UP);
  wait_engine (f, BERTH_ENGINE_PROBE_DOCKER_PING, 1, NULL, &r);
  g_assert_false (r.ok);
  g_assert_error (r.error, BERTH_ERROR, BERTH_ERROR_TIMED_OUT);
  g_assert_nonnull (strstr (r.error->message, "dockerd did not answer on "));
  g_assert_nonnull (strstr (r.error->message, f->path));
  g_assert_nonnull (strstr (r.error->message, "within 1 s"));
  g_assert_nonnull (strstr (r.error->message, "closed without an answer"));
  g_assert_nonnull (strstr (r.error->message, "/var/log/dockerd.log"));
  /* Retried every 200 ms or so, and gave up in time. */
  g_assert_cmpint (g_atomic_int_get (&f->connections), >=, 3);
  g_assert_cmpint (g_get_monotonic_time () - started, <, 3 * G_USEC_PER_SEC);
  g_clear_error (&r.error);
}

static void
test_wrong_answer (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  listen_as (f, ENGINE_TEAPOT);
  g_assert_false (probe (f, BERTH_ENGINE_PROBE_DOCKER_PING, 2000, &error));
  g_assert_nonnull (strstr (error->message, "HTTP/1.1 418 I'm a teapot"));
}

static void
test_nothing_listens (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (
      berth_engine_socket_probe (f->path, BERTH_ENGINE_PROBE_DOCKER_PING, 500, NULL, &error));
  g_assert_nonnull (strstr (error->message, "cannot connect"));
  /* No probe: nothing to wait for. */
  g_assert_true (berth_engine_socket_probe (f->path, BERTH_ENGINE_PROBE_NONE, 500, NULL, NULL));
}

static gboolean
cancel_soon (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static void
test_cancel (Fixture *f, gconstpointer data)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  Result r = { 0 };
  gint64 started = g_get_monotonic_time ();

  g_timeout_add (300, cancel_soon, cancellable);
  wait_engine (f, BERTH_ENGINE_PROBE_DOCKER_PING, 60, cancellable, &r);
  g_assert_error (r.error, BERTH_ERROR, BERTH_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - started, <, 5 * G_USEC_PER_SEC);
  g_clear_error (&r.error);
}

static void
test_table_and_cleanup (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) moby = berth_engine_sockets_for ("moby");
  g_autoptr (GPtrArray) containerd_sockets = berth_engine_sockets_for ("containerd");
  g_autoptr (GPtrArray) podman = berth_engine_sockets_for ("podman");
  g_autofree gchar *docker = NULL;
  g_autofree gchar *containerd = NULL;
  g_autofree gchar *keep = g_build_filename (f->dir, "buildkitd.sock", NULL);
  g_autoptr (GSocket) a = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GError) error = NULL;
  const BerthEngineSocket *table;
  guint n = 0;

  /* An engine's own socket comes first; an unknown engine has none. */
  g_assert_cmpuint (moby->len, ==, 1);
  g_assert_cmpuint (containerd_sockets->len, ==, 2);
  g_assert_cmpuint (podman->len, ==, 0);
  docker = berth_engine_socket_host_path (g_ptr_array_index (moby, 0), f->dir);
  containerd = berth_engine_socket_host_path (g_ptr_array_index (containerd_sockets, 0), f->dir);
  g_assert_true (g_str_has_suffix (docker, "/docker.sock"));
  g_assert_true (g_str_has_suffix (containerd, "/containerd.sock"));
  table = berth_engine_sockets (&n);
  g_assert_cmpuint (n, >=, 2);
  g_assert_cmpstr (table[0].guest_path, ==, "/var/run/docker.sock");

  /* A stale socket goes; a regular file of that name is not Berth's to remove. */
  a = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);
  address = g_unix_socket_address_new (docker);
  g_assert_true (g_socket_bind (a, address, TRUE, &error));
  g_assert_true (g_file_set_contents (keep, "not a socket", -1, NULL));
  berth_engine_sockets_remove (f->dir);
  g_assert_false (g_file_test (docker, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (keep, G_FILE_TEST_EXISTS));
  g_unlink (keep);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/engine/docker-ping", test_docker_ping);
  ADD ("/engine/containerd-greeting", test_containerd_greeting);
  ADD ("/engine/hang-up-times-out", test_hang_up_times_out);
  ADD ("/engine/wrong-answer", test_wrong_answer);
  ADD ("/engine/nothing-listens", test_nothing_listens);
  ADD ("/engine/cancel", test_cancel);
  ADD ("/engine/table-and-cleanup", test_table_and_cleanup);
  return g_test_run ();
}
