#include "detectors/endpoint_chart.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "detectors/quantile.h"

namespace hotspotd::detectors {
namespace {

// A counter's increase over the step ending at t and the seconds between the two points it was read from (where
// the store keeps one point a minute, that is not always the step).
struct Increase {
  double value = 0;
  double seconds = 0;
};
std::optional<Increase> increaseAt(const store::SeriesStore& store, store::SeriesId id, std::int64_t t_ms,
                                   std::int64_t step_ms) {
  const Duration lookback = store.config().staleness;
  const auto now = store.pointAt(id, t_ms, lookback);
  const auto then = store.pointAt(id, t_ms - step_ms, lookback);
  if (!now || !then || now->t_ms <= then->t_ms) return std::nullopt;
  return Increase{now->value - then->value, static_cast<double>(now->t_ms - then->t_ms) / 1000.0};
}

// Adds v to a value that may still be NaN (no data yet).
void addTo(double& into, double v) { into = std::isnan(into) ? v : into + v; }

void errorsChart(const store::SeriesStore& store, const rules::Rule& rule, const rules::OwnedLabels& endpoint,
                 std::int64_t step_ms, EndpointChart& chart) {
  const auto& times = chart.times_ms;
  std::vector<double> bad(times.size(), 0), all(times.size(), 0), rate(times.size(), NAN);
  store.forEachSeries([&](store::SeriesId id, std::string_view name, const store::LabelPairs& labels) {
    const bool is_bad = rule.burn.errors->matches(name, labels), is_all = rule.burn.total->matches(name, labels);
    if ((!is_bad && !is_all) || !ofEndpoint(name, labels, endpoint)) return;
    for (std::size_t i = 0; i < times.size(); ++i) {
      if (auto inc = increaseAt(store, id, times[i], step_ms)) {
        if (is_bad) bad[i] += inc->value;
        if (is_all) {
          all[i] += inc->value;
          addTo(rate[i], inc->value / inc->seconds);
        }
      }
    }
  });
  std::vector<double> ratio(times.size(), NAN);
  for (std::size_t i = 0; i < times.size(); ++i) {
    if (all[i] > 0) ratio[i] = bad[i] / all[i];
  }
  chart.lines.push_back({"error ratio", "ratio", std::move(ratio)});
  chart.lines.push_back({"requests/s", "1/s", std::move(rate)});
}

void latencyChart(const store::SeriesStore& store, const rules::Rule& rule, const Selector& histogram,
                  const rules::OwnedLabels& endpoint, std::int64_t step_ms, EndpointChart& chart) {
  const auto& times = chart.times_ms;
  // Per step: the endpoint's bucket increases summed by bound over its histograms, then the quantile.
  std::vector<std::map<double, double>> buckets(times.size());
  std::vector<double> rate(times.size(), NAN);
  store.forEachHistogram([&](const store::HistogramView& h) {
    if (!histogram.matches(h.name, h.labels) || !ofEndpoint(h.name, h.labels, endpoint)) return;
    for (std::size_t i = 0; i < times.size(); ++i) {
      for (std::size_t b = 0; b < h.buckets.size() && b < h.bounds.size(); ++b) {
        if (auto inc = store.increase(h.buckets[b], times[i], Duration(step_ms))) buckets[i][h.bounds[b]] += *inc;
      }
      if (auto inc = increaseAt(store, h.count, times[i], step_ms)) addTo(rate[i], inc->value / inc->seconds);
    }
  });
  const double q = rule.kind == rules::RuleKind::latency_drift ? rule.drift.quantile
                   : rule.kind == rules::RuleKind::burn_rate   ? 0.99
                                                               : rule.threshold.quantile;
  std::vector<double> quantile(times.size(), NAN);
  std::vector<Bucket> b;
  for (std::size_t i = 0; i < times.size(); ++i) {
    if (buckets[i].empty()) continue;
    b.clear();
    for (const auto& [bound, count] : buckets[i]) b.push_back({bound, count});
    quantile[i] = bucketQuantile(q, b).value;
  }
  chart.lines.push_back({fmt::format("p{}", q * 100), "seconds", std::move(quantile)});
  chart.lines.push_back({"requests/s", "1/s", std::move(rate)});
}

void signalChart(const store::SeriesStore& store, const rules::Rule& rule, const rules::OwnedLabels& endpoint,
                 std::int64_t step_ms, EndpointChart& chart) {
  const bool anomaly = rule.kind == rules::RuleKind::anomaly;
  const std::optional<Selector>& gauge = anomaly ? rule.anomaly.gauge : rule.threshold.gauge;
  const std::optional<Selector>& counter = anomaly ? rule.anomaly.counter : rule.threshold.counter;
  const Selector* selector = gauge ? &*gauge : counter ? &*counter : nullptr;
  chart.kind = gauge ? "gauge" : "rate";
  const auto& times = chart.times_ms;
  std::vector<double> values(times.size(), NAN);
  if (selector) {
    store.forEachSeries([&](store::SeriesId id, std::string_view name, const store::LabelPairs& labels) {
      if (!selector->matches(name, labels) || !ofEndpoint(name, labels, endpoint)) return;
      for (std::size_t i = 0; i < times.size(); ++i) {
        if (gauge) {
          if (auto p = store.pointAt(id, times[i], Duration(step_ms))) addTo(values[i], p->value);
        } else if (auto inc = increaseAt(store, id, times[i], step_ms)) {
          addTo(values[i], inc->value / inc->seconds);
        }
      }
    });
  }
  chart.lines.push_back({selector ? selector->str() : rule.name, "", std::move(values)});
}

}  // namespace

bool ofEndpoint(std::string_view name, const store::LabelPairs& labels, const rules::OwnedLabels& endpoint) {
  for (const auto& label : endpoint) {
    if (label.first == "histogram") {
      if (name != label.second) return false;
      continue;
    }
    const bool has = std::any_of(labels.begin(), labels.end(),
                                 [&](const auto& l) { return l.first == label.first && l.second == label.second; });
    if (!has) return false;
  }
  return true;
}

EndpointChart endpointChart(const store::SeriesStore& store, const rules::Rule& rule,
                            const rules::OwnedLabels& endpoint, double firing_threshold, std::int64_t from_ms,
                            std::int64_t to_ms, std::int64_t step_ms) {
  EndpointChart chart;
  chart.threshold = firing_threshold;
  step_ms = std::max<std::int64_t>(1, step_ms);
  for (std::int64_t t = from_ms + step_ms; t <= to_ms; t += step_ms) chart.times_ms.push_back(t);
  const Selector* histogram = nullptr;
  if (rule.kind == rules::RuleKind::latency_drift || rule.kind == rules::RuleKind::latency_threshold) {
    histogram = &rule.histogram;
  } else if (rule.kind == rules::RuleKind::burn_rate && rule.burn.histogram) {
    histogram = &*rule.burn.histogram;
  }
  if (rule.kind == rules::RuleKind::burn_rate && rule.burn.errors && rule.burn.total) {
    // Availability: the share of failed requests per step, against the share at which the burn rate pages.
    chart.kind = "errors";
    chart.threshold = firing_threshold * (1 - rule.burn.objective);
    errorsChart(store, rule, endpoint, step_ms, chart);
  } else if (histogram) {
    chart.kind = "latency";
    latencyChart(store, rule, *histogram, endpoint, step_ms, chart);
  } else {
    signalChart(store, rule, endpoint, step_ms, chart);
  }
  return chart;
}

}  // namespace hotspotd::detectors
