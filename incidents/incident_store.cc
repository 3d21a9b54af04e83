#include "incidents/incident_store.h"

#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/text.h"

namespace hotspotd::incidents {

std::string_view stateName(IncidentState state) {
  switch (state) {
    case IncidentState::pending: return "pending";
    case IncidentState::firing: return "firing";
    case IncidentState::resolved: return "resolved";
  }
  return "pending";
}

IncidentState parseIncidentState(std::string_view name) {
  if (name == "firing") return IncidentState::firing;
  if (name == "resolved") return IncidentState::resolved;
  return IncidentState::pending;
}
namespace {

using nlohmann::json;

constexpr int kSchema = 2;

json labelsToJson(const rules::OwnedLabels& labels) {
  json out = json::object();
  for (const auto& [k, v] : labels) out[k] = v;
  return out;
}

rules::OwnedLabels labelsFromJson(const json& j) {
  rules::OwnedLabels out;
  if (!j.is_object()) return out;
  for (const auto& [k, v] : j.items()) out.emplace_back(k, v.is_string() ? v.get<std::string>() : jsonText(v));
  return out;  // json objects iterate in key order: sorted
}

// NaN and infinities are JSON null (nlohmann writes them so); read back as NaN.
double number(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : NAN;
}

json eventToJson(const rules::IncidentEvent& e) {
  json evidence = json::object();
  for (const auto& [k, v] : e.evidence) evidence[k] = v;
  return json{{"t_ms", e.t_ms},
              {"state", e.state == rules::IncidentEvent::State::firing ? "firing" : "resolved"},
              {"id", e.id},
              {"alertname", e.alertname},
              {"endpoint", labelsToJson(e.endpoint)},
              {"labels", labelsToJson(e.labels)},
              {"annotations", labelsToJson(e.annotations)},
              {"severity", e.severity},
              {"value", e.value},
              {"threshold", e.threshold},
              {"evidence", evidence},
              {"started_ms", e.started_ms},
              {"fired_ms", e.fired_ms},
              {"reason", e.reason},
              {"profile", e.profile}};
}

rules::IncidentEvent eventFromJson(const json& j) {
  rules::IncidentEvent e;
  if (!j.is_object()) return e;
  e.t_ms = j.value("t_ms", std::int64_t{0});
  e.state = j.value("state", "firing") == "resolved" ? rules::IncidentEvent::State::resolved
                                                      : rules::IncidentEvent::State::firing;
  e.id = j.value("id", "");
  e.alertname = j.value("alertname", "");
  e.endpoint = labelsFromJson(j.value("endpoint", json::object()));
  e.labels = labelsFromJson(j.value("labels", json::object()));
  e.annotations = labelsFromJson(j.value("annotations", json::object()));
  e.severity = j.value("severity", "");
  e.value = number(j, "value");
  e.threshold = number(j, "threshold");
  if (auto it = j.find("evidence"); it != j.end() && it->is_object()) {
    for (const auto& [k, v] : it->items()) e.evidence.emplace_back(k, v.is_number() ? v.get<double>() : NAN);
  }
  e.started_ms = j.value("started_ms", std::int64_t{0});
  e.fired_ms = j.value("fired_ms", std::int64_t{0});
  e.reason = j.value("reason", "");
  e.profile = j.value("profile", "");
  return e;
}

json exemplarsToJson(const std::vector<IncidentExemplar>& exemplars) {
  json out = json::array();
  for (const auto& x : exemplars) {
    out.push_back({{"trace_id", x.trace_id},
                   {"url", x.url},
                   {"labels", labelsToJson(x.labels)},
                   {"value", x.value},
                   {"t_ms", x.t_ms}});
  }
  return out;
}

std::vector<IncidentExemplar> exemplarsFromJson(const json& j) {
  std::vector<IncidentExemplar> out;
  if (!j.is_array()) return out;
  for (const auto& x : j) {
    out.push_back(IncidentExemplar{x.value("trace_id", ""), x.value("url", ""),
                                   labelsFromJson(x.value("labels", json::object())), number(x, "value"),
                                   x.value("t_ms", std::int64_t{0})});
  }
  return out;
}

json parseOr(const std::string& text, json fallback) {
  auto j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? fallback : j;
}

}  // namespace

Result<IncidentStore> IncidentStore::open(state::Database& db) {
  auto version = db.schemaVersion("incidents");
  if (!version) return tl::unexpected(version.error());
  if (*version > kSchema) {
    return fail(fmt::format("{}: the incident tables were written by a newer hotspotd (schema {}, this one knows {}); "
                            "upgrade hotspotd or move the database aside",
                            db.path().string(), *version, kSchema));
  }
  if (*version < 1) {
    if (auto ok = db.migrate("incidents", 1, R"sql(
      CREATE TABLE IF NOT EXISTS incidents (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL,
        alertname TEXT NOT NULL,
        labels TEXT NOT NULL,
        severity TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
        pending_ms INTEGER NOT NULL,
        firing_ms INTEGER,
        resolved_ms INTEGER,
        clear_since_ms INTEGER,
        firing TEXT,
        resolved TEXT,
        exemplars TEXT NOT NULL DEFAULT '[]',
        updated_ms INTEGER NOT NULL
      );
      CREATE UNIQUE INDEX IF NOT EXISTS incidents_open ON incidents (id) WHERE state != 'resolved';
      CREATE INDEX IF NOT EXISTS incidents_resolved ON incidents (resolved_ms) WHERE state = 'resolved';
      CREATE TABLE IF NOT EXISTS detector_state (
        rule TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        state BLOB NOT NULL,
        updated_ms INTEGER NOT NULL,
        PRIMARY KEY (rule, endpoint)
      ) WITHOUT ROWID;
    )sql"); !ok) {
      return tl::unexpected(ok.error());
    }
    *version = 1;
  }
  if (*version < 2) {
    // Version 2: the profiles captured for an incident (ids, or the reason a capture failed).
    if (auto ok = db.migrate("incidents", 2, "ALTER TABLE incidents ADD COLUMN profiles TEXT NOT NULL DEFAULT '[]'"); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  return IncidentStore(db);
}

IncidentStore::Changes IncidentStore::changesOf(const IncidentTracker& tracker, const std::vector<std::string>& changed) {
  Changes out;
  out.reserve(changed.size());
  for (const std::string& id : changed) {
    const TrackedIncident* t = tracker.find(id);
    out.emplace_back(id, t ? std::optional<TrackedIncident>(*t) : std::nullopt);
  }
  return out;
}

Result<void> IncidentStore::save(const Changes& changes, const std::vector<rules::IncidentEvent>& events,
                                 std::int64_t now_ms) {
  if (changes.empty() && events.empty()) return {};
  auto upsert = db_->prepare(R"sql(
      INSERT INTO incidents (id, alertname, labels, severity, state, pending_ms, firing_ms, clear_since_ms, firing,
                             updated_ms)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
      ON CONFLICT (id) WHERE state != 'resolved' DO UPDATE SET
        severity = excluded.severity, state = excluded.state, firing_ms = excluded.firing_ms,
        clear_since_ms = excluded.clear_since_ms, firing = excluded.firing, updated_ms = excluded.updated_ms)sql");
  if (!upsert) return tl::unexpected(upsert.error());
  auto drop_pending = db_->prepare("DELETE FROM incidents WHERE id = ? AND state = 'pending'");
  if (!drop_pending) return tl::unexpected(drop_pending.error());
  auto resolve = db_->prepare(
      "UPDATE incidents SET state = 'resolved', resolved_ms = ?2, resolved = ?3, clear_since_ms = NULL, "
      "updated_ms = ?4 WHERE id = ?1 AND state = 'firing'");
  if (!resolve) return tl::unexpected(resolve.error());

  if (auto ok = db_->begin(); !ok) return ok;
  Result<void> ok;
  for (const auto& [id, incident] : changes) {
    const TrackedIncident* t = incident ? &*incident : nullptr;
    if (!t) {
      ok = drop_pending->bind(1, id).run();
    } else {
      const bool firing = t->state == TrackedIncident::State::firing;
      ok = upsert
               ->bindAll({id, t->last.alertname, jsonText(labelsToJson(t->last.labels)), t->last.severity,
                          std::string(firing ? "firing" : "pending"), t->since_ms,
                          firing ? state::Value{t->last.t_ms} : state::Value{nullptr},
                          t->clear_since_ms >= 0 ? state::Value{t->clear_since_ms} : state::Value{nullptr},
                          jsonText(eventToJson(t->last)), now_ms})
               .run();
    }
    if (!ok) break;
  }
  for (const auto& e : events) {
    if (!ok) break;
    if (e.state != rules::IncidentEvent::State::resolved) continue;
    ok = resolve->bindAll({e.id, e.t_ms, jsonText(eventToJson(e)), now_ms}).run();
  }
  if (ok) ok = db_->commit();
  if (!ok) db_->rollback();
  return ok;
}

Result<std::vector<std::pair<std::string, TrackedIncident>>> IncidentStore::loadOpen() {
  auto stmt = db_->prepare(
      "SELECT id, state, pending_ms, clear_since_ms, firing FROM incidents WHERE state != 'resolved' ORDER BY seq");
  if (!stmt) return tl::unexpected(stmt.error());
  std::vector<std::pair<std::string, TrackedIncident>> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    TrackedIncident t;
    t.state = stmt->text(1) == "firing" ? TrackedIncident::State::firing : TrackedIncident::State::pending;
    t.since_ms = stmt->integer(2);
    t.clear_since_ms = stmt->isNull(3) ? -1 : stmt->integer(3);
    t.last = eventFromJson(parseOr(stmt->text(4), json::object()));
    if (t.last.alertname.empty()) continue;  // unreadable: better forgotten than resumed wrongly
    out.emplace_back(stmt->text(0), std::move(t));
  }
  return out;
}

Result<void> IncidentStore::addExemplars(const std::string& id, const std::vector<IncidentExemplar>& exemplars,
                                         std::size_t limit) {
  if (exemplars.empty()) return {};
  auto read = db_->prepare("SELECT seq, exemplars FROM incidents WHERE id = ? AND state = 'firing'");
  if (!read) return tl::unexpected(read.error());
  read->bind(1, id);
  auto row = read->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return {};
  const std::int64_t seq = read->integer(0);
  std::vector<IncidentExemplar> all = exemplarsFromJson(parseOr(read->text(1), json::array()));
  read->reset();
  bool added = false;
  for (const auto& x : exemplars) {
    bool seen = false;
    for (const auto& have : all) {
      seen = seen || (x.trace_id.empty() ? have.labels == x.labels && have.t_ms == x.t_ms : have.trace_id == x.trace_id);
    }
    if (seen) continue;
    all.push_back(x);
    added = true;
  }
  if (!added) return {};
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.t_ms > b.t_ms; });
  if (all.size() > limit) all.resize(limit);
  auto write = db_->prepare("UPDATE incidents SET exemplars = ? WHERE seq = ?");
  if (!write) return tl::unexpected(write.error());
  return write->bindAll({jsonText(exemplarsToJson(all)), seq}).run();
}

