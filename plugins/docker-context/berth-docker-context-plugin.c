/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include <berth.h>

#include "berth-docker-context-plugin.h"

#define CONTEXT_NAME "berth"
#define CONTEXT_DESCRIPTION "Berth"
#define INTEGRATION_NAME "docker-context"
#define ENGINE_SETTING "containerEngine.name"
#define MAKE_CURRENT_SETTING "containerEngine.dockerContext.makeCurrent"
#define STATE_FILE_NAME "docker-context.json"
#define STATE_PREVIOUS "previousCurrentContext"
#define STATE_DISABLED "disabled"
#define CURRENT_CONTEXT "currentContext"
/* docker's config.json holds credentials and plugin settings: a few KiB. */
#define MAX_JSON_BYTES (4 * 1024 * 1024)

struct _BerthDockerContextPlugin
{
  BerthPlugin parent_instance;

  GQueue pending;      /* GTask, waiting for the running one */
  GTask *running;      /* nullable */
  JsonNode *last_list; /* what list() said when last looked at; nullable */
  gchar *last_error;   /* why the last operation failed; nullable */
};

static void
berth_docker_context_plugin_integration_init (BerthIntegrationInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (BerthDockerContextPlugin, berth_docker_context_plugin,
                               BERTH_TYPE_PLUGIN,
                               G_IMPLEMENT_INTERFACE (BERTH_TYPE_INTEGRATION,
                                                      berth_docker_context_plugin_integration_init))

BERTH_PLUGIN_DEFINE (berth_docker_context_plugin)

/* ---- files (any thread) ------------------------------------------------- */

static gchar *
context_dir (const gchar *config_dir, const gchar *kind)
{
  g_autofree gchar *digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, CONTEXT_NAME, -1);

  return g_build_filename (config_dir, "contexts", kind, digest, NULL);
}

static gchar *
context_meta_file (const gchar *config_dir)
{
  g_autofree gchar *dir = context_dir (config_dir, "meta");

  return g_build_filename (dir, "meta.json", NULL);
}

static gboolean
set_errno_error (GError **error, gint saved_errno, const gchar *what, const gchar *path,
                 const gchar *next)
{
  g_set_error (error, BERTH_ERROR, saved_errno == EACCES ? BERTH_ERROR_AUTH : BERTH_ERROR_FAILED,
               "Could not %s %s: %s; %s", what, path, g_strerror (saved_errno), next);
  return FALSE;
}

/* Reads and parses @path. Returns TRUE with *@node_out NULL when the file
 * does not exist or holds only white space. */
static gboolean
read_json_file (const gchar *path, JsonNode **node_out, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (JsonParser) parser = NULL;
  g_autofree gchar *text = NULL;
  gsize length = 0;

  *node_out = NULL;
  if (!g_file_get_contents (path, &text, &length, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_set_error (error, BERTH_ERROR,
                   g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_ACCES)
                       ? BERTH_ERROR_AUTH
                       : BERTH_ERROR_FAILED,
                   "Could not read %s: %s; check that it is a file you can read", path,
                   local_error->message);
      return FALSE;
    }
  if (length > MAX_JSON_BYTES)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is %" G_GSIZE_FORMAT " bytes, more than the %d a docker file can "
                   "reasonably hold; check what wrote it, then shorten or remove it",
                   path, length, MAX_JSON_BYTES);
      return FALSE;
    }
  if (strlen (text) != length)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s holds a NUL byte, so it is not JSON; fix or remove it", path);
      return FALSE;
    }
  g_strstrip (text);
  if (text[0] == '\0')
    return TRUE;
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, text, -1, &local_error))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is not valid JSON (%s); fix or remove it, then try again", path,
                   local_error->message);
      return FALSE;
    }
  *node_out = json_parser_steal_root (parser);
  return TRUE;
}

