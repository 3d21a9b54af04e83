// What [profiling] and [[profile_targets]] say: the processes to profile when an incident names them, how to reach
// each (pid, pid file, systemd unit, process name, cgroup, a pprof URL or a command), and the limits every capture
// keeps (concurrency, CPU budget, durations, sizes, retention). Plain values, parsed and checked with the rest of
// the config; any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/duration.h"
#include "core/selector.h"
#include "core/toml_reader.h"
#include "profile/capture.h"

namespace hotspotd::profile {

// A process to profile when an incident names it (`profile = "<name>"` in a rule), and how to reach it.
struct ProfileTarget {
  std::string name;
  Selector match;  // label matchers the incident's labels must satisfy (none: every incident naming the target)
  ProcessSelector process;
  std::string pprof_url;                         // a Go-style /debug/pprof/profile endpoint instead of perf
  std::vector<std::string> command;              // a program printing folded stacks instead of perf ({pid}, {seconds})
  Duration duration = std::chrono::seconds(10);  // the first capture of an incident
  Duration max_duration = std::chrono::seconds(60);  // later captures of the same incident double up to this
  int frequency = 99;
  Duration cooldown = std::chrono::minutes(5);  // at most one capture of the target this often
  std::uint64_t max_size = std::uint64_t{64} << 20;
  // What an incident's captures record (perf and pprof targets; commands are on-CPU): "cpu", "offcpu" (blocked
  // time and run-queue delay; a Go program's block and mutex profiles), "both" (one wall-clock profile), or
  // "auto": on-CPU first, and off-CPU beside it when the on-CPU profile shows no frame that grew while the
  // incident still fires.
  std::string kinds = "auto";
  Duration min_block = std::chrono::milliseconds(1);  // off-CPU intervals shorter than this are left out
  std::uint64_t max_switches = 10000;  // off-CPU: a capture records at most this many switches (it is shortened)
  // perf targets: how on-CPU samples find their callers (capture.h): DWARF unwinding names the function whose time
  // goes to malloc or to a syscall wrapper; frame pointers cost less and lose it where libraries have none.
  CallGraph call_graph = CallGraph::dwarf;

  // What this target's stacks look like ("perf-dwarf", "perf-fp", "pprof", "command"): a profile is compared only
  // with a baseline of the same format (a frame-pointer stack and a DWARF one of the same code differ everywhere).
  std::string stackFormat() const;

  // Whether the target is captured with perf (not a pprof endpoint nor a command).
  bool perfTarget() const { return pprof_url.empty() && command.empty(); }
  // Whether its captures can record off-CPU time: perf's context switches, or a Go pprof endpoint's block and
  // mutex profiles (a command prints on-CPU stacks).
  bool offcpuCapable() const { return command.empty(); }
};

struct ProfilingConfig {
  int max_concurrent = 2;
  double cpu_budget = 0.02;  // of one CPU, averaged over an hour: what profiling may cost this host
  Duration baseline_interval = std::chrono::hours(1);  // 0: no baselines
  Duration baseline_duration = std::chrono::seconds(10);
  int baseline_frequency = 49;
  Duration retention = std::chrono::hours(24 * 7);
  std::int64_t max_profiles = 500;
  std::uint64_t max_bytes = std::uint64_t{1} << 30;
  std::string perf = "perf";
  std::vector<ProfileTarget> targets;
};

// Reads [profiling] (problems go to the reader's errors).
void readProfiling(TableReader& r, ProfilingConfig& out);
// Reads [[profile_targets]]; relative pid files resolve against `base_dir`.
std::vector<ProfileTarget> readProfileTargets(const toml::array& array, const std::filesystem::path& base_dir,
                                              ConfigErrors& errors);

}  // namespace hotspotd::profile
