#include "tools/demo.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/file.h"
#include "core/labels.h"
#include "profile/capture.h"

namespace hotspotd::tools {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Output: one line per event, stamped with the seconds since the demo started.
class Narrator {
 public:
  Narrator() : start_(Clock::now()) {}
  double elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }
  void say(const std::string& text) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::printf("[%6.1fs] %s\n", elapsed(), text.c_str());
    std::fflush(stdout);
  }
  void more(const std::string& text) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::printf("          %s\n", text.c_str());
    std::fflush(stdout);
  }

 private:
  Clock::time_point start_;
  std::mutex mutex_;
};

// A child process in its own process group (Ctrl-C reaches the demo only, which stops the children in order),
// output to a log file, stopped by the kernel if the demo dies.
class Child {
 public:
  Child(std::string name, std::filesystem::path log) : name_(std::move(name)), log_(std::move(log)) {}
  ~Child() { stop(std::chrono::seconds(0)); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  Result<void> start(const std::vector<std::string>& argv) {
    const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return fail(fmt::format("cannot write {}: {}", log_.string(), std::strerror(errno)));
    std::vector<std::string> args = argv;
    std::vector<char*> c_argv;
    for (auto& a : args) c_argv.push_back(a.data());
    c_argv.push_back(nullptr);
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0) {
      ::close(fd);
      return fail(fmt::format("cannot start {}: {}", name_, std::strerror(errno)));
    }
    if (pid_ == 0) {
      setpgid(0, 0);
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent) _exit(127);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      const int in = ::open("/dev/null", O_RDONLY);
      if (in >= 0) dup2(in, STDIN_FILENO);
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      execv(c_argv[0], c_argv.data());
      const char msg[] = "exec failed\n";
      (void)!::write(STDERR_FILENO, msg, sizeof(msg) - 1);
      _exit(127);
    }
    setpgid(pid_, pid_);
    ::close(fd);
    return {};
  }

  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }
  const std::filesystem::path& log() const { return log_; }

  // Whether it still runs; if not, how it ended.
  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == 0) return true;
    if (r == pid_) exit_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    pid_ = -1;
    return false;
  }
  int exitCode() const { return exit_; }

  // SIGTERM, then SIGKILL to its group after `grace`. Returns whether it ended by itself within the grace.
  bool stop(std::chrono::milliseconds grace) {
    if (!running()) return true;
    ::kill(pid_, SIGTERM);
    const auto until = Clock::now() + grace;
    while (Clock::now() < until) {
      if (!running()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    const pid_t pid = pid_;
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    pid_ = -1;
    return false;
  }

  // The first line of its log containing `needle`, waiting up to `timeout` (nothing if it ends first).
  std::optional<std::string> waitForLine(std::string_view needle, std::chrono::milliseconds timeout) {
    const auto until = Clock::now() + timeout;
    for (;;) {
      if (auto text = readFile(log_)) {
        if (const auto at = text->find(needle); at != std::string::npos) {
          const auto begin = text->rfind('\n', at);
          const auto end = text->find('\n', at);
          const auto from = begin == std::string::npos ? 0 : begin + 1;
          return text->substr(from, end == std::string::npos ? std::string::npos : end - from);
        }
      }
      if (!running() || Clock::now() >= until) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // The last lines of its log, for a message when it failed.
  std::string tail(std::size_t lines = 10) const {
    auto text = readFile(log_);
    if (!text) return {};
    std::size_t at = text->size();
    for (std::size_t n = 0; n <= lines && at > 0; ++n) {
      const auto nl = text->rfind('\n', at - 1);
      if (nl == std::string::npos) return *text;
      at = nl;
      if (n == lines) return text->substr(at + 1);
    }
    return text->substr(at);
  }

 private:
  std::string name_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
  int exit_ = -1;
};

std::string fill(std::string_view text, const std::map<std::string, std::string>& values) {
  std::string out(text);
  for (const auto& [key, value] : values) {
    const std::string placeholder = "${" + key + "}";
    for (auto at = out.find(placeholder); at != std::string::npos; at = out.find(placeholder, at + value.size())) {
      out.replace(at, placeholder.size(), value);
    }
  }
  return out;
}

// Whether a TCP port on the loopback address can be bound now.
bool portFree(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

// host:port out of "... address=host:port ..." or "... on host:port".
std::optional<std::pair<std::string, int>> addressIn(const std::string& line) {
  std::smatch m;
  if (!std::regex_search(line, m, std::regex(R"((?:address=|on )(\[[0-9a-fA-F:]+\]|[0-9.]+|localhost):([0-9]+))"))) {
    return std::nullopt;
  }
  return std::make_pair(m[1].str(), std::stoi(m[2].str()));
}

std::optional<json> getJson(httplib::Client& client, const std::string& path) {
  auto res = client.Get(path);
  if (!res || res->status != 200) return std::nullopt;
  auto j = json::parse(res->body, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

// A webhook alert's labels (a JSON object of strings) as Prometheus writes a label set.
std::string jsonLabelText(const json& labels, std::initializer_list<std::string_view> skip = {"alertname"}) {
  std::vector<std::pair<std::string, std::string>> pairs;
  if (labels.is_object()) {
    for (const auto& [k, v] : labels.items()) {
      if (v.is_string()) pairs.emplace_back(k, v.get<std::string>());
    }
  }
  return labelText(pairs, skip);
}

std::string str(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

// The webhook receiver: prints each alert of each message with the links it carries.
class WebhookPrinter {
 public:
  explicit WebhookPrinter(Narrator& narrator) : narrator_(narrator) {
    server_.Post("/", [this](const httplib::Request& req, httplib::Response& res) {
      const auto body = json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.contains("alerts") || !body["alerts"].is_array()) {
        res.status = 400;
        res.set_content("expected Alertmanager's webhook payload\n", "text/plain");
        return;
      }
      for (const auto& a : body["alerts"]) print(a);
      res.set_content("ok\n", "text/plain");
    });
  }
  ~WebhookPrinter() { stop(); }

  Result<std::string> start() {
    const int port = server_.bind_to_any_port("127.0.0.1");
    if (port <= 0) return fail("cannot listen on a loopback port for the webhook receiver");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    return fmt::format("http://127.0.0.1:{}/", port);
  }
  void stop() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  // Firing alerts received so far.
  int firing() const { return firing_; }

 private:
  void print(const json& a) {
    const std::string status = str(a, "status");
    const json& ann = a.contains("annotations") ? a["annotations"] : json::object();
    const json& labels = a.contains("labels") ? a["labels"] : json::object();
    narrator_.say(fmt::format("Webhook received: {} {} {}", status, str(labels, "alertname"), jsonLabelText(labels)));
    if (auto s = str(ann, "summary"); !s.empty()) narrator_.more(s);
    narrator_.more("incident     " + str(a, "generatorURL"));
    if (auto u = str(ann, "flamegraph_url"); !u.empty()) narrator_.more("flame graph  " + u);
    if (auto u = str(ann, "flamegraph_diff_url"); !u.empty()) narrator_.more("diff         " + u);
    if (auto g = str(ann, "grown_frames"); !g.empty()) {
      // The first three of the "; "-separated frames.
      std::size_t end = std::string::npos;
      for (std::size_t i = 0, from = 0; i < 3; ++i, from = end + 2) {
        if ((end = g.find("; ", from)) == std::string::npos) break;
      }
      narrator_.more("grew most    " + g.substr(0, end));
    }
    if (auto u = str(ann, "flamegraph_offcpu_url"); !u.empty()) narrator_.more("off-CPU      " + u);
    if (auto e = str(ann, "profile_explanation"); !e.empty()) narrator_.more("explains     " + e);
    if (status == "firing") ++firing_;
  }

  Narrator& narrator_;
  httplib::Server server_;
  std::thread thread_;
  std::atomic<int> firing_{0};
};

Result<std::filesystem::path> workDirectory(const std::filesystem::path& wanted) {
  std::error_code ec;
  if (!wanted.empty()) {
    std::filesystem::create_directories(wanted, ec);
    if (ec) return fail(fmt::format("cannot create {}: {}", wanted.string(), ec.message()));
    return std::filesystem::absolute(wanted);
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/hotspotd-demo-XXXXXX";
  if (!mkdtemp(pattern.data())) {
    return fail(fmt::format("cannot create a directory {}: {}", pattern, std::strerror(errno)));
  }
  return std::filesystem::path(pattern);
}

std::filesystem::path besideSelf(const std::string& name) {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path(name) : self.parent_path() / name;
}

bool postRegression(const std::string& host, int port, bool on, const std::string& kind) {
  httplib::Client client(host, port);
  client.set_connection_timeout(2, 0);
  auto res = client.Post("/admin/regression", fmt::format("on={}&kind={}", on ? 1 : 0, kind),
                         "application/x-www-form-urlencoded");
  return res && res->status == 200;
}

using Address = std::pair<std::string, int>;

// Starts the demo service and waits for its address.
std::optional<Address> startShop(Child& shop, const std::filesystem::path& service, int load) {
  if (auto s = shop.start({service.string(), "--listen", "127.0.0.1:0", "--load", fmt::format("{}", load)}); !s) {
    std::fprintf(stderr, "hotspotd demo: %s\n", s.error().message.c_str());
    return std::nullopt;
  }
  const auto line = shop.waitForLine("Listening on", std::chrono::seconds(10));
  const auto address = line ? addressIn(*line) : std::nullopt;
  if (!address) {
    std::fprintf(stderr, "hotspotd demo: the demo service did not start; its log (%s) ends with:\n%s\n",
                 shop.log().c_str(), shop.tail().c_str());
  }
  return address;
}

// Writes the demo's config and rules into `dir`, starts hotspotd on them and waits until it is ready.
std::optional<Address> startDaemon(Child& daemon, const std::filesystem::path& dir, const std::string& listen,
                                   const std::string& shop_address, int shop_pid, const std::string& webhook_url) {
  const std::filesystem::path config = dir / "hotspotd.toml";
  const std::map<std::string, std::string> values{{"listen", listen},
                                                  {"state_dir", (dir / "state").string()},
                                                  {"shop", shop_address},
                                                  {"shop_pid", std::to_string(shop_pid)},
                                                  {"webhook", webhook_url}};
  auto written = writeFile(config, fill(embeddedDemoConfig(), values));
  if (written) written = writeFile(dir / "rules.toml", std::string(embeddedDemoRules()));
  if (!written) {
    std::fprintf(stderr, "hotspotd demo: %s\n", written.error().message.c_str());
    return std::nullopt;
  }
  if (auto s = daemon.start({besideSelf("hotspotd").string(), "run", "--config", config.string()}); !s) {
    std::fprintf(stderr, "hotspotd demo: %s\n", s.error().message.c_str());
    return std::nullopt;
  }
  const auto listening = daemon.waitForLine("Listening", std::chrono::seconds(30));
  const auto ready = listening ? daemon.waitForLine(" Ready", std::chrono::seconds(30)) : std::nullopt;
  const auto address = listening ? addressIn(*listening) : std::nullopt;
  if (!ready || !address) {
    std::fprintf(stderr, "hotspotd demo: hotspotd did not start; its log (%s) ends with:\n%s\n", daemon.log().c_str(),
                 daemon.tail().c_str());
    return std::nullopt;
  }
  return address;
}

// What the demo has already told about the daemon's profiles and incidents.
struct Told {
  std::set<std::string> profiles;
  std::map<std::string, std::string> incident_states;
  bool baseline = false;  // a baseline profile came (or failed: nothing better will come)
};

// Tells each profile of the shop the daemon stored since the last call, oldest first.
void tellProfiles(httplib::Client& api, const std::filesystem::path& dir, Narrator& story, Told& told) {
  auto j = getJson(api, "/api/v1/profiles?target=shop&limit=20");
  if (!j) return;
  const json& list = (*j)["data"]["profiles"];
  for (auto it = list.rbegin(); list.is_array() && it != list.rend(); ++it) {
    const std::string id = str(*it, "id");
    if (id.empty() || !told.profiles.insert(id).second) continue;
    const std::string kind = str(*it, "kind");
    const auto where = dir / "state" / "profiles" / id;
    if (it->contains("error")) {
      story.say(fmt::format("Profile ({}) of the shop failed: {}", kind, str(*it, "error")));
      if (kind == "baseline") told.baseline = true;  // nothing better will come: go on without
      continue;
    }
    const auto samples = it->value("samples", 0);
    if (kind == "baseline") {
      told.baseline = true;
      story.say(fmt::format("Baseline profile of the healthy shop captured: {} samples, {}", samples,
                            (where / "flamegraph.svg").string()));
      continue;
    }
    story.say(fmt::format("Profile of the shop captured during the incident: {} samples", samples));
    story.more("flame graph  " + (where / "flamegraph.svg").string());
    if (!it->at("baseline").is_null()) story.more("diff         " + (where / "diff.svg").string());
    // value(): a profile without a baseline has no "grown" (operator[] on a const json must find its key).
    const json summary = it->value("summary", json::object());
    const json top = summary.value("top_self", json::array());
    if (top.is_array() && !top.empty()) {
      story.more(fmt::format("most time in {} ({:.0f}% of samples)", str(top[0], "name"),
                             100 * top[0].value("self_share", 0.0)));
    }
    const json grown = summary.value("grown", json::array());
    if (grown.is_array() && !grown.empty()) {
      story.more(fmt::format("grew most    {} +{:.1f} pp against the baseline", str(grown[0], "name"),
                             grown[0].value("grew_pp", 0.0)));
    }
    if (std::filesystem::exists(where / "offcpu.svg")) story.more("off-CPU      " + (where / "offcpu.svg").string());
    if (const std::string why = summary.value("explanation", ""); !why.empty()) story.more("explains     " + why);
  }
}

// Tells each incident whose state changed since the last call.
void tellIncidents(httplib::Client& api, Narrator& story, Told& told) {
  auto j = getJson(api, "/api/v1/incidents?limit=20");
  if (!j) return;
  const json& list = (*j)["data"]["incidents"];
  for (auto it = list.rbegin(); list.is_array() && it != list.rend(); ++it) {
    const std::string id = str(*it, "id"), state = str(*it, "state");
    if (id.empty() || told.incident_states[id] == state) continue;
    told.incident_states[id] = state;
    const std::string what =
        str(*it, "alertname") + " " + jsonLabelText(it->value("labels", json::object()), {"alertname", "team"});
    if (state == "firing") {
      story.say("Incident firing: " + what);
      story.more(str(*it, "reason"));
      story.more("open " + str(*it, "url"));
    } else if (state == "resolved") {
      story.say("Incident resolved: " + what);
    } else if (state == "pending") {
      story.say("Drift seen, pending (it must hold 10s to fire): " + what);
    }
  }
}

}  // namespace

int runDemo(const DemoOptions& options) {
  // SIGINT and SIGTERM are taken by the main loop (sigtimedwait), in every thread started from here on.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  Narrator story;
  auto dir = workDirectory(options.dir);
  if (!dir) return std::fprintf(stderr, "hotspotd demo: %s\n", dir.error().message.c_str()), 1;
  // Beside hotspotd in a build tree; in the libexec directory where the package installs it.
  std::filesystem::path service = options.demo_service;
  if (service.empty()) {
    service = besideSelf("hotspotd_demo_service");
    if (access(service.c_str(), X_OK) != 0 && access(HOTSPOTD_LIBEXEC_DIR "/hotspotd_demo_service", X_OK) == 0) {
      service = HOTSPOTD_LIBEXEC_DIR "/hotspotd_demo_service";
    }
  }
  if (access(service.c_str(), X_OK) != 0) {
    std::fprintf(stderr,
                 "hotspotd demo: the demo service is not at %s; build it with the project (cmake --build build) or "
                 "give its path with --demo-service\n",
                 service.c_str());
    return 1;
  }

  story.say("hotspotd demo: work directory " + dir->string() + " (config, rules, state, profiles, logs)");
  if (auto perf = profile::perfAllowed(); !perf) {
    story.more("Note: " + perf.error().message + ".");
    story.more("The incident and the alert will still come, saying why there is no profile. To see the flame graph,");
    story.more("run the demo as root (sudo), or allow profiling your own processes:");
    story.more("sudo sysctl kernel.perf_event_paranoid=2");
  }

  WebhookPrinter webhook(story);
  auto webhook_url = webhook.start();
  if (!webhook_url) return std::fprintf(stderr, "hotspotd demo: %s\n", webhook_url.error().message.c_str()), 1;

  Child shop("the demo service", *dir / "shop.log");
  const auto shop_addr = startShop(shop, service, options.load);
  if (!shop_addr) return 1;
  const std::string shop_address = fmt::format("{}:{}", shop_addr->first, shop_addr->second);
  story.say(
      fmt::format("Shop (the demo service, pid {}) listening on http://{}/, serving /checkout, /cart and /search "
                  "at {} requests/s",
                  shop.pid(), shop_address, options.load));

  std::string listen = options.listen;
  if (listen.empty()) listen = portFree(9464) ? "127.0.0.1:9464" : "127.0.0.1:0";
  Child daemon("hotspotd", *dir / "hotspotd.log");
  const auto daemon_addr = startDaemon(daemon, *dir, listen, shop_address, shop.pid(), *webhook_url);
  if (!daemon_addr) return 1;
  const std::string ui = fmt::format("http://{}:{}", daemon_addr->first, daemon_addr->second);
  story.say(fmt::format("hotspotd (pid {}) watching the shop; its UI: {}/", daemon.pid(), ui));
  story.more("config " + (*dir / "hotspotd.toml").string() + ", log " + daemon.log().string());
  story.say("Webhook receiver listening on " + *webhook_url + "; what it receives is printed here");
  story.say(
      fmt::format("Learning what healthy looks like: a baseline profile of the shop at 60s, the regression at {}s",
                  std::chrono::duration_cast<std::chrono::seconds>(options.regression_after).count()));

  httplib::Client api(daemon_addr->first, daemon_addr->second);
  api.set_read_timeout(5, 0);
  Told told;
  bool regression_on = false;
  bool regression_off = false;
  std::optional<Clock::time_point> alerted_at;
  const auto started = Clock::now();
  int rc = 0;

  for (;;) {
    const timespec tick{0, 500'000'000};
    const int sig = sigtimedwait(&stop_signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      std::printf("\n");
      story.say(fmt::format("{} received: stopping", sig == SIGINT ? "Ctrl-C" : "SIGTERM"));
      break;
    }
    if (!shop.running() || !daemon.running()) {
      Child& gone = shop.running() ? daemon : shop;
      std::fprintf(stderr, "hotspotd demo: %s exited (status %d); its log (%s) ends with:\n%s\n", gone.name().c_str(),
                   gone.exitCode(), gone.log().c_str(), gone.tail().c_str());
      rc = 1;
      break;
    }
    const auto now = Clock::now();
    tellProfiles(api, *dir, story, told);
    tellIncidents(api, story, told);

    if (!regression_on && now - started >= options.regression_after &&
        (told.baseline || now - started >= options.regression_after + std::chrono::seconds(45))) {
      if (postRegression(shop_addr->first, shop_addr->second, true, options.regression)) {
        regression_on = true;
        story.say(options.regression == "lock"
                      ? "Regression switched ON: every /checkout now takes the stock lock in Inventory::reserve and "
                        "holds it for a 25 ms warehouse call; checkouts queue on it while the CPU idles"
                      : "Regression switched ON: every /checkout now also runs Pricing::recalculateAll (about 25 ms "
                        "of CPU)");
      }
    }
    if (!alerted_at && webhook.firing() > 0) {
      alerted_at = now;
      story.say("That is the loop: drift seen, the shop profiled, the owner paged with the flame graph. Look at:");
      story.more("the incident page (link above): evidence, chart, the frames that grew, both flame graphs");
      story.more(ui + "/ the overview; " + ui + "/profiles every profile");
      if (options.resolve_after.count() == 0) {
        story.more(fmt::format("To see it resolve: curl -d on=0 http://{}/admin/regression", shop_address));
      }
      story.more("Ctrl-C stops the demo and everything it started.");
    }
    if (alerted_at && options.resolve_after.count() > 0 && !regression_off &&
        now - *alerted_at >= options.resolve_after) {
      if (postRegression(shop_addr->first, shop_addr->second, false, options.regression)) {
        regression_off = true;
        story.say(
            "Regression switched OFF; the incident resolves once the 30s window is clear and stays clear 30s more");
      }
    }
  }

  const bool clean = daemon.stop(std::chrono::seconds(15));
  shop.stop(std::chrono::seconds(5));
  webhook.stop();
  story.say(fmt::format("Stopped hotspotd{}, the shop and the webhook receiver. Kept: {}",
                        clean ? "" : " (killed: it did not drain in 15s)", dir->string()));
  return rc;
}

}  // namespace hotspotd::tools
