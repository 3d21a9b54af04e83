// Folding speed, single core, in MB/s of `perf script` text: the recorded example (example-perf-stacks.txt.gz,
// 3 MB, many processes and kernel stacks) and a large generated input (a service's deep user stacks with a few
// hundred distinct leaves, 64 MB). Target: more than 600 MB/s; the reference (stackcollapse-perf.pl) folds at
// about 31-45 MB/s on this machine.
#include <benchmark/benchmark.h>

#include <random>
#include <string>

#include <fmt/format.h>

#include "core/file.h"
#include "core/gzip.h"
#include "profile/fold_perf.h"

using namespace hotspotd;

namespace {

std::string example() {
  auto gz = readFile(std::string(HOTSPOTD_SOURCE_DIR) + "/tests/data/flamegraph/example-perf-stacks.txt.gz");
  if (!gz) return {};
  auto text = gunzip(*gz, 1 << 30);
  return text ? *text : std::string();
}

// Samples of a multi-threaded service: 40-frame stacks from a call tree with a few hundred distinct paths,
// kernel frames under syscalls, offsets and C++ parameter lists as perf prints them.
std::string generated(std::size_t bytes) {
  std::mt19937 rng(1);
  std::vector<std::string> names;
  for (int i = 0; i < 400; ++i) {
    names.push_back(fmt::format("app::module{}::Component{}::handle(std::string const&, int)+0x{:x}", i % 17, i,
                                0x10 + i * 7));
  }
  std::string out;
  out.reserve(bytes + 4096);
  std::uniform_int_distribution<int> pick(0, 399), depth(20, 40), tid(1000, 1015);
  double t = 1000.0;
  while (out.size() < bytes) {
    out += fmt::format("service {}/{} [00{}] {:.6f}: 10101010 cpu-clock:\n", 900, tid(rng), tid(rng) % 4, t);
    t += 0.0101;
    if (rng() % 4 == 0) {
      out += "\tffffffffa1c0c4d1 copy_user_enhanced_fast_string+0x11 ([kernel.kallsyms])\n";
      out += "\tffffffffa1a3c2b0 do_syscall_64+0x50 ([kernel.kallsyms])\n";
    }
    const int d = depth(rng);
    int node = pick(rng) % 50;
    for (int i = 0; i < d; ++i) {
      out += fmt::format("\t    {:x} {} (/usr/bin/service)\n", 0x55d0a0000000ULL + static_cast<unsigned>(node) * 64,
                         names[static_cast<std::size_t>(node)]);
      node = (node * 31 + i) % 400;
    }
    out += "\t    7f3a1c02dd90 __libc_start_main+0x80 (/usr/lib/x86_64-linux-gnu/libc.so.6)\n\n";
  }
  return out;
}

void run(benchmark::State& state, const std::string& input) {
  std::size_t stacks = 0;
  for (auto _ : state) {
    auto r = profile::foldPerfScript(input);
    stacks = r.stacks.size();
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input.size()));
  state.counters["stacks"] = static_cast<double>(stacks);
  state.counters["input_MB"] = static_cast<double>(input.size()) / 1e6;
}

void BM_FoldExample(benchmark::State& state) {
  static const std::string input = example();
  if (input.empty()) {
    state.SkipWithError("example-perf-stacks.txt.gz not found");
    return;
  }
  run(state, input);
}
BENCHMARK(BM_FoldExample)->Unit(benchmark::kMillisecond);

void BM_FoldGenerated(benchmark::State& state) {
  static const std::string input = generated(64 << 20);
  run(state, input);
}
BENCHMARK(BM_FoldGenerated)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
