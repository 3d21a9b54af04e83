// A real hotspotd for process tests: a target whose gauge the test sets (QueueService), a config with one
// threshold rule on it that fires at once, evaluated every second, and helpers to wait and to read the API.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/support/child_process.h"
#include "tests/support/http_target.h"
#include "tests/support/temp_dir.h"

namespace hotspotd::test {

using namespace std::chrono_literals;

// A target whose queue depth the test sets, and a rule that fires above 50 at once.
struct QueueService {
  std::atomic<int> depth{100};
  HttpTarget target;
  std::string address;
  QueueService() {
    target.server().Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content("# TYPE queue_depth gauge\nqueue_depth{queue=\"q1\"} " + std::to_string(depth.load()) + "\n",
                      "text/plain; version=0.0.4");
    });
    address = target.start();
  }
};

// `extra_rules` is appended to the rule file, `tail` to the config.
inline std::filesystem::path writeConfig(TempDir& dir, const std::string& target, const std::string& tail,
                                         const std::string& extra_rules = "") {
  dir.write("rules.toml", std::string(R"([[rules]]
name = "QueueDeep"
kind = "threshold"
gauge = "queue_depth"
above = 50
window = "30s"
for = "0s"
keep_firing_for = "0s"
severity = "ticket"
annotations = { summary = "queue {{ $labels.queue }} at {{ $value }}" }
)") + extra_rules);
  return dir.write("hotspotd.toml", fmt::format(R"([server]
listen = "127.0.0.1:0"
[storage]
state_dir = "{}"
[rules]
files = ["rules.toml"]
evaluation_interval = "1s"
[[scrape]]
job = "app"
targets = ["{}"]
interval = "1s"
timeout = "1s"
[alerting]
external_url = "http://hotspotd.example:9464"
retry_min = "100ms"
retry_max = "1s"
{})",
                                                (dir.path() / "state").string(), target, tail));
}

// One webhook receiver taking everything at once.
inline std::string webhookOnly(const std::string& url) {
  return fmt::format(R"(
[[receivers]]
name = "hook"
type = "webhook"
url = "{}"
[route]
receiver = "hook"
group_wait = "0s"
group_interval = "1s"
)",
                     url);
}

// A [[profile_targets]] entry whose capture prints `folded` (a command printing folded stacks: the same path as
// perf's output, without needing perf), for the test's own process.
inline std::string foldedProfileTarget(TempDir& dir, const std::string& name, const std::string& folded) {
  const auto stacks = dir.write(name + ".folded", folded);
  dir.write(name + ".pid", std::to_string(getpid()) + "\n");
  return fmt::format("[[profile_targets]]\nname = \"{}\"\npid_file = \"{}.pid\"\ncommand = [\"cat\", \"{}\"]\n"
                     "duration = \"1s\"\n",
                     name, name, stacks.string());
}

inline int listenPort(ChildProcess& p) {
  const auto port = hotspotd::test::waitForListeningPort(p);
  REQUIRE_MESSAGE(port, p.output());
  return *port;
}

// Polls until `done` or the deadline.
template <typename F>
bool eventually(F done, std::chrono::seconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return done();
}

// An Authorization header for basic auth (RFC 7617), encoded here rather than with the daemon's own base64 so the
// tests check the daemon against an encoder of their own.
inline std::string basicAuth(const std::string& user, const std::string& password) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string in = user + ":" + password;
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[v & 63] : '=';
  }
  return "Basic " + out;
}

inline std::optional<nlohmann::json> getJson(int port, const std::string& path) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(10, 0);
  auto res = c.Get(path);
  if (!res) return std::nullopt;
  return nlohmann::json::parse(res->body, nullptr, false);
}

}  // namespace hotspotd::test
