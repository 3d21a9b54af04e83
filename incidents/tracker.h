// The state of every rule for every endpoint: inactive -> pending -> firing -> resolved, with `for` (how long the
// condition must hold before it fires) and `keep_firing_for` (how long the condition must stay clear, as judged
// on data, before a firing incident resolves; this also damps flapping). Only judged findings move the state: low
// traffic or missing data never fires or resolves anything. Each incident has a stable id (rule and endpoint), the
// dedup key for receivers.
//
// The tracker keeps only pending and firing incidents. It says which ones changed at each evaluation (so the
// daemon can persist exactly those), and it can be given incidents back after a restart: a restored firing
// incident goes on firing without a second firing event. Owned by one thread (the lifecycle thread, or a replay).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "rules/finding.h"
#include "rules/rule.h"

namespace hotspotd::incidents {

std::string incidentId(const std::string& rule, const rules::OwnedLabels& endpoint);

struct TrackedIncident {
  enum class State { pending, firing };
  State state = State::pending;
  std::int64_t since_ms = 0;         // pending since
  std::int64_t clear_since_ms = -1;  // first judged evaluation with the condition false, while firing
  // While pending: the latest active evaluation, as the firing event would be. While firing: the firing event.
  rules::IncidentEvent last;
};

class IncidentTracker {
 public:
  // With `record_changes`, takeChanged() lists what changed (the daemon persists it); a replay does without.
  explicit IncidentTracker(bool record_changes = false) : record_changes_(record_changes) {}

  // Applies one evaluation of `rule` at t_ms and appends the transitions (firing, resolved) to `events`.
  void observe(const rules::Rule& rule, std::int64_t t_ms, const std::vector<rules::Finding>& findings,
               std::vector<rules::IncidentEvent>& events);

  // Rules that are gone (a reload removed them): their firing incidents resolve now, their pending ones are
  // forgotten.
  void retainRules(const std::set<std::string>& names, std::int64_t t_ms, std::vector<rules::IncidentEvent>& events);

  // The ids whose state changed since the last call; an id no longer tracked went back to inactive or resolved.
  std::vector<std::string> takeChanged();
  const TrackedIncident* find(const std::string& id) const;
  // Takes back an incident saved before a restart.
  void restore(const std::string& id, TrackedIncident incident);
  const std::map<std::string, TrackedIncident>& tracked() const { return entries_; }

  std::size_t firingCount() const;
  // Endpoints with a pending or firing incident (the others are not tracked).
  std::size_t trackedCount() const { return entries_.size(); }

 private:
  std::map<std::string, TrackedIncident> entries_;  // by incident id
  void changed(const std::string& id) {
    if (record_changes_) changed_.insert(id);
  }
  bool record_changes_;
  std::set<std::string> changed_;
};

// Renders the rule's annotation templates for one event (the templates were checked when the rule loaded).
rules::OwnedLabels renderAnnotations(const rules::Rule& rule, const rules::IncidentEvent& event);

}  // namespace hotspotd::incidents
