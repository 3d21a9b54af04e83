#include "detectors/anomaly.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include <fmt/format.h>

#include "detectors/endpoint.h"

namespace hotspotd::detectors {
namespace {

constexpr std::int64_t kDayS = 24 * 3600;
constexpr std::int64_t kWeekS = 7 * kDayS;
constexpr std::size_t kErrorsKept = 1000;  // errors per prediction the spreads are taken from
constexpr std::size_t kMinErrors = 30;     // errors a prediction needs before it judges
constexpr std::size_t kMinRecent = 30;     // values the recent prediction needs
constexpr std::size_t kSmooth = 6;         // values the slow score averages
constexpr double kSmoothFactor = 1.2;      // the slow score's threshold, over sensitivity
constexpr int kRecentSteps = 72;           // the recent prediction looks back at least this many steps
constexpr std::size_t kStepGaps = 50;      // gaps the series' step is the median of
constexpr std::size_t kResolutionValues = 300;
constexpr std::int64_t kMaxSeconds = 0xFFFFFFFFLL;  // the history's times are unsigned 32-bit seconds

double median(std::vector<double>& v) {
  const std::size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  double m = v[mid];
  if (v.size() % 2 == 0) m = (m + *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid))) / 2;
  return m;
}

// The spread of a prediction's errors: 1.4826 x the median absolute error (the mean absolute error x 1.2533 where
// most errors are zero), at least a fifth (1/sensitivity) of the 99th percentile absolute error.
double errorSpread(const std::deque<float>& errors, double sensitivity) {
  if (errors.size() < kMinErrors) return 0;
  std::vector<double> a;
  a.reserve(errors.size());
  for (float e : errors) a.push_back(std::fabs(static_cast<double>(e)));
  const auto q99 = a.begin() + static_cast<std::ptrdiff_t>(std::min(a.size() - 1, a.size() * 99 / 100));
  std::nth_element(a.begin(), q99, a.end());
  const double tail = *q99;
  double spread = 1.4826 * median(a);
  if (spread == 0) spread = 1.2533 * std::accumulate(a.begin(), a.end(), 0.0) / static_cast<double>(a.size());
  return std::max(spread, tail / sensitivity);
}

// The series' step: the median gap between the newest values (seconds); 0 until there are five gaps.
double stepSeconds(const std::deque<AnomalySample>& h) {
  if (h.size() < 6) return 0;
  std::vector<double> gaps;
  const std::size_t from = h.size() > kStepGaps + 1 ? h.size() - kStepGaps - 1 : 0;
  for (std::size_t i = from + 1; i < h.size(); ++i) gaps.push_back(static_cast<double>(h[i].t_s - h[i - 1].t_s));
  return median(gaps);
}

// The values with times in [from, to].
void valuesIn(const std::deque<AnomalySample>& h, std::int64_t from, std::int64_t to, std::vector<double>& out) {
  auto it =
      std::lower_bound(h.begin(), h.end(), from, [](const AnomalySample& s, std::int64_t t) { return s.t_s < t; });
  for (; it != h.end() && it->t_s <= to; ++it) out.push_back(it->value);
}

bool allowed(const rules::AnomalyParams& p, Prediction m) {
  using S = rules::AnomalyParams::Seasonality;
  switch (p.seasonality) {
    case S::automatic: return true;
    case S::none: return m == Prediction::recent;
    case S::daily: return m == Prediction::daily;
    case S::weekly: return m == Prediction::weekly;
  }
  return false;
}

// How far back the recent prediction looks: `baseline`, and at least 72 of the series' steps.
std::int64_t recentSpanSeconds(const rules::AnomalyParams& p, double step_s) {
  return std::max(std::chrono::duration_cast<std::chrono::seconds>(p.baseline).count(),
                  static_cast<std::int64_t>(kRecentSteps * step_s));
}

// What a prediction says of the value at `t_s`, from the history before it.
std::optional<double> predict(const rules::AnomalyParams& p, const std::deque<AnomalySample>& h, Prediction m,
                              std::int64_t t_s, double step_s) {
  if (h.empty()) return std::nullopt;
  const std::int64_t window_s = std::chrono::duration_cast<std::chrono::seconds>(p.window).count();
  std::vector<double> values;
  if (m == Prediction::recent) {
    const std::int64_t span = recentSpanSeconds(p, step_s);
    valuesIn(h, t_s - span - window_s, t_s - window_s, values);
    if (values.size() < kMinRecent) return std::nullopt;
    return median(values);
  }
  const std::int64_t period = m == Prediction::daily ? kDayS : kWeekS;
  const int periods = m == Prediction::daily ? p.days : p.weeks;
  const auto tolerance = static_cast<std::int64_t>(std::max(1.5 * step_s, 600.0));
  int found = 0;
  for (int d = 1; d <= periods; ++d) {
    const std::int64_t at = t_s - d * period;
    if (at < h.front().t_s) break;
    const std::size_t before = values.size();
    valuesIn(h, at - tolerance, at + tolerance, values);
    if (values.size() > before) ++found;
  }
  if (found < 2) return std::nullopt;
  return median(values);
}

