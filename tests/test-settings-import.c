/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Rancher Desktop's settings, read into Berth's: which file is whose, what
 * each version carries over, and what is dropped, by name. The fixtures in
 * tests/settings/rd-*.json are files as Rancher Desktop writes them. */
#include "config.h"

#include <string.h>

#include "berth-error.h"
#include "berth-settings-import.h"
#include "berth-settings-private.h"

#include "berth-test-util.h"

#define GIB ((guint64)1 << 30)

static BerthHostInfo
host_for (BerthPlatform platform)
{
  BerthHostInfo host = { 0 };

  host.platform = platform;
  host.total_memory_bytes = 16 * GIB;
  host.n_cpus = 8;
  /* adminAccess is carried over where it can act (test-settings-support.c
   * drops it where it cannot). */
  host.has_pkexec = TRUE;
  return host;
}

static JsonNode *
parse (const gchar *json)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = berth_settings_parse_data (json, strlen (json), "the test's JSON", &error);

  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
}

static void
assert_json_equal (JsonNode *actual, const gchar *expected_json)
{
  g_autoptr (JsonNode) expected = parse (expected_json);

  if (!json_node_equal (actual, expected))
    {
      g_autofree gchar *a = json_to_string (actual, TRUE);
      g_autofree gchar *e = json_to_string (expected, TRUE);
      g_error ("JSON differs:\nactual: %s\nexpected: %s", a, e);
    }
}

static void
assert_dropped (BerthSettingsImport *import, const gchar *const *expected)
{
  const gchar *const *dropped = berth_settings_import_get_dropped (import, NULL);

  if (!g_strv_equal (dropped, expected))
    {
      g_autofree gchar *a = g_strjoinv ("\n  ", (gchar **)dropped);
      g_autofree gchar *e = g_strjoinv ("\n  ", (gchar **)expected);
      g_error ("dropped keys differ:\nactual:\n  %s\nexpected:\n  %s", a, e);
    }
}

static BerthSettingsImport *
import_json (const gchar *json, const BerthHostInfo *host)
{
  g_autoptr (JsonNode) root = parse (json);
  g_autoptr (GError) error = NULL;
  BerthSettingsImport *import = berth_settings_import_new (root, host, &error);

  g_assert_no_error (error);
  g_assert_nonnull (import);
  return import;
}

static BerthSettingsImport *
import_fixture (const gchar *name, gint64 version)
{
  g_autofree gchar *text = berth_test_read_fixture ("settings", name, NULL);
  g_autoptr (JsonNode) root = parse (text);
  g_autoptr (JsonNode) before = berth_settings_deep_copy (root);
  BerthHostInfo host = host_for (BERTH_PLATFORM_LINUX);
  g_autoptr (GError) error = NULL;
  BerthSettingsImport *import;

  g_assert_true (berth_settings_is_rancher_desktop (root));
  import = berth_settings_import_new (root, &host, &error);
  g_assert_no_error (error);
  g_assert_cmpint (berth_settings_import_get_version (import), ==, version);
  /* The input is read, not changed. */
  g_assert_true (json_node_equal (root, before));
  /* Whatever is carried over, Berth's validation takes. */
  g_assert_true (
      berth_settings_validate (berth_settings_import_get_settings (import), &host, &error));
  g_assert_no_error (error);
  return import;
}

/* ------------------------------------------------------------------------ */
/* Whose file                                                               */
/* ------------------------------------------------------------------------ */

