/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Berth — Berth's cluster, user and context in the user's kubeconfig.
 *
 * The file is read and written with libyaml's document API: every node that
 * is not Berth's is copied as it was read (order, scalar and collection
 * styles, tags, shared nodes), so a file kubectl wrote comes back byte for
 * byte once Berth's entries are gone (go-yaml, which kubectl writes with, is
 * a port of libyaml's emitter). Comments do not survive; kubectl drops them
 * too. */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include <glib/gstdio.h>

#include "berth-error.h"
#include "berth-file.h"
#include "berth-k3s-kubeconfig.h"

#define NAME "berth"
/* A kubeconfig is a few kilobytes; one with hundreds of clusters is still
 * far below this. */
#define MAX_FILE_SIZE (16 * 1024 * 1024)

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (yaml_parser_t, yaml_parser_delete)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (yaml_document_t, yaml_document_delete)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (yaml_emitter_t, yaml_emitter_delete)

/* The lists whose entries are named, and the member holding an entry's body. */
static const gchar *const named_lists[] = { "clusters", "contexts", "users", NULL };

/* ---- reading ------------------------------------------------------------ */

static gchar **
split_kubeconfig_env (const gchar *kubeconfig_env)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) parts = NULL;

  if (kubeconfig_env != NULL)
    {
      parts = g_strsplit (kubeconfig_env, G_SEARCHPATH_SEPARATOR_S, -1);
      for (gsize i = 0; parts[i] != NULL; i++)
        if (parts[i][0] != '\0')
          g_strv_builder_add (builder, parts[i]);
    }
  return g_strv_builder_end (builder);
}

static gchar *
home_kubeconfig (const gchar *home)
{
  return g_build_filename (home != NULL ? home : g_get_home_dir (), ".kube", "config", NULL);
}

/* Reads @path into @doc. A missing or empty file gives an empty document
 * (no root node) and no error. @what names the file in messages. */
static gboolean
load_yaml (const gchar *text, gsize length, const gchar *what, yaml_document_t *doc, GError **error)
{
  g_auto (yaml_parser_t) parser = { 0 };
  g_auto (yaml_document_t) extra = { 0 };
  yaml_node_t *root;

  if (!yaml_parser_initialize (&parser))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Out of memory reading %s", what);
      return FALSE;
    }
  yaml_parser_set_input_string (&parser, (const guchar *)text, length);
  if (!yaml_parser_load (&parser, doc))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is not valid YAML: %s at line %zu, column %zu", what,
                   parser.problem != NULL ? parser.problem : "unknown error",
                   parser.problem_mark.line + 1, parser.problem_mark.column + 1);
      return FALSE;
    }
  root = yaml_document_get_root_node (doc);
  if (root == NULL)
    return TRUE;
  if (!yaml_parser_load (&parser, &extra))
    {
      yaml_document_delete (doc);
      memset (doc, 0, sizeof *doc);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is not valid YAML: %s at line %zu, column %zu", what,
                   parser.problem != NULL ? parser.problem : "unknown error",
                   parser.problem_mark.line + 1, parser.problem_mark.column + 1);
      return FALSE;
    }
  if (yaml_document_get_root_node (&extra) != NULL)
    {
      yaml_document_delete (doc);
      memset (doc, 0, sizeof *doc);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s holds more than one YAML document; a kubeconfig is one mapping", what);
      return FALSE;
    }
  if (root->type != YAML_MAPPING_NODE)
    {
      gsize line = root->start_mark.line + 1;

      yaml_document_delete (doc);
      memset (doc, 0, sizeof *doc);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is not a kubeconfig: its top level is not a mapping (line %zu)", what, line);
      return FALSE;
    }
  return TRUE;
}

