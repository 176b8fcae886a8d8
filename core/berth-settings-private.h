#pragma once

/* Not installed: the pieces of berth-settings.c that tests and the fuzz
 * target reach into. */

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
 * missing keys, validate. @migrated_out says whether the version changed. */
gboolean
berth_settings_prepare (JsonNode *root, const BerthHostInfo *host, gboolean *migrated_out,
                        GError **error);

G_END_DECLS