static void
test_detect (void)
{
  const struct
  {
    const gchar *json;
    gboolean rancher_desktop;
  } cases[] = {
    /* Berth's own, whole or in part, and Berth's version 4 (grouped). */
    { "{\"version\":5,\"virtualMachine\":{\"memoryInGB\":3,\"accel\":\"tcg\"}}", FALSE },
    { "{\"version\":5,\"kubernetes\":{\"port\":7000}}", FALSE },
    { "{\"version\":5}", FALSE },
    { "{\"version\":4,\"virtualMachine\":{\"memoryInGB\":3},\"kubernetes\":{\"version\":\"1.2.3\"}"
      "}",
      FALSE },
    /* A typo in Berth's file stays Berth's, to be refused by name. */
    { "{\"version\":5,\"virtualMachine\":{\"memoryInGb\":3}}", FALSE },
    /* Rancher Desktop's version 4 has its keys under "kubernetes". */
    { "{\"version\":4,\"kubernetes\":{\"memoryInGB\":4,\"version\":\"1.25.4\"}}", TRUE },
    /* Its version 5 is grouped as Berth's is, with keys Berth lacks. */
    { "{\"version\":5,\"virtualMachine\":{\"memoryInGB\":4,\"hostResolver\":true}}", TRUE },
    { "{\"version\":5,\"diagnostics\":{\"showMuted\":false}}", TRUE },
    /* Versions 1 to 3 are Rancher Desktop's alone; Berth never wrote them. */
    { "{\"version\":3,\"kubernetes\":{\"port\":6443}}", TRUE },
    { "{\"kubernetes\":{\"memoryInGB\":2,\"rancherMode\":false}}", TRUE },
    { "{\"version\":2}", FALSE },
    /* Above Berth's version: Rancher Desktop's when it has that version's
     * keys, a newer Berth's otherwise. */
    { "{\"version\":9,\"application\":{\"extensions\":{\"installed\":{}}}}", TRUE },
    { "{\"version\":9,\"application\":{\"hologram\":{\"enabled\":true}}}", FALSE },
    { "{\"version\":9,\"virtualMachine\":{\"hostResolver\":true,\"accel\":\"kvm\"}}", FALSE },
    /* A key Rancher Desktop had only at other versions. */
    { "{\"version\":9,\"kubernetes\":{\"memoryInGB\":2}}", FALSE },
    { "{\"version\":14,\"virtualMachine\":{\"useRosetta\":false}}", FALSE },
    { "{\"version\":15,\"virtualMachine\":{\"useRosetta\":false}}", TRUE },
    /* Newer than Rancher Desktop's latest: its latest keys decide. */
    { "{\"version\":25,\"application\":{\"theme\":\"dark\"}}", TRUE },
    /* Not settings, or no usable version. */
    { "[1,2]", FALSE },
    { "{\"memory\":4}", FALSE },
    { "{\"version\":0,\"diagnostics\":{\"showMuted\":false}}", FALSE },
    { "{\"version\":\"5\",\"diagnostics\":{\"showMuted\":false}}", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (JsonNode) root = parse (cases[i].json);

      g_test_message ("%s", cases[i].json);
      g_assert_cmpint (berth_settings_is_rancher_desktop (root), ==, cases[i].rancher_desktop);
    }
}

/* ------------------------------------------------------------------------ */
/* Each version's file                                                      */
/* ------------------------------------------------------------------------ */

static void
test_unversioned (void)
{
  g_autoptr (BerthSettingsImport) import = import_fixture ("rd-v1-unversioned.json", 1);

  /* Kubernetes always ran, and containerd was the only engine. */
  assert_json_equal (berth_settings_import_get_settings (import),
                     "{\"version\":5,"
                     "\"kubernetes\":{\"version\":\"v1.19.2\",\"port\":6443,\"enabled\":true},"
                     "\"virtualMachine\":{\"memoryInGB\":2,\"numberCPUs\":4},"
                     "\"containerEngine\":{\"name\":\"containerd\"},"
                     "\"portForwarding\":{\"includeKubernetesServices\":false},"
                     "\"images\":{\"showAll\":true,\"namespace\":\"k8s.io\"},"
                     "\"application\":{\"updater\":{\"enabled\":false}}}");
  /* Berth sends no telemetry: "true" goes, with the reason. */
  assert_dropped (import, (const gchar *const[]){ "kubernetes.rancherMode", "telemetry", NULL });
  g_assert_cmpuint (json_object_get_size (berth_settings_import_get_refused (import)), ==, 1);
}

static void
test_v3 (void)
{
  g_autoptr (BerthSettingsImport) import = import_fixture ("rd-v3.json", 3);

  assert_json_equal (berth_settings_import_get_settings (import),
                     "{\"version\":5,"
                     "\"kubernetes\":{\"version\":\"v1.23.6\",\"port\":6444,\"enabled\":true},"
                     "\"virtualMachine\":{\"memoryInGB\":3,\"numberCPUs\":3},"
                     "\"containerEngine\":{\"name\":\"containerd\"},"
                     "\"portForwarding\":{\"includeKubernetesServices\":true},"
                     "\"images\":{\"showAll\":false,\"namespace\":\"default\"},"
                     "\"application\":{\"adminAccess\":true,\"telemetry\":{\"enabled\":false},"
                     "\"updater\":{\"enabled\":true},\"debug\":true,"
                     "\"pathManagementStrategy\":\"manual\"}}");
  assert_dropped (import, (const gchar *const[]){ NULL });
}

static void
test_v4 (void)
{
  g_autoptr (BerthSettingsImport) import = import_fixture ("rd-v4.json", 4);

  /* suppressSudo true: no administrator rights. The image allow-list of
   * version 4 would be Berth's allowedImages, which this build refuses. */
  assert_json_equal (
      berth_settings_import_get_settings (import),
      "{\"version\":5,"
      "\"application\":{\"adminAccess\":false,\"telemetry\":{\"enabled\":false},"
      "\"updater\":{\"enabled\":false},\"debug\":true,\"pathManagementStrategy\":\"rcfiles\"},"
      "\"containerEngine\":{\"name\":\"moby\"},"
      "\"virtualMachine\":{\"memoryInGB\":6,\"numberCPUs\":4},"
      "\"kubernetes\":{\"enabled\":true,\"version\":\"v1.25.4\",\"port\":6443,"
      "\"options\":{\"traefik\":false,\"flannel\":true}},"
      "\"portForwarding\":{\"includeKubernetesServices\":true},"
      "\"images\":{\"showAll\":false,\"namespace\":\"k8s.io\"},"
      "\"WSL\":{\"integrations\":{}}}");
  /* Named as they are in the file, though the steps moved some. */
  assert_dropped (
      import, (const gchar *const[]){
                  "containerEngine.imageAllowList.enabled", "containerEngine.imageAllowList.locked",
                  "containerEngine.imageAllowList.patterns", "diagnostics.mutedChecks",
                  "diagnostics.showMuted", "kubernetes.checkForExistingKimBuilder",
                  "kubernetes.experimental.socketVMNet", "kubernetes.hostResolver", NULL });
  g_assert_cmpuint (json_object_get_size (berth_settings_import_get_refused (import)), ==, 2);
}

static void
test_v10 (void)
{
  g_autoptr (BerthSettingsImport) import = import_fixture ("rd-v10.json", 10);
  JsonObject *refused = berth_settings_import_get_refused (import);

  /* From a Mac: virtiofs has no Berth meaning, and is dropped with why. */
  assert_json_equal (
      berth_settings_import_get_settings (import),
      "{\"version\":5,"
      "\"application\":{\"adminAccess\":true,\"autoStart\":true,"
      "\"updater\":{\"enabled\":true},\"debug\":false,"
      "\"pathManagementStrategy\":\"manual\"},"
      "\"containerEngine\":{\"name\":\"containerd\",\"allowedImages\":{\"enabled\":false,"
      "\"patterns\":[]}},"
      "\"virtualMachine\":{\"memoryInGB\":8,\"numberCPUs\":6},"
      "\"kubernetes\":{\"enabled\":false,\"version\":\"v1.27.6\",\"port\":6443,"
      "\"options\":{\"traefik\":true,\"flannel\":true}},"
      "\"portForwarding\":{\"includeKubernetesServices\":false},"
      "\"images\":{\"showAll\":true,\"namespace\":\"default\"},"
      "\"WSL\":{\"integrations\":{}}}");
  assert_dropped (import,
                  (const gchar *const[]){ "application.extensions.allowed.enabled",
                                          "application.extensions.allowed.list",
                                          "application.extensions.installed",
                                          "application.hideNotificationIcon",
                                          "application.startInBackground",
                                          "application.telemetry.enabled",
                                          "application.window.quitOnClose",
                                          "containers.namespace",
                                          "containers.showAll",
                                          "diagnostics.mutedChecks",
                                          "diagnostics.showMuted",
                                          "experimental.virtualMachine.mount.9p.cacheMode",
                                          "experimental.virtualMachine.mount.9p.msizeInKib",
                                          "experimental.virtualMachine.mount.9p.protocolVersion",
                                          "experimental.virtualMachine.mount.9p.securityModel",
                                          "experimental.virtualMachine.mount.type",
                                          "experimental.virtualMachine.networkingTunnel",
                                          "experimental.virtualMachine.proxy.address",
                                          "experimental.virtualMachine.proxy.enabled",
                                          "experimental.virtualMachine.proxy.noproxy",
                                          "experimental.virtualMachine.proxy.password",
                                          "experimental.virtualMachine.proxy.port",
                                          "experimental.virtualMachine.proxy.username",
                                          "experimental.virtualMachine.socketVMNet",
                                          "experimental.virtualMachine.type",
                                          "experimental.virtualMachine.useRosetta",
                                          "kubernetes.ingress.localhostOnly",
                                          "virtualMachine.hostResolver",
                                          NULL });
  g_assert_cmpuint (json_object_get_size (refused), ==, 3);
  g_assert_cmpstr (
      json_object_get_string_member (refused, "experimental.virtualMachine.mount.type"), ==,
      "virtualMachine.mount.type: \"virtiofs\" is not allowed; expected one of 9p, "
      "reverse-sshfs");
}

static void
test_v14 (void)
{
  g_autoptr (BerthSettingsImport) import = import_fixture ("rd-v14.json", 14);

  /* From Windows: the WSL integrations, and the mount type that version 16
   * took out of "experimental". */
  assert_json_equal (
      berth_settings_import_get_settings (import),
      "{\"version\":5,"
      "\"application\":{\"adminAccess\":false,\"autoStart\":false,\"startInBackground\":false,"
      "\"updater\":{\"enabled\":true},\"debug\":false,"
      "\"pathManagementStrategy\":\"manual\"},"
      "\"containerEngine\":{\"name\":\"moby\",\"allowedImages\":{\"enabled\":false,"
      "\"patterns\":[]}},"
      "\"virtualMachine\":{\"memoryInGB\":4,\"numberCPUs\":2,"
      "\"mount\":{\"type\":\"reverse-sshfs\"}},"
      "\"kubernetes\":{\"enabled\":true,\"version\":\"v1.29.4\",\"port\":6443,"
      "\"options\":{\"traefik\":false,\"flannel\":true}},"
      "\"portForwarding\":{\"includeKubernetesServices\":true},"
      "\"images\":{\"showAll\":false,\"namespace\":\"default\"},"
      "\"WSL\":{\"integrations\":{\"Ubuntu-22.04\":true,\"Debian\":false}}}");
  assert_dropped (import,
                  (const gchar *const[]){ "application.extensions.allowed.enabled",
                                          "application.extensions.allowed.list",
                                          "application.extensions.installed",
                                          "application.hideNotificationIcon",
                                          "application.telemetry.enabled",
                                          "application.window.quitOnClose",
                                          "containers.namespace",
                                          "containers.showAll",
                                          "diagnostics.mutedChecks",
                                          "diagnostics.showMuted",
                                          "experimental.containerEngine.webAssembly.enabled",
                                          "experimental.kubernetes.options.spinkube",
                                          "experimental.virtualMachine.mount.9p.cacheMode",
                                          "experimental.virtualMachine.mount.9p.msizeInKib",
                                          "experimental.virtualMachine.mount.9p.protocolVersion",
                                          "experimental.virtualMachine.mount.9p.securityModel",
                                          "experimental.virtualMachine.networkingTunnel",
                                          "experimental.virtualMachine.proxy.address",
                                          "experimental.virtualMachine.proxy.enabled",
                                          "experimental.virtualMachine.proxy.noproxy",
                                          "experimental.virtualMachine.proxy.password",
                                          "experimental.virtualMachine.proxy.port",
                                          "experimental.virtualMachine.proxy.username",
                                          "experimental.virtualMachine.type",
                                          "experimental.virtualMachine.useRosetta",
                                          "kubernetes.ingress.localhostOnly",
                                          NULL });
}

static void
test_v19 (void)
{
  g_autoptr (BerthSettingsImport) import = import_fixture ("rd-v19.json", 19);

  /* Rancher Desktop's latest, as it writes it (one line); the disk size
   * "120GiB" is Berth's diskSizeGiB. */
  assert_json_equal (
      berth_settings_import_get_settings (import),
      "{\"version\":5,"
      "\"application\":{\"adminAccess\":false,\"autoStart\":false,\"startInBackground\":false,"
      "\"telemetry\":{\"enabled\":false},\"updater\":{\"enabled\":false},\"debug\":true,"
      "\"pathManagementStrategy\":\"rcfiles\"},"
      "\"containerEngine\":{\"name\":\"moby\"},"
      "\"virtualMachine\":{\"memoryInGB\":5,\"numberCPUs\":3,\"diskSizeGiB\":120,"
      "\"mount\":{\"type\":\"reverse-sshfs\"}},"
      "\"kubernetes\":{\"enabled\":true,\"version\":\"v1.33.3\",\"port\":6444,"
      "\"options\":{\"traefik\":true,\"flannel\":false}},"
      "\"portForwarding\":{\"includeKubernetesServices\":false},"
      "\"images\":{\"showAll\":true,\"namespace\":\"default\"},"
      "\"WSL\":{\"integrations\":{}}}");
  assert_dropped (import,
                  (const gchar *const[]){ "application.extensions.allowed.enabled",
                                          "application.extensions.allowed.list",
                                          "application.extensions.installed",
                                          "application.hideNotificationIcon",
                                          "application.locale",
                                          "application.theme",
                                          "application.window.quitOnClose",
                                          "containerEngine.allowedImages.enabled",
                                          "containerEngine.allowedImages.patterns",
                                          "containerEngine.mobyStorageDriver",
                                          "containers.namespace",
                                          "containers.showAll",
                                          "diagnostics.connectivity.interval",
                                          "diagnostics.connectivity.timeout",
                                          "diagnostics.mutedChecks",
                                          "diagnostics.showMuted",
                                          "experimental.containerEngine.webAssembly.enabled",
                                          "experimental.kubernetes.options.spinkube",
                                          "experimental.virtualMachine.mount.9p.cacheMode",
                                          "experimental.virtualMachine.mount.9p.msizeInKib",
                                          "experimental.virtualMachine.mount.9p.protocolVersion",
                                          "experimental.virtualMachine.mount.9p.securityModel",
                                          "experimental.virtualMachine.proxy.address",
                                          "experimental.virtualMachine.proxy.enabled",
                                          "experimental.virtualMachine.proxy.noproxy",
                                          "experimental.virtualMachine.proxy.password",
                                          "experimental.virtualMachine.proxy.port",
                                          "experimental.virtualMachine.proxy.username",
                                          "experimental.virtualMachine.sshPortForwarder",
                                          "kubernetes.ingress.localhostOnly",
                                          "virtualMachine.type",
                                          "virtualMachine.useRosetta",
                                          NULL });
  g_assert_cmpuint (json_object_get_size (berth_settings_import_get_refused (import)), ==, 2);
}

/* A version newer than Rancher Desktop's latest known is read as that
 * latest's shape. */
static void
test_newer_than_known (void)
{
  BerthHostInfo host = host_for (BERTH_PLATFORM_LINUX);
  g_autoptr (BerthSettingsImport) import = import_json (
      "{\"version\":23,\"virtualMachine\":{\"memoryInGB\":3,\"gpu\":{\"enabled\":true}},"
      "\"application\":{\"theme\":\"light\"}}",
      &host);

  g_assert_cmpint (berth_settings_import_get_version (import), ==, 23);
  assert_json_equal (berth_settings_import_get_settings (import),
                     "{\"version\":5,\"virtualMachine\":{\"memoryInGB\":3},"
                     "\"kubernetes\":{\"enabled\":true}}");
  assert_dropped (
      import, (const gchar *const[]){ "application.theme", "virtualMachine.gpu.enabled", NULL });
}

/* ------------------------------------------------------------------------ */
/* Single steps                                                             */
/* ------------------------------------------------------------------------ */

typedef struct
{
  const gchar *input;
  BerthPlatform platform;
  const gchar *settings;
  const gchar *const *dropped;
} StepCase;

static void
test_steps (void)
{
  const StepCase cases[] = {
    /* 2 → 3: the engine of a file older than the choice is containerd, and
     * so is an empty one; a version-3 file without one takes Berth's. */
    { "{\"version\":2,\"kubernetes\":{\"containerEngine\":\"\",\"port\":6443}}",
      BERTH_PLATFORM_LINUX,
      "{\"version\":5,\"containerEngine\":{\"name\":\"containerd\"},"
      "\"kubernetes\":{\"port\":6443,\"enabled\":true}}",
      (const gchar *const[]){ NULL } },
    { "{\"version\":3,\"kubernetes\":{\"port\":6443}}", BERTH_PLATFORM_LINUX,
      "{\"version\":5,\"kubernetes\":{\"port\":6443,\"enabled\":true}}",
      (const gchar *const[]){ NULL } },
    /* 4 → 5: "suppressSudo": false means administrator rights. */
    { "{\"version\":4,\"kubernetes\":{\"suppressSudo\":false,\"memoryInGB\":2}}",
      BERTH_PLATFORM_LINUX,
      "{\"version\":5,\"application\":{\"adminAccess\":true},"
      "\"virtualMachine\":{\"memoryInGB\":2},\"kubernetes\":{\"enabled\":true}}",
      (const gchar *const[]){ NULL } },
    /* 5 → 6: the start-up settings and the allow-list move. */
    { "{\"version\":5,\"autoStart\":true,\"startInBackground\":true,"
      "\"hideNotificationIcon\":true,\"window\":{\"quitOnClose\":true},"
      "\"containerEngine\":{\"imageAllowList\":{\"enabled\":true,\"locked\":true,"
      "\"patterns\":[\"registry.example/*\"]}},"
      "\"virtualMachine\":{\"experimental\":{\"socketVMNet\":true}}}",
      BERTH_PLATFORM_LINUX,
      "{\"version\":5,\"application\":{\"autoStart\":true},"
      "\"kubernetes\":{\"enabled\":true}}",
      /* What this build cannot act on goes with the reason
       * (test-settings-support.c). */
      (const gchar *const[]){
          "containerEngine.imageAllowList.enabled", "containerEngine.imageAllowList.locked",
          "containerEngine.imageAllowList.patterns", "hideNotificationIcon", "startInBackground",
          "virtualMachine.experimental.socketVMNet", "window.quitOnClose", NULL } },
    /* 7 → 8: "notset" became the platform's choice. */
    { "{\"version\":7,\"application\":{\"pathManagementStrategy\":\"notset\"}}",
      BERTH_PLATFORM_LINUX,
      "{\"version\":5,\"application\":{\"pathManagementStrategy\":\"rcfiles\"},"
      "\"kubernetes\":{\"enabled\":true}}",
      (const gchar *const[]){ NULL } },
    { "{\"version\":7,\"application\":{\"pathManagementStrategy\":\"notset\"}}",
      BERTH_PLATFORM_WINDOWS,
      "{\"version\":5,\"application\":{\"pathManagementStrategy\":\"manual\"},"
      "\"kubernetes\":{\"enabled\":true}}",
      (const gchar *const[]){ NULL } },
    /* From version 8 on, "notset" is no value of Rancher Desktop's; Berth
     * has it (ask). */
    { "{\"version\":8,\"application\":{\"pathManagementStrategy\":\"notset\"}}",
      BERTH_PLATFORM_LINUX,
      "{\"version\":5,\"application\":{\"pathManagementStrategy\":\"notset\"},"
      "\"kubernetes\":{\"enabled\":true}}",
      (const gchar *const[]){ NULL } },
    /* 8 → 9: the installed extensions. */
    { "{\"version\":8,\"extensions\":{\"docker/logs-explorer-extension\":\"0.2.2\"}}",
      BERTH_PLATFORM_LINUX, "{\"version\":5,\"kubernetes\":{\"enabled\":true}}",
      (const gchar *const[]){ "extensions", NULL } },
    /* 14 → 15 and 15 → 16: out of "experimental". */
    { "{\"version\":14,\"experimental\":{\"virtualMachine\":{\"type\":\"qemu\","
      "\"mount\":{\"type\":\"9p\"}}}}",
      BERTH_PLATFORM_LINUX,
      "{\"version\":5,\"virtualMachine\":{\"mount\":{\"type\":\"9p\"}},"
      "\"kubernetes\":{\"enabled\":true}}",
      (const gchar *const[]){ "experimental.virtualMachine.type", NULL } },
    /* A step moves only at its own version: a version-16 file's old key is
     * no setting. */
    { "{\"version\":16,\"experimental\":{\"virtualMachine\":{\"mount\":{\"type\":\"9p\"}}}}",
      BERTH_PLATFORM_LINUX, "{\"version\":5,\"kubernetes\":{\"enabled\":true}}",
      (const gchar *const[]){ "experimental.virtualMachine.mount.type", NULL } },
    /* What a move replaces, and a value standing where a group goes, are
     * dropped by name, not lost. */
    { "{\"version\":4,\"debug\":true,\"application\":{\"debug\":false},"
      "\"kubernetes\":{\"memoryInGB\":4},\"virtualMachine\":3}",
      BERTH_PLATFORM_LINUX,
      "{\"version\":5,\"application\":{\"debug\":true},\"virtualMachine\":{\"memoryInGB\":4},"
      "\"kubernetes\":{\"enabled\":true}}",
      (const gchar *const[]){ "application.debug", "virtualMachine", NULL } },
    /* Rancher Desktop's synonym and JavaScript's numbers. */
    { "{\"version\":19,\"containerEngine\":{\"name\":\"docker\"},"
      "\"virtualMachine\":{\"memoryInGB\":4.0},\"kubernetes\":{\"version\":\"v1.30.1+k3s1\"}}",
      BERTH_PLATFORM_LINUX,
      "{\"version\":5,\"containerEngine\":{\"name\":\"moby\"},"
      "\"virtualMachine\":{\"memoryInGB\":4},"
      "\"kubernetes\":{\"version\":\"v1.30.1+k3s1\",\"enabled\":true}}",
      (const gchar *const[]){ NULL } },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      BerthHostInfo host = host_for (cases[i].platform);
      g_autoptr (BerthSettingsImport) import = NULL;

      g_test_message ("%s", cases[i].input);
      import = import_json (cases[i].input, &host);
      assert_json_equal (berth_settings_import_get_settings (import), cases[i].settings);
      assert_dropped (import, cases[i].dropped);
    }
}

/* Rancher Desktop hands its disk size to Lima, which reads the units as
 * powers of 1024; a part of a GiB rounds up. */
static void
test_disk_size (void)
{
  const struct
  {
    const gchar *size;
    gint64 gib; /* 0: refused */
  } cases[] = {
    { "100GiB", 100 }, { "60GB", 60 },     { "60g", 60 }, { "0.5TiB", 512 }, { "1 TB", 1024 },
    { "20.5G", 21 },   { "2048Gi", 2048 }, { "5GiB", 0 }, { "3TiB", 0 },     { "100", 0 },
    { "big", 0 },      { "100 XB", 0 },    { "", 0 },     { "1e3G", 0 },     { ".5G", 0 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      BerthHostInfo host = host_for (BERTH_PLATFORM_LINUX);
      g_autofree gchar *json = g_strdup_printf (
          "{\"version\":16,\"experimental\":{\"virtualMachine\":{\"diskSize\":\"%s\"}}}",
          cases[i].size);
      g_autoptr (BerthSettingsImport) import = import_json (json, &host);
      JsonObject *refused = berth_settings_import_get_refused (import);
      JsonNode *vm = json_object_get_member (
          json_node_get_object (berth_settings_import_get_settings (import)), "virtualMachine");

      g_test_message ("%s", cases[i].size);
      if (cases[i].gib > 0)
        {
          g_assert_nonnull (vm);
          g_assert_cmpint (json_object_get_int_member (json_node_get_object (vm), "diskSizeGiB"),
                           ==, cases[i].gib);
          g_assert_cmpuint (json_object_get_size (refused), ==, 0);
        }
      else
        {
          g_assert_null (vm);
          g_assert_true (json_object_has_member (refused, "experimental.virtualMachine.diskSize"));
          assert_dropped (import,
                          (const gchar *const[]){ "experimental.virtualMachine.diskSize", NULL });
        }
    }
}

/* A value Berth's validation refuses is dropped with Berth's reason; the
 * import itself never fails for a value. */
static void
test_refused_values (void)
{
  BerthHostInfo host = host_for (BERTH_PLATFORM_LINUX);
  BerthHostInfo unlimited = host_for (BERTH_PLATFORM_LINUX);
  const gchar *json = "{\"version\":19,\"virtualMachine\":{\"memoryInGB\":64,\"numberCPUs\":0,"
                      "\"mount\":{\"type\":\"virtiofs\"}},"
                      "\"containerEngine\":{\"name\":\"\"},"
                      "\"kubernetes\":{\"version\":\"latest\",\"port\":\"6443\","
                      "\"options\":{\"traefik\":1}},"
                      "\"images\":{\"namespace\":\"k8s io\"},"
                      "\"WSL\":{\"integrations\":{\"Ubuntu\":\"yes\"}}}";
  g_autoptr (BerthSettingsImport) import = import_json (json, &host);
  g_autoptr (BerthSettingsImport) anywhere = NULL;
  JsonObject *refused = berth_settings_import_get_refused (import);
  const struct
  {
    const gchar *path;
    const gchar *reason;
  } expected[] = {
    { "virtualMachine.memoryInGB",
      "virtualMachine.memoryInGB: 64 is more than the 16 GiB of memory this host has" },
    { "virtualMachine.numberCPUs", "virtualMachine.numberCPUs: 0 is out of range" },
    { "virtualMachine.mount.type", "\"virtiofs\" is not allowed" },
    { "containerEngine.name", "containerEngine.name: \"\" is not allowed" },
    { "kubernetes.version", "\"latest\" is not a Kubernetes version" },
    { "kubernetes.port", "kubernetes.port: expected an integer, got \"6443\"" },
    { "kubernetes.options.traefik", "kubernetes.options.traefik: expected a boolean" },
    { "images.namespace", "\"k8s io\" is not a containerd namespace" },
    { "WSL.integrations", "WSL.integrations[\"Ubuntu\"]: expected a boolean" },
  };

  assert_json_equal (berth_settings_import_get_settings (import),
                     "{\"version\":5,\"kubernetes\":{\"enabled\":true}}");
  g_assert_cmpuint (json_object_get_size (refused), ==, G_N_ELEMENTS (expected));
  for (gsize i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      const gchar *reason
          = json_object_get_string_member_with_default (refused, expected[i].path, "(none)");

      g_test_message ("%s: %s", expected[i].path, reason);
      g_assert_nonnull (strstr (reason, expected[i].reason));
    }
  g_assert_cmpuint (g_strv_length ((gchar **)berth_settings_import_get_dropped (import, NULL)), ==,
                    G_N_ELEMENTS (expected));

  /* Without the host's limits (as at load), the memory is carried over. */
  unlimited.total_memory_bytes = 0;
  unlimited.n_cpus = 0;
  anywhere = import_json (json, &unlimited);
  g_assert_false (json_object_has_member (berth_settings_import_get_refused (anywhere),
                                          "virtualMachine.memoryInGB"));
}

/* ------------------------------------------------------------------------ */
/* Input that is not Rancher Desktop's                                      */
/* ------------------------------------------------------------------------ */

static void
test_bad_input (void)
{
  g_autoptr (GString) deep = g_string_new ("{\"version\":19,\"diagnostics\":");
  const struct
  {
    const gchar *json;
    const gchar *message;
  } cases[] = {
    { "[1,2]", "Rancher Desktop's settings are a JSON object; got a list" },
    { "\"settings\"", "Rancher Desktop's settings are a JSON object; got \"settings\"" },
    { "{\"version\":\"4\",\"diagnostics\":{}}",
      "version: expected a Rancher Desktop settings version, a whole number from 1 to 19, got "
      "\"4\"" },
    { "{\"version\":0}", "a whole number from 1 to 19, got 0" },
    { "{\"version\":2.5}", "a whole number from 1 to 19, got 2.5" },
    { "{\"diagnostics\":{\"showMuted\":true}}",
      "the settings have no \"version\" and do not look like an early Rancher Desktop file" },
    { "{\"version\":5,\"virtualMachine\":{\"memoryInGB\":4,\"accel\":\"kvm\"}}",
      "virtualMachine.accel is a setting of Berth's own, which Rancher Desktop does not have" },
    { "{\"version\":9,\"application\":{\"hologram\":{\"enabled\":true}}}",
      "none of the keys is one Rancher Desktop writes" },
    { "{\"name\":\"berth\",\"version\":1,\"dependencies\":{}}",
      "none of the keys is one Rancher Desktop writes" },
    { NULL, "may not nest more than 32 deep" },
  };

  for (guint i = 0; i < 40; i++)
    g_string_append (deep, "{\"a\":");
  g_string_append (deep, "1");
  for (guint i = 0; i < 41; i++)
    g_string_append_c (deep, '}');

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const gchar *json = cases[i].json != NULL ? cases[i].json : deep->str;
      g_autoptr (JsonNode) root = NULL;
      g_autoptr (GError) error = NULL;
      g_autoptr (BerthSettingsImport) import = NULL;
      g_autoptr (JsonParser) parser = json_parser_new ();
      BerthHostInfo host = host_for (BERTH_PLATFORM_LINUX);

      g_test_message ("%s", json);
      /* json-glib's own parser: the deep case is deeper than Berth's. */
      g_assert_true (json_parser_load_from_data (parser, json, -1, NULL));
      root = json_node_ref (json_parser_get_root (parser));
      /* None of it is taken for Rancher Desktop's at load either (the deep
       * one does not get past the parser there). */
      if (cases[i].json != NULL)
        g_assert_false (berth_settings_is_rancher_desktop (root));
      import = berth_settings_import_new (root, &host, &error);
      g_assert_null (import);
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_DATA);
      if (strstr (error->message, cases[i].message) == NULL)
        g_error ("message \"%s\" lacks \"%s\"", error->message, cases[i].message);
    }
}

