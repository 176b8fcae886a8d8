/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Berth — lima.yaml: written with libyaml's emitter, read back with its
 * parser into a bounded tree whose every value is type-checked. */

#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include <yaml.h>

#include "berth-error.h"
#include "berth-file.h"
#include "berth-lima-instance.h"
#include "berth-lima-yaml.h"

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (yaml_parser_t, yaml_parser_delete)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (yaml_emitter_t, yaml_emitter_delete)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (yaml_event_t, yaml_event_delete)

#define KIB ((guint64)1 << 10)
#define MIB ((guint64)1 << 20)
#define GIB ((guint64)1 << 30)
#define TIB ((guint64)1 << 40)
#define CPUS_MAX 1024
#define UID_MAX_VALUE 999999999
#define BOOT_TIMEOUT_MAX (24 * 3600)

/* ------------------------------------------------------------------------ */
/* Sizes                                                                    */
/* ------------------------------------------------------------------------ */

gchar *
berth_lima_format_size (guint64 bytes)
{
  if (bytes != 0 && bytes % GIB == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT "GiB", bytes / GIB);
  if (bytes != 0 && bytes % MIB == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT "MiB", bytes / MIB);
  if (bytes != 0 && bytes % KIB == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT "KiB", bytes / KIB);
  return g_strdup_printf ("%" G_GUINT64_FORMAT, bytes);
}