/* Writes @text to @path through a temporary file in the same directory. */
static gboolean
write_file_atomically (const gchar *path, const gchar *text, gint mode, GError **error)
{
  g_autoptr (GError) local_error = NULL;

  if (berth_file_replace_contents (path, text, strlen (text), (guint)mode, &local_error))
    return TRUE;
  g_set_error (error, BERTH_ERROR, local_error->code, "%s; check that its directory is writable",
               local_error->message);
  return FALSE;
}

static gchar *
node_to_text (JsonNode *node, gboolean pretty)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();

  json_generator_set_root (generator, node);
  json_generator_set_pretty (generator, pretty);
  if (pretty)
    {
      json_generator_set_indent (generator, 1);
      json_generator_set_indent_char (generator, '\t');
    }
  return json_generator_to_data (generator, NULL);
}

/* The docker endpoint of context "berth" in *@host_out; NULL when the
 * context does not exist. An unreadable or malformed meta.json is an error. */
static gboolean
read_context_host (const gchar *config_dir, gchar **host_out, GError **error)
{
  g_autofree gchar *path = context_meta_file (config_dir);
  g_autoptr (JsonNode) root = NULL;
  JsonObject *object;
  JsonObject *endpoints;
  JsonObject *docker;
  JsonNode *host;

  *host_out = NULL;
  if (!read_json_file (path, &root, error))
    return FALSE;
  if (root == NULL && !g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE;
  if (root == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is empty, so docker cannot use the context %s; turn %s off and on again "
                   "to rewrite it",
                   path, CONTEXT_NAME, INTEGRATION_NAME);
      return FALSE;
    }
  object = JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  endpoints = object != NULL && json_object_has_member (object, "Endpoints")
                      && JSON_NODE_HOLDS_OBJECT (json_object_get_member (object, "Endpoints"))
                  ? json_object_get_object_member (object, "Endpoints")
                  : NULL;
  docker = endpoints != NULL && json_object_has_member (endpoints, "docker")
                   && JSON_NODE_HOLDS_OBJECT (json_object_get_member (endpoints, "docker"))
               ? json_object_get_object_member (endpoints, "docker")
               : NULL;
  host = docker != NULL ? json_object_get_member (docker, "Host") : NULL;
  if (host == NULL || !JSON_NODE_HOLDS_VALUE (host)
      || json_node_get_value_type (host) != G_TYPE_STRING)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s has no Endpoints.docker.Host string, so docker cannot use the context "
                   "%s; turn %s off and on again to rewrite it",
                   path, CONTEXT_NAME, INTEGRATION_NAME);
      return FALSE;
    }
  *host_out = g_strdup (json_node_get_string (host));
  return TRUE;
}

static gchar *
context_meta_text (const gchar *host)
{
  g_autoptr (JsonBuilder) builder = json_builder_new_immutable ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "Name");
  json_builder_add_string_value (builder, CONTEXT_NAME);
  json_builder_set_member_name (builder, "Metadata");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "Description");
  json_builder_add_string_value (builder, CONTEXT_DESCRIPTION);
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "Endpoints");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "docker");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "Host");
  json_builder_add_string_value (builder, host);
  json_builder_set_member_name (builder, "SkipTLSVerify");
  json_builder_add_boolean_value (builder, FALSE);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  return node_to_text (root, FALSE);
}

/* docker keeps credentials in its config directory: a new one is private,
 * as docker makes it. */
static gboolean
ensure_config_dir (const gchar *config_dir, GError **error)
{
  if (g_mkdir_with_parents (config_dir, 0700) != 0)
    return set_errno_error (error, errno, "create the docker configuration directory", config_dir,
                            "check the permissions of its parent or set $DOCKER_CONFIG");
  return TRUE;
}

