#!/usr/bin/env bash
# Replays every labeled scenario in tests/data/scenarios through `hotspotd replay` and judges the alerts with the
# scenarios' own scorer (score.py): every incident detected, no false alert anywhere. The rules are what a user
# would write for such a service: the zero-config latency_drift rule, and, where the scenario names an SLO, the
# workbook's burn_rate alerts on http_requests_total for that objective. Prints the times to detect and their
# median.
#   scenarios_test.sh HOTSPOTD_BINARY SCENARIO_DIR
set -euo pipefail
hotspotd=$1
dir=$2
command -v python3 >/dev/null || { echo "FAIL: python3 is needed for score.py (scripts/bootstrap installs it)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail=0
declare -A ttds
for meta in "$dir"/*.json; do
  name=$(basename "$meta" .json)
  objective=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("slo", {}).get("objective", 0.999))' "$meta")
  cat > "$tmp/$name.rules.toml" <<RULES
[[rules]]
name = "LatencyDrift"
kind = "latency_drift"
histogram = '{__name__=~".+_seconds"}'

[[rules]]
name = "AvailabilitySLO"
kind = "burn_rate"
objective = $objective
errors = 'http_requests_total{code=~"5.."}'
total = 'http_requests_total'
RULES
  "$hotspotd" replay --input "$dir/$name.om.gz" --rules "$tmp/$name.rules.toml" --output "$tmp/$name.jsonl" 2>/dev/null
  score=$(python3 "$dir/score.py" "$meta" "$tmp/$name.jsonl")
  incidents=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["incidents"]))' "$meta")
  verdict=$(python3 -c '
import json, sys
s = json.loads(sys.argv[1]); incidents = int(sys.argv[2])
problems = []
if s["false_alerts"]: problems.append("%d false alert(s): %s" % (s["false_alerts"], s["false"]))
if s["detected"] < incidents: problems.append("%d of %d incident(s) detected" % (s["detected"], incidents))
print("; ".join(problems) if problems else "ok")
' "$score" "$incidents")
  echo "$name: $score"
  if [ "$verdict" != "ok" ]; then
    echo "  FAIL: $verdict"
    fail=1
  fi
  kind=$(python3 -c 'import json,sys; print("+".join(sorted({i["kind"] for i in json.load(open(sys.argv[1]))["incidents"]})) or "none")' "$meta")
  for t in $(python3 -c 'import json,sys; print(" ".join(str(x) for x in json.loads(sys.argv[1])["ttd_s"]))' "$score"); do
    ttds[$kind]="${ttds[$kind]:-} $t"
  done
done
for kind in "${!ttds[@]}"; do
  echo "median time to detect, $kind incidents: $(printf '%s\n' ${ttds[$kind]} | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}') s"
done
exit $fail
