#include "daemon/lifecycle.h"

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <algorithm>
#include <chrono>
#include <future>

#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include "core/log.h"
#include "core/loop.h"
#include "core/url.h"
#include "core/version.h"

namespace hotspotd::daemon {
namespace {

// How long an HTTP reload request waits for the lifecycle thread before answering 503.
constexpr auto kReloadWait = std::chrono::seconds(30);

std::string_view signalName(int signo) {
  switch (signo) {
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGHUP: return "SIGHUP";
    default: return "unknown";
  }
}

// Joins one line per problem into a single log field.
std::string oneLine(const std::string& text) {
  std::string out = text;
  for (char& c : out) {
    if (c == '\n') c = ';';
  }
  return out;
}

// Links in alerts when [alerting] external_url is not set: the address bound (with the host's name for a wildcard).
std::string listenUrl(const ListenAddress& listen, bool tls) {
  std::string host = listen.host;
  if (host == "0.0.0.0" || host == "::") {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) == 0 && name[0]) host = name;
  }
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return fmt::format("{}://{}:{}", tls ? "https" : "http", host, listen.port);
}

// The names the Host header may carry besides addresses, localhost and this host's name: the configured ones and
// external_url's host.
std::vector<std::string> allowedHosts(const Config& config) {
  std::vector<std::string> out = config.server.allowed_hosts;
  if (auto url = parseHttpUrl(config.alerting.external_url)) out.push_back(url->host);
  return out;
}

}  // namespace

Daemon::Daemon(std::filesystem::path config_path, Config config, Clock& clock)
    : config_path_(std::move(config_path)),
      config_(std::move(config)),
      clock_(clock),
      signals_(io_, SIGTERM, SIGINT, SIGHUP),
      watchdog_timer_(io_) {}

Daemon::~Daemon() = default;

Result<Config> Daemon::loadConfig() const {
  if (config_path_.empty()) return loadEmbeddedDefaultConfig();
  return loadConfigFile(config_path_);
}

void Daemon::publishStatus(bool ready) {
  nlohmann::ordered_json rules = nlohmann::ordered_json::array();
  for (const auto& r : config_.rules.loaded) {
    rules.push_back({{"name", r.name},
                     {"severity", r.severity},
                     {"source", r.source},
                     {"querySource", r.query_source},
                     {"profile", r.profile}});
  }
  nlohmann::ordered_json jobs = nlohmann::ordered_json::array();
  for (const auto& j : config_.scrape) {
    jobs.push_back({{"job", j.job},
                    {"targets", j.targets.size()},
                    {"fileSd", j.file_sd},
                    {"interval", formatDuration(j.interval)}});
  }
  nlohmann::ordered_json sources = nlohmann::ordered_json::array();
  for (const auto& s : config_.sources) {
    sources.push_back({{"name", s.name},
                       {"url", s.url},
                       {"step", formatDuration(s.step)},
                       {"timeout", formatDuration(s.timeout)},
                       {"queryOffset", formatDuration(s.query_offset)},
                       {"shard", s.shard_text}});
  }
  nlohmann::ordered_json receivers = nlohmann::ordered_json::array();
  for (const auto& r : config_.alerting.receivers) {
    receivers.push_back({{"name", r.name}, {"type", alerting::receiverTypeName(r.type)}});
  }
  nlohmann::ordered_json targets = nlohmann::ordered_json::array();
  for (const auto& t : config_.profiling.targets) targets.push_back(t.name);
  DaemonStatus status;
  status.ready = ready;
  status.config_source = config_.source;
  status.start_ms = start_ms_;
  status.config_loaded_ms = config_loaded_ms_;
  status.external_url = externalUrl();
  status.config = {{"listen", config_.server.listen.str()},
                   {"stateDir", config_.storage.state_dir.string()},
                   {"externalUrl", status.external_url},
                   {"evaluationInterval", formatDuration(config_.rules.evaluation_interval)},
                   {"zeroConfigRules", config_.rules.files.empty()},
                   {"rules", rules},
                   {"scrape", jobs},
                   {"sources", sources},
                   {"receivers", receivers},
                   {"profileTargets", targets}};
  status_.publish(std::move(status));
}

