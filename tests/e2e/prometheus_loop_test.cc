// hotspotd on a real Go service: a Prometheus server (Debian's) is both the service watched and the server that
// scrapes hotspotd. hotspotd scrapes Prometheus' own histograms (prometheus_http_request_duration_seconds by
// handler); the test sends cheap queries, then expensive ones, to /api/v1/query; the drift fires on that handler
// and the profile comes from Prometheus' /debug/pprof/profile, showing its query engine at work. Meanwhile
// Prometheus scrapes hotspotd's /metrics (up == 1) and promtool finds nothing wrong with it.
#include <atomic>
#include <sstream>
#include <thread>

#include "tests/e2e/e2e.h"
#include "tests/support/components.h"
#include "tests/support/exposition.h"

using namespace hotspotd::test;
using namespace std::chrono_literals;
using nlohmann::json;

TEST_CASE(
    "a real Prometheus under expensive queries: drift on its query handler, a pprof profile of its query "
    "engine; it scrapes hotspotd meanwhile") {
  const std::string prometheus = findProgram("prometheus");
  const std::string promtool = findProgram("promtool");
  if (!hotspotd::test::needComponent(!prometheus.empty() && !promtool.empty(),
                                     "prometheus and promtool (scripts/bootstrap installs them)")) {
    return;
  }
  TempDir dir;
  const int prom_port = freePort(), hotspotd_port = freePort();
  const auto prom_config = dir.write("prometheus.yml", fmt::format(R"(global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: hotspotd
    static_configs:
      - targets: ['127.0.0.1:{}']
  - job_name: self
    static_configs:
      - targets: ['127.0.0.1:{}']
)",
                                                                   hotspotd_port, prom_port));
  ChildProcess prom({prometheus, "--config.file=" + prom_config.string(),
                     fmt::format("--web.listen-address=127.0.0.1:{}", prom_port),
                     "--storage.tsdb.path=" + (dir.path() / "tsdb").string(), "--log.level=warn"});

  dir.write("rules.toml", R"([[rules]]
name = "PrometheusQueryLatencyDrift"
kind = "latency_drift"
histogram = 'prometheus_http_request_duration_seconds{job="prometheus"}'
by = ["job", "handler"]
window = "30s"
baseline = "2m"
min_rate = 5
for = "3s"
keep_firing_for = "10s"
profile = "prometheus"
)");
  const auto config = dir.write("hotspotd.toml", configHead(hotspotd_port, dir.path() / "state", "prometheus",
                                                            fmt::format("127.0.0.1:{}", prom_port)) +
                                                     fmt::format(R"([profiling]
baseline_interval = "0s"
cpu_budget = 0.5
[[profile_targets]]
name = "prometheus"
pprof_url = "http://127.0.0.1:{}/debug/pprof/profile"
duration = "3s"
cooldown = "10m"
)",
                                                                 prom_port));
  ChildProcess daemon({HOTSPOTD_BINARY, "run", "--config", config.string()});
  REQUIRE_MESSAGE(daemon.waitForLine("Ready", 20s), daemon.output());

  // Cheap queries all along (the handler's healthy history), expensive ones once asked for.
  std::atomic<bool> stop{false}, expensive{false};
  std::atomic<int> cheap_sent{0}, expensive_sent{0};
  std::thread cheap([&] {
    httplib::Client c("127.0.0.1", prom_port);
    while (!stop) {
      if (auto r = c.Get("/api/v1/query?query=up"); r && r->status == 200) ++cheap_sent;
      std::this_thread::sleep_for(20ms);
    }
  });
  std::thread costly([&] {
    httplib::Client c("127.0.0.1", prom_port);
    c.set_read_timeout(30, 0);
    // A subquery at millisecond resolution over Prometheus' own series (it scrapes itself): hundreds of thousands of
    // steps through the query engine.
    const httplib::Params q{{"query", "sum(rate(prometheus_http_request_duration_seconds_bucket[5m:1ms]))"}};
    while (!stop) {
      if (!expensive) {
        std::this_thread::sleep_for(100ms);
        continue;
      }
      if (auto r = c.Get("/api/v1/query", q, httplib::Headers{}); r && r->status == 200) ++expensive_sent;
      std::this_thread::sleep_for(200ms);
    }
  });
  struct Stop {
    std::atomic<bool>& flag;
    std::thread& a;
    std::thread& b;
    ~Stop() {
      flag = true;
      a.join();
      b.join();
    }
  } stopper{stop, cheap, costly};

  // The handler is judged once its baseline holds enough requests; then the expensive queries begin.
  const auto handler_judged = [&] {
    auto j = getJson(hotspotd_port, "/api/v1/hotspots");
    if (!j) return false;
    for (const auto& h : (*j)["data"]["hotspots"]) {
      // value(): not every histogram has a handler label (operator[] on a const json must find its key).
      if (h.value("labels", json::object()).value("handler", "") == "/api/v1/query" &&
          h.value("drift", json()).is_object() && h["drift"].value("ratio", json()).is_number()) {
        return true;
      }
    }
    return false;
  };
  REQUIRE_MESSAGE(eventually(handler_judged, 120s),
                  (daemon.output() + getJson(hotspotd_port, "/api/v1/hotspots").value_or(json()).dump()));
  expensive = true;

  json incident;
  REQUIRE_MESSAGE(eventually(
                      [&] {
                        auto j = getJson(hotspotd_port, "/api/v1/incidents?state=firing");
                        if (!j) return false;
                        for (const auto& i : (*j)["data"]["incidents"]) {
                          if (i.value("labels", json::object()).value("handler", "") == "/api/v1/query") incident = i;
                        }
                        return !incident.is_null();
                      },
                      90s),
                  (daemon.output() + getJson(hotspotd_port, "/api/v1/hotspots").value_or(json()).dump() +
                   fmt::format("\nexpensive queries sent: {}", expensive_sent.load())));
  CHECK(incident["alertname"] == "PrometheusQueryLatencyDrift");
  INFO("incident: " << incident.dump());

  // The profile from Prometheus' pprof endpoint, attached to the incident: the query engine at work.
  json profile;
  REQUIRE_MESSAGE(eventually(
                      [&] {
                        auto j =
                            getJson(hotspotd_port, "/api/v1/profiles?incident=" + incident["id"].get<std::string>());
                        if (!j || (*j)["data"]["profiles"].empty()) return false;
                        profile = (*j)["data"]["profiles"][0];
                        return true;
                      },
                      60s),
                  daemon.output());
  REQUIRE_MESSAGE(!profile.contains("error"), profile.dump());
  CHECK(profile["samples"].get<int>() > 0);
  const Fetched folded = fetch(
      fmt::format("http://127.0.0.1:{}/api/v1/profiles/{}.folded", hotspotd_port, profile["id"].get<std::string>()));
  REQUIRE(folded.status == 200);
  CHECK(folded.body.find("github.com/prometheus/prometheus/promql.(*evaluator)") != std::string::npos);
  // Most of the CPU time went through the query engine (root-first folded stacks: "a;b;c <samples>").
  double engine = 0, total = 0;
  std::istringstream lines(folded.body);
  for (std::string line; std::getline(lines, line);) {
    const auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    const double n = std::stod(line.substr(space + 1));
    total += n;
    if (line.find("/promql.") != std::string::npos) engine += n;
  }
  CHECK_MESSAGE(engine > 0.5 * total, engine << " of " << total << " samples in promql");
  const Fetched svg =
      fetch(fmt::format("http://127.0.0.1:{}/api/v1/profiles/{}.svg", hotspotd_port, profile["id"].get<std::string>()));
  CHECK(svg.status == 200);
  CHECK(svg.body.find("promql") != std::string::npos);

  // Prometheus scrapes hotspotd all along: up == 1, and hotspotd's own metrics are in it.
  httplib::Client prom_api("127.0.0.1", prom_port);
  const bool up = eventually(
      [&] {
        auto r = prom_api.Get("/api/v1/query?query=up%7Bjob%3D%22hotspotd%22%7D");
        if (!r) return false;
        const auto j = json::parse(r->body, nullptr, false);
        return !j.is_discarded() && !j["data"]["result"].empty() && j["data"]["result"][0]["value"][1] == "1";
      },
      20s);
  CHECK(up);
  auto incidents_metric = prom_api.Get("/api/v1/query?query=hotspotd_incidents_firing");
  REQUIRE(incidents_metric);
  CHECK(incidents_metric->body.find("\"result\":[{") != std::string::npos);
  // And what it scrapes, with an incident and a profile behind it, passes promtool's lint.
  const Fetched metrics = fetch(fmt::format("http://127.0.0.1:{}/metrics", hotspotd_port));
  REQUIRE(metrics.status == 200);
  const auto lint = ChildProcess::run({promtool, "check", "metrics"}, metrics.body);
  CHECK_MESSAGE(lint.exit_code == 0, lint.output);
  CHECK(lint.output.empty());
  MESSAGE("queries sent: " << cheap_sent.load() << " cheap, " << expensive_sent.load() << " expensive");

  daemon.signal(SIGTERM);
  CHECK(daemon.wait(20s) == 0);
}
