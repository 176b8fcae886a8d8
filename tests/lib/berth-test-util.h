/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The fixture code Berth's tests share: throwaway directories, paths and
 * settings under them, a plugin as berthd loads it, waiting on the main
 * context, files and programs. Every function asserts on failure: a test
 * that cannot set itself up fails there, saying what went wrong. */

#include <berth.h>

G_BEGIN_DECLS

/* Call first in main(), before anything starts a thread. Forks a watchdog
 * in a session of its own (so that meson's kill of the test's process group
 * spares it) that waits for this process to end, however it ends: a failed
 * assertion, a signal, a timeout. Then it ends every process this one
 * started, directly or not, that still runs: a berthd that berthctl left
 * behind, QEMU, ssh. It knows them by BERTH_TEST_WATCHDOG in their
 * environment, which this sets to a value of this process's own; SIGTERM
 * first, SIGKILL to what is left after 20 s. It says on stderr what it
 * stopped, and holds stderr until it is done, so the next test does not
 * start beside leftovers. */
void
berth_test_watch_leftovers (void);

/* Removes @path and everything below it. A symbolic link is removed, never
 * followed. TRUE when nothing is left at @path. */
gboolean
berth_test_rm_rf (const gchar *path);

/* A fresh, empty directory in the temporary directory, named @prefix
 * followed by a dash and six random characters. */
gchar *
berth_test_make_root (const gchar *prefix);

/* @envp with XDG_CONFIG_HOME, XDG_DATA_HOME and XDG_CACHE_HOME set to
 * <root>/config, <root>/share and <root>/cache (not created). */
gchar **
berth_test_environ_under (gchar **envp, const gchar *root);

/* Linux paths for the home @root with the XDG directories of
 * berth_test_environ_under(), whatever this process's environment says. */
BerthPaths *
berth_test_paths_under (const gchar *root);

/* Points this process's HOME at a fresh directory and XDG_CONFIG_HOME,
 * XDG_DATA_HOME, XDG_CACHE_HOME and XDG_RUNTIME_DIR at directories of those
 * names inside it, created. Returns the home, for berth_test_rm_rf(). */
gchar *
berth_test_isolate_home (const gchar *prefix);

/* A Linux host with 8 GiB of memory and 4 CPUs. */
void
berth_test_host_info (BerthHostInfo *host);

/* The settings in @paths' settings file, loaded, for @host (NULL: the host
 * of berth_test_host_info()). */
BerthSettings *
berth_test_settings_new (const BerthPaths *paths, const BerthHostInfo *host);

/* Loads the plugins on BERTH_PLUGIN_PATH with @settings and @paths into a
 * new loader (returned in @loader) and returns the plugin named @name,
 * which the loader owns. The loader's failures are in the test log when
 * @name is not among them. */
BerthPlugin *
berth_test_load_plugin (BerthSettings *settings, const BerthPaths *paths, const gchar *name,
                        BerthPluginLoader **loader);

/* Writes @text to @path, whose directory exists, and gives it @mode. */
void
berth_test_write_file (const gchar *path, const gchar *text, gint mode);

/* The contents of @path. */
gchar *
berth_test_read_file (const gchar *path);

/* The contents of a file of the test's source directory (G_TEST_SRCDIR),
 * by path parts. */
gchar *
berth_test_read_fixture (const gchar *first, ...) G_GNUC_NULL_TERMINATED;

/* The command lines a fake CLI (the plugins' tests/fake-docker,
 * tests/fake-nerdctl) recorded in <fake_dir>/argv.log, one string each with
 * the arguments joined by '|'; the log is emptied. */
GStrv
berth_test_take_commands (const gchar *fake_dir);

/* How many of berth_test_take_commands() end with @suffix. */
guint
berth_test_count_commands_ending (const gchar *fake_dir, const gchar *suffix);

/* A GAsyncReadyCallback whose @user_data is a GAsyncResult ** that it sets
 * to a new reference to @result. */
void
berth_test_store_result (GObject *source, GAsyncResult *result, gpointer user_data);

/* Runs the default main context until *@slot is set (by
 * berth_test_store_result()), for at most @timeout_seconds (0: no bound);
 * returns *@slot. */
GAsyncResult *
berth_test_wait_result (GAsyncResult **slot, guint timeout_seconds);

/* Runs the default main context until @done returns TRUE or
 * @timeout_seconds pass; @done is asked again at least every 20 ms, so it
 * may poll (files, HTTP). Returns what @done last said. */
gboolean
berth_test_iterate_until (gboolean (*done) (gpointer), gpointer data, guint timeout_seconds);

/* Lets @ms milliseconds pass with the default main context running. */
void
berth_test_pause_ms (guint ms);

/* Runs @argv in @cwd (NULL: this one) with @envp (NULL: this process's) and
 * waits for it; asserts that it ran and exited rather than died. Returns the
 * exit status; @out and @err (may be NULL) get what it printed. */
gint
berth_test_spawn (const gchar *cwd, const gchar *const *argv, const gchar *const *envp,
                  GSpawnFlags flags, gchar **out, gchar **err);

/* A GSpawnChildSetupFunc: the child is killed when the test dies (a
 * timeout, a failed assertion), so that no berthd outlives its test. */
void
berth_test_die_with_parent (gpointer user_data);

/* How many running processes (zombies aside) have @needle in their
 * command line. */
guint
berth_test_count_processes_with_arg (const gchar *needle);

/* Reads berthd's credentials file at @path. FALSE while it is missing, not
 * a JSON object, or (when @pid is not 0) written by another process; else
 * sets @port and @password (freeing what it held). */
gboolean
berth_test_read_credentials (const gchar *path, gint64 pid, guint *port, gchar **password);

/* Puts the file @path, what @who wrote on stderr, into the test log. */
void
berth_test_show_stderr (const gchar *who, const gchar *path);

G_END_DECLS
