// What every detector is to the code that runs rules: a rule, and a judgement of every endpoint at a time.
// Made from a rule by makeDetector(); used from the thread that owns the store.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/duration.h"
#include "rules/finding.h"
#include "rules/rule.h"
#include "store/series_store.h"

namespace hotspotd::detectors {

class Detector {
 public:
  virtual ~Detector() = default;
  virtual const rules::Rule& rule() const = 0;
  // `step` is the evaluation (scrape) interval.
  virtual std::vector<rules::Finding> evaluate(const store::SeriesStore& store, std::int64_t t_ms, Duration step) = 0;
  // How far back the detector reads: the store must keep at least this much history.
  virtual Duration history() const = 0;

  // What the detector learned, per endpoint key, worth keeping across a restart (baselines); and taking it back.
  // Detectors that learn nothing beyond the store's data keep the defaults.
  virtual std::vector<std::pair<std::string, nlohmann::json>> saveState() const { return {}; }
  virtual void restoreState(const std::vector<std::pair<std::string, nlohmann::json>>& /*states*/) {}
};

std::unique_ptr<Detector> makeDetector(rules::Rule rule);

}  // namespace hotspotd::detectors
