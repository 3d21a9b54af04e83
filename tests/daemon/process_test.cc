// Starts the real hotspotd binary on an ephemeral loopback port and checks what a user and systemd would see:
// the HTTP endpoints, /metrics as promtool judges it, reload by SIGHUP and HTTP (a broken config keeps the old
// one), the sd_notify messages, and a clean exit on SIGTERM.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <sstream>
#include <thread>

#include "tests/support/components.h"
#include "tests/support/child_process.h"
#include "tests/support/exposition.h"
#include "tests/support/temp_dir.h"

using hotspotd::test::ChildProcess;
using hotspotd::test::findProgram;
using hotspotd::test::sampleValue;
using hotspotd::test::TempDir;
using namespace std::chrono_literals;

namespace {

std::string configText(std::string_view state_dir, std::string_view extra_log = "") {
  return "[server]\nlisten = \"127.0.0.1:0\"\nshutdown_timeout = \"5s\"\n[storage]\nstate_dir = \"" +
         std::string(state_dir) + "\"\n[log]\nlevel = \"info\"\n" + std::string(extra_log);
}

// A hotspotd process with its own state directory and config file.
struct RunningDaemon {
  explicit RunningDaemon(std::string extra_log = "", std::vector<std::string> env = {}) {
    config = dir.write("hotspotd.toml", configText((dir.path() / "state").string(), extra_log));
    process.emplace(std::vector<std::string>{HOTSPOTD_BINARY, "run", "--config", config.string()}, std::move(env));
    const auto listening = hotspotd::test::waitForListeningPort(*process);
    REQUIRE_MESSAGE(listening, process->output());
    port = *listening;
    REQUIRE(process->waitForLine("Ready", 20s));
  }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(10, 0);
    c.set_connection_timeout(5, 0);
    return c;
  }

  std::string metrics() const {
    auto c = client();
    auto res = c.Get("/metrics");
    REQUIRE(res);
    REQUIRE(res->status == 200);
    return res->body;
  }

  TempDir dir;
  std::filesystem::path config;
  std::optional<ChildProcess> process;
  int port = 0;
};

}  // namespace

TEST_CASE("the daemon serves healthy, ready and its own metrics on an ephemeral loopback port") {
  RunningDaemon d;
  auto c = d.client();
  auto healthy = c.Get("/-/healthy");
  REQUIRE(healthy);
  CHECK(healthy->status == 200);
  auto ready = c.Get("/-/ready");
  REQUIRE(ready);
  CHECK(ready->status == 200);
  auto missing = c.Get("/nope");
  REQUIRE(missing);
  CHECK(missing->status == 404);

  const auto body = d.metrics();
  CHECK(body.find("hotspotd_build_info{") != std::string::npos);
  CHECK(sampleValue(body, "hotspotd_config_last_reload_successful") == 1.0);
  CHECK(sampleValue(body, "hotspotd_config_last_reload_success_timestamp_seconds").value_or(0) > 1.7e9);
  CHECK(sampleValue(body, "process_resident_memory_bytes").value_or(0) > 1e6);
  CHECK(sampleValue(body, "process_open_fds").value_or(0) >= 3);
  CHECK(sampleValue(body, "hotspotd_http_requests_total{code=\"200\",handler=\"/-/healthy\"}") == 1.0);
  CHECK(sampleValue(body, "hotspotd_http_requests_total{code=\"404\",handler=\"other\"}") == 1.0);
  CHECK(sampleValue(body, "hotspotd_http_request_duration_seconds_count{handler=\"/-/ready\"}") == 1.0);

  // A reload attempt by GET is refused, as Prometheus does.
  auto get_reload = c.Get("/-/reload");
  REQUIRE(get_reload);
  CHECK(get_reload->status == 405);
}

TEST_CASE("promtool check metrics finds nothing to complain about in /metrics") {
  const std::string promtool = findProgram("promtool");
  if (!hotspotd::test::needComponent(!promtool.empty(), "promtool (Debian package prometheus; scripts/bootstrap)")) {
    return;
  }
  RunningDaemon d;
  d.metrics();  // so that the HTTP metrics have samples for /metrics too
  auto lint = ChildProcess::run({promtool, "check", "metrics"}, d.metrics());
  CHECK_MESSAGE(lint.exit_code == 0, lint.output);
  CHECK_MESSAGE(lint.output.empty(), lint.output);
}

