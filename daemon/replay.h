// `hotspotd replay`: runs the detectors over a recorded file on a simulated clock (one evaluation per recorded
// scrape) and writes one JSON object per line for every firing and resolved transition.
#pragma once

#include <filesystem>
#include <optional>

namespace hotspotd::daemon {

struct ReplayOptions {
  std::filesystem::path input;
  std::optional<std::filesystem::path> rules;   // file or directory; none: the zero-config defaults
  std::optional<std::filesystem::path> config;  // for [store]
  std::filesystem::path output;                 // "-" for standard output
};

int runReplay(const ReplayOptions& options);

}  // namespace hotspotd::daemon
