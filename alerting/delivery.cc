#include "alerting/delivery.h"

#include <algorithm>
#include <charconv>
#include <ctime>

#include <fmt/format.h>
#include <httplib.h>

namespace hotspotd::alerting {

HttpResponse post(const HttpRequest& request) {
  HttpResponse out;
  const std::size_t scheme_end = request.url.find("://");
  if (scheme_end == std::string::npos) {
    out.error = fmt::format("{} is not a URL (http:// or https://)", request.url);
    return out;
  }
  const std::size_t path_start = request.url.find('/', scheme_end + 3);
  const std::string origin = request.url.substr(0, path_start);
  const std::string path = path_start == std::string::npos ? "/" : request.url.substr(path_start);
  httplib::Client client(origin);
  if (!client.is_valid()) {
    out.error = fmt::format("{} is not a URL hotspotd can post to", request.url);
    return out;
  }
  const auto seconds = std::chrono::duration_cast<std::chrono::microseconds>(request.timeout);
  client.set_connection_timeout(seconds);
  client.set_read_timeout(seconds);
  client.set_write_timeout(seconds);
  client.enable_server_certificate_verification(request.verify_tls);
  if (!request.ca_file.empty()) client.set_ca_cert_path(request.ca_file.c_str());
  if (!request.proxy_url.empty()) {
    // http://[user:password@]host:port
    std::string_view proxy = request.proxy_url;
    if (const auto s = proxy.find("://"); s != std::string_view::npos) proxy.remove_prefix(s + 3);
    while (!proxy.empty() && proxy.back() == '/') proxy.remove_suffix(1);
    std::string_view credentials;
    if (const auto at = proxy.rfind('@'); at != std::string_view::npos) {
      credentials = proxy.substr(0, at);
      proxy.remove_prefix(at + 1);
    }
    const auto colon = proxy.rfind(':');
    int port = 80;
    if (colon != std::string_view::npos) {
      std::from_chars(proxy.data() + colon + 1, proxy.data() + proxy.size(), port);
      proxy = proxy.substr(0, colon);
    }
    client.set_proxy(std::string(proxy), port);
    if (!credentials.empty()) {
      const auto c = credentials.find(':');
      client.set_proxy_basic_auth(std::string(credentials.substr(0, c)),
                                  c == std::string_view::npos ? std::string() : std::string(credentials.substr(c + 1)));
    }
  }
  httplib::Headers headers;
  for (const auto& [k, v] : request.headers) headers.emplace(k, v);
  auto res = client.Post(path, headers, request.body, request.content_type);
  if (!res) {
    out.error = httplib::to_string(res.error());
    return out;
  }
  out.status = res->status;
  out.body = res->body;
  out.retry_after = res->get_header_value("Retry-After");
  return out;
}

Verdict judge(const HttpResponse& r, const ReceiverRules& rules) {
  Verdict v;
  if (r.status == 0) {
    v.outcome = Outcome::retry;
    v.reason = r.error.empty() ? "no answer" : r.error;
    return v;
  }
  auto first_line = [&] {
    std::string body = r.body.substr(0, std::min<std::size_t>(r.body.size(), 200));
    if (const auto nl = body.find('\n'); nl != std::string::npos) body.resize(nl);
    return body;
  };
  if (std::find(rules.success.begin(), rules.success.end(), r.status) != rules.success.end()) {
    if (rules.success_body.empty() || r.body == rules.success_body) {
      v.outcome = Outcome::delivered;
      v.reason = fmt::format("HTTP {}", r.status);
      return v;
    }
    v.outcome = Outcome::permanent;
    v.reason = fmt::format("HTTP {} without \"{}\": {}", r.status, rules.success_body, first_line());
    return v;
  }
  v.retry_after = parseRetryAfter(r.retry_after, std::chrono::system_clock::now());
  const bool retryable = r.status >= 500 ||
                         std::find(rules.retryable_4xx.begin(), rules.retryable_4xx.end(), r.status) !=
                             rules.retryable_4xx.end();
  v.outcome = retryable ? Outcome::retry : Outcome::permanent;
  v.reason = fmt::format("HTTP {}{}{}", r.status, r.body.empty() ? "" : ": ", first_line());
  return v;
}

Duration backoff(int attempt, Duration base, Duration cap, std::mt19937_64& rng) {
  Duration d = base;
  for (int i = 0; i < attempt && d < cap; ++i) d *= 2;
  d = std::min(d, cap);
  std::uniform_int_distribution<std::int64_t> half(0, std::max<std::int64_t>(0, d.count() / 2));
  return Duration(d.count() - d.count() / 2 + half(rng));
}

}  // namespace hotspotd::alerting
