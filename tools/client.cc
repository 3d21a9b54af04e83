#include "tools/client.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "core/base64.h"
#include "core/file.h"
#include "core/http_client.h"
#include "core/selector.h"
#include "core/text.h"
#include "core/url.h"

namespace hotspotd::tools {
namespace {

using nlohmann::json;

constexpr const char* kDefaultUrl = "http://127.0.0.1:9464";

// What went wrong talking to the daemon, said once on standard error; the command exits 1.
int failed(const std::string& message) {
  std::fprintf(stderr, "hotspotd: %s\n", message.c_str());
  return 1;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// The daemon's address and the credentials to send, from the options, the environment and the URL.
struct Endpoint {
  HttpUrl url;
  std::string shown;          // the URL without its credentials, for messages
  std::string authorization;  // "Basic ..." or empty
};

Result<Endpoint> endpoint(const ClientOptions& o) {
  std::string given = !o.url.empty() ? o.url : !env("HOTSPOTD_URL").empty() ? env("HOTSPOTD_URL") : kDefaultUrl;
  while (!given.empty() && given.back() == '/') given.pop_back();
  auto url = parseHttpUrl(given);
  if (!url) return fail(fmt::format("--url {}: {}", given, url.error().message));
  Endpoint e;
  e.url = std::move(*url);
  e.shown = e.url.origin() + (e.url.target == "/" ? "" : e.url.target);
  if (!e.url.userinfo.empty()) {
    return fail("--url: put the user and password in --auth-file, not in the URL (where shell history keeps them)");
  }
  std::string credentials;
  const std::string file = !o.auth_file.empty() ? o.auth_file : env("HOTSPOTD_AUTH_FILE");
  if (!file.empty()) {
    auto text = readFile(file);
    if (!text) return fail(fmt::format("--auth-file: {}", text.error().message));
    credentials = text->substr(0, text->find('\n'));
    if (!credentials.empty() && credentials.back() == '\r') credentials.pop_back();
    if (credentials.find(':') == std::string::npos) {
      return fail(fmt::format("--auth-file {}: its first line must be user:password", file));
    }
  } else if (!env("HOTSPOTD_AUTH").empty()) {
    credentials = env("HOTSPOTD_AUTH");
    if (credentials.find(':') == std::string::npos) return fail("HOTSPOTD_AUTH must be user:password");
  }
  if (!credentials.empty()) e.authorization = "Basic " + base64Encode(credentials);
  return e;
}

// One API request; the answer's `data`, or the error in words that say what to do.
Result<json> call(const ClientOptions& o, const std::string& method, const std::string& path,
                  const std::string& body = "") {
  auto e = endpoint(o);
  if (!e) return tl::unexpected(e.error());
  FetchRequest req;
  req.method = method;
  req.scheme = e->url.scheme;
  req.host = e->url.host;
  req.port = e->url.port;
  const std::string prefix = e->url.target == "/" ? "" : e->url.target;
  req.target = prefix + path;
  req.headers.emplace_back("Accept", "application/json");
  if (!e->authorization.empty()) req.headers.emplace_back("Authorization", e->authorization);
  req.body = body;
  if (!body.empty()) req.content_type = "application/json";
  req.timeout = o.timeout;
  req.max_body_bytes = 256 << 20;
  req.tls_ca_file = o.tls_ca_file;
  req.tls_insecure_skip_verify = o.tls_insecure_skip_verify;

  boost::asio::io_context io;
  std::optional<tl::expected<FetchResponse, FetchError>> answer;
  fetch(io, std::move(req), [&](tl::expected<FetchResponse, FetchError> r) { answer = std::move(r); });
  io.run();
  if (!answer || !*answer) {
    const FetchError error = answer ? answer->error() : FetchError{FetchError::Kind::cancelled, "no answer"};
    if (error.kind == FetchError::Kind::timeout) {
      return fail(fmt::format("hotspotd at {} did not answer within {} (--timeout to wait longer)", e->shown,
                              formatDuration(o.timeout)));
    }
    return fail(
        fmt::format("cannot reach hotspotd at {}: {}. Is it running (systemctl status hotspotd)? --url or "
                    "HOTSPOTD_URL names another address.",
                    e->shown, error.message));
  }
  const FetchResponse& r = **answer;
  if (r.status == 401) {
    return fail(fmt::format("hotspotd at {} refused the request (HTTP 401): {}", e->shown,
                            e->authorization.empty()
                                ? "it asks for a user and password: --auth-file FILE (one line, user:password), "
                                  "HOTSPOTD_AUTH_FILE or HOTSPOTD_AUTH=user:password"
                                : "the user or password is wrong"));
  }
  const json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("status")) {
    return fail(fmt::format("{} at {} is not hotspotd's API (HTTP {}, {}): does --url name the daemon?", path, e->shown,
                            r.status, r.content_type.empty() ? "no content type" : r.content_type));
  }
  if (j.value("status", "") != "success" || r.status >= 300) {
    return fail(fmt::format("hotspotd refused {} {} (HTTP {}): {}", method, path, r.status,
                            j.value("error", std::string("no reason given"))));
  }
  return j.contains("data") ? j["data"] : json::object();
}

// ---- output ----

std::string text(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (d != 0 && (std::fabs(d) >= 1e6 || std::fabs(d) < 1e-3)) return fmt::format("{:.3g}", d);
    return fmt::format("{:.4g}", d);
  }
  return v.dump();
}

std::string labels(const json& l) {
  std::string out;
  if (!l.is_object()) return out;
  for (const auto& [k, v] : l.items()) {
    if (!out.empty()) out += ", ";
    out += fmt::format("{}={}", k, jsonText(v));
  }
  return out;
}

std::size_t width(std::string_view s) {
  // Display width in code points (a continuation byte starts none).
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// Columns padded to their widest cell, two spaces apart; the last column is never padded.
void table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> w(head.size());
  for (std::size_t i = 0; i < head.size(); ++i) w[i] = width(head[i]);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size() && i < w.size(); ++i) w[i] = std::max(w[i], width(row[i]));
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      out += cells[i];
      if (i + 1 < cells.size()) out += std::string(w[i] - width(cells[i]) + 2, ' ');
    }
    std::printf("%s\n", out.c_str());
  };
  line(head);
  for (const auto& row : rows) line(row);
}

