// The daemon's port and inputs under attack, as a client on loopback would try them against a real hotspotd: a
// request line of 200 MiB before authentication, a 64 MiB chunked body, connections that drip their headers, a
// flood of connections, a Host that is not ours (DNS rebinding), silences with the wrong types or a malformed
// time, and a profile whose frame names are not UTF-8. After each, the daemon must still be what it is for: its
// incident fires and the webhook hears of it.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <sstream>

#include "core/file.h"
#include "daemon/auth.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/vendor_receivers.h"

using namespace hotspotd::test;

namespace {

// A raw TCP connection to the daemon, from `source` (127.0.0.2 is another client address than 127.0.0.1).
class RawConnection {
 public:
  RawConnection(int port, const char* source = "127.0.0.1") {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    ::inet_pton(AF_INET, source, &from.sin_addr);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0;
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  // False once the daemon closed or reset the connection.
  bool send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // What the daemon answered until it closed the connection or `limit` bytes (empty on a reset or a timeout).
  std::string receive(std::size_t limit = 1 << 20) {
    std::string out;
    char buf[4096];
    while (out.size() < limit) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  // True if the daemon closed the connection (end of stream or reset) within the receive timeout.
  bool closedByPeer() {
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

long rssKiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

int statusOf(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

// A daemon with its QueueDeep rule firing at once and a webhook taking every page; `server` is added to [server].
struct Hostile {
  QueueService app;
  VendorReceiver hook{VendorReceiver::Kind::webhook};
  TempDir dir;
  std::unique_ptr<ChildProcess> daemon;
  int port = 0;

  explicit Hostile(const std::string& server = "", const std::string& tail = "") {
    const auto config = writeConfig(dir, app.address, webhookOnly(hook.start()) + tail);
    if (!server.empty()) {
      std::string text = *hotspotd::readFile(config);
      text.replace(text.find("[server]\n"), 9, "[server]\n" + server);
      dir.write("hotspotd.toml", text);
    }
    daemon = std::make_unique<ChildProcess>(std::vector<std::string>{HOTSPOTD_BINARY, "run", "--config",
                                                                     config.string()});
    port = listenPort(*daemon);
    REQUIRE_MESSAGE(daemon->waitForLine("Ready", 20s), daemon->output());
  }

  // What the daemon is for, after the attack: alive, its incident firing, the page delivered.
  void stillWorks(const std::string& auth = "") {
    REQUIRE_MESSAGE(::kill(daemon->pid(), 0) == 0, daemon->output());
    CHECK_MESSAGE(eventually(
                      [&] {
                        for (const auto& r : hook.received()) {
                          if (r.body.contains("alerts") && r.body.dump().find("QueueDeep") != std::string::npos)
                            return true;
                        }
                        return false;
                      },
                      30s),
                  daemon->output());
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(10, 0);
    httplib::Headers headers;
    if (!auth.empty()) headers.emplace("Authorization", auth);
    auto incidents = c.Get("/api/v1/incidents", headers);
    REQUIRE(incidents);
    CHECK(incidents->status == 200);
    CHECK(incidents->body.find("QueueDeep") != std::string::npos);
    CHECK(daemon->output().find("terminate called") == std::string::npos);
  }

  // During an attack: another client's health check is answered, at once.
  void healthyMeanwhile() {
    RawConnection other(port, "127.0.0.2");
    REQUIRE(other.connected());
    const auto start = std::chrono::steady_clock::now();
    REQUIRE(other.send("GET /-/healthy HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
    CHECK(statusOf(other.receive()) == 200);
    CHECK(std::chrono::steady_clock::now() - start < 1s);
  }

  httplib::Result post(const std::string& path, const std::string& body, httplib::Headers headers = {}) {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(10, 0);
    return c.Post(path, headers, body, "application/json");
  }
};

}  // namespace

TEST_CASE("a 200 MiB request line before authentication is cut at the header limit; memory stays flat") {
  auto hash = hotspotd::daemon::hashPassword("s3cret pass", 4);
  REQUIRE(hash);
  Hostile h(fmt::format("basic_auth_users = {{ ana = \"{}\" }}\n", *hash));
  const long before = rssKiB(h.daemon->pid());
  RawConnection attacker(h.port);
  REQUIRE(attacker.connected());
  const std::string chunk(1 << 20, 'A');
  std::size_t sent = 0;
  if (attacker.send("GET /")) {
    while (sent < (200u << 20) && attacker.send(chunk)) {
      sent += chunk.size();
      if (sent == (4u << 20)) h.healthyMeanwhile();
    }
  }
  h.healthyMeanwhile();
  // The daemon stopped reading long before 200 MiB: the header limit is 16 KiB.
  CHECK(sent < (200u << 20));
  const long after = rssKiB(h.daemon->pid());
  CHECK_MESSAGE(after - before < 16 * 1024, "RSS ", before, " KiB -> ", after, " KiB");
  h.stillWorks(basicAuth("ana", "s3cret pass"));
}

TEST_CASE("a 64 MiB chunked body is refused at the 1 MiB limit with 413, before it is read") {
  Hostile h;
  const long before = rssKiB(h.daemon->pid());
  RawConnection attacker(h.port);
  REQUIRE(attacker.connected());
  REQUIRE(attacker.send("POST /api/v1/silences HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = fmt::format("{:x}\r\n{}\r\n", 1 << 16, std::string(1 << 16, '['));
  std::size_t sent = 0;
  while (sent < (64u << 20) && attacker.send(chunk)) {
    sent += 1 << 16;
    if (sent == (512u << 10)) h.healthyMeanwhile();  // the body half read
  }
  const std::string answer = attacker.receive();
  CHECK(statusOf(answer) == 413);
  CHECK(sent < (64u << 20));
  CHECK(rssKiB(h.daemon->pid()) - before < 16 * 1024);
  h.stillWorks();
}

TEST_CASE("connections that drip their headers, and a flood of them, do not keep another client out") {
  Hostile h;
  // One client address opens far more connections than it may hold, each sending a header byte now and then.
  std::vector<std::unique_ptr<RawConnection>> drips;
  for (int i = 0; i < 300; ++i) {
    drips.push_back(std::make_unique<RawConnection>(h.port));
    drips.back()->send("G");
  }
  for (int round = 0; round < 3; ++round) {
    for (auto& d : drips) d->send("E");
    std::this_thread::sleep_for(200ms);
  }
  // Past the per-client limit (32), the others are closed at once.
  int closed = 0;
  for (std::size_t i = 250; i < drips.size(); ++i) closed += drips[i]->closedByPeer() ? 1 : 0;
  CHECK(closed == 50);
  // Another client is answered at once.
  h.healthyMeanwhile();
  drips.clear();
  h.stillWorks();
}

TEST_CASE("a request naming another host (DNS rebinding) gets 421 and changes nothing") {
  Hostile h;
  const std::string silence =
      R"({"matchers":[{"name":"alertname","value":"QueueDeep"}],"duration":"1h","createdBy":"x","comment":"y"})";
  const httplib::Headers rebinding = {{"Host", "attacker.example:9464"}, {"Origin", "http://attacker.example:9464"}};
  auto rebound = h.post("/api/v1/silences", silence, rebinding);
  REQUIRE(rebound);
  CHECK(rebound->status == 421);
  auto reload = h.post("/-/reload", "", rebinding);
  REQUIRE(reload);
  CHECK(reload->status == 421);
  auto list = getJson(h.port, "/api/v1/silences");
  REQUIRE(list);
  CHECK(list->dump().find("QueueDeep") == std::string::npos);
  CHECK(h.daemon->countLines("Reloading configuration") == 0);
  h.stillWorks();
}

TEST_CASE("guessed passwords: after ten, 429 without a bcrypt check; the daemon's CPU stays low, a valid user passes") {
  auto hash = hotspotd::daemon::hashPassword("s3cret pass", 12);
  REQUIRE(hash);
  Hostile h(fmt::format("basic_auth_users = {{ ana = \"{}\" }}\n", *hash));
  auto cpuSeconds = [&] {
    std::ifstream stat("/proc/" + std::to_string(h.daemon->pid()) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string field;
    long ticks = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
      if (i == 14 || i == 15) ticks += std::stol(field);  // utime, stime
    }
    return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  };
  const double before = cpuSeconds();
  int refused = 0, limited = 0;
  httplib::Client c("127.0.0.1", h.port);
  c.set_read_timeout(10, 0);
  for (int i = 0; i < 40; ++i) {
    auto r = c.Get("/api/v1/status", {{"Authorization", basicAuth("ana", "guess " + std::to_string(i))}});
    REQUIRE(r);
    refused += r->status == 401 ? 1 : 0;
    limited += r->status == 429 ? 1 : 0;
    if (i == 5 || i == 20) h.healthyMeanwhile();  // while bcrypt runs, and once the limit holds
  }
  // Forty guesses at bcrypt cost 12 would cost the daemon about ten seconds of CPU; ten of them about 2.5.
  const double spent = cpuSeconds() - before;
  CHECK(refused <= 11);
  CHECK(limited >= 29);
  CHECK_MESSAGE(spent < 5.0, "CPU seconds spent on 40 guesses: ", spent);
  // The right password from another address is not slowed.
  RawConnection other(h.port, "127.0.0.2");
  REQUIRE(other.send("GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: " +
                     basicAuth("ana", "s3cret pass") + "\r\n\r\n"));
  CHECK(statusOf(other.receive()) == 200);
  h.stillWorks(basicAuth("ana", "s3cret pass"));
}

TEST_CASE("silences with the wrong types or a malformed time are refused with 400 naming the field") {
  Hostile h;
  const std::string matcher = R"({"matchers":[{"name":"alertname","value":"QueueDeep"}])";
  const std::string by = R"(,"createdBy":"x","comment":"y"})";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"matchers":"alertname=QueueDeep","duration":"1h")" + by, "matchers"},
      {R"({"matchers":[{"name":1,"value":"QueueDeep"}],"duration":"1h")" + by, "matchers[0].name"},
      {R"({"matchers":[{"name":"alertname","value":"QueueDeep","isRegex":"yes"}],"duration":"1h")" + by, "isRegex"},
      {matcher + R"(,"duration":7)" + by, "duration"},
      {matcher + R"(,"endsAt":"2026-01-01T00:00:00+1:30")" + by, "endsAt"},
      {matcher + R"(,"endsAt":"2026-13-45T99:00:00Z")" + by, "endsAt"},
      {matcher + R"(,"duration":"1h","createdBy":["x"],"comment":"y"})", "createdBy"},
      {"{\"matchers\":[\"alertname=\\\"\xff\xfe\\\"\"],\"duration\":\"1h\"" + by, "JSON"},
      {std::string(100'000, '['), "JSON"},
  };
  for (const auto& c : cases) {
    const std::string& body = c.first;
    const std::string& field = c.second;
    CAPTURE(body.substr(0, 120));
    auto r = h.post("/api/v1/silences", body);
    REQUIRE(r);
    CHECK(r->status == 400);
    // What went wrong and where, never the parser's exception text.
    CHECK_MESSAGE(r->body.find(field) != std::string::npos, r->body);
    CHECK(r->body.find("type_error") == std::string::npos);
    CHECK(r->body.find("parse_error") == std::string::npos);
  }
  auto list = getJson(h.port, "/api/v1/silences");
  REQUIRE(list);
  CHECK(list->dump().find("QueueDeep") == std::string::npos);
  h.stillWorks();
}

TEST_CASE("a profile whose frame names are not UTF-8 is stored, served and paged about; the daemon lives") {
  // A profiler that prints bytes no UTF-8 decoder accepts, as a process's own symbol names can hold.
  TempDir scratch;
  const auto script = scratch.write("bad-frames.sh", "#!/bin/sh\nprintf 'bad\\377\\376;main 10\\napp;serve 5\\n'\n");
  ::chmod(script.c_str(), 0755);
  const std::string profiling = fmt::format(
      "[profiling]\nbaseline_interval = \"0s\"\n"
      "[[profile_targets]]\nname = \"app\"\npid_file = \"app.pid\"\ncommand = [\"{}\"]\nduration = \"1s\"\n",
      script.string());
  const std::string rule_profile = "profile = \"app\"\n";
  QueueService app;
  VendorReceiver hook{VendorReceiver::Kind::webhook};
  TempDir dir;
  dir.write("app.pid", std::to_string(::getpid()) + "\n");
  const auto config = writeConfig(dir, app.address, webhookOnly(hook.start()) + profiling);
  std::string rules = *hotspotd::readFile(dir.path() / "rules.toml");
  dir.write("rules.toml", rules + rule_profile);
  ChildProcess daemon({HOTSPOTD_BINARY, "run", "--config", config.string()});
  const int port = listenPort(daemon);
  REQUIRE_MESSAGE(daemon.waitForLine("Profile captured", 30s), daemon.output());
  std::this_thread::sleep_for(1s);
  REQUIRE_MESSAGE(::kill(daemon.pid(), 0) == 0, daemon.output());
  auto profiles = getJson(port, "/api/v1/profiles");
  REQUIRE(profiles);
  REQUIRE_MESSAGE(profiles->dump().find("\"app\"") != std::string::npos, profiles->dump());
  // The incident and its profile over the API (the frame repaired to U+FFFD, valid JSON), and the page sent.
  auto incidents = getJson(port, "/api/v1/incidents");
  REQUIRE(incidents);
  REQUIRE(incidents->is_object());
  CHECK(incidents->dump().find("QueueDeep") != std::string::npos);
  CHECK(eventually([&] { return !hook.received().empty(); }, 30s));
  // No half-written profile directory is left behind.
  for (const auto& e : std::filesystem::directory_iterator(dir.path() / "state" / "profiles")) {
    CHECK(e.path().filename().string().find(".partial") == std::string::npos);
  }
}

TEST_CASE("SIGTERM while a page waits on a receiver and a pprof capture runs: the daemon is gone within its timeout") {
  // A pprof endpoint that holds the request for up to 60 s (a 5 s capture that hangs), and a webhook that answers
  // only after 8 s. The page waits for the capture until its deadline (5 s + 10 s), then goes while the capture
  // still hangs.
  std::atomic<bool> stopping{false};
  std::atomic<int> captures{0};
  HttpTarget pprof;
  pprof.server().Get("/debug/pprof/profile", [&](const httplib::Request&, httplib::Response& res) {
    ++captures;
    for (int i = 0; i < 600 && !stopping; ++i) std::this_thread::sleep_for(100ms);
    res.set_content("", "application/octet-stream");
  });
  const std::string pprof_address = pprof.start();
  QueueService app;
  VendorReceiver hook{VendorReceiver::Kind::webhook};
  hook.script({VendorReceiver::Answer(0, {}, 8s)});
  TempDir dir;
  const auto config = writeConfig(
      dir, app.address,
      webhookOnly(hook.start()) +
          fmt::format("[profiling]\nbaseline_interval = \"0s\"\n[[profile_targets]]\nname = \"app\"\n"
                      "pprof_url = \"http://{}/debug/pprof/profile\"\nduration = \"5s\"\n",
                      pprof_address));
  dir.write("rules.toml", *hotspotd::readFile(dir.path() / "rules.toml") + "profile = \"app\"\n");
  std::string text = *hotspotd::readFile(config);
  text.replace(text.find("[server]\n"), 9, "[server]\nshutdown_timeout = \"3s\"\n");
  dir.write("hotspotd.toml", text);

  ChildProcess daemon({HOTSPOTD_BINARY, "run", "--config", config.string()});
  listenPort(daemon);
  // Both are in flight: the capture asked for, the page sent and not answered.
  REQUIRE_MESSAGE(eventually([&] { return captures > 0 && !hook.received().empty(); }, 40s), daemon.output());
  const auto start = std::chrono::steady_clock::now();
  daemon.signal(SIGTERM);
  const auto code = daemon.wait(10s);
  const auto took = std::chrono::steady_clock::now() - start;
  stopping = true;
  REQUIRE_MESSAGE(code, daemon.output());
  CHECK_MESSAGE(took < 3s, "stopped after ", std::chrono::duration<double>(took).count(), " s");
  CHECK_MESSAGE(*code == 0, daemon.output());
  CHECK(daemon.countLines("Stopped") == 1);
}