/* Reads the file at @path, following symlinks. A missing file is empty. */
static gboolean
read_kubeconfig (const gchar *path, yaml_document_t *doc, gboolean *exists, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autofree gchar *text = NULL;
  gsize length = 0;
  GStatBuf st;

  *exists = FALSE;
  if (g_stat (path, &st) != 0)
    {
      if (errno == ENOENT)
        {
          if (g_file_test (path, G_FILE_TEST_IS_SYMLINK))
            {
              g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                           "The kubeconfig %s is a symbolic link to a file that does not exist; "
                           "remove the link or create the file",
                           path);
              return FALSE;
            }
          return TRUE;
        }
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Cannot read the kubeconfig %s: %s",
                   path, g_strerror (errno));
      return FALSE;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "The kubeconfig %s is not a regular file", path);
      return FALSE;
    }
  if (st.st_size > MAX_FILE_SIZE)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "The kubeconfig %s is %" G_GINT64_FORMAT " bytes; at most %d are read", path,
                   (gint64)st.st_size, MAX_FILE_SIZE);
      return FALSE;
    }
  if (!g_file_get_contents (path, &text, &length, &local_error))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Cannot read the kubeconfig %s: %s",
                   path, local_error->message);
      return FALSE;
    }
  *exists = TRUE;
  return load_yaml (text, length, path, doc, error);
}

static const gchar *
scalar_text (yaml_node_t *node)
{
  if (node == NULL || node->type != YAML_SCALAR_NODE)
    return NULL;
  return (const gchar *)node->data.scalar.value;
}

/* The value node of @key in the mapping @mapping, or NULL. */
static yaml_node_t *
mapping_get (yaml_document_t *doc, yaml_node_t *mapping, const gchar *key)
{
  if (mapping == NULL || mapping->type != YAML_MAPPING_NODE)
    return NULL;
  for (yaml_node_pair_t *pair = mapping->data.mapping.pairs.start;
       pair < mapping->data.mapping.pairs.top; pair++)
    if (g_strcmp0 (scalar_text (yaml_document_get_node (doc, pair->key)), key) == 0)
      return yaml_document_get_node (doc, pair->value);
  return NULL;
}

static gboolean
entry_is_named (yaml_document_t *doc, yaml_node_t *entry, const gchar *name)
{
  return g_strcmp0 (scalar_text (mapping_get (doc, entry, "name")), name) == 0;
}

/* The entry named @name of the list @list ("clusters"…), or NULL. */
static yaml_node_t *
find_entry (yaml_document_t *doc, const gchar *list, const gchar *name)
{
  yaml_node_t *seq = mapping_get (doc, yaml_document_get_root_node (doc), list);

  if (seq == NULL || seq->type != YAML_SEQUENCE_NODE)
    return NULL;
  for (yaml_node_item_t *item = seq->data.sequence.items.start; item < seq->data.sequence.items.top;
       item++)
    {
      yaml_node_t *entry = yaml_document_get_node (doc, *item);

      if (entry_is_named (doc, entry, name))
        return entry;
    }
  return NULL;
}

static gboolean
holds_berth (yaml_document_t *doc)
{
  for (gsize i = 0; named_lists[i] != NULL; i++)
    if (find_entry (doc, named_lists[i], NAME) != NULL)
      return TRUE;
  return FALSE;
}

static const gchar *
current_context (yaml_document_t *doc)
{
  return scalar_text (mapping_get (doc, yaml_document_get_root_node (doc), "current-context"));
}

/* ---- copying ------------------------------------------------------------ */

/* Copies nodes of one document into another, keeping shared nodes shared. */
typedef struct
{
  yaml_document_t *in;
  yaml_document_t *out;
  GHashTable *copied; /* input index → output index */
} Copier;

static gint
copy_node (Copier *c, gint index);

