/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <berth.h>

#include "berth-host-links.h"
#include "berth-host-rcfile.h"

static const gchar *const tools[] = { "docker", "kubectl", "helm", "nerdctl", "berthctl", NULL };

const gchar *const *
berth_host_links_tools (void)
{
  return tools;
}

void
berth_host_links_config_clear (BerthHostLinksConfig *config)
{
  g_clear_pointer (&config->bin_dir, g_free);
  g_clear_pointer (&config->user_bin, g_free);
  g_clear_pointer (&config->strategy, g_free);
  g_clear_pointer (&config->berthctl, g_free);
  g_clear_pointer (&config->search_path, g_free);
  g_clear_pointer (&config->rc_files, g_strfreev);
}

/* Keeps the first error and lists every one. */
static void
note_error (GError **first, GPtrArray *warnings, GError *error)
{
  g_ptr_array_add (warnings, g_strdup (error->message));
  if (first != NULL && *first == NULL)
    *first = error;
  else
    g_error_free (error);
}

static GError *
errno_error (gint saved_errno, const gchar *what, const gchar *path)
{
  return g_error_new (BERTH_ERROR, saved_errno == EACCES ? BERTH_ERROR_AUTH : BERTH_ERROR_FAILED,
                      "Could not %s %s: %s", what, path, g_strerror (saved_errno));
}

static gboolean
path_in_dir (const gchar *path, const gchar *dir)
{
  gsize len = strlen (dir);

  return strncmp (path, dir, len) == 0 && path[len] == '/';
}

static gchar *
read_link (const gchar *path)
{
  return g_file_read_link (path, NULL);
}

/* Whether @dir is Berth's bin directory, however PATH spells it. */
static gboolean
is_bin_dir (const BerthHostLinksConfig *config, const gchar *dir)
{
  g_autofree gchar *real_dir = realpath (dir, NULL);
  g_autofree gchar *real_bin = realpath (config->bin_dir, NULL);
  g_autofree gchar *canonical = g_canonicalize_filename (dir, "/");

  return g_str_equal (canonical, config->bin_dir)
         || (real_dir != NULL && real_bin != NULL && g_str_equal (real_dir, real_bin));
}

/* The host's @name on @search_path: not Berth's own link to it. */
static gchar *
find_host_tool (const BerthHostLinksConfig *config, const gchar *name)
{
  g_auto (GStrv) dirs
      = g_strsplit (config->search_path != NULL ? config->search_path : "", ":", -1);

  for (guint i = 0; dirs[i] != NULL; i++)
    {
      g_autofree gchar *candidate = NULL;
      g_autofree gchar *target = NULL;

      if (dirs[i][0] != '/' || is_bin_dir (config, dirs[i]))
        continue;
      candidate = g_build_filename (dirs[i], name, NULL);
      if (!g_file_test (candidate, G_FILE_TEST_IS_EXECUTABLE)
          || g_file_test (candidate, G_FILE_TEST_IS_DIR))
        continue;
      target = read_link (candidate);
      if (target != NULL && path_in_dir (target, config->bin_dir))
        continue;
      return g_steal_pointer (&candidate);
    }
  return NULL;
}

static gchar *
nerdctl_wrapper (const gchar *berthctl)
{
  g_autofree gchar *quoted = g_shell_quote (berthctl);

  return g_strdup_printf ("#!/bin/sh\n" BERTH_HOST_WRAPPER_MARKER
                          ": nerdctl runs in Berth's VM, against its containerd.\n"
                          "exec %s shell -- nerdctl \"$@\"\n",
                          quoted);
}

typedef enum
{
  ENTRY_MISSING,
  ENTRY_BERTH_LINK,
  ENTRY_BERTH_WRAPPER,
  ENTRY_FOREIGN,
} EntryKind;

/* What is at @path in Berth's bin directory. */
static EntryKind
bin_entry_kind (const gchar *path)
{
  struct stat st;
  g_autofree gchar *head = NULL;
  gsize len = 0;

  if (g_lstat (path, &st) != 0)
    return errno == ENOENT ? ENTRY_MISSING : ENTRY_FOREIGN;
  if (S_ISLNK (st.st_mode))
    return ENTRY_BERTH_LINK;
  if (S_ISREG (st.st_mode) && st.st_size < 4096 && g_file_get_contents (path, &head, &len, NULL)
      && strstr (head, "\n" BERTH_HOST_WRAPPER_MARKER) != NULL)
    return ENTRY_BERTH_WRAPPER;
  return ENTRY_FOREIGN;
}

/* Makes @path a symbolic link to @target, replacing Berth's link there in
 * one step. */
