// hotspotd among the real things it lives with: a real Prometheus server scrapes hotspotd's /metrics, and
// hotspotd scrapes that Prometheus server and a real node exporter (Debian packages prometheus and
// prometheus-node-exporter), all on loopback ports, all started and stopped here.
#include <doctest/doctest.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "tests/support/components.h"
#include "tests/support/child_process.h"
#include "tests/support/exposition.h"
#include "tests/support/http_target.h"
#include "tests/support/temp_dir.h"

using namespace hotspotd::test;
using namespace std::chrono_literals;

namespace {

template <typename F>
bool eventually(F check, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (check()) return true;
    std::this_thread::sleep_for(200ms);
  }
  return check();
}

std::string get(int port, const std::string& path) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(5, 0);
  auto r = c.Get(path.c_str());
  return r && r->status == 200 ? r->body : std::string();
}

}  // namespace

TEST_CASE("a real Prometheus scrapes hotspotd, and hotspotd scrapes Prometheus and node exporter") {
  const std::string prometheus = findProgram("prometheus");
  const std::string node_exporter = findProgram("prometheus-node-exporter");
  if (!hotspotd::test::needComponent(!prometheus.empty() && !node_exporter.empty(),
                                     "prometheus and prometheus-node-exporter (scripts/bootstrap installs both)")) {
    return;
  }
  TempDir dir;
  const int prom_port = freePort(), node_port = freePort(), hotspotd_port = freePort();
  const auto prom_config = dir.write("prometheus.yml",
                                     "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                                     "scrape_configs:\n  - job_name: hotspotd\n    static_configs:\n"
                                     "      - targets: ['127.0.0.1:" +
                                         std::to_string(hotspotd_port) + "']\n");
  ChildProcess prom({prometheus, "--config.file=" + prom_config.string(),
                     "--web.listen-address=127.0.0.1:" + std::to_string(prom_port),
                     "--storage.tsdb.path=" + (dir.path() / "tsdb").string(), "--log.level=warn"});
  ChildProcess node({node_exporter, "--web.listen-address=127.0.0.1:" + std::to_string(node_port), "--log.level=warn"});
  const auto config = dir.write(
      "hotspotd.toml", "[server]\nlisten = \"127.0.0.1:" + std::to_string(hotspotd_port) + "\"\n" +
                           "[storage]\nstate_dir = \"" + (dir.path() / "state").string() + "\"\n" +
                           "[[scrape]]\njob = \"prometheus\"\ntargets = [\"127.0.0.1:" + std::to_string(prom_port) +
                           "\"]\ninterval = \"1s\"\ntimeout = \"900ms\"\n" +
                           "[[scrape]]\njob = \"node\"\ntargets = [\"127.0.0.1:" + std::to_string(node_port) +
                           "\"]\ninterval = \"1s\"\ntimeout = \"900ms\"\n");
  ChildProcess daemon({HOTSPOTD_BINARY, "run", "--config", config.string()});
  REQUIRE_MESSAGE(daemon.waitForLine("Ready", 20s), daemon.output());

  // hotspotd scrapes both, and holds Prometheus' real histograms.
  std::string metrics;
  const bool up = eventually(
      [&] {
        metrics = get(hotspotd_port, "/metrics");
        const std::string p = "{instance=\"127.0.0.1:" + std::to_string(prom_port) + "\",job=\"prometheus\"}";
        const std::string n = "{instance=\"127.0.0.1:" + std::to_string(node_port) + "\",job=\"node\"}";
        return sampleValue(metrics, "hotspotd_scrape_target_up" + p) == 1.0 &&
               sampleValue(metrics, "hotspotd_scrape_target_up" + n) == 1.0;
      },
      30s);
  REQUIRE_MESSAGE(up, (metrics + "\n" + daemon.output() + prom.output() + node.output()));
  CHECK(sampleValue(metrics, "hotspotd_store_histograms").value_or(0) > 0);
  CHECK(sampleValue(metrics, "hotspotd_store_series").value_or(0) > 300);
  CHECK_FALSE(sampleValue(metrics, "hotspotd_scrape_failures_total{job=\"node\",reason=\"parse_error\"}"));

  // Prometheus scrapes hotspotd: up == 1 through its query API.
  const bool scraped = eventually(
      [&] {
        const std::string body = get(prom_port, "/api/v1/query?query=up%7Bjob%3D%22hotspotd%22%7D");
        if (body.empty()) return false;
        const auto j = nlohmann::json::parse(body, nullptr, false);
        return !j.is_discarded() && j["status"] == "success" && !j["data"]["result"].empty() &&
               j["data"]["result"][0]["value"][1] == "1";
      },
      30s);
  CHECK_MESSAGE(scraped, prom.output());
  const bool has_own_metric = eventually(
      [&] {
        const std::string body = get(prom_port, "/api/v1/query?query=hotspotd_build_info");
        return body.find("\"version\"") != std::string::npos;
      },
      10s);
  CHECK(has_own_metric);

  daemon.signal(SIGTERM);
  CHECK(daemon.wait(15s) == 0);
}
