#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Every source file names its licence, and the right one (LICENSE):
# LGPL-2.1-or-later for libberth, libberth-client and the plugins,
# GPL-3.0-or-later for the rest. TAP, one line per file that is wrong.
#   check-spdx.sh SOURCE_DIR
set -u
cd "$1" || exit 1
n=0
failed=0
files=$(git ls-files 2>/dev/null) || files=$(find . -path ./build -prune -o -type f -print | sed 's|^\./||')
for f in $files; do
  case $f in
    *.c | *.h | *.sh | *.py | meson.build | */meson.build) ;;
    *) continue ;;
  esac
  want=GPL-3.0-or-later
  case $f in
    core/* | client/* | plugins/*) want=LGPL-2.1-or-later ;;
  esac
  case $f in
    client/tests/* | plugins/*/tests/*) want=GPL-3.0-or-later ;;
  esac
  have=$(sed -n 's/.*SPDX-License-Identifier: \([A-Za-z0-9.+-]*\).*/\1/p' "$f" | head -n 1)
  n=$((n + 1))
  if [ "$have" = "$want" ]; then
    echo "ok $n - $f: $have"
  else
    failed=1
    echo "not ok $n - $f: ${have:-no SPDX-License-Identifier line}, where LICENSE says $want"
  fi
done
echo "1..$n"
exit $failed
