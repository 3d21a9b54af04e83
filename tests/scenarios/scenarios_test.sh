#!/usr/bin/env bash
# Replays every labeled scenario in tests/data/scenarios through `hotspotd replay` (zero-config rules) and judges
# the alerts with the scenarios' own scorer (score.py): no false alert anywhere, every latency incident detected.
# Prints the time to detect of each. Error-budget incidents need the burn_rate detector, which this version does
# not have yet: they are reported, not asserted.
#   scenarios_test.sh HOTSPOTD_BINARY SCENARIO_DIR
set -euo pipefail
hotspotd=$1
dir=$2
command -v python3 >/dev/null || { echo "FAIL: python3 is needed for score.py (scripts/bootstrap installs it)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail=0
ttds=()
for meta in "$dir"/*.json; do
  name=$(basename "$meta" .json)
  "$hotspotd" replay --input "$dir/$name.om.gz" --output "$tmp/$name.jsonl" 2>/dev/null
  score=$(python3 "$dir/score.py" "$meta" "$tmp/$name.jsonl")
  read -r latency errors < <(python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
print(sum(1 for i in m["incidents"] if i["kind"] == "latency"), sum(1 for i in m["incidents"] if i["kind"] != "latency"))
' "$meta")
  verdict=$(python3 -c '
import json, sys
s = json.loads(sys.argv[1]); latency = int(sys.argv[2])
problems = []
if s["false_alerts"]: problems.append("%d false alert(s): %s" % (s["false_alerts"], s["false"]))
if s["detected"] < latency: problems.append("%d of %d latency incident(s) detected" % (s["detected"], latency))
print("; ".join(problems) if problems else "ok")
' "$score" "$latency")
  echo "$name: $score"
  if [ "$errors" -gt 0 ]; then
    echo "  note: $errors error-budget incident(s) here need the burn_rate detector (not in this version)"
  fi
  if [ "$verdict" != "ok" ]; then
    echo "  FAIL: $verdict"
    fail=1
  fi
  for t in $(python3 -c 'import json,sys; print(" ".join(str(x) for x in json.loads(sys.argv[1])["ttd_s"]))' "$score"); do
    ttds+=("$t")
  done
done
if [ ${#ttds[@]} -gt 0 ]; then
  echo "median time to detect: $(printf '%s\n' "${ttds[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}') s"
fi
exit $fail
