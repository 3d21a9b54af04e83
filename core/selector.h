// PromQL series selectors: `name{label="v", label!="v", label=~"re", label!~"re"}`, with `{__name__=...}` and
// label-only forms. Regexes are RE2 (Prometheus' syntax, linear time) and fully anchored, as in PromQL. As in
// PromQL, a label a series does not have matches as the empty string, so `x!=""` requires x and `x=~".*"` does
// not. Parsed once (rule load), then matched from any thread: a Selector is immutable.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace re2 {
class RE2;
}

namespace hotspotd {

using LabelView = std::vector<std::pair<std::string_view, std::string_view>>;

struct Matcher {
  enum class Op { eq, ne, re, nre };
  std::string name;
  Op op = Op::eq;
  std::string value;
  std::shared_ptr<const re2::RE2> regex;  // for re and nre

  bool matches(std::string_view v) const;
  std::string str() const;
};

Result<Matcher> makeMatcher(std::string name, Matcher::Op op, std::string value);

struct Selector {
  std::vector<Matcher> matchers;  // the metric name, if given, is a __name__ equality matcher

  // The metric name the selector pins, if it has an equality matcher on __name__.
  std::string_view metricName() const;
  bool matches(std::string_view name, const LabelView& labels) const;
  std::string str() const;
};

// The PromQL selector of the series a histogram selector stands for: its family's _bucket, _count and _sum series,
// as a query source is asked for them ({__name__=~"lat_seconds_(bucket|count|sum)",job="shop"} for
// lat_seconds{job="shop"}; a regex on the family name keeps its meaning on the family part).
std::string histogramSeriesSelector(const Selector& histogram);

// Parses a selector. The error says what is wrong and at which character.
Result<Selector> parseSelector(std::string_view text);

}  // namespace hotspotd
