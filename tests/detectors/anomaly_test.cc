// anomaly on USE-style signals: a level shift fires, a one-scrape spike and normal noise do not; evidence under
// the sensitivity adds up when it lasts and not when it comes and goes; an episode is one incident through a dip
// and a lasting shift becomes normal; quantised and idle series do not page on their steps;
// nothing is judged while learning; what was learned survives a restart; a counter's rate collapse fires downwards;
// the daily peak is normal at its hour and not at night, without saying which seasonality to expect.
#include <doctest/doctest.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <random>

#include "detectors/anomaly.h"
#include "detectors/detector.h"
#include "incidents/tracker.h"
#include "rules/rule_loader.h"

using namespace hotspotd;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;
constexpr std::int64_t kStep = 15'000;
constexpr int kPerHour = 240;
constexpr int kPerMinute = 4;

rules::Rule rule(std::string_view body) {
  auto r = rules::parseRules(std::string("[[rules]]\nname = \"Anomaly\"\nkind = \"anomaly\"\n") + std::string(body),
                             "a.toml");
  REQUIRE_MESSAGE(r, r.error().message);
  return r->front();
}

struct Signal {
  explicit Signal(rules::Rule r, std::int64_t step = kStep) : detector_rule(std::move(r)), step_ms(step) {
    store::StoreConfig c;
    c.retention = 1h;
    store = std::make_unique<store::SeriesStore>(c);
    group = store->addGroup("host");
  }
  rules::Rule detector_rule;
  std::int64_t step_ms;
  std::unique_ptr<store::SeriesStore> store;
  store::GroupId group;
  std::optional<store::SeriesRef> ref;
  incidents::IncidentTracker tracker;
  std::vector<rules::IncidentEvent> events;
  detectors::AnomalyMemory memory;

  void run(int from, int steps, const std::function<double(int)>& value, bool counter = false) {
    if (!ref) {
      ref = store->resolve(group, {counter ? "requests_total" : "cpu_busy_percent",
                                   {{"instance", "db-1"}},
                                   counter ? store::SeriesRole::counter : store::SeriesRole::gauge,
                                   {},
                                   0});
    }
    for (int i = from; i < from + steps; ++i) {
      const std::int64_t t = kT0 + i * step_ms;
      store->commit(group, t, std::vector<store::StagedSample>{{*ref, value(i)}});
      tracker.observe(detector_rule, t,
                      detectors::evaluateAnomaly(detector_rule, *store, t, std::chrono::milliseconds(step_ms), memory),
                      events);
    }
  }
  bool fired() const { return !events.empty() && events.front().state == rules::IncidentEvent::State::firing; }
  int count(rules::IncidentEvent::State state) const {
    return static_cast<int>(
        std::count_if(events.begin(), events.end(), [&](const auto& e) { return e.state == state; }));
  }
};

}  // namespace

