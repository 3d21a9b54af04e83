// An http:// or https:// URL split into what an HTTP client needs, with errors that say what is wrong. One parser for
// every URL the config holds (scrape targets' file_sd aside): query sources, receivers, pprof endpoints, proxies.
// Pure; any thread.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace hotspotd {

struct HttpUrl {
  std::string scheme;    // "http" or "https"
  std::string host;      // without brackets for IPv6
  std::string port;      // always set: the default of the scheme when the URL gives none
  std::string target;    // path and query, "/" when empty
  std::string userinfo;  // "user:password" before '@', if any
  bool explicit_port = false;

  // "host:port" as a Host header names it (the port left out when it is the scheme's default).
  std::string hostHeader() const;
  // scheme://host[:port] (IPv6 in brackets).
  std::string origin() const;
};

// Parses scheme://[userinfo@]host[:port][/path][?query]; a fragment is refused.
Result<HttpUrl> parseHttpUrl(std::string_view url);

// `s` for a query parameter or a path segment: RFC 3986's unreserved characters pass, everything else is %XX.
std::string percentEncode(std::string_view s);

}  // namespace hotspotd
