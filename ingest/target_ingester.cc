#include "ingest/target_ingester.h"

#include "ingest/series_desc.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include <fmt/format.h>

namespace hotspotd::ingest {

TargetIngester::TargetIngester(store::SeriesStore& store, store::GroupId group,
                               std::vector<std::pair<std::string, std::string>> target_labels)
    : store_(store), group_(group), target_labels_(std::move(target_labels)) {}

bool TargetIngester::resolveNew(TextParser& parser, std::uint64_t key, CacheValue& out) {
  if (!parser.labels(labels_)) return false;
  const Family& family = parser.family();
  store::SeriesDesc desc;
  desc.name = parser.name();
  desc.role = seriesRole(family.type, parser.kind());
  renamed_.clear();
  renamed_.reserve(labels_.size() + 1);  // never reallocates: desc holds views into it
  for (const Label& l : labels_) {
    const bool clashes = std::any_of(target_labels_.begin(), target_labels_.end(),
                                     [&](const auto& t) { return t.first == l.name; });
    if (clashes) {
      renamed_.push_back(fmt::format("exported_{}", l.name));
      desc.labels.emplace_back(renamed_.back(), l.value);
    } else {
      desc.labels.emplace_back(l.name, l.value);
    }
  }
  for (const auto& [n, v] : target_labels_) desc.labels.emplace_back(n, v);
  bool inf = false;
  if (family.type == MetricType::histogram &&
      (desc.role == store::SeriesRole::bucket || desc.role == store::SeriesRole::sum ||
       desc.role == store::SeriesRole::count)) {
    desc.histogram = family.name;
    if (desc.role == store::SeriesRole::bucket) {
      auto le = std::find_if(labels_.begin(), labels_.end(), [](const Label& l) { return l.name == "le"; });
      std::optional<double> bound = le != labels_.end() ? TextParser::parseFloat(le->value) : std::nullopt;
      if (!bound || std::isnan(*bound)) {
        error_ = ParseError{FailureReason::parse_error, parser.line(),
                            fmt::format("line {}: histogram bucket without a valid le label", parser.line())};
        return false;
      }
      desc.bound = *bound;
      inf = std::isinf(*bound) && *bound > 0;
      // Normalise le so that "1" and "1.0" are one series.
      for (auto& [n, v] : desc.labels) {
        if (n == "le") {
          renamed_.push_back(canonicalBound(*bound));
          v = renamed_.back();
        }
      }
    }
  }
  const store::SeriesRef ref = store_.resolve(group_, desc);
  out = CacheValue{ref.id, ref.generation, store_.histogramOf(ref), inf ? 1u : 0u};
  cache_.put(key, out);
  ++series_added_;
  return true;
}

tl::expected<IngestResult, ParseError> TargetIngester::ingest(std::string_view body, ExpositionFormat format,
                                                               std::int64_t t_ms, const ParseLimits& limits) {
  TextParser parser(body, format, limits);
  batch_.clear();
  series_added_ = 0;
  error_.reset();
  HistogramCheck histograms;
  const std::hash<std::string_view> hasher;
  while (parser.next()) {
    const SampleKind kind = parser.kind();
    if (kind == SampleKind::created) continue;  // creation timestamps are not values to watch
    const std::uint64_t key = hasher(parser.series());
    CacheValue v = cache_.find(key);
    if (v == decltype(cache_)::kNone || !store_.valid(store::SeriesRef{v.id, v.generation})) {
      if (!resolveNew(parser, key, v)) break;
    }
    if (v.histogram != store::kNoId && kind == SampleKind::bucket) histograms.bucket(v.histogram, v.inf != 0, parser.line());
    batch_.push_back(store::StagedSample{store::SeriesRef{v.id, v.generation}, parser.value()});
  }
  if (error_) return tl::unexpected(*error_);
  if (parser.error()) return tl::unexpected(*parser.error());
  if (auto missing = histograms.finish()) return tl::unexpected(*missing);
  IngestResult result;
  result.samples = batch_.size();
  result.series_added = series_added_;
  result.commit = store_.commit(group_, t_ms, batch_);
  return result;
}

}  // namespace hotspotd::ingest
