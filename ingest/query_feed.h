// Query answers into the series store, as if each series had been scraped at its points' times, so that the
// detectors judge a query source's data exactly as they judge scraped data (reset-adjusted counters, histogram
// layouts, gaps). The answers of one evaluation are fed to one store group step by step in time order; points at
// or before the group's last step are skipped, so incremental queries may overlap. Lifecycle thread (the store's).
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "ingest/query_api.h"
#include "store/series_store.h"

namespace hotspotd::ingest {

// What a rule's selector asked for: a histogram's _bucket/_sum/_count series, a counter, or a gauge. Query answers
// carry no metric types; the selector's role in the rule says what they are.
enum class SelectorKind { histogram, counter, gauge };

struct FedAnswer {
  SelectorKind kind = SelectorKind::gauge;
  const RangeAnswer* answer = nullptr;
};

struct FeedStats {
  std::size_t steps = 0;     // store commits (distinct times)
  std::size_t appended = 0;  // points appended
  std::size_t old = 0;       // points at or before the group's last step (an overlapping query)
  std::size_t unnamed = 0;   // series without __name__ (the query was not a plain selector): not fed
  std::size_t unusable = 0;  // a histogram series that is not _bucket (with a valid le), _sum or _count
};

// `keep`, if set, says which series to feed (a shard's share).
FeedStats feedAnswers(store::SeriesStore& store, store::GroupId group, std::span<const FedAnswer> answers,
                      const std::function<bool(const RangeSeries&)>& keep = {});

}  // namespace hotspotd::ingest
