/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for image CLI output (core/berth-image-list.c): the bytes
 * are read as `docker images` / `nerdctl images` output, as a size, a
 * CreatedAt time, an image reference, a namespace and a scanner's report.
 * Whatever comes in, the parser must return an array of objects that each
 * have a string id, within its limits, and the checks must answer yes or no
 * without a critical. The list is parsed twice, with the fast scanner and
 * with json-glib for every line, and the two must agree to the byte (same
 * counts, same members in the same order, same values): any difference
 * aborts. And every line that is strictly an image line (RFC 8259 as the
 * second reader of fuzz-json-reference.c reads it, one flat object with
 * member names written plainly, as both CLIs print them, and a non-empty
 * string ID) is in the list with the values it sent: its ID, repository,
 * tag, digest and platform to the byte, its size when it is a count of
 * bytes. Built by tests/fuzz/meson.build (see there and README.md); run
 * with G_DEBUG=fatal-criticals so that a critical reached from input counts
 * as a crash, and with image-list.dict.
 *
 * Inputs worth keeping go into tests/fuzz/corpus/image-list/, which the
 * unit suite replays (fuzz-replay-image-list, and
 * plugins/moby/tests/test-image-list.c both ways). */

#include "config.h"

#include <string.h>

#include "berth-image-list-private.h"

#include "fuzz-common.h"
#include "fuzz-json-reference.h"

/* Read by ASan and LeakSanitizer when the target is built with them. */
const char *
__asan_default_options (void);
const char *
__lsan_default_suppressions (void);

/* Whole stacks for allocations, through GLib's and json-glib's frames
 * (which have no frame pointers), so that a leak names the Berth function
 * it came from and the suppression below can match it. */
const char *
__asan_default_options (void)
{
  return "fast_unwind_on_malloc=0";
}

/* json-glib 1.6 leaks what it has built of a document it then refuses.
 * Berth's readers check text with berth_json_parse() before json-glib sees
 * it, except this one's fallback, which hands json-glib the lines the fast
 * scanner is not sure of on purpose (what json-glib makes of them is the
 * outcome both ways must give): a garbled line leaks there, in json-glib. */
const char *
__lsan_default_suppressions (void)
{
  return "leak:parse_line_json_glib\n";
}

/* A member that is a non-empty string, else NULL. */
static const gchar *
nonempty_string (JsonObject *object, const gchar *member)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node)[0] != '\0' ? json_node_get_string (node) : NULL;
}

/* Whether @image shows what @line sent. */
static gboolean
shows (JsonObject *image, JsonObject *line)
{
  const gchar *repository = nonempty_string (line, "Repository");
  const gchar *tag = nonempty_string (line, "Tag");
  const gchar *digest = nonempty_string (line, "Digest");
  const gchar *platform = nonempty_string (line, "Platform");
  JsonNode *size = json_object_get_member (line, "Size");

  if (g_strcmp0 (json_object_get_string_member (image, "id"), nonempty_string (line, "ID")) != 0
      || g_strcmp0 (json_object_get_string_member (image, "repository"),
                    repository != NULL ? repository : "<none>")
             != 0
      || g_strcmp0 (json_object_get_string_member (image, "tag"), tag != NULL ? tag : "<none>")
             != 0)
    return FALSE;
  if (digest != NULL && g_strcmp0 (digest, "<none>") != 0
      && g_strcmp0 (json_object_get_string_member_with_default (image, "digest", NULL), digest)
             != 0)
    return FALSE;
  if (platform != NULL
      && g_strcmp0 (json_object_get_string_member_with_default (image, "platform", NULL), platform)
             != 0)
    return FALSE;
  if (size != NULL && JSON_NODE_HOLDS_VALUE (size)
      && json_node_get_value_type (size) == G_TYPE_INT64 && json_node_get_int (size) >= 0
      && !(json_object_get_member (image, "size") != NULL
           && JSON_NODE_HOLDS_VALUE (json_object_get_member (image, "size"))
           && json_object_get_int_member (image, "size") == json_node_get_int (size)))
    return FALSE;
  return TRUE;
}

