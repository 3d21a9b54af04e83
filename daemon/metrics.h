// The daemon's own metrics, served on /metrics: build info, config reload status, HTTP requests per handler, and
// the process_* set. Every component registers its metrics on the one registry held here and declares them in
// one place of its own. Recording is thread-safe (prometheus-cpp metrics are atomic); render() may run on any
// thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "daemon/process_metrics.h"

namespace hotspotd::daemon {

class DaemonMetrics {
 public:
  DaemonMetrics();

  prometheus::Registry& registry() { return *registry_; }

  // The config loaded at start-up (at Unix milliseconds `when_ms`): reload status 1, success time set, no reload
  // counted.
  void recordInitialLoad(std::int64_t when_ms);
  void recordReload(bool success, std::int64_t when_ms);
  void recordHttpRequest(std::string_view handler, int status, double seconds);
  // A request or connection the front end refused before any handler: too_many_connections, header_too_large,
  // body_too_large, timeout, malformed, host, login_rate_limited, handler_error.
  void recordHttpRejected(std::string_view reason);
  void setHttpConnections(double open);
  // A handler of the lifecycle or the state thread's loop threw (logged; the loop went on).
  void recordLoopError() { loop_errors_.Increment(); }

  // The exposition in Prometheus text format 0.0.4.
  std::string render() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  ProcessMetrics process_;
  prometheus::Gauge& reload_successful_;
  prometheus::Gauge& reload_success_time_;
  prometheus::Family<prometheus::Counter>& reloads_;
  prometheus::Family<prometheus::Counter>& http_requests_;
  prometheus::Family<prometheus::Histogram>& http_duration_;
  prometheus::Family<prometheus::Counter>& http_rejected_;
  prometheus::Gauge& http_connections_;
  prometheus::Counter& loop_errors_;
};

}  // namespace hotspotd::daemon
