/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <berth.h>

#include "berth-host-admin.h"

#define COMPONENT "host"

void
berth_host_admin_config_clear (BerthHostAdminConfig *config)
{
  g_clear_pointer (&config->pkexec, g_free);
  g_clear_pointer (&config->helper, g_free);
  g_clear_pointer (&config->root, g_free);
  g_clear_pointer (&config->socket, g_free);
  g_clear_pointer (&config->logs_dir, g_free);
}

static gchar *
link_path (const BerthHostAdminConfig *config)
{
  return g_strconcat (config->root != NULL ? config->root : "", BERTH_HOST_ADMIN_LINK, NULL);
}

BerthHostAdminLinkState
berth_host_admin_link_state (const BerthHostAdminConfig *config)
{
  g_autofree gchar *path = link_path (config);
  g_autofree gchar *target = g_file_read_link (path, NULL);

  if (target != NULL)
    return g_str_equal (target, config->socket) ? BERTH_HOST_ADMIN_LINK_BERTHS
                                                : BERTH_HOST_ADMIN_LINK_FOREIGN;
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    return BERTH_HOST_ADMIN_LINK_FOREIGN;
  return BERTH_HOST_ADMIN_LINK_MISSING;
}

gboolean
berth_host_admin_apply (const BerthHostAdminConfig *config, gboolean wanted, gboolean may_ask,
                        gboolean *asked_out, GError **error)
{
  BerthHostAdminLinkState state = berth_host_admin_link_state (config);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (BerthSubprocessResult) result = NULL;
  g_autofree gchar *path = link_path (config);

  if (asked_out != NULL)
    *asked_out = FALSE;
  if (state == BERTH_HOST_ADMIN_LINK_FOREIGN)
    {
      if (!wanted)
        return TRUE;
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                   "%s exists and is not Berth's link (a system docker's socket?); Berth leaves "
                   "it alone, so application.adminAccess cannot point it at %s",
                   path, config->socket);
      return FALSE;
    }
  if ((state == BERTH_HOST_ADMIN_LINK_BERTHS) == wanted)
    return TRUE;
  if (!may_ask)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_AUTH,
                   "administrator rights were not given to %s %s; change "
                   "application.adminAccess to ask again",
                   wanted ? "link" : "remove", path);
      return FALSE;
    }
  if (config->pkexec == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                   "pkexec is not installed, so Berth cannot %s %s; install it (the Debian "
                   "package pkexec)",
                   wanted ? "create" : "remove", path);
      return FALSE;
    }

  g_ptr_array_add (argv, config->pkexec);
  g_ptr_array_add (argv, config->helper);
  if (config->root != NULL)
    {
      g_ptr_array_add (argv, "--root");
      g_ptr_array_add (argv, config->root);
    }
  g_ptr_array_add (argv, wanted ? "link" : "unlink");
  g_ptr_array_add (argv, config->socket);
  g_ptr_array_add (argv, NULL);
  if (asked_out != NULL)
    *asked_out = TRUE;
  result = berth_subprocess_run_sync ((const gchar *const *)argv->pdata, NULL, NULL,
                                      config->logs_dir, COMPONENT, NULL, error);
  if (result == NULL)
    return FALSE;
  if (result->exit_status != 0)
    {
      gsize len = 0;
      const gchar *data = g_bytes_get_data (result->stderr_bytes, &len);
      g_autofree gchar *err = g_strstrip (g_strndup (data != NULL ? data : "", len));

      /* pkexec: 126 when the person dismissed the dialog, 127 when not
       * authorized (no agent, or refused). */
      g_set_error (error, BERTH_ERROR,
                   result->exit_status == 126 || result->exit_status == 127 ? BERTH_ERROR_AUTH
                                                                            : BERTH_ERROR_FAILED,
                   "Could not %s %s through pkexec (exit status %d): %s",
                   wanted ? "link" : "remove", path, result->exit_status,
                   err[0] != '\0' ? err : "no message");
      return FALSE;
    }
  g_info ("%s %s", wanted ? "Linked" : "Removed", path);
  return TRUE;
}
