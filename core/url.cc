#include "core/url.h"

#include <cctype>
#include <charconv>

#include <fmt/format.h>

namespace hotspotd {

std::string HttpUrl::hostHeader() const {
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  const bool default_port = (scheme == "http" && port == "80") || (scheme == "https" && port == "443");
  return default_port ? h : fmt::format("{}:{}", h, port);
}

std::string HttpUrl::origin() const { return fmt::format("{}://{}", scheme, hostHeader()); }

Result<HttpUrl> parseHttpUrl(std::string_view url) {
  HttpUrl out;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return fail(fmt::format("\"{}\" is not a URL (http:// or https://)", url));
  out.scheme = std::string(url.substr(0, scheme_end));
  if (out.scheme != "http" && out.scheme != "https") {
    return fail(fmt::format("\"{}\": scheme \"{}\" is not http or https", url, out.scheme));
  }
  std::string_view rest = url.substr(scheme_end + 3);
  if (rest.find('#') != std::string_view::npos) return fail(fmt::format("\"{}\": a URL here takes no #fragment", url));
  const auto path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  if (path_start == std::string_view::npos) {
    out.target = "/";
  } else {
    out.target = (rest[path_start] == '?' ? "/" : "") + std::string(rest.substr(path_start));
  }
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    out.userinfo = std::string(authority.substr(0, at));
    authority.remove_prefix(at + 1);
  }
  std::string_view host = authority, port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return fail(fmt::format("\"{}\": unclosed '[' in the host", url));
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return fail(fmt::format("\"{}\": expected ':' and a port after ']'", url));
      port = authority.substr(close + 2);
      out.explicit_port = true;
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    out.explicit_port = true;
  }
  if (host.empty()) return fail(fmt::format("\"{}\": no host", url));
  if (out.explicit_port) {
    unsigned p = 0;
    const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || p == 0 || p > 65535) {
      return fail(fmt::format("\"{}\": port \"{}\" is not a number from 1 to 65535", url, port));
    }
  }
  out.host = std::string(host);
  out.port = out.explicit_port ? std::string(port) : (out.scheme == "https" ? "443" : "80");
  return out;
}

std::string percentEncode(std::string_view s) {
  std::string out;
  out.reserve(s.size() * 3 / 2);
  for (const unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace hotspotd
