// Query answers fed to the series store read back as the same series scraped would: a histogram with its layout,
// counters reset-adjusted, overlapping incremental answers appended once, a shard's share kept.
#include <doctest/doctest.h>

#include <cmath>

#include "ingest/query_feed.h"

using namespace hotspotd;
using namespace hotspotd::ingest;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;
constexpr std::int64_t kStep = 15'000;

RangeSeries series(std::vector<std::pair<std::string, std::string>> labels, std::vector<double> values,
                   int first_step = 0) {
  RangeSeries s;
  s.labels = std::move(labels);
  for (std::size_t i = 0; i < values.size(); ++i) {
    s.points.emplace_back(kT0 + (first_step + static_cast<std::int64_t>(i)) * kStep, values[i]);
  }
  return s;
}

RangeAnswer histogram(int first_step, std::vector<double> fast, std::vector<double> all) {
  RangeAnswer a;
  a.series.push_back(series({{"__name__", "lat_seconds_bucket"}, {"route", "/a"}, {"le", "0.1"}}, fast, first_step));
  a.series.push_back(series({{"__name__", "lat_seconds_bucket"}, {"route", "/a"}, {"le", "+Inf"}}, all, first_step));
  a.series.push_back(series({{"__name__", "lat_seconds_count"}, {"route", "/a"}}, all, first_step));
  return a;
}

}  // namespace

TEST_CASE("a histogram's series from a query become a histogram in the store, step by step") {
  store::SeriesStore store;
  const auto g = store.addGroup("source:prometheus");
  const RangeAnswer first = histogram(0, {10, 20, 30}, {10, 22, 40});
  const FedAnswer fed[] = {{SelectorKind::histogram, &first}};
  const FeedStats s = feedAnswers(store, g, fed);
  CHECK(s.steps == 3);
  CHECK(s.appended == 9);
  CHECK(store.histogramCount() == 1);
  std::optional<store::HistogramView> h;
  store.forEachHistogram([&](const store::HistogramView& v) { h = v; });
  REQUIRE(h);
  CHECK(h->name == "lat_seconds");
  REQUIRE(h->bounds.size() == 2);
  CHECK(h->bounds[0] == 0.1);
  CHECK(std::isinf(h->bounds[1]));
  CHECK(store.increase(h->buckets[1], kT0 + 2 * kStep, 30s) == 30.0);

  // The next evaluation's answer overlaps the last step: it is appended once, and a counter reset is adjusted.
  const RangeAnswer next = histogram(2, {30, 5}, {40, 8});
  const FedAnswer more[] = {{SelectorKind::histogram, &next}};
  const FeedStats t = feedAnswers(store, g, more);
  CHECK(t.old == 3);
  CHECK(t.steps == 1);
  CHECK(store.increase(h->buckets[1], kT0 + 3 * kStep, 15s) == 8.0);  // 40 -> reset -> 8
}

TEST_CASE("counters and gauges by the selector's role; what cannot be fed is counted, a shard keeps its share") {
  store::SeriesStore store;
  const auto g = store.addGroup("source:prometheus");
  RangeAnswer counters;
  counters.series.push_back(series({{"__name__", "req_total"}, {"route", "/a"}}, {100, 50}));
  counters.series.push_back(series({{"__name__", "req_total"}, {"route", "/b"}}, {1, 2}));
  counters.series.push_back(series({{"route", "/c"}}, {1, 2}));  // no name: not a plain selector's answer
  RangeAnswer odd;
  odd.series.push_back(series({{"__name__", "lat_seconds_bucket"}, {"le", "fast"}}, {1}));
  odd.series.push_back(series({{"__name__", "lat_seconds_created"}}, {1}));
  const FedAnswer fed[] = {{SelectorKind::counter, &counters}, {SelectorKind::histogram, &odd}};
  const FeedStats s = feedAnswers(store, g, fed, [](const RangeSeries& x) {
    return std::none_of(x.labels.begin(), x.labels.end(), [](const auto& l) { return l.second == "/b"; });
  });
  CHECK(s.unnamed == 1);
  CHECK(s.unusable == 2);
  CHECK(store.seriesCount() == 1);
  std::optional<store::SeriesId> a;
  store.forEachSeries([&](store::SeriesId id, std::string_view name, const store::LabelPairs&) {
    if (name == "req_total") a = id;
  });
  REQUIRE(a);
  CHECK(store.increase(*a, kT0 + kStep, 15s) == 50.0);  // a counter: 100 -> 50 is a reset, +50
}
