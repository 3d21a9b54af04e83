#include "daemon/profile_cli.h"

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
#include "daemon/cli.h"
#include "core/gzip.h"
#include "profile/analysis.h"
#include "profile/flamegraph.h"
#include "profile/fold_perf.h"
#include "profile/pprof.h"

namespace hotspotd::daemon {
namespace {

constexpr std::string_view kFoldUsage = R"(Usage: hotspotd fold [--pid|--tid] [--kernel] [--jit] [--all] [--addrs] [--event-filter=EVENT] INPUT

Folds `perf script` output into stacks, one line per distinct stack: frames root first, joined by ';', then a
space and the sample count (the sum of the samples' periods where perf printed them). The output is what
stackcollapse-perf.pl prints for the same input and options, byte for byte. INPUT is a file (gzip accepted) or -
for standard input; the stacks go to standard output, sorted.

Options:
  --pid            Root frame: the command and its pid (comm-pid).
  --tid            Root frame: the command, pid and tid (comm-pid/tid).
  --kernel         Mark kernel frames with _[k].
  --jit            Mark JIT frames (from /tmp/perf-PID.map) with _[j].
  --all            Both marks.
  --addrs          Keep the address of unknown symbols: [module <addr>].
  --event-filter=EVENT
                   Fold samples of this event type only (default: the first type in the input).

For example:
  perf record -F 99 -g -p 1234 -- sleep 30 && perf script | hotspotd fold - > app.folded
)";

constexpr std::string_view kFlamegraphUsage = R"(Usage: hotspotd flamegraph [--diff BASE] [--title TEXT] INPUT -o OUT.svg

Renders a flame graph as a standalone SVG file (open it in a browser: hover for samples, click to zoom, Search
to highlight frames by regular expression). INPUT and BASE are folded stacks or `perf script` output (gzip
accepted; - for standard input), or pprof profiles (as /debug/pprof/profile serves them). With --diff, the graph is INPUT's, each frame coloured by how its share of
samples moved against BASE: red grew, blue shrank.

Options:
  --diff BASE      Differential graph against BASE.
  --title TEXT     The title (default: "Flame Graph", or "Differential Flame Graph").
  --width PIXELS   Image width (default 1200).
  -o, --output OUT.svg
                   Where to write the SVG (- for standard output).
)";

constexpr std::string_view kDiffUsage = R"(Usage: hotspotd diff BASE NEW [--max-abs PP] [--max-rel PCT] [--min-share PCT] [--top N]

Compares two profiles (folded stacks, `perf script` output or pprof; gzip accepted) and lists the frames whose share
of samples grew from BASE to NEW, most first: the growth in percentage points, both shares, the relative growth,
what kind of time it is (cpu, allocation/gc, lock wait, syscall/io) and its usual caller. Shares are of each
profile's own samples, so profiles of different lengths compare.

As a gate in CI (against main's baseline profile), it exits 1 when a frame grew past a limit:
  --max-abs PP     by more than PP percentage points (default 10)
  --max-rel PCT    by more than PCT percent of its base share (default 30), for frames holding at least
                   --min-share PCT of the samples in either profile (default 1), so noise in tiny frames does
                   not fail a build
  --top N          frames listed (default 20)
Exit status: 0 within the limits, 1 past them (or an unreadable input), 2 on a usage error.
)";

int usage(std::string_view message, std::string_view text = kFoldUsage) { return usageError(message, text); }

// The whole input: a file (gunzipped if it is gzip) or standard input.
Result<std::string> readInput(std::string_view name) {
  std::string text;
  if (name == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    auto file = readFile(std::string(name));
    if (!file) return tl::unexpected(file.error());
    text = std::move(*file);
  }
  if (text.size() >= 2 && static_cast<unsigned char>(text[0]) == 0x1f && static_cast<unsigned char>(text[1]) == 0x8b) {
    auto plain = gunzip(text, std::size_t{16} << 30);
    if (!plain) return fail(fmt::format("{}: not a readable gzip file", name));
    text = std::move(*plain);
  }
  return text;
}

// Folded stacks from a file of folded stacks or of `perf script` output.
Result<profile::FoldedStacks> loadStacks(std::string_view name) {
  auto text = readInput(name);
  if (!text) return tl::unexpected(text.error());
  if (auto folded = profile::FoldedStacks::parse(*text); folded && !folded->empty()) return std::move(*folded);
  auto perf = profile::foldPerfScript(*text);
  if (perf.samples > 0) return std::move(perf.stacks);
  if (auto pprof = profile::foldPprof(*text); pprof && !pprof->empty()) return std::move(*pprof);
  return fail(fmt::format("{}: neither folded stacks (\"frame;frame count\" lines), `perf script` output nor a pprof "
                          "profile",
                          name));
}

}  // namespace

