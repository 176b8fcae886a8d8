/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "berth-error.h"
#include "berth-json.h"

#include "berth-updater-release.h"

/* Deeper than either document goes; a deeper one is not theirs. */
#define MAX_DEPTH 16
/* Characters of a refused value repeated in a message. */
#define MAX_QUOTED 64

/* ---- versions ------------------------------------------------------------ */

static gchar *
quote (const gchar *text, gssize length)
{
  g_autofree gchar *valid = g_utf8_make_valid (text, length);
  g_autofree gchar *cut = NULL;

  if (g_utf8_strlen (valid, -1) <= MAX_QUOTED)
    return g_strdup_printf ("\"%s\"", valid);
  cut = g_utf8_substring (valid, 0, MAX_QUOTED);
  return g_strdup_printf ("\"%s…\"", cut);
}

static gboolean
parse_number (const gchar **p, guint64 *out)
{
  const gchar *s = *p;
  guint64 value = 0;

  if (!g_ascii_isdigit (*s))
    return FALSE;
  /* Semantic Versioning forbids leading zeros. */
  if (s[0] == '0' && g_ascii_isdigit (s[1]))
    return FALSE;
  for (; g_ascii_isdigit (*s); s++)
    {
      if (value > (G_MAXUINT64 - 9) / 10)
        return FALSE;
      value = value * 10 + (guint64)(*s - '0');
    }
  *out = value;
  *p = s;
  return TRUE;
}

/* Dot-separated non-empty identifiers of [0-9A-Za-z-]. */
static gboolean
identifiers_valid (const gchar *s, gsize length)
{
  gsize run = 0;

  for (gsize i = 0; i < length; i++)
    {
      if (s[i] == '.')
        {
          if (run == 0)
            return FALSE;
          run = 0;
          continue;
        }
      if (!g_ascii_isalnum (s[i]) && s[i] != '-')
        return FALSE;
      run++;
    }
  return run > 0;
}

/* Fills @version from @text when it is one; @version is left cleared
 * otherwise. */
static gboolean
version_scan (const gchar *text, BerthUpdaterVersion *version)
{
  const gchar *p = text;
  const gchar *pre = NULL;
  gsize pre_length = 0;
  guint64 parts[3];

  if (*p == 'v')
    p++;
  for (gsize i = 0; i < 3; i++)
    {
      if (i > 0 && *p++ != '.')
        return FALSE;
      if (!parse_number (&p, &parts[i]))
        return FALSE;
    }
  if (*p == '-')
    {
      pre = ++p;
      while (*p != '\0' && *p != '+')
        p++;
      pre_length = (gsize)(p - pre);
      if (!identifiers_valid (pre, pre_length))
        return FALSE;
    }
  if (*p == '+')
    {
      p++;
      if (!identifiers_valid (p, strlen (p)))
        return FALSE;
      p += strlen (p);
    }
  if (*p != '\0')
    return FALSE;

  version->major = parts[0];
  version->minor = parts[1];
  version->patch = parts[2];
  version->prerelease = pre != NULL ? g_strndup (pre, pre_length) : NULL;
  return TRUE;
}

gboolean
berth_updater_version_parse (const gchar *text, BerthUpdaterVersion *version, GError **error)
{
  g_autofree gchar *quoted = NULL;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (version != NULL, FALSE);

  memset (version, 0, sizeof (*version));
  if (version_scan (text, version))
    return TRUE;
  quoted = quote (text, -1);
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
               "%s is not a version; expected MAJOR.MINOR.PATCH such as 1.2.3, with an "
               "optional leading v and -pre-release",
               quoted);
  return FALSE;
}

void
berth_updater_version_clear (BerthUpdaterVersion *version)
{
  g_clear_pointer (&version->prerelease, g_free);
}

static gboolean
all_digits (const gchar *s, gsize length)
{
  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isdigit (s[i]))
      return FALSE;
  return length > 0;
}

/* Semantic Versioning's precedence of two pre-releases. */
static gint
compare_prerelease (const gchar *a, const gchar *b)
{
  while (TRUE)
    {
      gsize la = strcspn (a, ".");
      gsize lb = strcspn (b, ".");
      gboolean na = all_digits (a, la);
      gboolean nb = all_digits (b, lb);
      gint c;

      if (na && nb)
        c = la != lb ? (la < lb ? -1 : 1) : strncmp (a, b, la);
      else if (na != nb)
        c = na ? -1 : 1;
      else
        {
          c = strncmp (a, b, MIN (la, lb));
          if (c == 0 && la != lb)
            c = la < lb ? -1 : 1;
        }
      if (c != 0)
        return c < 0 ? -1 : 1;
      a += la;
      b += lb;
      if (*a == '\0' || *b == '\0')
        return *a == *b ? 0 : (*a == '\0' ? -1 : 1);
      a++;
      b++;
    }
}

