#include "detectors/threshold.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "detectors/endpoint.h"
#include "detectors/quantile.h"

namespace hotspotd::detectors {

std::vector<rules::Finding> evaluateLatencyThreshold(const rules::Rule& rule, const store::SeriesStore& store,
                                                     std::int64_t t_ms, Duration step) {
  const rules::ThresholdParams& p = rule.threshold;
  (void)step;
  struct Endpoint {
    rules::OwnedLabels labels;
    std::vector<Bucket> buckets;
    bool complete = true;
  };
  std::map<std::string, Endpoint> endpoints;
  store.forEachHistogram([&](const store::HistogramView& h) {
    if (!rule.histogram.matches(h.name, h.labels) || h.bounds.size() < 2 || !std::isinf(h.bounds.back())) return;
    rules::OwnedLabels labels = histogramEndpointLabels(rule, rule.histogram, h, {"le", "instance"});
    Endpoint& ep = endpoints[endpointKey(labels)];
    if (ep.buckets.empty()) {
      ep.labels = std::move(labels);
      for (double b : h.bounds) ep.buckets.push_back(Bucket{b, 0});
    }
    if (ep.buckets.size() != h.bounds.size()) return;  // another layout: judged on the first one seen
    for (std::size_t b = 0; b < h.bounds.size(); ++b) {
      if (ep.buckets[b].upper_bound != h.bounds[b]) return;
    }
    // A layout younger than the window cannot answer for it.
    if (h.layout_since_ms > t_ms - p.window.count()) {
      ep.complete = false;
      return;
    }
    for (std::size_t b = 0; b < h.bounds.size(); ++b) {
      const auto inc = store.increase(h.buckets[b], t_ms, p.window);
      if (!inc) ep.complete = false;
      ep.buckets[b].count += inc.value_or(0);
    }
  });
  std::vector<rules::Finding> out;
  for (auto& [key, ep] : endpoints) {
    rules::Finding f;
    f.endpoint = ep.labels;
    const double requests = ep.buckets.back().count;
    if (!ep.complete) {
      f.reason = "missing data at the edges of the window, or a new bucket layout";
      out.push_back(std::move(f));
      continue;
    }
    if (requests < p.min_rate * std::chrono::duration<double>(p.window).count() || requests <= 0) {
      f.reason = fmt::format("{} requests in the window, below min_rate", requests);
      out.push_back(std::move(f));
      continue;
    }
    const QuantileEstimate q = bucketQuantile(p.quantile, ep.buckets);
    f.judged = true;
    f.active = q.value > *p.above;
    f.value = q.value;
    f.threshold = *p.above;
    const bool interpolated = *p.above > q.lower && *p.above < q.upper;
    f.evidence = {{"quantile_lower", q.lower},
                  {"quantile_upper", q.upper},
                  {"requests", requests},
                  {"decided_by_interpolation", interpolated ? 1.0 : 0.0}};
    f.reason = fmt::format("p{:g} {:.3f}s over the last {} (between {}s and {}s), {:.0f}% {} the bound of {}s{}",
                           p.quantile * 100, q.value, formatDuration(p.window), q.lower, q.upper,
                           std::fabs(q.value - *p.above) / *p.above * 100, q.value > *p.above ? "above" : "below",
                           *p.above, interpolated ? " (inside one bucket: interpolated)" : "");
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<rules::Finding> evaluateThreshold(const rules::Rule& rule, const store::SeriesStore& store,
                                              std::int64_t t_ms, Duration step) {
  const rules::ThresholdParams& p = rule.threshold;
  const bool counter = p.counter.has_value();
  const Selector& selector = counter ? *p.counter : *p.gauge;
  const Duration lookback = std::max<Duration>(step * 2, std::chrono::seconds(30));
  struct Endpoint {
    rules::OwnedLabels labels;
    double sum = 0;
    double points = 0;
    bool complete = true;
  };
  std::map<std::string, Endpoint> endpoints;
  const double window_seconds = std::chrono::duration<double>(p.window).count();
  store.forEachSeries([&](store::SeriesId id, std::string_view name, const store::LabelPairs& labels) {
    if (!selector.matches(name, labels)) return;
    rules::OwnedLabels key_labels = endpointLabels(rule, labels, {"le"});
    Endpoint& ep = endpoints[endpointKey(key_labels)];
    if (ep.labels.empty()) ep.labels = std::move(key_labels);
    if (counter) {
      const auto inc = store.increase(id, t_ms, p.window);
      if (!inc) {
        ep.complete = false;
        return;
      }
      ep.sum += *inc / window_seconds;
      ep.points = 1;
    } else {
      // The average of the gauge's points over the window.
      std::vector<std::int64_t> times;
      for (std::int64_t at = t_ms; at > t_ms - p.window.count(); at -= std::max<std::int64_t>(1, step.count())) {
        times.push_back(at);
      }
      std::vector<std::optional<store::Point>> pts(times.size());
      store.pointsAt(id, times, lookback, pts);
      for (const auto& pt : pts) {
        if (!pt) continue;
        ep.sum += pt->value;
        ep.points += 1;
      }
    }
  });
  std::vector<rules::Finding> out;
  for (auto& [key, ep] : endpoints) {
    rules::Finding f;
    f.endpoint = ep.labels;
    if (!ep.complete || ep.points == 0) {
      f.reason = "no data over the window";
      out.push_back(std::move(f));
      continue;
    }
    const double value = counter ? ep.sum : ep.sum / ep.points;
    f.judged = true;
    f.value = value;
    const bool over = p.above && value > *p.above;
    const bool under = p.below && value < *p.below;
    f.active = over || under;
    f.threshold = over || !p.below ? p.above.value_or(NAN) : *p.below;
    f.reason = fmt::format("{} {:.4g}{} over the last {}", counter ? "rate" : "average", value, counter ? "/s" : "",
                           formatDuration(p.window));
    // How far past (or inside) the bound it is, in plain words.
    auto against = [&](double bound, const char* name) {
      const double by = bound != 0 ? std::fabs(value - bound) / std::fabs(bound) * 100 : NAN;
      if (std::isnan(by)) {
        f.reason += fmt::format(", the {} bound is {:g}", name, bound);
      } else if (bound > 0 && value > 2 * bound) {
        f.reason += fmt::format(", {:.3g} times the {} bound of {:g}", value / bound, name, bound);
      } else {
        f.reason +=
            fmt::format(", {:.3g}% {} the {} bound of {:g}", by, value > bound ? "above" : "below", name, bound);
      }
    };
    if (p.above) against(*p.above, "upper");
    if (p.below) against(*p.below, "lower");
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace hotspotd::detectors
