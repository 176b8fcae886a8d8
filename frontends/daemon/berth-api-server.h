/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>

#include "berth-manager.h"

G_BEGIN_DECLS

/* The HTTP API berthd serves on 127.0.0.1, after Rancher Desktop's v1 API.
 * It authenticates every request (HTTP Basic, the credentials file's user and
 * password), answers only requests for Host 127.0.0.1, localhost or [::1]
 * and, of those a browser sends, only those from allowed origins, caps
 * request bodies at BERTH_API_MAX_BODY bytes, turns requests into
 * BerthManager calls, and turns the manager's signals into JSON messages on
 * the /v1/events WebSocket. It keeps no state beyond its connections. */
#define BERTH_API_MAX_BODY (1024 * 1024)
#define BERTH_API_DEFAULT_PORT 6107

#define BERTH_TYPE_API_SERVER (berth_api_server_get_type ())
G_DECLARE_FINAL_TYPE (BerthApiServer, berth_api_server, BERTH, API_SERVER, GObject)

BerthApiServer *
berth_api_server_new (BerthManager *manager, const gchar *user, const gchar *password);
/* Listens on 127.0.0.1:@port, and never on another address. @port 0 takes a
 * free port; when @port is taken, a free port is taken instead (and said in
 * the log). */
gboolean
berth_api_server_listen (BerthApiServer *self, guint port, GError **error);
/* The origins (scheme://host[:port], as a browser sends them in Origin)
 * whose pages may use the API; a request with another Origin is refused.
 * None by default; requests with no Origin (clients that are not browsers)
 * are not affected. */
void
berth_api_server_set_allowed_origins (BerthApiServer *self, const gchar *const *origins);
/* The port listened on; 0 before listen(). */
guint
berth_api_server_get_port (BerthApiServer *self);
/* Closes the event streams (going away) and stops listening. */
void
berth_api_server_close (BerthApiServer *self);

/* Signal "shutdown-requested" (no arguments): PUT /v1/shutdown was answered;
 * emitted once the answer has been sent.
 * Signal "restart-requested" (no arguments): PUT /v1/update/apply installed
 * a new release and was answered: berthd should restart to run it. */

G_END_DECLS
