/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>
#include <sys/utsname.h>

#include <libsoup/soup.h>

#include <berth.h>

#include "berth-updater-install.h"
#include "berth-updater-plugin.h"
#include "berth-updater-release.h"

/* Berth's own servers; the environment points tests elsewhere. */
#define DEFAULT_RESPONDER_URL "https://updates.berth.dev/v1/checkupgrade"
#define DEFAULT_RELEASES_URL "https://api.github.com"
#define RELEASES_REPOSITORY "berth-desktop/berth"
#define DEFAULT_TIMEOUT_SECONDS 30
#define MAX_TIMEOUT_SECONDS 600
/* The operating system's version is no single thing on Linux: Rancher
 * Desktop sends this, so that the responder can still parse it. */
#define LINUX_PLATFORM_VERSION "0.0.0"
#define READ_CHUNK 16384

struct _BerthUpdaterPlugin
{
  BerthPlugin parent_instance;

  gchar *responder_url;
  gchar *releases_url; /* GitHub's API, no trailing slash */
  gchar *arch;         /* uname's machine: x86_64, aarch64 */
  guint timeout_seconds;
  BerthDownloader *downloader;
  SoupSession *session;

  const gchar *operation; /* the one under way ("check", …), NULL when idle */
  JsonNode *latest;       /* the last check's result; NULL before one */
  gchar *archive_url;     /* of a newer release; NULL when none is known */
  gchar *archive_sha512;
  gchar *archive_version;
  gchar *downloaded; /* the verified archive, once downloaded */
  gint last_percent; /* of the download, as last reported */
};

static void
berth_updater_plugin_updater_init (BerthUpdaterInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (BerthUpdaterPlugin, berth_updater_plugin, BERTH_TYPE_PLUGIN,
                               G_IMPLEMENT_INTERFACE (BERTH_TYPE_UPDATER,
                                                      berth_updater_plugin_updater_init))

BERTH_PLUGIN_DEFINE (berth_updater_plugin)

static void
emit_state (BerthUpdaterPlugin *self, const gchar *state, const gchar *detail)
{
  g_message ("Update state %s: %s", state, detail);
  g_signal_emit_by_name (self, "update-state", state, detail);
}

/* ---- HTTP ---------------------------------------------------------------- */

typedef struct
{
  gchar *url;
  SoupMessage *message;
  GInputStream *input;
  GByteArray *body;
  gsize max_bytes;
} Fetch;

static void
fetch_free (Fetch *fetch)
{
  if (fetch->input != NULL)
    g_input_stream_close (fetch->input, NULL, NULL);
  g_clear_object (&fetch->input);
  g_clear_object (&fetch->message);
  g_clear_pointer (&fetch->body, g_byte_array_unref);
  g_free (fetch->url);
  g_free (fetch);
}

/* A transfer error as BERTH_ERROR, naming the URL and what to do. */
static GError *
fetch_error (BerthUpdaterPlugin *self, const gchar *url, const GError *cause)
{
  if (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return g_error_new (BERTH_ERROR, BERTH_ERROR_CANCELLED, "asking %s was cancelled", url);
  if (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return g_error_new (BERTH_ERROR, BERTH_ERROR_TIMED_OUT,
                        "%s did not answer within %u s ($BERTH_UPDATE_TIMEOUT); try again later",
                        url, self->timeout_seconds);
  if (cause->domain == G_TLS_ERROR)
    return g_error_new (BERTH_ERROR, BERTH_ERROR_DOWNLOAD,
                        "the TLS connection to %s failed: %s; a server with a private CA needs "
                        "that CA in $BERTH_UPDATE_CA_FILE",
                        url, cause->message);
  return g_error_new (BERTH_ERROR, BERTH_ERROR_DOWNLOAD, "asking %s failed: %s", url,
                      cause->message);
}

static void
fetch_read_next (GTask *task);

static void
fetch_read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthUpdaterPlugin *self = g_task_get_source_object (task);
  Fetch *fetch = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  if (bytes == NULL)
    {
      g_task_return_error (task, fetch_error (self, fetch->url, error));
      return;
    }
  if (g_bytes_get_size (bytes) == 0)
    {
      gsize length = fetch->body->len;

      g_task_return_pointer (
          task,
          g_bytes_new_take (g_byte_array_free (g_steal_pointer (&fetch->body), FALSE), length),
          (GDestroyNotify)g_bytes_unref);
      return;
    }
  if (fetch->body->len + g_bytes_get_size (bytes) > fetch->max_bytes)
    {
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                               "%s answered more than the %" G_GSIZE_FORMAT " bytes expected of it",
                               fetch->url, fetch->max_bytes);
      return;
    }
  g_byte_array_append (fetch->body, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  fetch_read_next (g_steal_pointer (&task));
}

static void
fetch_read_next (GTask *task)
{
  Fetch *fetch = g_task_get_task_data (task);

  g_input_stream_read_bytes_async (fetch->input, READ_CHUNK, G_PRIORITY_DEFAULT,
                                   g_task_get_cancellable (task), fetch_read_cb, task);
}

static void
fetch_sent_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthUpdaterPlugin *self = g_task_get_source_object (task);
  Fetch *fetch = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  guint status;

  fetch->input = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (fetch->input == NULL)
    {
      g_task_return_error (task, fetch_error (self, fetch->url, error));
      return;
    }
  status = soup_message_get_status (fetch->message);
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      const gchar *reason = soup_message_get_reason_phrase (fetch->message);

      g_task_return_new_error (
          task, BERTH_ERROR, BERTH_ERROR_DOWNLOAD, "%s answered HTTP %u %s", fetch->url, status,
          reason != NULL && reason[0] != '\0' ? reason : soup_status_get_phrase (status));
      return;
    }
  fetch->body = g_byte_array_new ();
  fetch_read_next (g_steal_pointer (&task));
}