gboolean
berth_lima_parse_size (const gchar *text, guint64 *bytes_out)
{
  const gchar *p = text;
  guint64 number = 0;
  guint64 unit = 1;

  g_return_val_if_fail (bytes_out != NULL, FALSE);

  if (text == NULL || !g_ascii_isdigit (*p))
    return FALSE;
  while (g_ascii_isdigit (*p))
    {
      guint digit = (guint)(*p - '0');

      if (number > (G_MAXUINT64 - digit) / 10)
        return FALSE;
      number = number * 10 + digit;
      p++;
    }
  if (*p == ' ')
    p++;
  switch (g_ascii_tolower (*p))
    {
    case 'k':
      unit = KIB;
      p++;
      break;
    case 'm':
      unit = MIB;
      p++;
      break;
    case 'g':
      unit = GIB;
      p++;
      break;
    case 't':
      unit = TIB;
      p++;
      break;
    default:
      break;
    }
  if (unit != 1 && g_ascii_tolower (*p) == 'i')
    p++;
  if (g_ascii_tolower (*p) == 'b')
    p++;
  if (*p != '\0' || (p > text && p[-1] == ' '))
    return FALSE;
  if (number > G_MAXUINT64 / unit)
    return FALSE;
  *bytes_out = number * unit;
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Writer                                                                   */
/* ------------------------------------------------------------------------ */

struct _BerthLimaYamlWriter
{
  yaml_emitter_t emitter;
  gboolean emitter_ready;
  GString *out;
  gchar *key; /* the key being written, for messages */
  GError *error;
  gboolean finished;
};

static int
writer_output (void *data, unsigned char *buffer, size_t size)
{
  GString *out = data;

  g_string_append_len (out, (const gchar *)buffer, (gssize)size);
  return 1;
}

static void
writer_fail (BerthLimaYamlWriter *writer, const gchar *what)
{
  if (writer->error != NULL)
    return;
  if (writer->key != NULL)
    g_set_error (&writer->error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                 "Could not write YAML at key %s: %s", writer->key, what);
  else
    g_set_error (&writer->error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA, "Could not write YAML: %s",
                 what);
}

/* Hands @event (initialised by the caller, @ok its initialiser's result) to
 * the emitter, which owns it from then on. */
static void
writer_emit (BerthLimaYamlWriter *writer, yaml_event_t *event, int ok, const gchar *what)
{
  if (!ok)
    {
      writer_fail (writer, what);
      return;
    }
  if (writer->error != NULL || writer->finished)
    {
      yaml_event_delete (event);
      return;
    }
  if (!yaml_emitter_emit (&writer->emitter, event))
    writer_fail (writer, writer->emitter.problem != NULL ? writer->emitter.problem
                                                         : "the YAML emitter failed");
}

BerthLimaYamlWriter *
berth_lima_yaml_writer_new (const gchar *prefix)
{
  BerthLimaYamlWriter *writer = g_new0 (BerthLimaYamlWriter, 1);
  yaml_event_t event;

  writer->out = g_string_new (prefix);
  if (!yaml_emitter_initialize (&writer->emitter))
    {
      writer_fail (writer, "out of memory");
      return writer;
    }
  writer->emitter_ready = TRUE;
  yaml_emitter_set_output (&writer->emitter, writer_output, writer->out);
  yaml_emitter_set_encoding (&writer->emitter, YAML_UTF8_ENCODING);
  yaml_emitter_set_unicode (&writer->emitter, 1);
  yaml_emitter_set_indent (&writer->emitter, 2);
  /* Never fold long lines: SSH keys and paths stay on one line. */
  yaml_emitter_set_width (&writer->emitter, -1);
  yaml_emitter_set_break (&writer->emitter, YAML_LN_BREAK);

  writer_emit (writer, &event, yaml_stream_start_event_initialize (&event, YAML_UTF8_ENCODING),
               "stream start");
  writer_emit (writer, &event, yaml_document_start_event_initialize (&event, NULL, NULL, NULL, 1),
               "document start");
  return writer;
}

void
berth_lima_yaml_writer_free (BerthLimaYamlWriter *writer)
{
  if (writer == NULL)
    return;
  if (writer->emitter_ready)
    yaml_emitter_delete (&writer->emitter);
  g_string_free (writer->out, TRUE);
  g_free (writer->key);
  g_clear_error (&writer->error);
  g_free (writer);
}

void
berth_lima_yaml_writer_mapping_start (BerthLimaYamlWriter *writer)
{
  yaml_event_t event;

  writer_emit (
      writer, &event,
      yaml_mapping_start_event_initialize (&event, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE),
      "mapping start");
}

void
berth_lima_yaml_writer_mapping_end (BerthLimaYamlWriter *writer)
{
  yaml_event_t event;

  writer_emit (writer, &event, yaml_mapping_end_event_initialize (&event), "mapping end");
}

void
berth_lima_yaml_writer_sequence_start (BerthLimaYamlWriter *writer, gboolean flow)
{
  yaml_event_t event;

  writer_emit (writer, &event,
               yaml_sequence_start_event_initialize (&event, NULL, NULL, 1,
                                                     flow ? YAML_FLOW_SEQUENCE_STYLE
                                                          : YAML_BLOCK_SEQUENCE_STYLE),
               "sequence start");
}

void
berth_lima_yaml_writer_sequence_end (BerthLimaYamlWriter *writer)
{
  yaml_event_t event;

  writer_emit (writer, &event, yaml_sequence_end_event_initialize (&event), "sequence end");
}

static gboolean
is_one_of (const gchar *value, const gchar *const *words)
{
  for (guint i = 0; words[i] != NULL; i++)
    if (g_str_equal (value, words[i]))
      return TRUE;
  return FALSE;
}

/* Whether a plain scalar @value would be read as something other than a
 * string by YAML 1.1 or 1.2 readers: null, a boolean, an integer (also
 * octal, hexadecimal, binary and 1.1's base 60), a float or a date. */
static gboolean
plain_would_not_be_string (const gchar *value)
{
  static const gchar *const words[] = {
    "~",   "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE",
    "yes", "Yes",  "YES",  "no",   "No",   "NO",   "on",   "On",    "ON",    "off",
    "Off", "OFF",  "y",    "Y",    "n",    "N",    "<<",   "=",     NULL,
  };
  static GRegex *typed = NULL;

  if (g_once_init_enter (&typed))
    {
      GRegex *regex
          = g_regex_new ("^(?:[-+]?(?:0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*"
                         "|[1-9][0-9_]*(?::[0-5]?[0-9])+)"
                         "|[-+]?(?:(?:[0-9][0-9_]*)?\\.[0-9_]*(?:[eE][-+]?[0-9]+)?"
                         "|[0-9][0-9_]*[eE][-+]?[0-9]+|[0-9][0-9_]*(?::[0-5]?[0-9])+\\.[0-9_]*"
                         "|\\.(?:inf|Inf|INF))|\\.(?:nan|NaN|NAN)"
                         "|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*)$",
                         G_REGEX_DOLLAR_ENDONLY | G_REGEX_OPTIMIZE, 0, NULL);

      g_assert (regex != NULL);
      g_once_init_leave (&typed, regex);
    }
  return value[0] == '\0' || is_one_of (value, words) || g_regex_match (typed, value, 0, NULL);
}

void
berth_lima_yaml_writer_scalar (BerthLimaYamlWriter *writer, const gchar *value,
                               BerthLimaYamlStyle style)
{
  yaml_event_t event;
  yaml_scalar_style_t scalar_style = YAML_PLAIN_SCALAR_STYLE;
  gsize length;

  if (value == NULL)
    value = "";
  length = strlen (value);
  if (!g_utf8_validate (value, (gssize)length, NULL))
    {
      writer_fail (writer, "the value is not valid UTF-8");
      return;
    }
  if (style == BERTH_LIMA_YAML_STRING && plain_would_not_be_string (value))
    scalar_style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
  else if (style == BERTH_LIMA_YAML_LITERAL)
    scalar_style = YAML_LITERAL_SCALAR_STYLE;
  writer_emit (writer, &event,
               yaml_scalar_event_initialize (&event, NULL, NULL, (yaml_char_t *)value,
                                             (int)MIN (length, (gsize)G_MAXINT), 1, 1,
                                             scalar_style),
               "a scalar");
}

static void
writer_key (BerthLimaYamlWriter *writer, const gchar *key)
{
  if (writer->error == NULL)
    {
      g_free (writer->key);
      writer->key = g_strdup (key);
    }
  berth_lima_yaml_writer_scalar (writer, key, BERTH_LIMA_YAML_STRING);
}

void
berth_lima_yaml_writer_string (BerthLimaYamlWriter *writer, const gchar *key, const gchar *value)
{
  writer_key (writer, key);
  berth_lima_yaml_writer_scalar (writer, value, BERTH_LIMA_YAML_STRING);
}

void
berth_lima_yaml_writer_uint (BerthLimaYamlWriter *writer, const gchar *key, guint64 value)
{
  g_autofree gchar *text = g_strdup_printf ("%" G_GUINT64_FORMAT, value);

  writer_key (writer, key);
  berth_lima_yaml_writer_scalar (writer, text, BERTH_LIMA_YAML_PLAIN);
}

void
berth_lima_yaml_writer_boolean (BerthLimaYamlWriter *writer, const gchar *key, gboolean value)
{
  writer_key (writer, key);
  berth_lima_yaml_writer_scalar (writer, value ? "true" : "false", BERTH_LIMA_YAML_PLAIN);
}

gchar *
berth_lima_yaml_writer_finish (BerthLimaYamlWriter *writer, gsize *length_out, GError **error)
{
  yaml_event_t event;

  g_return_val_if_fail (writer != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!writer->finished)
    {
      writer_emit (writer, &event, yaml_document_end_event_initialize (&event, 1), "document end");
      writer_emit (writer, &event, yaml_stream_end_event_initialize (&event), "stream end");
      if (writer->error == NULL && !yaml_emitter_flush (&writer->emitter))
        writer_fail (writer, "could not flush the YAML emitter");
      writer->finished = TRUE;
    }
  if (writer->error != NULL)
    {
      g_propagate_error (error, g_error_copy (writer->error));
      return NULL;
    }
  if (length_out != NULL)
    *length_out = writer->out->len;
  return g_strndup (writer->out->str, writer->out->len);
}

/* ------------------------------------------------------------------------ */
/* lima.yaml                                                                */
/* ------------------------------------------------------------------------ */

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const gchar *const *)a, *(const gchar *const *)b);
}

