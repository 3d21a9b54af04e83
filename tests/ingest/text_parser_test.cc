#include <doctest/doctest.h>

#include <cmath>

#include "ingest/exposition.h"

using namespace hotspotd::ingest;

namespace {

ParsedExposition parseOk(std::string_view body, ExpositionFormat format = ExpositionFormat::prometheus_text) {
  auto r = parseExposition(body, format);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  return *r;
}

ParseError parseErr(std::string_view body, ExpositionFormat format = ExpositionFormat::prometheus_text) {
  auto r = parseExposition(body, format);
  REQUIRE_FALSE(r);
  return r.error();
}

constexpr auto OM = ExpositionFormat::openmetrics;

}  // namespace

TEST_CASE("0.0.4: HELP, TYPE, counters, gauges and untyped samples") {
  auto e = parseOk(
      "# HELP http_requests_total The total number of HTTP requests.\n"
      "# TYPE http_requests_total counter\n"
      "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
      "http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n"
      "\n"
      "# A comment\n"
      "temperature 21.5\n"
      "# TYPE queue gauge\n"
      "queue{q=\"a\",} -3\n");
  REQUIRE(e.samples.size() == 4);
  CHECK(e.samples[0].family == "http_requests_total");
  CHECK(e.samples[0].type == MetricType::counter);
  CHECK(e.samples[0].labels == OwnedLabels{{"method", "post"}, {"code", "200"}});
  CHECK(e.samples[0].value == 1027);
  CHECK(e.samples[0].timestamp_ms == 1395066363000);
  CHECK(e.samples[1].value == 3);
  CHECK(e.samples[2].type == MetricType::unknown);
  CHECK(e.samples[2].value == 21.5);
  CHECK_FALSE(e.samples[2].timestamp_ms);
  CHECK(e.samples[3].type == MetricType::gauge);
  CHECK(e.samples[3].value == -3);
  CHECK(e.families[0].help == "The total number of HTTP requests.");
}

TEST_CASE("NaN, +Inf, -Inf and exponents parse as Prometheus does") {
  auto e = parseOk("a NaN\nb +Inf\nc -Inf\nd 1.5e-3\ne -0\nf 1e400\ng Inf\nh +3\n");
  CHECK(std::isnan(e.samples[0].value));
  CHECK(e.samples[1].value == INFINITY);
  CHECK(e.samples[2].value == -INFINITY);
  CHECK(e.samples[3].value == doctest::Approx(0.0015));
  CHECK(e.samples[4].value == 0);
  CHECK(e.samples[5].value == INFINITY);
  CHECK(e.samples[6].value == INFINITY);
  CHECK(e.samples[7].value == 3);
}

TEST_CASE("label values and HELP text unescape") {
  auto e = parseOk(
      "# HELP m Help with \\\\ backslash and \\n newline.\n"
      "m{path=\"C:\\\\dir\",msg=\"say \\\"hi\\\"\\n\",brace=\"}{\"} 1\n");
  CHECK(e.families[0].help == "Help with \\ backslash and \n newline.");
  CHECK(e.samples[0].labels == OwnedLabels{{"path", "C:\\dir"}, {"msg", "say \"hi\"\n"}, {"brace", "}{"}});
}

TEST_CASE("histograms: buckets, sum and count belong to one family; le is read as a number") {
  auto e = parseOk(
      "# TYPE rpc_seconds histogram\n"
      "rpc_seconds_bucket{le=\"0.1\"} 1\n"
      "rpc_seconds_bucket{le=\"1\"} 2\n"
      "rpc_seconds_bucket{le=\"1.0e1\"} 3\n"
      "rpc_seconds_bucket{le=\"+Inf\"} 4\n"
      "rpc_seconds_sum 5.5\n"
      "rpc_seconds_count 4\n");
  REQUIRE(e.families.size() == 1);
  CHECK(e.samples[0].kind == SampleKind::bucket);
  CHECK(e.samples[4].kind == SampleKind::sum);
  CHECK(e.samples[5].kind == SampleKind::count);
  CHECK(TextParser::parseFloat("1").value() == TextParser::parseFloat("1.0").value());
  CHECK(TextParser::parseFloat("1.0e1").value() == 10);
  CHECK(TextParser::parseFloat("+Inf").value() == INFINITY);
  CHECK_FALSE(TextParser::parseFloat("1.0.0"));
  CHECK_FALSE(TextParser::parseFloat("++1"));
  CHECK_FALSE(TextParser::parseFloat(""));
}

