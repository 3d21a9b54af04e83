// Folding `perf script` output: every recorded input in tests/data/flamegraph/test, with every option, against
// the reference folder's output for it, byte for byte; the default (no option) against the --pid output with the
// pid taken off the root frame; and the rules one by one on small inputs.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <sstream>

#include "core/file.h"
#include "profile/fold_perf.h"

using namespace hotspotd;
using profile::foldPerfScript;
using profile::PerfFoldOptions;

namespace {

const std::filesystem::path kData = std::filesystem::path(HOTSPOTD_SOURCE_DIR) / "tests/data/flamegraph/test";

std::string read(const std::filesystem::path& p) {
  auto text = readFile(p);
  REQUIRE_MESSAGE(text, p.string());
  return *text;
}

// The first line where two texts differ, for a readable failure.
std::string firstDifference(const std::string& want, const std::string& got) {
  std::istringstream a(want), b(got);
  std::string la, lb;
  for (int line = 1;; ++line) {
    const bool ha = static_cast<bool>(std::getline(a, la)), hb = static_cast<bool>(std::getline(b, lb));
    if (!ha && !hb) return "identical";
    if (la != lb || ha != hb) {
      return "line " + std::to_string(line) + "\n  want: " + (ha ? la : "<end>") + "\n  got:  " + (hb ? lb : "<end>");
    }
  }
}

PerfFoldOptions optionsFor(const std::string& opt) {
  PerfFoldOptions o;
  if (opt == "pid") o.include_pid = true;
  if (opt == "tid") o.include_tid = true;
  if (opt == "kernel") o.annotate_kernel = true;
  if (opt == "jit") o.annotate_jit = true;
  if (opt == "all") o.annotate_kernel = o.annotate_jit = true;
  if (opt == "addrs") o.include_addrs = true;
  return o;
}

std::string fold(std::string_view input, const PerfFoldOptions& o = {}) {
  return foldPerfScript(input, o).stacks.text();
}

}  // namespace

TEST_CASE("every recorded perf script input folds byte for byte as the reference does, with every option") {
  int pairs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kData)) {
    if (entry.path().extension() != ".txt") continue;
    const std::string input = read(entry.path());
    const std::string name = entry.path().stem().string();
    for (const std::string opt : {"pid", "tid", "kernel", "jit", "all", "addrs"}) {
      const auto expected_path = kData / "results" / (name + "-collapsed-" + opt + ".txt");
      const std::string expected = read(expected_path);
      const std::string got = fold(input, optionsFor(opt));
      CHECK_MESSAGE(got == expected, name << " --" << opt << ": " << firstDifference(expected, got));
      ++pairs;
    }
  }
  CHECK(pairs == 78);
}

TEST_CASE("without options, frames are as with --kernel but without the _[k] marks") {
  // The reference's data has no output for the default; --kernel differs from it only in the marks.
  for (const auto& entry : std::filesystem::directory_iterator(kData)) {
    if (entry.path().extension() != ".txt") continue;
    const std::string name = entry.path().stem().string();
    std::map<std::string, std::uint64_t> merged;
    std::istringstream kernel_output(read(kData / "results" / (name + "-collapsed-kernel.txt")));
    for (std::string line; std::getline(kernel_output, line);) {
      const auto space = line.rfind(' ');
      std::string stack = line.substr(0, space) + ";";
      for (std::size_t at; (at = stack.find("_[k];")) != std::string::npos;) stack.erase(at, 4);
      stack.pop_back();
      merged[stack] += std::stoull(line.substr(space + 1));
    }
    std::string expected;
    for (const auto& [stack, count] : merged) expected += stack + " " + std::to_string(count) + "\n";
    const std::string got = fold(read(entry.path()));
    CHECK_MESSAGE(got == expected, name << ": " << firstDifference(expected, got));
  }
}

