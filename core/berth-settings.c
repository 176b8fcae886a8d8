/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "berth-error.h"
#include "berth-file.h"
#include "berth-json.h"
#include "berth-private.h"
#include "berth-settings-import.h"
#include "berth-settings.h"
#include "berth-settings-private.h"

#define GIB ((guint64)1 << 30)

/* ------------------------------------------------------------------------ */
/* Schema                                                                   */
/* ------------------------------------------------------------------------ */

static const gchar *const path_strategy_choices[] = { "notset", "manual", "rcfiles", NULL };
static const gchar *const engine_choices[] = { "moby", "containerd", NULL };
static const gchar *const accel_choices[] = { "auto", "kvm", "tcg", NULL };
static const gchar *const mount_choices[] = { "9p", "reverse-sshfs", NULL };

#define NONE BERTH_SETTING_EFFECT_NONE
#define RESTART BERTH_SETTING_EFFECT_RESTART
#define RESET BERTH_SETTING_EFFECT_RESET

static const BerthSettingSpec settings_schema[] = {
  { "application.adminAccess", BERTH_SETTING_BOOLEAN, NULL, 0, 0, NONE,
    "Link /var/run/docker.sock to Berth's socket, asking for administrator rights (pkexec)" },
  { "application.autoStart", BERTH_SETTING_BOOLEAN, NULL, 0, 0, NONE,
    "Start Berth when you log in" },
  { "application.startInBackground", BERTH_SETTING_BOOLEAN, NULL, 0, 0, NONE,
    "Start without opening the main window" },
  /* Berth sends nothing: only false is accepted (berth-settings-support.c). */
  { "application.telemetry.enabled", BERTH_SETTING_BOOLEAN, NULL, 0, 0, NONE,
    "Send anonymous usage statistics (Berth sends none: always false)" },
  { "application.updater.enabled", BERTH_SETTING_BOOLEAN, NULL, 0, 0, NONE,
    "Check for Berth updates and install them" },
  { "application.debug", BERTH_SETTING_BOOLEAN, NULL, 0, 0, NONE, "Log debugging detail" },
  { "application.pathManagementStrategy", BERTH_SETTING_ENUM, path_strategy_choices, 0, 0, NONE,
    "How the tools reach PATH: notset (linked in ~/.local/bin), manual, or rcfiles (edit shell "
    "startup files)" },
  { "application.disabledPlugins", BERTH_SETTING_STRING_LIST, NULL, 0, 0, NONE,
    "Plugins not to load, by name" },
  { "containerEngine.name", BERTH_SETTING_ENUM, engine_choices, 0, 0, RESTART,
    "Container engine in the VM: moby (dockerd) or containerd" },
  /* Not enforced by this build: refused unless off (berth-settings-support.c). */
  { "containerEngine.allowedImages.enabled", BERTH_SETTING_BOOLEAN, NULL, 0, 0, RESTART,
    "Only allow images that match containerEngine.allowedImages.patterns" },
  { "containerEngine.allowedImages.patterns", BERTH_SETTING_STRING_LIST, NULL, 0, 0, RESTART,
    "Image name patterns allowed when the allow-list is enabled" },
  /* The docker-context integration switches it when settings change. */
  { "containerEngine.dockerContext.makeCurrent", BERTH_SETTING_BOOLEAN, NULL, 0, 0, NONE,
    "Make Berth's docker context (berth) the current one for the docker CLI" },
  { "virtualMachine.memoryInGB", BERTH_SETTING_INT, NULL, 1, 1024, RESTART,
    "Memory for the VM, in GiB" },
  { "virtualMachine.numberCPUs", BERTH_SETTING_INT, NULL, 1, 1024, RESTART, "CPUs for the VM" },
  { "virtualMachine.diskSizeGiB", BERTH_SETTING_INT, NULL, 10, 2048, RESTART,
    "Largest size the VM's disk may grow to, in GiB" },
  { "virtualMachine.accel", BERTH_SETTING_ENUM, accel_choices, 0, 0, RESTART,
    "Virtualization: auto (KVM when it works), kvm, or tcg (emulation)" },
  { "virtualMachine.mount.type", BERTH_SETTING_ENUM, mount_choices, 0, 0, RESTART,
    "How the home directory is shared into the VM" },
  { "virtualMachine.image.url", BERTH_SETTING_STRING, NULL, 0, 0, RESET,
    "Guest image to boot instead of the built-in one (https, http or file URL)" },
  { "virtualMachine.image.sha256", BERTH_SETTING_STRING, NULL, 0, 0, RESET,
    "SHA-256 of the image at virtualMachine.image.url, 64 hex digits" },
  /* The backend puts both into the VM at each start, before the engine. */
  { "virtualMachine.caCertificates.file", BERTH_SETTING_STRING, NULL, 0, 0, RESTART,
    "PEM file of CA certificates the VM trusts besides this host's; \"\" for none" },
  { "virtualMachine.proxy.fromHost", BERTH_SETTING_BOOLEAN, NULL, 0, 0, RESTART,
    "Give the VM's engine and Kubernetes this host's HTTP_PROXY, HTTPS_PROXY and NO_PROXY" },
  { "kubernetes.enabled", BERTH_SETTING_BOOLEAN, NULL, 0, 0, RESTART,
    "Run Kubernetes (k3s) in the VM" },
  { "kubernetes.version", BERTH_SETTING_STRING, NULL, 0, 0, RESTART,
    "Kubernetes version such as v1.30.1; empty for the default" },
  { "kubernetes.port", BERTH_SETTING_INT, NULL, 1, 65535, RESTART,
    "Host port of the Kubernetes API" },
  { "kubernetes.options.traefik", BERTH_SETTING_BOOLEAN, NULL, 0, 0, RESTART,
    "Install the Traefik ingress controller" },
  { "kubernetes.options.flannel", BERTH_SETTING_BOOLEAN, NULL, 0, 0, RESTART,
    "Use flannel for the cluster network" },
  { "portForwarding.includeKubernetesServices", BERTH_SETTING_BOOLEAN, NULL, 0, 0, NONE,
    "Also offer Kubernetes system services for port forwarding" },
  { "images.showAll", BERTH_SETTING_BOOLEAN, NULL, 0, 0, NONE,
    "Show all images, Kubernetes' own included" },
  { "images.namespace", BERTH_SETTING_STRING, NULL, 0, 0, NONE,
    "containerd namespace whose images are shown" },
  { "WSL.integrations", BERTH_SETTING_BOOLEAN_MAP, NULL, 0, 0, NONE,
    "WSL distributions to integrate with, by name" },
};

#undef NONE
#undef RESTART
#undef RESET

const BerthSettingSpec *
berth_settings_get_schema (guint *n_specs)
{
  if (n_specs != NULL)
    *n_specs = G_N_ELEMENTS (settings_schema);
  return settings_schema;
}

const BerthSettingSpec *
berth_settings_lookup_spec (const gchar *path)
{
  g_return_val_if_fail (path != NULL, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (settings_schema); i++)
    if (g_str_equal (settings_schema[i].path, path))
      return &settings_schema[i];
  return NULL;
}

/* Whether @path names an object that holds settings ("kubernetes",
 * "kubernetes.options"). */
static gboolean
is_group_path (const gchar *path)
{
  gsize len = strlen (path);

  for (gsize i = 0; i < G_N_ELEMENTS (settings_schema); i++)
    {
      const gchar *p = settings_schema[i].path;
      if (strncmp (p, path, len) == 0 && p[len] == '.')
        return TRUE;
    }
  return FALSE;
}

const gchar *
berth_setting_effect_to_string (BerthSettingEffect effect)
{
  switch (effect)
    {
    case BERTH_SETTING_EFFECT_NONE:
      return "none";
    case BERTH_SETTING_EFFECT_RESTART:
      return "restart";
    case BERTH_SETTING_EFFECT_RESET:
      return "reset";
    default:
      return "unknown";
    }
}

/* ------------------------------------------------------------------------ */
/* Host                                                                     */
/* ------------------------------------------------------------------------ */

/* Whether this program is Berth's self-contained release as the updater
 * installs it: <root>/versions/<version>/bin/<program>, with <root>/current
 * leading to versions/<version>. */
static gboolean
runs_from_release_bundle (void)
{
  g_autofree gchar *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree gchar *bin = NULL;
  g_autofree gchar *version_dir = NULL;
  g_autofree gchar *versions = NULL;
  g_autofree gchar *root = NULL;
  g_autofree gchar *current = NULL;
  g_autofree gchar *version = NULL;
  g_autofree gchar *target = NULL;

  if (exe == NULL)
    return FALSE;
  bin = g_path_get_dirname (exe);
  version_dir = g_path_get_dirname (bin);
  versions = g_path_get_dirname (version_dir);
  root = g_path_get_dirname (versions);
  if (!g_str_has_suffix (bin, "/bin") || !g_str_has_suffix (versions, "/versions"))
    return FALSE;
  version = g_path_get_basename (version_dir);
  current = g_build_filename (root, "current", NULL);
  target = g_file_read_link (current, NULL);
  return target != NULL && g_str_has_prefix (target, "versions/")
         && g_str_equal (target + strlen ("versions/"), version);
}

void
berth_host_info_detect (BerthHostInfo *host)
{
  const gchar *appimage;

  g_return_if_fail (host != NULL);

  memset (host, 0, sizeof (*host));
  host->platform = berth_platform_current ();
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
  {
    long pages = sysconf (_SC_PHYS_PAGES);
    long page_size = sysconf (_SC_PAGESIZE);
    if (pages > 0 && page_size > 0)
      host->total_memory_bytes = (guint64)pages * (guint64)page_size;
  }
#endif
  host->n_cpus = g_get_num_processors ();
  /* An AppImage replaces itself on update, and so does Berth's own release
   * bundle; a distribution package must not. */
  appimage = g_getenv ("APPIMAGE");
  host->self_updating_bundle
      = (appimage != NULL && appimage[0] != '\0') || runs_from_release_bundle ();
  host->updates_from_packages = !BERTH_SELF_UPDATES;
  {
    g_autofree gchar *pkexec = g_find_program_in_path ("pkexec");
    host->has_pkexec = pkexec != NULL;
  }
}

