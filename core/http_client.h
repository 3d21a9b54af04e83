// DESIGN
// One HTTP(S) request on an io_context, asynchronous, with one deadline for all of it (resolve, connect, proxy
// tunnel, TLS, request, response): when the deadline passes the socket is closed, whatever the peer is doing, so a
// target, receiver or profiler that accepts and never answers, or drips a byte a second, costs no thread and no
// more than its timeout. The body is capped while it arrives (and a declared Content-Length over the cap ends the
// request before a byte of it is read); a gzip'd answer is decompressed within the same cap. Redirects are never followed: a 3xx is an answer like any other. Through an
// HTTP proxy: plain requests in absolute form, HTTPS through a CONNECT tunnel. A request can be cancelled
// (shutdown): it completes at once with an error. Built on Boost.Beast; every stage's HTTP goes through it (scrapes,
// query sources, receivers, pprof endpoints). Start, cancel and complete on the io_context's thread.
#pragma once

#include <utility>  // before Asio: boost/asio/awaitable.hpp misses it with GCC 12 in C++20 mode

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <tl/expected.hpp>

#include "core/duration.h"

namespace hotspotd {

struct FetchRequest {
  std::string method = "GET";
  std::string scheme = "http";  // http or https
  std::string host;
  std::string port;
  std::string target = "/metrics";  // path and query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent with a Content-Length (POST, PUT)
  std::string content_type;
  Duration timeout = std::chrono::seconds(10);
  std::size_t max_body_bytes = 64 << 20;
  bool tls_insecure_skip_verify = false;
  std::string tls_ca_file;  // empty: the system's CA store
  std::string proxy_url;    // http://[user:password@]host:port, empty: direct
};

struct FetchResponse {
  int status = 0;
  std::string content_type;
  std::string content_encoding;  // as sent, but for gzip, which is already undone
  std::string retry_after;  // the Retry-After header, if any (429, 503)
  std::string location;     // the Location header of a redirect, if any
  std::string body;
  std::size_t wire_bytes = 0;  // the body as it came over the wire (compressed, if it was)
};

struct FetchError {
  enum class Kind { timeout, connection, tls, body_size_limit, protocol, decompress, cancelled };
  Kind kind;
  std::string message;
};

using FetchCallback = std::function<void(tl::expected<FetchResponse, FetchError>)>;

// A request under way: cancel() ends it now (its callback gets a `cancelled` error), and does nothing once it is
// done. Call on the io_context's thread.
class FetchHandle {
 public:
  FetchHandle() = default;
  explicit FetchHandle(std::weak_ptr<void> session, std::function<void()> cancel)
      : session_(std::move(session)), cancel_(std::move(cancel)) {}
  void cancel() const {
    if (!session_.expired() && cancel_) cancel_();
  }

 private:
  std::weak_ptr<void> session_;
  std::function<void()> cancel_;
};

// Starts the request; `done` runs exactly once, on the io_context.
FetchHandle fetch(boost::asio::io_context& io, FetchRequest request, FetchCallback done);

}  // namespace hotspotd
