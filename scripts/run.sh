#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Berth's main job from a fresh checkout: build it, start berthd and the VM
# from the build tree, and show the state.
set -eu
cd "$(dirname "$0")/.."
scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}

# Plugins and data from the build tree rather than an installation.
. scripts/build-tree-env.sh
berth_build_tree_env "$PWD/$BUILD_DIR" "$PWD"

berthctl="$BUILD_DIR/frontends/cli/berthctl"
"$berthctl" version
"$berthctl" start --wait
"$berthctl" info

# The engine from the host, as a docker user reaches it.
if command -v docker >/dev/null 2>&1 && [ "$("$berthctl" info --field containerEngine)" = moby ]; then
  docker --context berth version \
    --format 'docker --context berth: dockerd {{.Server.Version}} ({{.Server.Os}}/{{.Server.Arch}}) in the VM'
fi
