// The API's view of the state database: a read-only connection of its own (state::Database::openReadOnly), used
// from the HTTP server's worker threads one at a time, so that listing incidents, notifications and profiles
// (up to 100,000 rows for a label match, with each incident's notifications) neither waits for the daemon's loops
// nor delays them. In WAL mode it reads the last commit while the state thread writes.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>

#include "alerting/outbox.h"
#include "core/result.h"
#include "incidents/incident_store.h"
#include "profile/profile_store.h"
#include "state/database.h"

namespace hotspotd::daemon {

class StateReader {
 public:
  // Opens a second connection to the database the pipeline has already opened and migrated.
  static Result<std::unique_ptr<StateReader>> open(const std::filesystem::path& db_path,
                                                   const std::filesystem::path& profiles_dir);

  // Runs `f(reader)` with the connection to itself: one caller at a time.
  template <typename F>
  auto with(F&& f) {
    std::lock_guard lock(mutex_);
    return f(*this);
  }

  incidents::IncidentStore& incidents() { return incidents_; }
  alerting::Outbox& outbox() { return outbox_; }
  profile::ProfileStore& profiles() { return profiles_; }
  // The notifications of one incident (all of them for an empty id), newest first.
  Result<std::vector<alerting::Notification>> notifications(const std::string& incident, std::size_t limit) {
    return incident.empty() ? outbox_.history("", limit) : outbox_.historyOf(incident, limit);
  }

 private:
  StateReader(std::unique_ptr<state::Database> db, incidents::IncidentStore incidents, alerting::Outbox outbox,
              profile::ProfileStore profiles)
      : db_(std::move(db)), incidents_(std::move(incidents)), outbox_(std::move(outbox)), profiles_(std::move(profiles)) {}

  std::mutex mutex_;
  std::unique_ptr<state::Database> db_;
  incidents::IncidentStore incidents_;
  alerting::Outbox outbox_;
  profile::ProfileStore profiles_;
};

}  // namespace hotspotd::daemon
