// How a parsed sample maps onto the series store: its role (counter, gauge, histogram part) and the canonical
// text of a bucket bound, so that le="1" and le="1.0" name one series. Shared by the scrape and replay paths.
#pragma once

#include <string>

#include "ingest/text_parser.h"
#include "store/series_store.h"

namespace hotspotd::ingest {

store::SeriesRole seriesRole(MetricType type, SampleKind kind);

// "+Inf", "-Inf", or the shortest decimal that reads back as the same double ("1", "0.005", "2.5").
std::string canonicalBound(double bound);

}  // namespace hotspotd::ingest
