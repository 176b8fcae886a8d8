/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Berth — running wsl.exe. */

#include "config.h"

#include <string.h>

#include <berth-error.h>

#include "berth-wsl-exe.h"

#define LOG_COMPONENT "wsl"
/* What of an --exec command's output goes into the log. */
#define LOG_EXEC_BYTES 2048

#define INSTALL_ADVICE                                                                             \
  "Install it from an administrator's prompt with `wsl.exe --install --no-distribution` "          \
  "(Windows 10 version 2004 or later, or Windows 11) and restart Windows"

void
berth_wsl_exe_free (BerthWslExe *exe)
{
  if (exe == NULL)
    return;
  g_free (exe->path);
  g_free (exe->logs_dir);
  g_free (exe);
}

BerthWslExe *
berth_wsl_exe_find (const gchar *logs_dir, GError **error)
{
  const gchar *override = g_getenv ("BERTH_WSL_EXE");
  g_autofree gchar *path = NULL;
  BerthWslExe *exe;

  if (override != NULL && override[0] != '\0')
    {
      if (!g_file_test (override, G_FILE_TEST_IS_EXECUTABLE)
          || g_file_test (override, G_FILE_TEST_IS_DIR))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                       "BERTH_WSL_EXE=%s is not an executable file; point it at wsl.exe, or "
                       "unset it to use the system's",
                       override);
          return NULL;
        }
      path = g_strdup (override);
    }
  else
    {
#ifdef G_OS_WIN32
      const gchar *system_root = g_getenv ("SystemRoot");
      g_autofree gchar *candidate = g_build_filename (
          system_root != NULL ? system_root : "C:\\Windows", "System32", "wsl.exe", NULL);

      if (g_file_test (candidate, G_FILE_TEST_IS_REGULAR))
        path = g_steal_pointer (&candidate);
#endif
      if (path == NULL)
        path = g_find_program_in_path ("wsl.exe");
      if (path == NULL)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                       "The Windows Subsystem for Linux is not installed (there is no wsl.exe). "
                       "%s",
                       INSTALL_ADVICE);
          return NULL;
        }
    }
  exe = g_new0 (BerthWslExe, 1);
  exe->path = g_steal_pointer (&path);
  exe->logs_dir = g_strdup (logs_dir);
  return exe;
}

/* Whether @args run a command in a distribution (its output is the
 * command's, not wsl.exe's). */
static gboolean
is_exec (const gchar *const *args)
{
  for (guint i = 0; args[i] != NULL; i++)
    if (g_str_equal (args[i], "--exec") || g_str_equal (args[i], "-e"))
      return TRUE;
  return FALSE;
}

static gchar *
joined_args (const gchar *const *args)
{
  GString *out = g_string_new ("wsl.exe");

  for (guint i = 0; args[i] != NULL; i++)
    {
      g_autofree gchar *quoted = g_shell_quote (args[i]);

      g_string_append_c (out, ' ');
      /* Quoted only where it needs to be, to keep the log readable. */
      g_string_append (
          out, strpbrk (args[i], " \t\n'\"\\$") != NULL || args[i][0] == '\0' ? quoted : args[i]);
    }
  return g_string_free (out, FALSE);
}

static gchar *
bytes_text (GBytes *bytes, gboolean decode, gsize max)
{
  gsize length = 0;
  const guint8 *data = bytes != NULL ? g_bytes_get_data (bytes, &length) : NULL;

  if (data == NULL || length == 0)
    return g_strdup ("");
  if (decode)
    return berth_wsl_decode (data, length);
  return g_utf8_make_valid ((const gchar *)data, (gssize)MIN (length, max));
}

gchar *
berth_wsl_result_text (BerthSubprocessResult *result)
{
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;

  g_return_val_if_fail (result != NULL, NULL);

  out = g_strstrip (bytes_text (result->stdout_bytes, TRUE, 0));
  err = g_strstrip (bytes_text (result->stderr_bytes, TRUE, 0));
  if (out[0] != '\0' && err[0] != '\0')
    return g_strconcat (out, "\n", err, NULL);
  return g_strdup (out[0] != '\0' ? out : err);
}