/* GETs @url (or POSTs @json to it) and returns the body as GBytes, refusing
 * a body over @max_bytes and any status but 2xx. */
static void
fetch_async (BerthUpdaterPlugin *self, const gchar *url, const gchar *json, const gchar *accept,
             gsize max_bytes, GCancellable *cancellable, GAsyncReadyCallback callback,
             gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  Fetch *fetch = g_new0 (Fetch, 1);

  g_task_set_source_tag (task, fetch_async);
  g_task_set_check_cancellable (task, FALSE);
  g_task_set_task_data (task, fetch, (GDestroyNotify)fetch_free);
  fetch->url = g_strdup (url);
  fetch->max_bytes = max_bytes;
  fetch->message = soup_message_new (json != NULL ? SOUP_METHOD_POST : SOUP_METHOD_GET, url);
  if (fetch->message == NULL)
    {
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                               "\"%s\" is not a URL that can be asked", url);
      return;
    }
  soup_message_headers_replace (soup_message_get_request_headers (fetch->message), "Accept",
                                accept);
  if (json != NULL)
    {
      g_autoptr (GBytes) body = g_bytes_new (json, strlen (json));

      soup_message_set_request_body_from_bytes (fetch->message, "application/json", body);
    }
  soup_session_send_async (self->session, fetch->message, G_PRIORITY_DEFAULT, cancellable,
                           fetch_sent_cb, g_steal_pointer (&task));
}

static GBytes *
fetch_finish (BerthUpdaterPlugin *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- check --------------------------------------------------------------- */

typedef struct
{
  BerthUpdaterResponderAnswer *answer; /* NULL when GitHub's latest is used */
  gchar *fallback_reason;              /* why the responder was not used */
  BerthUpdaterRelease *release;
  gchar *asset_name;
  const BerthUpdaterAsset *asset; /* in release */
  gboolean newer;
} Check;

static void
check_free (Check *check)
{
  g_clear_pointer (&check->answer, berth_updater_responder_answer_free);
  g_clear_pointer (&check->release, berth_updater_release_free);
  g_free (check->fallback_reason);
  g_free (check->asset_name);
  g_free (check);
}

static JsonNode *
check_to_json (BerthUpdaterPlugin *self, Check *check)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "currentVersion");
  json_builder_add_string_value (builder, BERTH_VERSION_STRING);
  json_builder_set_member_name (builder, "version");
  json_builder_add_string_value (builder, check->release->version);
  json_builder_set_member_name (builder, "updateAvailable");
  json_builder_add_boolean_value (builder, check->newer);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, check->release->name);
  json_builder_set_member_name (builder, "notes");
  json_builder_add_string_value (builder, check->release->notes);
  json_builder_set_member_name (builder, "date");
  if (check->release->published_at != NULL)
    json_builder_add_string_value (builder, check->release->published_at);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "url");
  if (check->asset != NULL)
    json_builder_add_string_value (builder, check->asset->url);
  else
    json_builder_add_null_value (builder);
  if (check->asset != NULL)
    {
      json_builder_set_member_name (builder, "size");
      json_builder_add_int_value (builder, check->asset->size);
      json_builder_set_member_name (builder, "sha512");
      json_builder_add_string_value (builder, self->archive_sha512);
    }
  json_builder_set_member_name (builder, "source");
  json_builder_add_string_value (builder, check->answer != NULL ? "upgrade-responder" : "github");
  if (check->answer != NULL)
    {
      json_builder_set_member_name (builder, "unsupportedUpdateAvailable");
      json_builder_add_boolean_value (builder, check->answer->newer_unsupported);
      if (check->answer->request_interval_minutes > 0)
        {
          json_builder_set_member_name (builder, "requestIntervalInMinutes");
          json_builder_add_int_value (builder, check->answer->request_interval_minutes);
        }
    }
  if (check->fallback_reason != NULL)
    {
      json_builder_set_member_name (builder, "fallbackReason");
      json_builder_add_string_value (builder, check->fallback_reason);
    }
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static void
check_fail (GTask *task, GError *error)
{
  BerthUpdaterPlugin *self = g_task_get_source_object (task);

  emit_state (self, "error", error->message);
  g_task_return_error (task, error);
}

