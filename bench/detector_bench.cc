// Detector evaluation cost per histogram per evaluation (target: <= 1 us with 100k histograms; promtool
// evaluates histogram_quantile at about 35 us per histogram per step on this machine).
#include <benchmark/benchmark.h>

#include <cmath>
#include <string>

#include "detectors/detector.h"
#include "detectors/drift.h"
#include "rules/rule_loader.h"

using namespace hotspotd;

namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;
constexpr std::int64_t kStep = 15'000;

void BM_DriftPerHistogram(benchmark::State& state) {
  const int histograms = static_cast<int>(state.range(0));
  const std::vector<double> bounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, INFINITY};
  store::StoreConfig config;
  config.retention = std::chrono::minutes(70);
  store::SeriesStore store(config);
  const auto group = store.addGroup("bench");
  std::vector<store::SeriesRef> refs;
  std::vector<std::string> les;
  for (double b : bounds) les.push_back(std::isinf(b) ? "+Inf" : std::to_string(b));
  for (int h = 0; h < histograms; ++h) {
    const std::string route = "/r" + std::to_string(h);
    for (std::size_t b = 0; b < bounds.size(); ++b) {
      refs.push_back(store.resolve(group, {"http_request_duration_seconds_bucket",
                                           {{"route", route}, {"le", les[b]}},
                                           store::SeriesRole::bucket,
                                           "http_request_duration_seconds",
                                           bounds[b]}));
    }
  }
  // 70 minutes of scrapes: a full baseline and judged window for every histogram.
  // A realistic shape: cumulative share of requests at or under each bound, 1000 requests a scrape.
  const std::vector<double> share{0.1, 0.3, 0.5, 0.7, 0.85, 0.95, 0.985, 0.995, 0.999, 0.9995, 0.9999, 1};
  std::vector<store::StagedSample> batch(refs.size());
  const int scrapes = 70 * 4;
  for (int i = 0; i < scrapes; ++i) {
    for (std::size_t k = 0; k < refs.size(); ++k) {
      const std::size_t b = k % bounds.size();
      batch[k] = {refs[k], std::floor(static_cast<double>(i) * 1000.0 * share[b])};
    }
    store.commit(group, kT0 + i * kStep, batch);
  }
  detectors::DriftDetector detector(rules::defaultRules().front());
  // As the daemon runs it: a scrape, then an evaluation at the newest time, 15 s apart. The scrapes are not timed.
  // The first evaluation fills each endpoint's baseline from the store (one walk back through the hour); after
  // that, a baseline slot moves every 5 minutes and each evaluation reads the points scraped since the last one.
  std::int64_t t = kT0 + (scrapes - 1) * kStep;
  std::size_t judged = 0;
  int i = scrapes;
  // range(1) 0: the steady state only (the first evaluation, with its fill, before the timed ones).
  if (state.range(1) == 0) benchmark::DoNotOptimize(detector.evaluate(store, t, std::chrono::milliseconds(kStep)));
  for (auto _ : state) {
    state.PauseTiming();
    for (std::size_t k = 0; k < refs.size(); ++k) {
      batch[k] = {refs[k], std::floor(static_cast<double>(i) * 1000.0 * share[k % bounds.size()])};
    }
    t = kT0 + i * kStep;
    store.commit(group, t, batch);
    ++i;
    state.ResumeTiming();
    auto findings = detector.evaluate(store, t, std::chrono::milliseconds(kStep));
    judged = 0;
    for (const auto& f : findings) judged += f.judged ? 1 : 0;
    benchmark::DoNotOptimize(findings);
  }
  state.counters["judged"] = static_cast<double>(judged);
  state.counters["us_per_histogram"] = benchmark::Counter(static_cast<double>(state.iterations()) * histograms / 1e6,
                                                          benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
// 60 evaluations: a quarter of an hour, three baseline slots moved; with the first evaluation's fill (range(1) 1) or
// after it (0: what each evaluation costs once the daemon has been up a minute).
BENCHMARK(BM_DriftPerHistogram)
    ->ArgsProduct({{1000, 10000, 100000}, {1, 0}})
    ->ArgNames({"histograms", "fill"})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(60);

// Counter and gauge rules (availability burn rate, threshold, anomaly) in a store of `range(0)` series, of which
// 2,000 are the rule's (1,000 routes, a 200 and a 500 counter each): the cost of one evaluation, finding the rule's
// series included, as a scrape brings no new series. Per evaluation, in ms.
void BM_CounterRules(benchmark::State& state) {
  const int total = static_cast<int>(state.range(0));
  const int kind = static_cast<int>(state.range(1));
  store::StoreConfig config;
  config.retention = std::chrono::hours(2);
  store::SeriesStore store(config);
  const auto group = store.addGroup("bench");
  std::vector<store::SeriesRef> refs;
  constexpr int kRoutes = 1000;
  for (int r = 0; r < kRoutes; ++r) {
    for (const char* code : {"200", "500"}) {
      refs.push_back(store.resolve(group, {"http_requests_total",
                                           {{"route", "/r" + std::to_string(r)}, {"code", code}},
                                           store::SeriesRole::counter,
                                           {},
                                           0}));
    }
  }
  // The rest: other families a host exports (a dozen labels' worth of node and process metrics).
  for (int i = static_cast<int>(refs.size()); i < total; ++i) {
    refs.push_back(store.resolve(group, {"node_metric_" + std::to_string(i % 200),
                                         {{"instance", "host:9100"}, {"device", "d" + std::to_string(i)}},
                                         store::SeriesRole::gauge,
                                         {},
                                         0}));
  }
  const char* rules[] = {
      R"([[rules]]
name = "Availability"
kind = "burn_rate"
objective = 0.999
errors = 'http_requests_total{code=~"5.."}'
total = 'http_requests_total'
)",
      R"([[rules]]
name = "Rate"
kind = "threshold"
counter = 'http_requests_total{code="500"}'
above = 5
window = "5m"
)",
      R"([[rules]]
name = "Traffic"
kind = "anomaly"
counter = 'http_requests_total{code="200"}'
)"};
  auto parsed = rules::parseRules(rules[kind], "bench.toml");
  if (!parsed) {
    state.SkipWithError(parsed.error().message.c_str());
    return;
  }
  auto detector = detectors::makeDetector(parsed->front());
  std::vector<store::StagedSample> batch(refs.size());
  auto scrape = [&](int i) {
    for (std::size_t k = 0; k < refs.size(); ++k) batch[k] = {refs[k], static_cast<double>(i) * 10.0};
    store.commit(group, kT0 + i * kStep, batch);
  };
  int i = 0;
  for (; i < 60; ++i) scrape(i);  // a quarter of an hour
  detector->evaluate(store, kT0 + (i - 1) * kStep, std::chrono::milliseconds(kStep));
  for (auto _ : state) {
    state.PauseTiming();
    scrape(i);
    state.ResumeTiming();
    auto findings = detector->evaluate(store, kT0 + i * kStep, std::chrono::milliseconds(kStep));
    benchmark::DoNotOptimize(findings);
    ++i;
  }
  state.SetLabel(kind == 0 ? "burn_rate" : kind == 1 ? "threshold" : "anomaly");
}
BENCHMARK(BM_CounterRules)->ArgsProduct({{10'000, 100'000}, {0, 1, 2}})->Unit(benchmark::kMillisecond)->Iterations(20);

}  // namespace

BENCHMARK_MAIN();
