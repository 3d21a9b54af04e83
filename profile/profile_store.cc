#include "profile/profile_store.h"

#include <atomic>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "core/file.h"
#include "core/text.h"
#include "profile/analysis.h"
#include "profile/flamegraph.h"

namespace hotspotd::profile {

std::string_view kindName(ProfileKind kind) {
  return kind == ProfileKind::baseline ? "baseline" : "hotspot";
}

ProfileKind parseProfileKind(std::string_view name) {
  return name == "baseline" ? ProfileKind::baseline : ProfileKind::hotspot;
}
namespace {

using nlohmann::json;

constexpr int kSchema = 1;

json toJson(const ProfileRecord& r) {
  return json{{"id", r.id},       {"target", r.target},     {"kind", kindName(r.kind)},     {"incident", r.incident_id},
              {"pids", r.pids},   {"start_ms", r.start_ms}, {"duration_ms", r.duration_ms}, {"samples", r.samples},
              {"bytes", r.bytes}, {"error", r.error},       {"baseline", r.baseline_id},    {"summary", r.summary}};
}

ProfileRecord fromRow(state::Statement& s) {
  ProfileRecord r;
  r.id = s.text(0);
  r.target = s.text(1);
  r.kind = parseProfileKind(s.text(2));
  r.incident_id = s.text(3);
  auto pids = json::parse(s.text(4), nullptr, false);
  if (pids.is_array()) {
    for (const auto& p : pids) r.pids.push_back(p.is_number_integer() ? p.get<int>() : 0);
  }
  r.start_ms = s.integer(5);
  r.duration_ms = s.integer(6);
  r.samples = static_cast<std::uint64_t>(s.integer(7));
  r.bytes = static_cast<std::uint64_t>(s.integer(8));
  r.error = s.text(9);
  r.baseline_id = s.text(10);
  r.summary = json::parse(s.text(11), nullptr, false);
  if (r.summary.is_discarded()) r.summary = json::object();
  return r;
}

constexpr std::string_view kColumns =
    "id, target, kind, incident, pids, start_ms, duration_ms, samples, bytes, error, baseline, summary";

// The suffix of a profile directory being written; renamed to the profile's id once whole.
constexpr char kPartial[] = ".partial";

nlohmann::json frameJson(const FrameStat& f) {
  return {{"name", f.name},
          {"self", f.self},
          {"total", f.total},
          {"self_share", f.self_share},
          {"total_share", f.total_share},
          {"class", std::string(className(f.cls))},
          {"caller", f.caller}};
}

}  // namespace

nlohmann::json summaryJson(const FoldedStacks& stacks, const FoldedStacks* baseline) {
  const auto s = summarize(stacks, 10);
  nlohmann::json by_self = nlohmann::json::array(), by_total = nlohmann::json::array();
  for (const auto& f : s.by_self) by_self.push_back(frameJson(f));
  for (const auto& f : s.by_total) by_total.push_back(frameJson(f));
  nlohmann::json classes = nlohmann::json::object();
  for (int c = 0; c < 4; ++c) {
    classes[std::string(className(static_cast<FrameClass>(c)))] = s.class_share[c];
  }
  nlohmann::json out{{"top_self", by_self}, {"top_total", by_total}, {"classes", classes}};
  if (baseline && !baseline->empty()) {
    nlohmann::json grown = nlohmann::json::array();
    for (const auto& g : grownFrames(*baseline, stacks, 10)) {
      grown.push_back({{"name", g.name},
                       {"base_share", g.base_share},
                       {"share", g.now_share},
                       {"grew_pp", g.grew_pp()},
                       {"class", std::string(className(g.cls))},
                       {"caller", g.caller}});
    }
    out["grown"] = grown;
  }
  return out;
}

Result<ProfileStore> ProfileStore::open(state::Database& db, std::filesystem::path dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail(fmt::format("cannot create the profile directory {}: {}", dir.string(), ec.message()));
  auto version = db.schemaVersion("profiles");
  if (!version) return tl::unexpected(version.error());
  if (*version > kSchema) {
    return fail(
        fmt::format("{}: the profile index was written by a newer hotspotd; upgrade hotspotd", db.path().string()));
  }
  if (*version < 1) {
    if (auto ok = db.migrate("profiles", kSchema, R"sql(
      CREATE TABLE IF NOT EXISTS profiles (
        id TEXT PRIMARY KEY,
        target TEXT NOT NULL,
        kind TEXT NOT NULL,
        incident TEXT NOT NULL DEFAULT '',
        pids TEXT NOT NULL DEFAULT '[]',
        start_ms INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL DEFAULT 0,
        samples INTEGER NOT NULL DEFAULT 0,
        bytes INTEGER NOT NULL DEFAULT 0,
        error TEXT NOT NULL DEFAULT '',
        baseline TEXT NOT NULL DEFAULT '',
        summary TEXT NOT NULL DEFAULT '{}'
      );
      CREATE INDEX IF NOT EXISTS profiles_by_target ON profiles (target, kind, start_ms);
      CREATE INDEX IF NOT EXISTS profiles_by_incident ON profiles (incident);
    )sql");
        !ok) {
      return tl::unexpected(ok.error());
    }
  }
  // What a crash left half written: never renamed into place, never indexed.
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_directory(ec) && entry.path().filename().string().ends_with(kPartial)) {
      std::filesystem::remove_all(entry.path(), ec);
    }
  }
  return ProfileStore(db, std::move(dir));
}