/* A host of unknown size: only the schema's own ranges apply. */
static const BerthHostInfo no_host_limits = { 0 };

/* The largest memoryInGB this host allows; 0 when its memory is unknown. */
static gint64
host_memory_limit_gib (const BerthHostInfo *host)
{
  if (host == NULL || host->total_memory_bytes == 0)
    return 0;
  return MAX (1, (gint64)(host->total_memory_bytes / GIB));
}

/* ------------------------------------------------------------------------ */
/* JSON helpers                                                             */
/* ------------------------------------------------------------------------ */

/* The node at dotted @path under @root, or NULL. */
static JsonNode *
lookup_node (JsonNode *root, const gchar *path)
{
  g_auto (GStrv) parts = NULL;
  JsonNode *node = root;

  if (root == NULL)
    return NULL;
  parts = g_strsplit (path, ".", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      JsonObject *obj;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        return NULL;
      obj = json_node_get_object (node);
      node = json_object_get_member (obj, parts[i]);
      if (node == NULL)
        return NULL;
    }
  return node;
}

/* Sets @value (taken) at dotted @path, creating the objects on the way. */
static void
set_path (JsonObject *root, const gchar *path, JsonNode *value)
{
  g_auto (GStrv) parts = g_strsplit (path, ".", -1);
  JsonObject *obj = root;
  guint n = g_strv_length (parts);

  for (guint i = 0; i + 1 < n; i++)
    {
      JsonNode *child = json_object_get_member (obj, parts[i]);

      if (child == NULL || !JSON_NODE_HOLDS_OBJECT (child))
        {
          json_object_set_object_member (obj, parts[i], json_object_new ());
          child = json_object_get_member (obj, parts[i]);
        }
      obj = json_node_get_object (child);
    }
  json_object_set_member (obj, parts[n - 1], value);
}

static void
set_boolean (JsonObject *root, const gchar *path, gboolean value)
{
  JsonNode *node = json_node_new (JSON_NODE_VALUE);
  json_node_set_boolean (node, value);
  set_path (root, path, node);
}

static void
set_int (JsonObject *root, const gchar *path, gint64 value)
{
  JsonNode *node = json_node_new (JSON_NODE_VALUE);
  json_node_set_int (node, value);
  set_path (root, path, node);
}

static void
set_string (JsonObject *root, const gchar *path, const gchar *value)
{
  JsonNode *node = json_node_new (JSON_NODE_VALUE);
  json_node_set_string (node, value);
  set_path (root, path, node);
}

static gboolean
node_is_boolean (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN;
}

static gboolean
node_is_int (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64;
}

static gboolean
node_is_string (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING;
}

/* json_node_copy() shares objects and arrays with the original; settings
 * are edited in place, so copies must not share anything. */
static JsonNode *
deep_copy (JsonNode *node)
{
  JsonNode *copy = json_node_alloc ();

  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *src = json_node_get_object (node);
        g_autoptr (JsonObject) dst = json_object_new ();
        g_autoptr (GList) members = json_object_get_members (src);

        for (GList *l = members; l != NULL; l = l->next)
          json_object_set_member (dst, l->data, deep_copy (json_object_get_member (src, l->data)));
        return json_node_init_object (copy, dst);
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *src = json_node_get_array (node);
        guint n = json_array_get_length (src);
        g_autoptr (JsonArray) dst = json_array_sized_new (n);

        for (guint i = 0; i < n; i++)
          json_array_add_element (dst, deep_copy (json_array_get_element (src, i)));
        return json_node_init_array (copy, dst);
      }
    case JSON_NODE_VALUE:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_INT64:
          return json_node_init_int (copy, json_node_get_int (node));
        case G_TYPE_DOUBLE:
          return json_node_init_double (copy, json_node_get_double (node));
        case G_TYPE_BOOLEAN:
          return json_node_init_boolean (copy, json_node_get_boolean (node));
        case G_TYPE_STRING:
          return json_node_init_string (copy, json_node_get_string (node));
        default:
          return json_node_init_null (copy);
        }
    case JSON_NODE_NULL:
    default:
      return json_node_init_null (copy);
    }
}

JsonNode *
berth_settings_deep_copy (JsonNode *node)
{
  g_return_val_if_fail (node != NULL, NULL);
  return deep_copy (node);
}

static JsonNode *
new_empty_array_node (void)
{
  g_autoptr (JsonArray) array = json_array_new ();
  return json_node_init_array (json_node_alloc (), array);
}

static JsonNode *
new_empty_object_node (void)
{
  g_autoptr (JsonObject) obj = json_object_new ();
  return json_node_init_object (json_node_alloc (), obj);
}

/* Makes text from the input safe and short enough to quote in a message. */
static gchar *
shorten_for_message (const gchar *text, gssize length)
{
  g_autofree gchar *valid = g_utf8_make_valid (text, length);

  g_autofree gchar *head = NULL;

  if (g_utf8_strlen (valid, -1) <= 48)
    return g_steal_pointer (&valid);
  head = g_utf8_substring (valid, 0, 45);
  return g_strconcat (head, "…", NULL);
}

/* A value as a person reads it in an error message: JSON text, shortened. */
static gchar *
describe_value (JsonNode *node)
{
  g_autofree gchar *text = NULL;

  if (node == NULL)
    return g_strdup ("nothing");
  if (JSON_NODE_HOLDS_OBJECT (node))
    return g_strdup ("an object");
  if (JSON_NODE_HOLDS_ARRAY (node))
    return g_strdup ("a list");
  text = json_to_string (node, FALSE);
  return shorten_for_message (text, -1);
}

gchar *
berth_settings_describe_value (JsonNode *node)
{
  return describe_value (node);
}

static gchar *
quote_name (const gchar *name)
{
  g_autofree gchar *valid = g_utf8_make_valid (name, -1);
  g_autoptr (JsonNode) node = json_node_init_string (json_node_alloc (), valid);
  g_autofree gchar *text = json_to_string (node, FALSE);

  return shorten_for_message (text, -1);
}

/* What settings.json holds and the API shows: text that load reads back. */
static gchar *
node_to_text (JsonNode *node, gboolean pretty)
{
  return berth_json_to_string (node, pretty);
}

JsonNode *
berth_settings_parse_data (const gchar *data, gsize length, const gchar *what, GError **error)
{
  gsize blank = 0;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (what != NULL, NULL);

  if (length > BERTH_SETTINGS_MAX_BYTES)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is %" G_GSIZE_FORMAT " bytes; at most %d are allowed", what, length,
                   BERTH_SETTINGS_MAX_BYTES);
      return NULL;
    }
  while (blank < length && g_ascii_isspace (data[blank]))
    blank++;
  if (blank == length)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is empty; expected a JSON object", what);
      return NULL;
    }
  return berth_json_parse (data, length, BERTH_SETTINGS_MAX_DEPTH, what, error);
}

/* ------------------------------------------------------------------------ */
/* Defaults                                                                 */
/* ------------------------------------------------------------------------ */

JsonNode *
berth_settings_new_defaults (const BerthHostInfo *host)
{
  BerthHostInfo detected;
  g_autoptr (JsonObject) root = json_object_new ();
  JsonNode *node;
  gint64 memory_gib, cpus;

  if (host == NULL)
    {
      berth_host_info_detect (&detected);
      host = &detected;
    }

  /* As Rancher Desktop: a quarter of the host's memory, rounded to the
   * nearest GiB (halves up), at most 6 and at least 1; 2 CPUs, or fewer
   * when the host has fewer. */
  memory_gib = (gint64)((host->total_memory_bytes + 2 * GIB) / (4 * GIB));
  memory_gib = CLAMP (memory_gib, 1, 6);
  cpus = host->n_cpus > 0 ? MIN (2, (gint64)host->n_cpus) : 2;

  json_object_set_int_member (root, "version", BERTH_SETTINGS_VERSION);

  set_boolean (root, "application.adminAccess", FALSE);
  set_boolean (root, "application.autoStart", FALSE);
  set_boolean (root, "application.startInBackground", FALSE);
  set_boolean (root, "application.telemetry.enabled", FALSE);
  /* On Linux the distribution updates Berth, unless it runs from a bundle
   * that replaces itself. */
  set_boolean (root, "application.updater.enabled",
               !host->updates_from_packages
                   && (host->platform != BERTH_PLATFORM_LINUX || host->self_updating_bundle));
  set_boolean (root, "application.debug", FALSE);
  set_string (root, "application.pathManagementStrategy", "notset");
  set_path (root, "application.disabledPlugins", new_empty_array_node ());

  set_string (root, "containerEngine.name", "moby");
  set_boolean (root, "containerEngine.allowedImages.enabled", FALSE);
  set_path (root, "containerEngine.allowedImages.patterns", new_empty_array_node ());
  set_boolean (root, "containerEngine.dockerContext.makeCurrent", FALSE);

  set_int (root, "virtualMachine.memoryInGB", memory_gib);
  set_int (root, "virtualMachine.numberCPUs", cpus);
  set_int (root, "virtualMachine.diskSizeGiB", 100);
  set_string (root, "virtualMachine.accel", "auto");
  set_string (root, "virtualMachine.mount.type", "9p");
  set_string (root, "virtualMachine.image.url", "");
  set_string (root, "virtualMachine.image.sha256", "");
  set_string (root, "virtualMachine.caCertificates.file", "");
  set_boolean (root, "virtualMachine.proxy.fromHost", TRUE);

  set_boolean (root, "kubernetes.enabled", FALSE);
  set_string (root, "kubernetes.version", "");
  set_int (root, "kubernetes.port", 6443);
  set_boolean (root, "kubernetes.options.traefik", TRUE);
  set_boolean (root, "kubernetes.options.flannel", TRUE);

  set_boolean (root, "portForwarding.includeKubernetesServices", FALSE);

  set_boolean (root, "images.showAll", TRUE);
  set_string (root, "images.namespace", "k8s.io");

  set_path (root, "WSL.integrations", new_empty_object_node ());

  node = json_node_alloc ();
  json_node_init_object (node, root);
  return node;
}

