#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
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
  man-db
  gobject-introspection libgirepository1.0-dev gir1.2-json-1.0 gir1.2-soup-3.0 python3-gi
"

# The docker CLI: users reach the guest's dockerd with it, and so do the vm
# tests. Berth supports 20.10 (Debian 12's docker.io) and newer (Docker's own
# packages); one of those already on PATH is used as it is, otherwise
# Debian's docker.io is installed. It comes with a daemon, which must not
# start here.
DOCKER_MIN_MAJOR=20
DOCKER_MIN_MINOR=10

# Prints the major and minor version of the docker CLI on PATH, if any.
docker_cli_version ()
{
  command -v docker >/dev/null 2>&1 || return 0
  docker --version 2>/dev/null |
    sed -n 's/^Docker version \([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1 \2/p'
}

docker_cli_supported ()
{
  # shellcheck disable=SC2046
  set -- $(docker_cli_version)
  [ $# -eq 2 ] || return 1
  [ "$1" -gt "$DOCKER_MIN_MAJOR" ] ||
    { [ "$1" -eq "$DOCKER_MIN_MAJOR" ] && [ "$2" -ge "$DOCKER_MIN_MINOR" ]; }
}

if ! docker_cli_supported; then
  PACKAGES="$PACKAGES docker.io"
fi

# kubectl: users reach Berth's Kubernetes with it, and the k3s tests read
# the kubeconfig Berth writes with it. One on PATH is used as it is;
# otherwise Debian's kubernetes-client.
if ! command -v kubectl >/dev/null 2>&1; then
  PACKAGES="$PACKAGES kubernetes-client"
fi

# After any install: the docker CLI that PATH finds must be a supported one.
check_docker_cli ()
{
  docker_cli_supported && return 0
  found=$(command -v docker || true)
  version=$(docker_cli_version | tr ' ' .)
  if [ -z "$found" ]; then
    echo "berth: no docker CLI on PATH after installing docker.io; check the package" >&2
    exit 1
  fi
  if [ -n "$version" ]; then
    echo "berth: $found is docker CLI $version, older than" \
      "$DOCKER_MIN_MAJOR.$DOCKER_MIN_MINOR, the oldest Berth supports;" >&2
  else
    echo "berth: $found does not say its version as the docker CLI does" \
      "(\"docker --version\": \"Docker version X.Y.Z, ...\");" >&2
  fi
  echo "berth: upgrade it, or remove it so that Debian's docker.io (/usr/bin/docker) is found" \
    "first" >&2
  exit 1
}

missing=""
for p in $PACKAGES; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  case "$status" in
    *" installed") ;;
    *) missing="$missing $p" ;;
  esac
done

if [ -z "$missing" ]; then
  check_docker_cli
  exit 0
fi

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
rc=0
$SUDO apt-get install -y -q --no-install-recommends $missing || rc=$?
[ -z "$policy" ] || $SUDO rm -f "$policy"
[ "$rc" -eq 0 ] || exit "$rc"
check_docker_cli
