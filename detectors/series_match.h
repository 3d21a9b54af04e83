// The endpoints of a rule and their series or histograms, as its selectors match them, kept until the store's
// series change (SeriesStore::seriesVersion; histogramsVersion for histograms): between two changes an evaluation
// reads no labels and allocates nothing to find what it judges. A counter or gauge selector that pins its metric
// name visits only the series of that name (the store's name index), not every series the store holds. Used from
// the thread that owns the store.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "core/selector.h"
#include "rules/finding.h"
#include "rules/rule.h"
#include "store/series_store.h"

namespace hotspotd::detectors {

struct MatchedEndpoint {
  std::string key;                    // endpointKey(labels)
  rules::SharedLabels labels;         // shared with the findings, not copied at each evaluation
  std::vector<std::uint32_t> first;   // the series the first selector matches (histograms: the histograms)
  std::vector<std::uint32_t> second;  // the series the second selector matches (none without one)
};

class SeriesMatch {
 public:
  // The endpoints (the rule's `by` labels, else every label but `dropped`) with a series either selector matches,
  // ordered by key. `second` may be null. The same rule, selectors and dropped labels at every call.
  const std::vector<MatchedEndpoint>& endpoints(const store::SeriesStore& store, const rules::Rule& rule,
                                                const Selector& first, const Selector* second,
                                                std::initializer_list<std::string_view> dropped);
  // The endpoint of `key` among the last endpoints() returned, if any.
  const MatchedEndpoint* find(std::string_view key) const;

 private:
  std::uint64_t version_ = 0;  // store versions start at 1: 0 is never current
  std::vector<MatchedEndpoint> endpoints_;
};

class HistogramMatch {
 public:
  // The endpoints (histogramEndpointLabels) with a histogram `selector` matches, their histograms in `first` in
  // the store's order, ordered by key; kept until the store's histograms or layouts change. The same rule,
  // selector and dropped labels at every call.
  const std::vector<MatchedEndpoint>& endpoints(const store::SeriesStore& store, const rules::Rule& rule,
                                                const Selector& selector,
                                                std::initializer_list<std::string_view> dropped);

 private:
  std::uint64_t version_ = 0;
  std::vector<MatchedEndpoint> endpoints_;
};

}  // namespace hotspotd::detectors