/* Adds what @defaults has and @target lacks, recursing into groups; values
 * of the wrong type are left for validation to report. */
static void
fill_defaults (JsonObject *target, JsonObject *defaults, const gchar *prefix)
{
  g_autoptr (GList) members = json_object_get_members (defaults);

  for (GList *l = members; l != NULL; l = l->next)
    {
      const gchar *name = l->data;
      JsonNode *def = json_object_get_member (defaults, name);
      JsonNode *have = json_object_get_member (target, name);
      g_autofree gchar *path
          = prefix != NULL ? g_strconcat (prefix, ".", name, NULL) : g_strdup (name);

      if (have == NULL)
        json_object_set_member (target, name, deep_copy (def));
      else if (JSON_NODE_HOLDS_OBJECT (have) && JSON_NODE_HOLDS_OBJECT (def)
               && berth_settings_lookup_spec (path) == NULL)
        fill_defaults (json_node_get_object (have), json_node_get_object (def), path);
    }
}

/* ------------------------------------------------------------------------ */
/* Validation                                                               */
/* ------------------------------------------------------------------------ */

static const gchar *
expected_type_text (BerthSettingType type)
{
  switch (type)
    {
    case BERTH_SETTING_BOOLEAN:
      return "a boolean (true or false)";
    case BERTH_SETTING_INT:
      return "an integer";
    case BERTH_SETTING_STRING:
    case BERTH_SETTING_ENUM:
      return "a string";
    case BERTH_SETTING_STRING_LIST:
      return "a list of strings";
    case BERTH_SETTING_BOOLEAN_MAP:
      return "an object of names to true or false";
    default:
      return "something else";
    }
}

static gboolean
set_type_error (GError **error, const gchar *path, BerthSettingType type, JsonNode *node)
{
  g_autofree gchar *got = describe_value (node);

  g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING, "%s: expected %s, got %s", path,
               expected_type_text (type), got);
  return FALSE;
}

static gboolean
check_string_bounds (const gchar *path, const gchar *value, GError **error)
{
  gsize len = strlen (value);

  if (len > BERTH_SETTINGS_MAX_STRING_BYTES)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "%s: a string of %" G_GSIZE_FORMAT " bytes is too long; at most %d are allowed",
                   path, len, BERTH_SETTINGS_MAX_STRING_BYTES);
      return FALSE;
    }
  if (!g_utf8_validate (value, (gssize)len, NULL))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "%s: the string is not valid UTF-8", path);
      return FALSE;
    }
  return TRUE;
}

/* Whether the JSON type of @node fits @type (values are not looked at). */
static gboolean
check_leaf_type (JsonNode *node, BerthSettingType type, const gchar *path, GError **error)
{
  gboolean ok = FALSE;

  switch (type)
    {
    case BERTH_SETTING_BOOLEAN:
      ok = node_is_boolean (node);
      break;
    case BERTH_SETTING_INT:
      ok = node_is_int (node);
      break;
    case BERTH_SETTING_STRING:
    case BERTH_SETTING_ENUM:
      ok = node_is_string (node);
      break;
    case BERTH_SETTING_STRING_LIST:
      ok = JSON_NODE_HOLDS_ARRAY (node);
      break;
    case BERTH_SETTING_BOOLEAN_MAP:
      ok = JSON_NODE_HOLDS_OBJECT (node);
      break;
    default:
      break;
    }
  if (!ok)
    return set_type_error (error, path, type, node);
  return TRUE;
}

static gboolean
digits_only (const gchar *s, gsize len)
{
  if (len == 0)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isdigit (s[i]))
      return FALSE;
  return TRUE;
}

/* "", or "v" MAJOR.MINOR.PATCH without leading zeros, optionally "+k3sN". */
static gboolean
is_kubernetes_version (const gchar *version)
{
  g_auto (GStrv) parts = NULL;
  const gchar *plus;
  g_autofree gchar *core = NULL;

  if (version[0] == '\0')
    return TRUE;
  if (version[0] != 'v')
    return FALSE;
  plus = strchr (version, '+');
  if (plus != NULL)
    {
      const gchar *suffix = plus + 1;
      if (!g_str_has_prefix (suffix, "k3s") || !digits_only (suffix + 3, strlen (suffix + 3)))
        return FALSE;
      core = g_strndup (version + 1, (gsize)(plus - version - 1));
    }
  else
    core = g_strdup (version + 1);

  parts = g_strsplit (core, ".", -1);
  if (g_strv_length (parts) != 3)
    return FALSE;
  for (guint i = 0; i < 3; i++)
    {
      gsize len = strlen (parts[i]);
      if (!digits_only (parts[i], len) || len > 9 || (len > 1 && parts[i][0] == '0'))
        return FALSE;
    }
  return TRUE;
}

/* containerd's rule for namespace names. */
static gboolean
is_containerd_namespace (const gchar *name)
{
  gsize len = strlen (name);

  if (len == 0 || len > 76 || !g_ascii_isalnum (name[0]) || !g_ascii_isalnum (name[len - 1]))
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      gchar c = name[i];
      if (g_ascii_isalnum (c))
        continue;
      if ((c != '.' && c != '_' && c != '-') || !g_ascii_isalnum (name[i + 1]))
        return FALSE;
    }
  return TRUE;
}

static gboolean
is_image_url (const gchar *url)
{
  static const gchar *const schemes[] = { "https://", "http://", "file://" };

  for (gsize i = 0; i < G_N_ELEMENTS (schemes); i++)
    if (g_ascii_strncasecmp (url, schemes[i], strlen (schemes[i])) == 0)
      return url[strlen (schemes[i])] != '\0' && g_uri_is_valid (url, G_URI_FLAGS_NONE, NULL);
  return FALSE;
}

static gboolean
is_sha256_hex (const gchar *s)
{
  gsize len = strlen (s);

  if (len != 64)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isxdigit (s[i]))
      return FALSE;
  return TRUE;
}

static gboolean
validate_string_value (const BerthSettingSpec *spec, const gchar *value, GError **error)
{
  g_autofree gchar *quoted = NULL;

  if (g_str_equal (spec->path, "kubernetes.version"))
    {
      if (is_kubernetes_version (value))
        return TRUE;
      quoted = quote_name (value);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "kubernetes.version: %s is not a Kubernetes version; use \"\" for the default, "
                   "or a version like \"v1.30.1\" or \"v1.30.1+k3s1\"",
                   quoted);
      return FALSE;
    }
  if (g_str_equal (spec->path, "virtualMachine.image.url"))
    {
      if (value[0] == '\0' || is_image_url (value))
        return TRUE;
      quoted = quote_name (value);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "virtualMachine.image.url: %s is not allowed; use an https://, http:// or "
                   "file:// URL, or \"\" for the built-in image",
                   quoted);
      return FALSE;
    }
  if (g_str_equal (spec->path, "virtualMachine.image.sha256"))
    {
      if (value[0] == '\0' || is_sha256_hex (value))
        return TRUE;
      quoted = quote_name (value);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "virtualMachine.image.sha256: %s is not a SHA-256 digest; expected 64 "
                   "hexadecimal digits, or \"\" when virtualMachine.image.url is \"\"",
                   quoted);
      return FALSE;
    }
  if (g_str_equal (spec->path, "virtualMachine.caCertificates.file"))
    {
      if (value[0] == '\0' || g_path_is_absolute (value))
        return TRUE;
      quoted = quote_name (value);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "virtualMachine.caCertificates.file: %s is not an absolute path; name a PEM "
                   "file of CA certificates by its full path, or \"\" for none",
                   quoted);
      return FALSE;
    }
  if (g_str_equal (spec->path, "images.namespace"))
    {
      if (is_containerd_namespace (value))
        return TRUE;
      quoted = quote_name (value);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "images.namespace: %s is not a containerd namespace; use letters and digits, "
                   "with single '.', '_' or '-' between them, like \"k8s.io\"",
                   quoted);
      return FALSE;
    }
  return TRUE;
}

static gboolean
validate_int_value (const BerthSettingSpec *spec, gint64 value, const BerthHostInfo *host,
                    GError **error)
{
  gint64 max = spec->max;
  const gchar *host_text = NULL;
  g_autofree gchar *host_owned = NULL;

  if (g_str_equal (spec->path, "virtualMachine.memoryInGB") && host_memory_limit_gib (host) > 0)
    {
      gint64 limit = host_memory_limit_gib (host);
      if (limit < max)
        {
          max = limit;
          host_owned
              = g_strdup_printf ("the %" G_GINT64_FORMAT " GiB of memory this host has", limit);
          host_text = host_owned;
        }
    }
  else if (g_str_equal (spec->path, "virtualMachine.numberCPUs") && host != NULL && host->n_cpus > 0
           && (gint64)host->n_cpus < max)
    {
      max = host->n_cpus;
      host_owned = g_strdup_printf ("the %u CPU%s this host has", host->n_cpus,
                                    host->n_cpus == 1 ? "" : "s");
      host_text = host_owned;
    }

  if (value > max && host_text != NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "%s: %" G_GINT64_FORMAT " is more than %s; allowed: %" G_GINT64_FORMAT
                   " to %" G_GINT64_FORMAT " (this host's limit)",
                   spec->path, value, host_text, spec->min, max);
      return FALSE;
    }
  if (value < spec->min || value > max)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "%s: %" G_GINT64_FORMAT " is out of range; allowed: %" G_GINT64_FORMAT
                   " to %" G_GINT64_FORMAT,
                   spec->path, value, spec->min, max);
      return FALSE;
    }
  return TRUE;
}

