#include "detectors/threshold.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "detectors/endpoint.h"
#include "detectors/quantile.h"
#include "detectors/series_match.h"

namespace hotspotd::detectors {

std::vector<rules::Finding> evaluateLatencyThreshold(const rules::Rule& rule, const store::SeriesStore& store,
                                                     std::int64_t t_ms, Duration step, HistogramMatch& match) {
  const rules::ThresholdParams& p = rule.threshold;
  (void)step;
  struct Endpoint {
    const rules::SharedLabels& labels;
    std::vector<Bucket> buckets;
    bool complete = true;
  };
  std::vector<Endpoint> endpoints;
  for (const MatchedEndpoint& matched : match.endpoints(store, rule, rule.histogram, {"le", "instance"})) {
    Endpoint* ep = nullptr;
    for (store::HistogramId id : matched.first) {
      const auto h = store.layout(id);
      if (!h || h->bounds.size() < 2 || !std::isinf(h->bounds.back())) continue;
      if (ep == nullptr) {
        ep = &endpoints.emplace_back(Endpoint{matched.labels, {}});
        for (double b : h->bounds) ep->buckets.push_back(Bucket{b, 0});
      }
      if (ep->buckets.size() != h->bounds.size()) continue;  // another layout: judged on the first one seen
      bool same = true;
      for (std::size_t b = 0; b < h->bounds.size() && same; ++b) same = ep->buckets[b].upper_bound == h->bounds[b];
      if (!same) continue;
      // A layout younger than the window cannot answer for it.
      if (h->layout_since_ms > t_ms - p.window.count()) {
        ep->complete = false;
        continue;
      }
      for (std::size_t b = 0; b < h->bounds.size(); ++b) {
        const auto inc = store.increase(h->buckets[b], t_ms, p.window);
        if (!inc) ep->complete = false;
        ep->buckets[b].count += inc.value_or(0);
      }
    }
  }
  std::vector<rules::Finding> out;
  for (const Endpoint& ep : endpoints) {
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
                                              std::int64_t t_ms, Duration step, SeriesMatch& match) {
  const rules::ThresholdParams& p = rule.threshold;
  const bool counter = p.counter.has_value();
  const Selector& selector = counter ? *p.counter : *p.gauge;
  const Duration lookback = std::max<Duration>(step * 2, std::chrono::seconds(30));
  struct Endpoint {
    const rules::SharedLabels& labels;
    double sum = 0;
    double points = 0;
    bool complete = true;
  };
  std::vector<Endpoint> endpoints;
  const double window_seconds = std::chrono::duration<double>(p.window).count();
  std::vector<std::int64_t> times;
  if (!counter) {
    for (std::int64_t at = t_ms; at > t_ms - p.window.count(); at -= std::max<std::int64_t>(1, step.count())) {
      times.push_back(at);
    }
  }
  std::vector<std::optional<store::Point>> pts(times.size());
  for (const MatchedEndpoint& matched : match.endpoints(store, rule, selector, nullptr, {"le"})) {
    Endpoint& ep = endpoints.emplace_back(Endpoint{matched.labels});
    for (store::SeriesId id : matched.first) {
      if (counter) {
        const auto inc = store.increase(id, t_ms, p.window);
        if (!inc) {
          ep.complete = false;
          continue;
        }
        ep.sum += *inc / window_seconds;
        ep.points = 1;
      } else {
        // The average of the gauge's points over the window.
        store.pointsAt(id, times, lookback, pts);
        for (const auto& pt : pts) {
          if (!pt) continue;
          ep.sum += pt->value;
          ep.points += 1;
        }
      }
    }
  }
  std::vector<rules::Finding> out;
  for (const Endpoint& ep : endpoints) {
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
