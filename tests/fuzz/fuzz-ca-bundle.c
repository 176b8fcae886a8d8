/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for PEM bundles of CA certificates, as Berth reads the
 * file a user names (virtualMachine.caCertificates.file) and $SSL_CERT_FILE.
 * The reader must not crash, read past the input, or say anything that is
 * not UTF-8; what it accepts (at least one certificate and no more than its
 * bound, each one GnuTLS imports) must come back the same when written as
 * PEM and read again, and merging it into itself must add nothing. Run with
 * G_DEBUG=fatal-criticals; built by tests/fuzz/meson.build. */

#include "config.h"

#include <stdlib.h>

#include "berth-ca-bundle.h"
#include "berth-error.h"

#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) again_error = NULL;
  g_autoptr (GPtrArray) certificates = NULL;
  g_autoptr (GPtrArray) again = NULL;
  g_autofree gchar *pem = NULL;

  certificates = berth_ca_bundle_parse ((const gchar *)data, size, "fuzz.pem", &error);
  if (certificates == NULL)
    {
      if (error == NULL || !g_error_matches (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA)
          || !g_utf8_validate (error->message, -1, NULL))
        abort ();
      return 0;
    }
  if (error != NULL || certificates->len == 0
      || certificates->len > BERTH_CA_BUNDLE_MAX_CERTIFICATES)
    abort ();

  pem = berth_ca_bundle_to_pem (certificates);
  again = berth_ca_bundle_parse (pem, strlen (pem), "written.pem", &again_error);
  if (again == NULL || again->len != certificates->len)
    abort ();
  for (guint i = 0; i < again->len; i++)
    if (!g_bytes_equal (g_ptr_array_index (again, i), g_ptr_array_index (certificates, i)))
      abort ();
  if (berth_ca_bundle_merge (again, certificates) != 0)
    abort ();
  return 0;
}
