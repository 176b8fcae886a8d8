/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* What the updater's tests share: release archives made with libarchive, and
 * fake-update-server.py (a FAKE upgrade responder and GitHub releases API
 * over HTTPS) run with a certificate of its own, which the tests trust
 * through $BERTH_UPDATE_CA_FILE as any private CA would be. */

#include <berth.h>

G_BEGIN_DECLS

typedef enum
{
  ENTRY_FILE,
  ENTRY_DIR,
  ENTRY_SYMLINK,
  ENTRY_HARDLINK,
} EntryType;

typedef struct
{
  const gchar *path;
  EntryType type;
  const gchar *data; /* a file's contents, a link's target */
  guint mode;
} ArchiveEntrySpec;

/* Writes a gzip-compressed tar archive at @path holding @entries. */
void
updater_write_archive (const gchar *path, const ArchiveEntrySpec *entries, gsize n_entries);
/* A release archive as Berth publishes one: berth-<version>/ with bin/berthd
 * (a script whose text is @berthd), bin/berthctl, a library and its link. */
void
updater_write_release (const gchar *path, const gchar *version, const gchar *berthd);
/* uname's machine, as the updater names archives. */
const gchar *
updater_arch (void);

typedef struct
{
  gchar *root;     /* everything of the fixture's is under it */
  gchar *dir;      /* the server's DIR */
  gchar *ca_file;  /* its certificate, to trust */
  gchar *base_url; /* https://127.0.0.1:PORT */
  GSubprocess *server;
} UpdaterFixture;

/* Starts the fake server with @config (config.json's text). */
UpdaterFixture *
updater_fixture_new (const gchar *config);
void
updater_fixture_free (UpdaterFixture *fixture);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (UpdaterFixture, updater_fixture_free)
void
updater_fixture_set_config (UpdaterFixture *fixture, const gchar *config);
/* Offers release @version for this machine, its bin/berthd saying
 * @berthd; a @sha512sum file's text replaces the real digest when given. */
void
updater_fixture_add_release (UpdaterFixture *fixture, const gchar *version, const gchar *berthd,
                             const gchar *sha512sum);
/* The requests the server took since the last call: an array of
 * {method, path, body}. */
JsonArray *
updater_fixture_take_requests (UpdaterFixture *fixture);
/* The environment that points the updater at the server. */
void
updater_fixture_setenv (UpdaterFixture *fixture);

G_END_DECLS
