#include "daemon/http.h"

#include <re2/re2.h>

#include "core/text.h"

namespace hotspotd::daemon {

bool HttpRequest::has(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return true;
  }
  return false;
}

std::string HttpRequest::param(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return v;
  }
  return {};
}

std::string HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

HttpResponse& HttpResponse::set(std::string name, std::string value) {
  for (auto& [k, v] : headers) {
    if (k == name) {
      v = std::move(value);
      return *this;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

bool HttpResponse::hasHeader(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return true;
  }
  return false;
}

HttpResponse textResponse(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse jsonResponse(int status, const nlohmann::ordered_json& body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  // Strings from outside (labels, frame names) are repaired, never a reason to fail the response.
  r.body = jsonText(body);
  return r;
}

struct Router::Route {
  std::string method;
  std::unique_ptr<re2::RE2> pattern;
  Handler handler;
  RouteCost cost;
  std::string name;
};

Router::Router() = default;
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

void Router::add(std::string method, std::string_view pattern, Handler handler, RouteCost cost, std::string name) {
  auto r = std::make_unique<Route>();
  r->method = std::move(method);
  r->pattern = std::make_unique<re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()));
  r->handler = std::move(handler);
  r->cost = cost;
  r->name = name.empty() ? std::string(pattern) : std::move(name);
  routes_.push_back(std::move(r));
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match out;
  const re2::StringPiece text(path.data(), path.size());
  for (const auto& r : routes_) {
    const int groups = r->pattern->NumberOfCapturingGroups();
    std::vector<re2::StringPiece> pieces(static_cast<std::size_t>(groups));
    std::vector<re2::RE2::Arg> args(pieces.size());
    std::vector<const re2::RE2::Arg*> arg_ptrs(pieces.size());
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      args[i] = &pieces[i];
      arg_ptrs[i] = &args[i];
    }
    if (!re2::RE2::FullMatchN(text, *r->pattern, arg_ptrs.data(), groups)) continue;
    if (r->method != method && !(method == "HEAD" && r->method == "GET")) {
      if (out.allow.find(r->method) == std::string::npos) out.allow += (out.allow.empty() ? "" : ", ") + r->method;
      continue;
    }
    out.handler = &r->handler;
    out.cost = r->cost;
    out.name = r->name;
    for (const auto& p : pieces) out.captures.emplace_back(p.data() ? std::string(p.data(), p.size()) : std::string());
    out.allow.clear();
    return out;
  }
  return out;
}

std::string percentDecode(std::string_view text, bool plus_as_space) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parseQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    if (!part.empty()) {
      const auto eq = part.find('=');
      out.emplace_back(percentDecode(part.substr(0, eq), true),
                       eq == std::string_view::npos ? std::string() : percentDecode(part.substr(eq + 1), true));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

}  // namespace hotspotd::daemon
