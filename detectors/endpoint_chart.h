// What an incident's page charts: the values of the rule's signal for one endpoint over a stretch of time, step by
// step, read from the store the way the rule's detector reads it (the endpoint's series summed, quantiles from
// bucket increases as histogram_quantile() computes them, counter increases reset-adjusted by the store).
//
// Per rule kind:
//   availability burn rate: the error ratio per step and the requests per second;
//   latency (drift, latency threshold, latency burn rate): the rule's quantile (p99 for a burn rate) per step and
//     the requests per second;
//   threshold and anomaly: the gauge's value, or the counter's rate per second.
// A step without data is NaN. Pure function of the store; run it on the thread that owns the store.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rules/finding.h"
#include "rules/rule.h"
#include "store/series_store.h"

namespace hotspotd::detectors {

struct ChartLine {
  std::string name;  // "p99", "error ratio", "requests/s", or the selector
  std::string unit;  // "seconds", "ratio", "1/s", or empty
  std::vector<double> values;  // one per time of the chart
};

struct EndpointChart {
  std::string kind;  // "latency", "errors", "gauge" or "rate"
  double threshold = 0;  // the line the signal pages at, in the first line's unit
  std::vector<std::int64_t> times_ms;  // the end of each step
  std::vector<ChartLine> lines;
};

// Whether a series named `name` with `labels` belongs to the endpoint: it carries every endpoint label (the label
// `histogram`, which the zero-config rule adds, names the family).
bool ofEndpoint(std::string_view name, const store::LabelPairs& labels, const rules::OwnedLabels& endpoint);

// The chart of `endpoint` under `rule` for the steps ending at from+step, from+2*step, ... up to `to`.
// `firing_threshold` is the threshold of the rule's finding when it fired (for a burn rate: the burn rate, turned
// here into the error ratio it means).
EndpointChart endpointChart(const store::SeriesStore& store, const rules::Rule& rule,
                            const rules::OwnedLabels& endpoint, double firing_threshold, std::int64_t from_ms,
                            std::int64_t to_ms, std::int64_t step_ms);

}  // namespace hotspotd::detectors