int Daemon::run() {
  std::signal(SIGPIPE, SIG_IGN);
  log::setup(config_.log.level, config_.log.format);
  const BuildInfo& build = buildInfo();
  log::info("Starting hotspotd",
            {{"version", build.version}, {"revision", build.revision}, {"config", config_.source}});

  auto lock = StateDirLock::acquire(config_.storage.state_dir);
  if (!lock) {
    log::error("Cannot use the state directory", {{"error", lock.error().message}});
    return 1;
  }
  state_lock_ = std::move(*lock);
  log::info("Using state directory", {{"path", state_lock_.dir().string()}});

  start_ms_ = clock_.nowMs();
  metrics_.recordInitialLoad(start_ms_);
  config_loaded_ms_ = start_ms_;
  publishStatus(false);
  pipeline_ = std::make_unique<Pipeline>(io_, clock_, metrics_.registry(), StateThread::own);
  pipeline_->onHandlerError([this](const std::exception&) { metrics_.recordLoopError(); });
  if (auto started = pipeline_->start(config_, state_lock_.dir()); !started) {
    log::error("Cannot start", {{"error", started.error().message}});
    return 1;
  }
  Pipeline& p = *pipeline_;
  RouteContext routes;
  routes.metrics = &metrics_;
  routes.status = &status_;
  routes.state_health = &p.stateHealth();
  routes.clock = &clock_;
  routes.reload = [this] { return reloadFromHttp(); };
  routes.on_lifecycle = [this](std::function<ApiReply()> job) { return runOn(io_, std::move(job)); };
  routes.on_state = [this](std::function<ApiReply()> job) { return runOn(pipeline_->stateIo(), std::move(job)); };
  routes.hotspots = &p.engine().hotspots();
  routes.targets = &p.scrapes().targets();
  routes.profiles_dir = p.profilesDir();
  routes.alerts = &p.alerts();
  routes.reader = &p.reader();
  routes.store = &p.store();
  routes.rules = &config_.rules.loaded;
  routes.store_for = [&p](const rules::Rule& r) { return &p.engine().storeFor(r); };
  routes.degraded = [&p](const std::string& rule) { return p.engine().degraded(rule); };
  http_ = std::make_unique<HttpServer>(metrics_, daemonRoutes(routes), config_.server);
  http_->setAccess(config_.server.basic_auth_users, allowedHosts(config_));
  auto bound = http_->start(config_.server.listen);
  if (!bound) {
    log::error("Cannot start the HTTP server", {{"error", bound.error().message}});
    return 1;
  }
  log::info("Listening", {{"address", bound->str()}, {"tls", http_->tls()},
                          {"basic_auth_users", config_.server.basic_auth_users.size()}});
  default_external_url_ = listenUrl(*bound, http_->tls());
  p.onState([&p, url = default_external_url_] { p.alerts().setDefaultExternalUrl(url); });

  waitForSignal();
  if (auto interval = SystemdNotifier::watchdogInterval()) {
    log::info("Systemd watchdog enabled", {{"interval", formatDuration(*interval)}});
    scheduleWatchdog(*interval);
  }
  publishStatus(true);
  notifier_.ready(fmt::format("Serving on {}", bound->str()));
  log::info("Ready");

  runGuarded(io_, [this](const std::exception& e) {
    metrics_.recordLoopError();
    log::error("An event-loop handler failed; the loop goes on", {{"error", e.what()}});
  });
  // One deadline for the whole shutdown: the pipeline (the state thread's last writes, cancelled deliveries and
  // captures) takes what it needs of it, the HTTP drain the rest.
  const Duration deadline = config_.server.shutdown_timeout;
  const auto stopping_since = std::chrono::steady_clock::now();
  pipeline_->stop();
  const Duration left = std::max(Duration(0), deadline - std::chrono::duration_cast<Duration>(
                                                             std::chrono::steady_clock::now() - stopping_since));

  // Drain: stop accepting, let in-flight requests finish, all within the deadline.
  if (!http_->stop(left)) {
    log::error("Shutdown deadline passed; closed the requests still in flight",
               {{"shutdown_timeout", formatDuration(deadline)}});
    return 1;
  }
  log::info("Stopped");
  return 0;
}

void Daemon::waitForSignal() {
  signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    if (signo == SIGHUP) {
      (void)reload("SIGHUP");
      waitForSignal();
      return;
    }
    log::info("Shutting down", {{"signal", signalName(signo)}});
    stopping_ = true;
    notifier_.stopping();
    publishStatus(false);
    watchdog_timer_.cancel();
    io_.stop();
  });
}

