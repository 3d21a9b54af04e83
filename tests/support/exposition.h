// Reading values out of a Prometheus text exposition in tests.
#pragma once

#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace hotspotd::test {

// The value of the sample whose series text (name and labels as printed) is `series`.
inline std::optional<double> sampleValue(const std::string& exposition, std::string_view series) {
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

}  // namespace hotspotd::test
