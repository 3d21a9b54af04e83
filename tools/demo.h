// `hotspotd demo`: the whole loop on this machine, with nothing to configure. It starts the demo service (a shop
// under a steady load, examples/demo-service), a webhook receiver that prints what it receives, and the daemon on
// the demo's config and rules (compiled in from examples/demo-service/); switches the shop's regression (CPU work, or
// with --regression lock a contended lock) on once
// a healthy baseline profile exists; and tells what happens as it happens: the drift firing, the profile captured,
// the alert arriving with its links. Ctrl-C (or SIGTERM) stops everything it started, in order; the children are
// also stopped by the kernel if the demo itself dies. The work directory (config, state, profiles, logs) is kept.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/duration.h"

namespace hotspotd::tools {

struct DemoOptions {
  std::string listen;                  // the daemon's address; empty: 127.0.0.1:9464, or any free port if taken
  std::filesystem::path dir;           // the work directory; empty: a new one under $TMPDIR (or /tmp)
  std::filesystem::path demo_service;  // empty: hotspotd_demo_service beside this executable
  double load = 60;                    // requests a second the shop drives itself with
  Duration regression_after = std::chrono::seconds(75);  // at the earliest; later if the baseline is not there yet
  Duration resolve_after{0};  // switch the regression off this long after the alert arrived; 0: leave it on
  std::string regression = "cpu";  // cpu: Pricing::recalculateAll; lock: a stock lock held during a slow call
};

// The demo's config and rules, as compiled in (with their ${...} placeholders).
std::string_view embeddedDemoConfig();
std::string_view embeddedDemoRules();

// Runs the demo until SIGINT or SIGTERM. Returns the exit code.
int runDemo(const DemoOptions& options);

}  // namespace hotspotd::tools
