/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include <berth.h>

#include "berth-host-autostart.h"

#define COMPONENT "host"

void
berth_host_autostart_config_clear (BerthHostAutostartConfig *config)
{
  g_clear_pointer (&config->systemctl, g_free);
  g_clear_pointer (&config->autostart_file, g_free);
  g_clear_pointer (&config->berthd, g_free);
  g_clear_pointer (&config->logs_dir, g_free);
}

static BerthSubprocessResult *
run_systemctl (const BerthHostAutostartConfig *config, const gchar *verb, gboolean with_unit,
               GError **error)
{
  const gchar *argv[]
      = { config->systemctl, "--user", verb, with_unit ? BERTH_HOST_AUTOSTART_UNIT : NULL, NULL };

  return berth_subprocess_run_sync (argv, NULL, NULL, config->logs_dir, COMPONENT, NULL, error);
}

static gchar *
stdout_text (BerthSubprocessResult *result)
{
  gsize len = 0;
  const gchar *data = g_bytes_get_data (result->stdout_bytes, &len);
  gchar *text = g_strndup (data != NULL ? data : "", len);

  return g_strstrip (text);
}

/* Whether a systemd user instance answers, and knows Berth's unit. */
static gboolean
systemd_usable (const BerthHostAutostartConfig *config, gboolean *enabled_out)
{
  g_autoptr (BerthSubprocessResult) environment = NULL;
  g_autoptr (BerthSubprocessResult) state = NULL;
  g_autofree gchar *text = NULL;

  if (config->systemctl == NULL)
    return FALSE;
  environment = run_systemctl (config, "show-environment", FALSE, NULL);
  if (environment == NULL || environment->exit_status != 0)
    return FALSE;
  state = run_systemctl (config, "is-enabled", TRUE, NULL);
  if (state == NULL)
    return FALSE;
  text = stdout_text (state);
  /* "not-found": the unit is not installed where systemd looks. */
  if (g_str_equal (text, "not-found") || text[0] == '\0')
    return FALSE;
  *enabled_out = state->exit_status == 0;
  return TRUE;
}

static gchar *
desktop_entry (const BerthHostAutostartConfig *config)
{
  g_autofree gchar *exec = g_shell_quote (config->berthd);

  return g_strdup_printf ("[Desktop Entry]\n"
                          "Type=Application\n"
                          "Name=Berth\n"
                          "Comment=Start Berth's daemon, which runs containers and Kubernetes, "
                          "when you log in (application.autoStart)\n"
                          "Exec=%s\n"
                          "Terminal=false\n"
                          "NoDisplay=true\n"
                          "X-GNOME-Autostart-enabled=true\n"
                          "%s\n",
                          exec, BERTH_HOST_AUTOSTART_MARKER);
}

typedef enum
{
  AUTOSTART_MISSING,
  AUTOSTART_BERTHS,
  AUTOSTART_FOREIGN,
} AutostartKind;

static AutostartKind
autostart_kind (const gchar *path)
{
  g_autofree gchar *text = NULL;
  gsize len = 0;

  if (!g_file_test (path, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK))
    return AUTOSTART_MISSING;
  if (g_file_test (path, G_FILE_TEST_IS_REGULAR) && g_file_get_contents (path, &text, &len, NULL)
      && len < 64 * 1024 && strstr (text, "\n" BERTH_HOST_AUTOSTART_MARKER "\n") != NULL)
    return AUTOSTART_BERTHS;
  return AUTOSTART_FOREIGN;
}

static gboolean
sync_desktop_entry (const BerthHostAutostartConfig *config, gboolean wanted, GPtrArray *warnings,
                    GError **error)
{
  AutostartKind kind = autostart_kind (config->autostart_file);
  g_autofree gchar *text = NULL;
  g_autofree gchar *existing = NULL;

  if (kind == AUTOSTART_FOREIGN)
    {
      if (wanted)
        g_ptr_array_add (warnings,
                         g_strdup_printf ("%s is not Berth's; Berth left it alone, so "
                                          "application.autoStart does not use it: remove it to "
                                          "have Berth write its own",
                                          config->autostart_file));
      return TRUE;
    }
  if (!wanted)
    {
      if (kind == AUTOSTART_BERTHS && g_unlink (config->autostart_file) != 0 && errno != ENOENT)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Could not remove %s: %s",
                       config->autostart_file, g_strerror (errno));
          return FALSE;
        }
      return TRUE;
    }
  text = desktop_entry (config);
  if (g_file_get_contents (config->autostart_file, &existing, NULL, NULL)
      && g_str_equal (existing, text))
    return TRUE;
  return berth_file_replace_contents (config->autostart_file, text, strlen (text), 0644, error);
}

gboolean
berth_host_autostart_apply (const BerthHostAutostartConfig *config, gboolean enabled,
                            const gchar **how_out, GPtrArray *warnings, GError **error)
{
  gboolean is_enabled = FALSE;

  if (how_out != NULL)
    *how_out = "xdg-autostart";
  if (!systemd_usable (config, &is_enabled))
    return sync_desktop_entry (config, enabled, warnings, error);

  if (how_out != NULL)
    *how_out = "systemd";
  /* The unit does it: an entry of Berth's would start a second berthd. */
  if (!sync_desktop_entry (config, FALSE, warnings, error))
    return FALSE;
  if (is_enabled != enabled)
    {
      g_autoptr (BerthSubprocessResult) result
          = run_systemctl (config, enabled ? "enable" : "disable", TRUE, error);

      if (result == NULL)
        return FALSE;
      if (result->exit_status != 0)
        {
          gsize len = 0;
          const gchar *data = g_bytes_get_data (result->stderr_bytes, &len);
          g_autofree gchar *err = g_strstrip (g_strndup (data != NULL ? data : "", len));

          g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                       "systemctl --user %s %s failed (exit status %d): %s",
                       enabled ? "enable" : "disable", BERTH_HOST_AUTOSTART_UNIT,
                       result->exit_status, err);
          return FALSE;
        }
      g_info ("%s %s", enabled ? "Enabled" : "Disabled", BERTH_HOST_AUTOSTART_UNIT);
    }
  return TRUE;
}
