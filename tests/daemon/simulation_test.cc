// The daemon's pipeline in process, on simulated time: the same scrape manager, engine, state database, profile
// manager and alert service the daemon wires, driven by a SimClock, scraping a real HTTP target on a loopback port.
// Forty simulated minutes take well under a second of real time, and each run gives the same result.
//
// The test that matters most: a recording of what the daemon scraped, replayed with `hotspotd replay`, gives the
// very same alert lines as the daemon raised (replay is the daemon's engine, not a copy of it).
// Also on simulated time: a latency incident carries the exemplars its target exposes, and the hotspot ranking.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>

#include "core/clock.h"
#include "core/file.h"
#include "daemon/api.h"
#include "daemon/config.h"
#include "daemon/pipeline.h"
#include "tests/support/http_target.h"
#include "tests/support/in_process_daemon.h"
#include "tests/support/temp_dir.h"
#include "tools/replay.h"

using namespace hotspotd;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kT0 = test::kSimStart;

// A service with three routes and a latency histogram; from scrape 80 to 130, one request in five of /checkout
// turns slow. Every scrape adds the same traffic, so each scrape's exposition is a function of its number.
struct Service {
  static constexpr double kBounds[] = {0.05, 0.1, 0.25, 0.5, 1.0};
  std::mutex mutex;
  std::vector<std::string> served;  // the bodies, in the order they were served
  std::map<std::string, std::vector<double>> counts;

  // The samples of scrape n (cumulative buckets per route), as exposition lines; `suffix` goes after each value.
  std::string exposition(const std::string& suffix) {
    std::string out = "# TYPE http_request_duration_seconds histogram\n";
    for (const char* route : {"/checkout", "/cart", "/search"}) {
      const auto& c = counts[route];
      for (std::size_t i = 0; i < std::size(kBounds) + 1; ++i) {
        const std::string le = i < std::size(kBounds) ? fmt::format("{}", kBounds[i]) : "+Inf";
        out += fmt::format("http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}{}\n", route, le, c[i],
                           suffix);
      }
      out += fmt::format("http_request_duration_seconds_count{{route=\"{}\"}} {}{}\n", route, c.back(), suffix);
      out += fmt::format("http_request_duration_seconds_sum{{route=\"{}\"}} {}{}\n", route, c.back() * 0.04, suffix);
    }
    return out;
  }
  void advance(std::size_t n) {
    for (const char* route : {"/checkout", "/cart", "/search"}) {
      auto& c = counts[route];
      if (c.empty()) c.assign(std::size(kBounds) + 1, 0);
      const bool slow = std::string_view(route) == "/checkout" && n >= 80 && n < 130;
      // 300 requests a scrape: most under 50 ms, a few up to 250 ms; slow: a fifth at 400 ms.
      const double per_bucket[] = {slow ? 200.0 : 260.0, 30, 9, slow ? 61.0 : 1.0, 0, 0};
      double cumulative = 0;
      for (std::size_t i = 0; i < c.size(); ++i) {
        cumulative += per_bucket[i];
        c[i] += cumulative;
      }
    }
  }
};

struct Simulation : test::InProcessDaemon {
  test::TempDir dir;
  test::HttpTarget target;
  Service service;

  Simulation() {
    target.server().Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard lock(service.mutex);
      service.advance(service.served.size());
      service.served.push_back(service.exposition(""));
      res.set_content(service.served.back(), "text/plain; version=0.0.4");
    });
    const std::string address = target.start();
    dir.write("rules.toml", R"([[rules]]
name = "CheckoutSlow"
kind = "latency_drift"
histogram = "http_request_duration_seconds"
by = ["route"]
window = "2m"
baseline = "10m"
for = "1m"
keep_firing_for = "2m"
)");
    const auto config_path = dir.write("hotspotd.toml", fmt::format(R"([rules]
files = ["rules.toml"]
evaluation_interval = "15s"
[[scrape]]
job = "shop"
targets = ["{}"]
interval = "15s"
timeout = "5s"
)",
                                                                   address));
    start(config_path);
  }
  ~Simulation() { stop(); }
};

}  // namespace

