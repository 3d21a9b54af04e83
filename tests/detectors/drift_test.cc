// latency_drift on synthetic traffic with known truth: a real tail shift fires within minutes, and again when it
// comes back soon after or after the endpoint was away; a single bad interval, low traffic, a restart, a scrape gap
// and a bucket-layout change do not; the baselines kept for gone endpoints are bounded.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <random>

#include "detectors/drift.h"
#include "incidents/tracker.h"
#include "rules/rule_loader.h"

using namespace hotspotd;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;
constexpr std::int64_t kStep = 15'000;
const std::vector<double> kBounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, INFINITY};

// A service endpoint: requests per second and the probability of each bucket (non-cumulative).
struct Traffic {
  double rps = 50;
  double slow_share = 0;  // share of requests moved 5-10x slower
};

class Endpoint {
 public:
  Endpoint(store::SeriesStore& store, store::GroupId group, std::string route, std::vector<double> bounds = kBounds,
           std::string family = "http_request_duration_seconds")
      : store_(store),
        group_(group),
        route_(std::move(route)),
        family_(std::move(family)),
        bucket_name_(family_ + "_bucket"),
        bounds_(std::move(bounds)),
        counts_(bounds_.size()) {
    resolve();
  }

  // Also export _sum and _count, as real histograms do (the sum is not an integer).
  void withSumAndCount() {
    sum_ref_ = store_.resolve(
        group_, store::SeriesDesc{family_ + "_sum", {{"route", route_}}, store::SeriesRole::sum, family_, 0});
    count_ref_ = store_.resolve(
        group_, store::SeriesDesc{family_ + "_count", {{"route", route_}}, store::SeriesRole::count, family_, 0});
  }

  // Requests served at each scrape so far, newest last.
  const std::vector<int>& served() const { return served_; }

  // One scrape interval of traffic; returns the samples to commit.
  void scrape(std::mt19937& rng, const Traffic& t, std::vector<store::StagedSample>& batch) {
    std::poisson_distribution<int> requests(t.rps * kStep / 1000.0);
    const int n = requests(rng);
    served_.push_back(n);
    // Base latency: log-normal around 60 ms; slow requests take 5-10x longer.
    std::lognormal_distribution<double> latency(std::log(0.06), 0.5);
    std::uniform_real_distribution<double> factor(5, 10), coin(0, 1);
    for (int i = 0; i < n; ++i) {
      double l = latency(rng);
      if (coin(rng) < t.slow_share) l *= factor(rng);
      for (std::size_t b = 0; b < bounds_.size(); ++b) {
        if (l <= bounds_[b]) counts_[b] += 1;
      }
      sum_ += l;
    }
    for (std::size_t b = 0; b < bounds_.size(); ++b) batch.push_back({refs_[b], counts_[b]});
    if (sum_ref_) {
      batch.push_back({*sum_ref_, sum_});
      batch.push_back({*count_ref_, counts_.back()});
    }
  }

  void restart() {
    std::fill(counts_.begin(), counts_.end(), 0);
    sum_ = 0;
  }

  // Scraped again after the store dropped its series (absent past the staleness period): resolved anew.
  void reappear() { resolve(); }

 private:
  void resolve() {
    refs_.clear();
    les_.clear();
    for (double b : bounds_) {
      const std::string le = std::isinf(b) ? "+Inf" : std::to_string(b);
      les_.push_back(le);
    }
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
      refs_.push_back(store_.resolve(
          group_,
          store::SeriesDesc{
              bucket_name_, {{"route", route_}, {"le", les_[i]}}, store::SeriesRole::bucket, family_, bounds_[i]}));
    }
  }

  store::SeriesStore& store_;
  store::GroupId group_;
  std::string route_;
  std::string family_;
  std::string bucket_name_;
  std::vector<double> bounds_;
  std::vector<std::string> les_;
  std::vector<double> counts_;
  std::vector<store::SeriesRef> refs_;
  double sum_ = 0;
  std::optional<store::SeriesRef> sum_ref_, count_ref_;
  std::vector<int> served_;
};

