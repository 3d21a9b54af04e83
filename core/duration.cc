#include "core/duration.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <ctime>
#include <cstdint>
#include <limits>

#include <fmt/format.h>

namespace hotspotd {
namespace {

struct Unit {
  std::string_view suffix;
  std::int64_t millis;
};

// Descending order; Prometheus requires units to appear in this order. "ms" must be tried before "m".
constexpr std::array<Unit, 7> kUnits{{
    {"y", 365LL * 24 * 3600 * 1000},
    {"w", 7LL * 24 * 3600 * 1000},
    {"d", 24LL * 3600 * 1000},
    {"h", 3600LL * 1000},
    {"m", 60LL * 1000},
    {"s", 1000},
    {"ms", 1},
}};

}  // namespace

Result<Duration> parseDuration(std::string_view text) {
  auto invalid = [&](std::string_view why) {
    return fail(
        fmt::format("invalid duration \"{}\": {} (write it as Prometheus does, e.g. 30s, 5m, 1h30m)", text, why));
  };
  if (text.empty()) return invalid("empty");
  if (text == "0") return Duration::zero();

  std::int64_t total = 0;
  std::size_t last_unit = 0;  // index into kUnits + 1 of the last unit seen; units must strictly descend
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] < '0' || text[i] > '9') return invalid("expected a number");
    std::int64_t value = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (value > (std::numeric_limits<std::int64_t>::max() - 9) / 10) return invalid("too large");
      value = value * 10 + (text[i] - '0');
      ++i;
    }
    std::size_t unit_index = kUnits.size();
    // "ms" is the only two-letter unit; check it before "m".
    if (text.substr(i, 2) == "ms") {
      unit_index = 6;
    } else if (i < text.size()) {
      for (std::size_t u = 0; u < 6; ++u) {
        if (text[i] == kUnits[u].suffix[0]) unit_index = u;
      }
    }
    if (unit_index == kUnits.size()) return invalid("missing or unknown unit (use ms, s, m, h, d, w or y)");
    if (unit_index + 1 <= last_unit) return invalid("units must go from largest to smallest, each at most once");
    last_unit = unit_index + 1;
    i += kUnits[unit_index].suffix.size();
    if (value > std::numeric_limits<std::int64_t>::max() / kUnits[unit_index].millis) return invalid("too large");
    const std::int64_t add = value * kUnits[unit_index].millis;
    if (total > std::numeric_limits<std::int64_t>::max() - add) return invalid("too large");
    total += add;
  }
  return Duration(total);
}

std::string formatDuration(Duration d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out += '-';
    ms = -ms;
  }
  for (const Unit& unit : kUnits) {
    if (ms >= unit.millis) {
      out += fmt::format("{}{}", ms / unit.millis, unit.suffix);
      ms %= unit.millis;
    }
  }
  return out;
}

std::optional<Duration> parseRetryAfter(std::string_view value, std::chrono::system_clock::time_point now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  std::int64_t seconds = 0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && ptr == value.data() + value.size()) {
    if (seconds < 0) return std::nullopt;
    return std::chrono::duration_cast<Duration>(std::chrono::seconds(std::min<std::int64_t>(seconds, 86400)));
  }
  // An HTTP-date: "Wed, 21 Oct 2015 07:28:00 GMT".
  std::tm tm{};
  const std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  const auto at = std::chrono::system_clock::from_time_t(timegm(&tm));
  if (at <= now) return Duration::zero();
  return std::chrono::duration_cast<Duration>(std::min<std::chrono::system_clock::duration>(at - now, std::chrono::hours(24)));
}

}  // namespace hotspotd