Result<void> ProfileStore::insert(const ProfileRecord& r) {
  auto stmt =
      db_->prepare(fmt::format("INSERT INTO profiles ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", kColumns));
  if (!stmt) return tl::unexpected(stmt.error());
  return stmt
      ->bindAll({r.id, r.target, std::string(kindName(r.kind)), r.incident_id, jsonText(json(r.pids)), r.start_ms,
                 r.duration_ms, static_cast<std::int64_t>(r.samples), static_cast<std::int64_t>(r.bytes), r.error,
                 r.baseline_id, r.summary.is_null() ? std::string("{}") : jsonText(r.summary)})
      .run();
}

Result<StagedProfile> stageProfile(const std::filesystem::path& profiles_dir, ProfileRecord r,
                                   const FoldedStacks& stacks, const FoldedStacks* baseline) {
  static std::atomic<unsigned> counter{0};
  r.id = fmt::format("{:011x}-{:04x}", r.start_ms, counter++ & 0xFFFF);
  // Written in a staging directory, renamed into place whole: a crash or a full disk leaves no half profile.
  const auto dir = profiles_dir / (r.id + std::string(kPartial));
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  auto discard = [&](Error e) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
    return tl::unexpected(std::move(e));
  };
  FlameGraphOptions graph;
  graph.title = fmt::format("{} profile of {}", r.kind == ProfileKind::baseline ? "Baseline" : "Hotspot", r.target);
  graph.subtitle = fmt::format("{} samples, pids {}, profile {}", r.samples, jsonText(json(r.pids)), r.id);
  const std::string folded = stacks.text();
  const std::string svg = renderFlameGraph(stacks, graph);
  std::string diff;
  if (baseline && !baseline->empty()) {
    graph.title = fmt::format("Differential profile of {} against its baseline", r.target);
    graph.subtitle = fmt::format("red grew, blue shrank, against baseline {}", r.baseline_id);
    diff = renderDiffFlameGraph(*baseline, stacks, graph);
  }
  r.bytes = folded.size() + svg.size() + diff.size();
  for (auto result : {writeFile(dir / "stacks.folded", folded), writeFile(dir / "flamegraph.svg", svg),
                      diff.empty() ? Result<void>{} : writeFile(dir / "diff.svg", diff)}) {
    if (!result) return discard(result.error());
  }
  const std::string meta = jsonText(toJson(r), 2);
  r.bytes += meta.size();
  if (auto ok = writeFile(dir / "meta.json", jsonText(toJson(r), 2)); !ok) return discard(ok.error());
  return StagedProfile{std::move(r), dir};
}

void discardStaged(const StagedProfile& staged) {
  std::error_code ignored;
  std::filesystem::remove_all(staged.dir, ignored);
}

Result<FoldedStacks> loadProfileStacks(const std::filesystem::path& profiles_dir, const std::string& id) {
  auto text = readFile(profiles_dir / id / "stacks.folded");
  if (!text) return tl::unexpected(text.error());
  return FoldedStacks::parse(*text);
}

Result<ProfileRecord> ProfileStore::commit(StagedProfile staged) {
  std::error_code ec;
  std::filesystem::rename(staged.dir, dir_ / staged.record.id, ec);
  if (ec) {
    discardStaged(staged);
    return fail(fmt::format("cannot rename {} into place: {}", staged.dir.string(), ec.message()));
  }
  if (auto ok = syncDirectory(dir_); !ok) return tl::unexpected(ok.error());
  if (auto ok = insert(staged.record); !ok) return tl::unexpected(ok.error());
  return std::move(staged.record);
}