gint
berth_updater_version_compare (const BerthUpdaterVersion *a, const BerthUpdaterVersion *b)
{
  if (a->major != b->major)
    return a->major < b->major ? -1 : 1;
  if (a->minor != b->minor)
    return a->minor < b->minor ? -1 : 1;
  if (a->patch != b->patch)
    return a->patch < b->patch ? -1 : 1;
  /* A pre-release comes before its release. */
  if (a->prerelease == NULL || b->prerelease == NULL)
    return a->prerelease == b->prerelease ? 0 : (a->prerelease == NULL ? 1 : -1);
  return compare_prerelease (a->prerelease, b->prerelease);
}

gchar *
berth_updater_version_to_string (const BerthUpdaterVersion *version)
{
  return g_strdup_printf ("%" G_GUINT64_FORMAT ".%" G_GUINT64_FORMAT ".%" G_GUINT64_FORMAT "%s%s",
                          version->major, version->minor, version->patch,
                          version->prerelease != NULL ? "-" : "",
                          version->prerelease != NULL ? version->prerelease : "");
}

/* ---- JSON members -------------------------------------------------------- */

static const gchar *
node_kind (JsonNode *node)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    return "an object";
  if (JSON_NODE_HOLDS_ARRAY (node))
    return "an array";
  if (JSON_NODE_HOLDS_NULL (node))
    return "null";
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING:
      return "a string";
    case G_TYPE_BOOLEAN:
      return "a boolean";
    default:
      return "a number";
    }
}

static gboolean
holds (JsonNode *node, GType type)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

static gboolean
type_error (GError **error, const gchar *what, const gchar *path, const gchar *expected,
            JsonNode *node)
{
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA, "%s: %s is %s; expected %s", what,
               path, node_kind (node), expected);
  return FALSE;
}

/* A string member, NULL when absent (or null, when @nullable); FALSE with an
 * error when it is something else, or required and missing. */
static gboolean
get_string (JsonObject *object, const gchar *member, const gchar *what, const gchar *path,
            gboolean required, const gchar **out, GError **error)
{
  JsonNode *node = json_object_get_member (object, member);

  *out = NULL;
  if (node == NULL || (!required && JSON_NODE_HOLDS_NULL (node)))
    {
      if (!required)
        return TRUE;
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA, "%s: %s is missing", what, path);
      return FALSE;
    }
  if (!holds (node, G_TYPE_STRING))
    return type_error (error, what, path, "a string", node);
  *out = json_node_get_string (node);
  return TRUE;
}

static gboolean
get_boolean (JsonObject *object, const gchar *member, const gchar *what, const gchar *path,
             gboolean fallback, gboolean *out, GError **error)
{
  JsonNode *node = json_object_get_member (object, member);

  *out = fallback;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!holds (node, G_TYPE_BOOLEAN))
    return type_error (error, what, path, "true or false", node);
  *out = json_node_get_boolean (node);
  return TRUE;
}

/* A non-negative integer member, -1 when absent. */
static gboolean
get_count (JsonObject *object, const gchar *member, const gchar *what, const gchar *path,
           gint64 *out, GError **error)
{
  JsonNode *node = json_object_get_member (object, member);

  *out = -1;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!holds (node, G_TYPE_INT64) || json_node_get_int (node) < 0)
    return type_error (error, what, path, "a whole number of at least 0", node);
  *out = json_node_get_int (node);
  return TRUE;
}

static JsonNode *
parse_document (const gchar *data, gsize length, gsize max_length, const gchar *what,
                GError **error)
{
  g_autoptr (JsonNode) root = NULL;

  if (length > max_length)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s is %" G_GSIZE_FORMAT " bytes, more than the %" G_GSIZE_FORMAT " allowed",
                   what, length, max_length);
      return NULL;
    }
  root = berth_json_parse (data, length, MAX_DEPTH, what, error);
  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA, "%s is %s; expected a JSON object",
                   what, node_kind (root));
      return NULL;
    }
  return g_steal_pointer (&root);
}

