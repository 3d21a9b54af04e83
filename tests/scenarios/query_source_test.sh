#!/usr/bin/env bash
# The query source judges what replay judges: each labeled scenario in tests/data/scenarios is backfilled into a
# real Prometheus (promtool tsdb create-blocks-from openmetrics), and the same rules are run over it twice: by
# `hotspotd replay --input` on the file, and by `hotspotd replay --source` through Prometheus' query_range API,
# fetched as the daemon fetches (a first round, then the new steps at each evaluation). The alerts must be the
# same, line for line (times, labels, values, evidence). Prints the queries and bytes each source replay took.
#   query_source_test.sh HOTSPOTD_BINARY SCENARIO_DIR
set -euo pipefail
hotspotd=$1
dir=$2
for tool in prometheus promtool python3; do
  command -v $tool >/dev/null || {
    echo "SKIPPED: $tool is needed (scripts/bootstrap installs it)"
    [ "${CI:-}" = "true" ] && exit 1  # never a silent pass: a failure in CI, a skip (77) elsewhere
    exit 77
  }
done
tmp=$(mktemp -d)
prom_pid=
cleanup() {
  if [ -n "$prom_pid" ]; then kill "$prom_pid" 2>/dev/null || true; wait "$prom_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

cat > "$tmp/rules.toml" <<'RULES'
[[rules]]
name = "LatencyDrift"
kind = "latency_drift"
histogram = '{__name__=~".+_seconds"}'

[[rules]]
name = "AvailabilitySLO"
kind = "burn_rate"
objective = 0.999
errors = 'http_requests_total{code=~"5.."}'
total = 'http_requests_total'
RULES

fail=0
for om in "$dir"/*.om.gz; do
  name=$(basename "$om" .om.gz)
  gunzip -c "$om" > "$tmp/$name.om"
  promtool tsdb create-blocks-from openmetrics "$tmp/$name.om" "$tmp/$name.tsdb" > "$tmp/$name.promtool.log" 2>&1 ||
    { echo "FAIL: promtool could not backfill $name:"; cat "$tmp/$name.promtool.log"; exit 1; }
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  : > "$tmp/empty.yml"
  prometheus --storage.tsdb.path="$tmp/$name.tsdb" --storage.tsdb.retention.time=100y \
    --web.listen-address="127.0.0.1:$port" --config.file="$tmp/empty.yml" > "$tmp/$name.prometheus.log" 2>&1 &
  prom_pid=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/-/ready" > /dev/null 2>&1 && break
    sleep 0.2
  done
  curl -sf "http://127.0.0.1:$port/-/ready" > /dev/null || { echo "FAIL: Prometheus did not start"; cat "$tmp/$name.prometheus.log"; exit 1; }
  cat > "$tmp/$name.toml" <<CONFIG
[[sources]]
name = "prometheus"
url = "http://127.0.0.1:$port"
step = "15s"
CONFIG
  first=$(awk '!/^#/ {print $NF; exit}' "$tmp/$name.om")
  last=$(awk '!/^#/ {t = $NF} END {print t}' "$tmp/$name.om")
  "$hotspotd" replay --input "$tmp/$name.om" --rules "$tmp/rules.toml" --output "$tmp/$name.file.jsonl" 2> "$tmp/$name.file.log"
  if ! "$hotspotd" replay --source prometheus --config "$tmp/$name.toml" --from "$first" --to "$last" \
      --rules "$tmp/rules.toml" --output "$tmp/$name.source.jsonl" 2> "$tmp/$name.source.log"; then
    echo "FAIL: $name: replay through the query source failed:"; cat "$tmp/$name.source.log"; fail=1
  fi
  kill "$prom_pid"; wait "$prom_pid" 2>/dev/null || true; prom_pid=
  echo "$name: $(tail -1 "$tmp/$name.file.log" | sed 's/^hotspotd: //')"
  echo "$name: $(tail -1 "$tmp/$name.source.log" | sed 's/^hotspotd: //')"
  if ! diff "$tmp/$name.file.jsonl" "$tmp/$name.source.jsonl" > "$tmp/$name.diff"; then
    echo "  FAIL: the alerts differ (< replay of the file, > through the query source):"; head -c 3000 "$tmp/$name.diff"; echo
    fail=1
  else
    echo "  same $(wc -l < "$tmp/$name.file.jsonl") alert lines"
  fi
done
# A scenario with incidents must have raised some, or the comparison proves nothing.
grep -q firing "$tmp"/tail_drift-1.file.jsonl || { echo "FAIL: tail_drift-1 raised no alert"; fail=1; }
exit $fail
