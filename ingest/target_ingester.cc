#include "ingest/target_ingester.h"

#include "core/hash.h"
#include "ingest/series_desc.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include <fmt/format.h>

namespace hotspotd::ingest {

TargetIngester::TargetIngester(store::SeriesStore& store, store::GroupId group,
                               std::vector<std::pair<std::string, std::string>> target_labels)
    : store_(store), group_(group), target_labels_(std::move(target_labels)) {}

bool TargetIngester::resolveNew(const Pending& p, const Family& family, ExpositionFormat format,
                                const ParseLimits& limits, CacheValue& out) {
  // The sample's line again, alone: its labels are parsed and checked only now that the cache does not know it.
  TextParser parser(p.line, format, limits);
  if (!parser.next() || !parser.labels(labels_)) {
    const auto& e = parser.error();
    error_ = ParseError{
        e ? e->reason : FailureReason::parse_error, p.line_no,
        fmt::format("line {}: {}", p.line_no,
                    e ? e->message.substr(e->message.find(": ") + 2) : std::string("cannot parse the sample"))};
    return false;
  }

  store::SeriesDesc desc;
  desc.name = parser.name();
  desc.role = seriesRole(family.type, p.kind);
  renamed_.clear();
  renamed_.reserve(labels_.size() + 1);  // never reallocates: desc holds views into it
  for (const Label& l : labels_) {
    const bool clashes =
        std::any_of(target_labels_.begin(), target_labels_.end(), [&](const auto& t) { return t.first == l.name; });
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
        error_ = ParseError{FailureReason::parse_error, p.line_no,
                            fmt::format("line {}: histogram bucket without a valid le label", p.line_no)};
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
  if (!store_.valid(ref)) {
    // The store is full ([store] max_series): not stored, not cached, asked again at the next scrape.
    ++series_refused_;
    return true;
  }
  cache_.put(p.key, out);
  ++series_added_;
  return true;
}

tl::expected<IngestResult, ParseError> TargetIngester::ingest(std::string_view body, ExpositionFormat format,
                                                              std::int64_t t_ms, const ParseLimits& limits) {
  TextParser parser(body, format, limits);
  // The per-scrape buffers are released after each successful scrape (below): between scrapes a target holds only
  // its cache. A failed scrape may leave them filled, so they start empty here.
  pending_.clear();
  batch_.clear();
  exemplars_.clear();
  pending_.reserve(last_samples_);
  batch_.reserve(last_samples_);
  series_added_ = 0;
  series_refused_ = 0;
  error_.reset();
  while (parser.next()) {
    const SampleKind kind = parser.kind();
    if (kind == SampleKind::created) continue;  // creation timestamps are not values to watch
    // Exemplars on buckets are real slow requests an incident can point at (their labels are copied now: the
    // parser reuses its buffers).
    if (kind == SampleKind::bucket && parser.exemplar()) {
      const Exemplar& ex = *parser.exemplar();
      store::Exemplar copy;
      for (const Label& l : ex.labels) copy.labels.emplace_back(std::string(l.name), std::string(l.value));
      copy.value = ex.value;
      copy.t_ms = ex.timestamp_ms.value_or(t_ms);
      exemplars_.emplace_back(pending_.size(), std::move(copy));
    }
    pending_.push_back(Pending{hashBytes(parser.series()), parser.value(), parser.lineText(),
                               static_cast<std::uint32_t>(parser.familyIndex()), kind, parser.line()});
  }
  if (parser.error()) return tl::unexpected(*parser.error());

  constexpr std::size_t kAhead = 8;
  HistogramCheck histograms;
  const std::vector<Family>& families = parser.families();
  for (std::size_t i = 0; i < pending_.size(); ++i) {
    if (i + kAhead < pending_.size()) cache_.prefetch(pending_[i + kAhead].key);
    const Pending& p = pending_[i];
    CacheValue v = cache_.find(p.key);
    if (v == decltype(cache_)::kNone || !store_.valid(store::SeriesRef{v.id, v.generation})) {
      if (!resolveNew(p, families[p.family], format, limits, v)) return tl::unexpected(*error_);
    }
    if (v.histogram != store::kNoId && p.kind == SampleKind::bucket)
      histograms.bucket(v.histogram, v.inf != 0, p.line_no);
    batch_.push_back(store::StagedSample{store::SeriesRef{v.id, v.generation}, p.value});
  }
  // A histogram whose +Inf bucket the store refused (max_series) is not a malformed body: the series the store
  // holds are stored, the scrape does not fail.
  if (auto missing = histograms.finish(); missing && series_refused_ == 0) return tl::unexpected(*missing);
  IngestResult result;
  result.samples = batch_.size();
  result.series_added = series_added_;
  result.series_refused = series_refused_;
  result.commit = store_.commit(group_, t_ms, batch_);
  if (result.commit.stale_dropped > 0) {
    // Series that went stale leave the cache with them: under label churn it holds what the store holds.
    cache_.eraseIf([this](const CacheValue& v) { return !store_.valid(store::SeriesRef{v.id, v.generation}); });
  }
  for (auto& [index, exemplar] : exemplars_) store_.setExemplar(batch_[index].ref, std::move(exemplar));
  exemplars_.clear();
  last_samples_ = batch_.size();
  std::vector<Pending>().swap(pending_);
  std::vector<store::StagedSample>().swap(batch_);
  return result;
}

}  // namespace hotspotd::ingest
