#!/usr/bin/env bash
# What a query source costs, against a real Prometheus holding 1,000 endpoints: a recording of a service with
# 1,000 routes (a latency histogram of 6 buckets and requests by code each, 15 s scrapes, 45 minutes) is
# backfilled with `promtool tsdb create-blocks-from openmetrics`, and `hotspotd replay --source` runs a
# latency_drift and a burn_rate rule on it for the last 10 minutes, fetching as the daemon does. Prints the first
# round's cost (everything the rules read back to), the cost of each later evaluation (the new step only), the
# ratio of the two (what asking for the whole window at every evaluation would cost instead), the detectors' time
# per endpoint, and checks that the alerts equal `hotspotd replay --input` of the same recording.
#   bench/query_source.sh [HOTSPOTD_BINARY] [ENDPOINTS]
set -euo pipefail
hotspotd=${1:-build/gcc/hotspotd}
endpoints=${2:-1000}
for tool in prometheus promtool python3 curl; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (scripts/bootstrap installs it)"; exit 1; }
done
tmp=$(mktemp -d)
prom_pid=
cleanup() {
  if [ -n "$prom_pid" ]; then kill "$prom_pid" 2>/dev/null || true; wait "$prom_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

python3 - "$endpoints" > "$tmp/fleet.om" <<'PY'
import random, sys
n = int(sys.argv[1]); random.seed(7)
t0, step, scrapes = 1700000000, 15, 180
bounds = ["0.05", "0.1", "0.25", "0.5", "1.0", "+Inf"]
rate = [random.randint(5, 60) for _ in range(n)]
buckets = [[0] * len(bounds) for _ in range(n)]
ok = [0] * n; bad = [0] * n; total_sum = [0.0] * n
w = sys.stdout.write
# OpenMetrics wants each family's samples together: every scrape is written per family, families in order.
hist, reqs = [], []
for s in range(scrapes):
    t = t0 + s * step
    for r in range(n):
        k = rate[r] * step
        slow = 0.08 if (r == 7 and s > 150) else 0.01   # one route drifts near the end
        per = [int(k * 0.5), int(k * 0.3), int(k * (0.19 - slow)), int(k * slow), 0, 0]
        cum = 0
        for i in range(len(bounds)):
            cum += per[i]; buckets[r][i] += cum
        total_sum[r] += k * 0.08
        e = int(k * (0.05 if (r == 3 and s > 140) else 0.0005 * random.random()))
        bad[r] += e; ok[r] += k - e
        hist.append((t, r, list(buckets[r]), total_sum[r]))
        reqs.append((t, r, ok[r], bad[r]))
w("# TYPE http_request_duration_seconds histogram\n")
for t, r, b, sm in hist:
    lab = 'service="fleet",route="/r%d"' % r
    for i, le in enumerate(bounds):
        w('http_request_duration_seconds_bucket{%s,le="%s"} %d %d\n' % (lab, le, b[i], t))
    w('http_request_duration_seconds_count{%s} %d %d\n' % (lab, b[-1], t))
    w('http_request_duration_seconds_sum{%s} %.3f %d\n' % (lab, sm, t))
w("# TYPE http_requests counter\n")
for t, r, o, e in reqs:
    lab = 'service="fleet",route="/r%d"' % r
    w('http_requests_total{%s,code="200"} %d %d\n' % (lab, o, t))
    w('http_requests_total{%s,code="500"} %d %d\n' % (lab, e, t))
w("# EOF\n")
PY
echo "recording: $endpoints endpoints, $(grep -vc '^#' "$tmp/fleet.om") samples"
promtool tsdb create-blocks-from openmetrics "$tmp/fleet.om" "$tmp/tsdb" > /dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
: > "$tmp/prometheus.yml"
prometheus --storage.tsdb.path="$tmp/tsdb" --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$port" \
  --config.file="$tmp/prometheus.yml" --log.level=warn > "$tmp/prometheus.log" 2>&1 &
prom_pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/-/ready" > /dev/null 2>&1 && break; sleep 0.2; done

cat > "$tmp/hotspotd.toml" <<CONFIG
[[sources]]
name = "prometheus"
url = "http://127.0.0.1:$port"
step = "15s"
CONFIG
cat > "$tmp/rules.toml" <<'RULES'
[[rules]]
name = "LatencyDrift"
kind = "latency_drift"
histogram = 'http_request_duration_seconds{service="fleet"}'
by = ["service", "route"]
baseline = "30m"

[[rules]]
name = "Availability"
kind = "burn_rate"
objective = 0.999
errors = 'http_requests_total{service="fleet",code=~"5.."}'
total = 'http_requests_total{service="fleet"}'
by = ["service", "route"]
RULES
from=$((1700000000 + 170 * 15 - 600))
to=$((1700000000 + 179 * 15))
"$hotspotd" replay --source prometheus --config "$tmp/hotspotd.toml" --rules "$tmp/rules.toml" \
  --from "$from" --to "$to" --output "$tmp/source.jsonl" 2> "$tmp/source.log"
"$hotspotd" replay --input "$tmp/fleet.om" --rules "$tmp/rules.toml" --output "$tmp/file.jsonl" 2> /dev/null
sed 's/^hotspotd: //' "$tmp/source.log"
python3 - "$tmp/source.log" "$endpoints" <<'PY'
import re, sys
text = open(sys.argv[1]).read(); n = int(sys.argv[2])
m = re.search(r"first round (\d+) queries, (\d+) bytes, (\d+) points in ([\d.]+) s; then per evaluation ([\d.]+) "
              r"queries, (\d+) bytes, (\d+) points in ([\d.]+) ms; detectors ([\d.]+) us per endpoint", text)
q1, b1, p1, s1, q, b, p, ms, us = m.groups()
print("per evaluation for %d endpoints: %s queries, %.1f KiB, %s points, %s ms waiting for Prometheus"
      % (n, q, int(b) / 1024, p, ms))
print("first round (whole window): %s queries, %.1f MiB, %s points, %s s" % (q1, int(b1) / 2**20, p1, s1))
print("whole window at every evaluation would fetch %.0fx the bytes of an incremental round" % (int(b1) / max(1, int(b))))
print("detectors: %s us per endpoint judgement (a drift and a burn-rate rule)" % us)
PY
# Only the part of the recording both judged is compared: replay of the file judges from its start.
python3 - "$tmp/file.jsonl" "$tmp/source.jsonl" "$from" <<'PY'
import json, sys
def load(p, t0):
    return [(e["time"], e["state"], e["alertname"], e["labels"].get("route")) for e in map(json.loads, open(p)) if e["time"] >= t0]
f, s = load(sys.argv[1], float(sys.argv[3])), load(sys.argv[2], float(sys.argv[3]))
print("alerts in the last 10 minutes: replay of the file %d, through the query source %d: %s"
      % (len(f), len(s), "the same" if f == s else "DIFFERENT %s %s" % (f, s)))
PY
