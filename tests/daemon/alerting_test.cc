// Alerting against a real hotspotd process scraping a real HTTP target: grouped messages and Slack's pacing, a
// rejected payload, a real Alertmanager (Debian's prometheus-alertmanager) that takes our alerts and forwards them
// to its own webhook, a receiver outage across a `kill -9` that loses nothing and pages once, and silences made
// through the API that mute and then release. (Delivery through 429, 500 and dropped connections runs in process
// on simulated time: delivery_test.cc.)
#include <doctest/doctest.h>

#include <signal.h>

#include <atomic>
#include <filesystem>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "alerting/receiver.h"
#include "tests/support/components.h"
#include "tests/support/child_process.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/exposition.h"
#include "tests/support/http_target.h"
#include "tests/support/temp_dir.h"
#include "tests/support/vendor_receivers.h"

using hotspotd::test::ChildProcess;
using hotspotd::test::eventually;
using hotspotd::test::getJson;
using hotspotd::test::listenPort;
using hotspotd::test::QueueService;
using hotspotd::test::webhookOnly;
using hotspotd::test::writeConfig;
using hotspotd::test::HttpTarget;
using hotspotd::test::scrapeValue;
using hotspotd::test::TempDir;
using hotspotd::test::VendorReceiver;
using nlohmann::json;
using namespace std::chrono_literals;

TEST_CASE("many endpoints at once: grouped messages, and Slack paced at one message a second") {
  HttpTarget target;
  target.server().Get("/metrics", [](const httplib::Request&, httplib::Response& res) {
    std::string body = "# TYPE queue_depth gauge\n";
    for (int q = 0; q < 5; ++q) body += fmt::format("queue_depth{{queue=\"q{}\"}} 100\n", q);
    res.set_content(body, "text/plain; version=0.0.4");
  });
  const std::string address = target.start();
  VendorReceiver slack(VendorReceiver::Kind::slack), hook(VendorReceiver::Kind::webhook);
  const std::string slack_url = slack.start(), hook_url = hook.start();
  TempDir dir;
  const auto config = writeConfig(dir, address, fmt::format(R"(
[[receivers]]
name = "chat"
type = "slack"
url = "{}"
[[receivers]]
name = "hook"
type = "webhook"
url = "{}"
[route]
receiver = "hook"
group_by = ["alertname"]
group_wait = "2s"
[[route.routes]]
receiver = "chat"
matchers = ["alertname=\"QueueDeep\""]
group_by = ["queue"]
continue = true
[[route.routes]]
receiver = "hook"
matchers = ["alertname=\"QueueDeep\""]
)",
                                                            slack_url, hook_url));
  ChildProcess daemon({HOTSPOTD_BINARY, "run", "--config", config.string()});
  listenPort(daemon);
  REQUIRE_MESSAGE(eventually([&] { return slack.accepted().size() == 5 && hook.accepted().size() == 1; }, 40s),
                  daemon.output());
  // One webhook message carries all five alerts of the group.
  CHECK(hook.accepted()[0].body["alerts"].size() == 5);
  // Slack got one message per queue, never two within a second (its documented pace per webhook).
  const auto got = slack.accepted();
  for (std::size_t i = 1; i < got.size(); ++i) {
    CHECK(got[i].at - got[i - 1].at >= 900ms);
  }
  CHECK(slack.requests() == 5);  // paced by us, not refused by the receiver
  daemon.signal(SIGTERM);
  CHECK(daemon.wait(20s) == 0);
}

TEST_CASE("a receiver that rejects a payload is not retried; the failure is counted with its reason") {
  QueueService app;
  VendorReceiver hook(VendorReceiver::Kind::webhook);
  const std::string url = hook.start();
  hook.outage({400});
  TempDir dir;
  const auto config = writeConfig(dir, app.address, webhookOnly(url));
  ChildProcess daemon({HOTSPOTD_BINARY, "run", "--config", config.string()});
  const int port = listenPort(daemon);
  REQUIRE_MESSAGE(daemon.waitForLine("Notification rejected by the receiver", 30s), daemon.output());
  std::this_thread::sleep_for(2s);
  CHECK(hook.requests() == 1);
  CHECK(scrapeValue(port, "hotspotd_notifications_failed_total{reason=\"http_400\",receiver=\"hook\"}") == 1.0);
  const auto history = getJson(port, "/api/v1/notifications");
  REQUIRE(history);
  REQUIRE(!(*history)["data"].empty());
  CHECK((*history)["data"][0]["state"] == "failed");
  CHECK((*history)["data"][0]["lastStatus"] == 400);
  daemon.signal(SIGTERM);
  CHECK(daemon.wait(20s) == 0);
}