TEST_CASE("a level shift of a noisy gauge fires; noise and a one-scrape spike do not") {
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(40, 3);
  Signal s(rule("gauge = 'cpu_busy_percent'\ndirection = \"up\"\nfor = \"2m\"\n"));
  s.run(0, 8 * kPerHour, [&](int i) { return i == 7 * kPerHour ? 95.0 : noise(rng); });
  CHECK_FALSE(s.fired());
  const int shift = 8 * kPerHour;
  s.run(shift, 20 * kPerMinute, [&](int) { return noise(rng) + 40; });
  REQUIRE(s.fired());
  // Two five-minute windows to open the episode, then the rule's `for`.
  CHECK(s.events.front().t_ms - (kT0 + shift * kStep) <= 15 * 60'000);
  CHECK(s.events.front().labels == rules::OwnedLabels{{"instance", "db-1"}});
  CHECK(s.events.front().reason.find("expected") != std::string::npos);
}

TEST_CASE("evidence adds up: a rise under the sensitivity that lasts opens an episode, one that comes and goes not") {
  // A gauge that swings slowly (a two-hour wave of 2 around 40): its errors run in long stretches, so the mean of
  // the last six values strays as far as one value does and the six-value score adds nothing.
  constexpr double kPi = 3.141592653589793;
  auto wave = [](int i) { return 40 + 2 * std::sin(2 * kPi * i / (2.0 * kPerHour)); };
  const int rise = 8 * kPerHour;
  const int kWindow = 5 * kPerMinute;
  // Four typical errors up, one window after another: no value reaches the sensitivity (5).
  Signal lasting(rule("gauge = 'cpu_busy_percent'\nfor = \"0s\"\n"));
  lasting.run(0, rise, wave);
  REQUIRE(lasting.events.empty());
  // Windows end on whole five minutes: after ten minutes, the last one judged is all risen.
  lasting.run(rise, 2 * kWindow, [&](int i) { return wave(i) + 8; });
  const auto first =
      detectors::evaluateAnomaly(lasting.detector_rule, *lasting.store, kT0 + (rise + 2 * kWindow - 1) * kStep,
                                 std::chrono::milliseconds(kStep), lasting.memory);
  REQUIRE(first.size() == 1);
  CHECK(first[0].judged);
  CHECK_FALSE(first[0].active);
  CHECK(std::fabs(first[0].score) < 5);
  CHECK_MESSAGE(first[0].reason.find("that opens an episode has added up") != std::string::npos, first[0].reason);
  lasting.run(rise + 2 * kWindow, 40 * kPerMinute, [&](int i) { return wave(i) + 8; });
  REQUIRE(lasting.fired());
  CHECK(lasting.events.front().t_ms - (kT0 + rise * kStep) <= 30 * 60'000);

  // The same rise every other window: what one window adds, the next takes away.
  Signal flicker(rule("gauge = 'cpu_busy_percent'\nfor = \"0s\"\n"));
  flicker.run(0, rise + 2 * kPerHour, [&](int i) { return wave(i) + (i >= rise && (i / kWindow) % 2 == 0 ? 8 : 0); });
  CHECK(flicker.events.empty());
}

TEST_CASE("an episode is one incident through a dip, and a shift that lasts becomes the new normal") {
  std::mt19937 rng(5);
  std::normal_distribution<double> noise(40, 3);
  Signal s(rule("gauge = 'cpu_busy_percent'\nfor = \"1m\"\nkeep_firing_for = \"1m\"\n"));
  s.run(0, 8 * kPerHour, [&](int) { return noise(rng); });
  REQUIRE(s.events.empty());
  // The level doubles, falls back for ten minutes, then stays doubled for a day.
  const int shift = 8 * kPerHour;
  s.run(shift, 30 * kPerMinute, [&](int) { return noise(rng) + 40; });
  s.run(shift + 30 * kPerMinute, 10 * kPerMinute, [&](int) { return noise(rng); });
  s.run(shift + 40 * kPerMinute, 24 * kPerHour, [&](int) { return noise(rng) + 40; });
  CHECK(s.count(rules::IncidentEvent::State::firing) == 1);
  // Judged against the recent median, the new level is normal once it fills half the six-hour look-back.
  REQUIRE(s.count(rules::IncidentEvent::State::resolved) == 1);
  const std::int64_t lasted = s.events.back().t_ms - s.events.front().t_ms;
  CHECK(lasted >= 2 * 3600'000);
  CHECK(lasted <= 5 * 3600'000);
}

TEST_CASE("a quantised gauge does not page on one step of its resolution, nor a counter idling at zero on a request") {
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> pick(0, 199);
  // CPU in 0.1% steps, flat at 2.0% but for an occasional step up.
  Signal cpu(rule("gauge = 'cpu_busy_percent'\nfor = \"0s\"\n"));
  cpu.run(0, 30 * kPerHour, [&](int i) { return (i / 40) % 9 == 0 || pick(rng) == 0 ? 2.1 : 2.0; });
  CHECK(cpu.events.empty());
  // A job's counter: nothing for hours, then now and then one request.
  double total = 0;
  Signal idle(rule("counter = 'requests_total'\nfor = \"0s\"\n"));
  idle.run(
      0, 30 * kPerHour,
      [&](int) {
        if (pick(rng) < 2) total += 1;
        return total;
      },
      true);
  CHECK(idle.events.empty());
}

TEST_CASE("values a float cannot hold (NaN, infinities, 1e300) are left out, not judged") {
  std::mt19937 rng(13);
  std::normal_distribution<double> noise(40, 3);
  Signal s(rule("gauge = 'cpu_busy_percent'\nfor = \"0s\"\n"));
  s.run(0, 8 * kPerHour, [&](int i) {
    switch (i % 97) {
      case 0: return std::numeric_limits<double>::quiet_NaN();
      case 1: return std::numeric_limits<double>::infinity();
      case 2: return 1e300;
      default: return noise(rng);
    }
  });
  CHECK(s.events.empty());
  const auto& track = s.memory.begin()->second;
  CHECK(track.history.size() > 50);
  for (const auto& sample : track.history) CHECK(std::isfinite(sample.value));
  CHECK_FALSE(
      detectors::restoreAnomalyTrack(s.detector_rule.anomaly, nlohmann::json{{"t", {1, 2}}, {"v", {1, 1e300}}}));
}

TEST_CASE("nothing is judged while the detector learns") {
  Signal s(rule("gauge = 'cpu_busy_percent'\nwarmup = \"1h\"\nfor = \"0s\"\n"));
  s.run(0, kPerHour - 20, [&](int i) { return i < 100 ? 10.0 : 90.0; });
  CHECK_FALSE(s.fired());
  const auto f = detectors::evaluateAnomaly(s.detector_rule, *s.store, kT0 + (kPerHour - 21) * kStep,
                                            std::chrono::milliseconds(kStep), s.memory);
  REQUIRE(f.size() == 1);
  CHECK_FALSE(f[0].judged);
  CHECK(f[0].reason.find("warming up") != std::string::npos);
}

TEST_CASE("after a restart, what was learned before it judges the endpoint at once") {
  std::mt19937 rng(11);
  std::normal_distribution<double> noise(40, 3);
  const char* text = "gauge = 'cpu_busy_percent'\ndirection = \"up\"\nfor = \"1m\"\nwarmup = \"1h\"\n";
  Signal before(rule(text));
  before.run(0, 8 * kPerHour, [&](int) { return noise(rng); });
  CHECK_FALSE(before.fired());
  // What the detector saves, and what a restarted one takes back.
  auto saved = detectors::makeDetector(before.detector_rule);
  std::vector<std::pair<std::string, nlohmann::json>> states;
  for (const auto& [key, track] : before.memory) states.emplace_back(key, detectors::saveAnomalyTrack(track));
  REQUIRE(states.size() == 1);
  saved->restoreState(states);
  REQUIRE(saved->saveState().size() == 1);
  CHECK(saved->saveState().front().second == states.front().second);

  // The daemon restarts 10 minutes later with an empty store, and the level has doubled.
  Signal after(rule(text));
  const auto restored = detectors::restoreAnomalyTrack(after.detector_rule.anomaly, states.front().second);
  REQUIRE(restored);
  after.memory[states.front().first] = *restored;
  const int restart = 8 * kPerHour + 40;
  after.run(restart, 20 * kPerMinute, [&](int) { return noise(rng) + 40; });
  CHECK(after.fired());

  // Without what was learned, the same data is only warming up.
  Signal fresh(rule(text));
  std::mt19937 rng2(11);
  fresh.run(restart, 20 * kPerMinute, [&](int) { return noise(rng2) + 40; });
  CHECK_FALSE(fresh.fired());

  // A saved history that is not one (a damaged state) is refused, not half taken.
  CHECK_FALSE(detectors::restoreAnomalyTrack(after.detector_rule.anomaly, nlohmann::json{{"t", {1, 2}}, {"v", {1}}}));
  CHECK_FALSE(detectors::restoreAnomalyTrack(after.detector_rule.anomaly, nlohmann::json{{"level", 3}}));
  CHECK_FALSE(detectors::restoreAnomalyTrack(after.detector_rule.anomaly,
                                             nlohmann::json{{"t", {1, INT64_MAX}}, {"v", {1, 2}}}));
  CHECK_FALSE(
      detectors::restoreAnomalyTrack(after.detector_rule.anomaly, nlohmann::json{{"t", {5, -1}}, {"v", {1, 2}}}));
  // The evidence towards an episode comes back with the history; evidence that cannot be (below zero) is dropped.
  nlohmann::json rising = states.front().second;
  rising["evidence"] = {3.5, 0};
  rising["beyond_half"] = {1, 0};
  const auto kept = detectors::restoreAnomalyTrack(after.detector_rule.anomaly, rising);
  REQUIRE(kept);
  CHECK(kept->evidence[0] == 3.5);
  CHECK(kept->beyond_half[0] == 1);
  rising["evidence"] = {-3.5, 0};
  const auto dropped = detectors::restoreAnomalyTrack(after.detector_rule.anomaly, rising);
  REQUIRE(dropped);
  CHECK(dropped->evidence[0] == 0);
  CHECK(dropped->beyond_half[0] == 0);
}

TEST_CASE("a counter's rate collapsing fires downwards, and not upwards") {
  std::mt19937 rng(3);
  std::poisson_distribution<int> requests(1500);
  double total = 0;
  const int collapse = 8 * kPerHour;
  Signal down(rule("counter = 'requests_total'\ndirection = \"down\"\nfor = \"1m\"\n"));
  down.run(
      0, collapse + 20 * kPerMinute,
      [&](int i) {
        total += i < collapse ? requests(rng) : 30;
        return total;
      },
      true);
  CHECK(down.fired());
  total = 0;
  Signal up(rule("counter = 'requests_total'\ndirection = \"up\"\nfor = \"1m\"\n"));
  up.run(
      0, collapse + 20 * kPerMinute,
      [&](int i) {
        total += i < collapse ? requests(rng) : 30;
        return total;
      },
      true);
  CHECK_FALSE(up.fired());
}

TEST_CASE("the daily peak is normal at its hour and not at night, with seasonality left to auto") {
  constexpr std::int64_t kMinuteStep = 60'000;
  constexpr int kHour = 60;
  std::mt19937 rng(11);
  std::normal_distribution<double> noise(0, 2);
  auto daily = [&](int i) {
    const double hour = std::fmod(static_cast<double>(i) / kHour, 24.0);
    return (hour >= 12 && hour < 14 ? 80.0 : 20.0) + noise(rng);  // a two-hour peak every day at noon
  };
  const char* body = "gauge = 'cpu_busy_percent'\nfor = \"5m\"\n";
  // Four days: the first two peaks page while nothing predicts them, the later ones are expected.
  Signal s(rule(body), kMinuteStep);
  s.run(0, 3 * 24 * kHour, daily);
  const auto pages = s.events.size();
  s.run(3 * 24 * kHour, 15 * kHour, daily);
  CHECK(s.count(rules::IncidentEvent::State::firing) == s.count(rules::IncidentEvent::State::resolved));
  CHECK(s.events.size() == pages);
  // The same level at 3 a.m. on the fourth day: anomalous.
  Signal night(rule(body), kMinuteStep);
  night.run(0, 3 * 24 * kHour, daily);
  const auto before = night.events.size();
  night.run(3 * 24 * kHour, 4 * kHour,
            [&](int i) { return i >= 3 * 24 * kHour + 3 * kHour ? 80.0 + noise(rng) : daily(i); });
  REQUIRE(night.events.size() > before);
  CHECK(night.events[before].state == rules::IncidentEvent::State::firing);
  CHECK(night.events[before].reason.find("previous 7 days") != std::string::npos);
}
