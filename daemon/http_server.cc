#include "daemon/http_server.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "core/log.h"
#include "daemon/api.h"

namespace hotspotd::daemon {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::size_t kMaxHeaderBytes = 16 * 1024;  // the request line and every header
constexpr std::size_t kMaxBodyBytes = 1 << 20;
constexpr std::size_t kMaxRequestsPerConnection = 1000;
constexpr std::size_t kMaxQueuedJobs = 64;  // pooled handlers waiting for a worker; past it, 503
constexpr int kIoThreads = 2;
constexpr int kWorkerThreads = 2;

// The host part of a Host header ("example.com:9464" -> "example.com", "[::1]:9464" -> "::1").
std::string hostOf(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    return std::string(host.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
  }
  const auto colon = host.find(':');
  return std::string(host.substr(0, colon));
}

bool isIpAddress(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The host:port an Origin header names ("https://host:port" -> "host:port").
std::string_view originHost(std::string_view origin) {
  if (const auto s = origin.find("://"); s != std::string_view::npos) origin.remove_prefix(s + 3);
  return origin;
}

void securityHeaders(HttpResponse& res) {
  // No MIME sniffing, no framing by other sites, no referrer leaking incident URLs, and no script or style from
  // anywhere unless the handler allowed its own (the flame graphs, the UI).
  if (!res.hasHeader("X-Content-Type-Options")) res.set("X-Content-Type-Options", "nosniff");
  if (!res.hasHeader("X-Frame-Options")) res.set("X-Frame-Options", "DENY");
  if (!res.hasHeader("Referrer-Policy")) res.set("Referrer-Policy", "no-referrer");
  if (!res.hasHeader("Content-Security-Policy")) {
    res.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  }
}

HttpResponse errorResponse(int status, std::string_view type, std::string_view message) {
  return jsonResponse(status, apiError(type, message));
}

}  // namespace

// Shared by the server and every session; sessions keep it alive while they run.
struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(DaemonMetrics& m, Router r, const ServerConfig& c)
      : metrics(m), router(std::move(r)), config(c), acceptor(io), workers(kWorkerThreads) {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) == 0) hostname = lower(name);
  }

  DaemonMetrics& metrics;
  Router router;
  ServerConfig config;
  asio::io_context io;
  tcp::acceptor acceptor;
  asio::thread_pool workers;
  std::optional<asio::ssl::context> ssl;
  std::vector<std::thread> threads;
  std::string hostname;

  std::mutex mutex;  // guards what follows
  std::shared_ptr<BasicAuth> auth;
  std::vector<std::string> allowed_hosts;  // lower-case
  std::map<std::string, std::size_t> per_client;
  std::size_t open = 0;
  std::size_t queued = 0;
  bool stopping = false;
  std::condition_variable drained;
  // Sessions, so that stop() can close the idle ones.
  std::map<std::uint64_t, std::function<void(bool idle_only)>> closers;
  std::uint64_t next_id = 0;

  bool hostAllowed(std::string_view header) {
    const std::string host = lower(hostOf(header));
    if (host.empty()) return false;
    if (isIpAddress(host) || host == "localhost" || host == hostname) return true;
    std::lock_guard lock(mutex);
    return std::find(allowed_hosts.begin(), allowed_hosts.end(), host) != allowed_hosts.end();
  }

  std::shared_ptr<BasicAuth> currentAuth() {
    std::lock_guard lock(mutex);
    return auth;
  }

  // Everything a request passes before its handler: Host, authentication, cross-site changes, the route.
  std::optional<HttpResponse> admit(const HttpRequest& req, Router::Match& match, std::string& label) {
    match = router.match(req.method, req.path);
    label = match.handler ? std::string(match.name) : "other";
    if (!hostAllowed(req.header("host"))) {
      metrics.recordHttpRejected("host");
      return errorResponse(421, "forbidden",
                           "the Host header does not name this hotspotd (add the name to [server] allowed_hosts)");
    }
    const bool probe = req.path == "/-/healthy" || req.path == "/-/ready";
    if (!probe) {
      switch (currentAuth()->check(req.header("authorization"), req.client)) {
        case AuthResult::ok: break;
        case AuthResult::limited: {
          metrics.recordHttpRejected("login_rate_limited");
          auto r = errorResponse(429, "unauthorized", "too many failed logins from this address; try again later");
          r.set("Retry-After", "6");
          return r;
        }
        case AuthResult::denied: {
          auto r = errorResponse(401, "unauthorized", "this hotspotd needs a user and password (basic auth)");
          r.set("WWW-Authenticate", "Basic realm=\"hotspotd\", charset=\"UTF-8\"");
          return r;
        }
      }
    }
    // Requests that change something must not come from another site's page: browsers say where a request comes
    // from (Sec-Fetch-Site, Origin); a request from curl or a script says neither and is let through.
    if (req.method != "GET" && req.method != "HEAD" && req.method != "OPTIONS") {
      const std::string site = req.header("sec-fetch-site");
      const std::string origin = req.header("origin");
      if (site == "cross-site" || site == "same-site" || (!origin.empty() && originHost(origin) != req.header("host"))) {
        return errorResponse(403, "forbidden", "cross-site requests may not change anything here");
      }
    }
    if (!match.handler) {
      if (!match.allow.empty()) {
        auto r = textResponse(405, fmt::format("Only {} requests allowed on {}.\n", match.allow, req.path));
        r.set("Allow", match.allow);
        return r;
      }
      if (req.path.starts_with("/api/")) {
        return errorResponse(404, "not_found", fmt::format("no API endpoint at {} {}", req.method, req.path));
      }
      return textResponse(404, "404 page not found\n");
    }
    return std::nullopt;
  }

  HttpResponse run(const Router::Match& match, const HttpRequest& req) {
    try {
      return (*match.handler)(req);
    } catch (const std::exception& e) {
      log::error("An HTTP handler failed", {{"path", req.path}, {"error", e.what()}});
      metrics.recordHttpRejected("handler_error");
      return errorResponse(500, "internal", "the request could not be served; the daemon's log says why");
    }
  }

  void closed(const std::string& client, std::uint64_t id) {
    std::lock_guard lock(mutex);
    if (auto it = per_client.find(client); it != per_client.end() && --it->second == 0) per_client.erase(it);
    --open;
    closers.erase(id);
    metrics.setHttpConnections(static_cast<double>(open));
    if (open == 0) drained.notify_all();
  }
};

