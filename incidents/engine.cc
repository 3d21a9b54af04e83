#include "incidents/engine.h"

#include <chrono>
#include <cmath>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/labels.h"
#include "core/log.h"
#include "detectors/exemplars.h"
#include "rules/template.h"

namespace hotspotd::incidents {
namespace {

// How often the detectors' learned state is written (besides on every transition and on stop). Baselines span an
// hour; losing a few minutes of their updates to a crash costs nothing.
constexpr std::int64_t kStateSaveIntervalMs = 5 * 60'000;
constexpr std::int64_t kPruneIntervalMs = 60 * 60'000;
// The hotspot ranking: rates over this window, quantiles for this many endpoints.
constexpr auto kHotspotWindow = std::chrono::minutes(5);
constexpr std::size_t kHotspotLimit = 500;
constexpr std::int64_t kHotspotRefreshMs = 30'000;

}  // namespace

store::StoreConfig storeConfigFor(const std::vector<rules::Rule>& rules, store::StoreConfig base) {
  for (const auto& rule : rules) {
    if (auto d = detectors::makeDetector(rule)) base.retention = std::max(base.retention, d->history() + base.staleness);
  }
  return base;
}

ingest::SourceReader sourceReader(const rules::Rule& rule, Duration history) {
  using ingest::SelectorKind;
  ingest::SourceReader out;
  out.name = rule.name;
  out.by = rule.by;
  out.by_all = rule.by_all;
  out.history = history;
  auto histogram = [&](const Selector& s) {
    out.queries.push_back({histogramSeriesSelector(s), SelectorKind::histogram});
  };
  auto plain = [&](const std::optional<Selector>& s, SelectorKind kind) {
    if (s) out.queries.push_back({s->str(), kind});
  };
  switch (rule.kind) {
    case rules::RuleKind::latency_drift:
    case rules::RuleKind::latency_threshold:
      histogram(rule.histogram);
      out.ignore = {"__name__", "le", "instance"};
      break;
    case rules::RuleKind::burn_rate:
      if (rule.burn.histogram) histogram(*rule.burn.histogram);
      plain(rule.burn.errors, SelectorKind::counter);
      plain(rule.burn.total, SelectorKind::counter);
      out.ignore = {"__name__", "le", "instance", "code", "status"};
      break;
    case rules::RuleKind::threshold:
      plain(rule.threshold.gauge, SelectorKind::gauge);
      plain(rule.threshold.counter, SelectorKind::counter);
      out.ignore = {"__name__", "le"};
      break;
    case rules::RuleKind::anomaly:
      plain(rule.anomaly.gauge, SelectorKind::gauge);
      plain(rule.anomaly.counter, SelectorKind::counter);
      out.ignore = {"__name__", "le"};
      break;
  }
  return out;
}

Engine::Engine(boost::asio::io_context& io, Clock& clock, store::SeriesStore& store, prometheus::Registry& registry,
               IncidentStore* incidents)
    : store_(store),
      reads_(incidents),
      writes_(incidents ? std::make_shared<Writes>() : nullptr),
      post_([](std::function<void()> job) { job(); }),
      io_(io),
      clock_(clock),
      timer_(clock.timer(io, TimerOrder::evaluate)),
      source_metrics_(registry),
      evaluations_(prometheus::BuildCounter()
                       .Name("hotspotd_rule_evaluations_total")
                       .Help("Rule evaluations, by rule.")
                       .Register(registry)),
      duration_(prometheus::BuildHistogram()
                    .Name("hotspotd_rule_evaluation_duration_seconds")
                    .Help("Time to evaluate every rule once.")
                    .Register(registry)
                    .Add({}, prometheus::Histogram::BucketBoundaries{0.0001, 0.001, 0.01, 0.1, 1, 10})),
      last_duration_(prometheus::BuildGauge()
                         .Name("hotspotd_rule_evaluation_last_duration_seconds")
                         .Help("Time the last evaluation of every rule took.")
                         .Register(registry)
                         .Add({})),
      interval_(prometheus::BuildGauge()
                    .Name("hotspotd_rule_evaluation_interval_seconds")
                    .Help("How often the rules are evaluated ([rules] evaluation_interval).")
                    .Register(registry)
                    .Add({})),
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
  if (writes_) writes_->store = incidents;
  transitions_.Add({{"state", "firing"}});
  transitions_.Add({{"state", "resolved"}});
}

