/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "berth-error.h"
#include "berth-settings-import.h"
#include "berth-settings-private.h"

/* Rancher Desktop's settings.json is read the way Rancher Desktop reads it:
 * its own steps take a file of any of its versions to the shape of its
 * latest, and that shape is then mapped onto Berth's schema. Which key moved
 * where in which version is a fact of Rancher Desktop's history; nothing
 * here is its code. */

/* ------------------------------------------------------------------------ */
/* What Rancher Desktop has had                                             */
/* ------------------------------------------------------------------------ */

typedef struct
{
  const gchar *path;
  gint64 first, last; /* the settings versions whose files have it */
} RdKey;

/* Keys of Rancher Desktop's files at paths Berth's schema does not have,
 * from its defaults over its history. Deciding whose a file is needs no
 * more: the keys both have are the mapping's below. */
static const RdKey rd_only_keys[] = {
  { "kubernetes.rancherMode", 1, 2 },
  { "kubernetes.memoryInGB", 1, 4 },
  { "kubernetes.numberCPUs", 1, 4 },
  { "telemetry", 1, 4 },
  { "updater", 1, 4 },
  { "debug", 3, 4 },
  { "kubernetes.containerEngine", 3, 4 },
  { "pathManagementStrategy", 4, 4 },
  { "kubernetes.suppressSudo", 4, 4 },
  { "kubernetes.checkForExistingKimBuilder", 4, 4 },
  { "kubernetes.WSLIntegrations", 4, 4 },
  { "kubernetes.hostResolver", 4, 4 },
  { "kubernetes.experimentalHostResolver", 4, 4 },
  { "kubernetes.experimental.socketVMNet", 4, 4 },
  { "containerEngine.imageAllowList.enabled", 4, 5 },
  { "containerEngine.imageAllowList.locked", 4, 5 },
  { "containerEngine.imageAllowList.patterns", 4, 5 },
  { "autoStart", 4, 6 },
  { "hideNotificationIcon", 4, 6 },
  { "startInBackground", 4, 6 },
  { "window.quitOnClose", 4, 6 },
  { "diagnostics.showMuted", 4, 19 },
  { "diagnostics.mutedChecks", 4, 19 },
  { "virtualMachine.hostResolver", 5, 13 },
  { "virtualMachine.experimental.socketVMNet", 5, 5 },
  { "experimental.virtualMachine.socketVMNet", 5, 11 },
  { "application.hideNotificationIcon", 6, 19 },
  { "application.window.quitOnClose", 6, 19 },
  { "containerEngine.allowedImages.locked", 6, 6 },
  { "experimental.rdNetworking", 6, 6 },
  { "experimental.virtualMachine.type", 6, 14 },
  { "experimental.virtualMachine.useRosetta", 6, 14 },
  { "experimental.virtualMachine.networkingTunnel", 6, 14 },
  { "experimental.virtualMachine.mount.type", 6, 15 },
  { "experimental.virtualMachine.mount.9p.securityModel", 6, 19 },
  { "experimental.virtualMachine.mount.9p.protocolVersion", 6, 19 },
  { "experimental.virtualMachine.mount.9p.msizeInKB", 6, 7 },
  { "experimental.virtualMachine.mount.9p.msizeInKib", 7, 19 },
  { "experimental.virtualMachine.mount.9p.cacheMode", 6, 19 },
  { "extensions", 6, 8 },
  { "kubernetes.ingress.localhostOnly", 6, 19 },
  { "application.extensions.allowed.enabled", 7, 19 },
  { "application.extensions.allowed.list", 7, 19 },
  { "experimental.virtualMachine.proxy.enabled", 7, 19 },
  { "experimental.virtualMachine.proxy.address", 7, 19 },
  { "experimental.virtualMachine.proxy.password", 7, 19 },
  { "experimental.virtualMachine.proxy.port", 7, 19 },
  { "experimental.virtualMachine.proxy.username", 7, 19 },
  { "experimental.virtualMachine.proxy.noproxy", 9, 19 },
  { "application.extensions.installed", 9, 19 },
  { "containers.showAll", 10, 19 },
  { "containers.namespace", 10, 19 },
  { "experimental.containerEngine.webAssembly.enabled", 11, 19 },
  { "experimental.kubernetes.options.spinkube", 11, 19 },
  { "experimental.virtualMachine.sshPortForwarder", 15, 19 },
  { "virtualMachine.type", 15, 19 },
  { "virtualMachine.useRosetta", 15, 19 },
  { "experimental.virtualMachine.diskSize", 16, 19 },
  { "diagnostics.connectivity.interval", 16, 19 },
  { "diagnostics.connectivity.timeout", 16, 19 },
  { "containerEngine.mobyStorageDriver", 17, 19 },
  { "application.theme", 18, 19 },
  { "application.locale", 19, 19 },
};

