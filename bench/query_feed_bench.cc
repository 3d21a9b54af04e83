// What an incremental round of a query source costs hotspotd itself for 1,000 endpoints, without the network:
// reading a query_range answer (the histogram query of 1,000 endpoints with 6 buckets, count and sum: 8,000
// series) and feeding it to the source's store, for answers of 1 step (a round at every evaluation) and of 40
// steps (a round after a 10-minute gap at 15 s).
#include <benchmark/benchmark.h>

#include <fmt/format.h>

#include "ingest/query_api.h"
#include "ingest/query_feed.h"
#include "store/series_store.h"

namespace {

using namespace hotspotd;

std::string answer(int endpoints, int steps, std::int64_t t0_s) {
  const char* les[] = {"0.05", "0.1", "0.25", "0.5", "1.0", "+Inf"};
  std::string out = R"({"status":"success","data":{"resultType":"matrix","result":[)";
  bool first = true;
  auto series = [&](const std::string& metric, double per_step) {
    out += first ? "" : ",";
    first = false;
    out += R"({"metric":{)" + metric + R"(},"values":[)";
    for (int s = 0; s < steps; ++s) {
      out += fmt::format(R"({}[{},"{}"])", s ? "," : "", t0_s + s * 15, per_step * (s + 1));
    }
    out += "]}";
  };
  for (int r = 0; r < endpoints; ++r) {
    const std::string labels = fmt::format(R"("service":"fleet","route":"/r{}","instance":"10.0.0.1:8080")", r);
    for (int b = 0; b < 6; ++b) {
      series(fmt::format(R"("__name__":"http_request_duration_seconds_bucket",{},"le":"{}")", labels, les[b]),
             100.0 * (b + 1));
    }
    series(fmt::format(R"("__name__":"http_request_duration_seconds_count",{})", labels), 600);
    series(fmt::format(R"("__name__":"http_request_duration_seconds_sum",{})", labels), 48.5);
  }
  return out + "]}}";
}

void BM_ReadAndFeed(benchmark::State& state) {
  const int endpoints = 1000;
  const int steps = static_cast<int>(state.range(0));
  std::int64_t t0 = 1'700'000'000;
  store::SeriesStore store(store::StoreConfig{});
  const store::GroupId group = store.addGroup("q");
  std::size_t points = 0, bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string body = answer(endpoints, steps, t0);
    t0 += steps * 15;
    state.ResumeTiming();
    auto read = ingest::readRangeAnswer(200, "", body);
    if (!read) state.SkipWithError("unreadable answer");
    const ingest::FedAnswer fed{ingest::SelectorKind::histogram, &*read};
    const auto stats = ingest::feedAnswers(store, group, std::span(&fed, 1));
    benchmark::DoNotOptimize(stats);
    points += read->points;
    bytes += body.size();
  }
  state.counters["points/s"] = benchmark::Counter(static_cast<double>(points), benchmark::Counter::kIsRate);
  state.counters["ns/point"] =
      benchmark::Counter(static_cast<double>(points), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["answer_bytes"] = static_cast<double>(bytes) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_ReadAndFeed)->Arg(1)->Arg(40)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
