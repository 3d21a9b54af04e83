#!/usr/bin/env bash
# False pages on long quiet traffic, and a check of what each page counted: bench/quiet_traffic.py writes SHARDS
# recordings of ENDPOINTS endpoints over DAYS days each (rates 0.02 to 300 requests/s, daily load, restarts, gaps,
# one-interval spikes, 15-60 s scrapes; nothing regresses), `hotspotd replay` runs the zero-config rules over each,
# and bench/quiet_score.py counts the false pages per 1,000 endpoint-days and checks every page's evidence against
# what the endpoint served. REGRESSIONS per shard (default 8) are injected as well (tail, shift, several endpoints at
# once, a restart during one): their recall and median time to detect are printed.
#   bench/quiet_pages.sh [HOTSPOTD_BINARY] [SHARDS] [DAYS] [ENDPOINTS] [REGRESSIONS]
#   (default: 8 shards of 48 endpoints x 3 days, 8 regressions each; FIRST_SEED=N numbers the shards' seeds from
#   N instead of 1, for a check on recordings the defaults were not chosen on)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
hotspotd=$(realpath "${1:-build/gcc/hotspotd}")
shards=${2:-8}
days=${3:-3}
endpoints=${4:-48}
regressions=${5:-8}
first=${FIRST_SEED:-1}
need python3
jobs=$(nproc)

run_shard() {
  local i=$1
  python3 "$bench_dir/quiet_traffic.py" --out "$tmp/q$i.om.gz" --truth "$tmp/q$i.json" --days "$days" \
    --endpoints "$endpoints" --seed "$i" --regressions "$regressions"
  "$hotspotd" replay --input "$tmp/q$i.om.gz" --output "$tmp/q$i.alerts.jsonl" >"$tmp/q$i.log" 2>&1
  rm -f "$tmp/q$i.om.gz"
}

start=$(date +%s)
for i in $(seq "$first" $((first + shards - 1))); do
  run_shard "$i" &
  pids+=($!)
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 1; done
done
wait
echo "quiet traffic: $shards shards of $endpoints endpoints x $days days, $regressions regressions each, replayed in $(( $(date +%s) - start )) s"
args=()
for i in $(seq "$first" $((first + shards - 1))); do args+=("$tmp/q$i.json" "$tmp/q$i.alerts.jsonl"); done
python3 "$bench_dir/quiet_score.py" "${args[@]}"
