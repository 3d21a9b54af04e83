// The state of every rule for every endpoint: inactive -> pending -> firing -> resolved, with `for` (how long the
// condition must hold before it fires) and `keep_firing_for` (how long the condition must stay clear, as judged
// on data, before a firing incident resolves; this also damps flapping). Only judged findings move the state: low
// traffic or missing data never fires or resolves anything. Each incident has a stable id (rule and endpoint), the
// dedup key for receivers. Owned by one thread (the lifecycle thread, or a replay run).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "rules/finding.h"
#include "rules/rule.h"

namespace hotspotd::rules {

std::string incidentId(const std::string& rule, const OwnedLabels& endpoint);

class IncidentTracker {
 public:
  // Applies one evaluation of `rule` at t_ms and appends the transitions (firing, resolved) to `events`.
  void observe(const Rule& rule, std::int64_t t_ms, const std::vector<Finding>& findings,
               std::vector<IncidentEvent>& events);

  std::size_t firingCount() const;
  // Endpoints with a pending or firing incident (the others are not tracked).
  std::size_t trackedCount() const { return entries_.size(); }

 private:
  enum class State { inactive, pending, firing };
  struct Entry {
    State state = State::inactive;
    std::int64_t since_ms = 0;         // pending since
    std::int64_t clear_since_ms = -1;  // first judged evaluation with the condition false, while firing
    IncidentEvent last;                // the last firing event (for the resolve event's fields)
  };
  std::map<std::string, Entry> entries_;  // by incident id
};

}  // namespace hotspotd::rules
