#include "daemon/rule_runner.h"

#include <chrono>

#include <fmt/format.h>

#include "core/log.h"

namespace hotspotd::daemon {

RuleRunner::RuleRunner(boost::asio::io_context& io, store::SeriesStore& store, prometheus::Registry& registry)
    : store_(store),
      timer_(io),
      evaluations_(prometheus::BuildCounter()
                       .Name("hotspotd_rule_evaluations_total")
                       .Help("Rule evaluations, by rule.")
                       .Register(registry)),
      duration_(prometheus::BuildHistogram()
                    .Name("hotspotd_rule_evaluation_duration_seconds")
                    .Help("Time to evaluate every rule once.")
                    .Register(registry)
                    .Add({}, prometheus::Histogram::BucketBoundaries{0.0001, 0.001, 0.01, 0.1, 1, 10})),
      firing_(prometheus::BuildGauge()
                  .Name("hotspotd_incidents_firing")
                  .Help("Incidents firing now.")
                  .Register(registry)
                  .Add({})),
      transitions_(prometheus::BuildCounter()
                       .Name("hotspotd_incident_transitions_total")
                       .Help("Incidents that fired or resolved, by state.")
                       .Register(registry)),
      rules_loaded_(prometheus::BuildGauge()
                        .Name("hotspotd_rules_loaded")
                        .Help("Rules being evaluated.")
                        .Register(registry)
                        .Add({})) {
  transitions_.Add({{"state", "firing"}});
  transitions_.Add({{"state", "resolved"}});
}

void RuleRunner::apply(std::vector<rules::Rule> rules, Duration interval) {
  detectors_.clear();
  for (auto& r : rules) {
    if (auto d = detectors::makeDetector(std::move(r))) {
      if (d->history() + store_.config().staleness > store_.config().retention) {
        log::warn("Rule reads further back than the store keeps; restart to keep enough history",
                  {{"rule", d->rule().name},
                   {"needs", formatDuration(d->history())},
                   {"store_retention", formatDuration(store_.config().retention)}});
      }
      evaluations_.Add({{"rule", d->rule().name}});
      detectors_.push_back(std::move(d));
    }
  }
  rules_loaded_.Set(static_cast<double>(detectors_.size()));
  interval_ = interval;
  timer_.cancel();
  stopped_ = false;
  schedule();
}

void RuleRunner::stop() {
  stopped_ = true;
  timer_.cancel();
}

void RuleRunner::schedule() {
  timer_.expires_after(interval_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    const auto now =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    evaluate(now);
    schedule();
  });
}

std::vector<rules::IncidentEvent> RuleRunner::evaluate(std::int64_t t_ms) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<rules::IncidentEvent> events;
  for (auto& d : detectors_) {
    tracker_.observe(d->rule(), t_ms, d->evaluate(store_, t_ms, interval_), events);
    evaluations_.Add({{"rule", d->rule().name}}).Increment();
  }
  for (const auto& e : events) {
    std::string labels;
    for (const auto& [k, v] : e.labels) labels += fmt::format("{}{}={}", labels.empty() ? "" : ",", k, v);
    const bool firing = e.state == rules::IncidentEvent::State::firing;
    transitions_.Add({{"state", firing ? "firing" : "resolved"}}).Increment();
    (firing ? log::warn : log::info)(firing ? "Incident firing" : "Incident resolved", {{"alertname", e.alertname},
                                                                                        {"labels", labels},
                                                                                        {"severity", e.severity},
                                                                                        {"value", e.value},
                                                                                        {"threshold", e.threshold},
                                                                                        {"id", e.id}});
  }
  firing_.Set(static_cast<double>(tracker_.firingCount()));
  duration_.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return events;
}

}  // namespace hotspotd::daemon
