#include "alerting/delivery.h"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include "core/text.h"
#include "core/url.h"

namespace hotspotd::alerting {
namespace {

// Receivers answer with a line or a small JSON object; more is not read.
constexpr std::size_t kMaxAnswerBytes = 1 << 20;

}  // namespace

FetchHandle post(boost::asio::io_context& io, const HttpRequest& request,
                 std::function<void(HttpResponse)> done) {
  auto url = parseHttpUrl(request.url);
  if (!url) {
    HttpResponse out;
    out.error = url.error().message;
    boost::asio::post(io, [done = std::move(done), out = std::move(out)]() mutable { done(std::move(out)); });
    return {};
  }
  FetchRequest req;
  req.method = "POST";
  req.scheme = url->scheme;
  req.host = url->host;
  req.port = url->port;
  req.target = url->target;
  req.headers = request.headers;
  req.body = request.body;
  req.content_type = request.content_type;
  req.timeout = request.timeout;
  req.max_body_bytes = kMaxAnswerBytes;
  req.tls_insecure_skip_verify = !request.verify_tls;
  req.tls_ca_file = request.ca_file;
  req.proxy_url = request.proxy_url;
  return fetch(io, std::move(req), [done = std::move(done)](tl::expected<FetchResponse, FetchError> r) {
    HttpResponse out;
    if (!r) {
      out.error = r.error().message;
      out.cancelled = r.error().kind == FetchError::Kind::cancelled;
    } else {
      out.status = r->status;
      out.body = std::move(r->body);
      out.retry_after = std::move(r->retry_after);
    }
    done(std::move(out));
  });
}

Verdict judge(const HttpResponse& r, const ReceiverRules& rules, std::int64_t now_ms) {
  Verdict v;
  if (r.status == 0) {
    v.outcome = Outcome::retry;
    v.reason = r.error.empty() ? "no answer" : r.error;
    return v;
  }
  auto first_line = [&] {
    std::string body = r.body.substr(0, std::min<std::size_t>(r.body.size(), 200));
    if (const auto nl = body.find('\n'); nl != std::string::npos) body.resize(nl);
    return repairUtf8(body);  // the receiver's words, kept in the history and the log
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
  v.retry_after = parseRetryAfter(
      r.retry_after, std::chrono::system_clock::time_point(std::chrono::milliseconds(now_ms)));
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
