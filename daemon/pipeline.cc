#include "daemon/pipeline.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include <fmt/format.h>

#include <future>

#include <boost/asio/post.hpp>

#include "core/log.h"
#include "core/loop.h"

namespace hotspotd::daemon {

incidents::EngineOptions engineOptions(const Config& config) {
  incidents::EngineOptions o;
  o.interval = config.rules.evaluation_interval;
  o.retention = config.incidents.retention;
  o.trace_url = config.incidents.trace_url;
  o.exemplars = static_cast<std::size_t>(config.incidents.exemplars);
  return o;
}

Pipeline::Pipeline(boost::asio::io_context& io, Clock& clock, prometheus::Registry& registry, StateThread state_thread)
    : io_(io),
      clock_(clock),
      registry_(registry),
      state_mode_(state_thread),
      own_state_io_(state_thread == StateThread::own ? std::make_unique<boost::asio::io_context>() : nullptr),
      state_io_(own_state_io_ ? own_state_io_.get() : &io) {}

Pipeline::~Pipeline() {
  stop();
}

void Pipeline::onState(std::function<void()> job) {
  // Before the state thread starts and after it ended, the state side is this thread's.
  if (state_thread_.joinable()) {
    state_queue_->Increment();
    boost::asio::post(*state_io_, [this, job = std::move(job)] {
      state_queue_->Decrement();
      job();
    });
  } else {
    job();
  }
}

void Pipeline::noteStateWrite(bool ok, const std::string& error) {
  if (ok) {
    if (health_.writable) return;
    log::info("The state database can be written again",
              {{"failed_for", formatDuration(Duration(clock_.nowMs() - health_.failing_since_ms))},
               {"failed_writes", health_.failures}});
    health_.writable = true;
    health_.error.clear();
  } else {
    write_errors_->Increment();
    ++health_.failures;
    health_.error = error;
    if (health_.writable) {
      health_.writable = false;
      health_.failing_since_ms = clock_.nowMs();
      log::error(
          "Cannot write the state database; detection and alerting go on from memory, and what cannot be "
          "written is lost if the daemon stops before writes succeed again (free space, or make the state "
          "directory writable)",
          {{"error", error}});
    }
  }
  writable_->Set(health_.writable ? 1 : 0);
  state_health_.publish(health_);
}

Result<void> Pipeline::start(const Config& config, const std::filesystem::path& state_dir) {
  profiles_dir_ = state_dir / "profiles";
  // The store keeps as much history as the configured rules read (restart only, like the rest of [store]).
  const store::StoreConfig store_config = incidents::storeConfigFor(config.rules.loaded, config.store);
  store_ = std::make_unique<store::SeriesStore>(store_config);
  scrapes_ = std::make_unique<ingest::ScrapeManager>(io_, clock_, *store_, registry_);

  auto db = state::Database::open(state_dir / "hotspotd.db");
  if (!db) return fail(fmt::format("cannot open the state database: {}", db.error().message));
  db_ = std::move(*db);
  writable_ = &prometheus::BuildGauge()
                   .Name("hotspotd_state_writable")
                   .Help(
                       "1 while the state database can be written; 0 while writes fail (a full disk, a read-only "
                       "state directory): detection and alerting go on from memory")
                   .Register(registry_)
                   .Add({});
  writable_->Set(1);
  write_errors_ = &prometheus::BuildCounter()
                       .Name("hotspotd_state_write_errors_total")
                       .Help("Writes to the state database that failed")
                       .Register(registry_)
                       .Add({});
  db_->onWrite([this](bool ok, const std::string& error) { noteStateWrite(ok, error); });
  state_queue_ = &prometheus::BuildGauge()
                      .Name("hotspotd_state_queue_length")
                      .Help(
                          "Jobs handed to the state thread and not yet run (incident writes, evaluations' events "
                          "for alerting and profiling, reloads): grows while the state database stalls")
                      .Register(registry_)
                      .Add({});
  auto incidents = incidents::IncidentStore::open(*db_);
  if (!incidents) return fail(fmt::format("cannot use the state database: {}", incidents.error().message));
  incidents_ = std::make_unique<incidents::IncidentStore>(std::move(*incidents));
  auto profile_store = profile::ProfileStore::open(*db_, profiles_dir_);
  if (!profile_store) return fail(fmt::format("cannot use the profile store: {}", profile_store.error().message));
  profile_store_ = std::make_unique<profile::ProfileStore>(std::move(*profile_store));

  profiles_ = std::make_unique<profile::ProfileManager>(*state_io_, clock_, *profile_store_, registry_, profiles_dir_);
  alerts_ = std::make_unique<alerting::AlertService>(*state_io_, clock_, *db_, alertSources(), registry_);
  if (auto opened = alerts_->open(); !opened) {
    return fail(fmt::format("cannot use the notification outbox: {}", opened.error().message));
  }
  engine_ = std::make_unique<incidents::Engine>(io_, clock_, *store_, registry_, incidents_.get());
  if (state_mode_ == StateThread::own) {
    auto reads = state::Database::openReadOnly(state_dir / "hotspotd.db");
    if (!reads) return fail(fmt::format("cannot read the state database: {}", reads.error().message));
    engine_db_ = std::move(*reads);
    engine_reads_ = std::make_unique<incidents::IncidentStore>(incidents::IncidentStore::reader(*engine_db_));
    engine_->writeOn(incidents_.get(), engine_reads_.get(),
                     [this](std::function<void()> job) { onState(std::move(job)); });
  }
  auto reader = StateReader::open(state_dir / "hotspotd.db", profiles_dir_);
  if (!reader) return fail(fmt::format("cannot read the state database: {}", reader.error().message));
  reader_ = std::move(*reader);

  // Values from stage to stage: incident events to profiling and alerting, profiles to incidents and alerting.
  profiles_->onProfile([this](const profile::ProfileRef& p) {
    if (auto ok = incidents_->addProfile(p.incident_id,
                                         {p.profile_id, std::string(profile::kindName(p.kind)), p.error, p.start_ms});
        !ok) {
      log::error("Cannot attach a profile to its incident",
                 {{"incident", p.incident_id}, {"error", ok.error().message}});
    }
    alerts_->onProfile(p.incident_id, p.error.empty());
  });
  engine_->onEvents([this](const std::vector<rules::IncidentEvent>& events) {
    // After the engine's writes of the same evaluation, which were handed over first.
    onState([this, events] {
      for (const auto& e : events) {
        if (e.state == rules::IncidentEvent::State::firing) {
          firing_[e.id] = e;
        } else {
          firing_.erase(e.id);
        }
      }
      profiles_->onEvents(events);
      alerts_->onEvents(events);
    });
    for (const auto& listener : listeners_) listener(events);
  });

  scrapes_->apply(config.scrape);
  profiles_->apply(config.profiling);
  if (!config.profiling.targets.empty()) {
    if (auto allowed = profile::perfAllowed(); !allowed) {
      log::warn("Profiling with perf will fail", {{"reason", allowed.error().message}});
    }
  }
  alerts_->apply(config.alerting);
  engine_->setSources(config.sources, store_config);
  // Open incidents first, then the alert groups reconciled with them, then the rules.
  engine_->restore();
  for (const auto& [id, incident] : engine_->tracker().tracked()) {
    if (incident.state == incidents::TrackedIncident::State::firing) firing_[id] = incident.last;
  }
  alerts_->restore();
  shutdown_timeout_ = config.server.shutdown_timeout;
  if (state_mode_ == StateThread::own) {
    // From here on, the state side is touched on its thread only.
    state_work_ = std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
        state_io_->get_executor());
    auto done = std::make_shared<std::promise<void>>();
    state_done_ = done->get_future();
    state_thread_ = std::thread([this, done] {
      runGuarded(*state_io_, [this](const std::exception& e) {
        if (on_handler_error_) on_handler_error_(e);
        log::error("A state-thread handler failed; the thread goes on", {{"error", e.what()}});
      });
      done->set_value();
    });
  }
  engine_->apply(config.rules.loaded, engineOptions(config));
  log::info("Rules loaded", {{"rules", config.rules.loaded.size()},
                             {"zero_config", config.rules.files.empty()},
                             {"store_retention", formatDuration(store_config.retention)}});
  return {};
}

