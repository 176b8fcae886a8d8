/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <berth.h>

G_BEGIN_DECLS

/* The mechanics that the image processors over an engine's CLI (plugins/moby
 * with docker, plugins/nerdctl with nerdctl) share, linked statically into
 * each module and never installed: finding the CLI, checking that the
 * engine's socket is there, running one command per operation as a logged
 * child process, parsing its `{{json .}}` list, refreshing the list while
 * active (every $BERTH_IMAGES_REFRESH_MS milliseconds, default 3000, and after
 * each operation that changes images, one refresh at a time with at most one
 * more asked for) and emitting "images-changed" on the processor when the
 * list really changed. What differs between engines comes in a
 * BerthCliImagesEngine. */

typedef struct _BerthCliImages BerthCliImages;

/* What one engine's CLI needs that another's does not. The strings and
 * callbacks stay valid for the plugin's lifetime (a static const struct). */
typedef struct
{
  const gchar *log_domain;       /* where debug messages go: the plugin's G_LOG_DOMAIN */
  const gchar *component;        /* the log file's component, e.g. "moby" */
  const gchar *program;          /* the CLI looked up in PATH, e.g. "docker" */
  const gchar *program_variable; /* the environment variable naming it instead */
  const gchar *install_hint;     /* how to get it, said when it cannot be found */
  const gchar *engine_name;      /* the engine as messages name its socket, e.g. "containerd" */
  const gchar *socket_name;      /* the engine's socket in the paths' data directory */
  const gchar *const *list_args; /* the command that prints the images as {{json .}} lines */

  /* Adds to @argv, after the program and before the command, what points the
   * CLI at @socket and, when @ns is not NULL, at namespace @ns. */
  void (*add_engine_args) (GStrvBuilder *argv, const gchar *socket, const gchar *ns);
  /* The environment the CLI runs in: the caller's, without what would point
   * it at another engine. */
  GStrv (*dup_environ) (void);
  /* @envp (taken) with what points the scanner at the engine of @socket. */
  GStrv (*scan_environ) (BerthPlugin *plugin, GStrv envp, const gchar *socket);
  /* The namespace an operation asked for @ns (nullable) runs in, in @ns_out
   * (NULL: none); FALSE with @error when @ns cannot be used. */
  gboolean (*resolve_namespace) (BerthPlugin *plugin, const gchar *ns, gchar **ns_out,
                                 GError **error);
  /* Nullable. The namespace the refresh lists; lists of other namespaces do
   * not count as changes. NULL callback or result: lists without one. */
  gchar *(*dup_watched_namespace) (BerthPlugin *plugin);
  /* Nullable. Options put between "build" and the tag and context. */
  GStrv (*dup_build_options) (BerthPlugin *plugin);
} BerthCliImagesEngine;

/* Completes @task from what a command started by berth_cli_images_run()
 * printed; called only when it exited with 0. */
typedef void (*BerthCliImagesParseFunc) (GTask *task, const BerthSubprocessResult *result);

/* Gives @plugin (a BerthImageProcessor) the mechanics for @engine; call it
 * once from the plugin's instance init. They live as long as @plugin does. */
void
berth_cli_images_attach (BerthPlugin *plugin, const BerthCliImagesEngine *engine);
/* The mechanics attached to @plugin. */
BerthCliImages *
berth_cli_images_get (BerthPlugin *plugin);

/* Fills every vfunc of @iface but list_namespaces: activate, deactivate,
 * list_images, pull, push, build, tag, remove and scan run the engine's CLI
 * (scan runs trivy) as described above. The _finish vfuncs stay NULL: the
 * core completes the GTasks itself. */
void
berth_cli_images_implement (BerthImageProcessorInterface *iface);

/* Runs the CLI with @args in namespace @ns (nullable: none) for @task
 * (taken), which @parse completes; failures to start or a non-zero exit
 * complete it with the error. */
void
berth_cli_images_run (BerthCliImages *self, GTask *task, const gchar *ns, const gchar *const *args,
                      BerthCliImagesParseFunc parse);

G_END_DECLS
