// Local stand-ins for the receivers hotspotd posts to, on ephemeral loopback ports: Slack's incoming webhooks,
// PagerDuty's Events API v2 and an Alertmanager-style webhook. Each checks every request against the vendor's
// documented fields and limits and answers as the vendor does (Slack: 200 "ok", 400 "invalid_blocks"; PagerDuty:
// 202 with a JSON body, 400 "invalid event"); and each can be scripted to misbehave for the next requests: any
// status (429 with Retry-After, 500, 400), a slow answer, or a connection closed without an answer.
#pragma once

#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/http_target.h"

namespace hotspotd::test {

class VendorReceiver {
 public:
  enum class Kind { slack, pagerduty, webhook };
  struct Answer {
    Answer(int s = 0, std::string retry = {}, std::chrono::milliseconds wait = {}, bool drop = false)
        : status(s), retry_after(std::move(retry)), delay(wait), close(drop) {}
    static Answer closed() { return Answer(0, {}, {}, true); }
    int status = 0;  // 0: the vendor's success
    std::string retry_after;
    std::chrono::milliseconds delay{0};
    bool close = false;  // close the connection without an answer
  };
  struct Received {
    nlohmann::json body;
    std::string raw;
    std::string signature;      // X-Hotspotd-Signature, if sent
    std::string authorization;  // Authorization, if sent
    int answered = 0;           // the status sent back (0: connection closed)
    std::chrono::steady_clock::time_point at;  // when it arrived
  };

  explicit VendorReceiver(Kind kind, std::string hmac_header = "X-Hotspotd-Signature");
  std::string start();  // returns the URL to configure
  void script(std::vector<Answer> answers);
  // Answers every request with this until cleared (a receiver outage); status 0 clears.
  void outage(Answer answer);

  std::vector<Received> received() const;  // every request, in arrival order
  std::vector<Received> accepted() const;  // those answered with success
  std::vector<std::string> violations() const;
  std::size_t requests() const;

  // The schema checks, for direct use: problems found (empty: valid).
  static std::vector<std::string> checkSlack(const std::string& body);
  static std::vector<std::string> checkPagerDuty(const std::string& body);
  static std::vector<std::string> checkWebhook(const std::string& body);

 private:
  Kind kind_;
  std::string hmac_header_;
  HttpTarget target_;
  mutable std::mutex mutex_;
  std::deque<Answer> script_;
  std::optional<Answer> outage_;
  std::vector<Received> received_;
  std::vector<std::string> violations_;
};

}  // namespace hotspotd::test
