/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* This host's proxy environment, made fit for a guest: what a backend
 * gives the VM's engine and Kubernetes when virtualMachine.proxy.fromHost
 * is on. */

/* The addresses that never go through the proxy from inside the guest,
 * besides what the host's NO_PROXY lists: its own loopback, and k3s's pod
 * and service networks. A backend adds the guest's and the host's
 * addresses. */
#define BERTH_PROXY_ENV_GUEST_NO_PROXY "127.0.0.1,localhost,10.42.0.0/16,10.43.0.0/16"

/* The proxy variables of @envp (an environment as g_get_environ() gives
 * it): HTTP_PROXY, HTTPS_PROXY and NO_PROXY, read in either case. When
 * both cases are set and differ, the upper-case one is taken, as the Go
 * programs in the guest (dockerd, containerd, k3s) read them. In the proxy
 * URLs, a loopback host (localhost, 127.0.0.0/8, [::1]) becomes
 * @host_address, where the guest reaches this host's loopback. NO_PROXY
 * gets BERTH_PROXY_ENV_GUEST_NO_PROXY and each of @no_proxy_extra (may be
 * NULL) appended, each once. The result is a NULL-terminated list of
 * "NAME=VALUE" for both cases of every variable set (HTTP_PROXY,
 * http_proxy, HTTPS_PROXY, https_proxy, NO_PROXY, no_proxy, in that
 * order); empty when neither HTTP_PROXY nor HTTPS_PROXY is set. A value
 * that is not UTF-8 or holds a control character is refused with
 * BERTH_ERROR_INVALID_DATA naming the variable. */
GStrv
berth_proxy_env_for_guest (const gchar *const *envp, const gchar *host_address,
                           const gchar *const *no_proxy_extra, GError **error);

/* @url ("http://user@127.0.0.1:3128/", or "localhost:3128" without a
 * scheme) with a loopback host replaced by @host_address; the rest is kept
 * byte for byte. A copy of @url when its host is not a loopback one. */
gchar *
berth_proxy_env_rewrite_loopback (const gchar *url, const gchar *host_address);

/* @env ("NAME=VALUE" entries) as POSIX shell assignments, each value in
 * single quotes, after a comment saying what the file is: the text of the
 * guest's /etc/berth/proxy.env, read with `set -a; . FILE; set +a`. */
gchar *
berth_proxy_env_to_shell (const gchar *const *env);

G_END_DECLS
