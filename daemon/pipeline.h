// DESIGN
// The stages wired together, from a Config: the series store and the scrape manager (ingest), the engine (rules,
// query sources, incidents), the profile manager and store, the alert service, and the state database they keep
// their tables in. Each stage hands the next plain values: the engine's incident events go to profiling and
// alerting; the profile manager's ProfileRefs go to the incident store and to alerting; alerting reads incidents and
// profiles through AlertSources.
//
// The daemon runs one Pipeline on real time (daemon/lifecycle.h adds the process around it: the state directory
// lock, signals, systemd, the HTTP server); the in-process tests run one on a SimClock, which is why nothing here
// reads the wall clock or knows about signals. One thread: the io_context's.
#pragma once

#include <utility>  // before Asio: boost/asio/awaitable.hpp misses it with GCC 12 in C++20 mode

#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include <prometheus/registry.h>
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

class Pipeline {
 public:
  Pipeline(boost::asio::io_context& io, Clock& clock, prometheus::Registry& registry);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Builds every stage from `config`, with the state database and profiles in `state_dir`, reads back the open
  // incidents, what the detectors learned and the alert groups, and starts scraping and evaluating. The store's
  // windows are fixed from here on (a reload keeps them).
  Result<void> start(const Config& config, const std::filesystem::path& state_dir);
  // A reload: each stage takes its new section and keeps the state of what did not change.
  void apply(const Config& config);
  // Stops scraping, evaluating, capturing and sending; saves what the detectors learned and the alert groups.
  void stop();
  // Hears every evaluation's transitions too, after profiling and alerting did.
  void addListener(std::function<void(const std::vector<rules::IncidentEvent>&)> listener) {
    listeners_.push_back(std::move(listener));
  }

  store::SeriesStore& store() { return *store_; }
  ingest::ScrapeManager& scrapes() { return *scrapes_; }
  incidents::Engine& engine() { return *engine_; }
  incidents::IncidentStore& incidents() { return *incidents_; }
  profile::ProfileManager& profiles() { return *profiles_; }
  alerting::AlertService& alerts() { return *alerts_; }
  // The state database for the API's readers, on their own threads.
  StateReader& reader() { return *reader_; }
  // The state database the stages write (this thread only).
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
  std::filesystem::path profiles_dir_;
  std::unique_ptr<store::SeriesStore> store_;
  std::unique_ptr<ingest::ScrapeManager> scrapes_;
  std::unique_ptr<state::Database> db_;
  std::unique_ptr<incidents::IncidentStore> incidents_;
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
};

// The engine's options from [rules] and [incidents].
incidents::EngineOptions engineOptions(const Config& config);

}  // namespace hotspotd::daemon
