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

TEST_CASE("a replay file without timestamps is refused with the sample's name") {
  auto r = ingest::ReplayReader::fromText("a_total 1\n", "x.prom");
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "x.prom: sample a_total has no timestamp (a replay file needs one on every sample)");
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