void Engine::setSources(const std::vector<ingest::SourceConfig>& sources, const store::StoreConfig& store_config,
                        std::int64_t steps_origin_ms) {
  std::map<std::string, std::unique_ptr<ingest::QuerySource>> next;
  for (const auto& c : sources) {
    auto& slot = next[c.name];
    if (auto same = sources_.find(c.name); same != sources_.end() && same->second->config() == c &&
                                           same->second->store().config().retention == store_config.retention) {
      slot = std::move(same->second);
      continue;
    }
    slot = std::make_unique<ingest::QuerySource>(io_, c, store_config, &source_metrics_);
    slot->setOrigin(steps_origin_ms);
    log::info("Query source configured", {{"source", c.name},
                                          {"url", c.url},
                                          {"step", formatDuration(c.step)},
                                          {"shard", c.shard_text.empty() ? "none" : c.shard_text}});
  }
  // A source busy with a round keeps running it until its answers arrive; it is dropped when they have.
  for (auto& [name, s] : sources_) {
    if (s && s->busy()) retired_.push_back(std::move(s));
  }
  sources_ = std::move(next);
}

const ingest::QuerySource* Engine::source(const std::string& name) const {
  const auto it = sources_.find(name);
  return it == sources_.end() ? nullptr : it->second.get();
}

const store::SeriesStore& Engine::storeFor(const rules::Rule& rule) const {
  if (const ingest::QuerySource* s = rule.query_source.empty() ? nullptr : source(rule.query_source)) return s->store();
  return store_;
}

std::string Engine::degraded(const std::string& rule) const {
  const auto view = degraded_view_.load();
  const auto it = view->find(rule);
  return it == view->end() ? std::string() : it->second;
}

void Engine::writeOn(IncidentStore* writes, IncidentStore* reads, std::function<void(std::function<void()>)> post) {
  reads_ = reads;
  writes_ = writes ? std::make_shared<Writes>() : nullptr;
  if (writes_) writes_->store = writes;
  post_ = std::move(post);
}

void Engine::write(std::function<void(Writes&, std::int64_t now_ms)> job) {
  if (!writes_) return;
  Clock* clock = &clock_;
  post_([w = std::weak_ptr<Writes>(writes_), clock, job = std::move(job)] {
    if (auto writes = w.lock()) job(*writes, clock->nowMs());
  });
}

void Engine::Writes::failed(std::int64_t now_ms, std::string_view what, const std::string& error,
                            std::optional<log::Field> context) {
  if (!logged.allow(now_ms)) return;
  const log::Field not_logged{"similar_errors_not_logged", logged.suppressed()};
  if (context) {
    log::error(what, {*context, {"error", error}, not_logged});
  } else {
    log::error(what, {{"error", error}, not_logged});
  }
}

void Engine::restore() {
  if (!reads_) return;
  auto open = reads_->loadOpen();
  if (!open) {
    log::error("Cannot read incidents from the state database; starting without them",
               {{"error", open.error().message}});
    return;
  }
  std::size_t firing = 0;
  for (auto& [id, incident] : *open) {
    firing += incident.state == TrackedIncident::State::firing ? 1 : 0;
    tracker_.restore(id, std::move(incident));
  }
  firing_.Set(static_cast<double>(tracker_.firingCount()));
  if (!open->empty()) {
    log::info("Resumed incidents from the state database", {{"firing", firing}, {"pending", open->size() - firing}});
  }
}

