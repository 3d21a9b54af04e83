#include "detectors/drift.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "detectors/quantile.h"

namespace hotspotd::detectors {
namespace {

// The z for a one-sided confidence, by bisection on the normal tail.
double zFor(double confidence) {
  double lo = 0, hi = 10;
  for (int i = 0; i < 60; ++i) {
    const double mid = (lo + hi) / 2;
    if (1 - 0.5 * std::erfc(mid / std::sqrt(2.0)) < confidence) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return hi;
}

struct Endpoint {
  rules::OwnedLabels labels;
  std::vector<store::HistogramView> histograms;
};

// Sum over the endpoint's histograms of the increase of one bucket (by index) between two times.
std::optional<double> increase(const store::SeriesStore& store, const Endpoint& ep, std::size_t bucket,
                               std::int64_t from_ms, std::int64_t to_ms, Duration lookback) {
  double sum = 0;
  for (const auto& h : ep.histograms) {
    const auto a = store.pointAt(h.buckets[bucket], from_ms, lookback);
    const auto b = store.pointAt(h.buckets[bucket], to_ms, lookback);
    if (!a || !b) return std::nullopt;
    sum += b->value - a->value;
  }
  return sum;
}

}  // namespace

std::vector<rules::Finding> DriftDetector::evaluate(const store::SeriesStore& store, std::int64_t t_ms, Duration step) {
  // Endpoints: matching histograms grouped by the `by` labels, with one bucket layout each.
  std::map<std::string, Endpoint> endpoints;
  store.forEachHistogram([&](const store::HistogramView& h) {
    if (!rule_.histogram.matches(h.name, h.labels) || h.bounds.size() < 2 || !std::isinf(h.bounds.back())) return;
    rules::OwnedLabels key_labels;
    for (const auto& [k, v] : h.labels) {
      const bool keep = rule_.by_all ? (k != "le" && k != "instance")
                                     : std::find(rule_.by.begin(), rule_.by.end(), k) != rule_.by.end();
      if (keep) key_labels.emplace_back(std::string(k), std::string(v));
    }
    std::string key;
    for (const auto& [k, v] : key_labels) key += k + "\xff" + v + "\xfe";
    Endpoint& ep = endpoints[key];
    if (ep.histograms.empty()) ep.labels = std::move(key_labels);
    if (!ep.histograms.empty() && !std::equal(h.bounds.begin(), h.bounds.end(), ep.histograms.front().bounds.begin(),
                                              ep.histograms.front().bounds.end())) {
      return;  // another layout for the same endpoint: judged on the first one seen
    }
    ep.histograms.push_back(h);
  });

  const rules::DriftParams& p = rule_.drift;
  const double z_crit = zFor(p.confidence);
  const Duration lookback = std::max<Duration>(step * 2, std::chrono::seconds(30));
  std::vector<rules::Finding> out;
  for (auto& [key, ep] : endpoints) {
    rules::Finding f;
    f.endpoint = ep.labels;
    auto notJudged = [&](std::string why) {
      f.judged = false;
      f.reason = std::move(why);
      out.push_back(f);
    };
    Pin& pin = pins_[key];
    std::int64_t layout_since = 0;
    for (const auto& h : ep.histograms) layout_since = std::max(layout_since, h.layout_since_ms);

    const std::int64_t window_start = t_ms - p.window.count();
    const std::size_t nb = ep.histograms.front().bounds.size();
    const bool pinned =
        !pin.baseline.empty() && pin.baseline.size() == nb && t_ms - pin.last_active_ms < rule_.keep_firing_for.count();
    std::vector<Bucket> base(nb);
    if (pinned) {
      for (std::size_t b = 0; b < nb; ++b) base[b] = Bucket{pin.baseline[b].first, pin.baseline[b].second};
    } else {
      pin.baseline.clear();
      // Baseline: cumulative counts per bucket over the window before the judged one, in this layout only.
      const std::int64_t baseline_end = window_start;
      const std::int64_t baseline_start = std::max(baseline_end - p.baseline.count(), layout_since);
      if (baseline_end - baseline_start < p.baseline.count() / 4) {
        notJudged("not enough history in this bucket layout for a baseline");
        continue;
      }
      bool complete = true;
      for (std::size_t b = 0; b < nb && complete; ++b) {
        auto inc = increase(store, ep, b, baseline_start, baseline_end, lookback);
        complete = inc.has_value();
        base[b] = Bucket{ep.histograms.front().bounds[b], inc.value_or(0)};
      }
      if (!complete) {
        notJudged("missing data at the edges of the baseline window");
        continue;
      }
    }
    const double n0 = base.back().count;
    if (n0 < 10.0 / (1.0 - p.quantile)) {
      notJudged(fmt::format("baseline has {} requests, too few for its p{}", n0, p.quantile * 100));
      continue;
    }
    const QuantileEstimate base_q = bucketQuantile(p.quantile, base);
    std::size_t u = 0;
    while (u < nb - 1 && base[u].count < p.quantile * n0) ++u;
    if (u >= nb - 1) {
      notJudged("the baseline quantile is already past the last finite bucket");
      continue;
    }
    const double p0 = (n0 - base[u].count + 0.5) / (n0 + 1.0);

    // The judged window, step by step: requests and requests above u per step.
    const std::int64_t step_ms = std::max<std::int64_t>(1, step.count());
    const auto steps = static_cast<std::size_t>(std::max<std::int64_t>(1, p.window.count() / step_ms));
    double n = 0, x = 0;
    std::vector<double> excess;
    for (std::size_t i = 0; i < steps; ++i) {
      const std::int64_t to = t_ms - static_cast<std::int64_t>(i) * step_ms;
      const std::int64_t from = to - step_ms;
      if (from < layout_since) break;
      const auto total = increase(store, ep, nb - 1, from, to, lookback);
      const auto under = increase(store, ep, u, from, to, lookback);
      if (!total || !under) continue;  // a gap: that step is left out
      const double ni = *total, xi = *total - *under;
      n += ni;
      x += xi;
      excess.push_back(xi - ni * p0);
    }
    const double window_seconds = std::chrono::duration<double>(p.window).count();
    if (n < p.min_rate * window_seconds || n < 1) {
      notJudged(fmt::format("{} requests in the window, below min_rate", n));
      continue;
    }
    const double share = x / n;
    const double z = (x - n * p0) / std::sqrt(n * p0 * (1 - p0));
    const double confidence = 1 - 0.5 * std::erfc(z / std::sqrt(2.0));
    double positive = 0, top2 = 0;
    std::sort(excess.begin(), excess.end(), std::greater<>());
    for (double e : excess) positive += std::max(e, 0.0);
    for (std::size_t i = 0; i < std::min<std::size_t>(2, excess.size()); ++i) top2 += std::max(excess[i], 0.0);
    const bool spread = excess.size() < 3 || positive <= 0 || top2 <= 0.75 * positive;

    f.judged = true;
    f.active = z >= z_crit && share >= p.sensitivity * p0 && x >= 5 && spread;
    // The current quantile over the window, for the page: from the same buckets.
    std::vector<Bucket> now(nb);
    bool have_now = true;
    for (std::size_t b = 0; b < nb && have_now; ++b) {
      auto inc = increase(store, ep, b, window_start, t_ms, lookback);
      have_now = inc.has_value();
      now[b] = Bucket{ep.histograms.front().bounds[b], inc.value_or(0)};
    }
    const QuantileEstimate now_q = have_now ? bucketQuantile(p.quantile, now) : QuantileEstimate{NAN, NAN, NAN};
    f.value = now_q.value;
    f.threshold = base_q.value;
    f.evidence = {{"bound_seconds", base[u].upper_bound},
                  {"baseline_share_above_bound", p0},
                  {"share_above_bound", share},
                  {"requests", n},
                  {"requests_above_bound", x},
                  {"baseline_requests", n0},
                  {"confidence", confidence},
                  {"baseline_quantile_lower", base_q.lower},
                  {"baseline_quantile_upper", base_q.upper},
                  {"quantile_lower", now_q.lower},
                  {"quantile_upper", now_q.upper}};
    f.reason = fmt::format("{:.2f}% of {} requests above {}s (baseline {:.2f}%), confidence {:.5f}{}", share * 100, n,
                           base[u].upper_bound, p0 * 100, confidence, spread ? "" : ", concentrated in one interval");
    if (f.active) {
      if (pin.baseline.empty()) {
        for (const Bucket& b : base) pin.baseline.emplace_back(b.upper_bound, b.count);
      }
      pin.last_active_ms = t_ms;
    }
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace hotspotd::detectors