struct Run {
  store::SeriesStore store{[] {
    store::StoreConfig c;
    c.retention = 2h;
    return c;
  }()};
  store::GroupId group = store.addGroup("svc");
  detectors::DriftDetector detector{rules::defaultRules().front()};
  incidents::IncidentTracker tracker;
  std::vector<rules::IncidentEvent> events;
  std::mt19937 rng{42};

  // Scrapes `scrapes` intervals starting at scrape number `from`, evaluating after each.
  void play(int from, int scrapes, const std::function<void(int, std::vector<store::StagedSample>&)>& traffic) {
    for (int i = from; i < from + scrapes; ++i) {
      std::vector<store::StagedSample> batch;
      traffic(i, batch);
      const std::int64_t t = kT0 + i * kStep;
      store.commit(group, t, batch);
      tracker.observe(detector.rule(), t, detector.evaluate(store, t, std::chrono::milliseconds(kStep)), events);
    }
  }

  std::optional<std::int64_t> firstFiring() const {
    for (const auto& e : events) {
      if (e.state == rules::IncidentEvent::State::firing) return e.t_ms;
    }
    return std::nullopt;
  }
};

constexpr int kHour = 240;  // scrapes

}  // namespace

TEST_CASE("a real tail shift (5% of requests 5-10x slower) fires within about two minutes, and resolves") {
  Run run;
  Endpoint api(run.store, run.group, "/api");
  run.play(0, kHour + 40, [&](int, auto& batch) { api.scrape(run.rng, {50, 0}, batch); });
  REQUIRE_FALSE(run.firstFiring());
  const int shift = kHour + 40;
  run.play(shift, 60, [&](int, auto& batch) { api.scrape(run.rng, {50, 0.05}, batch); });
  const auto fired = run.firstFiring();
  REQUIRE(fired);
  const double seconds = static_cast<double>(*fired - (kT0 + shift * kStep)) / 1000.0;
  CHECK(seconds <= 150);
  const auto& e = run.events.front();
  // The zero-config rule takes every *_seconds histogram: the family is part of the endpoint.
  CHECK(e.labels == rules::OwnedLabels{{"histogram", "http_request_duration_seconds"}, {"route", "/api"}});
  CHECK(e.value > e.threshold);
  // Back to normal: resolved after keep_firing_for.
  run.play(shift + 60, 60, [&](int, auto& batch) { api.scrape(run.rng, {50, 0}, batch); });
  REQUIRE(run.events.size() == 2);
  CHECK(run.events[1].state == rules::IncidentEvent::State::resolved);
  CHECK(run.events[1].id == run.events[0].id);
}

TEST_CASE("a regression that comes back soon after the first resolved pages again: the first is not its baseline") {
  Run run;
  Endpoint api(run.store, run.group, "/api");
  run.play(0, kHour + 40, [&](int, auto& batch) { api.scrape(run.rng, {50, 0}, batch); });
  REQUIRE_FALSE(run.firstFiring());
  // Thirty minutes of regression, twenty-five of normal traffic (the incident resolves), then the same again.
  const int first = kHour + 40, normal = first + 120, second = normal + 100;
  run.play(first, 120, [&](int, auto& batch) { api.scrape(run.rng, {50, 0.05}, batch); });
  run.play(normal, 100, [&](int, auto& batch) { api.scrape(run.rng, {50, 0}, batch); });
  REQUIRE(run.events.size() == 2);
  REQUIRE(run.events[1].state == rules::IncidentEvent::State::resolved);
  run.play(second, 60, [&](int, auto& batch) { api.scrape(run.rng, {50, 0.05}, batch); });
  REQUIRE(run.events.size() >= 3);
  CHECK(run.events[2].state == rules::IncidentEvent::State::firing);
  CHECK(static_cast<double>(run.events[2].t_ms - (kT0 + second * kStep)) / 1000.0 <= 150);
  // Judged against the hour before the first regression: the bound is where the p99 was then, as for the first page.
  auto bound = [](const rules::IncidentEvent& e) {
    const auto it =
        std::find_if(e.evidence.begin(), e.evidence.end(), [](const auto& kv) { return kv.first == "bound_seconds"; });
    return it == e.evidence.end() ? -1.0 : it->second;
  };
  CHECK(bound(run.events[0]) > 0);
  CHECK(bound(run.events[2]) == bound(run.events[0]));
}

