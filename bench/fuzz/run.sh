#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# How fast the fuzz targets of tests/fuzz run and how far they get.
#
#   run.sh [-t MINUTES] [--build DIR]
#
# Configures DIR (default ./build-fuzz) as a fuzzing build (-Dfuzzing=true,
# CC=clang unless CC is set) when it is not one yet, builds it, then fuzzes
# each target of the fuzz suite for MINUTES (default 1), one after the
# other so that they do not share the CPUs, through `meson test` with the
# suite's own arguments, dictionaries and environment. Each starts from its
# seed corpus and from what earlier runs kept in DIR/tests/fuzz/corpus/.
# Prints, per target, from the fuzzer's final statistics: inputs run per
# second, coverage (cov: edges and ft: features reached), the corpus at the
# end (inputs and bytes), and the crashes found. A target stops at its
# first crash, whose input is in DIR/tests/fuzz/artifacts/; the exit status
# is then 1. Scratch files go to $TMPDIR, /dev/shm when it is not set.

set -eu
LC_ALL=C
export LC_ALL

HERE=$(cd "$(dirname "$0")" && pwd)
SOURCE=$(cd "$HERE/../.." && pwd)
MINUTES=1
BUILD=$SOURCE/build-fuzz

die ()
{
  echo "run.sh: error: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case $1 in
  -t)
    [ $# -ge 2 ] || die "-t needs a number of minutes"
    MINUTES=$2
    shift 2
    ;;
  --build)
    [ $# -ge 2 ] || die "--build needs the meson build directory"
    BUILD=$2
    shift 2
    ;;
  -h | --help)
    sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
    exit 0
    ;;
  *) die "unknown argument '$1' (see --help)" ;;
  esac
done
case $MINUTES in
'' | *[!0-9]* | 0) die "-t takes a positive whole number of minutes, not '$MINUTES'" ;;
esac
command -v meson >/dev/null || die "meson is needed to configure and run the fuzz targets"

if [ -d "$BUILD/meson-info" ]; then
  meson configure "$BUILD" -Dfuzzing=true >/dev/null ||
    die "$BUILD cannot be a fuzzing build (is it configured with CC=clang?); use another --build"
else
  echo "Configuring $BUILD for fuzzing…" >&2
  CC=${CC:-clang} meson setup "$BUILD" "$SOURCE" -Dfuzzing=true >/dev/null ||
    die "could not configure $BUILD with -Dfuzzing=true; see $BUILD/meson-logs/meson-log.txt"
fi
echo "Building $BUILD…" >&2
meson compile -C "$BUILD" >/dev/null || die "the build in $BUILD failed; run meson compile -C $BUILD"

# The targets, as the fuzz suite lists them ("berth:fuzz / fuzz-json").
TARGETS=
for test in $(meson test -C "$BUILD" --no-rebuild --suite fuzz --list 2>/dev/null); do
  case $test in
  fuzz-*) TARGETS="$TARGETS ${test#fuzz-}" ;;
  esac
done
[ -n "$TARGETS" ] || die "$BUILD has no fuzz targets; is it configured with -Dfuzzing=true?"

# The settings and lima.yaml targets write files for each input: in memory
# when the machine has a RAM-backed directory, not on the disk.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
  TMPDIR=/dev/shm
  export TMPDIR
fi

ARTIFACTS=$BUILD/tests/fuzz/artifacts
LOGS=$BUILD/meson-logs
SECONDS_EACH=$((MINUTES * 60))
# The suite's timeout is for a 10 s run: enough for MINUTES and start-up.
MULTIPLIER=$((MINUTES + 1))

count ()
{
  [ -e "$1" ] || {
    echo 0
    return
  }
  echo $#
}

# The value after the word $1 in the words that follow it.
word_after ()
{
  want=$1
  shift
  while [ $# -gt 1 ]; do
    if [ "$1" = "$want" ]; then
      echo "$2"
      return
    fi
    shift
  done
  echo -
}

FAILED=0
RESULTS=
echo "Fuzzing each target for $MINUTES minute(s), one at a time ($(nproc 2>/dev/null || echo "?") CPUs, load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?"))" >&2
for name in $TARGETS; do
  before=$(count "$ARTIFACTS/$name-"*)
  log=bench-fuzz-$name
  echo "  $name…" >&2
  status=ok
  meson test -C "$BUILD" --no-rebuild --num-processes 1 --timeout-multiplier "$MULTIPLIER" \
    --logbase "$log" "--test-args=-max_total_time=$SECONDS_EACH" "fuzz-$name" >/dev/null 2>&1 ||
    status=failed
  after=$(count "$ARTIFACTS/$name-"*)

  # The last line with the coverage, and the final statistics.
  last= execs=- units=-
  while IFS= read -r line; do
    case $line in
    '#'*cov:*) last=$line ;;
    stat::average_exec_per_sec:*) execs=${line##* } ;;
    stat::number_of_executed_units:*) units=${line##* } ;;
    esac
  done <"$LOGS/$log.txt"
  # shellcheck disable=SC2086 # the stats line is split into its words
  set -- $last
  cov=$(word_after cov: "$@")
  ft=$(word_after ft: "$@")
  corpus=$(word_after corp: "$@")
  crashes=$((after - before))
  if [ "$status" = failed ] || [ "$crashes" -gt 0 ]; then
    FAILED=1
    [ "$crashes" -gt 0 ] || crashes="failed (see $LOGS/$log.txt)"
  fi
  RESULTS="$RESULTS$name $execs $units $cov $ft $corpus $crashes
"
done

printf '\n%-12s %10s %12s %8s %8s %16s  %s\n' target "execs/s" inputs "cov" "ft" "corpus (n/size)" crashes
printf '%s' "$RESULTS" | while read -r name execs units cov ft corpus crashes; do
  printf '%-12s %10s %12s %8s %8s %16s  %s\n' "$name" "$execs" "$units" "$cov" "$ft" "$corpus" "$crashes"
done
if [ "$FAILED" = 1 ]; then
  echo "Crash inputs are in $ARTIFACTS; replay one with $BUILD/tests/fuzz/fuzz-TARGET FILE." >&2
fi
exit "$FAILED"
