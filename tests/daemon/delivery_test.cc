// Delivery end to end on the daemon's pipeline in process, on simulated time: an incident fires and resolves, and
// the notifications reach local stand-ins for Slack, PagerDuty and a signed webhook (which check every payload
// against the vendors' documented fields and limits) through 429 with Retry-After, 500 and a closed connection.
// The receivers are real HTTP servers on loopback; the retries' waits pass on the simulated clock.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "alerting/outbox.h"
#include "alerting/receiver.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/in_process_daemon.h"
#include "tests/support/temp_dir.h"
#include "tests/support/vendor_receivers.h"

using hotspotd::test::InProcessDaemon;
using hotspotd::test::QueueService;
using hotspotd::test::TempDir;
using hotspotd::test::VendorReceiver;
using hotspotd::test::writeConfig;
using nlohmann::json;

namespace {

constexpr std::string_view kRoutingKey = "0123456789abcdef0123456789abcdef";

// The queue service's rule paging one webhook receiver, the pipeline in process.
struct WebhookDaemon {
  QueueService app;
  VendorReceiver hook{VendorReceiver::Kind::webhook};
  TempDir dir;
  InProcessDaemon daemon;
  WebhookDaemon() { daemon.start(writeConfig(dir, app.address, hotspotd::test::webhookOnly(hook.start()))); }
};

}  // namespace

