// DESIGN
// latency_drift: has the tail of an endpoint's latency moved against its own recent history?
//
// Ratios of interpolated quantiles are weak evidence: they move with bucket boundaries and low counts. This
// detector tests bucket counts instead. From the baseline window (the hour before the judged window, by default)
// it takes the bucket bound u where the baseline quantile (p99) lies, and the baseline share p0 of requests above
// u. In the judged window (2 minutes) it counts the requests n and those above u, x, and asks whether x is more
// than chance allows under p0: a one-sided binomial test (normal approximation, z = (x - n p0) / sqrt(n p0 (1-p0)))
// at the rule's confidence, plus an effect size (x/n at least `sensitivity` times p0).
//
// What must not page: too little traffic to say (fewer requests than min_rate allows, or a baseline too thin
// for its p99: then the endpoint is "not judged", which never fires or resolves an incident); a single bad
// scrape interval (the excess must be spread: the two worst intervals may hold at most 75% of it); a process
// restart or a scrape gap (the store's counters are reset-adjusted, and a missing point leaves that interval out);
// a bucket-layout change (no judgement until a baseline exists in the new layout); slow diurnal change (the
// baseline moves with the data). While an endpoint is active, its baseline stays pinned where the drift began, so
// a long incident does not become the new normal (and needs no history beyond the baseline window).
//
// Endpoints: histograms matching the rule's selector, grouped by the rule's `by` labels (by default every label
// but le and instance); the histograms of one endpoint are summed when their bucket layouts agree.
//
// State: the baselines (cached, or frozen while active). They are saved and restored across restarts: a restored
// baseline stands in while the store has too little history of its own (for at most the baseline window), and a
// frozen one stays frozen, so an incident that was firing before a restart is judged against the same baseline.
// One detector per rule; used from the thread that owns the store.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rules/finding.h"
#include "rules/rule.h"
#include "store/series_store.h"

namespace hotspotd::detectors {

class DriftDetector {
 public:
  explicit DriftDetector(rules::Rule rule);

  // Judges every endpoint at t_ms. `step` is the scrape interval: the judged window is cut into steps.
  std::vector<rules::Finding> evaluate(const store::SeriesStore& store, std::int64_t t_ms, Duration step);

  const rules::Rule& rule() const { return rule_; }

  // The learned baselines per endpoint key, and taking them back after a restart.
  std::vector<std::pair<std::string, nlohmann::json>> saveState() const;
  void restoreState(const std::vector<std::pair<std::string, nlohmann::json>>& states);

 private:
  // Per endpoint: the baseline counts, recomputed at most once a minute (a 1h baseline does not move in 15 s), and
  // frozen while the endpoint is active (the counts it had when the drift began).
  struct State {
    std::vector<std::pair<double, double>> baseline;  // (upper bound, cumulative count) per bucket
    std::int64_t computed_ms = 0;
    std::int64_t layout_since_ms = 0;
    bool frozen = false;
    std::int64_t last_active_ms = 0;
    std::int64_t clear_since_ms = -1;  // while frozen: the first judged evaluation without drift since the last
    bool restored = false;  // from before a restart: not tied to a layout of this run's store
  };
  // The rule's endpoints and their histograms, rebuilt only when the store's set of histograms changes.
  struct Endpoint {
    std::string key;
    rules::OwnedLabels labels;
    std::vector<store::HistogramId> histograms;
  };
  void regroup(const store::SeriesStore& store, std::int64_t t_ms);

  rules::Rule rule_;
  double z_crit_;                        // the z the rule's confidence asks for
  std::map<std::string, State> states_;  // by endpoint key
  std::vector<Endpoint> endpoints_;
  std::uint64_t grouped_version_ = ~std::uint64_t{0};
};

}  // namespace hotspotd::detectors
