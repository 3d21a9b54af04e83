#include "detectors/exemplars.h"

#include <algorithm>

#include "detectors/endpoint.h"

namespace hotspotd::detectors {

std::optional<double> slowBound(const rules::Rule& rule, const rules::IncidentEvent& firing) {
  switch (rule.kind) {
    case rules::RuleKind::latency_drift:
      for (const auto& [k, v] : firing.evidence) {
        if (k == "bound_seconds") return v;
      }
      return std::nullopt;
    case rules::RuleKind::latency_threshold: return rule.threshold.above;
    case rules::RuleKind::burn_rate:
      if (rule.burn.histogram) return rule.burn.threshold;
      return std::nullopt;
    case rules::RuleKind::threshold:
    case rules::RuleKind::anomaly: return std::nullopt;
  }
  return std::nullopt;
}

std::vector<store::Exemplar> slowExemplars(const rules::Rule& rule, const store::SeriesStore& store,
                                           const rules::OwnedLabels& endpoint, double bound, std::int64_t since_ms) {
  const bool burn = rule.kind == rules::RuleKind::burn_rate;
  const Selector& selector = burn ? *rule.burn.histogram : rule.histogram;
  std::vector<store::Exemplar> out;
  store.forEachHistogram([&](const store::HistogramView& h) {
    if (!selector.matches(h.name, h.labels)) return;
    const rules::OwnedLabels labels =
        burn ? histogramEndpointLabels(rule, selector, h, {"le", "instance", "code", "status"})
             : histogramEndpointLabels(rule, selector, h, {"le", "instance"});
    if (labels != endpoint) return;
    for (store::SeriesId bucket : h.buckets) {
      const store::Exemplar* x = store.exemplar(bucket);
      if (x && x->value > bound && x->t_ms >= since_ms) out.push_back(*x);
    }
  });
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.t_ms > b.t_ms; });
  return out;
}

}  // namespace hotspotd::detectors
