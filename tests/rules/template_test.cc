// Annotation templates as rule authors write them (Prometheus' syntax), the number formatting functions, the
// trace links built from exemplars, and the errors a typo gets when the rule loads.
#include <doctest/doctest.h>

#include <cmath>

#include "rules/rule_loader.h"
#include "rules/finding.h"
#include "rules/template.h"

using namespace hotspotd::rules;

namespace {

std::string render(std::string_view text, const TemplateData& data) {
  auto t = Template::parse(text);
  REQUIRE_MESSAGE(t, (t ? "" : t.error().message));
  return t->render(data);
}

}  // namespace

TEST_CASE("templates render labels, value, threshold, evidence and the alert's name and severity") {
  const OwnedLabels labels{{"method", "GET"}, {"route", "/checkout"}};
  const std::vector<std::pair<std::string, double>> evidence{{"confidence", 0.999912}, {"requests", 1234}};
  const TemplateData data{&labels, 0.73, 0.25, &evidence, "CheckoutSlow", "page"};
  CHECK(render("p99 of {{ $labels.route }} ({{.Labels.method}}) is {{ $value }}s, was {{ $threshold }}s", data) ==
        "p99 of /checkout (GET) is 0.73s, was 0.25s");
  CHECK(render("{{ $value | humanizeDuration }} over {{ $evidence.requests }} requests", data) ==
        "730ms over 1234 requests");
  CHECK(render("confidence {{ $evidence.confidence | printf \"%.3f\" }}", data) == "confidence 1.000");
  CHECK(render("{{ $alertname }}/{{ $severity }}: {{ $evidence.confidence | humanizePercentage }}", data) ==
        "CheckoutSlow/page: 99.99%");
  // A label or evidence the endpoint does not have renders as nothing, as in Prometheus.
  CHECK(render("[{{ $labels.zone }}][{{ $evidence.burn_rate }}]", data) == "[][]");
  CHECK(render("no actions at all", data) == "no actions at all");
}

TEST_CASE("template mistakes are errors that say what to write instead") {
  auto unknown = Template::parse("{{ $values }}");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message.find("unknown template expression \"$values\"") != std::string::npos);
  auto unclosed = Template::parse("p99 is {{ $value");
  REQUIRE_FALSE(unclosed);
  CHECK(unclosed.error().message.find("never closed") != std::string::npos);
  auto function = Template::parse("{{ $value | humanise }}");
  REQUIRE_FALSE(function);
  CHECK(function.error().message.find("unknown template function \"humanise\"") != std::string::npos);
  CHECK_FALSE(Template::parse("{{ $value | printf \"%s\" }}"));
  CHECK_FALSE(Template::parse("{{ $value | printf \"%f %f\" }}"));
  CHECK_FALSE(Template::parse("{{ $labels.route | humanize }}"));
}

TEST_CASE("a rule with a broken annotation template does not load, and the error names the key and line") {
  auto r = parseRules(R"([[rules]]
name = "Slow"
kind = "latency_drift"
histogram = "http_request_duration_seconds"
annotations = { summary = "p99 {{ $valu }}" }
)",
                      "rules.toml");
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("rules.toml:5") != std::string::npos);
  CHECK(r.error().message.find("annotations.summary") != std::string::npos);
}

TEST_CASE("humanize functions format as Prometheus' do") {
  CHECK(humanize(1234567) == "1.235M");
  CHECK(humanize(0.00123) == "1.23m");
  CHECK(humanize(12) == "12");
  CHECK(humanizeDuration(0.0042) == "4.2ms");
  CHECK(humanizeDuration(3725) == "1h 2m 5s");
  CHECK(humanizeDuration(90061) == "1d 1h 1m 1s");
  CHECK(humanizePercentage(0.0514) == "5.14%");
  CHECK(humanize(NAN) == "NaN");
}

TEST_CASE("trace links: exemplar labels go into the URL, percent-encoded; a template without one is refused") {
  const OwnedLabels exemplar{{"span_id", "ab"}, {"trace_id", "4bf92f3577b34da6"}};
  CHECK(expandTraceUrl("https://tempo.example/explore?traceId={{ trace_id }}", exemplar) ==
        "https://tempo.example/explore?traceId=4bf92f3577b34da6");
  CHECK(expandTraceUrl("https://j.example/trace/{{trace_id}}?uiFind={{ span_id }}", exemplar) ==
        "https://j.example/trace/4bf92f3577b34da6?uiFind=ab");
  CHECK(expandTraceUrl("https://x/{{ trace_id }}", {{"trace_id", "a b&c"}}) == "https://x/a%20b%26c");
  CHECK(expandTraceUrl("https://x/{{ trace_id }}", {{"span_id", "1"}}).empty());
  CHECK(checkTraceUrl("https://x/{{ trace_id }}"));
  CHECK_FALSE(checkTraceUrl("https://x/trace"));
  CHECK_FALSE(checkTraceUrl("https://x/{{ trace id }}"));
  CHECK_FALSE(checkTraceUrl("https://x/{{ trace_id"));
}