void printJson(const json& data) {
  std::printf("%s\n", jsonText(data, 2).c_str());
}

// Runs a command; an answer of another shape than this client reads (another version of the daemon, or not the
// daemon) is reported, not a crash.
template <typename F>
int guarded(F command) {
  try {
    return command();
  } catch (const json::exception& e) {
    return failed(
        fmt::format("the daemon's answer is not what this client reads ({}): are the daemon and this "
                    "hotspotd the same version?",
                    e.what()));
  }
}

// ---- commands ----

Result<std::string> selectorOf(const std::vector<std::string>& matchers) {
  std::string inner;
  for (const auto& m : matchers) {
    auto one = normaliseMatcher(m);
    if (!one) return one;
    inner += (inner.empty() ? "" : ",") + *one;
  }
  return "{" + inner + "}";
}

}  // namespace

Result<std::string> normaliseMatcher(const std::string& given) {
  // name, then one of = != =~ !~, then a value, quoted or not.
  const std::size_t op_at = given.find_first_of("=!");
  if (op_at == std::string::npos || op_at == 0) {
    return fail(fmt::format("matcher '{}': write name=value, name!=value, name=~regex or name!~regex", given));
  }
  std::size_t value_at = op_at + 1;
  if (given[op_at] == '!' && (value_at >= given.size() || (given[value_at] != '=' && given[value_at] != '~'))) {
    return fail(fmt::format("matcher '{}': after '!' comes '=' or '~'", given));
  }
  if (given[op_at] == '!' || (value_at < given.size() && given[value_at] == '~')) ++value_at;
  std::string name = given.substr(0, op_at), value = given.substr(value_at);
  auto trim = [](std::string& s) {
    s.erase(0, s.find_first_not_of(' '));
    s.erase(s.find_last_not_of(' ') + 1);
  };
  trim(name);
  trim(value);
  const bool quoted =
      value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front();
  const std::string matcher =
      fmt::format("{}{}{}", name, given.substr(op_at, value_at - op_at), quoted ? value : jsonText(json(value)));
  auto parsed = parseSelector("{" + matcher + "}");
  if (!parsed) return fail(fmt::format("matcher '{}': {}", given, parsed.error().message));
  if (parsed->matchers.size() != 1) return fail(fmt::format("matcher '{}': one matcher at a time", given));
  return parsed->matchers.front().str();
}

int runIncidents(const ClientOptions& o, const IncidentsQuery& q) {
  return guarded([&] {
    std::string path = fmt::format("/api/v1/incidents?limit={}", q.limit);
    if (!q.state.empty()) path += "&state=" + percentEncode(q.state);
    if (!q.rule.empty()) path += "&rule=" + percentEncode(q.rule);
    if (!q.matchers.empty()) {
      auto selector = selectorOf(q.matchers);
      if (!selector) return failed(selector.error().message);
      path += "&match=" + percentEncode(*selector);
    }
    auto data = call(o, "GET", path);
    if (!data) return failed(data.error().message);
    json& list = (*data)["incidents"];
    if (o.output == "json") {
      printJson(list);
      return 0;
    }
    std::vector<std::vector<std::string>> rows;
    for (auto& i : list) {
      rows.push_back({text(i["id"]), text(i["state"]), text(i["alertname"]), text(i["severity"]),
                      text(i["firedAt"].is_null() ? i["activeAt"] : i["firedAt"]), labels(i["labels"]),
                      text(i["reason"])});
    }
    table({"ID", "STATE", "ALERTNAME", "SEVERITY", "SINCE", "LABELS", "WHY"}, rows);
    return 0;
  });
}