/* Objects whose members are names (distributions, checks, extensions), not
 * settings: each is one value. */
static const gchar *const rd_maps[] = {
  "WSL.integrations", "kubernetes.WSLIntegrations",       "diagnostics.mutedChecks",
  "extensions",       "application.extensions.installed", NULL,
};

typedef enum
{
  CONVERT_NONE,
  CONVERT_KUBERNETES_VERSION, /* "1.30.1" → "v1.30.1" */
  CONVERT_ENGINE,             /* the "docker" synonym → "moby" */
  CONVERT_DISK_SIZE,          /* "100GiB" → 100 */
} Conversion;

typedef struct
{
  const gchar *rd_path; /* in Rancher Desktop's latest shape */
  const gchar *berth_path;
  Conversion conversion;
} RdMapping;

/* Every key of Rancher Desktop's latest shape that means something to
 * Berth. */
static const RdMapping rd_mappings[] = {
  { "application.adminAccess", "application.adminAccess", CONVERT_NONE },
  { "application.autoStart", "application.autoStart", CONVERT_NONE },
  { "application.startInBackground", "application.startInBackground", CONVERT_NONE },
  { "application.telemetry.enabled", "application.telemetry.enabled", CONVERT_NONE },
  { "application.updater.enabled", "application.updater.enabled", CONVERT_NONE },
  { "application.debug", "application.debug", CONVERT_NONE },
  { "application.pathManagementStrategy", "application.pathManagementStrategy", CONVERT_NONE },
  { "containerEngine.name", "containerEngine.name", CONVERT_ENGINE },
  { "containerEngine.allowedImages.enabled", "containerEngine.allowedImages.enabled",
    CONVERT_NONE },
  { "containerEngine.allowedImages.patterns", "containerEngine.allowedImages.patterns",
    CONVERT_NONE },
  { "virtualMachine.memoryInGB", "virtualMachine.memoryInGB", CONVERT_NONE },
  { "virtualMachine.numberCPUs", "virtualMachine.numberCPUs", CONVERT_NONE },
  { "experimental.virtualMachine.diskSize", "virtualMachine.diskSizeGiB", CONVERT_DISK_SIZE },
  { "virtualMachine.mount.type", "virtualMachine.mount.type", CONVERT_NONE },
  { "kubernetes.enabled", "kubernetes.enabled", CONVERT_NONE },
  { "kubernetes.version", "kubernetes.version", CONVERT_KUBERNETES_VERSION },
  { "kubernetes.port", "kubernetes.port", CONVERT_NONE },
  { "kubernetes.options.traefik", "kubernetes.options.traefik", CONVERT_NONE },
  { "kubernetes.options.flannel", "kubernetes.options.flannel", CONVERT_NONE },
  { "portForwarding.includeKubernetesServices", "portForwarding.includeKubernetesServices",
    CONVERT_NONE },
  { "images.showAll", "images.showAll", CONVERT_NONE },
  { "images.namespace", "images.namespace", CONVERT_NONE },
  { "WSL.integrations", "WSL.integrations", CONVERT_NONE },
};

typedef enum
{
  STEP_MOVE,          /* path → to, replacing what is there */
  STEP_UNSET,         /* path goes */
  STEP_NEGATE,        /* path → to, a boolean turned around */
  STEP_EARLY_ENGINE,  /* missing or "" at path → "containerd" */
  STEP_PATH_STRATEGY, /* "notset" at path → the platform's choice */
} StepKind;

typedef struct
{
  gint64 from; /* the step takes version from to from + 1 */
  StepKind kind;
  const gchar *path;
  const gchar *to;
} RdStep;

/* Rancher Desktop's steps, in order. Its steps also remove groups they
 * leave empty; an empty group carries and lists nothing, so those are not
 * here. */
