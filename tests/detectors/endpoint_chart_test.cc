// The chart of a latency incident, read from a real series store: the rule's quantile per step from the bucket
// increases of the endpoint's histograms (summed over instances, other endpoints and families left out), and the
// request rate.
#include <doctest/doctest.h>

#include <cmath>

#include "detectors/endpoint_chart.h"
#include "detectors/quantile.h"
#include "rules/rule_loader.h"

using namespace hotspotd;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000, kStep = 15'000;
const std::vector<double> kBounds{0.1, 0.25, 0.5, 1, INFINITY};

// One histogram: its bucket and count series, and cumulative counts added to per scrape.
struct Histogram {
  Histogram(store::SeriesStore& store, store::GroupId group, std::string family, std::string route,
            std::string instance)
      : family_(std::move(family)), bucket_(family_ + "_bucket"), count_name_(family_ + "_count"),
        route_(std::move(route)), instance_(std::move(instance)) {
    for (double b : kBounds) les_.push_back(std::isinf(b) ? "+Inf" : std::to_string(b));
    for (std::size_t i = 0; i < kBounds.size(); ++i) {
      buckets_.push_back(store.resolve(group, {bucket_, {{"route", route_}, {"instance", instance_}, {"le", les_[i]}},
                                               store::SeriesRole::bucket, family_, kBounds[i]}));
    }
    count_ = store.resolve(group, {count_name_, {{"route", route_}, {"instance", instance_}}, store::SeriesRole::count,
                                   family_, 0});
    cumulative_.assign(kBounds.size(), 0);
  }
  // `per_bucket`: requests in each (non-cumulative) bucket during the scrape interval.
  void scrape(const std::vector<double>& per_bucket, std::vector<store::StagedSample>& batch) {
    double sum = 0;
    for (std::size_t i = 0; i < kBounds.size(); ++i) {
      sum += per_bucket[i];
      cumulative_[i] += sum;
      batch.push_back({buckets_[i], cumulative_[i]});
    }
    batch.push_back({count_, cumulative_.back()});
  }

 private:
  std::string family_, bucket_, count_name_, route_, instance_;
  std::vector<std::string> les_;
  std::vector<store::SeriesRef> buckets_;
  store::SeriesRef count_;
  std::vector<double> cumulative_;
};

}  // namespace

TEST_CASE("a latency incident's chart: the p99 per step over the endpoint's instances, and its request rate") {
  // The zero-config shape: every *_seconds histogram, by route; the family is part of the endpoint.
  auto rules = rules::parseRules(R"(
[[rules]]
name = "LatencyDrift"
kind = "latency_drift"
histogram = '{__name__=~".+_seconds"}'
by = ["route"]
)",
                                 "drift.toml");
  REQUIRE_MESSAGE(rules, rules.error().message);
  store::StoreConfig config;
  config.retention = 2h;
  store::SeriesStore store(config);
  const auto group = store.addGroup("svc");
  Histogram a(store, group, "http_request_duration_seconds", "/pay", "a");
  Histogram b(store, group, "http_request_duration_seconds", "/pay", "b");
  Histogram cart(store, group, "http_request_duration_seconds", "/cart", "a");
  Histogram db(store, group, "db_query_duration_seconds", "/pay", "a");
  for (int i = 0; i <= 40; ++i) {
    std::vector<store::StagedSample> batch;
    // Healthy: 150 requests per instance and scrape, all under 0.1 s. From step 20 on, 3 in 100 take 0.25-0.5 s.
    const std::vector<double> pay = i < 20 ? std::vector<double>{150, 0, 0, 0, 0} : std::vector<double>{145, 0, 5, 0, 0};
    a.scrape(pay, batch);
    b.scrape(pay, batch);
    cart.scrape({0, 0, 0, 0, 1500}, batch);  // another route, all past 1 s
    db.scrape({0, 0, 0, 1500, 0}, batch);    // another family of the same route
    store.commit(group, kT0 + i * kStep, batch);
  }
  const rules::OwnedLabels endpoint{{"histogram", "http_request_duration_seconds"}, {"route", "/pay"}};
  const auto chart =
      detectors::endpointChart(store, rules->front(), endpoint, 0.1, kT0, kT0 + 40 * kStep, kStep);
  CHECK(chart.kind == "latency");
  CHECK(chart.threshold == 0.1);
  REQUIRE(chart.lines.size() == 2);
  CHECK(chart.lines[0].name == "p99");
  CHECK(chart.lines[0].unit == "seconds");
  REQUIRE(chart.times_ms.size() == 40);
  REQUIRE(chart.lines[0].values.size() == 40);
  const std::vector<detectors::Bucket> healthy{{0.1, 300}, {0.25, 300}, {0.5, 300}, {1, 300}, {INFINITY, 300}};
  const std::vector<detectors::Bucket> slow{{0.1, 290}, {0.25, 290}, {0.5, 300}, {1, 300}, {INFINITY, 300}};
  for (std::size_t i = 0; i < chart.times_ms.size(); ++i) {
    const std::int64_t step = (chart.times_ms[i] - kT0) / kStep;  // the step ends at this scrape
    CAPTURE(step);
    const double want = detectors::bucketQuantile(0.99, step < 20 ? healthy : slow).value;
    CHECK(chart.lines[0].values[i] == doctest::Approx(want));
    CHECK(chart.lines[1].values[i] == doctest::Approx(2 * 150 / 15.0));  // two instances, 10 requests/s each
  }
  CHECK(detectors::ofEndpoint("http_request_duration_seconds_bucket", {{"route", "/pay"}, {"instance", "a"}},
                              {{"route", "/pay"}}));
  CHECK_FALSE(detectors::ofEndpoint("db_query_duration_seconds", {{"route", "/pay"}}, endpoint));
}

TEST_CASE("a chart step without data is NaN, not zero") {
  auto rules = rules::parseRules(R"(
[[rules]]
name = "QueueDepth"
kind = "threshold"
gauge = 'queue_depth'
above = 100
)",
                                 "t.toml");
  REQUIRE_MESSAGE(rules, rules.error().message);
  store::StoreConfig config;
  config.retention = 2h;
  config.staleness = 30s;
  store::SeriesStore store(config);
  const auto group = store.addGroup("svc");
  const auto q = store.resolve(group, {"queue_depth", {{"queue", "mail"}}, store::SeriesRole::gauge, {}, 0});
  for (int i = 0; i <= 20; ++i) {
    if (i >= 8 && i <= 12) continue;  // a scrape gap of 75 s
    store.commit(group, kT0 + i * kStep, std::vector<store::StagedSample>{{q, 50.0 + i}});
  }
  const auto chart = detectors::endpointChart(store, rules->front(), {{"queue", "mail"}}, 100, kT0, kT0 + 20 * kStep,
                                              kStep);
  CHECK(chart.kind == "gauge");
  REQUIRE(chart.lines.size() == 1);
  int gaps = 0;
  for (std::size_t i = 0; i < chart.times_ms.size(); ++i) {
    const std::int64_t step = (chart.times_ms[i] - kT0) / kStep;
    CAPTURE(step);
    // A gauge's point stands for one step after it: step 8 still shows step 7's value.
    if (step >= 9 && step <= 12) {
      CHECK(std::isnan(chart.lines[0].values[i]));
      ++gaps;
    } else {
      CHECK(chart.lines[0].values[i] == doctest::Approx(50.0 + static_cast<double>(step == 8 ? 7 : step)));
    }
  }
  CHECK(gaps == 4);
}
