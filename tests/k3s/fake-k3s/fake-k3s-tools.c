/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The tools k3s bundles, as the fake plays them: kubectl's port-forward
 * (which Berth uses to forward a service) listens where kubectl would and
 * answers each connection with a banner; crictl and ctr say they are fakes. */
#include "fake-k3s.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FORWARDS 8

typedef struct
{
  unsigned local;
  unsigned remote;
  int fd;
} Forward;

static bool
parse_port_number (const char *text, unsigned *out)
{
  char *end = NULL;
  unsigned long value;

  if (text[0] < '0' || text[0] > '9')
    return false;
  value = strtoul (text, &end, 10);
  if (*end != '\0' || value > 65535)
    return false;
  *out = (unsigned)value;
  return true;
}

/* @name is a port's number or name in @service; 0 when it has no such port. */
static unsigned
service_port (const FakeService *service, const char *name)
{
  unsigned number = 0;
  bool numeric = parse_port_number (name, &number);

  for (size_t i = 0; i < service->n_ports; i++)
    if ((numeric && service->ports[i].port == number) || strcmp (service->ports[i].name, name) == 0)
      return service->ports[i].port;
  return 0;
}

static int
port_forward (int argc, char **argv)
{
  const char *namespace_ = "default";
  const char *address = "127.0.0.1";
  const char *positional[1 + MAX_FORWARDS];
  size_t n_positional = 0;
  Forward forwards[MAX_FORWARDS];
  size_t n_forwards = 0;
  char *services_file = fake_root_path ("/var/lib/rancher/k3s/fake-services");
  FakeService service;
  const char *resource;
  const char *name;
  int max_fd = -1;
  bool seen_command = false;

  /* @argv holds kubectl's global flags too: -n before the command counts. */
  for (int i = 0; i < argc; i++)
    {
      const char *arg = argv[i];

      if ((strcmp (arg, "-n") == 0 || strcmp (arg, "--namespace") == 0) && i + 1 < argc)
        namespace_ = argv[++i];
      else if (strncmp (arg, "--namespace=", 12) == 0)
        namespace_ = arg + 12;
      else if (strcmp (arg, "--address") == 0 && i + 1 < argc)
        address = argv[++i];
      else if (strncmp (arg, "--address=", 10) == 0)
        address = arg + 10;
      else if ((strcmp (arg, "--kubeconfig") == 0 || strcmp (arg, "--context") == 0)
               && i + 1 < argc)
        i++;
      else if (arg[0] == '-')
        continue;
      else if (strcmp (arg, "port-forward") == 0 && !seen_command)
        seen_command = true;
      else if (n_positional < sizeof positional / sizeof positional[0])
        positional[n_positional++] = arg;
    }
  if (n_positional < 2)
    {
      fprintf (stderr, "error: TYPE/NAME and a list of ports are required for port-forward "
                       "(fake k3s kubectl)\n");
      return 1;
    }
  resource = positional[0];
  if (strncmp (resource, "svc/", 4) == 0)
    name = resource + 4;
  else if (strncmp (resource, "service/", 8) == 0)
    name = resource + 8;
  else if (strncmp (resource, "services/", 9) == 0)
    name = resource + 9;
  else
    {
      fprintf (stderr, "error: fake k3s kubectl forwards services only, not %s\n", resource);
      return 1;
    }
  if (!fake_services_lookup (services_file, namespace_, name, &service))
    {
      fprintf (stderr, "Error from server (NotFound): services \"%s\" not found (fake k3s)\n",
               name);
      return 1;
    }
  /* LOCAL:REMOTE, :REMOTE (any local port) or PORT (the same on both). */
  for (size_t p = 1; p < n_positional; p++)
    {
      const char *spec = positional[p];
      const char *colon = strchr (spec, ':');
      char local[16];

      snprintf (local, sizeof local, "%.*s",
                colon != NULL ? (int)(colon - spec) : (int)strlen (spec), spec);
      forwards[n_forwards].fd = -1;
      forwards[n_forwards].local = 0;
      if (local[0] != '\0' && !parse_port_number (local, &forwards[n_forwards].local))
        {
          fprintf (stderr, "error: %s is no port to forward (fake k3s kubectl)\n", spec);
          return 1;
        }
      forwards[n_forwards].remote = service_port (&service, colon != NULL ? colon + 1 : spec);
      if (forwards[n_forwards].remote == 0)
        {
          fprintf (stderr, "error: Service %s does not have a service port %s (fake k3s)\n", name,
                   colon != NULL ? colon + 1 : spec);
          return 1;
        }
      n_forwards++;
    }
  for (size_t f = 0; f < n_forwards; f++)
    {
      struct sockaddr_in sa = { 0 };
      int one = 1;

      forwards[f].fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sa.sin_family = AF_INET;
      sa.sin_port = htons ((uint16_t)forwards[f].local);
      if (forwards[f].fd < 0 || inet_pton (AF_INET, address, &sa.sin_addr) != 1)
        {
          fprintf (stderr, "error: cannot listen on %s (fake k3s kubectl)\n", address);
          return 1;
        }
      setsockopt (forwards[f].fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (bind (forwards[f].fd, (struct sockaddr *)&sa, sizeof sa) != 0
          || listen (forwards[f].fd, 16) != 0)
        {
          fprintf (stderr, "error: unable to listen on %s:%u: %s (fake k3s kubectl)\n", address,
                   forwards[f].local, strerror (errno));
          return 1;
        }
      if (forwards[f].local == 0)
        {
          socklen_t len = sizeof sa;

          getsockname (forwards[f].fd, (struct sockaddr *)&sa, &len);
          forwards[f].local = ntohs (sa.sin_port);
        }
      if (forwards[f].fd > max_fd)
        max_fd = forwards[f].fd;
      printf ("Forwarding from %s:%u -> %u (fake k3s: no pod behind it)\n", address,
              forwards[f].local, forwards[f].remote);
    }
  fflush (stdout);
  signal (SIGPIPE, SIG_IGN);
  for (;;)
    {
      fd_set set;

      FD_ZERO (&set);
      for (size_t f = 0; f < n_forwards; f++)
        FD_SET (forwards[f].fd, &set);
      if (select (max_fd + 1, &set, NULL, NULL, NULL) < 0)
        {
          if (errno == EINTR)
            continue;
          fprintf (stderr, "error: %s (fake k3s kubectl)\n", strerror (errno));
          return 1;
        }
      for (size_t f = 0; f < n_forwards; f++)
        {
          char banner[512];
          int client, n;

          if (!FD_ISSET (forwards[f].fd, &set))
            continue;
          client = accept4 (forwards[f].fd, NULL, NULL, SOCK_CLOEXEC);
          if (client < 0)
            continue;
          n = snprintf (banner, sizeof banner,
                        "fake k3s port-forward: service %s/%s port %u through %s:%u (a fake, "
                        "no pod behind it)\n",
                        namespace_, name, forwards[f].remote, address, forwards[f].local);
          (void)!write (client, banner, (size_t)n);
          shutdown (client, SHUT_WR);
          close (client);
          printf ("Handling connection for %u\n", forwards[f].local);
          fflush (stdout);
        }
    }
}

int
fake_kubectl_main (int argc, char **argv)
{
  int i = 1;

  /* Global flags before the command. */
  while (i < argc && argv[i][0] == '-')
    {
      if ((strcmp (argv[i], "--kubeconfig") == 0 || strcmp (argv[i], "-n") == 0
           || strcmp (argv[i], "--namespace") == 0 || strcmp (argv[i], "--context") == 0)
          && i + 1 < argc)
        i++;
      i++;
    }
  if (i < argc && strcmp (argv[i], "port-forward") == 0)
    return port_forward (argc - 1, argv + 1);
  if (i < argc && strcmp (argv[i], "version") == 0)
    {
      char *version = fake_version ();

      printf ("Client Version: %s (fake k3s kubectl, not kubectl)\n", version);
      free (version);
      return 0;
    }
  fprintf (stderr, "fake k3s kubectl: only \"port-forward\" and \"version\" are faked; use a real "
                   "kubectl with the fake API server's k3s.yaml\n");
  return 1;
}

int
fake_crictl_main (int argc, char **argv, const char *tool)
{
  if (argc > 1 && (strcmp (argv[1], "--version") == 0 || strcmp (argv[1], "version") == 0))
    {
      printf ("%s version fake (fake k3s: no container runtime behind it)\n", tool);
      return 0;
    }
  fprintf (stderr, "fake k3s %s: a fake, with no container runtime behind it\n", tool);
  return 1;
}
