/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Finding berthd: its credentials file, and launching it when none answers.
 *
 * berthd writes $XDG_DATA_HOME/berth/berth-engine.json when it listens,
 * {"user", "password", "port", "pid"} with mode 0600 and a fresh password
 * each time, and removes it when it exits cleanly; a berthd that was killed
 * leaves it behind, naming a port where nothing listens. */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "berth-client-private.h"

/* Far more than berthd writes; a bigger file is not its. */
#define MAX_CREDENTIALS_SIZE (64 * 1024)
#define LAUNCH_POLL_MS 100

void
berth_client_credentials_free (BerthClientCredentials *credentials)
{
  if (credentials == NULL)
    return;
  g_free (credentials->user);
  if (credentials->password != NULL)
    explicit_bzero (credentials->password, strlen (credentials->password));
  g_free (credentials->password);
  g_free (credentials);
}

BerthClientCredentials *
berth_client_credentials_parse (const gchar *data, gsize length, const gchar *path, GError **error)
{
  g_autoptr (BerthClientCredentials) credentials = g_new0 (BerthClientCredentials, 1);
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GError) local_error = NULL;
  JsonObject *object;
  JsonNode *node;

  root = berth_client_parse_json (data, length, "The credentials file", &local_error);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL,
                   "%s is not berthd's credentials file: %s", path,
                   local_error != NULL ? local_error->message : "it is not a JSON object");
      return NULL;
    }
  object = json_node_get_object (root);
  for (guint i = 0; i < 3; i++)
    {
      static const gchar *const members[] = { "user", "password", "port" };

      node = json_object_get_member (object, members[i]);
      if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
          || json_node_get_value_type (node) != (i < 2 ? G_TYPE_STRING : G_TYPE_INT64))
        {
          g_set_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL,
                       "berthd's credentials file %s has no \"%s\" (a %s)", path, members[i],
                       i < 2 ? "string" : "port number");
          return NULL;
        }
    }
  if (json_object_get_int_member (object, "port") < 1
      || json_object_get_int_member (object, "port") > G_MAXUINT16)
    {
      g_set_error (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL,
                   "berthd's credentials file %s names port %" G_GINT64_FORMAT
                   "; a port is 1 to 65535",
                   path, json_object_get_int_member (object, "port"));
      return NULL;
    }
  credentials->user = g_strdup (json_object_get_string_member (object, "user"));
  credentials->password = g_strdup (json_object_get_string_member (object, "password"));
  credentials->port = (guint)json_object_get_int_member (object, "port");
  node = json_object_get_member (object, "pid");
  if (node != NULL && JSON_NODE_HOLDS_VALUE (node)
      && json_node_get_value_type (node) == G_TYPE_INT64 && json_node_get_int (node) > 0)
    credentials->pid = json_node_get_int (node);
  return g_steal_pointer (&credentials);
}

gboolean
berth_client_uses_credentials_file (BerthClient *self)
{
  return self->port_override == 0 || self->user_override == NULL || self->password_override == NULL;
}

/* Takes the overrides, and @credentials for what they leave open. */
static void
take_credentials (BerthClient *self, const BerthClientCredentials *credentials)
{
  g_free (self->user);
  self->user = g_strdup (self->user_override != NULL ? self->user_override : credentials->user);
  if (self->password != NULL)
    explicit_bzero (self->password, strlen (self->password));
  g_free (self->password);
  self->password = g_strdup (self->password_override != NULL ? self->password_override
                                                             : credentials->password);
  self->port = self->port_override != 0 ? self->port_override : credentials->port;
  self->daemon_pid = credentials != NULL ? credentials->pid : 0;
  self->have_credentials = TRUE;
  berth_client_update_endpoint (self);
}

/* ---- reading the file -------------------------------------------------- */

static gboolean
read_more (const gchar *file_contents, goffset file_size, gpointer user_data)
{
  return file_size <= MAX_CREDENTIALS_SIZE;
}

