/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "berth-k3s-kubeconfig.h"

G_BEGIN_DECLS

/* Waits for the Kubernetes API server on 127.0.0.1:@port as Rancher Desktop's
 * waitForServerReady does: a TLS handshake (GnuTLS) whose certificate is
 * signed by @credentials' CA, names 127.0.0.1 and is valid now — a refused or
 * reset connection is retried until @timeout_seconds — then GET /readyz with
 * the client certificate, until it answers 200. The error says what last
 * failed (refused, certificate not yet valid, wrong name, /readyz status). */
void berth_k3s_wait_ready_async (guint port, BerthK3sCredentials *credentials,
                                 guint timeout_seconds, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
gboolean berth_k3s_wait_ready_finish (GAsyncResult *result, GError **error);

G_END_DECLS