/* A build without the updater takes only its default, false. */
static gboolean
validate_boolean_value (const BerthSettingSpec *spec, gboolean value, const BerthHostInfo *host,
                        GError **error)
{
  if (!value || !host->updates_from_packages
      || !g_str_equal (spec->path, "application.updater.enabled"))
    return TRUE;
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
               "%s: true is not supported in this build of Berth, which does not update itself "
               "(built with -Dplugin_updater=disabled): its updates come from your "
               "distribution's packages; it can only be false",
               spec->path);
  return FALSE;
}

static gboolean
validate_leaf (const BerthSettingSpec *spec, JsonNode *node, const BerthHostInfo *host,
               GError **error)
{
  if (spec->type == BERTH_SETTING_ENUM && !node_is_string (node))
    {
      g_autofree gchar *allowed = g_strjoinv (", ", (gchar **)spec->choices);
      g_autofree gchar *got = describe_value (node);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "%s: expected one of %s, got %s", spec->path, allowed, got);
      return FALSE;
    }
  if (!check_leaf_type (node, spec->type, spec->path, error))
    return FALSE;

  switch (spec->type)
    {
    case BERTH_SETTING_BOOLEAN:
      return validate_boolean_value (spec, json_node_get_boolean (node), host, error);

    case BERTH_SETTING_INT:
      return validate_int_value (spec, json_node_get_int (node), host, error);

    case BERTH_SETTING_STRING:
      {
        const gchar *value = json_node_get_string (node);
        return check_string_bounds (spec->path, value, error)
               && validate_string_value (spec, value, error);
      }

    case BERTH_SETTING_ENUM:
      {
        const gchar *value = json_node_get_string (node);
        if (!check_string_bounds (spec->path, value, error))
          return FALSE;
        if (!g_strv_contains (spec->choices, value))
          {
            g_autofree gchar *allowed = g_strjoinv (", ", (gchar **)spec->choices);
            g_autofree gchar *quoted = quote_name (value);
            g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                         "%s: %s is not allowed; expected one of %s", spec->path, quoted, allowed);
            return FALSE;
          }
        return TRUE;
      }

    case BERTH_SETTING_STRING_LIST:
      {
        JsonArray *array = json_node_get_array (node);
        guint n = json_array_get_length (array);

        if (n > BERTH_SETTINGS_MAX_LIST_LENGTH)
          {
            g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                         "%s: a list of %u entries is too long; at most %d are allowed", spec->path,
                         n, BERTH_SETTINGS_MAX_LIST_LENGTH);
            return FALSE;
          }
        for (guint i = 0; i < n; i++)
          {
            JsonNode *element = json_array_get_element (array, i);
            g_autofree gchar *element_path = g_strdup_printf ("%s[%u]", spec->path, i);

            if (!node_is_string (element))
              return set_type_error (error, element_path, BERTH_SETTING_STRING, element);
            if (!check_string_bounds (element_path, json_node_get_string (element), error))
              return FALSE;
          }
        return TRUE;
      }

    case BERTH_SETTING_BOOLEAN_MAP:
      {
        JsonObject *obj = json_node_get_object (node);
        g_autoptr (GList) members = json_object_get_members (obj);
        guint n = json_object_get_size (obj);

        if (n > BERTH_SETTINGS_MAX_LIST_LENGTH)
          {
            g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                         "%s: %u names are too many; at most %d are allowed", spec->path, n,
                         BERTH_SETTINGS_MAX_LIST_LENGTH);
            return FALSE;
          }
        for (GList *l = members; l != NULL; l = l->next)
          {
            const gchar *name = l->data;
            g_autofree gchar *quoted = quote_name (name);
            g_autofree gchar *member_path = g_strdup_printf ("%s[%s]", spec->path, quoted);

            if (name[0] == '\0')
              {
                g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                             "%s: a name must not be empty", spec->path);
                return FALSE;
              }
            if (!check_string_bounds (member_path, name, error))
              return FALSE;
            if (!node_is_boolean (json_object_get_member (obj, name)))
              return set_type_error (error, member_path, BERTH_SETTING_BOOLEAN,
                                     json_object_get_member (obj, name));
          }
        return TRUE;
      }

    default:
      break;
    }
  g_assert_not_reached ();
  return FALSE;
}

gboolean
berth_settings_validate_value (const gchar *path, JsonNode *value, const BerthHostInfo *host,
                               GError **error)
{
  const BerthSettingSpec *spec = berth_settings_lookup_spec (path);

  g_return_val_if_fail (spec != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);
  return validate_leaf (spec, value, host != NULL ? host : &no_host_limits, error)
         && berth_settings_check_supported (path, value, host != NULL ? host : &no_host_limits,
                                            error);
}

static guint
edit_distance (const gchar *a, const gchar *b)
{
  gsize la = strlen (a), lb = strlen (b);
  g_autofree guint *row = g_new (guint, lb + 1);

  for (gsize j = 0; j <= lb; j++)
    row[j] = (guint)j;
  for (gsize i = 1; i <= la; i++)
    {
      guint diagonal = row[0];
      row[0] = (guint)i;
      for (gsize j = 1; j <= lb; j++)
        {
          guint above = row[j];
          guint cost = g_ascii_tolower (a[i - 1]) == g_ascii_tolower (b[j - 1]) ? 0 : 1;
          row[j] = MIN (MIN (row[j] + 1, row[j - 1] + 1), diagonal + cost);
          diagonal = above;
        }
    }
  return row[lb];
}

/* The keys allowed directly under the group @prefix (NULL: the top level). */
static GPtrArray *
keys_under (const gchar *prefix)
{
  GPtrArray *keys = g_ptr_array_new_with_free_func (g_free);
  gsize plen = prefix != NULL ? strlen (prefix) : 0;

  for (gsize i = 0; i < G_N_ELEMENTS (settings_schema); i++)
    {
      const gchar *p = settings_schema[i].path;
      const gchar *rest, *dot;
      g_autofree gchar *key = NULL;

      if (prefix != NULL)
        {
          if (strncmp (p, prefix, plen) != 0 || p[plen] != '.')
            continue;
          rest = p + plen + 1;
        }
      else
        rest = p;
      dot = strchr (rest, '.');
      key = dot != NULL ? g_strndup (rest, (gsize)(dot - rest)) : g_strdup (rest);
      if (!g_ptr_array_find_with_equal_func (keys, key, g_str_equal, NULL))
        g_ptr_array_add (keys, g_steal_pointer (&key));
    }
  return keys;
}

static gboolean
set_unknown_key_error (GError **error, const gchar *prefix, const gchar *name)
{
  g_autoptr (GPtrArray) keys = keys_under (prefix);
  g_autofree gchar *shown = shorten_for_message (name, -1);
  g_autofree gchar *path
      = prefix != NULL ? g_strconcat (prefix, ".", shown, NULL) : g_strdup (shown);
  const gchar *closest = NULL;
  guint best = G_MAXUINT;
  g_autoptr (GString) known = g_string_new (NULL);

  for (guint i = 0; i < keys->len; i++)
    {
      const gchar *key = g_ptr_array_index (keys, i);
      guint d = strlen (name) <= 64 ? edit_distance (name, key) : G_MAXUINT;

      if (d < best)
        {
          best = d;
          closest = key;
        }
      if (known->len > 0)
        g_string_append (known, ", ");
      g_string_append (known, key);
    }

  if (closest != NULL && best <= 2 && best < strlen (name))
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                 "unknown setting \"%s\"; did you mean \"%s%s%s\"?", path,
                 prefix != NULL ? prefix : "", prefix != NULL ? "." : "", closest);
  else
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                 "unknown setting \"%s\"; %s%s%s: %s", path, "known settings",
                 prefix != NULL ? " under " : " at the top level", prefix != NULL ? prefix : "",
                 known->str);
  return FALSE;
}

static gboolean
validate_group (JsonObject *obj, const gchar *prefix, const BerthHostInfo *host, GError **error)
{
  g_autoptr (GList) members = json_object_get_members (obj);

  for (GList *l = members; l != NULL; l = l->next)
    {
      const gchar *name = l->data;
      JsonNode *node = json_object_get_member (obj, name);
      g_autofree gchar *path = NULL;
      const BerthSettingSpec *spec;

      if (prefix == NULL && g_str_equal (name, "version"))
        continue;
      /* A dotted key would otherwise pass as a path ("kubernetes.port": 1). */
      if (name[0] == '\0' || strchr (name, '.') != NULL)
        return set_unknown_key_error (error, prefix, name);

      path = prefix != NULL ? g_strconcat (prefix, ".", name, NULL) : g_strdup (name);
      spec = berth_settings_lookup_spec (path);
      if (spec != NULL)
        {
          if (!validate_leaf (spec, node, host, error))
            return FALSE;
        }
      else if (is_group_path (path))
        {
          if (!JSON_NODE_HOLDS_OBJECT (node))
            {
              g_autofree gchar *got = describe_value (node);
              g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                           "%s: expected an object, got %s", path, got);
              return FALSE;
            }
          if (!validate_group (json_node_get_object (node), path, host, error))
            return FALSE;
        }
      else
        return set_unknown_key_error (error, prefix, name);
    }
  return TRUE;
}

static const gchar *
string_at (JsonNode *root, const gchar *path)
{
  JsonNode *node = lookup_node (root, path);
  return node != NULL && node_is_string (node) ? json_node_get_string (node) : "";
}

gboolean
berth_settings_validate (JsonNode *root, const BerthHostInfo *host, GError **error)
{
  JsonNode *version;
  BerthHostInfo detected;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_autofree gchar *got = describe_value (root);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "settings must be a JSON object, got %s", got);
      return FALSE;
    }
  if (host == NULL)
    {
      berth_host_info_detect (&detected);
      host = &detected;
    }

  version = json_object_get_member (json_node_get_object (root), "version");
  if (version == NULL || !node_is_int (version)
      || json_node_get_int (version) != BERTH_SETTINGS_VERSION)
    {
      g_autofree gchar *got = describe_value (version);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING, "version: expected %d, got %s",
                   BERTH_SETTINGS_VERSION, got);
      return FALSE;
    }

  if (!validate_group (json_node_get_object (root), NULL, host, error))
    return FALSE;

  /* A custom image is only booted once it is known to be the one meant. */
  if (string_at (root, "virtualMachine.image.url")[0] != '\0'
      && string_at (root, "virtualMachine.image.sha256")[0] == '\0')
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "virtualMachine.image.sha256: required when virtualMachine.image.url is set; "
                   "give the image's SHA-256 as 64 hexadecimal digits");
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Migrations                                                               */
/* ------------------------------------------------------------------------ */

