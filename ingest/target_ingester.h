// Turns one scrape body of one target into one store commit, the way Prometheus' scrape loop does: every sample's
// raw series text (`name{labels}` as written) is hashed and looked up in this target's cache; only series not seen
// before have their labels parsed, checked, joined with the target's labels and resolved in the store. The whole
// body is parsed and checked before anything is stored, so a malformed scrape stores nothing.
//
// Two passes: the first parses the body and hashes each series text; the second looks the hashes up, prefetching
// the cache slots a few samples ahead, because with 100k series those lookups are memory-bound.
//
// Entries of series the store dropped as stale are erased after the commit that dropped them, so the cache follows
// the store under label churn instead of growing with every value a label ever had.
//
// The cache keys on a 64-bit hash of the raw text without keeping the text (memory per series matters more): two
// different series of one target sharing a hash is a ~1e-8 event at a million series.
//
// One per target; used on the thread that owns the store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include "ingest/text_parser.h"
#include "store/hash_index.h"
#include "store/series_store.h"

namespace hotspotd::ingest {

struct IngestResult {
  std::size_t samples = 0;
  std::size_t series_added = 0;
  std::size_t series_refused = 0;  // new series the store had no room for ([store] max_series)
  store::CommitStats commit;
};

class TargetIngester {
 public:
  // `target_labels` (job, instance, configured labels) are added to every series; an exposed label of the same
  // name is kept as exported_<name>, as Prometheus does with honor_labels off.
  TargetIngester(store::SeriesStore& store, store::GroupId group,
                 std::vector<std::pair<std::string, std::string>> target_labels);

  tl::expected<IngestResult, ParseError> ingest(std::string_view body, ExpositionFormat format, std::int64_t t_ms,
                                                const ParseLimits& limits);

  store::GroupId group() const { return group_; }
  std::size_t cacheBytes() const { return cache_.heapBytes(); }

 private:
  struct CacheValue {
    std::uint32_t id;
    std::uint32_t generation;
    std::uint32_t histogram;
    std::uint32_t inf;  // 1 for the +Inf bucket of a histogram
    constexpr CacheValue operator~() const { return CacheValue{~id, ~generation, ~histogram, ~inf}; }
    constexpr bool operator==(const CacheValue&) const = default;
  };

  // One sample of the body, found in the first pass; the second pass looks it up in the cache.
  struct Pending {
    std::uint64_t key;
    double value;
    std::string_view line;
    std::uint32_t family;
    SampleKind kind;
    int line_no;
  };

  bool resolveNew(const Pending& p, const Family& family, ExpositionFormat format, const ParseLimits& limits,
                  CacheValue& out);

  store::SeriesStore& store_;
  store::GroupId group_;
  std::vector<std::pair<std::string, std::string>> target_labels_;
  store::BasicHashIndex<CacheValue> cache_;
  std::vector<Pending> pending_;
  std::vector<std::pair<std::size_t, store::Exemplar>> exemplars_;  // bucket exemplars of this scrape, by pending index
  std::vector<store::StagedSample> batch_;
  std::vector<Label> labels_;
  std::vector<std::string> renamed_;
  std::size_t series_added_ = 0;
  std::size_t series_refused_ = 0;
  std::size_t last_samples_ = 0;
  std::optional<ParseError> error_;
};

}  // namespace hotspotd::ingest