TEST_CASE("summaries: quantiles, sum and count") {
  auto e = parseOk(
      "# TYPE rpc summary\n"
      "rpc{quantile=\"0.5\"} 0.2\n"
      "rpc{quantile=\"0.99\"} 1.1\n"
      "rpc_sum 100\n"
      "rpc_count 300\n");
  REQUIRE(e.families.size() == 1);
  CHECK(e.samples[0].kind == SampleKind::value);
  CHECK(e.samples[2].kind == SampleKind::sum);
}

TEST_CASE("OpenMetrics: UNIT, _total, _created, exemplars, timestamps in seconds and # EOF") {
  auto e = parseOk(
      "# TYPE req counter\n"
      "# HELP req Requests \\\"served\\\".\n"
      "req_total{code=\"200\"} 10 1520879607.789 # {trace_id=\"KOO5S4vxi0o\"} 0.67 1520879602.3\n"
      "req_created{code=\"200\"} 1520430000.123\n"
      "# TYPE lat_seconds histogram\n"
      "# UNIT lat_seconds seconds\n"
      "lat_seconds_bucket{le=\"0.5\"} 3 # {trace_id=\"abc\"} 0.4\n"
      "lat_seconds_bucket{le=\"+Inf\"} 4\n"
      "lat_seconds_count 4\n"
      "lat_seconds_sum 1.5\n"
      "lat_seconds_created 1520430000\n"
      "# TYPE build info\n"
      "build_info{version=\"1.2\"} 1\n"
      "# TYPE state stateset\n"
      "state{state=\"up\"} 1\n"
      "state{state=\"down\"} 0\n"
      "# TYPE queue gaugehistogram\n"
      "queue_bucket{le=\"10\"} 2\n"
      "queue_bucket{le=\"+Inf\"} 3\n"
      "queue_gcount 3\n"
      "queue_gsum 12\n"
      "# EOF\n",
      OM);
  REQUIRE(e.samples.size() == 14);
  CHECK(e.samples[0].kind == SampleKind::total);
  CHECK(e.samples[0].timestamp_ms == 1520879607789);
  REQUIRE(e.samples[0].exemplar_labels);
  CHECK(*e.samples[0].exemplar_labels == OwnedLabels{{"trace_id", "KOO5S4vxi0o"}});
  CHECK(e.samples[0].exemplar_value == 0.67);
  CHECK(e.samples[0].exemplar_timestamp_ms == 1520879602300);
  CHECK(e.samples[1].kind == SampleKind::created);
  CHECK(e.samples[2].exemplar_labels);
  CHECK(e.samples[6].kind == SampleKind::created);
  CHECK(e.samples[7].type == MetricType::info);
  CHECK(e.samples[7].kind == SampleKind::info);
  CHECK(e.samples[8].type == MetricType::stateset);
  CHECK(e.samples[10].type == MetricType::gaugehistogram);
  CHECK(e.samples[12].kind == SampleKind::gcount);
  CHECK(e.samples[13].kind == SampleKind::gsum);
  CHECK(e.families[0].help == "Requests \"served\".");
  CHECK(e.families[0].unit.empty());
}