/* The mount type all mounts share (Lima's mountType is per instance). */
static gboolean
common_mount_type (const BerthLimaConfig *config, const gchar **type_out, GError **error)
{
  const gchar *type = NULL;

  for (guint i = 0; i < config->mounts->len; i++)
    {
      const BerthLimaMount *mount = g_ptr_array_index (config->mounts, i);
      const gchar *this_type = mount->type != NULL ? mount->type : "9p";

      if (type != NULL && !g_str_equal (type, this_type))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                       "Mounts of different types (%s for %s, %s before it) cannot be written to "
                       "lima.yaml: Lima has one mountType per instance",
                       this_type, mount->location, type);
          return FALSE;
        }
      type = this_type;
    }
  *type_out = type != NULL ? type : "9p";
  return TRUE;
}

static void
write_mounts (BerthLimaYamlWriter *w, const BerthLimaConfig *config, const gchar *mount_type)
{
  writer_key (w, "mounts");
  berth_lima_yaml_writer_sequence_start (w, FALSE);
  for (guint i = 0; i < config->mounts->len; i++)
    {
      const BerthLimaMount *mount = g_ptr_array_index (config->mounts, i);

      berth_lima_yaml_writer_mapping_start (w);
      berth_lima_yaml_writer_string (w, "location", mount->location);
      berth_lima_yaml_writer_string (
          w, "mountPoint", mount->mount_point != NULL ? mount->mount_point : mount->location);
      berth_lima_yaml_writer_boolean (w, "writable", mount->writable);
      if (g_str_equal (mount_type, "9p"))
        {
          /* What the guest mounts with: msize=131072, and Lima's caches
           * (mmap when writable, fscache when not). */
          writer_key (w, "9p");
          berth_lima_yaml_writer_mapping_start (w);
          berth_lima_yaml_writer_string (w, "securityModel", "none");
          berth_lima_yaml_writer_string (w, "protocolVersion", "9p2000.L");
          berth_lima_yaml_writer_string (w, "msize", "128KiB");
          berth_lima_yaml_writer_string (w, "cache", mount->writable ? "mmap" : "fscache");
          berth_lima_yaml_writer_mapping_end (w);
        }
      berth_lima_yaml_writer_mapping_end (w);
    }
  berth_lima_yaml_writer_sequence_end (w);
}

/* Guest TCP ports forwarded to the host's loopback only, whether the guest
 * listens on 0.0.0.0 or on 127.0.0.1. */
static void
write_port_forwards (BerthLimaYamlWriter *w)
{
  writer_key (w, "portForwards");
  berth_lima_yaml_writer_sequence_start (w, FALSE);
  for (guint i = 0; i < 2; i++)
    {
      berth_lima_yaml_writer_mapping_start (w);
      if (i == 0)
        berth_lima_yaml_writer_boolean (w, "guestIPMustBeZero", TRUE);
      else
        berth_lima_yaml_writer_string (w, "guestIP", "127.0.0.1");
      writer_key (w, "guestPortRange");
      berth_lima_yaml_writer_sequence_start (w, TRUE);
      berth_lima_yaml_writer_scalar (w, "1", BERTH_LIMA_YAML_PLAIN);
      berth_lima_yaml_writer_scalar (w, "65535", BERTH_LIMA_YAML_PLAIN);
      berth_lima_yaml_writer_sequence_end (w);
      berth_lima_yaml_writer_string (w, "hostIP", "127.0.0.1");
      berth_lima_yaml_writer_mapping_end (w);
    }
  berth_lima_yaml_writer_sequence_end (w);
}

static void
write_env (BerthLimaYamlWriter *w, GHashTable *env)
{
  g_autoptr (GPtrArray) keys = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key;

  writer_key (w, "env");
  berth_lima_yaml_writer_mapping_start (w);
  if (env != NULL)
    {
      g_hash_table_iter_init (&iter, env);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        g_ptr_array_add (keys, key);
      g_ptr_array_sort (keys, compare_strings);
      for (guint i = 0; i < keys->len; i++)
        {
          const gchar *name = g_ptr_array_index (keys, i);

          berth_lima_yaml_writer_string (w, name, g_hash_table_lookup (env, name));
        }
    }
  berth_lima_yaml_writer_mapping_end (w);
}