/* A hostile file cannot make the list unbounded. */
static void
test_many_dropped (void)
{
  g_autoptr (GString) json
      = g_string_new ("{\"version\":19,\"application\":{\"theme\":\"dark\"},\"diagnostics\":{");
  BerthHostInfo host = host_for (BERTH_PLATFORM_LINUX);
  g_autoptr (BerthSettingsImport) import = NULL;
  g_autoptr (JsonObject) described = json_object_new ();
  g_autofree gchar *line = NULL;
  guint n_unlisted = 0;

  for (guint i = 0; i < 1500; i++)
    g_string_append_printf (json, "%s\"check%04u\":true", i > 0 ? "," : "", i);
  g_string_append (json, "}}");
  import = import_json (json->str, &host);
  g_assert_cmpuint (
      g_strv_length ((gchar **)berth_settings_import_get_dropped (import, &n_unlisted)), ==, 1000);
  g_assert_cmpuint (n_unlisted, ==, 501);

  berth_settings_import_add_to_json (import, described);
  g_assert_cmpint (json_object_get_int_member (described, "rancherDesktopSettingsVersion"), ==, 19);
  g_assert_cmpuint (
      json_array_get_length (json_object_get_array_member (described, "droppedSettings")), ==,
      1000);
  g_assert_cmpint (json_object_get_int_member (described, "droppedNotListed"), ==, 501);
  g_assert_false (json_object_has_member (described, "refusedValues"));

  line = berth_settings_import_describe_dropped (import, 2);
  g_assert_cmpstr (line, ==, "application.theme, diagnostics.check0000 and 1499 more");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/settings-import/detect", test_detect);
  g_test_add_func ("/settings-import/version/unversioned", test_unversioned);
  g_test_add_func ("/settings-import/version/3", test_v3);
  g_test_add_func ("/settings-import/version/4", test_v4);
  g_test_add_func ("/settings-import/version/10", test_v10);
  g_test_add_func ("/settings-import/version/14", test_v14);
  g_test_add_func ("/settings-import/version/19", test_v19);
  g_test_add_func ("/settings-import/version/newer-than-known", test_newer_than_known);
  g_test_add_func ("/settings-import/steps", test_steps);
  g_test_add_func ("/settings-import/disk-size", test_disk_size);
  g_test_add_func ("/settings-import/refused-values", test_refused_values);
  g_test_add_func ("/settings-import/bad-input", test_bad_input);
  g_test_add_func ("/settings-import/many-dropped", test_many_dropped);

  return g_test_run ();
}
