// The query_range request and its reading against a real Prometheus (Debian's), over ingest's own HTTP fetch:
// Prometheus scrapes a test target's counter every second; the answer holds its points; a query Prometheus
// refuses is a bad query with Prometheus' own words.
#include <doctest/doctest.h>

#include <atomic>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>
#include <boost/asio/io_context.hpp>

#include "core/gzip.h"
#include "core/http_client.h"
#include "ingest/query_api.h"
#include "tests/support/components.h"
#include "tests/support/child_process.h"
#include "tests/support/http_target.h"
#include "tests/support/temp_dir.h"

using namespace hotspotd;
using namespace std::chrono_literals;

namespace {

tl::expected<ingest::RangeAnswer, ingest::QueryError> ask(int port, const ingest::RangeQuery& q) {
  boost::asio::io_context io;
  FetchRequest req;
  req.host = "127.0.0.1";
  req.port = std::to_string(port);
  req.target = ingest::queryRangeTarget("", q);
  std::optional<tl::expected<ingest::RangeAnswer, ingest::QueryError>> out;
  fetch(io, req, [&](tl::expected<FetchResponse, FetchError> r) {
    if (!r) {
      ingest::QueryError e;
      e.message = r.error().message;
      out = tl::unexpected(e);
      return;
    }
    std::string body = r->body;
    if (r->content_encoding == "gzip") body = gunzip(body, 64 << 20).value_or(std::string());
    out = ingest::readRangeAnswer(r->status, r->retry_after, body);
  });
  io.run();
  return *out;
}

}  // namespace

TEST_CASE("a real Prometheus answers query_range: the scraped counter's points; a refused query in its own words") {
  const std::string prometheus = test::findProgram("prometheus");
  if (!test::needComponent(!prometheus.empty(), "prometheus (scripts/bootstrap installs it)")) return;
  std::atomic<int> requests{0};
  test::HttpTarget target;
  target.server().Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(fmt::format("# TYPE shop_requests_total counter\nshop_requests_total{{route=\"/checkout\"}} {}\n",
                                requests += 10),
                    "text/plain; version=0.0.4");
  });
  const std::string address = target.start();
  test::TempDir dir;
  const int port = test::freePort();
  const auto config = dir.write("prometheus.yml", fmt::format(R"(global:
  scrape_interval: 1s
scrape_configs:
  - job_name: shop
    static_configs:
      - targets: ['{}']
)",
                                                              address));
  test::ChildProcess prom({prometheus, "--config.file=" + config.string(),
                           fmt::format("--web.listen-address=127.0.0.1:{}", port),
                           "--storage.tsdb.path=" + (dir.path() / "tsdb").string(), "--log.level=warn"});
  ingest::RangeQuery q;
  q.promql = R"(shop_requests_total{job="shop"})";
  q.step = 1s;
  std::optional<ingest::RangeAnswer> answer;
  for (int i = 0; i < 150 && !(answer && !answer->series.empty() && answer->points >= 5); ++i) {
    std::this_thread::sleep_for(200ms);
    q.end_ms = nowUnixMs();
    q.start_ms = q.end_ms - 60'000;
    auto a = ask(port, q);
    if (a) answer = std::move(*a);
  }
  REQUIRE_MESSAGE(answer, prom.output());
  REQUIRE(answer->series.size() == 1);
  const auto& s = answer->series[0];
  CHECK(std::find(s.labels.begin(), s.labels.end(), std::pair<std::string, std::string>{"route", "/checkout"}) !=
        s.labels.end());
  CHECK(std::find(s.labels.begin(), s.labels.end(),
                  std::pair<std::string, std::string>{"__name__", "shop_requests_total"}) != s.labels.end());
  REQUIRE(s.points.size() >= 5);
  for (std::size_t i = 1; i < s.points.size(); ++i) {
    CHECK(s.points[i].first - s.points[i - 1].first == 1000);  // the step
    CHECK(s.points[i].second >= s.points[i - 1].second);       // a counter
  }
  CHECK(answer->warnings.empty());

  q.promql = "sum(rate(shop_requests_total[1m]) by (route)";
  const auto refused = ask(port, q);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == ingest::QueryError::Kind::bad_query);
  CHECK(refused.error().status == 400);
  CHECK(refused.error().message.find("HTTP 400: bad_data: ") == 0);
  CHECK(refused.error().message.find("parse error") != std::string::npos);
}
