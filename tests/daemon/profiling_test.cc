// Profiles on incidents, end to end in a real daemon: an incident fires on a rule that names a profile target; the
// daemon captures the busy process behind it with real perf, stores the flame graph and the summary, and attaches
// the profile to the incident. A target that cannot be reached is attached as a failure with its reason, and the
// incident still fires.
#include <doctest/doctest.h>

#include <unistd.h>

#include <regex>
#include <thread>

#include "core/file.h"
#include "incidents/incident_store.h"
#include "profile/capture.h"
#include "state/database.h"
#include "tests/support/child_process.h"
#include "tests/support/components.h"
#include "tests/support/http_target.h"
#include "tests/support/temp_dir.h"
#include "tests/support/vendor_receivers.h"

using hotspotd::test::ChildProcess;
using hotspotd::test::HttpTarget;
using hotspotd::test::TempDir;
using hotspotd::test::VendorReceiver;
using namespace std::chrono_literals;

TEST_CASE("an incident naming a profile target gets a perf profile of its process; an unreachable one its reason") {
  ChildProcess busy({HOTSPOTD_BUSY, "120"});
  HttpTarget target;
  target.server().Get("/metrics", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("# TYPE queue_depth gauge\nqueue_depth 100\n", "text/plain; version=0.0.4");
  });
  const std::string address = target.start();
  VendorReceiver slack(VendorReceiver::Kind::slack);
  const std::string slack_url = slack.start();
  TempDir dir;
  dir.write("busy.pid", std::to_string(busy.pid()) + "\n");
  dir.write("rules.toml", R"([[rules]]
name = "QueueDeep"
kind = "threshold"
gauge = "queue_depth"
above = 50
window = "30s"
for = "0s"
profile = "busy"

[[rules]]
name = "QueueDeepElsewhere"
kind = "threshold"
gauge = "queue_depth"
above = 50
window = "30s"
for = "0s"
profile = "gone"
)");
  const auto config = dir.write(
      "hotspotd.toml",
      "[server]\nlisten = \"127.0.0.1:0\"\n[storage]\nstate_dir = \"" + (dir.path() / "state").string() +
          "\"\n[rules]\nfiles = [\"rules.toml\"]\nevaluation_interval = \"1s\"\n"
          "[profiling]\nbaseline_interval = \"0s\"\n"
          "[[profile_targets]]\nname = \"busy\"\npid_file = \"busy.pid\"\nduration = \"2s\"\ncooldown = \"1h\"\n"
          "[[profile_targets]]\nname = \"gone\"\npid_file = \"missing.pid\"\n"
          // Slack hears of it once the profile is there, though group_wait (1 s) ends before the 2 s capture does:
          // its first message links the flame graph the daemon serves.
          "[[receivers]]\nname = \"chat\"\ntype = \"slack\"\nurl = \"" +
          slack_url +
          "\"\n"
          "[route]\nreceiver = \"chat\"\ngroup_by = [\"alertname\"]\ngroup_wait = \"1s\"\n"
          "[[scrape]]\njob = \"app\"\ntargets = [\"" +
          address + "\"]\ninterval = \"1s\"\ntimeout = \"1s\"\n");
  ChildProcess daemon({HOTSPOTD_BINARY, "run", "--config", config.string()});
  const auto port = hotspotd::test::waitForListeningPort(daemon);
  REQUIRE_MESSAGE(port, daemon.output());
  REQUIRE_MESSAGE(daemon.waitForLine("Ready", 20s), daemon.output());
  REQUIRE_MESSAGE(daemon.waitForLine("Profile capture failed", 30s), daemon.output());

  std::string why_not;
  if (auto allowed = hotspotd::profile::perfAllowed(); !allowed) why_not = allowed.error().message;
  if (hotspotd::test::findProgram("perf").empty()) why_not = "perf is not installed";
  bool captured = false;
  if (why_not.empty()) {
    auto line = daemon.waitForLine("Profile captured", 30s);
    if (!line && daemon.output().find("not permitted") != std::string::npos) {
      why_not = "perf_event_open is not permitted here";
    } else {
      REQUIRE_MESSAGE(line, daemon.output());
      CHECK(line->find("top_frame=hotspotd_test_hot_function") != std::string::npos);
      captured = true;
    }
  }
  if (!why_not.empty()) hotspotd::test::needComponent(false, "perf (the perf part of this test): " + why_not);

  // What the state database says of the two incidents.
  auto db = hotspotd::state::Database::open(dir.path() / "state" / "hotspotd.db");
  REQUIRE(db);
  auto store = hotspotd::incidents::IncidentStore::open(**db);
  REQUIRE(store);
  auto open = store->list(true, 10);
  REQUIRE(open);
  REQUIRE(open->size() == 2);
  for (const auto& incident : *open) {
    CAPTURE(incident.alertname);
    if (incident.alertname == "QueueDeepElsewhere") {
      REQUIRE(incident.profiles.size() == 1);
      CHECK(incident.profiles[0].error.find("missing.pid") != std::string::npos);
    } else if (captured) {
      REQUIRE(incident.profiles.size() == 1);
      CHECK(incident.profiles[0].error.empty());
      const auto profile_dir = dir.path() / "state" / "profiles" / incident.profiles[0].profile_id;
      auto svg = hotspotd::readFile(profile_dir / "flamegraph.svg");
      REQUIRE(svg);
      CHECK(svg->find("<title>hotspotd_test_hot_function (") != std::string::npos);
      auto meta = hotspotd::readFile(profile_dir / "meta.json");
      REQUIRE(meta);
      CHECK(meta->find("\"incident\": \"" + incident.id + "\"") != std::string::npos);
      CHECK(meta->find("hotspotd_test_hot_function") != std::string::npos);
      auto folded = hotspotd::readFile(profile_dir / "stacks.folded");
      REQUIRE(folded);
      CHECK(folded->find("hotspotd_busy;") == 0);  // the process is the root frame
    }
  }
  if (captured) {
    // The alert links the flame graph, and following the link gets it.
    std::string link;
    bool told = false;
    for (int i = 0; i < 200 && !told; ++i) {
      for (const auto& m : slack.accepted()) {
        if (m.raw.find("QueueDeep ") == std::string::npos) continue;
        told = true;  // the incident's first message: it carries the flame graph already
        for (const auto& block : m.body["blocks"]) {
          if (block["type"] != "actions") continue;
          for (const auto& button : block["elements"]) {
            if (button["text"]["text"] == "Flame graph") link = button["url"];
          }
        }
        break;
      }
      if (!told) std::this_thread::sleep_for(100ms);
    }
    REQUIRE_MESSAGE(!link.empty(), daemon.output());
    const std::string prefix = "http://127.0.0.1:" + std::to_string(*port);
    REQUIRE(link.rfind(prefix + "/api/v1/profiles/", 0) == 0);
    httplib::Client client("127.0.0.1", *port);
    auto svg = client.Get(link.substr(prefix.size()));
    REQUIRE(svg);
    CHECK(svg->status == 200);
    CHECK(svg->get_header_value("Content-Type") == "image/svg+xml");
    CHECK(svg->get_header_value("Content-Security-Policy").find("default-src 'none'") != std::string::npos);
    CHECK(svg->body.find("hotspotd_test_hot_function") != std::string::npos);
    CHECK(client.Get("/api/v1/profiles/00000000000-0000.svg")->status == 404);
    CHECK(slack.violations().empty());
  }
  daemon.signal(SIGTERM);
  CHECK(daemon.wait(20s) == 0);
  // No perf data file is left, not even of a capture that shutdown cancelled: profile folders only.
  for (const auto& entry : std::filesystem::directory_iterator(dir.path() / "state" / "profiles")) {
    CHECK_MESSAGE(entry.is_directory(), entry.path().string());
  }
}
