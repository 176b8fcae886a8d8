#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Build Berth's guest image from Debian bookworm packages.
#
#   build-image.sh [--out DIR] [--arch amd64] [--baseline | --wsl] [--work DIR]
#                  [--cache DIR] [--mode root|unshare] [--force]
#
# Writes into DIR: vmlinuz (and vmlinux, the same kernel uncompressed),
# initrd.img, rootfs.qcow2 and manifest.json (see README.md).  --wsl writes
# distro.tar and manifest.json instead: the same packages and guest files
# (WSL brings its own kernel) with wsl/'s init and wsl.conf, as the tarball
# `wsl --import` takes (plugins/wsl).
# The default image boots with Berth's small initrd and busybox init running
# the fast path in rootfs/usr/lib/berth-guest/; --baseline builds the same
# packages with systemd as PID 1 and Debian's generic initrd (for the boot
# benchmark in bench/vm-boot-baseline/).
#
# Packages come from the Debian mirrors this machine's apt is configured with
# (read through `apt-get indextargets`); set BERTH_GUEST_SOURCES to a
# sources.list(5) file to use other ones.  No mirror is named here.
#
# As root, mmdebstrap runs in "root" mode; otherwise in "unshare" mode (needs
# unprivileged user namespaces, newuidmap (Debian package uidmap) and
# subuid/subgid ranges for the user); --mode chooses.  Every
# step after the package installation runs inside mmdebstrap's customize hook,
# so in unshare mode files keep their in-guest owners without root.
#
# Each step prints "Building guest image: <step>" on stdout.  The image is
# rebuilt only when the recipe hash (recipe-hash.sh) or the variant changed,
# or with --force.

set -eu

LC_ALL=C
export LC_ALL

SELF=$(readlink -f "$0")
RECIPE_DIR=$(dirname "$SELF")
SUITE=bookworm

# Progress lines go to stdout; inside mmdebstrap's hook (whose output ends in
# its log) to the descriptor the outer run left open for them.
step ()
{
  if [ -n "${BERTH_GUEST_PROGRESS_FD:-}" ]; then
    echo "Building guest image: $*" >&"$BERTH_GUEST_PROGRESS_FD"
  else
    echo "Building guest image: $*"
  fi
}

die ()
{
  echo "build-image.sh: error: $*" >&2
  exit 1
}

# Packages of the guest.  linux-image-amd64 is there for its kernel (copied
# out) and modules (kept, trimmed); busybox-static provides init, acpid and
# the initrd's userland.
BASE_PACKAGES="linux-image-amd64 openssh-server docker.io containerd runc
iptables ca-certificates iproute2 e2fsprogs kmod sudo busybox-static
util-linux"
BASELINE_PACKAGES="systemd-sysv udev dbus initramfs-tools"

# Modules the initrd loads, with their dependencies, to mount the root disk.
INITRD_MODULES="virtio_pci virtio_blk crc32c_generic ext4"

