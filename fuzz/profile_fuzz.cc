// Fuzz target for the profile readers: any bytes as `perf script` text (with every folding option), as folded
// stacks, and as a pprof profile (protobuf, maybe gzip'd); whatever they yield is analysed and rendered as a
// flame graph. Nothing may crash, hang or read out of bounds. Built with libFuzzer under clang (HOTSPOTD_FUZZ=ON);
// the same function replays fuzz/corpus/profile as a normal test (profile_fuzz_corpus_test).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "profile/analysis.h"
#include "profile/flamegraph.h"
#include "profile/fold_perf.h"
#include "profile/pprof.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hotspotd::profile;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  PerfFoldOptions all;
  all.annotate_kernel = all.annotate_jit = all.include_addrs = all.include_tid = true;
  for (const PerfFoldOptions& o : {PerfFoldOptions{}, all}) {
    auto folded = foldPerfScript(input, o);
    (void)summarize(folded.stacks, 5);
    (void)renderFlameGraph(folded.stacks);
  }
  if (auto stacks = FoldedStacks::parse(input)) {
    (void)renderDiffFlameGraph(*stacks, *stacks);
    (void)grownFrames(*stacks, *stacks);
  }
  if (auto pprof = foldPprof(input)) (void)renderFlameGraph(*pprof);
  return 0;
}
