# SPDX-License-Identifier: GPL-3.0-or-later
# Berth guest: functions shared by the fast path (boot, shutdown) and the
# baseline image's systemd units.  Sourced by scripts that run under
# busybox sh: its applets (mount, mkdir, ip, sed, ...) run without an exec,
# which under TCG is several times cheaper than dash calling coreutils.
# What busybox lacks (blkid, sshd, ...) comes from PATH; kmod's modprobe is
# called by its path because it honours modprobe.d and soft dependencies.
#
# The contract with the host (plugins/lima) is data/guest/README.md in
# Berth's source tree.

# BERTH_ROOT (for the account and environment files) and BERTH_CONSOLE are
# only set by data/guest/tests/test-lib.sh, to run these on a scratch tree.
BERTH_ROOT=${BERTH_ROOT:-}
BERTH_CONSOLE=${BERTH_CONSOLE:-/dev/console}
BERTH_LOG=$BERTH_ROOT/var/log/berth-guest.log
BERTH_PROVISION_LOG=$BERTH_ROOT/var/log/berth-provision.log
BERTH_RUN=/run/berth-guest
BERTH_GUEST_LIB=/usr/lib/berth-guest
BERTH_SSHD_ENV=$BERTH_ROOT/etc/ssh/sshd_config.d/50-berth-environment.conf
# The host's CA certificates, one file each, and its proxy environment.
BERTH_CA_DIR=$BERTH_ROOT/usr/local/share/ca-certificates/berth
BERTH_CA_BUNDLE=$BERTH_ROOT/etc/ssl/certs/ca-certificates.crt
BERTH_PROXY_ENV=$BERTH_ROOT/etc/berth/proxy.env
LIMA_CIDATA_MNT=/mnt/lima-cidata
MODPROBE=/usr/sbin/modprobe
CR=$(printf '\r')

# Default QEMU user-mode network (slirp).
BERTH_DEFAULT_IP=10.0.2.15
BERTH_DEFAULT_GATEWAY=10.0.2.2
BERTH_DEFAULT_DNS=10.0.2.3

log ()
{
  read -r uptime _ </proc/uptime
  # Quietly: at the end of a shutdown the root file system is read-only.
  echo "[$uptime] $*" 2>/dev/null >>"$BERTH_LOG"
}

# A line on the serial console, where the host reads the markers.
say ()
{
  echo "berth-guest: $*" >>"$BERTH_CONSOLE"
  log "$*"
}

warn ()
{
  say "warning: $*"
}

# Export NAME=VALUE lines of FILE (as Lima's boot.sh does: VALUE is taken
# verbatim, nothing is evaluated).  With a second argument, only names that
# start with it are taken.
load_env_file ()
{
  file=$1
  prefix=${2:-}
  [ -f "$file" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%"$CR"}
    case $line in
    '' | '#'*) continue ;;
    esac
    name=${line%%=*}
    case $name in
    "$line" | '' | [0-9]* | *[!A-Za-z0-9_]*)
      warn "ignoring a line of ${file##*/} that is not NAME=VALUE (NAME of letters, digits and '_'): $line"
      continue
      ;;
    esac
    case $name in
    "$prefix"*) ;;
    *)
      warn "ignoring $name in ${file##*/}: only names starting with $prefix are read there"
      continue
      ;;
    esac
    export "$name=${line#*=}"
  done <"$file"
}

# Print the device holding the cidata file system (label "cidata"), if any.
find_cidata_device ()
{
  blkid -c /dev/null -L cidata 2>/dev/null ||
    blkid -c /dev/null -L CIDATA 2>/dev/null
}