# Module directories (under kernel/) that a virtual machine never uses.
PRUNE_MODULES="sound drivers/gpu drivers/media drivers/infiniband drivers/usb
drivers/iio drivers/staging drivers/hwmon drivers/hid drivers/platform
drivers/comedi drivers/mtd drivers/video drivers/target drivers/misc
drivers/mmc drivers/isdn drivers/bluetooth drivers/thunderbolt drivers/nfc
drivers/leds drivers/w1 drivers/spi drivers/pcmcia drivers/firewire
drivers/parport drivers/memstick drivers/atm drivers/net/wireless
drivers/net/ethernet drivers/net/can drivers/net/usb drivers/net/wwan
drivers/net/ieee802154 drivers/net/hamradio drivers/net/wan drivers/net/fddi
drivers/net/arcnet drivers/net/appletalk drivers/net/hippi drivers/net/plip
drivers/net/slip drivers/net/ppp drivers/net/dsa drivers/net/hyperv
drivers/net/xen-netback drivers/net/vmxnet3 drivers/net/thunderbolt-net.ko
drivers/input/joystick drivers/input/touchscreen
drivers/input/tablet drivers/input/misc drivers/extcon drivers/fpga
drivers/gnss drivers/greybus drivers/ntb drivers/rapidio drivers/soundwire
drivers/mfd drivers/regulator drivers/pinctrl drivers/power drivers/rtc
drivers/edac drivers/crypto drivers/uio drivers/vfio drivers/vhost
drivers/xen drivers/hv net/wireless net/mac80211 net/bluetooth net/nfc
net/ieee802154 net/mac802154 net/can net/atm net/rxrpc net/appletalk
net/6lowpan net/rfkill net/phonet net/lapb net/x25 net/rose net/netrom
net/ax25 net/dsa net/batman-adv net/tipc net/rds net/smc net/l2tp
net/mpls net/sctp net/dccp net/caif net/qrtr net/vmw_vsock net/9p/9pnet_xen.ko
net/9p/9pnet_rdma.ko fs/ocfs2 fs/gfs2 fs/reiserfs fs/jfs fs/nilfs2 fs/ubifs
fs/f2fs fs/ntfs fs/ntfs3 fs/hfs fs/hfsplus fs/affs fs/befs fs/bfs fs/efs
fs/freevxfs fs/hpfs fs/minix fs/omfs fs/qnx4 fs/qnx6 fs/romfs fs/sysv
fs/ufs fs/orangefs fs/coda fs/afs fs/ceph fs/dlm fs/jffs2 fs/cramfs
fs/nfsd fs/smb fs/xfs fs/udf"

# --- the part that runs inside mmdebstrap's customize hook -----------------

# Copy this recipe's guest files into the root filesystem.
install_guest_files ()
{
  root=$1
  (cd "$RECIPE_DIR/rootfs" && find . -type d) | while IFS= read -r d; do
    mkdir -p "$root/$d"
  done
  (cd "$RECIPE_DIR/rootfs" && find . ! -type d) | while IFS= read -r f; do
    cp -P --preserve=mode "$RECIPE_DIR/rootfs/$f" "$root/$f"
    chown -h 0:0 "$root/$f"
  done
}

