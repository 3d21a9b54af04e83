// The JSON API under /api/v1/, as Prometheus' HTTP API shapes it: {"status": "success", "data": ...} or
// {"status": "error", "errorType": ..., "error": ...}. Handlers read snapshots the lifecycle thread publishes and
// never touch pipeline state. Pure functions from snapshots to JSON; any thread.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "alerting/outbox.h"
#include "alerting/routing.h"
#include "alerting/silences.h"
#include "core/result.h"
#include "detectors/hotspots.h"
#include "ingest/scrape_manager.h"
#include "rules/rule.h"
#include "store/series_store.h"
#include "incidents/incident_store.h"
#include "profile/profile_store.h"

namespace hotspotd::daemon {

// /api/v1/hotspots: the ranked endpoints; `limit` rows from `offset`.
nlohmann::ordered_json hotspotsJson(const detectors::HotspotTable& table, std::size_t offset, std::size_t limit);

nlohmann::ordered_json apiError(std::string_view type, std::string_view message);

// What a handler answers: an HTTP status and the JSON body.
struct ApiReply {
  int status = 200;
  nlohmann::ordered_json body;
};

// /api/v1/silences: each with its state (pending, active, expired) at now_ms.
nlohmann::ordered_json silencesJson(const std::vector<alerting::Silence>& silences, std::int64_t now_ms);
nlohmann::ordered_json silenceJson(const alerting::Silence& s, std::int64_t now_ms);
// A POST /api/v1/silences body: {"matchers": [...], "startsAt", "endsAt" (RFC 3339) or "duration" ("2h"),
// "createdBy", "comment"}. Matchers are strings (`route="/checkout"`) or Alertmanager's objects
// ({"name", "value", "isRegex", "isEqual"}).
Result<alerting::SilenceRequest> parseSilenceRequest(std::string_view body, std::int64_t now_ms);
// /api/v1/notifications: the notification history, newest first.
nlohmann::ordered_json notificationsJson(const std::vector<alerting::Notification>& notifications);

// /api/v1/targets: each scrape target with its health, last error and scrape duration; `health` filters ("up",
// "down", "unknown"; empty for all).
nlohmann::ordered_json targetsJson(const std::vector<ingest::TargetStatus>& targets, std::string_view health,
                                   std::size_t offset, std::size_t limit);

// An incident as the API shows it: what fired and why (labels, annotations, value, threshold, evidence, reason),
// its timeline, exemplars (trace links), profiles, and (when given) the notifications sent for it. Links are under
// `base_url` (the daemon's external URL).
nlohmann::ordered_json incidentJson(const incidents::IncidentRecord& r, const std::string& base_url);
nlohmann::ordered_json profileJson(const profile::ProfileRecord& p, const std::string& base_url);

// The incident's endpoint around the incident, for the chart on its page: from 15 minutes before it went pending
// (as far as the store reaches, and not before `earliest_ms`, when the daemon started) to 10 minutes after it
// resolved (or now), at most 240 steps. Latency rules: the
// rule's quantile and the request rate from the bucket counters; gauge rules: the value; counter rules: the rate.
nlohmann::ordered_json incidentSeriesJson(const store::SeriesStore& store, const rules::Rule& rule,
                                          const incidents::IncidentRecord& incident, std::int64_t now_ms,
                                          std::int64_t earliest_ms);

}  // namespace hotspotd::daemon
