#pragma once

#include "berthctl-remote.h"

G_BEGIN_DECLS

/* Follows berthd's event stream until the state is @target ("STARTED",
 * "STOPPED"), ERROR, or @timeout_seconds pass. Shows progress: a bar on a
 * terminal, one line per new step otherwise. @action is what runs, for the
 * messages ("start", "stop"). Returns TRUE when @target was reached. */
gboolean berthctl_wait_for_state (BerthctlRemote *remote, const gchar *target,
                                  const gchar *action, guint timeout_seconds, GError **error);

/* Opens the event stream now, so that no event sent after this call is missed
 * by a later berthctl_wait_for_state on the same remote. */
gboolean berthctl_wait_prepare (BerthctlRemote *remote, GError **error);

G_END_DECLS
