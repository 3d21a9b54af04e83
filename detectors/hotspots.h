// DESIGN
// Hotspots: which endpoints the servers spend their time on, and which of them drifted. For every histogram of
// request durations (a name ending in _seconds) the store holds, grouped by endpoint (every label but le and
// instance, summed over instances): over the last `window`, the request rate (from _count), the server time
// rate (from _sum: seconds of handling per second, i.e. request rate x mean latency), its share of the total
// server time of its histogram family, and the p50/p99 from the buckets with the bucket bounds they lie between.
//
// Drift comes from the latest evaluation of the latency_drift rules: for each endpoint, how many times the
// baseline share of requests above the baseline's bound the current share is (1 is no drift), whether the rule
// holds it active, and whether an incident fires. The rank is the share of server time weighted by the drift,
// share x max(1, drift): a small endpoint whose tail went 10x ranks above a big steady one, a steady endpoint ranks
// by its share.
//
// Cost: two increases per histogram (sum and count) for all of them, the quantiles only for the `limit` that rank
// highest. Computed on the thread that owns the store; the result is a plain value to publish.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/duration.h"
#include "detectors/quantile.h"
#include "rules/finding.h"
#include "store/series_store.h"

namespace hotspotd::detectors {

// What the latency_drift rules said of one endpoint at their latest evaluation.
struct DriftMark {
  std::string rule;
  std::string metric;           // the histogram the rule's selector pins, or empty (then `histogram` is a label)
  rules::SharedLabels endpoint;  // the rule's endpoint labels
  bool all_labels = true;       // the rule groups by every label (no `by`): the endpoint is the hotspot's own
  double ratio = 1;             // share above the bound / the baseline share
  bool active = false;
  bool firing = false;
  std::string incident_id;
};

struct Hotspot {
  std::string histogram;        // the family, e.g. http_request_duration_seconds
  rules::OwnedLabels endpoint;  // its labels but le and instance
  double request_rate = 0;      // per second
  double time_rate = 0;         // seconds of server time per second (rate of _sum)
  double share = 0;             // of the server time of its family, 0..1
  double mean_seconds = NAN;
  QuantileEstimate p50{NAN, NAN, NAN};
  QuantileEstimate p99{NAN, NAN, NAN};
  std::optional<DriftMark> drift;  // the strongest drift a rule reports for it
  double rank = 0;                 // share x max(1, drift ratio)
};

struct HotspotTable {
  std::int64_t t_ms = 0;
  Duration window{};
  std::size_t endpoints = 0;  // all endpoints seen (the table holds at most `limit`)
  std::vector<Hotspot> hotspots;  // by rank, highest first
};

HotspotTable rankHotspots(const store::SeriesStore& store, std::int64_t t_ms, Duration window,
                          const std::vector<DriftMark>& drift, std::size_t limit);

}  // namespace hotspotd::detectors