TEST_CASE("an endpoint absent for twelve minutes keeps its baseline: a regression soon after it comes back pages") {
  Run run;
  Endpoint api(run.store, run.group, "/api");
  Endpoint other(run.store, run.group, "/other");
  run.play(0, kHour + 40, [&](int, auto& batch) {
    api.scrape(run.rng, {50, 0}, batch);
    other.scrape(run.rng, {50, 0}, batch);
  });
  // /api is not scraped for twelve minutes (the store drops its series after five), then comes back; ten minutes
  // later its tail regresses.
  const int away = kHour + 40, back = away + 48, regress = back + 40;
  run.play(away, 48, [&](int, auto& batch) { other.scrape(run.rng, {50, 0}, batch); });
  api.reappear();
  run.play(back, 40, [&](int, auto& batch) {
    api.scrape(run.rng, {50, 0}, batch);
    other.scrape(run.rng, {50, 0}, batch);
  });
  REQUIRE_FALSE(run.firstFiring());
  run.play(regress, 40, [&](int, auto& batch) {
    api.scrape(run.rng, {50, 0.05}, batch);
    other.scrape(run.rng, {50, 0}, batch);
  });
  const auto fired = run.firstFiring();
  REQUIRE(fired);
  CHECK(static_cast<double>(*fired - (kT0 + regress * kStep)) / 1000.0 <= 150);
  const auto& labels = run.events.front().labels;
  CHECK(std::find(labels.begin(), labels.end(), std::pair<std::string, std::string>{"route", "/api"}) != labels.end());
}

TEST_CASE("the baselines kept for endpoints that are gone are bounded: a churning label cannot grow the detector") {
  Run run;
  std::vector<std::unique_ptr<Endpoint>> churn;
  for (int i = 0; i < 1100; ++i) {
    churn.push_back(std::make_unique<Endpoint>(run.store, run.group, "/item/" + std::to_string(i)));
  }
  Endpoint api(run.store, run.group, "/api");
  // Twenty minutes: every endpoint has a baseline; then the 1,100 are never scraped again.
  run.play(0, 80, [&](int, auto& batch) {
    for (auto& e : churn) e->scrape(run.rng, {1, 0}, batch);
    api.scrape(run.rng, {1, 0}, batch);
  });
  REQUIRE(run.detector.saveState().size() == 1101);
  churn.clear();
  run.play(80, 40, [&](int, auto& batch) { api.scrape(run.rng, {1, 0}, batch); });
  // The store dropped them; the newest 1,024 are kept (the detector has fewer endpoints than that), and /api.
  CHECK(run.detector.saveState().size() == 1025);
}

TEST_CASE("two histograms with the same labels are two endpoints: one drifting is not diluted by the other") {
  Run run;
  Endpoint http(run.store, run.group, "/api");
  Endpoint db(run.store, run.group, "/api", kBounds, "db_query_duration_seconds");
  auto both = [&](double db_slow) {
    return [&, db_slow](int, auto& batch) {
      http.scrape(run.rng, {400, 0}, batch);  // eight times the traffic of the database histogram
      db.scrape(run.rng, {50, db_slow}, batch);
    };
  };
  run.play(0, kHour + 40, both(0));
  REQUIRE_FALSE(run.firstFiring());
  run.play(kHour + 40, 40, both(0.05));
  REQUIRE(run.firstFiring());
  CHECK(run.events.front().labels == rules::OwnedLabels{{"histogram", "db_query_duration_seconds"}, {"route", "/api"}});
}