static GError *
make_link (const gchar *path, const gchar *target)
{
  g_autofree gchar *existing = read_link (path);
  g_autofree gchar *tmp = NULL;

  if (existing != NULL && g_str_equal (existing, target))
    return NULL;
  tmp = g_strdup_printf ("%s.berth-tmp", path);
  g_unlink (tmp);
  if (symlink (target, tmp) != 0)
    return errno_error (errno, "create the link", tmp);
  if (g_rename (tmp, path) != 0)
    {
      gint saved_errno = errno;
      g_unlink (tmp);
      return errno_error (saved_errno, "create the link", path);
    }
  g_info ("Linked %s to %s", path, target);
  return NULL;
}

static GError *
remove_entry (const gchar *path)
{
  if (g_unlink (path) != 0 && errno != ENOENT)
    return errno_error (errno, "remove", path);
  g_info ("Removed %s", path);
  return NULL;
}

static void
set_status_reason (JsonObject *status, const gchar *name, const gchar *reason)
{
  if (status != NULL)
    json_object_set_string_member (status, name, reason);
}

/* The entry for @name in Berth's bin directory: a link to @target or the
 * @wrapper text, or nothing when both are NULL. TRUE when Berth's entry is
 * there afterwards. */
static gboolean
sync_bin_entry (const BerthHostLinksConfig *config, const gchar *name, const gchar *target,
                const gchar *wrapper, JsonObject *status, GPtrArray *warnings, GError **first)
{
  g_autofree gchar *path = g_build_filename (config->bin_dir, name, NULL);
  EntryKind kind = bin_entry_kind (path);
  GError *error = NULL;

  if (kind == ENTRY_FOREIGN)
    {
      g_autofree gchar *why = g_strdup_printf (
          "%s is not Berth's (neither a link nor Berth's wrapper); Berth left it alone: remove "
          "it to have Berth's %s there",
          path, name);
      set_status_reason (status, name, why);
      g_ptr_array_add (warnings, g_steal_pointer (&why));
      return FALSE;
    }
  if (target == NULL && wrapper == NULL)
    {
      if (kind != ENTRY_MISSING && (error = remove_entry (path)) != NULL)
        note_error (first, warnings, error);
      return FALSE;
    }
  if (target != NULL)
    {
      if (kind == ENTRY_BERTH_WRAPPER && (error = remove_entry (path)) != NULL)
        {
          note_error (first, warnings, error);
          return FALSE;
        }
      error = make_link (path, target);
    }
  else
    {
      g_autofree gchar *existing = NULL;

      if (kind == ENTRY_BERTH_WRAPPER && g_file_get_contents (path, &existing, NULL, NULL)
          && g_str_equal (existing, wrapper))
        return TRUE;
      if (kind == ENTRY_BERTH_LINK && (error = remove_entry (path)) != NULL)
        {
          note_error (first, warnings, error);
          return FALSE;
        }
      berth_file_replace_contents (path, wrapper, strlen (wrapper), 0755, &error);
    }
  if (error != NULL)
    {
      note_error (first, warnings, error);
      return FALSE;
    }
  return TRUE;
}

/* ~/.local/bin/@name: Berth's link to its bin directory's entry when
 * @wanted, otherwise not Berth's link. */
static void
sync_user_link (const BerthHostLinksConfig *config, const gchar *name, gboolean wanted,
                JsonObject *status, GPtrArray *warnings, GError **first)
{
  g_autofree gchar *path = g_build_filename (config->user_bin, name, NULL);
  g_autofree gchar *target = g_build_filename (config->bin_dir, name, NULL);
  g_autofree gchar *existing = read_link (path);
  gboolean berths = existing != NULL && path_in_dir (existing, config->bin_dir);
  GError *error = NULL;

  if (!wanted)
    {
      if (berths && (error = remove_entry (path)) != NULL)
        note_error (first, warnings, error);
      return;
    }
  if (!berths && g_file_test (path, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK))
    {
      g_autofree gchar *why = g_strdup_printf (
          "%s is not Berth's; Berth left it alone, so %s there is not Berth's", path, name);
      set_status_reason (status, name, why);
      g_ptr_array_add (warnings, g_steal_pointer (&why));
      return;
    }
  if (g_mkdir_with_parents (config->user_bin, 0755) != 0)
    {
      note_error (first, warnings, errno_error (errno, "create", config->user_bin));
      return;
    }
  if ((error = make_link (path, target)) != NULL)
    note_error (first, warnings, error);
}

