// The JSON API under /api/v1/, as Prometheus' HTTP API shapes it: {"status": "success", "data": ...} or
// {"status": "error", "errorType": ..., "error": ...}. Handlers read snapshots the lifecycle thread publishes and
// never touch pipeline state. Pure functions from snapshots to JSON; any thread.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "detectors/hotspots.h"

namespace hotspotd::daemon {

// /api/v1/hotspots: the ranked endpoints; `limit` rows from `offset`.
nlohmann::ordered_json hotspotsJson(const detectors::HotspotTable& table, std::size_t offset, std::size_t limit);

nlohmann::ordered_json apiError(std::string_view type, std::string_view message);

}  // namespace hotspotd::daemon
