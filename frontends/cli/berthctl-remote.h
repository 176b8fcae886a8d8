/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/* Where berthd answers: rdctl's --host/--port/--user/--password/--config-path;
 * what is unset comes from berth-engine.json. */
typedef struct
{
  gchar *host;
  gint port;
  gchar *user;
  gchar *password;
  gchar *config_path;
} BerthctlConnection;

/* rdctl's connection flags, as every berthctl command that talks to berthd
 * takes them, filling @conn (which must outlive the group's parsing). */
GOptionGroup *
berthctl_connection_option_group (BerthctlConnection *conn);
gchar *berthctl_connection_get_config_path (const BerthctlConnection *conn);
void berthctl_connection_clear (BerthctlConnection *conn);

/* berthd's HTTP API, with Basic auth. */
typedef struct _BerthctlRemote BerthctlRemote;

BerthctlRemote *berthctl_remote_new (const BerthctlConnection *conn, GError **error);
void berthctl_remote_free (BerthctlRemote *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthctlRemote, berthctl_remote_free)

/* Returns the answer's JSON (a null node for an empty body; a string node for
 * a body that is not JSON). An API error becomes a BERTH_ERROR carrying the
 * API's message and code. */
JsonNode *berthctl_remote_call (BerthctlRemote *self, const gchar *method, const gchar *path,
                                JsonNode *body, GError **error);
JsonNode *berthctl_remote_call_raw (BerthctlRemote *self, const gchar *method, const gchar *path,
                                    GBytes *body, guint *status_out, GError **error);
SoupMessage *berthctl_remote_new_message (BerthctlRemote *self, const gchar *method,
                                          const gchar *path);
SoupSession *berthctl_remote_get_session (BerthctlRemote *self);

G_END_DECLS
