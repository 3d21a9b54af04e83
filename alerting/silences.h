// Silences kept in the state database, so they outlive restarts: created, listed and expired through the HTTP API,
// read by the notifier at each flush. An expired silence stays listed for `retention` (as Alertmanager keeps
// expired silences), then is deleted. Owned by the state thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "alerting/routing.h"
#include "core/result.h"
#include "state/database.h"

namespace hotspotd::alerting {

struct SilenceRequest {
  std::vector<std::string> matchers;  // `name="value"`, `name=~"re"`, `name!="v"`, `name!~"re"`
  std::int64_t starts_ms = 0;         // 0: now
  std::int64_t ends_ms = 0;
  std::string created_by;
  std::string comment;
};

class SilenceStore {
 public:
  static Result<SilenceStore> open(state::Database& db);

  // Checks and stores a silence; the error says what is wrong with the request (a client error).
  Result<Silence> create(const SilenceRequest& request, std::int64_t now_ms);
  // Ends a silence now. False if there is no such silence; an already expired one stays as it was.
  Result<bool> expire(const std::string& id, std::int64_t now_ms);
  // Every kept silence, newest first.
  Result<std::vector<Silence>> list();
  // The silences not yet expired (active or pending), for the notifier.
  const std::vector<Silence>& current() const { return current_; }
  // Deletes silences that ended before `before_ms`.
  Result<std::int64_t> prune(std::int64_t before_ms);

 private:
  explicit SilenceStore(state::Database& db) : db_(&db) {}
  Result<void> refresh(std::int64_t now_ms);
  state::Database* db_;
  std::vector<Silence> current_;
};

}  // namespace hotspotd::alerting
