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

}  // namespace hotspotd::profile