static gint
copy_node (Copier *c, gint index)
{
  yaml_node_t *node = yaml_document_get_node (c->in, index);
  gpointer done;
  gint out = 0;

  if (node == NULL)
    return 0;
  if (g_hash_table_lookup_extended (c->copied, GINT_TO_POINTER (index), NULL, &done))
    return GPOINTER_TO_INT (done);
  switch (node->type)
    {
    case YAML_SCALAR_NODE:
      out = yaml_document_add_scalar (c->out, node->tag, node->data.scalar.value,
                                      (int)node->data.scalar.length, node->data.scalar.style);
      g_hash_table_insert (c->copied, GINT_TO_POINTER (index), GINT_TO_POINTER (out));
      break;
    case YAML_SEQUENCE_NODE:
      {
        gsize n = node->data.sequence.items.top - node->data.sequence.items.start;
        g_autofree gint *items = g_new (gint, n + 1);

        out = yaml_document_add_sequence (c->out, node->tag, node->data.sequence.style);
        g_hash_table_insert (c->copied, GINT_TO_POINTER (index), GINT_TO_POINTER (out));
        for (gsize i = 0; i < n; i++)
          items[i] = node->data.sequence.items.start[i];
        for (gsize i = 0; i < n; i++)
          yaml_document_append_sequence_item (c->out, out, copy_node (c, items[i]));
        break;
      }
    case YAML_MAPPING_NODE:
      {
        gsize n = node->data.mapping.pairs.top - node->data.mapping.pairs.start;
        g_autofree yaml_node_pair_t *pairs = g_new (yaml_node_pair_t, n + 1);

        out = yaml_document_add_mapping (c->out, node->tag, node->data.mapping.style);
        g_hash_table_insert (c->copied, GINT_TO_POINTER (index), GINT_TO_POINTER (out));
        memcpy (pairs, node->data.mapping.pairs.start, n * sizeof *pairs);
        for (gsize i = 0; i < n; i++)
          {
            gint key = copy_node (c, pairs[i].key);
            gint value = copy_node (c, pairs[i].value);

            yaml_document_append_mapping_pair (c->out, out, key, value);
          }
        break;
      }
    case YAML_NO_NODE:
    default:
      break;
    }
  return out;
}

static gint
add_plain (yaml_document_t *doc, const gchar *text)
{
  return yaml_document_add_scalar (doc, NULL, (yaml_char_t *)text, -1, YAML_PLAIN_SCALAR_STYLE);
}

static gint
add_string (yaml_document_t *doc, const gchar *text)
{
  /* Plain unless YAML would read it as something else; the emitter picks
   * a quoted style itself when plain is not allowed. */
  return yaml_document_add_scalar (doc, NULL, (yaml_char_t *)text, -1,
                                   text[0] == '\0' ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
                                                   : YAML_ANY_SCALAR_STYLE);
}

static void
add_pair (yaml_document_t *doc, gint mapping, const gchar *key, gint value)
{
  yaml_document_append_mapping_pair (doc, mapping, add_plain (doc, key), value);
}

/* ---- Berth's entries ------------------------------------------------------ */

/* What Berth writes, taken from k3s.yaml. */
typedef struct
{
  yaml_document_t *source; /* the parsed k3s.yaml */
  yaml_node_t *cluster;    /* its first cluster's "cluster" mapping */
  yaml_node_t *user;       /* the user of its first context, "user" mapping */
} K3sEntries;

/* A node's index in its document, as libyaml's API takes it. */
static gint
node_index (yaml_document_t *doc, yaml_node_t *node)
{
  return (gint)(node - doc->nodes.start) + 1;
}

static gboolean
find_k3s_entries (yaml_document_t *doc, K3sEntries *entries, GError **error)
{
  yaml_node_t *root = yaml_document_get_root_node (doc);
  yaml_node_t *clusters = mapping_get (doc, root, "clusters");
  yaml_node_t *users = mapping_get (doc, root, "users");
  yaml_node_t *contexts = mapping_get (doc, root, "contexts");
  const gchar *user_name = NULL;

  entries->source = doc;
  if (clusters == NULL || clusters->type != YAML_SEQUENCE_NODE
      || clusters->data.sequence.items.start == clusters->data.sequence.items.top)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "The guest's k3s.yaml lists no cluster");
      return FALSE;
    }
  entries->cluster = mapping_get (
      doc, yaml_document_get_node (doc, clusters->data.sequence.items.start[0]), "cluster");
  if (entries->cluster == NULL || entries->cluster->type != YAML_MAPPING_NODE)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "The guest's k3s.yaml has a cluster entry without a \"cluster\" mapping");
      return FALSE;
    }
  if (contexts != NULL && contexts->type == YAML_SEQUENCE_NODE
      && contexts->data.sequence.items.start < contexts->data.sequence.items.top)
    user_name = scalar_text (mapping_get (
        doc,
        mapping_get (doc, yaml_document_get_node (doc, contexts->data.sequence.items.start[0]),
                     "context"),
        "user"));
  if (users != NULL && users->type == YAML_SEQUENCE_NODE)
    for (yaml_node_item_t *item = users->data.sequence.items.start;
         item < users->data.sequence.items.top; item++)
      {
        yaml_node_t *entry = yaml_document_get_node (doc, *item);

        if (user_name == NULL || entry_is_named (doc, entry, user_name))
          {
            entries->user = mapping_get (doc, entry, "user");
            break;
          }
      }
  if (entries->user == NULL || entries->user->type != YAML_MAPPING_NODE)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "The guest's k3s.yaml lists no user for its context");
      return FALSE;
    }
  return TRUE;
}