static gchar *
lima_yaml_text (const gchar *path, const BerthLimaConfig *config, gsize *length_out, GError **error)
{
  g_autoptr (BerthLimaYamlWriter) w = berth_lima_yaml_writer_new (BERTH_LIMA_YAML_COMMENT "\n");
  g_autofree gchar *dir = g_path_get_dirname (path);
  g_autofree gchar *basedisk = g_build_filename (dir, "basedisk", NULL);
  g_autofree gchar *memory = berth_lima_format_size (config->memory_bytes);
  g_autofree gchar *disk = berth_lima_format_size (config->disk_bytes);
  const gchar *mount_type = NULL;
  gboolean containerd = g_strcmp0 (config->container_engine, "containerd") == 0;

  if (!common_mount_type (config, &mount_type, error))
    return NULL;
  if (config->user != NULL && (config->uid == 0 || config->uid > UID_MAX_VALUE))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "Guest uid %u of %s is not allowed: use a number from 1 to %d", config->uid,
                   config->user, UID_MAX_VALUE);
      return NULL;
    }

  berth_lima_yaml_writer_mapping_start (w);
  berth_lima_yaml_writer_string (w, "vmType", "qemu");
  berth_lima_yaml_writer_string (w, "arch", config->arch);
  berth_lima_yaml_writer_uint (w, "cpus", config->cpus);
  writer_key (w, "memory");
  berth_lima_yaml_writer_scalar (w, memory, BERTH_LIMA_YAML_PLAIN);
  writer_key (w, "disk");
  berth_lima_yaml_writer_scalar (w, disk, BERTH_LIMA_YAML_PLAIN);

  writer_key (w, "images");
  berth_lima_yaml_writer_sequence_start (w, FALSE);
  berth_lima_yaml_writer_mapping_start (w);
  berth_lima_yaml_writer_string (w, "location", basedisk);
  berth_lima_yaml_writer_string (w, "arch", config->arch);
  berth_lima_yaml_writer_mapping_end (w);
  berth_lima_yaml_writer_sequence_end (w);

  write_mounts (w, config, mount_type);
  berth_lima_yaml_writer_string (w, "mountType", mount_type);

  writer_key (w, "ssh");
  berth_lima_yaml_writer_mapping_start (w);
  berth_lima_yaml_writer_uint (w, "localPort", config->ssh_local_port);
  berth_lima_yaml_writer_boolean (w, "loadDotSSHPubKeys", FALSE);
  berth_lima_yaml_writer_boolean (w, "forwardAgent", FALSE);
  berth_lima_yaml_writer_mapping_end (w);

  writer_key (w, "containerd");
  berth_lima_yaml_writer_mapping_start (w);
  berth_lima_yaml_writer_boolean (w, "system", containerd);
  berth_lima_yaml_writer_boolean (w, "user", FALSE);
  berth_lima_yaml_writer_mapping_end (w);

  if (config->user != NULL)
    {
      writer_key (w, "user");
      berth_lima_yaml_writer_mapping_start (w);
      berth_lima_yaml_writer_string (w, "name", config->user);
      berth_lima_yaml_writer_uint (w, "uid", config->uid);
      if (config->home != NULL)
        berth_lima_yaml_writer_string (w, "home", config->home);
      berth_lima_yaml_writer_mapping_end (w);
    }

  writer_key (w, "provision");
  berth_lima_yaml_writer_sequence_start (w, FALSE);
  for (guint i = 0; i < config->provisions->len; i++)
    {
      const BerthLimaProvision *provision = g_ptr_array_index (config->provisions, i);

      berth_lima_yaml_writer_mapping_start (w);
      berth_lima_yaml_writer_string (w, "mode", provision->mode);
      writer_key (w, "script");
      berth_lima_yaml_writer_scalar (w, provision->script, BERTH_LIMA_YAML_LITERAL);
      berth_lima_yaml_writer_mapping_end (w);
    }
  berth_lima_yaml_writer_sequence_end (w);

  write_port_forwards (w);
  write_env (w, config->env);

  /* Berth's own settings, which Lima's schema has no place for. */
  writer_key (w, "berth");
  berth_lima_yaml_writer_mapping_start (w);
  berth_lima_yaml_writer_string (w, "name", config->name);
  berth_lima_yaml_writer_string (w, "containerEngine", config->container_engine);
  berth_lima_yaml_writer_string (w, "accel", config->accel);
  berth_lima_yaml_writer_string (w, "bootMode", config->boot_mode);
  berth_lima_yaml_writer_uint (w, "bootTimeoutSeconds", config->boot_timeout_seconds);
  berth_lima_yaml_writer_mapping_end (w);

  berth_lima_yaml_writer_mapping_end (w);
  return berth_lima_yaml_writer_finish (w, length_out, error);
}

gboolean
berth_lima_yaml_write (const gchar *path, const BerthLimaConfig *config, GError **error)
{
  g_autofree gchar *text = NULL;
  gsize length = 0;
  g_autoptr (GError) local_error = NULL;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (config != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  text = lima_yaml_text (path, config, &length, &local_error);
  if (text == NULL)
    {
      g_set_error (error, BERTH_ERROR, local_error->code, "Could not write %s: %s", path,
                   local_error->message);
      return FALSE;
    }
  return berth_file_replace_contents (path, text, length, 0644, error);
}

/* ------------------------------------------------------------------------ */
/* Reader: events into a bounded tree                                       */
/* ------------------------------------------------------------------------ */

typedef enum
{
  NODE_SCALAR,
  NODE_MAPPING,
  NODE_SEQUENCE,
} NodeKind;

typedef struct Node Node;
struct Node
{
  NodeKind kind;
  gchar *value; /* scalar */
  gsize length;
  gboolean plain;
  GPtrArray *children; /* mapping: key, value, key, value…; sequence: items */
  gsize line;          /* 1-based */
};

static void
node_free (Node *node)
{
  if (node == NULL)
    return;
  g_free (node->value);
  g_clear_pointer (&node->children, g_ptr_array_unref);
  g_free (node);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Node, node_free)

typedef struct
{
  yaml_parser_t *parser;
  const gchar *source;
  guint n_nodes;
} ParseState;

static gboolean
next_event (ParseState *state, yaml_event_t *event, GError **error)
{
  yaml_event_delete (event);
  if (!yaml_parser_parse (state->parser, event))
    {
      const yaml_parser_t *parser = state->parser;

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is not valid YAML: %s at line %zu, column %zu", state->source,
                   parser->problem != NULL ? parser->problem : "parse error",
                   parser->problem_mark.line + 1, parser->problem_mark.column + 1);
      return FALSE;
    }
  return TRUE;
}

static Node *
parse_node (ParseState *state, yaml_event_t *event, guint depth, GError **error);

