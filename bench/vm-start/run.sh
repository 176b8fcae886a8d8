#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Start → SSH-ready of Berth's lima backend, beside the naive baseline.
#
#   run.sh [-n RUNS] [--build DIR] [--image-cache DIR]
#          [--baseline-image DIR | --baseline-seconds S]
#
# Times RUNS starts of one instance through the plugin (berth-bench-vm-start,
# built in the build directory DIR, default ./build) with the guest image
# cached, under TCG, and prints the median. The baseline is the same Debian
# guest with a stock systemd userland and Debian's generic initrd booted by
# plain QEMU: with --baseline-image DIR (made by
# `data/guest/build-image.sh --baseline --out DIR`) it is measured here by
# bench/vm-boot-baseline/run.sh, its "ssh user@127.0.0.1 true succeeds"
# median; with --baseline-seconds it is taken as given.
#
# The image cache defaults to the build directory's plugins/lima/vm-image-cache,
# the one the vm test suite fills.

set -eu
LC_ALL=C
export LC_ALL

HERE=$(cd "$(dirname "$0")" && pwd)
SOURCE=$(cd "$HERE/../.." && pwd)
RUNS=5
BUILD=$SOURCE/build
IMAGE_CACHE=
BASELINE_IMAGE=
BASELINE_SECONDS=

die ()
{
  echo "run.sh: error: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case $1 in
  -n)
    [ $# -ge 2 ] || die "-n needs a number of runs"
    RUNS=$2
    shift 2
    ;;
  --build)
    [ $# -ge 2 ] || die "--build needs the meson build directory"
    BUILD=$2
    shift 2
    ;;
  --image-cache)
    [ $# -ge 2 ] || die "--image-cache needs a directory"
    IMAGE_CACHE=$2
    shift 2
    ;;
  --baseline-image)
    [ $# -ge 2 ] || die "--baseline-image needs the baseline image directory"
    BASELINE_IMAGE=$2
    shift 2
    ;;
  --baseline-seconds)
    [ $# -ge 2 ] || die "--baseline-seconds needs a number"
    BASELINE_SECONDS=$2
    shift 2
    ;;
  -h | --help)
    sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
    exit 0
    ;;
  *) die "unknown argument '$1' (see --help)" ;;
  esac
done

BENCH=$BUILD/plugins/lima/berth-bench-vm-start
[ -x "$BENCH" ] || die "$BENCH is missing; build with: meson setup $BUILD && ninja -C $BUILD"
[ -n "$IMAGE_CACHE" ] || IMAGE_CACHE=$BUILD/plugins/lima/vm-image-cache

# The recipe as it is now, so that an edit during the runs does not make
# them rebuild the image.
FROZEN=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench-recipe.XXXXXX")
trap 'rm -rf "$FROZEN"' EXIT
cp -a "$SOURCE/data/guest" "$FROZEN/guest"

if [ -n "$BASELINE_IMAGE" ]; then
  hash=$("$FROZEN/guest/recipe-hash.sh")
  ours=$IMAGE_CACHE/$hash
  [ -f "$ours/rootfs.qcow2" ] ||
    die "$ours has no image yet; run the vm tests (meson test -C $BUILD --suite vm) or this script without --baseline-image first"
  echo "Measuring the baseline with bench/vm-boot-baseline/run.sh…" >&2
  out=$("$SOURCE/bench/vm-boot-baseline/run.sh" -n "$RUNS" --baseline "$BASELINE_IMAGE" "$ours")
  echo "$out" >&2
  BASELINE_SECONDS=$(echo "$out" | awk '/^ssh user@127.0.0.1 true succeeds/ { print $NF }')
  case $BASELINE_SECONDS in
  '' | *[!0-9.]*) die "could not read the baseline's median from bench/vm-boot-baseline/run.sh" ;;
  esac
fi

BERTH_PLUGIN_PATH=$BUILD/plugins/lima
BERTH_DATA_DIR=$FROZEN
export BERTH_PLUGIN_PATH BERTH_DATA_DIR
if [ -n "$BASELINE_SECONDS" ]; then
  "$BENCH" -n "$RUNS" --image-cache "$IMAGE_CACHE" --baseline-seconds "$BASELINE_SECONDS"
else
  "$BENCH" -n "$RUNS" --image-cache "$IMAGE_CACHE"
fi
