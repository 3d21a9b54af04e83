// DESIGN
// Capturing a CPU profile of a live process, blocking (the daemon runs captures on worker threads):
//
// - Finding the process: a pid; a pid file; a systemd unit's MainPID (`systemctl show`); a process name (the
//   comm or the executable's file name in /proc, the oldest match, which is the parent of a pre-forking server);
//   or a cgroup (every process in its cgroup.procs, cgroup v2 or a v1 path).
// - perf: `perf record -e cpu-clock -F <frequency> --call-graph dwarf,<bytes> -p <pids> --max-size=<cap> -o <file>
//   -- sleep <seconds>`, then `perf script`, folded with the reference rules but counting samples rather than
//   periods, kernel frames marked `_[k]`; the perf data file is deleted whatever happens. A deadline (duration
//   plus a margin) kills perf if it hangs. DWARF call chains by default (CallGraph below); the stack copy is made
//   smaller when the samples expected at the processes' CPU use, measured over a quarter of a second first, would
//   not fit in the file's cap.
// - pprof: a Go-style `/debug/pprof/profile?seconds=N` endpoint over HTTP(S) (core/http_client.h: no redirects, the
//   answer capped at max_size, cancelled at shutdown), gzip'd protobuf decoded with the
//   public profile.proto schema (profile/pprof.h). Off-CPU for a Go program (kinds offcpu, both): the block and
//   mutex delta profiles of the same endpoint (`/debug/pprof/block?seconds=N`, `mutex`) fetched at the same time
//   as the CPU profile; the block profile's delay becomes off-CPU microseconds by stack, the mutex profile's the
//   lock holders beside them; an empty one is said to be (the program's profile rate is 0). Then the goroutine
//   profile: how many goroutines wait where, at the end of the capture.
// - A command: any program that prints folded stacks (py-spy record -f raw, async-profiler collapsed output) or
//   `perf script` text on its standard output; `{pid}` and `{seconds}` in its arguments are replaced.
//
// Failures are values with the reason a person can act on: no such process, perf not installed,
// perf_event_open not permitted (with the sysctl and capability that allow it), a timeout, an empty profile.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/duration.h"
#include "core/result.h"
#include "profile/folded.h"

namespace hotspotd::profile {

// How to find the process(es) to profile; exactly one way is set.
struct ProcessSelector {
  std::optional<pid_t> pid;
  std::filesystem::path pid_file;
  std::string systemd_unit;
  std::string process_name;
  std::filesystem::path cgroup;  // a directory under /sys/fs/cgroup, or a path relative to it
};

Result<std::vector<pid_t>> resolveProcesses(const ProcessSelector& selector);

// What a perf capture records: on-CPU samples (cpu-clock), off-CPU time (scheduler switches), or both at once.
enum class CaptureKind { cpu, offcpu, both };
std::string_view captureKindName(CaptureKind kind);  // "cpu", "offcpu", "both"

// How perf finds a sample's callers: from frame pointers (cheap, but a library built without them, such as
// Debian's glibc, hides the function that called it: time in malloc or in a syscall wrapper lands on the wrong
// caller or on [unknown]), or by unwinding a copy of the stack with its DWARF tables (every caller named; the copy
// costs disk while recording and CPU when `perf script` unwinds it).
enum class CallGraph { fp, dwarf };

struct CaptureOptions {
  Duration duration = std::chrono::seconds(10);
  int frequency = 99;                                // samples per second per CPU
  std::uint64_t max_size = std::uint64_t{64} << 20;  // perf data file cap, bytes
  std::filesystem::path work_dir = "/tmp";           // where the perf data file lives while folding
  std::string perf = "perf";
  Duration grace = std::chrono::seconds(30);  // past duration + grace, the capture is killed
  const std::atomic<bool>* cancel = nullptr;  // set: the capture stops at once (shutdown)
  CaptureKind kind = CaptureKind::cpu;        // perf only: pprof and commands are on-CPU profiles
  std::uint64_t min_block_us = 1000;          // off-CPU intervals shorter than this are left out
  std::uint64_t max_switches = 10000;         // off-CPU: the capture is shortened to record at most these
  CallGraph call_graph = CallGraph::dwarf;    // on-CPU samples (off-CPU ones are always unwound with DWARF)
  std::uint32_t stack_bytes = 8192;           // stack copied a DWARF sample, less when the capture would not fit
};

struct Capture {
  FoldedStacks stacks;           // counts in `unit`
  std::string unit = "samples";  // "samples"; "us" when the capture has off-CPU time (on-CPU samples converted)
  std::uint64_t samples = 0;     // on-CPU samples plus off-CPU intervals folded
  std::uint64_t offcpu_us = 0;
  std::uint64_t switches = 0;  // context switches recorded
  Duration recorded{};         // how long perf recorded (shorter than asked when switches were capped)
  std::uint64_t span_us = 0;   // off-CPU: from the recording's first event to its last (what the waits add up to)
  std::string note;            // what the capture changed or could not do, for the profile's reader
  FoldedStacks lock_holders;   // a Go target's mutex profile: the stacks holding locks others waited for, in us
  FoldedStacks goroutines;     // a Go target's goroutines at the end of the capture, by stack (marked as waits)
  std::vector<pid_t> pids;
  Duration took{};
  double cpu_seconds = 0;  // what profiling cost this host: perf's CPU time, or the fold for pprof and commands
};

Result<Capture> capturePerf(const std::vector<pid_t>& pids, const CaptureOptions& options);
Result<Capture> captureCommand(const std::vector<std::string>& argv, pid_t pid, const CaptureOptions& options);
// A Go-style profile endpoint: GET <url>?seconds=<duration> (e.g. http://127.0.0.1:6060/debug/pprof/profile),
// gzip'd protobuf, folded with the pprof conventions.
Result<Capture> capturePprof(const std::string& url, const CaptureOptions& options);

// Whether this process may use perf_event_open on other processes; the reason if not.
Result<void> perfAllowed();

}  // namespace hotspotd::profile
