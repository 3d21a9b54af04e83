#include <doctest/doctest.h>

#include "core/duration.h"
#include "core/rfc3339.h"

using hotspotd::Duration;
using hotspotd::formatDuration;
using hotspotd::parseDuration;
using namespace std::chrono_literals;

TEST_CASE("durations parse as Prometheus writes them") {
  CHECK(parseDuration("30s").value() == 30s);
  CHECK(parseDuration("5m").value() == 5min);
  CHECK(parseDuration("1h30m").value() == 90min);
  CHECK(parseDuration("250ms").value() == 250ms);
  CHECK(parseDuration("1m30s500ms").value() == 90500ms);
  CHECK(parseDuration("7d").value() == 168h);
  CHECK(parseDuration("2w").value() == 336h);
  CHECK(parseDuration("1y").value() == 8760h);
  CHECK(parseDuration("0").value() == 0s);
  CHECK(parseDuration("0s").value() == 0s);
}

TEST_CASE("bad durations are errors that say how to write one") {
  for (const char* bad :
       {"", "5", "s", "-5s", "1.5h", "5x", "30m1h", "1m1m", "5 m", "1ms5s", "99999999999999999999y"}) {
    CAPTURE(bad);
    auto r = parseDuration(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("e.g. 30s, 5m, 1h30m") != std::string::npos);
  }
}

TEST_CASE("durations format with the largest units first") {
  CHECK(formatDuration(0s) == "0s");
  CHECK(formatDuration(90min) == "1h30m");
  CHECK(formatDuration(1500ms) == "1s500ms");
  CHECK(formatDuration(24h) == "1d");
  CHECK(parseDuration(formatDuration(Duration(123456789))).value() == Duration(123456789));
}

TEST_CASE("RFC 3339 times: written in UTC with milliseconds, read strictly with Z or an hh:mm offset") {
  CHECK(hotspotd::formatRfc3339(1'700'000'000'123) == "2023-11-14T22:13:20.123Z");
  CHECK(hotspotd::parseRfc3339("2023-11-14T22:13:20.123Z") == 1'700'000'000'123);
  CHECK(hotspotd::parseRfc3339("2023-11-14t23:13:20+01:00") == 1'700'000'000'000);
  CHECK(hotspotd::parseRfc3339("2023-11-14T16:43:20.5-05:30") == 1'700'000'000'500);
  CHECK(hotspotd::parseRfc3339("2024-02-29T00:00:00Z").has_value());
  CHECK(hotspotd::parseRfc3339("1969-12-31T23:59:59Z") == -1000);
  for (const char* bad : {"2026-01-01T00:00:00+1:30", "2026-01-01T00:00:00+01", "2026-01-01T00:00:00", "2026-1-01T00:00:00Z",
                          "2023-02-29T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:00:00.Z", "2026-01-01 00:00:00Z",
                          "2026-01-01T00:00:00Zjunk", "", "2026-01-01T00:00:00+01:3"}) {
    CAPTURE(bad);
    const auto r = hotspotd::parseRfc3339(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("is not an RFC 3339 time") != std::string::npos);
  }
}
