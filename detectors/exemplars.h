// Exemplars for a firing latency incident: the real requests behind the endpoint's slow buckets, so the page links
// to traces of requests that were actually slow rather than to a dashboard.
//
// Which requests count as slow: for latency_drift, those above the bucket bound the drift was judged at (the bound
// nearest the baseline quantile, in the evidence); for latency_threshold, those above the rule's `above`; for a
// latency burn_rate, those above its `threshold`. Other kinds have no latency bound and get none. Pure reads of the
// store; the thread that owns it.
#pragma once

#include <optional>
#include <vector>

#include "rules/finding.h"
#include "rules/rule.h"
#include "store/series_store.h"

namespace hotspotd::detectors {

// The latency past which a request counts as slow for this firing incident, if the rule has one.
std::optional<double> slowBound(const rules::Rule& rule, const rules::IncidentEvent& firing);

// The exemplars on the endpoint's histogram buckets whose observed value is above `bound` and which were seen at
// or after `since_ms`, newest first.
std::vector<store::Exemplar> slowExemplars(const rules::Rule& rule, const store::SeriesStore& store,
                                           const rules::OwnedLabels& endpoint, double bound, std::int64_t since_ms);

}  // namespace hotspotd::detectors