void Daemon::scheduleWatchdog(Duration interval) {
  // Pinged from the lifecycle thread itself: if this thread wedges, the pings stop and systemd restarts us.
  notifier_.watchdog();
  watchdog_timer_.expires_after(interval);
  watchdog_timer_.async_wait([this, interval](const boost::system::error_code& ec) {
    if (!ec) scheduleWatchdog(interval);
  });
}

Result<void> Daemon::reload(std::string_view trigger) {
  notifier_.reloading();
  log::info("Reloading configuration", {{"trigger", trigger}, {"config", config_.source}});
  auto next = loadConfig();
  if (!next) {
    metrics_.recordReload(false, clock_.nowMs());
    log::error("Configuration reload failed; keeping the running configuration",
               {{"config", config_.source}, {"error", oneLine(next.error().message)}});
    notifier_.ready("Serving (last reload failed, see the log)");
    return tl::unexpected(next.error());
  }

  // Settings read only at start-up: the running value stays, and the log says so.
  if (next->server.listen != config_.server.listen) {
    log::warn("Setting changes only on restart; keeping the running value",
              {{"key", "server.listen"},
               {"running", config_.server.listen.str()},
               {"configured", next->server.listen.str()}});
    next->server.listen = config_.server.listen;
  }
  if (next->server.tls_cert_file != config_.server.tls_cert_file ||
      next->server.tls_key_file != config_.server.tls_key_file) {
    log::warn("Setting changes only on restart; keeping the running value", {{"key", "server.tls_cert_file"}});
    next->server.tls_cert_file = config_.server.tls_cert_file;
    next->server.tls_key_file = config_.server.tls_key_file;
  }
  if (next->storage.state_dir != config_.storage.state_dir) {
    log::warn("Setting changes only on restart; keeping the running value",
              {{"key", "storage.state_dir"},
               {"running", config_.storage.state_dir.string()},
               {"configured", next->storage.state_dir.string()}});
    next->storage.state_dir = config_.storage.state_dir;
  }

  if (next->store.full_resolution != config_.store.full_resolution ||
      next->store.retention != config_.store.retention || next->store.coarse_step != config_.store.coarse_step ||
      next->store.staleness != config_.store.staleness) {
    log::warn("Setting changes only on restart; keeping the running value", {{"key", "store"}});
    next->store = config_.store;
  }

  config_ = std::move(*next);
  config_loaded_ms_ = clock_.nowMs();
  log::setup(config_.log.level, config_.log.format);
  pipeline_->apply(config_);
  http_->setAccess(config_.server.basic_auth_users, allowedHosts(config_));
  publishStatus(!stopping_);
  metrics_.recordReload(true, clock_.nowMs());
  log::info("Configuration reloaded", {{"config", config_.source}});
  notifier_.ready("Serving");
  return {};
}

template <typename T>
bool Daemon::waitFor(std::future<T>& future) const {
  // In slices, so that a shutdown (the lifecycle thread no longer runs jobs) ends the wait at once.
  const auto until = std::chrono::steady_clock::now() + kReloadWait;
  while (std::chrono::steady_clock::now() < until) {
    if (future.wait_for(std::chrono::milliseconds(100)) == std::future_status::ready) return true;
    if (stopping_) return false;
  }
  return future.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

ApiReply Daemon::runOn(boost::asio::io_context& io, std::function<ApiReply()> job) {
  if (stopping_) return ApiReply{503, apiError("unavailable", "hotspotd is shutting down")};
  auto promise = std::make_shared<std::promise<ApiReply>>();
  auto future = promise->get_future();
  boost::asio::post(io, [promise, job = std::move(job)] { promise->set_value(job()); });
  if (!waitFor(future)) return ApiReply{503, apiError("unavailable", "hotspotd did not answer in time; try again")};
  try {
    return future.get();
  } catch (const std::future_error&) {
    return ApiReply{503, apiError("unavailable", "hotspotd is shutting down")};
  }
}

Result<void> Daemon::reloadFromHttp() {
  if (stopping_) return fail("hotspotd is shutting down");
  auto promise = std::make_shared<std::promise<Result<void>>>();
  auto future = promise->get_future();
  boost::asio::post(io_, [this, promise] { promise->set_value(reload("HTTP")); });
  if (!waitFor(future)) {
    return fail("the reload did not finish in time; check the log for its outcome");
  }
  try {
    return future.get();
  } catch (const std::future_error&) {
    // The lifecycle thread stopped before it ran the request.
    return fail("hotspotd is shutting down");
  }
}

}  // namespace hotspotd::daemon
