// The daemon's pipeline in the test's process on simulated time: the scrape manager, engine, state database,
// profile manager and alert service the daemon wires (daemon::Pipeline), driven by a SimClock from kSimStart. Real
// sockets still carry scrapes and deliveries; every timer (scrape intervals, evaluations, retry backoff, Retry-After,
// pacing) runs on the simulated clock, so minutes pass in milliseconds. Not the process: no HTTP server, no
// signals, no systemd.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "core/clock.h"
#include "daemon/config.h"
#include "daemon/pipeline.h"
#include "tests/support/exposition.h"
#include "tools/replay.h"

namespace hotspotd::test {

inline constexpr std::int64_t kSimStart = 1'700'000'000'000;

struct InProcessDaemon {
  boost::asio::io_context io;
  SimClock clock{kSimStart};
  prometheus::Registry registry;
  std::unique_ptr<daemon::Pipeline> pipeline;
  std::vector<std::string> alerts;  // the daemon's transitions, as replay writes them

  // Starts the pipeline on the config file, with its state in a `state` directory beside it.
  void start(const std::filesystem::path& config_path) {
    auto config = daemon::loadConfigFile(config_path);
    REQUIRE_MESSAGE(config, (config ? "" : config.error().message));
    pipeline = std::make_unique<daemon::Pipeline>(io, clock, registry);
    const auto state_dir = config_path.parent_path() / "state";
    std::filesystem::create_directories(state_dir);
    auto started = pipeline->start(*config, state_dir);
    REQUIRE_MESSAGE(started, (started ? "" : started.error().message));
    pipeline->addListener([this](const std::vector<rules::IncidentEvent>& events) {
      for (const auto& e : events) alerts.push_back(tools::alertLine(e));
    });
  }
  void stop() {
    if (pipeline) pipeline->stop();
    pipeline.reset();
  }
  ~InProcessDaemon() { stop(); }

  std::int64_t elapsedMs() const { return clock.nowMs() - kSimStart; }
  // Runs simulated time on by `ms`.
  void runFor(std::int64_t ms) { clock.run(io, clock.nowMs() + ms); }
  // Runs simulated time in 100 ms steps until `done` holds (true) or `max_ms` passed (false).
  bool runUntil(const std::function<bool()>& done, std::int64_t max_ms) {
    const std::int64_t until = clock.nowMs() + max_ms;
    while (!done()) {
      if (clock.nowMs() >= until) return false;
      clock.run(io, clock.nowMs() + 100);
    }
    return true;
  }
  // The value of `series` in the daemon's own metrics, as /metrics would show it.
  std::optional<double> metric(std::string_view series) {
    return sampleValue(prometheus::TextSerializer().Serialize(registry.Collect()), series);
  }
  // Whether a transition of `state` ("firing", "resolved") was raised.
  bool raised(std::string_view state) const {
    const std::string needle = "\"state\":\"" + std::string(state) + "\"";
    for (const auto& a : alerts) {
      if (a.find(needle) != std::string::npos) return true;
    }
    return false;
  }
};

}  // namespace hotspotd::test
