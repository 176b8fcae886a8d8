/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Certificates made for a test: CAs, and TLS server certificates they
 * sign, with GnuTLS (ECDSA P-256, valid from an hour ago for a day). */

#include <glib.h>

G_BEGIN_DECLS

typedef struct _BerthTestIdentity BerthTestIdentity;

/* A new key and certificate with common name @cn: a CA when @dns is NULL,
 * else a TLS server certificate for the DNS name @dns. Signed by @issuer,
 * or by itself when @issuer is NULL. */
BerthTestIdentity *
berth_test_identity_new (const gchar *cn, const gchar *dns, BerthTestIdentity *issuer);
void
berth_test_identity_free (BerthTestIdentity *identity);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthTestIdentity, berth_test_identity_free)

/* The certificate as PEM, and as DER. */
gchar *
berth_test_identity_cert_pem (BerthTestIdentity *identity);
GBytes *
berth_test_identity_cert_der (BerthTestIdentity *identity);
/* The private key as PEM (PKCS#8, unencrypted). */
gchar *
berth_test_identity_key_pem (BerthTestIdentity *identity);

G_END_DECLS
