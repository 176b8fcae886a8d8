/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target for the user's kubeconfig as Berth reads and rewrites it
 * (plugins/k3s/berth-k3s-kubeconfig.c), and for k3s.yaml's credentials.
 * The input is the kubeconfig. Berth may refuse it, with an error; when it
 * merges, the result must be a kubeconfig it can merge again and from which
 * removal takes "berth" away; a refused file must be left as it was.
 * Run with G_DEBUG=fatal-criticals; built by tests/fuzz/meson.build. */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "berth-k3s-kubeconfig.h"

#include "fuzz-common.h"

/* A k3s.yaml in k3s's shape, with certificates that are only PEM-shaped. */
static const gchar k3s_yaml[]
    = "apiVersion: v1\n"
      "clusters:\n"
      "- cluster:\n"
      "    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\n"
      "    server: https://127.0.0.1:6443\n"
      "  name: default\n"
      "contexts:\n"
      "- context:\n"
      "    cluster: default\n"
      "    user: default\n"
      "  name: default\n"
      "current-context: default\n"
      "kind: Config\n"
      "preferences: {}\n"
      "users:\n"
      "- name: default\n"
      "  user:\n"
      "    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\n"
      "    client-key-data: LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCg==\n";

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree gchar *home = g_build_filename (berth_fuzz_work_dir (), "home", NULL);
  g_autofree gchar *kube = g_build_filename (home, ".kube", NULL);
  g_autofree gchar *config = g_build_filename (kube, "config", NULL);
  g_autofree gchar *text = g_strndup (size > 0 ? (const gchar *)data : "", size);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *path = NULL;
  g_autofree gchar *again = NULL;
  g_autoptr (BerthK3sCredentials) credentials = NULL;

  credentials = berth_k3s_credentials_from_k3s_yaml (text, &error);
  if (credentials == NULL && error == NULL)
    abort ();
  g_clear_error (&error);

  berth_fuzz_remove_tree (home);
  if (g_mkdir_with_parents (kube, 0700) != 0
      || !g_file_set_contents (config, (const gchar *)data, (gssize)size, NULL))
    abort ();
  path = berth_k3s_kubeconfig_merge (k3s_yaml, 6443, NULL, home, &error);
  if (path == NULL)
    {
      g_autofree gchar *after = NULL;
      gsize length = 0;

      if (error == NULL)
        abort ();
      /* Refused: untouched. */
      if (!g_file_get_contents (config, &after, &length, NULL) || length != size
          || memcmp (after, data, size) != 0)
        abort ();
      return 0;
    }
  again = berth_k3s_kubeconfig_merge (k3s_yaml, 7443, NULL, home, &error);
  if (again == NULL)
    {
      g_printerr ("merged once, then refused: %s\n", error->message);
      abort ();
    }
  if (!berth_k3s_kubeconfig_remove (NULL, home, &error))
    {
      g_printerr ("merged, then could not remove: %s\n", error->message);
      abort ();
    }
  if (g_file_test (config, G_FILE_TEST_EXISTS))
    {
      g_autofree gchar *chosen = berth_k3s_kubeconfig_choose_file (NULL, home);
      g_autofree gchar *elsewhere = g_build_filename (home, "other", NULL);

      /* No "berth" is left: $KUBECONFIG naming the file does not pick it
       * for holding Berth's entries. */
      g_clear_pointer (&chosen, g_free);
      chosen = berth_k3s_kubeconfig_choose_file (config, elsewhere);
      if (g_str_equal (chosen, config))
        abort ();
    }
  return 0;
}
