#include "core/http_client.h"

#include <memory>
#include <optional>
#include <variant>

#include <fmt/format.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "core/base64.h"
#include "core/gzip.h"
#include "core/url.h"

namespace hotspotd {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// The state of one request; kept alive by the handlers that refer to it.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(asio::io_context& io, FetchRequest request, FetchCallback done)
      : io_(io), request_(std::move(request)), done_(std::move(done)), resolver_(io), deadline_(io) {}

  void start() {
    if (!request_.proxy_url.empty()) {
      auto proxy = parseHttpUrl(request_.proxy_url);
      if (!proxy || proxy->scheme != "http") {
        return finish(tl::unexpected<FetchError>(FetchError{
            FetchError::Kind::connection,
            fmt::format("proxy {}: {}", request_.proxy_url, proxy ? "only http:// proxies are supported"
                                                                  : proxy.error().message)}));
      }
      proxy_ = std::move(*proxy);
    }
    deadline_.expires_after(request_.timeout);
    deadline_.async_wait([self = shared_from_this()](const beast::error_code& ec) {
      if (!ec) self->expire();
    });
    if (request_.scheme == "https") {
      ssl_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
      ssl_->set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                        asio::ssl::context::no_tlsv1_1);
      beast::error_code ec;
      if (!request_.tls_ca_file.empty()) {
        ssl_->load_verify_file(request_.tls_ca_file, ec);
      } else {
        ssl_->set_default_verify_paths(ec);
      }
      if (ec)
        return finish(tl::unexpected<FetchError>(
            FetchError{FetchError::Kind::tls, fmt::format("cannot load CA certificates: {}", ec.message())}));
      ssl_->set_verify_mode(request_.tls_insecure_skip_verify ? asio::ssl::verify_none : asio::ssl::verify_peer);
      auto stream = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(io_, *ssl_);
      if (!SSL_set_tlsext_host_name(stream->native_handle(), request_.host.c_str())) {
        return finish(tl::unexpected<FetchError>(FetchError{FetchError::Kind::tls, "cannot set TLS server name"}));
      }
      if (!request_.tls_insecure_skip_verify) {
        stream->set_verify_callback(asio::ssl::host_name_verification(request_.host));
      }
      tls_stream_ = std::move(stream);
    } else {
      plain_stream_ = std::make_unique<beast::tcp_stream>(io_);
    }
    resolver_.async_resolve(proxy_ ? proxy_->host : request_.host, proxy_ ? proxy_->port : request_.port,
                            [self = shared_from_this()](const beast::error_code& ec, tcp::resolver::results_type r) {
                              self->onResolve(ec, std::move(r));
                            });
  }

  void cancel() {
    if (finished_) return;
    cancelled_ = true;
    resolver_.cancel();
    beast::error_code ignored;
    if (tls_stream_ || plain_stream_) lowest().socket().close(ignored);
    // Nothing may be in flight yet (a TLS context being set up): make sure the callback comes.
    asio::post(io_, [self = shared_from_this()] {
      self->finish(tl::unexpected<FetchError>(FetchError{FetchError::Kind::cancelled, "cancelled"}));
    });
  }

 private:
  beast::tcp_stream& lowest() { return tls_stream_ ? beast::get_lowest_layer(*tls_stream_) : *plain_stream_; }

  void expire() {
    if (finished_) return;
    timed_out_ = true;
    resolver_.cancel();
    beast::error_code ignored;
    if (tls_stream_ || plain_stream_) lowest().socket().close(ignored);
  }

  void onResolve(const beast::error_code& ec, const tcp::resolver::results_type& results) {
    if (ec) return fail(ec, FetchError::Kind::connection, "cannot resolve host");
    lowest().async_connect(
        results, [self = shared_from_this()](const beast::error_code& e, const tcp::endpoint&) { self->onConnect(e); });
  }

  void onConnect(const beast::error_code& ec) {
    if (ec) return fail(ec, FetchError::Kind::connection, proxy_ ? "cannot connect to the proxy" : "cannot connect");
    if (proxy_ && tls_stream_) return tunnel();
    handshake();
  }

  // HTTPS through a proxy: CONNECT host:port, then TLS inside the tunnel.
  void tunnel() {
    connect_req_ = {http::verb::connect, fmt::format("{}:{}", request_.host, request_.port), 11};
    connect_req_.set(http::field::host, connect_req_.target());
    if (!proxy_->userinfo.empty()) {
      connect_req_.set(http::field::proxy_authorization, "Basic " + base64Encode(proxy_->userinfo));
    }
    http::async_write(lowest(), connect_req_, [self = shared_from_this()](const beast::error_code& e, std::size_t) {
      if (e) return self->fail(e, FetchError::Kind::connection, "cannot reach the proxy");
      self->connect_res_.emplace();
      self->connect_res_->skip(true);  // a CONNECT answer has no body
      http::async_read_header(self->lowest(), self->buffer_, *self->connect_res_,
                              [self](const beast::error_code& e2, std::size_t) {
                                if (e2) return self->fail(e2, FetchError::Kind::connection, "the proxy did not answer");
                                const unsigned status = self->connect_res_->get().result_int();
                                if (status != 200) {
                                  return self->finish(tl::unexpected<FetchError>(FetchError{
                                      FetchError::Kind::connection,
                                      fmt::format("the proxy refused the tunnel: HTTP {}", status)}));
                                }
                                self->handshake();
                              });
    });
  }

  void handshake() {
    if (tls_stream_) {
      tls_stream_->async_handshake(asio::ssl::stream_base::client,
                                   [self = shared_from_this()](const beast::error_code& e) {
                                     if (e) return self->fail(e, FetchError::Kind::tls, "TLS handshake failed");
                                     self->send();
                                   });
      return;
    }
    send();
  }

  void send() {
    req_ = {};
    req_.method_string(request_.method);
    req_.version(11);
    // Through a plain proxy the request names the whole URL.
    const bool absolute = proxy_ && !tls_stream_;
    const std::string host_header = request_.port == "80" || request_.port == "443"
                                        ? request_.host
                                        : fmt::format("{}:{}", request_.host, request_.port);
    req_.target(absolute ? fmt::format("http://{}{}", host_header, request_.target) : request_.target);
    req_.set(http::field::host, host_header);
    req_.set(http::field::user_agent, "hotspotd");
    req_.set(http::field::accept_encoding, "gzip");
    if (absolute && !proxy_->userinfo.empty()) {
      req_.set(http::field::proxy_authorization, "Basic " + base64Encode(proxy_->userinfo));
    }
    for (const auto& [k, v] : request_.headers) req_.set(k, v);
    if (!request_.content_type.empty()) req_.set(http::field::content_type, request_.content_type);
    req_.body() = request_.body;
    if (!request_.body.empty() || request_.method != "GET") req_.prepare_payload();
    auto on_write = [self = shared_from_this()](const beast::error_code& e, std::size_t) {
      if (e) return self->fail(e, FetchError::Kind::connection, "cannot send the request");
      self->receive();
    };
    if (tls_stream_) {
      http::async_write(*tls_stream_, req_, std::move(on_write));
    } else {
      http::async_write(*plain_stream_, req_, std::move(on_write));
    }
  }

  void receive() {
    parser_.emplace();
    parser_->body_limit(request_.max_body_bytes);
    parser_->header_limit(64 * 1024);
    // The header first: a declared Content-Length over the limit ends the scrape before a byte of the body is
    // read. (Beast checks this too, but not on every path; the check here does not depend on it.)
    auto on_header = [self = shared_from_this()](const beast::error_code& e, std::size_t) { self->onHeader(e); };
    if (tls_stream_) {
      http::async_read_header(*tls_stream_, buffer_, *parser_, std::move(on_header));
    } else {
      http::async_read_header(*plain_stream_, buffer_, *parser_, std::move(on_header));
    }
  }

  void onHeader(const beast::error_code& ec) {
    if (ec && ec != http::error::body_limit) return onRead(ec);
    if (ec == http::error::body_limit ||
        (parser_->content_length() && *parser_->content_length() > request_.max_body_bytes)) {
      return finish(tl::unexpected<FetchError>(FetchError{
          FetchError::Kind::body_size_limit, fmt::format("body is larger than {} bytes", request_.max_body_bytes)}));
    }
    auto on_read = [self = shared_from_this()](const beast::error_code& e, std::size_t) { self->onRead(e); };
    if (tls_stream_) {
      http::async_read(*tls_stream_, buffer_, *parser_, std::move(on_read));
    } else {
      http::async_read(*plain_stream_, buffer_, *parser_, std::move(on_read));
    }
  }

  void onRead(const beast::error_code& ec) {
    if (ec == http::error::body_limit || parser_->get().body().size() > request_.max_body_bytes) {
      return finish(tl::unexpected<FetchError>(FetchError{
          FetchError::Kind::body_size_limit, fmt::format("body is larger than {} bytes", request_.max_body_bytes)}));
    }
    if (ec) return fail(ec, FetchError::Kind::protocol, "cannot read the response");
    auto& res = parser_->get();
    FetchResponse out;
    out.status = static_cast<int>(res.result_int());
    out.content_type = std::string(res[http::field::content_type]);
    out.content_encoding = std::string(res[http::field::content_encoding]);
    out.retry_after = std::string(res[http::field::retry_after]);
    out.location = std::string(res[http::field::location]);
    out.body = std::move(res.body());
    out.wire_bytes = out.body.size();
    // A gzip'd answer is read as what it holds, within the same cap (a bomb stops at the cap).
    if (out.content_encoding.find("gzip") != std::string::npos) {
      auto plain = gunzip(out.body, request_.max_body_bytes);
      if (!plain) {
        return finish(tl::unexpected<FetchError>(FetchError{
            plain.error().over_limit ? FetchError::Kind::body_size_limit : FetchError::Kind::decompress,
            plain.error().over_limit ? fmt::format("body is larger than {} bytes", request_.max_body_bytes)
                                     : fmt::format("cannot decompress the answer: {}", plain.error().message)}));
      }
      out.body = std::move(*plain);
      out.content_encoding.clear();
    }
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    finish(std::move(out));
  }

  void fail(const beast::error_code& ec, FetchError::Kind kind, std::string_view what) {
    if (cancelled_) return finish(tl::unexpected<FetchError>(FetchError{FetchError::Kind::cancelled, "cancelled"}));
    if (timed_out_) {
      return finish(tl::unexpected<FetchError>(FetchError{
          FetchError::Kind::timeout, fmt::format("no complete answer within {}", formatDuration(request_.timeout))}));
    }
    finish(tl::unexpected<FetchError>(FetchError{kind, fmt::format("{}: {}", what, ec.message())}));
  }

  void finish(tl::expected<FetchResponse, FetchError> result) {
    if (finished_) return;
    finished_ = true;
    deadline_.cancel();
    beast::error_code ignored;
    if (tls_stream_ || plain_stream_) lowest().socket().close(ignored);
    // Complete from the io_context, never from inside start(), so callers see one order of events.
    asio::post(io_, [done = std::move(done_), r = std::move(result)]() mutable { done(std::move(r)); });
  }

  asio::io_context& io_;
  FetchRequest request_;
  FetchCallback done_;
  tcp::resolver resolver_;
  asio::steady_timer deadline_;
  std::unique_ptr<asio::ssl::context> ssl_;
  std::unique_ptr<beast::tcp_stream> plain_stream_;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::request<http::empty_body> connect_req_;
  std::optional<http::response_parser<http::empty_body>> connect_res_;
  std::optional<HttpUrl> proxy_;
  std::optional<http::response_parser<http::string_body>> parser_;
  bool finished_ = false;
  bool timed_out_ = false;
  bool cancelled_ = false;
};

}  // namespace

FetchHandle fetch(boost::asio::io_context& io, FetchRequest request, FetchCallback done) {
  auto session = std::make_shared<Session>(io, std::move(request), std::move(done));
  session->start();
  std::weak_ptr<Session> weak = session;
  return FetchHandle(weak, [weak] {
    if (auto s = weak.lock()) s->cancel();
  });
}

}  // namespace hotspotd
