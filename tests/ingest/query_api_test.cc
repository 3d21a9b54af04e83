// The query_range request and the reading of its answer, against the documented envelope of the Prometheus HTTP
// API (which Thanos, Mimir and VictoriaMetrics serve too): matrices, warnings beside partial data, and errors
// sorted by what to do about them.
#include <doctest/doctest.h>

#include <cmath>

#include "ingest/query_api.h"

using namespace hotspotd;
using namespace hotspotd::ingest;
using namespace std::chrono_literals;

TEST_CASE("query_range requests: the expression URL-encoded, times in seconds with milliseconds, the API prefix kept") {
  RangeQuery q;
  q.promql = R"(http_request_duration_seconds_bucket{job="shop",route=~"/api/.*"})";
  q.start_ms = 1'700'000'000'000;
  q.end_ms = 1'700'000'060'500;
  q.step = 15s;
  CHECK(queryRangeTarget("", q) ==
        "/api/v1/query_range?query=http_request_duration_seconds_bucket%7Bjob%3D%22shop%22%2Croute%3D~%22%2Fapi%2F."
        "%2A%22%7D&start=1700000000&end=1700000060.500&step=15");
  q.step = 250ms;
  q.timeout = 20s;
  CHECK(queryRangeTarget("/prometheus/", q).starts_with("/prometheus/api/v1/query_range?query="));
  CHECK(queryRangeTarget("/prometheus", q).ends_with("&step=0.250&timeout=20s"));
}

TEST_CASE("a matrix answer becomes series of points; NaN and infinities are values; warnings are kept") {
  const auto a = readRangeAnswer(200, "", R"({"status":"success","warnings":["store 10.0.0.7:10901 unavailable"],
    "data":{"resultType":"matrix","result":[
      {"metric":{"__name__":"up","job":"shop","instance":"a:80"},"values":[[1435781430.781,"1"],[1435781445.781,"0"]]},
      {"metric":{"job":"shop"},"values":[[1435781430,"NaN"],[1435781445,"+Inf"],[1435781460,"-Inf"]]}]}})");
  REQUIRE(a);
  REQUIRE(a->series.size() == 2);
  CHECK(a->points == 5);
  CHECK(a->series[0].labels.size() == 3);
  CHECK(a->series[0].points[0] == std::pair<std::int64_t, double>{1435781430781, 1.0});
  CHECK(a->series[0].points[1].first == 1435781445781);
  CHECK(std::isnan(a->series[1].points[0].second));
  CHECK(a->series[1].points[1].second == INFINITY);
  CHECK(a->series[1].points[2].second == -INFINITY);
  REQUIRE(a->warnings.size() == 1);
  CHECK(a->warnings[0] == "store 10.0.0.7:10901 unavailable");
  const auto empty = readRangeAnswer(200, "", R"({"status":"success","data":{"resultType":"matrix","result":[]}})");
  REQUIRE(empty);
  CHECK(empty->series.empty());
  CHECK(empty->warnings.empty());
}

