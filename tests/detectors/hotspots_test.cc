// Hotspot ranking: share of server time from _sum, summed over instances, per histogram family, weighted by
// drift; quantiles with the bucket bounds they lie between.
#include <doctest/doctest.h>

#include <cmath>

#include "detectors/hotspots.h"

using namespace hotspotd;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;
constexpr std::int64_t kStep = 15'000;

// Histograms fed with a steady rate and latency: every request takes `seconds` and lands in its bucket.
struct Feed {
  store::SeriesStore store;
  store::GroupId group = store.addGroup("svc");
  struct Histogram {
    std::vector<store::SeriesRef> buckets;
    store::SeriesRef sum, count;
    double rps, seconds;
    std::vector<double> bounds;
  };
  std::vector<Histogram> histograms;

  void add(const std::string& family, const std::string& route, const std::string& instance, double rps,
           double seconds) {
    Histogram h;
    h.rps = rps;
    h.seconds = seconds;
    h.bounds = {0.1, 0.5, 1, 2.5, INFINITY};
    const char* les[] = {"0.1", "0.5", "1", "2.5", "+Inf"};
    for (std::size_t i = 0; i < h.bounds.size(); ++i) {
      h.buckets.push_back(store.resolve(group, {family + "_bucket",
                                                {{"route", route}, {"instance", instance}, {"le", les[i]}},
                                                store::SeriesRole::bucket,
                                                family,
                                                h.bounds[i]}));
    }
    h.sum = store.resolve(group, {family + "_sum", {{"route", route}, {"instance", instance}},
                                  store::SeriesRole::sum, family, 0});
    h.count = store.resolve(group, {family + "_count", {{"route", route}, {"instance", instance}},
                                    store::SeriesRole::count, family, 0});
    histograms.push_back(std::move(h));
  }

  void run(int scrapes) {
    for (int i = 0; i <= scrapes; ++i) {
      std::vector<store::StagedSample> batch;
      for (const auto& h : histograms) {
        const double n = h.rps * i * kStep / 1000.0;
        for (std::size_t b = 0; b < h.bounds.size(); ++b) batch.push_back({h.buckets[b], h.seconds <= h.bounds[b] ? n : 0});
        batch.push_back({h.sum, n * h.seconds});
        batch.push_back({h.count, n});
      }
      store.commit(group, kT0 + i * kStep, batch);
    }
  }
  std::int64_t end(int scrapes) const { return kT0 + scrapes * kStep; }
};

const detectors::Hotspot& find(const detectors::HotspotTable& t, std::string_view route) {
  for (const auto& h : t.hotspots) {
    for (const auto& [k, v] : h.endpoint) {
      if (k == "route" && v == route) return h;
    }
  }
  FAIL("no hotspot for " << route);
  throw 0;
}

}  // namespace

TEST_CASE("endpoints rank by their share of server time, summed over instances, within their family") {
  Feed f;
  f.add("http_request_duration_seconds", "/a", "a:1", 50, 0.05);  // 2.5 + 2.5 s/s over two instances
  f.add("http_request_duration_seconds", "/a", "b:1", 50, 0.05);
  f.add("http_request_duration_seconds", "/b", "a:1", 10, 2);  // 20 s/s
  f.add("db_query_duration_seconds", "/a", "a:1", 5, 0.2);      // its own family: share 1
  f.add("http_response_size_bytes", "/a", "a:1", 5, 0.2);       // not a duration: left out
  f.run(40);
  const auto t = detectors::rankHotspots(f.store, f.end(40), 5min, {}, 100);
  CHECK(t.endpoints == 3);
  REQUIRE(t.hotspots.size() == 3);
  const auto& b = find(t, "/b");
  CHECK(b.share == doctest::Approx(0.8));
  CHECK(b.request_rate == doctest::Approx(10));
  CHECK(b.time_rate == doctest::Approx(20));
  CHECK(b.mean_seconds == doctest::Approx(2));
  CHECK(b.p99.lower == 1);
  CHECK(b.p99.upper == 2.5);
  // Ranked: the database's /a (all of its family's time), then /b (0.8), then the HTTP /a (0.2).
  CHECK(t.hotspots[1].endpoint == rules::OwnedLabels{{"route", "/b"}});
  const auto& a = t.hotspots[2];
  CHECK(a.histogram == "http_request_duration_seconds");
  CHECK(a.endpoint == rules::OwnedLabels{{"route", "/a"}});
  CHECK(a.request_rate == doctest::Approx(100));
  CHECK(a.share == doctest::Approx(0.2));
  CHECK(a.p50.upper == 0.1);
  CHECK(t.hotspots[0].histogram == "db_query_duration_seconds");
  CHECK(t.hotspots[0].share == doctest::Approx(1));
}

TEST_CASE("a drifting endpoint ranks by its share weighted by how far it drifted, and says which rule saw it") {
  Feed f;
  f.add("http_request_duration_seconds", "/big", "a:1", 100, 0.1);   // 10 s/s
  f.add("http_request_duration_seconds", "/small", "a:1", 10, 0.1);  // 1 s/s
  f.run(40);
  detectors::DriftMark zero_config;  // the zero-config rule: family as a label, every other label
  zero_config.rule = "LatencyDrift";
  zero_config.endpoint = {{"histogram", "http_request_duration_seconds"}, {"route", "/small"}};
  zero_config.ratio = 12;
  zero_config.active = zero_config.firing = true;
  zero_config.incident_id = "abc";
  detectors::DriftMark by_route;  // a rule with its own `by` and a fixed metric name
  by_route.rule = "Mine";
  by_route.metric = "http_request_duration_seconds";
  by_route.endpoint = {{"route", "/big"}};
  by_route.all_labels = false;
  by_route.ratio = 1.1;
  const auto t = detectors::rankHotspots(f.store, f.end(40), 5min, {zero_config, by_route}, 100);
  REQUIRE(t.hotspots.size() == 2);
  const auto& first = t.hotspots[0];
  CHECK(first.endpoint == rules::OwnedLabels{{"route", "/small"}});
  REQUIRE(first.drift);
  CHECK(first.drift->firing);
  CHECK(first.drift->incident_id == "abc");
  CHECK(first.rank == doctest::Approx(12.0 / 11));
  const auto& second = t.hotspots[1];
  REQUIRE(second.drift);
  CHECK(second.drift->rule == "Mine");
  CHECK(second.rank == doctest::Approx(10.0 / 11 * 1.1));
}

TEST_CASE("the table keeps the top `limit` and counts every endpoint") {
  Feed f;
  for (int i = 0; i < 20; ++i) f.add("rpc_duration_seconds", "/r" + std::to_string(i), "a:1", 1 + i, 0.05);
  f.run(10);
  const auto t = detectors::rankHotspots(f.store, f.end(10), 5min, {}, 5);
  CHECK(t.endpoints == 20);
  REQUIRE(t.hotspots.size() == 5);
  CHECK(t.hotspots[0].endpoint == rules::OwnedLabels{{"route", "/r19"}});
  for (std::size_t i = 1; i < t.hotspots.size(); ++i) CHECK(t.hotspots[i - 1].rank >= t.hotspots[i].rank);
}
