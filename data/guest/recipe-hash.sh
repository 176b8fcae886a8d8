#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Print the SHA-256 over Berth's guest image recipe: every file under this
# directory that the build reads, with its path and mode, so the hash (the
# image cache key) changes whenever the recipe does.  It does not cover the
# Debian packages' versions; manifest.json lists those.

set -eu
LC_ALL=C
export LC_ALL

cd "$(dirname "$(readlink -f "$0")")"
find build-image.sh recipe-hash.sh initrd rootfs wsl ! -type d -print |
  sort |
  while IFS= read -r f; do
    if [ -L "$f" ]; then
      printf '%s link %s\n' "$f" "$(readlink "$f")"
    else
      printf '%s %s %s\n' "$f" "$(stat -c %a "$f")" \
        "$(sha256sum <"$f" | cut -d' ' -f1)"
    fi
  done |
  sha256sum | cut -d' ' -f1