/* Items of a mapping or sequence whose start @event was; ends on its end. */
static gboolean
parse_children (ParseState *state, Node *node, yaml_event_type_t end_type, guint depth,
                GError **error)
{
  g_auto (yaml_event_t) event = { 0 };

  for (;;)
    {
      Node *child;

      if (!next_event (state, &event, error))
        return FALSE;
      if (event.type == end_type)
        return TRUE;
      child = parse_node (state, &event, depth + 1, error);
      if (child == NULL)
        return FALSE;
      g_ptr_array_add (node->children, child);
      if (node->kind == NODE_MAPPING && node->children->len % 2 == 1 && child->kind != NODE_SCALAR)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "%s, line %zu: a mapping key must be a plain value, not a %s", state->source,
                       child->line, child->kind == NODE_MAPPING ? "mapping" : "list");
          return FALSE;
        }
    }
}

static Node *
parse_node (ParseState *state, yaml_event_t *event, guint depth, GError **error)
{
  g_autoptr (Node) node = g_new0 (Node, 1);
  gsize line = event->start_mark.line + 1;

  node->line = line;
  if (depth > BERTH_LIMA_YAML_MAX_DEPTH)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s, line %zu: nested deeper than %d levels", state->source, line,
                   BERTH_LIMA_YAML_MAX_DEPTH);
      return NULL;
    }
  if (++state->n_nodes > BERTH_LIMA_YAML_MAX_NODES)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s, line %zu: more than %d values", state->source, line,
                   BERTH_LIMA_YAML_MAX_NODES);
      return NULL;
    }

  switch (event->type)
    {
    case YAML_SCALAR_EVENT:
      if (event->data.scalar.length > BERTH_LIMA_YAML_MAX_SCALAR)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "%s, line %zu: a value of %zu bytes is longer than the %d allowed",
                       state->source, line, event->data.scalar.length, BERTH_LIMA_YAML_MAX_SCALAR);
          return NULL;
        }
      node->kind = NODE_SCALAR;
      node->length = event->data.scalar.length;
      node->value = g_strndup ((const gchar *)event->data.scalar.value, node->length);
      /* g_strndup stops at a NUL; remember the real length to refuse it. */
      node->plain = event->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
      return g_steal_pointer (&node);
    case YAML_MAPPING_START_EVENT:
      node->kind = NODE_MAPPING;
      node->children = g_ptr_array_new_with_free_func ((GDestroyNotify)node_free);
      if (!parse_children (state, node, YAML_MAPPING_END_EVENT, depth, error))
        return NULL;
      return g_steal_pointer (&node);
    case YAML_SEQUENCE_START_EVENT:
      node->kind = NODE_SEQUENCE;
      node->children = g_ptr_array_new_with_free_func ((GDestroyNotify)node_free);
      if (!parse_children (state, node, YAML_SEQUENCE_END_EVENT, depth, error))
        return NULL;
      return g_steal_pointer (&node);
    case YAML_ALIAS_EVENT:
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s, line %zu: aliases (*name) are not allowed in lima.yaml", state->source,
                   line);
      return NULL;
    case YAML_NO_EVENT:
    case YAML_STREAM_START_EVENT:
    case YAML_STREAM_END_EVENT:
    case YAML_DOCUMENT_START_EVENT:
    case YAML_DOCUMENT_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
    default:
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s, line %zu: unexpected YAML structure", state->source, line);
      return NULL;
    }
}

/* The one document of @data as a tree. */
static Node *
parse_document (const gchar *data, gsize length, const gchar *source, GError **error)
{
  g_auto (yaml_parser_t) parser = { 0 };
  g_auto (yaml_event_t) event = { 0 };
  g_autoptr (Node) root = NULL;
  ParseState state = { &parser, source, 0 };

  if (length > BERTH_LIMA_YAML_MAX_FILE_SIZE)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is %zu bytes; lima.yaml may be at most %d", source, length,
                   BERTH_LIMA_YAML_MAX_FILE_SIZE);
      return NULL;
    }
  if (!g_utf8_validate (data, (gssize)length, NULL) || memchr (data, '\0', length) != NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is not UTF-8 text; lima.yaml must be UTF-8", source);
      return NULL;
    }
  if (!yaml_parser_initialize (&parser))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Could not set up a YAML parser");
      return NULL;
    }
  yaml_parser_set_input_string (&parser, (const unsigned char *)data, length);
  yaml_parser_set_encoding (&parser, YAML_UTF8_ENCODING);

  if (!next_event (&state, &event, error))
    return NULL;
  if (event.type != YAML_STREAM_START_EVENT)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA, "%s is not a YAML stream", source);
      return NULL;
    }
  if (!next_event (&state, &event, error))
    return NULL;
  if (event.type != YAML_DOCUMENT_START_EVENT)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is empty; expected lima.yaml's settings", source);
      return NULL;
    }
  if (!next_event (&state, &event, error))
    return NULL;
  root = parse_node (&state, &event, 0, error);
  if (root == NULL)
    return NULL;
  if (!next_event (&state, &event, error))
    return NULL;
  if (event.type != YAML_DOCUMENT_END_EVENT)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s: unexpected content after the document", source);
      return NULL;
    }
  if (!next_event (&state, &event, error))
    return NULL;
  if (event.type != YAML_STREAM_END_EVENT)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s holds more than one YAML document; lima.yaml has one", source);
      return NULL;
    }
  return g_steal_pointer (&root);
}

/* ------------------------------------------------------------------------ */
/* Reader: the tree into a configuration                                    */
/* ------------------------------------------------------------------------ */

static const gchar *
kind_name (const Node *node)
{
  switch (node->kind)
    {
    case NODE_MAPPING:
      return "a mapping";
    case NODE_SEQUENCE:
      return "a list";
    case NODE_SCALAR:
    default:
      return "a value";
    }
}

