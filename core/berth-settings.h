/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "berth-enums.h"

G_BEGIN_DECLS

/* The settings version this build writes. Files of older versions are
 * migrated step by step; newer ones are refused. */
#define BERTH_SETTINGS_VERSION 5

/* What the host offers; limits for validation and the first-run defaults. */
typedef struct
{
  BerthPlatform platform;
  guint64 total_memory_bytes;
  guint n_cpus;
  gboolean self_updating_bundle; /* e.g. running from an AppImage */
  /* Built without the updater (a distribution's build): a change or import
   * of application.updater.enabled to true is refused. */
  gboolean updates_from_packages;
  gboolean has_pkexec;           /* polkit's pkexec is on PATH */
} BerthHostInfo;

void berth_host_info_detect (BerthHostInfo *host);

typedef enum
{
  BERTH_SETTING_BOOLEAN,
  BERTH_SETTING_INT,
  BERTH_SETTING_STRING,
  BERTH_SETTING_ENUM,        /* a string from spec->choices */
  BERTH_SETTING_STRING_LIST, /* JSON array of strings */
  BERTH_SETTING_BOOLEAN_MAP, /* JSON object of name → boolean */
} BerthSettingType;

/* What applying a change to a running Berth takes. */
typedef enum
{
  BERTH_SETTING_EFFECT_NONE,    /* applied live */
  BERTH_SETTING_EFFECT_RESTART, /* the VM must restart */
  BERTH_SETTING_EFFECT_RESET,   /* state must be wiped (Kubernetes, the VM disk) */
} BerthSettingEffect;

typedef struct
{
  const gchar *path; /* dotted key path, e.g. "virtualMachine.memoryInGB" */
  BerthSettingType type;
  const gchar *const *choices; /* ENUM only, NULL-terminated */
  gint64 min, max;             /* INT only; the host may narrow these */
  BerthSettingEffect effect;
  const gchar *description; /* one line, for --help and docs */
} BerthSettingSpec;

/* Every leaf setting, in a stable order. */
const BerthSettingSpec *berth_settings_get_schema (guint *n_specs);
const BerthSettingSpec *berth_settings_lookup_spec (const gchar *path);
const gchar *berth_setting_effect_to_string (BerthSettingEffect effect);

#define BERTH_TYPE_SETTINGS (berth_settings_get_type ())
G_DECLARE_FINAL_TYPE (BerthSettings, berth_settings, BERTH, SETTINGS, GObject)

/* What was read from a Rancher Desktop file: berth-settings-import.h. */
typedef struct _BerthSettingsImport BerthSettingsImport;

/* @path: the settings.json file. @host: NULL to detect this host. */
BerthSettings *berth_settings_new (const gchar *path, const BerthHostInfo *host);
const gchar *berth_settings_get_path (BerthSettings *self);
const BerthHostInfo *berth_settings_get_host (BerthSettings *self);

/* Reads the file. A missing file gives first-run defaults, written out. A file
 * that does not parse (or is not a settings object) is renamed to
 * settings.json.corrupt-<timestamp>, defaults are used and written, and
 * berth_settings_get_corrupt_path() says where it went (a warning is logged).
 * An older version is migrated and written back; a newer version or invalid
 * values are an error and the file is left untouched. Keys missing from the
 * file take their defaults. A file that Rancher Desktop wrote (see
 * berth_settings_is_rancher_desktop()) is imported: a copy of it is kept as
 * settings.json.rancher-desktop-<UTC time> (never over an earlier one), the
 * imported settings are written, and berth_settings_get_import() says what
 * was not carried over (it is logged too). */
gboolean berth_settings_load (BerthSettings *self, GError **error);
gboolean berth_settings_is_first_run (BerthSettings *self);
const gchar *berth_settings_get_corrupt_path (BerthSettings *self);
/* The import load made of a Rancher Desktop file, and where the file was
 * kept; NULL when load read Berth's own. */
BerthSettingsImport *
berth_settings_get_import (BerthSettings *self);
const gchar *
berth_settings_get_imported_original_path (BerthSettings *self);

/* The whole settings object (a deep copy, owned by the caller). */
JsonNode *berth_settings_dup_node (BerthSettings *self);
gchar *berth_settings_to_json (BerthSettings *self, gboolean pretty);

/* Merges the JSON object @partial into a copy of the settings, validates the
 * result whole, and only then writes it (temp file, fsync, rename) and takes
 * it. On error nothing changes. @changed_out (may be NULL) receives the key
 * paths whose values changed; "changed" is emitted with them when not empty. */
gboolean berth_settings_update (BerthSettings *self, JsonNode *partial, GStrv *changed_out,
                                GError **error);
gboolean berth_settings_update_from_json (BerthSettings *self, const gchar *json,
                                          GStrv *changed_out, GError **error);
/* Imports Rancher Desktop's settings @rancher_desktop (its settings.json,
 * parsed) as an update: each value Berth has a setting for replaces the
 * current one when it fits this host, and the whole is validated and
 * written as berth_settings_update() does. @import_out (may be NULL)
 * receives what was read and what was dropped, @changed_out (may be NULL)
 * the paths that changed. Fails for input that is not Rancher Desktop's
 * settings (see berth_settings_import_new()). */
gboolean
berth_settings_import_rancher_desktop (BerthSettings *self, JsonNode *rancher_desktop,
                                       BerthSettingsImport **import_out, GStrv *changed_out,
                                       GError **error);
/* Replaces everything with first-run defaults and writes them. */
gboolean berth_settings_reset (BerthSettings *self, GError **error);

/* Leaf values by dotted path. The path must be in the schema (a programmer
 * error otherwise). */
gboolean berth_settings_get_boolean (BerthSettings *self, const gchar *path);
gint64 berth_settings_get_int (BerthSettings *self, const gchar *path);
const gchar *berth_settings_get_string (BerthSettings *self, const gchar *path);
/* Borrowed; NULL if absent. Works for objects too ("kubernetes.options"). */
JsonNode *berth_settings_get_node (BerthSettings *self, const gchar *path);

/* The pieces, exposed for tests and tools. */
JsonNode *berth_settings_new_defaults (const BerthHostInfo *host);
/* Migrates @root in place from its "version" up to BERTH_SETTINGS_VERSION. */
gboolean berth_settings_migrate (JsonObject *root, GError **error);
gboolean berth_settings_validate (JsonNode *root, const BerthHostInfo *host, GError **error);
/* Key paths whose leaf values differ between two settings objects. */
GStrv berth_settings_diff (JsonNode *old_root, JsonNode *new_root);

/* Settings that take only their default value here (berth-settings-support.c).
 * Why the setting at @path accepts nothing but its default in this build or
 * on @host (NULL: this host), in a phrase; NULL when it is acted on. */
const gchar *
berth_settings_get_unsupported_reason (const gchar *path, const BerthHostInfo *host);
/* BERTH_ERROR_NOT_SUPPORTED naming @path, @value, the reason and the one
 * value accepted, unless @value is supported (or is the default). */
gboolean
berth_settings_check_supported (const gchar *path, JsonNode *value, const BerthHostInfo *host,
                                GError **error);
/* The default of the setting at @path on @host (NULL: this host). */
JsonNode *
berth_settings_dup_default (const gchar *path, const BerthHostInfo *host);
/* Every setting as an array of {key, type, choices?, min?, max?, default,
 * effect, description, supported, unsupportedReason?}, for frontends. */
JsonNode *
berth_settings_describe_schema (const BerthHostInfo *host);

/* Signal "changed" (GStrv changed_paths), emitted on the main context. */

G_END_DECLS
