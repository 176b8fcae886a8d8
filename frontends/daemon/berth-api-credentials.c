/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-file.h"

#include "berth-api-credentials.h"

/* 64 symbols, so one random byte masked to six bits picks one uniformly. */
static const gchar password_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "abcdefghijklmnopqrstuvwxyz"
                                         "0123456789-_";

void
berth_api_credentials_free (BerthApiCredentials *credentials)
{
  if (credentials == NULL)
    return;
  g_free (credentials->user);
  if (credentials->password != NULL)
    explicit_bzero (credentials->password, strlen (credentials->password));
  g_free (credentials->password);
  g_free (credentials);
}

gchar *
berth_api_credentials_generate_password (GError **error)
{
  guint8 random_bytes[BERTH_API_PASSWORD_LENGTH];
  g_autofree gchar *password = g_new0 (gchar, BERTH_API_PASSWORD_LENGTH + 1);
  int rc;

  G_STATIC_ASSERT (sizeof password_alphabet - 1 == 64);

  rc = gnutls_rnd (GNUTLS_RND_KEY, random_bytes, sizeof random_bytes);
  if (rc < 0)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                   "Could not get random bytes for the API password: %s", gnutls_strerror (rc));
      return NULL;
    }
  for (gsize i = 0; i < sizeof random_bytes; i++)
    password[i] = password_alphabet[random_bytes[i] & 63];
  explicit_bzero (random_bytes, sizeof random_bytes);
  return g_steal_pointer (&password);
}

gboolean
berth_api_credentials_write (const gchar *path, const BerthApiCredentials *credentials,
                             GError **error)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree gchar *data = NULL;
  g_autofree gchar *with_newline = NULL;
  gsize len = 0;
  gboolean ok;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (credentials != NULL, FALSE);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "user");
  json_builder_add_string_value (builder, credentials->user);
  json_builder_set_member_name (builder, "password");
  json_builder_add_string_value (builder, credentials->password);
  json_builder_set_member_name (builder, "port");
  json_builder_add_int_value (builder, credentials->port);
  json_builder_set_member_name (builder, "pid");
  json_builder_add_int_value (builder, credentials->pid);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  data = json_generator_to_data (generator, &len);

  /* Written whole or not at all, 0600 from the start: the password is
   * never readable by others, not even between creation and a chmod. A
   * berthd killed while writing leaves a temporary file; this one, at
   * start, removes it. */
  berth_file_remove_stale_temporaries (path);
  with_newline = g_strconcat (data, "\n", NULL);
  ok = berth_file_replace_contents (path, with_newline, len + 1, 0600, error);
  explicit_bzero (data, len);
  explicit_bzero (with_newline, len + 1);
  return ok;
}

BerthApiCredentials *
berth_api_credentials_read (const gchar *path, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (BerthApiCredentials) credentials = g_new0 (BerthApiCredentials, 1);
  g_autoptr (GError) local_error = NULL;
  JsonObject *object;
  JsonNode *root;

  if (!json_parser_load_from_mapped_file (parser, path, &local_error))
    {
      gint code = g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                      ? BERTH_ERROR_NOT_FOUND
                      : BERTH_ERROR_INVALID_DATA;

      g_set_error (error, BERTH_ERROR, code, "Could not read the API credentials %s: %s", path,
                   local_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "The API credentials %s are not a JSON object", path);
      return NULL;
    }
  object = json_node_get_object (root);
  for (guint i = 0; i < 4; i++)
    {
      static const gchar *const members[] = { "user", "password", "port", "pid" };
      JsonNode *member = json_object_get_member (object, members[i]);
      GType want = i < 2 ? G_TYPE_STRING : G_TYPE_INT64;

      if (member == NULL || !JSON_NODE_HOLDS_VALUE (member)
          || json_node_get_value_type (member) != want)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "The API credentials %s lack \"%s\" (a %s)", path, members[i],
                       i < 2 ? "string" : "number");
          return NULL;
        }
    }
  credentials->user = g_strdup (json_object_get_string_member (object, "user"));
  credentials->password = g_strdup (json_object_get_string_member (object, "password"));
  if (json_object_get_int_member (object, "port") < 1
      || json_object_get_int_member (object, "port") > 65535)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "The API credentials %s name port %" G_GINT64_FORMAT "; a port is 1 to 65535",
                   path, json_object_get_int_member (object, "port"));
      return NULL;
    }
  credentials->port = (guint)json_object_get_int_member (object, "port");
  credentials->pid = json_object_get_int_member (object, "pid");
  return g_steal_pointer (&credentials);
}

gboolean
berth_api_credentials_equal (const gchar *a, const gchar *b)
{
  gsize len_a, len_b;
  guint8 diff;

  if (a == NULL || b == NULL)
    return FALSE;
  len_a = strlen (a);
  len_b = strlen (b);
  diff = len_a != len_b;
  /* Walk the whole of @a whatever the lengths, reading @b cyclically, so the
   * time taken says nothing about where the first difference is. */
  for (gsize i = 0; i < len_a; i++)
    diff |= (guint8)a[i] ^ (guint8)(len_b > 0 ? b[i % len_b] : 0);
  return diff == 0;
}
