#!/usr/bin/env bash
# Replays the anomaly development set (tests/data/anomaly-dev: 29 NAB series, 49 labeled windows, defaults only)
# through `hotspotd replay` and scores the alerts with the set's scorer. Prints recall, false alerts per
# series-day and the windows missed and false alerts per series.
#
# Fails below the goal: recall 0.90 (45 of 49 windows) at no more than 0.10 false alerts per series-day.
#   anomaly_dev_test.sh HOTSPOTD_BINARY DATA_DIR
set -euo pipefail
hotspotd=$1
dir=$2
command -v python3 >/dev/null || { echo "FAIL: python3 is needed for score.py (scripts/bootstrap installs it)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$hotspotd" replay --input "$dir/nab-dev.om.gz" --rules "$dir/rules.toml" --output "$tmp/alerts.jsonl"
score=$(python3 "$dir/score.py" "$dir/nab-dev.json" "$tmp/alerts.jsonl")
echo "score: $score"
python3 - "$dir/nab-dev.json" "$tmp/alerts.jsonl" "$score" <<'PY'
import json, sys
meta = json.load(open(sys.argv[1]))
events = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
score = json.loads(sys.argv[3])
firing = [e for e in events if e["state"] == "firing"]
for name, info in meta["series"].items():
    windows = [i for i in meta["incidents"] if i["labels"]["series"] == name]
    fired = [e["time"] for e in firing if e["labels"].get("series") == name]
    inside = lambda t: any(w["start"] <= t <= w["end"] for w in windows)
    missed = sum(1 for w in windows if not any(w["start"] <= t <= w["end"] for t in fired))
    false = sum(1 for t in fired if t >= info["probation_end"] and not inside(t))
    if missed or false:
        print(f"  {name}: {missed} of {len(windows)} windows missed, {false} false alerts")
print(f"goal: recall >= 0.90 at <= 0.10 false alerts per series-day; now {score['recall']} at {score['fp_per_series_day']}")
problems = []
if score["recall"] < 0.90:
    problems.append(f"recall {score['recall']} ({score['detected']} of {score['windows']} windows), the goal is 0.90")
if score["fp_per_series_day"] > 0.10:
    problems.append(f"{score['fp_per_series_day']} false alerts per series-day, the goal allows 0.10")
if problems:
    print("FAIL: " + "; ".join(problems))
    sys.exit(1)
print("PASS")
PY