namespace {

// One connection: requests read one at a time, each admitted, handled and answered in turn.
template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(std::shared_ptr<HttpServer::Impl> server, Stream stream, std::string client, std::uint64_t id)
      : server_(std::move(server)), stream_(std::move(stream)), client_(std::move(client)), id_(id) {}

  void start() {
    {
      std::lock_guard lock(server_->mutex);
      server_->closers[id_] = [weak = this->weak_from_this()](bool idle_only) {
        if (auto self = weak.lock()) {
          asio::post(self->lowest().get_executor(), [self, idle_only] { self->close(idle_only); });
        }
      };
    }
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      lowest().expires_after(server_->config.header_timeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](const beast::error_code& ec) {
                                if (ec) return self->finish();
                                self->read();
                              });
    } else {
      read();
    }
  }

 private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void read() {
    idle_ = true;
    if (closing_) return finish();
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(kMaxBodyBytes);
    // The request line and headers within header_timeout of now (the connection, or the previous response).
    lowest().expires_after(server_->config.header_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](const beast::error_code& ec, std::size_t) {
                              self->onHeader(ec);
                            });
  }

  void onHeader(const beast::error_code& ec) {
    idle_ = false;
    if (ec) return refuse(ec);
    started_ = std::chrono::steady_clock::now();
    if (const auto length = parser_->content_length(); length && *length > kMaxBodyBytes) {
      return refuse(http::error::body_limit);
    }
    lowest().expires_after(server_->config.request_timeout);
    if (parser_->is_done()) return onRequest();
    http::async_read(stream_, buffer_, *parser_, [self = this->shared_from_this()](const beast::error_code& e, std::size_t) {
      if (e) return self->refuse(e);
      self->onRequest();
    });
  }

  // A request that broke a limit (or a connection that went away) gets a short answer if the client can still
  // take one, and the connection closes.
  void refuse(const beast::error_code& ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset) {
      return finish();
    }
    if (ec == beast::error::timeout) {
      server_->metrics.recordHttpRejected("timeout");
      return finish();
    }
    const bool header = ec == http::error::header_limit || ec == http::error::buffer_overflow;
    const bool body = ec == http::error::body_limit;
    server_->metrics.recordHttpRejected(header ? "header_too_large" : body ? "body_too_large" : "malformed");
    HttpResponse r = header ? textResponse(431, "Request header fields too large (at most 16 KiB).\n")
                     : body ? textResponse(413, "Request body too large (at most 1 MiB).\n")
                            : textResponse(400, "Bad request.\n");
    respond(std::move(r), "other", false);
  }

  void onRequest() {
    auto& msg = parser_->get();
    auto req = std::make_shared<HttpRequest>();
    req->method = std::string(msg.method_string());
    const std::string_view target(msg.target().data(), msg.target().size());
    const auto q = target.find('?');
    req->path = percentDecode(target.substr(0, q), false);
    if (q != std::string_view::npos) req->query = parseQuery(target.substr(q + 1));
    for (const auto& field : msg) {
      req->headers.emplace_back(lower(std::string_view(field.name_string().data(), field.name_string().size())),
                                std::string(field.value()));
    }
    req->body = std::move(msg.body());
    req->client = client_;
    keep_alive_ = msg.keep_alive() && ++requests_ < kMaxRequestsPerConnection;

    Router::Match match;
    std::string label;
    if (auto early = server_->admit(*req, match, label)) return respond(std::move(*early), label, keep_alive_);
    req->captures = std::move(match.captures);
    if (match.cost == RouteCost::inline_) return respond(server_->run(match, *req), label, keep_alive_);
    {
      std::lock_guard lock(server_->mutex);
      if (server_->queued >= kMaxQueuedJobs) {
        return respond(errorResponse(503, "unavailable", "hotspotd is busy; try again"), label, false);
      }
      ++server_->queued;
    }
    asio::post(server_->workers, [self = this->shared_from_this(), match, req, label]() mutable {
      HttpResponse r = self->server_->run(match, *req);
      {
        std::lock_guard lock(self->server_->mutex);
        --self->server_->queued;
      }
      asio::post(self->lowest().get_executor(), [self, r = std::move(r), label]() mutable {
        self->respond(std::move(r), label, self->keep_alive_);
      });
    });
  }

  void respond(HttpResponse r, const std::string& label, bool keep_alive) {
    securityHeaders(r);
    res_ = {};
    res_.version(11);
    res_.result(static_cast<unsigned>(r.status));
    res_.set(http::field::server, "hotspotd");
    res_.set(http::field::content_type, r.content_type);
    for (const auto& [k, v] : r.headers) res_.set(k, v);
    const bool head = parser_ && parser_->get().method() == http::verb::head;
    res_.body() = head ? std::string() : std::move(r.body);
    res_.prepare_payload();
    if (head) res_.content_length(r.body.size());
    res_.keep_alive(keep_alive && !closing_);
    const double seconds =
        started_ ? std::chrono::duration<double>(std::chrono::steady_clock::now() - *started_).count() : 0.0;
    server_->metrics.recordHttpRequest(label, r.status, seconds);
    lowest().expires_after(server_->config.request_timeout);
    http::async_write(stream_, res_, [self = this->shared_from_this()](const beast::error_code& ec, std::size_t) {
      if (ec || !self->res_.keep_alive()) return self->finish();
      self->started_.reset();
      self->read();
    });
  }

  // From stop(): an idle connection closes now; a busy one after its response.
  void close(bool idle_only) {
    closing_ = true;
    if (!idle_only || idle_) {
      beast::error_code ignored;
      lowest().socket().close(ignored);
    }
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().socket().close(ignored);
    server_->closed(client_, id_);
  }

  std::shared_ptr<HttpServer::Impl> server_;
  Stream stream_;
  std::string client_;
  std::uint64_t id_;
  beast::flat_buffer buffer_{kMaxHeaderBytes + 8192};  // a request's header must fit whole
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  std::optional<std::chrono::steady_clock::time_point> started_;
  std::size_t requests_ = 0;
  bool keep_alive_ = false;
  bool idle_ = true;
  bool closing_ = false;
  bool finished_ = false;
};