/* Writes context "berth" unless it already says exactly that. */
static gboolean
ensure_context (const gchar *config_dir, const gchar *host, GError **error)
{
  g_autofree gchar *dir = context_dir (config_dir, "meta");
  g_autofree gchar *path = context_meta_file (config_dir);
  g_autofree gchar *text = context_meta_text (host);
  g_autofree gchar *existing = NULL;

  if (g_file_get_contents (path, &existing, NULL, NULL) && g_str_equal (existing, text))
    return TRUE;
  if (!ensure_config_dir (config_dir, error))
    return FALSE;
  if (g_mkdir_with_parents (dir, 0755) != 0)
    return set_errno_error (error, errno, "create the docker context directory", dir,
                            "check the permissions of the docker configuration directory");
  if (!write_file_atomically (path, text, 0644, error))
    return FALSE;
  g_info ("Wrote docker context %s (%s) to %s", CONTEXT_NAME, host, path);
  return TRUE;
}

static gboolean
remove_tree (GFile *file, GError **error)
{
  g_autoptr (GFileEnumerator) children = NULL;
  g_autoptr (GError) local_error = NULL;

  children = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, &local_error);
  if (children != NULL)
    {
      GFileInfo *info;
      GFile *child;

      while (g_file_enumerator_iterate (children, &info, &child, NULL, error) && info != NULL)
        if (!remove_tree (child, error))
          return FALSE;
    }
  else if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY))
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  return g_file_delete (file, NULL, error);
}

/* Removes context "berth" as `docker context rm` would: its metadata and
 * any TLS material docker kept for it. */
static gboolean
delete_context (const gchar *config_dir, GError **error)
{
  g_autofree gchar *meta_dir = context_dir (config_dir, "meta");
  g_autofree gchar *tls_dir = context_dir (config_dir, "tls");
  g_autoptr (GFile) meta = g_file_new_for_path (meta_dir);
  g_autoptr (GFile) tls = g_file_new_for_path (tls_dir);
  g_autoptr (GError) local_error = NULL;
  gboolean existed = g_file_test (meta_dir, G_FILE_TEST_EXISTS);

  if (!remove_tree (meta, &local_error) || !remove_tree (tls, &local_error))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                   "Could not remove the docker context %s from %s: %s; remove it with "
                   "`docker context rm %s`",
                   CONTEXT_NAME, config_dir, local_error->message, CONTEXT_NAME);
      return FALSE;
    }
  if (existed)
    g_info ("Removed docker context %s from %s", CONTEXT_NAME, config_dir);
  return TRUE;
}

/* ---- Berth's own record ------------------------------------------------- */

typedef struct
{
  gboolean switched; /* Berth made "berth" the current context */
  gchar *previous;   /* the current context before that; NULL: none */
  gboolean disabled; /* turned off with set() */
} ContextState;

static void
context_state_clear (ContextState *state)
{
  g_clear_pointer (&state->previous, g_free);
  state->switched = FALSE;
  state->disabled = FALSE;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ContextState, context_state_clear)

static gboolean
state_error (GError **error, const gchar *path, const gchar *what)
{
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
               "Berth's record %s %s; remove it (Berth then forgets which docker context was "
               "current before it switched to %s)",
               path, what, CONTEXT_NAME);
  return FALSE;
}

