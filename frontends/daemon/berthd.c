/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth.h"

#include "berth-api-credentials.h"
#include "berth-api-server.h"
#include "berth-daemon-log.h"

/* berthd: hosts BerthManager and serves the API on 127.0.0.1. */

typedef struct
{
  GMainLoop *loop;
  BerthManager *manager;
  BerthApiServer *server;
  gchar *credentials_path;
  gboolean shutting_down;
  gboolean restart; /* run again, as it was started, once stopped */
  gint exit_status;
} Daemon;

static void
daemon_stop_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Daemon *daemon = user_data;
  g_autoptr (GError) error = NULL;

  if (!berth_manager_stop_finish (BERTH_MANAGER (source), result, &error))
    {
      g_warning ("The VM did not stop cleanly: %s", error->message);
      daemon->exit_status = EXIT_FAILURE;
    }
  g_main_loop_quit (daemon->loop);
}

/* A clean exit stops the VM first, as Rancher Desktop does when it quits. A
 * second request while stopping exits at once. */
static void
daemon_shutdown (Daemon *daemon, const gchar *why)
{
  if (daemon->shutting_down)
    {
      g_message ("%s again while stopping: exiting now", why);
      g_main_loop_quit (daemon->loop);
      return;
    }
  daemon->shutting_down = TRUE;
  g_message ("%s: stopping the VM and exiting", why);
  /* A lock guards against frontends, not against berthd going away. */
  berth_manager_set_locked (daemon->manager, FALSE);
  berth_manager_stop_async (daemon->manager, NULL, daemon_stop_done, daemon);
}

static gboolean
on_unix_signal (gpointer user_data)
{
  Daemon *daemon = user_data;

  daemon_shutdown (daemon, "Signal received");
  return G_SOURCE_CONTINUE;
}

static void
on_shutdown_requested (BerthApiServer *server, Daemon *daemon)
{
  daemon_shutdown (daemon, "Shutdown asked through the API");
}

/* An update was installed: stop as for a shutdown, then run again through
 * the path berthd was started by, which now leads to the new release. */
static void
on_restart_requested (BerthApiServer *server, Daemon *daemon)
{
  daemon->restart = TRUE;
  daemon_shutdown (daemon, "A new release was installed");
}

/* The path berthd was started by, as it was given (a release's
 * <root>/current/bin/berthd keeps its link), made absolute. */
static gchar *
started_as (const gchar *argv0)
{
  if (strchr (argv0, '/') != NULL)
    return g_canonicalize_filename (argv0, NULL);
  return g_find_program_in_path (argv0);
}

static int
restart (gchar *const *argv, const gchar *path)
{
  g_message ("Restarting as %s", path);
  berth_daemon_log_close ();
  execv (path, argv);
  g_printerr ("berthd: could not restart as %s: %s; start berthd again\n", path,
              g_strerror (errno));
  return EXIT_FAILURE;
}

static gboolean
parse_port (const gchar *text, const gchar *what, guint *port_out, GError **error)
{
  guint64 port = 0;
  g_autoptr (GError) local_error = NULL;

  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT16, &port, &local_error))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s \"%s\" is not a port: use 0 (any free port) to 65535", what, text);
      return FALSE;
    }
  *port_out = (guint)port;
  return TRUE;
}

/* An origin as a browser sends it in Origin: scheme://host[:port], nothing
 * more. */
static gboolean
is_origin (const gchar *text)
{
  g_autoptr (GUri) uri = g_uri_parse (text, G_URI_FLAGS_NONE, NULL);

  return uri != NULL && g_uri_get_host (uri) != NULL && g_uri_get_host (uri)[0] != '\0'
         && g_uri_get_userinfo (uri) == NULL && g_uri_get_path (uri)[0] == '\0'
         && g_uri_get_query (uri) == NULL && g_uri_get_fragment (uri) == NULL;
}

/* $BERTH_API_ALLOWED_ORIGINS: origins separated by commas, blanks around
 * them ignored. */
static GStrv
parse_allowed_origins (const gchar *text, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (text, ",", -1);
  g_autoptr (GStrvBuilder) origins = g_strv_builder_new ();

  for (gsize i = 0; parts[i] != NULL; i++)
    {
      const gchar *origin = g_strstrip (parts[i]);

      if (origin[0] == '\0')
        continue;
      if (!is_origin (origin))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "$BERTH_API_ALLOWED_ORIGINS: \"%s\" is not an origin; write each as "
                       "scheme://host[:port] with no path, separated by commas "
                       "(e.g. http://localhost:3000)",
                       origin);
          return NULL;
        }
      g_strv_builder_add (origins, origin);
    }
  return g_strv_builder_end (origins);
}

/* Another berthd with the same data directory would fight this one over the
 * VM: refuse to run beside it. A file left by one that died is replaced. */
