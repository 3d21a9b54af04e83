#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "store/series_store.h"
#include "store/value_ring.h"

using namespace hotspotd::store;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;  // ms
constexpr std::int64_t kStep = 15'000;

SeriesDesc counter(std::string_view name) {
  return SeriesDesc{name, {{"job", "api"}}, SeriesRole::counter, {}, 0};
}

SeriesDesc bucket(std::string_view le_text, double le, std::string_view path = "/a") {
  return SeriesDesc{"lat_seconds_bucket", {{"path", path}, {"le", le_text}}, SeriesRole::bucket, "lat_seconds", le};
}

}  // namespace

TEST_CASE("value rings give back exactly what went in, newest first") {
  ValueRing r;
  const double values[] = {0, 5, 5, 1e6, 12.25, -3, 1e300, 7, 0.1 + 0.2, 9007199254740993.0};
  for (double v : values) r.append(v);
  r.appendMissing();
  std::vector<std::pair<bool, double>> seen;
  r.forEachBackward([&](std::uint32_t, bool present, double v) {
    seen.emplace_back(present, v);
    return true;
  });
  REQUIRE(seen.size() == 11);
  CHECK_FALSE(seen[0].first);
  for (std::size_t i = 0; i < 10; ++i) CHECK(seen[10 - i].second == values[i]);
  r.dropFront();
  r.dropFront();
  CHECK(r.count() == 9);
  CHECK(r.lastValue() == values[9]);
}

TEST_CASE("counter resets: the increase across a reset counts from zero, as in Prometheus") {
  SeriesStore store;
  const GroupId g = store.addGroup("t");
  const SeriesRef c = store.resolve(g, counter("req_total"));
  const double raw[] = {10, 20, 5, 15};
  for (int i = 0; i < 4; ++i) store.commit(g, kT0 + i * kStep, std::vector<StagedSample>{{c, raw[i]}});
  // 10 -> 20 (+10), reset to 5 (+5), 5 -> 15 (+10)
  CHECK(store.increase(c.id, kT0 + 3 * kStep, std::chrono::milliseconds(3 * kStep)) == 25.0);
  CHECK(store.increase(c.id, kT0 + 3 * kStep, std::chrono::milliseconds(kStep)) == 10.0);
}

TEST_CASE("a histogram resets as a whole when any of its series goes down") {
  SeriesStore store;
  const GroupId g = store.addGroup("t");
  const SeriesRef b1 = store.resolve(g, bucket("1", 1));
  const SeriesRef inf = store.resolve(g, bucket("+Inf", INFINITY));
  // A restart: the +Inf bucket drops from 100 to 8, while le=1 happens to go from 5 to 6 (no decrease of its own).
  store.commit(g, kT0, std::vector<StagedSample>{{b1, 5}, {inf, 100}});
  store.commit(g, kT0 + kStep, std::vector<StagedSample>{{b1, 6}, {inf, 8}});
  CHECK(store.increase(b1.id, kT0 + kStep, std::chrono::milliseconds(kStep)) == 6.0);
  CHECK(store.increase(inf.id, kT0 + kStep, std::chrono::milliseconds(kStep)) == 8.0);
}

