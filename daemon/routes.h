// The daemon's HTTP routes, by resource: operations (/metrics, /-/healthy, /-/ready, /-/reload), status (status,
// targets, hotspots), incidents, profiles, alerting (silences, notifications) and the web UI. Each add*Routes
// registers one resource's handlers on a Router; handlers answer from snapshots, files and the state database's
// read-only connection (StateReader) on the server's threads, or run a job on the thread that owns what they
// need: RouteContext::on_lifecycle for the series stores, on_state for the silences.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/result.h"
#include "core/snapshot.h"
#include "daemon/api.h"
#include "daemon/http.h"
#include "daemon/metrics.h"
#include "detectors/hotspots.h"
#include "ingest/scrape_manager.h"
#include "state/database.h"

namespace hotspotd::alerting {
class AlertService;
}
namespace hotspotd::incidents {
class IncidentStore;
}
namespace hotspotd::rules {
struct Rule;
}
namespace hotspotd::store {
class SeriesStore;
}

namespace hotspotd::daemon {

class StateReader;

// What the lifecycle thread publishes for the handlers.
struct DaemonStatus {
  bool ready = false;  // serving; false before start-up completes and once shutdown begins
  std::string config_source;
  std::string external_url;  // the base of links to the daemon
  std::int64_t start_ms = 0;
  std::int64_t config_loaded_ms = 0;
  nlohmann::ordered_json config;  // what the running config holds, for /api/v1/status
};

// Everything the routes read; owned by the daemon, outliving the server.
struct RouteContext {
  DaemonMetrics* metrics = nullptr;
  const Snapshot<DaemonStatus>* status = nullptr;
  const Snapshot<state::WriteHealth>* state_health = nullptr;  // null: reported writable
  Clock* clock = nullptr;  // the daemon's (thread-safe when real); null: the real clock
  // Applies a reload on the lifecycle thread and returns its outcome.
  std::function<Result<void>()> reload;
  // Runs a job on the lifecycle thread and returns its reply (503 when that thread does not answer in time).
  std::function<ApiReply(std::function<ApiReply()>)> on_lifecycle;
  // The same on the state thread, which owns the alert service (silences).
  std::function<ApiReply(std::function<ApiReply()>)> on_state;
  // The state database's incidents, notifications and profile index, read on the calling (worker) thread.
  StateReader* reader = nullptr;
  const Snapshot<detectors::HotspotTable>* hotspots = nullptr;
  const Snapshot<std::vector<ingest::TargetStatus>>* targets = nullptr;
  std::filesystem::path profiles_dir;  // profile files, served read-only
  // Touched only inside on_state jobs:
  alerting::AlertService* alerts = nullptr;
  // Touched only inside on_lifecycle jobs:
  const store::SeriesStore* store = nullptr;
  const std::vector<rules::Rule>* rules = nullptr;
  // The store a rule is judged from (its query source's, if it names one; unset: `store`).
  std::function<const store::SeriesStore*(const rules::Rule&)> store_for;
  // Any thread: why a rule's endpoints were last left unjudged for want of its source's data.
  std::function<std::string(const std::string& rule)> degraded;

  std::int64_t nowMs() const { return (clock ? *clock : realClock()).nowMs(); }
  std::string externalUrl() const { return status ? status->load()->external_url : std::string(); }
};

void addOpsRoutes(Router& router, const RouteContext& ctx);
void addStatusRoutes(Router& router, const RouteContext& ctx);
void addIncidentRoutes(Router& router, const RouteContext& ctx);
void addProfileRoutes(Router& router, const RouteContext& ctx);
void addAlertingRoutes(Router& router, const RouteContext& ctx);
void addUiRoutes(Router& router);

// Every route of the daemon.
Router daemonRoutes(const RouteContext& ctx);

// `limit` and `offset` of a list; nothing (and `error` set to the 400 answer) when they are not numbers in range.
struct Page {
  std::size_t offset = 0;
  std::size_t limit = 0;
};
std::optional<Page> pageParams(const HttpRequest& req, std::size_t default_limit, std::size_t max_limit,
                               HttpResponse& error);

}  // namespace hotspotd::daemon