BerthSubprocessResult *
berth_wsl_exe_run (BerthWslExe *exe, const gchar *const *args, const BerthWslRunOptions *options,
                   GCancellable *cancellable, GError **error)
{
  static const BerthWslRunOptions no_options = { 0 };
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GBytes) out = NULL;
  g_autoptr (GBytes) err = NULL;
  g_autofree gchar *line = joined_args (args);
  GSubprocessFlags flags = G_SUBPROCESS_FLAGS_STDERR_PIPE;
  BerthSubprocessResult *result;
  gboolean exec = is_exec (args);

  g_return_val_if_fail (exe != NULL && args != NULL, NULL);

  if (options == NULL)
    options = &no_options;
  if (options->stdout_path == NULL)
    flags |= G_SUBPROCESS_FLAGS_STDOUT_PIPE;
  if (options->stdin_bytes != NULL)
    flags |= G_SUBPROCESS_FLAGS_STDIN_PIPE;
  launcher = g_subprocess_launcher_new (flags);
  if (options->stdin_path != NULL && options->stdin_bytes == NULL)
    g_subprocess_launcher_set_stdin_file_path (launcher, options->stdin_path);
  if (options->stdout_path != NULL)
    g_subprocess_launcher_set_stdout_file_path (launcher, options->stdout_path);
  if (options->linux_env != NULL)
    {
      const gchar *wslenv = g_getenv ("WSLENV");
      g_autoptr (GString) names = g_string_new (wslenv != NULL ? wslenv : "");

      for (guint i = 0; options->linux_env[i] != NULL; i++)
        {
          const gchar *eq = strchr (options->linux_env[i], '=');
          g_autofree gchar *name = NULL;
          gchar *slash;
          gboolean is_path;

          if (eq == NULL || eq == options->linux_env[i])
            continue;
          name = g_strndup (options->linux_env[i], (gsize)(eq - options->linux_env[i]));
          /* NAME/p=VALUE: a host path, which WSL translates (C:\x → /mnt/c/x). */
          slash = strchr (name, '/');
          is_path = slash != NULL && g_str_equal (slash, "/p");
          if (slash != NULL)
            *slash = '\0';
          g_subprocess_launcher_setenv (launcher, name, eq + 1, TRUE);
          if (names->len > 0)
            g_string_append_c (names, ':');
          g_string_append_printf (names, "%s/%s", name, is_path ? "up" : "u");
        }
      g_subprocess_launcher_setenv (launcher, "WSLENV", names->str, TRUE);
    }

  g_ptr_array_add (argv, exe->path);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer)args[i]);
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_launcher_spawnv (launcher, (const gchar *const *)argv->pdata, error);
  if (process == NULL)
    {
      berth_log_line (exe->logs_dir, LOG_COMPONENT, "%s: %s", line,
                      error != NULL && *error != NULL ? (*error)->message : "not started");
      g_prefix_error (error, "Cannot run %s: ", exe->path);
      berth_error_convert (error);
      return NULL;
    }
  if (!g_subprocess_communicate (process, options->stdin_bytes, cancellable, &out, &err, error))
    {
      g_subprocess_force_exit (process);
      berth_error_convert (error);
      return NULL;
    }
  result = g_new0 (BerthSubprocessResult, 1);
  if (g_subprocess_get_if_exited (process))
    result->exit_status = g_subprocess_get_exit_status (process);
  else
    result->exit_status = 128 + g_subprocess_get_term_sig (process);
  result->stdout_bytes = out != NULL ? g_steal_pointer (&out) : g_bytes_new (NULL, 0);
  result->stderr_bytes = err != NULL ? g_steal_pointer (&err) : g_bytes_new (NULL, 0);

  {
    /* wsl.exe's own words are decoded; a command's output is logged as it
     * came, and only its beginning. */
    g_autofree gchar *out_text
        = g_strstrip (bytes_text (result->stdout_bytes, !exec, LOG_EXEC_BYTES));
    g_autofree gchar *err_text
        = g_strstrip (bytes_text (result->stderr_bytes, !exec, LOG_EXEC_BYTES));

    berth_log_line (exe->logs_dir, LOG_COMPONENT, "%s → exit status %d%s%s%s%s", line,
                    result->exit_status, out_text[0] != '\0' ? "\n  stdout: " : "", out_text,
                    err_text[0] != '\0' ? "\n  stderr: " : "", err_text);
  }
  return result;
}

/* The error of a wsl.exe call that exited with a failure. */
static void
set_failure (GError **error, const gchar *what, const gchar *const *args,
             BerthSubprocessResult *result)
{
  g_autofree gchar *text = berth_wsl_result_text (result);
  g_autofree gchar *line = joined_args (args);
  const gchar *advice = berth_wsl_advice_for (text);

  if (text[0] == '\0')
    {
      g_free (text);
      text = g_strdup ("(it printed nothing)");
    }
  if (advice != NULL)
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND,
                 "%s failed: `%s` exited with status %d: %s. To fix it, %s", what, line,
                 result->exit_status, text, advice);
  else
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND,
                 "%s failed: `%s` exited with status %d: %s", what, line, result->exit_status,
                 text);
}

gboolean
berth_wsl_exe_check (BerthWslExe *exe, const gchar *what, const gchar *const *args,
                     GCancellable *cancellable, GError **error)
{
  g_autoptr (BerthSubprocessResult) result
      = berth_wsl_exe_run (exe, args, NULL, cancellable, error);

  if (result == NULL)
    return FALSE;
  if (result->exit_status != 0)
    {
      set_failure (error, what, args, result);
      return FALSE;
    }
  return TRUE;
}

