/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libsoup/soup.h>

#include "berth-client-event.h"
#include "berth-client.h"

G_BEGIN_DECLS

/* What BerthClient's files share: the instance, and each file's entry
 * points for the others. berth-client.c holds the object (properties,
 * signals, connect); berth-client-credentials.c finds and launches berthd;
 * berth-client-request.c sends requests and reads answers;
 * berth-client-calls.c has the API's calls; berth-client-events.c follows
 * the event stream. berth-client-engine.c has the calls for the engine,
 * Kubernetes and updates. */

/* How long an ordinary call may wait for berthd; image pulls and builds, and
 * update applies, have no bound but the caller's GCancellable. */
#define BERTH_CLIENT_CALL_TIMEOUT_SECONDS 60
/* How long a launched berthd has to answer. */
#define BERTH_CLIENT_LAUNCH_TIMEOUT_SECONDS 30

typedef enum
{
  BERTH_CLIENT_SIGNAL_STATE_CHANGED,
  BERTH_CLIENT_SIGNAL_PROGRESS,
  BERTH_CLIENT_SIGNAL_SETTINGS_CHANGED,
  BERTH_CLIENT_SIGNAL_IMAGES_CHANGED,
  BERTH_CLIENT_SIGNAL_PORT_FORWARDS_CHANGED,
  BERTH_CLIENT_SIGNAL_SERVICES_CHANGED,
  BERTH_CLIENT_SIGNAL_VERSIONS_CHANGED,
  BERTH_CLIENT_SIGNAL_KUBERNETES_STATE_CHANGED,
  BERTH_CLIENT_SIGNAL_UPDATE_STATE,
  BERTH_CLIENT_SIGNAL_DIAGNOSTICS_CHANGED,
  BERTH_CLIENT_SIGNAL_PLUGIN_EVENT,
  BERTH_CLIENT_SIGNAL_CONNECTION_CHANGED,
  BERTH_CLIENT_N_SIGNALS
} BerthClientSignal;

G_GNUC_INTERNAL extern guint berth_client_signals[BERTH_CLIENT_N_SIGNALS];

/* The kinds of list an event can carry without the list. */
typedef enum
{
  BERTH_CLIENT_LIST_IMAGES,
  BERTH_CLIENT_LIST_PORT_FORWARDS,
  BERTH_CLIENT_LIST_SERVICES,
  BERTH_CLIENT_LIST_VERSIONS,
  BERTH_CLIENT_LIST_DIAGNOSTICS,
  BERTH_CLIENT_N_LISTS
} BerthClientList;

struct _BerthClient
{
  GObject parent_instance;

  /* The thread-default main context it was made in: its timeouts run
   * there, as GTask's callbacks do. */
  GMainContext *context;

  /* What the caller set; NULL or 0 when the credentials file says. */
  gchar *host;
  guint port_override;
  gchar *user_override;
  gchar *password_override;
  gchar *credentials_path;
  gchar *berthd_path;
  BerthClientConnectFlags flags;

  /* What requests use now. */
  gboolean have_credentials;
  guint port;
  gchar *user;
  gchar *password;
  gint64 daemon_pid;
  gchar *base_uri;      /* http://HOST:PORT */
  gchar *authorization; /* "Basic …" */
  gchar *daemon_version;
  SoupSession *session;      /* ordinary calls, with a timeout */
  SoupSession *long_session; /* calls that wait for the engine */

  /* Launching berthd: the requests waiting for the launch under way. */
  GPtrArray *launch_waiters; /* GTask */

  /* The event stream. */
  gboolean want_events;
  SoupWebsocketConnection *events;
  GCancellable *events_cancellable;
  gboolean events_opening;
  guint events_generation; /* counts the attempts to open it */
  GSource *reconnect_source;
  guint reconnect_delay_ms;
  GPtrArray *ready_waiters; /* GTask: connects waiting for the first state */
  gboolean connected;

  /* What the event stream said last. */
  BerthClientState state;
  gchar *state_reason;
  gint64 state_serial;

  /* Lists fetched for events that came without theirs. */
  gboolean list_fetching[BERTH_CLIENT_N_LISTS];
  gboolean list_stale[BERTH_CLIENT_N_LISTS];
};

/* berth-client.c */
/* g_timeout_add() on the client's main context; the source is the
 * caller's, for berth_client_clear_source(). */
G_GNUC_INTERNAL
GSource *
berth_client_timeout_add (BerthClient *self, guint ms, GSourceFunc func, gpointer data);
/* Destroys and drops *@source, when there is one. */
G_GNUC_INTERNAL
void
berth_client_clear_source (GSource **source);
G_GNUC_INTERNAL
void
berth_client_set_connected (BerthClient *self, gboolean connected);
G_GNUC_INTERNAL
void
berth_client_take_state (BerthClient *self, BerthClientState state, const gchar *reason,
                         gint64 serial, gboolean restarting);

/* berth-client-credentials.c */
typedef struct
{
  gchar *user;
  gchar *password;
  guint port;
  gint64 pid;
} BerthClientCredentials;

G_GNUC_INTERNAL
void
berth_client_credentials_free (BerthClientCredentials *credentials);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthClientCredentials, berth_client_credentials_free)
/* Reads berthd's credentials file, {"user", "password", "port", "pid"}, of
 * @length bytes at @data; @path names it in messages. */
