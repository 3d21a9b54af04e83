#!/usr/bin/env bash
# Memory under label churn: the daemon scrapes, every second, a target whose 2,000 series all carry a label value
# never seen before (a request id in a label), with [store] staleness = 30s, so the store always holds about
# 60,000 series while 2,000 new ones arrive and 2,000 go each second. Prints the daemon's RSS, the series held and
# hotspotd_store_memory_bytes every 30 s, and the RSS growth from the end of the first minute (the store full:
# the staleness period has passed) to the last reading: a daemon that frees what goes stale stays level.
#   bench/churn_soak.sh [HOTSPOTD_BINARY] [SECONDS] [NEW_SERIES_PER_SCRAPE]
set -euo pipefail
hotspotd=${1:-build/gcc/hotspotd}
seconds=${2:-180}
per_scrape=${3:-2000}
source "$(dirname "$0")/lib.sh"
need python3 curl

# The churning target: each scrape a new batch of request ids (2,000 label values not seen before).
python_bg "$per_scrape" "$tmp/target.port" <<'PY'
import itertools, sys
from metrics_target import serve
n = int(sys.argv[1]); scrape = itertools.count()
def body():
    s = next(scrape)
    return ("# TYPE requests_total counter\n" + "".join(
        'requests_total{route="/checkout",request_id="req-%d-%d-0123456789abcdef"} 1\n' % (s, i)
        for i in range(n))).encode()
serve(body, sys.argv[2])
PY
wait_for_file "$tmp/target.port"
target_port=$(cat "$tmp/target.port")

cat > "$tmp/hotspotd.toml" <<TOML
[server]
listen = "127.0.0.1:0"
[storage]
state_dir = "$tmp/state"
[store]
full_resolution = "1m"
retention = "5m"
coarse_step = "15s"
staleness = "30s"
[[scrape]]
job = "churn"
targets = ["127.0.0.1:$target_port"]
interval = "1s"
timeout = "1s"
TOML
start_hotspotd "$hotspotd" "$tmp/hotspotd.toml" "$tmp/daemon.log"
printf "%8s %10s %10s %14s\n" "seconds" "RSS MiB" "series" "store MiB"
first=
last=
for t in $(seq 30 30 "$seconds"); do
  sleep 30
  kill -0 "$daemon" 2>/dev/null || { echo "the daemon died:"; tail "$tmp/daemon.log"; exit 1; }
  r=$(rss)
  [ "$t" -eq 60 ] && first=$r
  last=$r
  printf "%8d %10.1f %10.0f %14.1f\n" "$t" "$(echo "$r/1024" | bc -l)" "$(metric hotspotd_store_series)" \
    "$(echo "$(metric hotspotd_store_memory_bytes)/1048576" | bc -l)"
done
echo "RSS growth from minute 1 to the last reading: $(echo "($last - $first) * 100 / $first" | bc -l | xargs printf '%.1f')%"