# Turn the bootstrapped tree into the fast-path guest.
customize_berth ()
{
  root=$1
  install_guest_files "$root"
  # busybox init is PID 1; poweroff/reboot/halt signal it.
  for tool in init poweroff reboot halt; do
    ln -sf /bin/busybox "$root/sbin/$tool"
  done
  # The baseline's systemd units are not part of this variant.
  rm -rf "$root/etc/systemd/system/berth-"* \
    "$root/usr/lib/systemd/system/berth-"*
  # Debian's service links are for other init systems.
  rm -f "$root/etc/rc"?.d/* "$root/usr/sbin/policy-rc.d"
}

# The WSL distribution: the fast path's files, WSL's own configuration, the
# init the host runs (wsl/wsl-init), and an os-release whose VERSION_ID the
# host compares with the registered distribution's to decide on an upgrade.
customize_wsl ()
{
  root=$1
  install_guest_files "$root"
  install -m 0755 "$RECIPE_DIR/wsl/wsl-init" "$root/usr/lib/berth-guest/wsl-init"
  install -m 0644 "$RECIPE_DIR/wsl/wsl.conf" "$root/etc/wsl.conf"
  # The VM's boot, console and power button are not WSL's.
  rm -f "$root/etc/inittab" "$root/etc/fstab" "$root/etc/acpi/PWRF/00000080"
  rm -rf "$root/usr/lib/systemd/system/berth-"* "$root/etc/rc"?.d/*
  rm -f "$root/etc/os-release"
  {
    echo 'PRETTY_NAME="Berth WSL distribution"'
    echo 'NAME="Berth"'
    echo 'ID=berth'
    echo 'ID_LIKE=debian'
    echo "VERSION_ID=\"$(cat "$RECIPE_DIR/wsl/VERSION")\""
  } >"$root/etc/os-release"
}

# The baseline keeps Debian's boot: systemd, udev, the generic initrd.  It
# gets networking through systemd-networkd (DHCP) and the same cidata step,
# run as a unit, so that both variants are measured on the same work.
customize_baseline ()
{
  root=$1
  install_guest_files "$root"
  rm -f "$root/etc/inittab" "$root/etc/acpi/PWRF/00000080"
  # Debian's sshd settings (PAM, default key exchange, re-execution); only
  # the host key is the fast path's, made at first boot by berth-cidata.
  echo "HostKey /etc/ssh/ssh_host_ed25519_key" \
    >"$root/etc/ssh/sshd_config.d/berth.conf"
  mkdir -p "$root/etc/systemd/network" \
    "$root/etc/systemd/system/multi-user.target.wants"
  cat >"$root/etc/systemd/network/50-berth-dhcp.network" <<'EOF'
[Match]
Name=en* eth*

[Network]
DHCP=yes
EOF
  for unit in systemd-networkd.service berth-cidata.service \
    berth-ready.service; do
    ln -sf "/usr/lib/systemd/system/$unit" \
      "$root/etc/systemd/system/multi-user.target.wants/$unit"
  done
  # docker.service and containerd.service stay enabled as Debian ships
  # them; berth-ready only watches sshd and the engine and prints markers.
}

trim_rootfs ()
{
  root=$1
  kver=$2
  rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* \
    "$root"/usr/share/info/* "$root"/usr/share/lintian \
    "$root"/usr/share/locale/* "$root"/var/cache/apt/*.bin \
    "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
    "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/var/cache/debconf/*-old
  # Host keys must be unique per VM: the guest makes its own at first boot.
  rm -f "$root"/etc/ssh/ssh_host_*
  # Modules a VM never loads (a third of the image otherwise).
  if [ "$kver" != none ]; then
    for d in $PRUNE_MODULES; do
      rm -rf "$root/usr/lib/modules/$kver/kernel/$d"
    done
    chroot "$root" depmod "$kver"
  fi
  # A machine-id must be unique per VM too (systemd makes one when empty).
  : >"$root/etc/machine-id"
  rm -f "$root/var/lib/dbus/machine-id"
}

# Copy the modules the initrd needs, in load order, and the busybox binary.
build_initrd ()
{
  root=$1
  kver=$2
  out=$3
  # Staged inside the tree so that its busybox makes the archive (owners
  # are right in unshare mode too, and the host needs no cpio).
  dir=$root/tmp/berth-initrd
  rm -rf "$dir"
  mkdir -p "$dir/bin" "$dir/dev" "$dir/proc" "$dir/sys" "$dir/root" \
    "$dir/lib/modules"
  cp "$root/bin/busybox" "$dir/bin/busybox"
  for applet in sh mount umount mkdir cat sleep insmod switch_root findfs \
    poweroff; do
    ln -s busybox "$dir/bin/$applet"
  done
  cp "$RECIPE_DIR/initrd/init" "$dir/init"
  chmod 0755 "$dir/init"
  : >"$dir/lib/modules/load.order"
  for mod in $INITRD_MODULES; do
    chroot "$root" modprobe --show-depends --set-version "$kver" "$mod" |
      while read -r kind path _rest; do
        [ "$kind" = insmod ] || continue
        name=$(basename "$path")
        if ! grep -qx "$name" "$dir/lib/modules/load.order"; then
          cp "$root$path" "$dir/lib/modules/$name"
          echo "$name" >>"$dir/lib/modules/load.order"
        fi
      done
  done
  [ -s "$dir/lib/modules/load.order" ] ||
    die "no modules found for the initrd in $root/usr/lib/modules/$kver"
  chroot "$root" /bin/sh -c \
    'cd /tmp/berth-initrd && find . | sort | busybox cpio -o -H newc 2>/dev/null' \
    >"$out" || die "busybox cpio failed to archive the initrd"
  rm -rf "$dir"
}

make_disk ()
{
  root=$1
  out=$2
  used_kib=$(du -sxk "$root" | cut -f1)
  # Headroom: a quarter more plus 256 MiB, so the first boot has room even
  # before the guest grows the file system to the size of its disk.
  size_mib=$(((used_kib * 5 / 4) / 1024 + 256))
  raw="$BERTH_GUEST_WORK/rootfs.raw"
  rm -f "$raw"
  truncate -s "${size_mib}M" "$raw"
  # mmdebstrap has /proc, /sys and /dev mounted in the tree during hooks; a
  # plain (non-recursive) bind mount shows the tree without them.
  view="$BERTH_GUEST_WORK/rootfs-view"
  mkdir -p "$view"
  mount --bind "$root" "$view" ||
    die "cannot bind-mount $root on $view to copy it without /proc, /sys and /dev"
  if ! mkfs.ext4 -q -F -L berth-root -m 0 -E root_owner=0:0 -d "$view" "$raw"; then
    umount "$view"
    die "mkfs.ext4 failed to build the root file system from $root"
  fi
  umount "$view"
  rmdir "$view"
  qemu-img convert -f raw -O qcow2 -c "$raw" "$out" ||
    die "qemu-img convert failed on $raw"
  rm -f "$raw"
}

# The uncompressed kernel (an ELF with a PVH entry note) next to vmlinuz:
# QEMU boots it without the bzImage's real-mode setup and XZ decompression,
# which take over a second under TCG.  Skipped when the payload is not XZ.
extract_vmlinux ()
{
  root=$1
  bzimage=$2
  out=$3
  setup_sects=$(od -An -tu1 -j 497 -N 1 "$bzimage" | tr -d ' ')
  payload_offset=$(od -An -tu4 -j 584 -N 4 "$bzimage" | tr -d ' ')
  payload_length=$(od -An -tu4 -j 588 -N 4 "$bzimage" | tr -d ' ')
  start=$(((setup_sects + 1) * 512 + payload_offset))
  magic=$(od -An -tx1 -j "$start" -N 6 "$bzimage" | tr -d ' ')
  if [ "$magic" != fd377a585a00 ]; then
    echo "build-image.sh: note: the kernel payload is not XZ (magic $magic); no vmlinux" >&2
    return 0
  fi
  # busybox's xz lacks the x86 BCJ filter the kernel uses: xz-utils it is.
  if ! command -v xz >/dev/null 2>&1; then
    echo "build-image.sh: note: no xz on this machine (Debian package xz-utils); no vmlinux" >&2
    return 0
  fi
  tail -c +$((start + 1)) "$bzimage" | head -c "$payload_length" |
    xz -dc --single-stream >"$out" ||
    die "could not decompress the kernel payload of $bzimage"
  [ "$(od -An -c -j 1 -N 3 "$out" | tr -d ' ')" = ELF ] ||
    die "the decompressed kernel payload of $bzimage is not an ELF file"
}

# The WSL variant's end of the hook: the tree as a tarball, owners kept.
finish_wsl_in_hook ()
{
  root=$1
  stage=$BERTH_GUEST_STAGE
  step "installing Berth's guest files (wsl)"
  customize_wsl "$root"
  step "trimming documentation and locales"
  trim_rootfs "$root" none
  rm -rf "${root:?}/usr/lib/modules" "${root:?}"/boot/*
  chroot "$root" dpkg-query -W -f '${Package} ${Version}\n' >"$stage/packages"
  du -sxk "$root" | cut -f1 >"$stage/rootfs-kib"
  step "writing the WSL distribution's tarball"
  # As in make_disk: a plain bind mount shows the tree without the /proc,
  # /sys and /dev mmdebstrap mounted in it.
  view="$BERTH_GUEST_WORK/rootfs-view"
  mkdir -p "$view"
  mount --bind "$root" "$view" ||
    die "cannot bind-mount $root on $view to archive it without /proc, /sys and /dev"
  if ! tar --numeric-owner --xattrs -C "$view" -cf "$stage/distro.tar" .; then
    umount "$view"
    die "tar failed to archive $root"
  fi
  umount "$view"
  rmdir "$view"
}

# Runs inside mmdebstrap's customize hook: $1 is the root of the new tree.
finish_in_hook ()
{
  root=$1
  stage=$BERTH_GUEST_STAGE
  if [ "$BERTH_GUEST_VARIANT" = wsl ]; then
    finish_wsl_in_hook "$root"
    return 0
  fi
  kver=$(ls "$root/usr/lib/modules" | sort -V | tail -n 1)
  [ -n "$kver" ] && [ -f "$root/boot/vmlinuz-$kver" ] ||
    die "the bootstrap has no kernel in $root/boot (was linux-image-amd64 installed?)"

  step "installing Berth's guest files ($BERTH_GUEST_VARIANT)"
  if [ "$BERTH_GUEST_VARIANT" = baseline ]; then
    customize_baseline "$root"
  else
    customize_berth "$root"
  fi

  step "copying kernel $kver"
  cp "$root/boot/vmlinuz-$kver" "$stage/vmlinuz"
  # The baseline boots as Debian does: the compressed kernel only.
  if [ "$BERTH_GUEST_VARIANT" != baseline ]; then
    extract_vmlinux "$root" "$stage/vmlinuz" "$stage/vmlinux"
  fi
  if [ "$BERTH_GUEST_VARIANT" = baseline ]; then
    [ -f "$root/boot/initrd.img-$kver" ] ||
      die "initramfs-tools made no $root/boot/initrd.img-$kver"
    cp "$root/boot/initrd.img-$kver" "$stage/initrd.img"
  fi

  step "trimming documentation, locales and unused kernel modules"
  trim_rootfs "$root" "$kver"

  if [ "$BERTH_GUEST_VARIANT" != baseline ]; then
    step "building initrd ($INITRD_MODULES)"
    build_initrd "$root" "$kver" "$stage/initrd.img"
  fi
  # The kernel (and the baseline's initrd) live outside the disk.
  rm -f "$root"/boot/*

  chroot "$root" dpkg-query -W -f '${Package} ${Version}\n' >"$stage/packages"
  echo "$kver" >"$stage/kernel-version"
  du -sxk "$root" | cut -f1 >"$stage/rootfs-kib"

  step "making ext4 root file system and qcow2 disk"
  make_disk "$root" "$stage/rootfs.qcow2"
}

# --- the outer part ---------------------------------------------------------

# Write a sources.list for bookworm from the Debian mirrors apt uses here.
write_sources ()
{
  out=$1
  if [ -n "${BERTH_GUEST_SOURCES:-}" ]; then
    [ -r "$BERTH_GUEST_SOURCES" ] ||
      die "BERTH_GUEST_SOURCES=$BERTH_GUEST_SOURCES is not a readable file"
    cp "$BERTH_GUEST_SOURCES" "$out"
    return 0
  fi
  command -v apt-get >/dev/null 2>&1 ||
    die "no apt-get to read the Debian mirrors from; set BERTH_GUEST_SOURCES to a sources.list file"
  targets=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(LABEL)' \
    'Identifier: Packages' 'Origin: Debian' | sort -u)
  : >"$out"
  # Prefer entries for bookworm itself; otherwise reuse the Debian mirrors
  # of whatever release the host tracks.
  main=$(echo "$targets" | awk '$3 == "Debian" { print $1 }' | sort -u | head -n 1)
  security=$(echo "$targets" | awk '$3 == "Debian-Security" { print $1 }' |
    sort -u | head -n 1)
  [ -n "$main" ] ||
    die "apt on this machine has no Debian mirror (apt-get indextargets lists none); set BERTH_GUEST_SOURCES to a sources.list file"
  echo "deb $main $SUITE main" >>"$out"
  echo "deb $main $SUITE-updates main" >>"$out"
  if [ -n "$security" ]; then
    echo "deb $security $SUITE-security main" >>"$out"
  fi
}

json_string ()
{
  printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

write_wsl_manifest ()
{
  stage=$1
  out=$2
  {
    echo "{"
    echo "  \"format\": 1,"
    echo "  \"variant\": \"wsl\","
    echo "  \"recipe_sha256\": $(json_string "$RECIPE_HASH"),"
    echo "  \"arch\": $(json_string "$ARCH"),"
    echo "  \"suite\": $(json_string "$SUITE"),"
    echo "  \"version_id\": $(json_string "$(cat "$RECIPE_DIR/wsl/VERSION")"),"
    echo "  \"built\": $(json_string "$(date -u +%Y-%m-%dT%H:%M:%SZ)"),"
    echo "  \"build_seconds\": $BUILD_SECONDS,"
    echo "  \"sizes\": {"
    echo "    \"distro.tar\": $(stat -c %s "$stage/distro.tar"),"
    echo "    \"rootfs content\": $(($(cat "$stage/rootfs-kib") * 1024))"
    echo "  },"
    echo "  \"package_count\": $(wc -l <"$stage/packages")"
    echo "}"
  } >"$out"
}

write_manifest ()
{
  stage=$1
  out=$2
  {
    echo "{"
    echo "  \"format\": 1,"
    echo "  \"variant\": $(json_string "$VARIANT"),"
    echo "  \"recipe_sha256\": $(json_string "$RECIPE_HASH"),"
    echo "  \"arch\": $(json_string "$ARCH"),"
    echo "  \"suite\": $(json_string "$SUITE"),"
    echo "  \"kernel_version\": $(json_string "$(cat "$stage/kernel-version")"),"
    echo "  \"kernel_cmdline\": $(json_string "$CMDLINE"),"
    echo "  \"built\": $(json_string "$(date -u +%Y-%m-%dT%H:%M:%SZ)"),"
    echo "  \"build_seconds\": $BUILD_SECONDS,"
    echo "  \"sizes\": {"
    for f in vmlinuz vmlinux initrd.img rootfs.qcow2; do
      [ -f "$stage/$f" ] || continue
      echo "    $(json_string "$f"): $(stat -c %s "$stage/$f"),"
    done
    echo "    \"rootfs.qcow2 virtual\": $(qemu-img info --output=json "$stage/rootfs.qcow2" |
      sed -n 's/^ *"virtual-size": *\([0-9]*\).*/\1/p'),"
    echo "    \"rootfs content\": $(($(cat "$stage/rootfs-kib") * 1024))"
    echo "  },"
    echo "  \"package_count\": $(wc -l <"$stage/packages"),"
    echo "  \"packages\": {"
    awk 'NR > 1 { printf ",\n" } { printf "    \"%s\": \"%s\"", $1, $2 } END { printf "\n" }' \
      "$stage/packages"
    echo "  }"
    echo "}"
  } >"$out"
}

