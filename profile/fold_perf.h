// DESIGN
// `perf script` output to folded stacks, byte for byte what the reference folder (stackcollapse-perf.pl from
// Brendan Gregg's FlameGraph, as of 2024) prints for the same input and options; tests/data/flamegraph holds
// recorded inputs with the reference's output for every option, and each pair is a test.
//
// The rules, as the reference applies them:
// - A sample starts with an event line: the command name (which may contain spaces), then the pid or pid/tid, then
//   `...: [period] event:`. Its root frame is the command (spaces made underscores), with `-pid` (`--pid`) or
//   `-pid/tid` (`--tid`); a pid perf did not print is `?`. The sample counts its period when perf printed one,
//   else 1. Only events of one type are folded: `event_filter`, or else the first type seen (mixing cycles and
//   instructions would mislead).
// - Stack lines (`  addr func+off (module)`, leaf first) become frames, root first: offsets are stripped;
//   `[unknown]` becomes the module's file name in brackets (or `[unknown]`, or with `--addrs` the address too);
//   `;` becomes `:`; everything from the first `(` on is dropped unless it is `(anonymous namespace)` or the
//   name looks like a Go method (`pkg.(*T).M`); quotes are dropped; a Java command's `Lpkg/Class` loses its `L`;
//   `a->b` inline chains are split, inlined frames marked `_[i]`; with `--kernel` kernel frames get `_[k]`, with
//   `--jit` frames from /tmp/perf-PID.map get `_[j]`. Lines whose function starts with `(` are skipped.
// - A blank line ends the sample. Comment lines (`#`) are skipped; other lines are counted as unrecognized.
//
// Speed: one pass over the text with memchr; frames are views into the input unless a rule rewrites them; the
// stack is joined into a reused buffer and counted in a hash table without allocating when it was seen before.
// Pure; any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "profile/folded.h"

namespace hotspotd::profile {

struct PerfFoldOptions {
  bool include_pid = false;      // --pid: root frame `comm-pid`
  bool include_tid = false;      // --tid: root frame `comm-pid/tid`
  bool annotate_kernel = false;  // --kernel: `_[k]` on kernel frames
  bool annotate_jit = false;     // --jit: `_[j]` on JIT frames (/tmp/perf-PID.map)
  bool include_addrs = false;    // --addrs: `[module <addr>]` for unknown symbols
  std::string event_filter;      // fold only this event type; empty: the first one seen
  bool use_period = true;        // count each sample's period (the reference's way); false: count samples
};

struct PerfFoldResult {
  FoldedStacks stacks;
  std::string event;                   // the event type folded
  std::size_t samples = 0;             // samples folded
  std::size_t other_events = 0;        // samples skipped for another event type
  std::size_t unrecognized_lines = 0;  // lines that are neither comments, event lines nor stack lines
};

PerfFoldResult foldPerfScript(std::string_view input, const PerfFoldOptions& options = {});

// Off-CPU time from `perf script --show-switch-events` over a recording of the `context-switches` software event
// (period 1) or the `sched:sched_switch` tracepoint, with call graphs and `--switch-events` (optionally with
// `cpu-clock` samples beside them):
// - each switch sample is a thread leaving the CPU, with its call chain; the thread's next `PERF_RECORD_SWITCH IN`
//   ends that interval. Its length in microseconds is the stack's count. A thread still off the CPU when the
//   recording ends counts up to the recording's last event.
// - A thread preempted while runnable (its `PERF_RECORD_SWITCH OUT preempt`, or the tracepoint's `prev_state` R)
//   waits in the run queue: run-queue delay. Any other switch-out is blocked time.
// - Stacks are folded with the rules above (kernel frames `_[k]`); every other frame, the command's root frame
//   included, gets `_[o]`, so an off-CPU stack never merges with an on-CPU one, and a leaf frame names the wait
//   (waitClassFrame below).
// - Intervals shorter than `min_block_us` are dropped (counted in `short_intervals`); at most `max_threads` threads
//   are tracked at once, so a hostile text cannot grow the table without bound.
// - `cpu-clock` samples, if the recording has them, are folded apart as on-CPU samples (counting samples, kernel
//   frames marked `_[k]` as in an on-CPU capture).
struct OffCpuFoldOptions {
  std::uint64_t min_block_us = 1000;
  std::size_t max_threads = 1 << 16;
};

struct OffCpuFoldResult {
  FoldedStacks stacks;                // off-CPU microseconds by stack
  FoldedStacks oncpu;                 // on-CPU samples by stack (cpu-clock), if recorded
  std::uint64_t switches = 0;         // switch-outs seen
  std::uint64_t intervals = 0;        // off-CPU intervals folded
  std::uint64_t short_intervals = 0;  // shorter than min_block_us
  std::uint64_t blocked_us = 0;       // folded time, blocked
  std::uint64_t runnable_us = 0;      // folded time, preempted while runnable (run-queue delay)
  std::uint64_t oncpu_samples = 0;
  std::uint64_t span_us = 0;  // from the first event to the last
};

OffCpuFoldResult foldOffCpuScript(std::string_view input, const OffCpuFoldOptions& options = {});

}  // namespace hotspotd::profile
