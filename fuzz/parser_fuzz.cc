// Fuzz target for the exposition parser and the scrape path behind it: any bytes, as either format, through the
// full parse (labels, exemplars, +Inf check) and through a target ingester into a series store. Nothing may crash,
// hang or read out of bounds. Built with libFuzzer under clang (HOTSPOTD_FUZZ=ON); the same function replays the
// corpus in fuzz/corpus/parser as a normal test (tests/fuzz_corpus_test.cc).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ingest/exposition.h"
#include "ingest/target_ingester.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hotspotd;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  ingest::ParseLimits limits;
  limits.max_samples = 10'000;
  for (auto format : {ingest::ExpositionFormat::prometheus_text, ingest::ExpositionFormat::openmetrics}) {
    (void)ingest::parseExposition(body, format, limits);
    store::SeriesStore store;
    ingest::TargetIngester ingester(store, store.addGroup("fuzz"), {{"job", "fuzz"}, {"instance", "x:1"}});
    // Twice, so the second pass runs on a warm cache and sees counter resets and layout changes.
    (void)ingester.ingest(body, format, 1'000, limits);
    (void)ingester.ingest(body, format, 16'000, limits);
  }
  return 0;
}
