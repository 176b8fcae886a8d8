#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# What a distribution packager sees, in TAP:
# - every file `meson install` would install carries an install tag;
# - -Dplugin_lima=disabled configures and builds on a machine without
#   libyaml and libarchive (hidden from pkg-config here), and the summary
#   says which plugins are built;
# - -Dplugin_lima=enabled there fails, naming the missing library;
# - -Dplugin_X=enabled for a plugin whose directory is not in the source
#   tree fails, naming it.
#   check-build-options.sh SOURCE_DIR BUILD_DIR
set -u
source_dir=$1
build_dir=$2
meson=${MESON:-meson}
n=0
failed=0

ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
check () { # DESCRIPTION COMMAND...
  what=$1
  shift
  if "$@" >"$tmp/out" 2>&1; then ok "$what"; else not_ok "$what"; sed 's/^/# /' "$tmp/out" | tail -20; fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

untagged () {
  "$meson" introspect "$build_dir" --install-plan | python3 -c '
import json, sys
plan = json.load(sys.stdin)
missing = [info["destination"] for kind in plan.values() for info in kind.values()
           if info.get("tag") is None]
print("\n".join(missing))
sys.exit(1 if missing else 0)'
}
check "every installed file has an install tag" untagged

# A pkg-config search path without libyaml and libarchive.
mkdir "$tmp/pc"
for dir in $(pkg-config --variable pc_path pkg-config | tr ':' ' '); do
  [ -d "$dir" ] || continue
  for pc in "$dir"/*.pc; do
    [ -e "$pc" ] || continue
    case ${pc##*/} in
      yaml-0.1.pc | libarchive.pc) ;;
      *) [ -e "$tmp/pc/${pc##*/}" ] || ln -s "$pc" "$tmp/pc/${pc##*/}" ;;
    esac
  done
done
if PKG_CONFIG_LIBDIR=$tmp/pc pkg-config --exists yaml-0.1 || PKG_CONFIG_LIBDIR=$tmp/pc pkg-config --exists libarchive; then
  not_ok "libyaml and libarchive are hidden from pkg-config"
else
  ok "libyaml and libarchive are hidden from pkg-config"
fi

minimal () {
  PKG_CONFIG_LIBDIR=$tmp/pc "$meson" setup "$tmp/minimal" "$source_dir" -Dplugin_lima=disabled \
    -Dtests=false >"$tmp/setup.log" 2>&1 || { cat "$tmp/setup.log"; return 1; }
  grep -q 'lima *: no (disabled)' "$tmp/setup.log" || { cat "$tmp/setup.log"; return 1; }
  grep -q 'k3s *: no (not on this host or missing dependencies)' "$tmp/setup.log" ||
    { cat "$tmp/setup.log"; return 1; }
  grep -q 'berthd *: YES' "$tmp/setup.log" || { cat "$tmp/setup.log"; return 1; }
  ninja -C "$tmp/minimal" >"$tmp/build.log" 2>&1 || { tail -30 "$tmp/build.log"; return 1; }
  ! grep -q -e libyaml -e 'libarchive\.' -e -lyaml -e -larchive "$tmp/minimal/build.ninja" || { echo "libyaml or libarchive is still in build.ninja"; return 1; }
}
check "-Dplugin_lima=disabled builds without libyaml and libarchive" minimal

lima_enabled () {
  ! PKG_CONFIG_LIBDIR=$tmp/pc "$meson" setup "$tmp/lima-enabled" "$source_dir" -Dplugin_lima=enabled \
    -Dtests=false >"$tmp/lima.log" 2>&1 || { echo "configured without libyaml"; return 1; }
  grep -q -e "yaml-0.1" -e "libarchive" "$tmp/lima.log" || { tail -5 "$tmp/lima.log"; return 1; }
}
check "-Dplugin_lima=enabled without libyaml fails and names it" lima_enabled

missing_dir () {
  mkdir "$tmp/src"
  (cd "$source_dir" && git ls-files -z 2>/dev/null || find . -path ./build -prune -o -type f -print0) |
    (cd "$source_dir" && xargs -0 cp --parents -t "$tmp/src") || return 1
  rm -rf "$tmp/src/plugins/docker-context"
  ! "$meson" setup "$tmp/no-dir" "$tmp/src" -Dplugin_docker_context=enabled -Dtests=false \
    >"$tmp/no-dir.log" 2>&1 || { echo "configured without plugins/docker-context"; return 1; }
  grep -q -e "-Dplugin_docker_context=enabled, but this source tree has no plugins/docker-context" \
    "$tmp/no-dir.log" || { tail -5 "$tmp/no-dir.log"; return 1; }
}
check "-Dplugin_X=enabled without plugins/X fails and names it" missing_dir

echo "1..$n"
exit $failed
