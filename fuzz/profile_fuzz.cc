// Fuzz target for the profile readers: any bytes as `perf script` text (with every folding option, and as
// off-CPU switch events), as folded
// stacks, and as a pprof profile (protobuf, maybe gzip'd); whatever they yield is analysed and rendered as a
// flame graph, and goes the way a captured profile goes: its summary as JSON, then stored (folded stacks, both
// SVGs, meta.json and its index row) in a profile store on an in-memory database. Nothing may crash, hang or read
// out of bounds. Built with libFuzzer under clang (HOTSPOTD_FUZZ=ON);
// the same function replays fuzz/corpus/profile as a normal test (profile_fuzz_corpus_test).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/text.h"
#include "profile/analysis.h"
#include "profile/flamegraph.h"
#include "profile/fold_perf.h"
#include "profile/pprof.h"
#include "profile/profile_store.h"

namespace {

// Stores `stacks` as the profile manager does after a capture, against itself as the baseline.
void store(const hotspotd::profile::FoldedStacks& stacks) {
  using namespace hotspotd;
  static const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("hotspotd-fuzz-profiles-" + std::to_string(::getpid()));
  static std::unique_ptr<state::Database> db = std::move(*state::Database::open(":memory:"));
  static profile::ProfileStore profiles = std::move(*profile::ProfileStore::open(*db, dir));
  static const struct RemoveAtExit {
    ~RemoveAtExit() { std::filesystem::remove_all(dir); }
  } remove_at_exit;
  profile::ProfileRecord r;
  r.target = "fuzz";
  r.start_ms = 1'700'000'000'000;
  r.summary = profile::summaryJson(stacks, &stacks, 1, 2);
  (void)jsonText(r.summary);
  if (auto saved = profiles.save(r, stacks, &stacks)) std::filesystem::remove_all(profiles.pathOf(saved->id));
  (void)db->exec("DELETE FROM profiles");  // ids repeat after 65,536 saves at one start time
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hotspotd::profile;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  PerfFoldOptions all;
  all.annotate_kernel = all.annotate_jit = all.include_addrs = all.include_tid = true;
  for (const PerfFoldOptions& o : {PerfFoldOptions{}, all}) {
    auto folded = foldPerfScript(input, o);
    (void)summarize(folded.stacks, 5);
    (void)renderFlameGraph(folded.stacks);
    if (!folded.stacks.empty()) store(folded.stacks);
  }
  {
    auto offcpu = foldOffCpuScript(input, OffCpuFoldOptions{1, 64});
    (void)summarizeOffCpu(offcpu.stacks);
    (void)grownWaits(offcpu.stacks, 1, offcpu.stacks, 2);
    if (!offcpu.stacks.empty()) store(offcpu.stacks);
  }
  if (auto stacks = FoldedStacks::parse(input)) {
    (void)renderDiffFlameGraph(*stacks, *stacks);
    const auto grown = grownFrames(FoldedStacks{}, *stacks);
    if (!grown.empty()) (void)ownerOf(FoldedStacks{}, *stacks, grown.front().name);
    (void)summarizeOffCpu(*stacks);
    (void)grownWaits(*stacks, 1, *stacks, 1);
  }
  if (auto pprof = foldPprof(input)) {
    (void)renderFlameGraph(*pprof);
    if (!pprof->empty()) store(*pprof);
    // A Go block or mutex profile's waits, classed by Go's frames.
    if (auto delay = foldPprof(input, "", nullptr, "delay")) {
      delay->forEach([](std::string_view stack, std::uint64_t) { (void)goWaitClass(stack); });
    }
  }
  return 0;
}