static const RdStep rd_steps[] = {
  /* 1 → 2: the Rancher dashboard mode was removed. */
  { 1, STEP_UNSET, "kubernetes.rancherMode", NULL },
  /* 2 → 3: the engine became a choice. Files older than that ran
   * containerd, which is what Rancher Desktop filled in when it read them;
   * its defaults name moby now. */
  { 2, STEP_EARLY_ENGINE, "kubernetes.containerEngine", NULL },
  /* 3 → 4 only cleaned files up outside settings.json. */
  /* 4 → 5: the grouped shape. "Do not use sudo" became "may use
   * administrator rights". */
  { 4, STEP_NEGATE, "kubernetes.suppressSudo", "application.adminAccess" },
  { 4, STEP_MOVE, "debug", "application.debug" },
  { 4, STEP_MOVE, "pathManagementStrategy", "application.pathManagementStrategy" },
  { 4, STEP_MOVE, "telemetry", "application.telemetry.enabled" },
  { 4, STEP_MOVE, "updater", "application.updater.enabled" },
  { 4, STEP_MOVE, "kubernetes.containerEngine", "containerEngine.name" },
  { 4, STEP_MOVE, "kubernetes.experimental.socketVMNet",
    "experimental.virtualMachine.socketVMNet" },
  { 4, STEP_MOVE, "kubernetes.hostResolver", "virtualMachine.hostResolver" },
  { 4, STEP_MOVE, "kubernetes.memoryInGB", "virtualMachine.memoryInGB" },
  { 4, STEP_MOVE, "kubernetes.numberCPUs", "virtualMachine.numberCPUs" },
  { 4, STEP_MOVE, "kubernetes.WSLIntegrations", "WSL.integrations" },
  { 4, STEP_UNSET, "kubernetes.checkForExistingKimBuilder", NULL },
  { 4, STEP_UNSET, "kubernetes.experimental", NULL },
  /* 5 → 6: the window and start-up settings join "application", and the
   * image allow-list is renamed. */
  { 5, STEP_MOVE, "autoStart", "application.autoStart" },
  { 5, STEP_MOVE, "hideNotificationIcon", "application.hideNotificationIcon" },
  { 5, STEP_MOVE, "startInBackground", "application.startInBackground" },
  { 5, STEP_MOVE, "window", "application.window" },
  { 5, STEP_MOVE, "containerEngine.imageAllowList", "containerEngine.allowedImages" },
  { 5, STEP_MOVE, "virtualMachine.experimental.socketVMNet",
    "experimental.virtualMachine.socketVMNet" },
  /* 6 → 7 re-keyed the installed extensions, which Berth does not have. */
  /* 7 → 8: "notset" (ask) was retired for the platform's choice. */
  { 7, STEP_PATH_STRATEGY, "application.pathManagementStrategy", NULL },
  /* 8 → 9 */
  { 8, STEP_MOVE, "extensions", "application.extensions.installed" },
  /* 9 → 10 tidied the proxy exceptions, and 10 → 11 concerns locked
   * deployment profiles only. */
  /* 11 → 12 */
  { 11, STEP_UNSET, "experimental.virtualMachine.socketVMNet", NULL },
  /* 12 → 13 turned networkingTunnel on, and 13 → 14 removes it again
   * with the host resolver. */
  { 13, STEP_UNSET, "virtualMachine.hostResolver", NULL },
  { 13, STEP_UNSET, "experimental.virtualMachine.networkingTunnel", NULL },
  /* 14 → 15: the VM type and Rosetta are no longer experimental, */
  { 14, STEP_MOVE, "experimental.virtualMachine.type", "virtualMachine.type" },
  { 14, STEP_MOVE, "experimental.virtualMachine.useRosetta", "virtualMachine.useRosetta" },
  /* 15 → 16: nor is the mount type. */
  { 15, STEP_MOVE, "experimental.virtualMachine.mount.type", "virtualMachine.mount.type" },
  /* 16 → 17 names the moby storage driver; 17 → 18 and 18 → 19 add keys
   * that take their defaults. */
};

static gboolean
is_rd_map (const gchar *path)
{
  return g_strv_contains (rd_maps, path);
}

/* Whether Rancher Desktop has had @path at some version (@version 0) or at
 * @version, at a path Berth's schema lacks. */
static gboolean
is_rd_only_key (const gchar *path, gint64 version)
{
  for (gsize i = 0; i < G_N_ELEMENTS (rd_only_keys); i++)
    if (g_str_equal (rd_only_keys[i].path, path)
        && (version == 0 || (rd_only_keys[i].first <= version && version <= rd_only_keys[i].last)))
      return TRUE;
  return FALSE;
}

static const RdMapping *
find_mapping (const gchar *rd_path)
{
  for (gsize i = 0; i < G_N_ELEMENTS (rd_mappings); i++)
    if (g_str_equal (rd_mappings[i].rd_path, rd_path))
      return &rd_mappings[i];
  return NULL;
}

/* A key Rancher Desktop writes at some version. */
static gboolean
is_rd_key (const gchar *path)
{
  return is_rd_only_key (path, 0) || find_mapping (path) != NULL;
}

/* A setting of Berth's own that Rancher Desktop never had. */
static gboolean
is_berth_only_key (const gchar *path)
{
  return berth_settings_lookup_spec (path) != NULL && !is_rd_key (path);
}

/* ------------------------------------------------------------------------ */
/* Whose file                                                               */
/* ------------------------------------------------------------------------ */

/* The version @root says, or 1 for Rancher Desktop's early shape without a
 * usable one; FALSE when neither. */
