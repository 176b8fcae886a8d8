/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>

#include "berth-paths.h"

static void
test_linux_defaults (void)
{
  const gchar *envp[] = { "PATH=/usr/bin", NULL };
  g_autoptr (BerthPaths) paths
      = berth_paths_new_for_platform (BERTH_PLATFORM_LINUX, envp, "/home/ada");

  g_assert_cmpint (paths->platform, ==, BERTH_PLATFORM_LINUX);
  g_assert_cmpstr (paths->config, ==, "/home/ada/.config/berth");
  g_assert_cmpstr (paths->data, ==, "/home/ada/.local/share/berth");
  g_assert_cmpstr (paths->logs, ==, "/home/ada/.local/state/berth/logs");
  g_assert_cmpstr (paths->cache, ==, "/home/ada/.cache/berth");
  g_assert_cmpstr (paths->lima, ==, "/home/ada/.local/share/berth/lima");
  g_assert_cmpstr (paths->integration, ==, "/home/ada/.local/bin");
  /* No XDG_RUNTIME_DIR: sockets go under data. */
  g_assert_cmpstr (paths->runtime, ==, "/home/ada/.local/share/berth");
  g_assert_null (paths->wsl_distro);
  g_assert_null (paths->wsl_distro_data);
}

static void
test_linux_no_environment (void)
{
  /* A trailing slash on the home directory does not double up. */
  g_autoptr (BerthPaths) paths
      = berth_paths_new_for_platform (BERTH_PLATFORM_LINUX, NULL, "/home/ada/");

  g_assert_cmpstr (paths->config, ==, "/home/ada/.config/berth");
  g_assert_cmpstr (paths->logs, ==, "/home/ada/.local/state/berth/logs");
}

static void
test_linux_xdg (void)
{
  const gchar *envp[] = {
    "XDG_DATA_HOME=/data/ada",
    "XDG_CONFIG_HOME=/conf/ada/",
    "XDG_CACHE_HOME=/var/cache/ada",
    "XDG_STATE_HOME=/state/ada",
    "XDG_RUNTIME_DIR=/run/user/1000",
    NULL,
  };
  g_autoptr (BerthPaths) paths
      = berth_paths_new_for_platform (BERTH_PLATFORM_LINUX, envp, "/home/ada");

  g_assert_cmpstr (paths->config, ==, "/conf/ada/berth");
  g_assert_cmpstr (paths->data, ==, "/data/ada/berth");
  g_assert_cmpstr (paths->logs, ==, "/state/ada/berth/logs");
  g_assert_cmpstr (paths->cache, ==, "/var/cache/ada/berth");
  g_assert_cmpstr (paths->lima, ==, "/data/ada/berth/lima");
  /* Not an XDG directory: always under home. */
  g_assert_cmpstr (paths->integration, ==, "/home/ada/.local/bin");
  g_assert_cmpstr (paths->runtime, ==, "/run/user/1000/berth");
}

static void
test_linux_xdg_empty_or_relative (void)
{
  const gchar *envp[] = {
    "XDG_DATA_HOME=",
    "XDG_CONFIG_HOME=relative/config",
    "XDG_CACHE_HOME=./cache",
    "XDG_STATE_HOME=state",
    "XDG_RUNTIME_DIR=run",
    NULL,
  };
  g_autoptr (BerthPaths) paths
      = berth_paths_new_for_platform (BERTH_PLATFORM_LINUX, envp, "/home/ada");

  g_assert_cmpstr (paths->config, ==, "/home/ada/.config/berth");
  g_assert_cmpstr (paths->data, ==, "/home/ada/.local/share/berth");
  g_assert_cmpstr (paths->logs, ==, "/home/ada/.local/state/berth/logs");
  g_assert_cmpstr (paths->cache, ==, "/home/ada/.cache/berth");
  g_assert_cmpstr (paths->lima, ==, "/home/ada/.local/share/berth/lima");
  g_assert_cmpstr (paths->runtime, ==, "/home/ada/.local/share/berth");
}

static void
test_darwin (void)
{
  /* XDG variables mean nothing on macOS. */
  const gchar *envp[] = { "XDG_CONFIG_HOME=/elsewhere", "XDG_RUNTIME_DIR=/run/user/501", NULL };
  g_autoptr (BerthPaths) paths
      = berth_paths_new_for_platform (BERTH_PLATFORM_DARWIN, envp, "/Users/ada");

  g_assert_cmpint (paths->platform, ==, BERTH_PLATFORM_DARWIN);
  g_assert_cmpstr (paths->config, ==, "/Users/ada/Library/Preferences/berth");
  g_assert_cmpstr (paths->logs, ==, "/Users/ada/Library/Logs/berth");
  g_assert_cmpstr (paths->cache, ==, "/Users/ada/Library/Caches/berth");
  g_assert_cmpstr (paths->lima, ==, "/Users/ada/Library/Application Support/berth/lima");
  g_assert_cmpstr (paths->data, ==, "/Users/ada/Library/Application Support/berth");
  g_assert_cmpstr (paths->integration, ==, "/usr/local/bin");
  g_assert_cmpstr (paths->runtime, ==, paths->data);
  g_assert_null (paths->wsl_distro);
  g_assert_null (paths->wsl_distro_data);
}

