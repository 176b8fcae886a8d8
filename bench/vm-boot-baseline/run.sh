#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Boot benchmark of Berth's guest image against the stock Debian boot.
#
#   run.sh [-n RUNS] [--baseline DIR] [--engine moby|containerd|none]
#          [--kernel auto|vmlinux|vmlinuz] [--cpu MODEL] [--bios FILE|default]
#          [--timeout SECONDS] [--keep] IMAGE_DIR
#
# IMAGE_DIR and the --baseline DIR come from data/guest/build-image.sh (the
# baseline with --baseline).  Each run boots a fresh VM the way plugins/lima
# does: QEMU under TCG (-machine q35, -cpu max, the qboot firmware), 2
# vCPUs, 2 GiB, -nodefaults, direct kernel boot with the command line of the
# image's manifest.json,
# the root disk as a throwaway qcow2 overlay over rootfs.qcow2, a cidata.iso
# (xorriso -V cidata) with lima.env, ssh_authorized_keys, a boot.sh and a
# provision script, virtio-net user networking with ssh forwarded from a
# free port on 127.0.0.1, and the serial console in a file.  The kernel is
# the image's vmlinux (PVH entry, no decompression) when it has one, else
# vmlinuz (--kernel picks); the CPU model "max" (--cpu) gives the guest
# RDRAND, so its random pool is ready at once.  qboot (shipped with QEMU)
# starts faster than SeaBIOS; --bios default uses SeaBIOS.  Both images boot
# the same way.  It measures, from QEMU's start:
#   ready      the serial line "berth-guest: ready" (sshd listens)
#   ssh        the first `ssh -p PORT user@127.0.0.1 true` that succeeds
#   engine     the serial line "berth-guest: engine ready" (dockerd answers)
#   stop       QMP system_powerdown until QEMU exits (clean guest shutdown)
#   cpu@ready  CPU time QEMU used until "ready" (less noisy than wall time
#              when other work shares the host)
# then checks what a user would (the account, provisioning, etc_environment
# in the session, `docker version` as the user) and prints every run and
# the medians, ours and the baseline side by side.
#
# Environment: QEMU_SYSTEM_X86_64 (the QEMU binary), BERTH_BENCH_QEMU_ARGS
# (more QEMU arguments), BERTH_BENCH_APPEND (more kernel arguments), TMPDIR.

set -euo pipefail
export LC_ALL=C

RUNS=5
BASELINE=
ENGINE=moby
KERNEL=auto
CPU=max
BIOS=qboot.rom
TIMEOUT=180
KEEP=0
IMAGE=

usage ()
{
  sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
}

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
  --baseline)
    [ $# -ge 2 ] || die "--baseline needs the baseline image directory"
    BASELINE=$2
    shift 2
    ;;
  --engine)
    [ $# -ge 2 ] || die "--engine needs moby, containerd or none"
    ENGINE=$2
    shift 2
    ;;
  --kernel)
    [ $# -ge 2 ] || die "--kernel needs auto, vmlinux or vmlinuz"
    KERNEL=$2
    shift 2
    ;;
  --cpu)
    [ $# -ge 2 ] || die "--cpu needs a QEMU CPU model"
    CPU=$2
    shift 2
    ;;
  --bios)
    [ $# -ge 2 ] || die "--bios needs a firmware file name or 'default'"
    BIOS=$2
    shift 2
    ;;
  --timeout)
    [ $# -ge 2 ] || die "--timeout needs seconds"
    TIMEOUT=$2
    shift 2
    ;;
  --keep)
    KEEP=1
    shift
    ;;
  -h | --help)
    usage
    exit 0
    ;;
  -*) die "unknown option '$1' (see --help)" ;;
  *)
    [ -z "$IMAGE" ] || die "one image directory only (got '$IMAGE' and '$1')"
    IMAGE=$1
    shift
    ;;
  esac
