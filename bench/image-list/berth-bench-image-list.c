/* SPDX-License-Identifier: GPL-3.0-or-later */
/* How long Berth takes to parse `docker images --format '{{json .}}'`
 * output: 10 000 lines in docker's own shape (the fields docker 28 prints,
 * varied sizes, dates, digests and <none> entries), parsed several times;
 * the median is printed with the target, and beside it the same lines
 * through json-glib alone (what the parser did before its fast scanner).
 * Not a test: it prints figures. --skip-limit --runs 1 keeps it short
 * enough for `valgrind --tool=callgrind`. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <berth.h>

#include "berth-image-list-private.h"

#define N_LINES 10000
#define MAX_RUNS 101
#define TARGET_MS 100.0

static gint n_runs = 7;
static gboolean skip_limit = FALSE;
static gboolean no_peer = FALSE;

static GString *
make_lines (guint n)
{
  static const gchar *const units[] = { "B", "kB", "MB", "GB" };
  GString *text = g_string_new (NULL);
  GRand *rand = g_rand_new_with_seed (20240531);

  for (guint i = 0; i < n; i++)
    {
      guint32 id = g_rand_int (rand);
      gboolean dangling = i % 17 == 0;
      gboolean digest = i % 3 != 0;

      g_string_append_printf (
          text,
          "{\"Containers\":\"N/A\",\"CreatedAt\":\"20%02u-%02u-%02u %02u:%02u:%02u +0000 UTC\","
          "\"CreatedSince\":\"%u months ago\",\"Digest\":\"%s%08x%056x\",\"ID\":\"%08x%04x\","
          "\"Repository\":\"%s%u\",\"SharedSize\":\"N/A\",\"Size\":\"%u.%u%s\",\"Tag\":\"%s%u\","
          "\"UniqueSize\":\"N/A\",\"VirtualSize\":\"%u.%u%s\"}\n",
          15 + i % 10, 1 + i % 12, 1 + i % 28, i % 24, i % 60, (i * 7) % 60, 1 + i % 90,
          digest ? "sha256:" : "\\u003cnone\\u003e", digest ? id : 0u, digest ? i : 0u, id,
          i & 0xffff, dangling ? "\\u003cnone\\u003e" : "registry.example.test/team/app-",
          dangling ? 0 : i, 1 + i % 999, i % 10, units[i % G_N_ELEMENTS (units)],
          dangling ? "\\u003cnone\\u003e" : "v1.", dangling ? 0 : i % 100, 1 + i % 999,
          (i + 3) % 10, units[i % G_N_ELEMENTS (units)]);
    }
  g_rand_free (rand);
  return text;
}

static gint
compare_doubles (gconstpointer a, gconstpointer b)
{
  gdouble x = *(const gdouble *)a, y = *(const gdouble *)b;

  return (x > y) - (x < y);
}

/* CPU time of the whole process (every thread), in ms: on a loaded machine
 * it says what the parse costs when wall time says how long it waited. */
static gdouble
cpu_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Median wall time in ms; *@cpu_out the median CPU time. */
static gdouble
median_ms (const GString *text, guint expected, BerthImageListParseFlags flags, gdouble *cpu_out)
{
  gdouble runs[MAX_RUNS];
  gdouble cpu[MAX_RUNS];

  for (gint r = 0; r < n_runs; r++)
    {
      BerthImageListStats stats;
      gdouble cpu_start = cpu_ms ();
      gint64 start = g_get_monotonic_time ();
      JsonNode *list
          = berth_image_list_parse_with_flags (text->str, text->len, NULL, flags, &stats, NULL);

      runs[r] = (gdouble)(g_get_monotonic_time () - start) / 1000.0;
      cpu[r] = cpu_ms () - cpu_start;
      if (stats.n_images != expected || stats.n_skipped != 0)
        {
          fprintf (stderr, "berth-bench-image-list: parsed %u images and skipped %u; expected %u\n",
                   stats.n_images, stats.n_skipped, expected);
          exit (EXIT_FAILURE);
        }
      json_node_unref (list);
    }
  qsort (runs, (gsize)n_runs, sizeof runs[0], compare_doubles);
  qsort (cpu, (gsize)n_runs, sizeof cpu[0], compare_doubles);
  *cpu_out = cpu[n_runs / 2];
  return runs[n_runs / 2];
}

int
main (int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "runs", 0, 0, G_OPTION_ARG_INT, &n_runs, "Parse each set this many times (1-101)", "N" },
    { "skip-limit", 0, 0, G_OPTION_ARG_NONE, &skip_limit,
      "Only the 10 000-line set, not the 100 000-line one (e.g. under callgrind)", NULL },
    { "no-peer", 0, 0, G_OPTION_ARG_NONE, &no_peer, "Do not time json-glib for every line", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- time the image list parser");
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) lines = NULL;
  g_autoptr (GString) many = NULL;
  gdouble cpu = 0, cpu_max = 0, cpu_json_glib = 0;
  gdouble ms, ms_max = 0, ms_json_glib = 0;
  gdouble load[1] = { 0 };

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "berth-bench-image-list: %s; see --help\n", error->message);
      return EXIT_FAILURE;
    }
  if (n_runs < 1 || n_runs > MAX_RUNS)
    {
      fprintf (stderr, "berth-bench-image-list: --runs %d is out of range; give 1 to %d\n", n_runs,
               MAX_RUNS);
      return EXIT_FAILURE;
    }

  lines = make_lines (N_LINES);
  ms = median_ms (lines, N_LINES, BERTH_IMAGE_LIST_PARSE_DEFAULT, &cpu);
  printf ("parse %u image lines (%.1f MB): %.1f ms (median of %d; CPU %.1f ms, %u CPUs) "
          "| target: < %.0f ms%s\n",
          N_LINES, lines->len / 1e6, ms, n_runs, cpu, g_get_num_processors (), TARGET_MS,
          ms < TARGET_MS ? "" : "  MISSED");
  if (!no_peer)
    {
      ms_json_glib
          = median_ms (lines, N_LINES, BERTH_IMAGE_LIST_PARSE_JSON_GLIB_ONLY, &cpu_json_glib);
      printf ("  the same lines through json-glib, as before the fast scanner: %.1f ms (CPU %.1f "
              "ms), %.1fx the time\n",
              ms_json_glib, cpu_json_glib, ms_json_glib / ms);
    }
  if (!skip_limit)
    {
      many = make_lines (BERTH_IMAGE_LIST_MAX_IMAGES);
      ms_max
          = median_ms (many, BERTH_IMAGE_LIST_MAX_IMAGES, BERTH_IMAGE_LIST_PARSE_DEFAULT, &cpu_max);
      printf ("parse %u image lines (%.1f MB, the parser's limit): %.1f ms (median of %d; CPU "
              "%.1f ms)\n",
              BERTH_IMAGE_LIST_MAX_IMAGES, many->len / 1e6, ms_max, n_runs, cpu_max);
    }
  if (getloadavg (load, 1) == 1 && load[0] > g_get_num_processors ())
    printf ("note: load average %.1f on %u CPUs; wall times include waiting for them\n", load[0],
            g_get_num_processors ());
  /* A benchmark says how fast; only a wrong parse is a failure. */
  return EXIT_SUCCESS;
}