Result<void> IncidentStore::addProfile(const std::string& id, const IncidentProfile& profile) {
  auto read = db_->prepare(
      "SELECT seq, profiles FROM incidents WHERE id = ? AND state != 'resolved' ORDER BY seq DESC LIMIT 1");
  if (!read) return tl::unexpected(read.error());
  read->bind(1, id);
  auto row = read->step();
  if (!row) return tl::unexpected(row.error());
  std::int64_t seq = 0;
  json all;
  if (*row) {
    seq = read->integer(0);
    all = parseOr(read->text(1), json::array());
  } else {
    // Resolved meanwhile (a capture outlives a short incident): the latest occurrence takes it.
    read = db_->prepare("SELECT seq, profiles FROM incidents WHERE id = ? ORDER BY seq DESC LIMIT 1");
    if (!read) return tl::unexpected(read.error());
    read->bind(1, id);
    row = read->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return {};
    seq = read->integer(0);
    all = parseOr(read->text(1), json::array());
  }
  read->reset();
  if (!all.is_array()) all = json::array();
  all.push_back(json{{"id", profile.profile_id}, {"kind", profile.kind}, {"error", profile.error},
                     {"start_ms", profile.start_ms}});
  auto write = db_->prepare("UPDATE incidents SET profiles = ? WHERE seq = ?");
  if (!write) return tl::unexpected(write.error());
  return write->bindAll({jsonText(all), seq}).run();
}