TEST_CASE("a rise of the tail too small to act on does not page, however significant; min_excess sets how small") {
  // A busy endpoint (400 requests/s, 48,000 in the window): 0.3% more requests turn slow. Far beyond chance, and
  // twice the baseline share above the bound, but the p99 stays in its bucket: half a point is the default floor.
  auto run_with = [](double min_excess) {
    auto run = std::make_unique<Run>();
    if (!std::isnan(min_excess)) {
      rules::Rule rule = rules::defaultRules().front();
      rule.drift.min_excess = min_excess;
      run->detector = detectors::DriftDetector(rule);
    }
    Endpoint api(run->store, run->group, "/api");
    run->play(0, kHour + 40, [&](int, auto& batch) { api.scrape(run->rng, {400, 0}, batch); });
    run->play(kHour + 40, 40, [&](int, auto& batch) { api.scrape(run->rng, {400, 0.003}, batch); });
    return run;
  };
  auto defaults = run_with(NAN);
  CHECK_FALSE(defaults->firstFiring());
  const auto f =
      defaults->detector.evaluate(defaults->store, kT0 + (kHour + 79) * kStep, std::chrono::milliseconds(kStep));
  REQUIRE(f.size() == 1);
  CHECK(f[0].judged);
  CHECK_FALSE(f[0].active);
  CHECK_MESSAGE(f[0].reason.find("a rise under min_excess (0.50 points)") != std::string::npos, f[0].reason);
  // With no floor, the same traffic pages.
  CHECK(run_with(0)->firstFiring());
}

TEST_CASE("a single bad interval does not fire") {
  Run run;
  Endpoint api(run.store, run.group, "/api");
  run.play(0, kHour + 21, [&](int i, auto& batch) {
    api.scrape(run.rng, {50, i == kHour + 20 ? 0.6 : 0.0}, batch);  // one 15 s interval with 60% slow requests
  });
  // Judged, significant by count, and refused because the excess sits in one interval.
  const auto f = run.detector.evaluate(run.store, kT0 + (kHour + 20) * kStep, std::chrono::milliseconds(kStep));
  REQUIRE(f.size() == 1);
  CHECK(f[0].judged);
  CHECK_FALSE(f[0].active);
  CHECK(f[0].reason.find("concentrated in one interval") != std::string::npos);
  run.play(kHour + 21, 40, [&](int, auto& batch) { api.scrape(run.rng, {50, 0}, batch); });
  CHECK_FALSE(run.firstFiring());
}

