#include "detectors/series_match.h"

#include <algorithm>
#include <map>

#include "detectors/endpoint.h"

namespace hotspotd::detectors {
namespace {

// The endpoint of `key_labels` among those grouped so far, made on first sight.
MatchedEndpoint& endpointOf(std::map<std::string, MatchedEndpoint>& grouped, rules::OwnedLabels key_labels) {
  std::string key = endpointKey(key_labels);
  MatchedEndpoint& ep = grouped[key];
  if (ep.key.empty()) {
    ep.key = std::move(key);
    ep.labels = std::move(key_labels);
  }
  return ep;
}

}  // namespace

const std::vector<MatchedEndpoint>& SeriesMatch::endpoints(const store::SeriesStore& store, const rules::Rule& rule,
                                                           const Selector& first, const Selector* second,
                                                           std::initializer_list<std::string_view> dropped) {
  if (version_ == store.seriesVersion()) return endpoints_;
  std::map<std::string, MatchedEndpoint> grouped;
  auto visit = [&](store::SeriesId id, std::string_view name, const store::LabelPairs& labels) {
    const bool in_first = first.matches(name, labels);
    const bool in_second = second != nullptr && second->matches(name, labels);
    if (!in_first && !in_second) return;
    MatchedEndpoint& ep = endpointOf(grouped, endpointLabels(rule, labels, dropped));
    if (in_first) ep.first.push_back(id);
    if (in_second) ep.second.push_back(id);
  };
  // Only the series of the names the selectors pin; every series when one of them pins none.
  const std::string_view first_name = first.metricName();
  const std::string_view second_name = second != nullptr ? second->metricName() : first_name;
  if (first_name.empty() || second_name.empty()) {
    store.forEachSeries(visit);
  } else {
    store.forEachSeriesNamed(first_name, visit);
    if (second_name != first_name) store.forEachSeriesNamed(second_name, visit);
  }
  endpoints_.clear();
  endpoints_.reserve(grouped.size());
  for (auto& entry : grouped) {
    // In the store's order, as a walk over every series gives them (sums come out the same to the last bit).
    std::sort(entry.second.first.begin(), entry.second.first.end());
    std::sort(entry.second.second.begin(), entry.second.second.end());
    endpoints_.push_back(std::move(entry.second));
  }
  version_ = store.seriesVersion();
  return endpoints_;
}

const std::vector<MatchedEndpoint>& HistogramMatch::endpoints(const store::SeriesStore& store, const rules::Rule& rule,
                                                              const Selector& selector,
                                                              std::initializer_list<std::string_view> dropped) {
  if (version_ == store.histogramsVersion()) return endpoints_;
  std::map<std::string, MatchedEndpoint> grouped;
  store.forEachHistogram([&](const store::HistogramView& h) {
    if (!selector.matches(h.name, h.labels)) return;
    // forEachHistogram goes in id order.
    endpointOf(grouped, histogramEndpointLabels(rule, selector, h, dropped)).first.push_back(h.id);
  });
  endpoints_.clear();
  endpoints_.reserve(grouped.size());
  for (auto& entry : grouped) endpoints_.push_back(std::move(entry.second));
  version_ = store.histogramsVersion();
  return endpoints_;
}

const MatchedEndpoint* SeriesMatch::find(std::string_view key) const {
  const auto at = std::lower_bound(endpoints_.begin(), endpoints_.end(), key,
                                   [](const MatchedEndpoint& ep, std::string_view k) { return ep.key < k; });
  return at != endpoints_.end() && at->key == key ? &*at : nullptr;
}

}  // namespace hotspotd::detectors
