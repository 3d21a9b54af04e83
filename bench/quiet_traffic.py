#!/usr/bin/env python3
"""Long quiet traffic: days of latency histograms from endpoints whose latency never regresses, as a recording that
`hotspotd replay` reads (OpenMetrics with timestamps, the format of ../shared/scenarios), and the truth beside it.

Each endpoint has its own request rate (log-uniform from 0.02 to 300 requests/s), its own latency (log-normal, median
5 to 200 ms) and its own scrape interval (15, 30 or 60 s); its load follows a daily cycle (half to one and a half of
its rate, latency up to 10% higher at the peak, as real services are), its process restarts about once a day (the
counters start again from zero), its target is unreachable now and then (gaps of 1 to 20 minutes), and about twice
a day one scrape interval is slow (every request four times slower: a spike nobody would page for). Nothing in it
should page.

With --regressions K, K real regressions are injected as well, each lasting 30 minutes, after the first day, on
endpoints serving at least 1 request/s, in turn of four kinds: `tail` (one request in ten becomes ten times
slower), `shift` (every request three times slower), `several` (a tail regression on every such endpoint of one
service at once) and `restart` (a tail regression during which the process restarts). No gap overlaps one. Each
should page, soon.

  quiet_traffic.py --out FILE.om.gz --truth FILE.json [--days 3] [--endpoints 48] [--seed 1] [--regressions 0]

The truth (JSON): per endpoint its labels, rate, median, interval, the restarts, gaps, spikes and regressions
([kind, start, end]), and its served requests as [time, requests served since the previous scrape] per scrape, to
check what a page says it counted.
"""
import argparse
import gzip
import json
import math
import random

BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]
T0 = 1700000000
TICK = 15


def binomial(rng, n, p):
    if n <= 0 or p <= 0:
        return 0
    if p >= 1:
        return n
    if n < 60:
        return sum(1 for _ in range(n) if rng.random() < p)
    mean, sd = n * p, math.sqrt(n * p * (1 - p))
    return max(0, min(n, int(round(rng.gauss(mean, sd)))))


def poisson(rng, lam):
    if lam < 30:
        limit, k, prod = math.exp(-lam), 0, rng.random()
        while prod > limit:
            k += 1
            prod *= rng.random()
        return k
    return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))


def lognormal_cdf(x, median, sigma):
    return 0.5 * math.erfc(-(math.log(x) - math.log(median)) / (sigma * math.sqrt(2)))


REGRESSION_S = 1800
KINDS = ["tail", "shift", "several", "restart"]


