#include "alerting/delivery.h"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>
#include <httplib.h>

#include "core/url.h"

namespace hotspotd::alerting {

HttpResponse post(const HttpRequest& request) {
  HttpResponse out;
  auto url = parseHttpUrl(request.url);
  if (!url) {
    out.error = url.error().message;
    return out;
  }
  httplib::Client client(url->origin());
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
    auto proxy = parseHttpUrl(request.proxy_url);
    if (!proxy) {
      out.error = fmt::format("proxy_url: {}", proxy.error().message);
      return out;
    }
    client.set_proxy(proxy->host, std::stoi(proxy->port));
    if (!proxy->userinfo.empty()) {
      const auto c = proxy->userinfo.find(':');
      client.set_proxy_basic_auth(proxy->userinfo.substr(0, c),
                                  c == std::string::npos ? std::string() : proxy->userinfo.substr(c + 1));
    }
  }
  httplib::Headers headers;
  for (const auto& [k, v] : request.headers) headers.emplace(k, v);
  auto res = client.Post(url->target, headers, request.body, request.content_type);
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
