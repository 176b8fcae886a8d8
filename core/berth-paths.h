/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib-object.h>

#include "berth-enums.h"

G_BEGIN_DECLS

/* Where Berth keeps things, per platform, after Rancher Desktop's rules.
 * A field a platform does not have is NULL (lima on Windows; the WSL
 * directories off Windows). */
typedef struct
{
  BerthPlatform platform;
  gchar *config;          /* settings.json lives here */
  gchar *data;            /* berth-engine.json, sockets, logs' parent */
  gchar *logs;
  gchar *cache;           /* downloads, guest images; safe to remove */
  gchar *lima;            /* Lima-layout instance directories */
  gchar *integration;     /* where CLI tools are linked for the user */
  gchar *wsl_distro;      /* Windows only */
  gchar *wsl_distro_data; /* Windows only */
  gchar *runtime;         /* short socket paths; may equal data */
} BerthPaths;

#define BERTH_TYPE_PATHS (berth_paths_get_type ())
GType berth_paths_get_type (void);

/* The paths for this process, from its environment and home directory. */
BerthPaths *berth_paths_new (void);
/* The paths @platform would use given the environment @envp (as from
 * g_get_environ(); NULL for none) and the home directory @home. */
BerthPaths *berth_paths_new_for_platform (BerthPlatform platform,
                                          const gchar *const *envp,
                                          const gchar *home);
BerthPaths *berth_paths_copy (const BerthPaths *paths);
void berth_paths_free (BerthPaths *paths);
/* The settings file: <config>/settings.json */
gchar *berth_paths_get_settings_file (const BerthPaths *paths);
/* The log file for @component: <logs>/<component>.log */
gchar *berth_paths_get_log_file (const BerthPaths *paths, const gchar *component);
/* Download cache root: <cache>/download */
gchar *berth_paths_get_download_cache (const BerthPaths *paths);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthPaths, berth_paths_free)

G_END_DECLS
