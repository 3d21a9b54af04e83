// hotspotd as a daemon with a rule on a real Prometheus (Debian's) as its query source: Prometheus scrapes a test
// target, hotspotd reads the target's gauge through Prometheus' query_range API and fires; Prometheus goes away and
// the incident stands still, saying why; Prometheus comes back and the incident resolves.
#include <doctest/doctest.h>

#include <csignal>
#include <memory>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/support/components.h"
#include "tests/support/child_process.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/exposition.h"
#include "tests/support/temp_dir.h"

using namespace hotspotd::test;
using namespace std::chrono_literals;

TEST_CASE(
    "a rule on a real Prometheus as a query source fires; while Prometheus is down it neither resolves nor "
    "fires, and says why; once Prometheus is back it resolves") {
  const std::string prometheus = findProgram("prometheus");
  if (!hotspotd::test::needComponent(!prometheus.empty(), "prometheus (scripts/bootstrap installs it)")) return;
  TempDir dir;
  QueueService app;  // queue_depth{queue="q1"}, 100 until the test drains it
  const std::string& app_address = app.address;
  const int prom_port = freePort();
  const auto prom_config = dir.write("prometheus.yml",
                                     "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                                     "scrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['" +
                                         app_address + "']\n");
  auto startPrometheus = [&] {
    return std::make_unique<ChildProcess>(
        std::vector<std::string>{prometheus, "--config.file=" + prom_config.string(),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(prom_port),
                                 "--storage.tsdb.path=" + (dir.path() / "tsdb").string(), "--log.level=warn"});
  };
  auto prom = startPrometheus();
  dir.write("rules.toml", R"([[rules]]
name = "QueueDeep"
kind = "threshold"
gauge = "queue_depth"
above = 50
window = "30s"
for = "0s"
keep_firing_for = "0s"
by = ["queue"]
source = "prom"
)");
  const auto config =
      dir.write("hotspotd.toml", "[server]\nlisten = \"127.0.0.1:0\"\n[storage]\nstate_dir = \"" +
                                     (dir.path() / "state").string() +
                                     "\"\n[rules]\nfiles = [\"rules.toml\"]\nevaluation_interval = "
                                     "\"1s\"\n[[sources]]\nname = \"prom\"\nurl = \"http://127.0.0.1:" +
                                     std::to_string(prom_port) + "\"\nstep = \"1s\"\ntimeout = \"2s\"\n");
  ChildProcess daemon({HOTSPOTD_BINARY, "run", "--config", config.string()});
  REQUIRE_MESSAGE(daemon.waitForLine("Ready", 20s), daemon.output());
  const auto port = waitForListeningPort(daemon);
  REQUIRE(port);
  auto firing = [&] {
    const auto j = getJson(*port, "/api/v1/incidents?state=firing");
    return !j || j->is_discarded() ? nlohmann::json::array() : (*j)["data"]["incidents"];
  };

  // Prometheus scrapes the app; hotspotd reads the gauge through Prometheus' query API and fires.
  REQUIRE_MESSAGE(eventually([&] { return firing().size() == 1; }, 60s), (daemon.output() + prom->output()));
  auto incident = firing()[0];
  CHECK(incident["alertname"] == "QueueDeep");
  CHECK(incident["labels"]["queue"] == "q1");
  CHECK_FALSE(incident.contains("sourceDegraded"));
  CHECK(scrapeValue(*port, "hotspotd_source_queries_total{result=\"success\",source=\"prom\"}").value_or(0) > 0);
  CHECK(scrapeValue(*port, "hotspotd_source_fetched_points_total{source=\"prom\"}").value_or(0) > 0);
  CHECK(scrapeValue(*port, "hotspotd_source_degraded{source=\"prom\"}") == 0.0);

  // Prometheus goes away, and the queue drains meanwhile: no data says so, so the incident stays firing, and says
  // why it is not judged.
  app.depth = 0;
  prom->signal(SIGTERM);
  REQUIRE(prom->wait(20s));
  REQUIRE_MESSAGE(
      eventually([&] { return scrapeValue(*port, "hotspotd_source_degraded{source=\"prom\"}") == 1.0; }, 20s),
      daemon.output());
  std::this_thread::sleep_for(3s);
  auto still = firing();
  REQUIRE(still.size() == 1);
  CHECK(still[0]["id"] == incident["id"]);
  CHECK(still[0].value("sourceDegraded", "").find("source degraded: query failed") != std::string::npos);
  CHECK(scrapeValue(*port, "hotspotd_source_queries_total{result=\"error\",source=\"prom\"}").value_or(0) > 0);
  CHECK(daemon.output().find("Query source degraded") != std::string::npos);

  // Prometheus is back (same data), scrapes the drained queue: judged again, the incident resolves.
  prom = startPrometheus();
  CHECK_MESSAGE(eventually([&] { return firing().empty(); }, 90s), (daemon.output() + prom->output()));
  CHECK(daemon.output().find("Query source answers in full again") != std::string::npos);
  CHECK(scrapeValue(*port, "hotspotd_source_degraded{source=\"prom\"}") == 0.0);
  daemon.signal(SIGTERM);
  CHECK(daemon.wait(15s) == 0);
}