Result<ProfileRecord> ProfileStore::save(ProfileRecord r, const FoldedStacks& stacks, const FoldedStacks* baseline) {
  auto staged = stageProfile(dir_, std::move(r), stacks, baseline);
  if (!staged) return tl::unexpected(staged.error());
  return commit(std::move(*staged));
}

Result<ProfileRecord> ProfileStore::saveFailure(ProfileRecord r) {
  static std::atomic<unsigned> counter{0};
  r.id = fmt::format("{:011x}-f{:03x}", r.start_ms, counter++ & 0xFFF);
  if (auto ok = insert(r); !ok) return tl::unexpected(ok.error());
  return r;
}

Result<std::vector<ProfileRecord>> ProfileStore::list(const std::string& target, const std::string& incident,
                                                      std::size_t limit) {
  auto stmt =
      db_->prepare(fmt::format("SELECT {} FROM profiles WHERE (?1 = '' OR target = ?1) AND "
                               "(?2 = '' OR incident = ?2) ORDER BY start_ms DESC, id DESC LIMIT ?3",
                               kColumns));
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bindAll({target, incident, static_cast<std::int64_t>(limit)});
  std::vector<ProfileRecord> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    out.push_back(fromRow(*stmt));
  }
  return out;
}

Result<std::optional<ProfileRecord>> ProfileStore::get(const std::string& id) {
  auto stmt = db_->prepare(fmt::format("SELECT {} FROM profiles WHERE id = ?", kColumns));
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind(1, id);
  auto row = stmt->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return std::optional<ProfileRecord>();
  return std::optional<ProfileRecord>(fromRow(*stmt));
}

Result<std::optional<ProfileRecord>> ProfileStore::latestBaseline(const std::string& target) {
  auto stmt =
      db_->prepare(fmt::format("SELECT {} FROM profiles WHERE target = ? AND kind = 'baseline' AND "
                               "error = '' ORDER BY start_ms DESC LIMIT 1",
                               kColumns));
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind(1, target);
  auto row = stmt->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return std::optional<ProfileRecord>();
  return std::optional<ProfileRecord>(fromRow(*stmt));
}

Result<FoldedStacks> ProfileStore::loadStacks(const std::string& id) {
  return loadProfileStacks(dir_, id);
}

Result<std::size_t> ProfileStore::prune(std::int64_t now_ms, std::int64_t max_age_ms, std::size_t max_count,
                                        std::uint64_t max_bytes) {
  auto stmt =
      db_->prepare("SELECT id, target, kind, start_ms, bytes, error FROM profiles ORDER BY start_ms DESC, id DESC");
  if (!stmt) return tl::unexpected(stmt.error());
  struct Row {
    std::string id, target, kind;
    std::int64_t start_ms;
    std::uint64_t bytes;
    bool failed;
  };
  std::vector<Row> rows;
  for (;;) {
    auto row = stmt->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    rows.push_back(Row{stmt->text(0), stmt->text(1), stmt->text(2), stmt->integer(3),
                       static_cast<std::uint64_t>(stmt->integer(4)), !stmt->text(5).empty()});
  }
  std::set<std::string> newest_baseline_of;  // targets whose newest baseline was seen (rows are newest first)
  std::size_t kept = 0;
  std::uint64_t bytes = 0;
  std::vector<std::string> drop;
  for (const Row& r : rows) {
    const bool protected_baseline = r.kind == "baseline" && !r.failed && newest_baseline_of.insert(r.target).second;
    const bool over = now_ms - r.start_ms > max_age_ms || kept >= max_count || bytes + r.bytes > max_bytes;
    if (over && !protected_baseline) {
      drop.push_back(r.id);
      continue;
    }
    ++kept;
    bytes += r.bytes;
  }
  auto del = db_->prepare("DELETE FROM profiles WHERE id = ?");
  if (!del) return tl::unexpected(del.error());
  for (const auto& id : drop) {
    if (auto ok = del->bind(1, id).run(); !ok) return tl::unexpected(ok.error());
    std::error_code ec;
    std::filesystem::remove_all(dir_ / id, ec);
  }
  return drop.size();
}

}  // namespace hotspotd::profile
