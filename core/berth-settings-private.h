/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Not installed: the pieces of berth-settings.c that tests and the fuzz
 * target reach into. */

#include "berth-settings-import.h"
#include "berth-settings.h"

G_BEGIN_DECLS

/* Bounds on what is read: a settings file or an update larger or deeper than
 * this is refused before it reaches the JSON parser. */
#define BERTH_SETTINGS_MAX_BYTES (1024 * 1024)
#define BERTH_SETTINGS_MAX_DEPTH 32
#define BERTH_SETTINGS_MAX_STRING_BYTES 4096
#define BERTH_SETTINGS_MAX_LIST_LENGTH 1000

/* Runs the single migration step @from_version → @from_version + 1 on @root
 * (1 <= @from_version < BERTH_SETTINGS_VERSION) and sets "version". */
gboolean
berth_settings_migrate_step (JsonObject *root, gint64 from_version, GError **error);

/* Parses @data (not necessarily NUL-terminated) with the size and nesting
 * bounds above. @what names the input in messages ("settings update"). May
 * return a NULL-free node of any type; the caller checks for an object. */
JsonNode *
berth_settings_parse_data (const gchar *data, gsize length, const gchar *what, GError **error);

/* What load does to a parsed file, in memory: migrate, fill in defaults for
 * missing keys, validate. @migrated_out says whether the version changed.
 * A file of Rancher Desktop's is imported instead (its values over the
 * defaults) and @import_out (may be NULL) receives the import; NULL
 * otherwise. */
gboolean
berth_settings_prepare (JsonNode *root, const BerthHostInfo *host, gboolean *migrated_out,
                        BerthSettingsImport **import_out, GError **error);

/* What berth-settings-import.c shares with berth-settings.c. */

/* Checks @value for the setting at @path (which must be in the schema) as
 * validation does, against @host's limits (NULL: none). */
gboolean
berth_settings_validate_value (const gchar *path, JsonNode *value, const BerthHostInfo *host,
                               GError **error);

/* A value as a message quotes it: JSON text, shortened. */
gchar *
berth_settings_describe_value (JsonNode *node);

/* A copy of @node that shares nothing with it. */
JsonNode *
berth_settings_deep_copy (JsonNode *node);

/* Whether @root is in Rancher Desktop's early shape, with nearly everything
 * under "kubernetes", as files without a version are. */
gboolean
berth_settings_looks_like_early_shape (JsonObject *root);

/* Whether @node nests objects or lists deeper than @max_depth. */
gboolean
berth_settings_node_deeper_than (JsonNode *node, guint max_depth);

/* Sets every setting in @root (a whole settings object) that holds a value
 * @host does not support back to its default, logging each; returns their
 * paths (empty when none). What a file kept from before the setting was
 * refused, or from a host that supported it, goes this way at load. */
GStrv
berth_settings_settle_unsupported (JsonNode *root, const BerthHostInfo *host);

G_END_DECLS