static gboolean
read_version (JsonObject *root, gint64 *version)
{
  JsonNode *node = json_object_get_member (root, "version");

  if (node != NULL && JSON_NODE_HOLDS_VALUE (node)
      && json_node_get_value_type (node) == G_TYPE_INT64 && json_node_get_int (node) >= 1)
    {
      *version = json_node_get_int (node);
      return TRUE;
    }
  if (berth_settings_looks_like_early_shape (root))
    {
      *version = 1;
      return TRUE;
    }
  return FALSE;
}

typedef struct
{
  gint64 version;
  gboolean any_rd_key;  /* a key Rancher Desktop writes, at any version */
  gboolean rd_only_key; /* one it had at @version and Berth lacks */
  gchar *berth_only;    /* the first setting only Berth has, or NULL */
} KeySurvey;

static void
survey_keys (JsonObject *obj, const gchar *prefix, KeySurvey *survey)
{
  g_autoptr (GList) members = json_object_get_members (obj);
  gint64 known = MIN (survey->version, BERTH_RANCHER_DESKTOP_SETTINGS_VERSION);

  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *node = json_object_get_member (obj, l->data);
      g_autofree gchar *path
          = prefix != NULL ? g_strconcat (prefix, ".", l->data, NULL) : g_strdup (l->data);

      if (prefix == NULL && g_str_equal (path, "version"))
        continue;
      if (is_rd_key (path))
        survey->any_rd_key = TRUE;
      if (is_rd_only_key (path, known))
        survey->rd_only_key = TRUE;
      if (survey->berth_only == NULL && is_berth_only_key (path))
        survey->berth_only = g_strdup (path);
      if (JSON_NODE_HOLDS_OBJECT (node) && !is_rd_map (path)
          && berth_settings_lookup_spec (path) == NULL)
        survey_keys (json_node_get_object (node), path, survey);
    }
}

gboolean
berth_settings_is_rancher_desktop (JsonNode *root)
{
  KeySurvey survey = { 0 };
  gboolean answer;

  g_return_val_if_fail (root != NULL, FALSE);

  if (!JSON_NODE_HOLDS_OBJECT (root)
      || !read_version (json_node_get_object (root), &survey.version))
    return FALSE;
  survey_keys (json_node_get_object (root), NULL, &survey);
  if (survey.berth_only != NULL)
    answer = FALSE;
  else if (survey.version <= 3)
    answer = survey.any_rd_key;
  else
    answer = survey.rd_only_key;
  g_free (survey.berth_only);
  return answer;
}

/* ------------------------------------------------------------------------ */
/* The object                                                               */
/* ------------------------------------------------------------------------ */

struct _BerthSettingsImport
{
  GObject parent_instance;

  gint64 version;
  JsonNode *settings;
  GPtrArray *dropped; /* gchar *, sorted, NULL-terminated once done */
  guint n_unlisted;
  JsonObject *refused;
};

G_DEFINE_FINAL_TYPE (BerthSettingsImport, berth_settings_import, G_TYPE_OBJECT)

static void
berth_settings_import_finalize (GObject *object)
{
  BerthSettingsImport *self = BERTH_SETTINGS_IMPORT (object);

  g_clear_pointer (&self->settings, json_node_unref);
  g_clear_pointer (&self->dropped, g_ptr_array_unref);
  g_clear_pointer (&self->refused, json_object_unref);

  G_OBJECT_CLASS (berth_settings_import_parent_class)->finalize (object);
}

static void
berth_settings_import_class_init (BerthSettingsImportClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = berth_settings_import_finalize;
}

static void
berth_settings_import_init (BerthSettingsImport *self)
{
  self->dropped = g_ptr_array_new_with_free_func (g_free);
  self->refused = json_object_new ();
}

/* ------------------------------------------------------------------------ */
/* Reading: one pass over a private copy of the file                        */
/* ------------------------------------------------------------------------ */

typedef struct
{
  JsonObject *root;    /* the copy the steps work on */
  GHashTable *origin;  /* JsonNode (ref) → its dotted path in the file */
  GHashTable *dropped; /* dotted path → NULL, or Berth's reason */
  const BerthHostInfo *host;
} Reader;

static void
reader_clear (Reader *reader)
{
  g_clear_pointer (&reader->origin, g_hash_table_unref);
  g_clear_pointer (&reader->dropped, g_hash_table_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Reader, reader_clear)

/* Remembers where every node was in the file, so that what is dropped is
 * named as the person wrote it, wherever a step moved it. */
static void
note_origins (Reader *reader, JsonObject *obj, const gchar *prefix)
{
  g_autoptr (GList) members = json_object_get_members (obj);

  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *node = json_object_get_member (obj, l->data);
      gchar *path = prefix != NULL ? g_strconcat (prefix, ".", l->data, NULL) : g_strdup (l->data);

      g_hash_table_insert (reader->origin, json_node_ref (node), path);
      if (JSON_NODE_HOLDS_OBJECT (node) && !is_rd_map (path))
        note_origins (reader, json_node_get_object (node), path);
    }
}

