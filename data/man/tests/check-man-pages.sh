#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The man pages against the programs they describe, in TAP: each renders
# with man -l without a warning, and names every command of berthctl and
# every long option that `--help` shows, so that a new command or option
# without its paragraph fails here.
#   check-man-pages.sh MAN_DIR BERTHCTL BERTHD
set -u
man_dir=$1
berthctl=$2
berthd=$3
n=0
failed=0

ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }

# What a page says, as man renders it, with hyphens as typed.
rendered () {
  MANWIDTH=200 man --warnings=all -l "$1" 2>"$tmp/warnings" | col -b | sed 's/‐/-/g'
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for page in berthd.1 berthctl.1; do
  rendered "$man_dir/$page" >"$tmp/$page.txt"
  if [ -s "$tmp/$page.txt" ] && [ ! -s "$tmp/warnings" ]; then
    ok "$page renders without warnings"
  else
    not_ok "$page renders without warnings"
    sed 's/^/# /' "$tmp/warnings"
  fi
done

# The long options a --help lists (application options, not --help itself).
long_options () {
  "$@" --help 2>&1 | sed -n 's/^  *\(-[a-zA-Z], \)\{0,1\}\(--[a-z][a-z0-9-]*\).*/\2/p' |
    grep -v -e '^--help' || true
}

check_option () { # PAGE WHERE OPTION
  if grep -q -e "$3" "$tmp/$1.txt"; then
    ok "$1 names $2's $3"
  else
    not_ok "$1 names $2's $3"
  fi
}

for option in $(long_options "$berthd"); do
  check_option berthd.1 berthd "$option"
done

commands=$("$berthctl" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }')
if [ -n "$commands" ]; then
  ok "berthctl --help lists its commands"
else
  not_ok "berthctl --help lists its commands"
fi
for command in $commands; do
  # A command's paragraph starts a line of the COMMANDS section.
  if grep -q -e "^       $command\( \|$\)" "$tmp/berthctl.1.txt"; then
    ok "berthctl.1 describes berthctl $command"
  else
    not_ok "berthctl.1 describes berthctl $command"
  fi
  for option in $(long_options "$berthctl" "$command"); do
    check_option berthctl.1 "berthctl $command" "$option"
  done
done
# Commands with subcommands (images, update, …): each one's options.
for command in $commands; do
  for sub in $("$berthctl" "$command" --help 2>&1 | awk '/^Subcommands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }'); do
    for option in $(long_options "$berthctl" "$command" "$sub"); do
      check_option berthctl.1 "berthctl $command $sub" "$option"
    done
  done
done
for option in $("$berthctl" info --help-connection | sed -n 's/^  *\(--[a-z][a-z-]*\).*/\1/p'); do
  check_option berthctl.1 "berthctl's connection" "$option"
done

echo "1..$n"
exit $failed
