#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The whole test suite: every meson test suite, from a clean or existing build.
set -eu
cd "$(dirname "$0")/.."
scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
meson test -C "$BUILD_DIR" --print-errorlogs "$@"