/* Each step takes a file of version N to N + 1. Versions 1 to 3 are
 * Rancher Desktop's early shape, with nearly everything under "kubernetes";
 * version 4 is the grouped shape; version 5 makes kubernetes.enabled
 * explicit. */

static JsonObject *
kubernetes_object (JsonObject *root)
{
  JsonNode *node = json_object_get_member (root, "kubernetes");
  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* 1 → 2: "rancherMode" switched on the Rancher server inside the VM, which
 * was dropped; it is obsolete and goes on purpose. */
static gboolean
migrate_1_to_2 (JsonObject *root, GError **error)
{
  JsonObject *kubernetes = kubernetes_object (root);

  if (kubernetes != NULL && json_object_has_member (kubernetes, "rancherMode"))
    {
      g_debug ("Settings migration 1→2: dropping obsolete kubernetes.rancherMode");
      json_object_remove_member (kubernetes, "rancherMode");
    }
  return TRUE;
}

/* 2 → 3: before the engine could be chosen, Rancher Desktop ran containerd,
 * and an empty value meant the same. Say so explicitly. */
static gboolean
migrate_2_to_3 (JsonObject *root, GError **error)
{
  JsonObject *kubernetes = kubernetes_object (root);
  JsonNode *engine;

  if (kubernetes == NULL)
    return TRUE;
  engine = json_object_get_member (kubernetes, "containerEngine");
  if (engine == NULL || (node_is_string (engine) && json_node_get_string (engine)[0] == '\0'))
    json_object_set_string_member (kubernetes, "containerEngine", "containerd");
  return TRUE;
}

typedef struct
{
  const gchar *from;
  const gchar *to;
  BerthSettingType type;
  gboolean negate;
} SettingMove;

/* Every key of the version-3 shape, and where it goes. */
static const SettingMove v3_moves[] = {
  { "kubernetes.version", "kubernetes.version", BERTH_SETTING_STRING, FALSE },
  { "kubernetes.memoryInGB", "virtualMachine.memoryInGB", BERTH_SETTING_INT, FALSE },
  { "kubernetes.numberCPUs", "virtualMachine.numberCPUs", BERTH_SETTING_INT, FALSE },
  { "kubernetes.port", "kubernetes.port", BERTH_SETTING_INT, FALSE },
  { "kubernetes.containerEngine", "containerEngine.name", BERTH_SETTING_STRING, FALSE },
  /* "Do not use sudo" became "may use administrator rights". */
  { "kubernetes.suppressSudo", "application.adminAccess", BERTH_SETTING_BOOLEAN, TRUE },
  { "portForwarding.includeKubernetesServices", "portForwarding.includeKubernetesServices",
    BERTH_SETTING_BOOLEAN, FALSE },
  { "images.showAll", "images.showAll", BERTH_SETTING_BOOLEAN, FALSE },
  { "images.namespace", "images.namespace", BERTH_SETTING_STRING, FALSE },
  { "telemetry", "application.telemetry.enabled", BERTH_SETTING_BOOLEAN, FALSE },
  { "updater", "application.updater.enabled", BERTH_SETTING_BOOLEAN, FALSE },
  { "debug", "application.debug", BERTH_SETTING_BOOLEAN, FALSE },
  { "pathManagementStrategy", "application.pathManagementStrategy", BERTH_SETTING_STRING, FALSE },
};

/* Keys of old files that are dropped on purpose (see migrate_1_to_2). */
static const gchar *const v3_obsolete[] = { "kubernetes.rancherMode", NULL };
static const gchar *const v3_groups[] = { "kubernetes", "portForwarding", "images", NULL };

static const SettingMove *
find_v3_move (const gchar *path)
{
  for (gsize i = 0; i < G_N_ELEMENTS (v3_moves); i++)
    if (g_str_equal (v3_moves[i].from, path))
      return &v3_moves[i];
  return NULL;
}

static gboolean
move_v3_key (JsonObject *out, const gchar *path, JsonNode *node, GError **error)
{
  const SettingMove *move = find_v3_move (path);
  g_autoptr (GError) local_error = NULL;

  if (move == NULL)
    {
      g_autofree gchar *quoted = quote_name (path);

      if (g_strv_contains (v3_obsolete, path))
        {
          g_debug ("Settings migration 3→4: dropping obsolete %s", path);
          return TRUE;
        }
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "cannot migrate from version 3: %s is not a setting this Berth knows how to "
                   "carry over; remove it from the file (and set it again later if needed)",
                   quoted);
      return FALSE;
    }
  if (!check_leaf_type (node, move->type, path, &local_error))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "cannot migrate from version 3: %s", local_error->message);
      return FALSE;
    }
  if (move->negate)
    set_boolean (out, move->to, !json_node_get_boolean (node));
  else
    set_path (out, move->to, deep_copy (node));
  return TRUE;
}

/* 3 → 4: the grouped shape. Every key is carried over or refused by name;
 * nothing disappears in silence. */
static gboolean
migrate_3_to_4 (JsonObject *root, GError **error)
{
  g_autoptr (JsonObject) out = json_object_new ();
  g_autoptr (GList) members = json_object_get_members (root);
  g_autoptr (GList) out_members = NULL;

  for (GList *l = members; l != NULL; l = l->next)
    {
      const gchar *name = l->data;
      JsonNode *node = json_object_get_member (root, name);

      if (g_str_equal (name, "version"))
        continue;
      if (g_strv_contains (v3_groups, name))
        {
          g_autoptr (GList) children = NULL;

          if (!JSON_NODE_HOLDS_OBJECT (node))
            {
              g_autofree gchar *got = describe_value (node);
              g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                           "cannot migrate from version 3: %s: expected an object, got %s", name,
                           got);
              return FALSE;
            }
          children = json_object_get_members (json_node_get_object (node));
          for (GList *c = children; c != NULL; c = c->next)
            {
              g_autofree gchar *path = g_strconcat (name, ".", (const gchar *)c->data, NULL);
              JsonNode *child = json_object_get_member (json_node_get_object (node), c->data);

              if (!move_v3_key (out, path, child, error))
                return FALSE;
            }
        }
      else if (!move_v3_key (out, name, node, error))
        return FALSE;
    }

  /* Only now, with nothing refused, replace the old shape. */
  g_list_free (members);
  members = json_object_get_members (root);
  for (GList *l = members; l != NULL; l = l->next)
    if (!g_str_equal (l->data, "version"))
      json_object_remove_member (root, l->data);
  out_members = json_object_get_members (out);
  for (GList *l = out_members; l != NULL; l = l->next)
    json_object_set_member (root, l->data, deep_copy (json_object_get_member (out, l->data)));
  return TRUE;
}

/* 4 → 5: Rancher Desktop's early versions always ran Kubernetes, and a
 * version-4 file ran it whenever it named a kubernetes.version; version 5
 * has an explicit switch, set so that an existing cluster stays on.
 * Versions also gain the "v" prefix that k3s releases carry. */
static gboolean
migrate_4_to_5 (JsonObject *root, GError **error)
{
  JsonObject *kubernetes = kubernetes_object (root);
  JsonNode *version;

  if (kubernetes == NULL)
    return TRUE;
  version = json_object_get_member (kubernetes, "version");
  if (version == NULL)
    return TRUE;
  if (node_is_string (version) && g_ascii_isdigit (json_node_get_string (version)[0]))
    {
      g_autofree gchar *prefixed = g_strconcat ("v", json_node_get_string (version), NULL);
      json_object_set_string_member (kubernetes, "version", prefixed);
    }
  if (!json_object_has_member (kubernetes, "enabled"))
    json_object_set_boolean_member (kubernetes, "enabled", TRUE);
  return TRUE;
}

typedef gboolean (*SettingsMigration) (JsonObject *root, GError **error);

/* migrations[i] takes version i + 1 to i + 2. */
static const SettingsMigration migrations[] = {
  migrate_1_to_2,
  migrate_2_to_3,
  migrate_3_to_4,
  migrate_4_to_5,
};

G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == BERTH_SETTINGS_VERSION - 1);

gboolean
berth_settings_migrate_step (JsonObject *root, gint64 from_version, GError **error)
{
  g_return_val_if_fail (root != NULL, FALSE);
  g_return_val_if_fail (from_version >= 1 && from_version < BERTH_SETTINGS_VERSION, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!migrations[from_version - 1](root, error))
    return FALSE;
  json_object_set_int_member (root, "version", from_version + 1);
  return TRUE;
}

/* Rancher Desktop's early files kept nearly everything under "kubernetes",
 * and some carried no version at all. */
gboolean
berth_settings_looks_like_early_shape (JsonObject *root)
{
  static const gchar *const newer_groups[]
      = { "application", "containerEngine", "virtualMachine", "WSL", NULL };
  static const gchar *const early_keys[]
      = { "memoryInGB", "numberCPUs", "containerEngine", "rancherMode", "suppressSudo", NULL };
  JsonObject *kubernetes = kubernetes_object (root);

  for (guint i = 0; newer_groups[i] != NULL; i++)
    if (json_object_has_member (root, newer_groups[i]))
      return FALSE;
  if (kubernetes != NULL)
    for (guint i = 0; early_keys[i] != NULL; i++)
      if (json_object_has_member (kubernetes, early_keys[i]))
        return TRUE;
  return FALSE;
}