# Mount the cidata disk on $LIMA_CIDATA_MNT and export lima.env.  A virtio
# disk is there at once; a CD-ROM needs its controller's drivers, loaded
# only then.
mount_cidata ()
{
  device=$(find_cidata_device)
  if [ -z "$device" ]; then
    $MODPROBE -q -a sr_mod ata_piix ahci virtio_scsi
    tries=0
    while [ -z "$device" ] && [ $tries -lt 30 ]; do
      sleep 0.1
      device=$(find_cidata_device)
      tries=$((tries + 1))
    done
  fi
  if [ -z "$device" ]; then
    warn "no disk labelled 'cidata' (attach cidata.iso as a virtio disk or CD-ROM): no user, no SSH key, no provisioning"
    return 1
  fi
  mkdir -p "$LIMA_CIDATA_MNT"
  if ! mount -t iso9660 -o ro "$device" "$LIMA_CIDATA_MNT" 2>/dev/null &&
    ! mount -o ro "$device" "$LIMA_CIDATA_MNT"; then
    warn "cannot mount the cidata disk $device on $LIMA_CIDATA_MNT"
    return 1
  fi
  log "cidata: $device on $LIMA_CIDATA_MNT"
  export LIMA_CIDATA_MNT
  load_env_file "$LIMA_CIDATA_MNT/lima.env" LIMA_
  return 0
}

# Hostname from meta-data's "local-hostname:", else "berth".
setup_hostname ()
{
  name=
  if [ -f "$LIMA_CIDATA_MNT/meta-data" ]; then
    while IFS= read -r line; do
      case $line in
      local-hostname:*)
        name=${line#local-hostname:}
        name=${name%"$CR"}
        set -f
        # shellcheck disable=SC2086 # word splitting trims the value
        set -- $name
        set +f
        name=${1:-}
        name=${name#\"}
        name=${name%\"}
        ;;
      esac
    done <"$LIMA_CIDATA_MNT/meta-data"
  fi
  case $name in
  '') name=berth ;;
  -* | *[!A-Za-z0-9.-]* | ??????????????????????????????????????????????????????????????????*)
    warn "meta-data local-hostname '$name' is not a host name (up to 63 letters, digits, '-', '.'); using 'berth'"
    name=berth
    ;;
  esac
  echo "$name" >/proc/sys/kernel/hostname
  echo "$name" >/etc/hostname
  BERTH_HOSTNAME=$name
}

valid_ipv4 ()
{
  case $1 in
  *[!0-9.]* | *..* | .* | *.) return 1 ;;
  *.*.*.*.*) return 1 ;;
  *.*.*.*) return 0 ;;
  *) return 1 ;;
  esac
}

# The slirp addresses: lima.env may change them, else QEMU's defaults.
read_network_settings ()
{
  BERTH_IP=${LIMA_CIDATA_SLIRP_IP_ADDRESS:-$BERTH_DEFAULT_IP}
  BERTH_GATEWAY=${LIMA_CIDATA_SLIRP_GATEWAY:-$BERTH_DEFAULT_GATEWAY}
  BERTH_DNS=${LIMA_CIDATA_SLIRP_DNS:-$BERTH_DEFAULT_DNS}
  if ! valid_ipv4 "$BERTH_IP"; then
    warn "LIMA_CIDATA_SLIRP_IP_ADDRESS='$BERTH_IP' is not an IPv4 address; using $BERTH_DEFAULT_IP"
    BERTH_IP=$BERTH_DEFAULT_IP
  fi
  if ! valid_ipv4 "$BERTH_GATEWAY"; then
    warn "LIMA_CIDATA_SLIRP_GATEWAY='$BERTH_GATEWAY' is not an IPv4 address; using $BERTH_DEFAULT_GATEWAY"
    BERTH_GATEWAY=$BERTH_DEFAULT_GATEWAY
  fi
  if ! valid_ipv4 "$BERTH_DNS"; then
    warn "LIMA_CIDATA_SLIRP_DNS='$BERTH_DNS' is not an IPv4 address; using $BERTH_DEFAULT_DNS"
    BERTH_DNS=$BERTH_DEFAULT_DNS
  fi
}

# Static addressing on QEMU's user network: no DHCP round trip.
setup_network ()
{
  read_network_settings
  ip link set lo up
  if ! ip addr add "$BERTH_IP/24" dev eth0 || ! ip link set eth0 up ||
    ! ip route add default via "$BERTH_GATEWAY"; then
    warn "could not configure eth0 as $BERTH_IP/24 via $BERTH_GATEWAY (is there a virtio-net device?)"
  fi
  echo "nameserver $BERTH_DNS" >/etc/resolv.conf
}

