// A query source against a query API on a loopback port that answers as Prometheus does (and fails as it can):
// the first round reaches back as far as the rules read, at the store's coarse step beyond full resolution and
// never more than 1,440 points a query; later rounds ask for the new steps only; failed, rate-limited, partial
// and timed-out answers feed nothing, leave the rules unjudged with the reason, and are asked again; shards split
// the endpoints; credentials and tenant headers are sent (a rotated token file is read again); and an incident
// judged on a source neither resolves while the source fails nor stays firing once it answers again.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "ingest/query_source.h"
#include "incidents/engine.h"
#include "detectors/detector.h"
#include "rules/rule_loader.h"
#include "tests/support/http_target.h"
#include "tests/support/temp_dir.h"

using namespace hotspotd;
using namespace std::chrono_literals;

namespace {

// Evaluations an hour apart: the tests tick the engine themselves.
incidents::EngineOptions hourly() {
  incidents::EngineOptions o;
  o.interval = std::chrono::hours(1);
  return o;
}

// Aligned to every step used here.
constexpr std::int64_t kT0 = 1'700'000'400'000;

// GET /api/v1/query_range, answered with `routes` series queue_depth{job="app",route="/rN"} at every step of the
// asked range (value(t, route)), or with the status, Retry-After and warnings set.
struct FakeQueryApi {
  struct Seen {
    std::string query;
    std::int64_t start_ms, end_ms, step_ms;
    std::string authorization, org;
  };
  test::HttpTarget target;
  std::mutex mu;
  std::vector<Seen> seen;
  int status = 200;
  std::string retry_after;
  std::vector<std::string> warnings;
  int routes = 1;
  std::function<double(std::int64_t, int)> value = [](std::int64_t, int) { return 1.0; };
  // If set, answers a query's matrix instead: the "result" array for a query over [start, end] at step (ms).
  std::function<nlohmann::json(const std::string&, std::int64_t, std::int64_t, std::int64_t)> result_for;
  std::string address;

  FakeQueryApi() {
    target.server().Get("/api/v1/query_range", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu);
      auto ms = [&](const char* key) {
        return static_cast<std::int64_t>(std::llround(std::stod(req.get_param_value(key)) * 1000));
      };
      seen.push_back({req.get_param_value("query"), ms("start"), ms("end"), ms("step"),
                      req.get_header_value("Authorization"), req.get_header_value("X-Scope-OrgID")});
      if (status != 200) {
        if (!retry_after.empty()) res.set_header("Retry-After", retry_after);
        res.status = status;
        res.set_content(R"({"status":"error","errorType":"internal","error":"the store is down"})", "application/json");
        return;
      }
      nlohmann::json result = nlohmann::json::array();
      for (int r = 0; r < routes && !result_for; ++r) {
        nlohmann::json values = nlohmann::json::array();
        for (std::int64_t t = seen.back().start_ms; t <= seen.back().end_ms; t += seen.back().step_ms) {
          values.push_back({static_cast<double>(t) / 1000.0, fmt::format("{}", value(t, r))});
        }
        result.push_back({{"metric", {{"__name__", "queue_depth"}, {"job", "app"}, {"route", fmt::format("/r{}", r)}}},
                          {"values", values}});
      }
      if (result_for) {
        const Seen& q = seen.back();
        result = result_for(q.query, q.start_ms, q.end_ms, q.step_ms);
      }
      nlohmann::json body = {{"status", "success"}, {"data", {{"resultType", "matrix"}, {"result", result}}}};
      if (!warnings.empty()) body["warnings"] = warnings;
      res.set_content(body.dump(), "application/json");
    });
    address = target.start();
  }
  std::vector<Seen> requests() {
    std::lock_guard lock(mu);
    return seen;
  }
};

ingest::SourceConfig sourceConfig(const std::string& address, std::string_view extra = "") {
  ConfigErrors errors("test.toml");
  const std::string text = fmt::format("[[sources]]\nname = \"api\"\nurl = \"http://{}\"\n{}\n{}", address,
                                       extra.find("step =") == std::string_view::npos ? "step = \"15s\"" : "", extra);
  auto doc = parseTomlDocument(text, errors);
  REQUIRE(doc);
  auto sources = ingest::readSourceConfigs(*(*doc)["sources"].as_array(), "/", errors);
  REQUIRE_MESSAGE(errors.empty(), errors.joined());
  return sources.front();
}