/* Every strict image line of @data is in @list with what it sent. */
static void
assert_lines_kept (const gchar *data, gsize size, JsonArray *list)
{
  gsize pos = 0;

  while (pos < size)
    {
      const gchar *line = data + pos;
      const gchar *newline = memchr (line, '\n', size - pos);
      gsize line_len = newline != NULL ? (gsize)(newline - line) : size - pos;
      BerthFuzzJsonInfo info;
      g_autoptr (JsonNode) sent = NULL;
      JsonObject *object;
      gboolean found = FALSE;

      pos += line_len + (newline != NULL ? 1 : 0);
      if (line_len > BERTH_IMAGE_LIST_MAX_LINE)
        continue;
      sent = berth_fuzz_json_reference_parse ((const guint8 *)line, line_len, 1, &info);
      if (sent == NULL || !JSON_NODE_HOLDS_OBJECT (sent) || info.escaped_names)
        continue;
      /* Read one level deep: a flat object, as both CLIs print. */
      object = json_node_get_object (sent);
      if (nonempty_string (object, "ID") == NULL)
        continue;
      for (guint i = 0; i < json_array_get_length (list) && !found; i++)
        found = shows (json_array_get_object_element (list, i), object);
      if (!found)
        {
          g_autofree gchar *text = g_strndup (line, line_len);
          g_autofree gchar *shown = g_strescape (text, NULL);

          g_error ("the image line %s is not in the list as it was sent", shown);
        }
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  BerthImageListStats stats = { 0 };
  g_autoptr (JsonNode) list = NULL;
  g_autoptr (JsonNode) again = NULL;
  g_autoptr (JsonNode) report = NULL;
  g_autofree gchar *text = g_strndup ((const gchar *)data, size);
  g_autofree gchar *created = NULL;
  JsonArray *array;
  guint64 bytes = 0;
  BerthImageListStats slow_stats = { 0 };
  g_autoptr (JsonNode) slow = NULL;
  g_autofree gchar *fast_text = NULL;
  g_autofree gchar *slow_text = NULL;

  list = berth_image_list_parse ((const gchar *)data, size, size % 2 ? "k8s.io" : NULL, &stats);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (list));
  array = json_node_get_array (list);
  g_assert_cmpuint (json_array_get_length (array), ==, stats.n_images);
  g_assert_cmpuint (stats.n_images, <=, BERTH_IMAGE_LIST_MAX_IMAGES);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      JsonObject *image;

      g_assert_true (JSON_NODE_HOLDS_OBJECT (element));
      image = json_node_get_object (element);
      g_assert_nonnull (json_object_get_string_member (image, "id"));
      g_assert_nonnull (json_object_get_string_member (image, "repository"));
      g_assert_nonnull (json_object_get_string_member (image, "tag"));
      g_assert_true (json_object_has_member (image, "size"));
    }
  /* The same bytes give the same list: what images-changed relies on. */
  again = berth_image_list_parse ((const gchar *)data, size, size % 2 ? "k8s.io" : NULL, NULL);
  g_assert_true (berth_image_list_equal (list, again));

  /* The fast scanner against json-glib on every line: the same result. */
  slow = berth_image_list_parse_with_flags ((const gchar *)data, size, size % 2 ? "k8s.io" : NULL,
                                            BERTH_IMAGE_LIST_PARSE_JSON_GLIB_ONLY, &slow_stats,
                                            NULL);
  g_assert_cmpuint (stats.n_images, ==, slow_stats.n_images);
  g_assert_cmpuint (stats.n_skipped, ==, slow_stats.n_skipped);
  g_assert_cmpuint (stats.n_dropped, ==, slow_stats.n_dropped);
  fast_text = json_to_string (list, FALSE);
  slow_text = json_to_string (slow, FALSE);
  g_assert_cmpstr (fast_text, ==, slow_text);
  g_assert_true (berth_image_list_equal (list, slow));

  /* What a strict line sent is what the list shows. */
  assert_lines_kept ((const gchar *)data, size, array);

  /* The single-value helpers take NUL-terminated text. */
  if (berth_image_size_parse (text, &bytes))
    g_assert_cmpuint (strlen (text), >, 0);
  created = berth_image_created_to_iso8601 (text);
  if (created != NULL)
    g_assert_cmpuint (strlen (created), ==, strlen ("2023-05-22T19:21:08Z"));
  berth_image_ref_check (text, "The image", NULL);
  berth_image_namespace_check (text, NULL);
  report = berth_image_scan_report_parse ((const gchar *)data, size, "trivy", NULL);
  return 0;
}
