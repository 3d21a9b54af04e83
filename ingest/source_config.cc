#include "ingest/source_config.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "core/base64.h"
#include "core/url.h"
#include "core/file.h"

namespace hotspotd::ingest {
namespace {

// The source's base URL: scheme, host, port and the API prefix; the error says what is wrong.
Result<void> splitUrl(std::string_view url, SourceConfig& c) {
  auto parsed = parseHttpUrl(url);
  if (!parsed) return fail(fmt::format("{} (write e.g. \"http://prometheus:9090\")", parsed.error().message));
  if (parsed->target.find('?') != std::string::npos) {
    return fail("takes no query string (the API's base only; parameters are hotspotd's)");
  }
  if (!parsed->userinfo.empty()) {
    return fail("credentials in the URL are not read: use basic_auth_username and basic_auth_password_file");
  }
  std::string_view path = parsed->target;
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.ends_with("/api/v1")) {
    return fail("give the API's base without /api/v1 (\"http://prometheus:9090\", \"https://mimir/prometheus\")");
  }
  c.scheme = parsed->scheme;
  c.host = parsed->host;
  c.port = parsed->port;
  c.base_path = std::string(path);
  return {};
}

bool validHeaderName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
  });
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::vector<SourceConfig> readSourceConfigs(const toml::array& array, const std::string& base_dir,
                                            ConfigErrors& errors) {
  std::vector<SourceConfig> out;
  std::set<std::string> names;
  auto path = [&](const std::string& p) {
    return std::filesystem::path(p).is_absolute() ? p
                                                  : (std::filesystem::path(base_dir) / p).lexically_normal().string();
  };
  for (std::size_t i = 0; i < array.size(); ++i) {
    const toml::table& table = *array[i].as_table();
    TableReader r(table, fmt::format("sources[{}]", i), errors);
    SourceConfig c;
    if (auto name = r.string("name")) {
      c.name = *name;
      if (c.name.empty()) r.invalid("name", "must not be empty");
      if (!names.insert(c.name).second) r.invalid("name", fmt::format("source \"{}\" is defined twice", c.name));
    } else if (!table.contains("name")) {
      errors.add(table.source(), r.keyPath("name"),
                 "missing (every [[sources]] needs a name; rules say source = \"<name>\")");
    }
    if (auto kind = r.string("kind")) {
      if (*kind != "prometheus") {
        r.invalid("kind",
                  "must be \"prometheus\" (any API that serves Prometheus' /api/v1/query_range: Prometheus, "
                  "Thanos, Mimir, VictoriaMetrics)");
      }
    }
    if (auto url = r.string("url")) {
      c.url = *url;
      if (auto ok = splitUrl(*url, c); !ok) r.invalid("url", ok.error().message);
    } else if (!table.contains("url")) {
      errors.add(table.source(), r.keyPath("url"), "missing (the query API's base, e.g. \"http://prometheus:9090\")");
    }
    if (auto v = r.string("bearer_token")) c.bearer_token = *v;
    if (auto v = r.string("bearer_token_file")) c.bearer_token_file = path(*v);
    if (auto v = r.string("basic_auth_username")) c.basic_auth_username = *v;
    if (auto v = r.string("basic_auth_password")) c.basic_auth_password = *v;
    if (auto v = r.string("basic_auth_password_file")) c.basic_auth_password_file = path(*v);
    const bool bearer = !c.bearer_token.empty() || !c.bearer_token_file.empty();
    const bool basic =
        !c.basic_auth_username.empty() || !c.basic_auth_password.empty() || !c.basic_auth_password_file.empty();
    if (!c.bearer_token.empty() && !c.bearer_token_file.empty()) {
      r.invalid("bearer_token", "give bearer_token or bearer_token_file, not both");
    }
    if (!c.basic_auth_password.empty() && !c.basic_auth_password_file.empty()) {
      r.invalid("basic_auth_password", "give basic_auth_password or basic_auth_password_file, not both");
    }
    if (bearer && basic) r.invalid("basic_auth_username", "a source takes a bearer token or basic auth, not both");
    if (basic && c.basic_auth_username.empty()) r.invalid("basic_auth_username", "missing (basic auth needs a user)");
    for (const std::string* file : {&c.bearer_token_file, &c.basic_auth_password_file}) {
      if (file->empty()) continue;
      if (auto text = readFile(*file); !text) {
        r.invalid(file == &c.bearer_token_file ? "bearer_token_file" : "basic_auth_password_file",
                  text.error().message);
      }
    }
    if (const toml::table* headers = r.table("headers")) {
      for (const auto& [k, v] : *headers) {
        const std::string name(k.str());
        const auto* value = v.as_string();
        if (!value) {
          errors.add(v.source(), r.keyPath("headers." + name), "header values must be strings");
        } else if (!validHeaderName(name)) {
          errors.add(k.source(), r.keyPath("headers." + name), "not a header name (letters, digits, - and _)");
        } else if (std::string lower = name; (std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower),
                                              lower == "authorization" || lower == "host")) {
          errors.add(k.source(), r.keyPath("headers." + name),
                     "set by hotspotd (use bearer_token_file or basic_auth_* for credentials)");
        } else {
          c.headers.emplace_back(name, value->get());
        }
      }
    }
    if (auto ca = r.string("tls_ca_file")) c.tls_ca_file = path(*ca);
    if (auto skip = r.boolean("tls_insecure_skip_verify")) c.tls_insecure_skip_verify = *skip;
    if (auto d = r.duration("timeout", std::chrono::seconds(1))) c.timeout = *d;
    if (auto d = r.duration("step", std::chrono::seconds(1))) {
      c.step = *d;
      if (c.step.count() % 1000 != 0) r.invalid("step", "must be whole seconds");
    }
    if (auto d = r.duration("query_offset")) c.query_offset = *d;
    if (auto s = r.string("shard")) {
      if (auto shard = parseShard(*s)) {
        c.shard = *shard;
        c.shard_text = *s;
      } else {
        r.invalid("shard", shard.error().message);
      }
    }
    r.rejectUnknownKeys();
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> sourceHeaders(const SourceConfig& source) {
  std::vector<std::pair<std::string, std::string>> out = source.headers;
  if (!source.bearer_token.empty()) {
    out.emplace_back("Authorization", "Bearer " + source.bearer_token);
  } else if (!source.bearer_token_file.empty()) {
    auto token = readFile(source.bearer_token_file);
    if (!token) return fail(fmt::format("bearer_token_file: {}", token.error().message));
    out.emplace_back("Authorization", "Bearer " + trimmed(std::move(*token)));
  } else if (!source.basic_auth_username.empty()) {
    std::string password = source.basic_auth_password;
    if (!source.basic_auth_password_file.empty()) {
      auto text = readFile(source.basic_auth_password_file);
      if (!text) return fail(fmt::format("basic_auth_password_file: {}", text.error().message));
      password = trimmed(std::move(*text));
    }
    out.emplace_back("Authorization", "Basic " + base64Encode(source.basic_auth_username + ":" + password));
  }
  return out;
}

}  // namespace hotspotd::ingest
