#!/usr/bin/env python3
"""Scores `hotspotd replay` alerts on quiet traffic (bench/quiet_traffic.py): a firing for an endpoint during one
of its injected regressions (or up to 10 minutes after it) detects the regression; every other firing is a false
page.

  quiet_score.py TRUTH.json ALERTS.jsonl [TRUTH.json ALERTS.jsonl ...]

Prints each false page with what was near it (a one-interval spike, a restart, a gap), and checks the page's
evidence against the truth: the requests it says it counted over its window can be no more than the endpoint
served in that window and one scrape interval before it. Then: endpoint-days, false pages per 1,000 endpoint-days
(all endpoints, and the endpoints fast enough to be judged: at least 0.5 requests/s, the default min_rate), and
the evidence that over-counted; with regressions, recall per kind and the median time to detect. Exit code 1 if
any evidence over-counted.
"""
import json
import sys

WINDOW = 120  # the zero-config drift rule's window, seconds (a page's evidence says when it judged a longer one)


def main():
    args = sys.argv[1:]
    pages, overcounts, endpoint_days, judged_days = 0, 0, 0.0, 0.0
    regressions, found = {}, {}  # kind -> count; kind -> times to detect
    for truth_path, alerts_path in zip(args[0::2], args[1::2]):
        truth = json.load(open(truth_path))
        eps = {json.dumps(e["labels"], sort_keys=True): e for e in truth["endpoints"]}
        first = {}  # (endpoint, regression start) -> the first page during it
        for e in truth["endpoints"]:
            endpoint_days += truth["days"]
            judged_days += truth["days"] if e["rate"] >= 0.5 else 0
            for kind, _, _ in e.get("regressions", []):
                regressions[kind] = regressions.get(kind, 0) + 1
        for line in open(alerts_path):
            a = json.loads(line)
            if a["state"] != "firing":
                continue
            pages += 1
            lab = {k: v for k, v in a["labels"].items() if k != "histogram"}
            e = eps[json.dumps(lab, sort_keys=True)]
            t, ev = a["time"], a.get("evidence", {})
            window = ev.get("window_seconds", WINDOW)
            served = sum(n for ts, n in e["served"] if t - window - e["interval"] < ts <= t)
            counted = ev.get("requests")
            over = counted is not None and counted > served
            overcounts += over
            hit = [r for r in e.get("regressions", []) if r[1] <= t <= r[2] + 600]
            if hit:
                key = (json.dumps(lab, sort_keys=True), hit[0][1])
                if key not in first:
                    first[key] = (hit[0][0], t - hit[0][1])
                pages -= 1
                if over:
                    print(f"OVERCOUNT during a regression: {lab['service']} {lab['route']} at +{t - truth['t0']:.0f}s: "
                          f"counted {counted}, served {served}")
                continue
            near = []
            near += [f"spike {t - s:.0f}s before" for s in e["spikes"] if 0 <= t - s <= 600]
            near += [f"restart {t - s:.0f}s before" for s in e["restarts"] if 0 <= t - s <= 3600]
            near += [f"gap {g[0] - truth['t0']:.0f}-{g[1] - truth['t0']:.0f}" for g in e["gaps"] if g[0] - 600 <= t <= g[1] + 3600]
            print(f"{'OVERCOUNT ' if over else ''}{lab['service']} {lab['route']} ({e['rate']:.3g} req/s, every "
                  f"{e['interval']}s) at +{t - truth['t0']:.0f}s: counted {counted}, served {served}; "
                  f"{', '.join(near) or 'nothing near'}: {a.get('reason', '')}")
        for kind, ttd in first.values():
            found.setdefault(kind, []).append(ttd)
    if regressions:
        ttds = sorted(x for v in found.values() for x in v)
        total = sum(regressions.values())
        print(f"regressions: {len(ttds)} of {total} detected (recall {len(ttds) / total:.3f}); " +
              ", ".join(f"{k} {len(found.get(k, []))} of {n}" for k, n in sorted(regressions.items())))
        if ttds:
            print(f"time to detect: median {ttds[len(ttds) // 2]:.0f} s, slowest {ttds[-1]:.0f} s")
    print(f"endpoint-days: {endpoint_days:.0f} ({judged_days:.0f} of endpoints at >= 0.5 req/s)")
    print(f"false pages: {pages} = {1000 * pages / max(endpoint_days, 1e-9):.1f} per 1,000 endpoint-days "
          f"({1000 * pages / max(judged_days, 1e-9):.1f} per 1,000 judged endpoint-days)")
    print(f"evidence that counted more requests than were served: {overcounts}")
    return 1 if overcounts else 0


if __name__ == "__main__":
    sys.exit(main())