TEST_CASE("a receiver outage across kill -9: the pending page is delivered after the restart, once") {
  QueueService app;
  VendorReceiver hook(VendorReceiver::Kind::webhook);
  const std::string url = hook.start();
  hook.outage({503});
  TempDir dir;
  const auto config = writeConfig(dir, app.address, webhookOnly(url));
  const std::vector<std::string> argv{HOTSPOTD_BINARY, "run", "--config", config.string()};
  {
    ChildProcess first(argv);
    listenPort(first);
    REQUIRE_MESSAGE(first.waitForLine("Incident firing", 30s), first.output());
    REQUIRE_MESSAGE(eventually([&] { return hook.requests() >= 2; }, 20s), first.output());  // retried, not lost
    first.signal(SIGKILL);
    REQUIRE(first.wait(10s) == 128 + SIGKILL);
  }
  CHECK(hook.accepted().empty());
  hook.outage({});  // the receiver is back

  ChildProcess second(argv);
  const int port = listenPort(second);
  REQUIRE_MESSAGE(eventually([&] { return hook.accepted().size() == 1; }, 30s), second.output());
  CHECK(hook.accepted()[0].body["status"] == "firing");
  // The incident goes on firing after the restart, and nobody is paged again.
  std::this_thread::sleep_for(5s);
  CHECK_MESSAGE(hook.accepted().size() == 1, second.output());
  CHECK(second.countLines("Incident firing") == 0);
  CHECK(scrapeValue(port, "hotspotd_notifications_queue_length{receiver=\"hook\"}") == 0.0);

  // A second kill -9 with nothing pending: still no second page.
  second.signal(SIGKILL);
  REQUIRE(second.wait(10s) == 128 + SIGKILL);
  ChildProcess third(argv);
  listenPort(third);
  REQUIRE_MESSAGE(third.waitForLine("Alert groups restored", 10s), third.output());
  std::this_thread::sleep_for(4s);
  CHECK_MESSAGE(hook.accepted().size() == 1, third.output());
  // And the resolution still reaches the receiver that heard it fire.
  app.depth = 10;
  REQUIRE_MESSAGE(eventually([&] { return hook.accepted().size() == 2; }, 30s), third.output());
  CHECK(hook.accepted()[1].body["status"] == "resolved");
  third.signal(SIGTERM);
  CHECK(third.wait(20s) == 0);
}

TEST_CASE("silences through the API: a silenced alert is not sent; expiring the silence sends it") {
  QueueService app;
  app.depth = 10;  // quiet until the silence is in place
  VendorReceiver hook(VendorReceiver::Kind::webhook);
  const std::string url = hook.start();
  TempDir dir;
  const auto config = writeConfig(dir, app.address, webhookOnly(url));
  ChildProcess daemon({HOTSPOTD_BINARY, "run", "--config", config.string()});
  const int port = listenPort(daemon);
  httplib::Client api("127.0.0.1", port);
  api.set_read_timeout(10, 0);

  auto bad = api.Post("/api/v1/silences", R"({"matchers": ["alertname=\"QueueDeep\""], "duration": "1h"})",
                      "application/json");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(json::parse(bad->body)["error"].get<std::string>().find("createdBy") != std::string::npos);
  auto cross_site = api.Post("/api/v1/silences", "matchers=x", "application/x-www-form-urlencoded");
  REQUIRE(cross_site);
  CHECK(cross_site->status == 415);

  auto created = api.Post("/api/v1/silences",
                          R"({"matchers": [{"name": "alertname", "value": "QueueDeep", "isRegex": false}],
                              "duration": "1h", "createdBy": "ana", "comment": "draining q1"})",
                          "application/json");
  REQUIRE(created);
  REQUIRE_MESSAGE(created->status == 200, created->body);
  const std::string id = json::parse(created->body)["data"]["silenceID"];
  auto listed = getJson(port, "/api/v1/silences");
  REQUIRE(listed);
  REQUIRE((*listed)["data"].size() == 1);
  CHECK((*listed)["data"][0]["status"]["state"] == "active");
  CHECK((*listed)["data"][0]["matchers"][0] == "alertname=\"QueueDeep\"");

  app.depth = 100;
  REQUIRE_MESSAGE(daemon.waitForLine("Incident firing", 30s), daemon.output());
  std::this_thread::sleep_for(3s);
  CHECK(hook.requests() == 0);  // silenced

  auto expired = api.Delete("/api/v1/silences/" + id);
  REQUIRE(expired);
  CHECK(expired->status == 200);
  CHECK(api.Delete("/api/v1/silences/00000000-0000-0000-0000-000000000000")->status == 404);
  REQUIRE_MESSAGE(eventually([&] { return hook.accepted().size() == 1; }, 15s), daemon.output());
  CHECK(hook.accepted()[0].body["alerts"][0]["labels"]["alertname"] == "QueueDeep");
  listed = getJson(port, "/api/v1/silences");
  REQUIRE(listed);
  CHECK((*listed)["data"][0]["status"]["state"] == "expired");
  daemon.signal(SIGTERM);
  CHECK(daemon.wait(20s) == 0);
}