int runIncident(const ClientOptions& o, const std::string& id) {
  return guarded([&] {
    auto data = call(o, "GET", "/api/v1/incidents/" + percentEncode(id));
    if (!data) return failed(data.error().message);
    json& i = *data;
    if (o.output == "json") {
      printJson(i);
      return 0;
    }
    auto field = [](const std::string& name, const std::string& value) {
      std::printf("%-12s %s\n", (name + ":").c_str(), value.c_str());
    };
    field("Incident", text(i["id"]));
    field("Alert", fmt::format("{} ({})", text(i["alertname"]), text(i["severity"])));
    field("State", text(i["state"]));
    field("Labels", labels(i["labels"]));
    field("Why", text(i["reason"]));
    field("Value", fmt::format("{} (threshold {})", text(i["value"]), text(i["threshold"])));
    if (i.contains("sourceDegraded")) field("Not judged", text(i["sourceDegraded"]));
    for (auto& [k, v] : i["annotations"].items()) field(k, text(v));
    std::printf("\nTimeline:\n");
    for (auto& t : i["timeline"]) std::printf("  %-9s %s\n", text(t["state"]).c_str(), text(t["at"]).c_str());
    if (i.contains("resolution")) std::printf("  resolved because: %s\n", text(i["resolution"]["reason"]).c_str());
    if (!i["evidence"].empty()) {
      std::printf("\nEvidence:\n");
      for (auto& [k, v] : i["evidence"].items()) std::printf("  %s = %s\n", k.c_str(), text(v).c_str());
    }
    if (!i["profiles"].empty()) {
      std::printf("\nProfiles:\n");
      for (auto& p : i["profiles"]) {
        std::printf("  %s  %s  %s%s\n", text(p["id"]).c_str(), text(p["kind"]).c_str(), text(p["startedAt"]).c_str(),
                    p.contains("error") ? ("  failed: " + text(p["error"])).c_str() : "");
      }
    }
    if (!i["exemplars"].empty()) {
      std::printf("\nSlow requests:\n");
      for (auto& e : i["exemplars"]) {
        std::printf("  %s  %s  %s\n", text(e["traceId"]).c_str(), text(e["value"]).c_str(), text(e["url"]).c_str());
      }
    }
    std::printf("\nNotifications:\n");
    if (i["notifications"].empty()) std::printf("  none sent\n");
    for (auto& n : i["notifications"]) {
      std::printf(
          "  %s  %s  attempts %s  %s\n", text(n["receiver"]).c_str(), text(n["state"]).c_str(),
          text(n["attempts"]).c_str(),
          n["lastError"].is_string() && !n["lastError"].get<std::string>().empty() ? text(n["lastError"]).c_str() : "");
    }
    std::printf("\n%s\n", text(i["url"]).c_str());
    return 0;
  });
}

int runSilenceAdd(const ClientOptions& o, const SilenceAdd& s) {
  return guarded([&] {
    if (s.matchers.empty()) {
      return failed("a silence needs at least one matcher, e.g. hotspotd silence add alertname=CheckoutSlow");
    }
    if (s.comment.empty()) return failed("a silence needs --comment: why it is silenced, for whoever sees it next");
    json body;
    body["matchers"] = json::array();
    for (const auto& m : s.matchers) {
      auto one = normaliseMatcher(m);
      if (!one) return failed(one.error().message);
      body["matchers"].push_back(*one);
    }
    if (!s.start.empty()) body["startsAt"] = s.start;
    if (!s.end.empty()) {
      body["endsAt"] = s.end;
    } else {
      body["duration"] = s.duration;
    }
    std::string author = s.author;
    if (author.empty()) author = env("USER");
    if (author.empty()) author = "hotspotd-cli";
    body["createdBy"] = author;
    body["comment"] = s.comment;
    auto data = call(o, "POST", "/api/v1/silences", jsonText(body));
    if (!data) return failed(data.error().message);
    if (o.output == "json") {
      printJson(*data);
    } else {
      std::printf("%s\n", text((*data)["silenceID"]).c_str());
    }
    return 0;
  });
}