/* An old wsl.exe takes an option it does not know for a command line and
 * prints its usage. */
static gboolean
says_usage (const gchar *text)
{
  return strstr (text, "Usage: ") != NULL || strstr (text, "Invalid command line") != NULL;
}

GPtrArray *
berth_wsl_exe_list (BerthWslExe *exe, GCancellable *cancellable, GError **error)
{
  static const gchar *const args[] = { "--list", "--verbose", NULL };
  g_autoptr (BerthSubprocessResult) result = NULL;
  g_autofree gchar *text = NULL;
  gsize length = 0;
  const guint8 *data;

  result = berth_wsl_exe_run (exe, args, NULL, cancellable, error);
  if (result == NULL)
    return NULL;
  if (result->exit_status != 0)
    {
      g_autofree gchar *said = berth_wsl_result_text (result);

      if (berth_wsl_text_says_no_distributions (said))
        return g_ptr_array_new_with_free_func ((GDestroyNotify)berth_wsl_distro_free);
      if (says_usage (said))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                       "This Windows has a WSL without `wsl.exe --list --verbose`, so it has no "
                       "WSL 2; update Windows (WSL 2 needs Windows 10 version 1903 or later), "
                       "then %s",
                       "run `wsl.exe --install --no-distribution` as administrator");
          return NULL;
        }
      set_failure (error, "Listing the WSL distributions", args, result);
      return NULL;
    }
  data = g_bytes_get_data (result->stdout_bytes, &length);
  text = berth_wsl_decode (data, length);
  return berth_wsl_parse_list_verbose (text, error);
}

BerthWslStatus *
berth_wsl_exe_status (BerthWslExe *exe, GCancellable *cancellable, GError **error)
{
  static const gchar *const args[] = { "--status", NULL };
  g_autoptr (BerthSubprocessResult) result = NULL;
  g_autofree gchar *text = NULL;

  result = berth_wsl_exe_run (exe, args, NULL, cancellable, error);
  if (result == NULL)
    return NULL;
  text = berth_wsl_result_text (result);
  if (result->exit_status != 0 && says_usage (text))
    return g_new0 (BerthWslStatus, 1);
  if (result->exit_status != 0 && berth_wsl_advice_for (text) == NULL)
    {
      set_failure (error, "Asking WSL for its status", args, result);
      return NULL;
    }
  return berth_wsl_parse_status (text);
}

static GStrv
exec_args (const gchar *distro, const gchar *user, const gchar *const *argv)
{
  g_autoptr (GStrvBuilder) args = g_strv_builder_new ();

  g_strv_builder_add_many (args, "--distribution", distro, NULL);
  if (user != NULL)
    g_strv_builder_add_many (args, "--user", user, NULL);
  g_strv_builder_add (args, "--exec");
  g_strv_builder_addv (args, (const char **)argv);
  return g_strv_builder_end (args);
}

BerthSubprocessResult *
berth_wsl_exe_exec (BerthWslExe *exe, const gchar *distro, const gchar *user,
                    const gchar *const *argv, const BerthWslRunOptions *options,
                    GCancellable *cancellable, GError **error)
{
  g_auto (GStrv) args = NULL;

  g_return_val_if_fail (distro != NULL && argv != NULL && argv[0] != NULL, NULL);

  args = exec_args (distro, user, argv);
  return berth_wsl_exe_run (exe, (const gchar *const *)args, options, cancellable, error);
}

gchar *
berth_wsl_exe_exec_check (BerthWslExe *exe, const gchar *distro, const gchar *user,
                          const gchar *const *argv, const BerthWslRunOptions *options,
                          GCancellable *cancellable, GError **error)
{
  g_autoptr (BerthSubprocessResult) result
      = berth_wsl_exe_exec (exe, distro, user, argv, options, cancellable, error);
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;
  g_autofree gchar *line = NULL;

  if (result == NULL)
    return NULL;
  out = bytes_text (result->stdout_bytes, FALSE, G_MAXSIZE);
  if (result->exit_status == 0)
    return g_steal_pointer (&out);
  {
    g_auto (GStrv) args = exec_args (distro, user, argv);

    line = joined_args ((const gchar *const *)args);
  }
  err = g_strstrip (bytes_text (result->stderr_bytes, FALSE, LOG_EXEC_BYTES));
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_BACKEND,
               "`%s` exited with status %d in the WSL distribution %s%s%s", line,
               result->exit_status, distro, err[0] != '\0' ? ": " : "", err);
  return NULL;
}

BerthWslDistro *
berth_wsl_find_distro (GPtrArray *distros, const gchar *name)
{
  g_return_val_if_fail (distros != NULL && name != NULL, NULL);

  for (guint i = 0; i < distros->len; i++)
    {
      BerthWslDistro *distro = g_ptr_array_index (distros, i);

      if (g_ascii_strcasecmp (distro->name, name) == 0)
        return distro;
    }
  return NULL;
}