TEST_CASE("an incident reaches Slack, PagerDuty and a signed webhook through 429, 500 and a dropped connection") {
  QueueService app;
  VendorReceiver slack(VendorReceiver::Kind::slack), pager(VendorReceiver::Kind::pagerduty),
      hook(VendorReceiver::Kind::webhook);
  const std::string slack_url = slack.start(), pager_url = pager.start(), hook_url = hook.start();
  slack.script({{429, "1"}});                  // Slack's rate limit, with Retry-After
  pager.script({{500}, VendorReceiver::Answer::closed()});      // a server error, then a connection closed without an answer
  TempDir dir;
  dir.write("slack-url", slack_url + "\n");  // the webhook URL is a secret: from a file
  const auto config = writeConfig(dir, app.address, fmt::format(R"(
[[receivers]]
name = "chat"
type = "slack"
url_file = "slack-url"
[[receivers]]
name = "pager"
type = "pagerduty"
url = "{}"
routing_key = "{}"
[[receivers]]
name = "hook"
type = "webhook"
url = "{}"
hmac_secret = "s3cret"
[route]
receiver = "hook"
group_by = ["alertname"]
group_wait = "0s"
group_interval = "1s"
[[route.routes]]
receiver = "chat"
matchers = ["severity=\"ticket\""]
continue = true
[[route.routes]]
receiver = "pager"
matchers = ["alertname=\"QueueDeep\""]
continue = true
[[route.routes]]
receiver = "hook"
matchers = ["queue=~\"q.*\""]
)",
                                                                pager_url, kRoutingKey, hook_url));
  // In process, on simulated time: the retries' backoff and Retry-After pass in no real time.
  InProcessDaemon daemon;
  daemon.start(config);
  REQUIRE(daemon.runUntil([&] { return daemon.raised("firing"); }, 30'000));
  REQUIRE(daemon.runUntil(
      [&] { return !slack.accepted().empty() && !pager.accepted().empty() && !hook.accepted().empty(); }, 30'000));

  // Slack: refused once with 429, then delivered after Retry-After; a valid Block Kit message with the evidence.
  auto slack_got = slack.received();
  REQUIRE(slack_got.size() >= 2);
  CHECK(slack_got[0].answered == 429);
  const json message = slack.accepted().front().body;
  CHECK(message["blocks"][0]["text"]["text"].get<std::string>().find("QueueDeep") != std::string::npos);
  CHECK(message["blocks"].dump().find("queue q1 at 100") != std::string::npos);
  CHECK(message["blocks"].dump().find("http://hotspotd.example:9464/incidents/") != std::string::npos);

  // PagerDuty: the 500 and the dropped connection were retried; one trigger keyed by the incident.
  auto pager_got = pager.received();
  REQUIRE(pager_got.size() >= 3);
  CHECK(pager_got[0].answered == 500);
  CHECK(pager_got[1].answered == 0);
  const json trigger = pager.accepted().front().body;
  CHECK(trigger["event_action"] == "trigger");
  CHECK(trigger["routing_key"] == kRoutingKey);
  CHECK(trigger["payload"]["severity"] == "warning");
  const std::string incident = trigger["dedup_key"];
  CHECK(!incident.empty());
  for (const auto& r : pager_got) CHECK(r.body["dedup_key"] == incident);  // retries never make a new incident

  // The webhook: Alertmanager's payload, signed with the shared secret.
  const auto hook_got = hook.accepted().front();
  CHECK(hook_got.body["status"] == "firing");
  CHECK(hook_got.body["alerts"][0]["labels"]["queue"] == "q1");
  CHECK(hook_got.body["alerts"][0]["generatorURL"] == "http://hotspotd.example:9464/incidents/" + incident);
  CHECK(hook_got.signature == hotspotd::alerting::hmacSignature("s3cret", hook_got.raw));

  // Resolve: each receiver hears it, after the firing (order per incident).
  app.depth = 10;
  REQUIRE(daemon.runUntil([&] { return daemon.raised("resolved"); }, 30'000));
  REQUIRE(daemon.runUntil(
      [&] { return pager.accepted().size() >= 2 && hook.accepted().size() >= 2 && slack.accepted().size() >= 2; },
      30'000));
  CHECK(pager.accepted()[1].body["event_action"] == "resolve");
  CHECK(pager.accepted()[1].body["dedup_key"] == incident);
  CHECK(hook.accepted()[1].body["status"] == "resolved");
  CHECK(slack.accepted()[1].body["text"].get<std::string>().find("RESOLVED") != std::string::npos);
  CHECK(slack.violations().empty());
  CHECK(pager.violations().empty());
  CHECK(hook.violations().empty());

  // The history says what was sent, how many attempts it took, and why attempts failed.
  int pager_attempts = 0, delivered = 0;
  std::string history_text;
  daemon.runUntil(
      [&] {
        auto history = daemon.pipeline->reader().with([&](auto& r) { return r.notifications(incident, 100); });
        REQUIRE(history);
        pager_attempts = delivered = 0;
        history_text.clear();
        for (const auto& n : *history) {
          delivered += n.state == hotspotd::alerting::NotificationState::delivered;
          if (n.receiver == "pager") pager_attempts = std::max(pager_attempts, n.attempts);
          history_text += fmt::format("{} attempts={} error={}\n", n.receiver, n.attempts, n.last_error);
        }
        return delivered == 6;
      },
      10'000);
  CHECK_MESSAGE(delivered == 6, history_text);
  CHECK(pager_attempts == 3);
  CHECK(daemon.metric("hotspotd_notifications_sent_total{receiver=\"pager\"}") == 2.0);
  CHECK(daemon.metric("hotspotd_notification_retries_total{reason=\"http_500\",receiver=\"pager\"}") == 1.0);
  CHECK(daemon.metric("hotspotd_notification_retries_total{reason=\"transport\",receiver=\"pager\"}") == 1.0);
  CHECK(daemon.metric("hotspotd_notification_retries_total{reason=\"http_429\",receiver=\"chat\"}") == 1.0);
  CHECK(daemon.runUntil(
      [&] { return daemon.metric("hotspotd_notifications_queue_length{receiver=\"pager\"}") == 0.0; }, 5'000));
}

TEST_CASE("a state database that cannot be written holds no page back: sent from memory, written once it can be") {
  WebhookDaemon w;
  VendorReceiver& hook = w.hook;
  InProcessDaemon& daemon = w.daemon;
  // The state directory turns read-only before the incident fires (what a full disk or a read-only remount looks
  // like to SQLite: every write fails), and the receiver is down.
  REQUIRE(daemon.pipeline->database().exec("PRAGMA query_only = ON"));
  hook.outage(VendorReceiver::Answer(500));
  REQUIRE(daemon.runUntil([&] { return daemon.raised("firing"); }, 30'000));
  REQUIRE(daemon.runUntil([&] { return hook.received().size() >= 2; }, 30'000));  // sent, and retried, from memory
  const auto health = daemon.pipeline->stateHealth().load();
  CHECK_FALSE(health->writable);
  CHECK(health->error.find("readonly") != std::string::npos);
  CHECK(health->failures > 0);
  CHECK(daemon.metric("hotspotd_state_writable") == 0.0);
  // Each failed write counted once, whichever stage made it.
  CHECK(daemon.metric("hotspotd_state_write_errors_total") == static_cast<double>(health->failures));
  daemon.runFor(1'500);  // the backlog gauge is refreshed each second
  CHECK(daemon.metric("hotspotd_notifications_queue_length{receiver=\"hook\"}") == 1.0);
  auto history = daemon.pipeline->reader().with([](auto& r) { return r.notifications("", 100); });
  REQUIRE(history);
  CHECK(history->empty());  // nothing could be written

  // Writable again: the pending page goes to the outbox (it would survive a restart from here on), and is
  // delivered from there once the receiver is back.
  REQUIRE(daemon.pipeline->database().exec("PRAGMA query_only = OFF"));
  REQUIRE(daemon.runUntil([&] { return daemon.pipeline->stateHealth().load()->writable; }, 10'000));
  REQUIRE(daemon.runUntil(
      [&] {
        auto h = daemon.pipeline->reader().with([](auto& r) { return r.notifications("", 100); });
        return h && h->size() == 1;
      },
      10'000));
  // With the attempts made from memory: its backoff carries on, it does not start again from the first.
  history = daemon.pipeline->reader().with([](auto& r) { return r.notifications("", 100); });
  REQUIRE(history);
  CHECK(history->front().attempts == static_cast<int>(hook.received().size()));
  CHECK(history->front().attempts >= 2);
  hook.outage(VendorReceiver::Answer(0));
  REQUIRE(daemon.runUntil([&] { return !hook.accepted().empty(); }, 60'000));
  CHECK(hook.accepted().front().body["status"] == "firing");
  REQUIRE(daemon.runUntil(
      [&] {
        auto h = daemon.pipeline->reader().with([](auto& r) { return r.notifications("", 100); });
        return h && h->size() == 1 && h->front().state == hotspotd::alerting::NotificationState::delivered;
      },
      10'000));
  CHECK(daemon.metric("hotspotd_state_writable") == 1.0);
  CHECK(hook.violations().empty());
}

TEST_CASE("a resolution kept in memory does not overtake its firing still waiting in the outbox") {
  WebhookDaemon w;
  QueueService& app = w.app;
  VendorReceiver& hook = w.hook;
  InProcessDaemon& daemon = w.daemon;
  // The firing is written to the outbox, but the receiver is down: it waits there for its retries.
  hook.outage(VendorReceiver::Answer(500));
  REQUIRE(daemon.runUntil([&] { return daemon.raised("firing") && !hook.received().empty(); }, 30'000));
  // Then the state directory turns read-only, and the incident resolves: the resolution is kept in memory.
  REQUIRE(daemon.pipeline->database().exec("PRAGMA query_only = ON"));
  app.depth = 10;
  REQUIRE(daemon.runUntil([&] { return daemon.raised("resolved"); }, 60'000));
  daemon.runFor(2'000);
  // The receiver comes back: the firing goes first, then the resolution.
  hook.outage(VendorReceiver::Answer(0));
  REQUIRE(daemon.runUntil([&] { return hook.accepted().size() >= 2; }, 120'000));
  const auto accepted = hook.accepted();
  CHECK(accepted[0].body["status"] == "firing");
  CHECK(accepted[1].body["status"] == "resolved");
  REQUIRE(daemon.pipeline->database().exec("PRAGMA query_only = OFF"));
}