// The data's resolution: the smallest step between distinct values among the newest ones.
double resolution(const std::deque<AnomalySample>& h) {
  std::vector<float> v;
  const std::size_t from = h.size() > kResolutionValues ? h.size() - kResolutionValues : 0;
  for (std::size_t i = from; i < h.size(); ++i) v.push_back(h[i].value);
  std::sort(v.begin(), v.end());
  double step = 0;
  for (std::size_t i = 1; i < v.size(); ++i) {
    const double d = static_cast<double>(v[i]) - static_cast<double>(v[i - 1]);
    if (d > 0 && (step == 0 || d < step)) step = d;
  }
  return step;
}

std::int64_t keptSeconds(const rules::AnomalyParams& p, double step_s) {
  std::int64_t keep = recentSpanSeconds(p, step_s) + std::chrono::duration_cast<std::chrono::seconds>(p.window).count();
  if (allowed(p, Prediction::daily)) keep = std::max(keep, p.days * kDayS + 3600);
  if (allowed(p, Prediction::weekly)) keep = std::max(keep, p.weeks * kWeekS + 3600);
  return keep;
}

template <typename T>
void pushCapped(std::deque<T>& d, T v, std::size_t cap) {
  d.push_back(v);
  while (d.size() > cap) d.pop_front();
}

// Adds a value to the history: first the error every prediction made of it, then the value itself; the spreads
// are brought up to date.
void append(const rules::AnomalyParams& p, AnomalyTrack& track, std::int64_t t_s, double value) {
  const double step_s = stepSeconds(track.history);
  for (int i = 0; i < kPredictions; ++i) {
    const auto m = static_cast<Prediction>(i);
    if (!allowed(p, m) || step_s <= 0) continue;
    const auto predicted = predict(p, track.history, m, t_s, step_s);
    if (!predicted) continue;
    AnomalyTrack::Errors& e = track.errors[i];
    const auto error = static_cast<float>(value - *predicted);
    pushCapped(e.point, error, kErrorsKept);
    pushCapped(e.recent, error, kSmooth);
    if (e.recent.size() == kSmooth) {
      pushCapped(e.smooth, std::accumulate(e.recent.begin(), e.recent.end(), 0.0f) / kSmooth, kErrorsKept);
    }
    track.spread[i] = errorSpread(e.point, p.sensitivity);
    track.smooth_spread[i] = errorSpread(e.smooth, p.sensitivity * kSmoothFactor);
  }
  track.history.push_back({static_cast<std::uint32_t>(t_s), static_cast<float>(value)});
  const std::int64_t keep = keptSeconds(p, stepSeconds(track.history));
  while (!track.history.empty() && track.history.front().t_s < t_s - keep) track.history.pop_front();
  track.resolution = resolution(track.history);
}

// The signal over (t - window, t]: for a gauge the mean of its points, averaged over the series; for a counter the
// rate from the point at (or before) t - window to the newest one, summed over the series. Nothing where no series
// has a point in the window.
std::optional<double> signalAt(const store::SeriesStore& store, const MatchedEndpoint& ep, bool counter,
                               std::int64_t t_ms, const rules::AnomalyParams& p, Duration sample) {
  const std::int64_t window = p.window.count();
  const std::int64_t every = std::max<std::int64_t>(1000, sample.count());
  std::vector<std::int64_t> times;
  for (std::int64_t at = t_ms; at > t_ms - window; at -= every) times.push_back(at);
  std::vector<std::optional<store::Point>> pts(times.size());
  double sum = 0;
  int present = 0;
  for (store::SeriesId id : ep.first) {
    if (counter) {
      const auto last = store.pointAt(id, t_ms, p.window);
      if (!last || last->t_ms <= t_ms - window) continue;
      const auto first = store.pointAt(id, t_ms - window, anomalyHistory(p));
      if (!first || first->t_ms >= last->t_ms) continue;
      sum += (last->value - first->value) / (static_cast<double>(last->t_ms - first->t_ms) / 1000.0);
      ++present;
      continue;
    }
    store.pointsAt(id, times, sample, pts);
    double s = 0;
    int n = 0;
    std::int64_t previous = -1;  // the same point found from two sample times counts once
    for (const auto& pt : pts) {
      if (!pt || pt->t_ms <= t_ms - window || pt->t_ms == previous) continue;
      previous = pt->t_ms;
      s += pt->value;
      ++n;
    }
    if (n == 0) continue;
    sum += s / n;
    ++present;
  }
  if (present == 0) return std::nullopt;
  return counter ? sum : sum / present;
}

}  // namespace

