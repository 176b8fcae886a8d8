/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Not installed: the two ways berth-image-list.c reads a line, for the unit
 * tests, the fuzz target and the benchmark, which compare them. */

#include "berth-image-list.h"

G_BEGIN_DECLS

typedef enum
{
  BERTH_IMAGE_LIST_PARSE_DEFAULT = 0,
  /* Every line through json-glib, as before the fast scanner existed: the
   * reference the scanner must match. */
  BERTH_IMAGE_LIST_PARSE_JSON_GLIB_ONLY = 1 << 0,
} BerthImageListParseFlags;

/* berth_image_list_parse() with @flags; *@n_json_glib_out (nullable) is the
 * number of non-blank lines that went through json-glib because the fast
 * scanner was not sure of them (or every one, with JSON_GLIB_ONLY). */
JsonNode *
berth_image_list_parse_with_flags (const gchar *data, gsize len, const gchar *ns,
                                   BerthImageListParseFlags flags, BerthImageListStats *stats,
                                   guint *n_json_glib_out);

/* The fast scanner alone, on one line without its newline: the image as
 * berth_image_list_parse() shows it (namespace @ns, nullable). NULL when the
 * line is not an image (*@skipped_out TRUE) or when the scanner is not sure
 * of the line and would send it through json-glib (*@skipped_out FALSE). */
JsonObject *
berth_image_list_scan_line (const gchar *line, gsize len, const gchar *ns, gboolean *skipped_out);

G_END_DECLS
