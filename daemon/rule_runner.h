// Runs the rules in the daemon: every evaluation_interval, on the lifecycle thread, each detector judges its
// endpoints from the series store and the incident tracker turns the judgements into firing and resolved
// transitions, which are logged and counted. Alerting and persistence of incidents build on the events this
// produces. Reload replaces the detectors and keeps the incident states of rules whose names stay.
#pragma once

#include <utility>  // before Asio: boost/asio/awaitable.hpp misses it with GCC 12 in C++20 mode

#include <memory>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "detectors/detector.h"
#include "rules/incidents.h"
#include "store/series_store.h"

namespace hotspotd::daemon {

class RuleRunner {
 public:
  RuleRunner(boost::asio::io_context& io, store::SeriesStore& store, prometheus::Registry& registry);

  // Replaces the rules; starts evaluating every `interval`.
  void apply(std::vector<rules::Rule> rules, Duration interval);
  void stop();

  // One evaluation of every rule at t_ms (the timer calls this; tests may too).
  std::vector<rules::IncidentEvent> evaluate(std::int64_t t_ms);

 private:
  void schedule();

  store::SeriesStore& store_;
  boost::asio::steady_timer timer_;
  Duration interval_ = std::chrono::seconds(15);
  std::vector<std::unique_ptr<detectors::Detector>> detectors_;
  rules::IncidentTracker tracker_;
  prometheus::Family<prometheus::Counter>& evaluations_;
  prometheus::Histogram& duration_;
  prometheus::Gauge& firing_;
  prometheus::Family<prometheus::Counter>& transitions_;
  prometheus::Gauge& rules_loaded_;
  bool stopped_ = false;
};

}  // namespace hotspotd::daemon
