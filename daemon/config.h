// The daemon's configuration: what `hotspotd.toml` says, parsed and validated as a whole. A Config is a plain
// value: the lifecycle owner builds a new one on reload and swaps it in only when every section is valid.
// Parsing is pure and may run on any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "alerting/receiver.h"
#include "alerting/routing.h"
#include "core/duration.h"
#include "core/log.h"
#include "core/result.h"
#include "ingest/scrape_config.h"
#include "ingest/source_config.h"
#include "profile/capture.h"
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

// A process to profile when an incident names it (`profile = "<name>"` in a rule), and how to reach it.
struct ProfileTarget {
  std::string name;
  Selector match;  // label matchers the incident's labels must satisfy (none: every incident naming the target)
  profile::ProcessSelector process;
  std::string pprof_url;             // a Go-style /debug/pprof/profile endpoint instead of perf
  std::vector<std::string> command;  // a program printing folded stacks instead of perf ({pid}, {seconds})
  Duration duration = std::chrono::seconds(10);      // the first capture of an incident
  Duration max_duration = std::chrono::seconds(60);  // later captures of the same incident double up to this
  int frequency = 99;
  Duration cooldown = std::chrono::minutes(5);  // at most one capture of the target this often
  std::uint64_t max_size = std::uint64_t{64} << 20;
};

struct ProfilingConfig {
  int max_concurrent = 2;
  double cpu_budget = 0.02;  // of one CPU, averaged over an hour: what profiling may cost this host
  Duration baseline_interval = std::chrono::hours(1);  // 0: no baselines
  Duration baseline_duration = std::chrono::seconds(10);
  int baseline_frequency = 49;
  Duration retention = std::chrono::hours(24 * 7);
  std::int64_t max_profiles = 500;
  std::uint64_t max_bytes = std::uint64_t{1} << 30;
  std::string perf = "perf";
  std::vector<ProfileTarget> targets;
};

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
  std::vector<alerting::Receiver> receivers;
  alerting::Route route;  // receiver empty when there are no receivers
  std::vector<alerting::InhibitRule> inhibit_rules;
};

struct Config {
  std::string source;  // the file it came from, or "<embedded default>"
  ServerConfig server;
  StorageConfig storage;
  LogConfig log;
  store::StoreConfig store;
  std::vector<ingest::ScrapeConfig> scrape;
  std::vector<ingest::SourceConfig> sources;  // query APIs rules may take their series from
  RulesConfig rules;
  IncidentsConfig incidents;
  ProfilingConfig profiling;
  AlertingConfig alerting;
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
