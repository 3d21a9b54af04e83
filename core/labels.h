// A label set written as Prometheus writes it, for logs, messages and test output: {route="/checkout", team="shop"}
// (values quoted, with backslash, double quote and newline escaped). Pure; any thread.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hotspotd {

// In the order given, without the labels named in `skip`.
std::string labelText(const std::vector<std::pair<std::string, std::string>>& labels,
                      std::initializer_list<std::string_view> skip = {});

}  // namespace hotspotd