Duration anomalyHistory(const rules::AnomalyParams& p) {
  return std::max(p.baseline + p.window, p.warmup);
}

namespace {

// Judges the value of the window ending at `t_s` and adds it to the history; the judgement goes to `f`.
void judge(const rules::AnomalyParams& p, AnomalyTrack& track, std::int64_t t_s, double value, bool counter,
           rules::Finding& f) {
  const std::int64_t window_s = std::chrono::duration_cast<std::chrono::seconds>(p.window).count();
  const double step_s = stepSeconds(track.history);
  const std::int64_t learned_s = track.history.empty() ? 0 : t_s - track.history.front().t_s;
  // The prediction that judges: the allowed one with the smallest spread (on a tie the recent one).
  int chosen = -1;
  double chosen_spread = 0, expected = 0;
  if (step_s > 0) {
    for (int i = 0; i < kPredictions; ++i) {
      const auto m = static_cast<Prediction>(i);
      if (!allowed(p, m) || track.errors[i].point.size() < kMinErrors) continue;
      const auto predicted = predict(p, track.history, m, t_s, step_s);
      if (!predicted) continue;
      if (chosen < 0 || track.spread[i] < chosen_spread) {
        chosen = i;
        chosen_spread = track.spread[i];
        expected = *predicted;
      }
    }
  }
  const bool warm = learned_s * 1000 >= p.warmup.count();
  if (!warm || chosen < 0) {
    f.judged = false;
    f.active = false;
    f.reason = !warm ? fmt::format("warming up: {} of history, {} needed",
                                   formatDuration(std::chrono::seconds(learned_s)), formatDuration(p.warmup))
                     : fmt::format("learning: {} values of history, no prediction has {} errors yet",
                                   track.history.size(), kMinErrors);
    append(p, track, t_s, value);
    return;
  }

  const AnomalyTrack::Errors& errors = track.errors[chosen];
  const double spread = std::max({track.spread[chosen], 0.01 * std::fabs(expected), track.resolution, 1e-9});
  const double error = value - expected;
  const double score_now = error / spread;
  // The slow score: the mean error of the last values, this one included.
  double slow_sum = error;
  std::size_t slow_n = 1;
  for (auto it = errors.recent.rbegin(); it != errors.recent.rend() && slow_n < kSmooth; ++it, ++slow_n)
    slow_sum += *it;
  double score_slow = 0;
  if (slow_n == kSmooth && errors.smooth.size() >= kMinErrors) {
    const double slow_spread =
        std::max({track.smooth_spread[chosen], 0.01 * std::fabs(expected), track.resolution / kSmooth, 1e-9});
    score_slow = slow_sum / static_cast<double>(kSmooth) / slow_spread / kSmoothFactor;
  }
  const bool slow = std::fabs(score_slow) > std::fabs(score_now);
  const double score = slow ? score_slow : score_now;
  const bool up_ok = p.direction != rules::AnomalyParams::Direction::down;
  const bool down_ok = p.direction != rules::AnomalyParams::Direction::up;
  auto beyond = [&](double level) { return (up_ok && score >= level) || (down_ok && score <= -level); };
  const bool anomalous = beyond(p.sensitivity);

  // Episodes: opened by evidence that adds up (per direction, the excess of each score over half the sensitivity,
  // less the shortfall of each under it), once it reaches the sensitivity with the last two values or more beyond
  // the half; closed once under `clear` for three steps.
  const std::int64_t t_ms = t_s * 1000;
  const double half = p.sensitivity / 2;
  if (!track.episode) {
    const double towards[2] = {up_ok ? score : 0.0, down_ok ? -score : 0.0};
    for (int d = 0; d < 2; ++d) {
      track.evidence[d] = std::max(0.0, track.evidence[d] + towards[d] - half);
      track.beyond_half[d] = towards[d] > half ? track.beyond_half[d] + 1 : 0;
      if (track.evidence[d] >= p.sensitivity && track.beyond_half[d] >= 2) track.episode = true;
    }
    if (track.episode) {
      track.clear_since_ms = -1;
      track.evidence[0] = track.evidence[1] = 0;
      track.beyond_half[0] = track.beyond_half[1] = 0;
    }
  } else if (beyond(p.clear)) {
    track.clear_since_ms = -1;
  } else {
    if (track.clear_since_ms < 0) track.clear_since_ms = t_ms;
    const auto hold = std::max<std::int64_t>(window_s * 1000, static_cast<std::int64_t>(3 * step_s * 1000));
    if (t_ms - track.clear_since_ms >= hold) track.episode = false;
  }
  f.judged = true;
  f.active = track.episode;
  f.value = value;
  f.score = score;
  f.threshold = expected + (error < 0 ? -1 : 1) * p.sensitivity * spread;
  f.evidence = {{"expected", expected},
                {"spread", spread},
                {"score", score},
                {"prediction", static_cast<double>(chosen)},
                {"slow", slow ? 1.0 : 0.0},
                {"history_values", static_cast<double>(track.history.size())},
                {"episode", track.episode ? 1.0 : 0.0},
                {"accumulated", std::max(track.evidence[0], track.evidence[1])}};
  const char* what = counter ? "rate" : "level";
  const auto m = static_cast<Prediction>(chosen);
  const std::string basis =
      m == Prediction::recent
          ? fmt::format("the median of the last {}", formatDuration(std::chrono::seconds(recentSpanSeconds(p, step_s))))
      : m == Prediction::daily ? fmt::format("the median at this time on the previous {} days", p.days)
                               : fmt::format("the median at this time on the previous {} weeks", p.weeks);
  if (slow) {
    f.reason = fmt::format(
        "{} {:.4g}, expected {:.4g} ({}): the last {} values are {:.4g} {} on average, {:.1f} "
        "times what such averages usually stray (anomalous from {:g})",
        what, value, expected, basis, kSmooth, std::fabs(slow_sum / kSmooth), slow_sum < 0 ? "low" : "high",
        std::fabs(score), p.sensitivity);
  } else {
    f.reason = fmt::format(
        "{} {:.4g}, expected {:.4g} ({}), typical error {:.4g}: {:.4g} {}, {:.1f} times the "
        "typical error (anomalous from {:g})",
        what, value, expected, basis, spread, std::fabs(error), error < 0 ? "low" : "high", std::fabs(score),
        p.sensitivity);
  }
  if (track.episode && !anomalous) {
    f.reason += fmt::format("; the episode goes on until the score stays under {:g}", p.clear);
  } else if (const double accumulated = std::max(track.evidence[0], track.evidence[1]);
             !track.episode && accumulated > 0) {
    f.reason += fmt::format(
        "; {:.1f} of the {:g} that opens an episode has added up (values beyond {:g} add their excess, those under "
        "it take away)",
        accumulated, p.sensitivity, half);
  }
  append(p, track, t_s, value);
}

}  // namespace

