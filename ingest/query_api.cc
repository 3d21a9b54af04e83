#include "ingest/query_api.h"

#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/url.h"

namespace hotspotd::ingest {
namespace {

using nlohmann::json;

// Seconds with millisecond precision, as the API takes times and steps.
std::string seconds(std::int64_t ms) {
  const std::int64_t whole = ms / 1000, frac = ms % 1000;
  return frac == 0 ? std::to_string(whole) : fmt::format("{}.{:03}", whole, frac < 0 ? -frac : frac);
}

std::optional<double> sampleValue(std::string_view s) {
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (s == "+Inf" || s == "Inf") return std::numeric_limits<double>::infinity();
  if (s == "-Inf") return -std::numeric_limits<double>::infinity();
  double out = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return out;
}

// Reads the answer as it is parsed (nlohmann's SAX interface), straight into series and points: an answer of
// millions of points costs their 16 bytes each, not a document tree of them. The envelope:
// {"status": ..., "data": {"resultType": "matrix", "result": [{"metric": {...}, "values": [[t, "v"], ...]}]},
//  "warnings": [...], "errorType": ..., "error": ...}; anything else in it is skipped.
class AnswerReader {
 public:
  using string_t = json::string_t;
  using binary_t = json::binary_t;

  RangeAnswer answer;
  std::string status, error_type, error, result_type;
  bool has_data = false, has_result = false, root_object = false;
  std::string problem;  // why the answer is not the envelope; parsing stops at the first
  bool syntax_error = false;

