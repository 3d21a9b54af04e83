// One delivery attempt and what to make of its answer: an HTTP POST on the io_context (core/http_client.h: one
// deadline for connecting, sending and the answer, TLS verified unless told otherwise, through a proxy if given,
// no redirects, the answer capped at 1 MiB, cancellable), then a verdict a receiver can tune: delivered; retry (when
// the receiver said, by Retry-After, or by exponential backoff with jitter); or a permanent failure that retrying
// cannot fix (a bad payload, a revoked token, a deleted webhook). post() starts and completes on the io_context's
// thread; the rest is pure.
#pragma once

#include <utility>  // before Asio: boost/asio/awaitable.hpp misses it with GCC 12 in C++20 mode

#include <chrono>
#include <functional>
#include <cstdint>
#include <optional>
#include <string_view>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/duration.h"
#include "core/http_client.h"

namespace hotspotd::alerting {

struct HttpRequest {
  std::string url;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  Duration timeout = std::chrono::seconds(10);
  bool verify_tls = true;
  std::string ca_file;  // PEM bundle instead of the system's
  std::string proxy_url;  // http://host:port, optionally with user:password@
};

struct HttpResponse {
  int status = 0;           // 0: no HTTP answer (see error)
  std::string body;
  std::string retry_after;  // the Retry-After header, as sent
  std::string error;        // a transport error (connection refused, timeout, TLS)
  bool cancelled = false;   // the attempt was cancelled (shutdown): no answer, and no verdict to draw
};

// Starts the POST; `done` runs once, on the io_context.
FetchHandle post(boost::asio::io_context& io, const HttpRequest& request, std::function<void(HttpResponse)> done);

enum class Outcome { delivered, retry, permanent };

struct Verdict {
  Outcome outcome = Outcome::retry;
  std::optional<Duration> retry_after;  // the receiver asked to wait this long
  std::string reason;                   // for logs, metrics and the notification history
};

// How a receiver reads answers: which statuses mean delivered (and, optionally, the body they must carry, as
// Slack's "ok"), and which client errors are worth retrying (408 and 429 by default; every 5xx and transport
// error is).
struct ReceiverRules {
  std::vector<int> success = {200, 201, 202, 204};
  std::string success_body;  // non-empty: a 2xx must also carry this body
  std::vector<int> retryable_4xx = {408, 425, 429};
};

// `now_ms`: the time an HTTP-date Retry-After is counted from.
Verdict judge(const HttpResponse& response, const ReceiverRules& rules, std::int64_t now_ms);

// The wait before attempt `attempt` (0 for the first retry): base x 2^attempt capped at `cap`, the second half of
// it random, so that many notifications failing together do not retry together.
Duration backoff(int attempt, Duration base, Duration cap, std::mt19937_64& rng);

}  // namespace hotspotd::alerting
