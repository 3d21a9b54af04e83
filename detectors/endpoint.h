// What an endpoint is, for every detector: the labels a rule's `by` keeps of a series or histogram (by default
// every label but those the kind drops: le always, instance for latency, code and status for error ratios), and a
// map key made of them. Pure; any thread.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <string>
#include <string_view>

#include "rules/finding.h"
#include "rules/rule.h"
#include "store/series_store.h"

namespace hotspotd::detectors {

inline rules::OwnedLabels endpointLabels(const rules::Rule& rule, const store::LabelPairs& labels,
                                         std::initializer_list<std::string_view> dropped_by_default) {
  rules::OwnedLabels out;
  for (const auto& [k, v] : labels) {
    const bool keep =
        rule.by_all ? std::find(dropped_by_default.begin(), dropped_by_default.end(), k) == dropped_by_default.end()
                    : std::find(rule.by.begin(), rule.by.end(), k) != rule.by.end();
    if (keep) out.emplace_back(std::string(k), std::string(v));
  }
  return out;
}

// The endpoint of a histogram. When the rule's selector does not pin one metric name (the zero-config rule takes
// every *_seconds histogram), the histogram's name is part of the endpoint, as the label `histogram`: two
// families with the same labels (an HTTP and a database histogram by route, say) are two endpoints, never summed.
inline rules::OwnedLabels histogramEndpointLabels(const rules::Rule& rule, const Selector& selector,
                                                  const store::HistogramView& h,
                                                  std::initializer_list<std::string_view> dropped_by_default) {
  rules::OwnedLabels out = endpointLabels(rule, h.labels, dropped_by_default);
  if (!selector.metricName().empty()) return out;
  const auto at = std::lower_bound(out.begin(), out.end(), std::string_view("histogram"),
                                   [](const auto& label, std::string_view name) { return label.first < name; });
  if (at == out.end() || at->first != "histogram") out.insert(at, {"histogram", std::string(h.name)});
  return out;
}

inline std::string endpointKey(const rules::OwnedLabels& labels) {
  std::string key;
  for (const auto& [k, v] : labels) {
    key += k;
    key += '\xff';
    key += v;
    key += '\xfe';
  }
  return key;
}

}  // namespace hotspotd::detectors