done
[ -n "$IMAGE" ] || die "no image directory given (see --help)"
case $RUNS in
'' | *[!0-9]* | 0) die "-n '$RUNS' is not a positive number" ;;
esac
case $TIMEOUT in
'' | *[!0-9]* | 0) die "--timeout '$TIMEOUT' is not a positive number of seconds" ;;
esac
case $ENGINE in
moby | containerd | none) ;;
*) die "--engine '$ENGINE' is not allowed (moby, containerd, none)" ;;
esac
case $KERNEL in
auto | vmlinux | vmlinuz) ;;
*) die "--kernel '$KERNEL' is not allowed (auto, vmlinux, vmlinuz)" ;;
esac
for dir in "$IMAGE" ${BASELINE:+"$BASELINE"}; do
  for f in vmlinuz initrd.img rootfs.qcow2; do
    [ -f "$dir/$f" ] || die "$dir/$f is missing; build it with data/guest/build-image.sh --out $dir"
  done
done

QEMU=${QEMU_SYSTEM_X86_64:-qemu-system-x86_64}
command -v "$QEMU" >/dev/null || die "$QEMU not found (install qemu-system-x86 or set QEMU_SYSTEM_X86_64)"
for tool in qemu-img xorriso ssh ssh-keygen; do
  command -v "$tool" >/dev/null || die "'$tool' is not installed; the benchmark needs it"
