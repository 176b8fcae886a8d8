/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* CA certificates for the guest's trust store: this host's and those of a
 * PEM file the user names (virtualMachine.caCertificates.file), each kept
 * once, as a backend puts them into the VM at each start. */

/* A bundle file larger than this is refused: a system store is ~250 KiB. */
#define BERTH_CA_BUNDLE_MAX_BYTES (8 * 1024 * 1024)
/* More certificates than this in one bundle are refused. */
#define BERTH_CA_BUNDLE_MAX_CERTIFICATES 5000

/* The certificates of the PEM text @data (@length bytes, not necessarily
 * NUL-terminated), each as its DER bytes, in their order; element type
 * GBytes. Text outside the blocks is ignored, as OpenSSL does (the output
 * of `openssl x509 -text` reads). @what names the input in messages. Fails
 * with BERTH_ERROR_INVALID_DATA, naming @what and the line, for a block
 * other than CERTIFICATE, a BEGIN line without its END line, a body that is
 * not base64, DER that is not an X.509 certificate, more than
 * BERTH_CA_BUNDLE_MAX_CERTIFICATES, or no certificate at all. */
GPtrArray *
berth_ca_bundle_parse (const gchar *data, gsize length, const gchar *what, GError **error);

/* The certificates of the PEM file @path (a regular file of at most
 * BERTH_CA_BUNDLE_MAX_BYTES), as berth_ca_bundle_parse() reads them. */
GPtrArray *
berth_ca_bundle_load_file (const gchar *path, GError **error);

/* The CA certificates this host trusts: the file $SSL_CERT_FILE names when
 * it is set (as OpenSSL and Go programs read it), else the system store
 * GnuTLS reads (on Debian /etc/ssl/certs/ca-certificates.crt). Empty, not
 * an error, when the host has no system store. */
GPtrArray *
berth_ca_bundle_load_host (GError **error);

/* Appends to @into each certificate of @more that it does not hold yet
 * (the same DER bytes). Returns how many were added. */
guint
berth_ca_bundle_merge (GPtrArray *into, GPtrArray *more);

/* @certificates (GBytes, DER) as PEM: one CERTIFICATE block after the
 * other, 64 base64 characters a line, each line ending in '\n'. */
gchar *
berth_ca_bundle_to_pem (GPtrArray *certificates);

G_END_DECLS
