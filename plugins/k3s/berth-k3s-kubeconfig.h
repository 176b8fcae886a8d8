/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The user's kubeconfig and Berth's entries in it. Berth's cluster, user and
 * context are all named "berth"; the server is https://127.0.0.1:<port>.
 *
 * Which file: the first file of @kubeconfig_env ($KUBECONFIG, a colon list)
 * that already holds a "berth" cluster, context or user; else
 * <home>/.kube/config, as Rancher Desktop does. Every other cluster, user,
 * context, extension and the current context are kept; the file is written
 * atomically with mode 0600, and a symlinked kubeconfig stays a symlink. */

/* Where Berth's entries go (or are), as above. */
gchar *berth_k3s_kubeconfig_choose_file (const gchar *kubeconfig_env, const gchar *home);

/* Merges the cluster and user of @k3s_yaml (the text of the guest's
 * /etc/rancher/k3s/k3s.yaml) into the chosen file as "berth", pointing at
 * 127.0.0.1:@port. current-context becomes "berth" only when no file that
 * kubectl reads (@kubeconfig_env's, else the chosen one) names one. Returns
 * the path written. */
gchar *berth_k3s_kubeconfig_merge (const gchar *k3s_yaml, guint port, const gchar *kubeconfig_env,
                                   const gchar *home, GError **error);

/* Removes only what Berth added: the "berth" cluster, user and context, and
 * current-context when it is "berth". A file left with nothing but an empty
 * skeleton (apiVersion, kind, empty lists and preferences) is removed, as it
 * was when Berth created it. A missing file or entry is not an error. */
gboolean berth_k3s_kubeconfig_remove (const gchar *kubeconfig_env, const gchar *home,
                                      GError **error);

/* The server's CA and the client's certificate and key (PEM text) of the
 * "berth" user and cluster in a k3s.yaml, for the readiness check and the
 * services watch. */
typedef struct
{
  gchar *server;      /* as written in the file */
  gchar *ca_pem;      /* certificate-authority-data, decoded */
  gchar *client_cert; /* client-certificate-data, decoded */
  gchar *client_key;  /* client-key-data, decoded */
} BerthK3sCredentials;

void berth_k3s_credentials_free (BerthK3sCredentials *credentials);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthK3sCredentials, berth_k3s_credentials_free)

BerthK3sCredentials *berth_k3s_credentials_from_k3s_yaml (const gchar *k3s_yaml, GError **error);

G_END_DECLS
