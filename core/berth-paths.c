/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "berth-paths.h"

/* The directory name under each base directory, as Rancher Desktop's
 * APP_NAME. */
#define BERTH_APP_NAME "berth"

G_DEFINE_BOXED_TYPE (BerthPaths, berth_paths, berth_paths_copy, berth_paths_free)

static gchar
platform_separator (BerthPlatform platform)
{
  return platform == BERTH_PLATFORM_WINDOWS ? '\\' : '/';
}

/* Joins @first and the following NULL-terminated elements with @separator,
 * whatever the host's own separator is, so that every platform's paths can be
 * computed (and tested) anywhere. Separators already at the seams are not
 * doubled; a lone root ("/", "C:\") keeps its separator. */
static gchar *
join_with (gchar separator, const gchar *first, ...) G_GNUC_NULL_TERMINATED;

static gchar *
join_with (gchar separator, const gchar *first, ...)
{
  g_autoptr (GString) path = g_string_new (first);
  const gchar *element;
  va_list args;

  va_start (args, first);
  while ((element = va_arg (args, const gchar *)) != NULL)
    {
      while (path->len > 1 && path->str[path->len - 1] == separator)
        g_string_truncate (path, path->len - 1);
      while (*element == separator)
        element++;
      if (path->len == 0 || path->str[path->len - 1] != separator)
        g_string_append_c (path, separator);
      g_string_append (path, element);
    }
  va_end (args);

  return g_string_free (g_steal_pointer (&path), FALSE);
}

/* An XDG base directory variable counts only when it holds an absolute path:
 * the XDG Base Directory specification says a relative one is invalid and
 * must be ignored, and an empty one means "unset". */
static const gchar *
xdg_getenv (const gchar *const *envp, const gchar *name)
{
  const gchar *value = g_environ_getenv ((gchar **)envp, name);

  if (value == NULL || value[0] != '/')
    return NULL;
  return value;
}

/* Windows compares environment variable names without regard to case
 * ("AppData" is %APPDATA%), whatever the host this runs on. An empty value
 * counts as unset, as `process.env.X || default` does in Rancher Desktop. */
static const gchar *
windows_getenv (const gchar *const *envp, const gchar *name)
{
  gsize name_len = strlen (name);

  for (gsize i = 0; envp != NULL && envp[i] != NULL; i++)
    {
      if (g_ascii_strncasecmp (envp[i], name, name_len) == 0 && envp[i][name_len] == '=')
        {
          const gchar *value = envp[i] + name_len + 1;
          return value[0] != '\0' ? value : NULL;
        }
    }
  return NULL;
}

static void
fill_linux (BerthPaths *paths, const gchar *const *envp, const gchar *home)
{
  const gchar *data_home = xdg_getenv (envp, "XDG_DATA_HOME");
  const gchar *config_home = xdg_getenv (envp, "XDG_CONFIG_HOME");
  const gchar *cache_home = xdg_getenv (envp, "XDG_CACHE_HOME");
  const gchar *state_home = xdg_getenv (envp, "XDG_STATE_HOME");
  const gchar *runtime_dir = xdg_getenv (envp, "XDG_RUNTIME_DIR");
  g_autofree gchar *default_data_home = join_with ('/', home, ".local", "share", NULL);
  g_autofree gchar *default_config_home = join_with ('/', home, ".config", NULL);
  g_autofree gchar *default_cache_home = join_with ('/', home, ".cache", NULL);
  g_autofree gchar *default_state_home = join_with ('/', home, ".local", "state", NULL);

  if (data_home == NULL)
    data_home = default_data_home;
  if (config_home == NULL)
    config_home = default_config_home;
  if (cache_home == NULL)
    cache_home = default_cache_home;
  if (state_home == NULL)
    state_home = default_state_home;

  paths->config = join_with ('/', config_home, BERTH_APP_NAME, NULL);
  paths->data = join_with ('/', data_home, BERTH_APP_NAME, NULL);
  /* Logs are state: worth keeping, not worth backing up (XDG base
   * directory spec 0.8). */
  paths->logs = join_with ('/', state_home, BERTH_APP_NAME, "logs", NULL);
  paths->cache = join_with ('/', cache_home, BERTH_APP_NAME, NULL);
  paths->lima = join_with ('/', data_home, BERTH_APP_NAME, "lima", NULL);
  paths->integration = join_with ('/', home, ".local", "bin", NULL);
  /* Sockets want short paths (108 bytes for sun_path); the runtime
   * directory is the short one when the session has it. */
  if (runtime_dir != NULL)
    paths->runtime = join_with ('/', runtime_dir, BERTH_APP_NAME, NULL);
  else
    paths->runtime = g_strdup (paths->data);
}

