// DESIGN
// The daemon's HTTP front end, on Boost.Beast, on threads of its own (an I/O io_context run by two threads, and a
// small worker pool for handlers that read the state database or wait for the lifecycle thread). It must hold on a
// port Prometheus reaches, often beyond loopback and without auth, so every limit applies before any handler or
// authentication runs:
//
// - connections: at most `max_connections` open, and `max_connections_per_client` from one address; past either,
//   a new connection is closed at once (the accept loop never stops, so the kernel's queue cannot fill up);
// - the request line and headers together at most 16 KiB, read within `header_timeout` of the connection (or of
//   the previous response on a kept-alive one): a client sending a byte every few seconds is cut off;
// - a body (chunked or not) at most 1 MiB; the whole request, handler and response within `request_timeout`;
// - the Host header must name this daemon: an IP address (DNS rebinding needs a name), localhost, this host's name,
//   the host of external_url, or one of `allowed_hosts` - so a web page on another domain cannot reach the API
//   through a name it points at this machine;
// - with basic auth, a client's failed logins are limited (a burst of 10, then one every 6 s; over it, 429 without
//   checking the password), while a user whose password was accepted before is not slowed;
// - changes (POST, PUT, DELETE) from another site's page are refused (Sec-Fetch-Site, Origin);
// - a handler that throws answers 500 with a generic message; no response carries library internals. Every
//   response carries nosniff, frame and referrer policies and a default-deny Content-Security-Policy.
//
// Graceful stop: accepting stops, idle connections close, requests in flight finish, within a deadline.
// start(), stop() and the setters are called from the lifecycle thread; handlers run on the server's threads.
#pragma once

#include <utility>  // before Asio: boost/asio/awaitable.hpp misses it with GCC 12 in C++20 mode

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/duration.h"
#include "core/result.h"
#include "daemon/auth.h"
#include "daemon/config.h"
#include "daemon/http.h"
#include "daemon/metrics.h"

namespace hotspotd::daemon {

class HttpServer {
 public:
  // TLS is read once, here; users and allowed hosts change with setAccess() on reload.
  HttpServer(DaemonMetrics& metrics, Router router, const ServerConfig& config);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the address and starts serving. Returns the address bound (with the kernel's port if port was 0).
  Result<ListenAddress> start(const ListenAddress& address);
  // Stops accepting, closes idle connections and waits for requests in flight, at most `deadline`; false if it
  // passed first (the connections left are closed).
  bool stop(Duration deadline);

  // Basic auth users (user -> bcrypt hash; none: no authentication) and the host names the Host header may carry
  // besides addresses, localhost and this host's name.
  void setAccess(std::map<std::string, std::string> users, std::vector<std::string> allowed_hosts);
  bool tls() const { return tls_; }
  std::size_t connections() const;

  struct Impl;  // the listener, sessions, limits and pools (http_server.cc)

 private:
  std::shared_ptr<Impl> impl_;
  bool tls_ = false;
};

}  // namespace hotspotd::daemon
