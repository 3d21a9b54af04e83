#include <doctest/doctest.h>

#include "rules/rule_loader.h"
#include "tests/support/temp_dir.h"

using namespace hotspotd;
using namespace hotspotd::rules;
using namespace std::chrono_literals;

TEST_CASE("a rule file is read with every field") {
  auto r = parseRules(R"(
[[rules]]
name = "CheckoutSlow"
kind = "latency_drift"
histogram = 'http_request_duration_seconds{service="shop",route=~"/api/.*"}'
by = ["service", "route"]
quantile = 0.95
window = "3m"
baseline = "2h"
sensitivity = 3
confidence = 0.999
min_rate = 2
min_excess = 0.02
for = "2m"
keep_firing_for = "10m"
severity = "ticket"
profile = "shop"
labels = { team = "payments" }
annotations = { summary = "Checkout is slow" }
)",
                      "shop.toml");
  REQUIRE_MESSAGE(r, r.error().message);
  REQUIRE(r->size() == 1);
  const Rule& rule = r->front();
  CHECK(rule.name == "CheckoutSlow");
  CHECK(rule.histogram.metricName() == "http_request_duration_seconds");
  CHECK(rule.by == std::vector<std::string>{"service", "route"});
  CHECK_FALSE(rule.by_all);
  CHECK(rule.drift.quantile == 0.95);
  CHECK(rule.drift.window == 3min);
  CHECK(rule.drift.baseline == 2h);
  CHECK(rule.drift.sensitivity == 3);
  CHECK(rule.drift.min_excess == 0.02);
  CHECK(rule.drift.minExcess() == 0.02);
  CHECK(defaultRules().front().drift.minExcess() == doctest::Approx(0.005));  // half of p99's 1%
  CHECK(rule.for_duration == 2min);
  CHECK(rule.keep_firing_for == 10min);
  CHECK(rule.severity == "ticket");
  CHECK(rule.profile == "shop");
  CHECK(rule.labels.at("team") == "payments");
  CHECK(rule.annotations.at("summary") == "Checkout is slow");
  CHECK(rule.source == "shop.toml:2");
}

TEST_CASE("rule mistakes are reported with file, line and key") {
  auto r = parseRules(R"(
[[rules]]
name = "A"
kind = "latency_drift"
histogram = 'x{a="1"'
[[rules]]
name = "A"
kind = "magic"
histogram = "y"
quantlie = 0.9
[[rules]]
kind = "latency_drift"
histogram = "z"
by = ["le"]
)",
                      "r.toml");
  REQUIRE_FALSE(r);
  const std::string& e = r.error().message;
  CHECK(e.find("r.toml:5:13: rules[0].histogram: invalid selector") != std::string::npos);
  CHECK(e.find("rules[1].name: rule \"A\" is defined twice") != std::string::npos);
  CHECK(e.find("rules[1].kind: \"magic\" is not a kind this version judges") != std::string::npos);
  CHECK(e.find("rules[1].quantlie: unknown key") != std::string::npos);
  CHECK(e.find("rules[2].name: missing") != std::string::npos);
  CHECK(e.find("rules[2].by: le is a bucket") != std::string::npos);
}

TEST_CASE("a rules directory loads every *.toml file and refuses a name used twice across files") {
  test::TempDir dir;
  dir.write("a.toml", "[[rules]]\nname = \"A\"\nkind = \"latency_drift\"\nhistogram = \"x_seconds\"\n");
  dir.write("b.toml", "[[rules]]\nname = \"B\"\nkind = \"latency_drift\"\nhistogram = \"y_seconds\"\n");
  dir.write("notes.txt", "not a rule file");
  auto r = loadRules(dir.path());
  REQUIRE_MESSAGE(r, r.error().message);
  CHECK(r->size() == 2);
  dir.write("c.toml", "[[rules]]\nname = \"A\"\nkind = \"latency_drift\"\nhistogram = \"z_seconds\"\n");
  auto dup = loadRules(dir.path());
  REQUIRE_FALSE(dup);
  CHECK(dup.error().message.find("rule \"A\" is also defined in another file") != std::string::npos);
}

