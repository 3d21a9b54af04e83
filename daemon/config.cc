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

void readProfiling(TableReader& r, ProfilingConfig& out) {
  if (auto n = r.integer("max_concurrent", 1, 64)) out.max_concurrent = static_cast<int>(*n);
  if (auto b = r.number("cpu_budget", 0.0001, 64)) out.cpu_budget = *b;
  if (auto d = r.duration("baseline_interval")) {
    if (d->count() != 0 && *d < std::chrono::minutes(1)) {
      r.invalid("baseline_interval", "at least 1m (or 0s for no baselines)");
    } else {
      out.baseline_interval = *d;
    }
  }
  if (auto d = r.duration("baseline_duration", std::chrono::seconds(1))) out.baseline_duration = *d;
  if (auto f = r.integer("baseline_frequency", 1, 10000)) out.baseline_frequency = static_cast<int>(*f);
  if (auto d = r.duration("retention", std::chrono::minutes(1))) out.retention = *d;
  if (auto n = r.integer("max_profiles", 1, 1'000'000)) out.max_profiles = *n;
  if (auto b = r.string("max_bytes")) {
    if (auto size = ingest::parseByteSize(*b)) {
      out.max_bytes = *size;
    } else {
      r.invalid("max_bytes", size.error().message);
    }
  }
  if (auto p = r.string("perf")) out.perf = *p;
  r.rejectUnknownKeys();
}

std::vector<ProfileTarget> readProfileTargets(const toml::array& array, const std::filesystem::path& base_dir,
                                              ConfigErrors& errors) {
  std::vector<ProfileTarget> out;
  std::set<std::string> names;
  for (std::size_t i = 0; i < array.size(); ++i) {
    const toml::table& table = *array[i].as_table();
    TableReader r(table, fmt::format("profile_targets[{}]", i), errors);
    ProfileTarget t;
    if (auto name = r.string("name")) {
      t.name = *name;
      if (t.name.empty()) r.invalid("name", "must not be empty");
      if (!names.insert(t.name).second) r.invalid("name", fmt::format("target \"{}\" is defined twice", t.name));
    } else if (!table.contains("name")) {
      errors.add(table.source(), r.keyPath("name"), "missing (rules name their target with profile = \"<name>\")");
    }
    if (auto m = r.string("match")) {
      if (auto sel = parseSelector(*m)) {
        t.match = *sel;
      } else {
        r.invalid("match", sel.error().message);
      }
    }
    int ways = 0;
    if (auto pid = r.integer("pid", 1, 4'194'304)) {
      t.process.pid = static_cast<pid_t>(*pid);
      ++ways;
    }
    if (auto f = r.string("pid_file")) {
      const std::filesystem::path p(*f);
      t.process.pid_file = p.is_absolute() ? p : (base_dir / p).lexically_normal();
      ++ways;
    }
    if (auto u = r.string("systemd_unit")) {
      t.process.systemd_unit = *u;
      ++ways;
    }
    if (auto n = r.string("process_name")) {
      t.process.process_name = *n;
      ++ways;
    }
    if (auto c = r.string("cgroup")) {
      t.process.cgroup = *c;
      ++ways;
    }
    if (auto u = r.string("pprof_url")) {
      if (!u->starts_with("http://") && !u->starts_with("https://")) {
        r.invalid("pprof_url", "must start with http:// or https://");
      }
      t.pprof_url = *u;
      ++ways;
    }
    if (auto c = r.strings("command")) {
      if (c->empty()) r.invalid("command", "must name a program (an array: the program and its arguments)");
      t.command = *c;
    }
    if (ways != 1 && table.contains("name")) {
      errors.add(table.source(), r.keyPath(ways == 0 ? "pid" : "name"),
                 ways == 0 ? "no way to reach the process: give one of pid, pid_file, systemd_unit, process_name, "
                             "cgroup or pprof_url"
                           : "give only one of pid, pid_file, systemd_unit, process_name, cgroup and pprof_url");
    }
    if (auto d = r.duration("duration", std::chrono::seconds(1))) t.duration = *d;
    if (auto d = r.duration("max_duration", std::chrono::seconds(1))) t.max_duration = *d;
    if (t.max_duration < t.duration) t.max_duration = t.duration;
    if (auto f = r.integer("frequency", 1, 10000)) t.frequency = static_cast<int>(*f);
    if (auto d = r.duration("cooldown")) t.cooldown = *d;
    if (auto b = r.string("max_size")) {
      if (auto size = ingest::parseByteSize(*b)) {
        t.max_size = *size;
      } else {
        r.invalid("max_size", size.error().message);
      }
    }
    r.rejectUnknownKeys();
    out.push_back(std::move(t));
  }
  return out;
}

