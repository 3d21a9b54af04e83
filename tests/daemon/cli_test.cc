#include <doctest/doctest.h>

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
  for (const char* cmd : {"run", "check-config", "version"}) {
    CAPTURE(cmd);
    auto r = runHotspotd({cmd, "--help"});
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
}