gboolean
berth_settings_migrate (JsonObject *root, GError **error)
{
  JsonNode *version_node;
  gint64 version;

  g_return_val_if_fail (root != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  version_node = json_object_get_member (root, "version");
  if (version_node != NULL && node_is_int (version_node) && json_node_get_int (version_node) >= 1)
    version = json_node_get_int (version_node);
  else if (berth_settings_looks_like_early_shape (root))
    {
      g_debug ("Settings without a usable version look like Rancher Desktop's early shape; "
               "reading them as version 1");
      version = 1;
    }
  else if (version_node == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "the settings have no \"version\" and do not look like an early Rancher "
                   "Desktop file; expected \"version\": %d",
                   BERTH_SETTINGS_VERSION);
      return FALSE;
    }
  else
    {
      g_autofree gchar *got = describe_value (version_node);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "version: expected an integer from 1 to %d, got %s", BERTH_SETTINGS_VERSION,
                   got);
      return FALSE;
    }

  if (version > BERTH_SETTINGS_VERSION)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                   "settings.json is version %" G_GINT64_FORMAT
                   ", written by a newer Berth; this Berth reads up to version %d. Upgrade "
                   "Berth, or move the file aside to start from defaults",
                   version, BERTH_SETTINGS_VERSION);
      return FALSE;
    }

  json_object_set_int_member (root, "version", version);
  for (; version < BERTH_SETTINGS_VERSION; version++)
    if (!berth_settings_migrate_step (root, version, error))
      return FALSE;
  return TRUE;
}

static void
merge_into (JsonObject *target, JsonObject *partial, const gchar *prefix);

/* Rancher Desktop's values over the defaults, in place of @root's. */
static BerthSettingsImport *
import_file (JsonNode *root, const BerthHostInfo *host, GError **error)
{
  g_autoptr (BerthSettingsImport) import = NULL;
  g_autoptr (JsonNode) settings = NULL;
  BerthHostInfo unlimited;

  if (host == NULL)
    berth_host_info_detect (&unlimited);
  else
    unlimited = *host;
  /* As for Berth's own files: what a bigger machine allowed still loads. */
  unlimited.total_memory_bytes = 0;
  unlimited.n_cpus = 0;
  import = berth_settings_import_new (root, &unlimited, error);
  if (import == NULL)
    return NULL;
  settings = berth_settings_new_defaults (host);
  merge_into (json_node_get_object (settings),
              json_node_get_object (berth_settings_import_get_settings (import)), NULL);
  if (!berth_settings_validate (settings, &no_host_limits, error))
    return NULL;
  json_node_set_object (root, json_node_get_object (settings));
  return g_steal_pointer (&import);
}

gboolean
berth_settings_prepare (JsonNode *root, const BerthHostInfo *host, gboolean *migrated_out,
                        BerthSettingsImport **import_out, GError **error)
{
  g_autoptr (JsonNode) defaults = NULL;
  JsonNode *version_node;
  gboolean migrated;

  g_return_val_if_fail (root != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (import_out != NULL)
    *import_out = NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return berth_settings_validate (root, host, error);
  if (berth_settings_is_rancher_desktop (root))
    {
      g_autoptr (BerthSettingsImport) import = import_file (root, host, error);

      if (import == NULL)
        return FALSE;
      if (migrated_out != NULL)
        *migrated_out = TRUE;
      if (import_out != NULL)
        *import_out = g_steal_pointer (&import);
      return TRUE;
    }

  version_node = json_object_get_member (json_node_get_object (root), "version");
  migrated = version_node == NULL || !node_is_int (version_node)
             || json_node_get_int (version_node) != BERTH_SETTINGS_VERSION;
  if (!berth_settings_migrate (json_node_get_object (root), error))
    return FALSE;

  defaults = berth_settings_new_defaults (host);
  fill_defaults (json_node_get_object (root), json_node_get_object (defaults), NULL);
  /* The host's limits are not applied to a file being loaded: a file brought
   * from a bigger machine must still load, with nothing lost. They apply to
   * every change (berth_settings_update) and to starting the VM. */
  if (!berth_settings_validate (root, &no_host_limits, error))
    return FALSE;
  /* A value kept from before it was refused did nothing: it goes. */
  {
    g_auto (GStrv) settled = berth_settings_settle_unsupported (root, host);
    if (settled[0] != NULL)
      migrated = TRUE;
  }
  if (migrated_out != NULL)
    *migrated_out = migrated;
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Diff and merge                                                           */
/* ------------------------------------------------------------------------ */

static void
collect_leaves (JsonNode *node, const gchar *path, GPtrArray *out)
{
  g_autoptr (GList) members = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (node) || berth_settings_lookup_spec (path) != NULL
      || json_object_get_size (json_node_get_object (node)) == 0)
    {
      g_ptr_array_add (out, g_strdup (path));
      return;
    }
  members = json_object_get_members (json_node_get_object (node));
  for (GList *l = members; l != NULL; l = l->next)
    {
      g_autofree gchar *child = g_strconcat (path, ".", (const gchar *)l->data, NULL);
      collect_leaves (json_object_get_member (json_node_get_object (node), l->data), child, out);
    }
}

static void
diff_nodes (JsonNode *a, JsonNode *b, const gchar *path, GPtrArray *out)
{
  g_autoptr (GList) members_a = NULL;
  g_autoptr (GList) members_b = NULL;
  JsonObject *oa, *ob;

  /* Schema leaves that are objects (WSL.integrations) compare whole. */
  if (!JSON_NODE_HOLDS_OBJECT (a) || !JSON_NODE_HOLDS_OBJECT (b)
      || (path != NULL && berth_settings_lookup_spec (path) != NULL))
    {
      if (!json_node_equal (a, b))
        g_ptr_array_add (out, g_strdup (path != NULL ? path : ""));
      return;
    }

  oa = json_node_get_object (a);
  ob = json_node_get_object (b);
  members_a = json_object_get_members (oa);
  members_b = json_object_get_members (ob);
  for (GList *l = members_a; l != NULL; l = l->next)
    {
      g_autofree gchar *child = path != NULL ? g_strconcat (path, ".", (const gchar *)l->data, NULL)
                                             : g_strdup (l->data);
      JsonNode *nb = json_object_get_member (ob, l->data);

      if (nb == NULL)
        collect_leaves (json_object_get_member (oa, l->data), child, out);
      else
        diff_nodes (json_object_get_member (oa, l->data), nb, child, out);
    }
  for (GList *l = members_b; l != NULL; l = l->next)
    {
      g_autofree gchar *child = path != NULL ? g_strconcat (path, ".", (const gchar *)l->data, NULL)
                                             : g_strdup (l->data);

      if (!json_object_has_member (oa, l->data))
        collect_leaves (json_object_get_member (ob, l->data), child, out);
    }
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const gchar *const *)a, *(const gchar *const *)b);
}

GStrv
berth_settings_diff (JsonNode *old_root, JsonNode *new_root)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);

  g_return_val_if_fail (old_root != NULL, NULL);
  g_return_val_if_fail (new_root != NULL, NULL);

  diff_nodes (old_root, new_root, NULL, out);
  g_ptr_array_sort (out, compare_strings);
  g_ptr_array_add (out, NULL);
  return (GStrv)g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

/* Objects merge, everything else replaces. The depth of the merge is
 * bounded by @target's, which is the schema's. */
static void
merge_into (JsonObject *target, JsonObject *partial, const gchar *prefix)
{
  g_autoptr (GList) members = json_object_get_members (partial);

  for (GList *l = members; l != NULL; l = l->next)
    {
      const gchar *name = l->data;
      JsonNode *from = json_object_get_member (partial, name);
      JsonNode *into = json_object_get_member (target, name);
      g_autofree gchar *path
          = prefix != NULL ? g_strconcat (prefix, ".", name, NULL) : g_strdup (name);

      if (into != NULL && JSON_NODE_HOLDS_OBJECT (into) && JSON_NODE_HOLDS_OBJECT (from))
        merge_into (json_node_get_object (into), json_node_get_object (from), path);
      else
        json_object_set_member (target, name, deep_copy (from));
    }
}

static gboolean
node_deeper_than (JsonNode *node, guint max_depth)
{
  if (max_depth == 0)
    return JSON_NODE_HOLDS_OBJECT (node) || JSON_NODE_HOLDS_ARRAY (node);
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *obj = json_node_get_object (node);
      g_autoptr (GList) members = json_object_get_members (obj);

      for (GList *l = members; l != NULL; l = l->next)
        if (node_deeper_than (json_object_get_member (obj, l->data), max_depth - 1))
          return TRUE;
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        if (node_deeper_than (json_array_get_element (array, i), max_depth - 1))
          return TRUE;
    }
  return FALSE;
}

gboolean
berth_settings_node_deeper_than (JsonNode *node, guint max_depth)
{
  g_return_val_if_fail (node != NULL, FALSE);
  return node_deeper_than (node, max_depth);
}

/* ------------------------------------------------------------------------ */
/* Durable writes                                                           */
/* ------------------------------------------------------------------------ */

/* Writes @root, unless the file would be larger than load reads: what is
 * accepted must load again. The refusal names the value among @changed
 * (may be NULL) that takes the most room. */
static gboolean
write_settings (const gchar *path, JsonNode *root, const gchar *const *changed, GError **error)
{
  g_autofree gchar *text = node_to_text (root, TRUE);
  g_autofree gchar *data = g_strconcat (text, "\n", NULL);
  gsize length = strlen (data);

  if (length > BERTH_SETTINGS_MAX_BYTES)
    {
      const gchar *largest = NULL;
      gsize largest_size = 0;

      for (guint i = 0; changed != NULL && changed[i] != NULL; i++)
        {
          JsonNode *node = lookup_node (root, changed[i]);
          g_autofree gchar *value = node != NULL ? node_to_text (node, TRUE) : NULL;

          if (value != NULL && strlen (value) > largest_size)
            {
              largest = changed[i];
              largest_size = strlen (value);
            }
        }
      if (largest != NULL)
        g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                     "%s: with this value (%" G_GSIZE_FORMAT
                     " bytes) the settings would take %" G_GSIZE_FORMAT
                     " bytes, more than the %d that %s may hold; shorten it",
                     largest, largest_size, length, BERTH_SETTINGS_MAX_BYTES, path);
      else
        g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                     "the settings would take %" G_GSIZE_FORMAT " bytes, more than the %d that "
                     "%s may hold",
                     length, BERTH_SETTINGS_MAX_BYTES, path);
      return FALSE;
    }
  return berth_file_replace_contents (path, data, length, 0644, error);
}