main ()
{
  OUT=guest-image
  ARCH=amd64
  VARIANT=berth
  WORK=
  CACHE=
  MODE=
  FORCE=0
  while [ $# -gt 0 ]; do
    case $1 in
    --out)
      [ $# -ge 2 ] || die "--out needs a directory"
      OUT=$2
      shift 2
      ;;
    --arch)
      [ $# -ge 2 ] || die "--arch needs a value (amd64)"
      ARCH=$2
      shift 2
      ;;
    --baseline)
      VARIANT=baseline
      shift
      ;;
    --wsl)
      VARIANT=wsl
      shift
      ;;
    --work)
      [ $# -ge 2 ] || die "--work needs a directory"
      WORK=$2
      shift 2
      ;;
    --cache)
      [ $# -ge 2 ] || die "--cache needs a directory"
      CACHE=$2
      shift 2
      ;;
    --mode)
      [ $# -ge 2 ] || die "--mode needs root or unshare"
      MODE=$2
      shift 2
      ;;
    --force)
      FORCE=1
      shift
      ;;
    --internal-finish)
      [ $# -eq 2 ] || die "--internal-finish needs the root directory"
      finish_in_hook "$2"
      exit 0
      ;;
    -h | --help)
      sed -n '2,/^$/s/^# \{0,1\}//p' "$SELF"
      exit 0
      ;;
    *)
      die "unknown argument '$1' (allowed: --out DIR, --arch amd64, --baseline, --wsl, --work DIR, --cache DIR, --mode root|unshare, --force)"
      ;;
    esac
  done
  case $ARCH in
  amd64) ;;
  arm64)
    die "--arch arm64 is not supported yet (it needs an arm64 host or qemu-user binfmt, and ttyAMA0 as console); allowed: amd64"
    ;;
  *) die "unknown --arch '$ARCH' (allowed: amd64)" ;;
  esac

  for tool in mmdebstrap mkfs.ext4 qemu-img dpkg-deb; do
    command -v "$tool" >/dev/null 2>&1 ||
      die "'$tool' is not installed; it is needed to build the guest image (Debian packages: mmdebstrap, e2fsprogs, qemu-utils, dpkg)"
  done

  case $MODE in
  '')
    if [ "$(id -u)" -eq 0 ]; then
      MODE=root
    else
      MODE=unshare
    fi
    ;;
  root)
    [ "$(id -u)" -eq 0 ] || die "--mode root needs root; run as root or use --mode unshare"
    ;;
  unshare) ;;
  *) die "unknown --mode '$MODE' (allowed: root, unshare)" ;;
  esac
  if [ "$MODE" = unshare ]; then
    command -v newuidmap >/dev/null 2>&1 ||
      die "unshare mode needs newuidmap and newgidmap (Debian package uidmap), or run as root"
    grep -q "^$(id -un):" /etc/subuid 2>/dev/null ||
      die "unshare mode needs a subordinate uid range for $(id -un) in /etc/subuid (e.g. usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $(id -un)), or run as root"
  fi

  RECIPE_HASH=$("$RECIPE_DIR/recipe-hash.sh")
  # The kernel command line each variant is made for (see README.md).
  if [ "$VARIANT" = baseline ]; then
    CMDLINE="root=/dev/vda rw console=ttyS0"
  else
    CMDLINE="root=/dev/vda rw console=ttyS0 quiet cryptomgr.notests rcupdate.rcu_expedited=1"
  fi

  mkdir -p "$OUT"
  OUT=$(readlink -f "$OUT")
  if [ "$VARIANT" = wsl ]; then
    OUTPUTS="distro.tar"
  else
    OUTPUTS="vmlinuz initrd.img rootfs.qcow2"
  fi
  up_to_date=1
  for f in manifest.json $OUTPUTS; do
    [ -f "$OUT/$f" ] || up_to_date=0
  done
  if [ "$FORCE" -eq 0 ] && [ "$up_to_date" -eq 1 ] &&
    grep -q "\"recipe_sha256\": \"$RECIPE_HASH\"" "$OUT/manifest.json" &&
    grep -q "\"variant\": \"$VARIANT\"" "$OUT/manifest.json"; then
    step "up to date in $OUT (recipe $RECIPE_HASH)"
    exit 0
  fi

  if [ -z "$WORK" ]; then
    WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/berth-guest-build.XXXXXX")
    CLEAN_WORK=$WORK
  else
    mkdir -p "$WORK"
    WORK=$(readlink -f "$WORK")
    CLEAN_WORK=
  fi
  trap 'rm -rf "$WORK/stage" "$WORK/rootfs.raw" ; [ -z "$CLEAN_WORK" ] || rm -rf "$CLEAN_WORK"' EXIT
  STAGE=$WORK/stage
  rm -rf "$STAGE"
  mkdir -p "$STAGE"
  START=$(date +%s)

  step "reading the Debian mirrors from apt's configuration"
  write_sources "$WORK/sources.list"

  set -- --variant=minbase --mode="$MODE" --format=null --architectures="$ARCH"
  packages=$BASE_PACKAGES
  if [ "$VARIANT" = baseline ]; then
    packages="$packages $BASELINE_PACKAGES"
  elif [ "$VARIANT" = wsl ]; then
    # WSL 2 brings its own kernel.
    packages=$(echo $packages | tr ' ' '\n' | grep -vx linux-image-amd64 | tr '\n' ' ')
  else
    # linux-image-* depends on an initramfs generator; Berth builds its own
    # initrd, so a stub package stands in for initramfs-tools.
    stub=$WORK/stub
    rm -rf "$stub"
    mkdir -p "$stub/DEBIAN"
    cat >"$stub/DEBIAN/control" <<EOF
