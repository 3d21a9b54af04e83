#include "daemon/http_server.h"

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>
#include <string_view>

#include <charconv>
#include <optional>

#include <fmt/format.h>
#include <httplib.h>

#include "alerting/alert_service.h"
#include "alerting/payloads.h"
#include "core/file.h"
#include "core/log.h"
#include "core/rfc3339.h"
#include "core/selector.h"
#include "core/version.h"
#include "daemon/api.h"
#include "daemon/web_assets.h"

namespace hotspotd::daemon {
namespace {

// Requests are served start to end on one pool thread (pre-routing, handler, post-routing, write), so the start
// time can live in a thread_local between the two hooks.
thread_local std::chrono::steady_clock::time_point t_request_start;

const std::set<std::string, std::less<>>& knownHandlers() {
  static const std::set<std::string, std::less<>> handlers{
      "/metrics",         "/-/healthy",       "/-/ready",          "/-/reload",          "/api/v1/hotspots",
      "/api/v1/silences", "/api/v1/targets",  "/api/v1/incidents", "/api/v1/profiles",  "/api/v1/status",
      "/api/v1/notifications"};
  return handlers;
}

void text(httplib::Response& res, int status, std::string_view body) {
  res.status = status;
  res.set_content(std::string(body), "text/plain; charset=utf-8");
}

void json(httplib::Response& res, int status, const nlohmann::ordered_json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

// A non-negative integer query parameter, within [0, max]; `fallback` when absent.
std::optional<std::size_t> sizeParam(const httplib::Request& req, const char* name, std::size_t fallback,
                                     std::size_t max) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.get_param_value(name);
  std::size_t out = 0;
  const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc() || ptr != v.data() + v.size() || out > max) return std::nullopt;
  return out;
}


}  // namespace

namespace {

// HTTPS: the certificate chain and key from PEM files, TLS 1.2 or newer.
std::unique_ptr<httplib::Server> makeServer(const ServerConfig& config) {
  if (config.tls_cert_file.empty()) return std::make_unique<httplib::Server>();
  return std::make_unique<httplib::SSLServer>([config](SSL_CTX& ctx) {
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    return SSL_CTX_use_certificate_chain_file(&ctx, config.tls_cert_file.c_str()) == 1 &&
           SSL_CTX_use_PrivateKey_file(&ctx, config.tls_key_file.c_str(), SSL_FILETYPE_PEM) == 1 &&
           SSL_CTX_check_private_key(&ctx) == 1;
  });
}

// The host:port an Origin header names ("https://host:port" -> "host:port").
std::string_view originHost(std::string_view origin) {
  if (const auto s = origin.find("://"); s != std::string_view::npos) origin.remove_prefix(s + 3);
  return origin;
}

// `limit` and `offset` of a list; nothing (and a 400 answer written) when they are not numbers in range.
struct Page {
  std::size_t offset = 0;
  std::size_t limit = 0;
};
std::optional<Page> pageParams(const httplib::Request& req, httplib::Response& res, std::size_t default_limit,
                               std::size_t max_limit) {
  const auto limit = sizeParam(req, "limit", default_limit, max_limit);
  const auto offset = sizeParam(req, "offset", 0, 10'000'000);
  if (!limit || !offset) {
    json(res, 400, apiError("bad_data", fmt::format("limit and offset are non-negative integers (limit at most {})",
                                                    max_limit)));
    return std::nullopt;
  }
  return Page{*offset, *limit};
}

// An open incident whose rule was last left unjudged for want of its query source's data says so: it neither fires
// nor resolves on missing data, and the reader should know why it stands still.
void addDegraded(const ApiSources& api, nlohmann::ordered_json& row, const incidents::IncidentRecord& r) {
  if (!api.degraded || r.state == incidents::IncidentState::resolved) return;
  if (auto why = api.degraded(r.alertname); !why.empty()) row["sourceDegraded"] = why;
}

}  // namespace

HttpServer::HttpServer(DaemonMetrics& metrics, const Snapshot<DaemonStatus>& status, ReloadFn reload, ApiSources api,
                       const ServerConfig& server)
    : metrics_(metrics),
      status_(status),
      reload_(std::move(reload)),
      api_(api),
      server_(makeServer(server)),
      tls_(!server.tls_cert_file.empty()),
      auth_(std::make_shared<BasicAuth>(server.basic_auth_users)) {
  routes();
}