int runFlamegraph(const std::vector<std::string_view>& args) {
  std::string_view input, base, output;
  profile::FlameGraphOptions options;
  bool titled = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    auto value = [&]() -> std::optional<std::string_view> {
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    if (arg == "-h" || arg == "--help") {
      std::fputs(kFlamegraphUsage.data(), stdout);
      return 0;
    } else if (arg == "--diff" || arg == "--title" || arg == "--width" || arg == "-o" || arg == "--output") {
      auto v = value();
      if (!v) return usage(fmt::format("{} needs a value", arg), kFlamegraphUsage);
      if (arg == "--diff") base = *v;
      if (arg == "-o" || arg == "--output") output = *v;
      if (arg == "--title") {
        options.title = std::string(*v);
        titled = true;
      }
      if (arg == "--width") {
        const int w = std::atoi(std::string(*v).c_str());
        if (w < 200 || w > 100000) return usage("--width takes a number of pixels from 200 to 100000", kFlamegraphUsage);
        options.width = w;
      }
    } else if ((arg == "-" || !arg.starts_with("-")) && input.empty()) {
      input = arg;
    } else {
      return usage(fmt::format("unknown option '{}'", arg), kFlamegraphUsage);
    }
  }
  if (input.empty()) return usage("flamegraph needs an INPUT file (or - for standard input)", kFlamegraphUsage);
  if (output.empty()) return usage("flamegraph needs -o OUT.svg (or -o - for standard output)", kFlamegraphUsage);
  auto now = loadStacks(input);
  if (!now) {
    std::fprintf(stderr, "hotspotd: %s\n", now.error().message.c_str());
    return 1;
  }
  std::string svg;
  if (!base.empty()) {
    auto before = loadStacks(base);
    if (!before) {
      std::fprintf(stderr, "hotspotd: %s\n", before.error().message.c_str());
      return 1;
    }
    if (!titled) options.title = "Differential Flame Graph";
    options.subtitle = fmt::format("{} against {}: red grew, blue shrank", input, base);
    svg = profile::renderDiffFlameGraph(*before, *now, options);
  } else {
    svg = profile::renderFlameGraph(*now, options);
  }
  if (output == "-") {
    std::fwrite(svg.data(), 1, svg.size(), stdout);
    return 0;
  }
  std::FILE* f = std::fopen(std::string(output).c_str(), "wb");
  if (!f || std::fwrite(svg.data(), 1, svg.size(), f) != svg.size() || std::fclose(f) != 0) {
    std::fprintf(stderr, "hotspotd: cannot write %.*s: %s\n", static_cast<int>(output.size()), output.data(),
                 std::strerror(errno));
    return 1;
  }
  return 0;
}

int runDiff(const std::vector<std::string_view>& args) {
  std::vector<std::string_view> files;
  double max_abs = 10, max_rel = 30, min_share = 1;
  std::size_t top = 20;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kDiffUsage.data(), stdout);
      return 0;
    }
    if (arg == "--max-abs" || arg == "--max-rel" || arg == "--min-share" || arg == "--top") {
      if (i + 1 >= args.size()) return usage(fmt::format("{} needs a value", arg), kDiffUsage);
      const std::string v(args[++i]);
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || !(d >= 0)) {
        return usage(fmt::format("{} takes a non-negative number, not '{}'", arg, v), kDiffUsage);
      }
      if (arg == "--max-abs") max_abs = d;
      if (arg == "--max-rel") max_rel = d;
      if (arg == "--min-share") min_share = d;
      if (arg == "--top") top = static_cast<std::size_t>(d);
    } else if (arg == "-" || !arg.starts_with("-")) {
      files.push_back(arg);
    } else {
      return usage(fmt::format("unknown option '{}'", arg), kDiffUsage);
    }
  }
  if (files.size() != 2) return usage("diff needs two profiles: BASE NEW", kDiffUsage);
  auto base = loadStacks(files[0]);
  auto now = base ? loadStacks(files[1]) : Result<profile::FoldedStacks>(tl::unexpected(base.error()));
  if (!base || !now) {
    std::fprintf(stderr, "hotspotd: %s\n", (!base ? base.error() : now.error()).message.c_str());
    return 1;
  }
  const auto grown = profile::grownFrames(*base, *now, std::max<std::size_t>(top, 1000));
  std::printf("frames whose share of samples grew (%s: %s samples, %s: %s samples)\n", std::string(files[0]).c_str(),
              std::to_string(base->total()).c_str(), std::string(files[1]).c_str(),
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

int runFold(const std::vector<std::string_view>& args) {
  profile::PerfFoldOptions options;
  std::string_view input;
  for (std::string_view arg : args) {
    if (arg == "-h" || arg == "--help") {
      std::fputs(kFoldUsage.data(), stdout);
      return 0;
    } else if (arg == "--pid") {
      options.include_pid = true;
    } else if (arg == "--tid") {
      options.include_tid = true;
    } else if (arg == "--kernel") {
      options.annotate_kernel = true;
    } else if (arg == "--jit") {
      options.annotate_jit = true;
    } else if (arg == "--all") {
      options.annotate_kernel = options.annotate_jit = true;
    } else if (arg == "--addrs") {
      options.include_addrs = true;
    } else if (arg.starts_with("--event-filter=")) {
      options.event_filter = std::string(arg.substr(15));
    } else if ((arg == "-" || !arg.starts_with("-")) && input.empty()) {
      input = arg;
    } else {
      return usage(fmt::format("unknown option '{}'", arg));
    }
  }
  if (input.empty()) return usage("fold needs an INPUT file (or - for standard input)");
  auto text = readInput(input);
  if (!text) {
    std::fprintf(stderr, "hotspotd: %s\n", text.error().message.c_str());
    return 1;
  }
  const auto folded = profile::foldPerfScript(*text, options);
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
    std::fprintf(stderr, "hotspotd: no samples in %.*s (is it `perf script` output?)\n",
                 static_cast<int>(input.size()), input.data());
    return 1;
  }
  return 0;
}

}  // namespace hotspotd::daemon
