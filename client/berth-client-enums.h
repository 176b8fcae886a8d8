/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * BerthClientState:
 * @BERTH_CLIENT_STATE_STOPPED: the VM is not running
 * @BERTH_CLIENT_STATE_STARTING: the VM and its engine are starting
 * @BERTH_CLIENT_STATE_STARTED: the VM runs and its engine answers
 * @BERTH_CLIENT_STATE_STOPPING: the VM is stopping
 * @BERTH_CLIENT_STATE_ERROR: the VM failed; the reason says why
 *
 * Berth's state as berthd reports it: STOPPED → STARTING → STARTED →
 * STOPPING → STOPPED, and ERROR from any of them.
 */
typedef enum
{
  BERTH_CLIENT_STATE_STOPPED,
  BERTH_CLIENT_STATE_STARTING,
  BERTH_CLIENT_STATE_STARTED,
  BERTH_CLIENT_STATE_STOPPING,
  BERTH_CLIENT_STATE_ERROR,
} BerthClientState;

/**
 * BerthClientError:
 * @BERTH_CLIENT_ERROR_FAILED: anything the other codes do not name
 * @BERTH_CLIENT_ERROR_NOT_RUNNING: no berthd answers (and none was to be
 *   launched, or the launch failed)
 * @BERTH_CLIENT_ERROR_AUTH: berthd refused the credentials
 * @BERTH_CLIENT_ERROR_REFUSED: berthd refused the request (HTTP 4xx other
 *   than those below); the message is berthd's
 * @BERTH_CLIENT_ERROR_NOT_FOUND: what was asked for does not exist (HTTP
 *   404); the message is berthd's
 * @BERTH_CLIENT_ERROR_BUSY: berthd cannot do it in its current state (HTTP
 *   409); the message is berthd's
 * @BERTH_CLIENT_ERROR_NOT_SUPPORTED: berthd or its plugins do not support
 *   it (HTTP 405 or 501); the message is berthd's
 * @BERTH_CLIENT_ERROR_SERVER: berthd failed to do it (HTTP 5xx); the message
 *   is berthd's
 * @BERTH_CLIENT_ERROR_PROTOCOL: berthd's answer or event is not what its API
 *   sends
 *
 * The codes of #BERTH_CLIENT_ERROR. Cancelled calls fail with
 * %G_IO_ERROR_CANCELLED.
 */
typedef enum
{
  BERTH_CLIENT_ERROR_FAILED,
  BERTH_CLIENT_ERROR_NOT_RUNNING,
  BERTH_CLIENT_ERROR_AUTH,
  BERTH_CLIENT_ERROR_REFUSED,
  BERTH_CLIENT_ERROR_NOT_FOUND,
  BERTH_CLIENT_ERROR_BUSY,
  BERTH_CLIENT_ERROR_NOT_SUPPORTED,
  BERTH_CLIENT_ERROR_SERVER,
  BERTH_CLIENT_ERROR_PROTOCOL,
} BerthClientError;

/**
 * BerthClientConnectFlags:
 * @BERTH_CLIENT_CONNECT_FLAGS_NONE: connect to a running berthd and follow
 *   its events
 * @BERTH_CLIENT_CONNECT_FLAGS_LAUNCH: launch berthd when none answers, now
 *   and for any later call that finds it gone
 * @BERTH_CLIENT_CONNECT_FLAGS_NO_EVENTS: do not open the event stream: no
 *   signals, for a client that only makes calls (an open stream also makes
 *   berthd watch the engine's images)
 *
 * How berth_client_connect_async() connects.
 */
typedef enum /*< flags >*/
{
  BERTH_CLIENT_CONNECT_FLAGS_NONE = 0,
  BERTH_CLIENT_CONNECT_FLAGS_LAUNCH = 1 << 0,
  BERTH_CLIENT_CONNECT_FLAGS_NO_EVENTS = 1 << 1,
} BerthClientConnectFlags;

/**
 * BERTH_CLIENT_ERROR:
 *
 * The error domain of libberth-client.
 */
#define BERTH_CLIENT_ERROR (berth_client_error_quark ())
GQuark
berth_client_error_quark (void);

const gchar *
berth_client_state_to_string (BerthClientState state);
gboolean
berth_client_state_from_string (const gchar *text, BerthClientState *state);

G_END_DECLS