static void
credentials_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthClient *self = g_task_get_source_object (task);
  g_autofree gchar *path = g_file_get_path (G_FILE (source));
  g_autofree gchar *contents = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthClientCredentials) credentials = NULL;
  gsize length = 0;

  if (!g_file_load_partial_contents_finish (G_FILE (source), result, &contents, &length, NULL,
                                            &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        g_task_return_new_error (task, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_NOT_RUNNING,
                                 "berthd is not running: there is no credentials file %s, which "
                                 "berthd writes when it starts; start it (berthctl start)",
                                 path);
      else
        g_task_return_new_error (task, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_FAILED,
                                 "Could not read berthd's credentials file %s: %s", path,
                                 error->message);
      return;
    }
  if (length > MAX_CREDENTIALS_SIZE)
    {
      explicit_bzero (contents, length);
      g_task_return_new_error (task, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_PROTOCOL,
                               "%s is larger than %d bytes, so it is not berthd's credentials "
                               "file",
                               path, MAX_CREDENTIALS_SIZE);
      return;
    }
  credentials = berth_client_credentials_parse (contents, length, path, &error);
  explicit_bzero (contents, length);
  if (credentials == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  take_credentials (self, credentials);
  g_task_return_boolean (task, TRUE);
}

void
berth_client_load_credentials_async (BerthClient *self, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autofree gchar *path = NULL;
  g_autoptr (GFile) file = NULL;

  g_task_set_source_tag (task, berth_client_load_credentials_async);
  if (!berth_client_uses_credentials_file (self))
    {
      BerthClientCredentials none = { 0 };

      take_credentials (self, &none);
      g_task_return_boolean (task, TRUE);
      return;
    }
  path = berth_client_dup_credentials_path (self);
  file = g_file_new_for_path (path);
  g_file_load_partial_contents_async (file, cancellable, read_more, credentials_loaded,
                                      g_steal_pointer (&task));
}

gboolean
berth_client_load_credentials_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- launching berthd ---------------------------------------------------- */

gboolean
berth_client_may_launch (BerthClient *self)
{
  const gchar *host = self->host;

  if ((self->flags & BERTH_CLIENT_CONNECT_FLAGS_LAUNCH) == 0)
    return FALSE;
  /* Another machine's berthd is not this one's to start. */
  return host == NULL || g_str_equal (host, "127.0.0.1") || g_str_equal (host, "localhost")
         || g_str_equal (host, "::1") || g_str_equal (host, "[::1]");
}

/* berthd: as the caller set it, $BERTHD, beside this program (in a build
 * tree, frontends/daemon/ beside frontends/cli/), then PATH. */
static gchar *
find_berthd (BerthClient *self, GError **error)
{
  const gchar *env = g_getenv ("BERTHD");
  g_autofree gchar *exe = g_file_read_link ("/proc/self/exe", NULL);
  gchar *found;

  if (self->berthd_path != NULL)
    return g_strdup (self->berthd_path);
  if (env != NULL && env[0] != '\0')
    return g_strdup (env);
  if (exe != NULL)
    {
      g_autofree gchar *dir = g_path_get_dirname (exe);
      g_autofree gchar *in_tree = g_build_filename (dir, "..", "daemon", "berthd", NULL);
      g_autofree gchar *beside = g_build_filename (dir, "berthd", NULL);

      if (g_file_test (in_tree, G_FILE_TEST_IS_EXECUTABLE))
        return g_steal_pointer (&in_tree);
      if (g_file_test (beside, G_FILE_TEST_IS_EXECUTABLE))
        return g_steal_pointer (&beside);
    }
  found = g_find_program_in_path ("berthd");
  if (found == NULL)
    g_set_error_literal (error, BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_NOT_RUNNING,
                         "berthd is not running, and there is no berthd to launch: install it "
                         "beside this program or on PATH, or set BERTHD to its path");
  return found;
}

typedef struct
{
  BerthClient *client; /* until the launch is done: berthd may outlive it */
  GSubprocess *child;
  gchar *berthd;
  gint64 pid;
  gint64 deadline; /* monotonic µs */
  GSource *poll_source;
  gboolean loading;
  gboolean done;
} Launch;

static void
launch_free (Launch *launch)
{
  berth_client_clear_source (&launch->poll_source);
  g_clear_object (&launch->child);
  g_free (launch->berthd);
  g_clear_object (&launch->client);
  g_free (launch);
}

/* Completes every launch waiting, and ends @launch. */
static void
launch_complete (Launch *launch, const GError *error)
{
  BerthClient *self = launch->client;
  g_autoptr (GPtrArray) waiters = g_steal_pointer (&self->launch_waiters);

  self->launch_waiters = g_ptr_array_new_with_free_func (g_object_unref);
  launch->done = TRUE;
  berth_client_clear_source (&launch->poll_source);
  g_clear_object (&launch->client);
  for (guint i = 0; i < waiters->len; i++)
    {
      GTask *task = g_ptr_array_index (waiters, i);

      if (error != NULL)
        g_task_return_error (task, g_error_copy (error));
      else
        g_task_return_boolean (task, TRUE);
    }
  /* The child watch may still hold it; it goes with the last. */
  if (!launch->loading && launch->child == NULL)
    launch_free (launch);
}

static void
launch_poll_loaded (GObject *source, GAsyncResult *result, gpointer user_data);

static gboolean
pid_is_running (gint64 pid)
{
  return pid > 0 && pid <= G_MAXINT && kill ((pid_t)pid, 0) == 0;
}

static gboolean
launch_poll (gpointer user_data)
{
  Launch *launch = user_data;

  if (launch->loading)
    return G_SOURCE_CONTINUE;
  if (g_get_monotonic_time () > launch->deadline)
    {
      g_autoptr (GError) error = g_error_new (
          BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_NOT_RUNNING,
          "berthd (%s, pid %" G_GINT64_FORMAT ") was launched but did not answer within %d s; "
          "it may still be starting: see its log, berthd.log in Berth's logs directory",
          launch->berthd, launch->pid, BERTH_CLIENT_LAUNCH_TIMEOUT_SECONDS);

      launch_complete (launch, error);
      return G_SOURCE_REMOVE;
    }
  launch->loading = TRUE;
  berth_client_load_credentials_async (launch->client, NULL, launch_poll_loaded, launch);
  return G_SOURCE_CONTINUE;
}

/* berthd writes its credentials file once it listens: the launch is done
 * when the file is the launched berthd's. */
static void
launch_poll_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Launch *launch = user_data;
  g_autoptr (GError) error = NULL;
  gboolean loaded = berth_client_load_credentials_finish (BERTH_CLIENT (source), result, &error);

  launch->loading = FALSE;
  if (launch->done)
    {
      if (launch->child == NULL)
        launch_free (launch);
      return;
    }
  if (loaded
      && (launch->client->daemon_pid == launch->pid
          || (launch->child == NULL && pid_is_running (launch->client->daemon_pid))))
    launch_complete (launch, NULL);
  else if (launch->child == NULL)
    {
      /* It exited, and no other berthd took its place. */
      g_autoptr (GError) exited = g_error_new (
          BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_NOT_RUNNING,
          "berthd (%s) exited before it answered; see why in its log, berthd.log in Berth's "
          "logs directory (berthctl logs berthd)",
          launch->berthd);

      launch_complete (launch, exited);
    }
}

