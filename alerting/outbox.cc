#include "alerting/outbox.h"

#include <fmt/format.h>

namespace hotspotd::alerting {

std::string_view stateName(NotificationState state) {
  switch (state) {
    case NotificationState::pending: return "pending";
    case NotificationState::delivered: return "delivered";
    case NotificationState::failed: return "failed";
  }
  return "pending";
}

NotificationState parseNotificationState(std::string_view name) {
  if (name == "delivered") return NotificationState::delivered;
  if (name == "failed") return NotificationState::failed;
  return NotificationState::pending;
}
namespace {

constexpr int kSchema = 2;
constexpr std::string_view kColumns =
    "id, receiver, key, payload, content_type, created_ms, next_ms, attempts, state, last_error, last_status, "
    "delivered_ms";

}  // namespace

Result<Outbox> Outbox::open(state::Database& db) {
  auto version = db.schemaVersion("outbox");
  if (!version) return tl::unexpected(version.error());
  if (*version > kSchema) {
    return fail(fmt::format("{}: the outbox was written by a newer hotspotd; upgrade hotspotd", db.path().string()));
  }
  if (*version < 1) {
    if (auto ok = db.migrate("outbox", 1, R"sql(
      CREATE TABLE IF NOT EXISTS notifications (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        receiver TEXT NOT NULL,
        key TEXT NOT NULL,
        payload TEXT NOT NULL,
        content_type TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        next_ms INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
        last_error TEXT NOT NULL DEFAULT '',
        last_status INTEGER NOT NULL DEFAULT 0,
        delivered_ms INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX IF NOT EXISTS notifications_pending ON notifications (receiver, key, id) WHERE state = 'pending';
      CREATE INDEX IF NOT EXISTS notifications_by_key ON notifications (key, id);
    )sql"); !ok) {
      return tl::unexpected(ok.error());
    }
    version = 1;
  }
  if (*version < 2) {
    // v2: which incidents each notification carried (the incident page's "notifications sent"), and the grouping
    // state, so a restart neither forgets a pending group nor pages again within repeat_interval.
    if (auto ok = db.migrate("outbox", 2, R"sql(
      CREATE TABLE IF NOT EXISTS notification_alerts (
        notification_id INTEGER NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
        incident_id TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS notification_alerts_by_incident ON notification_alerts (incident_id, notification_id);
      CREATE INDEX IF NOT EXISTS notification_alerts_by_notification ON notification_alerts (notification_id);
      CREATE TABLE IF NOT EXISTS notifier_groups (
        key TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        updated_ms INTEGER NOT NULL
      );
    )sql"); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  return Outbox(db);
}

Result<std::vector<Notification>> Outbox::query(const std::string& sql, const std::vector<state::Value>& params) {
  auto stmt = db_->prepare(sql);
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bindAll(params);
  std::vector<Notification> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    Notification n;
    n.id = stmt->integer(0);
    n.receiver = stmt->text(1);
    n.key = stmt->text(2);
    n.payload = stmt->text(3);
    n.content_type = stmt->text(4);
    n.created_ms = stmt->integer(5);
    n.next_ms = stmt->integer(6);
    n.attempts = static_cast<int>(stmt->integer(7));
    n.state = parseNotificationState(stmt->text(8));
    n.last_error = stmt->text(9);
    n.last_status = static_cast<int>(stmt->integer(10));
    n.delivered_ms = stmt->integer(11);
    out.push_back(std::move(n));
  }
  return out;
}

Result<std::int64_t> Outbox::enqueue(const std::string& receiver, const std::string& key, const std::string& payload,
                                     const std::string& content_type, std::int64_t now_ms,
                                     const std::vector<std::string>& incidents) {
  auto stmt = db_->prepare(
      "INSERT INTO notifications (receiver, key, payload, content_type, created_ms, next_ms, state) "
      "VALUES (?, ?, ?, ?, ?, ?, 'pending')");
  if (!stmt) return tl::unexpected(stmt.error());
  if (auto ok = stmt->bindAll({receiver, key, payload, content_type, now_ms, now_ms}).run(); !ok) {
    return tl::unexpected(ok.error());
  }
  const std::int64_t id = db_->lastInsertId();
  if (!incidents.empty()) {
    auto link = db_->prepare("INSERT INTO notification_alerts (notification_id, incident_id) VALUES (?, ?)");
    if (!link) return tl::unexpected(link.error());
    for (const auto& incident : incidents) {
      link->reset();
      if (auto ok = link->bindAll({id, incident}).run(); !ok) return tl::unexpected(ok.error());
    }
  }
  return id;
}

Result<std::vector<Notification>> Outbox::due(const std::string& receiver, std::int64_t now_ms, std::size_t limit) {
  return query(fmt::format("SELECT {} FROM notifications n WHERE state = 'pending' AND receiver = ?1 AND next_ms <= ?2 "
                           "AND NOT EXISTS (SELECT 1 FROM notifications m WHERE m.state = 'pending' AND "
                           "m.receiver = n.receiver AND m.key = n.key AND m.id < n.id) ORDER BY id LIMIT ?3",
                           kColumns),
               {receiver, now_ms, static_cast<std::int64_t>(limit)});
}

Result<void> Outbox::delivered(std::int64_t id, int status, std::int64_t now_ms) {
  auto stmt = db_->prepare(
      "UPDATE notifications SET state = 'delivered', attempts = attempts + 1, last_status = ?, delivered_ms = ?, "
      "last_error = '' WHERE id = ?");
  if (!stmt) return tl::unexpected(stmt.error());
  return stmt->bindAll({std::int64_t{status}, now_ms, id}).run();
}

Result<void> Outbox::retry(std::int64_t id, std::int64_t next_ms, int status, const std::string& error) {
  auto stmt = db_->prepare(
      "UPDATE notifications SET attempts = attempts + 1, next_ms = ?, last_status = ?, last_error = ? WHERE id = ?");
  if (!stmt) return tl::unexpected(stmt.error());
  return stmt->bindAll({next_ms, std::int64_t{status}, error, id}).run();
}

Result<void> Outbox::carryOver(std::int64_t id, int attempts, std::int64_t next_ms, int status,
                               const std::string& error) {
  auto stmt =
      db_->prepare("UPDATE notifications SET attempts = ?, next_ms = ?, last_status = ?, last_error = ? WHERE id = ?");
  if (!stmt) return tl::unexpected(stmt.error());
  return stmt->bindAll({std::int64_t{attempts}, next_ms, std::int64_t{status}, error, id}).run();
}

Result<void> Outbox::failed(std::int64_t id, int status, const std::string& error, std::int64_t now_ms) {
  auto stmt = db_->prepare(
      "UPDATE notifications SET state = 'failed', attempts = attempts + 1, last_status = ?, last_error = ?, "
      "delivered_ms = ? WHERE id = ?");
  if (!stmt) return tl::unexpected(stmt.error());
  return stmt->bindAll({std::int64_t{status}, error, now_ms, id}).run();
}

Result<std::vector<Outbox::Backlog>> Outbox::backlog() {
  auto stmt = db_->prepare(
      "SELECT receiver, COUNT(*), MIN(created_ms) FROM notifications WHERE state = 'pending' GROUP BY receiver "
      "ORDER BY receiver");
  if (!stmt) return tl::unexpected(stmt.error());
  std::vector<Backlog> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    out.push_back(Backlog{stmt->text(0), stmt->integer(1), stmt->integer(2)});
  }
  return out;
}

Result<std::optional<std::int64_t>> Outbox::nextDue(const std::string& receiver) {
  auto stmt = db_->prepare(
      "SELECT MIN(next_ms) FROM notifications n WHERE state = 'pending' AND receiver = ?1 AND NOT EXISTS "
      "(SELECT 1 FROM notifications m WHERE m.state = 'pending' AND m.receiver = n.receiver AND m.key = n.key AND "
      "m.id < n.id)");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind(1, receiver);
  auto row = stmt->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row || stmt->isNull(0)) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(stmt->integer(0));
}

Result<std::vector<Notification>> Outbox::history(const std::string& key, std::size_t limit) {
  return query(fmt::format("SELECT {} FROM notifications WHERE (?1 = '' OR key = ?1) ORDER BY id DESC LIMIT ?2",
                           kColumns),
               {key, static_cast<std::int64_t>(limit)});
}

Result<std::vector<Notification>> Outbox::historyOf(const std::string& incident, std::size_t limit) {
  return query(fmt::format("SELECT {} FROM notifications WHERE id IN (SELECT notification_id FROM "
                           "notification_alerts WHERE incident_id = ?1) ORDER BY id DESC LIMIT ?2",
                           kColumns),
               {incident, static_cast<std::int64_t>(limit)});
}

Result<std::vector<std::string>> Outbox::pendingQueues() {
  auto stmt = db_->prepare("SELECT DISTINCT receiver FROM notifications WHERE state = 'pending' ORDER BY receiver");
  if (!stmt) return tl::unexpected(stmt.error());
  std::vector<std::string> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    out.push_back(stmt->text(0));
  }
  return out;
}

Result<std::int64_t> Outbox::failPending(const std::string& receiver, const std::string& error, std::int64_t now_ms) {
  auto stmt = db_->prepare(
      "UPDATE notifications SET state = 'failed', last_error = ?, delivered_ms = ? WHERE state = 'pending' AND "
      "receiver = ?");
  if (!stmt) return tl::unexpected(stmt.error());
  if (auto ok = stmt->bindAll({error, now_ms, receiver}).run(); !ok) return tl::unexpected(ok.error());
  return db_->changes();
}

Result<void> Outbox::saveGroup(const std::string& key, const std::string& state, std::int64_t now_ms) {
  auto stmt = state.empty() ? db_->prepare("DELETE FROM notifier_groups WHERE key = ?1")
                            : db_->prepare("INSERT INTO notifier_groups (key, state, updated_ms) VALUES (?1, ?2, ?3) "
                                           "ON CONFLICT (key) DO UPDATE SET state = ?2, updated_ms = ?3");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind(1, key);
  if (!state.empty()) stmt->bind(2, state).bind(3, now_ms);
  return stmt->run();
}

Result<std::vector<std::pair<std::string, std::string>>> Outbox::loadGroups() {
  auto stmt = db_->prepare("SELECT key, state FROM notifier_groups ORDER BY key");
  if (!stmt) return tl::unexpected(stmt.error());
  std::vector<std::pair<std::string, std::string>> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    out.emplace_back(stmt->text(0), stmt->text(1));
  }
  return out;
}

Result<std::int64_t> Outbox::prune(std::int64_t before_ms) {
  auto links = db_->prepare(
      "DELETE FROM notification_alerts WHERE notification_id IN (SELECT id FROM notifications WHERE state != "
      "'pending' AND delivered_ms < ?)");
  if (!links) return tl::unexpected(links.error());
  if (auto ok = links->bind(1, before_ms).run(); !ok) return tl::unexpected(ok.error());
  auto stmt = db_->prepare("DELETE FROM notifications WHERE state != 'pending' AND delivered_ms < ?");
  if (!stmt) return tl::unexpected(stmt.error());
  if (auto ok = stmt->bind(1, before_ms).run(); !ok) return tl::unexpected(ok.error());
  return db_->changes();
}

}  // namespace hotspotd::alerting
