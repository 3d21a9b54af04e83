#!/usr/bin/env bash
# The latency scenarios judged two ways in one run, scored by the scenarios' own scorer:
#   - a real Prometheus evaluating the rule teams write today for tail latency: p99 over 5m above 1.5x the p99 of
#     the hour before, for 5m (the scenario backfilled with `promtool tsdb create-blocks-from openmetrics`, the
#     alert expression evaluated with query_range at the scrape interval, `for` applied to its result as the rule
#     manager would);
#   - `hotspotd replay` with the zero-config latency_drift rule.
# Prints each one's time to detect and false alerts per scenario, and the median times to detect.
#   bench/drift_vs_prometheus.sh [HOTSPOTD_BINARY] [SCENARIO_DIR]
set -euo pipefail
hotspotd=${1:-build/gcc/hotspotd}
dir=${2:-tests/data/scenarios}
for tool in prometheus promtool python3 curl; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (scripts/bootstrap installs it)"; exit 1; }
done
tmp=$(mktemp -d)
prom_pid=
cleanup() {
  [ -n "$prom_pid" ] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

expr='histogram_quantile(0.99, sum by (service, route, method, le) (rate(http_request_duration_seconds_bucket[5m])))
  > 1.5 * histogram_quantile(0.99, sum by (service, route, method, le) (rate(http_request_duration_seconds_bucket[1h] offset 5m)))'

summary=()
for meta in "$dir"/*.json; do
  name=$(basename "$meta" .json)
  kinds=$(python3 -c 'import json,sys; print(" ".join(i["kind"] for i in json.load(open(sys.argv[1]))["incidents"]))' "$meta")
  # Latency scenarios (and those with no incident at all, where any alert is a false one).
  case " $kinds " in *" errors "*) continue ;; esac

  zcat "$dir/$name.om.gz" > "$tmp/$name.om"
  rm -rf "$tmp/tsdb" && mkdir -p "$tmp/tsdb"
  promtool tsdb create-blocks-from openmetrics "$tmp/$name.om" "$tmp/tsdb" >/dev/null
  port=$(free_port)
  printf 'global:\n  scrape_interval: 15s\n' > "$tmp/prometheus.yml"
  prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
    --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$port" >"$tmp/prometheus.log" 2>&1 &
  prom_pid=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null && break
    sleep 0.2
  done
  read -r t0 t_end < <(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(int(m["t0"]), int(m["t_end"]))' "$meta")
  curl -sf "http://127.0.0.1:$port/api/v1/query_range" --data-urlencode "query=$expr" \
    --data-urlencode "start=$t0" --data-urlencode "end=$t_end" --data-urlencode "step=15" > "$tmp/range.json"
  kill "$prom_pid" && wait "$prom_pid" 2>/dev/null || true
  prom_pid=
  # `for: 5m`: an alert fires once the expression has held at every 15 s evaluation for 5 minutes.
  python3 - "$tmp/range.json" > "$tmp/prometheus.jsonl" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))["data"]["result"]
for series in data:
    labels = {k: v for k, v in series["metric"].items() if k != "le"}
    since, last, fired = None, None, False
    for t, _ in series["values"]:
        t = float(t)
        if last is None or t - last > 15.5:
            since, fired = t, False
        last = t
        if not fired and t - since >= 300:
            print(json.dumps({"time": t, "state": "firing", "alertname": "LatencyP99Up", "labels": labels}))
            fired = True
PY
  "$hotspotd" replay --input "$dir/$name.om.gz" --output "$tmp/hotspotd.jsonl" 2>/dev/null
  prom_score=$(python3 "$dir/score.py" "$meta" "$tmp/prometheus.jsonl")
  ours_score=$(python3 "$dir/score.py" "$meta" "$tmp/hotspotd.jsonl")
  summary+=("$name|$prom_score|$ours_score")
  printf '%s\n  prometheus (p99 5m > 1.5x p99 1h, for 5m): %s\n  hotspotd (zero-config latency_drift):      %s\n' \
    "$name" "$prom_score" "$ours_score"
done

python3 - "${summary[@]}" <<'PY'
import json, statistics, sys
prom, ours, prom_false, ours_false = [], [], 0, 0
for entry in sys.argv[1:]:
    name, p, o = entry.split("|")
    p, o = json.loads(p), json.loads(o)
    prom += p["ttd_s"]; ours += o["ttd_s"]
    prom_false += p["false_alerts"]; ours_false += o["false_alerts"]
def med(v): return "%.0f s" % statistics.median(v) if v else "n/a"
print("median time to detect: prometheus %s, hotspotd %s" % (med(prom), med(ours)))
print("false alerts: prometheus %d, hotspotd %d" % (prom_false, ours_false))
if prom and ours:
    print("ratio (prometheus / hotspotd time to detect): %.1fx" % (statistics.median(prom) / statistics.median(ours)))
PY