TEST_CASE("a real Alertmanager takes our alerts, silences one, routes the other to its webhook, hears the resolution") {
  const char* binary = "/usr/bin/prometheus-alertmanager";
  if (!hotspotd::test::needComponent(std::filesystem::exists(binary),
                                     "prometheus-alertmanager (scripts/bootstrap installs it)")) {
    return;
  }
  std::atomic<int> depth{100};
  HttpTarget target;
  target.server().Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content("# TYPE queue_depth gauge\nqueue_depth{queue=\"q1\"} " + std::to_string(depth.load()) +
                        "\nqueue_depth{queue=\"q2\"} 100\n",
                    "text/plain; version=0.0.4");
  });
  const std::string address = target.start();
  VendorReceiver forwarded(VendorReceiver::Kind::webhook);
  const std::string forwarded_url = forwarded.start();
  TempDir dir;
  const auto am_config = dir.write("alertmanager.yml", fmt::format(R"(route:
  receiver: test
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: test
    webhook_configs:
      - url: "{}"
        send_resolved: true
)",
                                                                   forwarded_url));
  const int am_port = hotspotd::test::freePort();
  ChildProcess am({binary, "--config.file=" + am_config.string(), "--storage.path=" + (dir.path() / "am").string(),
                   fmt::format("--web.listen-address=127.0.0.1:{}", am_port), "--cluster.listen-address="});
  httplib::Client am_api("127.0.0.1", am_port);
  REQUIRE_MESSAGE(eventually([&] {
                    auto r = am_api.Get("/-/ready");
                    return r && r->status == 200;
                  }, 30s),
                  am.output());
  // The team silences q2 in its Alertmanager, as it always has: our alerts obey it.
  auto silence = am_api.Post("/api/v2/silences", fmt::format(R"({{"matchers": [{{"name": "queue", "value": "q2",
      "isRegex": false, "isEqual": true}}], "startsAt": "2000-01-01T00:00:00Z", "endsAt": "2100-01-01T00:00:00Z",
      "createdBy": "test", "comment": "q2 is being drained"}})"),
                             "application/json");
  REQUIRE(silence);
  REQUIRE_MESSAGE(silence->status == 200, silence->body);

  // An HA pair where one Alertmanager is down: the other still gets everything.
  const int dead_port = hotspotd::test::freePort();
  const auto config = writeConfig(dir, address, fmt::format(R"(
resend_interval = "5s"
[[receivers]]
name = "am"
type = "alertmanager"
urls = ["http://127.0.0.1:{}", "http://127.0.0.1:{}"]
)",
                                                                am_port, dead_port));
  ChildProcess daemon({HOTSPOTD_BINARY, "run", "--config", config.string()});
  const int port = listenPort(daemon);
  REQUIRE_MESSAGE(eventually([&] { return !forwarded.accepted().empty(); }, 30s), (daemon.output() + am.output()));
  const json firing = forwarded.accepted().front().body;
  CHECK(firing["status"] == "firing");
  REQUIRE(firing["alerts"].size() == 1);  // q2 is silenced
  const json& alert = firing["alerts"][0];
  CHECK(alert["labels"]["alertname"] == "QueueDeep");
  CHECK(alert["labels"]["queue"] == "q1");
  CHECK(alert["labels"]["severity"] == "ticket");
  CHECK(alert["annotations"]["summary"] == "queue q1 at 100");
  CHECK(alert["generatorURL"].get<std::string>().rfind("http://hotspotd.example:9464/incidents/", 0) == 0);

  // Alertmanager's own API lists the alert as active.
  auto listed = am_api.Get("/api/v2/alerts");
  REQUIRE(listed);
  const json am_alerts = json::parse(listed->body);
  REQUIRE(am_alerts.size() == 2);
  for (const auto& a : am_alerts) {
    CHECK(a["status"]["state"] == (a["labels"]["queue"] == "q1" ? "active" : "suppressed"));
  }

  depth = 10;
  REQUIRE_MESSAGE(eventually([&] {
                    for (const auto& r : forwarded.accepted()) {
                      for (const auto& a : r.body["alerts"]) {
                        if (a["status"] == "resolved" && a["labels"]["queue"] == "q1") return true;
                      }
                    }
                    return false;
                  }, 30s),
                  (daemon.output() + am.output()));
  CHECK(forwarded.violations().empty());
  CHECK(scrapeValue(port, "hotspotd_notifications_sent_total{receiver=\"am[0]\"}") >= 2.0);
  CHECK(scrapeValue(port, "hotspotd_notifications_queue_length{receiver=\"am[1]\"}") >= 1.0);  // waits for its peer
  daemon.signal(SIGTERM);
  CHECK(daemon.wait(20s) == 0);
  am.signal(SIGTERM);
  am.wait(10s);
}
