#include "detectors/burn_rate.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "detectors/endpoint.h"
#include "detectors/series_match.h"

namespace hotspotd::detectors {
namespace {

// The series of one endpoint as judgePair reads them: bad and total events as counters (availability), or total
// and good as histogram buckets (latency).
struct EndpointSeries {
  const rules::OwnedLabels& labels;
  const std::vector<store::SeriesId>& bad;
  const std::vector<store::SeriesId>& total;
  const std::vector<store::SeriesId>& good;
};

const std::vector<store::SeriesId> kNoSeries;

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

// One window pair of one endpoint: judged once history covers half the long window and enough requests fell in
// it; active when both windows burn at the pair's factor or more.
rules::Finding judgePair(const rules::Rule& rule, const store::SeriesStore& store, const EndpointSeries& ep,
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

std::vector<rules::Finding> BurnRateDetector::evaluate(const store::SeriesStore& store, std::int64_t t_ms) {
  const rules::BurnRateParams& p = rule_.burn;
  std::vector<rules::Finding> out;
  if (p.histogram) {
    // Latency: the +Inf bucket and the bucket at the threshold of each matching histogram (a layout without a
    // bucket at the threshold is left out).
    std::vector<store::SeriesId> total, good;
    for (const MatchedEndpoint& ep :
         histogram_match_.endpoints(store, rule_, *p.histogram, {"le", "instance", "code", "status"})) {
      total.clear();
      good.clear();
      for (store::HistogramId id : ep.first) {
        const auto h = store.layout(id);
        if (!h || h->bounds.empty() || !std::isinf(h->bounds.back())) continue;
        const auto at = std::find_if(h->bounds.begin(), h->bounds.end(),
                                     [&](double b) { return std::fabs(b - p.threshold) <= 1e-9 * std::max(1.0, b); });
        if (at == h->bounds.end()) continue;
        good.push_back(h->buckets[static_cast<std::size_t>(at - h->bounds.begin())]);
        total.push_back(h->buckets.back());
      }
      if (total.empty()) continue;
      for (const rules::BurnWindow& w : p.windows) {
        out.push_back(judgePair(rule_, store, EndpointSeries{ep.labels, kNoSeries, total, good}, w, t_ms));
      }
    }
  } else {
    // Availability (the loader requires both selectors): the counters matching either, kept until the store's
    // series change.
    for (const MatchedEndpoint& ep :
         match_.endpoints(store, rule_, *p.total, &*p.errors, {"le", "instance", "code", "status"})) {
      for (const rules::BurnWindow& w : p.windows) {
        out.push_back(judgePair(rule_, store, EndpointSeries{ep.labels, ep.second, ep.first, kNoSeries}, w, t_ms));
      }
    }
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
