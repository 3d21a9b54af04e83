#include <doctest/doctest.h>

#include "core/file.h"
#include "profile/analysis.h"
#include "profile/folded.h"
#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

using hotspotd::test::ChildProcess;
using hotspotd::test::TempDir;

namespace {

ChildProcess::Result runHotspotd(std::vector<std::string> args) {
  args.insert(args.begin(), HOTSPOTD_BINARY);
  return ChildProcess::run(std::move(args));
}

}  // namespace

TEST_CASE("check-config accepts the shipped config") {
  auto r = runHotspotd({"check-config", "--config", HOTSPOTD_SOURCE_DIR "/etc/hotspotd.toml"});
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("configuration is valid") != std::string::npos);
}

TEST_CASE("check-config exits 1 and prints every problem with file, line and key") {
  TempDir dir;
  const auto file = dir.write("bad.toml", "[server]\nlisten = 1\n[log]\nlevel = \"loud\"\n");
  auto r = runHotspotd({"check-config", "--config", file.string()});
  CHECK(r.exit_code == 1);
  CHECK(r.output.find(file.string() + ":2:10: server.listen: expected a string, got an integer") != std::string::npos);
  CHECK(r.output.find(file.string() + ":4:9: log.level: unknown log level \"loud\"") != std::string::npos);
}

TEST_CASE("check-config takes the file as its only argument too") {
  auto r = runHotspotd({"check-config", HOTSPOTD_SOURCE_DIR "/etc/hotspotd.toml"});
  CHECK(r.exit_code == 0);
}

TEST_CASE("run refuses an invalid config before starting anything") {
  TempDir dir;
  const auto file = dir.write("bad.toml", "[server]\nlisten = \"nope\"\n");
  auto r = runHotspotd({"run", "--config", file.string()});
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("server.listen: invalid listen address \"nope\"") != std::string::npos);
}

TEST_CASE("version prints the version and revision") {
  auto r = runHotspotd({"version"});
  CHECK(r.exit_code == 0);
  CHECK(r.output.starts_with("hotspotd version "));
  CHECK(r.output.find("revision ") != std::string::npos);
}

TEST_CASE("every command has --help, and usage errors exit 2") {
  for (const char* cmd : {"run", "check-config", "version", "demo", "replay", "test-rules", "fold", "flamegraph", "diff",
                          "hash-password", "incidents", "incident", "silence", "silence add", "silence query",
                          "silence expire", "profiles", "hotspots"}) {
    CAPTURE(cmd);
    std::vector<std::string> args;
    for (std::string_view rest = cmd; !rest.empty();) {
      const auto space = rest.find(' ');
      args.emplace_back(rest.substr(0, space));
      rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
    }
    args.push_back("--help");
    auto r = runHotspotd(args);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find(std::string("Usage: hotspotd ") + cmd) != std::string::npos);
  }
  CHECK(runHotspotd({"--help"}).exit_code == 0);
  CHECK(runHotspotd({}).exit_code == 2);
  auto unknown = runHotspotd({"frobnicate"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.output.find("unknown command 'frobnicate'") != std::string::npos);
  CHECK(runHotspotd({"run", "--bogus"}).exit_code == 2);
  CHECK(runHotspotd({"check-config"}).exit_code == 2);
  auto no_sub = runHotspotd({"silence"});
  CHECK(no_sub.exit_code == 2);
  CHECK(no_sub.output.find("Run 'hotspotd silence --help'") != std::string::npos);
  auto bad_output = runHotspotd({"incidents", "-o", "yaml"});
  CHECK(bad_output.exit_code == 2);
  CHECK(bad_output.output.find("Run 'hotspotd incidents --help'") != std::string::npos);
}

