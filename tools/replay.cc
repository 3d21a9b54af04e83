#include "tools/replay.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <prometheus/registry.h>


#include "core/text.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/rfc3339.h"
#include "incidents/engine.h"
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

// The events the engine hands on, as JSON lines, counted.
struct AlertWriter {
  std::ostream& out;
  std::size_t firing = 0, resolved = 0;
  void operator()(const std::vector<rules::IncidentEvent>& events) {
    for (const auto& e : events) {
      out << alertLine(e) << '\n';
      (e.state == rules::IncidentEvent::State::firing ? firing : resolved) += 1;
    }
  }
};

// The rules over a recorded file: each recorded scrape is ingested at its time, and the engine evaluates on its grid
// of the recording's scrape interval, as a daemon scraping the recorded service would.
int replayFile(const ReplayOptions& options, std::vector<rules::Rule> rule_list, const store::StoreConfig& store_config,
               std::ostream& out) {
  auto reader = ingest::ReplayReader::open(options.input);
  if (!reader) {
    std::fprintf(stderr, "hotspotd: cannot replay: %s\n", reader.error().message.c_str());
    return 1;
  }
  store::SeriesStore store(store_config);
  ingest::TargetIngester ingester(store, store.addGroup("replay"), {});
  std::int64_t t0 = 0;
  const bool any = reader->next(t0);
  const std::int64_t t1 = any ? reader->peekMs().value_or(t0) : t0;  // the second scrape's time
  boost::asio::io_context io;
  SimClock clock(t0);
  prometheus::Registry registry;
  incidents::Engine engine(io, clock, store, registry, nullptr);
  AlertWriter writer{out};
  engine.onEvents([&](const std::vector<rules::IncidentEvent>& events) { writer(events); });
  incidents::EngineOptions engine_options;
  engine_options.hotspots = false;  // no API to serve them
  // The recording's scrape interval is the evaluation interval.
  if (t1 > t0) engine_options.interval = std::chrono::milliseconds(t1 - t0);
  const bool stored = any && reader->commit(ingester).has_value();
  engine.apply(std::move(rule_list), engine_options);
  std::int64_t last = t0;
  for (std::int64_t t = 0; stored && reader->next(t); last = t) {
    clock.run(io, t - 1);  // evaluations due before the scrape at t, then the scrape, then those due at t
    if (!reader->commit(ingester)) break;
    clock.run(io, t);
  }
  if (reader->error()) {
    engine.stop();
    out.flush();
    std::fprintf(stderr, "hotspotd: cannot replay: %s\n", reader->error()->message.c_str());
    return 1;
  }
  // The evaluation that sees the last scrape.
  clock.run(io, engine.nextEvaluationMs(last - 1));
  engine.stop();
  out.flush();
  std::fprintf(stderr, "hotspotd: replayed %zu samples from %s: %zu firing, %zu resolved\n", reader->sampleCount(),
               options.input.c_str(), writer.firing, writer.resolved);
  return 0;
}

// The rules over a query source's history: the engine evaluates at every source step from --from to --to (on the
// epoch's grid, as the daemon does), each evaluation's round fetching what the daemon would fetch then.
int replaySource(const ReplayOptions& options, std::vector<rules::Rule> rule_list,
                 const store::StoreConfig& store_config, std::ostream& out) {
  const auto found = std::find_if(options.sources.begin(), options.sources.end(),
                                  [&](const ingest::SourceConfig& s) { return s.name == options.source; });
  if (found == options.sources.end()) {
    std::fprintf(stderr, "hotspotd: no [[sources]] entry of the config is named \"%s\"\n", options.source.c_str());
    return 1;
  }
  for (auto& r : rule_list) r.query_source = options.source;
  std::vector<std::string> names;
  for (const auto& r : rule_list) names.push_back(r.name);
  boost::asio::io_context io;
  SimClock clock(options.from_ms - 1);
  prometheus::Registry registry;
  store::SeriesStore scraped(store_config);  // unused: every rule reads the source
  incidents::Engine engine(io, clock, scraped, registry, nullptr);
  AlertWriter writer{out};
  engine.onEvents([&](const std::vector<rules::IncidentEvent>& events) { writer(events); });
  // Evaluations every source step on the epoch's grid, as the daemon's; the source's steps on the grid of --from,
  // so that a backtest of a recording asks for the points the recording has.
  engine.setSources({*found}, store_config, options.from_ms);
  incidents::EngineOptions engine_options;
  engine_options.hotspots = false;  // no API to serve them
  engine_options.interval = found->step;
  engine.apply(std::move(rule_list), engine_options);
  const ingest::QuerySource* source = engine.source(options.source);

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
  } first, later, total;
  std::size_t evaluations = 0, unjudged = 0;
  for (std::int64_t t = engine.nextEvaluationMs(options.from_ms - 1); t <= options.to_ms; t += found->step.count()) {
    const auto before = engine.stats();
    const auto start = std::chrono::steady_clock::now();
    clock.run(io, t);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() -
                           (engine.stats().detector_seconds - before.detector_seconds);
    (evaluations == 0 ? first : later).add(source->lastRound(), seconds);
    total.add(source->lastRound(), seconds);
    ++evaluations;
    std::string why;
    for (const auto& name : names) {
      if (auto w = engine.degraded(name); !w.empty()) why = std::move(w);
    }
    if (!why.empty()) {
      ++unjudged;
      std::fprintf(stderr, "hotspotd: not judged at %s: %s\n", formatRfc3339(t).c_str(), why.c_str());
    }
  }
  engine.stop();
  out.flush();
  if (evaluations == 0) {
    std::fprintf(stderr, "hotspotd: no evaluation between --from and --to: evaluations are every %s (the source's step), "
                 "on whole multiples of it\n", formatDuration(found->step).c_str());
    return 1;
  }
  const auto stats = engine.stats();
  const double later_rounds = std::max<double>(1, static_cast<double>(later.rounds));
  std::fprintf(
      stderr,
      "hotspotd: cost: first round %zu queries, %zu bytes, %zu points in %.3f s; then per evaluation %.2f "
      "queries, %.0f bytes, %.0f points in %.2f ms; detectors %.2f us per endpoint (%zu endpoint judgements)\n",
      first.queries, first.bytes, first.points, first.seconds, static_cast<double>(later.queries) / later_rounds,
      static_cast<double>(later.bytes) / later_rounds, static_cast<double>(later.points) / later_rounds,
      later.seconds * 1000 / later_rounds,
      stats.judged ? stats.detector_seconds * 1e6 / static_cast<double>(stats.judged) : 0.0, stats.judged);
  std::fprintf(stderr,
               "hotspotd: replayed %zu evaluations from source %s (%zu queries, %zu bytes, %zu points): %zu firing, "
               "%zu resolved%s\n",
               evaluations, options.source.c_str(), total.queries, total.bytes, total.points, writer.firing,
               writer.resolved, unjudged ? fmt::format(", {} evaluations not judged (see above)", unjudged).c_str() : "");
  return unjudged ? 1 : 0;
}

}  // namespace

std::string alertLine(const rules::IncidentEvent& event) { return jsonText(toJson(event)); }

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
  // The store reaches back as far as the longest window a rule reads.
  const store::StoreConfig store_config = incidents::storeConfigFor(rule_list, options.store);
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
  // Incidents are the output here, not log lines.
  log::setup(log::Level::error, log::Format::text);
  if (!options.source.empty()) return replaySource(options, std::move(rule_list), store_config, *out);
  return replayFile(options, std::move(rule_list), store_config, *out);
}

}  // namespace hotspotd::tools
