#include "tools/profile_cli.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <iostream>
#include <iterator>
#include <string>

#include <fmt/format.h>

#include "core/file.h"
#include "core/gzip.h"
#include "profile/analysis.h"
#include "profile/flamegraph.h"
#include "profile/fold_perf.h"
#include "profile/pprof.h"

namespace hotspotd::tools {
namespace {

// The whole input: a file (mapped, or read when it is not a regular file; gunzipped if it is gzip) or standard
// input.
struct Input {
  MappedFile map;
  std::string text;  // what was read or gunzipped, when not the mapping
  bool mapped = false;
  std::string_view view() const { return mapped ? map.view() : std::string_view(text); }
};

Result<Input> readInput(std::string_view name) {
  Input in;
  if (name == "-") {
    in.text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else if (auto map = MappedFile::open(std::string(name))) {
    in.map = std::move(*map);
    in.mapped = true;
  } else {
    auto file = readFile(std::string(name));
    if (!file) return tl::unexpected(file.error());
    in.text = std::move(*file);
  }
  const std::string_view text = in.view();
  if (text.size() >= 2 && static_cast<unsigned char>(text[0]) == 0x1f && static_cast<unsigned char>(text[1]) == 0x8b) {
    auto plain = gunzip(text, std::size_t{16} << 30);
    if (!plain) return fail(fmt::format("{}: not a readable gzip file", name));
    in.text = std::move(*plain);
    in.mapped = false;
    in.map = MappedFile();
  }
  return in;
}

// Whether `perf script` text holds context switches to fold as off-CPU time: switch records
// (--show-switch-events) or the sched_switch tracepoint.
bool hasSwitches(std::string_view text) {
  return text.find("PERF_RECORD_SWITCH") != std::string_view::npos ||
         text.find("sched:sched_switch:") != std::string_view::npos;
}

// Off-CPU microseconds by stack, and a word on stderr for what folding left out.
profile::OffCpuFoldResult foldOffCpu(std::string_view text, std::string_view name, Duration min_block) {
  profile::OffCpuFoldOptions options;
  options.min_block_us = static_cast<std::uint64_t>(
      std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::microseconds>(min_block).count()));
  auto folded = profile::foldOffCpuScript(text, options);
  if (folded.oncpu_samples > 0) {
    std::fprintf(stderr,
                 "hotspotd: %s: %s cpu-clock samples left out (counts of samples do not add up with "
                 "microseconds; fold them with `hotspotd fold --event-filter cpu-clock`)\n",
                 std::string(name).c_str(), std::to_string(folded.oncpu_samples).c_str());
  }
  return folded;
}

// Folded stacks from a file of folded stacks, of `perf script` output (off-CPU time when it has context switches,
// `unit` then "us") or a pprof profile.
Result<profile::FoldedStacks> loadStacks(std::string_view name, std::string* unit = nullptr) {
  auto input = readInput(name);
  if (!input) return tl::unexpected(input.error());
  const std::string_view text = input->view();
  if (auto folded = profile::FoldedStacks::parse(text); folded && !folded->empty()) return std::move(*folded);
  if (hasSwitches(text)) {
    auto off = foldOffCpu(text, name, std::chrono::milliseconds(1));
    if (off.intervals > 0) {
      if (unit) *unit = "us";
      return std::move(off.stacks);
    }
  }
  auto perf = profile::foldPerfScript(text);
  if (perf.samples > 0) return std::move(perf.stacks);
  if (auto pprof = profile::foldPprof(text); pprof && !pprof->empty()) return std::move(*pprof);
  return fail(fmt::format("{}: neither folded stacks (\"frame;frame count\" lines), `perf script` output nor a pprof "
                          "profile",
                          name));
}

}  // namespace

int runFlamegraph(const FlamegraphOptions& o) {
  profile::FlameGraphOptions options = o.graph;
  const std::string& input = o.input;
  const std::string& base = o.base;
  const std::string& output = o.output;
  auto now = loadStacks(input, &options.unit);
  if (!now) {
    std::fprintf(stderr, "hotspotd: %s\n", now.error().message.c_str());
    return 1;
  }
  if (options.unit == "us" && !o.titled) options.title = "Off-CPU Time Flame Graph";
  std::string svg;
  if (!base.empty()) {
    auto before = loadStacks(base);
    if (!before) {
      std::fprintf(stderr, "hotspotd: %s\n", before.error().message.c_str());
      return 1;
    }
    if (!o.titled) options.title = "Differential Flame Graph";
    options.subtitle = fmt::format("{} against {}: red grew, blue shrank", input, base);
    svg = profile::renderDiffFlameGraph(*before, *now, options);
  } else {
    svg = profile::renderFlameGraph(*now, options);
  }
  if (output == "-") {
    std::fwrite(svg.data(), 1, svg.size(), stdout);
    return 0;
  }
  std::FILE* f = std::fopen(output.c_str(), "wb");
  if (!f || std::fwrite(svg.data(), 1, svg.size(), f) != svg.size() || std::fclose(f) != 0) {
    std::fprintf(stderr, "hotspotd: cannot write %s: %s\n", output.c_str(), std::strerror(errno));
    return 1;
  }
  return 0;
}

int runDiff(const DiffOptions& o) {
  const std::string files[] = {o.base, o.now};
  const double max_abs = o.max_abs, max_rel = o.max_rel, min_share = o.min_share;
  const std::size_t top = o.top;
  auto base = loadStacks(files[0]);
  auto now = base ? loadStacks(files[1]) : Result<profile::FoldedStacks>(tl::unexpected(base.error()));
  if (!base || !now) {
    std::fprintf(stderr, "hotspotd: %s\n", (!base ? base.error() : now.error()).message.c_str());
    return 1;
  }
  const auto grown = profile::grownFrames(*base, *now, std::max<std::size_t>(top, 1000));
  std::printf("frames whose share of samples grew (%s: %s samples, %s: %s samples)\n", files[0].c_str(),
              std::to_string(base->total()).c_str(), files[1].c_str(),
              std::to_string(now->total()).c_str());
  std::printf("%8s %8s %8s %8s  %-14s %s\n", "+pp", "base%", "new%", "rel", "class", "frame (called from)");
  std::vector<std::string> failures;
  for (std::size_t i = 0; i < grown.size(); ++i) {
    const auto& g = grown[i];
    const double rel = g.grew_rel();
    const bool big_enough = std::max(g.base_share, g.now_share) * 100 >= min_share;
    if (g.grew_pp() > max_abs) {
      failures.push_back(fmt::format("{} grew by {:.2f} pp (limit {:.2f})", g.name, g.grew_pp(), max_abs));
    } else if (big_enough && rel > max_rel) {
      failures.push_back(std::isinf(rel) ? fmt::format("{} is new, at {:.2f}% of the samples", g.name,
                                                       100 * g.now_share)
                                         : fmt::format("{} grew by {:.0f}% of its share (limit {:.0f}%)", g.name,
                                                       rel, max_rel));
    }
    if (i >= top) continue;
    std::printf("%+8.2f %8.2f %8.2f %8s  %-14s %s%s\n", g.grew_pp(), 100 * g.base_share, 100 * g.now_share,
                std::isinf(rel) ? "new" : fmt::format("{:+.0f}%", rel).c_str(),
                std::string(profile::className(g.cls)).c_str(), g.name.c_str(),
                g.caller.empty() ? "" : fmt::format("  ({})", g.caller).c_str());
  }
  if (grown.empty()) std::printf("(no frame grew)\n");
  for (const auto& f : failures) std::printf("FAIL: %s\n", f.c_str());
  return failures.empty() ? 0 : 1;
}

int runFold(const FoldOptions& o) {
  const profile::PerfFoldOptions& options = o.fold;
  const std::string& input = o.input;
  auto read = readInput(input);
  if (!read) {
    std::fprintf(stderr, "hotspotd: %s\n", read.error().message.c_str());
    return 1;
  }
  const std::string_view text = read->view();
  if (o.offcpu) {
    const auto folded = foldOffCpu(text, input, o.min_block);
    const std::string out = folded.stacks.text();
    std::fwrite(out.data(), 1, out.size(), stdout);
    if (folded.short_intervals > 0) {
      std::fprintf(stderr, "hotspotd: %s waits shorter than --min-block left out\n",
                   std::to_string(folded.short_intervals).c_str());
    }
    if (folded.intervals == 0) {
      std::fprintf(stderr,
                   "hotspotd: no off-CPU time in %s (record with perf record -e context-switches/period=1/ "
                   "--switch-events --call-graph dwarf, then perf script --show-switch-events)\n",
                   input.c_str());
      return 1;
    }
    return 0;
  }
  const auto folded = profile::foldPerfScript(text, options);
  const std::string out = folded.stacks.text();
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (folded.other_events > 0) {
    std::fprintf(stderr, "hotspotd: folded events of type %s only; %zu samples of other types left out\n",
                 folded.event.c_str(), folded.other_events);
  }
  if (folded.unrecognized_lines > 0) {
    std::fprintf(stderr, "hotspotd: %zu lines were neither samples nor stack frames and were skipped\n",
                 folded.unrecognized_lines);
  }
  if (folded.samples == 0) {
    std::fprintf(stderr, "hotspotd: no samples in %s (is it `perf script` output?)\n", input.c_str());
    return 1;
  }
  return 0;
}

}  // namespace hotspotd::tools
