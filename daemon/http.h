// What the daemon's HTTP handlers see: a request already read, limited and authenticated by the front end
// (daemon/http_server.h), and the response they return. The router maps a method and a path to a handler by RE2
// patterns (linear time, whatever the path). Handlers are plain functions of the request: they read snapshots, files
// and the read-only state database, or ask the lifecycle thread through RouteContext. Any thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace re2 {
class RE2;
}

namespace hotspotd::daemon {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query, percent-decoded
  std::vector<std::pair<std::string, std::string>> query;    // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;
  std::vector<std::string> captures;  // the route pattern's groups
  std::string client;                 // the peer's address

  bool has(std::string_view name) const;
  std::string param(std::string_view name) const;  // "" when absent
  std::string header(std::string_view name) const;  // `name` lower-case; "" when absent
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  HttpResponse& set(std::string name, std::string value);
  bool hasHeader(std::string_view name) const;
};

HttpResponse textResponse(int status, std::string body);
HttpResponse jsonResponse(int status, const nlohmann::ordered_json& body);

// Where a route's handler runs: on the server's I/O threads (answers from memory: probes, /metrics, snapshots,
// compiled-in files), or on its worker pool (anything that reads the database or waits for the lifecycle thread), so
// that a slow API request never holds up /-/healthy or a scrape of /metrics.
enum class RouteCost { inline_, pooled };

class Router {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  struct Match {
    const Handler* handler = nullptr;
    RouteCost cost = RouteCost::inline_;
    std::string_view name;  // the handler label of hotspotd_http_requests_total
    std::vector<std::string> captures;
    std::string allow;  // when the path exists for other methods only: them, for a 405
  };

  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // `pattern` matches the whole path (RE2); `name` labels the route's metrics (the pattern if empty).
  void add(std::string method, std::string_view pattern, Handler handler, RouteCost cost = RouteCost::inline_,
           std::string name = {});
  Match match(std::string_view method, std::string_view path) const;

 private:
  struct Route;
  std::vector<std::unique_ptr<Route>> routes_;
};

// Percent-decoding ('+' as a space in a query), and the query string split into decoded pairs.
std::string percentDecode(std::string_view text, bool plus_as_space);
std::vector<std::pair<std::string, std::string>> parseQuery(std::string_view query);

}  // namespace hotspotd::daemon