TEST_CASE(
    "a target scraped every minute while the rules run every 15 s: a tail shift fires, one slow scrape does not") {
  // Scrapes once a minute (its requests of four 15 s intervals in one point); evaluated every 15 s.
  auto play = [](Run& run, Endpoint& api, store::GroupId group, int from, int steps,
                 const std::function<double(int)>& slow) {
    for (int i = from; i < from + steps; ++i) {
      std::vector<store::StagedSample> batch;
      api.scrape(run.rng, {50, slow(i)}, batch);
      const std::int64_t t = kT0 + i * kStep;
      if (i % 4 == 0) run.store.commit(group, t, batch);
      run.tracker.observe(run.detector.rule(), t, run.detector.evaluate(run.store, t, std::chrono::milliseconds(kStep)),
                          run.events);
    }
  };
  const int shift = kHour + 40;
  Run shifted;
  const store::GroupId a = shifted.store.addGroup("every-minute");
  Endpoint api(shifted.store, a, "/api");
  play(shifted, api, a, 0, shift, [](int) { return 0.0; });
  REQUIRE_FALSE(shifted.firstFiring());
  play(shifted, api, a, shift, 40, [](int) { return 0.05; });
  const auto fired = shifted.firstFiring();
  REQUIRE(fired);
  CHECK(*fired - (kT0 + shift * kStep) <= 5 * 60'000);
  // Judged over four scrape intervals, and the page says so.
  const auto& evidence = shifted.events.front().evidence;
  const auto window =
      std::find_if(evidence.begin(), evidence.end(), [](const auto& e) { return e.first == "window_seconds"; });
  REQUIRE(window != evidence.end());
  CHECK(window->second == 240);

  Run spike;
  const store::GroupId b = spike.store.addGroup("every-minute");
  Endpoint api2(spike.store, b, "/api");
  play(spike, api2, b, 0, shift + 40, [&](int i) { return i >= shift && i < shift + 4 ? 0.6 : 0.0; });
  CHECK_FALSE(spike.firstFiring());
}

TEST_CASE("a low-traffic endpoint whose p99 is noise does not fire") {
  Run run;
  Endpoint quiet(run.store, run.group, "/admin");
  // A few requests a minute, and now and then one slow one.
  run.play(0, 3 * kHour, [&](int i, auto& batch) { quiet.scrape(run.rng, {0.05, i % 97 == 0 ? 1.0 : 0.02}, batch); });
  CHECK_FALSE(run.firstFiring());
}

TEST_CASE("a quiet endpoint (0.55 requests/s) is judged over a longer window: one request in twenty slow pages") {
  // Two minutes of it hold about 66 requests and 3 slow ones: too few to judge (x < 5) at most evaluations, so a
  // two-minute window never keeps the condition for a minute. Its window grows to hold about 240 requests.
  Run run;
  Endpoint api(run.store, run.group, "/reports");
  run.play(0, 3 * kHour, [&](int, auto& batch) { api.scrape(run.rng, {0.55, 0}, batch); });
  REQUIRE_FALSE(run.firstFiring());
  const int shift = 3 * kHour;
  run.play(shift, 120, [&](int, auto& batch) { api.scrape(run.rng, {0.55, 0.05}, batch); });
  const auto fired = run.firstFiring();
  REQUIRE(fired);
  CHECK(*fired - (kT0 + shift * kStep) <= 8 * 60'000);
  const rules::IncidentEvent& e = run.events.front();
  const auto window =
      std::find_if(e.evidence.begin(), e.evidence.end(), [](const auto& v) { return v.first == "window_seconds"; });
  REQUIRE(window != e.evidence.end());
  CHECK(window->second > 300);
  CHECK(window->second <= 480);
  CHECK_MESSAGE(e.reason.find("over the last 2m") == std::string::npos, e.reason);
}

TEST_CASE("the baseline share is a count too: 6 slow requests against a baseline of 6 in an hour do not page") {
  // 1 request/s, all fast but for one slow request every ten minutes: the baseline's p99 bucket is 0.05s, and only 6
  // of its 3,600 requests lie above it. Six slow ones in the (4-minute) window would be 0.999994 significant if those
  // 6 were an exact rate; as two counts against each other they are 0.99996, under the rule's 0.99999. Ten are not
  // chance either way, and page. One slow request in each of consecutive intervals: spread, not one bad interval.
  auto play = [](int slow_in_window) {
    Run run;
    std::vector<store::SeriesRef> refs;
    for (double b : kBounds) {
      const std::string le = std::isinf(b) ? "+Inf" : std::to_string(b);
      refs.push_back(run.store.resolve(run.group, {"http_request_duration_seconds_bucket",
                                                   {{"route", "/login"}, {"le", le}},
                                                   store::SeriesRole::bucket,
                                                   "http_request_duration_seconds",
                                                   b}));
    }
    std::vector<double> cumulative(kBounds.size(), 0);
    const int shift = 3 * kHour;
    run.play(0, shift + 40, [&](int i, auto& batch) {
      // 15 requests an interval: 0.05s at most, or one of them 0.5s.
      const bool slow = i < shift ? i % 40 == 0 : i - shift < slow_in_window;
      for (std::size_t b = 0; b < kBounds.size(); ++b) {
        cumulative[b] += kBounds[b] >= 0.5 ? 15 : kBounds[b] >= 0.05 ? (slow ? 14 : 15) : 0;
        batch.push_back({refs[b], cumulative[b]});
      }
    });
    return run.firstFiring().has_value();
  };
  CHECK_FALSE(play(6));
  CHECK(play(10));
}

TEST_CASE("a process restart (counter reset) and a ten-minute scrape gap do not fire") {
  Run run;
  Endpoint api(run.store, run.group, "/api");
  run.play(0, kHour + 20, [&](int, auto& batch) { api.scrape(run.rng, {50, 0}, batch); });
  api.restart();
  run.play(kHour + 20, 40, [&](int, auto& batch) { api.scrape(run.rng, {50, 0}, batch); });
  // Ten minutes with no scrape at all, then traffic resumes.
  run.play(kHour + 100, 80, [&](int, auto& batch) { api.scrape(run.rng, {50, 0}, batch); });
  CHECK_FALSE(run.firstFiring());
}

TEST_CASE("a page counts what the endpoint served in its window, across a restart and idle minutes") {
  // A low-rate endpoint that restarts and then idles (every series repeats its value, the _sum a non-integer one)
  // must not read as restarting at every idle scrape: a page once counted 683 requests in two minutes of an
  // endpoint that had served 4. Then the tail shifts and it pages; its evidence is checked against what was served.
  Run run;
  Endpoint api(run.store, run.group, "/api");
  api.withSumAndCount();
  // Requests come in every other scrape interval: the ones between are idle.
  auto bursty = [&](double slow_share) {
    return [&, slow_share](int i, auto& batch) { api.scrape(run.rng, {i % 2 == 0 ? 4.0 : 0.0, slow_share}, batch); };
  };
  run.play(0, kHour, bursty(0));
  api.restart();
  run.play(kHour, kHour + 60, bursty(0));
  CHECK_FALSE(run.firstFiring());
  const int shift = 2 * kHour + 60;
  run.play(shift, 40, bursty(0.3));
  REQUIRE(run.firstFiring());
  const rules::IncidentEvent& fired = run.events.front();
  auto evidence = [&](std::string_view key) {
    for (const auto& [k, v] : fired.evidence) {
      if (k == key) return v;
    }
    FAIL("no evidence ", key);
    return 0.0;
  };
  // The window is two minutes or, for an endpoint this quiet, a little longer: the scrapes up to the one that fired.
  const int fired_at = static_cast<int>((fired.t_ms - kT0) / kStep);
  const int steps = static_cast<int>(evidence("window_seconds") * 1000) / static_cast<int>(kStep);
  CHECK(steps >= 8);
  CHECK(steps <= 32);
  const auto& served = api.served();
  double window = 0;
  for (int i = fired_at - steps + 1; i <= fired_at; ++i) window += served.at(static_cast<std::size_t>(i));
  CHECK(evidence("requests") == window);
  // The baseline (the hour before the window) holds about two requests a second, not the counters' totals.
  CHECK(evidence("baseline_requests") <= 2 * 3600 * 1.2);
}

TEST_CASE("a bucket-layout change is not judged until the new layout has a baseline, and does not fire") {
  Run run;
  Endpoint before(run.store, run.group, "/api");
  run.play(0, kHour + 20, [&](int, auto& batch) { before.scrape(run.rng, {50, 0}, batch); });
  // The service is redeployed with finer buckets: same series name and labels, a new layout.
  std::vector<double> finer{0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, INFINITY};
  Endpoint after(run.store, run.group, "/api", finer);
  std::vector<rules::Finding> last;
  run.play(kHour + 20, 60, [&](int, auto& batch) { after.scrape(run.rng, {50, 0}, batch); });
  last = run.detector.evaluate(run.store, kT0 + (kHour + 79) * kStep, std::chrono::milliseconds(kStep));
  REQUIRE(last.size() == 1);
  CHECK_FALSE(last[0].judged);
  CHECK(last[0].reason.find("layout") != std::string::npos);
  CHECK_FALSE(run.firstFiring());
}

TEST_CASE("after a restart, a saved baseline judges the endpoint at once; without it there is nothing to judge") {
  Run before;
  Endpoint api(before.store, before.group, "/api");
  before.play(0, kHour + 40, [&](int, auto& batch) { api.scrape(before.rng, {50, 0}, batch); });
  REQUIRE_FALSE(before.firstFiring());
  const auto saved = before.detector.saveState();
  REQUIRE(saved.size() == 1);

  // The daemon restarts five minutes later with an empty store; the tail has shifted meanwhile.
  const int restart = kHour + 60;
  auto shifted = [](Run& run) {
    Endpoint fresh(run.store, run.group, "/api");
    run.play(restart, 40, [&](int, auto& batch) { fresh.scrape(run.rng, {50, 0.05}, batch); });
  };
  Run restored;
  restored.detector.restoreState(saved);
  shifted(restored);
  const auto fired = restored.firstFiring();
  REQUIRE(fired);
  CHECK(static_cast<double>(*fired - (kT0 + restart * kStep)) / 1000.0 <= 180);

  Run forgetful;
  shifted(forgetful);
  CHECK_FALSE(forgetful.firstFiring());

  // A saved baseline for another bucket layout is not used.
  Run other;
  other.detector.restoreState(saved);
  Endpoint coarse(other.store, other.group, "/api", {0.1, 1, 10, INFINITY});
  other.play(restart, 40, [&](int, auto& batch) { coarse.scrape(other.rng, {50, 0.05}, batch); });
  CHECK_FALSE(other.firstFiring());

  // A damaged state file: what is not a baseline is skipped (the endpoint learns afresh), and nothing throws.
  const std::string& key = saved.front().first;
  const nlohmann::json& good = saved.front().second;
  nlohmann::json falling = good, nan_count = good, not_bounds = good;
  falling["counts"][3] = good["counts"][2].get<double>() - 1;
  nan_count["counts"][0] = "many";
  not_bounds["bounds"] = "0.1,1";
  for (const nlohmann::json& broken :
       {nlohmann::json::array(), nlohmann::json("baseline"), falling, nan_count, not_bounds}) {
    Run damaged;
    CHECK_NOTHROW(damaged.detector.restoreState({{key, broken}}));
    shifted(damaged);
    CHECK_FALSE(damaged.firstFiring());
  }
  // Fields of the wrong type take their defaults; the baseline itself still judges.
  nlohmann::json odd = good;
  odd["span_ms"] = "an hour";
  odd["frozen"] = 3;
  odd["clear_since_ms"] = nullptr;
  Run tolerant;
  CHECK_NOTHROW(tolerant.detector.restoreState({{key, odd}}));
  shifted(tolerant);
  CHECK(tolerant.firstFiring());
}

TEST_CASE("a frozen baseline survives a restart: the incident is judged against the baseline from before the drift") {
  Run before;
  Endpoint api(before.store, before.group, "/api");
  before.play(0, kHour + 40, [&](int, auto& batch) { api.scrape(before.rng, {50, 0}, batch); });
  before.play(kHour + 40, 30, [&](int, auto& batch) { api.scrape(before.rng, {50, 0.05}, batch); });
  REQUIRE(before.firstFiring());
  const auto saved = before.detector.saveState();
  REQUIRE(saved.size() == 1);
  CHECK(saved[0].second.value("frozen", false));

  // Restarted two hours later (longer than the baseline window) with the drift still on: the frozen baseline
  // still judges it, so the incident stays active instead of the drift becoming the new normal.
  const int restart = kHour + 70 + 2 * kHour;
  auto drifting = [](Run& run) {
    Endpoint fresh(run.store, run.group, "/api");
    run.play(restart, 12, [&](int, auto& batch) { fresh.scrape(run.rng, {50, 0.05}, batch); });
  };
  Run after;
  after.detector.restoreState(saved);
  drifting(after);
  CHECK(after.firstFiring());
  Run forgetful;
  drifting(forgetful);
  CHECK_FALSE(forgetful.firstFiring());
}
