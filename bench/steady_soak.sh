#!/usr/bin/env bash
# Memory and CPU at a steady series count: the daemon scrapes one target exposing SERIES series (latency
# histograms of 12 buckets with _count, and a request counter per label set: 14 series each) every
# INTERVAL seconds, with the zero-config latency_drift rule evaluating every histogram, for SECONDS. Every scrape
# the counters grow, as a real service's do. Prints every 60 s the daemon's RSS, the series held,
# hotspotd_store_memory_bytes and the daemon's CPU over the last minute as a share of one core; at the end, the
# RSS per series held and the mean CPU over the second half of the run. Run it past the store's retention (an hour
# and more with the zero-config rule's baseline) to see the level it settles at.
#   bench/steady_soak.sh [HOTSPOTD_BINARY] [SERIES, default 100000] [SECONDS, default 900] [INTERVAL, default 15]
set -euo pipefail
hotspotd=${1:-build/gcc/hotspotd}
series=${2:-100000}
seconds=${3:-900}
interval=${4:-15}
source "$(dirname "$0")/lib.sh"
need python3 curl bc

PYTHONPATH="$bench_dir" python3 "$bench_dir/steady_target.py" "$series" "$tmp/target.port" &
pids+=($!)
wait_for_file "$tmp/target.port"

cat >"$tmp/hotspotd.toml" <<TOML
[server]
listen = "127.0.0.1:0"
[storage]
state_dir = "$tmp/state"
[store]
max_series = $((series * 2))
[rules]
evaluation_interval = "${interval}s"
[[scrape]]
job = "steady"
targets = ["127.0.0.1:$(cat "$tmp/target.port")"]
interval = "${interval}s"
timeout = "${interval}s"
body_size_limit = "1GiB"
sample_limit = $((series * 2))
TOML
start_hotspotd "$hotspotd" "$tmp/hotspotd.toml" "$tmp/daemon.log"
ticks() { awk '{print $14 + $15}' "/proc/$daemon/stat"; }
hz=$(getconf CLK_TCK)
printf "%8s %10s %10s %14s %12s\n" "seconds" "RSS MiB" "series" "store MiB" "CPU (cores)"
cpu_sum=0
cpu_n=0
last_ticks=$(ticks)
r=0
held=0
for t in $(seq 60 60 "$seconds"); do
  sleep 60
  now_ticks=$(ticks)
  cpu=$(echo "($now_ticks - $last_ticks) / $hz / 60" | bc -l)
  last_ticks=$now_ticks
  r=$(rss)
  held=$(metric hotspotd_store_series)
  printf "%8d %10.1f %10.0f %14.1f %12.3f\n" "$t" "$(echo "$r/1024" | bc -l)" "$held" \
    "$(echo "$(metric hotspotd_store_memory_bytes)/1048576" | bc -l)" "$cpu"
  if [ "$t" -gt $((seconds / 2)) ]; then
    cpu_sum=$(echo "$cpu_sum + $cpu" | bc -l)
    cpu_n=$((cpu_n + 1))
  fi
done
printf "series held: %.0f; RSS %.1f MiB = %.0f bytes per series; CPU over the second half: %.3f of a core\n" \
  "$held" "$(echo "$r/1024" | bc -l)" "$(echo "$r * 1024 / $held" | bc -l)" \
  "$(echo "$cpu_sum / ($cpu_n + ($cpu_n == 0))" | bc -l)"
grep -iE '"level":"(error|warn)' "$tmp/daemon.log" | head -n 5 || true