done
BIOS_ARGS=()
if [ "$BIOS" != default ]; then
  # A bare name is looked up in QEMU's data directories, as QEMU does.
  found=
  if [[ $BIOS == */* ]]; then
    [ -f "$BIOS" ] && found=$BIOS
  else
    while IFS= read -r datadir; do
      if [ -f "$datadir/$BIOS" ]; then
        found=$BIOS
        break
      fi
    done < <("$QEMU" -L help 2>/dev/null)
  fi
  if [ -n "$found" ]; then
    BIOS_ARGS=(-bios "$found")
  else
    echo "run.sh: note: firmware '$BIOS' not found in QEMU's data directories; using QEMU's default" >&2
    BIOS=default
  fi
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/berth-boot-bench.XXXXXX")
QEMU_PID=
cleanup ()
{
  if [ -n "$QEMU_PID" ]; then
    kill "$QEMU_PID" 2>/dev/null || true
    wait "$QEMU_PID" 2>/dev/null || true
  fi
  jobs -p | xargs -r kill 2>/dev/null || true
  if [ "$KEEP" = 1 ]; then
    echo "kept $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

now_ms ()
{
  echo $(($(date +%s%N) / 1000000))
}

# A TCP port on 127.0.0.1 that nothing listens on.
free_port ()
{
  local used port
  used=$(awk 'NR > 1 && $4 == "0A" { split($2, a, ":"); print strtonum("0x" a[2]) }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -u)
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 40000))
    if ! grep -qx "$port" <<<"$used"; then
      echo "$port"
      return 0
    fi
  done
  die "no free TCP port found on 127.0.0.1"
}

# The throwaway identity and cidata.iso shared by every run.
USER_NAME=bench
USER_UID=$(id -u)
[ "$USER_UID" -ne 0 ] || USER_UID=1000
ssh-keygen -q -t ed25519 -N '' -C berth-bench -f "$WORK/id_ed25519"
mkdir -p "$WORK/cidata/provision.system"
cat >"$WORK/cidata/lima.env" <<EOF
LIMA_CIDATA_MNT=/mnt/lima-cidata
LIMA_CIDATA_USER=$USER_NAME
LIMA_CIDATA_UID=$USER_UID
LIMA_CIDATA_HOME=/home/$USER_NAME.linux
LIMA_CIDATA_MOUNTS=0
LIMA_CIDATA_CONTAINER_ENGINE=$ENGINE
EOF
printf 'instance-id: berth-bench\nlocal-hostname: berth-bench\n' >"$WORK/cidata/meta-data"
printf '#cloud-config\n{}\n' >"$WORK/cidata/user-data"
cp "$WORK/id_ed25519.pub" "$WORK/cidata/ssh_authorized_keys"
printf '#!/bin/sh\necho "boot.sh: user $LIMA_CIDATA_USER" >/run/berth-bench-boot\n' \
  >"$WORK/cidata/boot.sh"
printf '#!/bin/sh\necho "provisioned BENCH=$BENCH" >/run/berth-bench-provision\n' \
  >"$WORK/cidata/provision.system/00-bench"
printf 'BENCH=1\n' >"$WORK/cidata/etc_environment"
chmod 0755 "$WORK/cidata/boot.sh" "$WORK/cidata/provision.system/00-bench"
xorriso -as mkisofs -quiet -V cidata -R -o "$WORK/cidata.iso" "$WORK/cidata" 2>/dev/null ||
  die "xorriso failed to write $WORK/cidata.iso"

SSH_OPTS=(-i "$WORK/id_ed25519" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
  -o LogLevel=ERROR -o BatchMode=yes -o ConnectTimeout=30 -o IdentitiesOnly=yes)

# Boot IMAGE_DIR once; writes "ready ssh engine stop" in seconds ("-" when
# not reached) to $WORK/run-RUN/result.
boot_once ()
{
  local image=$1 run=$2 dir port start t now elapsed
  local t_ready=- t_ssh=- t_engine=- t_stop=- c_ready=- cmdline kernel
  dir="$WORK/run-$run"
  mkdir -p "$dir"
  qemu-img create -q -f qcow2 -F qcow2 -b "$(readlink -f "$image/rootfs.qcow2")" \
    "$dir/disk.qcow2"
  mkfifo "$dir/qmp.in" "$dir/qmp.out"
  port=$(free_port)
  cmdline="root=/dev/vda rw console=ttyS0"
  if [ -f "$image/manifest.json" ]; then
    cmdline=$(sed -n 's/^ *"kernel_cmdline": *"\(.*\)",$/\1/p' "$image/manifest.json")
  fi
  kernel=$image/vmlinuz
  if [ "$KERNEL" = vmlinux ] || { [ "$KERNEL" = auto ] && [ -f "$image/vmlinux" ]; }; then
    kernel=$image/vmlinux
    [ -f "$kernel" ] || die "$kernel is missing (--kernel vmlinux)"
  fi
  echo "$kernel" >"$dir/kernel"
  start=$(now_ms)
  # shellcheck disable=SC2086 # extra arguments are split on purpose
  "$QEMU" -accel tcg -machine q35 -smp 2 -m 2048 -nodefaults -no-user-config \
    -display none -boot strict=on -cpu "$CPU" "${BIOS_ARGS[@]}" \
    -kernel "$kernel" -initrd "$image/initrd.img" \
    -append "$cmdline ${BERTH_BENCH_APPEND:-}" \
    -drive "file=$dir/disk.qcow2,if=virtio,format=qcow2,discard=unmap" \
    -drive "file=$WORK/cidata.iso,if=virtio,format=raw,readonly=on,media=disk" \
    -netdev "user,id=net0,hostfwd=tcp:127.0.0.1:$port-:22" \
    -device virtio-net-pci,netdev=net0 \
    -chardev "file,id=serial0,path=$dir/serial.log" -serial chardev:serial0 \
    -chardev "pipe,id=qmp0,path=$dir/qmp" -mon chardev=qmp0,mode=control \
    ${BERTH_BENCH_QEMU_ARGS:-} \
    >"$dir/qemu.log" 2>&1 &
  QEMU_PID=$!
  exec 7<>"$dir/qmp.in"
  cat "$dir/qmp.out" >"$dir/qmp.log" &
  echo '{"execute":"qmp_capabilities"}' >&7

  local next_ssh=$start probe_pid=
  while :; do
    now=$(now_ms)
    elapsed=$((now - start))
    if ! kill -0 "$QEMU_PID" 2>/dev/null; then
      echo "run.sh: QEMU exited early in run $run; see below" >&2
      break
    fi
    if [ "$t_ready" = - ] && grep -q 'berth-guest: ready' "$dir/serial.log" 2>/dev/null; then
      t_ready=$elapsed
      c_ready=$(qemu_cpu_ms "$QEMU_PID")
    fi
    if [ "$t_engine" = - ] && grep -q 'berth-guest: engine ready' "$dir/serial.log" 2>/dev/null; then
      t_engine=$elapsed
    fi
    # SSH is tried in the background so that the serial markers keep being
    # timed, one attempt at a time.  First a cheap probe waits for sshd's
    # banner (1 s each, every 100 ms): a connection made before the guest's
    # network is up hangs in QEMU's slirp until the guest answers, and a
    # full ssh attempt would hold the clock for its whole timeout.  After a
    # banner, real `ssh ... true` attempts run until one succeeds.
    if [ "$t_ssh" = - ]; then
      if [ -s "$dir/ssh-ok" ]; then
        t_ssh=$(($(head -n 1 "$dir/ssh-ok") - start))
      elif [ -n "$probe_pid" ] && kill -0 "$probe_pid" 2>/dev/null; then
        :
      elif [ "$now" -ge "$next_ssh" ]; then
        if [ -f "$dir/banner" ]; then
          (timeout 60 ssh "${SSH_OPTS[@]}" -p "$port" "$USER_NAME@127.0.0.1" true \
            </dev/null >/dev/null 2>&1 && now_ms >>"$dir/ssh-ok") >/dev/null 2>&1 &
        else
          (timeout 1 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && read -r -t 1 line <&3 &&
            [[ $line == SSH-* ]]' probe "$port" && : >"$dir/banner") >/dev/null 2>&1 &
        fi
        probe_pid=$!
        next_ssh=$((now + 100))
      fi
    fi
    if [ "$t_ready" != - ] && [ "$t_ssh" != - ] &&
      { [ "$t_engine" != - ] || [ "$ENGINE" = none ]; }; then
      break
    fi
    if [ "$elapsed" -gt $((TIMEOUT * 1000)) ]; then
      echo "run.sh: run $run timed out after ${TIMEOUT}s" >&2
      break
    fi
    sleep 0.05
  done

  # What a user would check: the account, provisioning, the engine socket.
  if [ "$t_ssh" != - ]; then
    local check
    check=$(ssh "${SSH_OPTS[@]}" -p "$port" "$USER_NAME@127.0.0.1" \
      'cat /run/berth-bench-boot /run/berth-bench-provision; id -nG; echo "BENCH=$BENCH";
       if [ -S /run/docker.sock ]; then docker version --format "docker {{.Server.Version}}"; fi
       cat /var/log/berth-guest.log 2>/dev/null' \
      2>&1 </dev/null) || true
    echo "$check" >"$dir/check.log"
    grep -q "provisioned BENCH=1" <<<"$check" ||
      echo "run.sh: warning: run $run: provisioning not seen: $check" >&2
    if [ "$ENGINE" = moby ] && ! grep -q '^docker ' <<<"$check"; then
      echo "run.sh: warning: run $run: the user cannot reach dockerd: $check" >&2
    fi
  fi

  # Clean shutdown through ACPI, as Berth's stop does.
  if kill -0 "$QEMU_PID" 2>/dev/null; then
    t=$(now_ms)
    echo '{"execute":"system_powerdown"}' >&7
    for _ in $(seq 1 600); do
      kill -0 "$QEMU_PID" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$QEMU_PID" 2>/dev/null; then
      echo "run.sh: warning: run $run: the guest ignored system_powerdown for 60 s; killing QEMU" >&2
      kill "$QEMU_PID" 2>/dev/null || true
    else
      t_stop=$(($(now_ms) - t))
    fi
  fi
  wait "$QEMU_PID" 2>/dev/null || true
  QEMU_PID=
  exec 7>&-
  jobs -p | xargs -r kill 2>/dev/null || true
  wait 2>/dev/null || true

  if [ "$t_ready" = - ] || [ "$t_ssh" = - ]; then
    echo "--- serial console of run $run ($image) ---" >&2
    tail -n 30 "$dir/serial.log" >&2 || true
    cat "$dir/qemu.log" >&2 || true
  fi
  echo "$(seconds "$t_ready") $(seconds "$t_ssh") $(seconds "$t_engine")" \
    "$(seconds "$t_stop") $(seconds "$c_ready")" >"$dir/result"
  [ "$KEEP" = 1 ] || rm -f "$dir/disk.qcow2"
}

# Milliseconds as seconds with two decimals; "-" stays.
seconds ()
{
  if [ "$1" = - ]; then
    echo -
  else
    printf '%d.%02d' $(($1 / 1000)) $(($1 % 1000 / 10))
  fi
}

# CPU time (user + system, all threads) QEMU has used so far, in ms: less
# sensitive than wall time to other load on the host.
qemu_cpu_ms ()
{
  local fields
  read -r -a fields <"/proc/$1/stat" || {
    echo -
    return
  }
  # Fields 14 and 15 (utime, stime) in clock ticks; the command name (field
  # 2) has no spaces here.
  echo $(((fields[13] + fields[14]) * 1000 / $(getconf CLK_TCK)))
}

median ()
{
  # Reads numbers ("-" for missing) on stdin; prints the median of the
  # numbers and how many were missing.
  sort -g | awk '$1 != "-" { v[++n] = $1 } $1 == "-" { miss++ }
    END {
      if (n == 0) { printf "-"; exit }
      m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
      printf "%.2f", m
      if (miss) printf " (%d failed)", miss
    }'
}

declare -A RESULTS
variants=(ours)
[ -z "$BASELINE" ] || variants+=(baseline)

echo "Berth guest boot benchmark: $RUNS run(s), TCG, q35, 2 vCPUs, 2 GiB, -cpu $CPU, bios $BIOS, kernel $KERNEL, engine $ENGINE"
echo "host load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$(nproc) host CPUs; $("$QEMU" --version | head -n 1)"
printf '%-9s %4s %8s %8s %8s %8s %10s\n' variant run ready ssh engine stop cpu@ready
for run in $(seq 1 "$RUNS"); do
  for variant in "${variants[@]}"; do
    if [ "$variant" = ours ]; then image=$IMAGE; else image=$BASELINE; fi
    boot_once "$image" "$variant-$run"
    line=$(cat "$WORK/run-$variant-$run/result")
    RESULTS[$variant]+="$line"$'\n'
    read -r a b c d e <<<"$line"
    printf '%-9s %4s %8s %8s %8s %8s %10s\n' "$variant" "$run" "$a" "$b" "$c" "$d" "$e"
  done
done

echo
echo "Median of $RUNS run(s), seconds from QEMU's start:"
printf '%-34s %12s %12s\n' "" ours "${BASELINE:+baseline}"
col=1
for what in "serial \"berth-guest: ready\"" "ssh user@127.0.0.1 true succeeds" \
  "serial \"berth-guest: engine ready\"" "system_powerdown to QEMU exit" \
  "QEMU CPU time at \"ready\""; do
  ours=$(printf '%s' "${RESULTS[ours]}" | awk -v c=$col '{ print $c }' | median)
  base=
  if [ -n "$BASELINE" ]; then
    base=$(printf '%s' "${RESULTS[baseline]}" | awk -v c=$col '{ print $c }' | median)
  fi
  printf '%-34s %12s %12s\n' "$what" "$ours" "$base"
  col=$((col + 1))
done
echo "host load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (the figures grow with other load on the host's $(nproc) CPUs)"
