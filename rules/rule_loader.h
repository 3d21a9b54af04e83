// Loads rule files ([[rules]] arrays in TOML) from a file or every *.toml of a directory, checking every field:
// problems are reported all at once as file:line:column: rules[i].key: what is wrong. Also the zero-config
// default: a latency_drift rule for every histogram whose name ends in _seconds. Pure; any thread.
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "rules/rule.h"

namespace hotspotd::rules {

Result<std::vector<Rule>> loadRules(const std::filesystem::path& file_or_dir);
Result<std::vector<Rule>> parseRules(std::string_view text, std::string_view source);

// With no rules configured: latency_drift on every *_seconds histogram, by all labels but le and instance.
std::vector<Rule> defaultRules();

}  // namespace hotspotd::rules
