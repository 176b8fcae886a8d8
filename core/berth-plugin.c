/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-plugin.h"

#include "berth-backend.h"
#include "berth-error.h"
#include "berth-image-processor.h"
#include "berth-integration.h"
#include "berth-kubernetes-provider.h"
#include "berth-private.h"
#include "berth-updater.h"

typedef struct
{
  gchar *name;
  gchar *file;
  BerthSettings *settings;
  BerthPaths *paths; /* NULL until asked for when none was given */
} BerthPluginPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (BerthPlugin, berth_plugin, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_NAME,
  PROP_FILE,
  PROP_SETTINGS,
  PROP_PATHS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static gboolean
berth_plugin_real_setup (BerthPlugin *self, GCancellable *cancellable, GError **error)
{
  return TRUE;
}

static void
berth_plugin_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  BerthPlugin *self = BERTH_PLUGIN (object);
  BerthPluginPrivate *priv = berth_plugin_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, priv->name);
      break;
    case PROP_FILE:
      g_value_set_string (value, priv->file);
      break;
    case PROP_SETTINGS:
      g_value_set_object (value, priv->settings);
      break;
    case PROP_PATHS:
      g_value_set_boxed (value, berth_plugin_get_paths (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
berth_plugin_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  BerthPlugin *self = BERTH_PLUGIN (object);
  BerthPluginPrivate *priv = berth_plugin_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_NAME:
      g_free (priv->name);
      priv->name = g_value_dup_string (value);
      break;
    case PROP_FILE:
      g_free (priv->file);
      priv->file = g_value_dup_string (value);
      break;
    case PROP_SETTINGS:
      g_set_object (&priv->settings, g_value_get_object (value));
      break;
    case PROP_PATHS:
      g_clear_pointer (&priv->paths, berth_paths_free);
      priv->paths = g_value_dup_boxed (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
berth_plugin_finalize (GObject *object)
{
  BerthPlugin *self = BERTH_PLUGIN (object);
  BerthPluginPrivate *priv = berth_plugin_get_instance_private (self);

  g_free (priv->name);
  g_free (priv->file);
  g_clear_object (&priv->settings);
  g_clear_pointer (&priv->paths, berth_paths_free);

  G_OBJECT_CLASS (berth_plugin_parent_class)->finalize (object);
}

static void
berth_plugin_class_init (BerthPluginClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = berth_plugin_get_property;
  object_class->set_property = berth_plugin_set_property;
  object_class->finalize = berth_plugin_finalize;
  klass->setup = berth_plugin_real_setup;

  /* The module's file name without "berth-" and ".so", e.g. "lima". */
  properties[PROP_NAME]
      = g_param_spec_string ("name", "Name", "The plugin's short name", NULL,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_FILE]
      = g_param_spec_string ("file", "File", "The module the plugin was loaded from", NULL,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SETTINGS]
      = g_param_spec_object ("settings", "Settings", "Berth's settings", BERTH_TYPE_SETTINGS,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PATHS]
      = g_param_spec_boxed ("paths", "Paths", "Where Berth keeps things", BERTH_TYPE_PATHS,
                            G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
berth_plugin_init (BerthPlugin *self)
{
}

const gchar *
berth_plugin_get_name (BerthPlugin *self)
{
  BerthPluginPrivate *priv;

  g_return_val_if_fail (BERTH_IS_PLUGIN (self), NULL);
  priv = berth_plugin_get_instance_private (self);
  return priv->name;
}

const gchar *
berth_plugin_get_file (BerthPlugin *self)
{
  BerthPluginPrivate *priv;

  g_return_val_if_fail (BERTH_IS_PLUGIN (self), NULL);
  priv = berth_plugin_get_instance_private (self);
  return priv->file;
}

BerthSettings *
berth_plugin_get_settings (BerthPlugin *self)
{
  BerthPluginPrivate *priv;

  g_return_val_if_fail (BERTH_IS_PLUGIN (self), NULL);
  priv = berth_plugin_get_instance_private (self);
  return priv->settings;
}

const BerthPaths *
berth_plugin_get_paths (BerthPlugin *self)
{
  BerthPluginPrivate *priv;

  g_return_val_if_fail (BERTH_IS_PLUGIN (self), NULL);
  priv = berth_plugin_get_instance_private (self);
  /* Tests and tools may construct a plugin without paths: use this process's. */
  if (priv->paths == NULL)
    priv->paths = berth_paths_new ();
  return priv->paths;
}

gboolean
berth_plugin_setup (BerthPlugin *self, GCancellable *cancellable, GError **error)
{
  BerthPluginClass *klass;

  g_return_val_if_fail (BERTH_IS_PLUGIN (self), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  klass = BERTH_PLUGIN_GET_CLASS (self);
  if (klass->setup == NULL)
    return TRUE;
  return klass->setup (self, cancellable, error);
}

GStrv
berth_plugin_dup_interface_names (BerthPlugin *self)
{
  /* In this order, whatever order the plugin added them in. */
  const struct
  {
    GType (*get_type) (void);
    const gchar *name;
  } known[] = {
    { berth_backend_get_type, "Backend" },
    { berth_kubernetes_provider_get_type, "KubernetesProvider" },
    { berth_image_processor_get_type, "ImageProcessor" },
    { berth_integration_get_type, "Integration" },
    { berth_updater_get_type, "Updater" },
  };
  g_autoptr (GStrvBuilder) builder = NULL;
  g_autofree GType *ifaces = NULL;
  guint n_ifaces = 0;

  g_return_val_if_fail (BERTH_IS_PLUGIN (self), NULL);

  builder = g_strv_builder_new ();
  ifaces = g_type_interfaces (G_OBJECT_TYPE (self), &n_ifaces);
  for (gsize k = 0; k < G_N_ELEMENTS (known); k++)
    {
      GType want = known[k].get_type ();

      for (guint i = 0; i < n_ifaces; i++)
        {
          if (g_type_is_a (ifaces[i], want))
            {
              g_strv_builder_add (builder, known[k].name);
              break;
            }
        }
    }
  return g_strv_builder_end (builder);
}

/* Helpers declared in berth-private.h, shared by the interfaces' wrappers. */

static const gchar *
berth_describe_source (gpointer source_object)
{
  if (BERTH_IS_PLUGIN (source_object) && berth_plugin_get_name (source_object) != NULL)
    return berth_plugin_get_name (source_object);
  return G_OBJECT_TYPE_NAME (source_object);
}

void
berth_task_report_not_supported (gpointer source_object, gpointer source_tag,
                                 const gchar *operation, GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  g_task_report_new_error (source_object, callback, user_data, source_tag, BERTH_ERROR,
                           BERTH_ERROR_NOT_SUPPORTED, "%s does not support %s",
                           berth_describe_source (source_object), operation);
}

void
berth_set_not_supported (gpointer source_object, const gchar *operation, GError **error)
{
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED, "%s does not support %s",
               berth_describe_source (source_object), operation);
}

gboolean
berth_task_finish_boolean (gpointer source_object, GAsyncResult *result, GError **error)
{
  gboolean ok;

  g_return_val_if_fail (g_task_is_valid (result, source_object), FALSE);
  ok = g_task_propagate_boolean (G_TASK (result), error);
  berth_error_convert (error);
  return ok;
}

gpointer
berth_task_finish_pointer (gpointer source_object, GAsyncResult *result, GError **error)
{
  gpointer value;

  g_return_val_if_fail (g_task_is_valid (result, source_object), NULL);
  value = g_task_propagate_pointer (G_TASK (result), error);
  berth_error_convert (error);
  return value;
}

gboolean
berth_error_convert_boolean (gboolean ok, GError **error)
{
  berth_error_convert (error);
  return ok;
}

gpointer
berth_error_convert_pointer (gpointer result, GError **error)
{
  berth_error_convert (error);
  return result;
}
