// Incidents survive the daemon: a real hotspotd scrapes a real HTTP target, an incident fires, the daemon is
// killed with SIGKILL and started again on the same state directory. The incident must go on firing without a
// second firing transition (no second page), and resolve once the target recovers; the state database holds one
// incident with its rendered annotations.
#include <doctest/doctest.h>

#include <signal.h>

#include <atomic>
#include <optional>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "state/database.h"
#include "incidents/incident_store.h"
#include "tests/support/child_process.h"
#include "tests/support/exposition.h"
#include "tests/support/http_target.h"
#include "tests/support/temp_dir.h"

using hotspotd::test::ChildProcess;
using hotspotd::test::HttpTarget;
using hotspotd::test::sampleValue;
using hotspotd::test::TempDir;
using namespace std::chrono_literals;

namespace {

int listenPort(ChildProcess& p) {
  const auto port = hotspotd::test::waitForListeningPort(p);
  REQUIRE_MESSAGE(port, p.output());
  return *port;
}

std::optional<double> metric(int port, std::string_view series) { return hotspotd::test::scrapeValue(port, series); }

}  // namespace

TEST_CASE("a firing incident survives kill -9: no second page, and it resolves after the restart") {
  std::atomic<int> depth{100};
  HttpTarget target;
  target.server().Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content("# TYPE queue_depth gauge\nqueue_depth{queue=\"q1\"} " + std::to_string(depth.load()) + "\n",
                    "text/plain; version=0.0.4");
  });
  const std::string address = target.start();

  TempDir dir;
  dir.write("rules.toml", R"([[rules]]
name = "QueueDeep"
kind = "threshold"
gauge = "queue_depth"
above = 50
window = "30s"
for = "0s"
keep_firing_for = "0s"
severity = "ticket"
annotations = { summary = "queue {{ $labels.queue }} at {{ $value }}" }
)");
  const auto config = dir.write("hotspotd.toml", "[server]\nlisten = \"127.0.0.1:0\"\n[storage]\nstate_dir = \"" +
                                                     (dir.path() / "state").string() +
                                                     "\"\n[rules]\nfiles = [\"rules.toml\"]\nevaluation_interval = "
                                                     "\"1s\"\n[[scrape]]\njob = \"app\"\ntargets = [\"" +
                                                     address + "\"]\ninterval = \"1s\"\ntimeout = \"1s\"\n");
  const std::vector<std::string> argv{HOTSPOTD_BINARY, "run", "--config", config.string()};

  {
    ChildProcess first(argv);
    listenPort(first);
    REQUIRE_MESSAGE(first.waitForLine("Incident firing", 30s), first.output());
    first.signal(SIGKILL);
    REQUIRE(first.wait(10s) == 128 + SIGKILL);
  }

  ChildProcess second(argv);
  const int port = listenPort(second);
  REQUIRE_MESSAGE(second.waitForLine("Resumed incidents", 5s), second.output());
  CHECK(metric(port, "hotspotd_incidents_firing") == 1.0);
  // Several evaluations with the condition still true: the incident goes on, nobody is paged again.
  std::this_thread::sleep_for(4s);
  CHECK_MESSAGE(second.countLines("Incident firing") == 0, second.output());
  CHECK(metric(port, "hotspotd_incidents_firing") == 1.0);
  CHECK(metric(port, "hotspotd_incident_transitions_total{state=\"firing\"}") == 0.0);

  depth = 10;
  REQUIRE_MESSAGE(second.waitForLine("Incident resolved", 60s), second.output());
  CHECK(metric(port, "hotspotd_incidents_firing") == 0.0);
  second.signal(SIGTERM);
  REQUIRE(second.wait(20s) == 0);

  auto db = hotspotd::state::Database::open(dir.path() / "state" / "hotspotd.db");
  REQUIRE(db);
  auto store = hotspotd::incidents::IncidentStore::open(**db);
  REQUIRE(store);
  auto all = store->list(false, 10);
  REQUIRE(all);
  REQUIRE(all->size() == 1);
  const auto& incident = all->front();
  CHECK(incident.state == hotspotd::incidents::IncidentState::resolved);
  CHECK(incident.alertname == "QueueDeep");
  CHECK(incident.firing_ms > 0);
  CHECK(incident.resolved_ms >= incident.firing_ms);
  CHECK(incident.firing.annotations ==
        hotspotd::rules::OwnedLabels{{"summary", "queue q1 at 100"}});
  CHECK(incident.resolved.value <= 50);  // "above 50" no longer holds
}