static gboolean
read_state (const gchar *path, ContextState *state, GError **error)
{
  g_autoptr (JsonNode) root = NULL;
  JsonObject *object;
  JsonNode *previous;
  JsonNode *disabled;

  context_state_clear (state);
  if (!read_json_file (path, &root, error))
    return FALSE;
  if (root == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return state_error (error, path, "is not a JSON object");
  object = json_node_get_object (root);
  previous = json_object_get_member (object, STATE_PREVIOUS);
  if (previous != NULL)
    {
      if (JSON_NODE_HOLDS_VALUE (previous) && json_node_get_value_type (previous) == G_TYPE_STRING)
        state->previous = g_strdup (json_node_get_string (previous));
      else if (!JSON_NODE_HOLDS_NULL (previous))
        return state_error (error, path, "has a " STATE_PREVIOUS " that is neither text nor null");
      state->switched = TRUE;
    }
  disabled = json_object_get_member (object, STATE_DISABLED);
  if (disabled != NULL)
    {
      if (!JSON_NODE_HOLDS_VALUE (disabled)
          || json_node_get_value_type (disabled) != G_TYPE_BOOLEAN)
        return state_error (error, path, "has a " STATE_DISABLED " that is not true or false");
      state->disabled = json_node_get_boolean (disabled);
    }
  return TRUE;
}

/* An empty record is no file at all. */
static gboolean
write_state (const gchar *path, const ContextState *state, GError **error)
{
  g_autoptr (JsonBuilder) builder = NULL;
  g_autoptr (JsonNode) root = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *dir = NULL;

  if (!state->switched && !state->disabled)
    {
      if (g_remove (path) != 0 && errno != ENOENT)
        return set_errno_error (error, errno, "remove", path, "remove it by hand");
      return TRUE;
    }
  builder = json_builder_new_immutable ();
  json_builder_begin_object (builder);
  if (state->switched)
    {
      json_builder_set_member_name (builder, STATE_PREVIOUS);
      if (state->previous != NULL)
        json_builder_add_string_value (builder, state->previous);
      else
        json_builder_add_null_value (builder);
    }
  if (state->disabled)
    {
      json_builder_set_member_name (builder, STATE_DISABLED);
      json_builder_add_boolean_value (builder, TRUE);
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  text = node_to_text (root, TRUE);
  dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    return set_errno_error (error, errno, "create Berth's data directory", dir,
                            "check the permissions of its parent");
  return write_file_atomically (path, text, 0600, error);
}

/* ---- config.json -------------------------------------------------------- */

typedef struct
{
  gchar *path; /* the file written: a symlink's target when it is one */
  gboolean existed;
  guint mode;
  JsonNode *root; /* an object */
} DockerConfig;

static void
docker_config_free (DockerConfig *config)
{
  g_free (config->path);
  g_clear_pointer (&config->root, json_node_unref);
  g_free (config);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DockerConfig, docker_config_free)

static DockerConfig *
docker_config_load (const gchar *config_dir, GError **error)
{
  g_autoptr (DockerConfig) config = g_new0 (DockerConfig, 1);
  g_autofree gchar *path = g_build_filename (config_dir, "config.json", NULL);
  GStatBuf st;

  /* Dotfile managers link config.json: edit the file, keep the link. */
  config->path = NULL;
  if (g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    config->path = realpath (path, NULL);
  if (config->path == NULL)
    config->path = g_strdup (path);
  if (!read_json_file (config->path, &config->root, error))
    return NULL;
  config->existed = g_stat (config->path, &st) == 0;
  config->mode = config->existed ? (st.st_mode & 0777) : 0600;
  if (config->root == NULL)
    {
      config->root = json_node_new (JSON_NODE_OBJECT);
      json_node_take_object (config->root, json_object_new ());
    }
  else if (!JSON_NODE_HOLDS_OBJECT (config->root))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is not a JSON object, so Berth cannot set the current docker context in "
                   "it (docker cannot read it either); fix or remove it, then try again",
                   config->path);
      return NULL;
    }
  return g_steal_pointer (&config);
}

/* "currentContext" when it is text, else NULL. */
static const gchar *
docker_config_get_current (DockerConfig *config)
{
  JsonNode *node = json_object_get_member (json_node_get_object (config->root), CURRENT_CONTEXT);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* NULL @name removes the member. */
static gboolean
docker_config_set_current (DockerConfig *config, const gchar *name, GError **error)
{
  JsonObject *object = json_node_get_object (config->root);
  g_autofree gchar *text = NULL;
  g_autofree gchar *dir = NULL;

  if (name != NULL)
    json_object_set_string_member (object, CURRENT_CONTEXT, name);
  else
    json_object_remove_member (object, CURRENT_CONTEXT);
  text = node_to_text (config->root, TRUE);
  dir = g_path_get_dirname (config->path);
  if (!ensure_config_dir (dir, error)
      || !write_file_atomically (config->path, text, config->mode, error))
    return FALSE;
  if (name != NULL)
    g_info ("Set the current docker context in %s to %s", config->path, name);
  else
    g_info ("Removed the current docker context from %s", config->path);
  return TRUE;
}

/* ---- operations (worker thread) ----------------------------------------- */

typedef enum
{
  JOB_APPLY,
  JOB_SET,
  JOB_REMOVE,
} JobKind;

typedef struct
{
  JobKind kind;
  BerthState state; /* JOB_APPLY */
  gboolean enabled; /* JOB_SET */
  /* Taken on the main context when the job starts. */
  gchar *config_dir;
  gchar *host; /* unix://<data>/docker.sock */
  gchar *state_file;
  gboolean moby;
  gboolean make_current;
} Job;

static void
job_free (Job *job)
{
  g_free (job->config_dir);
  g_free (job->host);
  g_free (job->state_file);
  g_free (job);
}

static gboolean
context_exists (const gchar *config_dir)
{
  g_autofree gchar *path = context_meta_file (config_dir);

  return g_file_test (path, G_FILE_TEST_IS_REGULAR);
}

/* Makes "berth" current once when asked to and it exists; otherwise gives back
 * the context Berth replaced, but only while "berth" is still current and
 * Berth made it so (or it is gone, which would leave docker unusable). */
static gboolean
sync_current_context (Job *job, gboolean exists, GError **error)
{
  g_auto (ContextState) state = { 0 };
  g_autoptr (DockerConfig) config = NULL;
  gboolean want = job->make_current && exists;
  const gchar *current;

  if (!read_state (job->state_file, &state, error))
    return FALSE;
  if (!want && !state.switched && exists)
    return TRUE;
  config = docker_config_load (job->config_dir, error);
  if (config == NULL)
    return FALSE;
  current = docker_config_get_current (config);
  if (want)
    {
      if (g_strcmp0 (current, CONTEXT_NAME) == 0)
        return TRUE;
      /* Switched once already, and the user has since chosen another
       * context: that choice stands until makeCurrent is set again. */
      if (state.switched)
        return TRUE;
      /* Remembered first: a failed write below then leaves nothing to undo. */
      g_free (state.previous);
      state.previous = g_strdup (current);
      state.switched = TRUE;
      return write_state (job->state_file, &state, error)
             && docker_config_set_current (config, CONTEXT_NAME, error);
    }
  if (g_strcmp0 (current, CONTEXT_NAME) == 0 && (state.switched || !exists))
    {
      if (!docker_config_set_current (config, state.switched ? state.previous : NULL, error))
        return FALSE;
    }
  if (!state.switched)
    return TRUE;
  g_clear_pointer (&state.previous, g_free);
  state.switched = FALSE;
  return write_state (job->state_file, &state, error);
}

static gboolean
run_apply (Job *job, GError **error)
{
  g_auto (ContextState) state = { 0 };

  if (!read_state (job->state_file, &state, error))
    return FALSE;
  if (!job->moby)
    {
      if (!delete_context (job->config_dir, error))
        return FALSE;
    }
  else if (!state.disabled && !ensure_context (job->config_dir, job->host, error))
    return FALSE;
  return sync_current_context (job, context_exists (job->config_dir), error);
}

static gboolean
run_set (Job *job, GError **error)
{
  g_auto (ContextState) state = { 0 };

  if (job->enabled && !job->moby)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "The docker context %s needs the moby engine, and %s is not moby; set it "
                   "with `berthctl set --container-engine.name=moby` first",
                   CONTEXT_NAME, ENGINE_SETTING);
      return FALSE;
    }
  if (!read_state (job->state_file, &state, error))
    return FALSE;
  state.disabled = !job->enabled;
  if (!write_state (job->state_file, &state, error))
    return FALSE;
  if (job->enabled ? !ensure_context (job->config_dir, job->host, error)
                   : !delete_context (job->config_dir, error))
    return FALSE;
  return sync_current_context (job, job->enabled, error);
}

