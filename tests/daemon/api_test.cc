// The JSON API against a running daemon with real state: a scrape target, an incident that fires with a failed
// profile capture attached and a delivered notification, then resolves. Each endpoint answers what the on-call
// would look for, filters and pages, and errors are JSON with a status that fits; every response carries the
// security headers.
#include <doctest/doctest.h>

#include <signal.h>

#include "tests/support/daemon_fixture.h"
#include "tests/support/vendor_receivers.h"

using hotspotd::test::ChildProcess;
using hotspotd::test::eventually;
using hotspotd::test::getJson;
using hotspotd::test::listenPort;
using hotspotd::test::QueueService;
using hotspotd::test::TempDir;
using hotspotd::test::VendorReceiver;
using hotspotd::test::webhookOnly;
using hotspotd::test::writeConfig;
using nlohmann::json;
using namespace std::chrono_literals;

TEST_CASE("the API: status, targets, incidents with their evidence, notifications and profiles") {
  QueueService app;
  VendorReceiver hook(VendorReceiver::Kind::webhook);
  const std::string url = hook.start();
  TempDir dir;
  const auto config = writeConfig(dir, app.address,
                                  webhookOnly(url) + "[[profile_targets]]\nname = \"gone\"\npid_file = \"missing.pid\"\n",
                                  "profile = \"gone\"\n");
  ChildProcess daemon({HOTSPOTD_BINARY, "run", "--config", config.string()});
  const int port = listenPort(daemon);
  REQUIRE_MESSAGE(daemon.waitForLine("Profile capture failed", 30s), daemon.output());
  REQUIRE_MESSAGE(eventually([&] { return hook.accepted().size() == 1; }, 20s), daemon.output());
  httplib::Client api("127.0.0.1", port);
  api.set_read_timeout(10, 0);

  auto status = getJson(port, "/api/v1/status");
  REQUIRE(status);
  CHECK((*status)["data"]["ready"] == true);
  CHECK(!(*status)["data"]["version"].get<std::string>().empty());
  CHECK((*status)["data"]["uptimeSeconds"].get<double>() > 0);
  CHECK((*status)["data"]["config"]["rules"][0]["name"] == "QueueDeep");
  CHECK((*status)["data"]["config"]["receivers"][0]["type"] == "webhook");
  CHECK((*status)["data"]["config"]["scrape"][0]["job"] == "app");
  CHECK((*status)["data"]["state"] == json{{"writable", true}, {"writeErrors", 0}});

  auto targets = getJson(port, "/api/v1/targets");
  REQUIRE(targets);
  REQUIRE((*targets)["data"]["activeTargets"].size() == 1);
  CHECK((*targets)["data"]["activeTargets"][0]["health"] == "up");
  CHECK((*targets)["data"]["activeTargets"][0]["samples"] == 1);
  CHECK((*getJson(port, "/api/v1/targets?health=down"))["data"]["activeTargets"].empty());
  CHECK(api.Get("/api/v1/targets?health=sideways")->status == 400);

  // The receiver has answered; the daemon records the outcome when the answer reaches its state thread.
  std::optional<json> firing;
  CHECK(eventually(
      [&] {
        firing = getJson(port, "/api/v1/incidents?state=firing");
        return firing && (*firing)["data"]["incidents"].size() == 1 &&
               (*firing)["data"]["incidents"][0]["notifications"].size() == 1 &&
               (*firing)["data"]["incidents"][0]["notifications"][0]["state"] == "delivered";
      },
      10s));
  REQUIRE(firing);
  REQUIRE((*firing)["data"]["incidents"].size() == 1);
  const json incident = (*firing)["data"]["incidents"][0];
  CHECK(incident["alertname"] == "QueueDeep");
  CHECK(incident["labels"]["queue"] == "q1");
  CHECK(incident["annotations"]["summary"] == "queue q1 at 100");
  CHECK(incident["value"] == 100.0);
  CHECK(incident["threshold"] == 50.0);
  CHECK(incident["timeline"].size() == 2);  // pending, firing
  REQUIRE(incident["notifications"].size() == 1);
  CHECK(incident["notifications"][0]["state"] == "delivered");
  REQUIRE(incident["profiles"].size() == 1);
  CHECK(incident["profiles"][0]["error"].get<std::string>().find("missing.pid") != std::string::npos);
  const std::string id = incident["id"];
  CHECK(incident["url"] == "http://hotspotd.example:9464/incidents/" + id);
  CHECK((*getJson(port, "/api/v1/incidents?match=%7Bqueue%3D%22q2%22%7D"))["data"]["incidents"].empty());
  CHECK((*getJson(port, "/api/v1/incidents?match=%7Bqueue%3D%22q1%22%7D"))["data"]["incidents"].size() == 1);
  CHECK((*getJson(port, "/api/v1/incidents?rule=Other"))["data"]["incidents"].empty());
  CHECK((*getJson(port, "/api/v1/incidents?offset=1"))["data"]["incidents"].empty());
  auto bad_match = api.Get("/api/v1/incidents?match=%7Bqueue");
  REQUIRE(bad_match);
  CHECK(bad_match->status == 400);
  CHECK(json::parse(bad_match->body)["errorType"] == "bad_data");
  CHECK(api.Get("/api/v1/incidents?state=sleeping")->status == 400);

  auto detail = getJson(port, "/api/v1/incidents/" + id);
  REQUIRE(detail);
  REQUIRE((*detail)["data"]["notifications"].size() == 1);
  CHECK((*detail)["data"]["notifications"][0]["state"] == "delivered");
  CHECK((*detail)["data"]["notifications"][0]["receiver"] == "hook");
  auto missing = api.Get("/api/v1/incidents/0123456789abcdef");
  REQUIRE(missing);
  CHECK(missing->status == 404);
  CHECK(json::parse(missing->body)["errorType"] == "not_found");

  auto profiles = getJson(port, "/api/v1/profiles?incident=" + id);
  REQUIRE(profiles);
  REQUIRE((*profiles)["data"]["profiles"].size() == 1);
  const json profile = (*profiles)["data"]["profiles"][0];
  CHECK(profile["target"] == "gone");
  CHECK(profile["error"].get<std::string>().find("missing.pid") != std::string::npos);
  auto one = getJson(port, "/api/v1/profiles/" + profile["id"].get<std::string>());
  REQUIRE(one);
  CHECK((*one)["data"]["id"] == profile["id"]);
  CHECK(api.Get("/api/v1/profiles/" + profile["id"].get<std::string>() + ".folded")->status == 404);  // failed: no files
  CHECK((*getJson(port, "/api/v1/profiles?target=other"))["data"]["profiles"].empty());

  // The hotspot ranking answers JSON (no histograms here: no rows); a bad page is a 400 in the API's error shape.
  auto hotspots = api.Get("/api/v1/hotspots?limit=5");
  REQUIRE(hotspots);
  CHECK(hotspots->status == 200);
  CHECK(hotspots->get_header_value("Content-Type") == "application/json");
  CHECK(json::parse(hotspots->body)["status"] == "success");
  auto bad_page = api.Get("/api/v1/hotspots?limit=-1");
  REQUIRE(bad_page);
  CHECK(bad_page->status == 400);
  CHECK(json::parse(bad_page->body)["status"] == "error");

  // Unknown endpoints are JSON errors too; every response carries the security headers.
  auto unknown = api.Get("/api/v1/nothing-here");
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  CHECK(json::parse(unknown->body)["errorType"] == "not_found");
  for (const char* path : {"/api/v1/status", "/metrics", "/api/v1/nothing-here"}) {
    CAPTURE(path);
    auto r = api.Get(path);
    REQUIRE(r);
    CHECK(r->get_header_value("X-Content-Type-Options") == "nosniff");
    CHECK(r->get_header_value("X-Frame-Options") == "DENY");
    CHECK(r->get_header_value("Referrer-Policy") == "no-referrer");
    CHECK(r->get_header_value("Content-Security-Policy").find("default-src 'none'") != std::string::npos);
  }

  // Resolved: the incident moves to the resolved list with its resolution.
  app.depth = 10;
  REQUIRE_MESSAGE(daemon.waitForLine("Incident resolved", 30s), daemon.output());
  auto resolved = getJson(port, "/api/v1/incidents?state=resolved");
  REQUIRE(resolved);
  REQUIRE((*resolved)["data"]["incidents"].size() == 1);
  CHECK((*resolved)["data"]["incidents"][0]["timeline"].size() == 3);
  CHECK((*resolved)["data"]["incidents"][0]["resolution"]["value"].get<double>() <= 50.0);  // "above 50" no longer holds
  CHECK((*getJson(port, "/api/v1/incidents?state=open"))["data"]["incidents"].empty());
  daemon.signal(SIGTERM);
  CHECK(daemon.wait(20s) == 0);
}