TEST_CASE("a firing latency incident carries the exemplars of its slow requests, linked to their traces") {
  std::atomic<int> scrapes{0};
  HttpTarget target;
  target.server().Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    // Every request lands in the 1-2.5 s bucket: the p99 is far above the rule's 500ms.
    const int n = 100 * ++scrapes;
    const std::string body = "# TYPE http_request_duration_seconds histogram\n"
                             "http_request_duration_seconds_bucket{route=\"/pay\",le=\"0.5\"} 0\n"
                             "http_request_duration_seconds_bucket{route=\"/pay\",le=\"1\"} 0\n"
                             "http_request_duration_seconds_bucket{route=\"/pay\",le=\"2.5\"} " +
                             std::to_string(n) +
                             " # {trace_id=\"trace-" + std::to_string(n) + "\"} 1.8\n"
                             "http_request_duration_seconds_bucket{route=\"/pay\",le=\"+Inf\"} " +
                             std::to_string(n) + "\n" + "http_request_duration_seconds_sum{route=\"/pay\"} " +
                             std::to_string(1.8 * n) + "\nhttp_request_duration_seconds_count{route=\"/pay\"} " +
                             std::to_string(n) + "\n# EOF\n";
    res.set_content(body, "application/openmetrics-text; version=1.0.0; charset=utf-8");
  });
  const std::string address = target.start();

  TempDir dir;
  dir.write("rules.toml", R"([[rules]]
name = "PaySlow"
kind = "latency_threshold"
histogram = "http_request_duration_seconds"
above = "500ms"
window = "30s"
for = "0s"
)");
  const auto config = dir.write(
      "hotspotd.toml", "[server]\nlisten = \"127.0.0.1:0\"\n[storage]\nstate_dir = \"" +
                           (dir.path() / "state").string() +
                           "\"\n[incidents]\ntrace_url = \"https://tempo.example/trace/{{ trace_id }}\"\nexemplars = "
                           "3\n[rules]\nfiles = [\"rules.toml\"]\nevaluation_interval = \"1s\"\n[[scrape]]\njob = "
                           "\"app\"\ntargets = [\"" +
                           address + "\"]\ninterval = \"1s\"\ntimeout = \"1s\"\n");
  ChildProcess daemon({HOTSPOTD_BINARY, "run", "--config", config.string()});
  const int port = listenPort(daemon);
  // The first judgement needs data at both ends of the 30 s window.
  REQUIRE_MESSAGE(daemon.waitForLine("Incident firing", 60s), daemon.output());

  auto db = hotspotd::state::Database::open(dir.path() / "state" / "hotspotd.db");
  REQUIRE(db);
  auto store = hotspotd::incidents::IncidentStore::open(**db);
  REQUIRE(store);
  std::vector<hotspotd::incidents::IncidentExemplar> exemplars;
  for (int i = 0; i < 100 && exemplars.size() < 3; ++i) {
    std::this_thread::sleep_for(200ms);
    auto open = store->list(true, 1);
    REQUIRE(open);
    if (!open->empty()) exemplars = open->front().exemplars;
  }
  REQUIRE_MESSAGE(exemplars.size() == 3, daemon.output());  // capped at `exemplars`, newest first
  CHECK(exemplars[0].t_ms > exemplars[1].t_ms);
  CHECK(exemplars[0].trace_id.rfind("trace-", 0) == 0);
  CHECK(exemplars[0].url == "https://tempo.example/trace/" + exemplars[0].trace_id);
  CHECK(exemplars[0].value == 1.8);

  // The hotspot ranking names the endpoint with its rates and its p99's bucket.
  httplib::Client c("127.0.0.1", port);
  auto res = c.Get("/api/v1/hotspots?limit=5");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  CHECK(res->get_header_value("Content-Type") == "application/json");
  const auto body = nlohmann::json::parse(res->body);
  CHECK(body["status"] == "success");
  const auto& rows = body["data"]["hotspots"];
  REQUIRE(rows.size() == 1);
  CHECK(rows[0]["histogram"] == "http_request_duration_seconds");
  CHECK(rows[0]["labels"] == nlohmann::json{{"job", "app"}, {"route", "/pay"}});
  CHECK(rows[0]["share"] == 1.0);
  CHECK(rows[0]["mean_seconds"].get<double>() == doctest::Approx(1.8));
  CHECK(rows[0]["request_rate"].get<double>() > 10);
  CHECK(rows[0]["p99"]["lower"] == 1.0);
  CHECK(rows[0]["p99"]["upper"] == 2.5);
  auto bad = c.Get("/api/v1/hotspots?limit=-1");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(nlohmann::json::parse(bad->body)["status"] == "error");
}
