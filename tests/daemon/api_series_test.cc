// The chart data of an incident, read from a real series store: an availability burn-rate incident charts its
// error ratio against the ratio at which the burn rate pages, and the request rate.
#include <doctest/doctest.h>

#include "daemon/api.h"
#include "rules/rule_loader.h"

using namespace hotspotd;
using namespace std::chrono_literals;

TEST_CASE("an availability incident's chart: the error ratio per step against the paging ratio, and the rate") {
  auto rules = rules::parseRules(R"(
[[rules]]
name = "Availability"
kind = "burn_rate"
objective = 0.999
errors = 'http_requests_total{code=~"5.."}'
total = 'http_requests_total'
)",
                                 "slo.toml");
  REQUIRE_MESSAGE(rules, rules.error().message);
  constexpr std::int64_t kT0 = 1'700'000'000'000, kStep = 15'000;
  store::StoreConfig config;
  config.retention = 2h;
  store::SeriesStore store(config);
  const auto group = store.addGroup("svc");
  const auto ok = store.resolve(group, {"http_requests_total", {{"route", "/pay"}, {"code", "200"}}, store::SeriesRole::counter, {}, 0});
  const auto err = store.resolve(group, {"http_requests_total", {{"route", "/pay"}, {"code", "500"}}, store::SeriesRole::counter, {}, 0});
  const auto other = store.resolve(group, {"http_requests_total", {{"route", "/cart"}, {"code", "500"}}, store::SeriesRole::counter, {}, 0});
  double good = 0, bad = 0, cart = 0;
  for (int i = 0; i <= 80; ++i) {
    const double e = i < 40 ? 0.0 : 0.1;  // 10% of requests fail from step 40 on
    good += 150 * (1 - e);  // 10 requests a second
    bad += 150 * e;
    cart += 1000;  // another endpoint's errors are not this incident's
    store.commit(group, kT0 + i * kStep, std::vector<store::StagedSample>{{ok, good}, {err, bad}, {other, cart}});
  }
  incidents::IncidentRecord incident;
  incident.id = "abc";
  incident.alertname = "Availability";
  incident.state = incidents::IncidentState::firing;
  incident.pending_ms = kT0 + 44 * kStep;
  incident.firing_ms = incident.pending_ms;
  incident.firing.threshold = 14.4;
  incident.firing.endpoint = {{"route", "/pay"}};
  const auto j = daemon::incidentSeriesJson(store, rules->front(), incident, kT0 + 80 * kStep, kT0);
  REQUIRE(j["status"] == "success");
  const auto& data = j["data"];
  CHECK(data["kind"] == "errors");
  CHECK(data["threshold"].get<double>() == doctest::Approx(14.4 * 0.001));
  REQUIRE(data["series"].size() == 2);
  int before = 0, after = 0;
  for (const auto& p : data["series"][0]["points"]) {
    if (!p[1].is_number()) continue;
    const double t_ms = p[0].get<double>() * 1000;
    // Each point covers the step before it (a minute here: older points are kept one a minute).
    if (t_ms < kT0 + 40 * kStep) {
      CHECK(p[1].get<double>() == doctest::Approx(0.0));
      ++before;
    } else if (t_ms >= kT0 + 40 * kStep + data["stepSeconds"].get<double>() * 1000) {
      CHECK(p[1].get<double>() == doctest::Approx(0.1));
      ++after;
    }
  }
  CHECK(data["stepSeconds"] == 60.0);
  CHECK(before >= 8);
  CHECK(after >= 8);
  for (const auto& p : data["series"][1]["points"]) {
    if (p[1].is_number()) CHECK(p[1].get<double>() == doctest::Approx(10.0));
  }
}
