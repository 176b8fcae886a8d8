/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berth-admin-helper: what Berth does as root, run through pkexec (polkit
 * action org.berth.admin-helper.docker-socket) for application.adminAccess.
 *
 *   berth-admin-helper [--root DIR] link SOCKET
 *   berth-admin-helper [--root DIR] unlink SOCKET
 *
 * link makes /var/run/docker.sock a symbolic link to SOCKET, Berth's docker
 * socket, when nothing is there; unlink removes that link and nothing else.
 * A /var/run/docker.sock that is not a link to SOCKET (a system dockerd's
 * socket) is never touched. SOCKET must be an absolute path named
 * docker.sock in a directory of the user who ran pkexec. --root (a directory
 * standing for /, for tests) is refused when run through pkexec. */

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#define LINK_PATH "/var/run/docker.sock"
#define SOCKET_NAME "docker.sock"

static int
fail (const gchar *format, ...) G_GNUC_PRINTF (1, 2);

static int
fail (const gchar *format, ...)
{
  va_list args;
  g_autofree gchar *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("berth-admin-helper: %s\n", message);
  return 1;
}

/* An absolute path without "." or ".." parts or empty ones. */
static gboolean
is_plain_absolute (const gchar *path)
{
  g_auto (GStrv) parts = NULL;

  if (path[0] != '/' || strlen (path) >= 108)
    return FALSE;
  parts = g_strsplit (path + 1, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    if (parts[i][0] == '\0' || g_str_equal (parts[i], ".") || g_str_equal (parts[i], ".."))
      return FALSE;
  return TRUE;
}

/* Under pkexec: the socket's directory is the calling user's own. */
static gboolean
socket_belongs_to_caller (const gchar *socket, const gchar *pkexec_uid, gchar **why)
{
  g_autofree gchar *dir = g_path_get_dirname (socket);
  gchar *end = NULL;
  guint64 uid;
  struct stat st;

  uid = g_ascii_strtoull (pkexec_uid, &end, 10);
  if (end == pkexec_uid || *end != '\0')
    {
      *why = g_strdup_printf ("PKEXEC_UID \"%s\" is not a user id", pkexec_uid);
      return FALSE;
    }
  if (lstat (dir, &st) != 0 || !S_ISDIR (st.st_mode))
    {
      *why = g_strdup_printf ("%s is not a directory", dir);
      return FALSE;
    }
  if ((guint64)st.st_uid != uid)
    {
      *why = g_strdup_printf ("%s belongs to user %u, not to the user %s who asked", dir,
                              (guint)st.st_uid, pkexec_uid);
      return FALSE;
    }
  return TRUE;
}

int
main (int argc, char **argv)
{
  const gchar *pkexec_uid = g_getenv ("PKEXEC_UID");
  g_autofree gchar *link = NULL;
  g_autofree gchar *target = NULL;
  g_autofree gchar *why = NULL;
  const gchar *root = NULL;
  const gchar *verb;
  const gchar *socket;
  gint i = 1;

  if (argc >= 3 && g_str_equal (argv[1], "--root"))
    {
      root = argv[2];
      i = 3;
    }
  if (argc - i != 2 || (!g_str_equal (argv[i], "link") && !g_str_equal (argv[i], "unlink")))
    return fail ("usage: berth-admin-helper [--root DIR] link|unlink SOCKET");
  verb = argv[i];
  socket = argv[i + 1];

  if (root != NULL && pkexec_uid != NULL)
    return fail ("--root is for tests, and is refused when run through pkexec");
  if (root != NULL && !is_plain_absolute (root))
    return fail ("--root %s is not an absolute path", root);
  if (!is_plain_absolute (socket) || !g_str_has_suffix (socket, "/" SOCKET_NAME))
    return fail ("%s is not an absolute path to a socket named %s, without . or .. in it", socket,
                 SOCKET_NAME);
  if (pkexec_uid != NULL && !socket_belongs_to_caller (socket, pkexec_uid, &why))
    return fail ("refusing to link %s to %s: %s", LINK_PATH, socket, why);

  link = g_strconcat (root != NULL ? root : "", LINK_PATH, NULL);
  target = g_file_read_link (link, NULL);

  if (g_str_equal (verb, "link"))
    {
      if (target != NULL && g_str_equal (target, socket))
        return 0;
      if (target != NULL || g_file_test (link, G_FILE_TEST_EXISTS))
        return fail ("%s exists and is not a link to %s; it is left alone (remove it yourself "
                     "if you mean to replace it)",
                     link, socket);
      if (symlink (socket, link) != 0)
        return fail ("could not link %s to %s: %s", link, socket, g_strerror (errno));
      return 0;
    }

  if (target == NULL)
    {
      if (g_file_test (link, G_FILE_TEST_EXISTS))
        return fail ("%s is not a link to %s; it is left alone", link, socket);
      return 0;
    }
  if (!g_str_equal (target, socket))
    return fail ("%s leads to %s, not to %s; it is left alone", link, target, socket);
  if (g_unlink (link) != 0 && errno != ENOENT)
    return fail ("could not remove %s: %s", link, g_strerror (errno));
  return 0;
}