static void
launch_child_exited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Launch *launch = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  g_clear_object (&launch->child);
  if (launch->done)
    {
      if (!launch->loading)
        launch_free (launch);
      return;
    }
  /* One more look: a berthd that was already starting wins, and this one
   * leaves (berthd runs once per user). */
  if (!launch->loading)
    {
      launch->loading = TRUE;
      berth_client_load_credentials_async (launch->client, NULL, launch_poll_loaded, launch);
    }
}

static void
child_setup (gpointer user_data)
{
  /* A session of its own: berthd outlives the terminal, and the program,
   * that launched it. */
  setsid ();
}

void
berth_client_launch_async (BerthClient *self, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *berthd = NULL;
  Launch *launch;

  g_task_set_source_tag (task, berth_client_launch_async);
  /* One launch at a time: the others wait for its outcome. */
  g_ptr_array_add (self->launch_waiters, g_steal_pointer (&task));
  if (self->launch_waiters->len > 1)
    return;

  berthd = find_berthd (self, &error);
  if (berthd == NULL)
    {
      g_autoptr (GPtrArray) waiters = g_steal_pointer (&self->launch_waiters);

      self->launch_waiters = g_ptr_array_new_with_free_func (g_object_unref);
      for (guint i = 0; i < waiters->len; i++)
        g_task_return_error (g_ptr_array_index (waiters, i), g_error_copy (error));
      return;
    }
  g_ptr_array_add (argv, g_strdup (berthd));
  if (self->port_override != 0)
    g_ptr_array_add (argv, g_strdup_printf ("--port=%u", self->port_override));
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                        | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_stdin_file_path (launcher, "/dev/null");
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);

  launch = g_new0 (Launch, 1);
  launch->client = g_object_ref (self);
  launch->berthd = g_steal_pointer (&berthd);
  launch->child
      = g_subprocess_launcher_spawnv (launcher, (const gchar *const *)argv->pdata, &error);
  if (launch->child == NULL)
    {
      g_autoptr (GError) failed = g_error_new (BERTH_CLIENT_ERROR, BERTH_CLIENT_ERROR_NOT_RUNNING,
                                               "berthd is not running, and launching %s failed: %s",
                                               launch->berthd, error->message);

      launch_complete (launch, failed);
      return;
    }
  launch->pid = g_ascii_strtoll (g_subprocess_get_identifier (launch->child), NULL, 10);
  launch->deadline = g_get_monotonic_time () + BERTH_CLIENT_LAUNCH_TIMEOUT_SECONDS * G_USEC_PER_SEC;
  g_debug ("Launched %s (pid %" G_GINT64_FORMAT ")", launch->berthd, launch->pid);
  g_subprocess_wait_async (launch->child, NULL, launch_child_exited, launch);
  launch->poll_source = berth_client_timeout_add (self, LAUNCH_POLL_MS, launch_poll, launch);
}

gboolean
berth_client_launch_finish (BerthClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
