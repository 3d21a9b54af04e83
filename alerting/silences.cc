#include "alerting/silences.h"

#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/text.h"

namespace hotspotd::alerting {
namespace {

constexpr int kSchema = 1;

std::string newId() {
  std::random_device rd;
  std::mt19937_64 rng((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
  const std::uint64_t a = rng(), b = rng();
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xffff, b >> 48,
                     b & 0xffffffffffffULL);
}

}  // namespace

Result<SilenceStore> SilenceStore::open(state::Database& db) {
  auto version = db.schemaVersion("silences");
  if (!version) return tl::unexpected(version.error());
  if (*version > kSchema) {
    return fail(fmt::format("{}: the silences were written by a newer hotspotd; upgrade hotspotd", db.path().string()));
  }
  if (*version < 1) {
    if (auto ok = db.migrate("silences", kSchema, R"sql(
      CREATE TABLE IF NOT EXISTS silences (
        id TEXT PRIMARY KEY,
        matchers TEXT NOT NULL,
        starts_ms INTEGER NOT NULL,
        ends_ms INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        comment TEXT NOT NULL,
        updated_ms INTEGER NOT NULL
      );
    )sql"); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  SilenceStore store(db);
  if (auto ok = store.refresh(0); !ok) return tl::unexpected(ok.error());
  return store;
}

Result<Silence> SilenceStore::create(const SilenceRequest& request, std::int64_t now_ms) {
  if (request.matchers.empty()) return fail("a silence needs at least one matcher, e.g. alertname=\"CheckoutSlow\"");
  auto matchers = parseMatchers(request.matchers);
  if (!matchers) return tl::unexpected(matchers.error());
  // A silence that matches everything would mute every page: Alertmanager refuses it too.
  const bool matches_empty = matchesAll(*matchers, LabelView{});
  if (matches_empty) return fail("the matchers match alerts without any labels; a silence must select something");
  Silence s;
  s.id = newId();
  s.matchers = std::move(*matchers);
  s.matcher_texts = request.matchers;
  s.starts_ms = request.starts_ms == 0 ? now_ms : request.starts_ms;
  s.ends_ms = request.ends_ms;
  s.created_by = request.created_by;
  s.comment = request.comment;
  if (s.created_by.empty()) return fail("createdBy is required: who silenced it");
  if (s.comment.empty()) return fail("comment is required: why it is silenced");
  if (s.ends_ms <= s.starts_ms) return fail("endsAt must be after startsAt");
  if (s.ends_ms <= now_ms) return fail("endsAt is in the past");
  auto stmt = db_->prepare(
      "INSERT INTO silences (id, matchers, starts_ms, ends_ms, created_by, comment, updated_ms) VALUES (?, ?, ?, ?, "
      "?, ?, ?)");
  if (!stmt) return tl::unexpected(stmt.error());
  if (auto ok = stmt->bindAll({s.id, jsonText(nlohmann::json(s.matcher_texts)), s.starts_ms, s.ends_ms, s.created_by,
                               s.comment, now_ms})
                    .run();
      !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = refresh(now_ms); !ok) return tl::unexpected(ok.error());
  return s;
}

Result<bool> SilenceStore::expire(const std::string& id, std::int64_t now_ms) {
  auto stmt = db_->prepare(
      "UPDATE silences SET ends_ms = ?1, starts_ms = MIN(starts_ms, ?1), updated_ms = ?1 WHERE id = ?2 AND ends_ms > ?1");
  if (!stmt) return tl::unexpected(stmt.error());
  if (auto ok = stmt->bindAll({now_ms, id}).run(); !ok) return tl::unexpected(ok.error());
  const bool changed = db_->changes() > 0;
  if (!changed) {
    auto exists = db_->prepare("SELECT 1 FROM silences WHERE id = ?");
    if (!exists) return tl::unexpected(exists.error());
    auto row = exists->bind(1, id).step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return false;
  }
  if (auto ok = refresh(now_ms); !ok) return tl::unexpected(ok.error());
  return true;
}

Result<std::vector<Silence>> SilenceStore::list() {
  auto stmt = db_->prepare(
      "SELECT id, matchers, starts_ms, ends_ms, created_by, comment FROM silences ORDER BY starts_ms DESC, id");
  if (!stmt) return tl::unexpected(stmt.error());
  std::vector<Silence> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    Silence s;
    s.id = stmt->text(0);
    auto texts = nlohmann::json::parse(stmt->text(1), nullptr, /*allow_exceptions=*/false);
    if (texts.is_array()) {
      for (const auto& t : texts) {
        if (t.is_string()) s.matcher_texts.push_back(t.get<std::string>());
      }
    }
    if (auto m = parseMatchers(s.matcher_texts)) s.matchers = std::move(*m);
    s.starts_ms = stmt->integer(2);
    s.ends_ms = stmt->integer(3);
    s.created_by = stmt->text(4);
    s.comment = stmt->text(5);
    out.push_back(std::move(s));
  }
  return out;
}

Result<void> SilenceStore::refresh(std::int64_t now_ms) {
  auto all = list();
  if (!all) return tl::unexpected(all.error());
  current_.clear();
  for (auto& s : *all) {
    if (s.ends_ms > now_ms && !s.matchers.empty()) current_.push_back(std::move(s));
  }
  return {};
}

Result<std::int64_t> SilenceStore::prune(std::int64_t before_ms) {
  auto stmt = db_->prepare("DELETE FROM silences WHERE ends_ms < ?");
  if (!stmt) return tl::unexpected(stmt.error());
  if (auto ok = stmt->bind(1, before_ms).run(); !ok) return tl::unexpected(ok.error());
  return db_->changes();
}

}  // namespace hotspotd::alerting
