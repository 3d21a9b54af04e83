// `hotspotd replay`: runs the detectors over a recorded file on a simulated clock (one evaluation per recorded
// scrape), or over a query source's history (one evaluation per source step, the series fetched as the daemon
// fetches them: a first round reaching back as far as the rules read, then the new steps at each evaluation), and
// writes one JSON object per line for every firing and resolved transition.
#pragma once

#include <filesystem>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "ingest/source_config.h"
#include "rules/finding.h"
#include "store/series_store.h"

namespace hotspotd::tools {

struct ReplayOptions {
  std::filesystem::path input;  // or a query source:
  std::string source;           // a [[sources]] name: every rule takes its series from it
  std::int64_t from_ms = 0;     // with a source: the first and last evaluation
  std::int64_t to_ms = 0;
  std::optional<std::filesystem::path> rules;  // file or directory; none: the zero-config defaults
  std::filesystem::path output;                // "-" for standard output
  // From --config, if given: the store's windows and the query sources.
  store::StoreConfig store;
  std::vector<ingest::SourceConfig> sources;
};

int runReplay(const ReplayOptions& options);

// One transition as a line of replay's output (JSON, no newline).
std::string alertLine(const rules::IncidentEvent& event);

// A time for --from/--to: RFC 3339, unix seconds, "now", or "now-<duration>" ("now-2h").
Result<std::int64_t> parseReplayTime(std::string_view text, std::int64_t now_ms);

}  // namespace hotspotd::tools
