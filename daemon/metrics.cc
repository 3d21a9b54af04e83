#include "daemon/metrics.h"

#include <prometheus/text_serializer.h>

#include "core/version.h"

namespace hotspotd::daemon {
namespace {

const prometheus::Histogram::BucketBoundaries& httpBuckets() {
  static const prometheus::Histogram::BucketBoundaries buckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                               0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return buckets;
}

}  // namespace

DaemonMetrics::DaemonMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      reload_successful_(prometheus::BuildGauge()
                             .Name("hotspotd_config_last_reload_successful")
                             .Help("Whether the last configuration reload attempt was successful.")
                             .Register(*registry_)
                             .Add({})),
      reload_success_time_(prometheus::BuildGauge()
                               .Name("hotspotd_config_last_reload_success_timestamp_seconds")
                               .Help("Timestamp of the last successful configuration load or reload.")
                               .Register(*registry_)
                               .Add({})),
      reloads_(prometheus::BuildCounter()
                   .Name("hotspotd_config_reloads_total")
                   .Help("Configuration reload attempts, by result.")
                   .Register(*registry_)),
      http_requests_(prometheus::BuildCounter()
                         .Name("hotspotd_http_requests_total")
                         .Help("HTTP requests served, by handler and status code.")
                         .Register(*registry_)),
      http_duration_(prometheus::BuildHistogram()
                         .Name("hotspotd_http_request_duration_seconds")
                         .Help("Time to serve HTTP requests, by handler.")
                         .Register(*registry_)),
      http_rejected_(prometheus::BuildCounter()
                         .Name("hotspotd_http_rejected_total")
                         .Help("Connections and requests the HTTP front end refused before any handler, by reason.")
                         .Register(*registry_)),
      http_connections_(prometheus::BuildGauge()
                            .Name("hotspotd_http_connections")
                            .Help("HTTP connections open now.")
                            .Register(*registry_)
                            .Add({})),
      loop_errors_(prometheus::BuildCounter()
                       .Name("hotspotd_loop_errors_total")
                       .Help("Handlers of the event loop that threw; each is logged and the loop goes on.")
                       .Register(*registry_)
                       .Add({})) {
  for (const char* reason : {"too_many_connections", "header_too_large", "body_too_large", "timeout", "malformed",
                             "host", "login_rate_limited", "handler_error"}) {
    http_rejected_.Add({{"reason", reason}});
  }
  const BuildInfo& build = buildInfo();
  prometheus::BuildGauge()
      .Name("hotspotd_build_info")
      .Help("A metric with a constant '1' value labeled by version, revision and compiler of hotspotd.")
      .Register(*registry_)
      .Add({{"version", std::string(build.version)},
            {"revision", std::string(build.revision)},
            {"compiler", std::string(build.compiler)}})
      .Set(1);
  // Both results exist from the start so that rate() and absent() behave before the first reload.
  reloads_.Add({{"result", "success"}});
  reloads_.Add({{"result", "failure"}});
}

void DaemonMetrics::recordInitialLoad(std::int64_t when_ms) {
  reload_successful_.Set(1);
  reload_success_time_.Set(static_cast<double>(when_ms) / 1000.0);
}

void DaemonMetrics::recordReload(bool success, std::int64_t when_ms) {
  reload_successful_.Set(success ? 1 : 0);
  reloads_.Add({{"result", success ? "success" : "failure"}}).Increment();
  if (success) {
    reload_success_time_.Set(static_cast<double>(when_ms) / 1000.0);
  }
}

void DaemonMetrics::recordHttpRejected(std::string_view reason) {
  http_rejected_.Add({{"reason", std::string(reason)}}).Increment();
}

void DaemonMetrics::setHttpConnections(double open) { http_connections_.Set(open); }

void DaemonMetrics::recordHttpRequest(std::string_view handler, int status, double seconds) {
  http_requests_.Add({{"handler", std::string(handler)}, {"code", std::to_string(status)}}).Increment();
  http_duration_.Add({{"handler", std::string(handler)}}, httpBuckets()).Observe(seconds);
}

std::string DaemonMetrics::render() const {
  auto families = registry_->Collect();
  auto process = process_.Collect();
  families.insert(families.end(), std::make_move_iterator(process.begin()), std::make_move_iterator(process.end()));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace hotspotd::daemon
