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
  const store::GroupId group = store.addGroup("replay");
  std::int64_t t = 0, previous = 0;
  std::vector<const ingest::ParsedSample*> samples;
  int steps = 0;
  std::size_t per_step = 0;
  while (r->next(t, samples)) {
    if (steps > 0) CHECK(t - previous == 15'000);
    if (steps == 0) per_step = samples.size();
    CHECK(samples.size() == per_step);
    ingest::ReplayReader::commit(store, group, t, samples);
    previous = t;
    ++steps;
  }
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
  std::vector<const ingest::ParsedSample*> samples;
  REQUIRE(r->next(t, samples));
  CHECK(t == 1000);
  CHECK(samples.size() == 2);
  REQUIRE(r->next(t, samples));
  CHECK(t == 16000);
  CHECK_FALSE(r->next(t, samples));
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
  std::vector<const ingest::ParsedSample*> samples;
  std::vector<std::string> got;
  while (r->next(t, samples)) {
    std::string scrape = std::to_string(t) + ":";
    for (const auto* s : samples) scrape += " " + s->name + "=" + std::to_string(static_cast<int>(s->value));
    got.push_back(scrape);
  }
  CHECK_FALSE(r->error());
  CHECK(got == std::vector<std::string>{"1000: lat_bucket=1 lat_bucket=2 b=10", "1500: b=20",
                                        "2000: lat_bucket=3 lat_bucket=4 b=11 b=21", "3000: b=12"});
}

TEST_CASE("a scrape that does not parse stops the replay with the file's line") {
  // The +Inf bucket of the second scrape is missing: found when that scrape is read.
  auto r = ingest::ReplayReader::fromText("# TYPE lat histogram\n"
                                          "lat_bucket{le=\"1\"} 1 1\nlat_bucket{le=\"+Inf\"} 2 1\n"
                                          "lat_bucket{le=\"1\"} 3 2\n"
                                          "# EOF\n",
                                          "x.om");
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  std::int64_t t = 0;
  std::vector<const ingest::ParsedSample*> samples;
  REQUIRE(r->next(t, samples));
  CHECK_FALSE(r->next(t, samples));
  REQUIRE(r->error());
  CHECK(r->error()->message == "x.om: line 4: histogram has no le=\"+Inf\" bucket");
}

TEST_CASE("invalid UTF-8 anywhere in a replay file is refused at open, with its line") {
  auto r = ingest::ReplayReader::fromText("a_total 1 1000\nb{x=\"\xff\"} 1 1000\n", "x.prom");
  REQUIRE_FALSE(r);
  CHECK(r.error().message.starts_with("x.prom: line 2: invalid UTF-8"));
}
