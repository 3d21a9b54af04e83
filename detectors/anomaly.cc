#include "detectors/anomaly.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "detectors/endpoint.h"

namespace hotspotd::detectors {
namespace {

constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kDay = 24 * 60 * kMinute;

double median(std::vector<double> v) {
  const std::size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  double m = v[mid];
  if (v.size() % 2 == 0) {
    m = (m + *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid))) / 2;
  }
  return m;
}

struct Endpoint {
  rules::OwnedLabels labels;
  std::vector<store::SeriesId> series;
};

// The signal at each of `times` (descending): for a gauge the value there, for a counter the rate over the
// interval to the next (older) time; summed over the series for counters, averaged for gauges. NaN where missing.
std::vector<double> signal(const store::SeriesStore& store, const Endpoint& ep, bool counter,
                           const std::vector<std::int64_t>& times, Duration lookback) {
  const std::size_t n = counter ? times.size() - 1 : times.size();
  std::vector<double> sum(n, 0), count(n, 0);
  std::vector<std::optional<store::Point>> pts(times.size());
  for (store::SeriesId id : ep.series) {
    store.pointsAt(id, times, lookback, pts);
    for (std::size_t i = 0; i < n; ++i) {
      if (counter) {
        if (!pts[i] || !pts[i + 1] || pts[i]->t_ms <= pts[i + 1]->t_ms) continue;
        sum[i] += (pts[i]->value - pts[i + 1]->value) / (static_cast<double>(pts[i]->t_ms - pts[i + 1]->t_ms) / 1000.0);
        count[i] = 1;
      } else if (pts[i]) {
        sum[i] += pts[i]->value;
        count[i] += 1;
      }
    }
  }
  std::vector<double> out(n, NAN);
  for (std::size_t i = 0; i < n; ++i) {
    if (count[i] > 0) out[i] = counter ? sum[i] : sum[i] / count[i];
  }
  return out;
}

}  // namespace

Duration anomalyHistory(const rules::AnomalyParams& p) {
  const Duration base = p.baseline + p.window;
  return p.daily ? std::chrono::milliseconds(p.days * kDay) + base : std::max(base, p.warmup);
}

std::vector<rules::Finding> evaluateAnomaly(const rules::Rule& rule, const store::SeriesStore& store, std::int64_t t_ms,
                                            Duration step, AnomalyMemory& memory) {
  const rules::AnomalyParams& p = rule.anomaly;
  const bool counter = p.counter.has_value();
  const Selector& selector = counter ? *p.counter : *p.gauge;
  std::map<std::string, Endpoint> endpoints;
  std::int64_t oldest = t_ms;
  store.forEachSeries([&](store::SeriesId id, std::string_view name, const store::LabelPairs& labels) {
    if (!selector.matches(name, labels)) return;
    rules::OwnedLabels key_labels = endpointLabels(rule, labels, {"le"});
    Endpoint& ep = endpoints[endpointKey(key_labels)];
    if (ep.labels.empty()) ep.labels = std::move(key_labels);
    ep.series.push_back(id);
    if (auto first = store.firstPointIn(id, t_ms - anomalyHistory(p).count(), t_ms)) {
      oldest = std::min(oldest, first->t_ms);
    }
  });

  const std::int64_t step_ms = std::max<std::int64_t>(1, step.count());
  const Duration lookback = std::max<Duration>(step * 2, std::chrono::minutes(2));
  std::vector<rules::Finding> out;
  for (const auto& entry : endpoints) {
    const Endpoint& ep = entry.second;  // a named reference: clang 14 cannot capture structured bindings
    rules::Finding f;
    f.endpoint = ep.labels;
    // Recent level: the mean over the window, at scrape resolution.
    auto recentLevel = [&](double& sum, double& n) {
      std::vector<std::int64_t> recent_times;
      for (std::int64_t at = t_ms; at >= t_ms - p.window.count(); at -= step_ms) recent_times.push_back(at);
      for (double v : signal(store, ep, counter, recent_times, lookback)) {
        if (std::isnan(v)) continue;
        sum += v;
        n += 1;
      }
    };
    // A baseline learned before a restart, while the store has too little history of its own.
    const auto remembered = memory.find(entry.first);
    const bool usable = !p.daily && remembered != memory.end() && t_ms - remembered->second.t_ms <= p.baseline.count();
    double recent_sum = 0, recent_n = 0;
    double level = 0, spread = 0, baseline_values = 0;
    bool restored = false;
    if (t_ms - oldest < p.warmup.count()) {
      if (usable) recentLevel(recent_sum, recent_n);
      if (!usable || recent_n == 0) {
        f.reason = fmt::format("warming up: {} of history, {} needed", formatDuration(Duration(t_ms - oldest)),
                               formatDuration(p.warmup));
        out.push_back(std::move(f));
        continue;
      }
      level = remembered->second.level;
      spread = remembered->second.spread;
      restored = true;
    } else {
      recentLevel(recent_sum, recent_n);
      // Baseline: one-minute values before the window, or around the same time on previous days.
      std::vector<double> base;
      auto collect = [&](std::int64_t end, std::int64_t length) {
        std::vector<std::int64_t> times;
        for (std::int64_t at = end; at >= end - length; at -= kMinute) times.push_back(at);
        if (times.size() < 2) return;
        for (double v : signal(store, ep, counter, times, std::chrono::minutes(2))) {
          if (!std::isnan(v)) base.push_back(v);
        }
      };
      const std::int64_t window_start = t_ms - p.window.count();
      if (p.daily) {
        for (int d = 1; d <= p.days; ++d) {
          // The same stretch of the day, centred on this moment `d` days ago.
          collect(t_ms - d * kDay + p.baseline.count() / 2, p.baseline.count());
        }
      } else {
        collect(window_start, p.baseline.count());
      }
      if (recent_n == 0 || base.size() < 30) {
        f.reason = fmt::format("{} baseline values and {} recent ones: too few to judge", base.size(), recent_n);
        out.push_back(std::move(f));
        continue;
      }
      level = median(base);
      std::vector<double> deviations;
      deviations.reserve(base.size());
      for (double v : base) deviations.push_back(std::fabs(v - level));
      spread = std::max({1.4826 * median(deviations), 0.01 * std::fabs(level), 1e-9});
      baseline_values = static_cast<double>(base.size());
      if (!p.daily) memory[entry.first] = AnomalyBaseline{level, spread, t_ms};
    }
    const double recent = recent_sum / recent_n;
    const double score = (recent - level) / spread;
    f.judged = true;
    f.value = recent;
    const bool up = p.direction != rules::AnomalyParams::Direction::down && score >= p.sensitivity;
    const bool down = p.direction != rules::AnomalyParams::Direction::up && score <= -p.sensitivity;
    f.active = up || down;
    f.threshold = level + (score < 0 ? -1 : 1) * p.sensitivity * spread;
    f.evidence = {{"baseline_median", level},
                  {"baseline_spread", spread},
                  {"score", score},
                  {"baseline_values", baseline_values},
                  {"baseline_restored", restored ? 1.0 : 0.0}};
    f.reason = fmt::format("{} {:.4g} against a baseline of {:.4g} +- {:.4g}{}: {:.1f} robust sigmas",
                           counter ? "rate" : "level", recent, level, spread,
                           restored ? " (learned before a restart)" : "", score);
    out.push_back(std::move(f));
  }
  // Remembered baselines too old to stand in for anything are forgotten.
  std::erase_if(memory, [&](const auto& m) { return t_ms - m.second.t_ms > p.baseline.count(); });
  return out;
}

}  // namespace hotspotd::detectors
