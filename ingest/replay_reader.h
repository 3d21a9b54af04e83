// Reads a recorded exposition with timestamps (OpenMetrics as `promtool tsdb create-blocks-from openmetrics` reads
// it, or the 0.0.4 text format with millisecond timestamps; `.gz` accepted) and gives it back one scrape at a
// time, in time order, for the detectors' simulated clock. Every sample needs a timestamp. One thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/result.h"
#include "ingest/exposition.h"
#include "store/series_store.h"

namespace hotspotd::ingest {

class ReplayReader {
 public:
  // Reads and parses the whole file. Errors name the file and line.
  static Result<ReplayReader> open(const std::filesystem::path& path);
  static Result<ReplayReader> fromText(std::string text, const std::string& name);

  // The samples of the next timestamp, in the order the file lists them; false at the end.
  bool next(std::int64_t& t_ms, std::vector<const ParsedSample*>& samples);

  // Resolves the samples in `store` (in `group`) and commits them as one scrape at t_ms.
  static store::CommitStats commit(store::SeriesStore& store, store::GroupId group, std::int64_t t_ms,
                                   const std::vector<const ParsedSample*>& samples);

  std::size_t sampleCount() const { return parsed_.samples.size(); }
  std::int64_t firstMs() const;
  std::int64_t lastMs() const;

 private:
  std::string text_;
  ParsedExposition parsed_;
  std::vector<std::uint32_t> order_;  // sample indexes sorted by time, stable
  std::size_t cursor_ = 0;
};

}  // namespace hotspotd::ingest
