// Receivers: what each type makes of a group (one message per group, one event per alert, one POST per
// Alertmanager), the requests with their auth and HMAC signature, payloads that the schema-checking stand-ins for
// Slack, PagerDuty and webhooks accept even for 10k alerts; silences kept in the database.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "alerting/receiver.h"
#include "alerting/silences.h"
#include "tests/support/temp_dir.h"
#include "tests/support/vendor_receivers.h"

using namespace hotspotd;
using namespace hotspotd::alerting;
using hotspotd::test::VendorReceiver;

namespace {

AlertInfo alert(int i, bool firing = true) {
  AlertInfo a;
  a.id = "incident-" + std::to_string(i);
  a.alertname = "CheckoutLatencyDrift";
  a.severity = "page";
  a.firing = firing;
  a.labels = {{"route", "/checkout/" + std::to_string(i)}, {"service", "shop"}, {"severity", "page"}};
  a.annotations = {{"summary", "p99 of /checkout went from 250ms to 1.2s"}};
  a.starts_ms = 1'700'000'000'000;
  a.ends_ms = firing ? 0 : 1'700'000'600'000;
  a.value = 1.2;
  a.threshold = 0.25;
  a.incident_url = "http://hotspotd:9464/incidents/" + a.id;
  a.flamegraph_url = "http://hotspotd:9464/api/v1/profiles/p1.svg";
  a.grown = {{"Pricing::recalculate", "cpu", 41.5}};
  return a;
}

NotificationGroup group(std::size_t n) {
  NotificationGroup g;
  g.receiver = "r";
  g.group_key = "0:{alertname=\"CheckoutLatencyDrift\"}";
  g.group_labels = {{"alertname", "CheckoutLatencyDrift"}};
  for (std::size_t i = 0; i < n; ++i) g.alerts.push_back(alert(static_cast<int>(i)));
  g.external_url = "http://hotspotd:9464";
  return g;
}

Receiver receiver(std::string name, ReceiverType type, std::vector<std::string> urls) {
  Receiver r;
  r.name = std::move(name);
  r.type = type;
  r.urls = std::move(urls);
  return r;
}

std::string header(const HttpRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

}  // namespace

TEST_CASE("each receiver type makes its own messages from a group") {
  const NotificationGroup g = group(3);
  const Receiver slack = receiver("chat", ReceiverType::slack, {"https://hooks.slack.com/services/T/B/x"});
  auto m = messagesFor(slack, g, 0, 0);
  REQUIRE(m.size() == 1);
  CHECK(m[0].queue == "chat");
  CHECK(m[0].key == g.group_key);
  CHECK(m[0].incidents == std::vector<std::string>{"incident-0", "incident-1", "incident-2"});

  Receiver pd = receiver("pager", ReceiverType::pagerduty, {"https://events.pagerduty.com/v2/enqueue"});
  pd.routing_key = std::string(32, 'k');
  pd.source = "host1";
  m = messagesFor(pd, g, 0, 0);
  REQUIRE(m.size() == 3);  // one event per incident, keyed (and deduplicated) by it
  CHECK(m[1].key == "incident-1");
  CHECK(nlohmann::json::parse(m[1].payload)["dedup_key"] == "incident-1");

  const Receiver am = receiver("am", ReceiverType::alertmanager, {"http://am1:9093", "http://am2:9093/"});
  m = messagesFor(am, g, 1'700'000'000'000, 240'000);
  REQUIRE(m.size() == 2);  // every Alertmanager of an HA pair, each its own queue
  CHECK(m[0].queue == "am[0]");
  CHECK(m[1].queue == "am[1]");
  CHECK(requestFor(am, 1, "[]").url == "http://am2:9093/api/v2/alerts");
}

TEST_CASE("requests carry the receiver's auth and an HMAC-SHA256 signature of the body") {
  // RFC 4231, test case 2.
  CHECK(hmacSignature("Jefe", "what do ya want for nothing?") ==
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  Receiver hook = receiver("hook", ReceiverType::webhook, {"http://127.0.0.1:1/x"});
  hook.basic_user = "Aladdin";
  hook.basic_password = "open sesame";
  hook.hmac_secret = "Jefe";
  hook.headers = {{"X-Team", "checkout"}};
  const HttpRequest r = requestFor(hook, 0, "what do ya want for nothing?");
  CHECK(header(r, "Authorization") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");  // RFC 7617's example
  CHECK(header(r, "X-Hotspotd-Signature") == "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(header(r, "X-Team") == "checkout");
  Receiver bearer = receiver("b", ReceiverType::webhook, {"http://x/"});
  bearer.bearer_token = "t0k";
  CHECK(header(requestFor(bearer, 0, "{}"), "Authorization") == "Bearer t0k");
  CHECK(rulesFor(receiver("s", ReceiverType::slack, {})).success_body == "ok");
}

TEST_CASE("payloads pass the vendors' schema checks, from one alert to 10k in one group") {
  for (std::size_t n : {1u, 60u, 10'000u}) {
    CAPTURE(n);
    const NotificationGroup g = group(n);
    CHECK(VendorReceiver::checkSlack(slackPayload(g)).empty());
    CHECK(VendorReceiver::checkWebhook(webhookPayload(g)).empty());
    CHECK(VendorReceiver::checkPagerDuty(pagerdutyPayload(g.alerts.back(), std::string(32, 'k'), "host1")).empty());
  }
  // And the checks do catch what a vendor would refuse.
  CHECK_FALSE(VendorReceiver::checkSlack(R"({"blocks":[{"type":"header","text":{"type":"mrkdwn","text":"x"}}]})").empty());
  CHECK_FALSE(VendorReceiver::checkPagerDuty(R"({"routing_key":"short","event_action":"trigger"})").empty());
  CHECK_FALSE(VendorReceiver::checkWebhook(R"({"version":"3"})").empty());
}

TEST_CASE("silences: checked when created, kept across a reopen, expired on request") {
  test::TempDir dir;
  const auto path = dir.path() / "hotspotd.db";
  constexpr std::int64_t now = 1'700'000'000'000;
  std::string id;
  {
    auto db = state::Database::open(path);
    REQUIRE(db);
    auto store = SilenceStore::open(**db);
    REQUIRE(store);
    SilenceRequest bad{{}, 0, now + 3'600'000, "ana", "deploy"};
    CHECK_FALSE(store->create(bad, now));  // no matchers
    bad.matchers = {"route=\"\""};
    CHECK(store->create(bad, now).error().message.find("must select something") != std::string::npos);
    bad.matchers = {"route=~\"(\""};
    CHECK_FALSE(store->create(bad, now));  // a regex that does not compile
    SilenceRequest past{{"route=\"/pay\""}, 0, now - 1, "ana", "deploy"};
    CHECK(store->create(past, now).error().message.find("endsAt") != std::string::npos);
    past.starts_ms = now - 10'000;
    CHECK(store->create(past, now).error().message.find("past") != std::string::npos);
    SilenceRequest anonymous{{"route=\"/pay\""}, 0, now + 1000, "", "deploy"};
    CHECK_FALSE(store->create(anonymous, now));
    auto s = store->create(SilenceRequest{{"route=~\"/pay.*\"", "service=\"shop\""}, 0, now + 3'600'000, "ana", "deploy"}, now);
    REQUIRE(s);
    id = s->id;
    CHECK(s->starts_ms == now);
    REQUIRE(store->current().size() == 1);
  }
  auto db = state::Database::open(path);
  REQUIRE(db);
  auto store = SilenceStore::open(**db);
  REQUIRE(store);
  REQUIRE(store->current().size() == 1);
  const LabelView pay{{"route", "/pay/v2"}, {"service", "shop"}};
  CHECK(silencedBy(pay, store->current(), now + 1000));
  CHECK(store->expire(id, now + 2000) == true);
  CHECK_FALSE(silencedBy(pay, store->current(), now + 3000));
  CHECK(store->expire("no-such-silence", now) == false);
  auto all = store->list();
  REQUIRE(all);
  REQUIRE(all->size() == 1);  // kept as history until pruned
  CHECK(all->front().ends_ms == now + 2000);
  CHECK(all->front().matcher_texts == std::vector<std::string>{"route=~\"/pay.*\"", "service=\"shop\""});
  CHECK(store->prune(now + 3000) == 1);
}
