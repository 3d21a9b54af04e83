// The daemon's HTTP server (cpp-httplib), on threads of its own: /metrics, /-/healthy, /-/ready, /-/reload, and the
// JSON API under /api/v1/ (daemon/api.h).
// Handlers never touch pipeline state; they read what the lifecycle thread publishes (DaemonStatus) and ask that
// thread to reload through a callback that waits for its answer. Every request is counted and timed per
// handler. start() and stop() are called from the lifecycle thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/result.h"
#include "core/snapshot.h"
#include "daemon/api.h"
#include "daemon/auth.h"
#include "daemon/config.h"
#include "daemon/metrics.h"
#include "detectors/hotspots.h"
#include "ingest/scrape_manager.h"
#include "incidents/incident_store.h"
#include "profile/profile_store.h"

namespace httplib {
class Server;
}

namespace hotspotd::alerting {
class AlertService;
}  // namespace hotspotd::alerting

namespace hotspotd::daemon {

// What the lifecycle thread publishes for the handlers.
struct DaemonStatus {
  bool ready = false;  // serving; false before start-up completes and once shutdown begins
  std::string config_source;
  std::int64_t start_ms = 0;
  std::int64_t config_loaded_ms = 0;
  nlohmann::ordered_json config;  // what the running config holds, for /api/v1/status
};

// The snapshots the API serves (owned by the lifecycle; they outlive the server).
struct ApiSources {
  Clock* clock = nullptr;  // the daemon's clock (thread-safe when real); null: the real clock
  const Snapshot<detectors::HotspotTable>* hotspots = nullptr;
  // Runs a job on the lifecycle thread and returns its reply (503 when that thread does not answer in time).
  std::function<ApiReply(std::function<ApiReply()>)> on_lifecycle;
  alerting::AlertService* alerts = nullptr;  // touched only inside on_lifecycle jobs
  incidents::IncidentStore* incidents = nullptr;  // touched only inside on_lifecycle jobs
  profile::ProfileStore* profiles = nullptr;    // touched only inside on_lifecycle jobs
  std::filesystem::path profiles_dir;         // profile files, served read-only
  const Snapshot<std::vector<ingest::TargetStatus>>* targets = nullptr;
  const store::SeriesStore* store = nullptr;            // read only inside on_lifecycle jobs
  const std::vector<rules::Rule>* rules = nullptr;      // read only inside on_lifecycle jobs
  // Called only inside on_lifecycle jobs. The store a rule is judged from (its query source's, if it names one;
  // unset: `store`), and why a rule's endpoints were last left unjudged for want of its source's data.
  std::function<const store::SeriesStore*(const rules::Rule&)> store_for;
  std::function<std::string(const std::string& rule)> degraded;
};

class HttpServer {
 public:
  // Applies a reload on the lifecycle thread and returns its outcome; called on an HTTP thread.
  using ReloadFn = std::function<Result<void>()>;

  // `server`: TLS (read once, at construction) and basic auth users (setUsers changes them on reload).
  HttpServer(DaemonMetrics& metrics, const Snapshot<DaemonStatus>& status, ReloadFn reload, ApiSources api = {},
             const ServerConfig& server = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the address and starts serving. Returns the address bound (with the kernel's port if port was 0).
  Result<ListenAddress> start(const ListenAddress& address);

  // Stops accepting connections and waits for in-flight requests to finish.
  void stop();

  // Replaces the basic auth users (user -> bcrypt hash); none turns authentication off.
  void setUsers(std::map<std::string, std::string> users);
  bool tls() const { return tls_; }

 private:
  void routes();
  std::int64_t nowMs() const { return (api_.clock ? *api_.clock : realClock()).nowMs(); }

  DaemonMetrics& metrics_;
  const Snapshot<DaemonStatus>& status_;
  ReloadFn reload_;
  ApiSources api_;
  std::unique_ptr<httplib::Server> server_;
  bool tls_ = false;
  std::atomic<std::shared_ptr<BasicAuth>> auth_;
  std::thread thread_;
};

}  // namespace hotspotd::daemon
