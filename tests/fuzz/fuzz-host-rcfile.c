/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for Berth's block in a shell's startup file
 * (plugins/host/berth-host-rcfile.c). The input is the file, as the person
 * left it. Berth may refuse it (a block it cannot read, a file too large),
 * and then refuses both to add and to remove; otherwise adding leaves one
 * readable block, adding again changes nothing, and removing gives back the
 * file without a block byte for byte: the input itself when it had none.
 * Run with G_DEBUG=fatal-criticals; built by tests/fuzz/meson.build. */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "berth-host-rcfile.h"

#include "fuzz-common.h"

static gboolean
same (const gchar *a, gsize a_len, const gchar *b, gsize b_len)
{
  return a_len == b_len && (a_len == 0 || memcmp (a, b, a_len) == 0);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const gchar *text = size > 0 ? (const gchar *)data : "";
  g_autofree gchar *body
      = berth_host_rc_body (size % 2 == 0 ? BERTH_HOST_RC_SHELL_SH : BERTH_HOST_RC_SHELL_FISH,
                            "/home/someone/.local/share/berth/bin");
  g_autoptr (GError) add_error = NULL;
  g_autoptr (GError) remove_error = NULL;
  g_autofree gchar *added = NULL;
  g_autofree gchar *again = NULL;
  g_autofree gchar *removed = NULL;
  g_autofree gchar *removed_after = NULL;
  gsize added_len = 0, again_len = 0, removed_len = 0, removed_after_len = 0;
  gboolean had_block;

  added = berth_host_rc_edit (text, size, body, "~/.bashrc", &added_len, &add_error);
  removed = berth_host_rc_edit (text, size, NULL, "~/.bashrc", &removed_len, &remove_error);
  if ((added == NULL) != (add_error != NULL) || (removed == NULL) != (remove_error != NULL))
    abort ();
  /* Refused for adding exactly when refused for removing. */
  if ((added == NULL) != (removed == NULL))
    abort ();
  /* The message names the file, not its bytes: it is text. */
  if (added == NULL)
    {
      if (!g_utf8_validate (add_error->message, -1, NULL))
        abort ();
      return 0;
    }
  had_block = berth_host_rc_has_block (text, size);
  if (!berth_host_rc_has_block (added, added_len))
    abort ();
  /* The input before the block stays as it was. */
  if (!had_block && (added_len < size || memcmp (added, text, size) != 0))
    abort ();

  again = berth_host_rc_edit (added, added_len, body, "~/.bashrc", &again_len, NULL);
  if (again == NULL || !same (again, again_len, added, added_len))
    abort ();

  removed_after
      = berth_host_rc_edit (added, added_len, NULL, "~/.bashrc", &removed_after_len, NULL);
  if (removed_after == NULL || !same (removed_after, removed_after_len, removed, removed_len))
    abort ();
  if (!had_block && !same (removed, removed_len, text, size))
    abort ();
  if (berth_host_rc_has_block (removed, removed_len))
    abort ();
  return 0;
}
