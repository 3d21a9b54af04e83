// Reads a recorded exposition with timestamps (OpenMetrics as `promtool tsdb create-blocks-from openmetrics` reads
// it, or the 0.0.4 text format with millisecond timestamps; `.gz` accepted) and gives it back one scrape at a
// time, in time order, for the detectors' simulated clock. Every sample needs a timestamp. One thread.
//
// Streaming, so that memory is bounded by the store the replay fills, not by the file: the file is mapped (a `.gz`
// is first inflated into an unlinked temporary file), and one pass with the pull parser checks all of it (errors
// name the line) and cuts it into runs, stretches of one family whose timestamps do not go back (a recording lists
// each family's scrapes in time order, one family after the other). Each scrape is then read by merging the runs
// on their next timestamp into one exposition, stored through a target's scrape cache (`TargetIngester`: a series
// seen before is found by the hash of its text, only a new one has its labels parsed and resolved), and what every
// run has read is handed back to the kernel (madvise) as it goes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "ingest/exposition.h"
#include "ingest/target_ingester.h"
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

  // Reads the scrape of the next timestamp: its lines from every run, in the file's order, each run under its
  // family's header, as one exposition (text()); false at the end.
  bool next(std::int64_t& t_ms);
  // The scrape next() read last.
  std::string_view text() const { return chunk_; }
  // The time of the scrape after it, if there is one.
  std::optional<std::int64_t> peekMs() const;
  // Stores the scrape next() read last at its time through `ingester` (one per replay: it caches the series it has
  // seen). An error names the file and line, and ends the replay (error() keeps it).
  Result<store::CommitStats> commit(TargetIngester& ingester);
  const std::optional<Error>& error() const { return error_; }

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
  std::int64_t chunk_ms_ = 0;
  std::string chunk_;
  std::vector<int> chunk_lines_;  // the file line of each line of chunk_ (1-based index)
  std::size_t steps_ = 0;
  std::optional<Error> error_;
};

}  // namespace hotspotd::ingest