static void
checksum_fetched_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthUpdaterPlugin *self = BERTH_UPDATER_PLUGIN (source);
  Check *check = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autofree gchar *digest = NULL;
  g_autofree gchar *detail = NULL;
  gsize length;
  const gchar *data;

  body = fetch_finish (self, result, &error);
  if (body == NULL)
    {
      check_fail (task, g_steal_pointer (&error));
      return;
    }
  data = g_bytes_get_data (body, &length);
  digest = berth_updater_sha512sum_parse (data, length, check->asset_name, &error);
  if (digest == NULL)
    {
      check_fail (task, g_steal_pointer (&error));
      return;
    }
  /* A new archive: what was downloaded before is not it. */
  if (g_strcmp0 (self->archive_sha512, digest) != 0
      || g_strcmp0 (self->archive_url, check->asset->url) != 0)
    g_clear_pointer (&self->downloaded, g_free);
  g_free (self->archive_url);
  self->archive_url = g_strdup (check->asset->url);
  g_free (self->archive_sha512);
  self->archive_sha512 = g_steal_pointer (&digest);
  g_free (self->archive_version);
  self->archive_version = g_strdup (check->release->version);
  g_clear_pointer (&self->latest, json_node_unref);
  self->latest = check_to_json (self, check);

  detail = g_strdup_printf ("Berth %s is available (this is %s)", check->release->version,
                            BERTH_VERSION_STRING);
  emit_state (self, self->downloaded != NULL ? "downloaded" : "available", detail);
  g_task_return_pointer (task, json_node_copy (self->latest), (GDestroyNotify)json_node_unref);
}

static void
release_fetched_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthUpdaterPlugin *self = BERTH_UPDATER_PLUGIN (source);
  Check *check = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = NULL;
  g_auto (BerthUpdaterVersion) current = { 0 };
  g_auto (BerthUpdaterVersion) found = { 0 };
  g_autofree gchar *checksum_name = NULL;
  const BerthUpdaterAsset *checksum;
  GCancellable *cancellable;
  gsize length;
  const gchar *data;

  body = fetch_finish (self, result, &error);
  if (body == NULL)
    {
      check_fail (task, g_steal_pointer (&error));
      return;
    }
  data = g_bytes_get_data (body, &length);
  check->release = berth_updater_release_parse (data, length, &error);
  if (check->release == NULL)
    {
      check_fail (task, g_steal_pointer (&error));
      return;
    }
  if (!berth_updater_version_parse (BERTH_VERSION_STRING, &current, NULL)
      || !berth_updater_version_parse (check->release->version, &found, NULL))
    g_assert_not_reached ();
  check->newer = !check->release->draft && berth_updater_version_compare (&found, &current) > 0;
  if (!check->newer)
    {
      g_autofree gchar *detail
          = g_strdup_printf ("Berth %s is the newest release (the newest published is %s)",
                             BERTH_VERSION_STRING, check->release->version);

      g_clear_pointer (&self->archive_url, g_free);
      g_clear_pointer (&self->archive_sha512, g_free);
      g_clear_pointer (&self->archive_version, g_free);
      g_clear_pointer (&self->downloaded, g_free);
      g_clear_pointer (&self->latest, json_node_unref);
      self->latest = check_to_json (self, check);
      emit_state (self, "up-to-date", detail);
      g_task_return_pointer (task, json_node_copy (self->latest), (GDestroyNotify)json_node_unref);
      return;
    }

  check->asset_name = berth_updater_asset_name (check->release->version, self->arch);
  check->asset = berth_updater_release_find_asset (check->release, check->asset_name);
  checksum_name = g_strconcat (check->asset_name, ".sha512sum", NULL);
  checksum = berth_updater_release_find_asset (check->release, checksum_name);
  if (check->asset == NULL || checksum == NULL)
    {
      check_fail (task, g_error_new (BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                                     "release %s (%s) has no %s for this machine; it cannot be "
                                     "installed here",
                                     check->release->tag, check->release->name,
                                     check->asset == NULL ? check->asset_name : checksum_name));
      return;
    }
  cancellable = g_task_get_cancellable (task);
  fetch_async (self, checksum->url, NULL, "text/plain, */*", BERTH_UPDATER_MAX_CHECKSUM_BYTES,
               cancellable, checksum_fetched_cb, g_steal_pointer (&task));
}