/* Appends Berth's entry for @list to the sequence @seq of @out. */
static void
append_berth_entry (yaml_document_t *out, gint seq, const gchar *list, K3sEntries *entries,
                    guint port)
{
  g_autoptr (GHashTable) copied = g_hash_table_new (NULL, NULL);
  Copier c = { entries->source, out, copied };
  gint entry = yaml_document_add_mapping (out, NULL, YAML_BLOCK_MAPPING_STYLE);

  /* Keys in the order kubectl writes them (sorted). */
  if (g_str_equal (list, "clusters"))
    {
      gint body = yaml_document_add_mapping (out, NULL, YAML_BLOCK_MAPPING_STYLE);
      g_autofree gchar *server = g_strdup_printf ("https://127.0.0.1:%u", port);
      yaml_node_t *cluster = entries->cluster;
      gsize n = cluster->data.mapping.pairs.top - cluster->data.mapping.pairs.start;
      g_autofree yaml_node_pair_t *pairs
          = g_memdup2 (cluster->data.mapping.pairs.start, n * sizeof *pairs);

      for (gsize i = 0; i < n; i++)
        {
          const gchar *key = scalar_text (yaml_document_get_node (entries->source, pairs[i].key));

          if (g_strcmp0 (key, "server") == 0)
            add_pair (out, body, "server", add_plain (out, server));
          else
            yaml_document_append_mapping_pair (out, body, copy_node (&c, pairs[i].key),
                                               copy_node (&c, pairs[i].value));
        }
      if (mapping_get (entries->source, cluster, "server") == NULL)
        add_pair (out, body, "server", add_plain (out, server));
      add_pair (out, entry, "cluster", body);
      add_pair (out, entry, "name", add_plain (out, NAME));
    }
  else if (g_str_equal (list, "contexts"))
    {
      gint body = yaml_document_add_mapping (out, NULL, YAML_BLOCK_MAPPING_STYLE);

      add_pair (out, body, "cluster", add_plain (out, NAME));
      add_pair (out, body, "user", add_plain (out, NAME));
      add_pair (out, entry, "context", body);
      add_pair (out, entry, "name", add_plain (out, NAME));
    }
  else
    {
      add_pair (out, entry, "name", add_plain (out, NAME));
      add_pair (out, entry, "user", copy_node (&c, node_index (entries->source, entries->user)));
    }
  yaml_document_append_sequence_item (out, seq, entry);
}

/* ---- the edit --------------------------------------------------------------- */

typedef struct
{
  K3sEntries *entries; /* NULL: remove Berth's entries */
  guint port;
  gboolean set_current; /* merging: make "berth" the current context */
  const gchar *what;    /* the file, for messages */
} Edit;

/* The list @key of @in's root, rewritten into @out: Berth's entry dropped,
 * or put where it was (appended when new). */
