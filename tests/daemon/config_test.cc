#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "daemon/config.h"
#include "tests/support/temp_dir.h"

using namespace hotspotd::daemon;
using hotspotd::test::TempDir;
using namespace std::chrono_literals;

namespace {

hotspotd::Result<Config> parse(std::string_view text) { return parseConfig(text, "test.toml", "/etc/hotspotd"); }

std::string errorOf(std::string_view text) {
  auto r = parse(text);
  REQUIRE_FALSE(r);
  return r.error().message;
}

}  // namespace

TEST_CASE("a full valid config is read into every field") {
  auto c = parse(R"(
[server]
listen = "[::1]:9500"
shutdown_timeout = "30s"
[storage]
state_dir = "/srv/hotspotd"
[log]
level = "debug"
format = "json"
)");
  REQUIRE(c);
  CHECK(c->server.listen.host == "::1");
  CHECK(c->server.listen.port == 9500);
  CHECK(c->server.listen.str() == "[::1]:9500");
  CHECK(c->server.shutdown_timeout == 30s);
  CHECK(c->storage.state_dir == "/srv/hotspotd");
  CHECK(c->log.level == hotspotd::log::Level::debug);
  CHECK(c->log.format == hotspotd::log::Format::json);
}

TEST_CASE("an empty config takes every default") {
  auto c = parse("");
  REQUIRE(c);
  CHECK(c->server.listen.str() == "127.0.0.1:9464");
  CHECK(c->server.shutdown_timeout == 10s);
  CHECK(c->log.level == hotspotd::log::Level::info);
  CHECK(c->storage.state_dir == defaultStateDir());
}

TEST_CASE("a relative state directory is taken relative to the config file") {
  auto c = parse("[storage]\nstate_dir = \"state\"\n");
  REQUIRE(c);
  CHECK(c->storage.state_dir == "/etc/hotspotd/state");
}

TEST_CASE("the shipped etc/hotspotd.toml is valid, is the embedded default, and states the defaults") {
  std::ifstream in(HOTSPOTD_SOURCE_DIR "/etc/hotspotd.toml");
  std::stringstream text;
  text << in.rdbuf();
  CHECK(text.str() == embeddedDefaultConfig());
  auto shipped = loadConfigFile(HOTSPOTD_SOURCE_DIR "/etc/hotspotd.toml");
  REQUIRE_MESSAGE(shipped, shipped.error().message);
  auto defaults = parse("");
  REQUIRE(defaults);
  CHECK(shipped->server.listen == defaults->server.listen);
  CHECK(shipped->server.shutdown_timeout == defaults->server.shutdown_timeout);
  CHECK(shipped->log.level == defaults->log.level);
  CHECK(shipped->log.format == defaults->log.format);
}

TEST_CASE("a syntax error names the file, line and column") {
  const auto e = errorOf("[server]\nlisten = \"127.0.0.1:1\"\nshutdown_timeout = \n");
  CHECK(e.starts_with("test.toml:3:"));
  CHECK(e.find("syntax") != std::string::npos);
}

TEST_CASE("an unknown key names its line and the keys that exist") {
  const auto e = errorOf("[server]\nlisten = \"127.0.0.1:1\"\nlisen = \"x\"\n");
  CHECK(e == "test.toml:3:1: server.lisen: unknown key (known keys in [server]: listen, shutdown_timeout)");
}

TEST_CASE("an unknown section is an unknown key at the top") {
  const auto e = errorOf("[servre]\nlisten = \"x\"\n");
  CHECK(e.starts_with("test.toml:1:"));
  CHECK(e.find("servre: unknown key (known keys: log, scrape, server, storage, store)") != std::string::npos);
}

TEST_CASE("a wrong type names the key and the expected type") {
  CHECK(errorOf("[server]\nlisten = 9464\n") == "test.toml:2:10: server.listen: expected a string, got an integer");
  CHECK(errorOf("[log]\nlevel = true\n") == "test.toml:2:9: log.level: expected a string, got a boolean");
  CHECK(errorOf("server = 1\n") == "test.toml:1:10: server: expected a table, got an integer");
}

TEST_CASE("out-of-range and malformed values are errors that say what to write") {
  CHECK(errorOf("[server]\nlisten = \"127.0.0.1:70000\"\n").find("port must be a number from 0 to 65535") !=
        std::string::npos);
  CHECK(errorOf("[server]\nlisten = \"localhost\"\n").find("missing :port") != std::string::npos);
  CHECK(errorOf("[server]\nlisten = \"::1:9464\"\n").find("IPv6 addresses go in brackets") != std::string::npos);
  CHECK(errorOf("[server]\nshutdown_timeout = \"100ms\"\n") ==
        "test.toml:2:20: server.shutdown_timeout: 100ms is too short (at least 1s)");
  CHECK(errorOf("[log]\nlevel = \"verbose\"\n") ==
        "test.toml:2:9: log.level: unknown log level \"verbose\" (use debug, info, warn or error)");
  CHECK(errorOf("[storage]\nstate_dir = \"\"\n").find("storage.state_dir: must not be empty") != std::string::npos);
}

TEST_CASE("every problem in a file is reported, not just the first") {
  const auto e = errorOf("[server]\nlisten = 1\nfoo = 2\n[log]\nformat = \"xml\"\n");
  CHECK(std::count(e.begin(), e.end(), '\n') == 2);
  CHECK(e.find("server.listen") != std::string::npos);
  CHECK(e.find("server.foo") != std::string::npos);
  CHECK(e.find("log.format") != std::string::npos);
}

TEST_CASE("a missing config file says which file and why") {
  TempDir dir;
  auto r = loadConfigFile(dir.path() / "nope.toml");
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("nope.toml: cannot open config file: No such file or directory") !=
        std::string::npos);
}
