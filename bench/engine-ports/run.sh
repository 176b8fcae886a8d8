#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# What a docker user waits for, through berthd and berthctl on the real VM:
#   - `berthctl start --wait` until dockerd answers on the host's docker.sock;
#   - a port that starts listening in the guest until it answers on the host's
#     127.0.0.1 (the issue's target: within a second or two), and until the
#     forward is gone once it closes.
#
#   run.sh [-n RUNS] [--build DIR] [--image-cache DIR] [--baseline-seconds S]
#
# Uses a throwaway $HOME, the build directory's plugins (default ./build) and
# the guest image cache the vm suite fills (DIR/plugins/lima/vm-image-cache);
# the image is built there first when missing. Prints the medians of RUNS
# beside the targets. --baseline-seconds S prints S as the engine-ready time
# of the naive guest (stock systemd Debian, measured by
# bench/vm-boot-baseline/run.sh --baseline) beside Berth's.

set -eu
LC_ALL=C
export LC_ALL

HERE=$(cd "$(dirname "$0")" && pwd)
SOURCE=$(cd "$HERE/../.." && pwd)
RUNS=5
BUILD=$SOURCE/build
IMAGE_CACHE=
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
  --baseline-seconds)
    [ $# -ge 2 ] || die "--baseline-seconds needs a number"
    BASELINE_SECONDS=$2
    shift 2
    ;;
  -h | --help)
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *) die "unknown argument '$1' (see --help)" ;;
  esac
done
case $RUNS in
'' | *[!0-9]* | 0) die "-n takes a positive number of runs, not '$RUNS'" ;;
esac

BUILD=$(cd "$BUILD" && pwd) || die "no build directory $BUILD (run scripts/build.sh)"
BERTHCTL=$BUILD/frontends/cli/berthctl
[ -x "$BERTHCTL" ] || die "$BERTHCTL is not built (run scripts/build.sh)"
[ -n "$IMAGE_CACHE" ] || IMAGE_CACHE=$BUILD/plugins/lima/vm-image-cache
command -v perl >/dev/null || die "perl is needed to time the connections"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench-engine-ports.XXXXXX")
cleanup ()
{
  "$BERTHCTL" shutdown >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

export HOME="$WORK/home"
unset XDG_CONFIG_HOME XDG_DATA_HOME XDG_CACHE_HOME XDG_RUNTIME_DIR DOCKER_HOST DOCKER_CONTEXT \
  DOCKER_CONFIG
mkdir -p "$HOME/.cache/berth" "$IMAGE_CACHE"
ln -s "$IMAGE_CACHE" "$HOME/.cache/berth/images"
unset BERTH_PLUGIN_PATH
. "$SOURCE/scripts/build-tree-env.sh"
berth_build_tree_env "$BUILD" "$SOURCE"
export BERTH_API_PORT=0

now ()
{
  perl -MTime::HiRes=time -e 'printf "%.3f\n", time'
}

# Seconds until 127.0.0.1:$1 answers with a line ($2 = "open") or refuses
# ($2 = "closed"); gives up after 30 s.
wait_port ()
{
  perl -MIO::Socket::INET -MTime::HiRes=time,sleep -e '
    my ($port, $want) = @ARGV;
    my $start = time;
    while (time - $start < 30) {
      my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port, Timeout => 2);
      my $line = $s ? <$s> : undef;
      if ($want eq "open" ? defined $line && $line =~ /^berth-bench/ : !$s) {
        printf "%.3f\n", time - $start;
        exit 0;
      }
      sleep 0.02;
    }
    exit 1' "$1" "$2"
}

median ()
{
  sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

free_port ()
{
  perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1")->sockport, "\n"'
}

echo "First start (builds the guest image when $IMAGE_CACHE has none)…" >&2
"$BERTHCTL" start --wait --wait-timeout 1800 >/dev/null

: >"$WORK/engine"
: >"$WORK/open"
: >"$WORK/closed"
i=0
while [ $i -lt "$RUNS" ]; do
  i=$((i + 1))
  "$BERTHCTL" stop >/dev/null
  started=$(now)
  "$BERTHCTL" start --wait >/dev/null
  ended=$(now)
  awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.3f\n", b - a }' >>"$WORK/engine"

  # The listener binds before the command returns, as `docker run -d -p`
  # has its port bound when it returns; timed from there.
  port=$(free_port)
  pid=$("$BERTHCTL" shell -- perl -MIO::Socket::INET -e '
    my $l = IO::Socket::INET->new(Listen => 5, LocalAddr => "0.0.0.0", LocalPort => $ARGV[0],
                                  ReuseAddr => 1) or die "listen: $!";
    if (my $pid = fork) { print "$pid\n"; exit 0 }
    open STDIN, "<", "/dev/null"; open STDOUT, ">", "/dev/null"; open STDERR, ">", "/dev/null";
    while (my $c = $l->accept) { print $c "berth-bench\n"; close $c }' "$port")
  wait_port "$port" open >>"$WORK/open" || die "127.0.0.1:$port never answered"
  "$BERTHCTL" shell -- kill "$pid"
  wait_port "$port" closed >>"$WORK/closed" || die "127.0.0.1:$port still answers after the listener ended"
  printf 'run %d: engine %.2f s, port open %.2f s, port gone %.2f s\n' "$i" \
    "$(tail -1 "$WORK/engine")" "$(tail -1 "$WORK/open")" "$(tail -1 "$WORK/closed")" >&2
done

accel=$("$BERTHCTL" info --field accel)
printf 'berthctl start --wait until dockerd answers on docker.sock (%s, image cached): %.2f s (median of %d)\n' \
  "$accel" "$(median <"$WORK/engine")" "$RUNS"
if [ -n "$BASELINE_SECONDS" ]; then
  printf '  naive guest (stock systemd Debian, plain QEMU) until dockerd answers: %s s\n' "$BASELINE_SECONDS"
fi
printf 'guest port listening until it answers on 127.0.0.1: %.2f s (median of %d) | target: 1-2 s\n' \
  "$(median <"$WORK/open")" "$RUNS"
printf 'guest port closed until the host forward is gone: %.2f s (median of %d) | target: 1-2 s\n' \
  "$(median <"$WORK/closed")" "$RUNS"
