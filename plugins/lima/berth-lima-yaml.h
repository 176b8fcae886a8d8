/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "berth-lima-config.h"

G_BEGIN_DECLS

/* The first line of every lima.yaml Berth writes. */
#define BERTH_LIMA_YAML_COMMENT "# Written by Berth; edits are overwritten on start"

/* Bounds on lima.yaml input: larger files, deeper nesting, longer scalars or
 * more nodes are refused before any value is used. */
#define BERTH_LIMA_YAML_MAX_FILE_SIZE (4 * 1024 * 1024)
#define BERTH_LIMA_YAML_MAX_SCALAR (1024 * 1024)
#define BERTH_LIMA_YAML_MAX_DEPTH 16
#define BERTH_LIMA_YAML_MAX_NODES 100000

/* Writes @config as Lima's lima.yaml (vmType, arch, cpus, memory, disk,
 * images, mounts, mountType, ssh, containerd, provision, portForwards, env,
 * user) with Berth's own settings under "berth:", atomically (temporary
 * file, fsync, rename; mode 0644). The image's location is the basedisk next
 * to @path. */
gboolean
berth_lima_yaml_write (const gchar *path, const BerthLimaConfig *config, GError **error);

/* Reads back what berth_lima_yaml_write() produces. The file is input:
 * sizes are bounded (above), aliases are refused, each known key's type is
 * checked and an error (BERTH_ERROR_INVALID_DATA) names the key, the value
 * and what is allowed. Unknown keys are ignored. */
BerthLimaConfig *
berth_lima_yaml_read (const gchar *path, GError **error);

/* The same from memory: @data of @length bytes (need not be NUL-terminated).
 * @name_hint is used when the document has no berth.name (read() passes the
 * instance directory's name); @source names the input in messages. */
BerthLimaConfig *
berth_lima_yaml_parse (const gchar *data, gsize length, const gchar *name_hint, const gchar *source,
                       GError **error);

/* A small YAML writer over libyaml's emitter (event API), also used for the
 * cidata files. The first error is kept and later calls do nothing, as with
 * GString; berth_lima_yaml_writer_finish() reports it. */
typedef struct _BerthLimaYamlWriter BerthLimaYamlWriter;

typedef enum
{
  BERTH_LIMA_YAML_PLAIN,   /* as is: numbers, booleans, sizes Berth makes */
  BERTH_LIMA_YAML_STRING,  /* a string: quoted when plain would read as
                              another type (null, booleans, numbers) */
  BERTH_LIMA_YAML_LITERAL, /* a block scalar ("|"), for scripts */
} BerthLimaYamlStyle;

/* @prefix: text put before the document as is (comment lines, each ending
 * in a newline), or NULL. */
BerthLimaYamlWriter *
berth_lima_yaml_writer_new (const gchar *prefix);
void
berth_lima_yaml_writer_free (BerthLimaYamlWriter *writer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthLimaYamlWriter, berth_lima_yaml_writer_free)
void
berth_lima_yaml_writer_mapping_start (BerthLimaYamlWriter *writer);
void
berth_lima_yaml_writer_mapping_end (BerthLimaYamlWriter *writer);
/* @flow: "[a, b]" instead of one item a line. */
void
berth_lima_yaml_writer_sequence_start (BerthLimaYamlWriter *writer, gboolean flow);
void
berth_lima_yaml_writer_sequence_end (BerthLimaYamlWriter *writer);
void
berth_lima_yaml_writer_scalar (BerthLimaYamlWriter *writer, const gchar *value,
                               BerthLimaYamlStyle style);
/* Shorthands for a key and its scalar value inside a mapping. */
void
berth_lima_yaml_writer_string (BerthLimaYamlWriter *writer, const gchar *key, const gchar *value);
void
berth_lima_yaml_writer_uint (BerthLimaYamlWriter *writer, const gchar *key, guint64 value);
void
berth_lima_yaml_writer_boolean (BerthLimaYamlWriter *writer, const gchar *key, gboolean value);
/* Ends the document; returns the text (NUL-terminated, @length_out may be
 * NULL) or NULL with the first error. Consumes nothing: free the writer. */
gchar *
berth_lima_yaml_writer_finish (BerthLimaYamlWriter *writer, gsize *length_out, GError **error);

/* Memory sizes as Lima writes them: "4GiB", "512MiB", else a byte count.
 * Parsing accepts an integer with an optional binary unit (B, K, KB, KiB, M,
 * MB, MiB, G, GB, GiB, T, TB, TiB; any case), as Lima's RAMInBytes does. */
gchar *
berth_lima_format_size (guint64 bytes);
gboolean
berth_lima_parse_size (const gchar *text, guint64 *bytes_out);

G_END_DECLS