static void
fetch_release (GTask *task, const gchar *which)
{
  BerthUpdaterPlugin *self = g_task_get_source_object (task);
  g_autofree gchar *url
      = g_strdup_printf ("%s/repos/%s/releases/%s", self->releases_url, RELEASES_REPOSITORY, which);

  fetch_async (self, url, NULL, "application/vnd.github+json", BERTH_UPDATER_MAX_RELEASE_BYTES,
               g_task_get_cancellable (task), release_fetched_cb, task);
}

static void
responder_answered_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  BerthUpdaterPlugin *self = BERTH_UPDATER_PLUGIN (source);
  Check *check = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = NULL;
  g_auto (BerthUpdaterVersion) latest = { 0 };
  g_autofree gchar *tag = NULL;

  body = fetch_finish (self, result, &error);
  if (body != NULL)
    {
      gsize length;
      const gchar *data = g_bytes_get_data (body, &length);

      check->answer = berth_updater_responder_parse (data, length, &error);
    }
  if (check->answer == NULL)
    {
      if (g_error_matches (error, BERTH_ERROR, BERTH_ERROR_CANCELLED))
        {
          check_fail (task, g_steal_pointer (&error));
          g_object_unref (task);
          return;
        }
      /* As a fallback, the releases themselves say which is the latest. */
      g_message ("The upgrade responder gave no usable answer (%s); reading the latest release "
                 "from %s instead",
                 error->message, self->releases_url);
      check->fallback_reason = g_strdup (error->message);
      fetch_release (task, "latest");
      return;
    }
  if (!berth_updater_version_parse (check->answer->latest, &latest, NULL))
    g_assert_not_reached ();
  /* Releases are tagged v<version>, as Rancher Desktop's are. */
  tag = berth_updater_version_to_string (&latest);
  {
    g_autofree gchar *which = g_strconcat ("tags/v", tag, NULL);

    fetch_release (task, which);
  }
}

static void
run_check (BerthUpdaterPlugin *self, GCancellable *cancellable, GAsyncReadyCallback callback,
           gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  g_autofree gchar *platform = berth_updater_platform (self->arch);
  g_autofree gchar *request = NULL;
  g_autofree gchar *detail = NULL;

  g_task_set_source_tag (task, run_check);
  g_task_set_check_cancellable (task, FALSE);
  g_task_set_task_data (task, g_new0 (Check, 1), (GDestroyNotify)check_free);
  request
      = berth_updater_responder_request (BERTH_VERSION_STRING, platform, LINUX_PLATFORM_VERSION);
  detail = g_strdup_printf ("Asking %s for the latest release", self->responder_url);
  emit_state (self, "checking", detail);
  fetch_async (self, self->responder_url, request, "application/json",
               BERTH_UPDATER_MAX_RESPONDER_BYTES, cancellable, responder_answered_cb, task);
}

