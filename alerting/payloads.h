// DESIGN
// What each receiver gets, built from incidents, within each vendor's documented limits:
// - Slack (incoming webhook, Block Kit): a header (alertname, endpoint, severity; at most 150 characters), per
//   alert a section with the evidence (at most 3000 characters), the top grown frames with their class, buttons to
//   the flame graph, the differential flame graph and the incident page; at most 50 blocks and well under 13k
//   characters in all: what does not fit is summarised as "and N more". `text` carries a plain fallback.
// - PagerDuty (Events API v2): one event per incident, `dedup_key` = incident id so retries never make
//   duplicates; trigger or resolve; summary at most 1024 characters; severity mapped to critical/error/warning/
//   info; links to the profile and incident; custom_details (evidence, frames, labels) dropped first when the
//   payload would pass 512 KB.
// - Webhook: Alertmanager's webhook payload, version 4, generatorURL = our incident page.
// - Alertmanager: the alerts for POST /api/v2/alerts; firing alerts carry an endsAt in the future that resends
//   push forward, as Prometheus does.
// Pure functions from values; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "rules/finding.h"

namespace hotspotd::alerting {

struct GrownFrame {
  std::string name;
  std::string cls;     // cpu, allocation/gc, lock wait, syscall/io
  double grew_pp = 0;  // percentage points of samples
};

struct AlertInfo {
  std::string id;  // the incident id: the dedup key
  std::string alertname;
  std::string severity;
  bool firing = true;
  rules::OwnedLabels labels;
  rules::OwnedLabels annotations;
  std::int64_t starts_ms = 0;
  std::int64_t ends_ms = 0;  // resolved: when; firing: 0
  double value = 0;
  double threshold = 0;
  std::vector<std::pair<std::string, double>> evidence;
  std::string reason;
  std::string incident_url;
  std::string flamegraph_url;
  std::string diff_url;
  std::string offcpu_url;  // the off-CPU part of a wall-clock profile
  std::vector<GrownFrame> grown;
  std::string profile_explanation;  // e.g. "off-CPU: 73% of the growth in waiting is lock in Inventory::reserve"
  std::vector<std::string> trace_urls;
  // The receiver's templates, rendered for this alert (empty: the default header/summary and evidence text).
  std::string title;
  std::string text;
};

struct NotificationGroup {
  std::string receiver;
  std::string group_key;
  rules::OwnedLabels group_labels;
  std::vector<AlertInfo> alerts;
  std::string external_url;
};

// Limits, as the vendors document them.
inline constexpr std::size_t kSlackMaxBlocks = 50;
inline constexpr std::size_t kSlackHeaderChars = 150;
inline constexpr std::size_t kSlackSectionChars = 3000;
inline constexpr std::size_t kSlackButtonChars = 75;
inline constexpr std::size_t kSlackTotalChars = 12000;  // the whole payload: well under Slack's ~13k
inline constexpr std::size_t kPagerDutySummaryChars = 1024;
inline constexpr std::size_t kPagerDutyMaxBytes = 512 * 1024;

std::string slackPayload(const NotificationGroup& group);
std::string pagerdutyPayload(const AlertInfo& alert, const std::string& routing_key, const std::string& source);
std::string webhookPayload(const NotificationGroup& group);
// `resolve_timeout_ms`: how far in the future a firing alert's endsAt is put (the next resend pushes it on).
std::string alertmanagerPayload(const std::vector<AlertInfo>& alerts, std::int64_t now_ms,
                                std::int64_t resolve_timeout_ms);

// Cuts UTF-8 text to at most `max` characters (code points), ending with "…" when cut.
// Text for Slack's mrkdwn: &, < and > written as entities, so that a label value such as "<!channel>" or
// "<http://x|y>" shows as text instead of pinging a channel or making a link.
std::string slackEscape(std::string_view text);

std::string truncateChars(std::string_view text, std::size_t max);

}  // namespace hotspotd::alerting
