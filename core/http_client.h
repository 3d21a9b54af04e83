// One HTTP(S) GET on an io_context, asynchronous, with one deadline for all of it (resolve, connect, TLS, request,
// response): when the deadline passes the socket is closed, whatever the peer is doing, so a target that accepts
// and never answers, or drips a byte a second, costs no thread and no more than its timeout. The body is capped
// while it arrives. Built on Boost.Beast. Start and complete on the io_context's thread.
#pragma once

#include <utility>  // before Asio: boost/asio/awaitable.hpp misses it with GCC 12 in C++20 mode

#include <functional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <tl/expected.hpp>

#include "core/duration.h"

namespace hotspotd {

struct FetchRequest {
  std::string scheme = "http";  // http or https
  std::string host;
  std::string port;
  std::string target = "/metrics";  // path and query
  std::vector<std::pair<std::string, std::string>> headers;
  Duration timeout = std::chrono::seconds(10);
  std::size_t max_body_bytes = 64 << 20;
  bool tls_insecure_skip_verify = false;
  std::string tls_ca_file;  // empty: the system's CA store
};

struct FetchResponse {
  int status = 0;
  std::string content_type;
  std::string content_encoding;
  std::string retry_after;  // the Retry-After header, if any (429, 503)
  std::string body;
};

struct FetchError {
  enum class Kind { timeout, connection, tls, body_size_limit, protocol };
  Kind kind;
  std::string message;
};

using FetchCallback = std::function<void(tl::expected<FetchResponse, FetchError>)>;

// Starts the request; `done` runs exactly once, on the io_context.
void fetch(boost::asio::io_context& io, FetchRequest request, FetchCallback done);

}  // namespace hotspotd
