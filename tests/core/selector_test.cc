#include <doctest/doctest.h>

#include "core/selector.h"

using hotspotd::LabelView;
using hotspotd::parseSelector;

TEST_CASE("selectors parse the PromQL forms and match as PromQL does") {
  auto s =
      parseSelector(R"(http_request_duration_seconds{route=~"/api/.*", method!="OPTIONS", code!~"5..", job="shop"})");
  REQUIRE_MESSAGE(s, s.error().message);
  CHECK(s->metricName() == "http_request_duration_seconds");
  const LabelView ok{{"route", "/api/cart"}, {"method", "GET"}, {"code", "200"}, {"job", "shop"}};
  CHECK(s->matches("http_request_duration_seconds", ok));
  CHECK_FALSE(s->matches("other", ok));
  CHECK_FALSE(s->matches("http_request_duration_seconds",
                         LabelView{{"route", "/health"}, {"method", "GET"}, {"code", "200"}, {"job", "shop"}}));
  CHECK_FALSE(s->matches("http_request_duration_seconds",
                         LabelView{{"route", "/api/x"}, {"method", "GET"}, {"code", "503"}, {"job", "shop"}}));
}

TEST_CASE("regexes are fully anchored") {
  auto s = parseSelector(R"(m{route=~"/api"})");
  REQUIRE(s);
  CHECK(s->matches("m", LabelView{{"route", "/api"}}));
  CHECK_FALSE(s->matches("m", LabelView{{"route", "/api/cart"}}));
  CHECK_FALSE(s->matches("m", LabelView{{"route", "x/api"}}));
}

TEST_CASE("a missing label matches as the empty string") {
  auto required = parseSelector(R"(m{zone!=""})");
  REQUIRE(required);
  CHECK_FALSE(required->matches("m", LabelView{}));
  CHECK(required->matches("m", LabelView{{"zone", "a"}}));
  auto any = parseSelector(R"(m{zone=~".*"})");
  REQUIRE(any);
  CHECK(any->matches("m", LabelView{}));
}

TEST_CASE("label-only selectors, __name__ matchers and the three quote styles") {
  auto s = parseSelector(R"({__name__=~"http_.*_seconds", job='a', path=`C:\dir`})");
  REQUIRE_MESSAGE(s, s.error().message);
  CHECK(s->metricName().empty());
  CHECK(s->matches("http_request_duration_seconds", LabelView{{"job", "a"}, {"path", "C:\\dir"}}));
  CHECK(s->str() == R"({__name__=~"http_.*_seconds",job="a",path="C:\\dir"})");
  CHECK(parseSelector("up")->str() == "up");
}

TEST_CASE("bad selectors say what and where") {
  struct Case {
    const char* text;
    const char* says;
  };
  for (const Case& c :
       {Case{"m{a=\"1\"", "expected ',' or '}'"}, Case{"m{", "unclosed '{'"},
        Case{"m{a~\"1\"}", "expected =, !=, =~ or !~"}, Case{"m{a=1}", "expected a quoted value"},
        Case{"m{a=\"1\" b=\"2\"}", "expected ',' or '}'"}, Case{"m{a=~\"(\"}", "invalid regular expression"},
        Case{"{a=\"\"}", "match every series"}, Case{"m x", "unexpected text"}, Case{"", "needs a metric name"},
        Case{"m{a=\"\\q\"}", "unknown escape"}}) {
    CAPTURE(c.text);
    auto r = parseSelector(c.text);
    REQUIRE_FALSE(r);
    CHECK_MESSAGE(r.error().message.find(c.says) != std::string::npos, r.error().message);
  }
  CHECK(parseSelector("m{a~\"1\"}").error().message.find("at character 4") != std::string::npos);
}

TEST_CASE("a histogram selector becomes the selector of its _bucket, _count and _sum series, as a query asks") {
  auto sel = [](std::string_view text) { return histogramSeriesSelector(parseSelector(text).value()); };
  CHECK(sel(R"x(http_request_duration_seconds{job="shop",route=~"/api/.*"})x") ==
        R"x({__name__=~"http_request_duration_seconds_(bucket|count|sum)",job="shop",route=~"/api/.*"})x");
  CHECK(sel(R"x({__name__=~".+_seconds"})x") == R"x({__name__=~"(.+_seconds)_(bucket|count|sum)"})x");
  CHECK(sel(R"x({job="shop"})x") == R"x({__name__=~".+_(bucket|count|sum)",job="shop"})x");
  // What the query selects is what the rule's selector matches, part by part.
  const auto back = parseSelector(sel(R"x(lat_seconds{job="shop"})x")).value();
  CHECK(back.matches("lat_seconds_bucket", {{"job", "shop"}, {"le", "0.1"}}));
  CHECK(back.matches("lat_seconds_count", {{"job", "shop"}}));
  CHECK_FALSE(back.matches("lat_seconds_created", {{"job", "shop"}}));
  CHECK_FALSE(back.matches("other_seconds_bucket", {{"job", "shop"}}));
  CHECK_FALSE(back.matches("lat_seconds_bucket", {{"job", "cart"}}));
}