void HttpServer::setUsers(std::map<std::string, std::string> users) {
  auth_.store(std::make_shared<BasicAuth>(std::move(users)));
}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::routes() {
  httplib::Server& s = *server_;
  s.set_read_timeout(10, 0);
  s.set_write_timeout(10, 0);
  s.set_keep_alive_timeout(5);
  s.set_payload_max_length(1 << 20);
  // cpp-httplib's default adds SO_REUSEPORT, which would let a second daemon bind the same port and take half of
  // the scrapes. SO_REUSEADDR alone allows a quick restart and still refuses a port in use.
  s.set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });

  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    t_request_start = std::chrono::steady_clock::now();
    // Liveness and readiness stay open for probes; they say nothing but "up".
    const bool probe = req.path == "/-/healthy" || req.path == "/-/ready";
    if (!probe && !auth_.load()->check(req.get_header_value("Authorization"))) {
      res.set_header("WWW-Authenticate", "Basic realm=\"hotspotd\", charset=\"UTF-8\"");
      json(res, 401, apiError("unauthorized", "this hotspotd needs a user and password (basic auth)"));
      return httplib::Server::HandlerResponse::Handled;
    }
    // Requests that change something must not come from another site's page: browsers say where a request comes
    // from (Sec-Fetch-Site, Origin); a request from curl or a script says neither and is let through.
    if (req.method != "GET" && req.method != "HEAD" && req.method != "OPTIONS") {
      const std::string site = req.get_header_value("Sec-Fetch-Site");
      const std::string origin = req.get_header_value("Origin");
      const bool cross_site = site == "cross-site" || site == "same-site" ||
                              (!origin.empty() && originHost(origin) != req.get_header_value("Host"));
      if (cross_site) {
        json(res, 403, apiError("forbidden", "cross-site requests may not change anything here"));
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Counted before the response is written (the post-routing hook runs for every response, 404s included), so a
  // client that reads /metrics right after a request always finds that request counted.
  s.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    // On every response: no MIME sniffing, no framing by other sites, no referrer leaking incident URLs, and no
    // script or style from anywhere unless the handler allowed its own (the flame graphs).
    if (!res.has_header("X-Content-Type-Options")) res.set_header("X-Content-Type-Options", "nosniff");
    if (!res.has_header("X-Frame-Options")) res.set_header("X-Frame-Options", "DENY");
    if (!res.has_header("Referrer-Policy")) res.set_header("Referrer-Policy", "no-referrer");
    if (!res.has_header("Content-Security-Policy")) {
      res.set_header("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_request_start).count();
    const bool known = knownHandlers().count(req.path) > 0;
    metrics_.recordHttpRequest(known ? std::string_view(req.path) : std::string_view("other"), res.status, seconds);
  });

  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  s.Get("/-/healthy",
        [](const httplib::Request&, httplib::Response& res) { text(res, 200, "hotspotd is Healthy.\n"); });
  s.Get("/-/ready", [this](const httplib::Request&, httplib::Response& res) {
    if (status_.load()->ready) {
      text(res, 200, "hotspotd is Ready.\n");
    } else {
      text(res, 503, "Service Unavailable\n");
    }
  });
  auto reload = [this](const httplib::Request&, httplib::Response& res) {
    auto outcome = reload_();
    if (outcome) {
      text(res, 200, "Configuration reloaded.\n");
    } else {
      text(res, 500,
           fmt::format("Configuration not reloaded; the running configuration stays.\n{}\n", outcome.error().message));
    }
  };
  s.Get("/api/v1/hotspots", [this](const httplib::Request& req, httplib::Response& res) {
    const auto page = pageParams(req, res, 100, 10'000);
    if (!page) return;
    if (!api_.hotspots) {
      json(res, 503, apiError("unavailable", "hotspots are not computed yet"));
      return;
    }
    json(res, 200, hotspotsJson(*api_.hotspots->load(), page->offset, page->limit));
  });
  // Alerting: silences and the notification history, answered on the lifecycle thread that owns them.
  auto lifecycle = [this](httplib::Response& res, std::function<ApiReply()> job) {
    if (!api_.on_lifecycle || !api_.alerts) {
      json(res, 503, apiError("unavailable", "alerting is not running"));
      return;
    }
    ApiReply reply = api_.on_lifecycle(std::move(job));
    json(res, reply.status, reply.body);
  };
  s.Get("/api/v1/silences", [this, lifecycle](const httplib::Request&, httplib::Response& res) {
    lifecycle(res, [this] {
      auto list = api_.alerts->silences();
      if (!list) return ApiReply{500, apiError("internal", list.error().message)};
      return ApiReply{200, silencesJson(*list, nowMs())};
    });
  });
  s.Post("/api/v1/silences", [this, lifecycle](const httplib::Request& req, httplib::Response& res) {
    // A JSON content type cannot be sent cross-site without a CORS preflight, which this server never grants.
    if (req.get_header_value("Content-Type").rfind("application/json", 0) != 0) {
        json(res, 415, apiError("bad_data", "send the silence as JSON (Content-Type: application/json)"));
      return;
    }
    auto request = parseSilenceRequest(req.body, nowMs());
    if (!request) {
        json(res, 400, apiError("bad_data", request.error().message));
      return;
    }
    lifecycle(res, [this, r = *request] {
      auto created = api_.alerts->createSilence(r);
      if (!created) return ApiReply{400, apiError("bad_data", created.error().message)};
      return ApiReply{200, nlohmann::ordered_json{{"status", "success"},
                                                  {"data", {{"silenceID", created->id}, {"silence", silenceJson(*created, nowMs())}}}}};
    });
  });
  s.Delete(R"(/api/v1/silences/([A-Za-z0-9-]+))", [this, lifecycle](const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    lifecycle(res, [this, id] {
      auto expired = api_.alerts->expireSilence(id);
      if (!expired) return ApiReply{500, apiError("internal", expired.error().message)};
      if (!*expired) return ApiReply{404, apiError("not_found", fmt::format("no silence has id {}", id))};
      return ApiReply{200, nlohmann::ordered_json{{"status", "success"}}};
    });
  });
  s.Get("/api/v1/notifications", [this, lifecycle](const httplib::Request& req, httplib::Response& res) {
    const auto page = pageParams(req, res, 100, 10'000);
    if (!page) return;
    const std::string incident = req.get_param_value("incident");
    lifecycle(res, [this, incident, p = *page] {
      auto list = api_.alerts->history(incident, p.offset + p.limit);
      if (!list) return ApiReply{500, apiError("internal", list.error().message)};
      list->erase(list->begin(), list->begin() + static_cast<std::ptrdiff_t>(std::min(p.offset, list->size())));
      return ApiReply{200, notificationsJson(*list)};
    });
  });
  s.Get("/api/v1/targets", [this](const httplib::Request& req, httplib::Response& res) {
    const auto page = pageParams(req, res, 1000, 100'000);
    if (!page) return;
    const std::string health = req.get_param_value("health");
    if (!health.empty() && health != "up" && health != "down" && health != "unknown") {
      json(res, 400, apiError("bad_data", "health is up, down or unknown"));
      return;
    }
    if (!api_.targets) {
      json(res, 503, apiError("unavailable", "scraping is not running"));
      return;
    }
    json(res, 200, targetsJson(*api_.targets->load(), health, page->offset, page->limit));
  });
  s.Get("/api/v1/status", [this](const httplib::Request&, httplib::Response& res) {
    const auto status = status_.load();
    const BuildInfo& build = buildInfo();
    const std::int64_t now = nowMs();
    json(res, 200,
         nlohmann::ordered_json{
             {"status", "success"},
             {"data",
              {{"version", build.version},
               {"revision", build.revision},
               {"compiler", build.compiler},
               {"ready", status->ready},
               {"startTime", formatRfc3339(status->start_ms)},
               {"uptimeSeconds", static_cast<double>(now - status->start_ms) / 1000.0},
               {"configSource", status->config_source},
               {"configLoadedAt", formatRfc3339(status->config_loaded_ms)},
               {"config", status->config}}}});
  });
  s.Get("/api/v1/incidents", [this, lifecycle](const httplib::Request& req, httplib::Response& res) {
    const auto page = pageParams(req, res, 100, 10'000);
    if (!page) return;
    const std::string state = req.get_param_value("state");
    if (!state.empty() && state != "open" && state != "pending" && state != "firing" && state != "resolved") {
      json(res, 400, apiError("bad_data", "state is one of open, pending, firing, resolved"));
      return;
    }
    std::optional<Selector> match;
    if (req.has_param("match")) {
      auto parsed = parseSelector(req.get_param_value("match"));
      if (!parsed) {
        json(res, 400, apiError("bad_data", fmt::format("match: {}", parsed.error().message)));
        return;
      }
      match = std::move(*parsed);
    }
    if (!api_.incidents) {
      json(res, 503, apiError("unavailable", "incidents are not kept"));
      return;
    }
    lifecycle(res, [this, state, rule = req.get_param_value("rule"), match, offset = page->offset, limit = page->limit] {
      // Label matchers are judged here; the database filters by state and rule.
      auto rows = match ? api_.incidents->query(state, rule, 0, 100'000) : api_.incidents->query(state, rule, offset, limit);
      if (!rows) return ApiReply{500, apiError("internal", rows.error().message)};
      nlohmann::ordered_json list = nlohmann::ordered_json::array();
      std::size_t matched = 0;
      for (const auto& r : *rows) {
        if (match) {
          LabelView view;
          for (const auto& [k, v] : r.labels) view.emplace_back(k, v);
          view.emplace_back("alertname", r.alertname);
          if (!match->matches(r.alertname, view)) continue;
          if (matched++ < offset || list.size() >= limit) continue;
        }
        auto row = incidentJson(r, api_.alerts->externalUrl());
        addDegraded(api_, row, r);
        auto sent = api_.alerts->history(r.id, 20);
        row["notifications"] = sent ? notificationsJson(*sent)["data"] : nlohmann::ordered_json::array();
        list.push_back(std::move(row));
      }
      return ApiReply{200, nlohmann::ordered_json{{"status", "success"},
                                                  {"data", {{"offset", offset}, {"incidents", list}}}}};
    });
  });
  s.Get(R"(/api/v1/incidents/([0-9a-f]+))", [this, lifecycle](const httplib::Request& req, httplib::Response& res) {
    if (!api_.incidents) {
      json(res, 503, apiError("unavailable", "incidents are not kept"));
      return;
    }
    lifecycle(res, [this, id = std::string(req.matches[1])] {
      auto record = api_.incidents->get(id);
      if (!record) return ApiReply{500, apiError("internal", record.error().message)};
      if (!*record) return ApiReply{404, apiError("not_found", fmt::format("no incident has id {}", id))};
      auto out = incidentJson(**record, api_.alerts->externalUrl());
      addDegraded(api_, out, **record);
      auto sent = api_.alerts->history(id, 100);
      out["notifications"] = sent ? notificationsJson(*sent)["data"] : nlohmann::ordered_json::array();
      return ApiReply{200, nlohmann::ordered_json{{"status", "success"}, {"data", out}}};
    });
  });
  s.Get(R"(/api/v1/incidents/([0-9a-f]+)/series)", [this, lifecycle](const httplib::Request& req,
                                                                     httplib::Response& res) {
    if (!api_.incidents || !api_.store || !api_.rules) {
      json(res, 503, apiError("unavailable", "incidents are not kept"));
      return;
    }
    lifecycle(res, [this, id = std::string(req.matches[1])] {
      auto record = api_.incidents->get(id);
      if (!record) return ApiReply{500, apiError("internal", record.error().message)};
      if (!*record) return ApiReply{404, apiError("not_found", fmt::format("no incident has id {}", id))};
      const auto rule = std::find_if(api_.rules->begin(), api_.rules->end(),
                                     [&](const rules::Rule& r) { return r.name == (*record)->alertname; });
      if (rule == api_.rules->end()) {
        return ApiReply{404, apiError("not_found", fmt::format("rule {} is no longer loaded", (*record)->alertname))};
      }
      const store::SeriesStore* store = api_.store_for ? api_.store_for(*rule) : api_.store;
      return ApiReply{200, incidentSeriesJson(*store, *rule, **record, nowMs(), status_.load()->start_ms)};
    });
  });
  s.Get("/api/v1/profiles", [this, lifecycle](const httplib::Request& req, httplib::Response& res) {
    const auto page = pageParams(req, res, 100, 10'000);
    if (!page) return;
    if (!api_.profiles) {
      json(res, 503, apiError("unavailable", "profiles are not kept"));
      return;
    }
    lifecycle(res, [this, target = req.get_param_value("target"), incident = req.get_param_value("incident"),
                    offset = page->offset, limit = page->limit] {
      auto rows = api_.profiles->list(target, incident, offset + limit);
      if (!rows) return ApiReply{500, apiError("internal", rows.error().message)};
      nlohmann::ordered_json list = nlohmann::ordered_json::array();
      for (std::size_t i = offset; i < rows->size(); ++i) list.push_back(profileJson((*rows)[i], api_.alerts->externalUrl()));
      return ApiReply{200, nlohmann::ordered_json{{"status", "success"},
                                                  {"data", {{"offset", offset}, {"profiles", list}}}}};
    });
  });
  s.Get(R"(/api/v1/profiles/([0-9a-f]+-[0-9a-f]+)(\.json)?)", [this, lifecycle](const httplib::Request& req,
                                                                             httplib::Response& res) {
    if (!api_.profiles) {
      json(res, 503, apiError("unavailable", "profiles are not kept"));
      return;
    }
    lifecycle(res, [this, id = std::string(req.matches[1])] {
      auto record = api_.profiles->get(id);
      if (!record) return ApiReply{500, apiError("internal", record.error().message)};
      if (!*record) return ApiReply{404, apiError("not_found", fmt::format("no profile has id {}", id))};
      return ApiReply{200, nlohmann::ordered_json{{"status", "success"},
                                                  {"data", profileJson(**record, api_.alerts->externalUrl())}}};
    });
  });
  s.Get(R"(/api/v1/profiles/([0-9a-f]+-[0-9a-f]+)\.folded)", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    auto folded = api_.profiles_dir.empty() ? Result<std::string>(fail("no profiles are kept"))
                                            : readFile(api_.profiles_dir / id / "stacks.folded");
    if (!folded) {
      json(res, 404, apiError("not_found", fmt::format("profile {} has no folded stacks", id)));
      return;
    }
    res.status = 200;
    res.set_content(std::move(*folded), "text/plain; charset=utf-8");
  });
  // Flame graphs of captured profiles, as linked from alerts. Their own inline script (zoom, search) may run;
  // nothing else may load.
  s.Get(R"(/api/v1/profiles/([0-9a-f]+-[0-9a-f]+)(\.diff)?\.svg)", [this](const httplib::Request& req,
                                                                          httplib::Response& res) {
    if (api_.profiles_dir.empty()) {
      json(res, 404, apiError("not_found", "no profiles are kept"));
      return;
    }
    const std::string id = req.matches[1];
    const bool diff = req.matches[2].length() > 0;
    auto svg = readFile(api_.profiles_dir / id / (diff ? "diff.svg" : "flamegraph.svg"));
    if (!svg) {
      json(res, 404, apiError("not_found", fmt::format("profile {} has no {}", id,
                                                       diff ? "differential flame graph" : "flame graph")));
      return;
    }
    res.set_header("Content-Security-Policy",
                   "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "
                   "frame-ancestors 'self'");
    res.set_header("X-Frame-Options", "SAMEORIGIN");
    res.status = 200;
    res.set_content(std::move(*svg), "image/svg+xml");
  });
  // The web UI: one page for every UI path (the script reads the path), its script and style compiled in. Its
  // policy lets it load only itself, talk only to this API and frame only this daemon's flame graphs.
  auto page = [](const httplib::Request&, httplib::Response& res) {
    const WebAsset* index = findWebAsset("/ui/index.html");
    res.set_header("Content-Security-Policy",
                   "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
                   "frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    res.set_header("Cache-Control", "no-cache");
    res.status = 200;
    res.set_content(std::string(index->body), std::string(index->content_type));
  };
  s.Get("/", page);
  s.Get("/profiles", page);
  s.Get("/silences", page);
  s.Get(R"(/incidents/[0-9a-f]+)", page);
  s.Get(R"(/profiles/[0-9a-f]+-[0-9a-f]+)", page);
  s.Get(R"(/ui/(app\.js|app\.css))", [](const httplib::Request& req, httplib::Response& res) {
    const WebAsset* asset = findWebAsset(req.path);
    res.set_header("Cache-Control", "no-cache");
    res.status = 200;
    res.set_content(std::string(asset->body), std::string(asset->content_type));
  });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 404 && req.path.rfind("/api/", 0) == 0 && res.body.empty()) {
      json(res, 404, apiError("not_found", fmt::format("no API endpoint at {} {}", req.method, req.path)));
    }
  });
  s.Post("/-/reload", reload);
  s.Put("/-/reload", reload);
  s.Get("/-/reload", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Allow", "POST, PUT");
    text(res, 405, "Only POST or PUT requests allowed on /-/reload.\n");
  });
}

Result<ListenAddress> HttpServer::start(const ListenAddress& address) {
  if (!server_->is_valid()) {
    return fail("cannot use the TLS certificate and key (server.tls_cert_file, server.tls_key_file): check that "
                "they are PEM files and that the key belongs to the certificate");
  }
  ListenAddress bound = address;
  errno = 0;
  if (address.port == 0) {
    const int port = server_->bind_to_any_port(address.host);
    if (port <= 0) {
      return fail(fmt::format("cannot listen on {}: {}", address.str(),
                              errno ? std::strerror(errno) : "address not available"));
    }
    bound.port = static_cast<std::uint16_t>(port);
  } else if (!server_->bind_to_port(address.host, address.port)) {
    return fail(fmt::format("cannot listen on {}: {} (is another process using the port? change server.listen)",
                            address.str(), errno ? std::strerror(errno) : "address not available"));
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return bound;
}

void HttpServer::stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

}  // namespace hotspotd::daemon