static void
test_windows (void)
{
  const gchar *envp[] = {
    "APPDATA=C:\\Users\\ada\\AppData\\Roaming",
    "LOCALAPPDATA=D:\\Local",
    "XDG_DATA_HOME=/ignored",
    NULL,
  };
  g_autoptr (BerthPaths) paths
      = berth_paths_new_for_platform (BERTH_PLATFORM_WINDOWS, envp, "C:\\Users\\ada");

  g_assert_cmpint (paths->platform, ==, BERTH_PLATFORM_WINDOWS);
  g_assert_cmpstr (paths->config, ==, "C:\\Users\\ada\\AppData\\Roaming\\berth");
  g_assert_cmpstr (paths->data, ==, "D:\\Local\\berth");
  g_assert_cmpstr (paths->logs, ==, "D:\\Local\\berth\\logs");
  g_assert_cmpstr (paths->cache, ==, "D:\\Local\\berth\\cache");
  g_assert_cmpstr (paths->wsl_distro, ==, "D:\\Local\\berth\\distro");
  g_assert_cmpstr (paths->wsl_distro_data, ==, "D:\\Local\\berth\\distro-data");
  g_assert_cmpstr (paths->runtime, ==, "D:\\Local\\berth");
  g_assert_null (paths->lima);
  g_assert_null (paths->integration);
}

static void
test_windows_defaults (void)
{
  /* Unset and empty both fall back to the home directory's AppData. */
  const gchar *envp[] = { "APPDATA=", NULL };
  g_autoptr (BerthPaths) paths
      = berth_paths_new_for_platform (BERTH_PLATFORM_WINDOWS, envp, "C:\\Users\\ada");

  g_assert_cmpstr (paths->config, ==, "C:\\Users\\ada\\AppData\\Roaming\\berth");
  g_assert_cmpstr (paths->logs, ==, "C:\\Users\\ada\\AppData\\Local\\berth\\logs");
  g_assert_cmpstr (paths->cache, ==, "C:\\Users\\ada\\AppData\\Local\\berth\\cache");
  g_assert_cmpstr (paths->wsl_distro, ==, "C:\\Users\\ada\\AppData\\Local\\berth\\distro");
}

static void
test_windows_names_ignore_case (void)
{
  /* Windows spells it %AppData% as often as %APPDATA%. */
  const gchar *envp[] = { "AppData=E:\\Roam", "LocalAppData=E:\\Loc\\", NULL };
  g_autoptr (BerthPaths) paths
      = berth_paths_new_for_platform (BERTH_PLATFORM_WINDOWS, envp, "C:\\Users\\ada");

  g_assert_cmpstr (paths->config, ==, "E:\\Roam\\berth");
  g_assert_cmpstr (paths->logs, ==, "E:\\Loc\\berth\\logs");
}

static void
test_files (void)
{
  const gchar *envp[] = { "XDG_CONFIG_HOME=/conf", "XDG_CACHE_HOME=/cache", NULL };
  const gchar *win_envp[] = { "LOCALAPPDATA=C:\\L", "APPDATA=C:\\R", NULL };
  g_autoptr (BerthPaths) linux_paths
      = berth_paths_new_for_platform (BERTH_PLATFORM_LINUX, envp, "/home/ada");
  g_autoptr (BerthPaths) win_paths
      = berth_paths_new_for_platform (BERTH_PLATFORM_WINDOWS, win_envp, "C:\\Users\\ada");
  g_autofree gchar *settings = berth_paths_get_settings_file (linux_paths);
  g_autofree gchar *log = berth_paths_get_log_file (linux_paths, "lima");
  g_autofree gchar *download = berth_paths_get_download_cache (linux_paths);
  g_autofree gchar *win_settings = berth_paths_get_settings_file (win_paths);
  g_autofree gchar *win_log = berth_paths_get_log_file (win_paths, "wsl");
  g_autofree gchar *win_download = berth_paths_get_download_cache (win_paths);

  g_assert_cmpstr (settings, ==, "/conf/berth/settings.json");
  g_assert_cmpstr (log, ==, "/home/ada/.local/state/berth/logs/lima.log");
  g_assert_cmpstr (download, ==, "/cache/berth/download");
  g_assert_cmpstr (win_settings, ==, "C:\\R\\berth\\settings.json");
  g_assert_cmpstr (win_log, ==, "C:\\L\\berth\\logs\\wsl.log");
  g_assert_cmpstr (win_download, ==, "C:\\L\\berth\\cache\\download");
}