Package: berth-guest-no-initramfs
Version: 1
Architecture: all
Maintainer: Berth <berth@localhost>
Provides: linux-initramfs-tool
Description: stand-in for an initramfs generator
 Berth's guest image builds its own initrd.
EOF
    dpkg-deb --root-owner-group -b "$stub" "$WORK/berth-guest-no-initramfs.deb" >/dev/null
    # Installed right after the essential packages, so that apt sees the
    # dependency satisfied when it installs the kernel.
    set -- "$@" \
      --essential-hook="upload $WORK/berth-guest-no-initramfs.deb /tmp/berth-guest-no-initramfs.deb" \
      --essential-hook='chroot "$1" dpkg -i /tmp/berth-guest-no-initramfs.deb >/dev/null && rm -f "$1/tmp/berth-guest-no-initramfs.deb"'
  fi
  # shellcheck disable=SC2086 # the list is split into words on purpose
  set -- "$@" --include="$(echo $packages | tr ' ' ,)"
  set -- "$@" --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --aptopt='APT::Install-Recommends "false"'
  if [ -n "$CACHE" ]; then
    mkdir -p "$CACHE"
    CACHE=$(readlink -f "$CACHE")
    set -- "$@" --skip=download/empty \
      --setup-hook='mkdir -p "$1"/var/cache/apt/archives' \
      --setup-hook="sync-in $CACHE /var/cache/apt/archives" \
      --customize-hook="sync-out /var/cache/apt/archives $CACHE"
  fi
  set -- "$@" --customize-hook="\"$SELF\" --internal-finish \"\$1\""

  step "installing Debian $SUITE packages with mmdebstrap ($MODE mode)"
  exec 9>&1
  BERTH_GUEST_PROGRESS_FD=9 BERTH_GUEST_STAGE=$STAGE BERTH_GUEST_VARIANT=$VARIANT \
    BERTH_GUEST_WORK=$WORK TMPDIR=$WORK \
    mmdebstrap "$@" "$SUITE" /dev/null "$WORK/sources.list" \
    2>"$WORK/mmdebstrap.log" ||
    {
      tail -n 25 "$WORK/mmdebstrap.log" >&2
      CLEAN_WORK=
      die "mmdebstrap failed; the log above is the end of $WORK/mmdebstrap.log"
    }

  BUILD_SECONDS=$(($(date +%s) - START))
  step "writing manifest.json"
  if [ "$VARIANT" = wsl ]; then
    write_wsl_manifest "$STAGE" "$STAGE/manifest.json"
  else
    write_manifest "$STAGE" "$STAGE/manifest.json"
    rm -f "$OUT/vmlinux"
  fi
  for f in vmlinuz vmlinux initrd.img rootfs.qcow2 distro.tar manifest.json; do
    [ ! -f "$STAGE/$f" ] || mv -f "$STAGE/$f" "$OUT/$f"
  done
  step "done in ${BUILD_SECONDS}s: $OUT"
}

export BERTH_GUEST_WORK="${BERTH_GUEST_WORK:-}"
main "$@"