static void
drop (Reader *reader, JsonNode *node, const gchar *path, const gchar *reason)
{
  const gchar *origin = g_hash_table_lookup (reader->origin, node);
  const gchar *name = origin != NULL ? origin : path;

  if (reason != NULL || !g_hash_table_contains (reader->dropped, name))
    g_hash_table_insert (reader->dropped, g_strdup (name), g_strdup (reason));
}

/* Drops every value under @node, found at @path. A group that holds none
 * (empty) lists nothing. */
static void
drop_tree (Reader *reader, JsonNode *node, const gchar *path)
{
  g_autoptr (GList) members = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (node) || is_rd_map (path))
    {
      drop (reader, node, path, NULL);
      return;
    }
  members = json_object_get_members (json_node_get_object (node));
  for (GList *l = members; l != NULL; l = l->next)
    {
      g_autofree gchar *child = g_strconcat (path, ".", l->data, NULL);

      drop_tree (reader, json_object_get_member (json_node_get_object (node), l->data), child);
    }
}

/* The node at dotted @path, with the object holding it and its name. */
static JsonNode *
find (JsonObject *root, const gchar *path, JsonObject **parent_out, gchar **name_out)
{
  g_auto (GStrv) parts = g_strsplit (path, ".", -1);
  JsonObject *obj = root;
  guint n = g_strv_length (parts);

  for (guint i = 0; i + 1 < n; i++)
    {
      JsonNode *child = json_object_get_member (obj, parts[i]);

      if (child == NULL || !JSON_NODE_HOLDS_OBJECT (child))
        return NULL;
      obj = json_node_get_object (child);
    }
  if (!json_object_has_member (obj, parts[n - 1]))
    return NULL;
  if (parent_out != NULL)
    *parent_out = obj;
  if (name_out != NULL)
    *name_out = g_strdup (parts[n - 1]);
  return json_object_get_member (obj, parts[n - 1]);
}

/* Takes the node at @path out of the tree; NULL when there is none. */
static JsonNode *
take (JsonObject *root, const gchar *path)
{
  JsonObject *parent = NULL;
  g_autofree gchar *name = NULL;
  JsonNode *node = find (root, path, &parent, &name);

  if (node == NULL)
    return NULL;
  json_node_ref (node);
  json_object_remove_member (parent, name);
  return node;
}

/* Puts @node (taken) at @path, making the groups on the way. Whatever it
 * replaces there, or a value that stood where a group must go, is
 * dropped: nothing disappears without being named. */
static void
put (Reader *reader, const gchar *path, JsonNode *node)
{
  g_auto (GStrv) parts = g_strsplit (path, ".", -1);
  g_autoptr (GString) walked = g_string_new (NULL);
  JsonObject *obj = reader->root;
  guint n = g_strv_length (parts);
  JsonNode *old;

  for (guint i = 0; i + 1 < n; i++)
    {
      JsonNode *child = json_object_get_member (obj, parts[i]);

      g_string_append_printf (walked, "%s%s", i > 0 ? "." : "", parts[i]);
      if (child != NULL && !JSON_NODE_HOLDS_OBJECT (child))
        drop (reader, child, walked->str, NULL);
      if (child == NULL || !JSON_NODE_HOLDS_OBJECT (child))
        {
          json_object_set_object_member (obj, parts[i], json_object_new ());
          child = json_object_get_member (obj, parts[i]);
        }
      obj = json_node_get_object (child);
    }
  old = json_object_get_member (obj, parts[n - 1]);
  if (old != NULL)
    drop_tree (reader, old, path);
  json_object_set_member (obj, parts[n - 1], node);
}

static void
run_step (Reader *reader, const RdStep *step)
{
  JsonNode *node;

  switch (step->kind)
    {
    case STEP_MOVE:
      node = take (reader->root, step->path);
      if (node != NULL)
        put (reader, step->to, node);
      break;

    case STEP_UNSET:
      node = take (reader->root, step->path);
      if (node != NULL)
        {
          drop_tree (reader, node, step->path);
          json_node_unref (node);
        }
      break;

    case STEP_NEGATE:
      node = take (reader->root, step->path);
      if (node == NULL)
        break;
      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN)
        put (reader, step->to,
             json_node_init_boolean (json_node_alloc (), !json_node_get_boolean (node)));
      else
        {
          g_autofree gchar *got = berth_settings_describe_value (node);
          g_autofree gchar *reason
              = g_strdup_printf ("%s: expected a boolean (true or false), got %s", step->path, got);

          drop (reader, node, step->path, reason);
        }
      json_node_unref (node);
      break;

    case STEP_EARLY_ENGINE:
      node = find (reader->root, step->path, NULL, NULL);
      if (node == NULL)
        put (reader, step->path, json_node_init_string (json_node_alloc (), "containerd"));
      else if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
               && json_node_get_string (node)[0] == '\0')
        json_node_set_string (node, "containerd");
      break;

    case STEP_PATH_STRATEGY:
      node = find (reader->root, step->path, NULL, NULL);
      if (node != NULL && JSON_NODE_HOLDS_VALUE (node)
          && json_node_get_value_type (node) == G_TYPE_STRING
          && g_str_equal (json_node_get_string (node), "notset"))
        json_node_set_string (node, reader->host->platform == BERTH_PLATFORM_WINDOWS ? "manual"
                                                                                     : "rcfiles");
      break;

    default:
      g_assert_not_reached ();
    }
}

