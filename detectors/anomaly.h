// anomaly: USE-style signals (CPU, memory, disk, queues, request counts) against a robust learned baseline.
//
// The signal is a gauge (the average of its points) or a counter (its rate per second), summed over the
// endpoint's series for counters and averaged for gauges. Its recent level is the mean over `window`. The baseline
// is the median and the scaled median absolute deviation (1.4826 x MAD: a standard deviation for normal data,
// unmoved by outliers) of its one-minute values over `baseline` before the window, or, with daily seasonality,
// over the same stretch of the day on each of the previous `days` days, so a nightly batch or a morning peak is
// normal at its hour. The score is (recent - median) / spread; the rule fires past `sensitivity` in its
// `direction`. The spread has a floor (1% of the level, and a minimal absolute value), so a perfectly flat signal
// does not page on its first wiggle.
//
// Not judged: before `warmup` of history, with too few baseline values (fewer than 30), or without recent data.
// State: the baseline is read back from the store at each evaluation; the last one learned per endpoint (level,
// spread, when) is remembered, so that after a restart, while the store warms up again, the endpoint is judged
// against it for up to one baseline window. Rules with daily seasonality do not use it (the level is not one
// number across the day). Used from the thread that owns the store.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "rules/finding.h"
#include "rules/rule.h"
#include "store/series_store.h"

namespace hotspotd::detectors {

struct AnomalyBaseline {
  double level = 0;
  double spread = 0;
  std::int64_t t_ms = 0;
};
using AnomalyMemory = std::map<std::string, AnomalyBaseline>;  // by endpoint key

std::vector<rules::Finding> evaluateAnomaly(const rules::Rule& rule, const store::SeriesStore& store, std::int64_t t_ms,
                                            Duration step, AnomalyMemory& memory);

// How far back an anomaly rule reads.
Duration anomalyHistory(const rules::AnomalyParams& p);

}  // namespace hotspotd::detectors