int runSilenceQuery(const ClientOptions& o, const std::vector<std::string>& matchers, bool expired) {
  return guarded([&] {
    std::vector<std::string> wanted;
    for (const auto& m : matchers) {
      auto one = normaliseMatcher(m);
      if (!one) return failed(one.error().message);
      wanted.push_back(*one);
    }
    auto data = call(o, "GET", "/api/v1/silences");
    if (!data) return failed(data.error().message);
    json shown = json::array();
    for (auto& s : *data) {
      if (!expired && s["status"]["state"] == "expired") continue;
      std::vector<std::string> has;
      for (auto& m : s["matchers"]) {
        auto one = normaliseMatcher(m.get<std::string>());
        has.push_back(one ? *one : m.get<std::string>());
      }
      const bool all = std::all_of(wanted.begin(), wanted.end(), [&](const std::string& w) {
        return std::find(has.begin(), has.end(), w) != has.end();
      });
      if (all) shown.push_back(s);
    }
    if (o.output == "json") {
      printJson(shown);
      return 0;
    }
    std::vector<std::vector<std::string>> rows;
    for (auto& s : shown) {
      std::string m;
      for (auto& one : s["matchers"]) m += (m.empty() ? "" : ", ") + one.get<std::string>();
      rows.push_back(
          {text(s["id"]), text(s["status"]["state"]), text(s["endsAt"]), text(s["createdBy"]), m, text(s["comment"])});
    }
    table({"ID", "STATE", "ENDS", "CREATED BY", "MATCHERS", "COMMENT"}, rows);
    return 0;
  });
}

int runSilenceExpire(const ClientOptions& o, const std::vector<std::string>& ids) {
  return guarded([&] {
    int rc = 0;
    for (const auto& id : ids) {
      auto done = call(o, "DELETE", "/api/v1/silences/" + percentEncode(id));
      if (!done) rc = failed(done.error().message);
    }
    return rc;
  });
}

int runProfiles(const ClientOptions& o, const std::string& target, const std::string& incident, std::size_t limit) {
  return guarded([&] {
    std::string path = fmt::format("/api/v1/profiles?limit={}", limit);
    if (!target.empty()) path += "&target=" + percentEncode(target);
    if (!incident.empty()) path += "&incident=" + percentEncode(incident);
    auto data = call(o, "GET", path);
    if (!data) return failed(data.error().message);
    json& list = (*data)["profiles"];
    if (o.output == "json") {
      printJson(list);
      return 0;
    }
    std::vector<std::vector<std::string>> rows;
    for (auto& p : list) {
      std::string top = "-";
      if (p.contains("error")) {
        top = "failed: " + text(p["error"]);
      } else if (p.contains("summary") && p["summary"].contains("top_self") && !p["summary"]["top_self"].empty()) {
        json& f = p["summary"]["top_self"][0];
        top = fmt::format("{} ({:.1f}%)", text(f["name"]), 100 * f.value("self_share", 0.0));
      }
      rows.push_back({text(p["id"]), text(p["target"]), text(p["kind"]), text(p["incident"]), text(p["startedAt"]),
                      fmt::format("{}s", text(p["durationSeconds"])), text(p["samples"]), top});
    }
    table({"ID", "TARGET", "KIND", "INCIDENT", "STARTED", "DURATION", "SAMPLES", "TOP FRAME (SELF)"}, rows);
    return 0;
  });
}

int runHotspots(const ClientOptions& o, std::size_t limit) {
  return guarded([&] {
    auto data = call(o, "GET", fmt::format("/api/v1/hotspots?limit={}", limit));
    if (!data) return failed(data.error().message);
    json& list = (*data)["hotspots"];
    if (o.output == "json") {
      printJson(list);
      return 0;
    }
    auto seconds = [](const json& v) { return v.is_number() ? fmt::format("{:.4g}s", v.get<double>()) : "-"; };
    std::vector<std::vector<std::string>> rows;
    for (auto& h : list) {
      std::string drift = "-";
      if (h["drift"].is_object()) {
        drift = fmt::format("x{}{}", text(h["drift"]["ratio"]), h["drift"].value("firing", false) ? " firing" : "");
      }
      rows.push_back({text(h["rank"]),
                      h["share"].is_number() ? fmt::format("{:.1f}%", 100 * h["share"].get<double>()) : "-",
                      text(h["request_rate"]), seconds(h["p50"]["value"]), seconds(h["p99"]["value"]), drift,
                      text(h["histogram"]), labels(h["labels"])});
    }
    table({"RANK", "SHARE", "REQ/S", "P50", "P99", "DRIFT", "HISTOGRAM", "ENDPOINT"}, rows);
    return 0;
  });
}

}  // namespace hotspotd::tools
