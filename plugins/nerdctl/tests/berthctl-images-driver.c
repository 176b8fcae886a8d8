/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `berthctl images …` on its own, for the image tests: berthctl's command
 * table is not this test's to change, and this runs the same function the
 * table calls. Usage: berthctl-images-driver images [SUBCOMMAND] [OPTION…] */
#include "config.h"

#include <locale.h>

#include "berthctl-images.h"

int
main (int argc, char **argv)
{
  BerthctlConnection conn = { 0 };
  int status;

  setlocale (LC_ALL, "");
  if (argc < 2 || !g_str_equal (argv[1], "images"))
    {
      g_printerr ("usage: %s images [SUBCOMMAND] [OPTION…]\n", argv[0]);
      return 2;
    }
  status = berthctl_cmd_images (&conn, argc - 1, argv + 1);
  berthctl_connection_clear (&conn);
  return status;
}
