// DESIGN
// burn_rate: multiwindow, multi-burn-rate SLO alerts as the SRE workbook defines them. The error ratio over a long
// and a short window must both be above factor x (1 - objective): page at 14.4x over 1h and 5m or 6x over 6h and
// 30m; ticket at 3x over 1d and 2h or 1x over 3d and 6h (overridable per rule). The long window proves the
// budget is really burning; the short one makes the alert stop soon after the burn does.
//
// SLIs: availability (bad and total counters, e.g. 5xx and all requests) or latency (a histogram; the bad events
// are requests above the threshold bucket bound).
//
// Low traffic is handled explicitly: at the burn threshold the long window must hold at least min_bad_events
// (10) bad events, so a window with fewer requests than 10 / (factor x budget) is not judged. An endpoint with a
// few requests an hour never pages on one failed request; its slow-burn (ticket) windows still see it.
//
// A pair is judged only once the store's history covers half of its long window: a fresh daemon (or a short
// recording) has no 3-day burn rate, and a truncated window is a short one in disguise.
//
// Each window pair with its own severity is its own incident (the endpoint's labels plus severity), so the
// page and the ticket for one endpoint are tracked apart.
//
// Stateless but for the endpoints found; used from the thread that owns the store.
#pragma once

#include <vector>

#include "detectors/series_match.h"
#include "rules/finding.h"
#include "rules/rule.h"
#include "store/series_store.h"

namespace hotspotd::detectors {

class BurnRateDetector {
 public:
  explicit BurnRateDetector(rules::Rule rule) : rule_(std::move(rule)) {}

  std::vector<rules::Finding> evaluate(const store::SeriesStore& store, std::int64_t t_ms);
  const rules::Rule& rule() const { return rule_; }

 private:
  rules::Rule rule_;
  SeriesMatch match_;               // availability: the endpoints and their counters
  HistogramMatch histogram_match_;  // latency: the endpoints and their histograms
};

}  // namespace hotspotd::detectors