TEST_CASE("SIGHUP with a broken config keeps the running config and flips the reload metric") {
  RunningDaemon d;
  std::filesystem::copy_file(d.config, d.dir.path() / "good.toml");
  d.dir.write("hotspotd.toml", "[server]\nlisten = \"127.0.0.1:0\"\n[log]\nlevel = \"chatty\"\n");
  d.process->signal(SIGHUP);
  auto failed = d.process->waitForLine("Configuration reload failed", 10s);
  REQUIRE_MESSAGE(failed, d.process->output());
  CHECK(failed->find("hotspotd.toml:4:9: log.level: unknown log level") != std::string::npos);

  const auto after_bad = d.metrics();
  CHECK(sampleValue(after_bad, "hotspotd_config_last_reload_successful") == 0.0);
  CHECK(sampleValue(after_bad, "hotspotd_config_reloads_total{result=\"failure\"}") == 1.0);
  auto c = d.client();
  auto ready = c.Get("/-/ready");
  REQUIRE(ready);
  CHECK(ready->status == 200);

  // The same broken file through POST /-/reload: 500 with the reason.
  auto http_bad = c.Post("/-/reload", "", "text/plain");
  REQUIRE(http_bad);
  CHECK(http_bad->status == 500);
  CHECK(http_bad->body.find("log.level: unknown log level \"chatty\"") != std::string::npos);

  // Fixed: POST /-/reload applies it and the metric comes back.
  std::filesystem::copy_file(d.dir.path() / "good.toml", d.config, std::filesystem::copy_options::overwrite_existing);
  auto http_good = c.Post("/-/reload", "", "text/plain");
  REQUIRE(http_good);
  CHECK(http_good->status == 200);
  const auto after_good = d.metrics();
  CHECK(sampleValue(after_good, "hotspotd_config_last_reload_successful") == 1.0);
  CHECK(sampleValue(after_good, "hotspotd_config_reloads_total{result=\"success\"}") == 1.0);
  CHECK(sampleValue(after_good, "hotspotd_config_reloads_total{result=\"failure\"}") == 2.0);
}

TEST_CASE("a reload applies a new log format and level") {
  RunningDaemon d;
  d.dir.write("hotspotd.toml", configText((d.dir.path() / "state").string()) + "format = \"json\"\n");
  d.process->signal(SIGHUP);
  auto line = d.process->waitForLine("\"msg\":\"Configuration reloaded\"", 10s);
  REQUIRE_MESSAGE(line, d.process->output());
  const auto j = nlohmann::json::parse(*line);
  CHECK(j["level"] == "info");
  CHECK(j.contains("ts"));
}

TEST_CASE("a reload that changes a restart-only setting says so and keeps serving where it was") {
  RunningDaemon d;
  d.dir.write("hotspotd.toml", "[server]\nlisten = \"127.0.0.1:1\"\n[storage]\nstate_dir = \"" +
                                   (d.dir.path() / "state").string() + "\"\n");
  d.process->signal(SIGHUP);
  auto warn = d.process->waitForLine("Setting changes only on restart", 10s);
  REQUIRE_MESSAGE(warn, d.process->output());
  CHECK(warn->find("key=server.listen") != std::string::npos);
  REQUIRE(d.process->waitForLine("Configuration reloaded", 10s));
  auto c = d.client();
  auto healthy = c.Get("/-/healthy");
  REQUIRE(healthy);
  CHECK(healthy->status == 200);
}

TEST_CASE("SIGTERM and SIGINT drain and exit 0") {
  for (int signo : {SIGTERM, SIGINT}) {
    CAPTURE(signo);
    RunningDaemon d;
    d.process->signal(signo);
    auto code = d.process->wait(15s);
    REQUIRE_MESSAGE(code, d.process->output());
    CHECK(*code == 0);
    CHECK(d.process->countLines("Stopped") == 1);
  }
}

TEST_CASE("JSON log format writes one JSON object per line") {
  RunningDaemon d("format = \"json\"\n");
  d.process->signal(SIGTERM);
  REQUIRE(d.process->wait(15s) == 0);
  std::istringstream out(d.process->output());
  int lines = 0;
  bool saw_listening = false;
  for (std::string line; std::getline(out, line);) {
    const auto j = nlohmann::json::parse(line);  // throws, failing the test, if a line is not JSON
    CHECK(j.contains("ts"));
    CHECK(j.contains("level"));
    if (j["msg"] == "Listening") saw_listening = j["address"].get<std::string>().starts_with("127.0.0.1:");
    ++lines;
  }
  CHECK(lines >= 4);
  CHECK(saw_listening);
}

