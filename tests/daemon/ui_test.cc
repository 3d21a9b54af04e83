// The web UI in a real browser: a daemon with real state (a firing incident with a captured profile, a delivered
// notification, a latency histogram for the hotspot ranking) serves its pages to headless Chromium, driven by
// tests/ui/ui_test.mjs (playwright-core). Screenshots of each page are kept in the build tree as test artifacts.
// Skips with a message where Chromium or playwright-core is not installed (scripts/bootstrap and scripts/test
// install both).
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include "tests/support/components.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/vendor_receivers.h"

using hotspotd::test::ChildProcess;
using hotspotd::test::eventually;
using hotspotd::test::getJson;
using hotspotd::test::listenPort;
using hotspotd::test::TempDir;
using hotspotd::test::VendorReceiver;
using hotspotd::test::webhookOnly;
using hotspotd::test::writeConfig;
using namespace std::chrono_literals;

TEST_CASE("the web UI in headless Chromium: overview, incident with its flame graph, profiles, silences") {
  const std::string ui_dir = HOTSPOTD_SOURCE_DIR "/tests/ui";
  if (!hotspotd::test::needComponent(
          access("/usr/bin/chromium", X_OK) == 0 &&
              access((ui_dir + "/node_modules/playwright-core").c_str(), R_OK) == 0 &&
              !hotspotd::test::findProgram("node").empty(),
          "/usr/bin/chromium (scripts/bootstrap), node and playwright-core (npm ci --prefix tests/ui)")) {
    return;
  }
  // A service with a deep queue and a checkout endpoint whose requests keep coming.
  std::atomic<int> scrapes{0};
  std::atomic<int> depth{100};
  hotspotd::test::HttpTarget target;
  // The browser test drains the queue (GET /drain) to see the incident page turn to resolved by itself.
  target.server().Get("/drain", [&](const httplib::Request&, httplib::Response& res) {
    depth = 0;
    res.set_content("drained\n", "text/plain");
  });
  target.server().Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    const int n = ++scrapes * 100;
    res.set_content(fmt::format("# TYPE queue_depth gauge\nqueue_depth{{queue=\"q1\"}} {}\n"
                                "# TYPE http_request_duration_seconds histogram\n"
                                "http_request_duration_seconds_bucket{{route=\"/checkout\",le=\"0.1\"}} {}\n"
                                "http_request_duration_seconds_bucket{{route=\"/checkout\",le=\"0.5\"}} {}\n"
                                "http_request_duration_seconds_bucket{{route=\"/checkout\",le=\"+Inf\"}} {}\n"
                                "http_request_duration_seconds_sum{{route=\"/checkout\"}} {}\n"
                                "http_request_duration_seconds_count{{route=\"/checkout\"}} {}\n",
                                depth.load(), n / 2, n - 1, n, n * 0.12, n),
                    "text/plain; version=0.0.4");
  });
  const std::string address = target.start();
  VendorReceiver hook(VendorReceiver::Kind::webhook);
  const std::string url = hook.start();
  TempDir dir;
  const auto config = writeConfig(
      dir, address,
      webhookOnly(url) + hotspotd::test::foldedProfileTarget(
                             dir, "shop",
                             "shop;main;handle_checkout;Pricing::recalculate 900\nshop;main;handle_checkout;render 100\n"),
      "profile = \"shop\"\n\n[[rules]]\nname = \"CheckoutSlow\"\nkind = \"latency_threshold\"\n"
      "histogram = \"http_request_duration_seconds\"\nabove = \"200ms\"\nwindow = \"30s\"\nfor = \"0s\"\n");
  ChildProcess daemon({HOTSPOTD_BINARY, "run", "--config", config.string()});
  const int port = listenPort(daemon);
  REQUIRE_MESSAGE(daemon.waitForLine("Profile captured", 30s), daemon.output());
  REQUIRE_MESSAGE(eventually([&] { return !hook.accepted().empty(); }, 20s), daemon.output());
  // The hotspot ranking is refreshed every 30 s: wait for one with the checkout endpoint's rates.
  REQUIRE_MESSAGE(eventually([&] {
                    auto h = getJson(port, "/api/v1/hotspots");
                    return h && !(*h)["data"]["hotspots"].empty() && (*h)["data"]["hotspots"][0]["p99"]["value"].is_number();
                  }, 60s),
                  daemon.output());
  auto incidents = getJson(port, "/api/v1/incidents?state=firing&rule=QueueDeep");
  REQUIRE(incidents);
  const std::string id = (*incidents)["data"]["incidents"][0]["id"];

  // The chart's data for a latency incident: the rule's quantile and the request rate from the buckets (the rule
  // judges once its 30 s window has data).
  std::optional<nlohmann::json> slow;
  REQUIRE_MESSAGE(eventually([&] {
                    slow = getJson(port, "/api/v1/incidents?state=firing&rule=CheckoutSlow");
                    return slow && (*slow)["data"]["incidents"].size() == 1;
                  }, 60s),
                  daemon.output());
  auto series = getJson(port, "/api/v1/incidents/" + (*slow)["data"]["incidents"][0]["id"].get<std::string>() + "/series");
  REQUIRE(series);
  REQUIRE_MESSAGE((*series)["status"] == "success", series->dump());
  CHECK((*series)["data"]["kind"] == "latency");
  CHECK((*series)["data"]["threshold"] == 0.2);
  const auto& lines = (*series)["data"]["series"];
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["name"] == "p99");
  int quantiles = 0, rates = 0;
  for (const auto& p : lines[0]["points"]) {
    if (!p[1].is_number()) continue;
    ++quantiles;
    CHECK(p[1].get<double>() > 0.1);   // half the requests are under 100ms, 99 in 100 under 500ms:
    CHECK(p[1].get<double>() <= 0.5);  // the p99 lies in (0.1, 0.5]
  }
  for (const auto& p : lines[1]["points"]) {
    if (!p[1].is_number()) continue;
    ++rates;
    CHECK(p[1].get<double>() == doctest::Approx(100).epsilon(0.2));  // 100 requests a scrape, a scrape a second
  }
  CHECK(quantiles > 0);
  CHECK(rates > 0);

  const std::string artifacts = HOTSPOTD_UI_ARTIFACTS;
  ChildProcess browser({hotspotd::test::findProgram("node"), ui_dir + "/ui_test.mjs", "http://127.0.0.1:" + std::to_string(port),
                        id, "Pricing::recalculate", artifacts, "http://" + address});
  const auto rc = browser.wait(180s);
  CHECK_MESSAGE(rc == 0, browser.output());
  MESSAGE("UI screenshots: " << artifacts);
  daemon.signal(SIGTERM);
  CHECK(daemon.wait(20s) == 0);
}
