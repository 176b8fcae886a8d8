/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "berthctl-remote.h"

G_BEGIN_DECLS

/* Follows berthd's event stream until the request that berthd answered
 * with @answer ends: in @target ("STARTED", "STOPPED"), in ERROR, or, for
 * a start, STOPPED by a stop asked meanwhile; or until @timeout_seconds
 * pass. Only a state from @answer's "stateSerial" on counts: the ERROR a
 * crash left before a start is not that start's outcome. Shows progress: a
 * bar on a terminal, one line per new step otherwise. @action is what
 * runs, for the messages ("start", "restart", "stop"). Returns TRUE when
 * @target was reached. */
gboolean
berthctl_wait_for_state (BerthctlRemote *remote, const gchar *target, const gchar *action,
                         JsonNode *answer, guint timeout_seconds, GError **error);

/* Opens the event stream now, so that no event sent after this call is missed
 * by a later berthctl_wait_for_state on the same remote. Call it before the
 * request whose outcome is waited for. */
gboolean berthctl_wait_prepare (BerthctlRemote *remote, GError **error);

G_END_DECLS
