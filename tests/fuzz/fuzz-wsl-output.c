/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for what wsl.exe prints and what plugins/wsl reads in a
 * distribution: the bytes are decoded (UTF-16LE or UTF-8) and read as a
 * `--list --verbose` listing, a `--list --quiet` one, `--status`, an
 * os-release file and /proc/self/mountinfo. None may crash, return text
 * that is not UTF-8, or keep what its bounds refuse; a version compares
 * equal to itself. Run with G_DEBUG=fatal-criticals; built by
 * tests/fuzz/meson.build. */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "berth-wsl-output.h"

#include "fuzz-common.h"

static void
check_utf8 (const gchar *text)
{
  if (text != NULL && !g_utf8_validate (text, -1, NULL))
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree gchar *text = berth_wsl_decode (data, size);
  g_autoptr (GPtrArray) distros = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) names = NULL;
  g_autoptr (BerthWslStatus) status = NULL;
  g_autofree gchar *version = NULL;
  g_autoptr (GPtrArray) mounts = NULL;

  if (text == NULL || !g_utf8_validate (text, -1, NULL))
    abort ();

  distros = berth_wsl_parse_list_verbose (text, &error);
  if ((distros == NULL) == (error == NULL))
    abort ();
  for (guint i = 0; distros != NULL && i < distros->len; i++)
    {
      BerthWslDistro *d = g_ptr_array_index (distros, i);

      if (d->name[0] == '\0' || strpbrk (d->name, " \t\r\n") != NULL || d->version < 1
          || d->version > 99 || d->state[0] == '\0')
        abort ();
      check_utf8 (d->name);
      check_utf8 (d->state);
      berth_wsl_distro_name_is_valid (d->name);
    }
  if (distros != NULL && distros->len > BERTH_WSL_MAX_DISTROS)
    abort ();

  names = berth_wsl_parse_list_quiet (text);
  if (g_strv_length (names) > BERTH_WSL_MAX_DISTROS)
    abort ();
  berth_wsl_text_says_no_distributions (text);

  status = berth_wsl_parse_status (text);
  if (status->default_version > 2)
    abort ();
  check_utf8 (status->default_distribution);

  version = berth_wsl_os_release_version_id ((const gchar *)data, size);
  if (version != NULL)
    {
      if (strlen (version) == 0 || strlen (version) > 64)
        abort ();
      if (berth_wsl_version_compare (version, version) != 0)
        abort ();
      if (berth_wsl_version_compare (version, "0.1") != -berth_wsl_version_compare ("0.1", version))
        abort ();
    }

  mounts = berth_wsl_parse_mountinfo (text);
  if (mounts->len > 4096)
    abort ();
  return 0;
}