  bool null() { return scalar(); }
  bool boolean(bool) { return scalar(); }
  bool number_integer(json::number_integer_t v) { return number(static_cast<double>(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return number(static_cast<double>(v)); }
  bool number_float(json::number_float_t v, const string_t&) { return number(v); }
  bool binary(binary_t&) { return scalar(); }
  bool string(string_t& v) {
    const Frame* f = top();
    if (!f) return fail("the answer is not JSON");
    switch (f->role) {
      case Role::root:
        if (f->key == "status") status = v;
        if (f->key == "errorType") error_type = v;
        if (f->key == "error") error = v;
        return true;
      case Role::data:
        if (f->key == "resultType") result_type = v;
        return true;
      case Role::warnings: answer.warnings.push_back(v); return true;
      case Role::metric: answer.series.back().labels.emplace_back(f->key, v); return true;
      case Role::point: {
        if (f->index != 1) return fail("a point that is not [time, \"value\"]");
        const auto value = sampleValue(v);
        if (!value) return fail("a point that is not [time, \"value\"]");
        point_value_ = *value;
        return next();
      }
      case Role::result:
      case Role::series:
      case Role::values: return fail(shapeProblem(f->role));
      case Role::skip: return true;
    }
    return true;
  }
  bool start_object(std::size_t) {
    const Frame* f = top();
    Role role = Role::skip;
    if (!f) {
      role = Role::root;
      root_object = true;
    } else if (f->role == Role::root && f->key == "data") {
      role = Role::data;
      has_data = true;
    } else if (f->role == Role::result) {
      role = Role::series;
      answer.series.emplace_back();
      series_has_metric_ = series_has_values_ = false;
    } else if (f->role == Role::series && f->key == "metric") {
      role = Role::metric;
      series_has_metric_ = true;
    } else if (f->role == Role::metric || f->role == Role::point || f->role == Role::values) {
      return fail(shapeProblem(f->role));
    }
    stack_.push_back({role, {}, 0});
    return true;
  }
  bool key(string_t& k) {
    stack_.back().key = k;
    return true;
  }
  bool end_object() {
    const Role role = stack_.back().role;
    stack_.pop_back();
    if (role == Role::series && (!series_has_metric_ || !series_has_values_)) {
      return fail("a series without metric or values");
    }
    if (role == Role::series) answer.points += answer.series.back().points.size();
    return stack_.empty() || next();
  }
  bool start_array(std::size_t) {
    const Frame* f = top();
    Role role = Role::skip;
    if (!f) {
      role = Role::skip;  // not an object: said at the end
    } else if (f->role == Role::root && f->key == "warnings") {
      role = Role::warnings;
    } else if (f->role == Role::data && f->key == "result") {
      role = Role::result;
      has_result = true;
    } else if (f->role == Role::series && f->key == "values") {
      role = Role::values;
      series_has_values_ = true;
    } else if (f->role == Role::values) {
      role = Role::point;
    } else if (f->role == Role::metric || f->role == Role::point || f->role == Role::result) {
      return fail(shapeProblem(f->role));
    }
    stack_.push_back({role, {}, 0});
    return true;
  }
  bool end_array() {
    const Frame f = stack_.back();
    stack_.pop_back();
    if (f.role == Role::point) {
      if (f.index != 2) return fail("a point that is not [time, \"value\"]");
      answer.series.back().points.emplace_back(point_time_, point_value_);
    }
    return stack_.empty() || next();
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    syntax_error = true;
    return false;
  }

 private:
  enum class Role { root, data, warnings, result, series, metric, values, point, skip };
  struct Frame {
    Role role;
    std::string key;  // objects: the key being read
    int index = 0;    // arrays: the element being read
  };

  const Frame* top() const { return stack_.empty() ? nullptr : &stack_.back(); }
  bool fail(std::string why) {
    if (problem.empty()) problem = std::move(why);
    return false;
  }
  static std::string shapeProblem(Role role) {
    switch (role) {
      case Role::metric: return "a label that is not a string";
      case Role::point:
      case Role::values: return "a point that is not [time, \"value\"]";
      default: return "a series without metric or values";
    }
  }
  // The element of an array was read.
  bool next() {
    if (!stack_.empty()) ++stack_.back().index;
    return true;
  }
  bool number(double v) {
    const Frame* f = top();
    if (!f) return fail("the answer is not JSON");
    if (f->role == Role::point) {
      if (f->index != 0) return fail("a point that is not [time, \"value\"]");
      point_time_ = std::llround(v * 1000.0);
      return next();
    }
    return scalar();
  }
  bool scalar() {
    const Frame* f = top();
    if (!f) return true;
    switch (f->role) {
      case Role::metric: return fail("a label that is not a string");
      case Role::point:
      case Role::values: return fail("a point that is not [time, \"value\"]");
      case Role::result:
      case Role::series: return f->role == Role::series ? true : fail("a series without metric or values");
      case Role::warnings: answer.warnings.push_back("?"); return true;
      default: return true;
    }
  }

  std::vector<Frame> stack_;
  std::int64_t point_time_ = 0;
  double point_value_ = 0;
  bool series_has_metric_ = false, series_has_values_ = false;
};

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
                                percentEncode(q.promql), seconds(q.start_ms), seconds(q.end_ms), seconds(q.step.count()));
  if (q.timeout.count() > 0) out += "&timeout=" + seconds(q.timeout.count()) + "s";
  return out;
}

tl::expected<RangeAnswer, QueryError> readRangeAnswer(int status, std::string_view retry_after, std::string_view body) {
  AnswerReader r;
  const bool parsed = json::sax_parse(body, &r, json::input_format_t::json, /*strict=*/true) && r.problem.empty();
  // What the source said, when it said it in the envelope.
  std::string said;
  if (r.status == "error") {
    said = fmt::format("{}: {}", r.error_type.empty() ? "error" : r.error_type, r.error);
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
  if (r.syntax_error || !r.root_object) {
    return tl::unexpected(error(QueryError::Kind::bad_answer, status, "the answer is not JSON"));
  }
  if (!parsed) return tl::unexpected(error(QueryError::Kind::bad_answer, status, r.problem));
  if (r.status != "success") {
    return tl::unexpected(error(QueryError::Kind::bad_answer, status, "status is not success: " + said));
  }
  if (!r.has_data || r.result_type != "matrix") {
    return tl::unexpected(error(QueryError::Kind::bad_answer, status, "the answer is not a matrix"));
  }
  if (!r.has_result) {
    return tl::unexpected(error(QueryError::Kind::bad_answer, status, "the answer has no result array"));
  }
  if (!r.problem.empty()) return tl::unexpected(error(QueryError::Kind::bad_answer, status, r.problem));
  return std::move(r.answer);
}

}  // namespace hotspotd::ingest
