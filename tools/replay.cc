#include "tools/replay.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "core/rfc3339.h"
#include "detectors/detector.h"
#include "incidents/engine.h"
#include "incidents/tracker.h"
#include "ingest/query_source.h"
#include "ingest/replay_reader.h"
#include "rules/rule_loader.h"

namespace hotspotd::tools {
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

// Evaluates the rules over a query source's history, one evaluation per source step from `from` to `to`.
int replaySource(const ReplayOptions& options,
                 std::vector<std::unique_ptr<detectors::Detector>>& detectors, const store::StoreConfig& store_config,
                 std::ostream& out) {
  const auto found = std::find_if(options.sources.begin(), options.sources.end(),
                                  [&](const ingest::SourceConfig& s) { return s.name == options.source; });
  if (found == options.sources.end()) {
    std::fprintf(stderr, "hotspotd: no [[sources]] entry of the config is named \"%s\"\n", options.source.c_str());
    return 1;
  }
  boost::asio::io_context io;
  ingest::QuerySource source(io, *found, store_config, nullptr);
  std::vector<ingest::SourceReader> readers;
  for (const auto& d : detectors) readers.push_back(incidents::sourceReader(d->rule(), d->history()));
  source.setReaders(readers);
  source.setOrigin(options.from_ms);
  incidents::IncidentTracker tracker;
  const std::int64_t step = found->step.count();
  std::size_t firing = 0, resolved = 0, evaluations = 0, unjudged = 0;
  ingest::QuerySource::RoundStats total;
  // What the rounds cost: the first (reaching back as far as the rules read), and the later ones on average.
  struct Cost {
    std::size_t rounds = 0, queries = 0, bytes = 0, points = 0;
    double seconds = 0;
    void add(const ingest::QuerySource::RoundStats& s, double t) {
      ++rounds;
      queries += s.queries;
      bytes += s.bytes;
      points += s.points;
      seconds += t;
    }
  } first, later;
  std::chrono::steady_clock::duration judging{};
  std::size_t judged_endpoints = 0;
  std::vector<rules::IncidentEvent> events;
  for (std::int64_t t = options.from_ms; t <= options.to_ms; t += step) {
    // A failed round is asked again (the source resumes where it stopped) a few times before the step is given up.
    std::string why;
    std::int64_t judged_at = t;  // the round's newest step: t less the source's query_offset
    for (int attempt = 0; attempt < 4; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::seconds(1));
      const auto fetch_start = std::chrono::steady_clock::now();
      source.update(t, [&](const ingest::QuerySource::RoundStats& stats) {
        judged_at = stats.end_ms;
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - fetch_start).count();
        (evaluations == 0 ? first : later).add(stats, seconds);
        total.queries += stats.queries;
        total.bytes += stats.bytes;
        total.points += stats.points;
      });
      io.restart();
      io.run();
      why.clear();
      for (const auto& d : detectors) {
        if (auto w = source.degraded(d->rule().name); !w.empty()) why = std::move(w);
      }
      if (why.empty()) break;
    }
    ++evaluations;
    if (!why.empty()) {
      ++unjudged;
      std::fprintf(stderr, "hotspotd: not judged at %s: %s\n", formatRfc3339(t).c_str(), why.c_str());
      continue;
    }
    for (auto& d : detectors) {
      events.clear();
      const auto judge_start = std::chrono::steady_clock::now();
      const auto findings = d->evaluate(source.store(), judged_at, found->step);
      judging += std::chrono::steady_clock::now() - judge_start;
      judged_endpoints += findings.size();
      tracker.observe(d->rule(), judged_at, findings, events);
      for (const auto& e : events) {
        out << toJson(e).dump() << '\n';
        (e.state == rules::IncidentEvent::State::firing ? firing : resolved) += 1;
      }
    }
  }
  out.flush();
  const double later_rounds = std::max<double>(1, static_cast<double>(later.rounds));
  std::fprintf(
      stderr,
      "hotspotd: cost: first round %zu queries, %zu bytes, %zu points in %.3f s; then per evaluation %.2f "
      "queries, %.0f bytes, %.0f points in %.2f ms; detectors %.2f us per endpoint (%zu endpoint judgements)\n",
      first.queries, first.bytes, first.points, first.seconds, static_cast<double>(later.queries) / later_rounds,
      static_cast<double>(later.bytes) / later_rounds, static_cast<double>(later.points) / later_rounds,
      later.seconds * 1000 / later_rounds,
      judged_endpoints
          ? std::chrono::duration<double, std::micro>(judging).count() / static_cast<double>(judged_endpoints)
          : 0.0,
      judged_endpoints);
  std::fprintf(stderr,
               "hotspotd: replayed %zu evaluations from source %s (%zu queries, %zu bytes, %zu points): %zu firing, "
               "%zu resolved%s\n",
               evaluations, options.source.c_str(), total.queries, total.bytes, total.points, firing, resolved,
               unjudged ? fmt::format(", {} evaluations not judged (see above)", unjudged).c_str() : "");
  return unjudged ? 1 : 0;
}

}  // namespace

Result<std::int64_t> parseReplayTime(std::string_view text, std::int64_t now_ms) {
  if (text == "now") return now_ms;
  if (text.starts_with("now-")) {
    auto d = parseDuration(text.substr(4));
    if (!d) return fail(fmt::format("\"{}\": {}", text, d.error().message));
    return now_ms - d->count();
  }
  double seconds = 0;
  if (const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
      !text.empty() && ec == std::errc() && end == text.data() + text.size() && std::isfinite(seconds) &&
      seconds >= 0 && seconds < 1e11) {
    return static_cast<std::int64_t>(seconds * 1000.0);
  }
  auto t = parseRfc3339(text);
  if (!t) return fail(fmt::format("{} (or unix seconds, now, now-2h)", t.error().message));
  return *t;
}

int runReplay(const ReplayOptions& options) {
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
  if (!options.source.empty()) {
    for (auto& r : rule_list) r.query_source = options.source;
  }
  auto reader =
      options.source.empty() ? ingest::ReplayReader::open(options.input) : Result<ingest::ReplayReader>(fail("unused"));
  if (options.source.empty() && !reader) {
    std::fprintf(stderr, "hotspotd: cannot replay: %s\n", reader.error().message.c_str());
    return 1;
  }

  // The store must reach back as far as the longest window a rule reads.
  std::vector<std::unique_ptr<detectors::Detector>> detectors;
  for (auto& r : rule_list) detectors.push_back(detectors::makeDetector(std::move(r)));
  store::StoreConfig store_config = options.store;
  for (const auto& d : detectors) {
    store_config.retention = std::max(store_config.retention, d->history() + store_config.staleness);
  }
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
  if (!options.source.empty()) return replaySource(options, detectors, store_config, *out);
  store::SeriesStore store(store_config);
  const store::GroupId group = store.addGroup("replay");
  incidents::IncidentTracker tracker;

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

}  // namespace hotspotd::tools