TEST_CASE("folding rules on small inputs") {
  SUBCASE("offsets stripped, unknown symbols named by module, parameters and quotes dropped, leaf last") {
    const std::string in =
        "app 100/101 [000] 1.5: 250000 cpu-clock:\n"
        "\t    55d0 std::vector<int>::push_back(int const&)+0x1f (/usr/bin/app)\n"
        "\t    55c0 [unknown] (/usr/lib/libfoo.so.1)\n"
        "\t    55b0 (anonymous namespace)::run(int) (/usr/bin/app)\n"
        "\t    55a0 main;extra 'quoted' (/usr/bin/app)\n"
        "\n";
    // A function in an anonymous namespace is a frame (stackcollapse-perf.pl skips every name starting with "(",
    // taking it for a process name; that one difference is deliberate).
    CHECK(fold(in) ==
          "app;main:extra quoted;(anonymous namespace)::run;[libfoo.so.1];std::vector<int>::push_back 250000\n");
    CHECK(fold("app 100/101 [000] 1.5: 1 cpu-clock:\n\t    55d0 leaf (/usr/bin/app)\n\t    55b0 (app) "
               "(/usr/bin/app)\n\n") == "app;leaf 1\n");  // a process name in a stack is still skipped
    CHECK(fold(in, optionsFor("tid")).starts_with("app-100/101;"));
  }
  SUBCASE("(anonymous namespace) is kept, other parameter lists dropped") {
    CHECK(fold("app 7 1.0: cpu-clock:\n\t  1 ns::(anonymous namespace)::run(int) (/bin/app)\n\n") ==
          "app;ns::(anonymous namespace)::run 1\n");
  }
  SUBCASE("Go method names keep their parentheses") {
    CHECK(fold("prog 7 1.0: cpu-clock:\n\t  1 net/http.(*Client).Do (/bin/prog)\n\n") ==
          "prog;net/http.(*Client).Do 1\n");
  }
  SUBCASE("inline chains split, inlined frames marked; kernel and JIT annotations") {
    const std::string in =
        "svc 9 1.0: cpu-clock:\n"
        "\t  3 outer->inner (/bin/svc)\n"
        "\t  2 do_syscall_64 ([kernel.kallsyms])\n"
        "\t  1 Lcom/x/Y;::run (/tmp/perf-9.map)\n"
        "\n";
    CHECK(fold(in) == "svc;Lcom/x/Y:::run;do_syscall_64;outer;inner_[i] 1\n");
    CHECK(fold(in, optionsFor("all")) == "svc;Lcom/x/Y:::run_[j];do_syscall_64_[k];outer;inner_[i] 1\n");
  }
  SUBCASE("only the first event type is folded unless one is named") {
    const std::string in =
        "ab 1 1.0: 10 cycles:\n\t 1 f (/bin/a)\n\n"
        "ab 1 1.1: 20 instructions:\n\t 1 g (/bin/a)\n\n"
        "ab 1 1.2: 5 cycles:\n\t 1 f (/bin/a)\n\n";
    const auto cycles = foldPerfScript(in);
    CHECK(cycles.stacks.text() == "ab;f 15\n");  // periods summed
    CHECK(cycles.event == "cycles");
    CHECK(cycles.other_events == 1);
    PerfFoldOptions o;
    o.event_filter = "instructions";
    CHECK(fold(in, o) == "ab;g 20\n");
  }
  SUBCASE("a command with spaces and digits; comments skipped; a last sample without a blank line is not counted") {
    CHECK(fold("# header\nV8 WorkerThread 25607 4794564.109216: cycles:\n\t 1 f (/bin/node)\n\n"
               "kworker/0:1 12 [001] 1.0: cpu-clock:\n\t 2 g ([kernel.kallsyms])\n") == "V8_WorkerThread;f 1\n");
  }
  SUBCASE("unrecognized lines are counted, not folded") {
    const auto r = foldPerfScript("ab 1 1.0: cpu-clock:\n\tgarbage\n\t 1 f (/bin/a)\n\n");
    CHECK(r.unrecognized_lines == 1);
    CHECK(r.stacks.text() == "ab;f 1\n");
    // A one-letter command cannot be told from the rest of its line (the reference needs two characters), so
    // the line is no event line at all.
    CHECK(foldPerfScript("a 1 1.0: cpu-clock:\n\t 1 f (/bin/a)\n\n").stacks.empty());
  }
}
