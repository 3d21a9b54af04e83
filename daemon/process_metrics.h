// The standard process_* metrics (as every Prometheus client library exports them): CPU seconds, resident and
// virtual memory, open and max file descriptors, start time. Read from /proc/self on every scrape, so they cost
// nothing between scrapes. Collect() may run on any thread.
#pragma once

#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace hotspotd::daemon {

class ProcessMetrics : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace hotspotd::daemon