void accept(std::shared_ptr<HttpServer::Impl> server) {
  server->acceptor.async_accept(asio::make_strand(server->io), [server](const beast::error_code& ec, tcp::socket s) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      beast::error_code addr_ec;
      const auto peer = s.remote_endpoint(addr_ec);
      const std::string client = addr_ec ? std::string("unknown") : peer.address().to_string();
      std::uint64_t id = 0;
      bool admitted = false;
      {
        std::lock_guard lock(server->mutex);
        auto& from_client = server->per_client[client];
        admitted = !server->stopping && server->open < server->config.max_connections &&
                   from_client < server->config.max_connections_per_client;
        if (admitted) {
          ++from_client;
          ++server->open;
          id = server->next_id++;
          server->metrics.setHttpConnections(static_cast<double>(server->open));
        } else if (from_client == 0) {
          server->per_client.erase(client);
        }
      }
      if (!admitted) {
        server->metrics.recordHttpRejected("too_many_connections");
        beast::error_code ignored;
        s.close(ignored);
      } else if (server->ssl) {
        std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
            server, beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(s)), *server->ssl), client, id)
            ->start();
      } else {
        std::make_shared<Session<beast::tcp_stream>>(server, beast::tcp_stream(std::move(s)), client, id)->start();
      }
    }
    if (server->acceptor.is_open()) accept(server);
  });
}

}  // namespace

