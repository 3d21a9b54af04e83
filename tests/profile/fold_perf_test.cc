// Folding `perf script` output: every recorded input in tests/data/flamegraph/test, with every option, against
// the reference folder's output for it, byte for byte; the default (no option) against the --pid output with the
// pid taken off the root frame; and the rules one by one on small inputs.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "core/file.h"
#include "core/gzip.h"
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

// Off-CPU time (profile::foldOffCpuScript): a thread's switch-out (sched:sched_switch, with its stack and
// prev_state) to its next switch-in (PERF_RECORD_SWITCH IN), in microseconds.
TEST_CASE("off-CPU time runs from each switch-out to the thread's next switch-in, blocked and runnable apart") {
  const std::string text =
      "my server  101 [000] 100.000000: PERF_RECORD_SWITCH IN         \n"
      "my server  101 [000] 100.001000: sched:sched_switch: prev_comm=my server prev_pid=101 prev_prio=120 "
      "prev_state=S ==> next_comm=swapper/0 next_pid=0 next_prio=120\n"
      "\tffffffff82265ec8 __schedule+0x628 ([kernel.kallsyms])\n"
      "\tffffffff8226d89e futex_wait+0x5e ([kernel.kallsyms])\n"
      "\t           cf503 __lll_lock_wait+0x23 (/usr/lib/x86_64-linux-gnu/libc.so.6)\n"
      "\t            1234 Inventory::reserve(int)+0x10 (/srv/shop)\n"
      "\t            1200 main+0x10 (/srv/shop)\n"
      "\n"
      "my server  101 [000] 100.001010: PERF_RECORD_SWITCH OUT        \n"
      "my server  102 [001] 100.002000: sched:sched_switch: prev_comm=my server prev_pid=102 prev_prio=120 "
      "prev_state=R+ ==> next_comm=other next_pid=7 next_prio=120\n"
      "\tffffffff82266833 schedule+0x23 ([kernel.kallsyms])\n"
      "\t            1300 Pricing::recalculate+0x10 (/srv/shop)\n"
      "\n"
      "my server  101 [000] 100.041000: PERF_RECORD_SWITCH IN         \n"  // 40 ms blocked
      "my server  102 [001] 100.005000: PERF_RECORD_SWITCH IN         \n"  // 3 ms runnable
      "my server  101 [000] 100.041100: sched:sched_switch: prev_comm=my server prev_pid=101 prev_prio=120 "
      "prev_state=S ==> next_comm=x next_pid=8 next_prio=120\n"
      "\tffffffff8226d89e futex_wait+0x5e ([kernel.kallsyms])\n"
      "\t            1234 Inventory::reserve(int)+0x10 (/srv/shop)\n"
      "\n"
      "my server  101 [000] 100.041200: PERF_RECORD_SWITCH IN         \n"  // 0.1 ms: under min_block
      "my server  101 [000] 100.050000: cpu-clock: \n"
      "\t            1300 Pricing::recalculate+0x10 (/srv/shop)\n"
      "\n"
      "my server  103 [000] 100.060000: sched:sched_switch: prev_comm=my server prev_pid=103 prev_prio=120 "
      "prev_state=S ==> next_comm=x next_pid=8 next_prio=120\n"
      "\tffffffff8226d89e ep_poll+0x5e ([kernel.kallsyms])\n"
      "\t            1400 EventLoop::run+0x10 (/srv/shop)\n"
      "\n"
      "my server  101 [000] 100.070000: PERF_RECORD_SWITCH OUT        \n";  // 103 never came back: 10 ms
  const auto r = profile::foldOffCpuScript(text);
  CHECK(r.switches == 4);
  CHECK(r.intervals == 3);
  CHECK(r.short_intervals == 1);
  CHECK(r.blocked_us == 40'000 + 10'000);
  CHECK(r.runnable_us == 3'000);
  CHECK(r.oncpu_samples == 1);
  CHECK(r.span_us == 70'000);
  std::map<std::string, std::uint64_t> got;
  r.stacks.forEach([&](std::string_view s, std::uint64_t n) { got[std::string(s)] = n; });
  const std::map<std::string, std::uint64_t> want{
      {"my_server_[o];main_[o];Inventory::reserve_[o];__lll_lock_wait_[o];futex_wait_[k];__schedule_[k];"
       "[lock wait]_[o]",
       40'000},
      {"my_server_[o];Pricing::recalculate_[o];schedule_[k];[run queue]_[o]", 3'000},
      {"my_server_[o];EventLoop::run_[o];ep_poll_[k];[network/poll wait]_[o]", 10'000},
  };
  CHECK(got == want);
  CHECK(r.oncpu.text() == "my_server;Pricing::recalculate 1\n");
}

TEST_CASE("the context-switches software event: a preempted switch-out (OUT preempt) is run-queue delay") {
  const std::string text =
      "shop 7 200.000000:          1 context-switches/period=1/: \n"
      "\tffffffff82266833 schedule+0x23 ([kernel.kallsyms])\n"
      "\tffffffff814232c1 exit_to_user_mode_loop+0x51 ([kernel.kallsyms])\n"
      "\t            1300 Pricing::recalculate+0x10 (/srv/shop)\n"
      "\n"
      "shop 7 200.000010: PERF_RECORD_SWITCH OUT preempt\n"
      "shop 7 200.004000: PERF_RECORD_SWITCH IN         \n"  // 4 ms waiting for a CPU
      "shop 7 200.005000:          1 context-switches: \n"
      "\tffffffff8226d89e anon_pipe_read+0x5e ([kernel.kallsyms])\n"
      "\t            1400 Downstream::call+0x10 (/srv/shop)\n"
      "\n"
      "shop 7 200.005010: PERF_RECORD_SWITCH OUT        \n"
      "shop 7 200.025000: PERF_RECORD_SWITCH IN         \n";  // 20 ms blocked on the pipe
  const auto r = profile::foldOffCpuScript(text);
  CHECK(r.switches == 2);
  CHECK(r.runnable_us == 4'000);
  CHECK(r.blocked_us == 20'000);
  CHECK(r.stacks.text() ==
        "shop_[o];Downstream::call_[o];anon_pipe_read_[k];[network/poll wait]_[o] 20000\n"
        "shop_[o];Pricing::recalculate_[o];exit_to_user_mode_loop_[k];schedule_[k];[run queue]_[o] 4000\n");
}

TEST_CASE("off-CPU folding survives hostile text: no switch-in, times going back, garbage, too many threads") {
  std::string text;
  for (int t = 1; t <= 50; ++t) {
    text += fmt::format("x {} [000] 1.{:06}: sched:sched_switch: prev_state=S\n\t1 f (m)\n\n", t, t);
  }
  text += "x 1 [000] 0.5: PERF_RECORD_SWITCH IN\n";            // before its switch-out: nothing
  text += "x 2 [000] 99999999999.1: PERF_RECORD_SWITCH IN\n";  // seconds out of range: not parsed
  text += "x [000] 1.0: sched:sched_switch:\n\n: sched:sched_switch:\n PERF_RECORD_SWITCH IN\n\xff\xfe\n";
  profile::OffCpuFoldOptions o;
  o.max_threads = 10;
  o.min_block_us = 1;
  const auto r = profile::foldOffCpuScript(text, o);
  CHECK(r.switches == 50);
  CHECK(r.intervals <= 10);  // only the tracked threads, each up to the last event
  CHECK(r.blocked_us < 1'000'000);
  CHECK(profile::foldOffCpuScript("").stacks.empty());
}

TEST_CASE("a real recording of a contended lock and of a slow pipe read: the waits land on the right frames") {
  struct Recording {
    const char* file;
    std::string_view frame, wait;
  };
  for (const Recording& rec :
       {Recording{"lock.perf-script.gz", "hotspotd_test_reserve_[o]", "[lock wait]_[o]"},
        Recording{"pipe.perf-script.gz", "hotspotd_test_downstream_[o]", "[network/poll wait]_[o]"}}) {
    CAPTURE(rec.file);
    const auto packed = read(std::filesystem::path(HOTSPOTD_SOURCE_DIR) / "tests/data/offcpu" / rec.file);
    const auto text = gunzip(packed, 64 << 20);
    REQUIRE(text);
    const auto r = profile::foldOffCpuScript(*text);
    CHECK(r.intervals > 20);
    // Most of the time off the CPU is the function waiting (DWARF call chains name it), under the right class.
    std::uint64_t there = 0;
    r.stacks.forEach([&](std::string_view s, std::uint64_t n) {
      if (s.find(rec.frame) != std::string_view::npos && s.ends_with(rec.wait)) there += n;
    });
    CHECK(static_cast<double>(there) > 0.5 * static_cast<double>(r.stacks.total()));
  }
}
