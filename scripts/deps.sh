#!/bin/sh
# Installs what building, running and testing Berth need, from the machine's
# configured Debian sources, when any of it is missing. Idempotent and quiet
# when everything is there.
set -eu

PACKAGES="
  gcc meson ninja-build pkg-config
  libglib2.0-dev libsoup-3.0-dev libjson-glib-dev libyaml-dev libarchive-dev libgnutls28-dev
  gnutls-bin
  qemu-system-x86 qemu-utils mmdebstrap e2fsprogs xz-utils xorriso
  openssh-client busybox-static
"

# The docker CLI drives the guest's dockerd in the vm tests; any docker CLI
# on PATH will do. Debian's comes with a daemon, which must not start here.
if ! command -v docker >/dev/null 2>&1; then
  PACKAGES="$PACKAGES docker.io"
fi

missing=""
for p in $PACKAGES; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  case "$status" in
    *" installed") ;;
    *) missing="$missing $p" ;;
  esac
done

[ -z "$missing" ] && exit 0

echo "Installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
  else
    echo "berth: these packages are missing and this user cannot install them:$missing" >&2
    echo "berth: install them as root (apt-get install$missing) and run this again" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# No service starts on this machine because of these packages (Debian's
# policy-rc.d convention; one already present is left as it is).
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  policy=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 0755 "$policy"
fi
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing || status=$?
[ -z "$policy" ] || $SUDO rm -f "$policy"
exit "${status:-0}"
