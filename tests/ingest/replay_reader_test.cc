#include <doctest/doctest.h>

#include <set>

#include "ingest/replay_reader.h"

using namespace hotspotd;
using namespace std::chrono_literals;

TEST_CASE("a recorded scenario replays scrape by scrape in time order") {
  auto r = ingest::ReplayReader::open(HOTSPOTD_SOURCE_DIR "/tests/data/scenarios/tail_drift-1.om.gz");
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  CHECK(r->firstMs() == 1'700'000'000'000);
  CHECK(r->lastMs() == 1'700'014'400'000);
  store::SeriesStore store;
  ingest::TargetIngester ingester(store, store.addGroup("replay"), {});
  std::int64_t t = 0, previous = 0;
  int steps = 0;
  std::size_t per_step = 0;
  while (r->next(t)) {
    if (steps > 0) CHECK(t - previous == 15'000);
    const auto stored = r->commit(ingester);
    REQUIRE_MESSAGE(stored, (stored ? "" : stored.error().message));
    if (steps == 0) per_step = stored->appended;
    CHECK(stored->appended == per_step);
    CHECK(stored->appended > 0);
    previous = t;
    ++steps;
  }
  CHECK_FALSE(r->error());
  CHECK(steps == 14400 / 15 + 1);
  CHECK(store.histogramCount() > 1);
  std::set<std::string> routes;
  store.forEachHistogram([&](const store::HistogramView& h) {
    CHECK(h.bounds.size() == 12);
    for (const auto& [k, v] : h.labels) {
      if (k == "route") routes.insert(std::string(v));
    }
  });
  CHECK(routes.count("/api/search") == 1);
}

TEST_CASE("a replay file without timestamps is refused with the sample's name and line") {
  auto r = ingest::ReplayReader::fromText("a_total 1 1000\na_total 1\n", "x.prom");
  REQUIRE_FALSE(r);
  CHECK(r.error().message ==
        "x.prom: line 2: sample a_total has no timestamp (a replay file needs one on every sample)");
}

TEST_CASE("a malformed replay file names the file and line") {
  auto r = ingest::ReplayReader::fromText("a_total 1 1000\nb{ 2 1000\n", "x.prom");
  REQUIRE_FALSE(r);
  CHECK(r.error().message.starts_with("x.prom: line 2: "));
}

TEST_CASE("0.0.4 text with millisecond timestamps replays too, and samples of one time form one scrape") {
  auto r = ingest::ReplayReader::fromText("a_total 1 1000\nb 5 1000\na_total 3 16000\nb 6 16000\n", "x.prom");
  REQUIRE(r);
  std::int64_t t = 0;
  REQUIRE(r->next(t));
  CHECK(t == 1000);
  CHECK(r->peekMs() == 16000);
  CHECK(r->text() == "a_total 1 1000\nb 5 1000\n");
  REQUIRE(r->next(t));
  CHECK(t == 16000);
  CHECK(r->text() == "a_total 3 16000\nb 6 16000\n");
  CHECK_FALSE(r->peekMs());
  CHECK_FALSE(r->next(t));
}

TEST_CASE("families listed one after the other are merged into scrapes in time order, in the file's order") {
  // Each family (and, for b, each series) lists its scrapes in time order, one after the other, as recordings do.
  auto r = ingest::ReplayReader::fromText("# TYPE lat histogram\n"
                                          "lat_bucket{le=\"1\"} 1 1\nlat_bucket{le=\"+Inf\"} 2 1\n"
                                          "lat_bucket{le=\"1\"} 3 2\nlat_bucket{le=\"+Inf\"} 4 2\n"
                                          "# TYPE b gauge\n"
                                          "b{s=\"x\"} 10 1\nb{s=\"x\"} 11 2\nb{s=\"x\"} 12 3\n"
                                          "b{s=\"y\"} 20 1.5\nb{s=\"y\"} 21 2\n"
                                          "# EOF\n",
                                          "x.om");
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  CHECK(r->sampleCount() == 9);
  std::int64_t t = 0;
  std::vector<std::string> got;
  ingest::ParseLimits limits;
  limits.allow_repeated_families = true;
  while (r->next(t)) {
    const auto parsed = ingest::parseExposition(r->text(), ingest::ExpositionFormat::openmetrics, limits);
    REQUIRE_MESSAGE(parsed, (parsed ? "" : parsed.error().message));
    std::string scrape = std::to_string(t) + ":";
    for (const auto& s : parsed->samples) scrape += " " + s.name + "=" + std::to_string(static_cast<int>(s.value));
    got.push_back(scrape);
  }
  CHECK_FALSE(r->error());
  CHECK(got == std::vector<std::string>{"1000: lat_bucket=1 lat_bucket=2 b=10", "1500: b=20",
                                        "2000: lat_bucket=3 lat_bucket=4 b=11 b=21", "3000: b=12"});
}

TEST_CASE("a scrape that does not parse stops the replay with the file's line") {
  // The +Inf bucket of the second scrape is missing: found when that scrape is stored.
  auto r = ingest::ReplayReader::fromText("# TYPE lat histogram\n"
                                          "lat_bucket{le=\"1\"} 1 1\nlat_bucket{le=\"+Inf\"} 2 1\n"
                                          "lat_bucket{le=\"1\"} 3 2\n"
                                          "# EOF\n",
                                          "x.om");
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  store::SeriesStore store;
  ingest::TargetIngester ingester(store, store.addGroup("replay"), {});
  std::int64_t t = 0;
  REQUIRE(r->next(t));
  REQUIRE(r->commit(ingester));
  REQUIRE(r->next(t));
  const auto stored = r->commit(ingester);
  REQUIRE_FALSE(stored);
  CHECK(stored.error().message == "x.om: line 4: histogram has no le=\"+Inf\" bucket");
  REQUIRE(r->error());
  CHECK(r->error()->message == stored.error().message);
  CHECK_FALSE(r->next(t));
}

TEST_CASE("invalid UTF-8 anywhere in a replay file is refused at open, with its line") {
  auto r = ingest::ReplayReader::fromText("a_total 1 1000\nb{x=\"\xff\"} 1 1000\n", "x.prom");
  REQUIRE_FALSE(r);
  CHECK(r.error().message.starts_with("x.prom: line 2: invalid UTF-8"));
}
