/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-enums.h"

G_DEFINE_ENUM_TYPE (BerthState, berth_state,
                    G_DEFINE_ENUM_VALUE (BERTH_STATE_STOPPED, "stopped"),
                    G_DEFINE_ENUM_VALUE (BERTH_STATE_STARTING, "starting"),
                    G_DEFINE_ENUM_VALUE (BERTH_STATE_STARTED, "started"),
                    G_DEFINE_ENUM_VALUE (BERTH_STATE_STOPPING, "stopping"),
                    G_DEFINE_ENUM_VALUE (BERTH_STATE_ERROR, "error"))

G_DEFINE_ENUM_TYPE (BerthPlatform, berth_platform,
                    G_DEFINE_ENUM_VALUE (BERTH_PLATFORM_LINUX, "linux"),
                    G_DEFINE_ENUM_VALUE (BERTH_PLATFORM_DARWIN, "darwin"),
                    G_DEFINE_ENUM_VALUE (BERTH_PLATFORM_WINDOWS, "win32"))

const gchar *
berth_state_to_string (BerthState state)
{
  switch (state)
    {
    case BERTH_STATE_STOPPED:
      return "STOPPED";
    case BERTH_STATE_STARTING:
      return "STARTING";
    case BERTH_STATE_STARTED:
      return "STARTED";
    case BERTH_STATE_STOPPING:
      return "STOPPING";
    case BERTH_STATE_ERROR:
      return "ERROR";
    default:
      return "UNKNOWN";
    }
}

BerthPlatform
berth_platform_current (void)
{
#if defined(G_OS_WIN32)
  return BERTH_PLATFORM_WINDOWS;
#elif defined(__APPLE__)
  return BERTH_PLATFORM_DARWIN;
#else
  return BERTH_PLATFORM_LINUX;
#endif
}

const gchar *
berth_platform_to_string (BerthPlatform platform)
{
  switch (platform)
    {
    case BERTH_PLATFORM_LINUX:
      return "linux";
    case BERTH_PLATFORM_DARWIN:
      return "darwin";
    case BERTH_PLATFORM_WINDOWS:
      return "win32";
    default:
      return "unknown";
    }
}
