/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* application.adminAccess: /var/run/docker.sock leads to Berth's docker
 * socket, so that tools that only know that path reach Berth's engine.
 * Making the link takes root: Berth runs its helper (berth-admin-helper,
 * allowed by the polkit action BERTH_HOST_ADMIN_ACTION) through pkexec, only
 * when the link is not already as wanted. A /var/run/docker.sock that is not
 * Berth's link (a system dockerd's socket) is never touched. */

#define BERTH_HOST_ADMIN_ACTION "org.berth.admin-helper.docker-socket"
#define BERTH_HOST_ADMIN_LINK "/var/run/docker.sock"

typedef struct
{
  gchar *pkexec;   /* nullable: not on PATH */
  gchar *helper;   /* berth-admin-helper */
  gchar *root;     /* nullable: a directory standing for / (tests) */
  gchar *socket;   /* Berth's docker socket, the link's target */
  gchar *logs_dir; /* where the helper's output is logged */
} BerthHostAdminConfig;

void
berth_host_admin_config_clear (BerthHostAdminConfig *config);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (BerthHostAdminConfig, berth_host_admin_config_clear)

typedef enum
{
  BERTH_HOST_ADMIN_LINK_MISSING,
  BERTH_HOST_ADMIN_LINK_BERTHS,  /* a symbolic link to Berth's socket */
  BERTH_HOST_ADMIN_LINK_FOREIGN, /* anything else */
} BerthHostAdminLinkState;

/* What is at /var/run/docker.sock (under @config's root). */
BerthHostAdminLinkState
berth_host_admin_link_state (const BerthHostAdminConfig *config);

/* Makes the link when @wanted and removes Berth's when not, running the
 * helper through pkexec when that changes something and @may_ask (asking
 * again for a password that was refused helps nobody). Worker threads
 * only. */
gboolean
berth_host_admin_apply (const BerthHostAdminConfig *config, gboolean wanted, gboolean may_ask,
                        gboolean *asked_out, GError **error);

G_END_DECLS