static void
fill_darwin (BerthPaths *paths, const gchar *home)
{
  paths->config = join_with ('/', home, "Library", "Preferences", BERTH_APP_NAME, NULL);
  paths->data = join_with ('/', home, "Library", "Application Support", BERTH_APP_NAME, NULL);
  paths->logs = join_with ('/', home, "Library", "Logs", BERTH_APP_NAME, NULL);
  paths->cache = join_with ('/', home, "Library", "Caches", BERTH_APP_NAME, NULL);
  paths->lima
      = join_with ('/', home, "Library", "Application Support", BERTH_APP_NAME, "lima", NULL);
  /* As Rancher Desktop: on macOS the tools go where Homebrew and the
   * installers put them, which is on everyone's PATH. */
  paths->integration = g_strdup ("/usr/local/bin");
  paths->runtime = g_strdup (paths->data);
}

static void
fill_windows (BerthPaths *paths, const gchar *const *envp, const gchar *home)
{
  const gchar *app_data = windows_getenv (envp, "APPDATA");
  const gchar *local_app_data = windows_getenv (envp, "LOCALAPPDATA");
  g_autofree gchar *default_app_data = join_with ('\\', home, "AppData", "Roaming", NULL);
  g_autofree gchar *default_local_app_data = join_with ('\\', home, "AppData", "Local", NULL);

  if (app_data == NULL)
    app_data = default_app_data;
  if (local_app_data == NULL)
    local_app_data = default_local_app_data;

  paths->config = join_with ('\\', app_data, BERTH_APP_NAME, NULL);
  paths->data = join_with ('\\', local_app_data, BERTH_APP_NAME, NULL);
  paths->logs = join_with ('\\', local_app_data, BERTH_APP_NAME, "logs", NULL);
  paths->cache = join_with ('\\', local_app_data, BERTH_APP_NAME, "cache", NULL);
  paths->wsl_distro = join_with ('\\', local_app_data, BERTH_APP_NAME, "distro", NULL);
  paths->wsl_distro_data = join_with ('\\', local_app_data, BERTH_APP_NAME, "distro-data", NULL);
  /* No Lima on Windows, and no integration directory either: as in Rancher
   * Desktop, the tools reach Windows through the installer's PATH entry and
   * reach WSL distributions through the WSL integration, not through links
   * in a directory of ours. Both stay NULL. */
  paths->lima = NULL;
  paths->integration = NULL;
  paths->runtime = g_strdup (paths->data);
}

BerthPaths *
berth_paths_new_for_platform (BerthPlatform platform, const gchar *const *envp, const gchar *home)
{
  g_autoptr (BerthPaths) paths = g_new0 (BerthPaths, 1);

  g_return_val_if_fail (home != NULL, NULL);

  paths->platform = platform;
  switch (platform)
    {
    case BERTH_PLATFORM_DARWIN:
      fill_darwin (paths, home);
      break;
    case BERTH_PLATFORM_WINDOWS:
      fill_windows (paths, envp, home);
      break;
    case BERTH_PLATFORM_LINUX:
    default:
      fill_linux (paths, envp, home);
      break;
    }

  return g_steal_pointer (&paths);
}

BerthPaths *
berth_paths_new (void)
{
  g_auto (GStrv) envp = g_get_environ ();

  return berth_paths_new_for_platform (berth_platform_current (), (const gchar *const *)envp,
                                       g_get_home_dir ());
}

BerthPaths *
berth_paths_copy (const BerthPaths *paths)
{
  BerthPaths *copy;

  g_return_val_if_fail (paths != NULL, NULL);

  copy = g_new0 (BerthPaths, 1);
  copy->platform = paths->platform;
  copy->config = g_strdup (paths->config);
  copy->data = g_strdup (paths->data);
  copy->logs = g_strdup (paths->logs);
  copy->cache = g_strdup (paths->cache);
  copy->lima = g_strdup (paths->lima);
  copy->integration = g_strdup (paths->integration);
  copy->wsl_distro = g_strdup (paths->wsl_distro);
  copy->wsl_distro_data = g_strdup (paths->wsl_distro_data);
  copy->runtime = g_strdup (paths->runtime);
  return copy;
}

void
berth_paths_free (BerthPaths *paths)
{
  if (paths == NULL)
    return;
  g_free (paths->config);
  g_free (paths->data);
  g_free (paths->logs);
  g_free (paths->cache);
  g_free (paths->lima);
  g_free (paths->integration);
  g_free (paths->wsl_distro);
  g_free (paths->wsl_distro_data);
  g_free (paths->runtime);
  g_free (paths);
}

gchar *
berth_paths_get_settings_file (const BerthPaths *paths)
{
  g_return_val_if_fail (paths != NULL, NULL);

  return join_with (platform_separator (paths->platform), paths->config, "settings.json", NULL);
}

gchar *
berth_paths_get_log_file (const BerthPaths *paths, const gchar *component)
{
  g_autofree gchar *name = NULL;

  g_return_val_if_fail (paths != NULL, NULL);
  g_return_val_if_fail (component != NULL && component[0] != '\0', NULL);

  name = g_strconcat (component, ".log", NULL);
  return join_with (platform_separator (paths->platform), paths->logs, name, NULL);
}

gchar *
berth_paths_get_download_cache (const BerthPaths *paths)
{
  g_return_val_if_fail (paths != NULL, NULL);

  return join_with (platform_separator (paths->platform), paths->cache, "download", NULL);
}
