#include "detectors/detector.h"

#include <nlohmann/json.hpp>

#include "detectors/anomaly.h"
#include "detectors/burn_rate.h"
#include "detectors/drift.h"
#include "detectors/threshold.h"

namespace hotspotd::detectors {
namespace {

class Drift final : public Detector {
 public:
  explicit Drift(rules::Rule rule) : d_(std::move(rule)) {}
  const rules::Rule& rule() const override { return d_.rule(); }
  std::vector<rules::Finding> evaluate(const store::SeriesStore& store, std::int64_t t_ms, Duration step) override {
    return d_.evaluate(store, t_ms, step);
  }
  Duration history() const override { return d_.rule().drift.baseline + d_.rule().drift.window; }
  std::vector<std::pair<std::string, nlohmann::json>> saveState() const override { return d_.saveState(); }
  void restoreState(const std::vector<std::pair<std::string, nlohmann::json>>& states) override {
    d_.restoreState(states);
  }

 private:
  DriftDetector d_;
};

class BurnRate final : public Detector {
 public:
  explicit BurnRate(rules::Rule rule) : d_(std::move(rule)) {}
  const rules::Rule& rule() const override { return d_.rule(); }
  std::vector<rules::Finding> evaluate(const store::SeriesStore& store, std::int64_t t_ms, Duration) override {
    return d_.evaluate(store, t_ms);
  }
  Duration history() const override {
    Duration longest = Duration::zero();
    for (const auto& w : d_.rule().burn.windows) longest = std::max(longest, w.long_window);
    return longest;
  }

 private:
  BurnRateDetector d_;
};

class Threshold final : public Detector {
 public:
  explicit Threshold(rules::Rule rule) : rule_(std::move(rule)) {}
  const rules::Rule& rule() const override { return rule_; }
  std::vector<rules::Finding> evaluate(const store::SeriesStore& store, std::int64_t t_ms, Duration step) override {
    return rule_.kind == rules::RuleKind::latency_threshold
               ? evaluateLatencyThreshold(rule_, store, t_ms, step, histogram_match_)
               : evaluateThreshold(rule_, store, t_ms, step, match_);
  }
  Duration history() const override { return rule_.threshold.window; }

 private:
  rules::Rule rule_;
  SeriesMatch match_;
  HistogramMatch histogram_match_;
};

class Anomaly final : public Detector {
 public:
  explicit Anomaly(rules::Rule rule) : rule_(std::move(rule)) {}
  const rules::Rule& rule() const override { return rule_; }
  std::vector<rules::Finding> evaluate(const store::SeriesStore& store, std::int64_t t_ms, Duration step) override {
    return evaluateAnomaly(rule_, store, t_ms, step, memory_, match_);
  }
  Duration history() const override { return anomalyHistory(rule_.anomaly); }
  std::vector<std::pair<std::string, nlohmann::json>> saveState() const override {
    std::vector<std::pair<std::string, nlohmann::json>> out;
    for (const auto& [key, track] : memory_) out.emplace_back(key, saveAnomalyTrack(track));
    return out;
  }
  void restoreState(const std::vector<std::pair<std::string, nlohmann::json>>& states) override {
    for (const auto& [key, j] : states) {
      if (auto track = restoreAnomalyTrack(rule_.anomaly, j)) memory_[key] = std::move(*track);
    }
  }

 private:
  rules::Rule rule_;
  AnomalyMemory memory_;
  SeriesMatch match_;
};

}  // namespace

std::unique_ptr<Detector> makeDetector(rules::Rule rule) {
  switch (rule.kind) {
    case rules::RuleKind::latency_drift: return std::make_unique<Drift>(std::move(rule));
    case rules::RuleKind::burn_rate: return std::make_unique<BurnRate>(std::move(rule));
    case rules::RuleKind::latency_threshold:
    case rules::RuleKind::threshold: return std::make_unique<Threshold>(std::move(rule));
    case rules::RuleKind::anomaly: return std::make_unique<Anomaly>(std::move(rule));
  }
  return nullptr;
}

}  // namespace hotspotd::detectors
