// Running a helper program (perf, a profiler command, systemctl) to completion: argv without a shell, standard
// output and error captured up to a cap, one deadline for the whole run after which the program's process group
// is killed. Blocking: call it from a worker thread, never from the event loop. Any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "core/duration.h"
#include "core/result.h"

namespace hotspotd {

struct ProcessOutput {
  int exit_code = -1;     // the exit status, or 128 + the signal that ended it
  bool timed_out = false; // killed at the deadline
  std::string out;        // standard output (up to the cap)
  std::string err;        // standard error (up to the cap)
  bool truncated = false; // an output passed the cap (the rest was read and dropped)
  bool cancelled = false; // killed because `cancel` was set
  double cpu_seconds = 0; // user + system CPU time the program (and the children it waited for) used
};

// Runs argv[0] (looked up on PATH) with argv. An error only if it cannot be started at all.
// Setting *cancel (from any thread) kills it within about 100 ms.
Result<ProcessOutput> runProcess(const std::vector<std::string>& argv, Duration timeout,
                                 std::size_t max_output = std::size_t{256} << 20,
                                 const std::atomic<bool>* cancel = nullptr);

// The last line of a program's standard error, for messages ("perf: ...: Permission denied").
std::string lastLine(const std::string& text);

}  // namespace hotspotd