G_GNUC_INTERNAL
BerthClientCredentials *
berth_client_credentials_parse (const gchar *data, gsize length, const gchar *path, GError **error);
/* Whether any of host, port, user and password comes from the file, so that
 * reading it again may change them. */
G_GNUC_INTERNAL
gboolean
berth_client_uses_credentials_file (BerthClient *self);
/* (Re)reads the credentials file, and takes what the overrides leave to it.
 * NOT_RUNNING when the file is missing. */
G_GNUC_INTERNAL
void
berth_client_load_credentials_async (BerthClient *self, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data);
G_GNUC_INTERNAL
gboolean
berth_client_load_credentials_finish (BerthClient *self, GAsyncResult *result, GError **error);
/* Launches berthd and waits until it answers with the credentials it
 * wrote; launches asked for meanwhile wait for the same one. */
G_GNUC_INTERNAL
void
berth_client_launch_async (BerthClient *self, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);
G_GNUC_INTERNAL
gboolean
berth_client_launch_finish (BerthClient *self, GAsyncResult *result, GError **error);
/* Whether berthd may be launched for a call: asked for, and on this machine. */
G_GNUC_INTERNAL
gboolean
berth_client_may_launch (BerthClient *self);

/* berth-client-request.c */
typedef enum
{
  BERTH_CLIENT_REQUEST_NONE = 0,
  /* Waits for the engine: no timeout but the caller's cancellable. */
  BERTH_CLIENT_REQUEST_LONG = 1 << 0,
  /* Never launches berthd, whatever the connect flags say. */
  BERTH_CLIENT_REQUEST_NO_LAUNCH = 1 << 1,
} BerthClientRequestFlags;

/* A request with the credentials; @body NULL for none. Its result is the
 * answer: its JSON, a string node for a text answer, a null node for an
 * empty one. A connection refused, or credentials refused, makes it read
 * the credentials file again (berthd may have restarted on another port
 * with another password) and try once more, then launch berthd when that
 * was asked. */
G_GNUC_INTERNAL
void
berth_client_request_async (BerthClient *self, const gchar *method, const gchar *path,
                            JsonNode *body, BerthClientRequestFlags flags,
                            GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data);
G_GNUC_INTERNAL
JsonNode *
berth_client_request_finish (BerthClient *self, GAsyncResult *result, GError **error);
/* A message for @path with the credentials, or NULL when @path makes no
 * URI. */
G_GNUC_INTERNAL
SoupMessage *
berth_client_new_message (BerthClient *self, const gchar *method, const gchar *path);
/* Sets the URI and authorization for what the credentials now say. */
G_GNUC_INTERNAL
void
berth_client_update_endpoint (BerthClient *self);
/* Whether @error says that nothing listens where the client looked. */
G_GNUC_INTERNAL
gboolean
berth_client_error_is_unreachable (const GError *error);

/* The calls' common part: a request for @path whose answer is the
 * result of a GTask of @source_tag; the _finish functions check the tag. */
G_GNUC_INTERNAL
void
berth_client_route (BerthClient *self, const gchar *method, const gchar *path, JsonNode *body,
                    BerthClientRequestFlags flags, gpointer source_tag, GCancellable *cancellable,
                    GAsyncReadyCallback callback, gpointer user_data);
G_GNUC_INTERNAL
JsonNode *
berth_client_route_finish (BerthClient *self, GAsyncResult *result, gpointer source_tag,
                           GError **error);
G_GNUC_INTERNAL
gboolean
berth_client_route_finish_boolean (BerthClient *self, GAsyncResult *result, gpointer source_tag,
                                   GError **error);
/* Sets a PROTOCOL error: the answer to @path is not @expected. */
G_GNUC_INTERNAL
gboolean
berth_client_protocol_error (GError **error, const gchar *path, const gchar *expected);
/* @answer, an array of strings, as a GStrv; NULL with an error otherwise. */
G_GNUC_INTERNAL
GStrv
berth_client_strv_from_answer (JsonNode *answer, const gchar *path, GError **error);
/* @answer (taken) when it is an object, else NULL with an error. */
G_GNUC_INTERNAL
JsonNode *
berth_client_object_answer (JsonNode *answer, const gchar *path, GError **error);
/* A JSON object of @first_member and its string value and the pairs after
 * it, ended by NULL; a NULL value leaves its member out. */
G_GNUC_INTERNAL
JsonNode *
berth_client_string_body (const gchar *first_member, ...) G_GNUC_NULL_TERMINATED;
/* @path with a query of the name and value pairs after it, ended by NULL,
 * each escaped; a NULL value leaves its name out. */
G_GNUC_INTERNAL
gchar *
berth_client_path_with_query (const gchar *path, const gchar *first_name,
                              ...) G_GNUC_NULL_TERMINATED;

/* berth-client-events.c */
/* Opens the event stream and keeps it open, reconnecting, until
 * berth_client_events_stop(); @task, when given, completes (TRUE) once the
 * first state has come, or with the error when the first attempt fails. */
G_GNUC_INTERNAL
void
berth_client_events_start (BerthClient *self, GTask *task);
G_GNUC_INTERNAL
void
berth_client_events_stop (BerthClient *self);
/* Tries to reconnect now rather than after the back-off: a call just found
 * berthd. */
G_GNUC_INTERNAL
void
berth_client_events_kick (BerthClient *self);

G_END_DECLS
