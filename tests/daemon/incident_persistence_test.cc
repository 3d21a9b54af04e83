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
