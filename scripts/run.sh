#!/bin/sh
# Berth's main job from a fresh checkout: build it, then show what it found.
set -eu
cd "$(dirname "$0")/.."
scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
export BERTH_PLUGIN_PATH="$PWD/$BUILD_DIR/plugins${BERTH_PLUGIN_PATH:+:$BERTH_PLUGIN_PATH}"
"$BUILD_DIR/frontends/cli/berthctl" version
"$BUILD_DIR/frontends/cli/berthctl" plugins
"$BUILD_DIR/frontends/cli/berthctl" list-settings
