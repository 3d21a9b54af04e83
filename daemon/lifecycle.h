// DESIGN
// The daemon's lifecycle: one boost::asio::io_context, run on the main thread, owns every piece of pipeline state
// and the running Config. Signals arrive there (SIGHUP reloads, SIGTERM/SIGINT drain and exit); the HTTP server
// runs on its own threads and reaches the lifecycle thread only by posting a reload request and waiting for the
// answer, or by reading the DaemonStatus snapshot this thread publishes.
//
// Start-up order: state directory (locked), metrics, the pipeline (daemon/pipeline.h: store, scraping, state
// database, profiling, alerting, the engine with the open incidents and alert groups read back), HTTP server, then
// READY=1 to systemd. Shutdown runs the other way: STOPPING=1, not ready, the pipeline stopped, stop accepting
// requests, wait for in-flight work up to server.shutdown_timeout, exit 0 (or 1 if the deadline forced it).
//
// Reload: parse and validate the whole file first; apply only if every part is valid. Otherwise keep the running
// config, log the reasons, and set hotspotd_config_last_reload_successful to 0.
#pragma once

#include <utility>  // before Asio: boost/asio/awaitable.hpp misses it with GCC 12 in C++20 mode

#include <atomic>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/clock.h"
#include "core/snapshot.h"
#include "daemon/config.h"
#include "daemon/http_server.h"
#include "daemon/metrics.h"
#include "daemon/pipeline.h"
#include "daemon/routes.h"
#include "daemon/state_dir.h"
#include "daemon/systemd_notify.h"

namespace hotspotd::daemon {

class Daemon {
 public:
  // `config_path` empty means the embedded default config. Time and timers come from `clock`.
  Daemon(std::filesystem::path config_path, Config config, Clock& clock = realClock());
  ~Daemon();

  // Runs until SIGTERM/SIGINT. Returns the process exit code.
  int run();

 private:
  Result<Config> loadConfig() const;
  Result<void> reload(std::string_view trigger);
  Result<void> reloadFromHttp();
  // Runs an API job on `io` (the lifecycle's or the state thread's) and waits for its reply, within limits.
  ApiReply runOn(boost::asio::io_context& io, std::function<ApiReply()> job);
  // The links' base: [alerting] external_url, else the address the server listens on.
  std::string externalUrl() const {
    return config_.alerting.external_url.empty() ? default_external_url_ : config_.alerting.external_url;
  }
  template <typename T>
  bool waitFor(std::future<T>& future) const;
  void waitForSignal();
  void scheduleWatchdog(Duration interval);
  void publishStatus(bool ready);

  std::filesystem::path config_path_;
  Config config_;
  std::string default_external_url_;  // the address the server listens on, as a URL
  Clock& clock_;
  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer watchdog_timer_;
  SystemdNotifier notifier_;
  DaemonMetrics metrics_;
  Snapshot<DaemonStatus> status_;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<HttpServer> http_;
  StateDirLock state_lock_;
  std::atomic<bool> stopping_{false};
  std::int64_t start_ms_ = 0;
  std::int64_t config_loaded_ms_ = 0;
};

}  // namespace hotspotd::daemon