TEST_CASE("demo: usage errors name the option; a missing demo service says where it looked and what to do") {
  auto unknown = runHotspotd({"demo", "--bogus"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.output.find("not expected: --bogus") != std::string::npos);
  auto no_value = runHotspotd({"demo", "--load"});
  CHECK(no_value.exit_code == 2);
  CHECK(no_value.output.find("--load: 1 required RPS missing") != std::string::npos);
  CHECK(runHotspotd({"demo", "--load", "-3"}).output.find("--load: needs a positive number") != std::string::npos);
  auto duration = runHotspotd({"demo", "--regression-after", "soon"});
  CHECK(duration.exit_code == 2);
  CHECK(duration.output.find("--regression-after: invalid duration \"soon\"") != std::string::npos);
  TempDir dir;
  auto missing = runHotspotd({"demo", "--dir", (dir.path() / "demo").string(), "--demo-service", "/nonexistent/shop"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.output.find("the demo service is not at /nonexistent/shop") != std::string::npos);
  CHECK(missing.output.find("--demo-service") != std::string::npos);
}

TEST_CASE("test-rules passes a right rule test, fails a wrong one with both sets, and refuses a bad file") {
  auto ok = runHotspotd({"test-rules", HOTSPOTD_SOURCE_DIR "/tests/data/rule_tests/drift.test.toml"});
  CHECK_MESSAGE(ok.exit_code == 0, ok.output);
  CHECK(ok.output.find("PASS a tail shift on /a pages, /b stays quiet") != std::string::npos);
  CHECK(ok.output.find("1 passed, 0 failed") != std::string::npos);

  auto wrong = runHotspotd({"test-rules", HOTSPOTD_SOURCE_DIR "/tests/data/rule_tests/wrong.test.toml"});
  CHECK(wrong.exit_code == 1);
  CHECK(wrong.output.find("expected firing:\n      {route=\"/b\", team=\"shop\"}\n    got firing:\n      "
                          "{route=\"/a\", team=\"shop\"}") != std::string::npos);
  CHECK(wrong.output.find("0 passed, 1 failed") != std::string::npos);

  TempDir dir;
  const auto bad = dir.write("bad.test.toml",
                             "[[tests]]\n[[tests.input_series]]\nseries = 'x{a=~\"b\"}'\nvalues = \"1+2x3 oops\"\n");
  auto invalid = runHotspotd({"test-rules", bad.string()});
  CHECK(invalid.exit_code == 2);
  CHECK(invalid.output.find("tests[0].input_series[0].series: input series take only = matchers") != std::string::npos);
  CHECK(invalid.output.find("tests[0].input_series[0].values: \"oops\" is not a value") != std::string::npos);
}

TEST_CASE("latency_threshold and threshold rules fire on their bounds (rule unit tests)") {
  auto r = runHotspotd({"test-rules", HOTSPOTD_SOURCE_DIR "/tests/data/rule_tests/thresholds.test.toml"});
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  CHECK(r.output.find("1 passed, 0 failed") != std::string::npos);
}

TEST_CASE("fold prints what the reference folder prints, from a file or standard input, and refuses non-perf input") {
  const std::string data = std::string(HOTSPOTD_SOURCE_DIR) + "/tests/data/flamegraph/test/";
  auto expected = hotspotd::readFile(data + "results/perf-dd-stacks-01-collapsed-kernel.txt");
  REQUIRE(expected);
  auto from_file = runHotspotd({"fold", "--kernel", data + "perf-dd-stacks-01.txt"});
  CHECK(from_file.exit_code == 0);
  CHECK(from_file.output == *expected);
  auto input = hotspotd::readFile(data + "perf-dd-stacks-01.txt");
  REQUIRE(input);
  auto from_stdin = ChildProcess::run({HOTSPOTD_BINARY, "fold", "--kernel", "-"}, *input);
  CHECK(from_stdin.exit_code == 0);
  CHECK(from_stdin.output == *expected);
  auto not_perf = ChildProcess::run({HOTSPOTD_BINARY, "fold", "-"}, "hello\n");
  CHECK(not_perf.exit_code == 1);
  CHECK(not_perf.output.find("no samples") != std::string::npos);
  CHECK(runHotspotd({"fold"}).exit_code == 2);
  CHECK(runHotspotd({"fold", "--bogus", "x"}).exit_code == 2);
  auto help = runHotspotd({"fold", "--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.output.find("Usage: hotspotd fold") != std::string::npos);
}

TEST_CASE("fold --offcpu and flamegraph read an off-CPU recording as time: blocked microseconds by stack") {
  const std::string data = std::string(HOTSPOTD_SOURCE_DIR) + "/tests/data/offcpu/";
  // A thread reading a pipe its writer fills every 30 ms (perf's context-switches event with switch records).
  auto folded = runHotspotd({"fold", "--offcpu", data + "pipe.perf-script.gz"});
  REQUIRE_MESSAGE(folded.exit_code == 0, folded.output);
  std::string lines;  // the folded lines, without what it said on standard error
  for (std::size_t at = 0, nl; (nl = folded.output.find('\n', at)) != std::string::npos; at = nl + 1) {
    if (folded.output.compare(at, 9, "hotspotd:") != 0) lines += folded.output.substr(at, nl + 1 - at);
  }
  auto stacks = hotspotd::profile::FoldedStacks::parse(lines);
  REQUIRE(stacks);
  const auto summary = hotspotd::profile::summarizeOffCpu(*stacks);
  REQUIRE(!summary.waiting.empty());
  CHECK(summary.waiting[0].name == "hotspotd_test_downstream");
  CHECK(summary.waiting[0].cls == hotspotd::profile::WaitClass::network);
  CHECK(summary.us > 100'000);  // microseconds, not a count of switches
  // A longer --min-block leaves the 30 ms waits out, and says how many.
  auto longer = runHotspotd({"fold", "--offcpu", "--min-block", "1s", data + "pipe.perf-script.gz"});
  CHECK(longer.exit_code == 1);
  CHECK_MESSAGE(longer.output.find("shorter than --min-block left out") != std::string::npos, longer.output);
  CHECK(longer.output.find("no off-CPU time") != std::string::npos);
  CHECK(runHotspotd({"fold", "--offcpu", "--min-block", "soon", data + "pipe.perf-script.gz"}).exit_code == 2);
  // An on-CPU recording has no switches to fold.
  const std::string oncpu = std::string(HOTSPOTD_SOURCE_DIR) + "/tests/data/flamegraph/test/perf-dd-stacks-01.txt";
  auto none = runHotspotd({"fold", "--offcpu", oncpu});
  CHECK(none.exit_code == 1);
  CHECK(none.output.find("--switch-events") != std::string::npos);

  // The flame graph of the same recording is drawn in microseconds, titled as off-CPU time.
  TempDir dir;
  const auto svg = dir.path() / "off.svg";
  auto r = runHotspotd({"flamegraph", data + "lock.perf-script.gz", "-o", svg.string()});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  auto text = hotspotd::readFile(svg);
  REQUIRE(text);
  CHECK(text->find("Off-CPU Time Flame Graph") != std::string::npos);
  CHECK(text->find(" us, 100.00%)</title>") != std::string::npos);
  CHECK(text->find("[lock wait]_[o]") != std::string::npos);
}

TEST_CASE("flamegraph writes an SVG from perf script or folded input, and a differential one") {
  TempDir dir;
  const std::string data = std::string(HOTSPOTD_SOURCE_DIR) + "/tests/data/flamegraph/";
  const auto svg = dir.path() / "g.svg";
  auto r = runHotspotd({"flamegraph", data + "example-perf-stacks.txt.gz", "-o", svg.string()});
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  auto text = hotspotd::readFile(svg);
  REQUIRE(text);
  CHECK(text->starts_with("<?xml"));
  CHECK(text->find("<title>all (1,315 samples, 100.00%)</title>") != std::string::npos);
  const auto base = dir.write("base.folded", "main;parse 50\nmain;render 50\n");
  const auto now = dir.write("now.folded", "main;parse 20\nmain;render 80\n");
  const auto diff_svg = dir.path() / "d.svg";
  r = runHotspotd({"flamegraph", "--diff", base.string(), now.string(), "-o", diff_svg.string()});
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  text = hotspotd::readFile(diff_svg);
  REQUIRE(text);
  CHECK(text->find("Differential Flame Graph") != std::string::npos);
  CHECK(text->find("render (80 samples, 80.00%; was 50.00%, +30.00 pp)") != std::string::npos);
  CHECK(runHotspotd({"flamegraph", base.string()}).exit_code == 2);  // no -o
  const auto junk = dir.write("junk.txt", "hello world\n");
  r = runHotspotd({"flamegraph", junk.string(), "-o", (dir.path() / "x.svg").string()});
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("neither folded stacks") != std::string::npos);
}

TEST_CASE("diff lists grown frames and exits 1 past the limits, 0 within them") {
  TempDir dir;
  const auto base = dir.write("base.folded", "svc;main;parse 50\nsvc;main;render 50\n");
  const auto now = dir.write("now.folded", "svc;main;parse 25\nsvc;main;render 75\n");
  auto r = runHotspotd({"diff", base.string(), now.string()});
  CHECK(r.exit_code == 1);  // render +25 pp > 10
  CHECK(r.output.find("+25.00    50.00    75.00     +50%  cpu            render  (main)") != std::string::npos);
  CHECK(r.output.find("FAIL: render grew by 25.00 pp (limit 10.00)") != std::string::npos);
  r = runHotspotd({"diff", base.string(), now.string(), "--max-abs", "30", "--max-rel", "60"});
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  r = runHotspotd({"diff", base.string(), now.string(), "--max-abs", "30"});
  CHECK(r.exit_code == 1);  // +50% of its share > 30%
  CHECK(runHotspotd({"diff", base.string()}).exit_code == 2);
  CHECK(runHotspotd({"diff", base.string(), now.string(), "--max-abs", "x"}).exit_code == 2);
}

TEST_CASE("flamegraph reads a pprof profile (a real Prometheus server's CPU profile)") {
  TempDir dir;
  const auto svg = dir.path() / "p.svg";
  auto r = runHotspotd(
      {"flamegraph", std::string(HOTSPOTD_SOURCE_DIR) + "/fuzz/corpus/profile/pprof-prometheus", "-o", svg.string()});
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  auto text = hotspotd::readFile(svg);
  REQUIRE(text);
  CHECK(text->find("<title>runtime.") != std::string::npos);
}

TEST_CASE("replay --source: usage mistakes name the option; an unanswered source is reported and exits 1") {
  auto r = runHotspotd({"replay", "--source", "prom", "--output", "-"});
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("--source needs --config FILE") != std::string::npos);
  r = runHotspotd({"replay", "--input", "x.om", "--from", "now-1h", "--output", "-"});
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("--from and --to go with --source") != std::string::npos);
  r = runHotspotd({"replay", "--source", "prom", "--config", "c.toml", "--from", "yesterday", "--output", "-"});
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("--from: \"yesterday\" is not an RFC 3339 time") != std::string::npos);

  TempDir dir;
  const auto config = dir.write("c.toml",
                                "[[sources]]\nname = \"prom\"\nurl = \"http://127.0.0.1:1\"\n"
                                "step = \"15s\"\ntimeout = \"1s\"\n");
  r = runHotspotd({"replay", "--source", "nosuch", "--config", config.string(), "--from", "now-1m", "--output", "-"});
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("no [[sources]] entry of the config is named \"nosuch\"") != std::string::npos);
  r = runHotspotd({"replay", "--source", "prom", "--config", config.string(), "--from", "now-40s", "--output", "-"});
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("not judged at") != std::string::npos);
  CHECK(r.output.find("query failed") != std::string::npos);
}
