// Reads a recorded exposition with timestamps (OpenMetrics as `promtool tsdb create-blocks-from openmetrics` reads
// it, or the 0.0.4 text format with millisecond timestamps; `.gz` accepted) and gives it back one scrape at a
// time, in time order, for the detectors' simulated clock. Every sample needs a timestamp. One thread.
//
// Streaming, so that memory is bounded by the store the replay fills, not by the file: the file is mapped (a `.gz`
// is first inflated into an unlinked temporary file), and one pass with the pull parser checks all of it (errors
// name the line) and cuts it into runs, stretches of one family whose timestamps do not go back (a recording lists
// each family's scrapes in time order, one family after the other). Each scrape is then read by merging the runs
// on their next timestamp: only that scrape's lines are parsed, and what every run has read is handed back to the
// kernel (madvise) as it goes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "ingest/exposition.h"
#include "store/series_store.h"

namespace hotspotd::ingest {

class ReplayReader {
 public:
  // Maps and checks the whole file. Errors name the file and line.
  static Result<ReplayReader> open(const std::filesystem::path& path);
  static Result<ReplayReader> fromText(std::string text, const std::string& name);
  ReplayReader(ReplayReader&&) noexcept;
  ReplayReader& operator=(ReplayReader&&) noexcept;
  ~ReplayReader();

  // The samples of the next timestamp, in the order the file lists them; false at the end (or on an error, then
  // error() says what). The samples stay valid until the call after the next one (two scrapes can be held: the
  // replay reads two to learn the scrape interval).
  bool next(std::int64_t& t_ms, std::vector<const ParsedSample*>& samples);
  const std::optional<Error>& error() const { return error_; }

  // Resolves the samples in `store` (in `group`) and commits them as one scrape at t_ms.
  static store::CommitStats commit(store::SeriesStore& store, store::GroupId group, std::int64_t t_ms,
                                   const std::vector<const ParsedSample*>& samples);

  std::size_t sampleCount() const { return samples_; }
  std::int64_t firstMs() const { return first_ms_; }
  std::int64_t lastMs() const { return last_ms_; }

 private:
  ReplayReader() = default;
  class Body;
  struct Run {
    std::string family;
    std::string header;      // the family's TYPE and UNIT lines
    std::size_t begin = 0;   // byte offsets into the body: [cursor, end) is left to read
    std::size_t cursor = 0;
    std::size_t end = 0;
    int line = 0;            // the file line at the cursor
    std::int64_t head_ms = 0;  // the timestamp of the line at the cursor
  };
  Result<void> index();
  void releaseRead();

  std::unique_ptr<Body> body_;
  std::string name_;
  ExpositionFormat format_ = ExpositionFormat::prometheus_text;
  std::vector<Run> runs_;
  std::size_t samples_ = 0;
  std::int64_t first_ms_ = 0, last_ms_ = 0;
  ParsedExposition scrapes_[2];  // the scrapes next() gave last, alternating
  std::string chunk_;
  std::vector<int> chunk_lines_;  // the file line of each line of chunk_ (1-based index)
  std::size_t steps_ = 0;
  std::optional<Error> error_;
};

}  // namespace hotspotd::ingest