TEST_CASE("a second daemon on the same state directory refuses to start") {
  RunningDaemon first;
  auto r = ChildProcess::run({HOTSPOTD_BINARY, "run", "--config", first.config.string()}, {}, 20s);
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("in use by another hotspotd (pid " + std::to_string(first.process->pid()) + ")") !=
        std::string::npos);
}

TEST_CASE("a listen address already in use is a clear start-up error") {
  RunningDaemon first;
  TempDir dir;
  const auto config = dir.write("c.toml", "[server]\nlisten = \"127.0.0.1:" + std::to_string(first.port) +
                                              "\"\n[storage]\nstate_dir = \"" + (dir.path() / "s").string() + "\"\n");
  auto r = ChildProcess::run({HOTSPOTD_BINARY, "run", "--config", config.string()}, {}, 20s);
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("cannot listen on 127.0.0.1:" + std::to_string(first.port)) != std::string::npos);
}

TEST_CASE("systemd hears READY, WATCHDOG, RELOADING and STOPPING over the notify socket") {
  TempDir sockdir;
  const auto sock_path = sockdir.path() / "notify";
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock_path.c_str());
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  timeval tv{0, 200000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

  std::vector<std::string> messages;
  auto receiveUntil = [&](std::string_view needle, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      char buf[1024];
      const ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n > 0) {
        messages.emplace_back(buf, static_cast<std::size_t>(n));
        if (messages.back().find(needle) != std::string::npos) return true;
      }
    }
    return false;
  };

  // WATCHDOG_USEC=400ms asks for a ping every 200ms.
  RunningDaemon d("", {"NOTIFY_SOCKET=" + sock_path.string(), "WATCHDOG_USEC=400000"});
  CHECK(receiveUntil("READY=1", 10s));
  int pings = 0;
  for (int i = 0; i < 3 && receiveUntil("WATCHDOG=1", 5s); ++i) ++pings;
  CHECK(pings == 3);
  d.process->signal(SIGHUP);
  CHECK(receiveUntil("RELOADING=1", 10s));
  CHECK(receiveUntil("READY=1", 10s));
  d.process->signal(SIGTERM);
  CHECK(receiveUntil("STOPPING=1", 10s));
  CHECK(d.process->wait(15s) == 0);
  close(fd);
}

TEST_CASE("the daemon evaluates its rules on its interval, and a broken rule file on reload keeps the old rules") {
  TempDir dir;
  dir.write("rules/a.toml", "[[rules]]\nname = \"Drift\"\nkind = \"latency_drift\"\nhistogram = \"x_seconds\"\n");
  const auto config = dir.write("hotspotd.toml", "[server]\nlisten = \"127.0.0.1:0\"\n[storage]\nstate_dir = \"" +
                                                     (dir.path() / "state").string() +
                                                     "\"\n[rules]\nfiles = [\"rules/*.toml\"]\n"
                                                     "evaluation_interval = \"1s\"\n");
  ChildProcess daemon({HOTSPOTD_BINARY, "run", "--config", config.string()});
  const auto port = hotspotd::test::waitForListeningPort(daemon);
  REQUIRE_MESSAGE(port, daemon.output());
  httplib::Client c("127.0.0.1", *port);
  auto metric = [&](std::string_view series) {
    auto r = c.Get("/metrics");
    return r ? sampleValue(r->body, series) : std::nullopt;
  };
  CHECK(metric("hotspotd_rules_loaded") == 1.0);
  std::this_thread::sleep_for(2500ms);
  CHECK(metric("hotspotd_rule_evaluations_total{rule=\"Drift\"}").value_or(0) >= 2);

  dir.write("rules/b.toml", "[[rules]]\nname = \"Broken\"\nkind = \"latency_drift\"\nhistogram = 'x{'\n");
  auto reload = c.Post("/-/reload", "", "text/plain");
  REQUIRE(reload);
  CHECK(reload->status == 500);
  CHECK(reload->body.find("b.toml:4:13: rules[0].histogram") != std::string::npos);
  CHECK(metric("hotspotd_rules_loaded") == 1.0);

  dir.write("rules/b.toml", "[[rules]]\nname = \"Second\"\nkind = \"latency_drift\"\nhistogram = \"y_seconds\"\n");
  reload = c.Post("/-/reload", "", "text/plain");
  REQUIRE(reload);
  CHECK(reload->status == 200);
  CHECK(metric("hotspotd_rules_loaded") == 2.0);
  daemon.signal(SIGTERM);
  CHECK(daemon.wait(15s) == 0);
}
