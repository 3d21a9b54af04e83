// The Prometheus HTTP query API as a source of series (Prometheus, Thanos, Mimir and VictoriaMetrics all serve
// it): the query_range request for a PromQL expression, and its answer read into series of points, with what
// makes an answer unfit to judge on: warnings (Thanos and Mimir report a store or ingester that did not answer as
// a warning beside partial data), and errors sorted by what the caller should do: fix the query (400, 422), wait
// (429 with its Retry-After, 5xx, 503 when the query timed out in the engine), or distrust the source (an answer
// that is not the documented envelope). Pure functions; the HTTP is the caller's (ingest/http_fetch.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include "core/duration.h"

namespace hotspotd::ingest {

struct RangeQuery {
  std::string promql;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  Duration step = std::chrono::seconds(15);
  Duration timeout{0};  // sent as the engine's timeout when set
};

// The path and query string of GET <base>/api/v1/query_range, where `base_path` is the source URL's path ("" for
// Prometheus, "/prometheus" for Mimir's API prefix, "/select/0/prometheus" for VictoriaMetrics cluster).
std::string queryRangeTarget(std::string_view base_path, const RangeQuery& query);

struct RangeSeries {
  std::vector<std::pair<std::string, std::string>> labels;  // as answered (__name__ when the query keeps it)
  std::vector<std::pair<std::int64_t, double>> points;      // unix ms, value ("NaN", "+Inf", "-Inf" read too)
};

struct RangeAnswer {
  std::vector<RangeSeries> series;
  std::vector<std::string> warnings;  // non-empty: partial data, judge nothing on it
  std::size_t points = 0;
};

struct QueryError {
  enum class Kind {
    bad_query,     // 400, 422: the expression or its parameters; retrying will not help
    rate_limited,  // 429: wait retry_after (or back off)
    unavailable,   // 5xx, 503 on an engine timeout, or no answer at all: try again later
    bad_answer,    // 2xx with something that is not the documented envelope
  };
  Kind kind = Kind::unavailable;
  int status = 0;
  std::string message;  // what the source said: "<errorType>: <error>", or why the answer could not be read
  std::optional<Duration> retry_after;
};

// Reads an answer from its HTTP status, its Retry-After header (empty if none) and its body.
tl::expected<RangeAnswer, QueryError> readRangeAnswer(int status, std::string_view retry_after, std::string_view body);

std::string_view kindName(QueryError::Kind kind);

}  // namespace hotspotd::ingest
