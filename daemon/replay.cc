#include "daemon/replay.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "daemon/config.h"
#include "detectors/detector.h"
#include "ingest/replay_reader.h"
#include "rules/incidents.h"
#include "rules/rule_loader.h"

namespace hotspotd::daemon {
namespace {

nlohmann::json number(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

nlohmann::ordered_json toJson(const rules::IncidentEvent& e) {
  nlohmann::ordered_json j;
  j["time"] = static_cast<double>(e.t_ms) / 1000.0;
  j["state"] = e.state == rules::IncidentEvent::State::firing ? "firing" : "resolved";
  j["alertname"] = e.alertname;
  nlohmann::ordered_json labels = nlohmann::ordered_json::object();
  for (const auto& [k, v] : e.labels) labels[k] = v;
  j["labels"] = labels;
  j["severity"] = e.severity;
  j["value"] = number(e.value);
  j["threshold"] = number(e.threshold);
  j["id"] = e.id;
  j["started"] = static_cast<double>(e.started_ms) / 1000.0;
  nlohmann::ordered_json evidence = nlohmann::ordered_json::object();
  for (const auto& [k, v] : e.evidence) evidence[k] = number(v);
  j["evidence"] = evidence;
  if (!e.annotations.empty()) {
    nlohmann::ordered_json annotations = nlohmann::ordered_json::object();
    for (const auto& [k, v] : e.annotations) annotations[k] = v;
    j["annotations"] = annotations;
  }
  j["reason"] = e.reason;
  return j;
}

}  // namespace

int runReplay(const ReplayOptions& options) {
  Config config;
  if (options.config) {
    auto c = loadConfigFile(*options.config);
    if (!c) {
      std::fprintf(stderr, "hotspotd: the configuration is not valid:\n%s\n", c.error().message.c_str());
      return 1;
    }
    config = std::move(*c);
  }
  std::vector<rules::Rule> rule_list;
  if (options.rules) {
    auto r = rules::loadRules(*options.rules);
    if (!r) {
      std::fprintf(stderr, "hotspotd: the rules are not valid:\n%s\n", r.error().message.c_str());
      return 1;
    }
    rule_list = std::move(*r);
  } else {
    rule_list = rules::defaultRules();
  }
  auto reader = ingest::ReplayReader::open(options.input);
  if (!reader) {
    std::fprintf(stderr, "hotspotd: cannot replay: %s\n", reader.error().message.c_str());
    return 1;
  }

  // The store must reach back as far as the longest window a rule reads.
  std::vector<std::unique_ptr<detectors::Detector>> detectors;
  for (auto& r : rule_list) detectors.push_back(detectors::makeDetector(std::move(r)));
  store::StoreConfig store_config = config.store;
  for (const auto& d : detectors) {
    store_config.retention = std::max(store_config.retention, d->history() + store_config.staleness);
  }
  store::SeriesStore store(store_config);
  const store::GroupId group = store.addGroup("replay");
  rules::IncidentTracker tracker;

  std::ofstream file;
  std::ostream* out = &std::cout;
  if (options.output != "-") {
    file.open(options.output, std::ios::trunc);
    if (!file) {
      std::fprintf(stderr, "hotspotd: cannot write %s\n", options.output.c_str());
      return 1;
    }
    out = &file;
  }

  std::int64_t t = 0, previous = 0;
  std::vector<const ingest::ParsedSample*> samples;
  std::vector<rules::IncidentEvent> events;
  Duration step = std::chrono::seconds(15);
  bool first = true;
  std::size_t firing = 0, resolved = 0;
  while (reader->next(t, samples)) {
    if (!first && t > previous) step = std::chrono::milliseconds(t - previous);  // the file's scrape interval
    first = false;
    previous = t;
    ingest::ReplayReader::commit(store, group, t, samples);
    for (auto& d : detectors) {
      events.clear();
      tracker.observe(d->rule(), t, d->evaluate(store, t, step), events);
      for (const auto& e : events) {
        *out << toJson(e).dump() << '\n';
        (e.state == rules::IncidentEvent::State::firing ? firing : resolved) += 1;
      }
    }
  }
  out->flush();
  std::fprintf(stderr, "hotspotd: replayed %zu samples from %s: %zu firing, %zu resolved\n", reader->sampleCount(),
               options.input.c_str(), firing, resolved);
  return 0;
}

}  // namespace hotspotd::daemon
