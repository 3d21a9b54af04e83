// What a [[sources]] section of the config says: a Prometheus-compatible query API (Prometheus, Thanos, Mimir,
// VictoriaMetrics) that rules may take their series from instead of scrapes, how to reach it (URL, credentials,
// TLS, extra headers such as Mimir's X-Scope-OrgID), the query step and timeout, and the share of endpoints this
// daemon judges (`shard`). Read and validated with the other config sections; a plain value.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/duration.h"
#include "core/result.h"
#include "core/toml_reader.h"
#include "ingest/shard.h"

namespace hotspotd::ingest {

struct SourceConfig {
  std::string name;
  std::string url;  // as written, for messages
  std::string scheme = "http";
  std::string host;
  std::string port;
  std::string base_path;  // the API prefix before /api/v1 ("" for Prometheus, "/prometheus" for Mimir)
  // Credentials: a bearer token, or basic auth. Files are read at every round of queries, so a rotated token is
  // picked up without a reload.
  std::string bearer_token;
  std::string bearer_token_file;
  std::string basic_auth_username;
  std::string basic_auth_password;
  std::string basic_auth_password_file;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string tls_ca_file;
  bool tls_insecure_skip_verify = false;
  Duration timeout = std::chrono::seconds(30);
  Duration step = std::chrono::seconds(30);  // the resolution asked for: at least the data's scrape interval
  // How far behind now the newest step asked for lags (Prometheus' rule query_offset, Mimir's evaluation delay):
  // for sources whose newest samples arrive late (remote write, ingestion lag).
  Duration query_offset{0};
  Shard shard;
  std::string shard_text;  // "1/3" as written, empty without sharding

  bool operator==(const SourceConfig& o) const = default;
};

// Reads the [[sources]] array (each entry checked; problems go to `errors`). Relative file paths resolve against
// `base_dir`.
std::vector<SourceConfig> readSourceConfigs(const toml::array& array, const std::string& base_dir,
                                            ConfigErrors& errors);

// The request headers for a query to `source`: Authorization from its credentials (files read now) and its own
// headers. Fails if a credentials file cannot be read.
Result<std::vector<std::pair<std::string, std::string>>> sourceHeaders(const SourceConfig& source);

}  // namespace hotspotd::ingest
