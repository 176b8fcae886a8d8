#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Tests of the guest's init functions (rootfs/usr/lib/berth-guest/lib.sh) on
# a scratch tree, without a VM: how lima.env, ssh_authorized_keys, user-data
# and etc_environment from cidata end up in the guest's files, and what is
# refused with which message.  Runs under busybox sh, as the guest does;
# prints TAP.  Usage: tests/test-lib.sh (from anywhere; needs busybox).

# shellcheck disable=SC2034 # LIMA_* variables are read by lib.sh's functions

if [ -z "${BERTH_TEST_IN_BUSYBOX:-}" ]; then
  command -v busybox >/dev/null 2>&1 || {
    echo "1..0 # SKIP busybox is not installed"
    exit 0
  }
  BERTH_TEST_IN_BUSYBOX=1 exec busybox sh "$0" "$@"
fi

HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$HERE/../rootfs/usr/lib/berth-guest/lib.sh
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/berth-guest-test.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

BERTH_ROOT=$SCRATCH/root
BERTH_CONSOLE=$SCRATCH/console
export BERTH_ROOT BERTH_CONSOLE
mkdir -p "$BERTH_ROOT/etc/skel" "$BERTH_ROOT/etc/sudoers.d" \
  "$BERTH_ROOT/etc/ssh/sshd_config.d" "$BERTH_ROOT/var/log" "$SCRATCH/cidata"
cat >"$BERTH_ROOT/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
other:x:2000:2000::/home/other:/bin/bash
EOF
cat >"$BERTH_ROOT/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
docker:x:106:
other:x:2000:
EOF
printf 'root:*::\ndaemon:*::\ndocker:!::\nother:!::\n' >"$BERTH_ROOT/etc/gshadow"
printf 'root:*:19000:0:99999:7:::\nother:!:19000:0:99999:7:::\n' >"$BERTH_ROOT/etc/shadow"
echo '# skel' >"$BERTH_ROOT/etc/skel/.profile"

# shellcheck source=../rootfs/usr/lib/berth-guest/lib.sh
. "$LIB"
LIMA_CIDATA_MNT=$SCRATCH/cidata

count=0
failed=0
ok ()
{
  count=$((count + 1))
  echo "ok $count - $1"
}
not_ok ()
{
  count=$((count + 1))
  failed=$((failed + 1))
  echo "not ok $count - $1"
  shift
  for line in "$@"; do
    echo "#   $line"
  done
}
# check DESCRIPTION EXPECTED ACTUAL
check ()
{
  if [ "$2" = "$3" ]; then
    ok "$1"
  else
    not_ok "$1" "expected: $2" "actual:   $3"
  fi
}
# check_console DESCRIPTION TEXT: TEXT appears in what went to the console.
check_console ()
{
  if grep -qF -- "$2" "$BERTH_CONSOLE" 2>/dev/null; then
    ok "$1"
  else
    not_ok "$1" "console lacks: $2" "console: $(cat "$BERTH_CONSOLE" 2>/dev/null)"
  fi
}
clear_console ()
{
  : >"$BERTH_CONSOLE"
}

# --- lima.env -----------------------------------------------------------------

cr=$(printf '\r')
{
  echo "# a comment"
  echo ""
  echo "LIMA_CIDATA_USER=bench$cr"
  echo "LIMA_CIDATA_UID=1000"
  echo "LIMA_CIDATA_VALUE=two words = and more"
  echo 'LIMA_CIDATA_QUOTED="kept as is"'
  echo "PATH=/evil"
  echo "not a pair"
  echo "1LIMA=x"
  printf 'LIMA_CIDATA_LAST=no newline'
} >"$LIMA_CIDATA_MNT/lima.env"
clear_console
old_path=$PATH
load_env_file "$LIMA_CIDATA_MNT/lima.env" LIMA_
check "lima.env: a value loses its CR" bench "$LIMA_CIDATA_USER"
check "lima.env: a value keeps spaces and '='" "two words = and more" "$LIMA_CIDATA_VALUE"
check "lima.env: quotes are not removed (as Lima)" '"kept as is"' "$LIMA_CIDATA_QUOTED"
check "lima.env: the last line needs no newline" "no newline" "$LIMA_CIDATA_LAST"
check "lima.env: PATH is not taken" "$old_path" "$PATH"
check_console "lima.env: PATH is reported" "ignoring PATH in lima.env: only names starting with LIMA_ are read there"
check_console "lima.env: a line without '=' is reported" "not NAME=VALUE (NAME of letters, digits and '_'): not a pair"
check_console "lima.env: a name starting with a digit is reported" "1LIMA=x"