void Pipeline::apply(const Config& config) {
  shutdown_timeout_ = config.server.shutdown_timeout;
  scrapes_->apply(config.scrape);
  engine_->setSources(config.sources, store_->config());
  engine_->apply(config.rules.loaded, engineOptions(config));
  onState([this, profiling = config.profiling, alerting = config.alerting] {
    profiles_->apply(profiling);
    alerts_->apply(alerting);
  });
}

void Pipeline::stop() {
  if (scrapes_) scrapes_->stop();
  if (engine_) engine_->stop();
  onState([this] {
    if (alerts_) alerts_->stop();
    if (profiles_) profiles_->stop();
  });
  if (!state_thread_.joinable()) return;
  // The state thread ends once what was handed over is done and nothing more is under way (deliveries and captures
  // are cancelled by the stops above); past the shutdown timeout it is stopped where it is.
  state_work_.reset();
  if (state_done_.wait_for(std::chrono::milliseconds(shutdown_timeout_.count())) != std::future_status::ready) {
    log::error("The state thread did not finish within the shutdown timeout; stopping it",
               {{"shutdown_timeout", formatDuration(shutdown_timeout_)}});
    state_io_->stop();
  }
  state_thread_.join();
}

alerting::AlertSources Pipeline::alertSources() {
  alerting::AlertSources s;
  s.firing = [this] {
    std::vector<rules::IncidentEvent> out;
    for (const auto& [id, event] : firing_) out.push_back(event);
    return out;
  };
  s.resolution = [this](const std::string& id) -> std::optional<rules::IncidentEvent> {
    auto record = incidents_->get(id);
    if (record && *record && (*record)->state == incidents::IncidentState::resolved) return (*record)->resolved;
    return std::nullopt;
  };
  s.capture_deadline = [this](const std::string& id) { return profiles_ ? profiles_->captureDeadlineMs(id) : 0; };
  s.evidence = [this](const std::string& id) {
    alerting::IncidentEvidence e;
    if (auto list = profile_store_->list("", id, 20)) {
      // The newest profile that worked, and what grew in it against the baseline.
      for (const auto& p : *list) {
        if (!p.error.empty()) continue;
        e.profile_id = p.id;
        e.has_diff = !p.baseline_id.empty();
        e.has_offcpu_graph = p.summary.value("view", "") == "wall";
        e.explanation = p.summary.value("explanation", "");
        e.explains = p.summary.value("explains", "");
        if (p.summary.contains("grown") && p.summary["grown"].is_array()) {
          for (const auto& g : p.summary["grown"]) {
            if (e.grown.size() >= 5) break;
            const double pp = g.value("grew_pp", 0.0);
            if (pp > 0) e.grown.push_back(alerting::GrownFrame{g.value("name", ""), g.value("class", ""), pp});
          }
        }
        break;
      }
    }
    if (auto record = incidents_->get(id); record && *record) {
      for (const auto& x : (*record)->exemplars) {
        if (e.trace_urls.size() >= 3) break;
        if (!x.url.empty()) e.trace_urls.push_back(x.url);
      }
    }
    return e;
  };
  return s;
}

}  // namespace hotspotd::daemon
