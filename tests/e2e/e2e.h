// What the end-to-end tests share: the demo service under load, a real Alertmanager, fetching the links alerts
// carry, and whether perf may run here.
#pragma once

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "profile/capture.h"
#include "tests/support/child_process.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/http_target.h"
#include "tests/support/temp_dir.h"

namespace hotspotd::test {

// perf runs here, or the reason it cannot (then what needs a perf profile is not checked).
inline std::string perfUnavailable() {
  if (findProgram("perf").empty()) return "perf is not installed";
  if (auto ok = profile::perfAllowed(); !ok) return ok.error().message;
  return {};
}

struct Fetched {
  int status = 0;  // 0: no answer
  std::string body;
  std::string content_type;
};

// GET of an absolute http:// URL, as a user following a link would.
inline Fetched fetch(const std::string& url) {
  const auto scheme_end = url.find("://");
  const auto path_at = scheme_end == std::string::npos ? std::string::npos : url.find('/', scheme_end + 3);
  if (path_at == std::string::npos) return {};
  httplib::Client client(url.substr(0, path_at));
  client.set_read_timeout(10, 0);
  auto res = client.Get(url.substr(path_at));
  if (!res) return {};
  return Fetched{res->status, res->body, res->get_header_value("Content-Type")};
}

// The demo service under its built-in load.
struct DemoService {
  ChildProcess process;
  int port = 0;
  explicit DemoService(double load)
      : process({HOTSPOTD_DEMO_SERVICE, "--listen", "127.0.0.1:0", "--load", fmt::format("{}", load)}) {
    auto line = process.waitForLine("Listening on", std::chrono::seconds(10));
    REQUIRE_MESSAGE(line, process.output());
    port = std::stoi(line->substr(line->rfind(':') + 1));
  }
  std::string address() const { return fmt::format("127.0.0.1:{}", port); }
  void regression(bool on) {
    httplib::Client client("127.0.0.1", port);
    auto res = client.Post("/admin/regression", on ? "on=1" : "on=0", "application/x-www-form-urlencoded");
    REQUIRE(res);
    REQUIRE(res->body == (on ? "on\n" : "off\n"));
  }
};

// A real Alertmanager (Debian's prometheus-alertmanager) on a loopback port, forwarding to one webhook. Its
// group_wait (10s; Alertmanager's default is 30s) is what lets a profile captured after the alert fired reach
// the first notification: hotspotd pushes the alert again, with its links, once the profile is there.
struct Alertmanager {
  static constexpr const char* kBinary = "/usr/bin/prometheus-alertmanager";
  static bool installed() { return std::filesystem::exists(kBinary); }

  std::optional<ChildProcess> process;
  int port = 0;
  Alertmanager(TempDir& dir, const std::string& webhook_url) {
    const auto config = dir.write("alertmanager.yml", fmt::format(R"(route:
  receiver: team
  group_by: [alertname, route]
  group_wait: 10s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: team
    webhook_configs:
      - url: "{}"
        send_resolved: true
)",
                                                                  webhook_url));
    port = freePort();
    process.emplace(std::vector<std::string>{
        kBinary, "--config.file=" + config.string(), "--storage.path=" + (dir.path() / "alertmanager").string(),
        fmt::format("--web.listen-address=127.0.0.1:{}", port), "--cluster.listen-address="});
    httplib::Client api("127.0.0.1", port);
    REQUIRE_MESSAGE(eventually(
                        [&] {
                          auto r = api.Get("/-/ready");
                          return r && r->status == 200;
                        },
                        std::chrono::seconds(30)),
                    process->output());
  }
  std::string url() const { return fmt::format("http://127.0.0.1:{}", port); }
};

// The start of an end-to-end daemon's config: its port and state directory, rules.toml evaluated every second, a
// store long enough for a test, and one job scraping `target` every second.
inline std::string configHead(int port, const std::filesystem::path& state, const std::string& job,
                              const std::string& target) {
  return fmt::format(R"([server]
listen = "127.0.0.1:{}"
[storage]
state_dir = "{}"
[rules]
files = ["rules.toml"]
evaluation_interval = "1s"
[store]
full_resolution = "10m"
retention = "30m"
[[scrape]]
job = "{}"
targets = ["{}"]
interval = "1s"
timeout = "900ms"
)",
                     port, state.string(), job, target);
}

// Whether a process with this pid still exists (not even as a zombie).
inline bool processExists(pid_t pid) {
  return pid > 0 && (::kill(pid, 0) == 0 || errno != ESRCH);
}

}  // namespace hotspotd::test
