// The daemon's two threads (daemon::Pipeline with StateThread::own, on real time): a state database whose every
// commit takes a second - a disk that syncs slowly - delays neither the scrapes nor anything else on the lifecycle
// loop (its timers, among them the systemd watchdog's ping), while the state thread still writes the incident and
// delivers its page.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include <boost/asio/steady_timer.hpp>

#include "core/clock.h"
#include "daemon/pipeline.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/exposition.h"
#include "tests/support/temp_dir.h"
#include "tests/support/vendor_receivers.h"

#include <prometheus/text_serializer.h>

using namespace hotspotd;
using namespace std::chrono_literals;

namespace {

// Every 100 ms on the loop; the largest delay past its due time.
struct LatenessProbe {
  explicit LatenessProbe(boost::asio::io_context& io) : timer(io) { arm(); }
  void arm() {
    due = std::chrono::steady_clock::now() + 100ms;
    timer.expires_at(due);
    timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      worst = std::max(worst, std::chrono::steady_clock::now() - due);
      arm();
    });
  }
  boost::asio::steady_timer timer;
  std::chrono::steady_clock::time_point due;
  std::chrono::steady_clock::duration worst{};
};

std::optional<double> metric(prometheus::Registry& registry, std::string_view series) {
  return test::sampleValue(prometheus::TextSerializer().Serialize(registry.Collect()), series);
}

}  // namespace

TEST_CASE("a state database that takes a second per commit delays no scrape and no timer of the lifecycle loop") {
  test::QueueService app;
  test::VendorReceiver hook(test::VendorReceiver::Kind::webhook);
  test::TempDir dir;
  const auto config_path = test::writeConfig(dir, app.address, test::webhookOnly(hook.start()));
  auto config = daemon::loadConfigFile(config_path);
  REQUIRE_MESSAGE(config, (config ? "" : config.error().message));

  boost::asio::io_context io;
  RealClock clock;
  prometheus::Registry registry;
  daemon::Pipeline pipeline(io, clock, registry, daemon::StateThread::own);
  std::atomic<int> firing{0};
  pipeline.addListener([&](const std::vector<rules::IncidentEvent>& events) {
    for (const auto& e : events) firing += e.state == rules::IncidentEvent::State::firing;
  });
  std::filesystem::create_directories(dir.path() / "state");
  REQUIRE(pipeline.start(*config, dir.path() / "state"));
  // From now on every commit takes a second, on the state thread that makes it.
  std::atomic<int> commits{0};
  std::atomic<bool> slow{true};
  pipeline.onState([&] {
    pipeline.database().onCommit([&] {
      ++commits;
      if (slow) std::this_thread::sleep_for(1s);
    });
  });

  LatenessProbe probe(io);
  double most_queued = 0;
  for (int i = 0; i < 16; ++i) {
    io.run_for(500ms);
    most_queued = std::max(most_queued, metric(registry, "hotspotd_state_queue_length").value_or(0));
  }
  slow = false;
  const auto scrapes = metric(registry, "hotspotd_scrapes_total{job=\"app\"}");
  pipeline.stop();

  // The state side did stall: the incident, the notification and its delivery were each a slow commit.
  CHECK(firing == 1);
  CHECK(commits >= 3);
  CHECK(most_queued >= 1);  // what waited for the disk was counted
  CHECK_FALSE(hook.accepted().empty());
  // The loop did not: a scrape a second, and no timer more than a few hundred milliseconds late (a commit on the
  // loop would have held it a whole second, three times over).
  REQUIRE(scrapes);
  CHECK(*scrapes >= 7);
  CHECK(std::chrono::duration<double>(probe.worst).count() < 0.5);
  // What was written survived the stalls.
  auto db = state::Database::open(dir.path() / "state" / "hotspotd.db");
  REQUIRE(db);
  auto store = incidents::IncidentStore::open(**db);
  REQUIRE(store);
  auto all = store->list(false, 10);
  REQUIRE(all);
  CHECK(all->size() == 1);
}