/* A value for messages: quoted, escaped, cut short. */
static gchar *
describe (const Node *node)
{
  g_autofree gchar *valid = NULL;
  g_autofree gchar *cut = NULL;
  g_autofree gchar *escaped = NULL;
  glong n_chars;

  if (node->kind != NODE_SCALAR)
    return g_strdup (kind_name (node));
  valid = g_utf8_make_valid (node->value, -1);
  n_chars = g_utf8_strlen (valid, -1);
  cut = g_utf8_substring (valid, 0, MIN (n_chars, 60));
  escaped = g_strescape (cut, NULL);
  return g_strdup_printf ("\"%s\"%s", escaped, n_chars > 60 ? "…" : "");
}

static void
set_type_error (GError **error, const gchar *source, const gchar *key, const Node *node,
                const gchar *expected)
{
  g_autofree gchar *got = describe (node);

  g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA, "%s, line %zu: %s must be %s, not %s",
               source, node->line, key, expected, got);
}

/* The value of @name in @mapping (NULL when absent); a key given twice is an
 * error, as Lima's parser has it. */
static gboolean
lookup (const Node *mapping, const gchar *name, const gchar *source, const gchar *path,
        const Node **value_out, GError **error)
{
  const Node *found = NULL;

  *value_out = NULL;
  for (guint i = 0; i + 1 < mapping->children->len; i += 2)
    {
      const Node *key = g_ptr_array_index (mapping->children, i);

      if (key->length == strlen (name) && g_str_equal (key->value, name))
        {
          if (found != NULL)
            {
              g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                           "%s, line %zu: %s%s%s is given twice", source, key->line,
                           path != NULL ? path : "", path != NULL ? "." : "", name);
              return FALSE;
            }
          found = g_ptr_array_index (mapping->children, i + 1);
        }
    }
  *value_out = found;
  return TRUE;
}

typedef struct
{
  const gchar *source;
  GError **error;
} Reader;

/* Each getter: @key is the full dotted path for messages; an absent value
 * leaves *out alone and succeeds. */
static gboolean
get_node (Reader *r, const Node *mapping, const gchar *parent, const gchar *name, const Node **out)
{
  return lookup (mapping, name, r->source, parent, out, r->error);
}

static gchar *
key_path (const gchar *parent, const gchar *name)
{
  return parent != NULL ? g_strconcat (parent, ".", name, NULL) : g_strdup (name);
}

static gboolean
check_string (Reader *r, const Node *node, const gchar *key)
{
  if (node->kind != NODE_SCALAR)
    {
      set_type_error (r->error, r->source, key, node, "a string");
      return FALSE;
    }
  if (node->length != strlen (node->value))
    {
      g_set_error (r->error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s, line %zu: %s holds a NUL character, which no setting allows", r->source,
                   node->line, key);
      return FALSE;
    }
  return TRUE;
}

static gboolean
get_string (Reader *r, const Node *mapping, const gchar *parent, const gchar *name,
            gboolean required, gchar **out)
{
  const Node *node = NULL;
  g_autofree gchar *key = key_path (parent, name);

  if (!get_node (r, mapping, parent, name, &node))
    return FALSE;
  if (node == NULL)
    {
      if (!required)
        return TRUE;
      g_set_error (r->error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA, "%s, line %zu: %s is missing",
                   r->source, mapping->line, key);
      return FALSE;
    }
  if (!check_string (r, node, key))
    return FALSE;
  g_free (*out);
  *out = g_strdup (node->value);
  return TRUE;
}

/* A string from @choices (NULL-terminated; the message lists them). */
static gboolean
get_choice (Reader *r, const Node *mapping, const gchar *parent, const gchar *name,
            const gchar *const *choices, gchar **out)
{
  const Node *node = NULL;
  g_autofree gchar *key = key_path (parent, name);

  if (!get_node (r, mapping, parent, name, &node))
    return FALSE;
  if (node == NULL)
    return TRUE;
  if (node->kind != NODE_SCALAR || node->length != strlen (node->value)
      || !is_one_of (node->value, choices))
    {
      g_autofree gchar *allowed = g_strjoinv (", ", (gchar **)choices);
      g_autofree gchar *expected = g_strdup_printf ("one of %s", allowed);

      set_type_error (r->error, r->source, key, node, expected);
      return FALSE;
    }
  g_free (*out);
  *out = g_strdup (node->value);
  return TRUE;
}

