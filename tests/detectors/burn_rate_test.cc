// burn_rate against the SRE workbook: a step error ratio e fires the 14.4x/1h page after
// (1 - objective) / e x 1h x 14.4, within one evaluation; low traffic never pages on one failed request; a
// fresh history does not judge windows it does not cover.
#include <doctest/doctest.h>

#include <cmath>
#include <set>

#include "detectors/burn_rate.h"
#include "incidents/tracker.h"
#include "rules/rule_loader.h"

using namespace hotspotd;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;
constexpr std::int64_t kStep = 15'000;

rules::Rule sloRule() {
  auto r = rules::parseRules(R"(
[[rules]]
name = "Availability"
kind = "burn_rate"
objective = 0.999
errors = 'http_requests_total{code=~"5.."}'
total = 'http_requests_total'
)",
                             "slo.toml");
  REQUIRE_MESSAGE(r, r.error().message);
  return r->front();
}

struct Service {
  store::SeriesStore store{[] {
    store::StoreConfig c;
    c.retention = 80h;
    return c;
  }()};
  store::GroupId group = store.addGroup("svc");
  store::SeriesRef ok = store.resolve(
      group, {"http_requests_total", {{"route", "/pay"}, {"code", "200"}}, store::SeriesRole::counter, {}, 0});
  store::SeriesRef err = store.resolve(
      group, {"http_requests_total", {{"route", "/pay"}, {"code", "500"}}, store::SeriesRole::counter, {}, 0});
  double good = 0, bad = 0;
  detectors::BurnRateDetector detector{sloRule()};
  incidents::IncidentTracker tracker;
  std::vector<rules::IncidentEvent> events;

  // `scrapes` intervals at `rps` requests a second with error ratio `e`, evaluating after each.
  void run(int from, int scrapes, double rps, double e) {
    for (int i = from; i < from + scrapes; ++i) {
      const double n = rps * kStep / 1000.0;
      bad += n * e;
      good += n * (1 - e);
      const std::int64_t t = kT0 + i * kStep;
      store.commit(group, t, std::vector<store::StagedSample>{{ok, good}, {err, bad}});
      tracker.observe(detector.rule(), t, detector.evaluate(store, t), events);
    }
  }

  std::optional<std::int64_t> firstFiring(std::string_view severity) const {
    for (const auto& e : events) {
      if (e.state == rules::IncidentEvent::State::firing && e.severity == severity) return e.t_ms;
    }
    return std::nullopt;
  }
};

}  // namespace

TEST_CASE("a step error ratio fires the 14.4x/1h page when the workbook says it should") {
  Service s;
  const int history = 7 * 240;  // seven clean hours: the 1h and 6h pairs are judged, the 1d and 3d ones not yet
  s.run(0, history, 100, 0);
  REQUIRE(s.events.empty());
  const double e = 0.05;
  s.run(history, 240, 100, e);
  const auto page = s.firstFiring("page");
  REQUIRE(page);
  const double expected = (1 - 0.999) / e * 3600 * 14.4;  // 1036.8 s
  // The errors of the first bad scrape happened during the interval before it: that is when the step began.
  const double actual = static_cast<double>(*page - (kT0 + (history - 1) * kStep)) / 1000.0;
  CHECK(actual >= expected);
  CHECK(actual <= expected + 15);        // within one evaluation interval
  CHECK_FALSE(s.firstFiring("ticket"));  // its windows are not covered yet
  const auto& ev = s.events.front();
  CHECK(ev.labels == rules::OwnedLabels{{"route", "/pay"}, {"severity", "page"}});
  // Back to clean: the short window clears and the page resolves.
  s.run(history + 240, 120, 100, 0);
  CHECK(s.events.back().state == rules::IncidentEvent::State::resolved);
}