rules::Rule rule(std::string_view text) {
  auto r = rules::parseRules(text, "rules.toml");
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  return r->front();
}

constexpr std::string_view kQueueRule = R"([[rules]]
name = "QueueDeep"
kind = "threshold"
gauge = "queue_depth"
above = 10
window = "30s"
for = "0s"
keep_firing_for = "30s"
by = ["route"]
source = "api"
)";

// Runs one round to its end.
ingest::QuerySource::RoundStats round(boost::asio::io_context& io, ingest::QuerySource& source, std::int64_t t_ms) {
  ingest::QuerySource::RoundStats stats;
  bool done = false;
  REQUIRE(source.update(t_ms, [&](const ingest::QuerySource::RoundStats& s) {
    stats = s;
    done = true;
  }));
  for (int i = 0; i < 200 && !done; ++i) {
    io.restart();
    io.run_for(50ms);
  }
  REQUIRE(done);
  return stats;
}

struct Fixture {
  boost::asio::io_context io;
  FakeQueryApi api;
  rules::Rule queue = rule(kQueueRule);
  std::unique_ptr<detectors::Detector> detector = detectors::makeDetector(queue);

  std::unique_ptr<ingest::QuerySource> source(std::string_view extra = "", store::StoreConfig store = {}) {
    auto s = std::make_unique<ingest::QuerySource>(io, sourceConfig(api.address, extra), store, nullptr);
    s->setReaders({incidents::sourceReader(detector->rule(), detector->history())});
    return s;
  }
};

}  // namespace

using ingest::QuerySource;

