/* libFuzzer target for image CLI output (core/berth-image-list.c): the bytes
 * are read as `docker images` / `nerdctl images` output, as a size, a
 * CreatedAt time, an image reference, a namespace and a scanner's report.
 * Whatever comes in, the parser must return an array of objects that each
 * have a string id, within its limits, and the checks must answer yes or no
 * without a critical. The list is parsed twice, with the fast scanner and
 * with json-glib for every line, and the two must agree to the byte (same
 * counts, same members in the same order, same values): any difference
 * aborts. Built by tests/fuzz/meson.build (see there and README.md); run
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
