#include "daemon/config.h"

#include <glob.h>
#include <unistd.h>

#include <charconv>
#include <set>
#include <cstdlib>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "core/file.h"
#include "daemon/auth.h"
#include "core/toml_reader.h"
#include "rules/rule_loader.h"
#include "rules/template.h"

namespace hotspotd::daemon {
namespace {

void readServer(TableReader& r, ServerConfig& out, const std::filesystem::path& base_dir) {
  if (auto listen = r.string("listen")) {
    if (auto addr = parseListenAddress(*listen)) {
      out.listen = *addr;
    } else {
      r.invalid("listen", addr.error().message);
    }
  }
  if (auto t = r.duration("shutdown_timeout", std::chrono::seconds(1))) out.shutdown_timeout = *t;
  if (auto hosts = r.strings("allowed_hosts")) {
    for (const auto& h : *hosts) {
      if (h.empty() || h.find_first_of(":/ ") != std::string::npos) {
        r.invalid("allowed_hosts", fmt::format("\"{}\" is not a host name (write names only, without port or scheme)", h));
      }
    }
    out.allowed_hosts = *hosts;
  }
  if (auto n = r.integer("max_connections", 8, 100'000)) out.max_connections = static_cast<std::size_t>(*n);
  if (auto n = r.integer("max_connections_per_client", 1, 100'000)) {
    out.max_connections_per_client = static_cast<std::size_t>(*n);
  }
  if (auto t = r.duration("header_timeout", std::chrono::seconds(1))) out.header_timeout = *t;
  if (auto t = r.duration("request_timeout", std::chrono::seconds(1))) out.request_timeout = *t;
  auto path = [&](const std::string& p) {
    const std::filesystem::path f(p);
    return (f.is_absolute() ? f : (base_dir / f).lexically_normal()).string();
  };
  if (auto cert = r.string("tls_cert_file")) out.tls_cert_file = path(*cert);
  if (auto key = r.string("tls_key_file")) out.tls_key_file = path(*key);
  if (out.tls_cert_file.empty() != out.tls_key_file.empty()) {
    r.invalid(out.tls_cert_file.empty() ? "tls_key_file" : "tls_cert_file",
              "give both tls_cert_file and tls_key_file for HTTPS");
  }
  for (const char* key : {"tls_cert_file", "tls_key_file"}) {
    const std::string& file = std::string_view(key) == "tls_cert_file" ? out.tls_cert_file : out.tls_key_file;
    if (!file.empty() && access(file.c_str(), R_OK) != 0) r.invalid(key, fmt::format("cannot read {}", file));
  }
  if (const toml::table* users = r.table("basic_auth_users")) {
    for (const auto& [user, hash] : *users) {
      auto text = hash.value<std::string>();
      if (!text) {
        r.invalid("basic_auth_users", fmt::format("user \"{}\": the value is a bcrypt hash string", user.str()));
      } else if (auto ok = checkBcryptHash(*text); !ok) {
        r.invalid("basic_auth_users", fmt::format("user \"{}\": {}", user.str(), ok.error().message));
      } else {
        out.basic_auth_users[std::string(user.str())] = *text;
      }
    }
  }
  r.rejectUnknownKeys();
}

void readStorage(TableReader& r, StorageConfig& out, const std::filesystem::path& base_dir) {
  if (auto dir = r.string("state_dir")) {
    if (dir->empty()) {
      r.invalid("state_dir", "must not be empty (leave the key out to use the default)");
    } else {
      std::filesystem::path p(*dir);
      out.state_dir = p.is_absolute() ? p : (base_dir / p).lexically_normal();
    }
  }
  r.rejectUnknownKeys();
}

void readLog(TableReader& r, LogConfig& out) {
  if (auto level = r.string("level")) {
    if (auto parsed = log::parseLevel(*level)) {
      out.level = *parsed;
    } else {
      r.invalid("level", parsed.error().message);
    }
  }
  if (auto format = r.string("format")) {
    if (auto parsed = log::parseFormat(*format)) {
      out.format = *parsed;
    } else {
      r.invalid("format", parsed.error().message);
    }
  }
  r.rejectUnknownKeys();
}

void readStore(TableReader& r, store::StoreConfig& out) {
  if (auto d = r.duration("full_resolution", std::chrono::minutes(1))) out.full_resolution = *d;
  if (auto d = r.duration("retention", std::chrono::minutes(5))) out.retention = *d;
  if (auto d = r.duration("coarse_step", std::chrono::seconds(10))) out.coarse_step = *d;
  if (auto d = r.duration("staleness", std::chrono::seconds(30))) out.staleness = *d;
  // 0 is no limit.
  if (auto n = r.integer("max_series", 0, 1'000'000'000)) out.max_series = static_cast<std::size_t>(*n);
  if (out.retention < out.full_resolution) {
    r.invalid("retention", fmt::format("{} is shorter than full_resolution ({})", formatDuration(out.retention),
                                       formatDuration(out.full_resolution)));
  }
  if (out.coarse_step > out.full_resolution) {
    r.invalid("coarse_step", fmt::format("{} is longer than full_resolution ({})", formatDuration(out.coarse_step),
                                         formatDuration(out.full_resolution)));
  }
  r.rejectUnknownKeys();
}

}  // namespace

std::string ListenAddress::str() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

Result<ListenAddress> parseListenAddress(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return fail(fmt::format("invalid listen address \"{}\": {} (write host:port, e.g. 127.0.0.1:9464 or [::1]:9464)",
                            text, why));
  };
  ListenAddress out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return bad("missing ']'");
    out.host = std::string(text.substr(1, close - 1));
    if (close + 1 >= text.size() || text[close + 1] != ':') return bad("missing :port after ']'");
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("missing :port");
    out.host = std::string(text.substr(0, colon));
    if (out.host.find(':') != std::string::npos) return bad("IPv6 addresses go in brackets");
    port_text = text.substr(colon + 1);
  }
  if (out.host.empty()) return bad("missing host (use 0.0.0.0 to listen on every interface)");
  unsigned port = 0;
  const auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || ptr != port_text.data() + port_text.size() || port > 65535) {
    return bad("port must be a number from 0 to 65535");
  }
  out.port = static_cast<std::uint16_t>(port);
  return out;
}

std::filesystem::path defaultStateDir() {
  if (const char* sd = std::getenv("STATE_DIRECTORY"); sd && *sd) {
    std::string_view first(sd);
    first = first.substr(0, first.find(':'));  // systemd lists one entry per StateDirectory=, colon-separated
    return std::filesystem::path(first);
  }
  if (geteuid() == 0) return "/var/lib/hotspotd";
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "hotspotd";
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::filesystem::path(home) / ".local/state/hotspotd";
  }
  return "/var/lib/hotspotd";
}

namespace {

void readRulesSection(TableReader& r, RulesConfig& rules, const std::filesystem::path& base_dir) {
  if (auto files = r.strings("files")) {
    for (const auto& f : *files) {
      std::filesystem::path p(f);
      rules.files.push_back(p.is_absolute() ? f : (base_dir / p).lexically_normal().string());
    }
  }
  if (auto d = r.duration("evaluation_interval", std::chrono::seconds(1))) rules.evaluation_interval = *d;
  r.rejectUnknownKeys();
}

void readIncidents(TableReader& r, IncidentsConfig& incidents) {
  if (auto d = r.duration("retention", std::chrono::hours(1))) incidents.retention = *d;
  if (auto u = r.string("trace_url")) {
    if (auto ok = rules::checkTraceUrl(*u); !u->empty() && !ok) {
      r.invalid("trace_url", ok.error().message);
    } else {
      incidents.trace_url = *u;
    }
  }
  if (auto n = r.integer("exemplars", 0, 1000)) incidents.exemplars = *n;
  r.rejectUnknownKeys();
}

// Rule files are part of the config: a reload checks them too, and keeps everything if one is wrong. No files:
// the zero-config rules.
void loadRuleFiles(RulesConfig& rules, ConfigErrors& errors) {
  for (const auto& pattern : rules.files) {
    const bool is_glob = pattern.find_first_of("*?[") != std::string::npos;
    glob_t g{};
    std::vector<std::string> paths;
    if (glob(pattern.c_str(), 0, nullptr, &g) == 0) {
      for (std::size_t i = 0; i < g.gl_pathc; ++i) paths.emplace_back(g.gl_pathv[i]);
    }
    globfree(&g);
    if (paths.empty() && !is_glob) {
      errors.addFileLevel(fmt::format("rules.files: rule file {} does not exist", pattern));
    }
    for (const auto& path : paths) {
      auto loaded = rules::loadRules(path);
      if (!loaded) {
        errors.addFileLevel(fmt::format("rules.files: {}", loaded.error().message));
        continue;
      }
      for (auto& rule : *loaded) rules.loaded.push_back(std::move(rule));
    }
  }
  if (rules.files.empty()) rules.loaded = rules::defaultRules();
}

// Rules that name a profile target or a query source must name one the config defines.
void checkRuleReferences(const Config& config, ConfigErrors& errors) {
  for (const auto& rule : config.rules.loaded) {
    if (!rule.profile.empty() &&
        std::none_of(config.profiling.targets.begin(), config.profiling.targets.end(),
                     [&](const profile::ProfileTarget& t) { return t.name == rule.profile; })) {
      errors.addFileLevel(fmt::format("{}: rule \"{}\" names profile target \"{}\", which no [[profile_targets]] "
                                      "defines",
                                      rule.source, rule.name, rule.profile));
    }
    if (!rule.query_source.empty() &&
        std::none_of(config.sources.begin(), config.sources.end(),
                     [&](const ingest::SourceConfig& s) { return s.name == rule.query_source; })) {
      errors.addFileLevel(fmt::format("{}: rule \"{}\" takes its series from source \"{}\", which no [[sources]] "
                                      "defines",
                                      rule.source, rule.name, rule.query_source));
    }
  }
}

}  // namespace

Result<Config> parseConfig(std::string_view text, std::string_view source, const std::filesystem::path& base_dir) {
  ConfigErrors errors{std::string(source)};
  auto document = parseTomlDocument(text, errors);
  if (!document) return fail(errors.joined());
  const toml::table& root = *document;

  Config config;
  config.source = std::string(source);
  config.storage.state_dir = defaultStateDir();

  TableReader top(root, "", errors);
  if (const toml::table* t = top.table("server")) {
    TableReader r(*t, "server", errors);
    readServer(r, config.server, base_dir);
  }
  if (const toml::table* t = top.table("storage")) {
    TableReader r(*t, "storage", errors);
    readStorage(r, config.storage, base_dir);
  }
  if (const toml::table* t = top.table("log")) {
    TableReader r(*t, "log", errors);
    readLog(r, config.log);
  }
  if (const toml::table* t = top.table("store")) {
    TableReader r(*t, "store", errors);
    readStore(r, config.store);
  }
  if (const toml::table* t = top.table("rules")) {
    TableReader r(*t, "rules", errors);
    readRulesSection(r, config.rules, base_dir);
  }
  if (const toml::table* t = top.table("incidents")) {
    TableReader r(*t, "incidents", errors);
    readIncidents(r, config.incidents);
  }
  loadRuleFiles(config.rules, errors);
  if (const toml::array* a = top.arrayOfTables("scrape")) {
    config.scrape = ingest::readScrapeConfigs(*a, base_dir.string(), errors);
  }
  if (const toml::table* t = top.table("profiling")) {
    TableReader r(*t, "profiling", errors);
    profile::readProfiling(r, config.profiling);
  }
  if (const toml::array* a = top.arrayOfTables("profile_targets")) {
    config.profiling.targets = profile::readProfileTargets(*a, base_dir, errors);
  }
  if (const toml::array* a = top.arrayOfTables("sources")) {
    config.sources = ingest::readSourceConfigs(*a, base_dir.string(), errors);
  }
  checkRuleReferences(config, errors);
  alerting::readAlertingConfig(top, base_dir, errors, config.alerting);
  top.rejectUnknownKeys();

  if (!errors.empty()) return fail(errors.joined());
  return config;
}

Result<Config> loadConfigFile(const std::filesystem::path& path) {
  auto text = readFile(path);
  if (!text) {
    return fail(fmt::format("{} (check the path given to --config)", text.error().message));
  }
  std::error_code ec;
  const auto absolute = std::filesystem::absolute(path, ec);
  return parseConfig(*text, path.string(), (ec ? path : absolute).parent_path());
}

Result<Config> loadEmbeddedDefaultConfig() {
  return parseConfig(embeddedDefaultConfig(), kEmbeddedSource, std::filesystem::current_path());
}

}  // namespace hotspotd::daemon