TEST_CASE("every error names its line") {
  struct Case {
    std::string body;
    ExpositionFormat format;
    int line;
    std::string_view says;
    FailureReason reason = FailureReason::parse_error;
  };
  const Case cases[] = {
      {"a 1\nb{x=\"1\",x=\"2\"} 1\n", ExpositionFormat::prometheus_text, 2, "duplicate label \"x\""},
      {"a 1\nb{x=\"1} 1\n", ExpositionFormat::prometheus_text, 2, "unterminated"},
      {"a 1\n\nb x\n", ExpositionFormat::prometheus_text, 3, "invalid value \"x\""},
      {"a{1x=\"1\"} 1\n", ExpositionFormat::prometheus_text, 1, "invalid label name"},
      {"a{x=\"\\q\"} 1\n", ExpositionFormat::prometheus_text, 1, "invalid escape"},
      {"a\n", ExpositionFormat::prometheus_text, 1, "missing value"},
      {"a 1 2 3\n", ExpositionFormat::prometheus_text, 1, "unexpected text"},
      {"a 1 notatime\n", ExpositionFormat::prometheus_text, 1, "invalid timestamp"},
      {"a 1 # {t=\"x\"} 1\n", ExpositionFormat::prometheus_text, 1, "only allowed in OpenMetrics"},
      {"# TYPE a gauge\n# TYPE a counter\na 1\n", ExpositionFormat::prometheus_text, 2, "second # TYPE"},
      {"# TYPE a blah\n", ExpositionFormat::prometheus_text, 1, "unknown metric type"},
      {"a 1\nb 1\na 2\n", ExpositionFormat::prometheus_text, 3, "appears twice"},
      {"a 1\n# TYPE a gauge\n", ExpositionFormat::prometheus_text, 2, "after its samples"},
      {"a 1\nb 2\xff\n", ExpositionFormat::prometheus_text, 2, "invalid UTF-8", FailureReason::invalid_utf8},
      {std::string("a 1\nb\0 2\n", 9), ExpositionFormat::prometheus_text, 2, "NUL byte", FailureReason::invalid_utf8},
      {"a{x=\"\xed\xa0\x80\"} 1\n", ExpositionFormat::prometheus_text, 1, "invalid UTF-8", FailureReason::invalid_utf8},
      {"a{x=\"\xc0\xaf\"} 1\n", ExpositionFormat::prometheus_text, 1, "invalid UTF-8", FailureReason::invalid_utf8},
      {"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_count 1\n", ExpositionFormat::prometheus_text, 2,
       "no le=\"+Inf\" bucket", FailureReason::missing_inf_bucket},
      {"# TYPE h histogram\nh_bucket{le=\"x\"} 1\n", ExpositionFormat::prometheus_text, 2, "invalid le"},
      {"a 1\n", OM, 1, "missing \"# EOF\""},
      {"a 1\n# EOF\nb 1\n", OM, 3, "content after # EOF"},
      {"a 1\n\n# EOF\n", OM, 2, "empty line"},
      {"# random comment\n# EOF\n", OM, 1, "unknown comment"},
      {"# TYPE c counter\nc 1\n# EOF\n", OM, 2, "must end in _total"},
      {"# TYPE h histogram\nh_total 1\n# EOF\n", OM, 2, "does not belong to histogram"},
      {"# TYPE a_seconds gauge\n# UNIT a_seconds bytes\n# EOF\n", OM, 2, "unit \"bytes\""},
      {"a 1 # {trace_id=\"" + std::string(130, 'x') + "\"} 1\n# EOF\n", OM, 1, "longer than 128"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.body);
    const ParseError e = parseErr(c.body, c.format);
    CHECK(e.line == c.line);
    CHECK_MESSAGE(e.message.find(c.says) != std::string::npos, e.message);
    CHECK(e.message.starts_with("line " + std::to_string(c.line) + ": "));
    CHECK(e.reason == c.reason);
  }
}

TEST_CASE("regression: a whitespace-only line is blank in 0.0.4 and an error in OpenMetrics, never a crash") {
  auto e = parseOk("a 1\n \t \nb 2\n ");
  CHECK(e.samples.size() == 2);
  const ParseError om = parseErr("a 1\n \n# EOF\n", OM);
  CHECK(om.line == 2);
  CHECK(om.message.find("expected a metric name") != std::string::npos);
}

TEST_CASE("a histogram's +Inf rule holds per label set") {
  const ParseError e = parseErr(
      "# TYPE h histogram\n"
      "h_bucket{path=\"/a\",le=\"1\"} 1\n"
      "h_bucket{path=\"/a\",le=\"+Inf\"} 1\n"
      "h_bucket{path=\"/b\",le=\"1\"} 1\n"
      "h_count{path=\"/b\"} 1\n");
  CHECK(e.line == 4);
  // Buckets need not be contiguous in 0.0.4, and label order does not matter.
  parseOk(
      "# TYPE h histogram\n"
      "h_bucket{le=\"1\",path=\"/a\"} 1\n"
      "h_bucket{path=\"/b\",le=\"1\"} 1\n"
      "h_bucket{path=\"/a\",le=\"+Inf\"} 1\n"
      "h_bucket{le=\"+Inf\",path=\"/b\"} 1\n");
}

