#include "profile/profile_store.h"

#include <algorithm>
#include <atomic>
#include <cctype>
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

namespace {

// The on-CPU and off-CPU parts of a profile (a wall-clock profile has both).
struct Parts {
  FoldedStacks on, off;
};

Parts split(const FoldedStacks& stacks) {
  Parts p;
  stacks.forEach([&](std::string_view stack, std::uint64_t n) { (isOffCpuStack(stack) ? p.off : p.on).add(stack, n); });
  return p;
}

std::string percent(double share) {
  return fmt::format("{:.0f}%", 100 * share);
}

// What a function's on-CPU time went to when a quarter or more of it went to the allocator, system calls or lock
// calls: "62% of its time in allocation (malloc/free, GC)" (the largest of them); else its own CPU work.
std::string timeWentTo(const std::array<double, 4>& class_share) {
  static constexpr std::string_view kWhere[4] = {"CPU work", "allocation (malloc/free, GC)", "lock calls",
                                                 "system calls"};
  std::size_t top = 1;
  for (std::size_t c = 2; c < 4; ++c) {
    if (class_share[c] > class_share[top]) top = c;
  }
  if (class_share[top] < 0.25) return std::string(className(FrameClass::cpu));
  return fmt::format("{} of its time in {}", percent(class_share[top]), kWhere[top]);
}

}  // namespace