void Engine::apply(std::vector<rules::Rule> rules, EngineOptions options) {
  // Detectors of unchanged rules carry over with what they learned.
  std::map<std::string, std::unique_ptr<detectors::Detector>> previous;
  for (auto& d : detectors_) previous[d->rule().name + '\n' + d->rule().fingerprint] = std::move(d);
  detectors_.clear();
  std::set<std::string> names;
  std::vector<std::string> name_list;
  std::size_t kept = 0;
  for (auto& r : rules) {
    names.insert(r.name);
    name_list.push_back(r.name);
    if (auto same = previous.find(r.name + '\n' + r.fingerprint); same != previous.end() && same->second) {
      detectors_.push_back(std::move(same->second));
      ++kept;
      continue;
    }
    auto d = detectors::makeDetector(std::move(r));
    if (!d) continue;
    if (d->history() + store_.config().staleness > store_.config().retention) {
      log::warn("Rule reads further back than the store keeps; restart to keep enough history",
                {{"rule", d->rule().name},
                 {"needs", formatDuration(d->history())},
                 {"store_retention", formatDuration(store_.config().retention)}});
    }
    if (reads_) {
      if (auto saved = reads_->loadDetectorState(d->rule().name, d->rule().fingerprint); !saved) {
        log::warn("Cannot read a rule's learned state; it learns afresh",
                  {{"rule", d->rule().name}, {"error", saved.error().message}});
      } else if (!saved->empty()) {
        d->restoreState(*saved);
        log::info("Restored learned state", {{"rule", d->rule().name}, {"endpoints", saved->size()}});
      }
    }
    evaluations_.Add({{"rule", d->rule().name}});
    detectors_.push_back(std::move(d));
  }
  rules_loaded_.Set(static_cast<double>(detectors_.size()));
  for (auto& [name, src] : sources_) {
    std::vector<ingest::SourceReader> readers;
    for (const auto& d : detectors_) {
      if (d->rule().query_source == name) readers.push_back(sourceReader(d->rule(), d->history()));
    }
    src->setReaders(readers);
  }
  degraded_.clear();
  degraded_view_.publish({});
  source_drift_.clear();
  options_ = std::move(options);
  options_.interval = std::max<Duration>(options_.interval, std::chrono::milliseconds(1));
  interval_.Set(std::chrono::duration<double>(options_.interval).count());

  // Incidents of rules that are gone resolve now.
  const std::int64_t now = clock_.nowMs();
  std::vector<rules::IncidentEvent> events;
  tracker_.retainRules(names, now, events);
  persist(events, now);
  firing_.Set(static_cast<double>(tracker_.firingCount()));
  if (on_events_ && !events.empty()) on_events_(events);
  write([name_list](Writes& w, std::int64_t) {
    if (auto ok = w.store->retainDetectorState(name_list); !ok) {
      log::warn("Cannot forget the learned state of removed rules", {{"error", ok.error().message}});
    }
  });
  if (!previous.empty() && kept > 0) log::debug("Rules kept their learned state on reload", {{"rules", kept}});

  stopped_ = false;
  schedule();
}

void Engine::stop() {
  stopped_ = true;
  timer_->cancel();
  saveDetectorState(clock_.nowMs());
}

std::int64_t Engine::nextEvaluationMs(std::int64_t now_ms) const {
  const std::int64_t step = options_.interval.count();
  const std::int64_t since = now_ms - options_.origin_ms;
  const std::int64_t k = since >= 0 ? since / step + 1 : -((-since - 1) / step);  // the first grid instant after now
  return options_.origin_ms + k * step;
}

void Engine::schedule() {
  timer_->at(nextEvaluationMs(clock_.nowMs()), [this] {
    if (stopped_) return;
    tick(clock_.nowMs());
    schedule();
  });
}

void Engine::tick(std::int64_t t_ms) {
  static const std::string kScraped;
  evaluateRules(t_ms, &kScraped);
  for (auto& [name, src] : sources_) {
    // A source still busy with the previous round is not asked again; its rules wait for that round. Judged at the
    // data's "now": t_ms less the source's query_offset (the round fetched every step up to it).
    const std::int64_t data_now = t_ms - src->config().query_offset.count();
    src->update(t_ms, [this, name = name, data_now](const ingest::QuerySource::RoundStats&) {
      if (!stopped_) evaluateRules(data_now, &name);
    });
  }
  std::erase_if(retired_, [](const auto& s) { return !s->busy(); });
}

void Engine::report(prometheus::Family<prometheus::Counter>& transitions,
                    const std::vector<rules::IncidentEvent>& events) {
  for (const auto& e : events) {
    const bool firing = e.state == rules::IncidentEvent::State::firing;
    transitions.Add({{"state", firing ? "firing" : "resolved"}}).Increment();
    (firing ? log::warn : log::info)(firing ? "Incident firing" : "Incident resolved",
                                     {{"alertname", e.alertname},
                                      {"labels", labelText(e.labels)},
                                      {"severity", e.severity},
                                      {"value", e.value},
                                      {"threshold", e.threshold},
                                      {"id", e.id},
                                      {"reason", e.reason}});
  }
}

void Engine::persist(const std::vector<rules::IncidentEvent>& events, std::int64_t t_ms) {
  if (!writes_) {
    report(transitions_, events);
    return;
  }
  // At every evaluation, so that writes that failed are retried even when nothing changed since. The transitions
  // are logged once written: whoever saw one in the log finds it in the state database, even after a crash.
  write([changes = IncidentStore::changesOf(tracker_, tracker_.takeChanged()), events, t_ms,
         transitions = &transitions_](Writes& w, std::int64_t now_ms) {
    for (auto& [id, incident] : changes) w.changes[id] = incident;  // the latest state of each
    w.events.insert(w.events.end(), events.begin(), events.end());
    if (w.changes.empty() && w.events.empty()) return;
    const IncidentStore::Changes all(w.changes.begin(), w.changes.end());
    if (auto ok = w.store->save(all, w.events, t_ms); !ok) {
      w.failed(now_ms, "Cannot write incidents to the state database; retrying at each evaluation",
               ok.error().message, log::Field{"pending_writes", all.size() + w.events.size()});
    } else {
      w.logged.reset();
      w.changes.clear();
      w.events.clear();
    }
    report(*transitions, events);
  });
}