# --- addresses, engine ----------------------------------------------------------

for good in 10.0.2.15 192.168.5.2 0.0.0.0; do
  if valid_ipv4 "$good"; then ok "valid_ipv4 takes $good"; else not_ok "valid_ipv4 takes $good"; fi
done
for bad in "" 10.0.2 10.0.2.15.1 10..2.15 .10.0.2 10.0.2.15. 10.0.2.x "10.0.2.1 "; do
  if valid_ipv4 "$bad"; then not_ok "valid_ipv4 refuses '$bad'"; else ok "valid_ipv4 refuses '$bad'"; fi
done
clear_console
LIMA_CIDATA_SLIRP_GATEWAY=10.0.2
read_network_settings
check "a bad gateway falls back to QEMU's" 10.0.2.2 "$BERTH_GATEWAY"
check_console "a bad gateway is reported" "LIMA_CIDATA_SLIRP_GATEWAY='10.0.2' is not an IPv4 address; using 10.0.2.2"
unset LIMA_CIDATA_SLIRP_GATEWAY

clear_console
LIMA_CIDATA_CONTAINER_ENGINE=podman
check "an unknown engine falls back to moby" moby "$(berth_engine)"
check_console "an unknown engine is reported" "LIMA_CIDATA_CONTAINER_ENGINE='podman' is not known (allowed: moby, containerd, none); using moby"
LIMA_CIDATA_CONTAINER_ENGINE=containerd
check "containerd is an engine" containerd "$(berth_engine)"

# --- the user -----------------------------------------------------------------

printf 'ssh-ed25519 AAAAkey1 one@host\r\nssh-ed25519 AAAAkey2 two@host\r\n' \
  >"$LIMA_CIDATA_MNT/ssh_authorized_keys"
LIMA_CIDATA_HOME=/home/bench.linux
setup_user
check "setup_user: passwd line" "bench:x:1000:1000::/home/bench.linux:/bin/bash" \
  "$(grep '^bench:' "$BERTH_ROOT/etc/passwd")"
check "setup_user: own group with gid = uid" "bench:x:1000:" "$(grep '^bench:' "$BERTH_ROOT/etc/group")"
check "setup_user: member of docker" "docker:x:106:bench" "$(grep '^docker:' "$BERTH_ROOT/etc/group")"
check "setup_user: member of docker in gshadow" "docker:!::bench" "$(grep '^docker:' "$BERTH_ROOT/etc/gshadow")"
check "setup_user: no password, not locked" "bench:*:" "$(grep '^bench:' "$BERTH_ROOT/etc/shadow" | cut -d: -f1-2):"
check "setup_user: authorized_keys without CRs" \
  "ssh-ed25519 AAAAkey1 one@host
ssh-ed25519 AAAAkey2 two@host" "$(cat "$BERTH_ROOT/home/bench.linux/.ssh/authorized_keys")"
check "setup_user: authorized_keys mode" 600 "$(stat -c %a "$BERTH_ROOT/home/bench.linux/.ssh/authorized_keys")"
check "setup_user: .ssh mode" 700 "$(stat -c %a "$BERTH_ROOT/home/bench.linux/.ssh")"
check "setup_user: home from skel" "# skel" "$(cat "$BERTH_ROOT/home/bench.linux/.profile")"
check "setup_user: sudoers" "bench ALL=(ALL:ALL) NOPASSWD: ALL" "$(cat "$BERTH_ROOT/etc/sudoers.d/90-berth-user")"
check "setup_user: sudoers mode" 440 "$(stat -c %a "$BERTH_ROOT/etc/sudoers.d/90-berth-user")"

# A second boot: nothing added twice; a new key replaces the old ones.
echo "ssh-ed25519 AAAAkey3 three@host" >"$LIMA_CIDATA_MNT/ssh_authorized_keys"
setup_user
check "second boot: one passwd line" 1 "$(grep -c '^bench:' "$BERTH_ROOT/etc/passwd")"
check "second boot: docker members unchanged" "docker:x:106:bench" "$(grep '^docker:' "$BERTH_ROOT/etc/group")"
check "second boot: keys replaced" "ssh-ed25519 AAAAkey3 three@host" \
  "$(cat "$BERTH_ROOT/home/bench.linux/.ssh/authorized_keys")"

