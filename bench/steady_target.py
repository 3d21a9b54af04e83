"""A steady metrics target for the benchmarks: SERIES series (latency histograms of 12 buckets with _count, and a
request counter per label set: 14 series each), every counter growing by 450 requests a scrape as a real service's
do; writes its port to PORT_FILE.
    python3 bench/steady_target.py SERIES PORT_FILE
"""
import itertools, sys
from metrics_target import serve
histograms = max(1, int(sys.argv[1]) // 14)
bounds = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"]
shares = [0.02, 0.08, 0.25, 0.55, 0.8, 0.93, 0.97, 0.99, 0.996, 0.998, 0.999, 1.0]
# Each line's name and labels, and how many requests it counts per request of its label set.
lines = []
for h in range(histograms):
    labels = 'service="svc%d",route="/api/v1/item/%d",method="GET"' % (h % 50, h)
    lines += [('http_request_duration_seconds_bucket{%s,le="%s"} ' % (labels, le), s, 1000 + 37 * h)
              for le, s in zip(bounds, shares)]
    lines.append(('http_request_duration_seconds_count{%s} ' % labels, 1.0, 1000 + 37 * h))
counters = [('http_requests_total{service="svc%d",route="/api/v1/item/%d",code="200"} ' % (h % 50, h), 1.0,
             1000 + 37 * h) for h in range(histograms)]
scrape = itertools.count()
def body(k):
    # 450 more requests per label set each scrape; the sum grows with the count.
    out = ["# TYPE http_request_duration_seconds histogram\n"]
    out += ["%s%d\n" % (name, int((n + 450 * k) * share)) for name, share, n in lines]
    out.append("# TYPE http_requests_total counter\n")
    out += ["%s%d\n" % (name, n + 450 * k) for name, _, n in counters]
    return "".join(out).encode()
serve(lambda: body(next(scrape)), sys.argv[2], threaded=True)
