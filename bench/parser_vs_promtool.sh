#!/usr/bin/env bash
# Parses one histogram-heavy exposition with `promtool check metrics` (Prometheus's own parser plus its lint) and
# with hotspotd's parser, in one run, and prints both throughputs and the ratio: bench/compare's parse part.
#   bench/parser_vs_promtool.sh [BUILD_DIR] [LABEL_SETS]
set -euo pipefail
PARTS=parse LABEL_SETS=${2:-20000} exec "$(dirname "$0")/compare" "${1:-build/gcc}"
