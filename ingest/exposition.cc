#include "ingest/exposition.h"

#include <algorithm>
#include <cmath>

namespace hotspotd::ingest {
namespace {

constexpr std::uint64_t kFnvOffset = 1469598103934665603ULL;
constexpr std::uint64_t kFnvPrime = 1099511628211ULL;

void mix(std::uint64_t& h, std::string_view s) {
  for (unsigned char c : s) h = (h ^ c) * kFnvPrime;
  h = (h ^ 0xFF) * kFnvPrime;  // separator: "ab","c" must differ from "a","bc"
}

}  // namespace

std::uint64_t hashLabelsWithout(std::string_view name, const std::vector<Label>& labels, std::string_view skip) {
  std::vector<const Label*> sorted;
  sorted.reserve(labels.size());
  for (const Label& l : labels) {
    if (l.name != skip) sorted.push_back(&l);
  }
  std::sort(sorted.begin(), sorted.end(), [](const Label* a, const Label* b) { return a->name < b->name; });
  std::uint64_t h = kFnvOffset;
  mix(h, name);
  for (const Label* l : sorted) {
    mix(h, l->name);
    mix(h, l->value);
  }
  return h;
}

tl::expected<ParsedExposition, ParseError> parseExposition(std::string_view body, ExpositionFormat format,
                                                           const ParseLimits& limits) {
  TextParser parser(body, format, limits);
  ParsedExposition out;
  HistogramCheck histograms;
  std::vector<Label> labels;
  while (parser.next()) {
    if (!parser.labels(labels)) break;
    ParsedSample s;
    s.family = std::string(parser.family().name);
    s.type = parser.family().type;
    s.kind = parser.kind();
    s.name = std::string(parser.name());
    for (const Label& l : labels) s.labels.emplace_back(std::string(l.name), std::string(l.value));
    s.value = parser.value();
    s.timestamp_ms = parser.timestampMs();
    if (const auto& ex = parser.exemplar()) {
      OwnedLabels el;
      for (const Label& l : ex->labels) el.emplace_back(std::string(l.name), std::string(l.value));
      s.exemplar_labels = std::move(el);
      s.exemplar_value = ex->value;
      s.exemplar_timestamp_ms = ex->timestamp_ms;
    }
    if (s.kind == SampleKind::bucket) {
      auto le = std::find_if(labels.begin(), labels.end(), [](const Label& l) { return l.name == "le"; });
      if (le == labels.end()) {
        return tl::unexpected(ParseError{FailureReason::parse_error, parser.line(),
                                         "line " + std::to_string(parser.line()) + ": bucket without an le label"});
      }
      const auto bound = TextParser::parseFloat(le->value);
      if (!bound) {
        return tl::unexpected(
            ParseError{FailureReason::parse_error, parser.line(),
                       "line " + std::to_string(parser.line()) + ": invalid le \"" + std::string(le->value) + "\""});
      }
      histograms.bucket(hashLabelsWithout(parser.family().name, labels, "le"), std::isinf(*bound) && *bound > 0,
                        parser.line());
    }
    out.samples.push_back(std::move(s));
  }
  if (parser.error()) return tl::unexpected(*parser.error());
  if (auto missing = histograms.finish()) return tl::unexpected(*missing);
  out.families = parser.families();
  return out;
}

}  // namespace hotspotd::ingest