/* ---- the upgrade responder ----------------------------------------------- */

gchar *
berth_updater_responder_request (const gchar *app_version, const gchar *platform,
                                 const gchar *platform_version)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  g_return_val_if_fail (app_version != NULL, NULL);
  g_return_val_if_fail (platform != NULL, NULL);
  g_return_val_if_fail (platform_version != NULL, NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "appVersion");
  json_builder_add_string_value (builder, app_version);
  json_builder_set_member_name (builder, "extraInfo");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "platform");
  json_builder_add_string_value (builder, platform);
  json_builder_set_member_name (builder, "platformVersion");
  json_builder_add_string_value (builder, platform_version);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  return berth_json_to_string (root, FALSE);
}

void
berth_updater_responder_answer_free (BerthUpdaterResponderAnswer *answer)
{
  if (answer == NULL)
    return;
  g_free (answer->latest);
  g_free (answer->latest_date);
  g_free (answer);
}

/* Takes one entry of "versions" into @best (the newest supported) and
 * @newest (the newest of all). */
static gboolean
take_responder_version (BerthUpdaterResponderAnswer *answer, JsonNode *element, guint index,
                        BerthUpdaterVersion *best, BerthUpdaterVersion *newest, GError **error)
{
  static const gchar what[] = "the upgrade responder's answer";
  g_autofree gchar *path = g_strdup_printf ("versions[%u]", index);
  g_autofree gchar *name_path = g_strconcat (path, ".Name", NULL);
  g_autofree gchar *date_path = g_strconcat (path, ".ReleaseDate", NULL);
  g_autofree gchar *supported_path = g_strconcat (path, ".Supported", NULL);
  g_autofree gchar *tags_path = g_strconcat (path, ".Tags", NULL);
  g_autoptr (GError) version_error = NULL;
  g_auto (BerthUpdaterVersion) version = { 0 };
  JsonObject *entry;
  JsonNode *tags;
  const gchar *name;
  const gchar *date;
  gboolean supported;

  if (!JSON_NODE_HOLDS_OBJECT (element))
    return type_error (error, what, path, "an object", element);
  entry = json_node_get_object (element);
  if (!get_string (entry, "Name", what, name_path, TRUE, &name, error)
      || !get_string (entry, "ReleaseDate", what, date_path, FALSE, &date, error)
      || !get_boolean (entry, "Supported", what, supported_path, TRUE, &supported, error))
    return FALSE;
  tags = json_object_get_member (entry, "Tags");
  if (tags != NULL && !JSON_NODE_HOLDS_NULL (tags) && !JSON_NODE_HOLDS_ARRAY (tags))
    return type_error (error, what, tags_path, "an array of strings", tags);
  if (!berth_updater_version_parse (name, &version, &version_error))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA, "%s: %s: %s", what, name_path,
                   version_error->message);
      return FALSE;
    }

  if (answer->n_versions == 0 || berth_updater_version_compare (&version, newest) > 0)
    {
      berth_updater_version_clear (newest);
      *newest = version;
      newest->prerelease = g_strdup (version.prerelease);
    }
  answer->n_versions++;
  if (supported && (answer->latest == NULL || berth_updater_version_compare (&version, best) > 0))
    {
      berth_updater_version_clear (best);
      *best = version;
      version.prerelease = NULL;
      g_free (answer->latest);
      answer->latest = g_strdup (name);
      g_free (answer->latest_date);
      answer->latest_date = g_strdup (date);
    }
  return TRUE;
}