static gboolean
dir_on_path (const gchar *dir, const gchar *search_path)
{
  g_auto (GStrv) dirs = g_strsplit (search_path != NULL ? search_path : "", ":", -1);

  for (guint i = 0; dirs[i] != NULL; i++)
    {
      gsize len = strlen (dirs[i]);

      while (len > 1 && dirs[i][len - 1] == '/')
        dirs[i][--len] = '\0';
      if (g_str_equal (dirs[i], dir))
        return TRUE;
    }
  return FALSE;
}

static void
sync_rc_files (const BerthHostLinksConfig *config, gboolean wanted, GPtrArray *warnings,
               GError **first)
{
  for (guint i = 0; config->rc_files != NULL && config->rc_files[i] != NULL; i++)
    {
      const gchar *path = config->rc_files[i];
      g_autofree gchar *body = NULL;
      GError *error = NULL;

      if (wanted)
        body = berth_host_rc_body (g_str_has_suffix (path, ".fish") ? BERTH_HOST_RC_SHELL_FISH
                                                                    : BERTH_HOST_RC_SHELL_SH,
                                   config->bin_dir);
      if (!berth_host_rc_file_apply (path, body, i == 0, NULL, &error))
        note_error (first, warnings, error);
    }
}

gboolean
berth_host_links_apply (const BerthHostLinksConfig *config, JsonObject *status, GPtrArray *warnings,
                        GError **error)
{
  gboolean notset = g_str_equal (config->strategy, "notset");
  gboolean rcfiles = g_str_equal (config->strategy, "rcfiles");
  GError *first = NULL;

  if (g_mkdir_with_parents (config->bin_dir, 0755) != 0)
    {
      g_propagate_error (error,
                         errno_error (errno, "create Berth's bin directory", config->bin_dir));
      return FALSE;
    }
  for (guint i = 0; tools[i] != NULL; i++)
    {
      const gchar *name = tools[i];
      g_autofree gchar *target = NULL;
      g_autofree gchar *wrapper = NULL;
      gboolean present;

      if (g_str_equal (name, "berthctl"))
        target = g_strdup (config->berthctl);
      else if (g_str_equal (name, "nerdctl"))
        wrapper = config->berthctl != NULL ? nerdctl_wrapper (config->berthctl) : NULL;
      else
        target = find_host_tool (config, name);

      present = sync_bin_entry (config, name, target, wrapper, status, warnings, &first);
      if (!present && status != NULL && !json_object_has_member (status, name))
        json_object_set_string_member (status, name,
                                       g_str_equal (name, "nerdctl")
                                               || g_str_equal (name, "berthctl")
                                           ? "berthctl was not found, so Berth cannot link it"
                                           : "not found on PATH: install it to have Berth link it");
      sync_user_link (config, name, notset && present, status, warnings, &first);
      if (present && status != NULL && !json_object_has_member (status, name))
        json_object_set_boolean_member (status, name, TRUE);
    }
  sync_rc_files (config, rcfiles, warnings, &first);

  if (notset && !dir_on_path (config->user_bin, config->search_path))
    g_ptr_array_add (warnings,
                     g_strdup_printf ("%s, where Berth links the tools, is not on PATH: log in "
                                      "again (many distributions add it when it exists), add it "
                                      "yourself, or set application.pathManagementStrategy to "
                                      "rcfiles",
                                      config->user_bin));
  else if (g_str_equal (config->strategy, "manual")
           && !dir_on_path (config->bin_dir, config->search_path))
    g_ptr_array_add (warnings,
                     g_strdup_printf ("application.pathManagementStrategy is manual: add %s to "
                                      "PATH to use Berth's tools",
                                      config->bin_dir));
  if (first != NULL)
    {
      g_propagate_error (error, first);
      return FALSE;
    }
  return TRUE;
}

gboolean
berth_host_links_remove (const BerthHostLinksConfig *config, GPtrArray *warnings, GError **error)
{
  GError *first = NULL;

  for (guint i = 0; tools[i] != NULL; i++)
    {
      g_autofree gchar *path = g_build_filename (config->bin_dir, tools[i], NULL);
      EntryKind kind = bin_entry_kind (path);
      GError *local_error = NULL;

      sync_user_link (config, tools[i], FALSE, NULL, warnings, &first);
      if ((kind == ENTRY_BERTH_LINK || kind == ENTRY_BERTH_WRAPPER)
          && (local_error = remove_entry (path)) != NULL)
        note_error (&first, warnings, local_error);
    }
  sync_rc_files (config, FALSE, warnings, &first);
  /* Only when empty: what is not Berth's stays, and so does its directory. */
  g_rmdir (config->bin_dir);
  if (first != NULL)
    {
      g_propagate_error (error, first);
      return FALSE;
    }
  return TRUE;
}
