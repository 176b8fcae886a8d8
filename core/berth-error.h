/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define BERTH_ERROR (berth_error_quark ())

typedef enum
{
  BERTH_ERROR_FAILED,
  BERTH_ERROR_NOT_SUPPORTED,
  BERTH_ERROR_INVALID_SETTING,
  BERTH_ERROR_NOT_FOUND,
  BERTH_ERROR_BUSY,
  BERTH_ERROR_CANCELLED,
  BERTH_ERROR_PLUGIN,
  BERTH_ERROR_BACKEND,
  BERTH_ERROR_DOWNLOAD,
  BERTH_ERROR_CHECKSUM,
  BERTH_ERROR_AUTH,
  BERTH_ERROR_INVALID_DATA,
  BERTH_ERROR_TIMED_OUT,
} BerthError;

GQuark berth_error_quark (void);
const gchar *berth_error_code_to_string (gint code);
void berth_error_convert (GError **error);

G_END_DECLS