namespace {

// A secret from the config or from a file (`<key>_file`, so configs can be committed): the file's content, without
// its trailing newline, read at each load (a reload picks up a rotated secret).
std::optional<std::string> secret(TableReader& r, std::string_view key, const std::filesystem::path& base_dir) {
  auto inline_value = r.string(key);
  const std::string file_key = std::string(key) + "_file";
  auto file = r.string(file_key);
  if (inline_value && file) {
    r.invalid(file_key, fmt::format("give {} or {}, not both", key, file_key));
    return std::nullopt;
  }
  if (inline_value) return inline_value;
  if (!file) return std::nullopt;
  const std::filesystem::path p(*file);
  auto text = readFile(p.is_absolute() ? p : (base_dir / p).lexically_normal());
  if (!text) {
    r.invalid(file_key, text.error().message);
    return std::nullopt;
  }
  while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
  if (text->empty()) {
    r.invalid(file_key, fmt::format("{} is empty", *file));
    return std::nullopt;
  }
  return *text;
}

bool httpUrl(std::string_view url) { return url.starts_with("http://") || url.starts_with("https://"); }

std::vector<alerting::Receiver> readReceivers(const toml::array& array, const std::filesystem::path& base_dir,
                                              ConfigErrors& errors) {
  std::vector<alerting::Receiver> out;
  std::set<std::string> names;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  for (std::size_t i = 0; i < array.size(); ++i) {
    const toml::table& table = *array[i].as_table();
    TableReader r(table, fmt::format("receivers[{}]", i), errors);
    alerting::Receiver rc;
    if (auto name = r.string("name")) {
      rc.name = *name;
      if (rc.name.empty() || rc.name.find_first_of("[]") != std::string::npos) {
        r.invalid("name", "must be a non-empty name without brackets");
      }
      if (!names.insert(rc.name).second) r.invalid("name", fmt::format("receiver \"{}\" is defined twice", rc.name));
    } else if (!table.contains("name")) {
      errors.add(table.source(), r.keyPath("name"), "missing (routes name their receiver)");
    }
    const auto type = r.string("type");
    if (!type && !table.contains("type")) {
      errors.add(table.source(), r.keyPath("type"), "missing: slack, pagerduty, webhook or alertmanager");
    } else if (type) {
      if (*type == "slack") rc.type = alerting::ReceiverType::slack;
      else if (*type == "pagerduty") rc.type = alerting::ReceiverType::pagerduty;
      else if (*type == "webhook") rc.type = alerting::ReceiverType::webhook;
      else if (*type == "alertmanager") rc.type = alerting::ReceiverType::alertmanager;
      else r.invalid("type", fmt::format("\"{}\" is not one of slack, pagerduty, webhook, alertmanager", *type));
    }
    // Vendors' documented limits set the default pace: Slack about one message a second per webhook, PagerDuty
    // 120 events a minute per routing key.
    if (rc.type == alerting::ReceiverType::slack) rc.rate = 1;
    if (rc.type == alerting::ReceiverType::pagerduty) {
      rc.rate = 2;
      rc.burst = 10;
      rc.urls = {"https://events.pagerduty.com/v2/enqueue"};
      rc.source = host;
    }
    if (rc.type == alerting::ReceiverType::alertmanager) {
      if (auto urls = r.strings("urls")) rc.urls = *urls;
      if (auto url = r.string("url")) rc.urls.push_back(*url);
      if (rc.urls.empty() && type) {
        errors.add(table.source(), r.keyPath("urls"), "missing: the Alertmanagers' base URLs, e.g. "
                                                      "[\"http://alertmanager:9093\"]");
      }
    } else if (auto url = secret(r, "url", base_dir)) {
      rc.urls = {*url};
    } else if (type && rc.type != alerting::ReceiverType::pagerduty && !table.contains("url") &&
               !table.contains("url_file")) {
      errors.add(table.source(), r.keyPath("url"),
                 rc.type == alerting::ReceiverType::slack ? "missing: the incoming webhook URL (or url_file)"
                                                          : "missing: the URL to post to (or url_file)");
    }
    for (const auto& url : rc.urls) {
      if (!httpUrl(url)) r.invalid(rc.type == alerting::ReceiverType::alertmanager ? "urls" : "url",
                                   "must start with http:// or https://");
    }
    if (rc.type == alerting::ReceiverType::pagerduty) {
      if (auto key = secret(r, "routing_key", base_dir)) {
        rc.routing_key = *key;
        if (rc.routing_key.size() != 32) r.invalid("routing_key", "a PagerDuty integration key has 32 characters");
      } else if (type && !table.contains("routing_key") && !table.contains("routing_key_file")) {
        errors.add(table.source(), r.keyPath("routing_key"), "missing: the Events API v2 integration key (or "
                                                             "routing_key_file)");
      }
      if (auto source = r.string("source")) rc.source = *source;
    }
    if (auto token = secret(r, "bearer_token", base_dir)) rc.bearer_token = *token;
    if (auto user = r.string("basic_auth_user")) rc.basic_user = *user;
    if (auto password = secret(r, "basic_auth_password", base_dir)) rc.basic_password = *password;
    if (!rc.bearer_token.empty() && !rc.basic_user.empty()) {
      r.invalid("basic_auth_user", "give bearer_token or basic_auth_user, not both");
    }
    if (auto hmac = secret(r, "hmac_secret", base_dir)) rc.hmac_secret = *hmac;
    if (auto header = r.string("hmac_header")) rc.hmac_header = *header;
    if (const toml::table* headers = r.table("headers")) {
      for (const auto& [k, v] : *headers) {
        if (auto value = v.value<std::string>()) {
          rc.headers.emplace_back(std::string(k.str()), *value);
        } else {
          r.invalid("headers", fmt::format("header \"{}\" must be a string", k.str()));
        }
      }
    }
    if (auto d = r.duration("timeout", std::chrono::milliseconds(100))) rc.timeout = *d;
    if (auto v = r.boolean("tls_verify")) rc.verify_tls = *v;
    if (auto ca = r.string("ca_file")) {
      const std::filesystem::path p(*ca);
      rc.ca_file = (p.is_absolute() ? p : (base_dir / p).lexically_normal()).string();
    }
    if (auto proxy = r.string("proxy_url")) {
      if (!proxy->starts_with("http://")) r.invalid("proxy_url", "must start with http://");
      rc.proxy_url = *proxy;
    }
    if (auto v = r.boolean("send_resolved")) rc.send_resolved = *v;
    if (rc.type == alerting::ReceiverType::alertmanager) rc.send_resolved = true;  // Alertmanager must hear it
    if (auto rate = r.number("rate_limit", 0, 1000)) rc.rate = *rate;
    if (auto burst = r.number("burst", 1, 10000)) rc.burst = *burst;
    for (const char* key : {"title", "text"}) {
      if (auto t = r.string(key)) {
        if (auto parsed = rules::Template::parse(*t); !parsed) {
          r.invalid(key, parsed.error().message);
        } else {
          (std::string_view(key) == "title" ? rc.title : rc.text) = *t;
        }
      }
    }
    r.rejectUnknownKeys();
    out.push_back(std::move(rc));
  }
  return out;
}

void readRoute(TableReader& r, alerting::Route& route, const std::set<std::string>& receivers, bool root,
               ConfigErrors& errors, int depth) {
  if (auto receiver = r.string("receiver")) {
    route.receiver = *receiver;
    if (!receivers.count(*receiver)) {
      r.invalid("receiver", fmt::format("no [[receivers]] is named \"{}\"", *receiver));
    }
  } else if (root && !r.raw().contains("receiver")) {
    errors.add(r.raw().source(), r.keyPath("receiver"), "missing: the root route needs a receiver (the default)");
  }
  if (auto m = r.strings("matchers")) {
    if (root && !m->empty()) r.invalid("matchers", "the root route matches every alert; put matchers on child routes");
    if (auto parsed = alerting::parseMatchers(*m)) {
      route.matchers = std::move(*parsed);
    } else {
      r.invalid("matchers", parsed.error().message);
    }
  }
  if (auto g = r.strings("group_by")) {
    if (std::find(g->begin(), g->end(), "...") != g->end()) {
      route.group_by_all = true;
    } else {
      route.group_by = *g;
    }
  }
  if (auto d = r.duration("group_wait")) route.group_wait = *d;
  if (auto d = r.duration("group_interval", std::chrono::seconds(1))) route.group_interval = *d;
  if (auto d = r.duration("repeat_interval", std::chrono::minutes(1))) route.repeat_interval = *d;
  if (auto c = r.boolean("continue")) {
    if (root) r.invalid("continue", "has no meaning on the root route");
    route.continue_matching = *c;
  }
  if (const toml::array* children = r.arrayOfTables("routes")) {
    if (depth > 16) {
      r.invalid("routes", "routes nest deeper than 16 levels");
    } else {
      for (std::size_t i = 0; i < children->size(); ++i) {
        TableReader child(*(*children)[i].as_table(), r.keyPath(fmt::format("routes[{}]", i)), errors);
        alerting::Route c;
        readRoute(child, c, receivers, false, errors, depth + 1);
        route.routes.push_back(std::move(c));
      }
    }
  }
  r.rejectUnknownKeys();
}

std::vector<alerting::InhibitRule> readInhibitRules(const toml::array& array, ConfigErrors& errors) {
  std::vector<alerting::InhibitRule> out;
  for (std::size_t i = 0; i < array.size(); ++i) {
    TableReader r(*array[i].as_table(), fmt::format("inhibit_rules[{}]", i), errors);
    alerting::InhibitRule rule;
    for (const char* key : {"source_matchers", "target_matchers"}) {
      auto texts = r.strings(key);
      if (!texts || texts->empty()) {
        if (!r.raw().contains(key)) errors.add(r.raw().source(), r.keyPath(key), "missing (at least one matcher)");
        continue;
      }
      if (auto parsed = alerting::parseMatchers(*texts)) {
        (std::string_view(key) == "source_matchers" ? rule.source : rule.target) = std::move(*parsed);
      } else {
        r.invalid(key, parsed.error().message);
      }
    }
    if (auto equal = r.strings("equal")) rule.equal = *equal;
    r.rejectUnknownKeys();
    out.push_back(std::move(rule));
  }
  return out;
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
    if (auto files = r.strings("files")) {
      for (const auto& f : *files) {
        std::filesystem::path p(f);
        config.rules.files.push_back(p.is_absolute() ? f : (base_dir / p).lexically_normal().string());
      }
    }
    if (auto d = r.duration("evaluation_interval", std::chrono::seconds(1))) config.rules.evaluation_interval = *d;
    r.rejectUnknownKeys();
  }
  if (const toml::table* t = top.table("incidents")) {
    TableReader r(*t, "incidents", errors);
    if (auto d = r.duration("retention", std::chrono::hours(1))) config.incidents.retention = *d;
    if (auto u = r.string("trace_url")) {
      if (auto ok = rules::checkTraceUrl(*u); !u->empty() && !ok) {
        r.invalid("trace_url", ok.error().message);
      } else {
        config.incidents.trace_url = *u;
      }
    }
    if (auto n = r.integer("exemplars", 0, 1000)) config.incidents.exemplars = *n;
    r.rejectUnknownKeys();
  }
  // Rule files are part of the config: a reload checks them too, and keeps everything if one is wrong.
  for (const auto& pattern : config.rules.files) {
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
      for (auto& rule : *loaded) config.rules.loaded.push_back(std::move(rule));
    }
  }
  if (config.rules.files.empty()) config.rules.loaded = rules::defaultRules();
  if (const toml::array* a = top.arrayOfTables("scrape")) {
    config.scrape = ingest::readScrapeConfigs(*a, base_dir.string(), errors);
  }
  if (const toml::table* t = top.table("profiling")) {
    TableReader r(*t, "profiling", errors);
    readProfiling(r, config.profiling);
  }
  if (const toml::array* a = top.arrayOfTables("profile_targets")) {
    config.profiling.targets = readProfileTargets(*a, base_dir, errors);
  }
  // Rules that name a profile target must name one that exists.
  for (const auto& rule : config.rules.loaded) {
    if (rule.profile.empty()) continue;
    const bool known = std::any_of(config.profiling.targets.begin(), config.profiling.targets.end(),
                                   [&](const ProfileTarget& t) { return t.name == rule.profile; });
    if (!known) {
      errors.addFileLevel(fmt::format("{}: rule \"{}\" names profile target \"{}\", which no [[profile_targets]] "
                                      "defines",
                                      rule.source, rule.name, rule.profile));
    }
  }
  if (const toml::array* a = top.arrayOfTables("sources")) {
    config.sources = ingest::readSourceConfigs(*a, base_dir.string(), errors);
  }
  // Rules that take their series from a source must name one that exists.
  for (const auto& rule : config.rules.loaded) {
    if (rule.query_source.empty()) continue;
    const bool known = std::any_of(config.sources.begin(), config.sources.end(),
                                   [&](const ingest::SourceConfig& s) { return s.name == rule.query_source; });
    if (!known) {
      errors.addFileLevel(fmt::format("{}: rule \"{}\" takes its series from source \"{}\", which no [[sources]] "
                                      "defines",
                                      rule.source, rule.name, rule.query_source));
    }
  }
  if (const toml::table* t = top.table("alerting")) {
    TableReader r(*t, "alerting", errors);
    if (auto u = r.string("external_url")) {
      if (!httpUrl(*u)) r.invalid("external_url", "must start with http:// or https://");
      config.alerting.external_url = *u;
      while (!config.alerting.external_url.empty() && config.alerting.external_url.back() == '/') {
        config.alerting.external_url.pop_back();
      }
    }
    if (auto d = r.duration("resend_interval", std::chrono::seconds(5))) config.alerting.resend_interval = *d;
    if (auto d = r.duration("history_retention", std::chrono::hours(1))) config.alerting.history_retention = *d;
    if (auto d = r.duration("retry_min", std::chrono::milliseconds(10))) config.alerting.retry_min = *d;
    if (auto d = r.duration("retry_max", std::chrono::seconds(1))) config.alerting.retry_max = *d;
    if (config.alerting.retry_max < config.alerting.retry_min) config.alerting.retry_max = config.alerting.retry_min;
    r.rejectUnknownKeys();
  }
  if (const toml::array* a = top.arrayOfTables("receivers")) {
    config.alerting.receivers = readReceivers(*a, base_dir, errors);
  }
  std::set<std::string> receiver_names;
  for (const auto& rc : config.alerting.receivers) receiver_names.insert(rc.name);
  if (const toml::table* t = top.table("route")) {
    TableReader r(*t, "route", errors);
    readRoute(r, config.alerting.route, receiver_names, /*root=*/true, errors, 0);
  } else if (config.alerting.receivers.size() == 1) {
    config.alerting.route.receiver = config.alerting.receivers.front().name;  // one receiver: it gets everything
  } else if (config.alerting.receivers.size() > 1) {
    errors.addFileLevel("[route]: missing; with several [[receivers]], say which gets what (at least "
                        "[route] receiver = \"<default>\")");
  }
  if (const toml::array* a = top.arrayOfTables("inhibit_rules")) {
    config.alerting.inhibit_rules = readInhibitRules(*a, errors);
  }
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
