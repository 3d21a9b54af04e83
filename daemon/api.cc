#include "daemon/api.h"

#include <cmath>

namespace hotspotd::daemon {
namespace {

using nlohmann::ordered_json;

// NaN and infinities have no JSON number: null, as the consumer can tell "unknown" from a value.
ordered_json number(double v) { return std::isfinite(v) ? ordered_json(v) : ordered_json(nullptr); }

ordered_json labels(const rules::OwnedLabels& l) {
  ordered_json out = ordered_json::object();
  for (const auto& [k, v] : l) out[k] = v;
  return out;
}

ordered_json quantile(const detectors::QuantileEstimate& q) {
  return ordered_json{{"value", number(q.value)}, {"lower", number(q.lower)}, {"upper", number(q.upper)}};
}

}  // namespace

ordered_json apiError(std::string_view type, std::string_view message) {
  return ordered_json{{"status", "error"}, {"errorType", type}, {"error", message}};
}

ordered_json hotspotsJson(const detectors::HotspotTable& table, std::size_t offset, std::size_t limit) {
  ordered_json rows = ordered_json::array();
  for (std::size_t i = offset; i < table.hotspots.size() && rows.size() < limit; ++i) {
    const detectors::Hotspot& h = table.hotspots[i];
    ordered_json drift = nullptr;
    if (h.drift) {
      drift = ordered_json{{"rule", h.drift->rule},
                           {"ratio", number(h.drift->ratio)},
                           {"active", h.drift->active},
                           {"firing", h.drift->firing},
                           {"incident", h.drift->incident_id}};
    }
    rows.push_back(ordered_json{{"histogram", h.histogram},
                                {"labels", labels(h.endpoint)},
                                {"rank", number(h.rank)},
                                {"share", number(h.share)},
                                {"request_rate", number(h.request_rate)},
                                {"time_rate", number(h.time_rate)},
                                {"mean_seconds", number(h.mean_seconds)},
                                {"p50", quantile(h.p50)},
                                {"p99", quantile(h.p99)},
                                {"drift", drift}});
  }
  return ordered_json{{"status", "success"},
                      {"data",
                       {{"time", static_cast<double>(table.t_ms) / 1000.0},
                        {"window_seconds", std::chrono::duration<double>(table.window).count()},
                        {"total", table.hotspots.size()},
                        {"endpoints", table.endpoints},
                        {"offset", offset},
                        {"hotspots", rows}}}};
}

}  // namespace hotspotd::daemon