HttpServer::HttpServer(DaemonMetrics& metrics, Router router, const ServerConfig& config)
    : impl_(std::make_shared<Impl>(metrics, std::move(router), config)), tls_(!config.tls_cert_file.empty()) {
  setAccess(config.basic_auth_users, config.allowed_hosts);
}

HttpServer::~HttpServer() { stop(std::chrono::seconds(1)); }

void HttpServer::setAccess(std::map<std::string, std::string> users, std::vector<std::string> allowed_hosts) {
  auto auth = std::make_shared<BasicAuth>(std::move(users));
  for (auto& h : allowed_hosts) h = lower(h);
  std::lock_guard lock(impl_->mutex);
  impl_->auth = std::move(auth);
  impl_->allowed_hosts = std::move(allowed_hosts);
}

std::size_t HttpServer::connections() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->open;
}

Result<ListenAddress> HttpServer::start(const ListenAddress& address) {
  if (tls_) {
    // HTTPS: the certificate chain and key from PEM files, TLS 1.2 or newer.
    auto& ctx = impl_->ssl.emplace(asio::ssl::context::tls_server);
    ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                    asio::ssl::context::no_compression | SSL_OP_NO_RENEGOTIATION);
    beast::error_code ec;
    ctx.use_certificate_chain_file(impl_->config.tls_cert_file, ec);
    if (!ec) ctx.use_private_key_file(impl_->config.tls_key_file, asio::ssl::context::pem, ec);
    if (ec || SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
      return fail("cannot use the TLS certificate and key (server.tls_cert_file, server.tls_key_file): check that "
                  "they are PEM files and that the key belongs to the certificate");
    }
  }
  beast::error_code ec;
  const auto ip = asio::ip::make_address(address.host, ec);
  if (ec) return fail(fmt::format("cannot listen on {}: {} is not an IP address", address.str(), address.host));
  const tcp::endpoint endpoint(ip, address.port);
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  // SO_REUSEADDR without SO_REUSEPORT: a quick restart works, a second daemon on the same port does not start.
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && ip.is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return fail(fmt::format("cannot listen on {}: {} (is another process using the port? change server.listen)",
                            address.str(), ec.message()));
  }
  ListenAddress bound = address;
  bound.port = acceptor.local_endpoint().port();
  accept(impl_);
  for (int i = 0; i < kIoThreads; ++i) impl_->threads.emplace_back([impl = impl_] { impl->io.run(); });
  return bound;
}

bool HttpServer::stop(Duration deadline) {
  if (impl_->threads.empty()) return true;
  std::vector<std::function<void(bool)>> closers;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
    for (const auto& [id, close] : impl_->closers) closers.push_back(close);
  }
  asio::post(impl_->io, [impl = impl_] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
  });
  for (auto& close : closers) close(/*idle_only=*/true);
  bool drained = false;
  {
    std::unique_lock lock(impl_->mutex);
    drained = impl_->drained.wait_for(lock, deadline, [this] { return impl_->open == 0; });
    if (!drained) {
      for (const auto& [id, close] : impl_->closers) closers.push_back(close);
    }
  }
  if (!drained) {
    for (auto& close : closers) close(/*idle_only=*/false);
  }
  impl_->workers.join();
  impl_->io.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  return drained;
}

}  // namespace hotspotd::daemon