static JsonNode *
run_check_finish (BerthUpdaterPlugin *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- download ------------------------------------------------------------ */

static void
on_download_progress (BerthDownloader *downloader, guint64 received, guint64 total,
                      BerthUpdaterPlugin *self)
{
  g_autofree gchar *detail = NULL;
  gint percent;

  if (total == 0)
    return;
  percent = (gint)(received * 100 / total);
  if (percent == self->last_percent)
    return;
  self->last_percent = percent;
  detail = g_strdup_printf ("Downloading Berth %s: %d%% of %.1f MiB", self->archive_version,
                            percent, (gdouble)total / (1024.0 * 1024.0));
  g_signal_emit_by_name (self, "update-state", "downloading", detail);
}

static void
downloaded_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthUpdaterPlugin *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *path = NULL;
  g_autofree gchar *detail = NULL;

  g_signal_handlers_disconnect_by_func (source, on_download_progress, self);
  path = berth_downloader_fetch_finish (BERTH_DOWNLOADER (source), result, &error);
  if (path == NULL)
    {
      check_fail (task, g_steal_pointer (&error));
      return;
    }
  g_free (self->downloaded);
  self->downloaded = g_strdup (path);
  detail = g_strdup_printf ("Berth %s is downloaded and its SHA-512 matches; apply it to install",
                            self->archive_version);
  emit_state (self, "downloaded", detail);
  g_task_return_pointer (task, g_steal_pointer (&path), g_free);
}

static void
start_download (GTask *task)
{
  BerthUpdaterPlugin *self = g_task_get_source_object (task);
  g_autofree gchar *digest = NULL;
  g_autofree gchar *detail = NULL;

  if (self->downloaded != NULL)
    {
      g_task_return_pointer (task, g_strdup (self->downloaded), g_free);
      g_object_unref (task);
      return;
    }
  if (self->archive_url == NULL)
    {
      g_autofree gchar *message = g_strdup_printf (
          "there is no newer release to download: Berth %s is the newest", BERTH_VERSION_STRING);

      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_NOT_FOUND, "%s", message);
      g_object_unref (task);
      return;
    }
  digest = g_strconcat ("sha512:", self->archive_sha512, NULL);
  detail
      = g_strdup_printf ("Downloading Berth %s from %s", self->archive_version, self->archive_url);
  emit_state (self, "downloading", detail);
  self->last_percent = -1;
  g_signal_connect (self->downloader, "progress", G_CALLBACK (on_download_progress), self);
  berth_downloader_fetch_async (self->downloader, self->archive_url, digest,
                                g_task_get_cancellable (task), downloaded_cb, task);
}

static void
download_checked_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) latest = NULL;

  latest = run_check_finish (BERTH_UPDATER_PLUGIN (source), result, &error);
  if (latest == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  start_download (task);
}

/* Checks first when no check has said what the newest release is. */
static void
run_download (BerthUpdaterPlugin *self, GCancellable *cancellable, GAsyncReadyCallback callback,
              gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, run_download);
  g_task_set_check_cancellable (task, FALSE);
  if (self->latest == NULL)
    run_check (self, cancellable, download_checked_cb, task);
  else
    start_download (task);
}

static gchar *
run_download_finish (BerthUpdaterPlugin *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- apply --------------------------------------------------------------- */

typedef struct
{
  gchar *root;
  gchar *version;
  gchar *archive;
} Install;

static void
install_free (Install *install)
{
  g_free (install->root);
  g_free (install->version);
  g_free (install->archive);
  g_free (install);
}

static void
install_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  Install *install = task_data;
  GError *error = NULL;

  if (!berth_updater_install_unpack (install->root, install->version, install->archive, cancellable,
                                     &error)
      || !berth_updater_install_switch (install->root, install->version, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
installed_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthUpdaterPlugin *self = BERTH_UPDATER_PLUGIN (source);
  Install *install = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  g_autofree gchar *detail = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      check_fail (task, g_steal_pointer (&error));
      return;
    }
  detail = g_strdup_printf ("Berth %s is installed in %s/versions/%s and %s/current leads to it; "
                            "berthd restarts to run it",
                            install->version, install->root, install->version, install->root);
  emit_state (self, "applied", detail);
  g_task_return_boolean (task, TRUE);
}

/* Where the release is installed: $BERTH_UPDATE_INSTALL_ROOT, else the
 * release the running program belongs to. */
static gchar *
find_install_root (GError **error)
{
  const gchar *env = g_getenv ("BERTH_UPDATE_INSTALL_ROOT");
  g_autoptr (GError) local_error = NULL;
  gchar *root;

  if (env != NULL && env[0] != '\0')
    return g_strdup (env);
  root = berth_updater_install_find_root ("/proc/self/exe", &local_error);
  if (root != NULL)
    return root;
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
               "this Berth cannot replace itself: %s. Only Berth's self-contained release, "
               "unpacked as <root>/versions/<version> and run through <root>/current, updates "
               "itself; install this release the way the running one was installed",
               local_error->message);
  return NULL;
}

