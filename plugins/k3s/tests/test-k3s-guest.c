/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the k3s plugin puts into the guest and reads back from the API:
 * k3s' configuration for each engine and option, the scripts (as the
 * guest's sh reads them), the services of a recorded ServiceList and watch
 * stream, and the severity of a kubernetes.version change. */
#include "config.h"

#include <berth.h>

#include "berth-k3s-guest.h"
#include "berth-k3s-services.h"
#include "berth-kubernetes-private.h"

static void
test_config_yaml (void)
{
  g_autofree gchar *moby = berth_k3s_guest_config_yaml (6443, TRUE, TRUE, "moby");
  g_autofree gchar *containerd = berth_k3s_guest_config_yaml (7443, FALSE, FALSE, "containerd");

  g_assert_nonnull (strstr (moby, "https-listen-port: 6443\n"));
  g_assert_nonnull (strstr (moby, "docker: true\n"));
  g_assert_null (strstr (moby, "traefik"));
  g_assert_null (strstr (moby, "flannel"));
  g_assert_null (strstr (moby, "container-runtime-endpoint"));

  g_assert_nonnull (strstr (containerd, "https-listen-port: 7443\n"));
  g_assert_nonnull (strstr (containerd, "disable:\n  - traefik\n"));
  g_assert_nonnull (strstr (containerd, "flannel-backend: none\n"));
  g_assert_nonnull (
      strstr (containerd, "container-runtime-endpoint: unix:///run/containerd/containerd.sock\n"));
  g_assert_null (strstr (containerd, "docker: true"));
}

/* Each script as the guest's sh parses it (sh -n): a quoting slip would
 * otherwise show only in a VM. */
static void
test_scripts_parse (void)
{
  const gchar *scripts[] = {
    berth_k3s_guest_run_script (),          berth_k3s_guest_install_script (),
    berth_k3s_guest_start_script (),        berth_k3s_guest_stop_script (),
    berth_k3s_guest_delete_state_script (),
  };

  for (gsize i = 0; i < G_N_ELEMENTS (scripts); i++)
    {
      const gchar *argv[] = { "sh", "-n", "-c", scripts[i], NULL };
      g_autoptr (GError) error = NULL;
      g_autofree gchar *err = NULL;
      gint status = 0;

      g_assert_true (g_spawn_sync (NULL, (gchar **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                                   NULL, &err, &status, &error));
      g_assert_no_error (error);
      if (!g_spawn_check_wait_status (status, NULL))
        g_error ("script %" G_GSIZE_FORMAT " does not parse: %s\n%s", i, err, scripts[i]);
    }
  g_assert_nonnull (strstr (berth_k3s_guest_systemd_unit (), "Restart=always\n"));
}

static gchar *
read_fixture (const gchar *name, gsize *length)
{
  g_autofree gchar *path = g_test_build_filename (G_TEST_DIST, "services", name, NULL);
  gchar *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, length, NULL));
  return text;
}

static void
test_service_list (void)
{
  gsize length = 0;
  g_autofree gchar *text = read_fixture ("service-list.json", &length);
  g_autofree gchar *version = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) services = berth_k3s_service_list_parse (text, length, &version, &error);
  JsonObject *traefik;
  JsonArray *ports;

  g_assert_no_error (error);
  g_assert_cmpstr (version, ==, "612");
  g_assert_cmpuint (services->len, ==, 3);
  traefik = g_ptr_array_index (services, 2);
  g_assert_cmpstr (json_object_get_string_member (traefik, "namespace"), ==, "kube-system");
  g_assert_cmpstr (json_object_get_string_member (traefik, "name"), ==, "traefik");
  g_assert_cmpstr (json_object_get_string_member (traefik, "type"), ==, "LoadBalancer");
  ports = json_object_get_array_member (traefik, "ports");
  g_assert_cmpuint (json_array_get_length (ports), ==, 2);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (ports, 0), "port"),
                   ==, 80);
  g_assert_cmpint (
      json_object_get_int_member (json_array_get_object_element (ports, 0), "nodePort"), ==, 31080);

  /* Not a ServiceList: refused by name. */
  g_clear_pointer (&version, g_free);
  g_assert_null (berth_k3s_service_list_parse ("{\"kind\":\"PodList\"}", 18, &version, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "ServiceList"));
}

static void
test_watch_events (void)
{
  gsize length = 0;
  g_autofree gchar *text = read_fixture ("watch.jsonl", &length);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  const gchar *types[] = { "ADDED", "MODIFIED", "BOOKMARK", "DELETED" };
  const gchar *versions[] = { "700", "701", "702", "703" };

  for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
    {
      g_autofree gchar *type = NULL;
      g_autofree gchar *version = NULL;
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonObject) service
          = berth_k3s_service_event_parse (lines[i], strlen (lines[i]), &type, &version, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (type, ==, types[i]);
      g_assert_cmpstr (version, ==, versions[i]);
      if (g_str_equal (type, "BOOKMARK"))
        g_assert_null (service);
      else
        g_assert_cmpstr (json_object_get_string_member (service, "name"), ==, "web");
    }
}

static void
test_version_severity (void)
{
  g_assert_cmpstr (berth_kubernetes_version_change_severity ("v1.30.2+k3s1", "v1.29.6+k3s2"), ==,
                   "reset");
  g_assert_cmpstr (berth_kubernetes_version_change_severity ("v1.30.2+k3s2", "v1.30.2+k3s1"), ==,
                   "reset");
  g_assert_cmpstr (berth_kubernetes_version_change_severity ("v1.29.6+k3s2", "v1.30.2+k3s1"), ==,
                   "restart");
  /* "1.30.2" is the newest build of 1.30.2, not a downgrade from one. */
  g_assert_cmpstr (berth_kubernetes_version_change_severity ("v1.30.2+k3s2", "1.30.2"), ==,
                   "restart");
  g_assert_cmpstr (berth_kubernetes_version_change_severity ("", "v1.29.6+k3s2"), ==, "restart");
  g_assert_cmpstr (berth_kubernetes_version_change_severity ("v1.30.2+k3s1", "stable"), ==,
                   "restart");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/k3s/guest/config-yaml", test_config_yaml);
  g_test_add_func ("/k3s/guest/scripts-parse", test_scripts_parse);
  g_test_add_func ("/k3s/services/list", test_service_list);
  g_test_add_func ("/k3s/services/watch-events", test_watch_events);
  g_test_add_func ("/k3s/version-severity", test_version_severity);
  return g_test_run ();
}
