// DESIGN
// The stages wired together, from a Config: the series store and the scrape manager (ingest), the engine (rules,
// query sources, incidents), the profile manager and store, the alert service, and the state database they keep
// their tables in. Each stage hands the next plain values: the engine's incident events go to profiling and
// alerting; the profile manager's ProfileRefs go to the incident store and to alerting; alerting reads incidents and
// profiles through AlertSources.
//
// The daemon runs one Pipeline on real time (daemon/lifecycle.h adds the process around it: the state directory
// lock, signals, systemd, the HTTP server); the in-process tests run one on a SimClock, which is why nothing here
// reads the wall clock or knows about signals.
//
// Two threads in the daemon (StateThread::own), one in the tests and offline (StateThread::shared). The caller's
// io_context runs detection: scrapes into the store, rule evaluation, the query sources. The state thread runs
// everything that writes the state database and acts on incidents: the incident and detector-state writes (jobs
// the engine hands over, in order), the alert service (outbox, deliveries, silences) and the profile manager
// (captures, the profile index). So a slow disk delays pages and profiles by as much as it stalls, never a scrape
// or an evaluation. The engine's events cross as copies, after its writes; the engine reads what it needs at start
// and on reload through a read-only connection of its own.
#pragma once

#include <utility>  // before Asio: boost/asio/awaitable.hpp misses it with GCC 12 in C++20 mode

#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include <prometheus/registry.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "alerting/alert_service.h"
#include "core/clock.h"
#include "core/result.h"
#include "core/snapshot.h"
#include "daemon/config.h"
#include "daemon/state_reader.h"
#include "incidents/engine.h"
#include "incidents/incident_store.h"
#include "ingest/scrape_manager.h"
#include "profile/profile_manager.h"
#include "profile/profile_store.h"
#include "state/database.h"
#include "store/series_store.h"

namespace hotspotd::daemon {

// Whether the state side runs on a thread of its own (the daemon) or on the caller's io_context (the in-process
// tests, on a SimClock: one thread, deterministic).
enum class StateThread { shared, own };

class Pipeline {
 public:
  Pipeline(boost::asio::io_context& io, Clock& clock, prometheus::Registry& registry,
           StateThread state_thread = StateThread::shared);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Builds every stage from `config`, with the state database and profiles in `state_dir`, reads back the open
  // incidents, what the detectors learned and the alert groups, and starts scraping and evaluating. The store's
  // windows are fixed from here on (a reload keeps them).
  Result<void> start(const Config& config, const std::filesystem::path& state_dir);
  // A reload: each stage takes its new section and keeps the state of what did not change.
  void apply(const Config& config);
  // Stops scraping, evaluating, capturing and sending; saves what the detectors learned and the alert groups. The
  // state thread finishes its writes and ends within `server.shutdown_timeout`.
  void stop();
  // Called with what a state-thread handler threw (the thread goes on); before start().
  void onHandlerError(std::function<void(const std::exception&)> f) { on_handler_error_ = std::move(f); }
  // Runs `job` on the state side: posted to the state thread while it runs, else at once. Lifecycle thread only.
  void onState(std::function<void()> job);
  // The io_context of the state side (the API's silences run there).
  boost::asio::io_context& stateIo() { return *state_io_; }
  // Hears every evaluation's transitions too, after profiling and alerting did.
  void addListener(std::function<void(const std::vector<rules::IncidentEvent>&)> listener) {
    listeners_.push_back(std::move(listener));
  }

  store::SeriesStore& store() { return *store_; }
  ingest::ScrapeManager& scrapes() { return *scrapes_; }
  incidents::Engine& engine() { return *engine_; }
  // The state side's stages: touch them on the state thread only (onState), or directly when it is shared.
  incidents::IncidentStore& incidents() { return *incidents_; }
  profile::ProfileManager& profiles() { return *profiles_; }
  alerting::AlertService& alerts() { return *alerts_; }
  // The state database for the API's readers, on their own threads.
  StateReader& reader() { return *reader_; }
  // The state database the stages write (the state side only).
  state::Database& database() { return *db_; }
  // Whether the state database can be written; published on every change, read from any thread.
  const Snapshot<state::WriteHealth>& stateHealth() const { return state_health_; }
  const std::filesystem::path& profilesDir() const { return profiles_dir_; }

 private:
  alerting::AlertSources alertSources();
  // Every write's outcome on the state database: counted, and on a change between writable and not, logged and
  // published. Detection, incidents and alerting go on from memory meanwhile.
  void noteStateWrite(bool ok, const std::string& error);

  boost::asio::io_context& io_;
  Clock& clock_;
  prometheus::Registry& registry_;
  StateThread state_mode_;
  // Declared before the stages that use it, so that it outlives them.
  std::unique_ptr<boost::asio::io_context> own_state_io_;
  boost::asio::io_context* state_io_;
  std::thread state_thread_;
  std::future<void> state_done_;  // ready when the state thread's loop returned
  std::function<void(const std::exception&)> on_handler_error_;
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> state_work_;
  Duration shutdown_timeout_ = std::chrono::seconds(10);
  std::filesystem::path profiles_dir_;
  std::unique_ptr<store::SeriesStore> store_;
  std::unique_ptr<ingest::ScrapeManager> scrapes_;
  std::unique_ptr<state::Database> db_;
  std::unique_ptr<incidents::IncidentStore> incidents_;
  // The engine's reads on its own thread (StateThread::own): a read-only connection.
  std::unique_ptr<state::Database> engine_db_;
  std::unique_ptr<incidents::IncidentStore> engine_reads_;
  // The incidents firing, as the state side heard of them (AlertSources::firing): state side only.
  std::map<std::string, rules::IncidentEvent> firing_;
  std::unique_ptr<profile::ProfileStore> profile_store_;
  std::unique_ptr<profile::ProfileManager> profiles_;
  std::unique_ptr<alerting::AlertService> alerts_;
  std::unique_ptr<incidents::Engine> engine_;
  std::unique_ptr<StateReader> reader_;
  std::vector<std::function<void(const std::vector<rules::IncidentEvent>&)>> listeners_;
  state::WriteHealth health_;
  Snapshot<state::WriteHealth> state_health_;
  prometheus::Gauge* writable_ = nullptr;
  prometheus::Counter* write_errors_ = nullptr;
  prometheus::Gauge* state_queue_ = nullptr;
};

// The engine's options from [rules] and [incidents].
incidents::EngineOptions engineOptions(const Config& config);

}  // namespace hotspotd::daemon
