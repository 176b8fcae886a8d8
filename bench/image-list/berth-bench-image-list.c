/* How long Berth takes to parse `docker images --format '{{json .}}'`
 * output: 10 000 lines in docker's own shape (the fields docker 28 prints,
 * varied sizes, dates, digests and <none> entries), parsed several times;
 * the median is printed with the target. Not a test: it prints figures. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <berth.h>

#define N_LINES 10000
#define N_RUNS 7
#define TARGET_MS 100.0

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
median_ms (const GString *text, guint expected, gdouble *cpu_out)
{
  gdouble runs[N_RUNS];
  gdouble cpu[N_RUNS];

  for (guint r = 0; r < N_RUNS; r++)
    {
      BerthImageListStats stats;
      gdouble cpu_start = cpu_ms ();
      gint64 start = g_get_monotonic_time ();
      JsonNode *list = berth_image_list_parse (text->str, text->len, NULL, &stats);

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
  qsort (runs, N_RUNS, sizeof runs[0], compare_doubles);
  qsort (cpu, N_RUNS, sizeof cpu[0], compare_doubles);
  *cpu_out = cpu[N_RUNS / 2];
  return runs[N_RUNS / 2];
}

int
main (int argc, char **argv)
{
  g_autoptr (GString) lines = make_lines (N_LINES);
  g_autoptr (GString) many = make_lines (BERTH_IMAGE_LIST_MAX_IMAGES);
  gdouble cpu = 0, cpu_max = 0;
  gdouble ms = median_ms (lines, N_LINES, &cpu);
  gdouble ms_max = median_ms (many, BERTH_IMAGE_LIST_MAX_IMAGES, &cpu_max);
  gdouble load[1] = { 0 };

  printf ("parse %u image lines (%.1f MB): %.1f ms (median of %u; CPU %.1f ms over %u threads) "
          "| target: < %.0f ms%s\n",
          N_LINES, lines->len / 1e6, ms, N_RUNS, cpu, g_get_num_processors (), TARGET_MS,
          ms < TARGET_MS ? "" : "  MISSED");
  printf ("parse %u image lines (%.1f MB, the parser's limit): %.1f ms (median of %u; CPU %.1f "
          "ms)\n",
          BERTH_IMAGE_LIST_MAX_IMAGES, many->len / 1e6, ms_max, N_RUNS, cpu_max);
  if (getloadavg (load, 1) == 1 && load[0] > g_get_num_processors ())
    printf ("note: load average %.1f on %u CPUs; wall times include waiting for them\n", load[0],
            g_get_num_processors ());
  /* A benchmark says how fast; only a wrong parse is a failure. */
  return EXIT_SUCCESS;
}
