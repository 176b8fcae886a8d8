/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "berth-settings.h"
#include "berth-updater.h"

G_BEGIN_DECLS

/* What BerthManager does with Berth's own updates (not installed; the
 * manager is the door). As Rancher Desktop's updater does while
 * application.updater.enabled is true: a check soon after berthd starts and
 * then every few hours (what the upgrade responder's
 * requestIntervalInMinutes asks, from 1 to 24 hours; 4 hours when it does
 * not say; 10 minutes after a failure), and a newer release downloaded at
 * once, ready to apply. Turning the setting on checks at once; turning it
 * off stops the checks. A check or an apply asked for explicitly runs
 * whatever the setting.
 *
 * The status, for the API and the event stream:
 *   {supported, enabled, updater, currentVersion, state, detail, latest,
 *    lastCheck, nextCheck}
 * supported: an Updater is loaded; updater: its plugin's name; state: the
 * updater's last "update-state" (checking, up-to-date, available,
 * downloading, downloaded, applying, applied, error), or idle before the
 * first, or unsupported; detail: what it said, or why updates are
 * unsupported; latest: the last check's result; lastCheck, nextCheck: ISO
 * 8601 UTC times or null.
 *
 * $BERTH_UPDATE_CHECK_INTERVAL (seconds) replaces every interval, for tests. */
#define BERTH_TYPE_UPDATES (berth_updates_get_type ())
G_DECLARE_FINAL_TYPE (BerthUpdates, berth_updates, BERTH, UPDATES, GObject)

/* @updater: NULL when none is loaded, @unsupported_reason then saying why. */
G_GNUC_INTERNAL
BerthUpdates *
berth_updates_new (BerthSettings *settings, BerthUpdater *updater, const gchar *unsupported_reason);
/* Starts the checks when the setting asks for them. */
G_GNUC_INTERNAL
void
berth_updates_start (BerthUpdates *self);
/* The settings changed (@changed: their paths). */
G_GNUC_INTERNAL
void
berth_updates_settings_changed (BerthUpdates *self, const gchar *const *changed);
G_GNUC_INTERNAL
JsonNode *
berth_updates_dup_status (BerthUpdates *self);
G_GNUC_INTERNAL
gboolean
berth_updates_is_supported (BerthUpdates *self);
G_GNUC_INTERNAL
const gchar *
berth_updates_get_unsupported_reason (BerthUpdates *self);

/* Checks now; the result is the status after the check. */
G_GNUC_INTERNAL
void
berth_updates_check_async (BerthUpdates *self, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);
G_GNUC_INTERNAL
JsonNode *
berth_updates_check_finish (BerthUpdates *self, GAsyncResult *result, GError **error);
/* Checks and downloads as needed, then installs the newer release. */
G_GNUC_INTERNAL
void
berth_updates_apply_async (BerthUpdates *self, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);
G_GNUC_INTERNAL
gboolean
berth_updates_apply_finish (BerthUpdates *self, GAsyncResult *result, GError **error);

/* Signal "changed" (): the status changed. */

G_END_DECLS
