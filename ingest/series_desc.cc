#include "ingest/series_desc.h"

#include <cmath>

#include <fmt/format.h>

namespace hotspotd::ingest {

store::SeriesRole seriesRole(MetricType type, SampleKind kind) {
  switch (kind) {
    case SampleKind::total: return store::SeriesRole::counter;
    case SampleKind::bucket:
      return type == MetricType::histogram ? store::SeriesRole::bucket : store::SeriesRole::gauge;
    case SampleKind::sum: return store::SeriesRole::sum;
    case SampleKind::count: return store::SeriesRole::count;
    case SampleKind::value: return type == MetricType::counter ? store::SeriesRole::counter : store::SeriesRole::gauge;
    default: return store::SeriesRole::gauge;
  }
}

std::string canonicalBound(double bound) {
  if (std::isinf(bound)) return bound > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", bound);
}

}  // namespace hotspotd::ingest
