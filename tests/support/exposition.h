// Reading values out of a Prometheus text exposition in tests.
#pragma once

#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include <httplib.h>

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

// The value of `series` on the /metrics page of a server on 127.0.0.1:port (nothing if unreachable or absent).
inline std::optional<double> scrapeValue(int port, std::string_view series) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(5, 0);
  auto res = c.Get("/metrics");
  if (!res || res->status != 200) return std::nullopt;
  return sampleValue(res->body, series);
}

}  // namespace hotspotd::test
