// Running helper programs: output captured, exit codes and signals reported, the deadline kills the whole process
// group, a program that does not exist is an error.
#include <doctest/doctest.h>

#include <chrono>

#include "core/subprocess.h"

using namespace hotspotd;
using namespace std::chrono_literals;

TEST_CASE("a program's output and exit code come back; a signal is 128 + its number") {
  auto r = runProcess({"sh", "-c", "echo out; echo err >&2; exit 3"}, 10s);
  REQUIRE(r);
  CHECK(r->out == "out\n");
  CHECK(r->err == "err\n");
  CHECK(r->exit_code == 3);
  CHECK_FALSE(r->timed_out);
  auto killed = runProcess({"sh", "-c", "kill -TERM $$"}, 10s);
  REQUIRE(killed);
  CHECK(killed->exit_code == 128 + 15);
  CHECK(lastLine("first\nsecond line\n\n") == "second line");
}

TEST_CASE("the deadline kills the program and what it started, and the call returns at once") {
  const auto start = std::chrono::steady_clock::now();
  auto r = runProcess({"sh", "-c", "sleep 30 & sleep 30; echo never"}, 500ms);
  REQUIRE(r);
  CHECK(r->timed_out);
  CHECK(r->out.empty());
  CHECK(std::chrono::steady_clock::now() - start < 5s);
}

TEST_CASE("output past the cap is dropped and flagged; a missing program is an error") {
  auto r = runProcess({"sh", "-c", "head -c 100000 /dev/zero"}, 10s, 1000);
  REQUIRE(r);
  CHECK(r->out.size() == 1000);
  CHECK(r->truncated);
  CHECK(r->exit_code == 0);
  auto missing = runProcess({"no-such-program-hotspotd"}, 1s);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("cannot run no-such-program-hotspotd") != std::string::npos);
}