std::vector<rules::Finding> evaluateAnomaly(const rules::Rule& rule, const store::SeriesStore& store, std::int64_t t_ms,
                                            Duration step, AnomalyMemory& memory, SeriesMatch& match) {
  // A window shorter than the evaluation interval would miss points between evaluations.
  rules::AnomalyParams params = rule.anomaly;
  params.window = std::max(params.window, step);
  const rules::AnomalyParams& p = params;
  const bool counter = p.counter.has_value();
  const Selector& selector = counter ? *p.counter : *p.gauge;
  const std::vector<MatchedEndpoint>& endpoints = match.endpoints(store, rule, selector, nullptr, {"le"});

  const Duration sample = std::min(std::max<Duration>(step, std::chrono::seconds(1)), store.config().coarse_step);
  const std::int64_t window_ms = p.window.count();
  // Windows end on whole multiples of the window; each complete window is judged once.
  const std::int64_t last_end = t_ms / window_ms * window_ms;
  std::vector<rules::Finding> out;
  for (const MatchedEndpoint& ep : endpoints) {
    AnomalyTrack& track = memory[ep.key];
    // A new endpoint (or one unseen for longer than its history) learns what the store still holds.
    const std::int64_t oldest_end = (t_ms - anomalyHistory(p).count()) / window_ms * window_ms;
    if (track.judged_to_ms < oldest_end) {
      if (!track.history.empty() && t_ms / 1000 - track.history.back().t_s > keptSeconds(p, 0)) track = AnomalyTrack{};
      track.judged_to_ms = std::max(track.judged_to_ms, oldest_end);
    }
    rules::Finding& f = track.last;
    for (std::int64_t end = track.judged_to_ms + window_ms; end <= last_end; end += window_ms) {
      track.judged_to_ms = end;
      if (end < 0 || end / 1000 > kMaxSeconds) continue;
      // A value a float cannot hold (NaN, infinities, 1e300 from a target) is left out: the medians need an order.
      const auto v = signalAt(store, ep, counter, end, p, sample);
      if (v && std::isfinite(static_cast<float>(*v))) judge(p, track, end / 1000, *v, counter, f);
    }
    rules::Finding copy = f;
    copy.endpoint = ep.labels;
    if (track.history.empty()) {
      copy.reason = "no value yet";
    } else if (const std::int64_t since = t_ms - std::int64_t{track.history.back().t_s} * 1000;
               since >
               2 * std::max<std::int64_t>(window_ms, static_cast<std::int64_t>(stepSeconds(track.history) * 1000))) {
      // The last judgement stands until the series' next value, not through a gap: a gap changes nothing.
      copy = rules::Finding{};
      copy.endpoint = ep.labels;
      copy.reason = fmt::format("no value for {}", formatDuration(Duration(since)));
    }
    out.push_back(std::move(copy));
  }
  // Endpoints gone from the store for longer than the history are forgotten.
  std::erase_if(memory, [&](const auto& m) {
    return match.find(m.first) == nullptr &&
           (m.second.history.empty() || t_ms / 1000 - m.second.history.back().t_s > keptSeconds(p, 0));
  });
  return out;
}

