#include "detectors/hotspots.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include "detectors/endpoint.h"

namespace hotspotd::detectors {
namespace {

struct Group {
  std::string histogram;
  rules::OwnedLabels endpoint;
  std::vector<store::HistogramId> histograms;
  double count = 0, sum = 0, seconds = 0;
};

// Increase of a series over [t - window, t], or over the part of it the store has (a young series).
std::optional<std::pair<double, double>> increaseSince(const store::SeriesStore& store, store::SeriesId id,
                                                       std::int64_t t_ms, Duration window) {
  const auto last = store.pointAt(id, t_ms, std::chrono::minutes(5));
  const auto first = store.firstPointIn(id, t_ms - window.count(), t_ms);
  if (!last || !first || last->t_ms <= first->t_ms) return std::nullopt;
  return std::pair{last->value - first->value, static_cast<double>(last->t_ms - first->t_ms) / 1000.0};
}

bool covers(const DriftMark& mark, const std::string& histogram, const rules::OwnedLabels& endpoint) {
  if (!mark.metric.empty() && mark.metric != histogram) return false;
  for (const auto& label : mark.endpoint) {
    if (label.first == "histogram" && mark.metric.empty()) {
      if (label.second != histogram) return false;
      continue;
    }
    const auto it =
        std::find_if(endpoint.begin(), endpoint.end(), [&](const auto& l) { return l.first == label.first; });
    if (it == endpoint.end() || it->second != label.second) return false;
  }
  return true;
}

}  // namespace

HotspotTable rankHotspots(const store::SeriesStore& store, std::int64_t t_ms, Duration window,
                          const std::vector<DriftMark>& drift, std::size_t limit) {
  HotspotTable table;
  table.t_ms = t_ms;
  table.window = window;

  std::map<std::string, Group> groups;  // by family and endpoint
  store.forEachHistogram([&](const store::HistogramView& h) {
    if (h.name.size() < 8 || h.name.substr(h.name.size() - 8) != "_seconds") return;
    if (h.sum == store::kNoId || h.count == store::kNoId) return;
    rules::OwnedLabels endpoint;
    for (const auto& [k, v] : h.labels) {
      if (k != "le" && k != "instance") endpoint.emplace_back(std::string(k), std::string(v));
    }
    std::string key = std::string(h.name) + '\xfd' + endpointKey(endpoint);
    Group& g = groups[key];
    if (g.histograms.empty()) {
      g.histogram = std::string(h.name);
      g.endpoint = std::move(endpoint);
    }
    g.histograms.push_back(h.id);
    const auto count = increaseSince(store, h.count, t_ms, window);
    const auto sum = increaseSince(store, h.sum, t_ms, window);
    if (!count || !sum) return;
    g.count += count->first;
    g.sum += sum->first;
    g.seconds = std::max(g.seconds, count->second);
  });

  // Drift marks: by key for rules grouped by every label (the mark's endpoint is the hotspot's), a scan for the
  // few with a `by` of their own (their endpoint is a subset of the hotspot's labels).
  auto familyOf = [](const DriftMark& m) -> std::string {
    if (!m.metric.empty()) return m.metric;
    for (const auto& [k, v] : m.endpoint) {
      if (k == "histogram") return v;
    }
    return {};
  };
  std::unordered_map<std::string, std::vector<const DriftMark*>> exact;
  std::vector<const DriftMark*> partial;
  for (const DriftMark& m : drift) {
    if (!m.all_labels) {
      partial.push_back(&m);
      continue;
    }
    rules::OwnedLabels labels;
    for (const auto& l : m.endpoint) {
      if (!(l.first == "histogram" && m.metric.empty())) labels.push_back(l);
    }
    exact[familyOf(m) + '\xfd' + endpointKey(labels)].push_back(&m);
  }

  std::map<std::string, double> family_time;
  std::vector<Hotspot> all;
  all.reserve(groups.size());
  for (auto& [key, g] : groups) {
    Hotspot h;
    h.histogram = g.histogram;
    h.endpoint = std::move(g.endpoint);
    if (g.seconds > 0) {
      h.request_rate = g.count / g.seconds;
      h.time_rate = g.sum / g.seconds;
      if (g.count > 0) h.mean_seconds = g.sum / g.count;
    }
    family_time[h.histogram] += h.time_rate;
    all.push_back(std::move(h));
  }
  for (Hotspot& h : all) {
    const double total = family_time[h.histogram];
    h.share = total > 0 ? h.time_rate / total : 0;
    auto consider = [&](const DriftMark& m) {
      if (!h.drift || m.firing > h.drift->firing || (m.firing == h.drift->firing && m.ratio > h.drift->ratio)) {
        h.drift = m;
      }
    };
    if (auto it = exact.find(h.histogram + '\xfd' + endpointKey(h.endpoint)); it != exact.end()) {
      for (const DriftMark* m : it->second) consider(*m);
    }
    for (const DriftMark* m : partial) {
      if (covers(*m, h.histogram, h.endpoint)) consider(*m);
    }
    h.rank = h.share * std::max(1.0, h.drift ? h.drift->ratio : 1.0);
  }
  std::sort(all.begin(), all.end(), [](const Hotspot& a, const Hotspot& b) {
    if (a.rank != b.rank) return a.rank > b.rank;
    return a.time_rate > b.time_rate;
  });
  table.endpoints = all.size();
  if (all.size() > limit) all.resize(limit);

  // Quantiles for the ones shown, from bucket increases over the window, summed over instances of one layout.
  for (Hotspot& h : all) {
    std::string key = h.histogram + '\xfd' + endpointKey(h.endpoint);
    const Group& g = groups[key];
    std::vector<Bucket> buckets;
    for (store::HistogramId id : g.histograms) {
      const auto layout = store.layout(id);
      if (!layout || layout->bounds.empty() || !std::isinf(layout->bounds.back())) continue;
      if (buckets.empty()) {
        for (double b : layout->bounds) buckets.push_back(Bucket{b, 0});
      } else if (buckets.size() != layout->bounds.size() ||
                 !std::equal(layout->bounds.begin(), layout->bounds.end(), buckets.begin(),
                             [](double b, const Bucket& have) { return b == have.upper_bound; })) {
        continue;  // another layout: left out of the quantiles
      }
      for (std::size_t i = 0; i < layout->bounds.size(); ++i) {
        const auto inc = increaseSince(store, layout->buckets[i], t_ms, window);
        if (inc) buckets[i].count += inc->first;
      }
    }
    if (buckets.empty() || buckets.back().count <= 0) continue;
    h.p50 = bucketQuantile(0.5, buckets);
    h.p99 = bucketQuantile(0.99, buckets);
  }
  table.hotspots = std::move(all);
  return table;
}

}  // namespace hotspotd::detectors