TEST_CASE("the zero-config default watches every *_seconds histogram by all labels but le and instance") {
  const auto rules = defaultRules();
  REQUIRE(rules.size() == 1);
  CHECK(rules[0].by_all);
  CHECK(rules[0].histogram.matches("http_request_duration_seconds", {}));
  CHECK_FALSE(rules[0].histogram.matches("http_request_size_bytes", {}));
}

TEST_CASE("burn_rate rules take an availability or a latency SLI, with the workbook windows by default") {
  auto r = parseRules(R"(
[[rules]]
name = "Availability"
kind = "burn_rate"
objective = 0.995
errors = 'http_requests_total{code=~"5.."}'
total = 'http_requests_total'

[[rules]]
name = "Latency"
kind = "burn_rate"
histogram = "http_request_duration_seconds"
threshold = 0.25
windows = [{ long = "30m", short = "5m", factor = 10, severity = "page" }]
)",
                      "slo.toml");
  REQUIRE_MESSAGE(r, r.error().message);
  const Rule& a = (*r)[0];
  CHECK(a.kind == RuleKind::burn_rate);
  CHECK(a.burn.objective == 0.995);
  REQUIRE(a.burn.errors);
  CHECK(a.burn.windows.size() == 4);
  CHECK(a.burn.windows[0].factor == 14.4);
  CHECK(a.burn.windows[0].long_window == 1h);
  CHECK(a.burn.windows[3].severity == "ticket");
  CHECK(a.for_duration == 0s);
  const Rule& l = (*r)[1];
  CHECK(l.burn.threshold == 0.25);
  REQUIRE(l.burn.windows.size() == 1);
  CHECK(l.burn.windows[0].short_window == 5min);

  auto bad = parseRules(R"(
[[rules]]
name = "A"
kind = "burn_rate"
errors = 'x_total{code="500"}'

[[rules]]
name = "B"
kind = "burn_rate"
errors = 'x_total'
total = 'y_total'
histogram = 'z_seconds'
threshold = 1
windows = [{ long = "5m", short = "1h" }]
)",
                        "slo.toml");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("rules[0].total: missing (an availability SLI needs both errors and total)") !=
        std::string::npos);
  CHECK(bad.error().message.find("rules[1].errors: a burn_rate rule takes either") != std::string::npos);
  CHECK(bad.error().message.find("rules[1].windows[0].short: longer than the long window") != std::string::npos);
}

TEST_CASE("the shipped example rules are valid") {
  auto r = loadRules(HOTSPOTD_SOURCE_DIR "/etc/rules/examples.toml");
  REQUIRE_MESSAGE(r, r.error().message);
  CHECK(r->size() == 6);
}

TEST_CASE("latency_threshold and threshold rules are read and checked") {
  auto r = parseRules(R"(
[[rules]]
name = "Slow"
kind = "latency_threshold"
histogram = "http_request_duration_seconds"
quantile = 0.95
window = "10m"
above = "750ms"

[[rules]]
name = "CPU"
kind = "threshold"
counter = 'process_cpu_seconds_total'
above = 0.9
below = 0.01
)",
                      "t.toml");
  REQUIRE_MESSAGE(r, r.error().message);
  CHECK((*r)[0].kind == RuleKind::latency_threshold);
  CHECK((*r)[0].threshold.above == 0.75);
  CHECK((*r)[0].threshold.window == 10min);
  CHECK((*r)[1].threshold.counter.has_value());
  CHECK((*r)[1].threshold.below == 0.01);

  auto bad = parseRules(R"(
[[rules]]
name = "A"
kind = "latency_threshold"
histogram = "x_seconds"

[[rules]]
name = "B"
kind = "threshold"
gauge = "g"
counter = "c_total"
)",
                        "t.toml");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("rules[0].above: missing") != std::string::npos);
  CHECK(bad.error().message.find("rules[1].gauge: a threshold rule takes either a gauge or a counter") !=
        std::string::npos);
  CHECK(bad.error().message.find("rules[1].above: missing (give above, below, or both)") != std::string::npos);
}
