// Structured logging over spdlog. Messages are capitalised sentences; context goes in key=value fields, so the
// same call renders as a text line (`2026-11-21T06:45:01.123Z info Listening address=127.0.0.1:9464`) or as a
// JSON object per line ({"ts":..,"level":"info","msg":"Listening","address":"127.0.0.1:9464"}). Lines go to
// standard error, where journald picks them up. Every function here may be called from any thread; setup() may
// be called again at any time (config reload) to change level or format.
#pragma once

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

// Renders one line without the timestamp, for tests and for callers that need the text.
std::string render(Format format, Level level, std::string_view message, Fields fields);

}  // namespace hotspotd::log
