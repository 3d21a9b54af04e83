// RFC 3339 times, as Prometheus' and Alertmanager's APIs write them: "2026-11-21T10:00:00.000Z" out, and in any of
// "2026-11-21T10:00:00Z", "2026-11-21T10:00:00.5+01:00", "2026-11-21t10:00:00-05:30". Pure; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace hotspotd {

// Unix milliseconds as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC).
std::string formatRfc3339(std::int64_t ms);

// Strictly RFC 3339 (a date, 'T', a time with optional fraction, 'Z' or a +hh:mm/-hh:mm offset) to Unix
// milliseconds; the error quotes the text and shows the form to write.
Result<std::int64_t> parseRfc3339(std::string_view text);

}  // namespace hotspotd