void Engine::attachExemplars() {
  if (!writes_ || options_.exemplars == 0 || tracker_.firingCount() == 0) return;
  std::vector<std::pair<std::string, std::vector<IncidentExemplar>>> found_by_incident;
  std::map<std::string_view, const rules::Rule*> rules_by_name;
  for (const auto& d : detectors_) {
    if (d->rule().query_source.empty()) rules_by_name[d->rule().name] = &d->rule();  // query answers carry none
  }
  for (const auto& [id, incident] : tracker_.tracked()) {
    if (incident.state != TrackedIncident::State::firing) continue;
    const auto rule = rules_by_name.find(incident.last.alertname);
    if (rule == rules_by_name.end()) continue;
    const auto bound = detectors::slowBound(*rule->second, incident.last);
    if (!bound) continue;
    auto found = detectors::slowExemplars(*rule->second, store_, incident.last.endpoint, *bound,
                                          incident.last.started_ms);
    if (found.empty()) continue;
    if (found.size() > options_.exemplars) found.resize(options_.exemplars);
    std::vector<IncidentExemplar> exemplars;
    for (auto& x : found) {
      IncidentExemplar e;
      for (const auto& [k, v] : x.labels) {
        if (k == "trace_id" || k == "traceID" || k == "traceId") e.trace_id = v;
      }
      if (!options_.trace_url.empty()) e.url = rules::expandTraceUrl(options_.trace_url, x.labels);
      e.labels = std::move(x.labels);
      e.value = x.value;
      e.t_ms = x.t_ms;
      exemplars.push_back(std::move(e));
    }
    found_by_incident.emplace_back(id, std::move(exemplars));
  }
  if (found_by_incident.empty()) return;
  write([found = std::move(found_by_incident), limit = options_.exemplars](Writes& w, std::int64_t now_ms) {
    for (const auto& [id, exemplars] : found) {
      if (auto ok = w.store->addExemplars(id, exemplars, limit); !ok) {
        w.failed(now_ms, "Cannot attach exemplars to an incident", ok.error().message, log::Field{"id", id});
      }
    }
  });
}

void Engine::saveDetectorState(std::int64_t t_ms) {
  if (!writes_) return;
  struct Saved {
    std::string rule, fingerprint;
    std::vector<std::pair<std::string, nlohmann::json>> states;
  };
  std::vector<Saved> saved;
  for (const auto& d : detectors_) {
    auto states = d->saveState();
    if (!states.empty()) saved.push_back({d->rule().name, d->rule().fingerprint, std::move(states)});
  }
  state_saved_ms_ = t_ms;
  if (saved.empty()) return;
  write([saved = std::move(saved), t_ms](Writes& w, std::int64_t now_ms) {
    for (const auto& one : saved) {
      if (auto ok = w.store->saveDetectorState(one.rule, one.fingerprint, one.states, t_ms); !ok) {
        w.failed(now_ms, "Cannot write a rule's learned state", ok.error().message, log::Field{"rule", one.rule});
      }
    }
  });
}

std::vector<rules::Finding> Engine::judge(detectors::Detector& d, const store::SeriesStore& store, std::int64_t t_ms) {
  const auto start = std::chrono::steady_clock::now();
  auto findings = d.evaluate(store, t_ms, options_.interval);
  stats_.detector_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stats_.judged += findings.size();
  return findings;
}