namespace {

constexpr std::string_view kRecordColumns =
    "seq, id, alertname, labels, severity, state, pending_ms, firing_ms, resolved_ms, firing, resolved, exemplars, "
    "profiles";

IncidentRecord recordOf(const state::Statement& stmt) {
  IncidentRecord r;
  r.seq = stmt.integer(0);
  r.id = stmt.text(1);
  r.alertname = stmt.text(2);
  r.labels = labelsFromJson(parseOr(stmt.text(3), json::object()));
  r.severity = stmt.text(4);
  r.state = parseIncidentState(stmt.text(5));
  r.pending_ms = stmt.integer(6);
  r.firing_ms = stmt.isNull(7) ? 0 : stmt.integer(7);
  r.resolved_ms = stmt.isNull(8) ? 0 : stmt.integer(8);
  if (!stmt.isNull(9)) r.firing = eventFromJson(parseOr(stmt.text(9), json::object()));
  if (!stmt.isNull(10)) r.resolved = eventFromJson(parseOr(stmt.text(10), json::object()));
  r.exemplars = exemplarsFromJson(parseOr(stmt.text(11), json::array()));
  const json profiles = parseOr(stmt.text(12), json::array());
  if (profiles.is_array()) {
    for (const auto& p : profiles) {
      r.profiles.push_back(IncidentProfile{p.value("id", ""), p.value("kind", ""), p.value("error", ""),
                                           p.value("start_ms", std::int64_t{0})});
    }
  }
  return r;
}

}  // namespace

