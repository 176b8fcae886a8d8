/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Not installed: how berth-api-server.c reads request bodies, for
 * tests/fuzz/fuzz-api-body.c, which feeds every route's body reader without
 * a server or a manager. */

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Nesting deeper than this is refused before the parser sees it: json-glib
 * parses recursively, and a megabyte of '[' must not exhaust the stack. */
#define BERTH_API_MAX_JSON_DEPTH 64

/* What a route takes as its request body. */
typedef enum
{
  BERTH_API_BODY_NONE,            /* nothing; a body sent is not read */
  BERTH_API_BODY_OPTIONAL_OBJECT, /* nothing (or JSON whitespace), or a JSON object */
  BERTH_API_BODY_OBJECT,          /* a JSON object */
} BerthApiBodyKind;

/* What a member of a route's body must be when it is there. */
typedef enum
{
  BERTH_API_MEMBER_STRING,                /* a string */
  BERTH_API_MEMBER_REQUIRED_STRING,       /* a string that is not empty, and there */
  BERTH_API_MEMBER_BOOLEAN,               /* true or false */
  BERTH_API_MEMBER_PORT,                  /* an integer from 0 to 65535 */
  BERTH_API_MEMBER_REQUIRED_PORT_OR_NAME, /* there: an integer from 1 to 65535 or a
                                           * non-empty string (a named port) */
} BerthApiMemberType;

typedef struct
{
  const gchar *name;
  BerthApiMemberType type;
} BerthApiMember;

/* Route @index (from 0) of the API: its method, its path, the body it takes
 * and, for an object, the members allowed in it (ended by a NULL name), or
 * NULL when the route hands the object on as it is (the settings routes:
 * the settings check it). FALSE past the last route. Each out argument is
 * nullable. */
gboolean
berth_api_server_get_route (guint index, const gchar **method_out, const gchar **path_out,
                            BerthApiBodyKind *kind_out, const BerthApiMember **members_out);

/* Reads @length bytes as the request body of @method @path, as berthd does
 * before the route runs: JSON's whitespace around it, UTF-8, RFC 8259 (at
 * most BERTH_API_MAX_JSON_DEPTH deep), an object, and only the route's
 * members, each of its type. Returns the object, or NULL: with
 * BERTH_ERROR_INVALID_DATA saying what is wrong, or with no error when the
 * route takes no body or the body may be and is empty. @method @path must be
 * a route. */
JsonNode *
berth_api_server_read_body (const gchar *method, const gchar *path, const gchar *data, gsize length,
                            GError **error);

G_END_DECLS
