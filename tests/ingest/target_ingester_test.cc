#include <doctest/doctest.h>

#include "ingest/target_ingester.h"

using namespace hotspotd::ingest;
using namespace hotspotd::store;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;

struct Fixture {
  SeriesStore store;
  GroupId group = store.addGroup("api/127.0.0.1:9100");
  TargetIngester ingester{store, group, {{"job", "api"}, {"instance", "127.0.0.1:9100"}}};

  IngestResult ok(std::string_view body, std::int64_t t, ExpositionFormat f = ExpositionFormat::prometheus_text) {
    auto r = ingester.ingest(body, f, t, {});
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
    return *r;
  }
};

constexpr std::string_view kHistogram =
    "# TYPE lat_seconds histogram\n"
    "lat_seconds_bucket{path=\"/a\",le=\"0.1\"} 5\n"
    "lat_seconds_bucket{path=\"/a\",le=\"1\"} 9\n"
    "lat_seconds_bucket{path=\"/a\",le=\"+Inf\"} 10\n"
    "lat_seconds_sum{path=\"/a\"} 3.5\n"
    "lat_seconds_count{path=\"/a\"} 10\n";

}  // namespace

TEST_CASE("a scrape becomes series with the target's labels and a grouped histogram") {
  Fixture f;
  auto r = f.ok(kHistogram, kT0);
  CHECK(r.samples == 5);
  CHECK(r.series_added == 5);
  CHECK(f.store.seriesCount() == 5);
  REQUIRE(f.store.histogramCount() == 1);
  int seen = 0;
  f.store.forEachHistogram([&](const HistogramView& h) {
    ++seen;
    CHECK(h.name == "lat_seconds");
    CHECK(h.labels == LabelPairs{{"instance", "127.0.0.1:9100"}, {"job", "api"}, {"path", "/a"}});
    CHECK(h.bounds.size() == 3);
    CHECK(h.sum != kNoId);
    CHECK(h.count != kNoId);
  });
  CHECK(seen == 1);
  // The second scrape hits the cache: no new series.
  CHECK(f.ok(kHistogram, kT0 + 15'000).series_added == 0);
}

TEST_CASE("le written as 1 and as 1.0 is one bucket") {
  Fixture f;
  f.ok("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\n", kT0);
  auto r = f.ok("# TYPE h histogram\nh_bucket{le=\"1.0\"} 2\nh_bucket{le=\"+Inf\"} 2\n", kT0 + 15'000);
  CHECK(r.series_added == 1);  // the new raw text resolves to the existing series
  CHECK(f.store.seriesCount() == 2);
  CHECK(f.store.histogram(0)->generation == 1);
}

TEST_CASE("an exposed label that clashes with a target label is kept as exported_<name>") {
  Fixture f;
  f.ok("up_total{job=\"inner\"} 1\n", kT0);
  REQUIRE(f.store.seriesCount() == 1);
  CHECK(f.store.labels(0) == LabelPairs{{"exported_job", "inner"}, {"instance", "127.0.0.1:9100"}, {"job", "api"}});
}

TEST_CASE("a malformed scrape stores nothing, not even the samples before the error") {
  Fixture f;
  f.ok("a_total 1\n", kT0);
  auto bad = f.ingester.ingest("a_total 2\nb{x=\"1\" 3\n", ExpositionFormat::prometheus_text, kT0 + 15'000, {});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().line == 2);
  CHECK(f.store.lastScrapeMs(f.group) == kT0);
  CHECK(f.store.pointAt(0, kT0 + 15'000, 5min)->value == 1.0);
}

TEST_CASE("a histogram without +Inf fails the scrape, even when its series are cached") {
  Fixture f;
  f.ok(kHistogram, kT0);
  auto bad = f.ingester.ingest(
      "# TYPE lat_seconds histogram\nlat_seconds_bucket{path=\"/a\",le=\"0.1\"} 5\n"
      "lat_seconds_bucket{path=\"/a\",le=\"1\"} 9\n",
      ExpositionFormat::prometheus_text, kT0 + 15'000, {});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().reason == FailureReason::missing_inf_bucket);
  CHECK(f.store.lastScrapeMs(f.group) == kT0);
}

TEST_CASE("the sample limit fails the scrape before the store grows") {
  Fixture f;
  ParseLimits limits;
  limits.max_samples = 100;
  std::string body;
  for (int i = 0; i < 1000; ++i) body += "m{i=\"" + std::to_string(i) + "\"} 1\n";
  auto r = f.ingester.ingest(body, ExpositionFormat::prometheus_text, kT0, limits);
  REQUIRE_FALSE(r);
  CHECK(r.error().reason == FailureReason::sample_limit);
  CHECK(f.store.seriesCount() <= 100);
}

TEST_CASE("regression: a failed scrape leaves nothing behind for the next one") {
  Fixture f;
  auto bad =
      f.ingester.ingest("# TYPE h histogram\nh_bucket{le=\"1\"} 1\n", ExpositionFormat::prometheus_text, kT0, {});
  REQUIRE_FALSE(bad);
  auto good = f.ok(kHistogram, kT0 + 15'000);
  CHECK(good.samples == 5);
}

TEST_CASE("exemplars on buckets are kept with their series; an unchanged one keeps the time it was first seen") {
  Fixture f;
  const std::string body =
      "# TYPE lat_seconds histogram\n"
      "lat_seconds_bucket{path=\"/a\",le=\"0.1\"} 5\n"
      "lat_seconds_bucket{path=\"/a\",le=\"1\"} 9 # {trace_id=\"4bf92f35\",span_id=\"00f0\"} 0.73\n"
      "lat_seconds_bucket{path=\"/a\",le=\"+Inf\"} 10 # {trace_id=\"a1\"} 2.5 1700000000.5\n"
      "lat_seconds_sum{path=\"/a\"} 3.5\n"
      "lat_seconds_count{path=\"/a\"} 10\n"
      "# TYPE jobs counter\n"
      "jobs_total 3 # {trace_id=\"c1\"} 1\n"
      "# EOF\n";
  f.ok(body, kT0, ExpositionFormat::openmetrics);
  f.ok(body, kT0 + 15'000, ExpositionFormat::openmetrics);
  int seen = 0;
  f.store.forEachSeries([&](SeriesId id, std::string_view name, const LabelPairs& labels) {
    const hotspotd::store::Exemplar* x = f.store.exemplar(id);
    std::string le;
    for (const auto& [k, v] : labels) {
      if (k == "le") le = v;
    }
    if (name == "jobs_total" || name == "lat_seconds_sum" || le == "0.1") {
      CHECK(x == nullptr);  // only buckets' exemplars are kept
      return;
    }
    if (name != "lat_seconds_bucket") return;
    REQUIRE(x);
    ++seen;
    if (le == "1") {
      CHECK(x->labels ==
            std::vector<std::pair<std::string, std::string>>{{"trace_id", "4bf92f35"}, {"span_id", "00f0"}});
      CHECK(x->value == 0.73);
      CHECK(x->t_ms == kT0);  // first seen at the first scrape, not moved by the second
    } else {
      CHECK(x->t_ms == 1'700'000'000'500);  // its own timestamp
    }
  });
  CHECK(seen == 2);
}

TEST_CASE("label churn: the series cache follows the store instead of keeping every value a label ever had") {
  SeriesStore store(StoreConfig{.full_resolution = 1min, .retention = 1min, .coarse_step = 15s, .staleness = 30s});
  TargetIngester ingester{store, store.addGroup("api"), {{"job", "api"}}};
  std::size_t cache_at_minute_2 = 0;
  for (int scrape = 0; scrape < 60; ++scrape) {
    std::string body = "# TYPE requests_total counter\n";
    for (int i = 0; i < 500; ++i) {
      body += "requests_total{request_id=\"" + std::to_string(scrape) + "-" + std::to_string(i) + "\"} 1\n";
    }
    REQUIRE(ingester.ingest(body, ExpositionFormat::prometheus_text, kT0 + scrape * 15'000, {}));
    if (scrape == 8) cache_at_minute_2 = ingester.cacheBytes();
  }
  CHECK(store.seriesCount() <= 1500);
  // 15 minutes of churn (30,000 values seen): the cache is no bigger than after two minutes.
  CHECK(ingester.cacheBytes() <= cache_at_minute_2);
}

TEST_CASE("a store at max_series: the scrape stores the series it holds, refuses new ones, and says how many") {
  SeriesStore store(StoreConfig{.max_series = 2});
  TargetIngester ingester{store, store.addGroup("api"), {{"job", "api"}}};
  auto r = ingester.ingest("a 1\nb 2\nc 3\nd 4\n", ExpositionFormat::prometheus_text, kT0, {});
  REQUIRE(r);
  CHECK(r->samples == 4);
  CHECK(r->series_added == 2);
  CHECK(r->series_refused == 2);
  CHECK(r->commit.appended == 2);
  // Asked again at the next scrape (not cached as refused forever).
  r = ingester.ingest("a 1\nb 2\nc 3\nd 4\n", ExpositionFormat::prometheus_text, kT0 + 15'000, {});
  REQUIRE(r);
  CHECK(r->series_refused == 2);
  CHECK(store.seriesLimited() == 4);
}

TEST_CASE("a store at max_series that refuses a histogram's +Inf bucket does not fail the target's scrape") {
  SeriesStore store(StoreConfig{.max_series = 2});
  TargetIngester ingester{store, store.addGroup("api"), {{"job", "api"}}};
  auto r = ingester.ingest(kHistogram, ExpositionFormat::prometheus_text, kT0, {});
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  CHECK(r->series_added == 2);
  CHECK(r->series_refused == 3);
  CHECK(r->commit.appended == 2);
}
