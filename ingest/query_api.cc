#include "ingest/query_api.h"

#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace hotspotd::ingest {
namespace {

using nlohmann::json;

// RFC 3986 unreserved characters pass; everything else is %XX.
std::string urlEncode(std::string_view s) {
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

// Seconds with millisecond precision, as the API takes times and steps.
std::string seconds(std::int64_t ms) {
  const std::int64_t whole = ms / 1000, frac = ms % 1000;
  return frac == 0 ? std::to_string(whole) : fmt::format("{}.{:03}", whole, frac < 0 ? -frac : frac);
}

std::optional<double> sampleValue(const json& v) {
  if (!v.is_string()) return std::nullopt;
  const std::string& s = v.get_ref<const std::string&>();
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (s == "+Inf" || s == "Inf") return std::numeric_limits<double>::infinity();
  if (s == "-Inf") return -std::numeric_limits<double>::infinity();
  double out = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return out;
}

QueryError error(QueryError::Kind kind, int status, std::string message) {
  QueryError e;
  e.kind = kind;
  e.status = status;
  e.message = std::move(message);
  return e;
}

}  // namespace

std::string_view kindName(QueryError::Kind kind) {
  switch (kind) {
    case QueryError::Kind::bad_query: return "bad_query";
    case QueryError::Kind::rate_limited: return "rate_limited";
    case QueryError::Kind::unavailable: return "unavailable";
    case QueryError::Kind::bad_answer: return "bad_answer";
  }
  return "unknown";
}

std::string queryRangeTarget(std::string_view base_path, const RangeQuery& q) {
  while (!base_path.empty() && base_path.back() == '/') base_path.remove_suffix(1);
  std::string out = fmt::format("{}/api/v1/query_range?query={}&start={}&end={}&step={}", base_path,
                                urlEncode(q.promql), seconds(q.start_ms), seconds(q.end_ms), seconds(q.step.count()));
  if (q.timeout.count() > 0) out += "&timeout=" + seconds(q.timeout.count()) + "s";
  return out;
}

tl::expected<RangeAnswer, QueryError> readRangeAnswer(int status, std::string_view retry_after, std::string_view body) {
  const json j = json::parse(body, nullptr, false);
  // What the source said, when it said it in the envelope.
  std::string said;
  if (j.is_object() && j.value("status", "") == "error") {
    said = fmt::format("{}: {}", j.value("errorType", "error"), j.value("error", ""));
  } else {
    const auto nl = body.find('\n');
    said = std::string(body.substr(0, std::min<std::size_t>(nl == std::string_view::npos ? body.size() : nl, 200)));
  }
  if (status < 200 || status >= 300) {
    const std::string message = fmt::format("HTTP {}{}{}", status, said.empty() ? "" : ": ", said);
    if (status == 429) {
      QueryError e = error(QueryError::Kind::rate_limited, status, message);
      e.retry_after = parseRetryAfter(retry_after, std::chrono::system_clock::now());
      return tl::unexpected(std::move(e));
    }
    // 400 and 422 are the query's fault; 503 (an engine timeout or abort), other 5xx, and 4xx before the API
    // (401, 403, 404 of a proxy or a wrong base URL) are the source's, to try again or to fix in the config.
    if (status == 400 || status == 422) return tl::unexpected(error(QueryError::Kind::bad_query, status, message));
    QueryError e = error(QueryError::Kind::unavailable, status, message);
    e.retry_after = parseRetryAfter(retry_after, std::chrono::system_clock::now());
    return tl::unexpected(std::move(e));
  }
  if (!j.is_object()) return tl::unexpected(error(QueryError::Kind::bad_answer, status, "the answer is not JSON"));
  if (j.value("status", "") != "success") {
    return tl::unexpected(error(QueryError::Kind::bad_answer, status, "status is not success: " + said));
  }
  const auto data = j.find("data");
  if (data == j.end() || !data->is_object() || data->value("resultType", "") != "matrix") {
    return tl::unexpected(error(QueryError::Kind::bad_answer, status, "the answer is not a matrix"));
  }
  const auto result = data->find("result");
  if (result == data->end() || !result->is_array()) {
    return tl::unexpected(error(QueryError::Kind::bad_answer, status, "the answer has no result array"));
  }
  RangeAnswer out;
  if (const auto w = j.find("warnings"); w != j.end() && w->is_array()) {
    for (const auto& x : *w) out.warnings.push_back(x.is_string() ? x.get<std::string>() : x.dump());
  }
  out.series.reserve(result->size());
  for (const auto& s : *result) {
    const auto metric = s.find("metric");
    const auto values = s.find("values");
    if (!s.is_object() || metric == s.end() || !metric->is_object() || values == s.end() || !values->is_array()) {
      return tl::unexpected(error(QueryError::Kind::bad_answer, status, "a series without metric or values"));
    }
    RangeSeries series;
    for (const auto& [k, v] : metric->items()) {
      if (!v.is_string())
        return tl::unexpected(error(QueryError::Kind::bad_answer, status, "a label that is not a string"));
      series.labels.emplace_back(k, v.get<std::string>());
    }
    series.points.reserve(values->size());
    for (const auto& p : *values) {
      const auto v = p.is_array() && p.size() == 2 && p[0].is_number() ? sampleValue(p[1]) : std::nullopt;
      if (!v)
        return tl::unexpected(error(QueryError::Kind::bad_answer, status, "a point that is not [time, \"value\"]"));
      series.points.emplace_back(std::llround(p[0].get<double>() * 1000.0), *v);
    }
    out.points += series.points.size();
    out.series.push_back(std::move(series));
  }
  return out;
}

}  // namespace hotspotd::ingest