static gboolean
run_remove (Job *job, GError **error)
{
  job->make_current = FALSE;
  if (!delete_context (job->config_dir, error) || !sync_current_context (job, FALSE, error))
    return FALSE;
  if (g_remove (job->state_file) != 0 && errno != ENOENT)
    return set_errno_error (error, errno, "remove", job->state_file, "remove it by hand");
  return TRUE;
}

static void
job_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  Job *job = task_data;
  g_autoptr (GError) error = NULL;
  gboolean ok = FALSE;

  if (g_task_return_error_if_cancelled (task))
    return;
  if (job->kind == JOB_APPLY)
    g_debug ("Applying for state %s: engine %s, makeCurrent %s", berth_state_to_string (job->state),
             job->moby ? "moby" : "not moby", job->make_current ? "true" : "false");
  switch (job->kind)
    {
    case JOB_APPLY:
      ok = run_apply (job, &error);
      break;
    case JOB_SET:
      ok = run_set (job, &error);
      break;
    case JOB_REMOVE:
      ok = run_remove (job, &error);
      break;
    default:
      g_assert_not_reached ();
    }
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

/* ---- main context ------------------------------------------------------- */

static gchar *
docker_config_dir (void)
{
  const gchar *from_env = g_getenv ("DOCKER_CONFIG");

  if (from_env != NULL && from_env[0] != '\0')
    return g_strdup (from_env);
  return g_build_filename (g_get_home_dir (), ".docker", NULL);
}

