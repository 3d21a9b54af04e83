#!/usr/bin/env bash
# Parses one histogram-heavy exposition with `promtool check metrics` (Prometheus's own parser plus its lint) and
# with hotspotd's parser, in one run, and prints both throughputs and the ratio.
#   bench/parser_vs_promtool.sh [BUILD_DIR] [LABEL_SETS]
set -euo pipefail
build=${1:-build/gcc}
sets=${2:-20000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/bench/parse_file" --generate "$sets" "$tmp/metrics.txt"
bytes=$(stat -c %s "$tmp/metrics.txt")

best=999999
for _ in 1 2 3; do
  start=$(date +%s.%N)
  promtool check metrics < "$tmp/metrics.txt" >/dev/null 2>&1 || true
  end=$(date +%s.%N)
  t=$(echo "$end - $start" | bc -l)
  best=$(echo "if ($t < $best) $t else $best" | bc -l)
done
promtool_mbs=$(echo "$bytes / $best / 1000000" | bc -l)

ours=$("$build/bench/parse_file" "$tmp/metrics.txt" 10)
ours_mbs=$(echo "$ours" | sed -n 's/.*mb_per_s=\([0-9.]*\).*/\1/p')

printf 'input: %d bytes, %d label sets of a 12-bucket histogram\n' "$bytes" "$sets"
printf 'promtool check metrics: %.1f MB/s\n' "$promtool_mbs"
printf 'hotspotd parser:        %.1f MB/s  (%s)\n' "$ours_mbs" "$ours"
printf 'ratio: %.1fx\n' "$(echo "$ours_mbs / $promtool_mbs" | bc -l)"