static gboolean
check_single_instance (const gchar *credentials_path, GError **error)
{
  g_autoptr (BerthApiCredentials) credentials = NULL;
  g_autofree gchar *comm_path = NULL;
  g_autofree gchar *comm = NULL;

  credentials = berth_api_credentials_read (credentials_path, NULL);
  if (credentials == NULL || credentials->pid <= 0 || credentials->pid == (gint64)getpid ())
    return TRUE;
  if (credentials->pid > G_MAXINT || !berth_process_is_running ((gint)credentials->pid))
    {
      g_message ("Replacing %s, left by berthd pid %" G_GINT64_FORMAT " which is gone",
                 credentials_path, credentials->pid);
      return TRUE;
    }
  comm_path = g_strdup_printf ("/proc/%" G_GINT64_FORMAT "/comm", credentials->pid);
  if (g_file_get_contents (comm_path, &comm, NULL, NULL) && g_str_has_prefix (comm, "berthd"))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_BUSY,
                   "berthd is already running (pid %" G_GINT64_FORMAT ", port %u, per %s); "
                   "stop it first with `berthctl shutdown`",
                   credentials->pid, credentials->port, credentials_path);
      return FALSE;
    }
  g_message ("Replacing %s: its pid %" G_GINT64_FORMAT " is no longer berthd", credentials_path,
             credentials->pid);
  return TRUE;
}

/* Into the log, and onto stderr when the log alone would not show it. */
static void
report_fatal (gboolean foreground, const GError *error)
{
  g_warning ("%s", error->message);
  if (!foreground)
    g_printerr ("berthd: %s\n", error->message);
  berth_daemon_log_close ();
}

static void
remove_credentials (const gchar *path)
{
  g_autoptr (BerthApiCredentials) credentials = berth_api_credentials_read (path, NULL);

  /* Only ours: never a file a newer berthd wrote. */
  if (credentials != NULL && credentials->pid != (gint64)getpid ())
    return;
  if (g_unlink (path) != 0 && errno != ENOENT)
    g_warning ("Could not remove the API credentials %s: %s", path, g_strerror (errno));
}

/* application.debug: berthd's debug messages in its log, from now on. */
static void
apply_debug_setting (BerthManager *manager, gboolean announce)
{
  gboolean debug
      = berth_settings_get_boolean (berth_manager_get_settings (manager), "application.debug");

  berth_daemon_log_set_debug (debug);
  if (announce || debug)
    g_message ("Debug messages %s (application.debug)", debug ? "logged" : "no longer logged");
}

static void
on_settings_changed (BerthManager *manager, const gchar *const *changed, gpointer user_data)
{
  g_autofree gchar *list = g_strjoinv (", ", (gchar **)changed);

  if (g_strv_contains (changed, "application.debug"))
    apply_debug_setting (manager, TRUE);
  g_debug ("settings-changed for %s", list);
}

