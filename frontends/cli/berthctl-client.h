#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* How berthctl reaches the core. Commands speak the API's paths and JSON
 * shapes only, so they do not care whether the core runs in this process or
 * in berthd. */
typedef struct _BerthctlClient BerthctlClient;

/* The core, in this process. */
BerthctlClient *berthctl_client_new_local (GError **error);
void berthctl_client_free (BerthctlClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthctlClient, berthctl_client_free)

/* @body may be NULL. Returns the answer's JSON (a null node when the answer
 * has no body). An API error becomes a BERTH_ERROR with its message. */
JsonNode *berthctl_client_call (BerthctlClient *client, const gchar *method, const gchar *path,
                                JsonNode *body, GError **error);

G_END_DECLS
