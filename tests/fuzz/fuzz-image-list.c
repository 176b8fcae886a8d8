/* libFuzzer target for image CLI output (core/berth-image-list.c): the bytes
 * are read as `docker images` / `nerdctl images` output, as a size, a
 * CreatedAt time, an image reference, a namespace and a scanner's report.
 * Whatever comes in, the parser must return an array of objects that each
 * have a string id, within its limits, and the checks must answer yes or no
 * without a critical. Run with G_DEBUG=fatal-criticals so that a critical
 * reached from input counts as a crash. Build by hand with the parser
 * compiled in, so that libFuzzer sees its coverage, e.g.:
 *
 *   clang -g -fsanitize=fuzzer,address,undefined -Icore -I<builddir> \
 *     tests/fuzz/fuzz-image-list.c core/berth-image-list.c core/berth-error.c \
 *     $(pkg-config --cflags --libs json-glib-1.0 gio-2.0)
 */

#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "berth-image-list.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

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
