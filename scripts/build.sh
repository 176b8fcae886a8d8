#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Configures (once) and builds Berth into $BUILD_DIR (default: build).
# Warnings are errors here, as in CI.
set -eu
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
scripts/deps.sh
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  meson setup "$BUILD_DIR" --werror
fi
ninja -C "$BUILD_DIR"
