// threshold through the detector the daemon runs: the endpoints follow the store's series from one evaluation to
// the next (a new series is judged at the next evaluation, a dropped one no more), whether the selector names its
// metric (the store's name index) or not (every series).
#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include <fmt/format.h>

#include "detectors/detector.h"
#include "rules/rule_loader.h"

using namespace hotspotd;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;
constexpr std::int64_t kStep = 15'000;

std::unique_ptr<detectors::Detector> queueRule(std::string_view selector) {
  auto r = rules::parseRules(fmt::format(R"(
[[rules]]
name = "QueueDeep"
kind = "threshold"
gauge = '{}'
above = 100
window = "1m"
)",
                                         selector),
                             "t.toml");
  REQUIRE_MESSAGE(r, r.error().message);
  return detectors::makeDetector(r->front());
}

// Active or not, by the first label (queue, route), of the findings judged.
std::map<std::string, bool> judged(const std::vector<rules::Finding>& findings) {
  std::map<std::string, bool> out;
  for (const auto& f : findings) {
    if (f.judged) out[f.endpoint.get().front().second] = f.active;
  }
  return out;
}

}  // namespace

TEST_CASE("threshold: a series that appears is judged at the next evaluation, one that goes is not") {
  for (const char* selector : {"queue_depth", R"({__name__=~"queue_de.*"})"}) {
    CAPTURE(selector);
    auto detector = queueRule(selector);
    store::SeriesStore store;
    const auto g = store.addGroup("svc");
    auto gauge = [&](std::string_view name, std::string_view queue) {
      return store.resolve(g, {name, {{"queue", queue}}, store::SeriesRole::gauge, {}, 0});
    };
    const auto a = gauge("queue_depth", "a");
    const auto other = gauge("queue_size", "z");  // another name: never this rule's
    std::int64_t t = kT0;
    for (int i = 0; i < 8; ++i, t += kStep) store.commit(g, t, std::vector<store::StagedSample>{{a, 5}, {other, 500}});
    CHECK(judged(detector->evaluate(store, t - kStep, 15s)) == std::map<std::string, bool>{{"a", false}});

    const auto b = gauge("queue_depth", "b");
    for (int i = 0; i < 8; ++i, t += kStep) {
      store.commit(g, t, std::vector<store::StagedSample>{{a, 5}, {b, 250}, {other, 500}});
    }
    CHECK(judged(detector->evaluate(store, t - kStep, 15s)) == std::map<std::string, bool>{{"a", false}, {"b", true}});

    // a stops being exported: once the store drops it (staleness), it is no endpoint of the rule.
    for (int i = 0; i < 30; ++i, t += kStep) {
      store.commit(g, t, std::vector<store::StagedSample>{{b, 250}, {other, 500}});
    }
    REQUIRE_FALSE(store.valid(a));
    CHECK(judged(detector->evaluate(store, t - kStep, 15s)) == std::map<std::string, bool>{{"b", true}});
  }
}

TEST_CASE("latency_threshold: a histogram that appears after the first evaluations is judged") {
  auto r = rules::parseRules(R"(
[[rules]]
name = "Slow"
kind = "latency_threshold"
histogram = 'lat_seconds'
quantile = 0.9
above = "500ms"
window = "1m"
)",
                             "t.toml");
  REQUIRE_MESSAGE(r, r.error().message);
  auto detector = detectors::makeDetector(r->front());
  store::SeriesStore store;
  const auto g = store.addGroup("svc");
  auto histogram = [&](std::string_view route) {
    std::vector<store::SeriesRef> refs;
    for (const auto& [le, bound] : {std::pair{"0.1", 0.1}, {"1", 1.0}, {"+Inf", INFINITY}}) {
      refs.push_back(store.resolve(
          g, {"lat_seconds_bucket", {{"route", route}, {"le", le}}, store::SeriesRole::bucket, "lat_seconds", bound}));
    }
    return refs;
  };
  const auto fast = histogram("/fast");
  std::vector<store::SeriesRef> slow;
  std::int64_t t = kT0;
  double n = 0;
  for (int i = 0; i < 20; ++i, t += kStep) {
    n += 100;
    std::vector<store::StagedSample> batch{{fast[0], n}, {fast[1], n}, {fast[2], n}};
    if (i == 8) slow = histogram("/slow");  // after the first evaluations
    if (!slow.empty()) {
      // 10% under 0.1 s, the rest between 1 s and +Inf: its p90 is far above 0.5 s.
      batch.insert(batch.end(), {{slow[0], n / 10}, {slow[1], n / 10}, {slow[2], n}});
    }
    store.commit(g, t, batch);
    const auto findings = judged(detector->evaluate(store, t, 15s));
    if (i < 8) CHECK_FALSE(findings.contains("/slow"));
    if (i == 19) CHECK(findings == std::map<std::string, bool>{{"/fast", false}, {"/slow", true}});
  }
}