BerthUpdaterResponderAnswer *
berth_updater_responder_parse (const gchar *data, gsize length, GError **error)
{
  static const gchar what[] = "the upgrade responder's answer";
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (BerthUpdaterResponderAnswer) answer = NULL;
  g_auto (BerthUpdaterVersion) best = { 0 };
  g_auto (BerthUpdaterVersion) newest = { 0 };
  JsonObject *object;
  JsonNode *versions;
  JsonArray *array;
  gint64 interval;

  g_return_val_if_fail (data != NULL || length == 0, NULL);

  root = parse_document (data != NULL ? data : "", length, BERTH_UPDATER_MAX_RESPONDER_BYTES, what,
                         error);
  if (root == NULL)
    return NULL;
  object = json_node_get_object (root);
  answer = g_new0 (BerthUpdaterResponderAnswer, 1);

  if (!get_count (object, "requestIntervalInMinutes", what, "requestIntervalInMinutes", &interval,
                  error))
    return NULL;
  answer->request_interval_minutes = MAX (interval, 0);

  versions = json_object_get_member (object, "versions");
  if (versions == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s has no \"versions\"; expected {\"versions\": [{\"Name\": …}, …]}", what);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_ARRAY (versions))
    {
      type_error (error, what, "versions", "an array", versions);
      return NULL;
    }
  array = json_node_get_array (versions);
  for (guint i = 0; i < json_array_get_length (array); i++)
    if (!take_responder_version (answer, json_array_get_element (array, i), i, &best, &newest,
                                 error))
      return NULL;

  if (answer->latest == NULL)
    {
      g_set_error (
          error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
          answer->n_versions == 0 ? "%s lists no versions" : "%s lists no supported version", what);
      return NULL;
    }
  answer->newer_unsupported = berth_updater_version_compare (&newest, &best) > 0;
  return g_steal_pointer (&answer);
}

/* ---- GitHub releases ----------------------------------------------------- */

static void
asset_free (gpointer data)
{
  BerthUpdaterAsset *asset = data;

  g_free (asset->name);
  g_free (asset->url);
  g_free (asset);
}

void
berth_updater_release_free (BerthUpdaterRelease *release)
{
  if (release == NULL)
    return;
  g_free (release->tag);
  g_free (release->version);
  g_free (release->name);
  g_free (release->notes);
  g_free (release->published_at);
  g_clear_pointer (&release->assets, g_ptr_array_unref);
  g_free (release);
}

/* Only https: what the archive and its digest come from must be the server
 * it claims to be. */
static gboolean
check_https_url (const gchar *url, const gchar *what, const gchar *path, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);

  if (uri != NULL && g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") == 0
      && g_uri_get_host (uri) != NULL && g_uri_get_host (uri)[0] != '\0')
    return TRUE;
  {
    g_autofree gchar *quoted = quote (url, -1);

    g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                 "%s: %s %s is not an https:// URL; only https downloads are used", what, path,
                 quoted);
  }
  return FALSE;
}

BerthUpdaterRelease *
berth_updater_release_parse (const gchar *data, gsize length, GError **error)
{
  static const gchar what[] = "the GitHub release";
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (BerthUpdaterRelease) release = NULL;
  g_autoptr (GError) version_error = NULL;
  BerthUpdaterVersion version;
  JsonObject *object;
  JsonNode *assets;
  JsonArray *array;
  const gchar *tag;
  const gchar *name;
  const gchar *body;
  const gchar *published;

  g_return_val_if_fail (data != NULL || length == 0, NULL);

  root = parse_document (data != NULL ? data : "", length, BERTH_UPDATER_MAX_RELEASE_BYTES, what,
                         error);
  if (root == NULL)
    return NULL;
  object = json_node_get_object (root);
  release = g_new0 (BerthUpdaterRelease, 1);
  release->assets = g_ptr_array_new_with_free_func (asset_free);

  if (!get_string (object, "tag_name", what, "tag_name", TRUE, &tag, error)
      || !get_string (object, "name", what, "name", FALSE, &name, error)
      || !get_string (object, "body", what, "body", FALSE, &body, error)
      || !get_string (object, "published_at", what, "published_at", FALSE, &published, error)
      || !get_boolean (object, "draft", what, "draft", FALSE, &release->draft, error)
      || !get_boolean (object, "prerelease", what, "prerelease", FALSE, &release->prerelease,
                       error))
    return NULL;
  if (!berth_updater_version_parse (tag, &version, &version_error))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA, "%s: tag_name: %s", what,
                   version_error->message);
      return NULL;
    }
  release->tag = g_strdup (tag);
  release->version = berth_updater_version_to_string (&version);
  berth_updater_version_clear (&version);
  release->name = g_strdup (name != NULL ? name : "");
  release->notes = g_strdup (body != NULL ? body : "");
  release->published_at = g_strdup (published);

  assets = json_object_get_member (object, "assets");
  if (assets == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA, "%s: assets is missing", what);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_ARRAY (assets))
    {
      type_error (error, what, "assets", "an array", assets);
      return NULL;
    }
  array = json_node_get_array (assets);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      g_autofree gchar *path = g_strdup_printf ("assets[%u]", i);
      g_autofree gchar *name_path = g_strdup_printf ("assets[%u].name", i);
      g_autofree gchar *url_path = g_strdup_printf ("assets[%u].browser_download_url", i);
      g_autofree gchar *size_path = g_strdup_printf ("assets[%u].size", i);
      BerthUpdaterAsset *asset;
      JsonObject *entry;
      const gchar *asset_name;
      const gchar *url;
      gint64 size;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        {
          type_error (error, what, path, "an object", element);
          return NULL;
        }
      entry = json_node_get_object (element);
      if (!get_string (entry, "name", what, name_path, TRUE, &asset_name, error)
          || !get_string (entry, "browser_download_url", what, url_path, TRUE, &url, error)
          || !get_count (entry, "size", what, size_path, &size, error)
          || !check_https_url (url, what, url_path, error))
        return NULL;
      asset = g_new0 (BerthUpdaterAsset, 1);
      asset->name = g_strdup (asset_name);
      asset->url = g_strdup (url);
      asset->size = size;
      g_ptr_array_add (release->assets, asset);
    }
  return g_steal_pointer (&release);
}