std::vector<rules::Finding> evaluateAnomaly(const rules::Rule& rule, const store::SeriesStore& store, std::int64_t t_ms,
                                            Duration step, AnomalyMemory& memory) {
  SeriesMatch match;
  return evaluateAnomaly(rule, store, t_ms, step, memory, match);
}

nlohmann::json saveAnomalyTrack(const AnomalyTrack& track) {
  nlohmann::json t = nlohmann::json::array(), v = nlohmann::json::array();
  std::int64_t previous = 0;
  for (const AnomalySample& s : track.history) {
    t.push_back(s.t_s - previous);  // deltas: most are the same few numbers
    previous = s.t_s;
    v.push_back(s.value);
  }
  return {{"t", std::move(t)},
          {"v", std::move(v)},
          {"judged_to_ms", track.judged_to_ms},
          {"episode", track.episode},
          {"evidence", {track.evidence[0], track.evidence[1]}},
          {"beyond_half", {track.beyond_half[0], track.beyond_half[1]}}};
}

std::optional<AnomalyTrack> restoreAnomalyTrack(const rules::AnomalyParams& p, const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("t") || !j.contains("v") || !j["t"].is_array() || !j["v"].is_array() ||
      j["t"].size() != j["v"].size()) {
    return std::nullopt;
  }
  AnomalyTrack track;
  std::int64_t t = 0, last = INT64_MIN;
  for (std::size_t i = 0; i < j["t"].size(); ++i) {
    if (!j["t"][i].is_number_integer() || !j["v"][i].is_number() ||
        !std::isfinite(static_cast<float>(j["v"][i].get<double>()))) {
      return std::nullopt;
    }
    const auto delta = j["t"][i].get<std::int64_t>();
    if (delta <= 0 || delta > kMaxSeconds - t) return std::nullopt;  // times go forward and stay in range
    t += delta;
    if (t <= last) return std::nullopt;
    last = t;
    append(p, track, t, j["v"][i].get<double>());
  }
  if (j.contains("judged_to_ms") && j["judged_to_ms"].is_number_integer()) {
    track.judged_to_ms = j["judged_to_ms"].get<std::int64_t>();
  }
  if (j.contains("episode") && j["episode"].is_boolean()) track.episode = j["episode"].get<bool>();
  // The evidence towards an episode, where it was saved and makes sense (finite, not negative); else none.
  const auto pair = [&](const char* key, auto check) {
    return j.contains(key) && j[key].is_array() && j[key].size() == 2 && check(j[key][0]) && check(j[key][1]);
  };
  if (pair("evidence",
           [](const nlohmann::json& x) {
             return x.is_number() && std::isfinite(x.get<double>()) && x.get<double>() >= 0;
           }) &&
      pair("beyond_half", [](const nlohmann::json& x) {
        return x.is_number_integer() && x.get<std::int64_t>() >= 0 && x.get<std::int64_t>() <= INT_MAX;
      })) {
    for (int d = 0; d < 2; ++d) {
      track.evidence[d] = j["evidence"][d].get<double>();
      track.beyond_half[d] = static_cast<int>(j["beyond_half"][d].get<std::int64_t>());
    }
  }
  return track;
}

}  // namespace hotspotd::detectors
