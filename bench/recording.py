"""A replay recording for the benchmarks: 16 endpoints (a latency histogram of 12 buckets with its sum and count,
and a request counter by status) every 15 s for HOURS, as OpenMetrics the way `promtool tsdb create-blocks-from
openmetrics` reads it (each family's scrapes in time order, one family after the other), on standard output.
    python3 bench/recording.py HOURS > recording.om
"""
import math, random, sys
hours = float(sys.argv[1])
random.seed(7)
bounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
endpoints = [(f"svc{s}", f"/api/r{r}") for s in range(4) for r in range(4)]
t0, step = 1_700_000_000, 15
steps = int(hours * 3600 / step)
out = sys.stdout.write
out("# TYPE http_request_duration_seconds histogram\n# UNIT http_request_duration_seconds seconds\n")
counts = {e: [0] * (len(bounds) + 1) for e in endpoints}
sums = {e: 0.0 for e in endpoints}
codes = {e: {"200": 0, "500": 0} for e in endpoints}
for i in range(steps):
    t = t0 + i * step
    for e in endpoints:
        rate = 20 + 10 * math.sin(2 * math.pi * i * step / 86400)
        n = max(0, int(random.gauss(rate * step, 5)))
        c = counts[e]
        for _ in range(n // 10):  # ten requests per draw keeps the generator quick
            lat = random.lognormvariate(math.log(0.06), 0.6)
            for b, ub in enumerate(bounds):
                if lat <= ub:
                    c[b] += 10
            c[-1] += 10
            sums[e] += 10 * lat
        codes[e]["200"] += n - n // 100
        codes[e]["500"] += n // 100
        labels = f'service="{e[0]}",route="{e[1]}"'
        for b, ub in enumerate(bounds):
            out(f'http_request_duration_seconds_bucket{{{labels},le="{ub}"}} {c[b]} {t}\n')
        out(f'http_request_duration_seconds_bucket{{{labels},le="+Inf"}} {c[-1]} {t}\n')
        out(f'http_request_duration_seconds_sum{{{labels}}} {sums[e]:.3f} {t}\n')
        out(f'http_request_duration_seconds_count{{{labels}}} {c[-1]} {t}\n')
out("# TYPE http_requests counter\n")
totals = {e: {"200": 0, "500": 0} for e in endpoints}
random.seed(8)
for i in range(steps):
    t = t0 + i * step
    for e in endpoints:
        labels = f'service="{e[0]}",route="{e[1]}"'
        for code in ("200", "500"):
            totals[e][code] += random.randint(250, 350) if code == "200" else random.randint(0, 4)
            out(f'http_requests_total{{{labels},code="{code}"}} {totals[e][code]} {t}\n')
out("# EOF\n")
