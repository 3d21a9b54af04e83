// latency_threshold and threshold: fixed bounds, for what has an absolute limit.
//
// latency_threshold: the rule's quantile over `window`, from bucket increases as histogram_quantile computes it,
// above `above`. When the bound lies inside the bucket that holds the quantile, the interpolation decides and the
// evidence says so (the bucket's bounds are reported); when it lies outside, the buckets alone decide. Endpoints
// with fewer requests than min_rate allows are not judged.
//
// threshold: a gauge (the average of its points over `window`, over the endpoint's series) or a counter (its
// summed rate per second over `window`) against `above` and/or `below`. Endpoints: the rule's `by` labels (default
// every label but le).
//
// Stateless but for the endpoints found (SeriesMatch); used from the thread that owns the store.
#pragma once

#include <vector>

#include "detectors/series_match.h"
#include "rules/finding.h"
#include "rules/rule.h"
#include "store/series_store.h"

namespace hotspotd::detectors {

// `match` keeps the rule's endpoints from one evaluation to the next (the same rule at every call).
std::vector<rules::Finding> evaluateLatencyThreshold(const rules::Rule& rule, const store::SeriesStore& store,
                                                     std::int64_t t_ms, Duration step, HistogramMatch& match);
std::vector<rules::Finding> evaluateThreshold(const rules::Rule& rule, const store::SeriesStore& store,
                                              std::int64_t t_ms, Duration step, SeriesMatch& match);

}  // namespace hotspotd::detectors