TEST_CASE("after a reset, an idle histogram is not reset again by its sum's rounding") {
  // A low-rate endpoint restarts, then serves nothing for a while: every series repeats its value. Its _sum is not
  // an integer, and stored + offset - offset need not give the raw sum back exactly; a decrease must be judged on
  // what would be stored, or each idle scrape reads as another reset and the buckets climb by their whole value
  // every scrape (a drift page once counted 2,367 requests of an endpoint that had served about 900).
  SeriesStore store;
  const GroupId g = store.addGroup("t");
  const SeriesRef b1 = store.resolve(g, bucket("1", 1));
  const SeriesRef inf = store.resolve(g, bucket("+Inf", INFINITY));
  const SeriesRef sum = store.resolve(
      g, SeriesDesc{"lat_seconds_sum", {{"path", "/a"}}, SeriesRole::sum, "lat_seconds", 0});
  const SeriesRef count = store.resolve(
      g, SeriesDesc{"lat_seconds_count", {{"path", "/a"}}, SeriesRole::count, "lat_seconds", 0});
  std::int64_t t = kT0;
  auto scrape = [&](double le1, double total, double seconds) {
    store.commit(g, t, std::vector<StagedSample>{{b1, le1}, {inf, total}, {sum, seconds}, {count, total}});
    t += kStep;
  };
  scrape(1200, 1216, 41.31127);
  scrape(1201, 1217, 41.3473);
  scrape(0, 0, 0);               // the restart
  scrape(2, 3, 0.1);             // three requests since (0.1 + 41.3473 - 41.3473 is 0.10000000000000142)
  for (int i = 0; i < 40; ++i) scrape(2, 3, 0.1);  // ten minutes without a request
  scrape(3, 4, 0.1398471);       // one more
  const std::int64_t last = t - kStep;
  // Over the last ten minutes: one request, in the le=1 bucket.
  CHECK(store.increase(inf.id, last, std::chrono::minutes(10)) == 1.0);
  CHECK(store.increase(b1.id, last, std::chrono::minutes(10)) == 1.0);
  CHECK(store.increase(count.id, last, std::chrono::minutes(10)) == 1.0);
  // Across the restart: 1 before it, 3 after it, 1 at the end.
  CHECK(store.increase(inf.id, last, std::chrono::milliseconds(44 * kStep)) == 5.0);
  CHECK(store.increase(sum.id, last, std::chrono::milliseconds(44 * kStep)) == doctest::Approx(0.1758771));
}

TEST_CASE("a bucket layout change starts a new generation") {
  SeriesStore store;
  const GroupId g = store.addGroup("t");
  const SeriesRef b1 = store.resolve(g, bucket("1", 1));
  const SeriesRef inf = store.resolve(g, bucket("+Inf", INFINITY));
  store.commit(g, kT0, std::vector<StagedSample>{{b1, 1}, {inf, 2}});
  store.commit(g, kT0 + kStep, std::vector<StagedSample>{{b1, 2}, {inf, 3}});
  auto h = store.histogram(store.histogramOf(b1));
  REQUIRE(h);
  CHECK(h->generation == 1);
  CHECK(h->bounds.size() == 2);
  CHECK(h->labels == LabelPairs{{"path", "/a"}});

  const SeriesRef b05 = store.resolve(g, bucket("0.5", 0.5));
  store.commit(g, kT0 + 2 * kStep, std::vector<StagedSample>{{b05, 1}, {b1, 3}, {inf, 4}});
  h = store.histogram(store.histogramOf(b1));
  CHECK(h->generation == 2);
  CHECK(h->layout_since_ms == kT0 + 2 * kStep);
  REQUIRE(h->bounds.size() == 3);
  CHECK(h->bounds[0] == 0.5);
  CHECK(std::isinf(h->bounds[2]));
  // Unchanged layouts keep their generation.
  store.commit(g, kT0 + 3 * kStep, std::vector<StagedSample>{{b05, 1}, {b1, 4}, {inf, 5}});
  CHECK(store.histogram(store.histogramOf(b1))->generation == 2);
}