std::vector<rules::IncidentEvent> Engine::evaluateRules(std::int64_t t_ms, const std::string* only) {
  const auto start = std::chrono::steady_clock::now();
  ++stats_.evaluations;
  std::vector<rules::IncidentEvent> events;
  // The ranking reads every histogram: refreshed every kHotspotRefreshMs (with the scraped rules), not at every
  // evaluation, with what the latency_drift rules said last. Sources' histograms are ranked from their own stores,
  // at their rules' latest evaluation.
  const bool scraped = !only || only->empty();
  const bool refresh_hotspots =
      options_.hotspots && scraped && (t_ms - hotspots_ms_ >= kHotspotRefreshMs || t_ms < hotspots_ms_);
  std::vector<detectors::DriftMark> drift;
  if (!only) {
    source_drift_.clear();
  } else if (!only->empty()) {
    source_drift_[*only] = {t_ms, {}};
  }
  auto mark = [&](const rules::Rule& rule, const std::vector<rules::Finding>& findings,
                  std::vector<detectors::DriftMark>& out) {
    if (rule.kind != rules::RuleKind::latency_drift) return;
    for (const rules::Finding& f : findings) {
      if (!f.judged) continue;
      detectors::DriftMark m;
      m.rule = rule.name;
      m.metric = std::string(rule.histogram.metricName());
      m.endpoint = f.endpoint;
      m.all_labels = rule.by_all;
      m.ratio = std::isfinite(f.score) ? f.score : 1;
      m.active = f.active;
      m.incident_id = incidentId(rule.name, f.endpoint);
      const TrackedIncident* incident = tracker_.find(m.incident_id);
      m.firing = incident && incident->state == TrackedIncident::State::firing;
      out.push_back(std::move(m));
    }
  };
  for (auto& d : detectors_) {
    const rules::Rule& rule = d->rule();
    if (only && rule.query_source != *only) continue;
    if (!rule.query_source.empty()) {
      // Judged only on the source's full answers: missing or partial data neither fires nor resolves anything.
      const ingest::QuerySource* src = source(rule.query_source);
      std::string why = src ? src->degraded(rule.name) : "source degraded: the source is not configured";
      if (!why.empty()) {
        degraded_[rule.name] = std::move(why);
        continue;
      }
      degraded_.erase(rule.name);
      const std::vector<rules::Finding> findings = judge(*d, src->store(), t_ms);
      tracker_.observe(rule, t_ms, findings, events);
      evaluations_.Add({{"rule", rule.name}}).Increment();
      auto& marks = source_drift_[rule.query_source];
      marks.first = t_ms;
      mark(rule, findings, marks.second);
      continue;
    }
    const std::vector<rules::Finding> findings = judge(*d, store_, t_ms);
    tracker_.observe(rule, t_ms, findings, events);
    evaluations_.Add({{"rule", rule.name}}).Increment();
    if (refresh_hotspots) mark(rule, findings, drift);
  }
  if (refresh_hotspots) {
    detectors::HotspotTable table = detectors::rankHotspots(store_, t_ms, kHotspotWindow, drift, kHotspotLimit);
    for (const auto& [name, marks] : source_drift_) {
      const ingest::QuerySource* src = source(name);
      if (!src) continue;
      auto more = detectors::rankHotspots(src->store(), marks.first, kHotspotWindow, marks.second, kHotspotLimit);
      table.endpoints += more.endpoints;
      for (auto& h : more.hotspots) table.hotspots.push_back(std::move(h));
    }
    if (table.hotspots.size() > kHotspotLimit || !source_drift_.empty()) {
      std::stable_sort(table.hotspots.begin(), table.hotspots.end(),
                       [](const auto& a, const auto& b) { return a.rank > b.rank; });
      if (table.hotspots.size() > kHotspotLimit) table.hotspots.resize(kHotspotLimit);
    }
    hotspots_.publish(std::move(table));
    hotspots_ms_ = t_ms;
  }
  // Written before anything is said about it, so whatever saw a transition can count on it surviving a crash.
  if (degraded_ != *degraded_view_.load()) degraded_view_.publish(degraded_);
  persist(events, t_ms);
  firing_.Set(static_cast<double>(tracker_.firingCount()));
  if (on_events_ && !events.empty()) on_events_(events);
  attachExemplars();
  if (writes_) {
    // A transition freezes or releases a baseline: write it now, so a crash right after resumes with it.
    if (!events.empty() || t_ms - state_saved_ms_ >= kStateSaveIntervalMs) saveDetectorState(t_ms);
    if (t_ms - pruned_ms_ >= kPruneIntervalMs) {
      pruned_ms_ = t_ms;
      write([before = t_ms - options_.retention.count()](Writes& w, std::int64_t now_ms) {
        if (auto n = w.store->prune(before); !n) {
          w.failed(now_ms, "Cannot delete old incidents", n.error().message);
        } else if (*n > 0) {
          log::info("Deleted resolved incidents past their retention", {{"incidents", *n}});
        }
      });
    }
  }
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  duration_.Observe(took);
  last_duration_.Set(took);
  return events;
}

}  // namespace hotspotd::incidents