static gchar *
socket_host (BerthDockerContextPlugin *self)
{
  const BerthPaths *paths = berth_plugin_get_paths (BERTH_PLUGIN (self));
  g_autofree gchar *socket = g_build_filename (paths->data, "docker.sock", NULL);

  return g_strconcat ("unix://", socket, NULL);
}

static JsonNode *
compute_list (BerthDockerContextPlugin *self)
{
  g_autoptr (JsonBuilder) builder = json_builder_new_immutable ();
  g_autoptr (GError) error = NULL;
  g_autofree gchar *config_dir = docker_config_dir ();
  g_autofree gchar *expected = socket_host (self);
  g_autofree gchar *host = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, INTEGRATION_NAME);
  if (!read_context_host (config_dir, &host, &error))
    json_builder_add_string_value (builder, error->message);
  else if (host == NULL)
    json_builder_add_boolean_value (builder, FALSE);
  else if (g_str_equal (host, expected))
    json_builder_add_boolean_value (builder, TRUE);
  else
    {
      g_autofree gchar *why = g_strdup_printf (
          "The docker context %s points at %s, not at Berth's socket %s; turn %s off and on "
          "again to point it back",
          CONTEXT_NAME, host, expected, INTEGRATION_NAME);
      json_builder_add_string_value (builder, why);
    }
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static JsonNode *
berth_docker_context_plugin_list (BerthIntegration *integration)
{
  return compute_list (BERTH_DOCKER_CONTEXT_PLUGIN (integration));
}

