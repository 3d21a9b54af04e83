// The sd_notify protocol for `Type=notify` units: READY=1 once serving, RELOADING=1 / READY=1 around a reload,
// STOPPING=1 on shutdown, WATCHDOG=1 pings. Outside systemd (no $NOTIFY_SOCKET) every call is a no-op.
// Call from the lifecycle thread.
#pragma once

#include <optional>
#include <string_view>

#include "core/duration.h"

namespace hotspotd::daemon {

class SystemdNotifier {
 public:
  void ready(std::string_view status);
  void reloading();
  void stopping();
  void watchdog();
  void status(std::string_view status);

  // Half of WatchdogSec when systemd asked for watchdog pings for this process, nothing otherwise.
  static std::optional<Duration> watchdogInterval();

 private:
  void send(std::string_view message);
};

}  // namespace hotspotd::daemon