TEST_CASE(
    "a query source's first round reaches back as far as its rules read, coarse beyond full resolution and "
    "at most 1,440 points a query; later rounds ask for the new steps only") {
  Fixture f;
  // An anomaly rule reads six hours back; the store keeps every point of the last four hours, one a minute before.
  auto anomaly = rule(R"([[rules]]
name = "QueueOdd"
kind = "anomaly"
gauge = "queue_depth"
baseline = "6h"
source = "api"
)");
  auto detector = detectors::makeDetector(anomaly);
  store::StoreConfig store;
  store.full_resolution = 4h;
  store.retention = 7h;
  ingest::QuerySource source(f.io, sourceConfig(f.api.address, "step = \"1s\""), store, nullptr);
  source.setReaders({incidents::sourceReader(detector->rule(), detector->history())});

  const auto first = round(f.io, source, kT0);
  CHECK(source.degraded(anomaly.name).empty());
  const auto seen = f.api.requests();
  REQUIRE(seen.size() >= 3);
  CHECK(first.queries == seen.size());
  CHECK(seen.front().query == "queue_depth");
  CHECK(seen.front().start_ms <= kT0 - std::chrono::milliseconds(detector->history()).count());
  CHECK(seen.front().step_ms == 60'000);  // the store's coarse step
  CHECK(seen.back().end_ms == kT0);
  CHECK(seen.back().step_ms == 1'000);  // the source's step, for the last four hours
  std::int64_t prev_end = seen.front().start_ms - 1, prev_step = 0;
  for (const auto& s : seen) {
    CHECK(s.start_ms > prev_end);                                           // in time order, no overlap
    if (s.step_ms == prev_step) CHECK(s.start_ms == prev_end + s.step_ms);  // no gap either
    CHECK((s.end_ms - s.start_ms) / s.step_ms + 1 <= 1'440);
    prev_end = s.end_ms;
    prev_step = s.step_ms;
  }
  const auto fine = std::count_if(seen.begin(), seen.end(), [](const auto& s) { return s.step_ms == 1'000; });
  CHECK(fine == 11);  // 4 h at 1 s is 14,401 points: eleven queries
  CHECK(first.points > 14'400);

  // Five seconds later: the five new steps, nothing else.
  const auto second = round(f.io, source, kT0 + 5'000);
  const auto after = f.api.requests();
  REQUIRE(after.size() == seen.size() + 1);
  CHECK(after.back().start_ms == kT0 + 1'000);
  CHECK(after.back().end_ms == kT0 + 5'000);
  CHECK(second.points == 5);
  CHECK(source.degraded(anomaly.name).empty());
}

TEST_CASE("a failed answer feeds nothing, says why, and is asked again from where the source stopped") {
  Fixture f;
  auto source = f.source();
  round(f.io, *source, kT0);
  CHECK(source->degraded(f.queue.name).empty());

  f.api.status = 503;
  const auto failed = round(f.io, *source, kT0 + 30'000);
  CHECK(failed.failed == 1);
  const std::string why = source->degraded(f.queue.name);
  CHECK(why.find("source degraded") != std::string::npos);
  CHECK(why.find("HTTP 503") != std::string::npos);
  CHECK(why.find("the store is down") != std::string::npos);
  const auto asked = f.api.requests().back();
  CHECK(asked.start_ms == kT0 + 15'000);

  f.api.status = 200;
  round(f.io, *source, kT0 + 60'000);
  CHECK(source->degraded(f.queue.name).empty());
  const auto again = f.api.requests().back();
  CHECK(again.start_ms == kT0 + 15'000);  // nothing lost: the failed steps are asked for again
  CHECK(again.end_ms == kT0 + 60'000);
}

TEST_CASE("a 429 with Retry-After: no query to the source before then, and the rules wait unjudged") {
  Fixture f;
  auto source = f.source();
  round(f.io, *source, kT0);
  f.api.status = 429;
  f.api.retry_after = "1";
  round(f.io, *source, kT0 + 15'000);
  CHECK(source->degraded(f.queue.name).find("rate limited") != std::string::npos);
  const auto count = f.api.requests().size();

  f.api.status = 200;
  round(f.io, *source, kT0 + 30'000);  // within the second: not asked
  CHECK(f.api.requests().size() == count);
  CHECK(source->degraded(f.queue.name).find("rate limited") != std::string::npos);

  std::this_thread::sleep_for(1100ms);
  round(f.io, *source, kT0 + 45'000);
  CHECK(f.api.requests().size() == count + 1);
  CHECK(f.api.requests().back().start_ms == kT0 + 15'000);
  CHECK(source->degraded(f.queue.name).empty());
}

TEST_CASE("an answer with warnings is partial: not fed, the rules unjudged with the warning, asked again") {
  Fixture f;
  auto source = f.source();
  round(f.io, *source, kT0);
  f.api.warnings = {"store 10.0.0.7:10901 did not answer"};
  round(f.io, *source, kT0 + 15'000);
  const std::string why = source->degraded(f.queue.name);
  CHECK(why.find("partial answer") != std::string::npos);
  CHECK(why.find("10.0.0.7") != std::string::npos);
  CHECK(source->store().lastScrapeMs(0) == kT0);

  f.api.warnings.clear();
  round(f.io, *source, kT0 + 30'000);
  CHECK(source->degraded(f.queue.name).empty());
  CHECK(f.api.requests().back().start_ms == kT0 + 15'000);
  CHECK(source->store().lastScrapeMs(0) == kT0 + 30'000);
}

TEST_CASE("a source that does not answer within its timeout leaves the rules unjudged, saying so") {
  boost::asio::io_context io;
  test::SilentListener silent;
  auto queue = rule(kQueueRule);
  auto detector = detectors::makeDetector(queue);
  ingest::QuerySource source(io, sourceConfig(silent.address(), "timeout = \"1s\""), {}, nullptr);
  source.setReaders({incidents::sourceReader(detector->rule(), detector->history())});
  const auto start = std::chrono::steady_clock::now();
  round(io, source, kT0);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  CHECK(source.degraded(queue.name).find("timed out") != std::string::npos);
}

TEST_CASE("shards split a source's endpoints: three daemons judge every endpoint once") {
  Fixture f;
  f.api.routes = 30;
  std::set<std::string> all;
  std::size_t total = 0;
  for (const char* shard : {"0/3", "1/3", "2/3"}) {
    auto source = f.source(fmt::format("shard = \"{}\"", shard));
    round(f.io, *source, kT0);
    round(f.io, *source, kT0 + 30'000);
    const auto findings = f.detector->evaluate(source->store(), kT0 + 30'000, 15s);
    CHECK_MESSAGE(findings.size() > 2, shard);  // a fair share, not everything in one shard
    CHECK_MESSAGE(findings.size() < 20, shard);
    for (const auto& finding : findings) all.insert(finding.endpoint.get().front().second);
    total += findings.size();
  }
  CHECK(all.size() == 30);
  CHECK(total == 30);
}

TEST_CASE("a source's credentials and headers are sent; a rotated token file is read again") {
  Fixture f;
  test::TempDir dir;
  const auto token = dir.write("token", "first-token\n");
  auto source = f.source(
      fmt::format("bearer_token_file = \"{}\"\nheaders = {{ \"X-Scope-OrgID\" = \"team-shop\" }}", token.string()));
  round(f.io, *source, kT0);
  CHECK(f.api.requests().back().authorization == "Bearer first-token");
  CHECK(f.api.requests().back().org == "team-shop");
  dir.write("token", "second-token\n");
  round(f.io, *source, kT0 + 15'000);
  CHECK(f.api.requests().back().authorization == "Bearer second-token");

  auto basic = f.source("basic_auth_username = \"hotspotd\"\nbasic_auth_password = \"pw\"");
  round(f.io, *basic, kT0);
  CHECK(f.api.requests().back().authorization == "Basic aG90c3BvdGQ6cHc=");
}

TEST_CASE("an incident judged on a source does not resolve while the source fails, and resolves once it answers") {
  boost::asio::io_context io;
  FakeQueryApi api;
  double depth = 100;
  api.value = [&](std::int64_t, int) { return depth; };
  prometheus::Registry registry;
  store::SeriesStore scraped(store::StoreConfig{});
  incidents::Engine runner(io, realClock(), scraped, registry, nullptr);
  runner.setSources({sourceConfig(api.address)}, store::StoreConfig{});
  runner.apply({rule(kQueueRule)}, hourly());
  auto tick = [&](std::int64_t t) {
    runner.tick(t);
    for (int i = 0; i < 200 && runner.source("api")->busy(); ++i) {
      io.restart();
      io.run_for(50ms);
    }
    REQUIRE_FALSE(runner.source("api")->busy());
  };
  tick(kT0);
  tick(kT0 + 15'000);
  REQUIRE(runner.tracker().firingCount() == 1);

  // The source fails for two minutes, longer than keep_firing_for: nothing is judged, so nothing resolves.
  api.status = 500;
  for (std::int64_t t = kT0 + 30'000; t <= kT0 + 150'000; t += 15'000) tick(t);
  CHECK(runner.tracker().firingCount() == 1);
  CHECK(runner.degraded("QueueDeep").find("HTTP 500") != std::string::npos);
  const auto text = [&] {
    std::string out;
    for (const auto& family : registry.Collect()) {
      for (const auto& m : family.metric) {
        std::string labels;
        for (const auto& l : m.label) labels += l.name + "=" + l.value + ",";
        out += family.name + "{" + labels + "} " +
               std::to_string(family.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value) + "\n";
      }
    }
    return out;
  }();
  CHECK(text.find("hotspotd_source_degraded{source=api,} 1.0") != std::string::npos);
  CHECK(text.find("hotspotd_source_queries_total{result=unavailable,source=api,} 9.0") != std::string::npos);

  // It answers again, with the queue drained: the missed steps are fetched, and the incident resolves after
  // keep_firing_for of judged, clear data.
  api.status = 200;
  depth = 0;
  tick(kT0 + 165'000);
  CHECK(runner.degraded("QueueDeep").empty());
  CHECK(api.requests().back().start_ms == kT0 + 30'000);
  tick(kT0 + 180'000);
  tick(kT0 + 195'000);
  tick(kT0 + 210'000);
  CHECK(runner.tracker().firingCount() == 0);
}

TEST_CASE("a reload keeps an unchanged source with what it fetched, and starts a changed one afresh") {
  boost::asio::io_context io;
  FakeQueryApi api;
  prometheus::Registry registry;
  store::SeriesStore scraped(store::StoreConfig{});
  incidents::Engine runner(io, realClock(), scraped, registry, nullptr);
  auto tick = [&](std::int64_t t) {
    runner.tick(t);
    for (int i = 0; i < 200 && runner.source("api")->busy(); ++i) {
      io.restart();
      io.run_for(50ms);
    }
  };
  runner.setSources({sourceConfig(api.address)}, store::StoreConfig{});
  runner.apply({rule(kQueueRule)}, hourly());
  tick(kT0);
  const ingest::QuerySource* before = runner.source("api");

  runner.setSources({sourceConfig(api.address)}, store::StoreConfig{});
  runner.apply({rule(kQueueRule)}, hourly());
  CHECK(runner.source("api") == before);
  tick(kT0 + 15'000);
  CHECK(api.requests().back().start_ms == kT0 + 15'000);  // only the new step

  runner.setSources({sourceConfig(api.address, "timeout = \"5s\"")}, store::StoreConfig{});
  runner.apply({rule(kQueueRule)}, hourly());
  tick(kT0 + 30'000);
  CHECK(api.requests().back().start_ms < kT0);  // a first round again
  CHECK(runner.degraded("QueueDeep").empty());
}

TEST_CASE("query_offset: the newest step asked for lags behind now, and the round says which step it reached") {
  Fixture f;
  auto source = f.source("query_offset = \"45s\"");
  const auto first = round(f.io, *source, kT0 + 10'000);
  CHECK(first.end_ms == kT0 - 45'000);
  CHECK(f.api.requests().back().end_ms == kT0 - 45'000);
  const auto next = round(f.io, *source, kT0 + 25'000);
  CHECK(next.end_ms == kT0 - 30'000);
  CHECK(f.api.requests().back().start_ms == kT0 - 30'000);
  CHECK(f.api.requests().back().end_ms == kT0 - 30'000);
}

TEST_CASE("the hotspot ranking holds a query source's histograms beside the scraped ones") {
  boost::asio::io_context io;
  FakeQueryApi api;
  // Two routes of lat_seconds: /slow takes 9 times the server time of /fast.
  api.result_for = [](const std::string& query, std::int64_t start, std::int64_t end, std::int64_t step) {
    nlohmann::json result = nlohmann::json::array();
    if (query.find("lat_seconds") == std::string::npos) return result;
    for (const auto& route_mean : {std::pair<std::string, double>{"/fast", 0.01}, {"/slow", 0.09}}) {
      const std::string& route = route_mean.first;  // not a structured binding: clang 14 cannot capture those
      const double mean = route_mean.second;
      auto series = [&](const std::string& name, const std::string& le, double per_step) {
        nlohmann::json metric = {{"__name__", name}, {"route", route}, {"job", "shop"}};
        if (!le.empty()) metric["le"] = le;
        nlohmann::json values = nlohmann::json::array();
        for (std::int64_t t = start; t <= end; t += step) {
          values.push_back({static_cast<double>(t) / 1000.0, fmt::format("{}", per_step * ((t - kT0) / step + 1000))});
        }
        result.push_back({{"metric", metric}, {"values", values}});
      };
      series("lat_seconds_bucket", "0.1", 100);
      series("lat_seconds_bucket", "+Inf", 100);
      series("lat_seconds_count", "", 100);
      series("lat_seconds_sum", "", 100 * mean);
    }
    return result;
  };
  prometheus::Registry registry;
  store::SeriesStore scraped(store::StoreConfig{});
  incidents::Engine runner(io, realClock(), scraped, registry, nullptr);
  runner.setSources({sourceConfig(api.address)}, store::StoreConfig{});
  runner.apply({rule(R"([[rules]]
name = "Drift"
kind = "latency_drift"
histogram = "lat_seconds"
by = ["route"]
baseline = "2m"
source = "api"
)")},
               hourly());
  for (std::int64_t t = kT0; t <= kT0 + 60'000; t += 15'000) {
    runner.tick(t);
    for (int i = 0; i < 200 && runner.source("api")->busy(); ++i) {
      io.restart();
      io.run_for(50ms);
    }
  }
  const auto table = runner.hotspots().load();
  REQUIRE(table->hotspots.size() == 2);
  CHECK(table->hotspots[0].histogram == "lat_seconds");
  CHECK(table->hotspots[0].endpoint == rules::OwnedLabels{{"job", "shop"}, {"route", "/slow"}});
  CHECK(table->hotspots[0].share == doctest::Approx(0.9));
  CHECK(table->hotspots[0].request_rate == doctest::Approx(100.0 / 15));
  CHECK(table->hotspots[1].endpoint == rules::OwnedLabels{{"job", "shop"}, {"route", "/fast"}});
}