/* Rancher Desktop's sizes, read as Lima reads the disk size it is handed:
 * a number, an optional space, then k, m, g, t or p with an optional "i"
 * and an optional "b", in either case, all powers of 1024; none is bytes.
 * Rounded up to whole GiB, so the disk is never smaller than it was. */
static gboolean
parse_disk_size (const gchar *text, gint64 *gib_out)
{
  static const gchar units[] = "kmgtp";
  const gchar *p = text;
  const gchar *unit;
  gdouble bytes, gib;
  gchar *end = NULL;
  gint64 whole;

  if (!g_ascii_isdigit (*p))
    return FALSE;
  while (g_ascii_isdigit (*p))
    p++;
  if (*p == '.')
    {
      p++;
      if (!g_ascii_isdigit (*p))
        return FALSE;
      while (g_ascii_isdigit (*p))
        p++;
    }
  bytes = g_ascii_strtod (text, &end);
  if (end != p)
    return FALSE;
  if (*p == ' ')
    p++;
  unit = *p != '\0' ? strchr (units, g_ascii_tolower (*p)) : NULL;
  if (unit != NULL)
    {
      for (const gchar *u = units; u <= unit; u++)
        bytes *= 1024.0;
      p++;
      if (g_ascii_tolower (*p) == 'i')
        p++;
    }
  if (g_ascii_tolower (*p) == 'b')
    p++;
  if (*p != '\0')
    return FALSE;
  /* Also false for infinity, where the digits overflowed. */
  gib = bytes / 1073741824.0;
  if (!(gib <= (gdouble)G_MAXINT32))
    return FALSE;
  whole = (gint64)gib;
  *gib_out = (gdouble)whole < gib ? whole + 1 : whole;
  return TRUE;
}

/* @node as Berth's setting @mapping names; NULL with @reason set when it
 * cannot be. */
static JsonNode *
convert (const RdMapping *mapping, JsonNode *node, gchar **reason)
{
  const BerthSettingSpec *spec = berth_settings_lookup_spec (mapping->berth_path);
  gboolean is_string
      = JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING;

  switch (mapping->conversion)
    {
    case CONVERT_KUBERNETES_VERSION:
      /* Rancher Desktop keeps the version without the "v" k3s releases
       * carry. */
      if (is_string && g_ascii_isdigit (json_node_get_string (node)[0]))
        {
          g_autofree gchar *prefixed = g_strconcat ("v", json_node_get_string (node), NULL);

          return json_node_init_string (json_node_alloc (), prefixed);
        }
      break;

    case CONVERT_ENGINE:
      if (is_string && g_str_equal (json_node_get_string (node), "docker"))
        return json_node_init_string (json_node_alloc (), "moby");
      break;

    case CONVERT_DISK_SIZE:
      {
        gint64 gib = 0;
        g_autofree gchar *got = berth_settings_describe_value (node);

        if (is_string && parse_disk_size (json_node_get_string (node), &gib))
          return json_node_init_int (json_node_alloc (), gib);
        *reason = g_strdup_printf ("%s: %s is not a size Berth can read, such as \"100GiB\"",
                                   mapping->rd_path, got);
        return NULL;
      }

    case CONVERT_NONE:
    default:
      break;
    }

  /* JSON written by JavaScript has one kind of number; a whole one is an
   * integer to Berth. */
  if (spec->type == BERTH_SETTING_INT && JSON_NODE_HOLDS_VALUE (node)
      && json_node_get_value_type (node) == G_TYPE_DOUBLE)
    {
      gdouble value = json_node_get_double (node);

      if (value > -1e15 && value < 1e15 && value == (gdouble)(gint64)value)
        return json_node_init_int (json_node_alloc (), (gint64)value);
    }
  return berth_settings_deep_copy (node);
}