/* ------------------------------------------------------------------------ */
/* The object                                                               */
/* ------------------------------------------------------------------------ */

struct _BerthSettings
{
  GObject parent_instance;

  gchar *path;
  BerthHostInfo host;
  JsonNode *root;
  gboolean first_run;
  gchar *corrupt_path;
  BerthSettingsImport *import;
  gchar *imported_original_path;
};

G_DEFINE_TYPE (BerthSettings, berth_settings, G_TYPE_OBJECT)

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
berth_settings_finalize (GObject *object)
{
  BerthSettings *self = BERTH_SETTINGS (object);

  g_free (self->path);
  g_clear_pointer (&self->root, json_node_unref);
  g_free (self->corrupt_path);
  g_clear_object (&self->import);
  g_free (self->imported_original_path);

  G_OBJECT_CLASS (berth_settings_parent_class)->finalize (object);
}

static void
berth_settings_class_init (BerthSettingsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = berth_settings_finalize;

  /**
   * BerthSettings::changed:
   * @changed_paths: (array zero-terminated=1): the dotted paths that changed
   */
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRV);
}

static void
berth_settings_init (BerthSettings *self)
{
}

BerthSettings *
berth_settings_new (const gchar *path, const BerthHostInfo *host)
{
  BerthSettings *self;

  g_return_val_if_fail (path != NULL, NULL);

  self = g_object_new (BERTH_TYPE_SETTINGS, NULL);
  self->path = g_strdup (path);
  if (host != NULL)
    self->host = *host;
  else
    berth_host_info_detect (&self->host);
  /* Until load, the settings are the defaults, so getters always answer. */
  self->root = berth_settings_new_defaults (&self->host);
  return self;
}

const gchar *
berth_settings_get_path (BerthSettings *self)
{
  g_return_val_if_fail (BERTH_IS_SETTINGS (self), NULL);
  return self->path;
}

const BerthHostInfo *
berth_settings_get_host (BerthSettings *self)
{
  g_return_val_if_fail (BERTH_IS_SETTINGS (self), NULL);
  return &self->host;
}

gboolean
berth_settings_is_first_run (BerthSettings *self)
{
  g_return_val_if_fail (BERTH_IS_SETTINGS (self), FALSE);
  return self->first_run;
}

const gchar *
berth_settings_get_corrupt_path (BerthSettings *self)
{
  g_return_val_if_fail (BERTH_IS_SETTINGS (self), NULL);
  return self->corrupt_path;
}

BerthSettingsImport *
berth_settings_get_import (BerthSettings *self)
{
  g_return_val_if_fail (BERTH_IS_SETTINGS (self), NULL);
  return self->import;
}

const gchar *
berth_settings_get_imported_original_path (BerthSettings *self)
{
  g_return_val_if_fail (BERTH_IS_SETTINGS (self), NULL);
  return self->imported_original_path;
}

/* Renames the unreadable file to <path>.corrupt-<UTC time>, never over an
 * earlier one. */
static gchar *
move_aside (const gchar *path, GError **error)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree gchar *stamp = g_date_time_format (now, "%Y%m%dT%H%M%SZ");

  for (guint attempt = 0; attempt < 100; attempt++)
    {
      g_autofree gchar *target = attempt == 0
                                     ? g_strdup_printf ("%s.corrupt-%s", path, stamp)
                                     : g_strdup_printf ("%s.corrupt-%s-%u", path, stamp, attempt);

      if (g_file_test (target, G_FILE_TEST_EXISTS))
        continue;
      if (g_rename (path, target) != 0)
        {
          berth_set_errno_error (error, errno, "move aside the unreadable", path);
          return NULL;
        }
      return g_steal_pointer (&target);
    }
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
               "Could not move aside the unreadable %s: too many earlier copies", path);
  return NULL;
}

/* Writes @data, the file as it was read, to <path>.<tag>-<UTC time>, never
 * over an earlier copy, readable by its owner only: Rancher Desktop's
 * settings may hold a proxy password. */
static gchar *
keep_copy_aside (const gchar *path, const gchar *tag, const gchar *data, gsize length,
                 GError **error)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree gchar *stamp = g_date_time_format (now, "%Y%m%dT%H%M%SZ");

  for (guint attempt = 0; attempt < 100; attempt++)
    {
      g_autofree gchar *target = attempt == 0
                                     ? g_strdup_printf ("%s.%s-%s", path, tag, stamp)
                                     : g_strdup_printf ("%s.%s-%s-%u", path, tag, stamp, attempt);
      gsize written = 0;
      int fd = g_open (target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

      if (fd < 0 && errno == EEXIST)
        continue;
      if (fd < 0)
        {
          berth_set_errno_error (error, errno, "keep a copy of the settings as", target);
          return NULL;
        }
      while (written < length)
        {
          ssize_t n = write (fd, data + written, length - written);

          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0)
            break;
          written += (gsize)n;
        }
      if (written < length || fsync (fd) != 0)
        {
          int saved_errno = errno;

          close (fd);
          g_unlink (target);
          berth_set_errno_error (error, saved_errno, "keep a copy of the settings as", target);
          return NULL;
        }
      if (close (fd) != 0)
        {
          int saved_errno = errno;

          g_unlink (target);
          berth_set_errno_error (error, saved_errno, "keep a copy of the settings as", target);
          return NULL;
        }
      return g_steal_pointer (&target);
    }
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
               "Could not keep a copy of %s: too many earlier copies", path);
  return NULL;
}

static gboolean
start_from_defaults (BerthSettings *self, GError **error)
{
  g_autoptr (JsonNode) defaults = berth_settings_new_defaults (&self->host);

  if (!write_settings (self->path, defaults, NULL, error))
    return FALSE;
  g_clear_pointer (&self->root, json_node_unref);
  self->root = g_steal_pointer (&defaults);
  return TRUE;
}

static const gchar *
describe_file_type (mode_t mode)
{
  if (S_ISDIR (mode))
    return "a directory";
  if (S_ISFIFO (mode))
    return "a FIFO (named pipe)";
  if (S_ISCHR (mode))
    return "a character device";
  if (S_ISBLK (mode))
    return "a block device";
  if (S_ISSOCK (mode))
    return "a socket";
  return "not a regular file";
}

/* Reads the file; NULL with @error unset when it does not exist. Only a
 * regular file, or a symbolic link to one, is read, and never more than
 * the limit (a FIFO would block, /dev/zero never ends): anything else is
 * an error that leaves it as it is. */
static gchar *
read_settings_file (const gchar *path, gsize *length, gboolean *too_large, GError **error)
{
  g_autoptr (GString) contents = NULL;
  GStatBuf st;
  int fd;

  *too_large = FALSE;
  fd = g_open (path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int saved_errno = errno;
      g_autofree gchar *target = NULL;

      if (saved_errno != ENOENT)
        {
          berth_set_errno_error (error, saved_errno, "read", path);
          return NULL;
        }
      target = g_file_read_link (path, NULL);
      if (target == NULL)
        return NULL;
      /* A dangling link: defaults written through it would hide the loss. */
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
                   "%s is a symbolic link to %s, which does not exist; restore that file, point "
                   "the link at your settings, or remove the link to start from defaults",
                   path, target);
      return NULL;
    }
  if (fstat (fd, &st) != 0)
    {
      berth_set_errno_error (error, errno, "read", path);
      close (fd);
      return NULL;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is %s; Berth reads its settings only from a regular file (or a symbolic "
                   "link to one): move it away, and Berth starts from defaults",
                   path, describe_file_type (st.st_mode));
      close (fd);
      return NULL;
    }
  if (st.st_size > BERTH_SETTINGS_MAX_BYTES)
    {
      *too_large = TRUE;
      close (fd);
      return NULL;
    }
  /* The size may change while it is read: stop one byte past the limit. */
  contents = g_string_sized_new ((gsize)st.st_size + 1);
  for (;;)
    {
      gchar buffer[16384];
      gsize room = BERTH_SETTINGS_MAX_BYTES + 1 - contents->len;
      ssize_t n = read (fd, buffer, MIN (sizeof buffer, room));

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          berth_set_errno_error (error, errno, "read", path);
          close (fd);
          return NULL;
        }
      if (n == 0)
        break;
      g_string_append_len (contents, buffer, n);
      if (contents->len > BERTH_SETTINGS_MAX_BYTES)
        {
          *too_large = TRUE;
          close (fd);
          return NULL;
        }
    }
  close (fd);
  *length = contents->len;
  return g_string_free (g_steal_pointer (&contents), FALSE);
}

