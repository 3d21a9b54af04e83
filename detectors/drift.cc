#include "detectors/drift.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "detectors/endpoint.h"
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

// An endpoint's histograms at this evaluation: their layouts, all with the same bounds.
struct Current {
  std::vector<store::SeriesStore::Layout> histograms;
};

// Sum over the endpoint's histograms of the increase of one bucket (by index) between two times.
std::optional<double> increase(const store::SeriesStore& store, const Current& ep, std::size_t bucket,
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

DriftDetector::DriftDetector(rules::Rule rule) : rule_(std::move(rule)), z_crit_(zFor(rule_.drift.confidence)) {}

void DriftDetector::regroup(const store::SeriesStore& store, std::int64_t t_ms) {
  std::map<std::string, Endpoint> grouped;
  store.forEachHistogram([&](const store::HistogramView& h) {
    if (!rule_.histogram.matches(h.name, h.labels)) return;
    rules::OwnedLabels key_labels = histogramEndpointLabels(rule_, rule_.histogram, h, {"le", "instance"});
    const std::string key = endpointKey(key_labels);
    Endpoint& ep = grouped[key];
    if (ep.histograms.empty()) {
      ep.key = key;
      ep.labels = std::move(key_labels);
    }
    ep.histograms.push_back(h.id);
  });
  endpoints_.clear();
  for (auto& [key, ep] : grouped) endpoints_.push_back(std::move(ep));
  // Endpoints that are gone take their baselines with them; those restored from before a restart wait for their
  // endpoint's first scrapes, as long as they could still be used.
  std::erase_if(states_, [&](const auto& entry) {
    const State& st = entry.second;
    const bool usable = st.restored && (st.frozen || t_ms - st.computed_ms <= rule_.drift.baseline.count());
    return grouped.find(entry.first) == grouped.end() && !usable;
  });
  grouped_version_ = store.histogramsVersion();
}

std::vector<rules::Finding> DriftDetector::evaluate(const store::SeriesStore& store, std::int64_t t_ms, Duration step) {
  if (grouped_version_ != store.histogramsVersion()) regroup(store, t_ms);

  const rules::DriftParams& p = rule_.drift;
  const Duration lookback = std::max<Duration>(step * 2, std::chrono::seconds(30));
  std::vector<rules::Finding> out;
  for (const Endpoint& endpoint : endpoints_) {
    // The layouts of this endpoint's histograms; one layout per endpoint (the first seen), +Inf last.
    Current ep;
    for (store::HistogramId id : endpoint.histograms) {
      auto l = store.layout(id);
      if (!l || l->bounds.size() < 2 || !std::isinf(l->bounds.back())) continue;
      if (!ep.histograms.empty() &&
          !std::equal(l->bounds.begin(), l->bounds.end(), ep.histograms.front().bounds.begin(),
                      ep.histograms.front().bounds.end())) {
        continue;
      }
      ep.histograms.push_back(*l);
    }
    if (ep.histograms.empty()) continue;
    const std::string& key = endpoint.key;
    rules::Finding f;
    f.endpoint = endpoint.labels;
    auto notJudged = [&](std::string why) {
      f.judged = false;
      f.reason = std::move(why);
      out.push_back(f);
    };
    State& st = states_[key];
    std::int64_t layout_since = 0;
    for (const auto& h : ep.histograms) layout_since = std::max(layout_since, h.layout_since_ms);

    const std::int64_t window_start = t_ms - p.window.count();
    const std::size_t nb = ep.histograms.front().bounds.size();
    const auto& bounds = ep.histograms.front().bounds;
    if (!st.baseline.empty() &&
        (st.baseline.size() != nb ||
         !std::equal(bounds.begin(), bounds.end(), st.baseline.begin(), [](double b, const auto& c) {
           return b == c.first;
         }))) {
      st = State{};  // another layout: what was learned in the old one does not apply
    }
    const bool fresh = !st.baseline.empty() && !st.restored && st.layout_since_ms == layout_since &&
                       t_ms - st.computed_ms < std::chrono::milliseconds(std::chrono::minutes(1)).count();
    if (!st.frozen && !fresh) {
      // Baseline: cumulative counts per bucket over the window before the judged one, in this layout only.
      const std::int64_t baseline_end = window_start;
      const std::int64_t baseline_start = std::max(baseline_end - p.baseline.count(), layout_since);
      std::string missing;
      std::vector<std::pair<double, double>> counts(nb);
      if (baseline_end - baseline_start < p.baseline.count() / 4) {
        missing = "not enough history in this bucket layout for a baseline";
      } else {
        for (std::size_t b = 0; b < nb && missing.empty(); ++b) {
          auto inc = increase(store, ep, b, baseline_start, baseline_end, lookback);
          if (!inc) missing = "missing data at the edges of the baseline window";
          counts[b] = {bounds[b], inc.value_or(0)};
        }
      }
      if (missing.empty()) {
        st.baseline = std::move(counts);
        st.computed_ms = t_ms;
        st.layout_since_ms = layout_since;
        st.restored = false;
      } else if (!(st.restored && t_ms - st.computed_ms <= p.baseline.count())) {
        // A baseline saved before a restart stands in for at most one baseline window.
        st.baseline.clear();
        st.restored = false;
        notJudged(std::move(missing));
        continue;
      }
    }
    std::vector<Bucket> base(nb);
    for (std::size_t b = 0; b < nb; ++b) base[b] = Bucket{st.baseline[b].first, st.baseline[b].second};
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

    // The judged window, step by step: requests and requests above u per step, each series read in one walk.
    const std::int64_t step_ms = std::max<std::int64_t>(1, step.count());
    const auto steps = static_cast<std::size_t>(std::max<std::int64_t>(1, p.window.count() / step_ms));
    std::vector<std::int64_t> times;
    for (std::size_t i = 0; i <= steps; ++i) {
      const std::int64_t at = t_ms - static_cast<std::int64_t>(i) * step_ms;
      if (at < layout_since) break;
      times.push_back(at);
    }
    std::vector<double> step_total(times.size() > 0 ? times.size() - 1 : 0, 0);
    std::vector<double> step_under(step_total.size(), 0);
    std::vector<bool> step_ok(step_total.size(), true);
    std::vector<std::optional<store::Point>> points(times.size());
    for (const auto& h : ep.histograms) {
      for (int which = 0; which < 2; ++which) {
        store.pointsAt(which == 0 ? h.buckets[nb - 1] : h.buckets[u], times, lookback, points);
        std::vector<double>& into = which == 0 ? step_total : step_under;
        for (std::size_t i = 0; i + 1 < times.size(); ++i) {
          if (!points[i] || !points[i + 1]) {
            step_ok[i] = false;  // a gap: that step is left out
            continue;
          }
          into[i] += points[i]->value - points[i + 1]->value;
        }
      }
    }
    double n = 0, x = 0;
    std::vector<double> excess;
    for (std::size_t i = 0; i < step_total.size(); ++i) {
      if (!step_ok[i]) continue;
      const double ni = step_total[i], xi = step_total[i] - step_under[i];
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
    f.active = z >= z_crit_ && share >= p.sensitivity * p0 && x >= 5 && spread;
    // The current quantile over the window, for the page: only needed when an incident may fire or resolve, so
    // only read while the endpoint is active or was until recently (the resolve event comes keep_firing_for after
    // the condition clears); otherwise it would cost twelve more walks an evaluation.
    std::vector<Bucket> now(nb);
    const bool recently_active =
        st.last_active_ms > 0 && t_ms - st.last_active_ms <= (rule_.keep_firing_for + p.window).count() + 60'000;
    bool have_now = f.active || recently_active;
    const std::int64_t ends[2] = {t_ms, window_start};
    std::optional<store::Point> end_points[2];
    for (std::size_t b = 0; b < nb; ++b) now[b] = Bucket{ep.histograms.front().bounds[b], 0};
    for (const auto& h : ep.histograms) {
      for (std::size_t b = 0; b < nb && have_now; ++b) {
        store.pointsAt(h.buckets[b], ends, lookback, end_points);
        have_now = end_points[0] && end_points[1];
        if (have_now) now[b].count += end_points[0]->value - end_points[1]->value;
      }
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
      st.frozen = true;
      st.last_active_ms = t_ms;
      st.clear_since_ms = -1;
    } else if (st.frozen) {
      // Released after keep_firing_for of judged evaluations without drift, as the incident resolves: a gap in
      // the data (or a restart) does not count.
      if (st.clear_since_ms < 0) st.clear_since_ms = t_ms;
      if (t_ms - st.clear_since_ms >= rule_.keep_firing_for.count()) {
        st.frozen = false;
        st.clear_since_ms = -1;
      }
    }
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<std::pair<std::string, nlohmann::json>> DriftDetector::saveState() const {
  std::vector<std::pair<std::string, nlohmann::json>> out;
  for (const auto& [key, st] : states_) {
    if (st.baseline.empty()) continue;
    nlohmann::json bounds = nlohmann::json::array(), counts = nlohmann::json::array();
    for (const auto& [bound, count] : st.baseline) {
      if (std::isfinite(bound)) bounds.push_back(bound);  // the last bound is +Inf, which JSON cannot write
      counts.push_back(count);
    }
    out.emplace_back(key, nlohmann::json{{"bounds", bounds},
                                         {"counts", counts},
                                         {"computed_ms", st.computed_ms},
                                         {"frozen", st.frozen},
                                         {"last_active_ms", st.last_active_ms},
                                         {"clear_since_ms", st.clear_since_ms}});
  }
  return out;
}

void DriftDetector::restoreState(const std::vector<std::pair<std::string, nlohmann::json>>& states) {
  for (const auto& [key, j] : states) {
    const auto bounds = j.value("bounds", nlohmann::json::array());
    const auto counts = j.value("counts", nlohmann::json::array());
    if (!bounds.is_array() || !counts.is_array() || counts.size() != bounds.size() + 1 || bounds.empty()) continue;
    State st;
    for (std::size_t i = 0; i < counts.size(); ++i) {
      const double bound = i < bounds.size() && bounds[i].is_number() ? bounds[i].get<double>() : INFINITY;
      st.baseline.emplace_back(bound, counts[i].is_number() ? counts[i].get<double>() : 0.0);
    }
    st.computed_ms = j.value("computed_ms", std::int64_t{0});
    st.frozen = j.value("frozen", false);
    st.last_active_ms = j.value("last_active_ms", std::int64_t{0});
    st.clear_since_ms = j.value("clear_since_ms", std::int64_t{-1});
    st.restored = true;
    states_[key] = std::move(st);
  }
}

}  // namespace hotspotd::detectors
