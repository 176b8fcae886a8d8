/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "berth-lima-config.h"

G_BEGIN_DECLS

/* QEMU's user-mode network (slirp) defaults, which Berth keeps instead of
 * Lima's 192.168.5.0/24: the guest configures them statically from
 * network-config and lima.env, with no DHCP round trip. */
#define BERTH_LIMA_SLIRP_IP_ADDRESS "10.0.2.15"
#define BERTH_LIMA_SLIRP_GATEWAY "10.0.2.2"
#define BERTH_LIMA_SLIRP_DNS "10.0.2.3"
#define BERTH_LIMA_CIDATA_MNT "/mnt/lima-cidata"
/* Lima's limit on the names of files in cidata.iso. */
#define BERTH_LIMA_CIDATA_NAME_MAX 30

/* Writes cidata.iso (ISO 9660 with Rock Ridge, which keeps names and modes,
 * and Joliet, whose volume label blkid reports as "cidata"; the primary
 * volume descriptor holds "CIDATA", as ISO 9660 allows only upper case
 * there) to a temporary file next to @iso_path, then renames it. Files:
 * user-data, meta-data, network-config, lima.env, ssh_authorized_keys,
 * boot.sh (when @boot_sh is not NULL; 0755), provision.system/NNNNNNNN and
 * provision.user/NNNNNNNN (0755), etc_environment, and ca-certificates.pem
 * and proxy.env when config->ca_certificates and config->proxy_env are
 * not NULL. Values that the guest
 * cannot take (a user name it refuses, a relative path, a newline in a
 * value, an environment name that is not NAME) are refused with
 * BERTH_ERROR_INVALID_SETTING naming the key and value. */
gboolean
berth_lima_cidata_write (const gchar *iso_path, const BerthLimaConfig *config, const gchar *boot_sh,
                         GError **error);

/* The 9p mount tag of the @index-th mount ("mount0", "mount1", …): QEMU's
 * -virtfs mount_tag= must match what lima.env tells the guest. */
gchar *
berth_lima_mount_tag (guint index);

/* The guest host name for instance @name: "lima-<name>" with '.' and '_'
 * made '-', as Lima does. */
gchar *
berth_lima_hostname (const gchar *name);

/* The text of each file, for tests and for `info`. */
gchar *
berth_lima_cidata_lima_env (const BerthLimaConfig *config, GError **error);
gchar *
berth_lima_cidata_etc_environment (const BerthLimaConfig *config, GError **error);
gchar *
berth_lima_cidata_user_data (const BerthLimaConfig *config, GError **error);
gchar *
berth_lima_cidata_meta_data (const BerthLimaConfig *config, GError **error);
gchar *
berth_lima_cidata_network_config (GError **error);

G_END_DECLS