gboolean
berth_settings_load (BerthSettings *self, GError **error)
{
  g_autofree gchar *contents = NULL;
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GError) parse_error = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autoptr (BerthSettingsImport) import = NULL;
  gsize length = 0;
  gboolean too_large = FALSE;
  gboolean migrated = FALSE;

  g_return_val_if_fail (BERTH_IS_SETTINGS (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_clear_pointer (&self->corrupt_path, g_free);
  g_clear_object (&self->import);
  g_clear_pointer (&self->imported_original_path, g_free);
  /* Nothing writes the file before it is loaded: what a killed write left
   * beside it can go. */
  berth_file_remove_stale_temporaries (self->path);
  contents = read_settings_file (self->path, &length, &too_large, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (contents == NULL && !too_large)
    {
      if (!start_from_defaults (self, error))
        return FALSE;
      self->first_run = TRUE;
      return TRUE;
    }

  if (too_large)
    g_set_error (&parse_error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA, "it is larger than %d bytes",
                 BERTH_SETTINGS_MAX_BYTES);
  else
    {
      root = berth_settings_parse_data (contents, length, "the file", &parse_error);
      if (root != NULL && !JSON_NODE_HOLDS_OBJECT (root))
        {
          g_autofree gchar *got = describe_value (root);
          g_set_error (&parse_error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "it holds %s, not a settings object", got);
        }
    }

  if (parse_error != NULL)
    {
      g_autofree gchar *aside = move_aside (self->path, error);

      if (aside == NULL)
        return FALSE;
      g_message ("Settings in %s could not be read (%s); the file was moved to %s and defaults "
                 "are used",
                 self->path, parse_error->message, aside);
      g_free (self->corrupt_path);
      self->corrupt_path = g_steal_pointer (&aside);
      return start_from_defaults (self, error);
    }

  if (!berth_settings_prepare (root, &self->host, &migrated, &import, &local_error))
    {
      g_set_error (error, local_error->domain, local_error->code, "%s: %s", self->path,
                   local_error->message);
      return FALSE;
    }
  if (import != NULL)
    {
      /* The original first: until the import is written, the file itself
       * is still Rancher Desktop's and is imported again. */
      g_autofree gchar *kept
          = keep_copy_aside (self->path, "rancher-desktop", contents, length, error);
      g_autofree gchar *dropped = NULL;
      JsonObjectIter iter;
      const gchar *key;
      JsonNode *reason;

      if (kept == NULL || !write_settings (self->path, root, NULL, error))
        return FALSE;
      dropped = berth_settings_import_describe_dropped (import, 40);
      g_message ("Settings in %s were Rancher Desktop's (settings version %" G_GINT64_FORMAT
                 ") and are imported; the original is kept as %s. Not carried over: %s",
                 self->path, berth_settings_import_get_version (import), kept, dropped);
      json_object_iter_init (&iter, berth_settings_import_get_refused (import));
      while (json_object_iter_next (&iter, &key, &reason))
        g_message ("Rancher Desktop's %s was not carried over: %s", key,
                   json_node_get_string (reason));
      self->import = g_steal_pointer (&import);
      self->imported_original_path = g_steal_pointer (&kept);
    }
  else if (migrated)
    {
      g_message ("Settings in %s were migrated to version %d", self->path, BERTH_SETTINGS_VERSION);
      if (!write_settings (self->path, root, NULL, error))
        return FALSE;
    }
  g_clear_pointer (&self->root, json_node_unref);
  self->root = g_steal_pointer (&root);
  return TRUE;
}

JsonNode *
berth_settings_dup_node (BerthSettings *self)
{
  g_return_val_if_fail (BERTH_IS_SETTINGS (self), NULL);
  return deep_copy (self->root);
}

gchar *
berth_settings_to_json (BerthSettings *self, gboolean pretty)
{
  g_return_val_if_fail (BERTH_IS_SETTINGS (self), NULL);
  return node_to_text (self->root, pretty);
}

/* Writes @new_root, takes it, and says what changed. */
static gboolean
replace_root (BerthSettings *self, JsonNode *new_root, gboolean always_write, GStrv *changed_out,
              GError **error)
{
  g_auto (GStrv) changed = berth_settings_diff (self->root, new_root);

  if (changed[0] != NULL || always_write)
    {
      if (!write_settings (self->path, new_root, (const gchar *const *)changed, error))
        return FALSE;
      g_clear_pointer (&self->root, json_node_unref);
      self->root = json_node_ref (new_root);
      if (changed[0] != NULL)
        g_signal_emit (self, signals[SIGNAL_CHANGED], 0, changed);
    }
  if (changed_out != NULL)
    *changed_out = g_steal_pointer (&changed);
  return TRUE;
}

/* A value changed now must fit this host; values kept from the file (which
 * may come from a bigger machine) are left for the start-time check. */
static gboolean
validate_changes_against_host (JsonNode *old_root, JsonNode *new_root, const BerthHostInfo *host,
                               GError **error)
{
  g_auto (GStrv) changed = berth_settings_diff (old_root, new_root);

  for (guint i = 0; changed != NULL && changed[i] != NULL; i++)
    {
      const BerthSettingSpec *spec = berth_settings_lookup_spec (changed[i]);
      JsonNode *node = lookup_node (new_root, changed[i]);

      if (spec != NULL && node != NULL
          && !berth_settings_check_supported (changed[i], node, host, error))
        return FALSE;
      if (spec != NULL && spec->type == BERTH_SETTING_BOOLEAN && node != NULL
          && node_is_boolean (node)
          && !validate_boolean_value (spec, json_node_get_boolean (node), host, error))
        return FALSE;
      if (spec == NULL || spec->type != BERTH_SETTING_INT || node == NULL || !node_is_int (node))
        continue;
      if (!validate_int_value (spec, json_node_get_int (node), host, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
berth_settings_update (BerthSettings *self, JsonNode *partial, GStrv *changed_out, GError **error)
{
  g_autoptr (JsonNode) merged = NULL;
  JsonNode *version;

  g_return_val_if_fail (BERTH_IS_SETTINGS (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (changed_out != NULL)
    *changed_out = NULL;
  if (partial == NULL || !JSON_NODE_HOLDS_OBJECT (partial))
    {
      g_autofree gchar *got = describe_value (partial);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "a settings update must be a JSON object, got %s", got);
      return FALSE;
    }
  if (node_deeper_than (partial, BERTH_SETTINGS_MAX_DEPTH))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "a settings update may not nest more than %d deep", BERTH_SETTINGS_MAX_DEPTH);
      return FALSE;
    }
  version = json_object_get_member (json_node_get_object (partial), "version");
  if (version != NULL
      && (!node_is_int (version) || json_node_get_int (version) != BERTH_SETTINGS_VERSION))
    {
      g_autofree gchar *got = describe_value (version);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_SETTING,
                   "version: an update may only repeat the current version %d, got %s",
                   BERTH_SETTINGS_VERSION, got);
      return FALSE;
    }

  merged = deep_copy (self->root);
  merge_into (json_node_get_object (merged), json_node_get_object (partial), NULL);
  if (!validate_changes_against_host (self->root, merged, &self->host, error)
      || !berth_settings_validate (merged, &no_host_limits, error))
    return FALSE;
  return replace_root (self, merged, FALSE, changed_out, error);
}

gboolean
berth_settings_update_from_json (BerthSettings *self, const gchar *json, GStrv *changed_out,
                                 GError **error)
{
  g_autoptr (JsonNode) partial = NULL;

  g_return_val_if_fail (BERTH_IS_SETTINGS (self), FALSE);
  g_return_val_if_fail (json != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (changed_out != NULL)
    *changed_out = NULL;
  partial = berth_settings_parse_data (json, strlen (json), "the settings update", error);
  if (partial == NULL)
    return FALSE;
  return berth_settings_update (self, partial, changed_out, error);
}

gboolean
berth_settings_import_rancher_desktop (BerthSettings *self, JsonNode *rancher_desktop,
                                       BerthSettingsImport **import_out, GStrv *changed_out,
                                       GError **error)
{
  g_autoptr (BerthSettingsImport) import = NULL;
  g_autoptr (JsonNode) partial = NULL;

  g_return_val_if_fail (BERTH_IS_SETTINGS (self), FALSE);
  g_return_val_if_fail (rancher_desktop != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (import_out != NULL)
    *import_out = NULL;
  if (changed_out != NULL)
    *changed_out = NULL;
  /* A change made now: the values must fit this host. */
  import = berth_settings_import_new (rancher_desktop, &self->host, error);
  if (import == NULL)
    return FALSE;
  partial = deep_copy (berth_settings_import_get_settings (import));
  if (!berth_settings_update (self, partial, changed_out, error))
    return FALSE;
  if (import_out != NULL)
    *import_out = g_steal_pointer (&import);
  return TRUE;
}

gboolean
berth_settings_reset (BerthSettings *self, GError **error)
{
  g_autoptr (JsonNode) defaults = NULL;

  g_return_val_if_fail (BERTH_IS_SETTINGS (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  defaults = berth_settings_new_defaults (&self->host);
  /* Written even when nothing changed: a reset is also a repair. */
  return replace_root (self, defaults, TRUE, NULL, error);
}

/* The leaf at @path, checked against the schema; NULL (after a critical)
 * for a path that is not a setting of @type. */
static JsonNode *
get_leaf (BerthSettings *self, const gchar *path, BerthSettingType type)
{
  const BerthSettingSpec *spec;
  JsonNode *node;

  g_return_val_if_fail (BERTH_IS_SETTINGS (self), NULL);
  g_return_val_if_fail (path != NULL, NULL);
  spec = berth_settings_lookup_spec (path);
  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (spec->type == type
                            || (type == BERTH_SETTING_STRING && spec->type == BERTH_SETTING_ENUM),
                        NULL);
  node = lookup_node (self->root, path);
  g_return_val_if_fail (node != NULL, NULL);
  return node;
}

gboolean
berth_settings_get_boolean (BerthSettings *self, const gchar *path)
{
  JsonNode *node = get_leaf (self, path, BERTH_SETTING_BOOLEAN);
  return node != NULL && json_node_get_boolean (node);
}

gint64
berth_settings_get_int (BerthSettings *self, const gchar *path)
{
  JsonNode *node = get_leaf (self, path, BERTH_SETTING_INT);
  return node != NULL ? json_node_get_int (node) : 0;
}

const gchar *
berth_settings_get_string (BerthSettings *self, const gchar *path)
{
  JsonNode *node = get_leaf (self, path, BERTH_SETTING_STRING);
  return node != NULL ? json_node_get_string (node) : NULL;
}

JsonNode *
berth_settings_get_node (BerthSettings *self, const gchar *path)
{
  g_return_val_if_fail (BERTH_IS_SETTINGS (self), NULL);
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (berth_settings_lookup_spec (path) != NULL || is_group_path (path), NULL);
  return lookup_node (self->root, path);
}
