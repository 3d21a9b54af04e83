// Text from outside (frame names from profilers, response bodies of receivers and targets, anything that reaches
// JSON, SQLite, SVG or a payload) made safe at the boundary: invalid UTF-8 repaired, JSON written without ever
// throwing on a bad string. Pure; any thread.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace hotspotd {

bool validUtf8(std::string_view text);
// `text` with every invalid UTF-8 sequence (and NUL) replaced by U+FFFD; unchanged when already valid.
std::string repairUtf8(std::string_view text);

// JSON text that cannot throw: a string that is not UTF-8 is written with U+FFFD in place of its bad bytes.
std::string jsonText(const nlohmann::json& j, int indent = -1);
std::string jsonText(const nlohmann::ordered_json& j, int indent = -1);

}  // namespace hotspotd