TEST_CASE("errors say what to do: fix the query, wait as told, try the source again, or distrust the answer") {
  const auto bad = readRangeAnswer(
      400, "", R"({"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error"})");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().kind == QueryError::Kind::bad_query);
  CHECK(bad.error().message == "HTTP 400: bad_data: invalid parameter \"query\": 1:5: parse error");
  CHECK(readRangeAnswer(422, "", R"({"status":"error","errorType":"execution","error":"many-to-many"})").error().kind ==
        QueryError::Kind::bad_query);

  const auto limited = readRangeAnswer(429, "7", "too many outstanding requests\n");
  REQUIRE_FALSE(limited);
  CHECK(limited.error().kind == QueryError::Kind::rate_limited);
  CHECK(limited.error().retry_after == 7s);
  CHECK(limited.error().message == "HTTP 429: too many outstanding requests");
  CHECK_FALSE(readRangeAnswer(429, "", "").error().retry_after);

  const auto timeout = readRangeAnswer(
      503, "", R"({"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"})");
  CHECK(timeout.error().kind == QueryError::Kind::unavailable);
  CHECK(timeout.error().message == "HTTP 503: timeout: query timed out in expression evaluation");
  const auto proxy = readRangeAnswer(502, "", "<html><body>Bad Gateway</body></html>\n<p>nginx</p>");
  CHECK(proxy.error().kind == QueryError::Kind::unavailable);
  CHECK(proxy.error().message == "HTTP 502: <html><body>Bad Gateway</body></html>");
  CHECK(readRangeAnswer(401, "", "unauthorized").error().kind == QueryError::Kind::unavailable);

  CHECK(readRangeAnswer(200, "", "<html>").error().kind == QueryError::Kind::bad_answer);
  CHECK(
      readRangeAnswer(200, "", R"({"status":"success","data":{"resultType":"vector","result":[]}})").error().message ==
      "the answer is not a matrix");
  CHECK(readRangeAnswer(
            200, "", R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,2]]}]}})")
            .error()
            .message == "a point that is not [time, \"value\"]");
  CHECK(readRangeAnswer(200, "", R"({"status":"success","data":{"resultType":"matrix","result":[{"values":[]}]}})")
            .error()
            .kind == QueryError::Kind::bad_answer);
}

TEST_CASE("answers are read whatever the order of their keys; fields the API may add are skipped; malformed parts "
          "are named") {
  // "status" last, "data" before "warnings", extra fields at every level (Thanos and Mimir add stats and infos).
  const auto a = readRangeAnswer(200, "", R"({"data":{"result":[{"values":[[1,"2"],[2.5,"3e2"]],"extra":{"a":[1,{}]},
    "metric":{"job":"shop","__name__":"x"}}],"stats":{"timings":[1,2]},"resultType":"matrix"},
    "infos":["ok"],"warnings":["partial"],"status":"success"})");
  REQUIRE_MESSAGE(a, (a ? "" : a.error().message));
  REQUIRE(a->series.size() == 1);
  CHECK(a->series[0].labels == std::vector<std::pair<std::string, std::string>>{{"job", "shop"}, {"__name__", "x"}});
  CHECK(a->series[0].points == std::vector<std::pair<std::int64_t, double>>{{1000, 2.0}, {2500, 300.0}});
  CHECK(a->points == 2);
  CHECK(a->warnings == std::vector<std::string>{"partial"});

  auto problem = [](std::string_view body) {
    const auto r = readRangeAnswer(200, "", body);
    return r ? std::string("(read)") : r.error().message;
  };
  const std::string head = R"({"status":"success","data":{"resultType":"matrix","result":)";
  CHECK(problem(head + R"([{"metric":{"a":1},"values":[]}]}})") == "a label that is not a string");
  CHECK(problem(head + R"([{"metric":{"a":{"b":"c"}},"values":[]}]}})") == "a label that is not a string");
  CHECK(problem(head + R"([{"metric":{},"values":[[1,"2",3]]}]}})") == "a point that is not [time, \"value\"]");
  CHECK(problem(head + R"([{"metric":{},"values":[[1]]}]}})") == "a point that is not [time, \"value\"]");
  CHECK(problem(head + R"([{"metric":{},"values":[["1","2"]]}]}})") == "a point that is not [time, \"value\"]");
  CHECK(problem(head + R"([{"metric":{},"values":[[1,"two"]]}]}})") == "a point that is not [time, \"value\"]");
  CHECK(problem(head + R"([{"metric":{},"values":[1]}]}})") == "a point that is not [time, \"value\"]");
  CHECK(problem(head + R"([{"metric":{}}]}})") == "a series without metric or values");
  CHECK(problem(head + R"([7]}})") == "a series without metric or values");
  CHECK(problem(head + R"([{"metric":{},"values":[[1,"2"]]}]})") == "the answer is not JSON");  // cut short
  CHECK(problem(R"({"status":"success","data":{"resultType":"matrix"}})") == "the answer has no result array");
  CHECK(problem("[1,2]") == "the answer is not JSON");
  CHECK(problem("42") == "the answer is not JSON");
  CHECK(problem(R"({"status":"error","errorType":"internal","error":"boom"})") ==
        "status is not success: internal: boom");
}
