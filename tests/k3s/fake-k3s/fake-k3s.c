/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A FAKE k3s for Berth's tests. Like k3s it is one program that is also
 * kubectl, crictl and ctr when called by those names (the install makes
 * them links to it). `k3s server` makes a cluster CA and certificates,
 * writes k3s.yaml as k3s does and serves a small part of the Kubernetes API
 * over TLS: enough for kubectl's `get nodes` and for Berth's readiness
 * check and services watch. Services come from a file a test writes:
 * <data-dir>/fake-services (see fake-k3s.h for its lines). */
#include "fake-k3s.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[]
    = "usage: k3s server|kubectl|crictl|ctr|--version ... (a fake k3s for Berth's tests)\n";

static int
print_version (void)
{
  char *version = fake_version ();

  printf ("k3s version %s (fake k3s for Berth's tests, not k3s)\n"
          "go version none (this fake is written in C)\n",
          version);
  free (version);
  return 0;
}

int
main (int argc, char **argv)
{
  const char *self = strrchr (argv[0], '/') != NULL ? strrchr (argv[0], '/') + 1 : argv[0];

  if (strcmp (self, "kubectl") == 0)
    return fake_kubectl_main (argc, argv);
  if (strcmp (self, "crictl") == 0 || strcmp (self, "ctr") == 0)
    return fake_crictl_main (argc, argv, self);
  if (argc < 2)
    {
      fputs (usage, stderr);
      return 1;
    }
  if (strcmp (argv[1], "--version") == 0 || strcmp (argv[1], "-v") == 0
      || strcmp (argv[1], "version") == 0)
    return print_version ();
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      fputs (usage, stdout);
      return 0;
    }
  if (strcmp (argv[1], "server") == 0)
    return fake_server_main (argc - 1, argv + 1);
  if (strcmp (argv[1], "kubectl") == 0)
    return fake_kubectl_main (argc - 1, argv + 1);
  if (strcmp (argv[1], "crictl") == 0 || strcmp (argv[1], "ctr") == 0)
    return fake_crictl_main (argc - 1, argv + 1, argv[1]);
  fprintf (stderr, "fake k3s: \"%s\" is not faked (server, kubectl, crictl, ctr, --version are)\n",
           argv[1]);
  return 1;
}
