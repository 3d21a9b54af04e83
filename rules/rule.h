// A rule as a rules/*.toml file states it: what to watch (a selector), what an endpoint is (`by`), how to judge
// it (kind and its parameters), and how to page (for, keep_firing_for, severity, labels, annotations, profile).
// A plain value, built by the loader and read by detectors and the incident tracker.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <cmath>
#include <limits>

#include "core/duration.h"
#include "core/selector.h"

namespace hotspotd::rules {

enum class RuleKind { latency_drift, burn_rate, latency_threshold, threshold, anomaly };

struct DriftParams {
  double quantile = 0.99;
  Duration window = std::chrono::minutes(2);  // the recent traffic judged
  Duration baseline = std::chrono::hours(1);  // the endpoint's own history it is judged against
  double sensitivity = 2.0;                   // the share above the bound must be at least this many times baseline
  double confidence = 0.99999;                // one-sided, for the test on the share above the bound
  double min_rate = 0.5;                      // requests per second in the window; below it, no judgement
  // How far the share above the bound must rise over the baseline share for a page (a share of requests, 0.005 is
  // half a percentage point); NaN: half the tail the quantile leaves out, 0.5 x (1 - quantile).
  double min_excess = std::numeric_limits<double>::quiet_NaN();

  double minExcess() const { return std::isnan(min_excess) ? 0.5 * (1 - quantile) : min_excess; }
};

// One multiwindow burn-rate alert: fires when the error ratio over both windows is above factor x (1 - objective).
struct BurnWindow {
  Duration long_window;
  Duration short_window;
  double factor;
  std::string severity;
};

// The SRE workbook's multiwindow, multi-burn-rate set.
std::vector<BurnWindow> defaultBurnWindows();

struct BurnRateParams {
  double objective = 0.999;
  Duration period = std::chrono::hours(24 * 30);
  // Availability SLI: bad and total counters. Latency SLI: a histogram and the bound good requests stay under.
  std::optional<Selector> errors;
  std::optional<Selector> total;
  std::optional<Selector> histogram;
  double threshold = 0;
  std::vector<BurnWindow> windows = defaultBurnWindows();
  // At the burn threshold, the long window must hold at least this many bad events: below that traffic one
  // failed request would page, so the pair is not judged.
  double min_bad_events = 10;
};

// latency_threshold: the quantile over `window` above a fixed bound. threshold: a gauge (its average) or a
// counter (its rate per second) over `window`, above and/or below bounds.
struct ThresholdParams {
  double quantile = 0.99;
  Duration window = std::chrono::minutes(5);
  std::optional<double> above;
  std::optional<double> below;
  std::optional<Selector> gauge;
  std::optional<Selector> counter;
  double min_rate = 0.1;  // latency_threshold: requests per second in the window; below it, no judgement
};

// anomaly: a gauge (its average) or a counter (its rate per second) over the recent `window`, against what the
// series' own history predicts: the median of its recent values, or of its values at the same time on previous
// days or weeks, with the spread of that prediction's past errors (detectors/anomaly.h).
struct AnomalyParams {
  std::optional<Selector> gauge;
  std::optional<Selector> counter;
  enum class Direction { up, down, both } direction = Direction::both;
  double sensitivity = 5;  // typical prediction errors: a value this far is anomalous (episodes: detectors/anomaly.h)
  double clear = 2.5;      // an episode ends once the score stays under this (default half of sensitivity)
  Duration window = std::chrono::minutes(5);
  Duration baseline = std::chrono::hours(6);
  // Which predictions may judge: auto picks, per endpoint, the one whose past errors are smallest.
  enum class Seasonality { automatic, none, daily, weekly } seasonality = Seasonality::automatic;
  int days = 7;                             // daily: the same time of the previous `days` days
  int weeks = 2;                            // weekly: the same time of the previous `weeks` weeks
  Duration warmup = std::chrono::hours(1);  // history needed before the first judgement
};

struct Rule {
  std::string name;  // the alertname
  RuleKind kind = RuleKind::latency_drift;
  Selector histogram;
  // Labels that identify an endpoint. Empty with `by_all` set: every label but le and instance (and, for
  // burn_rate, the status labels code and status).
  std::vector<std::string> by;
  bool by_all = false;
  Duration for_duration = std::chrono::minutes(1);
  Duration keep_firing_for = std::chrono::minutes(5);
  std::string severity = "page";
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::string profile;
  // The [[sources]] entry (a Prometheus-compatible query API) the rule's series come from; empty: scraped series.
  std::string query_source;
  DriftParams drift;
  BurnRateParams burn;
  ThresholdParams threshold;
  AnomalyParams anomaly;
  std::string source;  // file:line where the rule is defined
  // The rule's definition, canonically written: equal fingerprints mean the same rule, so a reload keeps the
  // detector's learned state and a restart restores it only while the rule stays the same.
  std::string fingerprint;
};

}  // namespace hotspotd::rules
