// A whole exposition parsed into owned values: for tests, golden files, the replay reader and anything else that
// wants every sample with its labels rather than the scrape loop's cached fast path. Applies every check the
// parser makes plus the +Inf bucket rule. Pure; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include "ingest/text_parser.h"

namespace hotspotd::ingest {

using OwnedLabels = std::vector<std::pair<std::string, std::string>>;

struct ParsedSample {
  std::string family;
  MetricType type = MetricType::unknown;
  SampleKind kind = SampleKind::value;
  std::string name;
  OwnedLabels labels;  // as written, `le` and `quantile` included
  double value = 0;
  std::optional<std::int64_t> timestamp_ms;
  std::optional<OwnedLabels> exemplar_labels;
  double exemplar_value = 0;
  std::optional<std::int64_t> exemplar_timestamp_ms;
};

struct ParsedExposition {
  std::vector<Family> families;  // names view into the body given to parseExposition
  std::vector<ParsedSample> samples;
};

tl::expected<ParsedExposition, ParseError> parseExposition(std::string_view body, ExpositionFormat format,
                                                           const ParseLimits& limits = {});

// A stable 64-bit hash of a series' identity without one label (`le` for histogram buckets): the metric name
// and the other labels in sorted order.
std::uint64_t hashLabelsWithout(std::string_view name, const std::vector<Label>& labels, std::string_view skip);

}  // namespace hotspotd::ingest
