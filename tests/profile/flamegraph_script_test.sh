#!/usr/bin/env bash
# Renders a flame graph with the real binary and runs its embedded script (zoom, reset, search, hover) under node
# against the SVG's own frames (flamegraph_script_test.js). Skips (exit 77) where node is not installed.
#   flamegraph_script_test.sh HOTSPOTD_BINARY
set -euo pipefail
hotspotd=$1
here=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null || {
  echo "SKIPPED: node is not installed (scripts/bootstrap installs nodejs)"
  [ "${CI:-}" = "true" ] && exit 1
  exit 77
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%s\n' 'hotspotd_busy;main;hotspotd_test_hot_function 90' 'hotspotd_busy;main;hotspotd_test_cold_function 10' \
  'hotspotd_busy;main;hotspotd_test_hot_function;sqrt 5' > "$tmp/busy.folded"
"$hotspotd" flamegraph "$tmp/busy.folded" -o "$tmp/busy.svg"
node "$here/flamegraph_script_test.js" "$tmp/busy.svg"
