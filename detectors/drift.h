// DESIGN
// latency_drift: has the tail of an endpoint's latency moved against its own recent history?
//
// Ratios of interpolated quantiles are weak evidence: they move with bucket boundaries and low counts. This
// detector tests bucket counts instead. From the baseline window (the hour before the judged window, by default)
// it takes the bucket bound u where the baseline quantile (p99) lies, and the baseline share p0 of requests above
// u. In the judged window (2 minutes; longer for an endpoint under 4 x min_rate, to hold 4 x min_rate x 2 minutes
// of requests, at most 8 minutes) it counts the requests n and those above u, x, and asks whether x is more than
// chance allows under p0: a one-sided binomial test (normal approximation, z = (x - n p0) / sqrt(n p0 (1-p0)), each
// candidate confirmed exactly, the window's count against the baseline's as two samples) at the rule's confidence,
// plus an effect size (x/n at least `sensitivity` times p0 and at least `min_excess` above it).
//
// What must not page: too little traffic to say (fewer requests than min_rate allows, or a baseline too thin
// for its p99: then the endpoint is "not judged", which never fires or resolves an incident); a single bad
// scrape interval (the excess must be spread: the two worst intervals may hold at most 75% of it); a process
// restart or a scrape gap (the store's counters are reset-adjusted, and a missing point leaves that interval out);
// a bucket-layout change (no judgement until a quarter of a baseline exists in the new layout); slow diurnal
// change (the baseline moves with the data, five minutes at a time). While an endpoint is active, its baseline stays
// pinned where the drift began, so a long incident does not become the new normal (and needs no history beyond the
// baseline window); after it resolves, the baseline stays pinned until the baseline window holds none of the
// incident, so a regression that comes back soon is judged against the traffic before the first.
//
// Endpoints: histograms matching the rule's selector, grouped by the rule's `by` labels (by default every label
// but le and instance); the histograms of one endpoint are summed when their bucket layouts agree.
//
// Cost: an evaluation reads only what is new. The baseline is twelve slots of baseline/12 (5 minutes of a 1h
// baseline) moved by one read of the newest counts when a slot closes, and filled from the store's history once
// when an endpoint is first seen; the judged window keeps each series' recent points and reads only those scraped
// since the last evaluation; the records of the endpoints a few places ahead are prefetched; the evidence and its
// account are built only for endpoints that are active, were lately, or nearly were.
//
// State: the baselines (slots, or frozen while active). They are saved and restored across restarts: a restored
// baseline stands in while the store has too little history of its own (for at most the baseline window), and a
// frozen one stays frozen, so an incident that was firing before a restart is judged against the same baseline.
// An endpoint whose series the store dropped (absent past the staleness period) keeps its baseline for a baseline
// window, which stands in the same way when it comes back; at most 1,024 such (or as many as there are endpoints),
// the newest, so a churning label cannot grow the detector.
// One detector per rule; used from the thread that owns the store.
#pragma once