static void
apply_downloaded_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  BerthUpdaterPlugin *self = BERTH_UPDATER_PLUGIN (source);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *archive = NULL;
  g_autoptr (GTask) thread_task = NULL;
  g_autofree gchar *detail = NULL;
  Install *install;

  archive = run_download_finish (self, result, &error);
  if (archive == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  install = g_new0 (Install, 1);
  install->root = find_install_root (&error);
  if (install->root == NULL)
    {
      install_free (install);
      check_fail (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  install->version = g_strdup (self->archive_version);
  install->archive = g_steal_pointer (&archive);
  detail = g_strdup_printf ("Installing Berth %s into %s", install->version, install->root);
  emit_state (self, "applying", detail);

  thread_task = g_task_new (self, g_task_get_cancellable (task), installed_cb, task);
  g_task_set_source_tag (thread_task, install_thread);
  g_task_set_task_data (thread_task, install, (GDestroyNotify)install_free);
  g_task_run_in_thread (thread_task, install_thread);
}

/* ---- the interface ------------------------------------------------------- */

/* Refuses a second operation while one runs; else marks @name as running
 * until @task completes. */
static gboolean
begin_operation (BerthUpdaterPlugin *self, GTask *task, const gchar *name)
{
  if (self->operation != NULL)
    {
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_BUSY,
                               "an update %s is under way; try again once it is done",
                               self->operation);
      g_object_unref (task);
      return FALSE;
    }
  self->operation = name;
  return TRUE;
}

static void
berth_updater_plugin_check_async (BerthUpdater *updater, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);

/* Hands on the result of the check (JSON) or the download (a path). */
static void
operation_done_pointer (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthUpdaterPlugin *self = BERTH_UPDATER_PLUGIN (source);
  GError *error = NULL;
  gpointer value = g_task_propagate_pointer (G_TASK (result), &error);

  self->operation = NULL;
  if (value == NULL)
    g_task_return_error (task, error);
  else if (g_task_get_source_tag (task) == berth_updater_plugin_check_async)
    g_task_return_pointer (task, value, (GDestroyNotify)json_node_unref);
  else
    g_task_return_pointer (task, value, g_free);
}

static void
operation_done_boolean (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthUpdaterPlugin *self = BERTH_UPDATER_PLUGIN (source);
  GError *error = NULL;

  self->operation = NULL;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
berth_updater_plugin_check_async (BerthUpdater *updater, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data)
{
  BerthUpdaterPlugin *self = BERTH_UPDATER_PLUGIN (updater);
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, berth_updater_plugin_check_async);
  if (begin_operation (self, task, "check"))
    run_check (self, cancellable, operation_done_pointer, task);
}

static void
berth_updater_plugin_download_async (BerthUpdater *updater, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data)
{
  BerthUpdaterPlugin *self = BERTH_UPDATER_PLUGIN (updater);
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, berth_updater_plugin_download_async);
  if (begin_operation (self, task, "download"))
    run_download (self, cancellable, operation_done_pointer, task);
}

static void
berth_updater_plugin_apply_async (BerthUpdater *updater, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data)
{
  BerthUpdaterPlugin *self = BERTH_UPDATER_PLUGIN (updater);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  GTask *inner;

  g_task_set_source_tag (task, berth_updater_plugin_apply_async);
  if (!begin_operation (self, task, "installation"))
    return;
  inner = g_task_new (self, cancellable, operation_done_boolean, task);
  g_task_set_check_cancellable (inner, FALSE);
  run_download (self, cancellable, apply_downloaded_cb, inner);
}

static void
berth_updater_plugin_updater_init (BerthUpdaterInterface *iface)
{
  /* Each completes a GTask of the plugin's: the core's _finish reads it. */
  iface->check_async = berth_updater_plugin_check_async;
  iface->download_async = berth_updater_plugin_download_async;
  iface->apply_async = berth_updater_plugin_apply_async;
}

