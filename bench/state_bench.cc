// What a durable outbox costs: one notification written to the outbox and committed, in a real SQLite file in
// TMPDIR, with the daemon's settings (WAL, synchronous=FULL: the WAL is fsynced before the commit returns, so the
// notification survives a power cut) against synchronous=NORMAL (fsync only at checkpoints: the last commits can
// vanish on a power cut, not on a kill -9). Arg 0: FULL, as shipped; 1: NORMAL. The figure is the time the
// lifecycle thread spends per commit; on a slow or busy disk it is mostly the fsync.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

#include <fmt/format.h>

#include "alerting/outbox.h"
#include "state/database.h"

namespace {

using namespace hotspotd;

void BM_OutboxCommit(benchmark::State& state) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/hotspotd-state-bench-XXXXXX";
  if (!mkdtemp(pattern.data())) {
    state.SkipWithError("cannot create a temporary directory");
    return;
  }
  const std::filesystem::path dir(pattern);
  {
    auto db = state::Database::open(dir / "hotspotd.db");
    if (!db) {
      state.SkipWithError(db.error().message.c_str());
      return;
    }
    if (state.range(0) == 1 && !(*db)->exec("PRAGMA synchronous=NORMAL")) {
      state.SkipWithError("cannot set synchronous=NORMAL");
      return;
    }
    auto outbox = alerting::Outbox::open(**db);
    if (!outbox) {
      state.SkipWithError(outbox.error().message.c_str());
      return;
    }
    const std::string payload(1200, 'x');  // about a webhook message
    std::int64_t n = 0;
    for (auto _ : state) {
      bool ok = static_cast<bool>((*db)->begin());
      ok = ok && static_cast<bool>(outbox->enqueue("hook", fmt::format("key-{}", n % 64), payload,
                                                   "application/json", 1'700'000'000'000 + n, {"incident"}));
      ok = ok && static_cast<bool>((*db)->commit());
      if (!ok) {
        state.SkipWithError("write failed");
        break;
      }
      ++n;
    }
    state.SetLabel(state.range(0) == 0 ? "synchronous=FULL" : "synchronous=NORMAL");
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_OutboxCommit)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
