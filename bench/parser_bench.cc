// Parser throughput on a histogram-heavy exposition (MB/s), for the target of >= 300 MB/s single-core.
#include <benchmark/benchmark.h>

#include "bench/exposition_gen.h"
#include "ingest/text_parser.h"

using namespace hotspotd::ingest;

namespace {

void BM_ParseSamples(benchmark::State& state) {
  const std::string body = hotspotd::bench::histogramExposition(static_cast<int>(state.range(0)));
  std::size_t samples = 0;
  for (auto _ : state) {
    TextParser p(body, ExpositionFormat::prometheus_text);
    double sum = 0;
    while (p.next()) sum += p.value();
    benchmark::DoNotOptimize(sum);
    if (p.error()) state.SkipWithError(p.error()->message.c_str());
    samples = p.samplesSeen();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.counters["ns_per_sample"] = benchmark::Counter(static_cast<double>(state.iterations() * samples),
                                                       benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ParseSamples)->Arg(5000);

void BM_ParseWithLabels(benchmark::State& state) {
  const std::string body = hotspotd::bench::histogramExposition(static_cast<int>(state.range(0)));
  std::vector<Label> labels;
  for (auto _ : state) {
    TextParser p(body, ExpositionFormat::prometheus_text);
    std::size_t n = 0;
    while (p.next()) {
      p.labels(labels);
      n += labels.size();
    }
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_ParseWithLabels)->Arg(5000);

}  // namespace

BENCHMARK_MAIN();
