#include "core/log.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace hotspotd::log {
namespace {

std::atomic<Format> g_format{Format::text};

spdlog::logger& logger() {
  static std::shared_ptr<spdlog::logger> instance = [] {
    auto l = std::make_shared<spdlog::logger>("hotspotd", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    // The line is rendered here, timestamp included, so that text and JSON share one clock reading format.
    l->set_pattern("%v");
    l->set_level(spdlog::level::info);
    l->flush_on(spdlog::level::debug);
    return l;
  }();
  return *instance;
}

spdlog::level::level_enum toSpdlog(Level level) {
  switch (level) {
    case Level::debug: return spdlog::level::debug;
    case Level::info: return spdlog::level::info;
    case Level::warn: return spdlog::level::warn;
    case Level::error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

bool needsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\n' || c == '\t' || c == '\\') return true;
  }
  return false;
}

std::string timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", fmt::gmtime(std::chrono::system_clock::to_time_t(now)), ms);
}

std::string renderLine(Format format, Level level, std::string_view message, Fields fields, bool with_time) {
  if (format == Format::json) {
    nlohmann::ordered_json line;
    if (with_time) line["ts"] = timestamp();
    line["level"] = levelName(level);
    line["msg"] = message;
    for (const Field& f : fields) {
      if (f.raw) {
        line[std::string(f.key)] = nlohmann::json::parse(f.value, nullptr, /*allow_exceptions=*/false);
      } else {
        line[std::string(f.key)] = f.value;
      }
    }
    return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string out;
  if (with_time) {
    out += timestamp();
    out += ' ';
  }
  out += levelName(level);
  out += ' ';
  out += message;
  for (const Field& f : fields) {
    out += ' ';
    out += f.key;
    out += '=';
    if (!f.raw && needsQuotes(f.value)) {
      out += nlohmann::json(f.value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else {
      out += f.value;
    }
  }
  return out;
}

void emit(Level level, std::string_view message, Fields fields) {
  spdlog::logger& l = logger();
  const auto spd = toSpdlog(level);
  if (!l.should_log(spd)) return;
  l.log(spd, renderLine(g_format.load(std::memory_order_relaxed), level, message, fields, true));
}

}  // namespace

Field::Field(std::string_view k, double v) : key(k), raw(std::isfinite(v)) {
  value = std::isfinite(v) ? fmt::format("{}", v) : (std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf"));
}

Result<Level> parseLevel(std::string_view name) {
  if (name == "debug") return Level::debug;
  if (name == "info") return Level::info;
  if (name == "warn") return Level::warn;
  if (name == "error") return Level::error;
  return fail(fmt::format("unknown log level \"{}\" (use debug, info, warn or error)", name));
}

Result<Format> parseFormat(std::string_view name) {
  if (name == "text") return Format::text;
  if (name == "json") return Format::json;
  return fail(fmt::format("unknown log format \"{}\" (use text or json)", name));
}

std::string_view levelName(Level level) {
  switch (level) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
  }
  return "info";
}

std::string_view formatName(Format format) {
  return format == Format::json ? "json" : "text";
}

void setup(Level level, Format format) {
  g_format.store(format, std::memory_order_relaxed);
  logger().set_level(toSpdlog(level));
}

void debug(std::string_view message, Fields fields) {
  emit(Level::debug, message, fields);
}
void info(std::string_view message, Fields fields) {
  emit(Level::info, message, fields);
}
void warn(std::string_view message, Fields fields) {
  emit(Level::warn, message, fields);
}
void error(std::string_view message, Fields fields) {
  emit(Level::error, message, fields);
}

std::string render(Format format, Level level, std::string_view message, Fields fields) {
  return renderLine(format, level, message, fields, false);
}

}  // namespace hotspotd::log
