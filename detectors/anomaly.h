// anomaly: USE-style signals (CPU, memory, disk, queues, request counts) against what their own history predicts.
//
// The signal is a gauge (the average of its points) or a counter (its rate per second), summed over the
// endpoint's series for counters and averaged for gauges; its value for a window is its mean over it (windows of
// `window`, at least the evaluation interval, ending on whole multiples of it; each is judged once, when
// complete). The detector keeps its own history of the signal, one value per window at most (so a series scraped
// every 15 s is kept as five-minute means, and one with hourly points keeps each point), for two weeks and a day.
//
// Three predictions of the next value, each the median of part of that history:
// - recent: the values of the last `baseline` (at least 72 of the series' own steps, so an hourly series looks
//   back three days);
// - daily: the values around the same time on each of the previous `days` days (from two days of history);
// - weekly: the same on each of the previous `weeks` weeks (from two weeks).
// Every prediction's errors are kept (the last 1,000). Its spread is 1.4826 x the median absolute error (a standard
// deviation for normal errors, unmoved by outliers; the mean absolute error where most errors are zero, as for a
// counter idling at zero), floored by 1% of the prediction, by the data's resolution (the smallest step between
// its distinct values: CPU in 0.1% steps never pages on one step) and by a fifth of the 99th percentile error, so
// that a series that often spikes must spike beyond its usual spikes. With `seasonality = "auto"` the prediction
// with the smallest spread judges (on a tie the recent one), so a daily peak is normal at its hour and a flat
// series is judged against its recent level.
//
// Two scores, the larger one counts: the window's error over the spread, and the mean error of the last six
// values over the spread of such means (a small shift that lasts, or spikes growing denser), against a threshold
// 1.2 x higher. Past `sensitivity`, in its `direction`, the endpoint is anomalous.
//
// Episodes, not samples: evidence adds up. Per direction, every value's score beyond half the sensitivity adds its
// excess over that half, and every value under it takes away the difference (a CUSUM that never goes below zero); an
// episode opens once the evidence reaches `sensitivity` while the last two values or more were beyond the half. So two
// values at the sensitivity open one, and so do three at 0.84 of it or five at 0.7; one value alone, however high, is a
// spike and opens nothing (what it added fades as the values after it stay under the half). The finding is active while
// the episode lasts, and the rule's `for` applies on top. It stays active until the score has stayed under `clear` for
// three of the series' steps (at least one window): a dip back to normal in the middle of an incident does not resolve
// it, and it does not page again. A level shift becomes the new normal as the prediction follows it: after half the
// recent look-back (3 hours for five-minute points) when the recent prediction judges, after half the days or weeks for
// a seasonal one. Between window ends the last judgement stands; past two of the series' steps without a value, the
// endpoint is not judged (a gap changes nothing).
//
// Not judged: before `warmup` of history, before 30 errors of a prediction are known, or before the endpoint's
// first value. The history is saved with the detector's state and the errors and spreads are rebuilt from it at
// start, so a restart does not start the learning again. Used from the thread that owns the store.
#pragma once

#include <climits>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "detectors/series_match.h"
#include "rules/finding.h"
#include "rules/rule.h"
#include "store/series_store.h"

namespace hotspotd::detectors {

// One value of the signal: seconds since the epoch (unsigned 32 bits: until 2106) and the window's mean; 8 bytes.
struct AnomalySample {
  std::uint32_t t_s = 0;
  float value = 0;
};

enum class Prediction { recent = 0, daily = 1, weekly = 2 };
inline constexpr int kPredictions = 3;

// What the detector knows of one endpoint.
struct AnomalyTrack {
  std::deque<AnomalySample> history;  // oldest first
  // Per prediction: its errors at each value, the last few errors, and the means of those (the slow score).
  struct Errors {
    std::deque<float> point, recent, smooth;
  };
  Errors errors[kPredictions];
  // Spreads as of the newest value, per prediction: of single errors and of means of the last few.
  double spread[kPredictions] = {0, 0, 0};
  double smooth_spread[kPredictions] = {0, 0, 0};
  double resolution = 0;                  // the smallest step between distinct recent values
  std::int64_t judged_to_ms = INT64_MIN;  // the end of the last window judged
  rules::Finding last;                    // the last judgement, repeated until the next window ends
  // The episode, and the evidence that opens one: per direction (up, down), the sum of the scores' excess over
  // half the sensitivity and how many values in a row were beyond that half.
  double evidence[2] = {0, 0};
  int beyond_half[2] = {0, 0};
  std::int64_t clear_since_ms = -1;
  bool episode = false;
};
using AnomalyMemory = std::map<std::string, AnomalyTrack>;  // by endpoint key

// `match` keeps the rule's endpoints from one evaluation to the next (the same rule at every call); the overload
// without it finds them afresh.
std::vector<rules::Finding> evaluateAnomaly(const rules::Rule& rule, const store::SeriesStore& store, std::int64_t t_ms,
                                            Duration step, AnomalyMemory& memory, SeriesMatch& match);
std::vector<rules::Finding> evaluateAnomaly(const rules::Rule& rule, const store::SeriesStore& store, std::int64_t t_ms,
                                            Duration step, AnomalyMemory& memory);

// How far back an anomaly rule reads from the store (to fill its history at start); the rest it keeps itself.
Duration anomalyHistory(const rules::AnomalyParams& p);

// The history, for the detector's saved state; and a track rebuilt from it (errors and spreads recomputed).
nlohmann::json saveAnomalyTrack(const AnomalyTrack& track);
std::optional<AnomalyTrack> restoreAnomalyTrack(const rules::AnomalyParams& p, const nlohmann::json& j);

}  // namespace hotspotd::detectors