int
main (int argc, char **argv)
{
  gboolean opt_foreground = FALSE;
  gboolean opt_verbose = FALSE;
  gboolean opt_version = FALSE;
  g_autofree gchar *opt_port = NULL;
  const GOptionEntry entries[] = {
    { "foreground", 'f', 0, G_OPTION_ARG_NONE, &opt_foreground,
      "Also log to stderr (for development; berthd never forks either way)", NULL },
    { "port", 'p', 0, G_OPTION_ARG_STRING, &opt_port,
      "Port on 127.0.0.1 for the API (0: any free port; default $BERTH_API_PORT, then 6107)",
      "PORT" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, "Log debugging detail", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthPaths) paths = NULL;
  g_autoptr (BerthManager) manager = NULL;
  g_autoptr (BerthApiServer) server = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  g_autofree gchar *password = NULL;
  g_autofree gchar *credentials_path = NULL;
  BerthApiCredentials credentials = { 0 };
  const gchar *env_port;
  const gchar *env_origins;
  g_auto (GStrv) allowed_origins = NULL;
  guint port = BERTH_API_DEFAULT_PORT;
  Daemon daemon = { 0 };
  guint signal_ids[3];
  g_auto (GStrv) original_argv = g_strdupv (argv);
  g_autofree gchar *program = started_as (argv[0]);

  setlocale (LC_ALL, "");
  g_set_prgname ("berthd");
  /* A client that hangs up must not kill the daemon. */
  signal (SIGPIPE, SIG_IGN);

  context = g_option_context_new (NULL);
  g_option_context_set_summary (
      context, "Berth's daemon: runs the VM, its settings and plugins, and serves the API that "
               "berthctl and the desktop frontends use, on 127.0.0.1 only.\n\n"
               "berthd always stays in the foreground and never forks: systemd (berthd.service) "
               "or the session's autostart manages it. --foreground only adds logging to stderr; "
               "the log is always written to $XDG_STATE_HOME/berth/logs/berthd.log.\n\n"
               "Clients find the port and the password in $XDG_DATA_HOME/berth/berth-engine.json "
               "(mode 0600), written at start and removed on a clean exit. Requests from web "
               "pages (with an Origin header) are refused unless $BERTH_API_ALLOWED_ORIGINS "
               "lists their origin (comma-separated, e.g. http://localhost:3000).");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("berthd: %s\nTry berthd --help.\n", error->message);
      return 2;
    }
  if (opt_version)
    {
      g_print ("berthd %s (plugin ABI %d)\n", BERTH_VERSION_STRING, BERTH_PLUGIN_ABI);
      return EXIT_SUCCESS;
    }
  if (argc > 1)
    {
      g_printerr ("berthd: unexpected argument \"%s\"; berthd takes options only\n", argv[1]);
      return 2;
    }

  env_port = g_getenv ("BERTH_API_PORT");
  if (opt_port != NULL)
    {
      if (!parse_port (opt_port, "--port", &port, &error))
        {
          g_printerr ("berthd: %s\n", error->message);
          return 2;
        }
    }
  else if (env_port != NULL && env_port[0] != '\0')
    {
      if (!parse_port (env_port, "$BERTH_API_PORT", &port, &error))
        {
          g_printerr ("berthd: %s\n", error->message);
          return 2;
        }
    }

  env_origins = g_getenv ("BERTH_API_ALLOWED_ORIGINS");
  allowed_origins = parse_allowed_origins (env_origins != NULL ? env_origins : "", &error);
  if (allowed_origins == NULL)
    {
      g_printerr ("berthd: %s\n", error->message);
      return 2;
    }

  paths = berth_paths_new ();
  if (!berth_daemon_log_init (paths->logs, opt_foreground, opt_verbose, &error))
    {
      g_printerr ("berthd: could not open the log in %s (%s); logging to stderr only\n",
                  paths->logs, error->message);
      g_clear_error (&error);
    }
  g_message ("berthd %s starting (pid %d)", BERTH_VERSION_STRING, (gint)getpid ());

  credentials_path = g_build_filename (paths->data, BERTH_API_CREDENTIALS_FILE, NULL);
  if (!check_single_instance (credentials_path, &error))
    {
      report_fatal (opt_foreground, error);
      return EXIT_FAILURE;
    }

  manager = berth_manager_new (paths, NULL);
  if (!berth_manager_load (manager, NULL, &error))
    {
      g_prefix_error (&error, "Could not load Berth: ");
      report_fatal (opt_foreground, error);
      return EXIT_FAILURE;
    }
  apply_debug_setting (manager, FALSE);
  g_signal_connect (manager, "settings-changed", G_CALLBACK (on_settings_changed), NULL);

  password = berth_api_credentials_generate_password (&error);
  if (password == NULL)
    {
      report_fatal (opt_foreground, error);
      return EXIT_FAILURE;
    }
  server = berth_api_server_new (manager, BERTH_API_CREDENTIALS_USER, password);
  berth_api_server_set_allowed_origins (server, (const gchar *const *)allowed_origins);
  if (allowed_origins[0] != NULL)
    {
      g_autofree gchar *list = g_strjoinv (", ", allowed_origins);

      g_message ("Browser pages of these origins may use the API: %s", list);
    }
  if (!berth_api_server_listen (server, port, &error))
    {
      report_fatal (opt_foreground, error);
      return EXIT_FAILURE;
    }

  credentials.user = (gchar *)BERTH_API_CREDENTIALS_USER;
  credentials.password = password;
  credentials.port = berth_api_server_get_port (server);
  credentials.pid = (gint64)getpid ();
  if (!berth_api_credentials_write (credentials_path, &credentials, &error))
    {
      report_fatal (opt_foreground, error);
      return EXIT_FAILURE;
    }
  g_message ("API credentials written to %s", credentials_path);

  loop = g_main_loop_new (NULL, FALSE);
  daemon.loop = loop;
  daemon.manager = manager;
  daemon.server = server;
  daemon.credentials_path = credentials_path;
  daemon.exit_status = EXIT_SUCCESS;
  g_signal_connect (server, "shutdown-requested", G_CALLBACK (on_shutdown_requested), &daemon);
  g_signal_connect (server, "restart-requested", G_CALLBACK (on_restart_requested), &daemon);
  signal_ids[0] = g_unix_signal_add (SIGTERM, on_unix_signal, &daemon);
  signal_ids[1] = g_unix_signal_add (SIGINT, on_unix_signal, &daemon);
  signal_ids[2] = g_unix_signal_add (SIGHUP, on_unix_signal, &daemon);

  g_main_loop_run (loop);

  for (gsize i = 0; i < G_N_ELEMENTS (signal_ids); i++)
    g_source_remove (signal_ids[i]);
  /* Clients learn berthd is gone from a missing file, not a dead port. */
  remove_credentials (credentials_path);
  berth_api_server_close (server);
  /* Let the close frames go out. */
  for (gint i = 0; i < 20 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  g_message ("berthd exiting (status %d)", daemon.exit_status);
  g_clear_object (&server);
  g_clear_object (&manager);
  if (daemon.restart && daemon.exit_status == EXIT_SUCCESS && program != NULL)
    return restart (original_argv, program);
  berth_daemon_log_close ();
  return daemon.exit_status;
}
