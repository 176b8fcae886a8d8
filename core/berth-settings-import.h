/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "berth-settings.h"

G_BEGIN_DECLS

/* The newest settings version of Rancher Desktop whose shape Berth knows.
 * Files of versions 1 to this one are imported as Rancher Desktop reads
 * them; a newer one is read as this version's shape, and what that shape
 * does not have is dropped and listed. */
#define BERTH_RANCHER_DESKTOP_SETTINGS_VERSION 19

/* Whether @root, a parsed settings.json, is Rancher Desktop's rather than
 * Berth's. Its version is a whole number from 1 (or missing, in Rancher
 * Desktop's early shape), it has no setting of Berth's own that Rancher
 * Desktop never had (virtualMachine.accel, application.disabledPlugins…),
 * and: a file of version 1 to 3 has a key Rancher Desktop wrote (Berth
 * never wrote those versions); a file of version 4 or later has a key that
 * Rancher Desktop had at that version (at 19 for a newer one) and Berth
 * does not. Anything else is left to Berth's own reading, which migrates,
 * or refuses with a message. */
gboolean
berth_settings_is_rancher_desktop (JsonNode *root);

#define BERTH_TYPE_SETTINGS_IMPORT (berth_settings_import_get_type ())
G_DECLARE_FINAL_TYPE (BerthSettingsImport, berth_settings_import, BERTH, SETTINGS_IMPORT, GObject)

/* Reads Rancher Desktop's settings @rancher_desktop (not changed) as
 * Rancher Desktop reads them, from any of its versions up to its latest
 * shape, and maps that onto Berth's schema. Every value Berth has a setting
 * for is carried over when Berth's validation takes it, against @host's
 * limits (a host with total_memory_bytes and n_cpus 0 sets none; its
 * platform decides what Rancher Desktop chose for it); a value validation
 * refuses is dropped with the reason. Every other key is dropped and listed
 * by its dotted path in the file. Fails (BERTH_ERROR_INVALID_DATA) only when
 * @rancher_desktop is not Rancher Desktop's settings at all: not an object,
 * no usable version, a setting only Berth has, or no key Rancher Desktop
 * writes. */
BerthSettingsImport *
berth_settings_import_new (JsonNode *rancher_desktop, const BerthHostInfo *host, GError **error);

/* The Rancher Desktop settings version that was read: 1 for a file without
 * one. */
gint64
berth_settings_import_get_version (BerthSettingsImport *self);

/* What was carried over, as a Berth settings update: an object with
 * "version" BERTH_SETTINGS_VERSION and each value at its Berth path.
 * Borrowed. */
JsonNode *
berth_settings_import_get_settings (BerthSettingsImport *self);

/* The dotted paths, as in the file, of the keys not carried over, sorted;
 * at most BERTH_SETTINGS_MAX_LIST_LENGTH of them, @n_unlisted (may be NULL)
 * receives how many more there were. NULL-terminated, borrowed. */
const gchar *const *
berth_settings_import_get_dropped (BerthSettingsImport *self, guint *n_unlisted);

/* Those of the dropped keys whose value Berth's validation refused, each
 * with Berth's message: path → reason. Borrowed. */
JsonObject *
berth_settings_import_get_refused (BerthSettingsImport *self);

/* Adds what a person should know about the import to @object:
 * "rancherDesktopSettingsVersion", "droppedSettings" (the list), and
 * "droppedNotListed" and "refusedValues" when there are any. */
void
berth_settings_import_add_to_json (BerthSettingsImport *self, JsonObject *object);

/* The dropped keys as one line for a log message: at most @max_listed of
 * them, then how many more. */
gchar *
berth_settings_import_describe_dropped (BerthSettingsImport *self, guint max_listed);

G_END_DECLS
