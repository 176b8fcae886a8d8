#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# make-fake-release.sh DIR VERSION [ARCH] [BINARY] — a FAKE k3s release for
# tests, in the layout fake-mirror.sh serves: DIR/VERSION/ with the binary
# (k3s, or k3s-arm64 for arm64), the air-gap images
# (k3s-airgap-images-ARCH.tar.zst) and sha256sum-ARCH.txt listing both.
#
# The binary is BINARY when given (the fake k3s of the VM tests), else a
# small script that says it is a fake. The images are not an archive: a
# known text, some 600 kB of it, so that a download takes several pieces.
# ARCH is amd64 (the default) or arm64. Files already in DIR/VERSION are
# kept, and listed in the checksum file too.
set -eu

if [ $# -lt 2 ] || [ $# -gt 4 ]; then
  echo "usage: $0 DIR VERSION [ARCH] [BINARY] (makes a fake k3s release)" >&2
  exit 2
fi
dir=$1
version=$2
arch=${3:-amd64}
binary_source=${4:-}

case $arch in
  amd64) binary=k3s ;;
  arm64) binary=k3s-arm64 ;;
  *) echo "make-fake-release: no fake release for the architecture $arch (amd64, arm64)" >&2; exit 2 ;;
esac

release="$dir/$version"
mkdir -p "$release"
if [ -n "$binary_source" ]; then
  cp "$binary_source" "$release/$binary"
else
  printf '#!/bin/sh\necho "fake k3s %s (%s): a stand-in for tests, not k3s" >&2\nexit 1\n' \
    "$version" "$arch" > "$release/$binary"
fi
chmod 0755 "$release/$binary"

images="$release/k3s-airgap-images-$arch.tar.zst"
awk -v version="$version" -v arch="$arch" 'BEGIN {
  for (i = 0; i < 10000; i++)
    printf "fake air-gap images of k3s %s for %s, line %d (not an archive)\n", version, arch, i
}' > "$images"

(
  cd "$release"
  # Every file of the release but the checksum files themselves, as k3s's
  # own sha256sum files list their release's files.
  ls | grep -v '^sha256sum-' | sort | xargs sha256sum > "sha256sum-$arch.txt"
)
