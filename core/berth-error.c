/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-error.h"

G_DEFINE_QUARK (berth-error-quark, berth_error)

const gchar *
berth_error_code_to_string (gint code)
{
  switch ((BerthError) code)
    {
    case BERTH_ERROR_FAILED:
      return "failed";
    case BERTH_ERROR_NOT_SUPPORTED:
      return "not-supported";
    case BERTH_ERROR_INVALID_SETTING:
      return "invalid-setting";
    case BERTH_ERROR_NOT_FOUND:
      return "not-found";
    case BERTH_ERROR_BUSY:
      return "busy";
    case BERTH_ERROR_CANCELLED:
      return "cancelled";
    case BERTH_ERROR_PLUGIN:
      return "plugin";
    case BERTH_ERROR_BACKEND:
      return "backend";
    case BERTH_ERROR_DOWNLOAD:
      return "download";
    case BERTH_ERROR_CHECKSUM:
      return "checksum";
    case BERTH_ERROR_AUTH:
      return "auth";
    case BERTH_ERROR_INVALID_DATA:
      return "invalid-data";
    case BERTH_ERROR_TIMED_OUT:
      return "timed-out";
    default:
      return "unknown";
    }
}

/* Turns an error from GIO (or anything not ours) into the closest BERTH_ERROR
 * code, keeping the message. Called at the edge, where GIO calls return. */
void
berth_error_convert (GError **error)
{
  GError *e;
  gint code = BERTH_ERROR_FAILED;

  if (error == NULL || *error == NULL)
    return;
  e = *error;
  if (e->domain == BERTH_ERROR)
    return;
  if (e->domain == G_IO_ERROR)
    {
      switch (e->code)
        {
        case G_IO_ERROR_NOT_FOUND:
          code = BERTH_ERROR_NOT_FOUND;
          break;
        case G_IO_ERROR_CANCELLED:
          code = BERTH_ERROR_CANCELLED;
          break;
        case G_IO_ERROR_NOT_SUPPORTED:
          code = BERTH_ERROR_NOT_SUPPORTED;
          break;
        case G_IO_ERROR_BUSY:
        case G_IO_ERROR_PENDING:
          code = BERTH_ERROR_BUSY;
          break;
        case G_IO_ERROR_TIMED_OUT:
          code = BERTH_ERROR_TIMED_OUT;
          break;
        case G_IO_ERROR_PERMISSION_DENIED:
          code = BERTH_ERROR_AUTH;
          break;
        case G_IO_ERROR_INVALID_DATA:
        case G_IO_ERROR_PARTIAL_INPUT:
          code = BERTH_ERROR_INVALID_DATA;
          break;
        default:
          break;
        }
    }
  e->domain = BERTH_ERROR;
  e->code = code;
}