# Keys from user-data when ssh_authorized_keys is missing.
rm "$LIMA_CIDATA_MNT/ssh_authorized_keys"
cat >"$LIMA_CIDATA_MNT/user-data" <<'EOF'
#cloud-config
users:
  - name: "bench"
    ssh-authorized-keys:
      - "ssh-ed25519 AAAAfromuserdata quoted@host"
      - ecdsa-sha2-nistp256 AAAAecdsa plain@host
EOF
setup_user
check "user-data keys when ssh_authorized_keys is missing" \
  "ssh-ed25519 AAAAfromuserdata quoted@host
ecdsa-sha2-nistp256 AAAAecdsa plain@host" "$(cat "$BERTH_ROOT/home/bench.linux/.ssh/authorized_keys")"

for bad_user in root Bench 9lives "a b" ""; do
  clear_console
  LIMA_CIDATA_USER=$bad_user
  if setup_user; then
    not_ok "setup_user refuses user '$bad_user'"
  else
    ok "setup_user refuses user '$bad_user'"
  fi
done
check_console "an empty user is reported" "lima.env has no LIMA_CIDATA_USER: no user account made"
clear_console
LIMA_CIDATA_USER=Bench
setup_user
check_console "a bad user name is reported with what is allowed" \
  "LIMA_CIDATA_USER='Bench' is not allowed (up to 31 lower-case letters, digits, '_', '.', '-', starting with a letter or '_'; not root)"
for bad_uid in 0 -1 abc 1234567890 ""; do
  clear_console
  LIMA_CIDATA_USER=newuser
  LIMA_CIDATA_UID=$bad_uid
  if setup_user; then
    not_ok "setup_user refuses uid '$bad_uid'"
  else
    ok "setup_user refuses uid '$bad_uid'"
  fi
done
check_console "a bad uid is reported" "LIMA_CIDATA_UID='' is not allowed (a number from 1 to 999999999)"
clear_console
LIMA_CIDATA_UID=2000
setup_user
check_console "a uid in use is reported" "uid 2000 of LIMA_CIDATA_USER=newuser already belongs to 'other' in the guest"
check "a uid in use adds no user" "" "$(grep '^newuser:' "$BERTH_ROOT/etc/passwd")"
clear_console
LIMA_CIDATA_UID=3000
LIMA_CIDATA_HOME=relative/home
setup_user
check_console "a relative home is reported" "LIMA_CIDATA_HOME='relative/home' is not an absolute path"

# --- etc_environment ------------------------------------------------------------

printf 'LANG=C.UTF-8\n# BERTH-BEGIN\nOLD=1\n# BERTH-END\n' >"$BERTH_ROOT/etc/environment"
printf 'FOO=bar\r\nSPACED=a b\nTRICKY=say "hi" \\ there\nnot valid\n' \
  >"$LIMA_CIDATA_MNT/etc_environment"
clear_console
apply_etc_environment
expected='LANG=C.UTF-8
# BERTH-BEGIN
FOO=bar
SPACED=a b
TRICKY=say "hi" \ there
# BERTH-END'
check "etc_environment replaces the old block" "$expected" "$(cat "$BERTH_ROOT/etc/environment")"
check "etc_environment for sshd, quoted" \
  'SetEnv "FOO=bar" "SPACED=a b" "TRICKY=say \"hi\" \\ there"' "$(cat "$BERTH_SSHD_ENV")"
check_console "a bad etc_environment line is reported" "ignoring a line of etc_environment that is not NAME=VALUE: not valid"
apply_etc_environment
check "etc_environment twice gives the same file" "$expected" "$(cat "$BERTH_ROOT/etc/environment")"
rm "$LIMA_CIDATA_MNT/etc_environment"
apply_etc_environment
check "without etc_environment the block goes" "LANG=C.UTF-8" "$(cat "$BERTH_ROOT/etc/environment")"
if [ -e "$BERTH_SSHD_ENV" ]; then
  not_ok "without etc_environment sshd sets nothing"
else
  ok "without etc_environment sshd sets nothing"
fi

# --- proxy.env ------------------------------------------------------------------

cat >"$LIMA_CIDATA_MNT/proxy.env" <<'EOF'
# Written by Berth at each start
HTTPS_PROXY='http://10.0.2.2:3128'
https_proxy='http://10.0.2.2:3128'
NO_PROXY='127.0.0.1,it'\''s'
EOF
install_proxy_env
check "proxy.env is copied for the engine and k3s" "$(cat "$LIMA_CIDATA_MNT/proxy.env")" \
  "$(cat "$BERTH_PROXY_ENV")"