Result<std::vector<IncidentRecord>> IncidentStore::list(bool open_only, std::size_t limit) {
  return query(open_only ? "open" : "", "", 0, limit);
}

Result<std::vector<IncidentRecord>> IncidentStore::query(const std::string& state, const std::string& alertname,
                                                         std::size_t offset, std::size_t limit) {
  auto stmt = db_->prepare(fmt::format(
      "SELECT {} FROM incidents WHERE (?1 = '' OR state = ?1 OR (?1 = 'open' AND state != 'resolved')) AND "
      "(?2 = '' OR alertname = ?2) ORDER BY seq DESC LIMIT ?3 OFFSET ?4",
      kRecordColumns));
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bindAll({state, alertname, static_cast<std::int64_t>(limit), static_cast<std::int64_t>(offset)});
  std::vector<IncidentRecord> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    out.push_back(recordOf(*stmt));
  }
  return out;
}

Result<std::optional<IncidentRecord>> IncidentStore::get(const std::string& id) {
  auto stmt = db_->prepare(fmt::format("SELECT {} FROM incidents WHERE id = ? ORDER BY seq DESC LIMIT 1", kRecordColumns));
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind(1, id);
  auto row = stmt->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return std::optional<IncidentRecord>();
  return std::optional<IncidentRecord>(recordOf(*stmt));
}

Result<std::int64_t> IncidentStore::prune(std::int64_t before_ms) {
  auto stmt = db_->prepare("DELETE FROM incidents WHERE state = 'resolved' AND resolved_ms < ?");
  if (!stmt) return tl::unexpected(stmt.error());
  if (auto ok = stmt->bind(1, before_ms).run(); !ok) return tl::unexpected(ok.error());
  return db_->changes();
}

Result<void> IncidentStore::saveDetectorState(const std::string& rule, const std::string& fingerprint,
                                              const std::vector<std::pair<std::string, json>>& states,
                                              std::int64_t now_ms) {
  auto clear = db_->prepare("DELETE FROM detector_state WHERE rule = ?");
  if (!clear) return tl::unexpected(clear.error());
  auto insert = db_->prepare(
      "INSERT INTO detector_state (rule, endpoint, fingerprint, state, updated_ms) VALUES (?, ?, ?, ?, ?)");
  if (!insert) return tl::unexpected(insert.error());
  if (auto ok = db_->begin(); !ok) return ok;
  Result<void> ok = clear->bind(1, rule).run();
  for (const auto& [endpoint, state] : states) {
    if (!ok) break;
    const std::vector<std::uint8_t> cbor = json::to_cbor(state);
    ok = insert->bindAll({rule, endpoint, fingerprint, state::Blob{std::string(cbor.begin(), cbor.end())}, now_ms}).run();
  }
  if (ok) ok = db_->commit();
  if (!ok) db_->rollback();
  return ok;
}

Result<std::vector<std::pair<std::string, json>>> IncidentStore::loadDetectorState(const std::string& rule,
                                                                                   const std::string& fingerprint) {
  auto stmt = db_->prepare("SELECT endpoint, state FROM detector_state WHERE rule = ? AND fingerprint = ?");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bindAll({rule, fingerprint});
  std::vector<std::pair<std::string, json>> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    const std::string bytes = stmt->text(1);
    json state = json::from_cbor(bytes.begin(), bytes.end(), true, /*allow_exceptions=*/false);
    if (!state.is_discarded()) out.emplace_back(stmt->text(0), std::move(state));
  }
  return out;
}

Result<void> IncidentStore::retainDetectorState(const std::vector<std::string>& rules) {
  json names = rules;
  auto stmt = db_->prepare("DELETE FROM detector_state WHERE rule NOT IN (SELECT value FROM json_each(?))");
  if (!stmt) return tl::unexpected(stmt.error());
  return stmt->bind(1, jsonText(names)).run();
}

}  // namespace hotspotd::incidents
