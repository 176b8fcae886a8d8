# SPDX-License-Identifier: GPL-3.0-or-later
# Sourced, not run: berthd and berthctl from a build tree rather than an
# installation. $1 is the build directory, $2 the source tree; sets and
# exports BERTH_PLUGIN_PATH (every plugin built there, then any already set),
# BERTH_DATA_DIR and BERTHD.
berth_build_tree_env ()
{
  _build=$1
  _source=$2
  _plugins=""
  for _dir in "$_build"/plugins/*/; do
    [ -d "$_dir" ] && _plugins="$_plugins${_plugins:+:}${_dir%/}"
  done
  BERTH_PLUGIN_PATH="$_plugins${BERTH_PLUGIN_PATH:+:$BERTH_PLUGIN_PATH}"
  BERTH_DATA_DIR="$_source/data"
  BERTHD="$_build/frontends/daemon/berthd"
  export BERTH_PLUGIN_PATH BERTH_DATA_DIR BERTHD
  unset _build _source _plugins _dir
}
