#include "daemon/systemd_notify.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstring>
#include <string>

#include <fmt/format.h>

#include "core/log.h"

namespace hotspotd::daemon {

void SystemdNotifier::send(std::string_view message) {
  const int rc = sd_notify(0, std::string(message).c_str());
  if (rc < 0) {
    log::warn("Could not notify systemd", {{"message", message}, {"error", std::string(strerror(-rc))}});
  }
}

void SystemdNotifier::ready(std::string_view status) {
  send(fmt::format("READY=1\nSTATUS={}", status));
}

void SystemdNotifier::reloading() {
  // MONOTONIC_USEC lets systemd >= 253 (Type=notify-reload) match the reload to its request; older ones ignore it.
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const auto usec =
      static_cast<unsigned long long>(now.tv_sec) * 1000000ULL + static_cast<unsigned long long>(now.tv_nsec) / 1000ULL;
  send(fmt::format("RELOADING=1\nMONOTONIC_USEC={}\nSTATUS=Reloading configuration", usec));
}

void SystemdNotifier::stopping() {
  send("STOPPING=1\nSTATUS=Shutting down");
}

void SystemdNotifier::watchdog() {
  send("WATCHDOG=1");
}

void SystemdNotifier::status(std::string_view status) {
  send(fmt::format("STATUS={}", status));
}

std::optional<Duration> SystemdNotifier::watchdogInterval() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(/*unset_environment=*/0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::duration_cast<Duration>(std::chrono::microseconds(usec / 2));
}

}  // namespace hotspotd::daemon
