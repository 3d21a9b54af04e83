#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/log.h"

namespace hlog = hotspotd::log;

TEST_CASE("text log lines are a sentence followed by key=value fields") {
  const auto line =
      hlog::render(hlog::Format::text, hlog::Level::info, "Listening", {{"address", "127.0.0.1:9464"}, {"targets", 3}});
  CHECK(line == "info Listening address=127.0.0.1:9464 targets=3");
}

TEST_CASE("text log values with spaces, quotes or newlines are quoted and escaped") {
  const auto line = hlog::render(hlog::Format::text, hlog::Level::error, "Reload failed",
                                 {{"error", "a.toml:3:1: server.listen: bad \"x\"\nnext"}, {"empty", ""}});
  CHECK(line == R"(error Reload failed error="a.toml:3:1: server.listen: bad \"x\"\nnext" empty="")");
}

TEST_CASE("JSON log lines are one object with typed fields") {
  const auto line = hlog::render(
      hlog::Format::json, hlog::Level::warn, "Scrape failed",
      {{"target", "http://a:1/metrics"}, {"samples", 12}, {"ratio", 0.5}, {"up", false}, {"nan", 0.0 / 0.0}});
  const auto j = nlohmann::json::parse(line);
  CHECK(j["level"] == "warn");
  CHECK(j["msg"] == "Scrape failed");
  CHECK(j["target"] == "http://a:1/metrics");
  CHECK(j["samples"] == 12);
  CHECK(j["ratio"] == 0.5);
  CHECK(j["up"] == false);
  CHECK(j["nan"] == "NaN");
  CHECK(line.find('\n') == std::string::npos);
}

TEST_CASE("log levels and formats parse by name and reject the rest") {
  CHECK(hlog::parseLevel("debug").value() == hlog::Level::debug);
  CHECK(hlog::parseLevel("error").value() == hlog::Level::error);
  CHECK_FALSE(hlog::parseLevel("verbose"));
  CHECK(hlog::parseFormat("json").value() == hlog::Format::json);
  CHECK_FALSE(hlog::parseFormat("logfmt"));
}

TEST_CASE("a repeating error is logged once per interval, with how many were left out, and at once after it ended") {
  hlog::Throttle throttle(300'000);
  CHECK(throttle.allow(1'000));
  CHECK(throttle.suppressed() == 0);
  int allowed = 0;
  for (std::int64_t t = 16'000; t < 301'000; t += 15'000) allowed += throttle.allow(t);  // every evaluation
  CHECK(allowed == 0);
  CHECK(throttle.allow(301'000));
  CHECK(throttle.suppressed() == 19);
  throttle.reset();
  CHECK(throttle.allow(302'000));  // a new failure after writes worked again
  CHECK(throttle.suppressed() == 0);
  CHECK(throttle.allow(1'000));  // a clock that went back does not silence it
}
