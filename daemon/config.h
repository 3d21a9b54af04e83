// The daemon's configuration: what `hotspotd.toml` says, parsed and validated as a whole. A Config is a plain
// value: the lifecycle owner builds a new one on reload and swaps it in only when every section is valid.
// Parsing is pure and may run on any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "alerting/alerting_config.h"
#include "core/duration.h"
#include "core/log.h"
#include "core/result.h"
#include "ingest/scrape_config.h"
#include "ingest/source_config.h"
#include "profile/profiling_config.h"
#include "rules/rule.h"
#include "store/series_store.h"

namespace hotspotd::daemon {

struct ListenAddress {
  std::string host = "127.0.0.1";
  std::uint16_t port = 9464;

  std::string str() const;  // "127.0.0.1:9464", "[::1]:9464"
  bool operator==(const ListenAddress&) const = default;
};

// "host:port" or "[v6]:port"; port 0 asks the kernel for a free port (tests use it).
Result<ListenAddress> parseListenAddress(std::string_view text);

struct ServerConfig {
  ListenAddress listen;
  // HTTPS with this certificate (chain) and key, PEM; TLS 1.2 or newer. Both empty: plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Basic auth: user -> bcrypt hash. Empty: no authentication (keep the daemon on loopback then).
  std::map<std::string, std::string> basic_auth_users;
  // How long SIGTERM waits for in-flight work before the daemon gives up on it and exits.
  Duration shutdown_timeout = std::chrono::seconds(10);
  // Host names (besides IP addresses, localhost and this host's name) the Host header may carry; external_url's
  // host is added. Anything else is refused (DNS rebinding).
  std::vector<std::string> allowed_hosts;
  // The front end's limits: connections open at once, and from one client address; the time a client has to send
  // a request's line and headers; the time for the whole request.
  std::size_t max_connections = 256;
  std::size_t max_connections_per_client = 32;
  Duration header_timeout = std::chrono::seconds(10);
  Duration request_timeout = std::chrono::seconds(30);
};

struct StorageConfig {
  std::filesystem::path state_dir;
};

struct LogConfig {
  log::Level level = log::Level::info;
  log::Format format = log::Format::text;
};

struct RulesConfig {
  // Rule files or globs (relative to the config file). None: the zero-config default rules.
  std::vector<std::string> files;
  Duration evaluation_interval = std::chrono::seconds(15);
  std::vector<rules::Rule> loaded;  // the rules the files hold (or the zero-config default), checked
};

struct IncidentsConfig {
  // Resolved incidents stay in the state database (the history the API shows) for this long.
  Duration retention = std::chrono::hours(24 * 30);
  // A link to a trace from an exemplar's labels, e.g. "https://tempo.example.com/explore?traceId={{ trace_id }}".
  std::string trace_url;
  // Exemplars (slow requests with their trace ids) kept per incident, newest first.
  std::int64_t exemplars = 10;
};

struct Config {
  std::string source;  // the file it came from, or "<embedded default>"
  ServerConfig server;
  StorageConfig storage;
  LogConfig log;
  store::StoreConfig store{.max_series = 1'000'000};
  std::vector<ingest::ScrapeConfig> scrape;
  std::vector<ingest::SourceConfig> sources;  // query APIs rules may take their series from
  RulesConfig rules;
  IncidentsConfig incidents;
  profile::ProfilingConfig profiling;
  alerting::AlertingConfig alerting;
};

// Where state lives when the config does not say: systemd's $STATE_DIRECTORY, else /var/lib/hotspotd for root,
// else $XDG_STATE_HOME/hotspotd (~/.local/state/hotspotd).
std::filesystem::path defaultStateDir();

// Parses and validates config text. `source` names it in messages; relative paths resolve against `base_dir`.
// The error lists every problem, one per line, as "file:line:column: key: what is wrong".
Result<Config> parseConfig(std::string_view text, std::string_view source, const std::filesystem::path& base_dir);

// Reads and parses a config file.
Result<Config> loadConfigFile(const std::filesystem::path& path);

// The default config compiled into the binary (the text of etc/hotspotd.toml), used when --config is not given.
std::string_view embeddedDefaultConfig();
Result<Config> loadEmbeddedDefaultConfig();

inline constexpr std::string_view kEmbeddedSource = "<embedded default>";

}  // namespace hotspotd::daemon