static void
set_in (JsonObject *root, const gchar *path, JsonNode *value)
{
  g_auto (GStrv) parts = g_strsplit (path, ".", -1);
  JsonObject *obj = root;
  guint n = g_strv_length (parts);

  for (guint i = 0; i + 1 < n; i++)
    {
      JsonNode *child = json_object_get_member (obj, parts[i]);

      if (child == NULL)
        {
          json_object_set_object_member (obj, parts[i], json_object_new ());
          child = json_object_get_member (obj, parts[i]);
        }
      obj = json_node_get_object (child);
    }
  json_object_set_member (obj, parts[n - 1], value);
}

/* Lists every value of the latest shape that no mapping took. */
static void
drop_unused (Reader *reader, JsonObject *obj, const gchar *prefix, GHashTable *used)
{
  g_autoptr (GList) members = json_object_get_members (obj);

  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *node = json_object_get_member (obj, l->data);
      g_autofree gchar *path
          = prefix != NULL ? g_strconcat (prefix, ".", l->data, NULL) : g_strdup (l->data);

      if (prefix == NULL && g_str_equal (path, "version"))
        continue;
      if (g_hash_table_contains (used, node))
        continue;
      if (JSON_NODE_HOLDS_OBJECT (node) && !is_rd_map (path))
        drop_unused (reader, json_node_get_object (node), path, used);
      else
        drop (reader, node, path, NULL);
    }
}

static gboolean
check_is_rancher_desktop (JsonNode *node, gint64 *version, GError **error)
{
  KeySurvey survey = { 0 };
  JsonObject *root;
  JsonNode *version_node;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_autofree gchar *got = berth_settings_describe_value (node);

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "Rancher Desktop's settings are a JSON object; got %s", got);
      return FALSE;
    }
  root = json_node_get_object (node);
  if (!read_version (root, &survey.version))
    {
      version_node = json_object_get_member (root, "version");
      if (version_node == NULL)
        g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                     "the settings have no \"version\" and do not look like an early Rancher "
                     "Desktop file; Rancher Desktop's settings.json has a \"version\" from 1 to "
                     "%d",
                     BERTH_RANCHER_DESKTOP_SETTINGS_VERSION);
      else
        {
          g_autofree gchar *got = berth_settings_describe_value (version_node);

          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "version: expected a Rancher Desktop settings version, a whole number "
                       "from 1 to %d, got %s",
                       BERTH_RANCHER_DESKTOP_SETTINGS_VERSION, got);
        }
      return FALSE;
    }
  survey_keys (root, NULL, &survey);
  if (survey.berth_only != NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is a setting of Berth's own, which Rancher Desktop does not have: these "
                   "are Berth's settings, not Rancher Desktop's; change Berth's with berthctl set",
                   survey.berth_only);
      g_free (survey.berth_only);
      return FALSE;
    }
  if (!survey.any_rd_key)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "none of the keys is one Rancher Desktop writes (such as kubernetes.version "
                   "or virtualMachine.memoryInGB); this does not look like Rancher Desktop's "
                   "settings.json");
      return FALSE;
    }
  *version = survey.version;
  return TRUE;
}

BerthSettingsImport *
berth_settings_import_new (JsonNode *rancher_desktop, const BerthHostInfo *host, GError **error)
{
  g_autoptr (BerthSettingsImport) self = NULL;
  g_auto (Reader) reader = { 0 };
  g_autoptr (JsonNode) copy = NULL;
  g_autoptr (JsonObject) settings = json_object_new ();
  g_autoptr (GHashTable) used = g_hash_table_new (NULL, NULL);
  g_autoptr (GList) dropped_paths = NULL;
  BerthHostInfo detected;
  gint64 version = 0;

  g_return_val_if_fail (rancher_desktop != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (berth_settings_node_deeper_than (rancher_desktop, BERTH_SETTINGS_MAX_DEPTH))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "Rancher Desktop's settings may not nest more than %d deep",
                   BERTH_SETTINGS_MAX_DEPTH);
      return NULL;
    }
  if (!check_is_rancher_desktop (rancher_desktop, &version, error))
    return NULL;
  if (host == NULL)
    {
      berth_host_info_detect (&detected);
      host = &detected;
    }

  self = g_object_new (BERTH_TYPE_SETTINGS_IMPORT, NULL);
  self->version = version;
  copy = berth_settings_deep_copy (rancher_desktop);
  reader.root = json_node_get_object (copy);
  reader.host = host;
  reader.origin = g_hash_table_new_full (NULL, NULL, (GDestroyNotify)json_node_unref, g_free);
  reader.dropped = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  note_origins (&reader, reader.root, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (rd_steps); i++)
    if (rd_steps[i].from >= version)
      run_step (&reader, &rd_steps[i]);

  json_object_set_int_member (settings, "version", BERTH_SETTINGS_VERSION);
  for (gsize i = 0; i < G_N_ELEMENTS (rd_mappings); i++)
    {
      const RdMapping *mapping = &rd_mappings[i];
      JsonNode *node = find (reader.root, mapping->rd_path, NULL, NULL);
      g_autoptr (JsonNode) value = NULL;
      g_autoptr (GError) local_error = NULL;
      g_autofree gchar *reason = NULL;

      if (node == NULL)
        continue;
      g_hash_table_add (used, node);
      value = convert (mapping, node, &reason);
      if (value != NULL
          && !berth_settings_validate_value (mapping->berth_path, value, host, &local_error))
        reason = g_strdup (local_error->message);
      if (reason != NULL)
        {
          drop (&reader, node, mapping->rd_path, reason);
          continue;
        }
      set_in (settings, mapping->berth_path, g_steal_pointer (&value));
    }
  /* Rancher Desktop ran Kubernetes unless told not to, from its first
   * version on; Berth's default is off. */
  if (find (reader.root, "kubernetes.enabled", NULL, NULL) == NULL)
    set_in (settings, "kubernetes.enabled", json_node_init_boolean (json_node_alloc (), TRUE));
  self->settings = json_node_init_object (json_node_alloc (), settings);

  drop_unused (&reader, reader.root, NULL, used);
  dropped_paths = g_list_sort (g_hash_table_get_keys (reader.dropped), (GCompareFunc)strcmp);
  for (GList *l = dropped_paths; l != NULL; l = l->next)
    {
      const gchar *reason = g_hash_table_lookup (reader.dropped, l->data);

      if (self->dropped->len < BERTH_SETTINGS_MAX_LIST_LENGTH)
        g_ptr_array_add (self->dropped, g_strdup (l->data));
      else
        self->n_unlisted++;
      if (reason != NULL)
        json_object_set_string_member (self->refused, l->data, reason);
    }
  g_ptr_array_add (self->dropped, NULL);
  return g_steal_pointer (&self);
}

