// Synthetic expositions for benchmarks: histogram-heavy, shaped like a busy HTTP service's /metrics
// (client_golang's layout: per label set the buckets, then _sum and _count).
#pragma once

#include <string>

namespace hotspotd::bench {

// `histograms` label sets of a 12-bucket latency histogram plus a request counter per label set.
std::string histogramExposition(int histograms, bool openmetrics = false);

}  // namespace hotspotd::bench
