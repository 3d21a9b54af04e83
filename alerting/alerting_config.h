// What [alerting], [[receivers]], [route] and [[inhibit_rules]] say: where notifications go, how they are grouped,
// paced, retried and kept. Plain values, parsed and checked with the rest of the config; any thread.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "alerting/receiver.h"
#include "alerting/routing.h"
#include "core/duration.h"
#include "core/toml_reader.h"

namespace hotspotd::alerting {

struct AlertingConfig {
  // The daemon's address as people reach it, for links in alerts (incident pages, flame graphs). Empty: http://
  // and the address the server listens on (with the host's name when listening on every interface).
  std::string external_url;
  // Firing alerts are sent to Alertmanager receivers again this often, with endsAt four times as far ahead.
  Duration resend_interval = std::chrono::minutes(1);
  // Delivered and failed notifications, and expired silences, are kept this long (the history the API shows).
  Duration history_retention = std::chrono::hours(24 * 7);
  // Retries: exponential backoff from retry_min to retry_max (with jitter), unless the receiver says Retry-After.
  Duration retry_min = std::chrono::seconds(1);
  Duration retry_max = std::chrono::minutes(5);
  std::vector<Receiver> receivers;
  Route route;  // receiver empty when there are no receivers
  std::vector<InhibitRule> inhibit_rules;
};

// Reads [alerting], [[receivers]], [route] and [[inhibit_rules]] from the config's top table. Secrets may come from
// files (`url_file`, `routing_key_file`, ...), relative to `base_dir`, read at every load.
void readAlertingConfig(TableReader& top, const std::filesystem::path& base_dir, ConfigErrors& errors,
                        AlertingConfig& out);

}  // namespace hotspotd::alerting
