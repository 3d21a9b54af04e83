// Structured logging over spdlog. Messages are capitalised sentences; context goes in key=value fields, so the
// same call renders as a text line (`2026-11-21T06:45:01.123Z info Listening address=127.0.0.1:9464`) or as a
// JSON object per line ({"ts":..,"level":"info","msg":"Listening","address":"127.0.0.1:9464"}). Lines go to
// standard error, where journald picks them up. Every function here may be called from any thread; setup() may
// be called again at any time (config reload) to change level or format.
#pragma once

#include <cstdint>

#include <concepts>
#include <initializer_list>
#include <string>
#include <string_view>

#include "core/result.h"

namespace hotspotd::log {

enum class Level { debug, info, warn, error };
enum class Format { text, json };

Result<Level> parseLevel(std::string_view name);
Result<Format> parseFormat(std::string_view name);
std::string_view levelName(Level level);
std::string_view formatName(Format format);

// One key=value pair. Numbers and booleans stay numbers and booleans in JSON output.
struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, bool v) : key(k), value(v ? "true" : "false"), raw(true) {}
  template <std::integral T>
  Field(std::string_view k, T v) : key(k), value(std::to_string(v)), raw(true) {}
  Field(std::string_view k, double v);

  std::string_view key;
  std::string value;
  bool raw = false;  // a JSON literal (number, bool), written without quotes
};

using Fields = std::initializer_list<Field>;

// Configures the process-wide logger. Safe to call concurrently with logging.
void setup(Level level, Format format);

void debug(std::string_view message, Fields fields = {});
void info(std::string_view message, Fields fields = {});
void warn(std::string_view message, Fields fields = {});
void error(std::string_view message, Fields fields = {});

// At most one line per `every` for a condition that repeats (a write that fails at every evaluation): allow()
// says whether to log now, and suppressed() how many were left out before it, to put in the line. Owned by one
// thread.
class Throttle {
 public:
  explicit Throttle(std::int64_t every_ms) : every_ms_(every_ms) {}
  bool allow(std::int64_t now_ms) {
    if (logged_ && now_ms - last_ms_ < every_ms_ && now_ms >= last_ms_) {
      ++skipped_;
      return false;
    }
    logged_ = true;
    last_ms_ = now_ms;
    suppressed_ = skipped_;
    skipped_ = 0;
    return true;
  }
  // Lines left out between the last two allowed ones.
  std::uint64_t suppressed() const { return suppressed_; }
  // The condition ended: the next one is logged at once.
  void reset() {
    logged_ = false;
    skipped_ = 0;
  }

 private:
  std::int64_t every_ms_;
  std::int64_t last_ms_ = 0;
  std::uint64_t skipped_ = 0;
  std::uint64_t suppressed_ = 0;
  bool logged_ = false;
};

// Renders one line without the timestamp, for tests and for callers that need the text.
std::string render(Format format, Level level, std::string_view message, Fields fields);

}  // namespace hotspotd::log
