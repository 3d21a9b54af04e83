// The offline profile commands, for files users already have: `hotspotd fold` (perf script output to folded
// stacks on standard output), `hotspotd flamegraph` (an SVG, or a differential one against a base) and
// `hotspotd diff` (the frames that grew, and a CI gate on them). Each returns the process exit code and reports problems on standard error.
#pragma once

#include <string_view>
#include <vector>

namespace hotspotd::daemon {

int runFold(const std::vector<std::string_view>& args);
int runFlamegraph(const std::vector<std::string_view>& args);
int runDiff(const std::vector<std::string_view>& args);

}  // namespace hotspotd::daemon
