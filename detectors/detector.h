// What every detector is to the code that runs rules: a rule, and a judgement of every endpoint at a time.
// Made from a rule by makeDetector(); used from the thread that owns the store.
#pragma once

#include <memory>
#include <vector>

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
};

std::unique_ptr<Detector> makeDetector(rules::Rule rule);

}  // namespace hotspotd::detectors
