/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "berth-settings.h"

G_BEGIN_DECLS

/* Settings as command-line flags, rdctl style: "virtualMachine.memoryInGB"
 * becomes "--virtual-machine.memory-in-gb". */
gchar *berthctl_flag_name_for_path (const gchar *path);

/* Collects `set` flags into a partial settings object. */
typedef struct _BerthctlSettingFlags BerthctlSettingFlags;

BerthctlSettingFlags *berthctl_setting_flags_new (void);
void berthctl_setting_flags_free (BerthctlSettingFlags *flags);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthctlSettingFlags, berthctl_setting_flags_free)

/* An option group with one flag per setting plus rdctl's aliases. The group
 * keeps a reference to @flags' tables; @flags must outlive it. */
GOptionGroup *berthctl_setting_flags_get_group (BerthctlSettingFlags *flags);
/* The partial object built from the flags given, or NULL when none was. */
JsonNode *berthctl_setting_flags_dup_partial (BerthctlSettingFlags *flags);

G_END_DECLS
