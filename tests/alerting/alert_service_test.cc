// The alert service on its own event loop with a local Slack receiver: a page whose profile is being captured
// waits for it (and goes when the capture ends without one), and a later profile that names something new reaches
// every receiver again, while one that names the same thing again does not repeat the page.
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>

#include "alerting/alert_service.h"
#include "state/database.h"
#include "tests/support/temp_dir.h"
#include "tests/support/vendor_receivers.h"

using namespace hotspotd;
using namespace std::chrono_literals;

namespace {

struct Service {
  test::TempDir dir;
  boost::asio::io_context io;
  prometheus::Registry registry;
  std::unique_ptr<state::Database> db = *state::Database::open(dir.path() / "hotspotd.db");
  test::VendorReceiver slack{test::VendorReceiver::Kind::slack};
  std::int64_t deadline_ms = 0;         // the capture under way, as the profile manager says
  alerting::IncidentEvidence evidence;  // the newest profile, as the profile store says
  std::unique_ptr<alerting::AlertService> service;

  Service() {
    alerting::AlertSources sources;
    sources.capture_deadline = [this](const std::string&) { return deadline_ms; };
    sources.evidence = [this](const std::string&) { return evidence; };
    service = std::make_unique<alerting::AlertService>(io, realClock(), *db, sources, registry);
    REQUIRE(service->open());
    alerting::AlertingConfig c;
    alerting::Receiver r;
    r.name = "chat";
    r.type = alerting::ReceiverType::slack;
    r.urls = {slack.start()};
    c.receivers = {r};
    c.route.receiver = "chat";
    c.route.group_by = {"alertname"};
    c.route.group_wait = 0s;
    c.route.group_interval = 1s;
    service->apply(c);
  }
  ~Service() { service->stop(); }

  void fire() {
    rules::IncidentEvent e;
    e.t_ms = realClock().nowMs();
    e.id = "slow";
    e.alertname = "LatencyDrift";
    e.severity = "page";
    e.labels = {{"route", "/checkout"}};
    service->onEvents({e});
  }

  // Runs the loop for `d`; the messages Slack took.
  std::size_t run(Duration d) {
    const auto end = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < end) {
      io.run_for(50ms);
      io.restart();
    }
    return slack.accepted().size();
  }
};

}  // namespace

TEST_CASE("a page waits for the profile being captured; it goes when the capture ends, with the flame graph") {
  Service s;
  s.deadline_ms = realClock().nowMs() + 30'000;
  s.fire();
  CHECK(s.run(1500ms) == 0);  // group_wait is 0: only the capture holds it
  s.evidence.profile_id = "1a2222e90f9-0000";
  s.evidence.explanation = "on-CPU: Pricing::recalculate grew +41 points";
  s.evidence.explains = "cpu:Pricing::recalculate";
  s.deadline_ms = 0;
  s.service->onProfile("slow", true);
  REQUIRE(s.run(1500ms) == 1);
  const std::string first = s.slack.accepted()[0].raw;
  CHECK(first.find("1a2222e90f9-0000.svg") != std::string::npos);
  CHECK(first.find("Pricing::recalculate grew") != std::string::npos);
  // A progressive capture that names the same frame does not page again.
  s.service->onProfile("slow", true);
  CHECK(s.run(2500ms) == 1);
  // An off-CPU capture that names the wait does: every receiver hears it.
  s.evidence.profile_id = "1a2222e90f9-0001";
  s.evidence.explanation = "off-CPU: 73% of the growth in waiting is lock in Inventory::reserve";
  s.evidence.explains = "offcpu:lock:Inventory::reserve";
  s.service->onProfile("slow", true);
  REQUIRE(s.run(2500ms) == 2);
  CHECK(s.slack.accepted()[1].raw.find("lock in Inventory::reserve") != std::string::npos);
  CHECK(s.slack.violations().empty());
}

TEST_CASE("a page held for a capture goes without it when the capture fails, and at the deadline at the latest") {
  Service s;
  s.deadline_ms = realClock().nowMs() + 30'000;
  s.fire();
  CHECK(s.run(1000ms) == 0);
  s.deadline_ms = 0;
  s.service->onProfile("slow", false);  // the capture failed: nothing to wait for
  CHECK(s.run(1500ms) == 1);

  Service t;
  t.deadline_ms = realClock().nowMs() + 2'000;  // a capture that hangs
  t.fire();
  CHECK(t.run(1000ms) == 0);
  CHECK(t.run(3000ms) == 1);
}
