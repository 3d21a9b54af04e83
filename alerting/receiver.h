// DESIGN
// A receiver as configured (`[[receivers]]`), and the two things the daemon does with one:
// - messagesFor: what a group's notification becomes for it, as outbox rows. Slack and webhooks get one message per
//   group (keyed by the group, so a group's messages keep their order); PagerDuty one event per alert (keyed by the
//   incident id, its dedup_key); Alertmanager one POST of the group's alerts per configured Alertmanager (each its
//   own queue, so one down Alertmanager of an HA pair never holds back the other).
// - requestFor: the HTTP request that sends a stored message, with the receiver's current URL, headers, auth and
//   HMAC signature. Secrets are read from the config at send time and never written to the outbox, so a rotated
//   token applies to what is still pending.
// Templates: `title` and `text` (rules/template.h syntax) replace the default header/summary and the default
// evidence text; a template that renders empty falls back to the default (logged by the caller).
// Pure functions of values; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "alerting/delivery.h"
#include "alerting/payloads.h"
#include "core/duration.h"

namespace hotspotd::alerting {

enum class ReceiverType { slack, pagerduty, webhook, alertmanager };
std::string_view receiverTypeName(ReceiverType type);

struct Receiver {
  std::string name;
  ReceiverType type = ReceiverType::webhook;
  // slack/webhook: the URL posted to; pagerduty: the Events API v2 endpoint; alertmanager: each Alertmanager's base
  // URL (POST <url>/api/v2/alerts).
  std::vector<std::string> urls;
  std::string routing_key;  // pagerduty
  std::string source;       // pagerduty payload.source (default: this host's name)
  std::string bearer_token;
  std::string basic_user, basic_password;
  std::string hmac_secret;  // webhook: sign the body with HMAC-SHA256
  std::string hmac_header = "X-Hotspotd-Signature";
  std::vector<std::pair<std::string, std::string>> headers;
  Duration timeout = std::chrono::seconds(10);
  bool verify_tls = true;
  std::string ca_file;
  std::string proxy_url;
  bool send_resolved = true;
  // Messages per second per queue (token bucket with `burst`); 0: no limit.
  double rate = 0;
  double burst = 1;
  std::string title;  // template
  std::string text;   // template
};

// The queues (outbox receiver names) of a receiver: its name, or "name[i]" per Alertmanager.
std::vector<std::string> queuesOf(const Receiver& r);

struct Message {
  std::string queue;
  std::string key;  // order is kept per key and queue
  std::string payload;
  std::vector<std::string> incidents;  // the alerts it carries
};

// `resolve_timeout_ms`: for Alertmanager, how far ahead a firing alert's endsAt goes.
std::vector<Message> messagesFor(const Receiver& r, const NotificationGroup& group, std::int64_t now_ms,
                                 std::int64_t resolve_timeout_ms);

HttpRequest requestFor(const Receiver& r, std::size_t url_index, const std::string& payload);
ReceiverRules rulesFor(const Receiver& r);

// "sha256=<hex>" of HMAC-SHA256(secret, body).
std::string hmacSignature(const std::string& secret, const std::string& body);

}  // namespace hotspotd::alerting
