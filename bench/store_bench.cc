// Series store: memory per active series with 100k series at the default windows (target <= 512 bytes), and the
// cost of parse + store per sample on a warm scrape cache (target <= 0.2 us).
#include <benchmark/benchmark.h>

#include <malloc.h>
#include <unistd.h>

#include <fstream>

#include "bench/exposition_gen.h"
#include "ingest/target_ingester.h"

using namespace hotspotd;

namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;

// Resident bytes after returning freed heap to the system, so memory freed by the benchmark itself (old bodies,
// per-scrape buffers) does not count as held.
double residentBytes() {
  malloc_trim(0);
  std::ifstream statm("/proc/self/statm");
  double pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<double>(sysconf(_SC_PAGESIZE));
}

// 100k series: 7143 label sets x (12 buckets + sum + count), scraped every 15s for the full default retention
// (1h), so every ring is at its steady size.
void BM_MemoryPerSeries(benchmark::State& state) {
  const int sets = static_cast<int>(state.range(0));
  std::string body = bench::histogramExposition(sets);
  for (auto _ : state) {
    const double rss_before = residentBytes();
    store::SeriesStore store;
    ingest::TargetIngester ingester(store, store.addGroup("t"), {{"job", "bench"}, {"instance", "127.0.0.1:1"}});
    // Values grow like live counters: the body is regenerated with new counts every few scrapes.
    for (int scrape = 0; scrape < 240 + 8; ++scrape) {
      auto r = ingester.ingest(body, ingest::ExpositionFormat::prometheus_text, kT0 + scrape * 15'000, {});
      if (!r) state.SkipWithError(r.error().message.c_str());
      if (scrape % 4 == 0) {
        // Bump every integer bucket count by a small amount, as traffic would.
        std::string next;
        next.reserve(body.size());
        std::size_t pos = 0;
        while (pos < body.size()) {
          std::size_t eol = body.find('\n', pos);
          std::string_view line(body.data() + pos, eol - pos);
          std::size_t sp = line.rfind(' ');
          if (line[0] != '#' && line.substr(sp + 1).find('.') == std::string_view::npos) {
            next.append(line.substr(0, sp + 1));
            next += std::to_string(std::stoll(std::string(line.substr(sp + 1))) + 1 + (pos % 5));
          } else {
            next.append(line);
          }
          next += '\n';
          pos = eol + 1;
        }
        body.swap(next);
      }
    }
    const double series = static_cast<double>(store.seriesCount());
    state.counters["series"] = series;
    state.counters["bytes_per_series"] = static_cast<double>(store.memoryBytes() + ingester.cacheBytes()) / series;
    // What the process really holds for them, allocator overhead included (the body itself is subtracted).
    state.counters["rss_bytes_per_series"] =
        (residentBytes() - rss_before - static_cast<double>(body.capacity())) / series;
  }
}
BENCHMARK(BM_MemoryPerSeries)->Arg(7143)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_ParseAndStorePerSample(benchmark::State& state) {
  const std::string body = bench::histogramExposition(static_cast<int>(state.range(0)));
  store::SeriesStore store;
  ingest::TargetIngester ingester(store, store.addGroup("t"), {{"job", "bench"}, {"instance", "127.0.0.1:1"}});
  std::int64_t t = kT0;
  std::size_t samples = 0;
  (void)ingester.ingest(body, ingest::ExpositionFormat::prometheus_text, t, {});  // warm the cache
  for (auto _ : state) {
    t += 15'000;
    auto r = ingester.ingest(body, ingest::ExpositionFormat::prometheus_text, t, {});
    if (!r) state.SkipWithError(r.error().message.c_str());
    samples = r->samples;
  }
  state.counters["ns_per_sample"] = benchmark::Counter(static_cast<double>(state.iterations() * samples),
                                                       benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_ParseAndStorePerSample)->Arg(7143)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