static gboolean
get_uint (Reader *r, const Node *mapping, const gchar *parent, const gchar *name, guint64 min,
          guint64 max, guint64 *out)
{
  const Node *node = NULL;
  g_autofree gchar *key = key_path (parent, name);
  guint64 value = 0;

  if (!get_node (r, mapping, parent, name, &node))
    return FALSE;
  if (node == NULL)
    return TRUE;
  if (node->kind != NODE_SCALAR || !node->plain || !g_ascii_isdigit (node->value[0])
      || !g_ascii_string_to_unsigned (node->value, 10, min, max, &value, NULL))
    {
      g_autofree gchar *expected = g_strdup_printf (
          "a whole number from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT, min, max);

      set_type_error (r->error, r->source, key, node, expected);
      return FALSE;
    }
  *out = value;
  return TRUE;
}

static gboolean
get_boolean (Reader *r, const Node *mapping, const gchar *parent, const gchar *name, gboolean *out)
{
  static const gchar *const true_words[] = { "true", "True", "TRUE", NULL };
  static const gchar *const false_words[] = { "false", "False", "FALSE", NULL };
  const Node *node = NULL;
  g_autofree gchar *key = key_path (parent, name);

  if (!get_node (r, mapping, parent, name, &node))
    return FALSE;
  if (node == NULL)
    return TRUE;
  if (node->kind == NODE_SCALAR && node->plain && is_one_of (node->value, true_words))
    *out = TRUE;
  else if (node->kind == NODE_SCALAR && node->plain && is_one_of (node->value, false_words))
    *out = FALSE;
  else
    {
      set_type_error (r->error, r->source, key, node, "true or false");
      return FALSE;
    }
  return TRUE;
}

static gboolean
get_size (Reader *r, const Node *mapping, const gchar *name, guint64 *out)
{
  const Node *node = NULL;
  guint64 value = 0;

  if (!get_node (r, mapping, NULL, name, &node))
    return FALSE;
  if (node == NULL)
    return TRUE;
  if (node->kind != NODE_SCALAR || node->length != strlen (node->value)
      || !berth_lima_parse_size (node->value, &value) || value == 0)
    {
      set_type_error (r->error, r->source, name, node,
                      "a size such as 4GiB or 512MiB (a whole number with an optional unit B, "
                      "KiB, MiB, GiB or TiB)");
      return FALSE;
    }
  *out = value;
  return TRUE;
}

/* The child @name, which must be @kind when present. */
static gboolean
get_container (Reader *r, const Node *mapping, const gchar *parent, const gchar *name,
               NodeKind kind, const Node **out)
{
  const Node *node = NULL;

  if (!get_node (r, mapping, parent, name, &node))
    return FALSE;
  if (node != NULL && node->kind != kind)
    {
      g_autofree gchar *key = key_path (parent, name);

      set_type_error (r->error, r->source, key, node,
                      kind == NODE_MAPPING ? "a mapping" : "a list");
      return FALSE;
    }
  *out = node;
  return TRUE;
}

static gboolean
read_mounts (Reader *r, const Node *root, BerthLimaConfig *config)
{
  const Node *mounts = NULL;
  g_autofree gchar *mount_type = NULL;

  if (!get_container (r, root, NULL, "mounts", NODE_SEQUENCE, &mounts)
      || !get_string (r, root, NULL, "mountType", FALSE, &mount_type))
    return FALSE;
  if (mounts == NULL)
    return TRUE;
  for (guint i = 0; i < mounts->children->len; i++)
    {
      const Node *item = g_ptr_array_index (mounts->children, i);
      g_autofree gchar *path = g_strdup_printf ("mounts[%u]", i);
      g_autofree gchar *location = NULL;
      g_autofree gchar *mount_point = NULL;
      gboolean writable = FALSE;

      if (item->kind != NODE_MAPPING)
        {
          set_type_error (r->error, r->source, path, item,
                          "a mapping with location, mountPoint and writable");
          return FALSE;
        }
      if (!get_string (r, item, path, "location", TRUE, &location)
          || !get_string (r, item, path, "mountPoint", FALSE, &mount_point)
          || !get_boolean (r, item, path, "writable", &writable))
        return FALSE;
      berth_lima_config_add_mount (config, location, mount_point, writable,
                                   mount_type != NULL ? mount_type : "9p");
    }
  return TRUE;
}

static gboolean
read_provisions (Reader *r, const Node *root, BerthLimaConfig *config)
{
  static const gchar *const modes[] = { "system", "user", NULL };
  const Node *provisions = NULL;

  if (!get_container (r, root, NULL, "provision", NODE_SEQUENCE, &provisions))
    return FALSE;
  if (provisions == NULL)
    return TRUE;
  for (guint i = 0; i < provisions->children->len; i++)
    {
      const Node *item = g_ptr_array_index (provisions->children, i);
      g_autofree gchar *path = g_strdup_printf ("provision[%u]", i);
      g_autofree gchar *mode = g_strdup ("system");
      g_autofree gchar *script = NULL;

      if (item->kind != NODE_MAPPING)
        {
          set_type_error (r->error, r->source, path, item, "a mapping with mode and script");
          return FALSE;
        }
      if (!get_choice (r, item, path, "mode", modes, &mode)
          || !get_string (r, item, path, "script", TRUE, &script))
        return FALSE;
      berth_lima_config_add_provision (config, mode, script);
    }
  return TRUE;
}

static gboolean
read_env (Reader *r, const Node *root, BerthLimaConfig *config)
{
  const Node *env = NULL;

  if (!get_container (r, root, NULL, "env", NODE_MAPPING, &env))
    return FALSE;
  if (env == NULL)
    return TRUE;
  for (guint i = 0; i + 1 < env->children->len; i += 2)
    {
      const Node *key = g_ptr_array_index (env->children, i);
      const Node *value = g_ptr_array_index (env->children, i + 1);
      g_autofree gchar *path = g_strconcat ("env.", key->value, NULL);

      if (!check_string (r, key, "a key of env") || !check_string (r, value, path))
        return FALSE;
      if (g_hash_table_contains (config->env, key->value))
        {
          g_set_error (r->error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "%s, line %zu: %s is given twice", r->source, key->line, path);
          return FALSE;
        }
      g_hash_table_insert (config->env, g_strdup (key->value), g_strdup (value->value));
    }
  return TRUE;
}

static gboolean
read_config (Reader *r, const Node *root, const gchar *name_hint, BerthLimaConfig **config_out)
{
  static const gchar *const engines[] = { "moby", "containerd", NULL };
  static const gchar *const accels[] = { "auto", "kvm", "tcg", NULL };
  static const gchar *const boot_modes[] = { "auto", "kernel", "disk", NULL };
  static const gchar *const vm_types[] = { "qemu", NULL };
  g_autoptr (BerthLimaConfig) config = NULL;
  g_autofree gchar *name = NULL;
  g_autofree gchar *vm_type = NULL;
  const Node *berth = NULL, *ssh = NULL, *containerd = NULL, *user = NULL;
  guint64 cpus = 0, port = 0, uid = 0, timeout = 0;
  gboolean containerd_system = FALSE;

  if (root->kind != NODE_MAPPING)
    {
      set_type_error (r->error, r->source, "the document", root, "a mapping of settings");
      return FALSE;
    }
  if (!get_container (r, root, NULL, "berth", NODE_MAPPING, &berth)
      || (berth != NULL && !get_string (r, berth, "berth", "name", FALSE, &name)))
    return FALSE;
  if (name == NULL)
    name = g_strdup (name_hint);
  if (name == NULL)
    {
      g_set_error (r->error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s: berth.name is missing and no instance directory names the instance",
                   r->source);
      return FALSE;
    }
  {
    g_autoptr (GError) local_error = NULL;

    if (!berth_lima_validate_name (name, &local_error))
      {
        g_set_error (r->error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                     "%s, line %zu: berth.name: %s", r->source,
                     berth != NULL ? berth->line : root->line, local_error->message);
        return FALSE;
      }
  }

  config = berth_lima_config_new (name);
  cpus = config->cpus;
  timeout = config->boot_timeout_seconds;
  if (!get_choice (r, root, NULL, "vmType", vm_types, &vm_type)
      || !get_string (r, root, NULL, "arch", FALSE, &config->arch)
      || !get_uint (r, root, NULL, "cpus", 1, CPUS_MAX, &cpus)
      || !get_size (r, root, "memory", &config->memory_bytes)
      || !get_size (r, root, "disk", &config->disk_bytes) || !read_mounts (r, root, config)
      || !read_provisions (r, root, config) || !read_env (r, root, config))
    return FALSE;
  config->cpus = (guint)cpus;
  if (!g_regex_match_simple ("^[a-z0-9_]{1,32}$", config->arch, 0, 0))
    {
      g_autofree gchar *escaped = g_strescape (config->arch, NULL);

      g_set_error (r->error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s: arch \"%.64s\" is not an architecture name such as x86_64 or aarch64",
                   r->source, escaped);
      return FALSE;
    }

  if (!get_container (r, root, NULL, "ssh", NODE_MAPPING, &ssh)
      || (ssh != NULL && !get_uint (r, ssh, "ssh", "localPort", 0, G_MAXUINT16, &port)))
    return FALSE;
  config->ssh_local_port = (guint16)port;

  if (!get_container (r, root, NULL, "containerd", NODE_MAPPING, &containerd)
      || (containerd != NULL
          && !get_boolean (r, containerd, "containerd", "system", &containerd_system)))
    return FALSE;
  if (containerd_system)
    {
      g_free (config->container_engine);
      config->container_engine = g_strdup ("containerd");
    }

  if (!get_container (r, root, NULL, "user", NODE_MAPPING, &user))
    return FALSE;
  if (user != NULL)
    {
      if (!get_string (r, user, "user", "name", TRUE, &config->user)
          || !get_uint (r, user, "user", "uid", 1, UID_MAX_VALUE, &uid)
          || !get_string (r, user, "user", "home", FALSE, &config->home))
        return FALSE;
      if (uid == 0)
        {
          g_set_error (r->error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "%s, line %zu: user.uid is missing", r->source, user->line);
          return FALSE;
        }
      config->uid = (guint)uid;
    }

  if (berth != NULL)
    {
      if (!get_choice (r, berth, "berth", "containerEngine", engines, &config->container_engine)
          || !get_choice (r, berth, "berth", "accel", accels, &config->accel)
          || !get_choice (r, berth, "berth", "bootMode", boot_modes, &config->boot_mode)
          || !get_uint (r, berth, "berth", "bootTimeoutSeconds", 0, BOOT_TIMEOUT_MAX, &timeout))
        return FALSE;
      config->boot_timeout_seconds = (guint)timeout;
    }

  *config_out = g_steal_pointer (&config);
  return TRUE;
}

BerthLimaConfig *
berth_lima_yaml_parse (const gchar *data, gsize length, const gchar *name_hint, const gchar *source,
                       GError **error)
{
  g_autoptr (Node) root = NULL;
  BerthLimaConfig *config = NULL;
  Reader reader;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (source == NULL)
    source = "lima.yaml";
  root = parse_document (data != NULL ? data : "", length, source, error);
  if (root == NULL)
    return NULL;
  reader.source = source;
  reader.error = error;
  if (!read_config (&reader, root, name_hint, &config))
    return NULL;
  return config;
}

/* The file's bytes, refusing more than BERTH_LIMA_YAML_MAX_FILE_SIZE without
 * reading them all. */
static gboolean
read_bounded (const gchar *path, gchar **data_out, gsize *length_out, GError **error)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GFileInputStream) stream = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree gchar *buffer = NULL;
  gsize length = 0;

  stream = g_file_read (file, NULL, &local_error);
  if (stream == NULL)
    {
      gint code = g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)
                      ? BERTH_ERROR_NOT_FOUND
                      : BERTH_ERROR_FAILED;

      g_set_error (error, BERTH_ERROR, code, "Could not read %s: %s", path, local_error->message);
      return FALSE;
    }
  buffer = g_malloc (BERTH_LIMA_YAML_MAX_FILE_SIZE + 1);
  if (!g_input_stream_read_all (G_INPUT_STREAM (stream), buffer, BERTH_LIMA_YAML_MAX_FILE_SIZE + 1,
                                &length, NULL, &local_error))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Could not read %s: %s", path,
                   local_error->message);
      return FALSE;
    }
  if (length > BERTH_LIMA_YAML_MAX_FILE_SIZE)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is larger than %d bytes, the most lima.yaml may be", path,
                   BERTH_LIMA_YAML_MAX_FILE_SIZE);
      return FALSE;
    }
  *data_out = g_steal_pointer (&buffer);
  *length_out = length;
  return TRUE;
}

BerthLimaConfig *
berth_lima_yaml_read (const gchar *path, GError **error)
{
  g_autofree gchar *data = NULL;
  g_autofree gchar *dir = NULL;
  g_autofree gchar *name_hint = NULL;
  gsize length = 0;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!read_bounded (path, &data, &length, error))
    return NULL;
  dir = g_path_get_dirname (path);
  name_hint = g_path_get_basename (dir);
  return berth_lima_yaml_parse (data, length, name_hint, path, error);
}
