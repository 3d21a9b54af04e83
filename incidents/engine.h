// Runs the rules in the daemon: every evaluation_interval, on the lifecycle thread, each detector judges its
// endpoints from the series store and the incident tracker turns the judgements into firing and resolved
// transitions, which are logged, counted and written to the state database.
//
// Persistence: the incidents that changed at an evaluation are written in one transaction right after it (a write
// that fails is retried with the next evaluation's); what the detectors learned is written every
// kStateSaveInterval, whenever an incident fires or resolves, and on stop. At start the open incidents and the
// learned state are read back, so a firing incident goes on firing without paging again.
//
// The hotspot ranking is computed after an evaluation (with what the latency_drift rules said) at most every 30 s,
// and published: the scraped store's histograms and each query source's, ranked together.
//
// While an incident fires, the exemplars on its endpoint's slow buckets are attached to it at each evaluation.
//
// Rules that name a query source ([[sources]]) are judged from that source's own series store, right after a
// round of queries to it fills the store (daemon/query_source.h); while the source's answers are missing or
// partial their endpoints are not judged, and degraded() says why. The other rules are judged at the interval
// from the scraped store.
//
// Reload: detectors of rules whose definition (fingerprint) is unchanged are kept with what they learned; changed
// rules start afresh (from saved state of the same definition, if any); incidents of rules whose names stay keep
// their state, and firing incidents of removed rules resolve.
#pragma once

#include <utility>  // before Asio: boost/asio/awaitable.hpp misses it with GCC 12 in C++20 mode

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/snapshot.h"
#include "ingest/query_source.h"
#include "detectors/detector.h"
#include "detectors/hotspots.h"
#include "incidents/tracker.h"
#include "incidents/incident_store.h"
#include "store/series_store.h"

namespace hotspotd::incidents {

struct IncidentOptions {
  Duration retention = std::chrono::hours(24 * 30);
  std::string trace_url;
  std::size_t exemplars = 10;
};

// What a rule reads from its query source: its raw selectors (a histogram's _bucket/_count/_sum series, a
// burn-rate SLI's counters, a gauge), its endpoint labels and how far back it reads.
ingest::SourceReader sourceReader(const rules::Rule& rule, Duration history);

class Engine {
 public:
  // `incidents` may be null (no persistence).
  Engine(boost::asio::io_context& io, store::SeriesStore& store, prometheus::Registry& registry,
             IncidentStore* incidents);

  // The query sources rules may name; call before apply(). A source whose settings are unchanged keeps its series.
  void setSources(const std::vector<ingest::SourceConfig>& sources, const store::StoreConfig& store_config);

  // Reads back the open incidents saved before a restart. Call once, before the first apply().
  void restore();
  // Replaces the rules; starts evaluating every `interval`.
  void apply(std::vector<rules::Rule> rules, Duration interval, IncidentOptions options);
  // Stops evaluating and saves what the detectors learned.
  void stop();

  // One evaluation of every rule at t_ms, from the series at hand (tests call this). The timer evaluates the
  // scraped rules, then each source's rules when its round of queries is done.
  std::vector<rules::IncidentEvent> evaluate(std::int64_t t_ms) { return evaluateRules(t_ms, nullptr); }
  // What the timer does at t_ms: evaluates the scraped rules, and starts a round of queries to each source, whose
  // rules are evaluated when the round is done, on the io_context, at the newest step it reached.
  void tick(std::int64_t t_ms);

  // Why a rule's endpoints were not judged at its latest evaluation for want of data from its source; empty if
  // they were (or the rule reads scraped series).
  std::string degraded(const std::string& rule) const;
  // The series store a rule is judged from.
  const store::SeriesStore& storeFor(const rules::Rule& rule) const;
  const ingest::QuerySource* source(const std::string& name) const;

  const IncidentTracker& tracker() const { return tracker_; }
  // Called with every evaluation's transitions, after they are written (profiling, alerting).
  void onEvents(std::function<void(const std::vector<rules::IncidentEvent>&)> f) { on_events_ = std::move(f); }
  // The hotspot ranking of the latest evaluation (detectors/hotspots.h), for the API.
  const Snapshot<detectors::HotspotTable>& hotspots() const { return hotspots_; }

 private:
  void schedule();
  // `only`: null for every rule, "" for the scraped ones, a source's name for that source's.
  std::vector<rules::IncidentEvent> evaluateRules(std::int64_t t_ms, const std::string* only);
  void persist(const std::vector<rules::IncidentEvent>& events, std::int64_t t_ms);
  void saveDetectorState(std::int64_t t_ms);
  // Attaches the exemplars of firing latency incidents' slow buckets (real slow requests, with trace links).
  void attachExemplars();
  void report(const std::vector<rules::IncidentEvent>& events);

  store::SeriesStore& store_;
  IncidentStore* incidents_;
  boost::asio::io_context& io_;
  boost::asio::steady_timer timer_;
  ingest::SourceMetrics source_metrics_;
  std::map<std::string, std::unique_ptr<ingest::QuerySource>> sources_;
  std::vector<std::unique_ptr<ingest::QuerySource>> retired_;  // replaced on reload while a round was running
  // Per source: when its rules were last evaluated, and what its latency_drift rules said then (for the ranking).
  std::map<std::string, std::pair<std::int64_t, std::vector<detectors::DriftMark>>> source_drift_;
  std::map<std::string, std::string> degraded_;        // rule -> why it was not judged
  Duration interval_ = std::chrono::seconds(15);
  IncidentOptions options_;
  std::vector<std::unique_ptr<detectors::Detector>> detectors_;
  IncidentTracker tracker_{/*record_changes=*/true};
  // Writes that failed, retried with the next evaluation's.
  std::set<std::string> unsaved_changes_;
  std::vector<rules::IncidentEvent> unsaved_events_;
  std::int64_t state_saved_ms_ = 0;
  std::int64_t pruned_ms_ = 0;
  prometheus::Family<prometheus::Counter>& evaluations_;
  prometheus::Histogram& duration_;
  prometheus::Gauge& firing_;
  prometheus::Family<prometheus::Counter>& transitions_;
  prometheus::Gauge& rules_loaded_;
  prometheus::Counter& state_write_errors_;
  Snapshot<detectors::HotspotTable> hotspots_;
  std::int64_t hotspots_ms_ = 0;
  std::function<void(const std::vector<rules::IncidentEvent>&)> on_events_;
  bool stopped_ = false;
};

}  // namespace hotspotd::incidents
