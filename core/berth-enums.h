/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* The one state machine shared by the manager and every backend. */
typedef enum
{
  BERTH_STATE_STOPPED,
  BERTH_STATE_STARTING,
  BERTH_STATE_STARTED,
  BERTH_STATE_STOPPING,
  BERTH_STATE_ERROR,
} BerthState;

#define BERTH_TYPE_STATE (berth_state_get_type ())
GType berth_state_get_type (void);
const gchar *berth_state_to_string (BerthState state);

typedef enum
{
  BERTH_PLATFORM_LINUX,
  BERTH_PLATFORM_DARWIN,
  BERTH_PLATFORM_WINDOWS,
} BerthPlatform;

#define BERTH_TYPE_PLATFORM (berth_platform_get_type ())
GType berth_platform_get_type (void);
BerthPlatform berth_platform_current (void);
const gchar *berth_platform_to_string (BerthPlatform platform);

G_END_DECLS
