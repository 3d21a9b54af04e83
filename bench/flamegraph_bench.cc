// Rendering cost: an SVG flame graph of 100k unique stacks (a service's call tree, 8-40 frames deep, long C++
// names), with the time and the file size. Target: well under a second, and no larger than flamegraph.pl's file
// for the same stacks (it elides frames under 0.1 px the same way; our per-frame markup is a subset of its).
#include <benchmark/benchmark.h>

#include <random>
#include <string>

#include <fmt/format.h>

#include "profile/flamegraph.h"

using namespace hotspotd;

namespace {

profile::FoldedStacks uniqueStacks(std::size_t count) {
  std::mt19937 rng(7);
  std::vector<std::string> names;
  for (int i = 0; i < 3000; ++i) names.push_back(fmt::format("app::layer{}::Service{}::method{}", i % 23, i % 311, i));
  std::uniform_int_distribution<int> depth(8, 40), pick(0, 2999), samples(1, 50);
  profile::FoldedStacks out;
  std::string stack;
  while (out.size() < count) {
    stack = "service";
    int node = pick(rng) % 40;  // a few dozen entry points, then a fan-out
    const int d = depth(rng);
    for (int i = 0; i < d; ++i) {
      stack += ';';
      stack += names[static_cast<std::size_t>(node)];
      node = (node * 7 + static_cast<int>(rng() % (i < 4 ? 3 : 40))) % 3000;
    }
    out.add(stack, static_cast<std::uint64_t>(samples(rng)));
  }
  return out;
}

void BM_Render100kStacks(benchmark::State& state) {
  static const profile::FoldedStacks stacks = uniqueStacks(100'000);
  std::size_t bytes = 0, frames = 0;
  for (auto _ : state) {
    const std::string svg = profile::renderFlameGraph(stacks);
    bytes = svg.size();
    frames = 0;
    for (std::size_t at = svg.find("<g class"); at != std::string::npos; at = svg.find("<g class", at + 1)) ++frames;
    benchmark::DoNotOptimize(svg);
  }
  state.counters["stacks"] = static_cast<double>(stacks.size());
  state.counters["svg_bytes"] = static_cast<double>(bytes);
  state.counters["frames_drawn"] = static_cast<double>(frames);
}
BENCHMARK(BM_Render100kStacks)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