nlohmann::json summaryJson(const FoldedStacks& stacks, const FoldedStacks* baseline, double seconds,
                           double base_seconds) {
  const Parts now = split(stacks);
  const Parts base = baseline ? split(*baseline) : Parts{};
  const bool has_base = baseline && !baseline->empty();
  const auto s = summarize(now.on, 10);
  nlohmann::json by_self = nlohmann::json::array(), by_total = nlohmann::json::array();
  for (const auto& f : s.by_self) by_self.push_back(frameJson(f));
  for (const auto& f : s.by_total) by_total.push_back(frameJson(f));
  nlohmann::json classes = nlohmann::json::object();
  for (int c = 0; c < 4; ++c) {
    classes[std::string(className(static_cast<FrameClass>(c)))] = s.class_share[c];
  }
  const char* view = now.off.empty() ? "cpu" : now.on.empty() ? "offcpu" : "wall";
  nlohmann::json out{{"top_self", by_self},
                     {"top_total", by_total},
                     {"classes", classes},
                     {"view", view},
                     {"unit", now.off.empty() ? "samples" : "us"}};
  std::string explanation;
  if (has_base && !now.on.empty() && !base.on.empty()) {
    nlohmann::json grown = nlohmann::json::array();
    const auto frames = grownFrames(base.on, now.on, 10);
    for (const auto& g : frames) {
      grown.push_back({{"name", g.name},
                       {"base_share", g.base_share},
                       {"share", g.now_share},
                       {"grew_pp", g.grew_pp()},
                       {"class", std::string(className(g.cls))},
                       {"caller", g.caller}});
    }
    out["grown"] = grown;
    // The frame that explains the growth, told as the function of the process's own code its time belongs to
    // (time in malloc is its caller's), with what that function's time went to; without an own frame on its
    // path, the first frame with a name ("[unknown]" or "[libfoo.so]", no symbols, explains nothing).
    // A share is not a time: when the process computes less (its threads wait on a lock), what still runs takes a
    // larger share of fewer samples. Between two on-CPU captures (the same unit, samples) a frame explains only if
    // its CPU time per second grew too.
    const bool comparable = now.off.empty() && base.off.empty() && seconds > 0 && base_seconds > 0;
    auto computesMore = [&](const auto& g) {
      return !comparable || g.now_share * static_cast<double>(now.on.total()) / seconds >
                                g.base_share * static_cast<double>(base.on.total()) / base_seconds;
    };
    if (!frames.empty() && frames.front().grew_pp() >= kExplainsPp) {
      const auto owner = ownerOf(base.on, now.on, frames.front().name);
      const auto named =
          std::find_if(frames.begin(), frames.end(), [](const FrameGrowth& f) { return !f.name.starts_with('['); });
      if (owner && owner->grew_pp() >= kExplainsPp && computesMore(*owner)) {
        out["explains"] = "cpu:" + owner->name;
        explanation = fmt::format("on-CPU: {} grew {:+.0f} points to {} of the CPU samples ({}{}{})", owner->name,
                                  owner->grew_pp(), percent(owner->now_share), timeWentTo(owner->class_share),
                                  owner->caller.empty() ? "" : ", called from ", owner->caller);
      } else if (named != frames.end() && named->grew_pp() >= kExplainsPp && computesMore(*named)) {
        const auto& g = *named;
        out["explains"] = "cpu:" + g.name;
        explanation =
            fmt::format("on-CPU: {} grew {:+.0f} points to {} of the CPU samples ({}{}{})", g.name, g.grew_pp(),
                        percent(g.now_share), className(g.cls), g.caller.empty() ? "" : ", called from ", g.caller);
      }
    }
  }
  if (!now.off.empty()) {
    const auto off = summarizeOffCpu(now.off, 10);
    nlohmann::json wait_classes = nlohmann::json::object(), waiting = nlohmann::json::array();
    for (std::size_t c = 0; c < kWaitClasses; ++c) {
      wait_classes[std::string(waitClassName(static_cast<WaitClass>(c)))] =
          off.us ? static_cast<double>(off.class_us[c]) / static_cast<double>(off.us) : 0.0;
    }
    for (const auto& w : off.waiting) {
      waiting.push_back(
          {{"name", w.name}, {"class", std::string(waitClassName(w.cls))}, {"us", w.us}, {"share", w.share}});
    }
    nlohmann::json section{{"us", off.us}, {"classes", wait_classes}, {"waiting", waiting}};
    if (has_base && !base.off.empty() && seconds > 0 && base_seconds > 0) {
      nlohmann::json grown = nlohmann::json::array();
      const auto waits = grownWaits(base.off, base_seconds, now.off, seconds, 10);
      for (const auto& w : waits) {
        grown.push_back({{"name", w.name},
                         {"class", std::string(waitClassName(w.cls))},
                         {"grew_per_s", w.grew_per_s},
                         {"growth_share", w.growth_share},
                         {"share", w.share}});
      }
      section["grown"] = grown;
      if (explanation.empty() && !waits.empty()) {
        const auto& w = waits.front();
        out["explains"] = fmt::format("offcpu:{}:{}", waitClassName(w.cls), w.name);
        explanation = fmt::format(
            "off-CPU: {} of the growth in waiting is {} in {} ({:.2f} more threads waiting "
            "there on average)",
            percent(w.growth_share), waitClassName(w.cls), w.name, w.grew_per_s);
      }
    }
    // Without a baseline: the largest wait that belongs to a function of the process's own (a pool's idle
    // workers, waiting where no user frame is, explain nothing).
    const auto own =
        std::find_if(off.waiting.begin(), off.waiting.end(), [](const WaitingFrame& w) { return !w.root; });
    if (explanation.empty() && own != off.waiting.end()) {
      const auto& w = *own;
      out["explains"] = fmt::format("offcpu:{}:{}", waitClassName(w.cls), w.name);
      explanation =
          fmt::format("off-CPU: {} of the waiting is {} in {}", percent(w.share), waitClassName(w.cls), w.name);
    }
    out["offcpu"] = std::move(section);
  }
  if (!explanation.empty()) out["explanation"] = explanation;
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
  const Parts parts = split(stacks);
  const bool timed = !parts.off.empty();  // off-CPU time: counts are microseconds of thread time
  if (timed) graph.unit = "µs";
  const char* view = parts.off.empty() ? "" : parts.on.empty() ? "Off-CPU " : "Wall-clock ";
  graph.title =
      fmt::format("{}{} profile of {}", view, r.kind == ProfileKind::baseline ? "baseline" : "hotspot", r.target);
  graph.title[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(graph.title[0])));
  graph.subtitle = timed ? fmt::format("{:.2f} s of thread time ({} on CPU, blue waiting), pids {}, profile {}",
                                       static_cast<double>(stacks.total()) / 1e6, parts.on.empty() ? "none" : "warm",
                                       jsonText(json(r.pids)), r.id)
                         : fmt::format("{} samples, pids {}, profile {}", r.samples, jsonText(json(r.pids)), r.id);
  const std::string folded = stacks.text();
  const std::string svg = renderFlameGraph(stacks, graph);
  std::string offcpu_svg;
  if (!parts.on.empty() && !parts.off.empty()) {
    FlameGraphOptions off = graph;
    off.title = fmt::format("Off-CPU time of {} (waiting only)", r.target);
    off.subtitle = fmt::format("{:.2f} s of blocked and runnable time, profile {}",
                               static_cast<double>(parts.off.total()) / 1e6, r.id);
    offcpu_svg = renderFlameGraph(parts.off, off);
  }
  std::string diff;
  if (baseline && !baseline->empty()) {
    // Like against like: the baseline's on-CPU part against an on-CPU profile, its off-CPU part against an off-CPU
    // one, all of it against a wall-clock one.
    const Parts base = split(*baseline);
    FoldedStacks aligned;
    if (!parts.on.empty()) base.on.forEach([&](std::string_view st, std::uint64_t n) { aligned.add(st, n); });
    if (!parts.off.empty()) base.off.forEach([&](std::string_view st, std::uint64_t n) { aligned.add(st, n); });
    if (!aligned.empty()) {
      graph.title = fmt::format("Differential profile of {} against its baseline", r.target);
      graph.subtitle = fmt::format("red grew, blue shrank, against baseline {}", r.baseline_id);
      diff = renderDiffFlameGraph(aligned, stacks, graph);
    }
  }
  r.bytes = folded.size() + svg.size() + diff.size() + offcpu_svg.size();
  for (auto result : {writeFile(dir / "stacks.folded", folded), writeFile(dir / "flamegraph.svg", svg),
                      diff.empty() ? Result<void>{} : writeFile(dir / "diff.svg", diff),
                      offcpu_svg.empty() ? Result<void>{} : writeFile(dir / "offcpu.svg", offcpu_svg)}) {
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