TEST_CASE("the daemon on simulated time scrapes, fires and resolves; replay of what it scraped says the same") {
  Simulation sim;
  sim.clock.run(sim.io, kT0 + 45 * 60'000);
  std::size_t scrapes = 0;
  {
    std::lock_guard lock(sim.service.mutex);
    scrapes = sim.service.served.size();
  }
  REQUIRE(scrapes >= 175);
  // The drift from scrape 80 to 130 fired and resolved, on /checkout only.
  REQUIRE(sim.alerts.size() == 2);
  CHECK(sim.alerts[0].find(R"("state":"firing","alertname":"CheckoutSlow","labels":{"route":"/checkout"})") !=
        std::string::npos);
  CHECK(sim.alerts[1].find(R"("state":"resolved")") != std::string::npos);

  // The recording: every body the daemon scraped, stamped with the time it was scraped (the target's phase plus
  // a whole number of intervals), as OpenMetrics for replay.
  const auto targets = sim.pipeline->scrapes().targets().load();
  REQUIRE(targets->size() == 1);
  const std::int64_t last = targets->front().last_scrape_ms;
  const std::int64_t first = last - static_cast<std::int64_t>(scrapes - 1) * 15'000;
  CHECK(first > kT0);
  CHECK(first <= kT0 + 15'000);
  Service again;  // the same service from the start, to write its samples with timestamps
  std::string recording;
  for (std::size_t n = 0; n < scrapes; ++n) {
    again.advance(n);
    std::string body = again.exposition(fmt::format(" {}.{:03}", (first + 15'000 * n) / 1000, (first + 15'000 * n) % 1000));
    if (n > 0) body = body.substr(body.find('\n') + 1);  // one TYPE line, at the top
    recording += body;
  }
  recording += "# EOF\n";
  const auto file = sim.dir.write("recording.om", recording);

  tools::ReplayOptions options;
  options.input = file;
  options.rules = sim.dir.path() / "rules.toml";
  options.output = sim.dir.path() / "alerts.jsonl";
  REQUIRE(tools::runReplay(options) == 0);
  auto replayed = readFile(options.output);
  REQUIRE(replayed);
  std::string daemon_lines;
  for (const auto& line : sim.alerts) daemon_lines += line + "\n";
  CHECK(*replayed == daemon_lines);
}

TEST_CASE("a firing latency incident carries the exemplars of its slow requests, linked to their traces") {
  test::TempDir dir;
  test::HttpTarget target;
  std::atomic<int> scrapes{0};
  target.server().Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    // Every request lands in the 1-2.5 s bucket: the p99 is far above the rule's 500ms.
    const int n = 100 * ++scrapes;
    res.set_content(fmt::format("# TYPE http_request_duration_seconds histogram\n"
                                "http_request_duration_seconds_bucket{{route=\"/pay\",le=\"0.5\"}} 0\n"
                                "http_request_duration_seconds_bucket{{route=\"/pay\",le=\"1\"}} 0\n"
                                "http_request_duration_seconds_bucket{{route=\"/pay\",le=\"2.5\"}} {0} "
                                "# {{trace_id=\"trace-{0}\"}} 1.8\n"
                                "http_request_duration_seconds_bucket{{route=\"/pay\",le=\"+Inf\"}} {0}\n"
                                "http_request_duration_seconds_sum{{route=\"/pay\"}} {1}\n"
                                "http_request_duration_seconds_count{{route=\"/pay\"}} {0}\n# EOF\n",
                                n, 1.8 * n),
                    "application/openmetrics-text; version=1.0.0; charset=utf-8");
  });
  const std::string address = target.start();
  dir.write("rules.toml", R"([[rules]]
name = "PaySlow"
kind = "latency_threshold"
histogram = "http_request_duration_seconds"
above = "500ms"
window = "30s"
for = "0s"
)");
  const auto config_path = dir.write("hotspotd.toml", fmt::format(R"([incidents]
trace_url = "https://tempo.example/trace/{{{{ trace_id }}}}"
exemplars = 3
[rules]
files = ["rules.toml"]
evaluation_interval = "1s"
[[scrape]]
job = "app"
targets = ["{}"]
interval = "1s"
timeout = "1s"
)",
                                                                   address));
  test::InProcessDaemon daemon;
  daemon.start(config_path);
  // The first judgement needs data at both ends of the 30 s window; a few scrapes later the exemplars are in.
  daemon.clock.run(daemon.io, kT0 + 45'000);
  REQUIRE(daemon.alerts.size() == 1);
  CHECK(daemon.alerts[0].find(R"("state":"firing","alertname":"PaySlow")") != std::string::npos);

  auto open = daemon.pipeline->incidents().list(true, 1);
  REQUIRE(open);
  REQUIRE(open->size() == 1);
  const auto& exemplars = open->front().exemplars;
  REQUIRE(exemplars.size() == 3);  // capped at `exemplars`, newest first
  CHECK(exemplars[0].t_ms > exemplars[1].t_ms);
  CHECK(exemplars[1].t_ms > exemplars[2].t_ms);
  CHECK(exemplars[0].trace_id.rfind("trace-", 0) == 0);
  CHECK(exemplars[0].url == "https://tempo.example/trace/" + exemplars[0].trace_id);
  CHECK(exemplars[0].value == 1.8);

  // The hotspot ranking names the endpoint with its rates and its p99's bucket.
  const auto body = daemon::hotspotsJson(*daemon.pipeline->engine().hotspots().load(), 0, 5);
  const auto& rows = body["data"]["hotspots"];
  REQUIRE(rows.size() == 1);
  CHECK(rows[0]["histogram"] == "http_request_duration_seconds");
  CHECK(rows[0]["labels"] == nlohmann::ordered_json{{"job", "app"}, {"route", "/pay"}});
  CHECK(rows[0]["share"] == 1.0);
  CHECK(rows[0]["mean_seconds"].get<double>() == doctest::Approx(1.8));
  CHECK(rows[0]["request_rate"].get<double>() == doctest::Approx(100.0));  // 100 requests a 1 s scrape
  CHECK(rows[0]["p99"]["lower"] == 1.0);
  CHECK(rows[0]["p99"]["upper"] == 2.5);
}