TEST_CASE("limits fail the parse with their own reason") {
  ParseLimits limits;
  limits.max_samples = 2;
  auto r = parseExposition("a 1\nb 1\nc 1\n", ExpositionFormat::prometheus_text, limits);
  REQUIRE_FALSE(r);
  CHECK(r.error().reason == FailureReason::sample_limit);
  CHECK(r.error().line == 3);

  limits = {};
  limits.max_labels = 2;
  r = parseExposition("a{x=\"1\",y=\"2\",z=\"3\"} 1\n", ExpositionFormat::prometheus_text, limits);
  REQUIRE_FALSE(r);
  CHECK(r.error().reason == FailureReason::label_limit);

  limits = {};
  limits.max_label_name_length = 3;
  r = parseExposition("a{long=\"1\"} 1\n", ExpositionFormat::prometheus_text, limits);
  REQUIRE_FALSE(r);
  CHECK(r.error().reason == FailureReason::label_name_length_limit);

  limits = {};
  limits.max_label_value_length = 3;
  r = parseExposition("a{x=\"long\"} 1\n", ExpositionFormat::prometheus_text, limits);
  REQUIRE_FALSE(r);
  CHECK(r.error().reason == FailureReason::label_value_length_limit);
}

TEST_CASE("the pull parser exposes the raw series text that scrape caches key on") {
  TextParser p("x_total{a=\"1\",b=\"2\"} 7\ny 3\n", ExpositionFormat::prometheus_text);
  REQUIRE(p.next());
  CHECK(p.series() == "x_total{a=\"1\",b=\"2\"}");
  CHECK(p.name() == "x_total");
  CHECK(p.value() == 7);
  REQUIRE(p.next());
  CHECK(p.series() == "y");
  CHECK_FALSE(p.next());
  CHECK_FALSE(p.error());
}

TEST_CASE("a label set ends at its own brace wherever braces, quotes and backslashes fall in the line") {
  // The brace is looked for sixteen bytes at a time: each special character is tried at every offset in a block,
  // and at the line's short tail.
  for (std::size_t pad = 0; pad < 40; ++pad) {
    const std::string series = "m{a=\"" + std::string(pad, 'x') + "\",b=\"}\\\"{\\\\\",c=\"x}\"}";
    const std::string body = series + " 5\nn{d=\"" + std::string(pad, 'y') + "\"} 6\n";
    TextParser p(body, ExpositionFormat::prometheus_text);
    REQUIRE(p.next());
    CHECK(p.series() == series);
    CHECK(p.value() == 5);
    std::vector<Label> labels;
    REQUIRE(p.labels(labels));
    REQUIRE(labels.size() == 3);
    CHECK(labels[1].value == "}\"{\\");
    CHECK(labels[2].value == "x}");
    REQUIRE(p.next());
    CHECK(p.value() == 6);
    CHECK_FALSE(p.next());
    CHECK_FALSE(p.error());
    // Left open, the value or the set is an error of the line, not a read past it.
    for (const std::string& bad :
         {"m{a=\"" + std::string(pad, 'x') + "\\\"} 1\n", "m{a=\"" + std::string(pad, 'x') + "\" 1\n"}) {
      TextParser q(bad, ExpositionFormat::prometheus_text);
      CHECK_FALSE(q.next());
      REQUIRE(q.error());
      CHECK(q.error()->message.find("unterminated") != std::string::npos);
    }
  }
}

TEST_CASE("content type picks the format") {
  CHECK(formatFromContentType("application/openmetrics-text; version=1.0.0; charset=utf-8") == OM);
  CHECK(formatFromContentType("text/plain; version=0.0.4") == ExpositionFormat::prometheus_text);
  CHECK(formatFromContentType("") == ExpositionFormat::prometheus_text);
}