TEST_CASE("errors counted by a series that first appears when they start page on time") {
  // Many services export a 5xx counter only once the first error happens: the detector has found its endpoints
  // before, and must see the new series.
  Service s;
  const int history = 7 * 240;
  s.run(0, history, 100, 0);
  REQUIRE(s.events.empty());
  const store::SeriesRef unavailable = s.store.resolve(
      s.group, {"http_requests_total", {{"route", "/pay"}, {"code", "503"}}, store::SeriesRole::counter, {}, 0});
  const double e = 0.05;
  double failed = 0;
  for (int i = history; i < history + 240; ++i) {
    const double n = 100 * kStep / 1000.0;
    failed += n * e;
    s.good += n * (1 - e);
    const std::int64_t t = kT0 + i * kStep;
    s.store.commit(s.group, t, std::vector<store::StagedSample>{{s.ok, s.good}, {s.err, s.bad}, {unavailable, failed}});
    s.tracker.observe(s.detector.rule(), t, s.detector.evaluate(s.store, t), s.events);
  }
  const auto page = s.firstFiring("page");
  REQUIRE(page);
  // As in Prometheus, a counter's first value is its starting point: the first interval's errors are not counted.
  // Once that point is older than the full-resolution tier (15 minutes), the series counts from its first point
  // in the coarse tier, up to a minute later: the page comes within that minute and one evaluation.
  const double expected = (1 - 0.999) / e * 3600 * 14.4 + 15;
  const double actual = static_cast<double>(*page - (kT0 + (history - 1) * kStep)) / 1000.0;
  CHECK(actual >= expected);
  CHECK(actual <= expected + 60 + 15);
  CHECK(s.events.front().labels == rules::OwnedLabels{{"route", "/pay"}, {"severity", "page"}});
}

TEST_CASE("an endpoint that appears after the first evaluations is judged, one that is gone is not") {
  Service s;
  s.run(0, 240, 100, 0);
  const store::GroupId other = s.store.addGroup("other");
  const store::SeriesRef ship = s.store.resolve(
      other, {"http_requests_total", {{"route", "/ship"}, {"code", "200"}}, store::SeriesRole::counter, {}, 0});
  auto routes = [&](std::int64_t t) {
    std::set<std::string> seen;
    for (const auto& f : s.detector.evaluate(s.store, t)) seen.insert(f.endpoint.get().front().second);
    return seen;
  };
  const std::int64_t t = kT0 + 240 * kStep;
  s.store.commit(other, t, std::vector<store::StagedSample>{{ship, 10}});
  CHECK(routes(t) == std::set<std::string>{"/pay", "/ship"});
  s.store.removeGroup(other);
  CHECK(routes(t) == std::set<std::string>{"/pay"});
}

TEST_CASE("an endpoint at a few requests an hour does not page on one failed request") {
  Service s;
  // 4 requests an hour for 8 hours; then one of them fails.
  for (int i = 0; i < 8 * 240; ++i) {
    const bool request = i % 60 == 0;
    const bool fails = i == 7 * 240;
    if (request && !fails) s.good += 1;
    if (fails) s.bad += 1;
    const std::int64_t t = kT0 + i * kStep;
    s.store.commit(s.group, t, std::vector<store::StagedSample>{{s.ok, s.good}, {s.err, s.bad}});
    s.tracker.observe(s.detector.rule(), t, s.detector.evaluate(s.store, t), s.events);
  }
  CHECK(s.events.empty());
  const auto f = s.detector.evaluate(s.store, kT0 + (8 * 240 - 1) * kStep);
  REQUIRE_FALSE(f.empty());
  for (const auto& finding : f) CHECK_FALSE(finding.judged);
}

TEST_CASE("a fresh history does not judge windows it does not cover") {
  Service s;
  s.run(0, 8, 100, 0.5);  // two minutes of a terrible error ratio, and nothing before
  CHECK(s.events.empty());
}

TEST_CASE("a latency SLI counts requests above the threshold bucket as bad") {
  auto r = rules::parseRules(R"(
[[rules]]
name = "LatencySLO"
kind = "burn_rate"
objective = 0.99
histogram = 'lat_seconds'
threshold = 0.5
windows = [{ long = "10m", short = "1m", factor = 10, severity = "page" }]
)",
                             "slo.toml");
  REQUIRE_MESSAGE(r, r.error().message);
  store::SeriesStore store;
  const auto g = store.addGroup("svc");
  auto bucket = [&](const char* le, double bound) {
    return store.resolve(
        g, {"lat_seconds_bucket", {{"route", "/a"}, {"le", le}}, store::SeriesRole::bucket, "lat_seconds", bound});
  };
  const auto half = bucket("0.5", 0.5), inf = bucket("+Inf", INFINITY);
  detectors::BurnRateDetector d(r->front());
  double under = 0, all = 0;
  std::vector<rules::Finding> last;
  for (int i = 0; i < 80; ++i) {
    all += 1500;
    under += i < 40 ? 1500 : 1200;  // from scrape 40 on, 20% of requests are slower than 0.5s
    const std::int64_t t = kT0 + i * kStep;
    store.commit(g, t, std::vector<store::StagedSample>{{half, under}, {inf, all}});
    last = d.evaluate(store, t);
  }
  REQUIRE(last.size() == 1);
  CHECK(last[0].judged);
  CHECK(last[0].active);  // 20% bad against a 1% budget: far past 10x over both windows
}
