// DESIGN
// The notification outbox: every notification is written to the state database before anything tries to send
// it, and marked delivered only after the receiver said so, so a restart or a `kill -9` at any point loses
// nothing (at-least-once: the one in flight may go twice, with the same dedup key). Failed attempts are rescheduled
// (the caller decides when: backoff with jitter, or the receiver's Retry-After) until delivered or failed for good;
// delivered and failed notifications stay as history (what was sent, when, how many attempts, why it failed).
//
// Order: a receiver gets the notifications of one key (an incident, a group) in the order they were written; a
// notification waits while an earlier one of the same key and receiver is still pending. Receivers never wait on
// each other: each has its own queue. Owned by the state thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "state/database.h"

namespace hotspotd::alerting {

// Where a notification stands; stored and shown by name ("pending", "delivered", "failed").
enum class NotificationState { pending, delivered, failed };
std::string_view stateName(NotificationState state);
NotificationState parseNotificationState(std::string_view name);

struct Notification {
  std::int64_t id = 0;
  std::string receiver;
  std::string key;           // the dedup or group key: order is kept per key
  std::string payload;       // the request body
  std::string content_type = "application/json";
  std::int64_t created_ms = 0;
  std::int64_t next_ms = 0;  // not before
  int attempts = 0;
  NotificationState state = NotificationState::pending;
  std::string last_error;
  int last_status = 0;       // the receiver's last HTTP status, 0 if none
  std::int64_t delivered_ms = 0;
};

class Outbox {
 public:
  static Result<Outbox> open(state::Database& db);

  // Writes a notification, due at `now_ms`, carrying the alerts of `incidents`. Returns its id.
  Result<std::int64_t> enqueue(const std::string& receiver, const std::string& key, const std::string& payload,
                               const std::string& content_type, std::int64_t now_ms,
                               const std::vector<std::string>& incidents = {});
  // The receiver's notifications that may be sent now: due, and first of their key. Oldest first.
  Result<std::vector<Notification>> due(const std::string& receiver, std::int64_t now_ms, std::size_t limit);
  Result<void> delivered(std::int64_t id, int status, std::int64_t now_ms);
  Result<void> retry(std::int64_t id, std::int64_t next_ms, int status, const std::string& error);
  Result<void> failed(std::int64_t id, int status, const std::string& error, std::int64_t now_ms);
  // A notification sent from memory before it could be written: its attempts so far, their last outcome and when
  // it may go again, so that its backoff carries on where it was.
  Result<void> carryOver(std::int64_t id, int attempts, std::int64_t next_ms, int status, const std::string& error);

  // Pending notifications per receiver and the oldest one's creation time, for metrics.
  struct Backlog {
    std::string receiver;
    std::int64_t pending = 0;
    std::int64_t oldest_ms = 0;
  };
  Result<std::vector<Backlog>> backlog();
  // When the receiver's next sendable notification (first of its key) is due, to sleep until then.
  Result<std::optional<std::int64_t>> nextDue(const std::string& receiver);
  // History, newest first; `key` empty for all.
  Result<std::vector<Notification>> history(const std::string& key, std::size_t limit);
  // The notifications that carried incident `incident`, newest first.
  Result<std::vector<Notification>> historyOf(const std::string& incident, std::size_t limit);
  // The receivers (queues) with pending notifications.
  Result<std::vector<std::string>> pendingQueues();
  // Ends every pending notification of a receiver as failed (a receiver removed from the config).
  Result<std::int64_t> failPending(const std::string& receiver, const std::string& error, std::int64_t now_ms);

  // The notifier's grouping state, one row per group (an empty `state` deletes the row).
  Result<void> saveGroup(const std::string& key, const std::string& state, std::int64_t now_ms);
  Result<std::vector<std::pair<std::string, std::string>>> loadGroups();

  // Deletes delivered and failed notifications older than `before_ms`.
  Result<std::int64_t> prune(std::int64_t before_ms);

 private:
  explicit Outbox(state::Database& db) : db_(&db) {}
  Result<std::vector<Notification>> query(const std::string& sql, const std::vector<state::Value>& params);
  state::Database* db_;
};

}  // namespace hotspotd::alerting
