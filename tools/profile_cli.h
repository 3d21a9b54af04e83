// The offline profile commands, for files users already have: `hotspotd fold` (perf script output to folded
// stacks on standard output), `hotspotd flamegraph` (an SVG, or a differential one against a base) and
// `hotspotd diff` (the frames that grew, and a CI gate on them). Inputs are files (gzip accepted) or - for standard
// input. Each returns the process exit code and reports problems on standard error.
#pragma once

#include <cstddef>
#include <string>

#include "core/duration.h"
#include "profile/flamegraph.h"
#include "profile/fold_perf.h"

namespace hotspotd::tools {

struct FoldOptions {
  std::string input;
  profile::PerfFoldOptions fold;
  bool offcpu = false;  // switch events to off-CPU microseconds by stack (profile::foldOffCpuScript)
  Duration min_block = std::chrono::milliseconds(1);
};
int runFold(const FoldOptions& options);

struct FlamegraphOptions {
  std::string input;
  std::string base;    // non-empty: a differential graph against it
  std::string output;  // - for standard output
  bool titled = false;
  profile::FlameGraphOptions graph;
};
int runFlamegraph(const FlamegraphOptions& options);

struct DiffOptions {
  std::string base, now;
  double max_abs = 10;    // percentage points
  double max_rel = 30;    // percent of the base share
  double min_share = 1;   // percent of the samples, for max_rel
  std::size_t top = 20;
};
int runDiff(const DiffOptions& options);

}  // namespace hotspotd::tools
