/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Berth — the host's CA certificates and proxy environment for the guest. */
#include "config.h"

#include <string.h>

#include <berth.h>

#include "berth-lima-cidata.h"
#include "berth-lima-trust.h"

/* Inside the guest these name this host (the guest's /etc/hosts). */
#define GUEST_HOST_NAMES "host.berth.internal,host.docker.internal,host.lima.internal"

static gboolean
prepare_ca_certificates (BerthLimaConfig *config, guint *n_out, GError **error)
{
  g_autoptr (GPtrArray) certificates = berth_ca_bundle_load_host (error);

  if (certificates == NULL)
    return FALSE;
  if (config->ca_certificates_file != NULL && config->ca_certificates_file[0] != '\0')
    {
      g_autoptr (GPtrArray) from_file = NULL;
      g_autoptr (GError) local_error = NULL;
      guint added;

      from_file = berth_ca_bundle_load_file (config->ca_certificates_file, &local_error);
      if (from_file == NULL)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                       "virtualMachine.caCertificates.file: %s; name a PEM file of CA "
                       "certificates, or set it to \"\" for none",
                       local_error->message);
          return FALSE;
        }
      added = berth_ca_bundle_merge (certificates, from_file);
      g_message ("%u CA certificates from %s (%u of them new to this host's)", from_file->len,
                 config->ca_certificates_file, added);
    }
  *n_out = certificates->len;
  g_clear_pointer (&config->ca_certificates, g_free);
  if (certificates->len > 0)
    config->ca_certificates = berth_ca_bundle_to_pem (certificates);
  return TRUE;
}

static gboolean
prepare_proxy_env (BerthLimaConfig *config, const gchar *const *envp, GError **error)
{
  g_autofree gchar *hostname = berth_lima_hostname (config->name);
  const gchar *const extra[]
      = { BERTH_LIMA_SLIRP_IP_ADDRESS, hostname, BERTH_LIMA_SLIRP_GATEWAY, GUEST_HOST_NAMES, NULL };
  g_auto (GStrv) env = NULL;

  g_clear_pointer (&config->proxy_env, g_strfreev);
  if (!config->proxy_from_host)
    {
      config->proxy_env = g_new0 (gchar *, 1);
      return TRUE;
    }
  env = berth_proxy_env_for_guest (envp, BERTH_LIMA_SLIRP_GATEWAY, extra, error);
  if (env == NULL)
    return FALSE;
  for (guint i = 0; env[i] != NULL; i++)
    {
      const gchar *equals = strchr (env[i], '=');

      g_hash_table_replace (config->env, g_strndup (env[i], equals - env[i]),
                            g_strdup (equals + 1));
    }
  config->proxy_env = g_steal_pointer (&env);
  return TRUE;
}

gboolean
berth_lima_trust_prepare (BerthLimaConfig *config, const gchar *const *envp,
                          guint *n_certificates_out, GError **error)
{
  guint n_certificates = 0;

  g_return_val_if_fail (config != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!prepare_ca_certificates (config, &n_certificates, error)
      || !prepare_proxy_env (config, envp, error))
    return FALSE;
  if (n_certificates_out != NULL)
    *n_certificates_out = n_certificates;
  return TRUE;
}
