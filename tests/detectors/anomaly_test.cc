// anomaly on USE-style signals: a level shift fires, a one-scrape spike and normal noise do not, nothing is judged
// during warm-up, a counter's rate collapse fires downwards, and with daily seasonality the usual daily peak is
// normal while the same level at night is not.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "detectors/anomaly.h"
#include "incidents/tracker.h"
#include "rules/rule_loader.h"

using namespace hotspotd;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;
constexpr std::int64_t kStep = 15'000;
constexpr int kPerHour = 240;

rules::Rule rule(std::string_view body) {
  auto r = rules::parseRules(std::string("[[rules]]\nname = \"Anomaly\"\nkind = \"anomaly\"\n") + std::string(body),
                             "a.toml");
  REQUIRE_MESSAGE(r, r.error().message);
  return r->front();
}

struct Signal {
  explicit Signal(rules::Rule r, Duration retention = 8h) : detector_rule(std::move(r)) {
    store::StoreConfig c;
    c.retention = retention;
    store = std::make_unique<store::SeriesStore>(c);
    group = store->addGroup("host");
  }
  rules::Rule detector_rule;
  std::unique_ptr<store::SeriesStore> store;
  store::GroupId group;
  std::optional<store::SeriesRef> ref;
  incidents::IncidentTracker tracker;
  std::vector<rules::IncidentEvent> events;
  detectors::AnomalyMemory memory;

  void run(int from, int steps, const std::function<double(int)>& value, bool counter = false, bool judge = true) {
    if (!ref) {
      ref = store->resolve(group, {counter ? "requests_total" : "cpu_busy_percent",
                                   {{"instance", "db-1"}},
                                   counter ? store::SeriesRole::counter : store::SeriesRole::gauge,
                                   {},
                                   0});
    }
    for (int i = from; i < from + steps; ++i) {
      const std::int64_t t = kT0 + i * kStep;
      store->commit(group, t, std::vector<store::StagedSample>{{*ref, value(i)}});
      if (judge) {
        tracker.observe(detector_rule, t,
                        detectors::evaluateAnomaly(detector_rule, *store, t, std::chrono::milliseconds(kStep), memory),
                        events);
      }
    }
  }
  bool fired() const { return !events.empty() && events.front().state == rules::IncidentEvent::State::firing; }
};

}  // namespace

TEST_CASE("a level shift of a noisy gauge fires; noise and a one-scrape spike do not") {
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(40, 3);
  Signal s(rule("gauge = 'cpu_busy_percent'\ndirection = \"up\"\nfor = \"2m\"\n"));
  s.run(0, 3 * kPerHour, [&](int i) { return i == 2 * kPerHour ? 95.0 : noise(rng); });
  CHECK_FALSE(s.fired());
  const int shift = 3 * kPerHour;
  s.run(shift, 40, [&](int) { return noise(rng) + 40; });
  REQUIRE(s.fired());
  CHECK(s.events.front().t_ms - (kT0 + shift * kStep) <= 8 * 60'000);
  CHECK(s.events.front().labels == rules::OwnedLabels{{"instance", "db-1"}});
}

TEST_CASE("nothing is judged during warm-up") {
  Signal s(rule("gauge = 'cpu_busy_percent'\nwarmup = \"1h\"\nfor = \"0s\"\n"));
  s.run(0, kPerHour - 20, [&](int i) { return i < 100 ? 10.0 : 90.0; });
  CHECK_FALSE(s.fired());
  const auto f = detectors::evaluateAnomaly(s.detector_rule, *s.store, kT0 + (kPerHour - 21) * kStep,
                                            std::chrono::milliseconds(kStep), s.memory);
  REQUIRE(f.size() == 1);
  CHECK_FALSE(f[0].judged);
  CHECK(f[0].reason.find("warming up") != std::string::npos);
}

TEST_CASE("after a restart, a baseline learned before it judges the endpoint while the store warms up") {
  std::mt19937 rng(11);
  std::normal_distribution<double> noise(40, 3);
  const char* text = "gauge = 'cpu_busy_percent'\ndirection = \"up\"\nfor = \"1m\"\nwarmup = \"1h\"\n";
  Signal before(rule(text));
  before.run(0, 2 * kPerHour, [&](int) { return noise(rng); });
  CHECK_FALSE(before.fired());
  REQUIRE(before.memory.size() == 1);

  // The daemon restarts 10 minutes later with an empty store, and the level has doubled.
  Signal after(rule(text));
  after.memory = before.memory;
  const int restart = 2 * kPerHour + 40;
  after.run(restart, 20, [&](int) { return noise(rng) + 40; });
  REQUIRE(after.fired());
  const auto& evidence = after.events.front().evidence;
  CHECK(std::find(evidence.begin(), evidence.end(), std::pair<std::string, double>{"baseline_restored", 1.0}) !=
        evidence.end());

  // Without what was learned, the same data is only warming up.
  Signal fresh(rule(text));
  std::mt19937 rng2(11);
  fresh.run(restart, 20, [&](int) { return noise(rng2) + 40; });
  CHECK_FALSE(fresh.fired());

  // A baseline older than the baseline window is not used.
  Signal stale(rule(text));
  stale.memory = before.memory;
  stale.run(restart + 7 * kPerHour, 20, [&](int) { return noise(rng) + 40; });
  CHECK_FALSE(stale.fired());
}

TEST_CASE("a counter's rate collapsing fires downwards, and not upwards") {
  std::mt19937 rng(3);
  std::poisson_distribution<int> requests(1500);
  double total = 0;
  Signal down(rule("counter = 'requests_total'\ndirection = \"down\"\nfor = \"1m\"\n"));
  down.run(
      0, 3 * kPerHour + 40,
      [&](int i) {
        total += i < 3 * kPerHour ? requests(rng) : 30;
        return total;
      },
      true);
  CHECK(down.fired());
  total = 0;
  Signal up(rule("counter = 'requests_total'\ndirection = \"up\"\nfor = \"1m\"\n"));
  up.run(
      0, 3 * kPerHour + 40,
      [&](int i) {
        total += i < 3 * kPerHour ? requests(rng) : 30;
        return total;
      },
      true);
  CHECK_FALSE(up.fired());
}

TEST_CASE("with daily seasonality the daily peak is normal at its hour and not at night") {
  std::mt19937 rng(11);
  std::normal_distribution<double> noise(0, 2);
  auto daily = [&](int i) {
    const double hour = std::fmod(static_cast<double>(i) / kPerHour, 24.0);
    return (hour >= 12 && hour < 14 ? 80.0 : 20.0) + noise(rng);  // a two-hour peak every day at noon
  };
  const char* body =
      "gauge = 'cpu_busy_percent'\nseasonality = \"daily\"\ndays = 2\nbaseline = \"1h\"\n"
      "warmup = \"2d\"\nfor = \"2m\"\n";
  Signal s(rule(body), 50h);
  // Two days of history without judging, then the third day's peak: normal.
  s.run(0, 48 * kPerHour, daily, false, false);
  s.run(48 * kPerHour, 14 * kPerHour, daily);
  CHECK_FALSE(s.fired());
  // The same level at 3 a.m. on the third day: anomalous.
  Signal night(rule(body), 50h);
  night.run(0, 48 * kPerHour, daily, false, false);
  night.run(48 * kPerHour, 3 * kPerHour + 40, [&](int i) { return i >= 51 * kPerHour ? 80.0 + noise(rng) : daily(i); });
  CHECK(night.fired());
}