/* ---- the plugin ---------------------------------------------------------- */

/* An https:// URL from the environment, without trailing slashes. */
static gchar *
url_from_environment (const gchar *variable, const gchar *fallback, GError **error)
{
  const gchar *value = g_getenv (variable);
  g_autoptr (GUri) uri = NULL;
  gsize length;

  if (value == NULL || value[0] == '\0')
    return g_strdup (fallback);
  uri = g_uri_parse (value, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") != 0
      || g_uri_get_host (uri) == NULL || g_uri_get_host (uri)[0] == '\0')
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "$%s is \"%s\"; it must be an https:// URL (default %s)", variable, value,
                   fallback);
      return NULL;
    }
  length = strlen (value);
  while (length > 0 && value[length - 1] == '/')
    length--;
  return g_strndup (value, length);
}

static gboolean
berth_updater_plugin_setup (BerthPlugin *plugin, GCancellable *cancellable, GError **error)
{
  BerthUpdaterPlugin *self = BERTH_UPDATER_PLUGIN (plugin);
  const gchar *ca_file = g_getenv ("BERTH_UPDATE_CA_FILE");
  const gchar *timeout = g_getenv ("BERTH_UPDATE_TIMEOUT");
  g_autofree gchar *cache = NULL;
  GTlsDatabase *database;
  struct utsname name;

  self->responder_url
      = url_from_environment ("BERTH_UPDATE_RESPONDER_URL", DEFAULT_RESPONDER_URL, error);
  if (self->responder_url == NULL)
    return FALSE;
  self->releases_url
      = url_from_environment ("BERTH_UPDATE_RELEASES_URL", DEFAULT_RELEASES_URL, error);
  if (self->releases_url == NULL)
    return FALSE;

  self->timeout_seconds = DEFAULT_TIMEOUT_SECONDS;
  if (timeout != NULL && timeout[0] != '\0')
    {
      guint64 seconds;

      if (!g_ascii_string_to_unsigned (timeout, 10, 1, MAX_TIMEOUT_SECONDS, &seconds, NULL))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "$BERTH_UPDATE_TIMEOUT is \"%s\"; it must be a number of seconds from 1 "
                       "to %d",
                       timeout, MAX_TIMEOUT_SECONDS);
          return FALSE;
        }
      self->timeout_seconds = (guint)seconds;
    }

  self->arch = g_strdup (uname (&name) == 0 ? name.machine : "x86_64");

  cache = berth_paths_get_download_cache (berth_plugin_get_paths (plugin));
  self->downloader = berth_downloader_new (cache);
  if (ca_file != NULL && ca_file[0] != '\0'
      && !berth_downloader_set_tls_ca_file (self->downloader, ca_file, error))
    {
      g_prefix_error (error, "$BERTH_UPDATE_CA_FILE: ");
      return FALSE;
    }
  self->session = soup_session_new_with_options ("user-agent", "berth/" BERTH_VERSION_STRING,
                                                 "timeout", self->timeout_seconds, NULL);
  database = berth_downloader_get_tls_database (self->downloader);
  if (database != NULL)
    soup_session_set_tls_database (self->session, database);
  g_debug ("Updates: responder %s, releases %s/repos/%s, architecture %s", self->responder_url,
           self->releases_url, RELEASES_REPOSITORY, self->arch);
  return TRUE;
}

static void
berth_updater_plugin_finalize (GObject *object)
{
  BerthUpdaterPlugin *self = BERTH_UPDATER_PLUGIN (object);

  g_clear_object (&self->session);
  g_clear_object (&self->downloader);
  g_clear_pointer (&self->latest, json_node_unref);
  g_free (self->responder_url);
  g_free (self->releases_url);
  g_free (self->arch);
  g_free (self->archive_url);
  g_free (self->archive_sha512);
  g_free (self->archive_version);
  g_free (self->downloaded);
  G_OBJECT_CLASS (berth_updater_plugin_parent_class)->finalize (object);
}

static void
berth_updater_plugin_class_init (BerthUpdaterPluginClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  BerthPluginClass *plugin_class = BERTH_PLUGIN_CLASS (klass);

  object_class->finalize = berth_updater_plugin_finalize;
  plugin_class->setup = berth_updater_plugin_setup;
}

static void
berth_updater_plugin_init (BerthUpdaterPlugin *self)
{
}
