#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Installs this build into a throwaway DESTDIR, builds the plugin in
# project/ against what was installed (berth-plugin.pc and the headers only),
# installs it, and loads it with Berth's loader.
#
# Usage: check.sh BUILD_ROOT PROJECT_DIR LOADER
#   LOADER: berth-load-plugins from this build.
# MESON may name the meson to run.
set -eu

build_root=$1
project_dir=$2
loader=$3
meson=${MESON:-meson}

work=$(mktemp -d -t berth-out-of-tree-XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

dest=$work/dest
"$meson" install -C "$build_root" --destdir "$dest" --no-rebuild --quiet >"$work/install.log" 2>&1 || {
  cat "$work/install.log" >&2
  echo "check.sh: meson install of $build_root into $dest failed" >&2
  exit 1
}

pc=$(find "$dest" -name berth-plugin.pc -print | head -n 1)
if [ -z "$pc" ]; then
  echo "check.sh: berth-plugin.pc was not installed under $dest" >&2
  exit 1
fi
# The .pc file names the real prefix; point it into the DESTDIR copy. (pkg-config's
# sysroot would also rewrite the system's own -I paths, so it cannot be used.)
prefix=$(sed -n 's/^prefix=//p' "$pc")
sed -i "s|^prefix=.*|prefix=$dest$prefix|" "$pc"

PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
"$meson" setup "$work/build" "$project_dir" --prefix "$dest$prefix" >"$work/setup.log" 2>&1 || {
  cat "$work/setup.log" >&2
  echo "check.sh: configuring the out-of-tree plugin failed" >&2
  exit 1
}
"$meson" install -C "$work/build" --quiet >"$work/build.log" 2>&1 || {
  cat "$work/build.log" >&2
  echo "check.sh: building the out-of-tree plugin failed" >&2
  exit 1
}

plugindir=$(pkg-config --variable=plugindir berth-plugin)
if [ ! -f "$plugindir/berth-oot-hello.so" ]; then
  echo "check.sh: berth-oot-hello.so was not installed into plugindir $plugindir" >&2
  exit 1
fi
if command -v nm >/dev/null 2>&1; then
  exported=$(nm -D --defined-only --format=posix "$plugindir/berth-oot-hello.so" | cut -d' ' -f1)
  if [ "$exported" != "berth_plugin_query_type" ]; then
    echo "check.sh: berth-oot-hello.so exports [$exported], expected only berth_plugin_query_type" >&2
    exit 1
  fi
fi

"$loader" "$plugindir" oot-hello