static gboolean
rewrite_list (Edit *edit, Copier *c, yaml_node_t *value, const gchar *key, gint *out_index,
              GError **error)
{
  gboolean placed = FALSE;
  gint seq;

  if (value != NULL && value->type == YAML_SCALAR_NODE
      && (value->data.scalar.length == 0 || g_str_equal (scalar_text (value), "null")
          || g_str_equal (scalar_text (value), "~")))
    value = NULL;
  if (value != NULL && value->type != YAML_SEQUENCE_NODE)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is not a kubeconfig Berth can change: \"%s\" (line %zu) is not a list",
                   edit->what, key, value->start_mark.line + 1);
      return FALSE;
    }
  if (value == NULL && edit->entries == NULL)
    {
      *out_index = 0; /* copy as it was */
      return TRUE;
    }
  seq = yaml_document_add_sequence (c->out, value != NULL ? value->tag : NULL,
                                    YAML_BLOCK_SEQUENCE_STYLE);
  if (value != NULL)
    {
      gsize n = value->data.sequence.items.top - value->data.sequence.items.start;
      g_autofree gint *items = g_memdup2 (value->data.sequence.items.start, n * sizeof (gint));

      for (gsize i = 0; i < n; i++)
        {
          if (entry_is_named (c->in, yaml_document_get_node (c->in, items[i]), NAME))
            {
              if (edit->entries != NULL && !placed)
                append_berth_entry (c->out, seq, key, edit->entries, edit->port);
              placed = TRUE;
              continue;
            }
          yaml_document_append_sequence_item (c->out, seq, copy_node (c, items[i]));
        }
    }
  if (edit->entries != NULL && !placed)
    append_berth_entry (c->out, seq, key, edit->entries, edit->port);
  *out_index = seq;
  return TRUE;
}

static gint
current_context_value (Edit *edit, Copier *c, yaml_node_t *value)
{
  if (edit->entries != NULL && edit->set_current)
    return add_plain (c->out, NAME);
  if (edit->entries == NULL && g_strcmp0 (scalar_text (value), NAME) == 0)
    return add_string (c->out, "");
  return copy_node (c, node_index (c->in, value));
}

/* Builds @out from @in (which may have no root) as @edit says. */
static gboolean
rewrite (Edit *edit, yaml_document_t *in, yaml_document_t *out, GError **error)
{
  g_autoptr (GHashTable) copied = g_hash_table_new (NULL, NULL);
  Copier c = { in, out, copied };
  yaml_node_t *root = yaml_document_get_root_node (in);
  gboolean seen[G_N_ELEMENTS (named_lists)] = { FALSE };
  gboolean seen_current = FALSE;
  gint out_root;

  if (!yaml_document_initialize (out, NULL, NULL, NULL, root != NULL ? in->start_implicit : 1, 1))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Out of memory writing %s", edit->what);
      return FALSE;
    }
  out_root = yaml_document_add_mapping (out, root != NULL ? root->tag : NULL,
                                        root != NULL ? root->data.mapping.style
                                                     : YAML_BLOCK_MAPPING_STYLE);
  if (root == NULL)
    {
      /* A new file, in the order kubectl writes one. */
      gint list;

      add_pair (out, out_root, "apiVersion", add_plain (out, "v1"));
      for (gsize i = 0; named_lists[i] != NULL; i++)
        {
          if (!rewrite_list (edit, &c, NULL, named_lists[i], &list, error))
            return FALSE;
          add_pair (out, out_root, named_lists[i], list);
          if (i == 1)
            {
              add_pair (out, out_root, "current-context",
                        edit->set_current ? add_plain (out, NAME) : add_string (out, ""));
              add_pair (out, out_root, "kind", add_plain (out, "Config"));
              add_pair (out, out_root, "preferences",
                        yaml_document_add_mapping (out, NULL, YAML_FLOW_MAPPING_STYLE));
            }
        }
      return TRUE;
    }

  {
    gsize n = root->data.mapping.pairs.top - root->data.mapping.pairs.start;
    g_autofree yaml_node_pair_t *pairs
        = g_memdup2 (root->data.mapping.pairs.start, n * sizeof *pairs);

    for (gsize i = 0; i < n; i++)
      {
        yaml_node_t *key = yaml_document_get_node (in, pairs[i].key);
        yaml_node_t *value = yaml_document_get_node (in, pairs[i].value);
        const gchar *name = scalar_text (key);
        gint list_index = -1;
        gint new_value;

        for (gsize j = 0; named_lists[j] != NULL; j++)
          if (g_strcmp0 (name, named_lists[j]) == 0)
            list_index = (gint)j;
        if (list_index >= 0 && !seen[list_index])
          {
            seen[list_index] = TRUE;
            if (!rewrite_list (edit, &c, value, name, &new_value, error))
              return FALSE;
            if (new_value == 0)
              new_value = copy_node (&c, pairs[i].value);
          }
        else if (g_strcmp0 (name, "current-context") == 0 && !seen_current)
          {
            seen_current = TRUE;
            new_value = current_context_value (edit, &c, value);
          }
        else
          new_value = copy_node (&c, pairs[i].value);
        yaml_document_append_mapping_pair (out, out_root, copy_node (&c, pairs[i].key), new_value);
      }
  }

  if (edit->entries == NULL)
    return TRUE;
  for (gsize i = 0; named_lists[i] != NULL; i++)
    if (!seen[i])
      {
        gint list;

        if (!rewrite_list (edit, &c, NULL, named_lists[i], &list, error))
          return FALSE;
        add_pair (out, out_root, named_lists[i], list);
      }
  if (!seen_current && edit->set_current)
    add_pair (out, out_root, "current-context", add_plain (out, NAME));
  return TRUE;
}

