/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for API request bodies (frontends/daemon/
 * berth-api-server.c): the bytes are sent as the body of every route, read
 * as berthd reads it before the route runs (berth_api_server_read_body()),
 * and held against the second JSON reader (fuzz-json-reference.c) and the
 * route's own rules (berth_api_server_get_route()):
 *
 * - what a route accepts is an object that the other reader reads the same,
 *   node by node (what reaches the route is what was sent), with only the
 *   route's members, each of its type, and its required strings not empty;
 * - what the other reader reads as an object keeping to those rules, the
 *   route accepts: no valid request is refused;
 * - a body of JSON whitespace only is no body: nothing for a route whose
 *   body is optional, an error for one that needs an object;
 * - a route that takes no body reads none;
 * - a refusal is BERTH_ERROR_INVALID_DATA with a UTF-8 message (it goes
 *   back to the client inside a JSON answer).
 *
 * Built by tests/fuzz/meson.build; run with G_DEBUG=fatal-criticals and
 * json.dict. The settings routes hand the object to the settings, which
 * fuzz-settings covers. */

#include "config.h"

#include <string.h>

#include "berth-error.h"

#include "berth-api-server-private.h"

#include "fuzz-common.h"
#include "fuzz-json-reference.h"

/* Whether @object keeps to @members: only those names, each of its type. */
static gboolean
keeps_to (JsonObject *object, const BerthApiMember *members)
{
  g_autoptr (GList) names = json_object_get_members (object);

  if (members == NULL)
    return TRUE;
  for (GList *l = names; l != NULL; l = l->next)
    {
      const BerthApiMember *m = members;

      while (m->name != NULL && strcmp (m->name, l->data) != 0)
        m++;
      if (m->name == NULL)
        return FALSE;
    }
  for (const BerthApiMember *m = members; m->name != NULL; m++)
    {
      JsonNode *node = json_object_get_member (object, m->name);
      GType type = node != NULL && JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node)
                                                                 : G_TYPE_INVALID;

      switch (m->type)
        {
        case BERTH_API_MEMBER_STRING:
          if (node != NULL && type != G_TYPE_STRING)
            return FALSE;
          break;
        case BERTH_API_MEMBER_REQUIRED_STRING:
          if (type != G_TYPE_STRING || json_node_get_string (node)[0] == '\0')
            return FALSE;
          break;
        case BERTH_API_MEMBER_BOOLEAN:
          if (node != NULL && type != G_TYPE_BOOLEAN)
            return FALSE;
          break;
        case BERTH_API_MEMBER_PORT:
          if (node != NULL
              && (type != G_TYPE_INT64 || json_node_get_int (node) < 0
                  || json_node_get_int (node) > 65535))
            return FALSE;
          break;
        case BERTH_API_MEMBER_REQUIRED_PORT_OR_NAME:
          if (type == G_TYPE_STRING)
            {
              if (json_node_get_string (node)[0] == '\0')
                return FALSE;
            }
          else if (type != G_TYPE_INT64 || json_node_get_int (node) < 1
                   || json_node_get_int (node) > 65535)
            return FALSE;
          break;
        default:
          g_assert_not_reached ();
        }
    }
  return TRUE;
}

static gboolean
only_json_whitespace (const uint8_t *data, size_t size)
{
  for (size_t i = 0; i < size; i++)
    if (data[i] != ' ' && data[i] != '\t' && data[i] != '\n' && data[i] != '\r')
      return FALSE;
  return TRUE;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (JsonNode) sent
      = berth_fuzz_json_reference_parse (data, size, BERTH_API_MAX_JSON_DEPTH, NULL);
  gboolean empty = only_json_whitespace (data, size);
  const gchar *method, *path;
  BerthApiBodyKind kind;
  const BerthApiMember *members;

  for (guint i = 0; berth_api_server_get_route (i, &method, &path, &kind, &members); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonNode) body
          = berth_api_server_read_body (method, path, (const gchar *)data, size, &error);
      g_autofree gchar *what = g_strdup_printf ("the body of %s %s", method, path);
      gboolean valid;

      if (kind == BERTH_API_BODY_NONE || (empty && kind == BERTH_API_BODY_OPTIONAL_OBJECT))
        {
          g_assert_null (body);
          g_assert_no_error (error);
          continue;
        }
      valid = sent != NULL && JSON_NODE_HOLDS_OBJECT (sent)
              && keeps_to (json_node_get_object (sent), members);
      if (body == NULL)
        {
          if (valid)
            g_error ("%s was refused, and it is a valid request: %s", what, error->message);
          g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
          g_assert_true (g_utf8_validate (error->message, -1, NULL));
          continue;
        }
      g_assert_no_error (error);
      if (!valid)
        g_error ("%s was accepted, and it is not a valid request", what);
      berth_fuzz_json_assert_equal (body, sent, what);
    }
  return 0;
}