def inject(rng, endpoints, count, end):
    """Regressions on endpoints fast enough to judge, after the first day, never over a gap."""
    fast = [i for i, e in enumerate(endpoints) if e["rate"] >= 1]
    for k in range(count):
        if not fast or end - 86400 - 3600 < REGRESSION_S:
            return
        kind = KINDS[k % len(KINDS)]
        i = rng.choice(fast)
        start = int(rng.uniform(endpoints[0]["t0"] + 86400, end - REGRESSION_S - 3600))
        start -= start % 15
        who = [i]
        if kind == "several":
            service = endpoints[i]["labels"]["service"]
            who = [j for j in fast if endpoints[j]["labels"]["service"] == service]
        for j in who:
            e = endpoints[j]
            if any(s <= start + REGRESSION_S + 600 and start - 600 <= t for _, s, t in e["regressions"]):
                continue  # one regression at a time per endpoint
            e["regressions"].append([kind, start, start + REGRESSION_S])
            e["gaps"] = [g for g in e["gaps"] if g[1] < start - 600 or g[0] > start + REGRESSION_S]
            if kind == "restart":
                e["restarts"] = sorted(e["restarts"] + [start + 300])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--truth", required=True)
    ap.add_argument("--days", type=float, default=3)
    ap.add_argument("--endpoints", type=int, default=48)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--regressions", type=int, default=0)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    end = T0 + int(a.days * 86400)

    endpoints = []
    for i in range(a.endpoints):
        interval = rng.choice([15, 30, 60])
        e = {
            "labels": {"service": f"svc{a.seed}-{i // 8}", "route": f"/r{i}", "method": "GET"},
            "rate": math.exp(rng.uniform(math.log(0.02), math.log(300))),
            "median": math.exp(rng.uniform(math.log(0.005), math.log(0.2))),
            "sigma": rng.uniform(0.3, 0.9),
            "interval": interval,
            "offset": rng.randrange(0, interval // TICK) * TICK,
            "phase": rng.uniform(0, 2 * math.pi),
            "restarts": [], "gaps": [], "spikes": [], "served": [], "regressions": [], "t0": T0,
        }
        t = T0
        while True:
            t += rng.expovariate(1 / 86400)
            if t >= end:
                break
            e["restarts"].append(int(t))
        t = T0
        while True:
            t += rng.expovariate(1 / 43200)
            if t >= end:
                break
            e["gaps"].append([int(t), int(t + rng.uniform(60, 1200))])
        t = T0
        while True:
            t += rng.expovariate(1 / 43200)
            if t >= end:
                break
            e["spikes"].append(int(t))
        e["cum"] = [0] * (len(BOUNDS) + 1)
        e["sum"] = 0.0
        e["last"] = T0
        e["next_restart"] = 0
        e["next_spike"] = 0
        endpoints.append(e)
    inject(rng, endpoints, a.regressions, end)
    for e in endpoints:
        e["next_restart"] = 0

    with gzip.open(a.out, "wt", compresslevel=3) as out:
        out.write("# TYPE http_request_duration_seconds histogram\n# UNIT http_request_duration_seconds seconds\n"
                  "# HELP http_request_duration_seconds Request latency.\n")
        for t in range(T0, end + 1, TICK):
            lines = []
            for e in endpoints:
                if (t - T0 - e["offset"]) % e["interval"] != 0:
                    continue
                dt = t - e["last"]
                e["last"] = t
                # The process restarted since the last scrape: its counters start again.
                restarted = False
                while e["next_restart"] < len(e["restarts"]) and e["restarts"][e["next_restart"]] <= t:
                    e["next_restart"] += 1
                    restarted = True
                if restarted:
                    e["cum"] = [0] * (len(BOUNDS) + 1)
                    e["sum"] = 0.0
                load = 1 + 0.5 * math.sin(2 * math.pi * (t - T0) / 86400 + e["phase"])
                median = e["median"] * (1 + 0.1 * (load - 0.5))
                spike = False
                while e["next_spike"] < len(e["spikes"]) and e["spikes"][e["next_spike"]] <= t:
                    e["next_spike"] += 1
                    spike = True
                if spike:
                    median *= 4
                # A regression: the share of requests that are slower, and how much slower.
                slow_share, slow_factor = 0.0, 1.0
                for kind, r0, r1 in e["regressions"]:
                    if r0 <= t < r1:
                        slow_share, slow_factor = (1.0, 3.0) if kind == "shift" else (0.1, 10.0)
                # Requests served since the last scrape (after a restart, only since the restart: roughly half).
                n = poisson(rng, e["rate"] * load * (dt / 2 if restarted else dt))
                e["served"].append([t, n])
                # Each bucket's new requests, drawn bucket by bucket from those left above the one before.
                left, below = n, 0
                for b, le in enumerate(BOUNDS):
                    def cdf(x):
                        fast_part = (1 - slow_share) * lognormal_cdf(x, median, e["sigma"])
                        return fast_part + slow_share * lognormal_cdf(x, median * slow_factor, e["sigma"])
                    f_prev = cdf(BOUNDS[b - 1]) if b else 0.0
                    f = cdf(le)
                    k = binomial(rng, left, (f - f_prev) / max(1e-12, 1 - f_prev))
                    left -= k
                    below += k
                    e["cum"][b] += below
                e["cum"][len(BOUNDS)] += n
                mean_factor = 1 - slow_share + slow_share * slow_factor
                e["sum"] += n * median * mean_factor * math.exp(e["sigma"] ** 2 / 2)
                if any(g0 <= t < g1 for g0, g1 in e["gaps"]):
                    continue  # the target did not answer this scrape: nothing recorded
                lab = ",".join(f'{k}="{v}"' for k, v in e["labels"].items())
                for b, le in enumerate(BOUNDS):
                    lines.append(f'http_request_duration_seconds_bucket{{{lab},le="{le}"}} {e["cum"][b]} {t}.0\n')
                lines.append(f'http_request_duration_seconds_bucket{{{lab},le="+Inf"}} {e["cum"][-1]} {t}.0\n')
                lines.append(f'http_request_duration_seconds_count{{{lab}}} {e["cum"][-1]} {t}.0\n')
                lines.append(f'http_request_duration_seconds_sum{{{lab}}} {e["sum"]:.6f} {t}.0\n')
            out.write("".join(lines))
        out.write("# EOF\n")

    truth = {"t0": T0, "t_end": end, "days": a.days, "endpoints": [
        {k: e[k] for k in ("labels", "rate", "median", "sigma", "interval", "restarts", "gaps", "spikes", "regressions",
                           "served")}
        for e in endpoints]}
    with open(a.truth, "w") as f:
        json.dump(truth, f)


if __name__ == "__main__":
    main()
