/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-client-enums.h"

G_DEFINE_QUARK (berth - client - error - quark, berth_client_error)

/* As berthd writes them. */
static const gchar *const state_names[] = {
  [BERTH_CLIENT_STATE_STOPPED] = "STOPPED", [BERTH_CLIENT_STATE_STARTING] = "STARTING",
  [BERTH_CLIENT_STATE_STARTED] = "STARTED", [BERTH_CLIENT_STATE_STOPPING] = "STOPPING",
  [BERTH_CLIENT_STATE_ERROR] = "ERROR",
};

/**
 * berth_client_state_to_string:
 * @state: a state
 *
 * Returns: @state as berthd's API writes it ("STARTED").
 */
const gchar *
berth_client_state_to_string (BerthClientState state)
{
  if ((guint)state >= G_N_ELEMENTS (state_names))
    return "UNKNOWN";
  return state_names[state];
}

/**
 * berth_client_state_from_string:
 * @text: a state as berthd's API writes it ("STARTED")
 * @state: (out): where to put the state
 *
 * Returns: whether @text is a state
 */
gboolean
berth_client_state_from_string (const gchar *text, BerthClientState *state)
{
  g_return_val_if_fail (state != NULL, FALSE);

  for (guint i = 0; text != NULL && i < G_N_ELEMENTS (state_names); i++)
    if (g_str_equal (text, state_names[i]))
      {
        *state = (BerthClientState)i;
        return TRUE;
      }
  return FALSE;
}
