#!/usr/bin/env bash
# What `hotspotd replay` holds while it replays a large recording: a 24-hour recording of 16 endpoints (a latency
# histogram of 12 buckets with its sum and count, and a request counter by status, every 15 s; OpenMetrics as
# `promtool tsdb create-blocks-from openmetrics` reads it, each family's scrapes in time order, one family after
# the other) is generated, replayed with the zero-config rules, and the file's size, the replay's wall time and its
# peak RSS are printed. The replay streams the file: its memory is bounded by the series store, not by the file.
#
#   bench/replay_memory.sh build/gcc [hours]
set -euo pipefail
build=${1:?usage: bench/replay_memory.sh BUILD_DIR [hours]}
hours=${2:-24}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 "$(dirname "$0")/recording.py" "$hours" > "$tmp/recording.om"

size=$(stat -c %s "$tmp/recording.om")
echo "recording: ${hours} h, 16 endpoints, $((size / 1000000)) MB"
/usr/bin/time -f "%e %M" "${HOTSPOTD:-$build/hotspotd}" replay --input "$tmp/recording.om" --output "$tmp/alerts.jsonl" \
  2> "$tmp/time" || { cat "$tmp/time"; exit 1; }
read -r seconds rss_kb < <(tail -n 1 "$tmp/time")
grep -v '^[0-9.]* [0-9]*$' "$tmp/time" || true
echo "replay: ${seconds} s, peak RSS $((rss_kb / 1024)) MiB"
