#include <doctest/doctest.h>

#include <string>

#include "core/toml_reader.h"

using hotspotd::ConfigErrors;
using hotspotd::TableReader;

namespace {

struct Parsed {
  toml::table root;
  ConfigErrors errors{"x.toml"};
};

}  // namespace

TEST_CASE("table reader names file, line, column and key of a wrong type") {
  Parsed p;
  p.root = toml::parse(std::string_view("[a]\nport = \"80\"\n"), std::string("x.toml"));
  TableReader r(*p.root["a"].as_table(), "a", p.errors);
  CHECK_FALSE(r.integer("port", 0, 65535));
  REQUIRE(p.errors.lines().size() == 1);
  CHECK(p.errors.lines()[0] == "x.toml:2:8: a.port: expected an integer, got a string");
}

TEST_CASE("table reader lists the known keys when it finds an unknown one") {
  Parsed p;
  p.root = toml::parse(std::string_view("[a]\nlisten = \"x\"\nlisten_adress = 1\n"), std::string("x.toml"));
  TableReader r(*p.root["a"].as_table(), "a", p.errors);
  CHECK(r.string("listen") == "x");
  CHECK_FALSE(r.duration("timeout"));
  r.rejectUnknownKeys();
  REQUIRE(p.errors.lines().size() == 1);
  CHECK(p.errors.lines()[0] == "x.toml:3:1: a.listen_adress: unknown key (known keys in [a]: listen, timeout)");
}

TEST_CASE("table reader rejects out-of-range numbers and bad durations with the allowed range") {
  Parsed p;
  p.root =
      toml::parse(std::string_view("n = 70000\nq = 1.5\nd = \"5 minutes\"\nshort = \"10ms\"\n"), std::string("x.toml"));
  TableReader r(p.root, "", p.errors);
  CHECK_FALSE(r.integer("n", 0, 65535));
  CHECK_FALSE(r.number("q", 0, 1));
  CHECK_FALSE(r.duration("d"));
  CHECK_FALSE(r.duration("short", std::chrono::seconds(1)));
  const auto& lines = p.errors.lines();
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == "x.toml:1:5: n: 70000 is out of range (allowed: 0 to 65535)");
  CHECK(lines[1] == "x.toml:2:5: q: 1.5 is out of range (allowed: 0 to 1)");
  CHECK(lines[2].starts_with("x.toml:3:5: d: invalid duration \"5 minutes\""));
  CHECK(lines[3] == "x.toml:4:9: short: 10ms is too short (at least 1s)");
}

TEST_CASE("table reader reads arrays of strings and points at the bad element") {
  Parsed p;
  p.root = toml::parse(std::string_view("by = [\"route\", 3]\nok = [\"a\", \"b\"]\n"), std::string("x.toml"));
  TableReader r(p.root, "", p.errors);
  CHECK_FALSE(r.strings("by"));
  CHECK(r.strings("ok") == std::vector<std::string>{"a", "b"});
  REQUIRE(p.errors.lines().size() == 1);
  CHECK(p.errors.lines()[0] == "x.toml:1:16: by[1]: expected a string, got an integer");
}
