// The engine across a reload: a rule whose definition did not change keeps its detector and what it
// learned (a drift baseline frozen while its incident fires); a changed rule starts afresh.
#include <doctest/doctest.h>

#include <cmath>

#include "incidents/engine.h"
#include "rules/rule_loader.h"

using namespace hotspotd;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;
constexpr std::int64_t kStep = 15'000;

rules::Rule driftRule(std::string_view extra) {
  auto r = rules::parseRules(std::string("[[rules]]\nname = \"Drift\"\nkind = \"latency_drift\"\nhistogram = "
                                         "\"lat_seconds\"\nfor = \"0s\"\nkeep_firing_for = \"1m\"\n") +
                                 std::string(extra),
                             "rules.toml");
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  return r->front();
}

// One endpoint with deterministic traffic: 200 requests a scrape; normally 0.5% above 0.25 s, drifting 10%.
struct Service {
  store::SeriesStore store{[] {
    store::StoreConfig c;
    c.retention = 3h;
    return c;
  }()};
  store::GroupId group = store.addGroup("svc");
  std::vector<double> bounds{0.1, 0.25, 0.5, 1, INFINITY};
  std::vector<store::SeriesRef> refs;
  std::vector<double> counts = std::vector<double>(5, 0);

  Service() {
    const char* les[] = {"0.1", "0.25", "0.5", "1", "+Inf"};
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      refs.push_back(store.resolve(group, {"lat_seconds_bucket", {{"route", "/a"}, {"le", les[i]}},
                                           store::SeriesRole::bucket, "lat_seconds", bounds[i]}));
    }
  }
  void scrape(std::int64_t t, bool drifting) {
    const double slow = drifting ? 20 : 1;  // of 200
    const double per_bucket[] = {150, 49 - (slow - 1), 0, slow, 0};
    double cumulative = 0;
    std::vector<store::StagedSample> batch;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      cumulative += per_bucket[i];
      counts[i] += cumulative;
      batch.push_back({refs[i], counts[i]});
    }
    store.commit(group, t, batch);
  }
};

incidents::EngineOptions options() {
  incidents::EngineOptions o;
  o.interval = std::chrono::milliseconds(kStep);
  return o;
}

// Runs `scrapes` scrapes from scrape number `from`, evaluating after each; returns the transitions.
std::vector<rules::IncidentEvent> play(incidents::Engine& runner, Service& svc, int from, int scrapes, bool drifting) {
  std::vector<rules::IncidentEvent> all;
  for (int i = from; i < from + scrapes; ++i) {
    const std::int64_t t = kT0 + i * kStep;
    svc.scrape(t, drifting);
    for (auto& e : runner.evaluate(t)) all.push_back(std::move(e));
  }
  return all;
}

}  // namespace

TEST_CASE("a reload keeps an unchanged rule's frozen baseline; a changed rule relearns from the store") {
  for (const bool change : {false, true}) {
    CAPTURE(change);
    boost::asio::io_context io;
    prometheus::Registry registry;
    Service svc;
    SimClock clock(kT0);
    incidents::Engine runner(io, clock, svc.store, registry, nullptr);
    runner.apply({driftRule("")}, options());
    CHECK(play(runner, svc, 0, 260, false).empty());
    auto fired = play(runner, svc, 260, 300, true);  // 75 minutes of drift
    REQUIRE(fired.size() == 1);
    CHECK(fired[0].state == rules::IncidentEvent::State::firing);

    // Reload: the same rule, or the same rule with another sensitivity. The unchanged rule still judges against
    // the baseline frozen when the drift began, and the incident goes on; a changed rule's fresh detector takes
    // the last hour (all of it drift) as its baseline, and the incident resolves.
    runner.apply({driftRule(change ? "sensitivity = 3.0\n" : "")}, options());
    const auto later = play(runner, svc, 560, 120, true);
    const bool resolved = std::any_of(later.begin(), later.end(), [](const auto& e) {
      return e.state == rules::IncidentEvent::State::resolved;
    });
    CHECK(resolved == change);
    CHECK(std::none_of(later.begin(), later.end(),
                       [](const auto& e) { return e.state == rules::IncidentEvent::State::firing; }));
  }
}