TEST_CASE("series absent longer than the staleness period are dropped, and their refs go invalid") {
  SeriesStore store;
  const GroupId g = store.addGroup("t");
  const SeriesRef a = store.resolve(g, counter("a_total"));
  const SeriesRef b = store.resolve(g, counter("b_total"));
  store.commit(g, kT0, std::vector<StagedSample>{{a, 1}, {b, 1}});
  store.setExemplar(b, Exemplar{{{"trace_id", "t1"}}, 0.5, kT0});
  REQUIRE(store.exemplar(b.id));
  for (int i = 1; i <= 20; ++i) store.commit(g, kT0 + i * 30'000, std::vector<StagedSample>{{a, 1.0 + i}});
  CHECK(store.seriesCount() == 1);
  CHECK(store.valid(a));
  CHECK_FALSE(store.valid(b));
  // A new series may reuse the slot; the old ref still does not match it, nor does the old series' exemplar.
  const SeriesRef c = store.resolve(g, counter("c_total"));
  CHECK(c.id == b.id);
  CHECK_FALSE(store.valid(b));
  CHECK(store.exemplar(c.id) == nullptr);
  store.setExemplar(b, Exemplar{{{"trace_id", "t2"}}, 0.5, kT0});  // a stale ref sets nothing
  CHECK(store.exemplar(c.id) == nullptr);
}

TEST_CASE("a scrape gap leaves no points; lookups answer within the lookback only") {
  SeriesStore store;
  const GroupId g = store.addGroup("t");
  const SeriesRef a = store.resolve(g, counter("a_total"));
  store.commit(g, kT0, std::vector<StagedSample>{{a, 1}});
  // Scrapes at +15s..+60s failed: nothing committed. The next one arrives at +75s.
  store.commit(g, kT0 + 75'000, std::vector<StagedSample>{{a, 9}});
  CHECK(store.pointAt(a.id, kT0 + 60'000, 5min)->value == 1.0);
  CHECK_FALSE(store.pointAt(a.id, kT0 + 60'000, 30s));
  CHECK(store.increase(a.id, kT0 + 75'000, 75s) == 8.0);
}

TEST_CASE("old points are kept at one per coarse step, so long windows stay exact at minute boundaries") {
  StoreConfig config;
  config.full_resolution = 15min;
  config.retention = 1h;
  SeriesStore store(config);
  const GroupId g = store.addGroup("t");
  const SeriesRef a = store.resolve(g, counter("a_total"));
  // Two hours of 15s scrapes of a counter that grows by 3 a scrape.
  const int n = 2 * 240;
  for (int i = 0; i < n; ++i) store.commit(g, kT0 + i * kStep, std::vector<StagedSample>{{a, 3.0 * i}});
  const std::int64_t now = kT0 + (n - 1) * kStep;
  // Recent: full resolution.
  CHECK(store.increase(a.id, now, 5min) == 3.0 * 20);
  // 45 minutes back: from the coarse tier, whose points fall on minute steps.
  auto old = store.pointAt(a.id, now - 45 * 60'000, 5min);
  REQUIRE(old);
  CHECK(now - old->t_ms >= 45 * 60'000);
  CHECK(now - old->t_ms < 46 * 60'000);
  CHECK(old->value == 3.0 * static_cast<double>((old->t_ms - kT0) / kStep));
  // Past the retention nothing is left.
  CHECK_FALSE(store.pointAt(a.id, now - 90 * 60'000, 5min));
}

TEST_CASE("a series twice in one batch keeps the first value and counts a duplicate") {
  SeriesStore store;
  const GroupId g = store.addGroup("t");
  const SeriesRef a = store.resolve(g, counter("a_total"));
  auto stats = store.commit(g, kT0, std::vector<StagedSample>{{a, 1}, {a, 2}});
  CHECK(stats.duplicates == 1);
  CHECK(store.pointAt(a.id, kT0, 1min)->value == 1.0);
}

TEST_CASE("resolving the same identity twice gives the same series; labels come back sorted") {
  SeriesStore store;
  const GroupId g = store.addGroup("t");
  const SeriesRef x = store.resolve(g, SeriesDesc{"m", {{"b", "2"}, {"a", "1"}}, SeriesRole::gauge, {}, 0});
  const SeriesRef y = store.resolve(g, SeriesDesc{"m", {{"a", "1"}, {"b", "2"}}, SeriesRole::gauge, {}, 0});
  CHECK(x.id == y.id);
  CHECK(store.labels(x.id) == LabelPairs{{"a", "1"}, {"b", "2"}});
  CHECK(store.name(x.id) == "m");
  const GroupId other = store.addGroup("u");
  CHECK(store.resolve(other, SeriesDesc{"m", {{"a", "1"}, {"b", "2"}}, SeriesRole::gauge, {}, 0}).id != x.id);
}

TEST_CASE("the name index visits the series of one name, through drops, slot reuse and a group's removal") {
  SeriesStore store;
  const GroupId g = store.addGroup("t");
  const GroupId other = store.addGroup("u");
  auto named = [&](std::string_view name) {
    std::vector<std::pair<SeriesId, std::string>> seen;
    store.forEachSeriesNamed(name, [&](SeriesId id, std::string_view n, const LabelPairs& labels) {
      CHECK(n == name);
      seen.emplace_back(id, std::string(labels.at(0).second));
    });
    std::sort(seen.begin(), seen.end());
    return seen;
  };
  auto req = [](std::string_view route) {
    return SeriesDesc{"requests_total", {{"route", route}}, SeriesRole::counter, {}, 0};
  };
  const std::uint64_t v0 = store.seriesVersion();
  const SeriesRef a = store.resolve(g, req("/a"));
  const SeriesRef b = store.resolve(g, req("/b"));
  const SeriesRef x = store.resolve(g, counter("other_total"));
  const SeriesRef c = store.resolve(other, req("/c"));
  const std::uint64_t v1 = store.seriesVersion();
  CHECK(v1 != v0);
  CHECK(named("requests_total") ==
        std::vector<std::pair<SeriesId, std::string>>{{a.id, "/a"}, {b.id, "/b"}, {c.id, "/c"}});
  CHECK(named("other_total").size() == 1);
  CHECK(named("absent_total").empty());
  CHECK(named("job").empty());  // a label's text is a symbol, not a metric name

  // Scrapes that bring no new series leave the version as it is.
  store.commit(g, kT0, std::vector<StagedSample>{{a, 1}, {b, 1}, {x, 1}});
  store.commit(other, kT0, std::vector<StagedSample>{{c, 1}});
  CHECK(store.resolve(g, req("/a")).id == a.id);
  CHECK(store.seriesVersion() == v1);

  // /a goes stale: out of the index, and the version moves; its slot's next series is indexed under its own name.
  for (int i = 1; i <= 20; ++i) store.commit(g, kT0 + i * 30'000, std::vector<StagedSample>{{b, 1.0 + i}, {x, 1}});
  REQUIRE_FALSE(store.valid(a));
  CHECK(store.seriesVersion() != v1);
  CHECK(named("requests_total") == std::vector<std::pair<SeriesId, std::string>>{{b.id, "/b"}, {c.id, "/c"}});
  const SeriesRef reused = store.resolve(g, counter("third_total"));
  CHECK(reused.id == a.id);
  CHECK(named("third_total").size() == 1);
  CHECK(named("requests_total").size() == 2);

  store.removeGroup(other);
  CHECK(named("requests_total") == std::vector<std::pair<SeriesId, std::string>>{{b.id, "/b"}});
  store.removeGroup(g);
  CHECK(named("requests_total").empty());
  CHECK(named("other_total").empty());
}

TEST_CASE("two stores never share a version") {
  SeriesStore one, two;
  CHECK(one.seriesVersion() != two.seriesVersion());
  CHECK(one.histogramsVersion() != two.histogramsVersion());
  CHECK(one.seriesVersion() != 0);
}

TEST_CASE("removing a group drops its series") {
  SeriesStore store;
  const GroupId g = store.addGroup("t");
  store.resolve(g, bucket("1", 1));
  store.resolve(g, bucket("+Inf", INFINITY));
  CHECK(store.seriesCount() == 2);
  CHECK(store.histogramCount() == 1);
  store.removeGroup(g);
  CHECK(store.seriesCount() == 0);
  CHECK(store.histogramCount() == 0);
}

#include <unordered_set>

#include "core/hash.h"

TEST_CASE("the series-text hash spreads a million similar series texts without a collision") {
  std::unordered_set<std::uint64_t> seen;
  std::string text;
  for (int i = 0; i < 1'000'000; ++i) {
    text = "http_request_duration_seconds_bucket{handler=\"/api/v1/r" + std::to_string(i / 12) + "\",le=\"" +
           std::to_string(i % 12) + "\"}";
    seen.insert(hotspotd::hashBytes(text));
  }
  CHECK(seen.size() == 1'000'000);
  CHECK(hotspotd::hashBytes("") != hotspotd::hashBytes(std::string_view("\0", 1)));
  CHECK(hotspotd::hashBytes("abcdefgh") != hotspotd::hashBytes("abcdefgi"));
}

TEST_CASE("pointsSince gives the present points newer than a time, newest first, from the full-resolution tier") {
  SeriesStore store;
  const GroupId g = store.addGroup("t");
  const SeriesRef a = store.resolve(g, counter("a_total"));
  for (int i = 0; i < 10; ++i) {
    // Scrape 7 misses the series (a "no value" point).
    store.commit(g, kT0 + i * 15'000,
                 i == 7 ? std::vector<StagedSample>{} : std::vector<StagedSample>{{a, 10.0 * i}});
  }
  std::vector<Point> out;
  std::int64_t newest = 0;
  store.pointsSince(a.id, kT0 + 5 * 15'000, out, newest);
  REQUIRE(out.size() == 3);  // scrapes 9, 8 and 6; 7 has no value, 5 is not newer
  CHECK(out[0].t_ms == kT0 + 9 * 15'000);
  CHECK(out[0].value == 90);
  CHECK(out[1].t_ms == kT0 + 8 * 15'000);
  CHECK(out[2].t_ms == kT0 + 6 * 15'000);
  CHECK(newest == kT0 + 9 * 15'000);
  // Nothing new since the newest: nothing appended, newest unchanged.
  out.clear();
  store.pointsSince(a.id, newest, out, newest);
  CHECK(out.empty());
  CHECK(newest == kT0 + 9 * 15'000);
}

TEST_CASE("label churn: the strings of dropped series are freed and their memory comes back") {
  SeriesStore store(StoreConfig{.full_resolution = 1min, .retention = 1min, .coarse_step = 15s, .staleness = 30s});
  const GroupId g = store.addGroup("api");
  // Every scrape brings 200 series with request ids never seen before; each lives one scrape.
  std::vector<std::string> ids;
  std::size_t bytes_at_minute_2 = 0;
  for (int scrape = 0; scrape < 40; ++scrape) {
    std::vector<StagedSample> batch;
    ids.clear();
    for (int i = 0; i < 200; ++i) {
      ids.push_back("request-" + std::to_string(scrape) + "-" + std::to_string(i) + "-long-enough-to-be-on-the-heap");
    }
    for (const auto& id : ids) {
      batch.push_back({store.resolve(g, SeriesDesc{"requests_total", {{"job", "api"}, {"request_id", id}},
                                                   SeriesRole::counter, {}, 0}),
                       1});
    }
    store.commit(g, kT0 + scrape * kStep, batch);
    if (scrape == 8) bytes_at_minute_2 = store.memoryBytes();
  }
  // Staleness 30 s at a 15 s step: the last three scrapes' series are held, and only their strings.
  CHECK(store.seriesCount() <= 600);
  CHECK(store.symbolCount() <= 600 + 4);  // the values, plus requests_total, job, api and request_id
  CHECK(store.symbolCount() >= 200);
  CHECK(store.memoryBytes() <= bytes_at_minute_2 * 11 / 10);
  // The freed strings' ids are reused: a series made now reads back its own labels.
  const SeriesRef again = store.resolve(g, SeriesDesc{"requests_total", {{"job", "api"}, {"request_id", "fresh"}},
                                                      SeriesRole::counter, {}, 0});
  const LabelPairs labels = store.labels(again.id);
  REQUIRE(labels.size() == 2);
  CHECK(labels[0].first == "job");
  CHECK(labels[0].second == "api");
  CHECK(labels[1].first == "request_id");
  CHECK(labels[1].second == "fresh");
  CHECK(store.name(again.id) == "requests_total");
}

TEST_CASE("max_series: a new series past the limit is refused and counted; the held ones go on") {
  SeriesStore store(StoreConfig{.full_resolution = 1min, .retention = 1min, .coarse_step = 15s, .staleness = 30s,
                                .max_series = 3});
  const GroupId g = store.addGroup("api");
  std::vector<SeriesRef> refs;
  for (std::string path : {"/a", "/b", "/c", "/d", "/e"}) {
    refs.push_back(store.resolve(g, SeriesDesc{"requests_total", {{"path", path}}, SeriesRole::counter, {}, 0}));
  }
  CHECK(store.valid(refs[2]));
  CHECK_FALSE(store.valid(refs[3]));
  CHECK_FALSE(store.valid(refs[4]));
  CHECK(store.seriesCount() == 3);
  CHECK(store.seriesLimited() == 2);
  // Samples of refused series are skipped; the others are stored.
  std::vector<StagedSample> batch;
  for (const auto& r : refs) batch.push_back({r, 5});
  CHECK(store.commit(g, kT0, batch).appended == 3);
  // A series that is already held resolves to itself, limit or not.
  const SeriesRef a = store.resolve(g, SeriesDesc{"requests_total", {{"path", "/a"}}, SeriesRole::counter, {}, 0});
  CHECK(a.id == refs[0].id);
  CHECK(store.seriesLimited() == 2);
  // When series go, there is room again.
  store.commit(g, kT0 + 60'000, {});
  CHECK(store.seriesCount() == 0);
  CHECK(store.valid(store.resolve(g, SeriesDesc{"requests_total", {{"path", "/d"}}, SeriesRole::counter, {}, 0})));
}
