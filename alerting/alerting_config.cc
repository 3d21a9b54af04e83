#include "alerting/alerting_config.h"

#include <unistd.h>

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "core/file.h"
#include "rules/template.h"

namespace hotspotd::alerting {

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

std::vector<Receiver> readReceivers(const toml::array& array, const std::filesystem::path& base_dir,
                                              ConfigErrors& errors) {
  std::vector<Receiver> out;
  std::set<std::string> names;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  for (std::size_t i = 0; i < array.size(); ++i) {
    const toml::table& table = *array[i].as_table();
    TableReader r(table, fmt::format("receivers[{}]", i), errors);
    Receiver rc;
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
      if (*type == "slack") rc.type = ReceiverType::slack;
      else if (*type == "pagerduty") rc.type = ReceiverType::pagerduty;
      else if (*type == "webhook") rc.type = ReceiverType::webhook;
      else if (*type == "alertmanager") rc.type = ReceiverType::alertmanager;
      else r.invalid("type", fmt::format("\"{}\" is not one of slack, pagerduty, webhook, alertmanager", *type));
    }
    // Vendors' documented limits set the default pace: Slack about one message a second per webhook (sent 1.1 s
    // apart: a message delayed on its way must not land within a second of the next), PagerDuty 120 events a
    // minute per routing key.
    if (rc.type == ReceiverType::slack) rc.rate = 0.9;
    if (rc.type == ReceiverType::pagerduty) {
      rc.rate = 2;
      rc.burst = 10;
      rc.urls = {"https://events.pagerduty.com/v2/enqueue"};
      rc.source = host;
    }
    if (rc.type == ReceiverType::alertmanager) {
      if (auto urls = r.strings("urls")) rc.urls = *urls;
      if (auto url = r.string("url")) rc.urls.push_back(*url);
      if (rc.urls.empty() && type) {
        errors.add(table.source(), r.keyPath("urls"), "missing: the Alertmanagers' base URLs, e.g. "
                                                      "[\"http://alertmanager:9093\"]");
      }
    } else if (auto url = secret(r, "url", base_dir)) {
      rc.urls = {*url};
    } else if (type && rc.type != ReceiverType::pagerduty && !table.contains("url") &&
               !table.contains("url_file")) {
      errors.add(table.source(), r.keyPath("url"),
                 rc.type == ReceiverType::slack ? "missing: the incoming webhook URL (or url_file)"
                                                          : "missing: the URL to post to (or url_file)");
    }
    for (const auto& url : rc.urls) {
      if (!httpUrl(url)) r.invalid(rc.type == ReceiverType::alertmanager ? "urls" : "url",
                                   "must start with http:// or https://");
    }
    if (rc.type == ReceiverType::pagerduty) {
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
    if (rc.type == ReceiverType::alertmanager) rc.send_resolved = true;  // Alertmanager must hear it
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

void readRoute(TableReader& r, Route& route, const std::set<std::string>& receivers, bool root,
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
    if (auto parsed = parseMatchers(*m)) {
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
        Route c;
        readRoute(child, c, receivers, false, errors, depth + 1);
        route.routes.push_back(std::move(c));
      }
    }
  }
  r.rejectUnknownKeys();
}

std::vector<InhibitRule> readInhibitRules(const toml::array& array, ConfigErrors& errors) {
  std::vector<InhibitRule> out;
  for (std::size_t i = 0; i < array.size(); ++i) {
    TableReader r(*array[i].as_table(), fmt::format("inhibit_rules[{}]", i), errors);
    InhibitRule rule;
    for (const char* key : {"source_matchers", "target_matchers"}) {
      auto texts = r.strings(key);
      if (!texts || texts->empty()) {
        if (!r.raw().contains(key)) errors.add(r.raw().source(), r.keyPath(key), "missing (at least one matcher)");
        continue;
      }
      if (auto parsed = parseMatchers(*texts)) {
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

void readAlertingConfig(TableReader& top, const std::filesystem::path& base_dir, ConfigErrors& errors,
                        AlertingConfig& out) {
  if (const toml::table* t = top.table("alerting")) {
    TableReader r(*t, "alerting", errors);
    if (auto u = r.string("external_url")) {
      if (!httpUrl(*u)) r.invalid("external_url", "must start with http:// or https://");
      out.external_url = *u;
      while (!out.external_url.empty() && out.external_url.back() == '/') {
        out.external_url.pop_back();
      }
    }
    if (auto d = r.duration("resend_interval", std::chrono::seconds(5))) out.resend_interval = *d;
    if (auto d = r.duration("history_retention", std::chrono::hours(1))) out.history_retention = *d;
    if (auto d = r.duration("retry_min", std::chrono::milliseconds(10))) out.retry_min = *d;
    if (auto d = r.duration("retry_max", std::chrono::seconds(1))) out.retry_max = *d;
    if (out.retry_max < out.retry_min) out.retry_max = out.retry_min;
    r.rejectUnknownKeys();
  }
  if (const toml::array* a = top.arrayOfTables("receivers")) {
    out.receivers = readReceivers(*a, base_dir, errors);
  }
  std::set<std::string> receiver_names;
  for (const auto& rc : out.receivers) receiver_names.insert(rc.name);
  if (const toml::table* t = top.table("route")) {
    TableReader r(*t, "route", errors);
    readRoute(r, out.route, receiver_names, /*root=*/true, errors, 0);
  } else if (out.receivers.size() == 1) {
    out.route.receiver = out.receivers.front().name;  // one receiver: it gets everything
  } else if (out.receivers.size() > 1) {
    errors.addFileLevel("[route]: missing; with several [[receivers]], say which gets what (at least "
                        "[route] receiver = \"<default>\")");
  }
  if (const toml::array* a = top.arrayOfTables("inhibit_rules")) {
    out.inhibit_rules = readInhibitRules(*a, errors);
  }
}

}  // namespace hotspotd::alerting
