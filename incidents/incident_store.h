// DESIGN
// Incidents and detector baselines in the state database, so that a restart or a `kill -9` resumes firing
// incidents without paging again and keeps what the detectors learned.
//
// `incidents` has one row per incident occurrence: the stable id (the dedup key; one rule and endpoint may have
// many occurrences over time, at most one open), its state (pending, firing, resolved), when it went pending,
// fired and resolved, the event at firing and at resolution (values, threshold, evidence, rendered annotations),
// and the exemplars and profiles attached while it fired. The engine writes the incidents that changed at
// each evaluation in one transaction, so what is on disk is always one evaluation's consistent state; on start
// it gives the open rows back to the incident tracker. Resolved rows are kept for `retention` (the incident
// history the API shows), then deleted.
//
// `detector_state` holds each rule's learned state per endpoint (CBOR of the JSON the detector gives), with the
// rule's fingerprint: a rule whose definition changed starts learning afresh instead of misreading old state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "incidents/tracker.h"
#include "state/database.h"

namespace hotspotd::incidents {

// One exemplar attached to an incident: a real slow request, with its trace id when it has one.
struct IncidentExemplar {
  std::string trace_id;
  std::string url;            // the trace's link, from [incidents] trace_url (empty without one)
  rules::OwnedLabels labels;  // the exemplar's own labels (trace_id, span_id, ...)
  double value = 0;           // the observed latency
  std::int64_t t_ms = 0;
};

// A profile captured for an incident, or the reason its capture failed.
struct IncidentProfile {
  std::string profile_id;
  std::string kind;   // "hotspot"
  std::string error;  // empty when the capture worked
  std::int64_t start_ms = 0;
};

// Where an incident occurrence stands; stored and shown by name ("pending", "firing", "resolved").
enum class IncidentState { pending, firing, resolved };
std::string_view stateName(IncidentState state);
IncidentState parseIncidentState(std::string_view name);

// One incident occurrence as stored: what the API and the alerting side read.
struct IncidentRecord {
  std::int64_t seq = 0;
  std::string id;
  std::string alertname;
  rules::OwnedLabels labels;
  std::string severity;
  IncidentState state = IncidentState::pending;
  std::int64_t pending_ms = 0;
  std::int64_t firing_ms = 0;    // 0 while pending
  std::int64_t resolved_ms = 0;  // 0 while open
  rules::IncidentEvent firing;   // the event at firing (while pending: the latest active evaluation)
  rules::IncidentEvent resolved;
  std::vector<IncidentExemplar> exemplars;
  std::vector<IncidentProfile> profiles;
};

class IncidentStore {
 public:
  // Creates or migrates the tables.
  static Result<IncidentStore> open(state::Database& db);
  // Over a connection whose tables exist (a read-only one, for reads on another thread): no migration.
  static IncidentStore reader(state::Database& db) { return IncidentStore(db); }

  // Incidents that changed, as they are now: none for one that is gone (a pending incident that cleared).
  using Changes = std::vector<std::pair<std::string, std::optional<TrackedIncident>>>;
  static Changes changesOf(const IncidentTracker& tracker, const std::vector<std::string>& changed);
  // Writes the changed incidents and the transitions of one evaluation, in one transaction.
  Result<void> save(const Changes& changes, const std::vector<rules::IncidentEvent>& events, std::int64_t now_ms);
  Result<void> save(const IncidentTracker& tracker, const std::vector<std::string>& changed,
                    const std::vector<rules::IncidentEvent>& events, std::int64_t now_ms) {
    return save(changesOf(tracker, changed), events, now_ms);
  }
  // The open (pending or firing) incidents, to give back to a tracker after a restart.
  Result<std::vector<std::pair<std::string, TrackedIncident>>> loadOpen();

  // Adds exemplars to the open incident `id` (keeping the newest `limit`, one per trace id).
  Result<void> addExemplars(const std::string& id, const std::vector<IncidentExemplar>& exemplars, std::size_t limit);

  // Attaches a profile (or a failed capture) to the incident `id`: its open occurrence, else its latest.
  Result<void> addProfile(const std::string& id, const IncidentProfile& profile);

  // Incidents, newest first; `open_only` for pending and firing ones.
  Result<std::vector<IncidentRecord>> list(bool open_only, std::size_t limit);

  // Incidents, newest first, filtered by state ("open" for pending and firing; empty for any) and rule name;
  // `offset` rows skipped.
  Result<std::vector<IncidentRecord>> query(const std::string& state, const std::string& alertname,
                                            std::size_t offset, std::size_t limit);
  // The latest occurrence of incident `id`, if any.
  Result<std::optional<IncidentRecord>> get(const std::string& id);

  // Deletes resolved incidents that resolved before `before_ms`; returns how many.
  Result<std::int64_t> prune(std::int64_t before_ms);

  // A rule's learned state per endpoint key, replacing what was saved before for that rule.
  Result<void> saveDetectorState(const std::string& rule, const std::string& fingerprint,
                                 const std::vector<std::pair<std::string, nlohmann::json>>& states,
                                 std::int64_t now_ms);
  // The saved state of `rule`, if it was saved with the same fingerprint.
  Result<std::vector<std::pair<std::string, nlohmann::json>>> loadDetectorState(const std::string& rule,
                                                                                const std::string& fingerprint);
  // Forgets the state of rules not in `rules`.
  Result<void> retainDetectorState(const std::vector<std::string>& rules);

 private:
  explicit IncidentStore(state::Database& db) : db_(&db) {}
  state::Database* db_;
};

}  // namespace hotspotd::incidents