static void
test_boxed (void)
{
  const gchar *envp[] = { "APPDATA=C:\\R", NULL };
  g_autoptr (BerthPaths) paths
      = berth_paths_new_for_platform (BERTH_PLATFORM_WINDOWS, envp, "C:\\Users\\ada");
  g_autoptr (BerthPaths) copy = NULL;
  g_auto (GValue) value = G_VALUE_INIT;
  const BerthPaths *held;

  g_assert_true (G_TYPE_IS_BOXED (BERTH_TYPE_PATHS));
  g_assert_cmpstr (g_type_name (BERTH_TYPE_PATHS), ==, "BerthPaths");

  copy = g_boxed_copy (BERTH_TYPE_PATHS, paths);
  g_assert_true (copy != paths);
  g_assert_true (copy->config != paths->config);
  g_assert_cmpint (copy->platform, ==, BERTH_PLATFORM_WINDOWS);
  g_assert_cmpstr (copy->config, ==, paths->config);
  g_assert_cmpstr (copy->data, ==, paths->data);
  g_assert_cmpstr (copy->logs, ==, paths->logs);
  g_assert_cmpstr (copy->cache, ==, paths->cache);
  g_assert_cmpstr (copy->wsl_distro, ==, paths->wsl_distro);
  g_assert_cmpstr (copy->wsl_distro_data, ==, paths->wsl_distro_data);
  g_assert_cmpstr (copy->runtime, ==, paths->runtime);
  g_assert_null (copy->lima);
  g_assert_null (copy->integration);

  g_value_init (&value, BERTH_TYPE_PATHS);
  g_value_set_boxed (&value, paths);
  held = g_value_get_boxed (&value);
  g_assert_true (held != paths);
  g_assert_cmpstr (held->logs, ==, "C:\\Users\\ada\\AppData\\Local\\berth\\logs");
}

/* berth_paths_new() reads this process's environment and home. */
static void
test_process (void)
{
  g_autofree gchar *tmp = g_dir_make_tmp ("berth-paths-XXXXXX", NULL);
  g_autofree gchar *data_home = g_build_filename (tmp, "data", NULL);
  g_autofree gchar *config_home = g_build_filename (tmp, "config", NULL);
  g_autofree gchar *cache_home = g_build_filename (tmp, "cache", NULL);
  g_autofree gchar *runtime_dir = g_build_filename (tmp, "run", NULL);
  g_autofree gchar *state_home = g_build_filename (tmp, "state", NULL);
  g_autofree gchar *expected_logs = g_build_filename (state_home, "berth", "logs", NULL);
  g_autofree gchar *expected_config = g_build_filename (config_home, "berth", NULL);
  g_autofree gchar *expected_runtime = g_build_filename (runtime_dir, "berth", NULL);
  g_autofree gchar *expected_cache = g_build_filename (cache_home, "berth", NULL);
  g_autoptr (BerthPaths) paths = NULL;
  g_autoptr (BerthPaths) relative = NULL;
  g_autofree gchar *expected_default_data = NULL;

  g_assert_nonnull (tmp);
  g_assert_cmpstr (g_get_home_dir (), ==, g_getenv ("HOME"));
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_setenv ("XDG_CONFIG_HOME", config_home, TRUE);
  g_setenv ("XDG_CACHE_HOME", cache_home, TRUE);
  g_setenv ("XDG_RUNTIME_DIR", runtime_dir, TRUE);
  g_setenv ("XDG_STATE_HOME", state_home, TRUE);

  paths = berth_paths_new ();
  g_assert_cmpint (paths->platform, ==, berth_platform_current ());
  g_assert_cmpstr (paths->logs, ==, expected_logs);
  g_assert_cmpstr (paths->config, ==, expected_config);
  g_assert_cmpstr (paths->cache, ==, expected_cache);
  g_assert_cmpstr (paths->runtime, ==, expected_runtime);

  /* Read again each time: a later change of the environment is seen. */
  g_setenv ("XDG_DATA_HOME", "not/absolute", TRUE);
  relative = berth_paths_new ();
  expected_default_data = g_build_filename (g_get_home_dir (), ".local", "share", "berth", NULL);
  g_assert_cmpstr (relative->data, ==, expected_default_data);

  g_rmdir (tmp);
}

int
main (int argc, char **argv)
{
  g_autofree gchar *home = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);

  /* Never the real home: berth_paths_new() reads HOME. */
  home = g_dir_make_tmp ("berth-paths-home-XXXXXX", NULL);
  g_assert_nonnull (home);
  g_setenv ("HOME", home, TRUE);

  g_test_add_func ("/paths/linux/defaults", test_linux_defaults);
  g_test_add_func ("/paths/linux/no-environment", test_linux_no_environment);
  g_test_add_func ("/paths/linux/xdg", test_linux_xdg);
  g_test_add_func ("/paths/linux/xdg-empty-or-relative", test_linux_xdg_empty_or_relative);
  g_test_add_func ("/paths/darwin", test_darwin);
  g_test_add_func ("/paths/windows/environment", test_windows);
  g_test_add_func ("/paths/windows/defaults", test_windows_defaults);
  g_test_add_func ("/paths/windows/names-ignore-case", test_windows_names_ignore_case);
  g_test_add_func ("/paths/files", test_files);
  g_test_add_func ("/paths/boxed", test_boxed);
  g_test_add_func ("/paths/process", test_process);

  status = g_test_run ();
  g_rmdir (home);
  return status;
}