# /etc/hosts with the names of the host (the slirp gateway).
setup_hosts ()
{
  [ -n "${BERTH_GATEWAY:-}" ] || read_network_settings
  cat >/etc/hosts <<EOF
127.0.0.1	localhost
127.0.1.1	${BERTH_HOSTNAME:-berth}
::1	localhost ip6-localhost ip6-loopback
$BERTH_GATEWAY	host.berth.internal host.docker.internal host.lima.internal
EOF
}

# Print the line of FILE (passwd or group format) whose field $2 (1 = name,
# 3 = id) is $3.
find_entry ()
{
  file=$1
  field=$2
  value=$3
  while IFS= read -r entry; do
    rest=$entry
    i=1
    while [ $i -lt "$field" ]; do
      rest=${rest#*:}
      i=$((i + 1))
    done
    if [ "${rest%%:*}" = "$value" ]; then
      echo "$entry"
      return 0
    fi
  done <"$file"
  return 1
}

# Add USER to GROUP in /etc/group and /etc/gshadow unless it is there.
add_to_group ()
{
  group=$1
  user=$2
  for file in "$BERTH_ROOT/etc/group" "$BERTH_ROOT/etc/gshadow"; do
    [ -f "$file" ] || continue
    content=
    changed=0
    while IFS= read -r entry; do
      case $entry in
      "$group":*)
        members=${entry##*:}
        case ",$members," in
        *",$user,"*) ;;
        ,,)
          entry=$entry$user
          changed=1
          ;;
        *)
          entry=$entry,$user
          changed=1
          ;;
        esac
        ;;
      esac
      content="$content$entry
"
    done <"$file"
    # Rewritten in place: the file keeps its owner and mode.
    [ $changed = 0 ] || printf '%s' "$content" >"$file"
  done
}

# A new user with uid = gid = $uid: written straight into the account files
# when the names and ids are free (useradd takes a second under TCG), by
# useradd otherwise.
create_user ()
{
  user=$1
  uid=$2
  home=$3
  etc=$BERTH_ROOT/etc
  if ! find_entry "$etc/group" 1 "$user" >/dev/null &&
    ! find_entry "$etc/group" 3 "$uid" >/dev/null; then
    days=$(($(date +%s) / 86400))
    echo "$user:x:$uid:" >>"$etc/group"
    echo "$user:!::" >>"$etc/gshadow"
    echo "$user:x:$uid:$uid::$home:/bin/bash" >>"$etc/passwd"
    # "*": no password, but not a locked account (sshd checks that).
    echo "$user:*:$days:0:99999:7:::" >>"$etc/shadow"
  else
    useradd --uid "$uid" --user-group --home-dir "$home" --no-create-home \
      --shell /bin/bash "$user" || return 1
    usermod -p '*' "$user"
  fi
  log "user $user ($uid) added"
}

