#include "detectors/drift.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "detectors/endpoint.h"
#include "detectors/quantile.h"

namespace hotspotd::detectors {
namespace {

// How far back the point "at" a time may be. A target scraped less often than the rules are evaluated (every 60 s,
// evaluations every 15 s) has its newest point up to one scrape interval back, and old points are in the store's
// coarse tier, one per coarse step: both are covered by a coarse step and an evaluation interval. A longer silence
// is a gap, and the steps across it are left out.
Duration pointLookback(const store::SeriesStore& store, Duration step) {
  return std::max<Duration>({step * 2, std::chrono::seconds(30), store.config().coarse_step + step});
}

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

constexpr std::int64_t kSlots = 12;
// An endpoint below kQuietFactor x min_rate is judged over a window up to kQuietFactor times the rule's.
constexpr double kQuietFactor = 4.0;

std::int64_t floorTo(std::int64_t t, std::int64_t step) {
  const std::int64_t q = t / step;
  return (q - ((t % step) < 0 ? 1 : 0)) * step;
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
  // Endpoints that are gone take their baselines with them, unless they can still be used when the endpoint comes
  // back: one restored from before a restart (frozen, or less than a baseline window old), or one whose series the
  // store dropped in a scrape gap (less than a baseline window since it was computed or the endpoint was active;
  // what it held of the old series is let go). Of the latter, at most as many as there are endpoints (and 1,024),
  // the newest, so that endpoints coming and going (a label churning) cannot grow the detector.
  const std::int64_t baseline = rule_.drift.baseline.count();
  std::vector<std::pair<std::int64_t, std::string>> gone;
  for (auto it = states_.begin(); it != states_.end();) {
    State& st = it->second;
    if (grouped.contains(it->first)) {
      ++it;
      continue;
    }
    const std::int64_t since = std::max(st.computed_ms, st.last_active_ms);
    const bool usable =
        st.restored ? st.frozen || t_ms - st.computed_ms <= baseline : !st.baseline.empty() && t_ms - since <= baseline;
    if (!usable) {
      it = states_.erase(it);
      continue;
    }
    if (!st.restored) {
      st.slots = Slots{};
      st.recent = {};
      gone.emplace_back(since, it->first);
    }
    ++it;
  }
  const std::size_t keep = std::max<std::size_t>(1024, endpoints_.size());
  if (gone.size() > keep) {
    std::nth_element(gone.begin(), gone.begin() + static_cast<std::ptrdiff_t>(gone.size() - keep), gone.end());
    for (std::size_t i = 0; i < gone.size() - keep; ++i) states_.erase(gone[i].second);
  }
  for (Endpoint& ep : endpoints_) ep.state = &states_[ep.key];
  grouped_version_ = store.histogramsVersion();
}

std::int64_t DriftDetector::slotMs(Duration step) const {
  return std::max<std::int64_t>({1, step.count(), rule_.drift.baseline.count() / kSlots});
}

void DriftDetector::advanceSlots(const store::SeriesStore& store, Slots& slots,
                                 const std::vector<store::SeriesStore::Layout>& hs, std::int64_t window_start,
                                 std::int64_t layout_since, Duration step) const {
  const std::int64_t slot = slotMs(step);
  const std::int64_t end_mark = floorTo(window_start, slot);
  const std::size_t nb = hs.front().bounds.size();
  if (slots.layout_since_ms != layout_since || slots.last_counts.size() != nb) {
    slots = Slots{};
    slots.layout_since_ms = layout_since;
  }
  if (slots.last_mark_ms >= end_mark) return;
  const Duration lookback = pointLookback(store, step);
  const std::int64_t baseline = rule_.drift.baseline.count();

  // The marks to read, newest first: only the newest when the slots are filled, the whole window otherwise.
  std::vector<std::int64_t> marks;
  for (std::int64_t m = end_mark; m > slots.last_mark_ms && m >= end_mark - baseline && m >= layout_since; m -= slot) {
    marks.push_back(m);
    if (slots.last_mark_ms >= 0) break;
  }
  if (marks.empty()) return;
  std::vector<std::vector<double>> counts(marks.size(), std::vector<double>(nb, 0));
  std::vector<bool> complete(marks.size(), true);
  std::vector<std::optional<store::Point>> points(marks.size());
  for (const auto& h : hs) {
    for (std::size_t b = 0; b < nb; ++b) {
      store.pointsAt(h.buckets[b], marks, lookback, points);
      for (std::size_t k = 0; k < marks.size(); ++k) {
        if (points[k]) {
          counts[k][b] += points[k]->value;
        } else {
          complete[k] = false;
        }
      }
    }
  }
  if (slots.sum.empty()) {
    slots.sum.assign(nb, 0);
    slots.starts.assign(kSlots + 1, 0);
    slots.deltas.assign((kSlots + 1) * nb, 0);
  }
  const std::size_t capacity = slots.starts.size();
  // Oldest first: each complete mark closes a slot that starts at the previous one.
  for (std::size_t k = marks.size(); k-- > 0;) {
    if (!complete[k]) continue;  // a gap: the next complete mark's slot spans it
    if (slots.last_mark_ms >= 0) {
      if (slots.size == capacity) {  // cannot happen with marks a slot apart; kept safe
        for (std::size_t b = 0; b < nb; ++b) slots.sum[b] -= slots.deltas[slots.head * nb + b];
        slots.head = (slots.head + 1) % capacity;
        --slots.size;
      }
      const std::size_t at = (slots.head + slots.size) % capacity;
      bool fits = true;
      for (std::size_t b = 0; b < nb; ++b) {
        const double d = counts[k][b] - slots.last_counts[b];
        fits = fits && d >= 0 && d <= 4294967295.0 && d == std::floor(d);
        slots.deltas[at * nb + b] = fits ? static_cast<std::uint32_t>(d) : 0;
      }
      if (!fits) {
        // Not request counts (fractional, or beyond 2^32 a slot): start over from the store next time.
        slots = Slots{};
        slots.layout_since_ms = layout_since;
        return;
      }
      slots.starts[at] = slots.last_mark_ms;
      for (std::size_t b = 0; b < nb; ++b) slots.sum[b] += slots.deltas[at * nb + b];
      ++slots.size;
    }
    slots.last_counts = counts[k];
    slots.last_mark_ms = marks[k];
    ++slots.version;
  }
  // Slots that start before the baseline window leave it.
  while (slots.size > 0 && slots.starts[slots.head] < end_mark - baseline) {
    for (std::size_t b = 0; b < nb; ++b) slots.sum[b] -= slots.deltas[slots.head * nb + b];
    slots.head = (slots.head + 1) % capacity;
    --slots.size;
    ++slots.version;
  }
}

void DriftDetector::prefetch(const store::SeriesStore& store, std::size_t j, int stage) const {
  if (j >= endpoints_.size()) return;
  const Endpoint& e = endpoints_[j];
  const State& st = *e.state;
  if (stage == 0) {
    __builtin_prefetch(&st);
    __builtin_prefetch(e.histograms.data());
  } else if (stage == 1) {
    __builtin_prefetch(st.recent.data());
    __builtin_prefetch(st.baseline.data());
    __builtin_prefetch(st.slots.starts.data());
    __builtin_prefetch(st.slots.sum.data());
  } else if (stage == 2) {
    for (const Recent& r : st.recent) __builtin_prefetch(r.points.data());
  }
  for (store::HistogramId id : e.histograms) {
    if (stage == 0) {
      store.prefetchHistogram(id);
    } else if (stage == 1) {
      store.prefetchLayout(id);
    } else if (auto l = store.layout(id); l && !l->buckets.empty()) {
      const store::SeriesId inf = l->buckets.back();
      const store::SeriesId u = st.last_u < l->buckets.size() ? l->buckets[st.last_u] : inf;
      if (stage == 2) {
        store.prefetchSeries(inf);
        store.prefetchSeries(u);
      } else {
        store.prefetchNewest(inf);
        store.prefetchNewest(u);
      }
    }
  }
}

void DriftDetector::endpointLayouts(const store::SeriesStore& store, const Endpoint& endpoint,
                                    std::vector<store::SeriesStore::Layout>& hs) const {
  hs.clear();
  for (store::HistogramId id : endpoint.histograms) {
    auto l = store.layout(id);
    if (!l || l->bounds.size() < 2 || !std::isinf(l->bounds.back())) continue;
    if (!hs.empty() &&
        !std::equal(l->bounds.begin(), l->bounds.end(), hs.front().bounds.begin(), hs.front().bounds.end())) {
      continue;
    }
    hs.push_back(*l);
  }
}

std::optional<std::string> DriftDetector::updateBaseline(const store::SeriesStore& store, State& st,
                                                         const std::vector<store::SeriesStore::Layout>& hs,
                                                         std::int64_t t_ms, std::int64_t window_ms,
                                                         std::int64_t layout_since, Duration step) const {
  const rules::DriftParams& p = rule_.drift;
  const std::size_t nb = hs.front().bounds.size();
  const auto& bounds = hs.front().bounds;
  if (!st.baseline.empty() &&
      (st.baseline.size() != nb || !std::equal(bounds.begin(), bounds.end(), st.baseline.begin(),
                                               [](double b, const auto& c) { return b == c.first; }))) {
    st = State{};  // another layout: what was learned in the old one does not apply
  }
  advanceSlots(store, st.slots, hs, t_ms - window_ms, layout_since, step);
  const Slots& slots = st.slots;
  const std::int64_t covered = slots.size > 0 ? slots.last_mark_ms - slots.starts[slots.head] : 0;
  if (st.frozen) return std::nullopt;
  if (covered >= p.baseline.count() / 4) {
    // After an incident the slots still hold it until they have moved past its last active evaluation: the
    // baseline it was judged against stands until then, so a regression that comes back is not judged against
    // the first one.
    if (!st.baseline.empty() && slots.starts[slots.head] < st.last_active_ms) return std::nullopt;
    if (st.baseline_version != slots.version || st.restored || st.baseline.size() != nb) {
      st.baseline.resize(nb);
      for (std::size_t b = 0; b < nb; ++b) st.baseline[b] = {bounds[b], slots.sum[b]};
      st.baseline_version = slots.version;
      st.computed_ms = t_ms;
      st.span_ms = covered;
      st.layout_since_ms = layout_since;
      st.restored = false;
    }
    return std::nullopt;
  }
  // Not enough history in the slots: a baseline of the same bounds from before (saved before a restart, or kept
  // while the store had dropped the endpoint's series in a scrape gap) stands in for at most one baseline window
  // while they fill again, so a regression that begins meanwhile is judged against the traffic before it.
  if (!st.baseline.empty() && t_ms - st.computed_ms <= p.baseline.count()) return std::nullopt;
  st.baseline.clear();
  st.restored = false;
  return slots.last_mark_ms < 0 ? "missing data at the edges of the baseline window"
                                : "not enough history in this bucket layout for a baseline";
}

DriftDetector::WindowCounts DriftDetector::countWindow(const store::SeriesStore& store, State& st,
                                                       const std::vector<store::SeriesStore::Layout>& hs, std::size_t u,
                                                       double p0, std::int64_t t_ms, std::int64_t window_ms,
                                                       std::int64_t layout_since, Duration step) {
  const Duration lookback = pointLookback(store, step);
  const std::size_t nb = hs.front().bounds.size();
  Scratch& s = scratch_;
  const std::int64_t step_ms = std::max<std::int64_t>(1, step.count());
  // A target scraped less often than the rules are evaluated has few scrapes in the window: judged over at least
  // four of its scrape intervals (the gap between the newest two points held), so that the spread test below has
  // scrapes to compare and a single slow scrape is not half the window.
  if (!st.recent.empty() && st.recent.front().points.size() >= 2) {
    const auto& held = st.recent.front().points;  // newest first
    window_ms = std::max(window_ms, 4 * (held[0].t_ms - held[1].t_ms));
  }
  const auto steps = static_cast<std::size_t>(std::max<std::int64_t>(1, window_ms / step_ms));
  s.times.clear();
  for (std::size_t i = 0; i <= steps; ++i) {
    const std::int64_t at = t_ms - static_cast<std::int64_t>(i) * step_ms;
    if (at < layout_since) break;
    s.times.push_back(at);
  }
  const std::size_t nsteps = s.times.size() > 0 ? s.times.size() - 1 : 0;
  s.step_total.assign(nsteps, 0);
  s.step_under.assign(nsteps, 0);
  s.step_ok.assign(nsteps, 1);
  s.step_scraped.assign(nsteps, 0);
  s.points.resize(s.times.size());
  st.recent.resize(2 * hs.size());
  const std::int64_t keep_from = s.times.empty() ? t_ms : s.times.back() - lookback.count();
  for (std::size_t hi = 0; hi < hs.size(); ++hi) {
    const auto& h = hs[hi];
    for (std::size_t which = 0; which < 2; ++which) {
      Recent& r = st.recent[2 * hi + which];
      const store::SeriesId id = which == 0 ? h.buckets[nb - 1] : h.buckets[u];
      if (r.id != id) r = Recent{id, std::numeric_limits<std::int64_t>::min(), {}};
      s.fresh.clear();
      store.pointsSince(id, std::max(r.newest_ms, keep_from - 1), s.fresh, r.newest_ms);
      if (!s.fresh.empty()) r.points.insert(r.points.begin(), s.fresh.begin(), s.fresh.end());
      while (!r.points.empty() && r.points.back().t_ms < keep_from) r.points.pop_back();
      // The point for each time: the newest at or before it, within the lookback.
      std::size_t k = 0;
      for (std::size_t i = 0; i < s.times.size(); ++i) {
        while (k < r.points.size() && r.points[k].t_ms > s.times[i]) ++k;
        s.points[i] = k < r.points.size() && s.times[i] - r.points[k].t_ms <= lookback.count()
                          ? std::optional<store::Point>(r.points[k])
                          : std::nullopt;
      }
      std::vector<double>& into = which == 0 ? s.step_total : s.step_under;
      for (std::size_t i = 0; i + 1 < s.times.size(); ++i) {
        if (!s.points[i] || !s.points[i + 1]) {
          s.step_ok[i] = 0;  // a gap: that step is left out
          continue;
        }
        into[i] += s.points[i]->value - s.points[i + 1]->value;
        if (s.points[i]->t_ms != s.points[i + 1]->t_ms) s.step_scraped[i] = 1;
      }
    }
  }
  WindowCounts c;
  c.seconds = static_cast<double>(steps * step_ms) / 1000.0;
  s.excess.clear();
  for (std::size_t i = 0; i < s.step_total.size(); ++i) {
    if (!s.step_ok[i]) continue;
    const double ni = s.step_total[i], xi = s.step_total[i] - s.step_under[i];
    c.n += ni;
    c.x += xi;
    // Steps without a scrape (the target is scraped less often than the rules run) carry nothing to compare.
    if (s.step_scraped[i]) s.excess.push_back(xi - ni * p0);
  }
  // Spread: the two worst scrape intervals may hold at most 75% of the excess.
  double positive = 0, top2 = 0;
  std::sort(s.excess.begin(), s.excess.end(), std::greater<>());
  for (double e : s.excess) positive += std::max(e, 0.0);
  for (std::size_t i = 0; i < std::min<std::size_t>(2, s.excess.size()); ++i) top2 += std::max(s.excess[i], 0.0);
  // Fewer than three scrapes in a window of three steps or more (a gap, a target scraped rarely) cannot show that
  // the excess is spread: refused, as a single slow scrape would be. Only a window shorter than three steps is
  // judged without the test.
  c.spread = s.excess.size() < 3 ? nsteps < 3 : positive <= 0 || top2 <= 0.75 * positive;
  return c;
}

QuantileEstimate DriftDetector::windowQuantile(const store::SeriesStore& store,
                                               const std::vector<store::SeriesStore::Layout>& hs, std::int64_t t_ms,
                                               std::int64_t window_ms, Duration step) const {
  const rules::DriftParams& p = rule_.drift;
  const Duration lookback = pointLookback(store, step);
  const std::size_t nb = hs.front().bounds.size();
  std::vector<Bucket> now(nb);
  const std::int64_t ends[2] = {t_ms, t_ms - window_ms};
  std::optional<store::Point> end_points[2];
  for (std::size_t b = 0; b < nb; ++b) now[b] = Bucket{hs.front().bounds[b], 0};
  for (const auto& h : hs) {
    for (std::size_t b = 0; b < nb; ++b) {
      store.pointsAt(h.buckets[b], ends, lookback, end_points);
      if (!end_points[0] || !end_points[1]) return QuantileEstimate{NAN, NAN, NAN};
      now[b].count += end_points[0]->value - end_points[1]->value;
    }
  }
  return bucketQuantile(p.quantile, now);
}

std::int64_t DriftDetector::judgedWindowMs(const State& st) const {
  // At 0.5 requests/s a two-minute window holds 60 requests: a tail regression of one request in ten shows as about
  // six slow ones, which chance alone splits into too few (x < 5) or too clustered (the spread test) at every other
  // evaluation, so `for` never completes. Over a window that holds 240 requests it holds 24 of them.
  const rules::DriftParams& p = rule_.drift;
  const std::int64_t window = p.window.count();
  if (st.baseline.empty() || st.span_ms <= 0 || p.min_rate <= 0) return window;
  const double rate = st.baseline.back().second * 1000.0 / static_cast<double>(st.span_ms);
  const double enough = kQuietFactor * p.min_rate;
  if (rate >= enough) return window;
  const double factor = rate > 0 ? std::min(kQuietFactor, enough / rate) : kQuietFactor;
  return static_cast<std::int64_t>(static_cast<double>(window) * factor);
}

void DriftDetector::track(State& st, bool active, std::int64_t t_ms) const {
  if (active) {
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
}

std::vector<rules::Finding> DriftDetector::evaluate(const store::SeriesStore& store, std::int64_t t_ms, Duration step) {
  if (grouped_version_ != store.histogramsVersion()) regroup(store, t_ms);

  const rules::DriftParams& p = rule_.drift;
  std::vector<rules::Finding> out;
  out.reserve(endpoints_.size());
  std::vector<store::SeriesStore::Layout>& hs = scratch_.layouts;
  for (std::size_t next = 0; next < endpoints_.size(); ++next) {
    // The endpoints' records are all over memory: fetch them a few endpoints ahead, each stage once the one
    // before is in cache (histogram, its layout, the two series read, their newest points).
    prefetch(store, next + 16, 0);
    prefetch(store, next + 12, 1);
    prefetch(store, next + 8, 2);
    prefetch(store, next + 4, 3);
    const Endpoint& endpoint = endpoints_[next];
    // The layouts of this endpoint's histograms; one layout per endpoint (the first seen), +Inf last.
    endpointLayouts(store, endpoint, hs);
    if (hs.empty()) continue;
    rules::Finding f;
    f.endpoint = endpoint.labels;
    auto notJudged = [&](std::string why) {
      f.judged = false;
      f.reason = std::move(why);
      out.push_back(f);
    };
    State& st = *endpoint.state;
    std::int64_t layout_since = 0;
    for (const auto& h : hs) layout_since = std::max(layout_since, h.layout_since_ms);

    // 1. The baseline: the slots' sum over the window before the judged one, in this layout only; or frozen.
    // The judged window follows the baseline's rate as it stood (a quiet endpoint's is longer); the baseline ends
    // where it begins.
    const std::int64_t window_ms = judgedWindowMs(st);
    if (auto why = updateBaseline(store, st, hs, t_ms, window_ms, layout_since, step)) {
      notJudged(std::move(*why));
      continue;
    }
    const std::size_t nb = hs.front().bounds.size();
    std::vector<Bucket> base(nb);
    for (std::size_t b = 0; b < nb; ++b) base[b] = Bucket{st.baseline[b].first, st.baseline[b].second};
    const double n0 = base.back().count;
    if (n0 < 10.0 / (1.0 - p.quantile)) {
      notJudged(fmt::format("baseline has {} requests, too few for its p{}", n0, p.quantile * 100));
      continue;
    }
    // 2. The bound u: the bucket the baseline quantile lies in, and the baseline share p0 above it.
    const QuantileEstimate base_q = bucketQuantile(p.quantile, base);
    std::size_t u = 0;
    while (u < nb - 1 && base[u].count < p.quantile * n0) ++u;
    if (u >= nb - 1) {
      notJudged("the baseline quantile is already past the last finite bucket");
      continue;
    }
    const double p0 = (n0 - base[u].count + 0.5) / (n0 + 1.0);
    st.last_u = u;

    // 3. The judged window: requests n and requests above u, x, step by step.
    const WindowCounts c = countWindow(store, st, hs, u, p0, t_ms, window_ms, layout_since, step);
    if (c.n < p.min_rate * c.seconds || c.n < 1) {
      notJudged(fmt::format("{} requests in the window, below min_rate", c.n));
      continue;
    }
    // 4. The test: more above u than chance allows under p0, by enough, and not from one interval.
    const double share = c.x / c.n;
    const double z = (c.x - c.n * p0) / std::sqrt(c.n * p0 * (1 - p0));
    double confidence = 1 - 0.5 * std::erfc(z / std::sqrt(2.0));
    // The normal approximation overstates significance when few slow requests are expected (9 seen where 2.2 are
    // expected: z 4.6, confidence 0.999998; the binomial tail: 0.99957), and p0 is itself a count: a quiet
    // endpoint's hour holds a few dozen slow requests, or a few. A count z finds significant (only such candidates
    // pay for it) is confirmed by an exact two-sample test: of the x0 + x slow requests of the baseline and the
    // window together, the window's are Binomial(x0 + x, n / (n0 + n)) if both share one rate.
    bool significant = z >= z_crit_;
    if (significant) {
      const double x0 = n0 - base[u].count;
      confidence = 1 - binomialUpperTail(x0 + c.x, c.x, c.n / (n0 + c.n));
      significant = confidence >= p.confidence;
    }
    f.judged = true;
    // Significant by count is not enough: the share above the bound must also rise by an amount an on-call would
    // act on (min_excess), or a busy endpoint pages for a few extra slow requests in thousands.
    const double min_excess = p.minExcess();
    const bool large_enough = share - p0 >= min_excess;
    f.active = significant && share >= p.sensitivity * p0 && large_enough && c.x >= 5 && c.spread;
    // The current quantile over the window, for the page: only needed when an incident may fire or resolve, so
    // only read while the endpoint is active or was until recently (the resolve event comes keep_firing_for after
    // the condition clears); otherwise it would cost twelve more walks an evaluation.
    const auto judged_ms = static_cast<std::int64_t>(c.seconds * 1000);
    const bool recently_active =
        st.last_active_ms > 0 && t_ms - st.last_active_ms <= rule_.keep_firing_for.count() + judged_ms + 60'000;
    const QuantileEstimate now_q = f.active || recently_active ? windowQuantile(store, hs, t_ms, judged_ms, step)
                                                               : QuantileEstimate{NAN, NAN, NAN};
    f.value = now_q.value;
    f.threshold = base_q.value;
    f.score = p0 > 0 ? share / p0 : NAN;
    track(st, f.active, t_ms);
    if (!f.active && !recently_active && z < z_crit_) {
      // Quiet: the evidence and its account are read for transitions (the endpoint active now or lately) and to
      // explain a near miss (significant by count, refused on effect size or spread); building them for every
      // quiet endpoint would cost more than judging it.
      out.push_back(std::move(f));
      continue;
    }
    f.evidence = {{"bound_seconds", base[u].upper_bound},
                  {"baseline_share_above_bound", p0},
                  {"share_above_bound", share},
                  {"requests", c.n},
                  {"window_seconds", c.seconds},
                  {"requests_above_bound", c.x},
                  {"baseline_requests", n0},
                  {"confidence", confidence},
                  {"min_excess", min_excess},
                  {"baseline_quantile_lower", base_q.lower},
                  {"baseline_quantile_upper", base_q.upper},
                  {"quantile_lower", now_q.lower},
                  {"quantile_upper", now_q.upper}};
    f.reason = fmt::format(
        "{:.2f}% of {} requests over the last {} took longer than {}s, against {:.2f}% over the {} "
        "before: {} (confidence {:.5f}){}{}",
        share * 100, c.n, formatDuration(std::chrono::milliseconds(static_cast<std::int64_t>(c.seconds * 1000))),
        base[u].upper_bound, p0 * 100, formatDuration(p.baseline),
        share > p0 ? fmt::format("{:.1f} times the share, {:.2f} points more", share / p0, (share - p0) * 100)
                   : fmt::format("{:.2f} points less", (p0 - share) * 100),
        confidence, large_enough ? "" : fmt::format(", a rise under min_excess ({:.2f} points)", min_excess * 100),
        c.spread ? "" : ", concentrated in one interval");
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
                                         {"span_ms", st.span_ms},
                                         {"frozen", st.frozen},
                                         {"last_active_ms", st.last_active_ms},
                                         {"clear_since_ms", st.clear_since_ms}});
  }
  return out;
}

void DriftDetector::restoreState(const std::vector<std::pair<std::string, nlohmann::json>>& states) {
  // The state file is read back as written, but a damaged one must not stop the daemon or judge with nonsense: a
  // state that is not a baseline (increasing finite bounds, cumulative counts that never fall) is skipped, and its
  // endpoint learns afresh.
  auto integer = [](const nlohmann::json& j, const char* name, std::int64_t otherwise) {
    const auto it = j.find(name);
    return it != j.end() && it->is_number_integer() ? it->get<std::int64_t>() : otherwise;
  };
  for (const auto& [key, j] : states) {
    if (!j.is_object()) continue;
    const auto bounds = j.find("bounds");
    const auto counts = j.find("counts");
    if (bounds == j.end() || counts == j.end() || !bounds->is_array() || !counts->is_array() || bounds->empty() ||
        counts->size() != bounds->size() + 1) {
      continue;
    }
    State st;
    bool valid = true;
    for (std::size_t i = 0; i < counts->size() && valid; ++i) {
      const auto& b = i < bounds->size() ? (*bounds)[i] : nlohmann::json(nullptr);
      const auto& c = (*counts)[i];
      const double bound = i < bounds->size() && b.is_number() ? b.get<double>() : INFINITY;
      const double count = c.is_number() ? c.get<double>() : NAN;
      valid = (i == bounds->size() || (b.is_number() && std::isfinite(bound))) && std::isfinite(count) && count >= 0 &&
              (st.baseline.empty() || (bound > st.baseline.back().first && count >= st.baseline.back().second));
      st.baseline.emplace_back(bound, count);
    }
    if (!valid) continue;
    st.computed_ms = integer(j, "computed_ms", 0);
    st.span_ms = integer(j, "span_ms", 0);
    if (st.span_ms <= 0) st.span_ms = rule_.drift.baseline.count();  // saved before the span was
    const auto frozen = j.find("frozen");
    st.frozen = frozen != j.end() && frozen->is_boolean() && frozen->get<bool>();
    st.last_active_ms = integer(j, "last_active_ms", 0);
    st.clear_since_ms = integer(j, "clear_since_ms", -1);
    st.restored = true;
    states_[key] = std::move(st);
  }
}

}  // namespace hotspotd::detectors
