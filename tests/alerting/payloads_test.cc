// Receiver payloads against the vendors' documented fields and limits: Slack Block Kit (50 blocks, header 150,
// section 3000, well under 13k in all), PagerDuty Events v2 (dedup key, summary 1024, details dropped past 512 KB),
// Alertmanager's webhook (version 4) and API v2.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "alerting/payloads.h"

using namespace hotspotd::alerting;
using nlohmann::json;

namespace {

AlertInfo alert(int i, bool firing = true) {
  AlertInfo a;
  a.id = "id" + std::to_string(i);
  a.alertname = "CheckoutLatencyDrift";
  a.severity = "page";
  a.firing = firing;
  a.labels = {{"route", "/checkout/" + std::to_string(i)}, {"service", "shop"}};
  a.annotations = {{"summary", "p99 of /checkout went from 250ms to 1.2s"}};
  a.starts_ms = 1'700'000'000'123;
  a.ends_ms = firing ? 0 : 1'700'000'600'000;
  a.value = 1.2;
  a.threshold = 0.25;
  a.evidence = {{"confidence", 0.99999}, {"requests", 15613}};
  a.reason = "6.30% of 15613 requests above 0.5s (baseline 0.65%)";
  a.incident_url = "http://hotspotd:9464/incidents/" + a.id;
  a.flamegraph_url = "http://hotspotd:9464/profiles/p1.svg";
  a.diff_url = "http://hotspotd:9464/profiles/p1.diff.svg";
  a.grown = {{"Pricing::recalculate", "cpu", 41.5}, {"malloc", "allocation/gc", 3.2}};
  return a;
}

std::size_t codePoints(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

TEST_CASE("Slack: a header, the evidence, grown frames and buttons, within every Block Kit limit") {
  NotificationGroup g;
  g.receiver = "slack";
  g.alerts = {alert(1)};
  const json j = json::parse(slackPayload(g));
  REQUIRE(j["blocks"].is_array());
  CHECK(j["blocks"][0]["type"] == "header");
  CHECK(j["blocks"][0]["text"]["text"] ==
        "[FIRING:1] CheckoutLatencyDrift {route=\"/checkout/1\", service=\"shop\"} (page)");
  const std::string section = j["blocks"][1]["text"]["text"];
  CHECK(section.find("Pricing::recalculate") != std::string::npos);
  CHECK(section.find("+41.5 pp (cpu)") != std::string::npos);
  CHECK(section.find("6.30% of 15613 requests") != std::string::npos);
  const auto& buttons = j["blocks"][2]["elements"];
  REQUIRE(buttons.size() == 3);
  CHECK(buttons[0]["url"] == "http://hotspotd:9464/profiles/p1.svg");
  CHECK(!j["text"].get<std::string>().empty());  // the notification's fallback text

  // An outage: 5,000 alerts in one group still make one message within the limits.
  g.alerts.clear();
  for (int i = 0; i < 5000; ++i) g.alerts.push_back(alert(i));
  g.external_url = "http://hotspotd:9464/";
  const std::string big = slackPayload(g);
  const json k = json::parse(big);
  CHECK(k["blocks"].size() <= kSlackMaxBlocks);
  CHECK(big.size() < 13000);
  for (const auto& b : k["blocks"]) {
    if (b["type"] == "header") CHECK(codePoints(b["text"]["text"]) <= kSlackHeaderChars);
    if (b["type"] == "section") CHECK(codePoints(b["text"]["text"]) <= kSlackSectionChars);
  }
  CHECK(k["blocks"].back()["type"] == "context");
  CHECK(k["blocks"].back()["elements"][0]["text"].get<std::string>().find("more alerts in this group") !=
        std::string::npos);
}

TEST_CASE("PagerDuty: dedup key, trigger and resolve, severity, links; summary and size limits") {
  auto a = alert(1);
  json j = json::parse(pagerdutyPayload(a, "R0UT1NGKEY", "host-1"));
  CHECK(j["routing_key"] == "R0UT1NGKEY");
  CHECK(j["event_action"] == "trigger");
  CHECK(j["dedup_key"] == "id1");
  CHECK(j["payload"]["severity"] == "critical");
  CHECK(j["payload"]["source"] == "host-1");
  CHECK(j["payload"]["timestamp"] == "2023-11-14T22:13:20.123Z");
  CHECK(j["links"].size() == 3);
  REQUIRE(j["images"].size() == 1);
  CHECK(j["images"][0]["src"] == "http://hotspotd:9464/profiles/p1.svg");
  CHECK(j["payload"]["custom_details"]["grown_frames"][0]["frame"] == "Pricing::recalculate");
  a.annotations = {{"summary", std::string(5000, 'x')}};
  j = json::parse(pagerdutyPayload(a, "k", "s"));
  CHECK(codePoints(j["payload"]["summary"]) <= kPagerDutySummaryChars);
  a.reason = std::string(600 * 1024, 'y');  // details past 512 KB are dropped, the event still goes
  const std::string huge = pagerdutyPayload(a, "k", "s");
  CHECK(huge.size() <= kPagerDutyMaxBytes);
  CHECK_FALSE(json::parse(huge)["payload"].contains("custom_details"));
  const json resolve = json::parse(pagerdutyPayload(alert(1, false), "k", "s"));
  CHECK(resolve["event_action"] == "resolve");
  CHECK(resolve["dedup_key"] == "id1");
}

TEST_CASE("webhook: Alertmanager's version 4 payload with common labels and generatorURL") {
  NotificationGroup g;
  g.receiver = "ops-webhook";
  g.group_key = "{}:{alertname=\"CheckoutLatencyDrift\"}";
  g.group_labels = {{"alertname", "CheckoutLatencyDrift"}};
  g.external_url = "http://hotspotd:9464/";
  g.alerts = {alert(1), alert(2, false)};
  const json j = json::parse(webhookPayload(g));
  CHECK(j["version"] == "4");
  CHECK(j["status"] == "firing");
  CHECK(j["receiver"] == "ops-webhook");
  CHECK(j["commonLabels"] == json{{"service", "shop"}});
  CHECK(j["alerts"].size() == 2);
  CHECK(j["alerts"][0]["labels"]["alertname"] == "CheckoutLatencyDrift");
  CHECK(j["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z");
  CHECK(j["alerts"][1]["status"] == "resolved");
  CHECK(j["alerts"][1]["endsAt"] == "2023-11-14T22:23:20.000Z");
  CHECK(j["alerts"][0]["generatorURL"] == "http://hotspotd:9464/incidents/id1");
  // What hotspotd attached rides along as annotations (a webhook has no other place for it).
  const json& annotations = j["alerts"][0]["annotations"];
  CHECK(annotations["summary"] == "p99 of /checkout went from 250ms to 1.2s");
  CHECK(annotations["flamegraph_url"] == "http://hotspotd:9464/profiles/p1.svg");
  CHECK(annotations["flamegraph_diff_url"] == "http://hotspotd:9464/profiles/p1.diff.svg");
  CHECK(annotations["grown_frames"] == "Pricing::recalculate +41.5 pp (cpu); malloc +3.2 pp (allocation/gc)");
  CHECK_FALSE(annotations.contains("trace_urls"));
  // Only the rule's own annotations are common: the links differ per alert.
  CHECK(j["commonAnnotations"] == json{{"summary", "p99 of /checkout went from 250ms to 1.2s"}});
}

TEST_CASE("Alertmanager API v2: firing alerts end in the future, resolved ones when they resolved") {
  const json j = json::parse(alertmanagerPayload({alert(1), alert(2, false)}, 1'700'000'100'000, 300'000));
  REQUIRE(j.size() == 2);
  CHECK(j[0]["endsAt"] == "2023-11-14T22:20:00.000Z");
  CHECK(j[1]["endsAt"] == "2023-11-14T22:23:20.000Z");
  CHECK(j[0]["labels"]["alertname"] == "CheckoutLatencyDrift");
  CHECK(j[0]["annotations"]["flamegraph_url"] == "http://hotspotd:9464/profiles/p1.svg");
  // A rule's own annotation of the same name is not overwritten.
  AlertInfo own = alert(3);
  own.annotations.emplace_back("flamegraph_url", "https://grafana.example/flame");
  own.trace_urls = {"https://tempo.example/t/1", "https://tempo.example/t/2"};
  const json k = json::parse(alertmanagerPayload({own}, 1'700'000'100'000, 300'000));
  CHECK(k[0]["annotations"]["flamegraph_url"] == "https://grafana.example/flame");
  CHECK(k[0]["annotations"]["trace_urls"] == "https://tempo.example/t/1 https://tempo.example/t/2");
  CHECK(truncateChars("h\u00e9llo w\u00f6rld", 5) == "h\u00e9ll\u2026");
  CHECK(truncateChars("short", 10) == "short");
}

TEST_CASE("Slack: label values, frames and links from outside stay text in mrkdwn (no <!channel>, no forged links)") {
  AlertInfo a = alert(1);
  a.labels = {{"route", "<!channel>"}, {"team", "<http://evil.example|click me> & co"}};
  a.annotations = {{"summary", "<@U123> look"}};
  a.reason = "p99 > 1s <script>";
  a.grown = {{"std::vector<int>::push_back", "cpu", 12.5}};
  a.trace_urls = {"https://tempo.example/trace?id=a|b>c"};
  NotificationGroup g;
  g.receiver = "slack";
  g.alerts = {a};
  const json j = json::parse(slackPayload(g));
  const std::string section = j["blocks"][1]["text"]["text"];
  CAPTURE(section);
  CHECK(section.find("<!channel>") == std::string::npos);
  CHECK(section.find("&lt;!channel&gt;") != std::string::npos);
  CHECK(section.find("<http://evil.example") == std::string::npos);
  CHECK(section.find("&lt;http://evil.example|click me&gt; &amp; co") != std::string::npos);
  CHECK(section.find("&lt;@U123&gt; look") != std::string::npos);
  CHECK(section.find("p99 &gt; 1s &lt;script&gt;") != std::string::npos);
  CHECK(section.find("std::vector&lt;int&gt;::push_back") != std::string::npos);
  // Our own link stays a link, its URL unable to close it early.
  CHECK(section.find("<https://tempo.example/trace?id=a%7Cb%3Ec|trace 1>") != std::string::npos);
  // The header is plain text: shown as written.
  CHECK(j["blocks"][0]["text"]["text"].get<std::string>().find("<!channel>") != std::string::npos);
}

TEST_CASE("a wait that explains the incident reaches every receiver: its sentence and the off-CPU flame graph") {
  auto a = alert(1);
  a.offcpu_url = "http://hotspotd:9464/api/v1/profiles/p1.offcpu.svg";
  a.profile_explanation = "off-CPU: 73% of the growth in waiting is lock in Inventory::reserve";
  NotificationGroup g;
  g.receiver = "slack";
  g.alerts = {a};
  const json slack = json::parse(slackPayload(g));
  const std::string section = slack["blocks"][1]["text"]["text"];
  CHECK(section.find("*Profile:* off-CPU: 73% of the growth in waiting is lock in Inventory::reserve") !=
        std::string::npos);
  const auto& buttons = slack["blocks"][2]["elements"];
  REQUIRE(buttons.size() == 4);
  CHECK(buttons[2]["url"] == a.offcpu_url);
  const json pd = json::parse(pagerdutyPayload(a, "R0UT1NGKEY", "host-1"));
  CHECK(pd["payload"]["custom_details"]["profile_explanation"] == a.profile_explanation);
  bool linked = false;
  for (const auto& l : pd["links"]) linked = linked || l["href"] == a.offcpu_url;
  CHECK(linked);
  g.receiver = "hook";
  const json hook = json::parse(webhookPayload(g));
  CHECK(hook["alerts"][0]["annotations"]["profile_explanation"] == a.profile_explanation);
  CHECK(hook["alerts"][0]["annotations"]["flamegraph_offcpu_url"] == a.offcpu_url);
}