/* Nothing in @doc but what kubectl or Berth would put in an empty file. */
static gboolean
is_empty_skeleton (yaml_document_t *doc)
{
  yaml_node_t *root = yaml_document_get_root_node (doc);

  if (root == NULL)
    return TRUE;
  for (yaml_node_pair_t *pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top;
       pair++)
    {
      const gchar *key = scalar_text (yaml_document_get_node (doc, pair->key));
      yaml_node_t *value = yaml_document_get_node (doc, pair->value);

      if (g_strcmp0 (key, "apiVersion") == 0 || g_strcmp0 (key, "kind") == 0)
        continue;
      if (value->type == YAML_SCALAR_NODE
          && (value->data.scalar.length == 0 || g_str_equal (scalar_text (value), "null")))
        continue;
      if (value->type == YAML_SEQUENCE_NODE
          && value->data.sequence.items.start == value->data.sequence.items.top)
        continue;
      if (value->type == YAML_MAPPING_NODE && g_strcmp0 (key, "preferences") == 0
          && value->data.mapping.pairs.start == value->data.mapping.pairs.top)
        continue;
      return FALSE;
    }
  return TRUE;
}

static int
append_to_string (void *data, unsigned char *buffer, size_t size)
{
  g_string_append_len (data, (const gchar *)buffer, (gssize)size);
  return 1;
}

/* Emits @doc, which libyaml frees whatever happens. */
static gchar *
emit (yaml_document_t *doc, const gchar *what, gsize *length, GError **error)
{
  g_auto (yaml_emitter_t) emitter = { 0 };
  g_autoptr (GString) text = g_string_new (NULL);

  if (!yaml_emitter_initialize (&emitter))
    {
      yaml_document_delete (doc);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Out of memory writing %s", what);
      return NULL;
    }
  yaml_emitter_set_unicode (&emitter, 1);
  yaml_emitter_set_output (&emitter, append_to_string, text);
  if (!yaml_emitter_open (&emitter) || !yaml_emitter_dump (&emitter, doc)
      || !yaml_emitter_close (&emitter) || !yaml_emitter_flush (&emitter))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Cannot write %s as YAML: %s", what,
                   emitter.problem != NULL ? emitter.problem : "unknown error");
      return NULL;
    }
  *length = text->len;
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* kubectl's own lock: "<file>.lock", made exclusively, while writing. */
static gboolean
take_lock (const gchar *path, gchar **lock_out, GError **error)
{
  g_autofree gchar *lock = g_strconcat (path, ".lock", NULL);
  gint fd = g_open (lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

  if (fd < 0)
    {
      g_set_error (error, BERTH_ERROR, errno == EEXIST ? BERTH_ERROR_BUSY : BERTH_ERROR_FAILED,
                   errno == EEXIST ? "The kubeconfig %s is being written by another program "
                                     "(%s exists); if none is, remove that file"
                                   : "Cannot lock the kubeconfig %s (%s): %s",
                   path, lock, g_strerror (errno));
      return FALSE;
    }
  close (fd);
  *lock_out = g_steal_pointer (&lock);
  return TRUE;
}

static gboolean
write_kubeconfig (const gchar *path, Edit *edit, yaml_document_t *in, gboolean remove_if_empty,
                  GError **error)
{
  yaml_document_t out = { 0 };
  g_autofree gchar *text = NULL;
  g_autofree gchar *dir = g_path_get_dirname (path);
  g_autofree gchar *lock = NULL;
  gsize length = 0;
  gboolean ok;

  if (!rewrite (edit, in, &out, error))
    {
      yaml_document_delete (&out);
      return FALSE;
    }
  if (remove_if_empty && is_empty_skeleton (&out) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      yaml_document_delete (&out);
      if (g_unlink (path) != 0 && errno != ENOENT)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Cannot remove %s: %s", path,
                       g_strerror (errno));
          return FALSE;
        }
      return TRUE;
    }
  text = emit (&out, path, &length, error);
  if (text == NULL)
    return FALSE;
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "Cannot create %s: %s", dir,
                   g_strerror (errno));
      return FALSE;
    }
  if (!take_lock (path, &lock, error))
    return FALSE;
  ok = berth_file_replace_contents (path, text, length, 0600, error);
  g_unlink (lock);
  return ok;
}

