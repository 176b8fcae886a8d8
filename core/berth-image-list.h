/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "berth-subprocess.h"

G_BEGIN_DECLS

/* What image processors share: the parser of `docker images` and `nerdctl
 * images` output in `--format '{{json .}}'` lines, the checks on what a
 * person hands them (references, namespaces, build contexts), and the way an
 * operation's CLI output travels with its result. */

/* A line longer than this is not an image: it is skipped. */
#define BERTH_IMAGE_LIST_MAX_LINE (64 * 1024)
/* Images past this many are dropped (and counted). */
#define BERTH_IMAGE_LIST_MAX_IMAGES 100000

typedef struct
{
  guint n_images;  /* images in the result */
  guint n_skipped; /* lines that were not an image: not JSON, not an object, no ID, too long */
  guint n_dropped; /* images past BERTH_IMAGE_LIST_MAX_IMAGES */
} BerthImageListStats;

/* Parses @len bytes of CLI output, one JSON object per line (blank lines are
 * ignored), into a JSON array of
 *   {"id", "repository", "tag", "digest" (null when "<none>"), "size" (bytes,
 *    or null when the CLI's text is not a size), "created" (ISO 8601 in UTC
 *    when the CLI's text is a Go time, else that text; null when absent),
 *    "namespace" (when @ns is not NULL), "platform" (when the CLI names one)}
 * sorted by id, repository, tag, platform, then the rest, so that two lists
 * of the same images are equal (json_node_equal()) whatever order the CLI
 * printed them in. Never fails: what is not an image is counted in @stats
 * (nullable). */
JsonNode *
berth_image_list_parse (const gchar *data, gsize len, const gchar *ns, BerthImageListStats *stats);

/* Whether @repository is one of the images that images.showAll false hides
 * from a list of the k8s.io namespace, as Rancher Desktop does: Kubernetes'
 * own (rancher/...) and buildkit's (moby/buildkit). */
gboolean
berth_image_list_is_system_image (const gchar *repository);
/* A copy of the list @images (from berth_image_list_parse()) without the
 * images berth_image_list_is_system_image() names. */
JsonNode *
berth_image_list_without_system_images (JsonNode *images);

/* Whether two lists made by berth_image_list_parse() name the same images
 * with the same details. NULL equals only NULL. */
gboolean
berth_image_list_equal (JsonNode *a, JsonNode *b);

/* The byte count in a size as docker and nerdctl print it: "0B", "13.3kB",
 * "4.26MB", "1.2GB" (decimal, go-units' HumanSize) or "5.6 MiB", "688 KiB"
 * (binary, containerd's progress.Bytes). FALSE for anything else. */
gboolean
berth_image_size_parse (const gchar *text, guint64 *bytes_out);

/* "2023-05-22 19:21:08 +0000 UTC" (Go's time.String(), what both CLIs print
 * in CreatedAt; fractions of a second are dropped) as "2023-05-22T19:21:08Z".
 * NULL when @text is not such a time. */
gchar *
berth_image_created_to_iso8601 (const gchar *text);

/* BERTH_ERROR_INVALID_DATA unless @ref looks like an image reference or ID
 * (letters, digits and . _ - : / @ +, at most 512 bytes, not starting with
 * '-' so that a CLI cannot take it for an option). @what names it in the
 * message, e.g. "the image to pull". */
gboolean
berth_image_ref_check (const gchar *ref, const gchar *what, GError **error);
/* BERTH_ERROR_INVALID_DATA unless @ns is a containerd namespace name:
 * letters and digits with single '.', '_' or '-' between them. */
gboolean
berth_image_namespace_check (const gchar *ns, GError **error);
/* BERTH_ERROR_INVALID_DATA unless @dir is an absolute path; NOT_FOUND
 * unless it is a directory. */
gboolean
berth_image_context_check (const gchar *dir, GError **error);

/* A vulnerability report as a scanner (trivy) prints it with --format json:
 * one JSON document, at most 64 levels deep. BERTH_ERROR_INVALID_DATA naming
 * @program otherwise. */
JsonNode *
berth_image_scan_report_parse (const gchar *data, gsize len, const gchar *program, GError **error);

/* TRUE when the image CLI run as @argv exited with 0; otherwise an error
 * naming the command, its exit status and the last lines of what it said:
 * NOT_FOUND when the engine said there is no such image, BACKEND when the
 * CLI could not reach the engine, FAILED for the rest. */
gboolean
berth_image_cli_check (const gchar *const *argv, const BerthSubprocessResult *result,
                       GError **error);
/* What the CLI printed, standard output then standard error, as valid UTF-8
 * and at most the last 256 KiB of it. */
gchar *
berth_image_cli_output (const BerthSubprocessResult *result);

/* What the CLI printed for a pull, push, build, tag or remove, attached to
 * the operation's GTask by the processor and read by a frontend from the
 * GAsyncResult, before or after calling _finish. NULL when none was kept. */
void
berth_image_result_set_output (GTask *task, const gchar *output);
const gchar *
berth_image_result_get_output (GAsyncResult *result);

G_END_DECLS
