// Condition-to-notification latency of the alerting pipeline, with group_wait = 0 and a local webhook: from the
// engine handing over a firing incident (AlertService::onEvents) to the webhook receiving the POST. Between
// them: routing and grouping, enrichment (incident and profile lookups), the payload, the outbox transaction in a
// real SQLite file (WAL), the sending thread and the HTTP request. The detection itself (scrape and evaluation
// intervals) is not included: see bench/detector_bench and the scenarios for that.
//
// Also: a burst of 1000 incidents firing at once to one grouped webhook and to PagerDuty-style per-alert events.
#include <benchmark/benchmark.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "core/log.h"
#include "alerting/alert_service.h"
#include "incidents/incident_store.h"

namespace {

using namespace hotspotd;

struct Receiver {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::mutex m;
  std::condition_variable cv;
  std::size_t received = 0;
  Receiver() {
    server.Post(".*", [this](const httplib::Request&, httplib::Response& res) {
      res.status = 200;
      std::lock_guard lock(m);
      ++received;
      cv.notify_all();
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
  }
  ~Receiver() {
    server.stop();
    thread.join();
  }
  void waitFor(std::size_t n) {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return received >= n; });
  }
};

struct Pipeline {
  std::filesystem::path dir;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  prometheus::Registry registry;
  std::unique_ptr<state::Database> db;
  std::unique_ptr<incidents::IncidentStore> incidents;
  std::unique_ptr<alerting::AlertService> alerts;
  std::thread thread;

  Pipeline(alerting::AlertingConfig config) {
    dir = std::filesystem::temp_directory_path() / fmt::format("hotspotd-alert-bench-{}", ::getpid());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    db = std::move(*state::Database::open(dir / "hotspotd.db"));
    incidents = std::make_unique<incidents::IncidentStore>(std::move(*incidents::IncidentStore::open(*db)));
    // As the daemon wires it: each notification looks its incident up (its exemplars' trace links).
    alerting::AlertSources sources;
    sources.evidence = [this](const std::string& id) {
      alerting::IncidentEvidence e;
      if (auto record = incidents->get(id); record && *record) {
        for (const auto& x : (*record)->exemplars) e.trace_urls.push_back(x.url);
      }
      return e;
    };
    alerts = std::make_unique<alerting::AlertService>(io, realClock(), *db, std::move(sources), registry);
    (void)alerts->open();
    alerts->apply(config);
    thread = std::thread([this] { io.run(); });
  }
  ~Pipeline() {
    boost::asio::post(io, [this] { alerts->stop(); });
    work.reset();
    io.stop();
    thread.join();
    alerts.reset();
    std::filesystem::remove_all(dir);
  }
  void fire(std::vector<rules::IncidentEvent> events) {
    boost::asio::post(io, [this, events = std::move(events)] { alerts->onEvents(events); });
  }
};

alerting::AlertingConfig webhookConfig(int port, alerting::ReceiverType type, std::vector<std::string> group_by) {
  alerting::AlertingConfig c;
  alerting::Receiver r;
  r.name = "hook";
  r.type = type;
  r.urls = {fmt::format("http://127.0.0.1:{}/hook", port)};
  r.routing_key = std::string(32, 'k');
  c.receivers = {r};
  c.route.receiver = "hook";
  c.route.group_by = std::move(group_by);
  c.route.group_wait = Duration::zero();
  c.route.group_interval = Duration::zero();
  c.external_url = "http://127.0.0.1:9464";
  return c;
}

rules::IncidentEvent event(int i) {
  rules::IncidentEvent e;
  e.t_ms = 1'700'000'000'000;
  e.id = fmt::format("incident-{}", i);
  e.alertname = "CheckoutLatencyDrift";
  e.severity = "page";
  e.labels = {{"method", "POST"}, {"route", fmt::format("/checkout/{}", i)}};
  e.annotations = {{"summary", "p99 of /checkout went from 250ms to 1.2s"}};
  e.value = 1.2;
  e.threshold = 0.25;
  e.evidence = {{"confidence", 0.9999}, {"requests", 15000}};
  e.reason = "6.3% of 15000 requests above 0.5s (baseline 0.65%)";
  return e;
}

void BM_ConditionToWebhook(benchmark::State& state) {
  log::setup(log::Level::warn, log::Format::text);
  Receiver receiver;
  Pipeline p(webhookConfig(receiver.port, alerting::ReceiverType::webhook, {"route"}));
  int i = 0;
  for (auto _ : state) {
    p.fire({event(i++)});
    receiver.waitFor(static_cast<std::size_t>(i));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ConditionToWebhook)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(200);

// 1000 incidents at once: one grouped webhook message (group_by alertname), or 1000 per-alert events.
void BM_Burst1000(benchmark::State& state) {
  log::setup(log::Level::warn, log::Format::text);
  const bool per_alert = state.range(0) == 1;
  Receiver receiver;
  Pipeline p(webhookConfig(receiver.port, per_alert ? alerting::ReceiverType::pagerduty : alerting::ReceiverType::webhook,
                           per_alert ? std::vector<std::string>{"route"} : std::vector<std::string>{"alertname"}));
  int base = 0;
  std::size_t expected = 0;
  for (auto _ : state) {
    std::vector<rules::IncidentEvent> events;
    for (int k = 0; k < 1000; ++k) events.push_back(event(base + k));
    base += 1000;
    expected += per_alert ? 1000 : 1;
    p.fire(std::move(events));
    receiver.waitFor(expected);
  }
  state.SetLabel(per_alert ? "1000 PagerDuty events" : "1 grouped webhook message");
}
BENCHMARK(BM_Burst1000)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