/* ---- the public face -------------------------------------------------------- */

gchar *
berth_k3s_kubeconfig_choose_file (const gchar *kubeconfig_env, const gchar *home)
{
  g_auto (GStrv) files = split_kubeconfig_env (kubeconfig_env);

  for (gsize i = 0; files[i] != NULL; i++)
    {
      g_auto (yaml_document_t) doc = { 0 };
      gboolean exists = FALSE;

      /* A file that cannot be read is not Berth's; the merge reports it if
       * it is the one chosen. */
      if (read_kubeconfig (files[i], &doc, &exists, NULL) && exists && holds_berth (&doc))
        return g_strdup (files[i]);
    }
  return home_kubeconfig (home);
}

/* Whether kubectl, reading @kubeconfig_env's files (else @chosen), finds a
 * current context. */
static gboolean
has_current_context (const gchar *kubeconfig_env, const gchar *chosen, yaml_document_t *chosen_doc)
{
  g_auto (GStrv) files = split_kubeconfig_env (kubeconfig_env);
  const gchar *current;

  for (gsize i = 0; files[i] != NULL; i++)
    {
      g_auto (yaml_document_t) doc = { 0 };
      gboolean exists = FALSE;

      if (g_str_equal (files[i], chosen))
        current = current_context (chosen_doc);
      else if (read_kubeconfig (files[i], &doc, &exists, NULL) && exists)
        current = current_context (&doc);
      else
        current = NULL;
      /* kubectl takes the first file that sets one. */
      if (current != NULL && current[0] != '\0' && !g_str_equal (current, "null"))
        return TRUE;
    }
  if (files[0] != NULL)
    return FALSE;
  current = current_context (chosen_doc);
  return current != NULL && current[0] != '\0' && !g_str_equal (current, "null");
}

gchar *
berth_k3s_kubeconfig_merge (const gchar *k3s_yaml, guint port, const gchar *kubeconfig_env,
                            const gchar *home, GError **error)
{
  g_auto (yaml_document_t) source = { 0 };
  g_auto (yaml_document_t) doc = { 0 };
  g_autofree gchar *path = NULL;
  K3sEntries entries = { 0 };
  gboolean exists = FALSE;
  Edit edit = { 0 };

  g_return_val_if_fail (k3s_yaml != NULL, NULL);
  if (!load_yaml (k3s_yaml, strlen (k3s_yaml), "The guest's k3s.yaml", &source, error))
    return NULL;
  if (yaml_document_get_root_node (&source) == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA, "The guest's k3s.yaml is empty");
      return NULL;
    }
  if (!find_k3s_entries (&source, &entries, error))
    return NULL;
  path = berth_k3s_kubeconfig_choose_file (kubeconfig_env, home);
  if (!read_kubeconfig (path, &doc, &exists, error))
    return NULL;
  edit.entries = &entries;
  edit.port = port;
  edit.what = path;
  edit.set_current = !has_current_context (kubeconfig_env, path, &doc)
                     || g_strcmp0 (current_context (&doc), NAME) == 0;
  if (!write_kubeconfig (path, &edit, &doc, FALSE, error))
    return NULL;
  return g_steal_pointer (&path);
}

