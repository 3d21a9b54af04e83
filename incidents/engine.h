// DESIGN
// The evaluation engine: the one loop that turns series into incidents, for the daemon (on real time) and for replay,
// replay --source, test-rules and the in-process tests (on a SimClock, core/clock.h). Nothing else in the tree
// evaluates rules.
//
// Every `interval`, at whole multiples of it counted from `origin_ms` (the daemon: the epoch, as a rule group of
// Prometheus evaluates on a fixed grid), each detector judges its endpoints from the series store and the incident
// tracker turns the judgements into pending, firing and resolved transitions, which are written to the state
// database, logged, counted and handed on (profiling, alerting). Rules that name a query source ([[sources]]) are
// judged from that source's own store when a round of queries to it is done, at the newest step it reached; while
// the source's answers are missing or partial their endpoints are not judged (nothing fires or resolves on missing
// data) and degraded() says why. This is the only place degraded data is handled.
//
// After each evaluation: exemplars of firing latency incidents' slow buckets are attached (real slow requests, with
// trace links); the hotspot ranking is refreshed at most every 30 s (the scraped store's histograms and each source's,
// ranked together); what the detectors learned is saved every 5 minutes, at every transition and on stop.
//
// Persistence: the incidents that changed at an evaluation are written in one transaction right after it (a write
// that fails is retried with the next evaluation's). At start the open incidents and the learned state are read
// back, so a firing incident goes on firing without paging again.
//
// Reload: detectors of rules whose definition (fingerprint) is unchanged are kept with what they learned; changed
// rules start afresh (from saved state of the same definition, if any); incidents of rules whose names stay keep
// their state, and firing incidents of removed rules resolve.
//
// One thread: the io_context's (the lifecycle thread, or a replay). Its writes to the state database run where
// writeOn() says (the daemon's state thread), in order; so do its transitions' log lines, after their write.
#pragma once

#include <utility>  // before Asio: boost/asio/awaitable.hpp misses it with GCC 12 in C++20 mode

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <boost/asio/io_context.hpp>

#include "core/clock.h"
#include "core/snapshot.h"
#include "detectors/detector.h"
#include "detectors/hotspots.h"
#include "core/log.h"
#include "incidents/incident_store.h"
#include "incidents/tracker.h"
#include "ingest/query_source.h"
#include "store/series_store.h"

namespace hotspotd::incidents {

// How the engine evaluates, and what it keeps ([rules] evaluation_interval, [incidents]).
struct EngineOptions {
  Duration interval = std::chrono::seconds(15);
  // Evaluations at origin_ms + k * interval: the daemon's grid is the epoch's.
  std::int64_t origin_ms = 0;
  Duration retention = std::chrono::hours(24 * 30);  // resolved incidents kept
  std::string trace_url;
  std::size_t exemplars = 10;
  // Ranks every histogram's endpoint for /api/v1/hotspots every 30 s; the offline commands, which serve no API,
  // leave it out.
  bool hotspots = true;
};

// What a run of the engine has done so far (replay reports it; the daemon's metrics say the same).
struct EngineStats {
  std::size_t evaluations = 0;   // of the whole rule set or of one source's rules
  std::size_t judged = 0;        // endpoint judgements made
  double detector_seconds = 0;   // spent in the detectors
};

// A store that keeps what the rules read: `base` with its retention stretched to the longest window a rule reads
// (plus the staleness before it).
store::StoreConfig storeConfigFor(const std::vector<rules::Rule>& rules, store::StoreConfig base);

// What a rule reads from its query source: its raw selectors (a histogram's _bucket/_count/_sum series, a
// burn-rate SLI's counters, a gauge), its endpoint labels and how far back it reads.
ingest::SourceReader sourceReader(const rules::Rule& rule, Duration history);

class Engine {
 public:
  // `incidents` may be null (no persistence: replay, test-rules). Its reads and writes run on this thread unless
  // writeOn() says otherwise.
  Engine(boost::asio::io_context& io, Clock& clock, store::SeriesStore& store, prometheus::Registry& registry,
         IncidentStore* incidents);

  // Where the writes to the state database run (the daemon's state thread): each is a job handed to `post`, in
  // order, working on `writes` only; the few reads (open incidents at start, a rule's saved state) go to `reads`,
  // a connection of this thread's own. Call before restore().
  void writeOn(IncidentStore* writes, IncidentStore* reads, std::function<void(std::function<void()>)> post);

  // The query sources rules may name; call before apply(). A source whose settings are unchanged keeps its series.
  // Their steps are at steps_origin_ms + k * step (the daemon: the epoch's grid; a backtest: its --from).
  void setSources(const std::vector<ingest::SourceConfig>& sources, const store::StoreConfig& store_config,
                  std::int64_t steps_origin_ms = 0);

  // Reads back the open incidents saved before a restart. Call once, before the first apply().
  void restore();
  // Replaces the rules; evaluates at the next instant of the options' grid, and every interval from there.
  void apply(std::vector<rules::Rule> rules, EngineOptions options);
  // Stops evaluating and saves what the detectors learned.
  void stop();

