#include "detectors/burn_rate.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "detectors/endpoint.h"

namespace hotspotd::detectors {
namespace {

// One endpoint's series: bad and total events as counters (availability) or histogram buckets (latency).
struct Endpoint {
  rules::OwnedLabels labels;
  std::vector<store::SeriesId> bad;    // availability: error counters
  std::vector<store::SeriesId> total;  // availability: all requests; latency: +Inf buckets
  std::vector<store::SeriesId> good;   // latency: the threshold buckets
};

// Increase of a counter over exactly [t - window, t]: the value at the window's start is interpolated between the
// points around it (old points are a minute apart), so that a change of rate inside the window is not weighed
// differently in the numerator and the denominator. A series younger than the window counts from its first point.
double windowIncrease(const store::SeriesStore& store, store::SeriesId id, std::int64_t t_ms, Duration window) {
  const std::int64_t start = t_ms - window.count();
  const auto last = store.pointAt(id, t_ms, window);
  if (!last) return 0;
  const auto after = store.firstPointIn(id, start, t_ms);
  const auto before = store.pointAt(id, start, std::chrono::minutes(5));
  double base;
  if (before && after && after->t_ms > before->t_ms) {
    const double f = static_cast<double>(start - before->t_ms) / static_cast<double>(after->t_ms - before->t_ms);
    base = before->value + (after->value - before->value) * f;
  } else if (before) {
    base = before->value;
  } else if (after) {
    base = after->value;
  } else {
    return 0;
  }
  return std::max(0.0, last->value - base);
}

double sum(const store::SeriesStore& store, const std::vector<store::SeriesId>& ids, std::int64_t t_ms, Duration w) {
  double s = 0;
  for (store::SeriesId id : ids) s += windowIncrease(store, id, t_ms, w);
  return s;
}

// The rule's endpoints and their series: by the bucket at the threshold and the +Inf bucket of each matching
// histogram (latency), or by the counters matching either selector (availability; every series the store holds is
// visited once per evaluation).
std::map<std::string, Endpoint> groupEndpoints(const rules::Rule& rule, const store::SeriesStore& store) {
  const rules::BurnRateParams& p = rule.burn;
  std::map<std::string, Endpoint> endpoints;
  auto endpointOf = [&](rules::OwnedLabels key_labels) -> Endpoint& {
    Endpoint& ep = endpoints[endpointKey(key_labels)];
    if (ep.labels.empty()) ep.labels = std::move(key_labels);
    return ep;
  };
  if (p.histogram) {
    store.forEachHistogram([&](const store::HistogramView& h) {
      if (!p.histogram->matches(h.name, h.labels) || h.bounds.empty() || !std::isinf(h.bounds.back())) return;
      const auto good = std::find_if(h.bounds.begin(), h.bounds.end(),
                                     [&](double b) { return std::fabs(b - p.threshold) <= 1e-9 * std::max(1.0, b); });
      if (good == h.bounds.end()) return;  // this layout has no bucket at the threshold
      Endpoint& ep = endpointOf(histogramEndpointLabels(rule, *p.histogram, h, {"le", "instance", "code", "status"}));
      ep.good.push_back(h.buckets[static_cast<std::size_t>(good - h.bounds.begin())]);
      ep.total.push_back(h.buckets.back());
    });
    return endpoints;
  }
  store.forEachSeries([&](store::SeriesId id, std::string_view name, const store::LabelPairs& labels) {
    const bool is_total = p.total && p.total->matches(name, labels);
    const bool is_bad = p.errors && p.errors->matches(name, labels);
    if (!is_total && !is_bad) return;
    Endpoint& ep = endpointOf(endpointLabels(rule, labels, {"le", "instance", "code", "status"}));
    if (is_total) ep.total.push_back(id);
    if (is_bad) ep.bad.push_back(id);
  });
  return endpoints;
}

// One window pair of one endpoint: judged once history covers half the long window and enough requests fell in
// it; active when both windows burn at the pair's factor or more.
rules::Finding judgePair(const rules::Rule& rule, const store::SeriesStore& store, const Endpoint& ep,
                         const rules::BurnWindow& w, std::int64_t t_ms) {
  const rules::BurnRateParams& p = rule.burn;
  const double budget = 1 - p.objective;
  rules::Finding f;
  rules::OwnedLabels labels = ep.labels;
  labels.emplace_back("severity", w.severity);
  std::sort(labels.begin(), labels.end());
  f.endpoint = std::move(labels);
  f.severity = w.severity;
  const double total_long = sum(store, ep.total, t_ms, w.long_window);
  const double total_short = sum(store, ep.total, t_ms, w.short_window);
  const double bad_long =
      p.histogram ? total_long - sum(store, ep.good, t_ms, w.long_window) : sum(store, ep.bad, t_ms, w.long_window);
  const double bad_short =
      p.histogram ? total_short - sum(store, ep.good, t_ms, w.short_window) : sum(store, ep.bad, t_ms, w.short_window);
  // A window the store holds only a sliver of is not that window: a daemon two minutes old has no 3-day
  // burn rate. The pair is judged once history covers half its long window.
  std::int64_t covered = 0;
  for (store::SeriesId id : ep.total) {
    if (auto first = store.firstPointIn(id, t_ms - w.long_window.count(), t_ms)) {
      covered = std::max(covered, t_ms - first->t_ms);
    }
  }
  if (covered < w.long_window.count() / 2) {
    f.judged = false;
    f.reason = fmt::format("history covers {} of the {} window", formatDuration(Duration(covered)),
                           formatDuration(w.long_window));
    return f;
  }
  const double needed = p.min_bad_events / (w.factor * budget);
  if (total_long < needed || total_short <= 0) {
    f.judged = false;
    f.reason = fmt::format("{} requests over {}, fewer than the {:.0f} a {}x burn needs to mean {} bad events",
                           total_long, formatDuration(w.long_window), needed, w.factor, p.min_bad_events);
    return f;
  }
  const double ratio_long = bad_long / total_long;
  const double ratio_short = bad_short / total_short;
  const double burn_long = ratio_long / budget;
  const double burn_short = ratio_short / budget;
  f.judged = true;
  f.active = burn_long >= w.factor && burn_short >= w.factor;
  f.value = burn_long;
  f.threshold = w.factor;
  f.evidence = {{"error_ratio_long", ratio_long},
                {"error_ratio_short", ratio_short},
                {"burn_rate_long", burn_long},
                {"burn_rate_short", burn_short},
                {"long_window_seconds", std::chrono::duration<double>(w.long_window).count()},
                {"short_window_seconds", std::chrono::duration<double>(w.short_window).count()},
                {"requests_long", total_long},
                {"bad_long", bad_long},
                // The share of the whole period's budget the long window has used.
                {"budget_consumed", burn_long * std::chrono::duration<double>(w.long_window).count() /
                                        std::chrono::duration<double>(p.period).count()}};
  // In plain words: what failed, against what budget, and how long the period's budget lasts at this pace.
  const double budget_days = std::chrono::duration<double>(p.period).count() / 86400.0 / std::max(burn_long, 1e-12);
  f.reason = fmt::format(
      "{:.3g}% of {:.0f} requests {} over {} and {:.3g}% over {}, against a budget of {:.3g}% "
      "(objective {:.4g}%): burning it {:.1f}x and {:.1f}x as fast as the objective allows (alert "
      "at {}x); at this pace the {} budget lasts {}",
      ratio_long * 100, total_long, p.histogram ? "were too slow" : "failed", formatDuration(w.long_window),
      ratio_short * 100, formatDuration(w.short_window), budget * 100, p.objective * 100, burn_long, burn_short,
      w.factor,
      p.period.count() % 86'400'000 == 0 ? fmt::format("{}-day", p.period.count() / 86'400'000)
                                         : formatDuration(p.period),
      burn_long > 0 ? fmt::format("{:.3g} days", budget_days) : std::string("forever"));
  return f;
}

}  // namespace

std::vector<rules::Finding> BurnRateDetector::evaluate(const store::SeriesStore& store, std::int64_t t_ms) const {
  std::vector<rules::Finding> out;
  for (const auto& [key, ep] : groupEndpoints(rule_, store)) {
    for (const rules::BurnWindow& w : rule_.burn.windows) out.push_back(judgePair(rule_, store, ep, w, t_ms));
  }
  // Window pairs of one severity are one incident: active if any judged pair is active; judged if any is.
  std::map<std::string, rules::Finding> merged;
  for (auto& f : out) {
    auto [it, inserted] = merged.try_emplace(endpointKey(f.endpoint), f);
    if (inserted) continue;
    rules::Finding& m = it->second;
    if ((f.active && !m.active) || (f.judged && !m.judged)) {
      const bool was_judged = m.judged;
      m = f;
      m.judged = m.judged || was_judged;
    }
  }
  std::vector<rules::Finding> result;
  for (auto& [k, f] : merged) result.push_back(std::move(f));
  return result;
}

}  // namespace hotspotd::detectors
