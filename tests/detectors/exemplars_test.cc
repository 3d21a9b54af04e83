// Exemplars for a firing incident: only the endpoint's own slow requests, seen since the incident began.
#include <doctest/doctest.h>

#include <cmath>

#include "detectors/exemplars.h"
#include "rules/rule_loader.h"

using namespace hotspotd;

namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;

rules::Rule loadRule(std::string_view body) {
  auto r = rules::parseRules(std::string("[[rules]]\nname = \"R\"\n") + std::string(body), "rules.toml");
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  return r->front();
}

// Two routes' histograms on two instances, with an exemplar on each bucket.
struct Histograms {
  store::SeriesStore store;
  store::GroupId group = store.addGroup("svc");

  void add(const std::string& route, const std::string& instance, double fast_value, double slow_value,
           std::int64_t seen_ms) {
    std::vector<store::StagedSample> batch;
    const double bounds[] = {0.1, 1, INFINITY};
    const char* les[] = {"0.1", "1", "+Inf"};
    for (int i = 0; i < 3; ++i) {
      auto ref = store.resolve(group, {"lat_seconds_bucket",
                                       {{"route", route}, {"instance", instance}, {"le", les[i]}},
                                       store::SeriesRole::bucket,
                                       "lat_seconds",
                                       bounds[i]});
      batch.push_back({ref, 1.0 * i});
      refs.push_back(ref);
      values.push_back(i == 0 ? fast_value : slow_value);
      traces.push_back(route + "-" + instance + "-" + les[i]);
    }
    store.commit(group, seen_ms, batch);
    for (std::size_t i = refs.size() - 3; i < refs.size(); ++i) {
      store.setExemplar(refs[i], store::Exemplar{{{"trace_id", traces[i]}}, values[i], seen_ms});
    }
  }
  std::vector<store::SeriesRef> refs;
  std::vector<double> values;
  std::vector<std::string> traces;
};

}  // namespace

TEST_CASE("the slow bound comes from the drift's evidence, the threshold's `above`, or the burn rate's threshold") {
  rules::IncidentEvent firing;
  firing.evidence = {{"requests", 100}, {"bound_seconds", 0.25}};
  CHECK(detectors::slowBound(loadRule("kind = \"latency_drift\"\nhistogram = \"lat_seconds\"\n"), firing) == 0.25);
  CHECK(detectors::slowBound(
            loadRule("kind = \"latency_threshold\"\nhistogram = \"lat_seconds\"\nabove = \"300ms\"\n"), firing) ==
        doctest::Approx(0.3));
  CHECK(detectors::slowBound(loadRule("kind = \"burn_rate\"\nhistogram = \"lat_seconds\"\nthreshold = 0.5\n"),
                             firing) == 0.5);
  CHECK_FALSE(detectors::slowBound(
      loadRule("kind = \"burn_rate\"\nerrors = 'req_total{code=~\"5..\"}'\ntotal = \"req_total\"\n"), firing));
  CHECK_FALSE(detectors::slowBound(loadRule("kind = \"threshold\"\ngauge = \"queue\"\nabove = 5\n"), firing));
}

TEST_CASE("slow exemplars: the endpoint's own, above the bound, since the incident began, newest first") {
  Histograms h;
  h.add("/pay", "a:1", 0.05, 0.8, kT0);
  h.add("/pay", "b:1", 0.05, 2.5, kT0 + 30'000);
  h.add("/home", "a:1", 0.05, 3.0, kT0 + 30'000);
  const rules::Rule drift = loadRule("kind = \"latency_drift\"\nhistogram = \"lat_seconds\"\n");
  auto found = detectors::slowExemplars(drift, h.store, {{"route", "/pay"}}, 0.25, kT0);
  REQUIRE(found.size() == 4);  // le=1 and +Inf on both instances; never /home's, never the fast bucket's
  CHECK(found[0].t_ms == kT0 + 30'000);
  for (const auto& x : found) {
    CHECK(x.value > 0.25);
    CHECK(x.labels[0].second.rfind("/pay-", 0) == 0);
  }
  // Seen before the incident began: left out.
  CHECK(detectors::slowExemplars(drift, h.store, {{"route", "/pay"}}, 0.25, kT0 + 1).size() == 2);
  // A bound above every exemplar: none.
  CHECK(detectors::slowExemplars(drift, h.store, {{"route", "/pay"}}, 5, kT0).empty());
}