  // One evaluation of every rule at t_ms, from the series at hand (tests call this). The timer evaluates the
  // scraped rules, then each source's rules when its round of queries is done.
  std::vector<rules::IncidentEvent> evaluate(std::int64_t t_ms) { return evaluateRules(t_ms, nullptr); }
  // What the timer does at t_ms: evaluates the scraped rules, and starts a round of queries to each source, whose
  // rules are evaluated when the round is done, on the io_context, at the newest step it reached.
  void tick(std::int64_t t_ms);

  // Why a rule's endpoints were not judged at its latest evaluation for want of data from its source; empty if
  // they were (or the rule reads scraped series). Any thread: read from a snapshot published after each evaluation.
  std::string degraded(const std::string& rule) const;
  // The series store a rule is judged from.
  const store::SeriesStore& storeFor(const rules::Rule& rule) const;
  const ingest::QuerySource* source(const std::string& name) const;
  // The first instant of the evaluation grid after `now_ms`.
  std::int64_t nextEvaluationMs(std::int64_t now_ms) const;
  const EngineStats& stats() const { return stats_; }

  const IncidentTracker& tracker() const { return tracker_; }
  // Called with every evaluation's transitions, after they are written (profiling, alerting).
  void onEvents(std::function<void(const std::vector<rules::IncidentEvent>&)> f) { on_events_ = std::move(f); }
  // The hotspot ranking of the latest evaluation (detectors/hotspots.h), for the API.
  const Snapshot<detectors::HotspotTable>& hotspots() const { return hotspots_; }

 private:
  void schedule();
  // `only`: null for every rule, "" for the scraped ones, a source's name for that source's.
  std::vector<rules::IncidentEvent> evaluateRules(std::int64_t t_ms, const std::string* only);
  std::vector<rules::Finding> judge(detectors::Detector& d, const store::SeriesStore& store, std::int64_t t_ms);
  // The writes' side: what failed to be written (retried with the next evaluation's), and the throttle of their
  // error lines. Touched only inside the jobs write() hands over.
  struct Writes {
    IncidentStore* store = nullptr;
    std::map<std::string, std::optional<TrackedIncident>> changes;
    std::vector<rules::IncidentEvent> events;
    // While the state database cannot be written, every evaluation's writes fail: one line per 5 minutes says so
    // (the pipeline logs the change of writability itself).
    log::Throttle logged{300'000};
    // Logs a failed write, throttled (counted by the state database: hotspotd_state_write_errors_total).
    void failed(std::int64_t now_ms, std::string_view what, const std::string& error,
                std::optional<log::Field> context = std::nullopt);
  };
  void write(std::function<void(Writes&, std::int64_t now_ms)> job);
  void persist(const std::vector<rules::IncidentEvent>& events, std::int64_t t_ms);
  void saveDetectorState(std::int64_t t_ms);
  // Attaches the exemplars of firing latency incidents' slow buckets (real slow requests, with trace links).
  void attachExemplars();
  // Logs and counts transitions (on whichever thread wrote them).
  static void report(prometheus::Family<prometheus::Counter>& transitions,
                     const std::vector<rules::IncidentEvent>& events);

  store::SeriesStore& store_;
  IncidentStore* reads_;              // this thread's
  std::shared_ptr<Writes> writes_;    // null without persistence
  std::function<void(std::function<void()>)> post_;  // runs a write job (inline unless writeOn() said otherwise)
  boost::asio::io_context& io_;
  Clock& clock_;
  std::unique_ptr<Timer> timer_;
  ingest::SourceMetrics source_metrics_;
  std::map<std::string, std::unique_ptr<ingest::QuerySource>> sources_;
  std::vector<std::unique_ptr<ingest::QuerySource>> retired_;  // replaced on reload while a round was running
  // Per source: when its rules were last evaluated, and what its latency_drift rules said then (for the ranking).
  std::map<std::string, std::pair<std::int64_t, std::vector<detectors::DriftMark>>> source_drift_;
  std::map<std::string, std::string> degraded_;        // rule -> why it was not judged
  Snapshot<std::map<std::string, std::string>> degraded_view_;  // degraded_ as of the last evaluation
  EngineOptions options_;
  std::vector<std::unique_ptr<detectors::Detector>> detectors_;
  IncidentTracker tracker_{/*record_changes=*/true};
  std::int64_t state_saved_ms_ = 0;
  std::int64_t pruned_ms_ = 0;
  prometheus::Family<prometheus::Counter>& evaluations_;
  prometheus::Histogram& duration_;
  prometheus::Gauge& last_duration_;
  prometheus::Gauge& interval_;
  prometheus::Gauge& firing_;
  prometheus::Family<prometheus::Counter>& transitions_;
  prometheus::Gauge& rules_loaded_;
  Snapshot<detectors::HotspotTable> hotspots_;
  std::int64_t hotspots_ms_ = 0;
  std::function<void(const std::vector<rules::IncidentEvent>&)> on_events_;
  EngineStats stats_;
  bool stopped_ = false;
};

}  // namespace hotspotd::incidents