# The user of lima.env, with the key(s) of ssh_authorized_keys (or, when
# that file is missing, the ssh-authorized-keys of user-data), passwordless
# sudo and the docker group.
setup_user ()
{
  user=${LIMA_CIDATA_USER:-}
  uid=${LIMA_CIDATA_UID:-}
  case $user in
  '')
    warn "lima.env has no LIMA_CIDATA_USER: no user account made"
    return 1
    ;;
  root | [!a-z_]* | *[!a-z0-9_.-]* | ????????????????????????????????*)
    warn "LIMA_CIDATA_USER='$user' is not allowed (up to 31 lower-case letters, digits, '_', '.', '-', starting with a letter or '_'; not root)"
    return 1
    ;;
  esac
  case $uid in
  '' | *[!0-9]* | 0 | ??????????*)
    warn "LIMA_CIDATA_UID='$uid' is not allowed (a number from 1 to 999999999)"
    return 1
    ;;
  esac
  home=${LIMA_CIDATA_HOME:-/home/$user.linux}
  case $home in
  /*) ;;
  *)
    warn "LIMA_CIDATA_HOME='$home' is not an absolute path"
    return 1
    ;;
  esac

  if entry=$(find_entry "$BERTH_ROOT/etc/passwd" 1 "$user"); then
    old=${entry#*:*:}
    old_uid=${old%%:*}
    old_home=${old#*:*:*:}
    old_home=${old_home%%:*}
    if [ "$old_uid" != "$uid" ] || [ "$old_home" != "$home" ]; then
      usermod --uid "$uid" --home "$home" "$user" ||
        warn "usermod failed to set uid $uid and home $home for $user"
    fi
  else
    if other=$(find_entry "$BERTH_ROOT/etc/passwd" 3 "$uid"); then
      warn "uid $uid of LIMA_CIDATA_USER=$user already belongs to '${other%%:*}' in the guest"
      return 1
    fi
    create_user "$user" "$uid" "$home" || {
      warn "could not add user $user (uid $uid, home $home)"
      return 1
    }
  fi
  add_to_group docker "$user"
  entry=$(find_entry "$BERTH_ROOT/etc/passwd" 1 "$user")
  group=${entry#*:*:*:}
  group=${group%%:*}

  if [ ! -d "$BERTH_ROOT$home" ]; then
    mkdir -p "$BERTH_ROOT$home"
    cp -a "$BERTH_ROOT/etc/skel/." "$BERTH_ROOT$home/" 2>/dev/null
    chown -R "$uid:$group" "$BERTH_ROOT$home"
    chmod 0755 "$BERTH_ROOT$home"
  fi
  ssh_dir=$BERTH_ROOT$home/.ssh
  if [ ! -d "$ssh_dir" ]; then
    mkdir -m 0700 "$ssh_dir"
    chown "$uid:$group" "$ssh_dir"
  fi
  keys=$ssh_dir/authorized_keys.berth-new
  if [ -f "$LIMA_CIDATA_MNT/ssh_authorized_keys" ]; then
    tr -d '\r' <"$LIMA_CIDATA_MNT/ssh_authorized_keys" >"$keys"
  elif [ -f "$LIMA_CIDATA_MNT/user-data" ]; then
    sed -n 's/^[[:space:]]*-[[:space:]]*"\{0,1\}\(\(ssh-\|ecdsa-\|sk-\)[^"]*\)"\{0,1\}[[:space:]]*$/\1/p' \
      "$LIMA_CIDATA_MNT/user-data" | tr -d '\r' >"$keys"
  else
    : >"$keys"
  fi
  if [ -s "$keys" ]; then
    chmod 0600 "$keys"
    chown "$uid:$group" "$keys"
    mv -f "$keys" "$ssh_dir/authorized_keys"
  else
    rm -f "$keys"
    warn "neither ssh_authorized_keys nor user-data on cidata holds an SSH key: $user cannot log in"
  fi

  sudoers=$BERTH_ROOT/etc/sudoers.d/90-berth-user
  echo "$user ALL=(ALL:ALL) NOPASSWD: ALL" >"$sudoers.new"
  chmod 0440 "$sudoers.new"
  mv -f "$sudoers.new" "$sudoers"
  return 0
}

# virtio-9p shares: LIMA_CIDATA_MOUNTS_<N>_MOUNTPOINT, _WRITABLE, and _TAG
# (default "mount<N>", the tag Lima gives the N-th share).
mount_shares ()
{
  count=${LIMA_CIDATA_MOUNTS:-0}
  case $count in
  '' | *[!0-9]* | ????*)
    warn "LIMA_CIDATA_MOUNTS='$count' is not a number from 0 to 999"
    return 1
    ;;
  esac
  [ "$count" -gt 0 ] || return 0
  case ${LIMA_CIDATA_MOUNTTYPE:-9p} in
  9p) ;;
  *)
    warn "LIMA_CIDATA_MOUNTTYPE='$LIMA_CIDATA_MOUNTTYPE' is not supported by this guest (allowed: 9p)"
    return 1
    ;;
  esac
  $MODPROBE -q -a 9p 9pnet_virtio
  i=0
  while [ $i -lt "$count" ]; do
    point=
    writable=
    tag=
    eval "point=\${LIMA_CIDATA_MOUNTS_${i}_MOUNTPOINT:-}"
    eval "writable=\${LIMA_CIDATA_MOUNTS_${i}_WRITABLE:-}"
    eval "tag=\${LIMA_CIDATA_MOUNTS_${i}_TAG:-mount$i}"
    case $point in
    /*)
      options=trans=virtio,version=9p2000.L,msize=131072,cache=mmap
      if [ "$writable" = 1 ]; then
        options=rw,$options
      else
        options=ro,$options
      fi
      mkdir -p "$point"
      mount -t 9p -o "$options" "$tag" "$point" ||
        warn "could not mount the 9p share '$tag' on $point (is a virtio-9p device with mount_tag=$tag attached?)"
      ;;
    *)
      warn "LIMA_CIDATA_MOUNTS_${i}_MOUNTPOINT='$point' is not an absolute path"
      ;;
    esac
    i=$((i + 1))
  done
}

# boot.sh, then every executable of provision.system/ in name order, as
# root, with lima.env (and etc_environment) exported.
run_provisioning ()
{
  [ -d "$LIMA_CIDATA_MNT" ] || return 0
  for script in "$LIMA_CIDATA_MNT/boot.sh" "$LIMA_CIDATA_MNT"/provision.system/*; do
    [ -f "$script" ] || continue
    name=${script#"$LIMA_CIDATA_MNT"/}
    if [ -x "$script" ]; then
      set -- "$script"
    elif [ "$name" = boot.sh ]; then
      set -- /bin/sh "$script"
    else
      warn "skipping $name on cidata: it is not executable"
      continue
    fi
    log "running $name"
    echo "=== $name" >>"$BERTH_PROVISION_LOG"
    (
      load_env_file "$LIMA_CIDATA_MNT/etc_environment"
      cd / && exec "$@"
    ) >>"$BERTH_PROVISION_LOG" 2>&1 </dev/null
    status=$?
    if [ $status -ne 0 ]; then
      say "provision failed: $name exited with status $status (see $BERTH_PROVISION_LOG)"
    fi
  done
  log "provisioning done"
}

# etc_environment goes between markers in /etc/environment, so a later boot
# replaces it instead of adding it again, and into sshd's SetEnv, because
# sshd runs without PAM (PAM costs ~0.4 s a login under TCG).
apply_etc_environment ()
{
  source=$LIMA_CIDATA_MNT/etc_environment
  environment=$BERTH_ROOT/etc/environment
  new=$environment.berth-new
  if [ -f "$environment" ]; then
    sed '/^# BERTH-BEGIN$/,/^# BERTH-END$/d' "$environment" >"$new"
  else
    : >"$new"
  fi
  setenv=
  if [ -s "$source" ]; then
    echo "# BERTH-BEGIN" >>"$new"
    while IFS= read -r line || [ -n "$line" ]; do
      line=${line%"$CR"}
      case $line in
      '' | '#'*) continue ;;
      esac
      name=${line%%=*}
      case $name in
      "$line" | '' | [0-9]* | *[!A-Za-z0-9_]*)
        warn "ignoring a line of etc_environment that is not NAME=VALUE: $line"
        continue
        ;;
      esac
      echo "$line" >>"$new"
      quoted=$(printf '%s' "$line" | sed 's/[\\"]/\\&/g')
      setenv="$setenv \"$quoted\""
    done <"$source"
    echo "# BERTH-END" >>"$new"
  fi
  chmod 0644 "$new"
  mv -f "$new" "$environment"
  if [ -n "$setenv" ]; then
    echo "SetEnv$setenv" >"$BERTH_SSHD_ENV"
  else
    rm -f "$BERTH_SSHD_ENV"
  fi
}

# cidata's proxy.env (the host's proxy environment, POSIX shell assignments
# written by the host) becomes /etc/berth/proxy.env, which the engine and
# k3s read with `set -a; . /etc/berth/proxy.env; set +a`.  Without one the
# file goes: a host that wrote none gave no proxy.
install_proxy_env ()
{
  source=$LIMA_CIDATA_MNT/proxy.env
  if [ ! -f "$source" ]; then
    rm -f "$BERTH_PROXY_ENV"
    return 0
  fi
  mkdir -p "${BERTH_PROXY_ENV%/*}"
  if cp "$source" "$BERTH_PROXY_ENV.new" && chmod 0644 "$BERTH_PROXY_ENV.new" &&
    mv -f "$BERTH_PROXY_ENV.new" "$BERTH_PROXY_ENV"; then
    log "proxy environment: $(grep -c '^[A-Za-z_]*=' "$BERTH_PROXY_ENV") variables"
  else
    rm -f "$BERTH_PROXY_ENV.new"
    warn "could not write $BERTH_PROXY_ENV: the engine starts without the host's proxy"
  fi
}

# Exports what /etc/berth/proxy.env sets, when there is one.
load_proxy_env ()
{
  [ -f "$BERTH_PROXY_ENV" ] || return 0
  set -a
  # shellcheck disable=SC1090 # written by install_proxy_env
  . "$BERTH_PROXY_ENV"
  set +a
}

# Splits the PEM bundle $1 into $2/berth-NNNN.crt files, one certificate
# each, leaving out those the PEM bundle $3 holds already (the same base64,
# however it is wrapped) and repeats.  Prints how many it wrote.
split_ca_bundle ()
{
  awk -v bundle="$1" -v dir="$2" '
    { sub(/\r$/, "") }
    FNR == 1 { ours = (FILENAME == bundle) }
    /^-----BEGIN CERTIFICATE-----$/ { inside = 1; body = ""; text = $0 "\n"; next }
    inside && /^-----END CERTIFICATE-----$/ {
      inside = 0
      text = text $0 "\n"
      if (!ours) { known[body] = 1; next }
      if (body in known) next
      known[body] = 1
      n++
      file = sprintf("%s/berth-%04d.crt", dir, n)
      printf "%s", text > file
      close(file)
      next
    }
    inside { body = body $0; text = text $0 "\n" }
    END { print n + 0 }
  ' "$3" "$1"
}

# cidata's ca-certificates.pem (the host's CA certificates and the user's)
# goes into the guest's trust store before the engine starts: those the
# guest does not trust already, one file each in $BERTH_CA_DIR, and between
# "# BERTH-BEGIN" and "# BERTH-END" at the end of the bundle that dockerd,
# containerd and k3s (Go) and OpenSSL read, which replaces the previous
# boot's.  Not update-ca-certificates: it takes minutes under TCG (a few
# processes for each of the ~140 certificates), while this is one sed and
# one awk; should it run later (a ca-certificates upgrade), it finds the
# files in $BERTH_CA_DIR.  Nothing is done when the bundle is the one the
# last boot installed.
install_ca_certificates ()
{
  source=$LIMA_CIDATA_MNT/ca-certificates.pem
  installed=$BERTH_CA_DIR/.installed.pem
  new=$BERTH_CA_BUNDLE.berth-new
  if [ -f "$source" ]; then
    if cmp -s "$source" "$installed"; then
      log "CA certificates: unchanged since the last boot"
      return 0
    fi
  elif [ ! -d "$BERTH_CA_DIR" ]; then
    return 0
  fi
  rm -rf "$BERTH_CA_DIR"
  if [ -f "$BERTH_CA_BUNDLE" ]; then
    sed '/^# BERTH-BEGIN$/,/^# BERTH-END$/d' "$BERTH_CA_BUNDLE" >"$new"
  else
    mkdir -p "${BERTH_CA_BUNDLE%/*}"
    : >"$new"
  fi
  added=0
  if [ -f "$source" ]; then
    mkdir -p "$BERTH_CA_DIR"
    if ! added=$(split_ca_bundle "$source" "$BERTH_CA_DIR" "$new"); then
      warn "could not read cidata's ca-certificates.pem: the guest trusts only its own CA certificates"
      rm -rf "$BERTH_CA_DIR"
      added=0
    fi
  fi
  if [ "$added" -gt 0 ]; then
    {
      echo "# BERTH-BEGIN"
      echo "# The host's CA certificates, from Berth (replaced when they change)"
      cat "$BERTH_CA_DIR"/berth-*.crt
      echo "# BERTH-END"
    } >>"$new"
  fi
  if chmod 0644 "$new" && mv -f "$new" "$BERTH_CA_BUNDLE"; then
    [ ! -d "$BERTH_CA_DIR" ] || cp "$source" "$installed"
    log "CA certificates: $added of the host's were not the guest's own and are trusted now"
  else
    rm -f "$new"
    warn "could not write $BERTH_CA_BUNDLE: the host's CA certificates are not trusted"
  fi
}

# One host key, ed25519, made on the first boot and kept on the root disk.
make_host_key ()
{
  if [ ! -s /etc/ssh/ssh_host_ed25519_key ]; then
    rm -f /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub
    ssh-keygen -q -t ed25519 -N '' -C "root@berth" \
      -f /etc/ssh/ssh_host_ed25519_key
    log "made the SSH host key"
  fi
}

# sshd with -r: it forks for each connection but does not execute itself
# again, which under TCG halves the time a login takes (loading sshd and its
# libraries is most of it).  The per-connection re-randomisation this gives
# up matters little for a VM reached only from the host's loopback.
start_sshd ()
{
  mkdir -p /run/sshd
  chmod 0755 /run/sshd
  /usr/sbin/sshd -r -E /var/log/sshd.log || warn "sshd did not start (see /var/log/sshd.log)"
}

# Wait until something listens on TCP port $1 (hex, as in /proc/net/tcp),
# polling every 20 ms for at most $2 tries.
wait_listen ()
{
  port=$1
  tries=$2
  while [ "$tries" -gt 0 ]; do
    for table in /proc/net/tcp /proc/net/tcp6; do
      [ -r "$table" ] || continue
      while read -r _ local _ state _; do
        case $local:$state in
        *":$port:0A") return 0 ;;
        esac
      done <"$table"
    done
    sleep 0.02
    tries=$((tries - 1))
  done
  return 1
}

berth_engine ()
{
  engine=${LIMA_CIDATA_CONTAINER_ENGINE:-moby}
  case $engine in
  moby | containerd | none) ;;
  *)
    warn "LIMA_CIDATA_CONTAINER_ENGINE='$engine' is not known (allowed: moby, containerd, none); using moby" >&2
    engine=moby
    ;;
  esac
  echo "$engine"
}

# Modules the engine needs (dockerd would load most on demand, one by one).
load_engine_modules ()
{
  $MODPROBE -q -a overlay br_netfilter bridge veth nf_conntrack nf_nat \
    nf_tables nft_compat nft_chain_nat xt_conntrack xt_MASQUERADE \
    xt_addrtype iptable_nat iptable_filter 2>/dev/null
}

# containerd, and dockerd for moby, in the background; logs in /var/log.
start_engine ()
{
  engine=$1
  [ "$engine" != none ] || return 0
  # Pulls go through the host's proxy, when it has one.
  (
    load_proxy_env
    if [ "$engine" = moby ]; then
      setsid containerd --config "$BERTH_GUEST_LIB/containerd-for-dockerd.toml" \
        >>/var/log/containerd.log 2>&1 </dev/null &
    else
      setsid containerd >>/var/log/containerd.log 2>&1 </dev/null &
    fi
    if [ "$engine" = moby ]; then
      setsid dockerd --containerd=/run/containerd/containerd.sock \
        --group=docker >>/var/log/dockerd.log 2>&1 </dev/null &
    fi
  )
  log "started $engine"
}

# Ask dockerd's /_ping on its socket; dockerd queues connections until its
# API serves, so one call waits (up to $1 s) instead of polling the docker
# CLI, which takes most of a second to start under TCG.
docker_ping ()
{
  perl -MIO::Socket::UNIX -e '
    $SIG{ALRM} = sub { exit 2 };
    alarm $ARGV[1];
    while (1) {
      my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]);
      if ($s) {
        print $s "GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n";
        my $reply = join "", <$s>;
        exit 0 if $reply =~ m{^HTTP/1\.[01] 200 .*\r\n\r\nOK}s;
      }
      select undef, undef, undef, 0.1;
    }' "$2" "$1"
}

# Wait until the engine's socket answers; print the marker.
wait_engine ()
{
  engine=$1
  case $engine in
  moby)
    socket=/run/docker.sock
    docker_ping 300 "$socket"
    status=$?
    ;;
  containerd)
    socket=/run/containerd/containerd.sock
    tries=0
    status=1
    while [ $tries -lt 3000 ]; do
      if [ -S "$socket" ] && ctr --address "$socket" version >/dev/null 2>&1; then
        chgrp docker "$socket" && chmod 0660 "$socket"
        status=0
        break
      fi
      sleep 0.1
      tries=$((tries + 1))
    done
    ;;
  *) return 0 ;;
  esac
  if [ $status -ne 0 ]; then
    say "engine failed: $engine did not answer on $socket within 300 s (see /var/log/containerd.log and /var/log/dockerd.log)"
    return 1
  fi
  mkdir -p "$BERTH_RUN"
  : >"$BERTH_RUN/engine-ready"
  say "engine ready"
  return 0
}