const BerthUpdaterAsset *
berth_updater_release_find_asset (const BerthUpdaterRelease *release, const gchar *name)
{
  g_return_val_if_fail (release != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  for (guint i = 0; i < release->assets->len; i++)
    {
      const BerthUpdaterAsset *asset = g_ptr_array_index (release->assets, i);

      if (g_str_equal (asset->name, name))
        return asset;
    }
  return NULL;
}

/* ---- checksum files ------------------------------------------------------ */

gchar *
berth_updater_sha512sum_parse (const gchar *data, gsize length, const gchar *asset_name,
                               GError **error)
{
  static const gchar what[] = "the .sha512sum file";
  g_autofree gchar *text = NULL;
  g_auto (GStrv) fields = NULL;
  g_autoptr (GPtrArray) words = g_ptr_array_new ();
  const gchar *hex;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (asset_name != NULL, NULL);

  if (length > BERTH_UPDATER_MAX_CHECKSUM_BYTES)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s for %s is %" G_GSIZE_FORMAT " bytes; a checksum file is a line", what,
                   asset_name, length);
      return NULL;
    }
  if (data != NULL && memchr (data, '\0', length) != NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s for %s holds a NUL byte; expected \"<128 hex digits>  %s\"", what,
                   asset_name, asset_name);
      return NULL;
    }
  text = g_strndup (data != NULL ? data : "", length);
  fields = g_strsplit_set (text, " \t\r\n", -1);
  for (gsize i = 0; fields[i] != NULL; i++)
    if (fields[i][0] != '\0')
      g_ptr_array_add (words, fields[i]);

  hex = words->len > 0 ? g_ptr_array_index (words, 0) : "";
  if (strlen (hex) != 128 || strspn (hex, "0123456789abcdefABCDEF") != 128)
    {
      g_autofree gchar *quoted = quote (hex, -1);

      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                   "%s for %s starts with %s, not a SHA-512 digest (128 hexadecimal digits)", what,
                   asset_name, quoted);
      return NULL;
    }
  if (words->len > 1)
    {
      const gchar *named = g_ptr_array_index (words, 1);

      if (named[0] == '*')
        named++;
      if (words->len > 2 || !g_str_equal (named, asset_name))
        {
          g_autofree gchar *quoted = quote (g_ptr_array_index (words, 1), -1);

          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA,
                       "%s for %s names %s%s; expected one line \"<digest>  %s\"", what, asset_name,
                       quoted, words->len > 2 ? " and more" : "", asset_name);
          return NULL;
        }
    }
  return g_ascii_strdown (hex, -1);
}

/* ---- names --------------------------------------------------------------- */

gchar *
berth_updater_asset_name (const gchar *version, const gchar *arch)
{
  g_return_val_if_fail (version != NULL, NULL);
  g_return_val_if_fail (arch != NULL, NULL);

  return g_strdup_printf ("berth-%s-linux-%s.tar.gz", version, arch);
}

gchar *
berth_updater_platform (const gchar *arch)
{
  const gchar *node_arch = arch;

  g_return_val_if_fail (arch != NULL, NULL);

  if (g_str_equal (arch, "x86_64"))
    node_arch = "x64";
  else if (g_str_equal (arch, "aarch64"))
    node_arch = "arm64";
  else if (g_str_equal (arch, "i686") || g_str_equal (arch, "i386"))
    node_arch = "ia32";
  return g_strdup_printf ("linux-%s", node_arch);
}
