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
#include "ingest/gzip.h"
#include "profile/flamegraph.h"
#include "profile/fold_perf.h"

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
accepted; - for standard input). With --diff, the graph is INPUT's, each frame coloured by how its share of
samples moved against BASE: red grew, blue shrank.

Options:
  --diff BASE      Differential graph against BASE.
  --title TEXT     The title (default: "Flame Graph", or "Differential Flame Graph").
  --width PIXELS   Image width (default 1200).
  -o, --output OUT.svg
                   Where to write the SVG (- for standard output).
)";

int usage(std::string_view message, std::string_view text = kFoldUsage) {
  std::fprintf(stderr, "hotspotd: %.*s\n\n%.*s", static_cast<int>(message.size()), message.data(),
               static_cast<int>(text.size()), text.data());
  return 2;
}

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
    auto plain = ingest::gunzip(text, std::size_t{16} << 30);
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
  if (perf.samples == 0) {
    return fail(fmt::format("{}: neither folded stacks (\"frame;frame count\" lines) nor `perf script` output", name));
  }
  return std::move(perf.stacks);
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