static GStrv
berth_docker_context_plugin_dup_warnings (BerthIntegration *integration)
{
  BerthDockerContextPlugin *self = BERTH_DOCKER_CONTEXT_PLUGIN (integration);
  GPtrArray *warnings = g_ptr_array_new ();
  const gchar *docker_host = g_getenv ("DOCKER_HOST");
  const gchar *docker_context = g_getenv ("DOCKER_CONTEXT");

  if (docker_host != NULL && docker_host[0] != '\0')
    g_ptr_array_add (
        warnings,
        g_strdup_printf ("DOCKER_HOST is set (to %s) in Berth's environment; it overrides the "
                         "current docker context, so docker run from there does not use the "
                         "context %s: unset it, or use docker --context %s",
                         docker_host, CONTEXT_NAME, CONTEXT_NAME));
  if (docker_context != NULL && docker_context[0] != '\0')
    g_ptr_array_add (
        warnings,
        g_strdup_printf ("DOCKER_CONTEXT is set (to %s) in Berth's environment; it overrides the "
                         "current docker context, so docker run from there uses %s whatever "
                         "the current context is: unset it, or set it to %s",
                         docker_context, docker_context, CONTEXT_NAME));
  if (self->last_error != NULL)
    g_ptr_array_add (warnings, g_strdup_printf ("The docker context could not be updated: %s",
                                                self->last_error));
  g_ptr_array_add (warnings, NULL);
  return (GStrv)g_ptr_array_free (warnings, FALSE);
}

/* Emits "changed" when what list() says differs from what it said before. */
static void
refresh_list (BerthDockerContextPlugin *self, gboolean warnings_changed)
{
  g_autoptr (JsonNode) list = compute_list (self);
  gboolean list_changed = self->last_list == NULL || !json_node_equal (list, self->last_list);

  g_clear_pointer (&self->last_list, json_node_unref);
  self->last_list = g_steal_pointer (&list);
  if (list_changed || warnings_changed)
    g_signal_emit_by_name (self, "changed");
}

static void
run_next (BerthDockerContextPlugin *self);

static void
job_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BerthDockerContextPlugin *self = BERTH_DOCKER_CONTEXT_PLUGIN (source);
  g_autoptr (GTask) outer = user_data;
  g_autoptr (GError) error = NULL;
  gboolean warnings_changed;

  g_assert (self->running == outer);
  self->running = NULL;
  if (g_task_propagate_boolean (G_TASK (result), &error))
    {
      warnings_changed = self->last_error != NULL;
      g_clear_pointer (&self->last_error, g_free);
    }
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_message ("%s failed: %s", g_task_get_name (outer), error->message);
      warnings_changed = g_strcmp0 (self->last_error, error->message) != 0;
      g_free (self->last_error);
      self->last_error = g_strdup (error->message);
    }
  else
    warnings_changed = FALSE;
  refresh_list (self, warnings_changed);

  if (error != NULL)
    g_task_return_error (outer, g_steal_pointer (&error));
  else
    g_task_return_boolean (outer, TRUE);
  run_next (self);
}

/* Starts the oldest waiting job unless one runs. */
static void
run_next (BerthDockerContextPlugin *self)
{
  BerthSettings *settings = berth_plugin_get_settings (BERTH_PLUGIN (self));
  const BerthPaths *paths = berth_plugin_get_paths (BERTH_PLUGIN (self));
  GTask *outer;
  GTask *inner;
  Job *job;

  if (self->running != NULL)
    return;
  outer = g_queue_pop_head (&self->pending);
  if (outer == NULL)
    return;
  if (self->last_list == NULL)
    self->last_list = compute_list (self);

  job = g_task_get_task_data (outer);
  job->config_dir = docker_config_dir ();
  job->host = socket_host (self);
  job->state_file = g_build_filename (paths->data, STATE_FILE_NAME, NULL);
  job->moby = settings == NULL
              || g_strcmp0 (berth_settings_get_string (settings, ENGINE_SETTING), "moby") == 0;
  job->make_current
      = settings != NULL && berth_settings_get_boolean (settings, MAKE_CURRENT_SETTING);

  self->running = outer;
  inner = g_task_new (self, g_task_get_cancellable (outer), job_done, outer);
  g_task_set_source_tag (inner, run_next);
  g_task_set_name (inner, g_task_get_name (outer));
  g_task_set_task_data (inner, job, NULL);
  g_task_run_in_thread (inner, job_thread);
  g_object_unref (inner);
}