#include <limits>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "detectors/quantile.h"
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
  // The baseline window as twelve slots: per-bucket count increases over consecutive stretches of baseline/12
  // (5 minutes for a 1h baseline) ending at the latest slot mark before the judged window. Their sum is the
  // baseline. It moves by one read of the newest counts per slot (cheap: the newest points), and is filled from the
  // store's history in one backward walk per bucket when an endpoint is first seen. A scrape gap merges into the
  // next slot, so the sum stays exact.
  struct Slots {
    std::int64_t layout_since_ms = -1;
    std::int64_t last_mark_ms = -1;     // the mark the newest counts were read at; -1: to be filled
    std::vector<double> last_counts;    // cumulative per bucket at last_mark_ms
    std::vector<std::int64_t> starts;   // ring: where each slot starts
    std::vector<std::uint32_t> deltas;  // ring: nb increases per slot
    std::vector<double> sum;            // per bucket, over the slots held
    std::size_t head = 0;               // the oldest slot
    std::size_t size = 0;
    std::uint64_t version = 0;  // moves when the sum changes
  };
  // The recent points of one series the judged window reads (newest first): each evaluation reads only the points
  // scraped since the last one.
  struct Recent {
    store::SeriesId id = store::kNoId;
    std::int64_t newest_ms = std::numeric_limits<std::int64_t>::min();
    std::vector<store::Point> points;
  };
  // Per endpoint: the baseline counts (from the slots, or frozen while the endpoint is active: the counts it had
  // when the drift began).
  struct State {
    std::vector<std::pair<double, double>> baseline;  // (upper bound, cumulative count) per bucket
    std::int64_t computed_ms = 0;
    std::int64_t span_ms = 0;  // the time the baseline counts cover
    std::int64_t layout_since_ms = 0;
    bool frozen = false;
    std::int64_t last_active_ms = 0;
    std::int64_t clear_since_ms = -1;  // while frozen: the first judged evaluation without drift since the last
    bool restored = false;             // from before a restart: not tied to a layout of this run's store
    Slots slots;
    std::size_t last_u = 0;      // the bucket of the last judgement's bound (to prefetch)
    std::vector<Recent> recent;  // per histogram of the endpoint: its +Inf bucket and its bucket at the bound
    std::uint64_t baseline_version = ~std::uint64_t{0};  // the slots' version `baseline` was taken from
  };
  // Moves the endpoint's slots to the mark before `window_start`; false if the store cannot answer yet.
  void advanceSlots(const store::SeriesStore& store, Slots& slots, const std::vector<store::SeriesStore::Layout>& hs,
                    std::int64_t window_start, std::int64_t layout_since, Duration step) const;
  // The rule's endpoints and their histograms, rebuilt only when the store's set of histograms changes.
  struct Endpoint {
    std::string key;
    rules::SharedLabels labels;
    std::vector<store::HistogramId> histograms;
    State* state = nullptr;  // in states_
  };
  void regroup(const store::SeriesStore& store, std::int64_t t_ms);
  std::int64_t slotMs(Duration step) const;

  // The steps of one endpoint's judgement, in order.
  using Layouts = std::vector<store::SeriesStore::Layout>;
  // Loads stage `stage` (0..3) of endpoint j's records into cache ahead of its turn.
  void prefetch(const store::SeriesStore& store, std::size_t j, int stage) const;
  // The layouts of the endpoint's histograms that share the first one's bounds (+Inf last).
  void endpointLayouts(const store::SeriesStore& store, const Endpoint& endpoint, Layouts& hs) const;
  // Brings the endpoint's baseline up to date (or keeps it frozen); why it cannot be judged, if it cannot.
  std::optional<std::string> updateBaseline(const store::SeriesStore& store, State& st, const Layouts& hs,
                                            std::int64_t t_ms, std::int64_t window_ms, std::int64_t layout_since,
                                            Duration step) const;
  // The judged window's length for the endpoint: the rule's window, or longer for an endpoint whose baseline rate
  // is below four times min_rate: as long as that rate takes to bring the requests 4 x min_rate brings in the rule's
  // window (240 by default), at most four windows.
  std::int64_t judgedWindowMs(const State& st) const;
  // The judged window: requests n and requests above bucket u, x, summed over the steps without gaps, and
  // whether the excess over p0 is spread (the two worst steps hold at most 75% of it).
  struct WindowCounts {
    double n = 0;
    double x = 0;
    bool spread = true;
    double seconds = 0;  // the window judged (judgedWindowMs), or four scrape intervals of a target scraped less often
  };
  WindowCounts countWindow(const store::SeriesStore& store, State& st, const Layouts& hs, std::size_t u, double p0,
                           std::int64_t t_ms, std::int64_t window_ms, std::int64_t layout_since, Duration step);
  // The rule's quantile over the judged window (NaN when an end of the window has no point), for the page.
  QuantileEstimate windowQuantile(const store::SeriesStore& store, const Layouts& hs, std::int64_t t_ms,
                                  std::int64_t window_ms, Duration step) const;
  // Freezes the baseline while the endpoint is active; releases it after keep_firing_for without drift.
  void track(State& st, bool active, std::int64_t t_ms) const;

  // Buffers reused for every endpoint of an evaluation.
  struct Scratch {
    Layouts layouts;
    std::vector<std::int64_t> times;
    std::vector<double> step_total, step_under, excess;
    std::vector<char> step_ok, step_scraped;
    std::vector<std::optional<store::Point>> points;
    std::vector<store::Point> fresh;
  };

  rules::Rule rule_;
  double z_crit_;                                  // the z the rule's confidence asks for
  std::unordered_map<std::string, State> states_;  // by endpoint key (nodes: stable addresses)
  std::vector<Endpoint> endpoints_;
  std::uint64_t grouped_version_ = ~std::uint64_t{0};
  Scratch scratch_;
};

}  // namespace hotspotd::detectors