gint64
berth_settings_import_get_version (BerthSettingsImport *self)
{
  g_return_val_if_fail (BERTH_IS_SETTINGS_IMPORT (self), 0);
  return self->version;
}

JsonNode *
berth_settings_import_get_settings (BerthSettingsImport *self)
{
  g_return_val_if_fail (BERTH_IS_SETTINGS_IMPORT (self), NULL);
  return self->settings;
}

const gchar *const *
berth_settings_import_get_dropped (BerthSettingsImport *self, guint *n_unlisted)
{
  g_return_val_if_fail (BERTH_IS_SETTINGS_IMPORT (self), NULL);
  if (n_unlisted != NULL)
    *n_unlisted = self->n_unlisted;
  return (const gchar *const *)self->dropped->pdata;
}

JsonObject *
berth_settings_import_get_refused (BerthSettingsImport *self)
{
  g_return_val_if_fail (BERTH_IS_SETTINGS_IMPORT (self), NULL);
  return self->refused;
}

void
berth_settings_import_add_to_json (BerthSettingsImport *self, JsonObject *object)
{
  g_autoptr (JsonArray) dropped = json_array_new ();

  g_return_if_fail (BERTH_IS_SETTINGS_IMPORT (self));
  g_return_if_fail (object != NULL);

  json_object_set_int_member (object, "rancherDesktopSettingsVersion", self->version);
  for (guint i = 0; i + 1 < self->dropped->len; i++)
    json_array_add_string_element (dropped, g_ptr_array_index (self->dropped, i));
  json_object_set_array_member (object, "droppedSettings", g_steal_pointer (&dropped));
  if (self->n_unlisted > 0)
    json_object_set_int_member (object, "droppedNotListed", self->n_unlisted);
  if (json_object_get_size (self->refused) > 0)
    {
      g_autoptr (JsonObject) refused = json_object_new ();
      g_autoptr (GList) paths = json_object_get_members (self->refused);

      for (GList *l = paths; l != NULL; l = l->next)
        json_object_set_string_member (refused, l->data,
                                       json_object_get_string_member (self->refused, l->data));
      json_object_set_object_member (object, "refusedValues", g_steal_pointer (&refused));
    }
}

gchar *
berth_settings_import_describe_dropped (BerthSettingsImport *self, guint max_listed)
{
  g_autoptr (GString) text = g_string_new (NULL);
  guint n;

  g_return_val_if_fail (BERTH_IS_SETTINGS_IMPORT (self), NULL);

  n = self->dropped->len - 1;
  for (guint i = 0; i < n && i < max_listed; i++)
    g_string_append_printf (text, "%s%s", i > 0 ? ", " : "",
                            (const gchar *)g_ptr_array_index (self->dropped, i));
  if (n + self->n_unlisted > max_listed)
    g_string_append_printf (text, " and %u more", n + self->n_unlisted - MIN (n, max_listed));
  if (text->len == 0)
    g_string_append (text, "none");
  return g_string_free (g_steal_pointer (&text), FALSE);
}
