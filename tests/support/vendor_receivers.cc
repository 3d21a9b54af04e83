#include "tests/support/vendor_receivers.h"

#include <thread>

namespace hotspotd::test {
namespace {

using nlohmann::json;

std::size_t codePoints(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool isTextObject(const json& t, bool plain_only) {
  if (!t.is_object() || !t.contains("type") || !t.contains("text") || !t["text"].is_string()) return false;
  return t["type"] == "plain_text" || (!plain_only && t["type"] == "mrkdwn");
}

bool rfc3339(const json& v) {
  if (!v.is_string()) return false;
  const std::string s = v.get<std::string>();
  return s.size() >= 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && (s.back() == 'Z' || s[s.size() - 6] == '+' || s[s.size() - 6] == '-');
}

bool stringMap(const json& v) {
  if (!v.is_object()) return false;
  for (const auto& [k, x] : v.items()) {
    if (!x.is_string()) return false;
  }
  return true;
}

}  // namespace

// Slack: https://api.slack.com/reference/block-kit/blocks and incoming webhooks: at most 50 blocks; header text
// plain_text at most 150 characters; section text at most 3000; actions at most 25 elements, button text plain_text
// at most 75, url at most 3000; context at most 10 elements; `text` is the notification fallback.
std::vector<std::string> VendorReceiver::checkSlack(const std::string& body) {
  std::vector<std::string> out;
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return {"body is not a JSON object"};
  if (codePoints(body) > 13000) out.push_back("payload longer than 13000 characters");
  if (!j.contains("text") && !j.contains("blocks")) out.push_back("neither text nor blocks");
  if (j.contains("text") && (!j["text"].is_string() || j["text"].get<std::string>().empty())) out.push_back("text not a non-empty string");
  if (j.contains("blocks")) {
    const json& blocks = j["blocks"];
    if (!blocks.is_array()) return {"blocks is not an array"};
    if (blocks.size() > 50) out.push_back("more than 50 blocks");
    for (const auto& b : blocks) {
      const std::string type = b.value("type", "");
      if (type == "header") {
        if (!isTextObject(b["text"], true)) out.push_back("header text is not plain_text");
        else if (codePoints(b["text"]["text"]) > 150) out.push_back("header text longer than 150");
      } else if (type == "section") {
        if (!isTextObject(b["text"], false)) out.push_back("section text missing");
        else if (codePoints(b["text"]["text"]) > 3000) out.push_back("section text longer than 3000");
      } else if (type == "actions") {
        if (!b["elements"].is_array() || b["elements"].empty() || b["elements"].size() > 25) out.push_back("actions need 1..25 elements");
        for (const auto& e : b["elements"]) {
          if (e.value("type", "") != "button" || !isTextObject(e["text"], true)) out.push_back("action is not a button with plain_text");
          else if (codePoints(e["text"]["text"]) > 75) out.push_back("button text longer than 75");
          if (e.contains("url") && (!e["url"].is_string() || e["url"].get<std::string>().size() > 3000)) out.push_back("button url invalid");
        }
      } else if (type == "context") {
        if (!b["elements"].is_array() || b["elements"].empty() || b["elements"].size() > 10) out.push_back("context needs 1..10 elements");
      } else if (type != "divider") {
        out.push_back("unknown block type " + type);
      }
    }
  }
  return out;
}

// PagerDuty Events API v2 (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/): routing_key (32
// characters), event_action trigger/acknowledge/resolve, dedup_key at most 255; a trigger needs payload.summary (at
// most 1024), payload.source and payload.severity (critical, error, warning, info); links are {href, text}, images
// {src, href, alt}; at most 512 KB.
std::vector<std::string> VendorReceiver::checkPagerDuty(const std::string& body) {
  std::vector<std::string> out;
  if (body.size() > 512 * 1024) out.push_back("event larger than 512 KB");
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return {"body is not a JSON object"};
  if (!j.contains("routing_key") || !j["routing_key"].is_string() || j["routing_key"].get<std::string>().size() != 32) {
    out.push_back("routing_key must be a 32-character string");
  }
  const std::string action = j.value("event_action", "");
  if (action != "trigger" && action != "acknowledge" && action != "resolve") out.push_back("bad event_action");
  if (j.contains("dedup_key") && (!j["dedup_key"].is_string() || j["dedup_key"].get<std::string>().size() > 255)) {
    out.push_back("dedup_key must be a string of at most 255 characters");
  }
  if (action != "trigger" && !j.contains("dedup_key")) out.push_back("acknowledge/resolve need a dedup_key");
  if (action == "trigger") {
    const json& p = j.contains("payload") ? j["payload"] : json();
    if (!p.is_object()) {
      out.push_back("trigger without payload");
    } else {
      if (!p.contains("summary") || !p["summary"].is_string() || p["summary"].get<std::string>().empty()) out.push_back("payload.summary missing");
      else if (codePoints(p["summary"]) > 1024) out.push_back("payload.summary longer than 1024");
      if (!p.contains("source") || !p["source"].is_string() || p["source"].get<std::string>().empty()) out.push_back("payload.source missing");
      const std::string sev = p.value("severity", "");
      if (sev != "critical" && sev != "error" && sev != "warning" && sev != "info") out.push_back("payload.severity invalid");
      if (p.contains("timestamp") && !rfc3339(p["timestamp"])) out.push_back("payload.timestamp not ISO 8601");
    }
  }
  if (j.contains("links")) {
    for (const auto& l : j["links"]) {
      if (!l.is_object() || !l.contains("href") || !l["href"].is_string()) out.push_back("link without href");
    }
  }
  if (j.contains("images")) {
    for (const auto& i : j["images"]) {
      if (!i.is_object() || !i.contains("src") || !i["src"].is_string()) out.push_back("image without src");
    }
  }
  return out;
}

// Alertmanager's webhook payload, version 4.
std::vector<std::string> VendorReceiver::checkWebhook(const std::string& body) {
  std::vector<std::string> out;
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return {"body is not a JSON object"};
  if (j.value("version", "") != "4") out.push_back("version is not \"4\"");
  for (const char* k : {"groupKey", "status", "receiver", "externalURL"}) {
    if (!j.contains(k) || !j[k].is_string()) out.push_back(std::string(k) + " missing");
  }
  for (const char* k : {"groupLabels", "commonLabels", "commonAnnotations"}) {
    if (!j.contains(k) || !stringMap(j[k])) out.push_back(std::string(k) + " is not a string map");
  }
  if (!j.contains("alerts") || !j["alerts"].is_array() || j["alerts"].empty()) return out.push_back("no alerts"), out;
  for (const auto& a : j["alerts"]) {
    const std::string status = a.value("status", "");
    if (status != "firing" && status != "resolved") out.push_back("alert status invalid");
    if (!a.contains("labels") || !stringMap(a["labels"]) || !a["labels"].contains("alertname")) out.push_back("alert labels invalid");
    if (!a.contains("annotations") || !stringMap(a["annotations"])) out.push_back("alert annotations invalid");
    if (!a.contains("startsAt") || !rfc3339(a["startsAt"]) || !a.contains("endsAt") || !rfc3339(a["endsAt"])) out.push_back("alert times invalid");
    if (!a.contains("generatorURL") || !a["generatorURL"].is_string()) out.push_back("generatorURL missing");
    if (!a.contains("fingerprint") || !a["fingerprint"].is_string()) out.push_back("fingerprint missing");
  }
  return out;
}

VendorReceiver::VendorReceiver(Kind kind, std::string hmac_header) : kind_(kind), hmac_header_(std::move(hmac_header)) {
  target_.server().Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
    Received r;
    r.at = std::chrono::steady_clock::now();
    r.raw = req.body;
    r.body = json::parse(req.body, nullptr, false);
    r.signature = req.get_header_value(hmac_header_);
    r.authorization = req.get_header_value("Authorization");
    std::vector<std::string> problems = kind_ == Kind::slack       ? checkSlack(req.body)
                                        : kind_ == Kind::pagerduty ? checkPagerDuty(req.body)
                                                                   : checkWebhook(req.body);
    if (req.get_header_value("Content-Type").rfind("application/json", 0) != 0) problems.push_back("Content-Type is not JSON");
    Answer answer;
    {
      std::lock_guard lock(mutex_);
      if (!script_.empty()) {
        answer = script_.front();
        script_.pop_front();
      } else if (outage_) {
        answer = *outage_;
      }
    }
    if (answer.delay.count() > 0) std::this_thread::sleep_for(answer.delay);
    if (answer.close) {
      // A content provider that fails: the connection closes before any answer.
      res.set_content_provider(1, "text/plain", [](std::size_t, std::size_t, httplib::DataSink&) { return false; });
      std::lock_guard lock(mutex_);
      received_.push_back(std::move(r));
      return;
    }
    if (answer.status == 0 && !problems.empty()) {
      // The vendors' answers to a bad payload.
      if (kind_ == Kind::slack) {
        res.status = 400;
        res.set_content("invalid_blocks", "text/plain");
      } else {
        res.status = 400;
        res.set_content(json{{"status", "invalid event"}, {"message", "Event object is invalid"}, {"errors", problems}}.dump(),
                        "application/json");
      }
    } else if (answer.status == 0) {
      if (kind_ == Kind::slack) {
        res.status = 200;
        res.set_content("ok", "text/plain");
      } else if (kind_ == Kind::pagerduty) {
        res.status = 202;
        res.set_content(json{{"status", "success"}, {"message", "Event processed"}, {"dedup_key", r.body.value("dedup_key", "")}}.dump(),
                        "application/json");
      } else {
        res.status = 200;
      }
    } else {
      res.status = answer.status;
      if (!answer.retry_after.empty()) res.set_header("Retry-After", answer.retry_after);
      res.set_content(answer.status == 429 ? (kind_ == Kind::slack ? "rate_limited" : R"({"status":"throttle event"})") : "error",
                      kind_ == Kind::slack ? "text/plain" : "application/json");
    }
    r.answered = res.status;
    std::lock_guard lock(mutex_);
    for (auto& p : problems) violations_.push_back(std::move(p));
    received_.push_back(std::move(r));
  });
}

std::string VendorReceiver::start() { return "http://" + target_.start() + "/hook"; }

void VendorReceiver::script(std::vector<Answer> answers) {
  std::lock_guard lock(mutex_);
  script_.assign(answers.begin(), answers.end());
}

void VendorReceiver::outage(Answer answer) {
  std::lock_guard lock(mutex_);
  if (answer.status == 0 && !answer.close) {
    outage_.reset();
  } else {
    outage_ = answer;
  }
}

std::vector<VendorReceiver::Received> VendorReceiver::received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

std::vector<VendorReceiver::Received> VendorReceiver::accepted() const {
  std::lock_guard lock(mutex_);
  std::vector<Received> out;
  for (const auto& r : received_) {
    if (r.answered == 200 || r.answered == 202) out.push_back(r);
  }
  return out;
}

std::vector<std::string> VendorReceiver::violations() const {
  std::lock_guard lock(mutex_);
  return violations_;
}

std::size_t VendorReceiver::requests() const {
  std::lock_guard lock(mutex_);
  return received_.size();
}

}  // namespace hotspotd::test
