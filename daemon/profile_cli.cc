#include "daemon/profile_cli.h"

#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>

#include <fmt/format.h>

#include "core/file.h"
#include "ingest/gzip.h"
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

int usage(std::string_view message) {
  std::fprintf(stderr, "hotspotd: %.*s\n\n%.*s", static_cast<int>(message.size()), message.data(),
               static_cast<int>(kFoldUsage.size()), kFoldUsage.data());
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

}  // namespace

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