check "proxy.env mode" 644 "$(stat -c %a "$BERTH_PROXY_ENV")"
check "proxy.env as the engine reads it" "http://10.0.2.2:3128|127.0.0.1,it's" \
  "$(load_proxy_env && printf '%s|%s' "$HTTPS_PROXY" "$NO_PROXY")"
check "proxy.env is not read into the caller's shell" "" "${HTTPS_PROXY:-}"
rm "$LIMA_CIDATA_MNT/proxy.env"
install_proxy_env
if [ -e "$BERTH_PROXY_ENV" ]; then
  not_ok "without cidata's proxy.env the guest's goes"
else
  ok "without cidata's proxy.env the guest's goes"
fi

# --- CA certificates ---------------------------------------------------------------

# The guest's bundle holds certificate "one", wrapped at another width than
# the host writes it.
mkdir -p "${BERTH_CA_BUNDLE%/*}"
original='-----BEGIN CERTIFICATE-----
QUFBQUJC
QkJDQ0ND
-----END CERTIFICATE-----'
echo "$original" >"$BERTH_CA_BUNDLE"
one='-----BEGIN CERTIFICATE-----
QUFBQUJCQkJDQ0ND
-----END CERTIFICATE-----'
two='-----BEGIN CERTIFICATE-----
RERERA==
-----END CERTIFICATE-----'
three='-----BEGIN CERTIFICATE-----
RUVFRQ==
-----END CERTIFICATE-----'
block_start='# BERTH-BEGIN
# The host'"'"'s CA certificates, from Berth (replaced when they change)'
printf '%s\r\n%s\n%s\n%s\n' "$one" "$two" "$three" "$two" >"$LIMA_CIDATA_MNT/ca-certificates.pem"
install_ca_certificates
check "CA certificates: the guest's own and repeats are left out" "berth-0001.crt berth-0002.crt" \
  "$(cd "$BERTH_CA_DIR" && echo *.crt)"
check "CA certificates: one a file" "$two" "$(cat "$BERTH_CA_DIR/berth-0001.crt")"
check "CA certificates: the second" "$three" "$(cat "$BERTH_CA_DIR/berth-0002.crt")"
check "CA certificates: added to the end of the bundle, between markers" \
  "$original
$block_start
$two
$three
# BERTH-END" "$(cat "$BERTH_CA_BUNDLE")"
check "CA certificates: the bundle's mode" 644 "$(stat -c %a "$BERTH_CA_BUNDLE")"
: >"$BERTH_LOG"
install_ca_certificates
check "CA certificates: unchanged, the bundle stays" "$original
$block_start
$two
$three
# BERTH-END" "$(cat "$BERTH_CA_BUNDLE")"
if grep -q "CA certificates: unchanged since the last boot" "$BERTH_LOG"; then
  ok "CA certificates: unchanged, nothing is rewritten"
else
  not_ok "CA certificates: unchanged, nothing is rewritten" "log: $(cat "$BERTH_LOG")"
fi
printf '%s\n' "$three" >"$LIMA_CIDATA_MNT/ca-certificates.pem"
install_ca_certificates
check "CA certificates: changed, the old ones go from the files" "berth-0001.crt" \
  "$(cd "$BERTH_CA_DIR" && echo *.crt)"
check "CA certificates: and from the bundle" "$original
$block_start
$three
# BERTH-END" "$(cat "$BERTH_CA_BUNDLE")"
printf '%s\n' "$one" >"$LIMA_CIDATA_MNT/ca-certificates.pem"
install_ca_certificates
check "CA certificates: only the guest's own, no block" "$original" "$(cat "$BERTH_CA_BUNDLE")"
rm "$LIMA_CIDATA_MNT/ca-certificates.pem"
printf '%s\n' "$two" >"$LIMA_CIDATA_MNT/ca-certificates.pem"
install_ca_certificates
rm "$LIMA_CIDATA_MNT/ca-certificates.pem"
install_ca_certificates
if [ -e "$BERTH_CA_DIR" ]; then
  not_ok "CA certificates: without cidata's bundle Berth's files go"
else
  ok "CA certificates: without cidata's bundle Berth's files go"
fi
check "CA certificates: and the bundle is the guest's own again" "$original" "$(cat "$BERTH_CA_BUNDLE")"
clear_console
printf 'not PEM at all\n' >"$LIMA_CIDATA_MNT/ca-certificates.pem"
install_ca_certificates
check "CA certificates: a bundle without certificates adds nothing" "$original" \
  "$(cat "$BERTH_CA_BUNDLE")"

echo "1..$count"
[ "$failed" -eq 0 ]
