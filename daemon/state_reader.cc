#include "daemon/state_reader.h"

#include <fmt/format.h>

namespace hotspotd::daemon {

Result<std::unique_ptr<StateReader>> StateReader::open(const std::filesystem::path& db_path,
                                                       const std::filesystem::path& profiles_dir) {
  auto db = state::Database::openReadOnly(db_path);
  if (!db) return tl::unexpected(db.error());
  // The schema is current (the lifecycle thread migrated it first): opening the stores only checks its version.
  auto incidents = incidents::IncidentStore::open(**db);
  if (!incidents) return tl::unexpected(incidents.error());
  auto outbox = alerting::Outbox::open(**db);
  if (!outbox) return tl::unexpected(outbox.error());
  auto profiles = profile::ProfileStore::reader(**db, profiles_dir);
  return std::unique_ptr<StateReader>(
      new StateReader(std::move(*db), std::move(*incidents), std::move(*outbox), std::move(profiles)));
}

}  // namespace hotspotd::daemon
