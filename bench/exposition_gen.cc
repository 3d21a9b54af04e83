#include "bench/exposition_gen.h"

#include <fmt/format.h>

namespace hotspotd::bench {

std::string histogramExposition(int histograms, bool openmetrics) {
  static const char* kBounds[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                  "0.5",   "1",    "2.5",   "5",    "10",  "+Inf"};
  static const char* kMethods[] = {"GET", "POST", "PUT", "DELETE"};
  std::string out;
  out += "# HELP http_request_duration_seconds Time to serve HTTP requests.\n";
  out += "# TYPE http_request_duration_seconds histogram\n";
  for (int h = 0; h < histograms; ++h) {
    const std::string labels = fmt::format("handler=\"/api/v1/resource{}\",method=\"{}\",code=\"{}\"", h / 4,
                                           kMethods[h % 4], h % 7 == 0 ? 500 : 200);
    long count = 0;
    for (int b = 0; b < 12; ++b) {
      count += (h * 7 + b * 13) % 97 + 1000;
      out += fmt::format("http_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n", labels, kBounds[b], count);
    }
    out += fmt::format("http_request_duration_seconds_sum{{{}}} {}.{}\n", labels, count / 3, h % 1000);
    out += fmt::format("http_request_duration_seconds_count{{{}}} {}\n", labels, count);
  }
  out += "# HELP http_requests_total Requests served.\n";
  out += openmetrics ? "# TYPE http_requests counter\n" : "# TYPE http_requests_total counter\n";
  for (int h = 0; h < histograms; ++h) {
    out += fmt::format("http_requests_total{{handler=\"/api/v1/resource{}\",method=\"{}\"}} {}\n", h / 4,
                       kMethods[h % 4], 100000 + h);
  }
  if (openmetrics) out += "# EOF\n";
  return out;
}

}  // namespace hotspotd::bench
