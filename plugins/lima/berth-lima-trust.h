/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "berth-lima-config.h"

G_BEGIN_DECLS

/* What the guest trusts and which proxy it uses, made at each start for
 * cidata.iso (ca-certificates.pem and proxy.env; data/guest/README.md):
 *
 * - config->ca_certificates: this host's CA certificates
 *   (berth_ca_bundle_load_host()) and those of config->ca_certificates_file,
 *   each once, as PEM; NULL when there are none.
 * - config->proxy_env: when config->proxy_from_host, the proxy variables of
 *   @envp (this host's environment) as berth_proxy_env_for_guest() makes
 *   them for QEMU's user network: a proxy on this host's loopback is reached
 *   at the gateway (BERTH_LIMA_SLIRP_GATEWAY), and NO_PROXY also lists the
 *   guest's address and host name and the names of this host inside the
 *   guest. The same variables go into config->env (/etc/environment and SSH
 *   sessions in the guest). An empty list when there is no proxy.
 *
 * A file that cannot be read or holds no certificate fails, with a message
 * naming virtualMachine.caCertificates.file; @n_certificates_out (may be
 * NULL) receives how many certificates there are. */
gboolean
berth_lima_trust_prepare (BerthLimaConfig *config, const gchar *const *envp,
                          guint *n_certificates_out, GError **error);

G_END_DECLS