static void
queue_job (BerthDockerContextPlugin *self, Job *job, GCancellable *cancellable,
           GAsyncReadyCallback callback, gpointer user_data, gpointer source_tag, const gchar *name)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_name (task, name);
  g_task_set_task_data (task, job, (GDestroyNotify)job_free);
  g_queue_push_tail (&self->pending, task);
  run_next (self);
}

static void
berth_docker_context_plugin_set_async (BerthIntegration *integration, const gchar *name,
                                       gboolean enabled, GCancellable *cancellable,
                                       GAsyncReadyCallback callback, gpointer user_data)
{
  BerthDockerContextPlugin *self = BERTH_DOCKER_CONTEXT_PLUGIN (integration);
  Job *job;

  if (!g_str_equal (name, INTEGRATION_NAME))
    {
      g_task_report_new_error (self, callback, user_data, berth_docker_context_plugin_set_async,
                               BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                               "%s has no integration named \"%s\"; the one it has is \"%s\"",
                               berth_plugin_get_name (BERTH_PLUGIN (self)), name, INTEGRATION_NAME);
      return;
    }
  job = g_new0 (Job, 1);
  job->kind = JOB_SET;
  job->enabled = enabled;
  queue_job (self, job, cancellable, callback, user_data, berth_docker_context_plugin_set_async,
             enabled ? "Turning on the docker context" : "Turning off the docker context");
}

static void
berth_docker_context_plugin_apply_async (BerthIntegration *integration, BerthState state,
                                         GCancellable *cancellable, GAsyncReadyCallback callback,
                                         gpointer user_data)
{
  Job *job = g_new0 (Job, 1);

  job->kind = JOB_APPLY;
  job->state = state;
  queue_job (BERTH_DOCKER_CONTEXT_PLUGIN (integration), job, cancellable, callback, user_data,
             berth_docker_context_plugin_apply_async, "Applying the docker context settings");
}

static void
berth_docker_context_plugin_remove_async (BerthIntegration *integration, GCancellable *cancellable,
                                          GAsyncReadyCallback callback, gpointer user_data)
{
  Job *job = g_new0 (Job, 1);

  job->kind = JOB_REMOVE;
  queue_job (BERTH_DOCKER_CONTEXT_PLUGIN (integration), job, cancellable, callback, user_data,
             berth_docker_context_plugin_remove_async, "Removing the docker context");
}

/* One _finish serves all three: each completes a boolean GTask of ours. */
static gboolean
berth_docker_context_plugin_finish (BerthIntegration *integration, GAsyncResult *result,
                                    GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, integration), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
berth_docker_context_plugin_integration_init (BerthIntegrationInterface *iface)
{
  iface->list = berth_docker_context_plugin_list;
  iface->set_async = berth_docker_context_plugin_set_async;
  iface->set_finish = berth_docker_context_plugin_finish;
  iface->dup_warnings = berth_docker_context_plugin_dup_warnings;
  iface->apply_async = berth_docker_context_plugin_apply_async;
  iface->apply_finish = berth_docker_context_plugin_finish;
  iface->remove_async = berth_docker_context_plugin_remove_async;
  iface->remove_finish = berth_docker_context_plugin_finish;
}

static void
berth_docker_context_plugin_finalize (GObject *object)
{
  BerthDockerContextPlugin *self = BERTH_DOCKER_CONTEXT_PLUGIN (object);

  /* Every queued or running task holds a reference: none is left here. */
  g_assert (self->running == NULL && g_queue_is_empty (&self->pending));
  g_clear_pointer (&self->last_list, json_node_unref);
  g_free (self->last_error);
  G_OBJECT_CLASS (berth_docker_context_plugin_parent_class)->finalize (object);
}

static void
berth_docker_context_plugin_class_init (BerthDockerContextPluginClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = berth_docker_context_plugin_finalize;
}

static void
berth_docker_context_plugin_init (BerthDockerContextPlugin *self)
{
  g_queue_init (&self->pending);
}
