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

#include "core/log.h"
#include "daemon/api.h"

namespace hotspotd::daemon {
namespace {

// Requests are served start to end on one pool thread (pre-routing, handler, post-routing, write), so the start
// time can live in a thread_local between the two hooks.
thread_local std::chrono::steady_clock::time_point t_request_start;

const std::set<std::string, std::less<>>& knownHandlers() {
  static const std::set<std::string, std::less<>> handlers{"/metrics", "/-/healthy", "/-/ready", "/-/reload",
                                                                 "/api/v1/hotspots"};
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

HttpServer::HttpServer(DaemonMetrics& metrics, const Snapshot<DaemonStatus>& status, ReloadFn reload, ApiSources api)
    : metrics_(metrics),
      status_(status),
      reload_(std::move(reload)),
      api_(api),
      server_(std::make_unique<httplib::Server>()) {
  routes();
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

  s.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    t_request_start = std::chrono::steady_clock::now();
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Counted before the response is written (the post-routing hook runs for every response, 404s included), so a
  // client that reads /metrics right after a request always finds that request counted.
  s.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
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
    const auto limit = sizeParam(req, "limit", 100, 10'000);
    const auto offset = sizeParam(req, "offset", 0, 1'000'000);
    if (!limit || !offset) {
      json(res, 400, apiError("bad_data", "limit and offset are non-negative integers (limit at most 10000)"));
      return;
    }
    if (!api_.hotspots) {
      json(res, 503, apiError("unavailable", "hotspots are not computed yet"));
      return;
    }
    json(res, 200, hotspotsJson(*api_.hotspots->load(), *offset, *limit));
  });
  s.Post("/-/reload", reload);
  s.Put("/-/reload", reload);
  s.Get("/-/reload", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Allow", "POST, PUT");
    text(res, 405, "Only POST or PUT requests allowed on /-/reload.\n");
  });
}

Result<ListenAddress> HttpServer::start(const ListenAddress& address) {
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
