/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The credentials file berthd writes at start and removes on a clean exit:
 * <data>/berth-engine.json, {"user", "password", "port", "pid"}, mode 0600.
 * Clients read it to find the port and the Basic auth password. */

#define BERTH_API_CREDENTIALS_FILE "berth-engine.json"
#define BERTH_API_CREDENTIALS_USER "user"
#define BERTH_API_PASSWORD_LENGTH 32

typedef struct
{
  gchar *user;
  gchar *password;
  guint port;
  gint64 pid;
} BerthApiCredentials;

void
berth_api_credentials_free (BerthApiCredentials *credentials);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthApiCredentials, berth_api_credentials_free)

/* A fresh password of BERTH_API_PASSWORD_LENGTH URL-safe characters from the
 * kernel's random source. */
gchar *
berth_api_credentials_generate_password (GError **error);

/* Writes @path atomically (a temporary file created with mode 0600, flushed,
 * then renamed), creating its directory with mode 0700 when missing. */
gboolean
berth_api_credentials_write (const gchar *path, const BerthApiCredentials *credentials,
                             GError **error);
/* Reads and checks the file; INVALID_DATA when it is not the expected shape. */
BerthApiCredentials *
berth_api_credentials_read (const gchar *path, GError **error);

/* Compares two secrets in time that depends only on their lengths. */
gboolean
berth_api_credentials_equal (const gchar *a, const gchar *b);

G_END_DECLS
