// Durations as Prometheus writes them: "30s", "5m", "1h30m", "250ms", "7d", "2w", "1y" (units in descending
// order, each at most once; a year is 365 days, a week 7 days). Pure functions, callable from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace hotspotd {

using Duration = std::chrono::milliseconds;

// Parses a Prometheus duration. "0" and "0s" are zero; negative values and fractions are errors.
Result<Duration> parseDuration(std::string_view text);

// Formats the way Prometheus prints durations: the largest units first, zero units left out ("1h30m", "0s").
std::string formatDuration(Duration d);

// An HTTP Retry-After header (delta-seconds or an HTTP-date, relative to `now`), capped at a day; nothing if
// absent or unreadable.
std::optional<Duration> parseRetryAfter(std::string_view value, std::chrono::system_clock::time_point now);

// Wall-clock time in Unix milliseconds: the time base of samples, incidents and notifications.
inline std::int64_t nowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace hotspotd
