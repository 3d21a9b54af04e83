#include "alerting/receiver.h"

#include <charconv>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/base64.h"

namespace hotspotd::alerting {
namespace {

std::string trimSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

std::string_view receiverTypeName(ReceiverType type) {
  switch (type) {
    case ReceiverType::slack: return "slack";
    case ReceiverType::pagerduty: return "pagerduty";
    case ReceiverType::webhook: return "webhook";
    case ReceiverType::alertmanager: return "alertmanager";
  }
  return "webhook";
}

std::vector<std::string> queuesOf(const Receiver& r) {
  if (r.type != ReceiverType::alertmanager) return {r.name};
  std::vector<std::string> out;
  for (std::size_t i = 0; i < r.urls.size(); ++i) out.push_back(fmt::format("{}[{}]", r.name, i));
  return out;
}

std::vector<Message> messagesFor(const Receiver& r, const NotificationGroup& group, std::int64_t now_ms,
                                 std::int64_t resolve_timeout_ms) {
  std::vector<std::string> ids;
  for (const auto& a : group.alerts) ids.push_back(a.id);
  std::vector<Message> out;
  switch (r.type) {
    case ReceiverType::slack:
      out.push_back(Message{r.name, group.group_key, slackPayload(group), ids});
      break;
    case ReceiverType::webhook:
      out.push_back(Message{r.name, group.group_key, webhookPayload(group), ids});
      break;
    case ReceiverType::pagerduty:
      for (const auto& a : group.alerts) {
        out.push_back(Message{r.name, a.id, pagerdutyPayload(a, r.routing_key, r.source), {a.id}});
      }
      break;
    case ReceiverType::alertmanager: {
      const std::string payload = alertmanagerPayload(group.alerts, now_ms, resolve_timeout_ms);
      for (const auto& queue : queuesOf(r)) out.push_back(Message{queue, group.group_key, payload, ids});
      break;
    }
  }
  return out;
}

HttpRequest requestFor(const Receiver& r, std::size_t url_index, const std::string& payload) {
  HttpRequest req;
  const std::string url = url_index < r.urls.size() ? r.urls[url_index] : std::string();
  req.url = r.type == ReceiverType::alertmanager ? trimSlash(url) + "/api/v2/alerts" : url;
  req.body = payload;
  req.timeout = r.timeout;
  req.verify_tls = r.verify_tls;
  req.ca_file = r.ca_file;
  req.proxy_url = r.proxy_url;
  req.headers = r.headers;
  req.headers.emplace_back("User-Agent", "hotspotd");
  if (!r.bearer_token.empty()) req.headers.emplace_back("Authorization", "Bearer " + r.bearer_token);
  if (!r.basic_user.empty()) {
    req.headers.emplace_back("Authorization", "Basic " + base64Encode(r.basic_user + ":" + r.basic_password));
  }
  if (!r.hmac_secret.empty()) req.headers.emplace_back(r.hmac_header, hmacSignature(r.hmac_secret, payload));
  return req;
}

ReceiverRules rulesFor(const Receiver& r) {
  ReceiverRules rules;
  switch (r.type) {
    case ReceiverType::slack:
      // Slack's incoming webhooks answer 200 with the body "ok"; anything else is an error it describes.
      rules.success = {200};
      rules.success_body = "ok";
      break;
    case ReceiverType::pagerduty:
      rules.success = {200, 201, 202};
      break;
    case ReceiverType::webhook:
    case ReceiverType::alertmanager:
      break;
  }
  return rules;
}

std::string hmacSignature(const std::string& secret, const std::string& body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest, &length);
  std::string out = "sha256=";
  for (unsigned i = 0; i < length; ++i) out += fmt::format("{:02x}", digest[i]);
  return out;
}

}  // namespace hotspotd::alerting