gboolean
berth_k3s_kubeconfig_remove (const gchar *kubeconfig_env, const gchar *home, GError **error)
{
  g_auto (yaml_document_t) doc = { 0 };
  g_autofree gchar *path = berth_k3s_kubeconfig_choose_file (kubeconfig_env, home);
  gboolean exists = FALSE;
  Edit edit = { 0 };

  if (!read_kubeconfig (path, &doc, &exists, error))
    return FALSE;
  if (!exists || (!holds_berth (&doc) && g_strcmp0 (current_context (&doc), NAME) != 0))
    return TRUE;
  edit.what = path;
  return write_kubeconfig (path, &edit, &doc, TRUE, error);
}

/* ---- credentials ------------------------------------------------------------ */

void
berth_k3s_credentials_free (BerthK3sCredentials *credentials)
{
  if (credentials == NULL)
    return;
  g_free (credentials->server);
  g_free (credentials->ca_pem);
  g_free (credentials->client_cert);
  if (credentials->client_key != NULL)
    explicit_bzero (credentials->client_key, strlen (credentials->client_key));
  g_free (credentials->client_key);
  g_free (credentials);
}

/* The PEM text of the base64 @field of @mapping. */
static gchar *
decode_pem (yaml_document_t *doc, yaml_node_t *mapping, const gchar *field, GError **error)
{
  const gchar *encoded = scalar_text (mapping_get (doc, mapping, field));
  g_autofree guchar *decoded = NULL;
  gsize length = 0;

  if (encoded == NULL || encoded[0] == '\0')
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA, "The guest's k3s.yaml has no %s",
                   field);
      return NULL;
    }
  for (const gchar *p = encoded; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '+' && *p != '/' && *p != '=' && !g_ascii_isspace (*p))
      {
        g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                     "The guest's k3s.yaml: %s is not base64", field);
        return NULL;
      }
  decoded = g_base64_decode (encoded, &length);
  if (length == 0 || memchr (decoded, '\0', length) != NULL
      || !g_str_has_prefix ((const gchar *)decoded, "-----BEGIN ")
      || !g_utf8_validate ((const gchar *)decoded, (gssize)length, NULL))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "The guest's k3s.yaml: %s is not a PEM certificate or key", field);
      return NULL;
    }
  return g_strndup ((const gchar *)decoded, length);
}

BerthK3sCredentials *
berth_k3s_credentials_from_k3s_yaml (const gchar *k3s_yaml, GError **error)
{
  g_auto (yaml_document_t) doc = { 0 };
  g_autoptr (BerthK3sCredentials) credentials = g_new0 (BerthK3sCredentials, 1);
  K3sEntries entries = { 0 };
  const gchar *server;

  g_return_val_if_fail (k3s_yaml != NULL, NULL);
  if (!load_yaml (k3s_yaml, strlen (k3s_yaml), "The guest's k3s.yaml", &doc, error))
    return NULL;
  if (yaml_document_get_root_node (&doc) == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA, "The guest's k3s.yaml is empty");
      return NULL;
    }
  if (!find_k3s_entries (&doc, &entries, error))
    return NULL;
  server = scalar_text (mapping_get (&doc, entries.cluster, "server"));
  credentials->server = g_strdup (server != NULL ? server : "");
  credentials->ca_pem = decode_pem (&doc, entries.cluster, "certificate-authority-data", error);
  if (credentials->ca_pem == NULL)
    return NULL;
  credentials->client_cert = decode_pem (&doc, entries.user, "client-certificate-data", error);
  if (credentials->client_cert == NULL)
    return NULL;
  credentials->client_key = decode_pem (&doc, entries.user, "client-key-data", error);
  if (credentials->client_key == NULL)
    return NULL;
  return g_steal_pointer (&credentials);
}
